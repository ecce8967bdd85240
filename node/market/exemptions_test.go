package market

import (
	"context"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/p2p"
)

// TestOptOutOfEvent: home 0 opts its battery out of a firm event before
// the window. Every node keeps the declaration (the utility and home 1
// verify home 0's award too); home 0 sends its battery nothing in the
// window while home 1 dispatches; the events view shows it; declaring
// again answers the first declaration; after the window start an
// opt-out is refused as exemption_late.
func TestOptOutOfEvent(t *testing.T) {
	cn := newCycleNet(t)
	ctx := context.Background()
	cn.at(t0.Add(time.Hour + time.Minute)) // cleared and firm
	dev := cn.h0.devs[0].ID
	net := NetDevice(cn.h0.addr, cn.h0.s.d.Key(dev))

	cn.clock.Set(t0.Add(90 * time.Minute))
	x, declared, err := cn.h0.s.OptOut(ctx, cn.id, dev)
	if err != nil || !declared || x.Reason != string(gridmint.FlexOptOut) || x.Device != net || x.LocalDevice != dev ||
		!x.DeclaredAt.Equal(t0.Add(90*time.Minute)) || x.OfferID == (gridmint.OfferID{}) {
		t.Fatalf("opt-out: %+v, declared %v, %v", x, declared, err)
	}
	for i, n := range cn.nodes {
		ex := n.s.ExemptionsFor(cn.id)
		if len(ex) != 1 || ex[0].Device != net || ex[0].Reason != gridmint.FlexOptOut || !ex[0].DeclaredAt.Before(ex[0].Start) ||
			!ex[0].Start.Equal(request().WindowStart) || !ex[0].End.Equal(request().WindowEnd) {
			t.Errorf("node %d keeps %+v, want home 0's opt-out over the window", i, ex)
		}
		if len(n.s.ExemptionsFor(gridmint.RequestID{9})) != 0 {
			t.Errorf("node %d: exemptions for another request", i)
		}
	}
	if counter(cn.h0.s.m.exemptionsMade) != 1 || counter(cn.u.s.m.exemptionsReceived) != 1 || counter(cn.h0.s.m.exemptionsReceived) != 0 {
		t.Errorf("counters: made %v, received at the utility %v, at home %v", counter(cn.h0.s.m.exemptionsMade),
			counter(cn.u.s.m.exemptionsReceived), counter(cn.h0.s.m.exemptionsReceived))
	}
	again, declared, err := cn.h0.s.OptOut(ctx, cn.id, dev)
	if err != nil || declared || again != x {
		t.Errorf("second opt-out: %+v, declared %v, %v; want the first one", again, declared, err)
	}
	// Only this node's devices, only awarded ones, only held requests.
	for name, c := range map[string]struct {
		n      *testNode
		req    gridmint.RequestID
		dev    gridmint.DeviceID
		reason gridmint.FlexReason
	}{
		"another home's device": {cn.h1, cn.id, dev, gridmint.FlexUnknownDevice},
		"unknown request":       {cn.h1, gridmint.RequestID{7}, cn.h1.devs[0].ID, ReasonExemptionUnknown},
		"a utility":             {cn.u, cn.id, dev, gridmint.FlexUnknownDevice},
	} {
		if _, _, err := c.n.s.OptOut(ctx, c.req, c.dev); flex.Reason(err) != c.reason {
			t.Errorf("%s: %v, want %s", name, err, c.reason)
		}
	}
	ev, _ := cn.h0.s.MarketEvent(cn.id)
	if len(ev.Exemptions) != 1 || ev.Exemptions[0].LocalDevice != dev || ev.Exemptions[0].OfferID != x.OfferID {
		t.Errorf("events view: %+v, want the opt-out of home 0's award", ev.Exemptions)
	}

	cn.at(t0.Add(2 * time.Hour)) // window start
	if sp := cn.h0.setpoints(); len(sp) != 0 {
		t.Errorf("home 0 sent %+v to its opted-out battery", sp)
	}
	if sp := cn.h1.setpoints(); len(sp) != 1 {
		t.Errorf("home 1 sent %+v, want its dispatch", sp)
	}
	if got := counter(cn.h0.s.m.refused.WithLabelValues(string(gridmint.FlexOptOut))); got != 1 {
		t.Errorf("home 0 counted %v opt_out dispatch refusals, want 1", got)
	}
	if _, _, err := cn.h1.s.OptOut(ctx, cn.id, cn.h1.devs[0].ID); flex.Reason(err) != ReasonExemptionLate || gridmint.ErrorCode(err) != gridmint.EConflict {
		t.Errorf("opt-out at the window start: %v, want exemption_late (conflict)", err)
	}
	if len(cn.u.s.ExemptionsFor(cn.id)) != 1 {
		t.Errorf("utility keeps %v after home 1's late try", cn.u.s.ExemptionsFor(cn.id))
	}
}

