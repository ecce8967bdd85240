package market

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/api"
)

func refusedCount(s *Service, r gridmint.FlexReason) float64 {
	return counter(s.m.refused.WithLabelValues(string(r)))
}

// reserveRefusal calls ReserveEvent and wants a refusal of reason.
func reserveRefusal(t *testing.T, n *testNode, id gridmint.RequestID, reason gridmint.FlexReason) *api.ReserveRefusal {
	t.Helper()
	before := refusedCount(n.s, reason)
	_, err := n.s.ReserveEvent(context.Background(), id)
	var rf *api.ReserveRefusal
	if !errors.As(err, &rf) || rf.Reason != string(reason) {
		t.Fatalf("ReserveEvent: %v, want a refusal %s", err, reason)
	}
	if got := refusedCount(n.s, reason); got != before+1 {
		t.Errorf("refused{reason=%s} %v, want %v", reason, got, before+1)
	}
	return rf
}

// TestManualReserve: with market.reserve manual the utility burns
// nothing by itself; ReserveEvent refuses before the clearing, with too
// little FLEX (saying balance and need), for another's request, twice,
// and after the window start; a good one burns the cleared value, is
// logged, and makes the event firm on every node.
func TestManualReserve(t *testing.T) {
	tn := newTestNet(t)
	u := tn.add(Config{Reserve: ReserveManual}, false, nil)
	h := tn.add(homeConfig(100_000), true, func(a common.Address) []devices.DeviceState { return []devices.DeviceState{battery(a, "b0", 80)} })
	balance := big.NewInt(1)
	u.s.d.Balance = func(context.Context) (*big.Int, error) { return balance, nil }
	id := gridmint.RequestID(tn.deliver(u.addr, request()).ID)
	late := request()
	late.WindowStart, late.WindowEnd = late.WindowEnd, late.WindowEnd.Add(time.Hour)
	lateID := gridmint.RequestID(tn.deliver(u.addr, late).ID)
	tn.step()

	reserveRefusal(t, u, id, ReasonNotCleared)
	reserveRefusal(t, u, gridmint.RequestID{9}, ReasonUnknownRequest)
	tn.at(t0.Add(time.Hour + time.Minute)) // gate closure + collect
	e := u.event(t, id)
	if e.Clearing == nil || len(e.Clearing.Awards) != 1 || e.ReserveTx != (common.Hash{}) || e.Reservation != nil {
		t.Fatalf("utility event after clearing: %+v; want cleared, one award, nothing reserved (manual)", e)
	}
	reserveRefusal(t, h, id, ReasonNotBuyer)
	rf := reserveRefusal(t, u, id, ReasonInsufficientFLEX)
	want := e.Clearing.Value()
	if rf.Balance != "1" || rf.Needed != want.String() || rf.Code != gridmint.EConflict {
		t.Errorf("insufficient_flex refusal %+v, want balance 1, needed %s", rf, want)
	}
	balance = new(big.Int).Mul(want, big.NewInt(2))
	res, err := u.s.ReserveEvent(context.Background(), id)
	if err != nil || res.Amount != want.String() || res.Tx == (common.Hash{}) || res.Root != common.Hash(e.Clearing.Root) {
		t.Fatalf("ReserveEvent: %+v, %v; want a tx burning %s for the root", res, err, want)
	}
	reserveRefusal(t, u, id, ReasonAlreadyReserved)
	tn.step()
	for i, n := range []*testNode{u, h} {
		if got := n.event(t, id); got.State != StateFirm {
			t.Errorf("node %d: state %s after the reserve, want firm", i, got.State)
		}
	}
	ev, _ := u.s.MarketEvent(id)
	var logged bool
	for _, l := range ev.Log {
		logged = logged || (l.Step == "reserve_sent" && strings.Contains(l.Detail, "the API"))
	}
	if !logged {
		t.Errorf("event log %+v: want reserve_sent asked by the API", ev.Log)
	}
	// The second request's window starts at 13:00: not reserved by
	// itself (manual), and too late then.
	tn.at(late.WindowStart)
	reserveRefusal(t, u, lateID, ReasonWindowStarted)
	if got := u.event(t, lateID); got.ReserveTx != (common.Hash{}) || got.State != StateLapsed {
		t.Errorf("second request: tx %s, state %s; want none and lapsed", got.ReserveTx, got.State)
	}
}

