package node

import (
	"context"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/market/mv"
	"github.com/gridmint/gridmint/node/openadr"
)

// openadrDeliveryEvery is how often (wall time) the VTN looks for
// verified deliveries to report.
const openadrDeliveryEvery = 10 * time.Second

// openadrDeliveries is the measurement service as the OpenADR VTN's and
// VEN client's source of delivery reports; nil when it is off.
func (n *Node) openadrDeliveries() openadr.Deliveries {
	if n.mv == nil {
		return nil
	}
	return mvOpenADR{n.mv}
}

// mvEvents is what the adapter reads of the measurement service.
type mvEvents interface {
	Events(request *gridmint.RequestID) []mv.Event
}

// mvOpenADR is mv's tracked events as openadr.Deliveries.
type mvOpenADR struct{ s mvEvents }

// Delivery implements openadr.Deliveries: the request's records once
// verified (or settled). An id that is no request id is never verified.
func (d mvOpenADR) Delivery(_ context.Context, requestID string) (openadr.Delivery, bool, error) {
	var id gridmint.RequestID
	if err := id.UnmarshalText([]byte(requestID)); err != nil {
		return openadr.Delivery{}, false, nil
	}
	evs := d.s.Events(&id)
	if len(evs) == 0 {
		return openadr.Delivery{}, false, nil
	}
	dv, ok := openadrDelivery(evs[0])
	return dv, ok, nil
}

func openadrDelivery(e mv.Event) (openadr.Delivery, bool) {
	if e.State != "verified" && e.State != "settled" {
		return openadr.Delivery{}, false
	}
	d := openadr.Delivery{Request: e.Request, Price: e.Price}
	for _, r := range e.Deliveries {
		d.Awards = append(d.Awards, openadr.AwardDelivery{DeliveryRecord: r.DeliveryRecord, BaselineMWh: r.BaselineMWh, MeteredMWh: r.MeteredMWh})
	}
	return d, true
}
