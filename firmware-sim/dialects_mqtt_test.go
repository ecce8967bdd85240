package firmwaresim

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// TestDialectsAgainstBroker runs a Shelly plug and meter, a Victron GX, a
// go-eCharger and an AhoyDTU against a real (embedded mochi-mqtt) broker:
// each announces itself, the GX stays silent until a keep-alive, each
// setpoint gets the firmware's reply (Shelly RPC reply, Victron N/ echo,
// go-e /result, AhoyDTU ack_pwr_limit) and changes the next telemetry,
// the retained state is what a late subscriber sees, and a clean shutdown
// announces offline (the GX says nothing).
func TestDialectsAgainstBroker(t *testing.T) {
	_, broker := startBroker(t)
	sub := newRecorder(t, broker, "test-sub", "#")
	t0 := time.Date(2025, 6, 22, 11, 30, 0, 0, time.UTC) // a sunny moment
	s, clk := newSim(t, t0, Config{
		Broker:         broker,
		Period:         time.Hour, // the test drives Step itself
		ConnectTimeout: patience,  // a bound on failure: a starved CI machine may take seconds
		ShellyPlugs:    []ShellyPlugConfig{{MAC: "02a1b2000001"}},
		ShellyMeters:   []ShellyMeterConfig{{MAC: "02a1b3000001"}},
		Victron:        []VictronConfig{{PortalID: testPortal}},
		GoE:            []GoEConfig{{Serial: "200001", SessionWh: 100_000}},
		Ahoy:           []AhoyConfig{{}},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		_ = waitRun(t, done)
	}()
	is := func(topic, payload string) func(received) bool {
		return func(m received) bool { return m.topic == topic && m.payload == payload }
	}
	sub.waitFor(t, 0, "plug online", is(testShellyPlug+"/online", "true"))
	sub.waitFor(t, 0, "meter online", is(testShellyMeter+"/online", "true"))
	sub.waitFor(t, 0, "go-e mcc", is(testGoE+"mcc", "true"))
	sub.waitFor(t, 0, "AhoyDTU connected", is("inverter/mqtt", "connected"))
	waitStats(t, s, "five devices connected", func(st Stats) bool { return st.Devices == 5 && st.Connected == 5 })

	// step runs one cycle and waits for the last message of each device.
	now, gxAlive := t0, false
	step := func() int {
		now = now.Add(5 * time.Second)
		clk.Set(now)
		from := sub.mark()
		s.Step(now)
		sub.waitFor(t, from, "plug cycle", topicIs(testShellyPlug+"/status/switch:0"))
		sub.waitFor(t, from, "meter cycle", topicIs(testShellyMeter+"/status/emdata:0"))
		sub.waitFor(t, from, "go-e cycle", topicIs(testGoE+"eto"))
		sub.waitFor(t, from, "AhoyDTU cycle", topicIs("inverter/uptime"))
		if gxAlive {
			sub.waitFor(t, from, "GX heartbeat", topicIs(vN+"heartbeat"))
		}
		return from
	}
	after := func(from int, topic string) string { return sub.waitFor(t, from, topic, topicIs(topic)).payload }
	step()
	step()

	// Victron: silent so far; a keep-alive brings the full publish; a
	// write is echoed and the Multi follows it at the next cycle.
	sub.mu.Lock()
	for _, m := range sub.msgs {
		if strings.HasPrefix(m.topic, "N/") {
			t.Errorf("GX published %s before any keep-alive", m.topic)
		}
	}
	sub.mu.Unlock()
	from := sub.mark()
	sub.publish(t, "R/"+testPortal+"/keepalive", "", false)
	sub.waitFor(t, from, "full_publish_completed", topicIs(vN+"full_publish_completed"))
	gxAlive = true
	from = sub.mark()
	sub.publish(t, "W/"+testPortal+"/vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": -500}`, false)
	sub.waitFor(t, from, "N/ echo of the setpoint", is(vN+"vebus/257/Hub4/L1/AcPowerSetpoint", `{"value":-500}`))
	from = step()
	if p := after(from, vN+"vebus/257/Ac/ActiveIn/P"); p != `{"value":-500.0}` {
		t.Errorf("Ac/ActiveIn/P %s after a -500 W setpoint", p)
	}
	if p := dbusNumber(t, after(from, vN+"battery/512/Dc/0/Power")); p > -500 {
		t.Errorf("battery Dc/0/Power %v W at a -500 W setpoint", p)
	}

	// Shelly: Switch.Set off, the reply on <src>/rpc, a NotifyStatus, and
	// no power at the next cycle.
	from = sub.mark()
	sub.publish(t, testShellyPlug+"/rpc", `{"id":42,"src":"gridmint-test","method":"Switch.Set","params":{"id":0,"on":false}}`, false)
	reply := sub.waitFor(t, from, "RPC reply", topicIs("gridmint-test/rpc"))
	if want := `{"id":42,"src":"` + testShellyPlug + `","dst":"gridmint-test","result":{"was_on":true}}`; reply.payload != want {
		t.Errorf("RPC reply %s, want %s", reply.payload, want)
	}
	sub.waitFor(t, from, "NotifyStatus output false", func(m received) bool {
		return m.topic == testShellyPlug+"/events/rpc" && strings.Contains(m.payload, `"output":false`)
	})
	from = step()
	var sw struct {
		Output bool
		Apower float64
	}
	if err := json.Unmarshal([]byte(after(from, testShellyPlug+"/status/switch:0")), &sw); err != nil || sw.Output || sw.Apower != 0 {
		t.Errorf("plug after Switch.Set off: %+v %v", sw, err)
	}

	// go-e: amp/set, "success" on amp/result, the new amp, and the power
	// follows at the next cycle; a bad value gets the firmware's text.
	from = sub.mark()
	sub.publish(t, testGoE+"amp/set", "8", false)
	if r := after(from, testGoE+"amp/result"); r != "success" {
		t.Errorf("amp/result %q", r)
	}
	sub.waitFor(t, from, "amp 8", is(testGoE+"amp", "8"))
	from = step()
	if nrg := nrgOf(t, after(from, testGoE+"nrg")); math.Abs(nrg[11]-8*230*3) > 0.02*8*230*3 {
		t.Errorf("P_Total %v W at 8 A on three phases", nrg[11])
	}
	from = sub.mark()
	sub.publish(t, testGoE+"amp/set", "5", false)
	if r := after(from, testGoE+"amp/result"); r != "amp: failed: Value 5 exceeds range 6 to 16 (5)" {
		t.Errorf("amp/result %q for 5 A", r)
	}

	// AhoyDTU: an absolute limit is acknowledged (0.8.106+: the limit
	// kept, retained) and clips the output.
	from = sub.mark()
	sub.publish(t, "inverter/ctrl/limit/0", "100W", false)
	sub.waitFor(t, from, "ack_pwr_limit", func(m received) bool {
		return m.topic == testAhoy+"ack_pwr_limit" && m.payload == "100.0"
	})
	from = step()
	if p := mustFloat(t, after(from, testAhoy+"ch0/P_AC")); p > 100 {
		t.Errorf("P_AC %v W above the 100 W limit", p)
	}
	if l := after(from, testAhoy+"ch0/PowerLimit"); l != "16.6" {
		t.Errorf("PowerLimit %s, want 16.6 (100 W of 600 W, in 0.1 %% steps)", l)
	}
	if st := s.Stats(); st.Commands != 6 || st.Ignored != 1 {
		t.Errorf("stats %+v: want 6 commands, 1 ignored (amp 5)", st)
	}

	// A late subscriber gets the retained state.
	late := newRecorder(t, broker, "test-late", "#")
	for _, want := range []received{
		{testShellyPlug + "/online", "true", true},
		{testShellyMeter + "/online", "true", true},
		{testGoE + "mcc", "true", true},
		{testGoE + "amp", "8", true},
		{"inverter/mqtt", "connected", true},
		{vN + "system/0/Serial", `{"value":"` + testPortal + `"}`, true},
	} {
		if m := late.waitFor(t, 0, want.topic, topicIs(want.topic)); m != want {
			t.Errorf("late subscriber got %+v, want %+v", m, want)
		}
	}

	// Clean shutdown: offline everywhere, nothing from the GX.
	from = sub.mark()
	cancel()
	if err := waitRun(t, done); err == errRunHung {
		t.FailNow()
	} else if err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	done <- nil
	sub.waitFor(t, from, "plug offline", is(testShellyPlug+"/online", "false"))
	sub.waitFor(t, from, "meter offline", is(testShellyMeter+"/online", "false"))
	sub.waitFor(t, from, "go-e offline", is(testGoE+"mcc", "false"))
	sub.waitFor(t, from, "AhoyDTU offline", is("inverter/mqtt", "not connected"))
	sub.mu.Lock()
	for _, m := range sub.msgs[from:] {
		if strings.HasPrefix(m.topic, "N/") {
			t.Errorf("GX published %s on shutdown", m.topic)
		}
	}
	sub.mu.Unlock()
}
