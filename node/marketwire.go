package node

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/p2p"
)

// marketTick is how often (wall time) the market looks for gate
// closures, reservations, window starts and ends: under a demo clock at
// ×60 one demo minute.
const marketTick = time.Second

// startMarket starts the flexibility market (node/market) on a node whose
// store, chain, gossip and setpoint path are up.
func (n *Node) startMarket(ctx context.Context) error {
	if n.cfg.Market.Disabled {
		return nil
	}
	deps := market.Deps{
		Log: n.log.With("component", "market"), Clock: n.clock, Self: common.HexToAddress(n.identity.Address),
		Home: n.cfg.Role == RoleHome, Key: n.identity.DeviceKey,
		Devices: n.ingest.Devices, Store: n.store,
		Publish:      func(ctx context.Context, b p2p.Body) (p2p.Message, error) { return n.p2p.Publish(ctx, b) },
		Reservations: indexReservations{n},
	}
	if n.cfg.Role == RoleUtility {
		deps.Reserver = n.chain
		deps.Balance = n.flexBalance
	} else {
		deps.Setpoints = nodeControl{n}
		deps.Command = func(id string) (gridmint.CommandRecord, error) { return n.store.Command(id) }
	}
	switch {
	case n.marketTracker != nil:
		deps.Tracker = n.marketTracker
	case n.mv != nil:
		// Firm awards go on to measurement, verification and reward.
		deps.Tracker = n.mv
	}
	s, err := market.New(n.cfg.Market, deps)
	if err != nil {
		return err
	}
	n.market = s
	if n.mv != nil {
		// Schedule awards are measured against the schedules it keeps.
		n.mv.SetSchedules(s.ScheduleFor)
		// Opt-outs declared before the window excuse their awards.
		n.mv.SetExemptions(s.ExemptionsFor)
	}
	n.metrics.registry.MustRegister(s.Collectors()...)
	n.wg.Add(1)
	go func() { defer n.wg.Done(); s.Run(ctx, marketTick) }()
	return nil
}

// indexReservations reads FLEX Reserved events from the node's chain
// index, which holds only confirmed blocks (chain.confirmations).
type indexReservations struct{ n *Node }

func (r indexReservations) Reserved(ctx context.Context, from uint64) ([]chain.Event, error) {
	return r.n.store.Events(ctx, chain.EventQuery{Kinds: []chain.EventKind{chain.EventReserved}, FromBlock: from})
}

// marketAPI is the market for the API; nil (no routes) when off.
func (n *Node) marketAPI() api.Market {
	if n.market == nil {
		return nil
	}
	return n.market
}

// Market is the node's flexibility market; nil when market.disabled.
func (n *Node) Market() *market.Service { return n.market }

// offerChecker is the market when it offers for this home (market.offer):
// then every offer the API signs is checked against the device's
// capacity and the homeowner's policy. Without it, POST /api/v1/offers
// signs the hand-made offers it is given, as before the market.
func (n *Node) offerChecker() *market.Service {
	if n.market == nil || !n.cfg.Market.Offer || n.cfg.Role != RoleHome {
		return nil
	}
	return n.market
}
