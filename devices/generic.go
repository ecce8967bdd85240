package devices

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gridmint/gridmint"
)

// Generic: any firmware whose values reach MQTT, configured entirely by
// mappings (AdapterConfig.Mappings) instead of code, like evcc's
// templates. It has no control capabilities: it reads, it never commands.
//
// Each mapping names a topic filter, where the device's serial is (a
// topic level, or a fixed serial for topics that carry none), where the
// value is in the payload (a JSON path, or the whole payload as a plain
// value), what it is (power, energy, energy_reverse, soc, online) and in
// which unit. This configuration reads evcc's site grid power as a meter
// and a Tasmota-like JSON device purely through mappings:
//
//	adapters:
//	  - dialect: generic
//	    kind: meter          # devices discovered from these mappings
//	    mappings:
//	      # evcc MQTT API: a plain number in W, + = import (gridmint's meter sign)
//	      - {topic: evcc/site/grid/power, serial: evcc-grid, field: power, unit: W, sign: 1}
//	      # one SENSOR message, two values; the serial is the topic's level 1
//	      - {topic: tele/+/SENSOR, serial_level: 1, json_path: ENERGY.Power, field: power, unit: W}
//	      - {topic: tele/+/SENSOR, serial_level: 1, json_path: ENERGY.Total, field: energy, unit: kWh}
//	      - {topic: tele/+/LWT, serial_level: 1, field: online, online_value: Online}
//
// Fields and units: power in W or kW; energy (the natural direction's
// counter: production, consumption, grid import, battery discharge) and
// energy_reverse (grid export, battery charge) in mWh, Wh or kWh, with
// counter lifetime (default), daily or session; soc in %; online compares
// the value with online_value (case-insensitive): equal is online,
// anything else offline. scale multiplies the value before the unit
// applies; sign -1 flips a power (a battery that reports charging as
// positive). A device kind other than the adapter's kind is set by
// declaring the device.
//
// JSON paths are dotted keys with array indices: ENERGY.Total, nrg[11],
// em:0.total_act_power (a key may hold ':'; it cannot hold '.', '[' or
// ']'). A key given twice in one object reads the last, as encoding/json
// does. A path the payload lacks contributes nothing (a Tasmota SENSOR
// from a temperature sensor has no ENERGY); a path into the wrong kind of
// value (a key of a number, a boolean where a number belongs) is
// wrong_type.
//
// Numbers may come as JSON strings: "1234.5" is read as 1234.5, exactly
// as the bare number would be (go-e's API v1 quotes every number), both
// at a json_path and as a whole plain payload; a string that is no
// decimal number ("on", "1.234,5", "") is wrong_type, "nan" not_finite.
// There is no switch for it: a decimal in quotes means nothing else.
//
// Counters stay exact: the number's literal goes to parseCounter, and a
// scale that is a power of ten shifts the literal's decimal point. Any
// other scale multiplies in float64 and rounds to the nearest mWh.
//
// State: a device's values may come from several topics (evcc publishes
// one value per topic), so the adapter keeps each device's latest values
// and every message that sets a power, counter or SoC yields one
// Measurement with the device's whole current state, once it has a power
// or a counter. A value the decoder refuses (non-finite, negative
// counter, power or counter beyond the normaliser's default bounds, SoC
// outside 0..100) is never merged, so it cannot spoil later readings.
// Payloads carry no device time here: SourceTime is zero, so re-sent
// retained values are not recognised as duplicates; a lifetime counter
// sent again credits nothing.
//
// Pitfalls: evcc repeats what it reads from the devices; mapping evcc and
// reading the device itself counts its energy twice. Map a topic that
// another adapter also subscribes to only once: the node routes each
// message to one adapter.

func init() { Register("generic", newGeneric) }

const (
	// maxGenericMappings bounds the configuration.
	maxGenericMappings = 256
	// maxGenericSerial bounds a serial (DeviceID ≤ 256 bytes in all).
	maxGenericSerial = 128
	// maxGenericPathSteps bounds a json_path.
	maxGenericPathSteps = 32
)

