package firmwaresim

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed profiles/pvwatts_8760_roofmount.csv
var pvwattsCSV []byte

// HoursPerProfileYear is the number of hourly rows of a typical-year PV
// profile: 365 days × 24 h. Typical years have no 29 February.
const HoursPerProfileYear = 8760

// pvwattsMetadataLines is how many "key:,value" lines precede the column
// header in a PVWatts hourly CSV export.
const pvwattsMetadataLines = 17

// PVProfile is one typical year of hourly PV output from an NREL PVWatts
// export. Hour values are means over [h, h+1) in the site's local standard
// time; PVProfile interpolates between hour midpoints so that power is
// smooth, and wraps from 31 December back to 1 January.
//
// A PVProfile is immutable after parsing and safe for concurrent use.
type PVProfile struct {
	acW      [HoursPerProfileYear]float64 // AC System Output, W
	dcW      [HoursPerProfileYear]float64 // DC Array Output, W
	ambientC [HoursPerProfileYear]float64 // Ambient Temperature, °C
	// dcSystemW is the DC nameplate of the modelled system (W) and
	// ratedACW its inverter's AC rating, DC size / DC-to-AC ratio (W).
	dcSystemW float64
	ratedACW  float64
	// totalsACW is the AC value of the file's own Totals row (Wh), kept to
	// cross-check the parse.
	totalsACW float64
}

var defaultPVProfile = sync.OnceValues(func() (*PVProfile, error) {
	return ParsePVWatts(bytes.NewReader(pvwattsCSV))
})

// DefaultPVProfile returns the embedded profile: PVWatts, Denver, 4 kW DC
// roof mount, DC/AC 1.2 (see profiles/SOURCES.md). It is parsed once.
func DefaultPVProfile() (*PVProfile, error) { return defaultPVProfile() }

// ParsePVWatts reads a PVWatts hourly CSV export: 17 metadata lines (of
// which "DC System Size (kW):" and "DC to AC Size Ratio:" are required),
// the column header, exactly 8760 hourly rows in calendar order, and a
// trailing "Totals" row. Anything else is an error.
func ParsePVWatts(r io.Reader) (*PVProfile, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // metadata lines and data rows differ in width
	p := &PVProfile{}
	var dcKW, ratio float64
	for i := 0; i < pvwattsMetadataLines; i++ {
		rec, err := cr.Read()
		if err != nil {
			return nil, fmt.Errorf("pvwatts: metadata line %d: %w", i+1, err)
		}
		key := strings.TrimSpace(rec[0])
		val := ""
		if len(rec) > 1 {
			val = strings.TrimSpace(rec[1])
		}
		var err2 error
		switch key {
		case "DC System Size (kW):":
			dcKW, err2 = strconv.ParseFloat(val, 64)
		case "DC to AC Size Ratio:":
			ratio, err2 = strconv.ParseFloat(val, 64)
		}
		if err2 != nil {
			return nil, fmt.Errorf("pvwatts: metadata line %d %q: %w", i+1, key, err2)
		}
	}
	if dcKW <= 0 || ratio <= 0 {
		return nil, errors.New("pvwatts: metadata lacks a positive \"DC System Size (kW):\" and \"DC to AC Size Ratio:\"")
	}
	p.dcSystemW = dcKW * 1000
	p.ratedACW = p.dcSystemW / ratio

	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("pvwatts: header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		col[strings.TrimSpace(name)] = i
	}
	need := []string{"Month", "Day", "Hour", "Ambient Temperature (C)", "DC Array Output (W)", "AC System Output (W)"}
	for _, name := range need {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("pvwatts: header has no %q column", name)
		}
	}

	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil, fmt.Errorf("pvwatts: %d hourly rows and no Totals row, want %d rows then Totals", rows, HoursPerProfileYear)
		}
		if err != nil {
			return nil, fmt.Errorf("pvwatts: row %d: %w", rows+1, err)
		}
		if strings.TrimSpace(rec[0]) == "Totals" {
			if v, err := floatField(rec, col["AC System Output (W)"]); err == nil {
				p.totalsACW = v
			}
			break
		}
		if rows >= HoursPerProfileYear {
			return nil, fmt.Errorf("pvwatts: more than %d hourly rows", HoursPerProfileYear)
		}
		var month, day, hour float64
		var fields [6]float64
		for i, name := range need {
			v, err := floatField(rec, col[name])
			if err != nil {
				return nil, fmt.Errorf("pvwatts: row %d column %q: %w", rows+1, name, err)
			}
			fields[i] = v
		}
		month, day, hour = fields[0], fields[1], fields[2]
		if want := typicalYearHour(int(month), int(day), int(hour)); want != rows {
			return nil, fmt.Errorf("pvwatts: row %d is %v/%v hour %v, want hour %d of the year in order", rows+1, month, day, hour, rows)
		}
		p.ambientC[rows], p.dcW[rows], p.acW[rows] = fields[3], fields[4], fields[5]
		rows++
	}
	if rows != HoursPerProfileYear {
		return nil, fmt.Errorf("pvwatts: %d hourly rows, want %d", rows, HoursPerProfileYear)
	}
	if p.totalsACW > 0 {
		if sum := p.AnnualACWh(); math.Abs(sum-p.totalsACW) > 1e-4*p.totalsACW {
			return nil, fmt.Errorf("pvwatts: AC rows sum to %.1f Wh but the Totals row says %.1f Wh", sum, p.totalsACW)
		}
	}
	return p, nil
}

