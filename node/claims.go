package node

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/gridmint/gridmint/rec"
	"github.com/prometheus/client_golang/prometheus"
)

// The certificate claim cycle (README "Certificates: the claim cycle"):
//
//  1. Claim. A home node builds, for each of its PV inverters with a zone
//     and a location, every hour whose end has been reached by a stored
//     reading (rec.Builder), from the readings timestamped up to
//     now − Grace: a reading arriving later than that is not in the hour.
//     The builder's state (next hour, counter, carry, pending readings) and
//     the claim are kept in the store before the claim is signed and
//     gossiped on /gridmint/1/claims, so a restart continues the device's
//     chain and never claims an hour twice with other numbers.
//  2. Check. Every node (the claimant too) collects the claims of an hour
//     until its end + Grace + Collect, then runs them through one
//     rec.Checker (every rule, zone comparisons included) in one call;
//     claims that come later, up to LateLimit after their hour, are
//     checked at the next tick. A claim for a device that another node
//     claimed first (foreign_device) never reaches the checker; one whose
//     hour ended more than LateLimit ago is checked, to keep the device's
//     chain, and refused (too_late).
//  3. Attest. A claim that passed waits Hold after its check (findings
//     about earlier hours, rec.Report.Later, may still refuse it: a copy
//     found over several hours, a device suspended for an impossible
//     claim); then the claims of one node and hour that pass are one batch
//     (rec.Assemble, within the gas model and the contract's high-water
//     mark), handed to the settlement engine: attested by every other
//     registered attestor, proposed by the claimant (whose own signature
//     never counts). With k attestations of other nodes the elected node
//     submits REC.issue; the certificates go to the device's owner
//     (registry owner, else the node's address).
//  4. Issue. A claim is issued when its batch's Issued event is in the
//     chain index (the engine says settled).
//
// Crash safety: claims and their status are kept in the store; the
// checker's history is rebuilt at start by replaying the kept claims; the
// engine keeps batches and attestations and submits through the chain
// client's recorded intents, and the contract refuses a batch id or an
// hour twice, so a crash between attesting and submitting never issues
// twice.

// ClaimsConfig times the claim cycle, in node time (the demo clock in a
// demo).
type ClaimsConfig struct {
	// Grace is how long after an hour's end its readings may still
	// arrive: the hour is built from readings timestamped up to now −
	// Grace. Default 5m.
	Grace time.Duration `yaml:"grace"`
	// Collect is how long after end + Grace a node waits for the hour's
	// claims before checking them together (profile comparisons need the
	// zone's claims side by side). Default 5m.
	Collect time.Duration `yaml:"collect"`
	// LateLimit: a claim whose hour ended longer ago is refused
	// (too_late). Default 6h.
	LateLimit time.Duration `yaml:"late_limit"`
	// Retention is how long claims are kept and shown. Default 48h.
	Retention time.Duration `yaml:"retention"`
	// Hold is how long a claim that passed its check waits before this
	// node attests it (or proposes it, for its own), so that a finding
	// about its hour made while checking a later hour (rec.Report.Later:
	// its device's profile found copied over several hours, or the device
	// suspended for an impossible claim) withholds the attestation. 0
	// (the default) attests at once; such a finding then only marks the
	// attested claim. At most late_limit.
	Hold time.Duration `yaml:"hold"`
	// Disabled turns the cycle off (no claims made, none checked).
	Disabled bool `yaml:"disabled"`
}

func (c *ClaimsConfig) applyDefaults() {
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&c.Grace, 5*time.Minute)
	set(&c.Collect, 5*time.Minute)
	set(&c.LateLimit, 6*time.Hour)
	set(&c.Retention, 48*time.Hour)
}

