package devices

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

var siteNow = time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)

func TestStatusAndPowerNow(t *testing.T) {
	tests := []struct {
		name        string
		st          DeviceState
		wantStatus  Status
		wantPower   gridmint.W
		wantUnknown string
	}{
		{"online with power", DeviceState{Online: true, Availability: AvailabilityOnline, LastSeen: siteNow, Fields: gridmint.FieldPower, Power: 11_000},
			StatusOnline, 11_000, ""},
		{"online, no power reported", DeviceState{Online: true, LastSeen: siteNow, Fields: gridmint.FieldEnergy},
			StatusOnline, 0, PowerNotReported},
		{"offline at 11 kW", DeviceState{Availability: AvailabilityOffline, LastSeen: siteNow, Fields: gridmint.FieldPower | gridmint.FieldEnergy, Power: 11_000},
			StatusOffline, 0, "offline"},
		{"stale at 11 kW", DeviceState{Availability: AvailabilityOnline, LastSeen: siteNow.Add(-time.Hour), Fields: gridmint.FieldPower, Power: 11_000},
			StatusStale, 0, "stale"},
		{"declared, never heard", DeviceState{}, StatusNeverSeen, 0, "never_seen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.Status(); got != tt.wantStatus {
				t.Errorf("Status() = %q, want %q", got, tt.wantStatus)
			}
			p, why := tt.st.PowerNow()
			if p != tt.wantPower || why != tt.wantUnknown {
				t.Errorf("PowerNow() = %v, %q; want %v, %q", p, why, tt.wantPower, tt.wantUnknown)
			}
		})
	}
}

func TestNewSitesRefusesSharedMetersAndDuplicates(t *testing.T) {
	if _, err := NewSites([]gridmint.Site{{ID: "a", GridMeter: "0xn/victron/grid-30"}, {ID: "b", GridMeter: "0xn/victron/grid-30"}}); gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), "meter of record of site a") {
		t.Errorf("two sites, one meter: %v", err)
	}
	if _, err := NewSites([]gridmint.Site{{ID: "a"}, {ID: "a"}}); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("one id twice: %v", err)
	}
	if _, err := NewSites([]gridmint.Site{{ID: "a"}, {ID: "b"}}); err != nil {
		t.Errorf("two sites without meters: %v", err)
	}
}

