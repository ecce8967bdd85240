package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/gridmint/gridmint"
)

// SimulatedChainConfig is the embedded chain's rules: go-ethereum's dev
// chain (id 1337) up to Osaka, the mainnet's rules since December 2025.
// go-ethereum v1.17.8's dev chain also turns on the draft Amsterdam and
// Bogota forks, whose state-gas repricing (EIP-8037/8038) makes storage
// writes several times dearer than on any live chain; gas measured here
// is what mainnet and the L2s charge.
var SimulatedChainConfig = func() *params.ChainConfig {
	c := *params.AllDevChainProtocolChanges
	c.AmsterdamTime, c.BogotaTime = nil, nil
	return &c
}()

// SimulatedChainID is the chain id of the embedded chain.
var SimulatedChainID = SimulatedChainConfig.ChainID

// SimulatedConfig configures the embedded chain.
type SimulatedConfig struct {
	// Dir keeps the chain's database (LevelDB, archive mode, hash-based
	// state: every block's state is written when the block is, so a
	// killed process loses nothing it was told was mined). "" keeps the
	// chain in memory only.
	Dir string
	// Alloc is the genesis allocation (wei). It defines the genesis
	// block, so it is kept in Dir (genesis-alloc.json) when the chain is
	// made: a reopened Dir uses its own, and an Alloc that funds an
	// account it does not fund (or funds otherwise) is an error. An Alloc
	// with fewer accounts is fine (a tool opening a node's chain).
	Alloc types.GenesisAlloc
	// BlockGasLimit is the gas limit of every block; 0 means go-ethereum's
	// default (60,000,000).
	BlockGasLimit uint64
	// Manual turns off sealing a block right after each accepted
	// transaction: the caller calls Commit.
	Manual bool
	// CacheMB is the chain's memory allowance for its caches, in MB
	// (MiB); 0 means DefaultSimulatedCacheMB. See simulatedCaches.
	CacheMB int
	// Logger receives the chain's lifecycle messages; nil discards them.
	Logger *slog.Logger
	// Clock stamps blocks: a block sealed with transactions gets the
	// clock's time (whole seconds), so that contracts reading
	// block.timestamp (REC's "hour has ended", FLEX's daily cap) follow
	// a demo clock that runs ahead of the wall clock. Timestamps stay
	// strictly increasing: a clock behind the head or the wall clock
	// gives head + 1 s or the wall time (go-ethereum's simulated beacon
	// stamps with the wall clock). nil: the wall clock.
	Clock gridmint.Clock
}

// DefaultSimulatedCacheMB is the embedded chain's default cache
// allowance, MB. go-ethereum's own defaults (a 2 GiB database cache, 1.6
// GiB of trie caches) are sized for mainnet on a server; the embedded
// chain holds the gridmint contracts and the node's own transactions,
// and runs on a Raspberry-Pi-class box. Those defaults also cost memory
// they never touch: LevelDB allocates its 512 MiB write buffer up front,
// which counts as live heap and so lifts the garbage collector's target
// by as much, letting any garbage (a flood of MQTT payloads) pile up to
// that size before it is collected.
const DefaultSimulatedCacheMB = 32

// minSimulatedCacheMB is the least cache accepted: LevelDB's own minimum
// (16 MB) for the database share.
const minSimulatedCacheMB = 16

// simulatedCaches splits the allowance of mb MB the way geth's --cache
// does for a full node: half to the database (LevelDB: half of that its
// block cache, a quarter each of its two write buffers), 15 % to clean
// and 25 % to dirty trie nodes, 10 % to the state snapshot. With an
// archive of hash-based state (a Dir) the dirty and snapshot shares go to
// the clean cache (go-ethereum moves the dirty share itself). The trie caches are
// fastcache, allocated outside the Go heap as they fill.
func simulatedCaches(c *ethconfig.Config, mb int) {
	if mb <= 0 {
		mb = DefaultSimulatedCacheMB
	}
	mb = max(mb, minSimulatedCacheMB)
	c.DatabaseCache = max(mb/2, minSimulatedCacheMB)
	c.TrieCleanCache = mb * 15 / 100
	c.TrieDirtyCache = mb * 25 / 100
	c.SnapshotCache = mb * 10 / 100
}

