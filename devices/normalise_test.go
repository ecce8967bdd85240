package devices

import (
	"math"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

var t0 = time.Date(2026, 6, 21, 10, 0, 0, 0, time.UTC)

func plugDevice() gridmint.Device {
	return gridmint.Device{ID: "n/tasmota/plug", Kind: gridmint.KindPlug, Dialect: "tasmota", Serial: "plug"}
}

// step is one measurement fed to the normaliser and what must come out.
type step struct {
	name        string
	at          time.Duration // node receive time after t0
	src         time.Duration // device time after t0; -1 = none
	power       gridmint.W
	counter     gridmint.MWh
	kind        gridmint.CounterKind
	wantReason  gridmint.Reason // "" = a reading
	wantEnergy  gridmint.MWh    // normalised lifetime energy after the step
	wantEvent   gridmint.CounterEvent
	wantQuality gridmint.Quality
}

// testLimits are the defaults without the first reading's InitialSpan, so
// tests see the budget's per-time mechanics from the first step.
func testLimits() Limits {
	lim := DefaultLimits()
	lim.InitialSpan = 0
	return lim
}

func runSteps(t *testing.T, dev gridmint.Device, steps []step) {
	t.Helper()
	lim := testLimits()
	var prev *CounterState
	var energy gridmint.MWh
	for _, s := range steps {
		kind := s.kind
		if kind == "" {
			kind = gridmint.CounterLifetime
		}
		m := Measurement{Power: ptr(s.power), Forward: &Counter{Value: s.counter, Kind: kind}}
		if s.src >= 0 {
			m.SourceTime = t0.Add(s.src)
		}
		r, next, rej := Normalise(dev, prev, m, t0.Add(s.at), lim)
		switch {
		case s.wantReason != "" && rej == nil:
			t.Fatalf("%s: got reading %v, want rejection %q", s.name, r, s.wantReason)
		case s.wantReason != "" && rej.Reason != s.wantReason:
			t.Fatalf("%s: got rejection %q (%s), want %q", s.name, rej.Reason, rej.Detail, s.wantReason)
		case s.wantReason == "" && rej != nil:
			t.Fatalf("%s: got rejection %q (%s), want a reading", s.name, rej.Reason, rej.Detail)
		}
		if r != nil {
			if r.Energy < energy {
				t.Fatalf("%s: normalised energy fell from %v to %v", s.name, energy, r.Energy)
			}
			energy = r.Energy
			if r.Event != s.wantEvent {
				t.Errorf("%s: event = %q, want %q", s.name, r.Event, s.wantEvent)
			}
			q := s.wantQuality
			if q == "" {
				q = gridmint.QualityOK
			}
			if r.Quality != q {
				t.Errorf("%s: quality = %q, want %q", s.name, r.Quality, q)
			}
			if r.Raw != s.counter || r.Device != dev.ID {
				t.Errorf("%s: reading raw=%v device=%s, want raw=%v device=%s", s.name, r.Raw, r.Device, s.counter, dev.ID)
			}
		}
		if energy != s.wantEnergy {
			t.Fatalf("%s: energy = %v, want %v", s.name, energy, s.wantEnergy)
		}
		prev = &next
	}
}

const (
	wh  = gridmint.MWh(1000)
	kwh = 1000 * wh
)

func TestNormaliseLifetimeCounter(t *testing.T) {
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: 0, power: 100, counter: 514 * kwh, wantEnergy: 514 * kwh, wantEvent: gridmint.EventFirst},
		{name: "grows", at: time.Minute, src: time.Minute, power: 100, counter: 514*kwh + 2*wh, wantEnergy: 514*kwh + 2*wh},
		{name: "unchanged", at: 2 * time.Minute, src: 2 * time.Minute, power: 0, counter: 514*kwh + 2*wh, wantEnergy: 514*kwh + 2*wh},
		{name: "jitter down is not a reset", at: 3 * time.Minute, src: 3 * time.Minute, counter: 514*kwh + 1*wh, wantEnergy: 514*kwh + 2*wh},
		{name: "growth measured from the higher baseline", at: 4 * time.Minute, src: 4 * time.Minute, counter: 514*kwh + 5*wh, wantEnergy: 514*kwh + 5*wh},
		{name: "a drop to near zero is held", at: 5 * time.Minute, src: 5 * time.Minute, counter: 3 * wh,
			wantEnergy: 514*kwh + 5*wh, wantEvent: gridmint.EventReset, wantQuality: gridmint.QualityEstimated},
		{name: "continuing from the low value confirms the reset: energy since it is credited", at: 6 * time.Minute, src: 6 * time.Minute, counter: 9 * wh,
			wantEnergy: 514*kwh + 14*wh},
		{name: "grows after reset", at: 7 * time.Minute, src: 7 * time.Minute, counter: 12 * wh, wantEnergy: 514*kwh + 17*wh},
	})
}

