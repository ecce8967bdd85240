package rec_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/rec"
)

// TestHoursFromNormalisedCounters runs raw device counters with reboots
// (lifetime counters falling to zero), daily rollovers and silences
// through the devices package's normaliser and then the Builder: the Wh of
// the built hours are the floor of the normalised counter's growth, and
// the hours around a reset are estimated. (A test-only import: package rec
// itself imports only the root package.)
func TestHoursFromNormalisedCounters(t *testing.T) {
	dev := gridmint.Device{ID: "0xabc/tasmota/pv", Kind: gridmint.KindPVInverter, Dialect: "tasmota", Nameplate: 5000}
	lim := devices.DefaultLimits()
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		kind := gridmint.CounterLifetime
		if seed%2 == 0 {
			kind = gridmint.CounterDaily
		}
		var st *devices.CounterState
		b := rec.NewBuilder(rec.BuilderState{}, 0)
		now := time.Date(2025, 6, 21, 4, 0, 0, 0, time.UTC)
		raw := gridmint.MWh(rng.Int64N(1e8))
		resets := 0
		var first, last gridmint.MWh
		var n int
		for range 3000 {
			step := time.Duration(30+rng.IntN(270)) * time.Second
			if rng.IntN(100) == 0 {
				step = time.Duration(20+rng.IntN(120)) * time.Minute // the device went quiet
			}
			next := now.Add(step)
			raw += gridmint.MWh(rng.Float64() * 4000 * step.Hours() * 1000) // up to 4 kW
			switch {
			case kind == gridmint.CounterDaily && next.YearDay() != now.YearDay():
				raw = gridmint.MWh(rng.Int64N(2000)) // midnight rollover
			case kind == gridmint.CounterLifetime && rng.IntN(300) == 0:
				raw = gridmint.MWh(rng.Int64N(2000)) // a reboot lost the counter
				resets++
			}
			now = next
			r, s, rej := devices.Normalise(dev, st, devices.Measurement{Forward: &devices.Counter{Value: raw, Kind: kind}}, now, lim)
			st = &s
			if rej != nil {
				continue
			}
			if err := b.Add(*r); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if n == 0 {
				first = r.Energy
			}
			last = r.Energy
			n++
		}
		hours := b.Hours()
		if len(hours) < 24 {
			t.Fatalf("seed %d: only %d hours built", seed, len(hours))
		}
		var wh gridmint.Wh
		estimated := 0
		for _, h := range hours {
			wh += h.Wh
			if h.Quality != gridmint.QualityOK {
				estimated++
			}
		}
		lastHour := hours[len(hours)-1]
		if got, want := wh, gridmint.Wh((lastHour.CounterEnd-hours[0].CounterStart)/1000); got != want {
			t.Errorf("seed %d: %d Wh over %d hours, counter growth gives %d", seed, got, len(hours), want)
		}
		if hours[0].CounterStart < first || lastHour.CounterEnd > last {
			t.Errorf("seed %d: hours span counters %d..%d outside the readings' %d..%d", seed, hours[0].CounterStart, lastHour.CounterEnd, first, last)
		}
		if resets > 0 && estimated == 0 {
			t.Errorf("seed %d: %d resets but no estimated hour", seed, resets)
		}
	}
}
