package market

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/p2p"
)

// Schedules: the schedule baseline (flex schedule/v1) of a battery's or
// EV charger's award is the device's own plan, signed by its home node
// before the gate closure and gossiped (p2p.Schedule, naming the offer).
// Every node keeps the schedules of the offers it holds and hands the one
// in force at a request's gate closure to measurement (ScheduleFor).

// ScheduleStep is the step of a signed schedule: the metering step.
const ScheduleStep = 5 * time.Minute

// Schedule refusal reasons, besides flex's schedule_late.
const (
	// ReasonScheduleForeign: a schedule for an offer another node made
	// (a device is the pair (author, key): only its author plans it).
	ReasonScheduleForeign gridmint.FlexReason = "schedule_foreign"
	// ReasonScheduleWindow: a schedule that does not cover its offer's
	// window.
	ReasonScheduleWindow gridmint.FlexReason = "schedule_window"
	// ReasonScheduleFlood: more schedules from one author than a home
	// could have devices and requests.
	ReasonScheduleFlood gridmint.FlexReason = "schedule_flood"
)

// maxSchedulesPerAuthor bounds the schedules kept from one author: a
// home signs one per offer, and offers are bounded the same way.
const maxSchedulesPerAuthor = 4096

// schedulePrefix keys kept schedules (settlement namespace).
const schedulePrefix = "ms/"

// SignedSchedule is a device's plan as signed by its home node: what the
// schedule baseline of an award of Offer is measured against.
type SignedSchedule struct {
	Offer    gridmint.OfferID `json:"offer"`
	Author   common.Address   `json:"author"`
	Signed   time.Time        `json:"signed"`
	Message  common.Hash      `json:"message"`
	Plan     flex.Series      `json:"plan"`
	Received time.Time        `json:"received"`
}

type scheduleKey struct {
	offer  gridmint.OfferID
	author common.Address
}

func (k scheduleKey) store() string {
	return schedulePrefix + k.offer.String() + "/" + strings.ToLower(k.author.Hex())
}

// PlanSchedule is the rule a home signs its device's schedule by: the
// device's planned consumption over [start, end) in ScheduleSteps (start
// rounded down and end up to them) if it is not dispatched, from its live
// state and the homeowner's policy:
//
//   - a battery plans to stay idle (0 W): the market dispatches it from
//     idle (planPower), so an idle plan is what a dispatch is measured
//     from;
//   - an EV charger plans to go on drawing what it draws now, until the
//     energy the car still needs by its departure (policy) is in, then
//     0 W: a car does not charge past full, so its plan does not either;
//   - a PV inverter plans minus its present output (production
//     negative).
//
// Each step is the planned power held for the step, mWh, rounded toward
// zero.
func PlanSchedule(st devices.DeviceState, pol gridmint.FlexPolicy, start, end time.Time) flex.Series {
	from := start.Truncate(ScheduleStep)
	to := end.Truncate(ScheduleStep)
	if to.Before(end) {
		to = to.Add(ScheduleStep)
	}
	n := int(to.Sub(from) / ScheduleStep)
	s := flex.Series{Start: from, Step: ScheduleStep, Energy: make([]gridmint.MWh, n)}
	p := planPower(st)
	per := gridmint.EnergyAt(gridmint.W(math.Abs(float64(p))), ScheduleStep)
	if p < 0 {
		per = -per
	}
	left := gridmint.MWh(math.MaxInt64)
	if st.Kind == gridmint.KindEVCharger && pol.EnergyNeeded > 0 {
		left = gridmint.MWh(pol.EnergyNeeded) * 1000
	}
	for i := range s.Energy {
		e := per
		if e > left {
			e = left
		}
		if e > 0 {
			left -= e
		}
		s.Energy[i] = e
	}
	return s
}

// publishSchedule signs and gossips the plan of an own offer's device.
func (s *Service) publishSchedule(ctx context.Context, offer p2p.Message, st devices.DeviceState, pol gridmint.FlexPolicy, o gridmint.Offer) {
	plan := PlanSchedule(st, pol, o.WindowStart, o.WindowEnd)
	if len(plan.Energy) > p2p.MaxIntervalSteps {
		return // a window over a day: Offer.Validate refuses it anyway
	}
	b := p2p.Schedule{Offer: gridmint.OfferID(offer.ID), Start: plan.Start, Step: plan.Step, Energy: plan.Energy}
	m, err := s.d.Publish(ctx, b)
	if err != nil && len(m.Raw) == 0 {
		s.log.Warn("market: schedule not signed: its awards will have no schedule baseline", "device", o.Device, "offer", offer.ID, "err", err)
		return
	}
	s.m.schedulesMade.Inc()
	s.keepSchedule(m, b, true)
}

// handleSchedule keeps a gossiped schedule, or refuses it with a reason:
// for another node's offer (schedule_foreign), signed after the gate
// closure of every held request its offer can be awarded for, or after
// the offer expired (schedule_late), not covering the offer's window
// (schedule_window), one author's too many (schedule_flood).
func (s *Service) handleSchedule(m p2p.Message, b p2p.Schedule) {
	s.keepSchedule(m, b, false)
}

