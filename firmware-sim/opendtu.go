package firmwaresim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// OpenDTU as the firmware does it (tbnobody/OpenDTU: MqttHandleInverter,
// MqttHandleInverterTotal, MqttHandleDtu, Hoymiles StatisticsParser and
// the HM byte assignments for field digits; behaviour only, no code):
//
//   - Every publish interval, per inverter: name, status/limit_relative,
//     status/limit_absolute, status/reachable, status/producing,
//     status/last_update; then, only when the inverter delivered fresh
//     statistics (it is reachable), the channel fields in the firmware's
//     order: AC channel 0 (voltage, current, power, frequency,
//     powerfactor, reactivepower), each DC input 1..n (voltage, current,
//     power, yieldday, yieldtotal, irradiation), inverter channel 0
//     (powerdc, yieldday, yieldtotal, temperature, efficiency). Then the
//     ac/ and dc/ totals, and the dtu/ values.
//   - Everything retained, telemetry QoS 0 (OpenDTU's defaults); the
//     availability messages use availabilityQoS.
//   - Plain-text scalars with the inverter's own digits: W 1 decimal,
//     V 1, A 2, Hz 2, °C 1, % efficiency 3, powerfactor 0..1 with 3,
//     yieldday whole Wh, yieldtotal kWh with 3.
//   - last_update is the unix time (s, UTC) of the last fresh statistics;
//     it stays put while the inverter is unreachable at night, and is 0
//     until the inverter was first reached.
//   - Availability: dtu/status "online" retained on connect, "offline" as
//     the MQTT will. Inverters report status/reachable themselves.
//
// The simulated inverter has one DC input. Its energy counters integrate
// the AC power it reports; the DC input's yields equal channel 0's (the
// firmware computes channel 0 yields as the sum over DC inputs).

// openDTUQoS is the QoS of OpenDTU's publishes (its default, 0) and of
// its command subscriptions (fixed 0 in the firmware).
const openDTUQoS = 0

// availabilityQoS is the QoS of both dialects' availability messages: the
// MQTT will and the online announcement on connect. Our notes do not state
// the firmware's QoS for them; 1 makes the broker confirm it has stored
// the (retained) state before Run goes on, and deliver it at least once.
const availabilityQoS = 1

// openDTUCommands are the per-inverter command topics OpenDTU subscribes
// to, as "<base>+/cmd/<name>". reset_rf_stats is documented but not
// subscribed by the firmware, so it is not here either.
var openDTUCommands = []string{
	"limit_persistent_relative",
	"limit_persistent_absolute",
	"limit_nonpersistent_relative",
	"limit_nonpersistent_absolute",
	"power",
	"restart",
}

// dtu is one simulated OpenDTU gateway with its inverters.
type dtu struct {
	id        string // MQTT client ID
	baseTopic string // with trailing '/'
	hostname  string
	boot      time.Time // sim-clock time the DTU started, for dtu/uptime
	skew      time.Duration
	inverters []*inverter
}

func newDTU(prefix, baseTopic string, now time.Time) *dtu {
	name := strings.Trim(strings.ReplaceAll(baseTopic, "/", "-"), "-")
	h := fnv.New32a()
	h.Write([]byte(baseTopic))
	return &dtu{
		id:        prefix + "opendtu-" + name,
		baseTopic: baseTopic,
		hostname:  fmt.Sprintf("OpenDTU-%06X", h.Sum32()&0xFFFFFF),
		boot:      now,
	}
}

