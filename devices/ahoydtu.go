package devices

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridmint/gridmint"
)

// AhoyDTU, the ESP8266/ESP32 gateway for Hoymiles micro-inverters (an
// alternative to OpenDTU). What it publishes is read from the firmware's
// publisher (lumapu/ahoy src/publisher/pubMqtt.h, pubMqttIvData.h,
// pubMqttDefs.h), releases 0.5 to 0.8.156.
//
// Telemetry: plain-text numbers, one topic per value, under a base topic
// <TOPIC> ("inverter" by default, no trailing '/'). Inverters appear by
// the NAME given on the setup page: <TOPIC>/<name>/ch0/P_AC (AC power,
// W), ch0/YieldTotal (lifetime counter, kWh), ch0/YieldDay (daily
// counter, Wh); ch1..ch6 are the DC inputs and the other fields of the
// firmware's field table (voltage, temperature, MaxPower, ...) are known
// and ignored. YieldDay is used only for an inverter that publishes no
// YieldTotal at all (it came twice without one in between), marked as a
// daily counter. <name>/last_success is the unix time (UTC) of the
// inverter's data.
//
// With "JSON" on in its MQTT settings (0.8.123+), AhoyDTU publishes one
// object per channel instead, <name>/ch0 {"P_AC":71,"YieldTotal":465.294,
// "YieldDay":51,...,"ts":1672155690} ("ts" since 0.8.130): ch0 is read
// the same way (ts is the data's time, like last_success), the DC
// channels' objects and the DTU's total object are ignored. The firmware
// serialises into 300 bytes: an HMT's ch0, with its per-phase fields, can
// arrive cut off, and is quarantined as malformed.
//
// Assembly: AhoyDTU 0.7+ publishes last_success, then the channel values
// of one poll, so a new last_success opens a sample and the sample is
// complete with power and a counter; the measurement carries
// last_success as its SourceTime, and half a sample is dropped when the
// next last_success arrives. Older firmware publishes last_success only
// when availability changes: a sample completed without a fresh
// last_success has no SourceTime, rather than repeating an old one (the
// normaliser would take every later sample for a conflicting duplicate).
// Retained counters re-sent on reconnect come without a power value and
// complete nothing.
//
// Availability: <name>/available is the firmware's InverterStatus since
// 0.6.12 (src/hm/hmInverter.h): 0 OFF (no data for 15 min), 1 STARTING
// and 2 PRODUCING (data within the last 5 min), 3 WAS_PRODUCING (still
// answering, P_AC fell to 0: every dusk), 4 WAS_ON (no data for 5 to 15
// min; the firmware's isAvailable() is false). 1, 2 and 3 are online; 0
// and 4 offline. Before 0.6.12 the values were 0 (unreachable), 1
// (reachable, idle) and 2 (producing): the same mapping. <TOPIC>/status
// 0 means no inverter is reachable and <TOPIC>/mqtt "not connected" is
// the DTU's last will: both mark every inverter of the adapter offline
// (an Update without a serial).
//
// Known topics that carry nothing for gridmint are ignored (counted, not
// quarantined), so they neither fill the quarantine nor use up an
// inverter's allowance of rejections:
//
//   - per inverter: ack_pwr_limit (see LimitCommand), dis_night_comm
//     (0.8.7+), radio_stat (JSON radio statistics, 0.8.7+), rssi (HMS and
//     HMT; ch0/rssi from 0.7.37 to 0.8.122), firmware and hardware (JSON,
//     0.8.x), alarm/cnt, alarm/<n> (JSON, 0.8) and alarm/<n>/code, str,
//     start, end (0.7), active_PowerLimit (JSON mode);
//   - per DTU: uptime, wifi_rssi, free_heap, heap_frag (ESP8266),
//     cpu_temp (ESP32, 0.8.142+), sunrise, sunset, comm_start, comm_stop,
//     comm_disabled, comm_dis_ts, dis_night_comm (before 0.8.7), version,
//     device, ip_addr, alarm, alarm_start, alarm_end (0.6), total (JSON
//     mode), the sums over all inverters under total/, and the control
//     topics under ctrl/ and setup/ (our own commands come back through
//     the # subscription).
//
// Anything else is quarantined as unknown_topic.
//
// Control: the power limit goes to <TOPIC>/ctrl/limit/<index>, where
// index is the inverter's position on the setup page, not its name; the
// name→index map is AdapterConfig.Inverters (it is read-only after
// construction, so commands need no lock against Decode). The payload is
// an integer with a W suffix ("600W", absolute, not persistent): without
// the W, AhoyDTU reads the number as percent. Limits below 30 W (0 W
// included) are refused, not rounded up: the manual calls them not
// useful, and a curtailment the inverter cannot follow must not look
// accepted. Limits above 6553 W are refused too: the Hoymiles protocol
// carries the limit ×10 in 16 bits (hmRadio.h sendControlPacket; since
// 0.8.80 AhoyDTU also keeps it so, powerLimit[0]), so more would wrap.
// The inverter's answer arrives as <name>/ack_pwr_limit: "true" up to
// 0.8.105 ("false" is taken as a refusal); from 0.8.106 the limit that
// was set, "%.1f" ("600.0"), which confirms a command of that value. That
// number is published whether or not the inverter accepted the limit
// (src/hm/Communication.h parseDevCtrl calls the ack listener either
// way), so from 0.8.106 a refusal is not told apart; ch0/PowerLimit (%)
// shows what the inverter applies. The ack is retained, so a reconnect
// while a command waits can replay an older one.
//
// Pitfalls handled: YieldTotal is kWh (the firmware's field table), not
// Wh as the manual says; values are printed with %g, so large counters
// lose decimals (1234.57 kWh) and parse as they come; an inverter named
// ctrl, setup or total would collide with the DTU's own subtrees and is
// refused by CheckSerial.

