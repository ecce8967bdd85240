package devices

import (
	"errors"
	"fmt"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gridmint/gridmint"
)

// Fixtures from shared/payloads/goe.md. Captured (the official mqtt-en.md
// of goecharger/go-eCharger-API-v2): alw, acu, rbt, fwv, the mcc last will
// and the fna/set + fna/result exchange. Constructed (the notes hold no
// captured nrg or energy message): nrg, eto, wh, car and the amp/result
// reply ("success", as the notes expect).
const (
	goeSerial = "00000001"

	// nrg in the official order: U L1 L2 L3 N, I L1 L2 L3, P L1 L2 L3 N
	// Total, pf L1 L2 L3 N. P_N ([10]) is 12 and P_Total ([11]) 11040, so
	// the third-party order (P_N at [11]) would show.
	goeNrgCharging = `[230,231,229,2,16,16.1,15.9,3680,3696,3664,12,11040,99,99,99,0]`
	goeNrgIdle     = `[230,231,229,0,0,0,0,0,0,0,0,0,0,0,0,0]`

	goeResultSuccess     = "success"
	goeResultInvalidJSON = "invalid json IncompleteInput: new_name" // fna/result after fna/set new_name
	goeResultWrongType   = "value must be string 0"                 // fna/result after fna/set 0
)

// API v1 status objects (goecharger/go-eCharger-API-v1, "go-eCharger API
// v1 EN.md" @ 83eb58642b4a7f8ffe44b4487adc4695853a9c3d; the repository
// states no licence, quoted as the vendor's interface example).
const (
	// goeV1DocStatus is section 2's example, its line breaks removed: an
	// idle charger, firmware 020-rc1, eto 12.0 kWh, nrg[11] 0.
	goeV1DocStatus = `{"version":"B","rbc":"251","rbt":"2208867","car":"1","amp":"10","err":"0","ast":"0","alw":"1","stp":"0","cbl":"0","pha":"8","tmp":"30","dws":"0","dwo":"0","adi":"1","uby":"0","eto":"120","wst":"3","nrg":[2,0,0,235,0,0,0,0,0,0,0,0,0,0,0,0],"fwv":"020-rc1","sse":"000000","wss":"goe","wke":"","wen":"1","tof":"101","tds":"1","lbr":"255","aho":"2","afi":"8","ama":"32","al1":"11","al2":"12","al3":"15","al4":"24","al5":"31","cid":"255","cch":"65535","cfi":"65280","lse":"0","ust":"0","wak":"","r1x":"2","dto":"0","nmo":"0","eca":"0","ecr":"0","ecd":"0","ec4":"0","ec5":"0","ec6":"0","ec7":"0","ec8":"0","ec9":"0","ec1":"0","rca":"","rcr":"","rcd":"","rc4":"","rc5":"","rc6":"","rc7":"","rc8":"","rc9":"","rc1":"","rna":"","rnm":"","rne":"","rn4":"","rn5":"","rn6":"","rn7":"","rn8":"","rn9":"","rn1":""}`
	// goeV1Charging is constructed in the document's units: the same
	// charger charging at 11.04 kW (nrg[11] 1104 × 0.01 kW; 3 × 3.7 kW in
	// nrg[7..9] × 0.1 kW), eto 12.1 kWh, amp 16, firmware 040.0 (as in
	// field captures).
	goeV1Charging = `{"version":"B","tme":"1404211010","rbc":"14","rbt":"1530411415","car":"2","amp":"16","err":"0","ast":"0","alw":"1","stp":"0","cbl":"20","pha":"63","tmp":"24","dws":"684373","dwo":"0","adi":"0","uby":"0","eto":"121","wst":"3","nrg":[230,231,229,1,160,161,159,37,37,37,0,1104,99,99,99,0],"fwv":"040.0","sse":"001680","amx":"16","ama":"32","mcc":"1"}`
	goeV1Serial   = "001680"
)

// gV1 is a v1 status message for charger goeV1Serial.
func gV1(payload string) mqttMsg { return mqttMsg{"go-eCharger/" + goeV1Serial + "/status", payload} }

// gM is a message under the default prefix for charger goeSerial.
func gM(key, payload string) mqttMsg { return mqttMsg{"go-eCharger/" + goeSerial + "/" + key, payload} }

