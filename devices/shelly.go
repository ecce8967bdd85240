package devices

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gridmint/gridmint"
)

// Shelly Gen2+ (Plus, Pro, Gen3, Gen4): metering relays and energy meters.
//
// Topics, under the device's MQTT topic prefix (its device id by default,
// e.g. shellyplusplugs-<mac>; one topic level):
//
//   - <prefix>/events/rpc: JSON-RPC notifications, on by default (rpc_ntf).
//     NotifyStatus carries params.ts (unix seconds, UTC, with a fraction)
//     and only the components that changed, each with only some of its
//     fields; NotifyFullStatus has the same shape with every component.
//     NotifyEvent (button presses, config changes) carries no status.
//   - <prefix>/status/<component>: the component's full status, off by
//     default (status_ntf), without a timestamp.
//   - <prefix>/online: true / false, retained, the LWT.
//
// Components read, each turned into one gridmint device with the serial
// <prefix>:<type>:<id>:
//
//   - switch:<id> (plug): apower W (consumption +), aenergy.total lifetime
//     Wh → Forward, ret_aenergy.total lifetime Wh → Reverse (Gen3 and newer
//     firmware only). output is not read: the relay's state is no
//     measurement, and switching is confirmed by the RPC reply.
//   - pm1:<id> (Plug PM Gen3, PM Mini Gen3: metering without a relay; a
//     plug, or the configured kind, that cannot be switched): the same
//     fields as a switch, apower W, aenergy.total Wh → Forward,
//     ret_aenergy.total Wh (returned, e.g. by a balcony inverter behind
//     it) → Reverse.
//   - em:<id> with emdata:<id> (Pro 3EM triphase profile; meter):
//     total_act_power W (signed, import +), total_act import Wh → Forward,
//     total_act_ret export Wh → Reverse. Per-phase values are not read.
//   - em1:<id> with em1data:<id> (Pro EM, EM Gen3, Pro 3EM monophase
//     profile; meter): act_power W, total_act_energy → Forward,
//     total_act_ret_energy → Reverse.
//
// Every other component (sys, wifi, input:0, temperature:0, ...) is known
// and not used. Energy totals are parsed from their literal in Wh;
// aenergy.by_minute is in mWh and per minute, and is not read. Power
// direction comes from the sign of the power only, never from pf (the
// Pro 3EM reports pf < 0 with power > 0). A total that drops (the
// ResetCounters methods, maybe a reboot) is left to the normaliser.
//
// Status arrives in pieces: NotifyStatus is a delta, and the status topics
// that carry whole components are silent unless enabled. The decoder keeps
// each device's known values, overlays every piece, and emits the whole
// known state when power or a counter changed, once it has at least one
// of them; a message about a device that changes none of them yields an
// Update without a Measurement, so a steady device still counts as heard
// from. A message is applied whole or not at all: one bad component
// rejects it and leaves the state as it was. Measurements from
// notifications carry ts as their source time (a second measurement of
// one device with the same ts goes out without one, else the normaliser
// would take it for a conflicting duplicate); status topics have none.
// The adapter does not ask for Shelly.GetStatus: until a device sends
// every value, its measurements carry what is known (power without
// counters until the next aenergy or emdata change, about a minute).
//
// Availability: <prefix>/online applies to every known device of that
// prefix (an Update for the group <prefix>, see Grouper), whether or not
// the decoder has seen it since it started: after a restart the retained
// online arrives before any status.
//
// Gen1 devices (Shelly 1PM, Plug S, 2.5, EM, 3EM) speak another protocol;
// shellygen1.go reads them under the same dialect.
//
// Control (Switcher): a JSON-RPC request to <prefix>/rpc,
// {"id":<n>,"src":<src>,"method":"Switch.Set","params":{"id":<id>,"on":<bool>}}.
// The device answers on <src>/rpc with the same id and a result
// (confirmed) or an error {code, message} (refused). src is
// AdapterConfig.ClientID ("gridmint" when empty); it names the reply topic,
// so every client on the broker needs its own. ids come from one counter
// per adapter, so each confirmation matches only its own command.
//
// Configuration: BaseTopic, when set, is the topic levels above the
// prefix ("home/" for prefixes home/<id>); Kind is the kind of switch
// devices (plug by default); meters are always meters.

