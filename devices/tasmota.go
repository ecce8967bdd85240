package devices

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Tasmota energy-monitoring plugs and meters.
//
// Telemetry: tele/<topic>/SENSOR every TelePeriod, JSON with an ENERGY
// object; Total is the lifetime counter in kWh, Power in W. Devices with
// several channels (Sonoff Dual R3, Shelly 2.5, multi-phase meters) send
// Power as an array, one element per channel. By default (SetOption129
// off) Total stays one scalar for the whole device: it becomes one device
// whose power is the sum of the channels. With SetOption129 on, Total is
// an array too and each channel becomes its own device "<topic>:<n>" (n
// from 1). Time is the device's local time, without an offset unless
// SetOption52 adds one; a Time that does not parse is ignored, not the
// energy. Availability: tele/<topic>/LWT, "Online" / "Offline".
// Control: cmnd/<topic>/POWER[<n>] ON|OFF.
//
// Export: meters that measure both directions add ExportActive, the
// exported energy in kWh, read as the Reverse counter (arendst/Tasmota
// tasmota_xdrv_driver/xdrv_03_energy.ino and xdrv_03_esp32_energy.ino,
// EnergyShow). It is per phase whatever SetOption129 says: a scalar for
// one phase, an array otherwise, except that the ESP32 driver prints
// phase 1's alone when phases 2 and 3 are not both known. So with one
// Total the phases' exports are summed, exactly, into the device's
// Reverse; with one Total per channel each channel gets its own, and a
// lone scalar is channel 1's. TodaySumImport, TodaySumExport and the
// tariff arrays (TotalTariff, ExportTariff) are known and not used.
//
// Pitfall: the drivers that integrate power themselves on chips that see
// both directions (ADE7953 in the Shelly EM and 2.5, ADE7880 in the
// Shelly 3EM and Pro 3EM) add exported energy negatively to Total, so
// their Total is import minus export and falls while exporting
// (EnergyUpdateToday; arendst/Tasmota#17178); meters read over Modbus
// (SDM630, SDM72, ...) report import there. The payload does not say
// which, so Total is taken as it comes: the normaliser holds its falls
// as resets and credits only its growth, which on those chips is import
// net of the export at the same time.
//
// SML and other script meters (a smart meter's optical port read by
// Tasmota's scripter: {"SML":{"Total_in":..,"Total_out":..,
// "Power_curr":..}}, names from the user's script) have no ENERGY object:
// this adapter ignores them, the generic dialect reads them with one
// mapping per value (README, Devices and dialects).
//
// The topic layout follows the device's FullTopic, "%prefix%/%topic%/" by
// default; users reorder it, so it is configurable (BaseTopic).

func init() { Register("tasmota", newTasmota) }

const tasmotaDefaultFullTopic = "%prefix%/%topic%/"

type tasmota struct {
	// maxTopics bounds the channel-count memory (AdapterConfig.MaxDevices):
	// a stream of invented topics must not grow it without end. A topic
	// beyond it loses nothing: its LWT reaches its devices as a group.
	maxTopics int
	kind      gridmint.DeviceKind
	// fullTopic split into levels, without the trailing empty level.
	levels []string
	// channels remembers how many channels each topic reported, so an LWT
	// can mark every channel device.
	channels map[string]int
}

func newTasmota(cfg AdapterConfig) (Adapter, error) {
	ft := cfg.BaseTopic
	if ft == "" {
		ft = tasmotaDefaultFullTopic
	}
	levels := strings.Split(strings.TrimSuffix(ft, "/"), "/")
	var hasPrefix, hasTopic int
	for _, l := range levels {
		switch {
		case l == "%prefix%":
			hasPrefix++
		case l == "%topic%":
			hasTopic++
		case l == "" || strings.ContainsAny(l, "+#%"):
			return nil, gridmint.Errorf(gridmint.EInvalid, "base_topic %q (the Tasmota FullTopic): bad level %q", ft, l)
		}
	}
	if hasPrefix != 1 || hasTopic != 1 {
		return nil, gridmint.Errorf(gridmint.EInvalid, "base_topic %q (the Tasmota FullTopic): want %%prefix%% and %%topic%% exactly once each", ft)
	}
	kind := cfg.Kind
	if kind == "" {
		kind = gridmint.KindPlug
	}
	return &tasmota{kind: kind, levels: levels, channels: map[string]int{}, maxTopics: cfg.maxDevices(DefaultMaxDevices)}, nil
}

func (t *tasmota) Dialect() string                  { return "tasmota" }
func (t *tasmota) DefaultKind() gridmint.DeviceKind { return t.kind }
func (t *tasmota) Reports() []gridmint.Capability {
	return []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
}

