package devices

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// availabilityNode is an Ingest with what the node stores of it, so a
// test can restart it as the node does: a fresh adapter set and Ingest
// from the stored registry and counter states.
type availabilityNode struct {
	t        *testing.T
	clk      *fakeClock
	adapters func() []Adapter
	stored   map[gridmint.DeviceID]CounterState
	known    []gridmint.Device
	in       *Ingest
}

func newAvailabilityNode(t *testing.T, adapters func() []Adapter) *availabilityNode {
	n := &availabilityNode{t: t, clk: &fakeClock{now: t0}, adapters: adapters, stored: map[gridmint.DeviceID]CounterState{}}
	n.restart()
	return n
}

func (n *availabilityNode) restart() {
	n.in = newTestIngest(n.t, IngestConfig{Adapters: n.adapters(), Discover: true, StaleAfter: time.Hour, Clock: n.clk,
		Known: n.known, States: maps.Clone(n.stored)})
}

// feed processes msgs at the clock's time plus d and stores the outcome.
func (n *availabilityNode) feed(d time.Duration, msgs ...mqttMsg) *Outcome {
	n.clk.Set(n.clk.Now().Add(d))
	o := n.in.Process(msgsAt(n.clk.Now(), msgs...))
	for _, r := range o.Rejections {
		if r.Reason != gridmint.ReasonDuplicate {
			n.t.Fatalf("%s rejected: %s %s", r.Topic, r.Reason, r.Detail)
		}
	}
	maps.Copy(n.stored, o.States)
	n.known = append(n.known, o.NewDevices...)
	n.in.Accept(o)
	return o
}

func (n *availabilityNode) online() map[string]bool {
	out := map[string]bool{}
	for _, d := range n.in.Devices() {
		out[d.Dialect+"/"+d.Serial] = d.Online
	}
	return out
}

func (n *availabilityNode) want(when string, want map[string]bool) {
	n.t.Helper()
	got := n.online()
	for k, w := range want {
		if got[k] != w {
			n.t.Errorf("%s: %s online %v, want %v (all: %v)", when, k, got[k], w, got)
		}
	}
}

