package firmwaresim

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Solar geometry, array orientation and cloud variability.
//
// Both PV data files were measured or modelled at the same site: the
// PVWatts typical year for Denver (39.73 N, 105.18 W, tilt 20°, azimuth
// 180°) and the NREL MIDC 1-minute irradiance of 14 October 2018 at the
// Solar Radiation Research Laboratory, Golden (39.742 N, 105.18 W), both in
// local standard time UTC−7. So one sun position serves both.
//
// Orientation: PVWatts gives the AC output of a south-facing 20° array. A
// home's array (PVArray) with another tilt and azimuth gets that output
// times the ratio of the plane-of-array irradiance of its plane to that of
// the reference plane at the same instant, from the sun's position and a
// simple sky model: direct light on the plane (the cosine of the angle of
// incidence, the direct normal irradiance taken as 1), isotropic diffuse
// light of clearSkyDiffuse × the sky view factor (1 + cos tilt)/2, and
// ground reflection with albedo 0.2. The ratio is 1 for the reference
// plane, 1 at night (the profile is 0 there anyway) and clamped to
// [0, maxTransposition] at dawn and dusk, where it divides small numbers.
//
// Clouds: PVWatts hours are means of a typical year; a real minute under
// passing clouds is far from its hour's mean. The MIDC trace, a variable
// autumn day, gives the minute-to-minute shape: its clear-sky index k
// (measured GHI over the Haurwitz clear-sky GHI at that minute) divided by
// the mean k of the hour around it is a factor whose mean is 1 over every
// hour, so multiplying the hourly profile by it keeps each hour's energy
// (apart from what the inverter clips) while adding the fluctuations: a
// standard deviation of 0.19, from 0.52 to 1.80 (cloud enhancement). Only
// minutes with the sun above ~8.6° (cos zenith ≥ 0.15) are used: near the
// horizon the clear-sky model, not the clouds, decides the ratio. The
// usable minutes are read back and forth (ping-pong), so the factor never
// jumps, from an offset per home: homes see different clouds.

//go:embed profiles/midc_20181014.txt
var midcTXT []byte

const (
	// siteLatDeg and siteLonDeg locate the PV data (PVWatts and MIDC).
	siteLatDeg = 39.74
	siteLonDeg = -105.18
	// siteMeridianDeg is the meridian of the data's standard time, UTC−7.
	siteMeridianDeg = -105.0
	// RefTiltDeg and RefAzimuthDeg are the embedded PVWatts array's plane:
	// the orientation whose output the profile is.
	RefTiltDeg    = 20.0
	RefAzimuthDeg = 180.0
	// clearSkyDiffuse is the diffuse irradiance on a horizontal plane per
	// unit of direct normal irradiance assumed by the transposition (a
	// clear to hazy sky; Denver is sunny).
	clearSkyDiffuse = 0.2
	// groundAlbedo is the ground's reflectance.
	groundAlbedo = 0.2
	// maxTransposition bounds the orientation ratio at low sun.
	maxTransposition = 3.0
	// cloudMinCosZenith is the lowest sun (cos zenith) whose minutes make
	// the cloud trace.
	cloudMinCosZenith = 0.15
	// cloudWindowMinutes is the half width of the hour around each minute
	// whose mean clear-sky index normalises it.
	cloudWindowMinutes = 30
)

// sunVector returns the unit vector towards the sun (east, north, up) at
// hours (0..24, local standard time of the data's site) of day dayOfYear
// (1..366), after Spencer's (1971) Fourier series for the declination and
// the equation of time, the approximations NOAA's solar calculator notes
// use. Accurate to about 0.5°, ample for a transposition ratio.
func sunVector(dayOfYear int, hours float64) (east, north, up float64) {
	g := 2 * math.Pi / 365 * (float64(dayOfYear-1) + (hours-12)/24)
	eot := 229.18 * (0.000075 + 0.001868*math.Cos(g) - 0.032077*math.Sin(g) - 0.014615*math.Cos(2*g) - 0.040849*math.Sin(2*g))
	decl := 0.006918 - 0.399912*math.Cos(g) + 0.070257*math.Sin(g) - 0.006758*math.Cos(2*g) +
		0.000907*math.Sin(2*g) - 0.002697*math.Cos(3*g) + 0.00148*math.Sin(3*g)
	solarMin := hours*60 + eot + 4*(siteLonDeg-siteMeridianDeg)
	omega := (solarMin/4 - 180) * math.Pi / 180 // hour angle, + afternoon
	lat := siteLatDeg * math.Pi / 180
	up = math.Sin(lat)*math.Sin(decl) + math.Cos(lat)*math.Cos(decl)*math.Cos(omega)
	east = -math.Cos(decl) * math.Sin(omega)
	north = math.Sin(decl)*math.Cos(lat) - math.Cos(decl)*math.Sin(lat)*math.Cos(omega)
	return east, north, up
}

