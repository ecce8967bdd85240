package firmwaresim

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/gridmint/gridmint"
)

// startBroker runs an embedded mochi-mqtt broker on a random free port of
// 127.0.0.1 for the test and returns it with its tcp:// URL.
//
// The broker's Close waits for every client connection it has accepted to
// end, and mochi has no deadline on a connection's first packet; a client
// still connecting (or reconnecting) while the test shuts down could thus
// keep Close waiting for ever. The cleanup bounds it: after closeGrace it
// closes every accepted connection itself, and if Close still does not
// return it fails the test with a goroutine dump instead of hanging.
func startBroker(t *testing.T) (*mochi.Server, string) {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := &trackingListener{Listener: nl}
	if err := srv.AddListener(listeners.NewNet("t1", tl)); err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve() }()
	t.Cleanup(func() {
		<-served // Serve only starts the listener's goroutines
		closed := make(chan struct{})
		go func() { defer close(closed); _ = srv.Close() }()
		select {
		case <-closed:
			return
		case <-time.After(closeGrace):
		}
		n := tl.closeAll()
		t.Logf("broker Close still waiting after %v: closed its %d accepted connections", closeGrace, n)
		select {
		case <-closed:
		case <-time.After(shutdownTimeout):
			t.Errorf("broker Close did not return; goroutines:\n%s", goroutineDump())
		}
	})
	return srv, "tcp://" + nl.Addr().String()
}

const (
	// closeGrace is how long a test broker's Close may take before the
	// cleanup closes its connections.
	closeGrace = 5 * time.Second
	// shutdownTimeout bounds every wait for a Run to return after its
	// context is cancelled (and for a broker to close): far above the few
	// seconds a shutdown takes, far below the test binary's timeout.
	shutdownTimeout = 30 * time.Second
	// patience bounds every wait for a message, a counter or a broker
	// round trip. The waits end as soon as their condition holds (within
	// milliseconds, or a few seconds on a loaded 2-core machine under the
	// race detector), so only a real failure meets the bound.
	patience = 2 * time.Minute
)

// trackingListener remembers the connections it accepts so that a test
// can close them all.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// closeAll closes the listener and every accepted connection and returns
// how many connections there were.
func (l *trackingListener) closeAll() int {
	_ = l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	return len(l.conns)
}

// goroutineDump returns the stacks of all goroutines.
func goroutineDump() string {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	return b.String()
}

// errRunHung is waitRun's error when Run does not return.
var errRunHung = errors.New("firmwaresim test: Run did not return")

// waitRun waits for the error of a Run whose context has been cancelled.
// If it does not come within shutdownTimeout, waitRun marks the test
// failed with a goroutine dump and returns errRunHung: a shutdown that
// hangs shows where, instead of running into the test binary's timeout.
// (It does not stop the test itself, so deferred calls may use it.)
func waitRun(tb testing.TB, done <-chan error) error {
	tb.Helper()
	timer := time.NewTimer(shutdownTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		tb.Errorf("Run did not return within %v of its context's cancellation; goroutines:\n%s", shutdownTimeout, goroutineDump())
		return errRunHung
	}
}

// proxy is a TCP relay between the sim and the broker so the test can
// pull the cable: cut closes every relayed connection (the broker sees the
// connection drop and publishes the will) and refuses new ones; admit lets
// the next connection through, one device at a time.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	paused bool
	admits int // connections let through while paused
}

func startProxy(t *testing.T, brokerURL string) (*proxy, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: strings.TrimPrefix(brokerURL, "tcp://")}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.paused && p.admits == 0 {
				p.mu.Unlock()
				c.Close()
				continue
			}
			if p.paused {
				p.admits--
			}
			b, err := net.Dial("tcp", p.target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, b)
			p.mu.Unlock()
			relay := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
			}
			go relay(c, b)
			go relay(b, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.cut()
	})
	return p, "tcp://" + l.Addr().String()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) admit() {
	p.mu.Lock()
	p.admits++
	p.mu.Unlock()
}

// received is one message seen by the test subscriber.
type received struct {
	topic, payload string
	retained       bool
}

// recorder is a paho subscriber that keeps every message it receives.
type recorder struct {
	mu     sync.Mutex
	msgs   []received
	notify chan struct{}
	client mqtt.Client
}

