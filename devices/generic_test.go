package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gridmint/gridmint"
)

// genericExample is the configuration in generic.go's doc comment: evcc's
// site grid power as a meter, and a Tasmota-like JSON device, purely
// through mappings.
func genericExample() AdapterConfig {
	return AdapterConfig{Dialect: "generic", Kind: gridmint.KindMeter, Mappings: []Mapping{
		{Topic: "evcc/site/grid/power", FixedSerial: "evcc-grid", Field: "power", Unit: "W", Sign: 1},
		{Topic: "tele/+/SENSOR", SerialLevel: 1, JSONPath: "ENERGY.Power", Field: "power", Unit: "W"},
		{Topic: "tele/+/SENSOR", SerialLevel: 1, JSONPath: "ENERGY.Total", Field: "energy", Unit: "kWh"},
		{Topic: "tele/+/LWT", SerialLevel: 1, Field: "online", OnlineValue: "Online"},
	}}
}

// Captures from shared/payloads/shelly.md (third-party captures, see the
// Sources there). The Pro 3EM fragments are quoted as captured inside a
// Shelly.GetStatus result, wrapped in braces to make that object.
const (
	genericShelly1PM    = `{"id":0, "source":"HTTP_in", "output":true, "apower":25.7, "voltage":239.7, "freq":50.2, "current":0.188, "aenergy":{"total":913.252,"by_minute":[404.631,404.631,404.631],"minute_ts":1782936360}, "ret_aenergy":{"total":0.000,"by_minute":[0.000,0.000,0.000],"minute_ts":1782936360},"temperature":{"tC":68.1, "tF":154.6}}`
	genericShellyPro3EM = `{"em:0":{"id":0,"a_current":3.761,"a_voltage":121.7,"a_act_power":342.8,"a_aprt_power":457.5,"a_pf":-0.80,"b_current":8.109,"b_voltage":121.0,"b_act_power":957.3,"b_aprt_power":980.7,"b_pf":-0.98,"c_current":0.025,"c_voltage":121.7,"c_act_power":0.2,"c_aprt_power":3.1,"c_pf":-1.00,"n_current":null,"total_current":11.896,"total_act_power":1300.252,"total_aprt_power":1441.226, "user_calibrated_phase":[]},
"emdata:0":{"id":0,"a_total_act_energy":1075513.08,"a_total_act_ret_energy":0.00,"b_total_act_energy":1776542.72,"b_total_act_ret_energy":0.00,"c_total_act_energy":0.01,"c_total_act_ret_energy":0.00,"total_act":2852055.81, "total_act_ret":0.00}}`
	// genericGoeNrg is constructed (shared/payloads/goe.md holds no captured
	// nrg): the documented 16-entry layout, [11] being P_Total in W.
	genericGoeNrg = `[230,231,229,0,16,16,16,3680,3696,3664,0,11040,99,99,99,0]`
)

// power, counters and SoC of a generic measurement (no source time).
func genericMeas(p *gridmint.W, fwd, rev *Counter, soc *float64) *Measurement {
	return &Measurement{Power: p, Forward: fwd, Reverse: rev, SoC: soc}
}

func genericW(w gridmint.W) *gridmint.W { return &w }
func genericLifetime(e gridmint.MWh) *Counter {
	return &Counter{Value: e, Kind: gridmint.CounterLifetime}
}

func TestGenericDocExample(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		want                 []Update
	}{
		// evcc's notes illustrate the format with 1234.5 (illustrative).
		{"evcc grid import", "evcc/site/grid/power", "1234.5", []Update{{Serial: "evcc-grid", Measurement: genericMeas(genericW(1234.5), nil, nil, nil)}}},
		{"evcc grid export is negative", "evcc/site/grid/power", "-850", []Update{{Serial: "evcc-grid", Measurement: genericMeas(genericW(-850), nil, nil, nil)}}},
		{"Tasmota SENSOR, two values from one payload", "tele/sonoff_desk/SENSOR", tasmotaSonoffDesk, []Update{
			{Serial: "sonoff_desk", Measurement: genericMeas(genericW(56), genericLifetime(514_153_000), nil, nil)}}},
		{"a SENSOR without ENERGY is ignored", "tele/sonoff_desk/SENSOR", tasmotaDS18B20, nil},
		{"LWT online", "tele/sonoff_desk/LWT", "Online", []Update{{Serial: "sonoff_desk", Availability: AvailabilityOnline}}},
		{"LWT offline", "tele/sonoff_desk/LWT", "Offline", []Update{{Serial: "sonoff_desk", Availability: AvailabilityOffline}}},
		{"a cleared retained topic", "evcc/site/grid/power", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, genericExample())
			got, err := a.Decode(tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%s)\n got %s\nwant %s", tt.topic, fmtUpdates(got), fmtUpdates(tt.want))
			}
		})
	}
}

func TestGenericMatchesTheTasmotaAdapter(t *testing.T) {
	// The mappings read the same numbers as the dedicated adapter, exactly.
	g := mustAdapter(t, genericExample())
	tas := mustAdapter(t, AdapterConfig{Dialect: "tasmota"})
	gu, err1 := g.Decode("tele/sonoff_desk/SENSOR", []byte(tasmotaSonoffDesk))
	tu, err2 := tas.Decode("tele/sonoff_desk/SENSOR", []byte(tasmotaSonoffDesk))
	if err1 != nil || err2 != nil || len(gu) != 1 || len(tu) != 1 {
		t.Fatalf("generic %s %v, tasmota %s %v", fmtUpdates(gu), err1, fmtUpdates(tu), err2)
	}
	gm, tm := *gu[0].Measurement, *tu[0].Measurement
	if *gm.Power != *tm.Power || *gm.Forward != *tm.Forward {
		t.Errorf("generic %s, tasmota %s", fmtUpdates(gu), fmtUpdates(tu))
	}
}

// genericGoEV1 reads a go-eCharger's API v1 status with mappings alone:
// nrg[11] is 0.01 kW, eto a string in 0.1 kWh (README, Devices and
// dialects).
func genericGoEV1() AdapterConfig {
	return AdapterConfig{Dialect: "generic", Kind: gridmint.KindEVCharger, Mappings: []Mapping{
		{Topic: "go-eCharger/+/status", SerialLevel: 1, JSONPath: "nrg[11]", Field: "power", Unit: "kW", Scale: 0.01},
		{Topic: "go-eCharger/+/status", SerialLevel: 1, JSONPath: "eto", Field: "energy", Unit: "kWh", Scale: 0.1},
	}}
}

