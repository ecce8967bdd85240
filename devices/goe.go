package devices

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/gridmint/gridmint"
)

// go-eCharger: HOME+/HOMEfix V3 and later and Gemini with the API v2 over
// MQTT, and the older HOME+ (hardware v1 and v2, firmware 030+) with the
// API v1.
//
// Telemetry: one retained topic per API key, <prefix><serial>/<key>, JSON
// payloads (numbers and booleans bare, strings quoted). The prefix is the
// charger's mtp setting, "go-eCharger/" by default; a leading slash
// ("/go-eCharger/") has been seen in the field, so it is configurable
// (BaseTopic). Used keys:
//
//   - nrg: array of 16 numbers in the official order U L1 L2 L3 N,
//     I L1 L2 L3, P L1 L2 L3 N Total, pf L1 L2 L3 N; power is nrg[11]
//     (P_Total, W). A third-party model puts P_N at [11]; the official
//     order wins.
//   - eto: lifetime energy, Wh → Forward (lifetime). wh is the energy
//     since the car was plugged in, a session counter: no lifetime meter,
//     so it is not used; etop (eto as persisted) lags eto.
//   - mcc: MQTT connected, also the charger's last will (false): the
//     availability. While mcc is false no measurement is emitted, so
//     retained values of a charger that is gone do not pass for live
//     ones.
//   - car, amp, frc, alw, acu and mcr are kept as the charger's state;
//     mcr (MQTT read-only) refuses commands before they are sent.
//
// A null value (car is null on an internal error) is not an error: the
// key's value is forgotten. Every other key is known and ignored. A
// Measurement (power and lifetime counter, whatever is known) is emitted
// when nrg or eto arrives.
//
// Control: write <prefix><serial>/<key>/set with a JSON value, never
// retained; since firmware 051.5 the charger answers on
// <prefix><serial>/<key>/result (not retained) with "success" or the
// reason it refused ("invalid json ...", "value must be ..."). Writes over
// MQTT are off by default on that firmware (mcr): the owner enables them
// in the app. Current: amp/set with whole amperes. Stop: frc/set 1 (stop
// now); resume: frc/set 0 (back to the charger's own logic and current);
// 2 (force a charge) is not used, so gridmint never overrides the owner's
// schedule or PV-surplus mode. The /set and /result topics are one level deeper than the
// telemetry subscription <prefix>+/+, so they never reach Decode; the
// replies come through ReplySubscriptions.
//
// API v1 (goecharger/go-eCharger-API-v1, "go-eCharger API v1 EN.md",
// sections 2 and 6): every 5 s one JSON object on <prefix><serial>/status
// with every value a string ("eto":"120") except nrg, an array of bare
// numbers (field captures agree). Used: nrg[11], total power in 0.01 kW;
// eto, lifetime energy in 0.1 kWh (converted exactly, by moving the
// decimal point); car, amp, alw and fwv as state. A number that comes
// bare instead of quoted is read too. No v2 key is named status, so the
// topic tells the two APIs apart, per charger. v1 has no last will: a
// silent charger goes offline after the node's stale_after.
// Commands go to <prefix><serial>/cmd/req as "<key>=<value>" and get no
// reply; the next status shows the new value (or, refused, the old one,
// until the command times out). Current: amx=<A> (firmware 033+: like amp,
// not written to flash, the document's advice for frequent changes;
// amp=<A> for older firmware, known from fwv), confirmed by a status
// whose amp shows it. Start/stop is refused on v1: its only switch, alw,
// has no neutral value, so releasing a stop would force charging past the
// charger's own schedule or price logic (ast), which gridmint never does.

func init() { Register("goe", newGoE) }

