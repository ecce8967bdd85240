package firmwaresim

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCommand sends arbitrary command topics and payloads to both
// simulated devices: the handlers must never panic, and the published
// state must stay physical (finite, non-negative power within nameplate).
func FuzzCommand(f *testing.F) {
	for _, seed := range []struct {
		topic, payload string
		retained       bool
	}{
		{"solar/" + testSerial + "/cmd/limit_nonpersistent_absolute", "600.7", false},
		{"solar/" + testSerial + "/cmd/limit_persistent_relative", "-5", false},
		{"solar/" + testSerial + "/cmd/power", "0", false},
		{"solar/" + testSerial + "/cmd/limit_nonpersistent_absolute", "300", true},
		{"cmnd/" + testPlug + "/POWER", "TOGGLE", false},
		{"cmnd/" + testPlug + "/POWER1", "", false},
		{"cmnd/" + testPlug + "/Status", "8", false},
	} {
		f.Add(seed.topic, []byte(seed.payload), seed.retained)
	}
	t0 := time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, topic string, payload []byte, retained bool) {
		s, clk := newTestSim(t, t0, nil)
		s.Step(t0)
		for _, ep := range s.endpoints() {
			s.command(ep, topic, payload, retained)
		}
		clk.Set(t0.Add(5 * time.Second))
		for _, m := range s.Step(t0.Add(5 * time.Second)) {
			if m.Topic == "solar/"+testSerial+"/0/power" {
				p, err := strconv.ParseFloat(m.Payload, 64)
				if err != nil || math.IsNaN(p) || p < 0 || p > 800 {
					t.Fatalf("after %s %q: power %q", topic, payload, m.Payload)
				}
			}
		}
	})
}

// checkJSONPayloads fails on a message whose payload should be JSON but
// is not.
func checkJSONPayloads(t *testing.T, what string, msgs []Message) {
	t.Helper()
	for _, m := range msgs {
		if m.Payload != "" && strings.ContainsAny(m.Payload[:1], "{[") && !json.Valid([]byte(m.Payload)) {
			t.Fatalf("%s: %s is not JSON: %s", what, m.Topic, m.Payload)
		}
		if strings.ContainsAny(m.Topic, "+#") || m.Topic == "" {
			t.Fatalf("%s: publish to topic %q", what, m.Topic)
		}
	}
}

// FuzzShellyRPC sends arbitrary RPC frames to a Shelly plug and meter:
// no panic, replies are JSON on <src>/rpc, power stays physical.
func FuzzShellyRPC(f *testing.F) {
	for _, seed := range []string{
		`{"id":1,"src":"x","method":"Switch.Set","params":{"id":0,"on":false}}`,
		`{"id":"a","src":"x","method":"Switch.Toggle","params":{"id":0}}`,
		`{"id":1,"src":"x","method":"Shelly.GetStatus"}`,
		`{"id":1,"src":"x","method":"EMData.GetStatus","params":{"id":0}}`,
		`{"id":1,"src":"x","method":"Switch.Set","params":{"id":0,"on":tr`,
		`{"id":1e400,"src":"x"}`, `{"id":-0,"src":"\u0000"}`, `{"id":null,"src":"x","method":"Shelly.GetStatus"}`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	t0 := time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, frame []byte) {
		s, st := newShellySim(t, t0, nil)
		s.Step(t0)
		for _, ep := range []endpoint{s.shellyPlugs[0], s.shellyMeters[0]} {
			prefix := ep.subscriptions()[0]
			replies := s.command(ep, prefix, frame, false)
			checkJSONPayloads(t, string(frame), replies)
			if len(replies) > 0 && !strings.HasSuffix(replies[0].Topic, "/rpc") {
				t.Fatalf("reply on %s", replies[0].Topic)
			}
		}
		msgs := st.step(5 * time.Second)
		checkJSONPayloads(t, string(frame), msgs)
		if p := s.shellyPlugs[0].powerW; math.IsNaN(p) || p < 0 || p > 10_000 {
			t.Fatalf("after %q: plug power %v", frame, p)
		}
	})
}

