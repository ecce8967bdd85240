package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
	"github.com/gridmint/gridmint/chain/bindings/registry"
)

// Addresses are the deployed contracts.
type Addresses struct {
	Registry common.Address `json:"registry"`
	REC      common.Address `json:"rec"`
	FLEX     common.Address `json:"flex"`
	// DeployBlock is the block the registry was deployed in: where the
	// indexer and the audit start reading events.
	DeployBlock uint64 `json:"deployBlock"`
}

// Zero reports whether no contracts are set.
func (a Addresses) Zero() bool {
	return a.Registry == (common.Address{}) && a.REC == (common.Address{}) && a.FLEX == (common.Address{})
}

// SimulatedFunds is the genesis balance of the client's own account on
// the embedded chain: 1,000,000 ETH, in wei.
var SimulatedFunds = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(1e18))

// Config configures a Client (see Open).
type Config struct {
	// RPCURL is a JSON-RPC endpoint of any EVM node (http, ws or ipc).
	// Empty means the embedded simulated chain.
	RPCURL string
	// SimulatedDir keeps the embedded chain across restarts ("" = memory).
	SimulatedDir string
	// SimulatedAlloc funds more accounts in the embedded chain's genesis
	// (wei); the client's own account always gets SimulatedFunds. It must
	// not change between restarts of one SimulatedDir.
	SimulatedAlloc types.GenesisAlloc
	// SimulatedCacheMB is the embedded chain's cache allowance, MB; 0
	// means DefaultSimulatedCacheMB.
	SimulatedCacheMB int

	// Key signs transactions. If nil, KeystoreFile (a go-ethereum
	// keystore JSON file) is decrypted with Passphrase.
	Key          *ecdsa.PrivateKey
	KeystoreFile string
	Passphrase   string

	// Contracts are the deployed contracts; zero until Deploy.
	Contracts Addresses
	// ChainID, when set, is the chain id the endpoint must answer: New
	// refuses another (before reconciling anything against it), so a
	// node pointed at the wrong network does not start.
	ChainID *big.Int

	// Intents records submissions durably; nil keeps them in memory
	// (no crash safety: tests only).
	Intents IntentStore

	// Logger; nil discards. Clock stamps intents and the embedded
	// chain's blocks (SimulatedConfig.Clock); nil is the system clock.
	Logger *slog.Logger
	Clock  gridmint.Clock
	// Sleep waits between retries and polls; nil uses timers.
	Sleep func(ctx context.Context, d time.Duration) error

	// Retry governs transient RPC failures: Attempts tries, waiting
	// Backoff, doubled each time up to MaxBackoff. Zero values: 6 tries,
	// 200 ms, 10 s.
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// PollInterval is the longest wait between receipt polls (default 2 s).
	PollInterval time.Duration
	// StuckAfter is how long a sent transaction may stay unmined before
	// it is replaced with 25 % higher fees (default 3 min).
	StuckAfter time.Duration
	// GasMarginPercent is added to gas estimates (default 20).
	GasMarginPercent uint64
}

// Client submits gridmint's transactions idempotently: every operation
// has a deterministic id, its intent (with the signed transaction) is
// recorded before sending, and Reconcile (run by Open and New) settles
// what a crash left in flight from receipts and contract state. Safe for
// concurrent use.
type Client struct {
	be      Backend
	sim     *Simulated // owned, closed by Close
	key     *ecdsa.PrivateKey
	from    common.Address
	chainID *big.Int
	signer  types.Signer
	addrs   Addresses
	intents IntentStore
	log     *slog.Logger
	clock   gridmint.Clock
	sleep   func(context.Context, time.Duration) error
	cfg     Config

	rec  *rec.REC
	flex *flex.FLEX
	reg  *registry.AttestorRegistry

	attestorsMu sync.Mutex
	attestors   attestorCache // AttestorSet's events read so far

	mu        sync.Mutex // nonce and sending
	nextNonce uint64
	nonceOK   bool

	// hooks for crash tests
	afterRecord func(Intent)
	afterSend   func(Intent)
}

// Open connects to cfg.RPCURL, or starts the embedded chain in
// cfg.SimulatedDir, and returns a client that has reconciled its pending
// intents.
func Open(ctx context.Context, cfg Config) (*Client, error) {
	key, err := loadKey(cfg)
	if err != nil {
		return nil, err
	}
	cfg.Key = key
	if cfg.RPCURL != "" {
		ec, err := ethclient.DialContext(ctx, cfg.RPCURL)
		if err != nil {
			return nil, fmt.Errorf("chain: dial %s: %w", cfg.RPCURL, err)
		}
		c, err := New(ctx, ec, cfg)
		if err != nil {
			ec.Close()
			return nil, err
		}
		return c, nil
	}
	alloc := types.GenesisAlloc{}
	for a, acc := range cfg.SimulatedAlloc {
		alloc[a] = acc
	}
	alloc[crypto.PubkeyToAddress(key.PublicKey)] = types.Account{Balance: SimulatedFunds}
	// The embedded chain stamps its blocks with the client's clock: a
	// demo clock's time, so contracts see the same hours as the node.
	sim, err := NewSimulated(SimulatedConfig{Dir: cfg.SimulatedDir, Alloc: alloc, CacheMB: cfg.SimulatedCacheMB, Logger: cfg.Logger, Clock: cfg.Clock})
	if err != nil {
		return nil, err
	}
	c, err := New(ctx, sim.Backend(), cfg)
	if err != nil {
		sim.Close()
		return nil, err
	}
	c.sim = sim
	return c, nil
}

