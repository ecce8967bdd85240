// Package node is the gridmint daemon: it wires the store, the device
// adapters, the MQTT connection, the libp2p host and the HTTP API into one
// process, and runs the demo with an embedded broker and simulated
// devices.
//
// It is the only package that imports everything; cmd/gridmint is a thin
// main over it.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/internal/memgov"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/market/mv"
	"github.com/gridmint/gridmint/node/market/pof"
	"github.com/gridmint/gridmint/node/openadr"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/gridmint/gridmint/node/store"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Options are what a node needs besides its Config.
type Options struct {
	Logger  *slog.Logger
	Clock   gridmint.Clock
	Version string
	// Passphrase unlocks the node key when the config names no
	// passphrase file: from the environment or a prompt.
	Passphrase func() ([]byte, error)
	// CreateKey creates the node key, with this KDF strength, when the
	// keystore holds none. `gridmint run` leaves it empty: a node whose
	// key vanished must not silently become another node.
	CreateKey string
	// DiskSpace reports the free space of the data dir's filesystem; nil
	// reads it with statfs. Tests inject it to drive the disk guard.
	DiskSpace DiskSpaceFunc

	// MarketTracker follows the market's firm awards (metering,
	// measurement, rewards: node/market/mv); nil: nobody.
	MarketTracker market.Tracker

	// holdIngest, if set, is waited on before each ingest batch as the
	// disk guard is: tests hold telemetry back with it.
	holdIngest roomWaiter
}

// Node is a running gridmint node. Create it with Start; stop it by
// cancelling the context given to Start and calling Wait, or with Close.
type Node struct {
	cfg           Config
	log           *slog.Logger
	identity      *Identity
	store         *store.Store
	ingest        *devices.Ingest
	sites         *devices.Sites
	pipeline      *pipeline
	mqtt          *mqttClient
	control       *controlClient // commands, keep-alives and their replies
	p2p           *p2p.Node
	chain         *chain.Client
	settle        *settle.Engine
	claims        *claimService
	market        *market.Service
	marketTracker market.Tracker // Options.MarketTracker
	mv            *mv.Service
	pof           *pof.Service // proof-of-flexibility tests; nil when market.tests is off
	openadr       *openadr.VTN // nil unless openadr.enabled
	http          *http.Server
	httpAddr      string
	metrics       *metrics
	clock         gridmint.Clock
	disk          *diskGuard

	chainRPC     *http.Server // chain.serve_rpc; nil when not served
	chainRPCAddr string

	dispatcher  *devices.Dispatcher
	commands    *commandLog
	ha          *haPublisher
	replies     []string                   // reply topic filters: confirmations, not telemetry
	replyRoutes mqtttopic.Router[struct{}] // replies, matched once per message
	apiToken    string
	editMu      sync.Mutex // serialises registry edits over the API

	cancel       context.CancelFunc
	stopLog      context.CancelFunc // the command log outlives the rest
	logDone      chan struct{}
	pipelineDone chan struct{}
	wg           sync.WaitGroup
	closeOnce    sync.Once
	closeErr     error
	leaveMemgov  func() // leaves the process's memory governor; nil when not joined
}