func (c ClaimsConfig) validate() error {
	switch {
	case c.Grace < 0 || c.Grace > time.Hour:
		return fieldErr("claims.grace", "%v: want 0 to 1h", c.Grace)
	case c.Collect < 0 || c.Collect > time.Hour:
		return fieldErr("claims.collect", "%v: want 0 to 1h", c.Collect)
	case c.LateLimit < c.Grace+c.Collect || c.LateLimit > 24*time.Hour:
		return fieldErr("claims.late_limit", "%v: want grace + collect (%v) to 24h (the gossip retention)", c.LateLimit, c.Grace+c.Collect)
	case c.Hold < 0 || c.Hold > c.LateLimit:
		return fieldErr("claims.hold", "%v: want 0 to late_limit (%v)", c.Hold, c.LateLimit)
	case c.Retention < c.LateLimit || c.Retention > 30*24*time.Hour:
		return fieldErr("claims.retention", "%v: want late_limit to 720h", c.Retention)
	}
	return nil
}

// Claim statuses, as the API shows them.
const (
	ClaimPending  = "pending"  // made or received; not checked yet, or attested by fewer than k
	ClaimAttested = "attested" // passed here and attested (or proposed, for own claims)
	ClaimIssued   = "issued"   // its batch is issued on chain
	ClaimRefused  = "refused"  // refused here; Reasons say why
)

// Node-level refusal reasons, besides rec's rule reasons.
const (
	ClaimTooLate       gridmint.ClaimReason = "too_late"       // the hour ended more than claims.late_limit ago
	ClaimForeignDevice gridmint.ClaimReason = "foreign_device" // another node claimed the device first
)

// claimReasons are every reason counted at /metrics.
var claimReasons = append(slices.Clone(gridmint.ClaimReasons), ClaimTooLate, ClaimForeignDevice)

// claimRecord is one claim as this node knows it; kept in the store as
// JSON under claimKeyPrefix.
type claimRecord struct {
	V        int            `json:"v"`
	Claim    gridmint.Claim `json:"claim"`
	Own      bool           `json:"own,omitempty"`
	Sent     bool           `json:"sent,omitempty"` // own: gossiped
	Received time.Time      `json:"received"`
	Checked  bool           `json:"checked,omitempty"`
	// CheckedAt is when the checker gave its verdict (node time); a
	// passing claim is attested Hold later.
	CheckedAt time.Time     `json:"checked_at,omitzero"`
	Status    string        `json:"status"`
	Findings  []rec.Finding `json:"findings,omitempty"`
	Batch     common.Hash   `json:"batch,omitzero"`
	Tx        *common.Hash  `json:"tx,omitempty"`
	Message   common.Hash   `json:"message,omitzero"` // the gossip envelope's id
}

// builderRecord is a device's rec.Builder state and how far its readings
// were read.
type builderRecord struct {
	V      int              `json:"v"`
	State  rec.BuilderState `json:"state"`
	Cursor time.Time        `json:"cursor"` // readings before it were fed
}

// Store keys, in the settlement namespace (node/store's PutSettle), apart
// from the engine's "b/" and "a/".
const (
	claimKeyPrefix    = "rc/"
	evidenceKeyPrefix = "re/" // second claims for a device-hour (equivocations)
	builderKeyPrefix  = "rb/"
)

func claimKey(id rec.ClaimID) string {
	return fmt.Sprintf("%s%020d/%s", claimKeyPrefix, int64(id.Hour), id.Device)
}

func evidenceKey(c gridmint.Claim) string {
	return fmt.Sprintf("%s%020d/%s/%s", evidenceKeyPrefix, int64(c.Hour), c.Device, c.ReadingsRoot)
}

// claimStore is what the service keeps and reads (node/store.Store).
type claimStore interface {
	PutSettle(key string, value []byte) error
	DeleteSettle(keys []string) error
	ScanSettle(prefix string, fn func(key string, value []byte) error) error
	Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error)
}

// claimEngine is the settlement engine (node/settle).
type claimEngine interface {
	Attest(ctx context.Context, b settle.Batch) error
	Propose(b settle.Batch) (common.Hash, error)
	Lookup(id common.Hash) (settle.Status, bool)
}

