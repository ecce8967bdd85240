package firmwaresim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestGoldenCycle pins one publish cycle of every device: topics, order,
// payload text, retain flags and QoS, at a fixed time with a fixed seed.
// If a deliberate change alters it, check the new output against
// shared/payloads (opendtu.md, tasmota.md) before updating.
func TestGoldenCycle(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, _ := newTestSim(t, t0, func(c *Config) {
		c.Plugs = append(c.Plugs, PlugConfig{Topic: "sonoff_dual", Channels: 2, SeparateTotals: true, AnnualKWh: 500})
	})
	s.Step(t0)
	got := s.Step(t0.Add(time.Minute))

	const dtu, plug, dual = "fwsim-opendtu-solar", "fwsim-tasmota_A1B2C3", "fwsim-sonoff_dual"
	const state = `"Heap":25,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":0,`
	const wifi = `"Wifi":{"AP":1,"SSId":"gridmint-sim","BSSId":"02:00:00:00:00:01","Channel":6,"Mode":"11n","RSSI":80,"Signal":-60,"LinkCount":1,"Downtime":"0T00:00:03"}}`
	want := []struct{ device, topic, payload string }{
		{dtu, "solar/116181234567/name", "HM-800 4567"},
		{dtu, "solar/116181234567/status/limit_relative", "100.00"},
		{dtu, "solar/116181234567/status/limit_absolute", "800.00"},
		{dtu, "solar/116181234567/status/reachable", "1"},
		{dtu, "solar/116181234567/status/producing", "1"},
		{dtu, "solar/116181234567/status/last_update", "1750507260"}, // 2025-06-21T12:01:00Z
		{dtu, "solar/116181234567/0/voltage", "231.7"},
		{dtu, "solar/116181234567/0/current", "1.63"},
		{dtu, "solar/116181234567/0/power", "376.9"},
		{dtu, "solar/116181234567/0/frequency", "49.98"},
		{dtu, "solar/116181234567/0/powerfactor", "1.000"},
		{dtu, "solar/116181234567/0/reactivepower", "0.0"},
		{dtu, "solar/116181234567/1/voltage", "32.6"},
		{dtu, "solar/116181234567/1/current", "12.01"},
		{dtu, "solar/116181234567/1/power", "391.9"},
		{dtu, "solar/116181234567/1/yieldday", "6"},
		{dtu, "solar/116181234567/1/yieldtotal", "0.006"},
		{dtu, "solar/116181234567/1/irradiation", "40.820"},
		{dtu, "solar/116181234567/0/powerdc", "391.9"},
		{dtu, "solar/116181234567/0/yieldday", "6"},       // 376.9 W × 60 s = 6.28 Wh, truncated
		{dtu, "solar/116181234567/0/yieldtotal", "0.006"}, // kWh
		{dtu, "solar/116181234567/0/temperature", "40.8"},
		{dtu, "solar/116181234567/0/efficiency", "96.190"},
		{dtu, "solar/ac/power", "376.9"},
		{dtu, "solar/ac/yieldtotal", "0.006"},
		{dtu, "solar/ac/yieldday", "6"},
		{dtu, "solar/ac/is_valid", "1"},
		{dtu, "solar/dc/power", "391.9"},
		{dtu, "solar/dc/irradiation", "40.820"},
		{dtu, "solar/dc/is_valid", "1"},
		{dtu, "solar/dtu/uptime", "60"},
		{dtu, "solar/dtu/ip", "192.0.2.10"},
		{dtu, "solar/dtu/hostname", "OpenDTU-6E77DB"},
		{dtu, "solar/dtu/rssi", "-62"},
		{plug, "tele/tasmota_A1B2C3/STATE", `{"Time":"2025-06-21T12:01:00","Uptime":"0T00:01:00","UptimeSec":60,` + state + `"POWER":"ON",` + wifi},
		{plug, "tele/tasmota_A1B2C3/SENSOR", `{"Time":"2025-06-21T12:01:00","ENERGY":{"TotalStartTime":"2025-06-21T12:00:00","Total":0.002,"Yesterday":0.000,"Today":0.002,"Period":2,"Power":132,"ApparentPower":146,"ReactivePower":64,"Factor":0.90,"Voltage":228,"Current":0.643}}`},
		{dual, "tele/sonoff_dual/STATE", `{"Time":"2025-06-21T12:01:00","Uptime":"0T00:01:00","UptimeSec":60,` + state + `"POWER1":"ON","POWER2":"ON",` + wifi},
		{dual, "tele/sonoff_dual/SENSOR", `{"Time":"2025-06-21T12:01:00","ENERGY":{"TotalStartTime":"2025-06-21T12:00:00","Total":[0.001,0.001],"Yesterday":[0.000,0.000],"Today":[0.001,0.001],"Period":[1,1],"Power":[74,73],"ApparentPower":[82,81],"ReactivePower":[36,35],"Factor":[0.90,0.90],"Voltage":229,"Current":[0.357,0.353]}}`},
	}
	if len(got) != len(want) {
		t.Errorf("%d messages, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Device != w.device || g.Topic != w.topic || g.Payload != w.payload {
			t.Errorf("message %d:\n got %s %s %s\nwant %s %s %s", i, g.Device, g.Topic, g.Payload, w.device, w.topic, w.payload)
		}
		// OpenDTU retains everything; Tasmota telemetry is not retained.
		if wantRetained := g.Device == dtu; g.Retained != wantRetained || g.QoS != 0 {
			t.Errorf("message %d %s: retained %v QoS %d", i, g.Topic, g.Retained, g.QoS)
		}
	}

	// Every JSON payload is valid JSON, and the dual plug's per-channel
	// values are arrays while Voltage is a scalar, as on a Sonoff Dual R3.
	for _, m := range got {
		if strings.HasPrefix(m.Payload, "{") && !json.Valid([]byte(m.Payload)) {
			t.Errorf("%s: invalid JSON %s", m.Topic, m.Payload)
		}
	}
	var dualSensor struct{ ENERGY map[string]json.RawMessage }
	if err := json.Unmarshal([]byte(got[len(got)-1].Payload), &dualSensor); err != nil {
		t.Fatal(err)
	}
	for key, raw := range dualSensor.ENERGY {
		isArray := strings.HasPrefix(string(raw), "[")
		if scalar := key == "Voltage" || key == "TotalStartTime"; isArray == scalar {
			t.Errorf("dual ENERGY.%s = %s: want %s", key, raw, map[bool]string{true: "a scalar", false: "an array"}[scalar])
		}
	}
}