// Start opens the store, connects to the broker, starts the libp2p host
// and the HTTP server, and begins ingesting. It returns once all of them
// are up, or the first error (having undone what it started).
func Start(ctx context.Context, cfg Config, opts Options) (_ *Node, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = gridmint.SystemClock{}
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &Node{cfg: cfg, log: opts.Logger, metrics: newMetrics(), cancel: cancel, clock: opts.Clock, marketTracker: opts.MarketTracker}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	switch {
	case cfg.MemoryLimitMB > 0:
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMB) << 20)
	case cfg.MemoryLimitMB == 0 && os.Getenv("GOMEMLIMIT") == "":
		n.leaveMemgov = memgov.Start(memgov.Default)
	}
	// The disk first: below the store's own minimum even opening badger
	// could die of SIGBUS (it creates and flushes files through memory
	// maps), so the node refuses to start; below the reserve it starts
	// paused and says so.
	if err := n.openDiskGuard(opts.DiskSpace); err != nil {
		return nil, err
	}

	if cfg.MQTT.credentialsInURL && cfg.Role == RoleHome {
		n.log.Warn("mqtt.broker holds user:password@; the node uses them but never shows them: move them to mqtt.username and mqtt.password_file")
	}
	if n.identity, err = openNodeIdentity(cfg, opts); err != nil {
		return nil, err
	}
	if n.apiToken, err = loadOrCreateToken(cfg.APITokenFile); err != nil {
		return nil, err
	}
	mcfg := cfg.MQTT
	if mcfg.ClientID == "" {
		mcfg.ClientID = "gridmint-" + n.identity.Address[2:10]
	}
	if n.store, err = store.Open(filepath.Join(cfg.DataDir, "store"), store.Options{
		Logger:             n.log.With("component", "store"),
		GCGate:             func() bool { return !n.disk.status().Paused },
		QuarantineMaxBytes: int64(cfg.Quarantine.MaxSizeMB) << 20,
		BlockCacheSize:     int64(cfg.Storage.BlockCacheMB) << 20,
		IndexCacheSize:     int64(cfg.Storage.IndexCacheMB) << 20,
	}); err != nil {
		return nil, err
	}
	counts, err := n.store.RejectionCounts()
	if err != nil {
		return nil, err
	}
	n.metrics.restoreRejections(counts)
	n.metrics.watchQuarantine(n.store)
	adapters := make([]devices.Adapter, len(cfg.Adapters))
	for i, a := range cfg.Adapters {
		ac := a.devices()
		ac.ClientID = mcfg.ClientID // replies addressed to us (Shelly RPC) come to <client id>/rpc
		if adapters[i], err = devices.NewAdapter(ac); err != nil {
			return nil, fieldErr(fmt.Sprintf("adapters[%d]", i), "%v", err)
		}
	}
	sites, err := cfg.siteList(n.identity.Address)
	if err != nil {
		return nil, err
	}
	if n.sites, err = devices.NewSites(sites); err != nil {
		return nil, fieldErr("sites", "%s", errMessage(err))
	}
	declared, err := cfg.declaredDevices(n.identity.Address, adapters)
	if err != nil {
		return nil, err
	}
	if err := n.registerDeclared(declared, opts.Clock.Now()); err != nil {
		return nil, err
	}
	if err := n.failStalePending(opts.Clock.Now()); err != nil {
		return nil, err
	}
	known, states, err := loadIngestState(n.store)
	if err != nil {
		return nil, err
	}
	warnUnknownSites(known, n.sites, n.log)
	n.ingest, err = devices.NewIngest(devices.IngestConfig{
		Node: n.identity.Address, Adapters: adapters, Known: known, States: states,
		Discover: *cfg.Discover, MaxDevices: cfg.MaxDevices, StaleAfter: cfg.StaleAfter, Limits: devices.DefaultLimits(), Clock: opts.Clock,
	})
	if err != nil {
		return nil, err
	}
	n.pipeline = newPipeline(n.ingest, n.store, n.log.With("component", "ingest"), n.metrics)
	n.pipeline.room = n.disk
	if opts.holdIngest != nil {
		n.pipeline.room = bothRooms{opts.holdIngest, n.disk}
	}
	n.pipelineDone = make(chan struct{})
	go func() { defer close(n.pipelineDone); n.pipeline.run(ctx) }()
	n.commands = newCommandLog(n.store, n.log.With("component", "commands"))
	n.dispatcher = devices.NewDispatcher(devices.DispatcherConfig{
		Ingest: n.ingest, Publisher: lazyPublisher{n}, Clock: opts.Clock, Record: n.commands.Record,
		// A device confirms within MQTT round trips: wall time, so a demo
		// clock's faster time stretches the timeout by its speed.
		Timeout: time.Duration(float64(devices.DefaultConfirmTimeout) * gridmint.SpeedOf(opts.Clock)),
		Watch:   lazyPublisher{n}.Watch,
	})
	n.replies = n.ingest.ReplyFilters()
	for _, f := range n.replies {
		n.replyRoutes.Add(f, struct{}{})
	}
	// Replies come on the control connection (connectDevices). A
	// persistent session of an older version may still route them here:
	// onMessage acknowledges them unread.
	subs := n.ingest.Subscriptions()
	// A utility reads no devices: no broker, so no Home Assistant either.
	if *cfg.HomeAssistant.Enabled && cfg.Role == RoleHome {
		n.ha = newHAPublisher(devices.HAConfig{
			DiscoveryPrefix: cfg.HomeAssistant.DiscoveryPrefix, StatePrefix: cfg.HomeAssistant.StatePrefix,
			NodeID: devices.HANodeID(n.identity.Address), NodeName: "gridmint " + n.identity.Address[:10],
		}, n.ingest, opts.Clock, n.log.With("component", "homeassistant"))
		subs = append(subs, n.ha.birthTopic())
	}
	logCtx, stopLog := context.WithCancel(context.WithoutCancel(ctx))
	n.stopLog, n.logDone = stopLog, make(chan struct{})
	go func() { defer close(n.logDone); n.commands.run(logCtx) }()
	n.wg.Add(2)
	// Store GC is housekeeping on the wall clock.
	go func() { defer n.wg.Done(); n.store.RunGC(ctx, 10*time.Minute) }()
	// Expiry checks in the clock's time, as the dispatcher's deadlines are.
	go func() { defer n.wg.Done(); every(ctx, opts.Clock, time.Second, n.dispatcher.Expire) }()

	if n.chain, err = openChain(ctx, cfg, n.identity, n.disk, opts.Clock, n.log.With("component", "chain")); err != nil {
		return nil, err
	}
	if err := n.serveChainRPC(); err != nil {
		return nil, err
	}
	indexer := chain.NewIndexer(n.chain.Backend(), guardedIndex{n.store, n.disk}, chain.IndexerConfig{
		Contracts: n.chain.Contracts(), Confirmations: *cfg.Chain.Confirmations, Logger: n.log.With("component", "indexer"),
	})
	n.wg.Add(1)
	go func() { defer n.wg.Done(); indexer.Run(ctx) }()
	// The registry is read before gossip starts: batch attestations are
	// checked against it from the first message on.
	attestors := settle.NewAttestors(n.chain)
	if err := attestors.Refresh(ctx); err != nil {
		return nil, err
	}
	if n.p2p, err = p2p.New(ctx, p2p.Config{
		Key: n.identity.Private, Listen: cfg.P2P.Listen, Bootstrap: cfg.P2P.Bootstrap,
		MDNS: *cfg.P2P.MDNS, DHT: p2p.DHTMode(cfg.P2P.DHT), Attestors: attestors,
		Domain: p2p.NewDomain(n.chain.ChainID(), common.Address{}),
		Store:  guardedMessages{n.store, n.disk}, Clock: opts.Clock, Log: n.log.With("component", "p2p"),
	}); err != nil {
		return nil, err
	}
	if n.settle, err = settle.New(settle.Config{
		Key: n.identity.Private, Chain: n.chain, Attestors: attestors, Index: n.store, Gossip: n.p2p,
		Store: n.store, Clock: opts.Clock, Logger: n.log.With("component", "settle"),
	}); err != nil {
		return nil, err
	}
	n.metrics.registerSettle(n.settle)
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.settle.Run(ctx) }()
	if err := n.startClaims(ctx, attestors); err != nil {
		return nil, err
	}
	if err := n.startMV(ctx, attestors); err != nil {
		return nil, err
	}
	if err := n.startMarket(ctx); err != nil {
		return nil, err
	}
	if err := n.startPoF(ctx, attestors); err != nil {
		return nil, err
	}
	n.p2p.Handle(n.onGossip)
	n.metrics.registry.MustRegister(p2pCollector{n.p2p})
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		every(ctx, opts.Clock, diskCheckEvery, func() {
			if _, resumed := n.disk.refresh(); resumed {
				n.catchUpAfterPause(ctx)
			}
		})
	}()
	if err := n.connectDevices(ctx, mcfg, subs, adapters, opts.Clock); err != nil {
		return nil, err
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("http_addr %s: %w", cfg.HTTPAddr, err)
	}
	n.httpAddr = ln.Addr().String()
	var chainRPC http.Handler
	if sim := n.chain.Simulated(); sim != nil {
		h, err := sim.RPCHandler()
		if err != nil {
			return nil, err
		}
		chainRPC = chain.ReadOnlyRPC(h)
	}
	network := nodeNetwork{p2p: n.p2p, store: n.store, clock: opts.Clock, identity: n.identity, market: n.offerChecker()}
	// OpenADR events become requests signed and gossiped by this node.
	requests := openadr.MarketFunc(func(ctx context.Context, r gridmint.Request) (string, error) {
		m, err := network.PublishRequest(ctx, r)
		return m.ID, err
	})
	var vtn http.Handler
	if cfg.OpenADR.Enabled {
		if n.openadr, err = openadr.New(openadr.Options{Config: cfg.OpenADR, Store: openadr.StoreOn(n.store), Clock: opts.Clock,
			Market: requests, Deliveries: n.openadrDeliveries(), Registerer: n.metrics.registry, Logger: n.log.With("component", "openadr")}); err != nil {
			return nil, err
		}
		vtn = n.openadr
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.openadr.RunDeliveries(ctx, openadrDeliveryEvery) }()
	}
	if cfg.OpenADR.VEN.VTN != "" {
		if err := n.followVTN(ctx, cfg.OpenADR.VEN, requests, opts.Clock); err != nil {
			return nil, err
		}
	}
	n.http = &http.Server{
		Handler: withTestHooks(n, api.New(api.Config{
			Devices:      n.ingest,
			Quarantine:   n.store,
			Control:      nodeControl{n},
			Sites:        nodeSites{rules: n.sites, ingest: n.ingest, starts: newDayStarts(n.store), clock: opts.Clock},
			Network:      network,
			Chain:        nodeChain{Index: chain.Index{Store: n.store}, client: n.chain, rpc: cfg.Chain.RPC, confirmations: *cfg.Chain.Confirmations},
			Settlement:   n.settle,
			Certificates: &api.ChainCertificates{Client: n.chain, Index: n.store, Claims: n.claimSource()},
			Claims:       n.claimsAPI(),
			Market:       n.marketAPI(),
			Deliveries:   n.deliveriesAPI(),
			Tests:        n.testsAPI(),
			Policy:       n.policyAPI(),
			PolicyEdit:   n.policyEditAPI(),
			Audit:        n.auditAPI(ctx),
			Token:        n.apiToken,
			Clock:        opts.Clock,
			Health:       n.health,
			Info:         n.info(opts.Version),
			ChainRPC:     chainRPC,
			AllowedHosts: allowedHosts(cfg.AllowedHosts),
			Metrics:      promhttp.HandlerFor(n.metrics.registry, promhttp.HandlerOpts{}),
			Registerer:   n.metrics.registry,
			OpenADR:      vtn,
			Logger:       n.log.With("component", "api"),
		})),
		// A slow or idle client cannot hold a connection open forever.
		// WriteTimeout leaves room for a setpoint's ?wait= (at most 60 s)
		// and the largest page on a slow link.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("http server", "err", err)
		}
	}()
	// Tools that find a running node by its data dir (gridmint audit)
	// read where its API is; a stale file after a crash is checked by
	// asking the address that answers there.
	if err := writeFileAtomic(filepath.Join(cfg.DataDir, HTTPAddrFile), []byte(n.httpAddr+"\n"), 0o600); err != nil {
		return nil, err
	}
	n.log.Info("node started", "address", n.identity.Address, "peer_id", n.identity.PeerID.String(),
		"p2p", n.P2PAddrs(), "http", "http://"+n.httpAddr, "broker", RedactURL(cfg.MQTT.Broker), "data_dir", cfg.DataDir)
	return n, nil
}

