package rec

import (
	"slices"
	"testing"

	"github.com/gridmint/gridmint"
)

// whProfile is a small inverter's profile read through a Wh counter:
// whole Wh per sub-interval.
func whProfile(wh ...int) gridmint.Profile {
	var p gridmint.Profile
	for k := range p {
		p[k] = gridmint.MWh(wh[k%len(wh)]) * 1000
	}
	return p
}

// TestCopyStepMatch: a 500 W inverter's five-minute energies (10-40 Wh)
// read to the Wh differ between a copy and its original by a counter
// step, 3-10 %: over RelTol, within StepTol. Values from
// internal/recsim's day (home 27 copying home 26, 10:00 MST).
func TestCopyStepMatch(t *testing.T) {
	cr := DefaultCopyRules()
	orig := whProfile(11, 12, 12, 12, 15, 15, 17, 18, 17, 16, 16, 14)
	for _, tc := range []struct {
		name  string
		other gridmint.Profile
		want  bool
	}{
		{"the copy, steps apart (recsim home 27 of 26)", gridmint.Profile{10_000, 13_000, 12_500, 12_500, 14_000, 16_000, 17_000, 17_000, 17_000, 16_000, 17_000, 13_000}, true},
		{"identical", orig, true},
		{"one sub-interval 2.5 Wh off", func() gridmint.Profile { p := orig; p[3] += 2500; p[4] -= 2500; return p }(), false},
		{"hourly energy 2 Wh apart", func() gridmint.Profile { p := orig; p[5] += 1000; p[9] += 1000; return p }(), false},
		{"another cloud pattern", whProfile(14, 12, 11, 16, 15, 12, 18, 17, 13, 16, 16, 15), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := mkClaim(1, afternoon, 500, golden, gridmint.QualityOK, orig)
			b := mkClaim(2, afternoon, 500, golden, gridmint.QualityOK, tc.other)
			fa, oka := cr.fingerprintOf(a)
			fb, okb := cr.fingerprintOf(b)
			if !oka || !okb {
				t.Fatalf("not informative: %v %v", oka, okb)
			}
			if got := cr.matchesSteps(&fa, &fb) || cr.matchesRaw(&fa, &fb); got != tc.want {
				t.Errorf("match %v, want %v", got, tc.want)
			}
			if got := len(cr.matchingPairs([]fingerprint{fa, fb}, func(ClaimID) bool { return true })) == 1; got != tc.want {
				t.Errorf("matchingPairs found the pair: %v, want %v", got, tc.want)
			}
		})
	}
	// Dim hours (under StepMinWh on either side) prove nothing at this
	// resolution.
	dim := whProfile(3, 4, 5, 4, 3, 5, 6, 4, 3, 5, 4, 6)
	fa, _ := cr.fingerprintOf(mkClaim(1, afternoon, 500, golden, gridmint.QualityOK, dim))
	dim[2] += 1000
	dim[3] -= 1000
	fb, _ := cr.fingerprintOf(mkClaim(2, afternoon, 500, golden, gridmint.QualityOK, dim))
	if cr.matchesSteps(&fa, &fb) {
		t.Error("dim hours matched by counter steps")
	}
}

// TestCopyRefusesRememberedHours: once a pair is found copied, every
// claim of both devices the Checker remembers is refused (Later), the
// dim hour before the run too, and their later claims are refused.
func TestCopyRefusesRememberedHours(t *testing.T) {
	h := afternoon - 1
	ps := []gridmint.Profile{
		whProfile(1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7), // dim: not informative
		whProfile(11, 12, 12, 12, 15, 15, 17, 18, 17, 16, 16, 14),
		whProfile(19, 23, 20, 19, 16, 18, 18, 28, 37, 38, 41, 30),
		whProfile(27, 28, 33, 39, 39, 36, 30, 28, 27, 26, 32, 38),
		whProfile(25, 25, 27, 28, 32, 33, 32, 33, 35, 33, 33, 29),
	}
	copied := slices.Clone(ps)
	for i := range copied {
		copied[i][i%12] += 1000 // a counter step here and there
		copied[i][(i+5)%12] -= 1000
	}
	victim := chainOf(1, h, 500, ps...)
	copier := chainOf(2, h, 500, copied...)
	ck := NewChecker(DefaultRules(), 0)
	refused := map[ClaimID]bool{}
	for i := range ps {
		rep := ck.Check([]gridmint.Claim{victim[i], copier[i]}, later)
		for _, v := range rep.Verdicts {
			if v.Refused {
				refused[v.Claim] = true
			}
		}
		for _, f := range rep.Later {
			if f.Reason == gridmint.ClaimCopiedProfile {
				refused[f.Claim] = true
			}
		}
	}
	for i := range ps {
		for _, c := range []gridmint.Claim{victim[i], copier[i]} {
			if !refused[ID(c)] {
				t.Errorf("%s not refused", ID(c))
			}
		}
	}
}
