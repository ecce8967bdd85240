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
	// Forward and Reverse follow the device's two energy counters (see
	// Measurement); a device with one counter only uses Forward.
	Forward, Reverse Track
	// Power (W) and SoC (%) are the last reported values; Fields says
	// which of them (and of the counters) the device has reported.
	Power  gridmint.W
	SoC    float64
	Fields gridmint.ReadingFields
	// Time is the node time of the last reading.
	Time time.Time
	// SourceTime is the highest device timestamp seen: it never moves
	// backwards, so a device cannot reopen the past by winding its clock.
	SourceTime time.Time
	// Recent are the last accepted (device time, raw counter) pairs, to
	// recognise messages delivered again.
	Recent []SourceSample

	// Availability and Heard are not the normaliser's: they are the
	// device's last own online signal (a reading counts as online) and the
	// node time it was last heard from when that signal changed. They
	// live here because this is the per-device state the node stores with
	// every batch, so that a device that was offline is still offline
	// after a restart (Ingest writes the state when they change).
	Availability Availability
	Heard        time.Time
}

// Track is the normaliser's state of one energy counter.
type Track struct {
	// Known is set once the counter was seen.
	Known bool
	// Raw is the device counter (mWh) the next value is measured against:
	// the last accepted raw value, the higher one after a downward jitter,
	// or the low value after an unconfirmed drop. Counter is its kind.
	Raw     gridmint.MWh
	Counter gridmint.CounterKind
	// Energy is the normalised lifetime counter, mWh.
	Energy gridmint.MWh
	// Budget is the energy (mWh) the counter may still add: it accrues at
	// the device's maximum power over node time since Since, up to a cap,
	// and every credited mWh spends it. This bounds the normalised energy
	// over any span of node time, however the device's clock or message
	// rate behaves.
	Budget gridmint.MWh
	Since  time.Time
	// Pending is set after the raw counter dropped: PendingFrom is the
	// baseline before the drop. The drop is credited as a reset only when
	// the next value continues from the low value; if the counter comes
	// back up to PendingFrom, the drop was a glitch.
	Pending     bool
	PendingFrom gridmint.MWh
	// Before is the raw counter before the last credited growth (Grown
	// says it is known). A drop that lands at or above it is the counter
	// correcting an upward glitch that was already credited, not a reset:
	// crediting "energy since the reset" then would count the same Wh
	// twice.
	Grown  bool
	Before gridmint.MWh
}

// SourceSample is one accepted measurement's device time and raw counter.
type SourceSample struct {
	SourceTime time.Time
	Raw        gridmint.MWh
}

// recentSamples is how many accepted samples a state remembers: enough for
// a retained re-send and a few reordered messages. Larger re-deliveries
// are recognised by MQTT's DUP flag (see Ingest).
const recentSamples = 8

// The stored form encodes times as Unix nanoseconds, which cover every
// time the normaliser keeps (node times and sanitised device times),
// where time.Time's JSON fails for years beyond 9999.
type (
	counterStateWire struct {
		Forward    trackWire              `json:"fwd,omitzero"`
		Reverse    trackWire              `json:"rev,omitzero"`
		Power      gridmint.W             `json:"power_w,omitempty"`
		SoC        float64                `json:"soc_pct,omitempty"`
		Fields     gridmint.ReadingFields `json:"fields,omitempty"`
		Time       int64                  `json:"time_ns"`
		SourceTime int64                  `json:"source_time_ns,omitempty"`
		Recent     [][2]int64             `json:"recent,omitempty"` // [source time ns, raw mWh]
		Avail      Availability           `json:"avail,omitempty"`
		Heard      int64                  `json:"heard_ns,omitempty"`
	}
	trackWire struct {
		Known       bool                 `json:"known,omitempty"`
		Raw         gridmint.MWh         `json:"raw_mwh,omitempty"`
		Counter     gridmint.CounterKind `json:"counter,omitempty"`
		Energy      gridmint.MWh         `json:"energy_mwh,omitempty"`
		Budget      gridmint.MWh         `json:"budget_mwh,omitempty"`
		Since       int64                `json:"since_ns,omitempty"`
		Pending     bool                 `json:"pending,omitempty"`
		PendingFrom gridmint.MWh         `json:"pending_from_mwh,omitempty"`
		Grown       bool                 `json:"grown,omitempty"`
		Before      gridmint.MWh         `json:"before_mwh,omitempty"`
	}
)

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

