package p2p

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/internal/tokenbucket"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"
)

// DHTMode selects the Kademlia DHT's role.
type DHTMode string

// DHT modes.
const (
	// DHTOff runs no DHT (the zero value): peers come from the bootstrap
	// list, mDNS and explicit Connect only.
	DHTOff DHTMode = "off"
	// DHTAuto serves the DHT unless AutoNAT finds the node unreachable
	// (libp2p's ModeAutoServer): a small network needs servers before
	// reachability is known, and a node behind NAT demotes itself.
	DHTAuto DHTMode = "auto"
	// DHTServer always serves (bootstrap nodes, LANs, tests).
	DHTServer DHTMode = "server"
	// DHTClient only queries.
	DHTClient DHTMode = "client"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxMessageSize    = 4 << 10
	DefaultFreshness         = 10 * time.Minute
	DefaultMaxClockSkew      = 30 * time.Second
	DefaultRatePerAuthor     = 10 // messages per second
	DefaultAuthorBurst       = 200
	DefaultRetention         = 24 * time.Hour
	DefaultCatchUpPeers      = 2
	DefaultBanDuration       = time.Hour
	DefaultDiscoveryInterval = time.Minute
)

// DefaultClaimFreshness is the freshness of certificate claims (capped
// at the retention): a claim is gossiped once, some minutes after its
// hour, so one delayed in a slow mesh is still taken by gossip; catch-up
// takes older ones.
const DefaultClaimFreshness = time.Hour

// Config configures New. Key, Domain.ChainID and Store are required; zero
// limits take the defaults above.
type Config struct {
	// Key is the node's one key: its peer ID, address and signing key.
	Key *ecdsa.PrivateKey
	// Listen are multiaddrs, e.g. /ip4/0.0.0.0/tcp/4001 and
	// /ip4/0.0.0.0/udp/4001/quic-v1.
	Listen []string
	// Bootstrap are peers (multiaddrs ending in /p2p/<id>) the node stays
	// connected to, redialling with exponential back-off.
	Bootstrap []string
	// MDNS finds peers on the LAN, and announces this node (its peer ID
	// and listen addresses) to everyone on it.
	MDNS bool
	// DHT is the Kademlia DHT's role; "" is DHTOff.
	DHT DHTMode
	// Network namespaces discovery (DHT rendezvous, mDNS service), so
	// nodes of different networks do not find each other. "" is
	// "chain-<Domain.ChainID>".
	Network string
	// Domain is the EIP-712 domain every message is signed in (NewDomain).
	Domain chain.Domain
	// Store keeps accepted messages. New does not close it.
	Store Store
	// Attestors, if set, admits batch attestations (issue and reward)
	// only from registered attestors; others are refused with
	// ReasonNotAttestor. nil admits every author.
	Attestors AttestorSet
	// Clock tells the time for message creation, freshness, rate limits
	// and bans; nil is the system clock.
	Clock gridmint.Clock
	// Log receives the node's messages; nil discards them.
	Log *slog.Logger

	// MaxMessageSize bounds an envelope in bytes.
	MaxMessageSize int
	// Freshness is how old a gossiped message may be, by kind; a missing
	// kind gets DefaultFreshness. Older messages are ignored (stale).
	Freshness map[Kind]time.Duration
	// MaxClockSkew is how far in the future a message may be created.
	MaxClockSkew time.Duration
	// RatePerAuthor is the sustained messages per second accepted from
	// one author, AuthorBurst the burst; a negative rate is unlimited.
	RatePerAuthor float64
	AuthorBurst   int
	// Retention is how long messages are kept, served to catching-up
	// peers and remembered as seen. At least the longest Freshness.
	Retention time.Duration
	// CatchUpPeers is how many peers a node catches up from after a start
	// or a partition.
	CatchUpPeers int
	// BanDuration is how long a peer whose score fell below the graylist
	// threshold stays disconnected.
	BanDuration time.Duration
	// DiscoveryInterval is how often the DHT is searched for peers.
	DiscoveryInterval time.Duration

	// pubsubOpts are extra gossipsub options, for tests (tracers).
	pubsubOpts []pubsub.Option
}

