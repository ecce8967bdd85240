package p2p

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/internal/fakeclock"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Test helpers. The exported ones are for the external test package
// (restart_test.go), which uses node/store and so cannot live in p2p.

// TestDomain is the domain of every test message.
var TestDomain = NewDomain(big.NewInt(1337), common.Address{})

// Epoch is where every fake clock starts: a fixed instant, so runs are
// reproducible.
var Epoch = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// FakeClock is a settable gridmint.Clock.
type FakeClock = fakeclock.Clock

// NewFakeClock starts at Epoch.
func NewFakeClock() *FakeClock { return fakeclock.New(Epoch) }

// Key derives test key i deterministically.
func Key(i int) *ecdsa.PrivateKey {
	k, err := ethcrypto.ToECDSA(ethcrypto.Keccak256([]byte(fmt.Sprintf("gridmint p2p test key %d", i))))
	if err != nil {
		panic(err)
	}
	return k
}

// MemStore is an in-memory Store.
type MemStore struct {
	mu   sync.Mutex
	msgs map[[32]byte]StoredMessage
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{msgs: map[[32]byte]StoredMessage{}} }

// PutMessage implements Store.
func (s *MemStore) PutMessage(m StoredMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.msgs[m.ID]; !ok {
		m.Raw = bytes.Clone(m.Raw)
		s.msgs[m.ID] = m
	}
	return nil
}

// HasMessage implements Store.
func (s *MemStore) HasMessage(id [32]byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.msgs[id]
	return ok, nil
}

// Messages implements Store.
func (s *MemStore) Messages(topic string, from, to time.Time, after [32]byte, limit int) ([]StoredMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []StoredMessage
	for _, m := range s.msgs {
		c := m.Created.Compare(from)
		if m.Topic != topic || c < 0 || c == 0 && bytes.Compare(m.ID[:], after[:]) <= 0 || !to.IsZero() && !m.Created.Before(to) {
			continue
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := out[i].Created.Compare(out[j].Created); c != 0 {
			return c < 0
		}
		return bytes.Compare(out[i].ID[:], out[j].ID[:]) < 0
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// NewestMessage implements Store.
func (s *MemStore) NewestMessage(topic string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var newest time.Time
	for _, m := range s.msgs {
		if m.Topic == topic && m.Created.After(newest) {
			newest = m.Created
		}
	}
	return newest, nil
}

// PruneMessages implements Store.
func (s *MemStore) PruneMessages(before time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, m := range s.msgs {
		if m.Created.Before(before) {
			delete(s.msgs, id)
			n++
		}
	}
	return n, nil
}

// Recorder collects the messages a node's handler receives.
type Recorder struct {
	mu  sync.Mutex
	ids map[common.Hash]int
	all []Message
}

// Record registers a Recorder as n's handler.
func Record(n *Node) *Recorder {
	r := &Recorder{ids: map[common.Hash]int{}}
	n.Handle(func(m Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids[m.ID]++
		r.all = append(r.all, m)
	})
	return r
}

// Has reports whether every id was delivered.
func (r *Recorder) Has(ids ...common.Hash) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.ids[id] == 0 {
			return false
		}
	}
	return true
}

// Count is how many times id was delivered.
func (r *Recorder) Count(id common.Hash) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

// Len is how many deliveries there were.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// NodeConfig is a node config for tests: loopback TCP, no discovery, the
// fake clock and a logger that shows debug lines with GRIDMINT_P2P_LOG=1.
func NodeConfig(i int, store Store, clock gridmint.Clock) Config {
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GRIDMINT_P2P_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
	}
	return Config{
		Key: Key(i), Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Domain: TestDomain,
		Store: store, Clock: clock, Log: log,
	}
}

// StartNode starts a node with cfg and closes it when the test ends.
func StartNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	n, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// Link connects a to b and waits until they see each other on every topic
// and both have formed their gossip mesh (a heartbeat, about a second):
// gossipsub forwards only to mesh peers, so a message relayed before that
// can miss a link.
func Link(t testing.TB, a, b *Node) {
	t.Helper()
	if err := link(a, b); err != nil {
		t.Fatal(err)
	}
}

// link is Link without a testing.TB, for goroutines (which must not
// call t.Fatal). A dial is retried: on a loaded machine a handshake
// can outlast libp2p's own 15 s negotiation timeout.
func link(a, b *Node) error {
	deadline := time.Now().Add(Patience)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		err := a.Connect(ctx, b.Addrs()[0])
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("connect for %v: %v", Patience, err)
		}
		time.Sleep(100 * time.Millisecond) // a failed dial backs off; retry past it
	}
	if err := poll("topic peers of a new link", func() bool {
		return onAllTopics(a.ps, b.self) && onAllTopics(b.ps, a.self)
	}); err != nil {
		return err
	}
	return poll("meshes of a new link", func() bool { return MeshReady(a) && MeshReady(b) })
}

