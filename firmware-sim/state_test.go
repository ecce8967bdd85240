package firmwaresim

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
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

// allDialects adds one device of each new dialect to a test config.
func allDialects(c *Config) {
	c.ShellyPlugs = []ShellyPlugConfig{{MAC: "02a1b2000001"}}
	c.ShellyMeters = []ShellyMeterConfig{{MAC: "02a1b3000001"}}
	c.Victron = []VictronConfig{{PortalID: testPortal}}
	c.GoE = []GoEConfig{{Serial: "200001", SessionWh: 30000}}
	c.Ahoy = []AhoyConfig{{}}
}

// TestDialectStateSurvivesRestart: lifetime counters, battery SoC, the
// EV session and relay states continue in a new Sim restored from JSON.
func TestDialectStateSurvivesRestart(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 10, 30, 0, 0, time.UTC)
	s1, _ := newTestSim(t, t0, allDialects)
	for i := 0; i <= 240; i++ {
		s1.Step(t0.Add(time.Duration(i) * 5 * time.Second))
	}
	s1.command(s1.shellyPlugs[0], testShellyPlug+"/rpc", []byte(`{"id":1,"src":"x","method":"Switch.Set","params":{"id":0,"on":false}}`), false)
	s1.command(s1.goes[0], testGoE+"amp/set", []byte("10"), false)
	before := s1.Snapshot()
	saved, err := json.Marshal(before)
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.ShellyPlugs) != 1 || len(st.ShellyMeters) != 1 || len(st.Victron) != 1 || len(st.GoE) != 1 || len(st.Ahoy) != 1 {
		t.Fatalf("snapshot %s", saved)
	}
	if st.Victron[0].SoCPct == 50 || st.GoE[0].EtoWh < 3000 || st.GoE[0].Car != goeCarCharging || st.ShellyPlugs[0].TotalWh <= 0 ||
		st.ShellyMeters[0].ActWh[1] <= 0 || st.Victron[0].DischargedWh <= 0 || st.Ahoy[0].YieldTotalWh <= 0 {
		t.Fatalf("test ran too short to count anything: %s", saved)
	}

	restart := t0.Add(time.Hour)
	s2, _ := newTestSim(t, restart, allDialects)
	if err := s2.Restore(st); err != nil {
		t.Fatal(err)
	}
	after := s2.Snapshot()
	after.SavedAt = before.SavedAt
	if a, b := mustJSON(t, after), mustJSON(t, before); a != b {
		t.Errorf("restored state differs:\n got %s\nwant %s", a, b)
	}
	m := byTopic(s2.Step(restart))
	if !strings.Contains(m[testShellyPlug+"/status/switch:0"], `"output":false`) {
		t.Errorf("Shelly relay not restored: %s", m[testShellyPlug+"/status/switch:0"])
	}
	if m[testGoE+"amp"] != "10" || m[testGoE+"car"] != "2" || m[testGoE+"eto"] != itoa64(wholeWh(before.GoE[0].EtoWh)) {
		t.Errorf("go-e after restore: amp %s car %s eto %s", m[testGoE+"amp"], m[testGoE+"car"], m[testGoE+"eto"])
	}
	// Counters keep growing from where they were.
	s2.Step(restart.Add(time.Minute))
	grown := s2.Snapshot()
	if grown.GoE[0].EtoWh <= before.GoE[0].EtoWh || grown.ShellyMeters[0].ActWh[1] <= before.ShellyMeters[0].ActWh[1] ||
		grown.Ahoy[0].YieldTotalWh <= before.Ahoy[0].YieldTotalWh || grown.GoE[0].SessionWh <= before.GoE[0].SessionWh {
		t.Errorf("counters did not continue:\nbefore %+v\nafter  %+v", before, grown)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStateVersion1FileWithoutDialects: a state file written before the
// new dialects existed loads, restores what it has and leaves the new
// devices fresh.
func TestStateVersion1FileWithoutDialects(t *testing.T) {
	old := `{
  "version": 1,
  "saved_at": "2025-06-21T11:30:00Z",
  "inverters": [{"serial": "116181234567", "yield_total_wh": 1234.5, "yield_day_wh": 10, "day": "2025-06-21", "persistent_limit_pct": 80}],
  "plugs": [{"topic": "tasmota_A1B2C3", "total_start_time": "2025-06-01T00:00:00Z", "day": "2025-06-21",
             "channels": [{"total_wh": 500, "today_wh": 5, "yesterday_wh": 7, "relay_on": true}]}]
}`
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := newTestSim(t, time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC), allDialects)
	loaded, err := s.LoadStateFile(path)
	if err != nil || !loaded {
		t.Fatalf("loaded %v, %v", loaded, err)
	}
	st := s.Snapshot()
	if st.Inverters[0].YieldTotalWh != 1234.5 || st.Plugs[0].Channels[0].TotalWh != 500 || st.Victron[0].SoCPct != 50 || st.GoE[0].EtoWh != 0 {
		t.Errorf("after loading a version-1 file: %+v", st)
	}
}

func TestRestoreRejectsBadDialectState(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 10, 30, 0, 0, time.UTC)
	s, _ := newTestSim(t, t0, allDialects)
	s.Step(t0)
	good := s.Snapshot()
	good.Victron[0].ChargedWh = 4321
	cases := map[string]func(*State){
		"State.ShellyPlugs[0].TotalWh":      func(st *State) { st.ShellyPlugs[0].TotalWh = -1 },
		"State.ShellyMeters[0].ActRetWh[2]": func(st *State) { st.ShellyMeters[0].ActRetWh[2] = math.Inf(1) },
		"State.Victron[0].SoCPct":           func(st *State) { st.Victron[0].SoCPct = 101 },
		"State.Victron[0].ForwardWh":        func(st *State) { st.Victron[0].ForwardWh = math.NaN() },
		"State.GoE[0].Car":                  func(st *State) { st.GoE[0].Car = 5 },
		"State.GoE[0].Amp":                  func(st *State) { st.GoE[0].Amp = 40 },
		"State.GoE[0].NeedWh":               func(st *State) { st.GoE[0].NeedWh = -2 },
		"State.GoE[0].Session":              func(st *State) { st.GoE[0].Session = -1 },
		"State.Ahoy[0].Day":                 func(st *State) { st.Ahoy[0].Day = "yesterday" },
		"State.Ahoy[0].YieldTotalWh":        func(st *State) { st.Ahoy[0].YieldTotalWh = -3 },
	}
	for field, mod := range cases {
		var st State
		if err := json.Unmarshal([]byte(mustJSON(t, good)), &st); err != nil {
			t.Fatal(err)
		}
		mod(&st)
		if err := s.Restore(st); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	if got := s.Snapshot().Victron[0].ChargedWh; got != 0 {
		t.Errorf("a rejected state changed the counter to %v", got)
	}
	// Narrower SoC limits than the saved SoC: clamped into them.
	good.Victron[0].SoCPct = 5
	good.GoE = append(good.GoE, GoEState{Serial: "999999", Car: 1, Amp: 6}) // not configured: skipped
	if err := s.Restore(good); err != nil {
		t.Fatal(err)
	}
	if st := s.Snapshot(); st.Victron[0].SoCPct != DefaultBatteryMinSoC || st.Victron[0].ChargedWh != 4321 {
		t.Errorf("restored %+v", st.Victron[0])
	}
}
