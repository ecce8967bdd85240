package devices

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// fakeClock is a settable Clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

func newTestIngest(t *testing.T, cfg IngestConfig) *Ingest {
	t.Helper()
	if cfg.Node == "" {
		cfg.Node = "0xnode"
	}
	if cfg.Adapters == nil {
		cfg.Adapters = []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota"}), mustAdapter(t, AdapterConfig{Dialect: "opendtu"})}
	}
	in, err := NewIngest(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func msgsAt(at time.Time, ms ...mqttMsg) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = Message{Topic: m.topic, Payload: []byte(m.payload), Received: at}
	}
	return out
}

func reasons(o *Outcome) []gridmint.Reason {
	var rs []gridmint.Reason
	for _, r := range o.Rejections {
		rs = append(rs, r.Reason)
	}
	return rs
}

func TestIngestBothDialectsEndToEnd(t *testing.T) {
	clk := &fakeClock{now: t0}
	in := newTestIngest(t, IngestConfig{Discover: true, StaleAfter: time.Minute, Clock: clk})

	batch := msgsAt(t0, openDTUCycle("114190641177", t0.Unix(), "412.5", "13.338")...)
	batch = append(batch, msgsAt(t0,
		mqttMsg{"tele/dual/LWT", "Online"},
		mqttMsg{"tele/dual/SENSOR", tasmotaDualR3},
	)...)
	o := in.Process(batch)
	if len(o.Rejections) != 0 {
		t.Fatalf("rejections: %+v", o.Rejections)
	}
	if got := len(o.NewDevices); got != 3 { // the inverter, dual:1, dual:2; the LWT before the first SENSOR adds none
		t.Fatalf("new devices = %d (%v), want 3", got, o.NewDevices)
	}
	wantEnergy := map[gridmint.DeviceID]gridmint.MWh{
		"0xnode/opendtu/114190641177": 13_338_000,
		"0xnode/tasmota/dual:1":       2_813_000,
		"0xnode/tasmota/dual:2":       254_000,
	}
	if len(o.Readings) != len(wantEnergy) {
		t.Fatalf("readings = %v, want %d", o.Readings, len(wantEnergy))
	}
	for _, r := range o.Readings {
		if want, ok := wantEnergy[r.Device]; !ok || r.Energy != want {
			t.Errorf("reading %v: energy want %v", r, want)
		}
		if !r.Time.Equal(t0) {
			t.Errorf("reading %v: time want %v", r, t0)
		}
	}
	if o.Ignored == 0 {
		t.Error("Ignored = 0, want the unused OpenDTU topics counted")
	}

	// Nothing is visible before Accept.
	if got := in.Devices(); len(got) != 0 {
		t.Fatalf("Devices() before Accept = %v, want none", got)
	}
	in.Accept(o)
	byID := map[gridmint.DeviceID]DeviceState{}
	for _, d := range in.Devices() {
		byID[d.ID] = d
	}
	inv := byID["0xnode/opendtu/114190641177"]
	if !inv.Online || inv.Power != 412.5 || inv.Energy != 13_338_000 || inv.Kind != gridmint.KindPVInverter {
		t.Errorf("inverter state = %+v", inv)
	}
	if ch2 := byID["0xnode/tasmota/dual:2"]; !ch2.Online || ch2.Power != 5 || ch2.Kind != gridmint.KindPlug {
		t.Errorf("dual:2 state = %+v", ch2)
	}

	// The node reconnects: the broker re-sends retained OpenDTU values.
	t1 := t0.Add(30 * time.Second)
	o = in.Process(msgsAt(t1, openDTUCycle("114190641177", t0.Unix(), "412.5", "13.338")...))
	if got := reasons(o); len(got) != 1 || got[0] != gridmint.ReasonDuplicate || len(o.Readings) != 0 {
		t.Fatalf("retained re-send: rejections %v readings %v, want one duplicate", got, o.Readings)
	}
	in.Accept(o)
	for _, d := range in.Devices() {
		if d.ID == "0xnode/opendtu/114190641177" && d.ReportedName != "HM-800" {
			t.Errorf("inverter reported name = %q after a full cycle, want HM-800", d.ReportedName)
		}
	}

	// Stale: nothing from the plug for over a minute.
	clk.Set(t0.Add(2 * time.Minute))
	for _, d := range in.Devices() {
		if d.ID == "0xnode/tasmota/dual:1" && d.Online {
			t.Errorf("dual:1 online after 2 minutes of silence")
		}
	}
}

