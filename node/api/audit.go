package api

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// The supply audit (gridmint audit) served read-only at GET
// /api/v1/audit. It reads every event of the contracts since their
// deployment, which takes seconds on a long chain: it runs in the
// background, one run at a time, and the route answers at once with the
// last result and whether a newer run is under way.

// AuditFunc runs the node's audit (node.Node's, the same as gridmint
// audit's against the running node).
type AuditFunc func(ctx context.Context) (*chain.AuditReport, error)

// AuditCache runs an AuditFunc in the background and keeps its last
// result. Create it with NewAuditCache; safe for concurrent use.
type AuditCache struct {
	ctx    context.Context
	run    AuditFunc
	clock  gridmint.Clock
	maxAge time.Duration
	log    *slog.Logger

	mu      sync.Mutex
	running bool
	started time.Time // of the run under way, or of the last one
	last    *AuditView
	runs    int
}

// NewAuditCache serves run's result, run again on a request when the
// last result is older than maxAge (clock time) or the caller asks
// (?refresh=1). Runs end with ctx.
func NewAuditCache(ctx context.Context, run AuditFunc, clock gridmint.Clock, maxAge time.Duration, log *slog.Logger) *AuditCache {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AuditCache{ctx: ctx, run: run, clock: clock, maxAge: maxAge, log: log}
}

// AuditView is GET /api/v1/audit.
type AuditView struct {
	// State is running (no result yet), done or failed (Error says why).
	State string `json:"state"`
	// Running: a run is under way (for a newer result when State is
	// done or failed); RunningFor its time so far, ms.
	Running      bool  `json:"running"`
	RunningForMS int64 `json:"running_for_ms,omitempty"`
	// Started and Finished are the shown result's run; DurationMS how
	// long it took.
	Started    *time.Time `json:"started,omitempty"`
	Finished   *time.Time `json:"finished,omitempty"`
	DurationMS int64      `json:"duration_ms,omitempty"`
	Error      string     `json:"error,omitempty"`
	// Clean: every check passed.
	Clean  bool         `json:"clean"`
	Checks []AuditCheck `json:"checks,omitempty"`
	// Tokens names report.rec's token ids, in its order.
	Tokens []ChainToken       `json:"tokens,omitempty"`
	Report *chain.AuditReport `json:"report,omitempty"`
}

// AuditCheck is one check of the audit, pass or fail, with what it
// counted and the differences that fail it.
type AuditCheck struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Pass        bool               `json:"pass"`
	Count       int                `json:"count"` // items checked (tokens, batches, records, transactions)
	Detail      string             `json:"detail"`
	Differences []chain.Difference `json:"differences,omitempty"`
}

// View returns the last result, starting a run when none is under way
// and the result is missing, older than maxAge, or refresh is asked.
func (c *AuditCache) View(refresh bool) AuditView {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running && (c.last == nil || refresh || now.Sub(*c.last.Finished) >= c.maxAge) {
		c.running, c.started = true, now
		c.runs++
		go c.runOnce(now)
	}
	v := AuditView{State: "running"}
	if c.last != nil {
		v = *c.last
	}
	v.Running = c.running
	if c.running {
		v.RunningForMS = now.Sub(c.started).Milliseconds()
	}
	return v
}

func (c *AuditCache) runOnce(started time.Time) {
	rep, err := c.run(c.ctx)
	done := c.clock.Now()
	v := &AuditView{State: "done", Started: &started, Finished: &done, DurationMS: done.Sub(started).Milliseconds()}
	if err != nil {
		v.State, v.Error = "failed", err.Error()
		c.log.Warn("audit", "err", err)
	} else {
		v.Report = rep
		v.Checks = AuditChecks(rep)
		for _, r := range rep.REC {
			v.Tokens = append(v.Tokens, toChainToken(r.Token))
		}
		v.Clean = len(rep.Differences) == 0
	}
	c.mu.Lock()
	c.last, c.running = v, false
	c.mu.Unlock()
}

