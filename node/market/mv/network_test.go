package mv

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
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/gridmint/gridmint/node/store"
)

// An in-process network as package node wires it: per node a badger
// store, chain client, chain indexer, libp2p gossip, settlement engine and
// this service, all on one simulated chain whose registry holds every
// node (k = 2). Clocks are fake and moved by the test; the service steps
// when the test says, the engines and indexers poll every few ms of wall
// time, and the test waits for conditions.

func testKey(i int) *ecdsa.PrivateKey {
	k, err := ethcrypto.ToECDSA(ethcrypto.Keccak256([]byte(fmt.Sprint("mv test key ", i))))
	if err != nil {
		panic(err)
	}
	return k
}

func testAddr(i int) common.Address { return ethcrypto.PubkeyToAddress(testKey(i).PublicKey) }

// testDeviceKey stands in for node.Identity.DeviceKey.
func testDeviceKey(i int) func(gridmint.DeviceID) gridmint.DeviceKey {
	return func(d gridmint.DeviceID) gridmint.DeviceKey {
		return gridmint.DeviceKey(ethcrypto.Keccak256Hash(testAddr(i).Bytes(), []byte(d)))
	}
}

func testLog(i int) *slog.Logger {
	if os.Getenv("GRIDMINT_MV_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", i)
	}
	return slog.New(slog.DiscardHandler)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type mvNode struct {
	i       int
	st      *store.Store
	client  *chain.Client
	p2p     *p2p.Node
	eng     *settle.Engine
	svc     *Service
	devices []gridmint.Device
}

type mvNet struct {
	sim   *chain.Simulated
	addrs chain.Addresses
	clock *fakeclock.Clock
	wall  *fakeclock.Clock
	nodes []*mvNode
}