func TestGenericReadsGoEAPIv1(t *testing.T) {
	// The mappings read exactly what the goe adapter reads.
	for _, status := range []string{goeV1DocStatus, goeV1Charging} {
		gu, err1 := mustAdapter(t, genericGoEV1()).Decode("go-eCharger/001680/status", []byte(status))
		eu, err2 := mustAdapter(t, AdapterConfig{Dialect: "goe"}).Decode("go-eCharger/001680/status", []byte(status))
		if err1 != nil || err2 != nil || len(gu) != 1 || len(eu) != 1 || gu[0].Serial != "001680" ||
			!reflect.DeepEqual(gu[0].Measurement, eu[0].Measurement) {
			t.Errorf("generic %s %v, goe %s %v", fmtUpdates(gu), err1, fmtUpdates(eu), err2)
		}
	}
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, genericGoEV1())}, Discover: true})
	o := in.Process(msgsAt(t0, gV1(goeV1DocStatus), gV1(goeV1Charging)))
	if len(o.Rejections) != 0 || len(o.Readings) != 2 || o.Readings[1].Power != 11040 || o.Readings[1].Energy != 12_100_000 ||
		len(o.NewDevices) != 1 || o.NewDevices[0].Kind != gridmint.KindEVCharger {
		t.Errorf("through Ingest: readings %+v, rejections %+v, devices %+v", o.Readings, o.Rejections, o.NewDevices)
	}
}

// genericSML reads a Tasmota SML script meter (README, Devices and
// dialects; examples/gridmint.yaml): the script names the meter (SML) and
// its values, so the mappings use those names.
func genericSML() AdapterConfig {
	return AdapterConfig{Dialect: "generic", Kind: gridmint.KindMeter, Mappings: []Mapping{
		{Topic: "tele/sml_meter/SENSOR", SerialLevel: 1, JSONPath: "SML.Total_in", Field: "energy", Unit: "kWh"},
		{Topic: "tele/sml_meter/SENSOR", SerialLevel: 1, JSONPath: "SML.Total_out", Field: "energy_reverse", Unit: "kWh"},
		{Topic: "tele/sml_meter/SENSOR", SerialLevel: 1, JSONPath: "SML.Power_curr", Field: "power", Unit: "W"},
		{Topic: "tele/sml_meter/LWT", SerialLevel: 1, Field: "online", OnlineValue: "Online"},
	}}
}

func TestGenericReadsTasmotaSML(t *testing.T) {
	want := []Update{{Serial: "sml_meter", Measurement: genericMeas(genericW(-456), genericLifetime(12_345_678_900), genericLifetime(2_345_678_900), nil)}}
	got, err := mustAdapter(t, genericSML()).Decode("tele/sml_meter/SENSOR", []byte(tasmotaSML))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("SML:\n got %s %v\nwant %s", fmtUpdates(got), err, fmtUpdates(want))
	}
	// Names are the user's: a script that calls the meter Haus and its
	// values E_in, E_out, P.
	cfg := AdapterConfig{Dialect: "generic", Kind: gridmint.KindMeter, Mappings: []Mapping{
		{Topic: "tele/+/SENSOR", SerialLevel: 1, JSONPath: "Haus.E_in", Field: "energy", Unit: "kWh"},
		{Topic: "tele/+/SENSOR", SerialLevel: 1, JSONPath: "Haus.E_out", Field: "energy_reverse", Unit: "kWh"},
		{Topic: "tele/+/SENSOR", SerialLevel: 1, JSONPath: "Haus.P", Field: "power", Unit: "W"},
	}}
	got, err = mustAdapter(t, cfg).Decode("tele/zaehler/SENSOR", []byte(`{"Time":"2024-06-01T12:00:00","Haus":{"E_in":7.5,"E_out":0.25,"P":230}}`))
	want = []Update{{Serial: "zaehler", Measurement: genericMeas(genericW(230), genericLifetime(7_500_000), genericLifetime(250_000), nil)}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Haus:\n got %s %v\nwant %s", fmtUpdates(got), err, fmtUpdates(want))
	}
	// Listed before the tasmota adapter, the generic one gets the SML
	// meter's messages (the first adapter whose filter matches takes a
	// message); the plugs still go to the tasmota adapter.
	in := newTestIngest(t, IngestConfig{Discover: true, Adapters: []Adapter{mustAdapter(t, genericSML()), mustAdapter(t, AdapterConfig{Dialect: "tasmota"})}})
	o := in.Process(msgsAt(t0, mqttMsg{"tele/sml_meter/SENSOR", tasmotaSML}, mqttMsg{"tele/sonoff_desk/SENSOR", tasmotaSonoffDesk}))
	dialect := func(r gridmint.Reading) string { _, d, _, _ := r.Device.Parts(); return d }
	if len(o.Rejections) != 0 || len(o.Readings) != 2 || dialect(o.Readings[0]) != "generic" || o.Readings[0].EnergyReverse != 2_345_678_900 ||
		dialect(o.Readings[1]) != "tasmota" {
		t.Errorf("readings %+v, rejections %+v", o.Readings, o.Rejections)
	}
	// Listed after it, the generic adapter would never get a message: the
	// configuration is refused, naming both filters.
	_, err = NewIngest(IngestConfig{Node: "0xnode", Adapters: []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota"}), mustAdapter(t, genericSML())}})
	if err == nil || !strings.Contains(err.Error(), `adapters[1] (generic) telemetry "tele/sml_meter/SENSOR" is covered by adapters[0] (tasmota) telemetry "tele/+/SENSOR"`) {
		t.Errorf("tasmota adapter first: %v; want the overlap named", err)
	}
}

func TestGenericJSONPaths(t *testing.T) {
	tests := []struct {
		name     string
		mappings []Mapping
		topic    string
		payload  string
		want     *Measurement
	}{
		{"Shelly Pro 3EM: keys with ':'", []Mapping{
			{Topic: "shellypro3em/status", FixedSerial: "grid", JSONPath: "em:0.total_act_power", Field: "power", Unit: "W"},
			{Topic: "shellypro3em/status", FixedSerial: "grid", JSONPath: "emdata:0.total_act", Field: "energy", Unit: "Wh"},
			{Topic: "shellypro3em/status", FixedSerial: "grid", JSONPath: "emdata:0.total_act_ret", Field: "energy_reverse", Unit: "Wh"},
		}, "shellypro3em/status", genericShellyPro3EM, genericMeas(genericW(1300.252), genericLifetime(2_852_055_810), genericLifetime(0), nil)},
		{"Shelly 1PM Mini Gen3: nested object", []Mapping{
			{Topic: "+/status/switch:0", SerialLevel: 0, JSONPath: "apower", Field: "power", Unit: "W"},
			{Topic: "+/status/switch:0", SerialLevel: 0, JSONPath: "aenergy.total", Field: "energy", Unit: "Wh"},
		}, "plug1/status/switch:0", genericShelly1PM, genericMeas(genericW(25.7), genericLifetime(913_252), nil, nil)},
		{"go-e nrg: an array index", []Mapping{
			{Topic: "go-eCharger/+/nrg", SerialLevel: 1, JSONPath: "[11]", Field: "power", Unit: "W"},
		}, "go-eCharger/000001/nrg", genericGoeNrg, genericMeas(genericW(11040), nil, nil, nil)},
		{"key then index", []Mapping{
			{Topic: "x/+", SerialLevel: 1, JSONPath: "nrg[11]", Field: "power", Unit: "W"},
		}, "x/c", `{"nrg":` + genericGoeNrg + `}`, genericMeas(genericW(11040), nil, nil, nil)},
		{"nested indices and an escaped key", []Mapping{
			{Topic: "x/+", SerialLevel: 1, JSONPath: `m[1][0].Pöwer`, Field: "power", Unit: "kW"},
		}, "x/c", `{"m":[[{"Pöwer":9}],[{"P\u00f6wer":1.5, "other":[1,{"x":"]"}]}]]}`, genericMeas(genericW(1500), nil, nil, nil)},
		{"a repeated key reads the last, like encoding/json", []Mapping{
			{Topic: "x/+", SerialLevel: 1, JSONPath: "p", Field: "power", Unit: "W"},
		}, "x/c", `{"p":1,"p":2}`, genericMeas(genericW(2), nil, nil, nil)},
		{"bare nan elsewhere in the payload", []Mapping{
			{Topic: "x/+", SerialLevel: 1, JSONPath: "ENERGY.Power", Field: "power", Unit: "W"},
		}, "x/c", `{"ENERGY":{"Power":3},"SHT3X":{"Temperature":nan}}`, genericMeas(genericW(3), nil, nil, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: tt.mappings})
			got, err := a.Decode(tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0].Measurement, tt.want) {
				t.Errorf("Decode(%s)\n got %s\nwant %s", tt.topic, fmtUpdates(got), fmtUpdates([]Update{{Serial: "…", Measurement: tt.want}}))
			}
		})
	}
}

