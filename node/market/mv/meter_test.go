package mv

import (
	"slices"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

var t0 = time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)

// battery readings every minute: idle, then discharging 1.2 kW for 15
// minutes from t0, then charging 600 W.
func batteryReadings(from, to time.Time) []gridmint.Reading {
	var out []gridmint.Reading
	var dis, chg gridmint.MWh
	for t := from; !t.After(to); t = t.Add(time.Minute) {
		out = append(out, gridmint.Reading{Device: "0xn/victron/bat", Time: t, Fields: gridmint.FieldEnergy | gridmint.FieldEnergyReverse,
			Energy: dis, EnergyReverse: chg})
		switch {
		case !t.Before(t0) && t.Before(t0.Add(15*time.Minute)):
			dis += 20_000 // 1.2 kW for a minute
		case !t.Before(t0.Add(15 * time.Minute)):
			chg += 10_000
		}
	}
	return out
}

func TestMeterBatteryConsumption(t *testing.T) {
	rs := batteryReadings(t0.Add(-30*time.Minute), t0.Add(time.Hour))
	s := Meter(gridmint.KindBattery, rs, t0.Add(-15*time.Minute), t0.Add(30*time.Minute))
	want := []gridmint.MWh{0, 0, 0, -100_000, -100_000, -100_000, 50_000, 50_000, 50_000}
	if !slices.Equal(s.Energy, want) || slices.Contains(s.Missing, true) {
		t.Errorf("energy %v missing %v, want %v none missing", s.Energy, s.Missing, want)
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestMeterGapsAreMissing(t *testing.T) {
	rs := batteryReadings(t0.Add(-30*time.Minute), t0.Add(time.Hour))
	// Drop 20 minutes of readings: the boundaries inside the gap cannot
	// be interpolated.
	rs = slices.DeleteFunc(rs, func(r gridmint.Reading) bool {
		return r.Time.After(t0.Add(-time.Minute)) && r.Time.Before(t0.Add(20*time.Minute))
	})
	s := Meter(gridmint.KindBattery, rs, t0.Add(-15*time.Minute), t0.Add(30*time.Minute))
	wantMissing := []bool{false, false, true, true, true, true, true, false, false}
	if !slices.Equal(s.Missing, wantMissing) {
		t.Errorf("missing %v, want %v", s.Missing, wantMissing)
	}
	// The messages: one run before the gap, one after.
	r := runs(s, 288)
	if len(r) != 2 || !r[0].Start.Equal(t0.Add(-15*time.Minute)) || len(r[0].Energy) != 2 || !r[1].Start.Equal(t0.Add(20*time.Minute)) || len(r[1].Energy) != 2 {
		t.Errorf("runs %+v", r)
	}
	// Runs never cross a UTC day and never exceed the limit.
	day := Meter(gridmint.KindBattery, batteryReadings(t0.Add(-24*time.Hour), t0.Add(time.Hour)), t0.Add(-20*time.Hour), t0)
	for _, x := range runs(day, 100) {
		if len(x.Energy) > 100 || x.Start.Truncate(24*time.Hour) != x.End().Add(-time.Nanosecond).Truncate(24*time.Hour) {
			t.Errorf("run %v + %d steps", x.Start, len(x.Energy))
		}
	}
	if s := Meter(gridmint.KindBattery, nil, t0, t0.Add(time.Hour)); !slices.Equal(s.Missing, slices.Repeat([]bool{true}, 12)) {
		t.Errorf("no readings: missing %v", s.Missing)
	}
}

func TestLookbackCoversEveryMethod(t *testing.T) {
	for _, m := range gridmint.BaselineMethods {
		from, to := lookback(m, t0, t0.Add(time.Hour))
		if from.After(t0) || to.Before(t0.Add(time.Hour)) || from.Sub(t0)%Step != 0 || to.Sub(t0)%Step != 0 {
			t.Errorf("%s: [%v, %v)", m, from, to)
		}
	}
}
