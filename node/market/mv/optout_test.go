package mv

import (
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/p2p"
)

// TestOptOutExcusedOnEveryNode: utility 0 and homes 1 and 2, each
// running node/market beside this service on real gossip, wired as
// package node wires them (the market's ExemptionsFor feeds
// verification). Both homes stake and are awarded 2 kW down in one
// event; neither delivers in full. Home 1 opts its battery out through
// its market before the window: the exemption is gossiped, and every
// node's verification records its award as opt_out, unpaid and not
// slashed. Home 2 declares an exemption after the window started: the
// peers refuse it (exemption_late) and its shortfall is slashed as
// before.
func TestOptOutExcusedOnEveryNode(t *testing.T) {
	if testing.Short() {
		t.Skip("three libp2p nodes on a simulated chain")
	}
	ctx := t.Context()
	bat1 := gridmint.DeviceID(testAddr(1).Hex() + "/victron/bat-1")
	bat2 := gridmint.DeviceID(testAddr(2).Hex() + "/victron/bat-2")
	local := map[int]gridmint.DeviceID{1: bat1, 2: bat2}
	nw := newMVNet(t, 3, map[int][]gridmint.Device{
		1: {{ID: bat1, Kind: gridmint.KindBattery}},
		2: {{ID: bat2, Kind: gridmint.KindBattery}},
	})
	k1, k2 := testDeviceKey(1)(bat1), testDeviceKey(2)(bat2)

	// Both homes stake 1 FLEX, minted by an attested reward.
	stake := big.NewInt(1e18)
	grant := chain.NewRewardBatch([]chain.Reward{
		{RecordID: common.Hash{0xe1}, Provider: testAddr(1), Amount: stake, Kind: chain.RewardDelivery, Evidence: common.Hash{1}},
		{RecordID: common.Hash{0xe2}, Provider: testAddr(2), Amount: stake, Kind: chain.RewardDelivery, Evidence: common.Hash{2}},
	})
	var sigs [][]byte
	for _, i := range []int{0, 1} {
		sig, err := chain.Sign(testKey(i), nw.nodes[0].client.FLEXDomain().Digest(grant.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	if _, err := nw.nodes[0].client.Reward(ctx, grant, sigs); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2} {
		if _, err := nw.nodes[i].client.Stake(ctx, common.Hash{byte(0x50 + i)}, stake); err != nil {
			t.Fatal(err)
		}
	}

	// The market on every node, fed by the same gossip.
	markets := make([]*market.Service, 3)
	var mu sync.Mutex
	seen := map[int]map[common.Hash]bool{}
	for _, nd := range nw.nodes {
		var devs []devices.DeviceState
		for _, d := range nd.devices {
			devs = append(devs, devices.DeviceState{Device: d, Online: true})
		}
		mk, err := market.New(market.Config{}, market.Deps{Log: testLog(nd.i), Clock: nw.clock, Self: testAddr(nd.i), Home: nd.i > 0,
			Key: testDeviceKey(nd.i), Devices: func() []devices.DeviceState { return devs }, Store: nd.st, Publish: nd.p2p.Publish})
		if err != nil {
			t.Fatal(err)
		}
		markets[nd.i] = mk
		// As package node wires it: verification takes the market's
		// exemptions.
		nd.svc.SetExemptions(mk.ExemptionsFor)
		i := nd.i
		seen[i] = map[common.Hash]bool{}
		nd.p2p.Handle(func(m p2p.Message) {
			mk.Handle(m)
			mu.Lock()
			seen[i][m.ID] = true
			mu.Unlock()
		})
	}
	everyone := func(what string, id common.Hash) {
		t.Helper()
		for _, nd := range nw.nodes {
			waitFor(t, fmt.Sprintf("node %d has %s", nd.i, what), func() bool {
				mu.Lock()
				defer mu.Unlock()
				return seen[nd.i][id]
			})
		}
	}
	publish := func(i int, b p2p.Body) p2p.Message {
		t.Helper()
		m, err := nw.nodes[i].p2p.Publish(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	// The request and both offers, gossiped before the gate closure.
	w := t0
	r := p2p.Request{Zone: "DE-LU", WindowStart: w, WindowEnd: w.Add(30 * time.Minute), Power: 4000, Direction: gridmint.DirectionDown,
		MaxPrice: 500, GateClosure: w.Add(-time.Hour)}
	rm := publish(0, r)
	everyone("the request", rm.ID)
	id := gridmint.RequestID(rm.ID)
	offers := []flex.SignedRequest{{ID: id, Buyer: rm.Author.Hex(), Signed: rm.Created, Request: gridmint.Request(r)}}
	var signed []flex.SignedOffer
	for i, key := range map[int]gridmint.DeviceKey{1: k1, 2: k2} {
		o := p2p.Offer{Device: key, Zone: "DE-LU", WindowStart: w, WindowEnd: w.Add(30 * time.Minute), Power: 2000,
			Direction: gridmint.DirectionDown, FloorPrice: 100, Baseline: gridmint.BaselineMeterBeforeAfter, Expiry: w.Add(-time.Hour)}
		m := publish(i, o)
		everyone("an offer", m.ID)
		terms := o.Terms()
		terms.Device = market.NetDevice(m.Author, key)
		signed = append(signed, flex.SignedOffer{ID: gridmint.OfferID(m.ID), Provider: m.Author.Hex(), Signed: m.Created, Offer: terms})
	}

	// Every market clears at the gate closure (+ collect); the firm event
	// is this clearing (the reservation is not what is tested here).
	nw.clock.Set(w.Add(-time.Hour + 2*time.Minute))
	for _, mk := range markets {
		mk.Step(ctx)
	}
	res := flex.Clear(offers, signed)
	if len(res.Clearings) != 1 || len(res.Clearings[0].Awards) != 2 {
		t.Fatalf("clearing: %+v", res)
	}
	c := res.Clearings[0]
	for i, mk := range markets {
		if ev, ok := mk.MarketEvent(id); !ok || ev.Clearing == nil || ev.Clearing.Root != common.Hash(c.Root) {
			t.Fatalf("node %d's market: %+v, want cleared on root %x", i, ev.Clearing, c.Root)
		}
	}

	// Home 1 opts out half an hour before the window.
	nw.clock.Set(w.Add(-30 * time.Minute))
	x, declared, err := markets[1].OptOut(ctx, id, bat1)
	if err != nil || !declared {
		t.Fatalf("home 1's opt-out: %+v %v", x, err)
	}
	everyone("home 1's opt-out", x.Message)
	for i, mk := range markets {
		if ex := mk.ExemptionsFor(id); len(ex) != 1 || ex[0].Device != market.NetDevice(testAddr(1), k1) || ex[0].Reason != gridmint.FlexOptOut {
			t.Fatalf("node %d keeps %+v, want home 1's opt-out", i, ex)
		}
	}
	for _, nd := range nw.nodes {
		ev := FirmEvent{Clearing: c, ReservationTx: common.Hash{0xaa}, Reserved: c.Value(), ReservationBlock: nw.sim.Head()}
		for _, a := range c.Awards {
			if a.Provider == testAddr(nd.i).Hex() {
				ev.Local = append(ev.Local, LocalAward{Award: a, Device: local[nd.i]})
			}
		}
		nd.svc.Track(ctx, ev)
	}

	// Home 2 tries after the window started: refused everywhere, so its
	// shortfall stands.
	nw.clock.Set(w.Add(time.Minute))
	if _, _, err := markets[2].OptOut(ctx, id, bat2); flex.Reason(err) != market.ReasonExemptionLate {
		t.Errorf("home 2's opt-out in the window: %v, want exemption_late", err)
	}
	late := publish(2, p2p.Exemption{Request: id, Device: k2, Reason: gridmint.FlexOptOut})
	everyone("home 2's late exemption", late.ID)
	for i, mk := range markets {
		if ex := mk.ExemptionsFor(id); len(ex) != 1 {
			t.Errorf("node %d keeps %+v after home 2's late exemption, want home 1's only", i, ex)
		}
	}

	// Home 1's battery stays idle (it opted out); home 2's delivers 40 %.
	putReadings(t, nw.nodes[1].st, battery(bat1, t0.Add(-time.Hour), t0.Add(2*time.Hour), nil))
	putReadings(t, nw.nodes[2].st, battery(bat2, t0.Add(-time.Hour), t0.Add(2*time.Hour), map[time.Time]int64{w: 800}))
	stepAll := func(at time.Time) {
		nw.clock.Set(at)
		for _, nd := range nw.nodes {
			nd.svc.Step(ctx)
		}
	}
	end := r.WindowEnd.Add(15 * time.Minute)
	stepAll(end.Add(5 * time.Minute))
	for _, a := range c.Awards {
		key, _ := keyOf(a.Meter)
		src := source{common.HexToAddress(a.Provider), key}
		for _, nd := range nw.nodes {
			waitFor(t, fmt.Sprintf("node %d has the intervals of %s", nd.i, a.Device), func() bool {
				nd.svc.mu.Lock()
				defer nd.svc.mu.Unlock()
				got := nd.svc.intervals[id][src]
				return got != nil && got.Len() >= 12
			})
		}
	}
	stepAll(end.Add(10 * time.Minute))
	for _, nd := range nw.nodes {
		evs := nd.svc.Events(&id)
		if len(evs) != 1 || len(evs[0].Deliveries) != 2 {
			t.Fatalf("node %d: %+v", nd.i, evs)
		}
		for _, d := range evs[0].Deliveries {
			switch d.Provider {
			case testAddr(1).Hex():
				if d.Reason != gridmint.FlexOptOut || d.Payment.Sign() != 0 || d.Slash != nil {
					t.Errorf("node %d: home 1's record %+v, slash %v: want opt_out, not paid, not slashed", nd.i, d.DeliveryRecord, d.Slash)
				}
			case testAddr(2).Hex():
				if d.Reason != gridmint.FlexUnderDelivered || d.Slash == nil || d.Slash.Sign() <= 0 {
					t.Errorf("node %d: home 2's record %+v, slash %v: want under_delivered and slashed", nd.i, d.DeliveryRecord, d.Slash)
				}
			default:
				t.Errorf("node %d: record of %s", nd.i, d.Provider)
			}
		}
	}
}
