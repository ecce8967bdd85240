package node

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// claimsTick is how often (wall time) the claim cycle looks for closed
// hours, due checks and settled batches: under a demo clock at ×60 one
// demo minute.
const claimsTick = time.Second

// startClaims starts the certificate claim cycle (claims.go) on a node
// whose store, chain, gossip and settlement engine are up.
func (n *Node) startClaims(ctx context.Context, attestors *settle.Attestors) error {
	if n.cfg.Claims.Disabled {
		return nil
	}
	self, err := gridmint.ParseAddress(n.identity.Address)
	if err != nil {
		return err
	}
	cs, err := newClaimService(&claimService{
		cfg: n.cfg.Claims, log: n.log.With("component", "claims"), clock: n.clock, self: self,
		home: n.cfg.Role == RoleHome, key: n.identity.DeviceKey,
		devices: func() []gridmint.Device {
			ds := n.ingest.Devices()
			out := make([]gridmint.Device, len(ds))
			for i, d := range ds {
				out[i] = d.Device
			}
			return out
		},
		store: n.store,
		publish: func(ctx context.Context, b p2p.Body) (p2p.Message, error) {
			return n.p2p.Publish(ctx, b)
		},
		engine:    n.settle,
		attestors: func() chain.AttestorSet { return attestors.Set() },
		nextHour: func(ctx context.Context, d gridmint.DeviceKey) (gridmint.Hour, error) {
			h, err := n.chain.NextHour(ctx, common.Hash(d))
			return gridmint.Hour(h), err
		},
	})
	if err != nil {
		return err
	}
	n.claims = cs
	n.metrics.registry.MustRegister(cs.m.collectors()...)
	n.wg.Add(1)
	go func() { defer n.wg.Done(); cs.run(ctx, claimsTick) }()
	return nil
}

// claimsAPI is the claim cycle for the API; nil (no route) when off.
func (n *Node) claimsAPI() api.Claims {
	if n.claims == nil {
		return nil
	}
	return n.claims
}

// claimSource is the claim cycle as the certificates' attribute source;
// nil when off (certificates then show no capacity or location).
func (n *Node) claimSource() api.ClaimSource {
	if n.claims == nil {
		return nil
	}
	return n.claims
}
