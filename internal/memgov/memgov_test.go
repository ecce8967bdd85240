package memgov

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPolicyLimit(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		name string
		p    Policy
		live uint64
		gogc int
		want int64
	}{
		{"floor while the heap is small", Default, 10 * mib, 100, 64 * mib},
		{"1.25 times the live heap plus headroom", Default, 80 * mib, 100, 108 * mib},
		{"no factor: GOGC 100 gives twice", Policy{Headroom: 16 * mib}, 35 * mib, 100, 86 * mib},
		{"no factor: GOGC 50 gives 1.5 times", Policy{Headroom: 16 * mib}, 100 * mib, 50, 166 * mib},
		{"no factor, collection off: twice", Policy{Headroom: 16 * mib}, 100 * mib, -1, 216 * mib},
		{"an explicit factor wins over GOGC", Policy{Factor: 3, Headroom: mib}, 10 * mib, 100, 31 * mib},
		{"no overflow", Default, math.MaxUint64, 100, math.MaxInt64},
	} {
		if got := c.p.Limit(c.live, c.gogc); got != c.want {
			t.Errorf("%s: Limit(%d, %d) = %d, want %d", c.name, c.live, c.gogc, got, c.want)
		}
	}
}

func TestStepFollowsTheLiveHeapAndStops(t *testing.T) {
	live := uint64(40 << 20)
	var set []int64
	g := &Governor{policy: Policy{Headroom: 16 << 20}, read: func() (uint64, int) { return live, 100 }, set: func(l int64) { set = append(set, l) }}
	if got, want := g.Step(), int64(96<<20); got != want {
		t.Errorf("Step at 40 MiB live = %d, want %d", got, want)
	}
	live = 100 << 20
	g.Step()
	g.Stop()
	if got := g.Step(); got != 0 {
		t.Errorf("Step after Stop = %d, want 0", got)
	}
	if want := []int64{96 << 20, 216 << 20}; len(set) != 2 || set[0] != want[0] || set[1] != want[1] {
		t.Errorf("limits set = %v, want %v", set, want)
	}
	if got := g.Last(); got != 216<<20 {
		t.Errorf("Last = %d, want %d", got, 216<<20)
	}
}

// TestRunStepsAfterEveryCollection uses the real runtime: the governor
// must set a limit again after collection after collection, with no
// goroutine or clock, while other small objects stay alive (a sentinel
// small enough to share their block stepped once and never again).
func TestRunStepsAfterEveryCollection(t *testing.T) {
	steps := make(chan int64, 100)
	g := &Governor{policy: Default, read: readRuntime, set: func(l int64) { steps <- l }}
	var keep []*[2]byte // small objects alive across the run, as a node has
	for range 1000 {
		keep = append(keep, new([2]byte))
	}
	g.Run()
	defer g.Stop()
	<-steps // Run's own step
	deadline := time.Now().Add(time.Minute)
	for got := 0; got < 5; {
		runtime.GC() // the sentinel's finalizer runs after a collection, on the finalizer goroutine
		select {
		case l := <-steps:
			if l < Default.Floor {
				t.Fatalf("limit %d below the floor %d", l, Default.Floor)
			}
			got++
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d steps after a minute of collections, want 5", got)
		}
	}
	runtime.KeepAlive(keep)
}

func TestStartIsSharedAndRestoresTheLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	stop1 := Start(Default)
	stop2 := Start(Policy{Floor: 1 << 40}) // joins: the first policy stays
	if got := debug.SetMemoryLimit(-1); got < Default.Floor || got >= 1<<40 {
		t.Errorf("limit with two users = %d, want the first policy's (≥ %d, < 1 TiB)", got, Default.Floor)
	}
	stop1()
	stop1() // twice is once
	if shared == nil {
		t.Fatal("governor stopped while a user remains")
	}
	stop2()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after the last stop = %d, want the one before, %d", got, before)
	}
}