type genericField int

const (
	genericPower genericField = iota
	genericEnergy
	genericEnergyReverse
	genericSoC
	genericOnline
)

var genericFields = map[string]genericField{
	"power": genericPower, "energy": genericEnergy, "energy_reverse": genericEnergyReverse, "soc": genericSoC, "online": genericOnline,
}

// genericUnits are the units each field takes, in the order of the
// error message.
var genericUnits = map[genericField][]string{
	genericPower:         {"W", "kW"},
	genericEnergy:        {"mWh", "Wh", "kWh"},
	genericEnergyReverse: {"mWh", "Wh", "kWh"},
	genericSoC:           {"%"},
}

var genericEnergyUnits = map[string]gridmint.EnergyUnit{"mWh": gridmint.UnitMWh, "Wh": gridmint.UnitWh, "kWh": gridmint.UnitKWh}

// genericMapping is a validated Mapping.
type genericMapping struct {
	Mapping
	field genericField
	path  []genericStep // nil: the payload is the plain value
	// factor converts a power or SoC value: scale × sign × (1000 for kW).
	factor float64
	// energyUnit, scale and scaleExp convert a counter; scaleExact says
	// scale is 10^scaleExp.
	energyUnit gridmint.EnergyUnit
	scale      float64
	scaleExp   int
	scaleExact bool
	counter    gridmint.CounterKind
}

type generic struct {
	maxDevices int // AdapterConfig.MaxDevices
	kind       gridmint.DeviceKind
	mappings   []genericMapping
	subs       []string
	reports    []gridmint.Capability
	// absurdPower and absurdCounter are the normaliser's default bounds: a
	// merged value beyond them would spoil every later reading.
	absurdPower   gridmint.W
	absurdCounter gridmint.MWh
	devices       map[string]*genericState
}

// genericState is one device's latest values.
type genericState struct {
	power            *gridmint.W
	forward, reverse *Counter
	soc              *float64
}

func newGeneric(cfg AdapterConfig) (Adapter, error) {
	if cfg.BaseTopic != "" {
		return nil, gridmint.Errorf(gridmint.EInvalid, "generic takes no base_topic: give each mapping its full topic")
	}
	if len(cfg.Inverters) > 0 {
		return nil, gridmint.Errorf(gridmint.EInvalid, "generic takes no inverters (they configure the ahoydtu dialect)")
	}
	switch n := len(cfg.Mappings); {
	case n == 0:
		return nil, gridmint.Errorf(gridmint.EInvalid, "mappings: none; the generic dialect reads only what its mappings name")
	case n > maxGenericMappings:
		return nil, gridmint.Errorf(gridmint.EInvalid, "mappings: %d, at most %d", n, maxGenericMappings)
	}
	lim := DefaultLimits()
	g := &generic{kind: cfg.Kind, absurdPower: lim.AbsurdPower, absurdCounter: lim.AbsurdCounter, devices: map[string]*genericState{}, maxDevices: cfg.maxDevices(DefaultMaxDevices)}
	if g.kind == "" {
		g.kind = gridmint.KindMeter
	}
	seen := map[string]bool{}
	has := map[gridmint.Capability]bool{}
	for i, m := range cfg.Mappings {
		gm, err := validateGenericMapping(i, m)
		if err != nil {
			return nil, err
		}
		g.mappings = append(g.mappings, gm)
		if !seen[m.Topic] {
			seen[m.Topic] = true
			g.subs = append(g.subs, m.Topic)
		}
		if c := gm.capability(); !has[c] {
			has[c] = true
			g.reports = append(g.reports, c)
		}
	}
	if err := g.checkDevicesPerMessage(); err != nil {
		return nil, err
	}
	return g, nil
}