func TestIngestRejectsAndKeepsRawBytes(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true})
	raw := `{"ENERGY":{"Total":"x"}}`
	o := in.Process(msgsAt(t0,
		mqttMsg{"tele/p/SENSOR", raw},
		mqttMsg{"solar/kitchen/0/power", "1"},
		mqttMsg{"somewhere/else", "1"},
	))
	want := []gridmint.Reason{gridmint.ReasonWrongType, gridmint.ReasonUnknownTopic, gridmint.ReasonUnknownTopic}
	got := reasons(o)
	if len(got) != len(want) {
		t.Fatalf("reasons = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("rejection %d reason = %q, want %q", i, got[i], want[i])
		}
	}
	r := o.Rejections[0]
	if string(r.Raw) != raw || r.Dialect != "tasmota" || r.Device != "0xnode/tasmota/p" || r.Topic != "tele/p/SENSOR" || r.Detail == "" {
		t.Errorf("rejection = %+v", r)
	}
	if len(o.Readings) != 0 || len(o.NewDevices) != 0 {
		t.Errorf("bad input produced readings %v / devices %v", o.Readings, o.NewDevices)
	}
}

func TestIngestDiscoveryOff(t *testing.T) {
	declared := gridmint.Device{ID: "0xnode/tasmota/known", Kind: gridmint.KindMeter, Dialect: "tasmota", Serial: "known", Nameplate: 5000}
	in := newTestIngest(t, IngestConfig{Declared: []gridmint.Device{declared}})
	o := in.Process(msgsAt(t0,
		mqttMsg{"tele/known/SENSOR", `{"ENERGY":{"Total":1,"Power":2}}`},
		mqttMsg{"tele/stranger/SENSOR", `{"ENERGY":{"Total":1,"Power":2}}`},
	))
	if got := reasons(o); len(got) != 1 || got[0] != gridmint.ReasonUnknownDevice {
		t.Errorf("reasons = %v, want [unknown_device]", got)
	}
	if len(o.Readings) != 1 || o.Readings[0].Device != declared.ID {
		t.Errorf("readings = %v, want one for %s", o.Readings, declared.ID)
	}
	in.Accept(o)
	if ds := in.Devices(); len(ds) != 1 || ds[0].Kind != gridmint.KindMeter {
		t.Errorf("devices = %+v, want the declared meter only", ds)
	}
}

func TestIngestDeclaredDeviceNeedsAdapter(t *testing.T) {
	_, err := NewIngest(IngestConfig{Node: "n", Declared: []gridmint.Device{{ID: "n/shelly/x", Kind: gridmint.KindPlug, Dialect: "shelly", Serial: "x"}}})
	if gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("error = %v, want invalid (no shelly adapter)", err)
	}
}

func TestIngestNothingChangesBeforeAccept(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true})
	first := in.Process(msgsAt(t0, mqttMsg{"tele/p/SENSOR", `{"Time":"2026-01-01T00:00:00","ENERGY":{"Total":1,"Power":2}}`}))
	in.Accept(first)
	// The normaliser state moves only on Accept: processing the next
	// message twice without accepting gives the same reading twice.
	msgs := msgsAt(t0.Add(time.Minute), mqttMsg{"tele/p/SENSOR", `{"Time":"2026-01-01T00:01:00","ENERGY":{"Total":1.001,"Power":2}}`})
	o1 := in.Process(msgs)
	o2 := in.Process(msgs)
	if len(o1.Readings) != 1 || len(o2.Readings) != 1 || o1.Readings[0] != o2.Readings[0] {
		t.Errorf("reprocessing gave %v, first time %v", o2.Readings, o1.Readings)
	}
}

