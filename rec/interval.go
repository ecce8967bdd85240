package rec

import (
	"math"
	"math/bits"
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// DefaultMaxGap is the longest time between two readings that is not a
// gap: three five-minute publish periods (Tasmota's default TelePeriod),
// i.e. two missed messages.
const DefaultMaxGap = 15 * time.Minute

// HourInterval is one device's energy in one closed clock hour, built
// from its normalised readings: what a claim is made of.
type HourInterval struct {
	Hour gridmint.Hour
	// CounterStart and CounterEnd are the lifetime counter at the hour's
	// start and end (mWh), CarryIn the sub-Wh remainder brought in.
	CounterStart, CounterEnd gridmint.MWh
	CarryIn                  gridmint.MWh
	// Wh = ⌊(CarryIn + CounterEnd − CounterStart) / 1000⌋.
	Wh      gridmint.Wh
	Profile gridmint.Profile
	Quality gridmint.Quality
	// Leaves are the readings the hour was computed from: the last one at
	// or before its start, those after, up to the first one at or after
	// its end. Root is their MerkleRoot.
	Leaves []Leaf
	Root   gridmint.Hash
}

// CarryOut is the remainder passed to the next hour, mWh.
func (iv HourInterval) CarryOut() gridmint.MWh {
	return iv.CarryIn + iv.CounterEnd - iv.CounterStart - iv.Wh.MWh()
}

// BuilderState is everything a Builder needs to continue a device's hours
// where it stopped: store it with the device's claims.
type BuilderState struct {
	// Started is set once the first hour was built; Next is the next hour
	// to build, Counter the counter at its start (the previous hour's
	// end) and Carry the remainder carried into it.
	Started bool
	Next    gridmint.Hour
	Counter gridmint.MWh
	Carry   gridmint.MWh
	// Pending are the readings not yet fully used: the last one at or
	// before Next's start, then every later one.
	Pending []Leaf
}

// Builder turns one device's normalised readings into hourly intervals.
// Counter growth between two readings is spread over the time between
// them (linear interpolation, rounded down to the mWh), so growth that
// straddles an hour or sub-interval boundary is split in proportion to
// time; the normaliser has already turned resets and rollovers into one
// monotonic counter. Each hour's Wh are rounded down and the sub-Wh
// remainder carried into the next hour, so over any run of built hours
// the Wh equal ⌊(carry in + counter growth) / 1000⌋: from a device's
// first hour (carry 0), exactly the floor of its counter growth.
//
// An hour is built once a reading at or after its end has arrived. Its
// quality is QualityMissing when no reading lies between its start and
// its end (inclusive): its energy is the time share of a gap's growth.
// Otherwise it is QualityEstimated when a gap (readings more than MaxGap
// apart) or a counter reset (an estimated reading) touches it, and
// QualityOK when neither does.
//
// A Builder is pure and deterministic: the same readings give the same
// hours on every node. It is not safe for concurrent use.
type Builder struct {
	maxGap int64 // ms
	st     BuilderState
}

// NewBuilder continues from st (the zero state for a new device). A
// maxGap of 0 means DefaultMaxGap.
func NewBuilder(st BuilderState, maxGap time.Duration) *Builder {
	if maxGap <= 0 {
		maxGap = DefaultMaxGap
	}
	st.Pending = slices.Clone(st.Pending)
	return &Builder{maxGap: maxGap.Milliseconds(), st: st}
}

// State is a copy of the builder's state.
func (b *Builder) State() BuilderState {
	st := b.st
	st.Pending = slices.Clone(st.Pending)
	return st
}

// Add appends the device's next reading. Readings without an energy
// counter (power only) carry nothing to certify and are skipped. Readings
// must come in order: neither their time (at millisecond precision) nor
// their energy may be below the previous reading's, and power must be
// finite; otherwise Add returns an EInvalid error and keeps nothing of
// the reading.
func (b *Builder) Add(r gridmint.Reading) error {
	if !r.Fields.Has(gridmint.FieldEnergy) {
		return nil
	}
	l := LeafOf(r)
	if l.HasPower && (math.IsNaN(float64(l.Power)) || math.IsInf(float64(l.Power), 0)) {
		return gridmint.Errorf(gridmint.EInvalid, "rec: reading %s: power %v is not finite", r, l.Power)
	}
	if l.Energy < 0 {
		return gridmint.Errorf(gridmint.EInvalid, "rec: reading %s: negative energy", r)
	}
	if n := len(b.st.Pending); n > 0 {
		last := b.st.Pending[n-1]
		if l.Time < last.Time || l.Energy < last.Energy {
			return gridmint.Errorf(gridmint.EInvalid, "rec: reading %s: before the previous one (%v, %v): readings must come in time order with a counter that never falls",
				r, last.At().Format(time.RFC3339Nano), last.Energy)
		}
	} else if !b.st.Started {
		// The first reading ever: the first hour to build is the first
		// that starts at or after it.
		h := gridmint.HourOf(l.At())
		if l.Time > int64(h)*3_600_000 {
			h++
		}
		b.st.Next = h
	}
	b.st.Pending = append(b.st.Pending, l)
	return nil
}

// Hours builds every hour whose end has been reached by a reading and
// returns them in order; the builder then continues after the last one.
func (b *Builder) Hours() []HourInterval {
	var out []HourInterval
	for {
		pts := b.st.Pending
		start := int64(b.st.Next) * 3_600_000
		end := start + 3_600_000
		if len(pts) == 0 || pts[len(pts)-1].Time < end {
			return out
		}
		if !b.st.Started {
			b.st.Counter = eval(pts, start)
			b.st.Carry = 0
			b.st.Started = true
		}
		iv := buildHour(pts, b.st.Next, b.st.Counter, b.st.Carry, b.maxGap)
		out = append(out, iv)
		b.st.Next++
		b.st.Counter = iv.CounterEnd
		b.st.Carry = iv.CarryOut()
		// Keep the last reading at or before the new start and all later.
		keep := 0
		for i, p := range pts {
			if p.Time <= end {
				keep = i
			}
		}
		b.st.Pending = slices.Clone(pts[keep:])
	}
}

// BuildHour computes hour h from leaves that reach from at or before its
// start to at or after its end, given the counter at its start (the
// previous hour's end) and the carried remainder. It is what Builder does
// for each hour, and what a peer holding a claim's leaves runs to check
// the claim. maxGap of 0 means DefaultMaxGap.
func BuildHour(leaves []Leaf, h gridmint.Hour, counterStart, carryIn gridmint.MWh, maxGap time.Duration) (HourInterval, error) {
	if maxGap <= 0 {
		maxGap = DefaultMaxGap
	}
	start := int64(h) * 3_600_000
	end := start + 3_600_000
	switch {
	case len(leaves) == 0 || leaves[0].Time > start || leaves[len(leaves)-1].Time < end:
		return HourInterval{}, gridmint.Errorf(gridmint.EInvalid, "rec: hour %s: leaves do not reach from its start to its end", h)
	case carryIn < 0 || carryIn >= 1000:
		return HourInterval{}, gridmint.Errorf(gridmint.EInvalid, "rec: hour %s: carry %d mWh out of 0..999", h, carryIn)
	}
	for i := 1; i < len(leaves); i++ {
		if leaves[i].Time < leaves[i-1].Time || leaves[i].Energy < leaves[i-1].Energy {
			return HourInterval{}, gridmint.Errorf(gridmint.EInvalid, "rec: hour %s: leaf %d goes back in time or energy", h, i)
		}
	}
	if e := eval(leaves, start+int64(gridmint.SubInterval/time.Millisecond)); e < counterStart {
		return HourInterval{}, gridmint.Errorf(gridmint.EInvalid, "rec: hour %s: counter start %d mWh above the readings' %d", h, counterStart, e)
	}
	return buildHour(leaves, h, counterStart, carryIn, maxGap.Milliseconds()), nil
}

// buildHour computes hour h from pts, which reach from at or before its
// start to at or after its end.
func buildHour(pts []Leaf, h gridmint.Hour, counter, carry gridmint.MWh, maxGap int64) HourInterval {
	start := int64(h) * 3_600_000
	end := start + 3_600_000
	const sub = int64(gridmint.SubInterval / time.Millisecond)

	iv := HourInterval{Hour: h, CounterStart: counter, CarryIn: carry}
	prev := counter
	for k := range gridmint.SubIntervals {
		e := eval(pts, start+int64(k+1)*sub)
		iv.Profile[k] = e - prev
		prev = e
	}
	iv.CounterEnd = prev
	total := carry + iv.CounterEnd - iv.CounterStart
	iv.Wh = gridmint.Wh(total / 1000)

	// The leaves: from the last reading at or before the start to the
	// reading(s) that fix the counter at the end.
	first := 0
	for i, p := range pts {
		if p.Time <= start {
			first = i
		}
	}
	last := len(pts) - 1
	for i, p := range pts {
		if p.Time >= end {
			last = i
			if p.Time == end {
				for last+1 < len(pts) && pts[last+1].Time == end {
					last++
				}
			}
			break
		}
	}
	iv.Leaves = slices.Clone(pts[first : last+1])
	iv.Root = MerkleRoot(iv.Leaves)

	inside, touched := false, false
	for i, p := range iv.Leaves {
		if p.Time >= start && p.Time <= end {
			inside = true
		}
		if i == 0 {
			continue
		}
		a, b := iv.Leaves[i-1].Time, p.Time
		if !(b > start && a < end || a == end && b == end) {
			continue // the segment lies outside the hour
		}
		if b-a > maxGap || p.Estimated {
			touched = true
		}
	}
	switch {
	case !inside:
		iv.Quality = gridmint.QualityMissing
	case touched:
		iv.Quality = gridmint.QualityEstimated
	default:
		iv.Quality = gridmint.QualityOK
	}
	return iv
}

// eval is the counter at time t (ms): the energy of the last reading at
// exactly t if there is one, else the straight line between the readings
// around t, rounded down. pts must reach t from both sides.
func eval(pts []Leaf, t int64) gridmint.MWh {
	// The first reading after t.
	j, _ := slices.BinarySearchFunc(pts, t+1, func(p Leaf, t int64) int {
		switch {
		case p.Time < t:
			return -1
		case p.Time > t:
			return 1
		}
		return 0
	})
	// pts[j-1] is the last reading at or before t.
	if j == 0 {
		return pts[0].Energy
	}
	a := pts[j-1]
	if a.Time == t || j == len(pts) {
		return a.Energy
	}
	b := pts[j]
	return a.Energy + mulDiv(b.Energy-a.Energy, t-a.Time, b.Time-a.Time)
}

// mulDiv is ⌊x·y/z⌋ for 0 ≤ x, 0 ≤ y ≤ z, z > 0, exact in 128 bits.
func mulDiv(x gridmint.MWh, y, z int64) gridmint.MWh {
	hi, lo := bits.Mul64(uint64(x), uint64(y))
	q, _ := bits.Div64(hi, lo, uint64(z))
	return gridmint.MWh(q)
}
