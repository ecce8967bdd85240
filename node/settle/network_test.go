package settle_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/gridmint/gridmint/node/store"
)

// In-process networks: nodes with their own store (badger), libp2p host,
// chain client, chain indexer and engine, on one embedded chain whose
// attestor registry holds every node with threshold k. The clocks are
// fake and moved by the tests; the engines and indexers poll every few
// milliseconds of wall time, and the tests wait for conditions.

// The fallback timing of every test network: 5 min of the demo clock,
// at least 10 s of the wall.
var timing = settle.Timing{Fallback: 5 * time.Minute, MinFallbackWall: 10 * time.Second}

type network struct {
	t     *testing.T
	sim   *chain.Simulated
	addrs chain.Addresses
	demo  *settle.FakeClock // the demo clock: p2p message times, batch ages, fallbacks
	wall  *settle.FakeClock // the wall clock as the engines see it
	nodes []*netNode
}

type netNode struct {
	i      int
	dir    string // badger directory; "" in memory
	st     *store.Store
	client *chain.Client
	p2p    *p2p.Node
	eng    *settle.Engine
	cancel context.CancelFunc
	done   sync.WaitGroup
}

func logger(i int) *slog.Logger {
	if os.Getenv("GRIDMINT_SETTLE_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
	}
	return slog.New(slog.DiscardHandler)
}

func fastSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(min(d, 10*time.Millisecond))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// newNetwork deploys the contracts with n attestors and threshold k and
// starts n nodes (on disk where onDisk says so), all linked.
func newNetwork(t *testing.T, n, k int, onDisk ...int) *network {
	t.Helper()
	deployer := settle.Key(100)
	alloc := types.GenesisAlloc{ethcrypto.PubkeyToAddress(deployer.PublicKey): {Balance: chain.SimulatedFunds}}
	var attestors []common.Address
	for i := range n {
		alloc[settle.Addr(i)] = types.Account{Balance: chain.SimulatedFunds}
		attestors = append(attestors, settle.Addr(i))
	}
	sim, err := chain.NewSimulated(chain.SimulatedConfig{Alloc: alloc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	addrs, err := chain.Deploy(t.Context(), sim.Backend(), deployer, chain.DeployConfig{Attestors: attestors, Threshold: uint64(k)})
	if err != nil {
		t.Fatal(err)
	}
	nw := &network{t: t, sim: sim, addrs: addrs, demo: settle.NewFakeClock(), wall: settle.NewFakeClock()}
	for i := range n {
		nd := &netNode{i: i}
		if slices.Contains(onDisk, i) {
			nd.dir = t.TempDir()
		}
		nw.nodes = append(nw.nodes, nd)
		nw.start(nd)
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			nw.link(nw.nodes[i], nw.nodes[j])
		}
	}
	return nw
}

// start runs node nd: store, chain client, indexer, registry, gossip,
// engine, as package node wires them.
func (nw *network) start(nd *netNode) {
	t := nw.t
	t.Helper()
	var err error
	if nd.dir == "" {
		nd.st, err = store.Open("", store.Options{InMemory: true})
	} else {
		nd.st, err = store.Open(nd.dir, store.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd.cancel = cancel
	key := settle.Key(nd.i)
	if nd.client, err = chain.New(ctx, nw.sim.Backend(), chain.Config{Key: key, Contracts: nw.addrs, Sleep: fastSleep, Logger: logger(nd.i)}); err != nil {
		t.Fatal(err)
	}
	indexer := chain.NewIndexer(nw.sim.Backend(), nd.st, chain.IndexerConfig{Contracts: nw.addrs, Poll: 5 * time.Millisecond})
	attestors := settle.NewAttestors(nd.client)
	if err := attestors.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if nd.p2p, err = p2p.New(ctx, p2p.Config{
		Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Domain: p2p.NewDomain(nd.client.ChainID(), common.Address{}),
		Store: nd.st, Clock: nw.demo, Attestors: attestors, Log: logger(nd.i),
	}); err != nil {
		t.Fatal(err)
	}
	if nd.eng, err = settle.New(settle.Config{
		Key: key, Chain: nd.client, Attestors: attestors, Index: nd.st, Gossip: nd.p2p, Store: nd.st,
		Clock: nw.demo, Wall: nw.wall, Timing: timing, Tick: 5 * time.Millisecond, Logger: logger(nd.i),
	}); err != nil {
		t.Fatal(err)
	}
	nd.p2p.Handle(nd.eng.HandleMessage)
	nd.done.Add(2)
	go func() { defer nd.done.Done(); indexer.Run(ctx) }()
	go func() { defer nd.done.Done(); nd.eng.Run(ctx) }()
	t.Cleanup(nd.stop)
}

// stop stops the node as a kill would, from the others' point of view:
// it stops answering, gossiping and submitting. (The process-level
// SIGKILL test is the end-to-end harness's.)
func (nd *netNode) stop() {
	if nd.cancel == nil {
		return
	}
	nd.cancel()
	nd.done.Wait()
	nd.p2p.Close()
	nd.st.Close() // not the client: it would close the shared chain's connection
	nd.cancel = nil
}

// link connects a and b and waits until each hears the other on the
// attestations topic.
func (nw *network) link(a, b *netNode) {
	t := nw.t
	t.Helper()
	// A dial can outlast libp2p's handshake timeout on a loaded machine:
	// try again until the bound.
	settle.WaitFor(t, fmt.Sprintf("node %d dialling node %d", a.i, b.i), func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		err := a.p2p.Connect(ctx, b.p2p.Addrs()[0])
		if err != nil {
			t.Logf("dial %d -> %d: %v; trying again", a.i, b.i, err)
		}
		return err == nil
	})
	hears := func(x, y *netNode) bool {
		for _, p := range x.p2p.Peers() {
			if p.ID == y.p2p.PeerID() && slices.Contains(p.Topics, p2p.TopicAttestations) {
				return true
			}
		}
		return false
	}
	settle.WaitFor(t, fmt.Sprintf("nodes %d and %d linked", a.i, b.i), func() bool { return hears(a, b) && hears(b, a) })
}

// pastHour ended long ago (2025-01-01 00:00 UTC): the REC contract
// issues it whatever the machine's clock says.
const pastHour = 1735689600 / 3600

// claimBatch is the REC batch of node n's one claim for hour h.
func claimBatch(t testing.TB, n int, h uint64) settle.Batch {
	t.Helper()
	zone, err := chain.ZoneBytes("DE-LU")
	if err != nil {
		t.Fatal(err)
	}
	c := chain.Claim{Device: ethcrypto.Keccak256Hash([]byte(fmt.Sprintf("%s/opendtu/114182", settle.Addr(n).Hex()))), Node: settle.Addr(n), Owner: settle.Addr(n), Zone: zone,
		Technology: chain.TechnologySolarPV, Hour: h, Wh: 2150, ReadingsRoot: ethcrypto.Keccak256Hash([]byte(fmt.Sprint("readings", n, h)))}
	b, err := settle.RECIssue([]chain.Claim{c})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// electing is a batch of node n's claim whose submission order starts
// with the given nodes (searched over hours: the order follows the
// batch id).
func (nw *network) electing(n int, first ...int) settle.Batch {
	nw.t.Helper()
	var attestors []common.Address
	for i := range nw.nodes {
		attestors = append(attestors, settle.Addr(i))
	}
	for h := uint64(pastHour); h < pastHour+1000; h++ {
		b := claimBatch(nw.t, n, h)
		order := settle.Order(b.ID(), attestors)
		ok := true
		for i, f := range first {
			ok = ok && order[i] == settle.Addr(f)
		}
		if ok {
			return b
		}
	}
	nw.t.Fatalf("no batch of node %d elects %v first", n, first)
	return settle.Batch{}
}

func (nd *netNode) status(t testing.TB, b settle.Batch) settle.Status {
	t.Helper()
	s, ok := nd.eng.Lookup(b.ID())
	if !ok {
		t.Fatalf("node %d does not know batch %s", nd.i, b.ID())
	}
	return s
}

// settledAt waits until every node in nodes shows b settled.
func (nw *network) settledAt(b settle.Batch, nodes ...*netNode) {
	nw.t.Helper()
	settle.WaitFor(nw.t, "the batch settled at every node", func() bool {
		for _, nd := range nodes {
			if s, ok := nd.eng.Lookup(b.ID()); !ok || s.State != settle.StateSettled || s.Tx == nil {
				return false
			}
		}
		return true
	})
}

// recTransactions counts the transactions sent to the REC contract, and
// those of them that reverted.
func (nw *network) recTransactions() (sent, reverted int) {
	nw.t.Helper()
	be := nw.sim.Backend()
	blocks := be.(interface {
		BlockByNumber(context.Context, *big.Int) (*types.Block, error)
	})
	head, err := be.BlockNumber(nw.t.Context())
	if err != nil {
		nw.t.Fatal(err)
	}
	for n := nw.addrs.DeployBlock; n <= head; n++ {
		blk, err := blocks.BlockByNumber(nw.t.Context(), new(big.Int).SetUint64(n))
		if err != nil {
			nw.t.Fatal(err)
		}
		for _, tx := range blk.Transactions() {
			if tx.To() == nil || *tx.To() != nw.addrs.REC {
				continue
			}
			sent++
			r, err := be.TransactionReceipt(nw.t.Context(), tx.Hash())
			if err != nil {
				nw.t.Fatal(err)
			}
			if r.Status != types.ReceiptStatusSuccessful {
				reverted++
			}
		}
	}
	return sent, reverted
}

// agree checks that the nodes show b alike: settled in one transaction
// by submitter, with the same attestations.
func (nw *network) agree(b settle.Batch, submitter common.Address, nodes ...*netNode) {
	nw.t.Helper()
	first := nodes[0].status(nw.t, b)
	for _, nd := range nodes {
		s := nd.status(nw.t, b)
		if s.State != settle.StateSettled || s.Tx == nil || *s.Tx != *first.Tx || s.Submitter == nil || *s.Submitter != submitter ||
			s.Attestations != first.Attestations || !slices.Equal(s.Order, first.Order) {
			nw.t.Errorf("node %d shows %+v; node %d shows %+v; want both settled in one tx by %s", nd.i, s, nodes[0].i, first, submitter)
		}
	}
}

// (a) Three nodes, one chain, k = 2: a batch attested by two of them is
// submitted by exactly one node, the elected one, in one transaction;
// the others see it in the chain index and stop.
func TestNetworkSubmitsOnce(t *testing.T) {
	nw := newNetwork(t, 3, 2)
	b := claimBatch(t, 0, pastHour) // node 0's claim: nodes 1 and 2 attest
	if _, err := nw.nodes[0].eng.Propose(b); err != nil {
		t.Fatal(err)
	}
	for _, nd := range nw.nodes[1:] {
		if err := nd.eng.Attest(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	nw.settledAt(b, nw.nodes...)
	order := nw.nodes[0].status(t, b).Order
	nw.agree(b, order[0], nw.nodes...)
	if sent, reverted := nw.recTransactions(); sent != 1 || reverted != 0 {
		t.Errorf("%d transactions to the REC contract (%d reverted), want exactly one", sent, reverted)
	}
	evs, err := nw.nodes[1].st.Events(t.Context(), chain.EventQuery{Kinds: []chain.EventKind{chain.EventIssued}})
	if err != nil || len(evs) != 1 || evs[0].Ref != b.ID() || evs[0].From != order[0] {
		t.Errorf("Issued events %+v (%v); want one of the batch, by %s", evs, err, order[0])
	}
	for _, nd := range nw.nodes {
		s := nd.status(t, b)
		if s.Attestations != 2 {
			t.Errorf("node %d holds %d attestations, want 2", nd.i, s.Attestations)
		}
		submitted := metric(t, nd.eng, "gridmint_settle_batches_submitted_total")
		byOthers := metric(t, nd.eng, "gridmint_settle_batches_settled_by_others_total")
		if mine := settle.Addr(nd.i) == order[0]; mine && (submitted != 1 || byOthers != 0) || !mine && (submitted != 0 || byOthers != 1) {
			t.Errorf("node %d (elected: %v): submitted %v, settled by others %v", nd.i, mine, submitted, byOthers)
		}
		if f := metric(t, nd.eng, "gridmint_settle_fallback_submissions_total"); f != 0 {
			t.Errorf("node %d: %v fallback submissions, want none", nd.i, f)
		}
	}
}

// (b) The elected submitter is down before it can send: after one
// fallback the next in order submits, once; the one after it, when its
// turn comes, sees the transaction and stops.
func TestNetworkFallbackWhenTheElectedIsDown(t *testing.T) {
	nw := newNetwork(t, 3, 2)
	b := nw.electing(0, 0) // node 0's claim, node 0 elected
	nw.nodes[0].stop()
	for _, nd := range nw.nodes[1:] {
		if err := nd.eng.Attest(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	live := nw.nodes[1:]
	settle.WaitFor(t, "the batch ready at the live nodes", func() bool {
		for _, nd := range live {
			if s, ok := nd.eng.Lookup(b.ID()); !ok || s.State != settle.StateReady {
				return false
			}
		}
		return true
	})
	order := live[0].status(t, b).Order
	rank := func(nd *netNode) int { return slices.Index(order, settle.Addr(nd.i)) }
	// No one's turn yet: a step changes nothing.
	for _, nd := range live {
		nd.eng.Step(t.Context())
		nd.eng.Wait()
	}
	if sent, _ := nw.recTransactions(); sent != 0 {
		t.Fatalf("%d transactions before the first fallback's turn", sent)
	}

	nw.demo.Add(timing.Fallback)
	nw.wall.Add(timing.MinFallbackWall)
	nw.settledAt(b, live...)
	nw.agree(b, order[1], live...)

	// The second fallback's turn: it has seen the transaction.
	nw.demo.Add(timing.Fallback)
	nw.wall.Add(timing.MinFallbackWall)
	for _, nd := range live {
		nd.eng.Step(t.Context())
		nd.eng.Wait()
	}
	if sent, reverted := nw.recTransactions(); sent != 1 || reverted != 0 {
		t.Errorf("%d transactions to the REC contract (%d reverted), want exactly one", sent, reverted)
	}
	for _, nd := range live {
		f := metric(t, nd.eng, "gridmint_settle_fallback_submissions_total")
		if want := map[int]float64{1: 1, 2: 0}[rank(nd)]; f != want {
			t.Errorf("node %d (rank %d): %v fallback submissions, want %v", nd.i, rank(nd), f, want)
		}
	}
}

// (c) A node that was down for two demo hours rejoins: it catches up
// the attestations by gossip catch-up and the settlement by its chain
// index, agrees with the others, and sends nothing.
func TestNetworkRejoinAgrees(t *testing.T) {
	nw := newNetwork(t, 3, 2, 2)
	b := nw.electing(2, 2) // node 2's claim, node 2 elected
	down := nw.nodes[2]
	if _, err := down.eng.Propose(b); err != nil {
		t.Fatal(err)
	}
	down.stop()
	for _, nd := range nw.nodes[:2] {
		if err := nd.eng.Attest(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	settle.WaitFor(t, "the batch ready at the live nodes", func() bool {
		for _, nd := range nw.nodes[:2] {
			if s, ok := nd.eng.Lookup(b.ID()); !ok || s.State != settle.StateReady {
				return false
			}
		}
		return true
	})
	nw.demo.Add(timing.Fallback)
	nw.wall.Add(timing.MinFallbackWall)
	nw.settledAt(b, nw.nodes[:2]...)
	submitter := *nw.nodes[0].status(t, b).Submitter

	nw.demo.Add(2 * time.Hour)
	nw.wall.Add(2 * time.Minute)
	nw.start(down)
	nw.link(down, nw.nodes[0])
	nw.link(down, nw.nodes[1])
	nw.settledAt(b, down)
	settle.WaitFor(t, "the attestations caught up", func() bool { return down.status(t, b).Attestations == 2 })
	nw.agree(b, submitter, nw.nodes...)
	if sent, reverted := nw.recTransactions(); sent != 1 || reverted != 0 {
		t.Errorf("%d transactions to the REC contract (%d reverted), want exactly one", sent, reverted)
	}
	if s := metric(t, down.eng, "gridmint_settle_batches_submitted_total"); s != 0 {
		t.Errorf("the rejoined node submitted %v batches", s)
	}
}

// metric is the REC-kind value of one of e's counters.
func metric(t testing.TB, e *settle.Engine, name string) float64 {
	t.Helper()
	v, ok := settle.MetricValue(e, name, "kind", string(settle.KindRECIssue))
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	return v
}
