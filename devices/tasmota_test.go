package devices

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// Captures from shared/payloads/tasmota.md (third-party captures, see the
// Sources there).
const (
	tasmotaSonoffDesk = `{"Time":"2023-05-19T20:52:56","ENERGY":{"TotalStartTime":"2022-03-20T15:20:48","Total":514.153,"Yesterday":1.495,"Today":0.537,"Period":0,"Power":56,"ApparentPower":92,"ReactivePower":73,"Factor":0.61,"Voltage":234,"Current":0.392}}`
	tasmotaDualR3     = `{"Time":"2026-09-18T11:19:21","ENERGY":{"TotalStartTime":"2026-09-16T00:00:00","Total":[2.813,0.254],"Yesterday":[1.530,0.125],"Today":[0.772,0.059],"Power":[52,5],"ApparentPower":[66,10],"ReactivePower":[40,9],"Factor":[0.79,0.50],"Voltage":235,"Current":[0.278,0.044],"BL09XX":{"Temperature":46.5}}}`
	tasmotaDS18B20    = `{"Time":"2017-02-16T10:13:52", "DS18B20":{"Temperature":20.6}}`
	tasmotaState      = `{"Time":"2019-10-31T11:14:59","Uptime":"0T18:36:12","UptimeSec":66972,"Vcc":3.423,"Heap":28,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":6,"POWER":"OFF","Wifi":{"AP":1,"SSId":"Tasmota","BSSId":"00:00:00:00:00:00","Channel":13,"RSSI":100,"LinkCount":1,"Downtime":"0T00:00:06"}}`
)

func mustAdapter(t testing.TB, cfg AdapterConfig) Adapter {
	t.Helper()
	a, err := NewAdapter(cfg)
	if err != nil {
		t.Fatalf("NewAdapter(%+v): %v", cfg, err)
	}
	return a
}

// meas is a measurement of power p and lifetime counter c.
func meas(src time.Time, p gridmint.W, c gridmint.MWh) *Measurement {
	return &Measurement{SourceTime: src, Power: &p, Forward: &Counter{Value: c, Kind: gridmint.CounterLifetime}}
}

