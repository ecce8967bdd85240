package devices

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// Command is an MQTT message an adapter wants published to control a
// device. Commands are never retained: a retained command would be replayed
// to the device on every reconnect (and OpenDTU ignores retained limits).
type Command struct {
	Topic   string
	Payload []byte
	QoS     byte
	// Confirm recognises the device's confirmation; nil for a command
	// nothing confirms (a keep-alive).
	Confirm *Confirmation
	// Then are published right after the command, e.g. a read request
	// that makes the device report the value just written (Victron's
	// dbus-flashmq does not always announce a written setpoint by itself).
	Then []Command
}

// Confirmation says how a device confirms a command: by a reply (go-e's
// <key>/result, a Shelly RPC response, Tasmota's stat/<topic>/RESULT,
// AhoyDTU's ack_pwr_limit) or by telemetry that shows the new value
// (OpenDTU's status/limit_absolute, Victron's N/ echo).
type Confirmation struct {
	// Filter is the MQTT topic filter the confirmation arrives on. The node
	// subscribes to it (see Replier) and offers every message on it to
	// Match until the command is settled or times out.
	Filter string
	// Match inspects one message on Filter. done says the message settles
	// the command; err, when done, that the device refused it (the reason).
	// It must be safe for concurrent use and must not retain payload.
	Match func(topic string, payload []byte) (done bool, err error)
}

// The control interfaces, one per capability. An adapter implements those
// its firmware supports; their methods are called from API goroutines
// while Decode runs, so they must be safe for concurrent use with it (an
// adapter that learns addressing from traffic guards it with a mutex).

// Switcher is an adapter whose devices have a relay.
type Switcher interface {
	// SwitchCommand turns the device on or off.
	SwitchCommand(serial string, on bool) (Command, error)
}

// PowerLimiter is an adapter whose inverters accept an output limit.
type PowerLimiter interface {
	// LimitCommand limits AC output to limit W, without persisting it
	// across the inverter's nightly restart.
	LimitCommand(serial string, limit gridmint.W) (Command, error)
}

// BatteryController is an adapter whose batteries accept a power setpoint.
type BatteryController interface {
	// BatteryCommand sets the battery's power, W: positive discharges,
	// negative charges (gridmint's sign; the adapter converts).
	BatteryCommand(serial string, power gridmint.W) (Command, error)
}

// ChargeController is an adapter whose EV chargers take a current limit
// and a start/stop.
type ChargeController interface {
	// CurrentCommand sets the charge current per phase, A.
	CurrentCommand(serial string, amps float64) (Command, error)
	// EnableCommand stops charging now (false) or releases such a stop
	// (true), handing control back to the charger's own logic; it never
	// forces a charge.
	EnableCommand(serial string, on bool) (Command, error)
}

// Replier is an adapter whose confirmations arrive on topics it does not
// read telemetry from (go-e <key>/result, Shelly <src>/rpc, Tasmota
// stat/<topic>/RESULT). The node subscribes to these filters and gives
// their messages to command confirmation only, not to Decode.
type Replier interface {
	ReplySubscriptions() []string
}

// KeepAliver is an adapter whose devices publish only while asked to
// (Victron's dbus-flashmq stops after 60 s without a keep-alive). The node
// publishes KeepAlive's commands every KeepAliveInterval.
type KeepAliver interface {
	KeepAlive() []Command
	KeepAliveInterval() time.Duration
}

// Classifier is an adapter whose devices differ by serial (a Victron
// battery or grid meter, a Shelly switch or meter). Classify says a
// serial's kind and capabilities, so that a device declared in the
// configuration gets the same as one discovered from traffic; ok is false
// for a serial the adapter cannot place.
type Classifier interface {
	Classify(serial string) (kind gridmint.DeviceKind, caps []gridmint.Capability, ok bool)
}

// Capabilities lists everything a's devices can do: what they report, and
// a control capability for each control interface a implements.
func Capabilities(a Adapter) []gridmint.Capability {
	caps := slices.Clone(a.Reports())
	if _, ok := a.(Switcher); ok {
		caps = append(caps, gridmint.CapSwitch)
	}
	if _, ok := a.(PowerLimiter); ok {
		caps = append(caps, gridmint.CapPowerLimit)
	}
	if _, ok := a.(BatteryController); ok {
		caps = append(caps, gridmint.CapBatteryCtl)
	}
	if _, ok := a.(ChargeController); ok {
		caps = append(caps, gridmint.CapCurrentCtl)
	}
	return caps
}