func (c *Config) applyDefaults() {
	if c.Clock == nil {
		c.Clock = gridmint.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.DHT == "" {
		c.DHT = DHTOff
	}
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&c.MaxClockSkew, DefaultMaxClockSkew)
	set(&c.Retention, DefaultRetention)
	set(&c.BanDuration, DefaultBanDuration)
	set(&c.DiscoveryInterval, DefaultDiscoveryInterval)
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	fresh := make(map[Kind]time.Duration, len(Kinds))
	for _, k := range Kinds {
		fresh[k] = DefaultFreshness
		if k == KindRECClaim {
			fresh[k] = min(DefaultClaimFreshness, c.Retention)
		}
		if d, ok := c.Freshness[k]; ok && d != 0 {
			fresh[k] = d
		}
	}
	c.Freshness = fresh
	if c.RatePerAuthor == 0 {
		c.RatePerAuthor = DefaultRatePerAuthor
	}
	if c.AuthorBurst == 0 {
		c.AuthorBurst = DefaultAuthorBurst
	}
	if c.CatchUpPeers == 0 {
		c.CatchUpPeers = DefaultCatchUpPeers
	}
	if c.Network == "" && c.Domain.ChainID != nil {
		c.Network = "chain-" + c.Domain.ChainID.String()
	}
}

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return gridmint.Errorf(gridmint.EInvalid, "p2p: "+format, args...)
	}
	switch {
	case c.Key == nil:
		return bad("no key")
	case c.Store == nil:
		return bad("no store")
	case c.Domain.ChainID == nil || c.Domain.Name == "":
		return bad("domain needs a name and a chain id (see NewDomain)")
	case c.MaxMessageSize < 512 || c.MaxMessageSize > 1<<20:
		return bad("max message size %d B: want 512 B to 1 MiB", c.MaxMessageSize)
	case c.MaxClockSkew < 0 || c.BanDuration < 0 || c.DiscoveryInterval < 0 || c.CatchUpPeers < 0:
		return bad("negative limit")
	}
	switch c.DHT {
	case DHTOff, DHTAuto, DHTServer, DHTClient:
	default:
		return bad("dht mode %q: want off, auto, server or client", c.DHT)
	}
	for k, d := range c.Freshness {
		if d < 0 || d > c.Retention {
			return bad("%v freshness %v: want at most the retention %v", k, d, c.Retention)
		}
	}
	return nil
}

