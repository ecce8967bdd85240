package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
)

// controlSpeed runs the control tests ten times faster than the wall
// clock: slow enough that a reply's latency stays well inside the
// confirmation timeout (15 s of clock time = 1.5 s here).
const controlSpeed = 10

const controlNodeConfig = `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0]}
stale_after: %s
adapters:
  - {dialect: opendtu}
  - {dialect: tasmota}
  - {dialect: shelly}
  - {dialect: victron, portal_id: %s, keep_alive: %v}
  - {dialect: goe}
  - {dialect: ahoydtu, inverters: {%s: 0}}
devices:
  - {dialect: goe, serial: "%s", limits: {min_current_a: 6, max_current_a: 16}}
  - {dialect: victron, serial: %s, limits: {soc_floor_pct: 5, max_charge_w: 3000, max_discharge_w: 3000}}
`

// controlRig is a node and one simulated device per dialect on a broker.
type controlRig struct {
	node  *Node
	sim   *firmwaresim.Sim
	clock *fastClock
	addr  string
	token string
}

func startControlRig(t *testing.T, brokerURL string, victronKeepAlive bool, staleAfter string) *controlRig {
	t.Helper()
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), controlSpeed)
	sim, err := firmwaresim.New(firmwaresim.Config{
		Broker: brokerURL, Period: 100 * time.Millisecond, Clock: clock, Logger: testLogger(), Seed: 3,
		ProfileStart: time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC),
		PV:           []firmwaresim.PVConfig{{Serial: DemoInverterSerial, Nameplate: 800}},
		Plugs:        []firmwaresim.PlugConfig{{Topic: DemoPlugTopic}},
		ShellyPlugs:  []firmwaresim.ShellyPlugConfig{{MAC: "02a1b2000001"}},
		ShellyMeters: []firmwaresim.ShellyMeterConfig{{MAC: "02a1b3000001"}},
		Victron:      []firmwaresim.VictronConfig{{PortalID: DemoVictronPortal, InitialSoCPct: 60}},
		GoE:          []firmwaresim.GoEConfig{{Serial: DemoChargerSerial, SessionWh: 50_000}},
		Ahoy:         []firmwaresim.AhoyConfig{{Name: DemoAhoyInverter, Nameplate: 600}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-simDone })
	waitFor(t, "simulated devices to connect", func() bool { st := sim.Stats(); return st.Connected == st.Devices })

	dir := t.TempDir()
	cfg, err := ParseConfig(fmt.Appendf(nil, controlNodeConfig, dir, brokerURL, staleAfter, DemoVictronPortal, victronKeepAlive,
		DemoAhoyInverter, DemoChargerSerial, DemoBatterySerial))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Clock: clock, Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &controlRig{node: n, sim: sim, clock: clock, addr: n.Identity().Address, token: n.apiToken}
}

func (r *controlRig) id(dialect, serial string) gridmint.DeviceID {
	return gridmint.DeviceID(r.addr + "/" + dialect + "/" + serial)
}

// device reads a device's live state over the API.
func (r *controlRig) device(t *testing.T, id gridmint.DeviceID) map[string]any {
	t.Helper()
	var d map[string]any
	getJSON(t, "http://"+r.node.HTTPAddr()+"/api/v1/devices/"+string(id), &d)
	return d
}

// setpoint posts a setpoint and waits up to 5 s for its outcome.
func (r *controlRig) setpoint(t *testing.T, id gridmint.DeviceID, body string) (int, gridmint.CommandRecord, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+r.node.HTTPAddr()+"/api/v1/devices/"+string(id)+"/setpoint?wait=5s", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+r.token)
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

func power(d map[string]any) float64 { f, _ := d["power_w"].(float64); return f }