func TestIngestRestartResumesFromStoredState(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true})
	o := in.Process(msgsAt(t0, mqttMsg{"tele/p/SENSOR", `{"ENERGY":{"Total":10,"Power":2}}`}))
	in.Accept(o)
	// Restart: a new Ingest from what the store would hold.
	in2 := newTestIngest(t, IngestConfig{Known: o.NewDevices, States: o.States})
	o = in2.Process(msgsAt(t0.Add(time.Minute), mqttMsg{"tele/p/SENSOR", `{"ENERGY":{"Total":10.002,"Power":2}}`}))
	if len(o.Readings) != 1 || o.Readings[0].Energy != 10_002_000 || o.Readings[0].Event != gridmint.EventNone {
		t.Errorf("after restart: %v", o.Readings)
	}
	if ds := in2.Devices(); len(ds) != 1 || ds[0].Energy != 10_000_000 {
		t.Errorf("restored live energy = %+v, want 10 kWh", ds)
	}
}

func FuzzIngest(f *testing.F) {
	f.Add("tele/p/SENSOR", []byte(tasmotaSonoffDesk), "solar/1161/0/yieldtotal", []byte("1.5"), false)
	f.Add("tele/p/SENSOR", []byte(tasmotaSonoffDesk), "tele/p/LWT", []byte("Offline"), true)
	f.Add(shellyPlug+"/status/switch:0", []byte(shelly1PMMiniGen3Status), shellyPlug+"/online", []byte("false"), true)
	f.Add(shellyPlug+"/online", []byte("false"), shellyPlug+"/status/switch:0", []byte(`{"apower":1}`), true)
	f.Add("shellies/"+shellyGen1Plug+"/online", []byte("false"), "shellies/"+shellyGen1Plug+"/relay/0/energy", []byte("23389"), true)
	adapters := func(t *testing.T) []Adapter {
		return []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota"}), mustAdapter(t, AdapterConfig{Dialect: "opendtu"}), mustAdapter(t, AdapterConfig{Dialect: "shelly"})}
	}
	f.Fuzz(func(t *testing.T, topic1 string, p1 []byte, topic2 string, p2 []byte, retained bool) {
		in := newTestIngest(t, IngestConfig{Adapters: adapters(t), Discover: true})
		o := in.Process([]Message{{Topic: topic1, Payload: p1, Received: t0}, {Topic: topic2, Payload: p2, Received: t0.Add(time.Second), Retained: retained}})
		for _, r := range o.Rejections {
			if r.Reason == "" {
				t.Fatalf("rejection without reason: %+v", r)
			}
		}
		for _, r := range o.Readings {
			if r.Energy < 0 {
				t.Fatalf("negative energy: %v", r)
			}
		}
		// The same input cut by the node as it arrived (Message.Size) is
		// rejected unread, with its size.
		size := len(p1) + 1 + len(topic2)%(2*MaxPayload)
		cut := in.Process([]Message{{Topic: topic1, Payload: p1, Size: size, Received: t0.Add(2 * time.Second)}})
		if n := len(cut.Rejections) + cut.Suppressed[gridmint.ReasonMalformed] + cut.Suppressed[gridmint.ReasonUnknownTopic]; n != 1 || len(cut.Readings) != 0 {
			t.Fatalf("a cut payload: %d readings, %d rejections (%v suppressed); want it rejected", len(cut.Readings), len(cut.Rejections), cut.Suppressed)
		}
		for _, r := range cut.Rejections {
			if r.RawLen != size || r.Reason != gridmint.ReasonMalformed && r.Reason != gridmint.ReasonUnknownTopic {
				t.Fatalf("a cut payload: %s, RawLen %d; want malformed (or an unknown topic) with RawLen %d", r.Reason, r.RawLen, size)
			}
		}
		in.Accept(o)
		// A restart from what the node stores keeps every device's online
		// state.
		var known []gridmint.Device
		for _, d := range in.Devices() {
			known = append(known, d.Device)
		}
		again := newTestIngest(t, IngestConfig{Adapters: adapters(t), Known: known, States: o.States})
		for _, d := range in.Devices() {
			if st, _, _ := again.Device(d.ID); st.Availability != d.Availability {
				t.Fatalf("%s: availability %d after a restart, %d before", d.ID, st.Availability, d.Availability)
			}
		}
	})
}