func init() { Register("ahoydtu", newAhoyDTU) }

const ahoyDefaultBase = "inverter"

const (
	// ahoyMinLimit is the smallest absolute limit worth sending, W: the
	// manual calls limits below about 30 W not useful.
	ahoyMinLimit = 30
	// ahoyMaxLimit is the largest absolute limit that survives the trip,
	// W: the limit travels ×10 in 16 bits.
	ahoyMaxLimit = 6553
	// maxAhoyInverters bounds the assembly map: one DTU drives a handful
	// of inverters (a compile-time maximum, 3 in early firmware), so more
	// names mean garbage topics.
	maxAhoyInverters = 64
	// maxAhoyName bounds an inverter name (the firmware's limit is 16
	// bytes; some slack for other builds).
	maxAhoyName = 64
	// maxAhoyIndex is the largest inverter index (a uint8 in the firmware).
	maxAhoyIndex = 255
)

type ahoyDTU struct {
	maxInverters int    // AdapterConfig.MaxDevices
	prefix       string // base topic with trailing '/'
	kind         gridmint.DeviceKind
	indices      map[string]int // inverter name → setup index; read-only

	inverters map[string]*ahoySample // Decode only
}

// ahoySample is one inverter's half-assembled measurement.
type ahoySample struct {
	lastSuccess time.Time
	fresh       bool // lastSuccess is not yet on an emitted measurement
	power       *gridmint.W
	total, day  *gridmint.MWh
	// hasTotal: the inverter publishes YieldTotal, so YieldDay is never
	// used. dayOnly: YieldDay came twice without a YieldTotal between, so
	// it is the only counter there is. dayPending: a YieldDay came since
	// the last YieldTotal.
	hasTotal, dayOnly, dayPending bool
}