const (
	goeDefaultPrefix = "go-eCharger/"
	// goeMaxValuePayload bounds a used key's payload (nrg is the longest,
	// 16 numbers).
	goeMaxValuePayload = 1024
	// goeNrgPowerTotal is P_Total's index in nrg (both APIs; 0.01 kW in
	// v1, W in v2).
	goeNrgPowerTotal = 11
	// goeV1MaxStatus bounds a v1 status object (about 1.5 KB with every
	// RFID card; later firmware adds keys).
	goeV1MaxStatus = 16 << 10
	// goeV1AmxFirmware is the first firmware documented with amx (the v1
	// document is "valid for firmware version 033").
	goeV1AmxFirmware = 33
	// Values beyond any home device are refused before they are merged
	// (the bounds of DefaultLimits).
	goeAbsurdPower   = 1_000_000         // W
	goeAbsurdCounter = 1_000_000_000_000 // mWh, 1 GWh
	// A charge current outside 6..32 A is no charge current: IEC 61851's
	// minimum and the 22 kW variant's maximum.
	goeMinAmps = 6
	goeMaxAmps = 32
)

type goe struct {
	maxChargers int    // AdapterConfig.MaxDevices
	prefix      string // with a trailing '/'
	kind        gridmint.DeviceKind

	// Decode writes the chargers' state; the command methods read mcr.
	mu       sync.Mutex
	chargers map[string]*goeCharger
}

// goeCharger is one charger's merged state.
type goeCharger struct {
	power *gridmint.W
	eto   *gridmint.MWh
	// online is the last mcc; nil until one arrived.
	online *bool
	// State kept for control: car state, requested current (A), force
	// state, allowed to charge now, current the car may draw (A), MQTT
	// read-only.
	car, amp, frc, acu *int
	alw, mcr           *bool
	// v1 is set once the charger sent an API v1 status; fwv is its
	// firmware's major version (0: unknown).
	v1  bool
	fwv int
}

func newGoE(cfg AdapterConfig) (Adapter, error) {
	prefix := cfg.BaseTopic
	if prefix == "" {
		prefix = goeDefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if strings.ContainsAny(prefix, "+#\x00") || prefix == "/" || strings.Contains(strings.TrimPrefix(prefix, "/"), "//") {
		return nil, gridmint.Errorf(gridmint.EInvalid, "goe base topic %q: want the charger's MQTT topic prefix (mtp), e.g. go-eCharger/ or /go-eCharger/, without wildcards or empty levels", cfg.BaseTopic)
	}
	kind := cfg.Kind
	if kind == "" {
		kind = gridmint.KindEVCharger
	}
	return &goe{prefix: prefix, kind: kind, chargers: map[string]*goeCharger{}, maxChargers: cfg.maxDevices(DefaultMaxDevices)}, nil
}

func (g *goe) Dialect() string                  { return "goe" }
func (g *goe) DefaultKind() gridmint.DeviceKind { return g.kind }
func (g *goe) Reports() []gridmint.Capability {
	return []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
}
func (g *goe) Subscriptions() []string { return []string{g.prefix + "+/+"} }

// ReplySubscriptions implements Replier: the /result replies to /set.
func (g *goe) ReplySubscriptions() []string { return []string{g.prefix + "+/+/result"} }

// goeIsSerial reports whether s can be a charger serial in a topic (digits
// on the chargers seen; letters, '-' and '_' tolerated).
func goeIsSerial(s string) bool { return goeIsName(s, 32, true) }

// goeIsKey reports whether s can be an API key (amp, sch_week,
// modelStatus).
func goeIsKey(s string) bool { return goeIsName(s, 32, false) }

func goeIsName(s string, maxLen int, dash bool) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || dash && c == '-') {
			return false
		}
	}
	return true
}

// CheckSerial implements SerialChecker.
func (g *goe) CheckSerial(serial string) error {
	if !goeIsSerial(serial) {
		return gridmint.Errorf(gridmint.EInvalid, "goe serial %q: want the charger's serial as in its topics (e.g. 00000001)", serial)
	}
	return nil
}

