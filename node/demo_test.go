package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

func demoOptions(dir string, clock gridmint.Clock) DemoOptions {
	return DemoOptions{
		DataDir: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		SimPeriod: 100 * time.Millisecond, StaleAfter: time.Hour,
		Logger: testLogger(), Clock: clock,
	}
}

// TestDemoEndToEnd starts the demo in-process (embedded broker, one
// simulated device of every dialect, node) and checks every device's
// readings in the store against what the devices published, the API, and
// a restart on the same data dir.
func TestDemoEndToEnd(t *testing.T) {
	dir := t.TempDir()
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), demoSpeed)
	d, err := StartDemo(context.Background(), demoOptions(dir, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()
	w := tapWire(t, d.Broker.URL())
	// Values published before the tap subscribed may still be in the
	// node's queue for a moment: check only readings received a minute of
	// device time (half a second here) after it.
	tapped := clock.Now().Add(time.Minute)

	addr := d.Node.Identity().Address
	checks := demoDialectChecks()
	grown := func(id gridmint.DeviceID) bool {
		rs := storedReadings(t, d.Node.Store(), id)
		return len(rs) >= 3 && rs[len(rs)-1].Energy > rs[0].Energy
	}
	waitFor(t, 60*time.Second, "growing energy in the store for every simulated device", func() bool {
		for _, c := range checks {
			if !grown(gridmint.DeviceID(addr + "/" + c.dialect + "/" + c.serial)) {
				return false
			}
		}
		return true
	})
	// Every device has a new counter value after the tap started.
	waitFor(t, 60*time.Second, "new counter values after the wire tap started", func() bool {
		for _, c := range checks {
			if !changedSince(storedReadings(t, d.Node.Store(), gridmint.DeviceID(addr+"/"+c.dialect+"/"+c.serial)), tapped) {
				return false
			}
		}
		return true
	})
	checkDialects(t, d.Node.Store(), addr, w, tapped, checks)

	// The API and the page show every device, online.
	var devs []map[string]any
	getJSON(t, "http://"+d.Node.HTTPAddr()+"/api/v1/devices", &devs)
	if len(devs) != len(checks) {
		t.Fatalf("GET /api/v1/devices: %d devices, want %d", len(devs), len(checks))
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
	for _, c := range checks {
		if id := addr + "/" + c.dialect + "/" + c.serial; !strings.Contains(page, id) {
			t.Errorf("web page does not show %s", id)
		}
	}
	counts, err := d.Node.Store().RejectionCounts()
	if err != nil {
		t.Fatal(err)
	}
	for reason, c := range counts {
		if c > 0 && reason != gridmint.ReasonDuplicate {
			t.Errorf("%d %s rejections from well-formed simulator traffic", c, reason)
		}
	}
	// Home Assistant discovery: every device's energy sensor is announced
	// (retained, so the tap that joined late still got it) and its state
	// carries the node's normalised counter.
	nodeID := devices.HANodeID(addr)
	ha := devices.HAConfig{NodeID: nodeID}
	for _, st := range d.Node.Devices() {
		cfgTopic := "homeassistant/sensor/" + nodeID + "/" + devices.HAObjectID(st.Device) + "_energy/config"
		waitFor(t, 10*time.Second, "Home Assistant config "+cfgTopic, func() bool {
			return len(w.values(cfgTopic, func(p []byte) (string, bool) { return string(p), len(p) > 0 })) > 0
		})
		var cfg map[string]any
		json.Unmarshal([]byte(w.values(cfgTopic, plain)[0]), &cfg)
		if cfg["stat_cla"] != "total_increasing" || cfg["stat_t"] != ha.HAStateTopic(st.Device) {
			t.Errorf("%s: HA config %v", st.ID, cfg)
		}
		waitFor(t, 10*time.Second, "Home Assistant state of "+string(st.ID), func() bool {
			return len(w.values(ha.HAStateTopic(st.Device), jsonPath("energy_kwh"))) > 0
		})
	}

	var health struct{ Status string }
	getJSON(t, "http://"+d.Node.HTTPAddr()+"/healthz", &health)
	if health.Status != "ok" {
		t.Errorf("healthz status = %q, want ok", health.Status)
	}

	// Restart on the same data dir: same node, devices and energy kept,
	// counters continue without a reset.
	before := map[gridmint.DeviceID]gridmint.MWh{}
	for _, ds := range d.Node.Devices() {
		before[ds.ID] = ds.Energy
	}
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
	for _, ds := range d.Node.Devices() {
		if ds.Energy < before[ds.ID] {
			t.Errorf("%s: energy %v after restart, %v before", ds.ID, ds.Energy, before[ds.ID])
		}
	}
	pvID := gridmint.DeviceID(addr + "/opendtu/" + DemoInverterSerial)
	nBefore := len(storedReadings(t, d.Node.Store(), pvID))
	waitFor(t, 30*time.Second, "new PV readings after restart", func() bool { return len(storedReadings(t, d.Node.Store(), pvID)) >= nBefore+3 })
	for _, r := range storedReadings(t, d.Node.Store(), pvID)[nBefore:] {
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
