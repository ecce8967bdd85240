package firmwaresim

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func newShellySim(t *testing.T, t0 time.Time, mod func(*Config)) (*Sim, *stepper) {
	t.Helper()
	cfg := Config{
		PV:           []PVConfig{{Serial: testSerial}},
		ShellyPlugs:  []ShellyPlugConfig{{MAC: "02a1b2000001"}},
		ShellyMeters: []ShellyMeterConfig{{MAC: "02A1B3000001"}},
	}
	if mod != nil {
		mod(&cfg)
	}
	s, clk := newSim(t, t0, cfg)
	return s, &stepper{s, clk, t0}
}

// TestShellyGolden pins one cycle of a Plus Plug S and a Pro 3EM after a
// first one: NotifyStatus with the keys that changed and the counters,
// then the full status topics. Check changes against
// shared/payloads/shelly.md.
func TestShellyGolden(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newShellySim(t, t0, nil)
	s.Step(t0)
	var got []Message
	for _, m := range st.step(time.Minute) {
		if strings.HasPrefix(m.Topic, "shelly") {
			got = append(got, m)
		}
	}
	const plug, meter = testShellyPlug, testShellyMeter
	golden(t, got, []string{
		plug + `/events/rpc {"src":"` + plug + `","dst":"` + plug + `/events","method":"NotifyStatus","params":{"ts":1750507260.00,"switch:0":{"id":0,"apower":144.4,"voltage":231.4,"current":0.657,"aenergy":{"total":2.406,"by_minute":[2406.975,0.000,0.000],"minute_ts":1750507260},"temperature":{"tC":25.5,"tF":77.8}}}}`,
		plug + `/status/switch:0 {"id":0,"source":"init","output":true,"apower":144.4,"voltage":231.4,"current":0.657,"aenergy":{"total":2.406,"by_minute":[2406.975,0.000,0.000],"minute_ts":1750507260},"temperature":{"tC":25.5,"tF":77.8}}`,
		meter + `/events/rpc {"src":"` + meter + `","dst":"` + meter + `/events","method":"NotifyStatus","params":{"ts":1750507260.00,"em:0":{"id":0,"a_voltage":230.2,"a_act_power":-47.8,"a_aprt_power":50.3,"b_current":0.735,"b_voltage":231.6,"b_act_power":161.6,"b_aprt_power":170.1,"c_current":0.531,"c_voltage":229.0,"c_act_power":115.4,"c_aprt_power":121.5,"total_current":1.484,"total_act_power":229.275,"total_aprt_power":341.977},"emdata:0":{"id":0,"a_total_act_energy":0.000,"a_total_act_ret_energy":0.796,"b_total_act_energy":2.693,"b_total_act_ret_energy":0.000,"c_total_act_energy":1.924,"c_total_act_ret_energy":0.000,"total_act":4.617,"total_act_ret":0.796}}}`,
		meter + `/status/em:0 {"id":0,"a_current":0.219,"a_voltage":230.2,"a_act_power":-47.8,"a_aprt_power":50.3,"a_pf":-0.95,"b_current":0.735,"b_voltage":231.6,"b_act_power":161.6,"b_aprt_power":170.1,"b_pf":0.95,"c_current":0.531,"c_voltage":229.0,"c_act_power":115.4,"c_aprt_power":121.5,"c_pf":0.95,"n_current":null,"total_current":1.484,"total_act_power":229.275,"total_aprt_power":341.977,"user_calibrated_phase":[]}`,
		meter + `/status/emdata:0 {"id":0,"a_total_act_energy":0.000,"a_total_act_ret_energy":0.796,"b_total_act_energy":2.693,"b_total_act_ret_energy":0.000,"c_total_act_energy":1.924,"c_total_act_ret_energy":0.000,"total_act":4.617,"total_act_ret":0.796}`,
	})
	for _, m := range got {
		if m.QoS != 1 || m.Retained || m.Device != "fwsim-"+strings.SplitN(m.Topic, "/", 2)[0] {
			t.Errorf("%s: device %s QoS %d retained %v", m.Topic, m.Device, m.QoS, m.Retained)
		}
	}
	for i, ep := range []endpoint{s.shellyPlugs[0], s.shellyMeters[0]} {
		id := []string{plug, meter}[i]
		w, on := ep.will(), ep.onConnect(t0)
		if w.String() != id+"/online false (retained)" || w.QoS != 1 || len(on) != 1 || on[0].String() != id+"/online true (retained)" ||
			strings.Join(ep.subscriptions(), " ") != id+"/rpc" || ep.clientID() != "fwsim-"+id {
			t.Errorf("%s: will %v, on connect %v, subscriptions %v, client %s", id, w, on, ep.subscriptions(), ep.clientID())
		}
	}
}