func (t Track) wire() trackWire {
	return trackWire{Known: t.Known, Raw: t.Raw, Counter: t.Counter, Energy: t.Energy, Budget: t.Budget,
		Since: toNanos(t.Since), Pending: t.Pending, PendingFrom: t.PendingFrom, Grown: t.Grown, Before: t.Before}
}

func (w trackWire) track() Track {
	return Track{Known: w.Known, Raw: w.Raw, Counter: w.Counter, Energy: w.Energy, Budget: w.Budget,
		Since: fromNanos(w.Since), Pending: w.Pending, PendingFrom: w.PendingFrom, Grown: w.Grown, Before: w.Before}
}

// MarshalCounterState encodes a state for the store.
func MarshalCounterState(s CounterState) ([]byte, error) {
	w := counterStateWire{
		Forward: s.Forward.wire(), Reverse: s.Reverse.wire(), Power: s.Power, SoC: s.SoC, Fields: s.Fields,
		Time: toNanos(s.Time), SourceTime: toNanos(s.SourceTime), Avail: s.Availability, Heard: toNanos(s.Heard),
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
		Forward: w.Forward.track(), Reverse: w.Reverse.track(), Power: w.Power, SoC: w.SoC, Fields: w.Fields,
		Time: fromNanos(w.Time), SourceTime: fromNanos(w.SourceTime), Availability: w.Avail, Heard: fromNanos(w.Heard),
	}
	switch s.Availability {
	case AvailabilityUnknown, AvailabilityOnline, AvailabilityOffline:
	default:
		return CounterState{}, fmt.Errorf("counter state: availability %d", s.Availability)
	}
	for _, r := range w.Recent {
		s.Recent = append(s.Recent, SourceSample{SourceTime: fromNanos(r[0]), Raw: gridmint.MWh(r[1])})
	}
	return s, nil
}

// Equal reports whether two states are the same.
func (s CounterState) Equal(o CounterState) bool {
	return s.Forward.equal(o.Forward) && s.Reverse.equal(o.Reverse) && s.Power == o.Power && s.SoC == o.SoC &&
		s.Fields == o.Fields && s.Time.Equal(o.Time) && s.SourceTime.Equal(o.SourceTime) &&
		s.Availability == o.Availability && s.Heard.Equal(o.Heard) &&
		slices.EqualFunc(s.Recent, o.Recent, func(a, b SourceSample) bool { return a.SourceTime.Equal(b.SourceTime) && a.Raw == b.Raw })
}

func (t Track) equal(o Track) bool {
	return t.Known == o.Known && t.Raw == o.Raw && t.Counter == o.Counter && t.Energy == o.Energy &&
		t.Budget == o.Budget && t.Since.Equal(o.Since) && t.Pending == o.Pending && t.PendingFrom == o.PendingFrom &&
		t.Grown == o.Grown && t.Before == o.Before
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
	// Slack is the cap's margin: counter resolution (a kWh counter with 3
	// decimals moves in 1 Wh steps).
	Slack gridmint.MWh
	// InitialSpan funds a new counter's budget with MaxPower × InitialSpan
	// (+ Slack): a device's first value may be a retained message, or a
	// republish of its last sample, from up to one publish period ago (a
	// Tasmota TelePeriod is 5 minutes), and the next one then covers that
	// whole period.
	InitialSpan time.Duration
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
		InitialSpan:       5 * time.Minute,
		Jitter:            5_000, // 5 Wh
		AbsurdPower:       1_000_000,
		AbsurdCounter:     1_000_000_000_000, // 1 GWh
		SourceTimeFuture:  24 * time.Hour,
		SourceTimeEpoch:   time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// maxPower is the fastest dev can make a counter grow, W.
func (l Limits) maxPower(dev gridmint.Device) gridmint.W {
	if dev.Nameplate > 0 {
		return gridmint.W(float64(dev.Nameplate) * l.NameplateHeadroom)
	}
	if p, ok := l.MaxPower[dev.Kind]; ok {
		return p
	}
	return l.AbsurdPower
}

// energyAt is what power p adds in d, mWh.
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
	r := gridmint.Reading{Device: dev.ID, Time: received.UTC(), SourceTime: src, Quality: gridmint.QualityOK}
	if prev != nil {
		// Node time never runs backwards within a device, so stored
		// readings stay in order even if the host clock is stepped back.
		if r.Time.Before(prev.Time) {
			r.Time = prev.Time
		}
		if rej := checkOrder(prev, src, m); rej != nil {
			return nil, keep, rej
		}
	}
	next := keep
	next.Recent = slices.Clone(keep.Recent)

	fwd, fwdRej := advance(&next.Forward, m.Forward, dev, r.Time, lim)
	rev, revRej := advance(&next.Reverse, m.Reverse, dev, r.Time, lim)
	if rej := cmpOr(fwdRej, revRej); rej != nil {
		// One implausible counter spoils the measurement. Its track was
		// re-baselined (see advance); keep the other as it was.
		bad := keep
		bad.Time = r.Time
		if fwdRej != nil {
			bad.Forward = next.Forward
		}
		if revRej != nil {
			bad.Reverse = next.Reverse
		}
		bad.raiseSourceTime(src)
		return nil, bad, rej
	}
	if m.Power != nil {
		r.Fields |= gridmint.FieldPower
		r.Power = *m.Power
		next.Power = r.Power
	}
	if m.SoC != nil {
		r.Fields |= gridmint.FieldSoC
		r.SoC = *m.SoC
		next.SoC = r.SoC
	}
	if m.Forward != nil {
		r.Fields |= gridmint.FieldEnergy
		r.Energy, r.Raw, r.Counter, r.Event = next.Forward.Energy, m.Forward.Value, m.Forward.Kind, fwd.event
	}
	if m.Reverse != nil {
		r.Fields |= gridmint.FieldEnergyReverse
		r.EnergyReverse, r.RawReverse, r.CounterReverse, r.EventReverse = next.Reverse.Energy, m.Reverse.Value, m.Reverse.Kind, rev.event
	}
	if fwd.estimated || rev.estimated {
		r.Quality = gridmint.QualityEstimated
	}
	next.Fields |= r.Fields
	next.Time = r.Time
	next.remember(src, recentRaw(m))
	return &r, next, nil
}

