package devices

import (
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Status is where a device's live values stand. Only an online device's
// power is its power now; its energy counters stay valid whatever its
// status (they only ever grow, and catch up when it returns).
type Status string

// Device statuses.
const (
	StatusOnline    Status = "online"     // heard from within StaleAfter, and not announced offline since
	StatusOffline   Status = "offline"    // the device (its last will, its gateway) said it is offline
	StatusStale     Status = "stale"      // silent for longer than StaleAfter
	StatusNeverSeen Status = "never_seen" // registered (declared) but never heard from
)

// PowerNotReported is why the power of an online device that never
// reported power is unknown (PowerNow).
const PowerNotReported = "not_reported"

// Status reads the device's status off Online, Availability and LastSeen,
// as the registry worked them out.
func (s DeviceState) Status() Status {
	switch {
	case s.Online:
		return StatusOnline
	case s.Availability == AvailabilityOffline:
		return StatusOffline
	case s.LastSeen.IsZero():
		return StatusNeverSeen
	}
	return StatusStale
}

// PowerNow returns the device's power now, W, or why it is unknown
// (unknown is not ""): its Status when it is not online, PowerNotReported
// when it never reported power. The last power of a device that went
// offline or stale is history, not its power now: a charger that dropped
// off the network at 11 kW is not known to draw 11 kW.
func (s DeviceState) PowerNow() (p gridmint.W, unknown string) {
	if st := s.Status(); st != StatusOnline {
		return 0, string(st)
	}
	if !s.Fields.Has(gridmint.FieldPower) {
		return 0, PowerNotReported
	}
	return s.Power, ""
}

// Sites is a node's configured sites and the rules that tie devices to
// them: a device names a configured site or none, and a site's meter of
// record stays in its site and stays a meter. It is immutable and safe for
// concurrent use; the zero value has no sites.
type Sites struct {
	list    []gridmint.Site
	byID    map[gridmint.SiteID]int
	meterOf map[gridmint.DeviceID]gridmint.SiteID
}

// NewSites validates list: every site valid, ids unique, no meter of
// record shared by two sites.
func NewSites(list []gridmint.Site) (*Sites, error) {
	s := &Sites{byID: map[gridmint.SiteID]int{}, meterOf: map[gridmint.DeviceID]gridmint.SiteID{}}
	for i, site := range list {
		if err := site.Validate(); err != nil {
			return nil, err
		}
		if _, dup := s.byID[site.ID]; dup {
			return nil, gridmint.Errorf(gridmint.EInvalid, "site %s: configured twice", site.ID)
		}
		if other, dup := s.meterOf[site.GridMeter]; dup && site.GridMeter != "" {
			return nil, gridmint.Errorf(gridmint.EInvalid, "site %s: grid_meter %s is already the meter of record of site %s", site.ID, site.GridMeter, other)
		}
		s.byID[site.ID] = i
		if site.GridMeter != "" {
			s.meterOf[site.GridMeter] = site.ID
		}
		if site.Location != nil {
			loc := *site.Location
			site.Location = &loc
		}
		s.list = append(s.list, site)
	}
	return s, nil
}

// List returns the sites in configuration order.
func (s *Sites) List() []gridmint.Site {
	out := slices.Clone(s.list)
	for i := range out {
		if out[i].Location != nil {
			loc := *out[i].Location
			out[i].Location = &loc
		}
	}
	return out
}

// Site returns the site id.
func (s *Sites) Site(id gridmint.SiteID) (gridmint.Site, bool) {
	i, ok := s.byID[id]
	if !ok {
		return gridmint.Site{}, false
	}
	site := s.list[i]
	if site.Location != nil {
		loc := *site.Location
		site.Location = &loc
	}
	return site, true
}

// MeterOf returns the site whose meter of record device id is.
func (s *Sites) MeterOf(id gridmint.DeviceID) (gridmint.SiteID, bool) {
	site, ok := s.meterOf[id]
	return site, ok
}

// Check checks d's site: "" or a configured site (EInvalid otherwise);
// a site's meter of record must stay in that site and stay a meter
// (EConflict): the configuration chose it, so only the configuration can
// move it.
func (s *Sites) Check(d gridmint.Device) error {
	if d.Site != "" {
		if _, ok := s.byID[d.Site]; !ok {
			return gridmint.Errorf(gridmint.EInvalid, "device %s: site %q is not configured (%s)", d.ID, d.Site, s.known())
		}
	}
	if site, ok := s.meterOf[d.ID]; ok {
		switch {
		case d.Site != site:
			return gridmint.Errorf(gridmint.EConflict, "device %s is the meter of record of site %s and stays in it; name another grid_meter for site %s in the configuration first", d.ID, site, site)
		case d.Kind != gridmint.KindMeter:
			return gridmint.Errorf(gridmint.EConflict, "device %s is the meter of record of site %s and stays a meter; name another grid_meter for site %s in the configuration first", d.ID, site, site)
		}
	}
	return nil
}

func (s *Sites) known() string {
	if len(s.list) == 0 {
		return "no sites are configured"
	}
	ids := make([]string, len(s.list))
	for i, site := range s.list {
		ids[i] = string(site.ID)
	}
	return "configured: " + strings.Join(ids, ", ")
}

// WithDefaults returns d with its site's zone and location where d has
// none.
func (s *Sites) WithDefaults(d gridmint.Device) gridmint.Device {
	site, ok := s.Site(d.Site)
	if !ok {
		return d
	}
	if d.Zone == "" {
		d.Zone = site.Zone
	}
	if d.Location == nil {
		d.Location = site.Location
	}
	return d
}

// DayStart is a device's counters at the start of the day: each counter's
// first normalised value at or after the day started. A counter without
// one (no reading of it yet today) has made nothing today, as far as the
// node knows.
type DayStart struct {
	Energy, EnergyReverse       gridmint.MWh
	HasEnergy, HasEnergyReverse bool
}

// SiteDevice is one device of a site report.
type SiteDevice struct {
	DeviceState
	// Counted says whether the device's power and energy enter the site's
	// totals: PV inverters, batteries, EV chargers and the meter of
	// record do; plugs (loads inside the house, already in its
	// consumption) and meters that are not of record do not.
	Counted bool
	// EnergyToday and EnergyReverseToday are what its counters recorded
	// since the day started, mWh.
	EnergyToday, EnergyReverseToday gridmint.MWh
}

// SitePower is a site's power now, W, in gridmint's signs: PV producing,
// battery discharging, EV charging and grid importing are positive.
type SitePower struct {
	// PV, Battery and EV are sums over the site's devices of each kind
	// whose power is known now.
	PV, Battery, EV gridmint.W
	// Grid is the meter of record's power (import +, export −); nil when
	// the site has none or its power is unknown.
	Grid *gridmint.W
	// Consumption is everything used on the site, the balance
	// Grid + PV + Battery; House is Consumption − EV, the house without
	// its EV chargers (plugs are inside it). Each is nil unless every
	// input is known: a balance with a term missing is no bound of
	// anything.
	Consumption, House *gridmint.W
}

// SiteEnergy is what a site's counters recorded since DayStart, mWh.
type SiteEnergy struct {
	DayStart                                time.Time
	PV, BatteryDischarge, BatteryCharge, EV gridmint.MWh
	GridImport, GridExport                  *gridmint.MWh // nil without a meter of record
	Consumption, House                      *gridmint.MWh // the balance, as in SitePower; nil without a meter of record
}

// UnknownPower is a counted device whose power is unknown now, and why
// (see DeviceState.PowerNow).
type UnknownPower struct {
	Device gridmint.DeviceID
	Kind   gridmint.DeviceKind
	Reason string
}

// SiteReport is a site with its devices and totals.
type SiteReport struct {
	gridmint.Site
	Devices []SiteDevice
	Power   SitePower
	Energy  SiteEnergy
	// Unknown lists the counted devices whose power is unknown now; the
	// power sums leave them out, so the totals are partial (Partial).
	Unknown []UnknownPower
	Partial bool
}

// Summarise builds site's report from its devices' live states (members:
// the devices whose Site is site.ID) and their counters at dayStart.
// Grid figures come from the meter of record alone: another meter on the
// connection measures the same energy again and is never added.
func Summarise(site gridmint.Site, members []DeviceState, starts map[gridmint.DeviceID]DayStart, dayStart time.Time) SiteReport {
	r := SiteReport{Site: site, Devices: make([]SiteDevice, 0, len(members)), Energy: SiteEnergy{DayStart: dayStart}}
	var gridW gridmint.W
	gridKnown, meterSeen := false, false
	missing := map[gridmint.DeviceKind]bool{}
	var imp, exp gridmint.MWh
	for _, st := range members {
		sd := SiteDevice{DeviceState: st}
		base := starts[st.ID]
		if base.HasEnergy && st.Fields.Has(gridmint.FieldEnergy) && st.Energy > base.Energy {
			sd.EnergyToday = st.Energy - base.Energy
		}
		if base.HasEnergyReverse && st.Fields.Has(gridmint.FieldEnergyReverse) && st.EnergyReverse > base.EnergyReverse {
			sd.EnergyReverseToday = st.EnergyReverse - base.EnergyReverse
		}
		p, why := st.PowerNow()
		switch {
		case st.Kind == gridmint.KindPVInverter:
			sd.Counted = true
			r.Power.PV += p
			r.Energy.PV += sd.EnergyToday
		case st.Kind == gridmint.KindBattery:
			sd.Counted = true
			r.Power.Battery += p
			r.Energy.BatteryDischarge += sd.EnergyToday
			r.Energy.BatteryCharge += sd.EnergyReverseToday
		case st.Kind == gridmint.KindEVCharger:
			sd.Counted = true
			r.Power.EV += p
			r.Energy.EV += sd.EnergyToday
		case st.Kind == gridmint.KindMeter && st.ID == site.GridMeter:
			sd.Counted, meterSeen = true, true
			gridW, gridKnown = p, why == ""
			imp, exp = sd.EnergyToday, sd.EnergyReverseToday
		}
		if sd.Counted && why != "" {
			r.Unknown = append(r.Unknown, UnknownPower{Device: st.ID, Kind: st.Kind, Reason: why})
			missing[st.Kind] = true
		}
		r.Devices = append(r.Devices, sd)
	}
	if site.GridMeter != "" && !meterSeen {
		// Declared meters are always registered; this is a registry that
		// lost it, or a meter moved out behind the rules' back.
		r.Unknown = append(r.Unknown, UnknownPower{Device: site.GridMeter, Kind: gridmint.KindMeter, Reason: string(StatusNeverSeen)})
	}
	r.Partial = len(r.Unknown) > 0
	if gridKnown {
		r.Power.Grid = &gridW
		if !missing[gridmint.KindPVInverter] && !missing[gridmint.KindBattery] {
			c := gridW + r.Power.PV + r.Power.Battery
			r.Power.Consumption = &c
			if !missing[gridmint.KindEVCharger] {
				h := c - r.Power.EV
				r.Power.House = &h
			}
		}
	}
	if meterSeen {
		r.Energy.GridImport, r.Energy.GridExport = &imp, &exp
		c := imp - exp + r.Energy.PV + r.Energy.BatteryDischarge - r.Energy.BatteryCharge
		h := c - r.Energy.EV
		r.Energy.Consumption, r.Energy.House = &c, &h
	}
	return r
}
