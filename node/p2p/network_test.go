package p2p

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	dutil "github.com/libp2p/go-libp2p/p2p/discovery/util"
)

// testNet is n in-process nodes on loopback sharing one fake clock.
type testNet struct {
	clock *FakeClock
	nodes []*Node
	recs  []*Recorder
}

func startNet(t *testing.T, n int, edit func(i int, c *Config)) *testNet {
	t.Helper()
	tn := &testNet{clock: NewFakeClock()}
	nodes := make([]*Node, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := NodeConfig(i, NewMemStore(), tn.clock)
			if edit != nil {
				edit(i, &cfg)
			}
			nodes[i] = StartNode(t, cfg)
		}()
	}
	wg.Wait()
	for _, nd := range nodes {
		if nd == nil {
			t.FailNow()
		}
		tn.nodes = append(tn.nodes, nd)
		tn.recs = append(tn.recs, Record(nd))
	}
	return tn
}

// link connects the given pairs concurrently.
func (tn *testNet) link(t *testing.T, pairs [][2]int) {
	t.Helper()
	errs := make([]error, len(pairs))
	var wg sync.WaitGroup
	for i, p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := link(tn.nodes[p[0]], tn.nodes[p[1]]); err != nil {
				errs[i] = fmt.Errorf("link %d-%d: %w", p[0], p[1], err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// ringWithChords is a ring of n plus chords i -- i+n/2 for every third i:
// every node has 2 or 3 links, the diameter is about n/4.
func ringWithChords(n int) [][2]int {
	var pairs [][2]int
	for i := range n {
		pairs = append(pairs, [2]int{i, (i + 1) % n})
	}
	for i := 0; i < n/2; i += 3 {
		pairs = append(pairs, [2]int{i, i + n/2})
	}
	return pairs
}

// waitAll waits until every node (except those in skip) delivered ids.
func (tn *testNet) waitAll(t *testing.T, what string, ids []common.Hash, skip ...int) {
	t.Helper()
	cond := func() bool {
		for i, r := range tn.recs {
			if !contains(skip, i) && !r.Has(ids...) {
				return false
			}
		}
		return true
	}
	waitFor(t, what, cond, func() string { return tn.state(ids) })
}

// state describes every node for a failure message: which of ids it
// lacks, its peers and meshes, and its counters.
func (tn *testNet) state(ids []common.Hash) string {
	short := func(p peer.ID) string { s := p.String(); return s[len(s)-4:] }
	var b strings.Builder
	for i, nd := range tn.nodes {
		var missing []string
		for j, id := range ids {
			if !tn.recs[i].Has(id) {
				missing = append(missing, fmt.Sprint(j))
			}
		}
		fmt.Fprintf(&b, "node %d (%s): missing %v\n  peers:", i, short(nd.self), missing)
		for _, p := range nd.Peers() {
			fmt.Fprintf(&b, " %s topics=%d mesh=%d score=%.1f;", short(p.ID), len(p.Topics), len(p.Mesh), p.Score)
		}
		st := nd.Stats()
		fmt.Fprintf(&b, "\n  catchup %+v gossip %+v banned %d\n", st.CatchUp, st.Gossip, st.PeersBanned)
		for _, topic := range Topics() {
			ts := st.Topics[topic]
			fmt.Fprintf(&b, "  %s acc=%d pub=%d rej=%v ign=%v\n", topic, ts.Accepted, ts.Published, ts.Rejected, ts.Ignored)
		}
	}
	return b.String()
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func TestTenNodesDeliverValidAndRefuseInvalid(t *testing.T) {
	const n = 10
	tn := startNet(t, n, nil)
	tn.link(t, ringWithChords(n))
	now := tn.clock.Now()

	// Every kind, each from a different node.
	var valid []common.Hash
	for i := range Kinds {
		a, b := (2*i)%n, (2*i+1)%n
		valid = append(valid, MustPublish(t, tn.nodes[a], Bodies(Key(a), now, 1+2*(i/5))[i]).ID)
		valid = append(valid, MustPublish(t, tn.nodes[b], Bodies(Key(b), now, 2+2*(i/5))[i]).ID)
	}
	tn.waitAll(t, "every valid message at every node", valid)

	// Each invalid message comes from its own raw peer linked to one
	// victim, so one bad message per peer stays below the ban threshold
	// and the victim is the only node that can see it.
	type invalid struct {
		name   string
		topic  string
		raw    func(att *RawPeer, key int) []byte
		reason Reason
	}
	cases := []invalid{
		{"forged signature", TopicMeter, func(att *RawPeer, key int) []byte {
			m := Sign(t, Key(999), Bodies(Key(999), now, key)[2], now)
			m.Author = ethcrypto.PubkeyToAddress(att.Key.PublicKey)
			return encodeEnvelope(m)
		}, ReasonBadSignature},
		{"offer on the meter topic", TopicMeter, func(att *RawPeer, key int) []byte {
			return Sign(t, att.Key, Bodies(att.Key, now, key)[0], now).Raw
		}, ReasonWrongTopic},
		{"oversized", TopicOffers, func(*RawPeer, int) []byte { return make([]byte, DefaultMaxMessageSize+100) }, ReasonOversized},
		{"stale", TopicRequests, func(att *RawPeer, key int) []byte {
			return Sign(t, att.Key, Bodies(att.Key, now, key)[1], now.Add(-time.Hour)).Raw
		}, ReasonStale},
		{"future", TopicAwards, func(att *RawPeer, key int) []byte {
			return Sign(t, att.Key, Bodies(att.Key, now, key)[4], now.Add(5*time.Minute)).Raw
		}, ReasonFuture},
		{"malformed", TopicAttestations, func(att *RawPeer, key int) []byte {
			raw := Sign(t, att.Key, Bodies(att.Key, now, key)[3], now).Raw
			return append([]byte{0x08, 0x81, 0x00}, raw[2:]...) // version 1 as a two-byte varint
		}, ReasonMalformed},
		{"author is not the publishing peer", TopicMeter, func(att *RawPeer, key int) []byte {
			return Sign(t, Key(998), Bodies(Key(998), now, key)[2], now).Raw
		}, ReasonAuthorMismatch},
		{"invalid body", TopicOffers, func(att *RawPeer, key int) []byte {
			o := Bodies(att.Key, now, key)[0].(Offer)
			o.Expiry = now.Add(-time.Minute).Truncate(time.Second) // expired before it was signed
			return Sign(t, att.Key, o, now).Raw
		}, ReasonInvalidBody},
	}
	for i, c := range cases {
		victim := tn.nodes[i%n]
		att := NewRawPeer(t, Key(100+i))
		att.Connect(t, victim)
		att.Publish(t, c.topic, c.raw(att, 100+i))
		WaitFor(t, c.name+" counted by its victim", func() bool { return Refused(victim, c.topic, c.reason) == 1 })
	}

	// Replay: a message the victim stored before (as after a restart, its
	// gossip layer has not seen it) arrives again.
	victim := tn.nodes[5]
	att := NewRawPeer(t, Key(200))
	replayed := Sign(t, att.Key, Bodies(att.Key, now, 200)[2], now)
	if err := victim.cfg.Store.PutMessage(StoredMessage{ID: replayed.ID, Topic: TopicMeter, Created: now, Received: now, Raw: replayed.Raw}); err != nil {
		t.Fatal(err)
	}
	att.Connect(t, victim)
	att.Publish(t, TopicMeter, replayed.Raw)
	WaitFor(t, "replay counted", func() bool { return Refused(victim, TopicMeter, ReasonDuplicate) == 1 })

	// A valid message published after all the invalid ones is the
	// barrier: once everyone has it, nothing invalid is still in flight.
	barrier := MustPublish(t, tn.nodes[0], Bodies(Key(0), now, 3)[2]).ID
	tn.waitAll(t, "the barrier message", []common.Hash{barrier})
	for i, r := range tn.recs {
		if got, want := r.Len(), len(valid)+1; got != want {
			t.Errorf("node %d delivered %d messages, want %d: an invalid one got through or a valid one twice", i, got, want)
		}
	}
	cases = append(cases, invalid{name: "replay", topic: TopicMeter, reason: ReasonDuplicate})
	for _, c := range cases {
		var total uint64
		for _, nd := range tn.nodes {
			total += Refused(nd, c.topic, c.reason)
		}
		if total != 1 {
			t.Errorf("%s: counted %d times across the network, want once (by its victim only: refused messages are not forwarded)", c.name, total)
		}
	}
	// The counters move just after a message is handed over.
	countsMatch := func(i int) bool {
		st := tn.nodes[i].Stats()
		for _, topic := range Topics() {
			if st.Topics[topic].Accepted+st.Topics[topic].Published != countTopic(tn.recs[i], topic) {
				return false
			}
		}
		return true
	}
	waitFor(t, "every node's accepted and published counts to match its deliveries", func() bool {
		for i := range tn.nodes {
			if !countsMatch(i) {
				return false
			}
		}
		return true
	}, func() string { return tn.state(append(valid, barrier)) })
	for i, nd := range tn.nodes {
		st := nd.Stats()
		if st.PeersBanned != 0 {
			t.Errorf("node %d banned %d peers; one bad message must not get a peer banned", i, st.PeersBanned)
		}
	}
}

func countTopic(r *Recorder, topic string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n uint64
	for _, m := range r.all {
		if m.Topic() == topic {
			n++
		}
	}
	return n
}

func TestPeerSendingInvalidMessagesIsBanned(t *testing.T) {
	tn := startNet(t, 2, nil)
	tn.link(t, [][2]int{{0, 1}})
	victim, honest := tn.nodes[0], tn.nodes[1]
	att := NewRawPeer(t, Key(50))
	att.Connect(t, victim)
	now := tn.clock.Now()
	sent := 0
	WaitFor(t, "the attacker banned", func() bool {
		if Connected(victim, att.Host.ID()) && sent < 50 {
			m := Sign(t, Key(51), Bodies(Key(51), now, sent)[2], now) // signed by another key
			m.Author = ethcrypto.PubkeyToAddress(att.Key.PublicKey)
			att.Publish(t, TopicMeter, encodeEnvelope(m))
			sent++
		}
		return victim.Stats().PeersBanned == 1 && !Connected(victim, att.Host.ID())
	})
	victim.scoreMu.Lock()
	score, honestScore := victim.scores[att.Host.ID()], victim.scores[honest.self]
	victim.scoreMu.Unlock()
	if score >= graylistThreshold {
		t.Errorf("attacker score %.1f, want below the graylist threshold %d", score, graylistThreshold)
	}
	if honestScore < 0 {
		t.Errorf("honest neighbour's score %.1f, want at least 0", honestScore)
	}
	if rejected := victim.Stats().Topics[TopicMeter].Rejected[ReasonBadSignature]; rejected < 3 || rejected > uint64(sent) {
		t.Errorf("victim rejected %d forged messages of %d sent; a ban needs at least 3", rejected, sent)
	}
	// The ban holds in both directions.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := victim.Connect(ctx, fmt.Sprintf("%s/p2p/%s", att.Host.Addrs()[0], att.Host.ID())); err == nil {
		t.Error("victim dialled the banned peer")
	}
	_ = att.Host.Connect(ctx, peer.AddrInfo{ID: victim.self, Addrs: victim.host.Addrs()})
	WaitFor(t, "the banned peer's new connection closed", func() bool { return !Connected(victim, att.Host.ID()) })
	if !Connected(victim, honest.self) {
		t.Error("victim lost its honest neighbour")
	}
	// After the ban, the peer may come back.
	tn.clock.Add(DefaultBanDuration + time.Second)
	if victim.gater.isBanned(att.Host.ID()) {
		t.Error("ban outlived BanDuration")
	}
}

func TestPartitionedNodeConverges(t *testing.T) {
	const n = 6
	tn := startNet(t, n, nil)
	pairs := ringWithChords(n)
	tn.link(t, pairs)
	now := tn.clock.Now()
	before := MustPublish(t, tn.nodes[0], Bodies(Key(0), now, 1)[2]).ID
	tn.waitAll(t, "a message before the partition", []common.Hash{before})

	// Cut node p off and keep it off.
	p := tn.nodes[n-1]
	for _, other := range tn.nodes[:n-1] {
		Block(p, other.self)
		if err := p.Disconnect(other.self); err != nil {
			t.Fatal(err)
		}
	}
	var neighbours []*Node
	for _, pair := range pairs {
		if pair[0] == n-1 || pair[1] == n-1 {
			neighbours = append(neighbours, tn.nodes[pair[0]+pair[1]-(n-1)])
		}
	}
	WaitFor(t, "the partitioned node alone, and it and its neighbours aware of it", func() bool {
		for _, q := range neighbours {
			if !Departed(p, q.self) || !Departed(q, p.self) {
				return false
			}
		}
		return len(p.host.Network().Peers()) == 0
	})

	tn.clock.Add(time.Minute)
	var missed []common.Hash
	for i := range Kinds {
		src := 1 + i%(n-2)
		missed = append(missed, MustPublish(t, tn.nodes[src], Bodies(Key(src), tn.clock.Now(), 2)[i]).ID)
	}
	tn.waitAll(t, "the messages published during the partition, outside it", missed, n-1)
	if tn.recs[n-1].Has(missed[0]) {
		t.Fatal("the partitioned node got a message; the partition leaks")
	}
	inside := MustPublish(t, p, Bodies(Key(n-1), tn.clock.Now(), 4)[2]).ID

	// Heal one link: catch-up brings the missed messages, gossip the
	// rest. Past gossip freshness, so catch-up is their only way. (Its
	// startup catch-up may have fetched the message before the partition
	// ahead of gossip.)
	fetchedBefore := p.Stats().CatchUp.Fetched
	tn.clock.Add(DefaultFreshness + time.Minute)
	for _, other := range tn.nodes[:n-1] {
		Unblock(p, other.self)
	}
	Link(t, p, tn.nodes[0])
	tn.waitAll(t, "the missed messages at the healed node", missed)
	// The peer it reconnected to had it before: it catches up on what
	// the returning node published while cut off.
	tn.waitAll(t, "the message from inside the partition at the peer it rejoined", []common.Hash{inside}, 1, 2, 3, 4)
	// The counter moves just after a message is handed over. Nothing
	// but the missed messages is there to fetch until the next publish,
	// which a hinted catch-up may race gossip for.
	fetched := func() uint64 { return p.Stats().CatchUp.Fetched - fetchedBefore }
	WaitFor(t, "the healed node to count its catch-up", func() bool { return fetched() >= uint64(len(missed)) })
	if got := fetched(); got != uint64(len(missed)) {
		t.Errorf("healed node fetched %d messages by catch-up, want the %d it missed", got, len(missed))
	}
	after := MustPublish(t, tn.nodes[2], Bodies(Key(2), tn.clock.Now(), 3)[2]).ID
	tn.waitAll(t, "a message after the partition", []common.Hash{after})
	for _, id := range append(missed, before, after, inside) {
		if c := tn.recs[n-1].Count(id); c != 1 {
			t.Errorf("message %s delivered %d times at the healed node, want once", id, c)
		}
	}
}

// A fresh message that a catch-up brings before its gossip copy still
// travels on by gossip: B takes m from R by catch-up, then R gossips m;
// C, which hears R only through B and caught up from B before m
// existed, gets it. (Ignored as a duplicate, the copy would stop at B.)
func TestCaughtUpMessageStillRelayed(t *testing.T) {
	tn := startNet(t, 2, nil)
	tn.link(t, [][2]int{{0, 1}})
	b, c := tn.nodes[0], tn.nodes[1]
	r := NewRawPeer(t, Key(80))
	m := Sign(t, r.Key, Bodies(r.Key, tn.clock.Now(), 1)[2], tn.clock.Now())
	// R serves m to any catch-up of its topic.
	r.Host.SetStreamHandler(CatchUpProtocol, func(s network.Stream) {
		raw, _ := io.ReadAll(io.LimitReader(s, maxCatchUpRequest+1))
		if req, err := decodeCatchUpRequest(raw); err == nil && req.Topic == TopicMeter && !req.From.After(m.Created) {
			_, _ = s.Write(binary.AppendUvarint(nil, uint64(len(m.Raw))))
			_, _ = s.Write(m.Raw)
		}
		_ = s.Close()
	})
	r.Connect(t, b) // B's startup gap is open (it wants two peers): it catches up from R
	tn.waitAll(t, "m at B by catch-up", []common.Hash{m.ID}, 1)
	if got := b.Stats().CatchUp.Fetched; got != 1 {
		t.Fatalf("B fetched %d messages by catch-up, want m", got)
	}
	if tn.recs[1].Has(m.ID) || Connected(c, r.Host.ID()) {
		t.Fatal("C got m before R gossiped it, or is linked to R")
	}
	r.Publish(t, TopicMeter, m.Raw)
	tn.waitAll(t, "m at C by gossip through B", []common.Hash{m.ID})
	for i, rec := range tn.recs {
		if got := rec.Count(m.ID); got != 1 {
			t.Errorf("node %d delivered m %d times, want once", i, got)
		}
	}
	// The mark is spent: a later copy is a plain duplicate.
	if b.relayOnce(m.ID) {
		t.Error("B would relay m a second time")
	}
}

func TestDHTDiscovery(t *testing.T) {
	tn := startNet(t, 1, func(_ int, c *Config) { c.DHT = DHTServer })
	seed := tn.nodes[0]
	var others []*Node
	for i := 1; i <= 2; i++ {
		cfg := NodeConfig(i, NewMemStore(), tn.clock)
		cfg.DHT, cfg.Bootstrap, cfg.DiscoveryInterval = DHTServer, seed.Addrs(), 100*time.Millisecond
		others = append(others, StartNode(t, cfg))
	}
	a, b := others[0], others[1]
	WaitFor(t, "two nodes that know only the seed to find each other", func() bool { return Connected(a, b.self) })
	// Both advertise under the network's rendezvous string.
	WaitFor(t, "both nodes advertised in the DHT", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		found, err := dutil.FindPeers(ctx, drouting.NewRoutingDiscovery(seed.dht), seed.rendezvous())
		if err != nil {
			return false
		}
		var ids []peer.ID
		for _, f := range found {
			ids = append(ids, f.ID)
		}
		return slices.Contains(ids, a.self) && slices.Contains(ids, b.self)
	})
	for _, p := range a.Peers() {
		want, _ := addressOf(p.ID)
		if p.Address != want || p.Address == (common.Address{}) || len(p.Addrs) == 0 {
			t.Errorf("peer %s: address %s (want %s), addrs %v", p.ID, p.Address, want, p.Addrs)
		}
	}
}

func TestBootstrapReconnects(t *testing.T) {
	tn := startNet(t, 1, nil)
	seed := tn.nodes[0]
	var connects atomic.Int32
	id := peerOf(t, 1)
	cfg := NodeConfig(1, NewMemStore(), tn.clock)
	cfg.Bootstrap = seed.Addrs()
	seed.host.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) {
		if c.RemotePeer() == id {
			connects.Add(1)
		}
	}})
	a := StartNode(t, cfg)
	WaitFor(t, "the bootstrap connection", func() bool { return connects.Load() >= 1 && Connected(a, seed.self) })
	before := connects.Load()
	if err := seed.Disconnect(a.self); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, "the bootstrap peer redialled", func() bool { return connects.Load() > before && Connected(a, seed.self) })
}

