package devices

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strings"

	"github.com/gridmint/gridmint"
)

// Home Assistant MQTT discovery: the node announces each device's
// normalised power, energy and state of charge as HA sensor entities, so a
// homeowner sees gridmint's (exact, reset-proof) counters in HA's energy
// dashboard. The builders here are pure; package node publishes.
//
// Per device, with <node> = HAConfig.NodeID and <obj> = HAObjectID
// ("<dialect>_<serial>" reduced to [a-z0-9_-]):
//
//	<discovery prefix>/sensor/<node>/<obj>_<field>/config   retained config
//	<state prefix>/<node>/<obj>/state                        retained JSON state
//	<state prefix>/<node>/<obj>/availability                 retained online|offline
//
// Energy sensors carry state_class total_increasing: gridmint's lifetime
// counters never decrease, which is what HA's energy dashboard needs.

// HAConfig names the topics of Home Assistant discovery.
type HAConfig struct {
	// DiscoveryPrefix is HA's discovery prefix, default "homeassistant".
	DiscoveryPrefix string
	// StatePrefix roots the node's state and availability topics, default
	// "gridmint".
	StatePrefix string
	// NodeID groups the node's entities: [a-z0-9_-] only.
	NodeID string
	// NodeName is shown as the device the entities come "via".
	NodeName string
}

// HAMessage is one message to publish for Home Assistant.
type HAMessage struct {
	Topic   string
	Payload []byte
	Retain  bool
}

// HAObjectID turns a device into an HA object id: [a-z0-9_-] only. When
// that loses information (upper case, ':' in a Shelly serial), a short
// hash of the exact dialect and serial keeps two devices apart ("Plug"
// and "plug", "HM 600" and "HM_600").
func HAObjectID(d gridmint.Device) string {
	exact := d.Dialect + "_" + d.Serial
	slug := haSlug(exact)
	if slug == exact {
		return slug
	}
	sum := sha256.Sum256([]byte(d.Dialect + "/" + d.Serial))
	return slug + "_" + hex.EncodeToString(sum[:3])
}

func haSlug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// HANodeID derives a discovery node id from the node address.
func HANodeID(address string) string {
	a := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(address, "0x"), "0X"))
	if len(a) > 10 {
		a = a[:10]
	}
	return "gridmint_" + haSlug(a)
}

func (c HAConfig) defaults() HAConfig {
	if c.DiscoveryPrefix == "" {
		c.DiscoveryPrefix = "homeassistant"
	}
	if c.StatePrefix == "" {
		c.StatePrefix = "gridmint"
	}
	if c.NodeName == "" {
		c.NodeName = "gridmint node"
	}
	return c
}

// HAStateTopic and HAAvailabilityTopic are a device's state topics.
func (c HAConfig) HAStateTopic(d gridmint.Device) string {
	c = c.defaults()
	return c.StatePrefix + "/" + c.NodeID + "/" + HAObjectID(d) + "/state"
}

// HAAvailabilityTopic is a device's availability topic.
func (c HAConfig) HAAvailabilityTopic(d gridmint.Device) string {
	c = c.defaults()
	return c.StatePrefix + "/" + c.NodeID + "/" + HAObjectID(d) + "/availability"
}

// haSensor is one entity of a device.
type haSensor struct {
	field, name, unit, class, stateClass, template string
}

