package firmwaresim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// go-eCharger API v2 over MQTT as the firmware does it
// (goecharger/go-eCharger-API-v2 mqtt-en.md and apikeys-en.md; captures
// in shared/payloads/goe.md and third-party issue threads):
//
//   - One retained topic per API key, <prefix><serial>/<key>, JSON
//     payloads. Every cycle: amp, ama, mca, frc, alw, acu, car, nrg, wh,
//     eto (QoS 0). mcc true retained after connect, false retained as the
//     MQTT will (QoS 1).
//   - nrg, 16 numbers in the official order: U L1 L2 L3 N (V), I L1 L2
//     L3 (A), P L1 L2 L3 N Total (W), pf L1 L2 L3 N (%); [11] is P_Total.
//     eto is the lifetime energy (whole Wh), wh the session's (Wh since
//     the car was plugged in, kept until the next plug-in).
//   - car: 1 idle (no car), 2 charging, 3 wait car (plugged, not
//     charging), 4 complete (the car's need is met). alw: the car may
//     charge now (false while frc is 1). acu: the current the car may
//     draw now, A (0 while not allowed or without a car).
//   - Writes: <prefix><serial>/<key>/set with a JSON value. The charger
//     answers on <key>/result, not retained, "success" and then publishes
//     the key's new value; or the error text: "invalid json <code>:
//     <payload>" (code EmptyInput, IncompleteInput or InvalidInput, after
//     ArduinoJson; a bare word gives IncompleteInput as in the vendor's
//     example "new_name"), "<key>: failed: Value 5 exceeds range 6 to 16
//     (5)" (the firmware's text, quoted in an evcc issue; the range is
//     mca..ama here), other failures in the same shape (sim wording).
//     amp/set takes an integer in mca..ama; frc/set 0 (neutral), 1 (stop),
//     2 (charge). The new value takes effect at the next cycle.
//
// Physics: a car draws amp (at most ama) on each of its phases; its power
// is amp × the phase voltage × phases, reported in nrg and integrated
// into wh and eto. The step that meets the need charges only the rest,
// and the step of an arrival only the time since; both report the
// interval's average power, so the counters remain the integral of what
// is reported. The step after the need is met reports car 4.
// In neutral (frc 0) the charger always allows charging: no schedule,
// price or PV logic is simulated.
//
// Sessions follow a deterministic schedule on the sim clock: the first
// car plugs in Config.GoE[i].FirstArrival after New (default at once)
// needing SessionWh (default: drawn per session from the seed, 5..20 kWh
// in 0.1 kWh steps); a complete car stays plugged 30 minutes; the next
// car arrives 1..4 hours (drawn from the seed) after that.
//
// With GoEConfig.Habits the cars follow real sessions instead
// (evsessions.go), on the profile clock: a car plugs in at its session's
// plug-in time and leaves at its plug-out time, full or not. It needs the
// session's energy divided by Config.Speed: power stays real while
// profile time runs Speed times faster, so a car that filled up in the
// data in a third of its stay fills up in a third of its stay here. It
// leaves at the first step at or after its plug-out time (the energy
// counters stay the integral of the reported power). A session is
// curtailed when, while its car still needed energy, a setpoint held it
// below the charger's maximum (amp below ama, or frc 1); the charger's
// session log (Sim.EVSessions) says so, and how much was delivered.

const (
	goeQoS = 0
	// goeDwell is how long a complete car stays plugged in.
	goeDwell = 30 * time.Minute
)

// go-e car states.
const (
	goeCarIdle     = 1
	goeCarCharging = 2
	goeCarWait     = 3
	goeCarComplete = 4
)

// GoEConfig is one go-eCharger (HOME+, HOMEfix, Gemini), API v2 over MQTT.
type GoEConfig struct {
	// Serial is the charger's serial, 6 to 8 decimal digits, e.g.
	// "200001". Required.
	Serial string
	// Prefix is the MQTT topic prefix (the charger's mtp), ending in '/';
	// default "go-eCharger/". It may start with '/', as some chargers'.
	Prefix string
	// Phases is how many phases the car charges on, 1 or 3; default 3.
	Phases int
	// MaxCurrent is ama, the largest current amp may be set to, A,
	// 6..32; default 16 (11 kW on three phases).
	MaxCurrent int
	// MinCurrent is mca, the smallest, A, 6..MaxCurrent; default 6.
	MinCurrent int
	// Voltage is the nominal phase voltage, V; default 230.
	Voltage float64
	// SessionWh is the energy each car needs, Wh; 0: drawn per session
	// from the seed, 5000..20000 Wh.
	SessionWh float64
	// FirstArrival is when the first car plugs in, after New (sim
	// clock); 0: at once. Not with Habits.
	FirstArrival time.Duration
	// Habits, when set, replaces the fixed schedule by real residential
	// sessions on the profile clock (see EVHabits); SessionWh must be 0.
	Habits *EVHabits
}

