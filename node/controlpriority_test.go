package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
)

// stepClock is a TickerClock that moves only when the test moves it; its
// tickers tick as Add passes their times, so a node's periodic work
// (keep-alives) runs exactly when the test says.
type stepClock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*stepTicker
}

type stepTicker struct {
	c       chan time.Time
	every   time.Duration
	next    time.Time
	stopped bool
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &stepTicker{c: make(chan time.Time, 1), every: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	return t.c, func() { c.mu.Lock(); t.stopped = true; c.mu.Unlock() }
}

// Add moves the clock by d; a ticker that passed several times ticks
// once, as time.Ticker drops ticks for a slow reader.
func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for _, t := range c.tickers {
		if t.stopped || t.next.After(c.now) {
			continue
		}
		for !t.next.After(c.now) {
			t.next = t.next.Add(t.every)
		}
		select {
		case t.c <- c.now:
		default:
		}
	}
}

// ingestHold holds the ingest pipeline while closed: the telemetry
// connection then backs up as it does behind a store that cannot keep up.
type ingestHold struct {
	mu   sync.Mutex
	open chan struct{}
}

func newIngestHold() *ingestHold {
	h := &ingestHold{open: make(chan struct{})}
	close(h.open)
	return h
}

func (h *ingestHold) hold() { h.mu.Lock(); h.open = make(chan struct{}); h.mu.Unlock() }
func (h *ingestHold) release() {
	h.mu.Lock()
	close(h.open)
	h.mu.Unlock()
}

