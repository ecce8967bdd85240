package gridmint

import (
	"testing"
	"time"
)

func TestScaledClock(t *testing.T) {
	epoch := time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC)
	wallStart := time.Date(2026, 12, 5, 20, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		speed float64
		after time.Duration // wall time since wallStart
		want  time.Time
	}{
		{"at the start", 60, 0, epoch},
		{"a wall minute at 60 is a demo hour", 60, time.Minute, epoch.Add(time.Hour)},
		{"speed 1 follows the wall", 1, 90 * time.Second, epoch.Add(90 * time.Second)},
		{"a day in a minute", MaxSpeed, time.Minute, epoch.Add(24 * time.Hour)},
		{"before the start runs back as fast", 60, -time.Second, epoch.Add(-time.Minute)},
		{"fractional speed", 2.5, 2 * time.Second, epoch.Add(5 * time.Second)},
	} {
		c, err := NewScaledClock(epoch, wallStart, tc.speed)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := c.At(wallStart.Add(tc.after)); !got.Equal(tc.want) {
			t.Errorf("%s: At(wall start + %v) = %v, want %v", tc.name, tc.after, got, tc.want)
		}
		c.wall = func() time.Time { return wallStart.Add(tc.after) }
		if got := c.Now(); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("%s: Now() = %v, want %v in UTC", tc.name, got, tc.want)
		}
		if SpeedOf(c) != tc.speed {
			t.Errorf("%s: SpeedOf = %v, want %v", tc.name, SpeedOf(c), tc.speed)
		}
	}
}

// Two processes given the same epoch, wall start and speed agree: the
// clock reads the wall clock, not the process's monotonic clock.
func TestScaledClockAgreesAcrossInstances(t *testing.T) {
	epoch := time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC)
	start := time.Now() // carries a monotonic reading
	a, err := NewScaledClock(epoch, start, 60)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := time.Parse(time.RFC3339Nano, start.UTC().Format(time.RFC3339Nano))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewScaledClock(epoch, parsed, 60)
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Now()
	if ta, tb := a.At(wall), b.At(wall); !ta.Equal(tb) {
		t.Errorf("clocks from the same epoch and wall start disagree: %v and %v", ta, tb)
	}
	// Monotonic: a later wall instant never reads an earlier time.
	prev := a.Now()
	for range 1000 {
		now := a.Now()
		if now.Before(prev) {
			t.Fatalf("Now went back from %v to %v", prev, now)
		}
		prev = now
	}
}

func TestScaledClockRefusesBadSettings(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name         string
		epoch, start time.Time
		speed        float64
	}{
		{"speed below 1", now, now, 0.5},
		{"speed 0", now, now, 0},
		{"speed above the maximum", now, now, MaxSpeed + 1},
		{"NaN speed", now, now, nan()},
		{"no epoch", time.Time{}, now, 60},
		{"no wall start", now, time.Time{}, 60},
	} {
		if c, err := NewScaledClock(tc.epoch, tc.start, tc.speed); err == nil || ErrorCode(err) != EInvalid {
			t.Errorf("%s: NewScaledClock = %v, %v; want an invalid error", tc.name, c, err)
		}
	}
}

func TestTickerInClockTime(t *testing.T) {
	c, err := NewScaledClock(time.Now(), time.Now(), 600)
	if err != nil {
		t.Fatal(err)
	}
	if got := WallDuration(c, time.Minute); got != 100*time.Millisecond {
		t.Errorf("WallDuration(×600, 1m) = %v, want 100ms", got)
	}
	if got := WallDuration(c, time.Microsecond); got != time.Millisecond {
		t.Errorf("WallDuration(×600, 1µs) = %v, want the 1 ms floor", got)
	}
	if got := WallDuration(SystemClock{}, time.Minute); got != time.Minute {
		t.Errorf("WallDuration(system clock, 1m) = %v, want 1m", got)
	}
	// A ticker of 10 demo minutes at ×600 ticks within a few wall seconds
	// (a deadline, not a timing assertion).
	before := c.Now() // before the ticker starts, or a busy machine's delay between the two counts against it
	ch, stop := NewTicker(c, 10*time.Minute)
	defer stop()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("a ticker of 10 demo minutes at ×600 (1 s of wall time) did not tick within 10 s")
	}
	// The ticker runs on the monotonic clock, Now on the wall clock: a
	// demo second (1.7 ms of wall time) of slack between the two.
	if elapsed := c.Now().Sub(before); elapsed < 10*time.Minute-time.Second {
		t.Errorf("the ticker ticked after %v of demo time, want at least 10m", elapsed)
	}
}
