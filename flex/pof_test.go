package flex

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// fleet is n devices offering 1 kW each for the hour from winStart.
func fleet(n int) []SignedOffer {
	out := make([]SignedOffer, n)
	for i := range out {
		out[i] = offer(i, 100, 1000)
	}
	return out
}

func testIDs(ts []gridmint.TestDispatch) []gridmint.TestID {
	var ids []gridmint.TestID
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func TestSelectTests(t *testing.T) {
	seed := sha256.Sum256([]byte("block 1234"))
	seedTime := gate
	selNow := winStart.Add(-10 * time.Minute)
	offs := fleet(1000)
	p := DefaultTestParams()
	got := SelectTests(seed, seedTime, offs, nil, nil, selNow, p)
	// Each device is drawn with probability 2 %: about 20 of 1,000
	// (binomial, standard deviation 4.4; this seed draws a fixed number).
	if len(got) < 8 || len(got) > 32 {
		t.Fatalf("%d tests of 1,000 devices at 2 %%, want about 20", len(got))
	}
	for _, d := range got {
		switch {
		case d.End.Sub(d.Start) != 15*time.Minute:
			t.Errorf("test %v lasts %v, want 15 min", d.ID, d.End.Sub(d.Start))
		case d.Start.Before(winStart) || d.End.After(winStart.Add(time.Hour)):
			t.Errorf("test [%v, %v) outside the offer window", d.Start, d.End)
		case d.Start.Sub(winStart)%(5*time.Minute) != 0:
			t.Errorf("test starts at %v, off the 5-minute steps", d.Start)
		case d.Power != 1000 || d.Meter != d.Device:
			t.Errorf("test %+v", d)
		case !Drawn(seed, d.Provider, d.Device, p.Share):
			t.Errorf("test of %s, a device not drawn", d.Device)
		}
	}

	// The same seed gives the same tests from any input order.
	shuffled := slices.Clone(offs)
	rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := SelectTests(seed, seedTime, append(shuffled, offs[:10]...), nil, nil, selNow, p); !slices.Equal(testIDs(again), testIDs(got)) {
		t.Error("selection depends on input order or duplicates")
	}
	// Other seeds pick other devices.
	distinct := map[gridmint.DeviceID]bool{}
	for i := 0; i < 20; i++ {
		for _, d := range SelectTests(sha256.Sum256([]byte{byte(i)}), seedTime, offs, nil, nil, selNow, p) {
			distinct[d.Device] = true
		}
	}
	if len(distinct) < 200 {
		t.Errorf("20 seeds tested only %d distinct devices", len(distinct))
	}

	// Offers signed at or after the seed's time take no part.
	late := slices.Clone(offs)
	for i := range late {
		late[i].Signed = seedTime
	}
	if ts := SelectTests(seed, seedTime, late, nil, nil, selNow, p); len(ts) != 0 {
		t.Errorf("offers signed at seed time were tested: %v", ts)
	}
	// Skipped (awarded) offers are not tested.
	skip := map[gridmint.OfferID]bool{}
	for _, d := range got {
		skip[d.OfferID] = true
	}
	for _, d := range SelectTests(seed, seedTime, offs, skip, nil, selNow, p) {
		if skip[d.OfferID] {
			t.Errorf("skipped offer %v tested", d.OfferID)
		}
	}
	// A window already under way: the test starts no earlier than now
	// and fits what is left.
	inWindow := winStart.Add(52 * time.Minute)
	for _, d := range SelectTests(seed, seedTime, offs, nil, nil, inWindow, p) {
		if d.Start.Before(inWindow) || d.End.After(winStart.Add(time.Hour)) || d.End.Sub(d.Start) != 5*time.Minute {
			t.Errorf("late test [%v, %v), want [%v, +5 min)", d.Start, d.End, winStart.Add(55*time.Minute))
		}
	}
	// Share 100 %: every device; 0 (bounded to the default) is not none.
	all := p
	all.Share = ppm
	if ts := SelectTests(seed, seedTime, offs, nil, nil, selNow, all); len(ts) != len(offs) {
		t.Errorf("share 100 %%: %d tests of %d devices", len(ts), len(offs))
	}
	// Nobody asks for longer than 15 minutes or more often than weekly.
	long := p
	long.Duration, long.MinGap = time.Hour, time.Hour
	if b := long.bounded(); b.Duration != 15*time.Minute || b.MinGap != 7*24*time.Hour {
		t.Errorf("bounded params %+v", b)
	}
}

// TestDrawnShare: over many seeds a device is drawn about Share of the
// time.
func TestDrawnShare(t *testing.T) {
	const n = 100_000
	hits := 0
	for i := range n {
		if Drawn(sha256.Sum256([]byte(fmt.Sprint("seed", i))), addr(1), dev(1), 20_000) {
			hits++
		}
	}
	// 2 % of 100,000: 2,000, standard deviation 44.
	if hits < 1800 || hits > 2200 {
		t.Errorf("drawn %d times of %d at 2 %%, want about 2,000", hits, n)
	}
	if Drawn([32]byte{}, addr(1), dev(1), 0) || !Drawn([32]byte{}, addr(1), dev(1), ppm) {
		t.Error("share 0 or 100 % not honoured")
	}
}

// TestSelectionIgnoresOtherOffers is the property that lets every node
// draw the same tests from the offers it holds: removing any one offer
// from the input never changes whether an offer of another device is
// tested, nor its test; for the removed offer's own device the test can
// only move to another of its offers, and only when the removed one was
// its test.
func TestSelectionIgnoresOtherOffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 50 {
		seed := sha256.Sum256([]byte(fmt.Sprint("property", round)))
		p := DefaultTestParams()
		p.Share = []int64{20_000, 300_000, ppm}[round%3]
		// 60 offers of 30 devices: some devices offer several windows.
		var offs []SignedOffer
		for i := range 60 {
			o := offer(rng.IntN(30), 100, gridmint.W(500+rng.IntN(3000)))
			o.ID = oid(1000*round + i)
			o.Offer.WindowStart = winStart.Add(time.Duration(rng.IntN(8)) * 15 * time.Minute)
			o.Offer.WindowEnd = o.Offer.WindowStart.Add(time.Duration(1+rng.IntN(4)) * 15 * time.Minute)
			offs = append(offs, o)
		}
		var hist []gridmint.TestResult
		if round%2 == 1 {
			hist = []gridmint.TestResult{{Test: gridmint.TestDispatch{Device: dev(3), Start: winStart.Add(-24 * time.Hour)}, Outcome: gridmint.TestFailed}}
		}
		now := winStart.Add(-10 * time.Minute)
		full := map[gridmint.DeviceID]gridmint.TestDispatch{}
		for _, d := range SelectTests(seed, gate, offs, nil, hist, now, p) {
			if _, dup := full[d.Device]; dup {
				t.Fatalf("round %d: device %s tested twice", round, d.Device)
			}
			full[d.Device] = d
		}
		for i := range offs {
			less := slices.Delete(slices.Clone(offs), i, i+1)
			got := map[gridmint.DeviceID]gridmint.TestDispatch{}
			for _, d := range SelectTests(seed, gate, less, nil, hist, now, p) {
				got[d.Device] = d
			}
			removed := offs[i]
			for dv, want := range full {
				g, ok := got[dv]
				if dv != removed.Offer.Device || want.OfferID != removed.ID {
					if !ok || g != want {
						t.Fatalf("round %d: without offer %d, device %s's test %+v became %+v (held %v)", round, i, dv, want, g, ok)
					}
				}
			}
			for dv, g := range got {
				if _, ok := full[dv]; !ok {
					t.Fatalf("round %d: without offer %d, device %s is tested (%+v): it was not with it", round, i, dv, g)
				}
			}
		}
	}
}

