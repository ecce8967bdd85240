package market

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// cycleNet is a utility and two homes with a battery each (80 % charged:
// each offers 3 kW down for an hour), home 0 at 100,000 µFLEX/kWh and
// home 1 at 200,000; the utility has posted request() and the homes have
// offered.
type cycleNet struct {
	*testNet
	u, h0, h1 *testNode
	id        gridmint.RequestID
}

func newCycleNet(t *testing.T) *cycleNet {
	tn := newTestNet(t)
	cn := &cycleNet{testNet: tn}
	cn.u = tn.add(Config{}, false, nil)
	cn.h0 = tn.add(homeConfig(100_000), true, func(a common.Address) []devices.DeviceState { return []devices.DeviceState{battery(a, "b0", 80)} })
	cn.h1 = tn.add(homeConfig(200_000), true, func(a common.Address) []devices.DeviceState { return []devices.DeviceState{battery(a, "b1", 80)} })
	m := tn.deliver(cn.u.addr, request())
	cn.id = gridmint.RequestID(m.ID)
	tn.step()
	return cn
}

// TestCycle: a request, offers from two homes' batteries, one clearing on
// every node (same root), the utility's root agreed, its reservation
// confirmed (firm, tracked with each home's own award), setpoints at the
// window start and restores at its end.
func TestCycle(t *testing.T) {
	cn := newCycleNet(t)
	for _, h := range []*testNode{cn.h0, cn.h1} {
		if got := len(h.s.MarketOffers().Offers); got != 1 {
			t.Fatalf("home %s: %d live offers, want 1", h.addr.Hex(), got)
		}
	}
	// Nothing renews an unchanged offer.
	cn.at(t0.Add(30 * time.Minute))
	if got := counter(cn.h0.s.m.offersMade); got != 1 {
		t.Errorf("home 0 made %v offers by 10:30, want 1 (no renewal without a change)", got)
	}

	cn.at(t0.Add(time.Hour + time.Minute)) // gate closure + collect
	var root [32]byte
	for i, n := range cn.nodes {
		e := n.event(t, cn.id)
		if e.Clearing == nil {
			t.Fatalf("node %d did not clear", i)
		}
		if i == 0 {
			root = e.Clearing.Root
		} else if e.Clearing.Root != root {
			t.Errorf("node %d root %x, node 0 %x", i, e.Clearing.Root, root)
		}
		if len(e.Clearing.Awards) != 2 || e.Clearing.Price != 200_000 || e.Clearing.Awarded != 6000 {
			t.Errorf("node %d: %d awards, %v W at %d; want both batteries, 6000 W at the dearer 200,000 (pay-as-clear, the margin offer whole)",
				i, len(e.Clearing.Awards), e.Clearing.Awarded, e.Clearing.Price)
		}
		if e.State != StateFirm {
			t.Errorf("node %d: state %s, want firm (root agreed, reservation confirmed)", i, e.State)
		}
		if i > 0 && (e.Root == nil || !e.Root.Agreed) {
			t.Errorf("home %d: published root %+v, want agreed", i, e.Root)
		}
	}
	for i, h := range []*testNode{cn.h0, cn.h1} {
		if len(h.tracked) != 1 || len(h.tracked[0].Local) != 1 || h.tracked[0].Local[0].Device != h.devs[0].ID ||
			h.tracked[0].Reserved.Cmp(h.tracked[0].Clearing.Value()) != 0 || h.tracked[0].ReservationTx == (common.Hash{}) {
			t.Errorf("home %d tracked %+v, want one firm event with its battery's award", i, h.tracked)
		}
		if len(h.setpoints()) != 0 {
			t.Errorf("home %d sent %v before the window", i, h.setpoints())
		}
	}
	if len(cn.u.tracked) != 1 || len(cn.u.tracked[0].Local) != 0 {
		t.Errorf("utility tracked %+v, want the event with no local awards", cn.u.tracked)
	}

	cn.at(t0.Add(2 * time.Hour)) // window start
	for i, h := range []*testNode{cn.h0, cn.h1} {
		sp := h.setpoints()
		if len(sp) != 1 || sp[0].Kind != gridmint.SetpointBatteryPower || sp[0].Value != 3000 || sp[0].Origin != gridmint.OriginMarket {
			t.Errorf("home %d sent %+v at the window start, want battery_power 3000 (discharge) of origin market", i, sp)
		}
	}
	cn.at(t0.Add(3 * time.Hour)) // window end
	for i, h := range []*testNode{cn.h0, cn.h1} {
		sp := h.setpoints()
		if len(sp) != 2 || sp[1].Kind != gridmint.SetpointBatteryPower || sp[1].Value != 0 {
			t.Errorf("home %d sent %+v by the window end, want the restore battery_power 0", i, sp)
		}
		ev, ok := h.s.MarketEvent(cn.id)
		if !ok || ev.State != StateDone || len(ev.Setpoints) != 2 || ev.Setpoints[0].Status != gridmint.CommandConfirmed || ev.Reservation == nil || !ev.Reservation.Firm {
			t.Errorf("home %d event view %+v, want done with 2 confirmed setpoints and the firm reservation", i, ev)
		}
	}
}

