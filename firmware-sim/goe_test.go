package firmwaresim

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func newGoESim(t *testing.T, t0 time.Time, mod func(*GoEConfig)) (*Sim, *stepper) {
	t.Helper()
	gc := GoEConfig{Serial: "200001"}
	if mod != nil {
		mod(&gc)
	}
	s, clk := newSim(t, t0, Config{GoE: []GoEConfig{gc}})
	return s, &stepper{s, clk, t0}
}

// nrgOf decodes an nrg payload.
func nrgOf(t *testing.T, payload string) [16]float64 {
	t.Helper()
	var v []float64
	if err := json.Unmarshal([]byte(payload), &v); err != nil || len(v) != 16 {
		t.Fatalf("nrg %q: %v (%d entries, want 16)", payload, err, len(v))
	}
	return [16]float64(v)
}

// TestGoEGolden pins two publish cycles of a go-eCharger with a car
// plugged in at start: keys, order, JSON text, retained, QoS. Check
// changes against shared/payloads/goe.md.
func TestGoEGolden(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newGoESim(t, t0, nil)
	keys := func(amp, nrg, wh, eto string) []string {
		return []string{
			"go-eCharger/200001/amp " + amp + " (retained)",
			"go-eCharger/200001/ama 16 (retained)",
			"go-eCharger/200001/mca 6 (retained)",
			"go-eCharger/200001/frc 0 (retained)",
			"go-eCharger/200001/alw true (retained)",
			"go-eCharger/200001/acu 16 (retained)",
			"go-eCharger/200001/car 2 (retained)",
			"go-eCharger/200001/nrg " + nrg + " (retained)",
			"go-eCharger/200001/wh " + wh + " (retained)",
			"go-eCharger/200001/eto " + eto + " (retained)",
		}
	}
	golden(t, s.Step(t0), keys("16", "[230.1,227.7,229.5,0,16,16,16,3682.1,3642.5,3671.8,0,10996.4,99,99,99,0]", "0", "0"))
	// 11049.9 W for a minute: 184.165 Wh.
	got := st.step(time.Minute)
	golden(t, got, keys("16", "[230.7,229.5,230.5,0,16,16,16,3690.8,3671.7,3687.4,0,11049.9,99,99,99,0]", "184.165", "184"))
	for _, m := range got {
		if m.Device != "fwsim-go-echarger-200001" || m.QoS != 0 {
			t.Errorf("%s: device %s QoS %d", m.Topic, m.Device, m.QoS)
		}
	}
	g := s.goes[0]
	if w, on := g.will(), g.onConnect(t0); w.String() != "go-eCharger/200001/mcc false (retained)" || w.QoS != 1 ||
		len(on) != 1 || on[0].String() != "go-eCharger/200001/mcc true (retained)" || on[0].QoS != 1 {
		t.Errorf("will %v, on connect %v", w, on)
	}
	if subs := g.subscriptions(); len(subs) != 1 || subs[0] != "go-eCharger/200001/+/set" {
		t.Errorf("subscriptions %v", subs)
	}
}