// rpc sends one RPC frame to ep and returns the reply (the first
// message), decoded, with the messages after it.
func rpc(t *testing.T, s *Sim, ep endpoint, prefix, frame string) (reply map[string]json.RawMessage, topic string, after []Message) {
	t.Helper()
	msgs := s.command(ep, prefix+"/rpc", []byte(frame), false)
	if len(msgs) == 0 {
		return nil, "", nil
	}
	if err := json.Unmarshal([]byte(msgs[0].Payload), &reply); err != nil {
		t.Fatalf("reply to %s is not JSON: %s", frame, msgs[0].Payload)
	}
	if msgs[0].Retained || msgs[0].QoS != 1 {
		t.Errorf("reply retained %v QoS %d", msgs[0].Retained, msgs[0].QoS)
	}
	return reply, msgs[0].Topic, msgs[1:]
}

func TestShellyRPC(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 19, 0, 0, 0, time.UTC)
	s, st := newShellySim(t, t0, nil)
	p, m := s.shellyPlugs[0], s.shellyMeters[0]
	s.Step(t0)

	// Switch.Set off: the reply, at once a NotifyStatus with output and
	// source, and no power from the next cycle.
	r := s.command(p, testShellyPlug+"/rpc", []byte(`{"id":7,"src":"gridmint-1","method":"Switch.Set","params":{"id":0,"on":false}}`), false)
	want := `{"id":7,"src":"` + testShellyPlug + `","dst":"gridmint-1","result":{"was_on":true}}`
	if len(r) != 2 || r[0].Topic != "gridmint-1/rpc" || r[0].Payload != want {
		t.Fatalf("Switch.Set replies %v, want %s on gridmint-1/rpc", r, want)
	}
	if after := r[1:]; len(after) != 1 || !strings.Contains(after[0].Payload, `"switch:0":{"id":0,"source":"MQTT","output":false}}`) || after[0].Topic != testShellyPlug+"/events/rpc" {
		t.Errorf("NotifyStatus after the switch: %v", after)
	}
	msgs := st.step(5 * time.Second)
	var sw struct {
		Output bool
		Apower float64
		Source string
	}
	if err := json.Unmarshal([]byte(lastOf(msgs, testShellyPlug+"/status/switch:0")), &sw); err != nil || sw.Output || sw.Apower != 0 || sw.Source != "MQTT" {
		t.Errorf("after off: %+v %v", sw, err)
	}
	// Toggle back on, a string id, jsonrpc member.
	reply, _, _ := rpc(t, s, p, testShellyPlug, `{"jsonrpc":"2.0","id":"abc","src":"ha","method":"Switch.Toggle","params":{"id":0}}`)
	if string(reply["id"]) != `"abc"` || string(reply["result"]) != `{"was_on":false}` {
		t.Errorf("Toggle reply %v", reply)
	}
	if err := json.Unmarshal([]byte(lastOf(st.step(5*time.Second), testShellyPlug+"/status/switch:0")), &sw); err != nil || !sw.Output || sw.Apower <= 0 {
		t.Errorf("after toggle: %+v %v", sw, err)
	}
	// GetStatus: every component, switch:0 as on its status topic.
	reply, _, _ = rpc(t, s, p, testShellyPlug, `{"id":1,"src":"x","method":"Shelly.GetStatus"}`)
	var status map[string]json.RawMessage
	if err := json.Unmarshal(reply["result"], &status); err != nil || status["switch:0"] == nil || status["sys"] == nil || status["wifi"] == nil {
		t.Errorf("Shelly.GetStatus result %s", reply["result"])
	}
	reply, _, _ = rpc(t, s, p, testShellyPlug, `{"id":2,"src":"x","method":"Switch.GetStatus","params":{"id":0}}`)
	if !strings.HasPrefix(string(reply["result"]), `{"id":0,"source":"MQTT","output":true,`) {
		t.Errorf("Switch.GetStatus %s", reply["result"])
	}
	reply, _, _ = rpc(t, s, m, testShellyMeter, `{"id":3,"src":"x","method":"EM.GetStatus","params":{"id":0}}`)
	if !strings.Contains(string(reply["result"]), `"total_act_power":`) {
		t.Errorf("EM.GetStatus %s", reply["result"])
	}
	reply, _, _ = rpc(t, s, m, testShellyMeter, `{"id":4,"src":"x","method":"EMData.GetStatus","params":{"id":0}}`)
	if !strings.Contains(string(reply["result"]), `"total_act_ret":`) {
		t.Errorf("EMData.GetStatus %s", reply["result"])
	}

	// Errors, when id and src can be read.
	errs := []struct {
		ep     endpoint
		prefix string
		frame  string
		code   int
	}{
		{p, testShellyPlug, `{"id":5,"src":"x","method":"Switch.Set","params":{"id":0}}`, -103},
		{p, testShellyPlug, `{"id":5,"src":"x","method":"Switch.Set","params":{"id":0,"on":"yes"}}`, -103},
		{p, testShellyPlug, `{"id":5,"src":"x","method":"Switch.Set","params":{"on":true}}`, -103},
		{p, testShellyPlug, `{"id":5,"src":"x","method":"Switch.Set","params":{"id":1,"on":true}}`, -105},
		{p, testShellyPlug, `{"id":5,"src":"x","method":"Switch.Set","params":[1]}`, -103},
		{p, testShellyPlug, `{"id":5,"src":"x","params":{}}`, -103},
		{p, testShellyPlug, `{"id":5,"src":"x","method":"Switch.Set","params":{"id":0,"on":tru`, -103}, // broken after id and src
		{p, testShellyPlug, `{"id":5,"src":"x","method":"Cover.Open"}`, 404},
		{m, testShellyMeter, `{"id":5,"src":"x","method":"Switch.Set","params":{"id":0,"on":true}}`, 404},
		{m, testShellyMeter, `{"id":5,"src":"x","method":"EM.GetStatus","params":{"id":2}}`, -105},
	}
	for _, c := range errs {
		before := s.Stats().Ignored
		reply, topic, _ := rpc(t, s, c.ep, c.prefix, c.frame)
		var e struct{ Code int }
		if reply == nil || json.Unmarshal(reply["error"], &e) != nil || e.Code != c.code || topic != "x/rpc" || string(reply["id"]) != "5" || reply["result"] != nil {
			t.Errorf("%s: reply %v on %s, want error %d", c.frame, reply, topic, c.code)
		}
		if s.Stats().Ignored != before+1 {
			t.Errorf("%s: not counted as ignored", c.frame)
		}
	}
	if !p.output {
		t.Fatal("a failed Switch.Set changed the relay")
	}
	// No reply without a usable id and src.
	for _, frame := range []string{
		`{"src":"x","method":"Switch.Toggle","params":{"id":0}}`,
		`{"id":1,"method":"Switch.Toggle","params":{"id":0}}`,
		`{"id":1,"src":"a/#","method":"Switch.Toggle","params":{"id":0}}`,
		`{"id":{},"src":"x","method":"Switch.Toggle","params":{"id":0}}`,
		`{"id":null,"src":"x","method":"Switch.Toggle","params":{"id":0}}`,
		`{"id":true,"src":"x","method":"Switch.Toggle","params":{"id":0}}`,
		`{"id":1,"src":7}`,
		`not json`, ``, `[1,2]`,
	} {
		if reply, _, _ := rpc(t, s, p, testShellyPlug, frame); reply != nil {
			t.Errorf("%q answered %v", frame, reply)
		}
	}
	if got := s.command(p, "elsewhere/rpc", []byte(`{"id":1,"src":"x","method":"Switch.Toggle","params":{"id":0}}`), false); len(got) != 0 {
		t.Errorf("a frame on another topic answered %v", got)
	}
}

