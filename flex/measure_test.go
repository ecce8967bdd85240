package flex

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

var mvStart = date(2026, 11, 22).Add(17 * time.Hour)

const step5 = 5 * time.Minute

func award(n int, dir gridmint.Direction, watts gridmint.W, meter gridmint.DeviceID) gridmint.Award {
	if meter == "" {
		meter = dev(n)
	}
	return gridmint.Award{RequestID: rid(1), OfferID: oid(n), Provider: addr(n), Device: dev(n), Meter: meter, Zone: "DE-LU",
		Direction: dir, WindowStart: mvStart, WindowEnd: mvStart.Add(30 * time.Minute), Power: watts, Price: 150_000,
		Baseline: gridmint.BaselineSchedule}
}

// flatBaseline is a baseline of v per 5-minute step over a's window.
func flatBaseline(a gridmint.Award, v gridmint.MWh) *Baseline {
	n := int(a.WindowEnd.Sub(a.WindowStart) / step5)
	return &Baseline{Method: "schedule/v1", Start: a.WindowStart, Step: step5, Energy: flat(n, int64(v))}
}

// meterSeries covers the hour around the window at v per step.
func meterSeries(v gridmint.MWh) Series {
	return stepped(mvStart.Add(-30*time.Minute), mvStart.Add(time.Hour), step5, func(time.Time) gridmint.MWh { return v })
}

func verifyOne(a gridmint.Award, b *Baseline, meter Series) gridmint.DeliveryRecord {
	return Verify(VerifyInput{Evidence: []Evidence{{Award: a, Baseline: b}}, Metered: map[gridmint.DeviceID]Series{a.Meter: meter}})[0]
}

func TestVerifySingleAward(t *testing.T) {
	const cap2kW = 166_666 // 2 kW for 5 min, rounded down
	down := award(1, gridmint.DirectionDown, 2000, "")
	up := award(1, gridmint.DirectionUp, 2000, "")
	tests := []struct {
		name     string
		a        gridmint.Award
		baseline gridmint.MWh
		metered  gridmint.MWh
		perStep  gridmint.MWh
		reason   gridmint.FlexReason
	}{
		{"down, full", down, cap2kW, 0, cap2kW, ""},
		{"down, consumption rose: never negative", down, 100_000, 200_000, 0, gridmint.FlexUnderDelivered},
		{"down, capped at the award", down, 1_000_000, 0, cap2kW, ""},
		{"down, half", down, cap2kW, cap2kW / 2, cap2kW - cap2kW/2, gridmint.FlexUnderDelivered},
		{"down, 90 % is within tolerance", down, cap2kW, cap2kW / 10, cap2kW - cap2kW/10, ""},
		{"up, capped", up, 0, 400_000, cap2kW, ""},
		{"up, consumption fell: never negative", up, 100_000, 0, 0, gridmint.FlexUnderDelivered},
	}
	for _, tt := range tests {
		r := verifyOne(tt.a, flatBaseline(tt.a, tt.baseline), meterSeries(tt.metered))
		if r.Awarded != 6*cap2kW || r.Delivered != 6*tt.perStep || r.Reason != tt.reason || len(r.Intervals) != 6 {
			t.Errorf("%s: awarded %v delivered %v reason %q, want %v, %v, %q", tt.name, r.Awarded, r.Delivered, r.Reason, gridmint.MWh(6*cap2kW), 6*tt.perStep, tt.reason)
		}
		for _, e := range r.Intervals {
			if e != tt.perStep {
				t.Errorf("%s: interval %v, want %v", tt.name, e, tt.perStep)
			}
		}
		// Payment = 0.15 FLEX/kWh × delivered.
		want := new(big.Int).Mul(big.NewInt(150_000*int64(r.Delivered)), big.NewInt(1_000_000))
		if r.Payment().Cmp(want) != 0 {
			t.Errorf("%s: payment %v, want %v", tt.name, r.Payment(), want)
		}
		if r.Baseline != "schedule/v1" || r.StepSeconds != 300 {
			t.Errorf("%s: record %+v", tt.name, r)
		}
	}
}