type claimService struct {
	cfg       ClaimsConfig
	log       *slog.Logger
	clock     gridmint.Clock
	self      gridmint.Address
	home      bool
	key       func(gridmint.DeviceID) gridmint.DeviceKey
	devices   func() []gridmint.Device
	store     claimStore
	publish   func(ctx context.Context, b p2p.Body) (p2p.Message, error)
	engine    claimEngine
	attestors func() chain.AttestorSet
	nextHour  func(ctx context.Context, d gridmint.DeviceKey) (gridmint.Hour, error)
	m         *claimMetrics

	mu      sync.Mutex
	checker *rec.Checker
	records map[rec.ClaimID]*claimRecord
	// evidence are second claims for a device-hour with other content.
	evidence []*claimRecord
	bound    map[gridmint.DeviceKey]gridmint.Address // device → the node that claimed it first
	skipped  map[gridmint.DeviceID]string            // devices that cannot be claimed, logged once
}

func newClaimService(s *claimService) (*claimService, error) {
	s.checker = rec.NewChecker(rec.DefaultRules(), 0)
	s.records = map[rec.ClaimID]*claimRecord{}
	s.bound = map[gridmint.DeviceKey]gridmint.Address{}
	s.skipped = map[gridmint.DeviceID]string{}
	if s.m == nil {
		s.m = newClaimMetrics()
	}
	// Rebuild from the store: the records, and the checker's history by
	// replaying the checked claims in hour order (verdicts ignored: they
	// were given before).
	var replay []gridmint.Claim
	load := func(evidence bool) func(string, []byte) error {
		return func(_ string, v []byte) error {
			var r claimRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("claims: stored claim: %w", err)
			}
			if evidence {
				s.evidence = append(s.evidence, &r)
			} else {
				s.records[rec.ID(r.Claim)] = &r
			}
			if _, ok := s.bound[r.Claim.Device]; !ok && !hasFinding(r.Findings, ClaimForeignDevice) {
				s.bound[r.Claim.Device] = r.Claim.Node
			}
			if r.Checked && !hasFinding(r.Findings, ClaimForeignDevice) {
				replay = append(replay, r.Claim)
			}
			return nil
		}
	}
	if err := s.store.ScanSettle(claimKeyPrefix, load(false)); err != nil {
		return nil, err
	}
	if err := s.store.ScanSettle(evidenceKeyPrefix, load(true)); err != nil {
		return nil, err
	}
	// Firsts before seconds, in hour order: as they were checked.
	slices.SortStableFunc(replay, func(a, b gridmint.Claim) int { return cmp.Compare(a.Hour, b.Hour) })
	if len(replay) > 0 {
		s.checker.Check(replay, s.clock.Now())
	}
	return s, nil
}

func hasFinding(fs []rec.Finding, r gridmint.ClaimReason) bool {
	return slices.ContainsFunc(fs, func(f rec.Finding) bool { return f.Reason == r })
}

// run ticks the cycle every tick of wall time until ctx ends.
func (s *claimService) run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		s.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step is one round: make due claims, check due claims, follow batches,
// prune.
func (s *claimService) step(ctx context.Context) {
	now := s.clock.Now()
	if s.home {
		s.produce(ctx, now)
	}
	s.checkDue(ctx, now)
	s.attestDue(ctx, now)
	s.follow()
	s.prune(now)
}

// produce builds and gossips the claims of every own PV inverter's hours
// that closed (with their grace) since the last round.
func (s *claimService) produce(ctx context.Context, now time.Time) {
	s.resend(ctx)
	cutoff := now.Add(-s.cfg.Grace)
	for _, d := range s.devices() {
		if d.Kind != gridmint.KindPVInverter {
			continue
		}
		facts, why := s.factsOf(d)
		if why != "" {
			s.mu.Lock()
			if s.skipped[d.ID] != why {
				s.skipped[d.ID] = why
				s.log.Warn("claims: device not claimed", "device", d.ID, "why", why)
			}
			s.mu.Unlock()
			continue
		}
		if err := s.produceDevice(ctx, d.ID, facts, cutoff); err != nil {
			s.log.Warn("claims: building hours", "device", d.ID, "err", err)
		}
	}
}

