package market

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/p2p"
)

// Exemptions: a home declares, before an event's window starts, that one
// of its awarded devices will not deliver in it (the homeowner's opt-out
// of that event, or a grid operator's limit). The declaration is a signed
// gossip message (p2p.Exemption), so every node that verifies the award
// (node/market/mv) excuses the shortfall instead of slashing it; a home
// that kept it to itself would be slashed by the others. The declaring
// home does not dispatch the device in that event.

// Exemption refusal reasons, counted in gridmint_market_refused_total.
const (
	// ReasonExemptionLate: declared (signed) at or after the window
	// start. An opt-out is a promise made before the event; one made
	// during it would excuse any shortfall after the fact. Stricter than
	// flex for grid_limit (flex accepts it until the window end): here
	// the home declares it, not the grid operator.
	ReasonExemptionLate gridmint.FlexReason = "exemption_late"
	// ReasonExemptionForeign: the device key is awarded in the event to
	// another node than the author: only a device's own node speaks for
	// it.
	ReasonExemptionForeign gridmint.FlexReason = "exemption_foreign"
	// ReasonExemptionUnknown: for a request this node does not hold, or
	// one it cleared with no award of the author's device.
	ReasonExemptionUnknown gridmint.FlexReason = "exemption_unknown"
	// ReasonExemptionFlood: more exemptions from one author than a home
	// could have awards.
	ReasonExemptionFlood gridmint.FlexReason = "exemption_flood"
)

// maxExemptionsPerAuthor bounds the exemptions kept from one author, as
// maxSchedulesPerAuthor does schedules.
const maxExemptionsPerAuthor = 4096

// exemptionPrefix keys kept exemptions (settlement namespace).
const exemptionPrefix = "mx/"

// Exemption is one declaration kept: the author's device (network name
// Device, key Key) will not deliver its award in Request's window.
type Exemption struct {
	Request gridmint.RequestID  `json:"request"`
	Author  common.Address      `json:"author"`
	Key     gridmint.DeviceKey  `json:"key"`
	Device  gridmint.DeviceID   `json:"device"`
	Reason  gridmint.FlexReason `json:"reason"`
	// Declared is the message's signed creation time.
	Declared time.Time   `json:"declared"`
	Message  common.Hash `json:"message"`
	// Start and End are the request's window.
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Received time.Time `json:"received"`
}

type exemptionKey struct {
	req    gridmint.RequestID
	author common.Address
	key    gridmint.DeviceKey
}

func (k exemptionKey) store() string {
	return exemptionPrefix + k.req.String() + "/" + strings.ToLower(k.author.Hex()) + "/" + hex.EncodeToString(k.key[:])
}

// Flex is the exemption as flex.Verify takes it.
func (x Exemption) Flex() gridmint.FlexExemption {
	return gridmint.FlexExemption{Device: x.Device, Reason: x.Reason, DeclaredAt: x.Declared, Start: x.Start, End: x.End}
}

// handleExemption keeps a gossiped exemption or refuses it with a reason
// (exemption_unknown, exemption_late, exemption_foreign, exemption_flood).
// One for a request held but not cleared here yet is kept: it names the
// device as (author, key), so it can only ever match that device's award.
func (s *Service) handleExemption(m p2p.Message, b p2p.Exemption) {
	if err := s.keepExemption(m, b); err != nil {
		s.log.Info("market: exemption refused", "request", b.Request, "author", m.Author, "reason", flex.Reason(err), "err", err)
	}
}

