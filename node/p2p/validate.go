package p2p

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/internal/tokenbucket"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Reason is why a message was not accepted.
type Reason string

// Reasons, in the order the checks run: cheap checks first, the signature
// before anything keyed by the author, so forged messages cannot spend an
// honest author's rate limit.
const (
	ReasonOversized      Reason = "oversized"
	ReasonMalformed      Reason = "malformed"
	ReasonVersion        Reason = "bad_version"
	ReasonWrongTopic     Reason = "wrong_topic"
	ReasonFuture         Reason = "future"
	ReasonStale          Reason = "stale"
	ReasonInvalidBody    Reason = "invalid_body"
	ReasonBadSignature   Reason = "bad_signature"
	ReasonAuthorMismatch Reason = "author_mismatch"
	ReasonNotAttestor    Reason = "not_attestor"
	ReasonDuplicate      Reason = "duplicate"
	ReasonRateLimited    Reason = "rate_limited"
	ReasonStoreError     Reason = "store_error"
)

// result is the gossip verdict for a reason. Reject lowers the score of
// the peer that forwarded the message, so it is for what an honest peer,
// which validates before forwarding, never forwards: the message is
// provably broken by its own bytes or signature. Ignore is for what an
// honest peer may forward in good faith, where the fault is timing, the
// author's volume or our own state.
func (r Reason) result() pubsub.ValidationResult {
	switch r {
	case ReasonOversized, // beyond the protocol's size limit
		ReasonMalformed,      // not a canonical envelope
		ReasonVersion,        // the topics are versioned: v2 has its own mesh
		ReasonWrongTopic,     // kind does not match the topic
		ReasonInvalidBody,    // fails the body's own rules
		ReasonBadSignature,   // forged or malleated
		ReasonAuthorMismatch, // signed by one key, published by another peer
		ReasonNotClaimant,    // a claim signed by another node than it names
		// Beyond the bounded clock skew: a far-future message would stay
		// fresh, and so replayable, for longer than the window allows.
		// Honest nodes keep NTP time well inside MaxClockSkew.
		ReasonFuture:
		return pubsub.ValidationReject
	default:
		// ReasonStale: it may have aged in transit or in a slow queue.
		// ReasonDuplicate: honest peers re-forward after their seen
		// cache expires, and catch-up overlaps gossip.
		// ReasonRateLimited: relays are not the author; penalising them
		// for an author's burst would cut honest relays.
		// ReasonStoreError: our fault.
		// ReasonNotAttestor: the registry is chain state, which peers
		// may read at different blocks while it changes; the bytes alone
		// do not prove the fault.
		return pubsub.ValidationIgnore
	}
}

// checker runs every check a message must pass, for gossip, catch-up and
// own publishes alike. It is safe for concurrent use.
type checker struct {
	signer    signer
	clock     gridmint.Clock
	store     Store
	maxSize   int
	skew      time.Duration
	freshness map[Kind]time.Duration
	authors   *tokenbucket.Limiter
	origins   addressCache
	// skew, when set, hears of messages refused for clock skew.
	skewed *skewWatch
	// attestors, if set, is the registry batch attestations are checked
	// against (Config.Attestors).
	attestors AttestorSet
}

// checkOpts are what differ between the paths into the checker.
type checkOpts struct {
	// origin is the gossip message's From (its original publisher); the
	// author must be that peer's address. Empty skips the check: a
	// catch-up response is served by a peer that is not the author.
	origin peer.ID
	// window replaces the kind's freshness window when non-zero: catch-up
	// accepts anything within the retention window.
	window time.Duration
	// rateLimit applies the per-author limit: to gossip and own
	// publishes, not to catch-up, which replays history in bursts and is
	// bounded per request instead.
	rateLimit bool
}

