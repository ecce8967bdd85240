package gridmint

import (
	"fmt"
	"strings"
	"time"
)

// DeviceID identifies one metered device for its whole life. It is stable
// across restarts and adapters: "<node address>/<adapter>/<serial>", e.g.
// "0x1f…c3/opendtu/116181234567". The serial part is the vendor's own
// identity (inverter serial, Tasmota topic) plus, for one channel of a
// multi-channel device, ":<channel>" (Tasmota "sonoff_dual:2").
type DeviceID string

// MaxDeviceIDLen is the longest DeviceID, in bytes. It bounds store keys;
// device serials come from MQTT topics, so a hostile topic must not make
// an unstorable id.
const MaxDeviceIDLen = 256

// NewDeviceID joins the three parts of a DeviceID. Node and adapter must not
// contain '/'; the serial may (it is the last part) but must not be empty,
// and no part may hold control characters.
func NewDeviceID(node, adapter, serial string) (DeviceID, error) {
	switch {
	case len(node)+len(adapter)+len(serial)+2 > MaxDeviceIDLen:
		return "", Errorf(EInvalid, "device id: %d bytes, more than %d", len(node)+len(adapter)+len(serial)+2, MaxDeviceIDLen)
	case hasControl(node + adapter + serial):
		return "", Errorf(EInvalid, "device id: control character in %q/%q/%q", node, adapter, serial)
	case node == "" || strings.Contains(node, "/"):
		return "", Errorf(EInvalid, "device id: bad node part %q", node)
	case adapter == "" || strings.Contains(adapter, "/"):
		return "", Errorf(EInvalid, "device id: bad adapter part %q", adapter)
	case serial == "":
		return "", Errorf(EInvalid, "device id: empty serial")
	}
	return DeviceID(node + "/" + adapter + "/" + serial), nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// Parts splits id into node, adapter and serial. ok is false when id does
// not have the three parts.
func (id DeviceID) Parts() (node, adapter, serial string, ok bool) {
	node, rest, ok1 := strings.Cut(string(id), "/")
	adapter, serial, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || node == "" || adapter == "" || serial == "" {
		return "", "", "", false
	}
	return node, adapter, serial, true
}

// DeviceKind is what a device is, which fixes the natural direction of its
// power (see the package doc).
type DeviceKind string

// Device kinds.
const (
	KindPVInverter DeviceKind = "pv_inverter" // produces; power > 0 when producing
	KindBattery    DeviceKind = "battery"     // power > 0 when discharging
	KindEVCharger  DeviceKind = "ev_charger"  // power > 0 when charging a car
	KindMeter      DeviceKind = "meter"       // grid meter; power > 0 when importing
	KindPlug       DeviceKind = "plug"        // switchable smart plug; power > 0 when consuming
)

// DeviceKinds lists every kind, for validation and documentation.
var DeviceKinds = []DeviceKind{KindPVInverter, KindBattery, KindEVCharger, KindMeter, KindPlug}

// Valid reports whether k is one of DeviceKinds.
func (k DeviceKind) Valid() bool {
	for _, v := range DeviceKinds {
		if k == v {
			return true
		}
	}
	return false
}

// ParseDeviceKind returns the kind named s, or an EInvalid error.
func ParseDeviceKind(s string) (DeviceKind, error) {
	k := DeviceKind(s)
	if !k.Valid() {
		return "", Errorf(EInvalid, "unknown device kind %q (want one of %v)", s, DeviceKinds)
	}
	return k, nil
}

// Capability is one thing a device can report or be told to do. A device
// has a set of them; control code asks for a capability, not a vendor.
type Capability string

// Capabilities.
const (
	CapPower        Capability = "power"        // reports instantaneous power, W
	CapEnergy       Capability = "energy"       // reports an energy counter
	CapSoC          Capability = "soc"          // reports state of charge, %
	CapSwitch       Capability = "switch"       // can be switched on and off
	CapPowerLimit   Capability = "power_limit"  // accepts an inverter power limit, W
	CapBatteryCtl   Capability = "battery_ctl"  // accepts a charge/discharge setpoint, W
	CapCurrentCtl   Capability = "current_ctl"  // accepts an EV charge current limit, A
	CapAvailability Capability = "availability" // announces online/offline itself (LWT)
)

// Device is a registered device: identity and static facts. Live values
// (power, energy, online) are in DeviceState.
type Device struct {
	ID           DeviceID     `json:"id"`
	Kind         DeviceKind   `json:"kind"`
	Dialect      string       `json:"dialect"` // adapter name, e.g. "tasmota"
	Serial       string       `json:"serial"`  // vendor identity within the dialect
	Name         string       `json:"name,omitempty"`
	Capabilities []Capability `json:"capabilities,omitempty"`
	// Nameplate is the rated AC power in W; 0 when unknown. Plausibility
	// checks use it to reject impossible energy jumps.
	Nameplate W `json:"nameplate_w,omitempty"`
	// Capacity is a battery's usable energy, Wh; 0 when unknown.
	Capacity Wh `json:"capacity_wh,omitempty"`
	// Location, grid zone (e.g. a bidding zone "DE-LU" or a DSO area) and
	// owner address (0x…) tie the device to certificates and flexibility
	// markets.
	Location *Location `json:"location,omitempty"`
	Zone     string    `json:"zone,omitempty"`
	Owner    string    `json:"owner,omitempty"`
	// Site is the grid connection the device is behind; "" for none. A
	// site's totals sum its devices (see Site).
	Site SiteID `json:"site,omitempty"`
	// Limits are the device's safety limits; every setpoint must respect
	// them.
	Limits SafetyLimits `json:"limits,omitzero"`
	// OptOut is the homeowner's opt-out: market setpoints are refused.
	OptOut    bool      `json:"opt_out,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
}

// Bounds of a home device's registry values: the nameplate bounds how fast
// its counters may grow, so it must not be set beyond any home device.
const (
	MaxNameplate W  = 1_000_000   // 1 MW
	MaxCapacity  Wh = 100_000_000 // 100 MWh
)

// Validate checks the fields a stored or configured device must have.
func (d Device) Validate() error {
	if _, _, _, ok := d.ID.Parts(); !ok {
		return Errorf(EInvalid, "device id %q: want <node>/<adapter>/<serial>", d.ID)
	}
	if !d.Kind.Valid() {
		return Errorf(EInvalid, "device %s: unknown kind %q", d.ID, d.Kind)
	}
	if d.Dialect == "" {
		return Errorf(EInvalid, "device %s: empty dialect", d.ID)
	}
	if !(d.Nameplate >= 0 && d.Nameplate <= MaxNameplate) {
		return Errorf(EInvalid, "device %s: nameplate_w %v: want 0 to %v W", d.ID, d.Nameplate, MaxNameplate)
	}
	if d.Capacity < 0 || d.Capacity > MaxCapacity {
		return Errorf(EInvalid, "device %s: capacity_wh %v: want 0 to %v Wh", d.ID, d.Capacity, MaxCapacity)
	}
	if d.Location != nil {
		if err := d.Location.Validate(); err != nil {
			return Errorf(EInvalid, "device %s: %v", d.ID, err.(*Error).Message)
		}
	}
	if d.Site != "" {
		if err := d.Site.Validate(); err != nil {
			return Errorf(EInvalid, "device %s: %v", d.ID, err.(*Error).Message)
		}
	}
	if d.Owner != "" && !isHexAddress(d.Owner) {
		return Errorf(EInvalid, "device %s: owner %q is not a 0x address of 40 hex digits", d.ID, d.Owner)
	}
	return d.Limits.validate(d.ID)
}

// String returns the device id.
func (d Device) String() string { return fmt.Sprintf("%s (%s)", d.ID, d.Kind) }

func isHexAddress(s string) bool {
	if len(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (l SafetyLimits) validate(id DeviceID) error {
	for name, v := range map[string]float64{
		"min_current_a": l.MinCurrent, "max_current_a": l.MaxCurrent, "soc_floor_pct": l.SoCFloor,
		"max_charge_w": float64(l.MaxCharge), "max_discharge_w": float64(l.MaxDischarge), "export_limit_w": float64(l.ExportLimit),
	} {
		if v < 0 || v != v || v > 1e7 {
			return Errorf(EInvalid, "device %s: limits.%s %v must be a number from 0 to 1e7", id, name, v)
		}
	}
	switch {
	case l.MaxCurrent > 0 && l.MinCurrent > l.MaxCurrent:
		return Errorf(EInvalid, "device %s: limits.min_current_a %v above max_current_a %v", id, l.MinCurrent, l.MaxCurrent)
	case l.SoCFloor > 100:
		return Errorf(EInvalid, "device %s: limits.soc_floor_pct %v above 100", id, l.SoCFloor)
	}
	return nil
}
