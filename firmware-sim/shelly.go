package firmwaresim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Shelly Gen2+ as the firmware does it (shelly-api-docs.shelly.cloud/gen2:
// Mqtt, Switch, EM, EMData, Notifications, RPCProtocol; captures in
// shared/payloads/shelly.md):
//
//   - The topic prefix is the device ID by default: shellyplusplugs-<mac>
//     for a Plus Plug S, shellypro3em-<mac> for a Pro 3EM (lowercase hex).
//   - <prefix>/online "true" retained after connect, "false" retained as
//     the MQTT will.
//   - <prefix>/events/rpc: NotifyStatus, {"src":<device ID>,
//     "dst":"<prefix>/events","method":"NotifyStatus","params":{"ts":<unix
//     s, 2 decimals>,"<component>":{"id":0,<changed keys>}}}. The sim sends
//     one per cycle with the keys that changed (power, voltage, ...) and
//     the energy counters every cycle (aenergy; emdata:0 whole), and one at
//     once when an RPC switches the relay (output and source).
//   - <prefix>/status/<component>: the full component status every cycle,
//     as with status_ntf enabled (off by default on real devices).
//   - <prefix>/rpc: JSON-RPC requests {"id":..,"src":..,"method":..,
//     "params":{..}}; the reply goes to <src>/rpc, {"id":<id>,"src":<device
//     ID>,"dst":<src>,"result":{..}} or "error":{"code":..,"message":..}:
//     -103 for an invalid frame or argument, -105 for a component id that
//     does not exist, 404 for an unknown method. A frame whose id and src
//     cannot be read gets no reply (there is nowhere to send it).
//   - QoS 1; only online is retained.
//
// Units: apower W (1 decimal), voltage V (1), current A (3), temperature
// °C and °F (1); aenergy.total lifetime Wh (3 decimals, never ahead of the
// energy counted), aenergy.by_minute the last three complete minutes in
// mWh, newest first, minute_ts the unix start of the current minute. Pro
// 3EM: per-phase a_/b_/c_ current, voltage, act_power (W, signed, −
// export), aprt_power (VA), pf (signed like the power); totals;
// emdata:0 per-phase import (*_total_act_energy) and export
// (*_total_act_ret_energy) Wh, and total_act / total_act_ret, their sums
// (the Pro 3EM counts each phase on its own, it does not net them).
//
// Error messages are modelled on the firmware's; the notes quote none.

const shellyQoS = 1

// shellyPF is the power factor of the simulated loads.
const shellyPF = 0.95

// ShellyPlugConfig is one Shelly Plus Plug S consuming a household load.
type ShellyPlugConfig struct {
	// MAC is the plug's MAC address, 12 hex digits, e.g. "02a1b2000001";
	// the device ID is "shellyplusplugs-" + the MAC in lowercase. Required.
	MAC string
	// Prefix is the MQTT topic prefix; default the device ID.
	Prefix string
	// AnnualKWh is the load's consumption (kWh per year) to which the BDEW
	// H25 profile is scaled; default 1000.
	AnnualKWh float64
	// Voltage is the nominal mains voltage (V); default 230.
	Voltage float64
}

// ShellyMeterConfig is one Shelly Pro 3EM (triphase profile) measuring the
// house's grid connection (see Config.HouseAnnualKWh).
type ShellyMeterConfig struct {
	// MAC is the meter's MAC address, 12 hex digits; the device ID is
	// "shellypro3em-" + the MAC in lowercase. Required.
	MAC string
	// Prefix is the MQTT topic prefix; default the device ID.
	Prefix string
	// Voltage is the nominal phase voltage (V); default 230.
	Voltage float64
}

// shellyDev is what every simulated Shelly has: identity, MQTT addressing
// and the notification state.
type shellyDev struct {
	id       string // Shelly device ID
	prefix   string // MQTT topic prefix
	client   string // MQTT client ID
	mac      string // upper-case hex, as sys.mac shows it
	ip       string
	boot     time.Time
	loc      *time.Location
	skew     time.Duration // clock error of ts and sys time (fault injection)
	rng      *rand.Rand
	nominalV float64
	notified map[string]map[string]string // component → key → value last notified
}

func newShellyDev(model, mac, prefix string, v float64, field, clientPrefix string, seed uint64, now time.Time, loc *time.Location) (shellyDev, error) {
	if len(mac) != 12 || strings.Trim(strings.ToLower(mac), "0123456789abcdef") != "" {
		return shellyDev{}, invalid("%s.MAC %q: want 12 hex digits, e.g. 02a1b2000001", field, mac)
	}
	id := model + "-" + strings.ToLower(mac)
	if prefix == "" {
		prefix = id
	}
	if strings.ContainsAny(prefix, "+#\x00") || strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/") || strings.Contains(prefix, "//") {
		return shellyDev{}, invalid("%s.Prefix %q: want MQTT levels without wildcards or empty levels, e.g. %s", field, prefix, id)
	}
	if v == 0 {
		v = DefaultVoltage
	}
	if !(v >= 50 && v <= 480) {
		return shellyDev{}, invalid("%s.Voltage %v V: want 50..480", field, v)
	}
	return shellyDev{
		id: id, prefix: prefix, client: clientPrefix + id, mac: strings.ToUpper(mac),
		boot: now, loc: loc, rng: deviceRand(seed, "shelly/"+id), nominalV: v,
		notified: map[string]map[string]string{},
	}, nil
}