func (s *Service) keepExemption(m p2p.Message, b p2p.Exemption) error {
	k := exemptionKey{b.Request, m.Author, b.Device}
	now := s.d.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.exemptions[k]
	if had && (old.Message == m.ID || !newer(old.Declared, old.Message, m.Created, m.ID)) {
		return nil // the earliest declaration stands, on every node alike
	}
	e, ok := s.events[b.Request]
	if !ok {
		s.refuse(ReasonExemptionUnknown)
		return reasonErr(ReasonExemptionUnknown, gridmint.ENotFound, "request %s is not held here", b.Request)
	}
	if err := s.checkExemptionLocked(e, m, b); err != nil {
		s.refuse(flex.Reason(err))
		return err
	}
	if !had {
		if s.exemptionCount[m.Author] >= maxExemptionsPerAuthor {
			s.refuse(ReasonExemptionFlood)
			return reasonErr(ReasonExemptionFlood, gridmint.EConflict, "%d exemptions from %s", maxExemptionsPerAuthor, m.Author.Hex())
		}
		s.exemptionCount[m.Author]++
	}
	x := &Exemption{Request: b.Request, Author: m.Author, Key: b.Device, Device: NetDevice(m.Author, b.Device), Reason: b.Reason,
		Declared: m.Created, Message: m.ID, Start: e.Request.WindowStart, End: e.Request.WindowEnd, Received: now}
	s.exemptions[k] = x
	if m.Author != s.d.Self {
		s.m.exemptionsReceived.Inc()
	}
	e.logf(now, "exemption", "%s: %s declared at %s by %s", x.Device, x.Reason, x.Declared.UTC().Format(time.RFC3339), m.Author.Hex())
	s.saveEventLocked(e)
	v, err := json.Marshal(x)
	if err == nil {
		err = s.d.Store.PutSettle(k.store(), v)
	}
	if err != nil {
		s.log.Error("market: keeping an exemption", "request", b.Request, "err", err)
	}
	return nil
}

// checkExemptionLocked: declared before the window start and, once this
// node has cleared the request, for an award of the author's device.
func (s *Service) checkExemptionLocked(e *eventRecord, m p2p.Message, b p2p.Exemption) error {
	if !m.Created.Before(e.Request.WindowStart) {
		return reasonErr(ReasonExemptionLate, gridmint.EConflict, "%s declared at %v, not before the window start %v",
			b.Reason, m.Created.UTC(), e.Request.WindowStart.UTC())
	}
	if e.Clearing == nil {
		return nil
	}
	dev := NetDevice(m.Author, b.Device)
	suffix := "/key/" + hex.EncodeToString(b.Device[:])
	for _, a := range e.Clearing.Awards {
		if a.Device == dev {
			return nil
		}
		if strings.HasSuffix(string(a.Device), suffix) {
			return reasonErr(ReasonExemptionForeign, gridmint.EUnauthorized, "device key %x is awarded to %s, declared by %s", b.Device[:4], a.Provider, m.Author.Hex())
		}
	}
	return reasonErr(ReasonExemptionUnknown, gridmint.ENotFound, "request %s has no award of %s", e.ID, dev)
}

// ExemptionsFor are the exemptions kept for request's awards, as
// flex.Verify takes them (node/market/mv verifies with them).
func (s *Service) ExemptionsFor(request gridmint.RequestID) []gridmint.FlexExemption {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gridmint.FlexExemption
	for k, x := range s.exemptions {
		if k.req == request {
			out = append(out, x.Flex())
		}
	}
	slices.SortFunc(out, func(a, b gridmint.FlexExemption) int { return strings.Compare(string(a.Device), string(b.Device)) })
	return out
}

// exemptionLocked is the exemption of own device dev (network name) in
// request, if declared.
func (s *Service) exemptionLocked(request gridmint.RequestID, dev gridmint.DeviceID) (*Exemption, bool) {
	for k, x := range s.exemptions {
		if k.req == request && x.Device == dev {
			return x, true
		}
	}
	return nil, false
}

// OptOut implements api.MarketOptOut: the homeowner withdraws device (a
// device id of this node) from the event of request before its window
// starts. It signs and gossips the exemption and keeps it; the device is
// then not dispatched in the event, and every node's verification
// records its award as opt_out: not paid, not slashed. Declaring again
// answers the first declaration.
func (s *Service) OptOut(ctx context.Context, request gridmint.RequestID, device gridmint.DeviceID) (api.MarketExemption, bool, error) {
	return s.Exempt(ctx, request, device, gridmint.FlexOptOut)
}