// topicFor builds a full topic for prefix and device topic, then appends
// the command or telemetry name.
func (t *tasmota) topicFor(prefix, device, name string) string {
	out := make([]string, 0, len(t.levels)+1)
	for _, l := range t.levels {
		switch l {
		case "%prefix%":
			out = append(out, prefix)
		case "%topic%":
			out = append(out, device)
		default:
			out = append(out, l)
		}
	}
	return strings.Join(append(out, name), "/")
}

func (t *tasmota) Subscriptions() []string {
	return []string{t.topicFor("tele", "+", "SENSOR"), t.topicFor("tele", "+", "LWT")}
}

// parse splits a received topic into the Tasmota prefix, device topic and
// the last level (SENSOR, LWT, ...).
func (t *tasmota) parse(topic string) (prefix, device, name string, ok bool) {
	parts := strings.Split(topic, "/")
	if len(parts) != len(t.levels)+1 {
		return "", "", "", false
	}
	for i, l := range t.levels {
		switch l {
		case "%prefix%":
			prefix = parts[i]
		case "%topic%":
			device = parts[i]
		default:
			if parts[i] != l {
				return "", "", "", false
			}
		}
	}
	name = parts[len(parts)-1]
	return prefix, device, name, device != "" && prefix != ""
}

func (t *tasmota) Decode(topic string, payload []byte) ([]Update, error) {
	prefix, device, name, ok := t.parse(topic)
	if !ok || prefix != "tele" {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q is not tele/<topic>/<name> for full topic %q", topic, strings.Join(t.levels, "/"))
	}
	switch name {
	case "LWT":
		return t.decodeLWT(device, payload)
	case "SENSOR":
		return t.decodeSensor(device, payload)
	case "STATE", "INFO1", "INFO2", "INFO3", "RESULT":
		return nil, nil
	}
	return nil, decodeErr(gridmint.ReasonUnknownTopic, device, "tasmota telemetry %q", name)
}

func (t *tasmota) decodeLWT(device string, payload []byte) ([]Update, error) {
	var a Availability
	switch strings.ToLower(strings.TrimSpace(string(payload))) {
	case "online":
		a = AvailabilityOnline
	case "offline":
		a = AvailabilityOffline
	default:
		return nil, decodeErr(gridmint.ReasonMalformed, device, "LWT payload %q, want Online or Offline", truncate(payload))
	}
	n := t.channels[device]
	switch n {
	case 0:
		// No SENSOR since start (a retained LWT comes first): every known
		// device of the topic, its channels included (see Groups).
		return []Update{{Group: device, Availability: a}}, nil
	case 1:
		return []Update{{Serial: device, Availability: a}}, nil
	}
	ups := make([]Update, n)
	for i := range ups {
		ups[i] = Update{Serial: channelSerial(device, i+1), Availability: a}
	}
	return ups, nil
}

func channelSerial(device string, ch int) string { return device + ":" + strconv.Itoa(ch) }

// Groups implements Grouper: a topic's LWT speaks for the device of that
// topic and for each of its channels.
func (t *tasmota) Groups(serial string) []string {
	if i := strings.LastIndexByte(serial, ':'); i > 0 {
		if n, err := strconv.Atoi(serial[i+1:]); err == nil && n >= 1 && channelSerial(serial[:i], n) == serial {
			return []string{serial, serial[:i]}
		}
	}
	return []string{serial}
}

// tasmotaTimeLayout is Tasmota's Time: local time without a UTC offset.
const tasmotaTimeLayout = "2006-01-02T15:04:05"

