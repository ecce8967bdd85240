package flex

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Proof of flexibility: random, unannounced test dispatches check that
// offered capacity is real. A device that responds earns the availability
// reward; one that fails offers less until it passes again.

// TestParams are the rules of test selection and evaluation.
type TestParams struct {
	// Share is the part of the offered capacity tested per selection,
	// parts per million.
	Share int64
	// Duration is the longest test; tests are as long as this or as the
	// rest of the offer's window, whichever is shorter, and at least
	// Align.
	Duration time.Duration
	// Align is the step tests start on and last multiples of (the meter
	// data's step).
	Align time.Duration
	// MinGap is the least time between two tests of one device.
	MinGap time.Duration
	// PassAt is the performance, ppm, at or above which a test passes.
	PassAt int64
}

// DefaultTestParams: 2 % of offered capacity per selection, tests of at
// most 15 minutes on 5-minute steps, at most one per device per week,
// passed at 80 % of the offered power.
func DefaultTestParams() TestParams {
	return TestParams{Share: 20_000, Duration: 15 * time.Minute, Align: 5 * time.Minute, MinGap: 7 * 24 * time.Hour, PassAt: 800_000}
}

// MaxTestDuration and MinTestGap bound TestParams: no test is longer than
// 15 minutes and no device is tested twice within a week of node time,
// whatever the caller asks.
const (
	MaxTestDuration = 15 * time.Minute
	MinTestGap      = 7 * 24 * time.Hour
)

func (p TestParams) bounded() TestParams {
	if p.Share <= 0 || p.Share > ppm {
		p.Share = DefaultTestParams().Share
	}
	if p.Align < time.Second || p.Align%time.Second != 0 || time.Hour%p.Align != 0 {
		p.Align = DefaultTestParams().Align
	}
	if p.Duration <= 0 || p.Duration > MaxTestDuration {
		p.Duration = MaxTestDuration
	}
	p.Duration -= p.Duration % p.Align
	if p.Duration < p.Align {
		p.Duration = p.Align
	}
	if p.MinGap < MinTestGap {
		p.MinGap = MinTestGap
	}
	if p.PassAt <= 0 || p.PassAt > ppm {
		p.PassAt = DefaultTestParams().PassAt
	}
	return p
}

// ticket is an offer's draw for a seed.
func ticket(seed [32]byte, id gridmint.OfferID) gridmint.TestID {
	e := newEncoder("gridmint/flex/test/v1")
	e.b = append(e.b, seed[:]...)
	e.b = append(e.b, id[:]...)
	return gridmint.TestID(e.sum())
}