func newRecorder(t *testing.T, broker, id, filter string) *recorder {
	t.Helper()
	r := &recorder{notify: make(chan struct{}, 1)}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetConnectTimeout(patience)
	r.client = mqtt.NewClient(opts)
	// Disconnect even if the connect below times out: the attempt goes on
	// and would leave a client connected (and reconnecting) to the broker.
	t.Cleanup(func() { r.client.Disconnect(100) })
	if tok := r.client.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("test subscriber connect: %v", tok.Error())
	}
	tok := r.client.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		r.mu.Lock()
		r.msgs = append(r.msgs, received{m.Topic(), string(m.Payload()), m.Retained()})
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("test subscriber subscribe: %v", tok.Error())
	}
	return r
}

// mark returns the index the next message will have.
func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// waitFor returns the first message at index >= from that matches, waiting
// up to patience for it to arrive.
func (r *recorder) waitFor(t *testing.T, from int, what string, match func(received) bool) received {
	t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for ; from < len(r.msgs); from++ {
			if match(r.msgs[from]) {
				m := r.msgs[from]
				r.mu.Unlock()
				return m
			}
		}
		r.mu.Unlock()
		select {
		case <-r.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func topicIs(topic string) func(received) bool {
	return func(m received) bool { return m.topic == topic }
}

func (r *recorder) publish(t *testing.T, topic, payload string, retained bool) {
	t.Helper()
	if tok := r.client.Publish(topic, 1, retained, payload); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// waitStats polls the sim's counters until cond holds; commands arrive
// asynchronously and their effect only shows at the next Step.
func waitStats(t *testing.T, s *Sim, what string, cond func(Stats) bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	for !cond(s.Stats()) {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; stats %+v", what, s.Stats())
		}
	}
}

// TestRunAgainstBroker runs the sim against a real broker: telemetry
// arrives, a retained non-persistent limit waiting at the broker is
// ignored, a live one clips the power at the next cycle, a Tasmota POWER
// OFF is answered and zeroes the power, the will fires when the connection
// drops, paho reconnects, and a clean shutdown announces offline.
func TestRunAgainstBroker(t *testing.T) {
	srv, broker := startBroker(t)
	sn := "solar/" + testSerial + "/"
	// A controller left a retained limit behind before the DTU booted.
	if err := srv.Publish(sn+"cmd/limit_nonpersistent_absolute", []byte("200"), true, 0); err != nil {
		t.Fatal(err)
	}
	sub := newRecorder(t, broker, "test-sub", "#")
	cable, viaProxy := startProxy(t, broker)

	t0 := time.Date(2025, 6, 22, 11, 30, 0, 0, time.UTC)
	s, clk := newTestSim(t, t0, func(c *Config) {
		c.Broker = viaProxy
		c.Period = time.Hour        // the test drives Step itself
		c.ConnectTimeout = patience // a bound on failure, not an expectation
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		_ = waitRun(t, done)
	}()

	sub.waitFor(t, 0, "dtu/status online", func(m received) bool { return m.topic == "solar/dtu/status" && m.payload == "online" })
	sub.waitFor(t, 0, "LWT Online", func(m received) bool { return m.topic == "tele/"+testPlug+"/LWT" && m.payload == "Online" })
	sub.waitFor(t, 0, "first 0/power", topicIs(sn+"0/power"))
	waitStats(t, s, "the retained limit to be seen", func(st Stats) bool { return st.Ignored >= 1 })
	if st := s.Stats(); st.Devices != 2 || st.Connected != 2 || st.Commands != 1 {
		t.Errorf("stats %+v, want 2 devices connected, 1 command seen", st)
	}

	// step runs one cycle and waits until the subscriber has the last
	// message of each device, so the broker is done with the cycle before
	// the test goes on (mochi-mqtt races when a client subscribes while
	// retained messages are still being stored).
	now := t0
	step := func() int {
		now = now.Add(5 * time.Second)
		clk.Set(now)
		from := sub.mark()
		s.Step(now)
		sub.waitFor(t, from, "end of the DTU cycle", topicIs("solar/dtu/rssi"))
		sub.waitFor(t, from, "end of the plug cycle", topicIs("tele/"+testPlug+"/SENSOR"))
		return from
	}
	from := step()
	if m := sub.waitFor(t, from, "limit_absolute", topicIs(sn+"status/limit_absolute")); m.payload != "800.00" {
		t.Errorf("retained limit applied: limit_absolute %s", m.payload)
	}
	if m := sub.waitFor(t, from, "0/power", topicIs(sn+"0/power")); mustFloat(t, m.payload) <= 300 {
		t.Fatalf("need a sunny moment, power %s", m.payload)
	}

	// A live, non-retained limit applies at the next cycle.
	sub.publish(t, sn+"cmd/limit_nonpersistent_absolute", "300", false)
	waitStats(t, s, "the live limit", func(st Stats) bool { return st.Commands >= 2 })
	from = step()
	if m := sub.waitFor(t, from, "limit_absolute", topicIs(sn+"status/limit_absolute")); m.payload != "300.00" {
		t.Errorf("limit_absolute %s, want 300.00", m.payload)
	}
	if m := sub.waitFor(t, from, "0/power", topicIs(sn+"0/power")); mustFloat(t, m.payload) > 300 {
		t.Errorf("power %s W above the 300 W limit", m.payload)
	}

	// Tasmota relay off: replies, then Power 0 in the next SENSOR.
	from = sub.mark()
	sub.publish(t, "cmnd/"+testPlug+"/POWER", "OFF", false)
	if m := sub.waitFor(t, from, "RESULT", topicIs("stat/"+testPlug+"/RESULT")); m.payload != `{"POWER":"OFF"}` {
		t.Errorf("RESULT %s", m.payload)
	}
	if m := sub.waitFor(t, from, "stat POWER", topicIs("stat/"+testPlug+"/POWER")); m.payload != "OFF" {
		t.Errorf("stat POWER %s", m.payload)
	}
	from = step()
	if e := mustSensor(t, sub.waitFor(t, from, "SENSOR", topicIs("tele/"+testPlug+"/SENSOR")).payload).ENERGY; e.Power != 0 {
		t.Errorf("relay off but Power %v", e.Power)
	}

	// A late subscriber gets the retained state: availability and values.
	late := newRecorder(t, broker, "test-late", "#")
	for _, want := range []received{
		{"solar/dtu/status", "online", true},
		{"tele/" + testPlug + "/LWT", "Online", true},
		{sn + "status/limit_absolute", "300.00", true},
	} {
		if m := late.waitFor(t, 0, want.topic, topicIs(want.topic)); m != want {
			t.Errorf("late subscriber got %+v, want %+v", m, want)
		}
	}

	// The cable is pulled: the broker publishes both wills. Then paho
	// reconnects and each device announces itself again. The proxy lets
	// one device back at a time so that one's subscribe never overlaps
	// the other's retained online message inside mochi-mqtt.
	from = sub.mark()
	cable.cut()
	sub.waitFor(t, from, "DTU will", func(m received) bool { return m.topic == "solar/dtu/status" && m.payload == "offline" })
	sub.waitFor(t, from, "plug will", func(m received) bool { return m.topic == "tele/"+testPlug+"/LWT" && m.payload == "Offline" })
	online := func(m received) bool {
		return m.topic == "solar/dtu/status" && m.payload == "online" || m.topic == "tele/"+testPlug+"/LWT" && m.payload == "Online"
	}
	for i := range 2 {
		from = sub.mark()
		cable.admit()
		sub.waitFor(t, from, "a device online again", online)
		waitStats(t, s, "reconnect", func(st Stats) bool { return st.Connected == i+1 })
	}
	from = step()
	sub.waitFor(t, from, "telemetry after reconnect", topicIs(sn+"0/power"))

	// Clean shutdown announces offline on both devices.
	from = sub.mark()
	cancel()
	if err := waitRun(t, done); err == errRunHung {
		t.FailNow()
	} else if err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
	done <- nil // Run has returned; let the deferred cleanup pass
	sub.waitFor(t, from, "DTU offline", func(m received) bool { return m.topic == "solar/dtu/status" && m.payload == "offline" })
	sub.waitFor(t, from, "LWT Offline", func(m received) bool { return m.topic == "tele/"+testPlug+"/LWT" && m.payload == "Offline" })
	if st := s.Stats(); st.Connected != 0 || st.Published == 0 {
		t.Errorf("after shutdown: %+v", st)
	}
}

func TestRunBrokerUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	s, _ := newTestSim(t, time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC), func(c *Config) {
		c.Broker = "tcp://" + addr
		c.ConnectTimeout = 2 * time.Second
	})
	err = s.Run(context.Background())
	if gridmint.ErrorCode(err) != gridmint.EUnavailable || !strings.Contains(err.Error(), addr) {
		t.Errorf("Run with no broker: %v, want an %s error naming %s", err, gridmint.EUnavailable, addr)
	}
	s2, _ := newTestSim(t, time.Now(), nil)
	if err := s2.Run(context.Background()); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("Run without Broker: %v", err)
	}
}
