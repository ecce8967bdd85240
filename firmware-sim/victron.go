package firmwaresim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Victron Venus OS (a GX device) as dbus-flashmq does it
// (victronenergy/dbus-flashmq: README, src/state.cpp, src/types.cpp,
// src/flashmq-dbus-plugin.cpp; behaviour only, no code):
//
//   - Values are published on N/<portal ID>/<service>/<instance>/<path>
//     as nlohmann's dump of {"value": v}: no blanks, doubles always with a
//     decimal point ("0.0", "20.43000030517578"), integers bare, strings
//     quoted. QoS 0, not retained, except N/<portal ID>/system/0/Serial,
//     which dbus-flashmq retains for portal ID discovery.
//   - Nothing is published until a keep-alive: a publish on
//     R/<portal ID>/keepalive or the legacy R/<portal ID>/system/0/Serial.
//     Unless its payload contains "suppress-republish" (the firmware looks
//     for the text, it does not parse the JSON), a keep-alive publishes
//     every value, then N/<portal ID>/full_publish_completed
//     {"value":<unix s>}, with "full-publish-completed-echo" when the
//     keep-alive's options carry one. While alive the GX publishes each
//     value when it changes and N/<portal ID>/heartbeat {"value":<unix s>}
//     (the firmware every 3 s, the sim every cycle). It stops 60 s after
//     the last keep-alive (VictronKeepAliveTimeout, sim clock).
//   - R/<portal ID>/<service>/<instance>/<path> reads one value, or every
//     value under a sub-path; reads are answered even while not alive.
//   - W/<portal ID>/vebus/257/Hub4/L1/AcPowerSetpoint {"value": W} sets
//     the ESS setpoint (Hub4 convention: + takes power from AC and charges
//     the battery, − discharges it and feeds in). The path holds the value
//     as the Multi's int16 register does (rounded to whole W, clamped to
//     −32768..32767); the new value is then published like any change, so
//     the N/ echo comes only while alive. The battery follows the setpoint
//     within its power and SoC limits (Dc/0/Power shows what it does).
//     {"value": null} hands control back to self-consumption (a sim
//     choice, after hub4/0/Overrides/Setpoint's null). Writes to other
//     paths, without "value" or not JSON are ignored and logged, as the
//     firmware logs them.
//   - dbus-flashmq acts on publishes as the broker receives them, so a
//     retained R/ or W/ message replayed to the sim's subscription on
//     connect is ignored.
//   - No last will, and nothing on shutdown.
//
// Services: battery/512 (Dc/0/Voltage V, Dc/0/Current A, Dc/0/Power W,
// + charging, Soc %, History/ChargedEnergy and DischargedEnergy kWh, DC
// side), grid/30 (Ac/Power, Ac/L1..L3/Power W, + import; Ac/Energy/Forward
// and Reverse kWh, net over the phases), vebus/257 (Ac/ActiveIn/P W, +
// from AC; Hub4/L1/AcPowerSetpoint W) and system/0/Serial. Voltage and
// current carry float32 noise (51.20000076293945), as many D-Bus services
// do. ProductId values are placeholders, not Victron's product IDs.
//
// Left out: the plugin's start-up N/<portal ID>/keepalive "1" and the
// retained Serial it publishes at boot (the sim says nothing before the
// first keep-alive), keep-alive rate limiting, and the zero-byte payloads
// of a device leaving the D-Bus (the simulated devices never leave).
//
// Battery physics: the Multi takes acW from AC (+ charging); the battery
// receives acW·√η when charging and gives |acW|/√η when discharging (η =
// round-trip efficiency), so a full cycle returns η of the AC energy put
// in. The power limits bind on both sides of the losses: the AC power
// within what the Multi may take or deliver, the DC power within what
// the battery may take or give (discharging, the DC side binds first).
// Stored energy, the SoC and the DC counters are the integral of the DC
// power the battery reports, and a step never takes the stored energy
// outside [MinSoC, MaxSoC].

