package firmwaresim

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const vN = "N/" + testPortal + "/"

func newVictronSim(t *testing.T, t0 time.Time, mod func(*Config)) (*Sim, *stepper) {
	t.Helper()
	cfg := Config{Victron: []VictronConfig{{PortalID: testPortal}}}
	if mod != nil {
		mod(&cfg)
	}
	s, clk := newSim(t, t0, cfg)
	return s, &stepper{s, clk, t0}
}

// keepAlive sends a keep-alive to the first GX and returns its replies.
func keepAlive(s *Sim, payload string) []Message {
	return s.command(s.gxs[0], "R/"+testPortal+"/keepalive", []byte(payload), false)
}

// TestVictronGolden pins a full republish after a keep-alive and the
// next cycle: topics, payload text (nlohmann's dump), retain flags, QoS.
// If a deliberate change alters it, check it against
// shared/payloads/victron.md and dbus-flashmq before updating.
func TestVictronGolden(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newVictronSim(t, t0, nil)
	if msgs := s.Step(t0); len(msgs) != 0 {
		t.Fatalf("published %v before any keep-alive", msgs)
	}
	st.clk.Set(t0.Add(30 * time.Second))
	golden(t, keepAlive(s, ""), []string{
		`N/02c0619a0001/system/0/Serial {"value":"02c0619a0001"} (retained)`,
		`N/02c0619a0001/battery/512/ProductId {"value":45297}`,
		`N/02c0619a0001/battery/512/ProductName {"value":"gridmint sim LFP battery"}`,
		`N/02c0619a0001/battery/512/DeviceInstance {"value":512}`,
		`N/02c0619a0001/battery/512/Connected {"value":1}`,
		`N/02c0619a0001/battery/512/Dc/0/Voltage {"value":51.5}`,
		`N/02c0619a0001/battery/512/Dc/0/Current {"value":-10.100000381469727}`, // float32 noise
		`N/02c0619a0001/battery/512/Dc/0/Power {"value":-517.7}`,                // DC, + charging
		`N/02c0619a0001/battery/512/Soc {"value":50.0}`,
		`N/02c0619a0001/battery/512/History/ChargedEnergy {"value":0.0}`,
		`N/02c0619a0001/battery/512/History/DischargedEnergy {"value":0.0}`,
		`N/02c0619a0001/grid/30/ProductId {"value":45298}`,
		`N/02c0619a0001/grid/30/ProductName {"value":"gridmint sim grid meter"}`,
		`N/02c0619a0001/grid/30/DeviceInstance {"value":30}`,
		`N/02c0619a0001/grid/30/Connected {"value":1}`,
		`N/02c0619a0001/grid/30/Ac/Power {"value":0.0}`, // self-consumption covers the house
		`N/02c0619a0001/grid/30/Ac/L1/Power {"value":-294.7}`,
		`N/02c0619a0001/grid/30/Ac/L2/Power {"value":171.9}`,
		`N/02c0619a0001/grid/30/Ac/L3/Power {"value":122.8}`,
		`N/02c0619a0001/grid/30/Ac/Energy/Forward {"value":0.0}`,
		`N/02c0619a0001/grid/30/Ac/Energy/Reverse {"value":0.0}`,
		`N/02c0619a0001/vebus/257/ProductId {"value":45299}`,
		`N/02c0619a0001/vebus/257/ProductName {"value":"gridmint sim MultiPlus"}`,
		`N/02c0619a0001/vebus/257/DeviceInstance {"value":257}`,
		`N/02c0619a0001/vebus/257/Connected {"value":1}`,
		`N/02c0619a0001/vebus/257/Ac/ActiveIn/P {"value":-491.1}`, // AC: −517.7 W DC × √0.9
		`N/02c0619a0001/vebus/257/Hub4/L1/AcPowerSetpoint {"value":-491}`,
		`N/02c0619a0001/full_publish_completed {"value":1750507230}`,
	})
	// The next cycle: only what changed on the D-Bus, then the heartbeat.
	// 517.7 W for a minute is 8.6 Wh of 10 kWh: SoC 49.9 %.
	got := st.step(time.Minute)
	golden(t, got, []string{
		`N/02c0619a0001/battery/512/Soc {"value":49.9}`,
		`N/02c0619a0001/battery/512/History/DischargedEnergy {"value":0.008}`,
		`N/02c0619a0001/grid/30/Ac/Power {"value":-29.3}`,
		`N/02c0619a0001/grid/30/Ac/L1/Power {"value":-306.4}`,
		`N/02c0619a0001/grid/30/Ac/L2/Power {"value":161.6}`,
		`N/02c0619a0001/grid/30/Ac/L3/Power {"value":115.4}`,
		`N/02c0619a0001/heartbeat {"value":1750507260}`,
	})
	for _, m := range got {
		if m.Device != "fwsim-venus-"+testPortal || m.QoS != 0 || m.Retained {
			t.Errorf("%s: device %s QoS %d retained %v", m.Topic, m.Device, m.QoS, m.Retained)
		}
	}
	gx := s.gxs[0]
	if w := gx.will(); w.Topic != "" {
		t.Errorf("a GX has no last will, got %v", w)
	}
	if on := gx.onConnect(t0); len(on) != 0 {
		t.Errorf("a GX announces nothing on connect, got %v", on)
	}
	if subs := strings.Join(gx.subscriptions(), " "); subs != "R/"+testPortal+"/# W/"+testPortal+"/#" {
		t.Errorf("subscriptions %s", subs)
	}
}

