package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
)

// Market is the node's flexibility market (node/market): each request
// it holds with every step taken for it, and its own live offers.
// Implementations must be safe for concurrent use.
type Market interface {
	// MarketEvents returns the requests held, newest window first, at
	// most limit.
	MarketEvents(limit int) []MarketEvent
	// MarketEvent returns one request's event; false if not held.
	MarketEvent(id gridmint.RequestID) (MarketEvent, bool)
	// MarketOffers returns this node's own live offers and why its other
	// devices offer nothing.
	MarketOffers() MarketOffers
}

// MarketEvent is one request as GET /api/v1/market/events shows it.
type MarketEvent struct {
	RequestID gridmint.RequestID `json:"request_id"`
	Request   gridmint.Request   `json:"request"`
	Buyer     string             `json:"buyer"`
	Signed    time.Time          `json:"signed"`
	Received  time.Time          `json:"received"`
	// State is open, cleared, no_awards, agreed, refused, firm, lapsed,
	// dispatched or done; Reason (a reason code) and Detail say why a
	// refused or lapsed event is so.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// OffersConsidered are the held offers in the request's zone and
	// direction when it cleared.
	OffersConsidered int             `json:"offers_considered"`
	Clearing         *MarketClearing `json:"clearing,omitempty"`
	// Root is the request's author's published awards root.
	Root        *MarketRoot        `json:"published_root,omitempty"`
	Reservation *MarketReservation `json:"reservation,omitempty"`
	Setpoints   []MarketSetpoint   `json:"setpoints,omitempty"`
	// Exemptions are the awards declared exempt (optout.go).
	Exemptions []MarketExemption `json:"exemptions,omitempty"`
	// Log is every step, in order.
	Log []MarketStep `json:"log"`
}

// MarketClearing is this node's clearing of the request.
type MarketClearing struct {
	At      time.Time          `json:"at"`
	Price   gridmint.MicroFLEX `json:"price"` // µFLEX per kWh, pay-as-clear
	Awarded gridmint.W         `json:"awarded_w"`
	Short   bool               `json:"short,omitempty"`
	Root    common.Hash        `json:"root"`
	Value   string             `json:"value"` // FLEX base units
	Awards  []gridmint.Award   `json:"awards"`
	// Local maps the awards of this node's devices (network name) to
	// the node's device ids.
	Local map[gridmint.DeviceID]gridmint.DeviceID `json:"local,omitempty"`
}

// MarketRoot is an awards root the request's author published.
type MarketRoot struct {
	Root    common.Hash `json:"root"`
	Awards  uint64      `json:"awards"`
	Value   string      `json:"value"`
	Message common.Hash `json:"message"`
	// Agreed: it is this node's root too; else the event is refused
	// (root_mismatch).
	Agreed bool `json:"agreed"`
}

// MarketReservation is the buyer's confirmed FLEX.reserve.
type MarketReservation struct {
	Tx     common.Hash `json:"tx"`
	Block  uint64      `json:"block"`
	Root   common.Hash `json:"root"`
	Amount string      `json:"amount"` // FLEX base units burned
	// Firm: it names this node's root with at least the cleared value.
	Firm   bool   `json:"firm"`
	Reason string `json:"reason,omitempty"`
}

// MarketSetpoint is one dispatch setpoint and what became of it.
type MarketSetpoint struct {
	At       time.Time              `json:"at"`
	Setpoint gridmint.Setpoint      `json:"setpoint"`
	Restore  bool                   `json:"restore,omitempty"`
	OfferID  gridmint.OfferID       `json:"offer_id"`
	SentAt   *time.Time             `json:"sent_at,omitempty"`
	Command  string                 `json:"command,omitempty"` // GET /api/v1/commands/{id}
	Status   gridmint.CommandStatus `json:"status,omitempty"`  // pending, confirmed, refused, failed
	Reason   string                 `json:"reason,omitempty"`
}

// MarketStep is one line of an event's log.
type MarketStep struct {
	At     time.Time `json:"at"`
	Step   string    `json:"step"`
	Detail string    `json:"detail,omitempty"`
}

// MarketOffers is GET /api/v1/market/offers.
type MarketOffers struct {
	Offers []MarketOffer `json:"offers"`
	// Idle are this node's flexible devices without a live offer and why
	// (a flex reason: opt_out, at_reserve, no_car, offline, …).
	Idle []MarketIdle `json:"idle"`
}

// MarketOffer is one of the node's own offers.
type MarketOffer struct {
	ID        gridmint.OfferID   `json:"id"`
	Device    gridmint.DeviceID  `json:"device"`
	RequestID gridmint.RequestID `json:"request_id"`
	Offer     gridmint.Offer     `json:"offer"`
	Signed    time.Time          `json:"signed"`
}

