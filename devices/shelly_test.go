package devices

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// Captures from shared/payloads/shelly.md, quoted exactly. They are
// third-party captures (see the Sources there), not Shelly's own docs.
// Those captured as members of a status object ("<component>":{...}) are
// quoted one member each, without the separating comma; shellyFrame and
// shellyMembers wrap them into what the firmware publishes.
const (
	// <device>/status/switch:0 of a 1PM Mini Gen3.
	shelly1PMMiniGen3Status = `{"id":0, "source":"HTTP_in", "output":true, "apower":25.7, "voltage":239.7, "freq":50.2, "current":0.188, "aenergy":{"total":913.252,"by_minute":[404.631,404.631,404.631],"minute_ts":1782936360}, "ret_aenergy":{"total":0.000,"by_minute":[0.000,0.000,0.000],"minute_ts":1782936360},"temperature":{"tC":68.1, "tF":154.6}}`
	// switch:0 of a Plus 2PM, inside Shelly.GetStatus.
	shellyPlus2PMSwitch0 = `"switch:0":{"id":0, "source":"MQTT", "output":false, "apower":0.0, "voltage":237.0, "freq":50.0, "current":0.000, "pf":0.00, "aenergy":{"total":62758.285,"by_minute":[0.000,0.000,0.000],"minute_ts":1709223337},"temperature":{"tC":35.5, "tF":96.0}}`
	// switch:0 of a Plug US in the Shelly.GetStatus reply of the RPC log.
	shellyPlugUSSwitch0 = `"switch:0":{"id":0, "source":"loopback", "output":true, "apower":10.7, "voltage":120.7, "current":0.133,
      "aenergy":{"total":46791.262,"by_minute":[73.921,177.749,177.749],"minute_ts":1682952864},
      "temperature":{"tC":47.9, "tF":118.3}}`
	// Pro 3EM, triphase profile, US split-phase site.
	shellyPro3EMTriEM     = `"em:0":{"id":0,"a_current":3.761,"a_voltage":121.7,"a_act_power":342.8,"a_aprt_power":457.5,"a_pf":-0.80,"b_current":8.109,"b_voltage":121.0,"b_act_power":957.3,"b_aprt_power":980.7,"b_pf":-0.98,"c_current":0.025,"c_voltage":121.7,"c_act_power":0.2,"c_aprt_power":3.1,"c_pf":-1.00,"n_current":null,"total_current":11.896,"total_act_power":1300.252,"total_aprt_power":1441.226, "user_calibrated_phase":[]}`
	shellyPro3EMTriEMData = `"emdata:0":{"id":0,"a_total_act_energy":1075513.08,"a_total_act_ret_energy":0.00,"b_total_act_energy":1776542.72,"b_total_act_ret_energy":0.00,"c_total_act_energy":0.01,"c_total_act_ret_energy":0.00,"total_act":2852055.81, "total_act_ret":0.00}`
	// Pro 3EM, monophase profile.
	shellyPro3EMMonoEM10     = `"em1:0":{"id":0,"current":3.705,"voltage":242.8,"act_power":598.9,"aprt_power":900.6,"pf":0.66,"freq":50.0,"calibration":"factory"}`
	shellyPro3EMMonoEM11     = `"em1:1":{"id":1,"current":0.194,"voltage":242.8,"act_power":0.0,"aprt_power":47.2,"pf":0.00,"freq":50.0,"calibration":"factory"}`
	shellyPro3EMMonoEM1Data0 = `"em1data:0":{"id":0,"total_act_energy":3458.24,"total_act_ret_energy":1605.24}`
	shellyPro3EMMonoEM1Data1 = `"em1data:1":{"id":1,"total_act_energy":2768.67,"total_act_ret_energy":25.49}`
	// NotifyStatus params with em1data; the capture ends without the
	// closing brace of params (truncated in the notes), shellyFrame adds it.
	shellyNotifyEM1Data = `{"ts":1738256760.23,"em1data:0":{"id":0,"total_act_energy":6737.72,"total_act_ret_energy":1.78}`
	// Switch.Set as Home Assistant sends it (HA gist).
	shellyHASwitchSet = `{"id": 1, "src":"homeassistant", "method": "Switch.Set", "params": {"id": 0, "on": true} }`
)

// pm1:0 of a PM Mini Gen3 in Shelly.GetStatus, quoted from evcc-io/evcc's
// charger/shelly test (MIT licence); field names and units as in Shelly's
// PM1 component doc (apower W, aenergy.total and ret_aenergy.total Wh).
const shellyPMMiniGen3PM1 = `"pm1:0":{"id":0, "voltage":239.9, "current":7.434, "apower":1780.1 ,"freq":50.1,"aenergy":{"total":3551.682,"by_minute":[15234.772,29611.247,29825.821],"minute_ts":1719917850},"ret_aenergy":{"total":0.000,"by_minute":[0.000,0.000,0.000],"minute_ts":1719917850}}`

// shellyPM is the PM Mini Gen3's default prefix (the capture's MAC).
const shellyPM = "shellypmminig3-84fce638d818"

const (
	shellyPlug  = "shellyplusplugs-aabbccddeeff"
	shelly3EM   = "shellypro3em-ec6260890b50"
	shellyEMTS  = 1738256760 // the em1data capture's ts, whole seconds
	shellyTopic = shellyPlug + "/events/rpc"
)

// shellyFrame is an events/rpc notification in the documented frame shape
// around params.
func shellyFrame(src, method, params string) string {
	return `{"src":"` + src + `","dst":"` + src + `/events","method":"` + method + `","params":` + params + `}`
}

// shellyMembers makes a params object of ts (none if "") and members.
func shellyMembers(ts string, members ...string) string {
	if ts != "" {
		members = append([]string{`"ts":` + ts}, members...)
	}
	return "{" + strings.Join(members, ",") + "}"
}

// shellyValueOf is the value of a captured member "<component>":{...}.
func shellyValueOf(member string) string {
	_, v, _ := strings.Cut(member, `":`)
	return v
}

func shellyLife(v gridmint.MWh) *Counter { return &Counter{Value: v, Kind: gridmint.CounterLifetime} }

func shellyW(p gridmint.W) *gridmint.W { return &p }

func shellyMeterCaps() []gridmint.Capability {
	return []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy, gridmint.CapAvailability}
}

func shellySwitchUpdate(serial string, m *Measurement) Update {
	return Update{Serial: serial, Kind: gridmint.KindPlug, Measurement: m}
}

// shellyPM1Update: a pm1 is a plug without a relay.
func shellyPM1Update(serial string, m *Measurement) Update {
	return Update{Serial: serial, Kind: gridmint.KindPlug, Capabilities: shellyMeterCaps(), Measurement: m}
}

func shellyMeterUpdate(serial string, m *Measurement) Update {
	return Update{Serial: serial, Kind: gridmint.KindMeter, Capabilities: shellyMeterCaps(), Measurement: m}
}

// shellyTS is the time of a ts literal of the em1data capture's second.
func shellyTS(frac time.Duration) time.Time { return time.Unix(shellyEMTS, 0).UTC().Add(frac) }