func newAhoyDTU(cfg AdapterConfig) (Adapter, error) {
	base := strings.TrimSuffix(cfg.BaseTopic, "/")
	if base == "" {
		base = ahoyDefaultBase
	}
	if strings.ContainsAny(base, "+#") || strings.HasPrefix(base, "/") || ahoyHasControl(base) {
		return nil, gridmint.Errorf(gridmint.EInvalid, "ahoydtu base topic %q: no wildcards, no leading '/'", cfg.BaseTopic)
	}
	if len(cfg.Mappings) > 0 {
		return nil, gridmint.Errorf(gridmint.EInvalid, "ahoydtu takes no mappings (they configure the generic dialect)")
	}
	a := &ahoyDTU{prefix: base + "/", kind: cfg.Kind, indices: map[string]int{}, inverters: map[string]*ahoySample{}, maxInverters: cfg.maxDevices(maxAhoyInverters)}
	if a.kind == "" {
		a.kind = gridmint.KindPVInverter
	}
	names := make([]string, 0, len(cfg.Inverters))
	for name := range cfg.Inverters {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic errors
	byIndex := map[int]string{}
	for _, name := range names {
		idx := cfg.Inverters[name]
		if err := checkAhoyName(name); err != nil {
			return nil, gridmint.Errorf(gridmint.EInvalid, "inverters[%q]: %s", name, err.Message)
		}
		if idx < 0 || idx > maxAhoyIndex {
			return nil, gridmint.Errorf(gridmint.EInvalid, "inverters[%q]: index %d, want 0..%d (the position on AhoyDTU's setup page)", name, idx, maxAhoyIndex)
		}
		if other, dup := byIndex[idx]; dup {
			// Limits for one would reach the other.
			return nil, gridmint.Errorf(gridmint.EInvalid, "inverters[%q]: index %d is also inverter %q's", name, idx, other)
		}
		byIndex[idx] = name
		a.indices[name] = idx
	}
	return a, nil
}

func (a *ahoyDTU) Dialect() string                  { return "ahoydtu" }
func (a *ahoyDTU) DefaultKind() gridmint.DeviceKind { return a.kind }
func (a *ahoyDTU) Reports() []gridmint.Capability {
	return []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
}
func (a *ahoyDTU) Subscriptions() []string { return []string{a.prefix + "#"} }

// ahoyDTUTopics are the DTU-level topics (<TOPIC>/<name>) besides status
// and mqtt, from pubMqttDefs.h subtopics[] and pubMqtt.h of 0.5 to
// 0.8.156; none carries inverter data.
var ahoyDTUTopics = map[string]bool{
	"uptime": true, "wifi_rssi": true, "free_heap": true, "heap_frag": true, "cpu_temp": true,
	"sunrise": true, "sunset": true, "comm_start": true, "comm_stop": true, "comm_disabled": true, "comm_dis_ts": true,
	"dis_night_comm": true, "version": true, "device": true, "ip_addr": true,
	"alarm": true, "alarm_start": true, "alarm_end": true,
	"total": true, // the sums as one JSON object (JSON mode)
}

// ahoyDTUSubtrees are DTU-level subtrees: the sums over all inverters,
// and the control topics (ours come back through the # subscription).
var ahoyDTUSubtrees = map[string]bool{"total": true, "ctrl": true, "setup": true}

// ahoyInverterTopics are the per-inverter topics (<name>/<topic>) that
// carry nothing gridmint uses.
var ahoyInverterTopics = map[string]bool{
	"ack_pwr_limit": true, "dis_night_comm": true, "radio_stat": true, "rssi": true,
	"firmware": true, "hardware": true, "active_PowerLimit": true,
}

// ahoyChannelFields are the values AhoyDTU publishes per channel
// (<name>/ch<n>/<field>): every name of the firmware's field table
// (src/hm/hmDefines.h fields[], 0.5 to 0.8.156, including the names of
// older releases), and rssi, which 0.7.37 to 0.8.122 put under ch0.
var ahoyChannelFields = map[string]bool{
	"U_DC": true, "I_DC": true, "P_DC": true, "YieldDay": true, "YieldWeek": true, "YieldTotal": true,
	"U_AC": true, "U_AC_1N": true, "U_AC_2N": true, "U_AC_3N": true, "U_AC_12": true, "U_AC_23": true, "U_AC_31": true,
	"UAC_12": true, "UAC_23": true, "UAC_31": true,
	"I_AC": true, "I_AC_1": true, "I_AC_2": true, "I_AC_3": true, "IAC_1": true,
	"P_AC": true, "F_AC": true, "Temp": true, "PF_AC": true, "Efficiency": true, "Irradiation": true, "Q_AC": true,
	"ALARM_MES_ID": true, "FWVersion": true, "FWBuildYear": true, "FWBuildMonthDay": true, "FWBuildHourMinute": true,
	"BootloaderVersion": true, "HWPartId": true, "HWPartNumber": true, "HWVersion": true,
	"GridProfileCode": true, "GridProfileVersion": true, "active_PowerLimit": true, "reactivePowerLimit": true,
	"Powerfactor": true, "PowerLimit": true, "LastAlarmCode": true, "MaxPower": true, "MaxTemp": true,
	"rssi": true,
}

// ahoyMaxPayload bounds a payload: plain values are a few dozen bytes,
// the JSON objects (a channel in JSON mode, radio_stat, an alarm) fit the
// firmware's 300-byte buffer.
const ahoyMaxPayload = 1024

func (a *ahoyDTU) Decode(topic string, payload []byte) ([]Update, error) {
	rest, ok := strings.CutPrefix(topic, a.prefix)
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q outside base %q", topic, a.prefix)
	}
	if len(payload) > ahoyMaxPayload {
		return nil, decodeErr(gridmint.ReasonMalformed, "", "%d-byte payload, more than AhoyDTU's %d", len(payload), ahoyMaxPayload)
	}
	value := strings.TrimSpace(string(payload))
	head, sub, nested := strings.Cut(rest, "/")
	if !nested {
		return a.decodeDTU(head, value)
	}
	if ahoyDTUSubtrees[head] {
		return nil, nil
	}
	if checkAhoyName(head) != nil {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: %q is not an inverter name", topic, truncate([]byte(head)))
	}
	name := head
	switch sub {
	case "available", "last_success", "ch0", "ch0/P_AC", "ch0/YieldTotal", "ch0/YieldDay":
		if value == "" {
			return nil, nil // a zero-byte retained message deletes the topic
		}
	}
	switch sub {
	case "available":
		switch value {
		case "0", "4":
			// OFF, and WAS_ON: no answer for 5 minutes, the firmware's
			// isAvailable() is false.
			return []Update{{Serial: name, Availability: AvailabilityOffline}}, nil
		case "1", "2", "3":
			// STARTING, PRODUCING, WAS_PRODUCING (answering, not
			// producing: dusk).
			return []Update{{Serial: name, Availability: AvailabilityOnline}}, nil
		}
		return nil, decodeErr(gridmint.ReasonMalformed, name, "available %q, want the inverter status 0..4", truncate(payload))
	case "last_success":
		secs, err := strconv.ParseInt(value, 10, 64)
		if err != nil || secs < 0 || secs > 1<<40 {
			return nil, decodeErr(gridmint.ReasonMalformed, name, "last_success %q, want unix seconds", truncate(payload))
		}
		return nil, a.setLastSuccess(name, secs)
	case "ch0":
		return a.decodeJSONChannel(name, payload)
	case "ch0/P_AC":
		p, perr := parsePower(value)
		if perr != nil {
			return nil, decodeErr(perr.Reason, name, "ch0/P_AC: %s", perr.Detail)
		}
		s, derr := a.sample(name)
		if derr != nil {
			return nil, derr
		}
		s.power = &p
		return a.complete(name, s), nil
	case "ch0/YieldTotal", "ch0/YieldDay":
		unit := gridmint.UnitKWh
		if sub == "ch0/YieldDay" {
			unit = gridmint.UnitWh
		}
		e, cerr := ahoyCounter(value, unit)
		if cerr != nil {
			return nil, decodeErr(cerr.Reason, name, "%s: %s", sub, cerr.Detail)
		}
		s, derr := a.sample(name)
		if derr != nil {
			return nil, derr
		}
		s.setCounter(e, unit)
		return a.complete(name, s), nil
	}
	if ahoyInverterTopics[sub] || isAhoyAlarm(sub) {
		return nil, nil
	}
	ch, field, hasField := strings.Cut(sub, "/")
	if isAhoyChannel(ch) && (!hasField || ahoyChannelFields[field]) {
		// A DC channel's JSON object, or a value gridmint does not use.
		return nil, nil
	}
	return nil, decodeErr(gridmint.ReasonUnknownTopic, name, "ahoydtu topic %q", truncate([]byte(sub)))
}

