package devices

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// OpenDTU, the ESP32 gateway for Hoymiles micro-inverters.
//
// Telemetry: plain-text scalars, one topic per value, retained, every
// publish interval (5 s default) under a configurable base topic
// ("solar/"). Per inverter <serial>: status/last_update (unix s, UTC, the
// time of the inverter's data), status/reachable (0/1), name, and on the
// AC side 0/power (W), 0/yieldtotal (kWh, lifetime), 0/yieldday (Wh,
// daily). DTU availability: dtu/status online/offline (its LWT).
// Control: <serial>/cmd/limit_nonpersistent_absolute, W as an integer,
// never retained (OpenDTU ignores retained non-persistent limits).
//
// One measurement spans several messages whose order the firmware does
// not promise, so the decoder assembles per inverter: last_update opens a
// new sample; once it holds both power and yieldtotal it becomes one
// Measurement stamped with last_update. Values without a last_update are
// not used: without it there is no telling cycles apart. Retained values
// re-sent on reconnect carry the old last_update and so come out as
// duplicates; the firmware derives last_update from millis() and can
// report the same sample one second off, so identical values within a
// second of the last measurement keep its timestamp.

func init() { Register("opendtu", newOpenDTU) }

const openDTUDefaultBase = "solar/"

type openDTU struct {
	maxInverters int    // AdapterConfig.MaxDevices
	base         string // with trailing '/'
	kind         gridmint.DeviceKind
	inverters    map[string]*openDTUSample
}

// openDTUSample is one inverter's half-assembled measurement and the last
// one emitted.
type openDTUSample struct {
	lastUpdate time.Time
	power      *gridmint.W
	total      *gridmint.MWh
	emitted    *Measurement
}

func newOpenDTU(cfg AdapterConfig) (Adapter, error) {
	base := cfg.BaseTopic
	if base == "" {
		base = openDTUDefaultBase
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	if strings.ContainsAny(base, "+#") || strings.HasPrefix(base, "/") {
		return nil, gridmint.Errorf(gridmint.EInvalid, "base_topic %q (OpenDTU's base topic): no wildcards, no leading '/'", cfg.BaseTopic)
	}
	kind := cfg.Kind
	if kind == "" {
		kind = gridmint.KindPVInverter
	}
	return &openDTU{base: base, kind: kind, inverters: map[string]*openDTUSample{}, maxInverters: cfg.maxDevices(maxOpenDTUInverters)}, nil
}

func (o *openDTU) Dialect() string                  { return "opendtu" }
func (o *openDTU) DefaultKind() gridmint.DeviceKind { return o.kind }
func (o *openDTU) Reports() []gridmint.Capability {
	return []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
}
func (o *openDTU) Subscriptions() []string { return []string{o.base + "#"} }

// openDTUChannelFields are the values OpenDTU publishes per channel
// (<serial>/<channel>/<field>: 0 is AC, 1.. are DC inputs). gridmint uses
// 0/power and 0/yieldtotal; the rest are known and ignored.
var openDTUChannelFields = map[string]bool{
	"power": true, "powerdc": true, "voltage": true, "current": true, "frequency": true,
	"reactivepower": true, "powerfactor": true, "efficiency": true, "temperature": true,
	"irradiation": true, "yieldday": true, "yieldtotal": true, "name": true,
}

// openDTUIgnoredGroups are per-inverter subtrees gridmint does not read:
// status values other than reachable/last_update, commands (ours, echoed
// back by the # subscription), device info, radio statistics.
var openDTUIgnoredGroups = map[string]bool{"status": true, "cmd": true, "device": true, "radio": true}

func (o *openDTU) Decode(topic string, payload []byte) ([]Update, error) {
	rest, ok := strings.CutPrefix(topic, o.base)
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q outside base %q", topic, o.base)
	}
	if len(payload) > 256 {
		return nil, decodeErr(gridmint.ReasonMalformed, "", "%d-byte payload for a scalar topic", len(payload))
	}
	value := strings.TrimSpace(string(payload))
	head, sub, _ := strings.Cut(rest, "/")
	switch head {
	case "dtu":
		if sub == "status" {
			return o.decodeDTUStatus(value)
		}
		return nil, nil // ip, hostname, rssi, uptime, bssid, ...
	case "ac", "dc":
		return nil, nil // totals over all inverters; per-inverter values are used
	}
	if !isInverterSerial(head) {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: %q is not an inverter serial", topic, head)
	}
	serial := head
	if len(value) == 0 && sub != "name" {
		// A zero-byte retained message deletes the topic; nothing to read.
		return nil, nil
	}
	switch sub {
	case "name":
		return []Update{{Serial: serial, Name: truncate([]byte(value))}}, nil
	case "status/reachable":
		switch value {
		case "1":
			return []Update{{Serial: serial, Availability: AvailabilityOnline}}, nil
		case "0":
			return []Update{{Serial: serial, Availability: AvailabilityOffline}}, nil
		}
		return nil, decodeErr(gridmint.ReasonMalformed, serial, "status/reachable %q, want 0 or 1", truncate(payload))
	case "status/last_update":
		secs, err := strconv.ParseInt(value, 10, 64)
		if err != nil || secs < 0 || secs > 1<<40 {
			return nil, decodeErr(gridmint.ReasonMalformed, serial, "status/last_update %q, want unix seconds", truncate(payload))
		}
		s, err := o.sample(serial)
		if err != nil {
			return nil, err
		}
		if t := time.Unix(secs, 0).UTC(); !t.Equal(s.lastUpdate) {
			s.lastUpdate, s.power, s.total = t, nil, nil
		}
		return nil, nil
	case "0/power":
		p, perr := parsePower(value)
		if perr != nil {
			return nil, decodeErr(perr.Reason, serial, "0/power: %s", perr.Detail)
		}
		s, err := o.sample(serial)
		if err != nil {
			return nil, err
		}
		s.power = &p
		return o.complete(serial, s), nil
	case "0/yieldtotal":
		e, derr := parseCounter(value, gridmint.UnitKWh)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "0/yieldtotal: %s", derr.Detail)
		}
		s, err := o.sample(serial)
		if err != nil {
			return nil, err
		}
		s.total = &e
		return o.complete(serial, s), nil
	}
	group, field, _ := strings.Cut(sub, "/")
	if openDTUIgnoredGroups[group] || isChannel(group) && openDTUChannelFields[field] {
		return nil, nil
	}
	return nil, decodeErr(gridmint.ReasonUnknownTopic, serial, "opendtu topic %q", sub)
}

