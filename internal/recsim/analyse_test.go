package recsim

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
	"github.com/gridmint/gridmint/rec"
)

// TestAnalyse prints, for a recording (RECSIM_RECORDING=path, a file
// that -recsim.recordings keeps), every dishonest claim (every claim with
// RECSIM_HONEST=1): its capacity factor against its zone's median and
// MAD in the hour, whether nodes attesting at once certify it, and the
// reasons. A diagnosis tool: where the missed Wh come from.
func TestAnalyse(t *testing.T) {
	path := os.Getenv("RECSIM_RECORDING")
	if path == "" {
		t.Skip("set RECSIM_RECORDING")
	}
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Check(rec.DefaultRules())
	cfs := map[gridmint.Hour][]float64{}
	for _, o := range res.Outcomes {
		if o.Claim.Quality != gridmint.QualityMissing {
			cfs[o.Claim.Hour] = append(cfs[o.Claim.Hour], float64(o.Claim.Energy())/float64(o.Claim.Nameplate)/1000)
		}
	}
	med := map[gridmint.Hour][2]float64{}
	for h, xs := range cfs {
		xs = slices.Clone(xs)
		m := median(xs)
		for i := range xs {
			xs[i] = abs(xs[i] - m)
		}
		med[h] = [2]float64{m, median(xs)}
	}
	for _, o := range res.Outcomes {
		if o.Class == firmwaresim.Honest && os.Getenv("RECSIM_HONEST") == "" || o.Claim.Wh == 0 {
			continue
		}
		cf := float64(o.Claim.Energy()) / float64(o.Claim.Nameplate) / 1000
		m := med[o.Claim.Hour]
		fmt.Printf("%-8s home %3d %s np %5.0f wh %5d prod %7.1f q %-9s cf %.3f med %.3f mad %.3f z %6.2f cert %v reasons %v flags %v later %v\n",
			o.Class, o.Home, o.Claim.Hour.Start().In(SiteZone).Format("15:04"), float64(o.Claim.Nameplate), o.Claim.Wh, o.ProducedWh, o.Claim.Quality,
			cf, m[0], m[1], (cf-m[0])/(1.4826*m[1]), o.Certified(0), o.Reasons, o.Flags, o.LaterReason)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// TestAnalyseRunning prints, for a recording (RECSIM_RECORDING), each
// device's running ratio after each hour from the third: its capacity
// factors over the zone's medians, summed over the hours whose median is
// at least 0.05, counting claims not refused; what the day rule
// (rec.OutlierRules) looks at.
func TestAnalyseRunning(t *testing.T) {
	path := os.Getenv("RECSIM_RECORDING")
	if path == "" {
		t.Skip("set RECSIM_RECORDING")
	}
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	res := r.Check(rec.DefaultRules())
	cfs := map[gridmint.Hour][]float64{}
	for _, o := range res.Outcomes {
		if o.Claim.Quality != gridmint.QualityMissing {
			cfs[o.Claim.Hour] = append(cfs[o.Claim.Hour], float64(o.Claim.Energy())/float64(o.Claim.Nameplate)/1000)
		}
	}
	med := map[gridmint.Hour]float64{}
	for h, xs := range cfs {
		med[h] = median(slices.Clone(xs))
	}
	type acc struct {
		e, exp float64
		n      int
		s      string
		maxr   float64
	}
	devs := map[gridmint.DeviceKey]*acc{}
	for _, o := range res.Outcomes { // hour order
		a := devs[o.Claim.Device]
		if a == nil {
			a = &acc{s: fmt.Sprintf("%-8s %3d", o.Class, o.Home)}
			devs[o.Claim.Device] = a
		}
		m := med[o.Claim.Hour]
		if m < 0.05 || o.Claim.Quality == gridmint.QualityMissing || o.Refused {
			continue
		}
		a.e += float64(o.Claim.Energy()) / float64(o.Claim.Nameplate) / 1000
		a.exp += m
		a.n++
		if a.n >= 3 {
			a.maxr = max(a.maxr, a.e/a.exp)
			a.s += fmt.Sprintf(" %s:%.2f", o.Claim.Hour.Start().In(SiteZone).Format("15"), a.e/a.exp)
		}
	}
	var rows []string
	for _, a := range devs {
		rows = append(rows, fmt.Sprintf("%.3f %s", a.maxr, a.s))
	}
	slices.Sort(rows)
	for _, r := range rows {
		fmt.Println(r)
	}
}
