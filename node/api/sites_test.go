package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// fakeSites reports sites from device states with the real summing rules.
type fakeSites struct {
	sites  []gridmint.Site
	states func() []devices.DeviceState
	starts map[gridmint.DeviceID]devices.DayStart
}

var siteDay = time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)

func (f fakeSites) report(site gridmint.Site) devices.SiteReport {
	var members []devices.DeviceState
	for _, st := range f.states() {
		if st.Site == site.ID {
			members = append(members, st)
		}
	}
	return devices.Summarise(site, members, f.starts, siteDay)
}

func (f fakeSites) Sites() ([]devices.SiteReport, error) {
	var out []devices.SiteReport
	for _, s := range f.sites {
		out = append(out, f.report(s))
	}
	return out, nil
}

func (f fakeSites) Site(id gridmint.SiteID) (devices.SiteReport, error) {
	for _, s := range f.sites {
		if s.ID == id {
			return f.report(s), nil
		}
	}
	return devices.SiteReport{}, gridmint.Errorf(gridmint.ENotFound, "no site %q", id)
}

// homeStates is a home with PV, a charger, the Victron grid meter of
// record and a Shelly Pro 3EM on the same connection; chargerOnline says
// whether the charger (last seen at 11 kW) is still online.
func homeStates(chargerOnline bool) []devices.DeviceState {
	on := func(id gridmint.DeviceID, kind gridmint.DeviceKind, name string, p gridmint.W, fwd, rev gridmint.MWh) devices.DeviceState {
		_, dialect, serial, _ := id.Parts()
		return devices.DeviceState{
			Device: gridmint.Device{ID: id, Kind: kind, Dialect: dialect, Serial: serial, Name: name, Site: "home-1"},
			Online: true, Availability: devices.AvailabilityOnline, LastSeen: seen,
			Fields: gridmint.FieldPower | gridmint.FieldEnergy | gridmint.FieldEnergyReverse, Power: p, Energy: fwd, EnergyReverse: rev,
		}
	}
	charger := on("0xn/goe/200001", gridmint.KindEVCharger, "Garage charger", 11_000, 20_000_000, 0)
	if !chargerOnline {
		charger.Online, charger.Availability = false, devices.AvailabilityOffline
	}
	return []devices.DeviceState{
		on("0xn/opendtu/1161", gridmint.KindPVInverter, "Roof", 2_000, 9_000_000, 0),
		charger,
		on("0xn/victron/grid-30", gridmint.KindMeter, "Victron grid meter", 9_500, 30_000_000, 1_000_000),
		on("0xn/shelly/shellypro3em-1:em:0", gridmint.KindMeter, "Shelly 3EM", 9_480, 31_000_000, 1_100_000),
		on("0xn/tasmota/p", gridmint.KindPlug, "Kettle", 1_800, 500_000, 0),
		// A device of another site must not appear here.
		{Device: gridmint.Device{ID: "0xn/opendtu/2222", Kind: gridmint.KindPVInverter, Dialect: "opendtu", Serial: "2222", Site: "home-2"},
			Online: true, LastSeen: seen, Fields: gridmint.FieldPower, Power: 999},
	}
}