// TestVictronKeepAlive: nothing without a keep-alive, publishing stops
// 60 s (sim clock) after the last one, suppress-republish only keeps the
// GX alive, and the legacy system/0/Serial read is a keep-alive too.
func TestVictronKeepAlive(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newVictronSim(t, t0, nil)
	gx := s.gxs[0]
	for range 120 { // ten minutes without a keep-alive
		if msgs := st.step(5 * time.Second); len(msgs) != 0 {
			t.Fatalf("%v: published %v without a keep-alive", st.now, msgs)
		}
	}
	// A write while not alive is applied, without an echo.
	if r := s.command(gx, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", []byte(`{"value": 100}`), false); len(r) != 0 {
		t.Errorf("echo %v while not alive", r)
	}
	if msgs := st.step(5 * time.Second); len(msgs) != 0 {
		t.Fatalf("published %v without a keep-alive", msgs)
	}
	// A read is answered even while not alive (dbus-flashmq does).
	if r := s.command(gx, "R/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", nil, false); len(r) != 1 || r[0].Payload != `{"value":100}` {
		t.Errorf("read reply %v", r)
	}
	if r := s.command(gx, "R/"+testPortal+"/battery/512/History", nil, false); len(r) != 2 {
		t.Errorf("sub-tree read: %v, want ChargedEnergy and DischargedEnergy", r)
	}

	// suppress-republish: alive, no full publish; the first cycle sends
	// only values that changed since the previous cycle.
	ka := st.now
	if r := keepAlive(s, `{ "keepalive-options" : ["suppress-republish"] }`); len(r) != 0 {
		t.Fatalf("suppress-republish keep-alive published %d messages", len(r))
	}
	msgs := st.step(5 * time.Second)
	if len(msgs) == 0 || msgs[len(msgs)-1].Topic != vN+"heartbeat" {
		t.Fatalf("alive cycle %v, want changes then the heartbeat", msgs)
	}
	for _, m := range msgs {
		if strings.HasSuffix(m.Topic, "/ProductId") || strings.HasSuffix(m.Topic, "/Serial") {
			t.Errorf("unchanged %s published after suppress-republish", m.Topic)
		}
	}
	// Alive until 60 s after the keep-alive, then silent.
	for st.now.Add(5*time.Second).Sub(ka) < VictronKeepAliveTimeout {
		if msgs := st.step(5 * time.Second); len(msgs) == 0 {
			t.Fatalf("%v after the keep-alive: nothing published", st.now.Sub(ka))
		}
	}
	if msgs := st.step(ka.Add(VictronKeepAliveTimeout).Sub(st.now)); len(msgs) != 0 {
		t.Errorf("%v after the keep-alive: published %d messages", st.now.Sub(ka), len(msgs))
	}
	if msgs := st.step(time.Hour); len(msgs) != 0 {
		t.Errorf("an hour later: published %d messages", len(msgs))
	}

	// The legacy keep-alive: full publish, full_publish_completed, then
	// the read's own reply of the Serial.
	r := s.command(gx, "R/"+testPortal+"/system/0/Serial", nil, false)
	if n := len(r); n < 3 || r[n-2].Topic != vN+"full_publish_completed" || r[n-1].Topic != vN+"system/0/Serial" {
		t.Fatalf("legacy keep-alive replies end with %v", r[max(0, n-2):])
	}
	if msgs := st.step(5 * time.Second); len(msgs) == 0 {
		t.Error("not alive after the legacy keep-alive")
	}
	// full-publish-completed-echo, and a keep-alive that is not JSON still
	// republishes (the firmware only logs the parse error).
	r = keepAlive(s, `{ "keepalive-options" : [ {"full-publish-completed-echo": "B9FMlGWoCcfMKc"} ] }`)
	if last := r[len(r)-1]; last.Payload != `{"full-publish-completed-echo":"B9FMlGWoCcfMKc","value":`+itoa64(st.now.Unix())+`}` {
		t.Errorf("full_publish_completed with echo: %s", last.Payload)
	}
	if r := keepAlive(s, "{not json"); len(r) < 20 {
		t.Errorf("unparsable keep-alive: %d messages, want a full republish", len(r))
	}
	// Retained R/ and W/ replayed by the broker are ignored.
	before := s.Stats().Ignored
	if r := s.command(gx, "R/"+testPortal+"/keepalive", nil, true); len(r) != 0 || s.Stats().Ignored != before+1 {
		t.Errorf("retained keep-alive answered: %d messages", len(r))
	}
}