// TestSetpointsRoundTripAgainstMosquitto sends every kind of setpoint
// through the API to simulated firmware of each dialect over a real
// Mosquitto: each is confirmed the dialect's way and changes the device's
// next telemetry; setpoints outside the limits or against the opt-out are
// refused before anything is sent.
func TestSetpointsRoundTripAgainstMosquitto(t *testing.T) {
	parallel(t)
	url := startMosquitto(t)
	w := tapWire(t, url) // before the devices start: it sees every value they publish
	r := startControlRig(t, url, true, "2m")

	ids := map[string]gridmint.DeviceID{
		"tasmota": r.id("tasmota", DemoPlugTopic),
		"shelly":  r.id("shelly", DemoShellyPlugSerial),
		"opendtu": r.id("opendtu", DemoInverterSerial),
		"ahoydtu": r.id("ahoydtu", DemoAhoyInverter),
		"goe":     r.id("goe", DemoChargerSerial),
		"victron": r.id("victron", DemoBatterySerial),
	}
	waitFor(t, "every device online with power", func() bool {
		for _, id := range ids {
			var all []map[string]any
			getJSON(t, "http://"+r.node.HTTPAddr()+"/api/v1/devices", &all)
			found := false
			for _, d := range all {
				if d["id"] == string(id) && d["online"] == true && d["last_seen"] != nil {
					found = true
				}
			}
			if !found {
				return false
			}
		}
		return true
	})
	// The producers and consumers must be doing something to show a change.
	waitFor(t, "power on the devices to be controlled", func() bool {
		return power(r.device(t, ids["opendtu"])) > 250 && power(r.device(t, ids["ahoydtu"])) > 250 && power(r.device(t, ids["goe"])) > 5000
	})
	// Every dialect's readings, read over Mosquitto, in gridmint's units and
	// signs (the meters too): each stored value is one the device published.
	checks := demoDialectChecks()
	waitFor(t, "new counter values from every device", func() bool {
		for _, c := range checks {
			if !changedSince(storedReadings(t, r.node.Store(), r.id(c.dialect, c.serial)), time.Time{}) {
				return false
			}
		}
		return true
	})
	checkDialects(t, r.node.Store(), r.addr, w, time.Time{}, checks, 0)

	tests := []struct {
		name   string
		id     gridmint.DeviceID
		body   string
		effect func(map[string]any) bool // on the device's live state afterwards
		what   string
	}{
		{"tasmota relay off", ids["tasmota"], `{"kind":"switch","value":0}`, func(d map[string]any) bool { return power(d) == 0 }, "0 W"},
		{"shelly relay off", ids["shelly"], `{"kind":"switch","value":0}`, func(d map[string]any) bool { return power(d) == 0 }, "0 W"},
		{"opendtu limit", ids["opendtu"], `{"kind":"power_limit","value":200}`, func(d map[string]any) bool { return power(d) <= 201 }, "≤ 200 W"},
		{"ahoydtu limit", ids["ahoydtu"], `{"kind":"power_limit","value":200}`, func(d map[string]any) bool { return power(d) <= 201 }, "≤ 200 W"},
		{"go-e current", ids["goe"], `{"kind":"charge_current","value":6}`, func(d map[string]any) bool { return power(d) > 3500 && power(d) < 4500 }, "about 6 A × 3 × 230 V"},
		{"go-e stop", ids["goe"], `{"kind":"charge_enable","value":0}`, func(d map[string]any) bool { return power(d) == 0 }, "0 W"},
		{"go-e resume", ids["goe"], `{"kind":"charge_enable","value":1}`, func(d map[string]any) bool { return power(d) > 3500 && power(d) < 4500 }, "charging at 6 A again"},
		{"victron charge 1 kW", ids["victron"], `{"kind":"battery_power","value":-1000}`, func(d map[string]any) bool { return power(d) < -900 && power(d) > -1100 }, "about -1000 W (charging)"},
		{"victron discharge 500 W", ids["victron"], `{"kind":"battery_power","value":500}`, func(d map[string]any) bool { return power(d) > 450 && power(d) < 550 }, "about +500 W (discharging)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, rec, raw := r.setpoint(t, tt.id, tt.body)
			if code != http.StatusOK || rec.Status != gridmint.CommandConfirmed {
				t.Fatalf("POST %s = %d %s, want 200 confirmed", tt.body, code, raw)
			}
			waitFor(t, tt.name+": telemetry showing "+tt.what, func() bool { return tt.effect(r.device(t, tt.id)) })
		})
	}

	// Refused before sending: above the charger's limit, below its minimum.
	var sentMu sync.Mutex
	var sent []string
	tap := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("set-tap"))
	if tok := tap.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer tap.Disconnect(0)
	tap.Subscribe("go-eCharger/+/+/set", 1, func(_ paho.Client, m paho.Message) {
		sentMu.Lock()
		sent = append(sent, m.Topic())
		sentMu.Unlock()
	}).WaitTimeout(5 * time.Second)
	for _, body := range []string{`{"kind":"charge_current","value":20}`, `{"kind":"charge_current","value":4}`} {
		if code, _, raw := r.setpoint(t, ids["goe"], body); code != http.StatusBadRequest {
			t.Errorf("POST %s = %d %s, want 400 (outside the limits)", body, code, raw)
		}
	}
	// The homeowner's opt-out refuses market setpoints, not their own.
	req, _ := http.NewRequest(http.MethodPatch, "http://"+r.node.HTTPAddr()+"/api/v1/devices/"+string(ids["goe"]), bytes.NewBufferString(`{"opt_out":true}`))
	req.Header.Set("Authorization", "Bearer "+r.token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("PATCH opt_out: %v %v", res, err)
	}
	if code, _, raw := r.setpoint(t, ids["goe"], `{"kind":"charge_current","value":8,"origin":"market"}`); code != http.StatusConflict {
		t.Errorf("market setpoint after opt-out = %d %s, want 409", code, raw)
	}
	if code, rec, raw := r.setpoint(t, ids["goe"], `{"kind":"charge_current","value":8,"origin":"homeowner"}`); code != http.StatusOK || rec.Status != gridmint.CommandConfirmed {
		t.Errorf("homeowner setpoint after opt-out = %d %s, want confirmed", code, raw)
	}
	// The homeowner's command was confirmed, so its /set passed the broker;
	// the tap sees it, and sees nothing of the refused ones.
	waitFor(t, "the tap to see the homeowner's set", func() bool { sentMu.Lock(); defer sentMu.Unlock(); return len(sent) >= 1 })
	sentMu.Lock()
	if len(sent) != 1 {
		t.Errorf("go-e set messages published: %v, want only the homeowner's", sent)
	}
	sentMu.Unlock()
	// Every command is in the audit log, retrievable by device.
	var cmds struct{ Commands []gridmint.CommandRecord }
	getJSON(t, "http://"+r.node.HTTPAddr()+"/api/v1/devices/"+string(ids["goe"])+"/commands", &cmds)
	if len(cmds.Commands) != 4 {
		t.Errorf("go-e command log has %d records, want 4 (current, stop, resume, homeowner current)", len(cmds.Commands))
	}
}

