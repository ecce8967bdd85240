package devices

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
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

// Meters with export (ENERGY.ExportActive, kWh per phase; arendst/Tasmota
// tasmota_xdrv_driver/xdrv_03_energy.ino EnergyShow).
const (
	// tasmotaShelly3EM is a Shelly 3EM on Tasmota 12.1.1 with SetOption129
	// off, captured in arendst/Tasmota#17178 (one phase wired): one Total,
	// three Power and ExportActive values. Its Total runs backwards while
	// exporting (the point), Yesterday is even negative.
	tasmotaShelly3EM = `{"Time":"2022-11-24T13:04:03","ENERGY":{"TotalStartTime":"2022-11-22T13:42:58","Total":0.00627,"Yesterday":-0.00006,"Today":0.00634,"ExportActive":[0.02465,0.00001,0.00001],"Period":[0.0,0.0,0.0],"Power":[-0.2,0.0,0.0],"ApparentPower":[3.2,0.0,0.0],"ReactivePower":[3.2,0.0,0.0],"Factor":[-0.05,0.00,0.00],"Frequency":[49.96,48.85,136.83],"Voltage":[236.9,0.1,0.1],"Current":[0.013,0.014,0.013],"CurrentNeutral":0.011}}`
	// tasmota3PhaseSO129 is constructed in the driver's layout with
	// SetOption129 on: Total, Power and ExportActive per phase, the
	// balanced day sums and the tariff arrays (tariffs configured).
	tasmota3PhaseSO129 = `{"Time":"2024-06-01T12:00:00","ENERGY":{"TotalStartTime":"2023-01-01T00:00:00","Total":[1234.567,234.5,0.001],"TotalTariff":[700.1,768.967],"Yesterday":[1.1,0.2,0.0],"Today":[0.5,0.1,0.0],"TodaySumImport":0.6,"TodaySumExport":2.25,"ExportActive":[10.5,0.25,3.125],"ExportTariff":[5.0,8.875],"Power":[-1500,120,-30],"Voltage":[231,232,230],"Current":[6.5,0.52,0.13]}}`
	// tasmotaSDM120 is constructed: a one-phase Modbus meter (SDM120) whose
	// Total is import and ExportActive the meter's export register.
	tasmotaSDM120 = `{"Time":"2024-06-01T12:00:00","ENERGY":{"TotalStartTime":"2023-01-01T00:00:00","Total":4321.098,"Yesterday":3.2,"Today":1.1,"TodaySumImport":0.0,"TodaySumExport":0.0,"ExportActive":876.543,"Power":-420,"Voltage":230,"Current":1.83,"Frequency":50}}`
	// tasmotaSML is a Tasmota SML script meter (the scripter's JSON name
	// and value names are the user's; these are the docs' usual ones):
	// no ENERGY object.
	tasmotaSML = `{"Time":"2024-06-01T12:00:00","SML":{"Total_in":12345.6789,"Total_out":2345.6789,"Power_curr":-456}}`
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

func TestTasmotaExportActive(t *testing.T) {
	at := func(y int, mo time.Month, d, h, mi, sec int) time.Time {
		return time.Date(y, mo, d, h, mi, sec, 0, time.UTC)
	}
	withRev := func(m *Measurement, rev gridmint.MWh) *Measurement {
		m.Reverse = &Counter{Value: rev, Kind: gridmint.CounterLifetime}
		return m
	}
	june := at(2024, 6, 1, 12, 0, 0)
	tests := []struct {
		name, payload string
		want          []Update
	}{
		{"Shelly 3EM, SetOption129 off: the phases' exports summed exactly", tasmotaShelly3EM, []Update{
			{Serial: "m", Measurement: withRev(meas(at(2022, 11, 24, 13, 4, 3), -0.2, 6_270), 24_670)}}},
		{"SetOption129 on: one export per phase device", tasmota3PhaseSO129, []Update{
			{Serial: "m:1", Measurement: withRev(meas(june, -1500, 1_234_567_000), 10_500_000)},
			{Serial: "m:2", Measurement: withRev(meas(june, 120, 234_500_000), 250_000)},
			{Serial: "m:3", Measurement: withRev(meas(june, -30, 1_000), 3_125_000)},
		}},
		{"one phase: a scalar", tasmotaSDM120, []Update{
			{Serial: "m", Measurement: withRev(meas(june, -420, 4_321_098_000), 876_543_000)}}},
		{"ESP32, phases 2 and 3 unknown: phase 1's export is channel 1's", `{"ENERGY":{"Total":[1,2],"ExportActive":0.5,"Power":[1,2]}}`, []Update{
			{Serial: "m:1", Measurement: withRev(meas(time.Time{}, 1, 1_000_000), 500_000)},
			{Serial: "m:2", Measurement: meas(time.Time{}, 2, 2_000_000)},
		}},
		{"ESP32 summed device, phase 1 alone", `{"ENERGY":{"Total":3,"ExportActive":0.5,"Power":[1,2]}}`, []Update{
			{Serial: "m", Measurement: withRev(meas(time.Time{}, 3, 3_000_000), 500_000)}}},
		{"the phases' sum is exact, in mWh", `{"ENERGY":{"Total":1,"ExportActive":[99999.999,0.001,0.001],"Power":[0,0,0]}}`, []Update{
			{Serial: "m", Measurement: withRev(meas(time.Time{}, 0, 1_000_000), 100_000_001_000)}}},
		{"an SML meter has no ENERGY: not this adapter's", tasmotaSML, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mustAdapter(t, AdapterConfig{Dialect: "tasmota", Kind: gridmint.KindMeter}).Decode("tele/m/SENSOR", []byte(tt.payload))
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %s %v\nwant %s", fmtUpdates(got), err, fmtUpdates(tt.want))
			}
		})
	}
	// Through the normaliser: the reverse counter is its own track.
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota", Kind: gridmint.KindMeter})}, Discover: true})
	o := in.Process(msgsAt(t0, mqttMsg{"tele/m/SENSOR", tasmotaSDM120},
		mqttMsg{"tele/m/SENSOR", strings.Replace(strings.Replace(tasmotaSDM120, "876.543", "876.6", 1), "12:00:00", "12:05:00", 1)}))
	if len(o.Rejections) != 0 || len(o.Readings) != 2 || o.Readings[1].EnergyReverse != 876_600_000 || o.Readings[1].Fields&gridmint.FieldEnergyReverse == 0 {
		t.Errorf("readings %+v, rejections %+v", o.Readings, o.Rejections)
	}
}