// TestMDNSDiscovery needs multicast on the machine. mDNS repeats its
// queries with growing gaps (4 s, then about 10, 25 and 60 s), so a query
// or dial lost on a busy machine costs tens of seconds: the wait is
// generous. The service is this process's own: test runs side by side
// on one machine (another package, another engineer), or runs of
// -count=N in one process, would otherwise find each other's nodes, which
// have the same keys and so the same peer IDs, and dial addresses that
// close under them.
var mdnsRuns atomic.Int32

func TestMDNSDiscovery(t *testing.T) {
	network := fmt.Sprintf("mdns-test-%d-%d", os.Getpid(), mdnsRuns.Add(1))
	tn := startNet(t, 2, func(_ int, c *Config) { c.MDNS = true; c.Network = network })
	WaitFor(t, "two nodes on one LAN to find each other", func() bool { return Connected(tn.nodes[0], tn.nodes[1].self) })
}

func TestConfigValidation(t *testing.T) {
	good := NodeConfig(1, NewMemStore(), NewFakeClock())
	cases := []struct {
		name string
		edit func(*Config)
	}{
		{"no key", func(c *Config) { c.Key = nil }},
		{"no store", func(c *Config) { c.Store = nil }},
		{"no chain id", func(c *Config) { c.Domain.ChainID = nil }},
		{"unknown dht mode", func(c *Config) { c.DHT = "sometimes" }},
		{"freshness beyond retention", func(c *Config) { c.Retention = time.Minute }},
		{"bootstrap without peer id", func(c *Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"} }},
		{"tiny messages", func(c *Config) { c.MaxMessageSize = 100 }},
	}
	for _, c := range cases {
		cfg := good
		c.edit(&cfg)
		if n, err := New(context.Background(), cfg); err == nil {
			n.Close()
			t.Errorf("%s: New succeeded", c.name)
		}
	}
}
