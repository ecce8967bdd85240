package api

import (
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
)

// Tests is the node's proof-of-flexibility test dispatches
// (node/market/pof). Implementations must be safe for concurrent use.
type Tests interface {
	// TestRounds returns the rounds held, newest first.
	TestRounds() []TestRound
}

// TestRound is one selection round as GET /api/v1/market/tests shows it.
type TestRound struct {
	// SeedTime is the round's time: only offers signed before it take
	// part; the seed is the hash of the first confirmed block at or
	// after it (SeedBlock, SeedHash, SeedBlockTime).
	SeedTime      time.Time   `json:"seed_time"`
	SeedBlock     *uint64     `json:"seed_block,omitempty"`
	SeedHash      common.Hash `json:"seed_hash,omitzero"`
	SeedBlockTime time.Time   `json:"seed_block_time,omitzero"`
	// Earliest is when the drawn tests may start at the earliest (the
	// seed block's time plus the lead).
	Earliest time.Time `json:"earliest,omitzero"`
	// State: waiting_for_block, selected, evaluated, settled.
	State string `json:"state"`
	// Offers were the offers signed before SeedTime; Skipped those not
	// testable (awarded, or a request of their window not cleared).
	Offers  int        `json:"offers"`
	Skipped int        `json:"skipped"`
	Tests   []TestView `json:"tests"`
	// Budget is the round's availability budget (FLEX base units): its
	// share of the contract's epoch emission cap.
	Budget string `json:"budget,omitempty"`
	// Batch is the availability reward batch (kind 2), BatchState where
	// it stands (node/settle), RewardTx the FLEX.reward transaction.
	Batch      *common.Hash `json:"batch,omitempty"`
	BatchState string       `json:"batch_state,omitempty"`
	RewardTx   *common.Hash `json:"reward_tx,omitempty"`
}

// TestView is one test: what was drawn, what this node sent (own
// devices), what it measured and what it pays. Energies in mWh over the
// test; money in FLEX base units as decimal strings.
type TestView struct {
	gridmint.TestResult
	// Own: a device of this node; Local its id here; Setpoints what was
	// sent to it (command ids) or why not.
	Own       bool              `json:"own,omitempty"`
	Local     gridmint.DeviceID `json:"local,omitempty"`
	Setpoints []TestSetpoint    `json:"setpoints,omitempty"`
	// Performance is delivered / expected (1 = all of it).
	Performance float64       `json:"performance"`
	BaselineMWh *gridmint.MWh `json:"baseline_mwh,omitempty"`
	MeteredMWh  *gridmint.MWh `json:"metered_mwh,omitempty"`
	BaselineErr string        `json:"baseline_error,omitempty"`
	// Derate is the part of its capacity the device may offer now, ppm,
	// after its test history.
	Derate int64 `json:"derate_ppm"`
	// RecordID and Reward: the availability reward record of a passed
	// test and its amount.
	RecordID *common.Hash `json:"record_id,omitempty"`
	Reward   string       `json:"reward"`
	Evidence common.Hash  `json:"evidence,omitzero"`
	// VoidedBy is the request whose award of the device overlaps a void
	// test (outcome void, reason award_overlap).
	VoidedBy *gridmint.RequestID `json:"voided_by,omitempty"`
}

// TestSetpoint is one step of a test dispatch of an own device.
type TestSetpoint struct {
	At      time.Time         `json:"at"`
	Kind    string            `json:"kind"`
	Value   float64           `json:"value"`
	Restore bool              `json:"restore,omitempty"`
	Command string            `json:"command,omitempty"`
	SentAt  time.Time         `json:"sent_at,omitzero"`
	Reason  string            `json:"reason,omitempty"`
	Device  gridmint.DeviceID `json:"device"`
}

// TestList is GET /api/v1/market/tests.
type TestList struct {
	Rounds []TestRound `json:"rounds"`
}

// tests is GET /api/v1/market/tests: every round held.
func (s *Server) tests(w http.ResponseWriter, _ *http.Request) {
	out := TestList{Rounds: s.cfg.Tests.TestRounds()}
	if out.Rounds == nil {
		out.Rounds = []TestRound{}
	}
	s.writeJSON(w, http.StatusOK, out)
}