// validateGenericMapping checks mapping i and derives its conversions.
// Errors name the mapping and its field: mappings[2].unit: ...
func validateGenericMapping(i int, m Mapping) (genericMapping, error) {
	bad := func(key, format string, args ...any) (genericMapping, error) {
		return genericMapping{}, gridmint.Errorf(gridmint.EInvalid, "mappings[%d].%s: %s", i, key, fmt.Sprintf(format, args...))
	}
	gm := genericMapping{Mapping: m}
	if err := genericCheckFilter(m.Topic); err != "" {
		return bad("topic", "%s", err)
	}
	if m.FixedSerial != "" {
		if m.SerialLevel != 0 {
			return bad("serial", "set serial or serial_level, not both")
		}
		if err := checkGenericSerial(m.FixedSerial); err != "" {
			return bad("serial", "%q: %s", m.FixedSerial, err)
		}
	} else {
		levels := strings.Split(m.Topic, "/")
		if m.SerialLevel < 0 || m.SerialLevel >= len(levels) {
			return bad("serial_level", "%d is outside topic %q (levels 0..%d); or set serial", m.SerialLevel, m.Topic, len(levels)-1)
		}
		if levels[m.SerialLevel] == "#" {
			return bad("serial_level", "level %d of %q is '#', which spans several levels; use a + level", m.SerialLevel, m.Topic)
		}
	}
	var ok bool
	if gm.field, ok = genericFields[m.Field]; !ok {
		return bad("field", "%q, want power, energy, energy_reverse, soc or online", m.Field)
	}
	path, err := parseGenericPath(m.JSONPath)
	if err != "" {
		return bad("json_path", "%s", err)
	}
	gm.path = path

	if gm.field == genericOnline {
		switch {
		case m.OnlineValue == "":
			return bad("online_value", "missing: the value that means online (e.g. Online, true, 1)")
		case m.Unit != "":
			return bad("unit", "%q does not fit field online", m.Unit)
		case m.Scale != 0:
			return bad("scale", "%v does not fit field online", m.Scale)
		case m.Sign != 0:
			return bad("sign", "%d does not fit field online", m.Sign)
		case m.Counter != "":
			return bad("counter", "%q does not fit field online", m.Counter)
		}
		return gm, nil
	}
	if m.OnlineValue != "" {
		return bad("online_value", "does not fit field %s", m.Field)
	}

	units := genericUnits[gm.field]
	unit := m.Unit
	if unit == "" && gm.field == genericSoC {
		unit = "%"
	}
	switch {
	case unit == "":
		return bad("unit", "missing; field %s takes %s", m.Field, strings.Join(units, ", "))
	case !slices.Contains(units, unit):
		return bad("unit", "%q does not fit field %s (want %s)", m.Unit, m.Field, strings.Join(units, ", "))
	}

	gm.scale = m.Scale
	if gm.scale == 0 {
		gm.scale = 1
	}
	if math.IsNaN(gm.scale) || gm.scale < 1e-9 || gm.scale > 1e9 {
		return bad("scale", "%v, want a positive factor from 1e-9 to 1e9 (use sign to flip)", m.Scale)
	}
	if exp := math.Round(math.Log10(gm.scale)); math.Pow10(int(exp)) == gm.scale {
		gm.scaleExp, gm.scaleExact = int(exp), true
	}

	sign := 1.0
	switch m.Sign {
	case 0, 1:
	case -1:
		if gm.field != genericPower {
			return bad("sign", "-1 does not fit field %s: counters and states of charge are never negative (map an opposite counter to energy_reverse)", m.Field)
		}
		sign = -1
	default:
		return bad("sign", "%d, want 1 or -1", m.Sign)
	}

	switch gm.field {
	case genericEnergy, genericEnergyReverse:
		gm.energyUnit = genericEnergyUnits[unit]
		switch m.Counter {
		case "", "lifetime":
			gm.counter = gridmint.CounterLifetime
		case "daily":
			gm.counter = gridmint.CounterDaily
		case "session":
			gm.counter = gridmint.CounterSession
		default:
			return bad("counter", "%q, want lifetime, daily or session", m.Counter)
		}
	default:
		if m.Counter != "" {
			return bad("counter", "%q does not fit field %s", m.Counter, m.Field)
		}
		gm.factor = gm.scale * sign
		if unit == "kW" {
			gm.factor *= 1000
		}
	}
	return gm, nil
}