// factsOf is what a claim says about d, or why d cannot be claimed.
func (s *claimService) factsOf(d gridmint.Device) (rec.DeviceFacts, string) {
	f := rec.DeviceFacts{Device: s.key(d.ID), Node: s.self, Owner: s.self, Zone: d.Zone, Technology: gridmint.TechnologySolarPV, Nameplate: d.Nameplate}
	switch {
	case d.Zone == "":
		return f, "no zone: set devices[].zone"
	case d.Location == nil:
		return f, "no location: set devices[].location (lat, lon)"
	case !(d.Nameplate > 0):
		return f, "no nameplate: set devices[].nameplate_w"
	}
	if d.Owner != "" {
		o, err := gridmint.ParseAddress(d.Owner)
		if err != nil {
			return f, fmt.Sprintf("owner %q: %v", d.Owner, err)
		}
		f.Owner = o
	}
	loc, err := gridmint.Coarsen(*d.Location)
	if err != nil {
		return f, err.Error()
	}
	f.Location = loc
	return f, ""
}

func builderKey(id gridmint.DeviceID) string { return builderKeyPrefix + string(id) }

// produceDevice feeds the device's readings up to cutoff to its builder
// and claims the hours it completes.
func (s *claimService) produceDevice(ctx context.Context, id gridmint.DeviceID, facts rec.DeviceFacts, cutoff time.Time) error {
	var br builderRecord
	found := false
	err := s.store.ScanSettle(builderKey(id), func(k string, v []byte) error {
		if k != builderKey(id) {
			return nil
		}
		found = true
		return json.Unmarshal(v, &br)
	})
	if err != nil {
		return err
	}
	if !found {
		// A new device (or a node that just learned to claim): start
		// with the hour before the last closed one, not its whole history.
		br = builderRecord{V: 1, Cursor: cutoff.Truncate(time.Hour).Add(-time.Hour)}
	}
	if !cutoff.After(br.Cursor) {
		return nil
	}
	b := rec.NewBuilder(br.State, 0)
	from := br.Cursor
	for {
		rs, err := s.store.Readings(id, from, cutoff, 0)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if err := b.Add(r); err != nil {
				// Out of order (a late reading before one already fed):
				// not in any hour; the quarantine has the device's
				// refused inputs, this one is only skipped.
				s.log.Debug("claims: reading skipped", "device", id, "err", err)
			}
		}
		if len(rs) < 10000 {
			break
		}
		from = rs[len(rs)-1].Time.Add(time.Millisecond)
	}
	hours := b.Hours()
	var made []*claimRecord
	for _, iv := range hours {
		c, err := rec.NewClaim(iv, facts)
		if err != nil {
			s.log.Warn("claims: hour not claimable", "device", id, "hour", iv.Hour, "err", err)
			continue
		}
		cid := rec.ID(c)
		s.mu.Lock()
		if old, ok := s.records[cid]; ok && old.Own {
			// Claimed before a crash: the kept claim stands (never a
			// second claim with other numbers for one hour).
			s.mu.Unlock()
			continue
		}
		r := &claimRecord{V: 1, Claim: c, Own: true, Received: s.clock.Now(), Status: ClaimPending}
		s.records[cid] = r
		s.mu.Unlock()
		if err := s.save(r); err != nil {
			return err
		}
		made = append(made, r)
	}
	br.State, br.Cursor = b.State(), cutoff
	v, _ := json.Marshal(br)
	if err := s.store.PutSettle(builderKey(id), v); err != nil {
		return err
	}
	for _, r := range made {
		s.send(ctx, r)
	}
	return nil
}

