package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// faultBackend wraps a Backend (the harness's simulated chain) and lets a
// test intercept calls: a nil hook passes the call through; a hook gets
// the 1-based number of the call (of that method) and decides, calling
// the wrapped Backend itself when it wants the real thing. Hooks are set
// before the client is made and not changed after.
type faultBackend struct {
	Backend
	send         func(n int, ctx context.Context, tx *types.Transaction) error
	estimate     func(n int, ctx context.Context, msg ethereum.CallMsg) (uint64, error)
	pendingNonce func(n int, ctx context.Context, account common.Address) (uint64, error)
	receipt      func(n int, ctx context.Context, h common.Hash) (*types.Receipt, error)

	mu    sync.Mutex
	calls map[string]int
}

func (b *faultBackend) count(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls == nil {
		b.calls = map[string]int{}
	}
	b.calls[method]++
	return b.calls[method]
}

// n is how many times method was called.
func (b *faultBackend) n(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[method]
}

func (b *faultBackend) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	n := b.count("send")
	if b.send != nil {
		return b.send(n, ctx, tx)
	}
	return b.Backend.SendTransaction(ctx, tx)
}

func (b *faultBackend) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	n := b.count("estimate")
	if b.estimate != nil {
		return b.estimate(n, ctx, msg)
	}
	return b.Backend.EstimateGas(ctx, msg)
}

func (b *faultBackend) PendingNonceAt(ctx context.Context, account common.Address) (uint64, error) {
	n := b.count("pendingNonce")
	if b.pendingNonce != nil {
		return b.pendingNonce(n, ctx, account)
	}
	return b.Backend.PendingNonceAt(ctx, account)
}

func (b *faultBackend) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	n := b.count("receipt")
	if b.receipt != nil {
		return b.receipt(n, ctx, h)
	}
	return b.Backend.TransactionReceipt(ctx, h)
}

// sleepLog is Config.Sleep that records the waits and returns at once.
type sleepLog struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepLog) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

const (
	testBackoff    = 3 * time.Millisecond
	testMaxBackoff = 10 * time.Millisecond
	testAttempts   = 5
)

// faultClient is a client of the harness account over fb (wrapping the
// harness chain), with a recording sleep and a short back-off.
func (h *harness) faultClient(fb *faultBackend) (*Client, *sleepLog) {
	h.t.Helper()
	fb.Backend = h.sim.Backend()
	sl := &sleepLog{}
	c, err := New(h.ctx, fb, Config{Key: h.key, Contracts: h.addrs, Intents: NewMemIntents(), Logger: testLogger(h.t),
		Sleep: sl.sleep, Attempts: testAttempts, Backoff: testBackoff, MaxBackoff: testMaxBackoff})
	if err != nil {
		h.t.Fatal(err)
	}
	return c, sl
}

// mined sends tx through the harness chain (sealing it in a block) and
// waits for the transaction pool to catch up with the new head, so that
// sending it again is answered "nonce too low" rather than "already known".
func (h *harness) mined(ctx context.Context, tx *types.Transaction) error {
	err := h.sim.Backend().SendTransaction(ctx, tx)
	if serr := h.sim.eth.TxPool().Sync(); serr != nil {
		h.t.Errorf("pool sync: %v", serr)
	}
	return err
}

