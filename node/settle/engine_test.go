package settle

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/chain"
)

// batchWithRank is a batch of the claimant's claim in which node has the
// given rank among attestors (searched over hours: the order follows the
// batch id).
func batchWithRank(t testing.TB, claimant, node, rank int, attestors []common.Address) Batch {
	t.Helper()
	for h := uint64(pastHour); h < pastHour+1000; h++ {
		b := recBatch(t, claimant, h)
		if Rank(b.ID(), attestors, Addr(node)) == rank {
			return b
		}
	}
	t.Fatalf("no batch gives node %d rank %d", node, rank)
	return Batch{}
}

// readyBatch proposes b at u and feeds it attestations by signers.
func (u *unit) readyBatch(t testing.TB, b Batch, signers ...int) {
	t.Helper()
	d, err := u.e.Propose(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range signers {
		u.e.HandleMessage(attestation(t, s, b.Kind, d))
	}
	if s := u.status(t, b); s.State != StateReady {
		t.Fatalf("batch %s: state %s, want ready", b.ID(), s.State)
	}
}

func (u *unit) metric(name string, kind Kind) float64 {
	return metricValue(u.e, name, "kind", string(kind))
}

// The elected submitter submits at once, with the fewest signatures
// that make the quorum, and records the transaction.
func TestElectedSubmitterSubmitsAtOnce(t *testing.T) {
	reg := registryOf(2, 1, 2, 3)
	u := newUnit(t, 3, reg, nil)
	b := batchWithRank(t, 1, 3, 0, reg.Set().Attestors)
	u.readyBatch(t, b, 1, 2, 3)
	u.step(t)
	calls := u.chain.Calls()
	if len(calls) != 1 || calls[0] != b.ID() {
		t.Fatalf("submitted %v, want batch %s once", calls, b.ID())
	}
	// Node 1 made the claim: its signature does not count, so nodes 2
	// and 3 sign, in address order.
	want := SelectSignersOrFail(t, b.Exclusions, []common.Address{Addr(2), Addr(3)}, 2)
	for i, sig := range u.chain.sigs[0] {
		if got, err := chain.Recover(u.mustDigest(t, b), sig); err != nil || got != want[i] {
			t.Errorf("signature %d by %s (%v), want %s", i, got, err, want[i])
		}
	}
	if len(u.chain.sigs[0]) != 2 {
		t.Errorf("%d signatures sent, want k = 2", len(u.chain.sigs[0]))
	}
	s := u.status(t, b)
	if s.State != StateSettled || s.Submitter == nil || *s.Submitter != Addr(3) || s.Tx == nil || s.Rank != 0 {
		t.Errorf("status %+v; want settled by this node with its tx", s)
	}
	if got := u.metric("gridmint_settle_batches_submitted_total", KindRECIssue); got != 1 {
		t.Errorf("submitted = %v, want 1", got)
	}
	if got := u.metric("gridmint_settle_fallback_submissions_total", KindRECIssue); got != 0 {
		t.Errorf("fallback = %v, want 0", got)
	}
	u.step(t)
	if n := len(u.chain.Calls()); n != 1 {
		t.Errorf("%d submissions after another step, want still 1", n)
	}
}

func SelectSignersOrFail(t testing.TB, excl [][]common.Address, available []common.Address, k int) []common.Address {
	t.Helper()
	s, ok := SelectSigners(excl, available, k)
	if !ok {
		t.Fatal("no quorum")
	}
	return s
}

// The first fallback submits only after a fallback of the node clock and
// of the wall clock have both passed since the batch became ready here.
func TestFallbackWaitsItsTurn(t *testing.T) {
	reg := registryOf(2, 1, 2, 3)
	u := newUnit(t, 2, reg, nil)
	b := batchWithRank(t, 1, 2, 1, reg.Set().Attestors)
	u.readyBatch(t, b, 2, 3)
	u.step(t)
	u.clock.Add(5*time.Minute - time.Second)
	u.wall.Add(time.Hour)
	u.step(t)
	if n := len(u.chain.Calls()); n != 0 {
		t.Fatalf("the first fallback submitted %d times before its turn by the node clock", n)
	}
	u.clock.Add(time.Second)
	u.wall.Add(-time.Hour + 10*time.Second - time.Millisecond)
	u.step(t)
	if n := len(u.chain.Calls()); n != 0 {
		t.Fatalf("the first fallback submitted %d times before the wall-clock floor", n)
	}
	u.wall.Add(time.Millisecond)
	u.step(t)
	if n := len(u.chain.Calls()); n != 1 {
		t.Fatalf("the first fallback submitted %d times on its turn, want once", n)
	}
	if got := u.metric("gridmint_settle_fallback_submissions_total", KindRECIssue); got != 1 {
		t.Errorf("fallback submissions = %v, want 1", got)
	}
}

// A node that sees the batch's Issued event in the chain index stops:
// it never submits, even when its turn comes.
func TestIndexedBatchStopsTheOthers(t *testing.T) {
	reg := registryOf(2, 1, 2, 3)
	u := newUnit(t, 2, reg, nil)
	b := batchWithRank(t, 1, 2, 1, reg.Set().Attestors)
	u.readyBatch(t, b, 2, 3)
	tx := common.HexToHash("0xabc")
	if err := u.index.Apply(t.Context(), chain.BlockRef{Number: 7, Hash: common.Hash{7}, Time: uint64(Epoch.Unix())},
		[]chain.Event{{Kind: chain.EventIssued, Block: 7, TxHash: tx, Ref: b.ID(), From: Addr(3), Amount: big.NewInt(1234), Count: 1}}); err != nil {
		t.Fatal(err)
	}
	u.step(t)
	s := u.status(t, b)
	if s.State != StateSettled || s.Tx == nil || *s.Tx != tx || s.Submitter == nil || *s.Submitter != Addr(3) || s.Block != 7 {
		t.Fatalf("status %+v; want settled by node 3 in tx %s", s, tx)
	}
	u.clock.Add(time.Hour)
	u.wall.Add(time.Hour)
	u.step(t)
	if n := len(u.chain.Calls()); n != 0 {
		t.Errorf("submitted %d times a batch the index showed settled", n)
	}
	if got := u.metric("gridmint_settle_batches_settled_by_others_total", KindRECIssue); got != 1 {
		t.Errorf("settled by others = %v, want 1", got)
	}
	// A batch proposed after its event was indexed is settled at once.
	late := newUnit(t, 1, reg, nil)
	if err := late.index.Apply(t.Context(), chain.BlockRef{Number: 7, Hash: common.Hash{7}, Time: uint64(Epoch.Unix())},
		[]chain.Event{{Kind: chain.EventIssued, Block: 7, TxHash: tx, Ref: b.ID(), From: Addr(3), Amount: big.NewInt(1), Time: uint64(Epoch.Unix())}}); err != nil {
		t.Fatal(err)
	}
	late.step(t)
	if _, err := late.e.Propose(b); err != nil {
		t.Fatal(err)
	}
	if s := late.status(t, b); s.State != StateSettled || s.Tx == nil || *s.Tx != tx {
		t.Errorf("batch proposed after its event: %+v, want settled in %s", s, tx)
	}
}

// How the engine reads the chain's answers.
func TestSubmissionOutcomes(t *testing.T) {
	reg := registryOf(2, 1, 2, 3)
	attestors := reg.Set().Attestors
	cases := []struct {
		name     string
		answer   func(common.Hash) (*chain.Receipt, error)
		state    State
		attempts int
		metric   string // counted once
	}{
		{"another node's transaction landed first; ours reverted",
			func(common.Hash) (*chain.Receipt, error) {
				return &chain.Receipt{TxHash: common.Hash{9}, AlreadyDone: true}, nil
			}, StateSettled, 0, "gridmint_settle_duplicate_submissions_total"},
		{"settled before we sent: nothing paid",
			func(common.Hash) (*chain.Receipt, error) { return &chain.Receipt{AlreadyDone: true}, nil },
			StateSettled, 0, "gridmint_settle_batches_settled_by_others_total"},
		{"the estimate reverts: already issued",
			func(common.Hash) (*chain.Receipt, error) { return nil, &chain.RevertError{Name: "BatchAlreadyIssued"} },
			StateSettled, 0, "gridmint_settle_batches_settled_by_others_total"},
		{"another batch issued the hour: never issuable",
			func(common.Hash) (*chain.Receipt, error) { return nil, &chain.RevertError{Name: "HourAlreadyIssued"} },
			StateFailed, 1, "gridmint_settle_submission_failures_total"},
		{"the chain is down: retried later",
			func(common.Hash) (*chain.Receipt, error) { return nil, errors.New("connection refused") },
			StateReady, 1, "gridmint_settle_submission_failures_total"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := newUnit(t, 3, reg, nil)
			u.chain.answer = c.answer
			b := batchWithRank(t, 1, 3, 0, attestors)
			u.readyBatch(t, b, 2, 3)
			u.step(t)
			s := u.status(t, b)
			if s.State != c.state || s.Attempts != c.attempts {
				t.Errorf("state %s after %d attempts, want %s after %d (error %q)", s.State, s.Attempts, c.state, c.attempts, s.Error)
			}
			if got := u.metric(c.metric, KindRECIssue); got != 1 {
				t.Errorf("%s = %v, want 1", c.metric, got)
			}
			if got := u.metric("gridmint_settle_batches_submitted_total", KindRECIssue); got != 0 {
				t.Errorf("submitted = %v, want 0: this node's transaction did not settle it", got)
			}
		})
	}
}