func TestIngestDTUOfflineReachesEveryInverter(t *testing.T) {
	// An inverter known only from the store (not seen since the restart)
	// goes offline with its gateway too.
	known := gridmint.Device{ID: "0xnode/opendtu/aa01", Kind: gridmint.KindPVInverter, Dialect: "opendtu", Serial: "aa01"}
	plug := gridmint.Device{ID: "0xnode/tasmota/p", Kind: gridmint.KindPlug, Dialect: "tasmota", Serial: "p"}
	in := newTestIngest(t, IngestConfig{Known: []gridmint.Device{known, plug}, StaleAfter: time.Hour, Clock: &fakeClock{now: t0}})
	in.Accept(in.Process(msgsAt(t0, mqttMsg{"tele/p/LWT", "Online"}, mqttMsg{"solar/aa01/status/reachable", "1"})))
	in.Accept(in.Process(msgsAt(t0, mqttMsg{"solar/dtu/status", "offline"})))
	for _, d := range in.Devices() {
		want := d.Dialect != "opendtu"
		if d.Online != want {
			t.Errorf("%s online = %v after dtu/status offline, want %v", d.ID, d.Online, want)
		}
	}
}

func TestIngestRejectsUnstorableSerial(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true})
	long := strings.Repeat("x", 300)
	o := in.Process(msgsAt(t0, mqttMsg{"tele/" + long + "/SENSOR", `{"ENERGY":{"Total":1}}`}, mqttMsg{"tele/ok/SENSOR", `{"ENERGY":{"Total":1}}`}))
	if got := reasons(o); len(got) != 1 || got[0] != gridmint.ReasonMalformed {
		t.Errorf("reasons = %v, want [malformed] for the 300-character serial", got)
	}
	if len(o.Readings) != 1 || o.Readings[0].Device != "0xnode/tasmota/ok" {
		t.Errorf("readings = %v, want the good device's only", o.Readings)
	}
}

func TestIngestMaxDevices(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true, MaxDevices: 2})
	o := in.Process(msgsAt(t0,
		mqttMsg{"tele/a/SENSOR", `{"ENERGY":{"Total":1}}`},
		mqttMsg{"tele/b/SENSOR", `{"ENERGY":{"Total":1}}`},
		mqttMsg{"tele/c/SENSOR", `{"ENERGY":{"Total":1}}`},
		mqttMsg{"tele/a/SENSOR", `{"ENERGY":{"Total":1.001}}`},
	))
	if got := reasons(o); len(got) != 1 || got[0] != gridmint.ReasonUnknownDevice || len(o.NewDevices) != 2 || len(o.Readings) != 3 {
		t.Errorf("reasons %v, new devices %d, readings %d; want one unknown_device, 2 devices, 3 readings", got, len(o.NewDevices), len(o.Readings))
	}
}