// MarketIdle is a device that offers nothing for a request, and why.
type MarketIdle struct {
	Device    gridmint.DeviceID  `json:"device"`
	RequestID gridmint.RequestID `json:"request_id"`
	Reason    string             `json:"reason"`
}

// MarketEventList is GET /api/v1/market/events.
type MarketEventList struct {
	Events []MarketEvent `json:"events"`
}

func (s *Server) routeMarket() {
	if s.cfg.Market == nil {
		return
	}
	s.mux.HandleFunc("GET /api/v1/market/events", s.marketEvents)
	s.mux.HandleFunc("GET /api/v1/market/events/{request}", s.marketEvent)
	s.mux.HandleFunc("GET /api/v1/market/offers", s.marketOffers)
	if _, ok := s.cfg.Market.(MarketReserver); ok {
		s.mux.HandleFunc("POST /api/v1/market/events/{request}/reserve", s.marketReserve)
	}
}

// MarketReserver is a market that reserves (burns FLEX for) one of the
// node's own cleared requests when asked: a utility's, with
// market.reserve manual (or to reserve before the automatic retry).
type MarketReserver interface {
	// ReserveEvent burns the request's cleared value and returns once
	// the transaction is mined; a refusal is a *ReserveRefusal.
	ReserveEvent(ctx context.Context, id gridmint.RequestID) (MarketReserveResult, error)
}

// MarketReserveResult is POST /api/v1/market/events/{request}/reserve's
// answer: the mined reserve transaction. The event turns firm once the
// node's chain index confirms the Reserved event (GET the event).
type MarketReserveResult struct {
	RequestID gridmint.RequestID `json:"request_id"`
	Tx        common.Hash        `json:"tx"`
	Block     uint64             `json:"block"`
	Root      common.Hash        `json:"root"`
	Amount    string             `json:"amount"` // FLEX base units burned
	State     string             `json:"state"`  // the event's state now
}

// ReserveRefusal is a refused reserve: the error body carries Reason (a
// reason code: not_cleared, no_awards, already_reserved, window_started,
// event_refused, insufficient_flex, reserve_failed, not_buyer,
// unknown_request, no_chain) and, for insufficient_flex, the balance and
// the amount needed (FLEX base units).
type ReserveRefusal struct {
	Reason  string
	Code    string // a gridmint error code: the HTTP status
	Message string
	Balance string
	Needed  string
}

func (r *ReserveRefusal) Error() string { return r.Message }

// marketReserve is POST /api/v1/market/events/{request}/reserve.
func (s *Server) marketReserve(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var id gridmint.RequestID
	if err := id.UnmarshalText([]byte(r.PathValue("request"))); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.cfg.Market.(MarketReserver).ReserveEvent(r.Context(), id)
	var rf *ReserveRefusal
	switch {
	case errors.As(err, &rf):
		s.writeJSON(w, s.refusalStatus(w, rf.Code), struct {
			Error   string `json:"error"`
			Code    string `json:"code"`
			Reason  string `json:"reason"`
			Balance string `json:"balance,omitempty"`
			Needed  string `json:"needed,omitempty"`
		}{rf.Message, rf.Code, rf.Reason, rf.Balance, rf.Needed})
	case err != nil:
		s.writeErr(w, err)
	default:
		s.writeJSON(w, http.StatusOK, res)
	}
}

// marketEvents is GET /api/v1/market/events?limit=.
func (s *Server) marketEvents(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.limitParam(w, r.URL.Query().Get("limit"), 100, 10000)
	if !ok {
		return
	}
	out := MarketEventList{Events: s.cfg.Market.MarketEvents(limit)}
	if out.Events == nil {
		out.Events = []MarketEvent{}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// marketEvent is GET /api/v1/market/events/{request}: 0x and 64 hex
// digits, the request envelope's id.
func (s *Server) marketEvent(w http.ResponseWriter, r *http.Request) {
	var id gridmint.RequestID
	if err := id.UnmarshalText([]byte(r.PathValue("request"))); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ev, ok := s.cfg.Market.MarketEvent(id)
	if !ok {
		s.writeError(w, http.StatusNotFound, "no market event for request "+id.String())
		return
	}
	s.writeJSON(w, http.StatusOK, ev)
}

// marketOffers is GET /api/v1/market/offers.
func (s *Server) marketOffers(w http.ResponseWriter, r *http.Request) {
	out := s.cfg.Market.MarketOffers()
	if out.Offers == nil {
		out.Offers = []MarketOffer{}
	}
	if out.Idle == nil {
		out.Idle = []MarketIdle{}
	}
	s.writeJSON(w, http.StatusOK, out)
}
