package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// frozenClock stands still until moved, so the rate limit and the energy
// budget (both in node time) refill only when a test says so.
type frozenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *frozenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// scrapeRejections reads gridmint_rejections_total per reason from the
// node's /metrics over HTTP, as Prometheus would.
func scrapeRejections(t *testing.T, n *Node) map[gridmint.Reason]float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[gridmint.Reason]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), `gridmint_rejections_total{reason="`)
		if !ok {
			continue
		}
		reason, value, ok := strings.Cut(line, `"} `)
		if !ok {
			t.Fatalf("metrics line %q", sc.Text())
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		out[gridmint.Reason(reason)] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryRejectionReasonCountedAtMetrics drives a real node, through its
// broker, into every way a message can fail to become a reading and checks
// that /metrics counts each under its reason: rate_limited included (a
// device over its allowance), and rejections beyond their source's
// quarantine allowance, which are counted but not kept. internal is the
// one reason no input can cause (the store refusing what ingest made is a
// bug); TestPipelineQuarantinesBatchTheStoreRefuses makes it with a store
// that refuses, and this test checks that the metric has it from the start.
func TestEveryRejectionReasonCountedAtMetrics(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
home_assistant: {enabled: false}
discover: false
adapters:
  - dialect: tasmota
  - dialect: opendtu
devices:
  - {dialect: tasmota, serial: plug, nameplate_w: 2000}
  - {dialect: tasmota, serial: chatty, nameplate_w: 2000}
`, t.TempDir(), b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	clock := &frozenClock{now: time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)}
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	before := scrapeRejections(t, n)
	for _, r := range gridmint.Reasons {
		if v, ok := before[r]; !ok || v != 0 {
			t.Errorf("at start gridmint_rejections_total{reason=%q} = %v (present %v), want 0", r, v, ok)
		}
	}

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("counters"))
	if tok := pub.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	published := 0
	publish := func(topic, payload string) {
		t.Helper()
		if tok := pub.Publish(topic, 1, false, payload); !tok.WaitTimeout(patience) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
		published++
	}
	sensor := func(at, total, power string) string {
		return fmt.Sprintf(`{"Time":"%s","ENERGY":{"Total":%s,"Power":%s}}`, at, total, power)
	}
	want := map[gridmint.Reason]float64{}
	publish("tele/plug/SENSOR", sensor("2026-06-21T12:00:00", "1.000", "100"))
	for _, c := range []struct {
		reason         gridmint.Reason
		topic, payload string
	}{
		{gridmint.ReasonMalformed, "tele/plug/SENSOR", `{"ENERGY":`},
		{gridmint.ReasonWrongType, "tele/plug/SENSOR", `{"Time":"2026-06-21T12:00:01","ENERGY":{"Total":"x","Power":1}}`},
		{gridmint.ReasonNotFinite, "tele/plug/SENSOR", `{"Time":"2026-06-21T12:00:02","ENERGY":{"Total":1.0,"Power":null}}`},
		{gridmint.ReasonNegative, "tele/plug/SENSOR", sensor("2026-06-21T12:00:03", "-1.000", "100")},
		{gridmint.ReasonAbsurd, "tele/plug/SENSOR", sensor("2026-06-21T12:00:04", "1.000", "5000000")},
		{gridmint.ReasonImplausible, "tele/plug/SENSOR", sensor("2026-06-21T12:00:05", "900.000", "100")},
		{gridmint.ReasonUnknownTopic, "solar/not-a-serial/0/power", "100"},
		{gridmint.ReasonUnknownDevice, "tele/stranger/SENSOR", sensor("2026-06-21T12:00:00", "1.000", "100")},
		{gridmint.ReasonDuplicate, "tele/plug/SENSOR", sensor("2026-06-21T12:00:00", "1.000", "100")},
		{gridmint.ReasonOutOfOrder, "tele/plug/SENSOR", sensor("2026-06-21T11:59:00", "1.000", "100")},
	} {
		publish(c.topic, c.payload)
		want[c.reason]++
	}
	// Rejections beyond the source's allowance are counted, not kept.
	extra := int(devices.DefaultRejectionLimit.Burst) + 5
	for range extra {
		publish("tele/plug/SENSOR", `{"ENERGY":`)
	}
	want[gridmint.ReasonMalformed] += float64(extra)
	// A device over its measurement allowance: the clock stands still, so
	// the burst is all it gets.
	burst := int(devices.DefaultRateLimit.Burst)
	for i := range burst + 7 {
		publish("tele/chatty/SENSOR", sensor(clock.Now().Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05"), "1.000", "100"))
	}
	want[gridmint.ReasonRateLimited] = 7

	waitFor(t, "every message processed", func() bool {
		return metricValue(t, n, "gridmint_mqtt_messages_total", nil) >= float64(published)
	})
	got := scrapeRejections(t, n)
	for _, r := range gridmint.Reasons {
		if got[r] != want[r] {
			t.Errorf("gridmint_rejections_total{reason=%q} = %v, want %v", r, got[r], want[r])
		}
	}
	stored, err := n.Store().RejectionCounts()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range gridmint.Reasons {
		if float64(stored[r]) != want[r] {
			t.Errorf("store's count of %s = %d, want %v (it restores the metric at start)", r, stored[r], want[r])
		}
	}
}

// TestOverlappingAdaptersOneMessageOneReading: with a generic mapping on
// a Tasmota SML meter's topic listed before the tasmota adapter, whose
// filter covers it, one publish is one message to the node and one
// reading of one device (paho's per-filter routes ran it through the
// handler once per matching filter). Listed the other way round, the
// configuration is refused, naming both.
func TestOverlappingAdaptersOneMessageOneReading(t *testing.T) {
	parallel(t)
	const adapters = `
adapters:
  - dialect: generic
    kind: meter
    mappings:
      - {topic: tele/sml_meter/SENSOR, serial_level: 1, json_path: SML.Total_in, field: energy, unit: kWh}
  - dialect: tasmota
`
	b := startTestBroker(t)
	cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
home_assistant: {enabled: false}
%s`, t.TempDir(), b.URL(), adapters))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("overlap"))
	if tok := pub.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	for _, m := range []struct{ topic, payload string }{
		{"tele/sml_meter/SENSOR", `{"SML":{"Total_in":12345.6789}}`},
		// Delivered in order after it: once this one is processed, a
		// second copy of the first would have been too.
		{"tele/plug/SENSOR", `{"ENERGY":{"Total":1.5,"Power":10}}`},
	} {
		if tok := pub.Publish(m.topic, 1, false, m.payload); !tok.WaitTimeout(patience) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	waitFor(t, "both devices", func() bool { return len(n.Devices()) == 2 })
	waitFor(t, "two messages processed", func() bool { return metricValue(t, n, "gridmint_mqtt_messages_total", nil) >= 2 })
	if got := metricValue(t, n, "gridmint_mqtt_messages_total", nil); got != 2 {
		t.Errorf("messages processed = %v, want 2 (one per publish)", got)
	}
	if got := metricValue(t, n, "gridmint_readings_total", nil); got != 2 {
		t.Errorf("readings = %v, want 2", got)
	}
	for _, d := range n.Devices() {
		if want := map[string]string{"sml_meter": "generic", "plug": "tasmota"}[d.Serial]; d.Dialect != want {
			t.Errorf("device %s read by %s, want %s", d.Serial, d.Dialect, want)
		}
	}

	swapped := strings.Replace(strings.Replace(adapters, "  - dialect: tasmota\n", "", 1), "adapters:\n", "adapters:\n  - dialect: tasmota\n", 1)
	_, err = ParseConfig([]byte(swapped))
	if err == nil || !strings.Contains(err.Error(), `config: adapters: adapters[1] (generic) telemetry "tele/sml_meter/SENSOR" is covered by adapters[0] (tasmota) telemetry "tele/+/SENSOR"`) {
		t.Errorf("tasmota listed first: %v; want the overlap named", err)
	}
}

// lockedBuffer is a log sink tests read while the node writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDeviceCapSaidAtHealthzAndLoggedOnce: a go-e adapter capped at two
// chargers refuses the third and fourth; /healthz fails its device_caps
// check naming the setting, and the log says it once.
func TestDeviceCapSaidAtHealthzAndLoggedOnce(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
home_assistant: {enabled: false}
adapters:
  - {dialect: goe, max_devices: 2}
`, t.TempDir(), b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	n, err := Start(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	health := func() (int, string) {
		resp, err := http.Get("http://" + n.HTTPAddr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := health(); code != http.StatusOK {
		t.Fatalf("healthz before any charger: %d %s", code, body)
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("caps"))
	if tok := pub.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	for i := range 4 {
		if tok := pub.Publish(fmt.Sprintf("go-eCharger/00000%d/eto", i), 1, false, "1000"); !tok.WaitTimeout(patience) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	waitFor(t, "four messages processed", func() bool { return metricValue(t, n, "gridmint_mqtt_messages_total", nil) >= 4 })
	if got := len(n.Devices()); got != 2 {
		t.Errorf("%d chargers registered, want 2 (the cap)", got)
	}
	code, body := health()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"name": "device_caps"`) || !strings.Contains(body, "adapters[0].max_devices (2) reached") {
		t.Errorf("healthz = %d %s; want 503 naming adapters[0].max_devices (2)", code, body)
	}
	if got := strings.Count(logs.String(), "device cap reached"); got != 1 {
		t.Errorf("the log says the cap %d times, want once:\n%s", got, logs.String())
	}
}
