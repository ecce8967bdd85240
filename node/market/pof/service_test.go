package pof

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// heads is a chain whose blocks the test seals at chosen times.
type heads struct {
	mu     sync.Mutex
	blocks []*types.Header
}

func (h *heads) seal(at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := int64(len(h.blocks))
	h.blocks = append(h.blocks, &types.Header{Number: big.NewInt(n), Time: uint64(at.Unix()), Difficulty: big.NewInt(0), Extra: []byte("pof-test")})
}

func (h *heads) HeaderByNumber(_ context.Context, n *big.Int) (*types.Header, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n == nil {
		return h.blocks[len(h.blocks)-1], nil
	}
	return h.blocks[n.Int64()], nil
}

// memStore is node/store's settlement namespace and readings in memory.
type memStore struct {
	mu       sync.Mutex
	kv       map[string][]byte
	readings map[gridmint.DeviceID][]gridmint.Reading
}

func newMemStore() *memStore {
	return &memStore{kv: map[string][]byte{}, readings: map[gridmint.DeviceID][]gridmint.Reading{}}
}

func (m *memStore) PutSettle(k string, v []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kv[k] = slices.Clone(v)
	return nil
}

func (m *memStore) DeleteSettle(keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		delete(m.kv, k)
	}
	return nil
}

func (m *memStore) ScanSettle(prefix string, fn func(string, []byte) error) error {
	m.mu.Lock()
	var keys []string
	for k := range m.kv {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = m.kv[k]
	}
	m.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []gridmint.Reading
	for _, r := range m.readings[id] {
		if !r.Time.Before(from) && r.Time.Before(to) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

// fakeMarket offers the test's offers and plans a battery's dispatch.
type fakeMarket struct {
	mu       sync.Mutex
	offers   []flex.SignedOffer
	skip     map[gridmint.OfferID]bool
	local    map[gridmint.DeviceID]gridmint.DeviceID // network name → own id
	sent     []flex.Step
	schedule map[gridmint.OfferID]market.SignedSchedule
	awards   []gridmint.Award
}

func (f *fakeMarket) TestCandidates(seedTime time.Time) ([]flex.SignedOffer, map[gridmint.OfferID]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []flex.SignedOffer
	for _, o := range f.offers {
		if o.Signed.Before(seedTime) {
			out = append(out, o)
		}
	}
	return out, f.skip
}

func (f *fakeMarket) PlanTest(t gridmint.TestDispatch) ([]flex.Step, gridmint.DeviceID, error) {
	id, ok := f.local[t.Device]
	if !ok {
		return nil, "", &flex.ReasonError{Reason: gridmint.FlexUnknownDevice, Err: gridmint.Errorf(gridmint.ENotFound, "not mine")}
	}
	return []flex.Step{
		{At: t.Start, Setpoint: gridmint.Setpoint{Device: id, Kind: gridmint.SetpointBatteryPower, Value: float64(t.Power), Origin: gridmint.OriginMarket}},
		{At: t.End, Restore: true, Setpoint: gridmint.Setpoint{Device: id, Kind: gridmint.SetpointBatteryPower, Value: 0, Origin: gridmint.OriginMarket}},
	}, id, nil
}

func (f *fakeMarket) SendStep(_ context.Context, st flex.Step) (string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, st)
	return "cmd-" + st.At.Format(time.RFC3339), ""
}

func (f *fakeMarket) AwardsOf(d gridmint.DeviceID) []gridmint.Award {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gridmint.Award
	for _, a := range f.awards {
		if a.Device == d {
			out = append(out, a)
		}
	}
	return out
}

func (f *fakeMarket) ScheduleFor(o gridmint.OfferID, _ common.Address) (market.SignedSchedule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.schedule[o]
	return s, ok
}

// engine keeps the batches it is handed.
type engine struct {
	mu      sync.Mutex
	batches []settle.Batch
}

func (e *engine) Attest(_ context.Context, b settle.Batch) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.batches = append(e.batches, b)
	return nil
}

func (e *engine) Propose(b settle.Batch) (common.Hash, error) {
	return b.ID(), e.Attest(context.Background(), b)
}

func (e *engine) Lookup(common.Hash) (settle.Status, bool) { return settle.Status{}, false }

func (e *engine) all() []settle.Batch {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.batches)
}

