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
// threshold 1) and remembers them.
func openChain(ctx context.Context, cfg Config, id *Identity, clock gridmint.Clock, log *slog.Logger) (*chain.Client, error) {
	dir := filepath.Join(cfg.DataDir, chainDir)
	intents, err := chain.NewFileIntents(filepath.Join(dir, chainIntentsDir))
	if err != nil {
		return nil, err
	}
	cc := chain.Config{Key: id.Private, Intents: intents, Logger: log, Clock: clock}
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
