package flex

import (
	"crypto/sha256"
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
	offs := fleet(100)
	p := DefaultTestParams()
	got := SelectTests(seed, seedTime, offs, nil, nil, selNow, p)
	// 2 % of 100 kW: 2 kW, two offers of 1 kW.
	if len(got) != 2 {
		t.Fatalf("%d tests, want 2", len(got))
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
	if len(distinct) < 20 {
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
	// Nobody asks for longer than 15 minutes or more often than weekly.
	long := p
	long.Duration, long.MinGap = time.Hour, time.Hour
	if b := long.bounded(); b.Duration != 15*time.Minute || b.MinGap != 7*24*time.Hour {
		t.Errorf("bounded params %+v", b)
	}
}

func TestAtMostOneTestPerDevicePerWeek(t *testing.T) {
	seed := sha256.Sum256([]byte("seed"))
	one := fleet(1)
	selNow := winStart.Add(-10 * time.Minute)
	p := DefaultTestParams()
	first := SelectTests(seed, gate, one, nil, nil, selNow, p)
	if len(first) != 1 {
		t.Fatalf("one offer: %d tests, want 1 (at least one when any is eligible)", len(first))
	}
	for _, tc := range []struct {
		ago  time.Duration
		want int
	}{{3 * 24 * time.Hour, 0}, {7*24*time.Hour - time.Minute, 0}, {8 * 24 * time.Hour, 1}} {
		hist := []gridmint.TestResult{{Test: gridmint.TestDispatch{Device: dev(0), Start: first[0].Start.Add(-tc.ago)}, Outcome: gridmint.TestPassed}}
		if got := SelectTests(seed, gate, one, nil, hist, selNow, p); len(got) != tc.want {
			t.Errorf("tested %v before: %d tests, want %d", tc.ago, len(got), tc.want)
		}
	}
	// Two offers of one device in one selection: one test.
	two := []SignedOffer{offer(0, 100, 1000), offer(0, 100, 1000)}
	two[1].ID = oid(77)
	p.Share = ppm
	if got := SelectTests(seed, gate, two, nil, nil, selNow, p); len(got) != 1 {
		t.Errorf("two offers of one device: %d tests, want 1", len(got))
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
