package market

import (
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
)

// MarketEvents implements api.Market.
func (s *Service) MarketEvents(limit int) []api.MarketEvent {
	s.mu.Lock()
	es := make([]*eventRecord, 0, len(s.events))
	for _, e := range s.events {
		es = append(es, e)
	}
	sortEvents(es)
	if limit > 0 && len(es) > limit {
		es = es[:limit]
	}
	out := make([]api.MarketEvent, len(es))
	for i, e := range es {
		out[i] = s.viewLocked(e)
	}
	s.mu.Unlock()
	s.commandStatus(out)
	return out
}

// MarketEvent implements api.Market.
func (s *Service) MarketEvent(id gridmint.RequestID) (api.MarketEvent, bool) {
	s.mu.Lock()
	e, ok := s.events[id]
	var v api.MarketEvent
	if ok {
		v = s.viewLocked(e)
	}
	s.mu.Unlock()
	if ok {
		out := []api.MarketEvent{v}
		s.commandStatus(out)
		v = out[0]
	}
	return v, ok
}

// commandStatus fills each sent setpoint's status from the command log:
// confirmed (the device said so), pending, refused or failed.
func (s *Service) commandStatus(evs []api.MarketEvent) {
	if s.d.Command == nil {
		return
	}
	for i := range evs {
		for j := range evs[i].Setpoints {
			sp := &evs[i].Setpoints[j]
			if sp.Command == "" {
				continue
			}
			if c, err := s.d.Command(sp.Command); err == nil {
				sp.Status = c.Status
				if c.Reason != "" && sp.Reason == "" {
					sp.Reason = c.Reason
				}
			}
		}
	}
}

func (s *Service) viewLocked(e *eventRecord) api.MarketEvent {
	v := api.MarketEvent{RequestID: e.ID, Request: e.Request, Buyer: e.Buyer, Signed: e.Signed, Received: e.Received,
		State: e.State, Reason: string(e.Reason), Detail: e.Detail, OffersConsidered: e.Considered}
	if c := e.Clearing; c != nil {
		mc := &api.MarketClearing{At: e.ClearedAt, Price: c.Price, Awarded: c.Awarded, Short: c.Short, Root: rootOf(c),
			Value: c.Value().String(), Awards: c.Awards}
		for _, la := range s.localAwardsLocked(c) {
			if mc.Local == nil {
				mc.Local = map[gridmint.DeviceID]gridmint.DeviceID{}
			}
			mc.Local[la.Award.Device] = la.Device
		}
		if mc.Awards == nil {
			mc.Awards = []gridmint.Award{}
		}
		v.Clearing = mc
		v.Exemptions = s.exemptionViewsLocked(e, mc.Local)
	}
	if r := e.Root; r != nil {
		v.Root = &api.MarketRoot{Root: r.Root, Awards: r.Awards, Value: r.Value, Message: r.Message, Agreed: r.Agreed}
	}
	if r := e.Reservation; r != nil {
		v.Reservation = &api.MarketReservation{Tx: r.Tx, Block: r.Block, Root: r.Root, Amount: r.Amount, Firm: r.Firm, Reason: string(r.Reason)}
	}
	for _, st := range e.Steps {
		sp := api.MarketSetpoint{At: st.At, Setpoint: st.Setpoint, Restore: st.Restore, OfferID: st.OfferID, Command: st.Command, Reason: st.Reason}
		if st.Sent {
			t := st.SentAt
			sp.SentAt = &t
		} else if st.Reason != "" {
			sp.Status = "refused" // before sending: Reason says why
		}
		v.Setpoints = append(v.Setpoints, sp)
	}
	for _, l := range e.Log {
		v.Log = append(v.Log, api.MarketStep{At: l.At, Step: l.Step, Detail: l.Detail})
	}
	if v.Log == nil {
		v.Log = []api.MarketStep{}
	}
	return v
}

// LastBuyer is the author of the request this node received last, other
// than itself: in a demo, the network's utility. False: none held.
func (s *Service) LastBuyer() (common.Address, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var best *eventRecord
	for _, e := range s.events {
		if strings.EqualFold(e.Buyer, s.d.Self.Hex()) || !common.IsHexAddress(e.Buyer) {
			continue
		}
		if best == nil || e.Received.After(best.Received) || (e.Received.Equal(best.Received) && e.ID.String() > best.ID.String()) {
			best = e
		}
	}
	if best == nil {
		return common.Address{}, false
	}
	return common.HexToAddress(best.Buyer), true
}