// TestGenericNumericStrings: a JSON string holding a decimal number is
// read as that number, exactly, with every conversion a bare number gets.
func TestGenericNumericStrings(t *testing.T) {
	cfg := AdapterConfig{Dialect: "generic", Mappings: []Mapping{
		{Topic: "j/+", SerialLevel: 1, JSONPath: "p", Field: "power", Unit: "W"},
		{Topic: "j/+", SerialLevel: 1, JSONPath: "e", Field: "energy", Unit: "kWh"},
		{Topic: "j/+", SerialLevel: 1, JSONPath: "eto", Field: "energy_reverse", Unit: "kWh", Scale: 0.1},
		{Topic: "j/+", SerialLevel: 1, JSONPath: "soc", Field: "soc"},
		{Topic: "p/+", SerialLevel: 1, Field: "energy", Unit: "Wh"},
	}}
	lifetime := genericLifetime
	tests := []struct {
		name, topic, payload string
		want                 *Measurement
	}{
		{"strings", "j/d", `{"p":"456","e":"1234.567","eto":"120","soc":"55.5"}`,
			genericMeas(genericW(456), lifetime(1_234_567_000), lifetime(12_000_000), ptr(55.5))},
		{"the same as bare numbers", "j/d", `{"p":456,"e":1234.567,"eto":120,"soc":55.5}`,
			genericMeas(genericW(456), lifetime(1_234_567_000), lifetime(12_000_000), ptr(55.5))},
		// The literal goes to the exact parser; a 0.1 scale moves the
		// decimal point, no float.
		{"large values exactly", "j/d", `{"e":"999999.999","eto":"9999999"}`,
			genericMeas(nil, lifetime(999_999_999_000), lifetime(999_999_900_000), nil)},
		{"exponent and negative power", "j/d", `{"p":"-1.5e3","e":"1.5e2"}`, genericMeas(genericW(-1500), lifetime(150_000_000), nil, nil)},
		{"escapes decoded first", "j/d", `{"e":"\u0031\u0032"}`, genericMeas(nil, lifetime(12_000_000), nil, nil)},
		{"a quoted plain payload", "p/d", `"913.252"`, genericMeas(nil, lifetime(913_252), nil, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustAdapter(t, cfg).Decode(tt.topic, []byte(tt.payload))
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Measurement, tt.want) {
				t.Errorf("Decode(%s, %s) = %s, %v\nwant %s", tt.topic, tt.payload, fmtUpdates(got), err, fmtUpdates([]Update{{Serial: "d", Measurement: tt.want}}))
			}
		})
	}
}

func TestGenericMergesPartialUpdates(t *testing.T) {
	// evcc publishes one value per topic; a battery's power and SoC make
	// one device. A SoC alone is not yet a reading.
	a := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: []Mapping{
		{Topic: "evcc/site/battery/power", FixedSerial: "evcc-battery", Field: "power", Unit: "W"},
		{Topic: "evcc/site/battery/soc", FixedSerial: "evcc-battery", Field: "soc", Unit: "%"},
		{Topic: "meter/+/in", SerialLevel: 1, Field: "energy", Unit: "Wh"},
		{Topic: "meter/+/out", SerialLevel: 1, Field: "energy_reverse", Unit: "Wh"},
	}})
	steps := []struct {
		topic, payload string
		want           []Update
	}{
		{"evcc/site/battery/soc", "55", nil},
		{"evcc/site/battery/power", "-1200", []Update{{Serial: "evcc-battery", Measurement: genericMeas(genericW(-1200), nil, nil, ptr(55.0))}}},
		{"evcc/site/battery/soc", "56", []Update{{Serial: "evcc-battery", Measurement: genericMeas(genericW(-1200), nil, nil, ptr(56.0))}}},
		{"meter/m1/out", "200", []Update{{Serial: "m1", Measurement: genericMeas(nil, nil, genericLifetime(200_000), nil)}}},
		{"meter/m1/in", "1000.5", []Update{{Serial: "m1", Measurement: genericMeas(nil, genericLifetime(1_000_500), genericLifetime(200_000), nil)}}},
		// The same value again still yields a reading: the device is alive.
		{"meter/m1/in", "1000.5", []Update{{Serial: "m1", Measurement: genericMeas(nil, genericLifetime(1_000_500), genericLifetime(200_000), nil)}}},
	}
	var first *Measurement
	for i, s := range steps {
		got, err := a.Decode(s.topic, []byte(s.payload))
		if err != nil || !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d %s %q:\n got %s %v\nwant %s", i, s.topic, s.payload, fmtUpdates(got), err, fmtUpdates(s.want))
		}
		if i == 1 {
			first = got[0].Measurement
		}
	}
	if *first.SoC != 55 {
		t.Errorf("an emitted measurement changed with a later merge: SoC %v", *first.SoC)
	}
}

