package openadr

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Delivery reports: once the market has verified what the awards of an
// event's requests delivered, the outcome goes back to the utility as a
// report on the event (the node's VTN stores it; the VEN client posts it
// to the external VTN). One resource, AGGREGATED_REPORT, sums every
// award of the node's market; per event interval that became a request
// its intervals carry, each with the event interval's id:
//
//   - GRIDMINT_AWARDED (kWh the market awarded) and
//     GRIDMINT_CLEARING_PRICE (µFLEX per kWh) over the window;
//   - BASELINE (kWh, readingType ESTIMATED: the awards' baselines) over
//     the window, with DATA_QUALITY;
//   - USAGE (kWh, readingType DIRECT_READ, or SUMMED over several
//     meters) over the window, with DATA_QUALITY;
//   - DELTA_USAGE (kWh, same readingType as USAGE) per metering step
//     (five minutes), with DATA_QUALITY: the delivery the market
//     credits, negative for a reduction (direction down), positive for
//     an increase (up).
//
// Each payload has its own interval (same intervalPeriod), so each
// DATA_QUALITY belongs to one value, as the User Guide (7.8) asks.
// DATA_QUALITY is OK when every award has the value, MISSING when none
// has (the value is then 0), BAD when only some have, or, for USAGE,
// when the window's net usage was negative (net export: USAGE cannot be
// negative, so it reports 0). A request the market has not verified
// within DeliveryHorizon after the event ended (not cleared, no awards)
// gets one GRIDMINT_NO_DELIVERY interval instead.

// Deliveries is the market's measured outcome of published requests
// (node/market/mv; the node adapts it). Implementations must be safe for
// concurrent use.
type Deliveries interface {
	// Delivery returns the verified delivery of the request with id (as
	// Market.PublishRequest returned it); ok is false while the market
	// has not verified it (or never will: not cleared, no awards).
	Delivery(ctx context.Context, requestID string) (d Delivery, ok bool, err error)
}

// DeliveriesFunc adapts a function to Deliveries.
type DeliveriesFunc func(ctx context.Context, requestID string) (Delivery, bool, error)

// Delivery implements Deliveries.
func (f DeliveriesFunc) Delivery(ctx context.Context, requestID string) (Delivery, bool, error) {
	return f(ctx, requestID)
}

// Delivery is one request's verified delivery.
type Delivery struct {
	// Request is the request as published; Price the clearing price.
	Request gridmint.Request
	Price   gridmint.MicroFLEX
	// Awards are the awards' delivery records, one per award.
	Awards []AwardDelivery
}

// AwardDelivery is one award's measured delivery.
type AwardDelivery struct {
	gridmint.DeliveryRecord
	// BaselineMWh and MeteredMWh are the baseline and the metered net
	// consumption over the window, mWh; nil when not known.
	BaselineMWh *gridmint.MWh
	MeteredMWh  *gridmint.MWh
}

// Report payload types of delivery reports (besides the
// specification's BASELINE, USAGE, DELTA_USAGE and DATA_QUALITY).
const (
	PayloadBaseline      = "BASELINE"
	PayloadUsage         = "USAGE"
	PayloadDeltaUsage    = "DELTA_USAGE"
	PayloadDataQuality   = "DATA_QUALITY"
	PayloadAwarded       = "GRIDMINT_AWARDED"
	PayloadClearingPrice = "GRIDMINT_CLEARING_PRICE"
	PayloadNoDelivery    = "GRIDMINT_NO_DELIVERY"
)

// DATA_QUALITY values (the specification's Data Quality enumerations).
const (
	QualityOK      = "OK"
	QualityMissing = "MISSING"
	QualityBAD     = "BAD"
)

// DeliveryHorizon is how long after an event ends its delivery report
// waits for requests the market has not verified; the market verifies a
// window's awards within hours of its end (baseline span and grace).
const DeliveryHorizon = 48 * time.Hour

// deliveryReportPrefix starts the reportName of a delivery report.
const deliveryReportPrefix = "delivery of event "

// requestRef is an event interval that became a published request.
type requestRef struct {
	Interval int32  `json:"i"`
	Request  string `json:"r"`
}

// requestsOf are the published requests a market report names.
func requestsOf(r Report) []requestRef {
	var out []requestRef
	for _, res := range r.Resources {
		for _, iv := range res.Intervals {
			for _, p := range iv.Payloads {
				if p.Type != PayloadRequestID || len(p.Values) != 1 || iv.ID == nil {
					continue
				}
				if id, ok := p.Values[0].(string); ok {
					out = append(out, requestRef{Interval: *iv.ID, Request: id})
				}
			}
		}
	}
	return out
}

