package firmwaresim

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSunVector(t *testing.T) {
	// Equinox (20 March, day 79) near solar noon: the sun stands at 90° −
	// latitude in the south; at 6:00 and 18:00 local solar time it is near
	// the horizon in the east and west.
	e, n, u := sunVector(79, 12+(4*0.18+7.5)/60) // clock time of solar noon: lon offset and EoT
	elev := math.Asin(u) * 180 / math.Pi
	if math.Abs(elev-(90-siteLatDeg)) > 1 || n >= 0 || math.Abs(e) > 0.02 {
		t.Errorf("equinox noon: elevation %.2f°, want %.2f°; east %.3f north %.3f", elev, 90-siteLatDeg, e, n)
	}
	if _, _, u := sunVector(172, 12); math.Asin(u)*180/math.Pi < 72 {
		t.Errorf("midsummer noon elevation %.1f°, want about 73.7°", math.Asin(u)*180/math.Pi)
	}
	if e, _, u := sunVector(79, 6.2); math.Abs(u) > 0.1 || e < 0.9 {
		t.Errorf("equinox dawn: up %.2f east %.2f", u, e)
	}
}

// TestTransposition: the reference plane is the profile; other planes
// shift the day as roofs do and yield what roofs yield.
func TestTransposition(t *testing.T) {
	prof := mustPV(t)
	day := time.Date(2025, 6, 21, 0, 0, 0, 0, time.UTC)
	if f := transposition(newPlane(RefTiltDeg, RefAzimuthDeg), day.Add(9*time.Hour)); f != 1 {
		t.Errorf("reference plane: %v, want 1", f)
	}
	east, west := newPlane(30, 90), newPlane(30, 270)
	if m, a := transposition(east, day.Add(8*time.Hour)), transposition(east, day.Add(16*time.Hour)); m <= 1 || a >= 1 {
		t.Errorf("east roof: morning factor %.2f, afternoon %.2f", m, a)
	}
	if m, a := transposition(west, day.Add(8*time.Hour)), transposition(west, day.Add(16*time.Hour)); m >= 1 || a <= 1 {
		t.Errorf("west roof: morning factor %.2f, afternoon %.2f", m, a)
	}
	// Yearly yield relative to the reference array, 10-minute steps.
	yield := func(p plane) float64 {
		sum := 0.0
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for tt := start; tt.Year() == 2025; tt = tt.Add(10 * time.Minute) {
			sum += prof.ACPower(tt) * transposition(p, tt)
		}
		return sum
	}
	ref := yield(refPlane)
	for _, tc := range []struct {
		name          string
		tilt, azimuth float64
		lo, hi        float64
	}{
		{"south 35°", 35, 180, 0.98, 1.06},
		{"flat", 0, 180, 0.85, 0.97},
		{"east 30°", 30, 90, 0.75, 0.92},
		{"west 30°", 30, 270, 0.75, 0.92},
		{"facade south", 90, 180, 0.55, 0.8},
	} {
		if r := yield(newPlane(tc.tilt, tc.azimuth)) / ref; r < tc.lo || r > tc.hi {
			t.Errorf("%s: %.3f of the reference yield, want %.2f..%.2f", tc.name, r, tc.lo, tc.hi)
		} else {
			t.Logf("%s: %.3f of the reference yield", tc.name, r)
		}
	}
}