// EVSession is one finished car session of a go-eCharger.
type EVSession struct {
	Charger string // serial
	Number  int    // the charger's session count, from 1
	// Arrived and Departed are profile-clock times; ArrivedSim and
	// DepartedSim the sim-clock times of the same moments (departure: the
	// step the car left at).
	Arrived, Departed       time.Time
	ArrivedSim, DepartedSim time.Time
	NeedWh                  float64 // what the car wanted, Wh (the data's energy / Speed)
	DeliveredWh             float64 // what it got, Wh
	// MaxW is the charger's maximum power (ama × phases × nominal
	// voltage), W: with it the car needed NeedWh / MaxW hours.
	MaxW float64
	// Full is true when the need was met before the car left.
	Full bool
	// Curtailed is true when a setpoint held the car below MaxW while it
	// still needed energy.
	Curtailed bool
}

// EVStats sums a charger's finished sessions.
type EVStats struct {
	Sessions    int     // finished sessions
	Full        int     // ... whose car left full
	Curtailed   int     // ... held back by a setpoint
	NeedWh      float64 // what the cars wanted, Wh
	DeliveredWh float64 // what they got, Wh
}

// Add adds o to st.
func (st *EVStats) Add(o EVStats) {
	st.Sessions += o.Sessions
	st.Full += o.Full
	st.Curtailed += o.Curtailed
	st.NeedWh += o.NeedWh
	st.DeliveredWh += o.DeliveredWh
}

// evLogSize is how many finished sessions a charger remembers.
const evLogSize = 64

// goeCharger is one simulated go-eCharger.
type goeCharger struct {
	id, serial, base string // MQTT client ID, serial, <prefix><serial>/
	phases           int
	ama, mca         int
	nominalV         float64
	sessionWh        float64
	seed             uint64
	rng              *rand.Rand

	// Kept in State.
	etoWh, whSession, needWh float64
	car, session, amp        int
	nextEvent                time.Time // sim-clock time of the next arrival (car 1) or unplug (car 4)

	frc                    int // volatile: neutral after a restart (inferred)
	phaseV, phaseA, phaseW [3]float64
	lastStep               time.Time

	// Habits mode (nil habit: the fixed schedule).
	habit      *evHabit
	atOnce     bool     // the first car plugs in at once
	tm         *timeMap // profile ↔ sim clock
	plan       evPlan   // the coming or current session, profile clock
	arrivedSim time.Time
	curtailed  bool // the current session was held back by a setpoint
	log        []EVSession
	evStats    EVStats
}

