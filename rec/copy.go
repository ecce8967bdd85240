package rec

import (
	"cmp"
	"math"
	"slices"

	"github.com/gridmint/gridmint"
)

// CopyRules find devices that report another device's values: the same
// five-minute profile, hour after hour.
//
// Profiles are compared per zone and hour, normalised by each device's
// nameplate (the energy of each sub-interval over nameplate × 5 min), so
// that a copy must match in shape and in scale. Two profiles match when
// every sub-interval agrees within RelTol of the larger value plus AbsTol,
// or when their raw values (mWh) do: a device that reports another's
// watts under its own, different nameplate copies the values, not the
// capacity factors (the raw tolerance's absolute part is AbsTol of the
// smaller nameplate × 5 min). A device pair that matches in
// Hours informative hours, with no informative hour between them in which
// they differ and no more than MaxSpan hours from the first to the last,
// is copied: from that hour on both devices' claims are refused until the
// pair is resolved (Checker.Resolve).
//
// Counters read to the Wh (kWh with three decimals, as OpenDTU and
// AhoyDTU publish them) blur a small inverter's five-minute energies by a
// counter step or so: a copy of a 500 W inverter's 10 Wh sub-intervals
// differs from the original by up to 10 %, far over RelTol. So two
// profiles also match when the hour holds at least StepMinWh on both,
// their hourly energies differ by at most StepTol, and every sub-interval
// by at most StepTol plus RelTol of the larger: each is a difference of
// two interpolated counters, each off by under a step, and the hour's sum
// as well. Honest neighbours under their own clouds differ by more than
// that in some sub-interval of every rough hour; StepMinWh keeps the
// dim hours, where whole steps are all there is, out.
//
// Only informative hours are compared: an hour carries a fingerprint when
// the device produced (hourly capacity factor at least MinCF), at least
// MinActive sub-intervals hold energy without being clipped at the
// nameplate (ClipCF), and the profile is rough: the sum of its absolute
// second differences is at least MinRoughness of its sum. A clear sky
// draws the same smooth curve on every roof and clipping the same flat
// line on every oversized array, so such hours prove nothing and are not
// looked at; clouds give every roof its own profile. Honest neighbours
// under the same clouds differ by more than 1 % in their five-minute
// energies once they are a few hundred metres apart, differ in size or
// orientation, or their panels differ by more than 1 %; two identical
// inverters on one roof can match, and must be resolved (or metered as
// one device).
//
// Candidate pairs are found without comparing every pair: profiles are
// sorted by hourly capacity factor (and again by hourly energy) and each
// is compared only with those whose capacity factor (energy) is within
// the tolerance.
type CopyRules struct {
	RelTol, AbsTol float64
	MinCF          float64
	MinActive      int
	ClipCF         float64
	MinRoughness   float64
	Hours          int
	MaxSpan        gridmint.Hour
	// StepTol (mWh) and StepMinWh: the counter-step match above.
	StepTol   gridmint.MWh
	StepMinWh gridmint.Wh
}

// DefaultCopyRules are the network's copy rules.
func DefaultCopyRules() CopyRules {
	return CopyRules{RelTol: 0.01, AbsTol: 0.001, MinCF: 0.02, MinActive: 6, ClipCF: 0.95, MinRoughness: 0.05, Hours: 3, MaxSpan: 6,
		StepTol: 1500, StepMinWh: 120}
}

// fingerprint is one informative claim's profile, normalised.
type fingerprint struct {
	claim ClaimID
	cf    float64 // hourly capacity factor: mean of x
	x     [gridmint.SubIntervals]float64
	raw   gridmint.Profile
	sum   float64 // the hour's energy, mWh
	full  float64 // nameplate × 5 min, mWh
}

// fingerprintOf returns the claim's fingerprint, or false when its hour
// is not informative.
func (cr CopyRules) fingerprintOf(c gridmint.Claim) (fingerprint, bool) {
	if c.Quality == gridmint.QualityMissing || !(c.Nameplate > 0) {
		return fingerprint{}, false
	}
	full := float64(c.Nameplate) * 1000 / gridmint.SubIntervals // mWh at nameplate for 5 min
	f := fingerprint{claim: ID(c), raw: c.Profile, sum: float64(c.Profile.Sum()), full: full}
	var sum float64
	active := 0
	for k, e := range c.Profile {
		v := float64(e) / full
		f.x[k] = v
		sum += v
		if v > cr.AbsTol && v < cr.ClipCF {
			active++
		}
	}
	f.cf = sum / gridmint.SubIntervals
	if f.cf < cr.MinCF || active < cr.MinActive {
		return fingerprint{}, false
	}
	var rough float64
	for k := 1; k+1 < gridmint.SubIntervals; k++ {
		rough += math.Abs(f.x[k+1] - 2*f.x[k] + f.x[k-1])
	}
	if rough < cr.MinRoughness*sum {
		return fingerprint{}, false
	}
	return f, true
}

// matches reports whether two fingerprints are the same profile, in
// capacity factors.
func (cr CopyRules) matches(a, b *fingerprint) bool {
	if a.raw == b.raw {
		return true
	}
	for k := range a.x {
		if math.Abs(a.x[k]-b.x[k]) > cr.RelTol*math.Max(a.x[k], b.x[k])+cr.AbsTol {
			return false
		}
	}
	return true
}

// matchesRaw reports whether two fingerprints are the same values, in
// mWh.
func (cr CopyRules) matchesRaw(a, b *fingerprint) bool {
	abs := cr.AbsTol * math.Min(a.full, b.full)
	for k := range a.raw {
		x, y := float64(a.raw[k]), float64(b.raw[k])
		if math.Abs(x-y) > cr.RelTol*math.Max(x, y)+abs {
			return false
		}
	}
	return true
}