// inverter is one Hoymiles micro-inverter: physics, counters, limits.
type inverter struct {
	serial    string
	serialHex uint64 // the serial read as hex, as OpenDTU matches command topics
	name      string
	nameplate float64 // AC W
	baseTopic string
	rng       *rand.Rand
	shape     *pvShape   // orientation and clouds; nil: the profile's array
	lie       Dishonesty // what the inverter reports instead of the truth

	// Kept in State.
	yieldTotalWh  float64   // lifetime AC energy, Wh
	yieldDayWh    float64   // AC energy since profile-local midnight, Wh
	day           civilDate // profile-local date yieldDayWh belongs to
	persistentPct float64   // persistent limit, % of nameplate

	// Volatile: lost when the inverter powers down at night.
	nonPersistentPct float64 // non-persistent limit, %; < 0 when none
	powerOn          bool

	sunUp      bool      // the inverter has DC power
	reachable  bool      // the inverter answers the DTU (by day, or a liar at night)
	lastStep   time.Time // sim-clock time of the last advance
	lastUpdate time.Time // sim-clock time of the last fresh statistics
	trueACW    float64   // what it really feeds in, W: what the meters see
	producedWh float64   // energy it really fed in since the Sim was built, Wh (not kept in State)
	reportedWh float64   // energy its counters grew by since then, resets aside, Wh (not kept in State)
	live       inverterValues
}

// inverterValues are the measurements of the last reachable step.
type inverterValues struct {
	acW, acV, acA, freqHz, powerFactor, reactiveVAr float64
	dcW, dcV, dcA, irradiationPct                   float64
	tempC, efficiencyPct                            float64
}

// dcPerAC is the DC module power per W of AC nameplate assumed for the
// irradiation field (% of the module's power), the profile's DC/AC ratio.
const dcPerAC = 1.2

func newInverter(pc PVConfig, field string, seed uint64) (*inverter, error) {
	if len(pc.Serial) != 12 || strings.Trim(pc.Serial, "0123456789") != "" {
		return nil, invalid("%s.Serial %q: want 12 decimal digits, e.g. 116181234567", field, pc.Serial)
	}
	hex, err := strconv.ParseUint(pc.Serial, 16, 64)
	if err != nil {
		return nil, invalid("%s.Serial %q: %v", field, pc.Serial, err)
	}
	np := float64(pc.Nameplate)
	if np == 0 {
		np = float64(DefaultNameplate)
	}
	if np < 0 || math.IsNaN(np) || math.IsInf(np, 0) || np > 100_000 {
		return nil, invalid("%s.Nameplate %v W: want 0 < W <= 100000", field, pc.Nameplate)
	}
	base := pc.BaseTopic
	if base == "" {
		base = DefaultBaseTopic
	}
	if !strings.HasSuffix(base, "/") || strings.HasPrefix(base, "/") || strings.ContainsAny(base, "+#") || strings.Contains(base, "//") {
		return nil, invalid("%s.BaseTopic %q: want levels ending in '/', e.g. \"solar/\", no wildcards", field, pc.BaseTopic)
	}
	name := pc.Name
	if name == "" {
		name = fmt.Sprintf("HM-%d %s", int(math.Round(np)), pc.Serial[8:])
	}
	shape, err := newPVShape(pc.Array, field+".Array")
	if err != nil {
		return nil, err
	}
	if !pc.Dishonest.valid() {
		return nil, invalid("%s.Dishonest %q: want \"\", night, overrate or copy", field, pc.Dishonest)
	}
	return &inverter{
		shape:            shape,
		lie:              pc.Dishonest,
		serial:           pc.Serial,
		serialHex:        hex,
		name:             name,
		nameplate:        np,
		baseTopic:        base,
		rng:              deviceRand(seed, "opendtu/"+pc.Serial),
		persistentPct:    100,
		nonPersistentPct: -1,
		powerOn:          true,
	}, nil
}

// limitPct is the limit in force: the non-persistent one when set.
func (inv *inverter) limitPct() float64 {
	if inv.nonPersistentPct >= 0 {
		return inv.nonPersistentPct
	}
	return inv.persistentPct
}