// kv is one key of a JSON object with its value already encoded.
type kv struct{ k, v string }

func objectJSON(kvs []kv) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(e.k))
		b.WriteByte(':')
		b.WriteString(e.v)
	}
	b.WriteByte('}')
	return b.String()
}

// shellyComponent is one component's full status, "id" first.
type shellyComponent struct {
	name   string
	kvs    []kv
	always func(key string) bool // keys sent in every cycle's NotifyStatus
}

func (d *shellyDev) msg(topic, payload string) Message {
	return Message{Device: d.client, Topic: topic, Payload: payload, QoS: shellyQoS}
}

// notifyStatus returns the NotifyStatus of the keys that changed since the
// last notification (and, withAlways, the counters), or false when there
// is nothing to notify.
func (d *shellyDev) notifyStatus(now time.Time, comps []shellyComponent, withAlways bool) (Message, bool) {
	params := []kv{{"ts", fixed(float64(now.Add(d.skew).UnixMilli())/1000, 2)}}
	for _, c := range comps {
		last := d.notified[c.name]
		if last == nil {
			last = map[string]string{}
			d.notified[c.name] = last
		}
		part := []kv{c.kvs[0]} // id
		for _, e := range c.kvs[1:] {
			if (withAlways && c.always != nil && c.always(e.k)) || last[e.k] != e.v {
				part = append(part, e)
				last[e.k] = e.v
			}
		}
		if len(part) > 1 {
			params = append(params, kv{c.name, objectJSON(part)})
		}
	}
	if len(params) == 1 {
		return Message{}, false
	}
	payload := `{"src":` + jsonString(d.id) + `,"dst":` + jsonString(d.prefix+"/events") + `,"method":"NotifyStatus","params":` + objectJSON(params) + `}`
	return d.msg(d.prefix+"/events/rpc", payload), true
}

// cycle is one publish cycle: NotifyStatus, then every status topic.
func (d *shellyDev) cycle(now time.Time, comps []shellyComponent) []Message {
	var msgs []Message
	if n, ok := d.notifyStatus(now, comps, true); ok {
		msgs = append(msgs, n)
	}
	for _, c := range comps {
		msgs = append(msgs, d.msg(d.prefix+"/status/"+c.name, objectJSON(c.kvs)))
	}
	return msgs
}

func (d *shellyDev) will() Message {
	return Message{Device: d.client, Topic: d.prefix + "/online", Payload: "false", QoS: availabilityQoS, Retained: true}
}

func (d *shellyDev) onlineMsg() Message {
	return Message{Device: d.client, Topic: d.prefix + "/online", Payload: "true", QoS: availabilityQoS, Retained: true}
}

func (d *shellyDev) clientID() string { return d.client }

func (d *shellyDev) setSkew(skew time.Duration) { d.skew = skew }

func (d *shellyDev) subscriptions() []string { return []string{d.prefix + "/rpc"} }

