package gridmint

import (
	"fmt"
	"time"
)

// MicroFLEX is an amount of FLEX in millionths (1 FLEX = 1,000,000
// MicroFLEX). Prices are MicroFLEX per kWh. On chain FLEX has 18
// decimals: 1 MicroFLEX is 10^12 base units.
type MicroFLEX int64

// Direction is which way a flexibility offer or request moves a home's
// net grid power.
type Direction string

// Directions.
const (
	// DirectionDown lowers net consumption: curtail a load, defer a
	// charge, discharge a battery.
	DirectionDown Direction = "down"
	// DirectionUp raises net consumption: charge now, absorb a surplus.
	DirectionUp Direction = "up"
)

// BaselineMethod names how delivered flexibility is measured.
type BaselineMethod string

// Baseline methods (see shared REFERENCES: demand-response baselines).
const (
	BaselineSchedule         BaselineMethod = "schedule"           // the device's own plan, signed before gate closure
	BaselineMeterBeforeAfter BaselineMethod = "meter_before_after" // the reading just before the event
	BaselineCAISO10in10      BaselineMethod = "caiso_10in10"       // average of the last 10 eligible days, day-of adjusted
	BaselinePJMHigh4of5      BaselineMethod = "pjm_high4of5"       // highest 4 of the last 5 days
	BaselinePJMSameDay       BaselineMethod = "pjm_sameday_3p2"    // 3 hours before and 2 after the event, same day
)

// BaselineMethods lists every method an offer may name. A name means
// version 1 of its rules for ever; changed rules get a new name (package
// flex documents each version).
var BaselineMethods = []BaselineMethod{
	BaselineSchedule, BaselineMeterBeforeAfter, BaselineCAISO10in10, BaselinePJMHigh4of5, BaselinePJMSameDay,
}

// Valid reports whether m is one of BaselineMethods.
func (m BaselineMethod) Valid() bool {
	for _, v := range BaselineMethods {
		if m == v {
			return true
		}
	}
	return false
}

// Offer is a device owner's signed offer of flexibility for one window,
// as its node knows it. Device (and Meter) are the node's own DeviceIDs,
// which carry vendor serials; on the network an offer names its device
// by the DeviceKey its node derives from the id (node/p2p's wire Offer),
// so serials never leave the node.
type Offer struct {
	Device      DeviceID       `json:"device"`
	Zone        string         `json:"zone"`
	WindowStart time.Time      `json:"window_start"`
	WindowEnd   time.Time      `json:"window_end"` // exclusive
	Power       W              `json:"power_w"`    // > 0
	Direction   Direction      `json:"direction"`
	FloorPrice  MicroFLEX      `json:"floor_price"` // per kWh
	Baseline    BaselineMethod `json:"baseline"`
	Expiry      time.Time      `json:"expiry"` // the offer is void after this
	// Meter is where delivery is measured: empty for the device's own
	// meter, or the DeviceID of the site's grid meter of record (same
	// node). At the grid meter a battery that discharges while the house
	// draws more delivers nothing.
	Meter DeviceID `json:"meter,omitempty"`
}

// MeterOfRecord is the device whose readings measure the offer's delivery.
func (o Offer) MeterOfRecord() DeviceID {
	if o.Meter == "" {
		return o.Device
	}
	return o.Meter
}

// Request is a utility's request for flexibility in a zone and window.
type Request struct {
	Zone        string    `json:"zone"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"` // exclusive
	Power       W         `json:"power_w"`    // > 0
	Direction   Direction `json:"direction"`
	MaxPrice    MicroFLEX `json:"max_price"` // per kWh
	// GateClosure is when offers stop counting and clearing happens.
	GateClosure time.Time `json:"gate_closure"`
}

// maxWindow bounds a flexibility window: markets trade intraday.
const maxWindow = 24 * time.Hour

func validateWindow(what string, start, end time.Time, p W, dir Direction) error {
	switch {
	case start.IsZero() || !end.After(start):
		return Errorf(EInvalid, "%s: window [%v, %v) is empty", what, start, end)
	case end.Sub(start) > maxWindow:
		return Errorf(EInvalid, "%s: window of %v is longer than %v", what, end.Sub(start), maxWindow)
	case !(p > 0 && p <= 1e6):
		return Errorf(EInvalid, "%s: power %v W: want more than 0, at most 1 MW", what, p)
	case dir != DirectionDown && dir != DirectionUp:
		return Errorf(EInvalid, "%s: direction %q: want up or down", what, dir)
	}
	return nil
}

// Validate checks an offer on its own.
func (o Offer) Validate() error {
	if _, _, _, ok := o.Device.Parts(); !ok {
		return Errorf(EInvalid, "offer: device %q is not <node>/<adapter>/<serial>", o.Device)
	}
	if o.Meter != "" {
		node, _, _, ok := o.Meter.Parts()
		devNode, _, _, _ := o.Device.Parts()
		if !ok || node != devNode {
			return Errorf(EInvalid, "offer: meter %q: want a device id of the same node as %q", o.Meter, o.Device)
		}
	}
	return o.ValidateTerms()
}

// ValidateTerms checks everything but which device the offer is for: the
// window, power, direction, baseline, floor price, zone and expiry. It is
// what peers can check of an offer whose device is an opaque key.
func (o Offer) ValidateTerms() error {
	if err := validateWindow("offer", o.WindowStart, o.WindowEnd, o.Power, o.Direction); err != nil {
		return err
	}
	if !o.Baseline.Valid() {
		return Errorf(EInvalid, "offer: baseline %q unknown", o.Baseline)
	}
	return validateTerms("offer", "floor price", o.FloorPrice, o.Zone, "expiry", o.Expiry, o.WindowStart)
}

// Validate checks a request on its own.
func (r Request) Validate() error {
	if err := validateWindow("request", r.WindowStart, r.WindowEnd, r.Power, r.Direction); err != nil {
		return err
	}
	return validateTerms("request", "max price", r.MaxPrice, r.Zone, "gate closure", r.GateClosure, r.WindowStart)
}

// validateTerms checks the price, zone and deadline shared by offers and
// requests, naming the field that is wrong.
func validateTerms(what, priceName string, price MicroFLEX, zone, deadlineName string, deadline, windowStart time.Time) error {
	switch {
	case price < 0:
		return Errorf(EInvalid, "%s: %s %d µFLEX/kWh: want ≥ 0", what, priceName, price)
	case len(zone) == 0 || len(zone) > 32:
		return Errorf(EInvalid, "%s: zone %q: want 1-32 bytes, e.g. DE-LU", what, zone)
	case deadline.IsZero() || deadline.After(windowStart):
		return Errorf(EInvalid, "%s: %s %v: want a time at or before the window start %v", what, deadlineName, deadline, windowStart)
	}
	return nil
}

// String is a compact form for logs.
func (o Offer) String() string {
	return fmt.Sprintf("offer %s %s %.0fW %s [%s, %s) ≥%d µFLEX/kWh", o.Device, o.Direction, float64(o.Power), o.Zone,
		o.WindowStart.Format(time.RFC3339), o.WindowEnd.Format(time.RFC3339), o.FloorPrice)
}