// matchesSteps reports whether two fingerprints are the same values read
// through Wh counters (see CopyRules).
func (cr CopyRules) matchesSteps(a, b *fingerprint) bool {
	tol := float64(cr.StepTol)
	if cr.StepTol <= 0 || min(a.sum, b.sum) < float64(cr.StepMinWh.MWh()) || math.Abs(a.sum-b.sum) > tol {
		return false
	}
	for k := range a.raw {
		x, y := float64(a.raw[k]), float64(b.raw[k])
		if math.Abs(x-y) > cr.RelTol*math.Max(x, y)+tol {
			return false
		}
	}
	return true
}

// pairKey orders a device pair.
type pairKey struct{ a, b gridmint.DeviceKey }

func newPair(x, y gridmint.DeviceKey) pairKey {
	if cmpKey(x, y) > 0 {
		x, y = y, x
	}
	return pairKey{x, y}
}

func cmpKey(x, y gridmint.DeviceKey) int {
	for i := range x {
		if c := cmp.Compare(x[i], y[i]); c != 0 {
			return c
		}
	}
	return 0
}

// matchingPairs returns the device pairs of fps whose profiles match, at
// least one of them with isNew set. fps is sorted in place.
func (cr CopyRules) matchingPairs(fps []fingerprint, isNew func(ClaimID) bool) []pairKey {
	slices.SortFunc(fps, func(a, b fingerprint) int {
		if c := cmp.Compare(a.cf, b.cf); c != 0 {
			return c
		}
		return cmpKey(a.claim.Device, b.claim.Device)
	})
	seen := map[pairKey]bool{}
	var out []pairKey
	add := func(a, b *fingerprint) {
		if a.claim.Device == b.claim.Device || !(isNew(a.claim) || isNew(b.claim)) {
			return
		}
		p := newPair(a.claim.Device, b.claim.Device)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	// Near-identical profiles: the capacity factors (means) differ by at
	// most the tolerance of the means.
	for i := range fps {
		a := &fps[i]
		for j := i + 1; j < len(fps); j++ {
			b := &fps[j]
			if b.cf-a.cf > cr.RelTol*(a.cf+b.cf)+cr.AbsTol {
				break
			}
			if cr.matches(a, b) {
				add(a, b)
			}
		}
	}
	// Near-identical raw values under different nameplates: the hourly
	// energies differ by at most the tolerance of the sums.
	bySum := make([]*fingerprint, len(fps))
	for i := range fps {
		bySum[i] = &fps[i]
	}
	slices.SortFunc(bySum, func(a, b *fingerprint) int {
		if c := cmp.Compare(a.sum, b.sum); c != 0 {
			return c
		}
		return cmpKey(a.claim.Device, b.claim.Device)
	})
	for i, a := range bySum {
		for _, b := range bySum[i+1:] {
			if b.sum-a.sum > max(cr.RelTol*(a.sum+b.sum)+cr.AbsTol*min(a.full, b.full)*gridmint.SubIntervals, float64(cr.StepTol)) {
				break
			}
			if cr.matchesRaw(a, b) || cr.matchesSteps(a, b) {
				add(a, b)
			}
		}
	}
	return out
}

// OutlierRules flag a device whose capacity factor in an hour (energy
// over nameplate × 1 h) is far from its zone's: further from the zone's
// median than MADs scaled median absolute deviations (1.4826 × MAD
// estimates a standard deviation) and than MinDiff, among at least
// MinDevices claims of the zone and hour. It is a flag, not a refusal:
// roofs facing east and west differ honestly, and a broken inverter is
// an outlier too.
//
// Over a day, though, orientations and clouds average out: a device's
// energy over Window hours, against what its zone's median capacity
// factor of each hour would give its nameplate, stays near 1 (0.7 to
// 1.12 for every honest inverter of internal/recsim's day, east and west
// roofs alike, once the afternoon is in). A device that reports more than
// MaxRatio times that, once the zone's medians add up to MinExpected
// hours at nameplate, reports more than it makes (an inverter that
// multiplies its output by 1.6 stays under its nameplate on most days and
// under every physical bound): its claim is refused (reason
// capacity_factor_outlier, refusing) and the device suspended as for an
// impossible claim. Only hours whose median has at least MinDevices
// claims and reaches MinMedianCF count, only the device's claims that no
// other rule refused, and the comparison is within the device's zone and
// whole degree of latitude and longitude (CoarseLocation / 10), so that a
// sunny valley is not compared with a cloudy one a zone away.
type OutlierRules struct {
	MinDevices int
	MADs       float64
	MinDiff    float64
	// The day rule.
	MaxRatio    float64
	MinExpected float64 // hours at nameplate
	MinMedianCF float64
	Window      gridmint.Hour
}

// DefaultOutlierRules are the network's outlier rules.
func DefaultOutlierRules() OutlierRules {
	return OutlierRules{MinDevices: 10, MADs: 3, MinDiff: 0.25, MaxRatio: 1.3, MinExpected: 1.5, MinMedianCF: 0.05, Window: 24}
}

// cellOf is the whole-degree cell of a location the day rule compares
// within.
func cellOf(l gridmint.CoarseLocation) [2]int16 {
	return [2]int16{floorDiv(l.LatTenths, 10), floorDiv(l.LonTenths, 10)}
}

func floorDiv(a, b int16) int16 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// capacityFactor is the claim's hourly capacity factor.
func capacityFactor(c gridmint.Claim) float64 {
	return float64(c.Energy()) / (float64(c.Nameplate) * 1000)
}

// median of xs, which it sorts.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