// connectDevices connects a home to its broker and starts the adapters'
// keep-alives and Home Assistant discovery. A utility has no devices.
func (n *Node) connectDevices(ctx context.Context, mcfg MQTTConfig, subs []string, adapters []devices.Adapter, clock gridmint.Clock) error {
	if n.cfg.Role != RoleHome {
		return nil
	}
	var err error
	if n.mqtt, err = connectMQTT(ctx, mcfg, subs, func(m devices.Message, ack func()) { n.onMessage(ctx, m, ack) }, clock, n.log); err != nil {
		return err
	}
	if n.control, err = connectControl(ctx, mcfg, n.replies, func(topic string, payload []byte) { n.dispatcher.Observe(topic, payload) }, n.log); err != nil {
		return err
	}
	for i, a := range adapters {
		if off := n.cfg.Adapters[i].KeepAlive; off != nil && !*off {
			continue
		}
		if k, ok := a.(devices.KeepAliver); ok {
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				// The device's keep-alive timeout runs on its own clock,
				// which the demo's simulated devices share with the node.
				keepAlive(ctx, k, n.control, clock, n.log.With("component", "keepalive", "dialect", a.Dialect()))
			}()
		}
	}
	if n.ha != nil {
		n.ha.pub = n.control
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.ha.run(ctx) }()
	}
	return nil
}