// sysStatus, and the other components every Gen2 device reports.
func (d *shellyDev) commonStatus(now time.Time) []kv {
	up := int64(now.Sub(d.boot) / time.Second)
	sys := objectJSON([]kv{
		{"mac", jsonString(d.mac)},
		{"restart_required", "false"},
		{"time", jsonString(now.Add(d.skew).In(d.loc).Format("15:04"))},
		{"unixtime", strconv.FormatInt(now.Add(d.skew).Unix(), 10)},
		{"uptime", strconv.FormatInt(max(up, 0), 10)},
	})
	wifi := `{"sta_ip":` + jsonString(d.ip) + `,"status":"got ip","ssid":"gridmint-sim","rssi":-58}`
	return []kv{
		{"ble", "{}"},
		{"cloud", `{"connected":false}`},
		{"mqtt", `{"connected":true}`},
		{"sys", sys},
		{"wifi", wifi},
		{"ws", `{"connected":false}`},
	}
}

// getStatus is Shelly.GetStatus: every component, keys sorted.
func (d *shellyDev) getStatus(now time.Time, comps []shellyComponent) string {
	all := d.commonStatus(now)
	for _, c := range comps {
		all = append(all, kv{c.name, objectJSON(c.kvs)})
	}
	for i := 1; i < len(all); i++ { // insertion sort: a handful of keys
		for j := i; j > 0 && all[j].k < all[j-1].k; j-- {
			all[j], all[j-1] = all[j-1], all[j]
		}
	}
	return objectJSON(all)
}

// rpcError is a JSON-RPC error reply.
type rpcError struct {
	code int
	msg  string
}

func (e *rpcError) json() string {
	return `{"code":` + strconv.Itoa(e.code) + `,"message":` + jsonString(e.msg) + `}`
}

// rpcMethod runs one method: the result object or an error, and messages
// to publish after the reply.
type rpcMethod func(params map[string]json.RawMessage) (result string, after []Message, err *rpcError)

// handleRPC parses one request on <prefix>/rpc, runs it with run and
// returns the reply (and what run publishes after it).
func (d *shellyDev) handleRPC(topic string, payload []byte, run func(method string) rpcMethod) ([]Message, bool, string) {
	if topic != d.prefix+"/rpc" {
		return nil, false, "not <prefix>/rpc"
	}
	fields, complete := readRPCFrame(payload)
	id, src, ok := rpcAddress(fields)
	if !ok {
		return nil, false, "RPC frame without a readable id and src: no reply possible"
	}
	reply := func(body string) Message {
		return d.msg(src+"/rpc", `{"id":`+id+`,"src":`+jsonString(d.id)+`,"dst":`+jsonString(src)+`,`+body+`}`)
	}
	fail := func(e *rpcError) ([]Message, bool, string) {
		return []Message{reply(`"error":` + e.json())}, false, e.msg
	}
	if !complete {
		return fail(&rpcError{-103, "Bad request: the frame is not valid JSON"})
	}
	var method string
	if err := json.Unmarshal(fields["method"], &method); err != nil || method == "" {
		return fail(&rpcError{-103, "Missing required argument 'method'!"})
	}
	var params map[string]json.RawMessage
	if raw, has := fields["params"]; has && string(raw) != "null" {
		if err := json.Unmarshal(raw, &params); err != nil {
			return fail(&rpcError{-103, "Invalid argument 'params'!"})
		}
	}
	m := run(method)
	if m == nil {
		return fail(&rpcError{404, "No handler for " + method})
	}
	result, after, rerr := m(params)
	if rerr != nil {
		return fail(rerr)
	}
	return append([]Message{reply(`"result":` + result)}, after...), true, ""
}

// readRPCFrame reads the top-level members of a JSON object one by one,
// so that id and src can be read from a frame that breaks further on.
// complete is false when the payload is not one valid JSON object.
func readRPCFrame(payload []byte) (fields map[string]json.RawMessage, complete bool) {
	fields = map[string]json.RawMessage{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fields, false
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fields, false
		}
		key, ok := kt.(string)
		if !ok {
			return fields, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fields, false
		}
		fields[key] = raw
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return fields, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return fields, false // trailing data
	}
	return fields, true
}

