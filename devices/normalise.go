package devices

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/gridmint/gridmint"
)

// CounterState is what the normaliser remembers about one device between
// readings. It is stored with every batch of readings (same transaction),
// so after a crash the normaliser resumes exactly where the stored readings
// end.
type CounterState struct {
	// Raw is the device counter (mWh) that the next reading is measured
	// against: the last accepted raw value, or the higher one after a
	// downward jitter.
	Raw gridmint.MWh `json:"raw_mwh"`
	// Counter is the kind of Raw.
	Counter gridmint.CounterKind `json:"counter"`
	// Energy is the normalised lifetime counter (mWh) at the last reading.
	Energy gridmint.MWh `json:"energy_mwh"`
	// Power is the last accepted power, W.
	Power gridmint.W `json:"power_w"`
	// Time is the node time of the last reading; SourceTime the device's.
	Time       time.Time `json:"time"`
	SourceTime time.Time `json:"source_time,omitzero"`
}

// MarshalCounterState encodes a state for the store.
func MarshalCounterState(s CounterState) ([]byte, error) { return json.Marshal(s) }

// UnmarshalCounterState decodes a state written by MarshalCounterState.
func UnmarshalCounterState(b []byte) (CounterState, error) {
	var s CounterState
	if err := json.Unmarshal(b, &s); err != nil {
		return CounterState{}, fmt.Errorf("counter state: %w", err)
	}
	return s, nil
}

// Limits bound what the normaliser believes a home device can do.
type Limits struct {
	// MaxPower per kind, W, used when a device has no nameplate. A counter
	// may grow at most MaxPower × elapsed time (+ Slack) between readings.
	MaxPower map[gridmint.DeviceKind]gridmint.W
	// NameplateHeadroom multiplies a device's nameplate to get its maximum
	// power (inverters briefly exceed their rating; meters lag).
	NameplateHeadroom float64
	// Slack is added to every counter-growth bound: counter resolution
	// (a kWh counter with 3 decimals moves in 1 Wh steps) and timing noise.
	Slack gridmint.MWh
	// Jitter is how far a lifetime counter may fall without being called a
	// reset (rounding wobble between firmware code paths).
	Jitter gridmint.MWh
	// AbsurdPower and AbsurdCounter reject values no home device reports.
	AbsurdPower   gridmint.W
	AbsurdCounter gridmint.MWh
}

// DefaultLimits are sized for homes: a 30 kWp roof, a 22 kW charger, one
// 16 A plug, a 3 × 63 A connection.
func DefaultLimits() Limits {
	return Limits{
		MaxPower: map[gridmint.DeviceKind]gridmint.W{
			gridmint.KindPVInverter: 30_000,
			gridmint.KindBattery:    30_000,
			gridmint.KindEVCharger:  22_000,
			gridmint.KindPlug:       3_680,
			gridmint.KindMeter:      43_470,
		},
		NameplateHeadroom: 1.25,
		Slack:             10_000, // 10 Wh
		Jitter:            5_000,  // 5 Wh
		AbsurdPower:       1_000_000,
		AbsurdCounter:     1_000_000_000_000, // 1 GWh
	}
}

// maxPower is the fastest dev can make its counter grow, W.
func (l Limits) maxPower(dev gridmint.Device) gridmint.W {
	if dev.Nameplate > 0 {
		return gridmint.W(float64(dev.Nameplate) * l.NameplateHeadroom)
	}
	if p, ok := l.MaxPower[dev.Kind]; ok {
		return p
	}
	return l.AbsurdPower
}

// growthBound is the most energy (mWh) dev can plausibly add in dt.
func (l Limits) growthBound(dev gridmint.Device, dt time.Duration) gridmint.MWh {
	if dt < 0 {
		dt = 0
	}
	mwh := float64(l.maxPower(dev)) * dt.Hours() * 1000
	if mwh > float64(l.AbsurdCounter) {
		return l.AbsurdCounter
	}
	return gridmint.MWh(mwh) + l.Slack
}

// Rejected is the normaliser's verdict on a measurement it did not turn
// into a reading.
type Rejected struct {
	Reason gridmint.Reason
	Detail string
}

func (r *Rejected) Error() string { return string(r.Reason) + ": " + r.Detail }

