package devices

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridmint/gridmint"
)

// AhoyDTU, the ESP8266/ESP32 gateway for Hoymiles micro-inverters (an
// alternative to OpenDTU).
//
// Telemetry: plain-text numbers, one topic per value, under a base topic
// <TOPIC> ("inverter" by default, no trailing '/'). Inverters appear by
// the NAME given on the setup page: <TOPIC>/<name>/ch0/P_AC (AC power,
// W), ch0/YieldTotal (lifetime counter, kWh), ch0/YieldDay (daily
// counter, Wh); ch1..ch6 are the DC inputs and the other ch0 values
// (voltage, temperature, ...) are known and ignored. YieldDay is used
// only for an inverter that publishes no YieldTotal at all (it came
// twice without one in between), marked as a daily counter.
// <name>/last_success is the unix time (UTC) of the inverter's data.
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
// Availability: <name>/available 0 (unreachable) is offline, 1 (reachable,
// idle) and 2 (producing) are online. <TOPIC>/status 0 means no inverter
// is reachable and <TOPIC>/mqtt "not connected" is the DTU's last will:
// both mark every inverter of the adapter offline (an Update without a
// serial). Other DTU topics (comm_start, comm_stop, device, uptime,
// version, ...), the DTU-wide sums under total/ and the control topics
// under ctrl/ and setup/ (our own commands come back through the #
// subscription) are known and ignored.
//
// Control: the power limit goes to <TOPIC>/ctrl/limit/<index>, where
// index is the inverter's position on the setup page, not its name; the
// name→index map is AdapterConfig.Inverters (it is read-only after
// construction, so commands need no lock against Decode). The payload is
// an integer with a W suffix ("600W", absolute, not persistent): without
// the W, AhoyDTU reads the number as percent. Limits below 30 W (0 W
// included) are refused, not rounded up: the manual calls them not useful, and a
// curtailment the inverter cannot follow must not look accepted. The
// inverter's acceptance arrives as <name>/ack_pwr_limit "true"; "false"
// is taken as a refusal. Some firmware versions publish that ack
// retained, so a reconnect while a command waits can replay an older
// "true".
//
// Pitfalls handled: YieldTotal is kWh (the firmware's field table), not
// Wh as the manual says; values are printed with %g, so large counters
// lose decimals (1234.57 kWh) and parse as they come; an inverter named
// ctrl, setup or total would collide with the DTU's own subtrees and is
// refused by CheckSerial. A channel topic without a field (one JSON
// object per channel, as some setups publish) is not supported: it is
// quarantined as unknown_topic with a hint.

func init() { Register("ahoydtu", newAhoyDTU) }

const ahoyDefaultBase = "inverter"

