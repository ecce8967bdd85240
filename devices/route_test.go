package devices

import (
	"strings"
	"testing"
)

func TestCheckRoutes(t *testing.T) {
	generic := func(topic string) AdapterConfig {
		return AdapterConfig{Dialect: "generic", Mappings: []Mapping{{Topic: topic, SerialLevel: 1, JSONPath: "P", Field: "power", Unit: "W"}}}
	}
	for _, tc := range []struct {
		name     string
		adapters []AdapterConfig
		err      string // "" when accepted
	}{
		{"every dialect with its defaults", []AdapterConfig{{Dialect: "tasmota"}, {Dialect: "opendtu"}, {Dialect: "shelly"},
			{Dialect: "victron", PortalID: "c0619ab1234f"}, {Dialect: "goe"}, {Dialect: "ahoydtu"}}, ""},
		{"a narrower generic before tasmota", []AdapterConfig{generic("tele/sml_meter/SENSOR"), {Dialect: "tasmota"}}, ""},
		{"a narrower generic after tasmota", []AdapterConfig{{Dialect: "tasmota"}, generic("tele/sml_meter/SENSOR")},
			`adapters[1] (generic) telemetry "tele/sml_meter/SENSOR" is covered by adapters[0] (tasmota) telemetry "tele/+/SENSOR"`},
		{"the same filter twice", []AdapterConfig{generic("x/+"), generic("x/+")},
			`adapters[1] (generic) telemetry "x/+" is covered by adapters[0] (generic) telemetry "x/+"`},
		{"a wider filter after a narrower one", []AdapterConfig{generic("x/a"), generic("x/+")}, ""},
		{"wider after tasmota", []AdapterConfig{{Dialect: "tasmota"}, generic("+/+/SENSOR")}, ""},
		{"wider before tasmota", []AdapterConfig{generic("+/+/SENSOR"), {Dialect: "tasmota"}},
			`adapters[1] (tasmota) telemetry "tele/+/SENSOR" is covered by adapters[0] (generic) telemetry "+/+/SENSOR"`},
		{"telemetry covered by another adapter's replies", []AdapterConfig{{Dialect: "goe"}, generic("go-eCharger/+/amp/result")},
			`adapters[1] (generic) telemetry "go-eCharger/+/amp/result" is covered by adapters[0] (goe) command replies "go-eCharger/+/+/result"`},
		{"partial overlaps go to the first", []AdapterConfig{generic("a/+/c"), generic("a/b/+")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var as []Adapter
			for _, c := range tc.adapters {
				as = append(as, mustAdapter(t, c))
			}
			err := CheckRoutes(as)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("CheckRoutes = %v, want %q", err, tc.err)
			}
		})
	}
}

// TestOverlappingAdaptersTakeEachMessageOnce: a topic that the filters of
// two adapters match is decoded by the first only, and that message's
// energy becomes one reading of one device.
func TestOverlappingAdaptersTakeEachMessageOnce(t *testing.T) {
	sml := AdapterConfig{Dialect: "generic", Kind: "meter", Mappings: []Mapping{
		{Topic: "tele/plug/SENSOR", SerialLevel: 1, JSONPath: "ENERGY.Total", Field: "energy", Unit: "kWh"},
	}}
	in := newTestIngest(t, IngestConfig{Discover: true, Adapters: []Adapter{mustAdapter(t, sml), mustAdapter(t, AdapterConfig{Dialect: "tasmota"})}})
	o := in.Process(msgsAt(t0, mqttMsg{"tele/plug/SENSOR", `{"ENERGY":{"Total":1.5,"Power":10}}`}))
	if len(o.Readings) != 1 || len(o.NewDevices) != 1 || o.NewDevices[0].Dialect != "generic" {
		t.Errorf("readings %+v, new devices %+v; want one reading of one generic device", o.Readings, o.NewDevices)
	}
}