func newGoECharger(gc GoEConfig, field, clientPrefix string, seed uint64, now time.Time) (*goeCharger, error) {
	if n := len(gc.Serial); n < 6 || n > 8 || strings.Trim(gc.Serial, "0123456789") != "" {
		return nil, invalid("%s.Serial %q: want 6 to 8 decimal digits, e.g. 200001", field, gc.Serial)
	}
	prefix := gc.Prefix
	if prefix == "" {
		prefix = DefaultGoEPrefix
	}
	if !strings.HasSuffix(prefix, "/") || prefix == "/" || strings.ContainsAny(prefix, "+#\x00") || strings.Contains(strings.TrimPrefix(prefix, "/"), "//") {
		return nil, invalid("%s.Prefix %q: want MQTT levels ending in '/', e.g. %q", field, gc.Prefix, DefaultGoEPrefix)
	}
	phases := gc.Phases
	if phases == 0 {
		phases = DefaultGoEPhases
	}
	if phases != 1 && phases != 3 {
		return nil, invalid("%s.Phases %d: want 1 or 3", field, gc.Phases)
	}
	ama, mca := gc.MaxCurrent, gc.MinCurrent
	if ama == 0 {
		ama = DefaultGoEMaxCurrent
	}
	if mca == 0 {
		mca = DefaultGoEMinCurrent
	}
	if ama < 6 || ama > 32 {
		return nil, invalid("%s.MaxCurrent %d A: want 6..32", field, gc.MaxCurrent)
	}
	if mca < 6 || mca > ama {
		return nil, invalid("%s.MinCurrent %d A: want 6..MaxCurrent (%d)", field, gc.MinCurrent, ama)
	}
	v := gc.Voltage
	if v == 0 {
		v = DefaultVoltage
	}
	if !(v >= 50 && v <= 480) {
		return nil, invalid("%s.Voltage %v V: want 50..480", field, gc.Voltage)
	}
	if !(gc.SessionWh >= 0 && gc.SessionWh <= 1e6) {
		return nil, invalid("%s.SessionWh %v: want 0 (drawn from the seed) or up to 1e6 Wh", field, gc.SessionWh)
	}
	if gc.FirstArrival < 0 {
		return nil, invalid("%s.FirstArrival %v: must not be negative", field, gc.FirstArrival)
	}
	var habit *evHabit
	if gc.Habits != nil {
		if gc.SessionWh != 0 || gc.FirstArrival != 0 {
			return nil, invalid("%s.Habits: the sessions come from the data; leave SessionWh and FirstArrival 0", field)
		}
		var err error
		if habit, err = newEVHabit(gc.Habits, field+".Habits", gc.Serial, seed); err != nil {
			return nil, err
		}
	}
	return &goeCharger{
		habit: habit, atOnce: gc.Habits != nil && gc.Habits.PluggedAtStart,
		id: clientPrefix + "go-echarger-" + gc.Serial, serial: gc.Serial, base: prefix + gc.Serial + "/",
		phases: phases, ama: ama, mca: mca, nominalV: v, sessionWh: gc.SessionWh, seed: seed,
		rng: deviceRand(seed, "goe/"+gc.Serial),
		car: goeCarIdle, amp: ama, nextEvent: now.Add(gc.FirstArrival),
		phaseV: [3]float64{v, v, v},
	}, nil
}

// sessionDraw is session n's random stream: the same for a seed, serial
// and session whenever the session happens.
func (g *goeCharger) sessionDraw(n int) *rand.Rand {
	return deviceRand(g.seed, fmt.Sprintf("goe-session/%s/%d", g.serial, n))
}

// needOf is the energy session n's car needs, Wh.
func (g *goeCharger) needOf(n int) float64 {
	if g.sessionWh > 0 {
		return g.sessionWh
	}
	return 5000 + math.Round(g.sessionDraw(n).Float64()*150)*100
}

// gapAfter is the time from session n's unplugging to the next arrival.
func (g *goeCharger) gapAfter(n int) time.Duration {
	r := g.sessionDraw(n)
	r.Float64() // the need's draw
	return (time.Hour + time.Duration(r.Float64()*float64(3*time.Hour))).Truncate(time.Second)
}

func (g *goeCharger) allowed() bool { return g.frc != 1 }

// current is what the car may draw while allowed, A.
func (g *goeCharger) current() int { return min(g.amp, g.ama) }

// maxW is the charger's maximum power, W.
func (g *goeCharger) maxW() float64 { return float64(g.ama*g.phases) * g.nominalV }

// advance moves the charger to sim time now, profile time pt: the
// session schedule, then charging.
func (g *goeCharger) advance(now, pt time.Time) {
	if g.habit != nil {
		g.advanceHabits(now, pt)
		return
	}
	prev := g.lastStep
	from := prev
	if now.After(g.lastStep) {
		g.lastStep = now
	}
	switch g.car {
	case goeCarIdle:
		if !now.Before(g.nextEvent) {
			g.session++
			g.needWh, g.whSession, g.car = g.needOf(g.session), 0, goeCarWait
			if g.nextEvent.After(from) {
				from = g.nextEvent // the car charges from its arrival on
			}
		}
	case goeCarComplete:
		if !now.Before(g.nextEvent) {
			g.car, g.nextEvent = goeCarIdle, now.Add(g.gapAfter(g.session))
		}
	case goeCarCharging, goeCarWait:
		if g.whSession >= g.needWh {
			g.car, g.nextEvent = goeCarComplete, now.Add(goeDwell)
		}
	}
	g.charge(prev, from, now)
}

