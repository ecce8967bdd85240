package openadr

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Market publishes flexibility requests: the node's gossip network
// (node/api's Network.PublishRequest). It returns the published
// message's id.
type Market interface {
	PublishRequest(ctx context.Context, r gridmint.Request) (id string, err error)
}

// MarketFunc adapts a function to Market.
type MarketFunc func(ctx context.Context, r gridmint.Request) (string, error)

// PublishRequest implements Market.
func (f MarketFunc) PublishRequest(ctx context.Context, r gridmint.Request) (string, error) {
	return f(ctx, r)
}

// The event → request mapping. Names a utility puts in its programs and
// events; README ("OpenADR 3") documents them.
const (
	// ZoneTargetPrefix marks the target naming the market zone:
	// "ZONE:DE-LU". The event's targets are searched first, then the
	// program's; exactly one zone must be named.
	ZoneTargetPrefix = "ZONE:"
	// AttrMaxPrice is the highest price the utility pays, µFLEX per kWh
	// (an integer ≥ 0). Required.
	AttrMaxPrice = "GRIDMINT_MAX_PRICE"
	// AttrReferenceKW is the zone's expected net import during the
	// event, kW (negative: export). Capacity limits and setpoints are
	// absolute levels; the market trades changes, so the request's
	// power is the distance from this reference. Required for
	// IMPORT_CAPACITY_LIMIT, EXPORT_CAPACITY_LIMIT and DISPATCH_SETPOINT.
	AttrReferenceKW = "GRIDMINT_REFERENCE_KW"
	// AttrSimpleKW is the reduction one SIMPLE level asks for, kW.
	// Required for SIMPLE.
	AttrSimpleKW = "GRIDMINT_SIMPLE_KW"
	// AttrGateClosureMin is how many minutes before the window offers
	// close; default DefaultGateClosure.
	AttrGateClosureMin = "GRIDMINT_GATE_CLOSURE_MIN"

	// PayloadRequestID and PayloadNotMapped are the payload types of the
	// VTN's own report on a mapped event: the published request's id,
	// or why the interval did not become a request.
	PayloadRequestID = "GRIDMINT_REQUEST_ID"
	PayloadNotMapped = "GRIDMINT_NOT_MAPPED"
	// MarketClient is the clientID and clientName of the VTN's reports.
	MarketClient = "gridmint-market"
)

// DefaultGateClosure is the gate closure before the window when no
// AttrGateClosureMin is given.
const DefaultGateClosure = 15 * time.Minute

// Payload types that become requests.
const (
	PayloadImportLimit = "IMPORT_CAPACITY_LIMIT"
	PayloadExportLimit = "EXPORT_CAPACITY_LIMIT"
	PayloadSetpoint    = "DISPATCH_SETPOINT"
	PayloadSimple      = "SIMPLE"
)

var marketPayloads = []string{PayloadImportLimit, PayloadExportLimit, PayloadSetpoint, PayloadSimple}

// MappedInterval is one event interval's outcome.
type MappedInterval struct {
	IntervalID int32
	Request    gridmint.Request
	// Reason is why the interval is not a request; empty when it is.
	Reason string
}

// MapEvent turns the event's intervals that carry a market payload into
// flexibility requests, at now. ok is false when no interval carries one
// (the event is not a flexibility event). Per interval:
//
//   - window: the interval's intervalPeriod, else the event's; an
//     interval without its own start follows the previous one. A start
//     of 0001-01-01 ("now") cannot be a market window.
//   - zone: the one "ZONE:" target of the event, else of the program.
//   - power and direction, from the payload value v in the units of its
//     payloadDescriptor (KW by default; W and MW too) and the reference
//     R (AttrReferenceKW): IMPORT_CAPACITY_LIMIT asks R−v down,
//     EXPORT_CAPACITY_LIMIT asks (−R)−v up, DISPATCH_SETPOINT asks
//     |v−R| down when v < R and up when v > R, SIMPLE level v (1-3) asks
//     v × AttrSimpleKW down; nothing to ask (≤ 0) is not a request.
//   - max price: AttrMaxPrice; gate closure: window start minus
//     AttrGateClosureMin minutes (default 15), which must be after now.
//
// Attributes are looked up in the interval's payloads first, then in the
// program's attributes.
func MapEvent(p Program, e Event, now time.Time) (out []MappedInterval, ok bool) {
	var next time.Time
	for _, iv := range e.Intervals {
		id := int32(0)
		if iv.ID != nil {
			id = *iv.ID
		}
		start, dur, err := window(e, iv, next)
		next = time.Time{}
		if err == nil {
			next = start.Add(dur)
		}
		payload := findPayload(iv.Payloads)
		if payload == nil {
			continue
		}
		ok = true
		m := MappedInterval{IntervalID: id}
		if err != nil {
			m.Reason = err.Error()
		} else if m.Request, err = request(p, e, iv, *payload, start, dur, now); err != nil {
			m.Reason = err.Error()
		}
		out = append(out, m)
	}
	return out, ok
}

