package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"

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
	// block: a Dir must be reopened with the same Alloc.
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

	alloc := core.SystemContractAllocs()
	maps.Copy(alloc, cfg.Alloc)
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
	head := backend.BlockChain().CurrentBlock()
	log.Info("embedded chain started", "dir", cfg.Dir, "head", head.Number, "hash", head.Hash())
	return &Simulated{cfg: cfg, node: stack, eth: backend, beacon: beacon, client: ethclient.NewClient(stack.Attach())}, nil
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

// SendTransaction submits tx and, unless the chain is Manual, seals it in
// a block before returning.
func (b simBackend) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	b.sim.mu.Lock()
	defer b.sim.mu.Unlock()
	if b.sim.closed {
		return errors.New("chain: simulated chain closed")
	}
	if err := b.Client.SendTransaction(ctx, tx); err != nil {
		return err
	}
	if !b.sim.cfg.Manual {
		b.sim.beacon.Commit()
	}
	return nil
}
