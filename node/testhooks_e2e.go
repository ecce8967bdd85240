//go:build e2e

package node

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/settle"
)

// Test hooks for the end-to-end harness (cmd/gridmint's harness_test.go),
// built only with -tags e2e: never in a binary that `make build` or a
// release makes.
//
// POST /e2e/v1/batches {"claims": [chain.Claim...], "nodes": [address...],
// "attest": bool} hands the node a REC issue batch as the certificate
// service will once it exists (issue 13): attest (sign, gossip, collect,
// submit when elected) or only propose (collect others' attestations). The
// API token is required, as for every write.
func withTestHooks(n *Node, h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h)
	mux.HandleFunc("POST /e2e/v1/batches", func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(n.apiToken)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var req struct {
			Claims []chain.Claim `json:"claims"` // each naming its node
			Attest bool          `json:"attest"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if n.settle == nil {
			http.Error(w, "no settlement engine on this node", http.StatusServiceUnavailable)
			return
		}
		b, err := settle.RECIssue(req.Claims)
		if err == nil {
			if req.Attest {
				err = n.settle.Attest(r.Context(), b)
			} else {
				_, err = n.settle.Propose(b)
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"id": b.ID().Hex()})
	})
	return mux
}