// send gossips an own claim; one that fails is sent again next round.
func (s *claimService) send(ctx context.Context, r *claimRecord) {
	s.mu.Lock()
	c := r.Claim
	s.mu.Unlock()
	m, err := s.publish(ctx, p2p.RECClaim(c))
	if err != nil && gridmint.ErrorCode(err) != gridmint.EConflict {
		s.log.Warn("claims: gossip", "device", c.Device, "hour", c.Hour, "err", err)
		return
	}
	s.m.made.Inc()
	s.log.Info("claims: claim gossiped", "device", c.Device, "hour", c.Hour, "wh", c.Wh, "quality", c.Quality)
	s.mu.Lock()
	r.Sent = true
	if err == nil {
		r.Message = m.ID
	}
	s.mu.Unlock()
	_ = s.save(r)
}

// resend gossips own claims kept but not sent (a crash or a gossip error).
func (s *claimService) resend(ctx context.Context) {
	s.mu.Lock()
	var todo []*claimRecord
	for _, r := range s.records {
		if r.Own && !r.Sent {
			todo = append(todo, r)
		}
	}
	s.mu.Unlock()
	for _, r := range todo {
		s.send(ctx, r)
	}
}

func (s *claimService) save(r *claimRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveLocked(r)
}

// handle takes an accepted claim message (own ones too: the gossip layer
// hands them over as well).
func (s *claimService) handle(m p2p.Message) {
	b, ok := m.Body.(p2p.RECClaim)
	if !ok {
		return
	}
	c := gridmint.Claim(b)
	id := rec.ID(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.received.Inc()
	r, known := s.records[id]
	if known && r.Claim == c {
		if r.Message == (common.Hash{}) {
			r.Message = m.ID
			_ = s.saveLocked(r)
		}
		return
	}
	nr := &claimRecord{V: 1, Claim: c, Own: c.Node == s.self, Sent: c.Node == s.self, Received: s.clock.Now(), Status: ClaimPending, Message: m.ID}
	if owner, ok := s.bound[c.Device]; ok && owner != c.Node {
		nr.Checked = true
		s.refuseLocked(nr, rec.Finding{Claim: id, Reason: ClaimForeignDevice, Refuse: true,
			Detail: fmt.Sprintf("device claimed by node %s first", owner)})
	} else if !ok {
		s.bound[c.Device] = c.Node
	}
	if known {
		// A second claim for the hour with other content: kept apart as
		// evidence; the checker refuses both (equivocation).
		if slices.ContainsFunc(s.evidence, func(e *claimRecord) bool { return e.Claim == c }) {
			return
		}
		s.evidence = append(s.evidence, nr)
		_ = s.saveLocked(nr)
		return
	}
	s.records[id] = nr
	_ = s.saveLocked(nr)
}

func (s *claimService) refuseLocked(r *claimRecord, fs ...rec.Finding) {
	r.Findings = append(r.Findings, fs...)
	for _, f := range fs {
		if f.Refuse {
			r.Status = ClaimRefused
			s.m.refused.WithLabelValues(string(f.Reason)).Inc()
		}
	}
}

// applyLocked records a report's verdicts for recs (in Check's order).
func (s *claimService) applyLocked(recs []*claimRecord, rep rec.Report) {
	for i, v := range rep.Verdicts {
		r := recs[i]
		r.Checked = true
		if v.Duplicate {
			continue
		}
		s.refuseLocked(r, v.Findings...)
	}
	for _, f := range rep.Later {
		r, ok := s.records[f.Claim]
		if !ok || !f.Refuse {
			continue
		}
		f.Detail = "found later: " + f.Detail
		if slices.Contains(r.Findings, f) {
			continue
		}
		switch {
		case r.Status == ClaimRefused:
			r.Findings = append(r.Findings, f)
			s.m.later.WithLabelValues(string(f.Reason), laterRefused).Inc()
		case r.Batch == (common.Hash{}):
			// Passed, still held: never attested.
			s.refuseLocked(r, f)
			s.m.later.WithLabelValues(string(f.Reason), laterWithheld).Inc()
		default:
			// Attested (or proposed) already: the signature is out, and
			// the status stays what the chain will say; the finding
			// shows with the claim.
			r.Findings = append(r.Findings, f)
			s.m.later.WithLabelValues(string(f.Reason), laterAttested).Inc()
			s.log.Warn("claims: a finding about a claim already attested", "device", r.Claim.Device, "hour", r.Claim.Hour,
				"reason", f.Reason, "status", r.Status, "detail", f.Detail)
		}
		_ = s.saveLocked(r)
	}
}

// Outcomes of a finding about an earlier hour (rec.Report.Later): the
// outcome label of gridmint_rec_claims_found_later_total.
const (
	laterWithheld = "withheld" // passed, held (claims.hold): refused, never attested
	laterAttested = "attested" // attested or proposed already: marked only
	laterRefused  = "refused"  // refused already for another reason
)

func (s *claimService) saveLocked(r *claimRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	key := claimKey(rec.ID(r.Claim))
	if first, ok := s.records[rec.ID(r.Claim)]; ok && first != r {
		key = evidenceKey(r.Claim)
	}
	return s.store.PutSettle(key, v)
}

// checkDue checks the claims whose hour's collection window has closed,
// all in one Check call, and attests what passes.
func (s *claimService) checkDue(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var due []*claimRecord
	isDue := func(r *claimRecord) bool {
		return !r.Checked && !now.Before(r.Claim.Hour.End().Add(s.cfg.Grace+s.cfg.Collect))
	}
	for _, r := range s.records {
		if isDue(r) {
			due = append(due, r)
		}
	}
	for _, r := range s.evidence {
		if isDue(r) {
			due = append(due, r) // after the firsts: the checker takes a device-hour's first claim first
		}
	}
	if len(due) == 0 {
		s.mu.Unlock()
		return
	}
	slices.SortStableFunc(due, func(a, b *claimRecord) int {
		if c := cmp.Compare(a.Claim.Hour, b.Claim.Hour); c != 0 {
			return c
		}
		return strings.Compare(a.Claim.Device.String(), b.Claim.Device.String())
	})
	claims := make([]gridmint.Claim, len(due))
	for i, r := range due {
		claims[i] = r.Claim
	}
	rep := s.checker.Check(claims, now)
	s.applyLocked(due, rep)
	for _, eq := range rep.Equivocations {
		s.m.equivocations.Inc()
		s.log.Warn("claims: equivocation", "device", eq.First.Device, "hour", eq.First.Hour, "node", eq.First.Node)
	}
	// Too late: checked (the device's chain goes on) but refused.
	for _, r := range due {
		if now.Sub(r.Claim.Hour.End()) > s.cfg.LateLimit && r.Status != ClaimRefused {
			s.refuseLocked(r, rec.Finding{Claim: rec.ID(r.Claim), Reason: ClaimTooLate, Refuse: true,
				Detail: fmt.Sprintf("the hour ended %v ago, over claims.late_limit %v", now.Sub(r.Claim.Hour.End()).Round(time.Second), s.cfg.LateLimit)})
		}
	}
	for _, r := range due {
		r.CheckedAt = now
		_ = s.saveLocked(r)
	}
	s.mu.Unlock()
}

// attestDue attests the claims that passed and have been held for
// claims.hold, per claiming node and hour; a round that fails (the
// contract's high-water mark unread, the engine refusing a batch) leaves
// them for the next round.
func (s *claimService) attestDue(ctx context.Context, now time.Time) {
	s.mu.Lock()
	groups := map[string][]gridmint.Claim{}
	for _, r := range s.records {
		if !r.Checked || r.Status != ClaimPending || r.Batch != (common.Hash{}) || now.Before(r.CheckedAt.Add(s.cfg.Hold)) {
			continue
		}
		k := fmt.Sprintf("%s/%020d", r.Claim.Node, int64(r.Claim.Hour))
		groups[k] = append(groups[k], r.Claim)
	}
	s.mu.Unlock()
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s.attest(ctx, groups[k])
	}
}