func itoa64(v int64) string {
	return strings.TrimSuffix(strings.TrimPrefix(dbusInt(v), `{"value":`), "}")
}

// TestVictronSetpoint: a W/ write is echoed with the value the path now
// holds, the battery follows it at the next cycle within its limits, and
// null hands control back to self-consumption.
func TestVictronSetpoint(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newVictronSim(t, t0, nil)
	gx := s.gxs[0]
	s.Step(t0)
	keepAlive(s, "")
	state := map[string]string{} // what a subscriber knows
	cycle := func() {
		for _, m := range st.step(5 * time.Second) {
			state[m.Topic] = m.Payload
		}
	}
	write := func(payload string) []Message {
		return s.command(gx, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", []byte(payload), false)
	}
	cycle()
	// Discharging at the limit, the battery gives its 3000 W and the
	// Multi delivers that less the losses.
	atLimit := round(-3000*math.Sqrt(0.9), 1)
	cases := []struct {
		payload string
		echo    string  // "" for none
		acW     float64 // vebus Ac/ActiveIn/P after the next cycle
	}{
		{`{"value": -200}`, `{"value":-200}`, -200},
		{`{"value": 1500.4}`, `{"value":1500}`, 1500},
		{`{"value": 5000}`, `{"value":5000}`, 3000},      // the path holds 5000, the Multi does 3000 W
		{`{"value": -9e9}`, `{"value":-32768}`, atLimit}, // int16 register
		{`{"value":"100"}`, "", atLimit},                 // not a number: ignored
		{`{"val": 100}`, "", atLimit},                    // no value
		{`-200`, "", atLimit},                            // not an object
		{`{"value": 0}`, `{"value":0}`, 0},
	}
	for _, c := range cases {
		r := write(c.payload)
		if c.echo == "" && len(r) != 0 || c.echo != "" && (len(r) != 1 || r[0].Topic != vN+"vebus/257/Hub4/L1/AcPowerSetpoint" || r[0].Payload != c.echo || r[0].Retained) {
			t.Errorf("write %s: replies %v, want echo %q", c.payload, r, c.echo)
		}
		cycle()
		if got := dbusNumber(t, state[vN+"vebus/257/Ac/ActiveIn/P"]); got != c.acW {
			t.Errorf("after %s: Ac/ActiveIn/P %v W, want %v", c.payload, got, c.acW)
		}
		if c.acW == atLimit {
			if got := dbusNumber(t, state[vN+"battery/512/Dc/0/Power"]); got != -3000 {
				t.Errorf("after %s: Dc/0/Power %v W, want the battery's -3000 W limit", c.payload, got)
			}
		}
	}
	// Discharging 1000 W AC takes 1000/√0.9 W from the battery.
	write(`{"value": -1000}`)
	cycle()
	if got, want := dbusNumber(t, state[vN+"battery/512/Dc/0/Power"]), round(-1000/math.Sqrt(0.9), 1); got != want {
		t.Errorf("Dc/0/Power %v W at a -1000 W setpoint, want %v", got, want)
	}
	// null: back to self-consumption, which covers the house's import.
	write(`{"value": null}`)
	cycle()
	cycle()
	if grid := dbusNumber(t, state[vN+"grid/30/Ac/Power"]); math.Abs(grid) > 100 {
		t.Errorf("self-consumption again, grid %v W", grid)
	}
	// Other paths are not writable.
	if r := s.command(gx, "W/"+testPortal+"/battery/512/Soc", []byte(`{"value": 100}`), false); len(r) != 0 {
		t.Errorf("write to Soc answered %v", r)
	}
}

// TestVictronSoCLimits drives batteries with random setpoints, nulls and
// step lengths (up to hours) and checks that the state of charge never
// leaves [MinSoCPct, MaxSoCPct], that the battery's and the Multi's power
// stay within (possibly unequal) charge and discharge limits, and that
// what is published stays inside. TestBatteriesStayWithinTheirLimits does
// the same for fleets, against the limits a node is given.
func TestVictronSoCLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		minS := float64(rng.IntN(40))
		maxS := minS + 10 + float64(rng.IntN(int(90-minS)))
		cfg := VictronConfig{
			PortalID: testPortal, CapacityKWh: 0.5 + rng.Float64()*20, MinSoCPct: minS, MaxSoCPct: maxS,
			InitialSoCPct: rng.Float64() * 100, MaxChargeW: 100 + rng.Float64()*10000, MaxDischargeW: 100 + rng.Float64()*10000,
			RoundTripEfficiency: 0.5 + rng.Float64()/2,
		}
		t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(365*24)) * time.Hour)
		s, st := newVictronSim(t, t0, func(c *Config) {
			c.Victron[0] = cfg
			c.PV = []PVConfig{{Serial: testSerial, Nameplate: 5000}} // surpluses to charge from
		})
		gx := s.gxs[0]
		b := gx.bat
		keepAlive(s, "")
		for i := range 400 {
			switch rng.IntN(4) {
			case 0:
				s.command(gx, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", []byte(`{"value":null}`), false)
			default:
				s.command(gx, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", []byte(`{"value":`+itoa64(int64(rng.IntN(40001)-20000))+`}`), false)
			}
			dt := time.Duration(rng.IntN(10)+1) * time.Second
			if rng.IntN(10) == 0 {
				dt = time.Duration(rng.IntN(5*3600)) * time.Second
			}
			if i%50 == 0 {
				keepAlive(s, "suppress-republish")
			}
			msgs := st.step(dt)
			soc := b.socPct()
			if soc < minS-1e-9 || soc > maxS+1e-9 {
				t.Fatalf("trial %d step %d: SoC %v %% outside [%v, %v] (%+v)", trial, i, soc, minS, maxS, cfg)
			}
			if p := lastOf(msgs, vN+"battery/512/Soc"); p != "" {
				if v := dbusNumber(t, p); v < round(minS, 1)-0.05 || v > round(maxS, 1)+0.05 {
					t.Fatalf("trial %d step %d: published Soc %v outside [%v, %v]", trial, i, v, minS, maxS)
				}
			}
			if b.acW > b.maxChargeW+1e-9 || b.acW < -b.maxDischargeW-1e-9 {
				t.Fatalf("trial %d step %d: AC power %v W beyond the limits", trial, i, b.acW)
			}
			if b.dcW > b.maxChargeW+1e-9 || b.dcW < -b.maxDischargeW-1e-9 {
				t.Fatalf("trial %d step %d: battery power %v W beyond the limits +%v/−%v W", trial, i, b.dcW, b.maxChargeW, b.maxDischargeW)
			}
			if p := lastOf(msgs, vN+"battery/512/Dc/0/Power"); p != "" {
				if v := dbusNumber(t, p); v > b.maxChargeW+0.05 || v < -b.maxDischargeW-0.05 {
					t.Fatalf("trial %d step %d: published Dc/0/Power %v W beyond the limits +%v/−%v W", trial, i, v, b.maxChargeW, b.maxDischargeW)
				}
			}
		}
	}
}

