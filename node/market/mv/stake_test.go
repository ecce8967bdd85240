package mv

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/store"
	dto "github.com/prometheus/client_model/go"
)

// TestSlashUsesStakeAtReservationBlock: home 2's award is not delivered
// (its meter shows no change), so every node slashes it, from home 2's stake. The stake
// changes between the reservation and the nodes' reads and
// verifications (home 2 stakes more twice), and the in-memory chain
// (pruning, like a full node: the last 128 blocks' state) later drops
// the reservation block's state. Every node slashes from the stake at the
// reservation block: node A (read and verified before the changes were
// over), node B (read after the first change, verified after the second
// and after pruning), node C (read, restarted, verified after pruning:
// the kept snapshot). Node D was down until the state was pruned: it
// attests no slash and says why (stake_unavailable), rather than a
// number no other node shares.
func TestSlashUsesStakeAtReservationBlock(t *testing.T) {
	ctx := t.Context()
	deployer := testKey(100)
	alloc := types.GenesisAlloc{ethcrypto.PubkeyToAddress(deployer.PublicKey): {Balance: chain.SimulatedFunds}}
	for i := range 3 {
		alloc[testAddr(i)] = types.Account{Balance: chain.SimulatedFunds}
	}
	sim, err := chain.NewSimulated(chain.SimulatedConfig{Alloc: alloc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	addrs, err := chain.Deploy(ctx, sim.Backend(), deployer, chain.DeployConfig{Attestors: []common.Address{testAddr(0), testAddr(1)}, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	client := func(i int) *chain.Client {
		c, err := chain.New(ctx, sim.Backend(), chain.Config{Key: testKey(i), Contracts: addrs, Sleep: fastSleep, Logger: testLog(i)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	reader, home := client(0), client(2)
	fx := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

	// Home 2 earns 10 FLEX (an attested reward) and stakes 4.
	grant := chain.NewRewardBatch([]chain.Reward{{RecordID: common.Hash{0xee}, Provider: testAddr(2), Amount: fx(10), Kind: chain.RewardDelivery, Evidence: common.Hash{1}}})
	var sigs [][]byte
	for _, i := range []int{0, 1} {
		sig, err := chain.Sign(testKey(i), reader.FLEXDomain().Digest(grant.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	if _, err := reader.Reward(ctx, grant, sigs); err != nil {
		t.Fatal(err)
	}
	stakeMore := func(ref byte, n int64) {
		t.Helper()
		if _, err := home.Stake(ctx, common.Hash{ref}, fx(n)); err != nil {
			t.Fatal(err)
		}
	}
	stakeMore(1, 4)
	// The reservation is confirmed in this block: the stake (4 FLEX)
	// every node slashes from.
	reservationBlock := sim.Head()

	key := testDeviceKey(2)("x/y/bat")
	c := oneBatteryClearing(key)
	ev := FirmEvent{Clearing: c, ReservationTx: common.Hash{0xaa}, Reserved: c.Value(), ReservationBlock: reservationBlock}

	clock := fakeclock.New(t0.Add(-50 * time.Minute))
	open := func(i int, st *store.Store) *Service {
		t.Helper()
		s, err := New(Options{Self: testAddr(i), Clock: clock, Log: testLog(i), Store: st, StakesAt: reader.StakeOfAt})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	node := func(i int) (*Service, *store.Store) {
		t.Helper()
		st, err := store.Open("", store.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return open(i, st), st
	}
	a, _ := node(0)
	b, _ := node(1)
	cNode, cStore := node(3)
	d, _ := node(4)
	for _, s := range []*Service{a, b, cNode, d} {
		s.Track(ctx, ev)
		s.HandleMessage(flatMeter(c, key))
	}
	a.Step(ctx) // reads the stake at once: 4 FLEX
	stakeMore(2, 3)
	b.Step(ctx) // reads it after the stake became 7: still 4 at the block
	cNode.Step(ctx)

	// Node A verifies after the window, while the stake is 7.
	clock.Set(t0.Add(time.Hour))
	a.Step(ctx)
	stakeMore(3, 2)
	// Past the state a pruning node keeps: the reservation block's state
	// is gone.
	for sim.Head() < reservationBlock+200 {
		sim.Commit()
	}
	if _, err := reader.StakeOfAt(ctx, testAddr(2), reservationBlock); err == nil {
		t.Fatalf("the reservation block's state is still there: the test does not cover a pruned chain")
	}
	b.Step(ctx)
	cNode = open(3, cStore) // restarted: the snapshot is what it kept
	cNode.Step(ctx)
	d.Step(ctx)

	slashOf := func(s *Service) Record {
		t.Helper()
		evs := s.Events(&c.RequestID)
		if len(evs) != 1 || evs[0].State != "verified" || len(evs[0].Deliveries) != 1 || evs[0].ReservationBlock != reservationBlock {
			t.Fatalf("events %+v, want one verified at reservation block %d", evs, reservationBlock)
		}
		return evs[0].Deliveries[0]
	}
	// One award, not delivered: its share is the whole stake at the
	// reservation block.
	want := fx(4)
	for name, s := range map[string]*Service{"A": a, "B": b, "C (restarted)": cNode} {
		rec := slashOf(s)
		if rec.Reason != gridmint.FlexUnderDelivered || rec.Slash == nil || rec.Slash.Cmp(want) != 0 || rec.SlashNotComputable != "" {
			t.Errorf("node %s: %s, slash %v (%q), want %v: the stake at the reservation block", name, rec.Reason, rec.Slash, rec.SlashNotComputable, want)
		}
	}
	if rec := slashOf(d); rec.Slash != nil || rec.SlashNotComputable != SlashStakeUnavailable {
		t.Errorf("node D (down until pruned): slash %v, not computable %q; want none, %s", rec.Slash, rec.SlashNotComputable, SlashStakeUnavailable)
	}
	var m dto.Metric
	if err := d.m.slashesNotComputable.WithLabelValues(SlashStakeUnavailable).Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Errorf("node D's slashes not computable (stake_unavailable): %v (%v), want 1", m.GetCounter().GetValue(), err)
	}
	if now, err := reader.StakeOf(ctx, testAddr(2)); err != nil || now.Cmp(fx(9)) != 0 {
		t.Errorf("home 2's stake now %v (%v), want 9 FLEX", now, err)
	}
}

// flatMeter is home 2's meter data for the award of c: the same energy
// every step, so nothing was delivered (under_delivered).
func flatMeter(c flex.Clearing, key gridmint.DeviceKey) p2p.Message {
	a := c.Awards[0]
	from, to := Lookback(a.Baseline, a.WindowStart, a.WindowEnd)
	e := make([]gridmint.MWh, int(to.Sub(from)/Step))
	for i := range e {
		e[i] = 50_000
	}
	return p2p.Message{Kind: p2p.KindMeter, Author: testAddr(2), Body: p2p.IntervalEnergy{Device: key, Request: c.RequestID, Start: from, Step: Step, Energy: e}}
}

// TestSlashWithoutReservationBlock: an event tracked without its
// reservation's block (an older node's store) gets no slash and the
// reason no_reservation_block; the stake is not read.
func TestSlashWithoutReservationBlock(t *testing.T) {
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reads := 0
	clock := fakeclock.New(t0.Add(-time.Hour))
	svc, err := New(Options{Self: testAddr(0), Clock: clock, Store: st,
		StakesAt: func(context.Context, common.Address, uint64) (*big.Int, error) { reads++; return big.NewInt(1e18), nil }})
	if err != nil {
		t.Fatal(err)
	}
	key := testDeviceKey(2)("x/y/bat")
	c := oneBatteryClearing(key)
	svc.Track(t.Context(), FirmEvent{Clearing: c, Reserved: c.Value()})
	svc.HandleMessage(flatMeter(c, key))
	svc.Step(t.Context())
	clock.Set(t0.Add(time.Hour))
	svc.Step(t.Context())
	evs := svc.Events(nil)
	if len(evs) != 1 || len(evs[0].Deliveries) != 1 {
		t.Fatalf("events %+v", evs)
	}
	if rec := evs[0].Deliveries[0]; rec.Slash != nil || rec.SlashNotComputable != SlashNoReservationBlock || reads != 0 {
		t.Errorf("slash %v, not computable %q, stake reads %d; want none, %s, 0", rec.Slash, rec.SlashNotComputable, reads, SlashNoReservationBlock)
	}
}

// oneBatteryClearing is a half-hour request at t0 cleared with one 1 kW
// battery offer of node 2 (device key key).
func oneBatteryClearing(key gridmint.DeviceKey) flex.Clearing {
	r := gridmint.Request{Zone: "DE-LU", WindowStart: t0, WindowEnd: t0.Add(30 * time.Minute), Power: 1000, Direction: gridmint.DirectionDown,
		MaxPrice: 100, GateClosure: t0.Add(-time.Hour)}
	o := gridmint.Offer{Device: wireID(2, key), Zone: "DE-LU", WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: 1000,
		Direction: gridmint.DirectionDown, FloorPrice: 50, Baseline: gridmint.BaselineMeterBeforeAfter, Expiry: r.GateClosure}
	return flex.Clear([]flex.SignedRequest{{ID: flex.RequestHash(r), Buyer: testAddr(0).Hex(), Signed: t0.Add(-2 * time.Hour), Request: r}},
		[]flex.SignedOffer{{ID: flex.OfferHash(o), Provider: testAddr(2).Hex(), Signed: t0.Add(-2 * time.Hour), Offer: o}}).Clearings[0]
}
