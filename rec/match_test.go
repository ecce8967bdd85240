package rec

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gridmint/gridmint"
)

func TestMatchHourByHour(t *testing.T) {
	h := utcHour(2025, 1, 21, 0)
	consumption := []Consumption{{h, 1000}, {h + 1, 1000}, {h + 2, 500}, {h + 3, 0}}
	retired := []Retired{
		{h, 400}, {h, 200}, // two retirements for one hour add up
		{h + 1, 1500}, // surplus: 500 Wh count for nothing
		{h + 2, 0},
		{h + 5, 300}, // no consumption that hour: all surplus
	}
	rep, err := Match(consumption, retired)
	if err != nil {
		t.Fatal(err)
	}
	want := []MatchHour{
		{Hour: h, Consumption: 1000, Retired: 600, Matched: 600},
		{Hour: h + 1, Consumption: 1000, Retired: 1500, Matched: 1000, Surplus: 500},
		{Hour: h + 2, Consumption: 500},
		{Hour: h + 3},
		{Hour: h + 5, Retired: 300, Surplus: 300},
	}
	if !slices.Equal(rep.Hours, want) {
		t.Errorf("hours\n got %+v\nwant %+v", rep.Hours, want)
	}
	if rep.Consumption != 2500 || rep.Retired != 2400 || rep.Matched != 1600 || math.Abs(rep.Score-0.64) > 1e-12 {
		t.Errorf("totals %d consumed, %d retired, %d matched, score %v; want 2500, 2400, 1600, 0.64", rep.Consumption, rep.Retired, rep.Matched, rep.Score)
	}
	// Retiring as much as consumed, but in the wrong hours, matches
	// nothing: surplus does not move between hours.
	rep, _ = Match([]Consumption{{h, 1000}}, []Retired{{h + 1, 1000}})
	if rep.Matched != 0 || rep.Score != 0 {
		t.Errorf("energy retired for another hour matched %d (score %v)", rep.Matched, rep.Score)
	}
	for name, in := range map[string]struct {
		c []Consumption
		r []Retired
	}{
		"two entries for an hour": {[]Consumption{{h, 1}, {h, 2}}, nil},
		"negative consumption":    {[]Consumption{{h, -1}}, nil},
		"negative retirement":     {nil, []Retired{{h, -1}}},
	} {
		if _, err := Match(in.c, in.r); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("%s: %v, want EInvalid", name, err)
		}
	}
}

func TestParseConsumptionCSV(t *testing.T) {
	h := utcHour(2025, 1, 21, 21)
	good := "\ufeffhour_start_utc,consumption_wh\r\n2025-01-21T22:00:00+01:00,1200\r\n2025-01-21T20:00:00Z,0\r\n2025-01-21T22:00:00Z,1534\r\n"
	got, err := ParseConsumptionCSV([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Consumption{{h - 1, 0}, {h, 1200}, {h + 1, 1534}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	bad := []struct {
		name, csv, wantErr string
	}{
		{"empty", "", "empty"},
		{"wrong header", "hour,wh\n", "header"},
		{"not on the hour", "hour_start_utc,consumption_wh\n2025-01-21T21:30:00Z,5\n", "line 2: hour_start_utc 2025-01-21T21:30:00Z is not the start of a UTC hour"},
		{"an hour of a half-hour zone", "hour_start_utc,consumption_wh\n2025-01-21T21:00:00+05:30,5\n", "not the start of a UTC hour"},
		{"not a time", "hour_start_utc,consumption_wh\nyesterday,5\n", "line 2: hour_start_utc \"yesterday\""},
		{"decimal Wh", "hour_start_utc,consumption_wh\n2025-01-21T21:00:00Z,1.5\n", "consumption_wh \"1.5\""},
		{"negative", "hour_start_utc,consumption_wh\n2025-01-21T21:00:00Z,-3\n", "consumption_wh \"-3\""},
		{"too much", "hour_start_utc,consumption_wh\n2025-01-21T21:00:00Z,1000000001\n", "consumption_wh"},
		{"an hour twice", "hour_start_utc,consumption_wh\n2025-01-21T21:00:00Z,1\n2025-01-21T22:00:00+01:00,2\n", "line 3: hour 2025-01-21T21:00Z already given on line 2"},
		{"a missing field", "hour_start_utc,consumption_wh\n2025-01-21T21:00:00Z\n", "wrong number of fields"},
		{"before 1970", "hour_start_utc,consumption_wh\n1969-12-31T23:00:00Z,1\n", "before 1970"},
	}
	for _, tt := range bad {
		_, err := ParseConsumptionCSV([]byte(tt.csv))
		if gridmint.ErrorCode(err) != gridmint.EInvalid || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v, want EInvalid containing %q", tt.name, err, tt.wantErr)
		}
	}
}

// FuzzParseConsumptionCSV: no input crashes the parser; whatever it
// accepts is valid and survives formatting and parsing again unchanged.
func FuzzParseConsumptionCSV(f *testing.F) {
	f.Add([]byte("hour_start_utc,consumption_wh\n2025-01-21T21:00:00Z,1534\n"))
	f.Add([]byte("\ufeffhour_start_utc,consumption_wh\r\n2025-01-21T22:00:00+01:00,1200\r\n2025-01-21T23:00:00Z,0\r\n"))
	f.Add([]byte("hour_start_utc,consumption_wh\n\"2025-01-21T21:00:00Z\",\"7\"\n"))
	f.Add([]byte("hour_start_utc,consumption_wh\n2025-01-21T21:00:00.000000001Z,1\n"))
	f.Add([]byte("hour_start_utc,consumption_wh\n9999-12-31T23:00:00Z,1000000000\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cs, err := ParseConsumptionCSV(data)
		if err != nil {
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("error %v is not EInvalid", err)
			}
			return
		}
		for i, c := range cs {
			if c.Wh < 0 || c.Wh > MaxConsumptionWh || c.Hour < 0 || (i > 0 && c.Hour <= cs[i-1].Hour) {
				t.Fatalf("accepted %+v at %d", c, i)
			}
		}
		again, err := ParseConsumptionCSV(FormatConsumptionCSV(cs))
		if err != nil || !slices.Equal(again, cs) {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, again, cs)
		}
		if _, err := Match(cs, nil); err != nil {
			t.Fatalf("Match on parsed consumption: %v", err)
		}
		if !bytes.Equal(FormatConsumptionCSV(again), FormatConsumptionCSV(cs)) {
			t.Fatal("formatting is not deterministic")
		}
	})
}