func loadKey(cfg Config) (*ecdsa.PrivateKey, error) {
	if cfg.Key != nil {
		return cfg.Key, nil
	}
	if cfg.KeystoreFile == "" {
		return nil, errors.New("chain: no key: set Config.Key or Config.KeystoreFile")
	}
	b, err := os.ReadFile(cfg.KeystoreFile)
	if err != nil {
		return nil, fmt.Errorf("chain: keystore: %w", err)
	}
	k, err := keystore.DecryptKey(b, cfg.Passphrase)
	if err != nil {
		return nil, fmt.Errorf("chain: keystore %s: %w", cfg.KeystoreFile, err)
	}
	return k.PrivateKey, nil
}

// New returns a client over an existing backend (cfg.RPCURL and the
// Simulated fields are ignored) after reconciling pending intents.
func New(ctx context.Context, be Backend, cfg Config) (*Client, error) {
	key, err := loadKey(cfg)
	if err != nil {
		return nil, err
	}
	chainID, err := be.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain: chain id: %w", err)
	}
	if cfg.ChainID != nil && cfg.ChainID.Cmp(chainID) != 0 {
		return nil, &ChainIDError{Want: new(big.Int).Set(cfg.ChainID), Got: chainID}
	}
	c := &Client{
		be: be, key: key, from: crypto.PubkeyToAddress(key.PublicKey), chainID: chainID,
		signer: types.LatestSignerForChainID(chainID), addrs: cfg.Contracts, intents: cfg.Intents,
		log: cfg.Logger, clock: cfg.Clock, sleep: cfg.Sleep, cfg: cfg,
		rec: rec.NewREC(), flex: flex.NewFLEX(), reg: registry.NewAttestorRegistry(),
	}
	if c.intents == nil {
		c.intents = NewMemIntents()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.clock == nil {
		c.clock = gridmint.SystemClock{}
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	if c.cfg.Attempts <= 0 {
		c.cfg.Attempts = 6
	}
	if c.cfg.Backoff <= 0 {
		c.cfg.Backoff = 200 * time.Millisecond
	}
	if c.cfg.MaxBackoff <= 0 {
		c.cfg.MaxBackoff = 10 * time.Second
	}
	if c.cfg.PollInterval <= 0 {
		c.cfg.PollInterval = 2 * time.Second
	}
	if c.cfg.StuckAfter <= 0 {
		c.cfg.StuckAfter = 3 * time.Minute
	}
	if c.cfg.GasMarginPercent == 0 {
		c.cfg.GasMarginPercent = 20
	}
	if err := c.Reconcile(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// sleepCtx waits d of wall time: retries and receipt polls pace RPC calls.
// The Clock stamps intents and measures StuckAfter (in its own time: a
// caller on a faster clock scales StuckAfter by its speed).
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Close releases the connection, and stops the embedded chain if Open started it.
func (c *Client) Close() error {
	if c.sim != nil {
		return c.sim.Close()
	}
	if ec, ok := c.be.(interface{ Close() }); ok {
		ec.Close()
	}
	return nil
}

// Address is the client's account.
func (c *Client) Address() common.Address { return c.from }

// ChainID is the chain's id.
func (c *Client) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// Backend is the chain connection (for an Indexer or Audit).
func (c *Client) Backend() Backend { return c.be }

// Simulated is the embedded chain Open started, or nil.
func (c *Client) Simulated() *Simulated { return c.sim }

// Contracts are the contracts the client talks to.
func (c *Client) Contracts() Addresses {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addrs
}

// RECDomain is the EIP-712 domain claims and issue batches are signed in.
func (c *Client) RECDomain() Domain {
	return Domain{Name: DomainREC, Version: "1", ChainID: c.ChainID(), Contract: c.Contracts().REC}
}

// FLEXDomain is the EIP-712 domain rewards, slashes and awards are signed in.
func (c *Client) FLEXDomain() Domain {
	return Domain{Name: DomainFLEX, Version: "1", ChainID: c.ChainID(), Contract: c.Contracts().FLEX}
}

// ---------------------------------------------------------------- operations

// Issue issues an attested batch of claims (REC, Wh). Idempotent by batch
// id: a batch already issued, by this node or another, returns a Receipt
// with AlreadyDone.
func (c *Client) Issue(ctx context.Context, b IssueBatch, sigs [][]byte) (*Receipt, error) {
	if len(b.Claims) == 0 {
		return nil, errors.New("chain: issue: empty batch")
	}
	claims := make([]rec.RECClaim, len(b.Claims))
	for i, cl := range b.Claims {
		claims[i] = rec.RECClaim{Device: cl.Device, Node: cl.Node, Owner: cl.Owner, Zone: cl.Zone, Technology: cl.Technology, Hour: cl.Hour, Wh: cl.Wh, ReadingsRoot: cl.ReadingsRoot}
	}
	recAddr := c.Contracts().REC
	data := c.rec.PackIssue(rec.RECIssueBatch{BatchId: b.BatchID, Claims: claims}, sigs)
	return c.submit(ctx, op{kind: OpIssue, ref: b.BatchID, to: recAddr, data: data, done: func(ctx context.Context) (bool, error) {
		return call(ctx, c, recAddr, c.rec.PackIssued(b.BatchID), c.rec.UnpackIssued)
	}})
}

// Reward mints an attested batch of rewards (FLEX base units).
// Idempotent by batch id.
func (c *Client) Reward(ctx context.Context, b RewardBatch, sigs [][]byte) (*Receipt, error) {
	if len(b.Rewards) == 0 {
		return nil, errors.New("chain: reward: empty batch")
	}
	rs := make([]flex.FLEXReward, len(b.Rewards))
	for i, r := range b.Rewards {
		rs[i] = flex.FLEXReward{RecordId: r.RecordID, Provider: r.Provider, Amount: orZero(r.Amount), Kind: r.Kind, Evidence: r.Evidence}
	}
	flexAddr := c.Contracts().FLEX
	data := c.flex.PackReward(flex.FLEXRewardBatch{BatchId: b.BatchID, Rewards: rs}, sigs)
	return c.submit(ctx, op{kind: OpReward, ref: b.BatchID, to: flexAddr, data: data, done: func(ctx context.Context) (bool, error) {
		return call(ctx, c, flexAddr, c.flex.PackRewarded(b.BatchID), c.flex.UnpackRewarded)
	}})
}

// Slash burns part of a provider's stake for one award, attested.
// Idempotent by record id.
func (c *Client) Slash(ctx context.Context, s Slash, sigs [][]byte) (*Receipt, error) {
	flexAddr := c.Contracts().FLEX
	data := c.flex.PackSlash(flex.FLEXSlash{RecordId: s.RecordID, Provider: s.Provider, Award: s.Award,
		AwardPrice: orZero(s.AwardPrice), WindowValue: orZero(s.WindowValue), Amount: orZero(s.Amount), Evidence: s.Evidence}, sigs)
	return c.submit(ctx, op{kind: OpSlash, ref: s.RecordID, to: flexAddr, data: data, done: func(ctx context.Context) (bool, error) {
		return call(ctx, c, flexAddr, c.flex.PackRecordUsed(s.RecordID), c.flex.UnpackRecordUsed)
	}})
}

// Reserve burns amount FLEX base units from the client's account to
// reserve the awards (Merkle root awardsRoot) of request requestID.
// Idempotent: the contract accepts one reserve per account and request.
func (c *Client) Reserve(ctx context.Context, requestID, awardsRoot common.Hash, amount *big.Int) (*Receipt, error) {
	flexAddr := c.Contracts().FLEX
	data := c.flex.PackReserve(requestID, awardsRoot, orZero(amount))
	return c.submit(ctx, op{kind: OpReserve, ref: requestID, to: flexAddr, data: data, done: func(ctx context.Context) (bool, error) {
		return call(ctx, c, flexAddr, c.flex.PackReserved(c.from, requestID), c.flex.UnpackReserved)
	}})
}

// RetireRequest asks to retire certificates held by the client's account.
type RetireRequest struct {
	// Ref is the caller's idempotency key (e.g. the API request's id):
	// the same Ref retires once. Zero derives it from the other fields,
	// so two identical retirements then need distinct Refs.
	Ref         common.Hash
	Token       TokenID
	Wh          uint64
	Beneficiary string
	Claim       string
}

// Retirement is a done retirement.
type Retirement struct {
	Receipt
	// RetirementID is the contract's id of the retirement (1, 2, ...);
	// 0 if the receipt could not be read.
	RetirementID uint64
}

// Retire burns certificates with a beneficiary and claim text; the
// contract emits Retired with a retirement id.
func (c *Client) Retire(ctx context.Context, r RetireRequest) (*Retirement, error) {
	ref := r.Ref
	if ref == (common.Hash{}) {
		ref = crypto.Keccak256Hash(c.from.Bytes(), r.Token.Big().Bytes(), new(big.Int).SetUint64(r.Wh).Bytes(), []byte(r.Beneficiary), []byte{0}, []byte(r.Claim))
	}
	data := c.rec.PackRetire(r.Token.Big(), new(big.Int).SetUint64(r.Wh), r.Beneficiary, r.Claim)
	rc, err := c.submit(ctx, op{kind: OpRetire, ref: ref, to: c.Contracts().REC, data: data})
	if err != nil {
		return nil, err
	}
	out := &Retirement{Receipt: *rc}
	if rc.TxHash != (common.Hash{}) {
		if full, err := c.be.TransactionReceipt(ctx, rc.TxHash); err == nil {
			for _, l := range full.Logs {
				if ev, err := c.rec.UnpackRetiredEvent(l); err == nil && l.Address == c.Contracts().REC {
					out.RetirementID = ev.RetirementId.Uint64()
				}
			}
		}
	}
	return out, nil
}

// TransferREC sends wh Wh of token to another account (ERC-1155
// safeTransferFrom). ref is the caller's idempotency key.
func (c *Client) TransferREC(ctx context.Context, ref common.Hash, to common.Address, token TokenID, wh uint64) (*Receipt, error) {
	data := c.rec.PackSafeTransferFrom(c.from, to, token.Big(), new(big.Int).SetUint64(wh), nil)
	return c.submit(ctx, op{kind: OpTransferREC, ref: ref, to: c.Contracts().REC, data: data})
}

// TransferFLEX sends amount FLEX base units to another account. ref is
// the caller's idempotency key.
func (c *Client) TransferFLEX(ctx context.Context, ref common.Hash, to common.Address, amount *big.Int) (*Receipt, error) {
	data := c.flex.PackTransfer(to, orZero(amount))
	return c.submit(ctx, op{kind: OpTransferFLEX, ref: ref, to: c.Contracts().FLEX, data: data})
}

// Stake moves amount FLEX base units of the client's into its stake. ref
// is the caller's idempotency key.
func (c *Client) Stake(ctx context.Context, ref common.Hash, amount *big.Int) (*Receipt, error) {
	data := c.flex.PackStake(orZero(amount))
	return c.submit(ctx, op{kind: OpStake, ref: ref, to: c.Contracts().FLEX, data: data})
}

// ---------------------------------------------------------------------- views

// Issued reports whether the batch is issued.
func (c *Client) Issued(ctx context.Context, batchID common.Hash) (bool, error) {
	return call(ctx, c, c.Contracts().REC, c.rec.PackIssued(batchID), c.rec.UnpackIssued)
}

// Rewarded reports whether the reward batch is minted.
func (c *Client) Rewarded(ctx context.Context, batchID common.Hash) (bool, error) {
	return call(ctx, c, c.Contracts().FLEX, c.flex.PackRewarded(batchID), c.flex.UnpackRewarded)
}

// NextHour is the first hour (Unix seconds / 3600) of device still
// issuable: its high-water mark plus one, 0 if none was issued.
func (c *Client) NextHour(ctx context.Context, device common.Hash) (uint64, error) {
	v, err := call(ctx, c, c.Contracts().REC, c.rec.PackNextHour(device), c.rec.UnpackNextHour)
	if err != nil {
		return 0, err
	}
	return v.Uint64(), nil
}

// RECBalance is account's balance of token, in Wh.
func (c *Client) RECBalance(ctx context.Context, account common.Address, token TokenID) (*big.Int, error) {
	return call(ctx, c, c.Contracts().REC, c.rec.PackBalanceOf(account, token.Big()), c.rec.UnpackBalanceOf)
}

// FLEXBalance is account's balance, in FLEX base units.
func (c *Client) FLEXBalance(ctx context.Context, account common.Address) (*big.Int, error) {
	return call(ctx, c, c.Contracts().FLEX, c.flex.PackBalanceOf(account), c.flex.UnpackBalanceOf)
}

// ETHBalance is the client's account balance in wei.
func (c *Client) ETHBalance(ctx context.Context) (*big.Int, error) {
	return c.be.BalanceAt(ctx, c.from, nil)
}

func call[T any](ctx context.Context, c *Client, to common.Address, data []byte, unpack func([]byte) (T, error)) (T, error) {
	var zero T
	out, err := retry(ctx, c, "call", func() ([]byte, error) {
		return c.be.CallContract(ctx, ethereum.CallMsg{From: c.from, To: &to, Data: data}, nil)
	})
	if err != nil {
		if r := revertOf(err); r != nil {
			return zero, r
		}
		return zero, err
	}
	return unpack(out)
}

func orZero(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}

// ------------------------------------------------------------------ submission

// op is one operation to submit.
type op struct {
	kind string
	ref  common.Hash
	to   common.Address
	data []byte
	// done, if set, reads from contract state whether the operation
	// happened already (by any transaction of anyone).
	done func(context.Context) (bool, error)
}

func (c *Client) now() time.Time { return c.clock.Now().UTC() }

func (c *Client) submit(ctx context.Context, o op) (*Receipt, error) {
	if o.to == (common.Address{}) {
		return nil, errors.New("chain: contracts not set: Deploy first or set Config.Contracts")
	}
	id := IntentID(o.kind, o.ref)
	in, ok, err := c.intents.Intent(ctx, id)
	if err != nil {
		return nil, err
	}
	if ok {
		switch in.State {
		case IntentDone:
			r := *in.Result
			return &r, nil
		case IntentPending:
			return c.follow(ctx, &in, o)
		}
	}
	if o.done != nil {
		done, err := o.done(ctx)
		if err != nil {
			return nil, err
		}
		if done {
			return c.markDone(ctx, newIntent(id, o, c.now()), &Receipt{AlreadyDone: true})
		}
	}
	gas, err := c.estimate(ctx, o.to, o.data)
	if err != nil {
		return nil, err
	}
	in = newIntent(id, o, c.now())
	if err := c.sendNew(ctx, &in, gas, nil); err != nil {
		return nil, err
	}
	return c.follow(ctx, &in, o)
}

func newIntent(id common.Hash, o op, now time.Time) Intent {
	return Intent{ID: id, Kind: o.kind, Ref: o.ref, To: o.to, Data: o.data, State: IntentPending, Created: now, Updated: now}
}

func (c *Client) markDone(ctx context.Context, in Intent, r *Receipt) (*Receipt, error) {
	in.State, in.Result, in.Error, in.Updated = IntentDone, r, "", c.now()
	if err := c.intents.PutIntent(ctx, in); err != nil {
		return nil, err
	}
	c.log.Info("chain: done", "kind", in.Kind, "ref", in.Ref, "tx", r.TxHash, "block", r.Block, "gas", r.GasUsed, "alreadyDone", r.AlreadyDone)
	out := *r
	return &out, nil
}

func (c *Client) markFailed(ctx context.Context, in Intent, cause error) error {
	in.State, in.Error, in.Updated = IntentFailed, cause.Error(), c.now()
	if err := c.intents.PutIntent(ctx, in); err != nil {
		return errors.Join(cause, err)
	}
	c.log.Warn("chain: failed", "kind", in.Kind, "ref", in.Ref, "err", cause)
	return cause
}

// estimate returns the gas limit for a call: the node's estimate plus the
// margin. A revert is returned decoded (*RevertError), not retried.
func (c *Client) estimate(ctx context.Context, to common.Address, data []byte) (uint64, error) {
	gas, err := retry(ctx, c, "estimate gas", func() (uint64, error) {
		return c.be.EstimateGas(ctx, ethereum.CallMsg{From: c.from, To: &to, Data: data})
	})
	if err != nil {
		if r := revertOf(err); r != nil {
			return 0, r
		}
		if isInsufficientFunds(err) {
			return 0, c.fundsError(ctx, nil)
		}
		return 0, fmt.Errorf("chain: estimate gas: %w", err)
	}
	return gas + gas*c.cfg.GasMarginPercent/100, nil
}

func (c *Client) fundsError(ctx context.Context, need *big.Int) error {
	have, err := c.be.BalanceAt(ctx, c.from, nil)
	if err != nil {
		have = nil
	}
	return &InsufficientFundsError{Account: c.from, Have: have, Need: need}
}

// fees returns EIP-1559 fees: tip as suggested, cap 2 × base fee + tip.
func (c *Client) fees(ctx context.Context) (tip, feeCap *big.Int, err error) {
	tip, err = retry(ctx, c, "gas tip", func() (*big.Int, error) { return c.be.SuggestGasTipCap(ctx) })
	if err != nil {
		return nil, nil, fmt.Errorf("chain: gas tip: %w", err)
	}
	head, err := retry(ctx, c, "head", func() (*types.Header, error) { return c.be.HeaderByNumber(ctx, nil) })
	if err != nil {
		return nil, nil, fmt.Errorf("chain: head: %w", err)
	}
	base := head.BaseFee
	if base == nil {
		base = new(big.Int)
	}
	return tip, new(big.Int).Add(new(big.Int).Mul(base, big.NewInt(2)), tip), nil
}

// nonceLocked returns the next nonce to use; c.mu is held.
func (c *Client) nonceLocked(ctx context.Context) (uint64, error) {
	pending, err := retry(ctx, c, "nonce", func() (uint64, error) { return c.be.PendingNonceAt(ctx, c.from) })
	if err != nil {
		return 0, fmt.Errorf("chain: nonce: %w", err)
	}
	if !c.nonceOK || pending > c.nextNonce {
		c.nextNonce, c.nonceOK = pending, true
	}
	return c.nextNonce, nil
}

// sendNew signs the intent's call with a fresh nonce (or, with replace,
// the same nonce and fees raised by 25 %), records the intent with the
// signed transaction, then broadcasts it (retrying transient failures).
//
// It never signs a second transaction itself. A "nonce too low" answer
// may mean that this very transaction got through on an earlier try whose
// answer was lost (a timeout, a reset connection) and is mined already;
// signing again with a fresh nonce would then execute the operation twice
// (a transfer or a stake, which the contracts cannot recognise as a
// repeat). So sendNew returns as if sent and leaves it to follow, which
// looks up the receipts of every transaction recorded in the intent and
// the block that used the nonce, and signs again only when none of ours
// is there (and the contract does not show the operation done).
func (c *Client) sendNew(ctx context.Context, in *Intent, gas uint64, replace *SentTx) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var nonce uint64
	var err error
	if replace != nil {
		nonce = replace.Nonce
	} else if nonce, err = c.nonceLocked(ctx); err != nil {
		return err
	}
	tip, feeCap, err := c.fees(ctx)
	if err != nil {
		return err
	}
	if replace != nil {
		var old types.Transaction
		if err := old.UnmarshalBinary(replace.Raw); err == nil {
			tip = maxBig(tip, bump(old.GasTipCap()))
			feeCap = maxBig(feeCap, bump(old.GasFeeCap()))
			gas = old.Gas()
		}
	}
	need := new(big.Int).Mul(feeCap, new(big.Int).SetUint64(gas))
	bal, err := retry(ctx, c, "balance", func() (*big.Int, error) { return c.be.BalanceAt(ctx, c.from, nil) })
	if err != nil {
		return fmt.Errorf("chain: balance: %w", err)
	}
	if bal.Cmp(need) < 0 {
		return c.failIfUnsent(ctx, in, &InsufficientFundsError{Account: c.from, Have: bal, Need: need})
	}
	to := in.To
	tx, err := types.SignNewTx(c.key, c.signer, &types.DynamicFeeTx{
		ChainID: c.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &to, Data: in.Data,
	})
	if err != nil {
		return fmt.Errorf("chain: sign: %w", err)
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return fmt.Errorf("chain: encode tx: %w", err)
	}
	// Recorded before it can reach any node: whatever happens next, a
	// restart knows the hash to look for.
	in.Txs = append(in.Txs, SentTx{Hash: tx.Hash(), Nonce: nonce, Raw: raw})
	in.State, in.Updated = IntentPending, c.now()
	if err := c.intents.PutIntent(ctx, *in); err != nil {
		return fmt.Errorf("chain: record intent: %w", err)
	}
	if c.afterRecord != nil {
		c.afterRecord(*in)
	}
	c.log.Info("chain: sending", "kind", in.Kind, "ref", in.Ref, "tx", tx.Hash(), "nonce", nonce, "gas", gas)
	tries := 0
	_, err = retry(ctx, c, "send", func() (struct{}, error) {
		tries++
		return struct{}{}, c.be.SendTransaction(ctx, tx)
	})
	switch {
	case err == nil || isKnown(err):
		if replace == nil {
			c.nextNonce = nonce + 1
		}
		if c.afterSend != nil {
			c.afterSend(*in)
		}
		return nil
	case isNonceTooLow(err):
		// Maybe ours (see above): follow decides from the chain. Either
		// way the nonce is used: never hand it out again, even if the
		// node's pending nonce lags.
		if replace == nil {
			c.nextNonce, c.nonceOK = nonce+1, true
		}
		c.log.Warn("chain: nonce used already; checking whether by this intent before signing again",
			"kind", in.Kind, "ref", in.Ref, "tx", tx.Hash(), "nonce", nonce, "tries", tries)
		return nil
	case isInsufficientFunds(err):
		c.nonceOK = false
		cause := &InsufficientFundsError{Account: c.from, Have: bal, Need: need}
		if tries > 1 {
			// An earlier try may have reached the node: keep it.
			return cause
		}
		// Refused on its only try: no node has it, forget it.
		in.Txs = in.Txs[:len(in.Txs)-1]
		if len(in.Txs) == 0 {
			return c.markFailed(ctx, *in, cause)
		}
		if err := c.intents.PutIntent(ctx, *in); err != nil {
			return errors.Join(cause, err)
		}
		return cause
	default:
		// Possibly sent: the intent stays pending; follow or
		// Reconcile rebroadcasts it.
		c.nonceOK = false
		return fmt.Errorf("chain: send %s: %w", in.Kind, err)
	}
}

// failIfUnsent marks an intent with no sent transaction failed (nothing
// can be in flight); an intent with earlier transactions stays pending.
func (c *Client) failIfUnsent(ctx context.Context, in *Intent, cause error) error {
	if len(in.Txs) == 0 {
		return c.markFailed(ctx, *in, cause)
	}
	return cause
}

func bump(v *big.Int) *big.Int {
	return new(big.Int).Add(v, new(big.Int).Add(new(big.Int).Div(v, big.NewInt(4)), big.NewInt(1)))
}

func maxBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

func isKnown(err error) bool {
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "already known") || strings.Contains(s, "known transaction") || strings.Contains(s, "already imported")
}

func isNonceTooLow(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "nonce too low")
}