const (
	victronQoS = 0
	// Default D-Bus device instances (VictronConfig's *Instance fields).
	victronBatteryInstance = 512
	victronGridInstance    = 30
	victronVebusInstance   = 257
	victronSetpointPath    = "/Hub4/L1/AcPowerSetpoint"
	victronKeepAlive       = "keepalive"
	victronSerial          = "system/0/Serial"
	// victronMaxInstance bounds the configurable device instances.
	victronMaxInstance = 1 << 20
	// Placeholder product IDs (not Victron's).
	victronBatteryProductID = 0xB0F1
	victronGridProductID    = 0xB0F2
	victronVebusProductID   = 0xB0F3
	// LFP 16s open-circuit voltage at 0 % and 100 % SoC, V, and the
	// internal resistance, Ω.
	batteryEmptyV = 49.6
	batteryFullV  = 53.6
	batteryOhm    = 0.01
)

// VictronConfig is one Venus OS GX device with a battery, a grid meter and
// an ESS inverter/charger (MultiPlus on L1, ESS mode).
type VictronConfig struct {
	// PortalID is the VRM portal ID: 12 lowercase hex digits (the GX's
	// MAC), e.g. "c0619ab1234f". Required.
	PortalID string
	// CapacityKWh is the battery's usable capacity, kWh; default 10.
	CapacityKWh float64
	// MinSoCPct and MaxSoCPct bound the state of charge, %; defaults 10
	// (ESS's minimum SoC) and 100. Zero means the default.
	MinSoCPct, MaxSoCPct float64
	// InitialSoCPct is the SoC without saved state, %; default 50,
	// clamped into [MinSoCPct, MaxSoCPct].
	InitialSoCPct float64
	// MaxChargeW and MaxDischargeW bound the power of the battery and
	// of its Multi, W; default 3000 each. Both the battery's DC power
	// (Dc/0/Power, what a node reads as the battery's power) and the
	// Multi's AC power stay within them: the losses sit between the two,
	// so at the limit the Multi takes MaxChargeW from AC to charge
	// MaxChargeW·√η into the battery, and the battery gives MaxDischargeW
	// for MaxDischargeW·√η on AC.
	MaxChargeW, MaxDischargeW float64
	// RoundTripEfficiency is AC to AC, 0 < η <= 1; default 0.9.
	RoundTripEfficiency float64
	// BatteryInstance, GridInstance and VebusInstance are the D-Bus
	// device instances of battery/<n>, grid/<n> and vebus/<n>; defaults
	// 512, 30 and 257 (0 means the default). Real sites differ; the node
	// names Victron devices <service>-<instance> (battery-512), so homes
	// that share one node need different instances.
	BatteryInstance, GridInstance, VebusInstance int
}

// battery is the ESS: a Multi and its battery. Pure physics.
type battery struct {
	capWh, minWh, maxWh       float64
	maxChargeW, maxDischargeW float64
	oneWay                    float64 // √ round-trip efficiency
	rng                       *rand.Rand

	// Kept in State.
	energyWh                float64 // stored energy
	chargedWh, dischargedWh float64 // DC lifetime counters

	setpoint *float64 // ESS setpoint in force (W, + charge); nil: self-consumption
	commandW float64  // AC power asked of the Multi in the last step, within its limits
	acW, dcW float64  // last step: AC into the Multi, DC into the battery (+ charging)
	voltage  float64  // last step, V
	lastStep time.Time
}