// deliveryReport builds the delivery report of an event whose intervals
// became the requests refs; ready is false while some request is not
// verified and the event ended less than DeliveryHorizon before now
// (end zero: unknown, so it waits for all).
func deliveryReport(ctx context.Context, d Deliveries, eventID, clientName string, refs []requestRef, end, now time.Time) (rep *Report, ready bool, err error) {
	type known struct {
		ref requestRef
		d   Delivery
		ok  bool
	}
	var ks []known
	waiting := false
	for _, ref := range refs {
		dv, ok, err := d.Delivery(ctx, ref.Request)
		if err != nil {
			return nil, false, fmt.Errorf("delivery of request %s: %w", ref.Request, err)
		}
		waiting = waiting || !ok
		ks = append(ks, known{ref, dv, ok})
	}
	if waiting && (end.IsZero() || now.Before(end.Add(DeliveryHorizon))) {
		return nil, false, nil
	}
	summed := false
	for _, k := range ks {
		summed = summed || len(k.d.Awards) > 1
	}
	reading := "DIRECT_READ"
	if summed {
		reading = "SUMMED"
	}
	kwh := "KWH"
	desc := func(typ, readingType, units string) PayloadDescriptor {
		p := PayloadDescriptor{ObjectType: "REPORT_PAYLOAD_DESCRIPTOR", PayloadType: typ}
		if readingType != "" {
			p.ReadingType = &readingType
		}
		if units != "" {
			p.Units = &units
		}
		return p
	}
	name := deliveryReportPrefix + eventID
	rep = &Report{
		EventID: eventID, ClientName: clientName, ReportName: &name,
		PayloadDescriptors: []PayloadDescriptor{
			desc(PayloadAwarded, "SUMMED", kwh), desc(PayloadClearingPrice, "", "UFLEX_PER_KWH"),
			desc(PayloadBaseline, "ESTIMATED", kwh), desc(PayloadUsage, reading, kwh), desc(PayloadDeltaUsage, reading, kwh),
			desc(PayloadDataQuality, "", ""),
		},
	}
	var ivs []Interval
	for _, k := range ks {
		id := k.ref.Interval
		if !k.ok {
			ivs = append(ivs, Interval{ID: &id, Payloads: []ValuesMap{{Type: PayloadNoDelivery,
				Values: []any{fmt.Sprintf("request %s: no verified delivery %s after the event (not cleared, or no awards)", k.ref.Request, DeliveryHorizon)}}}})
			continue
		}
		ivs = append(ivs, deliveryIntervals(id, k.d)...)
	}
	rep.Resources = []ReportResource{{ResourceName: "AGGREGATED_REPORT", Intervals: ivs}}
	return rep, true, nil
}

// deliveryIntervals are one request's intervals of a delivery report.
func deliveryIntervals(id int32, d Delivery) []Interval {
	period := func(start time.Time, dur time.Duration) *IntervalPeriod {
		s, du := start.UTC().Format(time.RFC3339), isoDuration(dur)
		return &IntervalPeriod{Start: &s, Duration: &du}
	}
	window := period(d.Request.WindowStart, d.Request.WindowEnd.Sub(d.Request.WindowStart))
	one := func(p *IntervalPeriod, typ string, v any, quality string) Interval {
		iv := Interval{ID: &id, IntervalPeriod: p, Payloads: []ValuesMap{{Type: typ, Values: []any{v}}}}
		if quality != "" {
			iv.Payloads = append(iv.Payloads, ValuesMap{Type: PayloadDataQuality, Values: []any{quality}})
		}
		return iv
	}
	var awarded, baseline, metered gridmint.MWh
	var nBaseline, nMetered, nComplete int
	sign := int64(-1) // down: usage falls
	if d.Request.Direction == gridmint.DirectionUp {
		sign = 1
	}
	steps := map[time.Time]gridmint.MWh{}
	var step time.Duration
	for _, a := range d.Awards {
		awarded += a.Awarded
		if a.BaselineMWh != nil {
			baseline += *a.BaselineMWh
			nBaseline++
		}
		if a.MeteredMWh != nil {
			metered += *a.MeteredMWh
			nMetered++
		}
		if a.Reason != gridmint.FlexNoData && a.Reason != gridmint.FlexOffline {
			nComplete++
		}
		if a.StepSeconds <= 0 {
			continue
		}
		s := time.Duration(a.StepSeconds) * time.Second
		if step == 0 || s < step {
			step = s
		}
		for i, v := range a.Intervals {
			steps[a.WindowStart.Add(time.Duration(i)*s).UTC()] += v
		}
	}
	n := len(d.Awards)
	usageQ := quality(nMetered, n)
	usage := kWh(metered)
	if usage < 0 {
		usage, usageQ = 0, QualityBAD
	}
	out := []Interval{
		one(window, PayloadAwarded, kWh(awarded), ""),
		one(window, PayloadClearingPrice, float64(d.Price), ""),
		one(window, PayloadBaseline, kWh(baseline), quality(nBaseline, n)),
		one(window, PayloadUsage, usage, usageQ),
	}
	times := make([]time.Time, 0, len(steps))
	for t := range steps {
		times = append(times, t)
	}
	slices.SortFunc(times, time.Time.Compare)
	stepQ := quality(nComplete, n)
	for _, t := range times {
		out = append(out, one(period(t, step), PayloadDeltaUsage, float64(sign)*kWh(steps[t]), stepQ))
	}
	return out
}