func (h *ingestHold) wait(ctx context.Context) error {
	h.mu.Lock()
	open := h.open
	h.mu.Unlock()
	select {
	case <-open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// warnings counts the log records whose message is one of those watched.
type warnings struct {
	slog.Handler
	watched []string
	n       *atomic.Int64
}

func (w warnings) Enabled(context.Context, slog.Level) bool { return true }
func (w warnings) Handle(ctx context.Context, r slog.Record) error {
	for _, m := range w.watched {
		if r.Message == m {
			w.n.Add(1)
		}
	}
	return w.Handler.Handle(ctx, r)
}
func (w warnings) WithAttrs(a []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(a), w.watched, w.n}
}
func (w warnings) WithGroup(g string) slog.Handler {
	return warnings{w.Handler.WithGroup(g), w.watched, w.n}
}

const priorityNodeConfig = `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0]}
stale_after: 1h
adapters:
  - {dialect: tasmota}
  - {dialect: victron, portal_id: %s}
devices:
  - {dialect: victron, serial: %s, limits: {soc_floor_pct: 5, max_charge_w: 3000, max_discharge_w: 3000}}
`

// TestControlDoesNotWaitBehindTelemetry: with the ingest pipeline held
// and a flood of telemetry queued behind it (the telemetry connection
// then reads nothing: its handler blocks, as behind a store that cannot
// keep up), a Tasmota relay command (confirmed on its reply topic) and a
// Victron ESS setpoint (confirmed by the GX's N/ echo, a telemetry topic)
// still confirm, and every Victron keep-alive goes out when the clock
// says and is acknowledged by the broker, over the control connection.
// Once the pipeline resumes every flooded message is processed.
func TestControlDoesNotWaitBehindTelemetry(t *testing.T) {
	parallel(t)
	url := startMosquitto(t)
	clock := &stepClock{now: time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC)}
	sim, err := firmwaresim.New(firmwaresim.Config{
		Broker: url, Period: 100 * time.Millisecond, Clock: clock, Logger: testLogger(), Seed: 3,
		ProfileStart: clock.Now(),
		Plugs:        []firmwaresim.PlugConfig{{Topic: DemoPlugTopic}},
		Victron:      []firmwaresim.VictronConfig{{PortalID: DemoVictronPortal, InitialSoCPct: 60}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-simDone })
	waitFor(t, "simulated devices to connect", func() bool { st := sim.Stats(); return st.Connected == st.Devices })

	// The keep-alives as the broker passes them on.
	var keepAlives atomic.Int64
	tap := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("keepalive-tap"))
	if tok := tap.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer tap.Disconnect(0)
	if tok := tap.Subscribe("R/"+DemoVictronPortal+"/keepalive", 1, func(paho.Client, paho.Message) { keepAlives.Add(1) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	var failed atomic.Int64
	log := slog.New(warnings{testLogger().Handler(), []string{"keep-alive not sent"}, &failed})
	hold := newIngestHold()
	dir := t.TempDir()
	cfg, err := ParseConfig(fmt.Appendf(nil, priorityNodeConfig, dir, url, DemoVictronPortal, DemoBatterySerial))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), cfg, Options{Logger: log, Clock: clock, Passphrase: testPassphrase, CreateKey: KDFLight, holdIngest: hold})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	addr := n.Identity().Address
	plug := gridmint.DeviceID(addr + "/tasmota/" + DemoPlugTopic)
	battery := gridmint.DeviceID(addr + "/victron/" + DemoBatterySerial)
	online := func(id gridmint.DeviceID) bool {
		st, _, ok := n.ingest.Device(id)
		return ok && st.Online && !st.LastSeen.IsZero()
	}
	waitFor(t, "the plug and the battery online", func() bool { return online(plug) && online(battery) })

	token := n.apiToken
	setpoint := func(id gridmint.DeviceID, body string) (int, gridmint.CommandRecord, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+n.HTTPAddr()+"/api/v1/devices/"+string(id)+"/setpoint?wait=60s", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var rec gridmint.CommandRecord
		json.Unmarshal(raw, &rec)
		return res.StatusCode, rec, string(raw)
	}
	// The ESS setpoint needs the GX's vebus instance, from its telemetry:
	// a first one, before the stall, says when the node has it.
	waitFor(t, "a first ESS setpoint confirmed", func() bool {
		code, rec, _ := setpoint(battery, `{"kind":"battery_power","value":0}`)
		return code == http.StatusOK && rec.Status == gridmint.CommandConfirmed
	})

	// Hold the pipeline and flood the telemetry connection until it
	// stalls: the pipeline's queue (128) full and one batch held.
	hold.hold()
	released := false
	defer func() {
		if !released {
			hold.release()
		}
	}()
	before := metricValue(t, n, "gridmint_mqtt_messages_total", nil)
	flood := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("flood"))
	if tok := flood.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer flood.Disconnect(0)
	const floodN = 3000
	for i := range floodN {
		payload := fmt.Sprintf(`{"Time":"2026-06-21T11:00:00","ENERGY":{"Total":%d.5,"Power":%d}}`, 100+i, i%500)
		tok := flood.Publish("tele/flood"+fmt.Sprint(i%50)+"/SENSOR", 1, false, payload)
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("flood message %d: %v", i, tok.Error())
		}
	}
	waitFor(t, "the telemetry connection to stall", func() bool {
		return metricValue(t, n, "gridmint_mqtt_messages_pending", nil) >= 129
	})
	stalled := metricValue(t, n, "gridmint_mqtt_messages_total", nil)

	// The clock stands still, so a confirmation cannot be late: confirmed
	// is within the timeout, and failed would say why.
	for _, c := range []struct {
		id   gridmint.DeviceID
		body string
	}{{plug, `{"kind":"switch","value":0}`}, {battery, `{"kind":"battery_power","value":-1000}`}} {
		code, rec, raw := setpoint(c.id, c.body)
		if code != http.StatusOK || rec.Status != gridmint.CommandConfirmed {
			t.Errorf("%s %s behind stalled telemetry: %d %s, want confirmed", c.id, c.body, code, raw)
		}
	}
	if n.control.watchedLen() != 0 {
		t.Errorf("%d confirmation topics still subscribed after every command settled", n.control.watchedLen())
	}

	// Keep-alives on the clock's schedule (every 20 s), each taken by the
	// broker at once: a publish waiting for its acknowledgement would be
	// logged as not sent after 10 s and hold up the next.
	sent := keepAlives.Load()
	for i := 1; i <= 3; i++ {
		clock.Add(victronKeepAliveEvery)
		waitFor(t, fmt.Sprintf("keep-alive %d after the stall", i), func() bool { return keepAlives.Load() >= sent+int64(i) })
	}
	if f := failed.Load(); f != 0 {
		t.Errorf("%d keep-alives not sent behind stalled telemetry", f)
	}
	if got := metricValue(t, n, "gridmint_mqtt_messages_total", nil); got != stalled {
		t.Fatalf("telemetry went on while held (%v messages, then %v): the test proved nothing", stalled, got)
	}

	// Nothing of the flood is lost: released, the pipeline takes it all.
	hold.release()
	released = true
	waitFor(t, "the flood to be processed", func() bool {
		return metricValue(t, n, "gridmint_mqtt_messages_total", nil) >= before+floodN
	})
	if strings.Contains(n.health()[0].Detail, "control connection") {
		t.Errorf("health: %+v", n.health()[0])
	}
}

// victronKeepAliveEvery is the victron adapter's keep-alive period.
const victronKeepAliveEvery = 20 * time.Second
