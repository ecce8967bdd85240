package recsim

import (
	"bytes"
	"math"
	"os"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
	"github.com/gridmint/gridmint/rec"
)

// TestConfusionMatrix runs a smaller fleet than the benchmark (24 homes,
// a quarter of them lying, firmware-sim's default faults otherwise) over a
// day through the node's ingest and rec's rules, and checks what the rules
// achieve: at least 99 % of honest Wh certified, not counting the honest
// devices a copier copies (the copy rule refuses both until resolved: in
// 24 homes one such device is 5 % of the honest Wh), by nodes that attest
// at once and by nodes that hold attestations for the copy rule's span;
// at least 99 % of the night liars' Wh refused either way; and at least
// 99 % of all dishonest Wh refused by nodes that hold (at once, a
// copier's and an over-rater's hours before the finding are attested
// already). Skipped with -short and under the race detector: it simulates
// 24 home-days (about 40 s of CPU, ten times that with -race; Run is
// single-goroutine but for Fleet.Step, which the firmware-sim tests run
// with -race).
func TestConfusionMatrix(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("simulates a day of 24 homes: not with -short or -race")
	}
	fc := firmwaresim.FaultPresets["default"]
	fc.Dishonest = 0.25
	r, err := Recorded(Config{Homes: 24, Faults: &fc}, *recordings)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Check(rec.DefaultRules())
	var buf bytes.Buffer
	res.Print(&buf, 0)
	res.Print(&buf, hold)
	t.Log("\n" + buf.String())
	if res.Devices[firmwaresim.DishonestNight] == 0 || res.Devices[firmwaresim.DishonestCopy] == 0 || res.Devices[firmwaresim.DishonestOverrate] == 0 {
		t.Fatalf("devices %v: the seed draws too few liars to measure", res.Devices)
	}
	for _, h := range []gridmint.Hour{0, hold} {
		m := res.Matrix(h)
		if s := m.HonestCertifiedShareExSources(); !(s >= 0.99) {
			t.Errorf("hold %d h: %.2f %% of honest Wh certified (without copied devices), want ≥ 99 %%", h, 100*s)
		}
		night := m.ByClass[firmwaresim.DishonestNight]
		if s := float64(night[1].Wh) / float64(night[0].Wh+night[1].Wh); !(s >= 0.99) {
			t.Errorf("hold %d h: %.2f %% of the night liars' Wh refused, want ≥ 99 %%", h, 100*s)
		}
	}
	if s := res.Matrix(hold).DishonestRefusedShare(); !(s >= 0.99) {
		t.Errorf("hold %d h: %.2f %% of dishonest Wh refused, want ≥ 99 %%", hold, 100*s)
	}
}

// TestDiagnose prints every honest claim refused or above its truth, with
// what the node's ingest made of its device's messages: set
// RECSIM_DIAGNOSE=1 to run it.
func TestDiagnose(t *testing.T) {
	if os.Getenv("RECSIM_DIAGNOSE") == "" {
		t.Skip("set RECSIM_DIAGNOSE=1")
	}
	res, err := Run(Config{Keep: true})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res.Print(&buf, 0)
	t.Log("\n" + buf.String())
	seen := map[gridmint.DeviceKey]bool{}
	for _, o := range res.Outcomes {
		if o.Class != firmwaresim.Honest || !(o.Refused || o.Lie()) {
			continue
		}
		t.Logf("home %d hour %s: %d Wh, produced %.1f, nameplate %v, quality %s, %d readings, refused %v %v, profile %v",
			o.Home, o.Claim.Hour, o.Claim.Wh, o.ProducedWh, o.Claim.Nameplate, o.Claim.Quality, o.Claim.Readings, o.Refused, o.Reasons, o.Claim.Profile)
		if seen[o.Claim.Device] {
			continue
		}
		seen[o.Claim.Device] = true
		lg := res.Logs[o.Claim.Device]
		for _, r := range lg.Rejections {
			t.Logf("   rejected %s %s %s %q", r.Time.Format(time.TimeOnly), r.Reason, r.Detail, r.Raw)
		}
		var prev gridmint.Reading
		for _, r := range lg.Readings {
			if r.Time.Sub(prev.Time) > 2*time.Minute || r.Energy-prev.Energy > 20_000 || r.Quality != gridmint.QualityOK {
				t.Logf("   reading %s %v (previous %s %v) %v W, %s", r.Time.Format(time.TimeOnly), r.Energy, prev.Time.Format(time.TimeOnly), prev.Energy, r.Power, r.Quality)
			}
			prev = r
		}
	}
}

// TestRunMidday runs three homes for three hours around noon, with no
// faults: every inverter's hours become claims, every claim is certified
// and each says what its inverter produced (to the Wh and the carry).
func TestRunMidday(t *testing.T) {
	none := firmwaresim.FaultConfig{}
	res, err := Run(Config{Homes: 3, Hours: 3, Start: DefaultStart.Add(10 * time.Hour), Faults: &none})
	if err != nil {
		t.Fatal(err)
	}
	if res.Devices[firmwaresim.Honest] != 3 || len(res.Outcomes) != 9 || res.BuilderErrors > 0 {
		t.Fatalf("devices %v, %d claims, %d builder errors; want 3 honest devices, 9 claims", res.Devices, len(res.Outcomes), res.BuilderErrors)
	}
	for _, o := range res.Outcomes {
		if o.Refused || o.LaterRefused {
			t.Errorf("home %d hour %s refused: %v", o.Home, o.Claim.Hour, o.Reasons)
		}
		if d := float64(o.Claim.Wh) - o.ProducedWh; d > 2 || d < -2 || o.Claim.Wh == 0 {
			t.Errorf("home %d hour %s: %d Wh claimed, %.1f produced", o.Home, o.Claim.Hour, o.Claim.Wh, o.ProducedWh)
		}
	}
	if m := res.Matrix(0); m.HonestCertifiedShare() != 1 || !math.IsNaN(m.DishonestRefusedShare()) {
		t.Errorf("matrix %+v", m)
	}
}
