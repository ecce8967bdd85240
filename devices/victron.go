package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmint/gridmint"
)

// Victron Venus OS (Cerbo GX, CCGX, Venus on a Raspberry Pi) through its
// MQTT broker, FlashMQ with the dbus-flashmq plugin (Venus OS 3.20 and
// later).
//
// Telemetry: N/<portal ID>/<service>/<instance>/<D-Bus path>, one topic per
// D-Bus value, JSON {"value": ...} (settings add "min" and "max"), not
// retained, published when the value changes. Engineering units: W, %,
// kWh (the Modbus scale factors do not apply). {"value": null} is an
// invalid D-Bus value: the field is forgotten (a stale value must not be
// reported as current), not an error. A zero-byte payload on any topic of
// a device means the device left the D-Bus (a PV inverter at night): the
// device is reported offline once and its values are forgotten. There is
// no other availability signal and no device timestamp, so measurements
// have no SourceTime.
//
// Devices, serial "<service>-<instance>" (instances differ per site and are
// learned from the topics, never configured):
//
//   - battery → battery. Dc/0/Power W is positive when charging on the
//     D-Bus; gridmint's battery is positive when discharging, so it is
//     negated. Soc %. History/DischargedEnergy kWh → Forward,
//     History/ChargedEnergy kWh → Reverse (lifetime).
//   - grid → meter. Ac/Power W (import +), else the sum of Ac/L1..L3/Power.
//     Ac/Energy/Forward kWh (bought) → Forward, Ac/Energy/Reverse kWh
//     (sold) → Reverse, else the sums of the per-phase counters.
//   - pvinverter → pv_inverter. Ac/Power W, Ac/Energy/Forward kWh (else
//     the per-phase sums).
//   - solarcharger → pv_inverter (DC-coupled PV). Yield/Power W. Counter:
//     Yield/System kWh ("total produced, not resettable" in Victron's
//     D-Bus list) as lifetime; else Yield/User kWh (total, user
//     resettable: a reset is a lifetime-counter reset to the normaliser);
//     else History/Daily/0/Yield kWh as a daily counter.
//   - vebus (the Multi/Quattro inverter/charger) is not a metered device:
//     its Dc/0/Power is the same battery flow the battery monitor reports
//     and its AC side is no gridmint kind. Its instance addresses the ESS
//     setpoint; system/0/VebusInstance, when published, names it.
//
// Every other service and path is known and ignored. Power is rounded to
// 0.1 W: the D-Bus carries float32 noise (20.43000030517578), and 0.1 W
// keeps every real digit of a home-scale value. Counters are parsed from
// the JSON literal, exactly.
//
// Fallback sources (per-phase sums, Yield/User, the daily yield) are used
// only once a full publish (N/<portal ID>/full_publish_completed) has
// shown that the preferred one does not exist. dbus-flashmq publishes a
// device's topics in no particular order; a fallback used before the
// preferred counter arrives would switch counters under the normaliser
// (it then credits nothing for the switch) or jump by the other phases'
// totals. Once a preferred source was seen, the device never falls back.
//
// Keep-alive: nothing is published without a read request on
// R/<portal ID>/keepalive at least every 60 s; the node sends one every
// 20 s (one may be lost). An empty payload asks for a full republish, the
// suppress-republish option only keeps the GX alive. A full republish is
// asked for until one completed, when no traffic came since the previous
// keep-alive (the GX restarted or forgot us), and when a device appeared
// or came back since (so its fallback sources can settle). dbus-flashmq
// rate-limits full republishes itself.
//
// Control: the ESS setpoint W/<portal ID>/vebus/<instance>/
// Hub4/L1/AcPowerSetpoint {"value": <W>}, never retained. Its sign is the
// Multi's AC input: positive takes power from AC (charges the battery),
// negative feeds back (discharges it). gridmint's battery power is
// positive when discharging, so value = −power, rounded to whole W (an
// int16 register). It only works with ESS in external control
// (Settings/CGwacs/Hub4Mode 3), which the owner must set; the setpoint is
// for phase L1 and for the whole system, whichever battery serial is
// named. The confirmation is the N/ echo of the same path within 1 W; a
// zero-byte payload there (the Multi left the D-Bus) refuses it.
// dbus-flashmq's source notes that this path does not always signal its
// changes, so the echo may not come without a read request.

