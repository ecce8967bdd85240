package settle

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/prometheus/client_golang/prometheus"
)

// State is where a batch stands at this node. The values are stable:
// stored, shown by the API and used as metric labels.
type State string

// Batch states.
const (
	// StateCollecting: fewer counting attestations here than the batch needs.
	StateCollecting State = "collecting"
	// StateReady: enough; waiting for this node's turn, or for the
	// submitter before it to settle the batch.
	StateReady State = "ready"
	// StateSubmitting: this node is sending it.
	StateSubmitting State = "submitting"
	// StateSettled: on chain, by this node's transaction or another's.
	StateSettled State = "settled"
	// StateFailed: the contract refuses it for a reason retrying cannot
	// fix (an hour or record settled by another batch), or it failed
	// MaxAttempts times.
	StateFailed State = "failed"
)

// States lists every state.
var States = []State{StateCollecting, StateReady, StateSubmitting, StateSettled, StateFailed}

// Chain is what the engine needs of the settlement chain; *chain.Client
// satisfies it. Issue and Reward must be idempotent by batch id across a
// crash (the client's recorded intents).
type Chain interface {
	Address() common.Address
	RECDomain() chain.Domain
	FLEXDomain() chain.Domain
	Issue(ctx context.Context, b chain.IssueBatch, sigs [][]byte) (*chain.Receipt, error)
	Reward(ctx context.Context, b chain.RewardBatch, sigs [][]byte) (*chain.Receipt, error)
	Slash(ctx context.Context, s chain.Slash, sigs [][]byte) (*chain.Receipt, error)
	// Rewarded tells a reward batch minted from one that lost its
	// records to another batch: the Rewarded events name records only.
	Rewarded(ctx context.Context, batchID common.Hash) (bool, error)
}

// Index is the chain event index (node/store, chain.MemIndex).
type Index interface {
	Head(ctx context.Context) (chain.BlockRef, bool, error)
	Events(ctx context.Context, q chain.EventQuery) ([]chain.Event, error)
}

// Gossip publishes this node's attestations; *p2p.Node satisfies it.
type Gossip interface {
	Publish(ctx context.Context, body p2p.Body) (p2p.Message, error)
}

// Config configures an Engine. Key, Chain, Attestors, Index, Gossip,
// Store and Clock are required.
type Config struct {
	// Key is the node's key: it signs the batch digests (its address must
	// be the chain client's, which the registry knows).
	Key *ecdsa.PrivateKey
	// Chain submits batches.
	Chain Chain
	// Attestors is the registry the engine counts and elects by; Run
	// refreshes it every RegistryRefresh.
	Attestors *Attestors
	// Index tells which batches are on chain.
	Index Index
	// Gossip carries this node's attestations to the others.
	Gossip Gossip
	// Store keeps batches and attestations across restarts.
	Store Store
	// Clock is the node's clock (the demo clock in `gridmint demo`):
	// batch ages, fallbacks (Timing.Fallback) and retention.
	Clock gridmint.Clock
	// Wall is the wall clock, for Timing.MinFallbackWall; nil is the
	// system clock.
	Wall gridmint.Clock
	// Timing is when fallbacks fire; zero fields take the defaults.
	Timing Timing
	// Tick is how often (wall time) Run checks the index, elections and
	// retries; default 1 s.
	Tick time.Duration
	// RegistryRefresh is how often (wall time) Run reads the registry
	// again; default 1 min.
	RegistryRefresh time.Duration
	// Retention is how long (node clock) batches are kept after they were
	// first seen, and the newest chain events remembered; default 7 days.
	Retention time.Duration
	// OrphanTTL is how long (node clock) attestations of batches this node
	// does not know are kept: the gossip retention, default 24 h.
	OrphanTTL time.Duration
	// MaxOrphans bounds those attestations; default 65,536.
	MaxOrphans int
	// MaxAttempts is how often a submission that failed is tried;
	// default 3.
	MaxAttempts int
	// Logger; nil discards.
	Logger *slog.Logger
}