// haSensors lists the entities a device gets, by what it reports.
func haSensors(st DeviceState) []haSensor {
	forward, reverse := "Energy", "Energy reverse"
	switch st.Kind {
	case gridmint.KindPVInverter:
		forward = "Energy produced"
	case gridmint.KindMeter:
		forward, reverse = "Energy imported", "Energy exported"
	case gridmint.KindBattery:
		forward, reverse = "Energy discharged", "Energy charged"
	case gridmint.KindPlug, gridmint.KindEVCharger:
		forward = "Energy consumed"
	}
	var out []haSensor
	has := func(f gridmint.ReadingFields, c gridmint.Capability) bool {
		return st.Fields.Has(f) || st.Fields == 0 && slices.Contains(st.Capabilities, c)
	}
	if has(gridmint.FieldPower, gridmint.CapPower) {
		out = append(out, haSensor{"power", "Power", "W", "power", "measurement", "{{ value_json.power_w }}"})
	}
	if has(gridmint.FieldEnergy, gridmint.CapEnergy) {
		out = append(out, haSensor{"energy", forward, "kWh", "energy", "total_increasing", "{{ value_json.energy_kwh }}"})
	}
	if st.Fields.Has(gridmint.FieldEnergyReverse) {
		out = append(out, haSensor{"energy_reverse", reverse, "kWh", "energy", "total_increasing", "{{ value_json.energy_reverse_kwh }}"})
	}
	if has(gridmint.FieldSoC, gridmint.CapSoC) {
		out = append(out, haSensor{"soc", "State of charge", "%", "battery", "measurement", "{{ value_json.soc_pct }}"})
	}
	return out
}

// HAConfigs returns the retained discovery configs of a device's
// entities. Keys are HA's abbreviations; unique ids are stable across
// restarts (node id, dialect, serial, field).
func (c HAConfig) HAConfigs(st DeviceState) []HAMessage {
	c = c.defaults()
	obj := HAObjectID(st.Device)
	name := st.Name
	if name == "" {
		name = st.ReportedName
	}
	if name == "" {
		name = st.Serial
	}
	dev := map[string]any{
		"ids":        []string{c.NodeID + "_" + obj},
		"name":       name,
		"mf":         st.Dialect,
		"mdl":        string(st.Kind),
		"via_device": c.NodeID,
	}
	var out []HAMessage
	for _, s := range haSensors(st) {
		cfg := map[string]any{
			"name":         s.name,
			"uniq_id":      c.NodeID + "_" + obj + "_" + s.field,
			"obj_id":       c.NodeID + "_" + obj + "_" + s.field,
			"stat_t":       c.HAStateTopic(st.Device),
			"val_tpl":      s.template,
			"unit_of_meas": s.unit,
			"dev_cla":      s.class,
			"stat_cla":     s.stateClass,
			"avty_t":       c.HAAvailabilityTopic(st.Device),
			"pl_avail":     "online",
			"pl_not_avail": "offline",
			"dev":          dev,
		}
		b, _ := json.Marshal(cfg) // plain maps of strings: cannot fail
		out = append(out, HAMessage{
			Topic:   c.DiscoveryPrefix + "/sensor/" + c.NodeID + "/" + obj + "_" + s.field + "/config",
			Payload: b, Retain: true,
		})
	}
	return out
}

// HAState returns a device's retained state message: power W, energies
// kWh (mWh exact, so three to six decimals), state of charge %.
func (c HAConfig) HAState(st DeviceState) HAMessage {
	state := map[string]any{}
	if st.Fields.Has(gridmint.FieldPower) {
		state["power_w"] = round(float64(st.Power), 1)
	}
	if st.Fields.Has(gridmint.FieldEnergy) {
		state["energy_kwh"] = st.Energy.KWh()
	}
	if st.Fields.Has(gridmint.FieldEnergyReverse) {
		state["energy_reverse_kwh"] = st.EnergyReverse.KWh()
	}
	if st.Fields.Has(gridmint.FieldSoC) {
		state["soc_pct"] = round(st.SoC, 1)
	}
	b, _ := json.Marshal(state)
	return HAMessage{Topic: c.HAStateTopic(st.Device), Payload: b, Retain: true}
}

// HAAvailability returns a device's retained availability message.
func (c HAConfig) HAAvailability(st DeviceState) HAMessage {
	p := "offline"
	if st.Online {
		p = "online"
	}
	return HAMessage{Topic: c.HAAvailabilityTopic(st.Device), Payload: []byte(p), Retain: true}
}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}
