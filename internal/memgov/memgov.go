// Package memgov keeps the Go runtime's soft memory limit a step above
// the live heap, so that a node on a small box holds about what it uses.
//
// Without a limit the runtime lets the heap grow to twice the live heap
// (GOGC=100) and hands freed pages back to the kernel slowly: a node
// ingesting 1,000 devices peaked at 180 MB resident. A fixed limit returns
// those pages but, set below what a larger fleet keeps live, runs the
// collector without end (64 MiB at 8,000 devices: a third of the intake).
// The governor instead sets the limit after every collection to Factor ×
// live heap + the runtime's other memory + Headroom (never below Floor):
// the collector runs somewhat more often than GOGC alone would make it,
// and the scavenger returns whatever lies above the limit at once.
// Measured with tools/bench-ingest: 132 MB peak at 1,000 devices, 188 MB
// at 8,000 (302 MB without), the same intake, 43 µs of CPU per message at
// 8,000 devices against 36 without.
//
// The memory limit is process-wide: only a process's owner (the node's
// command, or a node that owns its process) should start a governor, and
// Start counts its callers so that several in one process share one.
package memgov

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Policy is how the limit follows the live heap. Sizes are bytes.
type Policy struct {
	// Floor is the least limit set: a node's heap at start is a few MB
	// live but grows fast while the store and the chain open.
	Floor int64
	// Factor multiplies the live heap; 0 takes 1 + GOGC/100, what the
	// collector's own goal is (2 at the default GOGC).
	Factor float64
	// Headroom is added for what is not heap: goroutine stacks, the
	// runtime's metadata and a burst between collections.
	Headroom int64
}

// Default is the node's policy: at least 64 MiB, 1.25 times the live heap
// plus 8 MiB. At 1,000 devices it held the node's peak at 132 MB where
// 1.5 and 16 MiB gave 150 MB and no limit 180 MB (tools/bench-ingest).
var Default = Policy{Floor: 64 << 20, Factor: 1.25, Headroom: 8 << 20}

// Limit is the limit for a live heap of live bytes under GOGC gogc
// percent (gogc < 0: collection off, where the limit is all there is).
func (p Policy) Limit(live uint64, gogc int) int64 {
	f := p.Factor
	if f == 0 {
		f = 2
		if gogc >= 0 {
			f = 1 + float64(gogc)/100
		}
	}
	l := f*float64(live) + float64(p.Headroom)
	if l >= math.MaxInt64/2 {
		return math.MaxInt64
	}
	return max(int64(l), p.Floor)
}

// Governor sets the limit after each garbage collection. Its methods are
// safe for concurrent use.
type Governor struct {
	policy Policy
	// read returns the live heap in bytes and GOGC; set applies a limit.
	// Function fields so that a test can stand in for the runtime.
	read func() (live uint64, gogc int)
	set  func(int64)

	mu      sync.Mutex // orders Step against Stop
	stopped bool
	last    atomic.Int64
}

// New returns a governor of the runtime with policy p. Nothing happens
// until Run.
func New(p Policy) *Governor {
	return &Governor{policy: p, read: readRuntime, set: func(l int64) { debug.SetMemoryLimit(l) }}
}

// Step reads the live heap, sets the limit and returns it; after Stop it
// sets nothing and returns 0.
func (g *Governor) Step() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return 0
	}
	l := g.policy.Limit(g.read())
	g.set(l)
	g.last.Store(l)
	return l
}

// Last is the limit most recently set, 0 before the first Step.
func (g *Governor) Last() int64 { return g.last.Load() }

// Run sets the limit now and after every garbage collection until Stop.
// It needs no goroutine or clock of its own: a finalizer on a sentinel
// runs once per collection and re-arms itself.
func (g *Governor) Run() {
	g.Step()
	arm(g)
}

func arm(g *Governor) {
	s := new(sentinel)
	runtime.SetFinalizer(s, func(*sentinel) {
		if g.Step() != 0 {
			arm(g)
		}
	})
}

// sentinel is only allocated to be collected. It must be 16 bytes or
// more: zero-sized allocations share one address and are never freed,
// and smaller ones without pointers share a block with other small
// objects, whose finalizer may never run (a 1-byte sentinel stepped once
// and never again).
type sentinel struct{ _ [16]byte }

// Stop ends the governor; the limit it last set stays until the caller
// resets it. No Step sets a limit after Stop returns.
func (g *Governor) Stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
}

var samples = []metrics.Sample{
	{Name: "/gc/heap/live:bytes"},
	{Name: "/gc/gogc:percent"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/heap/unused:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

var samplesMu sync.Mutex

// readRuntime returns the live heap plus what the runtime holds besides
// the heap (goroutine stacks, its metadata, buffers), which the memory
// limit counts too: with thousands of devices that part grows, and a
// limit on the live heap alone left the collector running without end
// (8,000 devices: 134 µs of CPU per message instead of 36).
func readRuntime() (uint64, int) {
	samplesMu.Lock()
	defer samplesMu.Unlock()
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return samples[i].Value.Uint64()
		}
		return 0
	}
	live := v(0)
	heap := v(3) + v(4) + v(5) + v(6)
	if total := v(2); total > heap {
		live += total - heap
	}
	gogc := 100
	if samples[1].Value.Kind() == metrics.KindUint64 {
		gogc = int(v(1))
	}
	return live, gogc
}

// The process's one governor, shared by every Start in it.
var (
	mu       sync.Mutex
	users    int
	shared   *Governor
	previous int64
)

// Start starts the process's governor with policy p, or joins the one
// running (whose policy stays). The returned function leaves it; when the
// last user leaves, the governor stops and the limit in force before the
// first Start is restored.
func Start(p Policy) (stop func()) {
	mu.Lock()
	defer mu.Unlock()
	if users == 0 {
		previous = debug.SetMemoryLimit(-1)
		shared = New(p)
		shared.Run()
	}
	users++
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if users--; users == 0 {
				shared.Stop()
				shared = nil
				debug.SetMemoryLimit(previous)
			}
		})
	}
}
