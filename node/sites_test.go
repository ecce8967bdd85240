package node

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
)

const sitesNodeConfig = `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0]}
stale_after: 1h
adapters: [{dialect: shelly}, {dialect: goe}]
sites:
  - {id: home, name: Home, grid_meter: shelly/shellypro3em-ec6260890b50:em:0, zone: DE-LU}
  - {id: shed}
devices:
  - {dialect: goe, serial: "200001", name: Garage charger, site: home}
  - {dialect: shelly, serial: "shellypro3em-ec6260890b51:em:0", name: Check meter, site: home}
`

const (
	recordMeter = "shellypro3em-ec6260890b50"
	checkMeter  = "shellypro3em-ec6260890b51"
)

// sitesRig is a node with two sites and a client that plays the devices.
type sitesRig struct {
	t     *testing.T
	dir   string
	url   string
	clock *fastClock
	node  *Node
	pub   paho.Client
	// config is sitesNodeConfig unless a test changes it.
	config string
}

func (r *sitesRig) start() {
	r.t.Helper()
	cfg, err := ParseConfig(fmt.Appendf(nil, cmp.Or(r.config, sitesNodeConfig), r.dir, r.url))
	if err != nil {
		r.t.Fatal(err)
	}
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Clock: r.clock, Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		r.t.Fatal(err)
	}
	r.node = n
}

func (r *sitesRig) id(dialect, serial string) gridmint.DeviceID {
	return gridmint.DeviceID(r.node.Identity().Address + "/" + dialect + "/" + serial)
}

func (r *sitesRig) publish(topic, payload string) {
	r.t.Helper()
	if tok := r.pub.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		r.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// charger publishes the go-e's power (W) and lifetime energy (Wh).
func (r *sitesRig) charger(w float64, etoWh int) {
	// nrg: U L1 L2 L3 N, I L1 L2 L3, P L1 L2 L3 N Total, pf L1 L2 L3 N.
	r.publish("go-eCharger/200001/nrg", fmt.Sprintf("[230,230,230,0,16,16,16,%.0f,%.0f,%.0f,0,%.0f,1,1,1,0]", w/3, w/3, w/3, w))
	r.publish("go-eCharger/200001/eto", fmt.Sprint(etoWh))
}

// meter publishes a Pro 3EM's power (W, import +) and counters (Wh).
func (r *sitesRig) meter(prefix string, w float64, importWh, exportWh float64) {
	r.publish(prefix+"/status/em:0", fmt.Sprintf(`{"id":0,"total_act_power":%g}`, w))
	r.publish(prefix+"/status/emdata:0", fmt.Sprintf(`{"id":0,"total_act":%.2f,"total_act_ret":%.2f}`, importWh, exportWh))
}

func (r *sitesRig) site(id string) api.Site {
	r.t.Helper()
	var s api.Site
	getJSON(r.t, "http://"+r.node.HTTPAddr()+"/api/v1/sites/"+id, &s)
	return s
}

func (r *sitesRig) device(id gridmint.DeviceID) map[string]any {
	r.t.Helper()
	var d map[string]any
	getJSON(r.t, "http://"+r.node.HTTPAddr()+"/api/v1/devices/"+string(id), &d)
	return d
}

func (r *sitesRig) patch(id gridmint.DeviceID, body string) (int, string) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, "http://"+r.node.HTTPAddr()+"/api/v1/devices/"+string(id), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+r.node.apiToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Error string }
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out.Error
}

