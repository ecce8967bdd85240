package p2p_test

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/store"
)

// A node stopped and restarted on the same badger store catches up on
// what it missed, is not handed what it had, and still refuses replays
// of what it had.
func TestRestartedNodeCatchesUp(t *testing.T) {
	clock := p2p.NewFakeClock()
	a := p2p.StartNode(t, p2p.NodeConfig(0, p2p.NewMemStore(), clock))
	b := p2p.StartNode(t, p2p.NodeConfig(1, p2p.NewMemStore(), clock))
	p2p.Link(t, a, b)
	dir := t.TempDir()
	open := func() *store.Store {
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}

	st := open()
	r := p2p.StartNode(t, p2p.NodeConfig(5, st, clock))
	rec := p2p.Record(r)
	p2p.Link(t, r, a)
	p2p.Link(t, r, b)
	att := p2p.NewRawPeer(t, p2p.Key(60))
	att.Connect(t, r)
	seen := p2p.Sign(t, att.Key, p2p.Bodies(att.Key, clock.Now(), 1)[2], clock.Now())
	att.Publish(t, p2p.TopicMeter, seen.Raw)
	before := p2p.MustPublish(t, a, p2p.Bodies(p2p.Key(0), clock.Now(), 1)[1])
	p2p.WaitFor(t, "messages before the stop", func() bool { return rec.Has(seen.ID, before.ID) })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Add(2 * time.Minute)
	var missed []common.Hash
	for i, n := range []*p2p.Node{a, b, a, b, a} {
		key := p2p.Key(i % 2)
		missed = append(missed, p2p.MustPublish(t, n, p2p.Bodies(key, clock.Now(), 10+i)[i]).ID)
	}

	clock.Add(2 * time.Minute)
	r = p2p.StartNode(t, p2p.NodeConfig(5, open(), clock))
	rec = p2p.Record(r)
	p2p.Link(t, r, a)
	p2p.WaitFor(t, "the missed messages after the restart", func() bool { return rec.Has(missed...) })
	// The counter moves just after a message is handed over.
	fetched := func() uint64 { return r.Stats().CatchUp.Fetched }
	p2p.WaitFor(t, "the catch-up counted", func() bool { return fetched() >= uint64(len(missed)) })
	if got := fetched(); got != uint64(len(missed)) {
		t.Errorf("fetched %d messages by catch-up, want the %d missed", got, len(missed))
	}

	att.Connect(t, r)
	att.Publish(t, p2p.TopicMeter, seen.Raw) // the same envelope in a new gossip message
	p2p.WaitFor(t, "the replay refused", func() bool {
		return p2p.Refused(r, p2p.TopicMeter, p2p.ReasonDuplicate) == 1
	})
	barrier := p2p.MustPublish(t, b, p2p.Bodies(p2p.Key(1), clock.Now(), 99)[2]).ID
	p2p.WaitFor(t, "the barrier", func() bool { return rec.Has(barrier) })
	if got, want := rec.Len(), len(missed)+1; got != want {
		t.Errorf("restarted node was handed %d messages, want %d: the missed ones and the barrier, nothing it had before", got, want)
	}
	if rec.Has(seen.ID) || rec.Has(before.ID) {
		t.Error("restarted node was handed a message it had stored before the stop")
	}
}
