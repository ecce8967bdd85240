package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// Audit recomputes FLEX and REC supply from the settlement chain's events
// and compares it with the contracts' totals, their Issued and Rewarded
// records, and the node's own evidence: every attested batch and reward
// record the node submitted and saw mined (its chain intents) must be on
// chain as submitted, and on the embedded chain, where the node is the
// only submitter, the totals must match too. It opens the node's key and
// chain, so on the embedded chain the node must not be running.
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
	if cfg.Chain.RPC == "" {
		if _, err := os.Stat(filepath.Join(cfg.DataDir, chainDir, chainContractsFile)); err != nil {
			return nil, fmt.Errorf("audit: no contracts deployed on the embedded chain in %s yet; start the node once first", cfg.DataDir)
		}
	}
	id, err := openNodeIdentity(cfg, opts)
	if err != nil {
		return nil, err
	}
	c, err := openChain(ctx, cfg, id, opts.Clock, opts.Logger)
	if err != nil {
		if cfg.Chain.RPC == "" {
			return nil, errors.Join(err, errors.New("audit: the embedded chain can be opened by one process at a time: stop the node first"))
		}
		return nil, err
	}
	defer c.Close()
	intents, err := chain.NewFileIntents(filepath.Join(cfg.DataDir, chainDir, chainIntentsDir))
	if err != nil {
		return nil, err
	}
	all, err := intents.AllIntents(ctx)
	if err != nil {
		return nil, err
	}
	ev, err := chain.EvidenceFromIntents(all, cfg.Chain.RPC == "")
	if err != nil {
		return nil, fmt.Errorf("audit: the node's evidence: %w", err)
	}
	return chain.Audit(ctx, c.Backend(), c.Contracts(), ev, chain.AuditOptions{})
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
