package mv

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// FirmEvent and LocalAward are node/market's: the market hands every
// firm event to Track on every node (Service is a market.Tracker); Local
// lists the awards of this node's own devices, which this node meters.
//
// Every award's Device and Meter name the device by its key: the bare 0x
// form or as the last part of a <node>/<adapter>/<0x key> id (which
// passes gridmint.Offer.Validate, as flex.Clear wants); a meter of
// record other than the device is one of the provider's devices, found
// here by its key.
type (
	FirmEvent  = market.FirmEvent
	LocalAward = market.LocalAward
)

var _ market.Tracker = (*Service)(nil)

// Config times the service, in node time.
type Config struct {
	// Grace is how long after the last step a baseline needs (the window
	// end, or later for methods that look after it) the node waits for
	// its devices' readings before metering. Default 5m.
	Grace time.Duration
	// Collect is how long after metering every node waits for the
	// providers' intervals before verifying. Default 5m.
	Collect time.Duration
	// Retention is how long events, intervals and records are kept.
	// Default 7 days.
	Retention time.Duration
	// Wait is how much longer than Collect the node waits for intervals
	// still missing from an event's awards before verifying without
	// them; an event whose every award has its data is verified at
	// Collect. Waiting only makes nodes agree more (late gossip, a loaded
	// demo at ×60). Default 0: verify at Collect.
	Wait time.Duration
}