// TestGoESet checks every /set with its /result text, that results are
// not retained while the new value is, and that power follows amp and
// frc within one cycle.
func TestGoESet(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newGoESim(t, t0, func(g *GoEConfig) { g.SessionWh = 1e6 })
	g := s.goes[0]
	s.Step(t0)
	cases := []struct {
		key, payload, result string
		value                string // the key's new value published after success, "" for none
	}{
		{"amp", "10", "success", "10"},
		{"amp", " 8 ", "success", "8"},
		{"amp", "5", "amp: failed: Value 5 exceeds range 6 to 16 (5)", ""},
		{"amp", "17", "amp: failed: Value 17 exceeds range 6 to 16 (17)", ""},
		{"amp", "12.0", "success", "12"},
		{"amp", "12.5", "amp: failed: Value 12.5 is not an integer", ""},
		{"amp", `"16"`, `amp: failed: Value "16" is not a number`, ""},
		{"amp", "new_name", "invalid json IncompleteInput: new_name", ""},
		{"amp", "", "invalid json EmptyInput: ", ""},
		{"amp", `{"a":`, `invalid json IncompleteInput: {"a":`, ""},
		{"amp", "]", "invalid json InvalidInput: ]", ""},
		{"frc", "3", "frc: failed: Value 3 exceeds range 0 to 2 (3)", ""},
		{"frc", "1", "success", "1"},
		{"fna", `"my charger"`, "fna: failed: key not writable in the simulator", ""},
	}
	for _, c := range cases {
		r := s.command(g, testGoE+c.key+"/set", []byte(c.payload), false)
		want := 1
		if c.value != "" {
			want = 2
		}
		if len(r) != want || r[0].Topic != testGoE+c.key+"/result" || r[0].Payload != c.result || r[0].Retained {
			t.Errorf("%s/set %q: replies %v, want %q on %s/result, not retained", c.key, c.payload, r, c.result, c.key)
			continue
		}
		if want == 2 && (r[1].Topic != testGoE+c.key || r[1].Payload != c.value || !r[1].Retained) {
			t.Errorf("%s/set %q: then %v, want %s %s retained", c.key, c.payload, r[1], c.key, c.value)
		}
	}
	if r := s.command(g, testGoE+"amp", []byte("6"), false); len(r) != 0 {
		t.Errorf("a publish on the key itself (not /set) answered %v", r)
	}

	// frc 1 (stop) is in force: the next cycle shows no power, car 3.
	m := byTopic(st.step(5 * time.Second))
	if nrg := nrgOf(t, m[testGoE+"nrg"]); nrg[11] != 0 || m[testGoE+"car"] != "3" || m[testGoE+"alw"] != "false" || m[testGoE+"acu"] != "0" {
		t.Errorf("after frc 1: P_Total %v, car %s, alw %s, acu %s", nrg[11], m[testGoE+"car"], m[testGoE+"alw"], m[testGoE+"acu"])
	}
	// Each amp is the next cycle's power: amp × U × 3 phases.
	s.command(g, testGoE+"frc/set", []byte("2"), false)
	for _, amp := range []int{6, 16, 9} {
		s.command(g, testGoE+"amp/set", []byte(itoa64(int64(amp))), false)
		m := byTopic(st.step(5 * time.Second))
		nrg := nrgOf(t, m[testGoE+"nrg"])
		want := float64(amp) * 230 * 3
		if math.Abs(nrg[11]-want) > 0.02*want || nrg[4] != float64(amp) || m[testGoE+"car"] != "2" || m[testGoE+"acu"] != itoa64(int64(amp)) {
			t.Errorf("amp %d: P_Total %v W (want %v ±2 %%), I_L1 %v, car %s, acu %s", amp, nrg[11], want, nrg[4], m[testGoE+"car"], m[testGoE+"acu"])
		}
		if sum := nrg[7] + nrg[8] + nrg[9]; math.Abs(sum-nrg[11]) > 0.11 {
			t.Errorf("P_L1..3 add to %v, P_Total %v", sum, nrg[11])
		}
	}
	// One phase.
	s1, st1 := newGoESim(t, t0, func(g *GoEConfig) { g.Phases = 1; g.MaxCurrent = 32 })
	s1.Step(t0)
	s1.command(s1.goes[0], testGoE+"amp/set", []byte("32"), false)
	nrg := nrgOf(t, byTopic(st1.step(5 * time.Second))[testGoE+"nrg"])
	if math.Abs(nrg[11]-32*230) > 0.02*32*230 || nrg[5] != 0 || nrg[6] != 0 || nrg[8] != 0 {
		t.Errorf("one phase at 32 A: nrg %v", nrg)
	}
}