func newBattery(vc VictronConfig, field string, seed uint64) (*battery, error) {
	def := func(v, d float64) float64 {
		if v == 0 {
			return d
		}
		return v
	}
	capKWh := def(vc.CapacityKWh, DefaultBatteryKWh)
	minS, maxS := def(vc.MinSoCPct, DefaultBatteryMinSoC), def(vc.MaxSoCPct, DefaultBatteryMaxSoC)
	initS := def(vc.InitialSoCPct, DefaultBatteryInitialSoC)
	maxC, maxD := def(vc.MaxChargeW, DefaultBatteryMaxW), def(vc.MaxDischargeW, DefaultBatteryMaxW)
	eta := def(vc.RoundTripEfficiency, DefaultBatteryRoundTripEff)
	switch {
	case !(capKWh > 0 && capKWh <= 10_000):
		return nil, invalid("%s.CapacityKWh %v: want 0 < kWh <= 10000", field, vc.CapacityKWh)
	case !(minS >= 0 && minS < maxS && maxS <= 100):
		return nil, invalid("%s.MinSoCPct %v, MaxSoCPct %v: want 0 <= min < max <= 100", field, vc.MinSoCPct, vc.MaxSoCPct)
	case !(initS >= 0 && initS <= 100):
		return nil, invalid("%s.InitialSoCPct %v: want 0..100", field, vc.InitialSoCPct)
	case !(maxC > 0 && maxC <= 1e6):
		return nil, invalid("%s.MaxChargeW %v: want 0 < W <= 1e6", field, vc.MaxChargeW)
	case !(maxD > 0 && maxD <= 1e6):
		return nil, invalid("%s.MaxDischargeW %v: want 0 < W <= 1e6", field, vc.MaxDischargeW)
	case !(eta > 0 && eta <= 1):
		return nil, invalid("%s.RoundTripEfficiency %v: want 0 < η <= 1", field, vc.RoundTripEfficiency)
	}
	capWh := capKWh * 1000
	b := &battery{
		capWh: capWh, minWh: minS / 100 * capWh, maxWh: maxS / 100 * capWh,
		maxChargeW: maxC, maxDischargeW: maxD,
		oneWay: math.Sqrt(eta),
		rng:    deviceRand(seed, "victron-battery/"+vc.PortalID),
	}
	b.energyWh = clamp(initS/100*capWh, b.minWh, b.maxWh)
	b.voltage = b.ocv()
	return b, nil
}

// socPct is the state of charge, %.
func (b *battery) socPct() float64 { return b.energyWh / b.capWh * 100 }

// ocv is the open-circuit voltage at the present SoC.
func (b *battery) ocv() float64 {
	return batteryEmptyV + (batteryFullV-batteryEmptyV)*b.energyWh/b.capWh
}

// advance moves the battery to sim time now. selfW is what self-
// consumption asks of the Multi (W, + charge); an ESS setpoint overrides
// it. It returns the AC power the Multi takes (+) or delivers (−) for the
// interval since the previous step, which is also what it reports.
func (b *battery) advance(now time.Time, selfW float64) float64 {
	dt := hoursSince(b.lastStep, now)
	if now.After(b.lastStep) {
		b.lastStep = now
	}
	want := selfW
	if b.setpoint != nil {
		want = *b.setpoint
	}
	b.commandW = clamp(want, -b.maxDischargeW, b.maxChargeW)
	dc := b.commandW * b.oneWay
	if b.commandW < 0 {
		dc = b.commandW / b.oneWay
	}
	// The battery's own limits: delivering 3000 W on AC would take
	// 3000/√η W from it, more than its 3000 W.
	dc = clamp(dc, -b.maxDischargeW, b.maxChargeW)
	// SoC limits: never charge above max nor discharge below min, and
	// within a step only as far as the headroom allows.
	switch {
	case dc > 0 && b.energyWh >= b.maxWh, dc < 0 && b.energyWh <= b.minWh:
		dc = 0
	case dc > 0 && dt > 0:
		dc = math.Min(dc, (b.maxWh-b.energyWh)/dt)
	case dc < 0 && dt > 0:
		dc = math.Max(dc, -(b.energyWh-b.minWh)/dt)
	}
	ac := dc / b.oneWay
	if dc < 0 {
		ac = dc * b.oneWay
	}
	e := dc * dt
	if e > 0 {
		b.chargedWh += e
		b.energyWh = math.Min(b.energyWh+e, math.Max(b.maxWh, b.energyWh))
	} else if e < 0 {
		b.dischargedWh -= e
		b.energyWh = math.Max(b.energyWh+e, math.Min(b.minWh, b.energyWh))
	}
	b.acW, b.dcW = ac, dc
	ocv := b.ocv()
	b.voltage = ocv + batteryOhm*dc/ocv + 0.003*clamp(b.rng.NormFloat64(), -3, 3)
	return ac
}

// setpointValue is what Hub4/L1/AcPowerSetpoint holds: the written
// setpoint, or in self-consumption what the ESS asked of the Multi.
func (b *battery) setpointValue() int64 {
	if b.setpoint != nil {
		return int64(*b.setpoint)
	}
	return int64(math.Round(b.commandW))
}