// advance moves the inverter to sim time now at profile time pt;
// neighbourW is what a copying liar reports (ok false: no neighbour).
func (inv *inverter) advance(now, pt time.Time, prof *PVProfile, neighbourW float64, neighbourOK bool) {
	dtHours := hoursSince(inv.lastStep, now)
	if now.After(inv.lastStep) {
		inv.lastStep = now // never count an interval twice if the clock steps back
	}
	if d := dateOf(pt); d != inv.day {
		inv.yieldDayWh = 0
		inv.day = d
	}
	avail := pvAvailable(prof, inv.shape, pt, inv.nameplate)
	sunUp := avail > 0
	if inv.sunUp && !sunUp {
		// Night: the inverter loses its DC supply and powers down; the
		// non-persistent limit falls back to the persistent one and an
		// "off" command is forgotten.
		inv.nonPersistentPct = -1
		inv.powerOn = true
	}
	inv.sunUp = sunUp
	ac := 0.0
	if sunUp && inv.powerOn {
		ac = math.Min(avail, inv.limitPct()/100*inv.nameplate)
	}
	inv.trueACW = ac
	inv.producedWh += ac * dtHours
	reported, reachable := pvReport(inv.lie, inv.rng, ac, sunUp, inv.nameplate, neighbourW, neighbourOK)
	inv.reachable = reachable
	if !reachable {
		inv.live = inverterValues{}
		return
	}
	// The energy of the interval since the last step is the power reported
	// now times the interval: exactly what a reader integrating the
	// published power sees.
	inv.yieldTotalWh += reported * dtHours
	inv.reportedWh += reported * dtHours
	inv.yieldDayWh += reported * dtHours
	inv.lastUpdate = now

	inv.live = hoymilesValues(inv.rng, prof, pt, reported, inv.nameplate)
}

// pvAvailable is what an inverter of nameplate W behind array shape can
// feed in at profile time pt: the profile scaled to the nameplate, times
// orientation and clouds, clipped at the nameplate (the inverter's AC
// limit).
func pvAvailable(prof *PVProfile, shape *pvShape, pt time.Time, nameplate float64) float64 {
	p := prof.ACPower(pt)
	if p <= 0 {
		return 0 // night: no factor can make light
	}
	return math.Min(p*shape.factor(pt)*nameplate/prof.RatedACW(), nameplate)
}

// pvReport is what an inverter producing ac W reports under lie, and
// whether it answers at all (honest inverters only while the sun is up).
func pvReport(lie Dishonesty, rng *rand.Rand, ac float64, sunUp bool, nameplate, neighbourW float64, neighbourOK bool) (float64, bool) {
	switch lie {
	case DishonestNight:
		if !sunUp {
			return nameplate * (0.10 + 0.05*rng.Float64()), true
		}
	case DishonestOverrate:
		return ac * overrateFactor, sunUp
	case DishonestCopy:
		if neighbourOK {
			return neighbourW, sunUp || neighbourW > 0
		}
	}
	return ac, sunUp
}

// hoymilesValues are the measurements of a Hoymiles inverter with one DC
// input that delivers ac W at profile time pt. Both gateways (OpenDTU and
// AhoyDTU) read the same inverter. Noise draws happen every reachable
// step, in a fixed order, so the stream stays aligned whatever the limits
// do.
func hoymilesValues(rng *rand.Rand, prof *PVProfile, pt time.Time, ac, nameplate float64) inverterValues {
	nV, nF, nT, nDC := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
	eff := 0.955
	if pdc := prof.DCPower(pt); pdc > 1 {
		eff = clamp(prof.ACPower(pt)/pdc, 0.85, 0.97)
	}
	v := inverterValues{
		acW:    ac,
		acV:    clamp(230+1.5*nV, 220, 240),
		freqHz: clamp(50+0.02*nF, 49.9, 50.1),
		tempC:  prof.AmbientC(pt) + 20*ac/nameplate + 0.3*nT,
	}
	v.acA = ac / v.acV
	if ac > 0 {
		v.powerFactor = 1
		v.dcW = ac / eff
		v.efficiencyPct = eff * 100
	}
	moduleW := nameplate * dcPerAC
	v.dcV = clamp(30+6*v.dcW/moduleW+0.2*nDC, 16, 60)
	v.dcA = v.dcW / v.dcV
	v.irradiationPct = v.dcW / moduleW * 100
	return v
}

