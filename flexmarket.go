package gridmint

import (
	"encoding/hex"
	"math/big"
	"time"
)

// Types the flexibility market shares between package flex (which computes
// them), the node (which gossips, stores and serves them) and the chain
// (which settles them). The rules that produce them are in package flex.

// OfferID identifies one signed offer. In the network it is the ID of the
// offer's gossip envelope; flex.OfferHash is a canonical content hash for
// offers that never travelled. Clearing breaks price ties by OfferID only.
type OfferID [32]byte

// RequestID identifies one signed request, like OfferID. The FLEX
// contract's reserve(requestId, awardsRoot, amount) names it.
type RequestID [32]byte

// TestID identifies one proof-of-flexibility test dispatch.
type TestID [32]byte

// String is the ID as 0x and 64 lower-case hex digits.
func (id OfferID) String() string { return hashString(id) }

// String is the ID as 0x and 64 lower-case hex digits.
func (id RequestID) String() string { return hashString(id) }

// String is the ID as 0x and 64 lower-case hex digits.
func (id TestID) String() string { return hashString(id) }

// MarshalText encodes the ID as String does.
func (id OfferID) MarshalText() ([]byte, error) { return []byte(hashString(id)), nil }

// MarshalText encodes the ID as String does.
func (id RequestID) MarshalText() ([]byte, error) { return []byte(hashString(id)), nil }

// MarshalText encodes the ID as String does.
func (id TestID) MarshalText() ([]byte, error) { return []byte(hashString(id)), nil }

// UnmarshalText parses 0x and 64 hex digits (either case).
func (id *OfferID) UnmarshalText(b []byte) error { return parseHash("offer id", b, (*[32]byte)(id)) }

// UnmarshalText parses 0x and 64 hex digits (either case).
func (id *RequestID) UnmarshalText(b []byte) error {
	return parseHash("request id", b, (*[32]byte)(id))
}

// UnmarshalText parses 0x and 64 hex digits (either case).
func (id *TestID) UnmarshalText(b []byte) error { return parseHash("test id", b, (*[32]byte)(id)) }

func hashString(h [32]byte) string { return "0x" + hex.EncodeToString(h[:]) }

// parseHash decodes into dst only when the whole input is valid, so a
// refused input leaves dst as it was.
func parseHash(what string, b []byte, dst *[32]byte) error {
	if len(b) != 66 || b[0] != '0' || (b[1] != 'x' && b[1] != 'X') {
		return Errorf(EInvalid, "%s: want 0x and 64 hex digits, got %d bytes", what, len(b))
	}
	var h [32]byte
	if _, err := hex.Decode(h[:], b[2:]); err != nil {
		return Errorf(EInvalid, "%s: not hex: %v", what, err)
	}
	*dst = h
	return nil
}

// BaseUnitsPerMicroFLEX is how many FLEX base units (the contract's 18
// decimals) one MicroFLEX is.
const BaseUnitsPerMicroFLEX = 1_000_000_000_000

// EnergyAt is the energy of power p held for d: whole watts × whole
// seconds / 3.6, in mWh, rounded down. p below zero counts as zero. Award
// caps and values use it, so every node rounds the same way.
func EnergyAt(p W, d time.Duration) MWh {
	w, s := int64(p), int64(d/time.Second)
	if w <= 0 || s <= 0 {
		return 0
	}
	// w ≤ 1e6 and s ≤ 1e5 for any valid window: no overflow.
	return MWh(w * s * 10 / 36)
}

// Award is one offer accepted for one request at clearing: the device
// changes its power by Power in Direction over the request's window, paid
// at the request's clearing price per delivered kWh.
type Award struct {
	RequestID RequestID `json:"request_id"`
	OfferID   OfferID   `json:"offer_id"`
	// Provider is the 0x address paid for delivery and whose stake backs
	// it: the offer's signer.
	Provider string   `json:"provider"`
	Device   DeviceID `json:"device"`
	// Meter is the meter of record (Offer.MeterOfRecord, never empty).
	Meter       DeviceID       `json:"meter"`
	Zone        string         `json:"zone"`
	Direction   Direction      `json:"direction"`
	WindowStart time.Time      `json:"window_start"`
	WindowEnd   time.Time      `json:"window_end"` // exclusive
	Power       W              `json:"power_w"`    // whole watts, the offer's
	Price       MicroFLEX      `json:"price"`      // the clearing price, per kWh
	Baseline    BaselineMethod `json:"baseline"`
}

// Energy is the awarded energy, the most that can be paid: EnergyAt(Power,
// window length).
func (a Award) Energy() MWh { return EnergyAt(a.Power, a.WindowEnd.Sub(a.WindowStart)) }