// TestExemptionGossipRefused: what peers refuse from gossip, each with
// its reason counted, and nothing kept.
func TestExemptionGossipRefused(t *testing.T) {
	cn := newCycleNet(t)
	cn.at(t0.Add(time.Hour + time.Minute))
	key0 := cn.h0.s.d.Key(cn.h0.devs[0].ID)
	key1 := cn.h1.s.d.Key(cn.h1.devs[0].ID)
	cases := []struct {
		name   string
		at     time.Time
		author int
		x      p2p.Exemption
		reason gridmint.FlexReason
	}{
		{"for another node's device", t0.Add(90 * time.Minute), 2, p2p.Exemption{Request: cn.id, Device: key0, Reason: gridmint.FlexOptOut}, ReasonExemptionForeign},
		{"for a device without an award", t0.Add(90 * time.Minute), 1, p2p.Exemption{Request: cn.id, Device: gridmint.DeviceKey{3}, Reason: gridmint.FlexOptOut}, ReasonExemptionUnknown},
		{"for a request not held", t0.Add(90 * time.Minute), 1, p2p.Exemption{Request: gridmint.RequestID{5}, Device: key0, Reason: gridmint.FlexOptOut}, ReasonExemptionUnknown},
		{"at the window start", t0.Add(2 * time.Hour), 2, p2p.Exemption{Request: cn.id, Device: key1, Reason: gridmint.FlexOptOut}, ReasonExemptionLate},
		{"a grid limit after the window start", t0.Add(2*time.Hour + time.Minute), 2, p2p.Exemption{Request: cn.id, Device: key1, Reason: gridmint.FlexGridLimit}, ReasonExemptionLate},
	}
	for _, c := range cases {
		cn.clock.Set(c.at)
		before := counter(cn.u.s.m.refused.WithLabelValues(string(c.reason)))
		cn.deliver(cn.nodes[c.author].addr, c.x)
		if got := counter(cn.u.s.m.refused.WithLabelValues(string(c.reason))) - before; got != 1 {
			t.Errorf("%s: %v refusals counted as %s, want 1", c.name, got, c.reason)
		}
		if ex := cn.u.s.ExemptionsFor(cn.id); len(ex) != 0 {
			t.Errorf("%s: kept %+v", c.name, ex)
		}
	}
}

// TestExemptionsSurviveRestart: kept exemptions are read back.
func TestExemptionsSurviveRestart(t *testing.T) {
	cn := newCycleNet(t)
	cn.at(t0.Add(time.Hour + time.Minute))
	if _, _, err := cn.h0.s.OptOut(context.Background(), cn.id, cn.h0.devs[0].ID); err != nil {
		t.Fatal(err)
	}
	cn.u.start(Config{}, false)
	if ex := cn.u.s.ExemptionsFor(cn.id); len(ex) != 1 || ex[0].Reason != gridmint.FlexOptOut {
		t.Errorf("after a restart: %+v", ex)
	}
}

// TestGridLimitExemption: a home relays a grid operator's limit on its
// device as an exemption with reason grid_limit; every node keeps that
// reason (measurement excuses it like an opt-out, flex.Measure). Other
// reasons are refused.
func TestGridLimitExemption(t *testing.T) {
	cn := newCycleNet(t)
	ctx := context.Background()
	cn.at(t0.Add(time.Hour + time.Minute))
	if _, _, err := cn.h0.s.Exempt(ctx, cn.id, cn.h0.devs[0].ID, gridmint.FlexOffline); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("exemption for reason offline: %v, want an invalid error", err)
	}
	x, declared, err := cn.h0.s.Exempt(ctx, cn.id, cn.h0.devs[0].ID, gridmint.FlexGridLimit)
	if err != nil || !declared || x.Reason != string(gridmint.FlexGridLimit) {
		t.Fatalf("grid limit: %+v, declared %v, %v", x, declared, err)
	}
	for i, n := range cn.nodes {
		if ex := n.s.ExemptionsFor(cn.id); len(ex) != 1 || ex[0].Reason != gridmint.FlexGridLimit {
			t.Errorf("node %d keeps %+v, want one grid_limit exemption", i, ex)
		}
	}
}