// venusGX is one simulated GX device: the MQTT endpoint.
type venusGX struct {
	id     string // MQTT client ID
	portal string
	bat    *battery
	grid   gridMeter
	skew   time.Duration // clock error of heartbeat and full_publish_completed
	paths  victronPaths
	topics map[string]string // path → N/<portal>/<path>, built once

	lastKeepAlive time.Time         // sim-clock time of the last keep-alive; zero: none yet
	last          map[string]string // path → payload of the previous cycle (alive or not): D-Bus change detection
	vals          []dbusValue       // values' buffer, reused every cycle
}

// victronPaths are a GX's D-Bus paths, with its device instances.
type victronPaths struct {
	bat, grid, vebus                             string // battery/512, grid/30, vebus/257
	batInst, gridInst, vebusInst                 int
	batV, batA, batW, batSoC, batCharged, batDis string
	gridW, gridFwd, gridRev                      string
	gridPhase                                    [3]string
	vebusP, setpoint                             string
}

func newVictronPaths(bat, grid, vebus int) victronPaths {
	p := victronPaths{
		bat: "battery/" + strconv.Itoa(bat), grid: "grid/" + strconv.Itoa(grid), vebus: "vebus/" + strconv.Itoa(vebus),
		batInst: bat, gridInst: grid, vebusInst: vebus,
	}
	p.batV, p.batA, p.batW = p.bat+"/Dc/0/Voltage", p.bat+"/Dc/0/Current", p.bat+"/Dc/0/Power"
	p.batSoC, p.batCharged, p.batDis = p.bat+"/Soc", p.bat+"/History/ChargedEnergy", p.bat+"/History/DischargedEnergy"
	p.gridW, p.gridFwd, p.gridRev = p.grid+"/Ac/Power", p.grid+"/Ac/Energy/Forward", p.grid+"/Ac/Energy/Reverse"
	for i := range p.gridPhase {
		p.gridPhase[i] = fmt.Sprintf("%s/Ac/L%d/Power", p.grid, i+1)
	}
	p.vebusP, p.setpoint = p.vebus+"/Ac/ActiveIn/P", p.vebus+victronSetpointPath
	return p
}

func newVenusGX(vc VictronConfig, field, prefix string, seed uint64) (*venusGX, error) {
	if len(vc.PortalID) != 12 || strings.Trim(vc.PortalID, "0123456789abcdef") != "" {
		return nil, invalid("%s.PortalID %q: want 12 lowercase hex digits, e.g. c0619ab1234f", field, vc.PortalID)
	}
	inst := func(name string, v, def int) (int, error) {
		if v == 0 {
			return def, nil
		}
		if v < 0 || v > victronMaxInstance {
			return 0, invalid("%s.%s %d: want 1..%d (0: the default %d)", field, name, v, victronMaxInstance, def)
		}
		return v, nil
	}
	bi, err := inst("BatteryInstance", vc.BatteryInstance, victronBatteryInstance)
	if err != nil {
		return nil, err
	}
	gi, err := inst("GridInstance", vc.GridInstance, victronGridInstance)
	if err != nil {
		return nil, err
	}
	vi, err := inst("VebusInstance", vc.VebusInstance, victronVebusInstance)
	if err != nil {
		return nil, err
	}
	b, err := newBattery(vc, field, seed)
	if err != nil {
		return nil, err
	}
	gx := &venusGX{
		id: prefix + "venus-" + vc.PortalID, portal: vc.PortalID, bat: b, last: map[string]string{},
		paths: newVictronPaths(bi, gi, vi), topics: map[string]string{},
	}
	for _, v := range gx.values() {
		gx.topics[v.path] = "N/" + gx.portal + "/" + v.path
	}
	return gx, nil
}

// alive reports whether the GX publishes at sim time now.
func (gx *venusGX) alive(now time.Time) bool {
	return !gx.lastKeepAlive.IsZero() && now.Sub(gx.lastKeepAlive) < VictronKeepAliveTimeout
}

// dbusValue is one published D-Bus value.
type dbusValue struct{ path, payload string }

