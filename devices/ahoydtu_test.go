package devices

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// ahoyCycle is one poll of inverter name as AhoyDTU 0.7+ publishes it:
// last_success first, then the DC channels, then ch0 in the firmware's
// field order (hm2chAssignment). The values are the manual's sample table
// (shared/payloads/ahoydtu.md, source [A]), plain text as published; ch2
// repeats ch1's sample.
func ahoyCycle(name string, lastSuccess int64, pac, yieldTotal string) []mqttMsg {
	p := "inverter/" + name + "/"
	msgs := []mqttMsg{{p + "last_success", strconv.FormatInt(lastSuccess, 10)}}
	for _, ch := range []string{"ch1/", "ch2/"} {
		msgs = append(msgs,
			mqttMsg{p + ch + "U_DC", "38.900"},
			mqttMsg{p + ch + "I_DC", "0.640"},
			mqttMsg{p + ch + "P_DC", "25.000"},
			mqttMsg{p + ch + "YieldDay", "17.000"},
			mqttMsg{p + ch + "YieldTotal", "110.819"},
			mqttMsg{p + ch + "Irradiation", "5.65"},
		)
	}
	return append(msgs,
		mqttMsg{p + "ch0/U_AC", "233.300"},
		mqttMsg{p + "ch0/I_AC", "0.300"},
		mqttMsg{p + "ch0/P_AC", pac},
		mqttMsg{p + "ch0/Q_AC", "21.200"},
		mqttMsg{p + "ch0/F_AC", "49.990"},
		mqttMsg{p + "ch0/PF_AC", "95.800"},
		mqttMsg{p + "ch0/Temp", "19.800"},
		mqttMsg{p + "ch0/YieldDay", "51.000"},
		mqttMsg{p + "ch0/YieldTotal", yieldTotal},
		mqttMsg{p + "ch0/P_DC", "74.600"},
		mqttMsg{p + "ch0/Efficiency", "95.174"},
		mqttMsg{p + "ch0/PowerLimit", "80.000"},
	)
}

// ahoyConnect is what AhoyDTU publishes after connecting, with the
// manual's sample values (retained DTU topics, then the inverter's
// availability).
var ahoyConnect = []mqttMsg{
	{"inverter/version", "0.5.61"},
	{"inverter/device", "AHOY-DTU"},
	{"inverter/mqtt", "connected"},
	{"inverter/uptime", "73630"},
	{"inverter/comm_start", "1672123767"},
	{"inverter/comm_stop", "1672155709"},
	{"inverter/status", "1"},
	{"inverter/balcony/available", "2"},
}

// ahoyCycle08 is one poll of an HM-800 (two DC inputs) as AhoyDTU 0.8.156
// publishes it with JSON off (lumapu/ahoy src/publisher/pubMqttIvData.h
// stateFindNxtIv and stateSend, field order hm2chAssignment of
// src/hm/hmDefines.h, values "%g" of the value rounded to 3 decimals;
// ALARM_MES_ID is not published): last_success, the channels, then the
// radio statistics. Sample values from the manual as in ahoyCycle, PF_AC
// as the 0.8 field table divides it (0..1).
func ahoyCycle08(name string, lastSuccess int64, pac, yieldTotal string) []mqttMsg {
	p := "inverter/" + name + "/"
	msgs := []mqttMsg{{p + "last_success", strconv.FormatInt(lastSuccess, 10)}}
	for _, ch := range []string{"ch1/", "ch2/"} {
		msgs = append(msgs,
			mqttMsg{p + ch + "U_DC", "38.9"},
			mqttMsg{p + ch + "I_DC", "0.64"},
			mqttMsg{p + ch + "P_DC", "25"},
			mqttMsg{p + ch + "YieldDay", "17"},
			mqttMsg{p + ch + "YieldTotal", "110.819"},
			mqttMsg{p + ch + "Irradiation", "5.65"},
			mqttMsg{p + ch + "MaxPower", "31"},
		)
	}
	return append(msgs,
		mqttMsg{p + "ch0/U_AC", "233.3"},
		mqttMsg{p + "ch0/I_AC", "0.3"},
		mqttMsg{p + "ch0/P_AC", pac},
		mqttMsg{p + "ch0/Q_AC", "21.2"},
		mqttMsg{p + "ch0/F_AC", "49.99"},
		mqttMsg{p + "ch0/PF_AC", "0.958"},
		mqttMsg{p + "ch0/Temp", "19.8"},
		mqttMsg{p + "ch0/YieldDay", "51"},
		mqttMsg{p + "ch0/YieldTotal", yieldTotal},
		mqttMsg{p + "ch0/P_DC", "74.6"},
		mqttMsg{p + "ch0/Efficiency", "95.174"},
		mqttMsg{p + "ch0/MaxPower", "80"},
		mqttMsg{p + "ch0/MaxTemp", "24.1"},
		// sendRadioStat's format.
		mqttMsg{p + "radio_stat", `{"tx":1473,"success":1389,"fail":12,"no_answer":72,"retransmits":301,"lossIvRx":3,"lossIvTx":0,"lossDtuRx":5,"lossDtuTx":1}`},
	)
}

