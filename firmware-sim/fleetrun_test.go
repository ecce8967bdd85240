package firmwaresim

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// runFleet starts Run on a fleet against broker and returns a stop
// function that waits for Run to return nil. The test's cleanup stops Run
// too (before the broker closes), should the test fail before it does.
func runFleet(t *testing.T, f *Fleet) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := waitRun(t, done); err != nil && err != errRunHung {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitFleet(t *testing.T, f *Fleet, what string, cond func(FleetStats) bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond(f.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stats %+v", what, f.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFleetSharedConnections runs a fleet over shared connections against
// a broker: every home's telemetry arrives under its own topics with the
// dialect's retain flags, commands reach the right device of the right
// home and are answered, a Victron GX publishes after a keep-alive, and a
// clean shutdown publishes every device's will payload.
func TestFleetSharedConnections(t *testing.T) {
	_, broker := startBroker(t)
	f, err := NewFleet(FleetConfig{
		Homes: 6, Specs: allKindsSpecs, Seed: 2, Broker: broker, Period: 50 * time.Millisecond,
		Connections: ConnShared, HomesPerConnection: 4, ClientPrefix: "t-",
		ProfileStart: time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(t, broker, "rec", "#")
	stop := runFleet(t, f)
	waitFleet(t, f, "both shards connected", func(s FleetStats) bool { return s.Connections == 2 && s.Connected == 2 })

	// Telemetry of home 1 (OpenDTU) and home 4 (AhoyDTU), retained as the
	// firmware retains it.
	dev := func(home int, dialect string) FleetDevice {
		for _, d := range f.Devices() {
			if d.Home == home && d.Dialect == dialect {
				return d
			}
		}
		t.Fatalf("home %d has no %s", home, dialect)
		return FleetDevice{}
	}
	inv := dev(1, "opendtu")
	rec.waitFor(t, 0, "home 1's inverter power", topicIs("solar-1/"+inv.Serial+"/0/power"))
	late := newRecorder(t, broker, "late", "solar-1/"+inv.Serial+"/0/power")
	if m := late.waitFor(t, 0, "the retained power", topicIs("solar-1/"+inv.Serial+"/0/power")); !m.retained {
		t.Error("OpenDTU power not retained")
	}
	rec.waitFor(t, 0, "home 4's AhoyDTU", topicIs("inverter-4/"+dev(4, "ahoydtu").Serial+"/ch0/P_AC"))
	rec.waitFor(t, 0, "home 3's Shelly meter online", func(r received) bool {
		return strings.HasSuffix(r.topic, "/online") && r.payload == "true" && strings.Contains(r.topic, "02a1b3100003")
	})

	// A command to home 3's charger (second shard) is routed to it only.
	ev := dev(3, "goe")
	from := rec.mark()
	rec.publish(t, "go-eCharger/"+ev.Serial+"/amp/set", "7", false)
	rec.waitFor(t, from, "the go-e result", func(r received) bool {
		return r.topic == "go-eCharger/"+ev.Serial+"/amp/result" && r.payload == "success"
	})
	if g := f.Homes()[2].goes[0]; g.amp != 7 {
		t.Errorf("home 3's charger amp %d, want 7", g.amp)
	}
	if g := f.Homes()[0].goes[0]; g.amp != 16 {
		t.Errorf("home 1's charger amp %d changed", g.amp)
	}

	// A GX is silent until a keep-alive, then publishes its values.
	bat := dev(2, "victron")
	from = rec.mark()
	rec.publish(t, "R/"+bat.Adapter.PortalID+"/keepalive", "", false)
	rec.waitFor(t, from, "the GX's full publish", topicIs("N/"+bat.Adapter.PortalID+"/full_publish_completed"))
	rec.waitFor(t, from, "the GX's battery power", topicIs("N/"+bat.Adapter.PortalID+"/battery/514/Dc/0/Power"))

	if st := f.Stats(); st.Published == 0 || st.Bytes == 0 || st.Commands < 2 || st.Cycles == 0 {
		t.Errorf("stats %+v", st)
	}
	from = rec.mark()
	stop()
	rec.waitFor(t, from, "home 1's OpenDTU offline", func(r received) bool {
		return r.topic == "solar-1/dtu/status" && r.payload == "offline"
	})
	rec.waitFor(t, from, "home 3's charger offline", func(r received) bool {
		return r.topic == "go-eCharger/"+ev.Serial+"/mcc" && r.payload == "false"
	})
}

// TestFleetPerDevice runs a small fleet with a connection per device.
func TestFleetPerDevice(t *testing.T) {
	_, broker := startBroker(t)
	f, err := NewFleet(FleetConfig{
		Homes: 2, Specs: allKindsSpecs[2:4], Seed: 2, Broker: broker, Period: 50 * time.Millisecond,
		ProfileStart: time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Mode() != ConnPerDevice {
		t.Fatalf("mode %q, want per-device for a small fleet", f.Mode())
	}
	rec := newRecorder(t, broker, "rec", "#")
	stop := runFleet(t, f)
	waitFleet(t, f, "every device connected", func(s FleetStats) bool { return s.Connected == s.Endpoints && s.Endpoints == 8 })
	rec.waitFor(t, 0, "home 1's inverter", func(r received) bool { return strings.HasPrefix(r.topic, "solar-1/") })
	rec.waitFor(t, 0, "home 2's AhoyDTU", func(r received) bool { return strings.HasPrefix(r.topic, "inverter-2/") })
	stop()
}

func TestFleetRunErrors(t *testing.T) {
	f, err := NewFleet(FleetConfig{Homes: 1, Connections: ConnShared})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Run(context.Background()); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("no broker: %v", err)
	}
	f, err = NewFleet(FleetConfig{Homes: 1, Connections: ConnShared, Broker: "tcp://127.0.0.1:1", ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Run(context.Background()); gridmint.ErrorCode(err) != gridmint.EUnavailable {
		t.Errorf("unreachable broker: %v", err)
	}
	f, err = NewFleet(FleetConfig{Homes: 1, Connections: ConnShared, Broker: "ws://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "shared fleet connections speak tcp://") {
		t.Errorf("websocket broker: %v", err)
	}
}

// TestMQTTEncoding: what the client writes, it reads back.
func TestMQTTEncoding(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	id := uint16(0)
	next := func() uint16 { id++; return id }
	big := strings.Repeat("x", 300) // a two-byte remaining length
	msgs := []Message{
		{Topic: "a/b", Payload: "1", Retained: true},
		{Topic: "shelly/events/rpc", Payload: big, QoS: 1},
	}
	for i := range msgs {
		if _, err := writePublish(w, &msgs[i], next); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	r := bufio.NewReader(&buf)
	for i, want := range msgs {
		typ, body, err := readPacket(r)
		if err != nil || typ != 3 {
			t.Fatalf("packet %d: type %d, %v", i, typ, err)
		}
		flags, body := body[0], body[1:]
		n := int(body[0])<<8 | int(body[1])
		topic, rest := string(body[2:2+n]), body[2+n:]
		if want.QoS > 0 {
			if flags>>1&3 != 1 || rest[0] != 0 || rest[1] != 1 {
				t.Errorf("packet %d: flags %x, packet ID % x", i, flags, rest[:2])
			}
			rest = rest[2:]
		}
		if topic != want.Topic || string(rest) != want.Payload || (flags&1 == 1) != want.Retained {
			t.Errorf("packet %d: %q %q retained %v", i, topic, rest, flags&1 == 1)
		}
	}
	for _, bad := range [][]byte{{0x30, 0xFF, 0xFF, 0xFF, 0xFF}, {0x30, 5, 0}, {0x30, 0xFF, 0xFF, 0xFF, 0x7F}} {
		if _, _, err := readPacket(bufio.NewReader(bytes.NewReader(bad))); err == nil {
			t.Errorf("% x: no error", bad)
		}
	}
}