func init() { Register("victron", newVictron) }

const (
	// victronKeepAliveInterval is well under dbus-flashmq's 60 s timeout.
	victronKeepAliveInterval = 20 * time.Second
	// maxVictronDevices bounds the per-device state: a GX serves a few
	// dozen devices; more serials are garbage topics.
	maxVictronDevices = 256
	// victronMaxValuePayload bounds a value message on a used path
	// ({"value": number}, with min and max at most).
	victronMaxValuePayload = 1024
	// Values beyond any home device are refused before they are merged,
	// so one bad message cannot spoil every later measurement of the
	// device (the same bounds as DefaultLimits).
	victronAbsurdPower   = 1_000_000         // W
	victronAbsurdCounter = 1_000_000_000_000 // mWh, 1 GWh
	// victronSetpointMax is the int16 range of Hub4/L1/AcPowerSetpoint.
	victronSetpointMax = math.MaxInt16
)

// victronQuantity is what a D-Bus path measures.
type victronQuantity uint8

const (
	vqPower victronQuantity = iota
	vqSoC
	vqForward    // the preferred natural-direction counter (phase 0) or a phase's
	vqReverse    // the preferred opposite counter or a phase's
	vqYieldUser  // solar charger fallback: lifetime but user resettable
	vqYieldDaily // solar charger last fallback: today's yield
)

// victronPath is one used D-Bus path of a service.
type victronPath struct {
	q      victronQuantity
	phase  int  // 0: the device total; 1..3: phase L1..L3
	negate bool // the D-Bus sign is the opposite of gridmint's
}

// victronService is a D-Bus service type that becomes a gridmint device.
type victronService struct {
	kind  gridmint.DeviceKind
	caps  []gridmint.Capability
	paths map[string]victronPath
}

// victronACPaths are the paths of an AC meter service (grid, pvinverter):
// a total and per-phase values.
func victronACPaths(reverse bool) map[string]victronPath {
	p := map[string]victronPath{
		"Ac/Power":          {q: vqPower},
		"Ac/Energy/Forward": {q: vqForward},
	}
	if reverse {
		p["Ac/Energy/Reverse"] = victronPath{q: vqReverse}
	}
	for ph := 1; ph <= 3; ph++ {
		l := "Ac/L" + strconv.Itoa(ph)
		p[l+"/Power"] = victronPath{q: vqPower, phase: ph}
		p[l+"/Energy/Forward"] = victronPath{q: vqForward, phase: ph}
		if reverse {
			p[l+"/Energy/Reverse"] = victronPath{q: vqReverse, phase: ph}
		}
	}
	return p
}

var (
	victronMeteredCaps = []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
	victronServices    = map[string]*victronService{
		"battery": {
			kind: gridmint.KindBattery,
			caps: []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapSoC, gridmint.CapAvailability, gridmint.CapBatteryCtl},
			paths: map[string]victronPath{
				"Dc/0/Power":               {q: vqPower, negate: true},
				"Soc":                      {q: vqSoC},
				"History/DischargedEnergy": {q: vqForward},
				"History/ChargedEnergy":    {q: vqReverse},
			},
		},
		"grid":       {kind: gridmint.KindMeter, caps: victronMeteredCaps, paths: victronACPaths(true)},
		"pvinverter": {kind: gridmint.KindPVInverter, caps: victronMeteredCaps, paths: victronACPaths(false)},
		"solarcharger": {
			kind: gridmint.KindPVInverter,
			caps: victronMeteredCaps,
			paths: map[string]victronPath{
				"Yield/Power":           {q: vqPower},
				"Yield/System":          {q: vqForward},
				"Yield/User":            {q: vqYieldUser},
				"History/Daily/0/Yield": {q: vqYieldDaily},
			},
		},
	}
)

// victronSource flags a counter source a device has shown.
type victronSource uint8

const (
	srcForwardTotal victronSource = 1 << iota
	srcReverseTotal
	srcYieldUser
)

// victronDevice is one device's merged state.
type victronDevice struct {
	svc   *victronService
	power [4]*gridmint.W // [0] total, [1..3] phases
	soc   *float64
	fwd   [4]*gridmint.MWh // [0] total, [1..3] phases
	rev   [4]*gridmint.MWh
	user  *gridmint.MWh // Yield/User
	daily *gridmint.MWh // History/Daily/0/Yield
	// seen are the counter sources ever shown, kept while the device is
	// offline: once a preferred source exists, the device never falls back.
	seen victronSource
	// settled: a full publish completed while the device was online, so
	// every path it has was published and fallbacks are safe.
	settled bool
	offline bool
}