func (m *genericMapping) capability() gridmint.Capability {
	switch m.field {
	case genericPower:
		return gridmint.CapPower
	case genericEnergy, genericEnergyReverse:
		return gridmint.CapEnergy
	case genericSoC:
		return gridmint.CapSoC
	}
	return gridmint.CapAvailability
}

// genericCheckFilter checks an MQTT topic filter: '+' and '#' only as whole
// levels, '#' only last. It returns what is wrong, or "".
func genericCheckFilter(f string) string {
	switch {
	case f == "":
		return "missing"
	case len(f) > 512:
		return fmt.Sprintf("%d bytes, more than 512", len(f))
	case genericHasControl(f) || !utf8.ValidString(f):
		return fmt.Sprintf("%q holds control characters or invalid UTF-8", f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.ContainsAny(l, "+#") && l != "+" && l != "#" {
			return fmt.Sprintf("%q: a wildcard must be a whole level", f)
		}
		if l == "#" && i != len(levels)-1 {
			return fmt.Sprintf("%q: '#' must be the last level", f)
		}
	}
	return ""
}

// checkGenericSerial checks a serial from a topic level or the
// configuration. It returns what is wrong, or "".
func checkGenericSerial(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > maxGenericSerial:
		return fmt.Sprintf("%d bytes, more than %d", len(s), maxGenericSerial)
	case strings.ContainsAny(s, "/+#") || genericHasControl(s) || !utf8.ValidString(s):
		return "want one topic level without wildcards or control characters"
	}
	return ""
}

// checkDevicesPerMessage makes sure no message can name more devices than
// MaxMeasurementsPerMessage: the mappings that match one topic all
// overlap each other, so counting the serial sources (a fixed serial, or
// a topic level) among those overlapping each mapping bounds every topic.
func (g *generic) checkDevicesPerMessage() error {
	for i := range g.mappings {
		sources := map[string]bool{}
		for j := range g.mappings {
			if genericFiltersOverlap(g.mappings[i].Topic, g.mappings[j].Topic) {
				sources[g.mappings[j].serialSource()] = true
			}
		}
		if len(sources) > MaxMeasurementsPerMessage {
			return gridmint.Errorf(gridmint.EInvalid, "mappings[%d].topic: a message on %q can name %d devices through the mappings it overlaps, more than %d",
				i, g.mappings[i].Topic, len(sources), MaxMeasurementsPerMessage)
		}
	}
	return nil
}

func (m *genericMapping) serialSource() string {
	if m.FixedSerial != "" {
		return "serial " + m.FixedSerial
	}
	return "level " + strconv.Itoa(m.SerialLevel)
}

// genericFiltersOverlap reports whether some topic matches both filters.
func genericFiltersOverlap(a, b string) bool {
	for {
		al, arest, amore := strings.Cut(a, "/")
		bl, brest, bmore := strings.Cut(b, "/")
		if al == "#" || bl == "#" {
			return true
		}
		if al != bl && al != "+" && bl != "+" {
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !amore:
			return brest == "#" // "x" and "x/#"
		case !bmore:
			return arest == "#"
		}
		a, b = arest, brest
	}
}

func (g *generic) Dialect() string                  { return "generic" }
func (g *generic) DefaultKind() gridmint.DeviceKind { return g.kind }
func (g *generic) Reports() []gridmint.Capability   { return g.reports }
func (g *generic) Subscriptions() []string          { return g.subs }