// plane is a PV array's orientation as a unit normal (east, north, up) and
// its sky and ground view factors.
type plane struct {
	e, n, u     float64
	sky, ground float64
}

func newPlane(tiltDeg, azimuthDeg float64) plane {
	b, a := tiltDeg*math.Pi/180, azimuthDeg*math.Pi/180
	return plane{
		e: math.Sin(b) * math.Sin(a), n: math.Sin(b) * math.Cos(a), u: math.Cos(b),
		sky: (1 + math.Cos(b)) / 2, ground: (1 - math.Cos(b)) / 2,
	}
}

// poa is the relative plane-of-array irradiance for the sun at (e, n, u).
func (p plane) poa(e, n, u float64) float64 {
	direct := math.Max(0, p.e*e+p.n*n+p.u*u)
	ghi := u + clearSkyDiffuse
	return direct + clearSkyDiffuse*p.sky + groundAlbedo*ghi*p.ground
}

var refPlane = newPlane(RefTiltDeg, RefAzimuthDeg)

// transposition returns the ratio of plane p's irradiance to the reference
// plane's at profile-local wall-clock time t (see the file comment).
func transposition(p plane, t time.Time) float64 {
	if p == refPlane {
		return 1
	}
	hh, mm, ss := t.Clock()
	hours := float64(hh) + float64(mm)/60 + float64(ss)/3600
	e, n, u := sunVector(t.YearDay(), hours)
	if u <= 0 {
		return 1
	}
	ref := refPlane.poa(e, n, u)
	if ref <= 0 {
		return 1
	}
	return clamp(p.poa(e, n, u)/ref, 0, maxTransposition)
}

// CloudTrace is the minute-to-minute cloud variability factor from a
// measured 1-minute irradiance day (see the file comment): mean 1 over
// every hour. Immutable and safe for concurrent use.
type CloudTrace struct {
	f []float64 // per usable minute, in time order
}

var defaultCloudTrace = sync.OnceValues(func() (*CloudTrace, error) {
	return ParseMIDC(bytes.NewReader(midcTXT))
})

// DefaultCloudTrace returns the embedded trace: NREL MIDC SRRL, Golden,
// 2018-10-14 (see profiles/SOURCES.md). It is parsed once.
func DefaultCloudTrace() (*CloudTrace, error) { return defaultCloudTrace() }

// ParseMIDC reads an NREL MIDC 1-minute export: a header line naming
// "DATE (MM/DD/YYYY)", "MST" and "Global PSP [W/m^2]" columns, then 1440
// rows of one day in minute order. Anything else is an error.
func ParseMIDC(r io.Reader) (*CloudTrace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<16)
	if !sc.Scan() {
		return nil, fmt.Errorf("midc: no header line")
	}
	header := strings.Split(strings.TrimSpace(sc.Text()), ",")
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	dateCol, ok1 := col["DATE (MM/DD/YYYY)"]
	timeCol, ok2 := col["MST"]
	ghiCol, ok3 := col["Global PSP [W/m^2]"]
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("midc: header %q lacks DATE (MM/DD/YYYY), MST or Global PSP [W/m^2]", sc.Text())
	}
	ghi := make([]float64, 0, 1440)
	var day time.Time
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		rec := strings.Split(line, ",")
		if len(rec) <= max(dateCol, timeCol, ghiCol) {
			return nil, fmt.Errorf("midc: row %d has %d columns", len(ghi)+1, len(rec))
		}
		d, err := time.Parse("01/02/2006", rec[dateCol])
		if err != nil {
			return nil, fmt.Errorf("midc: row %d date %q: %v", len(ghi)+1, rec[dateCol], err)
		}
		if day.IsZero() {
			day = d
		} else if !d.Equal(day) {
			return nil, fmt.Errorf("midc: row %d is %s, want one day (%s)", len(ghi)+1, rec[dateCol], day.Format("01/02/2006"))
		}
		if want := fmt.Sprintf("%02d:%02d", len(ghi)/60, len(ghi)%60); rec[timeCol] != want {
			return nil, fmt.Errorf("midc: row %d is %q, want minute %s", len(ghi)+1, rec[timeCol], want)
		}
		v, err := strconv.ParseFloat(rec[ghiCol], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("midc: row %d GHI %q is not a number", len(ghi)+1, rec[ghiCol])
		}
		ghi = append(ghi, v)
		if len(ghi) > 1440 {
			return nil, fmt.Errorf("midc: more than 1440 rows")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("midc: %w", err)
	}
	if len(ghi) != 1440 {
		return nil, fmt.Errorf("midc: %d rows, want 1440 (one day of minutes)", len(ghi))
	}
	var k []float64
	for m, g := range ghi {
		_, _, cz := sunVector(day.YearDay(), (float64(m)+0.5)/60)
		if cz < cloudMinCosZenith {
			continue
		}
		clear := 1098 * cz * math.Exp(-0.057/cz) // Haurwitz (1945), W/m²
		k = append(k, math.Max(0, g)/clear)
	}
	if len(k) < 4*cloudWindowMinutes {
		return nil, fmt.Errorf("midc: only %d minutes of daylight", len(k))
	}
	ct := &CloudTrace{f: make([]float64, len(k))}
	for m := range k {
		lo, hi := max(0, m-cloudWindowMinutes), min(len(k), m+cloudWindowMinutes+1)
		sum := 0.0
		for _, v := range k[lo:hi] {
			sum += v
		}
		mean := sum / float64(hi-lo)
		if mean <= 0 {
			ct.f[m] = 1
			continue
		}
		ct.f[m] = k[m] / mean
	}
	return ct, nil
}