func TestIngestRedeliveredOldMessageIsDuplicate(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true})
	for i, ts := range []string{"00:00:00", "00:01:00", "00:02:00"} {
		in.Accept(in.Process(msgsAt(t0.Add(time.Duration(i)*time.Minute),
			mqttMsg{"tele/p/SENSOR", `{"Time":"2026-01-01T` + ts + `","ENERGY":{"Total":1.00` + string(rune('0'+i)) + `}}`})))
	}
	old := mqttMsg{"tele/p/SENSOR", `{"Time":"2025-12-31T23:59:00","ENERGY":{"Total":0.999}}`}
	late := in.Process(msgsAt(t0.Add(5*time.Minute), old))
	again := msgsAt(t0.Add(5*time.Minute), old)
	again[0].Redelivered = true
	dup := in.Process(again)
	if got := reasons(late); len(got) != 1 || got[0] != gridmint.ReasonOutOfOrder {
		t.Errorf("late message: %v, want out_of_order", got)
	}
	if got := reasons(dup); len(got) != 1 || got[0] != gridmint.ReasonDuplicate {
		t.Errorf("the same message with the DUP flag: %v, want duplicate", got)
	}
}

func TestIngestRateLimits(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true, RateLimit: RateLimit{PerSecond: 1, Burst: 10}})
	var msgs []Message
	for i := 0; i < 50; i++ {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond) // 100 per second
		msgs = append(msgs, Message{Topic: "tele/chatty/SENSOR", Received: at,
			Payload: []byte(`{"ENERGY":{"Total":1.` + strings.Repeat("0", 2) + string(rune('0'+i%10)) + `,"Power":5}}`)})
		msgs = append(msgs, Message{Topic: "tele/broken/SENSOR", Received: at, Payload: []byte(`{"ENERGY":`)})
	}
	o := in.Process(msgs)
	if got := len(o.Readings) + o.Suppressed[gridmint.ReasonRateLimited]; got != 50 {
		t.Fatalf("readings %d + rate-limited %d = %d, want 50", len(o.Readings), o.Suppressed[gridmint.ReasonRateLimited], got)
	}
	if len(o.Readings) > 11 {
		t.Errorf("%d readings in half a second from a device allowed 10 + 1/s", len(o.Readings))
	}
	malformed := 0
	for _, r := range o.Rejections {
		if r.Reason == gridmint.ReasonMalformed {
			malformed++
		}
	}
	if malformed != 20 || o.Suppressed[gridmint.ReasonMalformed] != 30 {
		t.Errorf("malformed kept %d, counted only %d; want 20 kept (the topic's burst) and 30 counted", malformed, o.Suppressed[gridmint.ReasonMalformed])
	}
}

// TestIngestRejectionAllowanceOfInventedTopics: a sender that invents a
// new topic (a new serial) per message gets no fresh allowance each time:
// inputs that name no registered device share a few allowances per
// dialect, and a registered device keeps its own, whatever the garbage
// does. Every input is counted.
func TestIngestRejectionAllowanceOfInventedTopics(t *testing.T) {
	for _, discover := range []bool{true, false} {
		t.Run(fmt.Sprintf("discover=%v", discover), func(t *testing.T) {
			in := newTestIngest(t, IngestConfig{Discover: discover,
				Declared: []gridmint.Device{{ID: "0xnode/tasmota/plug", Kind: gridmint.KindPlug, Dialect: "tasmota", Serial: "plug"}}})
			var msgs []Message
			for i := range 1000 {
				topic := fmt.Sprintf("tele/x%04d/SENSOR", i) // malformed
				payload := `{"ENERGY":`
				switch {
				case i%3 == 1:
					topic = fmt.Sprintf("solar/x%04d/0/power", i) // opendtu: not a number
					payload = "garbage"
				case i%3 == 2 && !discover:
					payload = `{"ENERGY":{"Total":1}}` // well-formed, from an undeclared device
				}
				msgs = append(msgs, Message{Topic: topic, Payload: []byte(payload), Received: t0})
			}
			o := in.Process(msgs)
			suppressed := 0
			for _, n := range o.Suppressed {
				suppressed += n
			}
			if got := len(o.Rejections) + suppressed + len(o.Readings); got != len(msgs) {
				t.Fatalf("%d kept + %d counted only + %d readings = %d, want every one of %d inputs", len(o.Rejections), suppressed, len(o.Readings), got, len(msgs))
			}
			// Two dialects, unknownSourceBuckets allowances each, of 20 at once.
			if max := 2 * unknownSourceBuckets * int(DefaultRejectionLimit.Burst); len(o.Rejections) > max {
				t.Errorf("%d rejections kept from 1000 invented topics, want at most %d", len(o.Rejections), max)
			}
			if keys := in.rejected.Keys(); keys > 2*unknownSourceBuckets {
				t.Errorf("the rejection limiter holds %d keys after 1000 invented topics, want at most %d", keys, 2*unknownSourceBuckets)
			}
			// The id the topic claims is still recorded, for the homeowner.
			if r := o.Rejections[0]; r.Device != "0xnode/tasmota/x0000" {
				t.Errorf("first rejection names device %q, want the id its topic claims", r.Device)
			}
			in.Accept(o)

			// The declared plug's own broken messages, at the same instant:
			// its whole allowance is there.
			var broken []Message
			for range 30 {
				broken = append(broken, Message{Topic: "tele/plug/SENSOR", Payload: []byte(`{"ENERGY":`), Received: t0})
			}
			o = in.Process(broken)
			if len(o.Rejections) != int(DefaultRejectionLimit.Burst) || o.Suppressed[gridmint.ReasonMalformed] != 30-int(DefaultRejectionLimit.Burst) {
				t.Errorf("the plug's broken messages after the flood: %d kept, %d counted only; want %v kept", len(o.Rejections), o.Suppressed[gridmint.ReasonMalformed], DefaultRejectionLimit.Burst)
			}
		})
	}
}