// TestTasmotaLWTAfterRestartMarksEveryChannel: after a restart the fresh
// decoder does not know that topic "dual" has two channels; its retained
// LWT, which arrives before any SENSOR, must still reach both.
func TestTasmotaLWTAfterRestartMarksEveryChannel(t *testing.T) {
	n := newAvailabilityNode(t, func() []Adapter { return []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota"})} })
	n.feed(0, mqttMsg{"tele/dual/SENSOR", tasmotaDualR3}, mqttMsg{"tele/sonoff_desk/SENSOR", tasmotaSonoffDesk})
	n.restart()
	n.feed(time.Second, mqttMsg{"tele/dual/LWT", "Offline"})
	n.want("restarted, then the dual's retained LWT", map[string]bool{"tasmota/dual:1": false, "tasmota/dual:2": false, "tasmota/sonoff_desk": true})
	n.restart()
	n.want("restarted again", map[string]bool{"tasmota/dual:1": false, "tasmota/dual:2": false, "tasmota/sonoff_desk": true})
	n.feed(time.Second, mqttMsg{"tele/dual/LWT", "Online"})
	n.want("the LWT says online", map[string]bool{"tasmota/dual:1": true, "tasmota/dual:2": true})
}

// TestAvailabilityStoredOnChange: the online state is written with the
// counter state when it changes, and only then, so a chatty LWT costs no
// writes; a device that has no counter state yet (declared, not measured)
// gets one for it, with the time it was heard from.
func TestAvailabilityStoredOnChange(t *testing.T) {
	declared := gridmint.Device{ID: "0xnode/tasmota/boiler", Kind: gridmint.KindPlug, Dialect: "tasmota", Serial: "boiler", FirstSeen: t0}
	n := newAvailabilityNode(t, func() []Adapter { return []Adapter{mustAdapter(t, AdapterConfig{Dialect: "tasmota"})} })
	n.known = []gridmint.Device{declared}
	n.restart()
	n.want("declared, never heard", map[string]bool{"tasmota/boiler": false})

	o := n.feed(time.Second, mqttMsg{"tele/boiler/LWT", "Online"})
	if st, ok := o.States[declared.ID]; !ok || st.Availability != AvailabilityOnline || !st.Heard.Equal(n.clk.Now()) {
		t.Errorf("first LWT Online: stored %+v (%v), want online, heard now", st, ok)
	}
	if o := n.feed(time.Second, mqttMsg{"tele/boiler/LWT", "Online"}); len(o.States) != 0 {
		t.Errorf("LWT Online again: %d states written, want none", len(o.States))
	}
	n.restart()
	n.want("restarted after the LWT said online", map[string]bool{"tasmota/boiler": true})

	n.feed(time.Second, mqttMsg{"tele/boiler/SENSOR", tasmotaSonoffDesk})
	n.feed(time.Second, mqttMsg{"tele/boiler/LWT", "Offline"})
	n.restart()
	n.want("restarted after Offline, though the last reading is recent", map[string]bool{"tasmota/boiler": false})
	// Old data replayed at start (a retained SENSOR, a duplicate) is no
	// sign of life; a new reading is.
	if o := n.feed(time.Second, mqttMsg{"tele/boiler/SENSOR", tasmotaSonoffDesk}); len(o.Readings) != 0 {
		t.Fatalf("the same SENSOR again made readings: %v", o.Readings)
	}
	n.want("the same SENSOR again", map[string]bool{"tasmota/boiler": false})
	n.feed(time.Second, mqttMsg{"tele/boiler/SENSOR", strings.Replace(tasmotaSonoffDesk, "20:52:56", "20:53:06", 1)})
	n.want("a new SENSOR", map[string]bool{"tasmota/boiler": true})
}

// TestAvailabilityReachesDevicesOfTheSameBatch: an offline signal right
// after a device's first measurement, in one batch, applies to it, for a
// group (Shelly) and for a whole dialect (OpenDTU's dtu/status).
func TestAvailabilityReachesDevicesOfTheSameBatch(t *testing.T) {
	n := newAvailabilityNode(t, func() []Adapter {
		return []Adapter{mustAdapter(t, AdapterConfig{Dialect: "shelly"}), mustAdapter(t, AdapterConfig{Dialect: "opendtu"})}
	})
	msgs := append([]mqttMsg{
		{shellyPlug + "/status/switch:0", shelly1PMMiniGen3Status},
		{shellyPlug + "/online", "false"},
	}, openDTUCycle("114190641177", t0.Unix(), "412.5", "13.338")...)
	n.feed(0, append(msgs, mqttMsg{"solar/dtu/status", "offline"})...)
	want := map[string]bool{"shelly/" + shellyPlug + ":switch:0": false, "opendtu/114190641177": false}
	n.want("one batch", want)
	n.restart()
	n.want("restarted", want)
}

// TestRetainedTelemetryIsNoSignOfLife: what the broker replays at the
// node's start (retained telemetry without a device timestamp, here a
// Shelly status topic) is stored, but neither brings an offline device
// back nor makes a device heard from; the same values sent live do. A
// retained last will still counts.
func TestRetainedTelemetryIsNoSignOfLife(t *testing.T) {
	n := newAvailabilityNode(t, func() []Adapter { return []Adapter{mustAdapter(t, AdapterConfig{Dialect: "shelly"})} })
	status := shellyPlug + "/status/switch:0"
	key := "shelly/" + shellyPlug + ":switch:0"
	retained := func(msgs ...mqttMsg) *Outcome {
		n.clk.Set(n.clk.Now().Add(time.Second))
		in := msgsAt(n.clk.Now(), msgs...)
		for i := range in {
			in[i].Retained = true
		}
		o := n.in.Process(in)
		maps.Copy(n.stored, o.States)
		n.known = append(n.known, o.NewDevices...)
		n.in.Accept(o)
		return o
	}
	if o := retained(mqttMsg{status, `{"apower":60,"aenergy":{"total":389.816}}`}); len(o.Readings) != 1 {
		t.Fatalf("retained telemetry of a new device: readings %v, want it stored", o.Readings)
	}
	n.want("known only from retained telemetry", map[string]bool{key: false})
	n.feed(time.Second, mqttMsg{status, `{"apower":61}`})
	n.want("live telemetry", map[string]bool{key: true})
	n.feed(time.Second, mqttMsg{shellyPlug + "/online", "false"})
	n.restart()
	retained(mqttMsg{status, `{"apower":61,"aenergy":{"total":389.817}}`})
	n.want("restarted, the broker replays telemetry after the offline", map[string]bool{key: false})
	retained(mqttMsg{shellyPlug + "/online", "true"})
	n.want("a retained online=true (the device's birth message)", map[string]bool{key: true})
}

// TestGatewayOfflineSparesAnotherGateway: dtu/status offline of one
// OpenDTU marks its inverters offline, not those behind a second OpenDTU
// under another base topic.
func TestGatewayOfflineSparesAnotherGateway(t *testing.T) {
	n := newAvailabilityNode(t, func() []Adapter {
		return []Adapter{mustAdapter(t, AdapterConfig{Dialect: "opendtu", BaseTopic: "roof/"}), mustAdapter(t, AdapterConfig{Dialect: "opendtu", BaseTopic: "garage/"})}
	})
	roof := openDTUCycle("114190641177", t0.Unix(), "412.5", "13.338")
	garage := openDTUCycle("116181234567", t0.Unix(), "100", "2.5")
	for i := range roof {
		roof[i].topic = "roof/" + strings.TrimPrefix(roof[i].topic, "solar/")
	}
	for i := range garage {
		garage[i].topic = "garage/" + strings.TrimPrefix(garage[i].topic, "solar/")
	}
	n.feed(0, append(roof, garage...)...)
	n.feed(time.Second, mqttMsg{"garage/dtu/status", "offline"})
	n.want("the garage DTU gone", map[string]bool{"opendtu/114190641177": true, "opendtu/116181234567": false})
}