// TestGoESessionEndsWhenNeedMet charges a car that needs 2 kWh: wh stops
// at exactly 2000, car goes to 4 (complete) with no power, eto grew by
// the same, the car leaves after 30 minutes and the next one arrives.
func TestGoESessionEndsWhenNeedMet(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newGoESim(t, t0, func(g *GoEConfig) { g.SessionWh = 2000 })
	g := s.goes[0]
	m := byTopic(s.Step(t0))
	steps := 0
	for m[testGoE+"car"] == "2" {
		if steps++; steps > 1000 {
			t.Fatal("the session never completed")
		}
		m = byTopic(st.step(5 * time.Second))
	}
	// 2000 Wh at 11 kW: about 650 s.
	if dur := st.now.Sub(t0); dur < 600*time.Second || dur > 700*time.Second {
		t.Errorf("2 kWh at 11 kW took %v", dur)
	}
	if m[testGoE+"car"] != "4" || m[testGoE+"wh"] != "2000" || m[testGoE+"eto"] != "2000" || nrgOf(t, m[testGoE+"nrg"])[11] != 0 {
		t.Fatalf("after the need: car %s, wh %s, eto %s, nrg %s; want 4, 2000, 2000, no power", m[testGoE+"car"], m[testGoE+"wh"], m[testGoE+"eto"], m[testGoE+"nrg"])
	}
	// Complete stays complete, also when allowed to charge.
	s.command(g, testGoE+"frc/set", []byte("2"), false)
	for range 10 {
		if m := byTopic(st.step(time.Minute)); m[testGoE+"car"] != "4" || m[testGoE+"wh"] != "2000" {
			t.Fatalf("complete car: car %s wh %s", m[testGoE+"car"], m[testGoE+"wh"])
		}
	}
	// Unplugged 30 minutes after completing; wh stays until the next car.
	m = byTopic(st.step(25 * time.Minute))
	if m[testGoE+"car"] != "1" || m[testGoE+"wh"] != "2000" || m[testGoE+"acu"] != "0" {
		t.Errorf("after the dwell: car %s, wh %s, acu %s; want 1, 2000, 0", m[testGoE+"car"], m[testGoE+"wh"], m[testGoE+"acu"])
	}
	gap := g.nextEvent.Sub(st.now)
	if gap < time.Hour || gap > 4*time.Hour {
		t.Errorf("next car in %v, want 1..4 h", gap)
	}
	m = byTopic(st.step(gap))
	if m[testGoE+"car"] != "2" || m[testGoE+"wh"] != "0" || g.session != 2 {
		t.Errorf("next arrival: car %s, wh %s, session %d", m[testGoE+"car"], m[testGoE+"wh"], g.session)
	}
}

// TestGoESchedule: sessions come from the seed, the same for the same
// seed and serial, 5..20 kWh, and FirstArrival delays the first car.
func TestGoESchedule(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newGoESim(t, t0, func(g *GoEConfig) { g.FirstArrival = time.Hour })
	g := s.goes[0]
	if m := byTopic(s.Step(t0)); m[testGoE+"car"] != "1" || m[testGoE+"acu"] != "0" {
		t.Errorf("before the first arrival: car %s acu %s", m[testGoE+"car"], m[testGoE+"acu"])
	}
	if m := byTopic(st.step(time.Hour)); m[testGoE+"car"] != "2" {
		t.Errorf("at the first arrival: car %s", m[testGoE+"car"])
	}
	s2, _ := newGoESim(t, t0, nil)
	seen := map[float64]bool{}
	for n := 1; n <= 50; n++ {
		need := g.needOf(n)
		if need != s2.goes[0].needOf(n) || need < 5000 || need > 20000 || math.Mod(need, 100) != 0 {
			t.Fatalf("session %d needs %v Wh", n, need)
		}
		seen[need] = true
	}
	if len(seen) < 20 {
		t.Errorf("50 sessions drew only %d different needs", len(seen))
	}
}