func TestNormaliseGlitchIsNotDoubleCounted(t *testing.T) {
	// 0 → 20 → 14 → 21 Wh: the dip to 14 was a glitch, the device made 21 Wh.
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: -1, counter: 0, wantEnergy: 0, wantEvent: gridmint.EventFirst},
		{name: "20", at: time.Minute, src: -1, counter: 20 * wh, wantEnergy: 20 * wh},
		{name: "dip to 14", at: 2 * time.Minute, src: -1, counter: 14 * wh, wantEnergy: 20 * wh,
			wantEvent: gridmint.EventReset, wantQuality: gridmint.QualityEstimated},
		{name: "back at 21", at: 3 * time.Minute, src: -1, counter: 21 * wh, wantEnergy: 21 * wh},
	})
	// Daily 5000 → 4990 → 5010 Wh is a net 10 Wh.
	daily := gridmint.CounterDaily
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: -1, counter: 5000 * wh, kind: daily, wantEnergy: 5000 * wh, wantEvent: gridmint.EventFirst},
		{name: "dip", at: time.Minute, src: -1, counter: 4990 * wh, kind: daily, wantEnergy: 5000 * wh, wantEvent: gridmint.EventRollover},
		{name: "back above", at: 2 * time.Minute, src: -1, counter: 5010 * wh, kind: daily, wantEnergy: 5010 * wh},
	})
}

func TestNormaliseRollbackIsNotDoubleCounted(t *testing.T) {
	// A device that loses its unsaved increments on reboot comes back with
	// a lower, still large counter: credit nothing rather than the whole
	// counter again.
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: -1, counter: 514 * kwh, wantEnergy: 514 * kwh, wantEvent: gridmint.EventFirst},
		{name: "rolled back 200 Wh", at: time.Minute, src: -1, counter: 514*kwh - 200*wh,
			wantEnergy: 514 * kwh, wantEvent: gridmint.EventReset, wantQuality: gridmint.QualityEstimated},
		{name: "counts on from the new baseline", at: 2 * time.Minute, src: -1, counter: 514*kwh - 195*wh, wantEnergy: 514*kwh + 5*wh,
			wantQuality: gridmint.QualityEstimated},
	})
}

func TestNormaliseDailyCounter(t *testing.T) {
	daily := gridmint.CounterDaily
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: -1, counter: 5 * kwh, kind: daily, wantEnergy: 5 * kwh, wantEvent: gridmint.EventFirst},
		{name: "evening", at: 2 * time.Hour, src: -1, counter: 6 * kwh, kind: daily, wantEnergy: 6 * kwh},
		{name: "after midnight the daily counter restarts", at: 14 * time.Hour, src: -1, counter: 150 * wh, kind: daily,
			wantEnergy: 6 * kwh, wantEvent: gridmint.EventRollover},
		{name: "the next value confirms it: energy since midnight counts", at: 14*time.Hour + time.Minute, src: -1, counter: 152 * wh, kind: daily,
			wantEnergy: 6*kwh + 152*wh},
		{name: "a small drop of a daily counter is a rollover too", at: 38 * time.Hour, src: -1, counter: 0, kind: daily,
			wantEnergy: 6*kwh + 152*wh, wantEvent: gridmint.EventRollover},
		{name: "and counts from zero", at: 38*time.Hour + time.Minute, src: -1, counter: 1 * wh, kind: daily,
			wantEnergy: 6*kwh + 153*wh},
	})
}