// Exempt implements api.MarketOptOut: OptOut with the reason declared,
// gridmint.FlexOptOut or gridmint.FlexGridLimit (a grid operator's limit
// on the device, e.g. a DSO's dimming order, that the home relays).
func (s *Service) Exempt(ctx context.Context, request gridmint.RequestID, device gridmint.DeviceID, reason gridmint.FlexReason) (api.MarketExemption, bool, error) {
	if reason != gridmint.FlexOptOut && reason != gridmint.FlexGridLimit {
		return api.MarketExemption{}, false, gridmint.Errorf(gridmint.EInvalid, "exemption reason %q: want %s or %s", reason, gridmint.FlexOptOut, gridmint.FlexGridLimit)
	}
	if !s.d.Home || s.d.Key == nil {
		return api.MarketExemption{}, false, reasonErr(gridmint.FlexUnknownDevice, gridmint.ENotFound, "this node has no devices")
	}
	local := s.localDevices()
	found := false
	for _, st := range local {
		found = found || st.ID == device
	}
	if !found {
		return api.MarketExemption{}, false, reasonErr(gridmint.FlexUnknownDevice, gridmint.ENotFound, "device %s is not one of this node's", device)
	}
	key := s.d.Key(device)
	net := NetDevice(s.d.Self, key)
	now := s.d.Clock.Now()
	s.mu.Lock()
	e, ok := s.events[request]
	var err error
	var award gridmint.Award
	switch {
	case !ok:
		err = reasonErr(ReasonExemptionUnknown, gridmint.ENotFound, "request %s is not held here", request)
	case !now.Before(e.Request.WindowStart):
		err = reasonErr(ReasonExemptionLate, gridmint.EConflict, "the window started at %v: an opt-out must come before it",
			e.Request.WindowStart.UTC().Format(time.RFC3339))
	case e.Clearing == nil:
		err = reasonErr(ReasonExemptionUnknown, gridmint.EConflict, "request %s is not cleared yet: nothing awarded to opt out of", request)
	default:
		i := slices.IndexFunc(e.Clearing.Awards, func(a gridmint.Award) bool { return a.Device == net })
		if i < 0 {
			err = reasonErr(ReasonExemptionUnknown, gridmint.EConflict, "device %s has no award in request %s", device, request)
		} else {
			award = e.Clearing.Awards[i]
		}
	}
	if err == nil {
		if x, ok := s.exemptionLocked(request, net); ok {
			v := exemptionView(x, device, award.OfferID)
			s.mu.Unlock()
			return v, false, nil
		}
	}
	s.mu.Unlock()
	if err != nil {
		s.refuse(flex.Reason(err))
		return api.MarketExemption{}, false, err
	}
	b := p2p.Exemption{Request: request, Device: key, Reason: reason}
	m, perr := s.d.Publish(ctx, b)
	if perr != nil && len(m.Raw) == 0 {
		return api.MarketExemption{}, false, gridmint.Errorf(gridmint.EUnavailable, "opt-out not signed: %v", perr)
	}
	s.m.exemptionsMade.Inc()
	if err := s.keepExemption(m, b); err != nil {
		// The clock passed the window start while signing.
		return api.MarketExemption{}, false, err
	}
	if perr != nil {
		s.log.Warn("market: opt-out kept but not gossiped yet", "request", request, "device", device, "err", perr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, _ := s.exemptionLocked(request, net)
	if x == nil {
		return api.MarketExemption{}, false, fmt.Errorf("market: opt-out of %s not kept", device)
	}
	return exemptionView(x, device, award.OfferID), true, nil
}

func exemptionView(x *Exemption, local gridmint.DeviceID, offer gridmint.OfferID) api.MarketExemption {
	return api.MarketExemption{RequestID: x.Request, OfferID: offer, Device: x.Device, LocalDevice: local, Reason: string(x.Reason),
		DeclaredAt: x.Declared, Author: x.Author.Hex(), Message: x.Message}
}

// exemptionViewsLocked are e's exemptions, per award, for the events
// view; local maps this node's devices' network names to their ids.
func (s *Service) exemptionViewsLocked(e *eventRecord, local map[gridmint.DeviceID]gridmint.DeviceID) []api.MarketExemption {
	var out []api.MarketExemption
	for k, x := range s.exemptions {
		if k.req != e.ID {
			continue
		}
		var offer gridmint.OfferID
		if e.Clearing != nil {
			i := slices.IndexFunc(e.Clearing.Awards, func(a gridmint.Award) bool { return a.Device == x.Device })
			if i < 0 {
				continue // no award of the device here: it excuses nothing
			}
			offer = e.Clearing.Awards[i].OfferID
		}
		out = append(out, exemptionView(x, local[x.Device], offer))
	}
	slices.SortFunc(out, func(a, b api.MarketExemption) int { return strings.Compare(string(a.Device), string(b.Device)) })
	return out
}

// loadExemptions reads the kept exemptions.
func (s *Service) loadExemptions() error {
	return s.d.Store.ScanSettle(exemptionPrefix, func(_ string, v []byte) error {
		var x Exemption
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("market: stored exemption: %w", err)
		}
		s.exemptions[exemptionKey{x.Request, x.Author, x.Key}] = &x
		s.exemptionCount[x.Author]++
		return nil
	})
}

// pruneExemptionsLocked forgets exemptions Retention after their window
// ended, with their events.
func (s *Service) pruneExemptionsLocked(now time.Time) []string {
	var keys []string
	for k, x := range s.exemptions {
		if now.Sub(x.End) > s.cfg.Retention {
			delete(s.exemptions, k)
			if s.exemptionCount[k.author]--; s.exemptionCount[k.author] <= 0 {
				delete(s.exemptionCount, k.author)
			}
			keys = append(keys, k.store())
		}
	}
	return keys
}

// exemptOptedOut declares an exemption for every award, in an event whose
// window has not started, of a device the homeowner's market policy now
// opts out (opt_out in the configuration or the registry, or the web
// app's market switch turned off after the device's offer went out). Without it the home
// would refuse the dispatch alone, and every other node would measure
// the award as undelivered and slash it; with it the award is excused
// on every node, as an opt-out of that one event is.
func (s *Service) exemptOptedOut(ctx context.Context, now time.Time) {
	if !s.d.Home || s.d.Key == nil {
		return
	}
	type due struct {
		request gridmint.RequestID
		device  gridmint.DeviceID
	}
	var todo []due
	var local map[gridmint.DeviceID]devices.DeviceState
	s.mu.Lock()
	for _, e := range s.events {
		if e.Clearing == nil || e.windowStarted(now) {
			continue
		}
		if e.State != StateCleared && e.State != StateAgreed && e.State != StateFirm {
			continue
		}
		var las []LocalAward
		las, local = s.localAwardsWith(e.Clearing, local)
		for _, la := range las {
			if _, ok := s.exemptionLocked(e.ID, la.Award.Device); ok {
				continue
			}
			// The registry's opt-out (PATCH /api/v1/devices/<id>) counts too.
			if !s.policyFor(la.Device).OptOut && !local[la.Award.Device].OptOut {
				continue
			}
			todo = append(todo, due{e.ID, la.Device})
		}
	}
	s.mu.Unlock()
	for _, d := range todo {
		if _, _, err := s.OptOut(ctx, d.request, d.device); err != nil {
			s.log.Warn("market: opted-out device's award not exempted", "request", d.request, "device", d.device, "err", err)
			continue
		}
		s.log.Info("market: award of an opted-out device exempted", "request", d.request, "device", d.device)
	}
}
