package node

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"
)

// Most tests here wait rather than compute (demo clocks, a browser,
// gossip meshes forming, a chain indexed): run one at a time with
// -race, the package used about half of 2 cores. So they overlap, in
// two lanes of one test at a time each:
//
//   - demoLane(t): the demo network that runs a whole certificate cycle
//     against demo-time deadlines, long;
//   - parallel(t): all the other tests, shorter, in turn.
//
// Not more: a demo simulates its devices all the time it runs, so the
// CPU a test needs grows with its wall time, and on a loaded 2-core
// machine (load 10-20 from other builds) more overlap starved the demo
// networks past their deadlines (a reservation confirmed after its
// window started, a setpoint refused, simulated devices that could not
// subscribe within 10 s, a demo fleet publishing 5 times in 2 minutes).
// For the same reason TestMarketCycle, which failed beside even one
// other test on that machine (rewards not settled within 3 minutes
// under stress-ng), and the web app's browser tests in
// browser_roles_test.go (their screenshots' PNG recompression costs
// tens of CPU seconds each under -race) run alone, before the lanes
// start.
//
// -test.parallel defaults to GOMAXPROCS and would pick which tests
// start first in no set order, so TestMain lifts it out of the way
// unless it is given. Tests that change process-wide state (the
// runtime's memory limit, environment variables) call neither: they
// run first, alone, before any parallel test resumes.
var (
	otherLane = make(chan struct{}, 1)
	demoNets  = make(chan struct{}, 1)
)

// parallel runs t in parallel with the other tests, in the lane of
// the shorter tests (a test's reported time includes its wait there).
func parallel(t *testing.T) {
	t.Helper()
	inLane(t, otherLane)
}

// demoLane runs t in parallel with the other tests, in the lane of the
// long demo-network tests.
func demoLane(t *testing.T) {
	t.Helper()
	inLane(t, demoNets)
}

func inLane(t *testing.T, lane chan struct{}) {
	t.Helper()
	t.Parallel()
	lane <- struct{}{}
	t.Cleanup(func() { <-lane }) // the first registered: runs last
}

// TestMain sets -test.parallel high enough that the parallel tests are
// limited by their own classes (above), not by the order in which the
// testing package would happen to resume them; an explicit -parallel
// still applies.
func TestMain(m *testing.M) {
	flag.Parse()
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		if err := flag.Set("test.parallel", "64"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// testLogger discards logs unless GRIDMINT_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("GRIDMINT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startTestBroker starts an embedded broker on a free loopback port,
// closed when the test ends (after the test's own defers: a node closed
// by one still has its broker).
func startTestBroker(tb testing.TB) *Broker {
	tb.Helper()
	b, err := StartBroker("127.0.0.1:0", testLogger())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// demoSpeed is how much faster than the wall clock the demo tests run:
// 100 ms simulator periods become 12 s of device time, so 1 Wh counters
// grow within a test. Faster, the clock would stretch the broker's
// delivery latency into seconds of device time, and the node would rightly
// find an 11 kW charger's energy implausible for the node time that passed.
const demoSpeed = 120

// fastClock runs factor times faster than the wall clock from start, so a
// test sees hours of simulated energy in seconds while every component
// (simulator, node) agrees on one time.
type fastClock struct {
	mu       sync.Mutex
	start    time.Time
	realBase time.Time
	factor   float64
}

func newFastClock(start time.Time, factor float64) *fastClock {
	return &fastClock{start: start, realBase: time.Now(), factor: factor}
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.start.Add(time.Duration(float64(time.Since(c.realBase)) * c.factor))
}

// NewTicker ticks every d of the fast clock's time (node.TickerClock).
func (c *fastClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	real := max(time.Duration(float64(d)/c.factor), time.Millisecond)
	t := time.NewTicker(real)
	return t.C, t.Stop
}

// patience bounds every wait in these tests. The waits end as soon as
// their condition holds (in seconds, a few more on a loaded 2-core machine
// under the race detector), so only a real failure meets the bound.
const patience = 2 * time.Minute

// waitFor polls cond until it holds, failing the test after patience. It
// waits on real events (MQTT traffic, commits), not on elapsed time, so
// the bound is a deadline, not a timing assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", patience, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
