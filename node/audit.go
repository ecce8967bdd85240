package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// Audit recomputes FLEX and REC supply from the settlement chain's events
// and compares it with the contracts' totals, their Issued and Rewarded
// records, and the node's own evidence: every attested batch and reward
// record the node submitted and saw mined (its chain intents) must be on
// chain as submitted, and on the embedded chain, where the node is the
// only submitter, the totals must match too. It opens the node's key and
// chain, so on the embedded chain the node must not be running. Against
// chain.rpc it needs no key: it only reads the chain, so anyone with the
// contract addresses can audit (the node's evidence is then whatever
// intents the data dir holds, none for an outside auditor).
//
// Until the certificate and flexibility modules exist the node submits no
// batches, so its evidence is empty and the audit checks the chain
// against itself.
func Audit(ctx context.Context, cfg Config, opts Options) (*chain.AuditReport, error) {
	if opts.Clock == nil {
		opts.Clock = gridmint.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Chain.RPC != "" {
		cc := cfg.Chain.Contracts
		addrs := chain.Addresses{Registry: common.HexToAddress(cc.Registry), REC: common.HexToAddress(cc.REC),
			FLEX: common.HexToAddress(cc.FLEX), DeployBlock: cc.DeployBlock}
		ev, err := nodeEvidence(ctx, cfg, false)
		if err != nil {
			return nil, err
		}
		return AuditRPC(ctx, cfg.Chain.RPC, addrs, ev)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, chainDir, chainContractsFile)); err != nil {
		return nil, fmt.Errorf("audit: no contracts deployed on the embedded chain in %s yet; start the node once first", cfg.DataDir)
	}
	id, err := openNodeIdentity(cfg, opts)
	if err != nil {
		return nil, err
	}
	c, err := openChain(ctx, cfg, id, opts.Clock, opts.Logger)
	if err != nil {
		return nil, errors.Join(err, errors.New("audit: the embedded chain can be opened by one process at a time: stop the node first"))
	}
	defer c.Close()
	ev, err := nodeEvidence(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	return chain.Audit(ctx, c.Backend(), c.Contracts(), ev, chain.AuditOptions{})
}

// AuditRPC audits the gridmint contracts at addrs over the JSON-RPC
// endpoint rpcURL, read-only and without a key, against ev (the zero
// Evidence for an outside auditor).
func AuditRPC(ctx context.Context, rpcURL string, addrs chain.Addresses, ev chain.Evidence) (*chain.AuditReport, error) {
	if addrs.Zero() {
		return nil, gridmint.Errorf(gridmint.EInvalid, "audit: no contract addresses")
	}
	ec, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", rpcURL, err)
	}
	defer ec.Close()
	rep, err := chain.Audit(ctx, ec, addrs, ev, chain.AuditOptions{})
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", rpcURL, err)
	}
	return rep, nil
}

// nodeEvidence is what the node's recorded submissions in its data dir
// add up to (chain.EvidenceFromIntents); none when it has none.
func nodeEvidence(ctx context.Context, cfg Config, complete bool) (chain.Evidence, error) {
	dir := filepath.Join(cfg.DataDir, chainDir, chainIntentsDir)
	var all []chain.Intent
	if _, err := os.Stat(dir); err == nil {
		intents, err := chain.NewFileIntents(dir)
		if err != nil {
			return chain.Evidence{}, err
		}
		if all, err = intents.AllIntents(ctx); err != nil {
			return chain.Evidence{}, err
		}
	}
	ev, err := chain.EvidenceFromIntents(all, complete)
	if err != nil {
		return chain.Evidence{}, fmt.Errorf("audit: the node's evidence: %w", err)
	}
	return ev, nil
}

// DemoDataConfig is the configuration of a `gridmint demo` data dir, for
// commands that open it afterwards (audit).
func DemoDataConfig(dataDir string) Config {
	cfg := DemoConfig(DemoOptions{DataDir: dataDir}, DefaultBroker)
	if pf := filepath.Join(dataDir, demoPassphraseFile); fileExists(pf) {
		cfg.Identity.PassphraseFile = pf
	}
	return cfg
}