func TestAtMostOneTestPerDevicePerWeek(t *testing.T) {
	seed := sha256.Sum256([]byte("seed"))
	one := fleet(1)
	selNow := winStart.Add(-10 * time.Minute)
	p := DefaultTestParams()
	p.Share = ppm
	first := SelectTests(seed, gate, one, nil, nil, selNow, p)
	if len(first) != 1 {
		t.Fatalf("one offer at share 100 %%: %d tests, want 1", len(first))
	}
	for _, tc := range []struct {
		ago  time.Duration
		out  gridmint.TestOutcome
		want int
	}{
		{3 * 24 * time.Hour, gridmint.TestPassed, 0}, {7*24*time.Hour - time.Minute, gridmint.TestFailed, 0},
		{24 * time.Hour, gridmint.TestVoid, 0}, {24 * time.Hour, gridmint.TestPending, 0}, {8 * 24 * time.Hour, gridmint.TestPassed, 1},
	} {
		hist := []gridmint.TestResult{{Test: gridmint.TestDispatch{Device: dev(0), Start: first[0].Start.Add(-tc.ago)}, Outcome: tc.out}}
		if got := SelectTests(seed, gate, one, nil, hist, selNow, p); len(got) != tc.want {
			t.Errorf("tested (%s) %v before: %d tests, want %d", tc.out, tc.ago, len(got), tc.want)
		}
	}
	// Two offers of one device in one selection: one test, on the offer
	// with the lower ticket, whatever the order.
	two := []SignedOffer{offer(0, 100, 1000), offer(0, 100, 1000)}
	two[1].ID = oid(77)
	got := SelectTests(seed, gate, two, nil, nil, selNow, p)
	if len(got) != 1 {
		t.Fatalf("two offers of one device: %d tests, want 1", len(got))
	}
	a, _ := DrawTest(seed, two[0], selNow, p)
	b, _ := DrawTest(seed, two[1], selNow, p)
	want := a.ID
	if bytes.Compare(b.ID[:], a.ID[:]) < 0 {
		want = b.ID
	}
	if got[0].ID != want {
		t.Errorf("tested %v, want the lower ticket %v", got[0].ID, want)
	}
}