// Node is a running gossip node. Its methods are safe for concurrent use.
type Node struct {
	cfg   Config
	log   *slog.Logger
	clock gridmint.Clock
	addr  common.Address
	self  peer.ID

	host   host.Host
	gater  *gater
	ps     *pubsub.PubSub
	topics map[string]*pubsub.Topic
	dht    *dht.IpfsDHT
	mdns   io.Closer
	// lanDialing holds the peers found on the LAN being dialled
	// (peer.ID → true), so that an mDNS entry seen again does not start
	// a second redial loop.
	lanDialing sync.Map
	check      *checker
	stats      *counters
	peers      *tokenbucket.Limiter // catch-up requests per peer
	hints      *tokenbucket.Limiter // catch-up hints per peer
	serve      chan struct{}        // catch-up requests served at once

	scoreMu sync.Mutex
	scores  map[peer.ID]float64
	mesh    map[string]map[peer.ID]bool // topic → peers in our mesh, from meshTracer

	// acceptMu makes the replay check and the write one step, so a
	// message arriving by gossip and catch-up at once is delivered once.
	// It also guards relay.
	acceptMu sync.Mutex
	// relay holds the fresh messages a catch-up accepted before gossip
	// brought them, each until its freshness ends (see relayOnce).
	relay map[common.Hash]time.Time

	qmu      sync.Mutex
	qcond    *sync.Cond
	queue    []Message
	handlers []func(Message)
	stopped  bool

	gapMu   sync.Mutex
	gap     gap
	left    map[peer.ID]time.Time // when a peer's last connection closed
	catchUp chan catchUpJob
	hintOut chan hintBatch
	// rejoin wakes keepBootstrapped after Rejoin, to redial at once.
	rejoin chan struct{}

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// maxQueue bounds the accepted messages waiting for the handlers.
const maxQueue = 1 << 16

// pubsub limits: an RPC carries several envelopes plus control messages
// (gossipsub splits larger ones); the validation queue and the per-peer
// send queue absorb the hourly burst of meter claims and attestations
// without dropping.
const (
	rpcMessages       = 16
	validateQueueSize = 1024
	peerQueueSize     = 256
)

// New starts a node: the libp2p host, gossip on every topic with the
// validators, the catch-up protocol and discovery. It returns once the
// host listens; peers arrive in the background (or by Connect). Register
// the handler with Handle right after New: messages accepted before are
// queued for it.
func New(ctx context.Context, cfg Config) (_ *Node, err error) {
	cfg.applyDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bootstrap, err := parseAddrs(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	key, err := LibP2PKey(cfg.Key)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &Node{
		cfg:     cfg,
		log:     cfg.Log,
		clock:   cfg.Clock,
		addr:    ethcrypto.PubkeyToAddress(cfg.Key.PublicKey),
		gater:   newGater(cfg.Clock),
		stats:   newCounters(),
		peers:   tokenbucket.New(catchUpRate, catchUpBurst, 4096),
		hints:   tokenbucket.New(hintRate, hintBurst, 4096),
		serve:   make(chan struct{}, catchUpConcurrency),
		scores:  map[peer.ID]float64{},
		mesh:    map[string]map[peer.ID]bool{},
		topics:  map[string]*pubsub.Topic{},
		left:    map[peer.ID]time.Time{},
		relay:   map[common.Hash]time.Time{},
		catchUp: make(chan catchUpJob, 64),
		hintOut: make(chan hintBatch, hintQueue),
		rejoin:  make(chan struct{}, 1),
		ctx:     ctx,
		cancel:  cancel,
	}
	n.qcond = sync.NewCond(&n.qmu)
	n.check = &checker{
		signer:    newSigner(cfg.Domain),
		clock:     cfg.Clock,
		store:     cfg.Store,
		maxSize:   cfg.MaxMessageSize,
		skew:      cfg.MaxClockSkew,
		freshness: cfg.Freshness,
		authors:   tokenbucket.New(cfg.RatePerAuthor, float64(cfg.AuthorBurst), 16384),
		skewed:    newSkewWatch(cfg.Log, n.stats),
		attestors: cfg.Attestors,
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()

	if n.host, err = newHost(key, cfg.Listen, n.gater); err != nil {
		return nil, err
	}
	n.self = n.host.ID()
	params, thresholds := scoreParams(Topics())
	n.ps, err = pubsub.NewGossipSub(ctx, n.host, append([]pubsub.Option{
		pubsub.WithMessageSignaturePolicy(pubsub.StrictSign),
		pubsub.WithMessageIdFn(n.messageID),
		pubsub.WithPeerScore(params, thresholds),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(n.inspectScores), time.Second),
		pubsub.WithRawTracer(meshTracer{n}),
		// Flood publishing sends our own messages to every topic peer, not
		// only the mesh: a message published before the mesh forms still
		// leaves, and eclipsing a publisher takes all its peers.
		pubsub.WithFloodPublish(true),
		pubsub.WithMaxMessageSize(rpcMessages * cfg.MaxMessageSize),
		pubsub.WithValidateQueueSize(validateQueueSize),
		pubsub.WithPeerOutboundQueueSize(peerQueueSize),
		// Track only our topics, and not too many subscriptions per RPC.
		pubsub.WithSubscriptionFilter(pubsub.WrapLimitSubscriptionFilter(pubsub.NewAllowlistSubscriptionFilter(Topics()...), 2*len(Kinds))),
	}, cfg.pubsubOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("p2p: gossipsub: %w", err)
	}
	for _, t := range Topics() {
		if err := n.ps.RegisterTopicValidator(t, pubsub.ValidatorEx(n.validator(t))); err != nil {
			return nil, fmt.Errorf("p2p: validator of %s: %w", t, err)
		}
		topic, err := n.ps.Join(t)
		if err != nil {
			return nil, fmt.Errorf("p2p: join %s: %w", t, err)
		}
		// Relay joins the mesh and forwards without a subscription: the
		// validator itself stores and queues accepted messages, so a slow
		// subscriber can never lose one.
		if _, err := topic.Relay(); err != nil {
			return nil, fmt.Errorf("p2p: relay %s: %w", t, err)
		}
		n.topics[t] = topic
	}
	n.startGap()
	n.host.SetStreamHandler(CatchUpProtocol, n.serveCatchUp)
	n.host.SetStreamHandler(CatchUpHintProtocol, n.serveCatchUpHint)
	n.host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			if n.gater.isolated.Load() {
				// Upgraded just before Isolate closed the others.
				_ = c.Close()
				return
			}
			n.onConnected(c.RemotePeer())
		},
		DisconnectedF: func(nw network.Network, c network.Conn) { n.onDisconnected(nw, c.RemotePeer()) },
	})
	n.goRun(n.dispatch)
	n.goRun(n.catchUpWorker)
	n.goRun(n.hintSender)
	n.goRun(n.pruneLoop)
	n.goRun(n.pingLoop)
	if err := n.startDiscovery(bootstrap); err != nil {
		return nil, err
	}
	n.log.Info("p2p node started", "peer_id", n.self, "address", n.addr, "addrs", n.Addrs(),
		"mdns", cfg.MDNS, "dht", cfg.DHT, "bootstrap", len(bootstrap), "network", cfg.Network)
	if len(bootstrap) == 0 && !cfg.MDNS {
		// The DHT is seeded by the bootstrap peers: with neither, only
		// peers that dial this node's address themselves can join it.
		n.log.Warn("p2p: no bootstrap peers and mDNS off: this node will not find peers by itself; give it bootstrap peers to join a network")
	}
	return n, nil
}

