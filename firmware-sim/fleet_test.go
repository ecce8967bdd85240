package firmwaresim

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// allKindsSpecs cover every dialect and device kind a fleet generates.
var allKindsSpecs = []HomeSpec{
	{PV: DialectOpenDTU, Battery: true, EV: true, TasmotaPlug: true, House: HouseH25},
	{PV: DialectAhoy, Battery: true, ShellyMeter: true, EV: true, ShellyPlug: true, House: HouseAusgrid},
	{PV: DialectOpenDTU, ShellyMeter: true, EV: true},
	{PV: DialectAhoy, EV: true, TasmotaPlug: true, ShellyPlug: true},
}

// newTestFleet builds a fleet of the allKindsSpecs homes (and more drawn
// from the default mix when homes > 4) on a fake clock at t0.
func newTestFleet(t testing.TB, t0 time.Time, homes int, mod func(*FleetConfig)) (*Fleet, *fakeClock) {
	t.Helper()
	clk := newFakeClock(t0)
	cfg := FleetConfig{
		Homes: homes, Specs: allKindsSpecs[:min(homes, len(allKindsSpecs))], Seed: 3, Speed: 60, Period: 5 * time.Second,
		ProfileStart: t0, Clock: clk, Sizes: Sizes{Inverters: Range{1, 2}, EVOnePhase: 0.25},
	}
	if mod != nil {
		mod(&cfg)
	}
	f, err := NewFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, clk
}

// keepAliveAll sends every GX of the fleet a keep-alive, as a node does,
// and returns the full republishes.
func keepAliveAll(f *Fleet, payload string) []Message {
	var out []Message
	for _, s := range f.Homes() {
		for _, gx := range s.gxs {
			out = append(out, s.command(gx, "R/"+gx.portal+"/keepalive", []byte(payload), false)...)
		}
	}
	return out
}

// stepFleet steps the fleet from t0 every step for d (sim clock), keeping
// the GXs alive, and calls each with the step's time and messages.
func stepFleet(f *Fleet, clk *fakeClock, t0 time.Time, step, d time.Duration, each func(now time.Time, msgs []Message)) {
	for now := t0; !now.After(t0.Add(d)); now = now.Add(step) {
		clk.Set(now)
		var msgs []Message
		if now.Sub(t0)%(30*time.Second) == 0 {
			msgs = keepAliveAll(f, "")
		}
		msgs = append(msgs, f.Step(now)...)
		if each != nil {
			each(now, msgs)
		}
	}
}

// counter is one energy counter checked against the integral of a power.
type counter struct {
	name      string
	topic     string
	read      func(payload string) float64 // Wh
	integrand func(w float64) float64
	first     float64
	last      float64
	seen      bool
	integral  float64 // Wh since first
}

// meter is one published power and the counters that integrate it.
type meter struct {
	device       string
	topic        string
	read         func(payload string) float64 // W
	zeroIfAbsent bool                         // no message this cycle means 0 W (an inverter at night)
	power        float64
	counters     []*counter
}

func jsonPath(payload string, path ...string) float64 {
	var v any
	if json.Unmarshal([]byte(payload), &v) != nil {
		return math.NaN()
	}
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, _ := strconv.Atoi(p)
			if i >= len(x) {
				return math.NaN()
			}
			v = x[i]
		default:
			return math.NaN()
		}
	}
	f, ok := v.(float64)
	if !ok {
		return math.NaN()
	}
	return f
}

