package chain

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/gridmint/gridmint"
)

// TestServedChainIsOneNetwork runs the embedded chain on a demo clock 30
// days ahead at ×60 and serves its JSON-RPC: a second client over HTTP
// sees the same chain id, contracts and attestor set, and its
// transactions are sealed at once in blocks stamped with the demo clock
// (REC accepts an hour that has ended in demo time, not yet in wall
// time). A batch signed by an attestor outside the registry does not
// count; another chain id is refused.
func TestServedChainIsOneNetwork(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clock, err := gridmint.NewScaledClock(time.Now().Add(30*24*time.Hour), time.Now(), 60)
	if err != nil {
		t.Fatal(err)
	}
	remoteKey := testKey("remote")
	sim, local := servedPair(t, ctx, clock, remoteKey)
	var attestors []common.Address
	for i := range 3 {
		attestors = append(attestors, addr(testKey("attestor"+string(rune('0'+i)))))
	}
	addrs, err := local.Deploy(ctx, DeployConfig{Attestors: attestors, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}

	h, err := sim.ServeRPC()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	remote, err := Open(ctx, Config{RPCURL: srv.URL, Key: remoteKey, Contracts: addrs, ChainID: SimulatedChainID,
		Logger: testLogger(t), Sleep: fastSleep, Clock: clock})
	if err != nil {
		t.Fatalf("a client over the served JSON-RPC: %v", err)
	}
	defer remote.Close()
	if err := remote.CheckContracts(ctx); err != nil {
		t.Errorf("CheckContracts over RPC: %v", err)
	}
	for name, c := range map[string]*Client{"local": local, "remote": remote} {
		set, err := c.AttestorSet(ctx)
		if err != nil {
			t.Fatalf("%s AttestorSet: %v", name, err)
		}
		if set.Threshold != 2 || len(set.Attestors) != 3 || set.Attestors[0] != attestors[0] || set.Attestors[2] != attestors[2] {
			t.Errorf("%s attestor set %v k=%d, want %v k=2", name, set.Attestors, set.Threshold, attestors)
		}
	}

	// An hour that ended in demo time is a month ahead of the wall clock.
	hour := uint64(clock.Now().Unix()/3600) - 1
	if wallHour := uint64(time.Now().Unix() / 3600); hour <= wallHour {
		t.Fatalf("demo hour %d not ahead of wall hour %d", hour, wallHour)
	}
	sign := func(b IssueBatch, labels ...string) [][]byte {
		var sigs [][]byte
		for _, l := range labels {
			s, err := Sign(testKey(l), remote.RECDomain().Digest(b.StructHash()))
			if err != nil {
				t.Fatal(err)
			}
			sigs = append(sigs, s)
		}
		return sigs
	}
	b := NewIssueBatch([]Claim{claim("served/pv1", addr(remoteKey), hour, 1500)})
	// One signature of an attestor outside the registry: the batch does
	// not reach k = 2 registered signers.
	if _, err := remote.Issue(ctx, b, sign(b, "attestor0", "outsider")); !IsRevert(err, "UnregisteredAttestor") {
		t.Errorf("issue with an unregistered attestor's signature: %v, want UnregisteredAttestor", err)
	}
	if ok, err := remote.IsAttestor(ctx, addr(testKey("outsider"))); ok || err != nil {
		t.Errorf("IsAttestor(outsider) = %v, %v; want false", ok, err)
	}
	if ok, err := remote.IsAttestor(ctx, attestors[1]); !ok || err != nil {
		t.Errorf("IsAttestor(attestor1) = %v, %v; want true", ok, err)
	}
	r, err := remote.Issue(ctx, b, sign(b, "attestor2", "attestor0"))
	if err != nil {
		t.Fatalf("issue over the served RPC for demo hour %d: %v", hour, err)
	}
	if got, err := local.RECBalance(ctx, addr(remoteKey), TokenID{zoneDE, TechnologySolarPV, hour}); err != nil || got.Int64() != 1500 {
		t.Errorf("REC balance seen locally = %v, %v; want 1500", got, err)
	}

	// Every block's time is strictly later than its parent's; the
	// issue's block is on the demo clock.
	head, err := sim.Backend().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var prev uint64
	for n := uint64(1); n <= head.Number.Uint64(); n++ {
		hd, err := sim.Backend().HeaderByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			t.Fatal(err)
		}
		if hd.Time <= prev {
			t.Errorf("block %d at %d, its parent at %d: want strictly increasing times", n, hd.Time, prev)
		}
		prev = hd.Time
	}
	issued, err := sim.Backend().HeaderByNumber(ctx, new(big.Int).SetUint64(r.Block))
	if err != nil {
		t.Fatal(err)
	}
	// Blocks sealed within one second of clock time each take the next
	// second, so a burst may run a few seconds ahead.
	if now, at := clock.Now(), time.Unix(int64(issued.Time), 0); at.After(now.Add(time.Minute)) || now.Sub(at) > 30*time.Minute {
		t.Errorf("the issue's block is at %v, the demo clock at %v: want the demo clock's time", time.Unix(int64(issued.Time), 0).UTC(), now)
	}

	// Nothing that signs with the node's keys or keeps state is served.
	for _, method := range []string{"eth_sendTransaction", "eth_sign", "admin_peers", "eth_newFilter", "debug_traceTransaction"} {
		body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": []any{}})
		resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var reply struct {
			Error *struct{ Code int } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&reply)
		resp.Body.Close()
		if reply.Error == nil || reply.Error.Code != -32601 {
			t.Errorf("%s over the served RPC: %+v, want refused (-32601)", method, reply.Error)
		}
	}

	// Another network's id is refused before anything is read or sent.
	_, err = Open(ctx, Config{RPCURL: srv.URL, Key: remoteKey, Contracts: addrs, ChainID: big.NewInt(11155111), Logger: testLogger(t)})
	var idErr *ChainIDError
	if !errors.As(err, &idErr) || idErr.Got.Cmp(SimulatedChainID) != 0 || !strings.Contains(err.Error(), "11155111") {
		t.Errorf("Open with chain id 11155111 against 1337: %v, want a ChainIDError naming both", err)
	}
	// Contracts that are not there are found out.
	wrong, err := Open(ctx, Config{RPCURL: srv.URL, Key: remoteKey, Contracts: Addresses{Registry: common.HexToAddress("0x1234"), REC: addrs.REC, FLEX: addrs.FLEX}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if err := wrong.CheckContracts(ctx); err == nil || !strings.Contains(err.Error(), "registry") {
		t.Errorf("CheckContracts with no registry at its address: %v, want an error naming it", err)
	}
}

// TestSimulatedKeepsItsGenesis: the chain in a directory remembers the
// accounts its genesis funded, so a tool that opens it knowing only its
// own account (gridmint audit) opens the same chain, and an allocation
// that funds another account is refused with a clear error.
func TestSimulatedKeepsItsGenesis(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b, c := addr(testKey("a")), addr(testKey("b")), addr(testKey("c"))
	funds := types.Account{Balance: SimulatedFunds}
	sim, err := NewSimulated(SimulatedConfig{Dir: dir, Alloc: types.GenesisAlloc{a: funds, b: funds}})
	if err != nil {
		t.Fatal(err)
	}
	genesis, err := sim.Backend().HeaderByNumber(ctx, big.NewInt(0))
	if err != nil {
		t.Fatal(err)
	}
	sim.Close()

	sim, err = NewSimulated(SimulatedConfig{Dir: dir, Alloc: types.GenesisAlloc{a: funds}})
	if err != nil {
		t.Fatalf("reopening with one of the genesis accounts: %v", err)
	}
	again, err := sim.Backend().HeaderByNumber(ctx, big.NewInt(0))
	if err != nil {
		t.Fatal(err)
	}
	bal, err := sim.Backend().BalanceAt(ctx, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim.Close()
	if again.Hash() != genesis.Hash() || bal.Cmp(SimulatedFunds) != 0 {
		t.Errorf("reopened: genesis %s (was %s), b's balance %v; want the same chain", again.Hash(), genesis.Hash(), bal)
	}
	_, err = NewSimulated(SimulatedConfig{Dir: dir, Alloc: types.GenesisAlloc{a: funds, c: funds}})
	if err == nil || !strings.Contains(err.Error(), c.Hex()) || !strings.Contains(err.Error(), "cannot change") {
		t.Errorf("reopening with another funded account: %v, want an error naming %s", err, c.Hex())
	}
}

// FuzzServeRPC: whatever body reaches the served JSON-RPC, a request with
// a method outside reads and eth_sendRawTransaction is refused whole with
// a JSON-RPC error and leaves the chain as it was; nothing panics.
func FuzzServeRPC(f *testing.F) {
	for _, s := range []string{`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`,
		`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":2,"method":"eth_sendTransaction","params":[{}]}]`,
		`{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x02"]}`,
		`{"jsonrpc":"2.0","id":1,"method":"admin_addPeer","params":["enode://x"]}`, `[]`, `{}`, `null`} {
		f.Add([]byte(s))
	}
	sim, err := NewSimulated(SimulatedConfig{Alloc: types.GenesisAlloc{addr(testKey("fuzz")): {Balance: SimulatedFunds}}})
	if err != nil {
		f.Fatal(err)
	}
	defer sim.Close()
	h, err := sim.ServeRPC()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := sim.Head()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
		methods, _, perr := ParseRPCMethods(body)
		allowed := perr == nil
		for _, m := range methods {
			allowed = allowed && (readOnlyMethods[m] || servedSendMethods[m])
		}
		if allowed {
			return
		}
		var reply struct {
			Error *struct{ Code int } `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply.Error == nil {
			t.Fatalf("%q: answered %d %q, want a JSON-RPC error", body, rec.Code, rec.Body.String())
		}
		if sim.Head() != before {
			t.Fatalf("%q: refused, yet the chain moved from block %d to %d", body, before, sim.Head())
		}
	})
}

// manualClock is a clock the test sets.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestIssueForTheHourThatJustEnded: the embedded chain seals blocks only
// on demand, so its head may be an hour old when the clock has moved on;
// a certificate for the hour that just ended must still be issuable, by
// a local client and over the served JSON-RPC (the gas estimate runs at
// a head moved to the clock's time, not at the stale one).
func TestIssueForTheHourThatJustEnded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h0 := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Hour)
	clock := &manualClock{t: h0.Add(-30 * time.Second)}
	remoteKey := testKey("remote")
	sim, local := servedPair(t, ctx, clock, remoteKey)
	if _, err := local.Deploy(ctx, DeployConfig{Attestors: []common.Address{addr(testKey("attestor0"))}, Threshold: 1}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(must(sim.ServeRPC()))
	defer srv.Close()
	remote, err := Open(ctx, Config{RPCURL: srv.URL, Key: remoteKey, Contracts: local.Contracts(), Logger: testLogger(t), Sleep: fastSleep, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	for i, c := range []*Client{local, remote} {
		// The hour before h0+i has just ended; the head is from before it.
		end := h0.Add(time.Duration(i) * time.Hour)
		clock.Set(end.Add(time.Second + time.Duration(i)*time.Second))
		hour := uint64(end.Unix()/3600) - 1
		b := NewIssueBatch([]Claim{claim(fmt.Sprint("just-ended/", i), c.Address(), hour, 100)})
		sig, err := Sign(testKey("attestor0"), c.RECDomain().Digest(b.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Issue(ctx, b, [][]byte{sig}); err != nil {
			t.Errorf("client %d: issue for the hour that ended a second ago: %v", i, err)
		}
	}
}

// servedPair starts an embedded chain on clock that funds "owner" and
// remoteKey at genesis, and a local client of it as "owner".
func servedPair(t *testing.T, ctx context.Context, clock gridmint.Clock, remoteKey *ecdsa.PrivateKey) (*Simulated, *Client) {
	t.Helper()
	owner := testKey("owner")
	sim, err := NewSimulated(SimulatedConfig{Clock: clock, Alloc: types.GenesisAlloc{
		addr(owner): {Balance: SimulatedFunds}, addr(remoteKey): {Balance: SimulatedFunds},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	local, err := New(ctx, sim.Backend(), Config{Key: owner, Logger: testLogger(t), Sleep: fastSleep, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return sim, local
}