// TestAutoReserveUnchanged: the default (auto) still reserves by itself.
func TestAutoReserveUnchanged(t *testing.T) {
	cn := newCycleNet(t)
	if cn.u.s.cfg.Reserve != ReserveAuto {
		t.Fatalf("default reserve %q, want auto", cn.u.s.cfg.Reserve)
	}
	cn.at(t0.Add(time.Hour + time.Minute))
	if e := cn.u.event(t, cn.id); e.State != StateFirm {
		t.Errorf("state %s, want firm", e.State)
	}
	bad := Config{Reserve: "sometimes"}
	bad.ApplyDefaults()
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "market.reserve") {
		t.Errorf("reserve sometimes: %v, want refused", err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestPolicyEdit: a homeowner's edit is checked by the configuration's
// rules (a refusal names the field and keeps nothing), wins over the
// configuration with each value's source said, renews the live offer at
// once, and survives a restart; {} removes it.
func TestPolicyEdit(t *testing.T) {
	cn := newCycleNet(t)
	h := cn.h0
	dev := string(h.devs[0].ID)
	offered := func() gridmint.W {
		o := h.s.MarketOffers().Offers
		return o[len(o)-1].Offer.Power
	}
	if p := offered(); p != 3000 {
		t.Fatalf("offered %v W, want 3000 (80 %% of 10 kWh above a 20 %% reserve, capped at 3 kW)", p)
	}
	ctx := context.Background()
	_, err := h.s.SetPolicy(ctx, dev, api.PolicyOverride{ReserveSoCPct: ptr(120.0)})
	var rf *api.PolicyRefusal
	if !errors.As(err, &rf) || rf.Field != "reserve_soc_pct" || rf.Reason != string(ReasonPolicyInvalid) {
		t.Fatalf("reserve 120 %%: %v, want policy_invalid on reserve_soc_pct", err)
	}
	if _, err = h.s.SetPolicy(ctx, dev, api.PolicyOverride{EnergyNeededWh: ptr(gridmint.Wh(5000))}); !errors.As(err, &rf) || rf.Field != "energy_needed_wh" {
		t.Fatalf("energy without departure: %v, want refused on energy_needed_wh", err)
	}
	if _, err = h.s.SetPolicy(ctx, "0x1/victron/nope", api.PolicyOverride{}); !errors.As(err, &rf) || rf.Reason != string(gridmint.FlexUnknownDevice) {
		t.Fatalf("unknown device: %v, want unknown_device", err)
	}
	if len(h.s.policy.edits) != 0 || len(h.store.m) == 0 {
		t.Fatalf("refused edits kept: %+v", h.s.policy.edits)
	}
	pol, err := h.s.SetPolicy(ctx, dev, api.PolicyOverride{ReserveSoCPct: ptr(70.0)})
	if err != nil {
		t.Fatal(err)
	}
	item := pol.Devices[0]
	if item.Policy.ReserveSoCPct != 70 || item.Sources["reserve_soc_pct"] != SourceAPIDevice || item.Sources["min_price"] != SourceConfigDefaults ||
		item.Sources["departure"] != SourceUnset || pol.DefaultsSources["reserve_soc_pct"] != SourceConfigDefaults {
		t.Errorf("policy after the edit %+v (defaults %v)", item, pol.DefaultsSources)
	}
	cn.at(t0.Add(5 * time.Minute)) // before market.renew_interval
	if p := offered(); p != 1000 {
		t.Errorf("offered %v W after the edit, want 1000 (10 %% above a 70 %% reserve, renewed at once)", p)
	}
	h.start(homeConfig(100_000), true) // a restart on the same store
	if p := h.s.OfferPolicy().Devices[0]; p.Policy.ReserveSoCPct != 70 || p.Sources["reserve_soc_pct"] != SourceAPIDevice {
		t.Errorf("after a restart: %+v, want the edit kept", p)
	}
	// The defaults' edit applies where the device's does not set a value.
	if pol, err = h.s.SetPolicy(ctx, "defaults", api.PolicyOverride{MinPrice: ptr(gridmint.MicroFLEX(250_000))}); err != nil {
		t.Fatal(err)
	}
	if p := pol.Devices[0]; p.Policy.MinPrice != 250_000 || p.Sources["min_price"] != SourceAPIDefaults {
		t.Errorf("defaults edit: %+v", p)
	}
	if pol, err = h.s.SetPolicy(ctx, dev, api.PolicyOverride{}); err != nil {
		t.Fatal(err)
	}
	if p := pol.Devices[0]; p.Policy.ReserveSoCPct != 20 || p.Sources["reserve_soc_pct"] != SourceConfigDefaults {
		t.Errorf("after {}: %+v, want the configuration's 20 %%", p)
	}
	if _, ok := h.store.m[policyPrefix+dev]; ok {
		t.Errorf("{} left the stored edit")
	}
}