// TestSiteMeterSeesTheHouse: a battery discharges 5 kW while the house
// draws 5 kW more. Measured at the battery, it delivered; measured at the
// grid meter of record, it did not.
func TestSiteMeterSeesTheHouse(t *testing.T) {
	site := gridmint.DeviceID(addr(1) + "/victron/grid")
	const cap5kW = 416_666
	atSite := award(1, gridmint.DirectionDown, 5000, site)
	r := verifyOne(atSite, flatBaseline(atSite, 83_333), meterSeries(83_333)) // 1 kW import before and during
	if r.Delivered != 0 || r.Reason != gridmint.FlexUnderDelivered {
		t.Errorf("at the grid meter: delivered %v (%q), want 0 under_delivered", r.Delivered, r.Reason)
	}
	atDevice := award(1, gridmint.DirectionDown, 5000, "")
	r = verifyOne(atDevice, flatBaseline(atDevice, 0), meterSeries(-cap5kW)) // idle plan, discharging 5 kW
	if r.Delivered != 6*cap5kW || r.Reason != "" {
		t.Errorf("at the battery: delivered %v (%q), want %v", r.Delivered, r.Reason, 6*cap5kW)
	}
}

// TestSharedMeterSplitsDelivery: two awards behind one grid meter share
// its reduction pro rata to their power, against the lower baseline.
func TestSharedMeterSplitsDelivery(t *testing.T) {
	site := gridmint.DeviceID(addr(1) + "/victron/grid")
	a, b := award(1, gridmint.DirectionDown, 3000, site), award(2, gridmint.DirectionDown, 1000, site)
	recs := Verify(VerifyInput{
		Evidence: []Evidence{{Award: a, Baseline: flatBaseline(a, 833_333)}, {Award: b, Baseline: flatBaseline(b, 900_000)}},
		Metered:  map[gridmint.DeviceID]Series{site: meterSeries(666_666)},
	})
	// Site reduction 833,333 − 666,666 = 166,667 per step (the lower
	// baseline): 3/4 and 1/4, rounded down.
	got := map[gridmint.OfferID]gridmint.MWh{}
	for _, r := range recs {
		got[r.OfferID] = r.Intervals[0]
	}
	if got[oid(1)] != 125_000 || got[oid(2)] != 41_666 {
		t.Errorf("shares %v and %v, want 125000 and 41666", got[oid(1)], got[oid(2)])
	}
}