// CheckSerial implements SerialChecker: a serial is one topic level or a
// configured fixed serial.
func (g *generic) CheckSerial(serial string) error {
	if err := checkGenericSerial(serial); err != "" {
		return gridmint.Errorf(gridmint.EInvalid, "generic serial %q: %s", serial, err)
	}
	return nil
}

// genericChange is what one message says about one device.
type genericChange struct {
	serial           string
	power            *gridmint.W
	forward, reverse *Counter
	soc              *float64
	availability     Availability
}

func (c *genericChange) hasValue() bool {
	return c.power != nil || c.forward != nil || c.reverse != nil || c.soc != nil
}

func (g *generic) Decode(topic string, payload []byte) ([]Update, error) {
	if len(payload) > MaxPayload {
		return nil, decodeErr(gridmint.ReasonMalformed, "", "payload of %d bytes exceeds %d", len(payload), MaxPayload)
	}
	// First every matching mapping's value, then the merge: a message with
	// one bad value changes nothing.
	var (
		changes []genericChange
		doc     json.RawMessage
		parsed  bool
		matched bool
	)
	plain := bytes.TrimSpace(payload)
	for i := range g.mappings {
		m := &g.mappings[i]
		if !mqtttopic.Match(m.Topic, topic) {
			continue
		}
		matched = true
		serial, derr := m.serialOf(topic)
		if derr != nil {
			return nil, derr
		}
		if len(plain) == 0 {
			continue // a zero-byte retained message deletes the topic
		}
		value := plain
		if m.path != nil {
			if !parsed {
				if err := decodeJSON(payload, &doc); err != nil {
					if de, ok := err.(*DecodeError); ok {
						de.Serial = serial
					}
					return nil, err
				}
				parsed = true
			}
			v, found, werr := genericWalk(doc, m.path)
			if werr != nil {
				return nil, decodeErr(werr.Reason, serial, "json_path %s: %s", m.JSONPath, werr.Detail)
			}
			if !found {
				continue
			}
			value = v
		}
		c := genericChangeFor(&changes, serial)
		if derr := g.apply(m, c, value); derr != nil {
			where := "payload"
			if m.path != nil {
				where = m.JSONPath
			}
			return nil, decodeErr(derr.Reason, serial, "%s (%s): %s", where, m.Field, derr.Detail)
		}
	}
	if !matched {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "no mapping matches topic %q", truncate([]byte(topic)))
	}
	var newDevices []string
	for i := range changes {
		if _, ok := g.devices[changes[i].serial]; !ok && changes[i].hasValue() {
			newDevices = append(newDevices, changes[i].serial)
		}
	}
	if len(newDevices) > 0 && len(g.devices)+len(newDevices) > g.maxDevices {
		return nil, capErr(newDevices[0], g.maxDevices, "more than %d devices on the generic adapter (max_devices)", g.maxDevices)
	}
	var ups []Update
	for i := range changes {
		c := &changes[i]
		u := Update{Serial: c.serial, Availability: c.availability}
		if c.hasValue() {
			u.Measurement = g.merge(c)
		}
		if u.Measurement == nil && u.Availability == AvailabilityUnknown {
			continue // a SoC alone, until a power or a counter comes
		}
		ups = append(ups, u)
	}
	return ups, nil
}

func genericChangeFor(changes *[]genericChange, serial string) *genericChange {
	for i := range *changes {
		if (*changes)[i].serial == serial {
			return &(*changes)[i]
		}
	}
	*changes = append(*changes, genericChange{serial: serial})
	return &(*changes)[len(*changes)-1]
}

// serialOf returns the device a message on topic belongs to.
func (m *genericMapping) serialOf(topic string) (string, *DecodeError) {
	if m.FixedSerial != "" {
		return m.FixedSerial, nil
	}
	rest := topic
	for range m.SerialLevel {
		var more bool
		if _, rest, more = strings.Cut(rest, "/"); !more {
			return "", decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q has no level %d for the serial", truncate([]byte(topic)), m.SerialLevel)
		}
	}
	serial, _, _ := strings.Cut(rest, "/")
	if err := checkGenericSerial(serial); err != "" {
		return "", decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: level %d %q is no serial: %s", truncate([]byte(topic)), m.SerialLevel, truncate([]byte(serial)), err)
	}
	return serial, nil
}

