package settle

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/p2p"
)

// rejected is how many attestations u's engine refused for reason.
func (u *unit) rejected(reason string) float64 {
	return metricValue(u.e, "gridmint_settle_attestations_rejected_total", "reason", reason)
}

// Attest signs the digest the contract verifies and gossips it once;
// the echo from gossip and a second Attest change nothing.
func TestAttestSignsAndGossipsOnce(t *testing.T) {
	u := newUnit(t, 2, registryOf(2, 1, 2, 3), nil)
	b := recBatch(t, 1, pastHour)
	if err := u.e.Attest(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	sent := u.gossip.Sent()
	if len(sent) != 1 {
		t.Fatalf("published %d attestations, want 1", len(sent))
	}
	a := sent[0]
	digest := testDomainREC.Digest(b.Issue.StructHash())
	if a.Subject != digest || a.SubjectKind != p2p.SubjectIssueBatch || a.Verdict != p2p.VerdictAccept {
		t.Errorf("published %+v; want an accept of the REC digest %s", a, digest)
	}
	if got, err := chain.Recover(digest, a.ChainSignature); err != nil || got != Addr(2) {
		t.Errorf("chain signature recovers to %s (%v), want the node %s", got, err, Addr(2))
	}
	u.e.HandleMessage(p2p.Message{Kind: p2p.KindAttestation, Author: Addr(2), Body: a}) // the echo
	if err := u.e.Attest(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	if n := len(u.gossip.Sent()); n != 1 {
		t.Errorf("published %d attestations after attesting again, want still 1", n)
	}
	if s := u.status(t, b); s.Attestations != 1 || s.State != StateCollecting || s.K != 2 {
		t.Errorf("status %+v; want 1 attestation of k=2, collecting", s)
	}
	if r := u.rejected(RejectDuplicate); r != 0 {
		t.Errorf("own echo counted as %v duplicates", r)
	}

	outsider := newUnit(t, 9, registryOf(2, 1, 2, 3), nil)
	if err := outsider.e.Attest(t.Context(), b); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Errorf("a non-attestor's Attest = %v, want an invalid error", err)
	}
	if n := len(outsider.gossip.Sent()); n != 0 {
		t.Errorf("a non-attestor published %d attestations", n)
	}
}

// Collection counts each registered signer once, refuses forgeries and
// outsiders with a reason, never counts a claim's own node for it, and
// keeps attestations of batches it learns about only later.
func TestCollection(t *testing.T) {
	u := newUnit(t, 4, registryOf(2, 1, 2, 3, 4), nil)
	b := recBatch(t, 1, pastHour) // node 1's claim
	digest, err := u.e.Digest(b)
	if err != nil {
		t.Fatal(err)
	}
	other := recBatch(t, 1, pastHour+1)
	otherDigest, _ := u.e.Digest(other)

	// Node 2 attests before this node knows the batch: kept as an orphan.
	u.e.HandleMessage(attestation(t, 2, KindRECIssue, digest))
	if _, err := u.e.Propose(b); err != nil {
		t.Fatal(err)
	}
	if s := u.status(t, b); s.Attestations != 1 {
		t.Fatalf("after proposing, %d attestations; want node 2's, gossiped before", s.Attestations)
	}

	forged := attestation(t, 3, KindRECIssue, otherDigest) // signed over another digest
	forged.Body = p2p.Attestation{Subject: digest, SubjectKind: p2p.SubjectIssueBatch, Verdict: p2p.VerdictAccept, ChainSignature: forged.Body.(p2p.Attestation).ChainSignature}
	cases := []struct {
		name   string
		msg    p2p.Message
		reason string
	}{
		{"node 2 again", attestation(t, 2, KindRECIssue, digest), RejectDuplicate},
		{"not in the registry", attestation(t, 7, KindRECIssue, digest), RejectNotAttestor},
		{"signature over another digest", forged, RejectBadSignature},
		{"the digest attested as a reward batch", attestation(t, 3, KindFLEXReward, digest), RejectWrongKind},
	}
	for _, c := range cases {
		before := u.rejected(c.reason)
		u.e.HandleMessage(c.msg)
		if got := u.rejected(c.reason) - before; got != 1 {
			t.Errorf("%s: %v rejections for %s, want 1", c.name, got, c.reason)
		}
		if s := u.status(t, b); s.Attestations != 1 || s.State != StateCollecting {
			t.Errorf("%s: status %d attestations, %s; want still 1, collecting", c.name, s.Attestations, s.State)
		}
	}

	// Node 3 attests another batch: it does not count for this one.
	u.e.HandleMessage(attestation(t, 3, KindRECIssue, otherDigest))
	// The claimant attests its own claim: registered, but not counting.
	u.e.HandleMessage(attestation(t, 1, KindRECIssue, digest))
	if s := u.status(t, b); s.Attestations != 2 || s.State != StateCollecting {
		t.Errorf("with the claimant's own signature: %d attestations, %s; want 2 at hand but no quorum (collecting)", s.Attestations, s.State)
	}
	u.e.HandleMessage(attestation(t, 3, KindRECIssue, digest))
	s := u.status(t, b)
	if s.Attestations != 3 || s.State != StateReady || s.Ready == nil {
		t.Fatalf("with nodes 2 and 3: %d attestations, %s; want ready", s.Attestations, s.State)
	}
	if got := metricValue(u.e, "gridmint_settle_batches_ready_total", "kind", string(KindRECIssue)); got != 1 {
		t.Errorf("batches ready = %v, want 1", got)
	}
	// A reject verdict is counted, not collected.
	rej := attestation(t, 4, KindRECIssue, digest)
	rej.Body = p2p.Attestation{Subject: digest, SubjectKind: p2p.SubjectIssueBatch, Verdict: p2p.VerdictReject, Reason: p2p.RejectImplausible}
	u.e.HandleMessage(rej)
	if got := metricValue(u.e, "gridmint_settle_attestations_received_total", "kind", string(KindRECIssue), "verdict", "reject"); got != 1 {
		t.Errorf("reject verdicts counted %v, want 1", got)
	}
	if s := u.status(t, b); s.Attestations != 3 {
		t.Errorf("a reject verdict was collected: %d attestations", s.Attestations)
	}
}

// What the engine collected survives a restart: attestations, orphans
// and the batch's state and ready time.
func TestCollectionSurvivesRestart(t *testing.T) {
	reg := registryOf(2, 1, 2, 3)
	store := NewMemStore()
	u := newUnit(t, 3, reg, store)
	b := recBatch(t, 1, pastHour)
	if err := u.e.Attest(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	u.e.HandleMessage(attestation(t, 2, KindRECIssue, u.mustDigest(t, b)))
	orphan := recBatch(t, 2, pastHour)
	u.e.HandleMessage(attestation(t, 1, KindRECIssue, u.mustDigest(t, orphan)))
	before := u.status(t, b)
	if before.State != StateReady {
		t.Fatalf("state %s before the restart, want ready", before.State)
	}

	again := newUnit(t, 3, reg, store)
	after := again.status(t, b)
	if after.State != before.State || after.Attestations != 2 || !after.Ready.Equal(*before.Ready) || !after.Created.Equal(before.Created) {
		t.Errorf("after restart %+v, before %+v", after, before)
	}
	if _, err := again.e.Propose(orphan); err != nil {
		t.Fatal(err)
	}
	if s := again.status(t, orphan); s.Attestations != 1 {
		t.Errorf("the attestation of a batch unknown before the restart: %d attestations, want 1", s.Attestations)
	}
	again.e.HandleMessage(attestation(t, 2, KindRECIssue, u.mustDigest(t, b)))
	if r := again.rejected(RejectDuplicate); r != 1 {
		t.Errorf("node 2's attestation after the restart: %v duplicates, want 1 (it was kept)", r)
	}
}

func (u *unit) mustDigest(t testing.TB, b Batch) common.Hash {
	t.Helper()
	d, err := u.e.Digest(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// An attestation gossip refused stays unsent and goes out on a later step.
func TestUnsentAttestationIsPublishedAgain(t *testing.T) {
	u := newUnit(t, 2, registryOf(2, 1, 2, 3), nil)
	u.gossip.fail = errors.New("rate limited")
	b := recBatch(t, 1, pastHour)
	if err := u.e.Attest(t.Context(), b); err == nil {
		t.Fatal("Attest hid the gossip failure")
	}
	if s := u.status(t, b); s.Attestations != 1 {
		t.Fatalf("own attestation not kept: %d", s.Attestations)
	}
	u.gossip.mu.Lock()
	u.gossip.fail = nil
	u.gossip.mu.Unlock()
	u.step(t)
	u.step(t)
	if n := len(u.gossip.Sent()); n != 1 {
		t.Errorf("published %d times after the failure cleared, want once", n)
	}
}

// Orphans are bounded.
func TestOrphanLimit(t *testing.T) {
	u := newUnit(t, 2, registryOf(1, 1, 2), nil)
	u.e.cfg.MaxOrphans = 2
	for i := range 3 {
		u.e.HandleMessage(attestation(t, 1, KindRECIssue, ethcrypto.Keccak256Hash([]byte{byte(i)})))
	}
	if r := u.rejected(RejectOrphanLimit); r != 1 {
		t.Errorf("orphan limit rejections %v, want 1", r)
	}
	if n := u.store.Len(); n != 2 {
		t.Errorf("%d records stored, want the 2 orphans", n)
	}
}
