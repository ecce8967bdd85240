package rec

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// t0 is 2025-06-21 10:00 UTC, the start of a clock hour.
var t0 = time.Date(2025, 6, 21, 10, 0, 0, 0, time.UTC)

func at(min float64) time.Time { return t0.Add(time.Duration(min * float64(time.Minute))) }

// reading is an energy reading of the test device at minute m after t0.
func reading(m float64, e gridmint.MWh) gridmint.Reading {
	return gridmint.Reading{Device: "0xabc/opendtu/1", Time: at(m), Fields: gridmint.FieldEnergy | gridmint.FieldPower,
		Power: 100, Energy: e, Quality: gridmint.QualityOK}
}

func estimated(r gridmint.Reading) gridmint.Reading {
	r.Quality, r.Event = gridmint.QualityEstimated, gridmint.EventReset
	return r
}

func buildAll(t *testing.T, rs ...gridmint.Reading) []HourInterval {
	t.Helper()
	b := NewBuilder(BuilderState{}, 0)
	for _, r := range rs {
		if err := b.Add(r); err != nil {
			t.Fatalf("Add(%v): %v", r, err)
		}
	}
	return b.Hours()
}

func TestBuilderWorkedExamples(t *testing.T) {
	h10 := gridmint.HourOf(t0)
	steady := func(from, to float64, step float64, perStep gridmint.MWh, e0 gridmint.MWh) []gridmint.Reading {
		var rs []gridmint.Reading
		e := e0
		for m := from; m <= to+1e-9; m += step {
			rs = append(rs, reading(m, e))
			e += perStep
		}
		return rs
	}
	tests := []struct {
		name     string
		readings []gridmint.Reading
		want     []HourInterval // Leaves and Root not compared; see wantLeaves
		leaves   []int
	}{
		{
			name:     "a reading every five minutes on the boundaries: each sub-interval is one step",
			readings: steady(0, 60, 5, 1000, 5_000),
			want: []HourInterval{{Hour: h10, CounterStart: 5_000, CounterEnd: 17_000, Wh: 12, Quality: gridmint.QualityOK,
				Profile: gridmint.Profile{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000}}},
			leaves: []int{13},
		},
		{
			name: "growth straddling the hour is split in proportion to time",
			// 10:55 → 11:05 grows 10 Wh: 5 Wh before 11:00, 5 Wh after.
			readings: []gridmint.Reading{reading(0, 0), reading(10, 0), reading(20, 0), reading(30, 0), reading(40, 0), reading(50, 0),
				reading(55, 0), reading(65, 10_000), reading(70, 10_000), reading(80, 10_000), reading(90, 10_000), reading(100, 10_000),
				reading(110, 10_000), reading(120, 10_000)},
			want: []HourInterval{
				{Hour: h10, CounterStart: 0, CounterEnd: 5_000, Wh: 5, Quality: gridmint.QualityOK,
					Profile: gridmint.Profile{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5_000}},
				{Hour: h10 + 1, CounterStart: 5_000, CounterEnd: 10_000, Wh: 5, Quality: gridmint.QualityOK,
					Profile: gridmint.Profile{5_000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
			},
			leaves: []int{8, 8},
		},
		{
			name: "the sub-Wh rest is carried: 1.5 Wh then 0.6 Wh make 1 Wh and 1 Wh",
			readings: []gridmint.Reading{reading(0, 0), reading(10, 500), reading(20, 1000), reading(30, 1500), reading(40, 1500), reading(50, 1500),
				reading(60, 1500), reading(70, 2100), reading(80, 2100), reading(90, 2100), reading(100, 2100), reading(110, 2100), reading(120, 2100)},
			want: []HourInterval{
				{Hour: h10, CounterStart: 0, CounterEnd: 1500, Wh: 1, Quality: gridmint.QualityOK,
					Profile: gridmint.Profile{250, 250, 250, 250, 250, 250, 0, 0, 0, 0, 0, 0}},
				{Hour: h10 + 1, CounterStart: 1500, CounterEnd: 2100, CarryIn: 500, Wh: 1, Quality: gridmint.QualityOK,
					Profile: gridmint.Profile{300, 300, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
			},
			leaves: []int{7, 7},
		},
		{
			name: "interpolation rounds down to the mWh; the rest stays in the counter",
			// 10 mWh over 3 minutes: 3.33 mWh a minute.
			readings: []gridmint.Reading{reading(0, 0), reading(3, 10), reading(6, 10), reading(12, 10), reading(18, 10), reading(24, 10),
				reading(30, 10), reading(36, 10), reading(42, 10), reading(48, 10), reading(54, 10), reading(60, 10)},
			want: []HourInterval{{Hour: h10, CounterStart: 0, CounterEnd: 10, Wh: 0, Quality: gridmint.QualityOK,
				Profile: gridmint.Profile{10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}},
			leaves: []int{12},
		},
		{
			name: "a gap across the boundary makes both hours estimated",
			// 10:50 → 11:20 is a 30-minute gap, 30 Wh spread evenly.
			readings: append(steady(0, 50, 10, 0, 0), append([]gridmint.Reading{reading(80, 30_000)}, steady(90, 120, 10, 0, 30_000)...)...),
			want: []HourInterval{
				{Hour: h10, CounterStart: 0, CounterEnd: 10_000, Wh: 10, Quality: gridmint.QualityEstimated,
					Profile: gridmint.Profile{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5_000, 5_000}},
				{Hour: h10 + 1, CounterStart: 10_000, CounterEnd: 30_000, Wh: 20, Quality: gridmint.QualityEstimated,
					Profile: gridmint.Profile{5_000, 5_000, 5_000, 5_000, 0, 0, 0, 0, 0, 0, 0, 0}},
			},
			leaves: []int{7, 6},
		},
		{
			name: "an hour inside a gap has no reading: missing, with its time share",
			// 10:30 → 12:30 grows 12 Wh: 3 Wh, 6 Wh, 3 Wh.
			readings: append(steady(0, 30, 10, 0, 0), append([]gridmint.Reading{reading(150, 12_000)}, steady(160, 180, 10, 0, 12_000)...)...),
			want: []HourInterval{
				{Hour: h10, CounterStart: 0, CounterEnd: 3_000, Wh: 3, Quality: gridmint.QualityEstimated,
					Profile: gridmint.Profile{0, 0, 0, 0, 0, 0, 500, 500, 500, 500, 500, 500}},
				{Hour: h10 + 1, CounterStart: 3_000, CounterEnd: 9_000, Wh: 6, Quality: gridmint.QualityMissing,
					Profile: gridmint.Profile{500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500}},
				{Hour: h10 + 2, CounterStart: 9_000, CounterEnd: 12_000, Wh: 3, Quality: gridmint.QualityEstimated,
					Profile: gridmint.Profile{500, 500, 500, 500, 500, 500, 0, 0, 0, 0, 0, 0}},
			},
			leaves: []int{5, 2, 5},
		},
		{
			name:     "a counter reset estimated by the normaliser makes the hour estimated",
			readings: []gridmint.Reading{reading(0, 0), reading(10, 1000), estimated(reading(20, 2000)), reading(30, 3000), reading(40, 4000), reading(50, 5000), reading(60, 6000)},
			want: []HourInterval{{Hour: h10, CounterStart: 0, CounterEnd: 6000, Wh: 6, Quality: gridmint.QualityEstimated,
				Profile: gridmint.Profile{500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500}}},
			leaves: []int{7},
		},
		{
			name: "the first reading after an hour's start: building starts at the next hour",
			// First reading at 10:17: hour 10 cannot be bracketed.
			readings: steady(17, 137, 5, 100, 0),
			want: []HourInterval{{Hour: h10 + 1, CounterStart: 860, CounterEnd: 2060, Wh: 1, Quality: gridmint.QualityOK,
				Profile: gridmint.Profile{60 + 40, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100}}},
			leaves: []int{14},
		},
		{
			name: "two readings at the hour's end instant: the later fixes the counter, both are leaves",
			readings: []gridmint.Reading{reading(0, 0), reading(10, 0), reading(20, 0), reading(30, 0), reading(40, 0), reading(50, 0),
				reading(60, 1000), reading(60, 3000), reading(70, 3000)},
			want: []HourInterval{{Hour: h10, CounterStart: 0, CounterEnd: 3000, Wh: 3, Quality: gridmint.QualityOK,
				Profile: gridmint.Profile{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 500, 2500}}},
			leaves: []int{8},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := buildAll(t, tt.readings...)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d hours, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				g.Leaves, g.Root = nil, gridmint.Hash{}
				if g.Hour != w.Hour || g.CounterStart != w.CounterStart || g.CounterEnd != w.CounterEnd || g.CarryIn != w.CarryIn ||
					g.Wh != w.Wh || g.Quality != w.Quality || g.Profile != w.Profile {
					t.Errorf("hour %d:\n got %+v\nwant %+v", i, g, w)
				}
				if n := len(got[i].Leaves); n != tt.leaves[i] {
					t.Errorf("hour %d: %d leaves, want %d", i, n, tt.leaves[i])
				}
				if got[i].Root != MerkleRoot(got[i].Leaves) {
					t.Errorf("hour %d: root is not the leaves' Merkle root", i)
				}
			}
		})
	}
}

func TestBuilderRefusesBadReadings(t *testing.T) {
	b := NewBuilder(BuilderState{}, 0)
	if err := b.Add(reading(0, 1000)); err != nil {
		t.Fatal(err)
	}
	nan := reading(1, 1000)
	nan.Power = gridmint.W(nanValue())
	for name, r := range map[string]gridmint.Reading{
		"earlier time":     reading(-1, 1000),
		"falling counter":  reading(1, 999),
		"power not finite": nan,
	} {
		if err := b.Add(r); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("%s: Add = %v, want an EInvalid error", name, err)
		}
	}
	if n := len(b.State().Pending); n != 1 {
		t.Errorf("%d readings pending after refusals, want 1: a refused reading must leave nothing behind", n)
	}
	powerOnly := reading(2, 0)
	powerOnly.Fields = gridmint.FieldPower
	if err := b.Add(powerOnly); err != nil || len(b.State().Pending) != 1 {
		t.Errorf("power-only reading: err %v, %d pending; want it skipped", err, len(b.State().Pending))
	}
}

func nanValue() float64 {
	var z float64
	return z / z
}

// randomReadings makes a device's readings over about days days: bursts
// of frequent readings, gaps from minutes to hours, counter resets the
// normaliser estimated, readings sharing a millisecond, flat nights and
// big jumps.
func randomReadings(rng *rand.Rand, days int) []gridmint.Reading {
	var rs []gridmint.Reading
	tm := t0.Add(time.Duration(rng.IntN(3600_000)) * time.Millisecond)
	end := tm.Add(time.Duration(days) * 24 * time.Hour)
	e := gridmint.MWh(rng.Int64N(1e9))
	for tm.Before(end) {
		var step time.Duration
		switch x := rng.IntN(100); {
		case x < 2:
			step = time.Duration(rng.Int64N(int64(6 * time.Hour))) // a long gap
		case x < 10:
			step = time.Duration(rng.Int64N(int64(40 * time.Minute))) // a short gap
		case x < 12:
			step = 0 // same instant
		default:
			step = time.Duration(rng.Int64N(int64(5*time.Minute))) + time.Millisecond
		}
		tm = tm.Add(step)
		switch x := rng.IntN(100); {
		case x < 30:
			// nothing produced
		case x < 33:
			e += gridmint.MWh(rng.Int64N(50_000_000)) // a jump
		default:
			e += gridmint.MWh(float64(step.Milliseconds()) * rng.Float64() * 3) // up to ~10 kW
		}
		r := reading(0, e)
		r.Time = tm
		if step > 0 {
			r.Time = tm.Add(time.Duration(rng.IntN(1000)) * time.Microsecond) // sub-ms noise is dropped
		} else if len(rs) > 0 {
			r.Time = rs[len(rs)-1].Time
		}
		if rng.IntN(40) == 0 {
			r = estimated(r)
		}
		rs = append(rs, r)
	}
	return rs
}

// TestBuilderConservesEnergy is the conservation property: over every run
// of built hours, the Wh equal ⌊(carry in + counter growth) / 1000⌋, and
// from the first hour (carry 0) the floor of the counter growth. It also
// checks that the chain links, that every hour verifies against its own
// leaves, that quality says what the leaves show, and that building
// incrementally (with state round trips) gives the same hours as building
// at once.
func TestBuilderConservesEnergy(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		rs := randomReadings(rng, 1+rng.IntN(4))
		once := buildAll(t, rs...)
		if len(once) == 0 {
			continue
		}

		// Incremental, with random Hours calls and state round trips.
		b := NewBuilder(BuilderState{}, 0)
		var inc []HourInterval
		for _, r := range rs {
			if err := b.Add(r); err != nil {
				t.Fatalf("seed %d: Add: %v", seed, err)
			}
			if rng.IntN(10) == 0 {
				inc = append(inc, b.Hours()...)
				b = NewBuilder(b.State(), 0)
			}
		}
		inc = append(inc, b.Hours()...)
		if len(inc) != len(once) {
			t.Fatalf("seed %d: incremental built %d hours, at once %d", seed, len(inc), len(once))
		}

		for i, iv := range once {
			if !sameInterval(iv, inc[i]) {
				t.Fatalf("seed %d hour %s: incremental\n%+v\nat once\n%+v", seed, iv.Hour, inc[i], iv)
			}
			if i > 0 {
				p := once[i-1]
				if iv.Hour != p.Hour+1 || iv.CounterStart != p.CounterEnd || iv.CarryIn != p.CarryOut() {
					t.Fatalf("seed %d: hour %s does not continue %s", seed, iv.Hour, p.Hour)
				}
			} else if iv.CarryIn != 0 {
				t.Fatalf("seed %d: first hour carries %d in", seed, iv.CarryIn)
			}
			if iv.Profile.Sum() != iv.CounterEnd-iv.CounterStart || iv.CarryOut() < 0 || iv.CarryOut() >= 1000 {
				t.Fatalf("seed %d hour %s: profile sum %d, growth %d, carry out %d", seed, iv.Hour, iv.Profile.Sum(), iv.CounterEnd-iv.CounterStart, iv.CarryOut())
			}
			c := testClaim(iv)
			if err := VerifyLeaves(c, iv.Leaves, 0); err != nil {
				t.Fatalf("seed %d hour %s: %v", seed, iv.Hour, err)
			}
			start, end := iv.Hour.Start().UnixMilli(), iv.Hour.End().UnixMilli()
			inside := false
			for _, l := range iv.Leaves {
				inside = inside || l.Time >= start && l.Time <= end
			}
			if inside == (iv.Quality == gridmint.QualityMissing) {
				t.Fatalf("seed %d hour %s: quality %s with a leaf inside = %v", seed, iv.Hour, iv.Quality, inside)
			}
		}
		// Every run i..j.
		for k := 0; k < 50; k++ {
			i := rng.IntN(len(once))
			j := i + rng.IntN(len(once)-i)
			var wh gridmint.Wh
			for _, iv := range once[i : j+1] {
				wh += iv.Wh
			}
			growth := once[j].CounterEnd - once[i].CounterStart
			if want := gridmint.Wh((once[i].CarryIn + growth) / 1000); wh != want {
				t.Fatalf("seed %d hours %d..%d: %d Wh, want ⌊(%d + %d)/1000⌋ = %d", seed, i, j, wh, once[i].CarryIn, growth, want)
			}
			if i == 0 && wh != gridmint.Wh(growth/1000) {
				t.Fatalf("seed %d: first %d hours claim %d Wh of %d mWh growth", seed, j+1, wh, growth)
			}
		}
	}
}

func sameInterval(a, b HourInterval) bool {
	if a.Hour != b.Hour || a.CounterStart != b.CounterStart || a.CounterEnd != b.CounterEnd || a.CarryIn != b.CarryIn ||
		a.Wh != b.Wh || a.Profile != b.Profile || a.Quality != b.Quality || a.Root != b.Root || len(a.Leaves) != len(b.Leaves) {
		return false
	}
	for i := range a.Leaves {
		if a.Leaves[i] != b.Leaves[i] {
			return false
		}
	}
	return true
}

// testFacts are the device facts of test claims: a 10 kW PV inverter in
// Golden, Colorado.
var testFacts = DeviceFacts{
	Device: gridmint.DeviceKey{1}, Node: gridmint.Address{0xa}, Owner: gridmint.Address{0xb}, Zone: "US-CO",
	Technology: gridmint.TechnologySolarPV, Nameplate: 10_000, Location: gridmint.CoarseLocation{LatTenths: 397, LonTenths: -1052},
}

func testClaim(iv HourInterval) gridmint.Claim {
	c, err := NewClaim(iv, testFacts)
	if err != nil {
		panic(err)
	}
	return c
}

func TestVerifyLeavesCatchesTampering(t *testing.T) {
	var rs []gridmint.Reading
	for m := 0.0; m <= 65; m += 5 {
		rs = append(rs, reading(m, gridmint.MWh(m*1000)))
	}
	iv := buildAll(t, rs...)[0]
	c := testClaim(iv)
	if err := VerifyLeaves(c, iv.Leaves, 0); err != nil {
		t.Fatalf("honest claim: %v", err)
	}
	tampered := c
	tampered.Profile[0], tampered.Profile[1] = tampered.Profile[0]+500, tampered.Profile[1]-500
	if err := VerifyLeaves(tampered, iv.Leaves, 0); err == nil {
		t.Error("a reshuffled profile verified against the leaves")
	}
	leaves := append([]Leaf(nil), iv.Leaves...)
	leaves[3].Energy++
	if err := VerifyLeaves(c, leaves, 0); err == nil {
		t.Error("a changed leaf verified against the root")
	}
	if err := VerifyLeaves(c, iv.Leaves[:len(iv.Leaves)-1], 0); err == nil {
		t.Error("a missing leaf verified")
	}
}