func gAdapter(t testing.TB) Adapter { return mustAdapter(t, AdapterConfig{Dialect: "goe"}) }

// gMeas is a charger measurement; p or eto (Wh) nil when unknown.
func gMeas(p *gridmint.W, etoWh *int64) *Measurement {
	m := &Measurement{Power: p}
	if etoWh != nil {
		m.Forward = &Counter{Value: gridmint.MWh(*etoWh * 1000), Kind: gridmint.CounterLifetime}
	}
	return m
}

func TestGoEDecode(t *testing.T) {
	eto := int64(123456)
	tests := []struct {
		name string
		msgs []mqttMsg
		want []Update
	}{
		{"official samples: alw, acu, rbt, fwv are state, no reading", []mqttMsg{
			{"go-eCharger/00000001/alw", "true"},
			{"go-eCharger/00000001/acu", "16"},
			{"go-eCharger/00000001/rbt", "498429772"},
			{"go-eCharger/00000001/fwv", `"35.6-1-ga0d44e5"`},
		}, nil},
		{"official last will: mcc true, then false", []mqttMsg{
			{"go-eCharger/00000001/mcc", "true"},
			{"go-eCharger/00000001/mcc", "false"},
		}, []Update{{Serial: goeSerial, Availability: AvailabilityOnline}, {Serial: goeSerial, Availability: AvailabilityOffline}}},
		{"nrg: power is P_Total, nrg[11]", []mqttMsg{gM("nrg", goeNrgCharging)},
			[]Update{{Serial: goeSerial, Measurement: gMeas(vW(11040), nil)}}},
		{"eto is the lifetime counter in Wh, merged with nrg", []mqttMsg{gM("eto", "123456"), gM("nrg", goeNrgCharging), gM("nrg", goeNrgIdle)}, []Update{
			{Serial: goeSerial, Measurement: gMeas(nil, &eto)},
			{Serial: goeSerial, Measurement: gMeas(vW(11040), &eto)},
			{Serial: goeSerial, Measurement: gMeas(vW(0), &eto)},
		}},
		{"wh is a session counter: not used", []mqttMsg{gM("wh", "2344.5"), gM("etop", "123000")}, nil},
		{"null values are forgotten, not errors", []mqttMsg{gM("car", "null"), gM("err", "null"), gM("pha", "null"), gM("nrg", "null")}, nil},
		{"a null P_Total leaves the counter", []mqttMsg{gM("eto", "123456"), gM("nrg", `[230,231,229,0,0,0,0,0,0,0,0,null,0,0,0,0]`)},
			[]Update{{Serial: goeSerial, Measurement: gMeas(nil, &eto)}, {Serial: goeSerial, Measurement: gMeas(nil, &eto)}}},
		{"control state keys are kept, not readings", []mqttMsg{gM("car", "2"), gM("amp", "16"), gM("frc", "0"), gM("mcr", "false")}, nil},
		{"other keys, whatever their payload", []mqttMsg{gM("sch_week", `{"control":0}`), gM("modelStatus", "12"), gM("awpl", "[]"), gM("wifis", "not json")}, nil},
		{"/set and /result echoes are for confirmation only", []mqttMsg{
			{"go-eCharger/00000002/fna/set", "new_name"},
			{"go-eCharger/00000002/fna/result", goeResultInvalidJSON},
			{"go-eCharger/00000002/amp/result", goeResultSuccess},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(t, gAdapter(t), tt.msgs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(tt.want))
			}
		})
	}
}