// Minutes is the number of usable minutes in the trace.
func (c *CloudTrace) Minutes() int { return len(c.f) }

// Factor returns the cloud factor at minute position pos (fractional; any
// value: the trace is read back and forth), interpolated linearly.
func (c *CloudTrace) Factor(pos float64) float64 {
	n := len(c.f)
	period := float64(2 * (n - 1))
	x := math.Mod(pos, period)
	if x < 0 {
		x += period
	}
	if x > float64(n-1) {
		x = period - x // the way back
	}
	i := int(x)
	if i >= n-1 {
		return c.f[n-1]
	}
	frac := x - float64(i)
	return c.f[i]*(1-frac) + c.f[i+1]*frac
}

// PVArray is the module array behind an inverter: its orientation and the
// clouds it sees. The zero PVArray is not valid; a nil *PVArray in
// PVConfig or AhoyConfig means the profile's own array (tilt 20°, south)
// under a typical year's hourly means, without minute-scale clouds.
type PVArray struct {
	// TiltDeg is the module tilt from horizontal, degrees, 0..90.
	TiltDeg float64 `yaml:"tilt_deg"`
	// AzimuthDeg is the direction the modules face, degrees clockwise
	// from north (90 east, 180 south, 270 west), 0..360.
	AzimuthDeg float64 `yaml:"azimuth_deg"`
	// Clouds scales the cloud variability, 0 (none: the hourly profile)
	// to 1 (the measured trace's full fluctuation).
	Clouds float64 `yaml:"clouds"`
	// CloudOffset is where in the cloud trace the array starts, so that
	// neighbours see different clouds; any duration (the trace repeats).
	CloudOffset time.Duration `yaml:"cloud_offset"`
}

// pvShape is a validated PVArray ready for the physics.
type pvShape struct {
	plane  plane
	clouds float64
	offset float64 // minutes into the trace
	trace  *CloudTrace
}

func newPVShape(a *PVArray, field string) (*pvShape, error) {
	if a == nil {
		return nil, nil
	}
	switch {
	case !(a.TiltDeg >= 0 && a.TiltDeg <= 90):
		return nil, invalid("%s.TiltDeg %v: want 0..90", field, a.TiltDeg)
	case !(a.AzimuthDeg >= 0 && a.AzimuthDeg <= 360):
		return nil, invalid("%s.AzimuthDeg %v: want 0..360 (180 = south)", field, a.AzimuthDeg)
	case !(a.Clouds >= 0 && a.Clouds <= 1):
		return nil, invalid("%s.Clouds %v: want 0..1", field, a.Clouds)
	}
	tr, err := DefaultCloudTrace()
	if err != nil {
		return nil, fmt.Errorf("embedded cloud trace: %w", err)
	}
	return &pvShape{
		plane: newPlane(a.TiltDeg, a.AzimuthDeg), clouds: a.Clouds,
		offset: a.CloudOffset.Minutes(), trace: tr,
	}, nil
}

// factor is what the array makes of the profile's AC output at profile
// time pt: orientation times clouds. A nil shape is the profile's array.
func (s *pvShape) factor(pt time.Time) float64 {
	if s == nil {
		return 1
	}
	f := transposition(s.plane, pt)
	if s.clouds > 0 {
		hh, mm, ss := pt.Clock()
		minute := float64(hh*60+mm) + float64(ss)/60
		// Day after day the clouds move on: shift the trace by a prime
		// number of minutes per day of the year so no two days match.
		pos := minute + s.offset + float64(pt.YearDay())*397
		f *= math.Max(0, 1+s.clouds*(s.trace.Factor(pos)-1))
	}
	return f
}