func TestGenericOneBadValueChangesNothing(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: []Mapping{
		{Topic: "d/+", SerialLevel: 1, JSONPath: "p", Field: "power", Unit: "W"},
		{Topic: "d/+", SerialLevel: 1, JSONPath: "e", Field: "energy", Unit: "Wh"},
	}})
	if _, err := a.Decode("d/x", []byte(`{"p":5,"e":10}`)); err != nil {
		t.Fatal(err)
	}
	if ups, err := a.Decode("d/x", []byte(`{"p":6,"e":-1}`)); err == nil {
		t.Fatalf("negative counter accepted: %s", fmtUpdates(ups))
	}
	got, err := a.Decode("d/x", []byte(`{"e":11}`))
	want := []Update{{Serial: "x", Measurement: genericMeas(genericW(5), genericLifetime(11_000), nil, nil)}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("after a refused message: %s %v, want %s (its power not merged)", fmtUpdates(got), err, fmtUpdates(want))
	}
}

func TestGenericScalesAndUnits(t *testing.T) {
	tests := []struct {
		name    string
		m       Mapping
		payload string
		want    *Measurement
	}{
		{"kW", Mapping{Field: "power", Unit: "kW"}, "1.5", genericMeas(genericW(1500), nil, nil, nil)},
		{"sign -1 flips a battery reporting charge as +", Mapping{Field: "power", Unit: "W", Sign: -1}, "300", genericMeas(genericW(-300), nil, nil, nil)},
		{"power scale", Mapping{Field: "power", Unit: "W", Scale: 0.1}, "1234", genericMeas(genericW(123.4), nil, nil, nil)},
		{"mWh", Mapping{Field: "energy", Unit: "mWh"}, "404.631", genericMeas(nil, genericLifetime(405), nil, nil)},
		{"exact scale 0.01", Mapping{Field: "energy", Unit: "Wh", Scale: 0.01}, "12345", genericMeas(nil, genericLifetime(123_450), nil, nil)},
		{"exact scale 10 rounds like ParseEnergy", Mapping{Field: "energy", Unit: "kWh", Scale: 10}, "0.10000025", genericMeas(nil, genericLifetime(1_000_003), nil, nil)},
		{"exact scale 0.001 on a big counter", Mapping{Field: "energy", Unit: "kWh", Scale: 0.001}, "999999.999", genericMeas(nil, genericLifetime(999_999_999), nil, nil)},
		{"a negative counter is refused after scaling", Mapping{Field: "energy", Unit: "Wh", Scale: 1000}, "-0.5e0", nil},
		{"float fallback for scale 2.5", Mapping{Field: "energy", Unit: "Wh", Scale: 2.5}, "4", genericMeas(nil, genericLifetime(10_000), nil, nil)},
		{"exponent literal takes the float path", Mapping{Field: "energy", Unit: "Wh", Scale: 0.1}, "1.5e3", genericMeas(nil, genericLifetime(150_000), nil, nil)},
		{"daily counter", Mapping{Field: "energy", Unit: "Wh", Counter: "daily"}, "216", genericMeas(nil, &Counter{Value: 216_000, Kind: gridmint.CounterDaily}, nil, nil)},
		{"session counter", Mapping{Field: "energy", Unit: "Wh", Counter: "session"}, "7.5", genericMeas(nil, &Counter{Value: 7_500, Kind: gridmint.CounterSession}, nil, nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.m.Topic, tt.m.FixedSerial = "v", "dev"
			a := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: []Mapping{tt.m}})
			got, err := a.Decode("v", []byte(tt.payload))
			if tt.want == nil {
				if err == nil {
					t.Errorf("Decode(%q) = %s, want an error", tt.payload, fmtUpdates(got))
				}
				return
			}
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Measurement, tt.want) {
				t.Errorf("Decode(%q) = %s, %v; want %s", tt.payload, fmtUpdates(got), err, fmtUpdates([]Update{{Serial: "dev", Measurement: tt.want}}))
			}
		})
	}
}

func TestGenericShiftDecimal(t *testing.T) {
	tests := []struct {
		lit  string
		k    int
		want string
		ok   bool
	}{
		{"12345", -2, "0123.45", true},
		{"1.5", 3, "01500.", true},
		{"-0.25", 1, "-002.5", true},
		{".5", -3, "0.0005", true},
		{"7", 0, "07.", true},
		{"1e3", 1, "", false},
		{"+1", 1, "", false},
		{"", 1, "", false},
		{".", 1, "", false},
		{"1.2.3", 1, "", false},
	}
	for _, tt := range tests {
		got, ok := genericShiftDecimal(tt.lit, tt.k)
		if got != tt.want || ok != tt.ok {
			t.Errorf("genericShiftDecimal(%q, %d) = %q, %v; want %q, %v", tt.lit, tt.k, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGenericOnlineValues(t *testing.T) {
	tests := []struct {
		name    string
		m       Mapping
		payload string
		want    Availability
	}{
		{"go-e mcc true", Mapping{OnlineValue: "true"}, "true", AvailabilityOnline},
		{"go-e mcc false", Mapping{OnlineValue: "true"}, "false", AvailabilityOffline},
		{"case-insensitive", Mapping{OnlineValue: "online"}, " Online\n", AvailabilityOnline},
		{"JSON boolean", Mapping{JSONPath: "mqtt.connected", OnlineValue: "true"}, `{"mqtt":{"connected":true}}`, AvailabilityOnline},
		{"JSON string", Mapping{JSONPath: "state", OnlineValue: "up"}, `{"state":"UP"}`, AvailabilityOnline},
		{"JSON number", Mapping{JSONPath: "s", OnlineValue: "1"}, `{"s":0}`, AvailabilityOffline},
		{"JSON null", Mapping{JSONPath: "s", OnlineValue: "1"}, `{"s":null}`, AvailabilityOffline},
	}
	for _, tt := range tests {
		tt.m.Topic, tt.m.FixedSerial, tt.m.Field = "o", "dev", "online"
		a := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: []Mapping{tt.m}})
		got, err := a.Decode("o", []byte(tt.payload))
		want := []Update{{Serial: "dev", Availability: tt.want}}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Decode(%q) = %s, %v; want %s", tt.name, tt.payload, fmtUpdates(got), err, fmtUpdates(want))
		}
	}
}

func TestGenericAvailabilityWithValues(t *testing.T) {
	// One payload with both a value and an online flag: one update.
	a := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: []Mapping{
		{Topic: "s/+", SerialLevel: 1, JSONPath: "p", Field: "power", Unit: "W"},
		{Topic: "s/+", SerialLevel: 1, JSONPath: "on", Field: "online", OnlineValue: "true"},
	}})
	got, err := a.Decode("s/d", []byte(`{"p":4,"on":true}`))
	want := []Update{{Serial: "d", Availability: AvailabilityOnline, Measurement: genericMeas(genericW(4), nil, nil, nil)}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %s %v, want %s", fmtUpdates(got), err, fmtUpdates(want))
	}
}

