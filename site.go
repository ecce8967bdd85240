package gridmint

import "unicode/utf8"

// SiteID names a site in its node's configuration, e.g. "home-1". It goes
// into URLs (/api/v1/sites/<id>) as is, so it is 1 to MaxSiteIDLen ASCII
// letters, digits, '-', '_' or '.', not "." or "..".
type SiteID string

// MaxSiteIDLen is the longest SiteID, in bytes.
const MaxSiteIDLen = 64

// MaxSiteNameLen bounds a site's name, in bytes.
const MaxSiteNameLen = 200

// Validate checks id's syntax.
func (id SiteID) Validate() error {
	if id == "" || len(id) > MaxSiteIDLen || id == "." || id == ".." {
		return Errorf(EInvalid, "site id %q: want 1 to %d letters, digits, '-', '_' or '.'", id, MaxSiteIDLen)
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return Errorf(EInvalid, "site id %q: want 1 to %d letters, digits, '-', '_' or '.'", id, MaxSiteIDLen)
		}
	}
	return nil
}

// Site is one grid connection: a home or building whose devices share one
// point of connection to the grid. Its devices name it (Device.Site).
//
// A site's grid import and export come from one meter only, its meter of
// record (GridMeter): a second meter on the same connection (a Shelly Pro
// 3EM beside a Victron grid meter) measures the same energy again, and
// adding it would count the connection twice. Flexibility is measured at
// the meter of record.
type Site struct {
	ID   SiteID `json:"id"`
	Name string `json:"name,omitempty"`
	// GridMeter is the meter of record: a device of kind KindMeter in this
	// site; "" when the site names none (its grid figures are then
	// unknown).
	GridMeter DeviceID `json:"grid_meter,omitempty"`
	// Zone and Location are the defaults of the site's devices that set
	// none (see Device.Zone and Device.Location).
	Zone     string    `json:"zone,omitempty"`
	Location *Location `json:"location,omitempty"`
}

// Validate checks the fields a configured site must have.
func (s Site) Validate() error {
	if err := s.ID.Validate(); err != nil {
		return err
	}
	switch {
	case len(s.Name) > MaxSiteNameLen || !utf8.ValidString(s.Name) || hasControl(s.Name):
		return Errorf(EInvalid, "site %s: name: want at most %d bytes of text without control characters", s.ID, MaxSiteNameLen)
	case len(s.Zone) > MaxZoneLen || hasControl(s.Zone):
		return Errorf(EInvalid, "site %s: zone %q: want at most %d characters", s.ID, s.Zone, MaxZoneLen)
	}
	if s.GridMeter != "" {
		if _, _, _, ok := s.GridMeter.Parts(); !ok {
			return Errorf(EInvalid, "site %s: grid_meter %q: want <node>/<dialect>/<serial>", s.ID, s.GridMeter)
		}
	}
	if s.Location != nil {
		if err := s.Location.Validate(); err != nil {
			return Errorf(EInvalid, "site %s: %v", s.ID, err.(*Error).Message)
		}
	}
	return nil
}