func TestGoEV1Decode(t *testing.T) {
	eto := func(wh int64) *int64 { return &wh }
	tests := []struct {
		name string
		msgs []mqttMsg
		want []Update
	}{
		{"the document's example: idle, eto 120 × 0.1 kWh", []mqttMsg{gV1(goeV1DocStatus)},
			[]Update{{Serial: goeV1Serial, Measurement: gMeas(vW(0), eto(12_000))}}},
		{"charging: nrg[11] 1104 × 0.01 kW", []mqttMsg{gV1(goeV1Charging)},
			[]Update{{Serial: goeV1Serial, Measurement: gMeas(vW(11040), eto(12_100))}}},
		{"bare numbers read alike", []mqttMsg{gV1(`{"car":2,"amp":16,"alw":1,"eto":4900,"nrg":[0,0,0,0,0,0,0,0,0,0,0,1104,0,0,0,0]}`)},
			[]Update{{Serial: goeV1Serial, Measurement: gMeas(vW(11040), eto(490_000))}}},
		{"numbers in nrg quoted too", []mqttMsg{gV1(`{"eto":"1","nrg":["0","0","0","0","0","0","0","0","0","0","0","2.5","0","0","0","0"]}`)},
			[]Update{{Serial: goeV1Serial, Measurement: gMeas(vW(25), eto(100))}}},
		{"eto exactly, however large", []mqttMsg{gV1(`{"eto":"9999999"}`)},
			[]Update{{Serial: goeV1Serial, Measurement: gMeas(nil, eto(999_999_900))}}},
		{"a status without nrg or eto", []mqttMsg{gV1(`{"version":"B","car":"1"}`)}, nil},
		{"a cleared retained status", []mqttMsg{gV1("")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := gAdapter(t)
			var got []Update
			for _, m := range tt.msgs {
				ups, err := a.Decode(m.topic, []byte(m.payload))
				if err != nil {
					t.Fatalf("Decode(%s): %v", m.topic, err)
				}
				got = append(got, ups...)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(tt.want))
			}
		})
	}
}

func TestGoEV1Rejects(t *testing.T) {
	nrg := func(p string) string { return `{"nrg":[0,0,0,0,0,0,0,0,0,0,0,` + p + `,0,0,0,0]}` }
	tests := []struct {
		name, payload string
		want          gridmint.Reason
	}{
		{"not JSON", `{"eto":"1"`, gridmint.ReasonMalformed},
		{"binary garbage", "\x00\xff", gridmint.ReasonMalformed},
		{"an array", `[1,2]`, gridmint.ReasonWrongType},
		{"a number", `5`, gridmint.ReasonWrongType},
		{"eto not a number", `{"eto":"abc"}`, gridmint.ReasonWrongType},
		{"eto a boolean", `{"eto":true}`, gridmint.ReasonWrongType},
		{"eto negative", `{"eto":"-5"}`, gridmint.ReasonNegative},
		{"eto beyond 1 GWh", `{"eto":"10000001"}`, gridmint.ReasonAbsurd},
		{"eto nan", `{"eto":"nan"}`, gridmint.ReasonNotFinite},
		{"nrg not an array", `{"nrg":"1104"}`, gridmint.ReasonWrongType},
		{"nrg too short", `{"nrg":[0,0,0,0,0,0,0,0,0,0,0]}`, gridmint.ReasonWrongType},
		{"total power not a number", nrg(`"x"`), gridmint.ReasonWrongType},
		{"total power null", nrg(`null`), gridmint.ReasonNotFinite},
		{"total power absurd", nrg(`"200000"`), gridmint.ReasonAbsurd},
		{"alw 2", `{"alw":"2"}`, gridmint.ReasonWrongType},
		{"car beyond uint8", `{"car":"300"}`, gridmint.ReasonWrongType},
		{"amp a fraction", `{"amp":"16.5"}`, gridmint.ReasonWrongType},
		{"oversized", `{"x":"` + strings.Repeat("a", goeV1MaxStatus) + `"}`, gridmint.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := gV1(tt.payload)
			ups, err := gAdapter(t).Decode(m.topic, []byte(m.payload))
			var de *DecodeError
			if !errors.As(err, &de) || de.Reason != tt.want || de.Serial != goeV1Serial {
				t.Errorf("Decode(%s) = %s, %v; want %s for %s", truncate([]byte(tt.payload)), fmtUpdates(ups), err, tt.want, goeV1Serial)
			}
		})
	}
	// A refused status changes nothing: the charger is not taken for v1.
	a := gAdapter(t)
	if _, err := a.Decode(gV1(`{"eto":"-5"}`).topic, []byte(`{"eto":"-5"}`)); err == nil {
		t.Fatal("negative eto accepted")
	}
	if c, err := a.(ChargeController).CurrentCommand(goeV1Serial, 16); err != nil || !strings.HasSuffix(c.Topic, "/amp/set") {
		t.Errorf("after a refused status: %s, %v; want the v2 command", c.Topic, err)
	}
}

