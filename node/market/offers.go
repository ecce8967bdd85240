package market

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/p2p"
)

func reasonErr(r gridmint.FlexReason, code, format string, args ...any) error {
	return &flex.ReasonError{Reason: r, Err: gridmint.Errorf(code, string(r)+": "+format, args...)}
}

// flexible says whether the market offers kind at all.
func flexible(k gridmint.DeviceKind) bool {
	return k == gridmint.KindBattery || k == gridmint.KindEVCharger || k == gridmint.KindPVInverter
}

// flexState is what flex needs of a device's live state. A charger that
// draws power has a car plugged in; one that draws none may or may not,
// and is taken as having none (no deferral offered from an idle charger).
// A battery is planned idle, so its offers and dispatch start from 0 W.
func flexState(st devices.DeviceState) flex.DeviceState {
	fs := flex.DeviceState{Device: st.Device, Online: st.Online, SoC: st.SoC, HasSoC: st.Fields.Has(gridmint.FieldSoC)}
	if st.Kind == gridmint.KindEVCharger {
		fs.CarConnected = st.Fields.Has(gridmint.FieldPower) && st.Power > 0
	}
	return fs
}

// planPower is the device's planned consumption at the window, W, from
// its live state (see flexState).
func planPower(st devices.DeviceState) gridmint.W {
	switch st.Kind {
	case gridmint.KindEVCharger:
		return gridmint.W(math.Trunc(float64(st.Power)))
	case gridmint.KindPVInverter:
		return -gridmint.W(math.Trunc(float64(st.Power)))
	}
	return 0
}

// capacityOf is what device st can offer for o's direction and window at
// now under its policy.
func (s *Service) capacityOf(st devices.DeviceState, dir gridmint.Direction, start, end, now time.Time) (flex.Capacity, gridmint.FlexPolicy) {
	pol := s.policyFor(st.ID).flex(now)
	return flex.OfferableCapacity(flexState(st), pol, dir, start, end, now, s.derateOf(st.ID)), pol
}

// PublishOffer checks an offer of one of the node's own devices against
// what the device can offer now (flex.CheckOffer) and gossips it signed
// with the device's key. It refuses, with a reason code: a device the
// node does not have (unknown_device), an opted-out device (opt_out),
// more than its capacity (over_capacity), below the homeowner's minimum
// price (below_min_price), invalid terms (invalid).
func (s *Service) PublishOffer(ctx context.Context, o gridmint.Offer) (p2p.Message, error) {
	return s.publishOffer(ctx, o, gridmint.RequestID{})
}

func (s *Service) publishOffer(ctx context.Context, o gridmint.Offer, req gridmint.RequestID) (p2p.Message, error) {
	m, err := s.checkedOffer(ctx, o, req)
	if err != nil {
		s.refuse(flex.Reason(err))
	}
	return m, err
}

func (s *Service) checkedOffer(ctx context.Context, o gridmint.Offer, req gridmint.RequestID) (p2p.Message, error) {
	if err := o.Validate(); err != nil {
		return p2p.Message{}, reasonErr(gridmint.FlexInvalid, gridmint.EInvalid, "%v", err)
	}
	var st devices.DeviceState
	found := false
	for _, d := range s.d.Devices() {
		if d.ID == o.Device {
			st, found = d, true
			break
		}
	}
	if !found || s.d.Key == nil {
		return p2p.Message{}, reasonErr(gridmint.FlexUnknownDevice, gridmint.ENotFound, "offer for %s: not a device of this node", o.Device)
	}
	now := s.d.Clock.Now()
	if o.WindowStart.Before(now) || !o.Expiry.After(now) {
		return p2p.Message{}, reasonErr(gridmint.FlexInvalid, gridmint.EInvalid, "offer for %s: window start %v and expiry %v must be after now (%v)",
			o.Device, o.WindowStart.UTC(), o.Expiry.UTC(), now.UTC())
	}
	c, pol := s.capacityOf(st, o.Direction, o.WindowStart, o.WindowEnd, now)
	if err := flex.CheckOffer(o, c, pol); err != nil {
		return p2p.Message{}, err
	}
	w, err := p2p.NewOffer(o, s.d.Key(o.Device))
	if err != nil {
		return p2p.Message{}, reasonErr(gridmint.FlexInvalid, gridmint.EInvalid, "%v", err)
	}
	m, err := s.d.Publish(ctx, w)
	if err != nil && len(m.Raw) == 0 {
		return m, err
	}
	s.m.offersMade.Inc()
	terms := w.Terms()
	terms.Device = NetDevice(s.d.Self, w.Device)
	s.mu.Lock()
	r, ok := s.offers[gridmint.OfferID(m.ID)]
	if !ok {
		r = &offerRecord{V: 1, ID: gridmint.OfferID(m.ID), Provider: m.Author.Hex(), Signed: m.Created, Offer: terms, Received: now}
		s.offers[r.ID] = r
	}
	r.Own, r.Local, r.Request = true, o.Device, req
	s.saveOfferLocked(r)
	s.mu.Unlock()
	if o.Baseline == gridmint.BaselineSchedule {
		// The plan goes out with the offer, long before the gate closure:
		// an award of it is measured against this plan.
		s.publishSchedule(ctx, m, st, pol, o)
	}
	s.log.Info("market: offered", "device", o.Device, "power_w", o.Power, "direction", o.Direction, "price", o.FloorPrice,
		"window_start", o.WindowStart, "request", req)
	return m, err
}