// advanceHabits is advance with EVHabits: arrivals and departures on the
// profile clock.
func (g *goeCharger) advanceHabits(now, pt time.Time) {
	prev := g.lastStep
	from := prev
	if now.After(g.lastStep) {
		g.lastStep = now
	}
	if g.plan.arrive.IsZero() {
		g.plan = g.habit.plan(g.session+1, pt, true, g.atOnce)
	}
	if g.car == goeCarIdle && !pt.Before(g.plan.arrive) {
		g.session++
		g.needWh, g.whSession, g.car = g.plan.kWh*1000/g.tm.speed, 0, goeCarWait
		g.curtailed = false
		g.arrivedSim = g.tm.sim(g.plan.arrive)
		if g.arrivedSim.After(from) && g.arrivedSim.Before(now) {
			from = g.arrivedSim // the car charges from its arrival on
		}
		if g.arrivedSim.After(now) || g.arrivedSim.Before(prev) {
			g.arrivedSim = now // arrived within a step the clock jumped over
		}
	}
	if (g.car == goeCarCharging || g.car == goeCarWait) && g.whSession >= g.needWh {
		g.car = goeCarComplete // stays plugged until it leaves
	}
	if g.car != goeCarIdle && g.whSession < g.needWh && (!g.allowed() || g.current() < g.ama) {
		g.curtailed = true
	}
	g.charge(prev, from, now)
	if g.car != goeCarIdle && !pt.Before(g.plan.depart) {
		g.depart(now)
	}
}

