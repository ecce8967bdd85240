package node

import (
	"log/slog"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
)

// nodeSites is the node as the API's Sites: each configured site with its
// devices' live states and what their counters recorded today.
type nodeSites struct {
	rules  *devices.Sites
	ingest *devices.Ingest
	starts *dayStarts
	clock  gridmint.Clock
}

// Sites reports every configured site, in configuration order.
func (s nodeSites) Sites() ([]devices.SiteReport, error) {
	members := map[gridmint.SiteID][]devices.DeviceState{}
	for _, st := range s.ingest.Devices() {
		if st.Site != "" {
			members[st.Site] = append(members[st.Site], st)
		}
	}
	sites := s.rules.List()
	out := make([]devices.SiteReport, 0, len(sites))
	for _, site := range sites {
		r, err := s.report(site, members[site.ID])
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Site reports one site; ENotFound when it is not configured.
func (s nodeSites) Site(id gridmint.SiteID) (devices.SiteReport, error) {
	site, ok := s.rules.Site(id)
	if !ok {
		return devices.SiteReport{}, gridmint.Errorf(gridmint.ENotFound, "no site %q", id)
	}
	var members []devices.DeviceState
	for _, st := range s.ingest.Devices() {
		if st.Site == id {
			members = append(members, st)
		}
	}
	return s.report(site, members)
}

func (s nodeSites) report(site gridmint.Site, members []devices.DeviceState) (devices.SiteReport, error) {
	now := s.clock.Now()
	day := dayStartOf(now)
	starts := make(map[gridmint.DeviceID]devices.DayStart, len(members))
	for _, st := range members {
		ds, err := s.starts.get(st, day)
		if err != nil {
			return devices.SiteReport{}, err
		}
		starts[st.ID] = ds
	}
	return devices.Summarise(site, members, starts, day), nil
}

// dayStartOf is the start of now's day: local midnight in the node's time
// zone (a home node's clock is set to the home's zone), in UTC.
func dayStartOf(now time.Time) time.Time {
	l := now.In(time.Local)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.Local).UTC()
}

// dayStarts finds each device's counters at the start of the day in the
// store and keeps them for the day: the first reading of each counter at
// or after the day's start never changes once found.
type dayStarts struct {
	store *store.Store

	mu    sync.Mutex
	day   time.Time
	scans map[gridmint.DeviceID]*dayStartScan
}

type dayStartScan struct {
	start devices.DayStart
	next  time.Time // readings before next were looked at
}

// dayStartPage and dayStartPages bound one lookup: a device whose
// counter hides behind more readings than that is looked up further at
// the next call.
const (
	dayStartPage  = 500
	dayStartPages = 20
)

func newDayStarts(st *store.Store) *dayStarts {
	return &dayStarts{store: st, scans: map[gridmint.DeviceID]*dayStartScan{}}
}

// get returns st's counters at day (for the counters st has).
func (d *dayStarts) get(st devices.DeviceState, day time.Time) (devices.DayStart, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !day.Equal(d.day) {
		d.day, d.scans = day, map[gridmint.DeviceID]*dayStartScan{}
	}
	sc := d.scans[st.ID]
	if sc == nil {
		sc = &dayStartScan{next: day}
		d.scans[st.ID] = sc
	}
	for range dayStartPages {
		needFwd := st.Fields.Has(gridmint.FieldEnergy) && !sc.start.HasEnergy
		needRev := st.Fields.Has(gridmint.FieldEnergyReverse) && !sc.start.HasEnergyReverse
		if !needFwd && !needRev {
			break
		}
		rs, err := d.store.Readings(st.ID, sc.next, time.Time{}, dayStartPage)
		if err != nil {
			return devices.DayStart{}, err
		}
		for _, r := range rs {
			if needFwd && r.Fields.Has(gridmint.FieldEnergy) {
				sc.start.Energy, sc.start.HasEnergy, needFwd = r.Energy, true, false
			}
			if needRev && r.Fields.Has(gridmint.FieldEnergyReverse) {
				sc.start.EnergyReverse, sc.start.HasEnergyReverse, needRev = r.EnergyReverse, true, false
			}
			// A page may end among readings of one instant; resuming after
			// it skips counters of that same instant, which changes nothing.
			sc.next = r.Time.Add(time.Nanosecond)
		}
		if len(rs) < dayStartPage {
			break
		}
	}
	return sc.start, nil
}

// warnUnknownSites logs stored devices whose site is no longer
// configured: they keep their assignment (nothing is lost) and count in
// no site until it is configured again.
func warnUnknownSites(known []gridmint.Device, rules *devices.Sites, log *slog.Logger) {
	for _, d := range known {
		if _, ok := rules.Site(d.Site); d.Site != "" && !ok {
			log.Warn("device is in a site the configuration no longer has; it counts in no site until sites lists it again",
				"device", d.ID, "site", d.Site)
		}
	}
}
