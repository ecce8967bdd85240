package market

import (
	"context"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
)

// Reasons a reserve asked for by the API is refused (ReserveEvent),
// counted at /metrics with the market's other refusals.
const (
	// ReasonNotCleared: the request has not cleared yet (its gate
	// closure + market.collect is ahead).
	ReasonNotCleared gridmint.FlexReason = "not_cleared"
	// ReasonNoAwards: the clearing awarded nothing, or nothing of value
	// (every award at price 0): there is nothing to burn.
	ReasonNoAwards gridmint.FlexReason = "no_awards"
	// ReasonAlreadyReserved: a reserve transaction was sent or confirmed
	// already, or is in flight.
	ReasonAlreadyReserved gridmint.FlexReason = "already_reserved"
	// ReasonWindowStarted: the window started (or the event lapsed): a
	// reservation now would not make it firm.
	ReasonWindowStarted gridmint.FlexReason = "window_started"
	// ReasonEventRefused: the event was refused (root_mismatch, a
	// reservation that does not match): it is never dispatched.
	ReasonEventRefused gridmint.FlexReason = "event_refused"
	// ReasonInsufficientFLEX: the node's FLEX balance is below the
	// cleared value.
	ReasonInsufficientFLEX gridmint.FlexReason = "insufficient_flex"
	// ReasonNoChain: the node has no chain client to reserve with (a
	// home).
	ReasonNoChain gridmint.FlexReason = "no_chain"
)

func (s *Service) refusal(r gridmint.FlexReason, code, format string, args ...any) *api.ReserveRefusal {
	s.refuse(r)
	return &api.ReserveRefusal{Reason: string(r), Code: code, Message: string(r) + ": " + fmt.Sprintf(format, args...)}
}

// ReserveEvent implements api.MarketReserver: it burns the cleared value
// of one of the node's own requests now, by the same path as the
// automatic reserve (reserveDue), and returns once the transaction is
// mined. The event turns firm when the node's chain index confirms the
// Reserved event (followReservations). A refusal is an
// *api.ReserveRefusal with its reason code.
func (s *Service) ReserveEvent(ctx context.Context, id gridmint.RequestID) (api.MarketReserveResult, error) {
	now := s.d.Clock.Now()
	s.mu.Lock()
	e, ok := s.events[id]
	var err *api.ReserveRefusal
	switch {
	case !ok:
		err = s.refusal(ReasonUnknownRequest, gridmint.ENotFound, "this node holds no request %s", id)
	case !strings.EqualFold(e.Buyer, s.d.Self.Hex()):
		err = s.refusal(ReasonNotBuyer, gridmint.EConflict, "request %s is %s's: only its buyer reserves for it", id, e.Buyer)
	case e.Clearing == nil:
		err = s.refusal(ReasonNotCleared, gridmint.EConflict, "request %s clears at its gate closure %s (+ %v collect); reserve after that",
			id, e.Request.GateClosure.UTC().Format("2006-01-02T15:04:05Z"), s.cfg.Collect)
	case len(e.Clearing.Awards) == 0:
		err = s.refusal(ReasonNoAwards, gridmint.EConflict, "request %s cleared with no awards: nothing to reserve", id)
	case e.Clearing.Value().Sign() == 0:
		err = s.refusal(ReasonNoAwards, gridmint.EConflict, "request %s cleared at price 0: nothing to burn", id)
	case e.ReserveTx != (common.Hash{}) || e.Reservation != nil || s.reserving[id]:
		err = s.refusal(ReasonAlreadyReserved, gridmint.EConflict, "request %s is reserved already or its reserve is in flight%s", id, txNote(e))
	case e.State == StateRefused:
		err = s.refusal(ReasonEventRefused, gridmint.EConflict, "request %s was refused (%s): it is never dispatched", id, e.Reason)
	case e.windowStarted(now) || e.State == StateLapsed:
		err = s.refusal(ReasonWindowStarted, gridmint.EConflict, "request %s's window started at %s: a reservation now cannot make it firm",
			id, e.Request.WindowStart.UTC().Format("2006-01-02T15:04:05Z"))
	case s.d.Reserver == nil:
		err = s.refusal(ReasonNoChain, gridmint.EUnavailable, "this node has no chain account to reserve with")
	}
	if err != nil {
		s.mu.Unlock()
		return api.MarketReserveResult{}, err
	}
	s.reserving[id] = true
	c := *e.Clearing
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.reserving, id)
		s.mu.Unlock()
	}()
	need := c.Value()
	if s.d.Balance != nil {
		bal, berr := s.d.Balance(ctx)
		if berr != nil {
			return api.MarketReserveResult{}, s.refusal(ReasonReserveFailed, gridmint.EUnavailable, "reading the node's FLEX balance: %v", berr)
		}
		if bal.Cmp(need) < 0 {
			r := s.refusal(ReasonInsufficientFLEX, gridmint.EConflict, "the node's account holds %s FLEX base units, the cleared value is %s", bal, need)
			r.Balance, r.Needed = bal.String(), need.String()
			s.mu.Lock()
			e.logf(now, "reserve_refused", "%s", r.Message)
			s.saveEventLocked(e)
			s.mu.Unlock()
			return api.MarketReserveResult{}, r
		}
	}
	rc, rerr := s.reserveOne(ctx, e, c, "the API")
	if rerr != nil {
		// Counted as reserve_failed by reserveOne.
		return api.MarketReserveResult{}, &api.ReserveRefusal{Reason: string(ReasonReserveFailed), Code: gridmint.EUnavailable,
			Message: fmt.Sprintf("%s: the chain refused or did not answer: %v", ReasonReserveFailed, rerr)}
	}
	s.mu.Lock()
	state := e.State
	s.mu.Unlock()
	return api.MarketReserveResult{RequestID: id, Tx: rc.TxHash, Block: rc.Block, Root: rootOf(&c), Amount: need.String(), State: state}, nil
}

func txNote(e *eventRecord) string {
	switch {
	case e.Reservation != nil:
		return " (confirmed in tx " + e.Reservation.Tx.Hex() + ")"
	case e.ReserveTx != (common.Hash{}):
		return " (tx " + e.ReserveTx.Hex() + ")"
	}
	return ""
}