func TestNormaliseDuplicatesAndOrder(t *testing.T) {
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: 0, power: 50, counter: 10 * kwh, wantEnergy: 10 * kwh, wantEvent: gridmint.EventFirst},
		{name: "t1", at: time.Minute, src: time.Minute, power: 60, counter: 10*kwh + wh, wantEnergy: 10*kwh + wh},
		{name: "t2", at: 2 * time.Minute, src: 2 * time.Minute, power: 60, counter: 10*kwh + 2*wh, wantEnergy: 10*kwh + 2*wh},
		{name: "retained copy re-sent on reconnect", at: 3 * time.Minute, src: 2 * time.Minute, power: 60, counter: 10*kwh + 2*wh,
			wantReason: gridmint.ReasonDuplicate, wantEnergy: 10*kwh + 2*wh},
		{name: "an older message the broker re-delivers after a crash", at: 3 * time.Minute, src: time.Minute, power: 60, counter: 10*kwh + wh,
			wantReason: gridmint.ReasonDuplicate, wantEnergy: 10*kwh + 2*wh},
		{name: "same device time, other values", at: 3 * time.Minute, src: 2 * time.Minute, power: 61, counter: 10*kwh + 3*wh,
			wantReason: gridmint.ReasonDuplicate, wantEnergy: 10*kwh + 2*wh},
		{name: "late message from before", at: 3 * time.Minute, src: 30 * time.Second, power: 55, counter: 10*kwh + wh/2,
			wantReason: gridmint.ReasonOutOfOrder, wantEnergy: 10*kwh + 2*wh},
		{name: "device clock stepped back but counter grew", at: 4 * time.Minute, src: -time.Hour + 4*time.Minute, power: 60, counter: 10*kwh + 3*wh,
			wantEnergy: 10*kwh + 3*wh},
		{name: "next after clock step", at: 5 * time.Minute, src: -time.Hour + 5*time.Minute, power: 60, counter: 10*kwh + 4*wh,
			wantEnergy: 10*kwh + 4*wh},
	})
}

func TestNormaliseBudgetBoundsEnergyByNodeTime(t *testing.T) {
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: 0, counter: 10 * kwh, wantEnergy: 10 * kwh, wantEvent: gridmint.EventFirst},
		// Budget: 10 Wh slack + 3.68 kW × 1 min = 71.3 Wh.
		{name: "jump of 1 MWh in a minute", at: time.Minute, src: time.Minute, counter: 1010 * kwh,
			wantReason: gridmint.ReasonImplausible, wantEnergy: 10 * kwh},
		{name: "counting on from the new level is accepted", at: 2 * time.Minute, src: 2 * time.Minute, counter: 1010*kwh + 20*wh,
			wantEnergy: 10*kwh + 20*wh},
		// Unspent budget carries over: 132.6 Wh - 20 + 61.3 = 173.9 Wh.
		{name: "saved-up budget allows a catch-up", at: 3 * time.Minute, src: 3 * time.Minute, counter: 1010*kwh + 190*wh,
			wantEnergy: 10*kwh + 190*wh},
		{name: "but not beyond it", at: 3*time.Minute + time.Second, src: 3*time.Minute + time.Second, counter: 1010*kwh + 200*wh,
			wantReason: gridmint.ReasonImplausible, wantEnergy: 10*kwh + 190*wh},
	})
}