func (s *Service) keepSchedule(m p2p.Message, b p2p.Schedule, own bool) {
	k := scheduleKey{b.Offer, m.Author}
	now := s.d.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.schedules[k]; ok && (old.Message == m.ID || !newer(m.Created, m.ID, old.Signed, old.Message)) {
		return
	}
	if err := s.checkScheduleLocked(m, b); err != nil {
		r := flex.Reason(err)
		s.refuse(r)
		s.log.Info("market: schedule refused", "offer", b.Offer, "author", m.Author, "reason", r, "err", err)
		return
	}
	if _, ok := s.schedules[k]; !ok {
		if s.scheduleCount[m.Author] >= maxSchedulesPerAuthor {
			s.refuse(ReasonScheduleFlood)
			return
		}
		s.scheduleCount[m.Author]++
	}
	r := &SignedSchedule{Offer: b.Offer, Author: m.Author, Signed: m.Created, Message: m.ID, Plan: b.Series(), Received: now}
	s.schedules[k] = r
	if !own {
		s.m.schedulesReceived.Inc()
	}
	v, err := json.Marshal(r)
	if err == nil {
		err = s.d.Store.PutSettle(k.store(), v)
	}
	if err != nil {
		s.log.Error("market: keeping a schedule", "offer", b.Offer, "err", err)
	}
}

// newer: a later signature wins; at the same millisecond the larger
// message ID, so every node keeps the same one.
func newer(t time.Time, id common.Hash, than time.Time, thanID common.Hash) bool {
	if !t.Equal(than) {
		return t.After(than)
	}
	return strings.Compare(id.Hex(), thanID.Hex()) > 0
}

// checkScheduleLocked checks a schedule against its offer when held. A
// schedule that arrives before its offer is kept; ScheduleFor checks it
// against the award.
func (s *Service) checkScheduleLocked(m p2p.Message, b p2p.Schedule) error {
	o, ok := s.offers[b.Offer]
	if !ok {
		return nil
	}
	if !strings.EqualFold(o.Provider, m.Author.Hex()) {
		return reasonErr(ReasonScheduleForeign, gridmint.EUnauthorized, "schedule by %s for offer %s of %s", m.Author.Hex(), b.Offer, o.Provider)
	}
	if b.Start.After(o.Offer.WindowStart) || b.End().Before(o.Offer.WindowEnd) {
		return reasonErr(ReasonScheduleWindow, gridmint.EInvalid, "schedule [%v, %v) for offer window [%v, %v)",
			b.Start.UTC(), b.End().UTC(), o.Offer.WindowStart.UTC(), o.Offer.WindowEnd.UTC())
	}
	gate, any := time.Time{}, false
	for _, e := range s.events {
		r := e.Request
		if r.Zone == o.Offer.Zone && r.Direction == o.Offer.Direction && r.WindowStart.Equal(o.Offer.WindowStart) && r.WindowEnd.Equal(o.Offer.WindowEnd) &&
			(!any || r.GateClosure.After(gate)) {
			gate, any = r.GateClosure, true
		}
	}
	if !any || o.Offer.Expiry.Before(gate) {
		gate = o.Offer.Expiry
	}
	if m.Created.After(gate) {
		return reasonErr(gridmint.FlexScheduleLate, gridmint.EInvalid, "schedule for offer %s signed at %v, after its gate closure %v",
			b.Offer, m.Created.UTC(), gate.UTC())
	}
	return nil
}

// ScheduleFor is the schedule of offer by provider that measures an
// award of it: the latest one signed (a home signs one per offer; a
// second is a re-signed plan). Whether it was signed by the gate closure
// is the baseline's check (flex: schedule_late). False: none received.
func (s *Service) ScheduleFor(offer gridmint.OfferID, provider common.Address) (SignedSchedule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.schedules[scheduleKey{offer, provider}]
	if !ok {
		return SignedSchedule{}, false
	}
	c := *r
	c.Plan.Energy = slices.Clone(r.Plan.Energy)
	return c, true
}

// loadSchedules reads the kept schedules.
func (s *Service) loadSchedules() error {
	return s.d.Store.ScanSettle(schedulePrefix, func(_ string, v []byte) error {
		var r SignedSchedule
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("market: stored schedule: %w", err)
		}
		s.schedules[scheduleKey{r.Offer, r.Author}] = &r
		s.scheduleCount[r.Author]++
		return nil
	})
}

// pruneSchedulesLocked forgets schedules Retention after their plan
// ended: measurement is long done by then.
func (s *Service) pruneSchedulesLocked(now time.Time) []string {
	var keys []string
	for k, r := range s.schedules {
		if now.Sub(r.Plan.End()) > s.cfg.Retention {
			delete(s.schedules, k)
			if s.scheduleCount[k.author]--; s.scheduleCount[k.author] <= 0 {
				delete(s.scheduleCount, k.author)
			}
			keys = append(keys, k.store())
		}
	}
	return keys
}
