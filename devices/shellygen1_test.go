package devices

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// Gen1 fixtures follow Shelly's Gen1 API documentation (MQTT sections of
// the Plug S and the 3EM): one plain number per topic; relay/<i>/energy
// in watt-minutes, emeter/<i>/total and total_returned in Wh, power in W.
// 23389 Wmin is the Plug S meter total of a /status capture in
// evcc-io/evcc issue 10974.
const (
	shellyGen1Plug = "shellyplug-s-C18B12"
	shellyGen13EM  = "shellyem3-C45BBE6A0F23"
)

func TestShellyGen1Decode(t *testing.T) {
	relay, phase := "shellies/"+shellyGen1Plug+"/relay/0/", "shellies/"+shellyGen13EM+"/emeter/2/"
	tests := []struct {
		name, topic, payload string
		want                 []Update
	}{
		{"relay power", relay + "power", "1780.10", []Update{shellySwitchUpdate(shellyGen1Plug+":relay:0", &Measurement{Power: shellyW(1780.1)})}},
		{"relay energy: watt-minutes, not Wh", relay + "energy", "23389", []Update{shellySwitchUpdate(shellyGen1Plug+":relay:0", &Measurement{Forward: shellyLife(389_816)})}},
		{"relay energy: 60 Wmin is exactly 1 Wh", relay + "energy", "60", []Update{shellySwitchUpdate(shellyGen1Plug+":relay:0", &Measurement{Forward: shellyLife(1_000)})}},
		{"relay energy with a fraction", relay + "energy", "7.5", []Update{shellySwitchUpdate(shellyGen1Plug+":relay:0", &Measurement{Forward: shellyLife(125)})}},
		{"second relay of a 2.5", "shellies/shellyswitch25-C45BBE795E62/relay/1/power", "42", []Update{shellySwitchUpdate("shellyswitch25-C45BBE795E62:relay:1", &Measurement{Power: shellyW(42)})}},
		{"emeter export is negative power", phase + "power", "-812.55", []Update{shellyMeterUpdate(shellyGen13EM+":emeter:2", &Measurement{Power: shellyW(-812.55)})}},
		{"emeter total: Wh", phase + "total", "1075513.1", []Update{shellyMeterUpdate(shellyGen13EM+":emeter:2", &Measurement{Forward: shellyLife(1_075_513_100)})}},
		{"emeter total_returned: Wh, the reverse counter", phase + "total_returned", "3.09", []Update{shellyMeterUpdate(shellyGen13EM+":emeter:2", &Measurement{Reverse: shellyLife(3_090)})}},
		{"online speaks for every device of the id", "shellies/" + shellyGen1Plug + "/online", "false", []Update{{Group: "shellies/" + shellyGen1Plug, Availability: AvailabilityOffline}}},
		{"a value gridmint does not read", phase + "voltage", "231.2", nil},
		{"a zero-byte retained message clears a topic", relay + "power", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
			got, err := a.Decode(tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatalf("Decode(%s %q): %v", tt.topic, tt.payload, err)
			}
			checkDecoded(t, got, nil)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%s %q)\n got %s %s\nwant %s %s", tt.topic, tt.payload, fmtUpdates(got), shellyKinds(got), fmtUpdates(tt.want), shellyKinds(tt.want))
			}
		})
	}
}

func TestShellyGen1Merges(t *testing.T) {
	a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
	relay := "shellies/" + shellyGen1Plug + "/relay/0/"
	got := decodeAll(t, a, []mqttMsg{
		{relay + "energy", "23389"},
		{relay + "power", "12.5"},
		{relay + "energy", "23389"}, // re-sent every update period
		{relay + "power", "13"},
	})
	serial := shellyGen1Plug + ":relay:0"
	want := []Update{
		shellySwitchUpdate(serial, &Measurement{Forward: shellyLife(389_816)}),
		shellySwitchUpdate(serial, &Measurement{Power: shellyW(12.5), Forward: shellyLife(389_816)}),
		{Serial: serial},
		shellySwitchUpdate(serial, &Measurement{Power: shellyW(13), Forward: shellyLife(389_816)}),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %s\nwant %s", fmtUpdates(got), fmtUpdates(want))
	}
}