// allowedHosts are the configured names and this machine's own: its host
// name and the <hostname>.local that mDNS (avahi) answers on a LAN, as a
// Raspberry Pi is reached at raspberrypi.local.
func allowedHosts(configured []string) []string {
	out := slices.Clone(configured)
	if h, err := os.Hostname(); err == nil && h != "" {
		out = append(out, h, h+".local")
	}
	return out
}

// openNodeIdentity unlocks the node key, creating it if opts allow.
func openNodeIdentity(cfg Config, opts Options) (*Identity, error) {
	// A missing key is said first: asking for the passphrase of a key that
	// does not exist sends the user looking for the wrong thing.
	if opts.CreateKey == "" && !HasIdentity(cfg.Identity.Keystore, cfg.DataDir) {
		return nil, fmt.Errorf("%w in %s; create one with `gridmint init --data-dir %s`", ErrNoKey, cfg.Identity.Keystore, cfg.DataDir)
	}
	var pass []byte
	var err error
	switch {
	case cfg.Identity.PassphraseFile != "":
		pass, err = ReadPassphraseFile(cfg.Identity.PassphraseFile)
	case opts.Passphrase != nil:
		pass, err = opts.Passphrase()
	default:
		err = errors.New("no passphrase: set identity.passphrase_file or GRIDMINT_PASSPHRASE")
	}
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	id, err := OpenIdentity(cfg.Identity.Keystore, cfg.DataDir, pass)
	if errors.Is(err, ErrNoKey) && opts.CreateKey != "" {
		return CreateIdentity(cfg.Identity.Keystore, pass, opts.CreateKey)
	}
	if errors.Is(err, ErrNoKey) {
		return nil, fmt.Errorf("%w; create one with `gridmint init --data-dir %s`", err, cfg.DataDir)
	}
	return id, err
}

