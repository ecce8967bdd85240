package rec

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// TestSunMatchesNOAASpreadsheet compares Sun with the values NOAA's own
// spreadsheet (NOAA_Solar_Calculations_day.xls, see testdata/SOURCES.md)
// computed for 40° N, 105° W, time zone −7, 21 June 2010: before sunrise,
// around sunrise, morning, solar noon, afternoon, around sunset and night.
// The same equations, so they agree to within floating-point noise.
func TestSunMatchesNOAASpreadsheet(t *testing.T) {
	tests := []struct {
		localHour                                         float64
		decl, eot, ha, zen, elev, refr, apparent, azimuth float64
	}{
		{4.5, 23.4384857295396, -1.75522083033507, -112.938805207584, 91.0457600901009, -1.04576009010086, 0.316095382791785, -0.729664707309071, 57.6799724300864},
		{4.6, 23.4384856542234, -1.75612639265351, -111.439031598163, 90.0696970601019, -0.0696970601018734, 0.49211767992031, 0.422420619818436, 58.6499400462361},
		{5.0, 23.438484156785, -1.75974855110043, -105.439937137775, 86.0685354354002, 3.93146456459981, 0.191268090174542, 4.12273265477435, 62.4319312401588},
		{7.0, 23.4384479618236, -1.77785711130904, -75.4444642778271, 64.3855470703721, 25.6144529296279, 0.033487159246821, 25.6479400888747, 80.0059961893244},
		{9.0, 23.4383639217991, -1.79596178460777, -45.448990446152, 41.5179816474086, 48.4820183525914, 0.0142740368152312, 48.4962923894066, 99.4675295274194},
		{12.0, 23.4381481561729, -1.82311100828435, -0.4557777520711, 16.5663210281255, 73.4336789718745, 0.0048003720882411, 73.4384793439627, 178.533230037881},
		{12.1, 23.4381391101319, -1.82401581404794, 1.04399604648776, 16.5852960652736, 73.4147039347264, 0.00480618859028959, 73.4195101233167, 183.3574244066},
		{15.0, 23.4378247496867, -1.85025020554496, 44.5374374486134, 40.8302500632549, 49.1697499367451, 0.0139330573819905, 49.1836829941271, 259.809563932718},
		{17.0, 23.4375493484075, -1.86833705414578, 74.5329157364631, 63.6978170372448, 26.3021829627552, 0.0324912174916384, 26.3346741802468, 279.464691790066},
		{19.5, 23.4371378292561, -1.89093852146051, 112.027265369634, 90.4546937234887, -0.454693723488674, 0.553675720780992, 0.0989819972923182, 301.72829080667},
		{19.6, 23.4371198139213, -1.89184241059579, 113.527039397351, 91.4267261244937, -1.42672612449374, 0.231669070201132, -1.19505705429261, 302.70240363522},
		{21.0, 23.4368550435625, -1.90449544808559, 134.523876137978, 103.720059318096, -13.7200593180956, 0.023633529322072, -13.6964257887735, 317.673708521563},
		{23.9, 23.4362320368214, -1.93069668049498, 178.017325829875, 116.536817425912, -26.5368174259115, 0.0115542304957648, -26.5252631954158, 357.966652815532},
	}
	for _, tt := range tests {
		// Local standard time UTC−7.
		tm := time.Date(2010, 6, 21, 7, 0, 0, 0, time.UTC).Add(time.Duration(math.Round(tt.localHour * 3600 * 1e9)))
		got := Sun(tm, 40, -105)
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"declination", got.Declination, tt.decl}, {"equation of time", got.EquationOfTime, tt.eot},
			{"hour angle", got.HourAngle, tt.ha}, {"zenith", got.Zenith, tt.zen}, {"elevation", got.Elevation, tt.elev},
			{"refraction", got.Refraction, tt.refr}, {"apparent elevation", got.Apparent, tt.apparent}, {"azimuth", got.Azimuth, tt.azimuth},
		} {
			if math.Abs(c.got-c.want) > 1e-6 {
				t.Errorf("%s (%.1f h local): %s = %.9f, NOAA's spreadsheet %.9f", tm.Format(time.RFC3339), tt.localHour, c.name, c.got, c.want)
			}
		}
	}
}