func TestShellyDecode(t *testing.T) {
	emTS := shellyTS(230 * time.Millisecond)
	tests := []struct {
		name, topic, payload string
		want                 []Update
	}{
		{"status/switch:0 of a 1PM Mini Gen3: Wh totals, by_minute ignored", shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status, []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{Power: shellyW(25.7), Forward: shellyLife(913_252), Reverse: shellyLife(0)}),
		}},
		{"PM Mini Gen3 status/pm1:0: read like a switch", shellyPM + "/status/pm1:0", shellyValueOf(shellyPMMiniGen3PM1), []Update{
			shellyPM1Update(shellyPM+":pm1:0", &Measurement{Power: shellyW(1780.1), Forward: shellyLife(3_551_682), Reverse: shellyLife(0)}),
		}},
		{"PM Mini Gen3 in NotifyFullStatus", shellyPM + "/events/rpc", shellyFrame(shellyPM, "NotifyFullStatus", shellyMembers("1719917851", shellyPMMiniGen3PM1)), []Update{
			shellyPM1Update(shellyPM+":pm1:0", &Measurement{SourceTime: time.Unix(1719917851, 0).UTC(), Power: shellyW(1780.1), Forward: shellyLife(3_551_682), Reverse: shellyLife(0)}),
		}},
		{"pm1 returning energy: negative power, ret_aenergy is the reverse counter", shellyPM + "/events/rpc", shellyFrame(shellyPM, "NotifyStatus",
			`{"ts":1719917911.02,"pm1:0":{"id":0,"apower":-412.3,"ret_aenergy":{"total":12.345,"by_minute":[6871.5,0.000,0.000],"minute_ts":1719917880}}}`), []Update{
			shellyPM1Update(shellyPM+":pm1:0", &Measurement{SourceTime: time.Unix(1719917911, 2e7).UTC(), Power: shellyW(-412.3), Reverse: shellyLife(12_345)}),
		}},
		{"Plus 2PM switch without ret_aenergy", "shellyplus2pm-1/events/rpc", shellyFrame("shellyplus2pm-1", "NotifyFullStatus", shellyMembers("", shellyPlus2PMSwitch0)), []Update{
			shellySwitchUpdate("shellyplus2pm-1:switch:0", &Measurement{Power: shellyW(0), Forward: shellyLife(62_758_285)}),
		}},
		{"Plug US from the RPC log, multi-line", "shellyplugus-083af2018c80/events/rpc", shellyFrame("shellyplugus-083af2018c80", "NotifyFullStatus", shellyMembers("1682952864.5", shellyPlugUSSwitch0)), []Update{
			shellySwitchUpdate("shellyplugus-083af2018c80:switch:0", &Measurement{SourceTime: time.Unix(1682952864, 5e8).UTC(), Power: shellyW(10.7), Forward: shellyLife(46_791_262)}),
		}},
		{"Pro 3EM triphase: em and emdata are one meter; pf < 0 does not flip the sign", shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyFullStatus", shellyMembers("", shellyPro3EMTriEM, shellyPro3EMTriEMData)), []Update{
			shellyMeterUpdate(shelly3EM+":em:0", &Measurement{Power: shellyW(1300.252), Forward: shellyLife(2_852_055_810), Reverse: shellyLife(0)}),
		}},
		{"Pro 3EM monophase: one meter per em1", shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyFullStatus", shellyMembers("", shellyPro3EMMonoEM10, shellyPro3EMMonoEM11, shellyPro3EMMonoEM1Data0, shellyPro3EMMonoEM1Data1)), []Update{
			shellyMeterUpdate(shelly3EM+":em1:0", &Measurement{Power: shellyW(598.9), Forward: shellyLife(3_458_240), Reverse: shellyLife(1_605_240)}),
			shellyMeterUpdate(shelly3EM+":em1:1", &Measurement{Power: shellyW(0), Forward: shellyLife(2_768_670), Reverse: shellyLife(25_490)}),
		}},
		{"NotifyStatus em1data: counters alone, stamped with ts", shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyStatus", shellyNotifyEM1Data+"}"), []Update{
			shellyMeterUpdate(shelly3EM+":em1:0", &Measurement{SourceTime: emTS, Forward: shellyLife(6_737_720), Reverse: shellyLife(1_780)}),
		}},
		{"status/em:0 alone", shelly3EM + "/status/em:0", shellyValueOf(shellyPro3EMTriEM), []Update{
			shellyMeterUpdate(shelly3EM+":em:0", &Measurement{Power: shellyW(1300.252)}),
		}},
		{"status/emdata:0 alone", shelly3EM + "/status/emdata:0", shellyValueOf(shellyPro3EMTriEMData), []Update{
			shellyMeterUpdate(shelly3EM+":em:0", &Measurement{Forward: shellyLife(2_852_055_810), Reverse: shellyLife(0)}),
		}},
		{"status/em1data:1 alone", shelly3EM + "/status/em1data:1", shellyValueOf(shellyPro3EMMonoEM1Data1), []Update{
			shellyMeterUpdate(shelly3EM+":em1:1", &Measurement{Forward: shellyLife(2_768_670), Reverse: shellyLife(25_490)}),
		}},
		{"export is negative power", shelly3EM + "/status/em1:0", `{"id":0,"act_power":-812.5,"pf":0.97}`, []Update{
			shellyMeterUpdate(shelly3EM+":em1:0", &Measurement{Power: shellyW(-812.5)}),
		}},
		{"ts without a fraction", shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256760,"switch:0":{"apower":1}}`), []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{SourceTime: shellyTS(0), Power: shellyW(1)}),
		}},
		{"ts with nanoseconds", shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256760.123456789,"switch:0":{"apower":1}}`), []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{SourceTime: shellyTS(123456789), Power: shellyW(1)}),
		}},
		{"ts as an exponent", shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1.73825676e9,"switch:0":{"apower":1}}`), []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{SourceTime: time.Unix(1738256760, 0).UTC(), Power: shellyW(1)}),
		}},
		{"a negative ts is no clock reading; the data stays", shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":-5,"switch:0":{"apower":1}}`), []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{Power: shellyW(1)}),
		}},
		{"a null ts is none", shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":null,"switch:0":{"apower":1}}`), []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{Power: shellyW(1)}),
		}},
		{"nan in a field not read does not lose the power", shellyPlug + "/status/switch:0", `{"id":0,"apower":3.5,"pf":nan}`, []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{Power: shellyW(3.5)}),
		}},
		{"counter in exponent form", shellyPlug + "/status/switch:0", `{"aenergy":{"total":1.5e3}}`, []Update{
			shellySwitchUpdate(shellyPlug+":switch:0", &Measurement{Forward: shellyLife(1_500_000)}),
		}},
		{"a switch without metering (Plus 1) is no device", "shellyplus1-1/status/switch:0", `{"id":0, "source":"init", "output":false, "temperature":{"tC":53.3, "tF":127.9}}`, nil},
		{"status/sys is ignored", shellyPlug + "/status/sys", `{"mac":"AABBCCDDEEFF","restart_required":false}`, nil},
		{"status/input:0 is ignored", shellyPlug + "/status/input:0", `{"id":0,"state":null}`, nil},
		{"NotifyEvent is ignored", shellyTopic, shellyFrame(shellyPlug, "NotifyEvent", `{"ts":1738256760.23,"events":[{"component":"input:0","id":0,"event":"single_push","ts":1738256760.23}]}`), nil},
		{"a metered type without an id is no component", shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256760.23,"switch":{"apower":1}}`), nil},
		{"NotifyStatus of other components only", shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256760.23,"wifi":{"rssi":-60},"sys":{"uptime":5}}`), nil},
		{"online speaks for the prefix's group", shellyPlug + "/online", "true", []Update{{Group: shellyPlug, Availability: AvailabilityOnline}}},
		{"empty retained payload clears a topic", shellyPlug + "/status/switch:0", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
			got, err := a.Decode(tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.topic, err)
			}
			checkDecoded(t, got, nil)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%s)\n got %s %s\nwant %s %s", tt.topic, fmtUpdates(got), shellyKinds(got), fmtUpdates(tt.want), shellyKinds(tt.want))
			}
		})
	}
}