func num(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// TestSitesAgainstBroker: a home with a charger, its meter of record and a
// second meter on the same connection. The site's grid figures are the
// meter of record's alone; energy today counts from the day's first
// counter values; a charger that goes offline at 11 kW has no power but
// keeps its energy, and makes the totals partial; site edits over the API
// follow the rules and survive a restart.
func TestSitesAgainstBroker(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	// Noon of a fixed day in the node's zone, so that "today" does not
	// depend on when the test runs.
	noon := time.Date(2026, 6, 21, 12, 0, 0, 0, time.Local)
	r := &sitesRig{t: t, dir: t.TempDir(), url: b.URL(), clock: newFastClock(noon, 10)}
	r.pub = paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("devices"))
	if tok := r.pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer r.pub.Disconnect(0)
	r.start()
	defer func() { r.node.Close() }()
	charger, record, check := r.id("goe", "200001"), r.id("shelly", recordMeter+":em:0"), r.id("shelly", checkMeter+":em:0")

	// The configuration put the meter of record in its site, declared by
	// naming it, and gave the site's zone to its devices.
	if d := r.device(record); d["site"] != "home" || d["kind"] != "meter" || d["zone"] != "DE-LU" {
		t.Errorf("meter of record: site %v kind %v zone %v; want home, meter, DE-LU", d["site"], d["kind"], d["zone"])
	}

	r.publish("go-eCharger/200001/mcc", "true")
	r.charger(11_000, 20_000)
	r.meter(recordMeter, 12_000, 30_000, 1_000)
	r.meter(checkMeter, 11_980, 31_000, 1_100)
	var s api.Site
	waitFor(t, "the site's totals from the first readings", func() bool {
		s = r.site("home")
		return num(s.Power.GridW) == "12000" && s.Power.EVW == 11_000 && s.EnergyToday.GridImportWh != nil
	})
	if s.Partial || num(s.Power.GridImportW) != "12000" || num(s.Power.GridExportW) != "0" || num(s.Power.ConsumptionW) != "12000" || num(s.Power.HouseW) != "1000" ||
		s.GridMeter == nil || *s.GridMeter != record {
		t.Errorf("home: partial %v import %s export %s consumption %s house %s meter %v; want the meter of record's 12000 W alone, 1000 W of it the house",
			s.Partial, num(s.Power.GridImportW), num(s.Power.GridExportW), num(s.Power.ConsumptionW), num(s.Power.HouseW), s.GridMeter)
	}
	if !s.EnergyToday.DayStart.Equal(time.Date(2026, 6, 21, 0, 0, 0, 0, time.Local)) {
		t.Errorf("day_start %v, want local midnight of 2026-06-21", s.EnergyToday.DayStart)
	}

	// More energy: 10 Wh for the car, 20 Wh imported at the meter of
	// record, 500 Wh at the check meter (which must not count).
	r.charger(11_000, 20_010)
	r.meter(recordMeter, 12_000, 30_020, 1_000)
	r.meter(checkMeter, 11_980, 31_500, 1_100)
	// Wait for all three devices: the check meter's reading travels on
	// its own and may land after the others.
	waitFor(t, "energy today", func() bool {
		s = r.site("home")
		checked := false
		for _, d := range s.Devices {
			checked = checked || (d.ID == check && d.EnergyTodayWh == 500)
		}
		return s.EnergyToday.EVWh == 10 && num(s.EnergyToday.GridImportWh) == "20" && checked
	})
	if num(s.EnergyToday.GridExportWh) != "0" || num(s.EnergyToday.HouseWh) != "10" {
		t.Errorf("export %s house %s Wh today; want 0 and 10 (20 imported − 10 for the car)", num(s.EnergyToday.GridExportWh), num(s.EnergyToday.HouseWh))
	}
	for _, d := range s.Devices {
		if d.ID == check && (d.Counted || d.MeterOfRecord || d.EnergyTodayWh != 500) {
			t.Errorf("check meter %+v; want listed with its 500 Wh, not counted", d)
		}
	}

	// The charger drops off the network at 11 kW.
	r.publish("go-eCharger/200001/mcc", "false")
	waitFor(t, "the charger offline", func() bool { return r.device(charger)["status"] == "offline" })
	d := r.device(charger)
	if v, present := d["power_w"]; !present || v != nil || d["power_unknown"] != "offline" || d["online"] != false || d["energy_wh"] != 20010.0 {
		t.Errorf("offline charger: power_w %v (present %v) power_unknown %v online %v energy_wh %v; want null, offline, false, 20010",
			v, present, d["power_unknown"], d["online"], d["energy_wh"])
	}
	s = r.site("home")
	if !s.Partial || len(s.Unknown) != 1 || s.Unknown[0].Device != charger || s.Unknown[0].Reason != "offline" ||
		s.Power.EVW != 0 || s.Power.HouseW != nil || s.EnergyToday.EVWh != 10 {
		t.Errorf("home with the charger offline: partial %v unknown %+v ev %v house %s ev today %v; want partial naming the charger, house null, energy kept",
			s.Partial, s.Unknown, s.Power.EVW, num(s.Power.HouseW), s.EnergyToday.EVWh)
	}

	// Edits: a device moves between sites; a site that does not exist,
	// and moving or retyping the meter of record, are refused.
	for _, tt := range []struct {
		id         gridmint.DeviceID
		body       string
		code       int
		wantInBody string
	}{
		{charger, `{"site":"garage"}`, http.StatusBadRequest, `site "garage" is not configured (configured: home, shed)`},
		{record, `{"site":"shed"}`, http.StatusConflict, "meter of record of site home"},
		{record, `{"site":""}`, http.StatusConflict, "meter of record of site home"},
		{record, `{"kind":"plug"}`, http.StatusConflict, "stays a meter"},
		{charger, `{"site":"shed"}`, http.StatusOK, ""},
		{check, `{"site":""}`, http.StatusOK, ""},
	} {
		if code, msg := r.patch(tt.id, tt.body); code != tt.code || !strings.Contains(msg, tt.wantInBody) {
			t.Errorf("PATCH %s %s = %d %q, want %d %q", tt.id, tt.body, code, msg, tt.code, tt.wantInBody)
		}
	}
	s = r.site("home")
	if len(s.Devices) != 1 || s.Devices[0].ID != record || s.Partial {
		t.Errorf("home after the moves: %+v; want the meter of record alone, complete", s.Devices)
	}
	if shed := r.site("shed"); len(shed.Devices) != 1 || shed.Devices[0].ID != charger || !shed.Partial || shed.GridMeter != nil || shed.EnergyToday.EVWh != 10 {
		t.Errorf("shed: %+v; want the offline charger, partial, no meter of record, its 10 Wh today", shed)
	}

	// The assignments are in the store: a restart keeps them.
	r.node.Close()
	r.start()
	if d := r.device(charger); d["site"] != "shed" {
		t.Errorf("after a restart the charger is in %v, want shed", d["site"])
	}
	if d := r.device(check); d["site"] != nil {
		t.Errorf("after a restart the check meter is in %v, want none", d["site"])
	}
	if d := r.device(record); d["site"] != "home" {
		t.Errorf("after a restart the meter of record is in %v, want home", d["site"])
	}

	// The configuration drops the shed: the charger keeps saying where it
	// was, counts in no site, and can still be edited.
	r.node.Close()
	r.config = strings.Replace(sitesNodeConfig, "  - {id: shed}\n", "", 1)
	r.start()
	var all []api.Site
	getJSON(t, "http://"+r.node.HTTPAddr()+"/api/v1/sites", &all)
	if len(all) != 1 || all[0].ID != "home" {
		t.Errorf("sites after the shed was dropped: %+v, want home alone", all)
	}
	if code, msg := r.patch(charger, `{"name":"Old charger"}`); code != http.StatusOK {
		t.Errorf("renaming a device of a dropped site = %d %q, want 200", code, msg)
	}
	if d := r.device(charger); d["site"] != "shed" || d["name"] != "Old charger" {
		t.Errorf("charger after the rename: site %v name %v; want shed kept, renamed", d["site"], d["name"])
	}
	if code, msg := r.patch(charger, `{"site":"home"}`); code != http.StatusOK || r.device(charger)["site"] != "home" {
		t.Errorf("moving it into a configured site = %d %q", code, msg)
	}
}
