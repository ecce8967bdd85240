package rec

import (
	"slices"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// chainOf makes device dev's claims for consecutive hours from h, one per
// profile, each continuing the previous one's counter and carry.
func chainOf(dev byte, h gridmint.Hour, nameplate gridmint.W, profiles ...gridmint.Profile) []gridmint.Claim {
	var out []gridmint.Claim
	counter, carry := gridmint.MWh(7_000_123), gridmint.MWh(0)
	for i, p := range profiles {
		c := mkClaim(dev, h+gridmint.Hour(i), nameplate, golden, gridmint.QualityOK, p)
		c.CounterStart, c.CarryIn = counter, carry
		c.CounterEnd = counter + p.Sum()
		c.Wh = gridmint.Wh((carry + c.Energy()) / 1000)
		counter, carry = c.CounterEnd, c.CarryOut()
		out = append(out, c)
	}
	return out
}

func findingReasons(v Verdict) []gridmint.ClaimReason {
	var out []gridmint.ClaimReason
	for _, f := range v.Findings {
		out = append(out, f.Reason)
	}
	return out
}

var afternoon = utcHour(2025, 6, 21, 18) // noon in Golden
var later = time.Date(2025, 6, 23, 0, 0, 0, 0, time.UTC)

func TestCheckerFollowsChains(t *testing.T) {
	cs := chainOf(1, afternoon, 5000, flat(100_100), flat(200_050), flat(150_000), flat(150_000))
	ck := NewChecker(DefaultRules(), 0)
	rep := ck.Check(cs[:2], later)
	for _, v := range rep.Verdicts {
		if v.Refused || len(v.Findings) > 0 {
			t.Fatalf("chained claim %s: %+v", v.Claim, v)
		}
	}

	gap := cs[2]
	gap.CounterStart += 5_000
	gap.CounterEnd += 5_000
	overlap := cs[2]
	overlap.CounterStart -= 1
	overlap.CounterEnd -= 1
	overlap.Profile[0]++ // keep it valid: the profile covers one more mWh
	overlap.CounterStart -= 1
	carry := cs[2]
	carry.CarryIn = (carry.CarryIn + 1) % 1000
	carry.Wh = gridmint.Wh((carry.CarryIn + carry.Energy()) / 1000)

	tests := []struct {
		name  string
		claim gridmint.Claim
		want  gridmint.ClaimReason
	}{
		{"counter jumps ahead", gap, gridmint.ClaimBrokenChain},
		{"counter reaches back into the previous claim", overlap, gridmint.ClaimBrokenChain},
		{"carry differs", carry, gridmint.ClaimBrokenChain},
		{"an earlier hour than the last claimed", chainOf(1, afternoon-5, 5000, flat(1))[0], gridmint.ClaimOverlappingHour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck := NewChecker(DefaultRules(), 0)
			ck.Check(cs[:2], later)
			v := ck.Check([]gridmint.Claim{tt.claim}, later).Verdicts[0]
			if !v.Refused || !slices.Contains(findingReasons(v), tt.want) {
				t.Errorf("verdict %+v, want refused for %s", v, tt.want)
			}
		})
	}

	// A gap re-anchors the chain: the next claim continues from the
	// refused one and passes. An overlap does not.
	ck = NewChecker(DefaultRules(), 0)
	ck.Check(cs[:2], later)
	ck.Check([]gridmint.Claim{gap}, later)
	next := cs[3]
	next.CounterStart, next.CounterEnd, next.CarryIn = gap.CounterEnd, gap.CounterEnd+next.Energy(), gap.CarryOut()
	next.Wh = gridmint.Wh((next.CarryIn + next.Energy()) / 1000)
	if v := ck.Check([]gridmint.Claim{next}, later).Verdicts[0]; v.Refused {
		t.Errorf("claim after a re-anchoring gap: %+v", v)
	}
	ck = NewChecker(DefaultRules(), 0)
	ck.Check(cs[:2], later)
	ck.Check([]gridmint.Claim{overlap}, later)
	after := cs[3]
	after.CounterStart, after.CounterEnd, after.CarryIn = cs[1].CounterEnd, cs[1].CounterEnd+after.Energy(), cs[1].CarryOut()
	after.Wh = gridmint.Wh((after.CarryIn + after.Energy()) / 1000)
	if v := ck.Check([]gridmint.Claim{after}, later).Verdicts[0]; v.Refused {
		t.Errorf("a claim continuing the chain after an overlapping one: %+v; the chain must still end where it did", v)
	}
}

