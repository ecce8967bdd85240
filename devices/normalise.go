package devices

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// CounterState is what the normaliser remembers about one device between
// readings. It is stored with every batch of readings (same transaction),
// so after a crash the normaliser resumes exactly where the stored readings
// end.
type CounterState struct {
	// Raw is the device counter (mWh) the next reading is measured
	// against: the last accepted raw value, the higher one after a
	// downward jitter, or the low value after an unconfirmed drop.
	Raw gridmint.MWh
	// Counter is the kind of Raw.
	Counter gridmint.CounterKind
	// Energy is the normalised lifetime counter (mWh) at the last reading.
	Energy gridmint.MWh
	// Power is the last accepted power, W.
	Power gridmint.W
	// Time is the node time of the last reading.
	Time time.Time
	// SourceTime is the highest device timestamp seen: it never moves
	// backwards, so a device cannot reopen the past by winding its clock.
	SourceTime time.Time
	// Recent are the last accepted (device time, raw counter) pairs, to
	// recognise messages the broker delivers again after a crash.
	Recent []SourceSample
	// Budget is the energy (mWh) the device may still add: it accrues at
	// the device's maximum power over node time, up to a cap, and every
	// credited mWh spends it. This bounds the normalised energy over any
	// span of node time, however the device's clock or message rate
	// behaves.
	Budget gridmint.MWh
	// Pending is set after the raw counter dropped: PendingFrom is the
	// baseline before the drop. The drop is credited as a reset only when
	// the next reading continues from the low value; if the counter comes
	// back up to PendingFrom, the drop was a glitch.
	Pending     bool
	PendingFrom gridmint.MWh
}

// SourceSample is one accepted measurement's device time and raw counter.
type SourceSample struct {
	SourceTime time.Time
	Raw        gridmint.MWh
}

// recentSamples is how many accepted samples a state remembers; it covers
// the messages of one unacknowledged batch per device.
const recentSamples = 8

// counterStateWire is CounterState's stored form. Times are Unix
// nanoseconds, which encode every time the normaliser keeps (node times
// and sanitised device times), where time.Time's JSON fails for years
// beyond 9999.
type counterStateWire struct {
	Raw         gridmint.MWh         `json:"raw_mwh"`
	Counter     gridmint.CounterKind `json:"counter"`
	Energy      gridmint.MWh         `json:"energy_mwh"`
	Power       gridmint.W           `json:"power_w"`
	Time        int64                `json:"time_ns"`
	SourceTime  int64                `json:"source_time_ns,omitempty"`
	Recent      [][2]int64           `json:"recent,omitempty"` // [source time ns, raw mWh]
	Budget      gridmint.MWh         `json:"budget_mwh"`
	Pending     bool                 `json:"pending,omitempty"`
	PendingFrom gridmint.MWh         `json:"pending_from_mwh,omitempty"`
}

func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// MarshalCounterState encodes a state for the store.
func MarshalCounterState(s CounterState) ([]byte, error) {
	w := counterStateWire{
		Raw: s.Raw, Counter: s.Counter, Energy: s.Energy, Power: s.Power,
		Time: toNanos(s.Time), SourceTime: toNanos(s.SourceTime),
		Budget: s.Budget, Pending: s.Pending, PendingFrom: s.PendingFrom,
	}
	for _, r := range s.Recent {
		w.Recent = append(w.Recent, [2]int64{toNanos(r.SourceTime), int64(r.Raw)})
	}
	return json.Marshal(w)
}

// UnmarshalCounterState decodes a state written by MarshalCounterState.
func UnmarshalCounterState(b []byte) (CounterState, error) {
	var w counterStateWire
	if err := json.Unmarshal(b, &w); err != nil {
		return CounterState{}, fmt.Errorf("counter state: %w", err)
	}
	s := CounterState{
		Raw: w.Raw, Counter: w.Counter, Energy: w.Energy, Power: w.Power,
		Time: fromNanos(w.Time), SourceTime: fromNanos(w.SourceTime),
		Budget: w.Budget, Pending: w.Pending, PendingFrom: w.PendingFrom,
	}
	for _, r := range w.Recent {
		s.Recent = append(s.Recent, SourceSample{SourceTime: fromNanos(r[0]), Raw: gridmint.MWh(r[1])})
	}
	return s, nil
}