// TestIngestOversizedPayload: a payload over MaxPayload, whole or cut by
// the node before it queued it (Message.Size), is malformed, unread, and
// its rejection keeps the size.
func TestIngestOversizedPayload(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true})
	head := []byte(strings.Repeat(`{"ENERGY":{"Total":1}}`, 10))
	o := in.Process([]Message{
		{Topic: "tele/plug/SENSOR", Payload: head, Size: 1 << 20, Received: t0},
		{Topic: "tele/plug/SENSOR", Payload: make([]byte, MaxPayload+1), Received: t0},
		{Topic: "tele/plug/SENSOR", Payload: []byte(`{"ENERGY":{"Total":1}}`), Size: 22, Received: t0}, // Size = len: whole
	})
	if len(o.Rejections) != 2 || len(o.Readings) != 1 {
		t.Fatalf("rejections %v, readings %d; want the two oversized rejected and the last one read", reasons(o), len(o.Readings))
	}
	for i, want := range []struct{ size, rawLen int }{{1 << 20, 1 << 20}, {MaxPayload + 1, 0}} {
		r := o.Rejections[i]
		if r.Reason != gridmint.ReasonMalformed || r.RawLen != want.rawLen || r.Dialect != "tasmota" ||
			r.Detail != fmt.Sprintf("payload of %d bytes exceeds %d", want.size, MaxPayload) {
			t.Errorf("rejection %d: %s, RawLen %d, dialect %q, %q; want malformed, RawLen %d, naming %d bytes", i, r.Reason, r.RawLen, r.Dialect, r.Detail, want.rawLen, want.size)
		}
	}
	// Cut below MaxPayload (the node never does): not read either.
	o = in.Process([]Message{{Topic: "tele/plug/SENSOR", Payload: []byte(`{"ENERGY":{"Total":2}}`), Size: 100, Received: t0.Add(time.Second)}})
	if len(o.Readings) != 0 || len(o.Rejections) != 1 || o.Rejections[0].RawLen != 100 {
		t.Errorf("a cut payload: readings %v, rejections %+v; want one rejection with RawLen 100", o.Readings, o.Rejections)
	}
}