// follow waits until one of the intent's transactions is mined; it
// rebroadcasts a transaction the node lost, replaces one stuck for
// StuckAfter, and signs again when the nonce was taken by another
// transaction (after checking that the operation is not done already).
func (c *Client) follow(ctx context.Context, in *Intent, o op) (*Receipt, error) {
	delay := 10 * time.Millisecond
	lastSend := c.now()
	rebroadcast := true
	for {
		r, err := c.minedReceipt(ctx, in)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			c.log.Warn("chain: receipt lookup", "err", err)
		} else if r != nil {
			return c.finish(ctx, in, o, r)
		}
		last := in.Txs[len(in.Txs)-1]
		mined, err := retry(ctx, c, "nonce", func() (uint64, error) { return c.be.NonceAt(ctx, c.from, nil) })
		if err != nil {
			return nil, fmt.Errorf("chain: nonce: %w", err)
		}
		if mined > last.Nonce {
			// The nonce is used. Find the block that used it and see
			// whether one of ours did (the receipt lookup above needs the
			// node's transaction index, which may lag after a restart).
			r, decided, err := c.locate(ctx, in, last.Nonce)
			if err != nil || !decided {
				c.log.Warn("chain: cannot tell yet which transaction used the nonce; waiting", "nonce", last.Nonce, "err", err)
				if err := c.sleep(ctx, c.cfg.PollInterval); err != nil {
					return nil, err
				}
				continue
			}
			if r != nil {
				return c.finish(ctx, in, o, r)
			}
			if o.done != nil {
				done, err := o.done(ctx)
				if err != nil {
					return nil, err
				}
				if done {
					return c.markDone(ctx, *in, &Receipt{AlreadyDone: true})
				}
			}
			c.log.Warn("chain: nonce taken by another transaction; sending again", "kind", in.Kind, "ref", in.Ref, "nonce", last.Nonce)
			gas, err := c.estimate(ctx, in.To, in.Data)
			if err != nil {
				if errors.As(err, new(*RevertError)) {
					return nil, c.markFailed(ctx, *in, err)
				}
				return nil, err
			}
			if err := c.sendNew(ctx, in, gas, nil); err != nil {
				return nil, err
			}
			lastSend, rebroadcast = c.now(), false
			continue
		}
		if rebroadcast {
			// After a restart the node may have lost the transaction.
			var tx types.Transaction
			if err := tx.UnmarshalBinary(last.Raw); err == nil {
				if err := c.be.SendTransaction(ctx, &tx); err != nil && !isKnown(err) && !isNonceTooLow(err) {
					c.log.Warn("chain: rebroadcast", "tx", last.Hash, "err", err)
				}
			}
			rebroadcast = false
		} else if c.now().Sub(lastSend) > c.cfg.StuckAfter {
			c.log.Warn("chain: transaction stuck; replacing with higher fees", "tx", last.Hash)
			if err := c.sendNew(ctx, in, 0, &last); err != nil {
				c.log.Warn("chain: replace", "err", err)
			}
			lastSend = c.now()
		}
		if err := c.sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(delay*2, c.cfg.PollInterval)
	}
}

