package pof

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/market/mv"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// Market is what the service needs of node/market.
type Market interface {
	TestCandidates(seedTime time.Time) ([]flex.SignedOffer, map[gridmint.OfferID]bool)
	PlanTest(t gridmint.TestDispatch) ([]flex.Step, gridmint.DeviceID, error)
	SendStep(ctx context.Context, st flex.Step) (cmd string, reason string)
	ScheduleFor(offer gridmint.OfferID, provider common.Address) (market.SignedSchedule, bool)
	// AwardsOf are the awards of every clearing held to a device (its
	// network name): those overlapping a test void it (flex.VoidTest).
	AwardsOf(device gridmint.DeviceID) []gridmint.Award
}

// Store is what the service keeps and reads (node/store.Store).
type Store interface {
	PutSettle(key string, value []byte) error
	DeleteSettle(keys []string) error
	ScanSettle(prefix string, fn func(key string, value []byte) error) error
	Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error)
}

// Engine is the settlement engine (node/settle).
type Engine interface {
	Attest(ctx context.Context, b settle.Batch) error
	Propose(b settle.Batch) (common.Hash, error)
	Lookup(id common.Hash) (settle.Status, bool)
}

// Timing of measurement, node time (as node/market/mv's for awards).
const (
	// Grace after a test's end (or the end of the data its baseline
	// needs) before the home meters it: late readings.
	Grace = 5 * time.Minute
	// Collect after metering before every node evaluates.
	Collect = 5 * time.Minute
	// Wait more for intervals still missing before evaluating without
	// them.
	Wait = 25 * time.Minute
	// OfferCollect after a round's seed time before it is drawn: offers
	// signed just before the seed time are still in flight.
	OfferCollect = time.Minute
	// Retention: rounds (the test history that derates devices and
	// spaces their tests a week apart) are kept this long.
	Retention = 30 * 24 * time.Hour
)

// Options are the service's parts. Clock, Store, Market and Heads are
// required; a nil Publish meters nothing, a nil Engine settles nothing.
type Options struct {
	Config market.TestsConfig
	Self   common.Address
	Clock  gridmint.Clock
	Log    *slog.Logger
	Store  Store
	Market Market
	// Heads reads the chain's blocks: the seeds. Confirmations is how
	// many blocks must be on top of a seed block.
	Heads         chain.Heads
	Confirmations uint64
	// Genesis is the FLEX contract's genesis (chain.Client.FLEXGenesis),
	// read once: the epoch of the emission cap. nil: epoch 0.
	Genesis func(ctx context.Context) (time.Time, error)
	// Devices are this node's devices (kind, for the sign of energy);
	// Key is its device key of one.
	Devices func() []gridmint.Device
	Key     func(gridmint.DeviceID) gridmint.DeviceKey
	Publish func(ctx context.Context, b p2p.Body) (p2p.Message, error)
	Engine  Engine
	// IsAttestor reports whether this node's signature counts; nil: it
	// does.
	IsAttestor func() bool
	// Exemptions are the opt-outs and grid limits known; nil: none.
	Exemptions func() []gridmint.FlexExemption
	Metrics    *Metrics
}

// Service draws, dispatches, measures and rewards proof-of-flexibility
// tests. Safe for concurrent use.
type Service struct {
	o   Options
	cfg market.TestsConfig
	p   flex.TestParams
	log *slog.Logger
	m   *Metrics

	mu        sync.Mutex
	rounds    map[int64]*round // by seed time, Unix s
	cursor    time.Time        // next round to create
	hint      uint64           // a block before every pending round's seed
	genesis   *time.Time
	intervals map[gridmint.TestID]map[source]*mv.Received
}

type source struct {
	Author common.Address
	Device gridmint.DeviceKey
}

// round is one selection and what became of it; kept as JSON.
type round struct {
	V             int         `json:"v"`
	SeedTime      time.Time   `json:"seed_time"`
	Selected      bool        `json:"selected,omitempty"`
	SeedBlock     uint64      `json:"seed_block,omitempty"`
	SeedHash      common.Hash `json:"seed_hash,omitzero"`
	SeedBlockTime time.Time   `json:"seed_block_time,omitzero"`
	Earliest      time.Time   `json:"earliest,omitzero"`
	Offers        int         `json:"offers,omitempty"`
	Skipped       int         `json:"skipped,omitempty"`
	Tests         []*test     `json:"tests,omitempty"`
	Evaluated     bool        `json:"evaluated,omitempty"`
	Budget        *big.Int    `json:"budget,omitempty"`
	Batch         common.Hash `json:"batch,omitzero"`
	Settled       bool        `json:"settled,omitempty"`
}