// EncodeSetpoint turns sp into adapter a's command for device serial, or
// says why it cannot: the adapter lacks the capability, or sp is invalid.
// It does not check the device's safety limits (see CheckLimits).
func EncodeSetpoint(a Adapter, serial string, sp gridmint.Setpoint) (Command, error) {
	if err := sp.Validate(); err != nil {
		return Command{}, err
	}
	unsupported := func() (Command, error) {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "%s devices cannot take a %s setpoint", a.Dialect(), sp.Kind)
	}
	switch sp.Kind {
	case gridmint.SetpointSwitch:
		if c, ok := a.(Switcher); ok {
			return c.SwitchCommand(serial, sp.Value == 1)
		}
	case gridmint.SetpointPowerLimit:
		if c, ok := a.(PowerLimiter); ok {
			return c.LimitCommand(serial, gridmint.W(sp.Value))
		}
	case gridmint.SetpointBatteryPower:
		if c, ok := a.(BatteryController); ok {
			return c.BatteryCommand(serial, gridmint.W(sp.Value))
		}
	case gridmint.SetpointChargeCurrent:
		if c, ok := a.(ChargeController); ok {
			return c.CurrentCommand(serial, sp.Value)
		}
	case gridmint.SetpointChargeEnable:
		if c, ok := a.(ChargeController); ok {
			return c.EnableCommand(serial, sp.Value == 1)
		}
	}
	return unsupported()
}

// CheckLimits refuses a setpoint that the device's safety limits or its
// owner's opt-out forbid. st is the device's live state (for its state of
// charge). It never adjusts a value: a refused setpoint is refused whole,
// with the limit that refused it.
func CheckLimits(st DeviceState, sp gridmint.Setpoint) error {
	d := st.Device
	if sp.Origin == gridmint.OriginMarket && d.OptOut {
		return gridmint.Errorf(gridmint.EConflict, "device %s: the homeowner opted out of market setpoints", d.ID)
	}
	if need := gridmint.SetpointKinds[sp.Kind]; !slices.Contains(d.Capabilities, need) {
		return gridmint.Errorf(gridmint.EInvalid, "device %s cannot take a %s setpoint (it lacks %s)", d.ID, sp.Kind, need)
	}
	l := d.Limits
	refuse := func(format string, args ...any) error {
		return gridmint.Errorf(gridmint.EInvalid, "device %s: %s setpoint %v refused: %s", d.ID, sp.Kind, sp.Value, fmt.Sprintf(format, args...))
	}
	switch sp.Kind {
	case gridmint.SetpointChargeCurrent:
		switch {
		case l.MaxCurrent > 0 && sp.Value > l.MaxCurrent:
			return refuse("above the maximum of %v A", l.MaxCurrent)
		case sp.Value > 0 && sp.Value < l.MinCurrent:
			return refuse("below the minimum of %v A (stop with charge_enable 0)", l.MinCurrent)
		case sp.Value != math.Trunc(sp.Value):
			return refuse("chargers take whole amperes")
		}
	case gridmint.SetpointBatteryPower:
		switch {
		case sp.Value > 0 && l.MaxDischarge > 0 && gridmint.W(sp.Value) > l.MaxDischarge:
			return refuse("discharge above the maximum of %v W", l.MaxDischarge)
		case sp.Value < 0 && l.MaxCharge > 0 && gridmint.W(-sp.Value) > l.MaxCharge:
			return refuse("charge above the maximum of %v W", l.MaxCharge)
		case sp.Value > 0 && l.ExportLimit > 0 && gridmint.W(sp.Value) > l.ExportLimit:
			return refuse("discharge above the export limit of %v W", l.ExportLimit)
		case sp.Value > 0 && l.SoCFloor > 0:
			if !st.Fields.Has(gridmint.FieldSoC) {
				return refuse("the state of charge is unknown, so the floor of %v%% cannot be checked", l.SoCFloor)
			}
			if st.SoC <= l.SoCFloor {
				return refuse("the state of charge %.1f%% is at or below the floor of %v%%", st.SoC, l.SoCFloor)
			}
		}
	case gridmint.SetpointPowerLimit:
		if l.ExportLimit > 0 && gridmint.W(sp.Value) > l.ExportLimit {
			return refuse("above the export limit of %v W", l.ExportLimit)
		}
		if d.Nameplate > 0 && gridmint.W(sp.Value) > 2*d.Nameplate {
			return refuse("more than twice the nameplate of %v W", d.Nameplate)
		}
	}
	return nil
}
