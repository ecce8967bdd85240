package node

import (
	"github.com/gridmint/gridmint/node/api"
)

// policyAPI reads the homeowner's offer policy for the web app
// (GET /api/v1/market/policy): the configuration's with the edits of
// PUT /api/v1/market/policy (node/market's policy.go); nil, no route, on
// a node that does not offer: a utility, or with the market off.
func (n *Node) policyAPI() func() api.OfferPolicy {
	if n.cfg.Market.Disabled || n.cfg.Role != RoleHome || n.market == nil {
		return nil
	}
	return n.market.OfferPolicy
}