func TestNormaliseDeviceClockCannotWidenTheBound(t *testing.T) {
	// A device (or forger) that claims a year passed between two messages
	// a second apart gains nothing: the budget accrues in node time.
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: 0, counter: 0, wantEnergy: 0, wantEvent: gridmint.EventFirst},
		{name: "a year later by the device's clock", at: time.Second, src: 365 * 24 * time.Hour, counter: 30 * 1000 * kwh,
			wantReason: gridmint.ReasonImplausible, wantEnergy: 0},
	})
	// Nor does a timestamp in year 9000: it is ignored as unset.
	lim := DefaultLimits()
	dev := plugDevice()
	_, st, _ := Normalise(dev, nil, Measurement{Forward: &Counter{Value: 0, Kind: gridmint.CounterLifetime}}, t0, lim)
	r, st, rej := Normalise(dev, &st, Measurement{SourceTime: time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC), Forward: &Counter{Value: wh, Kind: gridmint.CounterLifetime}}, t0.Add(time.Second), lim)
	if rej != nil || !r.SourceTime.IsZero() || !st.SourceTime.IsZero() {
		t.Errorf("far-future source time: reading %v, state source time %v, rejection %v; want it ignored", r, st.SourceTime, rej)
	}
	if _, err := MarshalCounterState(st); err != nil {
		t.Errorf("state after a far-future timestamp does not encode: %v", err)
	}
}

func TestNormaliseSlackIsNotPerReading(t *testing.T) {
	// 1000 messages 1 ms apart, each +10 Wh: at most the slack plus
	// 3.68 kW × 1 s may be credited.
	lim := testLimits()
	dev := plugDevice()
	_, st, _ := Normalise(dev, nil, Measurement{Forward: &Counter{Value: 0, Kind: gridmint.CounterLifetime}}, t0, lim)
	var energy gridmint.MWh
	for i := 1; i <= 1000; i++ {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r, next, _ := Normalise(dev, &st, Measurement{SourceTime: at, Forward: &Counter{Value: gridmint.MWh(i) * 10 * wh, Kind: gridmint.CounterLifetime}}, at, lim)
		if r != nil {
			energy = r.Energy
		}
		st = next
	}
	if bound := lim.Slack + energyAt(lim.maxPower(dev), time.Second); energy > bound {
		t.Errorf("credited %v in 1 s, bound %v", energy, bound)
	}
}

func TestNormaliseBurstAfterRestart(t *testing.T) {
	// Messages queued at the broker while the node was down arrive within
	// milliseconds; the node's downtime funded them.
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: 0, counter: 10 * kwh, wantEnergy: 10 * kwh, wantEvent: gridmint.EventFirst},
		{name: "queued 1", at: time.Hour, src: time.Minute, counter: 10*kwh + 50*wh, wantEnergy: 10*kwh + 50*wh},
		{name: "queued 2", at: time.Hour + time.Millisecond, src: 2 * time.Minute, counter: 10*kwh + 100*wh, wantEnergy: 10*kwh + 100*wh},
	})
}

func TestNormaliseBadValues(t *testing.T) {
	first := step{name: "first", at: 0, src: -1, counter: kwh, wantEnergy: kwh, wantEvent: gridmint.EventFirst}
	tests := []struct {
		name    string
		power   gridmint.W
		counter gridmint.MWh
		kind    gridmint.CounterKind
		want    gridmint.Reason
	}{
		{"NaN power", gridmint.W(math.NaN()), kwh, gridmint.CounterLifetime, gridmint.ReasonNotFinite},
		{"infinite power", gridmint.W(math.Inf(-1)), kwh, gridmint.CounterLifetime, gridmint.ReasonNotFinite},
		{"absurd power", 2e6, kwh, gridmint.CounterLifetime, gridmint.ReasonAbsurd},
		{"negative counter", 0, -1, gridmint.CounterLifetime, gridmint.ReasonNegative},
		{"absurd counter", 0, 2_000_000 * kwh, gridmint.CounterLifetime, gridmint.ReasonAbsurd},
		{"unknown counter kind", 0, kwh, "weekly", gridmint.ReasonWrongType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runSteps(t, plugDevice(), []step{first, {name: tt.name, at: time.Minute, src: -1, power: tt.power, counter: tt.counter, kind: tt.kind,
				wantReason: tt.want, wantEnergy: kwh}})
		})
	}
}

