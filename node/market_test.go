package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
)

// TestMarketCycle runs one market event on a demo network in one
// process: homes A and B (each the demo's embedded broker and simulated
// homes, batteries included) and utility C, on A's embedded chain and one
// demo clock (×60), with real gossip. C gets FLEX the way a utility does
// without a pre-mine: nothing is minted by hand; a home battery's
// proof-of-flexibility test passes, its availability reward is attested
// and minted to the home, and the home's demo passes its earned FLEX to
// C by itself. C then posts
// a request over its API; the homes offer from their simulated
// batteries; all three clear to the same root at the gate closure; C
// publishes it and reserves on chain; every node makes the awards firm
// from its own chain index; at the window start the homes send
// battery_power setpoints that the simulated Victron GX confirms, and
// restore them at the end; /metrics counts it. (C, a demo utility, also
// posts its own request for a later hour at start: it clears too.)
func TestMarketCycle(t *testing.T) {
	if testing.Short() {
		t.Skip("three demo nodes")
	}
	const speed = 60
	// A summer morning ahead of the wall clock: the embedded chain stamps
	// blocks with the demo clock only while it is ahead of the wall
	// (proof-of-flexibility rounds are seeded by those blocks).
	clock, err := gridmint.NewScaledClock(time.Date(time.Now().Year()+1, 6, 21, 9, 50, 0, 0, time.UTC), time.Now(), speed)
	if err != nil {
		t.Fatal(err)
	}
	dirs := [3]string{t.TempDir(), t.TempDir(), t.TempDir()}
	var ids [3]*Identity
	var hex [3]string
	for i, d := range dirs {
		if ids[i], err = DemoIdentity(d); err != nil {
			t.Fatal(err)
		}
		hex[i] = ids[i].Address
	}
	opts := func(i int) DemoOptions {
		o := demoOptions(dirs[i], clock)
		o.SimPeriod = time.Duration(float64(time.Minute) / speed)
		o.SimSeed = uint64(i + 1)
		o.NoClaims = true
		return o
	}
	oa := opts(0)
	oa.Chain = ChainConfig{ServeRPC: "127.0.0.1:0", EmbeddedFund: []string{hex[1], hex[2]}, Attestors: hex[:], Threshold: 2}
	a, err := StartDemo(context.Background(), oa)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ca := a.Node.Chain().Contracts()
	zero := uint64(0)
	shared := ChainConfig{RPC: a.Node.ChainRPCURL(), ChainID: 1337, Confirmations: &zero,
		Contracts: ContractsConfig{Registry: ca.Registry.Hex(), REC: ca.REC.Hex(), FLEX: ca.FLEX.Hex(), DeployBlock: ca.DeployBlock}}
	boot := []string{a.Node.P2PAddrs()[0]}
	ob := opts(1)
	ob.Chain, ob.Bootstrap = shared, boot
	b, err := StartDemo(context.Background(), ob)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	oc := opts(2)
	oc.Chain, oc.Bootstrap, oc.Role = shared, boot, RoleUtility
	c, err := StartDemo(context.Background(), oc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	nodes := []*Node{a.Node, b.Node, c.Node}
	homes := []*Node{a.Node, b.Node}

	// FLEX for C: the 10:00 round tests a home battery's quarter-hour
	// offer (the demo's); the passed test's availability reward (1 FLEX
	// per kW), attested by the peers, is minted to the home, whose demo
	// hands what it earned to the utility whose requests it holds (C
	// posts one of its own at start): an ordinary transfer.
	ctx := context.Background()
	fund := new(big.Int)
	enough := new(big.Int).Mul(big.NewInt(2), big.NewInt(1e18)) // more than the request's cleared value
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range c.Node.PoF().TestRounds() {
				t.Logf("C's round %s: %s, block %v at %s, %d offers, %d skipped, batch %s", r.SeedTime.Format(time.RFC3339), r.State, r.SeedBlock, r.SeedBlockTime, r.Offers, r.Skipped, r.BatchState)
				for _, tv := range r.Tests {
					t.Logf("  test of %s [%s, %s) %v W: %s %s, reward %s", tv.Test.Device, tv.Test.Start.Format("15:04"), tv.Test.End.Format("15:04"), tv.Test.Power, tv.Outcome, tv.Reason, tv.Reward)
				}
			}
		}
	})
	waitLong(t, 4*time.Minute, "availability FLEX earned by a tested battery and passed on to C", func() bool {
		bal, err := c.Node.Chain().FLEXBalance(ctx, common.HexToAddress(hex[2]))
		if err == nil {
			fund = bal
		}
		return err == nil && bal.Cmp(enough) >= 0
	})
	t.Logf("C holds %v FLEX of availability rewards at %s", fund, clock.Now().Format("15:04"))
	// The FLEX came from a settled test round: C's settle engine sees the
	// reward batch's mint some blocks after the balance shows it (another
	// node may have submitted it), so this is a wait, not a look.
	settledPassed := func() bool {
		for _, r := range c.Node.PoF().TestRounds() {
			for _, tv := range r.Tests {
				if tv.Outcome == gridmint.TestPassed && r.State == "settled" && tv.Reward != "0" {
					return true
				}
			}
		}
		return false
	}
	waitLong(t, 2*time.Minute, "C to see a settled round with a passed, rewarded test", settledPassed)

	// The homes' batteries report before the request goes out.
	for _, h := range homes {
		waitFor(t, "the home's batteries report their charge", func() bool {
			n := 0
			for _, d := range h.Devices() {
				if d.Kind == gridmint.KindBattery && d.Online && d.Fields.Has(gridmint.FieldSoC) {
					n++
				}
			}
			return n >= 2
		})
	}
	waitFor(t, "C meshed with A and B", func() bool { return len(c.Node.P2P().Peers()) >= 2 })

	// A request for more than all batteries together: every offer
	// clears (short), so both homes have awards.
	// On five-minute steps: the meter data and schedules are.
	now := clock.Now().Truncate(5 * time.Minute)
	gate, start := now.Add(15*time.Minute), now.Add(35*time.Minute)
	body := fmt.Sprintf(`{"zone": %q, "window_start": %q, "window_end": %q, "power_w": 50000, "direction": "down", "max_price": 500000, "gate_closure": %q}`,
		DemoZone, start.Format(time.RFC3339), start.Add(30*time.Minute).Format(time.RFC3339), gate.Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.Node.HTTPAddr()+"/api/v1/requests", bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+c.Node.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/requests = %d %s", resp.StatusCode, reply)
	}
	var posted struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(reply, &posted); err != nil {
		t.Fatal(err)
	}
	// event is the node's view of the request; zero until it holds it.
	event := func(n *Node) (ev api.MarketEvent) {
		resp, err := http.Get("http://" + n.HTTPAddr() + "/api/v1/market/events/" + posted.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
				t.Fatal(err)
			}
		}
		return ev
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, n := range nodes {
				ev := event(n)
				t.Logf("node %d at %s: %s %s %s", i, clock.Now(), ev.State, ev.Reason, ev.Detail)
				for _, l := range ev.Log {
					t.Logf("  %s %s %s", l.At.Format("15:04:05"), l.Step, l.Detail)
				}
			}
		}
	})
	for _, h := range homes {
		waitFor(t, "the home's offers for the request", func() bool {
			var o api.MarketOffers
			getJSON(t, "http://"+h.HTTPAddr()+"/api/v1/market/offers", &o)
			return len(o.Offers) >= 1
		})
	}
	// Clearing, root, reservation: every node firm on the same root.
	var root common.Hash
	for i, n := range nodes {
		waitLong(t, 3*time.Minute, fmt.Sprintf("node %d firm", i), func() bool {
			s := event(n).State
			return s == "firm" || s == "dispatched" || s == "done"
		})
		ev := event(n)
		if i == 0 {
			root = ev.Clearing.Root
		}
		if ev.Clearing.Root != root || ev.Reservation == nil || ev.Reservation.Root != root || !ev.Reservation.Firm {
			t.Errorf("node %d: root %s, reservation %+v; want root %s, firm", i, ev.Clearing.Root, ev.Reservation, root)
		}
		if i < 2 && (ev.Root == nil || !ev.Root.Agreed) {
			t.Errorf("home %d: C's published root %+v, want agreed", i, ev.Root)
		}
	}
	// Firm events go on to measurement: every node's mv tracks the request.
	for i, n := range nodes {
		waitFor(t, fmt.Sprintf("node %d tracking the firm event for measurement", i), func() bool {
			resp, err := http.Get("http://" + n.HTTPAddr() + "/api/v1/market/deliveries/" + posted.ID)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var de api.DeliveryEvent
			return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&de) == nil && de.Root == root
		})
	}
	evC := event(c.Node)
	if len(evC.Clearing.Awards) < 1 || !evC.Clearing.Short {
		t.Errorf("C's clearing: %d awards, short %v; want every battery's offer (short of 50 kW)", len(evC.Clearing.Awards), evC.Clearing.Short)
	}
	// A battery whose test drained it to its reserve before the request
	// offers nothing for it: the homes with awards are dispatched.
	awarded := func(h *Node) bool {
		for _, a := range evC.Clearing.Awards {
			if strings.EqualFold(a.Provider, h.Identity().Address) {
				return true
			}
		}
		return false
	}
	// Dispatch at the window start, confirmed by the simulated GX; the
	// restore at the end.
	for i, h := range homes {
		if !awarded(h) {
			continue
		}
		waitLong(t, 3*time.Minute, fmt.Sprintf("home %d done", i), func() bool { return event(h).State == "done" })
		ev := event(h)
		var starts, restores int
		for _, sp := range ev.Setpoints {
			if sp.Setpoint.Kind != gridmint.SetpointBatteryPower || sp.Setpoint.Origin != gridmint.OriginMarket || sp.Command == "" {
				t.Errorf("home %d setpoint %+v: want battery_power of origin market, sent", i, sp)
				continue
			}
			if sp.Restore {
				restores++
				if sp.Setpoint.Value != 0 {
					t.Errorf("home %d restore %+v, want battery_power 0", i, sp)
				}
				continue
			}
			starts++
			if sp.Setpoint.Value <= 0 {
				t.Errorf("home %d setpoint %+v: want a discharge (down)", i, sp)
			}
		}
		if starts == 0 || restores != starts {
			t.Errorf("home %d: %d setpoints and %d restores, want as many of each and at least one", i, starts, restores)
		}
		waitFor(t, fmt.Sprintf("home %d's setpoints confirmed by the simulated devices", i), func() bool {
			for _, sp := range event(h).Setpoints {
				if sp.Status != gridmint.CommandConfirmed {
					return false
				}
			}
			return true
		})
	}
	// Measurement: each battery's award names the schedule baseline; its
	// home signed the battery's plan (idle) with the offer, and every
	// node measures the discharge against that plan and pays it.
	deliveries := func(n *Node) (de api.DeliveryEvent) {
		resp, err := http.Get("http://" + n.HTTPAddr() + "/api/v1/market/deliveries/" + posted.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			_ = json.NewDecoder(resp.Body).Decode(&de)
		}
		return de
	}
	for i, n := range nodes {
		waitLong(t, 3*time.Minute, fmt.Sprintf("node %d verified the deliveries", i), func() bool {
			s := deliveries(n).State
			return s == "verified" || s == "settled"
		})
		de := deliveries(n)
		if len(de.Deliveries) != len(evC.Clearing.Awards) {
			t.Errorf("node %d: %d delivery records for %d awards", i, len(de.Deliveries), len(evC.Clearing.Awards))
		}
		for _, d := range de.Deliveries {
			if d.Baseline != "schedule/v1" || d.Schedule == nil || d.NoSchedule || d.Delivered <= 0 || d.Paid == "0" {
				t.Errorf("node %d delivery %+v: want measured against a signed schedule (schedule/v1), delivered and paid", i, d)
			}
		}
	}
	// The reward batch (attested by the peers of each provider) settles.
	waitLong(t, 3*time.Minute, "the delivery rewards settled on chain", func() bool {
		return deliveries(a.Node).State == "settled"
	})

	// The counters (C's demo posts a request of its own at start too:
	// at least one of each).
	metric := func(n *Node, name string) float64 {
		for _, l := range strings.Split(get(t, "http://"+n.HTTPAddr()+"/metrics"), "\n") {
			if v, ok := strings.CutPrefix(l, name+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return -1
	}
	for i, h := range homes {
		sent := 2.0
		if !awarded(h) {
			sent = 0
		}
		if metric(h, "gridmint_market_firm_total") < 1 || metric(h, `gridmint_market_refused_total{reason="root_mismatch"}`) != 0 ||
			metric(h, `gridmint_market_setpoints_total{result="refused"}`) != 0 || metric(h, `gridmint_market_setpoints_total{result="sent"}`) < sent {
			t.Errorf("home %d /metrics: firm %v, root_mismatch %v, setpoints refused %v sent %v; want firm, none refused", i,
				metric(h, "gridmint_market_firm_total"), metric(h, `gridmint_market_refused_total{reason="root_mismatch"}`),
				metric(h, `gridmint_market_setpoints_total{result="refused"}`), metric(h, `gridmint_market_setpoints_total{result="sent"}`))
		}
	}
	for i, h := range homes {
		if metric(h, "gridmint_market_schedules_made_total") < 1 || metric(h, "gridmint_market_schedules_received_total") < 1 {
			t.Errorf("home %d /metrics: schedules made %v, received %v; want both", i,
				metric(h, "gridmint_market_schedules_made_total"), metric(h, "gridmint_market_schedules_received_total"))
		}
	}
	if metric(c.Node, "gridmint_market_reservations_total") < 1 || metric(c.Node, "gridmint_market_roots_published_total") < 1 {
		t.Errorf("C's /metrics: want a root published and a reservation")
	}
	// C burned the cleared value; the homes pass on what they were paid
	// for delivering it, so C gets back at most what it burned, plus the
	// availability FLEX of tests passed since.
	avail := new(big.Int)
	for _, r := range c.Node.PoF().TestRounds() {
		for _, tv := range r.Tests {
			if v, ok := new(big.Int).SetString(tv.Reward, 10); ok {
				avail.Add(avail, v)
			}
		}
	}
	if bal, err := c.Node.Chain().FLEXBalance(ctx, common.HexToAddress(hex[2])); err != nil || bal.Cmp(new(big.Int).Add(fund, avail)) > 0 {
		t.Errorf("C's FLEX after the cycle %v (%v), want at most the %v it had plus the %v availability FLEX minted", bal, err, fund, avail)
	}
}