// TestGoEEnergyConservation: eto and wh are the integral of the P_Total
// the charger publishes, through amp changes, stops and session ends.
func TestGoEEnergyConservation(t *testing.T) {
	const step = 5 * time.Second
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newGoESim(t, t0, func(g *GoEConfig) { g.SessionWh = 15000 })
	g := s.goes[0]
	m := byTopic(s.Step(t0))
	eto0 := mustFloat(t, m[testGoE+"eto"])
	var integral float64
	for i := 1; i <= int(6*time.Hour/step); i++ {
		switch i {
		case 100:
			s.command(g, testGoE+"amp/set", []byte("7"), false)
		case 400:
			s.command(g, testGoE+"frc/set", []byte("1"), false)
		case 500:
			s.command(g, testGoE+"frc/set", []byte("0"), false)
		case 600:
			s.command(g, testGoE+"amp/set", []byte("16"), false)
		}
		m = byTopic(st.step(step))
		integral += nrgOf(t, m[testGoE+"nrg"])[11] * step.Hours()
	}
	eto := mustFloat(t, m[testGoE+"eto"]) - eto0
	t.Logf("eto +%v Wh, ∫P_Total %.2f Wh, sessions %d", eto, integral, g.session)
	if g.session < 2 {
		t.Fatalf("want at least two sessions in six hours, got %d", g.session)
	}
	// P_Total has 0.1 W: 0.05 W × 6 h; eto whole Wh: 1 Wh.
	if tol := 0.05*6 + 1; math.Abs(eto-integral) > tol {
		t.Errorf("eto grew %v Wh, ∫P_Total %.2f Wh (tolerance %v)", eto, integral, tol)
	}
	if got := g.etoWh; math.Abs(got-(15000+g.whSession)) > 1e-6 {
		t.Errorf("eto %v Wh after one complete 15 kWh session and %v Wh of the next", got, g.whSession)
	}
}

func TestGoEValidation(t *testing.T) {
	cases := []struct {
		gc   GoEConfig
		want string
	}{
		{GoEConfig{Serial: "12345"}, "Config.GoE[0].Serial"},
		{GoEConfig{Serial: "123456789"}, "Config.GoE[0].Serial"},
		{GoEConfig{Serial: "12a456"}, "Config.GoE[0].Serial"},
		{GoEConfig{Serial: "200001", Prefix: "go-eCharger"}, "Config.GoE[0].Prefix"},
		{GoEConfig{Serial: "200001", Prefix: "go/#/"}, "Config.GoE[0].Prefix"},
		{GoEConfig{Serial: "200001", Phases: 2}, "Config.GoE[0].Phases"},
		{GoEConfig{Serial: "200001", MaxCurrent: 40}, "Config.GoE[0].MaxCurrent"},
		{GoEConfig{Serial: "200001", MinCurrent: 20}, "Config.GoE[0].MinCurrent"},
		{GoEConfig{Serial: "200001", Voltage: 20}, "Config.GoE[0].Voltage"},
		{GoEConfig{Serial: "200001", SessionWh: -1}, "Config.GoE[0].SessionWh"},
		{GoEConfig{Serial: "200001", FirstArrival: -time.Second}, "Config.GoE[0].FirstArrival"},
	}
	for _, c := range cases {
		if _, err := New(Config{GoE: []GoEConfig{c.gc}}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.gc, err, c.want)
		}
	}
	if _, err := New(Config{GoE: []GoEConfig{{Serial: "200001"}, {Serial: "200001"}}}); err == nil || !strings.Contains(err.Error(), "Config.GoE[1].Serial") {
		t.Errorf("duplicate serial: %v", err)
	}
	// A leading slash is allowed; the defaults.
	s, err := New(Config{GoE: []GoEConfig{{Serial: "072246", Prefix: "/go-eCharger/"}}})
	if err != nil {
		t.Fatal(err)
	}
	if g := s.goes[0]; g.base != "/go-eCharger/072246/" || g.phases != 3 || g.ama != 16 || g.mca != 6 || g.amp != 16 || g.nominalV != 230 {
		t.Errorf("defaults: %+v", g)
	}
}
