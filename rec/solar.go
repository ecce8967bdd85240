package rec

import (
	"math"
	"time"
)

// SunPosition is where the sun stands, seen from a place at an instant.
type SunPosition struct {
	// Declination (degrees) and EquationOfTime (minutes) depend on the
	// instant only.
	Declination    float64
	EquationOfTime float64
	// HourAngle (degrees, negative in the morning), Zenith and Elevation
	// (geometric, degrees) and Azimuth (degrees clockwise from north).
	HourAngle float64
	Zenith    float64
	Elevation float64
	Azimuth   float64
	// Refraction (degrees) is NOAA's approximate atmospheric refraction;
	// Apparent = Elevation + Refraction is where the sun is seen.
	Refraction float64
	Apparent   float64
	// Distance is the earth-sun distance in astronomical units.
	Distance float64
}

// Sun computes the sun's position at t for a place at lat, lon (degrees,
// north and east positive) with the equations of NOAA's Solar Calculator
// (the spreadsheet NOAA_Solar_Calculations_day.xls, after Meeus,
// "Astronomical Algorithms"): Julian century, the sun's geometric mean
// longitude and anomaly, the equation of centre, apparent longitude,
// corrected obliquity, declination, the equation of time, the hour angle
// from true solar time, zenith, elevation with NOAA's refraction
// approximation, and azimuth. NOAA states the equations are accurate to
// about a minute of arc between 1800 and 2100 for latitudes within ±72°;
// the tests compare them with the spreadsheet's own values and with
// NREL's SPA.
func Sun(t time.Time, lat, lon float64) SunPosition {
	// Julian day from Unix time: the Unix epoch is JD 2440587.5. NOAA
	// ignores the difference between UT and TT (about a minute), as here.
	ms := t.UnixMilli()
	jd := float64(ms)/86_400_000 + 2440587.5
	jc := (jd - 2451545) / 36525

	l0 := math.Mod(280.46646+jc*(36000.76983+jc*0.0003032), 360) // geometric mean longitude
	m := 357.52911 + jc*(35999.05029-0.0001537*jc)               // geometric mean anomaly
	e := 0.016708634 - jc*(0.000042037+0.0000001267*jc)          // eccentricity of earth's orbit
	mr := rad(m)
	c := math.Sin(mr)*(1.914602-jc*(0.004817+0.000014*jc)) +
		math.Sin(2*mr)*(0.019993-0.000101*jc) + math.Sin(3*mr)*0.000289 // equation of centre
	trueLong := l0 + c
	trueAnom := m + c
	dist := (1.000001018 * (1 - e*e)) / (1 + e*math.Cos(rad(trueAnom)))
	omega := rad(125.04 - 1934.136*jc)
	appLong := trueLong - 0.00569 - 0.00478*math.Sin(omega)
	meanObliq := 23 + (26+(21.448-jc*(46.815+jc*(0.00059-jc*0.001813)))/60)/60
	obliq := meanObliq + 0.00256*math.Cos(omega)
	decl := deg(math.Asin(math.Sin(rad(obliq)) * math.Sin(rad(appLong))))

	y := math.Tan(rad(obliq / 2))
	y *= y
	l0r := rad(l0)
	eot := 4 * deg(y*math.Sin(2*l0r)-2*e*math.Sin(mr)+4*e*y*math.Sin(mr)*math.Cos(2*l0r)-
		0.5*y*y*math.Sin(4*l0r)-1.25*e*e*math.Sin(2*mr))

	// True solar time in minutes: UTC minutes of the day, the equation of
	// time and four minutes per degree of longitude.
	dayMs := ms % 86_400_000
	if dayMs < 0 {
		dayMs += 86_400_000
	}
	tst := math.Mod(float64(dayMs)/60_000+eot+4*lon, 1440)
	if tst < 0 {
		tst += 1440
	}
	ha := tst/4 - 180
	if tst/4 < 0 {
		ha = tst/4 + 180
	}

	latr, declr := rad(lat), rad(decl)
	cosZen := math.Sin(latr)*math.Sin(declr) + math.Cos(latr)*math.Cos(declr)*math.Cos(rad(ha))
	zen := deg(math.Acos(clamp(cosZen, -1, 1)))
	elev := 90 - zen

	var azimuth float64
	if den := math.Cos(latr) * math.Sin(rad(zen)); den != 0 {
		a := deg(math.Acos(clamp((math.Sin(latr)*math.Cos(rad(zen))-math.Sin(declr))/den, -1, 1)))
		if ha > 0 {
			azimuth = math.Mod(a+180, 360)
		} else {
			azimuth = math.Mod(540-a, 360)
		}
	}

	refr := refraction(elev)
	return SunPosition{
		Declination: decl, EquationOfTime: eot, HourAngle: ha, Zenith: zen, Elevation: elev, Azimuth: azimuth,
		Refraction: refr, Apparent: elev + refr, Distance: dist,
	}
}

// refraction is NOAA's approximate atmospheric refraction (degrees) for a
// geometric elevation in degrees.
func refraction(elev float64) float64 {
	var arcsec float64
	switch {
	case elev > 85:
		arcsec = 0
	case elev > 5:
		te := math.Tan(rad(elev))
		arcsec = 58.1/te - 0.07/(te*te*te) + 0.000086/math.Pow(te, 5)
	case elev > -0.575:
		arcsec = 1735 + elev*(-518.2+elev*(103.4+elev*(-12.79+elev*0.711)))
	default:
		arcsec = -20.772 / math.Tan(rad(elev))
	}
	return arcsec / 3600
}

func rad(d float64) float64 { return d * math.Pi / 180 }
func deg(r float64) float64 { return r * 180 / math.Pi }

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