func (t *tasmota) decodeSensor(device string, payload []byte) ([]Update, error) {
	var msg struct {
		Time   *string
		ENERGY map[string]json.RawMessage
	}
	if err := decodeJSON(payload, &msg); err != nil {
		if r, ok := err.(*DecodeError); ok {
			r.Serial = device
			return nil, r
		}
		return nil, decodeErr(gridmint.ReasonWrongType, device, "%v", err)
	}
	if msg.ENERGY == nil {
		// A SENSOR message from a sensor without energy metering
		// (temperature, humidity): known, not ours.
		return nil, nil
	}
	var src time.Time
	if msg.Time != nil {
		src = parseTasmotaTime(*msg.Time)
	}
	totals, err := numbersField(msg.ENERGY, "Total", true)
	if err != nil {
		return nil, decodeErr(err.Reason, device, "ENERGY.%s", err.Detail)
	}
	powers, err := numbersField(msg.ENERGY, "Power", false)
	if err != nil {
		return nil, decodeErr(err.Reason, device, "ENERGY.%s", err.Detail)
	}
	if powers == nil {
		powers = make([]json.Number, len(totals))
		for i := range powers {
			powers[i] = "0"
		}
	}
	if len(totals) == 1 && len(powers) > 1 {
		exports, xerr := tasmotaExports(msg.ENERGY, 1)
		if xerr != nil {
			return nil, decodeErr(xerr.Reason, device, "ENERGY.%s", xerr.Detail)
		}
		return t.summedChannels(device, src, totals[0], powers, exports)
	}
	if len(powers) != len(totals) {
		return nil, decodeErr(gridmint.ReasonWrongType, device, "ENERGY has %d Total channels but %d Power channels", len(totals), len(powers))
	}
	exports, xerr := tasmotaExports(msg.ENERGY, len(totals))
	if xerr != nil {
		return nil, decodeErr(xerr.Reason, device, "ENERGY.%s", xerr.Detail)
	}
	ups := make([]Update, len(totals))
	for i := range totals {
		counter, derr := parseCounter(string(totals[i]), gridmint.UnitKWh)
		if derr != nil {
			return nil, decodeErr(derr.Reason, device, "ENERGY.Total: %s", derr.Detail)
		}
		p, perr := parsePower(string(powers[i]))
		if perr != nil {
			return nil, decodeErr(perr.Reason, device, "ENERGY.Power: %s", perr.Detail)
		}
		serial := device
		if len(totals) > 1 {
			serial = channelSerial(device, i+1)
		}
		ups[i] = Update{Serial: serial, Measurement: &Measurement{
			SourceTime: src,
			Power:      &p,
			Forward:    &Counter{Value: counter, Kind: gridmint.CounterLifetime},
			Reverse:    exports[i],
		}}
	}
	t.rememberChannels(device, len(totals))
	return ups, nil
}

// tasmotaExports reads ExportActive (kWh, per phase) for a device whose
// Total has channels entries: one lifetime counter per channel, nil where
// there is none. With one Total the phases are summed; with one Total per
// channel a scalar is channel 1's (the ESP32 driver prints phase 1 alone
// when phases 2 and 3 are not both known).
func tasmotaExports(energy map[string]json.RawMessage, channels int) ([]*Counter, *DecodeError) {
	out := make([]*Counter, channels)
	lits, derr := numbersField(energy, "ExportActive", false)
	if derr != nil || lits == nil {
		return out, derr
	}
	vals := make([]gridmint.MWh, len(lits))
	for i, lit := range lits {
		e, cerr := parseCounter(string(lit), gridmint.UnitKWh)
		if cerr == nil && e < 0 {
			cerr = &DecodeError{Reason: gridmint.ReasonNegative, Detail: "counter " + string(lit)}
		}
		if cerr != nil {
			return nil, &DecodeError{Reason: cerr.Reason, Detail: fmt.Sprintf("ExportActive[%d]: %s", i, cerr.Detail)}
		}
		vals[i] = e
	}
	switch {
	case channels == 1:
		var sum gridmint.MWh
		for _, v := range vals {
			if sum > math.MaxInt64-v {
				return nil, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: "ExportActive: the phases' sum overflows"}
			}
			sum += v
		}
		out[0] = &Counter{Value: sum, Kind: gridmint.CounterLifetime}
	case len(vals) == channels || len(vals) == 1:
		for i, v := range vals {
			out[i] = &Counter{Value: v, Kind: gridmint.CounterLifetime}
		}
	default:
		return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("ExportActive has %d phases but Total %d channels", len(vals), channels)}
	}
	return out, nil
}

// summedChannels is a multi-channel device reporting one Total: one
// device, power summed over the channels.
func (t *tasmota) summedChannels(device string, src time.Time, total json.Number, powers []json.Number, exports []*Counter) ([]Update, error) {
	counter, derr := parseCounter(string(total), gridmint.UnitKWh)
	if derr != nil {
		return nil, decodeErr(derr.Reason, device, "ENERGY.Total: %s", derr.Detail)
	}
	var sum gridmint.W
	for i, lit := range powers {
		p, perr := parsePower(string(lit))
		if perr != nil {
			return nil, decodeErr(perr.Reason, device, "ENERGY.Power[%d]: %s", i, perr.Detail)
		}
		sum += p
	}
	t.rememberChannels(device, 1)
	return []Update{{Serial: device, Measurement: &Measurement{
		SourceTime: src, Power: &sum, Forward: &Counter{Value: counter, Kind: gridmint.CounterLifetime}, Reverse: exports[0],
	}}}, nil
}

func (t *tasmota) rememberChannels(device string, n int) {
	if _, ok := t.channels[device]; !ok && len(t.channels) >= t.maxTopics {
		return
	}
	t.channels[device] = n
}

