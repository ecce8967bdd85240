package p2p

import (
	"bytes"
	"context"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// A line A—B—C—D—E, no other links. A is cut off from B and publishes m
// while alone; the others publish too. When A and B reconnect, B catches
// up from A (A was away) and hints C, C catches up from B and hints D,
// and so on: m reaches the far end, though no node but B ever talks to A
// and m is too old for gossip. A gets the others' messages by its own
// catch-up from B.
func TestPartitionHealsAcrossHops(t *testing.T) {
	const n = 5
	tn := startNet(t, n, nil)
	var line [][2]int
	for i := range n - 1 {
		line = append(line, [2]int{i, i + 1})
	}
	tn.link(t, line)
	a, b := tn.nodes[0], tn.nodes[1]

	Block(a, b.self)
	Block(b, a.self)
	if err := a.Disconnect(b.self); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, "A and B apart, and each aware of it", func() bool {
		return len(a.host.Network().Peers()) == 0 && !Connected(b, a.self) && Departed(a, b.self) && Departed(b, a.self)
	})

	tn.clock.Add(time.Minute)
	var others []common.Hash
	for i := 1; i < n; i++ {
		others = append(others, MustPublish(t, tn.nodes[i], Bodies(Key(i), tn.clock.Now(), 10+i)[i%len(Kinds)]).ID)
	}
	tn.waitAll(t, "the messages of B..E on their side", others, 0)
	m := MustPublish(t, a, Bodies(Key(0), tn.clock.Now(), 1)[2]).ID
	for _, id := range others {
		if tn.recs[0].Has(id) {
			t.Fatal("A got a message from the other side; the partition leaks")
		}
	}
	if tn.recs[1].Has(m) {
		t.Fatal("B got A's message; the partition leaks")
	}

	// Past gossip freshness: from here on m travels by catch-up only.
	tn.clock.Add(DefaultFreshness + time.Minute)
	Unblock(a, b.self)
	Unblock(b, a.self)
	Link(t, a, b)
	tn.waitAll(t, "A's message from inside the partition at every node", []common.Hash{m})
	tn.waitAll(t, "B..E's messages at A", others, 1, 2, 3, 4)

	// Still a line: nothing added a link.
	for i, nd := range tn.nodes {
		var want []peer.ID
		for _, j := range []int{i - 1, i + 1} {
			if j >= 0 && j < n {
				want = append(want, tn.nodes[j].self)
			}
		}
		got := nd.host.Network().Peers()
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("node %d has peers %v, want %v", i, got, want)
		}
	}
	// B learned m from A by its returning-peer catch-up; everyone past B
	// by a catch-up a hint started. The counters move just after the
	// message is handed over (a hint counts as sent once its stream
	// closed), so wait for them.
	waitFor(t, "B to count m fetched and C hinted, and each node past B m fetched on a hint and the next hop hinted", func() bool {
		if st := b.Stats().CatchUp; st.Fetched < 1 || st.HintsSent < 1 {
			return false
		}
		for i := 2; i < n; i++ {
			st := tn.nodes[i].Stats().CatchUp
			if st.HintsReceived < 1 || st.HintFetched < 1 || i < n-1 && st.HintsSent < 1 {
				return false
			}
		}
		return true
	}, func() string { return tn.state([]common.Hash{m}) })
	if st := b.Stats().CatchUp; st.HintFetched != 0 {
		t.Errorf("B fetched %d messages on hints; want m fetched without a hint", st.HintFetched)
	}
	for i := 2; i < n; i++ {
		if st := tn.nodes[i].Stats().CatchUp; st.HintsDropped != 0 {
			t.Errorf("node %d dropped %d of %d hints, want none", i, st.HintsDropped, st.HintsReceived)
		}
	}
	for i, r := range tn.recs {
		for _, id := range append(others, m) {
			if c := r.Count(id); c != 1 {
				t.Errorf("node %d delivered %s %d times, want once", i, id, c)
			}
		}
	}
}