// quality is DATA_QUALITY of a sum over n items of which have have the
// value.
func quality(have, n int) string {
	switch {
	case n > 0 && have == n:
		return QualityOK
	case have == 0:
		return QualityMissing
	default:
		return QualityBAD
	}
}

// kWh is e in kWh, rounded to the Wh (the reports' resolution).
func kWh(e gridmint.MWh) float64 { return math.Round(float64(e)/1e3) / 1e3 }

// isoDuration writes d as an ISO 8601 duration of hours, minutes and
// seconds (PT1H30M); 0 is PT0S.
func isoDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("PT")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		d -= m * time.Minute
	}
	if d > 0 {
		fmt.Fprintf(&b, "%gS", d.Seconds())
	}
	return b.String()
}

// eventEnd is when the event's last interval ends; ok false when some
// interval's end is unknown.
func eventEnd(e Event) (time.Time, bool) {
	var next, end time.Time
	for _, iv := range e.Intervals {
		start, dur, err := window(e, iv, next)
		if err != nil {
			return time.Time{}, false
		}
		next = start.Add(dur)
		if next.After(end) {
			end = next
		}
	}
	return end, !end.IsZero()
}

// ReportDeliveries writes the delivery reports that are due: for every
// event whose market report names published requests and that has no
// delivery report yet, once the market verified them all (or the
// horizon passed). It returns how many it wrote. Without
// Options.Deliveries it does nothing.
func (v *VTN) ReportDeliveries(ctx context.Context) (int, error) {
	if v.opts.Deliveries == nil {
		return 0, nil
	}
	type due struct {
		event Event
		refs  []requestRef
	}
	var todo []due
	v.mu.Lock()
	done := map[string]bool{}
	markets := map[string][]requestRef{}
	for _, r := range v.reports.list(func(r Report, _ string) bool { return r.ClientID == MarketClient }) {
		if r.ReportName != nil && strings.HasPrefix(*r.ReportName, deliveryReportPrefix) {
			done[r.EventID] = true
		} else if refs := requestsOf(r); len(refs) > 0 {
			markets[r.EventID] = refs
		}
	}
	for id, refs := range markets {
		if e, ok := v.events.get(id); ok && !done[id] {
			todo = append(todo, due{e, refs})
		}
	}
	v.mu.Unlock()
	slices.SortFunc(todo, func(a, b due) int { return strings.Compare(a.event.ID, b.event.ID) })

	now, wrote := v.clock.Now(), 0
	var errs []error
	for _, t := range todo {
		end, _ := eventEnd(t.event)
		rep, ready, err := deliveryReport(ctx, v.opts.Deliveries, t.event.ID, MarketClient, t.refs, end, now)
		if err != nil {
			v.m.deliveries.WithLabelValues("failed").Inc()
			errs = append(errs, err)
			continue
		}
		if !ready {
			continue
		}
		v.mu.Lock()
		if _, ok := v.events.get(t.event.ID); !ok || v.hasDeliveryReportLocked(t.event.ID) {
			v.mu.Unlock()
			continue
		}
		rep.Meta, rep.ClientID = v.newMeta(TypeReport), MarketClient
		if err := v.reports.put(*rep, t.event.ProgramID); err != nil {
			v.mu.Unlock()
			v.m.deliveries.WithLabelValues("failed").Inc()
			errs = append(errs, fmt.Errorf("storing the delivery report of event %s: %w", t.event.ID, err))
			continue
		}
		v.m.deliveries.WithLabelValues("written").Inc()
		v.notifyLocked(TypeReport, opCreate, *rep, t.event.ProgramID, nil)
		v.mu.Unlock()
		wrote++
	}
	if len(errs) > 0 {
		return wrote, fmt.Errorf("openadr: delivery reports: %v", errs)
	}
	return wrote, nil
}

func (v *VTN) hasDeliveryReportLocked(eventID string) bool {
	return len(v.reports.list(func(r Report, _ string) bool {
		return r.EventID == eventID && r.ClientID == MarketClient && r.ReportName != nil && strings.HasPrefix(*r.ReportName, deliveryReportPrefix)
	})) > 0
}

// RunDeliveries calls ReportDeliveries every interval (wall time) until
// ctx ends; failures are logged and retried at the next tick.
func (v *VTN) RunDeliveries(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every) // wall time: polling the market's verification
	defer t.Stop()
	for {
		if n, err := v.ReportDeliveries(ctx); err != nil {
			v.log.Warn("openadr: delivery reports", "err", err)
		} else if n > 0 {
			v.log.Info("openadr: delivery reports written", "reports", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