// produce offers the node's flexible devices for the open requests in
// their zone, within the rate bound.
func (s *Service) produce(ctx context.Context, now time.Time) {
	type last struct {
		power  gridmint.W
		price  gridmint.MicroFLEX
		signed time.Time
	}
	s.mu.Lock()
	var open []*eventRecord
	for _, e := range s.events {
		if e.State == StateOpen && now.Before(e.Request.GateClosure) && now.Before(e.Request.WindowStart) {
			open = append(open, e)
		}
	}
	latest := map[idleKey]last{}
	for _, o := range s.offers {
		if !o.Own || o.Local == "" {
			continue
		}
		k := idleKey{o.Local, o.Request}
		if l, ok := latest[k]; !ok || o.Signed.After(l.signed) {
			latest[k] = last{o.Offer.Power, o.Offer.FloorPrice, o.Signed}
		}
	}
	reqs := make([]gridmint.Request, len(open))
	ids := make([]gridmint.RequestID, len(open))
	slices.SortFunc(open, func(a, b *eventRecord) int { return a.Request.GateClosure.Compare(b.Request.GateClosure) })
	for i, e := range open {
		reqs[i], ids[i] = e.Request, e.ID
	}
	s.mu.Unlock()
	if len(open) == 0 {
		return
	}
	devs := s.d.Devices()
	slices.SortFunc(devs, func(a, b devices.DeviceState) int { return strings.Compare(string(a.ID), string(b.ID)) })
	budget := s.cfg.MaxOffersPerTick
	for i, r := range reqs {
		for _, st := range devs {
			if !flexible(st.Kind) || st.Zone != r.Zone {
				continue
			}
			k := idleKey{st.ID, ids[i]}
			c, pol := s.capacityOf(st, r.Direction, r.WindowStart, r.WindowEnd, now)
			if c.Power <= 0 {
				s.setIdle(k, c.Reason)
				continue
			}
			if l, ok := latest[k]; ok {
				moved := math.Abs(float64(c.Power-l.power)) >= s.cfg.RenewChange*float64(l.power)
				// A policy edit since the last offer renews it at once
				// when its power or price changed (policy.go).
				changed := s.policyChanged(st.ID)
				edited := !changed.IsZero() && !l.signed.After(changed) && (c.Power != l.power || pol.MinPrice != l.price)
				if !edited && (now.Sub(l.signed) < s.cfg.RenewInterval || !moved) {
					continue
				}
			}
			o := gridmint.Offer{Device: st.ID, Zone: r.Zone, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: c.Power,
				Direction: r.Direction, FloorPrice: pol.MinPrice, Baseline: flex.DefaultBaseline(st.Kind), Expiry: r.GateClosure}
			cost := 1
			if o.Baseline == gridmint.BaselineSchedule {
				cost = 2 // the offer and its schedule: two signed messages
			}
			if budget < cost {
				return // the rest next tick
			}
			budget -= cost
			if _, err := s.publishOffer(ctx, o, ids[i]); err != nil {
				s.setIdle(k, flex.Reason(err))
				s.log.Warn("market: offer not made", "device", st.ID, "request", ids[i], "err", err)
				continue
			}
			s.setIdle(k, "")
		}
	}
}

func (s *Service) setIdle(k idleKey, r gridmint.FlexReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r == "" {
		delete(s.idle, k)
	} else {
		s.idle[k] = r
	}
}

// MarketOffers implements api.Market: the node's own offers whose window
// has not ended, and its devices that offer nothing for an open request.
func (s *Service) MarketOffers() api.MarketOffers {
	now := s.d.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out api.MarketOffers
	for _, o := range s.offers {
		if !o.Own || !now.Before(o.Offer.WindowEnd) {
			continue
		}
		terms := o.Offer
		dev := o.Local
		if dev != "" {
			terms.Device = dev
		}
		out.Offers = append(out.Offers, api.MarketOffer{ID: o.ID, Device: dev, RequestID: o.Request, Offer: terms, Signed: o.Signed})
	}
	slices.SortFunc(out.Offers, func(a, b api.MarketOffer) int {
		if c := a.Offer.WindowStart.Compare(b.Offer.WindowStart); c != 0 {
			return c
		}
		return a.Signed.Compare(b.Signed)
	})
	for k, r := range s.idle {
		out.Idle = append(out.Idle, api.MarketIdle{Device: k.dev, RequestID: k.req, Reason: string(r)})
	}
	slices.SortFunc(out.Idle, func(a, b api.MarketIdle) int {
		if c := strings.Compare(string(a.Device), string(b.Device)); c != 0 {
			return c
		}
		return bytes.Compare(a.RequestID[:], b.RequestID[:])
	})
	return out
}