func (o *openDTU) decodeDTUStatus(value string) ([]Update, error) {
	switch value {
	case "online":
		return nil, nil // inverters report their own reachability
	case "offline":
		// The gateway is gone, and with it every inverter behind it.
		return []Update{{Availability: AvailabilityOffline}}, nil
	}
	return nil, decodeErr(gridmint.ReasonMalformed, "", "dtu/status %q, want online or offline", truncate([]byte(value)))
}

// maxOpenDTUInverters bounds the assembly map; a DTU drives at most a few
// dozen inverters, so more serials means garbage topics, which must not
// evict the real ones.
const maxOpenDTUInverters = 256

func (o *openDTU) sample(serial string) (*openDTUSample, error) {
	s, ok := o.inverters[serial]
	if !ok {
		if len(o.inverters) >= o.maxInverters {
			return nil, capErr(serial, o.maxInverters, "more than %d inverters on OpenDTU base topic %q (max_devices)", o.maxInverters, o.base)
		}
		s = &openDTUSample{}
		o.inverters[serial] = s
	}
	return s, nil
}

// complete emits a Measurement once the sample holds power and counter
// of a known cycle.
func (o *openDTU) complete(serial string, s *openDTUSample) []Update {
	if s.power == nil || s.total == nil || s.lastUpdate.IsZero() {
		return nil
	}
	m := &Measurement{SourceTime: s.lastUpdate, Power: s.power, Forward: &Counter{Value: *s.total, Kind: gridmint.CounterLifetime}}
	if e := s.emitted; e != nil && *m.Power == *e.Power && m.Forward.Value == e.Forward.Value &&
		m.SourceTime.Sub(e.SourceTime).Abs() <= time.Second {
		m.SourceTime = e.SourceTime // the same sample, its timestamp rounded the other way
	}
	s.power, s.total, s.emitted = nil, nil, m
	return []Update{{Serial: serial, Measurement: m}}
}

func isChannel(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n < 16 && strconv.Itoa(n) == s
}

// isInverterSerial reports whether s looks like a Hoymiles serial: hex
// digits (OpenDTU parses the serial in topics as hex), 1 to 16 of them.
func isInverterSerial(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// CheckSerial implements SerialChecker: OpenDTU reads serials as hex.
func (o *openDTU) CheckSerial(serial string) error {
	if !isInverterSerial(serial) {
		return gridmint.Errorf(gridmint.EInvalid, "opendtu serial %q: want 1-16 hex digits, as in the topic", serial)
	}
	return nil
}

// openDTUMaxLimit is the largest absolute limit, W: the inverter takes it
// in a 16-bit register.
const openDTUMaxLimit = 65535

// LimitCommand implements PowerLimiter with the non-persistent absolute
// limit: an integer in W, not retained.
func (o *openDTU) LimitCommand(serial string, limit gridmint.W) (Command, error) {
	if !isInverterSerial(serial) {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "opendtu serial %q", serial)
	}
	if !(limit >= 0 && limit <= openDTUMaxLimit) {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "opendtu limit %v W: want 0 to %d W", limit, openDTUMaxLimit)
	}
	want := float64(int64(limit)) // the firmware drops the fraction
	return Command{
		Topic:   o.base + serial + "/cmd/limit_nonpersistent_absolute",
		Payload: []byte(strconv.FormatInt(int64(limit), 10)),
		QoS:     1,
		// OpenDTU has no reply topic: the inverter's applied limit shows on
		// status/limit_absolute, in 0.1 % steps of its rating.
		Confirm: &Confirmation{
			Filter: o.base + serial + "/status/limit_absolute",
			Match: func(_ string, payload []byte) (bool, error) {
				got, err := strconv.ParseFloat(strings.TrimSpace(string(payload)), 64)
				if err != nil {
					return false, nil
				}
				return math.Abs(got-want) <= max(1, want*0.002), nil
			},
		},
	}, nil
}