// apply converts value (the plain payload or the JSON value at m's path)
// and records it in c.
func (g *generic) apply(m *genericMapping, c *genericChange, value []byte) *DecodeError {
	if m.field == genericOnline {
		s, derr := genericOnlineText(value, m.path != nil)
		if derr != nil {
			return derr
		}
		c.availability = AvailabilityOffline
		if strings.EqualFold(s, m.OnlineValue) {
			c.availability = AvailabilityOnline
		}
		return nil
	}
	lit, derr := genericNumberLiteral(value, m.path != nil)
	if derr != nil {
		return derr
	}
	switch m.field {
	case genericPower:
		f, derr := parseDecimal(lit)
		if derr != nil {
			return derr
		}
		p := gridmint.W(f * m.factor)
		if math.IsInf(float64(p), 0) || math.Abs(float64(p)) > float64(g.absurdPower) {
			return &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("power %s × %v beyond %.0f W", truncate(value), m.factor, g.absurdPower)}
		}
		c.power = &p
	case genericSoC:
		f, derr := parseDecimal(lit)
		if derr != nil {
			return derr
		}
		soc := f * m.factor
		if !(soc >= 0 && soc <= 100) {
			return &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("state of charge %v%% outside 0..100", soc)}
		}
		c.soc = &soc
	case genericEnergy, genericEnergyReverse:
		e, derr := m.counterValue(lit)
		switch {
		case derr != nil:
			return derr
		case e < 0:
			return &DecodeError{Reason: gridmint.ReasonNegative, Detail: fmt.Sprintf("counter %s", truncate(value))}
		case e > g.absurdCounter:
			return &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("counter %v beyond %v", e, g.absurdCounter)}
		}
		counter := &Counter{Value: e, Kind: m.counter}
		if m.field == genericEnergy {
			c.forward = counter
		} else {
			c.reverse = counter
		}
	}
	return nil
}

// counterValue converts a counter literal to mWh, exactly unless the
// scale is not a power of ten.
func (m *genericMapping) counterValue(lit string) (gridmint.MWh, *DecodeError) {
	if m.scale == 1 {
		return parseCounter(lit, m.energyUnit)
	}
	if m.scaleExact {
		if shifted, ok := genericShiftDecimal(lit, m.scaleExp); ok {
			return parseCounter(shifted, m.energyUnit)
		}
	}
	f, derr := parseDecimal(strings.TrimSpace(lit))
	if derr != nil {
		return 0, derr
	}
	e, err := gridmint.EnergyFromFloat(f*m.scale, m.energyUnit)
	if err != nil {
		return 0, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: err.Error()}
	}
	return e, nil
}