func TestGoEV1Commands(t *testing.T) {
	a := gAdapter(t)
	cc := a.(ChargeController)
	decodeAll(t, a, []mqttMsg{gV1(goeV1Charging)})
	c, err := cc.CurrentCommand(goeV1Serial, 10)
	if err != nil || c.Topic != "go-eCharger/001680/cmd/req" || string(c.Payload) != "amx=10" || c.QoS > 1 {
		t.Fatalf("CurrentCommand = %s %q QoS %d, %v; want go-eCharger/001680/cmd/req amx=10", c.Topic, c.Payload, c.QoS, err)
	}
	if c.Confirm.Filter != "go-eCharger/001680/status" || !covered(a, c.Confirm.Filter) {
		t.Errorf("confirmation filter %s, want the charger's status topic", c.Confirm.Filter)
	}
	status := func(amp string) []byte {
		return []byte(strings.Replace(goeV1Charging, `"amp":"16"`, `"amp":`+amp, 1))
	}
	for _, tt := range []struct {
		payload []byte
		done    bool
	}{
		{status(`"10"`), true},
		{status(`10`), true},
		{status(`"16"`), false}, // not yet, or refused: the expiry tells
		{[]byte(`{"car":"2"}`), false},
		{[]byte(`not json`), false},
	} {
		if done, err := c.Confirm.Match(c.Confirm.Filter, tt.payload); done != tt.done || err != nil {
			t.Errorf("Match(%s) = %v, %v; want %v", truncate(tt.payload), done, err, tt.done)
		}
	}
	// Firmware before 033 has no amx: amp, written to flash.
	old := gAdapter(t)
	decodeAll(t, old, []mqttMsg{gV1(goeV1DocStatus)})
	if c, err := old.(ChargeController).CurrentCommand(goeV1Serial, 16); err != nil || string(c.Payload) != "amp=16" {
		t.Errorf("firmware 020: %q, %v; want amp=16", c.Payload, err)
	}
	// Start/stop is refused on v1; current limits are the v2 ones.
	for _, on := range []bool{true, false} {
		if _, err := cc.EnableCommand(goeV1Serial, on); gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), "API v1") {
			t.Errorf("EnableCommand(%v) on v1: %v, want invalid naming API v1", on, err)
		}
	}
	if _, err := cc.CurrentCommand(goeV1Serial, 5); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("5 A on v1: %v, want invalid", err)
	}
	// Another charger on the same prefix still speaks v2.
	if c, err := cc.CurrentCommand(goeSerial, 16); err != nil || c.Topic != "go-eCharger/00000001/amp/set" {
		t.Errorf("a v2 charger: %s, %v", c.Topic, err)
	}
}