// values lists every D-Bus value the GX publishes, in a fixed order
// (dbus-flashmq's order is a hash map's). The slice is reused by the next
// call.
func (gx *venusGX) values() []dbusValue {
	b, g, p := gx.bat, &gx.grid, &gx.paths
	kWh := func(wh float64) string { return dbusDouble(float64(wholeWh(wh)) / 1000) }
	v := gx.vals[:0]
	meta := func(svc string, id int, name string, inst int) {
		v = append(v,
			dbusValue{svc + "/ProductId", dbusInt(int64(id))},
			dbusValue{svc + "/ProductName", dbusString(name)},
			dbusValue{svc + "/DeviceInstance", dbusInt(int64(inst))},
			dbusValue{svc + "/Connected", dbusInt(1)},
		)
	}
	v = append(v, dbusValue{victronSerial, dbusString(gx.portal)})
	meta(p.bat, victronBatteryProductID, "gridmint sim LFP battery", p.batInst)
	v = append(v,
		dbusValue{p.batV, dbusFloat32(round(b.voltage, 2))},
		dbusValue{p.batA, dbusFloat32(round(b.dcW/b.voltage, 1))},
		dbusValue{p.batW, dbusDouble(round(b.dcW, 1))},
		dbusValue{p.batSoC, dbusDouble(round(b.socPct(), 1))},
		dbusValue{p.batCharged, kWh(b.chargedWh)},
		dbusValue{p.batDis, kWh(b.dischargedWh)},
	)
	meta(p.grid, victronGridProductID, "gridmint sim grid meter", p.gridInst)
	v = append(v, dbusValue{p.gridW, dbusDouble(round(g.totalW(), 1))})
	for i, w := range g.phaseW {
		v = append(v, dbusValue{p.gridPhase[i], dbusDouble(round(w, 1))})
	}
	v = append(v,
		dbusValue{p.gridFwd, kWh(g.netImportWh)},
		dbusValue{p.gridRev, kWh(g.netExportWh)},
	)
	meta(p.vebus, victronVebusProductID, "gridmint sim MultiPlus", p.vebusInst)
	v = append(v,
		dbusValue{p.vebusP, dbusDouble(round(b.acW, 1))},
		dbusValue{p.setpoint, dbusInt(b.setpointValue())},
	)
	gx.vals = v
	return v
}

func (gx *venusGX) msg(path, payload string) Message {
	topic, ok := gx.topics[path]
	if !ok {
		topic = "N/" + gx.portal + "/" + path
	}
	return Message{Device: gx.id, Topic: topic, Payload: payload, QoS: victronQoS, Retained: path == victronSerial}
}

// cycle returns, while alive, the values that changed on the D-Bus since
// the previous cycle and the heartbeat; nothing otherwise. Changes while
// not alive are not published later: only a full republish shows them.
func (gx *venusGX) cycle(now time.Time) []Message {
	alive := gx.alive(now)
	var msgs []Message
	for _, v := range gx.values() {
		if prev, seen := gx.last[v.path]; !seen || prev != v.payload {
			gx.last[v.path] = v.payload
			if alive {
				msgs = append(msgs, gx.msg(v.path, v.payload))
			}
		}
	}
	if !alive {
		return nil
	}
	return append(msgs, gx.msg("heartbeat", dbusInt(now.Add(gx.skew).Unix())))
}

func (gx *venusGX) setSkew(skew time.Duration) { gx.skew = skew }

// reboot restarts the GX: it forgets the keep-alive (silent until the
// next one) and what it published, and the battery monitor's and the
// meter's counters start again from 0 (fault injection). The battery
// keeps its charge; the ESS setpoint, volatile, is lost.
func (gx *venusGX) reboot(time.Time) {
	gx.lastKeepAlive = time.Time{}
	gx.last = map[string]string{}
	gx.bat.chargedWh, gx.bat.dischargedWh = 0, 0
	gx.bat.setpoint = nil
	gx.grid.netImportWh, gx.grid.netExportWh = 0, 0
	gx.grid.importWh, gx.grid.exportWh = [3]float64{}, [3]float64{}
}

func (gx *venusGX) clientID() string { return gx.id }

func (gx *venusGX) will() Message { return Message{} }

func (gx *venusGX) onConnect(time.Time) []Message { return nil }

func (gx *venusGX) subscriptions() []string {
	return []string{"R/" + gx.portal + "/#", "W/" + gx.portal + "/#"}
}