func (c *Config) applyDefaults() {
	set := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	set(&c.Grace, 5*time.Minute)
	set(&c.Collect, 5*time.Minute)
	set(&c.Retention, 7*24*time.Hour)
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

// Options are the service's parts. Clock, Store and Self are required;
// a nil Publish (no gossip) meters nothing, a nil Engine (no chain)
// verifies but settles nothing.
type Options struct {
	Config Config
	Self   common.Address
	Clock  gridmint.Clock
	Log    *slog.Logger
	Store  Store
	// Devices are this node's devices (kind, for the sign of energy).
	Devices func() []gridmint.Device
	// Key is this node's device key of a device (node.Identity.DeviceKey).
	Key     func(gridmint.DeviceID) gridmint.DeviceKey
	Publish func(ctx context.Context, b p2p.Body) (p2p.Message, error)
	Engine  Engine
	// IsAttestor reports whether this node's signature counts on chain;
	// nil: it does.
	IsAttestor func() bool
	// Exemptions are the opt-outs and grid limits this node knows of;
	// nil: none.
	Exemptions func() []gridmint.FlexExemption
	// EventExemptions are the exemptions declared for one request's
	// awards and gossiped (node/market keeps them: Service.ExemptionsFor);
	// nil: none. Every node verifies with them, so an opt-out declared
	// before the window is excused everywhere, not only at home.
	EventExemptions func(gridmint.RequestID) []gridmint.FlexExemption
	// StakesAt reads a provider's slashable stake (FLEX base units) in
	// the state after a block (chain.Client.StakeOfAt): the slashes use
	// the stake at the event's reservation block, the same for every
	// node. An error matching chain.ErrStateUnavailable says that state
	// is gone (pruned). nil: no slashes computed.
	StakesAt func(ctx context.Context, provider common.Address, block uint64) (*big.Int, error)
	// Schedules finds the signed schedule of an offer by its provider
	// (node/market keeps them: Service.ScheduleFor), the baseline of its
	// schedule awards; nil: none known.
	Schedules func(offer gridmint.OfferID, provider common.Address) (market.SignedSchedule, bool)
	// Metrics; nil makes a fresh set.
	Metrics *Metrics
}

// Service meters this node's awarded devices, verifies every tracked
// award from the gossiped intervals, and settles the deliveries. Safe for
// concurrent use.
type Service struct {
	o   Options
	cfg Config
	log *slog.Logger
	m   *Metrics

	mu     sync.Mutex
	events map[gridmint.RequestID]*event
	// intervals by request, then provider and meter key, then step start
	// (Unix s): the energies received.
	intervals map[gridmint.RequestID]map[source]*Received
	// tamper, for tests, changes this node's own delivery records before
	// they are settled (an inflating provider).
	tamper func(*gridmint.DeliveryRecord)
}

// source is one provider's meter.
type source struct {
	Author common.Address
	Device gridmint.DeviceKey
}

// event is one tracked firm event and what became of it; kept in the
// store as JSON.
type event struct {
	V             int           `json:"v"`
	Clearing      flex.Clearing `json:"clearing"`
	ReservationTx common.Hash   `json:"reservation_tx"`
	Reserved      *big.Int      `json:"reserved"`
	// ReservationBlock is the block of the confirmed FLEX.reserve (0:
	// unknown, an event tracked before it was recorded). Stakes are the
	// awarded providers' stakes (FLEX base units, by lower-case address)
	// in that block's state, read once, promptly (a pruning node keeps
	// recent state only) and kept, so a restart or a late verification
	// slashes from the same numbers as every other node. StakeGone:
	// providers whose stake at the block could not be read (why).
	ReservationBlock uint64              `json:"reservation_block,omitempty"`
	Stakes           map[string]*big.Int `json:"stakes,omitempty"`
	StakeGone        map[string]string   `json:"stake_gone,omitempty"`
	Local            []LocalAward        `json:"local,omitempty"`
	Tracked          time.Time           `json:"tracked"`
	Metered          bool                `json:"metered,omitempty"` // own intervals gossiped
	Verified         bool                `json:"verified,omitempty"`
	Records          []Record            `json:"records,omitempty"`
	Batch            common.Hash         `json:"batch,omitzero"`
	Refused          []Refusal           `json:"refused,omitempty"`
	MeteredAt        time.Time           `json:"metered_at,omitzero"`
	VerifiedAt       time.Time           `json:"verified_at,omitzero"`
	Skipped          map[string]int64    `json:"skipped,omitempty"`
}

// Record is one award's measured delivery with what it rests on.
type Record struct {
	gridmint.DeliveryRecord
	// BaselineMWh and MeteredMWh are the baseline and metered energy over
	// the window (sums of the steps), when known.
	BaselineMWh *gridmint.MWh `json:"baseline_mwh,omitempty"`
	MeteredMWh  *gridmint.MWh `json:"metered_mwh,omitempty"`
	BaselineErr string        `json:"baseline_error,omitempty"`
	// Payment is what the delivery earns, FLEX base units.
	Payment *big.Int `json:"payment"`
	// Slash is the slash the rules call for (flex.Slashes), FLEX base
	// units; SlashBatch the attested FLEX.slash it went into.
	Slash      *big.Int    `json:"slash,omitempty"`
	SlashBatch common.Hash `json:"slash_batch,omitzero"`
	// SlashNotComputable: the award is due a slash but this node cannot
	// compute it from the stake at the reservation block (a reason code:
	// SlashStakeUnavailable, SlashNoReservationBlock); nothing is
	// attested rather than a number other nodes may not share.
	SlashNotComputable string `json:"slash_not_computable,omitempty"`
	// SlashState and SlashTx: where the slash stands (node/settle) and
	// the FLEX.slash transaction; filled in by Events.
	SlashState string       `json:"slash_state,omitempty"`
	SlashTx    *common.Hash `json:"slash_tx,omitempty"`
	// NoSchedule: the award names the schedule baseline and this node
	// received no signed schedule for it: not paid, not slashed (nodes
	// that missed the gossip must not slash). Schedule is the schedule
	// message measured against.
	NoSchedule bool         `json:"no_schedule,omitempty"`
	Schedule   *common.Hash `json:"schedule,omitempty"`
	// Evidence is the reward's evidence hash: keccak256 of the record
	// and the meter data it was computed from.
	Evidence common.Hash `json:"evidence"`
}

// Refusal is a provider's own record that differs from this node's
// recomputation.
type Refusal struct {
	OfferID gridmint.OfferID    `json:"offer_id"`
	Reason  gridmint.FlexReason `json:"reason"`
	Detail  string              `json:"detail"`
}

// Store keys (settlement namespace).
const (
	eventPrefix    = "mve/"
	intervalPrefix = "mvi/"
)

func eventKey(id gridmint.RequestID) string { return eventPrefix + id.String() }

// New returns a service over what its store keeps.
func New(o Options) (*Service, error) {
	if o.Clock == nil || o.Store == nil {
		return nil, gridmint.Errorf(gridmint.EInvalid, "mv: Clock and Store are required")
	}
	o.Config.applyDefaults()
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics()
	}
	if o.Devices == nil {
		o.Devices = func() []gridmint.Device { return nil }
	}
	s := &Service{o: o, cfg: o.Config, log: o.Log, m: o.Metrics,
		events: map[gridmint.RequestID]*event{}, intervals: map[gridmint.RequestID]map[source]*Received{}}
	err := o.Store.ScanSettle(eventPrefix, func(_ string, v []byte) error {
		var e event
		if err := json.Unmarshal(v, &e); err != nil {
			s.log.Warn("mv: stored event not read", "err", err)
			return nil
		}
		s.events[e.Clearing.RequestID] = &e
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = o.Store.ScanSettle(intervalPrefix, func(_ string, v []byte) error {
		var ie storedInterval
		if err := json.Unmarshal(v, &ie); err != nil {
			return nil
		}
		s.addLocked(ie.Author, ie.Body)
		return nil
	})
	return s, err
}

// SetSchedules sets Options.Schedules on a running service: the node
// starts the market, which keeps the schedules, after this service.
func (s *Service) SetSchedules(f func(gridmint.OfferID, common.Address) (market.SignedSchedule, bool)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.Schedules = f
}

// SetExemptions sets Options.EventExemptions (node/market starts after
// the service).
func (s *Service) SetExemptions(f func(gridmint.RequestID) []gridmint.FlexExemption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.o.EventExemptions = f
}

// Metrics returns the service's counters.
func (s *Service) Metrics() *Metrics { return s.m }

// Track starts measuring a firm event's awards. Tracking an event again
// changes nothing.
func (s *Service) Track(ctx context.Context, ev FirmEvent) {
	id := ev.Clearing.RequestID
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.events[id]; ok {
		return
	}
	e := &event{V: 1, Clearing: ev.Clearing, ReservationTx: ev.ReservationTx, Reserved: ev.Reserved, ReservationBlock: ev.ReservationBlock,
		Local: slices.Clone(ev.Local), Tracked: s.o.Clock.Now()}
	s.events[id] = e
	s.m.tracked.Inc()
	s.saveLocked(e)
	s.log.Info("mv: tracking", "request", id, "awards", len(ev.Clearing.Awards), "local", len(ev.Local))
}

func (s *Service) saveLocked(e *event) {
	v, err := json.Marshal(e)
	if err == nil {
		err = s.o.Store.PutSettle(eventKey(e.Clearing.RequestID), v)
	}
	if err != nil {
		s.log.Warn("mv: save event", "request", e.Clearing.RequestID, "err", err)
	}
}

// storedInterval is a received interval message as kept.
type storedInterval struct {
	Author common.Address     `json:"author"`
	Body   p2p.IntervalEnergy `json:"body"`
}

// HandleMessage takes an accepted gossip message; all but interval
// energy is ignored.
func (s *Service) HandleMessage(m p2p.Message) {
	b, ok := m.Body.(p2p.IntervalEnergy)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.intervalsReceived.Inc()
	// Only the meter data of tracked awards, signed by their provider and
	// within the span their baselines need, is kept: anything else would
	// let any peer fill the store.
	e := s.events[b.Request]
	if e == nil {
		s.m.intervalsIgnored.WithLabelValues("untracked").Inc()
		return
	}
	from, to, ok := spanOf(e.Clearing.Awards, m.Author, b.Device)
	if !ok {
		s.m.intervalsIgnored.WithLabelValues("not_awarded").Inc()
		return
	}
	if b.Start.Before(from) || b.End().After(to) {
		s.m.intervalsIgnored.WithLabelValues("outside_span").Inc()
		return
	}
	if !s.addLocked(m.Author, b) {
		return
	}
	v, err := json.Marshal(storedInterval{Author: m.Author, Body: b})
	if err == nil {
		err = s.o.Store.PutSettle(fmt.Sprintf("%s%s/%s/%s/%020d", intervalPrefix, b.Request, m.Author.Hex(), b.Device, b.Start.Unix()), v)
	}
	if err != nil {
		s.log.Warn("mv: keep intervals", "err", err)
	}
}

// spanOf is the meter data span the awards of provider author at meter
// key need (the union of their look-backs and windows).
func spanOf(awards []gridmint.Award, author common.Address, key gridmint.DeviceKey) (from, to time.Time, ok bool) {
	for _, a := range awards {
		k, kok := keyOf(a.Meter)
		if !kok || k != key || !common.IsHexAddress(a.Provider) || common.HexToAddress(a.Provider) != author {
			continue
		}
		f, t := lookback(a.Baseline, a.WindowStart, a.WindowEnd)
		if !ok || f.Before(from) {
			from = f
		}
		if !ok || t.After(to) {
			to = t
		}
		ok = true
	}
	return from, to, ok
}

// addLocked adds a message's steps; the first value of a step stands (a
// second, different one is counted as a conflict and ignored). It reports
// whether anything was new.
func (s *Service) addLocked(author common.Address, b p2p.IntervalEnergy) bool {
	byReq := s.intervals[b.Request]
	if byReq == nil {
		byReq = map[source]*Received{}
		s.intervals[b.Request] = byReq
	}
	src := source{author, b.Device}
	r := byReq[src]
	if r == nil {
		r = NewReceived(b.Step)
		byReq[src] = r
	}
	added, conflicts := r.Add(b.Start, b.Step, b.Energy)
	s.m.intervalConflicts.Add(float64(conflicts))
	return added
}

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

// Step does what is due: meter own awards, verify and settle events,
// follow batches, prune.
func (s *Service) Step(ctx context.Context) {
	now := s.o.Clock.Now()
	s.mu.Lock()
	var toSnap, toMeter, toVerify, toFollow []*event
	for _, e := range s.events {
		end := eventEnd(e)
		if s.o.StakesAt != nil && e.ReservationBlock > 0 && !e.Verified && len(e.stakesMissing()) > 0 {
			toSnap = append(toSnap, e)
		}
		if !e.Metered && len(e.Local) > 0 && !now.Before(end.Add(s.cfg.Grace)) {
			toMeter = append(toMeter, e)
		}
		if !e.Verified && !now.Before(end.Add(s.cfg.Grace+s.cfg.Collect)) &&
			(!now.Before(end.Add(s.cfg.Grace+s.cfg.Collect+s.cfg.Wait)) || s.completeLocked(e)) {
			toVerify = append(toVerify, e)
		}
		if e.Verified && e.Batch != (common.Hash{}) {
			toFollow = append(toFollow, e)
		}
	}
	s.mu.Unlock()
	sortEvents(toSnap)
	sortEvents(toMeter)
	sortEvents(toVerify)
	for _, e := range toSnap {
		s.snapshotStakes(ctx, e)
	}
	for _, e := range toMeter {
		s.meter(ctx, e)
	}
	for _, e := range toVerify {
		s.verify(ctx, e, now)
	}
	s.follow(toFollow)
	s.prune(now)
}

// completeLocked reports whether every award of e has all the steps its
// baseline needs from its provider.
func (s *Service) completeLocked(e *event) bool {
	for _, a := range e.Clearing.Awards {
		key, ok := keyOf(a.Meter)
		if !ok || !common.IsHexAddress(a.Provider) {
			return false
		}
		from, to := lookback(a.Baseline, a.WindowStart, a.WindowEnd)
		if _, ok, complete := s.intervals[e.Clearing.RequestID][source{common.HexToAddress(a.Provider), key}].Series(from, to); !ok || !complete {
			return false
		}
	}
	return true
}

func sortEvents(es []*event) {
	slices.SortFunc(es, func(a, b *event) int {
		if c := a.Clearing.Request.WindowEnd.Compare(b.Clearing.Request.WindowEnd); c != 0 {
			return c
		}
		return strings.Compare(a.Clearing.RequestID.String(), b.Clearing.RequestID.String())
	})
}

// eventEnd is when the last meter data any of the event's awards needs
// ends.
func eventEnd(e *event) time.Time {
	end := e.Clearing.Request.WindowEnd
	for _, a := range e.Clearing.Awards {
		if _, to := lookback(a.Baseline, a.WindowStart, a.WindowEnd); to.After(end) {
			end = to
		}
	}
	return end
}

// meter gossips the interval energy of the meters of the event's local
// awards over what their baselines need.
func (s *Service) meter(ctx context.Context, e *event) {
	if s.o.Publish == nil {
		return
	}
	kinds := map[gridmint.DeviceID]gridmint.DeviceKind{}
	for _, d := range s.o.Devices() {
		kinds[d.ID] = d.Kind
	}
	done := true
	sent := map[string]bool{}
	for _, la := range e.Local {
		meter, ok := s.meterOf(la)
		if !ok {
			s.log.Warn("mv: meter of record not one of this node's devices", "request", e.Clearing.RequestID, "offer", la.Award.OfferID, "meter", la.Award.Meter)
			s.m.refused.WithLabelValues(string(gridmint.FlexUnknownDevice)).Inc()
			continue
		}
		key := s.o.Key(meter)
		from, to := lookback(la.Award.Baseline, la.Award.WindowStart, la.Award.WindowEnd)
		if sent[key.String()+from.String()+to.String()] {
			continue // two awards at one meter over one span
		}
		rs, err := s.readings(meter, from.Add(-MaxGap), to.Add(MaxGap+time.Millisecond))
		if err != nil {
			s.log.Warn("mv: readings", "device", meter, "err", err)
			done = false
			continue
		}
		series := Meter(kinds[meter], rs, from, to)
		n := 0
		for _, r := range runs(series, p2p.MaxIntervalSteps) {
			b := p2p.IntervalEnergy{Device: key, Request: e.Clearing.RequestID, Start: r.Start, Step: r.Step, Energy: r.Energy}
			if _, err := s.o.Publish(ctx, b); err != nil && gridmint.ErrorCode(err) != gridmint.EConflict {
				s.log.Warn("mv: gossip intervals", "device", meter, "err", err)
				done = false
				break
			}
			n += len(r.Energy)
			s.m.intervalsSent.Inc()
		}
		sent[key.String()+from.String()+to.String()] = true
		missing := len(series.Energy) - n
		s.log.Info("mv: intervals gossiped", "request", e.Clearing.RequestID, "device", meter, "steps", n, "missing", missing)
	}
	s.mu.Lock()
	e.Metered, e.MeteredAt = done, s.o.Clock.Now()
	s.saveLocked(e)
	s.mu.Unlock()
}

// meterOf is the own DeviceID of a local award's meter of record.
func (s *Service) meterOf(la LocalAward) (gridmint.DeviceID, bool) {
	if la.Award.Meter == "" || la.Award.Meter == la.Award.Device {
		return la.Device, la.Device != ""
	}
	for _, d := range s.o.Devices() {
		if s.o.Key(d.ID).String() == string(la.Award.Meter) {
			return d.ID, true
		}
	}
	return "", false
}

// readings pages through the store.
func (s *Service) readings(id gridmint.DeviceID, from, to time.Time) ([]gridmint.Reading, error) {
	return ReadingsBetween(s.o.Store, id, from, to)
}

// keyOf parses a network award's device or meter: a device key's 0x
// form, alone or as the last part of a <node>/<adapter>/<key> id (the
// form that passes gridmint.Offer.Validate; node/market.NetDevice's
// <author>/key/<hex> has the key without 0x).
func keyOf(d gridmint.DeviceID) (gridmint.DeviceKey, bool) {
	var k gridmint.DeviceKey
	if k.UnmarshalText([]byte(d)) == nil {
		return k, true
	}
	if _, _, serial, ok := d.Parts(); ok {
		if !strings.HasPrefix(serial, "0x") {
			// node/market's NetDevice writes the key without 0x.
			serial = "0x" + serial
		}
		if k.UnmarshalText([]byte(serial)) == nil {
			return k, true
		}
	}
	return gridmint.DeviceKey{}, false
}

// verify measures every award of the event from the intervals received,
// records the deliveries and settles the payments.
func (s *Service) verify(ctx context.Context, e *event, now time.Time) {
	// The schedules come from node/market, which has a lock of its own:
	// look them up before taking this one.
	schedules := map[gridmint.OfferID]market.SignedSchedule{}
	s.mu.Lock()
	awards := slices.Clone(e.Clearing.Awards)
	s.mu.Unlock()
	s.mu.Lock()
	find := s.o.Schedules
	var ex []gridmint.FlexExemption
	if s.o.Exemptions != nil {
		ex = s.o.Exemptions()
	}
	exFor, req := s.o.EventExemptions, e.Clearing.RequestID
	s.mu.Unlock()
	var eventEx []gridmint.FlexExemption
	if exFor != nil {
		// The market's lock, like find's: not under this one.
		eventEx = exFor(req)
	}
	for _, a := range awards {
		if a.Baseline != gridmint.BaselineSchedule || find == nil || !common.IsHexAddress(a.Provider) {
			continue
		}
		if sc, ok := find(a.OfferID, common.HexToAddress(a.Provider)); ok {
			schedules[a.OfferID] = sc
		}
	}
	s.mu.Lock()
	c := e.Clearing
	var ev []flex.Evidence
	metered := map[gridmint.DeviceID]flex.Series{}
	var offline []flex.Span
	views := map[gridmint.OfferID]Record{}
	for _, a := range c.Awards {
		from, to := lookback(a.Baseline, a.WindowStart, a.WindowEnd)
		key, ok := keyOf(a.Meter)
		var series flex.Series
		var have bool
		if ok && common.IsHexAddress(a.Provider) {
			series, have, _ = s.intervals[c.RequestID][source{common.HexToAddress(a.Provider), key}].Series(from, to)
		}
		rv := Record{}
		x := flex.Evidence{Award: a}
		if have {
			// Two awards at one meter see the same data: keep the widest.
			if old, ok := metered[a.Meter]; !ok || len(old.Energy) < len(series.Energy) {
				metered[a.Meter] = series
			}
			if sp, off := series.MissingSpan(a.Device, a.WindowStart, a.WindowEnd); off {
				offline = append(offline, sp)
			}
			in := flex.BaselineInput{Direction: a.Direction, Start: a.WindowStart, End: a.WindowEnd,
				Metered: series, GateClosure: c.Request.GateClosure}
			if sc, ok := schedules[a.OfferID]; ok {
				// The plan may not move more than the offered power
				// either way: the award's power bounds it.
				in.Schedule, in.ScheduleSigned, in.MaxPower = &sc.Plan, sc.Signed, a.Power
			}
			if m, err := flex.MethodFor(a.Baseline); err != nil {
				x.BaselineErr = err
			} else if b, err := m.Baseline(in); err != nil {
				x.BaselineErr = err
			} else {
				x.Baseline = &b
				bs := flex.Total(b.Energy)
				rv.BaselineMWh = &bs
			}
			if w, ok := series.Sum(a.WindowStart, a.WindowEnd); ok {
				rv.MeteredMWh = &w
			}
		}
		if x.BaselineErr != nil {
			rv.BaselineErr = x.BaselineErr.Error()
		}
		views[a.OfferID] = rv
		ev = append(ev, x)
	}
	ex = append(ex, eventEx...)
	recs := flex.Verify(flex.VerifyInput{Evidence: ev, Metered: metered, Exemptions: ex, Offline: offline})
	out := make([]Record, len(recs))
	for i, r := range recs {
		v := views[r.OfferID]
		v.DeliveryRecord = r
		v.Payment = r.Payment()
		if r.Reason == gridmint.FlexOptOut {
			// Withdrawn before the window, so never dispatched: what its
			// meter shows against the baseline is no delivery. (A grid
			// limit stops a dispatched device part-way: what it
			// delivered before is paid.)
			v.Payment = new(big.Int)
		}
		sc, has := schedules[r.OfferID]
		v.Evidence = evidenceOf(r, metered[r.Meter], sc.Message)
		if has {
			v.Schedule = &sc.Message
		}
		v.NoSchedule = awardOf(c.Awards, r.OfferID).Baseline == gridmint.BaselineSchedule && !has
		out[i] = v
		s.m.records.WithLabelValues(reasonLabel(r.Reason)).Inc()
		s.m.deliveredMWh.Add(float64(r.Delivered))
	}
	s.mu.Unlock()

	if s.tamper != nil {
		// Tests only: a provider that settles records of its own making.
		own := map[gridmint.OfferID]bool{}
		for _, la := range e.Local {
			own[la.Award.OfferID] = true
		}
		for i := range out {
			if own[out[i].OfferID] {
				s.tamper(&out[i].DeliveryRecord)
				out[i].Payment = out[i].DeliveryRecord.Payment()
			}
		}
	}
	s.slashes(ctx, e, out)

	batch, err := s.settle(ctx, c, out)
	if err != nil {
		s.log.Warn("mv: reward batch", "request", c.RequestID, "err", err)
	}
	s.mu.Lock()
	e.Records, e.Verified, e.VerifiedAt, e.Batch = out, true, now, batch
	s.saveLocked(e)
	s.mu.Unlock()
	s.m.verified.Inc()
	s.log.Info("mv: verified", "request", c.RequestID, "records", len(out), "batch", batch)
}

func awardOf(as []gridmint.Award, id gridmint.OfferID, req ...gridmint.RequestID) gridmint.Award {
	for _, a := range as {
		if a.OfferID == id && (len(req) == 0 || a.RequestID == req[0]) {
			return a
		}
	}
	return gridmint.Award{}
}

// evidenceOf commits to a record and the meter data it rests on:
// keccak256 of the record's JSON, the signed schedule's message ID (zero
// for other baselines) and the series' start, step, energies and missing
// flags. Every node that measured the same data gets the same hash; the
// reward names it.
func evidenceOf(r gridmint.DeliveryRecord, s flex.Series, schedule common.Hash) common.Hash {
	rj, _ := json.Marshal(r)
	buf := []byte("gridmint/flex/delivery-evidence/v1")
	buf = append(buf, ethcrypto.Keccak256(rj)...)
	if schedule != (common.Hash{}) {
		buf = append(buf, schedule[:]...)
	}
	buf = append(buf, []byte(fmt.Sprintf("%d/%d/", s.Start.Unix(), int64(s.Step/time.Second)))...)
	for i, e := range s.Energy {
		if s.Missing != nil && s.Missing[i] {
			buf = append(buf, 'm')
			continue
		}
		buf = append(buf, []byte(fmt.Sprintf("%d,", e))...)
	}
	return ethcrypto.Keccak256Hash(buf)
}

// settle hands the event's payments to the engine as one reward batch
// (kind delivery, record id flex.DeliveryRecordID): attested when this
// node is an attestor, else proposed. Each provider's own signature does
// not count for its rewards.
func (s *Service) settle(ctx context.Context, c flex.Clearing, recs []Record) (common.Hash, error) {
	if s.o.Engine == nil {
		return common.Hash{}, nil
	}
	var rewards []chain.Reward
	var nodes []common.Address
	for _, r := range recs {
		if r.Payment == nil || r.Payment.Sign() <= 0 || !common.IsHexAddress(r.Provider) {
			continue
		}
		p := common.HexToAddress(r.Provider)
		rewards = append(rewards, chain.Reward{RecordID: flex.DeliveryRecordID(r.RequestID, r.OfferID), Provider: p,
			Amount: new(big.Int).Set(r.Payment), Kind: chain.RewardDelivery, Evidence: r.Evidence})
		nodes = append(nodes, p)
	}
	if len(rewards) == 0 {
		return common.Hash{}, nil
	}
	b, err := settle.FLEXReward(rewards, nodes)
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

// Reasons a slash is not computable (Record.SlashNotComputable, label of
// gridmint_flex_slashes_not_computable_total).
const (
	// SlashStakeUnavailable: the provider's stake at the reservation
	// block was not read while the state was there (the node was down,
	// the endpoint failed) and cannot be read now.
	SlashStakeUnavailable = "stake_unavailable"
	// SlashNoReservationBlock: the event was tracked without its
	// reservation's block (by an older version of the node).
	SlashNoReservationBlock = "no_reservation_block"
)

// providers are the awarded providers of an event, lower-case, sorted.
func (e *event) providers() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range e.Clearing.Awards {
		if p := strings.ToLower(a.Provider); common.IsHexAddress(p) && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// stakesMissing are the providers of e with neither a stake read nor a
// reason it could not be.
func (e *event) stakesMissing() []string {
	var out []string
	for _, p := range e.providers() {
		if _, ok := e.Stakes[p]; ok {
			continue
		}
		if _, gone := e.StakeGone[p]; !gone {
			out = append(out, p)
		}
	}
	return out
}

// snapshotStakes reads the stakes of e's providers at its reservation
// block and keeps them. A failed read is tried again next step; state
// the endpoint does not have is recorded (and tried once more when the
// event is verified).
func (s *Service) snapshotStakes(ctx context.Context, e *event) {
	s.mu.Lock()
	missing, block := e.stakesMissing(), e.ReservationBlock
	s.mu.Unlock()
	read := map[string]*big.Int{}
	gone := map[string]string{}
	for _, p := range missing {
		st, err := s.o.StakesAt(ctx, common.HexToAddress(p), block)
		switch {
		case err == nil:
			read[p] = st
		case errors.Is(err, chain.ErrStateUnavailable):
			gone[p] = err.Error()
			s.log.Warn("mv: stake at the reservation block is not available", "request", e.Clearing.RequestID, "provider", p, "block", block, "err", err)
		default:
			s.log.Warn("mv: stake at the reservation block", "request", e.Clearing.RequestID, "provider", p, "block", block, "err", err)
		}
	}
	if len(read)+len(gone) == 0 {
		return
	}
	s.mu.Lock()
	if e.Stakes == nil {
		e.Stakes = map[string]*big.Int{}
	}
	maps.Copy(e.Stakes, read)
	if len(gone) > 0 && e.StakeGone == nil {
		e.StakeGone = map[string]string{}
	}
	maps.Copy(e.StakeGone, gone)
	s.saveLocked(e)
	s.mu.Unlock()
	s.log.Info("mv: stakes at the reservation block", "request", e.Clearing.RequestID, "block", block, "read", len(read), "unavailable", len(gone))
}

// slashDue reports whether a record calls for a slash, given a stake
// (flex.Slashes's rule; no_schedule records are never slashed).
func slashDue(r Record) bool {
	return !r.NoSchedule && !r.Exempt() && r.Awarded > 0 && r.Performance() < flex.Tolerance
}

// slashes computes the slashes the rules call for from the providers'
// stakes at e's reservation block (read when it was confirmed and kept)
// and attests them. A record due a slash whose provider's stake at that
// block is not known here gets no slash but a reason
// (Record.SlashNotComputable): every node attests the same number or
// none.
func (s *Service) slashes(ctx context.Context, e *event, recs []Record) {
	if s.o.StakesAt == nil {
		return
	}
	s.mu.Lock()
	// The day's awards for WindowValue: only those starting before this
	// event's window ends. Every node has tracked those when it verifies
	// (each was reserved before its start); an event of the same day
	// reserved later would be in some nodes' sums and not in others',
	// and they would attest different slashes.
	var cut time.Time
	if len(e.Clearing.Awards) > 0 {
		cut = e.Clearing.Awards[0].WindowEnd
	}
	var awards []gridmint.Award
	for _, other := range s.events {
		for _, a := range other.Clearing.Awards {
			if a.WindowStart.Before(cut) {
				awards = append(awards, a)
			}
		}
	}
	block := e.ReservationBlock
	stakes := map[string]*big.Int{}
	for p, st := range e.Stakes {
		stakes[p] = new(big.Int).Set(st)
	}
	s.mu.Unlock()
	notComputable := map[string]string{}
	for _, r := range recs {
		p := strings.ToLower(r.Provider)
		if !slashDue(r) || !common.IsHexAddress(p) || stakes[p] != nil || notComputable[p] != "" {
			continue
		}
		if block == 0 {
			notComputable[p] = SlashNoReservationBlock
			continue
		}
		// Not read yet (tracked and verified in one step) or not read
		// while the state was there: one more try, at the same block.
		st, err := s.o.StakesAt(ctx, common.HexToAddress(p), block)
		if err != nil {
			s.log.Warn("mv: slash not computable: no stake at the reservation block", "request", e.Clearing.RequestID, "provider", p, "block", block, "err", err)
			notComputable[p] = SlashStakeUnavailable
			continue
		}
		stakes[p] = st
		s.mu.Lock()
		if e.Stakes == nil {
			e.Stakes = map[string]*big.Int{}
		}
		e.Stakes[p] = new(big.Int).Set(st)
		delete(e.StakeGone, p)
		s.mu.Unlock()
	}
	var slashable []gridmint.DeliveryRecord
	for i, r := range recs {
		if reason := notComputable[strings.ToLower(r.Provider)]; reason != "" && slashDue(r) {
			recs[i].SlashNotComputable = reason
			s.m.slashesNotComputable.WithLabelValues(reason).Inc()
			continue
		}
		if !r.NoSchedule {
			slashable = append(slashable, r.DeliveryRecord)
		}
	}
	for _, sl := range flex.Slashes(awards, slashable, stakes) {

		for i := range recs {
			if recs[i].RequestID != sl.RequestID || recs[i].OfferID != sl.OfferID {
				continue
			}
			recs[i].Slash = sl.Amount
			s.m.slashesDue.Inc()
			id, err := s.settleSlash(ctx, awardOf(awards, sl.OfferID, sl.RequestID), sl, recs[i].Evidence)
			if err != nil {
				s.log.Warn("mv: slash", "request", sl.RequestID, "offer", sl.OfferID, "err", err)
				continue
			}
			recs[i].SlashBatch = id
		}
	}
}

// chainAward is the award as the FLEX contract's Award type: what a
// slash names by its struct hash.
func chainAward(a gridmint.Award) chain.Award {
	return chain.Award{RequestID: common.Hash(a.RequestID), OfferID: common.Hash(a.OfferID), Provider: common.HexToAddress(a.Provider),
		WindowStart: uint64(a.WindowStart.Unix()), WindowEnd: uint64(a.WindowEnd.Unix()), Watts: uint64(a.Power), Price: a.Value()}
}

// settleSlash hands one slash to the engine: attested when this node is
// an attestor, else proposed; the provider's own signature does not
// count. The contract takes at most the award's share of the stake.
func (s *Service) settleSlash(ctx context.Context, a gridmint.Award, sl flex.Slash, evidence common.Hash) (common.Hash, error) {
	if s.o.Engine == nil {
		return common.Hash{}, nil
	}
	b, err := settle.FLEXSlash(chain.Slash{RecordID: sl.RecordID, Provider: common.HexToAddress(sl.Provider), Award: chainAward(a).StructHash(),
		AwardPrice: sl.AwardValue, WindowValue: sl.WindowValue, Amount: sl.Amount, Evidence: evidence})
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
	return b.ID(), nil
}

// CheckClaim checks a delivery record someone claims (a provider's own)
// against this node's recomputation from the gossiped intervals
// (flex.CheckDelivery): nil if it is the same; else the refusal, with its
// reason (inflated_delivery, delivery_mismatch; unknown_device for an
// award this node does not know or has not verified yet), counted and
// kept on the event.
func (s *Service) CheckClaim(claimed gridmint.DeliveryRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse := func(err error) error {
		r := flex.Reason(err)
		s.m.refused.WithLabelValues(string(r)).Inc()
		if e := s.events[claimed.RequestID]; e != nil {
			e.Refused = append(e.Refused, Refusal{OfferID: claimed.OfferID, Reason: r, Detail: err.Error()})
			s.saveLocked(e)
		}
		return err
	}
	e := s.events[claimed.RequestID]
	if e == nil || !e.Verified {
		return refuse(&flex.ReasonError{Reason: gridmint.FlexUnknownDevice,
			Err: gridmint.Errorf(gridmint.ENotFound, "mv: no verified delivery of request %s here", claimed.RequestID)})
	}
	for _, r := range e.Records {
		if r.OfferID == claimed.OfferID {
			if err := flex.CheckDelivery(claimed, r.DeliveryRecord); err != nil {
				return refuse(err)
			}
			return nil
		}
	}
	return refuse(&flex.ReasonError{Reason: gridmint.FlexUnknownDevice,
		Err: gridmint.Errorf(gridmint.ENotFound, "mv: offer %s has no award in request %s", claimed.OfferID, claimed.RequestID)})
}

// follow counts settled batches once.
func (s *Service) follow(es []*event) {
	if s.o.Engine == nil {
		return
	}
	for _, e := range es {
		st, ok := s.o.Engine.Lookup(e.Batch)
		if !ok || st.State != settle.StateSettled {
			continue
		}
		s.mu.Lock()
		if e.Skipped == nil {
			e.Skipped = map[string]int64{}
		}
		if e.Skipped["settled"] == 0 {
			e.Skipped["settled"] = 1
			for _, r := range e.Records {
				if r.Payment != nil && r.Payment.Sign() > 0 {
					f, _ := new(big.Float).Quo(new(big.Float).SetInt(r.Payment), big.NewFloat(1e18)).Float64()
					s.m.paidFLEX.Add(f)
				}
			}
			s.saveLocked(e)
		}
		s.mu.Unlock()
	}
}

// prune forgets events whose window ended more than Retention ago, and
// their intervals.
func (s *Service) prune(now time.Time) {
	floor := now.Add(-s.cfg.Retention)
	s.mu.Lock()
	var keys []string
	var reqs []gridmint.RequestID
	for id, e := range s.events {
		if e.Verified && e.Clearing.Request.WindowEnd.Before(floor) {
			delete(s.events, id)
			delete(s.intervals, id)
			keys = append(keys, eventKey(id))
			reqs = append(reqs, id)
		}
	}
	s.mu.Unlock()
	for _, id := range reqs {
		_ = s.o.Store.ScanSettle(intervalPrefix+id.String()+"/", func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		})
	}
	if len(keys) > 0 {
		_ = s.o.Store.DeleteSettle(keys)
	}
}

// Event is one tracked event as the API shows it.
type Event struct {
	RequestID     gridmint.RequestID `json:"request_id"`
	Request       gridmint.Request   `json:"request"`
	Price         gridmint.MicroFLEX `json:"price"`
	Root          common.Hash        `json:"awards_root"`
	ReservationTx common.Hash        `json:"reservation_tx"`
	Reserved      string             `json:"reserved"` // FLEX base units
	// ReservationBlock is the reservation's block, whose state the
	// slashes read the providers' stakes from (0: unknown).
	ReservationBlock uint64       `json:"reservation_block,omitempty"`
	State            string       `json:"state"` // tracking, metered, verified, settled
	Batch            *common.Hash `json:"batch,omitempty"`
	BatchState       string       `json:"batch_state,omitempty"`
	RewardTx         *common.Hash `json:"reward_tx,omitempty"`
	Deliveries       []Record     `json:"deliveries"`
	Refused          []Refusal    `json:"refused,omitempty"`
}

// Events lists the tracked events, newest window first; a non-nil
// request selects one.
func (s *Service) Events(request *gridmint.RequestID) []Event {
	s.mu.Lock()
	var out []Event
	for id, e := range s.events {
		if request != nil && *request != id {
			continue
		}
		v := Event{RequestID: id, Request: e.Clearing.Request, Price: e.Clearing.Price, Root: e.Clearing.Root,
			ReservationTx: e.ReservationTx, ReservationBlock: e.ReservationBlock, Reserved: "0", State: "tracking", Deliveries: slices.Clone(e.Records), Refused: e.Refused}
		if e.Reserved != nil {
			v.Reserved = e.Reserved.String()
		}
		if e.Metered {
			v.State = "metered"
		}
		if e.Verified {
			v.State = "verified"
		}
		if e.Batch != (common.Hash{}) {
			b := e.Batch
			v.Batch = &b
		}
		out = append(out, v)
	}
	s.mu.Unlock()
	for i := range out {
		if s.o.Engine == nil {
			continue
		}
		for j, r := range out[i].Deliveries {
			if r.SlashBatch == (common.Hash{}) {
				continue
			}
			if st, ok := s.o.Engine.Lookup(r.SlashBatch); ok {
				out[i].Deliveries[j].SlashState, out[i].Deliveries[j].SlashTx = string(st.State), st.Tx
			}
		}
		if out[i].Batch == nil {
			continue
		}
		if st, ok := s.o.Engine.Lookup(*out[i].Batch); ok {
			out[i].BatchState = string(st.State)
			if st.State == settle.StateSettled {
				out[i].State = "settled"
				out[i].RewardTx = st.Tx
			}
		}
	}
	slices.SortFunc(out, func(a, b Event) int {
		if c := b.Request.WindowStart.Compare(a.Request.WindowStart); c != 0 {
			return c
		}
		return cmp.Compare(a.RequestID.String(), b.RequestID.String())
	})
	return out
}