func TestCheckerOrdersClaimsByHour(t *testing.T) {
	cs := chainOf(1, afternoon, 5000, flat(100_000), flat(100_000), flat(100_000))
	rev := []gridmint.Claim{cs[2], cs[0], cs[1]}
	rep := NewChecker(DefaultRules(), 0).Check(rev, later)
	for i, v := range rep.Verdicts {
		if v.Refused || v.Claim != ID(rev[i]) {
			t.Errorf("verdict %d: %+v; want %s accepted, verdicts in the order given", i, v, ID(rev[i]))
		}
	}
}

// TestEquivocation: a node claims an hour twice with different Wh: both
// claims are refused, the pair is kept as evidence, the first claim's
// refusal reaches back when it was checked in an earlier call, and a
// repeat of the same claim is only a duplicate.
func TestEquivocation(t *testing.T) {
	cs := chainOf(1, afternoon, 5000, flat(100_000), flat(100_000))
	twin := cs[1]
	twin.Profile[5] += 2_000
	twin.CounterEnd += 2_000
	twin.Wh = gridmint.Wh((twin.CarryIn + twin.Energy()) / 1000)

	t.Run("across calls", func(t *testing.T) {
		ck := NewChecker(DefaultRules(), 0)
		if rep := ck.Check(cs, later); rep.Verdicts[1].Refused {
			t.Fatalf("first claim refused: %+v", rep.Verdicts[1])
		}
		rep := ck.Check([]gridmint.Claim{twin}, later)
		if v := rep.Verdicts[0]; !v.Refused || !slices.Contains(findingReasons(v), gridmint.ClaimEquivocation) {
			t.Errorf("second claim: %+v, want refused as equivocation", v)
		}
		if len(rep.Later) != 1 || rep.Later[0].Claim != ID(cs[1]) || rep.Later[0].Reason != gridmint.ClaimEquivocation || !rep.Later[0].Refuse {
			t.Errorf("later findings %+v, want the first claim refused too", rep.Later)
		}
		if len(rep.Equivocations) != 1 || rep.Equivocations[0].First != cs[1] || rep.Equivocations[0].Second != twin {
			t.Errorf("evidence %+v, want both claims", rep.Equivocations)
		}
		if rep := ck.Check([]gridmint.Claim{twin}, later); !rep.Verdicts[0].Refused || len(rep.Later) != 0 {
			t.Errorf("third sight of the hour: %+v, later %+v; want refused, no new later finding", rep.Verdicts[0], rep.Later)
		}
	})
	t.Run("in one call", func(t *testing.T) {
		rep := NewChecker(DefaultRules(), 0).Check([]gridmint.Claim{cs[0], cs[1], twin}, later)
		for _, i := range []int{1, 2} {
			if v := rep.Verdicts[i]; !v.Refused || !slices.Contains(findingReasons(v), gridmint.ClaimEquivocation) {
				t.Errorf("claim %d: %+v, want refused as equivocation", i, v)
			}
		}
		if len(rep.Later) != 0 || len(rep.Equivocations) != 1 {
			t.Errorf("later %+v, evidence %d; want the refusal in the verdicts and one piece of evidence", rep.Later, len(rep.Equivocations))
		}
	})
	t.Run("the same claim again is a duplicate", func(t *testing.T) {
		ck := NewChecker(DefaultRules(), 0)
		ck.Check(cs, later)
		v := ck.Check([]gridmint.Claim{cs[1]}, later).Verdicts[0]
		if !v.Duplicate || v.Refused || len(v.Findings) > 0 {
			t.Errorf("verdict %+v, want a plain duplicate", v)
		}
	})
}

// cloudy is a rough profile of a 5 kW device under broken clouds,
// scaled by f.
func cloudy(seed int, f float64) gridmint.Profile {
	shape := []float64{0.62, 0.35, 0.71, 0.80, 0.41, 0.55, 0.90, 0.66, 0.30, 0.52, 0.77, 0.45}
	var p gridmint.Profile
	for k := range p {
		v := shape[(k+seed)%len(shape)]
		p[k] = gridmint.MWh(f * v * 5000 * 1000 / 12)
	}
	return p
}