// check decodes and verifies raw as a message on topic. It returns the
// message and, if it is not accepted, the reason with a detail for the
// log. A message refused after decoding is returned too (catch-up pages
// on its ID), but must not be used otherwise.
func (c *checker) check(topic string, raw []byte, o checkOpts) (Message, Reason, error) {
	if len(raw) > c.maxSize {
		return Message{}, ReasonOversized, fmt.Errorf("%d bytes, over %d", len(raw), c.maxSize)
	}
	m, err := decodeEnvelope(raw, c.signer)
	switch {
	case errors.Is(err, errVersion):
		return Message{}, ReasonVersion, err
	case err != nil:
		return Message{}, ReasonMalformed, err
	case m.Kind.Topic() != topic:
		return Message{}, ReasonWrongTopic, fmt.Errorf("%v on %s", m.Kind, topic)
	}
	now := c.clock.Now()
	if m.Created.After(now.Add(c.skew)) {
		if c.skewed != nil {
			c.skewed.observe(m.Author, o.origin, m.Created, now, c.skew, true)
		}
		return m, ReasonFuture, fmt.Errorf("created %v, %v ahead (tolerance %v)", m.Created, m.Created.Sub(now), c.skew)
	}
	window := o.window
	if window == 0 {
		window = c.freshness[m.Kind]
	}
	if m.Created.Before(now.Add(-window)) {
		// Catch-up (o.window set) serves history: old there is no skew.
		if c.skewed != nil && o.window == 0 {
			c.skewed.observe(m.Author, o.origin, m.Created, now, window, false)
		}
		return m, ReasonStale, fmt.Errorf("created %v, %v ago (window %v)", m.Created, now.Sub(m.Created), window)
	}
	if err := m.Body.Validate(); err != nil {
		return m, ReasonInvalidBody, err
	}
	if err := deadlineRules(m); err != nil {
		return m, ReasonInvalidBody, err
	}
	if err := m.verify(); err != nil {
		return m, ReasonBadSignature, err
	}
	if o.origin != "" {
		addr, err := c.origins.of(o.origin)
		if err != nil || addr != m.Author {
			return m, ReasonAuthorMismatch, fmt.Errorf("author %s, published by %s (%s): %v", m.Author, o.origin, addr, err)
		}
	}
	if r, err := claimRule(m); err != nil {
		return m, r, err
	}
	if err := c.attestorRule(m); err != nil {
		return m, ReasonNotAttestor, err
	}
	seen, err := c.store.HasMessage(m.ID)
	if err != nil {
		return m, ReasonStoreError, err
	}
	if seen {
		return m, ReasonDuplicate, fmt.Errorf("id %s", m.ID)
	}
	if o.rateLimit && !c.authors.Allow(string(m.Author.Bytes()), now) {
		return m, ReasonRateLimited, fmt.Errorf("author %s", m.Author)
	}
	return m, "", nil
}

// AttestorSet tells whether an address is a registered attestor (the
// AttestorRegistry contract's set, as the node last read it). It is
// called for every batch attestation received, so it must answer from
// memory; it must be safe for concurrent use.
type AttestorSet interface {
	IsAttestor(a common.Address) bool
}

// attestorRule: an attestation of an issue or reward batch is a vote on
// what goes on chain, and the contracts count only registered attestors'
// signatures; anyone else's would only fill stores and the network. The
// rule runs after the signature check, so the author is proven.
func (c *checker) attestorRule(m Message) error {
	a, ok := m.Body.(Attestation)
	if !ok || c.attestors == nil || (a.SubjectKind != SubjectIssueBatch && a.SubjectKind != SubjectRewardBatch) {
		return nil
	}
	if !c.attestors.IsAttestor(m.Author) {
		return fmt.Errorf("batch attestation by %s, not a registered attestor", m.Author)
	}
	return nil
}

// deadlineRules tie a body's deadline to the envelope's creation: an
// offer that expired, or a request whose gate had closed, when it was
// signed is void from the start. Later expiry is normal (catch-up serves
// history), so the comparison is with Created, not with the clock.
func deadlineRules(m Message) error {
	switch b := m.Body.(type) {
	case Offer:
		if !b.Expiry.After(m.Created) {
			return fmt.Errorf("offer expiring at %v, signed at %v", b.Expiry, m.Created)
		}
	case Request:
		if !b.GateClosure.After(m.Created) {
			return fmt.Errorf("request with gate closure %v, signed at %v", b.GateClosure, m.Created)
		}
	case IntervalEnergy:
		return intervalRule(m)
	case Schedule:
		return scheduleRule(m)
	}
	return nil
}

// addressOf is the Ethereum address of a peer whose ID embeds its
// secp256k1 key (as every gridmint peer's does).
func addressOf(id peer.ID) (common.Address, error) {
	pk, err := id.ExtractPublicKey()
	if err != nil {
		return common.Address{}, err
	}
	sk, ok := pk.(*crypto.Secp256k1PublicKey)
	if !ok {
		return common.Address{}, fmt.Errorf("peer %s has a %T key, want secp256k1", id, pk)
	}
	raw, err := sk.Raw()
	if err != nil {
		return common.Address{}, err
	}
	pub, err := ethcrypto.DecompressPubkey(raw)
	if err != nil {
		return common.Address{}, err
	}
	return ethcrypto.PubkeyToAddress(*pub), nil
}