// isAhoyAlarm reports whether sub is one of an inverter's alarm topics:
// alarm/cnt, alarm/<n> (0.8, JSON) or alarm/<n>/code|str|start|end (0.7).
func isAhoyAlarm(sub string) bool {
	rest, ok := strings.CutPrefix(sub, "alarm/")
	if !ok {
		return false
	}
	if rest == "cnt" {
		return true
	}
	n, part, hasPart := strings.Cut(rest, "/")
	if len(n) == 0 || len(n) > 2 || strings.Trim(n, "0123456789") != "" {
		return false
	}
	switch part {
	case "code", "str", "start", "end":
		return true
	}
	return !hasPart
}

// setLastSuccess opens a new sample for inverter name when secs (the
// data's unix time) is new; 0 is the firmware's "no data yet".
func (a *ahoyDTU) setLastSuccess(name string, secs int64) error {
	if secs == 0 {
		return nil
	}
	s, derr := a.sample(name)
	if derr != nil {
		return derr
	}
	if t := time.Unix(secs, 0).UTC(); !t.Equal(s.lastSuccess) {
		s.lastSuccess, s.fresh = t, true
		s.power, s.total, s.day = nil, nil, nil
	}
	return nil
}

// ahoyCounter parses a yield in unit: never negative.
func ahoyCounter(lit string, unit gridmint.EnergyUnit) (gridmint.MWh, *DecodeError) {
	e, cerr := parseCounter(lit, unit)
	if cerr == nil && e < 0 {
		cerr = &DecodeError{Reason: gridmint.ReasonNegative, Detail: "counter " + lit}
	}
	return e, cerr
}

