package node

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/prometheus/client_golang/prometheus"
)

// claimTestStore is settle.MemStore with readings.
type claimTestStore struct {
	*settle.MemStore
	readings []gridmint.Reading
}

func (s *claimTestStore) Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error) {
	var out []gridmint.Reading
	for _, r := range s.readings {
		if r.Device == id && !r.Time.Before(from) && r.Time.Before(to) {
			out = append(out, r)
		}
	}
	return out, nil
}

// fakeClaimEngine records what the service hands the settlement engine.
type fakeClaimEngine struct {
	mu       sync.Mutex
	attested []settle.Batch
	proposed []settle.Batch
	settled  map[common.Hash]bool
}

func (e *fakeClaimEngine) Attest(_ context.Context, b settle.Batch) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attested = append(e.attested, b)
	return nil
}

func (e *fakeClaimEngine) Propose(b settle.Batch) (common.Hash, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.proposed = append(e.proposed, b)
	return b.ID(), nil
}

func (e *fakeClaimEngine) Lookup(id common.Hash) (settle.Status, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.settled[id] {
		tx := common.Hash{0xee}
		return settle.Status{ID: id, State: settle.StateSettled, Tx: &tx}, true
	}
	return settle.Status{ID: id, State: settle.StateCollecting}, true
}

var (
	claimSelf  = gridmint.Address{0x01}
	claimNodeA = gridmint.Address{0x0a}
	claimNodeB = gridmint.Address{0x0b}
	// Berlin, midsummer noon: 480 Wh from an 800 W inverter is plausible.
	claimHour = gridmint.HourOf(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC))
)

// testClaim is a claim of node for device dev at hour h: 40 Wh every
// five minutes, from counter start.
func testClaim(node gridmint.Address, dev byte, h gridmint.Hour, start gridmint.MWh) gridmint.Claim {
	c := gridmint.Claim{Device: gridmint.DeviceKey{dev}, Node: node, Owner: node, Zone: "DE-LU", Technology: gridmint.TechnologySolarPV,
		Hour: h, CounterStart: start, Quality: gridmint.QualityOK, Readings: 13, ReadingsRoot: gridmint.Hash{dev, byte(h)},
		Nameplate: 800, Location: gridmint.CoarseLocation{LatTenths: 525, LonTenths: 134}}
	for i := range c.Profile {
		c.Profile[i] = 40_000
	}
	c.CounterEnd = start + c.Profile.Sum()
	c.Wh = gridmint.Wh(c.Energy() / 1000)
	return c
}

func claimMessage(c gridmint.Claim) p2p.Message {
	return p2p.Message{Kind: p2p.KindRECClaim, Body: p2p.RECClaim(c), ID: common.Hash{byte(c.Hour), c.Device[0], byte(c.Wh)}}
}

