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

// A real household's year: Ausgrid's Solar home electricity data, customer
// 12 (Sydney), 1 July 2011 to 30 June 2012 (CC BY 4.0, see
// profiles/SOURCES.md). The GC column is the general consumption, the
// AVERAGE power in kW over each 30-minute slot (not kWh). The original's
// GG column (the gross PV generation of the home's 1.04 kWp system) is
// not used (the PV comes from PVWatts and MIDC) and not embedded.
//
// Seasons: the data starts in the Southern winter, so day d of the
// profile's typical year (1 January = 0) reads day d of the data (1 July
// 2011 = 0): northern January gets Sydney's July, northern July Sydney's
// January, and the house's heating and cooling fall in the same seasons as
// the PV profile's. Weekdays are not aligned; the data's 366 days (2012 is
// a leap year) wrap. Slots are wall-clock half hours as in the file (the
// data's daylight-saving handling is ambiguous; it is taken as is).

//go:embed profiles/ausgrid_customer12_GC_2011-2012.csv
var ausgridCSV []byte

// SlotsPerDay is the number of 30-minute slots in an Ausgrid day.
const SlotsPerDay = 48

// HouseholdProfile is a year of one household's half-hourly mean power.
// Immutable and safe for concurrent use.
type HouseholdProfile struct {
	kW        []float64 // days × SlotsPerDay, mean kW per slot
	annualKWh float64   // the data's energy over the year, kWh
	start     time.Time // date of the first slot
}

var defaultHouseholdProfile = sync.OnceValues(func() (*HouseholdProfile, error) {
	return ParseAusgrid(bytes.NewReader(ausgridCSV))
})

// DefaultHouseholdProfile returns the embedded Ausgrid customer 12 profile.
// It is parsed once.
func DefaultHouseholdProfile() (*HouseholdProfile, error) { return defaultHouseholdProfile() }

// ParseAusgrid reads the ausgrid-solar-data per-customer CSV: a header
// ",GC,GG" (or ",GC", the embedded copy), then
// "YYYY-MM-DD HH:MM:SS,<GC kW>[,<GG kW>]" rows, 48 per day
// with no gaps, 365 or 366 days. Anything else is an error.
func ParseAusgrid(r io.Reader) (*HouseholdProfile, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return nil, fmt.Errorf("ausgrid: no header")
	}
	header := strings.Split(strings.TrimSpace(sc.Text()), ",")
	if len(header) < 2 || strings.TrimSpace(header[1]) != "GC" {
		return nil, fmt.Errorf("ausgrid: header %q, want \",GC,GG\" or \",GC\"", sc.Text())
	}
	p := &HouseholdProfile{}
	var next time.Time
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		rec := strings.Split(line, ",")
		n := len(p.kW) + 1
		if len(rec) < 2 {
			return nil, fmt.Errorf("ausgrid: row %d %q: want timestamp,GC[,GG]", n, line)
		}
		t, err := time.Parse(time.DateTime, rec[0])
		if err != nil {
			return nil, fmt.Errorf("ausgrid: row %d timestamp %q: want 2006-01-02 15:04:05", n, rec[0])
		}
		if p.start.IsZero() {
			if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 {
				return nil, fmt.Errorf("ausgrid: first row %s does not start a day", rec[0])
			}
			p.start, next = t, t
		}
		if !t.Equal(next) {
			return nil, fmt.Errorf("ausgrid: row %d is %s, want %s (30-minute slots without gaps)", n, rec[0], next.Format(time.DateTime))
		}
		next = next.Add(30 * time.Minute)
		kw, err := strconv.ParseFloat(rec[1], 64)
		if err != nil || math.IsNaN(kw) || math.IsInf(kw, 0) || kw < 0 || kw > 100 {
			return nil, fmt.Errorf("ausgrid: row %d GC %q: want kW 0..100", n, rec[1])
		}
		p.kW = append(p.kW, kw)
		p.annualKWh += kw / 2
		if len(p.kW) > 366*SlotsPerDay {
			return nil, fmt.Errorf("ausgrid: more than 366 days")
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ausgrid: %w", err)
	}
	if days := len(p.kW) / SlotsPerDay; len(p.kW)%SlotsPerDay != 0 || days < 365 {
		return nil, fmt.Errorf("ausgrid: %d slots, want 365 or 366 whole days of %d", len(p.kW), SlotsPerDay)
	}
	if p.annualKWh <= 0 {
		return nil, fmt.Errorf("ausgrid: the year uses no energy")
	}
	return p, nil
}

// Days is the number of days in the profile.
func (p *HouseholdProfile) Days() int { return len(p.kW) / SlotsPerDay }

// AnnualKWh is the household's energy over the data's year, kWh (5,938
// for the embedded customer).
func (p *HouseholdProfile) AnnualKWh() float64 { return p.annualKWh }

// Power returns the household's mean power (W) in the slot that contains
// profile-local wall-clock time t (see the file comment for the day
// mapping), scaled from the data's year to annualKWh.
func (p *HouseholdProfile) Power(t time.Time, annualKWh float64) float64 {
	_, m, d := t.Date()
	hh, mm, _ := t.Clock()
	day := typicalYearHour(int(m), d, 0) / 24
	i := (day%p.Days())*SlotsPerDay + hh*2 + mm/30
	return p.kW[i] * 1000 * annualKWh / p.annualKWh
}
