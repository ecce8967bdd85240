package settle

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/prometheus/client_golang/prometheus"
)

// Epoch is where fake clocks start: a fixed instant, so runs are
// reproducible. (Exported, as FakeClock, Key, Addr and WaitFor are, for
// the external tests of package settle_test.)
var Epoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// FakeClock is a settable gridmint.Clock.
type FakeClock = fakeclock.Clock

// NewFakeClock starts at Epoch.
func NewFakeClock() *FakeClock { return fakeclock.New(Epoch) }

// Key derives test key i deterministically.
func Key(i int) *ecdsa.PrivateKey {
	k, err := ethcrypto.ToECDSA(ethcrypto.Keccak256([]byte(fmt.Sprintf("gridmint settle test key %d", i))))
	if err != nil {
		panic(err)
	}
	return k
}

// Addr is the address of Key(i).
func Addr(i int) common.Address { return ethcrypto.PubkeyToAddress(Key(i).PublicKey) }

var testZone = func() [32]byte {
	z, err := chain.ZoneBytes("DE-LU")
	if err != nil {
		panic(err)
	}
	return z
}()

// pastHour is an hour that ended long ago (2025-01-01 00:00 UTC), so the
// REC contract issues it whatever the machine's clock says.
const pastHour = 1735689600 / 3600

// testClaim is device dev's claim of node n for hour h.
func testClaim(n int, dev string, h uint64, wh uint64) chain.Claim {
	return chain.Claim{Device: ethcrypto.Keccak256Hash([]byte(fmt.Sprintf("%s/opendtu/%s", Addr(n).Hex(), dev))), Node: Addr(n), Owner: Addr(n), Zone: testZone,
		Technology: chain.TechnologySolarPV, Hour: h, Wh: wh, ReadingsRoot: ethcrypto.Keccak256Hash([]byte(fmt.Sprint(n, dev, h)))}
}