type victron struct {
	maxDevices int // AdapterConfig.MaxDevices
	portal     string
	prefix     string // "N/<portal ID>/"

	// Decode's own state (Decode runs on one goroutine).
	devices map[string]*victronDevice

	// Shared with the node's keep-alive timer.
	fullPublished atomic.Bool // a full publish completed since start
	traffic       atomic.Bool // a message arrived since the last keep-alive
	wantFull      atomic.Bool // a device (re)appeared after a full publish

	// Shared with the command methods (API goroutines).
	mu            sync.Mutex
	vebusSystem   string          // from system/0/VebusInstance; "" unknown
	vebusSeen     string          // from the last vebus/<instance>/... topic
	activeBattery string          // from system/0/ActiveBatteryService, as a serial; "" unknown
	batteries     map[string]bool // battery serials seen (bounded by the device cap)
}

func newVictron(cfg AdapterConfig) (Adapter, error) {
	if cfg.PortalID == "" {
		return nil, gridmint.Errorf(gridmint.EInvalid, "victron: portal_id is required: the GX device's VRM portal ID, the second topic level of N/<portal ID>/..., e.g. c0619ab1234f (Settings → VRM online portal)")
	}
	if !victronIsHex(cfg.PortalID) || len(cfg.PortalID) > 64 {
		return nil, gridmint.Errorf(gridmint.EInvalid, "victron: portal_id %q: want the VRM portal ID, hex digits such as c0619ab1234f", cfg.PortalID)
	}
	if cfg.BaseTopic != "" {
		return nil, gridmint.Errorf(gridmint.EInvalid, "victron: base_topic %q: dbus-flashmq's topics are fixed (N/, R/, W/ + portal_id); leave base_topic empty", cfg.BaseTopic)
	}
	if cfg.Kind != "" {
		return nil, gridmint.Errorf(gridmint.EInvalid, "victron: kind %q: each device's kind follows its D-Bus service (battery, grid, pvinverter, solarcharger); leave kind empty", cfg.Kind)
	}
	return &victron{portal: cfg.PortalID, prefix: "N/" + cfg.PortalID + "/", devices: map[string]*victronDevice{}, maxDevices: cfg.maxDevices(maxVictronDevices)}, nil
}