// Simulated is go-ethereum's simulated chain (the same node, engine and
// simulated beacon as ethclient/simulated) with its database optionally on
// disk, so its state survives restarts: ethclient/simulated itself always
// rewinds to genesis when it starts. By default a block is sealed as soon
// as a transaction is accepted, as geth --dev does.
type Simulated struct {
	cfg    SimulatedConfig
	log    *slog.Logger
	node   *node.Node
	eth    *eth.Ethereum
	beacon *catalyst.SimulatedBeacon
	client *ethclient.Client
	mu     sync.Mutex // serialises sending and sealing
	closed bool
}

// NewSimulated starts the embedded chain (or reopens the one in cfg.Dir).
func NewSimulated(cfg SimulatedConfig) (*Simulated, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	nodeConf := node.DefaultConfig
	nodeConf.DataDir = cfg.Dir
	nodeConf.Name = "gridmint-chain"
	nodeConf.DBEngine = "leveldb" // writes reach the OS before returning (survive a kill)
	nodeConf.P2P = p2p.Config{NoDiscovery: true, MaxPeers: 0}
	nodeConf.HTTPHost, nodeConf.WSHost, nodeConf.AuthAddr, nodeConf.IPCPath = "", "", "", ""

	own, record, err := genesisAlloc(cfg.Dir, cfg.Alloc)
	if err != nil {
		return nil, err
	}
	alloc := core.SystemContractAllocs()
	maps.Copy(alloc, own)
	ethConf := ethconfig.Defaults
	gasLimit := cfg.BlockGasLimit
	if gasLimit == 0 {
		gasLimit = ethconfig.Defaults.Miner.GasCeil
	}
	ethConf.Genesis = &core.Genesis{Config: SimulatedChainConfig, GasLimit: gasLimit, Alloc: alloc}
	ethConf.Miner.GasCeil = gasLimit
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true
	ethConf.LogNoHistory = true
	simulatedCaches(&ethConf, cfg.CacheMB)
	if cfg.Dir != "" {
		ethConf.NoPruning = true // archive: state committed with every block
		ethConf.StateScheme = rawdb.HashScheme
		// No snapshot journal to lose: its share goes to the clean trie
		// cache.
		ethConf.TrieCleanCache += ethConf.SnapshotCache
		ethConf.SnapshotCache = 0
	}

	stack, err := node.New(&nodeConf)
	if err != nil {
		return nil, fmt.Errorf("chain: simulated node: %w", err)
	}
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		stack.Close()
		if _, ok := errors.AsType[*core.GenesisMismatchError](err); ok {
			// The genesis is the allocation: another one is another chain.
			return nil, fmt.Errorf("chain: the simulated chain in %q was created with another genesis allocation (accounts funded at its first start): "+
				"keep SimulatedConfig.Alloc (chain.embedded_fund) as it was, or remove the directory to start a new chain: %w", cfg.Dir, err)
		}
		return nil, fmt.Errorf("chain: simulated chain in %q: %w", cfg.Dir, err)
	}
	stack.RegisterAPIs([]rpc.API{{Namespace: "eth", Service: filters.NewFilterAPI(filters.NewFilterSystem(backend.APIBackend, filters.Config{}))}})
	if err := stack.Start(); err != nil {
		stack.Close()
		return nil, fmt.Errorf("chain: simulated node start: %w", err)
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		stack.Close()
		return nil, fmt.Errorf("chain: simulated beacon: %w", err)
	}
	if record {
		if err := writeGenesisAlloc(cfg.Dir, own); err != nil {
			beacon.Stop()
			stack.Close()
			return nil, err
		}
	}
	head := backend.BlockChain().CurrentBlock()
	log.Info("embedded chain started", "dir", cfg.Dir, "head", head.Number, "hash", head.Hash())
	return &Simulated{cfg: cfg, log: log, node: stack, eth: backend, beacon: beacon, client: ethclient.NewClient(stack.Attach())}, nil
}