func TestVerifyReasons(t *testing.T) {
	a := award(1, gridmint.DirectionDown, 2000, "")
	b := flatBaseline(a, 166_666)
	none := meterSeries(166_666) // nothing delivered
	run := func(in VerifyInput) gridmint.DeliveryRecord {
		if in.Evidence == nil {
			in.Evidence = []Evidence{{Award: a, Baseline: b}}
		}
		if in.Metered == nil {
			in.Metered = map[gridmint.DeviceID]Series{a.Meter: none}
		}
		return Verify(in)[0]
	}
	optOut := gridmint.FlexExemption{Device: a.Device, Reason: gridmint.FlexOptOut, DeclaredAt: mvStart.Add(-time.Minute), Start: mvStart, End: mvStart.Add(time.Hour)}
	lateOptOut := optOut
	lateOptOut.DeclaredAt = mvStart
	gridLimit := gridmint.FlexExemption{Device: a.Device, Reason: gridmint.FlexGridLimit, DeclaredAt: mvStart.Add(10 * time.Minute), Start: mvStart.Add(10 * time.Minute), End: mvStart.Add(20 * time.Minute)}
	otherDevice := optOut
	otherDevice.Device = dev(2)
	missing := meterSeries(0)
	missing.Missing = make([]bool, len(missing.Energy))
	i, _ := missing.index(mvStart.Add(10 * time.Minute))
	missing.Missing[i] = true
	tests := []struct {
		name   string
		in     VerifyInput
		reason gridmint.FlexReason
		exempt bool
	}{
		{"opt-out declared before the window", VerifyInput{Exemptions: []gridmint.FlexExemption{optOut}}, gridmint.FlexOptOut, true},
		{"opt-out declared at the window start is late", VerifyInput{Exemptions: []gridmint.FlexExemption{lateOptOut}}, gridmint.FlexUnderDelivered, false},
		{"another device's opt-out", VerifyInput{Exemptions: []gridmint.FlexExemption{otherDevice}}, gridmint.FlexUnderDelivered, false},
		{"grid limit during the window", VerifyInput{Exemptions: []gridmint.FlexExemption{gridLimit}}, gridmint.FlexGridLimit, true},
		{"offline", VerifyInput{Offline: []Span{{Device: a.Device, Start: mvStart.Add(5 * time.Minute), End: mvStart.Add(6 * time.Minute)}}}, gridmint.FlexOffline, false},
		{"a step without data", VerifyInput{Metered: map[gridmint.DeviceID]Series{a.Meter: missing}}, gridmint.FlexNoData, false},
		{"no meter data at all", VerifyInput{Metered: map[gridmint.DeviceID]Series{}}, gridmint.FlexNoData, false},
		{"baseline failed", VerifyInput{Evidence: []Evidence{{Award: a, BaselineErr: reasonf(gridmint.FlexInsufficientHist, gridmint.ENotFound, "x")}}}, gridmint.FlexInsufficientHist, false},
	}
	for _, tt := range tests {
		r := run(tt.in)
		if r.Reason != tt.reason || r.Exempt() != tt.exempt {
			t.Errorf("%s: reason %q exempt %v, want %q %v", tt.name, r.Reason, r.Exempt(), tt.reason, tt.exempt)
		}
	}
	// The step without data delivers nothing; the others still count.
	r := run(VerifyInput{Metered: map[gridmint.DeviceID]Series{a.Meter: missing}})
	if r.Delivered != 5*166_666 || r.Intervals[2] != 0 {
		t.Errorf("missing step: delivered %v intervals %v", r.Delivered, r.Intervals)
	}
	// A provider whose meter sent nothing owes the whole award: it is
	// short by all of it and slashed like one that delivered nothing.
	silent := run(VerifyInput{Metered: map[gridmint.DeviceID]Series{}})
	if want := gridmint.EnergyAt(a.Power, a.WindowEnd.Sub(a.WindowStart)); silent.Awarded != want || silent.Delivered != 0 {
		t.Errorf("no meter data at all: awarded %v delivered %v, want %v and 0", silent.Awarded, silent.Delivered, want)
	}
	stake := big.NewInt(1e18)
	if sl := Slashes([]gridmint.Award{a}, []gridmint.DeliveryRecord{silent}, map[string]*big.Int{a.Provider: stake}); len(sl) != 1 || sl[0].Amount.Cmp(stake) != 0 {
		t.Errorf("no meter data at all: slashes %+v, want the award's whole share (%v, its only award that day)", sl, stake)
	}
}

