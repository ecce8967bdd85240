package gridmint

import (
	"math"
	"time"
)

// SetpointKind is what a setpoint sets. Each kind needs one capability of
// the device (see Capability).
type SetpointKind string

// Setpoint kinds, with their Value's unit.
const (
	SetpointSwitch        SetpointKind = "switch"         // 1 on, 0 off
	SetpointPowerLimit    SetpointKind = "power_limit"    // inverter AC output limit, W, ≥ 0
	SetpointBatteryPower  SetpointKind = "battery_power"  // W, + discharge, − charge
	SetpointChargeCurrent SetpointKind = "charge_current" // EV charge current per phase, A, ≥ 0
	SetpointChargeEnable  SetpointKind = "charge_enable"  // 0 stop charging now, 1 release the stop (the charger's own logic decides)
)

// SetpointKinds lists every kind with the capability it needs.
var SetpointKinds = map[SetpointKind]Capability{
	SetpointSwitch:        CapSwitch,
	SetpointPowerLimit:    CapPowerLimit,
	SetpointBatteryPower:  CapBatteryCtl,
	SetpointChargeCurrent: CapCurrentCtl,
	SetpointChargeEnable:  CapCurrentCtl,
}

// Origin is who asks for a setpoint. The homeowner's opt-out blocks every
// market setpoint; the homeowner's own always pass it.
type Origin string

// Origins.
const (
	OriginHomeowner Origin = "homeowner" // the device's owner, e.g. from the local API or page
	OriginMarket    Origin = "market"    // a flexibility dispatch
)

// Bounds no home device's setpoint exceeds, whatever its own limits:
// they keep nonsense (1e19 W) from reaching an adapter's encoding.
const (
	MaxSetpointPower   = 100_000 // W
	MaxSetpointCurrent = 80      // A per phase
)

// Setpoint is one instruction to one device.
type Setpoint struct {
	Device DeviceID     `json:"device"`
	Kind   SetpointKind `json:"kind"`
	Value  float64      `json:"value"`
	Origin Origin       `json:"origin"`
}

// Validate checks the setpoint on its own, before any device limits.
func (sp Setpoint) Validate() error {
	if _, ok := SetpointKinds[sp.Kind]; !ok {
		return Errorf(EInvalid, "setpoint kind %q: want switch, power_limit, battery_power, charge_current or charge_enable", sp.Kind)
	}
	if sp.Origin != OriginHomeowner && sp.Origin != OriginMarket {
		return Errorf(EInvalid, "setpoint origin %q: want homeowner or market", sp.Origin)
	}
	if math.IsNaN(sp.Value) || math.IsInf(sp.Value, 0) {
		return Errorf(EInvalid, "setpoint %s: value %v is not a finite number", sp.Kind, sp.Value)
	}
	switch sp.Kind {
	case SetpointSwitch, SetpointChargeEnable:
		if sp.Value != 0 && sp.Value != 1 {
			return Errorf(EInvalid, "setpoint %s: value %v, want 1 (on) or 0 (off)", sp.Kind, sp.Value)
		}
	case SetpointPowerLimit:
		if sp.Value < 0 || sp.Value > MaxSetpointPower {
			return Errorf(EInvalid, "setpoint %s: value %v W, want 0 to %v W", sp.Kind, sp.Value, MaxSetpointPower)
		}
	case SetpointBatteryPower:
		if math.Abs(sp.Value) > MaxSetpointPower {
			return Errorf(EInvalid, "setpoint %s: value %v W, want -%v to %v W", sp.Kind, sp.Value, MaxSetpointPower, MaxSetpointPower)
		}
	case SetpointChargeCurrent:
		if sp.Value < 0 || sp.Value > MaxSetpointCurrent {
			return Errorf(EInvalid, "setpoint %s: value %v A, want 0 to %v A", sp.Kind, sp.Value, MaxSetpointCurrent)
		}
	}
	return nil
}

// SafetyLimits are a device's hard limits. The node refuses any setpoint
// outside them before sending it, whoever asks. Zero means "no limit set".
type SafetyLimits struct {
	// MinCurrent and MaxCurrent bound an EV charge current, A. A current
	// between 0 and MinCurrent is refused (cars do not charge below their
	// minimum); 0 passes the limits and is up to the charger (go-e refuses
	// it: stop with charge_enable 0).
	MinCurrent float64 `json:"min_current_a,omitempty"`
	MaxCurrent float64 `json:"max_current_a,omitempty"`
	// SoCFloor is the state of charge, %, below which a battery must not
	// be discharged by a setpoint.
	SoCFloor float64 `json:"soc_floor_pct,omitempty"`
	// MaxCharge and MaxDischarge bound a battery setpoint, W (both ≥ 0).
	MaxCharge    W `json:"max_charge_w,omitempty"`
	MaxDischarge W `json:"max_discharge_w,omitempty"`
	// ExportLimit is the most power, W, a setpoint may push to the grid
	// (a battery discharge setpoint, an inverter limit).
	ExportLimit W `json:"export_limit_w,omitempty"`
}

// Location is where a device is, WGS 84 degrees.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Validate checks the coordinates' ranges.
func (l Location) Validate() error {
	if math.IsNaN(l.Lat) || math.IsNaN(l.Lon) || l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 {
		return Errorf(EInvalid, "location %v,%v: want latitude -90..90 and longitude -180..180", l.Lat, l.Lon)
	}
	return nil
}

// CommandStatus is where a sent setpoint stands.
type CommandStatus string

// Command statuses.
const (
	CommandPending   CommandStatus = "pending"   // sent, not confirmed yet
	CommandConfirmed CommandStatus = "confirmed" // the device confirmed it
	CommandFailed    CommandStatus = "failed"    // refused, errored or not confirmed in time; Reason says which
)

// CommandRecord is the audit record of one setpoint sent to a device.
type CommandRecord struct {
	ID       string        `json:"id"`
	Setpoint Setpoint      `json:"setpoint"`
	Topic    string        `json:"topic"`
	Payload  string        `json:"payload"`
	SentAt   time.Time     `json:"sent_at"`
	Status   CommandStatus `json:"status"`
	// Reason says why a command failed, or how it was confirmed.
	Reason string    `json:"reason,omitempty"`
	DoneAt time.Time `json:"done_at,omitzero"`
}