// onMessage routes one message of the telemetry connection: Home
// Assistant's birth message and replies to commands (a telemetry filter
// may cover a reply topic) are acknowledged at once; telemetry goes to the
// ingest pipeline, which acknowledges it once stored. Confirmations are
// the control connection's (Dispatcher.Observe there): observed here too,
// one message would confirm two commands.
func (n *Node) onMessage(ctx context.Context, m devices.Message, ack func()) {
	if n.ha != nil && m.Topic == n.ha.birthTopic() {
		n.ha.onBirth(m.Payload)
		ack()
		return
	}
	if _, _, reply := n.replyRoutes.Match(m.Topic); reply {
		ack()
		return
	}
	n.pipeline.enqueue(ctx, inbound{msg: m, ack: ack})
}

// registerDeclared stores devices from the config. A device already in
// the store keeps what was edited over the API (an owner's opt-out must
// survive a restart): only the fields the config file changed since the
// last start are applied, and the first-seen time is kept.
func (n *Node) registerDeclared(declared []gridmint.Device, now time.Time) error {
	if len(declared) == 0 {
		return nil
	}
	b := n.store.NewBatch()
	for _, d := range declared {
		if b.Len()+2 > store.MaxBatchLen {
			// Thousands of devices do not fit one transaction. Each
			// device's record and snapshot go together; a crash between
			// batches leaves the rest for the next start, which applies
			// them the same way.
			if err := n.store.Commit(b); err != nil {
				return err
			}
			b = n.store.NewBatch()
		}
		snapshot, err := json.Marshal(d)
		if err != nil {
			return err
		}
		stored, err := n.store.Device(d.ID)
		switch {
		case gridmint.ErrorCode(err) == gridmint.ENotFound:
			d.FirstSeen = now
			b.PutDevice(d)
			b.PutMeta(declaredMetaKey(d.ID), snapshot)
			continue
		case err != nil:
			return err
		}
		var last gridmint.Device
		if raw, ok, err := n.store.Meta(declaredMetaKey(d.ID)); err != nil {
			return err
		} else if ok {
			if err := json.Unmarshal(raw, &last); err != nil {
				return fmt.Errorf("stored configuration of %s: %w", d.ID, err)
			}
		} else {
			last = stored // no snapshot: the stored device was the config's
		}
		merged, changed := mergeDeclared(stored, last, d)
		if site, ok := n.sites.MeterOf(d.ID); ok && (merged.Site != site || merged.Kind != gridmint.KindMeter) {
			// The configuration names it the meter of record: that wins
			// over an older edit (the API refuses such edits since).
			merged.Site, merged.Kind = site, gridmint.KindMeter
			changed = append(changed, "meter of record of site "+string(site))
		}
		if len(changed) > 0 {
			n.log.Info("configuration changed a device", "device", d.ID, "fields", changed)
		}
		b.PutDevice(merged)
		b.PutMeta(declaredMetaKey(d.ID), snapshot)
	}
	return n.store.Commit(b)
}

