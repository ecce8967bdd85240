package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/internal/memgov"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/store"
)

// floodTopics are topics under every dialect's subscriptions, each with
// a serial to invent: every message claims a device never seen.
var floodTopics = []string{
	"tele/%s/SENSOR",                       // tasmota
	"solar/%s/0/power",                     // opendtu
	"%s/status/switch:0",                   // shelly Gen2+
	"shellies/%s/relay/0/power",            // shelly Gen1
	"N/c0619ab1234f/battery/%s/Dc/0/Power", // victron
	"go-eCharger/%s/nrg",                   // goe
	"inverter/%s/ch0/P_AC",                 // ahoydtu
}

// floodDialects is how many dialects floodTopics reach.
const floodDialects = 6

// TestFloodOfInventedTopics publishes 20,000 garbage payloads (up to
// 5 KiB, random bytes) through a real broker (paced a little: 1,000 at a
// time, so that the broker drops none), each on a new topic under
// one of every dialect's subscriptions, to a node whose quarantine has a
// 1 MiB budget, while a declared device sends broken messages of its own.
// Every message is counted by reason; what the quarantine ever kept is
// bounded by the dialects' shared allowances, not by the topics invented;
// what it holds stays within its budget, oldest deleted first, and every
// rejection not kept is counted by cause. The declared device's broken
// messages are all kept: the garbage does not use up its allowance.
func TestFloodOfInventedTopics(t *testing.T) {
	b := startTestBroker(t)
	cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
home_assistant: {enabled: false}
quarantine: {max_size_mb: 1}
memory_limit_mb: 3000
adapters:
  - dialect: tasmota
  - dialect: opendtu
  - dialect: shelly
  - {dialect: victron, portal_id: c0619ab1234f, keep_alive: false}
  - dialect: goe
  - dialect: ahoydtu
devices: [{dialect: tasmota, serial: plug, nameplate_w: 2000}]
`, t.TempDir(), b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(limit) }) // process-wide
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if got := debug.SetMemoryLimit(-1); got != int64(3000)<<20 {
		t.Errorf("memory_limit_mb 3000: the runtime's limit is %d bytes, want %d", got, int64(3000)<<20)
	}
	plug := gridmint.DeviceID(n.Identity().Address + "/tasmota/plug")

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("flood"))
	if tok := pub.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	published := 0
	publish := func(topic string, payload []byte) {
		t.Helper()
		if tok := pub.Publish(topic, 0, false, payload); !tok.WaitTimeout(patience) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
		published++
	}
	processed := func() bool { return metricValue(t, n, "gridmint_mqtt_messages_total", nil) >= float64(published) }

	// A payload larger than any adapter reads is cut at the door and
	// quarantined with its length.
	huge := bytes.Repeat([]byte("{"), 100<<10)
	publish("tele/plug/SENSOR", huge)
	waitFor(t, "the oversized message processed", processed)
	rs, _, err := n.Store().Rejections("", 1)
	if err != nil || len(rs) != 1 {
		t.Fatalf("quarantine = %v, %v; want the oversized message", rs, err)
	}
	if r := rs[0]; r.RawLen != len(huge) || len(r.Raw) != store.MaxRejectionSample || r.Reason != gridmint.ReasonMalformed ||
		!strings.Contains(r.Detail, fmt.Sprintf("payload of %d bytes exceeds %d", len(huge), devices.MaxPayload)) {
		t.Errorf("oversized: reason %s, %d raw bytes of %d, detail %q; want malformed, %d of %d, naming the size",
			r.Reason, len(r.Raw), r.RawLen, r.Detail, store.MaxRejectionSample, len(huge))
	}

	const garbageMessages, plugBroken = 20_000, 15
	rng := rand.New(rand.NewPCG(7, 11))
	noise := rand.NewChaCha8([32]byte{7, 11})
	start := time.Now()
	var plugSent []string
	sendBroken := func(i int) {
		detail := fmt.Sprintf(`{"ENERGY":{"Total":broken %d`, i)
		publish("tele/plug/SENSOR", []byte(detail))
		plugSent = append(plugSent, detail)
	}
	for i := range garbageMessages {
		topic := fmt.Sprintf(floodTopics[i%len(floodTopics)], fmt.Sprintf("x%08x", rng.Uint32()))
		payload := make([]byte, 1+rng.IntN(5<<10))
		noise.Read(payload)
		publish(topic, payload)
		if i%2000 == 1999 { // ten during the flood
			sendBroken(len(plugSent))
		}
		if i%1000 == 999 {
			// The embedded broker drops QoS 0 messages for a subscriber
			// 8,192 behind; stay below, so every message is accounted for.
			waitFor(t, "the node to catch up with the flood", processed)
		}
	}
	for len(plugSent) < plugBroken { // and the last ones after it
		sendBroken(len(plugSent))
	}
	publish("tele/plug/SENSOR", []byte(`{"ENERGY":{"Total":1.5,"Power":40}}`))
	waitFor(t, fmt.Sprintf("the node to process %d messages", published), processed)
	elapsed := time.Since(start)

	// Every message is counted: rejected by reason, or ignored (a topic
	// the dialect knows and gridmint does not use).
	counts, err := n.Store().RejectionCounts()
	if err != nil {
		t.Fatal(err)
	}
	var rejected uint64
	for _, c := range counts {
		rejected += c
	}
	ignored := metricValue(t, n, "gridmint_mqtt_messages_ignored_total", nil)
	if int(rejected)+int(ignored) != published-1 { // the last is a reading
		t.Errorf("%d rejected + %.0f ignored, want the %d messages before the reading", rejected, ignored, published-1)
	}
	if rs, err := n.Store().Readings(plug, time.Time{}, time.Time{}, 0); err != nil || len(rs) != 1 {
		t.Errorf("the plug's reading after the flood: %v, %v; want it stored", rs, err)
	}

	st := n.Store().QuarantineStats()
	kept := map[gridmint.Reason]uint64{}
	var all []gridmint.Rejection
	for cursor := ""; ; {
		page, next, err := n.Store().Rejections(cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	for _, r := range all {
		kept[r.Reason]++
	}
	var trimmed, notKept uint64
	for r, c := range counts {
		if kept[r]+st.NotKept[r]+st.Trimmed[r] != c {
			t.Errorf("%s: %d kept + %d over the rate limit + %d trimmed, want all %d counted", r, kept[r], st.NotKept[r], st.Trimmed[r], c)
		}
		for _, cause := range []string{"rate_limit", "size_cap"} {
			want := st.NotKept[r]
			if cause == "size_cap" {
				want = st.Trimmed[r]
			}
			if got := metricValue(t, n, "gridmint_quarantine_dropped_total", map[string]string{"reason": string(r), "cause": cause}); got != float64(want) {
				t.Errorf("gridmint_quarantine_dropped_total{reason=%q,cause=%q} = %v, want %d", r, cause, got, want)
			}
		}
		if got := metricValue(t, n, "gridmint_rejections_total", map[string]string{"reason": string(r)}); got != float64(c) {
			t.Errorf("gridmint_rejections_total{reason=%q} = %v, want %d", r, got, c)
		}
		trimmed += st.Trimmed[r]
		notKept += st.NotKept[r]
	}
	t.Logf("%d garbage messages in %v: %d rejected, %.0f ignored; quarantine: %d kept (%d bytes of %d), %d trimmed, %d over the rate limit",
		garbageMessages, elapsed.Round(time.Millisecond), rejected, ignored, len(all), st.Bytes, st.MaxBytes, trimmed, notKept)
	if int64(len(all)) != st.Entries || st.Bytes > 1<<20 || st.MaxBytes != 1<<20 {
		t.Errorf("quarantine: %d listed, stats %+v; want the entries counted and at most 1 MiB", len(all), st)
	}
	if trimmed == 0 || notKept == 0 {
		t.Errorf("%d trimmed, %d over the rate limit: the flood should have exercised both", trimmed, notKept)
	}
	// The quarantine page says the same.
	res, err := http.Get("http://" + n.HTTPAddr() + "/api/v1/quarantine?limit=1")
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Size api.QuarantineSize }
	err = json.NewDecoder(res.Body).Decode(&page)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sz := page.Size; sz.Bytes != st.Bytes || sz.Entries != st.Entries || sz.MaxBytes != st.MaxBytes ||
		!maps.Equal(sz.Dropped["rate_limit"], st.NotKept) || !maps.Equal(sz.Dropped["size_cap"], st.Trimmed) {
		t.Errorf("GET /api/v1/quarantine size = %+v, want the store's %+v", sz, st)
	}
	// Ever kept: within the dialects' shared allowances (4 buckets each of
	// 20 at once and 0.2/s), the plug's own, and the oversized message.
	allowance := devices.DefaultRejectionLimit
	bound := floodDialects*4*(allowance.Burst+allowance.PerSecond*elapsed.Seconds()) + plugBroken + 1
	if ever := float64(len(all)) + float64(trimmed); ever > bound {
		t.Errorf("the quarantine kept %.0f rejections in %v, more than the %.0f the dialects' allowances give: invented topics multiply them", ever, elapsed, bound)
	}
	// The plug's broken messages: oldest-first trimming may have taken
	// the first ones, so those kept are the last ones sent, without a gap
	// (a gap would be one over the plug's allowance), and they include
	// every one sent after the flood.
	keptPlug := map[string]bool{}
	for _, r := range all {
		if r.Device == plug {
			keptPlug[string(r.Raw)] = true
		}
	}
	first := len(plugSent)
	for i := len(plugSent) - 1; i >= 0 && keptPlug[plugSent[i]]; i-- {
		first = i
	}
	if len(keptPlug) != len(plugSent)-first || first > 10 {
		t.Errorf("the plug's broken messages kept: %d, of which the last %d in a row; want the last %d at least, without a gap",
			len(keptPlug), len(plugSent)-first, plugBroken-10)
	}
}

// metricValue is the value of the node's metric name with exactly labels
// (nil: none); -1 when it has no such sample.
func metricValue(t *testing.T, n *Node, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := n.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue samples
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if g := m.GetGauge(); g != nil {
				return g.GetValue()
			}
			return m.GetUntyped().GetValue()
		}
	}
	return -1
}

// TestPipelineCountsWhatTheRateLimitDrops: rejections over their source's
// allowance are not kept, but they are counted under their reason, in the
// store (which restores gridmint_rejections_total at start) and in the
// metric.
func TestPipelineCountsWhatTheRateLimitDrops(t *testing.T) {
	p, st := newTestPipeline(t, func() error { return nil })
	var batch []inbound
	for range 50 {
		m := sensor("1")
		m.Topic, m.Payload = "tele/broken/SENSOR", []byte(`{"ENERGY":`)
		batch = append(batch, inbound{msg: m, ack: func() {}})
	}
	if !p.commit(context.Background(), batch) {
		t.Fatal("commit failed")
	}
	kept, _, err := st.Rejections("", 0)
	if err != nil {
		t.Fatal(err)
	}
	burst := int(devices.DefaultRejectionLimit.Burst)
	counts, err := st.RejectionCounts()
	if err != nil || counts[gridmint.ReasonMalformed] != 50 || len(kept) != burst {
		t.Errorf("counts %v, %v, %d kept; want 50 malformed counted, %d kept", counts, err, len(kept), burst)
	}
	if got := st.QuarantineStats().NotKept[gridmint.ReasonMalformed]; got != uint64(50-burst) {
		t.Errorf("NotKept = %d, want %d", got, 50-burst)
	}
	families, err := p.metrics.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "gridmint_rejections_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetLabel()[0].GetValue() == string(gridmint.ReasonMalformed) && m.GetCounter().GetValue() != 50 {
				t.Errorf("gridmint_rejections_total{reason=\"malformed\"} = %v, want 50", m.GetCounter().GetValue())
			}
		}
	}
}

func TestQuarantineAndMemoryConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("adapters: [{dialect: tasmota}]"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Quarantine.MaxSizeMB != 64 || cfg.MemoryLimitMB != 0 || cfg.Chain.EmbeddedCacheMB != 0 {
		t.Errorf("defaults: quarantine.max_size_mb %d, memory_limit_mb %d, chain.embedded_cache_mb %d; want 64, 0 (automatic), 0 (the chain's default)",
			cfg.Quarantine.MaxSizeMB, cfg.MemoryLimitMB, cfg.Chain.EmbeddedCacheMB)
	}
	cfg, err = ParseConfig([]byte("adapters: [{dialect: tasmota}]\nquarantine: {max_size_mb: 8}\nmemory_limit_mb: 400\nchain: {embedded_cache_mb: 16}"))
	if err != nil || cfg.Quarantine.MaxSizeMB != 8 || cfg.MemoryLimitMB != 400 || cfg.Chain.EmbeddedCacheMB != 16 {
		t.Errorf("set: %+v, %v", cfg, err)
	}
	if cfg, err := ParseConfig([]byte("adapters: [{dialect: tasmota}]\nmemory_limit_mb: -1")); err != nil || cfg.MemoryLimitMB != -1 {
		t.Errorf("memory_limit_mb -1 (none): %d, %v", cfg.MemoryLimitMB, err)
	}
	for _, c := range []struct{ yaml, field string }{
		{"quarantine: {max_size_mb: -1}", "quarantine.max_size_mb"},
		{"quarantine: {max_size_mb: 2000000}", "quarantine.max_size_mb"},
		{"quarantine: {max_size_mb: 1GB}", "quarantine.max_size_mb"},
		{"memory_limit_mb: -5", "memory_limit_mb"},
		{"memory_limit_mb: -2", "memory_limit_mb"},
		{"memory_limit_mb: 64", "memory_limit_mb"},
		{"chain: {embedded_cache_mb: 8}", "chain.embedded_cache_mb"},
		{"chain: {embedded_cache_mb: 100000}", "chain.embedded_cache_mb"},
		{"chain: {rpc: 'http://127.0.0.1:8545', embedded_cache_mb: 32, contracts: {registry: '0x0000000000000000000000000000000000000001', rec: '0x0000000000000000000000000000000000000002', flex: '0x0000000000000000000000000000000000000003'}}", "chain.embedded_cache_mb"},
	} {
		_, err := ParseConfig([]byte("adapters: [{dialect: tasmota}]\n" + c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %v, want one naming %s", c.yaml, err, c.field)
		}
	}
}

// TestAutomaticMemoryLimit: by default a node keeps the runtime's soft
// limit a step above its live heap (internal/memgov) and gives the limit
// back when it closes; with GOMEMLIMIT set, or memory_limit_mb -1, it
// leaves the runtime alone.
func TestAutomaticMemoryLimit(t *testing.T) {
	b := startTestBroker(t)
	start := func(limitMB int) *Node {
		t.Helper()
		cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
home_assistant: {enabled: false}
adapters: [{dialect: tasmota}]
memory_limit_mb: %d
`, t.TempDir(), b.URL(), limitMB))
		if err != nil {
			t.Fatal(err)
		}
		n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := debug.SetMemoryLimit(-1)
	t.Setenv("GOMEMLIMIT", "")
	n := start(-1)
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with memory_limit_mb -1 the node changed the limit to %d, want it left at %d", got, before)
	}
	n.Close()
	n = start(0)
	if got := debug.SetMemoryLimit(-1); got < memgov.Default.Floor || got > 1<<30 {
		t.Errorf("automatic limit with a node running = %d bytes, want between the floor %d and 1 GiB", got, memgov.Default.Floor)
	}
	n.Close()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit after Close = %d, want the one before, %d", got, before)
	}

	t.Setenv("GOMEMLIMIT", "900MiB") // read by the runtime at start only: here it tells the node to keep out
	n = start(0)
	defer n.Close()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with GOMEMLIMIT set the node changed the limit to %d, want it left at %d", got, before)
	}
}