// TestShellyMeterHouse: the Pro 3EM measures the house balance (its own
// load plus plugs plus the EV minus PV), per phase; switching a plug off
// lowers it by the plug's power, a PV surplus is exported with negative
// power, and its counters are the integral of total_act_power.
func TestShellyMeterHouse(t *testing.T) {
	const step = 5 * time.Second
	t0 := time.Date(2025, 6, 21, 6, 0, 0, 0, time.UTC)
	s, st := newShellySim(t, t0, func(c *Config) {
		c.PV[0].Nameplate = 4000
		c.Plugs = []PlugConfig{{Topic: testPlug}}
		c.GoE = []GoEConfig{{Serial: "200001", SessionWh: 3000, FirstArrival: 3 * time.Hour}}
	})
	var em struct {
		TotalActPower float64 `json:"total_act_power"`
		AActPower     float64 `json:"a_act_power"`
		BActPower     float64 `json:"b_act_power"`
		CActPower     float64 `json:"c_act_power"`
		APf           float64 `json:"a_pf"`
	}
	var data struct {
		TotalAct    float64 `json:"total_act"`
		TotalActRet float64 `json:"total_act_ret"`
	}
	read := func(msgs []Message) {
		if err := json.Unmarshal([]byte(lastOf(msgs, testShellyMeter+"/status/em:0")), &em); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(lastOf(msgs, testShellyMeter+"/status/emdata:0")), &data); err != nil {
			t.Fatal(err)
		}
	}
	read(s.Step(t0))
	imp0, exp0 := data.TotalAct, data.TotalActRet
	var integral float64
	var exported, evSeen bool
	for i := 1; i <= int(12*time.Hour/step); i++ {
		read(st.step(step))
		integral += em.TotalActPower * step.Hours()
		h := s.house
		want := h.loadW + s.plugs[0].channels[0].powerW + s.shellyPlugs[0].powerW + s.goes[0].totalW() - s.dtus[0].inverters[0].live.acW
		if math.Abs(em.TotalActPower-want) > 0.001 {
			t.Fatalf("%v: total_act_power %v W, house balance %v W", st.now, em.TotalActPower, want)
		}
		if sum := em.AActPower + em.BActPower + em.CActPower; math.Abs(sum-em.TotalActPower) > 0.16 {
			t.Fatalf("phases add to %v W, total %v W", sum, em.TotalActPower)
		}
		if em.AActPower < 0 {
			exported = true
			if em.APf >= 0 {
				t.Fatalf("exporting on L1 with pf %v", em.APf)
			}
		}
		if s.goes[0].totalW() > 0 {
			evSeen = true
		}
	}
	if !exported || !evSeen {
		t.Errorf("exported %v, EV charged %v: the day should see both", exported, evSeen)
	}
	net := (data.TotalAct - imp0) - (data.TotalActRet - exp0)
	t.Logf("total_act +%.3f Wh, total_act_ret +%.3f Wh, ∫total_act_power %.3f Wh", data.TotalAct-imp0, data.TotalActRet-exp0, integral)
	// Power with 3 decimals, counters truncated to 0.001 Wh per phase.
	if math.Abs(net-integral) > 0.01 {
		t.Errorf("counters moved %.4f Wh net, ∫total_act_power %.4f Wh", net, integral)
	}

	// Switching the Shelly plug off lowers the meter by the plug's power.
	s2, st2 := newShellySim(t, t0, nil)
	s2.Step(t0)
	st2.step(step)
	s2.command(s2.shellyPlugs[0], testShellyPlug+"/rpc", []byte(`{"id":1,"src":"x","method":"Switch.Set","params":{"id":0,"on":false}}`), false)
	st2.step(step)
	if p := s2.shellyPlugs[0].powerW; p != 0 {
		t.Errorf("plug off, power %v", p)
	}
	if got, want := s2.shellyMeters[0].totalW(), s2.house.loadW-s2.dtus[0].inverters[0].live.acW; math.Abs(got-want) > 1e-9 {
		t.Errorf("plug off: meter %v W, house without it %v W", got, want)
	}
}

