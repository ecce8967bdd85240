package market

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"go.yaml.in/yaml/v3"
)

// TestTestCandidatesSkipWhatAnEventMayDispatch: offers of a request not
// cleared by the seed time are skipped, then the awarded ones and any
// overlapping offer of an awarded device; every node skips the same.
func TestTestCandidatesSkipWhatAnEventMayDispatch(t *testing.T) {
	cn := newCycleNet(t) // two home batteries offered for [12:00, 13:00), gate closure 11:00
	for i, n := range cn.nodes {
		offers, skip := n.s.TestCandidates(t0.Add(30 * time.Minute))
		if len(offers) != 2 || len(skip) != 2 {
			t.Fatalf("node %d before the gate closure: %d offers, %d skipped: want both skipped (the request may award them)", i, len(offers), len(skip))
		}
	}
	cn.at(t0.Add(time.Hour + time.Minute)) // cleared: both awarded
	// Home 0 offers its battery for a quarter hour inside the awarded
	// window and for one after it.
	dev := cn.h0.devs[0].ID
	in := gridmint.Offer{Device: dev, Zone: "DE-LU", WindowStart: t0.Add(2*time.Hour + 15*time.Minute), WindowEnd: t0.Add(2*time.Hour + 30*time.Minute),
		Power: 1000, Direction: gridmint.DirectionDown, FloorPrice: 100_000, Baseline: gridmint.BaselineSchedule, Expiry: t0.Add(2 * time.Hour)}
	out := in
	out.WindowStart, out.WindowEnd, out.Expiry = t0.Add(3*time.Hour), t0.Add(3*time.Hour+15*time.Minute), t0.Add(3*time.Hour)
	var ids []gridmint.OfferID
	for _, o := range []gridmint.Offer{in, out} {
		m, err := cn.h0.s.PublishOffer(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, gridmint.OfferID(m.ID))
	}
	seed := t0.Add(time.Hour + 2*time.Minute)
	cn.clock.Set(seed.Add(time.Minute))
	var first map[gridmint.OfferID]bool
	for i, n := range cn.nodes {
		offers, skip := n.s.TestCandidates(seed)
		if len(offers) != 4 || len(skip) != 3 || !skip[ids[0]] || skip[ids[1]] {
			t.Fatalf("node %d: %d offers, skipped %v: want the two awarded and the overlapping quarter hour skipped, the later one not", i, len(offers), skip)
		}
		if i == 0 {
			first = skip
		} else if len(skip) != len(first) {
			t.Fatalf("node %d skips %v, node 0 %v", i, skip, first)
		}
	}
	// Offers signed at or after the seed time do not take part.
	if offers, _ := cn.u.s.TestCandidates(t0.Add(time.Hour)); len(offers) != 2 {
		t.Fatalf("%d offers signed before 11:00, want the 2 of the request", len(offers))
	}
	// Every node holds each battery's award, by the name offers give the
	// device: what voids a test of it that the award overlaps (pof).
	for i, n := range cn.nodes {
		offers, _ := n.s.TestCandidates(seed)
		for _, o := range offers {
			aw := n.s.AwardsOf(o.Offer.Device)
			if len(aw) != 1 || aw[0].Device != o.Offer.Device || !aw[0].WindowStart.Equal(t0.Add(2*time.Hour)) || !aw[0].WindowEnd.Equal(t0.Add(3*time.Hour)) {
				t.Fatalf("node %d: awards of %s: %+v, want the request's one for [12:00, 13:00)", i, o.Offer.Device, aw)
			}
		}
		if aw := n.s.AwardsOf("0x0000000000000000000000000000000000000001/key/00"); len(aw) != 0 {
			t.Fatalf("node %d: awards of an unknown device: %+v", i, aw)
		}
	}
}

