package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/store"
)

// Audit recomputes FLEX and REC supply from the settlement chain's events
// and compares it with the contracts' totals, their Issued and Rewarded
// records, and the node's own evidence: every attested batch and reward
// record the node submitted and saw mined (its chain intents) must be on
// chain as submitted, and on the embedded chain, where the node is the
// only submitter, the totals must match too. It opens the node's key and
// chain; while the node runs, the embedded chain is read through the
// node's read-only JSON-RPC instead, without the key, and only the
// node's batches are checked, not its totals. Against
// chain.rpc it needs no key: it only reads the chain, so anyone with the
// contract addresses can audit (the node's evidence is then whatever
// intents the data dir holds, none for an outside auditor).
//
// The evidence also holds the certificate claims the node knows (its
// store's, or its API's while it runs): their nodes let the audit check
// that no claim's own node counts among its k attestors, and each claim
// the node has as issued must be a claim of an Issued batch with the same
// device, hour and Wh. FLEX reward records (delivery rewards from
// node/market/mv, availability rewards from node/market/pof) are the
// node's reward intents; the chain side traces every FLEX minted to a
// Rewarded record and every burn to a Reserved or Slashed event
// (chain.Audit, audit_flex.go).
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
		ev, err := nodeEvidence(ctx, cfg, false, "")
		if err != nil {
			return nil, err
		}
		return AuditRPC(ctx, cfg.Chain.RPC, addrs, ev)
	}
	addrs, deployed, err := readContracts(filepath.Join(cfg.DataDir, chainDir, chainContractsFile))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	if !deployed {
		return nil, fmt.Errorf("audit: no contracts deployed on the embedded chain in %s yet; start the node once first", cfg.DataDir)
	}
	// The embedded chain can be opened by one process at a time: while the
	// node runs, read its chain through the node's read-only JSON-RPC.
	if rpcURL, ok, err := runningNodeRPC(ctx, cfg); err != nil {
		return nil, err
	} else if ok {
		// Totals are not compared: the node may submit between reading its
		// records and reading the chain. Every batch recorded as mined
		// before the audit must still be on chain.
		ev, err := nodeEvidence(ctx, cfg, false, strings.TrimSuffix(rpcURL, "/api/v1/chain/rpc"))
		if err != nil {
			return nil, err
		}
		return AuditRPC(ctx, rpcURL, addrs, ev)
	}
	id, err := openNodeIdentity(cfg, opts)
	if err != nil {
		return nil, err
	}
	c, err := openChain(ctx, cfg, id, nil, opts.Clock, opts.Logger)
	if err != nil {
		return nil, errors.Join(err, errors.New("audit: the embedded chain can be opened by one process at a time: stop the node first"))
	}
	defer c.Close()
	ev, err := nodeEvidence(ctx, cfg, true, "")
	if err != nil {
		return nil, err
	}
	return chain.Audit(ctx, c.Backend(), c.Contracts(), ev, chain.AuditOptions{})
}