func newTestClaimService(t *testing.T, store *claimTestStore, clock gridmint.Clock, eng *fakeClaimEngine, home bool) *claimService {
	t.Helper()
	cfg := ClaimsConfig{}
	cfg.applyDefaults()
	set := chain.AttestorSet{Attestors: []common.Address{common.Address(claimSelf), common.Address(claimNodeA), common.Address(claimNodeB)}, Threshold: 2}
	s, err := newClaimService(&claimService{
		cfg: cfg, log: testLogger(), clock: clock, self: claimSelf, home: home,
		key:     func(id gridmint.DeviceID) gridmint.DeviceKey { return gridmint.DeviceKey{0x99, byte(len(id))} },
		devices: func() []gridmint.Device { return nil },
		store:   store,
		publish: func(ctx context.Context, b p2p.Body) (p2p.Message, error) {
			return p2p.Message{Kind: b.Kind(), Body: b}, nil
		},
		engine:    eng,
		attestors: func() chain.AttestorSet { return set },
		nextHour:  func(context.Context, gridmint.DeviceKey) (gridmint.Hour, error) { return 0, nil },
		m:         newClaimMetrics(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claimStatus(s *claimService) map[string]string {
	out := map[string]string{}
	for _, v := range s.Claims("", 0) {
		k := v.Claim.Device.String()[:4] + "@" + v.Claim.Hour.String() + "/" + v.Claim.Node.String()[:4]
		st := v.Status
		for _, f := range v.Findings {
			st += " " + f.Reason
		}
		if old, ok := out[k]; ok {
			st = old + " | " + st
		}
		out[k] = st
	}
	return out
}

// TestClaimServiceRefusesAndAttests drives one node's claim cycle with
// gossiped claims: a good claim is attested in its node's batch once the
// hour's collection window closed, and issued when the batch settles; a
// claim for a device another node claimed first, two different claims for
// one hour, and a claim past the late limit are refused with their
// reasons, counted per reason, and the statuses survive a restart.
func TestClaimServiceRefusesAndAttests(t *testing.T) {
	clock := fakeclock.New(claimHour.End().Add(time.Minute))
	store := &claimTestStore{MemStore: settle.NewMemStore()}
	eng := &fakeClaimEngine{settled: map[common.Hash]bool{}}
	s := newTestClaimService(t, store, clock, eng, false)

	good := testClaim(claimNodeA, 1, claimHour, 0)
	s.handle(claimMessage(good))
	s.handle(claimMessage(good))                                   // the same message again: nothing new
	s.handle(claimMessage(testClaim(claimNodeB, 1, claimHour, 0))) // device 1 is node A's
	first := testClaim(claimNodeA, 2, claimHour, 0)
	second := testClaim(claimNodeA, 2, claimHour, 5_000)
	s.handle(claimMessage(first))
	s.handle(claimMessage(second))
	late := testClaim(claimNodeA, 3, claimHour-7, 0) // ended 7 h ago: over the 6 h late limit
	s.handle(claimMessage(late))

	s.step(t.Context()) // inside the collection window: only the refusals known at once
	if got := claimStatus(s); !strings.HasPrefix(got[good.Device.String()[:4]+"@"+claimHour.String()+"/"+claimNodeA.String()[:4]], "pending") {
		t.Fatalf("before the window closed: %v", got)
	}
	clock.Add(10 * time.Minute)
	s.step(t.Context())
	got := claimStatus(s)
	want := map[string]string{
		"0x01@" + claimHour.String() + "/0x0a":       "attested",
		"0x01@" + claimHour.String() + "/0x0b":       "refused foreign_device",
		"0x02@" + claimHour.String() + "/0x0a":       "refused equivocation | refused equivocation",
		"0x03@" + (claimHour - 7).String() + "/0x0a": "refused too_late",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if len(eng.attested) != 1 || eng.attested[0].Issue == nil || len(eng.attested[0].Issue.Claims) != 1 ||
		eng.attested[0].Issue.Claims[0].Wh != uint64(good.Wh) || len(eng.proposed) != 0 {
		t.Fatalf("attested %+v, proposed %+v; want one batch of the good claim", eng.attested, eng.proposed)
	}
	for reason, n := range map[string]float64{"foreign_device": 1, "equivocation": 2, "too_late": 1, "copied_profile": 0} {
		if c := counterValue(s.m.refused.WithLabelValues(reason)); c != n {
			t.Errorf("refused{%s} = %v, want %v", reason, c, n)
		}
	}
	if c := counterValue(s.m.equivocations); c != 1 {
		t.Errorf("equivocations = %v, want 1", c)
	}

	eng.settled[eng.attested[0].ID()] = true
	s.step(t.Context())
	if st := claimStatus(s)["0x01@"+claimHour.String()+"/0x0a"]; st != "issued" {
		t.Errorf("after the batch settled: %q, want issued", st)
	}

	// A restart keeps every status, and the checker's history: the next
	// hour of device 1 continues its chain, a claim starting elsewhere
	// breaks it.
	s2 := newTestClaimService(t, store, clock, eng, false)
	if before, after := got, claimStatus(s2); after["0x02@"+claimHour.String()+"/0x0a"] != before["0x02@"+claimHour.String()+"/0x0a"] ||
		after["0x01@"+claimHour.String()+"/0x0a"] != "issued" {
		t.Errorf("after a restart: %v, before %v", after, before)
	}
	next := testClaim(claimNodeA, 1, claimHour+1, good.CounterEnd)
	broken := testClaim(claimNodeA, 4, claimHour+1, 0)
	s2.handle(claimMessage(next))
	s2.handle(claimMessage(broken))
	clock.Add(time.Hour)
	s2.step(t.Context())
	if st := claimStatus(s2)["0x01@"+(claimHour+1).String()+"/0x0a"]; st != "attested" {
		t.Errorf("the next hour after a restart: %q, want attested", st)
	}
	if len(eng.attested) != 2 {
		t.Errorf("%d batches attested, want 2", len(eng.attested))
	}
}

// TestClaimServiceBuildsAndResumes: a home node builds each PV inverter's
// closed hours from stored readings after the grace period, gossips one
// claim per hour, keeps the builder's state, and after a restart
// continues the device's chain (the next claim starts where the last
// ended) without claiming an hour again.
func TestClaimServiceBuildsAndResumes(t *testing.T) {
	start := claimHour.Start().Add(-30 * time.Minute)
	clock := fakeclock.New(start)
	store := &claimTestStore{MemStore: settle.NewMemStore()}
	eng := &fakeClaimEngine{settled: map[common.Hash]bool{}}
	id := gridmint.DeviceID("0xabc/opendtu/1")
	dev := gridmint.Device{ID: id, Kind: gridmint.KindPVInverter, Zone: "DE-LU", Nameplate: 800, Location: &gridmint.Location{Lat: 52.5, Lon: 13.4}}
	var published []gridmint.Claim
	var mu sync.Mutex
	mk := func() *claimService {
		s := newTestClaimService(t, store, clock, eng, true)
		s.devices = func() []gridmint.Device { return []gridmint.Device{dev} }
		s.publish = func(ctx context.Context, b p2p.Body) (p2p.Message, error) {
			mu.Lock()
			defer mu.Unlock()
			published = append(published, gridmint.Claim(b.(p2p.RECClaim)))
			return p2p.Message{Kind: b.Kind(), Body: b}, nil
		}
		return s
	}
	// A reading every 5 min at 400 W (33.333 Wh per 5 min) from 10:30.
	add := func(until time.Time) {
		for t0 := start.Add(time.Duration(len(store.readings)) * 5 * time.Minute); !t0.After(until); t0 = t0.Add(5 * time.Minute) {
			n := len(store.readings)
			store.readings = append(store.readings, gridmint.Reading{Device: id, Time: t0, Fields: gridmint.FieldEnergy | gridmint.FieldPower,
				Energy: gridmint.MWh(n) * 33_333, Power: 400, Quality: gridmint.QualityOK})
		}
	}
	s := mk()
	add(claimHour.End().Add(10 * time.Minute))
	clock.Set(claimHour.End().Add(4 * time.Minute)) // inside the grace: not yet
	s.step(t.Context())
	if len(published) != 0 {
		t.Fatalf("claimed inside the grace period: %+v", published)
	}
	clock.Set(claimHour.End().Add(6 * time.Minute))
	s.step(t.Context())
	if len(published) != 1 || published[0].Hour != claimHour || published[0].Wh != 399 || published[0].Owner != claimSelf {
		t.Fatalf("published %+v, want the hour %s: 399 Wh (12 × 33.333 Wh, rounded down), owned by the node", published, claimHour)
	}
	// A restart: the kept state continues the chain.
	s2 := mk()
	add(claimHour.End().Add(70 * time.Minute))
	clock.Set(claimHour.End().Add(66 * time.Minute))
	s2.step(t.Context())
	if len(published) != 2 || published[1].Hour != claimHour+1 || published[1].CounterStart != published[0].CounterEnd ||
		published[1].CarryIn != published[0].CarryOut() {
		t.Fatalf("after a restart: %+v; want the next hour continuing the chain", published)
	}
	s2.step(t.Context())
	if len(published) != 2 {
		t.Errorf("an hour claimed twice: %+v", published)
	}
}

func counterValue(c prometheus.Counter) float64 {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return -1
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		return -1
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}

// TestClaimServiceActsOnLaterFindings: a device whose claim is impossible
// (more than its nameplate allows in an hour of quality ok) is suspended
// by rec's Checker, and its earlier hours are found refused too
// (rec.Report.Later). With claims.hold, the earlier hour that passed is
// still held: it is refused and never attested, counted as withheld per
// reason, and the API shows the finding. Without a hold it was attested
// already: it keeps its status, shows the finding and is counted as
// attested.
func TestClaimServiceActsOnLaterFindings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hold    time.Duration
		status  string // of the earlier hour after the finding
		outcome string
		batches int // attested batches of the earlier hour
	}{
		{"hold 2h", 2 * time.Hour, ClaimRefused, laterWithheld, 0},
		{"no hold", 0, ClaimAttested, laterAttested, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New(claimHour.End().Add(time.Minute))
			store := &claimTestStore{MemStore: settle.NewMemStore()}
			eng := &fakeClaimEngine{settled: map[common.Hash]bool{}}
			s := newTestClaimService(t, store, clock, eng, false)
			s.cfg.Hold = tc.hold
			if err := s.cfg.validate(); err != nil {
				t.Fatal(err)
			}

			good := testClaim(claimNodeA, 1, claimHour, 0)
			s.handle(claimMessage(good))
			clock.Add(10 * time.Minute)
			s.step(t.Context())
			key := "0x01@" + claimHour.String() + "/0x0a"
			wantFirst := ClaimAttested
			if tc.hold > 0 {
				wantFirst = ClaimPending
			}
			if st := claimStatus(s)[key]; st != wantFirst {
				t.Fatalf("the good hour after its check: %q, want %q", st, wantFirst)
			}

			// The next hour: 90 Wh every five minutes from an 800 W
			// inverter, 1,080 Wh, over 800 W × 1 h × 1.1.
			bad := testClaim(claimNodeA, 1, claimHour+1, good.CounterEnd)
			for i := range bad.Profile {
				bad.Profile[i] = 90_000
			}
			bad.CounterEnd = bad.CounterStart + bad.Profile.Sum()
			bad.Wh = gridmint.Wh(bad.Energy() / 1000)
			s.handle(claimMessage(bad))
			clock.Add(time.Hour)
			s.step(t.Context())
			clock.Add(2 * time.Hour) // past the hold
			s.step(t.Context())

			got := claimStatus(s)
			if w := tc.status + " nameplate_exceeded"; got[key] != w {
				t.Errorf("the earlier hour: %q, want %q", got[key], w)
			}
			if st := got["0x01@"+(claimHour+1).String()+"/0x0a"]; !strings.HasPrefix(st, "refused nameplate_exceeded") {
				t.Errorf("the impossible hour: %q", st)
			}
			if n := len(eng.attested); n != tc.batches {
				t.Errorf("%d batches attested, want %d", n, tc.batches)
			}
			if c := counterValue(s.m.later.WithLabelValues("nameplate_exceeded", tc.outcome)); c != 1 {
				t.Errorf("found_later{nameplate_exceeded,%s} = %v, want 1", tc.outcome, c)
			}
			for _, v := range s.Claims("", 0) {
				if v.Claim.Hour == claimHour && (len(v.Findings) != 1 || !strings.HasPrefix(v.Findings[0].Detail, "found later: device suspended")) {
					t.Errorf("the earlier hour's findings in the API: %+v", v.Findings)
				}
			}
			// A restart keeps the verdict: nothing held is attested.
			s2 := newTestClaimService(t, store, clock, eng, false)
			s2.cfg.Hold = tc.hold
			s2.step(t.Context())
			if n := len(eng.attested); n != tc.batches {
				t.Errorf("after a restart: %d batches attested, want %d", n, tc.batches)
			}
		})
	}
}