func victronIsHex(s string) bool {
	if s == "" {
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

func (v *victron) Dialect() string { return "victron" }

// DefaultKind is only a fallback: every measurement names its device's
// kind.
func (v *victron) DefaultKind() gridmint.DeviceKind { return gridmint.KindBattery }

func (v *victron) Reports() []gridmint.Capability {
	return []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapSoC, gridmint.CapAvailability}
}

func (v *victron) Subscriptions() []string { return []string{v.prefix + "#"} }

// KeepAliveInterval implements KeepAliver.
func (v *victron) KeepAliveInterval() time.Duration { return victronKeepAliveInterval }

// victronSuppressRepublish keeps the GX alive without a full republish.
const victronSuppressRepublish = `{ "keepalive-options" : ["suppress-republish"] }`

// KeepAlive implements KeepAliver: an empty payload (full republish) when
// one is needed, else the suppress-republish option (see the file doc).
func (v *victron) KeepAlive() []Command {
	heard := v.traffic.Swap(false)
	appeared := v.wantFull.Swap(false)
	payload := []byte(victronSuppressRepublish)
	if !v.fullPublished.Load() || !heard || appeared {
		payload = []byte{}
	}
	return []Command{{Topic: "R/" + v.portal + "/keepalive", Payload: payload, QoS: 1}}
}

func (v *victron) Decode(topic string, payload []byte) ([]Update, error) {
	rest, ok := strings.CutPrefix(topic, v.prefix)
	if !ok {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q outside N/%s/", truncate([]byte(topic)), v.portal)
	}
	v.traffic.Store(true)
	service, rest, ok := strings.Cut(rest, "/")
	if !ok {
		switch service {
		case "full_publish_completed":
			v.fullPublishCompleted()
			return nil, nil
		case "heartbeat", "keepalive":
			return nil, nil
		}
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "N/%s/%s: not <service>/<instance>/<path>", v.portal, truncate([]byte(service)))
	}
	instance, path, _ := strings.Cut(rest, "/")
	if service == "" || instance == "" || path == "" || strings.HasSuffix(path, "/") || strings.Contains(path, "//") {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: want N/<portal ID>/<service>/<instance>/<D-Bus path>", truncate([]byte(topic)))
	}
	switch service {
	case "vebus":
		v.learnVebus(instance, payload)
		return nil, nil
	case "system":
		switch path {
		case "VebusInstance":
			return nil, v.learnSystemVebus(payload)
		case "ActiveBatteryService":
			v.learnActiveBattery(payload)
		}
		return nil, nil
	}
	svc, tracked := victronServices[service]
	if !tracked {
		return nil, nil // settings, hub4, tank, temperature, ...: known, not metered
	}
	if !victronIsInstance(instance) {
		return nil, decodeErr(gridmint.ReasonUnknownTopic, "", "topic %q: device instance %q is not a number", truncate([]byte(topic)), truncate([]byte(instance)))
	}
	serial := service + "-" + instance
	if len(payload) == 0 {
		return v.deviceLeft(serial, svc)
	}
	if service == "battery" {
		v.mu.Lock()
		if v.batteries == nil {
			v.batteries = map[string]bool{}
		}
		if len(v.batteries) < v.maxDevices {
			v.batteries[serial] = true
		}
		v.mu.Unlock()
	}
	dev, err := v.device(serial, svc)
	if err != nil {
		return nil, err
	}
	p, used := svc.paths[path]
	if !used {
		return nil, nil
	}
	raw, derr := victronValue(payload)
	if derr != nil {
		return nil, decodeErr(derr.Reason, serial, "%s: %s", path, derr.Detail)
	}
	if string(raw) == "null" {
		dev.set(p, nil)
		return nil, nil
	}
	val, derr := victronNumber(p, raw)
	if derr != nil {
		return nil, decodeErr(derr.Reason, serial, "%s: %s", path, derr.Detail)
	}
	dev.set(p, val)
	if !dev.uses(p) {
		return nil, nil
	}
	m := dev.measurement()
	if m.Power == nil && m.Forward == nil && m.Reverse == nil {
		return nil, nil // a state of charge alone is not a reading yet
	}
	return []Update{{Serial: serial, Kind: svc.kind, Capabilities: slices.Clone(svc.caps), Measurement: m}}, nil
}

// victronIsInstance reports whether s is a D-Bus device instance: a uint32 in
// decimal.
func victronIsInstance(s string) bool {
	if len(s) == 0 || len(s) > 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && strconv.FormatUint(n, 10) == s
}

// device returns serial's state, creating it, and marks it online. A
// device that appears or returns after a full publish asks the next
// keep-alive for another one, so its fallback sources can settle.
func (v *victron) device(serial string, svc *victronService) (*victronDevice, error) {
	d, ok := v.devices[serial]
	if !ok {
		if len(v.devices) >= v.maxDevices {
			return nil, capErr(serial, v.maxDevices, "more than %d devices on one GX (max_devices)", v.maxDevices)
		}
		d = &victronDevice{svc: svc}
		v.devices[serial] = d
		if v.fullPublished.Load() {
			v.wantFull.Store(true)
		}
		return d, nil
	}
	if d.offline {
		d.offline = false
		if v.fullPublished.Load() {
			v.wantFull.Store(true)
		}
	}
	return d, nil
}

// deviceLeft handles a zero-byte payload: the device left the D-Bus. Every
// one of its topics gets one; the device is reported offline once.
func (v *victron) deviceLeft(serial string, svc *victronService) ([]Update, error) {
	d, ok := v.devices[serial]
	switch {
	case ok && d.offline:
		return nil, nil
	case ok:
		*d = victronDevice{svc: svc, seen: d.seen, offline: true}
	case len(v.devices) < v.maxDevices:
		v.devices[serial] = &victronDevice{svc: svc, offline: true}
	}
	return []Update{{Serial: serial, Availability: AvailabilityOffline}}, nil
}

