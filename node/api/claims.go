package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
)

// Claims is the node's certificate claim cycle (node/claims.go): the
// claims it made and received, with where each stands. Implementations
// must be safe for concurrent use.
type Claims interface {
	// Claims returns the known claims, newest hour first, at most limit;
	// status "" returns every status.
	Claims(status string, limit int) []ClaimView
}

// ClaimView is one claim as GET /api/v1/claims shows it.
type ClaimView struct {
	Claim gridmint.Claim `json:"claim"`
	// HourStart is the claim's hour, as a time (UTC).
	HourStart time.Time `json:"hour_start"`
	// Status is pending, attested, issued or refused.
	Status string `json:"status"`
	// Findings are the rules that refused (refuse true) or flagged it.
	Findings []ClaimFinding `json:"findings,omitempty"`
	// Own is set for this node's own devices' claims.
	Own bool `json:"own,omitempty"`
	// Received is when this node made or received it (node clock).
	Received time.Time `json:"received"`
	// Message is the gossip envelope's id.
	Message common.Hash `json:"message,omitzero"`
	// Batch is the REC issue batch it went into; Tx the transaction that
	// issued it.
	Batch *common.Hash `json:"batch,omitempty"`
	Tx    *common.Hash `json:"tx,omitempty"`
}

// ClaimFinding is one rule's finding on a claim.
type ClaimFinding struct {
	Reason string `json:"reason"`
	Refuse bool   `json:"refuse"`
	Detail string `json:"detail,omitempty"`
}

// ClaimList is GET /api/v1/claims.
type ClaimList struct {
	Claims []ClaimView `json:"claims"`
}

// claimsLimit bounds GET /api/v1/claims?limit=.
const claimsLimit = 10000

// claims is GET /api/v1/claims?status=&limit=: the certificate claims
// this node knows (its own and its peers'), newest hour first, each with
// its status and, when refused or flagged, the reasons.
func (s *Server) claims(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.limitParam(w, r.URL.Query().Get("limit"), 500, claimsLimit)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	switch status {
	case "", "pending", "attested", "issued", "refused":
	default:
		s.writeError(w, http.StatusBadRequest, "status "+strconv.Quote(status)+": want pending, attested, issued or refused")
		return
	}
	out := ClaimList{Claims: s.cfg.Claims.Claims(status, limit)}
	if out.Claims == nil {
		out.Claims = []ClaimView{}
	}
	s.writeJSON(w, http.StatusOK, out)
}