// Value is what the award is worth if fully delivered, in FLEX base units:
// Price × Power × seconds / 3.6e6 kWh, i.e. ⌊Price × W × s × 10^7 / 36⌋,
// exact and rounded down. A request's cleared value, which the utility
// burns to reserve it, is the sum over its awards.
func (a Award) Value() *big.Int {
	w, s := int64(a.Power), int64(a.WindowEnd.Sub(a.WindowStart)/time.Second)
	if w <= 0 || s <= 0 || a.Price <= 0 {
		return new(big.Int)
	}
	v := new(big.Int).Mul(big.NewInt(int64(a.Price)), big.NewInt(w))
	v.Mul(v, big.NewInt(s))
	v.Mul(v, big.NewInt(10_000_000))
	return v.Quo(v, big.NewInt(36))
}

// FlexReason says why flexibility input was refused, why a device offers
// nothing, or why an award was not (fully) delivered. Package flex
// documents when each is given.
type FlexReason string

// Flexibility reasons.
const (
	// Refused input.
	FlexInvalid          FlexReason = "invalid"           // fails its own validation
	FlexIDConflict       FlexReason = "id_conflict"       // two different inputs with one ID
	FlexOverCapacity     FlexReason = "over_capacity"     // an offer above the device's offerable capacity
	FlexBelowMinPrice    FlexReason = "below_min_price"   // an offer below the homeowner's minimum price
	FlexGateClosed       FlexReason = "gate_closed"       // a request whose gate closure has passed
	FlexRootMismatch     FlexReason = "root_mismatch"     // an awards root that the inputs do not give
	FlexReservationRoot  FlexReason = "reservation_root"  // a reservation naming another awards root
	FlexReservationShort FlexReason = "reservation_short" // a reservation burning less than the cleared value
	FlexInflatedDelivery FlexReason = "inflated_delivery" // a delivery record claiming more than peers measure
	FlexDeliveryMismatch FlexReason = "delivery_mismatch" // a delivery record that differs otherwise
	FlexScheduleLate     FlexReason = "schedule_late"     // a schedule baseline signed after gate closure
	FlexSafetyLimit      FlexReason = "safety_limit"      // a dispatch the device's safety limits forbid
	FlexNotFlexible      FlexReason = "not_flexible"      // the kind cannot move in that direction
	FlexUnknownDevice    FlexReason = "unknown_device"    // a device the caller has no facts for
	FlexNoCar            FlexReason = "no_car"            // no car plugged in, or it leaves before the window ends
	FlexAtReserve        FlexReason = "at_reserve"        // the battery is at its reserve (or full, for up)
	FlexNoForecast       FlexReason = "no_forecast"       // no PV production expected in the window
	FlexUnknownLimits    FlexReason = "unknown_limits"    // power or capacity unknown, so nothing can be offered
	FlexInsufficientHist FlexReason = "insufficient_history"
	FlexDerated          FlexReason = "derated"         // failed proof-of-flexibility tests cut the offer to zero
	FlexOptOut           FlexReason = "opt_out"         // the homeowner opted out
	FlexGridLimit        FlexReason = "grid_limit"      // a grid operator's limit prevented delivery
	FlexOffline          FlexReason = "offline"         // the device was offline in the window
	FlexNoData           FlexReason = "no_data"         // meter data missing for part of the window
	FlexUnderDelivered   FlexReason = "under_delivered" // delivered below the tolerance
	FlexAwardOverlap     FlexReason = "award_overlap"   // a test voided by an award of its device overlapping it
)