// ahoyJSONCh0 is ch0 as AhoyDTU 0.8.130+ publishes it with JSON on: every
// CH0 field of the poll in field-table order, ALARM_MES_ID included, and
// ts (pubMqttIvData.h stateSend, serialised by ArduinoJson 6).
func ahoyJSONCh0(ts int64, pac, yieldTotal string) string {
	return `{"U_AC":233.3,"I_AC":0.3,"P_AC":` + pac + `,"Q_AC":21.2,"F_AC":49.99,"PF_AC":0.958,"Temp":19.8,"ALARM_MES_ID":5,` +
		`"YieldDay":51,"YieldTotal":` + yieldTotal + `,"P_DC":74.6,"Efficiency":95.174,"MaxPower":80,"MaxTemp":24.1,"ts":` + strconv.FormatInt(ts, 10) + `}`
}

// ahoy08Known is every other topic AhoyDTU 0.5 to 0.8.156 publishes for a
// DTU with inverter name, in the firmware's formats (src/publisher/
// pubMqtt.h, pubMqttIvData.h, pubMqttDefs.h): none carries a value
// gridmint uses, so each is ignored, never quarantined. Formats are the
// firmware's; the values are constructed.
func ahoy08Known(name string) []mqttMsg {
	p := "inverter/" + name + "/"
	return []mqttMsg{
		// onConnect, then tickerMinute (ESP32 with cpu_temp "%.2f",
		// ESP8266 with heap_frag).
		{"inverter/version", "0.8.156"}, {"inverter/device", "AHOY-DTU"}, {"inverter/ip_addr", "192.168.1.55"},
		{"inverter/uptime", "73630"}, {"inverter/wifi_rssi", "-67"}, {"inverter/free_heap", "141524"},
		{"inverter/cpu_temp", "47.22"}, {"inverter/heap_frag", "12"},
		{"inverter/mqtt", "connected"},
		// tickerSun, tickerComm: the polling window; per inverter
		// dis_night_comm since 0.8.7, per DTU before.
		{"inverter/sunrise", "1672123767"}, {"inverter/sunset", "1672155709"},
		{"inverter/comm_start", "1672123767"}, {"inverter/comm_stop", "1672155709"},
		{p + "dis_night_comm", "true"}, {"inverter/dis_night_comm", "false"},
		{"inverter/comm_disabled", "false"}, {"inverter/comm_dis_ts", "1672123767"},
		// HMS/HMT radio strength: <name>/rssi since 0.8.123, ch0/rssi before.
		{p + "rssi", "-74"}, {p + "ch0/rssi", "-74"},
		// InverterDevInform_All and _Simple, SystemConfigPara.
		{p + "firmware", `{"version":10012,"build_year":"2020","build_month_day":1106,"build_hour_min":1212,"bootloader":103}`},
		{p + "hardware", `{"part":269619201,"version":"512","grid_profile_code":0,"grid_profile_version":0}`},
		{p + "ch0/active_PowerLimit", "100"},
		{p + "active_PowerLimit", "100"}, // JSON mode
		// Alarms: 0.8 (count, one JSON object each) and 0.7 (one topic per part).
		{p + "alarm/cnt", "2"},
		{p + "alarm/0", `{"code":1,"str":"Inverter start","start":1672124000,"end":0}`},
		{p + "alarm/1/code", "2"}, {p + "alarm/1/str", "DTU command failed"},
		{p + "alarm/1/start", "1672124100"}, {p + "alarm/1/end", "1672124200"},
		{"inverter/alarm", "Inverter start"}, {"inverter/alarm_start", "1672124000"}, {"inverter/alarm_end", "0"},
		// The power limit acknowledgement, both forms.
		{p + "ack_pwr_limit", "true"}, {p + "ack_pwr_limit", "600.0"},
		// JSON mode: the DC channels and the totals.
		{p + "ch1", `{"U_DC":38.9,"I_DC":0.64,"P_DC":25,"YieldDay":17,"YieldTotal":110.819,"Irradiation":5.65,"MaxPower":31,"ts":1672155690}`},
		{"inverter/total", `{"P_AC":71,"YieldTotal":465.294,"YieldDay":51,"P_DC":74.6,"MaxPower":800}`},
		// stateSendTotals with JSON off.
		{"inverter/total/P_AC", "71"}, {"inverter/total/YieldTotal", "465.294"}, {"inverter/total/YieldDay", "51"},
		{"inverter/total/P_DC", "74.6"}, {"inverter/total/MaxPower", "800"},
		{"inverter/status", "2"},
	}
}

// ahoyMeas is a measurement of power p and lifetime counter c at unix
// time src (0: no source time).
func ahoyMeas(src int64, p gridmint.W, c gridmint.MWh) *Measurement {
	var t time.Time
	if src != 0 {
		t = time.Unix(src, 0).UTC()
	}
	return meas(t, p, c)
}