// TestShellyByMinute: by_minute holds the last three complete minutes in
// mWh, newest first, and they add up to what aenergy.total counted.
func TestShellyByMinute(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 18, 0, 0, 0, time.UTC)
	s, st := newShellySim(t, t0, func(c *Config) { c.PV = nil; c.ShellyMeters = nil })
	type aenergy struct {
		Total    float64
		ByMinute [3]float64 `json:"by_minute"`
		MinuteTS int64      `json:"minute_ts"`
	}
	var sw struct{ Aenergy aenergy }
	totals := map[int64]float64{} // minute_ts → total at the minute's start
	s.Step(t0)
	for range 12 * 10 { // ten minutes of 5 s steps
		msgs := st.step(5 * time.Second)
		if err := json.Unmarshal([]byte(lastOf(msgs, testShellyPlug+"/status/switch:0")), &sw); err != nil {
			t.Fatal(err)
		}
		if _, ok := totals[sw.Aenergy.MinuteTS]; !ok && st.now.Unix() == sw.Aenergy.MinuteTS {
			totals[sw.Aenergy.MinuteTS] = sw.Aenergy.Total
		}
	}
	a := sw.Aenergy
	if a.MinuteTS != st.now.Unix() {
		t.Fatalf("minute_ts %d at %v", a.MinuteTS, st.now)
	}
	for i := range 3 {
		start, end := a.MinuteTS-int64(i+1)*60, a.MinuteTS-int64(i)*60
		want := (totals[end] - totals[start]) * 1000
		if math.Abs(a.ByMinute[i]-want) > 2 { // totals carry 0.001 Wh = 1 mWh each
			t.Errorf("by_minute[%d] = %v mWh, the total grew %v mWh in that minute", i, a.ByMinute[i], want)
		}
	}
}