// net is a home (provider, owning the battery) and a peer that only
// measures, on one gossip bus.
type net struct {
	t           *testing.T
	clock       *fakeclock.Clock
	heads       *heads
	home, peer  *Service
	homeStore   *memStore
	peerStore   *memStore
	mkt         *fakeMarket
	eng, peng   *engine
	homeAddr    common.Address
	local       gridmint.DeviceID
	netDev      gridmint.DeviceID
	key         gridmint.DeviceKey
	offer       flex.SignedOffer
	windowStart time.Time
	services    []*Service
}

var (
	seedTime = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	// Share 100 %: every device with an eligible offer is drawn (each
	// device's draw is its own, flex.Drawn).
	cfg = market.TestsConfig{Enabled: true, Every: 2 * time.Hour, SharePPM: 1_000_000, Duration: 15 * time.Minute, Lead: 10 * time.Minute, PreRoll: time.Minute, RewardPerKW: 1_000_000}
)

func newNet(t *testing.T) *net {
	t.Helper()
	n := &net{t: t, clock: fakeclock.New(seedTime.Add(-time.Hour)), heads: &heads{}, homeStore: newMemStore(), peerStore: newMemStore(),
		eng: &engine{}, peng: &engine{}, homeAddr: common.HexToAddress("0x00000000000000000000000000000000000000a1"),
		local: "0x00000000000000000000000000000000000000a1/victron/battery-1"}
	n.key = gridmint.DeviceKey{0xb1}
	n.netDev = market.NetDevice(n.homeAddr, n.key)
	n.heads.seal(seedTime.Add(-2 * time.Hour))
	n.windowStart = seedTime.Add(30 * time.Minute)
	o := gridmint.Offer{Device: n.netDev, Zone: "DE-LU", WindowStart: n.windowStart, WindowEnd: n.windowStart.Add(15 * time.Minute), Power: 3000,
		Direction: gridmint.DirectionDown, FloorPrice: 150_000, Baseline: gridmint.BaselineSchedule, Expiry: n.windowStart.Add(-time.Minute)}
	n.offer = flex.SignedOffer{ID: gridmint.OfferID{0x0f}, Provider: n.homeAddr.Hex(), Signed: seedTime.Add(-10 * time.Minute), Offer: o}
	plan := flex.Series{Start: o.WindowStart, Step: 5 * time.Minute, Energy: make([]gridmint.MWh, 3)}
	n.mkt = &fakeMarket{offers: []flex.SignedOffer{n.offer}, local: map[gridmint.DeviceID]gridmint.DeviceID{n.netDev: n.local},
		schedule: map[gridmint.OfferID]market.SignedSchedule{n.offer.ID: {Offer: n.offer.ID, Author: n.homeAddr, Signed: n.offer.Signed, Plan: plan}}}
	n.home = n.start(n.homeStore, n.homeAddr, n.eng)
	n.peer = n.start(n.peerStore, common.HexToAddress("0x00000000000000000000000000000000000000b2"), n.peng)
	return n
}

func (n *net) start(st *memStore, self common.Address, eng *engine) *Service {
	n.t.Helper()
	o := Options{Config: cfg, Self: self, Clock: n.clock, Store: st, Market: n.mkt, Heads: n.heads, Engine: eng,
		Genesis: func(context.Context) (time.Time, error) { return seedTime.Add(-24 * time.Hour), nil },
		Devices: func() []gridmint.Device { return []gridmint.Device{{ID: n.local, Kind: gridmint.KindBattery}} },
		Key:     func(gridmint.DeviceID) gridmint.DeviceKey { return n.key },
		Publish: func(_ context.Context, b p2p.Body) (p2p.Message, error) {
			m := p2p.Message{Author: self, Body: b, Kind: b.Kind()}
			for _, s := range n.services {
				s.HandleMessage(m)
			}
			return m, nil
		}}
	if self != n.homeAddr {
		// The peer has no devices: it only measures.
		o.Devices, o.Market = nil, &peerMarket{n.mkt}
	}
	s, err := New(o)
	if err != nil {
		n.t.Fatal(err)
	}
	n.services = append(n.services, s)
	return s
}

// peerMarket is the same offers without the home's devices.
type peerMarket struct{ *fakeMarket }