// recBatch is a REC batch of one claim of node n.
func recBatch(t testing.TB, n int, h uint64) Batch {
	t.Helper()
	b, err := RECIssue([]chain.Claim{testClaim(n, "inv", h, 1234)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var testDomainREC = chain.Domain{Name: chain.DomainREC, Version: "1", ChainID: big.NewInt(1337), Contract: common.HexToAddress("0x1000")}
var testDomainFLEX = chain.Domain{Name: chain.DomainFLEX, Version: "1", ChainID: big.NewInt(1337), Contract: common.HexToAddress("0x2000")}

// fakeChain records submissions; its answer is settable.
type fakeChain struct {
	self common.Address
	mu   sync.Mutex
	// calls are the batch ids submitted, with their signatures.
	calls    []common.Hash
	sigs     [][][]byte
	answer   func(id common.Hash) (*chain.Receipt, error)
	rewarded map[common.Hash]bool
}

func (c *fakeChain) Address() common.Address  { return c.self }
func (c *fakeChain) RECDomain() chain.Domain  { return testDomainREC }
func (c *fakeChain) FLEXDomain() chain.Domain { return testDomainFLEX }

func (c *fakeChain) submit(id common.Hash, sigs [][]byte) (*chain.Receipt, error) {
	c.mu.Lock()
	c.calls = append(c.calls, id)
	c.sigs = append(c.sigs, sigs)
	answer := c.answer
	n := len(c.calls)
	c.mu.Unlock()
	if answer != nil {
		return answer(id)
	}
	return &chain.Receipt{TxHash: common.BigToHash(big.NewInt(int64(n))), Block: uint64(100 + n), GasUsed: 90_000}, nil
}

func (c *fakeChain) Issue(_ context.Context, b chain.IssueBatch, sigs [][]byte) (*chain.Receipt, error) {
	return c.submit(b.BatchID, sigs)
}

func (c *fakeChain) Reward(_ context.Context, b chain.RewardBatch, sigs [][]byte) (*chain.Receipt, error) {
	return c.submit(b.BatchID, sigs)
}

func (c *fakeChain) Slash(_ context.Context, s chain.Slash, sigs [][]byte) (*chain.Receipt, error) {
	return c.submit(s.RecordID, sigs)
}

// Rewarded answers from rewarded.
func (c *fakeChain) Rewarded(_ context.Context, id common.Hash) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rewarded[id], nil
}

func (c *fakeChain) Calls() []common.Hash {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// fakeGossip records what the engine publishes; fail makes Publish fail.
type fakeGossip struct {
	mu   sync.Mutex
	sent []p2p.Attestation
	fail error
}

func (g *fakeGossip) Publish(_ context.Context, body p2p.Body) (p2p.Message, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail != nil {
		return p2p.Message{}, g.fail
	}
	a := body.(p2p.Attestation)
	g.sent = append(g.sent, a)
	return p2p.Message{ID: common.BigToHash(big.NewInt(int64(len(g.sent)))), Kind: p2p.KindAttestation, Body: a}, nil
}

func (g *fakeGossip) Sent() []p2p.Attestation {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sent)
}

// unit is one engine over fakes.
type unit struct {
	e      *Engine
	chain  *fakeChain
	gossip *fakeGossip
	store  *MemStore
	index  *chain.MemIndex
	clock  *FakeClock
	wall   *FakeClock
	reg    *Attestors
	i      int
}

// threeOfK is the registry of nodes 1, 2 and 3 with threshold k.
func registryOf(k uint64, nodes ...int) *Attestors {
	set := chain.AttestorSet{Threshold: k}
	for _, n := range nodes {
		set.Attestors = append(set.Attestors, Addr(n))
	}
	return StaticAttestors(set)
}

// newUnit starts node i's engine over fakes; store may be shared to
// restart it.
func newUnit(t testing.TB, i int, reg *Attestors, store *MemStore) *unit {
	t.Helper()
	if store == nil {
		store = NewMemStore()
	}
	u := &unit{chain: &fakeChain{self: Addr(i)}, gossip: &fakeGossip{}, store: store, index: chain.NewMemIndex(),
		clock: NewFakeClock(), wall: NewFakeClock(), reg: reg, i: i}
	e, err := New(Config{Key: Key(i), Chain: u.chain, Attestors: reg, Index: u.index, Gossip: u.gossip, Store: store,
		Clock: u.clock, Wall: u.wall, Timing: Timing{Fallback: 5 * time.Minute, MinFallbackWall: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	u.e = e
	return u
}

// attestation is the gossip message of node n's attestation of digest.
func attestation(t testing.TB, n int, kind Kind, digest common.Hash) p2p.Message {
	t.Helper()
	sig, err := chain.Sign(Key(n), digest)
	if err != nil {
		t.Fatal(err)
	}
	return p2p.Message{Kind: p2p.KindAttestation, Author: Addr(n),
		Body: p2p.Attestation{Subject: digest, SubjectKind: kind.subjectKind(), Verdict: p2p.VerdictAccept, ChainSignature: sig}}
}

// status is the engine's view of b.
func (u *unit) status(t testing.TB, b Batch) Status {
	t.Helper()
	s, ok := u.e.Lookup(b.ID())
	if !ok {
		t.Fatalf("batch %s unknown to node %d", b.ID(), u.i)
	}
	return s
}

// step runs one Step and waits for the submissions it started.
func (u *unit) step(t testing.TB) {
	t.Helper()
	u.e.Step(t.Context())
	u.e.Wait()
}

// Patience bounds every wait: generous for a loaded 2-core machine
// under the race detector; a wait ends as soon as its condition holds.
const Patience = 2 * time.Minute

// WaitFor polls cond until it holds, failing after Patience.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", Patience, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metricValue is the value of e's metric name with the given label
// pairs, as /metrics would show it; it fails on a missing metric.
func metricValue(e *Engine, name string, labels ...string) float64 {
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.Collectors()...)
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	panic(fmt.Sprintf("metric %s%v not found", name, labels))
}
