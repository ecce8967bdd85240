package flex

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"math/bits"
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
	// Share is the probability, parts per million, that a device with an
	// eligible offer is tested in a selection: the expected part of the
	// offered capacity tested (SelectTests).
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

// DefaultTestParams: 2 % of the offering devices per selection, tests of at
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

// ticket is an offer's draw for a seed: the test's ID, and its start.
func ticket(seed [32]byte, id gridmint.OfferID) gridmint.TestID {
	e := newEncoder("gridmint/flex/test/v1")
	e.b = append(e.b, seed[:]...)
	e.b = append(e.b, id[:]...)
	return gridmint.TestID(e.sum())
}

// deviceTicket is a device's draw for a seed: whether it is tested.
func deviceTicket(seed [32]byte, provider string, device gridmint.DeviceID) [32]byte {
	e := newEncoder("gridmint/flex/test-device/v1")
	e.b = append(e.b, seed[:]...)
	e.str(strings.ToLower(provider))
	e.str(string(device))
	return e.sum()
}

// Drawn reports whether a device is drawn for a test by seed, with
// probability share ppm: its device ticket, read as a fraction of 2^256,
// is below share / 10^6 (the first 8 bytes decide: x·10^6 < share·2^64).
func Drawn(seed [32]byte, provider string, device gridmint.DeviceID, share int64) bool {
	if share >= ppm {
		return true
	}
	if share <= 0 {
		return false
	}
	t := deviceTicket(seed, provider, device)
	hi, _ := bits.Mul64(binary.BigEndian.Uint64(t[:8]), ppm)
	return hi < uint64(share)
}

// DrawTest is the test an offer would be if its device's test fell on
// it: ID = its ticket, at its offered power, min(Duration, what is left
// of its window from now) long, on the Align step the ticket picks. ok is
// false when the window has no room for a test of Align from now. It
// reads nothing but the seed, the offer and now.
func DrawTest(seed [32]byte, so SignedOffer, now time.Time, params TestParams) (gridmint.TestDispatch, bool) {
	p := params.bounded()
	o := so.Offer
	lo := o.WindowStart
	if lo.Before(now) {
		lo = now
	}
	if r := lo.Sub(o.WindowStart) % p.Align; r != 0 {
		lo = lo.Add(p.Align - r)
	}
	room := o.WindowEnd.Sub(lo)
	if room < p.Align {
		return gridmint.TestDispatch{}, false
	}
	d := min(p.Duration, room-room%p.Align)
	tk := ticket(seed, so.ID)
	slots := int64((room-d)/p.Align) + 1
	start := lo.Add(time.Duration(binary.BigEndian.Uint64(tk[24:])%uint64(slots)) * p.Align)
	return gridmint.TestDispatch{
		ID: tk, OfferID: so.ID, Provider: so.Provider, Device: o.Device, Meter: o.MeterOfRecord(),
		Direction: o.Direction, Start: start, End: start.Add(d), Power: o.Power, Baseline: o.Baseline,
	}, true
}

// SelectTests draws the test dispatches of one selection.
//
// seed is the hash of a block produced after seedTime; only offers signed
// before seedTime take part, so no one knows at signing which offers a
// seed will pick. now is the earliest a test may start (the seed block's
// time plus a lead: the same on every node).
//
// Every node must draw the same tests although nodes hold different sets
// of offers (gossip loss, a node that joined late). So whether a device
// is tested, and when, never depends on the other devices' offers or on
// how much power is offered in all:
//   - An offer is eligible when valid, signed before seedTime, not in
//     skip (e.g. offers already awarded: their event measures them) and
//     its window has room for a test of at least Align from now.
//   - A device (provider and device name) with an eligible offer is
//     drawn with probability Share (Drawn: its ticket
//     SHA-256("gridmint/flex/test-device/v1" ‖ seed ‖ provider ‖ device)
//     below Share / 10^6), independently of every other device: Share is
//     the expected part of the eligible devices, and so of their offered
//     power, tested per selection.
//   - A drawn device is tested once per selection, on its eligible offer
//     with the lowest offer ticket SHA-256("gridmint/flex/test/v1" ‖ 0 ‖
//     seed ‖ offer ID) (DrawTest), at that offer's power, for
//     min(Duration, what is left of the window after now), a multiple of
//     Align and never more than 15 minutes, starting on the Align step
//     the ticket picks. Removing an offer changes nothing for other
//     devices; for its own device at most which of its offers is the
//     lowest (the home holds all its own, so it runs that one; a node
//     that missed it holds another test of the device, which the home
//     does not run: node/market/pof says what becomes of that).
//   - A device is tested at most once per MinGap (at least a week): no
//     test of it in history may start within MinGap of the new one.
//     Every test drawn counts, whatever its outcome (pending, failed,
//     excused, void): an outcome can differ between nodes (one missed
//     the data or the request that voids it), the draw cannot, except
//     at a node that held none of the device's offers in that earlier
//     selection.
func SelectTests(seed [32]byte, seedTime time.Time, offers []SignedOffer, skip map[gridmint.OfferID]bool, history []gridmint.TestResult, now time.Time, params TestParams) []gridmint.TestDispatch {
	p := params.bounded()
	var ignored []Skipped
	kept := dedupOffers(offers, &ignored)
	type key struct {
		provider string
		device   gridmint.DeviceID
	}
	best := map[key]gridmint.TestDispatch{}
	for _, i := range kept {
		so := &offers[i]
		if !so.Signed.Before(seedTime) || skip[so.ID] {
			continue
		}
		k := key{strings.ToLower(so.Provider), so.Offer.Device}
		if !Drawn(seed, k.provider, k.device, p.Share) {
			continue
		}
		t, ok := DrawTest(seed, *so, now, p)
		if !ok {
			continue
		}
		if b, have := best[k]; !have || bytes.Compare(t.ID[:], b.ID[:]) < 0 {
			best[k] = t
		}
	}
	var out []gridmint.TestDispatch
	for _, t := range best {
		if !testedWithin(history, t.Device, t.Start, p.MinGap) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b gridmint.TestDispatch) int { return bytes.Compare(a.ID[:], b.ID[:]) })
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

// VoidTest decides whether a test stands against the awards known: a
// test of a device that holds an award (of any request cleared, reserved
// or not) whose window overlaps the test's [Start, End) is void, and
// the award is returned. Such a request was signed after the selection's
// seed time (earlier ones keep the device out of the draw): the event's
// dispatch wins, the test is not dispatched (or what is left of it is
// withdrawn) and is neither rewarded nor derated. Awards name devices as
// offers do.
func VoidTest(t gridmint.TestDispatch, awards []gridmint.Award) (gridmint.Award, bool) {
	for _, a := range awards {
		if a.Device == t.Device && a.WindowStart.Before(t.End) && t.Start.Before(a.WindowEnd) {
			return a, true
		}
	}
	return gridmint.Award{}, false
}

// VoidResult is the result of a void test (VoidTest): outcome void,
// reason award_overlap, nothing expected or delivered.
func VoidResult(t gridmint.TestDispatch) gridmint.TestResult {
	return gridmint.TestResult{Test: t, Outcome: gridmint.TestVoid, Reason: gridmint.FlexAwardOverlap}
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