// shellyKinds shows what fmtUpdates leaves out.
func shellyKinds(ups []Update) string {
	parts := make([]string, len(ups))
	for i, u := range ups {
		parts[i] = fmt.Sprintf("%s/%v", u.Kind, u.Capabilities)
	}
	return "kinds" + fmt.Sprint(parts)
}

func TestShellyMergesPartialUpdates(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	plug := shellyPlug + ":switch:0"
	meter := shelly3EM + ":em:0"
	notify := func(prefix, params string) mqttMsg {
		return mqttMsg{prefix + "/events/rpc", shellyFrame(prefix, "NotifyStatus", params)}
	}
	steps := []struct {
		name string
		msg  mqttMsg
		want []Update
	}{
		{"power alone is worth a measurement", notify(shellyPlug, `{"ts":1738256760.00,"switch:0":{"id":0,"apower":12.5}}`),
			[]Update{shellySwitchUpdate(plug, &Measurement{SourceTime: shellyTS(0), Power: shellyW(12.5)})}},
		{"the counter joins the known power", notify(shellyPlug, `{"ts":1738256761.00,"switch:0":{"id":0,"aenergy":{"total":913.252,"by_minute":[404.631,404.631,404.631],"minute_ts":1738256760}}}`),
			[]Update{shellySwitchUpdate(plug, &Measurement{SourceTime: shellyTS(time.Second), Power: shellyW(12.5), Forward: shellyLife(913_252)})}},
		{"a change of something else only says the device is alive", notify(shellyPlug, `{"ts":1738256762.00,"switch:0":{"id":0,"temperature":{"tC":40.1,"tF":104.2}}}`),
			[]Update{{Serial: plug}}},
		{"a full status overlays every value, without a time", mqttMsg{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status},
			[]Update{shellySwitchUpdate(plug, &Measurement{Power: shellyW(25.7), Forward: shellyLife(913_252), Reverse: shellyLife(0)})}},
		{"the same status again (status_ntf and rpc_ntf both on) changes nothing", mqttMsg{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status},
			[]Update{{Serial: plug}}},
		{"switched off", notify(shellyPlug, `{"ts":1738256763.00,"switch:0":{"id":0,"output":false,"apower":0.0,"current":0.000}}`),
			[]Update{shellySwitchUpdate(plug, &Measurement{SourceTime: shellyTS(3 * time.Second), Power: shellyW(0), Forward: shellyLife(913_252), Reverse: shellyLife(0)})}},
		{"meter power, export", notify(shelly3EM, `{"ts":1738256760.00,"em:0":{"id":0,"a_act_power":-512.3,"total_act_power":-512.3}}`),
			[]Update{shellyMeterUpdate(meter, &Measurement{SourceTime: shellyTS(0), Power: shellyW(-512.3)})}},
		{"emdata joins em", notify(shelly3EM, `{"ts":1738256820.00,"emdata:0":{"id":0,"total_act":2852055.81,"total_act_ret":12.50}}`),
			[]Update{shellyMeterUpdate(meter, &Measurement{SourceTime: shellyTS(time.Minute), Power: shellyW(-512.3), Forward: shellyLife(2_852_055_810), Reverse: shellyLife(12_500)})}},
		{"a second frame of the same instant goes out without its time", notify(shelly3EM, `{"ts":1738256820.00,"em:0":{"id":0,"total_act_power":-498.0}}`),
			[]Update{shellyMeterUpdate(meter, &Measurement{Power: shellyW(-498), Forward: shellyLife(2_852_055_810), Reverse: shellyLife(12_500)})}},
		{"devices of one frame come out in order", notify(shellyPlug, `{"ts":1738256830.00,"switch:1":{"apower":2},"switch:0":{"apower":1},"sys":{"uptime":9}}`), []Update{
			shellySwitchUpdate(plug, &Measurement{SourceTime: shellyTS(70 * time.Second), Power: shellyW(1), Forward: shellyLife(913_252), Reverse: shellyLife(0)}),
			shellySwitchUpdate(shellyPlug+":switch:1", &Measurement{SourceTime: shellyTS(70 * time.Second), Power: shellyW(2)}),
		}},
	}
	for _, s := range steps {
		got, err := a.Decode(s.msg.topic, []byte(s.msg.payload))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !reflect.DeepEqual(got, s.want) {
			t.Fatalf("%s:\n got %s %s\nwant %s %s", s.name, fmtUpdates(got), shellyKinds(got), fmtUpdates(s.want), shellyKinds(s.want))
		}
	}
}

func TestShellyRejectedMessageLeavesStateAlone(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	bad := shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256760.00,"switch:0":{"apower":5},"switch:1":{"apower":"x"}}`)
	if ups, err := a.Decode(shellyTopic, []byte(bad)); err == nil {
		t.Fatalf("a bad switch:1 was accepted: %s", fmtUpdates(ups))
	}
	// switch:0's power was not merged: a temperature change is still no device.
	got, err := a.Decode(shellyTopic, []byte(shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256761.00,"switch:0":{"temperature":{"tC":40}}}`)))
	if err != nil || got != nil {
		t.Errorf("after a rejected message: %s, %v; want nothing", fmtUpdates(got), err)
	}
	// A merged device keeps its values through a rejected message.
	decodeAll(t, a, []mqttMsg{{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status}})
	if _, err := a.Decode(shellyPlug+"/status/switch:0", []byte(`{"apower":99,"aenergy":{"total":-1}}`)); err == nil {
		t.Fatal("negative total accepted")
	}
	got = decodeAll(t, a, []mqttMsg{{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status}})
	if want := []Update{{Serial: shellyPlug + ":switch:0"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("state changed by a rejected message: %s, want %s", fmtUpdates(got), fmtUpdates(want))
	}
}