func declaredMetaKey(id gridmint.DeviceID) string { return "declared/" + string(id) }

// mergeDeclared applies to stored the fields that the configuration
// changed from last to cfg, and names them.
func mergeDeclared(stored, last, cfg gridmint.Device) (gridmint.Device, []string) {
	var changed []string
	apply := func(name string, differs bool, set func()) {
		if differs {
			set()
			changed = append(changed, name)
		}
	}
	apply("name", cfg.Name != last.Name, func() { stored.Name = cfg.Name })
	apply("kind", cfg.Kind != last.Kind, func() { stored.Kind = cfg.Kind })
	apply("nameplate_w", cfg.Nameplate != last.Nameplate, func() { stored.Nameplate = cfg.Nameplate })
	apply("capacity_wh", cfg.Capacity != last.Capacity, func() { stored.Capacity = cfg.Capacity })
	apply("location", !reflect.DeepEqual(cfg.Location, last.Location), func() { stored.Location = cfg.Location })
	apply("zone", cfg.Zone != last.Zone, func() { stored.Zone = cfg.Zone })
	apply("owner", cfg.Owner != last.Owner, func() { stored.Owner = cfg.Owner })
	apply("limits", cfg.Limits != last.Limits, func() { stored.Limits = cfg.Limits })
	apply("opt_out", cfg.OptOut != last.OptOut, func() { stored.OptOut = cfg.OptOut })
	apply("site", cfg.Site != last.Site, func() { stored.Site = cfg.Site })
	// Capabilities follow the adapter, not the user.
	stored.Capabilities = cfg.Capabilities
	return stored, changed
}