func TestCopiedProfiles(t *testing.T) {
	h := afternoon
	honestA := chainOf(1, h, 5000, cloudy(0, 1), cloudy(1, 1), cloudy(2, 1), cloudy(3, 1), cloudy(4, 1))
	// A twin reporting A's values exactly.
	copyExact := chainOf(2, h, 5000, cloudy(0, 1), cloudy(1, 1), cloudy(2, 1), cloudy(3, 1), cloudy(4, 1))
	// A device reporting A's values with 0.5 % of noise, under a 10 kW
	// nameplate with doubled values: the same when normalised.
	noisy := func(p gridmint.Profile, k int) gridmint.Profile {
		for i := range p {
			p[i] = p[i] * 2 * gridmint.MWh(1000+(i*7+k)%11-5) / 1000
		}
		return p
	}
	copyNoisy := chainOf(3, h, 10_000, noisy(cloudy(0, 1), 0), noisy(cloudy(1, 1), 1), noisy(cloudy(2, 1), 2), noisy(cloudy(3, 1), 3), noisy(cloudy(4, 1), 4))
	// Honest neighbour: another cloud pattern.
	neighbour := chainOf(4, h, 5000, cloudy(5, 0.9), cloudy(6, 0.9), cloudy(7, 0.9), cloudy(8, 0.9), cloudy(9, 0.9))
	// Honest twin, 3 % weaker panels: the same shape, another scale.
	weaker := chainOf(5, h, 5000, cloudy(0, 0.97), cloudy(1, 0.97), cloudy(2, 0.97), cloudy(3, 0.97), cloudy(4, 0.97))

	ck := NewChecker(DefaultRules(), 0)
	refusedAt := map[byte][]int{}
	var laterFs []Finding
	for i := range 5 {
		batch := []gridmint.Claim{honestA[i], copyExact[i], copyNoisy[i], neighbour[i], weaker[i]}
		rep := ck.Check(batch, later)
		laterFs = append(laterFs, rep.Later...)
		for _, v := range rep.Verdicts {
			if v.Refused {
				if !slices.Contains(findingReasons(v), gridmint.ClaimCopiedProfile) {
					t.Errorf("hour %d: %s refused for %v", i, v.Claim, findingReasons(v))
				}
				refusedAt[v.Claim.Device[0]] = append(refusedAt[v.Claim.Device[0]], i)
			}
		}
	}
	// The third matching hour (index 2) makes the pairs among A and its
	// two copies copied; from then on all three are refused.
	for _, d := range []byte{1, 2, 3} {
		if !slices.Equal(refusedAt[d], []int{2, 3, 4}) {
			t.Errorf("device %d refused in hours %v, want [2 3 4]", d, refusedAt[d])
		}
	}
	for _, d := range []byte{4, 5} {
		if len(refusedAt[d]) > 0 {
			t.Errorf("honest device %d refused in hours %v", d, refusedAt[d])
		}
	}
	// The first two hours of the run were checked before: they come back
	// as later findings.
	lateHours := map[gridmint.Hour]int{}
	for _, f := range laterFs {
		if f.Reason == gridmint.ClaimCopiedProfile {
			lateHours[f.Claim.Hour]++
		}
	}
	if lateHours[h] == 0 || lateHours[h+1] == 0 {
		t.Errorf("later findings per hour %v: want the run's first two hours", lateHours)
	}

	// Resolving the exact pair lifts its suspension; device 3 still
	// copies both.
	ck.Resolve(honestA[0].Device, copyExact[0].Device)
	if got := ck.Suspended(copyExact[0].Device); !slices.Equal(got, []gridmint.DeviceKey{copyNoisy[0].Device}) {
		t.Errorf("device 2 suspended with %v after resolving (1,2), want only device 3", got)
	}
	ck.Resolve(copyNoisy[0].Device, honestA[0].Device)
	ck.Resolve(copyNoisy[0].Device, copyExact[0].Device)
	more := chainOf(1, h+5, 5000, cloudy(0, 1))[0]
	more.CounterStart, more.CarryIn = honestA[4].CounterEnd, honestA[4].CarryOut()
	more.CounterEnd = more.CounterStart + more.Profile.Sum()
	more.Wh = gridmint.Wh((more.CarryIn + more.Energy()) / 1000)
	if v := ck.Check([]gridmint.Claim{more}, later).Verdicts[0]; v.Refused {
		t.Errorf("after resolving: %+v", v)
	}
}

