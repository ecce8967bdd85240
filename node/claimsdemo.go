package node

import (
	"math"
	"time"

	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
)

// The demo's PV follows the profile clock (demoFleetConfig: 11:00 of the
// demo clock's date when the fleet starts, then in step with the demo
// clock), which is the PVWatts data's local standard time at its site in
// Golden, Colorado (39.74° N, 105.18° W, UTC−7). Certificate claims name
// the hour in UTC and the device's location, and peers check production
// against the sun there. So the demo declares each simulated inverter at
// the data's latitude and at the longitude where the sun at the demo
// clock's UTC time stands as it does over the data's site at profile
// time: solar time = UTC + lon/15 h there, and profile time (+0.72 min
// for the site's 105.18° vs its 105° meridian) at the site.
const (
	demoPVLat       = 39.74
	demoPVSiteLon   = -105.18
	demoPVMeridian  = -105.0
	demoProfileHour = 11
)

// demoPVLocation is where the demo's PV stands, given the demo clock's
// time when the fleet started.
func demoPVLocation(simStart time.Time) gridmint.Location {
	simStart = simStart.UTC()
	profileStart := time.Date(simStart.Year(), simStart.Month(), simStart.Day(), demoProfileHour, 0, 0, 0, time.UTC)
	offset := profileStart.Sub(simStart).Hours() // profile time − UTC
	// Profile time is standard time at the meridian; solar time at the
	// site is that plus 4 min per degree east of it.
	lon := 15*offset + (demoPVSiteLon - demoPVMeridian)
	lon = math.Mod(lon+540, 360) - 180 // into [−180, 180)
	return gridmint.Location{Lat: demoPVLat, Lon: math.Round(lon*100) / 100}
}

// demoLocatePV gives the demo's PV inverters in cfg their location.
func demoLocatePV(cfg *Config, fleet *firmwaresim.Fleet, simStart time.Time) {
	pv := map[string]bool{}
	for _, fd := range fleet.Devices() {
		if fd.Kind == gridmint.KindPVInverter {
			pv[fd.Dialect+"/"+fd.Serial] = true
		}
	}
	loc := demoPVLocation(simStart)
	for i, d := range cfg.Devices {
		if pv[d.Dialect+"/"+d.Serial] {
			l := loc
			cfg.Devices[i].Location = &l
		}
	}
}