// A failing submission is retried after a fallback, at most MaxAttempts
// times in all.
func TestFailedSubmissionRetries(t *testing.T) {
	reg := registryOf(2, 1, 2, 3)
	u := newUnit(t, 3, reg, nil)
	u.chain.answer = func(common.Hash) (*chain.Receipt, error) { return nil, errors.New("503 service unavailable") }
	b := batchWithRank(t, 1, 3, 0, reg.Set().Attestors)
	u.readyBatch(t, b, 2, 3)
	u.step(t)
	u.step(t)
	if n := len(u.chain.Calls()); n != 1 {
		t.Fatalf("%d tries before the retry delay, want 1", n)
	}
	for range 3 {
		u.clock.Add(5 * time.Minute)
		u.wall.Add(10 * time.Second)
		u.step(t)
	}
	if n := len(u.chain.Calls()); n != 3 {
		t.Errorf("%d tries, want MaxAttempts = 3", n)
	}
	if s := u.status(t, b); s.State != StateFailed || s.Error == "" {
		t.Errorf("after three failures: %s (%q), want failed with the error", s.State, s.Error)
	}
}

// A node outside the registry never submits, and a batch this node was
// submitting when it stopped is submitted again at start (the chain
// client's intent makes that safe).
func TestNonAttestorNeverSubmitsAndSubmittingResumes(t *testing.T) {
	reg := registryOf(2, 1, 2, 3)
	outsider := newUnit(t, 9, reg, nil)
	b := recBatch(t, 1, pastHour)
	outsider.readyBatch(t, b, 2, 3)
	outsider.clock.Add(24 * time.Hour)
	outsider.wall.Add(24 * time.Hour)
	outsider.step(t)
	if n := len(outsider.chain.Calls()); n != 0 || outsider.status(t, b).Rank != -1 {
		t.Errorf("a non-attestor submitted %d times (rank %d)", n, outsider.status(t, b).Rank)
	}

	store := NewMemStore()
	u := newUnit(t, 3, reg, store)
	held := make(chan struct{})
	u.chain.answer = func(common.Hash) (*chain.Receipt, error) { <-held; return nil, context.Canceled }
	b = batchWithRank(t, 1, 3, 0, reg.Set().Attestors)
	u.readyBatch(t, b, 2, 3)
	ctx, cancel := context.WithCancel(t.Context())
	u.e.Step(ctx)
	WaitFor(t, "the submission in flight", func() bool { return len(u.chain.Calls()) == 1 })
	snapshot := NewMemStore() // the disk as a crash would leave it
	_ = store.ScanSettle("", func(k string, v []byte) error { return snapshot.PutSettle(k, v) })
	close(held)
	cancel()
	u.e.Wait()

	again := newUnit(t, 3, reg, snapshot)
	if s := again.status(t, b); s.State != StateReady {
		t.Fatalf("after the crash: %s, want ready again", s.State)
	}
	again.step(t)
	if n := len(again.chain.Calls()); n != 1 {
		t.Errorf("resumed with %d submissions, want 1", n)
	}
}

