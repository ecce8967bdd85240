package node

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// Partition and rejoin (issue 12, part 6). Three nodes in one process
// on one demo clock and one chain: A hosts the embedded chain and serves
// its JSON-RPC; B uses it directly, C through cuttableLink, a TCP relay the
// test can cut. Cutting C isolates its libp2p node (p2p.Node.Isolate:
// every connection closed, every new one refused by its connection
// gater, in and out) and cuts its chain link, as a firewall around C
// would. A and B carry on (offers, a certificate batch attested by both
// and settled on the chain); C publishes an offer of its own. On heal
// (Rejoin, link restored) C must converge: the same accepted gossip
// messages on all three nodes and the same chain view in C's index.

// partitionNet is the three nodes of the partition tests.
type partitionNet struct {
	clock       *gridmint.ScaledClock
	a, b, c     *Node
	ids         [3]*Identity
	attestors   []common.Address // A, B, C
	link        *cuttableLink    // C's way to A's chain JSON-RPC
	owner       common.Address   // the certificates' owner: a node outside the registry, so no batch excludes A or B
	batches     int              // batches settled so far, to make each new one unique
	offersSoFar int
}

func startPartitionNet(tb testing.TB) *partitionNet {
	tb.Helper()
	clock, err := gridmint.NewScaledClock(time.Now().Add(30*24*time.Hour), time.Now(), 60)
	if err != nil {
		tb.Fatal(err)
	}
	pn := &partitionNet{clock: clock, owner: common.HexToAddress("0x00000000000000000000000000000000000000aa")}
	var dirs [3]string
	for i := range dirs {
		dirs[i] = tb.TempDir()
		if pn.ids[i], err = DemoIdentity(dirs[i]); err != nil {
			tb.Fatal(err)
		}
		pn.attestors = append(pn.attestors, pn.ids[i].Account)
	}
	start := func(i int, bootstrap []string, chainYAML string) *Node {
		tb.Helper()
		quoted := make([]string, len(bootstrap))
		for j, b := range bootstrap {
			quoted[j] = fmt.Sprintf("%q", b)
		}
		boot := "[" + strings.Join(quoted, ", ") + "]"
		cfg, err := ParseConfig(fmt.Appendf(nil, `
role: utility
data_dir: %s
http_addr: 127.0.0.1:0
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off", bootstrap: %s}
identity: {passphrase_file: %s}
chain: %s
`, dirs[i], boot, filepath.Join(dirs[i], demoPassphraseFile), chainYAML))
		if err != nil {
			tb.Fatal(err)
		}
		n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Clock: clock})
		if err != nil {
			tb.Fatalf("node %c: %v", 'A'+i, err)
		}
		tb.Cleanup(func() { n.Close() })
		return n
	}
	// Registry {A, B, C}, k = 2: A and B settle without C.
	pn.a = start(0, nil, fmt.Sprintf(`{serve_rpc: "127.0.0.1:0", embedded_fund: [%q, %q], attestors: [%q, %q, %q], threshold: 2}`,
		pn.ids[1].Address, pn.ids[2].Address, pn.ids[0].Address, pn.ids[1].Address, pn.ids[2].Address))
	ca := pn.a.Chain().Contracts()
	shared := func(rpc string) string {
		return fmt.Sprintf(`{rpc: %q, chain_id: 1337, confirmations: 0, contracts: {registry: %q, rec: %q, flex: %q, deploy_block: %d}}`,
			rpc, ca.Registry.Hex(), ca.REC.Hex(), ca.FLEX.Hex(), ca.DeployBlock)
	}
	pn.b = start(1, pn.a.P2PAddrs()[:1], shared(pn.a.ChainRPCURL()))
	pn.link = newCuttableLink(tb, pn.a.chainRPCAddr)
	pn.c = start(2, []string{pn.a.P2PAddrs()[0], pn.b.P2PAddrs()[0]}, shared("http://"+pn.link.addr()))
	awaitTB(tb, "A, B and C connected on the offers and attestations topics", pn.meshed)
	return pn
}