func (p *peerMarket) PlanTest(t gridmint.TestDispatch) ([]flex.Step, gridmint.DeviceID, error) {
	return nil, "", &flex.ReasonError{Reason: gridmint.FlexUnknownDevice, Err: gridmint.Errorf(gridmint.ENotFound, "no devices")}
}

// discharge records the battery's readings from the hour before the
// round to to: a reading a minute, its discharge counter growing at w
// watts during [from, until).
func (n *net) discharge(w float64, from, until, to time.Time) {
	var e gridmint.MWh
	var rs []gridmint.Reading
	for at := seedTime.Add(-time.Hour); !at.After(to); at = at.Add(time.Minute) {
		rs = append(rs, gridmint.Reading{Device: n.local, Time: at, Energy: e, Fields: gridmint.FieldEnergy})
		if !at.Before(from) && at.Before(until) {
			e += gridmint.MWh(w * 1000 / 60) // mWh a minute
		}
	}
	n.homeStore.mu.Lock()
	n.homeStore.readings[n.local] = rs
	n.homeStore.mu.Unlock()
}

func (n *net) stepTo(at time.Time) {
	n.clock.Set(at)
	for _, s := range n.services {
		s.Step(context.Background())
	}
}

func (n *net) only(s *Service) *test {
	n.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rounds[seedTime.Unix()]
	if r == nil || len(r.Tests) != 1 {
		n.t.Fatalf("round %v: %+v: want one test", seedTime, r)
	}
	return r.Tests[0]
}

// run draws the round and runs it to its evaluation with the battery
// discharging at w during the test.
func (n *net) run(w float64) *test {
	n.t.Helper()
	n.stepTo(seedTime.Add(-time.Minute)) // opens the rounds up to now
	n.heads.seal(seedTime.Add(20 * time.Second))
	n.stepTo(seedTime.Add(OfferCollect))
	tt := n.only(n.home)
	if !tt.Own || len(tt.Steps) != 2 || n.only(n.peer).Own {
		n.t.Fatalf("home test %+v, peer %+v: want the home's own, planned", tt, n.only(n.peer))
	}
	start, end := tt.Test.Start, tt.Test.End
	if start.Before(seedTime.Add(20*time.Second+cfg.Lead)) || end.Sub(start) != 15*time.Minute && end != n.offer.Offer.WindowEnd {
		n.t.Fatalf("test [%v, %v): want within the offer's window, at least the lead after the seed block", start, end)
	}
	n.discharge(w, start.Add(-cfg.PreRoll), end, end.Add(time.Hour))
	n.stepTo(start.Add(-cfg.PreRoll))
	n.stepTo(end)
	n.stepTo(end.Add(Grace))
	n.stepTo(end.Add(Grace + Collect))
	return n.only(n.peer)
}

func TestPassedTestEarnsAvailabilityOnEveryNode(t *testing.T) {
	n := newNet(t)
	got := n.run(3000)
	if got.Outcome != gridmint.TestPassed {
		t.Fatalf("peer's result %+v: want passed", got.TestResult)
	}
	if h := n.only(n.home); h.Outcome != gridmint.TestPassed || h.Evidence != got.Evidence {
		t.Fatalf("home %+v evidence %v, peer evidence %v: want the same result", h.TestResult, h.Evidence, got.Evidence)
	}
	sent := n.mkt.sent
	if len(sent) != 2 || !sent[0].At.Equal(got.Test.Start.Add(-cfg.PreRoll)) || !sent[1].Restore || !sent[1].At.Equal(got.Test.End) {
		t.Fatalf("sent %+v: want the setpoint a pre-roll before the start and the restore at the end", sent)
	}
	hb, pb := n.eng.all(), n.peng.all()
	if len(hb) != 1 || len(pb) != 1 || hb[0].ID() != pb[0].ID() {
		t.Fatalf("home batches %d, peer %d: want one each, the same", len(hb), len(pb))
	}
	rw := pb[0].Reward.Rewards
	want := new(big.Int).Mul(big.NewInt(3), big.NewInt(1e18)) // 3 kW at 1 FLEX/kW
	if len(rw) != 1 || rw[0].Kind != chain.RewardAvailability || rw[0].Provider != n.homeAddr || rw[0].Amount.Cmp(want) != 0 ||
		rw[0].RecordID != common.Hash(flex.AvailabilityRecordID(got.Test.ID)) || rw[0].Evidence != got.Evidence {
		t.Fatalf("rewards %+v: want 3 FLEX of kind availability to the home, its record and evidence", rw)
	}
	if d := n.peer.Derate(n.netDev); d != 1_000_000 {
		t.Fatalf("derate after a pass %d", d)
	}
	views := n.peer.TestRounds()
	if len(views) == 0 || views[0].SeedBlock == nil || *views[0].SeedBlock != 1 || views[0].State != "evaluated" || views[0].Tests[0].Reward != want.String() {
		t.Fatalf("API rounds %+v", views)
	}
}