// TestVictronWithoutKeepAliveGoesOffline: a GX publishes only while kept
// alive. With the node's keep-alives off, the test keeps the GX alive for a
// while; when it stops, the GX falls silent and the node shows the battery
// offline.
func TestVictronWithoutKeepAliveGoesOffline(t *testing.T) {
	parallel(t)
	url := startMosquitto(t)
	r := startControlRig(t, url, false, "30s")
	battery := r.id("victron", DemoBatterySerial)

	ka := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("keepalive-test"))
	if tok := ka.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer ka.Disconnect(0)
	stop := make(chan struct{})
	go func() {
		for {
			ka.Publish("R/"+DemoVictronPortal+"/keepalive", 1, false, "")
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond): // 5 s of clock time
			}
		}
	}()
	online := func() bool {
		var all []map[string]any
		getJSON(t, "http://"+r.node.HTTPAddr()+"/api/v1/devices", &all)
		for _, d := range all {
			if d["id"] == string(battery) {
				return d["online"] == true
			}
		}
		return false
	}
	waitFor(t, "the battery online while kept alive", online)
	close(stop)
	// The GX stops 60 s of clock time after the last keep-alive, the node
	// marks it offline 30 s after the last message: 9 s here, at most.
	waitFor(t, "the battery offline after keep-alives stopped", func() bool { return !online() })
}
