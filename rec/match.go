package rec

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Consumption is a consumer's metered consumption in one hour.
type Consumption struct {
	Hour gridmint.Hour `json:"hour"`
	Wh   gridmint.Wh   `json:"wh"`
}

// Retired is an amount of certificates retired for a consumer, for the
// hour they were produced in.
type Retired struct {
	Hour gridmint.Hour `json:"hour"`
	Wh   gridmint.Wh   `json:"wh"`
}

// MatchHour is one hour of a matching report.
type MatchHour struct {
	Hour        gridmint.Hour `json:"hour"`
	Consumption gridmint.Wh   `json:"consumption_wh"`
	Retired     gridmint.Wh   `json:"retired_wh"`
	// Matched = min(Consumption, Retired).
	Matched gridmint.Wh `json:"matched_wh"`
	// Surplus is retired energy beyond the hour's consumption: it counts
	// for nothing, in this hour or any other.
	Surplus gridmint.Wh `json:"surplus_wh"`
}

// MatchReport is hour-by-hour (24/7) matching of consumption with the
// certificates retired for it, as EnergyTag and the 24/7 carbon-free
// energy compacts count it.
type MatchReport struct {
	Hours       []MatchHour `json:"hours"`
	Consumption gridmint.Wh `json:"consumption_wh"`
	Retired     gridmint.Wh `json:"retired_wh"`
	Matched     gridmint.Wh `json:"matched_wh"`
	// Score is Matched / Consumption, 0 to 1: the share of consumption
	// matched hour by hour (the carbon-free energy score). 0 without
	// consumption.
	Score float64 `json:"score"`
}

// Match matches consumption with retired certificates hour by hour: each
// hour's matched energy is capped at its consumption, and surplus in one
// hour counts for nothing in another. Certificates for hours without a
// consumption entry are all surplus. Several retirements for one hour add
// up; two consumption entries for one hour, or negative amounts, are an
// error.
func Match(consumption []Consumption, retired []Retired) (MatchReport, error) {
	byHour := map[gridmint.Hour]*MatchHour{}
	get := func(h gridmint.Hour) *MatchHour {
		m := byHour[h]
		if m == nil {
			m = &MatchHour{Hour: h}
			byHour[h] = m
		}
		return m
	}
	seen := map[gridmint.Hour]bool{}
	var rep MatchReport
	for _, c := range consumption {
		if c.Wh < 0 {
			return MatchReport{}, gridmint.Errorf(gridmint.EInvalid, "rec: consumption of %d Wh in %s", c.Wh, c.Hour)
		}
		if seen[c.Hour] {
			return MatchReport{}, gridmint.Errorf(gridmint.EInvalid, "rec: two consumption entries for %s", c.Hour)
		}
		seen[c.Hour] = true
		get(c.Hour).Consumption = c.Wh
	}
	for _, r := range retired {
		if r.Wh < 0 {
			return MatchReport{}, gridmint.Errorf(gridmint.EInvalid, "rec: retirement of %d Wh in %s", r.Wh, r.Hour)
		}
		get(r.Hour).Retired += r.Wh
	}
	for _, m := range byHour {
		m.Matched = min(m.Consumption, m.Retired)
		m.Surplus = m.Retired - m.Matched
		rep.Hours = append(rep.Hours, *m)
		rep.Consumption += m.Consumption
		rep.Retired += m.Retired
		rep.Matched += m.Matched
	}
	slices.SortFunc(rep.Hours, func(a, b MatchHour) int { return cmp.Compare(a.Hour, b.Hour) })
	if rep.Consumption > 0 {
		rep.Score = float64(rep.Matched) / float64(rep.Consumption)
	}
	return rep, nil
}

// ConsumptionHeader is the header line of the hourly consumption CSV.
var ConsumptionHeader = []string{"hour_start_utc", "consumption_wh"}

// Limits of ParseConsumptionCSV.
const (
	MaxConsumptionRows = 1_000_000     // about 114 years of hours
	MaxConsumptionWh   = 1_000_000_000 // 1 GWh in one hour
)

// ParseConsumptionCSV reads hourly consumption in this format (UTF-8,
// comma-separated, a byte-order mark and CRLF line ends tolerated):
//
//	hour_start_utc,consumption_wh
//	2025-01-21T21:00:00Z,1534
//	2025-01-21T22:00:00+01:00,1200
//
// hour_start_utc is an RFC 3339 time that must fall on the start of a UTC
// hour (an offset is allowed; 22:00+01:00 is 21:00 UTC); consumption_wh
// is a whole, non-negative number of Wh up to MaxConsumptionWh. Rows may
// come in any order; each hour at most once. An error names the line and
// the field.
func ParseConsumptionCSV(data []byte) ([]Consumption, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 2
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: empty; want the header %s", strings.Join(ConsumptionHeader, ","))
		}
		return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: header: %v", err)
	}
	if !slices.Equal(head, ConsumptionHeader) {
		return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: header %q; want %s", strings.Join(head, ","), strings.Join(ConsumptionHeader, ","))
	}
	var out []Consumption
	seen := map[gridmint.Hour]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: %v", err)
		}
		line, _ := r.FieldPos(0)
		if len(out) >= MaxConsumptionRows {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: more than %d rows", MaxConsumptionRows)
		}
		t, err := time.Parse(time.RFC3339, rec[0])
		if err != nil {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: line %d: hour_start_utc %q is not an RFC 3339 time", line, clip(rec[0]))
		}
		h := gridmint.HourOf(t)
		if !t.Equal(h.Start()) {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: line %d: hour_start_utc %s is not the start of a UTC hour", line, rec[0])
		}
		if h < 0 {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: line %d: hour_start_utc %s is before 1970", line, rec[0])
		}
		wh, err := strconv.ParseInt(rec[1], 10, 64)
		if err != nil || wh < 0 || wh > MaxConsumptionWh || strings.HasPrefix(rec[1], "+") {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: line %d: consumption_wh %q: want a whole number of Wh from 0 to %d", line, clip(rec[1]), MaxConsumptionWh)
		}
		if prev, ok := seen[h]; ok {
			return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: line %d: hour %s already given on line %d", line, h, prev)
		}
		seen[h] = line
		out = append(out, Consumption{Hour: h, Wh: gridmint.Wh(wh)})
	}
	slices.SortFunc(out, func(a, b Consumption) int { return cmp.Compare(a.Hour, b.Hour) })
	return out, nil
}

// FormatConsumptionCSV writes consumption in the format
// ParseConsumptionCSV reads, in hour order.
func FormatConsumptionCSV(cs []Consumption) []byte {
	var b bytes.Buffer
	b.WriteString(strings.Join(ConsumptionHeader, ",") + "\n")
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b Consumption) int { return cmp.Compare(a.Hour, b.Hour) })
	for _, c := range sorted {
		fmt.Fprintf(&b, "%s,%d\n", c.Hour.Start().Format(time.RFC3339), c.Wh)
	}
	return b.Bytes()
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
