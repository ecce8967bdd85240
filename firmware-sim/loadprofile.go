package firmwaresim

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed profiles/bdew_h25.csv
var h25CSV []byte

// H25 normalisation, verified by summing a year (see the tests and
// profiles/SOURCES.md): the CSV values are kWh per quarter-hour for a
// household using H25AnnualKWh per year, once multiplied by the BDEW
// dynamisation factor of the day (Dynamisation). demandlib applies the
// same factor to H25 (class DynamicBDEW25Profile). For calendar 2025, with
// Sundays and the German nationwide holidays as FT, the dynamised year
// sums to 999,208 kWh (-0.08 %); without the factor the months would be
// shaped the wrong way round (summer above winter).
const H25AnnualKWh = 1_000_000

// QuartersPerDay is the number of quarter-hours in a BDEW profile day.
const QuartersPerDay = 96

// DayType is a BDEW day type.
type DayType int

// BDEW day types, in the column order of the H25 file.
const (
	Saturday DayType = iota // SA
	Holiday                 // FT: Sunday or public holiday (Feiertag)
	Workday                 // WT: Monday to Friday
)

// String returns the BDEW abbreviation.
func (d DayType) String() string {
	switch d {
	case Saturday:
		return "SA"
	case Holiday:
		return "FT"
	case Workday:
		return "WT"
	}
	return fmt.Sprintf("DayType(%d)", int(d))
}

// LoadProfile is the BDEW H25 household profile: for each month and day
// type, 96 quarter-hour energies (kWh) for H25AnnualKWh per year before
// dynamisation. Values are constant within a quarter-hour, as BDEW defines
// them. A LoadProfile is immutable and safe for concurrent use.
type LoadProfile struct {
	kWh [12][3][QuartersPerDay]float64
}

var defaultLoadProfile = sync.OnceValues(func() (*LoadProfile, error) {
	return ParseBDEWH25(bytes.NewReader(h25CSV))
})

// DefaultLoadProfile returns the embedded BDEW H25 profile (see
// profiles/SOURCES.md). It is parsed once.
func DefaultLoadProfile() (*LoadProfile, error) { return defaultLoadProfile() }

var germanMonths = map[string]int{
	"Januar": 1, "Februar": 2, "März": 3, "April": 4, "Mai": 5, "Juni": 6,
	"Juli": 7, "August": 8, "September": 9, "Oktober": 10, "November": 11, "Dezember": 12,
}

var dayTypeNames = map[string]DayType{"SA": Saturday, "FT": Holiday, "WT": Workday}

// ParseBDEWH25 reads the demandlib h25.csv layout: a row of German month
// names, a row "[kWh]" + day types, then 96 rows "HH:MM-HH:MM" + 36
// values. Every month × day type must appear exactly once.
func ParseBDEWH25(r io.Reader) (*LoadProfile, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("bdew h25: %w", err)
	}
	if len(recs) != 2+QuartersPerDay {
		return nil, fmt.Errorf("bdew h25: %d rows, want 2 header rows + %d quarter-hours", len(recs), QuartersPerDay)
	}
	months, types := recs[0], recs[1]
	if len(months) != 37 || len(types) != 37 {
		return nil, fmt.Errorf("bdew h25: %d columns, want 1 + 12 months × 3 day types", len(months))
	}
	type slot struct{ month, dt int }
	cols := make([]slot, 37)
	seen := map[slot]bool{}
	for i := 1; i < 37; i++ {
		m, ok := germanMonths[strings.TrimSpace(months[i])]
		if !ok {
			return nil, fmt.Errorf("bdew h25: column %d: unknown month %q", i, months[i])
		}
		dt, ok := dayTypeNames[strings.TrimSpace(types[i])]
		if !ok {
			return nil, fmt.Errorf("bdew h25: column %d: unknown day type %q", i, types[i])
		}
		s := slot{m - 1, int(dt)}
		if seen[s] {
			return nil, fmt.Errorf("bdew h25: column %d: month %d %v twice", i, m, dt)
		}
		seen[s] = true
		cols[i] = s
	}
	p := &LoadProfile{}
	for q := 0; q < QuartersPerDay; q++ {
		rec := recs[2+q]
		if len(rec) != 37 {
			return nil, fmt.Errorf("bdew h25: quarter %d: %d columns, want 37", q, len(rec))
		}
		start := fmt.Sprintf("%02d:%02d-", q/4, q%4*15)
		if !strings.HasPrefix(rec[0], start) {
			return nil, fmt.Errorf("bdew h25: row %d is %q, want quarter starting %s", q+3, rec[0], start[:5])
		}
		for i := 1; i < 37; i++ {
			v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("bdew h25: row %d column %d: %q is not a non-negative number", q+3, i, rec[i])
			}
			p.kWh[cols[i].month][cols[i].dt][q] = v
		}
	}
	return p, nil
}

// Dynamisation is the BDEW fourth-order polynomial of the day of the year
// (1 = 1 January) that shapes H25 over the seasons: 1.24 on 1 January,
// about 0.80 at midsummer, about 1 on average over a year.
func Dynamisation(dayOfYear int) float64 {
	d := float64(dayOfYear)
	return -3.92e-10*d*d*d*d + 3.2e-7*d*d*d - 7.02e-5*d*d + 0.0021*d + 1.24
}

// QuarterKWh returns the dynamised energy (kWh) of the quarter-hour that
// contains profile-local wall-clock time t, for a household using
// H25AnnualKWh per year.
func (p *LoadProfile) QuarterKWh(t time.Time) float64 {
	y, m, d := t.Date()
	hh, mm, _ := t.Clock()
	dt := BDEWDayType(y, m, d)
	return p.kWh[m-1][dt][hh*4+mm/15] * Dynamisation(t.YearDay())
}

// Power returns the household's mean power (W) in the quarter-hour that
// contains profile-local wall-clock time t, for a household consuming
// annualKWh per year: the quarter's energy × 4 per hour, scaled from
// H25AnnualKWh.
func (p *LoadProfile) Power(t time.Time, annualKWh float64) float64 {
	return p.QuarterKWh(t) * 4 * 1000 * annualKWh / H25AnnualKWh
}

// BDEWDayType returns the BDEW day type of a calendar date: FT on Sundays
// and German nationwide public holidays, SA on Saturdays, WT otherwise.
// Regional holidays and the BDEW habit of treating 24 and 31 December as
// Saturdays are not modelled.
func BDEWDayType(year int, month time.Month, day int) DayType {
	wd := time.Date(year, month, day, 12, 0, 0, 0, time.UTC).Weekday()
	switch {
	case wd == time.Sunday || IsGermanHoliday(year, month, day):
		return Holiday
	case wd == time.Saturday:
		return Saturday
	}
	return Workday
}

// IsGermanHoliday reports whether a date is one of the nine public holidays
// observed in every German state: New Year, Good Friday, Easter Monday,
// 1 May, Ascension, Whit Monday, 3 October, 25 and 26 December.
func IsGermanHoliday(year int, month time.Month, day int) bool {
	switch {
	case month == time.January && day == 1,
		month == time.May && day == 1,
		month == time.October && day == 3,
		month == time.December && (day == 25 || day == 26):
		return true
	}
	easter := EasterSunday(year)
	date := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
	switch int(date.Sub(easter).Hours() / 24) {
	case -2, 1, 39, 50: // Good Friday, Easter Monday, Ascension, Whit Monday
		return true
	}
	return false
}

// EasterSunday returns Western (Gregorian) Easter Sunday of year, at
// midnight UTC (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
func EasterSunday(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}
