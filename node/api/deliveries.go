package api

import (
	"net/http"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
)

// Deliveries is the node's measurement and rewards of flexibility
// (node/market/mv): the firm events it tracks and the measured delivery
// of each award. Implementations must be safe for concurrent use.
type Deliveries interface {
	// DeliveryEvents returns the tracked events, newest window first; a
	// non-nil request selects one.
	DeliveryEvents(request *gridmint.RequestID) []DeliveryEvent
}

// DeliveryEvent is one firm event (a reserved clearing) and its
// deliveries, as GET /api/v1/market/deliveries shows it.
type DeliveryEvent struct {
	RequestID gridmint.RequestID `json:"request_id"`
	Request   gridmint.Request   `json:"request"`
	// Price is the clearing price, MicroFLEX per kWh.
	Price gridmint.MicroFLEX `json:"price"`
	Root  common.Hash        `json:"awards_root"`
	// ReservationTx burned Reserved FLEX base units.
	ReservationTx common.Hash `json:"reservation_tx"`
	Reserved      string      `json:"reserved"`
	// ReservationBlock is the reservation's block: slashes use the
	// providers' stakes in its state, the same on every node.
	ReservationBlock uint64 `json:"reservation_block,omitempty"`
	// State is tracking (window not yet measured), metered (this node's
	// intervals gossiped), verified (records computed) or settled (the
	// reward batch is on chain).
	State string `json:"state"`
	// Batch is the delivery reward batch, BatchState where it stands
	// (node/settle), RewardTx the FLEX.reward transaction.
	Batch      *common.Hash `json:"batch,omitempty"`
	BatchState string       `json:"batch_state,omitempty"`
	RewardTx   *common.Hash `json:"reward_tx,omitempty"`
	Deliveries []Delivery   `json:"deliveries"`
	// Refused are claimed records that differ from this node's.
	Refused []DeliveryRefusal `json:"refused,omitempty"`
}

// Delivery is one award's measured delivery. Energies in mWh over the
// window; money in FLEX base units (18 decimals) as decimal strings.
type Delivery struct {
	gridmint.DeliveryRecord
	BaselineMWh *gridmint.MWh `json:"baseline_mwh,omitempty"`
	MeteredMWh  *gridmint.MWh `json:"metered_mwh,omitempty"`
	BaselineErr string        `json:"baseline_error,omitempty"`
	// Performance is delivered / awarded (1 = fully delivered).
	Performance float64 `json:"performance"`
	Paid        string  `json:"paid"`
	// Slashed is what the slashing rule takes from the provider's stake
	// for this award ("0" if nothing).
	Slashed string `json:"slashed"`
	// SlashState is where the attested FLEX.slash stands (node/settle:
	// collecting, ready, submitting, settled, failed); SlashTx its
	// transaction.
	SlashState string       `json:"slash_state,omitempty"`
	SlashTx    *common.Hash `json:"slash_tx,omitempty"`
	// SlashNotComputable: under-delivered, but this node does not know
	// the provider's stake at the reservation block, so it attests no
	// slash (stake_unavailable, no_reservation_block).
	SlashNotComputable string      `json:"slash_not_computable,omitempty"`
	Evidence           common.Hash `json:"evidence"`
	// Schedule is the signed schedule message a schedule-baseline award
	// was measured against; NoSchedule: none was received (not paid).
	Schedule   *common.Hash `json:"schedule,omitempty"`
	NoSchedule bool         `json:"no_schedule,omitempty"`
}

// DeliveryRefusal is a refused delivery claim.
type DeliveryRefusal struct {
	OfferID gridmint.OfferID    `json:"offer_id"`
	Reason  gridmint.FlexReason `json:"reason"`
	Detail  string              `json:"detail"`
}

// DeliveryList is GET /api/v1/market/deliveries.
type DeliveryList struct {
	Events []DeliveryEvent `json:"events"`
}

// deliveries is GET /api/v1/market/deliveries: every tracked event.
func (s *Server) deliveries(w http.ResponseWriter, _ *http.Request) {
	out := DeliveryList{Events: s.cfg.Deliveries.DeliveryEvents(nil)}
	if out.Events == nil {
		out.Events = []DeliveryEvent{}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// deliveriesOf is GET /api/v1/market/deliveries/{request}: one event.
func (s *Server) deliveriesOf(w http.ResponseWriter, r *http.Request) {
	var id gridmint.RequestID
	if err := id.UnmarshalText([]byte(r.PathValue("request"))); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	evs := s.cfg.Deliveries.DeliveryEvents(&id)
	if len(evs) == 0 {
		s.writeError(w, http.StatusNotFound, "request "+id.String()+": no firm event tracked here")
		return
	}
	s.writeJSON(w, http.StatusOK, evs[0])
}