func newSitesServer(t *testing.T, chargerOnline bool) *httptest.Server {
	sites := fakeSites{
		sites: []gridmint.Site{
			{ID: "home-1", Name: "Home 1", GridMeter: "0xn/victron/grid-30", Zone: "DE-LU", Location: &gridmint.Location{Lat: 48.1, Lon: 11.5}},
			{ID: "home-2", Name: "Home 2"},
		},
		states: func() []devices.DeviceState { return homeStates(chargerOnline) },
		starts: map[gridmint.DeviceID]devices.DayStart{
			"0xn/opendtu/1161":               {Energy: 5_000_000, HasEnergy: true},
			"0xn/goe/200001":                 {Energy: 9_000_000, HasEnergy: true},
			"0xn/victron/grid-30":            {Energy: 20_000_000, EnergyReverse: 400_000, HasEnergy: true, HasEnergyReverse: true},
			"0xn/shelly/shellypro3em-1:em:0": {Energy: 0, EnergyReverse: 0, HasEnergy: true, HasEnergyReverse: true},
		},
	}
	srv := httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: func() []devices.DeviceState { return homeStates(chargerOnline) }},
		Sites:   sites, Token: testToken, Health: func() []Check { return nil },
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSitesTotals(t *testing.T) {
	srv := newSitesServer(t, true)
	code, body := call(t, http.MethodGet, srv.URL+"/api/v1/sites", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/sites = %d %s", code, body)
	}
	var sites []Site
	if err := json.Unmarshal([]byte(body), &sites); err != nil {
		t.Fatal(err)
	}
	if len(sites) != 2 || sites[0].ID != "home-1" || sites[1].ID != "home-2" {
		t.Fatalf("sites = %+v, want home-1 and home-2 in configuration order", sites)
	}
	h := sites[0]
	f := func(p *float64) any {
		if p == nil {
			return nil
		}
		return *p
	}
	// 9,500 W imported by the meter of record (the 3EM's 9,480 W is not
	// added), 2,000 W PV: the site uses 11,500 W, 11,000 W of it the car.
	got := []any{h.Power.PVW, h.Power.BatteryW, h.Power.EVW, f(h.Power.GridW), f(h.Power.GridImportW), f(h.Power.GridExportW), f(h.Power.ConsumptionW), f(h.Power.HouseW)}
	want := []any{2000.0, 0.0, 11000.0, 9500.0, 9500.0, 0.0, 11500.0, 500.0}
	if !equalAny(got, want) {
		t.Errorf("power (pv, battery, ev, grid, import, export, consumption, house) = %v, want %v", got, want)
	}
	// Today: 10,000 Wh imported, 600 Wh exported (the meter of record
	// only), 4,000 Wh PV, 11,000 Wh EV.
	e := h.EnergyToday
	got = []any{e.PVWh, e.EVWh, f(e.GridImportWh), f(e.GridExportWh), f(e.ConsumptionWh), f(e.HouseWh)}
	want = []any{4000.0, 11000.0, 10000.0, 600.0, 13400.0, 2400.0}
	if !equalAny(got, want) || !e.DayStart.Equal(siteDay) {
		t.Errorf("energy today (pv, ev, import, export, consumption, house) = %v from %v, want %v from %v", got, e.DayStart, want, siteDay)
	}
	if h.Partial || len(h.Unknown) != 0 || h.GridMeter == nil || *h.GridMeter != "0xn/victron/grid-30" || h.Location != nil {
		t.Errorf("home-1: partial %v unknown %v grid meter %v location %v; want complete, the Victron meter, no location without the token", h.Partial, h.Unknown, h.GridMeter, h.Location)
	}
	roles := map[gridmint.DeviceID][2]bool{}
	for _, d := range h.Devices {
		roles[d.ID] = [2]bool{d.Counted, d.MeterOfRecord}
	}
	wantRoles := map[gridmint.DeviceID][2]bool{
		"0xn/opendtu/1161": {true, false}, "0xn/goe/200001": {true, false}, "0xn/victron/grid-30": {true, true},
		"0xn/shelly/shellypro3em-1:em:0": {false, false}, "0xn/tasmota/p": {false, false},
	}
	if len(roles) != len(wantRoles) {
		t.Errorf("home-1 devices %v, want %v", roles, wantRoles)
	}
	for id, w := range wantRoles {
		if roles[id] != w {
			t.Errorf("%s: (counted, meter of record) = %v, want %v", id, roles[id], w)
		}
	}
	if !strings.Contains(body, `"grid_meter": null`) {
		t.Errorf("a site without a meter of record must say grid_meter null:\n%s", body)
	}

	code, body = call(t, http.MethodGet, srv.URL+"/api/v1/sites/home-1", testToken, "")
	var one Site
	if code != http.StatusOK || json.Unmarshal([]byte(body), &one) != nil || one.ID != "home-1" || one.Location == nil || one.Location.Lat != 48.1 {
		t.Errorf("GET /api/v1/sites/home-1 with the token = %d %s; want the site with its location", code, body)
	}
	for _, path := range []string{"/api/v1/sites/home-9", "/api/v1/sites/a%20b"} {
		if code, body := call(t, http.MethodGet, srv.URL+path, "", ""); code != http.StatusNotFound || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s = %d %s, want 404", path, code, body)
		}
	}
}

