package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node"
)

func audit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "the node's YAML configuration (else --data-dir of a demo)")
	dataDir := fs.String("data-dir", node.DefaultDataDir, "the data dir of a gridmint demo, when there is no --config")
	asJSON := fs.Bool("json", false, "print the full report as JSON")
	rpcURL := fs.String("rpc", "", "audit the contracts on this JSON-RPC endpoint, read-only, without a node (needs --contracts)")
	contractsFile := fs.String("contracts", "", "with --rpc: a JSON file of the contract addresses, as the \"contracts\" object of GET /api/v1/chain")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: gridmint audit [--config FILE | --data-dir DIR] [--json]
       gridmint audit --rpc URL --contracts FILE [--json]

Recomputes FLEX and REC supply from every event of the settlement
contracts since their deployment, compares it with the contracts' own
totals and with their Issued and Rewarded records (every mint must trace
to an attested batch or record), and prints any difference. Exits with an
error when there is one.

Every Issued batch's attestations are checked from its REC.issue call
data: each signer recovered from the batch's EIP-712 digest must be a
distinct registered attestor (the registry at the block before the issue,
else at the head, counted), and every claim needs k of them other than its
own node, which the claim names (the contract refuses the same). Every
claim the node has as
issued (a certificate) must be in an Issued batch with the same device,
hour and Wh.

A node's audit also checks its own evidence: every attested batch and
reward record it submitted must be on chain as submitted; on a stopped
node's embedded chain, where it is the only submitter, the totals too.
While the node runs, its embedded chain is read through the node's
read-only JSON-RPC (POST /api/v1/chain/rpc, found by <data-dir>/http.addr)
without the key, and only its batches are checked, not its totals.

With --rpc anyone can audit a deployment, read-only and with no key: save
the "contracts" object of a node's GET /api/v1/chain as FILE; for a node's
embedded chain the URL is http://HOST:PORT/api/v1/chain/rpc.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("audit: unexpected arguments %q", fs.Args())
	}
	if (*rpcURL == "") != (*contractsFile == "") {
		return errors.New("audit: --rpc and --contracts go together")
	}
	if *rpcURL != "" {
		b, err := os.ReadFile(*contractsFile)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		// The "contracts" of GET /api/v1/chain (deploy_block), or the
		// embedded chain's contracts.json (deployBlock).
		var f struct {
			Registry, REC, FLEX common.Address
			DeployBlock         uint64 `json:"deploy_block"`
			DeployBlockFile     uint64 `json:"deployBlock"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(&f)
		addrs := chain.Addresses{Registry: f.Registry, REC: f.REC, FLEX: f.FLEX, DeployBlock: max(f.DeployBlock, f.DeployBlockFile)}
		if err != nil || addrs.Zero() {
			return fmt.Errorf("audit: %s: want {\"registry\": \"0x…\", \"rec\": \"0x…\", \"flex\": \"0x…\", \"deploy_block\": N} (%v)", *contractsFile, err)
		}
		rep, err := node.AuditRPC(ctx, *rpcURL, addrs, chain.Evidence{})
		if err != nil {
			return err
		}
		return reportAudit(stdout, rep, *asJSON)
	}
	cfg := node.DemoDataConfig(*dataDir)
	if *configPath != "" {
		var err error
		if cfg, err = node.LoadConfig(*configPath); err != nil {
			return err
		}
	}
	rep, err := node.Audit(ctx, cfg, node.Options{Passphrase: passphraseFromEnvOrPrompt(stderr, false, configPassphraseOption)})
	if err != nil {
		return err
	}
	return reportAudit(stdout, rep, *asJSON)
}

// reportAudit prints rep, and fails when it found a difference.
func reportAudit(stdout io.Writer, rep *chain.AuditReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printAudit(stdout, rep)
	}
	if n := len(rep.Differences); n > 0 {
		return fmt.Errorf("audit: %d difference(s) between the chain's events and what they should add up to", n)
	}
	return nil
}

func printAudit(w io.Writer, r *chain.AuditReport) {
	fmt.Fprintf(w, "audited up to block %d (%s)\n", r.Block.Number, r.Block.Hash.Hex())
	f := r.FLEX
	fmt.Fprintf(w, "FLEX  minted %s  burned %s  supply %s  on chain %s\n", flexText(f.Minted), flexText(f.Burned), flexText(f.Supply), flexText(f.OnChain))
	fmt.Fprintf(w, "      rewarded %s  reserved %s  slashed %s\n", flexText(f.Rewarded), flexText(f.Reserved), flexText(f.Slashed))
	fmt.Fprintf(w, "REC   %d token id(s), %s Wh issued in batches\n", len(r.REC), r.RECIssued)
	for _, s := range r.REC {
		fmt.Fprintf(w, "      %s  minted %s Wh  retired %s Wh  supply %s Wh  on chain %s Wh\n", s.Token, s.Minted, s.Retired, s.Supply, s.OnChain)
	}
	if r.EvidenceBatches+r.EvidenceRecords == 0 {
		fmt.Fprintln(w, "evidence: this node submitted no attested batches")
	} else {
		fmt.Fprintf(w, "evidence: %d REC batch(es) and %d FLEX reward record(s) this node submitted, each checked against the chain\n", r.EvidenceBatches, r.EvidenceRecords)
	}
	a := r.Attestations
	fmt.Fprintf(w, "attestations: %d Issued batch(es), %d claim(s) checked for k attestations of other nodes", a.Batches, a.Claims)
	if a.RegistryAtHead > 0 {
		fmt.Fprintf(w, "; %d batch(es) checked against the registry at the head (no state at their block)", a.RegistryAtHead)
	}
	fmt.Fprintf(w, "\ncertificates: %d issued claim(s) of this node, each traced to a claim of an Issued batch\n", a.EvidenceClaims)
	fa := r.FLEXAttestations
	fmt.Fprintf(w, "FLEX trace: %d reward record(s) in %d FLEX.reward call(s) and %d FLEX.slash call(s) checked for k attestations besides the provider; burns of %d transaction(s) traced to their Reserved or Slashed events\n",
		fa.Records, fa.RewardTxs, fa.SlashTxs, fa.BurnTxs)
	if len(r.Differences) == 0 {
		fmt.Fprintln(w, "no differences")
		return
	}
	for _, d := range r.Differences {
		fmt.Fprintln(w, "DIFFERENCE", d)
	}
}

// flexText shows FLEX base units (18 decimals) as FLEX.
func flexText(v *big.Int) string {
	if v == nil {
		return "-"
	}
	r := new(big.Rat).SetFrac(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil))
	return r.FloatString(6) + " FLEX"
}