func num(p string) float64 {
	v, err := strconv.ParseFloat(p, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

func pos(w float64) float64 { return math.Max(w, 0) }
func neg(w float64) float64 { return math.Max(-w, 0) }
func id(w float64) float64  { return w }

// metersOf lists, for every device of the fleet, its published power and
// the counters that must be its integral.
func metersOf(f *Fleet) []*meter {
	var ms []*meter
	kWh := func(read func(string) float64) func(string) float64 {
		return func(p string) float64 { return read(p) * 1000 }
	}
	add := func(device, topic string, read func(string) float64, zero bool, cs ...*counter) {
		ms = append(ms, &meter{device: device, topic: topic, read: read, zeroIfAbsent: zero, counters: cs})
	}
	for _, s := range f.Homes() {
		for _, d := range s.dtus {
			for _, inv := range d.inverters {
				b := d.baseTopic + inv.serial + "/"
				add(inv.serial, b+"0/power", num, true, &counter{name: "yieldtotal", topic: b + "0/yieldtotal", read: kWh(num), integrand: id})
			}
		}
		for _, a := range s.ahoys {
			for _, inv := range a.inverters {
				b := a.topic + "/" + inv.name + "/"
				add(inv.name, b+"ch0/P_AC", num, true, &counter{name: "YieldTotal", topic: b + "ch1/YieldTotal", read: kWh(num), integrand: id})
			}
		}
		for _, p := range s.plugs {
			sensor := "tele/" + p.topic + "/SENSOR"
			add(p.topic, sensor, func(x string) float64 { return jsonPath(x, "ENERGY", "Power") }, false,
				&counter{name: "Total", topic: sensor, read: kWh(func(x string) float64 { return jsonPath(x, "ENERGY", "Total") }), integrand: id})
		}
		for _, p := range s.shellyPlugs {
			st := p.prefix + "/status/switch:0"
			add(p.id, st, func(x string) float64 { return jsonPath(x, "apower") }, false,
				&counter{name: "aenergy.total", topic: st, read: func(x string) float64 { return jsonPath(x, "aenergy", "total") }, integrand: id})
		}
		for _, m := range s.shellyMeters {
			for _, ph := range []string{"a", "b", "c"} {
				add(m.id+"/"+ph, m.prefix+"/status/em:0", func(x string) float64 { return jsonPath(x, ph+"_act_power") }, false,
					&counter{name: ph + "_total_act_energy", topic: m.prefix + "/status/emdata:0", read: func(x string) float64 { return jsonPath(x, ph+"_total_act_energy") }, integrand: pos},
					&counter{name: ph + "_total_act_ret_energy", topic: m.prefix + "/status/emdata:0", read: func(x string) float64 { return jsonPath(x, ph+"_total_act_ret_energy") }, integrand: neg})
			}
		}
		for _, gx := range s.gxs {
			n := "N/" + gx.portal + "/"
			val := func(x string) float64 { return jsonPath(x, "value") }
			add(gx.portal+"/battery", n+gx.paths.batW, val, false,
				&counter{name: "ChargedEnergy", topic: n + gx.paths.batCharged, read: kWh(val), integrand: pos},
				&counter{name: "DischargedEnergy", topic: n + gx.paths.batDis, read: kWh(val), integrand: neg})
			add(gx.portal+"/grid", n+gx.paths.gridW, val, false,
				&counter{name: "Forward", topic: n + gx.paths.gridFwd, read: kWh(val), integrand: pos},
				&counter{name: "Reverse", topic: n + gx.paths.gridRev, read: kWh(val), integrand: neg})
		}
		for _, g := range s.goes {
			add(g.serial, g.base+"nrg", func(x string) float64 { return jsonPath(x, "11") }, false,
				&counter{name: "eto", topic: g.base + "eto", read: num, integrand: id})
		}
	}
	return ms
}

// TestFleetEnergyConservation: over 30 sim-clock minutes at speed 60 (30
// profile hours: a night and a day, cars coming and going, batteries
// following self-consumption), every energy counter every device of every
// dialect publishes equals the integral of the power it publishes, over
// the sim clock, within 2 Wh (counters are truncated to whole Wh and
// power is rounded to 1 W at worst: 0.5 W × 0.5 h) plus 0.1 %.
func TestFleetEnergyConservation(t *testing.T) {
	t0 := time.Date(2025, 6, 20, 20, 0, 0, 0, time.UTC)
	f, clk := newTestFleet(t, t0, 6, nil)
	ms := metersOf(f)
	var last time.Time
	stepFleet(f, clk, t0, 5*time.Second, 30*time.Minute, func(now time.Time, msgs []Message) {
		dt := hoursSince(last, now)
		last = now
		byT := map[string]string{}
		for _, m := range msgs {
			byT[m.Topic] = m.Payload
		}
		for _, m := range ms {
			if p, ok := byT[m.topic]; ok {
				m.power = m.read(p)
			} else if m.zeroIfAbsent {
				m.power = 0
			}
			if math.IsNaN(m.power) {
				t.Fatalf("%v %s: power %q does not parse", now, m.topic, byT[m.topic])
			}
			for _, c := range m.counters {
				if c.seen {
					c.integral += c.integrand(m.power) * dt
				}
				if p, ok := byT[c.topic]; ok {
					v := c.read(p)
					if math.IsNaN(v) {
						t.Fatalf("%v %s: counter %q does not parse", now, c.topic, p)
					}
					if c.seen && v < c.last {
						t.Fatalf("%v %s %s went down from %v to %v", now, m.device, c.name, c.last, v)
					}
					if !c.seen {
						c.first, c.seen = v, true
					}
					c.last = v
				}
			}
		}
	})
	checked, energetic := 0, 0
	for _, m := range ms {
		for _, c := range m.counters {
			if !c.seen {
				t.Errorf("%s %s: never published", m.device, c.name)
				continue
			}
			got := c.last - c.first
			if tol := 2 + 0.001*c.integral; math.Abs(got-c.integral) > tol {
				t.Errorf("%s %s: counter grew %.3f Wh, its power integrates to %.3f Wh (tolerance %.3f)", m.device, c.name, got, c.integral, tol)
			}
			checked++
			if got > 50 {
				energetic++
			}
		}
	}
	t.Logf("%d counters of %d devices checked, %d grew by more than 50 Wh", checked, len(ms), energetic)
	// The check means something only if energy flowed.
	if checked < 30 || energetic < checked/3 {
		t.Fatalf("%d counters checked, only %d grew by more than 50 Wh", checked, energetic)
	}
	if st := f.Stats(); st.EV.Sessions == 0 {
		t.Errorf("no EV session finished in 30 profile hours: %+v", st.EV)
	}
}

// TestFleetBatterySoCLimits drives small batteries with random, often
// absurd ESS setpoints and self-consumption for three sim hours: the SoC
// never leaves [MinSoCPct, MaxSoCPct], neither inside nor as published,
// and the limits are reached (so they were tested).
func TestFleetBatterySoCLimits(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 6, 0, 0, 0, time.UTC)
	f, clk := newTestFleet(t, t0, 8, func(c *FleetConfig) {
		c.Specs = nil
		c.Mix = Mix{OpenDTU: 1, Battery: 1, EV: 1}
		c.Sizes.BatteryKWh = Range{0.5, 1.5}
		c.Sizes.BatteryW = Range{3000, 5000}
		c.Sizes.MinSoCPct = Range{10, 30}
	})
	r := deviceRand(9, "soc-test")
	atMin, atMax := 0, 0
	stepFleet(f, clk, t0, 20*time.Second, 3*time.Hour, func(now time.Time, msgs []Message) {
		for _, s := range f.Homes() {
			gx := s.gxs[0]
			b := gx.bat
			lo, hi := b.minWh/b.capWh*100, b.maxWh/b.capWh*100
			soc := b.socPct()
			if soc < lo-1e-9 || soc > hi+1e-9 {
				t.Fatalf("%v %s: SoC %v outside [%v, %v]", now, gx.portal, soc, lo, hi)
			}
			if soc <= lo+1e-6 {
				atMin++
			}
			if soc >= hi-1e-6 {
				atMax++
			}
			if p, ok := lastPayload(msgs, "N/"+gx.portal+"/"+gx.paths.batSoC); ok {
				if v := jsonPath(p, "value"); v < math.Floor(lo*10)/10-0.05 || v > hi+0.05 {
					t.Fatalf("%v %s: published Soc %v outside [%v, %v]", now, gx.portal, v, lo, hi)
				}
			}
			// A new setpoint now and then: huge, negative, zero or
			// back to self-consumption.
			if r.IntN(10) == 0 {
				payload := []string{`{"value":30000}`, `{"value":-30000}`, `{"value":0}`, `{"value":null}`, `{"value":2500}`, `{"value":-1800}`}[r.IntN(6)]
				s.command(gx, "W/"+gx.portal+"/"+gx.paths.setpoint, []byte(payload), false)
			}
		}
	})
	if atMin == 0 || atMax == 0 {
		t.Fatalf("the batteries never reached their limits (min %d, max %d times): the test tested nothing", atMin, atMax)
	}
}

func lastPayload(msgs []Message, topic string) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Topic == topic {
			return msgs[i].Payload, true
		}
	}
	return "", false
}