// onTopicsOf reports whether x has y as a peer on the offers and attestations
// topics.
func onTopicsOf(x, y *Node) bool {
	for _, p := range x.P2P().Peers() {
		if p.ID == y.P2P().PeerID() {
			return slices.Contains(p.Topics, p2p.TopicOffers) && slices.Contains(p.Topics, p2p.TopicAttestations)
		}
	}
	return false
}

func (pn *partitionNet) meshed() bool {
	return onTopicsOf(pn.a, pn.b) && onTopicsOf(pn.b, pn.a) && onTopicsOf(pn.a, pn.c) && onTopicsOf(pn.c, pn.a) && onTopicsOf(pn.b, pn.c) && onTopicsOf(pn.c, pn.b)
}

// cut isolates C from gossip and from the chain, and waits until every
// side has seen the connections go.
func (pn *partitionNet) cut(tb testing.TB) {
	tb.Helper()
	pn.c.P2P().Isolate()
	pn.link.cut()
	gone := func(x, y *Node) bool {
		return !slices.ContainsFunc(x.P2P().Peers(), func(p p2p.PeerInfo) bool { return p.ID == y.P2P().PeerID() })
	}
	awaitTB(tb, "C cut off from A and B", func() bool {
		return len(pn.c.P2P().Peers()) == 0 && gone(pn.a, pn.c) && gone(pn.b, pn.c)
	})
}

// heal ends the cut; C's bootstrap loop reconnects it.
func (pn *partitionNet) heal() {
	pn.link.heal()
	pn.c.P2P().Rejoin()
}

// publishOffer gossips a fresh offer of one of n's devices through the
// API's path (nodeNetwork.PublishOffer).
func (pn *partitionNet) publishOffer(tb testing.TB, n *Node) common.Hash {
	tb.Helper()
	pn.offersSoFar++
	now := pn.clock.Now()
	start := now.Truncate(time.Hour).Add(3 * time.Hour)
	o := gridmint.Offer{Device: gridmint.DeviceID(fmt.Sprintf("%s/goe/%d", n.Identity().Address, pn.offersSoFar)), Zone: "DE-LU",
		WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 3000, Direction: gridmint.DirectionDown,
		FloorPrice: 120, Baseline: gridmint.BaselineSchedule, Expiry: start.Add(-30 * time.Minute)}
	m, err := nodeNetwork{p2p: n.P2P(), store: n.Store(), clock: n.Clock(), identity: n.Identity()}.PublishOffer(context.Background(), o)
	if err != nil {
		tb.Fatalf("publish an offer: %v", err)
	}
	return common.HexToHash(m.ID)
}