func TestGoEOfflineHoldsMeasurements(t *testing.T) {
	a := gAdapter(t)
	// Retained values of a charger that is gone (mcc false) are not live.
	got := decodeAll(t, a, []mqttMsg{gM("mcc", "false"), gM("nrg", goeNrgCharging), gM("eto", "123456")})
	if want := []Update{{Serial: goeSerial, Availability: AvailabilityOffline}}; !reflect.DeepEqual(got, want) {
		t.Errorf("offline:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
	eto := int64(123457)
	got = decodeAll(t, a, []mqttMsg{gM("mcc", "true"), gM("eto", "123457"), gM("nrg", goeNrgCharging)})
	want := []Update{
		{Serial: goeSerial, Availability: AvailabilityOnline},
		{Serial: goeSerial, Measurement: gMeas(nil, &eto)}, // no power from while it was gone
		{Serial: goeSerial, Measurement: gMeas(vW(11040), &eto)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("back online:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
	// Going offline forgets the power: it is not the present one.
	got = decodeAll(t, a, []mqttMsg{gM("mcc", "false"), gM("mcc", "true"), gM("eto", "123457")})
	want = []Update{
		{Serial: goeSerial, Availability: AvailabilityOffline}, {Serial: goeSerial, Availability: AvailabilityOnline},
		{Serial: goeSerial, Measurement: gMeas(nil, &eto)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after a reconnect:\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestGoERejects(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		want                 gridmint.Reason
	}{
		{"nrg not JSON", "nrg", "[1,2", gridmint.ReasonMalformed},
		{"nrg binary garbage", "nrg", "\x00\xff", gridmint.ReasonMalformed},
		{"nrg not an array", "nrg", "11040", gridmint.ReasonWrongType},
		{"nrg too short for P_Total", "nrg", "[230,231,229,0,16,16,16,3680,3696,3664,0]", gridmint.ReasonWrongType},
		{"P_Total a string", "nrg", `[0,0,0,0,0,0,0,0,0,0,0,"11040",0,0,0,0]`, gridmint.ReasonWrongType},
		{"P_Total bare nan", "nrg", `[0,0,0,0,0,0,0,0,0,0,0,nan,0,0,0,0]`, gridmint.ReasonNotFinite},
		{"P_Total absurd", "nrg", `[0,0,0,0,0,0,0,0,0,0,0,5e6,0,0,0,0]`, gridmint.ReasonAbsurd},
		{"P_Total huge exponent", "nrg", `[0,0,0,0,0,0,0,0,0,0,0,1e999,0,0,0,0]`, gridmint.ReasonAbsurd},
		{"nrg oversized", "nrg", "[" + strings.Repeat("0,", 600) + "0]", gridmint.ReasonMalformed},
		{"eto a string", "eto", `"123456"`, gridmint.ReasonWrongType},
		{"eto negative", "eto", "-5", gridmint.ReasonNegative},
		{"eto beyond 1 GWh", "eto", "1000000000001", gridmint.ReasonAbsurd},
		{"eto beyond int64 mWh", "eto", "1e20", gridmint.ReasonAbsurd},
		{"eto bare inf", "eto", "inf", gridmint.ReasonNotFinite},
		{"mcc a string", "mcc", `"true"`, gridmint.ReasonWrongType},
		{"mcc a number", "mcc", "1", gridmint.ReasonWrongType},
		{"car out of range", "car", "300", gridmint.ReasonWrongType},
		{"car a string", "car", `"2"`, gridmint.ReasonWrongType},
		{"amp a fraction", "amp", "16.5", gridmint.ReasonWrongType},
		{"mcr not JSON", "mcr", "yes", gridmint.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := gM(tt.topic, tt.payload)
			ups, err := gAdapter(t).Decode(m.topic, []byte(m.payload))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s, %q) = %s, %v; want a DecodeError %q", m.topic, tt.payload, fmtUpdates(ups), err, tt.want)
			}
			if de.Reason != tt.want || de.Serial != goeSerial {
				t.Errorf("Decode(%s, %q) = reason %q serial %q (%v), want %q for %s", m.topic, tt.payload, de.Reason, de.Serial, err, tt.want, goeSerial)
			}
		})
	}
	for _, topic := range []string{
		"other/00000001/nrg",             // outside the prefix
		"go-eCharger/00000001",           // no key
		"go-eCharger/00000001/",          // empty key
		"go-eCharger//nrg",               // empty serial
		"go-eCharger/0000.0001/nrg",      // not a serial
		"go-eCharger/00000001/n-rg",      // not a key
		"go-eCharger/00000001/amp/foo",   // neither set nor result
		"go-eCharger/00000001/amp/set/x", // too deep
		"/go-eCharger/00000001/nrg",      // the leading-slash variant needs its base topic
	} {
		if ups, err := gAdapter(t).Decode(topic, []byte("1")); reasonOfErr(err) != gridmint.ReasonUnknownTopic {
			t.Errorf("Decode(%s) = %s, %v; want %s", topic, fmtUpdates(ups), err, gridmint.ReasonUnknownTopic)
		}
	}
}

// TestGoEChargerCap: one prefix takes a fleet's chargers (2,000 homes
// lost 1,744 of theirs to a fixed cap of 256); a configured cap refuses
// the next charger and says which cap it was.
func TestGoEChargerCap(t *testing.T) {
	a := gAdapter(t)
	for i := range 2000 {
		if _, err := a.Decode(fmt.Sprintf("go-eCharger/%08d/eto", i), []byte("1")); err != nil {
			t.Fatalf("charger %d with the default cap: %v", i, err)
		}
	}
	const maxGoEChargers = 3
	a = mustAdapter(t, AdapterConfig{Dialect: "goe", MaxDevices: maxGoEChargers})
	for i := range maxGoEChargers {
		if _, err := a.Decode(fmt.Sprintf("go-eCharger/%08d/eto", i), []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := a.Decode("go-eCharger/99999999/eto", []byte("1"))
	var de *DecodeError
	if !errors.As(err, &de) || de.Reason != gridmint.ReasonUnknownDevice || de.Limit != maxGoEChargers || !strings.Contains(de.Detail, "max_devices") {
		t.Errorf("charger %d: error %v, want %s at the cap, naming max_devices", maxGoEChargers+1, err, gridmint.ReasonUnknownDevice)
	}
}

func TestGoEPrefix(t *testing.T) {
	tests := []struct {
		base             string
		wantSub, wantRep string
		topic            string
	}{
		{"", "go-eCharger/+/+", "go-eCharger/+/+/result", "go-eCharger/222162/nrg"},
		{"/go-eCharger/", "/go-eCharger/+/+", "/go-eCharger/+/+/result", "/go-eCharger/222162/nrg"},
		{"/go-eCharger", "/go-eCharger/+/+", "/go-eCharger/+/+/result", "/go-eCharger/222162/nrg"},
		{"home/garage/", "home/garage/+/+", "home/garage/+/+/result", "home/garage/222162/nrg"},
	}
	for _, tt := range tests {
		a := mustAdapter(t, AdapterConfig{Dialect: "goe", BaseTopic: tt.base})
		if got := a.Subscriptions(); !reflect.DeepEqual(got, []string{tt.wantSub}) {
			t.Errorf("base %q: Subscriptions() = %q, want %q", tt.base, got, tt.wantSub)
		}
		if got := a.(Replier).ReplySubscriptions(); !reflect.DeepEqual(got, []string{tt.wantRep}) {
			t.Errorf("base %q: ReplySubscriptions() = %q, want %q", tt.base, got, tt.wantRep)
		}
		ups, err := a.Decode(tt.topic, []byte(goeNrgCharging))
		if err != nil || len(ups) != 1 || ups[0].Serial != "222162" {
			t.Errorf("base %q: Decode(%s) = %s, %v", tt.base, tt.topic, fmtUpdates(ups), err)
		}
	}
	for _, bad := range []string{"/", "a/+/", "go-eCharger/#", "a//b/", "x\x00/"} {
		if _, err := NewAdapter(AdapterConfig{Dialect: "goe", BaseTopic: bad}); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("base %q: error %v, want invalid", bad, err)
		}
	}
}

func TestGoECommands(t *testing.T) {
	a := gAdapter(t)
	cc := a.(ChargeController)
	tests := []struct {
		name      string
		cmd       func() (Command, error)
		wantTopic string
		wantBody  string
	}{
		{"current 16 A", func() (Command, error) { return cc.CurrentCommand(goeSerial, 16) }, "go-eCharger/00000001/amp/set", "16"},
		{"current 6 A", func() (Command, error) { return cc.CurrentCommand(goeSerial, 6) }, "go-eCharger/00000001/amp/set", "6"},
		{"release the stop", func() (Command, error) { return cc.EnableCommand(goeSerial, true) }, "go-eCharger/00000001/frc/set", "0"},
		{"stop now", func() (Command, error) { return cc.EnableCommand(goeSerial, false) }, "go-eCharger/00000001/frc/set", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.cmd()
			if err != nil || c.Topic != tt.wantTopic || string(c.Payload) != tt.wantBody || c.QoS > 1 {
				t.Fatalf("= %s %q QoS %d, %v; want %s %q", c.Topic, c.Payload, c.QoS, err, tt.wantTopic, tt.wantBody)
			}
			result := strings.TrimSuffix(tt.wantTopic, "/set") + "/result"
			if c.Confirm.Filter != result || !covered(a, c.Confirm.Filter) {
				t.Errorf("confirmation filter %s, want %s covered by a reply subscription", c.Confirm.Filter, result)
			}
			if done, err := c.Confirm.Match(result, []byte(goeResultSuccess)); !done || err != nil {
				t.Errorf("success: done=%v err=%v, want confirmed", done, err)
			}
			for _, refusal := range []string{goeResultInvalidJSON, goeResultWrongType, ""} {
				done, err := c.Confirm.Match(result, []byte(refusal))
				if !done || err == nil || !strings.Contains(err.Error(), refusal) {
					t.Errorf("reply %q: done=%v err=%v, want refused with the charger's text", refusal, done, err)
				}
			}
			if mqtttopic.Match(c.Confirm.Filter, "go-eCharger/00000001/fna/result") || mqtttopic.Match(c.Confirm.Filter, "go-eCharger/00000002/amp/result") {
				t.Errorf("filter %s matches another key's or charger's result", c.Confirm.Filter)
			}
		})
	}
	for _, amps := range []float64{0, 5, 10.5, 33, -6} {
		if _, err := cc.CurrentCommand(goeSerial, amps); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("CurrentCommand(%v): error %v, want invalid", amps, err)
		}
	}
	for _, serial := range []string{"", "a/b", "+", "0000 0001"} {
		if _, err := cc.EnableCommand(serial, true); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("EnableCommand(%q): error %v, want invalid", serial, err)
		}
	}
	// With MQTT writes off (mcr true) the charger would refuse: say so now.
	decodeAll(t, a, []mqttMsg{gM("mcr", "true")})
	if _, err := cc.CurrentCommand(goeSerial, 16); gridmint.ErrorCode(err) != gridmint.EUnavailable || !strings.Contains(err.Error(), "mcr") {
		t.Errorf("mcr true: error %v, want unavailable naming mcr", err)
	}
	if _, err := cc.CurrentCommand("00000002", 16); err != nil {
		t.Errorf("another charger: %v", err)
	}
	decodeAll(t, a, []mqttMsg{gM("mcr", "false")})
	if _, err := cc.EnableCommand(goeSerial, true); err != nil {
		t.Errorf("mcr false: %v", err)
	}
}

// TestGoECommandsDuringDecode: command methods read state Decode writes
// (go test -race).
func TestGoECommandsDuringDecode(t *testing.T) {
	a := gAdapter(t)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 200 {
			_, _ = a.Decode(fmt.Sprintf("go-eCharger/%08d/mcr", i%4), []byte("false"))
			_, _ = a.Decode(fmt.Sprintf("go-eCharger/%08d/nrg", i%4), []byte(goeNrgCharging))
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 200 {
			if c, err := a.(ChargeController).CurrentCommand(fmt.Sprintf("%08d", i%4), 16); err == nil {
				_, _ = c.Confirm.Match(c.Confirm.Filter, []byte(goeResultSuccess))
			}
		}
	}()
	wg.Wait()
}

func init() {
	registerConformance("goe", func() conformance {
		eto := int64(123456)
		return conformance{
			decode: []decodeFixture{
				{"official samples", []mqttMsg{
					{"go-eCharger/00000001/mcc", "true"},
					{"go-eCharger/00000001/alw", "true"},
					{"go-eCharger/00000001/acu", "16"},
					{"go-eCharger/00000001/rbt", "498429772"},
					{"go-eCharger/00000001/fwv", `"35.6-1-ga0d44e5"`},
				}, []Update{{Serial: goeSerial, Availability: AvailabilityOnline}}},
				{"retained keys after subscribing (constructed nrg, eto)", []mqttMsg{
					gM("mcc", "true"), gM("car", "2"), gM("amp", "16"), gM("eto", "123456"), gM("wh", "2344.5"), gM("nrg", goeNrgCharging),
				}, []Update{
					{Serial: goeSerial, Availability: AvailabilityOnline},
					{Serial: goeSerial, Measurement: gMeas(nil, &eto)},
					{Serial: goeSerial, Measurement: gMeas(vW(11040), &eto)},
				}},
				{"API v1: the document's status, then charging (constructed)", []mqttMsg{gV1(goeV1DocStatus), gV1(goeV1Charging)}, []Update{
					{Serial: goeV1Serial, Measurement: gMeas(vW(0), ptr(int64(12_000)))},
					{Serial: goeV1Serial, Measurement: gMeas(vW(11040), ptr(int64(12_100)))},
				}},
			},
			offline:       []mqttMsg{{"go-eCharger/00000001/mcc", "true"}, {"go-eCharger/00000001/mcc", "false"}},
			offlineSerial: goeSerial,
			commands: []commandFixture{
				{
					serial: goeSerial, setpoint: gridmint.Setpoint{Kind: gridmint.SetpointChargeCurrent, Value: 16, Origin: gridmint.OriginMarket},
					wantTopic: "go-eCharger/00000001/amp/set", wantPayload: "16",
					confirm: gM("amp/result", goeResultSuccess),
					refuse:  gM("amp/result", goeResultInvalidJSON),
					other:   gM("fna/result", goeResultSuccess),
				},
				{
					serial: goeSerial, setpoint: gridmint.Setpoint{Kind: gridmint.SetpointChargeEnable, Value: 0, Origin: gridmint.OriginHomeowner},
					wantTopic: "go-eCharger/00000001/frc/set", wantPayload: "1",
					confirm: gM("frc/result", goeResultSuccess),
					refuse:  gM("frc/result", goeResultWrongType),
					other:   gM("amp/result", goeResultSuccess),
				},
				{
					// API v1 (section 6: go-eCharger/<serial>/cmd/req), told
					// by the charger's status.
					serial: goeV1Serial, setpoint: gridmint.Setpoint{Kind: gridmint.SetpointChargeCurrent, Value: 10, Origin: gridmint.OriginMarket},
					prime:     []mqttMsg{gV1(goeV1Charging)},
					wantTopic: "go-eCharger/001680/cmd/req", wantPayload: "amx=10",
					confirm: gV1(strings.Replace(goeV1Charging, `"amp":"16"`, `"amp":"10"`, 1)),
					other:   gV1(goeV1Charging),
				},
			},
		}
	})
}

func FuzzGoEDecode(f *testing.F) {
	for _, m := range []mqttMsg{
		gM("nrg", goeNrgCharging), gM("nrg", goeNrgIdle), gM("eto", "123456"), gM("mcc", "false"), gM("car", "null"),
		gM("alw", "true"), gM("fwv", `"35.6-1-ga0d44e5"`), gM("amp/result", goeResultInvalidJSON), gM("nrg", "[nan]"),
		gM("status", goeV1DocStatus), gM("status", goeV1Charging), gM("status", `{"eto":4900,"nrg":[0,0,0,0,0,0,0,0,0,0,0,"1e3"]}`),
	} {
		f.Add(strings.TrimPrefix(m.topic, "go-eCharger/"), []byte(m.payload))
	}
	f.Fuzz(func(t *testing.T, rest string, payload []byte) {
		a := gAdapter(t)
		decodeAll(t, a, []mqttMsg{gM("eto", "1"), gM("mcc", "true")})
		ups, err := a.Decode("go-eCharger/"+rest, payload)
		checkDecoded(t, ups, err)
		for _, u := range ups {
			if err := CheckSerial(a, u.Serial); err != nil {
				t.Fatalf("update for a serial the adapter itself refuses: %v", err)
			}
		}
	})
}

// BenchmarkDecodeGoE measures the decoder on a charging go-e's traffic
// (nrg every second, eto, and keys it ignores): readings/s.
func BenchmarkDecodeGoE(b *testing.B) {
	a := gAdapter(b)
	cycles := make([][]mqttMsg, 64)
	for i := range cycles {
		cycles[i] = []mqttMsg{
			gM("nrg", fmt.Sprintf(`[230,231,229,2,16,16.1,15.9,3680,3696,3664,12,%d,99,99,99,0]`, 11000+i)),
			gM("eto", fmt.Sprintf("%d", 123456+i)),
			gM("rbt", fmt.Sprintf("%d", 498429772+1000*i)),
			gM("wh", fmt.Sprintf("%d.5", 2344+i)),
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	readings := 0
	for i := 0; b.Loop(); i++ {
		for _, m := range cycles[i%len(cycles)] {
			ups, err := a.Decode(m.topic, []byte(m.payload))
			if err != nil {
				b.Fatal(err)
			}
			readings += len(ups)
		}
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
}
