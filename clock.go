package gridmint

import (
	"fmt"
	"math"
	"time"
)

// Clock tells the time. Everything that reads the time takes a Clock, so
// tests and the accelerated simulator control it. Implementations must be
// safe for concurrent use.
//
// Two kinds of time exist in gridmint and must never be mixed:
//   - the Clock's time (demo time in `gridmint demo --speed X`, real time
//     otherwise): what the domain is about. Readings, energy budgets,
//     hourly intervals, message creation and freshness, market deadlines,
//     block timestamps of the embedded chain.
//   - wall time: how long the machine waits. Network, HTTP, MQTT and RPC
//     timeouts, retry back-offs, libp2p's own timers, log rate limits.
//
// A timer that waits for the Clock's time uses NewTicker or WallDuration;
// a timer in wall time uses package time and says so in a comment.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
}

// SystemClock is the wall clock, in UTC.
type SystemClock struct{}

// Now returns time.Now in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// TickerClock is a Clock that also makes tickers that tick in its own
// time: a clock that runs faster than the wall clock (ScaledClock, a
// test's fast clock) keeps every period in step with its Now.
type TickerClock interface {
	Clock
	// NewTicker ticks every d of the clock's time; stop releases it. The
	// values sent are wall-clock instants: read Now for the clock's time.
	NewTicker(d time.Duration) (c <-chan time.Time, stop func())
}

// NewTicker returns a ticker that ticks every d of clock's time: the
// clock's own (TickerClock), else a wall-clock ticker of d / SpeedOf(clock).
func NewTicker(clock Clock, d time.Duration) (<-chan time.Time, func()) {
	if tc, ok := clock.(TickerClock); ok {
		return tc.NewTicker(d)
	}
	t := time.NewTicker(WallDuration(clock, d))
	return t.C, t.Stop
}

// SpeedOf is how many seconds of clock's time pass per wall-clock second:
// the clock's Rate when it has one (ScaledClock), else 1.
func SpeedOf(clock Clock) float64 {
	if r, ok := clock.(interface{ Rate() float64 }); ok {
		return r.Rate()
	}
	return 1
}

// WallDuration is how long the wall clock takes while d of clock's time
// passes, at least a millisecond for a positive d.
func WallDuration(clock Clock, d time.Duration) time.Duration {
	s := SpeedOf(clock)
	if s == 1 || d <= 0 {
		return d
	}
	return max(time.Duration(float64(d)/s), time.Millisecond)
}

// MaxSpeed bounds ScaledClock.Speed: a day in a minute.
const MaxSpeed = 1440

// ScaledClock is the demo clock: it read Epoch at the wall-clock instant
// WallStart and runs Speed times as fast as the wall clock since, so
//
//	Now = Epoch + (wall now − WallStart) × Speed.
//
// Every process of a demo network is handed the same Epoch, WallStart and
// Speed, so all of them, and every component in them, read the same
// time (to within the machines' wall-clock agreement). Speed 1 with
// Epoch = WallStart is the wall clock. The zero value is not usable: make
// one with NewScaledClock. Safe for concurrent use (it is immutable).
type ScaledClock struct {
	epoch, wallStart time.Time
	speed            float64
	wall             func() time.Time // time.Now; tests replace it
}

// NewScaledClock returns the clock that reads epoch at wall-clock time
// wallStart and runs speed (1 to MaxSpeed) times as fast as the wall.
func NewScaledClock(epoch, wallStart time.Time, speed float64) (*ScaledClock, error) {
	if math.IsNaN(speed) || speed < 1 || speed > MaxSpeed {
		return nil, Errorf(EInvalid, "clock speed %v: want 1 to %d (demo seconds per wall-clock second)", speed, MaxSpeed)
	}
	if epoch.IsZero() || wallStart.IsZero() {
		return nil, Errorf(EInvalid, "clock: epoch and wall start must be set")
	}
	// Round(0) drops the monotonic reading: Now must compute from the wall
	// clock, as every other process of the network does.
	return &ScaledClock{epoch: epoch.UTC().Round(0), wallStart: wallStart.UTC().Round(0), speed: speed, wall: time.Now}, nil
}

// Now is Epoch + (wall now − WallStart) × Speed, in UTC.
func (c *ScaledClock) Now() time.Time {
	return c.At(c.wall())
}

// At is the clock's time at wall-clock instant wall.
func (c *ScaledClock) At(wall time.Time) time.Time {
	d := wall.Round(0).Sub(c.wallStart)
	if c.speed != 1 {
		d = time.Duration(float64(d) * c.speed)
	}
	return c.epoch.Add(d).UTC()
}

// Epoch is the clock's time at WallStart.
func (c *ScaledClock) Epoch() time.Time { return c.epoch }

// WallStart is the wall-clock instant at which the clock read Epoch.
func (c *ScaledClock) WallStart() time.Time { return c.wallStart }

// Rate is the speed: clock seconds per wall-clock second (see SpeedOf).
func (c *ScaledClock) Rate() float64 { return c.speed }

// NewTicker ticks every d of the clock's time, i.e. every d / Speed of
// wall time (at least 1 ms); see TickerClock.
func (c *ScaledClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(WallDuration(c, d))
	return t.C, t.Stop
}

func (c *ScaledClock) String() string {
	return fmt.Sprintf("demo clock ×%g: %s at wall %s", c.speed, c.epoch.Format(time.RFC3339), c.wallStart.Format(time.RFC3339Nano))
}
