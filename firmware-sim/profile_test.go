package firmwaresim

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func mustPV(t *testing.T) *PVProfile {
	t.Helper()
	p, err := DefaultPVProfile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T) *LoadProfile {
	t.Helper()
	p, err := DefaultLoadProfile()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPVProfileParse(t *testing.T) {
	p := mustPV(t)
	// 5,938.05 kWh is the AC total PVWatts states for this system (the
	// file's Totals row, 5,938,052.618 Wh).
	const knownWh = 5_938_050.0
	if got := p.AnnualACWh(); math.Abs(got-knownWh) > 0.001*knownWh {
		t.Errorf("annual AC = %.1f Wh, want %.0f Wh within 0.1 %%", got, knownWh)
	}
	if got, want := p.RatedACW(), 4000/1.2; math.Abs(got-want) > 1e-9 {
		t.Errorf("rated AC = %v W, want %v (4 kW DC / 1.2)", got, want)
	}
	maxAC := 0.0
	for i := 0; i < HoursPerProfileYear; i++ {
		maxAC = math.Max(maxAC, p.HourAC(i))
	}
	if maxAC > p.RatedACW()+0.01 {
		t.Errorf("max hourly AC %v W above the rating %v W", maxAC, p.RatedACW())
	}
	for _, day := range []time.Time{
		time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 6, 21, 0, 0, 0, 0, time.UTC),
		time.Date(2025, 12, 31, 0, 30, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), // leap day reads 28 Feb
	} {
		if got := p.ACPower(day); got != 0 {
			t.Errorf("AC at %v = %v W, want 0 at midnight", day, got)
		}
	}
	for d := 1; d <= 30; d++ {
		noon := time.Date(2025, 6, d, 12, 0, 0, 0, time.UTC)
		if got := p.ACPower(noon); got <= 0 {
			t.Errorf("AC at %v = %v W, want > 0 at noon in June", noon, got)
		}
	}
}

func TestPVProfileInterpolation(t *testing.T) {
	p := mustPV(t)
	// At an hour's midpoint the curve passes through that hour's mean.
	for _, h := range []int{12, 4000, 4107, 8759} {
		day, hour := h/24, h%24
		at := time.Date(2025, 1, 1+day, hour, 30, 0, 0, time.UTC)
		if got, want := p.ACPower(at), p.HourAC(h); math.Abs(got-want) > 1e-9 {
			t.Errorf("AC at %v = %v, want hour %d mean %v", at, got, h, want)
		}
	}
	// Continuous: one second apart never differs by more than the largest
	// hour-to-hour step divided by 3600 s.
	start := time.Date(2025, 6, 21, 4, 0, 0, 0, time.UTC)
	prev := p.ACPower(start)
	for s := 1; s < 16*3600; s += 1 {
		cur := p.ACPower(start.Add(time.Duration(s) * time.Second))
		if math.Abs(cur-prev) > p.RatedACW()/3600 {
			t.Fatalf("AC jumps from %v to %v W in one second at %v", prev, cur, start.Add(time.Duration(s)*time.Second))
		}
		prev = cur
	}
	// Over the whole year the interpolated curve integrates to the hourly
	// sum: sample every 6 minutes (midpoint rule, exact for linear pieces
	// that do not straddle a sample cell; 6 min divides the half hour).
	sum := 0.0
	t0 := time.Date(2025, 1, 1, 0, 3, 0, 0, time.UTC)
	for i := 0; i < HoursPerProfileYear*10; i++ {
		sum += p.ACPower(t0.Add(time.Duration(i)*6*time.Minute)) * 0.1
	}
	if math.Abs(sum-p.AnnualACWh()) > 1e-6*p.AnnualACWh() {
		t.Errorf("integral of the interpolated year %v Wh, hourly sum %v Wh", sum, p.AnnualACWh())
	}
}