// command applies one OpenDTU command (the last topic level) as the
// firmware's handler does. It returns false and why when ignored.
func (inv *inverter) command(name string, payload []byte, retained bool) (bool, string) {
	val, ok := strtol(payload)
	if !ok {
		return false, "payload < 0"
	}
	if !inv.reachable {
		// The DTU relays commands over the radio; an inverter asleep at
		// night never acknowledges them and the DTU gives up.
		return false, "inverter not reachable (night)"
	}
	pct := func(w int64) float64 {
		// Hoymiles keeps the limit in 0.1 % of its nameplate; truncate so
		// the applied limit never exceeds the requested watts.
		return math.Min(100, math.Floor(float64(w)/inv.nameplate*1000+1e-9)/10)
	}
	switch name {
	case "limit_persistent_relative":
		inv.persistentPct, inv.nonPersistentPct = math.Min(100, float64(val)), -1
	case "limit_persistent_absolute":
		inv.persistentPct, inv.nonPersistentPct = pct(val), -1
	case "limit_nonpersistent_relative", "limit_nonpersistent_absolute":
		if retained {
			return false, "retained non-persistent limit (OpenDTU ignores these)"
		}
		if name == "limit_nonpersistent_relative" {
			inv.nonPersistentPct = math.Min(100, float64(val))
		} else {
			inv.nonPersistentPct = pct(val)
		}
	case "power":
		inv.powerOn = val > 0
	case "restart":
		if retained || val != 1 {
			return false, "restart wants payload 1, not retained"
		}
		inv.yieldDayWh = 0
		inv.nonPersistentPct = -1
		inv.powerOn = true
	default:
		return false, "unknown command"
	}
	return true, ""
}

// strtol parses like C strtol(s, NULL, 10) into an int32 as OpenDTU does:
// leading blanks, an optional sign, then digits up to the first other
// byte; no digits at all reads as 0 ("600.7" -> 600, "abc" -> 0). ok is
// false for negative values, which the firmware drops.
func strtol(payload []byte) (int64, bool) {
	s := strings.TrimLeft(string(payload), " \t\n\r\f\v")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var v int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if v < math.MaxInt32 {
			v = v*10 + int64(s[i]-'0')
		}
	}
	v = min(v, math.MaxInt32)
	if neg && v > 0 {
		return 0, false
	}
	return v, true
}

func (d *dtu) clientID() string { return d.id }

func (d *dtu) setSkew(skew time.Duration) { d.skew = skew }

// reboot restarts the DTU and power-cycles its inverters: the counters
// start again from 0 (fault injection) and the volatile limits are lost.
func (d *dtu) reboot(now time.Time) {
	d.boot = now
	for _, inv := range d.inverters {
		inv.yieldTotalWh, inv.yieldDayWh = 0, 0
		inv.nonPersistentPct, inv.powerOn = -1, true
		inv.lastUpdate = time.Time{}
	}
}

func (d *dtu) will() Message {
	return Message{Device: d.id, Topic: d.baseTopic + "dtu/status", Payload: "offline", QoS: availabilityQoS, Retained: true}
}

func (d *dtu) onConnect(time.Time) []Message {
	return []Message{{Device: d.id, Topic: d.baseTopic + "dtu/status", Payload: "online", QoS: availabilityQoS, Retained: true}}
}

func (d *dtu) subscriptions() []string {
	subs := make([]string, len(openDTUCommands))
	for i, c := range openDTUCommands {
		subs[i] = d.baseTopic + "+/cmd/" + c
	}
	return subs
}