// Wait blocks until no run is under way or ctx ends (tests).
func (c *AuditCache) Wait(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		busy := c.running
		c.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// auditRules sort the report's differences into checks by the start of
// their What (chain.Audit's wording); the first that matches takes one.
var auditRules = []struct {
	id, name string
	match    func(what string) bool
}{
	{"rec_supply", "REC supply = attested issues − retirements (per token, and totalSupply)", func(w string) bool {
		return strings.HasPrefix(w, "REC supply") || strings.HasPrefix(w, "REC burned")
	}},
	{"rec_issued", "REC minted only by attested Issued batches (and the node's own batches on chain)", func(w string) bool {
		return strings.HasPrefix(w, "REC minted") || strings.HasPrefix(w, "REC issued") || (strings.HasPrefix(w, "REC batch") && strings.HasSuffix(w, "vs evidence"))
	}},
	{"rec_attestations", "REC batches signed by k registered attestors other than each claim's node", func(w string) bool {
		return strings.HasPrefix(w, "REC batch")
	}},
	{"flex_supply", "FLEX supply = minted − burned = totalSupply", func(w string) bool { return strings.HasPrefix(w, "FLEX supply") }},
	{"flex_rewards", "FLEX minted only by attested reward records", func(w string) bool {
		return strings.HasPrefix(w, "FLEX minted") || strings.HasPrefix(w, "FLEX reward")
	}},
	{"flex_burns", "FLEX burned only by reservations and slashes", func(w string) bool {
		return strings.HasPrefix(w, "FLEX burned") || strings.HasPrefix(w, "FLEX slash")
	}},
}

// AuditChecks sorts rep into pass/fail checks with counts.
func AuditChecks(rep *chain.AuditReport) []AuditCheck {
	sum := func(f func(chain.SupplyREC) *big.Int) *big.Int {
		t := new(big.Int)
		for _, s := range rep.REC {
			if v := f(s); v != nil {
				t.Add(t, v)
			}
		}
		return t
	}
	f := rep.FLEX
	minted, retired, supply := sum(func(s chain.SupplyREC) *big.Int { return s.Minted }), sum(func(s chain.SupplyREC) *big.Int { return s.Retired }),
		sum(func(s chain.SupplyREC) *big.Int { return s.Supply })
	a, fa := rep.Attestations, rep.FLEXAttestations
	checks := []AuditCheck{
		{Count: len(rep.REC), Detail: fmt.Sprintf("%d token id(s): issued %s Wh − retired %s Wh = %s Wh held", len(rep.REC), minted, retired, supply)},
		{Count: a.Batches + rep.EvidenceBatches, Detail: fmt.Sprintf("%s Wh minted, %s Wh in %d Issued batches; %d of this node's batches checked on chain, %d of its certificates matched to issued claims",
			minted, bigText(rep.RECIssued), a.Batches, rep.EvidenceBatches, a.EvidenceClaims)},
		{Count: a.Claims, Detail: fmt.Sprintf("%d batches, %d claims checked", a.Batches, a.Claims)},
		{Count: 1, Detail: fmt.Sprintf("minted %s − burned %s = %s; totalSupply %s", flexText(f.Minted), flexText(f.Burned), flexText(f.Supply), flexText(f.OnChain))},
		{Count: fa.Records + rep.EvidenceRecords, Detail: fmt.Sprintf("%s minted, %s in %d reward records of %d transactions", flexText(f.Minted), flexText(f.Rewarded), fa.Records, fa.RewardTxs)},
		{Count: fa.BurnTxs, Detail: fmt.Sprintf("%s burned in %d transactions: %s reserved, %s slashed", flexText(f.Burned), fa.BurnTxs, flexText(f.Reserved), flexText(f.Slashed))},
	}
	for i, r := range auditRules {
		checks[i].ID, checks[i].Name = r.id, r.name
	}
	var other []chain.Difference
	for _, d := range rep.Differences {
		placed := false
		for i, r := range auditRules {
			if r.match(d.What) {
				checks[i].Differences = append(checks[i].Differences, d)
				placed = true
				break
			}
		}
		if !placed {
			other = append(other, d)
		}
	}
	if len(other) > 0 {
		checks = append(checks, AuditCheck{ID: "other", Name: "Other differences", Count: len(other), Differences: other, Detail: fmt.Sprintf("%d", len(other))})
	}
	for i := range checks {
		checks[i].Pass = len(checks[i].Differences) == 0
	}
	return checks
}

// flexText is FLEX base units as FLEX.
func flexText(v *big.Int) string { return formatUnits(v, flexDecimals) + " FLEX" }

func bigText(v *big.Int) string {
	if v == nil {
		return "0"
	}
	return v.String()
}

func (s *Server) routeAudit() {
	if s.cfg.Audit == nil {
		return
	}
	s.mux.HandleFunc("GET /api/v1/audit", s.audit)
}

// audit is GET /api/v1/audit[?refresh=1]: read-only, open like the
// other reads; a refresh starts a run only when none is under way.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) {
	refresh := false
	switch v := r.URL.Query().Get("refresh"); v {
	case "", "0", "false":
	case "1", "true":
		refresh = true
	default:
		s.writeError(w, http.StatusBadRequest, fmt.Sprintf("refresh %q: want 1 or 0", v))
		return
	}
	s.writeJSON(w, http.StatusOK, s.cfg.Audit.View(refresh))
}