func TestParsePVWattsRejectsBadFiles(t *testing.T) {
	lines := strings.SplitAfter(string(pvwattsCSV), "\n")
	header := strings.Join(lines[:18], "")
	rows := lines[18 : 18+HoursPerProfileYear]
	totals := lines[18+HoursPerProfileYear]
	cases := map[string]string{
		"missing row":  header + strings.Join(rows[:HoursPerProfileYear-1], "") + totals,
		"extra row":    header + strings.Join(rows, "") + rows[0] + totals,
		"no totals":    header + strings.Join(rows, ""),
		"swapped rows": header + rows[1] + rows[0] + strings.Join(rows[2:], "") + totals,
		"bad number":   header + strings.Replace(strings.Join(rows, ""), ",0,0\n", ",0,x\n", 1) + totals,
		"no metadata":  strings.Join(lines[17:], ""),
		"wrong totals": header + strings.Join(rows, "") + "Totals, , ,0,0,1\n", // the AC column (the embedded copy has six)
		"no AC column": strings.Replace(header, "AC System Output (W)", "AC", 1) + strings.Join(rows, "") + totals,
	}
	for name, text := range cases {
		if _, err := ParsePVWatts(strings.NewReader(text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	if _, err := ParsePVWatts(bytes.NewReader(pvwattsCSV)); err != nil {
		t.Fatalf("the real file: %v", err)
	}
}

// TestH25Normalisation pins down what the H25 numbers mean: kWh per
// quarter-hour for 1,000,000 kWh per year once multiplied by the BDEW
// dynamisation factor. Summing real calendar years (Sundays and German
// nationwide holidays as FT) must give 1 GWh within 0.3 %; 2025 is
// -0.08 %.
func TestH25Normalisation(t *testing.T) {
	p := mustLoad(t)
	for _, year := range []int{2023, 2024, 2025, 2026} {
		sum := 0.0
		for q := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); q.Year() == year; q = q.Add(15 * time.Minute) {
			sum += p.QuarterKWh(q)
		}
		if dev := sum/H25AnnualKWh - 1; math.Abs(dev) > 0.003 {
			t.Errorf("%d: dynamised H25 sums to %.0f kWh (%+.3f %%), want %d kWh within 0.3 %%", year, sum, dev*100, H25AnnualKWh)
		}
		if year == 2025 && math.Abs(sum-999_208) > 1 {
			t.Errorf("2025 sums to %.1f kWh, want 999,208 kWh as documented", sum)
		}
	}
	// The same year through Power: 1,000 kWh/yr comes out as 1,000 kWh.
	energy := 0.0
	for q := time.Date(2025, 1, 1, 0, 7, 0, 0, time.UTC); q.Year() == 2025; q = q.Add(15 * time.Minute) {
		energy += p.Power(q, 1000) * 0.25 / 1000
	}
	if math.Abs(energy-1000) > 1 {
		t.Errorf("Power(…, 1000 kWh) over 2025 integrates to %.2f kWh", energy)
	}
	// Seasons the right way round: a January working day uses more than a
	// July one (lighting), which only holds with the dynamisation.
	jan := dayKWh(p, time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC))
	jul := dayKWh(p, time.Date(2025, 7, 16, 0, 0, 0, 0, time.UTC))
	if jan <= jul {
		t.Errorf("January workday %.0f kWh <= July workday %.0f kWh", jan, jul)
	}
}

func dayKWh(p *LoadProfile, day time.Time) float64 {
	s := 0.0
	for q := 0; q < QuartersPerDay; q++ {
		s += p.QuarterKWh(day.Add(time.Duration(q) * 15 * time.Minute))
	}
	return s
}

func TestBDEWCalendar(t *testing.T) {
	easter := map[int]string{2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2038: "2038-04-25"}
	for y, want := range easter {
		if got := EasterSunday(y).Format(time.DateOnly); got != want {
			t.Errorf("Easter %d = %s, want %s", y, got, want)
		}
	}
	cases := []struct {
		date string
		want DayType
	}{
		{"2025-01-01", Holiday},  // Wednesday, New Year
		{"2025-04-18", Holiday},  // Good Friday
		{"2025-04-21", Holiday},  // Easter Monday
		{"2025-05-29", Holiday},  // Ascension
		{"2025-06-09", Holiday},  // Whit Monday
		{"2025-10-03", Holiday},  // German Unity Day, Friday
		{"2025-12-26", Holiday},  // Friday
		{"2025-06-21", Saturday}, // Saturday
		{"2025-06-22", Holiday},  // Sunday
		{"2025-06-23", Workday},  // Monday
		{"2025-12-24", Workday},  // Wednesday: not modelled as Saturday
	}
	for _, c := range cases {
		d, _ := time.Parse(time.DateOnly, c.date)
		if got := BDEWDayType(d.Year(), d.Month(), d.Day()); got != c.want {
			t.Errorf("%s: %v, want %v", c.date, got, c.want)
		}
	}
	if got := Dynamisation(1); math.Abs(got-1.2421) > 0.0005 {
		t.Errorf("Dynamisation(1) = %v, want about 1.242", got)
	}
}

func TestParseBDEWH25RejectsBadFiles(t *testing.T) {
	lines := strings.SplitAfter(string(h25CSV), "\n")
	cases := map[string]string{
		"missing quarter": strings.Join(append(append([]string{}, lines[:50]...), lines[51:]...), ""),
		"unknown month":   strings.Replace(string(h25CSV), "Januar", "Janvier", 1),
		"negative value":  strings.Replace(string(h25CSV), "22.152", "-22.152", 1),
		"duplicate type":  strings.Replace(string(h25CSV), "[kWh],SA,FT", "[kWh],SA,SA", 1),
	}
	for name, text := range cases {
		if _, err := ParseBDEWH25(strings.NewReader(text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