// settleBatch has A and B attest a new certificate batch of the owner's
// (a node outside the registry, so that neither A nor B is excluded and
// k = 2 is reachable without C) and waits until both see it settled. The
// claim is chosen so that the election does not put C first: C, cut off,
// would hold no quorum and A or B would wait out the fallback, which
// is what the submitter tests are for, not this one.
func (pn *partitionNet) settleBatch(tb testing.TB) settle.Batch {
	tb.Helper()
	zone, err := chain.ZoneBytes("DE-LU")
	if err != nil {
		tb.Fatal(err)
	}
	hour := uint64(pn.clock.Now().Unix()/3600) - 1
	var batch settle.Batch
	for nonce := 0; ; nonce++ {
		claim := chain.Claim{Device: ethcrypto.Keccak256Hash(fmt.Appendf(nil, "device %d of node 0xaa", pn.batches)), Node: pn.owner, Owner: pn.owner, Zone: zone,
			Technology: chain.TechnologySolarPV, Hour: hour, Wh: 650, ReadingsRoot: ethcrypto.Keccak256Hash(fmt.Appendf(nil, "readings %d", nonce))}
		if batch, err = settle.RECIssue([]chain.Claim{claim}); err != nil {
			tb.Fatal(err)
		}
		if settle.Order(batch.ID(), pn.attestors)[0] != pn.ids[2].Account {
			break
		}
	}
	pn.batches++
	for _, n := range []*Node{pn.a, pn.b} {
		if err := n.Settle().Attest(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
	}
	settled := func(n *Node) bool {
		s, ok := n.Settle().Lookup(batch.ID())
		return ok && s.State == settle.StateSettled && s.Tx != nil
	}
	awaitTB(tb, "the batch settled at A and B", func() bool { return settled(pn.a) && settled(pn.b) })
	return batch
}

// acceptedIDs are the ids of every gossip message n has accepted (its
// store), over every topic.
func acceptedIDs(tb testing.TB, n *Node) map[common.Hash]bool {
	tb.Helper()
	ids := map[common.Hash]bool{}
	from := n.Clock().Now().Add(-p2p.DefaultRetention)
	for _, topic := range p2p.Topics() {
		var after [32]byte
		for {
			page, err := n.Store().Messages(topic, from, time.Time{}, after, 1000)
			if err != nil {
				tb.Fatal(err)
			}
			for _, m := range page {
				ids[m.ID] = true
			}
			if len(page) < 1000 {
				break
			}
			from, after = page[len(page)-1].Created, page[len(page)-1].ID
		}
	}
	return ids
}

// indexedIssued is the batch ids of the Issued events in n's chain index.
func indexedIssued(tb testing.TB, n *Node) []common.Hash {
	tb.Helper()
	evs, err := n.Store().Events(context.Background(), chain.EventQuery{Kinds: []chain.EventKind{chain.EventIssued}})
	if err != nil {
		tb.Fatal(err)
	}
	var out []common.Hash
	for _, e := range evs {
		out = append(out, e.Ref)
	}
	return out
}

// indexedREC is account's certificate balances in n's chain index.
func indexedREC(tb testing.TB, n *Node, account common.Address) string {
	tb.Helper()
	b, err := chain.Index{Store: n.Store()}.Balances(context.Background(), account)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprint(b.REC)
}

// converged reports whether C has what A and B have: the same accepted
// gossip messages on all three, including want, and the same Issued
// events and owner's certificates in C's chain index as in A's, including
// the batch's.
func (pn *partitionNet) converged(tb testing.TB, want []common.Hash, batch common.Hash) bool {
	ia, ib, ic := acceptedIDs(tb, pn.a), acceptedIDs(tb, pn.b), acceptedIDs(tb, pn.c)
	for _, id := range want {
		if !ia[id] {
			return false
		}
	}
	if !maps.Equal(ia, ib) || !maps.Equal(ia, ic) {
		return false
	}
	ea, ec := indexedIssued(tb, pn.a), indexedIssued(tb, pn.c)
	return slices.Contains(ea, batch) && slices.Equal(ea, ec) && indexedREC(tb, pn.a, pn.owner) == indexedREC(tb, pn.c, pn.owner)
}

// cycle runs one partition: cut C, A and B publish offers and settle a
// batch, C publishes an offer alone, heal. It returns what C must have
// after the heal: the offers published during the cut (A's, B's and
// C's; the batch's attestations are checked as part of A's messages) and
// the batch; healed is when the heal began.
func (pn *partitionNet) cycle(tb testing.TB) (want []common.Hash, batch common.Hash, healed time.Time) {
	tb.Helper()
	pn.cut(tb)
	for _, n := range []*Node{pn.a, pn.b, pn.a} {
		want = append(want, pn.publishOffer(tb, n))
	}
	inside := pn.publishOffer(tb, pn.c)
	want = append(want, inside)
	b := pn.settleBatch(tb)
	batch = b.ID()
	// The partition holds: C has none of it, A and B none of C's.
	ic := acceptedIDs(tb, pn.c)
	for _, id := range want[:3] {
		if ic[id] {
			tb.Fatalf("C got message %s while cut off: the partition leaks", id)
		}
	}
	if acceptedIDs(tb, pn.a)[inside] || acceptedIDs(tb, pn.b)[inside] {
		tb.Fatal("C's offer crossed the partition")
	}
	if slices.Contains(indexedIssued(tb, pn.c), batch) {
		tb.Fatal("C's chain index shows the batch settled while C was cut off from the chain")
	}
	if _, err := pn.c.Chain().ETHBalance(context.Background()); err == nil {
		tb.Fatal("C reads the chain while cut off from it")
	}
	healed = time.Now()
	pn.heal()
	return want, batch, healed
}

// awaitTB is waitFor for tests and benchmarks: it polls cond until it
// holds, failing after patience. It waits on events, not on time.
func awaitTB(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", patience, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitConverged waits until C has converged (converged), and on a
// timeout says what differs.
func (pn *partitionNet) waitConverged(tb testing.TB, want []common.Hash, batch common.Hash) {
	tb.Helper()
	deadline := time.Now().Add(patience)
	for !pn.converged(tb, want, batch) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for C to converge: messages A %d, B %d, C %d; issued A %v, C %v; owner's certificates A %s, C %s; C's peers %d, isolated %v",
				patience, len(acceptedIDs(tb, pn.a)), len(acceptedIDs(tb, pn.b)), len(acceptedIDs(tb, pn.c)), indexedIssued(tb, pn.a), indexedIssued(tb, pn.c),
				indexedREC(tb, pn.a, pn.owner), indexedREC(tb, pn.c, pn.owner), len(pn.c.P2P().Peers()), pn.c.P2P().Isolated())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cuttableLink relays TCP connections to a chain JSON-RPC address, and can
// be cut (open connections closed, new ones closed on accept) and healed:
// the chain side of a partition, as a firewall rule would make it.
type cuttableLink struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	down   bool
	closed bool
	conns  map[net.Conn]bool
}

func newCuttableLink(tb testing.TB, target string) *cuttableLink {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	l := &cuttableLink{ln: ln, target: target, conns: map[net.Conn]bool{}}
	l.wg.Add(1)
	go l.serve()
	tb.Cleanup(l.close)
	return l
}

func (l *cuttableLink) addr() string { return l.ln.Addr().String() }

func (l *cuttableLink) serve() {
	defer l.wg.Done()
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		out, err := net.Dial("tcp", l.target)
		if err != nil {
			in.Close()
			continue
		}
		if !l.track(in, out) {
			in.Close()
			out.Close()
			continue
		}
		l.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer l.wg.Done()
			_, _ = io.Copy(dst, src)
			// Either direction ending ends the connection.
			in.Close()
			out.Close()
			l.untrack(in, out)
		}
		go pipe(out, in)
		go pipe(in, out)
	}
}