// setCounter records a YieldTotal (kWh) or YieldDay (Wh) in the sample.
func (s *ahoySample) setCounter(e gridmint.MWh, unit gridmint.EnergyUnit) {
	if unit == gridmint.UnitKWh {
		s.total = &e
		s.hasTotal, s.dayOnly, s.dayPending = true, false, false
		return
	}
	s.day = &e
	if !s.hasTotal && s.dayPending {
		s.dayOnly = true
	}
	s.dayPending = true
}

// decodeJSONChannel reads ch0 of JSON mode (0.8.123+): one object with
// the poll's AC values and, since 0.8.130, its time ts
// (pubMqttIvData.h stateSend). A value the object lacks is left out; the
// sample completes as with one topic per value.
func (a *ahoyDTU) decodeJSONChannel(name string, payload []byte) ([]Update, error) {
	var obj map[string]json.RawMessage
	if err := decodeJSON(payload, &obj); err != nil {
		de, _ := err.(*DecodeError)
		if de == nil {
			de = &DecodeError{Reason: gridmint.ReasonMalformed, Detail: err.Error()}
		}
		return nil, decodeErr(de.Reason, name, "ch0: %s", de.Detail)
	}
	if obj == nil {
		return nil, decodeErr(gridmint.ReasonWrongType, name, "ch0: %s is not an object", truncate(payload))
	}
	num := func(key string) (string, bool, *DecodeError) {
		raw, ok := obj[key]
		if !ok {
			return "", false, nil
		}
		lit, derr := oneNumber(raw)
		if derr != nil {
			return "", false, decodeErr(derr.Reason, name, "ch0.%s: %s", key, derr.Detail)
		}
		return string(lit), true, nil
	}
	// Everything is parsed before the sample changes: a bad value changes
	// nothing.
	var (
		ts         int64
		power      *gridmint.W
		total, day *gridmint.MWh
		lit        string
		has        bool
		derr       *DecodeError
	)
	if lit, has, derr = num("ts"); derr != nil {
		return nil, derr
	} else if has {
		v, err := strconv.ParseInt(lit, 10, 64)
		if err != nil || v < 0 || v > 1<<40 {
			return nil, decodeErr(gridmint.ReasonMalformed, name, "ch0.ts %s, want unix seconds", truncate([]byte(lit)))
		}
		ts = v
	}
	if lit, has, derr = num("P_AC"); derr != nil {
		return nil, derr
	} else if has {
		p, perr := parsePower(lit)
		if perr != nil {
			return nil, decodeErr(perr.Reason, name, "ch0.P_AC: %s", perr.Detail)
		}
		power = &p
	}
	for _, c := range []struct {
		key  string
		unit gridmint.EnergyUnit
		dst  **gridmint.MWh
	}{{"YieldTotal", gridmint.UnitKWh, &total}, {"YieldDay", gridmint.UnitWh, &day}} {
		if lit, has, derr = num(c.key); derr != nil {
			return nil, derr
		} else if has {
			e, cerr := ahoyCounter(lit, c.unit)
			if cerr != nil {
				return nil, decodeErr(cerr.Reason, name, "ch0.%s: %s", c.key, cerr.Detail)
			}
			*c.dst = &e
		}
	}
	if err := a.setLastSuccess(name, ts); err != nil {
		return nil, err
	}
	if power == nil && total == nil && day == nil {
		return nil, nil
	}
	s, derr := a.sample(name)
	if derr != nil {
		return nil, derr
	}
	if day != nil {
		s.setCounter(*day, gridmint.UnitWh)
	}
	if total != nil {
		s.setCounter(*total, gridmint.UnitKWh)
	}
	if power != nil {
		s.power = power
	}
	return a.complete(name, s), nil
}