// TestConnectMessages pins what each device sets as its will, publishes
// on connect and subscribes to.
func TestConnectMessages(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, _ := newTestSim(t, t0, func(c *Config) {
		c.PV = append(c.PV, PVConfig{Serial: "112183818450", BaseTopic: "garage/dtu2/"})
		c.Plugs[0].FullTopic = "tasmota/%topic%/%prefix%/"
	})
	eps := s.endpoints()
	if len(eps) != 3 {
		t.Fatalf("%d MQTT devices, want 2 DTUs + 1 plug", len(eps))
	}
	type conn struct{ id, will, online, subs string }
	want := []conn{
		{"fwsim-opendtu-solar", "solar/dtu/status offline (retained)", "solar/dtu/status online (retained)",
			"solar/+/cmd/limit_persistent_relative solar/+/cmd/limit_persistent_absolute solar/+/cmd/limit_nonpersistent_relative solar/+/cmd/limit_nonpersistent_absolute solar/+/cmd/power solar/+/cmd/restart"},
		{"fwsim-opendtu-garage-dtu2", "garage/dtu2/dtu/status offline (retained)", "garage/dtu2/dtu/status online (retained)",
			"garage/dtu2/+/cmd/limit_persistent_relative garage/dtu2/+/cmd/limit_persistent_absolute garage/dtu2/+/cmd/limit_nonpersistent_relative garage/dtu2/+/cmd/limit_nonpersistent_absolute garage/dtu2/+/cmd/power garage/dtu2/+/cmd/restart"},
		{"fwsim-tasmota_A1B2C3", "tasmota/tasmota_A1B2C3/tele/LWT Offline (retained)", "tasmota/tasmota_A1B2C3/tele/LWT Online (retained)",
			"tasmota/tasmota_A1B2C3/cmnd/#"},
	}
	for i, ep := range eps {
		online := ep.onConnect(t0)
		got := conn{ep.clientID(), ep.will().String(), online[0].String(), strings.Join(ep.subscriptions(), " ")}
		if len(online) != 1 || got != want[i] {
			t.Errorf("device %d:\n got %+v\nwant %+v", i, got, want[i])
		}
		if w := ep.will(); w.QoS != availabilityQoS || !w.Retained || online[0].QoS != availabilityQoS {
			t.Errorf("%s: will QoS %d retained %v, online QoS %d", got.id, w.QoS, w.Retained, online[0].QoS)
		}
	}
	if m := byTopic(s.Step(t0)); m["tasmota/tasmota_A1B2C3/tele/SENSOR"] == "" || m["garage/dtu2/112183818450/0/power"] == "" {
		t.Error("custom FullTopic or base topic not used for telemetry")
	}
}