// attest hands the passing claims of one node and hour to the engine.
func (s *claimService) attest(ctx context.Context, claims []gridmint.Claim) {
	set := s.attestors()
	next := map[gridmint.DeviceKey]gridmint.Hour{}
	for _, c := range claims {
		h, err := s.nextHour(ctx, c.Device)
		if err != nil {
			s.log.Warn("claims: the contract's high-water mark", "device", c.Device, "err", err)
			return // next round: the claims stay checked, their batch unmade
		}
		next[c.Device] = h
	}
	batches, skipped := rec.Assemble(claims, next, int(set.Threshold), rec.DefaultGas())
	s.mu.Lock()
	for _, f := range skipped {
		if r, ok := s.records[f.Claim]; ok {
			s.refuseLocked(r, f)
			_ = s.saveLocked(r)
		}
	}
	s.mu.Unlock()
	for _, b := range batches {
		cc := make([]chain.Claim, len(b.Claims))
		for i, c := range b.Claims {
			cc[i] = chainClaim(c)
		}
		sb, err := settle.RECIssue(cc)
		if err != nil {
			s.log.Error("claims: batch", "err", err)
			continue
		}
		own := b.Claims[0].Node == s.self
		if own || !set.Has(common.Address(s.self)) {
			// The claimant's own signature never counts; a node outside
			// the registry's would not either. Both collect and may submit.
			_, err = s.engine.Propose(sb)
		} else {
			err = s.engine.Attest(ctx, sb)
		}
		if err != nil {
			s.log.Warn("claims: batch to the engine", "batch", sb.ID(), "err", err)
			continue
		}
		s.mu.Lock()
		for _, c := range b.Claims {
			if r, ok := s.records[rec.ID(c)]; ok && r.Claim == c {
				r.Batch = sb.ID()
				if !own {
					r.Status = ClaimAttested
					s.m.attested.Inc()
				}
				_ = s.saveLocked(r)
			}
		}
		s.mu.Unlock()
		s.log.Info("claims: batch attested", "batch", sb.ID(), "claims", len(b.Claims), "own", own, "node", b.Claims[0].Node, "hour", b.Claims[0].Hour)
	}
}