// Limits bound what the normaliser believes a home device can do.
type Limits struct {
	// MaxPower per kind, W, used when a device has no nameplate. The
	// energy budget accrues at this power.
	MaxPower map[gridmint.DeviceKind]gridmint.W
	// NameplateHeadroom multiplies a device's nameplate to get its maximum
	// power (inverters briefly exceed their rating; meters lag).
	NameplateHeadroom float64
	// BudgetSpan caps the budget at MaxPower × BudgetSpan: the longest
	// gap (node down, device unheard) after which growth is still credited
	// in full.
	BudgetSpan time.Duration
	// Slack is the budget of a new device and the cap's margin: counter
	// resolution (a kWh counter with 3 decimals moves in 1 Wh steps).
	Slack gridmint.MWh
	// Jitter is how far a lifetime counter may fall without being taken
	// for a reset (rounding wobble between firmware code paths).
	Jitter gridmint.MWh
	// AbsurdPower and AbsurdCounter reject values no home device reports.
	AbsurdPower   gridmint.W
	AbsurdCounter gridmint.MWh
	// SourceTimeFuture is how far ahead of node time a device timestamp
	// may be; SourceTimeEpoch the earliest one believed. Timestamps
	// outside are ignored (the device's clock is not set), not the data.
	SourceTimeFuture time.Duration
	SourceTimeEpoch  time.Time
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
		BudgetSpan:        24 * time.Hour,
		Slack:             10_000, // 10 Wh
		Jitter:            5_000,  // 5 Wh
		AbsurdPower:       1_000_000,
		AbsurdCounter:     1_000_000_000_000, // 1 GWh
		SourceTimeFuture:  24 * time.Hour,
		SourceTimeEpoch:   time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
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

// energyAt is what maxPower adds in d, mWh.
func energyAt(p gridmint.W, d time.Duration) gridmint.MWh {
	if d <= 0 {
		return 0
	}
	return gridmint.MWh(math.Min(float64(p)*d.Hours()*1000, 1e17))
}

// accrue is the budget after d of node time.
func (l Limits) accrue(dev gridmint.Device, budget gridmint.MWh, d time.Duration) gridmint.MWh {
	p := l.maxPower(dev)
	limit := energyAt(p, l.BudgetSpan) + l.Slack
	return min(budget+energyAt(p, d), limit)
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
// measurement is rejected without effect, a re-baselined state after an
// implausible jump. It is a pure function; the rules are in the package
// doc.
func Normalise(dev gridmint.Device, prev *CounterState, m Measurement, received time.Time, lim Limits) (*gridmint.Reading, CounterState, *Rejected) {
	keep := CounterState{}
	if prev != nil {
		keep = *prev
	}
	if rej := validate(m, lim); rej != nil {
		return nil, keep, rej
	}
	src := m.SourceTime
	if !src.IsZero() && (src.Before(lim.SourceTimeEpoch) || src.After(received.Add(lim.SourceTimeFuture))) {
		src = time.Time{} // the device's clock is not set; judge by node time alone
	}
	r := gridmint.Reading{
		Device:     dev.ID,
		Time:       received.UTC(),
		SourceTime: src,
		Power:      m.Power,
		Raw:        m.Counter,
		Counter:    m.CounterKind,
		Quality:    gridmint.QualityOK,
	}
	if prev == nil {
		r.Energy = m.Counter
		r.Event = gridmint.EventFirst
		next := CounterState{Raw: m.Counter, Counter: m.CounterKind, Energy: r.Energy, Power: r.Power, Time: r.Time, Budget: lim.Slack}
		next.remember(src, m.Counter)
		return &r, next, nil
	}

	// Node time never runs backwards within a device, so stored readings
	// stay in order even if the host clock is stepped back.
	if r.Time.Before(prev.Time) {
		r.Time = prev.Time
	}
	if rej := checkOrder(prev, src, m); rej != nil {
		return nil, keep, rej
	}
	budget := lim.accrue(dev, prev.Budget, r.Time.Sub(prev.Time))
	next := *prev
	next.Time, next.Power = r.Time, r.Power
	next.Recent = slices.Clone(prev.Recent)

	var credit gridmint.MWh
	switch {
	case m.CounterKind != prev.Counter:
		// The device changed what it counts (reconfigured adapter): start
		// a new baseline, credit nothing we cannot attribute.
		next.Raw, next.Counter, next.Pending = m.Counter, m.CounterKind, false
		r.Event, r.Quality = gridmint.EventReset, gridmint.QualityEstimated

	case prev.Pending:
		credit = settlePending(&next, &r, m, budget, lim)

	case m.Counter >= prev.Raw:
		credit = m.Counter - prev.Raw
		next.Raw = m.Counter

	case m.CounterKind == gridmint.CounterLifetime && prev.Raw-m.Counter <= lim.Jitter:
		// A rounding wobble: keep the higher baseline, credit nothing.

	default:
		// A drop: hold it until the next reading says whether the counter
		// restarted (reset, rollover) or glitched.
		next.Pending, next.PendingFrom, next.Raw = true, prev.Raw, m.Counter
		if m.CounterKind == gridmint.CounterLifetime {
			r.Event, r.Quality = gridmint.EventReset, gridmint.QualityEstimated
		} else {
			r.Event = gridmint.EventRollover
		}
	}

	if credit > budget {
		// Faster than the device can produce. Re-baseline at the new value
		// so one bad jump (or a user setting the counter) does not
		// quarantine every later reading too; credit nothing.
		bad := keep
		bad.Time = r.Time
		bad.Raw, bad.Pending, bad.Budget = m.Counter, false, budget
		bad.raiseSourceTime(src)
		return nil, bad, reject(gridmint.ReasonImplausible, "counter grew %v in %s of node time; at most %v possible",
			credit, r.Time.Sub(prev.Time), budget)
	}
	r.Energy = prev.Energy + credit
	next.Energy = r.Energy
	next.Budget = budget - credit
	next.remember(src, m.Counter)
	return &r, next, nil
}

func validate(m Measurement, lim Limits) *Rejected {
	switch {
	case math.IsNaN(float64(m.Power)) || math.IsInf(float64(m.Power), 0):
		return reject(gridmint.ReasonNotFinite, "power %v", m.Power)
	case math.Abs(float64(m.Power)) > float64(lim.AbsurdPower):
		return reject(gridmint.ReasonAbsurd, "power %.0f W beyond %.0f W", m.Power, lim.AbsurdPower)
	case m.Counter < 0:
		return reject(gridmint.ReasonNegative, "counter %v", m.Counter)
	case m.Counter > lim.AbsurdCounter:
		return reject(gridmint.ReasonAbsurd, "counter %v beyond %v", m.Counter, lim.AbsurdCounter)
	}
	switch m.CounterKind {
	case gridmint.CounterLifetime, gridmint.CounterDaily, gridmint.CounterSession:
		return nil
	}
	return reject(gridmint.ReasonWrongType, "counter kind %q", m.CounterKind)
}

// checkOrder rejects duplicates and reordered messages by device time.
func checkOrder(prev *CounterState, src time.Time, m Measurement) *Rejected {
	if src.IsZero() || prev.SourceTime.IsZero() {
		return nil
	}
	for _, s := range prev.Recent {
		if s.SourceTime.Equal(src) {
			if s.Raw == m.Counter {
				return reject(gridmint.ReasonDuplicate, "same measurement as at %s", src.Format(time.RFC3339))
			}
			return reject(gridmint.ReasonDuplicate, "conflicting counter %v for source time %s (was %v)",
				m.Counter, src.Format(time.RFC3339), s.Raw)
		}
	}
	if src.After(prev.SourceTime) {
		return nil
	}
	if src.Equal(prev.SourceTime) {
		return reject(gridmint.ReasonDuplicate, "source time %s seen before", src.Format(time.RFC3339))
	}
	// Older than the high-water mark. A lifetime counter that grew is new
	// data from a device whose clock went back (NTP, daylight saving);
	// anything else is a late message.
	if m.CounterKind == gridmint.CounterLifetime && m.CounterKind == prev.Counter && !prev.Pending && m.Counter > prev.Raw {
		return nil
	}
	return reject(gridmint.ReasonOutOfOrder, "source time %s before %s", src.Format(time.RFC3339), prev.SourceTime.Format(time.RFC3339))
}

// settlePending decides an unconfirmed drop with the next reading and
// returns the energy to credit.
func settlePending(next *CounterState, r *gridmint.Reading, m Measurement, budget gridmint.MWh, lim Limits) gridmint.MWh {
	low, from := next.Raw, next.PendingFrom
	back := m.Counter >= from
	if m.CounterKind == gridmint.CounterLifetime {
		back = m.Counter+lim.Jitter >= from
	}
	switch {
	case back:
		// The counter came back: the drop was a glitch. Credit only growth
		// beyond the old baseline.
		next.Pending, next.Raw = false, max(m.Counter, from)
		return max(0, m.Counter-from)
	case m.Counter >= low:
		// It continues from the low value: a real reset or rollover. The
		// low value is energy since the restart, unless more than the
		// device could have made (a rollback to an old saved value).
		sinceReset := low
		if sinceReset > budget {
			sinceReset = 0
			r.Quality = gridmint.QualityEstimated
		}
		next.Pending, next.Raw = false, m.Counter
		return sinceReset + (m.Counter - low)
	default:
		// Lower still: keep waiting, measured from the new low.
		next.Raw = m.Counter
		return 0
	}
}

// raiseSourceTime moves the device-time high-water mark forward.
func (s *CounterState) raiseSourceTime(src time.Time) {
	if src.After(s.SourceTime) {
		s.SourceTime = src
	}
}

// remember records an accepted sample for redelivery detection and
// raises the high-water mark.
func (s *CounterState) remember(src time.Time, raw gridmint.MWh) {
	if src.IsZero() {
		return
	}
	s.Recent = append(s.Recent, SourceSample{SourceTime: src, Raw: raw})
	if len(s.Recent) > recentSamples {
		s.Recent = s.Recent[len(s.Recent)-recentSamples:]
	}
	s.raiseSourceTime(src)
}

// Equal reports whether two states are the same.
func (s CounterState) Equal(o CounterState) bool {
	return s.Raw == o.Raw && s.Counter == o.Counter && s.Energy == o.Energy && s.Power == o.Power &&
		s.Time.Equal(o.Time) && s.SourceTime.Equal(o.SourceTime) && s.Budget == o.Budget &&
		s.Pending == o.Pending && s.PendingFrom == o.PendingFrom &&
		slices.EqualFunc(s.Recent, o.Recent, func(a, b SourceSample) bool { return a.SourceTime.Equal(b.SourceTime) && a.Raw == b.Raw })
}