// TestRestartKeepsEvents: a node restarted from its store holds its
// events and offers as they were.
func TestRestartKeepsEvents(t *testing.T) {
	cn := newCycleNet(t)
	cn.at(t0.Add(time.Hour + time.Minute))
	before := cn.h0.event(t, cn.id)
	cn.h0.start(homeConfig(100_000), true)
	after := cn.h0.event(t, cn.id)
	if after.State != before.State || after.Clearing.Root != before.Clearing.Root || len(cn.h0.s.offers) == 0 {
		t.Errorf("after a restart: state %s root %x, %d offers; before %s %x", after.State, after.Clearing.Root, len(cn.h0.s.offers), before.State, before.Clearing.Root)
	}
}

// TestBadOffersRefusedAtPublish: an offer for a device the node does not
// have, above what the device can offer, from an opted-out device, or
// below the homeowner's price is refused with its reason code and
// counted; nothing is gossiped.
func TestBadOffersRefusedAtPublish(t *testing.T) {
	tn := newTestNet(t)
	cfg := homeConfig(100_000)
	h := tn.add(cfg, true, func(a common.Address) []devices.DeviceState {
		return []devices.DeviceState{battery(a, "b0", 80), battery(a, "b1", 80)}
	})
	h.s.cfg.Devices = map[string]Policy{string(h.devs[1].ID): {OptOut: true}}
	r := request()
	offer := func(dev gridmint.DeviceID, power gridmint.W, price gridmint.MicroFLEX) gridmint.Offer {
		return gridmint.Offer{Device: dev, Zone: "DE-LU", WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: power,
			Direction: gridmint.DirectionDown, FloorPrice: price, Baseline: gridmint.BaselineSchedule, Expiry: r.GateClosure}
	}
	other := gridmint.DeviceID(tn.addr(9).Hex() + "/victron/b0")
	for _, c := range []struct {
		name string
		o    gridmint.Offer
		want gridmint.FlexReason
	}{
		{"not the node's device", offer(other, 1000, 100_000), gridmint.FlexUnknownDevice},
		{"above capacity", offer(h.devs[0].ID, 3500, 100_000), gridmint.FlexOverCapacity},
		{"opted out", offer(h.devs[1].ID, 1000, 100_000), gridmint.FlexOptOut},
		{"below the minimum price", offer(h.devs[0].ID, 1000, 99_999), gridmint.FlexBelowMinPrice},
	} {
		_, err := h.s.PublishOffer(context.Background(), c.o)
		if flex.Reason(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
		if got := counter(h.s.m.refused.WithLabelValues(string(c.want))); got != 1 {
			t.Errorf("%s: refused{reason=%s} = %v, want 1", c.name, c.want, got)
		}
	}
	if len(h.s.offers) != 0 {
		t.Errorf("%d offers kept after refusals, want none", len(h.s.offers))
	}
	if _, err := h.s.PublishOffer(context.Background(), offer(h.devs[0].ID, 3000, 100_000)); err != nil {
		t.Errorf("a fitting offer: %v", err)
	}
	// The opted-out battery offers nothing of its own accord either, and
	// says why.
	tn.deliver(tn.addr(8), request())
	tn.step()
	idle := h.s.MarketOffers().Idle
	if len(idle) != 1 || idle[0].Device != h.devs[1].ID || idle[0].Reason != string(gridmint.FlexOptOut) {
		t.Errorf("idle devices %+v, want the opted-out battery (opt_out)", idle)
	}
}

// TestRequestAfterGateClosureRefused: a request seen after its gate
// closure is not held (gate_closed).
func TestRequestAfterGateClosureRefused(t *testing.T) {
	tn := newTestNet(t)
	h := tn.add(homeConfig(100_000), true, func(a common.Address) []devices.DeviceState { return []devices.DeviceState{battery(a, "b0", 80)} })
	r := request()
	r.GateClosure = t0.Add(-time.Minute)
	tn.deliver(tn.addr(8), r)
	if len(h.s.events) != 0 || counter(h.s.m.refused.WithLabelValues(string(gridmint.FlexGateClosed))) != 1 {
		t.Errorf("held %d events, refused gate_closed %v; want none held, 1 refused", len(h.s.events),
			counter(h.s.m.refused.WithLabelValues(string(gridmint.FlexGateClosed))))
	}
}

// TestMismatchingRootNoDispatch: a root from the utility that differs
// from the homes' own is refused (root_mismatch), and even a reservation
// naming the homes' root then dispatches nothing.
func TestMismatchingRootNoDispatch(t *testing.T) {
	cn := newCycleNet(t)
	cn.u.s.d.Publish = func(ctx context.Context, b p2p.Body) (p2p.Message, error) {
		if r, ok := b.(p2p.AwardsRoot); ok {
			r.Root = common.Hash{0xba, 0xd}
			b = r
		}
		return cn.u.publish(ctx, b)
	}
	cn.at(t0.Add(time.Hour + time.Minute))
	cn.at(t0.Add(2 * time.Hour))
	cn.at(t0.Add(3 * time.Hour))
	for i, h := range []*testNode{cn.h0, cn.h1} {
		e := h.event(t, cn.id)
		if e.State != StateRefused || e.Reason != gridmint.FlexRootMismatch || len(h.setpoints()) != 0 || len(h.tracked) != 0 {
			t.Errorf("home %d: %s (%s), sent %v, tracked %d; want refused root_mismatch, nothing sent or tracked", i, e.State, e.Reason, h.setpoints(), len(h.tracked))
		}
		if got := counter(h.s.m.refused.WithLabelValues(string(gridmint.FlexRootMismatch))); got != 1 {
			t.Errorf("home %d: refused{root_mismatch} = %v, want 1", i, got)
		}
	}
}

// TestReservationMustNameRootAndValue: a reservation naming another root
// or burning less than the cleared value makes nothing firm; nothing is
// dispatched. A burn by another account naming the request does not
// count, and without the buyer's the awards lapse.
func TestReservationMustNameRootAndValue(t *testing.T) {
	for _, c := range []struct {
		name    string
		reserve func(root common.Hash, amount *big.Int) (common.Hash, *big.Int)
		want    gridmint.FlexReason
		state   string
	}{
		{"another root", func(_ common.Hash, a *big.Int) (common.Hash, *big.Int) { return common.Hash{0xba, 0xd}, a }, gridmint.FlexReservationRoot, StateRefused},
		{"too little", func(r common.Hash, a *big.Int) (common.Hash, *big.Int) { return r, new(big.Int).Sub(a, big.NewInt(1)) }, gridmint.FlexReservationShort, StateRefused},
	} {
		t.Run(c.name, func(t *testing.T) {
			cn := newCycleNet(t)
			cn.u.reserve = c.reserve
			cn.at(t0.Add(time.Hour + time.Minute))
			cn.at(t0.Add(2 * time.Hour))
			for i, h := range []*testNode{cn.h0, cn.h1} {
				e := h.event(t, cn.id)
				if e.State != c.state || e.Reason != c.want || len(h.setpoints()) != 0 || len(h.tracked) != 0 {
					t.Errorf("home %d: %s (%s), sent %v; want %s (%s), nothing sent", i, e.State, e.Reason, h.setpoints(), c.state, c.want)
				}
			}
		})
	}
	t.Run("someone else's burn, then none", func(t *testing.T) {
		cn := newCycleNet(t)
		cn.u.s.d.Reserver = nil // the utility never reserves
		cn.at(t0.Add(time.Hour + time.Minute))
		e := cn.h0.event(t, cn.id)
		cn.burn(cn.h1.addr, common.Hash(cn.id), common.Hash(e.Clearing.Root), e.Clearing.Value())
		cn.at(t0.Add(time.Hour + 2*time.Minute))
		if e := cn.h0.event(t, cn.id); e.State != StateAgreed {
			t.Errorf("after another account's burn: %s, want still agreed (not firm)", e.State)
		}
		cn.at(t0.Add(2 * time.Hour))
		for i, h := range []*testNode{cn.h0, cn.h1} {
			e := h.event(t, cn.id)
			if e.State != StateLapsed || e.Reason != ReasonLapsed || len(h.setpoints()) != 0 {
				t.Errorf("home %d: %s (%s), sent %v; want lapsed, nothing sent", i, e.State, e.Reason, h.setpoints())
			}
		}
	})
}

// TestOptOutAfterAwardWins: a homeowner who opts out after the award
// gets no market setpoint (the dispatcher's check, which the fake runs),
// and the home declares the opt-out for the event, so no node slashes it.
func TestOptOutAfterAwardWins(t *testing.T) {
	cn := newCycleNet(t)
	cn.at(t0.Add(time.Hour + time.Minute))
	cn.h0.mu.Lock()
	cn.h0.devs[0].OptOut = true
	cn.h0.mu.Unlock()
	cn.at(t0.Add(90 * time.Minute)) // a tick before the window
	cn.at(t0.Add(2 * time.Hour))
	if sp := cn.h0.setpoints(); len(sp) != 0 {
		t.Errorf("opted-out home sent %v", sp)
	}
	if sp := cn.h1.setpoints(); len(sp) != 1 {
		t.Errorf("the other home sent %v, want its setpoint", sp)
	}
	ev, _ := cn.h0.s.MarketEvent(cn.id)
	if len(ev.Setpoints) != 0 && ev.Setpoints[0].Status != "refused" {
		t.Errorf("opted-out home's view %+v", ev.Setpoints)
	}
	// The home declared the opt-out for the event before its window, so
	// every node excuses the award instead of measuring it undelivered.
	net := NetDevice(cn.h0.addr, cn.h0.s.d.Key(cn.h0.devs[0].ID))
	for i, n := range cn.nodes {
		ex := n.s.ExemptionsFor(cn.id)
		if len(ex) != 1 || ex[0].Device != net || ex[0].Reason != gridmint.FlexOptOut || !ex[0].DeclaredAt.Before(request().WindowStart) {
			t.Errorf("node %d keeps exemptions %+v, want home 0's opt-out declared before the window", i, ex)
		}
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// TestOfferRenewalIsBounded: an offer is renewed only when the device's
// capacity moved by renew_change and renew_interval has passed, and no
// more than max_offers_per_tick messages (an offer and its schedule are
// two) are signed a tick.
func TestOfferRenewalIsBounded(t *testing.T) {
	tn := newTestNet(t)
	cfg := homeConfig(100_000)
	cfg.MaxOffersPerTick = 20
	h := tn.add(cfg, true, func(a common.Address) []devices.DeviceState {
		var ds []devices.DeviceState
		for i := range 30 {
			ds = append(ds, battery(a, fmt.Sprintf("b%02d", i), 80))
		}
		return ds
	})
	tn.deliver(tn.addr(8), request())
	// Each battery offer goes out with its schedule: two messages.
	for tick, want := range []float64{10, 20, 30} {
		h.s.Step(context.Background())
		if got, sc := counter(h.s.m.offersMade), counter(h.s.m.schedulesMade); got != want || sc != want {
			t.Fatalf("tick %d: %v offers and %v schedules in all, want %v of each (20 messages a tick)", tick+1, got, sc, want)
		}
	}
	// 80 % → 35 %: 3 kW → 1.5 kW for the hour, a change of half.
	h.mu.Lock()
	h.devs[0].SoC = 35
	h.mu.Unlock()
	tn.at(t0.Add(10 * time.Minute))
	if got := counter(h.s.m.offersMade); got != 30 {
		t.Errorf("10 minutes on: %v offers, want none renewed inside renew_interval", got)
	}
	tn.at(t0.Add(16 * time.Minute))
	if got := counter(h.s.m.offersMade); got != 31 {
		t.Errorf("16 minutes on: %v offers, want the changed battery's renewal only", got)
	}
	h.mu.Lock()
	h.devs[0].SoC = 34 // a small change: no renewal
	h.mu.Unlock()
	tn.at(t0.Add(40 * time.Minute))
	if got := counter(h.s.m.offersMade); got != 31 {
		t.Errorf("40 minutes on: %v offers, want no renewal for a small change", got)
	}
}
