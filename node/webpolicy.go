package node

import (
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market"
)

// policyAPI reads the homeowner's offer policy for the web app
// (GET /api/v1/market/policy); nil, no route, on a node that does not
// offer: a utility, or with the market off.
func (n *Node) policyAPI() func() api.OfferPolicy {
	if n.cfg.Market.Disabled || n.cfg.Role != RoleHome {
		return nil
	}
	mc := n.cfg.Market
	return func() api.OfferPolicy {
		out := api.OfferPolicy{Offer: mc.Offer, Defaults: policyView(mc.Defaults)}
		for _, d := range n.ingest.Devices() {
			switch d.Kind {
			case gridmint.KindBattery, gridmint.KindEVCharger, gridmint.KindPVInverter:
			default:
				continue // only these offer (flex.OfferableCapacity)
			}
			p := mc.PolicyFor(d.ID)
			out.Devices = append(out.Devices, api.PolicyItem{Device: d.ID, Kind: d.Kind, Policy: policyView(p), OptOut: p.OptOut || d.Device.OptOut})
		}
		return out
	}
}

func policyView(p market.Policy) api.PolicyView {
	return api.PolicyView{MinPrice: p.MinPrice, ReserveSoCPct: p.ReserveSoC, MaxSoCPct: p.MaxSoC, Departure: p.Departure, EnergyNeededWh: p.EnergyNeeded, OptOut: p.OptOut}
}