func (n *Node) goRun(f func()) {
	n.wg.Add(1)
	go func() { defer n.wg.Done(); f() }()
}

// messageID is the gossip message ID: the envelope's EIP-712 digest, so a
// message wrapped again (new sequence number, new pubsub signature) is
// recognised as the same message. Undecodable data gets a hash of its
// bytes under another prefix; the validator rejects it anyway.
func (n *Node) messageID(m *pb.Message) string {
	if len(m.Data) <= n.cfg.MaxMessageSize {
		if e, err := decodeEnvelope(m.Data, n.check.signer); err == nil {
			return string(e.ID[:])
		}
	}
	h := sha256.Sum256(m.Data)
	return "x" + string(h[:])
}

// validator is topic's gossip validator. It also stores and queues the
// accepted message, so that "accepted" and "stored" are one decision.
func (n *Node) validator(topic string) func(context.Context, peer.ID, *pubsub.Message) pubsub.ValidationResult {
	return func(_ context.Context, from peer.ID, pm *pubsub.Message) pubsub.ValidationResult {
		if from == n.self {
			return pubsub.ValidationAccept // our own Publish, checked and stored there
		}
		m, reason, detail := n.check.check(topic, pm.Data, checkOpts{origin: pm.GetFrom(), rateLimit: true})
		if reason == "" {
			reason, detail = n.accept(m, false)
		}
		if reason == ReasonDuplicate && n.relayOnce(m.ID) {
			n.log.Debug("p2p: relaying a message caught up before gossip brought it", "topic", topic, "id", m.ID, "peer", from)
			return pubsub.ValidationAccept
		}
		if reason != "" {
			n.refuse(topic, reason, detail, "gossip", from)
			return reason.result()
		}
		n.stats.topic(topic, func(t *TopicStats) { t.Accepted++ })
		return pubsub.ValidationAccept
	}
}

