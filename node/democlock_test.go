package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDemoClockNeverRunsBack: a demo data dir keeps its clock; a restart
// at the same speed continues it (it ran on meanwhile), at another speed
// from where it is, and the launcher's explicit clock wins.
func TestDemoClockNeverRunsBack(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	c, err := DemoClock(dir, 60, time.Time{}, time.Time{}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !c.At(t0).Equal(t0) {
		t.Errorf("a new demo clock reads %v at wall %v, want the wall time", c.At(t0), t0)
	}
	// Ten wall minutes later, stopped and started again at ×60: ten demo
	// hours have passed.
	t1 := t0.Add(10 * time.Minute)
	c, err = DemoClock(dir, 60, time.Time{}, time.Time{}, t1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.At(t1), t0.Add(10*time.Hour); !got.Equal(want) {
		t.Errorf("restarted at ×60: %v, want %v", got, want)
	}
	// At ×1 it goes on from there, in wall time.
	c, err = DemoClock(dir, 1, time.Time{}, time.Time{}, t1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.At(t1.Add(time.Minute)), t0.Add(10*time.Hour+time.Minute); !got.Equal(want) || c.Rate() != 1 {
		t.Errorf("switched to ×1: %v at ×%v, want %v at ×1", got, c.Rate(), want)
	}
	// An explicit clock (the network launcher's) is taken as given and kept.
	epoch := time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC)
	c, err = DemoClock(dir, 60, epoch, t1, t1.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.At(t1.Add(time.Second)); !got.Equal(epoch.Add(time.Minute)) {
		t.Errorf("explicit clock: %v, want %v", got, epoch.Add(time.Minute))
	}
	kept, ok, err := readDemoClock(filepath.Join(dir, DemoClockFile))
	if err != nil || !ok || !kept.Epoch().Equal(epoch) || !kept.WallStart().Equal(t1) || kept.Rate() != 60 {
		t.Errorf("kept clock %v (%v, %v), want the explicit one", kept, ok, err)
	}
	// Bad input: a damaged file and a speed out of range say so.
	if err := os.WriteFile(filepath.Join(dir, DemoClockFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DemoClock(dir, 60, time.Time{}, time.Time{}, t1); err == nil {
		t.Error("a damaged demo clock file was accepted")
	}
	if _, err := DemoClock(t.TempDir(), 0.5, time.Time{}, time.Time{}, t1); err == nil {
		t.Error("speed 0.5 was accepted")
	}
}