func TestTasmotaDecode(t *testing.T) {
	tests := []struct {
		name    string
		topic   string
		payload string
		want    []Update
	}{
		{"single channel capture", "tele/sonoff_desk/SENSOR", tasmotaSonoffDesk, []Update{
			{Serial: "sonoff_desk", Measurement: meas(time.Date(2023, 5, 19, 20, 52, 56, 0, time.UTC), 56, 514_153_000)},
		}},
		{"Sonoff Dual R3: one device per channel", "tele/dual/SENSOR", tasmotaDualR3, []Update{
			{Serial: "dual:1", Measurement: meas(time.Date(2026, 9, 18, 11, 19, 21, 0, time.UTC), 52, 2_813_000)},
			{Serial: "dual:2", Measurement: meas(time.Date(2026, 9, 18, 11, 19, 21, 0, time.UTC), 5, 254_000)},
		}},
		{"stock multi-channel: one Total, per-channel Power", "tele/dual/SENSOR", `{"Time":"2026-09-18T11:19:21","ENERGY":{"Total":3.067,"Yesterday":1.655,"Today":0.831,"Power":[52,5],"Voltage":235}}`, []Update{
			{Serial: "dual", Measurement: meas(time.Date(2026, 9, 18, 11, 19, 21, 0, time.UTC), 57, 3_067_000)},
		}},
		{"Time with an offset (SetOption52)", "tele/p/SENSOR", `{"Time":"2024-05-01T12:00:00+02:00","ENERGY":{"Total":1.5,"Power":3}}`, []Update{
			{Serial: "p", Measurement: meas(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC), 3, 1_500_000)},
		}},
		{"a Time that does not parse keeps the energy", "tele/p/SENSOR", `{"Time":"19.05.2023 20:52","ENERGY":{"Total":1.5,"Power":3}}`, []Update{
			{Serial: "p", Measurement: meas(time.Time{}, 3, 1_500_000)},
		}},
		{"no Time", "tele/p/SENSOR", `{"ENERGY":{"Total":1.5,"Power":3}}`, []Update{
			{Serial: "p", Measurement: meas(time.Time{}, 3, 1_500_000)},
		}},
		{"no Power means 0 W", "tele/p/SENSOR", `{"ENERGY":{"Total":1}}`, []Update{
			{Serial: "p", Measurement: meas(time.Time{}, 0, 1_000_000)},
		}},
		{"exponent total", "tele/p/SENSOR", `{"ENERGY":{"Total":1.5e2,"Power":3}}`, []Update{
			{Serial: "p", Measurement: meas(time.Time{}, 3, 150_000_000)},
		}},
		{"nan in another sensor does not lose the energy", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"Power":2},"SHT3X":{"Temperature":nan}}`, []Update{
			{Serial: "p", Measurement: meas(time.Time{}, 2, 1_000_000)},
		}},
		{"temperature sensor without ENERGY is ignored", "tele/p/SENSOR", tasmotaDS18B20, nil},
		{"STATE is ignored", "tele/p/STATE", tasmotaState, nil},
		{"LWT online", "tele/p/LWT", "Online", []Update{{Group: "p", Availability: AvailabilityOnline}}},
		{"LWT offline", "tele/p/LWT", "Offline", []Update{{Group: "p", Availability: AvailabilityOffline}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "tasmota"})
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

func TestTasmotaLWTMarksEveryChannel(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "tasmota"})
	if _, err := a.Decode("tele/dual/SENSOR", []byte(tasmotaDualR3)); err != nil {
		t.Fatal(err)
	}
	got, err := a.Decode("tele/dual/LWT", []byte("Offline"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Update{{Serial: "dual:1", Availability: AvailabilityOffline}, {Serial: "dual:2", Availability: AvailabilityOffline}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LWT after dual SENSOR: got %s, want %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestTasmotaCustomFullTopic(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "tasmota", BaseTopic: "tasmota/%topic%/%prefix%/"})
	if got, want := a.Subscriptions(), []string{"tasmota/+/tele/SENSOR", "tasmota/+/tele/LWT"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Subscriptions() = %q, want %q", got, want)
	}
	ups, err := a.Decode("tasmota/kitchen/tele/SENSOR", []byte(`{"ENERGY":{"Total":2,"Power":1}}`))
	if err != nil || len(ups) != 1 || ups[0].Serial != "kitchen" {
		t.Errorf("Decode with custom full topic = %s, %v", fmtUpdates(ups), err)
	}
	for _, bad := range []string{"%topic%/", "%prefix%/%topic%/%topic%/", "a/+/%prefix%/%topic%", "a//%prefix%/%topic%"} {
		if _, err := NewAdapter(AdapterConfig{Dialect: "tasmota", BaseTopic: bad}); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("full topic %q: error %v, want %s", bad, err, gridmint.EInvalid)
		}
	}
}

func TestTasmotaRejects(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		want                 gridmint.Reason
	}{
		{"not JSON", "tele/p/SENSOR", `{"ENERGY":`, gridmint.ReasonMalformed},
		{"binary garbage", "tele/p/SENSOR", "\x00\xff\x13", gridmint.ReasonMalformed},
		{"Total is a string", "tele/p/SENSOR", `{"ENERGY":{"Total":"514.1","Power":1}}`, gridmint.ReasonWrongType},
		{"Total missing", "tele/p/SENSOR", `{"ENERGY":{"Power":1}}`, gridmint.ReasonWrongType},
		{"ENERGY is a number", "tele/p/SENSOR", `{"ENERGY":5}`, gridmint.ReasonWrongType},
		{"Time is a number", "tele/p/SENSOR", `{"Time":5,"ENERGY":{"Total":1}}`, gridmint.ReasonWrongType},
		{"bad power in a summed channel", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"Power":[1,"x"]}}`, gridmint.ReasonWrongType},
		{"NaN total", "tele/p/SENSOR", `{"ENERGY":{"Total":nan,"Power":1}}`, gridmint.ReasonNotFinite},
		{"null power", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"Power":null}}`, gridmint.ReasonNotFinite},
		{"huge exponent power", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"Power":1e999}}`, gridmint.ReasonAbsurd},
		{"total beyond int64 mWh", "tele/p/SENSOR", `{"ENERGY":{"Total":1e20,"Power":1}}`, gridmint.ReasonAbsurd},
		{"arrays of different length", "tele/p/SENSOR", `{"ENERGY":{"Total":[1,2],"Power":[1]}}`, gridmint.ReasonWrongType},
		{"array total, scalar power", "tele/p/SENSOR", `{"ENERGY":{"Total":[1,2],"Power":1}}`, gridmint.ReasonWrongType},
		{"array total longer than power", "tele/p/SENSOR", `{"ENERGY":{"Total":[1,2,3],"Power":[1,2]}}`, gridmint.ReasonWrongType},
		{"empty array", "tele/p/SENSOR", `{"ENERGY":{"Total":[]}}`, gridmint.ReasonWrongType},
		{"too many channels", "tele/p/SENSOR", `{"ENERGY":{"Total":[1,1,1,1,1,1,1,1,1]}}`, gridmint.ReasonWrongType},
		{"bad LWT", "tele/p/LWT", "maybe", gridmint.ReasonMalformed},
		{"unknown telemetry", "tele/p/WHATEVER", "{}", gridmint.ReasonUnknownTopic},
		{"stat prefix", "stat/p/SENSOR", "{}", gridmint.ReasonUnknownTopic},
		{"too few levels", "tele/SENSOR", "{}", gridmint.ReasonUnknownTopic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "tasmota"})
			ups, err := a.Decode(tt.topic, []byte(tt.payload))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) = %s, %v; want a DecodeError %q", tt.payload, fmtUpdates(ups), err, tt.want)
			}
			if de.Reason != tt.want {
				t.Errorf("Decode(%q) reason = %q (%v), want %q", tt.payload, de.Reason, err, tt.want)
			}
		})
	}
}

