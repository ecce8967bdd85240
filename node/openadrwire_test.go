package node

import (
	"context"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/market/mv"
)

type fakeMVEvents map[gridmint.RequestID]mv.Event

func (f fakeMVEvents) Events(r *gridmint.RequestID) []mv.Event {
	if e, ok := f[*r]; ok {
		return []mv.Event{e}
	}
	return nil
}

// TestOpenADRDeliveriesFromMV: the VTN's delivery source is mv's tracked
// event once verified or settled, with each award's record, baseline and
// metered energy.
func TestOpenADRDeliveriesFromMV(t *testing.T) {
	parallel(t)
	start := time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)
	req := gridmint.Request{Zone: "NL", WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 50e3, Direction: gridmint.DirectionDown}
	base, met := gridmint.MWh(9e6), gridmint.MWh(4e6)
	rec := mv.Record{DeliveryRecord: gridmint.DeliveryRecord{Awarded: 5e6, Delivered: 5e6, StepSeconds: 300}, BaselineMWh: &base, MeteredMWh: &met}
	ids := []gridmint.RequestID{{1}, {2}, {3}}
	evs := fakeMVEvents{
		ids[0]: {RequestID: ids[0], Request: req, Price: 1000, State: "tracking"},
		ids[1]: {RequestID: ids[1], Request: req, Price: 1000, State: "verified", Deliveries: []mv.Record{rec}},
		ids[2]: {RequestID: ids[2], Request: req, Price: 1000, State: "settled", Deliveries: []mv.Record{rec, rec}},
	}
	d := mvOpenADR{evs}
	ctx := context.Background()
	for i, want := range []int{-1, 1, 2} {
		got, ok, err := d.Delivery(ctx, ids[i].String())
		if err != nil || ok != (want >= 0) {
			t.Errorf("request %d: ok %v, %v", i, ok, err)
			continue
		}
		if ok && (len(got.Awards) != want || got.Request != req || got.Price != 1000 || *got.Awards[0].BaselineMWh != base ||
			*got.Awards[0].MeteredMWh != met || got.Awards[0].Delivered != 5e6) {
			t.Errorf("request %d: %+v", i, got)
		}
	}
	for _, id := range []string{gridmint.RequestID{9}.String(), "not an id", ""} {
		if _, ok, err := d.Delivery(ctx, id); ok || err != nil {
			t.Errorf("%q: ok %v, %v", id, ok, err)
		}
	}
}
