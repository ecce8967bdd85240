package gridmint

import (
	"fmt"
	"time"
)

// Quality is the data-quality flag of a reading or interval, with the same
// values as OpenADR 3's DATA_QUALITY report payload.
type Quality string

// Quality values.
const (
	QualityOK        Quality = "ok"        // measured and plausible
	QualityEstimated Quality = "estimated" // derived across a gap or a counter reset
	QualityMissing   Quality = "missing"   // no data for the period
	QualityBad       Quality = "bad"       // measured but failed a plausibility check
)

// CounterKind says over what span a device's energy counter accumulates.
// The normaliser turns every kind into one lifetime counter per device.
type CounterKind string

// Counter kinds.
const (
	CounterLifetime CounterKind = "lifetime" // since manufacture or last reset (Tasmota Total, OpenDTU yieldtotal)
	CounterDaily    CounterKind = "daily"    // since local midnight (Tasmota Today, OpenDTU yieldday)
	CounterSession  CounterKind = "session"  // since the car was plugged in (go-e wh)
)

// CounterEvent marks a reading at which the raw counter did something other
// than grow.
type CounterEvent string

// Counter events.
const (
	EventNone     CounterEvent = ""         // the counter grew or stayed
	EventFirst    CounterEvent = "first"    // first reading of this device
	EventReset    CounterEvent = "reset"    // a lifetime counter went down: reboot or reset
	EventRollover CounterEvent = "rollover" // a daily or session counter restarted, as it should
)

// ReadingFields says which values a Reading carries. A device reports
// what its firmware has: a plug power and one counter, a grid meter power
// and import and export counters, a battery power and state of charge.
type ReadingFields uint8

// Reading fields.
const (
	FieldPower         ReadingFields = 1 << iota // Power
	FieldEnergy                                  // Energy, Raw, Counter, Event
	FieldEnergyReverse                           // EnergyReverse, RawReverse, CounterReverse, EventReverse
	FieldSoC                                     // SoC
)

// Has reports whether all of want are set.
func (f ReadingFields) Has(want ReadingFields) bool { return f&want == want }

// Reading is one normalised measurement of one device.
type Reading struct {
	Device DeviceID `json:"device"`
	// Time is when the node received the measurement, in UTC by the node's
	// clock. Readings of one device are stored in Time order.
	Time time.Time `json:"time"`
	// SourceTime is the device's own timestamp of the measurement when its
	// payload carries one (OpenDTU last_update; Tasmota Time, whose zone is
	// unknown). It is only compared with other readings of the same device,
	// to find duplicates and reordering.
	SourceTime time.Time `json:"source_time,omitzero"`
	// Fields says which of the values below were measured; the others are
	// zero.
	Fields ReadingFields `json:"fields"`
	// Power in W, positive in the device kind's natural direction (PV
	// producing, plug or charger consuming, meter importing, battery
	// discharging).
	Power W `json:"power_w"`
	// Energy is the normalised lifetime counter in the natural direction
	// (production, consumption, grid import, battery discharge), in mWh:
	// it never decreases, whatever the device's counter does (resets,
	// daily rollovers).
	Energy MWh `json:"energy_mwh"`
	// Raw is the device's own counter value converted to mWh, and Counter
	// its kind; kept so every normalised value can be audited.
	Raw     MWh         `json:"raw_mwh"`
	Counter CounterKind `json:"counter"`
	// Event says whether the raw counter reset or rolled over here.
	Event CounterEvent `json:"event,omitempty"`
	// EnergyReverse, RawReverse, CounterReverse and EventReverse are the
	// same for the opposite direction: grid export, battery charge.
	EnergyReverse  MWh          `json:"energy_reverse_mwh"`
	RawReverse     MWh          `json:"raw_reverse_mwh"`
	CounterReverse CounterKind  `json:"counter_reverse,omitempty"`
	EventReverse   CounterEvent `json:"event_reverse,omitempty"`
	// SoC is the state of charge in percent (0 to 100) of a battery or a
	// car.
	SoC     float64 `json:"soc_pct"`
	Quality Quality `json:"quality"`
}