// DeliveryRecord is the measured delivery of one award: what every peer
// recomputes from the gossiped signed intervals and attests.
type DeliveryRecord struct {
	RequestID   RequestID `json:"request_id"`
	OfferID     OfferID   `json:"offer_id"`
	Provider    string    `json:"provider"`
	Device      DeviceID  `json:"device"`
	Meter       DeviceID  `json:"meter"`
	Direction   Direction `json:"direction"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// StepSeconds is the length of each entry of Intervals.
	StepSeconds int64 `json:"step_s"`
	// Baseline is the versioned baseline method, e.g. "caiso_10in10/v1".
	Baseline string `json:"baseline"`
	// Awarded is the award's energy, Delivered the measured delivery (the
	// sum of Intervals), both mWh; 0 ≤ Delivered ≤ Awarded.
	Awarded   MWh   `json:"awarded_mwh"`
	Delivered MWh   `json:"delivered_mwh"`
	Intervals []MWh `json:"intervals_mwh"`
	// Price is the clearing price, MicroFLEX per kWh.
	Price MicroFLEX `json:"price"`
	// Reason is empty for a delivery within tolerance, else why not.
	Reason FlexReason `json:"reason,omitempty"`
}

// Performance is Delivered / Awarded in parts per million.
func (r DeliveryRecord) Performance() int64 {
	if r.Awarded <= 0 {
		return 0
	}
	return new(big.Int).Quo(new(big.Int).Mul(big.NewInt(int64(r.Delivered)), big.NewInt(1_000_000)), big.NewInt(int64(r.Awarded))).Int64()
}

// Payment is what the delivery earns, in FLEX base units: Price ×
// Delivered kWh = Price × Delivered mWh × 10^6, exact. Under-delivered
// energy earns nothing.
func (r DeliveryRecord) Payment() *big.Int {
	if r.Delivered <= 0 || r.Price <= 0 {
		return new(big.Int)
	}
	v := new(big.Int).Mul(big.NewInt(int64(r.Price)), big.NewInt(int64(r.Delivered)))
	return v.Mul(v, big.NewInt(1_000_000))
}

// Exempt reports whether the shortfall is excused (the homeowner's opt-out
// declared before the window, or a grid operator's limit): not paid, not
// slashed.
func (r DeliveryRecord) Exempt() bool { return r.Reason == FlexOptOut || r.Reason == FlexGridLimit }

// FlexExemption excuses a device from delivering in [Start, End): the
// homeowner's opt-out (counts only if DeclaredAt is before the award's
// window starts) or a grid operator's limit (counts if declared before
// the window ends).
type FlexExemption struct {
	Device     DeviceID   `json:"device"`
	Reason     FlexReason `json:"reason"` // FlexOptOut or FlexGridLimit
	DeclaredAt time.Time  `json:"declared_at"`
	Start      time.Time  `json:"start"`
	End        time.Time  `json:"end"`
}

// FlexPolicy is the homeowner's say over one device's flexibility.
type FlexPolicy struct {
	// MinPrice is the lowest price, MicroFLEX per kWh, the device is
	// offered at.
	MinPrice MicroFLEX `json:"min_price"`
	// ReserveSoC is the battery state of charge, %, never discharged
	// below (the device's own SoC floor applies too; the higher wins).
	ReserveSoC float64 `json:"reserve_soc_pct,omitempty"`
	// MaxSoC is the state of charge, %, a battery is never charged above
	// by the market; 0 means 100.
	MaxSoC float64 `json:"max_soc_pct,omitempty"`
	// Departure is when the car leaves, and EnergyNeeded what it must
	// still get by then.
	Departure    time.Time `json:"departure,omitzero"`
	EnergyNeeded Wh        `json:"energy_needed_wh,omitempty"`
	// OptOut withdraws the device from the market.
	OptOut bool `json:"opt_out,omitempty"`
}

// Validate checks the policy's ranges, naming the field.
func (p FlexPolicy) Validate() error {
	switch {
	case p.MinPrice < 0:
		return Errorf(EInvalid, "flex policy: min_price %d: want ≥ 0", p.MinPrice)
	case !(p.ReserveSoC >= 0 && p.ReserveSoC <= 100):
		return Errorf(EInvalid, "flex policy: reserve_soc_pct %v: want 0 to 100", p.ReserveSoC)
	case !(p.MaxSoC >= 0 && p.MaxSoC <= 100):
		return Errorf(EInvalid, "flex policy: max_soc_pct %v: want 0 to 100", p.MaxSoC)
	case p.MaxSoC > 0 && p.MaxSoC < p.ReserveSoC:
		return Errorf(EInvalid, "flex policy: max_soc_pct %v below reserve_soc_pct %v", p.MaxSoC, p.ReserveSoC)
	case p.EnergyNeeded < 0 || p.EnergyNeeded > MaxCapacity:
		return Errorf(EInvalid, "flex policy: energy_needed_wh %d: want 0 to %d", p.EnergyNeeded, MaxCapacity)
	case p.EnergyNeeded > 0 && p.Departure.IsZero():
		return Errorf(EInvalid, "flex policy: energy_needed_wh without a departure time")
	}
	return nil
}

// TestDispatch is one unannounced proof-of-flexibility test: the device
// is dispatched as its offer says, at the offer's power, for [Start, End).
type TestDispatch struct {
	ID        TestID         `json:"id"`
	OfferID   OfferID        `json:"offer_id"`
	Provider  string         `json:"provider"`
	Device    DeviceID       `json:"device"`
	Meter     DeviceID       `json:"meter"`
	Direction Direction      `json:"direction"`
	Start     time.Time      `json:"start"`
	End       time.Time      `json:"end"`
	Power     W              `json:"power_w"`
	Baseline  BaselineMethod `json:"baseline"`
}

// TestOutcome is where a test stands.
type TestOutcome string

// Test outcomes.
const (
	TestPending TestOutcome = "pending" // selected, not yet measured
	TestPassed  TestOutcome = "passed"
	TestFailed  TestOutcome = "failed"
	// TestExcused: the homeowner's opt-out (declared before the test) or
	// a grid limit; neither passed nor failed.
	TestExcused TestOutcome = "excused"
	// TestVoid: the test did not stand (an award of the device overlaps
	// it: the event's dispatch wins); neither rewarded nor derated.
	TestVoid TestOutcome = "void"
)

// TestResult is a test and, once measured, its outcome.
type TestResult struct {
	Test      TestDispatch `json:"test"`
	Outcome   TestOutcome  `json:"outcome"`
	Expected  MWh          `json:"expected_mwh"`
	Delivered MWh          `json:"delivered_mwh"`
	Reason    FlexReason   `json:"reason,omitempty"`
}