func TestCloudTrace(t *testing.T) {
	ct, err := DefaultCloudTrace()
	if err != nil {
		t.Fatal(err)
	}
	if n := ct.Minutes(); n < 500 || n > 650 {
		t.Errorf("%d usable minutes, want about 575", n)
	}
	mean, sd, lo, hi := 0.0, 0.0, math.Inf(1), math.Inf(-1)
	for _, v := range ct.f {
		mean += v
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	mean /= float64(len(ct.f))
	for _, v := range ct.f {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(len(ct.f)))
	if math.Abs(mean-1) > 0.02 || sd < 0.1 || sd > 0.3 || lo < 0.3 || hi > 2.5 {
		t.Errorf("factor mean %.3f sd %.3f range %.2f..%.2f", mean, sd, lo, hi)
	}
	// Read back and forth: continuous at the turns, any position valid.
	n := float64(ct.Minutes())
	if ct.Factor(n-1) != ct.f[len(ct.f)-1] || math.Abs(ct.Factor(n-1+0.5)-ct.Factor(n-1-0.5)) > 1e-12 ||
		ct.Factor(-3) != ct.Factor(3) || ct.Factor(2*(n-1)+7) != ct.Factor(7) {
		t.Error("the trace does not ping-pong")
	}
	for _, bad := range []string{
		"",
		"DATE (MM/DD/YYYY),MST,Other\n",
		"DATE (MM/DD/YYYY),MST,Global PSP [W/m^2]\n10/14/2018,00:00,1\n",
		"DATE (MM/DD/YYYY),MST,Global PSP [W/m^2]\n10/14/2018,00:01,1\n",
		"DATE (MM/DD/YYYY),MST,Global PSP [W/m^2]\n10/14/2018,00:00,x\n",
	} {
		if _, err := ParseMIDC(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestPVWithArrayAndClouds: an inverter with clouds and an orientation
// never exceeds its nameplate, is dark at night, and over a day yields
// within 10 % of the same array without clouds (the cloud factor keeps
// each hour's mean; clipping takes a little).
func TestPVWithArrayAndClouds(t *testing.T) {
	t0 := time.Date(2025, 5, 10, 0, 0, 0, 0, time.UTC)
	mk := func(clouds float64) *Sim {
		s, _ := newSim(t, t0, Config{PV: []PVConfig{{Serial: testSerial, Nameplate: 1000,
			Array: &PVArray{TiltDeg: 30, AzimuthDeg: 200, Clouds: clouds, CloudOffset: 90 * time.Minute}}}, Seed: 4})
		return s
	}
	cloudy, clear := mk(1), mk(0)
	var eCloudy, eClear float64
	maxW, prevRatio, moves, n := 0.0, 0.0, 0.0, 0
	for now := t0; now.Before(t0.Add(24 * time.Hour)); now = now.Add(time.Minute) {
		cloudy.Step(now)
		clear.Step(now)
		w, c := cloudy.dtus[0].inverters[0].live.acW, clear.dtus[0].inverters[0].live.acW
		if h := now.Hour(); (h < 4 || h > 21) && (w != 0 || c != 0) {
			t.Fatalf("%v: %v W at night", now, w)
		}
		if c > 50 && c < 900 { // unclipped daylight
			r := w / c
			if n > 0 {
				moves += math.Abs(r - prevRatio)
			}
			prevRatio = r
			n++
		}
		maxW = math.Max(maxW, w)
		eCloudy += w / 60
		eClear += c / 60
	}
	if maxW > 1000 {
		t.Errorf("peak %v W above the 1000 W nameplate", maxW)
	}
	if r := eCloudy / eClear; r < 0.9 || r > 1.05 {
		t.Errorf("cloudy day %.0f Wh, clear-hour profile %.0f Wh: ratio %.3f", eCloudy, eClear, r)
	}
	// The measured trace moves 4.5 % of the hour's mean a minute.
	if m := moves / float64(n-1); m < 0.02 {
		t.Errorf("clouds move the output by %.3f of the hourly profile a minute: no clouds to see", m)
	}
}

func TestTrondheimSessions(t *testing.T) {
	d, err := DefaultEVSessions()
	if err != nil {
		t.Fatal(err)
	}
	users := d.Users()
	if len(users) != 49 {
		t.Errorf("%d eligible users, want 49", len(users))
	}
	total := 0
	for _, u := range users {
		ss := d.Sessions(u)
		total += len(ss)
		for _, s := range ss {
			if s.Duration <= 0 || s.Duration > maxSessionDuration || s.KWh <= 0 || s.StartMinute < 0 || s.StartMinute >= 1440 || s.GapDays < 0 {
				t.Fatalf("user %s: bad session %+v", u, s)
			}
		}
	}
	// The embedded copy holds only these users' valid private sessions
	// (profiles/SOURCES.md): 5,349 of the data set's 6,878 rows.
	if d.Skipped() != 0 || d.Shared() != 0 || total != 5349 {
		t.Errorf("%d skipped rows, %d shared, %d sessions of eligible users; want 0, 0, 5349", d.Skipped(), d.Shared(), total)
	}
	// The original's other rows are still understood: NA, empty and
	// over-long sessions are skipped, shared chargers' counted apart.
	var rows strings.Builder
	rows.WriteString("User_ID;User_type;Start_plugin;End_plugout;El_kWh\r\n")
	for i := range MinUserSessions {
		fmt.Fprintf(&rows, "u1;Private;%02d.01.2019 18:00;%02d.01.2019 07:00;9,5\r\n", i+1, i+2)
	}
	rows.WriteString("u1;Private;01.02.2019 18:00;NA;NA\r\nu1;Private;02.02.2019 18:00;02.02.2019 18:00;1,0\r\n" +
		"u1;Private;01.03.2019 18:00;20.03.2019 18:00;1,0\r\nu2;Shared;01.03.2019 18:00;01.03.2019 20:00;4,2\r\n")
	if syn, err := ParseTrondheim(strings.NewReader(rows.String())); err != nil || syn.Skipped() != 3 || syn.Shared() != 1 || len(syn.Sessions("u1")) != MinUserSessions {
		t.Errorf("synthetic rows: %v", err)
	}
	// The first row: 21.12.2018 10:20 to 10:23, 0,3 kWh.
	first := d.Sessions("AdO3-4")[0]
	if first.StartMinute != 10*60+20 || first.Duration != 3*time.Minute || first.KWh != 0.3 {
		t.Errorf("AdO3-4's first session %+v", first)
	}
	hdr := "session_ID;Garage_ID;User_ID;User_type;Shared_ID;Start_plugin;Start_plugin_hour;End_plugout;End_plugout_hour;El_kWh;Duration_hours;month_plugin;weekdays_plugin\n"
	for _, bad := range []string{
		"",
		"a;b;c\n",
		hdr + "1;G;U;Private;NA;21.12.2018 10:20;10;21.12.2018 10:23;10;0.3;0,05;Dec;Friday\n",
		hdr + "1;G;U;Private;NA;2018-12-21 10:20;10;21.12.2018 10:23;10;0,3;0,05;Dec;Friday\n",
		hdr + "1;G;U;Private;NA;21.12.2018 10:20;10;21.12.2018 10:23;10;0,3\n",
		hdr + "1;G;U;Private;NA;21.12.2018 10:20;10;21.12.2018 10:23;10;lots;0,05;Dec;Friday\n",
	} {
		if _, err := ParseTrondheim(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestEVHabitPlans: sessions never overlap, keep the user's plug-in
// times and durations, and are the same for the same seed.
func TestEVHabitPlans(t *testing.T) {
	h, err := newEVHabit(&EVHabits{User: "AdO3-4"}, "x", "300001", 5)
	if err != nil {
		t.Fatal(err)
	}
	starts := map[int]bool{}
	for _, s := range h.sessions {
		starts[s.StartMinute] = true
	}
	prev := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := h.plan(1, prev, true, false)
	for n := 2; n < 200; n++ {
		if p.arrive.Before(prev) || !p.depart.After(p.arrive) {
			t.Fatalf("session %d %+v overlaps the previous departure %v", n, p, prev)
		}
		if !starts[p.arrive.Hour()*60+p.arrive.Minute()] {
			t.Fatalf("session %d plugs in at %v, which the user never did", n, p.arrive)
		}
		if again := h.plan(n-1, prev, n == 2, false); again != p {
			t.Fatalf("session %d drawn twice differs", n)
		}
		prev = p.depart
		p = h.plan(n, prev, false, false)
	}
	if _, err := newEVHabit(&EVHabits{User: "nobody"}, "GoE[0].Habits", "1", 1); err == nil || !strings.Contains(err.Error(), "GoE[0].Habits.User") {
		t.Errorf("unknown user: %v", err)
	}
}

func TestAusgridProfile(t *testing.T) {
	p, err := DefaultHouseholdProfile()
	if err != nil {
		t.Fatal(err)
	}
	if p.Days() != 366 || math.Abs(p.AnnualKWh()-5938.37) > 0.1 {
		t.Errorf("%d days, %.2f kWh", p.Days(), p.AnnualKWh())
	}
	// Scaled to 4000 kWh, a 365-day profile year sums to 4000 kWh less
	// the one data day it skips (within 1 %).
	sum := 0.0
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for tt := start; tt.Year() == 2025; tt = tt.Add(30 * time.Minute) {
		sum += p.Power(tt, 4000) / 2 / 1000
	}
	if math.Abs(sum-4000) > 40 {
		t.Errorf("a profile year at 4000 kWh/yr sums to %.1f kWh", sum)
	}
	// 1 January 00:00 reads the data's first slot (2011-07-01, Sydney's
	// winter); 1 July reads late December (Sydney's summer).
	if got, want := p.Power(start, p.AnnualKWh()), p.kW[0]*1000; math.Abs(got-want) > 1e-9 {
		t.Errorf("1 January 00:00: %v W, want the first slot's %v W", got, want)
	}
	if got, want := p.Power(time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), p.AnnualKWh()), p.kW[181*SlotsPerDay]*1000; math.Abs(got-want) > 1e-9 {
		t.Errorf("1 July: %v W, want data day 181's %v W", got, want)
	}
	for _, bad := range []string{
		"",
		",XX,GG\n",
		",GC,GG\n2011-07-01 00:30:00,1,0\n",
		",GC,GG\n2011-07-01 00:00:00,1,0\n2011-07-01 01:00:00,1,0\n",
		",GC,GG\n2011-07-01 00:00:00,-1,0\n",
		",GC,GG\n2011-07-01 00:00:00,1,0\n",
	} {
		if _, err := ParseAusgrid(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestHouseProfiles: a house on the Ausgrid profile, shifted or not, uses
// its yearly energy; the shift moves its load in time.
func TestHouseProfiles(t *testing.T) {
	t0 := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	mk := func(shift time.Duration) *Sim {
		s, _ := newSim(t, t0, Config{ShellyMeters: []ShellyMeterConfig{{MAC: "02a1b3000001"}}, HouseProfile: HouseAusgrid,
			HouseAnnualKWh: 3650, HouseShift: shift, Seed: 2})
		return s
	}
	a, b := mk(0), mk(3*time.Hour)
	var ea, eb float64
	var loadA, loadB []float64
	for now := t0; now.Before(t0.Add(7 * 24 * time.Hour)); now = now.Add(10 * time.Minute) {
		a.Step(now)
		b.Step(now)
		loadA, loadB = append(loadA, a.house.loadW), append(loadB, b.house.loadW)
		ea += a.house.loadW / 6
		eb += b.house.loadW / 6
	}
	// 3650 kWh a year is 10 kWh a day on average; a winter week of a real
	// household is near that, not orders of magnitude off.
	for _, e := range []float64{ea, eb} {
		if e < 40_000 || e > 140_000 {
			t.Errorf("a week uses %.0f Wh", e)
		}
	}
	// Shifted by 3 h: b's load at t is a's at t + 3 h, noise aside.
	corr := 0
	for i := range len(loadA) - 18 {
		if math.Abs(loadB[i]-loadA[i+18]) <= 0.3*math.Max(loadA[i+18], 100) {
			corr++
		}
	}
	if corr < len(loadA)*8/10 {
		t.Errorf("shifted load matches the original 3 h later in only %d of %d steps", corr, len(loadA)-18)
	}
	if _, err := New(Config{ShellyMeters: []ShellyMeterConfig{{MAC: "02a1b3000001"}}, HouseProfile: "h0"}); err == nil || !strings.Contains(err.Error(), "Config.HouseProfile") {
		t.Errorf("bad house profile: %v", err)
	}
}

func TestEmbeddedFilesAreCopies(t *testing.T) {
	// SOURCES.md gives the SHA-256 of every embedded file: nobody
	// converted line endings, trimmed or edited one without saying so.
	sources, err := os.ReadFile("profiles/SOURCES.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, line := range strings.Split(string(sources), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || strings.Contains(name, "/") {
			continue // not a hash line, or one of the shared originals
		}
		listed++
		data, err := os.ReadFile(filepath.Join("profiles", name))
		if err != nil {
			t.Errorf("SOURCES.md lists %s: %v", name, err)
			continue
		}
		if got := fmt.Sprintf("%x", sha256.Sum256(data)); got != sum {
			t.Errorf("profiles/%s: SHA-256 %s, SOURCES.md says %s", name, got, sum)
		}
	}
	entries, err := os.ReadDir("profiles")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(entries) - 1; listed != want { // all but SOURCES.md
		t.Errorf("SOURCES.md gives the SHA-256 of %d files, profiles/ holds %d data files", listed, want)
	}
	for name, data := range map[string][]byte{"midc": midcTXT, "ausgrid": ausgridCSV, "trondheim": trondheimCSV} {
		if len(data) < 50_000 {
			t.Errorf("%s: %d bytes", name, len(data))
		}
	}
	if !bytes.Contains(trondheimCSV, []byte("\r\n")) {
		t.Error("trondheim: the original's CRLF line ends are gone")
	}
}