// A reward batch is settled when all its records are rewarded in one
// transaction, and void when another batch took some of them.
func TestRewardBatchFromIndex(t *testing.T) {
	reg := registryOf(1, 1, 2)
	rewards := []chain.Reward{
		{RecordID: common.Hash{1}, Provider: Addr(1), Amount: big.NewInt(10), Kind: chain.RewardDelivery},
		{RecordID: common.Hash{2}, Provider: Addr(1), Amount: big.NewInt(20), Kind: chain.RewardDelivery},
	}
	b, err := FLEXReward(rewards, []common.Address{Addr(1), Addr(1)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := FLEXReward(rewards[1:], []common.Address{Addr(1)})
	if err != nil {
		t.Fatal(err)
	}
	u := newUnit(t, 9, reg, nil) // not an attestor: watches only
	u.chain.rewarded = map[common.Hash]bool{b.ID(): true}
	for _, x := range []Batch{b, other} {
		if _, err := u.e.Propose(x); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(rec common.Hash, tx common.Hash) chain.Event {
		return chain.Event{Kind: chain.EventRewarded, Block: 3, TxHash: tx, Ref: rec, To: Addr(1), Amount: big.NewInt(1), Time: uint64(Epoch.Unix())}
	}
	if err := u.index.Apply(t.Context(), chain.BlockRef{Number: 3, Hash: common.Hash{3}, Time: uint64(Epoch.Unix())}, []chain.Event{ev(common.Hash{1}, common.Hash{0xa}), ev(common.Hash{2}, common.Hash{0xa})}); err != nil {
		t.Fatal(err)
	}
	u.step(t)
	if s := u.status(t, b); s.State != StateSettled || s.Tx == nil || *s.Tx != (common.Hash{0xa}) {
		t.Errorf("reward batch: %+v, want settled in 0xa", s)
	}
	if s := u.status(t, other); s.State != StateFailed || s.Error == "" {
		t.Errorf("overlapping reward batch: %s %q, want failed: its record went with another batch", s.State, s.Error)
	}
}