func TestIngestUpdateDevice(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true})
	in.Accept(in.Process(msgsAt(t0, mqttMsg{"tele/p/SENSOR", `{"ENERGY":{"Total":1}}`})))
	st, a, ok := in.Device("0xnode/tasmota/p")
	if !ok || a == nil || a.Dialect() != "tasmota" {
		t.Fatalf("Device = %+v, %v, %v", st, a, ok)
	}
	d := st.Device
	d.Name, d.Nameplate, d.OptOut = "Kettle", 2200, true
	if err := in.UpdateDevice(d); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := in.Device(d.ID); st.Name != "Kettle" || !st.OptOut || st.Nameplate != 2200 {
		t.Errorf("after UpdateDevice: %+v", st.Device)
	}
	d.Serial = "other"
	if err := in.UpdateDevice(d); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("changing the serial: %v, want invalid", err)
	}
	if err := in.UpdateDevice(gridmint.Device{ID: "0xnode/tasmota/zz", Kind: gridmint.KindPlug, Dialect: "tasmota", Serial: "zz"}); gridmint.ErrorCode(err) != gridmint.ENotFound {
		t.Errorf("unknown device: %v, want not_found", err)
	}
}

// serialless is an adapter whose decoder returns a measurement without a
// serial (a decoder bug): it must be counted, not dropped.
type serialless struct{ Adapter }

func (serialless) Decode(string, []byte) ([]Update, error) {
	p := gridmint.W(5)
	return []Update{{Measurement: &Measurement{Power: &p}}, {Group: "g", Measurement: &Measurement{Power: &p}}}, nil
}

func TestIngestCountsMeasurementWithoutDevice(t *testing.T) {
	in := newTestIngest(t, IngestConfig{Discover: true, Adapters: []Adapter{serialless{mustAdapter(t, AdapterConfig{Dialect: "tasmota"})}}})
	o := in.Process(msgsAt(t0, mqttMsg{"tele/x/SENSOR", "{}"}))
	if got := reasons(o); len(got) != 2 || got[0] != gridmint.ReasonMalformed || got[1] != gridmint.ReasonMalformed || o.Ignored != 0 {
		t.Errorf("rejections %v, ignored %d; want two malformed (one per measurement), none ignored", got, o.Ignored)
	}
}

// TestIngestReportsCapsOnce: an adapter's device cap and the registry's
// refuse devices beyond them; each is reported in the first outcome that
// hits it, and stays listed.
func TestIngestReportsCapsOnce(t *testing.T) {
	goe := mustAdapter(t, AdapterConfig{Dialect: "goe", MaxDevices: 2})
	in := newTestIngest(t, IngestConfig{Discover: true, MaxDevices: 3, Adapters: []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota"}), goe}})
	var msgs []mqttMsg
	for i := range 3 {
		msgs = append(msgs, mqttMsg{fmt.Sprintf("go-eCharger/00000%d/eto", i), "1000"})
	}
	o := in.Process(msgsAt(t0, msgs...))
	in.Accept(o)
	if len(o.NewDevices) != 2 || len(o.CapsReached) != 1 || o.CapsReached[0].Setting != "adapters[1].max_devices" || o.CapsReached[0].Limit != 2 {
		t.Fatalf("new devices %d, caps %+v; want 2 chargers and adapters[1].max_devices (2) reached", len(o.NewDevices), o.CapsReached)
	}
	o = in.Process(msgsAt(t0, mqttMsg{"go-eCharger/000009/eto", "1000"}, mqttMsg{"tele/a/SENSOR", tasmotaSonoffDesk}, mqttMsg{"tele/b/SENSOR", tasmotaSonoffDesk}))
	in.Accept(o)
	if len(o.CapsReached) != 1 || o.CapsReached[0].Setting != "max_devices" || o.CapsReached[0].Limit != 3 {
		t.Errorf("second batch caps %+v; want only max_devices (3), the go-e cap said before", o.CapsReached)
	}
	got := in.CapsReached()
	if len(got) != 2 || got[0].Setting != "adapters[1].max_devices" || got[1].Setting != "max_devices" || !strings.Contains(got[0].First, "max_devices") {
		t.Errorf("CapsReached = %+v", got)
	}
}
