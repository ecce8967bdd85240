package rec

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gridmint/gridmint"
)

// TestDayRatioRule: over a day, a device whose energy is more than
// OutlierRules.MaxRatio times what its cell's median capacity factors
// give its nameplate is refused (capacity_factor_outlier) once the
// medians add up to MinExpected hours, and suspended: its earlier hours
// come back in Later. Honest roofs facing east or west, high at one end
// of the day and low at the other, are not; nor is a device with no
// MinDevices neighbours in its whole-degree cell, nor an hour another
// rule refused (an estimated hour's glitch).
func TestDayRatioRule(t *testing.T) {
	base := []float64{0.30, 0.45, 0.55, 0.60, 0.55, 0.45, 0.30} // zone's capacity factors, 09:00-15:00 MST in June
	h0 := afternoon - 3
	type dev struct {
		name    string
		factor  func(i int) float64
		loc     gridmint.CoarseLocation
		glitch  int  // hour index of an estimated hour at 3 × the nameplate (-1: none)
		refused bool // want refused (from the hour the medians reach MinExpected)
	}
	far := gridmint.CoarseLocation{LatTenths: 397, LonTenths: -1072} // two degrees west
	devs := []dev{
		{"over-rater 1.6 ×", func(int) float64 { return 1.6 * 0.95 }, golden, -1, true},
		{"over-rater 1.35 ×", func(int) float64 { return 1.35 }, golden, -1, true},
		{"east roof", func(i int) float64 { return []float64{1.3, 1.3, 1.3, 1.0, 0.7, 0.7, 0.7}[i] }, golden, -1, false},
		{"west roof", func(i int) float64 { return []float64{0.7, 0.7, 0.7, 1.0, 1.3, 1.3, 1.3}[i] }, golden, -1, false},
		{"glitch hour", func(int) float64 { return 1 }, golden, 2, false},
		{"1.6 × alone in its cell", func(int) float64 { return 1.6 }, far, -1, false},
	}
	for k := range 10 { // honest neighbours, ±10 %
		f := 0.9 + 0.02*float64(k)
		devs = append(devs, dev{fmt.Sprintf("honest %d", k), func(int) float64 { return f }, golden, -1, false})
	}
	ck := NewChecker(DefaultRules(), 0)
	refusedAt := map[byte][]int{}
	laterFs := map[byte][]gridmint.Hour{}
	prev := make([]gridmint.Claim, len(devs))
	for i, b := range base {
		var claims []gridmint.Claim
		for d, dv := range devs {
			cf := min(b*dv.factor(i), 1)
			q := gridmint.QualityOK
			if i == dv.glitch {
				cf, q = 3, gridmint.QualityEstimated
			}
			c := mkClaim(byte(d+1), h0+gridmint.Hour(i), 1000, dv.loc, q, flat(gridmint.MWh(cf*1000*1000/12)))
			if i > 0 {
				c.CounterStart, c.CarryIn = prev[d].CounterEnd, prev[d].CarryOut()
				c.CounterEnd = c.CounterStart + c.Profile.Sum()
				c.Wh = gridmint.Wh((c.CarryIn + c.Energy()) / 1000)
			}
			prev[d] = c
			claims = append(claims, c)
		}
		rep := ck.Check(claims, later)
		for _, v := range rep.Verdicts {
			if slices.ContainsFunc(v.Findings, func(f Finding) bool { return f.Refuse && f.Reason == gridmint.ClaimCapacityOutlier }) {
				refusedAt[v.Claim.Device[0]] = append(refusedAt[v.Claim.Device[0]], i)
			}
		}
		for _, f := range rep.Later {
			if f.Reason == gridmint.ClaimCapacityOutlier {
				laterFs[f.Claim.Device[0]] = append(laterFs[f.Claim.Device[0]], f.Claim.Hour)
			}
		}
	}
	for d, dv := range devs {
		got := refusedAt[byte(d+1)]
		switch {
		case dv.refused && (len(got) == 0 || got[0] > 3 || len(laterFs[byte(d+1)]) != got[0]):
			t.Errorf("%s: refused in hours %v, earlier hours in Later %v; want refused by hour 3 (medians 1.9 h), the hours before in Later", dv.name, got, laterFs[byte(d+1)])
		case !dv.refused && len(got)+len(laterFs[byte(d+1)]) > 0:
			t.Errorf("%s: refused in hours %v, Later %v", dv.name, got, laterFs[byte(d+1)])
		}
	}
}
