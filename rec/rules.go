package rec

import (
	"fmt"
	"math"
	"time"

	"github.com/gridmint/gridmint"
)

// Rules are the plausibility rules every peer runs on every claim, with
// their thresholds. Every node must use the same values (DefaultRules),
// or nodes will disagree on what to attest.
type Rules struct {
	// NameplateMargin: an hour's energy may be at most nameplate × 1 h ×
	// NameplateMargin (EnergyTag's reference registry issues at most
	// capacity × hours × 1.1).
	NameplateMargin float64
	// DarkElevation (degrees, geometric): a sub-interval is dark when the
	// sun's centre stays below this at its start, middle and end. −0.833°
	// is sunrise and sunset as NOAA and almanacs define them (refraction
	// and the sun's radius).
	DarkElevation float64
	// NightTolerance is what a dark sub-interval may still hold: a fixed
	// part (counter resolution: kWh counters with three decimals move in
	// whole Wh) plus a share of nameplate × 5 min (twilight light, and
	// growth that linear interpolation spreads past sunset). The
	// clear-sky bound allows it in every sub-interval too.
	NightTolerance      gridmint.MWh
	NightToleranceShare float64
	ClearSky            ClearSky
	Copy                CopyRules
	Outlier             OutlierRules
}

// DefaultRules are the network's rules.
func DefaultRules() Rules {
	return Rules{
		NameplateMargin:     1.1,
		DarkElevation:       -0.833,
		NightTolerance:      1000,
		NightToleranceShare: 0.02,
		ClearSky:            DefaultClearSky(),
		Copy:                DefaultCopyRules(),
		Outlier:             DefaultOutlierRules(),
	}
}

// ClaimID names a claim: one device, one hour.
type ClaimID struct {
	Device gridmint.DeviceKey `json:"device"`
	Hour   gridmint.Hour      `json:"hour"`
}

// ID is the claim's ClaimID.
func ID(c gridmint.Claim) ClaimID { return ClaimID{Device: c.Device, Hour: c.Hour} }

// String is "device@hour".
func (id ClaimID) String() string { return id.Device.String() + "@" + id.Hour.String() }

// Finding is one rule's verdict on one claim: refused (no attestation)
// or flagged (attested, shown for a human to look at).
type Finding struct {
	Claim  ClaimID              `json:"claim"`
	Reason gridmint.ClaimReason `json:"reason"`
	Refuse bool                 `json:"refuse"`
	Detail string               `json:"detail"`
	// fiveMinutes marks a refusal by one sub-interval's bound: it
	// depends on when the readings were taken as much as on the meter
	// (a node's backlog, a demo clock's speed), so it refuses the claim
	// but does not suspend the device as the hour's bound does.
	fiveMinutes bool
}

func refuse(c ClaimID, r gridmint.ClaimReason, format string, args ...any) Finding {
	return Finding{Claim: c, Reason: r, Refuse: true, Detail: fmt.Sprintf(format, args...)}
}

// CheckClaim runs the rules that look at one claim alone: it is valid,
// its hour has ended at now, it does not put energy into an hour without
// readings, and its energy fits the nameplate, the sun's position and the
// clear-sky bound at its location. It returns the findings, none when the
// claim passes.
func (r Rules) CheckClaim(c gridmint.Claim, now time.Time) []Finding {
	return r.checkClaim(c, now, nil)
}