// MeshReady reports whether n's mesh on every topic holds as many of its
// topic peers as gossipsub grafts at once (its lower bound, 5): then with
// at most 5 links every link is a mesh link.
func MeshReady(n *Node) bool {
	const dLow = 5
	for _, t := range Topics() {
		peers := len(n.ps.ListPeers(t))
		n.scoreMu.Lock()
		mesh := len(n.mesh[t])
		n.scoreMu.Unlock()
		if mesh < min(peers, dLow) {
			return false
		}
	}
	return true
}

func onAllTopics(ps *pubsub.PubSub, p peer.ID) bool {
	for _, t := range Topics() {
		if !slices.Contains(ps.ListPeers(t), p) {
			return false
		}
	}
	return true
}

// Patience bounds every wait in these tests. A step takes well under a
// second alone and a few seconds on a loaded 2-core machine under the
// race detector; the waits poll and return as soon as their condition
// holds, so only a step that is really stuck meets the bound.
const Patience = 2 * time.Minute

// WaitFor polls cond until it holds, failing the test after Patience.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, cond, nil)
}

// waitFor is WaitFor that adds state() to the failure message.
func waitFor(t testing.TB, what string, cond func() bool, state func() string) {
	t.Helper()
	if err := poll(what, cond); err != nil {
		msg := err.Error()
		if state != nil {
			msg += "\n" + state()
		}
		t.Fatal(msg)
	}
}

// poll polls cond until it holds, or returns an error after Patience.
func poll(what string, cond func() bool) error {
	deadline := time.Now().Add(Patience)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", Patience, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// MustPublish publishes body on n.
func MustPublish(t testing.TB, n *Node, body Body) Message {
	t.Helper()
	m, err := n.Publish(context.Background(), body)
	if err != nil {
		t.Fatalf("publish %v: %v", body.Kind(), err)
	}
	return m
}

// testDeviceKey stands for a node's device key (node derives the real
// one with a secret salt): any 32 bytes will do for the network.
func testDeviceKey(name string) gridmint.DeviceKey {
	return gridmint.DeviceKey(ethcrypto.Keccak256Hash([]byte("test device " + name)))
}

// Bodies returns one valid body of every kind (in Kinds order) for the
// node with key, created around now; seq makes them unique.
func Bodies(key *ecdsa.PrivateKey, now time.Time, seq int) []Body {
	addr := ethcrypto.PubkeyToAddress(key.PublicKey)
	start := now.Truncate(time.Hour).Add(2 * time.Hour)
	zone, _ := chain.ZoneBytes("DE-LU")
	subject := ethcrypto.Keccak256Hash([]byte(fmt.Sprintf("batch %d", seq)))
	chainSig, err := chain.Sign(key, subject)
	if err != nil {
		panic(err)
	}
	return []Body{
		Offer{Device: testDeviceKey(fmt.Sprintf("%s/goe/%d", addr.Hex(), seq)), Zone: "DE-LU",
			WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 3000, Direction: gridmint.DirectionDown,
			FloorPrice: 120, Baseline: gridmint.BaselineSchedule, Expiry: start.Add(-30 * time.Minute)},
		Request{Zone: "DE-LU", WindowStart: start, WindowEnd: start.Add(time.Hour), Power: gridmint.W(10000 + seq),
			Direction: gridmint.DirectionUp, MaxPrice: 500, GateClosure: start.Add(-time.Hour)},
		MeterClaim{Device: ethcrypto.Keccak256Hash([]byte(fmt.Sprintf("%s/opendtu/%d", addr.Hex(), seq))), Node: addr, Owner: addr, Zone: zone,
			Technology: chain.TechnologySolarPV, Hour: uint64(now.Unix()/3600 - 1), Wh: uint64(800 + seq),
			ReadingsRoot: ethcrypto.Keccak256Hash([]byte(fmt.Sprint("readings", seq)))},
		Attestation{Subject: subject, SubjectKind: SubjectIssueBatch, Verdict: VerdictAccept, ChainSignature: chainSig},
		AwardNotice{RequestID: ethcrypto.Keccak256Hash([]byte(fmt.Sprint("req", seq))), OfferID: ethcrypto.Keccak256Hash([]byte(fmt.Sprint("offer", seq))),
			Provider: addr, WindowStart: uint64(start.Unix()), WindowEnd: uint64(start.Add(time.Hour).Unix()), Watts: 3000, Price: big.NewInt(int64(1e15) + int64(seq))},
		SampleRECClaim(addr, now, seq),
		AwardsRoot{RequestID: ethcrypto.Keccak256Hash([]byte(fmt.Sprint("req", seq))), Root: ethcrypto.Keccak256Hash([]byte(fmt.Sprint("root", seq))),
			Awards: 3, Value: big.NewInt(int64(1e15) + int64(seq))},
		Schedule{Offer: gridmint.OfferID(ethcrypto.Keccak256Hash([]byte(fmt.Sprint("offer", seq)))), Start: start, Step: 5 * time.Minute,
			Energy: []gridmint.MWh{250_000, 250_000, -1000, 0, gridmint.MWh(seq)}},
		Exemption{Request: gridmint.RequestID(ethcrypto.Keccak256Hash([]byte(fmt.Sprint("req", seq)))),
			Device: gridmint.DeviceKey(ethcrypto.Keccak256Hash([]byte(fmt.Sprint("device", seq)))), Reason: gridmint.FlexOptOut},
	}
}

// SampleRECClaim is a valid claim of node addr for the hour before now's.
func SampleRECClaim(addr common.Address, now time.Time, seq int) RECClaim {
	c := RECClaim{Device: gridmint.DeviceKey(ethcrypto.Keccak256Hash([]byte(fmt.Sprintf("%s/opendtu/%d", addr.Hex(), seq)))),
		Node: gridmint.Address(addr), Owner: gridmint.Address(addr), Zone: "DE-LU", Technology: gridmint.TechnologySolarPV,
		Hour: gridmint.HourOf(now) - 1, CounterStart: 1_000_000, Quality: gridmint.QualityOK, Readings: 13,
		ReadingsRoot: gridmint.Hash(ethcrypto.Keccak256Hash([]byte(fmt.Sprint("readings", seq)))), Nameplate: 800,
		Location: gridmint.CoarseLocation{LatTenths: 524, LonTenths: -13}}
	for i := range c.Profile {
		c.Profile[i] = gridmint.MWh(40_000 + 7*i + seq)
	}
	c.CounterEnd = c.CounterStart + c.Profile.Sum()
	c.CarryIn = 250
	c.Wh = gridmint.Wh((c.CarryIn + c.CounterEnd - c.CounterStart) / 1000)
	return c
}

// RawPeer is a plain gossipsub peer with its own key that publishes
// whatever bytes it is given, with none of Node's checks: the network's
// view of a buggy or malicious node.
type RawPeer struct {
	Key    *ecdsa.PrivateKey
	Host   host.Host
	ps     *pubsub.PubSub
	topics map[string]*pubsub.Topic
}

// NewRawPeer starts a RawPeer with key on loopback.
func NewRawPeer(t testing.TB, key *ecdsa.PrivateKey) *RawPeer {
	t.Helper()
	lk, err := LibP2PKey(key)
	if err != nil {
		t.Fatal(err)
	}
	h, err := newHost(lk, []string{"/ip4/127.0.0.1/tcp/0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); h.Close() })
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithFloodPublish(true), pubsub.WithMaxMessageSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	r := &RawPeer{Key: key, Host: h, ps: ps, topics: map[string]*pubsub.Topic{}}
	for _, name := range Topics() {
		topic, err := ps.Join(name)
		if err != nil {
			t.Fatal(err)
		}
		r.topics[name] = topic
	}
	return r
}

// Connect links r to n and waits until n can hear r on every topic.
func (r *RawPeer) Connect(t testing.TB, n *Node) {
	t.Helper()
	WaitFor(t, "the raw peer's connection (a dial is retried, as in link)", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), Patience)
		defer cancel()
		return r.Host.Connect(ctx, peer.AddrInfo{ID: n.self, Addrs: n.host.Addrs()}) == nil
	})
	WaitFor(t, "the node on the raw peer's topics", func() bool { return onAllTopics(r.ps, n.self) })
}