func newMVNet(t *testing.T, n int, devices map[int][]gridmint.Device) *mvNet {
	t.Helper()
	deployer := testKey(100)
	alloc := types.GenesisAlloc{ethcrypto.PubkeyToAddress(deployer.PublicKey): {Balance: chain.SimulatedFunds}}
	var attestors []common.Address
	for i := range n {
		alloc[testAddr(i)] = types.Account{Balance: chain.SimulatedFunds}
		attestors = append(attestors, testAddr(i))
	}
	sim, err := chain.NewSimulated(chain.SimulatedConfig{Alloc: alloc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	addrs, err := chain.Deploy(t.Context(), sim.Backend(), deployer, chain.DeployConfig{Attestors: attestors, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	nw := &mvNet{sim: sim, addrs: addrs, clock: fakeclock.New(t0.Add(-2 * time.Hour)), wall: fakeclock.New(t0)}
	for i := range n {
		nw.nodes = append(nw.nodes, nw.start(t, i, devices[i]))
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			link(t, nw.nodes[i], nw.nodes[j])
		}
	}
	return nw
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

func (nw *mvNet) start(t *testing.T, i int, devices []gridmint.Device) *mvNode {
	t.Helper()
	nd := &mvNode{i: i, devices: devices}
	var err error
	if nd.st, err = store.Open("", store.Options{InMemory: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	key := testKey(i)
	if nd.client, err = chain.New(ctx, nw.sim.Backend(), chain.Config{Key: key, Contracts: nw.addrs, Sleep: fastSleep, Logger: testLog(i)}); err != nil {
		t.Fatal(err)
	}
	indexer := chain.NewIndexer(nw.sim.Backend(), nd.st, chain.IndexerConfig{Contracts: nw.addrs, Poll: 5 * time.Millisecond})
	attestors := settle.NewAttestors(nd.client)
	if err := attestors.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if nd.p2p, err = p2p.New(ctx, p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Domain: p2p.NewDomain(nd.client.ChainID(), common.Address{}),
		Store: nd.st, Clock: nw.clock, Attestors: attestors, Log: testLog(i)}); err != nil {
		t.Fatal(err)
	}
	if nd.eng, err = settle.New(settle.Config{Key: key, Chain: nd.client, Attestors: attestors, Index: nd.st, Gossip: nd.p2p, Store: nd.st,
		Clock: nw.clock, Wall: nw.wall, Tick: 5 * time.Millisecond, Logger: testLog(i),
		Timing: settle.Timing{Fallback: 5 * time.Minute, MinFallbackWall: 10 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if nd.svc, err = New(Options{Self: testAddr(i), Clock: nw.clock, Log: testLog(i), Store: nd.st,
		Devices: func() []gridmint.Device { return nd.devices }, Key: testDeviceKey(i),
		Publish: nd.p2p.Publish, Engine: nd.eng, IsAttestor: func() bool { return attestors.IsAttestor(testAddr(i)) },
		StakesAt: nd.client.StakeOfAt}); err != nil {
		t.Fatal(err)
	}
	nd.p2p.Handle(nd.eng.HandleMessage)
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

func link(t *testing.T, a, b *mvNode) {
	t.Helper()
	waitFor(t, fmt.Sprintf("node %d dialling node %d", a.i, b.i), func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		return a.p2p.Connect(ctx, b.p2p.Addrs()[0]) == nil
	})
	hears := func(x, y *mvNode) bool {
		for _, p := range x.p2p.Peers() {
			if p.ID == y.p2p.PeerID() && slices.Contains(p.Topics, p2p.TopicMeter) && slices.Contains(p.Topics, p2p.TopicAttestations) {
				return true
			}
		}
		return false
	}
	waitFor(t, fmt.Sprintf("nodes %d and %d linked", a.i, b.i), func() bool { return hears(a, b) && hears(b, a) })
}

// battery is a battery's readings, one a minute over [from, to]:
// discharging at the given power (W) inside each of the windows and idle
// otherwise.
func battery(id gridmint.DeviceID, from, to time.Time, windows map[time.Time]int64) []gridmint.Reading {
	var out []gridmint.Reading
	var dis gridmint.MWh
	for t := from; !t.After(to); t = t.Add(time.Minute) {
		out = append(out, gridmint.Reading{Device: id, Time: t, Fields: gridmint.FieldEnergy | gridmint.FieldEnergyReverse, Energy: dis,
			Quality: gridmint.QualityOK})
		for ws, w := range windows {
			if !t.Before(ws) && t.Before(ws.Add(30*time.Minute)) {
				dis += gridmint.EnergyAt(gridmint.W(w), time.Minute)
			}
		}
	}
	return out
}

func putReadings(t *testing.T, st *store.Store, rs []gridmint.Reading) {
	t.Helper()
	b := st.NewBatch()
	for _, r := range rs {
		b.PutReading(r)
	}
	if err := st.Commit(b); err != nil {
		t.Fatal(err)
	}
}

// wireID is a device as network awards name it: its key as the serial.
func wireID(node int, key gridmint.DeviceKey) gridmint.DeviceID {
	return gridmint.DeviceID(testAddr(node).Hex() + "/key/" + key.String())
}

// TestDeliveriesAreMeteredAttestedAndPaid: three nodes; homes 1 and 2 each
// have a battery awarded in request R1 (meter before/after); home 1
// discharges what it was awarded, home 2 40 % of it and has a stake. Home
// 1's award is metered and gossiped, every node recomputes the same
// records, the peers attest, the elected node mints FLEX.reward, and home
// 1's FLEX balance is its payment. Home 2 is paid for what it delivered
// and its slash is at most its award's share of its stake. In R2 home 1
// settles an inflated record of its own: the peers refuse it
// (inflated_delivery), attest their own, and home 1 is paid the
// measured delivery only.
func TestDeliveriesAreMeteredAttestedAndPaid(t *testing.T) {
	if testing.Short() {
		t.Skip("three libp2p nodes on a simulated chain")
	}
	ctx := t.Context()
	bat1 := gridmint.DeviceID(testAddr(1).Hex() + "/victron/bat-1")
	bat2 := gridmint.DeviceID(testAddr(2).Hex() + "/victron/bat-2")
	nw := newMVNet(t, 3, map[int][]gridmint.Device{
		1: {{ID: bat1, Kind: gridmint.KindBattery}},
		2: {{ID: bat2, Kind: gridmint.KindBattery}},
	})
	k1, k2 := testDeviceKey(1)(bat1), testDeviceKey(2)(bat2)
	w1, w2, w3 := t0, t0.Add(2*time.Hour), t0.Add(time.Hour)

	// Home 2 stakes 1 FLEX, minted by an attested reward of its own.
	stake := big.NewInt(1e18)
	grant := chain.NewRewardBatch([]chain.Reward{{RecordID: common.Hash{0xee}, Provider: testAddr(2), Amount: stake, Kind: chain.RewardDelivery, Evidence: common.Hash{1}}})
	var sigs [][]byte
	for _, i := range []int{0, 1} {
		sig, err := chain.Sign(testKey(i), nw.nodes[0].client.FLEXDomain().Digest(grant.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	if _, err := nw.nodes[0].client.Reward(ctx, grant, sigs); err != nil {
		t.Fatal(err)
	}
	if _, err := nw.nodes[2].client.Stake(ctx, common.Hash{0x57}, stake); err != nil {
		t.Fatal(err)
	}

	// The readings: home 1 discharges 2.4 kW in R1 and R2 (awarded
	// 2 kW: capped); home 2 800 W in R1 (awarded 2 kW) and 2 kW in R3.
	putReadings(t, nw.nodes[1].st, battery(bat1, t0.Add(-time.Hour), t0.Add(4*time.Hour), map[time.Time]int64{w1: 2400, w2: 2400}))
	putReadings(t, nw.nodes[2].st, battery(bat2, t0.Add(-time.Hour), t0.Add(4*time.Hour), map[time.Time]int64{w1: 800, w3: 2000}))

	// Clearing, as every node would do it at gate closure.
	req := func(w time.Time, p gridmint.W) flex.SignedRequest {
		r := gridmint.Request{Zone: "DE-LU", WindowStart: w, WindowEnd: w.Add(30 * time.Minute), Power: p, Direction: gridmint.DirectionDown,
			MaxPrice: 500, GateClosure: w.Add(-time.Hour)}
		return flex.SignedRequest{ID: flex.RequestHash(r), Buyer: testAddr(0).Hex(), Signed: w.Add(-3 * time.Hour), Request: r}
	}
	offer := func(node int, key gridmint.DeviceKey, w time.Time, price gridmint.MicroFLEX) flex.SignedOffer {
		o := gridmint.Offer{Device: wireID(node, key), Zone: "DE-LU", WindowStart: w, WindowEnd: w.Add(30 * time.Minute), Power: 2000,
			Direction: gridmint.DirectionDown, FloorPrice: price, Baseline: gridmint.BaselineMeterBeforeAfter, Expiry: w.Add(-time.Hour)}
		return flex.SignedOffer{ID: flex.OfferHash(o), Provider: testAddr(node).Hex(), Signed: w.Add(-2 * time.Hour), Offer: o}
	}
	res := flex.Clear([]flex.SignedRequest{req(w1, 3000), req(w2, 1000), req(w3, 1000)},
		[]flex.SignedOffer{offer(1, k1, w1, 100), offer(2, k2, w1, 200), offer(1, k1, w2, 100), offer(2, k2, w3, 150)})
	if len(res.Clearings) != 3 || len(res.Skipped) != 0 {
		t.Fatalf("clearing: %+v", res)
	}
	byWindow := map[time.Time]flex.Clearing{}
	for _, c := range res.Clearings {
		byWindow[c.Request.WindowStart] = c
	}
	r1, r2, r3 := byWindow[w1], byWindow[w2], byWindow[w3]
	if len(r1.Awards) != 2 || r1.Price != 200 {
		t.Fatalf("R1 awards %+v at %d", r1.Awards, r1.Price)
	}
	track := func(c flex.Clearing) {
		for _, nd := range nw.nodes {
			ev := FirmEvent{Clearing: c, ReservationTx: common.Hash{byte(c.Request.WindowStart.Hour())}, Reserved: c.Value(), ReservationBlock: nw.sim.Head()}
			for _, a := range c.Awards {
				switch {
				case nd.i == 1 && a.Device == wireID(1, k1):
					ev.Local = append(ev.Local, LocalAward{Award: a, Device: bat1})
				case nd.i == 2 && a.Device == wireID(2, k2):
					ev.Local = append(ev.Local, LocalAward{Award: a, Device: bat2})
				}
			}
			nd.svc.Track(ctx, ev)
		}
	}
	track(r1)
	track(r2)
	track(r3)
	// Home 1 inflates what it settles for R2 (the peers do not).
	nw.nodes[1].svc.tamper = func(r *gridmint.DeliveryRecord) {
		if r.RequestID == r2.RequestID {
			r.Delivered += 1
			r.Intervals[0]++
		}
	}
	stepAll := func(at time.Time) {
		nw.clock.Set(at)
		for _, nd := range nw.nodes {
			nd.svc.Step(ctx)
		}
	}
	received := func(nd *mvNode, req gridmint.RequestID, src source, n int) bool {
		nd.svc.mu.Lock()
		defer nd.svc.mu.Unlock()
		r := nd.svc.intervals[req][src]
		return r != nil && r.Len() >= n
	}
	// Per event in window order: metering after its window, the 15 min
	// after-span and the grace; verification Collect later, once every
	// node has the intervals.
	for _, c := range []flex.Clearing{r1, r3, r2} {
		end := c.Request.WindowEnd.Add(15 * time.Minute)
		stepAll(end.Add(5 * time.Minute))
		for _, a := range c.Awards {
			key, _ := keyOf(a.Meter)
			src := source{common.HexToAddress(a.Provider), key}
			for _, nd := range nw.nodes {
				waitFor(t, fmt.Sprintf("node %d has the intervals of %s", nd.i, a.Device), func() bool { return received(nd, c.RequestID, src, 12) })
			}
		}
		stepAll(end.Add(10 * time.Minute))
		// Every node has the attestations of every node that computed
		// the batch it did before the clock moves on (gossip older than
		// the freshness window would be stale).
		same := map[common.Hash]int{}
		batchOf := func(nd *mvNode) common.Hash {
			if evs := nd.svc.Events(&c.RequestID); len(evs) == 1 && evs[0].Batch != nil {
				return *evs[0].Batch
			}
			return common.Hash{}
		}
		for _, nd := range nw.nodes {
			same[batchOf(nd)]++
		}
		for _, nd := range nw.nodes {
			b := batchOf(nd)
			waitFor(t, fmt.Sprintf("node %d has the attestations of batch %s", nd.i, b), func() bool {
				st, ok := nd.eng.Lookup(b)
				return ok && st.Attestations >= same[b]
			})
		}
	}
	// Home 1 is elected first for R2's honest batch, which it does not
	// hold: the next node submits after the fallback.
	nw.clock.Add(6 * time.Minute)
	nw.wall.Add(11 * time.Second)

	recOf := func(nd *mvNode, c flex.Clearing, device gridmint.DeviceID) Record {
		t.Helper()
		evs := nd.svc.Events(&c.RequestID)
		if len(evs) != 1 || evs[0].State == "tracking" {
			t.Fatalf("node %d: events %+v", nd.i, evs)
		}
		for _, r := range evs[0].Deliveries {
			if r.Device == device {
				return r
			}
		}
		t.Fatalf("node %d: no record of %s in %s", nd.i, device, c.RequestID)
		return Record{}
	}
	// Every node computed the same honest records.
	full := 6 * gridmint.EnergyAt(2000, Step) // the award's energy, step by step
	p1 := recOf(nw.nodes[0], r1, wireID(1, k1))
	q1 := recOf(nw.nodes[0], r1, wireID(2, k2))
	if p1.Awarded != 6*gridmint.EnergyAt(2000, Step) || p1.Delivered != p1.Awarded || p1.Reason != "" || *p1.BaselineMWh != 0 || *p1.MeteredMWh != -gridmint.EnergyAt(2400, 30*time.Minute) {
		t.Errorf("home 1 in R1: %+v", p1)
	}
	if q1.Delivered != 30*gridmint.EnergyAt(800, time.Minute) || q1.Reason != gridmint.FlexUnderDelivered || q1.Performance()/1000 != 399 {
		t.Errorf("home 2 in R1: %+v", q1)
	}
	for _, nd := range nw.nodes[1:] {
		for _, c := range []flex.Clearing{r1, r3} {
			for _, a := range c.Awards {
				if got, want := recOf(nd, c, a.Device), recOf(nw.nodes[0], c, a.Device); got.Evidence != want.Evidence || got.Payment.Cmp(want.Payment) != 0 {
					t.Errorf("node %d's record of %s differs from node 0's: %+v vs %+v", nd.i, a.Device, got.DeliveryRecord, want.DeliveryRecord)
				}
			}
		}
	}
	// The slash: at most the award's share of the stake, in proportion
	// to the shortfall (60 %). The day's awarded value counts the awards
	// starting before R1's window ends: R3, later the same day, does not
	// (nodes verifying R1 before and after R3 is reserved would differ).
	q1Award := r1.Awards[slices.IndexFunc(r1.Awards, func(a gridmint.Award) bool { return a.Device == wireID(2, k2) })]
	dayValue := new(big.Int)
	for _, c := range []flex.Clearing{r1, r3} {
		for _, a := range c.Awards {
			if a.Provider == q1Award.Provider && a.WindowStart.Before(q1Award.WindowEnd) {
				dayValue.Add(dayValue, a.Value())
			}
		}
	}
	share := new(big.Int).Quo(new(big.Int).Mul(stake, q1Award.Value()), dayValue)
	shortfall := q1.Awarded - q1.Delivered
	want := new(big.Int).Quo(new(big.Int).Mul(share, big.NewInt(int64(shortfall))), big.NewInt(int64(q1.Awarded)))
	if q1.Slash == nil || q1.Slash.Cmp(want) != 0 {
		t.Errorf("home 2's slash %v, want %v: its award's share %v of its stake %v × the shortfall %v / %v", q1.Slash, want, share, stake, shortfall, q1.Awarded)
	}
	if p1.Slash != nil || recOf(nw.nodes[0], r3, wireID(2, k2)).Slash != nil {
		t.Errorf("a full delivery slashed: %v", p1.Slash)
	}

	// The inflated record of R2: refused by every peer.
	claimed := recOf(nw.nodes[1], r2, wireID(1, k1))
	for _, nd := range []*mvNode{nw.nodes[0], nw.nodes[2]} {
		if err := nd.svc.CheckClaim(claimed.DeliveryRecord); flex.Reason(err) != gridmint.FlexInflatedDelivery {
			t.Errorf("node %d takes home 1's inflated record: %v", nd.i, err)
		}
		if err := nd.svc.CheckClaim(recOf(nd, r1, wireID(1, k1)).DeliveryRecord); err != nil {
			t.Errorf("node %d refuses an honest record: %v", nd.i, err)
		}
	}

	// Settlement: every batch the peers attested is minted.
	settled := func(nd *mvNode, c flex.Clearing) bool {
		evs := nd.svc.Events(&c.RequestID)
		return len(evs) == 1 && evs[0].State == "settled" && evs[0].RewardTx != nil
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, nd := range nw.nodes {
				for name, c := range map[string]flex.Clearing{"R1": r1, "R2": r2, "R3": r3} {
					evs := nd.svc.Events(&c.RequestID)
					t.Logf("node %d: %s batch %v %s", nd.i, name, evs[0].Batch, evs[0].BatchState)
				}
				for _, b := range nd.eng.Batches(0) {
					t.Logf("node %d: batch %s %s attestations %d/%d order %v error %q", nd.i, b.ID, b.State, b.Attestations, b.K, b.Order, b.Error)
				}
			}
		}
	})
	for _, c := range []flex.Clearing{r1, r2, r3} {
		waitFor(t, "the reward batches settled at node 0", func() bool { return settled(nw.nodes[0], c) })
	}
	if settled(nw.nodes[1], r2) {
		t.Errorf("home 1's inflated batch for R2 was minted")
	}
	// Home 2's slash is on chain: its stake is down by exactly that.
	waitFor(t, "home 2's slash settled", func() bool {
		evs := nw.nodes[0].svc.Events(&r1.RequestID)
		for _, r := range evs[0].Deliveries {
			if r.Device == wireID(2, k2) {
				return r.SlashState == string(settle.StateSettled) && r.SlashTx != nil
			}
		}
		return false
	})
	if got, err := nw.nodes[0].client.StakeOf(ctx, testAddr(2)); err != nil || new(big.Int).Sub(stake, got).Cmp(q1.Slash) != 0 {
		t.Errorf("home 2's stake %v (%v), want %v − its slash %v", got, err, stake, q1.Slash)
	}
	if got, err := nw.nodes[0].client.StakeOf(ctx, testAddr(1)); err != nil || got.Sign() != 0 {
		t.Errorf("home 1's stake %v (%v): it never staked", got, err)
	}
	pay := func(c flex.Clearing, dev gridmint.DeviceID) *big.Int { return recOf(nw.nodes[0], c, dev).Payment }
	want1 := new(big.Int).Add(pay(r1, wireID(1, k1)), pay(r2, wireID(1, k1)))
	if got, err := nw.nodes[0].client.FLEXBalance(ctx, testAddr(1)); err != nil || got.Cmp(want1) != 0 {
		t.Errorf("home 1 holds %v FLEX base units (%v), want its measured payments %v", got, err, want1)
	}
	want2 := new(big.Int).Add(pay(r1, wireID(2, k2)), pay(r3, wireID(2, k2)))
	if got, err := nw.nodes[0].client.FLEXBalance(ctx, testAddr(2)); err != nil || got.Cmp(want2) != 0 {
		t.Errorf("home 2 holds %v FLEX base units (%v), want %v", got, err, want2)
	}
	// The audit traces every FLEX unit minted to an attested reward (k
	// registered signers besides the provider) and every burn to its
	// Reserved or Slashed event.
	rep, err := chain.Audit(ctx, nw.sim.Backend(), nw.addrs, chain.Evidence{}, chain.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fa := rep.FLEXAttestations; len(rep.Differences) != 0 || fa.RewardTxs != 4 || fa.Records != 5 || fa.SlashTxs != 1 || fa.BurnTxs != 1 {
		t.Errorf("audit: %+v, differences %v", fa, rep.Differences)
	}
	if want := new(big.Int).Mul(big.NewInt(200*1_000_000), big.NewInt(int64(full))); pay(r1, wireID(1, k1)).Cmp(want) != 0 {
		t.Errorf("home 1's R1 payment %v, want price × delivered kWh = %v", pay(r1, wireID(1, k1)), want)
	}
}
