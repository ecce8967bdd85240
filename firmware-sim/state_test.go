package firmwaresim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestStateSurvivesRestart runs a sim, saves its state as JSON, starts a
// new sim later from that JSON and checks that lifetime counters continue
// instead of starting over, as they do on real devices.
func TestStateSurvivesRestart(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 10, 30, 0, 0, time.UTC)
	mod := func(c *Config) {
		c.Plugs = append(c.Plugs, PlugConfig{Topic: "dual", Channels: 2})
	}
	s1, _ := newTestSim(t, t0, mod)
	sn := "solar/" + testSerial + "/"
	var last map[string]string
	for i := 0; i <= 120; i++ {
		last = byTopic(s1.Step(t0.Add(time.Duration(i) * 5 * time.Second)))
	}
	s1.command(s1.dtus[0], sn+"cmd/limit_persistent_relative", []byte("60"), false)
	s1.command(s1.plugs[1], "cmnd/dual/POWER2", []byte("OFF"), false)
	saved, err := json.Marshal(s1.Snapshot())
	if err != nil {
		t.Fatal(err)
	}

	var st State
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	restart := t0.Add(time.Hour)
	s2, _ := newTestSim(t, restart, mod)
	if err := s2.Restore(st); err != nil {
		t.Fatal(err)
	}
	m := byTopic(s2.Step(restart))
	if m[sn+"0/yieldtotal"] != last[sn+"0/yieldtotal"] || m[sn+"0/yieldday"] != last[sn+"0/yieldday"] {
		t.Errorf("after restore yieldtotal %s yieldday %s, before %s %s", m[sn+"0/yieldtotal"], m[sn+"0/yieldday"], last[sn+"0/yieldtotal"], last[sn+"0/yieldday"])
	}
	if mustFloat(t, last[sn+"0/yieldtotal"]) == 0 {
		t.Fatal("test ran too short to count energy")
	}
	if m[sn+"status/limit_relative"] != "60.00" {
		t.Errorf("persistent limit after restore %s, want 60.00", m[sn+"status/limit_relative"])
	}
	before, after := mustSensor(t, last["tele/"+testPlug+"/SENSOR"]), mustSensor(t, m["tele/"+testPlug+"/SENSOR"])
	if after.ENERGY.Total != before.ENERGY.Total || after.ENERGY.TotalStartTime != before.ENERGY.TotalStartTime || after.ENERGY.Period != 0 {
		t.Errorf("plug after restore %+v, before %+v", after.ENERGY, before.ENERGY)
	}
	if !strings.Contains(m["tele/dual/STATE"], `"POWER1":"ON","POWER2":"OFF"`) {
		t.Errorf("relay state not restored: %s", m["tele/dual/STATE"])
	}
	// And they keep growing.
	m = byTopic(s2.Step(restart.Add(time.Minute)))
	if mustFloat(t, m[sn+"0/yieldtotal"]) <= mustFloat(t, last[sn+"0/yieldtotal"]) {
		t.Error("yieldtotal does not grow after restore")
	}
}

func TestRestoreRejectsBadState(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 10, 30, 0, 0, time.UTC)
	s, _ := newTestSim(t, t0, nil)
	good := s.Snapshot()
	good.Inverters[0].YieldTotalWh = 1234
	cases := map[string]func(*State){
		"State.Version":                         func(st *State) { st.Version = 2 },
		"State.Inverters[0].YieldTotalWh":       func(st *State) { st.Inverters[0].YieldTotalWh = -1 },
		"State.Inverters[0].PersistentLimitPct": func(st *State) { st.Inverters[0].PersistentLimitPct = 101 },
		"State.Inverters[0].Day":                func(st *State) { st.Inverters[0].Day = "21.06.2025" },
		"State.Plugs[0].Channels[0].TodayWh":    func(st *State) { st.Plugs[0].Channels[0].TodayWh = -0.5 },
		"State.Plugs[0].Channels":               func(st *State) { st.Plugs[0].Channels = append(st.Plugs[0].Channels, PlugChannelState{}) },
	}
	for field, mod := range cases {
		st := good
		st.Inverters = append([]InverterState(nil), good.Inverters...)
		st.Plugs = []PlugState{{Topic: good.Plugs[0].Topic, Channels: append([]PlugChannelState(nil), good.Plugs[0].Channels...)}}
		mod(&st)
		err := s.Restore(st)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	// Nothing was applied by the failed restores.
	if got := s.Snapshot().Inverters[0].YieldTotalWh; got != 0 {
		t.Errorf("a rejected state changed the counter to %v", got)
	}
	// Devices that are not configured are skipped.
	good.Inverters = append(good.Inverters, InverterState{Serial: "112100000001", PersistentLimitPct: 100})
	if err := s.Restore(good); err != nil {
		t.Fatal(err)
	}
	if got := s.Snapshot().Inverters[0].YieldTotalWh; got != 1234 {
		t.Errorf("restored counter %v, want 1234", got)
	}
}