// SelectTests draws the test dispatches of one selection.
//
// seed is the hash of a block produced after seedTime; only offers signed
// before seedTime take part, so no one knows at signing which offers a
// seed will pick. now is node time when the selection runs.
//
// Rules:
//   - Each eligible offer draws ticket = SHA-256("gridmint/flex/test/v1"
//     ‖ 0 ‖ seed ‖ offer ID). Eligible: valid, signed before seedTime, not
//     in skip (e.g. offers already awarded: their event measures them),
//     its window not over, and room in it for a test of at least Align
//     from now.
//   - A test lasts min(Duration, what is left of the window after now),
//     a multiple of Align, never more than 15 minutes; it starts on an
//     Align step chosen by the ticket within the window.
//   - A device is tested at most once per MinGap (at least a week): no
//     test of it in history (any outcome) may start within MinGap of the
//     new one, and a selection tests a device once.
//   - Offers are taken in ticket order while the tested power is below
//     Share of the eligible offers' total power (so at least one, when
//     any is eligible); each is tested at its offered power.
func SelectTests(seed [32]byte, seedTime time.Time, offers []SignedOffer, skip map[gridmint.OfferID]bool, history []gridmint.TestResult, now time.Time, params TestParams) []gridmint.TestDispatch {
	p := params.bounded()
	var ignored []Skipped
	kept := dedupOffers(offers, &ignored)
	type cand struct {
		t gridmint.TestDispatch
		o *SignedOffer
	}
	var cands []cand
	var total int64
	for _, i := range kept {
		so := &offers[i]
		o := so.Offer
		if !so.Signed.Before(seedTime) || skip[so.ID] {
			continue
		}
		lo := o.WindowStart
		if lo.Before(now) {
			lo = now
		}
		if r := lo.Sub(o.WindowStart) % p.Align; r != 0 {
			lo = lo.Add(p.Align - r)
		}
		room := o.WindowEnd.Sub(lo)
		if room < p.Align {
			continue
		}
		d := min(p.Duration, room-room%p.Align)
		tk := ticket(seed, so.ID)
		slots := int64((room-d)/p.Align) + 1
		start := lo.Add(time.Duration(binary.BigEndian.Uint64(tk[24:])%uint64(slots)) * p.Align)
		cands = append(cands, cand{gridmint.TestDispatch{
			ID: tk, OfferID: so.ID, Provider: so.Provider, Device: o.Device, Meter: o.MeterOfRecord(),
			Direction: o.Direction, Start: start, End: start.Add(d), Power: o.Power, Baseline: o.Baseline,
		}, so})
		total += int64(o.Power)
	}
	slices.SortFunc(cands, func(a, b cand) int { return bytes.Compare(a.t.ID[:], b.t.ID[:]) })
	target := (total*p.Share + ppm - 1) / ppm
	var out []gridmint.TestDispatch
	var tested int64
	picked := map[gridmint.DeviceID]bool{}
	for _, c := range cands {
		if tested >= target {
			break
		}
		if picked[c.t.Device] || testedWithin(history, c.t.Device, c.t.Start, p.MinGap) {
			continue
		}
		picked[c.t.Device] = true
		out = append(out, c.t)
		tested += int64(c.t.Power)
	}
	return out
}

func testedWithin(history []gridmint.TestResult, dev gridmint.DeviceID, start time.Time, gap time.Duration) bool {
	for _, h := range history {
		if h.Test.Device != dev {
			continue
		}
		if d := start.Sub(h.Test.Start); d < gap && d > -gap {
			return true
		}
	}
	return false
}

// EvaluateTest measures a test like an award (Verify, with the test as a
// zero-price award) and decides it: passed at PassAt or more, excused
// under an opt-out or grid limit (see Verify), failed otherwise.
func EvaluateTest(t gridmint.TestDispatch, baseline *Baseline, baselineErr error, metered Series, exemptions []gridmint.FlexExemption, offline []Span, params TestParams) gridmint.TestResult {
	p := params.bounded()
	a := gridmint.Award{
		RequestID: gridmint.RequestID(t.ID), OfferID: t.OfferID, Provider: t.Provider, Device: t.Device, Meter: t.Meter,
		Direction: t.Direction, WindowStart: t.Start, WindowEnd: t.End, Power: t.Power, Baseline: t.Baseline,
	}
	rec := Verify(VerifyInput{
		Evidence:   []Evidence{{Award: a, Baseline: baseline, BaselineErr: baselineErr}},
		Metered:    map[gridmint.DeviceID]Series{t.Meter: metered},
		Exemptions: exemptions, Offline: offline,
	})[0]
	res := gridmint.TestResult{Test: t, Expected: rec.Awarded, Delivered: rec.Delivered, Reason: rec.Reason}
	switch {
	case rec.Exempt():
		res.Outcome = gridmint.TestExcused
	case rec.Awarded > 0 && rec.Performance() >= p.PassAt:
		res.Outcome, res.Reason = gridmint.TestPassed, ""
	default:
		res.Outcome = gridmint.TestFailed
		if res.Reason == "" {
			res.Reason = gridmint.FlexUnderDelivered
		}
	}
	return res
}

// MaxDerateSteps is how many consecutive failures keep halving a
// device's offerable capacity: after it, the device offers 1/8 of its
// capacity until it passes (never zero, so it can still be tested).
const MaxDerateSteps = 3