func TestGenericRejects(t *testing.T) {
	cfg := AdapterConfig{Dialect: "generic", Mappings: []Mapping{
		{Topic: "j/+", SerialLevel: 1, JSONPath: "ENERGY.Power", Field: "power", Unit: "W"},
		{Topic: "j/+", SerialLevel: 1, JSONPath: "ENERGY.Total", Field: "energy", Unit: "kWh"},
		{Topic: "j/+", SerialLevel: 1, JSONPath: "bat.soc", Field: "soc"},
		{Topic: "j/+", SerialLevel: 1, JSONPath: "state", Field: "online", OnlineValue: "on"},
		{Topic: "p/+/power", SerialLevel: 1, Field: "power", Unit: "kW"},
		{Topic: "p/+/energy", SerialLevel: 1, Field: "energy", Unit: "Wh"},
	}}
	tests := []struct {
		name, topic, payload string
		want                 gridmint.Reason
	}{
		{"not JSON", "j/d", `{"ENERGY":`, gridmint.ReasonMalformed},
		{"binary garbage", "j/d", "\x00\xff\x13", gridmint.ReasonMalformed},
		{"a string that is no number where a number belongs", "j/d", `{"ENERGY":{"Power":"on"}}`, gridmint.ReasonWrongType},
		{"a decimal comma in a string", "j/d", `{"ENERGY":{"Total":"1234,5"}}`, gridmint.ReasonWrongType},
		{"an empty string", "j/d", `{"ENERGY":{"Total":""}}`, gridmint.ReasonWrongType},
		{"a hex float in a string", "j/d", `{"ENERGY":{"Power":"0x1p3"}}`, gridmint.ReasonWrongType},
		{"a string nan", "j/d", `{"ENERGY":{"Power":"nan"}}`, gridmint.ReasonNotFinite},
		{"a string negative counter", "j/d", `{"ENERGY":{"Total":"-1"}}`, gridmint.ReasonNegative},
		{"a string counter beyond int64", "j/d", `{"ENERGY":{"Total":"1e30"}}`, gridmint.ReasonAbsurd},
		{"plain quoted text", "p/d/power", `"on"`, gridmint.ReasonWrongType},
		{"a key of a number", "j/d", `{"ENERGY":5}`, gridmint.ReasonWrongType},
		{"an object where a number belongs", "j/d", `{"ENERGY":{"Power":{}}}`, gridmint.ReasonWrongType},
		{"a boolean where a number belongs", "j/d", `{"ENERGY":{"Total":true}}`, gridmint.ReasonWrongType},
		{"an object as online value", "j/d", `{"state":{}}`, gridmint.ReasonWrongType},
		{"null (NaN in the firmware)", "j/d", `{"ENERGY":{"Power":null}}`, gridmint.ReasonNotFinite},
		{"bare nan", "j/d", `{"ENERGY":{"Total":nan}}`, gridmint.ReasonNotFinite},
		{"negative counter", "j/d", `{"ENERGY":{"Total":-1}}`, gridmint.ReasonNegative},
		{"counter beyond 1 GWh", "j/d", `{"ENERGY":{"Total":1000001}}`, gridmint.ReasonAbsurd},
		{"counter beyond int64", "j/d", `{"ENERGY":{"Total":1e30}}`, gridmint.ReasonAbsurd},
		{"power beyond 1 MW", "p/d/power", "1000.1", gridmint.ReasonAbsurd},
		{"huge exponent power", "j/d", `{"ENERGY":{"Power":1e999}}`, gridmint.ReasonAbsurd},
		{"SoC above 100", "j/d", `{"bat":{"soc":101}}`, gridmint.ReasonAbsurd},
		{"plain payload not a number", "p/d/power", "on", gridmint.ReasonMalformed},
		{"plain JSON for a plain mapping", "p/d/energy", `{"v":1}`, gridmint.ReasonMalformed},
		{"plain nan", "p/d/energy", "NaN", gridmint.ReasonNotFinite},
		{"plain hex float", "p/d/power", "0x1p3", gridmint.ReasonMalformed},
		{"no mapping matches", "q/d", "1", gridmint.ReasonUnknownTopic},
		{"empty serial level", "p//power", "1", gridmint.ReasonUnknownTopic},
		{"control character in the serial", "p/a\x01b/power", "1", gridmint.ReasonUnknownTopic},
		{"oversized", "j/d", `{"x":"` + strings.Repeat("a", MaxPayload) + `"}`, gridmint.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, cfg)
			ups, err := a.Decode(tt.topic, []byte(tt.payload))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s, %q) = %s, %v; want %q", tt.topic, truncate([]byte(tt.payload)), fmtUpdates(ups), err, tt.want)
			}
			if de.Reason != tt.want {
				t.Errorf("reason = %q (%v), want %q", de.Reason, err, tt.want)
			}
		})
	}
}

