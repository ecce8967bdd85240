package node

import (
	"context"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market/mv"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// mvTick is how often (wall time) the measurement service looks for due
// metering, verification and settled batches.
const mvTick = time.Second

// startMV starts measurement, verification and rewards of flexibility
// (node/market/mv) on a node whose store, chain, gossip and settlement
// engine are up. Package node/market hands it firm events (MV().Track).
func (n *Node) startMV(ctx context.Context, attestors *settle.Attestors) error {
	o := mv.Options{
		Self: common.HexToAddress(n.identity.Address), Clock: n.clock, Log: n.log.With("component", "mv"), Store: n.store,
		Devices: n.registeredDevices,
		Key:     n.identity.DeviceKey,
		// Late intervals get up to 25 minutes more: nodes that verify
		// the same data attest the same batch.
		Config: mv.Config{Wait: 25 * time.Minute},
	}
	if n.p2p != nil {
		o.Publish = func(ctx context.Context, b p2p.Body) (p2p.Message, error) { return n.p2p.Publish(ctx, b) }
	}
	if n.settle != nil {
		o.Engine = n.settle
		o.IsAttestor = func() bool { return attestors.IsAttestor(n.settle.Address()) }
	}
	if n.chain != nil {
		o.StakesAt = func(ctx context.Context, p common.Address, block uint64) (*big.Int, error) {
			return n.chain.StakeOfAt(ctx, p, block)
		}
	}
	s, err := mv.New(o)
	if err != nil {
		return err
	}
	n.mv = s
	n.metrics.registry.MustRegister(s.Metrics().Collectors()...)
	n.wg.Add(1)
	go func() { defer n.wg.Done(); s.Run(ctx, mvTick) }()
	return nil
}

// MV is the node's measurement and rewards service; package node/market
// hands it firm events (Track). Nil before Start.
func (n *Node) MV() *mv.Service { return n.mv }

// deliveriesAPI is the service for the API; nil (no route) when off.
func (n *Node) deliveriesAPI() api.Deliveries {
	if n.mv == nil {
		return nil
	}
	return mvDeliveries{n.mv}
}

// mvDeliveries is the service as api.Deliveries.
type mvDeliveries struct{ s *mv.Service }

func (d mvDeliveries) DeliveryEvents(request *gridmint.RequestID) []api.DeliveryEvent {
	evs := d.s.Events(request)
	out := make([]api.DeliveryEvent, len(evs))
	for i, e := range evs {
		v := api.DeliveryEvent{RequestID: e.RequestID, Request: e.Request, Price: e.Price, Root: e.Root, ReservationTx: e.ReservationTx,
			ReservationBlock: e.ReservationBlock, Reserved: e.Reserved, State: e.State, Batch: e.Batch, BatchState: e.BatchState, RewardTx: e.RewardTx, Deliveries: []api.Delivery{}}
		for _, r := range e.Deliveries {
			dv := api.Delivery{DeliveryRecord: r.DeliveryRecord, BaselineMWh: r.BaselineMWh, MeteredMWh: r.MeteredMWh, BaselineErr: r.BaselineErr,
				Performance: float64(r.Performance()) / 1e6, Paid: "0", Slashed: "0", Evidence: r.Evidence,
				SlashState: r.SlashState, SlashTx: r.SlashTx, SlashNotComputable: r.SlashNotComputable, Schedule: r.Schedule, NoSchedule: r.NoSchedule}
			if r.Payment != nil {
				dv.Paid = r.Payment.String()
			}
			if r.Slash != nil {
				dv.Slashed = r.Slash.String()
			}
			v.Deliveries = append(v.Deliveries, dv)
		}
		for _, f := range e.Refused {
			v.Refused = append(v.Refused, api.DeliveryRefusal{OfferID: f.OfferID, Reason: f.Reason, Detail: f.Detail})
		}
		out[i] = v
	}
	return out
}

// registeredDevices are the registry entries of the node's devices, for
// the market services that meter and test them (mv, pof).
func (n *Node) registeredDevices() []gridmint.Device {
	ds := n.ingest.Devices()
	out := make([]gridmint.Device, len(ds))
	for i, d := range ds {
		out[i] = d.Device
	}
	return out
}