// refuse counts and logs a message that was not accepted.
func (n *Node) refuse(topic string, r Reason, detail error, via string, from peer.ID) {
	n.stats.refused(topic, r)
	n.log.Debug("p2p: message refused", "topic", topic, "reason", r, "verdict", verdictName(r), "via", via, "peer", from, "detail", detail)
}

func verdictName(r Reason) string {
	if r.result() == pubsub.ValidationReject {
		return "reject"
	}
	return "ignore"
}

// accept stores a checked message and queues it for the handlers, unless
// it is already stored. A message from catch-up (caughtUp) that is still
// fresh for gossip is marked for relayOnce.
func (n *Node) accept(m Message, caughtUp bool) (Reason, error) {
	n.acceptMu.Lock()
	defer n.acceptMu.Unlock()
	seen, err := n.cfg.Store.HasMessage(m.ID)
	if err != nil {
		return ReasonStoreError, err
	}
	if seen {
		return ReasonDuplicate, fmt.Errorf("id %s", m.ID)
	}
	now := n.clock.Now()
	err = n.cfg.Store.PutMessage(StoredMessage{ID: m.ID, Topic: m.Topic(), Created: m.Created, Received: now, Raw: m.Raw})
	if err != nil {
		return ReasonStoreError, err
	}
	if until := m.Created.Add(n.cfg.Freshness[m.Kind]); caughtUp && until.After(now) {
		n.markRelay(m.ID, until, now)
	}
	n.enqueue(m)
	return "", nil
}

// maxRelay bounds the messages marked for relayOnce.
const maxRelay = 1 << 14

// markRelay marks id for relayOnce until until. Called with acceptMu
// held.
func (n *Node) markRelay(id common.Hash, until, now time.Time) {
	if len(n.relay) >= maxRelay {
		for k, u := range n.relay {
			if !u.After(now) {
				delete(n.relay, k)
			}
		}
		if len(n.relay) >= maxRelay {
			return // a message may then stop here, as before catch-up: its peers' catch-ups still find it
		}
	}
	n.relay[id] = until
}

// relayOnce reports whether a duplicate gossip message should be
// accepted all the same, and clears the mark. A catch-up, which runs
// while gossip flows (at start, on reconnects and on hints), can take a
// fresh message before its gossip copy arrives; that copy is then a
// duplicate, and an ignored message is not forwarded, so the peers that
// rely on this node for it would never get it by gossip. Accepting the
// first gossip copy forwards it (it was checked like any gossip: author,
// signature, freshness); it is not stored or handed over again, and
// gossipsub's seen cache drops any further copies.
func (n *Node) relayOnce(id common.Hash) bool {
	n.acceptMu.Lock()
	defer n.acceptMu.Unlock()
	until, ok := n.relay[id]
	delete(n.relay, id)
	return ok && until.After(n.clock.Now())
}

func (n *Node) enqueue(m Message) {
	n.qmu.Lock()
	defer n.qmu.Unlock()
	if len(n.queue) >= maxQueue {
		n.stats.update(func(s *Stats) { s.HandlerOverflow++ })
		n.log.Warn("p2p: handlers behind, message stored but not handed over", "id", m.ID, "queued", len(n.queue))
		return
	}
	n.queue = append(n.queue, m)
	n.qcond.Signal()
}

// Handle registers f for every accepted message: from gossip, from
// catch-up and this node's own. Handlers run one message at a time, in
// acceptance order, on one goroutine of the node's; they may call
// Publish. Messages accepted before the first Handle wait for it.
func (n *Node) Handle(f func(Message)) {
	n.qmu.Lock()
	defer n.qmu.Unlock()
	n.handlers = append(n.handlers, f)
	n.qcond.Broadcast()
}

func (n *Node) dispatch() {
	for {
		n.qmu.Lock()
		for !n.stopped && (len(n.queue) == 0 || len(n.handlers) == 0) {
			n.qcond.Wait()
		}
		if n.stopped {
			n.qmu.Unlock()
			return
		}
		batch, hs := n.queue, slices.Clone(n.handlers)
		n.queue = nil
		n.qmu.Unlock()
		for _, m := range batch {
			for _, h := range hs {
				h(m)
			}
		}
	}
}