func TestAhoyDTUAssemblesOneMeasurementPerCycle(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	got := decodeAll(t, a, append(append([]mqttMsg{}, ahoyConnect...), ahoyCycle("balcony", 1672155690, "71.000", "465.294")...))
	want := []Update{
		{Serial: "balcony", Availability: AvailabilityOnline},
		{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("connect and one cycle:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}

	// The next poll, its values in another order and printed with %g as
	// newer firmware does: one measurement, completed by the last value.
	p := "inverter/balcony/"
	got = decodeAll(t, a, []mqttMsg{
		{p + "last_success", "1672155695"},
		{p + "ch0/YieldTotal", "465.3"},
		{p + "ch0/P_AC", "72"},
	})
	want = []Update{{Serial: "balcony", Measurement: ahoyMeas(1672155695, 72, 465_300_000)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("second cycle:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
}

// TestAhoyDTUFirmware08 runs what AhoyDTU 0.8.156 publishes around one
// poll through the decoder: one measurement, every other topic ignored.
func TestAhoyDTUFirmware08(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	msgs := append(ahoy08Known("balcony"), mqttMsg{"inverter/balcony/available", "2"})
	msgs = append(msgs, ahoyCycle08("balcony", 1672155690, "71", "465.294")...)
	got := decodeAll(t, a, msgs)
	want := []Update{
		{Serial: "balcony", Availability: AvailabilityOnline},
		{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestAhoyDTUJSONMode(t *testing.T) {
	p := "inverter/balcony/"
	tests := []struct {
		name string
		msgs []mqttMsg
		want []Update
	}{
		{"0.8.130+: ch0 with ts, after last_success and the DC channel", []mqttMsg{
			{p + "last_success", "1672155690"},
			{p + "ch1", `{"U_DC":38.9,"I_DC":0.64,"P_DC":25,"YieldDay":17,"YieldTotal":110.819,"ts":1672155690}`},
			{p + "ch0", ahoyJSONCh0(1672155690, "71", "465.294")},
			{p + "radio_stat", `{"tx":1,"success":1,"fail":0,"no_answer":0,"retransmits":0,"lossIvRx":0,"lossIvTx":0,"lossDtuRx":0,"lossDtuTx":0}`},
		}, []Update{{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)}}},
		{"ts alone opens the sample", []mqttMsg{{p + "ch0", ahoyJSONCh0(1672155695, "72", "465.3")}},
			[]Update{{Serial: "balcony", Measurement: ahoyMeas(1672155695, 72, 465_300_000)}}},
		{"0.8.123 to 0.8.129: no ts, last_success before", []mqttMsg{
			{p + "last_success", "1672155690"},
			{p + "ch0", `{"U_AC":233.3,"P_AC":71,"YieldDay":51,"YieldTotal":465.294}`},
		}, []Update{{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)}}},
		{"ArduinoJson's exponent form", []mqttMsg{{p + "ch0", `{"P_AC":7.1e1,"YieldTotal":1.234567e4,"ts":1672155690}`}},
			[]Update{{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 12_345_670_000)}}},
		{"without power (retained counters) completes nothing", []mqttMsg{{p + "ch0", `{"YieldDay":51,"YieldTotal":465.294,"ts":1672155690}`}}, nil},
		{"an object without values is ignored", []mqttMsg{{p + "ch0", `{}`}}, nil},
		{"the totals object is ignored", []mqttMsg{{"inverter/total", `{"P_AC":71,"YieldTotal":465.294,"YieldDay":51,"P_DC":74.6,"MaxPower":800}`}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(t, mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"}), tt.msgs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(tt.want))
			}
		})
	}
	// A bad value in the object changes nothing: the next good poll is
	// whole.
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	decodeAll(t, a, []mqttMsg{{p + "last_success", "1672155690"}})
	if _, err := a.Decode(p+"ch0", []byte(`{"P_AC":71,"YieldTotal":"465.294","ts":1672155690}`)); reasonOfErr(err) != gridmint.ReasonWrongType {
		t.Fatalf("string YieldTotal: %v, want %s", err, gridmint.ReasonWrongType)
	}
	got := decodeAll(t, a, []mqttMsg{{p + "ch0/YieldTotal", "465.294"}})
	if len(got) != 0 {
		t.Errorf("the refused object's power was kept: %s", fmtUpdates(got))
	}
}

// TestAhoyDTUKnownTopicsKeepTheRejectionAllowance: the topics AhoyDTU
// 0.8 publishes every poll and minute are ignored, not quarantined, so a
// real rejection after hours of them is still quarantined, not only
// counted.
func TestAhoyDTUKnownTopicsKeepTheRejectionAllowance(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})}, Discover: true})
	var msgs []mqttMsg
	for i := range 60 {
		msgs = append(msgs, ahoyCycle08("balcony", 1672155690+5*int64(i), "71", "465."+strconv.Itoa(100+i))...)
		msgs = append(msgs, ahoy08Known("balcony")...)
		msgs = append(msgs, mqttMsg{"inverter/balcony/available", strconv.Itoa(1 + i%3)})
	}
	o := in.Process(msgsAt(t0, msgs...))
	if len(o.Rejections) != 0 || len(o.Suppressed) != 0 {
		t.Fatalf("known topics rejected: %d quarantined (first %+v), suppressed %v", len(o.Rejections), first(o.Rejections), o.Suppressed)
	}
	if o.Ignored < 60*len(ahoy08Known("balcony")) {
		t.Errorf("ignored %d messages, want at least %d", o.Ignored, 60*len(ahoy08Known("balcony")))
	}
	in.Accept(o)
	o = in.Process(msgsAt(t0, mqttMsg{"inverter/balcony/ch0/P_AC", "nan"}))
	if len(o.Rejections) != 1 || o.Rejections[0].Reason != gridmint.ReasonNotFinite {
		t.Errorf("a bad power after the known topics: quarantined %+v, suppressed %v; want it quarantined", o.Rejections, o.Suppressed)
	}
}

func first[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

func TestAhoyDTUNewLastSuccessDropsHalfSample(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	p := "inverter/balcony/"
	got := decodeAll(t, a, []mqttMsg{
		{p + "last_success", "1672155690"},
		{p + "ch0/P_AC", "50"}, // this poll's YieldTotal never arrives
		{p + "last_success", "1672155695"},
		{p + "ch0/YieldTotal", "1.000"},
	})
	if len(got) != 0 {
		t.Fatalf("mixed a stale power into a new poll: %s", fmtUpdates(got))
	}
	// The same last_success again (AhoyDTU republishes every inverter's
	// last_success when it sends another one's data) keeps the sample.
	got = decodeAll(t, a, []mqttMsg{{p + "last_success", "1672155695"}, {p + "ch0/P_AC", "60"}})
	want := []Update{{Serial: "balcony", Measurement: ahoyMeas(1672155695, 60, 1_000_000)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestAhoyDTUWithoutFreshLastSuccess(t *testing.T) {
	// Firmware before 0.7 publishes last_success only when availability
	// changes. Its time goes on the first measurement after it only; later
	// ones have none rather than a repeated, conflicting one.
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	p := "inverter/balcony/"
	got := decodeAll(t, a, []mqttMsg{
		{p + "ch0/P_AC", "5"}, {p + "ch0/YieldTotal", "1.000"},
		{p + "available", "2"}, {p + "last_success", "1672155690"},
		{p + "ch0/P_AC", "6"}, {p + "ch0/YieldTotal", "1.001"},
		{p + "ch0/P_AC", "7"}, {p + "ch0/YieldTotal", "1.002"},
	})
	want := []Update{
		{Serial: "balcony", Measurement: ahoyMeas(0, 5, 1_000_000)},
		{Serial: "balcony", Availability: AvailabilityOnline},
		{Serial: "balcony", Measurement: ahoyMeas(1672155690, 6, 1_001_000)},
		{Serial: "balcony", Measurement: ahoyMeas(0, 7, 1_002_000)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestAhoyDTURetainedCountersCompleteNothing(t *testing.T) {
	// On (re)connect the broker re-sends the retained last_success and
	// yields, not the power: no measurement from old values.
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	p := "inverter/balcony/"
	got := decodeAll(t, a, []mqttMsg{{p + "last_success", "1672155690"}, {p + "ch0/YieldDay", "51"}, {p + "ch0/YieldTotal", "465.294"}})
	if len(got) != 0 {
		t.Errorf("retained values alone gave %s, want nothing", fmtUpdates(got))
	}
}

func TestAhoyDTUYieldDayOnlyWithoutYieldTotal(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	p := "inverter/balcony/"
	daily := func(src int64, pw gridmint.W, c gridmint.MWh) *Measurement {
		m := ahoyMeas(src, pw, c)
		m.Forward.Kind = gridmint.CounterDaily
		return m
	}
	// The first poll cannot tell yet whether a YieldTotal follows.
	got := decodeAll(t, a, []mqttMsg{{p + "last_success", "100"}, {p + "ch0/P_AC", "5"}, {p + "ch0/YieldDay", "51"}})
	if len(got) != 0 {
		t.Fatalf("first poll without YieldTotal gave %s, want nothing yet", fmtUpdates(got))
	}
	got = decodeAll(t, a, []mqttMsg{{p + "last_success", "105"}, {p + "ch0/P_AC", "6"}, {p + "ch0/YieldDay", "52"}})
	want := []Update{{Serial: "balcony", Measurement: daily(105, 6, 52_000)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("second poll without YieldTotal:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
	// Once a YieldTotal appears it is the counter, and YieldDay is no
	// longer used. (The poll in which it first appears still completes on
	// its YieldDay: nothing told yet that a YieldTotal would follow.)
	got = decodeAll(t, a, []mqttMsg{
		{p + "last_success", "110"}, {p + "ch0/P_AC", "7"}, {p + "ch0/YieldDay", "53"}, {p + "ch0/YieldTotal", "2"},
		{p + "last_success", "115"}, {p + "ch0/P_AC", "8"}, {p + "ch0/YieldDay", "54"}, {p + "ch0/YieldTotal", "2.001"},
		{p + "last_success", "120"}, {p + "ch0/P_AC", "9"}, {p + "ch0/YieldDay", "55"},
	})
	want = []Update{
		{Serial: "balcony", Measurement: daily(110, 7, 53_000)},
		{Serial: "balcony", Measurement: ahoyMeas(115, 8, 2_001_000)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after a YieldTotal:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}

	// An inverter that publishes both never uses YieldDay.
	b := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	for i := range 3 {
		for _, m := range ahoyCycle("balcony", int64(100+5*i), "71", "465.294") {
			ups, err := b.Decode(m.topic, []byte(m.payload))
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range ups {
				if u.Measurement != nil && u.Measurement.Forward.Kind != gridmint.CounterLifetime {
					t.Errorf("poll %d: %s, want the lifetime counter only", i, fmtUpdates(ups))
				}
			}
		}
	}
}

func TestAhoyDTUAvailability(t *testing.T) {
	tests := []struct {
		topic, payload string
		want           []Update
	}{
		{"inverter/balcony/available", "0", []Update{{Serial: "balcony", Availability: AvailabilityOffline}}},
		{"inverter/balcony/available", "1", []Update{{Serial: "balcony", Availability: AvailabilityOnline}}},
		{"inverter/balcony/available", "2", []Update{{Serial: "balcony", Availability: AvailabilityOnline}}},
		// 0.6.12+ publishes the InverterStatus enum (src/hm/hmInverter.h):
		// 3 WAS_PRODUCING still answers (dusk), 4 WAS_ON has not answered
		// for 5 minutes and is not available to the firmware itself.
		{"inverter/balcony/available", "3", []Update{{Serial: "balcony", Availability: AvailabilityOnline}}},
		{"inverter/balcony/available", "4", []Update{{Serial: "balcony", Availability: AvailabilityOffline}}},
		// DTU status 0: no inverter reachable; every device of the adapter.
		{"inverter/status", "0", []Update{{Availability: AvailabilityOffline}}},
		{"inverter/status", "1", nil},
		{"inverter/status", "2", nil},
		// The DTU's last will (firmware: setWill(<TOPIC>/mqtt, "not connected")).
		{"inverter/mqtt", "not connected", []Update{{Availability: AvailabilityOffline}}},
		{"inverter/mqtt", "connected", nil},
	}
	for _, tt := range tests {
		a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
		got, err := a.Decode(tt.topic, []byte(tt.payload))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Decode(%s, %q) = %s, %v; want %s", tt.topic, tt.payload, fmtUpdates(got), err, fmtUpdates(tt.want))
		}
	}
}

func TestAhoyDTUStatusOfflineReachesEveryInverter(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{a}, Discover: true, StaleAfter: time.Hour, Clock: &fakeClock{now: t0}})
	in.Accept(in.Process(msgsAt(t0, append(ahoyCycle("east", t0.Unix(), "71", "465.294"), ahoyCycle("west", t0.Unix(), "70", "400.1")...)...)))
	in.Accept(in.Process(msgsAt(t0, mqttMsg{"inverter/status", "0"})))
	devs := in.Devices()
	if len(devs) != 2 {
		t.Fatalf("devices = %v, want east and west", devs)
	}
	for _, d := range devs {
		if d.Online || d.Kind != gridmint.KindPVInverter || d.Energy == 0 {
			t.Errorf("%s: online=%v kind=%s energy=%v; want offline pv_inverter with energy", d.ID, d.Online, d.Kind, d.Energy)
		}
	}
}

func TestAhoyDTURejects(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		want                 gridmint.Reason
	}{
		{"power not a number", "inverter/balcony/ch0/P_AC", "abc", gridmint.ReasonMalformed},
		{"power nan", "inverter/balcony/ch0/P_AC", "nan", gridmint.ReasonNotFinite},
		{"power -inf", "inverter/balcony/ch0/P_AC", "-inf", gridmint.ReasonNotFinite},
		{"power hex float", "inverter/balcony/ch0/P_AC", "0x1p10", gridmint.ReasonMalformed},
		{"power huge exponent", "inverter/balcony/ch0/P_AC", "1e999", gridmint.ReasonAbsurd},
		{"yield total JSON", "inverter/balcony/ch0/YieldTotal", `{"v":1}`, gridmint.ReasonMalformed},
		{"yield total negative", "inverter/balcony/ch0/YieldTotal", "-1.5", gridmint.ReasonNegative},
		{"yield total huge", "inverter/balcony/ch0/YieldTotal", "1e30", gridmint.ReasonAbsurd},
		{"yield day nan", "inverter/balcony/ch0/YieldDay", "NaN", gridmint.ReasonNotFinite},
		{"available 5", "inverter/balcony/available", "5", gridmint.ReasonMalformed},
		{"available text", "inverter/balcony/available", "online", gridmint.ReasonMalformed},
		{"last_success float", "inverter/balcony/last_success", "1.5", gridmint.ReasonMalformed},
		{"last_success negative", "inverter/balcony/last_success", "-5", gridmint.ReasonMalformed},
		{"status odd", "inverter/status", "online", gridmint.ReasonMalformed},
		{"mqtt odd", "inverter/mqtt", "maybe", gridmint.ReasonMalformed},
		{"unknown DTU topic", "inverter/banana", "1", gridmint.ReasonUnknownTopic},
		{"unknown inverter topic", "inverter/balcony/banana", "1", gridmint.ReasonUnknownTopic},
		{"unknown channel field", "inverter/balcony/ch0/banana", "1", gridmint.ReasonUnknownTopic},
		{"channel out of range", "inverter/balcony/ch16/P_DC", "1", gridmint.ReasonUnknownTopic},
		{"JSON mode channel not JSON", "inverter/balcony/ch0", `{"P_AC":71`, gridmint.ReasonMalformed},
		{"JSON mode channel an array", "inverter/balcony/ch0", `[71]`, gridmint.ReasonWrongType},
		{"JSON mode channel null", "inverter/balcony/ch0", `null`, gridmint.ReasonWrongType},
		{"JSON mode power a string", "inverter/balcony/ch0", `{"P_AC":"71","YieldTotal":1}`, gridmint.ReasonWrongType},
		{"JSON mode power NaN", "inverter/balcony/ch0", `{"P_AC":nan,"YieldTotal":1}`, gridmint.ReasonNotFinite},
		{"JSON mode yield negative", "inverter/balcony/ch0", `{"P_AC":1,"YieldTotal":-1}`, gridmint.ReasonNegative},
		{"JSON mode ts a fraction", "inverter/balcony/ch0", `{"P_AC":1,"YieldTotal":1,"ts":1.5}`, gridmint.ReasonMalformed},
		{"JSON mode truncated by the firmware's 300-byte buffer", "inverter/balcony/ch0", ahoyJSONCh0(1672155690, "71", "465.294")[:120], gridmint.ReasonMalformed},
		{"unknown alarm topic", "inverter/balcony/alarm/x", "1", gridmint.ReasonUnknownTopic},
		{"unknown alarm part", "inverter/balcony/alarm/0/foo", "1", gridmint.ReasonUnknownTopic},
		{"unknown per-inverter topic", "inverter/balcony/radio_stats", "{}", gridmint.ReasonUnknownTopic},
		{"control character in the name", "inverter/bal\x01cony/ch0/P_AC", "1", gridmint.ReasonUnknownTopic},
		{"outside base", "solar/balcony/ch0/P_AC", "1", gridmint.ReasonUnknownTopic},
		{"the base itself", "inverter", "1", gridmint.ReasonUnknownTopic},
		{"oversized", "inverter/balcony/ch0/P_AC", strings.Repeat("1", 1025), gridmint.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
			ups, err := a.Decode(tt.topic, []byte(tt.payload))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s, %q) = %s, %v; want %q", tt.topic, tt.payload, fmtUpdates(ups), err, tt.want)
			}
			if de.Reason != tt.want {
				t.Errorf("reason = %q (%v), want %q", de.Reason, err, tt.want)
			}
		})
	}
}

func TestAhoyDTUIgnoresKnownTopics(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	for _, m := range []mqttMsg{
		{"inverter/comm_start", "1672123767"}, {"inverter/comm_stop", "1672155709"}, {"inverter/device", "AHOY-DTU"},
		{"inverter/uptime", "73630"}, {"inverter/version", "0.5.61"}, {"inverter/wifi_rssi", "-75"},
		{"inverter/total/P_AC", "141"}, {"inverter/total/YieldTotal", "930.588"},
		{"inverter/ctrl/limit/0", "600W"}, {"inverter/setup/set_time", "1672155690"},
		{"inverter/balcony/ack_pwr_limit", "true"}, {"inverter/balcony/ch1/Irradiation", "5.65"},
		{"inverter/balcony/ch0/Efficiency", "95.174"}, {"inverter/balcony/ch6/YieldTotal", "1"},
		// A zero-byte retained message clears a topic; it is not a value.
		{"inverter/balcony/ch0/P_AC", ""}, {"inverter/balcony/available", ""}, {"inverter/status", ""},
	} {
		ups, err := a.Decode(m.topic, []byte(m.payload))
		if err != nil || ups != nil {
			t.Errorf("Decode(%s, %q) = %s, %v; want ignored", m.topic, m.payload, fmtUpdates(ups), err)
		}
	}
}

func TestAhoyDTUBoundsInverters(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	for i := range maxAhoyInverters {
		if _, err := a.Decode("inverter/iv"+strconv.Itoa(i)+"/ch0/P_AC", []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Decode("inverter/one-too-many/ch0/P_AC", []byte("1"))
	var de *DecodeError
	if !errors.As(err, &de) || de.Reason != gridmint.ReasonUnknownDevice {
		t.Errorf("inverter %d: %v, want %s", maxAhoyInverters+1, err, gridmint.ReasonUnknownDevice)
	}
	// Known inverters go on.
	if _, err := a.Decode("inverter/iv0/ch0/YieldTotal", []byte("1")); err != nil {
		t.Errorf("a known inverter after the cap: %v", err)
	}
}

func TestAhoyDTUConfig(t *testing.T) {
	for base, want := range map[string]string{"": "inverter/#", "inverter": "inverter/#", "pv/ahoy/": "pv/ahoy/#", "pv/ahoy": "pv/ahoy/#"} {
		a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu", BaseTopic: base})
		if got := a.Subscriptions(); len(got) != 1 || got[0] != want {
			t.Errorf("base %q: Subscriptions() = %q, want [%s]", base, got, want)
		}
	}
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu", BaseTopic: "pv/ahoy/"})
	if ups, err := a.Decode("pv/ahoy/east/available", []byte("2")); err != nil || len(ups) != 1 {
		t.Errorf("custom base: %s, %v", fmtUpdates(ups), err)
	}
	tests := []struct {
		name string
		cfg  AdapterConfig
		want string // in the error
	}{
		{"wildcard base", AdapterConfig{BaseTopic: "inv/+"}, "base topic"},
		{"leading slash", AdapterConfig{BaseTopic: "/inverter"}, "base topic"},
		{"negative index", AdapterConfig{Inverters: map[string]int{"east": -1}}, `inverters["east"]: index -1`},
		{"index too big", AdapterConfig{Inverters: map[string]int{"east": 256}}, `inverters["east"]: index 256`},
		{"shared index", AdapterConfig{Inverters: map[string]int{"east": 0, "west": 0}}, `inverters["west"]: index 0 is also inverter "east"'s`},
		{"name with a slash", AdapterConfig{Inverters: map[string]int{"a/b": 0}}, `inverters["a/b"]`},
		{"reserved name", AdapterConfig{Inverters: map[string]int{"total": 0}}, "collides"},
		{"mappings", AdapterConfig{Mappings: []Mapping{{Topic: "x"}}}, "no mappings"},
	}
	for _, tt := range tests {
		tt.cfg.Dialect = "ahoydtu"
		_, err := NewAdapter(tt.cfg)
		if gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want invalid with %q", tt.name, err, tt.want)
		}
	}
}

func TestAhoyDTUCheckSerial(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
	for _, ok := range []string{"balcony", "HM-600", "Garage West", "ch0", "status"} {
		if err := CheckSerial(a, ok); err != nil {
			t.Errorf("CheckSerial(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "a+", "#", "x\ny", strings.Repeat("x", 65), "ctrl", "setup", "total", "\xff"} {
		if err := CheckSerial(a, bad); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("CheckSerial(%q) = %v, want invalid", bad, err)
		}
	}
}

func TestAhoyDTULimitCommand(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu", Inverters: map[string]int{"balcony": 0, "garage": 3}}).(PowerLimiter)
	tests := []struct {
		serial    string
		limit     gridmint.W
		wantTopic string
		wantBody  string
	}{
		{"balcony", 600, "inverter/ctrl/limit/0", "600W"},
		{"garage", 400.9, "inverter/ctrl/limit/3", "400W"}, // the firmware reads an integer
		{"garage", 30, "inverter/ctrl/limit/3", "30W"},
		{"garage", 6553, "inverter/ctrl/limit/3", "6553W"},
	}
	for _, tt := range tests {
		c, err := a.LimitCommand(tt.serial, tt.limit)
		if err != nil || c.Topic != tt.wantTopic || string(c.Payload) != tt.wantBody || c.QoS != 1 {
			t.Errorf("LimitCommand(%q, %v) = %s %q qos %d, %v; want %s %q qos 1", tt.serial, tt.limit, c.Topic, c.Payload, c.QoS, err, tt.wantTopic, tt.wantBody)
		}
	}

	c, err := a.LimitCommand("balcony", 600)
	if err != nil {
		t.Fatal(err)
	}
	if c.Confirm == nil || c.Confirm.Filter != "inverter/balcony/ack_pwr_limit" {
		t.Fatalf("confirmation %+v, want on inverter/balcony/ack_pwr_limit", c.Confirm)
	}
	for _, tt := range []struct {
		payload  string
		done     bool
		refusal  bool
		scenario string
	}{
		{"true", true, false, "accepted"},
		{" true\n", true, false, "accepted, with spaces"},
		{"false", true, true, "refused"},
		{"", false, false, "cleared retained topic"},
		{"80.000", false, false, "unrelated value"},
		// 0.8.106+ echoes the limit that was set, "%.1f" of powerLimit/10.
		{"600.0", true, false, "0.8.106+ ack of this limit"},
		{"600", true, false, "0.8.106+ ack without decimals"},
		{"599.9", false, false, "0.8.106+ ack of another limit"},
		{"60.0", false, false, "0.8.106+ ack of a relative limit"},
		{"nan", false, false, "not a number"},
	} {
		done, err := c.Confirm.Match(c.Confirm.Filter, []byte(tt.payload))
		if done != tt.done || (err != nil) != tt.refusal {
			t.Errorf("%s: Match(%q) = %v, %v; want done=%v refused=%v", tt.scenario, tt.payload, done, err, tt.done, tt.refusal)
		}
	}

	for _, bad := range []struct {
		serial string
		limit  gridmint.W
		want   string
	}{
		{"west", 600, "inverters config"},
		{"balcony", 29.9, "30..6553 W"},
		{"balcony", 0, "30..6553 W"},
		{"balcony", -5, "30..6553 W"},
		{"balcony", 6554, "30..6553 W"}, // ×10 no longer fits 16 bits
		{"balcony", 65535, "30..6553 W"},
		{"balcony", gridmint.W(math.NaN()), "30..6553 W"},
		{"a/b", 600, "ahoydtu serial"},
	} {
		_, err := a.LimitCommand(bad.serial, bad.limit)
		if gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("LimitCommand(%q, %v) = %v, want invalid with %q", bad.serial, bad.limit, err, bad.want)
		}
	}

	// Without an inverters config the error says what to add.
	none := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"}).(PowerLimiter)
	if _, err := none.LimitCommand("balcony", 600); err == nil || !strings.Contains(err.Error(), `inverters: {"balcony": <index>}`) {
		t.Errorf("no inverters config: %v", err)
	}
}

func TestAhoyDTULimitWhileDecoding(t *testing.T) {
	// Commands come from API goroutines while Decode runs: -race checks
	// they share nothing unguarded.
	a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu", Inverters: map[string]int{"balcony": 0}})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			c, err := a.(PowerLimiter).LimitCommand("balcony", gridmint.W(100+i))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = c.Confirm.Match(c.Confirm.Filter, []byte("true"))
		}
	}()
	for i := range 200 {
		for _, m := range ahoyCycle("balcony", int64(1672155690+5*i), "71", "465.294") {
			if _, err := a.Decode(m.topic, []byte(m.payload)); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
}

func init() {
	registerConformance("ahoydtu", func() conformance {
		return conformance{
			config: AdapterConfig{Inverters: map[string]int{"balcony": 0}},
			decode: []decodeFixture{
				{"connect and one poll (manual's sample values)", append(append([]mqttMsg{}, ahoyConnect...), ahoyCycle("balcony", 1672155690, "71.000", "465.294")...), []Update{
					{Serial: "balcony", Availability: AvailabilityOnline},
					{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)},
				}},
				{"two polls", append(ahoyCycle("balcony", 1672155690, "71.000", "465.294"), ahoyCycle("balcony", 1672155695, "72", "465.3")...), []Update{
					{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)},
					{Serial: "balcony", Measurement: ahoyMeas(1672155695, 72, 465_300_000)},
				}},
				{"0.8.156: every known topic, a poll, dusk (pubMqtt.h, pubMqttIvData.h)", append(append(append(ahoy08Known("balcony"),
					mqttMsg{"inverter/balcony/available", "2"}), ahoyCycle08("balcony", 1672155690, "71", "465.294")...),
					mqttMsg{"inverter/balcony/available", "3"}, mqttMsg{"inverter/balcony/available", "4"}), []Update{
					{Serial: "balcony", Availability: AvailabilityOnline},
					{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)},
					{Serial: "balcony", Availability: AvailabilityOnline},
					{Serial: "balcony", Availability: AvailabilityOffline},
				}},
				{"0.8.130+ JSON mode", []mqttMsg{
					{"inverter/balcony/last_success", "1672155690"},
					{"inverter/balcony/ch1", `{"U_DC":38.9,"I_DC":0.64,"P_DC":25,"YieldDay":17,"YieldTotal":110.819,"ts":1672155690}`},
					{"inverter/balcony/ch0", ahoyJSONCh0(1672155690, "71", "465.294")},
					{"inverter/total", `{"P_AC":71,"YieldTotal":465.294,"YieldDay":51,"P_DC":74.6,"MaxPower":800}`},
				}, []Update{{Serial: "balcony", Measurement: ahoyMeas(1672155690, 71, 465_294_000)}}},
			},
			offline:       []mqttMsg{{"inverter/status", "1"}, {"inverter/status", "0"}},
			offlineSerial: "",
			commands: []commandFixture{{
				serial: "balcony", setpoint: gridmint.Setpoint{Kind: gridmint.SetpointPowerLimit, Value: 600, Origin: gridmint.OriginMarket},
				wantTopic: "inverter/ctrl/limit/0", wantPayload: "600W",
				confirm: mqttMsg{"inverter/balcony/ack_pwr_limit", "true"},
				refuse:  mqttMsg{"inverter/balcony/ack_pwr_limit", "false"},
				other:   mqttMsg{"inverter/garage/ack_pwr_limit", "true"},
			}, {
				// 0.8.106+: the limit that was set, "%.1f" (pubMqtt.h setPowerLimitAck).
				serial: "balcony", setpoint: gridmint.Setpoint{Kind: gridmint.SetpointPowerLimit, Value: 400, Origin: gridmint.OriginMarket},
				wantTopic: "inverter/ctrl/limit/0", wantPayload: "400W",
				confirm: mqttMsg{"inverter/balcony/ack_pwr_limit", "400.0"},
				other:   mqttMsg{"inverter/balcony/ack_pwr_limit", "600.0"},
			}},
		}
	})
}

func FuzzAhoyDTUDecode(f *testing.F) {
	for _, m := range append(append([]mqttMsg{}, ahoyConnect...), ahoyCycle("balcony", 1672155690, "71.000", "465.294")...) {
		f.Add(strings.TrimPrefix(m.topic, "inverter/"), []byte(m.payload))
	}
	f.Add("status", []byte("0"))
	f.Add("mqtt", []byte("not connected"))
	f.Add("balcony/ch0/P_AC", []byte("nan"))
	f.Add("balcony/ch0/YieldDay", []byte("51"))
	f.Add("balcony/ch0", []byte(`{"P_AC":71}`))
	f.Add("balcony/ch0", []byte(ahoyJSONCh0(1672155690, "71", "465.294")))
	f.Add("balcony/available", []byte("4"))
	f.Add("balcony/ack_pwr_limit", []byte("600.0"))
	for _, m := range append(ahoy08Known("balcony"), ahoyCycle08("balcony", 1672155690, "71", "465.294")...) {
		f.Add(strings.TrimPrefix(m.topic, "inverter/"), []byte(m.payload))
	}
	f.Add("ctrl/limit/0", []byte("600W"))
	f.Fuzz(func(t *testing.T, sub string, payload []byte) {
		a := mustAdapter(t, AdapterConfig{Dialect: "ahoydtu"})
		// Prime an inverter so that completions are reachable.
		decodeAll(t, a, []mqttMsg{{"inverter/balcony/last_success", "100"}, {"inverter/balcony/ch0/P_AC", "5"}})
		ups, err := a.Decode("inverter/"+sub, payload)
		checkDecoded(t, ups, err)
		for _, u := range ups {
			if u.Serial != "" && CheckSerial(a, u.Serial) != nil {
				t.Fatalf("update for serial %q that CheckSerial refuses", u.Serial)
			}
		}
	})
}

// BenchmarkDecodeAhoyDTU measures the AhoyDTU decoder alone on full polls
// (26 topics, one reading each): readings/s.
func BenchmarkDecodeAhoyDTU(b *testing.B) {
	a := mustAdapter(b, AdapterConfig{Dialect: "ahoydtu"})
	polls := make([][]mqttMsg, 64)
	for i := range polls {
		polls[i] = ahoyCycle("balcony", int64(1_700_000_000+5*i), "123.4", "13."+strconv.Itoa(100+i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	readings := 0
	for i := 0; b.Loop(); i++ {
		for _, m := range polls[i%len(polls)] {
			ups, err := a.Decode(m.topic, []byte(m.payload))
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range ups {
				if u.Measurement != nil {
					readings++
				}
			}
		}
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
}
