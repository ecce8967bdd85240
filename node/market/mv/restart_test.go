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

// TestRestartKeepsEventsAndIntervals: a node that stops between receiving
// a provider's intervals and verifying keeps both in its store and
// verifies the same record after the restart.
func TestRestartKeepsEventsAndIntervals(t *testing.T) {
	dir := t.TempDir()
	clock := fakeclock.New(t0)
	open := func() (*store.Store, *Service) {
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := New(Options{Self: testAddr(0), Clock: clock, Store: st})
		if err != nil {
			t.Fatal(err)
		}
		return st, svc
	}
	key := testDeviceKey(1)("x/y/z")
	r := gridmint.Request{Zone: "DE-LU", WindowStart: t0, WindowEnd: t0.Add(30 * time.Minute), Power: 1000, Direction: gridmint.DirectionDown,
		MaxPrice: 100, GateClosure: t0.Add(-time.Hour)}
	o := gridmint.Offer{Device: wireID(1, key), Zone: "DE-LU", WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: 1000,
		Direction: gridmint.DirectionDown, FloorPrice: 50, Baseline: gridmint.BaselineMeterBeforeAfter, Expiry: r.GateClosure}
	c := flex.Clear([]flex.SignedRequest{{ID: flex.RequestHash(r), Buyer: testAddr(0).Hex(), Signed: t0.Add(-2 * time.Hour), Request: r}},
		[]flex.SignedOffer{{ID: flex.OfferHash(o), Provider: testAddr(1).Hex(), Signed: t0.Add(-2 * time.Hour), Offer: o}}).Clearings[0]
	e := p2p.IntervalEnergy{Device: key, Request: c.RequestID, Start: t0.Add(-15 * time.Minute), Step: Step,
		Energy: []gridmint.MWh{90_000, 90_000, 90_000, 0, 0, 0, 0, 0, 0, 90_000, 90_000, 90_000}}

	st, svc := open()
	svc.Track(t.Context(), FirmEvent{Clearing: c, Reserved: c.Value()})
	svc.HandleMessage(p2p.Message{Kind: p2p.KindMeter, Author: testAddr(1), Body: e})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, svc = open()
	defer st.Close()
	clock.Set(t0.Add(55 * time.Minute))
	svc.Step(t.Context())
	evs := svc.Events(&c.RequestID)
	if len(evs) != 1 || len(evs[0].Deliveries) != 1 {
		t.Fatalf("after the restart: %+v", evs)
	}
	d := evs[0].Deliveries[0]
	// Baseline 90 Wh a step, nothing metered in the window: capped at
	// the award's 83.333 Wh a step.
	if d.Delivered != 6*gridmint.EnergyAt(1000, Step) || d.Reason != "" {
		t.Errorf("record after the restart: %+v", d.DeliveryRecord)
	}
}
