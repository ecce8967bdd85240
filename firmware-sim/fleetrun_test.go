package firmwaresim

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"net"
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
		// A loaded machine's race-built broker can take longer than the
		// default 10 s to acknowledge the wills.
		ShutdownBudget: patience,
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
	stop()
	// Every device's will payload is what the broker retains once Run
	// has returned (the shards wait for the broker's acknowledgements
	// before they disconnect): a subscriber that comes now gets it. (A
	// subscriber that was there all along could miss it: the broker drops
	// messages for a client that falls behind a fleet's traffic.)
	after := newRecorder(t, broker, "after", "#")
	wills := 0
	for _, s := range f.Homes() {
		s.mu.Lock()
		var ws []Message
		for _, ep := range s.endpoints() {
			if w := ep.will(); w.Topic != "" {
				ws = append(ws, w)
			}
		}
		s.mu.Unlock()
		for _, w := range ws {
			wills++
			if m := after.waitFor(t, 0, "the retained state of "+w.Topic, topicIs(w.Topic)); m.payload != w.Payload || !m.retained {
				t.Errorf("%s after the shutdown: %q (retained %v), want the will %q retained", w.Topic, m.payload, m.retained, w.Payload)
			}
		}
	}
	if wills < 6 {
		t.Errorf("%d devices with a will, want several per home", wills)
	}
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

// ackBroker is a scripted MQTT broker for one liteClient: it accepts the
// connection and hands every PUBLISH it reads to the test, which decides
// when (and whether) to acknowledge it.
type ackBroker struct {
	url  string
	pubs chan publishPacket
	conn chan net.Conn
}

func startAckBroker(t *testing.T) *ackBroker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &ackBroker{url: "tcp://" + l.Addr().String(), pubs: make(chan publishPacket, 64), conn: make(chan net.Conn, 1)}
	go func() {
		c, err := l.Accept()
		l.Close()
		if err != nil {
			return
		}
		br := bufio.NewReader(c)
		if typ, _, err := readPacket(br); err != nil || typ != 1 {
			c.Close()
			return
		}
		_, _ = c.Write([]byte{0x20, 2, 0, 0}) // CONNACK, accepted
		b.conn <- c
		for {
			typ, body, err := readPacket(br)
			if err != nil {
				close(b.pubs)
				return
			}
			if typ == 14 { // DISCONNECT: close, as a broker does
				c.Close()
				close(b.pubs)
				return
			}
			if typ == 3 {
				p, err := parsePublish(body)
				if err != nil {
					t.Errorf("bad PUBLISH: %v", err)
				}
				b.pubs <- p
			}
		}
	}()
	t.Cleanup(func() { l.Close() })
	return b
}

// TestPublishConfirmedWaitsForAcknowledgements: the shutdown's offline
// messages count as sent only once the broker acknowledged each one; a
// missing acknowledgement ends the wait at the deadline, a dropped
// connection at once, each with an error saying so.
func TestPublishConfirmedWaitsForAcknowledgements(t *testing.T) {
	wills := []Message{
		{Topic: "solar/dtu/status", Payload: "offline", QoS: 1, Retained: true},
		{Topic: "tele/plug/LWT", Payload: "Offline", QoS: 0, Retained: true}, // sent at QoS 1 all the same
		{Topic: "go-eCharger/1/mcc", Payload: "false", QoS: 1, Retained: true},
	}
	connect := func(t *testing.T) (*liteClient, *ackBroker, net.Conn) {
		b := startAckBroker(t)
		c, err := newLiteClient(b.url, "confirm", patience, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if err := c.start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); c.disconnect() })
		return c, b, <-b.conn
	}
	type result struct {
		n   int
		err error
	}
	confirm := func(c *liteClient, deadline time.Time) chan result {
		done := make(chan result, 1)
		go func() {
			n, err := c.publishConfirmed(wills, deadline)
			done <- result{n, err}
		}()
		return done
	}
	read := func(t *testing.T, b *ackBroker) []publishPacket {
		var ps []publishPacket
		for range wills {
			select {
			case p := <-b.pubs:
				if p.qos != 1 || !p.retained {
					t.Errorf("%s: QoS %d retained %v, want QoS 1 retained", p.topic, p.qos, p.retained)
				}
				ps = append(ps, p)
			case <-time.After(patience):
				t.Fatal("the broker did not get the messages")
			}
		}
		return ps
	}
	puback := func(conn net.Conn, id uint16) {
		if _, err := conn.Write([]byte{0x40, 2, byte(id >> 8), byte(id)}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("acknowledged", func(t *testing.T) {
		c, b, conn := connect(t)
		done := confirm(c, time.Now().Add(patience))
		ps := read(t, b)
		puback(conn, ps[0].id)
		puback(conn, ps[2].id)
		deadline := time.Now().Add(patience)
		for c.acked.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		c.ackMu.Lock()
		waiting := c.confirm != nil && !c.confirm.closed && len(c.confirm.ids) == 1
		c.ackMu.Unlock()
		select {
		case r := <-done:
			t.Fatalf("publishConfirmed returned %d, %v with one acknowledgement outstanding", r.n, r.err)
		default:
			if !waiting {
				t.Fatal("two acknowledgements read, and publishConfirmed is not waiting for exactly the third")
			}
		}
		puback(conn, ps[1].id)
		select {
		case r := <-done:
			if r.n != len(wills) || r.err != nil {
				t.Errorf("publishConfirmed = %d, %v; want %d, nil", r.n, r.err, len(wills))
			}
		case <-time.After(patience):
			t.Fatal("publishConfirmed did not return after the last acknowledgement")
		}
	})
	t.Run("deadline", func(t *testing.T) {
		c, b, _ := connect(t)
		done := confirm(c, time.Now().Add(500*time.Millisecond))
		read(t, b) // and never acknowledged
		r := <-done
		if r.n != 0 || r.err == nil || !strings.Contains(r.err.Error(), "3 of 3 not acknowledged") {
			t.Errorf("publishConfirmed = %d, %v; want 0 and an error naming the 3 missing", r.n, r.err)
		}
	})
	t.Run("connection lost", func(t *testing.T) {
		c, b, conn := connect(t)
		done := confirm(c, time.Now().Add(patience))
		read(t, b)
		conn.Close()
		select {
		case r := <-done:
			if r.n != 0 || r.err == nil || !strings.Contains(r.err.Error(), "connection lost") {
				t.Errorf("publishConfirmed = %d, %v; want 0 and a lost connection", r.n, r.err)
			}
		case <-time.After(patience):
			t.Fatal("publishConfirmed kept waiting on a closed connection")
		}
	})
}
