package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
)

// probe records what the simulated devices publish, to check the node
// stored exactly those values in the right units.
type probe struct {
	mu         sync.Mutex
	yieldTotal map[gridmint.MWh]bool // OpenDTU 0/yieldtotal, kWh parsed to mWh
	plugTotal  map[gridmint.MWh]bool // Tasmota ENERGY.Total
	client     paho.Client
}

func startProbe(t *testing.T, brokerURL string) *probe {
	t.Helper()
	p := &probe{yieldTotal: map[gridmint.MWh]bool{}, plugTotal: map[gridmint.MWh]bool{}}
	p.client = paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID("probe"))
	if tok := p.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("probe connect: %v", tok.Error())
	}
	sub := func(topic string, f func(payload []byte)) {
		tok := p.client.Subscribe(topic, 0, func(_ paho.Client, m paho.Message) { f(m.Payload()) })
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("probe subscribe %s: %v", topic, tok.Error())
		}
	}
	sub("solar/"+DemoInverterSerial+"/0/yieldtotal", func(b []byte) {
		e, err := gridmint.ParseEnergy(string(b), gridmint.UnitKWh)
		if err != nil {
			t.Errorf("simulator published yieldtotal %q: %v", b, err)
			return
		}
		p.mu.Lock()
		p.yieldTotal[e] = true
		p.mu.Unlock()
	})
	sub("tele/"+DemoPlugTopic+"/SENSOR", func(b []byte) {
		var msg struct{ ENERGY struct{ Total json.Number } }
		if err := json.Unmarshal(b, &msg); err != nil {
			t.Errorf("simulator published SENSOR %q: %v", b, err)
			return
		}
		e, err := gridmint.ParseEnergy(msg.ENERGY.Total.String(), gridmint.UnitKWh)
		if err != nil {
			t.Errorf("SENSOR Total %q: %v", msg.ENERGY.Total, err)
			return
		}
		p.mu.Lock()
		p.plugTotal[e] = true
		p.mu.Unlock()
	})
	t.Cleanup(func() { p.client.Disconnect(0) })
	return p
}

func (p *probe) saw(set map[gridmint.MWh]bool, e gridmint.MWh) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return set[e]
}

func demoOptions(dir string, clock gridmint.Clock) DemoOptions {
	return DemoOptions{
		DataDir: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		SimPeriod: 100 * time.Millisecond, StaleAfter: time.Hour,
		Logger: testLogger(), Clock: clock,
	}
}

// TestDemoEndToEnd starts the demo in-process (embedded broker, simulated
// OpenDTU inverter and Tasmota plug, node) and checks each device's
// readings in the store, the API, and a restart on the same data dir.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	// 10 minutes of device time per real second: the counters (1 Wh
	// resolution) visibly grow within the test.
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), 600)
	d, err := StartDemo(context.Background(), demoOptions(dir, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()
	pr := startProbe(t, d.Broker.URL())

	addr := d.Node.Identity().Address
	pvID := gridmint.DeviceID(addr + "/opendtu/" + DemoInverterSerial)
	plugID := gridmint.DeviceID(addr + "/tasmota/" + DemoPlugTopic)
	readings := func(id gridmint.DeviceID) []gridmint.Reading {
		rs, err := d.Node.Store().Readings(id, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	grown := func(id gridmint.DeviceID) bool {
		rs := readings(id)
		return len(rs) >= 3 && rs[len(rs)-1].Energy > rs[0].Energy
	}
	waitFor(t, 30*time.Second, "growing energy in the store for both devices", func() bool { return grown(pvID) && grown(plugID) })

	// Every stored reading carries exactly a counter the device published,
	// converted from kWh to mWh; normalised energy never falls.
	check := func(id gridmint.DeviceID, published map[gridmint.MWh]bool, kind gridmint.DeviceKind) gridmint.MWh {
		var last gridmint.MWh
		for i, r := range readings(id) {
			if !pr.saw(published, r.Raw) && i > 0 { // the first may predate the probe
				t.Errorf("%s: stored raw counter %v was never published", id, r.Raw)
			}
			if r.Counter != gridmint.CounterLifetime || r.Quality != gridmint.QualityOK {
				t.Errorf("%s: reading %v, want a lifetime counter of quality ok", id, r)
			}
			if r.Energy < last {
				t.Errorf("%s: energy fell from %v to %v", id, last, r.Energy)
			}
			if r.Power < 0 || r.Power > 4000 {
				t.Errorf("%s: power %v W out of range", id, r.Power)
			}
			last = r.Energy
		}
		dev, err := d.Node.Store().Device(id)
		if err != nil || dev.Kind != kind {
			t.Errorf("%s: stored device %+v, %v; want kind %s", id, dev, err, kind)
		}
		return last
	}
	pvEnergy := check(pvID, pr.yieldTotal, gridmint.KindPVInverter)
	plugEnergy := check(plugID, pr.plugTotal, gridmint.KindPlug)

	// The API and the page show both devices.
	var devs []map[string]any
	getJSON(t, "http://"+d.Node.HTTPAddr()+"/api/v1/devices", &devs)
	if len(devs) != 2 {
		t.Fatalf("GET /api/v1/devices: %d devices, want 2: %v", len(devs), devs)
	}
	for _, dv := range devs {
		for _, field := range []string{"id", "kind", "dialect", "online", "power_w", "energy_wh", "last_seen"} {
			if _, ok := dv[field]; !ok {
				t.Errorf("device %v lacks %q", dv["id"], field)
			}
		}
		if dv["online"] != true || dv["energy_wh"].(float64) <= 0 {
			t.Errorf("device %v: online=%v energy_wh=%v, want online with energy", dv["id"], dv["online"], dv["energy_wh"])
		}
	}
	page := get(t, "http://"+d.Node.HTTPAddr()+"/")
	for _, id := range []gridmint.DeviceID{pvID, plugID} {
		if !strings.Contains(page, string(id)) {
			t.Errorf("web page does not show %s", id)
		}
	}
	counts, err := d.Node.Store().RejectionCounts()
	if err != nil {
		t.Fatal(err)
	}
	for reason, c := range counts {
		if c > 0 {
			t.Errorf("%d %s rejections from well-formed simulator traffic", c, reason)
		}
	}
	var health struct{ Status string }
	getJSON(t, "http://"+d.Node.HTTPAddr()+"/healthz", &health)
	if health.Status != "ok" {
		t.Errorf("healthz status = %q, want ok", health.Status)
	}

	// Restart on the same data dir: same node, devices and energy kept,
	// counters continue without a reset.
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d, err = StartDemo(context.Background(), demoOptions(dir, clock))
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := d.Node.Identity().Address; got != addr {
		t.Fatalf("node address changed across restart: %s, was %s", got, addr)
	}
	before := map[gridmint.DeviceID]gridmint.MWh{}
	for _, ds := range d.Node.Devices() {
		before[ds.ID] = ds.Energy
	}
	if before[pvID] < pvEnergy || before[plugID] < plugEnergy {
		t.Errorf("energy after restart %v, before it pv=%v plug=%v", before, pvEnergy, plugEnergy)
	}
	nBefore := len(readings(pvID))
	waitFor(t, 30*time.Second, "new PV readings after restart", func() bool { return len(readings(pvID)) >= nBefore+3 })
	for _, r := range readings(pvID)[nBefore:] {
		if r.Event == gridmint.EventReset || r.Event == gridmint.EventFirst {
			t.Errorf("reading after restart %v: want the counter to continue", r)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, res.Status, b)
	}
	return string(b)
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(get(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