// TestDerateShrinksOffers: a device derated by its tests offers that
// part of its capacity.
func TestDerateShrinksOffers(t *testing.T) {
	cn := newCycleNet(t)
	if got := cn.h0.s.MarketOffers().Offers[0].Offer.Power; got != 3000 {
		t.Fatalf("offer %v W before derating, want 3000", got)
	}
	cn.h0.s.SetDerate(func(d gridmint.DeviceID) int64 {
		if d == NetDevice(cn.h0.addr, cn.h0.s.d.Key(cn.h0.devs[0].ID)) {
			return 500_000
		}
		return 1_000_000
	})
	m := cn.deliver(cn.u.addr, request()) // a second request: a fresh offer
	cn.step()
	found := false
	for _, o := range cn.h0.s.MarketOffers().Offers {
		if o.RequestID == gridmint.RequestID(m.ID) {
			found = true
			if o.Offer.Power != 1500 {
				t.Fatalf("derated offer %v W, want 1500 (half)", o.Offer.Power)
			}
		}
	}
	if !found {
		t.Fatal("no offer for the second request")
	}
	if _, err := cn.h0.s.PublishOffer(context.Background(), gridmint.Offer{Device: cn.h0.devs[0].ID, Zone: "DE-LU",
		WindowStart: t0.Add(4 * time.Hour), WindowEnd: t0.Add(5 * time.Hour), Power: 3000, Direction: gridmint.DirectionDown,
		FloorPrice: 100_000, Baseline: gridmint.BaselineSchedule, Expiry: t0.Add(4 * time.Hour)}); flex.Reason(err) != gridmint.FlexOverCapacity {
		t.Fatalf("offer above the derated capacity: %v, want over_capacity", err)
	}
}

// TestPlanTest: a test of an own battery is its setpoint and restore;
// another's device or an opted-out one is refused with its reason.
func TestPlanTest(t *testing.T) {
	cn := newCycleNet(t)
	h := cn.h0
	td := gridmint.TestDispatch{ID: gridmint.TestID{1}, Device: NetDevice(h.addr, h.s.d.Key(h.devs[0].ID)), Direction: gridmint.DirectionDown,
		Start: t0.Add(5 * time.Hour), End: t0.Add(5*time.Hour + 15*time.Minute), Power: 2000, Baseline: gridmint.BaselineSchedule, Provider: h.addr.Hex()}
	steps, local, err := h.s.PlanTest(td)
	if err != nil || local != h.devs[0].ID || len(steps) != 2 || steps[0].Setpoint.Value != 2000 || !steps[0].At.Equal(td.Start) ||
		!steps[1].Restore || !steps[1].At.Equal(td.End) || steps[0].Setpoint.Origin != gridmint.OriginMarket {
		t.Fatalf("plan %+v %v %v", steps, local, err)
	}
	if _, _, err := cn.h1.s.PlanTest(td); flex.Reason(err) != gridmint.FlexUnknownDevice {
		t.Fatalf("another home's device: %v", err)
	}
	cfg := homeConfig(100_000)
	cfg.Devices = map[string]Policy{string(h.devs[0].ID): {OptOut: true}}
	h.start(cfg, true)
	if _, _, err := h.s.PlanTest(td); flex.Reason(err) != gridmint.FlexOptOut {
		t.Fatalf("opted out: %v", err)
	}
}

// TestTestsConfig: the README's market.tests example is valid, the
// defaults are, and out-of-range settings are refused naming the field.
func TestTestsConfig(t *testing.T) {
	var c Config
	raw := "tests:\n  enabled: true\n  every: 24h\n  share_ppm: 20000\n  duration: 15m\n  lead: 15m\n  pre_roll: 1m\n  reward_per_kw: 1000000\n"
	if err := yaml.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil || !c.Tests.Enabled || c.Tests.Every != 24*time.Hour {
		t.Fatalf("README example: %+v, %v", c.Tests, err)
	}
	var d Config
	d.ApplyDefaults()
	if err := d.Validate(); err != nil || d.Tests.Enabled || d.Tests.Lead != 15*time.Minute || d.Tests.SharePPM != 20_000 {
		t.Fatalf("defaults %+v: %v", d.Tests, err)
	}
	for _, bad := range []func(*TestsConfig){
		func(c *TestsConfig) { c.Every = 7 * time.Hour },
		func(c *TestsConfig) { c.Duration = 20 * time.Minute },
		func(c *TestsConfig) { c.Lead = 24 * time.Hour },
		func(c *TestsConfig) { c.SharePPM = 2_000_000 },
		func(c *TestsConfig) { c.PreRoll = time.Hour },
		func(c *TestsConfig) { c.RewardPerKW = -1 },
	} {
		c := d
		bad(&c.Tests)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "market.tests.") {
			t.Errorf("%+v: %v, want a market.tests error", c.Tests, err)
		}
	}
}