// failStalePending marks commands that a previous run left pending: their
// confirmation could only have come to that run.
func (n *Node) failStalePending(now time.Time) error {
	b := n.store.NewBatch()
	cursor := ""
	for {
		cmds, next, err := n.store.Commands("", cursor, 1000)
		if err != nil {
			return err
		}
		for _, c := range cmds {
			if c.Status == gridmint.CommandPending {
				c.Status, c.Reason, c.DoneAt = gridmint.CommandFailed, "the node stopped before the device confirmed", now
				b.PutCommand(c)
			}
			if b.Len() >= store.MaxBatchLen {
				if err := n.store.Commit(b); err != nil {
					return err
				}
				b = n.store.NewBatch()
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return n.store.Commit(b)
}

// info is what the API and the page show of the node.
func (n *Node) info(version string) api.NodeInfo {
	info := api.NodeInfo{
		Address: n.identity.Address, PeerID: n.identity.PeerID.String(),
		ListenAddrs: n.P2PAddrs(), Version: version, Role: string(n.cfg.Role),
		Clock: api.ClockInfo{Speed: gridmint.SpeedOf(n.clock)},
	}
	if n.cfg.Role == RoleHome {
		info.Broker = RedactURL(n.cfg.MQTT.Broker)
	}
	if sc, ok := n.clock.(*gridmint.ScaledClock); ok {
		epoch, start := sc.Epoch(), sc.WallStart()
		info.Clock.Epoch, info.Clock.WallStart = &epoch, &start
	}
	return info
}

func (n *Node) health() []api.Check {
	st := api.Check{Name: "store", OK: n.pipeline.healthy.Load()}
	if !st.OK {
		st.Detail = "commits failing; messages are held unacknowledged"
	}
	ds := n.disk.status()
	disk := api.Check{Name: "disk", OK: !ds.Paused, Detail: ds.String()}
	if n.mqtt == nil {
		return []api.Check{st, disk} // a utility has no broker
	}
	controlUp := n.control != nil && n.control.Connected()
	mq := api.Check{Name: "mqtt", OK: n.mqtt.Connected() && controlUp, Detail: RedactURL(n.cfg.MQTT.Broker)}
	switch {
	case !n.mqtt.Connected():
		mq.Detail = "disconnected from " + RedactURL(n.cfg.MQTT.Broker)
	case !controlUp:
		mq.Detail = "control connection (commands, keep-alives) disconnected from " + RedactURL(n.cfg.MQTT.Broker)
	case n.mqtt.qos0.Load():
		mq.Detail += " (broker granted QoS 0: in-flight messages are not protected against a crash)"
	}
	return []api.Check{mq, st, disk, capsCheck(n.ingest.CapsReached())}
}

// openDiskGuard starts watching the data dir's free space. It refuses to
// start below what the store itself needs and starts paused below the
// reserve.
func (n *Node) openDiskGuard(space DiskSpaceFunc) error {
	policy, err := n.cfg.Storage.policy()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	n.disk = newDiskGuard(n.cfg.DataDir, policy, space, n.metrics, n.log.With("component", "disk"))
	n.metrics.watchDisk(n.disk)
	st, _ := n.disk.refresh()
	switch {
	case st.Checked && st.Free < policy.floor:
		return gridmint.Errorf(gridmint.EUnavailable,
			"data_dir %s: %s free, below the %s the store needs to open without crashing (badger writes through memory maps and dies of SIGBUS on a full disk); free some space and start again",
			n.cfg.DataDir, formatBytes(st.Free), formatBytes(policy.floor))
	case st.Paused:
		n.log.Warn("starting paused: the disk is below its reserve", "dir", n.cfg.DataDir, "status", st.String())
	}
	return nil
}

// diskBelowFloor looks at the disk and returns its status when the free
// space is below what the store itself needs, else nil.
func (n *Node) diskBelowFloor() *diskStatus {
	if n.disk == nil {
		return nil
	}
	st, _ := n.disk.refresh()
	if !st.Checked || st.Free >= n.disk.policy.floor {
		return nil
	}
	return &st
}

// catchUpAfterPause fetches from peers the gossip that was ignored while
// the disk was full: catch-up asks for everything since the newest stored
// message, within the topics' retention.
func (n *Node) catchUpAfterPause(ctx context.Context) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.p2p.CatchUp(ctx); err != nil && ctx.Err() == nil {
			n.log.Info("no catch-up after the disk pause", "err", err)
		}
	}()
}

// guardedMessages is the store as the gossip node's p2p.Store: below the
// disk reserve it refuses to store a message, which the validator then
// ignores as store_error (no penalty for the peer that relayed it) and
// the API's publish answers with 503; the catch-up after the pause
// fetches what was missed.
type guardedMessages struct {
	*store.Store
	disk *diskGuard
}

func (s guardedMessages) PutMessage(m p2p.StoredMessage) error {
	if err := s.disk.check("gossip"); err != nil {
		return err
	}
	return s.Store.PutMessage(m)
}

// PruneMessages waits for the disk to have room: deleting writes too, and
// the space comes back only once badger compacts, long after.
func (s guardedMessages) PruneMessages(before time.Time) (int, error) {
	if s.disk.status().Paused {
		return 0, nil
	}
	return s.Store.PruneMessages(before)
}

// guardedIndex is the store as the chain indexer's IndexStore: below the
// disk reserve indexing waits, and resumes where it was.
type guardedIndex struct {
	*store.Store
	disk *diskGuard
}

func (s guardedIndex) Apply(ctx context.Context, b chain.BlockRef, events []chain.Event) error {
	if err := s.disk.wait(ctx); err != nil {
		return err
	}
	return s.Store.Apply(ctx, b, events)
}

func (s guardedIndex) Rewind(ctx context.Context, number uint64) error {
	if err := s.disk.wait(ctx); err != nil {
		return err
	}
	return s.Store.Rewind(ctx, number)
}

// Identity returns the node's key, peer ID and address.
func (n *Node) Identity() *Identity { return n.identity }

// APITokenFile is where the API token is kept.
func (n *Node) APITokenFile() string { return n.cfg.APITokenFile }

// HTTPAddr is the host:port the API listens on.
func (n *Node) HTTPAddr() string { return n.httpAddr }

// Store gives read access to the node's store (tests, tools).
func (n *Node) Store() *store.Store { return n.store }

// Devices returns every device with its live state.
func (n *Node) Devices() []devices.DeviceState { return n.ingest.Devices() }

// P2PAddrs are the libp2p host's full listen addresses (with /p2p/<id>).
func (n *Node) P2PAddrs() []string {
	if n.p2p == nil {
		return nil
	}
	return n.p2p.Addrs()
}

// P2P is the node's gossip node.
func (n *Node) P2P() *p2p.Node { return n.p2p }

// Chain is the node's settlement client: chain id, contracts, the
// attestor set and k (AttestorSet), submissions.
func (n *Node) Chain() *chain.Client { return n.chain }

// Clock is the node's clock, shared by every component: demo time under
// `gridmint demo --speed`, real time otherwise. Periodic work in its time
// uses gridmint.NewTicker.
func (n *Node) Clock() gridmint.Clock { return n.clock }

// Role is the node's role (home or utility).
func (n *Node) Role() Role { return n.cfg.Role }

// onGossip sees every accepted gossip message: batch attestations go to
// the settlement engine. Flexibility clearing and certificate attestation
// build on this.
func (n *Node) onGossip(m p2p.Message) {
	n.log.Debug("gossip accepted", "kind", m.Kind, "id", m.ID, "author", m.Author, "created", m.Created)
	n.settle.HandleMessage(m)
	if n.claims != nil && m.Kind == p2p.KindRECClaim {
		n.claims.handle(m)
	}
	if n.market != nil {
		n.market.Handle(m)
	}
	if n.mv != nil && m.Kind == p2p.KindMeter {
		n.mv.HandleMessage(m)
	}
	if n.pof != nil && m.Kind == p2p.KindMeter {
		n.pof.HandleMessage(m)
	}
}

// Settle is the node's attested-batch engine: the certificate and
// market services hand it the batches they attest (Attest) or build
// (Propose).
func (n *Node) Settle() *settle.Engine { return n.settle }

// HTTPAddrFile, in the data dir, holds the host:port a running node's
// API listens on.
const HTTPAddrFile = "http.addr"

// closeTimeout bounds how long Close waits for the ingest pipeline.
const closeTimeout = 10 * time.Second

// followVTN runs the OpenADR VEN client (openadr.ven) until ctx ends.
func (n *Node) followVTN(ctx context.Context, c openadr.VENConfig, market openadr.Market, clock gridmint.Clock) error {
	vc, err := openadr.NewVENClient(openadr.VENOptions{Config: c, Store: openadr.StoreOn(n.store), Clock: clock,
		Market: market, Deliveries: n.openadrDeliveries(), Logger: n.log.With("component", "openadr-ven")})
	if err != nil {
		return err
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); vc.Run(ctx) }()
	return nil
}