// chainClaim is the contract's part of c.
func chainClaim(c gridmint.Claim) chain.Claim {
	var zone [32]byte
	copy(zone[:], c.Zone)
	return chain.Claim{Device: common.Hash(c.Device), Node: common.Address(c.Node), Owner: common.Address(c.Owner), Zone: zone, Technology: uint8(c.Technology),
		Hour: uint64(c.Hour), Wh: uint64(c.Wh), ReadingsRoot: common.Hash(c.ReadingsRoot)}
}

// follow marks claims issued once their batch settled, and own claims
// attested once their batch has k attestations of other nodes.
func (s *claimService) follow() {
	s.mu.Lock()
	var open []*claimRecord
	for _, r := range s.records {
		if (r.Status == ClaimAttested || r.Status == ClaimPending) && r.Batch != (common.Hash{}) {
			open = append(open, r)
		}
	}
	s.mu.Unlock()
	for _, r := range open {
		st, ok := s.engine.Lookup(r.Batch)
		if !ok {
			continue
		}
		if st.State != settle.StateSettled {
			if st.Ready != nil {
				s.mu.Lock()
				if r.Status == ClaimPending {
					r.Status = ClaimAttested
					_ = s.saveLocked(r)
				}
				s.mu.Unlock()
			}
			continue
		}
		s.mu.Lock()
		r.Status, r.Tx = ClaimIssued, st.Tx
		s.m.issued.Inc()
		s.m.issuedWh.Add(float64(r.Claim.Wh))
		_ = s.saveLocked(r)
		s.mu.Unlock()
	}
}