// rpcAddress returns a frame's id (as JSON: a number or a string) and
// src, when both are usable for a reply.
func rpcAddress(fields map[string]json.RawMessage) (id, src string, ok bool) {
	raw := bytes.TrimSpace(fields["id"])
	var n json.Number
	var s string
	switch {
	case len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') && json.Unmarshal(raw, &n) == nil:
		id = n.String()
	case len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil:
		id = jsonString(s)
	default:
		return "", "", false
	}
	if raw := bytes.TrimSpace(fields["src"]); len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &src) != nil || src == "" || len(src) > 1024 ||
		strings.ContainsAny(src, "+#\x00") || !utf8.ValidString(src) {
		return "", "", false
	}
	return id, src, true
}

// componentID reads params.id, which must name component 0.
func componentID(params map[string]json.RawMessage) *rpcError {
	raw, ok := params["id"]
	if !ok {
		return &rpcError{-103, "Missing required argument 'id'!"}
	}
	var id float64
	if err := json.Unmarshal(raw, &id); err != nil || id != math.Trunc(id) {
		return &rpcError{-103, "Invalid argument 'id'!"}
	}
	if id != 0 {
		return &rpcError{-105, fmt.Sprintf("Argument 'id', value %s not found!", strconv.FormatFloat(id, 'f', -1, 64))}
	}
	return nil
}

// minuteEnergy keeps the energy of the last minutes for aenergy.by_minute.
type minuteEnergy struct {
	minute int64      // unix minute of the current, incomplete minute; 0: none yet
	curMWh float64    // energy of the current minute so far, mWh
	last   [3]float64 // the last three complete minutes, newest first, mWh
}

// roll moves the current minute forward to unix minute m.
func (e *minuteEnergy) roll(m int64) {
	if e.minute == 0 || m-e.minute > 3 {
		if e.minute != 0 {
			e.last = [3]float64{}
		}
		e.minute, e.curMWh = m, 0
		return
	}
	for e.minute < m {
		e.last = [3]float64{e.curMWh, e.last[0], e.last[1]}
		e.curMWh = 0
		e.minute++
	}
}

// add spreads the energy of w watts over [from, to) across the minutes.
func (e *minuteEnergy) add(from, to time.Time, w float64) {
	if from.IsZero() || !to.After(from) {
		e.roll(to.Unix() / 60)
		return
	}
	if to.Sub(from) > 5*time.Minute {
		from = to.Truncate(time.Minute).Add(-4 * time.Minute) // older energy is in no by_minute slot
	}
	for t := from; t.Before(to); {
		e.roll(t.Unix() / 60)
		end := time.Unix((t.Unix()/60+1)*60, 0)
		if end.After(to) {
			end = to
		}
		e.curMWh += w * end.Sub(t).Hours() * 1000
		t = end
	}
	e.roll(to.Unix() / 60)
}

func (e *minuteEnergy) json() string {
	return fmt.Sprintf(`{"by_minute":[%s,%s,%s],"minute_ts":%d}`, fixed(e.last[0], 3), fixed(e.last[1], 3), fixed(e.last[2], 3), e.minute*60)
}

// wh3 formats an energy counter in Wh with 3 decimals, truncated so it
// never runs ahead of the energy counted.
func wh3(wh float64) string {
	if wh <= 0 || math.IsNaN(wh) {
		return "0.000"
	}
	return fixed(math.Floor(wh*1000)/1000, 3)
}

// shellyPlug is a Shelly Plus Plug S with its load.
type shellyPlug struct {
	shellyDev
	annualKWh float64

	// Kept in State.
	totalWh float64
	output  bool

	source                          string // what last set the relay: "init", then "MQTT"
	powerW, voltage, current, tempC float64
	minutes                         minuteEnergy
	lastStep                        time.Time
}

func newShellyPlug(pc ShellyPlugConfig, field, clientPrefix string, seed uint64, now time.Time, loc *time.Location) (*shellyPlug, error) {
	d, err := newShellyDev("shellyplusplugs", pc.MAC, pc.Prefix, pc.Voltage, field, clientPrefix, seed, now, loc)
	if err != nil {
		return nil, err
	}
	annual := pc.AnnualKWh
	if annual == 0 {
		annual = DefaultAnnualKWh
	}
	if !(annual > 0 && annual <= 1e6) {
		return nil, invalid("%s.AnnualKWh %v: want 0 < kWh/yr <= 1e6", field, pc.AnnualKWh)
	}
	d.ip = "192.0.2.21"
	return &shellyPlug{shellyDev: d, annualKWh: annual, output: true, source: "init", voltage: d.nominalV, tempC: 24}, nil
}