func TestNormaliseNodeClockBackwardsKeepsOrder(t *testing.T) {
	lim := DefaultLimits()
	dev := plugDevice()
	r1, st, _ := Normalise(dev, nil, Measurement{Forward: &Counter{Value: kwh, Kind: gridmint.CounterLifetime}}, t0, lim)
	r2, _, rej := Normalise(dev, &st, Measurement{Forward: &Counter{Value: kwh + wh, Kind: gridmint.CounterLifetime}}, t0.Add(-time.Hour), lim)
	if rej != nil {
		t.Fatalf("rejected: %v", rej)
	}
	if r2.Time.Before(r1.Time) {
		t.Errorf("second reading time %v before first %v", r2.Time, r1.Time)
	}
}

func TestNormaliseNameplateBound(t *testing.T) {
	dev := gridmint.Device{ID: "n/opendtu/1", Kind: gridmint.KindPVInverter, Dialect: "opendtu", Serial: "1", Nameplate: 800}
	// 800 W × 1.25 for one hour is 1000 Wh, + 10 Wh slack.
	runSteps(t, dev, []step{
		{name: "first", at: 0, src: 0, counter: 0, wantEnergy: 0, wantEvent: gridmint.EventFirst},
		{name: "1010 Wh in an hour is the limit", at: time.Hour, src: time.Hour, counter: 1010 * wh, wantEnergy: 1010 * wh},
		{name: "1011 Wh in the next hour is too much", at: 2 * time.Hour, src: 2 * time.Hour, counter: 2021 * wh,
			wantReason: gridmint.ReasonImplausible, wantEnergy: 1010 * wh},
	})
}

