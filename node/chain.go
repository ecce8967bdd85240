package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
)

// Where the chain keeps its files in the data dir.
const (
	chainDir           = "chain"
	chainEmbeddedDir   = "embedded"       // the embedded chain's database
	chainIntentsDir    = "intents"        // submissions recorded before they are sent
	chainContractsFile = "contracts.json" // the embedded chain's deployed contracts
)

// openChain connects the settlement client: to cfg.Chain.RPC with the
// configured contracts, or to the embedded chain in the data dir, which
// deploys the contracts at its first start (this node the one attestor,
// threshold 1) and remembers them. Below the disk reserve, new
// submissions are refused (guardedIntents; disk nil for tools that only
// read); the first start's deployment, a few KiB, is not.
func openChain(ctx context.Context, cfg Config, id *Identity, disk *diskGuard, clock gridmint.Clock, log *slog.Logger) (*chain.Client, error) {
	dir := filepath.Join(cfg.DataDir, chainDir)
	intents, err := chain.NewFileIntents(filepath.Join(dir, chainIntentsDir))
	if err != nil {
		return nil, err
	}
	cc := chain.Config{Key: id.Private, Intents: intents, Logger: log, Clock: clock}
	if disk != nil {
		cc.Intents = guardedIntents{intents, disk}
	}
	if cfg.Chain.RPC != "" {
		cc.RPCURL = cfg.Chain.RPC
		cc.Contracts = chain.Addresses{
			Registry: common.HexToAddress(cfg.Chain.Contracts.Registry), REC: common.HexToAddress(cfg.Chain.Contracts.REC),
			FLEX: common.HexToAddress(cfg.Chain.Contracts.FLEX), DeployBlock: cfg.Chain.Contracts.DeployBlock,
		}
		c, err := chain.Open(ctx, cc)
		if err != nil {
			return nil, fmt.Errorf("chain.rpc %s: %w", cfg.Chain.RPC, err)
		}
		return c, nil
	}
	cc.SimulatedDir = filepath.Join(dir, chainEmbeddedDir)
	cc.SimulatedCacheMB = cfg.Chain.EmbeddedCacheMB
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
		return c, nil
	}
	// A crash before the file is written leaves orphan contracts behind;
	// the next start deploys again, which on a private chain costs
	// nothing.
	addrs, err = c.Deploy(ctx, chain.DeployConfig{Attestors: []common.Address{id.Account}, Threshold: 1})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("embedded chain: deploy contracts: %w", err)
	}
	b, _ := json.MarshalIndent(addrs, "", "  ")
	if err := writeFileAtomic(contractsPath, append(b, '\n'), 0o600); err != nil {
		c.Close()
		return nil, fmt.Errorf("embedded chain: %w", err)
	}
	log.Info("deployed the gridmint contracts on the embedded chain", "registry", addrs.Registry, "rec", addrs.REC, "flex", addrs.FLEX)
	return c, nil
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
	head, ok, err := c.Index.Store.Head(ctx)
	if err != nil {
		return info, err
	}
	if ok {
		info.IndexHead = &head
	}
	return info, nil
}