func TestFailedTestDeratesNotRewarded(t *testing.T) {
	n := newNet(t)
	got := n.run(1000) // a third of the offered power
	if got.Outcome != gridmint.TestFailed || got.Reason != gridmint.FlexUnderDelivered {
		t.Fatalf("result %+v: want failed, under_delivered", got.TestResult)
	}
	if len(n.eng.all())+len(n.peng.all()) != 0 {
		t.Fatal("a failed test was rewarded")
	}
	for _, s := range []*Service{n.home, n.peer} {
		if d := s.Derate(n.netDev); d != 500_000 {
			t.Fatalf("derate %d: want halved", d)
		}
	}
	// The history survives a restart.
	again := n.start(n.homeStore, n.homeAddr, n.eng)
	if d := again.Derate(n.netDev); d != 500_000 {
		t.Fatalf("after a restart: derate %d", d)
	}
}

func TestNoDataFails(t *testing.T) {
	n := newNet(t)
	n.home.o.Publish = nil // the home never gossips its meter
	got := n.run(3000)
	if got.Outcome != gridmint.TestPending {
		t.Fatalf("result %+v: want pending, waiting for the data", got.TestResult)
	}
	n.stepTo(got.Test.End.Add(Grace + Collect + Wait))
	got = n.only(n.peer)
	if got.Outcome != gridmint.TestFailed || got.Reason != gridmint.FlexNoData {
		t.Fatalf("result %+v: want failed, no_data", got.TestResult)
	}
}

func TestRoundWaitsForItsSeedBlock(t *testing.T) {
	n := newNet(t)
	n.stepTo(seedTime.Add(-time.Minute))
	n.stepTo(seedTime.Add(time.Hour)) // no block sealed since
	r := n.peer.TestRounds()
	if len(r) == 0 || r[0].SeedTime != seedTime || r[0].State != "waiting_for_block" || len(r[0].Tests) != 0 {
		t.Fatalf("rounds %+v: want the round waiting", r)
	}
	// Sealed late: the tests start a lead after the block, not the round.
	n.heads.seal(seedTime.Add(time.Hour + 10*time.Second))
	n.stepTo(seedTime.Add(time.Hour + time.Minute))
	r = n.peer.TestRounds()
	if r[0].State != "evaluated" || len(r[0].Tests) != 0 || *r[0].SeedBlock != 1 {
		// The offer's window ended before the block's time + lead.
		t.Fatalf("rounds %+v: want drawn from block 1, nothing testable", r[0])
	}
}

func TestForeignIntervalsIgnored(t *testing.T) {
	n := newNet(t)
	n.stepTo(seedTime.Add(-time.Minute))
	n.heads.seal(seedTime.Add(20 * time.Second))
	n.stepTo(seedTime.Add(OfferCollect))
	tt := n.only(n.peer)
	b := p2p.IntervalEnergy{Device: n.key, Request: gridmint.RequestID(tt.Test.ID), Start: tt.Test.Start, Step: 5 * time.Minute, Energy: []gridmint.MWh{-1}}
	n.peer.HandleMessage(p2p.Message{Author: common.Address{0xee}, Body: b}) // not the provider
	b.Start = tt.Test.Start.Add(-time.Hour)
	n.peer.HandleMessage(p2p.Message{Author: n.homeAddr, Body: b}) // outside the span
	if len(n.peer.intervals) != 0 {
		t.Fatalf("kept %v", n.peer.intervals)
	}
	if _, ok := mvKey(tt.Test.Meter); !ok {
		t.Fatal("meter name not parsed")
	}
}