func TestGenericBoundsDevices(t *testing.T) {
	const maxGenericDevices = 5
	a := mustAdapter(t, AdapterConfig{Dialect: "generic", MaxDevices: maxGenericDevices, Mappings: []Mapping{{Topic: "p/+", SerialLevel: 1, Field: "power", Unit: "W"}}})
	for i := range maxGenericDevices {
		if _, err := a.Decode(fmt.Sprintf("p/d%d", i), []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Decode("p/one-too-many", []byte("1"))
	var de *DecodeError
	if !errors.As(err, &de) || de.Reason != gridmint.ReasonUnknownDevice || de.Limit != maxGenericDevices {
		t.Errorf("device %d: %v, want %s at the cap of %d", maxGenericDevices+1, err, gridmint.ReasonUnknownDevice, maxGenericDevices)
	}
	if _, err := a.Decode("p/d0", []byte("2")); err != nil {
		t.Errorf("a known device after the cap: %v", err)
	}
}

func TestGenericConfigErrors(t *testing.T) {
	ok := Mapping{Topic: "evcc/site/grid/power", FixedSerial: "grid", Field: "power", Unit: "W"}
	tests := []struct {
		name string
		cfg  AdapterConfig
		want string
	}{
		{"the brief's example", AdapterConfig{Mappings: []Mapping{ok, ok, {Topic: "m/+", SerialLevel: 1, Field: "energy", Unit: "kW"}}},
			`mappings[2].unit: "kW" does not fit field energy`},
		{"no mappings", AdapterConfig{}, "mappings: none"},
		{"base topic", AdapterConfig{BaseTopic: "x/", Mappings: []Mapping{ok}}, "no base_topic"},
		{"inverters", AdapterConfig{Inverters: map[string]int{"a": 0}, Mappings: []Mapping{ok}}, "no inverters"},
		{"topic missing", AdapterConfig{Mappings: []Mapping{{FixedSerial: "s", Field: "power", Unit: "W"}}}, "mappings[0].topic: missing"},
		{"wildcard inside a level", AdapterConfig{Mappings: []Mapping{{Topic: "a/b+", FixedSerial: "s", Field: "power", Unit: "W"}}}, "mappings[0].topic:"},
		{"# not last", AdapterConfig{Mappings: []Mapping{{Topic: "a/#/b", FixedSerial: "s", Field: "power", Unit: "W"}}}, "mappings[0].topic:"},
		{"serial level outside", AdapterConfig{Mappings: []Mapping{{Topic: "a/+", SerialLevel: 2, Field: "power", Unit: "W"}}}, "mappings[0].serial_level: 2 is outside"},
		{"negative serial level", AdapterConfig{Mappings: []Mapping{{Topic: "a/+", SerialLevel: -1, Field: "power", Unit: "W"}}}, "mappings[0].serial_level"},
		{"serial level on #", AdapterConfig{Mappings: []Mapping{{Topic: "a/#", SerialLevel: 1, Field: "power", Unit: "W"}}}, "mappings[0].serial_level: level 1"},
		{"serial and serial level", AdapterConfig{Mappings: []Mapping{{Topic: "a/+", SerialLevel: 1, FixedSerial: "s", Field: "power", Unit: "W"}}}, "mappings[0].serial: set serial or serial_level"},
		{"bad fixed serial", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "a/b", Field: "power", Unit: "W"}}}, "mappings[0].serial:"},
		{"unknown field", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "voltage", Unit: "V"}}}, `mappings[0].field: "voltage"`},
		{"empty path step", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", JSONPath: "a..b", Field: "power", Unit: "W"}}}, "mappings[0].json_path:"},
		{"unclosed index", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", JSONPath: "nrg[11", Field: "power", Unit: "W"}}}, "mappings[0].json_path:"},
		{"index not a number", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", JSONPath: "nrg[x]", Field: "power", Unit: "W"}}}, "mappings[0].json_path:"},
		{"index with a leading zero", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", JSONPath: "nrg[01]", Field: "power", Unit: "W"}}}, "mappings[0].json_path:"},
		{"stray ]", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", JSONPath: "a]", Field: "power", Unit: "W"}}}, "mappings[0].json_path:"},
		{"text after an index", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", JSONPath: "a[1]b", Field: "power", Unit: "W"}}}, "mappings[0].json_path:"},
		{"online without its value", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "online"}}}, "mappings[0].online_value: missing"},
		{"online with a unit", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "online", OnlineValue: "1", Unit: "W"}}}, `mappings[0].unit: "W" does not fit field online`},
		{"online with a sign", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "online", OnlineValue: "1", Sign: -1}}}, "mappings[0].sign"},
		{"power without a unit", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "power"}}}, "mappings[0].unit: missing; field power takes W, kW"},
		{"energy without a unit", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "energy"}}}, "mappings[0].unit: missing"},
		{"soc in W", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "soc", Unit: "W"}}}, `mappings[0].unit: "W" does not fit field soc`},
		{"power in Wh", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "power", Unit: "Wh"}}}, `mappings[0].unit: "Wh" does not fit field power`},
		{"negative scale", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "power", Unit: "W", Scale: -1}}}, "mappings[0].scale"},
		{"huge scale", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "power", Unit: "W", Scale: 1e10}}}, "mappings[0].scale"},
		{"sign 2", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "power", Unit: "W", Sign: 2}}}, "mappings[0].sign: 2"},
		{"sign -1 on a counter", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "energy", Unit: "Wh", Sign: -1}}}, "mappings[0].sign: -1 does not fit field energy"},
		{"unknown counter", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "energy", Unit: "Wh", Counter: "weekly"}}}, `mappings[0].counter: "weekly"`},
		{"counter on power", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "power", Unit: "W", Counter: "daily"}}}, `mappings[0].counter: "daily" does not fit field power`},
		{"online value on power", AdapterConfig{Mappings: []Mapping{{Topic: "a", FixedSerial: "s", Field: "power", Unit: "W", OnlineValue: "1"}}}, "mappings[0].online_value: does not fit field power"},
		{"later mapping named", AdapterConfig{Mappings: []Mapping{ok, {Topic: "a", FixedSerial: "s", Field: "soc", Scale: 0.1, Sign: -1}}}, "mappings[1].sign"},
	}
	for _, tt := range tests {
		tt.cfg.Dialect = "generic"
		_, err := NewAdapter(tt.cfg)
		if gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want invalid with %q", tt.name, err, tt.want)
		}
	}
}

func TestGenericDevicesPerMessage(t *testing.T) {
	// Nine fixed serials on one topic: one message would name nine devices.
	var same, apart []Mapping
	for i := range MaxMeasurementsPerMessage + 1 {
		same = append(same, Mapping{Topic: "all", FixedSerial: fmt.Sprintf("d%d", i), Field: "power", Unit: "W"})
		apart = append(apart, Mapping{Topic: fmt.Sprintf("t%d", i), FixedSerial: fmt.Sprintf("d%d", i), Field: "power", Unit: "W"})
	}
	if _, err := NewAdapter(AdapterConfig{Dialect: "generic", Mappings: same}); err == nil || !strings.Contains(err.Error(), "mappings[0].topic") {
		t.Errorf("nine devices on one topic: %v, want an error", err)
	}
	if _, err := NewAdapter(AdapterConfig{Dialect: "generic", Mappings: apart}); err != nil {
		t.Errorf("nine devices on nine topics: %v", err)
	}
}