// TestDeliveryBounds: over random awards sharing random meters, every
// interval is between 0 and the award's step energy, the sum is the
// delivery, and a meter's shares never add up to more than its
// reduction against the lowest baseline.
func TestDeliveryBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for iter := 0; iter < 300; iter++ {
		meters := []gridmint.DeviceID{gridmint.DeviceID(addr(1) + "/m/a"), gridmint.DeviceID(addr(1) + "/m/b")}
		metered := map[gridmint.DeviceID]Series{}
		for _, m := range meters {
			metered[m] = stepped(mvStart, mvStart.Add(30*time.Minute), step5, func(time.Time) gridmint.MWh {
				return gridmint.MWh(rng.IntN(2_000_000) - 500_000)
			})
		}
		var ev []Evidence
		for n := 0; n < 1+rng.IntN(5); n++ {
			dir := []gridmint.Direction{gridmint.DirectionDown, gridmint.DirectionUp}[rng.IntN(2)]
			a := award(n, dir, gridmint.W(1+rng.IntN(20_000)), meters[rng.IntN(2)])
			b := flatBaseline(a, 0)
			for i := range b.Energy {
				b.Energy[i] = gridmint.MWh(rng.IntN(2_000_000) - 500_000)
			}
			ev = append(ev, Evidence{Award: a, Baseline: b})
		}
		recs := Verify(VerifyInput{Evidence: ev, Metered: metered})
		byOffer := map[gridmint.OfferID]gridmint.DeliveryRecord{}
		for _, r := range recs {
			byOffer[r.OfferID] = r
			capStep := gridmint.EnergyAt(ev[0].Award.Power, step5)
			for _, e := range ev {
				if e.Award.OfferID == r.OfferID {
					capStep = gridmint.EnergyAt(e.Award.Power, step5)
				}
			}
			var tot gridmint.MWh
			for _, x := range r.Intervals {
				if x < 0 || x > capStep {
					t.Fatalf("iter %d: interval %v outside [0, %v]", iter, x, capStep)
				}
				tot += x
			}
			if tot != r.Delivered || r.Delivered > r.Awarded || r.Delivered < 0 {
				t.Fatalf("iter %d: delivered %v, intervals sum %v, awarded %v", iter, r.Delivered, tot, r.Awarded)
			}
		}
		for _, m := range meters {
			for j := 0; j < 6; j++ {
				for _, dir := range []gridmint.Direction{gridmint.DirectionDown, gridmint.DirectionUp} {
					var shares int64
					var lowest, highest int64
					first := true
					for _, e := range ev {
						if e.Award.Meter != m || e.Award.Direction != dir {
							continue
						}
						shares += int64(byOffer[e.Award.OfferID].Intervals[j])
						b := int64(e.Baseline.Energy[j])
						if first || b < lowest {
							lowest = b
						}
						if first || b > highest {
							highest = b
						}
						first = false
					}
					if first {
						continue
					}
					reduction := lowest - int64(metered[m].Energy[j])
					if dir == gridmint.DirectionUp {
						reduction = int64(metered[m].Energy[j]) - highest
					}
					if shares > max(0, reduction) {
						t.Fatalf("iter %d: meter %s step %d: shares %d exceed the meter's %d", iter, m, j, shares, reduction)
					}
				}
			}
		}
	}
}

func TestCheckDelivery(t *testing.T) {
	a := award(1, gridmint.DirectionDown, 2000, "")
	r := verifyOne(a, flatBaseline(a, 166_666), meterSeries(66_666))
	if err := CheckDelivery(r, r); err != nil {
		t.Fatalf("same record: %v", err)
	}
	inflated := r
	inflated.Intervals = append([]gridmint.MWh(nil), r.Intervals...)
	inflated.Intervals[3]++
	inflated.Delivered++
	if err := CheckDelivery(inflated, r); Reason(err) != gridmint.FlexInflatedDelivery {
		t.Errorf("inflated: %v", err)
	}
	moved := r
	moved.Intervals = append([]gridmint.MWh(nil), r.Intervals...)
	moved.Intervals[3]++
	moved.Intervals[4]-- // same total, one step inflated
	if err := CheckDelivery(moved, r); Reason(err) != gridmint.FlexInflatedDelivery {
		t.Errorf("one step inflated: %v", err)
	}
	other := r
	other.Reason = ""
	if err := CheckDelivery(other, r); Reason(err) != gridmint.FlexDeliveryMismatch {
		t.Errorf("reason dropped: %v", err)
	}
}