// TestSunMatchesSPA compares Sun with NREL's Solar Position Algorithm
// for the SPA paper's example (Golden, 17 October 2003 12:30:30 MST), as
// pvlib's tests use it: topocentric elevation 39.872046°, azimuth
// 194.340241°, apparent elevation 39.888378° (SPA corrects refraction
// for 820 mbar and 11 °C; NOAA assumes a standard atmosphere, hence the
// looser tolerance there).
func TestSunMatchesSPA(t *testing.T) {
	got := Sun(time.Date(2003, 10, 17, 19, 30, 30, 0, time.UTC), 39.742476, -105.1786)
	for _, c := range []struct {
		name           string
		got, want, tol float64
	}{
		{"elevation", got.Elevation, 39.872046, 0.001},
		{"azimuth", got.Azimuth, 194.340241, 0.005},
		{"apparent elevation", got.Apparent, 39.888378, 0.005},
	} {
		if math.Abs(c.got-c.want) > c.tol {
			t.Errorf("%s = %.6f, SPA %.6f (tolerance %v)", c.name, c.got, c.want, c.tol)
		}
	}
}

// psm3Row is one half-hour of the NSRDB test file.
type psm3Row struct {
	t                  time.Time
	dhi, ghi, dni, zen float64
	albedo             float64
}

// psm3Site is the NSRDB test file's site.
var psm3Site = struct{ lat, lon float64 }{40.53, -108.54}

func readPSM3(t testing.TB) []psm3Row {
	t.Helper()
	f, err := os.Open("testdata/nsrdb_psm3_2017_40.53_-108.54_daylight.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []psm3Row
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "month") {
			continue
		}
		fs := strings.Split(line, ",")
		var v [9]float64
		for i := range v {
			if v[i], err = strconv.ParseFloat(fs[i], 64); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
		}
		// Local standard time UTC−7.
		tm := time.Date(2017, time.Month(v[0]), int(v[1]), int(v[2]), int(v[3]), 0, 0, time.UTC).Add(7 * time.Hour)
		out = append(out, psm3Row{t: tm, dhi: v[4], ghi: v[5], dni: v[6], zen: v[7], albedo: v[8]})
	}
	if len(out) < 8000 {
		t.Fatalf("read %d rows of the NSRDB file, want a year of daylight", len(out))
	}
	return out
}

// TestSunMatchesNSRDBYear compares the apparent zenith with the NSRDB's
// (computed by NREL with SPA) for every daylight half-hour of 2017 at its
// site: within 0.15° whenever the sun is more than a degree up.
func TestSunMatchesNSRDBYear(t *testing.T) {
	worst := 0.0
	for _, r := range readPSM3(t) {
		if r.zen > 89 {
			continue
		}
		p := Sun(r.t, psm3Site.lat, psm3Site.lon)
		d := math.Abs(90 - p.Apparent - r.zen)
		worst = math.Max(worst, d)
		if d > 0.15 {
			t.Errorf("%s: apparent zenith %.3f°, NSRDB %.2f°", r.t.Format(time.RFC3339), 90-p.Apparent, r.zen)
		}
	}
	t.Logf("largest difference from the NSRDB's zenith: %.3f°", worst)
}

// TestHourSunMatchesSun checks the rules' fast path (declination and
// equation of time fixed over an hour) against Sun at random places and
// times.
func TestHourSunMatchesSun(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		loc := gridmint.CoarseLocation{LatTenths: int16(rng.IntN(1441) - 720), LonTenths: int16(rng.IntN(3601) - 1800)}
		h := gridmint.Hour(rng.Int64N(100*365*24)) + gridmint.HourOf(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC))
		s := newHourSun(h, loc)
		ms := int64(h)*3_600_000 + rng.Int64N(3_600_001)
		want := Sun(time.UnixMilli(ms), loc.Lat(), loc.Lon()).Elevation
		if got := s.elevation(ms); math.Abs(got-want) > 0.02 {
			t.Fatalf("%s at %s: elevation %.4f°, Sun says %.4f°", loc, time.UnixMilli(ms).UTC(), got, want)
		}
	}
}