// track registers a relayed connection pair, unless the link is down.
func (l *cuttableLink) track(conns ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down || l.closed {
		return false
	}
	for _, c := range conns {
		l.conns[c] = true
	}
	return true
}

func (l *cuttableLink) untrack(conns ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range conns {
		delete(l.conns, c)
	}
}

// cut closes every relayed connection and refuses new ones until heal.
func (l *cuttableLink) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for c := range l.conns {
		c.Close()
	}
}

func (l *cuttableLink) heal() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = false
}

func (l *cuttableLink) close() {
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.ln.Close()
	l.wg.Wait()
}

// TestPartitionedNodeRejoins: C is cut off from gossip and the chain
// while A and B gossip offers and settle a certificate batch on the
// shared chain (attested by both, k = 2 of {A, B, C}) and C publishes
// an offer alone. Nothing crosses the cut. After the heal C reconnects
// by itself (its bootstrap loop) and converges: all three nodes hold the
// same accepted gossip messages (their stores and GET
// /api/v1/p2p/messages), what C took is exactly what it missed, A got
// C's offer, and C's chain index shows the batch's Issued event and the
// owner's certificates as A's does (GET /api/v1/chain/balances).
func TestPartitionedNodeRejoins(t *testing.T) {
	parallel(t)
	pn := startPartitionNet(t)
	before := pn.publishOffer(t, pn.a)
	awaitTB(t, "an offer before the partition at C", func() bool { return acceptedIDs(t, pn.c)[before] })
	had := acceptedIDs(t, pn.c)

	want, batch, _ := pn.cycle(t)
	pn.waitConverged(t, want, batch)

	// What C took after the heal is what it missed: A's and B's offers
	// and the batch's attestations by A and B, nothing else. (Mostly by
	// catch-up; gossipsub's IHAVE may offer the newest again, so the path
	// is not asserted.)
	extra := map[common.Hash]bool{}
	for id := range acceptedIDs(t, pn.c) {
		if !had[id] && !slices.Contains(want, id) {
			extra[id] = true
		}
	}
	var attestors []common.Address
	stored, err := pn.c.Store().Messages(p2p.TopicAttestations, pn.clock.Now().Add(-p2p.DefaultRetention), time.Time{}, [32]byte{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, sm := range stored {
		if !extra[sm.ID] {
			continue
		}
		m, err := pn.c.P2P().Decode(sm.Raw)
		if err != nil {
			t.Fatal(err)
		}
		attestors = append(attestors, m.Author)
	}
	slices.SortFunc(attestors, func(x, y common.Address) int { return x.Cmp(y) })
	wantAttestors := []common.Address{pn.ids[0].Account, pn.ids[1].Account}
	slices.SortFunc(wantAttestors, func(x, y common.Address) int { return x.Cmp(y) })
	if len(extra) != 2 || !slices.Equal(attestors, wantAttestors) {
		t.Errorf("C took %d messages besides the offers, attestations by %v; want the 2 attestations of A and B %v", len(extra), attestors, wantAttestors)
	}

	// The same through the API.
	type page struct{ Messages []api.NetworkMessage }
	for _, topic := range []string{"offers", "attestations"} {
		var la, lc page
		getJSON(t, "http://"+pn.a.HTTPAddr()+"/api/v1/p2p/messages?topic="+topic+"&limit=1000", &la)
		getJSON(t, "http://"+pn.c.HTTPAddr()+"/api/v1/p2p/messages?topic="+topic+"&limit=1000", &lc)
		idsOf := func(p page) []string {
			var ids []string
			for _, m := range p.Messages {
				ids = append(ids, m.ID)
			}
			return ids
		}
		if a, c := idsOf(la), idsOf(lc); len(a) == 0 || !slices.Equal(a, c) {
			t.Errorf("GET /api/v1/p2p/messages?topic=%s: A %v, C %v; want the same messages", topic, a, c)
		}
	}
	var ba, bc api.ChainBalances
	getJSON(t, "http://"+pn.a.HTTPAddr()+"/api/v1/chain/balances/"+pn.owner.Hex(), &ba)
	getJSON(t, "http://"+pn.c.HTTPAddr()+"/api/v1/chain/balances/"+pn.owner.Hex(), &bc)
	if len(ba.REC) != 1 || ba.REC[0].Wh != "650" || fmt.Sprint(ba.REC) != fmt.Sprint(bc.REC) {
		t.Errorf("the owner's certificates: A %+v, C %+v; want the same 650 Wh on both", ba.REC, bc.REC)
	}

	// And the network goes on: gossip after the heal reaches everyone.
	awaitTB(t, "C back on the topics of A and B", pn.meshed)
	after := pn.publishOffer(t, pn.b)
	awaitTB(t, "an offer after the heal at C", func() bool { return acceptedIDs(t, pn.c)[after] })
}

// BenchmarkRejoinConvergence measures how long a node cut off from
// gossip and the chain takes to converge after the heal (the same
// accepted messages as its peers, the batch settled meanwhile in its
// chain index), per partition of the cycle in TestPartitionedNodeRejoins
// (3 offers and a batch's 2 attestations missed, 1 offer published
// alone). s/converge is the time from the heal until converged, the
// chain index poll (2 s) included; msgs/rejoin the messages C took after
// the heal, fetched/rejoin those of them its catch-up counted (the rest
// came by gossipsub's IHAVE for recent messages, or were counted just
// after the check). ns/op is the whole cycle, settlement included.
func BenchmarkRejoinConvergence(b *testing.B) {
	pn := startPartitionNet(b)
	var total time.Duration
	var took, fetched uint64
	b.ResetTimer()
	for range b.N {
		fetchedBefore := pn.c.P2P().Stats().CatchUp.Fetched
		had := len(acceptedIDs(b, pn.c))
		want, batch, healed := pn.cycle(b)
		pn.waitConverged(b, want, batch)
		total += time.Since(healed)
		took += uint64(len(acceptedIDs(b, pn.c)) - had - 1) // less C's own offer
		fetched += pn.c.P2P().Stats().CatchUp.Fetched - fetchedBefore
		// The next cut starts from a whole network.
		awaitTB(b, "C back on the topics of A and B", pn.meshed)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/converge")
	b.ReportMetric(float64(took)/float64(b.N), "msgs/rejoin")
	b.ReportMetric(float64(fetched)/float64(b.N), "fetched/rejoin")
}