// Publish signs body as created now, checks it as every receiver will,
// stores it, hands it to the handlers and gossips it. A message the
// network would refuse (invalid, over the rate limit) is refused here
// with an error naming the reason. If only the gossip fails, the message
// is returned with the error: it is stored and peers get it by catch-up.
func (n *Node) Publish(ctx context.Context, body Body) (Message, error) {
	signed, err := n.check.signer.sign(n.cfg.Key, body, n.clock.Now())
	if err != nil {
		return Message{}, fmt.Errorf("p2p: publish: %w", err)
	}
	topic := signed.Topic()
	m, reason, detail := n.check.check(topic, signed.Raw, checkOpts{rateLimit: true})
	if reason == "" {
		reason, detail = n.accept(m, false)
	}
	if reason != "" {
		code := gridmint.EInvalid
		switch reason {
		case ReasonDuplicate:
			code = gridmint.EConflict
		case ReasonRateLimited, ReasonStoreError:
			code = gridmint.EUnavailable
		}
		return Message{}, gridmint.Errorf(code, "p2p: publish %v: %s: %v", body.Kind(), reason, detail)
	}
	n.stats.topic(topic, func(t *TopicStats) { t.Published++ })
	if err := n.topics[topic].Publish(ctx, m.Raw); err != nil {
		return m, fmt.Errorf("p2p: gossip %v %s: %w", m.Kind, m.ID, err)
	}
	return m, nil
}

// Decode parses a canonical envelope (e.g. StoredMessage.Raw) in this
// node's domain and verifies its signatures; it does not check freshness,
// topic or replay.
func (n *Node) Decode(raw []byte) (Message, error) {
	m, err := decodeEnvelope(raw, n.check.signer)
	if err != nil {
		return Message{}, gridmint.Errorf(gridmint.EInvalid, "p2p: %v", err)
	}
	if err := m.verify(); err != nil {
		return Message{}, gridmint.Errorf(gridmint.EInvalid, "p2p: %v %s: %v", m.Kind, m.ID, err)
	}
	return m, nil
}

// PeerInfo describes one connected peer.
type PeerInfo struct {
	ID      peer.ID
	Address common.Address // from the peer's key
	Addrs   []string       // remote multiaddrs of the open connections
	Latency time.Duration  // moving average of pings; 0 until measured
	Score   float64        // gossipsub peer score, as of the last second
	Topics  []string       // our topics the peer subscribes to
	Mesh    []string       // topics on which the peer is in our gossip mesh
}

// Peers lists the connected peers, ordered by ID.
func (n *Node) Peers() []PeerInfo {
	topicsOf := map[peer.ID][]string{}
	for _, t := range Topics() {
		for _, p := range n.ps.ListPeers(t) {
			topicsOf[p] = append(topicsOf[p], t)
		}
	}
	n.scoreMu.Lock()
	scores := n.scores
	meshOf := map[peer.ID][]string{}
	for _, t := range Topics() {
		for p := range n.mesh[t] {
			meshOf[p] = append(meshOf[p], t)
		}
	}
	n.scoreMu.Unlock()
	var out []PeerInfo
	for _, p := range n.host.Network().Peers() {
		info := PeerInfo{ID: p, Latency: n.host.Peerstore().LatencyEWMA(p), Score: scores[p], Topics: topicsOf[p], Mesh: meshOf[p]}
		info.Address, _ = addressOf(p)
		for _, c := range n.host.Network().ConnsToPeer(p) {
			info.Addrs = append(info.Addrs, c.RemoteMultiaddr().String())
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b PeerInfo) int { return cmp.Compare(string(a.ID), string(b.ID)) })
	return out
}

// Addrs are the node's listen addresses with its peer ID, dialable by
// Connect and usable as another node's bootstrap entries.
func (n *Node) Addrs() []string {
	var out []string
	for _, a := range n.host.Addrs() {
		out = append(out, a.String()+"/p2p/"+n.self.String())
	}
	return out
}