// genesisAllocFile, in a chain's Dir, keeps the genesis allocation it was
// made with.
const genesisAllocFile = "genesis-alloc.json"

// genesisAlloc is the allocation to open the chain in dir with: the one
// kept there, which must fund every account of want as want does; else
// want, to be recorded (record) once the chain is open.
func genesisAlloc(dir string, want types.GenesisAlloc) (alloc types.GenesisAlloc, record bool, err error) {
	if dir == "" {
		return want, false, nil
	}
	path := filepath.Join(dir, genesisAllocFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return want, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("chain: %w", err)
	}
	var kept types.GenesisAlloc
	if err := json.Unmarshal(b, &kept); err != nil {
		return nil, false, fmt.Errorf("chain: %s is damaged (%v): it records the genesis of the chain in %q", path, err, dir)
	}
	for a, acc := range want {
		k, ok := kept[a]
		if !ok || k.Balance == nil || acc.Balance == nil || k.Balance.Cmp(acc.Balance) != 0 {
			return nil, false, fmt.Errorf("chain: the simulated chain in %q was made with a genesis that does not fund %s with %v wei; "+
				"a genesis cannot change (it is the chain's first block): keep the accounts funded at its first start (chain.embedded_fund), "+
				"or remove the directory to start a new chain", dir, a, acc.Balance)
		}
	}
	return kept, false, nil
}

func writeGenesisAlloc(dir string, alloc types.GenesisAlloc) error {
	b, err := json.MarshalIndent(alloc, "", "  ")
	if err != nil {
		return fmt.Errorf("chain: genesis allocation: %w", err)
	}
	tmp := filepath.Join(dir, genesisAllocFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, genesisAllocFile)); err != nil {
		return fmt.Errorf("chain: %w", err)
	}
	return nil
}

// RPCHandler serves the chain's JSON-RPC (eth, net, web3 and filters)
// over HTTP, for tools that read it by URL: `gridmint audit` against
// chain.rpc, a block explorer, a wallet.
func (s *Simulated) RPCHandler() (http.Handler, error) {
	return s.node.RPCHandler()
}

// Backend is the chain's client. SendTransaction seals a block right
// after the transaction is accepted unless the chain is Manual.
func (s *Simulated) Backend() Backend { return simBackend{Client: s.client, sim: s} }

// Commit seals a block with the pending transactions and returns its hash.
func (s *Simulated) Commit() common.Hash {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beacon.Commit()
}

// catchUpClock, with s.mu held and the pool empty, seals an empty block
// at the clock's time − 1 s when the head is behind it. Before a send
// (forSend), only when the clock is also ahead of the wall clock: the
// next Commit, stamped max(wall, head + 1 s) by go-ethereum's simulated
// beacon, then gets the clock's second. Before a gas estimate, whenever
// the head lags: an estimate runs in the head's context, and a head an
// hour old would refuse a certificate for the hour that just ended
// (REC's HourNotEnded). An empty block through the beacon's AdjustTime
// is the only way to choose a block's time, and it needs an empty pool;
// it costs an empty block per estimate or send while the clock runs on.
func (s *Simulated) catchUpClock(forSend bool) {
	if s.cfg.Clock == nil || s.cfg.Manual {
		return
	}
	target := s.cfg.Clock.Now().Unix() - 1
	head := s.eth.BlockChain().CurrentBlock().Time
	if target <= int64(head) {
		return
	}
	// Wall time decides what Commit stamps by itself (simulated beacon).
	if forSend && target <= time.Now().Unix() {
		return
	}
	if err := s.beacon.AdjustTime(time.Duration(target-int64(head)) * time.Second); err != nil {
		s.log.Warn("embedded chain: block time not moved to the clock", "err", err)
	}
}

// catchUpForEstimate moves the chain's time to the clock's before a gas
// estimate (see catchUpClock).
func (s *Simulated) catchUpForEstimate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.catchUpClock(false)
	}
}