// decodeDTU reads the topics directly under the base topic.
func (a *ahoyDTU) decodeDTU(name, value string) ([]Update, error) {
	switch name {
	case "status":
		switch value {
		case "0":
			// No inverter is reachable.
			return []Update{{Availability: AvailabilityOffline}}, nil
		case "1", "2", "":
			return nil, nil // inverters report their own availability
		}
		return nil, decodeErr(gridmint.ReasonMalformed, "", "status %q, want 0, 1 or 2", truncate([]byte(value)))
	case "mqtt":
		switch value {
		case "not connected":
			// The DTU's last will: it is gone, and with it every inverter
			// behind it (the retained status stays as it was).
			return []Update{{Availability: AvailabilityOffline}}, nil
		case "connected", "":
			return nil, nil
		}
		return nil, decodeErr(gridmint.ReasonMalformed, "", "mqtt %q, want connected or not connected", truncate([]byte(value)))
	}
	if ahoyDTUTopics[name] {
		return nil, nil
	}
	return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "ahoydtu topic %q", truncate([]byte(name)))
}

func (a *ahoyDTU) sample(name string) (*ahoySample, *DecodeError) {
	s, ok := a.inverters[name]
	if !ok {
		if len(a.inverters) >= a.maxInverters {
			return nil, capErr(name, a.maxInverters, "more than %d inverters on AhoyDTU base topic %q (max_devices)", a.maxInverters, a.prefix)
		}
		s = &ahoySample{}
		a.inverters[name] = s
	}
	return s, nil
}

// complete emits a Measurement once the sample holds power and a counter.
func (a *ahoyDTU) complete(name string, s *ahoySample) []Update {
	if s.power == nil {
		return nil
	}
	var c *Counter
	switch {
	case s.total != nil:
		c = &Counter{Value: *s.total, Kind: gridmint.CounterLifetime}
	case s.dayOnly && s.day != nil:
		c = &Counter{Value: *s.day, Kind: gridmint.CounterDaily}
	default:
		return nil
	}
	m := &Measurement{Power: s.power, Forward: c}
	if s.fresh {
		m.SourceTime = s.lastSuccess
	}
	s.power, s.total, s.day, s.fresh = nil, nil, nil, false
	return []Update{{Serial: name, Measurement: m}}
}