func init() { Register("shelly", newShelly) }

// shellyDefaultSrc is the RPC source (and reply topic root) without a
// configured ClientID.
const shellyDefaultSrc = "gridmint"

// maxShellyPrefix bounds a topic prefix, so that a serial stays well
// within gridmint.MaxDeviceIDLen.
const maxShellyPrefix = 128

// maxShellyComponentID bounds component ids (virtual components start at
// 200; nothing real comes near this).
const maxShellyComponentID = 65535

// shellyMaxPower and shellyMaxCounter reject values no home device
// reports before they enter the merged state, where they would spoil
// every later measurement of the device (the normaliser's defaults).
var (
	shellyMaxPower   = DefaultLimits().AbsurdPower
	shellyMaxCounter = DefaultLimits().AbsurdCounter
)

type shelly struct {
	maxDevices int                 // AdapterConfig.MaxDevices
	base       string              // topic levels above the prefix: "" or ending in '/'
	src        string              // RPC source; replies arrive on src + "/rpc"
	switchKind gridmint.DeviceKind // kind of switch devices
	lastID     atomic.Uint64       // RPC ids, shared by concurrent SwitchCommands

	// Decode's state, used by Decode's goroutine only.
	prefixes map[string]map[shellyDevice]*shellyState
	devices  int // states over all prefixes
}

// shellyDevice is one gridmint device within a prefix: a switch, a pm1,
// an em/em1 meter with its emdata/em1data counters, or a Gen1 relay or
// emeter (shellygen1.go).
type shellyDevice struct {
	typ string // "switch", "pm1", "em", "em1", "relay" or "emeter"
	id  int
}

func (d shellyDevice) serial(prefix string) string {
	return prefix + ":" + d.typ + ":" + strconv.Itoa(d.id)
}

func (d shellyDevice) compare(o shellyDevice) int {
	if c := strings.Compare(d.typ, o.typ); c != 0 {
		return c
	}
	return d.id - o.id
}

// shellyValues is what is known of one device; comparable, so a change is
// one comparison.
type shellyValues struct {
	power                    gridmint.W
	forward, reverse         gridmint.MWh
	hasPower, hasFwd, hasRev bool
}

func (v shellyValues) meaningful() bool { return v.hasPower || v.hasFwd || v.hasRev }

// overlay sets the values p carries.
func (v *shellyValues) overlay(p shellyValues) {
	if p.hasPower {
		v.power, v.hasPower = p.power, true
	}
	if p.hasFwd {
		v.forward, v.hasFwd = p.forward, true
	}
	if p.hasRev {
		v.reverse, v.hasRev = p.reverse, true
	}
}

type shellyState struct {
	known   shellyValues
	sent    shellyValues // as last emitted
	emitted bool         // a Measurement went out: it is a device
	sentAt  time.Time    // source time of the last Measurement
}

// shellyComponent says where a metered component's values are. Keys with
// two elements are a field of an object (aenergy.total).
type shellyComponent struct {
	device       string
	power        string
	forward, rev []string
}

var shellyComponents = map[string]shellyComponent{
	"switch":  {device: "switch", power: "apower", forward: []string{"aenergy", "total"}, rev: []string{"ret_aenergy", "total"}},
	"pm1":     {device: "pm1", power: "apower", forward: []string{"aenergy", "total"}, rev: []string{"ret_aenergy", "total"}},
	"em":      {device: "em", power: "total_act_power"},
	"emdata":  {device: "em", forward: []string{"total_act"}, rev: []string{"total_act_ret"}},
	"em1":     {device: "em1", power: "act_power"},
	"em1data": {device: "em1", forward: []string{"total_act_energy"}, rev: []string{"total_act_ret_energy"}},
}