// Close stops the node: ingest first (queued messages stay unacknowledged
// at the broker), then the broker connection, HTTP, libp2p and last the
// store. It is safe to call more than once.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.cancel()
		var errs []error
		if n.pipelineDone != nil {
			// No acknowledgement may be sent once the client disconnects.
			// A commit in progress finishes; a stuck disk must not hang
			// shutdown forever (its messages stay unacknowledged).
			select {
			case <-n.pipelineDone:
			case <-time.After(closeTimeout): // wall clock: a shutdown bound
				n.log.Error("ingest did not stop in time; closing anyway", "waited", closeTimeout)
			}
		}
		if n.control != nil {
			n.control.Close()
		}
		if n.mqtt != nil {
			n.mqtt.Close()
		}
		if n.http != nil {
			os.Remove(filepath.Join(n.cfg.DataDir, HTTPAddrFile))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, n.http.Shutdown(ctx))
			cancel()
		}
		if n.openadr != nil {
			n.openadr.Close()
		}
		if n.chainRPC != nil {
			// Wall-clock bound: a shutdown waits for requests in flight.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			errs = append(errs, n.chainRPC.Shutdown(ctx))
			cancel()
		}
		n.wg.Wait()
		if n.stopLog != nil {
			// Last: commands confirmed or sent until now are recorded.
			n.stopLog()
			<-n.logDone
		}
		if n.p2p != nil {
			errs = append(errs, n.p2p.Close())
		}
		if n.chain != nil {
			errs = append(errs, n.chain.Close())
		}
		if n.store != nil {
			if st := n.diskBelowFloor(); st != nil {
				n.log.Error("the disk is too full for the store to close (badger would flush its memtable through a memory map and die of SIGBUS); "+
					"leaving it to be recovered at the next start, as after a crash: everything committed is in its write-ahead log",
					"free", formatBytes(st.Free), "store_needs", formatBytes(n.disk.policy.floor))
				n.store.Abandon()
			} else {
				errs = append(errs, n.store.Close())
			}
		}
		if n.leaveMemgov != nil {
			n.leaveMemgov()
		}
		n.closeErr = errors.Join(errs...)
		n.log.Info("node stopped")
	})
	return n.closeErr
}