// TestFleetEVSessions runs ten homes' chargers for 16 profile days at
// speed 60, stepping every 20 s (20 profile minutes). Uncurtailed sessions whose need the charger could meet in the
// car's stay deliver exactly the need; the chargers held at 6 A by a
// setpoint curtail their sessions, which say so and deliver less than the
// need when 6 A could not meet it.
func TestFleetEVSessions(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
	const step = 20 * time.Second
	f, clk := newTestFleet(t, t0, 10, func(c *FleetConfig) {
		c.Specs = nil
		c.Mix = Mix{OpenDTU: 1, EV: 1}
		c.Period = step
	})
	held := map[string]bool{} // chargers held at 6 A
	for i, s := range f.Homes() {
		if i%2 == 0 {
			g := s.goes[0]
			held[g.serial] = true
			if _, ok, why := g.handle(t0, g.base+"amp/set", []byte("6"), false); !ok {
				t.Fatalf("amp/set 6: %s", why)
			}
		}
	}
	// The chargers' eto is the integral of their nrg power, cars leaving
	// mid-charge included.
	ms := metersOf(f)
	var last time.Time
	stepFleet(f, clk, t0, step, 6*time.Hour+24*time.Minute, func(now time.Time, msgs []Message) {
		dt := hoursSince(last, now)
		last = now
		byT := map[string]string{}
		for _, m := range msgs {
			byT[m.Topic] = m.Payload
		}
		for _, m := range ms {
			if p, ok := byT[m.topic]; ok {
				m.power = m.read(p)
			}
			for _, c := range m.counters {
				if c.seen {
					c.integral += c.integrand(m.power) * dt
				}
				if p, ok := byT[c.topic]; ok {
					c.last = c.read(p)
					if !c.seen {
						c.first, c.seen = c.last, true
					}
				}
			}
		}
	})
	for _, m := range ms {
		for _, c := range m.counters {
			if c.name == "eto" && math.Abs(c.last-c.first-c.integral) > 2+0.001*c.integral {
				t.Errorf("%s: eto grew %.1f Wh, nrg integrates to %.1f Wh", m.device, c.last-c.first, c.integral)
			}
		}
	}
	sessions := f.EVSessions()
	if len(sessions) < 30 {
		t.Fatalf("only %d sessions in 16 profile days of 10 homes", len(sessions))
	}
	var full, curtailed, short int
	for _, s := range sessions {
		stay := s.DepartedSim.Sub(s.ArrivedSim).Hours()
		if s.DeliveredWh > s.NeedWh+1e-9 {
			t.Errorf("%+v: delivered more than the need", s)
		}
		if s.Full != (s.DeliveredWh >= s.NeedWh) {
			t.Errorf("%+v: Full disagrees with the energies", s)
		}
		if held[s.Charger] {
			// Held at 6 A while needing energy: curtailed, unless the car
			// was already full... which needs energy first.
			if s.NeedWh > 0 && !s.Curtailed {
				t.Errorf("%+v: held at 6 A but not marked curtailed", s)
			}
			sixA := 6 * s.MaxW / 16 // the charger's 16 A at 6 A
			if s.NeedWh > sixA*stay*1.02 && s.Full {
				t.Errorf("%+v: full although 6 A for %.2f h cannot give %.1f Wh", s, stay, s.NeedWh)
			}
			if !s.Full {
				short++
			}
			curtailed++
			continue
		}
		if s.Curtailed {
			t.Errorf("%+v: curtailed without a setpoint", s)
		}
		// The step of the arrival and the 1 % voltage noise aside, the
		// charger could deliver MaxW for the whole stay.
		if s.NeedWh <= 0.97*s.MaxW*(stay-step.Hours()) {
			if !s.Full || math.Abs(s.DeliveredWh-s.NeedWh) > 1e-6 {
				t.Errorf("%+v: uncurtailed, feasible, but delivered %.3f of %.3f Wh", s, s.DeliveredWh, s.NeedWh)
			}
			full++
		}
	}
	t.Logf("%d sessions: %d uncurtailed and feasible (all full), %d curtailed (%d left before full)", len(sessions), full, curtailed, short)
	if full < 10 || curtailed < 10 || short == 0 {
		t.Fatalf("too few sessions of each kind to mean anything: %d full uncurtailed, %d curtailed (%d short)", full, curtailed, short)
	}
	st := f.Stats()
	if st.EV.Sessions != len(sessions) || st.EV.Curtailed != curtailed {
		t.Errorf("stats %+v disagree with the %d sessions (%d curtailed)", st.EV, len(sessions), curtailed)
	}
}

