package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
)

// chainStuckAfter is how long, in wall time, a sent transaction may stay
// unmined before it is sent again with higher fees.
const chainStuckAfter = 3 * time.Minute

// Where the chain keeps its files in the data dir.
const (
	chainDir           = "chain"
	chainEmbeddedDir   = "embedded"       // the embedded chain's database
	chainIntentsDir    = "intents"        // submissions recorded before they are sent
	chainContractsFile = "contracts.json" // the embedded chain's deployed contracts
)

// openChain connects the settlement client: to cfg.Chain.RPC with the
// configured contracts (refusing an endpoint of another chain id, and
// contracts that are not there), or to the embedded chain in the data
// dir, which deploys the contracts at its first start (attestors
// chain.attestors with threshold chain.threshold; default this node
// alone, k = 1) and remembers them. Below the disk reserve, new
// submissions are refused (guardedIntents; disk nil for tools that only
// read); the first start's deployment, a few KiB, is not.
func openChain(ctx context.Context, cfg Config, id *Identity, disk *diskGuard, clock gridmint.Clock, log *slog.Logger) (*chain.Client, error) {
	dir := filepath.Join(cfg.DataDir, chainDir)
	intents, err := chain.NewFileIntents(filepath.Join(dir, chainIntentsDir))
	if err != nil {
		return nil, err
	}
	// A transaction is stuck after 3 minutes of wall time (block
	// production is real time), which a demo clock counts faster.
	stuck := time.Duration(float64(chainStuckAfter) * gridmint.SpeedOf(clock))
	cc := chain.Config{Key: id.Private, Intents: intents, Logger: log, Clock: clock, StuckAfter: stuck}
	if disk != nil {
		cc.Intents = guardedIntents{intents, disk}
	}
	if cfg.Chain.RPC != "" {
		cc.RPCURL = cfg.Chain.RPC
		cc.Contracts = chain.Addresses{
			Registry: common.HexToAddress(cfg.Chain.Contracts.Registry), REC: common.HexToAddress(cfg.Chain.Contracts.REC),
			FLEX: common.HexToAddress(cfg.Chain.Contracts.FLEX), DeployBlock: cfg.Chain.Contracts.DeployBlock,
		}
		if cfg.Chain.ChainID != 0 {
			cc.ChainID = new(big.Int).SetUint64(cfg.Chain.ChainID)
		}
		c, err := chain.Open(ctx, cc)
		if _, wrongID := errors.AsType[*chain.ChainIDError](err); wrongID {
			return nil, fmt.Errorf("chain.rpc %s: %w (chain.chain_id is %d)", RedactURL(cfg.Chain.RPC), err, cfg.Chain.ChainID)
		}
		if err != nil {
			return nil, fmt.Errorf("chain.rpc %s: %w", RedactURL(cfg.Chain.RPC), err)
		}
		if err := c.CheckContracts(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("chain.rpc %s: %w", RedactURL(cfg.Chain.RPC), err)
		}
		return c, nil
	}
	cc.SimulatedDir = filepath.Join(dir, chainEmbeddedDir)
	cc.SimulatedCacheMB = cfg.Chain.EmbeddedCacheMB
	fund, err := addressList("chain.embedded_fund", cfg.Chain.EmbeddedFund)
	if err != nil {
		return nil, err
	}
	cc.SimulatedAlloc = types.GenesisAlloc{}
	for _, a := range fund {
		cc.SimulatedAlloc[a] = types.Account{Balance: chain.SimulatedFunds}
	}
	attestors, err := addressList("chain.attestors", cfg.Chain.Attestors)
	if err != nil {
		return nil, err
	}
	if len(attestors) == 0 {
		attestors = []common.Address{id.Account}
	}
	threshold := max(cfg.Chain.Threshold, 1)
	contractsPath := filepath.Join(dir, chainContractsFile)
	addrs, deployed, err := readContracts(contractsPath)
	if err != nil {
		return nil, err
	}
	cc.Contracts = addrs
	c, err := chain.Open(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("embedded chain: %w", err)
	}
	if deployed {
		if err := c.CheckContracts(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("embedded chain: %w (%s does not match the chain in %s)", err, contractsPath, cc.SimulatedDir)
		}
		warnAttestorsDiffer(ctx, c, attestors, threshold, log)
		return c, nil
	}
	// A crash before the file is written leaves orphan contracts behind;
	// the next start deploys again, which on a private chain costs
	// nothing.
	addrs, err = c.Deploy(ctx, chain.DeployConfig{Attestors: attestors, Threshold: threshold, URI: chain.RECMetadataURIOf(cfg.HTTPAddr)})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("embedded chain: deploy contracts: %w", err)
	}
	b, _ := json.MarshalIndent(addrs, "", "  ")
	if err := writeFileAtomic(contractsPath, append(b, '\n'), 0o600); err != nil {
		c.Close()
		return nil, fmt.Errorf("embedded chain: %w", err)
	}
	log.Info("deployed the gridmint contracts on the embedded chain", "registry", addrs.Registry, "rec", addrs.REC, "flex", addrs.FLEX,
		"attestors", len(attestors), "threshold", threshold)
	return c, nil
}

