package firmwaresim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const exampleScenario = `
name: evening-peak
homes: 40
seed: 7
speed: 60
period: 2s
profile_start: 2025-06-21T16:00:00Z
broker: tcp://127.0.0.1:1883
connections: shared
homes_per_connection: 10
mix: {opendtu: 1, ahoy: 1, battery: 0.8, ev: 0.6, tasmota_plug: 0.1}
sizes:
  inverter_w: [600, 800]
  battery_kwh: [5, 10]
  house_shift: [-30m, 30m]
  ev_one_phase: 0
specs:
  - {pv: ahoy, battery: true, ev: true, house: ausgrid}
faults: {preset: default, drop: 0.02, offline_for: 30s, dishonest_modes: [night, copy]}
`

func TestLoadScenario(t *testing.T) {
	sc, err := LoadScenario(strings.NewReader(exampleScenario))
	if err != nil {
		t.Fatal(err)
	}
	fc, err := sc.FleetConfig()
	if err != nil {
		t.Fatal(err)
	}
	if fc.Name != "evening-peak" || fc.Homes != 40 || fc.Seed != 7 || fc.Speed != 60 || fc.Period != 2*time.Second ||
		!fc.ProfileStart.Equal(time.Date(2025, 6, 21, 16, 0, 0, 0, time.UTC)) || fc.Connections != ConnShared ||
		fc.HomesPerConnection != 10 || fc.Mix.Ahoy != 1 || fc.Mix.Battery != 0.8 || fc.Mix.ShellyPlug != 0 ||
		fc.Sizes.InverterW != (Range{600, 800}) || fc.Sizes.BatteryKWh != (Range{5, 10}) || fc.Sizes.TiltDeg != DefaultSizes().TiltDeg ||
		fc.Sizes.HouseShift != (DurationRange{-30 * time.Minute, 30 * time.Minute}) || fc.Sizes.EVOnePhase != 0 ||
		len(fc.Specs) != 1 || fc.Specs[0].PV != DialectAhoy || fc.Specs[0].House != HouseAusgrid {
		t.Errorf("%+v", fc)
	}
	if fc.Faults.Drop != 0.02 || fc.Faults.Duplicate != FaultPresets["default"].Duplicate || fc.Faults.OfflineFor != 30*time.Second ||
		len(fc.Faults.DishonestModes) != 2 {
		t.Errorf("faults %+v", fc.Faults)
	}
	fc.Clock = newFakeClock(time.Unix(0, 0))
	f, err := NewFleet(fc)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Homes()); n != 40 {
		t.Errorf("%d homes", n)
	}

	// An empty file is the default scenario; faults may be a string.
	sc, err = LoadScenario(strings.NewReader("faults: heavy\n"))
	if err != nil || sc.Homes != 1 || sc.Faults.Drop != FaultPresets["heavy"].Drop {
		t.Errorf("%+v %v", sc, err)
	}
	if sc, err := LoadScenario(strings.NewReader("")); err != nil || sc.Homes != 1 || sc.Mix != DefaultMix() {
		t.Errorf("empty: %+v %v", sc, err)
	}
}

func TestLoadScenarioErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"homs: 3", "field homs not found"},
		{"homes: -2", "FleetConfig.Homes -2"},
		{"homes: many", "cannot unmarshal"},
		{"period: 1", "cannot unmarshal !!int `1` into time.Duration"},
		{"period: soon", "cannot unmarshal"},
		{"speed: 0.0\nhomes: 2", ""}, // 0 is the default speed
		{"mix: {battery: 2}", "FleetConfig.Mix.Battery"},
		{"mix: {cars: 1}", "field cars not found"},
		{"sizes: {battery_kwh: [9, 3]}", "FleetConfig.Sizes.BatteryKWh"},
		{"sizes: {battery_kwh: [1, 2, 3]}", "want 2 elements"},
		{"specs: [{pv: sma}]", "FleetConfig.Specs[0].PV"},
		{"faults: sometimes", "faults"},
		{"faults: {preset: mild}", "unknown preset"},
		{"faults: {drop: 2}", "FleetConfig.Faults.Drop"},
		{"faults: {dorp: 0.1}", `unknown key "dorp"`},
		{"faults: [1, 2]", "want a preset name or a mapping"},
		{"connections: all", "FleetConfig.Connections"},
		{"name: a/b", "FleetConfig.Name"},
		{"broker: http://x", "Config.Broker"},
		{"profile_start: yesterday", `parsing time "yesterday"`},
		{"homes: 2\n---\nhomes: 3", "one YAML document"},
		{"- 1\n- 2", "cannot unmarshal"},
	} {
		_, err := LoadScenario(strings.NewReader(tc.yaml))
		if tc.want == "" {
			if err != nil {
				t.Errorf("%q: %v", tc.yaml, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: want an error with %q, got %v", tc.yaml, tc.want, err)
		}
	}
	big := bytes.Repeat([]byte("# comment line\n"), maxScenarioBytes/14)
	if _, err := LoadScenario(bytes.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}

// TestScenarioExamples: the example scenarios shipped in
// firmware-sim/scenarios load and build.
func TestScenarioExamples(t *testing.T) {
	files, err := filepath.Glob("scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example scenarios: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := LoadScenario(bytes.NewReader(data))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		fc, err := sc.FleetConfig()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		fc.Homes = min(fc.Homes, 50) // building is what is checked, not size
		fc.Specs = fc.Specs[:min(len(fc.Specs), fc.Homes)]
		if _, err := NewFleet(fc); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