// TestFleetSameSeedSameOutput: two fleets with the same seed and the same
// Step times publish the same messages, faults and all; another seed does
// not.
func TestFleetSameSeedSameOutput(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 9, 0, 0, 0, time.UTC)
	run := func(seed uint64) []string {
		f, clk := newTestFleet(t, t0, 12, func(c *FleetConfig) {
			c.Seed = seed
			c.Faults = FaultPresets["heavy"]
			c.Faults.RebootsPerHour, c.Faults.OfflinePerHour = 20, 20
		})
		var out []string
		stepFleet(f, clk, t0, 5*time.Second, 10*time.Minute, func(_ time.Time, msgs []Message) {
			for _, m := range msgs {
				out = append(out, m.String())
			}
		})
		return out
	}
	a, b, c := run(11), run(11), run(12)
	if len(a) != len(b) {
		t.Fatalf("same seed: %d and %d messages", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, message %d differs:\n%s\n%s", i, a[i], b[i])
		}
	}
	same := len(a) == len(c)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == c[i]
	}
	if same {
		t.Fatal("another seed gave the same output")
	}
}

// TestFleetHomesVary: generated homes differ in size, orientation and
// habits, and the mix gives the configured shares.
func TestFleetHomesVary(t *testing.T) {
	f, _ := newTestFleet(t, time.Date(2025, 6, 21, 9, 0, 0, 0, time.UTC), 400, func(c *FleetConfig) {
		c.Specs = nil
		c.Mix = Mix{OpenDTU: 3, Ahoy: 1, Battery: 0.5, ShellyMeter: 0.2, EV: 0.7, TasmotaPlug: 0.1, Ausgrid: 0.5}
	})
	var nameplates, tilts, users = map[float64]bool{}, map[float64]bool{}, map[string]bool{}
	var ahoy, battery, ev, plug, ausgrid, meters int
	for _, s := range f.Homes() {
		for _, d := range s.dtus {
			nameplates[d.inverters[0].nameplate] = true
			tilts[d.inverters[0].shape.plane.u] = true
		}
		if len(s.ahoys) > 0 {
			ahoy++
		}
		if len(s.gxs) > 0 {
			battery++
		}
		if len(s.goes) > 0 {
			ev++
			users[s.goes[0].habit.user] = true
		}
		if len(s.plugs) > 0 {
			plug++
		}
		if s.household != nil {
			ausgrid++
		}
		if len(s.gxs)+len(s.shellyMeters) == 0 {
			t.Fatalf("a home without a meter")
		}
		meters += len(s.shellyMeters)
	}
	n := float64(len(f.Homes()))
	share := func(what string, got int, want float64) {
		t.Helper()
		// 5 standard deviations of a binomial share.
		if sd := math.Sqrt(want * (1 - want) / n); math.Abs(float64(got)/n-want) > 5*sd+1e-9 {
			t.Errorf("%s: %d of %v homes, want a share of %v", what, got, n, want)
		}
	}
	share("ahoy", ahoy, 0.25)
	share("battery", battery, 0.5)
	share("ev", ev, 0.7)
	share("tasmota plug", plug, 0.1)
	share("ausgrid", ausgrid, 0.5)
	share("shelly meters", meters, 0.5+0.5*0.2)
	if len(nameplates) < 50 || len(tilts) < 20 || len(users) < 30 {
		t.Errorf("too little variation: %d nameplates, %d tilts, %d EV users", len(nameplates), len(tilts), len(users))
	}
}