func (g *goe) Decode(topic string, payload []byte) ([]Update, error) {
	rest, ok := strings.CutPrefix(topic, g.prefix)
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q outside prefix %q", truncate([]byte(topic)), g.prefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 || !goeIsSerial(parts[0]) || !goeIsKey(parts[1]) {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: want %s<serial>/<key>", truncate([]byte(topic)), g.prefix)
	}
	serial, key := parts[0], parts[1]
	if len(parts) == 3 {
		if parts[2] == "set" || parts[2] == "result" {
			return nil, nil // a write and its reply, for command confirmation only
		}
		return nil, decodeErr(gridmint.ReasonUnknownTopic, serial, "topic %q: want %s<serial>/<key>", truncate([]byte(topic)), g.prefix)
	}
	switch key {
	case "nrg", "eto", "mcc", "car", "amp", "frc", "acu", "alw", "mcr":
	case "status":
		return g.decodeV1(serial, payload)
	default:
		return nil, nil // one of the charger's many other API keys
	}
	if len(payload) > goeMaxValuePayload {
		return nil, decodeErr(gridmint.ReasonMalformed, serial, "%s: payload of %d bytes exceeds %d", key, len(payload), goeMaxValuePayload)
	}
	raw := bytes.TrimSpace(payload)
	if !json.Valid(raw) {
		if _, nonFinite := bareNonFiniteToNull(raw); nonFinite {
			return nil, decodeErr(gridmint.ReasonNotFinite, serial, "%s: %q", key, truncate(raw))
		}
		return nil, decodeErr(gridmint.ReasonMalformed, serial, "%s: %q is not JSON", key, truncate(raw))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c, err := g.charger(serial)
	if err != nil {
		return nil, err
	}
	null := string(raw) == "null"
	switch key {
	case "nrg":
		p, derr := goePower(raw)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "nrg: %s", derr.Detail)
		}
		if c.offline() {
			p = nil // a retained value of a charger that is gone
		}
		c.power = p
		return c.measurement(serial), nil
	case "eto":
		if null {
			c.eto = nil
			return nil, nil
		}
		e, derr := goeCounter(raw)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "eto: %s", derr.Detail)
		}
		c.eto = &e
		return c.measurement(serial), nil
	case "mcc":
		if null {
			c.online = nil
			return nil, nil
		}
		on, derr := goeBool(raw)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "mcc: %s", derr.Detail)
		}
		c.online = &on
		if !on {
			c.power = nil // gone: its last power is not the present one
			return []Update{{Serial: serial, Availability: AvailabilityOffline}}, nil
		}
		return []Update{{Serial: serial, Availability: AvailabilityOnline}}, nil
	case "alw", "mcr":
		var b *bool
		if !null {
			v, derr := goeBool(raw)
			if derr != nil {
				return nil, decodeErr(derr.Reason, serial, "%s: %s", key, derr.Detail)
			}
			b = &v
		}
		if key == "alw" {
			c.alw = b
		} else {
			c.mcr = b
		}
		return nil, nil
	}
	// car, amp, frc, acu: small unsigned integers.
	var n *int
	if !null {
		v, derr := goeUint8(raw)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "%s: %s", key, derr.Detail)
		}
		n = &v
	}
	switch key {
	case "car":
		c.car = n
	case "amp":
		c.amp = n
	case "frc":
		c.frc = n
	case "acu":
		c.acu = n
	}
	return nil, nil
}

// goeV1Status holds the keys gridmint uses of an API v1 status object.
type goeV1Status struct {
	Nrg []json.RawMessage `json:"nrg"`
	Eto json.RawMessage   `json:"eto"`
	Car json.RawMessage   `json:"car"`
	Amp json.RawMessage   `json:"amp"`
	Alw json.RawMessage   `json:"alw"`
	Fwv json.RawMessage   `json:"fwv"`
}