const (
	// ahoyMinLimit is the smallest absolute limit worth sending, W: the
	// manual calls limits below about 30 W not useful.
	ahoyMinLimit = 30
	// ahoyMaxLimit is the largest absolute limit the firmware accepts, W.
	ahoyMaxLimit = 65535
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
	prefix  string // base topic with trailing '/'
	kind    gridmint.DeviceKind
	indices map[string]int // inverter name → setup index; read-only

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
	a := &ahoyDTU{prefix: base + "/", kind: cfg.Kind, indices: map[string]int{}, inverters: map[string]*ahoySample{}}
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
// and mqtt; none carries inverter data.
var ahoyDTUTopics = map[string]bool{
	"comm_start": true, "comm_stop": true, "device": true, "uptime": true, "version": true,
	"sunrise": true, "sunset": true, "dis_night_comm": true, "comm_disabled": true, "comm_dis_ts": true,
	"ip_addr": true, "wifi_rssi": true, "free_heap": true, "heap_frag": true,
	"alarm": true, "alarm_start": true, "alarm_end": true,
}

// ahoyDTUSubtrees are DTU-level subtrees: the sums over all inverters,
// and the control topics (ours come back through the # subscription).
var ahoyDTUSubtrees = map[string]bool{"total": true, "ctrl": true, "setup": true}

// ahoyChannelFields are the values AhoyDTU publishes per channel
// (<name>/ch<n>/<field>), from the firmware's field table and the manual.
var ahoyChannelFields = map[string]bool{
	"U_DC": true, "I_DC": true, "P_DC": true, "YieldDay": true, "YieldWeek": true, "YieldTotal": true,
	"U_AC": true, "U_AC_1N": true, "U_AC_2N": true, "U_AC_3N": true, "UAC_12": true, "UAC_23": true, "UAC_31": true,
	"I_AC": true, "IAC_1": true, "I_AC_2": true, "I_AC_3": true, "P_AC": true, "F_AC": true, "Temp": true,
	"PF_AC": true, "Efficiency": true, "Irradiation": true, "Q_AC": true, "ALARM_MES_ID": true,
	"FWVersion": true, "FWBuildYear": true, "FWBuildMonthDay": true, "FWBuildHourMinute": true, "HWPartId": true,
	"active_PowerLimit": true, "PowerLimit": true, "LastAlarmCode": true, "MaxPower": true,
}

// ahoyMaxScalar bounds a scalar payload; AhoyDTU prints at most a few
// dozen bytes.
const ahoyMaxScalar = 256

func (a *ahoyDTU) Decode(topic string, payload []byte) ([]Update, error) {
	rest, ok := strings.CutPrefix(topic, a.prefix)
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q outside base %q", topic, a.prefix)
	}
	if len(payload) > ahoyMaxScalar {
		return nil, decodeErr(gridmint.ReasonMalformed, "", "%d-byte payload for a scalar topic", len(payload))
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
	case "available", "last_success", "ch0/P_AC", "ch0/YieldTotal", "ch0/YieldDay":
		if value == "" {
			return nil, nil // a zero-byte retained message deletes the topic
		}
	}
	switch sub {
	case "available":
		switch value {
		case "0":
			return []Update{{Serial: name, Availability: AvailabilityOffline}}, nil
		case "1", "2":
			return []Update{{Serial: name, Availability: AvailabilityOnline}}, nil
		}
		return nil, decodeErr(gridmint.ReasonMalformed, name, "available %q, want 0, 1 or 2", truncate(payload))
	case "last_success":
		secs, err := strconv.ParseInt(value, 10, 64)
		if err != nil || secs < 0 || secs > 1<<40 {
			return nil, decodeErr(gridmint.ReasonMalformed, name, "last_success %q, want unix seconds", truncate(payload))
		}
		if secs == 0 {
			return nil, nil // the firmware's "no data yet"
		}
		s, derr := a.sample(name)
		if derr != nil {
			return nil, derr
		}
		if t := time.Unix(secs, 0).UTC(); !t.Equal(s.lastSuccess) {
			s.lastSuccess, s.fresh = t, true
			s.power, s.total, s.day = nil, nil, nil
		}
		return nil, nil
	case "ack_pwr_limit":
		return nil, nil // a command confirmation; see LimitCommand
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
		e, cerr := parseCounter(value, unit)
		if cerr == nil && e < 0 {
			cerr = &DecodeError{Reason: gridmint.ReasonNegative, Detail: "counter " + value}
		}
		if cerr != nil {
			return nil, decodeErr(cerr.Reason, name, "%s: %s", sub, cerr.Detail)
		}
		s, derr := a.sample(name)
		if derr != nil {
			return nil, derr
		}
		if unit == gridmint.UnitKWh {
			s.total = &e
			s.hasTotal, s.dayOnly, s.dayPending = true, false, false
		} else {
			s.day = &e
			if !s.hasTotal && s.dayPending {
				s.dayOnly = true
			}
			s.dayPending = true
		}
		return a.complete(name, s), nil
	}
	ch, field, hasField := strings.Cut(sub, "/")
	if isAhoyChannel(ch) {
		if !hasField {
			return nil, decodeErr(gridmint.ReasonUnknownTopic, name, "ahoydtu topic %q without a field: one JSON object per channel is not supported, only one topic per value", sub)
		}
		if ahoyChannelFields[field] {
			return nil, nil
		}
	}
	return nil, decodeErr(gridmint.ReasonUnknownTopic, name, "ahoydtu topic %q", truncate([]byte(sub)))
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
		if len(a.inverters) >= maxAhoyInverters {
			return nil, decodeErr(gridmint.ReasonUnknownDevice, name, "more than %d inverters on one AhoyDTU base topic", maxAhoyInverters)
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
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "ahoydtu limit %v W: want %d..%d W (below %d W an inverter cannot follow a limit)", limit, ahoyMinLimit, ahoyMaxLimit, ahoyMinLimit)
	}
	watts := strconv.FormatInt(int64(limit), 10) // the firmware reads an integer
	return Command{
		Topic: a.prefix + "ctrl/limit/" + strconv.Itoa(idx),
		// Without the W suffix AhoyDTU takes the number as percent.
		Payload: []byte(watts + "W"),
		QoS:     1,
		Confirm: &Confirmation{
			Filter: a.prefix + serial + "/ack_pwr_limit",
			Match: func(_ string, payload []byte) (bool, error) {
				switch strings.TrimSpace(string(payload)) {
				case "true":
					return true, nil
				case "false":
					return true, gridmint.Errorf(gridmint.EConflict, "inverter %q did not accept the %s W limit (ack_pwr_limit false)", serial, watts)
				}
				return false, nil
			},
		},
	}, nil
}