// genericShiftDecimal multiplies a plain decimal literal
// (-?digits[.digits]) by 10^k by moving its decimal point. ok is false
// for any other form (exponents), which then takes the float path.
func genericShiftDecimal(lit string, k int) (string, bool) {
	neg := strings.HasPrefix(lit, "-")
	s := strings.TrimPrefix(lit, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || !genericDigits(intPart) || !genericDigits(frac) {
		return "", false
	}
	digits := intPart + frac
	point := len(intPart) + k
	if point < 0 {
		digits = strings.Repeat("0", -point) + digits
		point = 0
	}
	if point > len(digits) {
		digits += strings.Repeat("0", point-len(digits))
	}
	out := "0" + digits[:point] + "." + digits[point:]
	if neg {
		out = "-" + out
	}
	return out, true
}

func genericDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// genericNumberLiteral returns the decimal literal of a value: a JSON
// number's, or a JSON string's that holds a decimal number ("1234.5", as
// go-e's API v1 sends every number), so that counters stay exact. A plain
// payload (isJSON false) is its own literal unless it is such a string.
func genericNumberLiteral(v []byte, isJSON bool) (string, *DecodeError) {
	switch {
	case len(v) > 0 && v[0] == '"':
		return genericNumericString(v)
	case !isJSON:
		return string(v), nil
	case len(v) == 0:
		return "", &DecodeError{Reason: gridmint.ReasonWrongType, Detail: "no value"}
	case string(v) == "null":
		return "", &DecodeError{Reason: gridmint.ReasonNotFinite, Detail: "null (NaN in the firmware)"}
	case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
		return string(v), nil
	}
	return "", &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is not a number", truncate(v))}
}

// genericNumericString returns the content of the JSON string v when it is
// a decimal number as parseDecimal reads it; "nan" and "inf" are
// not_finite, anything else wrong_type.
func genericNumericString(v []byte) (string, *DecodeError) {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", &DecodeError{Reason: gridmint.ReasonMalformed, Detail: fmt.Sprintf("string %s: %v", truncate(v), err)}
	}
	if _, derr := parseDecimal(s); derr != nil {
		if derr.Reason == gridmint.ReasonMalformed {
			return "", &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("string %s is not a decimal number", truncate(v))}
		}
		return "", derr
	}
	return s, nil
}

// genericOnlineText returns the text an online value is compared with: the
// plain payload, or a JSON string's content, a boolean's or number's
// literal; null is "" (offline).
func genericOnlineText(v []byte, isJSON bool) (string, *DecodeError) {
	if !isJSON {
		return string(v), nil
	}
	switch {
	case len(v) == 0:
		return "", &DecodeError{Reason: gridmint.ReasonWrongType, Detail: "no value"}
	case v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", &DecodeError{Reason: gridmint.ReasonMalformed, Detail: err.Error()}
		}
		return s, nil
	case v[0] == '{' || v[0] == '[':
		return "", &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is not a scalar", truncate(v))}
	case string(v) == "null":
		return "", nil
	}
	return string(v), nil
}

// merge applies c to its device's state and returns the whole state as a
// Measurement, or nil while the device has neither power nor a counter.
func (g *generic) merge(c *genericChange) *Measurement {
	st, ok := g.devices[c.serial]
	if !ok {
		st = &genericState{}
		g.devices[c.serial] = st
	}
	if c.power != nil {
		st.power = c.power
	}
	if c.forward != nil {
		st.forward = c.forward
	}
	if c.reverse != nil {
		st.reverse = c.reverse
	}
	if c.soc != nil {
		st.soc = c.soc
	}
	if st.power == nil && st.forward == nil && st.reverse == nil {
		return nil
	}
	// Copies: the emitted measurement must not change with later merges.
	m := &Measurement{}
	if st.power != nil {
		m.Power = ptr(*st.power)
	}
	if st.forward != nil {
		m.Forward = ptr(*st.forward)
	}
	if st.reverse != nil {
		m.Reverse = ptr(*st.reverse)
	}
	if st.soc != nil {
		m.SoC = ptr(*st.soc)
	}
	return m
}

// genericStep is one step of a json_path: an object key, or an array index
// when index ≥ 0.
type genericStep struct {
	key   string
	index int
}