// runningNodeRPC finds the running node of cfg's data dir by the API
// address it recorded (HTTPAddrFile) and returns its read-only chain
// JSON-RPC URL. ok is false when no node answers there, so the caller
// opens the chain itself; an answer from another node's API is an error.
func runningNodeRPC(ctx context.Context, cfg Config) (rpcURL string, ok bool, err error) {
	raw, err := os.ReadFile(filepath.Join(cfg.DataDir, HTTPAddrFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("audit: %w", err)
	}
	base := "http://" + strings.TrimSpace(string(raw))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/chain", nil)
	if err != nil {
		return "", false, fmt.Errorf("audit: %s in %s: %w", HTTPAddrFile, cfg.DataDir, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", false, nil // a file left by a node that crashed
	}
	defer resp.Body.Close()
	var info struct {
		RPC     string `json:"rpc"`
		Account string `json:"account"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", false, fmt.Errorf("audit: the node at %s answered GET /api/v1/chain with %s", base, resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&info); err != nil {
		return "", false, fmt.Errorf("audit: the node at %s: %w", base, err)
	}
	want, err := KeystoreAddress(cfg.Identity.Keystore)
	if err != nil {
		return "", false, fmt.Errorf("audit: %w", err)
	}
	if !common.IsHexAddress(info.Account) || common.HexToAddress(info.Account) != want {
		return "", false, fmt.Errorf("audit: %s (from %s) is node %s, not this data dir's node %s: stop the node first, or audit with --rpc", base, HTTPAddrFile, info.Account, want.Hex())
	}
	if info.RPC != "embedded" {
		return "", false, fmt.Errorf("audit: the node at %s uses chain.rpc %s; audit with --config", base, info.RPC)
	}
	return base + "/api/v1/chain/rpc", true, nil
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

// intentEvidence is what the recorded submissions in dataDir add up to
// (chain.EvidenceFromIntents); none when there are none.
func intentEvidence(ctx context.Context, dataDir string, complete bool) (chain.Evidence, error) {
	dir := filepath.Join(dataDir, chainDir, chainIntentsDir)
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

// nodeEvidence is what the node's recorded submissions in its data dir
// add up to (chain.EvidenceFromIntents), and the certificate claims it
// knows (nodeClaims); none when it has none. apiBase is the running
// node's API, "" when the caller holds none.
func nodeEvidence(ctx context.Context, cfg Config, complete bool, apiBase string) (chain.Evidence, error) {
	ev, err := intentEvidence(ctx, cfg.DataDir, complete)
	if err != nil {
		return chain.Evidence{}, err
	}
	if ev.Claims, err = nodeClaims(ctx, cfg, apiBase); err != nil {
		return chain.Evidence{}, fmt.Errorf("audit: the node's claims: %w", err)
	}
	return ev, nil
}

// nodeClaims are the certificate claims the node knows: from its running
// API at apiBase (GET /api/v1/claims, the newest claimsAuditLimit), else
// from its store, which a running node holds locked; then from the API
// of the node that runs there (by HTTPAddrFile). None when the data dir
// has no store.
func nodeClaims(ctx context.Context, cfg Config, apiBase string) ([]chain.NodeClaim, error) {
	if apiBase != "" {
		return apiClaims(ctx, apiBase)
	}
	dir := filepath.Join(cfg.DataDir, "store")
	if !fileExists(dir) {
		return nil, nil
	}
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		raw, rerr := os.ReadFile(filepath.Join(cfg.DataDir, HTTPAddrFile))
		if rerr != nil {
			return nil, err
		}
		out, aerr := apiClaims(ctx, "http://"+strings.TrimSpace(string(raw)))
		if aerr != nil {
			return nil, errors.Join(err, aerr)
		}
		return out, nil
	}
	defer st.Close()
	var out []chain.NodeClaim
	err = st.ScanSettle(claimKeyPrefix, func(_ string, v []byte) error {
		var r claimRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("stored claim: %w", err)
		}
		out = append(out, chain.NodeClaim{Claim: chainClaim(r.Claim), Issued: r.Status == ClaimIssued})
		return nil
	})
	return out, err
}

// claimsAuditLimit is the most claims the audit reads from a running
// node's API (its bound on GET /api/v1/claims?limit=): the newest hours'.
const claimsAuditLimit = 10000

func apiClaims(ctx context.Context, base string) ([]chain.NodeClaim, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/api/v1/claims?limit=%d", base, claimsAuditLimit), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/api/v1/claims: %s", base, resp.Status)
	}
	var list api.ClaimList
	if err := json.NewDecoder(io.LimitReader(resp.Body, 256<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("GET %s/api/v1/claims: %w", base, err)
	}
	out := make([]chain.NodeClaim, 0, len(list.Claims))
	for _, v := range list.Claims {
		out = append(out, chain.NodeClaim{Claim: chainClaim(v.Claim), Issued: v.Status == ClaimIssued})
	}
	return out, nil
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