func TestTasmotaSwitchCommand(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "tasmota"}).(Switcher)
	tests := []struct {
		serial    string
		on        bool
		wantTopic string
		wantBody  string
	}{
		{"plug", true, "cmnd/plug/POWER", "ON"},
		{"dual:2", false, "cmnd/dual/POWER2", "OFF"},
	}
	for _, tt := range tests {
		c, err := a.SwitchCommand(tt.serial, tt.on)
		if err != nil || c.Topic != tt.wantTopic || string(c.Payload) != tt.wantBody {
			t.Errorf("SwitchCommand(%q, %v) = %s %q, %v; want %s %q", tt.serial, tt.on, c.Topic, c.Payload, err, tt.wantTopic, tt.wantBody)
		}
	}
	for _, bad := range []string{"", "a/b", "dual:x", "dual:0", "dual:99"} {
		if _, err := a.SwitchCommand(bad, true); err == nil {
			t.Errorf("SwitchCommand(%q) = nil error", bad)
		}
	}
}

func FuzzTasmotaDecode(f *testing.F) {
	for _, s := range []string{tasmotaSonoffDesk, tasmotaDualR3, tasmotaDS18B20, tasmotaState, `{"ENERGY":{"Total":nan}}`, "Online"} {
		f.Add("SENSOR", []byte(s))
	}
	f.Add("LWT", []byte("Offline"))
	f.Fuzz(func(t *testing.T, name string, payload []byte) {
		a := mustAdapter(t, AdapterConfig{Dialect: "tasmota"})
		ups, err := a.Decode("tele/dev/"+name, payload)
		checkDecoded(t, ups, err)
	})
}

// checkDecoded holds for every decoder: an error is a DecodeError with a
// known reason, and updates name a device and carry sane values.
func checkDecoded(t *testing.T, ups []Update, err error) {
	t.Helper()
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
		}
		known := false
		for _, r := range gridmint.Reasons {
			known = known || r == de.Reason
		}
		if !known {
			t.Fatalf("unknown reason %q", de.Reason)
		}
		if ups != nil {
			t.Fatalf("updates %v together with error %v", ups, err)
		}
		return
	}
	measurements := 0
	for _, u := range ups {
		if u.Measurement != nil {
			measurements++
		}
		if u.Serial == "" && (u.Measurement != nil || u.Name != "" || u.Availability == AvailabilityUnknown) {
			t.Fatalf("update without serial carries more than an availability for all devices: %+v", u)
		}
		if m := u.Measurement; m != nil {
			if m.empty() {
				t.Fatalf("measurement without a value: %+v", u)
			}
			for _, c := range []*Counter{m.Forward, m.Reverse} {
				if c != nil && c.Kind == "" {
					t.Fatalf("counter without a kind: %+v", u)
				}
			}
		}
	}
	if measurements > MaxMeasurementsPerMessage {
		t.Fatalf("%d measurements from one message, more than %d", measurements, MaxMeasurementsPerMessage)
	}
}
