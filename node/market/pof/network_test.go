package pof

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/gridmint/gridmint/node/store"
)

// An in-process network as package node wires it: per node a badger
// store, chain client and indexer, libp2p gossip, settlement engine, the
// market (node/market) and this service, on one simulated chain whose
// registry holds every node (k = 2) and whose blocks carry the fake
// clock's time. The test moves the clock and steps the services; engines
// and indexers poll every few ms of wall time; the test waits for
// conditions.

func netKey(i int) *ecdsa.PrivateKey {
	k, err := ethcrypto.ToECDSA(ethcrypto.Keccak256([]byte(fmt.Sprint("pof test key ", i))))
	if err != nil {
		panic(err)
	}
	return k
}

func netAddr(i int) common.Address { return ethcrypto.PubkeyToAddress(netKey(i).PublicKey) }

func netDeviceKey(i int) func(gridmint.DeviceID) gridmint.DeviceKey {
	return func(d gridmint.DeviceID) gridmint.DeviceKey {
		return gridmint.DeviceKey(ethcrypto.Keccak256Hash(netAddr(i).Bytes(), []byte(d)))
	}
}

func netLog(i int) *slog.Logger {
	if os.Getenv("GRIDMINT_POF_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", i)
	}
	return slog.New(slog.DiscardHandler)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fastSleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(min(d, 10*time.Millisecond))
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

type netNode struct {
	i      int
	st     *store.Store
	client *chain.Client
	p2p    *p2p.Node
	eng    *settle.Engine
	mkt    *market.Service
	svc    *Service
	devs   []devices.DeviceState
	mu     sync.Mutex
	sent   []gridmint.Setpoint
	// drop, when set, keeps a gossiped message from the node's market:
	// a message lost on its way to this node (nothing in it tells the
	// node it missed one).
	drop func(p2p.Message) bool
}

func (n *netNode) Send(_ context.Context, sp gridmint.Setpoint) (gridmint.CommandRecord, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, sp)
	return gridmint.CommandRecord{ID: fmt.Sprint("cmd-", len(n.sent)), Status: gridmint.CommandConfirmed}, nil
}

type pofNet struct {
	sim      *chain.Simulated
	addrs    chain.Addresses
	clock    *fakeclock.Clock
	wall     *fakeclock.Clock
	deployer *ecdsa.PrivateKey
	nodes    []*netNode
}

func newPoFNet(t *testing.T, start time.Time, devs map[int][]devices.DeviceState) *pofNet {
	t.Helper()
	return newPoFNetOf(t, 3, start, devs, nil)
}