// String is a compact human form for logs and test failures.
func (r Reading) String() string {
	s := fmt.Sprintf("%s@%s", r.Device, r.Time.Format(time.RFC3339Nano))
	if r.Fields.Has(FieldPower) {
		s += fmt.Sprintf(" power=%.1fW", float64(r.Power))
	}
	if r.Fields.Has(FieldEnergy) {
		s += fmt.Sprintf(" energy=%v raw=%v(%s)%s", r.Energy, r.Raw, r.Counter, eventSuffix(r.Event))
	}
	if r.Fields.Has(FieldEnergyReverse) {
		s += fmt.Sprintf(" reverse=%v raw=%v(%s)%s", r.EnergyReverse, r.RawReverse, r.CounterReverse, eventSuffix(r.EventReverse))
	}
	if r.Fields.Has(FieldSoC) {
		s += fmt.Sprintf(" soc=%.1f%%", r.SoC)
	}
	return s + " " + string(r.Quality)
}

func eventSuffix(e CounterEvent) string {
	if e == EventNone {
		return ""
	}
	return " " + string(e)
}

// Interval is the energy of one device over the half-open span [Start, End).
type Interval struct {
	Device  DeviceID  `json:"device"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Energy  MWh       `json:"energy_mwh"`
	Quality Quality   `json:"quality"`
}

// Contains reports whether t lies in [Start, End).
func (iv Interval) Contains(t time.Time) bool {
	return !t.Before(iv.Start) && t.Before(iv.End)
}

// Reason is why an input was rejected and kept in quarantine instead of
// being stored as a reading.
type Reason string

// Rejection reasons. Each is counted separately.
const (
	ReasonMalformed     Reason = "malformed"      // not parseable (bad JSON, not a number)
	ReasonWrongType     Reason = "wrong_type"     // parseable, but a field has the wrong type
	ReasonNotFinite     Reason = "not_finite"     // NaN or infinity
	ReasonNegative      Reason = "negative"       // a counter below zero
	ReasonAbsurd        Reason = "absurd"         // a value beyond any home device (e.g. > 1 MW, > 1 GWh)
	ReasonImplausible   Reason = "implausible"    // a counter jump faster than the device could produce
	ReasonUnknownTopic  Reason = "unknown_topic"  // a topic no adapter understands
	ReasonUnknownDevice Reason = "unknown_device" // a device not declared while discovery is off
	ReasonDuplicate     Reason = "duplicate"      // the same measurement again
	ReasonOutOfOrder    Reason = "out_of_order"   // older than a measurement already stored
	ReasonInternal      Reason = "internal"       // the node failed to store it (a bug); kept to reprocess
	ReasonRateLimited   Reason = "rate_limited"   // over the device's (or topic's) allowance; counted, not kept
)

// Rejection is an input kept in quarantine: the raw bytes, where they came
// from and why they were not stored as a reading.
type Rejection struct {
	Time    time.Time `json:"time"`
	Topic   string    `json:"topic"`
	Dialect string    `json:"dialect,omitempty"`
	Device  DeviceID  `json:"device,omitempty"`
	Reason  Reason    `json:"reason"`
	Detail  string    `json:"detail"`
	Raw     []byte    `json:"raw"`
	// RawLen is the payload's length as received, bytes, when Raw holds
	// only its first bytes; 0 when Raw is the whole payload.
	RawLen int `json:"raw_len,omitempty"`
}

// Reasons lists every rejection reason, so counters can start at zero.
var Reasons = []Reason{
	ReasonMalformed, ReasonWrongType, ReasonNotFinite, ReasonNegative, ReasonAbsurd,
	ReasonImplausible, ReasonUnknownTopic, ReasonUnknownDevice, ReasonDuplicate, ReasonOutOfOrder,
	ReasonInternal, ReasonRateLimited,
}