// TestCopiesNeedInformativeHours: clear-sky curves and clipped hours look
// the same on every roof; identical ones are not a copy.
// TestCopiedWattsUnderAnotherNameplate: a device that reports its
// neighbour's watts (0.5 % of noise) under its own, smaller nameplate
// copies the values, not the capacity factors; it is found like any copy.
// An honest neighbour of another size, whose values are close but not
// the same, is not.
func TestCopiedWattsUnderAnotherNameplate(t *testing.T) {
	h := afternoon
	var victimPs, copyPs, otherPs []gridmint.Profile
	for i := range 4 {
		v := cloudy(i, 0.8)
		c := v
		for k := range c {
			c[k] = c[k] * gridmint.MWh(1000+(k*7+i)%11-5) / 1000
		}
		victimPs, copyPs, otherPs = append(victimPs, v), append(copyPs, c), append(otherPs, cloudy(i, 0.8*1.03))
	}
	victim := chainOf(1, h, 5000, victimPs...)
	copier := chainOf(2, h, 4000, copyPs...)
	// 3 % more energy than the victim's under the same clouds, on an
	// 8 kW array.
	bigger := chainOf(3, h, 8000, otherPs...)
	ck := NewChecker(DefaultRules(), 0)
	refusedAt := map[byte][]int{}
	for i := range 4 {
		rep := ck.Check([]gridmint.Claim{victim[i], copier[i], bigger[i]}, later)
		for _, v := range rep.Verdicts {
			if v.Refused {
				refusedAt[v.Claim.Device[0]] = append(refusedAt[v.Claim.Device[0]], i)
			}
		}
	}
	for _, d := range []byte{1, 2} {
		if !slices.Equal(refusedAt[d], []int{2, 3}) {
			t.Errorf("device %d refused in hours %v, want [2 3]", d, refusedAt[d])
		}
	}
	if len(refusedAt[3]) > 0 {
		t.Errorf("honest device 3 refused in hours %v", refusedAt[3])
	}
}

// TestImpossibleClaimSuspendsDevice: a claim above what the inverter can
// deliver proves the meter wrong; the device's remembered claims come
// back refused in Later, its later claims are refused, until Reinstate.
// Other devices are not touched.
func TestImpossibleClaimSuspendsDevice(t *testing.T) {
	h := afternoon
	var lie gridmint.Profile
	for k := range lie {
		lie[k] = 470_000 // 5.64 kWh in the hour from a 5 kW inverter
	}
	ps := []gridmint.Profile{cloudy(0, 0.5), cloudy(1, 0.5), lie, cloudy(3, 0.5), cloudy(4, 0.5), cloudy(5, 0.5)}
	liar := chainOf(1, h, 5000, ps...)
	honest := chainOf(2, h, 5000, cloudy(6, 0.6), cloudy(7, 0.6), cloudy(8, 0.6), cloudy(9, 0.6), cloudy(10, 0.6), cloudy(11, 0.6))
	ck := NewChecker(DefaultRules(), 0)
	var refused []int
	laterHours := map[gridmint.Hour]bool{}
	for i := range 6 {
		if i == 5 {
			ck.Reinstate(liar[0].Device)
		}
		rep := ck.Check([]gridmint.Claim{liar[i], honest[i]}, later)
		for _, v := range rep.Verdicts {
			if !v.Refused {
				continue
			}
			if v.Claim.Device != liar[0].Device {
				t.Errorf("hour %d: honest device refused: %v", i, v.Findings)
				continue
			}
			if !slices.Contains(findingReasons(v), gridmint.ClaimNameplate) {
				t.Errorf("hour %d: reasons %v, want nameplate_exceeded", i, findingReasons(v))
			}
			refused = append(refused, i)
		}
		for _, f := range rep.Later {
			if f.Claim.Device != liar[0].Device || f.Reason != gridmint.ClaimNameplate {
				t.Errorf("hour %d: later finding %+v", i, f)
			}
			laterHours[f.Claim.Hour] = true
		}
		if _, ok := ck.Lying(liar[0].Device); ok != (i >= 2 && i < 5) {
			t.Errorf("hour %d: Lying %v", i, ok)
		}
	}
	if !slices.Equal(refused, []int{2, 3, 4}) {
		t.Errorf("the liar was refused in hours %v, want [2 3 4]", refused)
	}
	if len(laterHours) != 2 || !laterHours[h] || !laterHours[h+1] {
		t.Errorf("later findings for hours %v, want the two before the lie", laterHours)
	}

	// Five minutes above the rating in an hour within it (7.2 kW for five
	// minutes from a 5 kW inverter) refuse that hour alone: a sub-interval
	// depends on when the readings were taken, not only on the meter.
	spike := cloudy(2, 0.5)
	spike[4] = 600_000
	spiky := chainOf(4, h, 5000, cloudy(0, 0.5), cloudy(1, 0.5), spike, cloudy(3, 0.5))
	ck = NewChecker(DefaultRules(), 0)
	for i := range 4 {
		rep := ck.Check(spiky[i:i+1], later)
		if got := rep.Verdicts[0].Refused; got != (i == 2) || len(rep.Later) > 0 {
			t.Errorf("five-minute spike, hour %d: refused %v (%v), later %v; want only hour 2 refused", i, got, rep.Verdicts[0].Findings, rep.Later)
		}
		if _, lying := ck.Lying(spiky[0].Device); lying {
			t.Errorf("five-minute spike, hour %d: device suspended", i)
		}
	}

	// The same impossible hour, estimated (a reset or a gap touched it:
	// maybe a glitch the normaliser guessed around), is refused alone.
	glitchy := chainOf(3, h, 5000, ps...)
	glitchy[2].Quality = gridmint.QualityEstimated
	ck = NewChecker(DefaultRules(), 0)
	for i := range 4 {
		rep := ck.Check(glitchy[i:i+1], later)
		if got := rep.Verdicts[0].Refused; got != (i == 2) || len(rep.Later) > 0 {
			t.Errorf("estimated glitch, hour %d: refused %v, later %v", i, got, rep.Later)
		}
	}
}