// FuzzGoESet sends arbitrary /set keys and payloads to a go-eCharger:
// every /set gets one /result, and amp, frc and the power stay in range.
func FuzzGoESet(f *testing.F) {
	for _, seed := range []struct{ key, payload string }{
		{"amp", "10"}, {"amp", "5"}, {"amp", "16.5"}, {"amp", "new_name"}, {"amp", ""},
		{"frc", "1"}, {"frc", "2"}, {"frc", "-1"}, {"fna", `"x"`}, {"amp", "1e999"}, {"amp", "[16]"},
	} {
		f.Add(seed.key, []byte(seed.payload))
	}
	t0 := time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, key string, payload []byte) {
		s, st := newGoESim(t, t0, nil)
		g := s.goes[0]
		s.Step(t0)
		replies := s.command(g, testGoE+key+"/set", payload, false)
		if key != "" && !strings.Contains(key, "/") {
			if len(replies) == 0 || replies[0].Topic != testGoE+key+"/result" || replies[0].Payload == "" || replies[0].Retained {
				t.Fatalf("%s/set %q: replies %v", key, payload, replies)
			}
		}
		msgs := st.step(5 * time.Second)
		checkJSONPayloads(t, key, msgs)
		nrg := nrgOf(t, lastOf(msgs, testGoE+"nrg"))
		if g.amp < g.mca || g.amp > g.ama || g.frc < 0 || g.frc > 2 || nrg[11] < 0 || nrg[11] > float64(g.ama)*253*3 {
			t.Fatalf("%s/set %q: amp %d frc %d P_Total %v", key, payload, g.amp, g.frc, nrg[11])
		}
	})
}

// FuzzVictronCommand sends arbitrary R/ and W/ requests to a GX: no
// panic, JSON payloads, the battery within its SoC and power limits.
func FuzzVictronCommand(f *testing.F) {
	for _, seed := range []struct {
		path, payload string
		retained      bool
	}{
		{"keepalive", "", false},
		{"keepalive", `{ "keepalive-options" : ["suppress-republish"] }`, false},
		{"keepalive", `{"keepalive-options":[{"full-publish-completed-echo":"x"}]}`, false},
		{"vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": -2000}`, false},
		{"vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": null}`, false},
		{"vebus/257/Hub4/L1/AcPowerSetpoint", `{"value": 1e308}`, true},
		{"battery/512", "", false},
	} {
		f.Add(seed.path, []byte(seed.payload), seed.retained)
	}
	t0 := time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, path string, payload []byte, retained bool) {
		s, st := newVictronSim(t, t0, func(c *Config) { c.Victron[0].CapacityKWh = 0.1 })
		gx := s.gxs[0]
		s.Step(t0)
		for _, action := range []string{"R/", "W/"} {
			checkJSONPayloads(t, path, s.command(gx, action+testPortal+"/"+path, payload, retained))
		}
		for range 3 {
			checkJSONPayloads(t, path, st.step(time.Minute))
		}
		b := gx.bat
		if soc := b.socPct(); soc < DefaultBatteryMinSoC-1e-9 || soc > 100+1e-9 || math.Abs(b.acW) > DefaultBatteryMaxW+1e-9 || math.Abs(b.dcW) > DefaultBatteryMaxW+1e-9 {
			t.Fatalf("%s %q: SoC %v %%, AC %v W, DC %v W", path, payload, soc, b.acW, b.dcW)
		}
		if v := b.setpointValue(); v < math.MinInt16 || v > math.MaxInt16 {
			t.Fatalf("%s %q: setpoint %d", path, payload, v)
		}
	})
}

// FuzzAhoyCtrl sends arbitrary ctrl/ topics and payloads to an AhoyDTU:
// the limit stays 0..100 %, the output within it, an ack is the limit kept
// ("%.1f", 0..6553.5, retained).
func FuzzAhoyCtrl(f *testing.F) {
	for _, seed := range []struct{ sub, payload string }{
		{"limit/0", "600W"}, {"limit/0", "70"}, {"limit/0", "70%"}, {"limit/0", "1"}, {"limit/0", "-5"},
		{"limit/x", "50"}, {"limit/0/1", "50"}, {"restart/0", ""}, {"limit/0", "99999999999W"},
	} {
		f.Add(seed.sub, []byte(seed.payload))
	}
	t0 := time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, sub string, payload []byte) {
		s, st := newAhoySim(t, t0, nil)
		a := s.ahoys[0]
		s.Step(t0)
		for _, r := range s.command(a, "inverter/ctrl/"+sub, payload, false) {
			v, err := strconv.ParseFloat(r.Payload, 64)
			if r.Topic != testAhoy+"ack_pwr_limit" || err != nil || v < 0 || v > 6553.5 || strconv.FormatFloat(v, 'f', 1, 64) != r.Payload || !r.Retained {
				t.Fatalf("%s %q: reply %v", sub, payload, r)
			}
		}
		m := byTopic(st.step(5 * time.Second))
		inv := a.inverters[0]
		p, err := strconv.ParseFloat(m[testAhoy+"ch0/P_AC"], 64)
		if inv.limitPct < 0 || inv.limitPct > 100 || err != nil || p < 0 || p > inv.limitPct/100*inv.nameplate+1e-3 {
			t.Fatalf("%s %q: limit %v %%, P_AC %q", sub, payload, inv.limitPct, m[testAhoy+"ch0/P_AC"])
		}
	})
}