// TestFleetIdentities: every device has a unique node identity and an
// adapter, and the adapters are what a node needs.
func TestFleetIdentities(t *testing.T) {
	f, _ := newTestFleet(t, time.Date(2025, 6, 21, 9, 0, 0, 0, time.UTC), 6, nil)
	seen := map[string]bool{}
	kinds := map[string]int{}
	for _, d := range f.Devices() {
		key := d.Dialect + "/" + d.Serial
		if seen[key] {
			t.Errorf("%s twice", key)
		}
		seen[key] = true
		kinds[string(d.Kind)]++
		if d.Home < 1 || d.Home > 6 || d.Client == "" || d.Adapter.Dialect != d.Dialect {
			t.Errorf("%+v", d)
		}
	}
	for _, k := range []string{"pv_inverter", "battery", "meter", "ev_charger", "plug"} {
		if kinds[k] == 0 {
			t.Errorf("no %s", k)
		}
	}
	var dialects []string
	for _, a := range f.Adapters() {
		dialects = append(dialects, a.Dialect+":"+a.BaseTopic+a.PortalID)
		if a.Dialect == "ahoydtu" && len(a.Inverters) == 0 {
			t.Errorf("AhoyDTU adapter %+v without inverters", a)
		}
	}
	want := "opendtu:solar-1/ tasmota: victron:02c0619b0001 goe: ahoydtu:inverter-2 shelly: victron:02c0619b0002 opendtu:solar-3/ ahoydtu:inverter-4 "
	if got := strings.Join(dialects, " "); !strings.HasPrefix(got, want) {
		t.Errorf("adapters\n%s\nwant prefix\n%s", got, want)
	}
}