func TestGenericFiltersOverlap(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"a/+", "a/b", true},
		{"a/#", "a", true},
		{"x", "x/#", true},
		{"#", "anything/at/all", true},
		{"a/+/c", "a/b/+", true},
		{"a/b", "a/c", false},
		{"a", "a/b", false},
		{"+/+", "a", false},
		{"a/+/c", "a/b/d", false},
	}
	for _, tt := range tests {
		if got := genericFiltersOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("genericFiltersOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := genericFiltersOverlap(tt.b, tt.a); got != tt.want {
			t.Errorf("genericFiltersOverlap(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestGenericSubscriptionsAndReports(t *testing.T) {
	a := mustAdapter(t, genericExample())
	if got, want := a.Subscriptions(), []string{"evcc/site/grid/power", "tele/+/SENSOR", "tele/+/LWT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Subscriptions() = %q, want %q", got, want)
	}
	if got, want := Capabilities(a), []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}; !reflect.DeepEqual(got, want) {
		t.Errorf("Capabilities = %v, want %v (reads only, no control)", got, want)
	}
	if a.DefaultKind() != gridmint.KindMeter {
		t.Errorf("DefaultKind = %s, want meter", a.DefaultKind())
	}
	plug := mustAdapter(t, AdapterConfig{Dialect: "generic", Kind: gridmint.KindPlug, Mappings: genericExample().Mappings})
	if plug.DefaultKind() != gridmint.KindPlug {
		t.Errorf("kind override: %s", plug.DefaultKind())
	}
	for _, bad := range []string{"", "a/b", "x+", "\x00"} {
		if CheckSerial(a, bad) == nil {
			t.Errorf("CheckSerial(%q) accepted", bad)
		}
	}
}

func TestGenericEndToEnd(t *testing.T) {
	// Through Ingest: the evcc grid meter and the Tasmota device become
	// meters with readings; the LWT takes the device offline.
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, genericExample())}, Discover: true, StaleAfter: 1 << 62, Clock: &fakeClock{now: t0}})
	o := in.Process(msgsAt(t0,
		mqttMsg{"evcc/site/grid/power", "-850"},
		mqttMsg{"tele/sonoff_desk/LWT", "Online"}, // before discovery: ignored
		mqttMsg{"tele/sonoff_desk/SENSOR", tasmotaSonoffDesk},
	))
	if len(o.Rejections) != 0 || len(o.Readings) != 2 {
		t.Fatalf("rejections %v, readings %v", o.Rejections, o.Readings)
	}
	in.Accept(o)
	in.Accept(in.Process(msgsAt(t0, mqttMsg{"tele/sonoff_desk/LWT", "Offline"})))
	for _, d := range in.Devices() {
		if d.Kind != gridmint.KindMeter {
			t.Errorf("%s kind %s, want meter", d.ID, d.Kind)
		}
		switch d.Serial {
		case "evcc-grid":
			if !d.Online || d.Power != -850 {
				t.Errorf("evcc-grid: online=%v power=%v", d.Online, d.Power)
			}
		case "sonoff_desk":
			if d.Online || d.Power != 56 || !d.Fields.Has(gridmint.FieldEnergy) {
				t.Errorf("sonoff_desk: online=%v power=%v fields=%v; want offline, 56 W, with energy", d.Online, d.Power, d.Fields)
			}
		default:
			t.Errorf("unexpected device %s", d.ID)
		}
	}
}

// genericReferenceWalk is genericWalk done with encoding/json's maps and slices,
// for differential tests.
func genericReferenceWalk(doc []byte, steps []genericStep) (v []byte, found, wrongType bool) {
	v = doc
	for _, st := range steps {
		v = bytes.TrimSpace(v)
		if st.index < 0 {
			if len(v) == 0 || v[0] != '{' {
				return nil, false, true
			}
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) != nil {
				return nil, false, true
			}
			x, ok := m[st.key]
			if !ok {
				return nil, false, false
			}
			v = x
		} else {
			if len(v) == 0 || v[0] != '[' {
				return nil, false, true
			}
			var a []json.RawMessage
			if json.Unmarshal(v, &a) != nil {
				return nil, false, true
			}
			if st.index >= len(a) {
				return nil, false, false
			}
			v = a[st.index]
		}
	}
	return bytes.TrimSpace(v), true, false
}

// genericCheckWalk compares genericWalk with encoding/json on valid JSON.
func genericCheckWalk(t *testing.T, path string, doc []byte) {
	t.Helper()
	steps, perr := parseGenericPath(path)
	if perr != "" || !json.Valid(doc) {
		return
	}
	v, found, err := genericWalk(doc, steps)
	rv, rfound, rwrong := genericReferenceWalk(doc, steps)
	if found != rfound || (err != nil) != rwrong || !bytes.Equal(bytes.TrimSpace(v), rv) {
		t.Fatalf("path %q in %q: walker %q found=%v err=%v; encoding/json %q found=%v wrong type=%v", path, doc, v, found, err, rv, rfound, rwrong)
	}
}

func TestGenericWalkMatchesEncodingJSON(t *testing.T) {
	for _, tt := range []struct{ path, doc string }{
		{"em:0.total_act_power", genericShellyPro3EM},
		{"emdata:0.c_total_act_energy", genericShellyPro3EM},
		{"em:0.n_current", genericShellyPro3EM},
		{"em:0.user_calibrated_phase[0]", genericShellyPro3EM},
		{"aenergy.by_minute[2]", genericShelly1PM},
		{"aenergy.by_minute[3]", genericShelly1PM},
		{"temperature.tC.x", genericShelly1PM},
		{"[11]", genericGoeNrg},
		{"[16]", genericGoeNrg},
		{"x", genericGoeNrg},
		{"[0]", `{"0":1}`},
		{"ENERGY.Total", tasmotaSonoffDesk},
		{"a", ` { "a" : [ 1 , 2 ] } `},
		{"a[1]", ` { "a" : [ 1 , "]" , 2 ] } `},
		{"b", `{"a":"x\"}","b":2}`},
		{"\u00e9", `{"\u00e9":1,"é":2}`},
		{"k", `{"k":1,"k":{"z":2}}`},
		{"a.b", `{"a":null}`},
		{"a", `"a"`},
	} {
		genericCheckWalk(t, tt.path, []byte(tt.doc))
	}
}

