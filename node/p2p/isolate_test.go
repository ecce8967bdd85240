package p2p

import (
	"context"
	"testing"
	"time"
)

// An isolated node has no connections and takes none, in either
// direction, while it and its peer go on publishing; after Rejoin its
// bootstrap loop reconnects it by itself and the catch-ups bring each
// side what the other published meanwhile, once.
func TestIsolateAndRejoin(t *testing.T) {
	clock := NewFakeClock()
	a := StartNode(t, NodeConfig(0, NewMemStore(), clock))
	recA := Record(a)
	cfg := NodeConfig(1, NewMemStore(), clock)
	cfg.Bootstrap = a.Addrs()
	r := StartNode(t, cfg)
	recR := Record(r)
	WaitFor(t, "the bootstrap connection", func() bool { return Connected(r, a.self) && Connected(a, r.self) })

	r.Isolate()
	r.Isolate() // idempotent
	if !r.Isolated() {
		t.Fatal("Isolated() is false after Isolate")
	}
	WaitFor(t, "both sides to see the isolated node leave", func() bool {
		return len(r.host.Network().Peers()) == 0 && Departed(a, r.self) && Departed(r, a.self)
	})
	// Refused both ways: a dial from the peer and one from the node.
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	defer cancel()
	if err := a.Connect(ctx, r.Addrs()[0]); err == nil {
		t.Error("the peer connected to an isolated node")
	}
	if err := r.Connect(ctx, a.Addrs()[0]); err == nil {
		t.Error("an isolated node connected to its peer")
	}

	clock.Add(time.Minute)
	outside := MustPublish(t, a, Bodies(Key(0), clock.Now(), 1)[0]).ID
	inside := MustPublish(t, r, Bodies(Key(1), clock.Now(), 2)[1]).ID
	WaitFor(t, "each side's own message", func() bool { return recA.Has(outside) && recR.Has(inside) })
	if recR.Has(outside) || recA.Has(inside) {
		t.Fatal("a message crossed the isolation")
	}

	r.Rejoin()
	if r.Isolated() {
		t.Fatal("Isolated() is true after Rejoin")
	}
	WaitFor(t, "the node to reconnect by itself and both to catch up", func() bool {
		return recR.Has(outside) && recA.Has(inside)
	})
	if c, d := recR.Count(outside), recA.Count(inside); c != 1 || d != 1 {
		t.Errorf("delivered %d and %d times after the rejoin, want once each", c, d)
	}
	// Flood publishing reaches every topic peer, once it knows them.
	WaitFor(t, "the peer to hear the node on every topic again", func() bool { return onAllTopics(a.ps, r.self) })
	after := MustPublish(t, a, Bodies(Key(0), clock.Now(), 3)[2]).ID
	WaitFor(t, "gossip after the rejoin", func() bool { return recR.Has(after) })
}