// TestTasmotaNetTotal: on the ADE7953/ADE7880 drivers Total is import
// minus export and falls while exporting (arendst/Tasmota#17178). The
// normaliser holds the falls as resets, credits only the growth, and the
// export is ExportActive's: nothing is quarantined.
func TestTasmotaNetTotal(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota", Kind: gridmint.KindMeter})}, Discover: true})
	var msgs []Message
	for i, v := range []struct{ total, export string }{
		{"1000.000", "[100.000,0,0]"},
		{"999.500", "[100.500,0,0]"}, // exporting 0.5 kWh: Total falls
		{"999.000", "[101.000,0,0]"},
		{"999.300", "[101.000,0,0]"}, // importing again
		{"1000.500", "[101.000,0,0]"},
	} {
		p := fmt.Sprintf(`{"Time":"2024-06-01T12:%02d:00","ENERGY":{"Total":%s,"ExportActive":%s,"Power":[0,0,0]}}`, i*5, v.total, v.export)
		msgs = append(msgs, msgsAt(t0.Add(time.Duration(i)*5*time.Minute), mqttMsg{"tele/3em/SENSOR", p})...)
	}
	o := in.Process(msgs)
	if len(o.Rejections) != 0 || len(o.Readings) != 5 {
		t.Fatalf("readings %d, rejections %+v", len(o.Readings), o.Rejections)
	}
	last := o.Readings[4]
	// 1000 at first, then only the growth 999.0 → 999.3 → 1000.5.
	if last.Energy != 1_001_500_000 || last.EnergyReverse != 101_000_000 {
		t.Errorf("energy %v, reverse %v; want 1001.5 kWh imported (growth only), 101 kWh exported", last.Energy, last.EnergyReverse)
	}
	if o.Readings[1].Event != gridmint.EventReset || o.Readings[1].Quality != gridmint.QualityEstimated {
		t.Errorf("the first fall: event %q quality %q, want a reset, estimated", o.Readings[1].Event, o.Readings[1].Quality)
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
		{"ExportActive a string", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"ExportActive":"0.5","Power":1}}`, gridmint.ReasonWrongType},
		{"ExportActive null", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"ExportActive":null,"Power":1}}`, gridmint.ReasonNotFinite},
		{"ExportActive nan in an array", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"ExportActive":[0.1,nan,0],"Power":[1,1,1]}}`, gridmint.ReasonNotFinite},
		{"ExportActive negative", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"ExportActive":[0.1,-0.2],"Power":[1,1]}}`, gridmint.ReasonNegative},
		{"ExportActive beyond int64 mWh", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"ExportActive":1e20,"Power":1}}`, gridmint.ReasonAbsurd},
		{"ExportActive phases unlike the channels", "tele/p/SENSOR", `{"ENERGY":{"Total":[1,2,3],"ExportActive":[0.1,0.2],"Power":[1,2,3]}}`, gridmint.ReasonWrongType},
		{"ExportActive an object", "tele/p/SENSOR", `{"ENERGY":{"Total":1,"ExportActive":{},"Power":1}}`, gridmint.ReasonWrongType},
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
	for _, s := range []string{tasmotaSonoffDesk, tasmotaDualR3, tasmotaDS18B20, tasmotaState, `{"ENERGY":{"Total":nan}}`, "Online",
		tasmotaShelly3EM, tasmota3PhaseSO129, tasmotaSDM120, tasmotaSML, `{"ENERGY":{"Total":[1,2],"ExportActive":0.5,"Power":[1,2]}}`} {
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