// prune forgets claims older than the retention.
func (s *claimService) prune(now time.Time) {
	floor := gridmint.HourOf(now.Add(-s.cfg.Retention))
	s.mu.Lock()
	var keys []string
	for id, r := range s.records {
		if id.Hour < floor && (r.Checked || !r.Own) {
			delete(s.records, id)
			keys = append(keys, claimKey(id))
		}
	}
	s.evidence = slices.DeleteFunc(s.evidence, func(r *claimRecord) bool {
		if r.Claim.Hour < floor {
			keys = append(keys, evidenceKey(r.Claim))
			return true
		}
		return false
	})
	s.mu.Unlock()
	if len(keys) > 0 {
		_ = s.store.DeleteSettle(keys)
	}
}

// Claims lists the claims this node knows, newest hour first; status ""
// lists all.
// Claim implements api.ClaimSource: the claim behind a device-hour's
// certificates, while this node keeps it (claims.retention).
func (s *claimService) Claim(d gridmint.DeviceKey, h gridmint.Hour) (gridmint.Claim, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[rec.ClaimID{Device: d, Hour: h}]
	if !ok {
		return gridmint.Claim{}, false
	}
	return r.Claim, true
}

func (s *claimService) Claims(status string, limit int) []api.ClaimView {
	s.mu.Lock()
	out := make([]api.ClaimView, 0, len(s.records)+len(s.evidence))
	for _, r := range append(slices.Collect(maps.Values(s.records)), s.evidence...) {
		if status != "" && r.Status != status {
			continue
		}
		v := api.ClaimView{Claim: r.Claim, Status: r.Status, Own: r.Own, Received: r.Received, Message: r.Message, Tx: r.Tx,
			HourStart: r.Claim.Hour.Start()}
		if r.Batch != (common.Hash{}) {
			b := r.Batch
			v.Batch = &b
		}
		for _, f := range r.Findings {
			v.Findings = append(v.Findings, api.ClaimFinding{Reason: string(f.Reason), Refuse: f.Refuse, Detail: f.Detail})
		}
		out = append(out, v)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b api.ClaimView) int {
		if c := cmp.Compare(b.Claim.Hour, a.Claim.Hour); c != 0 {
			return c
		}
		return strings.Compare(a.Claim.Device.String(), b.Claim.Device.String())
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// claimMetrics are the cycle's counters (gridmint_rec_*).
type claimMetrics struct {
	made, received, attested, issued, equivocations prometheus.Counter
	issuedWh                                        prometheus.Counter
	refused, later                                  *prometheus.CounterVec
}

func newClaimMetrics() *claimMetrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &claimMetrics{
		made:          c("gridmint_rec_claims_made_total", "Certificate claims this node made and gossiped for its own devices."),
		received:      c("gridmint_rec_claims_received_total", "Certificate claim messages accepted from gossip (own ones included)."),
		attested:      c("gridmint_rec_claims_attested_total", "Claims that passed here and went into a batch this node attested (or proposed, for its own)."),
		issued:        c("gridmint_rec_claims_issued_total", "Claims whose batch was issued on chain."),
		issuedWh:      c("gridmint_rec_issued_wh_total", "Wh of the claims issued on chain, as this node saw them."),
		equivocations: c("gridmint_rec_equivocations_total", "Second claims for a device-hour with other content; both are refused and kept."),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_rec_claims_refused_total",
			Help: "Claims refused here, by reason (rec's rule reasons, too_late, foreign_device)."}, []string{"reason"}),
		later: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_rec_claims_found_later_total",
			Help: "Refusing findings about a claim checked before (rec's Report.Later: a copy found over several hours, its device suspended for an impossible claim), by reason and outcome: withheld (held by claims.hold: refused, never attested), attested (signed already: marked only), refused (refused already)."},
			[]string{"reason", "outcome"}),
	}
	for _, r := range claimReasons {
		m.refused.WithLabelValues(string(r))
	}
	for _, r := range gridmint.ClaimReasons {
		for _, o := range []string{laterWithheld, laterAttested, laterRefused} {
			m.later.WithLabelValues(string(r), o)
		}
	}
	return m
}

func (m *claimMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.made, m.received, m.attested, m.issued, m.issuedWh, m.equivocations, m.refused, m.later}
}