func TestCopiesNeedInformativeHours(t *testing.T) {
	smooth := func(h int) gridmint.Profile {
		var p gridmint.Profile
		for k := range p {
			p[k] = gridmint.MWh(300_000 + 1_000*(h*12+k))
		}
		return p
	}
	clipped := flat(5000 * 1000 / 12)
	ck := NewChecker(DefaultRules(), 0)
	a := chainOf(1, afternoon, 5000, smooth(0), smooth(1), smooth(2), clipped, clipped, clipped)
	b := chainOf(2, afternoon, 5000, smooth(0), smooth(1), smooth(2), clipped, clipped, clipped)
	for i := range a {
		for _, v := range ck.Check([]gridmint.Claim{a[i], b[i]}, later).Verdicts {
			if v.Refused {
				t.Errorf("hour %d: %+v", i, v)
			}
		}
	}
}

// TestCopyRunBreaksWhenProfilesDiffer: two matching hours, then an hour
// both are informative in but differ, then two matching hours again: not
// three in a row.
func TestCopyRunBreaksWhenProfilesDiffer(t *testing.T) {
	a := chainOf(1, afternoon, 5000, cloudy(0, 1), cloudy(1, 1), cloudy(2, 1), cloudy(3, 1), cloudy(4, 1))
	b := chainOf(2, afternoon, 5000, cloudy(0, 1), cloudy(1, 1), cloudy(7, 0.8), cloudy(3, 1), cloudy(4, 1))
	ck := NewChecker(DefaultRules(), 0)
	for i := range a {
		for _, v := range ck.Check([]gridmint.Claim{a[i], b[i]}, later).Verdicts {
			if v.Refused {
				t.Errorf("hour %d: %+v", i, v)
			}
		}
	}
}

func TestCapacityFactorOutlier(t *testing.T) {
	var claims []gridmint.Claim
	for d := range 20 {
		claims = append(claims, mkClaim(byte(d+1), afternoon, 5000, golden, gridmint.QualityOK, flat(gridmint.MWh(200_000+d*2_000))))
	}
	high := mkClaim(100, afternoon, 5000, golden, gridmint.QualityOK, flat(450_000))
	low := mkClaim(101, afternoon, 5000, golden, gridmint.QualityOK, flat(10_000))
	rep := NewChecker(DefaultRules(), 0).Check(append(claims, high, low), later)
	for i, v := range rep.Verdicts {
		isOutlier := i >= len(claims)
		flagged := slices.Contains(findingReasons(v), gridmint.ClaimCapacityOutlier)
		if flagged != isOutlier || v.Refused {
			t.Errorf("claim %d: %+v; want flagged %v and not refused", i, v, isOutlier)
		}
	}
	// Too few devices to say.
	rep = NewChecker(DefaultRules(), 0).Check(append(slices.Clone(claims[:5]), high), later)
	for _, v := range rep.Verdicts {
		if len(v.Findings) > 0 {
			t.Errorf("six devices: %+v", v)
		}
	}
}

func TestCheckerForgetsOldHours(t *testing.T) {
	ck := NewChecker(DefaultRules(), 3)
	cs := chainOf(1, afternoon, 5000, flat(1000), flat(1000), flat(1000), flat(1000), flat(1000), flat(1000))
	for _, c := range cs {
		ck.Check([]gridmint.Claim{c}, later)
	}
	if n := len(ck.devices[cs[0].Device].claims); n > 4 {
		t.Errorf("%d claims remembered with a retention of 3 hours", n)
	}
	if n := len(ck.zones); n > 4 {
		t.Errorf("%d zone hours remembered with a retention of 3 hours", n)
	}
}
