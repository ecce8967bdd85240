package node

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/store"
)

// wire records every payload published on the broker, so tests can check
// that the node stored exactly what the devices sent, converted to
// gridmint's units and signs.
type wire struct {
	mu       sync.Mutex
	payloads map[string][][]byte
	client   paho.Client
	// lost is set when the tap's connection dropped: it missed whatever
	// was published until paho reconnected (a loaded machine can delay
	// its PINGRESP past the ping timeout).
	lost atomic.Bool
}

func tapWire(t *testing.T, brokerURL string) *wire {
	t.Helper()
	w := &wire{payloads: map[string][][]byte{}}
	record := func(_ paho.Client, m paho.Message) {
		w.mu.Lock()
		w.payloads[m.Topic()] = append(w.payloads[m.Topic()], append([]byte(nil), m.Payload()...))
		w.mu.Unlock()
	}
	opts := paho.NewClientOptions().AddBroker(brokerURL).SetClientID("wiretap").
		SetKeepAlive(time.Minute).SetPingTimeout(time.Minute).
		SetConnectionLostHandler(func(paho.Client, error) { w.lost.Store(true) }).
		SetOnConnectHandler(func(c paho.Client) {
			if w.lost.Load() { // a clean session lost the subscription
				c.Subscribe("#", 0, record)
			}
		})
	w.client = paho.NewClient(opts)
	if tok := w.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("wiretap connect: %v", tok.Error())
	}
	tok := w.client.Subscribe("#", 0, record)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("wiretap subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { w.client.Disconnect(0) })
	return w
}

// values extracts the decimal literal of every payload seen on topic.
func (w *wire) values(topic string, extract func([]byte) (string, bool)) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, p := range w.payloads[topic] {
		if v, ok := extract(p); ok {
			out = append(out, v)
		}
	}
	return out
}

// Extractors of the value literal from each dialect's payload.
func plain(p []byte) (string, bool) { return strings.TrimSpace(string(p)), len(p) > 0 }

func jsonPath(path ...string) func([]byte) (string, bool) {
	return func(p []byte) (string, bool) {
		var v any
		dec := json.NewDecoder(strings.NewReader(string(p)))
		dec.UseNumber()
		if dec.Decode(&v) != nil {
			return "", false
		}
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			v = m[k]
		}
		n, ok := v.(json.Number)
		return string(n), ok
	}
}

// dialectCheck says where one device's values are on the wire.
type dialectCheck struct {
	dialect, serial string
	// forward (and reverse) counters: topic, extractor, unit
	fwdTopic, revTopic string
	fwd, rev           func([]byte) (string, bool)
	unit, revUnit      gridmint.EnergyUnit
	// powerTopic and powerSign check the stored power: stored = sign ×
	// published (Victron batteries publish charging as +).
	powerTopic string
	power      func([]byte) (string, bool)
	powerSign  float64
}

// demoDialectChecks cover one device of every dialect of the demo's
// simulated firmware.
func demoDialectChecks() []dialectCheck {
	vic := "N/" + DemoVictronPortal + "/"
	return []dialectCheck{
		{dialect: "opendtu", serial: DemoInverterSerial, fwdTopic: "solar/" + DemoInverterSerial + "/0/yieldtotal", fwd: plain, unit: gridmint.UnitKWh,
			powerTopic: "solar/" + DemoInverterSerial + "/0/power", power: plain, powerSign: 1},
		{dialect: "tasmota", serial: DemoPlugTopic, fwdTopic: "tele/" + DemoPlugTopic + "/SENSOR", fwd: jsonPath("ENERGY", "Total"), unit: gridmint.UnitKWh,
			powerTopic: "tele/" + DemoPlugTopic + "/SENSOR", power: jsonPath("ENERGY", "Power"), powerSign: 1},
		{dialect: "shelly", serial: DemoShellyPlugSerial, fwdTopic: "shellyplusplugs-02a1b2000001/status/switch:0", fwd: jsonPath("aenergy", "total"), unit: gridmint.UnitWh},
		{dialect: "shelly", serial: DemoShellyMeterSerial, fwdTopic: "shellypro3em-02a1b3000001/status/emdata:0", fwd: jsonPath("total_act"), unit: gridmint.UnitWh,
			revTopic: "shellypro3em-02a1b3000001/status/emdata:0", rev: jsonPath("total_act_ret"), revUnit: gridmint.UnitWh},
		{dialect: "victron", serial: DemoBatterySerial, fwdTopic: vic + "battery/512/History/DischargedEnergy", fwd: jsonPath("value"), unit: gridmint.UnitKWh,
			revTopic: vic + "battery/512/History/ChargedEnergy", rev: jsonPath("value"), revUnit: gridmint.UnitKWh,
			powerTopic: vic + "battery/512/Dc/0/Power", power: jsonPath("value"), powerSign: -1},
		{dialect: "victron", serial: DemoVictronGridSerial, fwdTopic: vic + "grid/30/Ac/Energy/Forward", fwd: jsonPath("value"), unit: gridmint.UnitKWh},
		{dialect: "goe", serial: DemoChargerSerial, fwdTopic: "go-eCharger/" + DemoChargerSerial + "/eto", fwd: plain, unit: gridmint.UnitWh},
		{dialect: "ahoydtu", serial: DemoAhoyInverter, fwdTopic: "inverter/" + DemoAhoyInverter + "/ch0/YieldTotal", fwd: plain, unit: gridmint.UnitKWh,
			powerTopic: "inverter/" + DemoAhoyInverter + "/ch0/P_AC", power: plain, powerSign: 1},
	}
}