// handle parses <base><serial>/cmd/<name> like the firmware: the serial
// level is read as hex and matched against the inverters.
func (d *dtu) handle(_ time.Time, topic string, payload []byte, retained bool) ([]Message, bool, string) {
	rest, ok := strings.CutPrefix(topic, d.baseTopic)
	if !ok {
		return nil, false, "topic outside base topic"
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != "cmd" {
		return nil, false, "not <serial>/cmd/<command>"
	}
	serial, err := strconv.ParseUint(parts[0], 16, 64)
	if err != nil {
		return nil, false, "inverter not found"
	}
	for _, inv := range d.inverters {
		if inv.serialHex == serial {
			ok, why := inv.command(parts[2], payload, retained)
			return nil, ok, why
		}
	}
	return nil, false, "inverter not found"
}

// cycle returns one publish cycle of this DTU at sim time now.
func (d *dtu) cycle(now time.Time) []Message {
	msgs := make([]Message, 0, 8+len(d.inverters)*24)
	pub := func(topic, payload string) {
		msgs = append(msgs, Message{Device: d.id, Topic: d.baseTopic + topic, Payload: payload, QoS: openDTUQoS, Retained: true})
	}
	var acW, dcW, moduleW float64
	var yieldTotal, yieldDay int64
	allReachable := true
	for _, inv := range d.inverters {
		sn := inv.serial + "/"
		pct := inv.limitPct()
		pub(sn+"name", inv.name)
		pub(sn+"status/limit_relative", fixed(pct, 2))
		pub(sn+"status/limit_absolute", fixed(pct*inv.nameplate/100, 2))
		pub(sn+"status/reachable", boolDigit(inv.reachable))
		pub(sn+"status/producing", boolDigit(inv.reachable && inv.live.acW > 0))
		lu := int64(0)
		if !inv.lastUpdate.IsZero() {
			lu = inv.lastUpdate.Add(d.skew).Unix()
		}
		pub(sn+"status/last_update", strconv.FormatInt(lu, 10))
		total, day := wholeWh(inv.yieldTotalWh), wholeWh(inv.yieldDayWh)
		yieldTotal += total
		yieldDay += day
		moduleW += inv.nameplate * dcPerAC
		if !inv.reachable {
			allReachable = false
			continue
		}
		v := inv.live
		acW += v.acW
		dcW += v.dcW
		// AC channel 0.
		pub(sn+"0/voltage", fixed(v.acV, 1))
		pub(sn+"0/current", fixed(v.acA, 2))
		pub(sn+"0/power", fixed(v.acW, 1))
		pub(sn+"0/frequency", fixed(v.freqHz, 2))
		pub(sn+"0/powerfactor", fixed(v.powerFactor, 3))
		pub(sn+"0/reactivepower", fixed(v.reactiveVAr, 1))
		// DC input 1.
		pub(sn+"1/voltage", fixed(v.dcV, 1))
		pub(sn+"1/current", fixed(v.dcA, 2))
		pub(sn+"1/power", fixed(v.dcW, 1))
		pub(sn+"1/yieldday", strconv.FormatInt(day, 10))
		pub(sn+"1/yieldtotal", kWh3(total))
		pub(sn+"1/irradiation", fixed(v.irradiationPct, 3))
		// Inverter channel 0.
		pub(sn+"0/powerdc", fixed(v.dcW, 1))
		pub(sn+"0/yieldday", strconv.FormatInt(day, 10))
		pub(sn+"0/yieldtotal", kWh3(total))
		pub(sn+"0/temperature", fixed(v.tempC, 1))
		pub(sn+"0/efficiency", fixed(v.efficiencyPct, 3))
	}
	pub("ac/power", fixed(acW, 1))
	pub("ac/yieldtotal", kWh3(yieldTotal))
	pub("ac/yieldday", strconv.FormatInt(yieldDay, 10))
	pub("ac/is_valid", boolDigit(allReachable))
	pub("dc/power", fixed(dcW, 1))
	irr := 0.0
	if moduleW > 0 {
		irr = dcW / moduleW * 100
	}
	pub("dc/irradiation", fixed(irr, 3))
	pub("dc/is_valid", boolDigit(allReachable))
	pub("dtu/uptime", strconv.FormatInt(int64(now.Sub(d.boot)/time.Second), 10))
	pub("dtu/ip", "192.0.2.10") // TEST-NET-1: obviously not a real device
	pub("dtu/hostname", d.hostname)
	pub("dtu/rssi", "-62")
	return msgs
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