// test is one drawn test.
type test struct {
	gridmint.TestResult
	Own         bool              `json:"own,omitempty"`
	Local       gridmint.DeviceID `json:"local,omitempty"`
	PlanReason  string            `json:"plan_reason,omitempty"`
	Steps       []step            `json:"steps,omitempty"`
	Metered     bool              `json:"metered,omitempty"`
	BaselineMWh *gridmint.MWh     `json:"baseline_mwh,omitempty"`
	MeteredMWh  *gridmint.MWh     `json:"metered_mwh,omitempty"`
	BaselineErr string            `json:"baseline_error,omitempty"`
	Evidence    common.Hash       `json:"evidence,omitzero"`
	Reward      *big.Int          `json:"reward,omitempty"`
	// VoidedBy is the request whose award of the device overlaps the
	// test (outcome void).
	VoidedBy gridmint.RequestID `json:"voided_by,omitzero"`
}

type step struct {
	flex.Step
	Sent    bool      `json:"sent,omitempty"`
	SentAt  time.Time `json:"sent_at,omitzero"`
	Command string    `json:"command,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

// Store keys (settlement namespace).
const (
	roundPrefix    = "pofr/"
	intervalPrefix = "pofi/"
	cursorKey      = "pofc"
)

func roundKey(t time.Time) string { return fmt.Sprintf("%s%020d", roundPrefix, t.Unix()) }

// New returns a service over what its store keeps.
func New(o Options) (*Service, error) {
	if o.Clock == nil || o.Store == nil || o.Market == nil || o.Heads == nil {
		return nil, gridmint.Errorf(gridmint.EInvalid, "pof: Clock, Store, Market and Heads are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Devices == nil {
		o.Devices = func() []gridmint.Device { return nil }
	}
	p := flex.DefaultTestParams()
	p.Share, p.Duration = o.Config.SharePPM, o.Config.Duration
	s := &Service{o: o, cfg: o.Config, p: p, log: o.Log, m: o.Metrics, rounds: map[int64]*round{},
		intervals: map[gridmint.TestID]map[source]*mv.Received{}}
	err := o.Store.ScanSettle(roundPrefix, func(_ string, v []byte) error {
		var r round
		if err := json.Unmarshal(v, &r); err != nil {
			s.log.Warn("pof: stored round not read", "err", err)
			return nil
		}
		s.rounds[r.SeedTime.Unix()] = &r
		if r.Selected && r.SeedBlock > s.hint {
			s.hint = r.SeedBlock
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = o.Store.ScanSettle(cursorKey, func(_ string, v []byte) error {
		return s.cursor.UnmarshalText(v)
	})
	if err != nil {
		return nil, err
	}
	err = o.Store.ScanSettle(intervalPrefix, func(_ string, v []byte) error {
		var si storedInterval
		if json.Unmarshal(v, &si) == nil {
			s.addLocked(si.Author, si.Body)
		}
		return nil
	})
	return s, err
}

// Metrics returns the service's counters.
func (s *Service) Metrics() *Metrics { return s.m }

// Run steps every tick of wall time until ctx ends.
func (s *Service) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		s.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// roundAt is the seed time of the round in progress at now: the last
// multiple of Every since the Unix epoch.
func (s *Service) roundAt(now time.Time) time.Time {
	e := int64(s.cfg.Every / time.Second)
	u := now.Unix()
	return time.Unix(u-((u%e)+e)%e, 0).UTC()
}

// Step does what is due: open rounds, draw them, send setpoints, meter,
// evaluate and settle, prune.
func (s *Service) Step(ctx context.Context) {
	now := s.o.Clock.Now()
	s.openRounds(now)
	s.draw(ctx, now)
	s.send(ctx)
	s.meter(ctx)
	s.evaluate(ctx)
	s.follow()
	s.prune(now)
}

// openRounds creates the round of every seed time reached since the
// last; a node that was down for rounds starts from the current one (it
// cannot draw the same tests for offers it has pruned since).
func (s *Service) openRounds(now time.Time) {
	cur := s.roundAt(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cursor.IsZero() || s.cursor.Before(cur) {
		s.cursor = cur
	}
	changed := false
	for !s.cursor.After(now) {
		if _, ok := s.rounds[s.cursor.Unix()]; !ok {
			r := &round{V: 1, SeedTime: s.cursor}
			s.rounds[s.cursor.Unix()] = r
			s.saveLocked(r)
			s.m.rounds.Inc()
		}
		s.cursor = s.cursor.Add(s.cfg.Every)
		changed = true
	}
	if changed {
		v, _ := s.cursor.MarshalText()
		if err := s.o.Store.PutSettle(cursorKey, v); err != nil {
			s.log.Warn("pof: keep the round cursor", "err", err)
		}
	}
}

func (s *Service) saveLocked(r *round) {
	v, err := json.Marshal(r)
	if err == nil {
		err = s.o.Store.PutSettle(roundKey(r.SeedTime), v)
	}
	if err != nil {
		s.log.Warn("pof: keep a round", "seed_time", r.SeedTime, "err", err)
	}
}

// historyLocked is every test held, as the selection and derating read
// it.
func (s *Service) historyLocked() []gridmint.TestResult {
	var out []gridmint.TestResult
	for _, r := range s.rounds {
		for _, t := range r.Tests {
			out = append(out, t.TestResult)
		}
	}
	return out
}

// draw selects the tests of every round whose seed block is there.
func (s *Service) draw(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var due []*round
	for _, r := range s.rounds {
		if !r.Selected && !now.Before(r.SeedTime.Add(OfferCollect)) {
			due = append(due, r)
		}
	}
	hint := s.hint
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b *round) int { return a.SeedTime.Compare(b.SeedTime) })
	for _, r := range due {
		b, ok, err := chain.FirstBlockAt(ctx, s.o.Heads, r.SeedTime, s.o.Confirmations, hint)
		if err != nil {
			s.log.Warn("pof: reading the seed block", "seed_time", r.SeedTime, "err", err)
			return
		}
		if !ok {
			return // later rounds' blocks come later still
		}
		hint = b.Number
		s.selectRound(r, b)
	}
}

// selectRound draws a round's tests from its seed block and plans the
// dispatch of this node's own tested devices.
func (s *Service) selectRound(r *round, b chain.Block) {
	offers, skip := s.o.Market.TestCandidates(r.SeedTime)
	earliest := b.Time.Add(s.cfg.Lead)
	s.mu.Lock()
	history := s.historyLocked()
	s.mu.Unlock()
	drawn := flex.SelectTests([32]byte(b.Hash), r.SeedTime, offers, skip, history, earliest, s.p)
	var tests []*test
	for _, d := range drawn {
		t := &test{TestResult: gridmint.TestResult{Test: d, Outcome: gridmint.TestPending}}
		if common.IsHexAddress(d.Provider) && common.HexToAddress(d.Provider) == s.o.Self {
			t.Own = true
			steps, local, err := s.o.Market.PlanTest(d)
			t.Local = local
			if err != nil {
				t.PlanReason = err.Error()
				s.m.refused.WithLabelValues(string(flex.Reason(err))).Inc()
				s.log.Warn("pof: test of an own device not dispatched", "test", d.ID, "device", d.Device, "err", err)
			}
			for _, st := range steps {
				if !st.Restore {
					st.At = st.At.Add(-s.cfg.PreRoll)
				}
				t.Steps = append(t.Steps, step{Step: st})
			}
		}
		tests = append(tests, t)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Selected, r.SeedBlock, r.SeedHash, r.SeedBlockTime, r.Earliest = true, b.Number, b.Hash, b.Time, earliest
	r.Offers, r.Tests = len(offers), tests
	for _, o := range offers {
		if skip[o.ID] {
			r.Skipped++
		}
	}
	if b.Number > s.hint {
		s.hint = b.Number
	}
	s.saveLocked(r)
	s.m.tests.WithLabelValues(string(gridmint.TestPending)).Add(float64(len(tests)))
	s.log.Info("pof: tests drawn", "seed_time", r.SeedTime, "block", b.Number, "seed", b.Hash, "offers", len(offers), "skipped", r.Skipped, "tests", len(tests))
}

// send sends the due setpoints of own tests: the start at the test's
// start (not after its end), the restore at its end.
func (s *Service) send(ctx context.Context) {
	now := s.o.Clock.Now()
	type due struct {
		r *round
		t *test
		i int
	}
	var todo []due
	s.mu.Lock()
	for _, r := range s.rounds {
		for _, t := range r.Tests {
			for i := range t.Steps {
				st := &t.Steps[i]
				if st.Sent || st.Reason != "" || st.At.After(now) {
					continue
				}
				if !st.Restore && !now.Before(t.Test.End) {
					st.Reason = "test ended before it could be sent"
					s.saveLocked(r)
					continue
				}
				todo = append(todo, due{r, t, i})
			}
		}
	}
	s.mu.Unlock()
	for _, d := range todo {
		if s.voided(d.r, d.t) {
			continue // its setpoints are withdrawn: the event's dispatch has the device
		}
		s.mu.Lock()
		st := d.t.Steps[d.i].Step
		s.mu.Unlock()
		cmd, reason := s.o.Market.SendStep(ctx, st)
		at := s.o.Clock.Now()
		s.mu.Lock()
		p := &d.t.Steps[d.i]
		p.Command, p.Reason = cmd, reason
		if cmd != "" {
			p.Sent, p.SentAt = true, at
			s.m.setpoints.WithLabelValues("sent").Inc()
		} else {
			s.m.setpoints.WithLabelValues("refused").Inc()
			s.log.Warn("pof: test setpoint not sent", "test", d.t.Test.ID, "device", st.Setpoint.Device, "reason", reason)
		}
		s.saveLocked(d.r)
		s.mu.Unlock()
	}
}

// voided checks a pending test against the awards the market holds
// (flex.VoidTest) and marks it void once: outcome void, reason
// award_overlap, its setpoints not yet sent withdrawn (a start already
// sent is not restored by the test: the event's dispatch takes the
// device over within the test and restores it at its own end). Every
// node applies it to every test of a round before evaluating it, so
// nodes that hold the same clearings agree. An evaluated test stands.
func (s *Service) voided(r *round, t *test) bool {
	s.mu.Lock()
	out, td := t.Outcome, t.Test
	s.mu.Unlock()
	if out != gridmint.TestPending {
		return out == gridmint.TestVoid
	}
	a, void := flex.VoidTest(td, s.o.Market.AwardsOf(td.Device))
	if !void {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Outcome != gridmint.TestPending {
		return t.Outcome == gridmint.TestVoid
	}
	t.TestResult, t.VoidedBy = flex.VoidResult(td), a.RequestID
	for i := range t.Steps {
		if st := &t.Steps[i]; !st.Sent && st.Reason == "" {
			st.Reason = fmt.Sprintf("%s: withdrawn, request %s awards the device in [%s, %s)", gridmint.FlexAwardOverlap, a.RequestID,
				a.WindowStart.UTC().Format(time.RFC3339), a.WindowEnd.UTC().Format(time.RFC3339))
			s.m.setpoints.WithLabelValues("withdrawn").Inc()
		}
	}
	s.saveLocked(r)
	s.m.tests.WithLabelValues(string(gridmint.TestVoid)).Inc()
	s.log.Info("pof: test void, an award of its device overlaps it", "test", td.ID, "device", td.Device, "request", a.RequestID)
	return true
}

// meter gossips the interval energy of own tested devices' meters over
// what their baselines need, once it is all there.
func (s *Service) meter(ctx context.Context) {
	if s.o.Publish == nil || s.o.Key == nil {
		return
	}
	now := s.o.Clock.Now()
	type due struct {
		r *round
		t *test
	}
	var todo []due
	s.mu.Lock()
	for _, r := range s.rounds {
		for _, t := range r.Tests {
			if !t.Own || t.Metered || t.Local == "" || t.Outcome == gridmint.TestVoid {
				continue
			}
			if _, to := mv.Lookback(t.Test.Baseline, t.Test.Start, t.Test.End); !now.Before(to.Add(Grace)) {
				todo = append(todo, due{r, t})
			}
		}
	}
	s.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	kinds := map[gridmint.DeviceID]gridmint.DeviceKind{}
	for _, d := range s.o.Devices() {
		kinds[d.ID] = d.Kind
	}
	for _, d := range todo {
		if s.voided(d.r, d.t) {
			continue // not run: nothing to measure
		}
		meter, ok := s.meterOf(d.t)
		if !ok {
			s.m.refused.WithLabelValues(string(gridmint.FlexUnknownDevice)).Inc()
			s.log.Warn("pof: meter of record not one of this node's devices", "test", d.t.Test.ID, "meter", d.t.Test.Meter)
			s.markMetered(d.r, d.t)
			continue
		}
		key := s.o.Key(meter)
		from, to := mv.Lookback(d.t.Test.Baseline, d.t.Test.Start, d.t.Test.End)
		rs, err := s.readings(meter, from.Add(-mv.MaxGap), to.Add(mv.MaxGap+time.Millisecond))
		if err != nil {
			s.log.Warn("pof: readings", "device", meter, "err", err)
			continue
		}
		series := mv.Meter(kinds[meter], rs, from, to)
		ok = true
		for _, run := range mv.Runs(series, p2p.MaxIntervalSteps) {
			b := p2p.IntervalEnergy{Device: key, Request: gridmint.RequestID(d.t.Test.ID), Start: run.Start, Step: run.Step, Energy: run.Energy}
			if _, err := s.o.Publish(ctx, b); err != nil && gridmint.ErrorCode(err) != gridmint.EConflict {
				s.log.Warn("pof: gossip intervals", "device", meter, "err", err)
				ok = false
				break
			}
			s.m.intervalsSent.Inc()
		}
		if ok {
			s.markMetered(d.r, d.t)
			s.log.Info("pof: test intervals gossiped", "test", d.t.Test.ID, "device", meter)
		}
	}
}

func (s *Service) markMetered(r *round, t *test) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Metered = true
	s.saveLocked(r)
}

// meterOf is the own DeviceID of a test's meter of record.
func (s *Service) meterOf(t *test) (gridmint.DeviceID, bool) {
	if t.Test.Meter == "" || t.Test.Meter == t.Test.Device {
		return t.Local, true
	}
	for _, d := range s.o.Devices() {
		if s.o.Key(d.ID).String() == string(t.Test.Meter) {
			return d.ID, true
		}
		if k, ok := mv.KeyOf(t.Test.Meter); ok && s.o.Key(d.ID) == k {
			return d.ID, true
		}
	}
	return "", false
}

func (s *Service) readings(id gridmint.DeviceID, from, to time.Time) ([]gridmint.Reading, error) {
	return mv.ReadingsBetween(s.o.Store, id, from, to)
}

// storedInterval is a received interval message as kept.
type storedInterval struct {
	Author common.Address     `json:"author"`
	Body   p2p.IntervalEnergy `json:"body"`
}

// HandleMessage takes an accepted gossip message; only interval energy
// naming a held test (its Request is the test id) is kept, signed by the
// test's provider for its meter and within the span its baseline needs.
func (s *Service) HandleMessage(m p2p.Message) {
	b, ok := m.Body.(p2p.IntervalEnergy)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.testLocked(gridmint.TestID(b.Request))
	if t == nil {
		return // an award's intervals (node/market/mv), or a test not drawn here
	}
	key, kok := mv.KeyOf(t.Test.Meter)
	switch {
	case !kok || key != b.Device || !common.IsHexAddress(t.Test.Provider) || common.HexToAddress(t.Test.Provider) != m.Author:
		s.m.intervalsIgnored.WithLabelValues("not_tested").Inc()
		return
	}
	from, to := mv.Lookback(t.Test.Baseline, t.Test.Start, t.Test.End)
	if b.Start.Before(from) || b.End().After(to) {
		s.m.intervalsIgnored.WithLabelValues("outside_span").Inc()
		return
	}
	s.m.intervalsReceived.Inc()
	if !s.addLocked(m.Author, b) {
		return
	}
	v, err := json.Marshal(storedInterval{Author: m.Author, Body: b})
	if err == nil {
		err = s.o.Store.PutSettle(fmt.Sprintf("%s%s/%s/%s/%020d", intervalPrefix, b.Request, m.Author.Hex(), b.Device, b.Start.Unix()), v)
	}
	if err != nil {
		s.log.Warn("pof: keep intervals", "err", err)
	}
}

func (s *Service) testLocked(id gridmint.TestID) *test {
	for _, r := range s.rounds {
		for _, t := range r.Tests {
			if t.Test.ID == id {
				return t
			}
		}
	}
	return nil
}

// addLocked adds a message's steps; the first value of a step stands.
func (s *Service) addLocked(author common.Address, b p2p.IntervalEnergy) bool {
	id := gridmint.TestID(b.Request)
	by := s.intervals[id]
	if by == nil {
		by = map[source]*mv.Received{}
		s.intervals[id] = by
	}
	src := source{author, b.Device}
	r := by[src]
	if r == nil {
		r = mv.NewReceived(b.Step)
		by[src] = r
	}
	added, conflicts := r.Add(b.Start, b.Step, b.Energy)
	s.m.intervalConflicts.Add(float64(conflicts))
	return added
}

// seriesLocked is what was received of a test's meter over its span.
func (s *Service) seriesLocked(t *test) (flex.Series, bool) {
	key, ok := mv.KeyOf(t.Test.Meter)
	if !ok || !common.IsHexAddress(t.Test.Provider) {
		return flex.Series{}, false
	}
	from, to := mv.Lookback(t.Test.Baseline, t.Test.Start, t.Test.End)
	sr, ok, complete := s.intervals[t.Test.ID][source{common.HexToAddress(t.Test.Provider), key}].Series(from, to)
	if !ok {
		return flex.Series{}, false
	}
	return sr, complete
}

// evaluate measures the rounds whose every test's data is due (or
// complete) and settles their availability rewards.
func (s *Service) evaluate(ctx context.Context) {
	now := s.o.Clock.Now()
	// A test voided by an award (flex.VoidTest) needs no data: checked
	// once its data would be due, so that its round need not wait for it.
	type ref struct {
		r *round
		t *test
	}
	var check []ref
	s.mu.Lock()
	for _, r := range s.rounds {
		for _, t := range r.Tests {
			if _, to := mv.Lookback(t.Test.Baseline, t.Test.Start, t.Test.End); r.Selected && !r.Evaluated && t.Outcome == gridmint.TestPending && !now.Before(to.Add(Grace)) {
				check = append(check, ref{r, t})
			}
		}
	}
	s.mu.Unlock()
	for _, c := range check {
		s.voided(c.r, c.t)
	}
	s.mu.Lock()
	var due []*round
	for _, r := range s.rounds {
		if !r.Selected || r.Evaluated {
			continue
		}
		var last time.Time
		complete := true
		for _, t := range r.Tests {
			if _, to := mv.Lookback(t.Test.Baseline, t.Test.Start, t.Test.End); to.After(last) {
				last = to
			}
			_, c := s.seriesLocked(t)
			complete = complete && (c || t.Outcome == gridmint.TestVoid)
		}
		at := last.Add(Grace + Collect)
		if !now.Before(at.Add(Wait)) || !now.Before(at) && complete {
			due = append(due, r)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(due, func(a, b *round) int { return a.SeedTime.Compare(b.SeedTime) })
	for _, r := range due {
		s.evaluateRound(ctx, r)
	}
}

// evaluateRound measures each test (flex.EvaluateTest against the
// offer's baseline) and hands the passed ones' rewards to the engine.
func (s *Service) evaluateRound(ctx context.Context, r *round) {
	s.mu.Lock()
	tests := slices.Clone(r.Tests)
	s.mu.Unlock()
	for _, t := range tests {
		s.voided(r, t)
	}
	var ex []gridmint.FlexExemption
	if s.o.Exemptions != nil {
		ex = s.o.Exemptions()
	}
	// Schedules come from node/market, which has a lock of its own.
	schedules := map[gridmint.TestID]market.SignedSchedule{}
	for _, t := range tests {
		if t.Test.Baseline == gridmint.BaselineSchedule && common.IsHexAddress(t.Test.Provider) {
			if sc, ok := s.o.Market.ScheduleFor(t.Test.OfferID, common.HexToAddress(t.Test.Provider)); ok {
				schedules[t.Test.ID] = sc
			}
		}
	}
	budget := s.budget(ctx, r)
	s.mu.Lock()
	var results []gridmint.TestResult
	for _, t := range tests {
		if t.Outcome == gridmint.TestVoid {
			results = append(results, t.TestResult)
			continue
		}
		series, _ := s.seriesLocked(t)
		have := series.Step != 0
		var base *flex.Baseline
		var baseErr error
		var offline []flex.Span
		if have {
			in := flex.BaselineInput{Direction: t.Test.Direction, Start: t.Test.Start, End: t.Test.End, Metered: series, GateClosure: r.SeedTime}
			if sc, ok := schedules[t.Test.ID]; ok {
				in.Schedule, in.ScheduleSigned, in.MaxPower = &sc.Plan, sc.Signed, t.Test.Power
			}
			if m, err := flex.MethodFor(t.Test.Baseline); err != nil {
				baseErr = err
			} else if b, err := m.Baseline(in); err != nil {
				baseErr = err
			} else {
				base = &b
				bs := flex.Total(b.Energy)
				t.BaselineMWh = &bs
			}
			if w, ok := series.Sum(t.Test.Start, t.Test.End); ok {
				t.MeteredMWh = &w
			}
			if sp, off := series.MissingSpan(t.Test.Device, t.Test.Start, t.Test.End); off {
				offline = append(offline, sp)
			}
		} else {
			series = flex.Series{}
		}
		if baseErr != nil {
			t.BaselineErr = baseErr.Error()
		}
		res := flex.EvaluateTest(t.Test, base, baseErr, series, ex, offline, s.p)
		if !have && res.Outcome == gridmint.TestFailed && res.Reason == gridmint.FlexUnderDelivered {
			res.Reason = gridmint.FlexNoData
		}
		t.TestResult = res
		t.Evidence = evidenceOf(res, series, schedules[t.Test.ID].Message)
		results = append(results, res)
		s.m.tests.WithLabelValues(string(res.Outcome)).Inc()
	}
	perKW := new(big.Int).Mul(big.NewInt(int64(s.cfg.RewardPerKW)), big.NewInt(gridmint.BaseUnitsPerMicroFLEX))
	rewards := flex.AvailabilityRewards(results, perKW, budget)
	byTest := map[gridmint.TestID]*test{}
	for _, t := range tests {
		byTest[t.Test.ID] = t
	}
	var rs []chain.Reward
	var nodes []common.Address
	for _, rw := range rewards {
		t := byTest[rw.Test]
		t.Reward = new(big.Int).Set(rw.Amount)
		p := common.HexToAddress(rw.Provider)
		rs = append(rs, chain.Reward{RecordID: rw.RecordID, Provider: p, Amount: new(big.Int).Set(rw.Amount), Kind: chain.RewardAvailability, Evidence: t.Evidence})
		nodes = append(nodes, p)
	}
	r.Budget = budget
	s.mu.Unlock()

	batch, err := s.settle(ctx, rs, nodes)
	if err != nil {
		s.log.Warn("pof: availability reward batch", "seed_time", r.SeedTime, "err", err)
	}
	s.mu.Lock()
	r.Evaluated, r.Batch = true, batch
	s.saveLocked(r)
	s.mu.Unlock()
	s.log.Info("pof: tests evaluated", "seed_time", r.SeedTime, "tests", len(tests), "rewards", len(rs), "batch", batch)
}

// budget is a round's availability budget, FLEX base units: the same on
// every node. Half of its share of its epoch's cap (Every / EPOCH of
// flex.EpochCap, the epoch of the seed block's time since the FLEX
// contract's genesis): rounds drawn in one epoch whose batches mint in
// the next cannot push either epoch over its cap, which the contract
// would refuse (EmissionCapExceeded).
func (s *Service) budget(ctx context.Context, r *round) *big.Int {
	s.mu.Lock()
	g := s.genesis
	s.mu.Unlock()
	if g == nil && s.o.Genesis != nil {
		t, err := s.o.Genesis(ctx)
		if err != nil {
			s.log.Warn("pof: FLEX genesis", "err", err)
		} else {
			g = &t
			s.mu.Lock()
			s.genesis = g
			s.mu.Unlock()
		}
	}
	var epoch uint64
	if g != nil && r.SeedBlockTime.After(*g) {
		epoch = uint64(r.SeedBlockTime.Sub(*g) / chain.FLEXEpoch)
	}
	c := flex.EpochCap(epoch)
	share := new(big.Int).Mul(c, big.NewInt(int64(min(s.cfg.Every, chain.FLEXEpoch)/time.Second)))
	share.Quo(share, big.NewInt(int64(2*chain.FLEXEpoch/time.Second)))
	return share
}

// settle hands the rewards to the engine as one batch (kind
// availability): attested when this node is an attestor, else proposed.
// A provider's own signature does not count for its rewards.
func (s *Service) settle(ctx context.Context, rs []chain.Reward, nodes []common.Address) (common.Hash, error) {
	if s.o.Engine == nil || len(rs) == 0 {
		return common.Hash{}, nil
	}
	b, err := settle.FLEXReward(rs, nodes)
	if err != nil {
		return common.Hash{}, err
	}
	if s.o.IsAttestor == nil || s.o.IsAttestor() {
		err = s.o.Engine.Attest(ctx, b)
	} else {
		_, err = s.o.Engine.Propose(b)
	}
	if err != nil {
		return common.Hash{}, err
	}
	s.m.batches.Inc()
	return b.ID(), nil
}

// follow counts the availability FLEX of settled batches once.
func (s *Service) follow() {
	if s.o.Engine == nil {
		return
	}
	s.mu.Lock()
	var open []*round
	for _, r := range s.rounds {
		if r.Batch != (common.Hash{}) && !r.Settled {
			open = append(open, r)
		}
	}
	s.mu.Unlock()
	for _, r := range open {
		st, ok := s.o.Engine.Lookup(r.Batch)
		if !ok || st.State != settle.StateSettled {
			continue
		}
		s.mu.Lock()
		r.Settled = true
		for _, t := range r.Tests {
			if t.Reward != nil {
				f, _ := new(big.Float).Quo(new(big.Float).SetInt(t.Reward), big.NewFloat(1e18)).Float64()
				s.m.rewardedFLEX.Add(f)
			}
		}
		s.saveLocked(r)
		s.mu.Unlock()
	}
}

// prune forgets rounds older than Retention, and their intervals; the
// intervals of evaluated rounds go a day after.
func (s *Service) prune(now time.Time) {
	s.mu.Lock()
	var keys []string
	var gone []gridmint.TestID
	for k, r := range s.rounds {
		old := r.SeedTime.Before(now.Add(-Retention))
		if old {
			delete(s.rounds, k)
			keys = append(keys, roundKey(r.SeedTime))
		}
		if old || r.Evaluated && r.SeedTime.Before(now.Add(-24*time.Hour-s.cfg.Every)) {
			for _, t := range r.Tests {
				if _, ok := s.intervals[t.Test.ID]; ok {
					delete(s.intervals, t.Test.ID)
					gone = append(gone, t.Test.ID)
				}
			}
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		_ = s.o.Store.ScanSettle(intervalPrefix+gridmint.RequestID(id).String()+"/", func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		})
	}
	if len(keys) > 0 {
		_ = s.o.Store.DeleteSettle(keys)
	}
}

// Derate is the part of its capacity, ppm, a device (its network name,
// market.NetDevice) may offer after its test history
// (flex.DerateFactor): halved per failed test since its last passed one,
// down to 1/8.
func (s *Service) Derate(device gridmint.DeviceID) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return flex.DerateFactor(s.historyLocked(), device)
}

// evidenceOf commits to a test's result and the meter data it rests on:
// keccak256 of the result's JSON, the schedule message (zero for other
// baselines) and the series. Every node that measured the same data gets
// the same hash; the reward names it.
func evidenceOf(r gridmint.TestResult, sr flex.Series, schedule common.Hash) common.Hash {
	rj, _ := json.Marshal(r)
	buf := []byte("gridmint/flex/test-evidence/v1")
	buf = append(buf, ethcrypto.Keccak256(rj)...)
	buf = append(buf, schedule[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(sr.Start.Unix()))
	buf = binary.BigEndian.AppendUint64(buf, uint64(sr.Step/time.Second))
	for i, e := range sr.Energy {
		if sr.Missing != nil && sr.Missing[i] {
			buf = append(buf, 'm')
			continue
		}
		buf = binary.BigEndian.AppendUint64(buf, uint64(e))
	}
	return ethcrypto.Keccak256Hash(buf)
}

// sortRounds orders rounds newest first.
func sortRounds(rs []*round) {
	slices.SortFunc(rs, func(a, b *round) int { return cmp.Compare(b.SeedTime.Unix(), a.SeedTime.Unix()) })
}

// sortTests orders a round's tests by start, then id.
func sortTests(ts []*test) {
	slices.SortFunc(ts, func(a, b *test) int {
		if c := a.Test.Start.Compare(b.Test.Start); c != 0 {
			return c
		}
		return bytes.Compare(a.Test.ID[:], b.Test.ID[:])
	})
}

func sortResults(rs []gridmint.TestResult) {
	slices.SortFunc(rs, func(a, b gridmint.TestResult) int {
		if c := a.Test.Start.Compare(b.Test.Start); c != 0 {
			return c
		}
		return bytes.Compare(a.Test.ID[:], b.Test.ID[:])
	})
}