// Publish sends data on topic as a gossip message from r.
func (r *RawPeer) Publish(t testing.TB, topic string, data []byte) {
	t.Helper()
	if err := r.topics[topic].Publish(context.Background(), data); err != nil {
		t.Fatalf("raw publish: %v", err)
	}
}

// Sign makes an envelope of body by key created at created, without the
// node's checks.
func Sign(t testing.TB, key *ecdsa.PrivateKey, body Body, created time.Time) Message {
	t.Helper()
	m, err := newSigner(TestDomain).sign(key, body, created)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Departed reports whether n has handled p's disconnection: its
// catch-up from p, when p returns, starts from then. (libp2p notifies a
// closed connection asynchronously, after Connectedness changed.)
func Departed(n *Node, p peer.ID) bool {
	n.gapMu.Lock()
	defer n.gapMu.Unlock()
	_, ok := n.left[p]
	return ok
}

// Connected reports whether n has a connection to p.
func Connected(n *Node, p peer.ID) bool {
	return n.host.Network().Connectedness(p) == network.Connected
}

// Block refuses every connection between n and p until Unblock.
func Block(n *Node, p peer.ID) { n.gater.ban(p, Epoch.Add(100*365*24*time.Hour)) }

// Unblock lifts Block.
func Unblock(n *Node, p peer.ID) { n.gater.unban(p) }

// Refused is how many messages of topic n refused for reason.
func Refused(n *Node, topic string, r Reason) uint64 {
	s := n.Stats().Topics[topic]
	return s.Rejected[r] + s.Ignored[r]
}