// storedReadings returns every reading of a device.
func storedReadings(t *testing.T, st *store.Store, id gridmint.DeviceID) []gridmint.Reading {
	t.Helper()
	rs, err := st.Readings(id, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// checkDialects checks every device's stored readings against the wire:
// each stored raw counter is a value the device published, read in the
// dialect's unit; stored power has the dialect's sign turned into
// gridmint's; normalised energy never falls.
// Readings received before since (when the tap started) are not checked,
// nor, per device, those before the first stored counter the tap saw:
// values published before the tap subscribed may still have been in the
// node's queue after since. lost is how many messages the broker dropped
// for subscribers that fell behind (the tap, like the devices, uses QoS
// 0): up to that many stored counters the tap never saw are logged, not
// failed; more are errors. Pass 0 where nothing is dropped. If the tap's
// own connection dropped, no miss is an error.
func checkDialects(t *testing.T, st *store.Store, addr string, w *wire, since time.Time, checks []dialectCheck, lost int64) {
	t.Helper()
	var misses []string
	for _, c := range checks {
		id := gridmint.DeviceID(addr + "/" + c.dialect + "/" + c.serial)
		rs := storedReadings(t, st, id)
		if len(rs) == 0 {
			t.Errorf("%s: no readings stored", id)
			continue
		}
		published := func(topic string, extract func([]byte) (string, bool), unit gridmint.EnergyUnit) map[gridmint.MWh]bool {
			out := map[gridmint.MWh]bool{}
			for _, lit := range w.values(topic, extract) {
				if e, err := gridmint.ParseEnergy(lit, unit); err == nil {
					out[e] = true
				} else if f, err := strconv.ParseFloat(lit, 64); err == nil {
					e, _ := gridmint.EnergyFromFloat(f, unit)
					out[e] = true
				}
			}
			return out
		}
		fwd := published(c.fwdTopic, c.fwd, c.unit)
		var rev map[gridmint.MWh]bool
		if c.revTopic != "" {
			rev = published(c.revTopic, c.rev, c.revUnit)
		}
		var powers map[float64]bool
		if c.powerTopic != "" {
			powers = map[float64]bool{}
			for _, lit := range w.values(c.powerTopic, c.power) {
				if f, err := strconv.ParseFloat(lit, 64); err == nil {
					powers[math.Round(c.powerSign*f*10)/10] = true
				}
			}
		}
		// Decoders that merge partial updates (Victron, Shelly, go-e) repeat
		// values they learned earlier, maybe before the tap started: check a
		// value only in the reading where it changes.
		var last gridmint.MWh
		var prev gridmint.Reading
		checked := 0
		live := false // a stored counter the tap saw came before
		for i, r := range rs {
			if r.Energy < last {
				t.Errorf("%s: energy fell from %v to %v", id, last, r.Energy)
			}
			last = r.Energy
			fresh := i > 0 && r.Time.After(since) && live
			live = live || (r.Fields.Has(gridmint.FieldEnergy) && fwd[r.Raw])
			if fresh && r.Fields.Has(gridmint.FieldEnergy) && r.Raw != prev.Raw {
				if !fwd[r.Raw] {
					misses = append(misses, fmt.Sprintf("%s: stored counter %v was never published on %s in %s", id, r.Raw, c.fwdTopic, c.unit))
				}
				checked++
			}
			if fresh && rev != nil && r.Fields.Has(gridmint.FieldEnergyReverse) && r.RawReverse != prev.RawReverse && !rev[r.RawReverse] {
				t.Errorf("%s: stored reverse counter %v was never published on %s", id, r.RawReverse, c.revTopic)
			}
			if fresh && powers != nil && r.Fields.Has(gridmint.FieldPower) && r.Power != prev.Power && !powers[math.Round(float64(r.Power)*10)/10] {
				t.Errorf("%s: stored power %v W is no published value × %v on %s", id, r.Power, c.powerSign, c.powerTopic)
			}
			prev = r
		}
		if checked == 0 {
			t.Errorf("%s: %d reading(s), none with a new counter value after the tap started (the tap saw %d counter values on %s; its connection dropped: %v)", id, len(rs), len(fwd), c.fwdTopic, w.lost.Load())
		}
	}
	if w.lost.Load() && len(misses) > 0 {
		t.Logf("the wire tap's connection dropped during the test: %d stored counters it did not see are logged, not failed", len(misses))
		lost = math.MaxInt64
	}
	for _, m := range misses {
		if int64(len(misses)) > lost {
			t.Error(m)
		} else {
			t.Logf("%s (the broker dropped %d messages for slow subscribers)", m, lost)
		}
	}
}

// changedSince reports whether a reading after since has a counter value
// that differs from the reading before it.
func changedSince(rs []gridmint.Reading, since time.Time) bool {
	for i := 1; i < len(rs); i++ {
		if rs[i].Time.After(since) && rs[i].Fields.Has(gridmint.FieldEnergy) && rs[i].Raw != rs[i-1].Raw {
			return true
		}
	}
	return false
}

// retainedPayload is the payload the broker retains on topic, or nil when
// none arrives within a second.
func retainedPayload(t *testing.T, brokerURL, topic string) []byte {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(brokerURL).SetClientID(fmt.Sprintf("retained-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil
	}
	defer c.Disconnect(0)
	got := make(chan []byte, 1)
	tok := c.Subscribe(topic, 0, func(_ paho.Client, m paho.Message) {
		if m.Retained() {
			select {
			case got <- append([]byte(nil), m.Payload()...):
			default:
			}
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil
	}
	// The broker sends a retained message right after the SUBACK; the
	// bound only ends the wait when there is none (a loaded machine may
	// take a while to deliver it).
	select {
	case p := <-got:
		return p
	case <-time.After(5 * time.Second):
		return nil
	}
}
