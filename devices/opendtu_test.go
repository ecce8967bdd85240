package devices

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

type mqttMsg struct{ topic, payload string }

// openDTUCycle is one publish cycle of one inverter in the order the
// firmware sends it (status first, then channel 0 with power last), after
// the capture in wuan/mqtt-gateway src/data/opendtu/readme.md.
func openDTUCycle(serial string, lastUpdate int64, power, yieldTotalKWh string) []mqttMsg {
	p := "solar/" + serial + "/"
	return []mqttMsg{
		{p + "name", "HM-800"},
		{p + "status/reachable", "1"},
		{p + "status/producing", "1"},
		{p + "status/last_update", strconv.FormatInt(lastUpdate, 10)},
		{p + "status/limit_relative", "75.00"},
		{p + "status/limit_absolute", "600.00"},
		{p + "0/powerdc", "0.6"},
		{p + "0/yieldday", "216"},
		{p + "0/yieldtotal", yieldTotalKWh},
		{p + "0/voltage", "230.1"},
		{p + "0/current", "0.02"},
		{p + "0/frequency", "50.01"},
		{p + "0/power", power},
		{p + "0/efficiency", "0.000"},
		{p + "1/power", "0.6"},
		{p + "1/yieldtotal", "13.338"},
		{"solar/ac/power", power},
		{"solar/dtu/uptime", "2125105"},
	}
}

func decodeAll(t *testing.T, a Adapter, msgs []mqttMsg) []Update {
	t.Helper()
	var all []Update
	for _, m := range msgs {
		ups, err := a.Decode(m.topic, []byte(m.payload))
		if err != nil {
			t.Fatalf("Decode(%s, %q): %v", m.topic, m.payload, err)
		}
		all = append(all, ups...)
	}
	return all
}