// TestVictronEnergyConservation runs a day with PV, a plug, self-
// consumption and setpoints, reading only what the GX publishes (as a
// subscriber does), and checks that the counters are the integrals of the
// published powers and that the stored energy moved by exactly the DC
// energy counted.
func TestVictronEnergyConservation(t *testing.T) {
	const step = 5 * time.Second
	t0 := time.Date(2025, 6, 20, 12, 0, 0, 0, time.UTC)
	s, st := newVictronSim(t, t0, func(c *Config) {
		c.PV = []PVConfig{{Serial: testSerial, Nameplate: 2000}}
		c.Plugs = []PlugConfig{{Topic: testPlug}}
	})
	gx := s.gxs[0]
	socStart := gx.bat.energyWh
	state := map[string]string{}
	read := func(msgs []Message) {
		for _, m := range msgs {
			state[m.Topic] = m.Payload
		}
	}
	num := func(path string) float64 { return dbusNumber(t, state[vN+path]) }
	read(s.Step(t0))
	read(keepAlive(s, ""))
	var dcWh, gridWh, acWh float64
	startC, startD := num("battery/512/History/ChargedEnergy"), num("battery/512/History/DischargedEnergy")
	startF, startR := num("grid/30/Ac/Energy/Forward"), num("grid/30/Ac/Energy/Reverse")
	for i := 1; i <= int(24*time.Hour/step); i++ {
		switch i {
		case 1000:
			s.command(gx, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", []byte(`{"value":2500}`), false)
		case 3000:
			s.command(gx, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", []byte(`{"value":-1800}`), false)
		case 6000:
			s.command(gx, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", []byte(`{"value":null}`), false)
		}
		if i%10 == 0 {
			read(keepAlive(s, `{"keepalive-options":["suppress-republish"]}`))
		}
		read(st.step(step))
		h := step.Hours()
		dcWh += num("battery/512/Dc/0/Power") * h
		acWh += num("vebus/257/Ac/ActiveIn/P") * h
		gridWh += num("grid/30/Ac/Power") * h
	}
	charged := (num("battery/512/History/ChargedEnergy") - startC) * 1000
	discharged := (num("battery/512/History/DischargedEnergy") - startD) * 1000
	net := (num("grid/30/Ac/Energy/Forward") - startF - (num("grid/30/Ac/Energy/Reverse") - startR)) * 1000
	t.Logf("battery: charged %.0f Wh, discharged %.0f Wh, ∫Dc/0/Power %.1f Wh, ∫AC %.1f Wh; grid: net %.0f Wh, ∫Ac/Power %.1f Wh", charged, discharged, dcWh, acWh, net, gridWh)
	if charged < 1000 || discharged < 1000 {
		t.Fatalf("the day did not cycle the battery: charged %v Wh, discharged %v Wh", charged, discharged)
	}
	// Power is published with 0.1 W: 0.05 W × 24 h; counters in whole Wh
	// (truncated): 2 Wh.
	const tol = 0.05*24 + 2
	if got := charged - discharged; math.Abs(got-dcWh) > tol {
		t.Errorf("counters moved %.1f Wh, ∫Dc/0/Power = %.1f Wh (tolerance %v Wh)", got, dcWh, tol)
	}
	if math.Abs(net-gridWh) > tol {
		t.Errorf("grid counters moved %.1f Wh, ∫Ac/Power = %.1f Wh (tolerance %v Wh)", net, gridWh, tol)
	}
	// Stored energy is exactly the DC energy counted.
	b := gx.bat
	if got, want := b.energyWh-socStart, b.chargedWh-b.dischargedWh; math.Abs(got-want) > 1e-6 {
		t.Errorf("stored energy moved %v Wh, DC counters %v Wh", got, want)
	}
	// And the AC side loses the round trip: AC in × √η = DC in, DC out × √η = AC out.
	if acWh <= dcWh {
		t.Errorf("∫AC %.1f Wh <= ∫DC %.1f Wh: the losses are missing", acWh, dcWh)
	}
}

// TestVictronSelfConsumption: without a setpoint the battery charges from
// a PV surplus and discharges to cover the load, keeping the grid near
// 0 W, until its SoC limits.
func TestVictronSelfConsumption(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 11, 0, 0, 0, time.UTC)
	s, st := newVictronSim(t, t0, func(c *Config) {
		c.PV = []PVConfig{{Serial: testSerial, Nameplate: 3000}}
		c.Victron[0].CapacityKWh = 2
	})
	b := s.gxs[0].bat
	s.Step(t0)
	var charging, full bool
	for range 3 * 720 { // three hours of midday sun
		st.step(5 * time.Second)
		grid := s.house.gridW[0] + s.house.gridW[1] + s.house.gridW[2]
		switch {
		case b.dcW > 0:
			charging = true
			if b.socPct() < 99.9 && math.Abs(grid) > 300 {
				t.Fatalf("charging %v W with grid %v W: not following the surplus", b.dcW, grid)
			}
		case b.socPct() >= 100-1e-9:
			full = true
			if grid > -100 {
				t.Fatalf("battery full at noon but grid %v W: the surplus should be exported", grid)
			}
		}
	}
	if !charging || !full {
		t.Fatalf("midday: charging %v, full %v; want a 2 kWh battery charged full in three hours", charging, full)
	}
	// Night, 21:00 to 04:00: the battery covers the load until it
	// reaches 10 %.
	st.now = time.Date(2025, 6, 21, 21, 0, 0, 0, time.UTC)
	var discharging bool
	for range 7 * 720 {
		st.step(5 * time.Second)
		grid := s.house.gridW[0] + s.house.gridW[1] + s.house.gridW[2]
		if b.dcW < 0 {
			discharging = true
			if math.Abs(grid) > 300 {
				t.Fatalf("discharging %v W with grid %v W", b.dcW, grid)
			}
		}
	}
	if !discharging || math.Abs(b.socPct()-DefaultBatteryMinSoC) > 1e-6 {
		t.Errorf("night: discharging %v, SoC %v %%; want it emptied to the 10 %% minimum", discharging, b.socPct())
	}
	if grid := s.house.gridW[0] + s.house.gridW[1] + s.house.gridW[2]; grid < 50 {
		t.Errorf("battery at its minimum, grid %v W: the load must come from the grid", grid)
	}
}

func TestVictronValidation(t *testing.T) {
	cases := []struct {
		vc   VictronConfig
		want string
	}{
		{VictronConfig{PortalID: "C0619AB1234F"}, "Config.Victron[0].PortalID"},
		{VictronConfig{PortalID: "c0619ab1234"}, "Config.Victron[0].PortalID"},
		{VictronConfig{PortalID: testPortal, CapacityKWh: -1}, "Config.Victron[0].CapacityKWh"},
		{VictronConfig{PortalID: testPortal, MinSoCPct: 60, MaxSoCPct: 50}, "Config.Victron[0].MinSoCPct"},
		{VictronConfig{PortalID: testPortal, MaxSoCPct: 101}, "Config.Victron[0].MinSoCPct"},
		{VictronConfig{PortalID: testPortal, InitialSoCPct: 120}, "Config.Victron[0].InitialSoCPct"},
		{VictronConfig{PortalID: testPortal, MaxChargeW: math.NaN()}, "Config.Victron[0].MaxChargeW"},
		{VictronConfig{PortalID: testPortal, MaxDischargeW: -5}, "Config.Victron[0].MaxDischargeW"},
		{VictronConfig{PortalID: testPortal, RoundTripEfficiency: 1.2}, "Config.Victron[0].RoundTripEfficiency"},
	}
	for _, c := range cases {
		if _, err := New(Config{Victron: []VictronConfig{c.vc}}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.vc, err, c.want)
		}
	}
	if _, err := New(Config{Victron: []VictronConfig{{PortalID: testPortal}, {PortalID: testPortal}}}); err == nil || !strings.Contains(err.Error(), "Config.Victron[1].PortalID") {
		t.Errorf("duplicate portal ID: %v", err)
	}
	// Defaults.
	s, _ := newVictronSim(t, time.Now(), nil)
	b := s.gxs[0].bat
	if b.capWh != 10000 || b.minWh != 1000 || b.maxWh != 10000 || b.energyWh != 5000 || b.maxChargeW != 3000 || b.maxDischargeW != 3000 || math.Abs(b.oneWay*b.oneWay-0.9) > 1e-12 {
		t.Errorf("defaults: %+v", b)
	}
}
