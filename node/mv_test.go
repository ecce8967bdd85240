package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market/mv"
)

// TestNodeTracksFirmEvents: a node starts the measurement service with
// its gossip, engine and chain; a firm event handed to MV().Track shows
// in GET /api/v1/market/deliveries, and /metrics has the gridmint_flex_*
// counters with their reason labels. (The whole cycle on a network is
// node/market/mv's TestDeliveriesAreMeteredAttestedAndPaid.)
func TestNodeTracksFirmEvents(t *testing.T) {
	parallel(t)
	sp := startSharedPair(t)
	now := sp.clock.Now().Truncate(time.Hour)
	r := gridmint.Request{Zone: "DE-LU", WindowStart: now.Add(2 * time.Hour), WindowEnd: now.Add(3 * time.Hour), Power: 1000,
		Direction: gridmint.DirectionDown, MaxPrice: 300, GateClosure: now.Add(time.Hour)}
	o := gridmint.Offer{Device: gridmint.DeviceID(sp.idB.Address + "/key/" + sp.idB.DeviceKey("x/y/z").String()), Zone: "DE-LU",
		WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: 1500, Direction: gridmint.DirectionDown, FloorPrice: 120,
		Baseline: gridmint.BaselinePJMSameDay, Expiry: r.GateClosure}
	res := flex.Clear([]flex.SignedRequest{{ID: flex.RequestHash(r), Buyer: sp.idA.Address, Signed: now, Request: r}},
		[]flex.SignedOffer{{ID: flex.OfferHash(o), Provider: sp.idB.Address, Signed: now, Offer: o}})
	if len(res.Clearings) != 1 || len(res.Clearings[0].Awards) != 1 {
		t.Fatalf("clearing %+v", res)
	}
	c := res.Clearings[0]
	sp.a.MV().Track(context.Background(), mv.FirmEvent{Clearing: c, Reserved: c.Value()})

	var list api.DeliveryList
	getJSON(t, "http://"+sp.a.HTTPAddr()+"/api/v1/market/deliveries", &list)
	if len(list.Events) != 1 || list.Events[0].RequestID != c.RequestID || list.Events[0].State != "tracking" || list.Events[0].Reserved != c.Value().String() {
		t.Errorf("deliveries %+v, want the tracked event", list.Events)
	}
	metrics := get(t, "http://"+sp.a.HTTPAddr()+"/metrics")
	for _, want := range []string{"gridmint_flex_events_tracked_total 1", `gridmint_flex_delivery_records_total{reason="under_delivered"} 0`,
		`gridmint_flex_deliveries_refused_total{reason="inflated_delivery"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