func TestSitesCheck(t *testing.T) {
	sites, err := NewSites([]gridmint.Site{
		{ID: "home-1", GridMeter: "0xn/victron/grid-30", Zone: "DE-LU", Location: &gridmint.Location{Lat: 48, Lon: 11}},
		{ID: "home-2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	meter := gridmint.Device{ID: "0xn/victron/grid-30", Kind: gridmint.KindMeter, Dialect: "victron", Serial: "grid-30", Site: "home-1"}
	plug := gridmint.Device{ID: "0xn/tasmota/p", Kind: gridmint.KindPlug, Dialect: "tasmota", Serial: "p"}
	tests := []struct {
		name     string
		d        gridmint.Device
		wantCode string
		wantText string
	}{
		{"meter in its site", meter, "", ""},
		{"device in no site", plug, "", ""},
		{"device into a site", with(plug, func(d *gridmint.Device) { d.Site = "home-2" }), "", ""},
		{"unknown site", with(plug, func(d *gridmint.Device) { d.Site = "home-9" }), gridmint.EInvalid, "configured: home-1, home-2"},
		{"meter moved out", with(meter, func(d *gridmint.Device) { d.Site = "home-2" }), gridmint.EConflict, "meter of record of site home-1"},
		{"meter taken out of every site", with(meter, func(d *gridmint.Device) { d.Site = "" }), gridmint.EConflict, "stays in it"},
		{"meter made a plug", with(meter, func(d *gridmint.Device) { d.Kind = gridmint.KindPlug }), gridmint.EConflict, "stays a meter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sites.Check(tt.d)
			if gridmint.ErrorCode(err) != tt.wantCode || (err != nil && !strings.Contains(err.Error(), tt.wantText)) {
				t.Errorf("Check = %v, want code %q naming %q", err, tt.wantCode, tt.wantText)
			}
		})
	}
	var none Sites
	if err := none.Check(with(plug, func(d *gridmint.Device) { d.Site = "x" })); err == nil || !strings.Contains(err.Error(), "no sites are configured") {
		t.Errorf("zero Sites: %v", err)
	}
	d := sites.WithDefaults(with(plug, func(d *gridmint.Device) { d.Site = "home-1" }))
	if d.Zone != "DE-LU" || d.Location == nil || d.Location.Lat != 48 {
		t.Errorf("WithDefaults = zone %q location %v, want the site's", d.Zone, d.Location)
	}
	d = sites.WithDefaults(with(plug, func(d *gridmint.Device) { d.Site = "home-1"; d.Zone = "NL" }))
	if d.Zone != "NL" {
		t.Errorf("WithDefaults overrode the device's own zone: %q", d.Zone)
	}
}

func with(d gridmint.Device, edit func(*gridmint.Device)) gridmint.Device {
	edit(&d)
	return d
}

// siteDevice is an online device of home-1 with power p and counters.
func siteDevice(dialect, serial string, kind gridmint.DeviceKind, p gridmint.W, fwd, rev gridmint.MWh) DeviceState {
	return DeviceState{
		Device: gridmint.Device{ID: gridmint.DeviceID("0xn/" + dialect + "/" + serial), Kind: kind, Dialect: dialect, Serial: serial, Site: "home-1"},
		Online: true, Availability: AvailabilityOnline, LastSeen: siteNow,
		Fields: gridmint.FieldPower | gridmint.FieldEnergy | gridmint.FieldEnergyReverse, Power: p, Energy: fwd, EnergyReverse: rev,
	}
}

func offline(st DeviceState) DeviceState {
	st.Online, st.Availability = false, AvailabilityOffline
	return st
}

func TestSummarise(t *testing.T) {
	site := gridmint.Site{ID: "home-1", GridMeter: "0xn/victron/grid-30"}
	day := siteNow.Truncate(24 * time.Hour)
	// Home 1 at noon: 1,400 W of PV, the battery charging 500 W, the car
	// drawing 1,100 W, 1,000 W imported: the site uses 1,000 + 1,400 −
	// 500 = 1,900 W, the house without the car 800 W.
	pv1 := siteDevice("opendtu", "1161", gridmint.KindPVInverter, 800, 5_000_000, 0)
	pv2 := siteDevice("ahoydtu", "HM-600", gridmint.KindPVInverter, 600, 3_000_000, 0)
	bat := siteDevice("victron", "battery-512", gridmint.KindBattery, -500, 1_000_000, 2_500_000)
	ev := siteDevice("goe", "200001", gridmint.KindEVCharger, 1_100, 7_000_000, 0)
	meter := siteDevice("victron", "grid-30", gridmint.KindMeter, 1_000, 4_000_000, 2_000_000)
	// The Shelly Pro 3EM on the same connection sees the same import; its
	// figures must never be added.
	shelly := siteDevice("shelly", "shellypro3em-1:em:0", gridmint.KindMeter, 1_010, 4_100_000, 2_050_000)
	plug := siteDevice("tasmota", "p", gridmint.KindPlug, 300, 900_000, 0)
	starts := map[gridmint.DeviceID]DayStart{
		pv1.ID:    {Energy: 4_000_000, HasEnergy: true},
		pv2.ID:    {Energy: 2_500_000, HasEnergy: true},
		bat.ID:    {Energy: 600_000, EnergyReverse: 2_000_000, HasEnergy: true, HasEnergyReverse: true},
		ev.ID:     {Energy: 6_000_000, HasEnergy: true},
		meter.ID:  {Energy: 1_000_000, EnergyReverse: 1_900_000, HasEnergy: true, HasEnergyReverse: true},
		shelly.ID: {Energy: 0, EnergyReverse: 0, HasEnergy: true, HasEnergyReverse: true},
		plug.ID:   {Energy: 100_000, HasEnergy: true},
	}
	w := func(v gridmint.W) *gridmint.W { return &v }
	mwh := func(v gridmint.MWh) *gridmint.MWh { return &v }

	t.Run("everything online", func(t *testing.T) {
		r := Summarise(site, []DeviceState{pv2, pv1, bat, ev, meter, shelly, plug}, starts, day)
		wantPower := SitePower{PV: 1_400, Battery: -500, EV: 1_100, Grid: w(1_000), Consumption: w(1_900), House: w(800)}
		checkPower(t, r.Power, wantPower)
		wantEnergy := SiteEnergy{DayStart: day, PV: 1_500_000, BatteryDischarge: 400_000, BatteryCharge: 500_000, EV: 1_000_000,
			GridImport: mwh(3_000_000), GridExport: mwh(100_000),
			// 3,000 − 100 + 1,500 + 400 − 500 = 4,300 Wh; the house 3,300.
			Consumption: mwh(4_300_000), House: mwh(3_300_000)}
		checkEnergy(t, r.Energy, wantEnergy)
		if r.Partial || len(r.Unknown) != 0 {
			t.Errorf("partial %v, unknown %v; want complete", r.Partial, r.Unknown)
		}
		counted := map[gridmint.DeviceID]bool{}
		for _, d := range r.Devices {
			counted[d.ID] = d.Counted
		}
		if counted[shelly.ID] || counted[plug.ID] || !counted[meter.ID] || !counted[ev.ID] || len(r.Devices) != 7 {
			t.Errorf("counted = %v; want every device listed, the second meter and the plug not counted", counted)
		}
	})

	t.Run("the charger offline at 11 kW", func(t *testing.T) {
		gone := offline(ev)
		gone.Power = 11_000
		r := Summarise(site, []DeviceState{pv1, pv2, bat, gone, meter, shelly, plug}, starts, day)
		checkPower(t, r.Power, SitePower{PV: 1_400, Battery: -500, EV: 0, Grid: w(1_000), Consumption: w(1_900), House: nil})
		if !r.Partial || len(r.Unknown) != 1 || r.Unknown[0] != (UnknownPower{Device: ev.ID, Kind: gridmint.KindEVCharger, Reason: "offline"}) {
			t.Errorf("partial %v, unknown %+v; want the charger, offline", r.Partial, r.Unknown)
		}
		// Its counter stays valid: today's energy still counts it.
		if r.Energy.EV != 1_000_000 {
			t.Errorf("EV energy today = %v, want the counter's 1,000 Wh", r.Energy.EV)
		}
	})

	t.Run("the meter of record stale", func(t *testing.T) {
		stale := meter
		stale.Online = false
		r := Summarise(site, []DeviceState{pv1, pv2, bat, ev, stale, shelly, plug}, starts, day)
		// The Shelly still reads 1,010 W; it is not the meter of record
		// and must not stand in for it.
		checkPower(t, r.Power, SitePower{PV: 1_400, Battery: -500, EV: 1_100})
		if !r.Partial || len(r.Unknown) != 1 || r.Unknown[0].Reason != "stale" {
			t.Errorf("partial %v, unknown %+v; want the meter, stale", r.Partial, r.Unknown)
		}
	})

	t.Run("a PV inverter offline", func(t *testing.T) {
		r := Summarise(site, []DeviceState{pv1, offline(pv2), bat, ev, meter}, starts, day)
		checkPower(t, r.Power, SitePower{PV: 800, Battery: -500, EV: 1_100, Grid: w(1_000)})
		if !r.Partial {
			t.Error("not partial with a PV inverter offline")
		}
	})

	t.Run("a plug offline does not make the totals partial", func(t *testing.T) {
		r := Summarise(site, []DeviceState{pv1, pv2, bat, ev, meter, offline(plug)}, starts, day)
		if r.Partial || r.Power.House == nil {
			t.Errorf("partial %v, house %v; an uncounted plug changes no total", r.Partial, r.Power.House)
		}
	})

	t.Run("no meter of record", func(t *testing.T) {
		r := Summarise(gridmint.Site{ID: "home-1"}, []DeviceState{pv1, shelly}, starts, day)
		checkPower(t, r.Power, SitePower{PV: 800})
		if r.Energy.GridImport != nil || r.Energy.Consumption != nil || r.Partial {
			t.Errorf("energy %+v, partial %v; want no grid figures, not partial", r.Energy, r.Partial)
		}
	})

	t.Run("the meter of record missing from the registry", func(t *testing.T) {
		r := Summarise(site, []DeviceState{pv1}, starts, day)
		if !r.Partial || len(r.Unknown) != 1 || r.Unknown[0].Device != site.GridMeter {
			t.Errorf("partial %v, unknown %+v; want the missing meter named", r.Partial, r.Unknown)
		}
	})

	t.Run("no reading yet today", func(t *testing.T) {
		r := Summarise(site, []DeviceState{pv1, meter}, nil, day)
		if r.Energy.PV != 0 || *r.Energy.GridImport != 0 {
			t.Errorf("energy %+v; want nothing counted without a start of day", r.Energy)
		}
	})
}

func checkPower(t *testing.T, got, want SitePower) {
	t.Helper()
	ptr := func(p *gridmint.W) string {
		if p == nil {
			return "null"
		}
		return fmt.Sprint(float64(*p))
	}
	if got.PV != want.PV || got.Battery != want.Battery || got.EV != want.EV ||
		ptr(got.Grid) != ptr(want.Grid) || ptr(got.Consumption) != ptr(want.Consumption) || ptr(got.House) != ptr(want.House) {
		t.Errorf("power: PV %v battery %v EV %v grid %s consumption %s house %s;\nwant PV %v battery %v EV %v grid %s consumption %s house %s",
			got.PV, got.Battery, got.EV, ptr(got.Grid), ptr(got.Consumption), ptr(got.House),
			want.PV, want.Battery, want.EV, ptr(want.Grid), ptr(want.Consumption), ptr(want.House))
	}
}

func checkEnergy(t *testing.T, got, want SiteEnergy) {
	t.Helper()
	ptr := func(p *gridmint.MWh) string {
		if p == nil {
			return "null"
		}
		return p.String()
	}
	g := []string{got.DayStart.String(), got.PV.String(), got.BatteryDischarge.String(), got.BatteryCharge.String(), got.EV.String(),
		ptr(got.GridImport), ptr(got.GridExport), ptr(got.Consumption), ptr(got.House)}
	w := []string{want.DayStart.String(), want.PV.String(), want.BatteryDischarge.String(), want.BatteryCharge.String(), want.EV.String(),
		ptr(want.GridImport), ptr(want.GridExport), ptr(want.Consumption), ptr(want.House)}
	if strings.Join(g, " ") != strings.Join(w, " ") {
		t.Errorf("energy (day start, PV, discharge, charge, EV, import, export, consumption, house):\n got %v\nwant %v", g, w)
	}
}
