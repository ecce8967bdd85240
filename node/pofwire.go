package node

import (
	"context"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market/pof"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// pofTick is how often (wall time) the proof-of-flexibility service looks
// for seed blocks, due setpoints, metering and evaluation.
const pofTick = time.Second

// startPoF starts proof-of-flexibility test rounds (node/market/pof) when
// market.tests.enabled, on a node whose market is up; the market's
// offerable capacity is derated by the tests' history.
func (n *Node) startPoF(ctx context.Context, attestors *settle.Attestors) error {
	if n.market == nil || !n.market.Tests().Enabled {
		return nil
	}
	o := pof.Options{
		Config: n.market.Tests(), Self: common.HexToAddress(n.identity.Address), Clock: n.clock, Log: n.log.With("component", "pof"),
		Store: n.store, Market: n.market, Heads: n.chain.Backend(), Confirmations: *n.cfg.Chain.Confirmations,
		Genesis:    n.chain.FLEXGenesis,
		Devices:    n.registeredDevices,
		Key:        n.identity.DeviceKey,
		Publish:    func(ctx context.Context, b p2p.Body) (p2p.Message, error) { return n.p2p.Publish(ctx, b) },
		Engine:     n.settle,
		IsAttestor: func() bool { return attestors.IsAttestor(n.settle.Address()) },
	}
	s, err := pof.New(o)
	if err != nil {
		return err
	}
	n.pof = s
	n.market.SetDerate(s.Derate)
	n.metrics.registry.MustRegister(s.Metrics().Collectors()...)
	n.wg.Add(1)
	go func() { defer n.wg.Done(); s.Run(ctx, pofTick) }()
	return nil
}

// PoF is the node's proof-of-flexibility service; nil when
// market.tests is off.
func (n *Node) PoF() *pof.Service { return n.pof }

// testsAPI is the service for the API; nil (no route) when off.
func (n *Node) testsAPI() api.Tests {
	if n.pof == nil {
		return nil
	}
	return n.pof
}
