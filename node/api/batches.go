package api

import (
	"net/http"

	"github.com/gridmint/gridmint/node/settle"
)

// Settlement is the node's attested-batch engine (node/settle): the
// batches it knows and where each stands. Implementations must be safe
// for concurrent use.
type Settlement interface {
	// Batches returns the known batches, newest first, at most limit.
	Batches(limit int) []settle.Status
}

// batchesLimit bounds GET /api/v1/batches?limit=.
const batchesLimit = 1000

// BatchList is GET /api/v1/batches.
type BatchList struct {
	Batches []settle.Status `json:"batches"`
}

// batches is GET /api/v1/batches?limit=: the attested batches this node
// knows (certificates to issue, rewards to mint), newest first: kind, id,
// attestations at hand of k, state, the submission order with this
// node's rank, and who settled each in which transaction.
func (s *Server) batches(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.limitParam(w, r.URL.Query().Get("limit"), 100, batchesLimit)
	if !ok {
		return
	}
	out := BatchList{Batches: s.cfg.Settlement.Batches(limit)}
	if out.Batches == nil {
		out.Batches = []settle.Status{}
	}
	s.writeJSON(w, http.StatusOK, out)
}