// TestDemoFleet: home 1 of the demo fleet is the single-house demo with
// its identities; homes 2 and 3 add the fleet's physics with distinct
// identities; a car charges at once in every home.
func TestDemoFleet(t *testing.T) {
	clk := newFakeClock(time.Date(2025, 6, 21, 8, 0, 0, 0, time.UTC))
	cfg := DemoFleet(1)
	cfg.Clock = clk
	cfg.ProfileStart = time.Date(2025, 6, 21, 11, 0, 0, 0, time.UTC)
	f, err := NewFleet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode() != ConnPerDevice {
		t.Errorf("mode %s", f.Mode())
	}
	serials := map[string]bool{}
	for _, d := range f.Devices() {
		serials[fmt.Sprintf("%d %s %s", d.Home, d.Dialect, d.Serial)] = true
	}
	for _, want := range []string{
		"1 opendtu 116181234567", "1 tasmota tasmota_5E1F0C", "1 shelly shellyplusplugs-02a1b2000001:switch:0",
		"1 shelly shellypro3em-02a1b3000001:em:0", "1 victron battery-512", "1 victron grid-30", "1 goe 200001", "1 ahoydtu HM-600",
		"2 ahoydtu HM-2-1", "2 victron battery-514", "2 victron grid-32", "2 goe 300002",
		"3 opendtu 116100000024", "3 shelly shellypro3em-02a1b3100003:em:0", "3 goe 300003", "3 tasmota tasmota_600003",
	} {
		if !serials[want] {
			t.Errorf("no device %q in %v", want, serials)
		}
	}
	if len(serials) != 16 {
		t.Errorf("%d devices, want 16", len(serials))
	}
	// The demo's home 1 is exactly the single house: same seed, same output.
	house := DemoHouse()
	house.Seed, house.Clock, house.ProfileStart, house.Period = 1, clk, cfg.ProfileStart, DefaultPeriod
	single, err := New(house)
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	for i := range 3 {
		at := now.Add(time.Duration(i) * DefaultPeriod)
		a, b := f.Homes()[0].Step(at), single.Step(at)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatalf("demo home 1 differs from the single house at step %d", i)
		}
		for _, s := range f.Homes()[1:] {
			s.Step(at)
		}
	}
	for _, s := range f.Homes() {
		for _, g := range s.goes {
			if g.car != goeCarCharging {
				t.Errorf("charger %s: car %d, want charging at once", g.serial, g.car)
			}
		}
	}
}