func TestVoidTest(t *testing.T) {
	d := gridmint.TestDispatch{Device: dev(1), Start: winStart, End: winStart.Add(15 * time.Minute)}
	aw := func(dv gridmint.DeviceID, from, to time.Duration) gridmint.Award {
		return gridmint.Award{Device: dv, WindowStart: winStart.Add(from), WindowEnd: winStart.Add(to)}
	}
	for _, tc := range []struct {
		name string
		a    gridmint.Award
		void bool
	}{
		{"covering", aw(dev(1), -time.Hour, time.Hour), true},
		{"ending inside", aw(dev(1), -time.Hour, 5*time.Minute), true},
		{"starting inside", aw(dev(1), 10*time.Minute, time.Hour), true},
		{"ending at the start", aw(dev(1), -time.Hour, 0), false},
		{"starting at the end", aw(dev(1), 15*time.Minute, time.Hour), false},
		{"another device", aw(dev(2), -time.Hour, time.Hour), false},
	} {
		if _, void := VoidTest(d, []gridmint.Award{tc.a}); void != tc.void {
			t.Errorf("%s: void %v, want %v", tc.name, void, tc.void)
		}
	}
	if r := VoidResult(d); r.Outcome != gridmint.TestVoid || r.Reason != gridmint.FlexAwardOverlap {
		t.Errorf("void result %+v", r)
	}
	// Void tests are neither rewarded nor derate.
	v := VoidResult(gridmint.TestDispatch{ID: gridmint.TestID{1}, Device: dev(1), Power: 1000, Provider: addr(1)})
	if rw := AvailabilityRewards([]gridmint.TestResult{v}, big.NewInt(1), big.NewInt(1e18)); len(rw) != 0 {
		t.Errorf("void test rewarded: %+v", rw)
	}
	if f := DerateFactor([]gridmint.TestResult{v}, dev(1)); f != ppm {
		t.Errorf("void test derates to %d", f)
	}
}