func (gx *venusGX) handle(now time.Time, topic string, payload []byte, retained bool) ([]Message, bool, string) {
	if retained {
		return nil, false, "retained R/ or W/ replayed by the broker: dbus-flashmq acts on publishes only"
	}
	if path, ok := strings.CutPrefix(topic, "R/"+gx.portal+"/"); ok {
		var msgs []Message
		if path == victronKeepAlive || path == victronSerial {
			msgs = gx.keepAlive(now, payload)
			if path == victronKeepAlive {
				return msgs, true, ""
			}
		}
		read := gx.read(path)
		if len(read) == 0 && len(msgs) == 0 {
			return nil, false, "read of an unknown path"
		}
		return append(msgs, read...), true, ""
	}
	if path, ok := strings.CutPrefix(topic, "W/"+gx.portal+"/"); ok {
		return gx.write(now, path, payload)
	}
	return nil, false, "not R/ or W/ of this portal ID"
}

// keepAlive renews the keep-alive and, unless suppressed, publishes every
// value and full_publish_completed.
func (gx *venusGX) keepAlive(now time.Time, payload []byte) []Message {
	gx.lastKeepAlive = now
	if bytes.Contains(payload, []byte("suppress-republish")) {
		return nil
	}
	var msgs []Message
	for _, v := range gx.values() {
		msgs = append(msgs, gx.msg(v.path, v.payload))
	}
	ts := now.Add(gx.skew).Unix()
	done := dbusInt(ts)
	if echo, ok := keepAliveEcho(payload); ok {
		// nlohmann sorts an object's keys.
		done = `{"full-publish-completed-echo":` + jsonString(echo) + `,"value":` + strconv.FormatInt(ts, 10) + `}`
	}
	return append(msgs, gx.msg("full_publish_completed", done))
}

// keepAliveEcho returns the full-publish-completed-echo string of a
// keep-alive's options, as dbus-flashmq reads it: the last object in the
// keepalive-options array that has one; a payload that does not parse
// has none.
func keepAliveEcho(payload []byte) (string, bool) {
	var ka struct {
		Options []json.RawMessage `json:"keepalive-options"`
	}
	if len(payload) == 0 || json.Unmarshal(payload, &ka) != nil {
		return "", false
	}
	echo, found := "", false
	for _, el := range ka.Options {
		var obj map[string]json.RawMessage
		if json.Unmarshal(el, &obj) != nil {
			continue // not an object
		}
		raw := bytes.TrimSpace(obj["full-publish-completed-echo"])
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			break // not a string: the firmware's conversion throws and ends the loop
		}
		echo, found = s, true
	}
	return echo, found
}

// read answers a read request for one path or every path under it.
func (gx *venusGX) read(path string) []Message {
	var msgs []Message
	for _, v := range gx.values() {
		if v.path == path || strings.HasPrefix(v.path, path+"/") {
			msgs = append(msgs, gx.msg(v.path, v.payload))
		}
	}
	return msgs
}

// write applies a W/ request.
func (gx *venusGX) write(now time.Time, path string, payload []byte) ([]Message, bool, string) {
	if path != gx.paths.setpoint {
		return nil, false, "path not writable in the simulator"
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(payload, &obj); err != nil {
		return nil, false, "payload is not a JSON object"
	}
	raw, ok := obj["value"]
	if !ok {
		return nil, false, "no \"value\" in the JSON"
	}
	if string(raw) == "null" {
		gx.bat.setpoint = nil
		return nil, true, ""
	}
	var w float64
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, false, "value is not a number"
	}
	applied := clamp(math.Round(w), math.MinInt16, math.MaxInt16)
	gx.bat.setpoint = &applied
	// The D-Bus value changes now: that is the echo, while alive.
	payloadN := dbusInt(int64(applied))
	gx.last[path] = payloadN
	if !gx.alive(now) {
		return nil, true, ""
	}
	return []Message{gx.msg(path, payloadN)}, true, ""
}

// dbusDouble formats a D-Bus double as nlohmann's dump does: the shortest
// representation, always with a decimal point.
func dbusDouble(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return `{"value":` + s + `}`
}

// dbusFloat32 is a value that went through a float32 on its way to the
// D-Bus (20.43 → 20.43000030517578).
func dbusFloat32(v float64) string { return dbusDouble(float64(float32(v))) }

func dbusInt(v int64) string { return `{"value":` + strconv.FormatInt(v, 10) + `}` }

func dbusString(s string) string { return `{"value":` + jsonString(s) + `}` }

// jsonString quotes s as JSON without Go's HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// round rounds v to digits decimals.
func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