func newShelly(cfg AdapterConfig) (Adapter, error) {
	base := cfg.BaseTopic
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if strings.ContainsAny(base, "+#") || strings.HasPrefix(base, "/") || strings.Contains(base, "//") || shellyHasControl(base) {
		return nil, gridmint.Errorf(gridmint.EInvalid, "shelly base topic %q: no wildcards, no empty levels", cfg.BaseTopic)
	}
	src := cfg.ClientID
	if src == "" {
		src = shellyDefaultSrc
	}
	// The reply topic is <src>/rpc: one level, so it cannot fall under the
	// telemetry subscriptions (a src "x/events" would).
	if strings.ContainsAny(src, "+#/") || shellyHasControl(src) || len(src) > 128 || !utf8.ValidString(src) {
		return nil, gridmint.Errorf(gridmint.EInvalid, "shelly RPC source (client id) %q: want one topic level, no wildcards", src)
	}
	kind := cfg.Kind
	if kind == "" {
		kind = gridmint.KindPlug
	}
	return &shelly{base: base, src: src, switchKind: kind, prefixes: map[string]map[shellyDevice]*shellyState{}, maxDevices: cfg.maxDevices(DefaultMaxDevices)}, nil
}

func (s *shelly) Dialect() string { return "shelly" }

// DefaultKind is the kind of switch devices; meters say so in their
// updates.
func (s *shelly) DefaultKind() gridmint.DeviceKind { return s.switchKind }

func (s *shelly) Reports() []gridmint.Capability {
	return []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
}

func (s *shelly) Subscriptions() []string {
	return append([]string{s.base + "+/status/+", s.base + "+/events/rpc", s.base + "+/online"}, shellyGen1Subscriptions...)
}

// ReplySubscriptions implements Replier: RPC replies to this adapter, and
// Gen1 relay states (which confirm Gen1 switching).
func (s *shelly) ReplySubscriptions() []string { return []string{s.src + "/rpc", shellyGen1RelayState} }

func (s *shelly) Decode(topic string, payload []byte) ([]Update, error) {
	if id, rest, ok := shellyGen1Topic(topic); ok {
		return s.decodeGen1(id, rest, payload)
	}
	rest, ok := strings.CutPrefix(topic, s.base)
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q outside base %q", truncate([]byte(topic)), s.base)
	}
	prefix, sub, _ := strings.Cut(rest, "/")
	if !validShellyPrefix(prefix) {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: %q is not a device prefix", truncate([]byte(topic)), truncate([]byte(prefix)))
	}
	// A zero-byte retained message deletes the topic; nothing to read.
	empty := len(bytes.TrimSpace(payload)) == 0
	switch sub {
	case "online":
		if empty {
			return nil, nil
		}
		return decodeShellyOnline(prefix, prefix, payload)
	case "events/rpc":
		if empty {
			return nil, nil
		}
		return s.decodeNotification(prefix, payload)
	}
	comp, ok := strings.CutPrefix(sub, "status/")
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "shelly topic %q", truncate([]byte(topic)))
	}
	typ, id, ok := parseShellyComponent(comp)
	_, metered := shellyComponents[typ]
	switch {
	case !ok || metered && id < 0:
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "shelly status topic %q: not a component", truncate([]byte(topic)))
	case !metered || empty:
		return nil, nil // sys, wifi, input:0, ...
	}
	var raw json.RawMessage
	if err := decodeJSON(payload, &raw); err != nil {
		return nil, err
	}
	return s.decodeComponents(prefix, time.Time{}, map[string]json.RawMessage{comp: raw})
}

// decodeShellyOnline reads the last will <topic>/online (true or false,
// retained) of the devices in group.
func decodeShellyOnline(topic, group string, payload []byte) ([]Update, error) {
	var a Availability
	switch string(bytes.TrimSpace(payload)) {
	case "true":
		a = AvailabilityOnline
	case "false":
		a = AvailabilityOffline
	default:
		return nil, decodeErr(gridmint.ReasonMalformed, "", "%s/online %q, want true or false", truncate([]byte(topic)), truncate(payload))
	}
	return []Update{{Group: group, Availability: a}}, nil
}