// sendAndSeal runs send (which adds transactions to the pool) and, unless
// the chain is Manual, seals them in a block stamped with the clock.
func (s *Simulated) sendAndSeal(send func() error) error {
	return s.sendThenSeal(send, func() (bool, error) { return true, nil })
}

// sendThenSeal runs send under the chain's lock, the clock caught up
// first, and then, unless the chain is Manual, seals a block if seal says
// so.
func (s *Simulated) sendThenSeal(send func() error, seal func() (bool, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("chain: simulated chain closed")
	}
	s.catchUpClock(true)
	if err := send(); err != nil {
		return err
	}
	if s.cfg.Manual {
		return nil
	}
	ok, err := seal()
	if ok && err == nil {
		s.beacon.Commit()
	}
	return err
}

// SetManual turns sealing on send off (true) or on (false).
func (s *Simulated) SetManual(manual bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Manual = manual
}

// Fork makes block parent the head, dropping the blocks above it (their
// transactions return to the pool), to simulate a reorganisation.
func (s *Simulated) Fork(parent common.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beacon.Fork(parent)
}

// Head is the number of the chain's newest block.
func (s *Simulated) Head() uint64 { return s.eth.BlockChain().CurrentBlock().Number.Uint64() }

// Close stops the chain; a Dir can then be reopened.
func (s *Simulated) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.client.Close()
	return errors.Join(s.beacon.Stop(), s.node.Close())
}

type simBackend struct {
	*ethclient.Client
	sim *Simulated
}

// EstimateGas estimates msg in the context of a head stamped with the
// clock's time (see catchUpClock).
func (b simBackend) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	b.sim.catchUpForEstimate()
	return b.Client.EstimateGas(ctx, msg)
}

// SendTransaction submits tx and, unless the chain is Manual, seals it in
// a block (stamped with SimulatedConfig.Clock) before returning.
func (b simBackend) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	return b.sim.sendAndSeal(func() error { return b.Client.SendTransaction(ctx, tx) })
}

// servedSendMethods are what ServeRPC passes besides the read-only
// methods: a signed transaction, which the sender paid for. Nothing signs
// with a key of this node (eth_sendTransaction, eth_sign), administers it
// or keeps server-side state (filters, subscriptions).
var servedSendMethods = map[string]bool{"eth_sendRawTransaction": true}

// ServeRPC is the chain's JSON-RPC for other nodes that use this chain as
// their chain.rpc (a network's shared chain): every read-only method of
// ReadOnlyRPC and eth_sendRawTransaction, whose transaction is sealed in
// a block at once, stamped with SimulatedConfig.Clock, as a local
// SendTransaction is. Serve it on loopback only: whoever reaches it can
// send transactions.
func (s *Simulated) ServeRPC() (http.Handler, error) {
	h, err := s.node.RPCHandler()
	if err != nil {
		return nil, err
	}
	allowed := func(m string) bool { return readOnlyMethods[m] || servedSendMethods[m] }
	return filterRPC(h, allowed, "this endpoint serves reads and eth_sendRawTransaction", func(methods []string) func(func()) error {
		estimate := false
		for _, m := range methods {
			if servedSendMethods[m] {
				return func(serve func()) error {
					return s.sendAndSealIfPending(func() error { serve(); return nil })
				}
			}
			estimate = estimate || m == "eth_estimateGas"
		}
		if estimate {
			return func(serve func()) error { s.catchUpForEstimate(); serve(); return nil }
		}
		return nil
	}), nil
}

// sendAndSealIfPending is sendAndSeal for a send whose outcome is not
// known here (JSON-RPC answers it to the caller): it seals only when the
// pool then holds executable transactions, so a refused transaction
// leaves no empty block.
func (s *Simulated) sendAndSealIfPending(send func() error) error {
	return s.sendThenSeal(send, func() (bool, error) {
		// Adding over JSON-RPC promotes transactions in the background:
		// let the pool settle before counting them.
		if err := s.eth.TxPool().Sync(); err != nil {
			return false, err
		}
		pending, _ := s.eth.TxPool().Stats()
		return pending > 0, nil
	})
}