// locate finds the block in which the account's nonce passed nonce and
// returns the receipt of our transaction in it, or nil if another
// transaction used the nonce. decided is false when the node cannot tell
// (no state that old): the caller waits.
func (c *Client) locate(ctx context.Context, in *Intent, nonce uint64) (r *types.Receipt, decided bool, err error) {
	head, err := c.be.BlockNumber(ctx)
	if err != nil {
		return nil, false, err
	}
	used := func(b uint64) (bool, error) {
		n, err := c.be.NonceAt(ctx, c.from, new(big.Int).SetUint64(b))
		return n > nonce, err
	}
	// The smallest block b with nonce(b) > nonce, searching a recent
	// window first.
	lo := uint64(0)
	if head > 1024 {
		if u, err := used(head - 1024); err == nil && !u {
			lo = head - 1024
		}
	}
	hi := head
	if u, err := used(hi); err != nil || !u {
		return nil, false, err
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		u, err := used(mid)
		if err != nil {
			return nil, false, err
		}
		if u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	receipts, err := c.be.BlockReceipts(ctx, rpc.BlockNumberOrHashWithNumber(rpc.BlockNumber(hi)))
	if err != nil {
		return nil, false, err
	}
	for _, r := range receipts {
		for _, tx := range in.Txs {
			if r.TxHash == tx.Hash {
				return r, true, nil
			}
		}
	}
	return nil, true, nil
}

// minedReceipt returns the receipt of whichever of the intent's
// transactions is mined, or nil.
func (c *Client) minedReceipt(ctx context.Context, in *Intent) (*types.Receipt, error) {
	for i := len(in.Txs) - 1; i >= 0; i-- {
		h := in.Txs[i].Hash
		r, err := retry(ctx, c, "receipt", func() (*types.Receipt, error) {
			r, err := c.be.TransactionReceipt(ctx, h)
			if errors.Is(err, ethereum.NotFound) {
				return nil, nil
			}
			return r, err
		})
		if err != nil {
			return nil, fmt.Errorf("chain: receipt %s: %w", h, err)
		}
		if r != nil {
			return r, nil
		}
	}
	return nil, nil
}

func (c *Client) finish(ctx context.Context, in *Intent, o op, r *types.Receipt) (*Receipt, error) {
	rc := &Receipt{TxHash: r.TxHash, Block: r.BlockNumber.Uint64(), BlockHash: r.BlockHash, GasUsed: r.GasUsed}
	if r.Status == types.ReceiptStatusSuccessful {
		return c.markDone(ctx, *in, rc)
	}
	if o.done != nil {
		if done, err := o.done(ctx); err == nil && done {
			rc.AlreadyDone = true
			return c.markDone(ctx, *in, rc)
		}
	}
	// Find the reason by replaying the call on the parent block's state.
	var cause error = &RevertError{}
	parent := new(big.Int).Sub(r.BlockNumber, big.NewInt(1))
	if _, err := c.be.CallContract(ctx, ethereum.CallMsg{From: c.from, To: &in.To, Data: in.Data, Gas: r.GasUsed * 2}, parent); err != nil {
		if rv := revertOf(err); rv != nil {
			cause = rv
		}
	}
	return nil, c.markFailed(ctx, *in, fmt.Errorf("chain: %s %s reverted in tx %s: %w", in.Kind, in.Ref, r.TxHash, cause))
}

// Reconcile settles every pending intent: one whose transaction was mined
// is marked done (or failed); one whose transaction the node lost is
// rebroadcast; one whose nonce another transaction took is sent again
// unless the contract shows the operation done. Open and New call it;
// call it again after an error left intents pending.
func (c *Client) Reconcile(ctx context.Context) error {
	pending, err := c.intents.PendingIntents(ctx)
	if err != nil {
		return err
	}
	for _, in := range pending {
		if len(in.Txs) == 0 {
			if err := c.markFailed(ctx, in, errors.New("chain: recorded but never signed")); err != nil {
				c.log.Warn("chain: reconcile", "err", err)
			}
			continue
		}
		c.log.Info("chain: reconciling", "kind", in.Kind, "ref", in.Ref, "txs", len(in.Txs))
		o := op{kind: in.Kind, ref: in.Ref, to: in.To, data: in.Data, done: c.doneCheck(in)}
		if _, err := c.follow(ctx, &in, o); err != nil {
			var rv *RevertError
			if errors.As(err, &rv) {
				continue // recorded as failed
			}
			return fmt.Errorf("chain: reconcile %s %s: %w", in.Kind, in.Ref, err)
		}
	}
	return nil
}

// doneCheck rebuilds an intent's on-chain "already done" check from its kind.
func (c *Client) doneCheck(in Intent) func(context.Context) (bool, error) {
	switch in.Kind {
	case OpIssue:
		return func(ctx context.Context) (bool, error) {
			return call(ctx, c, in.To, c.rec.PackIssued(in.Ref), c.rec.UnpackIssued)
		}
	case OpReward:
		return func(ctx context.Context) (bool, error) {
			return call(ctx, c, in.To, c.flex.PackRewarded(in.Ref), c.flex.UnpackRewarded)
		}
	case OpSlash:
		return func(ctx context.Context) (bool, error) {
			return call(ctx, c, in.To, c.flex.PackRecordUsed(in.Ref), c.flex.UnpackRecordUsed)
		}
	case OpReserve:
		return func(ctx context.Context) (bool, error) {
			return call(ctx, c, in.To, c.flex.PackReserved(c.from, in.Ref), c.flex.UnpackReserved)
		}
	}
	return nil
}

// retry runs f until it succeeds, fails permanently (a revert, a refusal
// the node gave a reason for, a cancelled context) or Attempts run out,
// waiting Backoff, 2×Backoff, ... (at most MaxBackoff) in between.
func retry[T any](ctx context.Context, c *Client, what string, f func() (T, error)) (T, error) {
	wait := c.cfg.Backoff
	var zero T
	for i := 1; ; i++ {
		v, err := f()
		if err == nil || !transient(ctx, err) || i >= c.cfg.Attempts {
			return v, err
		}
		c.log.Warn("chain: retrying", "op", what, "attempt", i, "err", err)
		if serr := c.sleep(ctx, wait); serr != nil {
			return zero, err
		}
		wait = min(wait*2, c.cfg.MaxBackoff)
	}
}

// transient reports whether err may go away by itself: transport
// failures, timeouts, rate limits. Reverts, refusals (nonce, funds,
// known) and a cancelled ctx are not.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return false
	}
	if revertOf(err) != nil || isInsufficientFunds(err) || isKnown(err) || isNonceTooLow(err) || errors.Is(err, ethereum.NotFound) {
		return false
	}
	s := strings.ToLower(err.Error())
	for _, p := range []string{"connection", "timeout", "deadline", "eof", "temporar", "too many requests", "429", "rate limit", "502", "indexing is in progress", "503", "504", "unavailable", "reset by peer", "broken pipe"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