// Groups implements Grouper: a device belongs to the group of its topic
// prefix, whose online topic speaks for it (Gen1: shellies/<id>).
func (s *shelly) Groups(serial string) []string {
	prefix, d, err := parseShellySerial(serial)
	if err != nil {
		return nil
	}
	if d.gen1() {
		return []string{shellyGen1Root + prefix}
	}
	return []string{prefix}
}

func (s *shelly) decodeNotification(prefix string, payload []byte) ([]Update, error) {
	var frame struct {
		Method *string
		Params map[string]json.RawMessage
	}
	if err := decodeJSON(payload, &frame); err != nil {
		return nil, err
	}
	if frame.Method == nil {
		return nil, decodeErr(gridmint.ReasonMalformed, "", "%s/events/rpc: not a JSON-RPC notification (no method)", prefix)
	}
	switch *frame.Method {
	case "NotifyStatus", "NotifyFullStatus":
	default:
		return nil, nil // NotifyEvent and the like carry no status
	}
	if frame.Params == nil {
		return nil, decodeErr(gridmint.ReasonWrongType, "", "%s %s without params", prefix, *frame.Method)
	}
	ts, err := shellyTimestamp(frame.Params["ts"])
	if err != nil {
		return nil, decodeErr(err.Reason, "", "%s %s params.ts: %s", prefix, *frame.Method, err.Detail)
	}
	return s.decodeComponents(prefix, ts, frame.Params)
}

// decodeComponents applies the metered components among comps (keyed by
// component name) to prefix's devices.
func (s *shelly) decodeComponents(prefix string, ts time.Time, comps map[string]json.RawMessage) ([]Update, error) {
	// Parse everything before changing any state.
	patches := map[shellyDevice]shellyValues{}
	for name, raw := range comps {
		t, n, ok := parseShellyComponent(name)
		if !ok {
			continue // "ts", or a key that is no component
		}
		c, metered := shellyComponents[t]
		if !metered || n < 0 {
			continue // a component gridmint does not read
		}
		d := shellyDevice{typ: c.device, id: n}
		v, err := c.parse(raw)
		if err != nil {
			return nil, decodeErr(err.Reason, d.serial(prefix), "%s: %s", name, err.Detail)
		}
		p := patches[d]
		p.overlay(v)
		patches[d] = p
	}
	if len(patches) > MaxMeasurementsPerMessage {
		return nil, decodeErr(gridmint.ReasonMalformed, "", "%s: %d metered devices in one message, more than %d", prefix, len(patches), MaxMeasurementsPerMessage)
	}
	return s.apply(prefix, ts, patches)
}

// apply overlays parsed values on prefix's devices and returns their
// updates; nothing changes when it returns an error.
func (s *shelly) apply(prefix string, ts time.Time, patches map[shellyDevice]shellyValues) ([]Update, error) {
	states := s.prefixes[prefix]
	added := 0
	for d, v := range patches {
		if states[d] == nil && v.meaningful() {
			added++
		}
	}
	if added > 0 && s.devices+added > s.maxDevices {
		return nil, capErr("", s.maxDevices, "%s: more than %d Shelly devices (max_devices)", prefix, s.maxDevices)
	}

	// Apply.
	var ups []Update
	for _, d := range sortedShellyDevices(patches) {
		v := patches[d]
		st := states[d]
		if st == nil {
			if !v.meaningful() {
				continue // a switch without metering (Plus 1), or no value yet
			}
			if states == nil {
				states = map[shellyDevice]*shellyState{}
				s.prefixes[prefix] = states
			}
			st = &shellyState{}
			states[d] = st
			s.devices++
		}
		st.known.overlay(v)
		if u, ok := st.update(d, prefix, ts, s.switchKind); ok {
			ups = append(ups, u)
		}
	}
	return ups, nil
}