// TestOfflineChargerHasNoPower: a charger that went offline at 11 kW shows
// its power as unknown, with the reason, keeps its energy, and makes its
// site's totals partial.
func TestOfflineChargerHasNoPower(t *testing.T) {
	srv := newSitesServer(t, false)
	code, body := call(t, http.MethodGet, srv.URL+"/api/v1/devices", "", "")
	var devs []map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(body), &devs) != nil {
		t.Fatalf("GET /api/v1/devices = %d %s", code, body)
	}
	var charger map[string]any
	for _, d := range devs {
		if d["id"] == "0xn/goe/200001" {
			charger = d
		}
	}
	if charger == nil {
		t.Fatal("charger missing")
	}
	if v, present := charger["power_w"]; !present || v != nil || charger["power_unknown"] != "offline" || charger["status"] != "offline" {
		t.Errorf("charger power_w %v (present %v), power_unknown %v, status %v; want null, offline, offline", v, present, charger["power_unknown"], charger["status"])
	}
	if charger["energy_wh"] != 20000.0 || charger["site"] != "home-1" {
		t.Errorf("charger energy_wh %v site %v; want the counter kept and its site", charger["energy_wh"], charger["site"])
	}

	var h Site
	_, body = call(t, http.MethodGet, srv.URL+"/api/v1/sites/home-1", "", "")
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	if !h.Partial || len(h.Unknown) != 1 || h.Unknown[0] != (UnknownItem{Device: "0xn/goe/200001", Kind: gridmint.KindEVCharger, Reason: "offline"}) {
		t.Errorf("partial %v unknown %+v; want partial, the charger offline", h.Partial, h.Unknown)
	}
	if h.Power.EVW != 0 || h.Power.HouseW != nil || h.Power.ConsumptionW == nil || *h.Power.ConsumptionW != 11500 {
		t.Errorf("ev_w %v house_w %v consumption_w %v; want 0 known, house null, consumption from the meter and PV", h.Power.EVW, h.Power.HouseW, h.Power.ConsumptionW)
	}
	if h.EnergyToday.EVWh != 11000 {
		t.Errorf("EV energy today %v Wh, want the counter's 11000", h.EnergyToday.EVWh)
	}
	for _, d := range h.Devices {
		if d.ID == "0xn/goe/200001" && (d.PowerW != nil || d.PowerUnknown != "offline" || d.Status != devices.StatusOffline) {
			t.Errorf("site device %+v; want null power, offline", d)
		}
	}
	if !strings.Contains(body, `"power_w": null`) {
		t.Errorf("the site's charger must say power_w null:\n%s", body)
	}

	// The page shows a dash and "offline" for the charger, and the site
	// says its totals are partial.
	page := get(t, srv.URL+"/")
	row := page[strings.Index(page, `data-id="0xn/goe/200001"`):]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(row, `offline`) || !strings.Contains(row, `<td class="num power" title="power unknown: offline">—</td>`) || strings.Contains(row, "11000") {
		t.Errorf("charger row:\n%s\nwant offline and a dash for its power", row)
	}
	site := page[strings.Index(page, `data-site="home-1"`):]
	if !strings.Contains(site[:strings.Index(site, `</h2>`)], "partial: 0xn/goe/200001 offline") {
		t.Errorf("site card does not say it is partial:\n%s", site)
	}
}

func TestPageShowsSiteTotals(t *testing.T) {
	srv := newSitesServer(t, true)
	page := get(t, srv.URL+"/")
	card := page[strings.Index(page, `data-site="home-1"`):]
	card = card[:strings.Index(card, `data-site="home-2"`)]
	for _, want := range []string{`<dd class="pv">2000</dd>`, `<dd class="import">9500</dd>`, `<dd class="house">500</dd>`,
		`<span class="meter-of-record">0xn/victron/grid-30</span>`, `not counted: <span class="not-counted">0xn/shelly/shellypro3em-1:em:0</span>`,
		`<span class="import-today">10.000</span>`, `<span class="partial"></span>`} {
		if !strings.Contains(card, want) {
			t.Errorf("home-1's card lacks %s:\n%s", want, card)
		}
	}
}

func TestPageWithoutSites(t *testing.T) {
	srv := newTestServer(nil)
	defer srv.Close()
	if _, body := fetch(t, srv.URL+"/"); strings.Contains(body, `id="sites"`) {
		t.Error("page shows a sites section without sites")
	}
	if res, _ := fetch(t, srv.URL+"/api/v1/sites"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/v1/sites without Sites = %d, want 404", res.StatusCode)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, body := fetch(t, url)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s", url, res.Status)
	}
	return body
}

func equalAny(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
