package mv

import (
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/store"
)

// TestWaitForMissingIntervals: with Config.Wait a node verifies an event
// at Collect when every award has its data, and waits up to Wait longer
// for intervals still missing (late gossip) before verifying without
// them.
func TestWaitForMissingIntervals(t *testing.T) {
	key := testDeviceKey(1)("x/y/z")
	r := gridmint.Request{Zone: "DE-LU", WindowStart: t0, WindowEnd: t0.Add(30 * time.Minute), Power: 1000, Direction: gridmint.DirectionDown,
		MaxPrice: 100, GateClosure: t0.Add(-time.Hour)}
	o := gridmint.Offer{Device: wireID(1, key), Zone: "DE-LU", WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: 1000,
		Direction: gridmint.DirectionDown, FloorPrice: 50, Baseline: gridmint.BaselineMeterBeforeAfter, Expiry: r.GateClosure}
	c := flex.Clear([]flex.SignedRequest{{ID: flex.RequestHash(r), Buyer: testAddr(0).Hex(), Signed: t0.Add(-2 * time.Hour), Request: r}},
		[]flex.SignedOffer{{ID: flex.OfferHash(o), Provider: testAddr(1).Hex(), Signed: t0.Add(-2 * time.Hour), Offer: o}}).Clearings[0]
	// The meter-before/after span: [t0 − 15 min, end + 15 min), 12 steps.
	all := []gridmint.MWh{90_000, 90_000, 90_000, 0, 0, 0, 0, 0, 0, 90_000, 90_000, 90_000}
	msg := func(from, to int) p2p.Message {
		return p2p.Message{Kind: p2p.KindMeter, Author: testAddr(1), Body: p2p.IntervalEnergy{Device: key, Request: c.RequestID,
			Start: t0.Add(-15*time.Minute + time.Duration(from)*Step), Step: Step, Energy: all[from:to]}}
	}
	start := func() (*fakeclock.Clock, *Service) {
		st, err := store.Open(t.TempDir(), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		clock := fakeclock.New(t0)
		svc, err := New(Options{Self: testAddr(0), Clock: clock, Store: st, Config: Config{Wait: 20 * time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		svc.Track(t.Context(), FirmEvent{Clearing: c, Reserved: c.Value()})
		return clock, svc
	}
	verified := func(svc *Service) bool {
		evs := svc.Events(&c.RequestID)
		return len(evs) == 1 && evs[0].State == "verified"
	}
	collect := t0.Add(30*time.Minute + 15*time.Minute + 5*time.Minute + 5*time.Minute) // end + after-span + Grace + Collect

	// The last step arrives late: not verified at Collect, verified
	// with it as soon as it is in.
	clock, svc := start()
	svc.HandleMessage(msg(0, 11))
	clock.Set(collect)
	svc.Step(t.Context())
	if verified(svc) {
		t.Fatal("verified at Collect with a step missing, want to wait")
	}
	svc.HandleMessage(msg(11, 12))
	clock.Set(collect.Add(time.Minute))
	svc.Step(t.Context())
	if !verified(svc) {
		t.Fatal("not verified once every step is in")
	}
	if d := svc.Events(&c.RequestID)[0].Deliveries[0]; d.Delivered != 6*gridmint.EnergyAt(1000, Step) || d.Reason != "" {
		t.Errorf("record %+v, want the full delivery", d.DeliveryRecord)
	}

	// It never arrives: verified without it once Wait has passed.
	clock, svc = start()
	svc.HandleMessage(msg(0, 11))
	clock.Set(collect.Add(19 * time.Minute))
	svc.Step(t.Context())
	if verified(svc) {
		t.Fatal("verified before Wait passed")
	}
	clock.Set(collect.Add(20 * time.Minute))
	svc.Step(t.Context())
	if !verified(svc) {
		t.Fatal("not verified after Wait")
	}
}