func cmpOr(a, b *Rejected) *Rejected {
	if a != nil {
		return a
	}
	return b
}

// recentRaw is the counter that identifies a measurement among the recent
// ones: the forward counter, else the reverse one.
func recentRaw(m Measurement) gridmint.MWh {
	switch {
	case m.Forward != nil:
		return m.Forward.Value
	case m.Reverse != nil:
		return m.Reverse.Value
	}
	return 0
}

func validate(m Measurement, lim Limits) *Rejected {
	if m.empty() {
		return reject(gridmint.ReasonWrongType, "measurement without any value")
	}
	if m.Power != nil {
		p := float64(*m.Power)
		switch {
		case math.IsNaN(p) || math.IsInf(p, 0):
			return reject(gridmint.ReasonNotFinite, "power %v", p)
		case math.Abs(p) > float64(lim.AbsurdPower):
			return reject(gridmint.ReasonAbsurd, "power %.0f W beyond %.0f W", p, lim.AbsurdPower)
		}
	}
	if m.SoC != nil {
		switch soc := *m.SoC; {
		case math.IsNaN(soc) || math.IsInf(soc, 0):
			return reject(gridmint.ReasonNotFinite, "state of charge %v", soc)
		case soc < 0 || soc > 100:
			return reject(gridmint.ReasonAbsurd, "state of charge %v%% outside 0..100", soc)
		}
	}
	for _, c := range []*Counter{m.Forward, m.Reverse} {
		if c == nil {
			continue
		}
		switch {
		case c.Value < 0:
			return reject(gridmint.ReasonNegative, "counter %v", c.Value)
		case c.Value > lim.AbsurdCounter:
			return reject(gridmint.ReasonAbsurd, "counter %v beyond %v", c.Value, lim.AbsurdCounter)
		}
		switch c.Kind {
		case gridmint.CounterLifetime, gridmint.CounterDaily, gridmint.CounterSession:
		default:
			return reject(gridmint.ReasonWrongType, "counter kind %q", c.Kind)
		}
	}
	return nil
}