// decodeV1 reads an API v1 status: the charger's whole state, so a value
// it lacks is unknown. A bad value refuses the whole status and changes
// nothing.
func (g *goe) decodeV1(serial string, payload []byte) ([]Update, error) {
	if len(payload) > goeV1MaxStatus {
		return nil, decodeErr(gridmint.ReasonMalformed, serial, "status: payload of %d bytes exceeds %d", len(payload), goeV1MaxStatus)
	}
	raw := bytes.TrimSpace(payload)
	if len(raw) == 0 {
		return nil, nil // a zero-byte retained message deletes the topic
	}
	if raw[0] != '{' {
		if json.Valid(raw) {
			return nil, decodeErr(gridmint.ReasonWrongType, serial, "status %s is not the API v1 status object", truncate(raw))
		}
		return nil, decodeErr(gridmint.ReasonMalformed, serial, "status: %q is not JSON", truncate(raw))
	}
	var st goeV1Status
	if err := decodeJSON(raw, &st); err != nil {
		de, _ := err.(*DecodeError)
		if de == nil {
			de = &DecodeError{Reason: gridmint.ReasonMalformed, Detail: err.Error()}
		}
		return nil, decodeErr(de.Reason, serial, "status: %s", de.Detail)
	}
	var (
		power    *gridmint.W
		eto      *gridmint.MWh
		car, amp *int
		alw      *bool
	)
	if st.Nrg != nil {
		if len(st.Nrg) <= goeNrgPowerTotal {
			return nil, decodeErr(gridmint.ReasonWrongType, serial, "status.nrg: %d elements, want 16 (total power is [%d])", len(st.Nrg), goeNrgPowerTotal)
		}
		lit, derr := goeV1Number(st.Nrg[goeNrgPowerTotal])
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "status.nrg[%d]: %s", goeNrgPowerTotal, derr.Detail)
		}
		p, derr := parsePower(lit)
		if derr == nil {
			p *= 10 // 0.01 kW
			if math.Abs(float64(p)) > goeAbsurdPower {
				derr = &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%s × 0.01 kW", truncate([]byte(lit)))}
			}
		}
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "status.nrg[%d]: %s", goeNrgPowerTotal, derr.Detail)
		}
		power = &p
	}
	if st.Eto != nil {
		e, derr := goeV1Eto(st.Eto)
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "status.eto: %s", derr.Detail)
		}
		eto = &e
	}
	for _, f := range []struct {
		key string
		raw json.RawMessage
		dst **int
	}{{"car", st.Car, &car}, {"amp", st.Amp, &amp}} {
		if f.raw == nil {
			continue
		}
		lit, derr := goeV1Number(f.raw)
		if derr == nil {
			var n int
			if n, derr = goeUint8([]byte(lit)); derr == nil {
				*f.dst = &n
			}
		}
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "status.%s: %s", f.key, derr.Detail)
		}
	}
	if st.Alw != nil {
		lit, derr := goeV1Number(st.Alw)
		if derr == nil && lit != "0" && lit != "1" {
			derr = &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s, want 0 or 1", truncate(st.Alw))}
		}
		if derr != nil {
			return nil, decodeErr(derr.Reason, serial, "status.alw: %s", derr.Detail)
		}
		alw = ptr(lit == "1")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c, err := g.charger(serial)
	if err != nil {
		return nil, err
	}
	c.v1, c.fwv = true, goeV1Firmware(st.Fwv)
	c.power, c.eto, c.car, c.amp, c.alw = power, eto, car, amp, alw
	return c.measurement(serial), nil
}

// goeV1Number returns the decimal literal of a v1 value: a string holding
// a number, as the charger sends it, or a bare number.
func goeV1Number(raw json.RawMessage) (string, *DecodeError) {
	raw = bytes.TrimSpace(raw)
	lit, derr := genericNumberLiteral(raw, true)
	if derr != nil {
		return "", derr
	}
	if _, derr := parseDecimal(lit); derr != nil {
		return "", derr
	}
	return lit, nil
}

// goeV1Eto reads eto, 0.1 kWh, exactly: the decimal point moves one place.
func goeV1Eto(raw json.RawMessage) (gridmint.MWh, *DecodeError) {
	lit, derr := goeV1Number(raw)
	if derr != nil {
		return 0, derr
	}
	if shifted, ok := genericShiftDecimal(lit, -1); ok {
		lit = shifted
	} else if f, derr := parseDecimal(lit); derr == nil {
		lit = strconv.FormatFloat(f/10, 'f', -1, 64) // an exponent form
	}
	e, derr := parseCounter(lit, gridmint.UnitKWh)
	switch {
	case derr != nil:
		return 0, derr
	case e < 0:
		return 0, &DecodeError{Reason: gridmint.ReasonNegative, Detail: fmt.Sprintf("%s × 0.1 kWh", truncate(raw))}
	case e > goeAbsurdCounter:
		return 0, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%s × 0.1 kWh beyond 1 GWh", truncate(raw))}
	}
	return e, nil
}