// DerateFactor is the part of its capacity, ppm, device may offer after
// its test history: 1,000,000 >> k, k the number of failed tests since
// its last passed one (pending and excused tests do not count), at most
// MaxDerateSteps. A pass restores it in full. More failures never raise
// the factor.
func DerateFactor(history []gridmint.TestResult, device gridmint.DeviceID) int64 {
	var hs []gridmint.TestResult
	for _, h := range history {
		if h.Test.Device == device && (h.Outcome == gridmint.TestPassed || h.Outcome == gridmint.TestFailed) {
			hs = append(hs, h)
		}
	}
	slices.SortFunc(hs, func(a, b gridmint.TestResult) int {
		if c := a.Test.Start.Compare(b.Test.Start); c != 0 {
			return c
		}
		return bytes.Compare(a.Test.ID[:], b.Test.ID[:])
	})
	k := 0
	for i := len(hs) - 1; i >= 0 && hs[i].Outcome == gridmint.TestFailed; i-- {
		k++
	}
	return ppm >> min(k, MaxDerateSteps)
}

// FLEX contract emission rule for availability rewards (FLEX.sol): epoch
// e may mint at most INITIAL_EPOCH_CAP >> (e / HALVING_EPOCHS).
var (
	initialEpochCap = new(big.Int).Mul(big.NewInt(10_000), new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
)

// HalvingEpochs is the FLEX contract's HALVING_EPOCHS.
const HalvingEpochs = 365

// EpochCap is the availability units the FLEX contract lets epoch mint
// (FLEX.epochCap).
func EpochCap(epoch uint64) *big.Int {
	h := epoch / HalvingEpochs
	if h >= 256 {
		return new(big.Int)
	}
	return new(big.Int).Rsh(initialEpochCap, uint(h))
}

// AvailabilityReward is one passed test's reward record (kind 2 on
// chain).
type AvailabilityReward struct {
	RecordID [32]byte
	Test     gridmint.TestID
	Provider string
	Amount   *big.Int // FLEX base units
}

// AvailabilityRewards pays the passed tests among results: perKW base
// units per kW of tested power (rounded down), scaled down pro rata (each
// rounded down) when they would together exceed room, the epoch's
// remaining cap (EpochCap minus what the epoch has minted). Records are
// sorted by record ID, as chain.NewRewardBatch orders them; zero amounts
// are left out (the contract refuses them). The sum never exceeds room.
func AvailabilityRewards(results []gridmint.TestResult, perKW, room *big.Int) []AvailabilityReward {
	if perKW == nil || perKW.Sign() <= 0 || room == nil || room.Sign() <= 0 {
		return nil
	}
	var out []AvailabilityReward
	total := new(big.Int)
	seen := map[gridmint.TestID]bool{}
	for _, r := range results {
		if r.Outcome != gridmint.TestPassed || seen[r.Test.ID] || r.Test.Power <= 0 {
			continue
		}
		seen[r.Test.ID] = true
		raw := new(big.Int).Mul(perKW, big.NewInt(int64(r.Test.Power)))
		raw.Quo(raw, big.NewInt(1000))
		out = append(out, AvailabilityReward{RecordID: AvailabilityRecordID(r.Test.ID), Test: r.Test.ID, Provider: strings.ToLower(r.Test.Provider), Amount: raw})
		total.Add(total, raw)
	}
	if total.Cmp(room) > 0 {
		for i := range out {
			out[i].Amount.Mul(out[i].Amount, room)
			out[i].Amount.Quo(out[i].Amount, total)
		}
	}
	out = slices.DeleteFunc(out, func(r AvailabilityReward) bool { return r.Amount.Sign() == 0 })
	slices.SortFunc(out, func(a, b AvailabilityReward) int { return bytes.Compare(a.RecordID[:], b.RecordID[:]) })
	return out
}
