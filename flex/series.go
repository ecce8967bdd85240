package flex

import (
	"math/big"
	"math/bits"
	"time"

	"github.com/gridmint/gridmint"
)

// Series is the energy at one meter in consecutive steps of equal length,
// consumption-positive: energy drawn from the grid (or by the device) is
// positive, energy exported (a PV inverter producing, a battery
// discharging) negative. Consumption converts a device's readings.
type Series struct {
	Start time.Time
	// Step is a whole number of seconds that divides an hour (1 s to 1 h).
	Step   time.Duration
	Energy []gridmint.MWh
	// Missing marks the steps without data; nil means none are missing.
	Missing []bool
}

// MaxSitePower bounds the power a Series may show (10 MW, ten times the
// largest device): beyond it a value is refused as implausible, which also
// keeps every sum in this package far from int64 overflow.
const MaxSitePower gridmint.W = 10_000_000

// Validate checks the step, the lengths and that no step holds more
// energy than MaxSitePower can move in it.
func (s Series) Validate() error {
	switch {
	case s.Step < time.Second || s.Step > time.Hour || s.Step%time.Second != 0 || time.Hour%s.Step != 0:
		return gridmint.Errorf(gridmint.EInvalid, "series: step %v: want whole seconds dividing an hour", s.Step)
	case s.Start.IsZero():
		return gridmint.Errorf(gridmint.EInvalid, "series: no start time")
	case s.Missing != nil && len(s.Missing) != len(s.Energy):
		return gridmint.Errorf(gridmint.EInvalid, "series: %d missing flags for %d steps", len(s.Missing), len(s.Energy))
	}
	limit := gridmint.EnergyAt(MaxSitePower, s.Step)
	for i, e := range s.Energy {
		if e > limit || e < -limit {
			return gridmint.Errorf(gridmint.EInvalid, "series: step %d (%v) holds %v, more than %v W can move in %v",
				i, s.Start.Add(time.Duration(i)*s.Step), e, MaxSitePower, s.Step)
		}
	}
	return nil
}

// End is the end of the last step.
func (s Series) End() time.Time { return s.Start.Add(time.Duration(len(s.Energy)) * s.Step) }

// index is the step starting at t, if t is on a step boundary.
func (s Series) index(t time.Time) (int, bool) {
	d := t.Sub(s.Start)
	if d%s.Step != 0 {
		return 0, false
	}
	return int(d / s.Step), true
}

// span returns the energies of the steps covering [start, end), or false
// if the span is not on step boundaries, not inside the series, or has a
// missing step.
func (s Series) span(start, end time.Time) ([]gridmint.MWh, bool) {
	i, ok1 := s.index(start)
	j, ok2 := s.index(end)
	if !ok1 || !ok2 || i < 0 || j > len(s.Energy) || i >= j {
		return nil, false
	}
	if s.Missing != nil {
		for k := i; k < j; k++ {
			if s.Missing[k] {
				return nil, false
			}
		}
	}
	return s.Energy[i:j], true
}

// Consumption is a device's consumption-positive energy from its readings'
// natural-direction counter deltas (gridmint.Reading: Energy and
// EnergyReverse): a PV inverter's production and a battery's discharge
// count negative, a battery's charge, a load's and a meter's import
// positive, a meter's export negative.
func Consumption(kind gridmint.DeviceKind, forward, reverse gridmint.MWh) gridmint.MWh {
	switch kind {
	case gridmint.KindPVInverter, gridmint.KindBattery:
		return reverse - forward
	}
	return forward - reverse
}

// sum adds energies; Validate bounds each, so no overflow for any series
// that fits in memory.
func sum(es []gridmint.MWh) int64 {
	var t int64
	for _, e := range es {
		t += int64(e)
	}
	return t
}

// divRound is a/b rounded half away from zero (b > 0).
func divRound(a, b int64) int64 {
	if a >= 0 {
		return (a + b/2) / b
	}
	return -((-a + b/2) / b)
}

// mulDiv is ⌊a × b / c⌋ for a, b ≥ 0 and c > 0 without overflow in the
// product; the quotient must fit (callers keep a×b/c ≤ max(a, b)).
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi >= uint64(c) {
		return new(big.Int).Quo(new(big.Int).Mul(big.NewInt(a), big.NewInt(b)), big.NewInt(c)).Int64()
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}

// mulDivRound is a × n / d rounded half away from zero, for any sign of a
// and n, d > 0 (a big.Int: only baseline adjustments use it).
func mulDivRound(a, n, d int64) int64 {
	v := new(big.Int).Mul(big.NewInt(a), big.NewInt(n))
	neg := v.Sign() < 0
	v.Abs(v)
	v.Add(v, big.NewInt(d/2))
	v.Quo(v, big.NewInt(d))
	if neg {
		v.Neg(v)
	}
	return v.Int64()
}

// Sum is the energy of the steps that start in [from, to); false if one
// of them is missing.
func (s Series) Sum(from, to time.Time) (gridmint.MWh, bool) {
	var tot gridmint.MWh
	for i, v := range s.Energy {
		at := s.Start.Add(time.Duration(i) * s.Step)
		if at.Before(from) || !at.Before(to) {
			continue
		}
		if s.Missing != nil && s.Missing[i] {
			return 0, false
		}
		tot += v
	}
	return tot, true
}

// MissingSpan is the span from the first missing step starting in
// [from, to) to the end of the last one, as device's offline Span; false
// when no step there is missing. A meter that sent data for some steps of
// a window but not for others was offline in between.
func (s Series) MissingSpan(device gridmint.DeviceID, from, to time.Time) (Span, bool) {
	var first, last time.Time
	for i := range s.Energy {
		at := s.Start.Add(time.Duration(i) * s.Step)
		if at.Before(from) || !at.Before(to) || s.Missing == nil || !s.Missing[i] {
			continue
		}
		if first.IsZero() {
			first = at
		}
		last = at.Add(s.Step)
	}
	return Span{Device: device, Start: first, End: last}, !first.IsZero()
}

// Total is the sum of energies.
func Total(es []gridmint.MWh) gridmint.MWh {
	var t gridmint.MWh
	for _, e := range es {
		t += e
	}
	return t
}