// fullPublishCompleted settles every online device: all its paths were
// just published, so a missing preferred source does not exist.
func (v *victron) fullPublishCompleted() {
	v.fullPublished.Store(true)
	for _, d := range v.devices {
		if !d.offline {
			d.settled = true
		}
	}
}

// victronValue returns the "value" member of a notification.
func victronValue(payload []byte) (json.RawMessage, *DecodeError) {
	if len(payload) > victronMaxValuePayload {
		return nil, &DecodeError{Reason: gridmint.ReasonMalformed, Detail: fmt.Sprintf("payload of %d bytes exceeds %d", len(payload), victronMaxValuePayload)}
	}
	var msg struct {
		Value json.RawMessage `json:"value"`
	}
	err := json.Unmarshal(payload, &msg)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		if _, nonFinite := bareNonFiniteToNull(payload); nonFinite {
			// NaN printed bare is not null (an invalid D-Bus value): refuse it.
			return nil, &DecodeError{Reason: gridmint.ReasonNotFinite, Detail: fmt.Sprintf("%q", truncate(payload))}
		}
		return nil, &DecodeError{Reason: gridmint.ReasonMalformed, Detail: fmt.Sprintf("JSON: %v", err)}
	case errors.As(err, &typ):
		return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%q is not a JSON object", truncate(payload))}
	case err != nil:
		return nil, &DecodeError{Reason: gridmint.ReasonMalformed, Detail: fmt.Sprintf("JSON: %v", err)}
	case msg.Value == nil:
		return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("%q has no value", truncate(payload))}
	}
	return bytes.TrimSpace(msg.Value), nil
}

// victronNum is a parsed value: power in W, SoC in %, a counter.
type victronNum struct {
	f float64
	e gridmint.MWh
}

// victronNumber parses raw, a JSON value, for path p.
func victronNumber(p victronPath, raw json.RawMessage) (*victronNum, *DecodeError) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return nil, &DecodeError{Reason: gridmint.ReasonWrongType, Detail: fmt.Sprintf("value %s is not a number", truncate(raw))}
	}
	lit := string(raw)
	switch p.q {
	case vqPower:
		f, derr := parseDecimal(lit)
		if derr != nil {
			return nil, derr
		}
		if math.Abs(f) > victronAbsurdPower {
			return nil, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("power %s W", truncate(raw))}
		}
		f = math.Round(f*10) / 10 // float32 noise off, 0.1 W kept
		if p.negate {
			f = -f
		}
		if f == 0 {
			f = 0 // no -0 after negating
		}
		return &victronNum{f: f}, nil
	case vqSoC:
		f, derr := parseDecimal(lit)
		if derr != nil {
			return nil, derr
		}
		if f < 0 || f > 100 {
			return nil, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("state of charge %s%% outside 0..100", truncate(raw))}
		}
		return &victronNum{f: f}, nil
	}
	e, derr := parseCounter(lit, gridmint.UnitKWh)
	switch {
	case derr != nil:
		return nil, derr
	case e < 0:
		return nil, &DecodeError{Reason: gridmint.ReasonNegative, Detail: fmt.Sprintf("counter %s kWh", truncate(raw))}
	case e > victronAbsurdCounter:
		return nil, &DecodeError{Reason: gridmint.ReasonAbsurd, Detail: fmt.Sprintf("counter %s kWh beyond 1 GWh", truncate(raw))}
	}
	return &victronNum{e: e}, nil
}

// set stores a path's value; nil forgets it (an invalid D-Bus value).
func (d *victronDevice) set(p victronPath, val *victronNum) {
	switch p.q {
	case vqPower:
		d.power[p.phase] = nil
		if val != nil {
			d.power[p.phase] = ptr(gridmint.W(val.f))
		}
	case vqSoC:
		d.soc = nil
		if val != nil {
			d.soc = ptr(val.f)
		}
	case vqForward, vqReverse, vqYieldUser, vqYieldDaily:
		var e *gridmint.MWh
		if val != nil {
			e = ptr(val.e)
		}
		switch p.q {
		case vqForward:
			d.fwd[p.phase] = e
			if e != nil && p.phase == 0 {
				d.seen |= srcForwardTotal
			}
		case vqReverse:
			d.rev[p.phase] = e
			if e != nil && p.phase == 0 {
				d.seen |= srcReverseTotal
			}
		case vqYieldUser:
			d.user = e
			if e != nil {
				d.seen |= srcYieldUser
			}
		case vqYieldDaily:
			d.daily = e
		}
	}
}