func mvKey(d gridmint.DeviceID) (string, bool) {
	i := strings.LastIndex(string(d), "/")
	if i < 0 {
		return "", false
	}
	_, err := hex.DecodeString(string(d)[i+1:])
	return string(d)[i+1:], err == nil
}

func TestBudgetIsHalfTheRoundsShareOfTheEpochCap(t *testing.T) {
	n := newNet(t)
	r := &round{SeedTime: seedTime, SeedBlockTime: seedTime}
	got := n.peer.budget(context.Background(), r)
	want := new(big.Int).Div(flex.EpochCap(1), big.NewInt(24)) // 2 h of a day, halved
	if got.Cmp(want) != 0 {
		t.Fatalf("budget %v, want %v", got, want)
	}
}

// TestAwardOverlappingTestVoidsIt: a request signed after the round's
// seed time awards the drawn device in a window overlapping its test.
// Known before the test starts: nothing is sent. Known after the start
// was sent (an event from within the test): the test's restore is
// withdrawn, the event's dispatch has the device. Either way every node
// records the test void (award_overlap, naming the request), nothing is
// metered, rewarded or derated.
func TestAwardOverlappingTestVoidsIt(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(fmt.Sprint("known after the start: ", late), func(t *testing.T) {
			n := newNet(t)
			n.stepTo(seedTime.Add(-time.Minute))
			n.heads.seal(seedTime.Add(20 * time.Second))
			n.stepTo(seedTime.Add(OfferCollect))
			td := n.only(n.home).Test
			aw := gridmint.Award{RequestID: gridmint.RequestID{0xe7}, OfferID: gridmint.OfferID{0xe8}, Provider: n.homeAddr.Hex(), Device: n.netDev,
				Direction: gridmint.DirectionDown, WindowStart: td.Start.Add(-time.Hour), WindowEnd: td.Start.Add(5 * time.Minute), Power: 3000}
			if late {
				aw.WindowStart, aw.WindowEnd = td.Start.Add(5*time.Minute), td.End.Add(time.Hour)
			} else {
				n.mkt.mu.Lock()
				n.mkt.awards = []gridmint.Award{aw}
				n.mkt.mu.Unlock()
			}
			n.discharge(3000, td.Start.Add(-cfg.PreRoll), td.End, td.End.Add(time.Hour))
			n.stepTo(td.Start.Add(-cfg.PreRoll))
			if late {
				n.mkt.mu.Lock()
				n.mkt.awards = []gridmint.Award{aw}
				n.mkt.mu.Unlock()
			}
			n.stepTo(td.End)
			n.stepTo(td.End.Add(Grace))
			n.stepTo(td.End.Add(Grace + Collect))
			wantSent := 0
			if late {
				wantSent = 1
			}
			if len(n.mkt.sent) != wantSent || late && n.mkt.sent[0].Restore {
				t.Fatalf("sent %+v: want %d setpoints, no restore", n.mkt.sent, wantSent)
			}
			for _, s := range []*Service{n.home, n.peer} {
				got := n.only(s)
				if got.Outcome != gridmint.TestVoid || got.Reason != gridmint.FlexAwardOverlap || got.VoidedBy != aw.RequestID || got.Metered {
					t.Fatalf("result %+v voided by %v, metered %v: want void, award_overlap, by the request, not metered", got.TestResult, got.VoidedBy, got.Metered)
				}
				if d := s.Derate(n.netDev); d != 1_000_000 {
					t.Fatalf("derate %d after a void test", d)
				}
				rs := s.TestRounds()
				if rs[0].State != "evaluated" || rs[0].Batch != nil || rs[0].Tests[0].VoidedBy == nil || *rs[0].Tests[0].VoidedBy != aw.RequestID {
					t.Fatalf("round %+v: want evaluated, no reward batch, the test shown voided by the request", rs[0])
				}
			}
			home := n.only(n.home)
			withdrawn := home.Steps[len(home.Steps)-1]
			if withdrawn.Sent || !strings.HasPrefix(withdrawn.Reason, string(gridmint.FlexAwardOverlap)) {
				t.Fatalf("last step %+v: want withdrawn, naming award_overlap", withdrawn)
			}
			if len(n.eng.all())+len(n.peng.all()) != 0 {
				t.Fatal("a void test was rewarded")
			}
		})
	}
}