// depart ends the current session at sim time now: the car leaves and the
// next session is drawn.
func (g *goeCharger) depart(now time.Time) {
	full := g.whSession >= g.needWh
	rec := EVSession{
		Charger: g.serial, Number: g.session,
		Arrived: g.plan.arrive, Departed: g.plan.depart, ArrivedSim: g.arrivedSim, DepartedSim: now,
		NeedWh: g.needWh, DeliveredWh: g.whSession, MaxW: g.maxW(), Full: full, Curtailed: g.curtailed,
	}
	if len(g.log) == evLogSize {
		copy(g.log, g.log[1:])
		g.log = g.log[:evLogSize-1]
	}
	g.log = append(g.log, rec)
	g.evStats.Add(EVStats{Sessions: 1, Full: b2i(full), Curtailed: b2i(g.curtailed), NeedWh: g.needWh, DeliveredWh: g.whSession})
	// The step's power stays what it was: the car charged until the end
	// of the step, and the counters hold that energy.
	g.car = goeCarIdle
	g.plan = g.habit.plan(g.session+1, g.plan.depart, false, false)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// charge draws the step's voltages and charges the car over [from, now]
// of the step [prev, now], reporting the step's average power.
func (g *goeCharger) charge(prev, from, now time.Time) {
	dt := hoursSince(prev, now)       // the interval the reported power stands for
	charging := hoursSince(from, now) // the part of it the car was plugged in
	// Three draws every step, charging or not.
	for i := range g.phaseV {
		g.phaseV[i] = clamp(g.nominalV+1.0*g.rng.NormFloat64(), 0.9*g.nominalV, 1.1*g.nominalV)
	}
	g.phaseA, g.phaseW = [3]float64{}, [3]float64{}
	if g.car != goeCarCharging && g.car != goeCarWait {
		return
	}
	if !g.allowed() {
		g.car = goeCarWait
		return
	}
	g.car = goeCarCharging
	a, total := float64(g.current()), 0.0
	for i := range g.phases {
		g.phaseA[i], g.phaseW[i] = a, a*g.phaseV[i]
		total += g.phaseW[i]
	}
	// The car takes only what it still needs, and nothing before it
	// arrived; the reported power is the interval's average, so the
	// counters stay the integral of what is reported.
	rest := g.needWh - g.whSession
	e := math.Min(total*charging, rest)
	if dt > 0 && e < total*dt {
		f := e / (total * dt)
		for i := range g.phases {
			g.phaseA[i] *= f
			g.phaseW[i] *= f
		}
	}
	g.whSession += e
	g.etoWh += e
	if e == rest {
		g.whSession = g.needWh // exactly, whatever the float rounding of the sum
	}
}

func (g *goeCharger) totalW() float64 { return g.phaseW[0] + g.phaseW[1] + g.phaseW[2] }

func (g *goeCharger) msg(key, payload string, retained bool) Message {
	return Message{Device: g.id, Topic: g.base + key, Payload: payload, QoS: goeQoS, Retained: retained}
}

// jnum formats v as ArduinoJson prints a double: the shortest form.
func jnum(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func (g *goeCharger) nrg() string {
	vals := make([]string, 0, 16)
	for _, v := range g.phaseV {
		vals = append(vals, jnum(round(v, 1)))
	}
	vals = append(vals, "0") // U_N
	for _, a := range g.phaseA {
		vals = append(vals, jnum(round(a, 2)))
	}
	for _, w := range g.phaseW {
		vals = append(vals, jnum(round(w, 1)))
	}
	vals = append(vals, "0", jnum(round(g.totalW(), 1))) // P_N, P_Total
	for _, a := range g.phaseA {
		pf := 0.0
		if a > 0 {
			pf = 99
		}
		vals = append(vals, jnum(pf))
	}
	vals = append(vals, "0") // pf_N
	return "[" + strings.Join(vals, ",") + "]"
}

func (g *goeCharger) acu() int {
	if !g.allowed() || g.car == goeCarIdle {
		return 0
	}
	return g.current()
}

// cycle publishes every key, retained.
func (g *goeCharger) cycle(time.Time) []Message {
	itoa := strconv.Itoa
	return []Message{
		g.msg("amp", itoa(g.amp), true),
		g.msg("ama", itoa(g.ama), true),
		g.msg("mca", itoa(g.mca), true),
		g.msg("frc", itoa(g.frc), true),
		g.msg("alw", strconv.FormatBool(g.allowed()), true),
		g.msg("acu", itoa(g.acu()), true),
		g.msg("car", itoa(g.car), true),
		g.msg("nrg", g.nrg(), true),
		g.msg("wh", jnum(math.Floor(g.whSession*1000)/1000), true),
		g.msg("eto", strconv.FormatInt(wholeWh(g.etoWh), 10), true),
	}
}

func (g *goeCharger) clientID() string { return g.id }

// setSkew does nothing: the simulated keys carry no timestamp.
func (g *goeCharger) setSkew(time.Duration) {}

// reboot restarts the charger: eto from 0 (fault injection), frc back to
// neutral. A plugged car stays, and so does its session.
func (g *goeCharger) reboot(time.Time) { g.etoWh, g.frc = 0, 0 }

func (g *goeCharger) will() Message {
	return Message{Device: g.id, Topic: g.base + "mcc", Payload: "false", QoS: availabilityQoS, Retained: true}
}

func (g *goeCharger) onConnect(time.Time) []Message {
	return []Message{{Device: g.id, Topic: g.base + "mcc", Payload: "true", QoS: availabilityQoS, Retained: true}}
}

func (g *goeCharger) subscriptions() []string { return []string{g.base + "+/set"} }

// handle applies <prefix><serial>/<key>/set.
func (g *goeCharger) handle(_ time.Time, topic string, payload []byte, _ bool) ([]Message, bool, string) {
	rest, ok := strings.CutPrefix(topic, g.base)
	key, isSet := strings.CutSuffix(rest, "/set")
	if !ok || !isSet || key == "" || strings.Contains(key, "/") {
		return nil, false, "not <prefix><serial>/<key>/set"
	}
	result := func(text string) Message { return g.msg(key+"/result", text, false) }
	v, code := goeJSON(payload)
	if code != "" {
		text := "invalid json " + code + ": " + string(payload)
		return []Message{result(text)}, false, text
	}
	fail := func(format string, args ...any) ([]Message, bool, string) {
		text := key + ": failed: " + fmt.Sprintf(format, args...)
		return []Message{result(text)}, false, text
	}
	var lo, hi int
	switch key {
	case "amp":
		lo, hi = g.mca, g.ama
	case "frc":
		lo, hi = 0, 2
	default:
		return fail("key not writable in the simulator")
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return fail("Value %s is not a number", bytes.TrimSpace(payload))
	}
	i, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != math.Trunc(f) {
			return fail("Value %s is not an integer", n)
		}
		i = int64(math.Max(math.MinInt64/2, math.Min(math.MaxInt64/2, f))) // range-checked below
	}
	if i < int64(lo) || i > int64(hi) {
		return fail("Value %s exceeds range %d to %d (%s)", n, lo, hi, n)
	}
	if key == "amp" {
		g.amp = int(i)
	} else {
		g.frc = int(i)
	}
	return []Message{result("success"), g.msg(key, strconv.FormatInt(i, 10), true)}, true, ""
}

// goeJSON parses a /set payload as the charger does (ArduinoJson: the
// first value counts, trailing bytes are not read). code names the
// parse error, "" when the payload is valid.
func goeJSON(payload []byte) (v any, code string) {
	p := bytes.TrimSpace(payload)
	if len(p) == 0 {
		return nil, "EmptyInput"
	}
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || isBareWord(p) {
			return nil, "IncompleteInput"
		}
		return nil, "InvalidInput"
	}
	return v, ""
}

// isBareWord reports whether p is an unquoted word like new_name.
func isBareWord(p []byte) bool {
	for _, c := range p {
		if !(c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return len(p) > 0 && !(p[0] >= '0' && p[0] <= '9' || p[0] == '-')
}