func (h *harness) nonce() uint64 {
	h.t.Helper()
	n, err := h.sim.Backend().NonceAt(h.ctx, addr(h.key), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func (h *harness) flexOf(a common.Address) *big.Int {
	h.t.Helper()
	v, err := h.c.FLEXBalance(h.ctx, a)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

// Transient failures (a reset connection, HTTP 429) of sending, gas
// estimation and the nonce lookup are retried with doubling back-off; the
// operation then goes through exactly once.
func TestRetryTransientErrors(t *testing.T) {
	h := newHarness(t, 1, 1)
	me, bob := addr(h.key), common.Address{0xb0}
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(100), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	reset := errors.New("write tcp 127.0.0.1:50412->127.0.0.1:8545: write: connection reset by peer")
	limited := rpc.HTTPError{StatusCode: 429, Status: "429 Too Many Requests", Body: []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limit exceeded"}}`)}
	faults := []error{reset, limited}
	for _, method := range []string{"send", "estimate", "pendingNonce"} {
		t.Run(method, func(t *testing.T) {
			fb := &faultBackend{}
			switch method {
			case "send":
				fb.send = func(n int, ctx context.Context, tx *types.Transaction) error {
					if n <= len(faults) {
						return faults[n-1]
					}
					return fb.Backend.SendTransaction(ctx, tx)
				}
			case "estimate":
				fb.estimate = func(n int, ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
					if n <= len(faults) {
						return 0, faults[n-1]
					}
					return fb.Backend.EstimateGas(ctx, msg)
				}
			case "pendingNonce":
				fb.pendingNonce = func(n int, ctx context.Context, a common.Address) (uint64, error) {
					if n <= len(faults) {
						return 0, faults[n-1]
					}
					return fb.Backend.PendingNonceAt(ctx, a)
				}
			}
			c, sl := h.faultClient(fb)
			nonce0, bal0 := h.nonce(), h.flexOf(bob)
			ref := crypto.Keccak256Hash([]byte("transient " + method))
			r, err := c.TransferFLEX(h.ctx, ref, bob, fx(1))
			if err != nil {
				t.Fatalf("TransferFLEX: %v", err)
			}
			if got := fb.n(method); got != len(faults)+1 {
				t.Errorf("%s called %d times, want %d", method, got, len(faults)+1)
			}
			if got, want := sl.waits(), []time.Duration{testBackoff, 2 * testBackoff}; !slices.Equal(got, want) {
				t.Errorf("waits %v, want back-off %v", got, want)
			}
			if got := new(big.Int).Sub(h.flexOf(bob), bal0); got.Cmp(fx(1)) != 0 {
				t.Errorf("bob got %v, want %v: transferred exactly once", got, fx(1))
			}
			if n := h.nonce(); n != nonce0+1 {
				t.Errorf("account nonce %d → %d, want one transaction", nonce0, n)
			}
			in, _, _ := c.intents.Intent(h.ctx, IntentID(OpTransferFLEX, ref))
			if in.State != IntentDone || len(in.Txs) != 1 || in.Result.TxHash != in.Txs[0].Hash || r.TxHash != in.Txs[0].Hash {
				t.Errorf("intent %+v, receipt %+v; want done by its one tx", in, r)
			}
		})
	}
}

// Permanent failures are not retried and come back as clear errors; an
// operation refused before anything reached a node leaves nothing in
// flight (and can be submitted again).
func TestRetryPermanentErrors(t *testing.T) {
	h := newHarness(t, 1, 1)
	me, bob := addr(h.key), common.Address{0xb0}
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(100), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	unavailable := rpc.HTTPError{StatusCode: 503, Status: "503 Service Unavailable", Body: []byte("upstream unavailable")}
	for _, tc := range []struct {
		name   string
		amount *big.Int
		fb     func(fb *faultBackend)
		method string // the call that fails
		calls  int    // how often it is called
		waits  []time.Duration
		check  func(err error) bool
		failed bool // the intent is recorded failed (else none is recorded)
	}{
		{
			name: "node refuses: insufficient funds", amount: fx(1), method: "send", calls: 1, failed: true,
			fb: func(fb *faultBackend) {
				fb.send = func(int, context.Context, *types.Transaction) error {
					return errors.New("insufficient funds for gas * price + value: balance 0, tx cost 4000000000000000")
				}
			},
			check: func(err error) bool { return errors.Is(err, ErrInsufficientFunds) },
		},
		{
			name: "estimate: insufficient funds", amount: fx(1), method: "estimate", calls: 1,
			fb: func(fb *faultBackend) {
				fb.estimate = func(int, context.Context, ethereum.CallMsg) (uint64, error) {
					return 0, errors.New("insufficient funds for transfer")
				}
			},
			check: func(err error) bool { return errors.Is(err, ErrInsufficientFunds) },
		},
		{
			name: "estimate: revert", amount: fx(1000), method: "estimate", calls: 1, // more than the balance
			check: func(err error) bool {
				var rv *RevertError
				return errors.As(err, &rv) && rv.Name != ""
			},
		},
		{
			name: "estimate: refused", amount: fx(1), method: "estimate", calls: 1,
			fb: func(fb *faultBackend) {
				fb.estimate = func(int, context.Context, ethereum.CallMsg) (uint64, error) {
					return 0, errors.New("gas required exceeds allowance (30000000)")
				}
			},
			check: func(err error) bool {
				return strings.Contains(err.Error(), "chain: estimate gas: gas required exceeds allowance")
			},
		},
		{
			name: "estimate: node down, attempts exhausted", amount: fx(1), method: "estimate", calls: testAttempts,
			waits: []time.Duration{testBackoff, 2 * testBackoff, testMaxBackoff, testMaxBackoff},
			fb: func(fb *faultBackend) {
				fb.estimate = func(int, context.Context, ethereum.CallMsg) (uint64, error) { return 0, unavailable }
			},
			check: func(err error) bool {
				var he rpc.HTTPError
				return strings.HasPrefix(err.Error(), "chain: estimate gas: 503") && errors.As(err, &he) && he.StatusCode == 503
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fb := &faultBackend{}
			if tc.fb != nil {
				tc.fb(fb)
			}
			c, sl := h.faultClient(fb)
			nonce0, bal0 := h.nonce(), h.flexOf(bob)
			ref := crypto.Keccak256Hash([]byte("permanent " + tc.name))
			_, err := c.TransferFLEX(h.ctx, ref, bob, tc.amount)
			if err == nil || !tc.check(err) {
				t.Fatalf("TransferFLEX: %v (%T)", err, err)
			}
			t.Logf("error: %v", err)
			if got := fb.n(tc.method); got != tc.calls {
				t.Errorf("%s called %d times, want %d", tc.method, got, tc.calls)
			}
			if got := sl.waits(); !slices.Equal(got, tc.waits) {
				t.Errorf("waits %v, want %v", got, tc.waits)
			}
			if tc.method == "estimate" && fb.n("send") != 0 {
				t.Errorf("sent %d transactions after a failed estimate", fb.n("send"))
			}
			if h.nonce() != nonce0 || h.flexOf(bob).Cmp(bal0) != 0 {
				t.Errorf("something was executed")
			}
			in, ok, _ := c.intents.Intent(h.ctx, IntentID(OpTransferFLEX, ref))
			if tc.failed && (!ok || in.State != IntentFailed || len(in.Txs) != 0) {
				t.Errorf("intent %+v (%v), want failed with no transaction in flight", in, ok)
			}
			if !tc.failed && ok {
				t.Errorf("intent %+v recorded, want none", in)
			}
			if !tc.failed {
				return
			}
			// Submitted again once the node takes it: done once.
			c2, _ := h.faultClient(&faultBackend{})
			c2.intents = c.intents
			if _, err := c2.TransferFLEX(h.ctx, ref, bob, tc.amount); err != nil {
				t.Fatal(err)
			}
			if got := new(big.Int).Sub(h.flexOf(bob), bal0); got.Cmp(tc.amount) != 0 {
				t.Errorf("bob got %v after resubmitting, want %v", got, tc.amount)
			}
		})
	}
}

// A send whose answer is lost (a timeout) although the node took the
// transaction must not make the client sign the operation again when the
// retry hears "nonce too low" or "already known": it adopts its recorded
// transaction. This matters most for the operations the contracts cannot
// recognise as repeats: transfers, stakes, retirements. Only when another
// transaction really took the nonce does it sign again, once.
func TestLostSendAnswerNeverExecutesTwice(t *testing.T) {
	h := newHarness(t, 1, 1)
	me, bob := addr(h.key), common.Address{0xb0}
	hour := h.pastHour(10)
	cl := claim("pv", me, hour, 10_000)
	ib := NewIssueBatch([]Claim{cl})
	if _, err := h.c.Issue(h.ctx, ib, h.signIssue(ib, 0)); err != nil {
		t.Fatal(err)
	}
	tok := ClaimTokenID(cl)
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(100), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	recOf := func(a common.Address) *big.Int {
		v, err := h.c.RECBalance(h.ctx, a, tok)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ops := []struct {
		kind    string
		run     func(c *Client, ref common.Hash) (*Receipt, error)
		measure func() *big.Int // changes by want when the operation runs once
		want    *big.Int
	}{
		{OpTransferREC, func(c *Client, ref common.Hash) (*Receipt, error) { return c.TransferREC(h.ctx, ref, bob, tok, 100) },
			func() *big.Int { return recOf(bob) }, big.NewInt(100)},
		{OpTransferFLEX, func(c *Client, ref common.Hash) (*Receipt, error) { return c.TransferFLEX(h.ctx, ref, bob, fx(1)) },
			func() *big.Int { return h.flexOf(bob) }, fx(1)},
		{OpStake, func(c *Client, ref common.Hash) (*Receipt, error) { return c.Stake(h.ctx, ref, fx(1)) },
			func() *big.Int {
				st, err := call(h.ctx, h.c, h.addrs.FLEX, h.c.flex.PackStakes(me), h.c.flex.UnpackStakes)
				if err != nil {
					t.Fatal(err)
				}
				return st.Bonded
			}, fx(1)},
		{OpRetire, func(c *Client, ref common.Hash) (*Receipt, error) {
			r, err := c.Retire(h.ctx, RetireRequest{Ref: ref, Token: tok, Wh: 100, Beneficiary: "b", Claim: "c"})
			if err != nil {
				return nil, err
			}
			return &r.Receipt, nil
		}, func() *big.Int { return new(big.Int).Neg(recOf(me)) }, big.NewInt(100)},
	}
	timeout := errors.New(`Post "http://127.0.0.1:8545": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)
	scenarios := []struct {
		name string
		// fb sets the faults; sim is the chain.
		fb func(t *testing.T, fb *faultBackend)
		// adopted: the first signed transaction is the one mined; else
		// a second one is (another transaction took the first's nonce).
		adopted bool
		sends   int
	}{
		{
			name: "mined, retry hears nonce too low", adopted: true, sends: 2,
			fb: func(t *testing.T, fb *faultBackend) {
				fb.send = func(n int, ctx context.Context, tx *types.Transaction) error {
					err := h.mined(ctx, tx)
					if n == 1 {
						return timeout
					}
					if err == nil || !isNonceTooLow(err) {
						t.Errorf("retried send: %v, want nonce too low", err)
					}
					return err
				}
			},
		},
		{
			name: "pooled, retry hears already known", adopted: true, sends: 2,
			fb: func(t *testing.T, fb *faultBackend) {
				fb.send = func(n int, ctx context.Context, tx *types.Transaction) error {
					if n == 1 {
						if err := h.sim.client.SendTransaction(ctx, tx); err != nil { // pooled, not mined
							t.Errorf("send: %v", err)
						}
						return timeout
					}
					err := fb.Backend.SendTransaction(ctx, tx)
					if err == nil || !isKnown(err) {
						t.Errorf("retried send: %v, want already known", err)
					}
					h.sim.Commit()
					return err
				}
			},
		},
		{
			name: "mined, nonce too low, receipt index lagging", adopted: true, sends: 2,
			fb: func(t *testing.T, fb *faultBackend) {
				fb.send = func(n int, ctx context.Context, tx *types.Transaction) error {
					err := h.mined(ctx, tx)
					if n == 1 {
						return timeout
					}
					return err
				}
				fb.receipt = func(int, context.Context, common.Hash) (*types.Receipt, error) { return nil, ethereum.NotFound }
			},
		},
		{
			name: "nonce taken by another transaction", adopted: false, sends: 2,
			fb: func(t *testing.T, fb *faultBackend) {
				fb.send = func(n int, ctx context.Context, tx *types.Transaction) error {
					if n == 1 {
						other, err := types.SignNewTx(h.key, types.LatestSignerForChainID(SimulatedChainID), &types.DynamicFeeTx{
							ChainID: SimulatedChainID, Nonce: tx.Nonce(), GasTipCap: tx.GasTipCap(), GasFeeCap: tx.GasFeeCap(), Gas: 21000, To: &common.Address{0xee}, Value: big.NewInt(1),
						})
						if err != nil {
							t.Fatal(err)
						}
						if err := h.mined(ctx, other); err != nil {
							t.Errorf("other: %v", err)
						}
					}
					return fb.Backend.SendTransaction(ctx, tx)
				}
			},
		},
	}
	for _, sc := range scenarios {
		for _, o := range ops {
			t.Run(sc.name+"/"+o.kind, func(t *testing.T) {
				fb := &faultBackend{}
				sc.fb(t, fb)
				c, _ := h.faultClient(fb)
				nonce0, m0 := h.nonce(), o.measure()
				ref := crypto.Keccak256Hash([]byte(sc.name + o.kind))
				r, err := o.run(c, ref)
				if err != nil {
					t.Fatalf("%s: %v", o.kind, err)
				}
				if got := new(big.Int).Sub(o.measure(), m0); got.Cmp(o.want) != 0 {
					t.Errorf("%s changed the balance by %v, want %v: executed exactly once", o.kind, got, o.want)
				}
				if got := fb.n("send"); got != sc.sends {
					t.Errorf("%d sends, want %d", got, sc.sends)
				}
				in, _, _ := c.intents.Intent(h.ctx, IntentID(o.kind, ref))
				wantTxs, wantNonce := 1, nonce0+1
				if !sc.adopted {
					wantTxs, wantNonce = 2, nonce0+2 // the other transaction and ours
				}
				if n := h.nonce(); n != wantNonce {
					t.Errorf("account nonce %d → %d, want %d", nonce0, n, wantNonce)
				}
				if in.State != IntentDone || len(in.Txs) != wantTxs || in.Result.TxHash != in.Txs[wantTxs-1].Hash || r.TxHash != in.Result.TxHash || r.AlreadyDone {
					t.Errorf("intent %+v, receipt %+v; want done by tx %d of %d", in, r, wantTxs, wantTxs)
				}
				// Again with the same ref: the recorded result, nothing sent.
				sends := fb.n("send")
				if r2, err := o.run(c, ref); err != nil || r2.TxHash != r.TxHash || fb.n("send") != sends {
					t.Errorf("again: %+v, %v; %d more sends", r2, err, fb.n("send")-sends)
				}
			})
		}
	}
}

// Concurrent operations get distinct, consecutive nonces, even from a
// node whose pending nonce lags behind the client's sends.
func TestConcurrentOperationsGetSequentialNonces(t *testing.T) {
	h := newHarness(t, 1, 1)
	me, bob := addr(h.key), common.Address{0xb0}
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(100), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	nonce0, bal0 := h.nonce(), h.flexOf(bob)
	fb := &faultBackend{
		pendingNonce: func(int, context.Context, common.Address) (uint64, error) { return nonce0, nil },
	}
	c, _ := h.faultClient(fb)
	const n = 8
	refs := make([]common.Hash, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		refs[i] = crypto.Keccak256Hash([]byte(fmt.Sprint("concurrent ", i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.TransferFLEX(h.ctx, refs[i], bob, fx(1))
		}()
	}
	wg.Wait()
	var nonces []uint64
	for i, ref := range refs {
		if errs[i] != nil {
			t.Errorf("transfer %d: %v", i, errs[i])
			continue
		}
		in, _, _ := c.intents.Intent(h.ctx, IntentID(OpTransferFLEX, ref))
		if in.State != IntentDone || len(in.Txs) != 1 {
			t.Errorf("intent %d: %+v, want done by one tx", i, in)
			continue
		}
		nonces = append(nonces, in.Txs[0].Nonce)
	}
	slices.Sort(nonces)
	for i, got := range nonces {
		if got != nonce0+uint64(i) {
			t.Fatalf("nonces %v, want %d..%d", nonces, nonce0, nonce0+n-1)
		}
	}
	if got := h.nonce(); got != nonce0+n {
		t.Errorf("account nonce %d, want %d", got, nonce0+n)
	}
	if got := new(big.Int).Sub(h.flexOf(bob), bal0); got.Cmp(fx(n)) != 0 {
		t.Errorf("bob got %v, want %v", got, fx(n))
	}
	if fb.n("send") != n {
		t.Errorf("%d sends, want %d", fb.n("send"), n)
	}
}

// A deployment whose send answer is lost although it was mined is
// adopted (by its receipt), not reported as "nonce too low".
func TestDeployAdoptsLostSend(t *testing.T) {
	h := newHarness(t, 1, 1)
	timeout := errors.New("read tcp 127.0.0.1:50412->127.0.0.1:8545: i/o timeout")
	fb := &faultBackend{}
	fb.send = func(n int, ctx context.Context, tx *types.Transaction) error {
		err := h.mined(ctx, tx)
		if n == 1 {
			return timeout
		}
		return err
	}
	c, sl := h.faultClient(fb)
	nonce0 := h.nonce()
	a, err := c.Deploy(h.ctx, DeployConfig{Attestors: []common.Address{addr(h.attestors[0])}, Threshold: 1})
	if err != nil {
		t.Fatalf("Deploy: %v", err)
	}
	if got := h.nonce(); got != nonce0+3 {
		t.Errorf("account nonce %d → %d, want 3 deployments", nonce0, got)
	}
	if want := crypto.CreateAddress(addr(h.key), nonce0); a.Registry != want {
		t.Errorf("registry at %s, want %s (the first, adopted transaction)", a.Registry, want)
	}
	if fb.n("send") != 4 || len(sl.waits()) != 1 {
		t.Errorf("%d sends, waits %v; want 4 sends and one back-off", fb.n("send"), sl.waits())
	}
}