func TestOpenDTUAssemblesOneMeasurementPerCycle(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"})
	got := decodeAll(t, a, openDTUCycle("114190641177", 1701271852, "123.4", "13.338"))
	src := time.Unix(1701271852, 0).UTC()
	want := []Update{
		{Serial: "114190641177", Name: "HM-800"},
		{Serial: "114190641177", Availability: AvailabilityOnline},
		{Serial: "114190641177", Measurement: meas(src, 123.4, 13_338_000)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("one cycle:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}

	// Next cycle: fields in another order still make one measurement.
	p := "solar/114190641177/"
	got = decodeAll(t, a, []mqttMsg{
		{p + "status/last_update", "1701271857"},
		{p + "0/power", "130"},
		{p + "0/yieldtotal", "13.339"},
	})
	want = []Update{{Serial: "114190641177", Measurement: meas(src.Add(5*time.Second), 130, 13_339_000)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("second cycle:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestOpenDTUNewLastUpdateDropsHalfSample(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"})
	p := "solar/1161/"
	got := decodeAll(t, a, []mqttMsg{
		{p + "status/last_update", "100"},
		{p + "0/power", "50"}, // yieldtotal of this cycle never arrives
		{p + "status/last_update", "105"},
		{p + "0/yieldtotal", "1.000"},
	})
	if len(got) != 0 {
		t.Fatalf("mixed a stale power into a new cycle: %s", fmtUpdates(got))
	}
	got = decodeAll(t, a, []mqttMsg{{p + "0/power", "60"}})
	want := []Update{{Serial: "1161", Measurement: meas(time.Unix(105, 0).UTC(), 60, 1_000_000)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %s, want %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestOpenDTUNeedsLastUpdate(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"})
	if got := decodeAll(t, a, []mqttMsg{{"solar/1161/0/power", "5"}, {"solar/1161/0/yieldtotal", "1.000"}}); len(got) != 0 {
		t.Errorf("values without last_update gave %s, want nothing", fmtUpdates(got))
	}
}

func TestOpenDTUSameSampleOneSecondOff(t *testing.T) {
	// The firmware computes last_update from millis(); a retained re-send of
	// the same sample can come one second off. It keeps its timestamp, so
	// the normaliser sees the duplicate.
	a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"})
	p := "solar/1161/"
	first := decodeAll(t, a, []mqttMsg{{p + "status/last_update", "100"}, {p + "0/power", "5"}, {p + "0/yieldtotal", "1.000"}})
	again := decodeAll(t, a, []mqttMsg{{p + "status/last_update", "101"}, {p + "0/power", "5"}, {p + "0/yieldtotal", "1.000"}})
	if len(first) != 1 || len(again) != 1 || !again[0].Measurement.SourceTime.Equal(first[0].Measurement.SourceTime) {
		t.Errorf("re-send one second off: first %s, again %s; want the same source time", fmtUpdates(first), fmtUpdates(again))
	}
	changed := decodeAll(t, a, []mqttMsg{{p + "status/last_update", "102"}, {p + "0/power", "6"}, {p + "0/yieldtotal", "1.000"}})
	if len(changed) != 1 || !changed[0].Measurement.SourceTime.Equal(time.Unix(102, 0).UTC()) {
		t.Errorf("new values one second later: %s, want source time 102", fmtUpdates(changed))
	}
}

func TestOpenDTUAvailability(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "opendtu", BaseTopic: "pv"})
	got := decodeAll(t, a, []mqttMsg{{"pv/dtu/status", "offline"}})
	if want := []Update{{Availability: AvailabilityOffline}}; !reflect.DeepEqual(got, want) {
		t.Errorf("dtu offline: got %s, want %s (every device of the adapter)", fmtUpdates(got), fmtUpdates(want))
	}
	if got := decodeAll(t, a, []mqttMsg{{"pv/dtu/status", "online"}}); len(got) != 0 {
		t.Errorf("dtu online: got %s, want nothing (inverters report reachability)", fmtUpdates(got))
	}
	got = decodeAll(t, a, []mqttMsg{{"pv/aa01/status/reachable", "0"}})
	if want := []Update{{Serial: "aa01", Availability: AvailabilityOffline}}; !reflect.DeepEqual(got, want) {
		t.Errorf("reachable 0: got %s, want %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestOpenDTURejects(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		want                 gridmint.Reason
	}{
		{"power not a number", "solar/1161/0/power", "abc", gridmint.ReasonMalformed},
		{"power as a hex float", "solar/1161/0/power", "0x1p10", gridmint.ReasonMalformed},
		{"power with a plus", "solar/1161/0/power", "+5", gridmint.ReasonMalformed},
		{"power with underscores", "solar/1161/0/power", "1_000", gridmint.ReasonMalformed},
		{"power nan", "solar/1161/0/power", "nan", gridmint.ReasonNotFinite},
		{"power -inf", "solar/1161/0/power", "-inf", gridmint.ReasonNotFinite},
		{"yieldtotal JSON", "solar/1161/0/yieldtotal", `{"v":1}`, gridmint.ReasonMalformed},
		{"yieldtotal huge", "solar/1161/0/yieldtotal", "1e30", gridmint.ReasonAbsurd},
		{"reachable 2", "solar/1161/status/reachable", "2", gridmint.ReasonMalformed},
		{"last_update negative", "solar/1161/status/last_update", "-5", gridmint.ReasonMalformed},
		{"last_update float", "solar/1161/status/last_update", "1.5", gridmint.ReasonMalformed},
		{"dtu status odd", "solar/dtu/status", "maybe", gridmint.ReasonMalformed},
		{"not a serial", "solar/kitchen/0/power", "1", gridmint.ReasonUnknownTopic},
		{"unknown field", "solar/1161/0/banana", "1", gridmint.ReasonUnknownTopic},
		{"outside base", "other/1161/0/power", "1", gridmint.ReasonUnknownTopic},
		{"oversized", "solar/1161/0/power", string(make([]byte, 300)), gridmint.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"})
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

func TestOpenDTUIgnoresKnownTopics(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"})
	for _, topic := range []string{"solar/dtu/ip", "solar/ac/yieldtotal", "solar/dc/is_valid", "solar/1161/cmd/limit_nonpersistent_absolute",
		"solar/1161/device/fwbuildversion", "solar/1161/2/irradiation", "solar/1161/status/limit_absolute", "solar/1161/0/yieldday"} {
		ups, err := a.Decode(topic, []byte("1"))
		if err != nil || ups != nil {
			t.Errorf("Decode(%s) = %s, %v; want ignored", topic, fmtUpdates(ups), err)
		}
	}
	// A zero-byte retained message clears a topic; it is not a value.
	if ups, err := a.Decode("solar/1161/0/power", nil); err != nil || ups != nil {
		t.Errorf("empty payload = %s, %v; want ignored", fmtUpdates(ups), err)
	}
}

func TestOpenDTULimitCommand(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"}).(PowerLimiter)
	c, err := a.LimitCommand("116181234567", 600.7)
	if err != nil || c.Topic != "solar/116181234567/cmd/limit_nonpersistent_absolute" || string(c.Payload) != "600" {
		t.Errorf("LimitCommand = %s %q, %v; want solar/116181234567/cmd/limit_nonpersistent_absolute \"600\"", c.Topic, c.Payload, err)
	}
	for _, bad := range []gridmint.W{-1, 65536, 1e19} {
		if _, err := a.LimitCommand("116181234567", bad); err == nil {
			t.Errorf("limit %v W accepted", bad)
		}
	}
	if _, err := a.LimitCommand("not-hex", 1); err == nil {
		t.Error("bad serial accepted")
	}
}

func FuzzOpenDTUDecode(f *testing.F) {
	for _, m := range openDTUCycle("114190641177", 1701271852, "123.4", "13.338") {
		f.Add(m.topic[len("solar/"):], []byte(m.payload))
	}
	f.Add("dtu/status", []byte("offline"))
	f.Add("1161/0/power", []byte("nan"))
	f.Fuzz(func(t *testing.T, sub string, payload []byte) {
		a := mustAdapter(t, AdapterConfig{Dialect: "opendtu"})
		// Prime an inverter so completions are reachable.
		decodeAll(t, a, []mqttMsg{{"solar/1161/status/last_update", "100"}, {"solar/1161/0/power", "5"}})
		ups, err := a.Decode("solar/"+sub, payload)
		checkDecoded(t, ups, err)
	})
}
