package flex

import (
	"bytes"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

var (
	winStart = date(2026, 11, 22).Add(17 * time.Hour)
	gate     = winStart.Add(-15 * time.Minute)
)

func offer(n int, price gridmint.MicroFLEX, watts gridmint.W) SignedOffer {
	return SignedOffer{
		ID: oid(n), Provider: addr(n), Signed: gate.Add(-time.Hour),
		Offer: gridmint.Offer{Device: dev(n), Zone: "DE-LU", WindowStart: winStart, WindowEnd: winStart.Add(time.Hour),
			Power: watts, Direction: gridmint.DirectionDown, FloorPrice: price, Baseline: gridmint.BaselineSchedule, Expiry: gate},
	}
}

func request(n int, watts gridmint.W, maxPrice gridmint.MicroFLEX) SignedRequest {
	return SignedRequest{
		ID: rid(n), Buyer: addr(1000 + n), Signed: gate.Add(-2 * time.Hour),
		Request: gridmint.Request{Zone: "DE-LU", WindowStart: winStart, WindowEnd: winStart.Add(time.Hour), Power: watts,
			Direction: gridmint.DirectionDown, MaxPrice: maxPrice, GateClosure: gate},
	}
}

func awardedOffers(c Clearing) []gridmint.OfferID {
	var ids []gridmint.OfferID
	for _, a := range c.Awards {
		ids = append(ids, a.OfferID)
	}
	return ids
}

func sortedIDs(ids ...gridmint.OfferID) []gridmint.OfferID {
	slices.SortFunc(ids, func(a, b gridmint.OfferID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// lower returns the two offer numbers ordered by their IDs.
func byID(a, b int) (lo, hi int) {
	ia, ib := oid(a), oid(b)
	if bytes.Compare(ia[:], ib[:]) < 0 {
		return a, b
	}
	return b, a
}

func TestClearMeritOrderAndMargin(t *testing.T) {
	// 1 and 2 tie at 100 (the lower ID goes first), then 3 at 120, 4 at
	// 150, 5 at 300. A 6 kW request takes 3 + 2 = 5 kW, then the
	// marginal offer 3 (4 kW) whole: 9 kW, over by 3 kW < 4 kW.
	offers := []SignedOffer{offer(1, 100, 3000), offer(2, 100, 2000), offer(3, 120, 4000), offer(4, 150, 5000), offer(5, 300, 1000)}
	res := Clear([]SignedRequest{request(1, 6000, 200)}, offers)
	c := res.Clearings[0]
	if got, want := awardedOffers(c), sortedIDs(oid(1), oid(2), oid(3)); !slices.Equal(got, want) {
		t.Fatalf("awarded %v, want offers 1, 2, 3", got)
	}
	if c.Price != 120 || c.Awarded != 9000 || c.Short {
		t.Errorf("price %d awarded %v short %v, want 120, 9000 W, false", c.Price, c.Awarded, c.Short)
	}
	for _, a := range c.Awards {
		if a.Price != 120 || !a.WindowStart.Equal(winStart) || a.Meter != a.Device {
			t.Errorf("award %+v: want pay-as-clear 120 in the request's window, meter = device", a)
		}
	}

	// Exactly met: 5 kW takes 1 and 2 only, price 100.
	c = Clear([]SignedRequest{request(1, 5000, 200)}, offers).Clearings[0]
	if c.Price != 100 || c.Awarded != 5000 || len(c.Awards) != 2 {
		t.Errorf("5 kW: price %d awarded %v awards %d, want 100, 5000, 2", c.Price, c.Awarded, len(c.Awards))
	}

	// Ties by offer ID only: a 1 kW request takes whichever of 1 and 2
	// has the lower ID, whatever their powers.
	lo, _ := byID(1, 2)
	c = Clear([]SignedRequest{request(1, 1000, 200)}, offers).Clearings[0]
	if got := awardedOffers(c); !slices.Equal(got, []gridmint.OfferID{oid(lo)}) {
		t.Errorf("tie: awarded %v, want offer %d (lower id)", got, lo)
	}

	// Nothing above the maximum price clears; the request is short.
	c = Clear([]SignedRequest{request(1, 20_000, 140)}, offers).Clearings[0]
	if c.Price != 120 || c.Awarded != 9000 || !c.Short {
		t.Errorf("max 140: price %d awarded %v short %v, want 120, 9000, true", c.Price, c.Awarded, c.Short)
	}
	c = Clear([]SignedRequest{request(1, 20_000, 50)}, offers).Clearings[0]
	if c.Price != 0 || len(c.Awards) != 0 || c.Root != AwardsRoot(nil) {
		t.Errorf("max below every offer: %+v, want nothing cleared", c)
	}
}

func TestClearEligibility(t *testing.T) {
	base := offer(1, 100, 1000)
	edits := map[string]func(*SignedOffer){
		"other zone":              func(o *SignedOffer) { o.Offer.Zone = "FR" },
		"other direction":         func(o *SignedOffer) { o.Offer.Direction = gridmint.DirectionUp },
		"window starts later":     func(o *SignedOffer) { o.Offer.WindowStart = winStart.Add(15 * time.Minute) },
		"window ends earlier":     func(o *SignedOffer) { o.Offer.WindowEnd = winStart.Add(45 * time.Minute) },
		"signed after gate":       func(o *SignedOffer) { o.Signed = gate.Add(time.Second) },
		"expired before the gate": func(o *SignedOffer) { o.Offer.Expiry = gate.Add(-time.Second) },
		"above the maximum":       func(o *SignedOffer) { o.Offer.FloorPrice = 201 },
	}
	for name, edit := range edits {
		o := base
		edit(&o)
		if c := Clear([]SignedRequest{request(1, 1000, 200)}, []SignedOffer{o}).Clearings[0]; len(c.Awards) != 0 {
			t.Errorf("%s: awarded %v", name, awardedOffers(c))
		}
	}
	// A wider offer window contains the request's; signed exactly at the
	// gate closure counts; expiring exactly at it counts.
	o := base
	o.Offer.WindowStart, o.Offer.WindowEnd = winStart.Add(-10*time.Minute), winStart.Add(3*time.Hour)
	o.Offer.Expiry, o.Signed = gate, gate
	if c := Clear([]SignedRequest{request(1, 1000, 200)}, []SignedOffer{o}).Clearings[0]; len(c.Awards) != 1 || !c.Awards[0].WindowEnd.Equal(winStart.Add(time.Hour)) {
		t.Errorf("containing window: %+v, want one award in the request's window", c.Awards)
	}
}

func TestClearOneAwardPerOfferAndDevice(t *testing.T) {
	// Two requests for the same window; offer 1 can serve only one. A
	// second offer of device 1 (a duplicate by other ID) cannot be awarded
	// in the same window either.
	dup := offer(1, 90, 1000)
	dup.ID = oid(99)
	offers := []SignedOffer{offer(1, 100, 1000), dup, offer(2, 110, 1000)}
	r1, r2 := request(1, 1000, 200), request(2, 1000, 200)
	r1.Request.GateClosure = gate.Add(-time.Minute) // clears before r2
	res := Clear([]SignedRequest{r2, r1}, offers)
	if len(res.Clearings) != 2 || res.Clearings[0].RequestID != rid(1) {
		t.Fatalf("clearing order: %v", res.Clearings)
	}
	c1, c2 := res.Clearings[0], res.Clearings[1]
	if got := awardedOffers(c1); !slices.Equal(got, []gridmint.OfferID{oid(99)}) {
		t.Errorf("first request: %v, want the cheapest (offer 99 of device 1)", got)
	}
	if got := awardedOffers(c2); !slices.Equal(got, []gridmint.OfferID{oid(2)}) {
		t.Errorf("second request: %v, want offer 2 (device 1 is busy)", got)
	}
	// Non-overlapping windows: the same device may serve both.
	r3 := request(3, 1000, 200)
	r3.Request.WindowStart, r3.Request.WindowEnd = winStart.Add(time.Hour), winStart.Add(2*time.Hour)
	wide := offer(1, 100, 1000)
	wide.Offer.WindowEnd = winStart.Add(2 * time.Hour)
	other := wide
	other.ID = oid(98)
	res = Clear([]SignedRequest{request(1, 1000, 200), r3}, []SignedOffer{wide, other})
	if len(res.Clearings[0].Awards) != 1 || len(res.Clearings[1].Awards) != 1 {
		t.Errorf("back-to-back windows: %d and %d awards, want 1 and 1", len(res.Clearings[0].Awards), len(res.Clearings[1].Awards))
	}
}

func TestClearSkipsBadInput(t *testing.T) {
	good := offer(1, 100, 1000)
	bad := offer(2, 100, 1000)
	bad.Offer.Power = 1000.5 // not whole watts
	noProv := offer(3, 100, 1000)
	noProv.Provider = "me"
	conflictA, conflictB := offer(4, 100, 1000), offer(4, 100, 2000) // one ID, two contents
	again := good                                                    // the same message from another peer
	res := Clear([]SignedRequest{request(1, 10_000, 200)}, []SignedOffer{good, bad, noProv, conflictA, conflictB, again})
	if got := awardedOffers(res.Clearings[0]); !slices.Equal(got, []gridmint.OfferID{oid(1)}) {
		t.Errorf("awarded %v, want only offer 1", got)
	}
	want := map[gridmint.OfferID]gridmint.FlexReason{oid(2): gridmint.FlexInvalid, oid(3): gridmint.FlexInvalid, oid(4): gridmint.FlexIDConflict}
	if len(res.Skipped) != len(want) {
		t.Fatalf("skipped %+v, want %d", res.Skipped, len(want))
	}
	for _, s := range res.Skipped {
		if want[gridmint.OfferID(s.ID)] != s.Reason || !s.Offer {
			t.Errorf("skipped %x: %s (%s), want %s", s.ID[:4], s.Reason, s.Detail, want[gridmint.OfferID(s.ID)])
		}
	}
}

// market is a random but reproducible market: zones, directions, hourly
// windows, prices with many ties.
func market(seed uint64, nOffers, nRequests int) ([]SignedRequest, []SignedOffer) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	zones := []string{"DE-LU", "FR", "NL", "BE", "AT", "DK1", "DK2", "PL", "CZ", "CH"}
	dirs := []gridmint.Direction{gridmint.DirectionDown, gridmint.DirectionUp}
	day := date(2026, 11, 23)
	offers := make([]SignedOffer, nOffers)
	for i := range offers {
		h := rng.IntN(24)
		start := day.Add(time.Duration(h) * time.Hour)
		offers[i] = SignedOffer{
			ID: oid(i), Provider: addr(i % 5000), Signed: day.Add(-time.Duration(1+rng.IntN(5)) * time.Hour),
			Offer: gridmint.Offer{
				Device: dev(i % (nOffers/2 + 1)), Zone: zones[rng.IntN(len(zones))], WindowStart: start,
				WindowEnd: start.Add(time.Duration(1+rng.IntN(3)) * time.Hour), Power: gridmint.W(500 + rng.IntN(22)*500),
				Direction: dirs[rng.IntN(2)], FloorPrice: gridmint.MicroFLEX(50_000 + rng.IntN(40)*5_000),
				Baseline: gridmint.BaselineMethods[rng.IntN(len(gridmint.BaselineMethods))], Expiry: day,
			},
		}
	}
	requests := make([]SignedRequest, nRequests)
	for i := range requests {
		h := rng.IntN(24)
		start := day.Add(time.Duration(h) * time.Hour)
		requests[i] = SignedRequest{
			ID: rid(i), Buyer: addr(10_000 + i), Signed: day.Add(-6 * time.Hour),
			Request: gridmint.Request{Zone: zones[rng.IntN(len(zones))], WindowStart: start, WindowEnd: start.Add(time.Hour),
				Power: gridmint.W(5_000 + rng.IntN(200)*1000), Direction: dirs[rng.IntN(2)],
				MaxPrice: gridmint.MicroFLEX(80_000 + rng.IntN(30)*5_000), GateClosure: day.Add(-time.Duration(rng.IntN(3)) * time.Minute)},
		}
	}
	return requests, offers
}

func roots(r Result) []string {
	var out []string
	for _, c := range r.Clearings {
		out = append(out, fmt.Sprintf("%x:%x:%d:%v", c.RequestID[:4], c.Root, c.Price, c.Awarded))
	}
	return out
}

// TestClearingIsOrderAndSplitInvariant: nodes receive the same signed
// inputs in different orders, in parts from different peers, some twice;
// every node computes the same awards and roots.
func TestClearingIsOrderAndSplitInvariant(t *testing.T) {
	reqs, offs := market(7, 5000, 200)
	want := Clear(reqs, offs)
	awarded := 0
	for _, c := range want.Clearings {
		awarded += len(c.Awards)
	}
	if awarded < 100 {
		t.Fatalf("only %d awards: the market does not exercise clearing", awarded)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for node := 0; node < 8; node++ {
		// Split the inputs among 3 peers, with overlaps; the node merges
		// what the peers send in arrival order.
		var gotOffers []SignedOffer
		var gotReqs []SignedRequest
		for peer := 0; peer < 3; peer++ {
			for _, o := range offs {
				if rng.IntN(3) == peer || rng.IntN(10) == 0 {
					gotOffers = append(gotOffers, o)
				}
			}
			for _, r := range reqs {
				if rng.IntN(3) == peer || rng.IntN(10) == 0 {
					gotReqs = append(gotReqs, r)
				}
			}
		}
		// Make sure the union is complete (a peer that missed one gets it
		// from catch-up), then shuffle.
		gotOffers = append(gotOffers, offs...)
		gotReqs = append(gotReqs, reqs...)
		rng.Shuffle(len(gotOffers), func(i, j int) { gotOffers[i], gotOffers[j] = gotOffers[j], gotOffers[i] })
		rng.Shuffle(len(gotReqs), func(i, j int) { gotReqs[i], gotReqs[j] = gotReqs[j], gotReqs[i] })
		got := Clear(gotReqs, gotOffers)
		if !slices.Equal(roots(got), roots(want)) {
			t.Fatalf("node %d computed other roots than the reference", node)
		}
	}
}

func TestAwardsRootAndProofs(t *testing.T) {
	reqs, offs := market(3, 2000, 50)
	res := Clear(reqs, offs)
	checked := 0
	for _, c := range res.Clearings {
		shuffled := slices.Clone(c.Awards)
		slices.Reverse(shuffled)
		if AwardsRoot(shuffled) != c.Root {
			t.Fatal("root depends on award order")
		}
		for _, a := range c.Awards {
			proof, i, n, ok := AwardProof(shuffled, a.OfferID)
			if !ok || !VerifyAwardProof(c.Root, a, i, n, proof) {
				t.Fatalf("proof of %v does not verify", a.OfferID)
			}
			tampered := a
			tampered.Power++
			if VerifyAwardProof(c.Root, tampered, i, n, proof) {
				t.Fatal("a tampered award verifies")
			}
			if n > 1 && VerifyAwardProof(c.Root, a, (i+1)%n, n, proof) {
				t.Fatal("a proof verifies at another index")
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no awards to check")
	}
	if _, _, _, ok := AwardProof(nil, oid(1)); ok {
		t.Error("proof of an absent award")
	}
}

func TestAwardsRootKnownVectors(t *testing.T) {
	// RFC 9162: the empty tree is SHA-256 of nothing; one leaf is its
	// leaf hash; two leaves hash as 0x01 ‖ left ‖ right.
	if got := fmt.Sprintf("%x", AwardsRoot(nil)); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty root %s", got)
	}
	a := gridmint.Award{RequestID: rid(1), OfferID: oid(1), Provider: addr(1), Device: dev(1), Meter: dev(1), Zone: "DE-LU",
		Direction: gridmint.DirectionDown, WindowStart: winStart, WindowEnd: winStart.Add(time.Hour), Power: 1000, Price: 5, Baseline: gridmint.BaselineSchedule}
	if AwardsRoot([]gridmint.Award{a}) != leafHash(a) {
		t.Error("one-leaf root is not the leaf hash")
	}
	b := a
	b.OfferID = oid(2)
	l, r := leafHash(a), leafHash(b)
	if bytes.Compare(a.OfferID[:], b.OfferID[:]) > 0 {
		l, r = r, l
	}
	if AwardsRoot([]gridmint.Award{a, b}) != nodeHash(l, r) {
		t.Error("two-leaf root")
	}
	upper := a
	upper.Provider = "0x" + fmt.Sprintf("%040X", 2)
	lowerCase := a
	lowerCase.Provider = addr(1)
	if AwardsRoot([]gridmint.Award{upper}) != AwardsRoot([]gridmint.Award{lowerCase}) {
		t.Error("provider case changes the root")
	}
}

func TestAwardValueAndReservation(t *testing.T) {
	// 7 kW for an hour at 0.15 FLEX/kWh: 1.05 FLEX = 1.05e18 base units.
	a := gridmint.Award{Power: 7000, Price: 150_000, WindowStart: winStart, WindowEnd: winStart.Add(time.Hour)}
	if want, _ := new(big.Int).SetString("1050000000000000000", 10); a.Value().Cmp(want) != 0 {
		t.Fatalf("value %v, want %v", a.Value(), want)
	}
	res := Clear([]SignedRequest{request(1, 6000, 200)}, []SignedOffer{offer(1, 100, 3000), offer(2, 100, 2000), offer(3, 120, 4000)})
	c := res.Clearings[0]
	v := c.Value()
	if err := CheckReservation(c, rid(1), c.Root, v); err != nil {
		t.Errorf("exact reservation: %v", err)
	}
	if err := CheckReservation(c, rid(1), c.Root, new(big.Int).Sub(v, big.NewInt(1))); Reason(err) != gridmint.FlexReservationShort {
		t.Errorf("one unit short: %v", err)
	}
	other := c.Root
	other[0] ^= 1
	if err := CheckReservation(c, rid(1), other, v); Reason(err) != gridmint.FlexReservationRoot {
		t.Errorf("other root: %v", err)
	}
	if err := CheckAwardsRoot(c, other); Reason(err) != gridmint.FlexRootMismatch {
		t.Errorf("awards root mismatch: %v", err)
	}
	if err := CheckAwardsRoot(c, c.Root); err != nil {
		t.Errorf("awards root: %v", err)
	}
}

func TestCheckRequest(t *testing.T) {
	r := request(1, 1000, 100)
	if err := CheckRequest(r, gate.Add(-time.Second)); err != nil {
		t.Errorf("before the gate: %v", err)
	}
	if err := CheckRequest(r, gate); Reason(err) != gridmint.FlexGateClosed {
		t.Errorf("at the gate: %v, want gate_closed", err)
	}
	r.Request.Power = 0
	if err := CheckRequest(r, gate.Add(-time.Hour)); Reason(err) != gridmint.FlexInvalid {
		t.Errorf("zero power: %v, want invalid", err)
	}
}
