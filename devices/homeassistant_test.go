package devices

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gridmint/gridmint"
)

func TestHomeAssistantDiscovery(t *testing.T) {
	c := HAConfig{NodeID: HANodeID("0xAbCdEf0123456789abcdef0123456789ABCDEF01")}
	if c.NodeID != "gridmint_abcdef0123" {
		t.Fatalf("HANodeID = %q", c.NodeID)
	}
	meter := DeviceState{
		Device: gridmint.Device{ID: "0xab/shelly/shellypro3em-ec6260890b50:em:0", Kind: gridmint.KindMeter, Dialect: "shelly",
			Serial: "shellypro3em-ec6260890b50:em:0", Name: "Grid"},
		Fields: gridmint.FieldPower | gridmint.FieldEnergy | gridmint.FieldEnergyReverse,
		Power:  -512.34, Energy: 1_234_567_891, EnergyReverse: 5_000, Online: true,
	}
	obj := HAObjectID(meter.Device)
	if !strings.HasPrefix(obj, "shelly_shellypro3em-ec6260890b50_em_0_") || len(obj) != len("shelly_shellypro3em-ec6260890b50_em_0_")+6 {
		t.Errorf("object id %q: want the slug and a 6-digit hash (':' was lost)", obj)
	}
	if a, b := HAObjectID(gridmint.Device{Dialect: "tasmota", Serial: "Plug"}), HAObjectID(gridmint.Device{Dialect: "tasmota", Serial: "plug"}); a == b {
		t.Errorf("Plug and plug share the object id %q", a)
	}
	cfgs := c.HAConfigs(meter)
	if len(cfgs) != 3 {
		t.Fatalf("%d configs, want power, import and export", len(cfgs))
	}
	wantTopic := "homeassistant/sensor/gridmint_abcdef0123/" + obj + "_energy/config"
	var energy map[string]any
	for _, m := range cfgs {
		if !m.Retain {
			t.Errorf("%s not retained", m.Topic)
		}
		if m.Topic == wantTopic {
			if err := json.Unmarshal(m.Payload, &energy); err != nil {
				t.Fatal(err)
			}
		}
	}
	if energy == nil {
		t.Fatalf("no config on %s; got %v", wantTopic, cfgs)
	}
	for key, want := range map[string]string{
		"name": "Energy imported", "dev_cla": "energy", "stat_cla": "total_increasing", "unit_of_meas": "kWh",
		"stat_t":  "gridmint/gridmint_abcdef0123/" + obj + "/state",
		"avty_t":  "gridmint/gridmint_abcdef0123/" + obj + "/availability",
		"uniq_id": "gridmint_abcdef0123_" + obj + "_energy",
	} {
		if energy[key] != want {
			t.Errorf("energy config %s = %v, want %q", key, energy[key], want)
		}
	}
	if dev, _ := energy["dev"].(map[string]any); dev["name"] != "Grid" {
		t.Errorf("device block = %v", energy["dev"])
	}
	var state map[string]float64
	if err := json.Unmarshal(c.HAState(meter).Payload, &state); err != nil {
		t.Fatal(err)
	}
	if state["power_w"] != -512.3 || state["energy_kwh"] != 1234.567891 || state["energy_reverse_kwh"] != 0.005 {
		t.Errorf("state = %v", state)
	}
	if _, ok := state["soc_pct"]; ok {
		t.Error("a meter's state has soc_pct")
	}
	if a := c.HAAvailability(meter); string(a.Payload) != "online" || !a.Retain {
		t.Errorf("availability = %+v", a)
	}
	battery := DeviceState{Device: gridmint.Device{ID: "0xab/victron/battery-512", Kind: gridmint.KindBattery, Dialect: "victron", Serial: "battery-512"},
		Fields: gridmint.FieldPower | gridmint.FieldSoC, SoC: 53.24}
	if n := len(c.HAConfigs(battery)); n != 2 {
		t.Errorf("battery with power and SoC: %d configs, want 2", n)
	}
}