// update is what a message changed about device d: a Measurement with
// every known value when power or a counter changed, else an Update that
// only says the device was heard from.
func (st *shellyState) update(d shellyDevice, prefix string, ts time.Time, switchKind gridmint.DeviceKind) (Update, bool) {
	if !st.known.meaningful() {
		return Update{}, false
	}
	u := Update{Serial: d.serial(prefix)}
	if st.emitted && st.known == st.sent {
		return u, true
	}
	src := ts
	if !ts.IsZero() && ts.Equal(st.sentAt) {
		// Two notifications of one instant (em:0 and emdata:0 in separate
		// frames with the same ts): the second, with other values, would
		// look to the normaliser like a conflicting duplicate.
		src = time.Time{}
	}
	v := st.known
	m := &Measurement{SourceTime: src}
	if v.hasPower {
		m.Power = ptr(v.power)
	}
	if v.hasFwd {
		m.Forward = &Counter{Value: v.forward, Kind: gridmint.CounterLifetime}
	}
	if v.hasRev {
		m.Reverse = &Counter{Value: v.reverse, Kind: gridmint.CounterLifetime}
	}
	u.Measurement = m
	u.Kind, u.Capabilities = d.class(switchKind)
	st.sent, st.emitted = v, true
	if !ts.IsZero() {
		st.sentAt = ts
	}
	return u, true
}

// parse reads the values component c reports from its status object raw.
func (c shellyComponent) parse(raw json.RawMessage) (shellyValues, *DecodeError) {
	var obj map[string]json.RawMessage
	if err := shellyObject(raw, &obj); err != nil {
		return shellyValues{}, err
	}
	var v shellyValues
	if c.power != "" {
		lit, ok, err := shellyNumber(obj, c.power)
		if err != nil {
			return v, err
		}
		if ok {
			p, perr := parsePower(lit)
			if perr == nil && math.Abs(float64(p)) > float64(shellyMaxPower) {
				perr = &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%v W beyond %v W", p, shellyMaxPower)}
			}
			if perr != nil {
				return v, &DecodeError{Reason: perr.Reason, Detail: c.power + ": " + perr.Detail}
			}
			v.power, v.hasPower = p, true
		}
	}
	var err *DecodeError
	if v.forward, v.hasFwd, err = shellyCounter(obj, c.forward); err != nil {
		return v, err
	}
	if v.reverse, v.hasRev, err = shellyCounter(obj, c.rev); err != nil {
		return v, err
	}
	return v, nil
}

// shellyCounter reads a lifetime Wh total at path (one key, or an object
// and its key) in obj.
func shellyCounter(obj map[string]json.RawMessage, path []string) (gridmint.MWh, bool, *DecodeError) {
	if len(path) == 0 {
		return 0, false, nil
	}
	name := strings.Join(path, ".")
	if len(path) == 2 {
		raw, ok := obj[path[0]]
		if !ok {
			return 0, false, nil
		}
		var inner map[string]json.RawMessage
		if err := shellyObject(raw, &inner); err != nil {
			return 0, false, &DecodeError{Reason: err.Reason, Detail: path[0] + ": " + err.Detail}
		}
		obj = inner
	}
	lit, ok, err := shellyNumber(obj, path[len(path)-1])
	if err != nil || !ok {
		if err != nil {
			err.Detail = name + ": " + err.Detail
		}
		return 0, false, err
	}
	e, derr := parseCounter(lit, gridmint.UnitWh)
	switch {
	case derr != nil:
		return 0, false, &DecodeError{Reason: derr.Reason, Detail: name + ": " + derr.Detail}
	case e < 0:
		return 0, false, &DecodeError{Reason: gridmint.ReasonNegative, Detail: fmt.Sprintf("%s: %s Wh", name, lit)}
	case e > shellyMaxCounter:
		return 0, false, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%s: %s Wh beyond %v", name, lit, shellyMaxCounter)}
	}
	return e, true, nil
}

