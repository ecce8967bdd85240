package chain

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/chain/bindings/rec"
)

// TestAuditWithEvidenceFromIntents: the batches a client submitted are its
// evidence; an audit against them is clean, and evidence the chain does
// not bear out (a batch claimed but never mined, a record of another
// amount, a mint the node never submitted) is reported.
func TestAuditWithEvidenceFromIntents(t *testing.T) {
	h := newHarness(t, 1, 1)
	intents := NewMemIntents()
	c, err := New(h.ctx, h.sim.Backend(), Config{Key: h.key, Contracts: h.addrs, Intents: intents, Logger: testLogger(t), Sleep: fastSleep})
	if err != nil {
		t.Fatal(err)
	}
	me := addr(h.key)
	hour := h.pastHour(30)
	ib := NewIssueBatch([]Claim{claim("a", me, hour, 700), claim("b", me, hour, 300)})
	if _, err := c.Issue(h.ctx, ib, h.signIssue(ib, 0)); err != nil {
		t.Fatal(err)
	}
	rb := NewRewardBatch([]Reward{
		{RecordID: common.Hash{1}, Provider: me, Amount: fx(50), Kind: RewardDelivery},
		{RecordID: common.Hash{2}, Provider: me, Amount: fx(5), Kind: RewardAvailability},
	})
	if _, err := c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	all, err := intents.AllIntents(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	audit := func(ev Evidence) []string {
		t.Helper()
		rep, err := Audit(h.ctx, h.sim.Backend(), h.addrs, ev, AuditOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range rep.Differences {
			out = append(out, d.String())
		}
		return out
	}
	ev, err := EvidenceFromIntents(all, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.IssueBatches) != 1 || ev.IssueBatches[ib.BatchID].Int64() != 1000 || len(ev.RewardRecords) != 2 || ev.FLEXRewarded.Cmp(fx(55)) != 0 {
		t.Fatalf("evidence %+v, want one 1000 Wh batch and 55 FLEX in two records", ev)
	}
	if d := audit(ev); len(d) != 0 {
		t.Errorf("clean chain against the client's own evidence: differences %v", d)
	}

	// A batch the node believes mined but the chain never saw.
	ghost := NewIssueBatch([]Claim{claim("c", me, hour, 42)})
	ghostData := rec.NewREC().PackIssue(rec.RECIssueBatch{BatchId: ghost.BatchID, Claims: []rec.RECClaim{{Device: ghost.Claims[0].Device,
		Owner: me, Zone: ghost.Claims[0].Zone, Technology: ghost.Claims[0].Technology, Hour: hour, Wh: 42}}}, nil)
	withGhost := append(all, Intent{ID: common.Hash{9}, Kind: OpIssue, Ref: ghost.BatchID, Data: ghostData, State: IntentDone})
	ev, err = EvidenceFromIntents(withGhost, false)
	if err != nil {
		t.Fatal(err)
	}
	if ev.RECIssued != nil || ev.FLEXRewarded != nil {
		t.Errorf("incomplete evidence sets totals: %+v", ev)
	}
	ev.RewardRecords[common.Hash{2}] = fx(6)
	got := strings.Join(audit(ev), "\n")
	for _, want := range []string{
		"REC batch " + ghost.BatchID.Hex() + " vs evidence: chain events 0, expected 42",
		"FLEX reward record " + common.Hash{2}.Hex() + " vs evidence: chain events 5000000000000000000, expected 6000000000000000000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing difference %q; got:\n%s", want, got)
		}
	}

	// A mint the node did not submit: with complete evidence the totals
	// differ (the node is the only submitter on its embedded chain).
	ev, err = EvidenceFromIntents(all[:0], true)
	if err != nil {
		t.Fatal(err)
	}
	if d := audit(ev); len(d) == 0 {
		t.Error("complete evidence without the batches: no difference")
	}

	// Not-done and other intents are not evidence; broken call data is an error.
	ev, err = EvidenceFromIntents([]Intent{{Kind: OpIssue, State: IntentPending, Data: []byte{1}}, {Kind: OpRetire, State: IntentDone}}, true)
	if err != nil || len(ev.IssueBatches) != 0 {
		t.Errorf("pending issue and done retire: %+v, %v", ev, err)
	}
	if _, err := EvidenceFromIntents([]Intent{{Kind: OpIssue, State: IntentDone, Data: []byte{1, 2, 3, 4, 5}}}, true); err == nil {
		t.Error("garbage issue call data: no error")
	}
}

// FuzzEvidenceFromIntents: intent files are read back from disk, where a
// crash or an editor may have left anything; decoding never panics.
func FuzzEvidenceFromIntents(f *testing.F) {
	f.Add([]byte{}, true)
	f.Add(rec.NewREC().PackIssue(rec.RECIssueBatch{Claims: []rec.RECClaim{{Wh: 1}}}, nil), true)
	f.Fuzz(func(t *testing.T, data []byte, issue bool) {
		kind := OpReward
		if issue {
			kind = OpIssue
		}
		ev, err := EvidenceFromIntents([]Intent{{Kind: kind, State: IntentDone, Data: data}}, true)
		if err == nil && len(ev.IssueBatches)+len(ev.RewardRecords) == 0 && len(data) > 0 && issue {
			t.Errorf("decoded an issue call %x into no batch", data)
		}
	})
}