// A returning peer's news is hinted on even while the node's startup gap
// is open and that peer never served it: here B's startup catch-up from A
// waits behind a stuck one and then fails, as A is cut off by then (B
// wants three peers, so the gap stays open). A catch-up over a startup
// gap does not hint, so B, catching up from A over it alone when A
// returns, would keep m, which A published while cut off, from C.
func TestReturningPeerHintedWhileStartupGapOpen(t *testing.T) {
	tn := startNet(t, 3, func(i int, c *Config) {
		if i == 1 {
			c.CatchUpPeers = 3
		}
	})
	a, b := tn.nodes[0], tn.nodes[1]
	slow := NewRawPeer(t, Key(74))
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	var mu sync.Mutex
	var asked []CatchUpRequest
	slow.Host.SetStreamHandler(CatchUpProtocol, func(s network.Stream) {
		raw, _ := io.ReadAll(io.LimitReader(s, maxCatchUpRequest+1))
		if req, err := decodeCatchUpRequest(raw); err == nil {
			mu.Lock()
			asked = append(asked, req)
			mu.Unlock()
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		_ = s.Close()
	})
	slow.Connect(t, b)
	select {
	case <-entered:
	case <-time.After(Patience):
		t.Fatal("B never started its startup catch-up from the slow peer")
	}
	tn.link(t, [][2]int{{0, 1}, {1, 2}})
	Block(a, b.self)
	Block(b, a.self)
	if err := a.Disconnect(b.self); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, "A and B apart, and each aware of it", func() bool {
		return !Connected(a, b.self) && Departed(a, b.self) && Departed(b, a.self)
	})
	unblock()
	// A barrier: a job queued after the startup catch-ups from A and C
	// has reached the slow peer, so those have run.
	barrier := tn.clock.Now().Add(-time.Second)
	b.catchUp <- catchUpJob{peer: slow.Host.ID(), from: map[string]time.Time{TopicAwards: barrier}}
	WaitFor(t, "the barrier catch-up", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(asked, func(r CatchUpRequest) bool { return r.Topic == TopicAwards && r.From.Equal(barrier) })
	})
	b.gapMu.Lock()
	open, fromA, fromC := b.gap.open && b.gap.startup, b.gap.done[a.self], b.gap.done[tn.nodes[2].self]
	b.gapMu.Unlock()
	if !open || fromA || !fromC {
		t.Fatalf("B's startup gap: open %v, served by A %v, by C %v; want open, served by C and not by A", open, fromA, fromC)
	}

	tn.clock.Add(time.Minute)
	m := MustPublish(t, a, Bodies(Key(0), tn.clock.Now(), 1)[2]).ID
	tn.clock.Add(DefaultFreshness + time.Minute) // catch-up only
	Unblock(a, b.self)
	Unblock(b, a.self)
	Link(t, a, b)
	tn.waitAll(t, "A's message at C, by B's hint", []common.Hash{m})
	// The startup gap's own catch-up from A comes after the hinting one.
	WaitFor(t, "B to catch up from A over its startup gap too", func() bool {
		b.gapMu.Lock()
		defer b.gapMu.Unlock()
		return b.gap.done[a.self]
	})
}

// sendRawHint writes raw on a hint stream from h to p.
func sendRawHint(t *testing.T, h host.Host, p peer.ID, raw []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	s, err := h.NewStream(ctx, p, CatchUpHintProtocol)
	if err != nil {
		t.Fatalf("hint stream: %v", err)
	}
	_, _ = s.Write(raw) // an oversized hint may be reset mid-write
	_ = s.Close()
}

func meterHint(since time.Time) CatchUpHint {
	var h CatchUpHint
	h.Since[KindMeter-1] = since
	return h
}

// Malformed, future and flooded hints are counted and dropped; a flood
// starts at most a burst of catch-ups, each over the hinted topic only.
func TestCatchUpHintAbuse(t *testing.T) {
	tn := startNet(t, 1, nil)
	nd := tn.nodes[0]
	now := tn.clock.Now()

	// The flooding peer serves catch-up (empty pages) and records what it
	// is asked.
	var mu sync.Mutex
	var asked []CatchUpRequest
	flood := NewRawPeer(t, Key(70))
	flood.Host.SetStreamHandler(CatchUpProtocol, func(s network.Stream) {
		raw, _ := io.ReadAll(io.LimitReader(s, maxCatchUpRequest+1))
		if req, err := decodeCatchUpRequest(raw); err == nil {
			mu.Lock()
			asked = append(asked, req)
			mu.Unlock()
		}
		_ = s.Close()
	})
	bad, future := NewRawPeer(t, Key(71)), NewRawPeer(t, Key(72))
	for _, r := range []*RawPeer{flood, bad, future} {
		r.Connect(t, nd)
	}

	since := now.Add(-time.Hour)
	valid := encodeCatchUpHint(meterHint(since))
	malformed := [][]byte{
		{0x18, 0x00},                            // meter 0: not canonical
		append(slices.Clone(valid), 0x50, 0x01), // field 10
		bytes.Repeat(valid, 20),                 // oversized
	}
	for _, raw := range malformed { // within the burst: dropped for what they are
		sendRawHint(t, bad.Host, nd.self, raw)
	}
	sendRawHint(t, future.Host, nd.self, encodeCatchUpHint(meterHint(now.Add(DefaultMaxClockSkew+time.Minute))))
	const flooded = 20
	for range flooded {
		sendRawHint(t, flood.Host, nd.self, valid)
	}

	total := uint64(len(malformed) + 1 + flooded)
	WaitFor(t, "every hint counted", func() bool { return nd.Stats().CatchUp.HintsReceived == total })
	if got, want := nd.Stats().CatchUp.HintsDropped, total-hintBurst; got != want {
		t.Errorf("dropped %d hints, want %d: all but a burst of the flood's", got, want)
	}
	fromHints := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range asked {
			if r.From.Equal(since) {
				if r.Topic != TopicMeter {
					t.Errorf("a meter hint started a catch-up of %s", r.Topic)
				}
				n++
			}
		}
		return n
	}
	WaitFor(t, "the hinted catch-ups", func() bool { return fromHints() == hintBurst })
	// A barrier: a catch-up queued after the hinted ones has run, so
	// none is pending.
	nd.catchUp <- catchUpJob{peer: flood.Host.ID(), from: map[string]time.Time{TopicAwards: now}}
	WaitFor(t, "the barrier catch-up", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(asked, func(r CatchUpRequest) bool { return r.Topic == TopicAwards && r.From.Equal(now) })
	})
	if got := fromHints(); got != hintBurst {
		t.Errorf("the flood started %d catch-ups, want the burst of %d", got, hintBurst)
	}
	if st := nd.Stats().CatchUp; st.HintFetched != 0 || st.HintsSent != 0 {
		t.Errorf("fetched %d on hints, sent %d hints; want nothing", st.HintFetched, st.HintsSent)
	}

	// With the worker stuck on a slow peer and the queue at least half
	// full, a hint is dropped: the rest of the queue is for connections.
	slow := NewRawPeer(t, Key(73))
	entered, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	slow.Host.SetStreamHandler(CatchUpProtocol, func(s network.Stream) {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		_ = s.Close()
	})
	slow.Connect(t, nd)
	nd.catchUp <- catchUpJob{peer: slow.Host.ID(), from: map[string]time.Time{TopicAwards: now}}
	select {
	case <-entered:
	case <-time.After(Patience):
		t.Fatal("the worker never reached the slow peer")
	}
	// Full, not just half: the worker gives up on the slow peer after
	// catchUpTimeout and takes the next job, which must not bring the
	// queue below half however slow the machine is.
	for len(nd.catchUp) < cap(nd.catchUp) {
		nd.catchUp <- catchUpJob{peer: slow.Host.ID(), from: map[string]time.Time{TopicAwards: now}}
	}
	before := nd.Stats().CatchUp
	sendRawHint(t, future.Host, nd.self, valid)
	WaitFor(t, "the hint counted", func() bool { return nd.Stats().CatchUp.HintsReceived == before.HintsReceived+1 })
	if got := nd.Stats().CatchUp.HintsDropped; got != before.HintsDropped+1 {
		t.Errorf("dropped %d hints, want %d: the queue is half full", got, before.HintsDropped+1)
	}
	unblock()
}

