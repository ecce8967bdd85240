package rec

import (
	"math"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// poa is the irradiance on a plane of tilt and azimuth (degrees, azimuth
// clockwise from north) for a sun position and measured irradiance, with
// the isotropic sky model; a tilt of -1 means a plane facing the sun.
func poa(p SunPosition, r psm3Row, tilt, azimuth float64) float64 {
	z := rad(90 - p.Apparent)
	if tilt < 0 {
		tilt, azimuth = 90-p.Apparent, p.Azimuth
	}
	b := rad(tilt)
	cosAOI := math.Cos(z)*math.Cos(b) + math.Sin(z)*math.Sin(b)*math.Cos(rad(p.Azimuth-azimuth))
	return r.dni*math.Max(cosAOI, 0) + r.dhi*(1+math.Cos(b))/2 + r.albedo*r.ghi*(1-math.Cos(b))/2
}

// TestClearSkyBoundsAYearOfIrradiance checks the irradiance bound against
// a year of NSRDB half-hours at 2,168 m with winter snow: a plane turned
// straight at the sun never receives more, even without the cloud
// enhancement factor.
func TestClearSkyBoundsAYearOfIrradiance(t *testing.T) {
	cs := DefaultClearSky()
	cs.Enhancement = 1
	worst := 0.0
	for _, r := range readPSM3(t) {
		p := Sun(r.t, psm3Site.lat, psm3Site.lon)
		got, bound := poa(p, r, -1, 0), cs.Irradiance(p)
		worst = math.Max(worst, got/math.Max(bound, 1e-9))
		if got > bound {
			t.Errorf("%s, sun %.2f° high: %.0f W/m² on a sun-facing plane, bound %.0f", r.t.Format(time.RFC3339), p.Apparent, got, bound)
		}
	}
	t.Logf("highest share of the bound reached: %.2f", worst)
}

// TestHonestArraysStayUnderTheHourlyBound builds hourly energies of three
// honest arrays from the NSRDB year (power from the half-hourly
// irradiance, trapezoids over the hour) and checks each hour against the
// rule's hourly bound: a tracker and a vertical east-facing balcony
// array 2.5 times their inverter, and a south-facing 35° roof 1.2 times.
func TestHonestArraysStayUnderTheHourlyBound(t *testing.T) {
	rows := readPSM3(t)
	byTime := map[time.Time]psm3Row{}
	for _, r := range rows {
		byTime[r.t] = r
	}
	r := DefaultRules()
	loc := gridmint.CoarseLocation{LatTenths: 405, LonTenths: -1085}
	arrays := []struct {
		name          string
		tilt, azimuth float64
		dcac          float64
	}{
		{"tracker, DC/AC 2.5", -1, 0, 2.5},
		{"vertical east balcony, DC/AC 2.5", 90, 90, 2.5},
		{"south roof 35°, DC/AC 1.2", 35, 180, 1.2},
	}
	const nameplate = 1000.0
	power := func(tm time.Time, tilt, azimuth, dcac float64) float64 {
		row, ok := byTime[tm]
		if !ok {
			return 0 // no daylight in the file
		}
		p := Sun(tm, psm3Site.lat, psm3Site.lon)
		return math.Min(nameplate, dcac*nameplate*poa(p, row, tilt, azimuth)/1000)
	}
	for _, a := range arrays {
		var total, over float64
		tightest := 0.0
		for h := gridmint.HourOf(rows[0].t); h <= gridmint.HourOf(rows[len(rows)-1].t); h++ {
			s := h.Start()
			e := (power(s, a.tilt, a.azimuth, a.dcac)/4 + power(s.Add(30*time.Minute), a.tilt, a.azimuth, a.dcac)/2 +
				power(s.Add(time.Hour), a.tilt, a.azimuth, a.dcac)/4) * 1000 // mWh
			if e == 0 {
				continue
			}
			bound := r.clearSkyBound(h, loc, nameplate)
			total += e
			tightest = math.Max(tightest, e/bound)
			if e > bound {
				over += e
				t.Errorf("%s, %s: %.0f mWh, bound %.0f", a.name, h, e, bound)
			}
		}
		t.Logf("%s: %.0f kWh in the year, none above the bound; at most %.2f of an hour's bound", a.name, total/1e6, tightest)
	}
}

// TestClearSkyBoundBitesAtSunrise: an hour the sun rises in the middle of
// can hold about half an hour of full production, not a full hour.
func TestClearSkyBoundBitesAtSunrise(t *testing.T) {
	r := DefaultRules()
	// Golden, 21 June 2025: sunrise about 11:32 UTC.
	loc := gridmint.CoarseLocation{LatTenths: 397, LonTenths: -1052}
	h := gridmint.HourOf(time.Date(2025, 6, 21, 11, 0, 0, 0, time.UTC))
	bound := r.clearSkyBound(h, loc, 1000)
	if bound < 0.35*1.1e6 || bound > 0.65*1.1e6 {
		t.Errorf("sunrise hour bound %.0f mWh for 1 kW; want about half of 1.1 kWh", bound)
	}
	if b := r.clearSkyBound(h+3, loc, 1000); b < 1.1e6-1 {
		t.Errorf("three hours after sunrise the bound is %.0f mWh; want the nameplate limit 1.1 kWh", b)
	}
}