func TestShellyGen1Rejects(t *testing.T) {
	relay := "shellies/" + shellyGen1Plug + "/relay/0/"
	tests := []struct {
		name, topic, payload string
		want                 gridmint.Reason
	}{
		{"power not a number", relay + "power", "abc", gridmint.ReasonMalformed},
		{"power nan", relay + "power", "nan", gridmint.ReasonNotFinite},
		{"power beyond any home device", relay + "power", "2e6", gridmint.ReasonAbsurd},
		{"negative counter", relay + "energy", "-5", gridmint.ReasonNegative},
		{"counter beyond 1 GWh", "shellies/" + shellyGen13EM + "/emeter/0/total", "1e13", gridmint.ReasonAbsurd},
		{"online neither true nor false", "shellies/" + shellyGen1Plug + "/online", "maybe", gridmint.ReasonMalformed},
		{"index with a leading zero", "shellies/" + shellyGen1Plug + "/relay/01/power", "1", gridmint.ReasonUnknownTopic},
		{"index not a number", "shellies/" + shellyGen1Plug + "/relay/x/power", "1", gridmint.ReasonUnknownTopic},
	}
	for _, tt := range tests {
		a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
		ups, err := a.Decode(tt.topic, []byte(tt.payload))
		checkDecoded(t, ups, err)
		if got, _ := reasonOf(err); err == nil || got != tt.want {
			t.Errorf("%s: Decode(%s %q) = %s, %v; want %s", tt.name, tt.topic, tt.payload, fmtUpdates(ups), err, tt.want)
		}
	}
}

// TestShellyGen1Ingest: a Plug S's relay counter restarts at 0 when the
// plug reboots (it is kept in RAM); the normaliser credits the energy
// since the reboot and never counts backwards. Its last will, retained,
// marks it offline after a node restart too.
func TestShellyGen1Ingest(t *testing.T) {
	clk := &fakeClock{now: t0}
	stored := map[gridmint.DeviceID]CounterState{}
	start := func(known []gridmint.Device) (*Ingest, Adapter) {
		a := mustAdapter(t, AdapterConfig{Dialect: "shelly"})
		return newTestIngest(t, IngestConfig{Adapters: []Adapter{a}, Discover: true, StaleAfter: time.Hour, Clock: clk,
			Known: known, States: maps.Clone(stored)}), a
	}
	relay := "shellies/" + shellyGen1Plug + "/relay/0/"
	in, a := start(nil)
	for i, v := range []string{"23389", "23419", "12", "30"} { // 30 Wmin, a reboot, 18 Wmin
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		clk.Set(at)
		o := in.Process(msgsAt(at, mqttMsg{relay + "energy", v}, mqttMsg{relay + "power", "60"}))
		if len(o.Rejections) > 0 {
			t.Fatalf("%s: %v", v, o.Rejections)
		}
		maps.Copy(stored, o.States)
		in.Accept(o)
	}
	st, _, ok := in.Device(gridmint.DeviceID("0xnode/shelly/" + shellyGen1Plug + ":relay:0"))
	if !ok {
		t.Fatal("relay not discovered")
	}
	// 389 816 mWh at first; +500 (30 Wmin); the reboot's 12 + 18 Wmin = 500.
	if want := gridmint.MWh(389_816 + 500 + 500); st.Energy != want || st.Kind != gridmint.KindPlug || !st.Online {
		t.Errorf("relay: energy %v kind %s online %v; want %v, plug, online", st.Energy, st.Kind, st.Online, want)
	}
	if kind, caps, ok := a.(Classifier).Classify(st.Serial); !ok || kind != st.Kind || !reflect.DeepEqual(caps, st.Capabilities) {
		t.Errorf("Classify = %s %v %v; discovered as %s %v", kind, caps, ok, st.Kind, st.Capabilities)
	}

	in, _ = start([]gridmint.Device{st.Device})
	clk.Set(t0.Add(5 * time.Minute))
	o := in.Process(msgsAt(clk.Now(), mqttMsg{"shellies/" + shellyGen1Plug + "/online", "false"}))
	maps.Copy(stored, o.States)
	in.Accept(o)
	if st, _, _ := in.Device(st.ID); st.Online || st.Availability != AvailabilityOffline {
		t.Errorf("after a restart and the retained online=false: online %v availability %d, want offline", st.Online, st.Availability)
	}
	in, _ = start([]gridmint.Device{st.Device})
	if st, _, _ := in.Device(st.ID); st.Online {
		t.Error("restarted again: online, want offline as stored")
	}
}