func TestHintFrom(t *testing.T) {
	clock := NewFakeClock()
	n := &Node{cfg: Config{Retention: DefaultRetention, MaxClockSkew: DefaultMaxClockSkew}, clock: clock}
	now := clock.Now()
	var h CatchUpHint
	h.Since[KindOffer-1] = now.Add(-48 * time.Hour)         // before the window: clamped
	h.Since[KindMeter-1] = now.Add(-time.Hour)              // as is
	h.Since[KindAward-1] = now.Add(DefaultMaxClockSkew / 2) // ahead, within the skew
	from, err := n.hintFrom(h)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{
		TopicOffers: now.Add(-DefaultRetention),
		TopicMeter:  now.Add(-time.Hour),
		TopicAwards: now.Add(DefaultMaxClockSkew / 2),
	}
	if len(from) != len(want) {
		t.Fatalf("hint from %v, want %v", from, want)
	}
	for topic, w := range want {
		if !from[topic].Equal(w) {
			t.Errorf("%s from %v, want %v", topic, from[topic], w)
		}
	}
	h.Since[KindRequest-1] = now.Add(DefaultMaxClockSkew + time.Millisecond)
	if _, err := n.hintFrom(h); err == nil {
		t.Error("a hint from beyond the clock skew was taken")
	}
	if _, err := n.hintFrom(CatchUpHint{}); err == nil {
		t.Error("an empty hint was taken")
	}
}

func TestCatchUpHintCodec(t *testing.T) {
	var h CatchUpHint
	for i := range h.Since {
		h.Since[i] = Epoch.Add(time.Duration(i) * time.Hour)
	}
	raw := encodeCatchUpHint(h)
	if len(raw) > maxCatchUpHint {
		t.Errorf("full hint is %d bytes, over %d", len(raw), maxCatchUpHint)
	}
	got, err := decodeCatchUpHint(raw)
	if err != nil || got != h {
		t.Fatalf("round trip: %v, %v; want %v", got, err, h)
	}
	var maxHint CatchUpHint
	for i := range maxHint.Since {
		maxHint.Since[i] = time.UnixMilli(1<<63 - 1)
	}
	if n := len(encodeCatchUpHint(maxHint)); n > maxCatchUpHint {
		t.Errorf("largest hint is %d bytes, over %d", n, maxCatchUpHint)
	}
	for name, raw := range map[string][]byte{
		"empty":         {},
		"explicit zero": {0x08, 0x00},
		"out of order":  {0x18, 0x01, 0x08, 0x01},
		"repeated":      {0x08, 0x01, 0x08, 0x02},
		"unknown field": {0x50, 0x01},
		"wrong type":    {0x0a, 0x01, 0x00},
		"long varint":   {0x08, 0x81, 0x00},
		"over int64 ms": append([]byte{0x08}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		"oversized":     bytes.Repeat([]byte{0}, maxCatchUpHint+1),
		"truncated":     {0x08},
	} {
		if _, err := decodeCatchUpHint(raw); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