// parseTasmotaTime reads Time: local time without an offset (the
// default) or with one (SetOption52). It returns zero when Time does not
// parse: device time is only for ordering, the energy is kept.
func parseTasmotaTime(s string) time.Time {
	if ts, err := time.Parse(tasmotaTimeLayout, s); err == nil {
		return ts
	}
	if ts, err := time.Parse(time.RFC3339, s); err == nil {
		return ts.UTC()
	}
	return time.Time{}
}

// numbersField reads a JSON number or array of numbers from obj[key].
// required says whether a missing key is an error.
func numbersField(obj map[string]json.RawMessage, key string, required bool) ([]json.Number, *DecodeError) {
	raw, ok := obj[key]
	if !ok {
		if required {
			return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: key + " missing"}
		}
		return nil, nil
	}
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, &DecodeError{Reason: gridmint.ReasonNotFinite, Detail: key + " is null (NaN in the firmware)"}
	}
	if len(raw) > 0 && raw[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(raw, &arr); err != nil {
			return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s: %v", key, err)}
		}
		if len(arr) == 0 || len(arr) > maxChannels {
			return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s has %d channels, want 1..%d", key, len(arr), maxChannels)}
		}
		out := make([]json.Number, len(arr))
		for i, el := range arr {
			n, err := oneNumber(el)
			if err != nil {
				return nil, &DecodeError{Reason: err.Reason, Detail: fmt.Sprintf("%s[%d]: %s", key, i, err.Detail)}
			}
			out[i] = n
		}
		return out, nil
	}
	n, err := oneNumber(raw)
	if err != nil {
		return nil, &DecodeError{Reason: err.Reason, Detail: key + ": " + err.Detail}
	}
	return []json.Number{n}, nil
}

// maxChannels bounds per-channel arrays (the largest Tasmota energy
// drivers have 8 channels); it keeps a hostile payload from creating
// thousands of devices.
const maxChannels = MaxMeasurementsPerMessage

func oneNumber(raw json.RawMessage) (json.Number, *DecodeError) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return "", &DecodeError{Reason: gridmint.ReasonNotFinite, Detail: "null (NaN in the firmware)"}
	}
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return "", &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%s is not a number", truncate(raw))}
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", &DecodeError{Reason: gridmint.ReasonWrongType, Detail: err.Error()}
	}
	return n, nil
}

// CheckSerial implements SerialChecker: a Tasmota %topic%, with
// ":<channel>" for one channel of a multi-channel device.
func (t *tasmota) CheckSerial(serial string) error {
	device, ch, hasCh := strings.Cut(serial, ":")
	if device == "" || strings.ContainsAny(device, "/+#") {
		return gridmint.Errorf(gridmint.EInvalid, "tasmota serial %q: want the device's topic", serial)
	}
	if n, err := strconv.Atoi(ch); hasCh && (err != nil || n < 1 || n > maxChannels) {
		return gridmint.Errorf(gridmint.EInvalid, "tasmota serial %q: channel must be 1..%d", serial, maxChannels)
	}
	return nil
}

// SwitchCommand implements Switcher: cmnd/<topic>/POWER[<n>] ON|OFF.
func (t *tasmota) SwitchCommand(serial string, on bool) (Command, error) {
	if err := t.CheckSerial(serial); err != nil {
		return Command{}, err
	}
	device, ch, _ := strings.Cut(serial, ":")
	name := "POWER" + ch
	payload := "OFF"
	if on {
		payload = "ON"
	}
	return Command{
		Topic: t.topicFor("cmnd", device, name), Payload: []byte(payload), QoS: 1,
		// The device answers on stat/<topic>/RESULT with {"POWER<n>":"ON"}.
		Confirm: &Confirmation{
			Filter: t.topicFor("stat", device, "RESULT"),
			Match: func(_ string, reply []byte) (bool, error) {
				var m map[string]json.RawMessage
				if json.Unmarshal(reply, &m) != nil {
					return false, nil
				}
				got, ok := m[name]
				if !ok && ch == "" {
					got, ok = m["POWER1"] // a one-relay device may answer as POWER1
				}
				if !ok {
					return false, nil
				}
				if string(bytes.Trim(got, `"`)) != payload {
					return true, fmt.Errorf("relay reports %s, not %s", bytes.Trim(got, `"`), payload)
				}
				return true, nil
			},
		},
	}, nil
}

// ReplySubscriptions implements Replier: command results.
func (t *tasmota) ReplySubscriptions() []string {
	return []string{t.topicFor("stat", "+", "RESULT")}
}
