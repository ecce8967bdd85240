package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gridmint/gridmint"
)

// DemoClockFile, in a demo's data dir, keeps its demo clock (epoch, wall
// start, speed), so that demo time never runs back across restarts: the
// readings, the gossip history and the chain's blocks of a data dir carry
// demo times.
const DemoClockFile = "demo-clock.json"

type demoClockJSON struct {
	Epoch     time.Time `json:"epoch"`
	WallStart time.Time `json:"wall_start"`
	Speed     float64   `json:"speed"`
}

// DemoClock is the demo clock of the demo in dir at speed, which it
// writes to dir/DemoClockFile:
//   - epoch set: the clock that reads epoch at wallStart (now, if zero):
//     the launcher of a demo network hands every node the same;
//   - else the clock kept in dir, which ran on while the demo was
//     stopped; at another speed, continued from where it is now;
//   - else, in a new data dir, the wall clock's time now.
//
// now is the wall clock's time.
func DemoClock(dir string, speed float64, epoch, wallStart, now time.Time) (*gridmint.ScaledClock, error) {
	path := filepath.Join(dir, DemoClockFile)
	var c *gridmint.ScaledClock
	var err error
	switch {
	case !epoch.IsZero():
		if wallStart.IsZero() {
			wallStart = now
		}
		c, err = gridmint.NewScaledClock(epoch, wallStart, speed)
	default:
		kept, ok, rerr := readDemoClock(path)
		switch {
		case rerr != nil:
			return nil, rerr
		case ok && kept.Rate() == speed:
			c = kept
		case ok:
			// Another speed from now on; the time goes on from here.
			c, err = gridmint.NewScaledClock(kept.At(now), now, speed)
		default:
			c, err = gridmint.NewScaledClock(now, now, speed)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	b, _ := json.MarshalIndent(demoClockJSON{Epoch: c.Epoch(), WallStart: c.WallStart(), Speed: c.Rate()}, "", "  ")
	if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("demo clock: %w", err)
	}
	return c, nil
}

// readDemoClock reads a kept demo clock; ok is false when there is none.
func readDemoClock(path string) (*gridmint.ScaledClock, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("demo clock: %w", err)
	}
	var j demoClockJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, false, fmt.Errorf("demo clock %s is damaged (%v); remove it to start the demo clock at the wall clock's time", path, err)
	}
	c, err := gridmint.NewScaledClock(j.Epoch, j.WallStart, j.Speed)
	if err != nil {
		return nil, false, fmt.Errorf("demo clock %s: %w; remove it to start the demo clock at the wall clock's time", path, err)
	}
	return c, true, nil
}