func init() {
	registerConformance("generic", func() conformance {
		return conformance{
			config: genericExample(),
			decode: []decodeFixture{
				{"evcc site grid power, plain W", []mqttMsg{{"evcc/site/grid/power", "1234.5"}},
					[]Update{{Serial: "evcc-grid", Measurement: genericMeas(genericW(1234.5), nil, nil, nil)}}},
				{"Tasmota-like SENSOR through two mappings", []mqttMsg{{"tele/sonoff_desk/LWT", "Online"}, {"tele/sonoff_desk/SENSOR", tasmotaSonoffDesk}}, []Update{
					{Serial: "sonoff_desk", Availability: AvailabilityOnline},
					{Serial: "sonoff_desk", Measurement: genericMeas(genericW(56), genericLifetime(514_153_000), nil, nil)},
				}},
			},
			offline:       []mqttMsg{{"tele/sonoff_desk/LWT", "Offline"}},
			offlineSerial: "sonoff_desk",
			// No commands: the generic adapter has no control capabilities.
		}
	})
}

func FuzzGenericDecode(f *testing.F) {
	f.Add("evcc/site/grid/power", "ENERGY.Total", []byte("1234.5"))
	f.Add("tele/sonoff_desk/SENSOR", "ENERGY.Total", []byte(tasmotaSonoffDesk))
	f.Add("tele/sonoff_desk/SENSOR", "ENERGY.Power", []byte(tasmotaDualR3))
	f.Add("tele/t/SENSOR", "DS18B20.Temperature", []byte(tasmotaDS18B20))
	f.Add("tele/sonoff_desk/LWT", "", []byte("Offline"))
	f.Add("shellypro3em/status", "em:0.total_act_power", []byte(genericShellyPro3EM))
	f.Add("plug1/status/switch:0", "aenergy.by_minute[1]", []byte(genericShelly1PM))
	f.Add("go-eCharger/000001/nrg", "[11]", []byte(genericGoeNrg))
	f.Add("x", `a[1][0].b`, []byte(`{"a":[0,[{"b":"\u00e9"}]],"a":{"x":nan}}`))
	f.Add("go-eCharger/001680/status", "eto", []byte(goeV1DocStatus))
	f.Add("tele/sml_meter/SENSOR", "SML.Total_out", []byte(tasmotaSML))
	f.Add("x", "v", []byte(`"1234.567"`))
	f.Add("x", "v", []byte(`-12.5e-3`))
	f.Fuzz(func(t *testing.T, topic, path string, payload []byte) {
		// The documented configuration on any topic and payload.
		a := mustAdapter(t, genericExample())
		ups, err := a.Decode(topic, payload)
		checkDecoded(t, ups, err)

		// The path walker: the same answer as encoding/json on valid JSON,
		// no panic on anything else.
		genericCheckWalk(t, path, payload)
		if steps, perr := parseGenericPath(path); perr == "" {
			_, _, _ = genericWalk(payload, steps)
		}

		// The fuzzed path in a mapping, for every kind of field.
		cfg := AdapterConfig{Dialect: "generic", Mappings: []Mapping{
			{Topic: "f/+", SerialLevel: 1, JSONPath: path, Field: "power", Unit: "kW", Scale: 0.1},
			{Topic: "f/+", SerialLevel: 1, JSONPath: path, Field: "energy", Unit: "Wh", Scale: 0.01},
			{Topic: "f/+", SerialLevel: 1, JSONPath: path, Field: "energy_reverse", Unit: "kWh", Scale: 2.5},
			{Topic: "f/+", SerialLevel: 1, JSONPath: path, Field: "soc"},
			{Topic: "f/+", SerialLevel: 1, JSONPath: path, Field: "online", OnlineValue: "1"},
		}}
		g, cerr := NewAdapter(cfg)
		if cerr != nil {
			if _, perr := parseGenericPath(path); perr == "" {
				t.Fatalf("valid path %q refused: %v", path, cerr)
			}
			return
		}
		ups, err = g.Decode("f/dev", payload)
		checkDecoded(t, ups, err)

		// A number and the same number as a JSON string read alike, at a
		// path and as a plain payload.
		if lit := bytes.TrimSpace(payload); len(lit) > 0 && (lit[0] == '-' || lit[0] >= '0' && lit[0] <= '9') && json.Valid(lit) {
			quoted, _ := json.Marshal(string(lit))
			fields := []Mapping{
				{Topic: "n/+", SerialLevel: 1, JSONPath: "v", Field: "power", Unit: "kW", Scale: 0.01},
				{Topic: "n/+", SerialLevel: 1, JSONPath: "v", Field: "energy", Unit: "kWh", Scale: 0.1},
				{Topic: "n/+", SerialLevel: 1, JSONPath: "v", Field: "energy_reverse", Unit: "Wh", Scale: 3},
				{Topic: "n/+", SerialLevel: 1, JSONPath: "v", Field: "soc"},
				{Topic: "m/+", SerialLevel: 1, Field: "energy", Unit: "Wh"},
			}
			pairs := [][3]string{
				{"n/d", `{"v":` + string(lit) + `}`, `{"v":` + string(quoted) + `}`},
				{"m/d", string(lit), string(quoted)},
			}
			for _, p := range pairs {
				bare, errBare := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: fields}).Decode(p[0], []byte(p[1]))
				str, errStr := mustAdapter(t, AdapterConfig{Dialect: "generic", Mappings: fields}).Decode(p[0], []byte(p[2]))
				if reasonOfErr(errBare) != reasonOfErr(errStr) || !reflect.DeepEqual(bare, str) {
					t.Fatalf("%s: bare %s read as %s %v, quoted %s as %s %v", p[0], p[1], fmtUpdates(bare), errBare, p[2], fmtUpdates(str), errStr)
				}
			}
		}
	})
}

// BenchmarkDecodeGeneric measures the generic decoder alone on the
// documented configuration: a Tasmota SENSOR read through two JSON
// mappings and an evcc plain value, alternately: readings/s.
func BenchmarkDecodeGeneric(b *testing.B) {
	a := mustAdapter(b, genericExample())
	msgs := []mqttMsg{{"tele/sonoff_desk/SENSOR", tasmotaSonoffDesk}, {"evcc/site/grid/power", "1234.5"}}
	b.ReportAllocs()
	b.ResetTimer()
	readings := 0
	for i := 0; b.Loop(); i++ {
		m := msgs[i%len(msgs)]
		ups, err := a.Decode(m.topic, []byte(m.payload))
		if err != nil {
			b.Fatal(err)
		}
		readings += len(ups)
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
}