// shellyNumber returns the literal of the JSON number obj[key]; ok is
// false when the key is absent. null (how decodeJSON reads a bare nan) is
// ReasonNotFinite, any other non-number ReasonWrongType.
func shellyNumber(obj map[string]json.RawMessage, key string) (string, bool, *DecodeError) {
	raw, ok := obj[key]
	if !ok {
		return "", false, nil
	}
	raw = bytes.TrimSpace(raw)
	switch {
	case string(raw) == "null":
		return "", false, &DecodeError{Reason: gridmint.ReasonNotFinite, Detail: key + " is null (not a finite number)"}
	case len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9'):
		return "", false, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is %s, want a number", key, truncate(raw))}
	}
	return string(raw), true, nil
}

// shellyObject reads a JSON object (of raw values) from raw.
func shellyObject(raw json.RawMessage, obj *map[string]json.RawMessage) *DecodeError {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is not an object", truncate(raw))}
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return &DecodeError{Reason: gridmint.ReasonMalformed, Detail: err.Error()}
	}
	return nil
}

// shellyTimestamp converts NotifyStatus's ts, unix seconds with a
// fraction, exactly. A ts outside 0..10^11 s is no clock reading: the
// message is used without one. Absent or null: no time.
func shellyTimestamp(raw json.RawMessage) (time.Time, *DecodeError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	lit, _, err := shellyNumber(map[string]json.RawMessage{"ts": raw}, "ts")
	if err != nil {
		return time.Time{}, err
	}
	f, derr := parseDecimal(lit)
	if derr != nil || f < 0 || f >= 1e11 {
		return time.Time{}, nil
	}
	secs, frac, _ := strings.Cut(lit, ".")
	if n, err := strconv.ParseInt(secs, 10, 64); err == nil && shellyDigits(frac) {
		frac = (frac + "000000000")[:9]
		ns, _ := strconv.ParseInt(frac, 10, 64)
		return time.Unix(n, ns).UTC(), nil
	}
	// An exponent form: float precision is all there is.
	whole := math.Floor(f)
	return time.Unix(int64(whole), int64(math.Round((f-whole)*1e9))).UTC(), nil
}

func shellyDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseShellyComponent splits a component name: "switch:0" is
// ("switch", 0), "sys" is ("sys", -1). Types are lower-case identifiers.
func parseShellyComponent(name string) (typ string, id int, ok bool) {
	typ, num, hasID := strings.Cut(name, ":")
	if typ == "" || len(typ) > 32 || typ[0] < 'a' || typ[0] > 'z' {
		return "", 0, false
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "", 0, false
		}
	}
	if !hasID {
		return typ, -1, true
	}
	if num == "" || len(num) > 5 || !shellyDigits(num) || len(num) > 1 && num[0] == '0' {
		return "", 0, false
	}
	id, _ = strconv.Atoi(num)
	if id > maxShellyComponentID {
		return "", 0, false
	}
	return typ, id, true
}

// validShellyPrefix: one topic level that can be part of a serial.
func validShellyPrefix(p string) bool {
	return p != "" && len(p) <= maxShellyPrefix && !strings.ContainsAny(p, "/+#") && !shellyHasControl(p) && utf8.ValidString(p)
}

func shellyHasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// class is d's kind and, unless it has the adapter's (a relay),
// capabilities: switches and Gen1 relays are plugs (or the configured
// kind) that switch; a pm1 is the same without a relay; em, em1 and Gen1
// emeters are meters.
func (d shellyDevice) class(switchKind gridmint.DeviceKind) (gridmint.DeviceKind, []gridmint.Capability) {
	meterCaps := []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
	switch d.typ {
	case "switch", "relay":
		return switchKind, nil
	case "pm1":
		return switchKind, meterCaps
	}
	return gridmint.KindMeter, meterCaps
}

// gen1 reports whether d is a Gen1 device (shellygen1.go).
func (d shellyDevice) gen1() bool { return d.typ == "relay" || d.typ == "emeter" }

func sortedShellyDevices[V any](m map[shellyDevice]V) []shellyDevice {
	ds := make([]shellyDevice, 0, len(m))
	for d := range m {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, shellyDevice.compare)
	return ds
}