// addressCache remembers peers' addresses: deriving one decompresses a
// public key, a sixth of the cost of checking a message. Bounded; safe for
// concurrent use; the zero value is ready.
type addressCache struct {
	mu sync.Mutex
	m  map[peer.ID]common.Address
}

const maxCachedAddresses = 4096

func (c *addressCache) of(id peer.ID) (common.Address, error) {
	c.mu.Lock()
	a, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := addressOf(id)
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedAddresses {
		c.m = map[peer.ID]common.Address{} // start over: cheaper than LRU bookkeeping
	}
	c.m[id] = a
	return a, nil
}

// Stats are a node's message counters since it started.
type Stats struct {
	// Topics by topic name.
	Topics map[string]TopicStats
	// CatchUp counts the catch-up protocol, both directions.
	CatchUp CatchUpStats
	// PeersBanned counts peers disconnected and banned for a score below
	// the graylist threshold.
	PeersBanned uint64
	// HandlerOverflow counts accepted (and stored) messages not handed to
	// the handlers because the handlers fell too far behind.
	HandlerOverflow uint64
	// Gossip counts what gossipsub itself dropped.
	Gossip GossipStats
	// ClockSkew counts messages refused because their author's clock
	// and ours disagree beyond the tolerance (also counted per topic as
	// future and stale).
	ClockSkew ClockSkewStats
}

// GossipStats counts messages gossipsub dropped before they reached the
// validators, and outgoing RPCs it dropped for slow peers.
type GossipStats struct {
	// Dropped by gossipsub's reason: "validation queue full",
	// "validation throttled", "invalid signature" (of the gossip
	// envelope, before ours), "missing signature", ...
	Dropped     map[string]uint64
	RPCsDropped uint64
}

// TopicStats counts one topic's messages.
type TopicStats struct {
	Accepted  uint64 // from gossip and catch-up
	Published uint64 // by this node
	Rejected  map[Reason]uint64
	Ignored   map[Reason]uint64
}

// CatchUpStats counts catch-up requests and messages.
type CatchUpStats struct {
	Requests uint64 // requests sent
	Failed   uint64 // requests sent that failed (error, timeout, bad response)
	Fetched  uint64 // messages accepted from responses
	// Duplicates counts response messages already stored: expected, as
	// catch-up ranges overlap what gossip delivered.
	Duplicates uint64
	Served     uint64 // requests served
	Sent       uint64 // messages sent in responses
	Refused    uint64 // requests refused: malformed, over the rate or busy
	// Anti-entropy hints (CatchUpHintProtocol). HintsSent and HintsUnsent
	// count hints to peers after a catch-up brought new messages:
	// delivered, or not (the peer failed or the send queue was full).
	// HintsReceived counts hints from peers, HintsDropped those of them
	// not acted on: over the per-peer rate, malformed, from the future or
	// with the catch-up queue half full. HintFetched counts the messages
	// accepted by catch-ups that a hint started.
	HintsSent     uint64
	HintsUnsent   uint64
	HintsReceived uint64
	HintsDropped  uint64
	HintFetched   uint64
}

// counters is the mutable Stats, guarded by mu.
type counters struct {
	mu sync.Mutex
	s  Stats
}

func newCounters() *counters {
	c := &counters{s: Stats{Topics: map[string]TopicStats{}, Gossip: GossipStats{Dropped: map[string]uint64{}}}}
	for _, t := range Topics() {
		c.s.Topics[t] = TopicStats{Rejected: map[Reason]uint64{}, Ignored: map[Reason]uint64{}}
	}
	return c
}

func (c *counters) topic(topic string, f func(*TopicStats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.s.Topics[topic]
	if !ok {
		return // not one of ours: pubsub only validates our topics
	}
	f(&t)
	c.s.Topics[topic] = t
}

func (c *counters) refused(topic string, r Reason) {
	c.topic(topic, func(t *TopicStats) {
		if r.result() == pubsub.ValidationReject {
			t.Rejected[r]++
		} else {
			t.Ignored[r]++
		}
	})
}

func (c *counters) update(f func(*Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.s)
}

func (c *counters) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.s
	out.Gossip.Dropped = maps.Clone(c.s.Gossip.Dropped)
	out.Topics = make(map[string]TopicStats, len(c.s.Topics))
	for k, t := range c.s.Topics {
		t.Rejected, t.Ignored = maps.Clone(t.Rejected), maps.Clone(t.Ignored)
		out.Topics[k] = t
	}
	return out
}
