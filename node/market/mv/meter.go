package mv

import (
	"math/bits"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// Step is the metering step: five-minute interval energy.
const Step = 5 * time.Minute

// MaxGap is the longest time between two readings across which a counter
// is interpolated (rec.DefaultMaxGap: two missed five-minute messages); a
// step boundary inside a longer gap has no counter value, so the steps
// on either side of it are missing.
const MaxGap = 15 * time.Minute

// lookback is the span of meter data the award's baseline method needs
// around its window [start, end), on Step boundaries: what the home
// gossips and every peer measures from.
func lookback(m gridmint.BaselineMethod, start, end time.Time) (from, to time.Time) {
	switch m {
	case gridmint.BaselineMeterBeforeAfter:
		return start.Add(-15 * time.Minute), end.Add(15 * time.Minute)
	case gridmint.BaselinePJMSameDay:
		return start.Add(-4 * time.Hour), end.Add(3 * time.Hour)
	case gridmint.BaselineCAISO10in10, gridmint.BaselinePJMHigh4of5:
		// 45 calendar days of history, each day's window and its
		// adjustment hours (4 h to 1 h before the window).
		return start.Add(-45*24*time.Hour - 4*time.Hour), end
	}
	return start, end // schedule: the window only
}

// counterAt is the lifetime counter at t (ms) from readings sorted by
// time: the value of the last reading at t, else the straight line
// between the readings around t (rounded down, as rec does), or false if
// t is not between two readings at most MaxGap apart.
func counterAt(ts []int64, es []gridmint.MWh, t int64) (gridmint.MWh, bool) {
	// j: the first reading after t.
	lo, hi := 0, len(ts)
	for lo < hi {
		m := (lo + hi) / 2
		if ts[m] <= t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	j := lo
	if j > 0 && ts[j-1] == t {
		return es[j-1], true
	}
	if j == 0 || j == len(ts) || ts[j]-ts[j-1] > MaxGap.Milliseconds() {
		return 0, false
	}
	a, b := j-1, j
	d := es[b] - es[a]
	if d < 0 {
		return 0, false // the normaliser's counters never fall; refuse rather than guess
	}
	hi64, lo64 := bits.Mul64(uint64(d), uint64(t-ts[a]))
	q, _ := bits.Div64(hi64, lo64, uint64(ts[b]-ts[a]))
	return es[a] + gridmint.MWh(q), true
}

// Meter turns one device's stored readings into its consumption-positive
// energy per Step over [from, to) (both on Step boundaries): the growth of
// each lifetime counter (forward and reverse) between step boundaries,
// interpolated between readings, combined by flex.Consumption for the
// device's kind. A step whose boundaries cannot be interpolated (no
// reading around them within MaxGap) is Missing. Readings must be in time
// order, as node/store returns them.
func Meter(kind gridmint.DeviceKind, readings []gridmint.Reading, from, to time.Time) flex.Series {
	n := int(to.Sub(from) / Step)
	s := flex.Series{Start: from, Step: Step, Energy: make([]gridmint.MWh, max(n, 0)), Missing: make([]bool, max(n, 0))}
	var fts, rts []int64
	var fes, res []gridmint.MWh
	for _, r := range readings {
		t := r.Time.UnixMilli()
		if r.Fields.Has(gridmint.FieldEnergy) && (len(fts) == 0 || t >= fts[len(fts)-1] && r.Energy >= fes[len(fes)-1]) {
			fts, fes = append(fts, t), append(fes, r.Energy)
		}
		if r.Fields.Has(gridmint.FieldEnergyReverse) && (len(rts) == 0 || t >= rts[len(rts)-1] && r.EnergyReverse >= res[len(res)-1]) {
			rts, res = append(rts, t), append(res, r.EnergyReverse)
		}
	}
	hasRev := len(rts) > 0
	at := func(i int) (f, r gridmint.MWh, ok bool) {
		t := from.Add(time.Duration(i) * Step).UnixMilli()
		f, ok = counterAt(fts, fes, t)
		if !ok {
			return 0, 0, false
		}
		if hasRev {
			r, ok = counterAt(rts, res, t)
		}
		return f, r, ok
	}
	if n <= 0 {
		return s
	}
	pf, pr, pok := at(0)
	for i := 0; i < n; i++ {
		f, r, ok := at(i + 1)
		if !ok || !pok {
			s.Missing[i] = true
		} else {
			s.Energy[i] = flex.Consumption(kind, f-pf, r-pr)
		}
		pf, pr, pok = f, r, ok
	}
	return s
}

// runs splits a series into its contiguous runs of present steps, each
// at most maxSteps long and never crossing a UTC day, as the messages
// that carry them.
func runs(s flex.Series, maxSteps int) []flex.Series {
	var out []flex.Series
	var cur *flex.Series
	for i, e := range s.Energy {
		t := s.Start.Add(time.Duration(i) * s.Step)
		if s.Missing != nil && s.Missing[i] {
			cur = nil
			continue
		}
		if cur == nil || len(cur.Energy) >= maxSteps || t.UTC().Truncate(24*time.Hour).Equal(t) {
			out = append(out, flex.Series{Start: t, Step: s.Step})
			cur = &out[len(out)-1]
		}
		cur.Energy = append(cur.Energy, e)
	}
	return out
}