// TestShellyAvailability: <prefix>/online marks every known device of
// the prefix, through Ingest, also after a restart when the fresh decoder
// has not seen them (the retained online comes first); devices of other
// prefixes and unknown prefixes are untouched.
func TestShellyAvailability(t *testing.T) {
	clk := &fakeClock{now: t0}
	stored := map[gridmint.DeviceID]CounterState{}
	start := func(known []gridmint.Device) *Ingest {
		return newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, AdapterConfig{Dialect: "shelly"})}, Discover: true,
			StaleAfter: time.Hour, Clock: clk, Known: known, States: maps.Clone(stored)})
	}
	feed := func(in *Ingest, msgs ...mqttMsg) *Outcome {
		o := in.Process(msgsAt(clk.Now(), msgs...))
		maps.Copy(stored, o.States)
		in.Accept(o)
		return o
	}
	online := func(in *Ingest) map[string]bool {
		out := map[string]bool{}
		for _, d := range in.Devices() {
			out[d.Serial] = d.Online
		}
		return out
	}
	in := start(nil)
	feed(in,
		mqttMsg{shellyPlug + "/status/switch:1", `{"apower":1}`},
		mqttMsg{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status},
		mqttMsg{shellyPlug + "/status/switch:2", `{"output":true}`}, // no metering: no device
		mqttMsg{shelly3EM + "/status/em:0", shellyValueOf(shellyPro3EMTriEM)},
	)
	var known []gridmint.Device
	for _, d := range in.Devices() {
		known = append(known, d.Device)
	}
	plug0, plug1, meter := shellyPlug+":switch:0", shellyPlug+":switch:1", shelly3EM+":em:0"
	tests := []struct {
		name    string
		in      *Ingest
		topic   string
		payload string
		want    map[string]bool
	}{
		{"plug offline", in, shellyPlug + "/online", "false", map[string]bool{plug0: false, plug1: false, meter: true}},
		{"plug online again", in, shellyPlug + "/online", " true\n", map[string]bool{plug0: true, plug1: true, meter: true}},
		{"meter offline", in, shelly3EM + "/online", "false", map[string]bool{plug0: true, plug1: true, meter: false}},
		{"unknown prefix", in, "shellyplus1-unknown/online", "false", map[string]bool{plug0: true, plug1: true, meter: false}},
		{"after a restart, the retained online false first", start(known), shellyPlug + "/online", "false", map[string]bool{plug0: false, plug1: false, meter: true}},
	}
	for _, tt := range tests {
		clk.Set(clk.Now().Add(time.Second))
		o := feed(tt.in, mqttMsg{tt.topic, tt.payload})
		if len(o.Rejections) > 0 {
			t.Fatalf("%s: %v", tt.name, o.Rejections)
		}
		if got := online(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: online %v, want %v", tt.name, got, tt.want)
		}
	}
	// What was stored last (everything offline by now): a restart keeps it.
	if got, want := online(start(known)), map[string]bool{plug0: false, plug1: false, meter: false}; !reflect.DeepEqual(got, want) {
		t.Errorf("restarted: online %v, want %v", got, want)
	}
}

func TestShellyRejects(t *testing.T) {
	const (
		st  = shellyPlug + "/status/switch:0"
		ntf = shellyTopic
	)
	notify := func(params string) string { return shellyFrame(shellyPlug, "NotifyStatus", params) }
	nineSwitches := make([]string, 9)
	for i := range nineSwitches {
		nineSwitches[i] = fmt.Sprintf(`"switch:%d":{"apower":1}`, i)
	}
	tests := []struct {
		name, topic, payload string
		want                 gridmint.Reason
	}{
		{"status not JSON", st, `{"apower":`, gridmint.ReasonMalformed},
		{"binary garbage", shelly3EM + "/status/em:0", "\x00\xff\x13", gridmint.ReasonMalformed},
		{"notification not JSON", ntf, `{"method":"NotifyStatus","params":{`, gridmint.ReasonMalformed},
		{"notification without method", ntf, `{"id":1,"result":{}}`, gridmint.ReasonMalformed},
		{"method is a number", ntf, `{"method":5,"params":{}}`, gridmint.ReasonWrongType},
		{"params is an array", ntf, `{"method":"NotifyStatus","params":[1]}`, gridmint.ReasonWrongType},
		{"NotifyStatus without params", ntf, `{"method":"NotifyStatus"}`, gridmint.ReasonWrongType},
		{"ts is a string", ntf, notify(`{"ts":"1738256760.23","switch:0":{"apower":1}}`), gridmint.ReasonWrongType},
		{"component is a number", ntf, notify(`{"ts":1738256760.23,"switch:0":5}`), gridmint.ReasonWrongType},
		{"component is null", ntf, notify(`{"em1data:0":null}`), gridmint.ReasonWrongType},
		{"status is an array", st, `[1,2]`, gridmint.ReasonWrongType},
		{"apower is a string", st, `{"apower":"25.7"}`, gridmint.ReasonWrongType},
		{"apower is a bool", st, `{"apower":true}`, gridmint.ReasonWrongType},
		{"aenergy is a number", st, `{"apower":1,"aenergy":913.252}`, gridmint.ReasonWrongType},
		{"aenergy.total is a string", st, `{"aenergy":{"total":"913.252"}}`, gridmint.ReasonWrongType},
		{"total_act_power nan", shelly3EM + "/status/em:0", `{"total_act_power":nan}`, gridmint.ReasonNotFinite},
		{"apower null", st, `{"apower":null}`, gridmint.ReasonNotFinite},
		{"aenergy.total NaN", st, `{"aenergy":{"total":NaN}}`, gridmint.ReasonNotFinite},
		{"total_act -inf", ntf, notify(`{"emdata:0":{"total_act":-inf}}`), gridmint.ReasonNotFinite},
		{"negative aenergy.total", st, `{"aenergy":{"total":-0.5}}`, gridmint.ReasonNegative},
		{"negative total_act_ret_energy", ntf, notify(`{"em1data:1":{"total_act_energy":1,"total_act_ret_energy":-25.49}}`), gridmint.ReasonNegative},
		{"total beyond 1 GWh", ntf, notify(`{"emdata:0":{"total_act":1000000000.001}}`), gridmint.ReasonAbsurd},
		{"total beyond int64 mWh", st, `{"aenergy":{"total":1e300}}`, gridmint.ReasonAbsurd},
		{"power beyond 1 MW", st, `{"apower":1000001}`, gridmint.ReasonAbsurd},
		{"power 1e999", ntf, notify(`{"em1:0":{"act_power":1e999}}`), gridmint.ReasonAbsurd},
		{"nine metered devices in one frame", ntf, notify(shellyMembers("1738256760.23", nineSwitches...)), gridmint.ReasonMalformed},
		{"oversized status", st, `{"apower":1,"x":"` + strings.Repeat("a", MaxPayload) + `"}`, gridmint.ReasonMalformed},
		{"online maybe", shellyPlug + "/online", "maybe", gridmint.ReasonMalformed},
		{"online as a string", shellyPlug + "/online", `"true"`, gridmint.ReasonMalformed},
		{"unknown topic under the prefix", shellyPlug + "/announce", "{}", gridmint.ReasonUnknownTopic},
		{"rpc requests are not telemetry", shellyPlug + "/rpc", "{}", gridmint.ReasonUnknownTopic},
		{"status without a component", shellyPlug + "/status", "{}", gridmint.ReasonUnknownTopic},
		{"component with a bad id", shellyPlug + "/status/switch:x", "{}", gridmint.ReasonUnknownTopic},
		{"component with a leading zero", shellyPlug + "/status/switch:01", "{}", gridmint.ReasonUnknownTopic},
		{"component in upper case", shellyPlug + "/status/Switch:0", "{}", gridmint.ReasonUnknownTopic},
		{"component id too big", shellyPlug + "/status/switch:99999", "{}", gridmint.ReasonUnknownTopic},
		{"status one level too deep", shellyPlug + "/status/switch:0/x", "{}", gridmint.ReasonUnknownTopic},
		{"metered component without an id", shellyPlug + "/status/switch", "{}", gridmint.ReasonUnknownTopic},
		{"unknown topic with an empty payload", shellyPlug + "/announce", "", gridmint.ReasonUnknownTopic},
		{"empty prefix", "/online", "true", gridmint.ReasonUnknownTopic},
		{"prefix too long", strings.Repeat("p", maxShellyPrefix+1) + "/online", "true", gridmint.ReasonUnknownTopic},
		{"control character in prefix", "plug\x01/online", "true", gridmint.ReasonUnknownTopic},
		{"invalid UTF-8 in prefix", "plug\xff/online", "true", gridmint.ReasonUnknownTopic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
			ups, err := a.Decode(tt.topic, []byte(tt.payload))
			checkDecoded(t, ups, err)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s, %q) = %s, %v; want a DecodeError %q", tt.topic, truncate([]byte(tt.payload)), fmtUpdates(ups), err, tt.want)
			}
			if de.Reason != tt.want {
				t.Errorf("Decode(%s, %q) reason = %q (%v), want %q", tt.topic, truncate([]byte(tt.payload)), de.Reason, err, tt.want)
			}
		})
	}
}