// goeV1Firmware returns the major version of a v1 fwv ("020-rc1", "033",
// "040.0"), 0 when it has none.
func goeV1Firmware(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0
	}
	end := 0
	for end < len(s) && end < 6 && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// charger returns serial's state, creating it; g.mu is held.
func (g *goe) charger(serial string) (*goeCharger, error) {
	c, ok := g.chargers[serial]
	if !ok {
		if len(g.chargers) >= g.maxChargers {
			return nil, capErr(serial, g.maxChargers, "more than %d chargers under prefix %q (max_devices)", g.maxChargers, g.prefix)
		}
		c = &goeCharger{}
		g.chargers[serial] = c
	}
	return c, nil
}

// offline reports whether the charger's last mcc said it is gone.
func (c *goeCharger) offline() bool { return c.online != nil && !*c.online }

// measurement is the charger's whole state, or nothing while it is known
// to be offline or knows neither power nor counter.
func (c *goeCharger) measurement(serial string) []Update {
	if c.offline() || c.power == nil && c.eto == nil {
		return nil
	}
	m := &Measurement{Power: c.power}
	if c.eto != nil {
		m.Forward = &Counter{Value: *c.eto, Kind: gridmint.CounterLifetime}
	}
	return []Update{{Serial: serial, Measurement: m}}
}

// goePower reads P_Total from an nrg array; nil when nrg or P_Total is
// null.
func goePower(raw []byte) (*gridmint.W, *DecodeError) {
	if string(raw) == "null" {
		return nil, nil
	}
	var nrg []json.RawMessage
	if err := json.Unmarshal(raw, &nrg); err != nil {
		return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%q is not an array", truncate(raw))}
	}
	if len(nrg) <= goeNrgPowerTotal {
		return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%d elements, want 16 (P_Total is [%d])", len(nrg), goeNrgPowerTotal)}
	}
	el := bytes.TrimSpace(nrg[goeNrgPowerTotal])
	if string(el) == "null" {
		return nil, nil
	}
	if len(el) == 0 || el[0] != '-' && (el[0] < '0' || el[0] > '9') {
		return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("P_Total %s is not a number", truncate(el))}
	}
	p, derr := parsePower(string(el))
	if derr != nil {
		return nil, &DecodeError{Reason: derr.Reason, Detail: "P_Total: " + derr.Detail}
	}
	if math.Abs(float64(p)) > goeAbsurdPower {
		return nil, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("P_Total %s W", truncate(el))}
	}
	return &p, nil
}

// goeCounter reads eto, Wh.
func goeCounter(raw []byte) (gridmint.MWh, *DecodeError) {
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is not a number", truncate(raw))}
	}
	e, derr := parseCounter(string(raw), gridmint.UnitWh)
	switch {
	case derr != nil:
		return 0, derr
	case e < 0:
		return 0, &DecodeError{Reason: gridmint.ReasonNegative, Detail: fmt.Sprintf("%s Wh", truncate(raw))}
	case e > goeAbsurdCounter:
		return 0, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("%s Wh beyond 1 GWh", truncate(raw))}
	}
	return e, nil
}

func goeBool(raw []byte) (bool, *DecodeError) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is not true or false", truncate(raw))}
}

func goeUint8(raw []byte) (int, *DecodeError) {
	n, err := strconv.ParseUint(string(raw), 10, 8)
	if err != nil {
		return 0, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is not an integer 0..255", truncate(raw))}
	}
	return int(n), nil
}