func floatField(rec []string, i int) (float64, error) {
	if i >= len(rec) {
		return 0, errors.New("missing")
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(rec[i]), 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%v is not finite", v)
	}
	return v, nil
}

// daysBeforeMonth[m-1] is the day of a non-leap year on which month m
// starts, counted from 0.
var daysBeforeMonth = [12]int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// typicalYearHour maps a calendar month (1-12), day (1-31) and hour (0-23)
// to the row index of a 365-day typical year. 29 February reads 28
// February, and days after it keep their calendar date, so a leap year
// repeats one day rather than shifting the seasons. Returns -1 when out
// of range.
func typicalYearHour(month, day, hour int) int {
	if month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 {
		return -1
	}
	if month == 2 && day == 29 {
		day = 28
	}
	return (daysBeforeMonth[month-1]+day-1)*24 + hour
}

// profileHours returns the position of wall-clock time t in the typical
// year, in hours since 1 January 00:00, fractional. Only t's wall-clock
// fields in its own location are used: the profile knows no time zones.
func profileHours(t time.Time) float64 {
	_, month, day := t.Date()
	hh, mm, ss := t.Clock()
	base := typicalYearHour(int(month), day, hh)
	return float64(base) + float64(mm)/60 + (float64(ss)+float64(t.Nanosecond())/1e9)/3600
}

// interpolate returns the series value at hours h: hour means sit at the
// hour midpoints (h+0.5) and are joined by straight lines, wrapping around
// the year. Over a whole year the integral of the interpolated curve equals
// the sum of the hour values, so annual energy is preserved exactly.
func interpolate(series *[HoursPerProfileYear]float64, h float64) float64 {
	x := h - 0.5
	fl := math.Floor(x)
	frac := x - fl
	i0 := int(fl) % HoursPerProfileYear
	if i0 < 0 {
		i0 += HoursPerProfileYear
	}
	i1 := (i0 + 1) % HoursPerProfileYear
	return series[i0]*(1-frac) + series[i1]*frac
}

// ACPower returns the profile system's AC output (W) at profile-local
// wall-clock time t, interpolated. It is never negative.
func (p *PVProfile) ACPower(t time.Time) float64 {
	return math.Max(0, interpolate(&p.acW, profileHours(t)))
}

// DCPower returns the profile system's DC array output (W) at t,
// interpolated.
func (p *PVProfile) DCPower(t time.Time) float64 {
	return math.Max(0, interpolate(&p.dcW, profileHours(t)))
}

// AmbientC returns the ambient temperature (°C) at t, interpolated.
func (p *PVProfile) AmbientC(t time.Time) float64 {
	return interpolate(&p.ambientC, profileHours(t))
}

// HourAC returns the raw AC value of row i (W, mean over that hour), for
// 0 <= i < HoursPerProfileYear.
func (p *PVProfile) HourAC(i int) float64 { return p.acW[i] }

// RatedACW is the AC rating of the profile's system (W): its DC size
// divided by its DC-to-AC ratio, 3,333.3 W for the embedded profile. The
// simulator scales profile power by nameplate / RatedACW.
func (p *PVProfile) RatedACW() float64 { return p.ratedACW }

// AnnualACWh is the sum of the 8760 hourly AC values: the system's annual
// AC energy in Wh (hour means × 1 h).
func (p *PVProfile) AnnualACWh() float64 {
	s := 0.0
	for _, v := range p.acW {
		s += v
	}
	return s
}