func TestShellyDeviceCap(t *testing.T) {
	const maxShellyDevices = 4
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly", MaxDevices: maxShellyDevices})
	for i := range maxShellyDevices {
		if _, err := a.Decode(fmt.Sprintf("plug%d/status/switch:0", i), []byte(`{"apower":1}`)); err != nil {
			t.Fatalf("device %d: %v", i, err)
		}
	}
	_, err := a.Decode("one-too-many/status/switch:0", []byte(`{"apower":1}`))
	var de *DecodeError
	if !errors.As(err, &de) || de.Reason != gridmint.ReasonUnknownDevice || de.Limit != maxShellyDevices {
		t.Fatalf("device beyond the cap: %v, want %s at the cap", err, gridmint.ReasonUnknownDevice)
	}
	// Known devices go on; messages that add no device are no problem.
	if ups, err := a.Decode("plug3/status/switch:0", []byte(`{"apower":2}`)); err != nil || len(ups) != 1 || ups[0].Measurement == nil {
		t.Errorf("known device at the cap: %s, %v", fmtUpdates(ups), err)
	}
	if ups, err := a.Decode("one-too-many/status/switch:0", []byte(`{"output":true}`)); err != nil || ups != nil {
		t.Errorf("unmetered switch at the cap: %s, %v", fmtUpdates(ups), err)
	}
}

func TestShellyConfig(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly", BaseTopic: "home/shelly", ClientID: "gridmint-1f2e3d4c"})
	// Gen1 topics are under the firmware's fixed root, whatever the base.
	gen1 := []string{"shellies/+/online", "shellies/+/relay/+/power", "shellies/+/relay/+/energy",
		"shellies/+/emeter/+/power", "shellies/+/emeter/+/total", "shellies/+/emeter/+/total_returned"}
	if got, want := a.Subscriptions(), append([]string{"home/shelly/+/status/+", "home/shelly/+/events/rpc", "home/shelly/+/online"}, gen1...); !reflect.DeepEqual(got, want) {
		t.Errorf("Subscriptions() = %q, want %q", got, want)
	}
	if got, want := a.(Replier).ReplySubscriptions(), []string{"gridmint-1f2e3d4c/rpc", "shellies/+/relay/+"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ReplySubscriptions() = %q, want %q", got, want)
	}
	ups, err := a.Decode("home/shelly/"+shellyPlug+"/status/switch:0", []byte(shelly1PMMiniGen3Status))
	if err != nil || len(ups) != 1 || ups[0].Serial != shellyPlug+":switch:0" {
		t.Errorf("Decode under a base topic = %s, %v", fmtUpdates(ups), err)
	}
	if _, err := a.Decode(shellyPlug+"/status/switch:0", []byte(shelly1PMMiniGen3Status)); err == nil {
		t.Error("topic outside the base topic accepted")
	}
	cmd, err := a.(Switcher).SwitchCommand(shellyPlug+":switch:0", false)
	if err != nil || cmd.Topic != "home/shelly/"+shellyPlug+"/rpc" {
		t.Errorf("command under a base topic: %s, %v", cmd.Topic, err)
	}
	def := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	if got := def.Subscriptions(); !reflect.DeepEqual(got, append([]string{"+/status/+", "+/events/rpc", "+/online"}, gen1...)) {
		t.Errorf("default Subscriptions() = %q", got)
	}
	if got := def.(Replier).ReplySubscriptions(); !reflect.DeepEqual(got, []string{"gridmint/rpc", "shellies/+/relay/+"}) {
		t.Errorf("default ReplySubscriptions() = %q", got)
	}
	if k := mustAdapter(t, AdapterConfig{Dialect: "shelly", Kind: gridmint.KindEVCharger}); k.DefaultKind() != gridmint.KindEVCharger {
		t.Errorf("configured kind: DefaultKind() = %s", k.DefaultKind())
	}
	for _, cfg := range []AdapterConfig{
		{BaseTopic: "a/+/"}, {BaseTopic: "/abs"}, {BaseTopic: "a//b"}, {BaseTopic: "#"},
		{ClientID: "a/b"}, {ClientID: "a+"}, {ClientID: "x\n"}, {ClientID: strings.Repeat("c", 200)},
	} {
		cfg.Dialect = "shelly"
		if _, err := NewAdapter(cfg); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("NewAdapter(%+v) error %v, want %s", cfg, err, gridmint.EInvalid)
		}
	}
}