// newPoFNetOf is a network of count nodes, every one an attestor (k = 2);
// drops[i] is node i's netNode.drop.
func newPoFNetOf(t *testing.T, count int, start time.Time, devs map[int][]devices.DeviceState, drops map[int]func(p2p.Message) bool) *pofNet {
	t.Helper()
	nw := &pofNet{clock: fakeclock.New(start), wall: fakeclock.New(start), deployer: netKey(100)}
	alloc := types.GenesisAlloc{ethcrypto.PubkeyToAddress(nw.deployer.PublicKey): {Balance: chain.SimulatedFunds}}
	var attestors []common.Address
	for i := range count {
		alloc[netAddr(i)] = types.Account{Balance: chain.SimulatedFunds}
		attestors = append(attestors, netAddr(i))
	}
	var err error
	if nw.sim, err = chain.NewSimulated(chain.SimulatedConfig{Alloc: alloc, Clock: nw.clock}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nw.sim.Close() })
	if nw.addrs, err = chain.Deploy(t.Context(), nw.sim.Backend(), nw.deployer, chain.DeployConfig{Attestors: attestors, Threshold: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range count {
		nw.nodes = append(nw.nodes, nw.start(t, i, devs[i], drops[i]))
	}
	for i := range count {
		for j := i + 1; j < count; j++ {
			link(t, nw.nodes[i], nw.nodes[j])
		}
	}
	return nw
}

func (nw *pofNet) start(t *testing.T, i int, devs []devices.DeviceState, drop func(p2p.Message) bool) *netNode {
	t.Helper()
	nd := &netNode{i: i, devs: devs, drop: drop}
	var err error
	if nd.st, err = store.Open("", store.Options{InMemory: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	key := netKey(i)
	if nd.client, err = chain.New(ctx, nw.sim.Backend(), chain.Config{Key: key, Contracts: nw.addrs, Sleep: fastSleep, Logger: netLog(i)}); err != nil {
		t.Fatal(err)
	}
	indexer := chain.NewIndexer(nw.sim.Backend(), nd.st, chain.IndexerConfig{Contracts: nw.addrs, Poll: 5 * time.Millisecond})
	attestors := settle.NewAttestors(nd.client)
	if err := attestors.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if nd.p2p, err = p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Domain: p2p.NewDomain(nd.client.ChainID(), common.Address{}),
		Store: nd.st, Clock: nw.clock, Attestors: attestors, Log: netLog(i)}); err != nil {
		t.Fatal(err)
	}
	if nd.eng, err = settle.New(settle.Config{Key: key, Chain: nd.client, Attestors: attestors, Index: nd.st, Gossip: nd.p2p, Store: nd.st,
		Clock: nw.clock, Wall: nw.wall, Tick: 5 * time.Millisecond, Logger: netLog(i),
		Timing: settle.Timing{Fallback: 5 * time.Minute, MinFallbackWall: 10 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	home := len(devs) > 0
	d := market.Deps{Log: netLog(i), Clock: nw.clock, Self: netAddr(i), Home: home, Key: netDeviceKey(i), Store: nd.st, Publish: nd.p2p.Publish,
		Devices: func() []devices.DeviceState { return slices.Clone(nd.devs) }}
	if home {
		d.Setpoints = nd
	}
	if nd.mkt, err = market.New(market.Config{Offer: home, Defaults: market.Policy{MinPrice: 100_000, ReserveSoC: 20}, Tests: cfg}, d); err != nil {
		t.Fatal(err)
	}
	if nd.svc, err = New(Options{Config: nd.mkt.Tests(), Self: netAddr(i), Clock: nw.clock, Log: netLog(i), Store: nd.st, Market: nd.mkt,
		Heads: nw.sim.Backend(), Genesis: nd.client.FLEXGenesis, Key: netDeviceKey(i), Publish: nd.p2p.Publish, Engine: nd.eng,
		IsAttestor: func() bool { return attestors.IsAttestor(netAddr(i)) },
		Devices: func() []gridmint.Device {
			var out []gridmint.Device
			for _, s := range nd.devs {
				out = append(out, s.Device)
			}
			return out
		}}); err != nil {
		t.Fatal(err)
	}
	nd.mkt.SetDerate(nd.svc.Derate)
	nd.p2p.Handle(nd.eng.HandleMessage)
	nd.p2p.Handle(func(m p2p.Message) {
		if nd.drop == nil || !nd.drop(m) {
			nd.mkt.Handle(m)
		}
	})
	nd.p2p.Handle(nd.svc.HandleMessage)
	wg.Add(2)
	go func() { defer wg.Done(); indexer.Run(ctx) }()
	go func() { defer wg.Done(); nd.eng.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		nd.p2p.Close()
		nd.st.Close()
	})
	return nd
}

func link(t *testing.T, a, b *netNode) {
	t.Helper()
	waitFor(t, fmt.Sprintf("node %d dialling node %d", a.i, b.i), func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		return a.p2p.Connect(ctx, b.p2p.Addrs()[0]) == nil
	})
	hears := func(x, y *netNode) bool {
		for _, p := range x.p2p.Peers() {
			if p.ID == y.p2p.PeerID() {
				for _, tp := range []string{p2p.TopicMeter, p2p.TopicAttestations, p2p.TopicOffers, p2p.TopicSchedules} {
					if !slices.Contains(p.Topics, tp) {
						return false
					}
				}
				return true
			}
		}
		return false
	}
	waitFor(t, fmt.Sprintf("nodes %d and %d linked", a.i, b.i), func() bool { return hears(a, b) && hears(b, a) })
}

// seal has the deployer send itself nothing: the chain seals the
// transaction in a block stamped with the clock's time.
func (nw *pofNet) seal(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	be := nw.sim.Backend()
	from := ethcrypto.PubkeyToAddress(nw.deployer.PublicKey)
	nonce, err := be.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	id, err := be.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := types.MustSignNewTx(nw.deployer, types.LatestSignerForChainID(id), &types.DynamicFeeTx{ChainID: id, Nonce: nonce,
		GasTipCap: big.NewInt(1e9), GasFeeCap: big.NewInt(100e9), Gas: 21_000, To: &from})
	if err := be.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
}

func (nw *pofNet) at(at time.Time) {
	nw.clock.Set(at)
	nw.wall.Set(at)
	for _, n := range nw.nodes {
		n.mkt.Step(context.Background())
		n.svc.Step(context.Background())
	}
}

func netBattery(i int, soc float64) devices.DeviceState {
	serial := fmt.Sprint("bat-", i)
	return devices.DeviceState{
		Device: gridmint.Device{ID: gridmint.DeviceID(netAddr(i).Hex() + "/victron/" + serial), Dialect: "victron", Serial: serial,
			Kind: gridmint.KindBattery, Zone: "DE-LU", Capacity: 10_000, Nameplate: 3000,
			Capabilities: []gridmint.Capability{gridmint.CapBatteryCtl},
			Limits:       gridmint.SafetyLimits{SoCFloor: 10, MaxCharge: 3000, MaxDischarge: 3000}},
		Online: true, Fields: gridmint.FieldSoC | gridmint.FieldPower, SoC: soc,
	}
}

// TestTestDispatchedMeasuredAndRewardedOnChain: home 1 offers its battery
// for a quarter hour; at the round's seed time the chain seals a block;
// every node draws the same test of it; home 1 sends the setpoint and
// the restore, meters the battery (discharging at the offered power) and
// gossips the intervals; every node evaluates the test as passed, the
// peers attest the availability reward batch, the elected node mints it,
// and home 1's FLEX balance grows by the reward (3 kW at 1 FLEX/kW). The
// same battery failing its next test is derated: its next offer is half.
func TestTestDispatchedMeasuredAndRewardedOnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("three libp2p nodes on a simulated chain")
	}
	ctx := t.Context()
	// A round time a day ahead of the wall clock: the chain stamps blocks
	// with the fake clock only while it is ahead of the wall.
	seed := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour)
	bat := netBattery(1, 80)
	nw := newPoFNet(t, seed.Add(-30*time.Minute), map[int][]devices.DeviceState{1: {bat}})
	home := nw.nodes[1]

	ws := seed.Add(20 * time.Minute)
	o := gridmint.Offer{Device: bat.ID, Zone: "DE-LU", WindowStart: ws, WindowEnd: ws.Add(15 * time.Minute), Power: 3000,
		Direction: gridmint.DirectionDown, FloorPrice: 100_000, Baseline: gridmint.BaselineSchedule, Expiry: ws.Add(-time.Minute)}
	m, err := home.mkt.PublishOffer(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nw.nodes {
		waitFor(t, fmt.Sprintf("node %d holding the offer and its schedule", n.i), func() bool {
			offers, _ := n.mkt.TestCandidates(seed)
			_, ok := n.mkt.ScheduleFor(gridmint.OfferID(m.ID), netAddr(1))
			return len(offers) == 1 && ok
		})
	}
	nw.at(seed.Add(-time.Minute)) // opens the round
	nw.clock.Set(seed.Add(30 * time.Second))
	nw.seal(t)
	nw.at(seed.Add(OfferCollect))
	var td gridmint.TestDispatch
	for _, n := range nw.nodes {
		rs := n.svc.TestRounds()
		if len(rs) == 0 || rs[0].SeedTime != seed || len(rs[0].Tests) != 1 {
			t.Fatalf("node %d rounds %+v: want the round at %v with one test", n.i, rs, seed)
		}
		if n.i == 0 {
			td = rs[0].Tests[0].Test
		} else if rs[0].Tests[0].Test != td {
			t.Fatalf("node %d drew %+v, node 0 %+v", n.i, rs[0].Tests[0].Test, td)
		}
	}
	if td.OfferID != gridmint.OfferID(m.ID) || td.Start.Before(seed.Add(30*time.Second+cfg.Lead)) || td.End.After(o.WindowEnd) {
		t.Fatalf("test %+v: want the offer, from the seed block's time + the lead, within its window", td)
	}
	// The battery discharges at the offered power from the setpoint to
	// the restore; a reading a minute.
	b := home.st.NewBatch()
	var e gridmint.MWh
	for at := seed.Add(-time.Hour); !at.After(td.End.Add(time.Hour)); at = at.Add(time.Minute) {
		b.PutReading(gridmint.Reading{Device: bat.ID, Time: at, Fields: gridmint.FieldEnergy | gridmint.FieldEnergyReverse, Energy: e, Quality: gridmint.QualityOK})
		if !at.Before(td.Start.Add(-cfg.PreRoll)) && at.Before(td.End) {
			e += gridmint.EnergyAt(3000, time.Minute)
		}
	}
	if err := home.st.Commit(b); err != nil {
		t.Fatal(err)
	}
	nw.at(td.Start.Add(-cfg.PreRoll))
	nw.at(td.End)
	if len(home.sent) != 2 || home.sent[0].Value != 3000 || home.sent[1].Value != 0 {
		t.Fatalf("home sent %+v: want the discharge and the restore", home.sent)
	}
	nw.at(td.End.Add(Grace))
	for _, n := range nw.nodes {
		waitFor(t, fmt.Sprintf("node %d holding the test's intervals", n.i), func() bool {
			n.svc.mu.Lock()
			defer n.svc.mu.Unlock()
			_, complete := n.svc.seriesLocked(n.svc.testLocked(td.ID))
			return complete
		})
	}
	before, err := home.client.FLEXBalance(ctx, netAddr(1))
	if err != nil {
		t.Fatal(err)
	}
	nw.at(td.End.Add(Grace + Collect))
	for _, n := range nw.nodes {
		rs := n.svc.TestRounds()
		if tv := rs[0].Tests[0]; tv.Outcome != gridmint.TestPassed || rs[0].Batch == nil {
			t.Fatalf("node %d: %+v, batch %v: want passed, a reward batch", n.i, tv.TestResult, rs[0].Batch)
		}
	}
	want := new(big.Int).Add(before, new(big.Int).Mul(big.NewInt(3), big.NewInt(1e18)))
	waitFor(t, "home 1's availability reward minted", func() bool {
		bal, err := home.client.FLEXBalance(ctx, netAddr(1))
		return err == nil && bal.Cmp(want) == 0
	})
	waitFor(t, "the round shown settled with its reward transaction", func() bool {
		rs := nw.nodes[0].svc.TestRounds()
		return rs[0].State == "settled" && rs[0].RewardTx != nil
	})

	// A week later (a device is tested at most once a week) the battery
	// is offered and tested again, and does not move: failed, not
	// rewarded, derated on every node; its next offer is half.
	seed2 := seed.Add(7 * 24 * time.Hour)
	ws2 := seed2.Add(20 * time.Minute)
	o2 := o
	o2.WindowStart, o2.WindowEnd, o2.Expiry = ws2, ws2.Add(15*time.Minute), ws2.Add(-time.Minute)
	nw.at(seed2.Add(-30 * time.Minute))
	m2, err := home.mkt.PublishOffer(ctx, o2)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nw.nodes {
		waitFor(t, fmt.Sprintf("node %d holding the second offer", n.i), func() bool {
			_, ok := n.mkt.ScheduleFor(gridmint.OfferID(m2.ID), netAddr(1))
			return ok
		})
	}
	b = home.st.NewBatch()
	for at := seed2.Add(-time.Hour); !at.After(seed2.Add(2 * time.Hour)); at = at.Add(time.Minute) {
		b.PutReading(gridmint.Reading{Device: bat.ID, Time: at, Fields: gridmint.FieldEnergy | gridmint.FieldEnergyReverse, Energy: e, Quality: gridmint.QualityOK})
	}
	if err := home.st.Commit(b); err != nil {
		t.Fatal(err)
	}
	nw.at(seed2.Add(-time.Minute))
	nw.clock.Set(seed2.Add(30 * time.Second))
	nw.seal(t)
	nw.at(seed2.Add(OfferCollect))
	td2 := home.svc.TestRounds()[0].Tests
	if len(td2) != 1 || td2[0].Test.OfferID != gridmint.OfferID(m2.ID) {
		t.Fatalf("second round's tests %+v: want the second offer", td2)
	}
	end2 := td2[0].Test.End
	nw.at(td2[0].Test.Start.Add(-cfg.PreRoll))
	nw.at(end2)
	nw.at(end2.Add(Grace))
	for _, n := range nw.nodes {
		waitFor(t, fmt.Sprintf("node %d holding the second test's intervals", n.i), func() bool {
			n.svc.mu.Lock()
			defer n.svc.mu.Unlock()
			_, complete := n.svc.seriesLocked(n.svc.testLocked(td2[0].Test.ID))
			return complete
		})
	}
	nw.at(end2.Add(Grace + Collect))
	for _, n := range nw.nodes {
		rs := n.svc.TestRounds()
		if tv := rs[0].Tests[0]; tv.Outcome != gridmint.TestFailed || rs[0].Batch != nil || tv.Derate != 500_000 {
			t.Fatalf("node %d: %+v derate %d, batch %v: want failed, derated to half, no reward", n.i, tv.TestResult, tv.Derate, rs[0].Batch)
		}
	}
	o3 := o2
	o3.WindowStart, o3.WindowEnd, o3.Expiry = ws2.Add(2*time.Hour), ws2.Add(2*time.Hour+15*time.Minute), ws2.Add(2*time.Hour-time.Minute)
	if _, err := home.mkt.PublishOffer(ctx, o3); err == nil {
		t.Fatal("an offer of the full power after a failed test was signed")
	}
	o3.Power = 1500
	if _, err := home.mkt.PublishOffer(ctx, o3); err != nil {
		t.Fatalf("an offer of half the power after a failed test: %v", err)
	}
}

