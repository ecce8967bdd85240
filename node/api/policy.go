package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gridmint/gridmint"
)

// PolicyOverride is the body of PUT /api/v1/market/policy/{device}: the
// homeowner's edit of a device's offer policy (or, for "defaults", of
// every device's defaults). A field left out (or null) takes the
// configuration's value; {} removes the edit. Units as PolicyView's.
type PolicyOverride struct {
	MinPrice       *gridmint.MicroFLEX `json:"min_price,omitempty"`
	ReserveSoCPct  *float64            `json:"reserve_soc_pct,omitempty"`
	MaxSoCPct      *float64            `json:"max_soc_pct,omitempty"`
	Departure      *string             `json:"departure,omitempty"`
	EnergyNeededWh *gridmint.Wh        `json:"energy_needed_wh,omitempty"`
	OptOut         *bool               `json:"opt_out,omitempty"`
}

// Empty reports whether o sets nothing.
func (o PolicyOverride) Empty() bool { return o == PolicyOverride{} }

// policyBodyMax bounds the body: six fields fit in far less.
const policyBodyMax = 4 << 10

// DecodePolicyOverride reads a PUT /api/v1/market/policy body: one JSON
// object of PolicyOverride's fields, nothing else. An error names the
// field at fault where it can (*PolicyRefusal).
func DecodePolicyOverride(r io.Reader) (PolicyOverride, error) {
	var o PolicyOverride
	b, err := io.ReadAll(io.LimitReader(r, policyBodyMax+1))
	if err != nil {
		return o, err
	}
	if len(b) > policyBodyMax {
		return o, policyBodyErr("", "body over %d bytes", policyBodyMax)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return PolicyOverride{}, policyBodyErr(te.Field, "want a %s, got JSON %s", te.Type, te.Value)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return PolicyOverride{}, policyBodyErr("", "unknown field %s: want min_price, reserve_soc_pct, max_soc_pct, departure, energy_needed_wh, opt_out", f)
		}
		return PolicyOverride{}, policyBodyErr("", "want a JSON object: %v", err)
	}
	if dec.More() {
		return PolicyOverride{}, policyBodyErr("", "one JSON object, nothing after it")
	}
	if _, err := dec.Token(); err != io.EOF {
		return PolicyOverride{}, policyBodyErr("", "one JSON object, nothing after it")
	}
	return o, nil
}

func policyBodyErr(field, format string, args ...any) *PolicyRefusal {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &PolicyRefusal{Reason: "invalid", Code: gridmint.EInvalid, Field: field, Message: msg}
}

// PolicyRefusal is a refused policy edit: Reason a reason code
// (policy_invalid, unknown_device, invalid), Field the body's field at
// fault ("" when none is).
type PolicyRefusal struct {
	Reason, Code, Field, Message string
}

func (r *PolicyRefusal) Error() string { return r.Message }

// PolicyEditor edits the homeowner's offer policy (node/market's
// Service.SetPolicy).
type PolicyEditor func(ctx context.Context, device string, o PolicyOverride) (OfferPolicy, error)

func (s *Server) routePolicy() {
	if s.cfg.PolicyEdit == nil {
		return
	}
	s.mux.HandleFunc("PUT /api/v1/market/policy/{device...}", s.putPolicy)
}

// putPolicy is PUT /api/v1/market/policy/{device}, device a device id
// (<node>/<adapter>/<serial>) or "defaults".
func (s *Server) putPolicy(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	o, err := DecodePolicyOverride(r.Body)
	if err == nil {
		var out OfferPolicy
		if out, err = s.cfg.PolicyEdit(r.Context(), r.PathValue("device"), o); err == nil {
			s.writeJSON(w, http.StatusOK, out)
			return
		}
	}
	var rf *PolicyRefusal
	if !errors.As(err, &rf) {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, s.refusalStatus(w, rf.Code), struct {
		Error  string `json:"error"`
		Code   string `json:"code"`
		Reason string `json:"reason"`
		Field  string `json:"field,omitempty"`
	}{rf.Message, rf.Code, rf.Reason, rf.Field})
}

// refusalStatus is the HTTP status of a refusal with gridmint error code
// (500 for a code without one), noted for the request's log line.
func (s *Server) refusalStatus(w http.ResponseWriter, code string) int {
	noteCode(w, code)
	if status, ok := errorStatus[code]; ok {
		return status
	}
	return http.StatusInternalServerError
}