func TestEvaluateTestAndDerate(t *testing.T) {
	d := gridmint.TestDispatch{ID: gridmint.TestID(sha256.Sum256([]byte("t"))), OfferID: oid(1), Provider: addr(1), Device: dev(1), Meter: dev(1),
		Direction: gridmint.DirectionDown, Start: mvStart, End: mvStart.Add(15 * time.Minute), Power: 2000, Baseline: gridmint.BaselineSchedule}
	b := &Baseline{Start: mvStart, Step: step5, Energy: flat(3, 166_666)}
	p := DefaultTestParams()
	pass := EvaluateTest(d, b, nil, meterSeries(30_000), nil, nil, p) // 82 %
	fail := EvaluateTest(d, b, nil, meterSeries(40_000), nil, nil, p) // 76 %
	excused := EvaluateTest(d, b, nil, meterSeries(166_666), []gridmint.FlexExemption{{Device: dev(1), Reason: gridmint.FlexOptOut,
		DeclaredAt: mvStart.Add(-time.Minute), Start: mvStart, End: mvStart.Add(time.Hour)}}, nil, p)
	if pass.Outcome != gridmint.TestPassed || fail.Outcome != gridmint.TestFailed || fail.Reason != gridmint.FlexUnderDelivered || excused.Outcome != gridmint.TestExcused {
		t.Fatalf("outcomes %s, %s (%s), %s; want passed, failed (under_delivered), excused", pass.Outcome, fail.Outcome, fail.Reason, excused.Outcome)
	}
	if pass.Expected != 3*166_666 {
		t.Errorf("expected %v", pass.Expected)
	}

	at := func(days int, o gridmint.TestOutcome) gridmint.TestResult {
		return gridmint.TestResult{Test: gridmint.TestDispatch{Device: dev(1), Start: mvStart.Add(time.Duration(days) * 24 * time.Hour)}, Outcome: o}
	}
	for _, tc := range []struct {
		name string
		hist []gridmint.TestResult
		want int64
	}{
		{"never tested", nil, ppm},
		{"one failure", []gridmint.TestResult{at(0, gridmint.TestFailed)}, ppm / 2},
		{"two failures", []gridmint.TestResult{at(7, gridmint.TestFailed), at(0, gridmint.TestFailed)}, ppm / 4},
		{"five failures stop at 1/8", []gridmint.TestResult{at(0, gridmint.TestFailed), at(7, gridmint.TestFailed), at(14, gridmint.TestFailed), at(21, gridmint.TestFailed), at(28, gridmint.TestFailed)}, ppm / 8},
		{"a pass restores", []gridmint.TestResult{at(0, gridmint.TestFailed), at(7, gridmint.TestFailed), at(14, gridmint.TestPassed)}, ppm},
		{"failure after a pass", []gridmint.TestResult{at(14, gridmint.TestFailed), at(7, gridmint.TestPassed)}, ppm / 2},
		{"pending and excused do not count", []gridmint.TestResult{at(0, gridmint.TestFailed), at(7, gridmint.TestPending), at(14, gridmint.TestExcused)}, ppm / 2},
		{"other devices do not count", []gridmint.TestResult{{Test: gridmint.TestDispatch{Device: dev(2)}, Outcome: gridmint.TestFailed}}, ppm},
	} {
		if got := DerateFactor(tc.hist, dev(1)); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestAvailabilityRewards(t *testing.T) {
	res := func(n int, watts gridmint.W, o gridmint.TestOutcome) gridmint.TestResult {
		return gridmint.TestResult{Test: gridmint.TestDispatch{ID: gridmint.TestID(sha256.Sum256([]byte{byte(n)})), Provider: addr(n), Power: watts}, Outcome: o}
	}
	results := []gridmint.TestResult{res(1, 2000, gridmint.TestPassed), res(2, 3000, gridmint.TestPassed), res(3, 5000, gridmint.TestFailed), res(1, 2000, gridmint.TestPassed)}
	perKW := flex(1)
	full := AvailabilityRewards(results, perKW, flex(10))
	if len(full) != 2 || new(big.Int).Add(full[0].Amount, full[1].Amount).Cmp(flex(5)) != 0 {
		t.Fatalf("within the cap: %+v, want 2 + 3 FLEX", full)
	}
	capped := AvailabilityRewards(results, perKW, flex(1))
	sum := new(big.Int)
	for _, r := range capped {
		sum.Add(sum, r.Amount)
		if r.RecordID != AvailabilityRecordID(r.Test) {
			t.Errorf("record id")
		}
	}
	if len(capped) != 2 || sum.Cmp(flex(1)) > 0 || sum.Cmp(new(big.Int).Sub(flex(1), big.NewInt(2))) < 0 {
		t.Errorf("capped at 1 FLEX: %+v (sum %v)", capped, sum)
	}
	if r := AvailabilityRewards(results, perKW, new(big.Int)); r != nil {
		t.Errorf("no room: %+v", r)
	}
	for _, tc := range []struct {
		epoch uint64
		want  *big.Int
	}{{0, flex(10_000)}, {364, flex(10_000)}, {365, flex(5_000)}, {730, flex(2_500)}, {256 * 365, new(big.Int)}} {
		if got := EpochCap(tc.epoch); got.Cmp(tc.want) != 0 {
			t.Errorf("EpochCap(%d) = %v, want %v", tc.epoch, got, tc.want)
		}
	}
}