func TestShellyCheckSerial(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	for _, ok := range []string{shellyPlug + ":switch:0", shelly3EM + ":em:0", shelly3EM + ":em1:2", "custom:prefix:switch:3", shellyPM + ":pm1:0",
		"shellyplug-s-C18B12:relay:0", "shellyem3-C45BBE6A0F23:emeter:2"} {
		if err := CheckSerial(a, ok); err != nil {
			t.Errorf("CheckSerial(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", shellyPlug, shellyPlug + ":switch", shellyPlug + ":emdata:0", shellyPlug + ":sys:0",
		":switch:0", "a/b:switch:0", shellyPlug + ":switch:-1", shellyPlug + ":switch:x", shellyPlug + ":switch:01"} {
		if err := CheckSerial(a, bad); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("CheckSerial(%q) = %v, want %s", bad, err, gridmint.EInvalid)
		}
	}
}

func TestShellySwitchCommand(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly", ClientID: "gridmint-1f2e3d4c"}).(Switcher)
	on, err := a.SwitchCommand(shellyPlug+":switch:0", true)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":1,"src":"gridmint-1f2e3d4c","method":"Switch.Set","params":{"id":0,"on":true}}`; on.Topic != shellyPlug+"/rpc" || string(on.Payload) != want || on.QoS != 1 {
		t.Errorf("SwitchCommand on = %s %s QoS %d, want %s/rpc %s QoS 1", on.Topic, on.Payload, on.QoS, shellyPlug, want)
	}
	// The frame is the one Home Assistant sends, with our id and src.
	var got, ha map[string]any
	if err := json.Unmarshal(on.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(shellyHASwitchSet), &ha); err != nil {
		t.Fatal(err)
	}
	ha["src"] = "gridmint-1f2e3d4c"
	if !reflect.DeepEqual(got, ha) {
		t.Errorf("Switch.Set frame %v, want the HA frame %v", got, ha)
	}

	off, err := a.SwitchCommand(shelly3EM+":switch:2", false)
	if err != nil || string(off.Payload) != `{"id":2,"src":"gridmint-1f2e3d4c","method":"Switch.Set","params":{"id":2,"on":false}}` {
		t.Errorf("second command = %s, %v; want id 2, switch 2 off", off.Payload, err)
	}

	reply := func(id, body string) []byte {
		return []byte(`{"id":` + id + `,"src":"` + shellyPlug + `","dst":"gridmint-1f2e3d4c",` + body + `}`)
	}
	tests := []struct {
		name    string
		payload []byte
		done    bool
		errText string // "" = confirmed, when done
	}{
		{"result confirms", reply("1", `"result":{"was_on":false}`), true, ""},
		{"error refuses with its message", reply("1", `"error":{"code":-103,"message":"Invalid argument 'id': no instance found!"}`), true, "no instance found"},
		{"an error that is no object still refuses", reply("1", `"error":"busy"`), true, "busy"},
		{"a reply to another command", reply("2", `"result":{"was_on":true}`), false, ""},
		{"a reply to someone else's request id 1 as a string", reply(`"1"`, `"result":{}`), false, ""},
		{"neither result nor error", reply("1", `"params":{}`), false, ""},
		{"a null error with a result confirms", reply("1", `"error":null,"result":{}`), true, ""},
		{"garbage", []byte("\x00{"), false, ""},
		{"the captured GetStatus reply (not JSON: elided)", []byte(`{"id":1,"src":"shellyplugus-083af2018c80","dst":"shellyplugus-083af2018c80-GetStatus","result":{"sys":{...}}}`), false, ""},
	}
	for _, tt := range tests {
		if !mqtttopic.Match(on.Confirm.Filter, "gridmint-1f2e3d4c/rpc") {
			t.Fatalf("confirmation filter %q", on.Confirm.Filter)
		}
		done, err := on.Confirm.Match("gridmint-1f2e3d4c/rpc", tt.payload)
		switch {
		case done != tt.done:
			t.Errorf("%s: done = %v (err %v), want %v", tt.name, done, err, tt.done)
		case done && tt.errText == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case done && tt.errText != "" && (err == nil || !strings.Contains(err.Error(), tt.errText)):
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.errText)
		}
	}
	if done, _ := off.Confirm.Match("gridmint-1f2e3d4c/rpc", reply("1", `"result":{"was_on":false}`)); done {
		t.Error("command 2 settled by the reply to command 1")
	}

	for _, meter := range []string{shelly3EM + ":em:0", shellyPM + ":pm1:0", "shellyem3-C45BBE6A0F23:emeter:0"} {
		if _, err := a.SwitchCommand(meter, true); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("switching %s, which has no relay: %v, want %s", meter, err, gridmint.EInvalid)
		}
	}
	for _, bad := range []string{"", "plug", "plug:switch", "a/b:switch:0", "plug:switch:x"} {
		if _, err := a.SwitchCommand(bad, true); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("SwitchCommand(%q) = %v, want %s", bad, err, gridmint.EInvalid)
		}
	}
}

func TestShellyCommandIDsUniqueUnderConcurrency(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	const n = 32
	ids := make([]uint64, n)
	var wg sync.WaitGroup
	// Decode runs on its one pipeline goroutine while the API builds
	// commands.
	wg.Go(func() {
		for i := range 2 * n {
			_, _ = a.Decode(shellyPlug+"/status/switch:0", []byte(fmt.Sprintf(`{"apower":%d}`, i)))
		}
	})
	for i := range n {
		wg.Go(func() {
			cmd, err := a.(Switcher).SwitchCommand(shellyPlug+":switch:0", true)
			if err != nil {
				t.Error(err)
				return
			}
			var f struct{ ID uint64 }
			if err := json.Unmarshal(cmd.Payload, &f); err != nil {
				t.Error(err)
			}
			ids[i] = f.ID
		})
	}
	wg.Wait()
	seen := map[uint64]bool{}
	for _, id := range ids {
		if id == 0 || seen[id] {
			t.Errorf("RPC id %d missing or used twice: %v", id, ids)
		}
		seen[id] = true
	}
}

// TestShellyIngest runs the adapter through Ingest: kinds and capabilities
// of discovered devices, availability per prefix, and a steady device that
// stays heard from.
func TestShellyIngest(t *testing.T) {
	clk := &fakeClock{now: t0}
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	in := newTestIngest(t, IngestConfig{Adapters: []Adapter{a}, Discover: true, StaleAfter: 10 * time.Minute, Clock: clk})
	o := in.Process(msgsAt(t0,
		mqttMsg{shellyPlug + "/online", "true"},
		mqttMsg{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status},
		mqttMsg{shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyFullStatus", shellyMembers("", shellyPro3EMTriEM, shellyPro3EMTriEMData))},
	))
	if len(o.Rejections) != 0 {
		t.Fatalf("rejections: %v", reasons(o))
	}
	in.Accept(o)
	byID := map[string]DeviceState{}
	for _, d := range in.Devices() {
		byID[d.Serial] = d
	}
	plug, meter := byID[shellyPlug+":switch:0"], byID[shelly3EM+":em:0"]
	if plug.Kind != gridmint.KindPlug || !reflect.DeepEqual(plug.Capabilities, Capabilities(a)) {
		t.Errorf("plug: kind %s caps %v, want plug %v", plug.Kind, plug.Capabilities, Capabilities(a))
	}
	if meter.Kind != gridmint.KindMeter || !reflect.DeepEqual(meter.Capabilities, shellyMeterCaps()) {
		t.Errorf("meter: kind %s caps %v, want meter %v", meter.Kind, meter.Capabilities, shellyMeterCaps())
	}
	if meter.Power != 1300.252 || meter.Energy == 0 {
		t.Errorf("meter state: %+v", meter)
	}

	// Nine minutes of temperature notifications keep the plug online.
	for i := 1; i <= 9; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		clk.Set(at)
		in.Accept(in.Process(msgsAt(at, mqttMsg{shellyTopic, shellyFrame(shellyPlug, "NotifyStatus",
			fmt.Sprintf(`{"ts":%d,"switch:0":{"id":0,"temperature":{"tC":%d.5}}}`, at.Unix(), 60+i))})))
	}
	clk.Set(t0.Add(15 * time.Minute))
	online := map[string]bool{}
	for _, d := range in.Devices() {
		online[d.Serial] = d.Online
	}
	if !online[shellyPlug+":switch:0"] || online[shelly3EM+":em:0"] {
		t.Errorf("after 15 min: online %v; want the steady plug online, the silent meter stale", online)
	}

	o = in.Process(msgsAt(t0.Add(15*time.Minute), mqttMsg{shellyPlug + "/online", "false"}))
	in.Accept(o)
	for _, d := range in.Devices() {
		if d.Serial == shellyPlug+":switch:0" && (d.Online || d.Availability != AvailabilityOffline) {
			t.Errorf("plug after online=false: %+v", d)
		}
	}
}