func TestCounterStateRoundTrip(t *testing.T) {
	in := CounterState{
		Forward: Track{Known: true, Raw: 5, Counter: gridmint.CounterDaily, Energy: 9, Budget: 7, Since: t0, Pending: true, PendingFrom: 11},
		Reverse: Track{Known: true, Raw: 3, Counter: gridmint.CounterLifetime, Energy: 3, Since: t0.Add(-time.Hour)},
		Power:   1.5, SoC: 42.5, Fields: gridmint.FieldPower | gridmint.FieldSoC, Time: t0, SourceTime: t0.Add(-time.Second),
		Recent:       []SourceSample{{t0.Add(-time.Second), 5}},
		Availability: AvailabilityOffline, Heard: t0.Add(-time.Minute),
	}
	b, err := MarshalCounterState(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := UnmarshalCounterState(b)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Equal(in) {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}
	if _, err := UnmarshalCounterState([]byte("{")); err == nil {
		t.Error("UnmarshalCounterState(garbage) = nil error")
	}
	if _, err := UnmarshalCounterState([]byte(`{"time_ns":1,"avail":7}`)); err == nil {
		t.Error("UnmarshalCounterState(availability 7) = nil error")
	}
	// A state stored before availability was kept reads as unknown.
	if old, err := UnmarshalCounterState([]byte(`{"time_ns":1}`)); err != nil || old.Availability != AvailabilityUnknown || !old.Heard.IsZero() {
		t.Errorf("state without availability: %+v, %v; want unknown", old, err)
	}
}

// FuzzNormalise feeds arbitrary measurement sequences (counters, kinds,
// node and device times) and checks the invariants: normalised energy
// never falls, and never grows faster than the device's maximum power over
// node time plus the slack, whatever the input.
func FuzzNormalise(f *testing.F) {
	f.Add([]byte{0, 10, 1, 1, 20, 2, 2, 5, 3, 3, 200, 4, 4, 0, 5})
	f.Add([]byte{0, 0, 0, 1, 200, 255, 1, 14, 0, 1, 21, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := DefaultLimits()
		dev := plugDevice()
		var prev *CounterState
		var first, last gridmint.MWh
		var firstTime time.Time
		now, src := t0, t0
		for i := 0; i+2 < len(data); i += 3 {
			now = now.Add(time.Duration(data[i]) * 100 * time.Millisecond)
			// Device time wanders: forward, backward, or far away.
			src = src.Add(time.Duration(int8(data[i+2])) * time.Minute)
			counter := gridmint.MWh(data[i+1]) * 10 * wh
			kind := gridmint.CounterLifetime
			if data[i+2]%5 == 0 {
				kind = gridmint.CounterDaily
			}
			m := Measurement{SourceTime: src, Power: ptr(gridmint.W(data[i+1])), Forward: &Counter{Value: counter, Kind: kind}}
			if data[i+2]%7 == 0 {
				m.SourceTime = time.Time{}
			}
			r, next, _ := Normalise(dev, prev, m, now, lim)
			if r != nil {
				if prev == nil {
					first, firstTime = r.Energy, r.Time
				}
				if r.Energy < last && prev != nil {
					t.Fatalf("energy fell from %v to %v", last, r.Energy)
				}
				if bound := lim.Slack + energyAt(lim.maxPower(dev), r.Time.Sub(firstTime)+lim.InitialSpan); r.Energy-first > bound {
					t.Fatalf("credited %v over %v of node time, bound %v", r.Energy-first, r.Time.Sub(firstTime), bound)
				}
				last = r.Energy
			}
			if _, err := MarshalCounterState(next); err != nil {
				t.Fatalf("state does not encode: %v", err)
			}
			prev = &next
		}
	})
}

func TestNormaliseTwoCountersAndPartialMeasurements(t *testing.T) {
	lim := DefaultLimits()
	meter := gridmint.Device{ID: "n/shelly/em", Kind: gridmint.KindMeter, Dialect: "shelly", Serial: "em"}
	lifetime := func(v gridmint.MWh) *Counter { return &Counter{Value: v, Kind: gridmint.CounterLifetime} }
	steps := []struct {
		name       string
		at         time.Duration
		m          Measurement
		wantFields gridmint.ReadingFields
		wantImport gridmint.MWh
		wantExport gridmint.MWh
	}{
		{"first: import and export counters", 0,
			Measurement{Power: ptr(gridmint.W(-500)), Forward: lifetime(100 * kwh), Reverse: lifetime(20 * kwh)},
			gridmint.FieldPower | gridmint.FieldEnergy | gridmint.FieldEnergyReverse, 100 * kwh, 20 * kwh},
		{"export grows, import stays", time.Minute,
			Measurement{Power: ptr(gridmint.W(-500)), Forward: lifetime(100 * kwh), Reverse: lifetime(20*kwh + 8*wh)},
			gridmint.FieldPower | gridmint.FieldEnergy | gridmint.FieldEnergyReverse, 100 * kwh, 20*kwh + 8*wh},
		{"power only: counters untouched", 2 * time.Minute,
			Measurement{Power: ptr(gridmint.W(300))}, gridmint.FieldPower, 100 * kwh, 20*kwh + 8*wh},
		{"import only, after power-only messages: its budget kept accruing", 10 * time.Minute,
			Measurement{Forward: lifetime(100*kwh + 400*wh)}, gridmint.FieldEnergy, 100*kwh + 400*wh, 20*kwh + 8*wh},
		{"the export counter drops and is held", 11 * time.Minute,
			Measurement{Reverse: lifetime(1 * wh)}, gridmint.FieldEnergyReverse, 100*kwh + 400*wh, 20*kwh + 8*wh},
		{"and continues: a reset, energy since it credited", 12 * time.Minute,
			Measurement{Reverse: lifetime(3 * wh)}, gridmint.FieldEnergyReverse, 100*kwh + 400*wh, 20*kwh + 11*wh},
	}
	var prev *CounterState
	for _, s := range steps {
		r, next, rej := Normalise(meter, prev, s.m, t0.Add(s.at), lim)
		if rej != nil {
			t.Fatalf("%s: rejected %v", s.name, rej)
		}
		if r.Fields != s.wantFields {
			t.Errorf("%s: fields %b, want %b", s.name, r.Fields, s.wantFields)
		}
		if next.Forward.Energy != s.wantImport || next.Reverse.Energy != s.wantExport {
			t.Errorf("%s: import %v export %v, want %v and %v", s.name, next.Forward.Energy, next.Reverse.Energy, s.wantImport, s.wantExport)
		}
		prev = &next
	}
}

func TestNormaliseSoC(t *testing.T) {
	lim := DefaultLimits()
	bat := gridmint.Device{ID: "n/victron/b", Kind: gridmint.KindBattery, Dialect: "victron", Serial: "b"}
	r, _, rej := Normalise(bat, nil, Measurement{Power: ptr(gridmint.W(-1200)), SoC: ptr(53.2)}, t0, lim)
	if rej != nil || r.SoC != 53.2 || r.Fields != gridmint.FieldPower|gridmint.FieldSoC {
		t.Errorf("battery reading %v, %v", r, rej)
	}
	for _, soc := range []float64{-1, 100.5, math.NaN()} {
		if _, _, rej := Normalise(bat, nil, Measurement{SoC: ptr(soc)}, t0, lim); rej == nil {
			t.Errorf("SoC %v accepted", soc)
		}
	}
	if _, _, rej := Normalise(bat, nil, Measurement{}, t0, lim); rej == nil || rej.Reason != gridmint.ReasonWrongType {
		t.Errorf("empty measurement: %v, want wrong_type", rej)
	}
}

func TestNormaliseFirstValueMayBeAPeriodOld(t *testing.T) {
	// The node starts: a plug's retained SENSOR from 5 minutes ago comes
	// first, its fresh one a second later covers those 5 minutes. The
	// first reading's budget pays for one such period; more is refused.
	lim := DefaultLimits()
	dev := plugDevice()
	lifetime := func(v gridmint.MWh) Measurement {
		return Measurement{Forward: &Counter{Value: v, Kind: gridmint.CounterLifetime}}
	}
	_, st, _ := Normalise(dev, nil, lifetime(10*kwh), t0, lim)
	r, st2, rej := Normalise(dev, &st, lifetime(10*kwh+250*wh), t0.Add(time.Second), lim)
	if rej != nil || r.Energy != 10*kwh+250*wh {
		t.Fatalf("one period's growth right after the first value: %v, %v", r, rej)
	}
	_, _, rej = Normalise(dev, &st2, lifetime(10*kwh+600*wh), t0.Add(2*time.Second), lim)
	if rej == nil || rej.Reason != gridmint.ReasonImplausible {
		t.Errorf("another 350 Wh a second later: %v, want implausible", rej)
	}
}

func TestNormaliseCorrectedUpwardGlitchIsNotDoubleCounted(t *testing.T) {
	// 1000 → 1050 (a corrupted value, within the budget, so credited) →
	// 1010 → 1020 → 1060 Wh: the device made 60 Wh in all. Taking the
	// drop to 1010 for a reset would credit the 1010 Wh "since the reset"
	// a second time.
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: -1, counter: 1000 * wh, wantEnergy: 1000 * wh, wantEvent: gridmint.EventFirst},
		{name: "corrupted 1050", at: time.Minute, src: -1, counter: 1050 * wh, wantEnergy: 1050 * wh},
		{name: "back on track", at: 2 * time.Minute, src: -1, counter: 1010 * wh, wantEnergy: 1050 * wh,
			wantEvent: gridmint.EventReset, wantQuality: gridmint.QualityEstimated},
		{name: "continues: the glitch is corrected, nothing credited twice", at: 3 * time.Minute, src: -1, counter: 1020 * wh,
			wantEnergy: 1050 * wh, wantQuality: gridmint.QualityEstimated},
		{name: "past the peak", at: 4 * time.Minute, src: -1, counter: 1060 * wh, wantEnergy: 1060 * wh},
	})
	// A real reset after ordinary growth is still a reset.
	runSteps(t, plugDevice(), []step{
		{name: "first", at: 0, src: -1, counter: 1000 * wh, wantEnergy: 1000 * wh, wantEvent: gridmint.EventFirst},
		{name: "grows", at: time.Minute, src: -1, counter: 1010 * wh, wantEnergy: 1010 * wh},
		{name: "reset", at: 2 * time.Minute, src: -1, counter: 2 * wh, wantEnergy: 1010 * wh,
			wantEvent: gridmint.EventReset, wantQuality: gridmint.QualityEstimated},
		{name: "continues from the low value", at: 3 * time.Minute, src: -1, counter: 5 * wh, wantEnergy: 1015 * wh},
	})
}
