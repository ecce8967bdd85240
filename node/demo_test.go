package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
	"github.com/gridmint/gridmint/node/api"
)

func demoOptions(dir string, clock gridmint.Clock) DemoOptions {
	return DemoOptions{
		DataDir: dir, HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
		SimPeriod: 100 * time.Millisecond, StaleAfter: time.Hour,
		Logger: testLogger(), Clock: clock,
	}
}

// TestDemoEndToEnd starts the demo in-process (embedded broker, the demo
// fleet: a home with one simulated device of every dialect and two more
// homes, node) and checks home 1's devices' readings in the store against
// what the devices published, every device of the fleet in the API and on
// the page, and a restart on the same data dir.
func TestDemoEndToEnd(t *testing.T) {
	parallel(t)
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
	waitFor(t, "growing energy in the store for every simulated device", func() bool {
		for _, c := range checks {
			if !grown(gridmint.DeviceID(addr + "/" + c.dialect + "/" + c.serial)) {
				return false
			}
		}
		return true
	})
	// Every device has a new counter value after the tap started.
	waitFor(t, "new counter values after the wire tap started", func() bool {
		for _, c := range checks {
			if !changedSince(storedReadings(t, d.Node.Store(), gridmint.DeviceID(addr+"/"+c.dialect+"/"+c.serial)), tapped) {
				return false
			}
		}
		return true
	})
	checkDialects(t, d.Node.Store(), addr, w, tapped, checks, atomic.LoadInt64(&d.Broker.server.Info.MessagesDropped))

	// The API and the page show every device of every simulated home,
	// online, with energy.
	fleet := d.Fleet.Devices()
	if len(fleet) <= len(checks) || fleet[len(fleet)-1].Home < 3 {
		t.Fatalf("the demo fleet has %d devices (last in home %d): want a few homes", len(fleet), fleet[len(fleet)-1].Home)
	}
	waitFor(t, "energy for every device of the demo fleet", func() bool {
		energy := map[gridmint.DeviceID]gridmint.MWh{}
		for _, ds := range d.Node.Devices() {
			energy[ds.ID] = ds.Energy
		}
		for _, fd := range fleet {
			if energy[gridmint.DeviceID(addr+"/"+fd.Dialect+"/"+fd.Serial)] <= 0 {
				return false
			}
		}
		return true
	})
	var devs []map[string]any
	getJSON(t, "http://"+d.Node.HTTPAddr()+"/api/v1/devices", &devs)
	if len(devs) != len(fleet) {
		t.Fatalf("GET /api/v1/devices: %d devices, want the fleet's %d", len(devs), len(fleet))
	}
	page := get(t, "http://"+d.Node.HTTPAddr()+"/")
	for _, fd := range fleet {
		if id := addr + "/" + fd.Dialect + "/" + fd.Serial; !strings.Contains(page, id) {
			t.Errorf("web page does not show home %d's %s", fd.Home, id)
		}
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
	checkDemoSites(t, "http://"+d.Node.HTTPAddr(), addr, fleet)

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
		waitFor(t, "Home Assistant config "+cfgTopic, func() bool {
			return len(w.values(cfgTopic, func(p []byte) (string, bool) { return string(p), len(p) > 0 })) > 0
		})
		var cfg map[string]any
		json.Unmarshal([]byte(w.values(cfgTopic, plain)[0]), &cfg)
		if cfg["stat_cla"] != "total_increasing" || cfg["stat_t"] != ha.HAStateTopic(st.Device) {
			t.Errorf("%s: HA config %v", st.ID, cfg)
		}
		// The state is retained: a tap that missed it (the broker drops
		// messages for a subscriber that falls behind, and a device whose
		// state stays put sends no other) asks the broker for it.
		stateTopic := ha.HAStateTopic(st.Device)
		waitFor(t, "Home Assistant state of "+string(st.ID), func() bool {
			if len(w.values(stateTopic, jsonPath("energy_kwh"))) > 0 {
				return true
			}
			_, ok := jsonPath("energy_kwh")(retainedPayload(t, d.Broker.URL(), stateTopic))
			return ok
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
	waitFor(t, "new PV readings after restart", func() bool { return len(storedReadings(t, d.Node.Store(), pvID)) >= nBefore+3 })
	for _, r := range storedReadings(t, d.Node.Store(), pvID)[nBefore:] {
		if r.Event == gridmint.EventReset || r.Event == gridmint.EventFirst {
			t.Errorf("reading after restart %v: want the counter to continue", r)
		}
	}
}

// checkDemoSites: every home of the demo is a site with its devices, its
// meter of record and live totals; home 1's second meter (the Shelly Pro
// 3EM beside the Victron grid meter) is listed and not counted.
func checkDemoSites(t *testing.T, base, addr string, fleet []firmwaresim.FleetDevice) {
	t.Helper()
	var sites []api.Site
	waitFor(t, "every demo site complete, with PV and energy today", func() bool {
		getJSON(t, base+"/api/v1/sites", &sites)
		for _, s := range sites {
			if s.Partial || s.Power.HouseW == nil || s.Power.GridW == nil || s.EnergyToday.GridImportWh == nil ||
				s.Power.PVW <= 0 || s.EnergyToday.PVWh <= 0 {
				return false
			}
		}
		return len(sites) == 3
	})
	members := map[gridmint.SiteID]map[gridmint.DeviceID]api.SiteDevice{}
	for _, s := range sites {
		members[s.ID] = map[gridmint.DeviceID]api.SiteDevice{}
		for _, d := range s.Devices {
			members[s.ID][d.ID] = d
		}
	}
	for _, fd := range fleet {
		id := gridmint.DeviceID(addr + "/" + fd.Dialect + "/" + fd.Serial)
		if _, ok := members[gridmint.SiteID(fmt.Sprintf("home-%d", fd.Home))][id]; !ok {
			t.Errorf("site home-%d lacks its %s", fd.Home, id)
		}
	}
	victron := gridmint.DeviceID(addr + "/victron/" + DemoVictronGridSerial)
	shelly := gridmint.DeviceID(addr + "/shelly/" + DemoShellyMeterSerial)
	if s := sites[0]; s.ID != "home-1" || s.GridMeter == nil || *s.GridMeter != victron {
		t.Errorf("home-1's meter of record = %v, want %s", s.GridMeter, victron)
	}
	if m := members["home-1"][victron]; !m.Counted || !m.MeterOfRecord {
		t.Errorf("home-1's Victron grid meter %+v: want counted, of record", m)
	}
	if m := members["home-1"][shelly]; m.Counted || m.MeterOfRecord || m.PowerW == nil {
		t.Errorf("home-1's Shelly Pro 3EM %+v: want shown with its power, not counted", m)
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

// TestDemoConfigIsTheFleet: the demo node is configured with every device
// and adapter of the demo fleet, home 1's under the demo's names and
// limits, and the configuration validates.
func TestDemoConfigIsTheFleet(t *testing.T) {
	cfg := DemoConfig(DemoOptions{DataDir: t.TempDir()}, "tcp://127.0.0.1:1883")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	fleet, err := firmwaresim.NewFleet(firmwaresim.DemoFleet(demoSeed))
	if err != nil {
		t.Fatal(err)
	}
	fds := fleet.Devices()
	if len(cfg.Devices) != len(fds) || len(cfg.Adapters) != len(fleet.Adapters()) {
		t.Fatalf("%d devices and %d adapters, the fleet has %d and %d", len(cfg.Devices), len(cfg.Adapters), len(fds), len(fleet.Adapters()))
	}
	homes := map[int]bool{}
	for i, fd := range fds {
		dc := cfg.Devices[i]
		homes[fd.Home] = true
		if dc.Dialect != fd.Dialect || dc.Serial != fd.Serial || dc.Zone != DemoZone {
			t.Errorf("devices[%d] %s/%s in %s, fleet device %s/%s", i, dc.Dialect, dc.Serial, dc.Zone, fd.Dialect, fd.Serial)
		}
		if fd.Home > 1 && !strings.HasPrefix(dc.Name, fmt.Sprintf("Home %d: ", fd.Home)) {
			t.Errorf("devices[%d] name %q does not say its home", i, dc.Name)
		}
		switch fd.Kind {
		case gridmint.KindPVInverter:
			if dc.NameplateW != fd.NameplateW || dc.NameplateW <= 0 {
				t.Errorf("%s: nameplate %v W, the inverter's %v W", dc.Serial, dc.NameplateW, fd.NameplateW)
			}
		case gridmint.KindBattery:
			if dc.CapacityWh <= 0 || dc.Limits.MaxDischargeW <= 0 || dc.Limits.SoCFloorPct <= 0 {
				t.Errorf("%s: battery without capacity or limits: %+v", dc.Serial, dc)
			}
		case gridmint.KindEVCharger:
			if dc.Limits.MinCurrentA != 6 || dc.Limits.MaxCurrentA < 6 {
				t.Errorf("%s: charger limits %+v", dc.Serial, dc.Limits)
			}
		}
	}
	if len(homes) < 3 {
		t.Errorf("devices of %d homes, want a few", len(homes))
	}
	// A site per home, every device in its home's site, each site's
	// meter of record the GX's grid meter where there is one.
	for i, fd := range fds {
		if want := fmt.Sprintf("home-%d", fd.Home); cfg.Devices[i].Site != want {
			t.Errorf("devices[%d] %s/%s of home %d in site %q, want %q", i, fd.Dialect, fd.Serial, fd.Home, cfg.Devices[i].Site, want)
		}
	}
	wantSites := []SiteConfig{
		{ID: "home-1", Name: "Home 1", GridMeter: "victron/" + DemoVictronGridSerial, Zone: DemoZone},
		{ID: "home-2", Name: "Home 2", GridMeter: "victron/grid-32", Zone: DemoZone},
		{ID: "home-3", Name: "Home 3", GridMeter: "shelly/shellypro3em-02a1b3100003:em:0", Zone: DemoZone},
	}
	if len(cfg.Sites) != len(wantSites) {
		t.Fatalf("sites = %+v, want %+v", cfg.Sites, wantSites)
	}
	for i, w := range wantSites {
		if got := cfg.Sites[i]; got != w {
			t.Errorf("sites[%d] = %+v, want %+v", i, got, w)
		}
	}
	// Home 1 is the single house the Demo* constants name.
	for _, want := range demoHouseDevices() {
		found := false
		for _, dc := range cfg.Devices {
			found = found || dc == want
		}
		if !found {
			t.Errorf("home 1's %s/%s is not configured as %+v", want.Dialect, want.Serial, want)
		}
	}
}
