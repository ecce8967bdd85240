package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
)

// The web app's actions that go beyond reading: the homeowner's policy
// edits (api.PolicyEditor), the utility's FLEX balance for its reserve
// check, and the buyer's supply audit (api.AuditCache).

// policyEditAPI edits the homeowner's offer policy; nil (no route)
// where policyAPI has none.
func (n *Node) policyEditAPI() api.PolicyEditor {
	if n.market == nil || n.cfg.Role != RoleHome {
		return nil
	}
	return n.market.SetPolicy
}

// flexBalance is the node's FLEX balance, base units, on its chain.
func (n *Node) flexBalance(ctx context.Context) (*big.Int, error) {
	return n.chain.FLEXBalance(ctx, n.chain.Address())
}

// auditMaxAge is how long the web app's audit result is served before a
// request runs it again (wall time: it bounds the work, not node time).
const auditMaxAge = 2 * time.Minute

// auditAPI serves GET /api/v1/audit: gridmint audit against the running
// node's chain, its recorded submissions and its store's claims, in the
// background; nil without a chain.
func (n *Node) auditAPI(ctx context.Context) *api.AuditCache {
	if n.chain == nil {
		return nil
	}
	run := func(ctx context.Context) (*chain.AuditReport, error) {
		ev, err := n.liveEvidence(ctx)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		return chain.Audit(ctx, n.chain.Backend(), n.chain.Contracts(), ev, chain.AuditOptions{})
	}
	return api.NewAuditCache(ctx, run, gridmint.SystemClock{}, auditMaxAge, n.log.With("component", "audit"))
}

// liveEvidence is nodeEvidence for the running node: its recorded
// submissions (not complete: it may submit while the audit reads) and
// the claims of its open store.
func (n *Node) liveEvidence(ctx context.Context) (chain.Evidence, error) {
	ev, err := intentEvidence(ctx, n.cfg.DataDir, false)
	if err != nil {
		return chain.Evidence{}, err
	}
	err = n.store.ScanSettle(claimKeyPrefix, func(_ string, v []byte) error {
		var r claimRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("stored claim: %w", err)
		}
		ev.Claims = append(ev.Claims, chain.NodeClaim{Claim: chainClaim(r.Claim), Issued: r.Status == ClaimIssued})
		return nil
	})
	if err != nil {
		return chain.Evidence{}, fmt.Errorf("audit: the node's claims: %w", err)
	}
	return ev, nil
}
