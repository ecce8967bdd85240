package mv

import (
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/store"
	dto "github.com/prometheus/client_model/go"
)

// TestIntervalsOfNoAwardAreNotKept: meter data for a request this node
// does not track, from an author who holds no award at that meter, or
// outside the span the award's baseline needs is counted and dropped,
// never stored: no peer can fill another's store with intervals.
func TestIntervalsOfNoAwardAreNotKept(t *testing.T) {
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := New(Options{Self: testAddr(0), Clock: fakeclock.New(t0), Store: st})
	if err != nil {
		t.Fatal(err)
	}
	key := testDeviceKey(1)("x/y/z")
	r := gridmint.Request{Zone: "DE-LU", WindowStart: t0, WindowEnd: t0.Add(30 * time.Minute), Power: 1000, Direction: gridmint.DirectionDown,
		MaxPrice: 100, GateClosure: t0.Add(-time.Hour)}
	o := gridmint.Offer{Device: wireID(1, key), Zone: "DE-LU", WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: 1000,
		Direction: gridmint.DirectionDown, FloorPrice: 50, Baseline: gridmint.BaselineMeterBeforeAfter, Expiry: r.GateClosure}
	c := flex.Clear([]flex.SignedRequest{{ID: flex.RequestHash(r), Buyer: testAddr(0).Hex(), Signed: t0.Add(-2 * time.Hour), Request: r}},
		[]flex.SignedOffer{{ID: flex.OfferHash(o), Provider: testAddr(1).Hex(), Signed: t0.Add(-2 * time.Hour), Offer: o}}).Clearings[0]
	svc.Track(t.Context(), FirmEvent{Clearing: c})
	ok := p2p.IntervalEnergy{Device: key, Request: c.RequestID, Start: t0.Add(-15 * time.Minute), Step: Step, Energy: make([]gridmint.MWh, 12)}
	untracked, wrongKey, early := ok, ok, ok
	untracked.Request = gridmint.RequestID{1}
	wrongKey.Device = gridmint.DeviceKey{2}
	early.Start = t0.Add(-20 * time.Minute)
	for _, m := range []p2p.Message{
		{Author: testAddr(1), Body: untracked},
		{Author: testAddr(2), Body: ok}, // another node naming home 1's meter
		{Author: testAddr(1), Body: wrongKey},
		{Author: testAddr(1), Body: early},
		{Author: testAddr(1), Body: ok},
	} {
		m.Kind = p2p.KindMeter
		svc.HandleMessage(m)
	}
	for reason, want := range map[string]float64{"untracked": 1, "not_awarded": 2, "outside_span": 1} {
		var m dto.Metric
		if err := svc.m.intervalsIgnored.WithLabelValues(reason).Write(&m); err != nil {
			t.Fatal(err)
		}
		if got := m.GetCounter().GetValue(); got != want {
			t.Errorf("ignored %s: %v, want %v", reason, got, want)
		}
	}
	n := 0
	if err := st.ScanSettle(intervalPrefix, func(string, []byte) error { n++; return nil }); err != nil || n != 1 {
		t.Errorf("%d interval messages stored (%v), want the one of the award", n, err)
	}
}