func findPayload(ps []ValuesMap) *ValuesMap {
	for i := range ps {
		if slices.Contains(marketPayloads, ps[i].Type) {
			return &ps[i]
		}
	}
	return nil
}

// startNow is the specification's "now" start (User Guide: 0001-01-01).
var startNow = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)

func window(e Event, iv Interval, follows time.Time) (time.Time, time.Duration, error) {
	var startS, durS *string
	if e.IntervalPeriod != nil {
		startS, durS = e.IntervalPeriod.Start, e.IntervalPeriod.Duration
	}
	own := iv.IntervalPeriod != nil && iv.IntervalPeriod.Start != nil
	if iv.IntervalPeriod != nil {
		if iv.IntervalPeriod.Start != nil {
			startS = iv.IntervalPeriod.Start
		}
		if iv.IntervalPeriod.Duration != nil {
			durS = iv.IntervalPeriod.Duration
		}
	}
	if startS == nil || durS == nil {
		return time.Time{}, 0, fmt.Errorf("no intervalPeriod start and duration")
	}
	start, err := time.Parse(time.RFC3339Nano, *startS)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("start %q: %v", *startS, err)
	}
	if start.Equal(startNow) {
		return time.Time{}, 0, fmt.Errorf("start 0001-01-01 means now: a market request needs a gate closure before its window")
	}
	if !own && !follows.IsZero() {
		start = follows
	}
	dur, err := parseDuration(*durS)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("duration %q: %v", *durS, err)
	}
	return start.UTC(), dur, nil
}

// parseDuration reads an ISO 8601 duration of weeks, days, hours,
// minutes and seconds. Years and months have no fixed length and are
// refused (P9999Y, "forever", among them).
func parseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, fmt.Errorf("want P…")
	}
	var total float64
	inTime, parts := false, 0
	for rest != "" {
		if rest[0] == 'T' {
			inTime, rest = true, rest[1:]
			continue
		}
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, fmt.Errorf("want a number before each designator")
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, err
		}
		unit := rest[i]
		rest = rest[i+1:]
		var d float64
		switch {
		case !inTime && unit == 'W':
			d = 7 * 24 * 3600
		case !inTime && unit == 'D':
			d = 24 * 3600
		case inTime && unit == 'H':
			d = 3600
		case inTime && unit == 'M':
			d = 60
		case inTime && unit == 'S':
			d = 1
		case !inTime && (unit == 'Y' || unit == 'M'):
			return 0, fmt.Errorf("years and months have no fixed length")
		default:
			return 0, fmt.Errorf("designator %q", unit)
		}
		total += n * d
		parts++
	}
	if parts == 0 {
		return 0, fmt.Errorf("no designators")
	}
	if total > float64(math.MaxInt64/int64(time.Second)) {
		return 0, fmt.Errorf("too long")
	}
	return time.Duration(total * float64(time.Second)), nil
}

// lookup finds a number: a payload of the interval, else an attribute of
// the program.
func lookup(name string, iv Interval, p Program) (float64, bool) {
	for _, set := range [][]ValuesMap{iv.Payloads, p.Attributes} {
		for _, vm := range set {
			if vm.Type == name && len(vm.Values) == 1 {
				if f, ok := vm.Values[0].(float64); ok {
					return f, true
				}
			}
		}
	}
	return 0, false
}

// unitsW is how many W one unit of the payload is.
func unitsW(p Program, e Event, payloadType string) (float64, error) {
	for _, set := range [][]PayloadDescriptor{e.PayloadDescriptors, p.PayloadDescriptors} {
		for _, d := range set {
			if d.PayloadType != payloadType || d.Units == nil {
				continue
			}
			switch strings.ToUpper(*d.Units) {
			case "KW":
				return 1e3, nil
			case "W":
				return 1, nil
			case "MW":
				return 1e6, nil
			default:
				return 0, fmt.Errorf("%s units %q: want KW, W or MW", payloadType, *d.Units)
			}
		}
	}
	return 1e3, nil
}

func zoneOf(p Program, e Event) (string, error) {
	for _, set := range [][]string{e.Targets, p.Targets} {
		var zones []string
		for _, t := range set {
			if z, ok := strings.CutPrefix(t, ZoneTargetPrefix); ok {
				zones = append(zones, z)
			}
		}
		switch len(zones) {
		case 0:
			continue
		case 1:
			return zones[0], nil
		default:
			return "", fmt.Errorf("targets name %d zones (%s): want one", len(zones), strings.Join(zones, ", "))
		}
	}
	return "", fmt.Errorf("no %s<zone> target on the event or its program", ZoneTargetPrefix)
}