func TestFleetValidation(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*FleetConfig)
		want string
	}{
		{func(c *FleetConfig) { c.Homes = 0 }, "FleetConfig.Homes 0"},
		{func(c *FleetConfig) { c.Homes = -1 }, "FleetConfig.Homes -1"},
		{func(c *FleetConfig) { c.Homes = MaxHomes + 1 }, "FleetConfig.Homes"},
		{func(c *FleetConfig) { c.Connections = "many" }, "FleetConfig.Connections"},
		{func(c *FleetConfig) { c.HomesPerConnection = -3 }, "FleetConfig.HomesPerConnection"},
		{func(c *FleetConfig) { c.Period = time.Microsecond }, "FleetConfig.Period"},
		{func(c *FleetConfig) { c.Speed = -1 }, "FleetConfig.Speed"},
		{func(c *FleetConfig) { c.Name = "a/b" }, "FleetConfig.Name"},
		{func(c *FleetConfig) { c.Broker = "http://x" }, "Config.Broker"},
		{func(c *FleetConfig) { c.Mix = Mix{OpenDTU: 1, Battery: 2} }, "FleetConfig.Mix.Battery"},
		{func(c *FleetConfig) { c.Mix = Mix{Battery: 1} }, "FleetConfig.Mix.OpenDTU"},
		{func(c *FleetConfig) { c.Sizes.BatteryKWh = Range{20, 5} }, "FleetConfig.Sizes.BatteryKWh"},
		{func(c *FleetConfig) { c.Sizes.Inverters = Range{1, 1.5} }, "FleetConfig.Sizes.Inverters"},
		{func(c *FleetConfig) { c.Sizes.EVMaxA = Range{6, 40} }, "FleetConfig.Sizes.EVMaxA"},
		{func(c *FleetConfig) { c.Sizes.HouseShift = DurationRange{time.Hour, -time.Hour} }, "FleetConfig.Sizes.HouseShift"},
		{func(c *FleetConfig) { c.Sizes.EVOnePhase = 2 }, "FleetConfig.Sizes.EVOnePhase"},
		{func(c *FleetConfig) { c.Specs = []HomeSpec{{PV: "sma"}} }, "FleetConfig.Specs[0].PV"},
		{func(c *FleetConfig) { c.Specs = make([]HomeSpec, 5) }, "FleetConfig.Specs: 5 specs"},
		{func(c *FleetConfig) { c.Faults.Drop = 1.5 }, "FleetConfig.Faults.Drop"},
		{func(c *FleetConfig) { c.Faults.Drop, c.Faults.Malformed = 0.6, 0.6 }, "FleetConfig.Faults.Drop+Duplicate+Reorder+Malformed"},
		{func(c *FleetConfig) { c.Faults.DishonestModes = []Dishonesty{"lazy"} }, "FleetConfig.Faults.DishonestModes[0]"},
		{func(c *FleetConfig) { c.Houses = []Config{{PV: []PVConfig{{Serial: "1"}}}} }, "FleetConfig.Houses[0]: invalid: firmwaresim: Config.PV[0].Serial"},
		{func(c *FleetConfig) {
			c.Houses = []Config{{Victron: []VictronConfig{{PortalID: "02c0619b0002", BatteryInstance: 999}}}}
		}, "MQTT client ID"},
	} {
		cfg := FleetConfig{Homes: 4, Clock: newFakeClock(time.Unix(0, 0))}
		tc.mod(&cfg)
		_, err := NewFleet(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %q, got %v", tc.want, err)
		}
	}
}

// TestFleetStateSurvivesRestart: a fleet's counters continue from its
// saved state, and a single house's state file restores home 1.
func TestFleetStateSurvivesRestart(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 10, 0, 0, 0, time.UTC)
	f, clk := newTestFleet(t, t0, 4, nil)
	stepFleet(f, clk, t0, 5*time.Second, 10*time.Minute, nil)
	path := t.TempDir() + "/fleet.json"
	if err := f.SaveStateFile(path); err != nil {
		t.Fatal(err)
	}
	before := f.Snapshot()
	g, _ := newTestFleet(t, t0.Add(time.Hour), 4, nil)
	if ok, err := g.LoadStateFile(path); !ok || err != nil {
		t.Fatalf("load: %v %v", ok, err)
	}
	after := g.Snapshot()
	for i := range after.Homes {
		after.Homes[i].SavedAt = before.Homes[i].SavedAt
	}
	if b, a := mustJSON(t, before.Homes), mustJSON(t, after.Homes); a != b {
		t.Errorf("restored state differs:\n%s\n%s", b, a)
	}
	// A single house's file becomes home 1's state.
	single := t.TempDir() + "/house.json"
	if err := f.Homes()[0].SaveStateFile(single); err != nil {
		t.Fatal(err)
	}
	h, _ := newTestFleet(t, t0, 4, nil)
	if ok, err := h.LoadStateFile(single); !ok || err != nil {
		t.Fatalf("load single: %v %v", ok, err)
	}
	if a, b := mustJSON(t, h.Homes()[0].Snapshot().Inverters), mustJSON(t, before.Homes[0].Inverters); a != b {
		t.Errorf("home 1 from a single-house file: %s, want %s", a, b)
	}
	// A bad home state changes nothing.
	bad := f.Snapshot()
	bad.Homes[1].GoE[0].Amp = 99
	k, _ := newTestFleet(t, t0, 4, nil)
	fresh := mustJSON(t, k.Snapshot().Homes)
	if err := k.Restore(bad); err == nil || !strings.Contains(err.Error(), "FleetState.Homes[1]") {
		t.Fatalf("bad state: %v", err)
	}
	if got := mustJSON(t, k.Snapshot().Homes); got != fresh {
		t.Error("a rejected fleet state changed the homes")
	}
}