func init() {
	registerConformance("shelly", func() conformance {
		plug := shellyPlug + ":switch:0"
		return conformance{
			config: AdapterConfig{ClientID: "gridmint-1f2e3d4c"},
			decode: []decodeFixture{
				{"1PM Mini Gen3 status/switch:0", []mqttMsg{{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status}}, []Update{
					shellySwitchUpdate(plug, &Measurement{Power: shellyW(25.7), Forward: shellyLife(913_252), Reverse: shellyLife(0)}),
				}},
				{"Pro 3EM triphase: em + emdata, one meter", []mqttMsg{
					{shelly3EM + "/status/em:0", shellyValueOf(shellyPro3EMTriEM)},
					{shelly3EM + "/status/emdata:0", shellyValueOf(shellyPro3EMTriEMData)},
				}, []Update{
					shellyMeterUpdate(shelly3EM+":em:0", &Measurement{Power: shellyW(1300.252)}),
					shellyMeterUpdate(shelly3EM+":em:0", &Measurement{Power: shellyW(1300.252), Forward: shellyLife(2_852_055_810), Reverse: shellyLife(0)}),
				}},
				{"Pro 3EM monophase", []mqttMsg{
					{shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyFullStatus", shellyMembers("", shellyPro3EMMonoEM10, shellyPro3EMMonoEM11, shellyPro3EMMonoEM1Data0, shellyPro3EMMonoEM1Data1))},
				}, []Update{
					shellyMeterUpdate(shelly3EM+":em1:0", &Measurement{Power: shellyW(598.9), Forward: shellyLife(3_458_240), Reverse: shellyLife(1_605_240)}),
					shellyMeterUpdate(shelly3EM+":em1:1", &Measurement{Power: shellyW(0), Forward: shellyLife(2_768_670), Reverse: shellyLife(25_490)}),
				}},
				{"status/em1:0, then NotifyStatus em1data", []mqttMsg{
					{shelly3EM + "/status/em1:0", shellyValueOf(shellyPro3EMMonoEM10)},
					{shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyStatus", shellyNotifyEM1Data+"}")},
				}, []Update{
					shellyMeterUpdate(shelly3EM+":em1:0", &Measurement{Power: shellyW(598.9)}),
					shellyMeterUpdate(shelly3EM+":em1:0", &Measurement{SourceTime: shellyTS(230 * time.Millisecond), Power: shellyW(598.9), Forward: shellyLife(6_737_720), Reverse: shellyLife(1_780)}),
				}},
				{"PM Mini Gen3 status/pm1:0", []mqttMsg{{shellyPM + "/status/pm1:0", shellyValueOf(shellyPMMiniGen3PM1)}}, []Update{
					shellyPM1Update(shellyPM+":pm1:0", &Measurement{Power: shellyW(1780.1), Forward: shellyLife(3_551_682), Reverse: shellyLife(0)}),
				}},
				{"Gen1 Plug S: power, then the relay counter in watt-minutes", []mqttMsg{
					{"shellies/" + shellyGen1Plug + "/relay/0/power", "0.00"},
					{"shellies/" + shellyGen1Plug + "/relay/0/energy", "23389"},
				}, []Update{
					shellySwitchUpdate(shellyGen1Plug+":relay:0", &Measurement{Power: shellyW(0)}),
					shellySwitchUpdate(shellyGen1Plug+":relay:0", &Measurement{Power: shellyW(0), Forward: shellyLife(389_816)}),
				}},
				{"Gen1 3EM phase: power, total and total_returned in Wh", []mqttMsg{
					{"shellies/" + shellyGen13EM + "/emeter/1/power", "-812.55"},
					{"shellies/" + shellyGen13EM + "/emeter/1/total", "1776542.7"},
					{"shellies/" + shellyGen13EM + "/emeter/1/total_returned", "25.4"},
				}, []Update{
					shellyMeterUpdate(shellyGen13EM+":emeter:1", &Measurement{Power: shellyW(-812.55)}),
					shellyMeterUpdate(shellyGen13EM+":emeter:1", &Measurement{Power: shellyW(-812.55), Forward: shellyLife(1_776_542_700)}),
					shellyMeterUpdate(shellyGen13EM+":emeter:1", &Measurement{Power: shellyW(-812.55), Forward: shellyLife(1_776_542_700), Reverse: shellyLife(25_400)}),
				}},
				{"NotifyStatus deltas merged", []mqttMsg{
					{shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256760.23,"switch:0":{"id":0,"apower":25.7}}`)},
					{shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256820.23,"switch:0":{"id":0,"aenergy":{"total":913.252,"by_minute":[404.631,404.631,404.631],"minute_ts":1738256760}}}`)},
					{shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1738256821.23,"switch:0":{"id":0,"temperature":{"tC":68.1,"tF":154.6}}}`)},
				}, []Update{
					shellySwitchUpdate(plug, &Measurement{SourceTime: shellyTS(230 * time.Millisecond), Power: shellyW(25.7)}),
					shellySwitchUpdate(plug, &Measurement{SourceTime: shellyTS(time.Minute + 230*time.Millisecond), Power: shellyW(25.7), Forward: shellyLife(913_252)}),
					{Serial: plug},
				}},
			},
			offline: []mqttMsg{
				{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status},
				{shellyPlug + "/online", "false"},
			},
			offlineSerial: plug,
			commands: []commandFixture{{
				serial: plug, setpoint: gridmint.Setpoint{Kind: gridmint.SetpointSwitch, Value: 1, Origin: gridmint.OriginHomeowner},
				wantTopic:   shellyPlug + "/rpc",
				wantPayload: `{"id":1,"src":"gridmint-1f2e3d4c","method":"Switch.Set","params":{"id":0,"on":true}}`,
				confirm:     mqttMsg{"gridmint-1f2e3d4c/rpc", `{"id":1,"src":"` + shellyPlug + `","dst":"gridmint-1f2e3d4c","result":{"was_on":false}}`},
				refuse:      mqttMsg{"gridmint-1f2e3d4c/rpc", `{"id":1,"src":"` + shellyPlug + `","dst":"gridmint-1f2e3d4c","error":{"code":-103,"message":"Invalid argument 'id': no instance found!"}}`},
				other:       mqttMsg{"gridmint-1f2e3d4c/rpc", `{"id":7,"src":"` + shellyPlug + `","dst":"gridmint-1f2e3d4c","result":{"was_on":true}}`},
			}, {
				serial: shellyGen1Plug + ":relay:0", setpoint: gridmint.Setpoint{Kind: gridmint.SetpointSwitch, Value: 0, Origin: gridmint.OriginHomeowner},
				wantTopic: "shellies/" + shellyGen1Plug + "/relay/0/command", wantPayload: "off",
				confirm: mqttMsg{"shellies/" + shellyGen1Plug + "/relay/0", "off"},
				refuse:  mqttMsg{"shellies/" + shellyGen1Plug + "/relay/0", "overpower"},
				other:   mqttMsg{"shellies/" + shellyGen1Plug + "/relay/0", "on"},
			}},
		}
	})
}

func FuzzShellyDecode(f *testing.F) {
	seeds := []mqttMsg{
		{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status},
		{shelly3EM + "/status/em:0", shellyValueOf(shellyPro3EMTriEM)},
		{shelly3EM + "/status/emdata:0", shellyValueOf(shellyPro3EMTriEMData)},
		{shelly3EM + "/status/em1data:1", shellyValueOf(shellyPro3EMMonoEM1Data1)},
		{shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyFullStatus", shellyMembers("", shellyPro3EMMonoEM10, shellyPro3EMMonoEM11, shellyPro3EMMonoEM1Data0, shellyPro3EMMonoEM1Data1))},
		{shelly3EM + "/events/rpc", shellyFrame(shelly3EM, "NotifyStatus", shellyNotifyEM1Data+"}")},
		{shellyTopic, shellyFrame(shellyPlug, "NotifyFullStatus", shellyMembers("1682952864.5", shellyPlugUSSwitch0, shellyPlus2PMSwitch0))},
		{shellyTopic, shellyFrame(shellyPlug, "NotifyStatus", `{"ts":1.7e9,"switch:0":{"apower":nan}}`)},
		{shellyPlug + "/online", "false"},
		{"gridmint/rpc", shellyHASwitchSet},
		{shellyPM + "/status/pm1:0", shellyValueOf(shellyPMMiniGen3PM1)},
		{shellyPM + "/events/rpc", shellyFrame(shellyPM, "NotifyStatus", `{"ts":1719917911.02,"pm1:0":{"id":0,"apower":-412.3,"ret_aenergy":{"total":12.345}}}`)},
		{"shellies/" + shellyGen1Plug + "/relay/0/energy", "23389"},
		{"shellies/" + shellyGen1Plug + "/relay/0/power", "0.00"},
		{"shellies/" + shellyGen13EM + "/emeter/2/total_returned", "3.09"},
		{"shellies/" + shellyGen13EM + "/emeter/2/power", "-812.55"},
		{"shellies/" + shellyGen1Plug + "/online", "true"},
		{"shellies/" + shellyGen1Plug + "/relay/0", "overpower"},
	}
	for _, s := range seeds {
		f.Add(s.topic, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
		// Prime devices so merges, heartbeats and availability are reachable.
		decodeAll(t, a, []mqttMsg{{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status}, {shelly3EM + "/status/em:0", `{"total_act_power":5}`},
			{"shellies/" + shellyGen1Plug + "/relay/0/energy", "23389"}})
		ups, err := a.Decode(topic, payload)
		checkDecoded(t, ups, err)
		for _, u := range ups {
			if u.Group != "" && (u.Serial != "" || u.Measurement != nil || u.Availability == AvailabilityUnknown) {
				t.Fatalf("group update carries more than an availability: %+v", u)
			}
			if u.Serial != "" {
				if _, err := gridmint.NewDeviceID("0x0123456789abcdef0123456789abcdef01234567", "shelly", u.Serial); err != nil {
					t.Fatalf("serial %q: %v", u.Serial, err)
				}
				if err := CheckSerial(a, u.Serial); err != nil {
					t.Fatalf("emitted serial fails CheckSerial: %v", err)
				}
			}
		}
		// Any reply is safe to offer to a confirmation.
		cmd, err := a.(Switcher).SwitchCommand(shellyPlug+":switch:0", true)
		if err != nil {
			t.Fatal(err)
		}
		if done, err := cmd.Confirm.Match(topic, payload); err != nil && !done {
			t.Fatalf("Match returned an error without settling: %v", err)
		}
		gen1, err := a.(Switcher).SwitchCommand(shellyGen1Plug+":relay:0", false)
		if err != nil {
			t.Fatal(err)
		}
		if done, err := gen1.Confirm.Match(topic, payload); err != nil && !done {
			t.Fatalf("Gen1 Match returned an error without settling: %v", err)
		}
	})
}

// BenchmarkDecodeShelly measures the Shelly decoder on NotifyStatus deltas
// of a plug (power and counter changing, one reading each): readings/s.
func BenchmarkDecodeShelly(b *testing.B) {
	a := mustAdapter(b, AdapterConfig{Dialect: "shelly"})
	msgs := make([][]byte, 64)
	for i := range msgs {
		msgs[i] = []byte(shellyFrame(shellyPlug, "NotifyStatus", fmt.Sprintf(
			`{"ts":%d.23,"switch:0":{"id":0,"apower":%d.5,"voltage":239.7,"current":0.188,"aenergy":{"total":%d.252,"by_minute":[404.631,404.631,404.631],"minute_ts":1782936360}}}`,
			shellyEMTS+i, 20+i, 913+i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	readings := 0
	for i := 0; b.Loop(); i++ {
		ups, err := a.Decode(shellyTopic, msgs[i%len(msgs)])
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range ups {
			if u.Measurement != nil {
				readings++
			}
		}
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
}

// TestShellyClassifyMatchesDiscovery: a device declared in the
// configuration gets the kind and capabilities of one discovered from
// traffic, for every device type of the dialect.
func TestShellyClassifyMatchesDiscovery(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	seen := map[string]bool{}
	for _, f := range conformanceFixtures["shelly"]().decode {
		for _, u := range decodeAll(t, a, f.msgs) {
			if u.Measurement == nil {
				continue
			}
			caps := u.Capabilities
			if caps == nil {
				caps = Capabilities(a)
			}
			kind, ccaps, ok := a.(Classifier).Classify(u.Serial)
			if !ok || kind != u.Kind || !reflect.DeepEqual(ccaps, caps) {
				t.Errorf("%s: Classify = %s %v %v, discovered as %s %v", u.Serial, kind, ccaps, ok, u.Kind, caps)
			}
			_, d, _ := parseShellySerial(u.Serial)
			seen[d.typ] = true
		}
	}
	for _, typ := range []string{"switch", "pm1", "em", "em1", "relay", "emeter"} {
		if !seen[typ] {
			t.Errorf("no conformance fixture discovers a %s", typ)
		}
	}
}