// advance moves the plug to sim time now at profile time pt.
func (p *shellyPlug) advance(now, pt time.Time, load *LoadProfile) {
	from := p.lastStep
	dt := hoursSince(p.lastStep, now)
	if now.After(p.lastStep) {
		p.lastStep = now
	}
	// Three draws every step, relay on or off.
	nV, nP, nT := p.rng.NormFloat64(), p.rng.NormFloat64(), p.rng.NormFloat64()
	p.voltage = clamp(p.nominalV+1.5*nV, 0.9*p.nominalV, 1.1*p.nominalV)
	w := load.Power(pt, p.annualKWh) * (1 + 0.05*clamp(nP, -3, 3))
	if !p.output {
		w = 0
	}
	p.powerW = w
	p.current = w / shellyPF / p.voltage
	p.tempC = 24 + 0.01*w + 0.2*clamp(nT, -3, 3)
	p.totalWh += w * dt
	if dt > 0 {
		p.minutes.add(from, now, w)
	} else {
		p.minutes.add(time.Time{}, now, 0)
	}
}

func (p *shellyPlug) components() []shellyComponent {
	aenergy := `{"total":` + wh3(p.totalWh) + `,` + strings.TrimPrefix(p.minutes.json(), "{")
	return []shellyComponent{{
		name: "switch:0",
		kvs: []kv{
			{"id", "0"},
			{"source", jsonString(p.source)},
			{"output", strconv.FormatBool(p.output)},
			{"apower", fixed(p.powerW, 1)},
			{"voltage", fixed(p.voltage, 1)},
			{"current", fixed(p.current, 3)},
			{"aenergy", aenergy},
			{"temperature", `{"tC":` + fixed(p.tempC, 1) + `,"tF":` + fixed(p.tempC*9/5+32, 1) + `}`},
		},
		always: func(k string) bool { return k == "aenergy" },
	}}
}

func (p *shellyPlug) cycle(now time.Time) []Message { return p.shellyDev.cycle(now, p.components()) }

// reboot restarts the plug: aenergy from 0 (fault injection), notified
// values forgotten.
func (p *shellyPlug) reboot(now time.Time) {
	p.boot, p.totalWh, p.minutes = now, 0, minuteEnergy{}
	p.notified = map[string]map[string]string{}
}

func (p *shellyPlug) onConnect(time.Time) []Message { return []Message{p.onlineMsg()} }

func (p *shellyPlug) handle(now time.Time, topic string, payload []byte, _ bool) ([]Message, bool, string) {
	return p.handleRPC(topic, payload, func(method string) rpcMethod {
		set := func(on func(wasOn bool) bool) rpcMethod {
			return func(params map[string]json.RawMessage) (string, []Message, *rpcError) {
				if e := componentID(params); e != nil {
					return "", nil, e
				}
				was := p.output
				p.output, p.source = on(was), "MQTT"
				var after []Message
				if n, ok := p.notifyStatus(now, p.components(), false); ok {
					after = append(after, n)
				}
				return `{"was_on":` + strconv.FormatBool(was) + `}`, after, nil
			}
		}
		switch method {
		case "Switch.Set":
			return func(params map[string]json.RawMessage) (string, []Message, *rpcError) {
				raw, ok := params["on"]
				if !ok {
					return "", nil, &rpcError{-103, "Missing required argument 'on'!"}
				}
				var on bool
				if err := json.Unmarshal(raw, &on); err != nil {
					return "", nil, &rpcError{-103, "Invalid argument 'on'!"}
				}
				return set(func(bool) bool { return on })(params)
			}
		case "Switch.Toggle":
			return set(func(was bool) bool { return !was })
		case "Switch.GetStatus":
			return func(params map[string]json.RawMessage) (string, []Message, *rpcError) {
				if e := componentID(params); e != nil {
					return "", nil, e
				}
				return objectJSON(p.components()[0].kvs), nil, nil
			}
		case "Shelly.GetStatus":
			return func(map[string]json.RawMessage) (string, []Message, *rpcError) {
				return p.getStatus(now, p.components()), nil, nil
			}
		}
		return nil
	})
}