// writable refuses a command the charger is known to refuse: MQTT
// read-only (mcr), the default since firmware 051.5. It returns what is
// known of the charger's API: v1 and its firmware's major version.
func (g *goe) writable(serial string) (v1 bool, fwv int, err error) {
	if err := g.CheckSerial(serial); err != nil {
		return false, 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.chargers[serial]
	if c == nil {
		return false, 0, nil
	}
	if c.mcr != nil && *c.mcr {
		return false, 0, gridmint.Errorf(gridmint.EUnavailable, "goe %s: the charger refuses writes over MQTT (mcr is true); allow them in the go-e app (Internet → Advanced settings → MQTT)", serial)
	}
	return c.v1, c.fwv, nil
}

// setCommand writes value to key and waits for the charger's result.
func (g *goe) setCommand(serial, key, value string) Command {
	base := g.prefix + serial + "/" + key
	return Command{
		Topic:   base + "/set",
		Payload: []byte(value),
		QoS:     1,
		Confirm: &Confirmation{
			Filter: base + "/result",
			Match: func(_ string, payload []byte) (bool, error) {
				reply := strings.TrimSpace(string(payload))
				if reply == "success" {
					return true, nil
				}
				return true, fmt.Errorf("go-e refused %s=%s: %s", key, value, truncate([]byte(reply)))
			},
		},
	}
}

// CurrentCommand implements ChargeController: amp/set with whole amperes.
// 0 A does not stop a go-e (use EnableCommand), so it is refused.
func (g *goe) CurrentCommand(serial string, amps float64) (Command, error) {
	v1, fwv, err := g.writable(serial)
	if err != nil {
		return Command{}, err
	}
	if amps != math.Trunc(amps) || amps < goeMinAmps || amps > goeMaxAmps {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "goe %s: charge current %v A: want whole amperes from %d to %d (stop with charge_enable 0)", serial, amps, goeMinAmps, goeMaxAmps)
	}
	if v1 {
		return g.v1CurrentCommand(serial, int(amps), fwv), nil
	}
	return g.setCommand(serial, "amp", strconv.Itoa(int(amps))), nil
}

// v1CurrentCommand is API v1's current: cmd/req "amx=<A>" (amp before
// firmware 033), confirmed by the next status that shows amp at <A>.
func (g *goe) v1CurrentCommand(serial string, amps, fwv int) Command {
	key := "amx"
	if fwv > 0 && fwv < goeV1AmxFirmware {
		key = "amp"
	}
	want := strconv.Itoa(amps)
	return Command{
		Topic:   g.prefix + serial + "/cmd/req",
		Payload: []byte(key + "=" + want),
		QoS:     1,
		Confirm: &Confirmation{
			Filter: g.prefix + serial + "/status",
			Match: func(_ string, payload []byte) (bool, error) {
				var st struct {
					Amp json.RawMessage `json:"amp"`
				}
				if len(payload) > goeV1MaxStatus || json.Unmarshal(payload, &st) != nil || st.Amp == nil {
					return false, nil
				}
				lit, derr := goeV1Number(st.Amp)
				// v1 has no reply: a status with another amp may predate the
				// command, so only the expiry tells a refusal.
				return derr == nil && lit == want, nil
			},
		},
	}
}

// EnableCommand implements ChargeController: frc/set 0 (release) or 1
// (stop now).
func (g *goe) EnableCommand(serial string, on bool) (Command, error) {
	v1, _, err := g.writable(serial)
	if err != nil {
		return Command{}, err
	}
	if v1 {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "goe %s speaks the API v1, whose only start/stop switch (alw) has no neutral value: releasing a stop would force charging past the charger's own schedule, so gridmint does not start or stop v1 chargers; lower the current with charge_current instead", serial)
	}
	// Allowing releases the stop (frc 0, neutral) instead of forcing a
	// charge (2): neutral leaves the charger's own logic and current in
	// charge, so gridmint never starts a charge the owner's schedule or PV
	// mode holds back, and a stop does not stay forced forever.
	frc := "1"
	if on {
		frc = "0"
	}
	return g.setCommand(serial, "frc", frc), nil
}