// uses reports whether the measurement takes its value from path p now:
// only then does a new value make a new measurement.
func (d *victronDevice) uses(p victronPath) bool {
	fallbackFwd := d.settled && d.seen&srcForwardTotal == 0
	switch {
	case p.phase == 0 && (p.q == vqPower || p.q == vqSoC || p.q == vqForward || p.q == vqReverse):
		return true
	case p.q == vqPower:
		return d.power[0] == nil
	case p.q == vqForward, p.q == vqYieldUser:
		return fallbackFwd
	case p.q == vqReverse:
		return d.settled && d.seen&srcReverseTotal == 0
	case p.q == vqYieldDaily:
		return fallbackFwd && d.seen&srcYieldUser == 0
	}
	return false
}

// measurement is the device's whole current state.
func (d *victronDevice) measurement() *Measurement {
	m := &Measurement{SoC: d.soc}
	if d.power[0] != nil {
		m.Power = d.power[0]
	} else if sum, ok := victronSum(d.power[1:]); ok {
		m.Power = &sum
	}
	m.Forward = d.counter(d.fwd, srcForwardTotal)
	m.Reverse = d.counter(d.rev, srcReverseTotal)
	if m.Forward == nil && d.settled && d.seen&srcForwardTotal == 0 {
		switch {
		case d.user != nil:
			m.Forward = &Counter{Value: *d.user, Kind: gridmint.CounterLifetime}
		case d.daily != nil && d.seen&srcYieldUser == 0:
			m.Forward = &Counter{Value: *d.daily, Kind: gridmint.CounterDaily}
		}
	}
	return m
}

// counter is the total counter, or once settled without one ever seen,
// the sum of the phases'.
func (d *victronDevice) counter(c [4]*gridmint.MWh, total victronSource) *Counter {
	if c[0] != nil {
		return &Counter{Value: *c[0], Kind: gridmint.CounterLifetime}
	}
	if !d.settled || d.seen&total != 0 {
		return nil
	}
	if sum, ok := victronSum(c[1:]); ok {
		return &Counter{Value: sum, Kind: gridmint.CounterLifetime}
	}
	return nil
}

// victronSum adds the known values; ok is false when none is known.
func victronSum[T gridmint.W | gridmint.MWh](vals []*T) (T, bool) {
	var sum T
	ok := false
	for _, x := range vals {
		if x != nil {
			sum += *x
			ok = true
		}
	}
	return sum, ok
}

// learnVebus remembers the inverter/charger instance from its traffic; a
// zero-byte payload (it left the D-Bus) forgets it.
func (v *victron) learnVebus(instance string, payload []byte) {
	if !victronIsInstance(instance) {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case len(payload) > 0:
		v.vebusSeen = instance
	case v.vebusSeen == instance:
		v.vebusSeen = ""
	}
}

// learnSystemVebus reads system/0/VebusInstance, the GX's own choice of
// the inverter/charger ("for use over MQTT" in Victron's D-Bus list).
func (v *victron) learnSystemVebus(payload []byte) error {
	inst := ""
	if len(payload) > 0 {
		raw, derr := victronValue(payload)
		if derr != nil {
			return decodeErr(derr.Reason, "", "system/0/VebusInstance: %s", derr.Detail)
		}
		if s := string(raw); s != "null" {
			if !victronIsInstance(s) {
				return decodeErr(gridmint.ReasonWrongType, "", "system/0/VebusInstance: %s is not a device instance", truncate(raw))
			}
			inst = s
		}
	}
	v.mu.Lock()
	v.vebusSystem = inst
	v.mu.Unlock()
	return nil
}

// learnActiveBattery reads system/0/ActiveBatteryService, e.g.
// "com.victronenergy.battery/512": the battery the system (and so the ESS
// setpoint) works on.
func (v *victron) learnActiveBattery(payload []byte) {
	serial := ""
	if raw, derr := victronValue(payload); derr == nil {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			if inst, ok := strings.CutPrefix(name, "com.victronenergy.battery/"); ok && victronIsInstance(inst) {
				serial = "battery-" + inst
			}
		}
	}
	v.mu.Lock()
	v.activeBattery = serial
	v.mu.Unlock()
}

