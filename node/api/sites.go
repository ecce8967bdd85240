package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// Sites serves the configured sites with their devices and totals.
// Implementations must be safe for concurrent use.
type Sites interface {
	// Sites reports every site, in configuration order.
	Sites() ([]devices.SiteReport, error)
	// Site reports one site (ENotFound when it is not configured).
	Site(id gridmint.SiteID) (devices.SiteReport, error)
}

// Site is the JSON form of a site: its devices, its meter of record and
// its totals. Grid figures come from the meter of record alone; another
// meter on the connection is listed (counted false) but never summed.
type Site struct {
	ID   gridmint.SiteID `json:"id"`
	Name string          `json:"name,omitempty"`
	Zone string          `json:"zone,omitempty"`
	// Location is shown only to a caller with the API token, like a
	// device's.
	Location *gridmint.Location `json:"location,omitempty"`
	// GridMeter is the meter of record's device id; null when the site
	// names none.
	GridMeter *gridmint.DeviceID `json:"grid_meter"`
	// Partial: a counted device's power is unknown now (Unknown says
	// which and why), so the power sums leave it out and the balances
	// that need it are null.
	Partial bool          `json:"partial"`
	Unknown []UnknownItem `json:"unknown"`
	Power   SitePower     `json:"power"`
	// EnergyToday is what the counters recorded since the day started.
	EnergyToday SiteEnergy   `json:"energy_today"`
	Devices     []SiteDevice `json:"devices"`
}

// UnknownItem is a counted device whose power is unknown now.
type UnknownItem struct {
	Device gridmint.DeviceID   `json:"device"`
	Kind   gridmint.DeviceKind `json:"kind"`
	// Reason: offline, stale, never_seen or not_reported.
	Reason string `json:"reason"`
}

// SitePower is a site's power now, W. PV, battery (discharge +) and EV
// sum the devices whose power is known; grid (import +, export −) is the
// meter of record's, null when unknown or none. Consumption is the
// balance grid + PV + battery, everything used on the site; house is
// consumption − EV (plugs are part of it). A balance is null when one of
// its terms is unknown.
type SitePower struct {
	PVW          float64  `json:"pv_w"`
	BatteryW     float64  `json:"battery_w"`
	EVW          float64  `json:"ev_w"`
	GridW        *float64 `json:"grid_w"`
	GridImportW  *float64 `json:"grid_import_w"`
	GridExportW  *float64 `json:"grid_export_w"`
	ConsumptionW *float64 `json:"consumption_w"`
	HouseW       *float64 `json:"house_w"`
}

// SiteEnergy is what a site's counters recorded since DayStart (local
// midnight of the node's time zone), Wh with three decimals. Grid
// figures and the balances are null without a meter of record.
type SiteEnergy struct {
	DayStart           time.Time `json:"day_start"`
	PVWh               float64   `json:"pv_wh"`
	BatteryDischargeWh float64   `json:"battery_discharge_wh"`
	BatteryChargeWh    float64   `json:"battery_charge_wh"`
	EVWh               float64   `json:"ev_wh"`
	GridImportWh       *float64  `json:"grid_import_wh"`
	GridExportWh       *float64  `json:"grid_export_wh"`
	ConsumptionWh      *float64  `json:"consumption_wh"`
	HouseWh            *float64  `json:"house_wh"`
}

// SiteDevice is one device of a site.
type SiteDevice struct {
	ID      gridmint.DeviceID   `json:"id"`
	Name    string              `json:"name,omitempty"`
	Kind    gridmint.DeviceKind `json:"kind"`
	Dialect string              `json:"dialect"`
	Status  devices.Status      `json:"status"`
	// PowerW is null when unknown now; PowerUnknown says why.
	PowerW       *float64 `json:"power_w"`
	PowerUnknown string   `json:"power_unknown,omitempty"`
	// Counted: the device's power and energy enter the totals (PV,
	// batteries, EV chargers, the meter of record); plugs and meters
	// not of record do not.
	Counted       bool `json:"counted"`
	MeterOfRecord bool `json:"meter_of_record"`
	// EnergyTodayWh and EnergyReverseTodayWh are what its counters
	// recorded today, Wh.
	EnergyTodayWh        float64 `json:"energy_today_wh"`
	EnergyReverseTodayWh float64 `json:"energy_reverse_today_wh"`
}