// PeerID is the node's libp2p peer ID.
func (n *Node) PeerID() peer.ID { return n.self }

// Address is the node's Ethereum address, the author of its messages.
func (n *Node) Address() common.Address { return n.addr }

// Stats returns a copy of the node's counters.
func (n *Node) Stats() Stats { return n.stats.snapshot() }

// Connect dials a peer at a multiaddr ending in /p2p/<id>.
func (n *Node) Connect(ctx context.Context, addr string) error {
	infos, err := parseAddrs([]string{addr})
	if err != nil {
		return err
	}
	if infos[0].ID == n.self {
		return gridmint.Errorf(gridmint.EInvalid, "p2p: %s is this node", addr)
	}
	if err := n.host.Connect(ctx, infos[0]); err != nil {
		return gridmint.Errorf(gridmint.EUnavailable, "p2p: connect %s: %v", addr, err)
	}
	return nil
}

// Disconnect closes every connection to p. It does not ban p: it or
// discovery may connect again.
func (n *Node) Disconnect(p peer.ID) error {
	if err := n.host.Network().ClosePeer(p); err != nil {
		return fmt.Errorf("p2p: disconnect %s: %w", p, err)
	}
	return nil
}

// Isolate cuts the node off the network as a firewall around it would:
// it closes every connection and refuses every new one, inbound and
// outbound, until Rejoin. The node keeps running: Publish still signs
// and stores (its peers fetch those messages by catch-up after Rejoin),
// and its peers see it leave as on any partition. For pausing a node's
// networking (maintenance, partition drills and tests).
func (n *Node) Isolate() {
	if n.gater.isolated.Swap(true) {
		return
	}
	// The gater refuses from here on; close what is already open. (A
	// connection upgraded in between is closed by the Connected notifier.)
	for _, p := range n.host.Network().Peers() {
		_ = n.host.Network().ClosePeer(p)
	}
	n.log.Info("p2p: isolated from the network; Rejoin to reconnect")
}

// Rejoin ends Isolate: connections are allowed again and the bootstrap
// peers are redialled at once (not after the back-off their failed
// dials built up while isolated). On reconnecting the node catches up
// on what it missed, and its peers on what it published meanwhile.
func (n *Node) Rejoin() {
	if !n.gater.isolated.Swap(false) {
		return
	}
	select {
	case n.rejoin <- struct{}{}:
	default: // a wake-up is already pending
	}
	n.log.Info("p2p: rejoining the network")
}

// Isolated reports whether the node is cut off by Isolate.
func (n *Node) Isolated() bool { return n.gater.isolated.Load() }

// Close stops the node and its host. It does not close the Store.
func (n *Node) Close() error {
	var err error
	n.closeOnce.Do(func() {
		n.cancel()
		if n.mdns != nil {
			err = errors.Join(err, n.mdns.Close())
		}
		if n.dht != nil {
			err = errors.Join(err, n.dht.Close())
		}
		if n.host != nil {
			err = errors.Join(err, n.host.Close())
		}
		n.qmu.Lock()
		n.stopped = true
		n.qcond.Broadcast()
		n.qmu.Unlock()
		n.wg.Wait()
	})
	if err != nil {
		return fmt.Errorf("p2p: close: %w", err)
	}
	return nil
}

// inspectScores receives every peer's score each second (from pubsub's
// score inspector). A connected peer below the graylist threshold is
// disconnected and banned: gossipsub already ignores it, and the ban
// keeps it from reconnecting and trying again.
func (n *Node) inspectScores(scores map[peer.ID]float64) {
	n.scoreMu.Lock()
	n.scores = scores
	n.scoreMu.Unlock()
	for p, s := range scores {
		if s >= graylistThreshold || n.gater.isBanned(p) || n.host.Network().Connectedness(p) != network.Connected {
			continue
		}
		n.gater.ban(p, n.clock.Now().Add(n.cfg.BanDuration))
		_ = n.host.Network().ClosePeer(p)
		n.stats.update(func(st *Stats) { st.PeersBanned++ })
		addr, _ := addressOf(p)
		n.log.Warn("p2p: peer banned for its gossip score", "peer", p, "address", addr, "score", s, "for", n.cfg.BanDuration)
	}
}