// essBattery is the battery the one, system-wide ESS setpoint acts on: the
// active battery service when the GX names it, else the only battery seen;
// "" when that is not known.
func (v *victron) essBattery() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.activeBattery != "" {
		return v.activeBattery
	}
	if len(v.batteries) == 1 {
		for b := range v.batteries {
			return b
		}
	}
	return ""
}

func (v *victron) vebusInstance() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.vebusSystem != "" {
		return v.vebusSystem
	}
	return v.vebusSeen
}

// CheckSerial implements SerialChecker: "<service>-<instance>" of a
// metered service.
func (v *victron) CheckSerial(serial string) error {
	service, instance, _ := strings.Cut(serial, "-")
	if _, ok := victronServices[service]; !ok || !victronIsInstance(instance) {
		return gridmint.Errorf(gridmint.EInvalid, "victron serial %q: want <service>-<instance> with service battery, grid, pvinverter or solarcharger, e.g. battery-512", serial)
	}
	return nil
}

// Classify implements Classifier: the kind and capabilities follow the
// D-Bus service.
func (v *victron) Classify(serial string) (gridmint.DeviceKind, []gridmint.Capability, bool) {
	if v.CheckSerial(serial) != nil {
		return "", nil, false
	}
	service, _, _ := strings.Cut(serial, "-")
	svc := victronServices[service]
	return svc.kind, slices.Clone(svc.caps), true
}

// BatteryCommand implements BatteryController with the ESS setpoint of
// the inverter/charger (see the file doc for the sign and Hub4Mode 3).
func (v *victron) BatteryCommand(serial string, power gridmint.W) (Command, error) {
	if err := v.CheckSerial(serial); err != nil {
		return Command{}, err
	}
	if !strings.HasPrefix(serial, "battery-") {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "victron %s: battery setpoints go to a battery device (battery-<instance>)", serial)
	}
	if math.IsNaN(float64(power)) || math.IsInf(float64(power), 0) {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "victron %s: battery power %v W is not a finite number", serial, power)
	}
	setpoint := -math.Round(float64(power))
	if math.Abs(setpoint) > victronSetpointMax {
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "victron %s: battery power %v W beyond the setpoint's ±%d W", serial, power, victronSetpointMax)
	}
	if setpoint == 0 {
		setpoint = 0 // no "-0"
	}
	inst := v.vebusInstance()
	if inst == "" {
		return Command{}, gridmint.Errorf(gridmint.EUnavailable, "victron %s: the inverter/charger's (vebus) instance is not known yet: no N/%s/vebus/... message seen (is a Multi/Quattro connected and is the GX publishing?)", serial, v.portal)
	}
	// The setpoint is system-wide: only the battery it acts on may take it,
	// so that another battery's limits and opt-out cannot be sidestepped.
	switch ess := v.essBattery(); {
	case ess == "":
		return Command{}, gridmint.Errorf(gridmint.EUnavailable, "victron %s: not known which battery the ESS setpoint acts on (no battery or several seen, and no system/0/ActiveBatteryService)", serial)
	case ess != serial:
		return Command{}, gridmint.Errorf(gridmint.EInvalid, "victron %s: the ESS setpoint acts on %s, the system's active battery; send it there", serial, ess)
	}
	path := "/vebus/" + inst + "/Hub4/L1/AcPowerSetpoint"
	want := setpoint
	return Command{
		Topic:   "W/" + v.portal + path,
		Payload: fmt.Appendf(nil, `{"value": %d}`, int64(setpoint)),
		QoS:     1,
		// dbus-flashmq "may not always send PropertiesChanged" for this
		// path (state.cpp): read it back, so the echo that confirms comes.
		Then: []Command{{Topic: "R/" + v.portal + path, QoS: 1}},
		Confirm: &Confirmation{
			Filter: "N/" + v.portal + path,
			Match: func(_ string, payload []byte) (bool, error) {
				if len(payload) == 0 {
					return true, fmt.Errorf("the inverter/charger vebus/%s left the D-Bus", inst)
				}
				raw, derr := victronValue(payload)
				if derr != nil {
					return false, nil
				}
				got, err := strconv.ParseFloat(string(raw), 64)
				if err != nil {
					return false, nil
				}
				return math.Abs(got-want) <= 1, nil
			},
		},
	}, nil
}