// TestNodeMissingAnOfferDrawsTheSameTestsAndTheRoundSettles: home 1
// offers two batteries; node 3 never gets battery A's offer (lost on its
// way; p2p kept it, the market never saw it). Every node still draws
// the same test of battery B (a device's draw does not depend on the
// other devices' offers), nodes 0 to 2 the same two tests; node 3 has
// no test of A, so its reward batch lacks A's reward and its signature
// does not count for the others' batch, but nodes 0 and 2 are enough
// (k = 2; the provider's own does not count): both rewards are minted.
func TestNodeMissingAnOfferDrawsTheSameTestsAndTheRoundSettles(t *testing.T) {
	if testing.Short() {
		t.Skip("four libp2p nodes on a simulated chain")
	}
	ctx := t.Context()
	seed := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour)
	batA, batB := netBattery(1, 80), netBattery(1, 80)
	batB.Serial = "bat-1b"
	batB.ID = gridmint.DeviceID(netAddr(1).Hex() + "/victron/" + batB.Serial)
	keyA := netDeviceKey(1)(batA.ID)
	var dropped sync.Map
	drop := func(m p2p.Message) bool {
		if o, ok := m.Body.(p2p.Offer); ok && o.Device == keyA {
			dropped.Store(m.ID, true)
			return true
		}
		return false
	}
	nw := newPoFNetOf(t, 4, seed.Add(-30*time.Minute), map[int][]devices.DeviceState{1: {batA, batB}}, map[int]func(p2p.Message) bool{3: drop})
	home, lossy := nw.nodes[1], nw.nodes[3]

	ws := seed.Add(20 * time.Minute)
	var ids []gridmint.OfferID
	for _, b := range []devices.DeviceState{batA, batB} {
		o := gridmint.Offer{Device: b.ID, Zone: "DE-LU", WindowStart: ws, WindowEnd: ws.Add(15 * time.Minute), Power: 3000,
			Direction: gridmint.DirectionDown, FloorPrice: 100_000, Baseline: gridmint.BaselineSchedule, Expiry: ws.Add(-time.Minute)}
		m, err := home.mkt.PublishOffer(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, gridmint.OfferID(m.ID))
	}
	for _, n := range nw.nodes {
		want := 2
		if n == lossy {
			want = 1
		}
		waitFor(t, fmt.Sprintf("node %d holding %d offers and their schedules", n.i, want), func() bool {
			offers, _ := n.mkt.TestCandidates(seed)
			ok := len(offers) == want
			for _, o := range offers {
				_, has := n.mkt.ScheduleFor(o.ID, netAddr(1))
				ok = ok && has
			}
			return ok
		})
	}
	waitFor(t, "node 3 losing A's offer", func() bool { _, ok := dropped.Load(common.Hash(ids[0])); return ok })

	nw.at(seed.Add(-time.Minute))
	nw.clock.Set(seed.Add(30 * time.Second))
	nw.seal(t)
	nw.at(seed.Add(OfferCollect))
	tests := func(n *netNode) map[gridmint.OfferID]gridmint.TestDispatch {
		rs := n.svc.TestRounds()
		if len(rs) == 0 || rs[0].SeedTime != seed {
			t.Fatalf("node %d rounds %+v: want the round at %v", n.i, rs, seed)
		}
		out := map[gridmint.OfferID]gridmint.TestDispatch{}
		for _, tv := range rs[0].Tests {
			out[tv.Test.OfferID] = tv.Test
		}
		return out
	}
	all := tests(nw.nodes[0])
	if len(all) != 2 {
		t.Fatalf("node 0 drew %+v: want a test of each battery (share 100 %%)", all)
	}
	for _, n := range nw.nodes {
		got := tests(n)
		if n == lossy {
			if len(got) != 1 || got[ids[1]] != all[ids[1]] {
				t.Fatalf("node 3 drew %+v: want only B's test, the same as node 0's %+v", got, all[ids[1]])
			}
			continue
		}
		if len(got) != 2 || got[ids[0]] != all[ids[0]] || got[ids[1]] != all[ids[1]] {
			t.Fatalf("node %d drew %+v, node 0 %+v", n.i, got, all)
		}
	}
	td := all[ids[0]]
	if b := all[ids[1]]; b.Start != td.Start || b.End != td.End {
		t.Fatalf("tests %+v and %+v: want both the whole quarter hour", td, b)
	}
	// Both batteries discharge at the offered power during the tests.
	b := home.st.NewBatch()
	for _, bat := range []devices.DeviceState{batA, batB} {
		var e gridmint.MWh
		for at := seed.Add(-time.Hour); !at.After(td.End.Add(time.Hour)); at = at.Add(time.Minute) {
			b.PutReading(gridmint.Reading{Device: bat.ID, Time: at, Fields: gridmint.FieldEnergy | gridmint.FieldEnergyReverse, Energy: e, Quality: gridmint.QualityOK})
			if !at.Before(td.Start.Add(-cfg.PreRoll)) && at.Before(td.End) {
				e += gridmint.EnergyAt(3000, time.Minute)
			}
		}
	}
	if err := home.st.Commit(b); err != nil {
		t.Fatal(err)
	}
	before, err := home.client.FLEXBalance(ctx, netAddr(1))
	if err != nil {
		t.Fatal(err)
	}
	nw.at(td.Start.Add(-cfg.PreRoll))
	nw.at(td.End)
	if len(home.sent) != 4 {
		t.Fatalf("home sent %+v: want each battery's discharge and restore", home.sent)
	}
	nw.at(td.End.Add(Grace))
	for _, n := range nw.nodes {
		for _, id := range ids {
			tt, ok := tests(n)[id]
			if !ok {
				continue
			}
			waitFor(t, fmt.Sprintf("node %d holding test %v's intervals", n.i, tt.ID), func() bool {
				n.svc.mu.Lock()
				defer n.svc.mu.Unlock()
				_, complete := n.svc.seriesLocked(n.svc.testLocked(tt.ID))
				return complete
			})
		}
	}
	nw.at(td.End.Add(Grace + Collect))
	for _, n := range nw.nodes {
		rs := n.svc.TestRounds()
		for _, tv := range rs[0].Tests {
			if tv.Outcome != gridmint.TestPassed {
				t.Fatalf("node %d: %+v: want passed", n.i, tv.TestResult)
			}
		}
		if rs[0].Batch == nil {
			t.Fatalf("node %d: no reward batch", n.i)
		}
	}
	if *nw.nodes[0].svc.TestRounds()[0].Batch == *lossy.svc.TestRounds()[0].Batch {
		t.Fatal("node 3's batch is the others': it holds one test fewer")
	}
	want := new(big.Int).Add(before, new(big.Int).Mul(big.NewInt(6), big.NewInt(1e18))) // two 3 kW tests at 1 FLEX/kW
	// The batch's elected submitter may be node 3, which holds another
	// batch and never submits this one: the next rank submits once the
	// fallback (5 min of node time, 10 s of wall) has passed, so both
	// clocks move on by a minute every 200 ms of waiting, up to the four
	// ranks' 20 minutes.
	last, limit := time.Now(), nw.clock.Now().Add(20*time.Minute)
	waitFor(t, "both availability rewards minted with node 3's batch short of one", func() bool {
		bal, err := home.client.FLEXBalance(ctx, netAddr(1))
		if err == nil && bal.Cmp(want) == 0 {
			return true
		}
		if now := nw.clock.Now(); time.Since(last) >= 200*time.Millisecond && now.Before(limit) {
			last = time.Now()
			nw.at(now.Add(time.Minute))
		}
		return false
	})
	waitFor(t, "the round settled on node 0", func() bool {
		rs := nw.nodes[0].svc.TestRounds()
		return rs[0].State == "settled" && rs[0].RewardTx != nil
	})
}