// meshTracer follows gossipsub's mesh (for Peers) and counts what
// gossipsub drops before or instead of our validators (Stats.Gossip). Its
// methods run on pubsub's event loop: they only update maps.
type meshTracer struct{ n *Node }

func (t meshTracer) RejectMessage(_ *pubsub.Message, reason string) {
	switch reason {
	case pubsub.RejectValidationFailed, pubsub.RejectValidationIgnored:
		return // our validators' verdicts, counted per topic and reason
	}
	t.n.stats.update(func(s *Stats) { s.Gossip.Dropped[reason]++ })
}

func (t meshTracer) DropRPC(*pubsub.RPC, peer.ID) {
	t.n.stats.update(func(s *Stats) { s.Gossip.RPCsDropped++ })
}

func (t meshTracer) Graft(p peer.ID, topic string) {
	t.n.scoreMu.Lock()
	defer t.n.scoreMu.Unlock()
	if t.n.mesh[topic] == nil {
		t.n.mesh[topic] = map[peer.ID]bool{}
	}
	t.n.mesh[topic][p] = true
}

func (t meshTracer) Prune(p peer.ID, topic string) {
	t.n.scoreMu.Lock()
	defer t.n.scoreMu.Unlock()
	delete(t.n.mesh[topic], p)
}

func (t meshTracer) OnClosedOutboundStream(p peer.ID) {
	t.n.scoreMu.Lock()
	defer t.n.scoreMu.Unlock()
	for _, m := range t.n.mesh {
		delete(m, p)
	}
}

func (meshTracer) OnNewOutboundStream(peer.ID, protocol.ID) {}
func (meshTracer) Join(string)                              {}
func (meshTracer) Leave(string)                             {}
func (meshTracer) ValidateMessage(*pubsub.Message)          {}
func (meshTracer) DeliverMessage(*pubsub.Message)           {}
func (meshTracer) DuplicateMessage(*pubsub.Message)         {}
func (meshTracer) ThrottlePeer(peer.ID)                     {}
func (meshTracer) RecvRPC(*pubsub.RPC)                      {}
func (meshTracer) SendRPC(*pubsub.RPC, peer.ID)             {}
func (meshTracer) UndeliverableMessage(*pubsub.Message)     {}

// pingLoop measures every peer's latency (kept in the peerstore) so Peers
// can report it.
func (n *Node) pingLoop() {
	const every = 30 * time.Second
	t := time.NewTicker(every) // wall clock: network round trips
	defer t.Stop()
	for {
		for _, p := range n.host.Network().Peers() {
			go func() {
				ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
				defer cancel()
				<-ping.Ping(ctx, n.host, p) // records the RTT in the peerstore
			}()
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneLoop deletes messages past the retention window.
func (n *Node) pruneLoop() {
	const every = 10 * time.Minute
	// Housekeeping on the wall clock; the retention window itself is
	// the node clock's (demo time in a demo), like the messages' times.
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if k, err := n.cfg.Store.PruneMessages(n.clock.Now().Add(-n.cfg.Retention)); err != nil {
			n.log.Warn("p2p: prune messages", "err", err)
		} else if k > 0 {
			n.log.Debug("p2p: pruned messages", "count", k)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func parseAddrs(addrs []string) ([]peer.AddrInfo, error) {
	out := make([]peer.AddrInfo, 0, len(addrs))
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, gridmint.Errorf(gridmint.EInvalid, "p2p: address %q: %v", s, err)
		}
		info, err := peer.AddrInfoFromP2pAddr(a)
		if err != nil {
			return nil, gridmint.Errorf(gridmint.EInvalid, "p2p: address %q needs /p2p/<peer id>: %v", s, err)
		}
		out = append(out, *info)
	}
	return out, nil
}