func request(p Program, e Event, iv Interval, payload ValuesMap, start time.Time, dur time.Duration, now time.Time) (gridmint.Request, error) {
	zone, err := zoneOf(p, e)
	if err != nil {
		return gridmint.Request{}, err
	}
	if len(payload.Values) != 1 {
		return gridmint.Request{}, fmt.Errorf("%s has %d values: want one", payload.Type, len(payload.Values))
	}
	v, isNum := payload.Values[0].(float64)
	if !isNum {
		return gridmint.Request{}, fmt.Errorf("%s value %v: want a number", payload.Type, payload.Values[0])
	}
	price, ok := lookup(AttrMaxPrice, iv, p)
	if !ok || price < 0 || price != math.Trunc(price) || price > math.MaxInt64/2 {
		return gridmint.Request{}, fmt.Errorf("no %s (µFLEX per kWh, an integer ≥ 0) on the program or interval", AttrMaxPrice)
	}
	gate := DefaultGateClosure
	if m, ok := lookup(AttrGateClosureMin, iv, p); ok {
		if m < 0 || m > 24*60 {
			return gridmint.Request{}, fmt.Errorf("%s %v: want 0 to 1440 minutes", AttrGateClosureMin, m)
		}
		gate = time.Duration(m * float64(time.Minute))
	}
	// amount is what the zone is asked to change, kW (> 0 to ask).
	amount, dir := 0.0, gridmint.DirectionDown
	switch payload.Type {
	case PayloadSimple:
		step, ok := lookup(AttrSimpleKW, iv, p)
		if !ok || step <= 0 {
			return gridmint.Request{}, fmt.Errorf("SIMPLE needs %s (kW per level, > 0)", AttrSimpleKW)
		}
		if v != math.Trunc(v) || v < 0 || v > 3 {
			return gridmint.Request{}, fmt.Errorf("SIMPLE level %v: want 0, 1, 2 or 3", v)
		}
		amount = v * step
	default:
		ref, ok := lookup(AttrReferenceKW, iv, p)
		if !ok {
			return gridmint.Request{}, fmt.Errorf("%s needs %s (the zone's expected net import, kW)", payload.Type, AttrReferenceKW)
		}
		perW, err := unitsW(p, e, payload.Type)
		if err != nil {
			return gridmint.Request{}, err
		}
		level := v * perW / 1e3
		switch payload.Type {
		case PayloadImportLimit:
			amount = ref - level
		case PayloadExportLimit:
			amount, dir = -ref-level, gridmint.DirectionUp
		case PayloadSetpoint:
			amount = ref - level
			if amount < 0 {
				amount, dir = -amount, gridmint.DirectionUp
			}
		}
	}
	if !(amount > 0) {
		return gridmint.Request{}, fmt.Errorf("%s %v asks for no change from the reference: nothing to request", payload.Type, v)
	}
	r := gridmint.Request{
		Zone: zone, WindowStart: start, WindowEnd: start.Add(dur),
		Power: gridmint.W(amount * 1e3), Direction: dir,
		MaxPrice: gridmint.MicroFLEX(price), GateClosure: start.Add(-gate),
	}
	if err := r.Validate(); err != nil {
		return gridmint.Request{}, err
	}
	if !r.GateClosure.After(now) {
		return gridmint.Request{}, fmt.Errorf("gate closure %s has passed", r.GateClosure.Format(time.RFC3339))
	}
	return r, nil
}

// eventOver reports whether all of the event's intervals ended before
// now; an event whose end is unknown (no start, "now", years) is not.
func eventOver(e Event, now time.Time) bool {
	end, ok := eventEnd(e)
	return ok && !end.After(now)
}

// toMarketLocked maps a new event to requests, publishes them and
// records the outcome as the VTN's report on the event. The event stands
// whatever the market says: it is valid OpenADR. Publishing signs and
// queues a gossip message, so holding v.mu through it is brief. Caller
// holds v.mu.
func (v *VTN) toMarketLocked(ctx context.Context, p Program, e Event) {
	mapped, ok := MapEvent(p, e, v.clock.Now())
	if !ok {
		return
	}
	var intervals []Interval
	for _, m := range mapped {
		id := m.IntervalID
		iv := Interval{ID: &id}
		switch {
		case m.Reason != "":
		case v.opts.Market == nil:
			m.Reason = "this node has no market connection"
		default:
			reqID, err := v.opts.Market.PublishRequest(ctx, m.Request)
			if err != nil {
				m.Reason = "publishing: " + err.Error()
				break
			}
			v.m.market.WithLabelValues("published").Inc()
			iv.Payloads = []ValuesMap{{Type: PayloadRequestID, Values: []any{reqID}}}
		}
		if m.Reason != "" {
			v.m.market.WithLabelValues("not_mapped").Inc()
			iv.Payloads = []ValuesMap{{Type: PayloadNotMapped, Values: []any{m.Reason}}}
		}
		intervals = append(intervals, iv)
	}
	name := "market requests of event " + e.ID
	rep := Report{
		Meta: v.newMeta(TypeReport), ClientID: MarketClient, EventID: e.ID, ClientName: MarketClient, ReportName: &name,
		Resources: []ReportResource{{ResourceName: "AGGREGATED_REPORT", Intervals: intervals}},
	}
	if err := v.reports.put(rep, e.ProgramID); err != nil {
		v.log.Error("openadr: storing the market report", "event", e.ID, "err", err)
		return
	}
	v.notifyLocked(TypeReport, opCreate, rep, e.ProgramID, nil)
}