func reject(reason gridmint.Reason, format string, args ...any) *Rejected {
	return &Rejected{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// Normalise turns measurement m of dev, received at node time received,
// into a reading, given the device's previous state (nil for the first
// measurement ever). It returns the state to keep: prev itself when the
// measurement is rejected without effect, a re-baselined state for an
// implausible jump. It is a pure function.
func Normalise(dev gridmint.Device, prev *CounterState, m Measurement, received time.Time, lim Limits) (*gridmint.Reading, CounterState, *Rejected) {
	keep := CounterState{}
	if prev != nil {
		keep = *prev
	}
	if math.IsNaN(float64(m.Power)) || math.IsInf(float64(m.Power), 0) {
		return nil, keep, reject(gridmint.ReasonNotFinite, "power %v", m.Power)
	}
	if math.Abs(float64(m.Power)) > float64(lim.AbsurdPower) {
		return nil, keep, reject(gridmint.ReasonAbsurd, "power %.0f W beyond %.0f W", m.Power, lim.AbsurdPower)
	}
	if m.Counter < 0 {
		return nil, keep, reject(gridmint.ReasonNegative, "counter %v", m.Counter)
	}
	if m.Counter > lim.AbsurdCounter {
		return nil, keep, reject(gridmint.ReasonAbsurd, "counter %v beyond %v", m.Counter, lim.AbsurdCounter)
	}
	switch m.CounterKind {
	case gridmint.CounterLifetime, gridmint.CounterDaily, gridmint.CounterSession:
	default:
		return nil, keep, reject(gridmint.ReasonWrongType, "counter kind %q", m.CounterKind)
	}

	r := gridmint.Reading{
		Device:     dev.ID,
		Time:       received.UTC(),
		SourceTime: m.SourceTime,
		Power:      m.Power,
		Raw:        m.Counter,
		Counter:    m.CounterKind,
		Quality:    gridmint.QualityOK,
	}
	if prev == nil {
		r.Energy = m.Counter
		r.Event = gridmint.EventFirst
		return &r, stateOf(r, m.Counter), nil
	}

	// Node time never runs backwards within a device, so stored readings
	// stay in order even if the host clock is stepped back.
	if r.Time.Before(prev.Time) {
		r.Time = prev.Time
	}
	dt := r.Time.Sub(prev.Time)
	if !m.SourceTime.IsZero() && !prev.SourceTime.IsZero() {
		switch {
		case m.SourceTime.Equal(prev.SourceTime):
			if m.Counter == prev.Raw && m.Power == prev.Power {
				return nil, keep, reject(gridmint.ReasonDuplicate, "same measurement as at %s", prev.SourceTime.Format(time.RFC3339))
			}
			return nil, keep, reject(gridmint.ReasonDuplicate, "conflicting values for source time %s (counter %v, was %v)",
				prev.SourceTime.Format(time.RFC3339), m.Counter, prev.Raw)
		case m.SourceTime.Before(prev.SourceTime):
			if m.CounterKind != gridmint.CounterLifetime || m.CounterKind != prev.Counter || m.Counter <= prev.Raw {
				return nil, keep, reject(gridmint.ReasonOutOfOrder, "source time %s before %s",
					m.SourceTime.Format(time.RFC3339), prev.SourceTime.Format(time.RFC3339))
			}
			// The lifetime counter grew, so this is new data from a device
			// whose clock went back; bound growth by node time.
		default:
			// Device time is the better measure of elapsed time: messages
			// queued at the broker arrive in a burst after a node restart.
			dt = m.SourceTime.Sub(prev.SourceTime)
		}
	}
	bound := lim.growthBound(dev, dt)

	if m.CounterKind != prev.Counter {
		// The device changed what it counts (reconfigured adapter): start a
		// new baseline, credit nothing we cannot attribute.
		r.Energy = prev.Energy
		r.Event = gridmint.EventReset
		r.Quality = gridmint.QualityEstimated
		return &r, stateOf(r, m.Counter), nil
	}

	delta := m.Counter - prev.Raw
	switch {
	case delta >= 0:
		if delta > bound {
			// Re-baseline so that one bad jump (or a user setting the counter)
			// does not quarantine every later reading too.
			next := keep
			next.Raw = m.Counter
			next.Time = r.Time
			if !m.SourceTime.IsZero() {
				next.SourceTime = m.SourceTime
			}
			return nil, next, reject(gridmint.ReasonImplausible, "counter grew %v in %s, more than %v possible",
				delta, dt, bound)
		}
		r.Energy = prev.Energy + delta
		return &r, stateOf(r, m.Counter), nil

	case m.CounterKind == gridmint.CounterLifetime && -delta <= lim.Jitter:
		r.Energy = prev.Energy
		return &r, stateOf(r, prev.Raw), nil

	default:
		credit := m.Counter
		if credit > bound {
			credit = 0 // rolled back to an older value, not reset to zero
		}
		r.Energy = prev.Energy + credit
		if m.CounterKind == gridmint.CounterLifetime {
			r.Event = gridmint.EventReset
			r.Quality = gridmint.QualityEstimated
		} else {
			r.Event = gridmint.EventRollover
		}
		return &r, stateOf(r, m.Counter), nil
	}
}

func stateOf(r gridmint.Reading, baseline gridmint.MWh) CounterState {
	return CounterState{
		Raw:        baseline,
		Counter:    r.Counter,
		Energy:     r.Energy,
		Power:      r.Power,
		Time:       r.Time,
		SourceTime: r.SourceTime,
	}
}
