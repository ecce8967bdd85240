package market

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/p2p"
)

// TestSchedulesTravelWithOffers: each home signs its battery's plan
// (idle, 0 W in every five-minute step of the window) with its offer,
// before the gate closure; every node keeps it and hands it out for the
// offer's provider only; it survives a restart.
func TestSchedulesTravelWithOffers(t *testing.T) {
	cn := newCycleNet(t)
	for _, h := range []*testNode{cn.h0, cn.h1} {
		offers := h.s.MarketOffers().Offers
		if len(offers) != 1 {
			t.Fatalf("home %s: %d offers", h.addr.Hex(), len(offers))
		}
		for i, n := range cn.nodes {
			sc, ok := n.s.ScheduleFor(offers[0].ID, h.addr)
			if !ok {
				t.Fatalf("node %d holds no schedule of %s's offer", i, h.addr.Hex())
			}
			r := request()
			if !sc.Plan.Start.Equal(r.WindowStart) || sc.Plan.End() != r.WindowEnd || sc.Plan.Step != ScheduleStep || sc.Signed.After(r.GateClosure) {
				t.Errorf("node %d: plan [%v, %v) step %v signed %v; want the window in 5 min steps, signed before the gate closure",
					i, sc.Plan.Start, sc.Plan.End(), sc.Plan.Step, sc.Signed)
			}
			for _, e := range sc.Plan.Energy {
				if e != 0 {
					t.Errorf("node %d: battery plan %v, want idle", i, sc.Plan.Energy)
					break
				}
			}
			if _, ok := n.s.ScheduleFor(offers[0].ID, cn.u.addr); ok {
				t.Errorf("node %d hands out the schedule for another provider", i)
			}
		}
		if counter(h.s.m.schedulesMade) != 1 {
			t.Errorf("home %s: schedules made %v, want 1", h.addr.Hex(), counter(h.s.m.schedulesMade))
		}
	}
	if got := counter(cn.u.s.m.schedulesReceived); got != 2 {
		t.Errorf("utility received %v schedules, want 2", got)
	}
	// Restart: the schedules are kept.
	off := cn.h0.s.MarketOffers().Offers[0].ID
	cn.u.start(Config{}, false)
	if _, ok := cn.u.s.ScheduleFor(off, cn.h0.addr); !ok {
		t.Error("the restarted utility lost the schedule")
	}
}

// TestBadSchedulesRefused: a schedule by another node than the offer's
// author, signed after the gate closure, or not covering the offer's
// window is refused with its reason and counted; the good one stays.
func TestBadSchedulesRefused(t *testing.T) {
	cn := newCycleNet(t)
	off := cn.h0.s.MarketOffers().Offers[0]
	good, _ := cn.u.s.ScheduleFor(off.ID, cn.h0.addr)
	plan := func(start time.Time, n int) p2p.Schedule {
		return p2p.Schedule{Offer: off.ID, Start: start, Step: ScheduleStep, Energy: make([]gridmint.MWh, n)}
	}
	r := request()
	inflated := plan(r.WindowStart, 12)
	for i := range inflated.Energy {
		inflated.Energy[i] = 250_000 // "would have charged at 3 kW"
	}
	cn.deliver(cn.h1.addr, inflated) // home 1 plans home 0's battery
	cn.deliver(cn.h0.addr, plan(r.WindowStart.Add(ScheduleStep), 11))
	cn.clock.Set(r.GateClosure.Add(time.Second))
	cn.deliver(cn.h0.addr, inflated) // after the gate closure
	for i, n := range cn.nodes {
		for _, reason := range []gridmint.FlexReason{ReasonScheduleForeign, ReasonScheduleWindow, gridmint.FlexScheduleLate} {
			if got := counter(n.s.m.refused.WithLabelValues(string(reason))); got != 1 {
				t.Errorf("node %d: refused %s %v times, want 1", i, reason, got)
			}
		}
		if sc, ok := n.s.ScheduleFor(off.ID, cn.h0.addr); !ok || sc.Message != good.Message {
			t.Errorf("node %d: schedule %+v, want the one signed with the offer", i, sc)
		}
		if _, ok := n.s.ScheduleFor(off.ID, cn.h1.addr); ok {
			t.Errorf("node %d keeps home 1's plan of home 0's offer", i)
		}
	}
}

// TestPlanSchedule: the rule a home signs by. A battery plans idle; a
// charging car goes on at its draw until the energy it still needs is
// in; a PV inverter plans minus its output; the span is the window in
// five-minute steps.
func TestPlanSchedule(t *testing.T) {
	start := t0.Add(2*time.Hour + 2*time.Minute) // off the step grid
	end := start.Add(30 * time.Minute)
	ev := devices.DeviceState{Device: gridmint.Device{ID: "0xabc/goe/1", Kind: gridmint.KindEVCharger}, Online: true, Fields: gridmint.FieldPower, Power: 6000}
	p := PlanSchedule(ev, gridmint.FlexPolicy{EnergyNeeded: 1200, Departure: t0.Add(8 * time.Hour)}, start, end)
	// 6 kW for 5 min is 500 Wh: 500, 500, 200, then 0.
	want := []gridmint.MWh{500_000, 500_000, 200_000, 0, 0, 0, 0}
	if !p.Start.Equal(t0.Add(2*time.Hour)) || len(p.Energy) != len(want) {
		t.Fatalf("plan from %v, %d steps; want from 12:00, %d", p.Start, len(p.Energy), len(want))
	}
	for i := range want {
		if p.Energy[i] != want[i] {
			t.Errorf("charger step %d: %v, want %v", i, p.Energy[i], want[i])
		}
	}
	pv := devices.DeviceState{Device: gridmint.Device{ID: "0xabc/opendtu/1", Kind: gridmint.KindPVInverter}, Online: true, Fields: gridmint.FieldPower, Power: 1200}
	if e := PlanSchedule(pv, gridmint.FlexPolicy{}, t0, t0.Add(5*time.Minute)).Energy; len(e) != 1 || e[0] != -100_000 {
		t.Errorf("PV plan %v, want [-100 Wh]", e)
	}
	bat := battery(common.Address{1}, "b", 50)
	bat.Power = -2000
	if e := PlanSchedule(bat, gridmint.FlexPolicy{}, t0, t0.Add(10*time.Minute)).Energy; len(e) != 2 || e[0] != 0 || e[1] != 0 {
		t.Errorf("battery plan %v, want idle", e)
	}
}