func wh(e gridmint.MWh) float64 { return float64(e) / 1000 }

func whPtr(e *gridmint.MWh) *float64 {
	if e == nil {
		return nil
	}
	v := wh(*e)
	return &v
}

func wPtr(p *gridmint.W) *float64 {
	if p == nil {
		return nil
	}
	v := float64(*p)
	return &v
}

func toSite(r devices.SiteReport, private bool) Site {
	out := Site{
		ID: r.ID, Name: r.Name, Zone: r.Zone, Partial: r.Partial, Unknown: make([]UnknownItem, len(r.Unknown)),
		Power: SitePower{
			PVW: float64(r.Power.PV), BatteryW: float64(r.Power.Battery), EVW: float64(r.Power.EV),
			GridW: wPtr(r.Power.Grid), ConsumptionW: wPtr(r.Power.Consumption), HouseW: wPtr(r.Power.House),
		},
		EnergyToday: SiteEnergy{
			DayStart: r.Energy.DayStart, PVWh: wh(r.Energy.PV), BatteryDischargeWh: wh(r.Energy.BatteryDischarge),
			BatteryChargeWh: wh(r.Energy.BatteryCharge), EVWh: wh(r.Energy.EV),
			GridImportWh: whPtr(r.Energy.GridImport), GridExportWh: whPtr(r.Energy.GridExport),
			ConsumptionWh: whPtr(r.Energy.Consumption), HouseWh: whPtr(r.Energy.House),
		},
		Devices: make([]SiteDevice, len(r.Devices)),
	}
	if private {
		out.Location = r.Location
	}
	if r.GridMeter != "" {
		m := r.GridMeter
		out.GridMeter = &m
	}
	if g := r.Power.Grid; g != nil {
		imp, exp := max(float64(*g), 0), max(-float64(*g), 0)
		out.Power.GridImportW, out.Power.GridExportW = &imp, &exp
	}
	for i, u := range r.Unknown {
		out.Unknown[i] = UnknownItem{Device: u.Device, Kind: u.Kind, Reason: u.Reason}
	}
	for i, d := range r.Devices {
		sd := SiteDevice{
			ID: d.ID, Name: d.Name, Kind: d.Kind, Dialect: d.Dialect, Status: d.Status(),
			Counted: d.Counted, MeterOfRecord: d.ID == r.GridMeter,
			EnergyTodayWh: wh(d.EnergyToday), EnergyReverseTodayWh: wh(d.EnergyReverseToday),
		}
		if sd.Name == "" {
			sd.Name = d.ReportedName
		}
		sd.PowerW, sd.PowerUnknown = powerJSON(d.DeviceState)
		out.Devices[i] = sd
	}
	return out
}

// powerJSON is a device's power now for JSON: null with the reason when
// unknown.
func powerJSON(st devices.DeviceState) (*float64, string) {
	p, why := st.PowerNow()
	if why != "" {
		return nil, why
	}
	v := float64(p)
	return &v, ""
}

func (s *Server) sites() ([]Site, error) {
	reports, err := s.cfg.Sites.Sites()
	if err != nil {
		return nil, err
	}
	out := make([]Site, len(reports))
	for i, r := range reports {
		out[i] = toSite(r, false)
	}
	return out, nil
}

func (s *Server) listSites(w http.ResponseWriter, r *http.Request) {
	reports, err := s.cfg.Sites.Sites()
	if err != nil {
		s.writeErr(w, err)
		return
	}
	private := s.hasToken(r)
	out := make([]Site, len(reports))
	for i, rep := range reports {
		out[i] = toSite(rep, private)
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) siteGet(w http.ResponseWriter, r *http.Request) {
	id := gridmint.SiteID(r.PathValue("id"))
	if err := id.Validate(); err != nil {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("no site %q", id))
		return
	}
	rep, err := s.cfg.Sites.Site(id)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, toSite(rep, s.hasToken(r)))
}
