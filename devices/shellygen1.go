package devices

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Shelly Gen1 (Shelly 1PM, Plug, Plug S, 2.5, 4Pro, EM, 3EM), read by the
// shelly adapter. Gen1 firmware has its own MQTT protocol (Shelly's Gen1
// API documentation, the MQTT section of each device): one plain-text
// value per topic under shellies/<id>, where <id> is the device's MQTT id,
// by default <model>-<device id> (shellyplug-s-7AD8F1, shellyem3-
// C45BBE6A0F23). A custom id with '/' in it spans several topic levels
// and is not read; the root "shellies/" is fixed in the firmware.
//
//   - shellies/<id>/online: true / false, retained; the last will.
//   - shellies/<id>/relay/<i>/power: W, the load's consumption.
//   - shellies/<id>/relay/<i>/energy: the relay's counter in watt-minutes
//     (Wh × 60), not Wh. The firmware keeps it in RAM, so it restarts at 0
//     when the device reboots; the normaliser takes the drop for a counter
//     reset and credits the energy since.
//   - shellies/<id>/emeter/<i>/power: W, signed (import +, export −).
//   - shellies/<id>/emeter/<i>/total and total_returned: imported and
//     exported Wh, lifetime, kept in the device's non-volatile memory.
//     The emeter's energy and returned_energy (watt-minutes since boot)
//     count the same energy less durably and are not read.
//
// Devices: <id>:relay:<i>, a plug (or the adapter's configured kind) that
// switches; <id>:emeter:<i>, a meter. An EM's two channels measure two
// circuits; a 3EM's three emeters are its phases, three meters, like a
// Pro 3EM in its monophase profile. Power and counter arrive on separate
// topics, every mqtt_update_period (30 s by default) and on change, so
// they are merged per device as Gen2 deltas are (see shelly.go); Gen1
// sends no device timestamp.
//
// Control: "on" or "off" to shellies/<id>/relay/<i>/command. The device
// reports its relay's state on shellies/<id>/relay/<i>: the requested
// state confirms, "overpower" (the relay tripped on its power limit)
// refuses; the other state is a report from before the command took
// effect (the state is also re-sent every update period).

// shellyGen1Root is the fixed first topic level of Gen1 firmware.
const shellyGen1Root = "shellies/"

var shellyGen1Subscriptions = []string{
	shellyGen1Root + "+/online",
	shellyGen1Root + "+/relay/+/power",
	shellyGen1Root + "+/relay/+/energy",
	shellyGen1Root + "+/emeter/+/power",
	shellyGen1Root + "+/emeter/+/total",
	shellyGen1Root + "+/emeter/+/total_returned",
}

// shellyGen1RelayState is where Gen1 relays report their state.
const shellyGen1RelayState = shellyGen1Root + "+/relay/+"

// shellyGen1Topic recognises a Gen1 telemetry topic, returning the
// device's id and the rest ("online", "relay/0/power", ...).
func shellyGen1Topic(topic string) (id, rest string, ok bool) {
	tail, ok := strings.CutPrefix(topic, shellyGen1Root)
	if !ok {
		return "", "", false
	}
	id, rest, _ = strings.Cut(tail, "/")
	levels := strings.Split(rest, "/")
	switch {
	case len(levels) == 1 && levels[0] == "online":
	case len(levels) == 3 && (levels[0] == "relay" || levels[0] == "emeter"):
	default:
		return "", "", false
	}
	return id, rest, true
}

func (s *shelly) decodeGen1(id, rest string, payload []byte) ([]Update, error) {
	if !validShellyPrefix(id) {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: %q is not a Gen1 device id", truncate([]byte(shellyGen1Root+id+"/"+rest)), truncate([]byte(id)))
	}
	value := string(bytes.TrimSpace(payload))
	if value == "" {
		return nil, nil // a zero-byte retained message deletes the topic
	}
	if rest == "online" {
		return decodeShellyOnline(shellyGen1Root+id, shellyGen1Root+id, payload)
	}
	levels := strings.Split(rest, "/") // shellyGen1Topic: typ, index, field
	typ, field := levels[0], levels[2]
	_, n, ok := parseShellyComponent(typ + ":" + levels[1])
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "Gen1 topic %q: %q is no %s index", truncate([]byte(rest)), truncate([]byte(levels[1])), typ)
	}
	d := shellyDevice{typ: typ, id: n}
	serial := d.serial(id)
	var v shellyValues
	switch typ + "/" + field {
	case "relay/power", "emeter/power":
		p, perr := parsePower(value)
		if perr == nil && (p > shellyMaxPower || p < -shellyMaxPower) {
			perr = &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%v W beyond %v W", p, shellyMaxPower)}
		}
		if perr != nil {
			return nil, decodeErr(perr.Reason, serial, "%s: %s", rest, perr.Detail)
		}
		v.power, v.hasPower = p, true
	case "relay/energy":
		e, derr := shellyGen1Counter(value, true)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "%s: %s", rest, derr.Detail)
		}
		v.forward, v.hasFwd = e, true
	case "emeter/total", "emeter/total_returned":
		e, derr := shellyGen1Counter(value, false)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "%s: %s", rest, derr.Detail)
		}
		if field == "total" {
			v.forward, v.hasFwd = e, true
		} else {
			v.reverse, v.hasRev = e, true
		}
	default:
		// Not subscribed; a broker that sends it anyway gets it ignored.
		return nil, nil
	}
	return s.apply(id, time.Time{}, map[shellyDevice]shellyValues{d: v})
}

// shellyGen1Counter reads a counter literal in Wh, or in watt-minutes:
// those become mWh rounded down (1 Wmin = 16.67 mWh), which errs by less
// than 1 mWh on the whole lifetime counter and so never accumulates.
func shellyGen1Counter(lit string, wattMinutes bool) (gridmint.MWh, *DecodeError) {
	unit := "Wh"
	if wattMinutes {
		unit = "Wmin"
	}
	e, derr := parseCounter(lit, gridmint.UnitWh)
	switch {
	case derr != nil:
		return 0, derr
	case e < 0:
		return 0, &DecodeError{Reason: gridmint.ReasonNegative, Detail: fmt.Sprintf("%s %s", truncate([]byte(lit)), unit)}
	}
	if wattMinutes {
		e /= 60
	}
	if e > shellyMaxCounter {
		return 0, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%s %s beyond %v", truncate([]byte(lit)), unit, shellyMaxCounter)}
	}
	return e, nil
}

// shellyGen1SwitchCommand switches relay n of Gen1 device id.
func shellyGen1SwitchCommand(id string, n int, on bool) Command {
	want := "off"
	if on {
		want = "on"
	}
	relay := fmt.Sprintf("%s%s/relay/%d", shellyGen1Root, id, n)
	return Command{
		Topic: relay + "/command", Payload: []byte(want), QoS: 1,
		Confirm: &Confirmation{
			Filter: relay,
			Match: func(_ string, state []byte) (bool, error) {
				switch got := strings.TrimSpace(string(state)); got {
				case want:
					return true, nil
				case "overpower":
					return true, fmt.Errorf("shelly %s: relay %d tripped on overpower", truncate([]byte(id)), n)
				}
				return false, nil // the state from before the command, or noise
			},
		},
	}
}