func (c *Config) applyDefaults() {
	if c.Wall == nil {
		c.Wall = gridmint.SystemClock{}
	}
	if c.Timing.Fallback <= 0 {
		c.Timing.Fallback = DefaultFallback
	}
	if c.Timing.MinFallbackWall <= 0 {
		c.Timing.MinFallbackWall = DefaultMinFallbackWall
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.RegistryRefresh <= 0 {
		c.RegistryRefresh = time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.OrphanTTL <= 0 {
		c.OrphanTTL = p2p.DefaultRetention
	}
	if c.MaxOrphans <= 0 {
		c.MaxOrphans = 1 << 16
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// maxConcurrentSubmits bounds this node's batches in flight at once.
const maxConcurrentSubmits = 4

// pruneEvery is how often (wall time) Step drops what Retention and
// OrphanTTL let go.
const pruneEvery = 10 * time.Minute

// Engine collects k-of-n attestations of batches, elects one submitter
// per batch and submits when it is this node's turn. Safe for concurrent
// use.
type Engine struct {
	cfg     Config
	self    common.Address
	log     *slog.Logger
	m       *metrics
	domains map[Kind]chain.Domain
	sem     chan struct{}
	wg      sync.WaitGroup

	mu          sync.Mutex
	batches     map[common.Hash]*batch // by digest
	orphans     map[common.Hash]map[common.Address]attRecord
	orphanCount int
	seen        map[common.Hash]onChain // Issued batch ids and Rewarded record ids
	cursor      uint64                  // next index block to read
	inflight    map[common.Hash]bool    // submissions
	publishing  map[common.Hash]bool    // own attestations being gossiped
	lastRefresh time.Time               // wall
	lastPrune   time.Time               // wall
}

// batch is one known batch: its record and the attestations at hand.
type batch struct {
	rec    batchRecord
	id     common.Hash
	digest common.Hash
	sigs   map[common.Address]attRecord // valid, by signer; counting filters by the registry
}

// onChain is where an event put a batch or a reward record.
type onChain struct {
	tx    common.Hash
	block uint64
	by    common.Address // the submitter, for Issued
	time  uint64         // block time, Unix s
}

// New returns an engine over the records in cfg.Store. It reads nothing
// from the chain: call cfg.Attestors.Refresh first (node.Start does) so
// that gossip is checked against the registry from the start.
func New(cfg Config) (*Engine, error) {
	cfg.applyDefaults()
	switch {
	case cfg.Key == nil, cfg.Chain == nil, cfg.Attestors == nil, cfg.Index == nil, cfg.Gossip == nil, cfg.Store == nil, cfg.Clock == nil:
		return nil, gridmint.Errorf(gridmint.EInvalid, "settle: Key, Chain, Attestors, Index, Gossip, Store and Clock are required")
	}
	self := ethcrypto.PubkeyToAddress(cfg.Key.PublicKey)
	if a := cfg.Chain.Address(); a != self {
		return nil, gridmint.Errorf(gridmint.EInvalid, "settle: the chain client's account %s is not the node key's %s", a, self)
	}
	e := &Engine{
		cfg: cfg, self: self, log: cfg.Logger,
		domains: map[Kind]chain.Domain{KindRECIssue: cfg.Chain.RECDomain(), KindFLEXReward: cfg.Chain.FLEXDomain(), KindFLEXSlash: cfg.Chain.FLEXDomain()},
		sem:     make(chan struct{}, maxConcurrentSubmits),
		batches: map[common.Hash]*batch{}, orphans: map[common.Hash]map[common.Address]attRecord{},
		seen: map[common.Hash]onChain{}, inflight: map[common.Hash]bool{}, publishing: map[common.Hash]bool{},
	}
	e.m = newMetrics(gaugesAt{states: e.stateCounts, attestors: func() int { return len(cfg.Attestors.Set().Attestors) }})
	if err := e.load(); err != nil {
		return nil, err
	}
	return e, nil
}

// load reads the stored batches and attestations. A record that does not
// decode is logged and left in place (a newer version's, say): nothing is
// deleted on the way in.
func (e *Engine) load() error {
	err := e.cfg.Store.ScanSettle(prefixBatch, func(key string, v []byte) error {
		var r batchRecord
		if err := decodeRecord(v, &r, &r.V); err != nil {
			e.log.Warn("settle: batch record skipped", "key", key, "err", err)
			return nil
		}
		if err := r.Batch.Validate(); err != nil {
			e.log.Warn("settle: batch record skipped", "key", key, "err", err)
			return nil
		}
		if r.State == StateSubmitting {
			// It was this node's turn when it stopped. The chain client's
			// intent for the batch makes sending again safe: it finds the
			// transaction sent before, or the batch settled.
			r.State = StateReady
		}
		b := &batch{rec: r, id: r.Batch.ID(), digest: e.digest(r.Batch), sigs: map[common.Address]attRecord{}}
		e.batches[b.digest] = b
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle: load batches: %w", err)
	}
	err = e.cfg.Store.ScanSettle(prefixAttestation, func(key string, v []byte) error {
		digest, signer, err := parseAttKey(key)
		var r attRecord
		if err == nil {
			err = decodeRecord(v, &r, &r.V)
		}
		if err != nil {
			e.log.Warn("settle: attestation record skipped", "key", key, "err", err)
			return nil
		}
		if b := e.batches[digest]; b != nil && b.rec.Batch.Kind == r.Kind {
			b.sigs[signer] = r
			return nil
		}
		e.addOrphanLocked(digest, signer, r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle: load attestations: %w", err)
	}
	e.log.Info("settle: loaded", "batches", len(e.batches), "orphan_attestations", e.orphanCount)
	return nil
}

// Collectors are the engine's Prometheus metrics, for the node's registry.
func (e *Engine) Collectors() []prometheus.Collector { return e.m.collectors() }

// Address is the node's address: its attestations' signer.
func (e *Engine) Address() common.Address { return e.self }

// digest is the EIP-712 digest of b that the contract verifies.
func (e *Engine) digest(b Batch) common.Hash { return e.domains[b.Kind].Digest(b.structHash()) }

// Digest is the EIP-712 digest attestors sign for b, in this node's
// chain and contracts.
func (e *Engine) Digest(b Batch) (common.Hash, error) {
	if err := b.Validate(); err != nil {
		return common.Hash{}, err
	}
	return e.digest(b), nil
}

func (e *Engine) now() (clock, wall time.Time) { return e.cfg.Clock.Now(), e.cfg.Wall.Now() }

// Propose makes the batch known to this node without attesting it, so
// that attestations of it (gossiped before or after) are collected and the
// node can submit it when its turn comes. Proposing a batch again changes
// nothing. It returns the batch's digest.
func (e *Engine) Propose(b Batch) (common.Hash, error) {
	if err := b.Validate(); err != nil {
		return common.Hash{}, err
	}
	b = cloneBatch(b)
	digest := e.digest(b)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.batches[digest]; ok {
		return digest, nil
	}
	now, _ := e.now()
	st := &batch{rec: batchRecord{V: recordVersion, Batch: b, Created: now, State: StateCollecting}, id: b.ID(), digest: digest, sigs: map[common.Address]attRecord{}}
	for signer, r := range e.orphans[digest] {
		if r.Kind == b.Kind {
			st.sigs[signer] = r
		}
	}
	e.settleFromIndexLocked(st, nil)
	e.evaluateLocked(st)
	if err := e.saveLocked(st); err != nil {
		return common.Hash{}, err
	}
	// Orphans of the digest attested as another kind stay orphans (and
	// expire): they can never count.
	for signer := range st.sigs {
		delete(e.orphans[digest], signer)
		e.orphanCount--
	}
	if len(e.orphans[digest]) == 0 {
		delete(e.orphans, digest)
	}
	e.batches[digest] = st
	e.log.Info("settle: batch proposed", "kind", b.Kind, "id", st.id, "digest", digest, "items", b.Items(),
		"attestations", len(st.sigs), "state", st.rec.State)
	return digest, nil
}

func cloneBatch(b Batch) Batch {
	out := Batch{Kind: b.Kind}
	if b.Issue != nil {
		is := *b.Issue
		is.Claims = slices.Clone(is.Claims)
		out.Issue = &is
	}
	if b.Reward != nil {
		rw := *b.Reward
		rw.Rewards = slices.Clone(rw.Rewards)
		out.Reward = &rw
	}
	if b.Slash != nil {
		sl := *b.Slash
		out.Slash = &sl
	}
	for _, x := range b.Exclusions {
		out.Exclusions = append(out.Exclusions, slices.Clone(x))
	}
	return out
}

// Attest proposes the batch, signs its digest with the node key and
// gossips the signature: the caller (the certificate or market service)
// has decided the batch is right; the engine does not judge it. Attesting
// a batch again changes nothing. It is an error for a node that is not a
// registered attestor: its signature would not count. If gossip fails
// the attestation is kept and Run publishes it again.
func (e *Engine) Attest(ctx context.Context, b Batch) error {
	digest, err := e.Propose(b)
	if err != nil {
		return err
	}
	if !e.cfg.Attestors.IsAttestor(e.self) {
		return gridmint.Errorf(gridmint.EInvalid, "settle: node %s is not a registered attestor: its signature would not count", e.self)
	}
	e.mu.Lock()
	_, done := e.batches[digest].sigs[e.self]
	e.mu.Unlock()
	if done {
		return nil
	}
	sig, err := chain.Sign(e.cfg.Key, digest)
	if err != nil {
		return err
	}
	if reason, err := e.add(b.Kind, digest, e.self, sig, true); err != nil {
		return fmt.Errorf("settle: own attestation (%s): %w", reason, err)
	}
	return e.publish(ctx, b.Kind, digest, sig)
}

// publish gossips this node's attestation and marks it sent. A message
// that was stored but not gossiped counts as sent (peers fetch it by
// catch-up), and so does one the gossip layer has already: Attest and
// Run's resend may race.
func (e *Engine) publish(ctx context.Context, kind Kind, digest common.Hash, sig []byte) error {
	e.mu.Lock()
	if e.publishing[digest] {
		e.mu.Unlock()
		return nil
	}
	e.publishing[digest] = true
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.publishing, digest)
		e.mu.Unlock()
	}()
	m, err := e.cfg.Gossip.Publish(ctx, p2p.Attestation{Subject: digest, SubjectKind: kind.subjectKind(), Verdict: p2p.VerdictAccept, ChainSignature: sig})
	if err != nil && m.ID == (common.Hash{}) && gridmint.ErrorCode(err) != gridmint.EConflict {
		return fmt.Errorf("settle: gossip attestation of %s: %w", digest, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.batches[digest]
	if b == nil {
		return nil
	}
	r, ok := b.sigs[e.self]
	if !ok || !r.Unsent {
		return nil
	}
	r.Unsent = false
	if err := e.putAttLocked(digest, e.self, r); err != nil {
		return err
	}
	b.sigs[e.self] = r
	return nil
}

// HandleMessage takes an accepted gossip message (the node's p2p
// handler); all but accepted attestations of issue and reward batches
// are ignored. It never blocks on the network.
func (e *Engine) HandleMessage(m p2p.Message) {
	a, ok := m.Body.(p2p.Attestation)
	if !ok {
		return
	}
	kind, ok := kindOfSubject(a.SubjectKind)
	if !ok {
		return
	}
	if a.Verdict != p2p.VerdictAccept {
		e.m.received.WithLabelValues(string(kind), "reject").Inc()
		e.log.Info("settle: an attestor refused a batch", "kind", kind, "digest", a.Subject, "attestor", m.Author, "reason", a.Reason)
		return
	}
	if reason, err := e.add(kind, a.Subject, m.Author, a.ChainSignature, false); err != nil {
		e.log.Debug("settle: attestation not counted", "reason", reason, "kind", kind, "digest", a.Subject, "signer", m.Author, "err", err)
	}
}

// add records signer's signature over digest. It returns the rejection
// reason with an error when the attestation is not taken; the reason is
// counted.
func (e *Engine) add(kind Kind, digest common.Hash, signer common.Address, sig []byte, own bool) (reason string, err error) {
	defer func() {
		if reason != "" {
			e.m.rejected.WithLabelValues(reason).Inc()
		}
	}()
	if got, err := chain.Recover(digest, sig); err != nil || got != signer {
		return RejectBadSignature, fmt.Errorf("signature over %s by %s, not %s (%v)", digest, got, signer, err)
	}
	if !e.cfg.Attestors.IsAttestor(signer) {
		return RejectNotAttestor, fmt.Errorf("%s is not a registered attestor", signer)
	}
	now, _ := e.now()
	r := attRecord{V: recordVersion, Kind: kind, Signature: bytes.Clone(sig), Received: now, Unsent: own}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.batches[digest]
	var have attRecord
	var dup bool
	if b != nil {
		if b.rec.Batch.Kind != kind {
			return RejectWrongKind, fmt.Errorf("digest %s is a %s batch, attested as %s", digest, b.rec.Batch.Kind, kind)
		}
		have, dup = b.sigs[signer]
	} else {
		have, dup = e.orphans[digest][signer]
	}
	if dup {
		if signer == e.self && bytes.Equal(have.Signature, sig) {
			return "", nil // this node's own attestation, back from gossip
		}
		return RejectDuplicate, fmt.Errorf("%s attested %s already", signer, digest)
	}
	if b == nil && e.orphanCount >= e.cfg.MaxOrphans {
		return RejectOrphanLimit, fmt.Errorf("%d attestations of unknown batches held", e.orphanCount)
	}
	if err := e.putAttLocked(digest, signer, r); err != nil {
		return RejectStoreError, err
	}
	e.m.received.WithLabelValues(string(kind), "accept").Inc()
	if b == nil {
		e.addOrphanLocked(digest, signer, r)
		return "", nil
	}
	b.sigs[signer] = r
	if e.evaluateLocked(b) {
		if err := e.saveLocked(b); err != nil {
			e.log.Warn("settle: save batch", "id", b.id, "err", err)
		}
	}
	return "", nil
}

func (e *Engine) addOrphanLocked(digest common.Hash, signer common.Address, r attRecord) {
	if e.orphans[digest] == nil {
		e.orphans[digest] = map[common.Address]attRecord{}
	}
	e.orphans[digest][signer] = r
	e.orphanCount++
}

func (e *Engine) putAttLocked(digest common.Hash, signer common.Address, r attRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return e.cfg.Store.PutSettle(attKey(digest, signer), v)
}

func (e *Engine) saveLocked(b *batch) error {
	v, err := json.Marshal(b.rec)
	if err != nil {
		return err
	}
	if err := e.cfg.Store.PutSettle(batchKey(b.digest), v); err != nil {
		return fmt.Errorf("settle: save batch %s: %w", b.id, err)
	}
	return nil
}

// countingLocked are the signers at hand that the registry knows, in
// address order.
func (e *Engine) countingLocked(b *batch, set chain.AttestorSet) []common.Address {
	var out []common.Address
	for s := range b.sigs {
		if set.Has(s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y common.Address) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// evaluateLocked moves a collecting batch to ready when its counting
// signers make a quorum (and back, should the registry change under
// it). It reports whether the record changed.
func (e *Engine) evaluateLocked(b *batch) bool {
	set := e.cfg.Attestors.Set()
	ok := quorum(b.rec.Batch.Exclusions, e.countingLocked(b, set), int(set.Threshold))
	switch {
	case b.rec.State == StateCollecting && ok:
		b.rec.State = StateReady
		b.rec.ReadyClock, b.rec.ReadyWall = e.now()
		e.m.ready.WithLabelValues(string(b.rec.Batch.Kind)).Inc()
		e.log.Info("settle: batch ready", "kind", b.rec.Batch.Kind, "id", b.id, "attestations", len(b.sigs), "k", set.Threshold,
			"rank", Rank(b.id, set.Attestors, e.self))
		return true
	case b.rec.State == StateReady && !ok:
		b.rec.State = StateCollecting
		b.rec.ReadyClock, b.rec.ReadyWall = time.Time{}, time.Time{}
		return true
	}
	return false
}

// onChainLocked finds b in the events seen: a REC batch by its id; a
// reward batch by its records (the Rewarded events name records, which
// are usable once, not batches): any of them on chain means this batch is
// minted or can never be.
func (e *Engine) onChainLocked(b *batch) (onChain, bool) {
	switch b.rec.Batch.Kind {
	case KindRECIssue, KindFLEXSlash:
		oc, ok := e.seen[b.id] // a slash by its record id
		return oc, ok
	case KindFLEXReward:
		for _, r := range b.rec.Batch.Reward.Rewards {
			if oc, ok := e.seen[r.RecordID]; ok {
				return oc, true
			}
		}
	}
	return onChain{}, false
}

// settleFromIndexLocked marks b settled (or failed) from the events
// seen. A reward batch whose records are on chain needs rewarded, the
// contract's word on whether this batch or another minted them; without
// it the batch stays as it is. It reports whether the record changed.
func (e *Engine) settleFromIndexLocked(b *batch, rewarded map[common.Hash]bool) bool {
	oc, found := e.onChainLocked(b)
	if !found || b.rec.State == StateFailed {
		return false
	}
	kind := string(b.rec.Batch.Kind)
	if b.rec.Batch.Kind == KindFLEXReward && b.rec.State != StateSettled {
		minted, ok := rewarded[b.id]
		if !ok {
			return false
		}
		if !minted {
			b.rec.State, b.rec.Error = StateFailed, fmt.Sprintf("its records were minted by another batch (tx %s)", oc.tx)
			e.log.Warn("settle: batch overlaps another on chain", "kind", kind, "id", b.id, "tx", oc.tx)
			return true
		}
	}
	if b.rec.State == StateSettled {
		if b.rec.Tx != (common.Hash{}) {
			return false
		}
		// Settled by another node, learnt from the contract before the
		// index had the transaction.
		b.rec.Tx, b.rec.Block, b.rec.By = oc.tx, oc.block, oc.by
		return true
	}
	b.rec.State, b.rec.Tx, b.rec.Block, b.rec.By, b.rec.Error = StateSettled, oc.tx, oc.block, oc.by, ""
	if oc.by != e.self {
		e.m.byOthers.WithLabelValues(kind).Inc()
	}
	e.log.Info("settle: batch settled on chain", "kind", kind, "id", b.id, "tx", oc.tx, "block", oc.block, "by", oc.by)
	return true
}

// Run steps every Tick until ctx ends, then waits for submissions in
// flight.
func (e *Engine) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		e.Step(ctx)
		select {
		case <-ctx.Done():
			e.wg.Wait()
			return
		case <-t.C:
		}
	}
}

// Wait waits for the submissions Step started.
func (e *Engine) Wait() { e.wg.Wait() }

// Step does one round of the engine's work: reads the registry again if
// it is time, follows the chain index (batches settled there stop here),
// publishes own attestations gossip did not take, starts the submissions
// that are this node's turn (in the background; Wait waits for them) and
// drops what retention lets go.
func (e *Engine) Step(ctx context.Context) {
	_, wall := e.now()
	e.mu.Lock()
	refresh := wall.Sub(e.lastRefresh) >= e.cfg.RegistryRefresh
	if refresh {
		e.lastRefresh = wall
	}
	e.mu.Unlock()
	if refresh {
		if err := e.cfg.Attestors.Refresh(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("settle: registry", "err", err)
		}
	}
	if err := e.syncIndex(ctx); err != nil && ctx.Err() == nil {
		e.log.Warn("settle: chain index", "err", err)
	}
	e.resend(ctx)
	e.submitDue(ctx)
	e.prune(wall)
}

// syncIndex reads the Issued and Rewarded events indexed since the last
// call (the first call after a start reads them all: one scan of the
// index) and settles the batches they name.
func (e *Engine) syncIndex(ctx context.Context) error {
	head, ok, err := e.cfg.Index.Head(ctx)
	if err != nil || !ok {
		return err
	}
	e.mu.Lock()
	from := e.cursor
	e.mu.Unlock()
	// After a reorg the index rewinds; read the replaced blocks again.
	// (Events of dropped blocks stay in seen: the embedded chain never
	// reorgs, and a public chain is indexed Confirmations behind.)
	from = min(from, head.Number+1)
	var evs []chain.Event
	if from <= head.Number {
		evs, err = e.cfg.Index.Events(ctx, chain.EventQuery{Kinds: []chain.EventKind{chain.EventIssued, chain.EventRewarded, chain.EventSlashed}, FromBlock: from, ToBlock: head.Number})
		if err != nil {
			return err
		}
	}
	e.mu.Lock()
	for _, ev := range evs {
		oc := onChain{tx: ev.TxHash, block: ev.Block, time: ev.Time}
		if ev.Kind == chain.EventIssued {
			oc.by = ev.From
		}
		e.seen[ev.Ref] = oc
	}
	e.cursor = head.Number + 1
	var ask []common.Hash
	for _, b := range e.batches {
		if _, found := e.onChainLocked(b); found && b.rec.Batch.Kind == KindFLEXReward && b.rec.State != StateSettled && b.rec.State != StateFailed {
			ask = append(ask, b.id)
		}
	}
	e.mu.Unlock()
	rewarded := map[common.Hash]bool{}
	for _, id := range ask {
		minted, err := e.cfg.Chain.Rewarded(ctx, id)
		if err != nil {
			e.log.Warn("settle: reward batch state", "id", id, "err", err)
			continue
		}
		rewarded[id] = minted
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.batches {
		if e.settleFromIndexLocked(b, rewarded) {
			if err := e.saveLocked(b); err != nil {
				e.log.Warn("settle: save batch", "id", b.id, "err", err)
			}
		}
	}
	return nil
}

// resend publishes own attestations that gossip did not take.
func (e *Engine) resend(ctx context.Context) {
	type job struct {
		kind   Kind
		digest common.Hash
		sig    []byte
	}
	var jobs []job
	e.mu.Lock()
	for _, b := range e.batches {
		if r, ok := b.sigs[e.self]; ok && r.Unsent && b.rec.State != StateSettled {
			jobs = append(jobs, job{b.rec.Batch.Kind, b.digest, r.Signature})
		}
	}
	e.mu.Unlock()
	for _, j := range jobs {
		if err := e.publish(ctx, j.kind, j.digest, j.sig); err != nil {
			e.log.Warn("settle: attestation still not gossiped", "digest", j.digest, "err", err)
		}
	}
}

// submission is one batch this node is to send.
type submission struct {
	digest common.Hash
	batch  Batch
	sigs   [][]byte
	rank   int
}

// submitDue starts the submissions whose turn has come at this node.
func (e *Engine) submitDue(ctx context.Context) {
	set := e.cfg.Attestors.Set()
	nowClock, nowWall := e.now()
	var jobs []submission
	e.mu.Lock()
	for _, b := range e.batches {
		if b.rec.State == StateCollecting || b.rec.State == StateReady {
			if e.evaluateLocked(b) {
				if err := e.saveLocked(b); err != nil {
					e.log.Warn("settle: save batch", "id", b.id, "err", err)
				}
			}
		}
		if b.rec.State != StateReady || e.inflight[b.digest] {
			continue
		}
		if nowClock.Before(b.rec.RetryClock) || nowWall.Before(b.rec.RetryWall) {
			continue
		}
		rank := Rank(b.id, set.Attestors, e.self)
		if !e.cfg.Timing.Due(rank, b.rec.ReadyClock, b.rec.ReadyWall, nowClock, nowWall) {
			continue
		}
		signers, ok := SelectSigners(b.rec.Batch.Exclusions, e.countingLocked(b, set), int(set.Threshold))
		if !ok {
			continue
		}
		sigs := make([][]byte, len(signers))
		for i, s := range signers {
			sigs[i] = bytes.Clone(b.sigs[s].Signature)
		}
		b.rec.State = StateSubmitting
		if err := e.saveLocked(b); err != nil {
			b.rec.State = StateReady
			e.log.Warn("settle: not submitting: cannot record it", "id", b.id, "err", err)
			continue
		}
		e.inflight[b.digest] = true
		jobs = append(jobs, submission{digest: b.digest, batch: b.rec.Batch, sigs: sigs, rank: rank})
	}
	e.mu.Unlock()
	for _, j := range jobs {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			select {
			case e.sem <- struct{}{}:
			case <-ctx.Done():
				e.finish(ctx, j, nil, ctx.Err())
				return
			}
			defer func() { <-e.sem }()
			e.log.Info("settle: submitting", "kind", j.batch.Kind, "id", j.batch.ID(), "rank", j.rank, "signatures", len(j.sigs))
			var rc *chain.Receipt
			var err error
			switch j.batch.Kind {
			case KindRECIssue:
				rc, err = e.cfg.Chain.Issue(ctx, *j.batch.Issue, j.sigs)
			case KindFLEXReward:
				rc, err = e.cfg.Chain.Reward(ctx, *j.batch.Reward, j.sigs)
			case KindFLEXSlash:
				rc, err = e.cfg.Chain.Slash(ctx, *j.batch.Slash, j.sigs)
			}
			e.finish(ctx, j, rc, err)
		}()
	}
}

// Revert names by what they mean for a batch.
var (
	// settledReverts: the batch is on chain already.
	settledReverts = []string{"BatchAlreadyIssued", "BatchAlreadyRewarded"}
	// voidReverts: the contract will never take this batch.
	voidReverts = []string{"HourAlreadyIssued", "RecordUsed", "BatchIdMismatch", "EmptyBatch", "InvalidZone",
		"InvalidTechnology", "ZeroAmount", "InvalidKind", "ERC1155InvalidReceiver", "ERC20InvalidReceiver", "DuplicateAttestor",
		"AwardAlreadySlashed", "InvalidShare"}
)

func revertName(err error) string {
	var rv *chain.RevertError
	if errors.As(err, &rv) {
		return rv.Name
	}
	return ""
}

// finish records a submission's outcome.
func (e *Engine) finish(ctx context.Context, j submission, rc *chain.Receipt, err error) {
	kind := string(j.batch.Kind)
	nowClock, nowWall := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.inflight, j.digest)
	b := e.batches[j.digest]
	if b == nil {
		return
	}
	settledHere := b.rec.State == StateSettled // by the index while in flight
	switch {
	case err == nil && !rc.AlreadyDone:
		b.rec.State, b.rec.Tx, b.rec.Block, b.rec.By, b.rec.Error = StateSettled, rc.TxHash, rc.Block, e.self, ""
		e.m.submitted.WithLabelValues(kind).Inc()
		if j.rank > 0 {
			e.m.fallback.WithLabelValues(kind).Inc()
		}
		e.log.Info("settle: batch settled by this node", "kind", kind, "id", b.id, "tx", rc.TxHash, "block", rc.Block, "gas", rc.GasUsed, "rank", j.rank)
	case err == nil || slices.Contains(settledReverts, revertName(err)):
		// Another node's transaction settled it. With a transaction hash
		// ours was mined and reverted: gas paid for nothing.
		if err == nil && rc.TxHash != (common.Hash{}) {
			e.m.duplicate.WithLabelValues(kind).Inc()
			e.log.Warn("settle: duplicate submission: another node settled the batch first", "kind", kind, "id", b.id, "our_tx", rc.TxHash)
		} else if !settledHere {
			e.m.byOthers.WithLabelValues(kind).Inc()
		}
		if !settledHere {
			b.rec.State, b.rec.Tx, b.rec.Block, b.rec.By, b.rec.Error = StateSettled, common.Hash{}, 0, common.Address{}, ""
			e.settleFromIndexLocked(b, nil) // the transaction, if indexed already
		}
	case ctx.Err() != nil:
		if !settledHere {
			b.rec.State = StateReady // stopped, not failed: the next run resumes
		}
	default:
		e.m.failed.WithLabelValues(kind).Inc()
		b.rec.Attempts++
		b.rec.Error = err.Error()
		if settledHere {
			break
		}
		if slices.Contains(voidReverts, revertName(err)) || b.rec.Attempts >= e.cfg.MaxAttempts {
			b.rec.State = StateFailed
			e.log.Warn("settle: batch failed", "kind", kind, "id", b.id, "attempts", b.rec.Attempts, "err", err)
		} else {
			b.rec.State = StateReady
			b.rec.RetryClock, b.rec.RetryWall = nowClock.Add(e.cfg.Timing.Fallback), nowWall.Add(e.cfg.Timing.MinFallbackWall)
			e.log.Warn("settle: submission failed; will retry", "kind", kind, "id", b.id, "attempts", b.rec.Attempts, "err", err)
		}
	}
	if err := e.saveLocked(b); err != nil {
		e.log.Warn("settle: save batch", "id", b.id, "err", err)
	}
}

// prune drops batches first seen more than Retention ago (not while in
// flight), attestations of unknown batches older than OrphanTTL, and
// chain events older than Retention, at most every pruneEvery.
func (e *Engine) prune(wall time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if wall.Sub(e.lastPrune) < pruneEvery {
		return
	}
	e.lastPrune = wall
	now, _ := e.now()
	var keys []string
	for d, b := range e.batches {
		if e.inflight[d] || !b.rec.Created.Before(now.Add(-e.cfg.Retention)) {
			continue
		}
		keys = append(keys, batchKey(d))
		for s := range b.sigs {
			keys = append(keys, attKey(d, s))
		}
		delete(e.batches, d)
	}
	for d, m := range e.orphans {
		for s, r := range m {
			if r.Received.Before(now.Add(-e.cfg.OrphanTTL)) {
				keys = append(keys, attKey(d, s))
				delete(m, s)
				e.orphanCount--
			}
		}
		if len(m) == 0 {
			delete(e.orphans, d)
		}
	}
	// Block times are chain (wall) time.
	for id, oc := range e.seen {
		if int64(oc.time) < wall.Add(-e.cfg.Retention).Unix() {
			delete(e.seen, id)
		}
	}
	if len(keys) > 0 {
		if err := e.cfg.Store.DeleteSettle(keys); err != nil {
			e.log.Warn("settle: prune", "err", err)
		}
	}
}

// stateCounts counts the known batches by state.
func (e *Engine) stateCounts() map[State]int {
	counts := map[State]int{}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.batches {
		counts[b.rec.State]++
	}
	return counts
}

// Status is one batch as the API shows it.
type Status struct {
	Kind   Kind        `json:"kind"`
	ID     common.Hash `json:"id"`
	Digest common.Hash `json:"digest"`
	// Items is the number of claims or rewards.
	Items int   `json:"items"`
	State State `json:"state"`
	// Attestations counts the signatures at hand by registered
	// attestors; K is the registry's threshold. Whether they make a
	// quorum depends on the exclusions too (State says).
	Attestations int `json:"attestations"`
	K            int `json:"k"`
	// Order is the submission order (Order[0] the elected submitter);
	// Rank is this node's place in it, -1 if it is not an attestor.
	Order []common.Address `json:"order"`
	Rank  int              `json:"rank"`
	// Submitter, Tx and Block say who settled the batch, when known.
	Submitter *common.Address `json:"submitter,omitempty"`
	Tx        *common.Hash    `json:"tx,omitempty"`
	Block     uint64          `json:"block,omitempty"`
	// Created (node clock) is when this node first knew the batch;
	// Ready when it had enough attestations.
	Created  time.Time  `json:"created"`
	Ready    *time.Time `json:"ready,omitempty"`
	Attempts int        `json:"attempts,omitempty"`
	Error    string     `json:"error,omitempty"`
}

// Batches returns the known batches, newest first, at most limit (0:
// all).
func (e *Engine) Batches(limit int) []Status {
	set := e.cfg.Attestors.Set()
	e.mu.Lock()
	out := make([]Status, 0, len(e.batches))
	for _, b := range e.batches {
		out = append(out, e.statusLocked(b, set))
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(x, y Status) int {
		if c := y.Created.Compare(x.Created); c != 0 {
			return c
		}
		return bytes.Compare(x.Digest[:], y.Digest[:])
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// Lookup returns the batch with id (or digest).
func (e *Engine) Lookup(id common.Hash) (Status, bool) {
	set := e.cfg.Attestors.Set()
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.batches[id]; ok {
		return e.statusLocked(b, set), true
	}
	for _, b := range e.batches {
		if b.id == id {
			return e.statusLocked(b, set), true
		}
	}
	return Status{}, false
}

func (e *Engine) statusLocked(b *batch, set chain.AttestorSet) Status {
	s := Status{
		Kind: b.rec.Batch.Kind, ID: b.id, Digest: b.digest, Items: b.rec.Batch.Items(), State: b.rec.State,
		Attestations: len(e.countingLocked(b, set)), K: int(set.Threshold), Order: Order(b.id, set.Attestors),
		Created: b.rec.Created, Attempts: b.rec.Attempts, Error: b.rec.Error, Block: b.rec.Block,
	}
	s.Rank = slices.Index(s.Order, e.self)
	if b.rec.By != (common.Address{}) {
		by := b.rec.By
		s.Submitter = &by
	}
	if b.rec.Tx != (common.Hash{}) {
		tx := b.rec.Tx
		s.Tx = &tx
	}
	if !b.rec.ReadyClock.IsZero() {
		r := b.rec.ReadyClock
		s.Ready = &r
	}
	return s
}