// checkOrder rejects duplicates and reordered messages by device time.
func checkOrder(prev *CounterState, src time.Time, m Measurement) *Rejected {
	if src.IsZero() || prev.SourceTime.IsZero() {
		return nil
	}
	raw := recentRaw(m)
	for _, s := range prev.Recent {
		if s.SourceTime.Equal(src) {
			if s.Raw == raw {
				return reject(gridmint.ReasonDuplicate, "same measurement as at %s", src.Format(time.RFC3339))
			}
			return reject(gridmint.ReasonDuplicate, "conflicting counter %v for source time %s (was %v)",
				raw, src.Format(time.RFC3339), s.Raw)
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
	c, t := m.Forward, prev.Forward
	if c == nil {
		c, t = m.Reverse, prev.Reverse
	}
	if c != nil && c.Kind == gridmint.CounterLifetime && t.Known && c.Kind == t.Counter && !t.Pending && c.Value > t.Raw {
		return nil
	}
	return reject(gridmint.ReasonOutOfOrder, "source time %s before %s", src.Format(time.RFC3339), prev.SourceTime.Format(time.RFC3339))
}

// trackResult is what advancing one counter says about the reading.
type trackResult struct {
	event     gridmint.CounterEvent
	estimated bool
}

// advance moves track t to counter c at node time now. It credits the
// counter's growth within the track's budget; growth beyond it is
// implausible: t is then re-baselined at c without credit and the
// rejection returned.
func advance(t *Track, c *Counter, dev gridmint.Device, now time.Time, lim Limits) (trackResult, *Rejected) {
	var res trackResult
	if c == nil {
		return res, nil
	}
	if !t.Known {
		budget := lim.Slack + energyAt(lim.maxPower(dev), lim.InitialSpan)
		*t = Track{Known: true, Raw: c.Value, Counter: c.Kind, Energy: c.Value, Budget: budget, Since: now}
		res.event = gridmint.EventFirst
		return res, nil
	}
	budget := lim.accrue(dev, t.Budget, now.Sub(t.Since))
	var credit gridmint.MWh
	switch {
	case c.Kind != t.Counter:
		// The device changed what it counts (reconfigured adapter): start
		// a new baseline, credit nothing we cannot attribute.
		t.Raw, t.Counter, t.Pending, t.Grown = c.Value, c.Kind, false, false
		res.event, res.estimated = gridmint.EventReset, true

	case t.Pending:
		credit = t.settlePending(c, budget, lim, &res)

	case c.Value >= t.Raw:
		credit = c.Value - t.Raw
		if credit > 0 {
			t.Grown, t.Before = true, t.Raw
		}
		t.Raw = c.Value

	case c.Kind == gridmint.CounterLifetime && t.Raw-c.Value <= lim.Jitter:
		// A rounding wobble: keep the higher baseline, credit nothing.

	default:
		// A drop: hold it until the next value says whether the counter
		// restarted (reset, rollover) or glitched.
		t.Pending, t.PendingFrom, t.Raw = true, t.Raw, c.Value
		if c.Kind == gridmint.CounterLifetime {
			res.event, res.estimated = gridmint.EventReset, true
		} else {
			res.event = gridmint.EventRollover
		}
	}
	t.Since = now
	if credit > budget {
		// Faster than the device can produce. Re-baseline at the new value
		// so one bad jump (or a user setting the counter) does not
		// quarantine every later reading too; credit nothing.
		t.Raw, t.Counter, t.Pending, t.Budget, t.Grown = c.Value, c.Kind, false, budget, false
		return res, reject(gridmint.ReasonImplausible, "counter grew %v; at most %v possible in the node time since the budget was last spent",
			credit, budget)
	}
	t.Energy += credit
	t.Budget = budget - credit
	return res, nil
}

// settlePending decides an unconfirmed drop with the next value and
// returns the energy to credit.
func (t *Track) settlePending(c *Counter, budget gridmint.MWh, lim Limits, res *trackResult) gridmint.MWh {
	low, from := t.Raw, t.PendingFrom
	back := c.Value >= from
	if c.Kind == gridmint.CounterLifetime {
		back = c.Value+lim.Jitter >= from
	}
	switch {
	case back:
		// The counter came back: the drop was a glitch. Credit only growth
		// beyond the old baseline.
		t.Pending, t.Raw = false, max(c.Value, from)
		return max(0, c.Value-from)
	case c.Value >= low && t.Grown && t.Before > 0 && low >= t.Before:
		// It continues from a low value at or above where the counter was
		// before its last credited growth: that growth was an upward
		// glitch, now corrected. Its energy was credited already, so
		// keep waiting: credit nothing until the counter passes the peak
		// again (the case above), or drops lower still (a real reset).
		t.Raw = c.Value
		res.estimated = true
		return 0
	case c.Value >= low:
		// It continues from the low value: a real reset or rollover. The
		// low value is energy since the restart, unless more than the
		// device could have made (a rollback to an old saved value).
		sinceReset := low
		if sinceReset > budget {
			sinceReset = 0
			res.estimated = true
		}
		t.Pending, t.Raw = false, c.Value
		return sinceReset + (c.Value - low)
	default:
		// Lower still: keep waiting, measured from the new low.
		t.Raw = c.Value
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