// parseShellySerial splits <prefix>:<type>:<id>. The prefix may itself
// hold ':', so the component is taken from the end.
func parseShellySerial(serial string) (string, shellyDevice, error) {
	bad := func() (string, shellyDevice, error) {
		return "", shellyDevice{}, gridmint.Errorf(gridmint.EInvalid, "shelly serial %q: want <prefix>:switch|pm1|em|em1:<id> (Gen1: <id>:relay|emeter:<n>), e.g. shellyplusplugs-aabbccddeeff:switch:0", serial)
	}
	i := strings.LastIndexByte(serial, ':')
	if i < 0 {
		return bad()
	}
	j := strings.LastIndexByte(serial[:i], ':')
	if j < 0 {
		return bad()
	}
	prefix := serial[:j]
	typ, id, ok := parseShellyComponent(serial[j+1:])
	if !ok || id < 0 || !validShellyPrefix(prefix) {
		return bad()
	}
	switch typ {
	case "switch", "pm1", "em", "em1", "relay", "emeter":
	default:
		return bad()
	}
	return prefix, shellyDevice{typ: typ, id: id}, nil
}

// Classify implements Classifier (see shellyDevice.class).
func (s *shelly) Classify(serial string) (gridmint.DeviceKind, []gridmint.Capability, bool) {
	_, d, err := parseShellySerial(serial)
	if err != nil {
		return "", nil, false
	}
	kind, caps := d.class(s.switchKind)
	if caps == nil {
		caps = Capabilities(s)
	}
	return kind, caps, true
}

// CheckSerial implements SerialChecker.
func (s *shelly) CheckSerial(serial string) error {
	_, _, err := parseShellySerial(serial)
	return err
}

// SwitchCommand implements Switcher with the RPC Switch.Set.
func (s *shelly) SwitchCommand(serial string, on bool) (Command, error) {
	prefix, d, err := parseShellySerial(serial)
	if err != nil {
		return Command{}, err
	}
	switch d.typ {
	case "relay":
		return shellyGen1SwitchCommand(prefix, d.id, on), nil
	case "switch":
	default:
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "shelly %s is a meter; only switch components (Gen1: relays) have a relay", serial)
	}
	id := s.lastID.Add(1)
	type params struct {
		ID int  `json:"id"`
		On bool `json:"on"`
	}
	payload, jerr := json.Marshal(struct {
		ID     uint64 `json:"id"`
		Src    string `json:"src"`
		Method string `json:"method"`
		Params params `json:"params"`
	}{id, s.src, "Switch.Set", params{d.id, on}})
	if jerr != nil {
		return Command{}, gridmint.Errorf(gridmint.EInternal, "shelly: encoding Switch.Set: %v", jerr)
	}
	want := strconv.FormatUint(id, 10)
	return Command{
		Topic: s.base + prefix + "/rpc", Payload: payload, QoS: 1,
		Confirm: &Confirmation{
			Filter: s.src + "/rpc",
			Match: func(_ string, reply []byte) (bool, error) {
				return matchShellyReply(reply, want)
			},
		},
	}, nil
}

// matchShellyReply settles a command with RPC id want: a reply with that
// id and a result confirms, one with an error refuses. Anything else
// (another id, a frame that is neither) is not this command's answer.
func matchShellyReply(reply []byte, want string) (bool, error) {
	var frame map[string]json.RawMessage
	if len(reply) > MaxPayload || json.Unmarshal(reply, &frame) != nil {
		return false, nil
	}
	if string(bytes.TrimSpace(frame["id"])) != want {
		return false, nil
	}
	if raw, ok := frame["error"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		var e struct {
			Code    json.RawMessage
			Message string
		}
		if json.Unmarshal(raw, &e) != nil || e.Message == "" {
			return true, fmt.Errorf("shelly refused Switch.Set: %s", truncate(raw))
		}
		return true, fmt.Errorf("shelly refused Switch.Set: %s (code %s)", truncate([]byte(e.Message)), truncate(e.Code))
	}
	if _, ok := frame["result"]; ok {
		return true, nil
	}
	return false, nil
}