// warnAttestorsDiffer says when the registry deployed at the chain's
// first start has another attestor set than the configuration now names:
// the registry is the truth (only its owner changes it, by transaction).
func warnAttestorsDiffer(ctx context.Context, c *chain.Client, want []common.Address, k uint64, log *slog.Logger) {
	set, err := c.AttestorSet(ctx)
	if err != nil {
		log.Warn("reading the attestor registry", "err", err)
		return
	}
	same := set.Threshold == k && len(set.Attestors) == len(want)
	for _, a := range want {
		same = same && set.Has(a)
	}
	if !same {
		log.Warn("the attestor registry deployed at the chain's first start differs from chain.attestors and chain.threshold; the registry counts (its owner changes it by transaction)",
			"registry_attestors", set.Attestors, "registry_threshold", set.Threshold, "configured_attestors", want, "configured_threshold", k)
	}
}

// serveChainRPC serves the embedded chain's JSON-RPC (reads and signed
// transactions) on cfg.Chain.ServeRPC, a loopback address, for the other
// nodes of a network whose chain.rpc it is.
func (n *Node) serveChainRPC() error {
	sim := n.chain.Simulated()
	if n.cfg.Chain.ServeRPC == "" || sim == nil {
		return nil
	}
	h, err := sim.ServeRPC()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", n.cfg.Chain.ServeRPC)
	if err != nil {
		return fmt.Errorf("chain.serve_rpc %s: %w", n.cfg.Chain.ServeRPC, err)
	}
	n.chainRPCAddr = ln.Addr().String()
	// Wall-clock timeouts: they bound a slow client, not demo time.
	n.chainRPC = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := n.chainRPC.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("chain JSON-RPC server", "err", err)
		}
	}()
	n.log.Info("serving the embedded chain's JSON-RPC to the network", "url", "http://"+n.chainRPCAddr, "chain_id", n.chain.ChainID())
	return nil
}

// ChainRPCURL is the URL of the embedded chain's served JSON-RPC
// (chain.serve_rpc), or "" when not served.
func (n *Node) ChainRPCURL() string {
	if n.chainRPCAddr == "" {
		return ""
	}
	return "http://" + n.chainRPCAddr
}

// guardedIntents refuses new chain submissions while the disk is below
// its reserve. Every submission records an intent in the data dir before
// it sends, and on the embedded chain the block lands there too, where
// go-ethereum exits the process (log.Crit) when a database write fails.
// A submission starts by looking its intent up: for a new one, that is
// where it is refused, before anything is estimated, signed or sent. What
// is already in flight (recorded intents, their replacements and
// outcomes) goes on, so a sent transaction is always followed up.
type guardedIntents struct {
	chain.IntentStore
	disk *diskGuard
}

func (g guardedIntents) Intent(ctx context.Context, id common.Hash) (chain.Intent, bool, error) {
	in, ok, err := g.IntentStore.Intent(ctx, id)
	if err == nil && !ok {
		if derr := g.disk.check("chain"); derr != nil {
			return in, false, derr
		}
	}
	return in, ok, err
}

func (g guardedIntents) PutIntent(ctx context.Context, in chain.Intent) error {
	if g.disk.status().Paused {
		if _, ok, err := g.IntentStore.Intent(ctx, in.ID); err == nil && !ok {
			return g.disk.check("chain")
		}
	}
	return g.IntentStore.PutIntent(ctx, in)
}

// readContracts reads the embedded chain's contract addresses; ok is
// false before the first deployment.
func readContracts(path string) (chain.Addresses, bool, error) {
	var a chain.Addresses
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("embedded chain: %w", err)
	}
	if err := json.Unmarshal(b, &a); err != nil || a.Zero() {
		return a, false, fmt.Errorf("embedded chain: %s is damaged (%v); remove the chain directory to start the chain afresh", path, err)
	}
	return a, true, nil
}

// nodeChain is the settlement client and the event index as the API's
// Chain.
type nodeChain struct {
	chain.Index
	client        *chain.Client
	rpc           string
	confirmations uint64
}

func (c nodeChain) Info(ctx context.Context) (api.ChainInfo, error) {
	info := api.ChainInfo{ChainID: c.client.ChainID(), RPC: c.rpc, Contracts: c.client.Contracts(),
		Account: c.client.Address(), Confirmations: c.confirmations}
	if info.RPC == "" {
		info.RPC = "embedded"
	}
	if bal, err := c.client.ETHBalance(ctx); err == nil {
		info.BalanceWei = bal
	}
	if set, err := c.client.AttestorSet(ctx); err == nil {
		info.Attestors, info.Threshold = set.Attestors, set.Threshold
	}
	head, ok, err := c.Index.Store.Head(ctx)
	if err != nil {
		return info, err
	}
	if ok {
		info.IndexHead = &head
	}
	return info, nil
}