// parseGenericPath parses a json_path: dot-separated keys, each optionally
// followed by [n] indices ("ENERGY.Total", "nrg[11]",
// "em:0.total_act_power", "[0].power"). It returns what is wrong, or "".
func parseGenericPath(p string) ([]genericStep, string) {
	if p == "" {
		return nil, ""
	}
	if len(p) > 256 || genericHasControl(p) {
		return nil, "longer than 256 bytes or holds control characters"
	}
	var steps []genericStep
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return nil, fmt.Sprintf("%q has an empty step", p)
		}
		key, idx := seg, ""
		if i := strings.IndexByte(seg, '['); i >= 0 {
			key, idx = seg[:i], seg[i:]
		}
		if strings.ContainsRune(key, ']') {
			return nil, fmt.Sprintf("%q: ']' without '['", p)
		}
		if key != "" {
			steps = append(steps, genericStep{key: key, index: -1})
		}
		for idx != "" {
			end := strings.IndexByte(idx, ']')
			if idx[0] != '[' || end < 0 {
				return nil, fmt.Sprintf("%q: want [n] after a key", p)
			}
			num := idx[1:end]
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n > 1<<20 || strconv.Itoa(n) != num {
				return nil, fmt.Sprintf("%q: index %q, want a number from 0", p, num)
			}
			steps = append(steps, genericStep{index: n})
			idx = idx[end+1:]
		}
	}
	if len(steps) > maxGenericPathSteps {
		return nil, fmt.Sprintf("%q has %d steps, more than %d", p, len(steps), maxGenericPathSteps)
	}
	return steps, ""
}

// genericWalk follows steps through doc, which must be valid JSON
// (decodeJSON checked it). It returns the value's bytes, or found=false
// when a key or an index is absent; a step into the wrong kind of value
// is an error. It scans the bytes without decoding what it passes over.
func genericWalk(doc []byte, steps []genericStep) (v []byte, found bool, err *DecodeError) {
	v = bytes.TrimSpace(doc)
	for _, st := range steps {
		if st.index < 0 {
			if len(v) == 0 || v[0] != '{' {
				return nil, false, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("key %q of %s, not an object", st.key, truncate(v))}
			}
			v, found = genericMember(v, st.key)
		} else {
			if len(v) == 0 || v[0] != '[' {
				return nil, false, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("index %d of %s, not an array", st.index, truncate(v))}
			}
			v, found = genericElement(v, st.index)
		}
		if !found {
			return nil, false, nil
		}
	}
	return v, true, nil
}

// genericMember returns the value of key in the object obj (starting with
// '{'): the last one, like encoding/json, if the key repeats.
func genericMember(obj []byte, key string) ([]byte, bool) {
	var val []byte
	found := false
	i := genericSkipSpace(obj, 1)
	for i < len(obj) && obj[i] == '"' {
		kEnd := genericSkipString(obj, i)
		k := obj[i:kEnd]
		i = genericSkipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			break
		}
		start := genericSkipSpace(obj, i+1)
		end := genericSkipValue(obj, start)
		if genericKeyEquals(k, key) {
			val, found = obj[start:end], true
		}
		i = genericSkipSpace(obj, end)
		if i < len(obj) && obj[i] == ',' {
			i = genericSkipSpace(obj, i+1)
		}
	}
	return val, found
}

// genericElement returns element n of the array arr (starting with '[').
func genericElement(arr []byte, n int) ([]byte, bool) {
	i := genericSkipSpace(arr, 1)
	for k := 0; i < len(arr) && arr[i] != ']'; k++ {
		end := genericSkipValue(arr, i)
		if end == i {
			break // not a value: invalid input
		}
		if k == n {
			return arr[i:end], true
		}
		i = genericSkipSpace(arr, end)
		if i < len(arr) && arr[i] == ',' {
			i = genericSkipSpace(arr, i+1)
		}
	}
	return nil, false
}

// genericKeyEquals compares a raw JSON string (with its quotes) with key.
// Keys with escapes or invalid UTF-8 are decoded as encoding/json does.
func genericKeyEquals(raw []byte, key string) bool {
	if len(raw) < 2 {
		return false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner) == key
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == key
}

func genericSkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// genericSkipString returns the index after the JSON string starting at
// b[i].
func genericSkipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// genericSkipValue returns the index after the JSON value starting at b[i].
func genericSkipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return genericSkipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = genericSkipString(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for ; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return j
		}
	}
	return j
}

func genericHasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
