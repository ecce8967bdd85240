package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// MarketOptOut is a market that lets the homeowner opt a device out of
// one event (node/market's Service). Implementations must be safe for
// concurrent use.
type MarketOptOut interface {
	// OptOut withdraws device (this node's) from the event of request
	// before its window starts, declares it to every node and answers
	// the declaration; declared is false when it had been declared
	// before (the first declaration stands). Errors carry a gridmint code and a flex reason
	// (flex.Reason): unknown_device, exemption_unknown, exemption_late.
	OptOut(ctx context.Context, request gridmint.RequestID, device gridmint.DeviceID) (x MarketExemption, declared bool, err error)
	// Exempt is OptOut with the reason declared: gridmint.FlexOptOut (the
	// homeowner's choice) or gridmint.FlexGridLimit (the grid operator
	// limited the device, e.g. a DSO's dimming order, so it cannot
	// deliver). Either excuses the award: not dispatched, paid or slashed.
	Exempt(ctx context.Context, request gridmint.RequestID, device gridmint.DeviceID, reason gridmint.FlexReason) (x MarketExemption, declared bool, err error)
}

// MarketExemption is a declared exemption of one award: the homeowner's
// opt-out of the event (reason opt_out) or a grid limit (grid_limit). Its
// award is not dispatched, not paid and not slashed.
type MarketExemption struct {
	RequestID gridmint.RequestID `json:"request_id"`
	// OfferID is the award's offer (zero before this node cleared).
	OfferID gridmint.OfferID `json:"offer_id"`
	// Device is the network name; LocalDevice this node's id of it, when
	// it is one of this node's.
	Device      gridmint.DeviceID `json:"device"`
	LocalDevice gridmint.DeviceID `json:"local_device,omitempty"`
	Reason      string            `json:"reason"`
	// DeclaredAt is when the declaring node signed it (before the window
	// start, or it is refused).
	DeclaredAt time.Time   `json:"opted_out_at"`
	Author     string      `json:"author"`
	Message    common.Hash `json:"message"`
}

// routeOptOut adds POST /api/v1/market/events/{request}/opt-out when the
// market can take opt-outs.
func (s *Server) routeOptOut() {
	if s.cfg.Market == nil {
		return
	}
	if o, ok := s.cfg.Market.(MarketOptOut); ok {
		s.mux.HandleFunc("POST /api/v1/market/events/{request}/opt-out", func(w http.ResponseWriter, r *http.Request) { s.optOut(w, r, o) })
	}
}

// optOut: body {"device": "<this node's device id>", "reason":
// "opt_out" (the default) or "grid_limit"}; 201 with the
// declaration (200 when it was declared before), else the error with its
// code and reason (409 exemption_late after the window start).
func (s *Server) optOut(w http.ResponseWriter, r *http.Request, o MarketOptOut) {
	if !s.authorized(w, r) {
		return
	}
	var id gridmint.RequestID
	if err := id.UnmarshalText([]byte(r.PathValue("request"))); err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	dev, reason, err := DecodeOptOut(body)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	x, declared, err := o.Exempt(r.Context(), id, dev, reason)
	if err != nil {
		s.writeOptOutErr(w, err)
		return
	}
	status := http.StatusCreated
	if !declared {
		status = http.StatusOK
	}
	s.writeJSON(w, status, x)
}

// writeOptOutErr is writeErr with the flex reason.
func (s *Server) writeOptOutErr(w http.ResponseWriter, err error) {
	code, ok := errorStatus[gridmint.ErrorCode(err)]
	if !ok {
		code = http.StatusInternalServerError
		s.cfg.Logger.Error("api: opt-out", "err", err)
	}
	msg := err.Error()
	var e *gridmint.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	reason := ""
	var re *flex.ReasonError
	if errors.As(err, &re) {
		reason = string(re.Reason)
	}
	noteCode(w, gridmint.ErrorCode(err))
	s.writeJSON(w, code, struct {
		Error  string `json:"error"`
		Code   string `json:"code"`
		Reason string `json:"reason,omitempty"`
	}{msg, gridmint.ErrorCode(err), reason})
}

// maxOptOutDevice bounds the device id in an opt-out body.
const maxOptOutDevice = 256

// DecodeOptOut parses an opt-out body, {"device": "<device id>",
// "reason": "opt_out" | "grid_limit"}: one JSON object, no other fields,
// the id text of at most 256 bytes; no reason is opt_out.
func DecodeOptOut(body []byte) (gridmint.DeviceID, gridmint.FlexReason, error) {
	var in struct {
		Device gridmint.DeviceID   `json:"device"`
		Reason gridmint.FlexReason `json:"reason"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return "", "", err
	}
	if in.Device == "" || len(in.Device) > maxOptOutDevice {
		return "", "", gridmint.Errorf(gridmint.EInvalid, "device: want this node's device id (1 to %d bytes)", maxOptOutDevice)
	}
	switch in.Reason {
	case "":
		in.Reason = gridmint.FlexOptOut
	case gridmint.FlexOptOut, gridmint.FlexGridLimit:
	default:
		return "", "", gridmint.Errorf(gridmint.EInvalid, "reason %q: want %s or %s", in.Reason, gridmint.FlexOptOut, gridmint.FlexGridLimit)
	}
	return in.Device, in.Reason, nil
}