// isAhoyChannel reports whether s is a channel level: ch0 (AC) or a DC
// input ch1..ch15.
func isAhoyChannel(s string) bool {
	n, ok := strings.CutPrefix(s, "ch")
	return ok && isChannel(n)
}

// checkAhoyName checks an inverter name as it can appear as one topic
// level.
func checkAhoyName(name string) *gridmint.Error {
	switch {
	case name == "":
		return gridmint.Errorf(gridmint.EInvalid, "empty inverter name")
	case len(name) > maxAhoyName:
		return gridmint.Errorf(gridmint.EInvalid, "inverter name of %d bytes, more than %d", len(name), maxAhoyName)
	case strings.ContainsAny(name, "/+#") || ahoyHasControl(name) || !utf8.ValidString(name):
		return gridmint.Errorf(gridmint.EInvalid, "inverter name %q: one topic level, without wildcards or control characters", name)
	case ahoyDTUSubtrees[name]:
		return gridmint.Errorf(gridmint.EInvalid, "inverter name %q collides with AhoyDTU's own %s/ topics; rename the inverter", name, name)
	}
	return nil
}

func ahoyHasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// CheckSerial implements SerialChecker: a serial is the inverter's name
// from AhoyDTU's setup page, as it appears in the topics.
func (a *ahoyDTU) CheckSerial(serial string) error {
	if err := checkAhoyName(serial); err != nil {
		return gridmint.Errorf(gridmint.EInvalid, "ahoydtu serial: %s", err.Message)
	}
	return nil
}

// LimitCommand implements PowerLimiter with AhoyDTU's absolute,
// non-persistent limit: <TOPIC>/ctrl/limit/<index> "<W>W".
func (a *ahoyDTU) LimitCommand(serial string, limit gridmint.W) (Command, error) {
	if err := a.CheckSerial(serial); err != nil {
		return Command{}, err
	}
	idx, ok := a.indices[serial]
	if !ok {
		return Command{}, gridmint.Errorf(gridmint.EInvalid,
			"ahoydtu inverter %q has no index: AhoyDTU addresses limits by the inverter's position on its setup page; add it to the adapter's inverters config (inverters: {%q: <index>})", serial, serial)
	}
	if math.IsNaN(float64(limit)) || limit < ahoyMinLimit || limit > ahoyMaxLimit {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "ahoydtu limit %v W: want %d..%d W (below %d W an inverter cannot follow a limit; the Hoymiles protocol carries at most %d W)", limit, ahoyMinLimit, ahoyMaxLimit, ahoyMinLimit, ahoyMaxLimit)
	}
	whole := int64(limit)
	watts := strconv.FormatInt(whole, 10) // the firmware reads an integer
	return Command{
		Topic: a.prefix + "ctrl/limit/" + strconv.Itoa(idx),
		// Without the W suffix AhoyDTU takes the number as percent.
		Payload: []byte(watts + "W"),
		QoS:     1,
		Confirm: &Confirmation{
			Filter: a.prefix + serial + "/ack_pwr_limit",
			Match: func(_ string, payload []byte) (bool, error) {
				ack := strings.TrimSpace(string(payload))
				switch ack {
				case "true": // up to 0.8.105
					return true, nil
				case "false":
					return true, gridmint.Errorf(gridmint.EConflict, "inverter %q did not accept the %s W limit (ack_pwr_limit false)", serial, watts)
				}
				// 0.8.106+: the limit that was set, "%.1f"; another value
				// answers another command.
				if v, err := parseDecimal(ack); err == nil && math.Abs(v-float64(whole)) < 0.05 {
					return true, nil
				}
				return false, nil
			},
		},
	}, nil
}