func TestShellyValidation(t *testing.T) {
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b200000"}} }, "Config.ShellyPlugs[0].MAC"},
		{func(c *Config) { c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b200000g"}} }, "Config.ShellyPlugs[0].MAC"},
		{func(c *Config) { c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b2000001", Prefix: "a/#"}} }, "Config.ShellyPlugs[0].Prefix"},
		{func(c *Config) { c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b2000001", Prefix: "a/"}} }, "Config.ShellyPlugs[0].Prefix"},
		{func(c *Config) { c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b2000001", AnnualKWh: -1}} }, "Config.ShellyPlugs[0].AnnualKWh"},
		{func(c *Config) { c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b2000001", Voltage: 1000}} }, "Config.ShellyPlugs[0].Voltage"},
		{func(c *Config) { c.ShellyMeters = []ShellyMeterConfig{{MAC: ""}} }, "Config.ShellyMeters[0].MAC"},
		{func(c *Config) {
			c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b2000001", Prefix: "house/x"}}
			c.ShellyMeters = []ShellyMeterConfig{{MAC: "02a1b3000001", Prefix: "house/x"}}
		}, "Config.ShellyMeters[0].Prefix"},
		{func(c *Config) {
			c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b2000001"}, {MAC: "02A1B2000001"}}
		}, "Config.ShellyPlugs[1].Prefix"},
		{func(c *Config) { c.HouseAnnualKWh = -1 }, "Config.HouseAnnualKWh"},
	}
	for _, c := range cases {
		cfg := Config{}
		c.mod(&cfg)
		if cfg.ShellyPlugs == nil && cfg.ShellyMeters == nil {
			cfg.ShellyMeters = []ShellyMeterConfig{{MAC: "02a1b3000001"}}
		}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error naming %s, got %v", c.want, err)
		}
	}
	s, err := New(Config{ShellyPlugs: []ShellyPlugConfig{{MAC: "02A1B2000001", Prefix: "home/plug"}}})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.shellyPlugs[0]; p.id != testShellyPlug || p.prefix != "home/plug" || p.mac != "02A1B2000001" || p.annualKWh != 1000 || p.nominalV != 230 {
		t.Errorf("plug %+v", p.shellyDev)
	}
}