// checkClaim is CheckClaim with the sun facts of the claim's hour and
// place when the caller has them.
func (r Rules) checkClaim(c gridmint.Claim, now time.Time, sun *sunFacts) []Finding {
	id := ID(c)
	if err := c.Validate(); err != nil {
		return []Finding{refuse(id, gridmint.ClaimInvalid, "%v", err)}
	}
	if c.Hour.End().After(now) {
		return []Finding{refuse(id, gridmint.ClaimFutureHour, "hour ends at %s, after now (%s)", c.Hour.End().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
	}
	var out []Finding
	if c.Quality == gridmint.QualityMissing && c.Wh > 0 {
		out = append(out, refuse(id, gridmint.ClaimMissingData, "%d Wh in an hour without a reading", c.Wh))
	}
	limit := r.NameplateMargin * float64(c.Nameplate) * 1000 // mWh
	// An inverter's AC output is capped at its rating in every five
	// minutes too, so a sub-interval may hold at most a twelfth of the
	// limit, plus the counter's resolution (kWh counters with three
	// decimals move in whole Wh, and a sub-interval's energy is the
	// difference of two interpolated counters).
	subLimit := limit/gridmint.SubIntervals + float64(r.NightTolerance)
	if e := c.Energy(); float64(e) > limit {
		out = append(out, refuse(id, gridmint.ClaimNameplate, "%v in the hour, nameplate %v W × 1 h × %v allows %v",
			e, float64(c.Nameplate), r.NameplateMargin, gridmint.MWh(limit)))
	} else {
		for k, e := range c.Profile {
			if float64(e) > subLimit {
				start := c.Hour.Start().Add(time.Duration(k) * gridmint.SubInterval)
				f := refuse(id, gridmint.ClaimNameplate, "%v in %s–%s UTC, nameplate %v W × 5 min × %v allows %v (with %v of counter resolution)",
					e, start.Format("15:04"), start.Add(gridmint.SubInterval).Format("15:04"), float64(c.Nameplate), r.NameplateMargin, gridmint.MWh(subLimit), r.NightTolerance)
				f.fiveMinutes = true
				out = append(out, f)
				break
			}
		}
	}
	if sun == nil {
		f := r.sunFacts(c.Hour, c.Location)
		sun = &f
	}

	// No production while the sun is below the horizon.
	tol := r.NightTolerance + gridmint.MWh(r.NightToleranceShare*float64(c.Nameplate)*1000/gridmint.SubIntervals)
	for k, e := range c.Profile {
		if sun.top[k] < r.DarkElevation && e > tol {
			start := c.Hour.Start().Add(time.Duration(k) * gridmint.SubInterval)
			out = append(out, refuse(id, gridmint.ClaimSunBelowHorizon, "%v in %s–%s UTC with the sun at most %.2f° high at %s (dark below %.3f°; tolerance %v)",
				e, start.Format("15:04"), start.Add(gridmint.SubInterval).Format("15:04"), sun.top[k], c.Location, r.DarkElevation, tol))
			break
		}
	}

	// No more than a clear sky allows. The sun, not the inverter, must be
	// what limits: above the nameplate limit the nameplate rule speaks.
	// Each sub-interval may also hold the night tolerance (counter steps,
	// interpolation).
	bound := sun.boundPerW*float64(c.Nameplate) + float64(gridmint.SubIntervals*tol)
	if e := c.Energy(); float64(e) > bound && bound < limit {
		out = append(out, refuse(id, gridmint.ClaimAboveClearSky, "%v in the hour, a clear sky at %s allows %v for %v W",
			e, c.Location, gridmint.MWh(bound), float64(c.Nameplate)))
	}
	return out
}

// sunFacts is what the sun rules need to know about one hour at one
// place; every claim of that hour and place shares them.
type sunFacts struct {
	// top is the sun's highest geometric elevation (degrees) at the start,
	// middle and end of each sub-interval.
	top [gridmint.SubIntervals]float64
	// boundPerW is the clear-sky bound on the hour's energy, mWh per W of
	// nameplate: per sub-interval, a device's power bound under the
	// highest irradiance bound of its start, middle and end. (Both parts
	// of the power bound scale with the nameplate.)
	boundPerW float64
}

type sunKey struct {
	hour gridmint.Hour
	loc  gridmint.CoarseLocation
}

func (r Rules) sunFacts(h gridmint.Hour, loc gridmint.CoarseLocation) sunFacts {
	elev, app, s := hourApparent(h, loc)
	var f sunFacts
	var g [len(app)]float64
	for i, a := range app {
		g[i] = r.ClearSky.irradianceAt(a, s.dist)
	}
	for k := range gridmint.SubIntervals {
		f.top[k] = max(elev[2*k], elev[2*k+1], elev[2*k+2])
		f.boundPerW += r.ClearSky.powerBound(1, max(g[2*k], g[2*k+1], g[2*k+2]), r.NameplateMargin) * 1000 / gridmint.SubIntervals
	}
	return f
}

// clearSkyBound is the clear-sky bound on an hour's energy (mWh) for a
// device of nameplate p, without the night tolerance.
func (r Rules) clearSkyBound(h gridmint.Hour, loc gridmint.CoarseLocation, p gridmint.W) float64 {
	return r.sunFacts(h, loc).boundPerW * float64(p)
}

// hourApparent returns the sun's apparent elevation at the 25 instants
// the rules look at in hour h: sub-interval boundaries (even indices) and
// middles (odd), and the hour's sun.
func hourApparent(h gridmint.Hour, loc gridmint.CoarseLocation) (elev, app [2*gridmint.SubIntervals + 1]float64, s hourSun) {
	s = newHourSun(h, loc)
	const halfSub = int64(gridmint.SubInterval/time.Millisecond) / 2
	start := int64(h) * 3_600_000
	for i := range elev {
		elev[i] = s.elevation(start + int64(i)*halfSub)
		app[i] = elev[i] + refraction(elev[i])
	}
	return elev, app, s
}

// hourSun is the sun over one hour at one place: declination, equation
// of time and distance change by less than 0.02°, 2 s and 0.00002 AU in
// an hour, so they are computed once, at the middle of the hour, and only
// the hour angle moves.
type hourSun struct {
	sinLat, cosLat, sinDecl, cosDecl float64
	eot, lon, dist                   float64
}

func newHourSun(h gridmint.Hour, loc gridmint.CoarseLocation) hourSun {
	mid := Sun(h.Start().Add(30*time.Minute), 0, 0)
	lat := rad(loc.Lat())
	return hourSun{
		sinLat: math.Sin(lat), cosLat: math.Cos(lat),
		sinDecl: math.Sin(rad(mid.Declination)), cosDecl: math.Cos(rad(mid.Declination)),
		eot: mid.EquationOfTime, lon: loc.Lon(), dist: mid.Distance,
	}
}

// elevation is the sun's geometric elevation (degrees) at ms (Unix ms),
// as Sun computes it.
func (s hourSun) elevation(ms int64) float64 {
	dayMs := ms % 86_400_000
	if dayMs < 0 {
		dayMs += 86_400_000
	}
	tst := math.Mod(float64(dayMs)/60_000+s.eot+4*s.lon, 1440)
	if tst < 0 {
		tst += 1440
	}
	ha := rad(tst/4 - 180)
	cosZen := s.sinLat*s.sinDecl + s.cosLat*s.cosDecl*math.Cos(ha)
	return 90 - deg(math.Acos(clamp(cosZen, -1, 1)))
}