// shellyMeter is a Shelly Pro 3EM on the house's grid connection.
type shellyMeter struct {
	shellyDev
	gridMeter // kept in State: the per-phase counters
	voltage   [3]float64
}

func newShellyMeter(mc ShellyMeterConfig, field, clientPrefix string, seed uint64, now time.Time, loc *time.Location) (*shellyMeter, error) {
	d, err := newShellyDev("shellypro3em", mc.MAC, mc.Prefix, mc.Voltage, field, clientPrefix, seed, now, loc)
	if err != nil {
		return nil, err
	}
	d.ip = "192.0.2.22"
	return &shellyMeter{shellyDev: d, voltage: [3]float64{d.nominalV, d.nominalV, d.nominalV}}, nil
}

// advance integrates the house's grid power per phase at sim time now.
func (m *shellyMeter) advance(now time.Time, phaseW [3]float64) {
	m.gridMeter.advance(now, phaseW)
	for i := range m.voltage {
		m.voltage[i] = clamp(m.nominalV+1.5*m.rng.NormFloat64(), 0.9*m.nominalV, 1.1*m.nominalV)
	}
}

func (m *shellyMeter) components() []shellyComponent {
	em := []kv{{"id", "0"}}
	var totalA, totalW, totalVA float64
	for i, ph := range []string{"a", "b", "c"} {
		w := m.phaseW[i]
		va, pf := 0.0, 0.0
		if math.Abs(w) >= 0.05 {
			va = math.Abs(w) / shellyPF
			pf = w / va
		}
		a := va / m.voltage[i]
		totalA += a
		totalW += w
		totalVA += va
		em = append(em,
			kv{ph + "_current", fixed(a, 3)},
			kv{ph + "_voltage", fixed(m.voltage[i], 1)},
			kv{ph + "_act_power", fixed(w, 1)},
			kv{ph + "_aprt_power", fixed(va, 1)},
			kv{ph + "_pf", fixed(pf, 2)},
		)
	}
	em = append(em,
		kv{"n_current", "null"},
		kv{"total_current", fixed(totalA, 3)},
		kv{"total_act_power", fixed(totalW, 3)},
		kv{"total_aprt_power", fixed(totalVA, 3)},
		kv{"user_calibrated_phase", "[]"},
	)
	data := []kv{{"id", "0"}}
	var imp, exp float64
	for i, ph := range []string{"a", "b", "c"} {
		data = append(data,
			kv{ph + "_total_act_energy", wh3(m.importWh[i])},
			kv{ph + "_total_act_ret_energy", wh3(m.exportWh[i])},
		)
		imp += m.importWh[i]
		exp += m.exportWh[i]
	}
	data = append(data, kv{"total_act", wh3(imp)}, kv{"total_act_ret", wh3(exp)})
	return []shellyComponent{
		{name: "em:0", kvs: em},
		{name: "emdata:0", kvs: data, always: func(string) bool { return true }},
	}
}

func (m *shellyMeter) cycle(now time.Time) []Message { return m.shellyDev.cycle(now, m.components()) }

// reboot restarts the meter with its energy counters at 0 (fault
// injection).
func (m *shellyMeter) reboot(now time.Time) {
	m.boot = now
	m.importWh, m.exportWh = [3]float64{}, [3]float64{}
	m.netImportWh, m.netExportWh = 0, 0
	m.notified = map[string]map[string]string{}
}

func (m *shellyMeter) onConnect(time.Time) []Message { return []Message{m.onlineMsg()} }

func (m *shellyMeter) handle(now time.Time, topic string, payload []byte, _ bool) ([]Message, bool, string) {
	return m.handleRPC(topic, payload, func(method string) rpcMethod {
		comp := func(i int) rpcMethod {
			return func(params map[string]json.RawMessage) (string, []Message, *rpcError) {
				if e := componentID(params); e != nil {
					return "", nil, e
				}
				return objectJSON(m.components()[i].kvs), nil, nil
			}
		}
		switch method {
		case "EM.GetStatus":
			return comp(0)
		case "EMData.GetStatus":
			return comp(1)
		case "Shelly.GetStatus":
			return func(map[string]json.RawMessage) (string, []Message, *rpcError) {
				return m.getStatus(now, m.components()), nil, nil
			}
		}
		return nil
	})
}
