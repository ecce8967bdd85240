package chain

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// indexMatchesChain checks the index against the contracts' own state.
func indexMatchesChain(t *testing.T, h *harness, ix Index, accounts []common.Address, tokens []TokenID) {
	t.Helper()
	for _, a := range accounts {
		b, err := ix.Balances(h.ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := h.c.FLEXBalance(h.ctx, a)
		if b.FLEX.Cmp(want) != 0 {
			t.Errorf("%s FLEX: index %v, chain %v", a, b.FLEX, want)
		}
		got := map[TokenID]*big.Int{}
		for _, tb := range b.REC {
			got[tb.Token] = tb.Wh
		}
		for _, tok := range tokens {
			want, _ := h.c.RECBalance(h.ctx, a, tok)
			g := got[tok]
			if g == nil {
				g = new(big.Int)
			}
			if g.Cmp(want) != 0 {
				t.Errorf("%s REC %s: index %v, chain %v", a, tok, g, want)
			}
		}
	}
	issued, err := ix.Store.Events(h.ctx, EventQuery{Kinds: []EventKind{EventIssued}})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := h.sim.Backend().FilterLogs(h.ctx, ethereum.FilterQuery{Addresses: []common.Address{h.addrs.REC}, Topics: [][]common.Hash{{recABI.Events["Issued"].ID}}})
	if err != nil || len(logs) != len(issued) {
		t.Errorf("Issued events: index %d, chain %d (%v)", len(issued), len(logs), err)
	}
}

func TestIndexerFollowsAndSurvivesReorg(t *testing.T) {
	h := newHarness(t, 1, 1)
	me, bob := addr(h.key), common.HexToAddress("0xb0b0000000000000000000000000000000000b0b")
	store := NewMemIndex()
	ix := Index{Store: store}
	x := NewIndexer(h.sim.Backend(), store, IndexerConfig{Contracts: h.addrs, Chunk: 3, Sleep: fastSleep})

	hour := h.pastHour(30)
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(50), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	ib := NewIssueBatch([]Claim{claim("a", me, hour, 700), claim("b", me, hour+1, 300)})
	if _, err := h.c.Issue(h.ctx, ib, h.signIssue(ib, 0)); err != nil {
		t.Fatal(err)
	}
	tokA, tokB := TokenID{zoneDE, 1, hour}, TokenID{zoneDE, 1, hour + 1}
	if _, err := h.c.TransferREC(h.ctx, common.Hash{1}, bob, tokA, 200); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Reserve(h.ctx, common.Hash{7}, common.Hash{8}, fx(20)); err != nil {
		t.Fatal(err)
	}
	ret, err := h.c.Retire(h.ctx, RetireRequest{Token: tokB, Wh: 100, Beneficiary: "ACME", Claim: "2026 matching"})
	if err != nil || ret.RetirementID != 1 {
		t.Fatalf("retire: %+v, %v", ret, err)
	}
	if _, err := x.Sync(h.ctx); err != nil {
		t.Fatal(err)
	}
	indexMatchesChain(t, h, ix, []common.Address{me, bob}, []TokenID{tokA, tokB})
	hist, err := ix.History(h.ctx, me, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []EventKind
	for _, e := range hist {
		kinds = append(kinds, e.Kind)
	}
	want := []EventKind{EventRetired, EventRECTransfer, EventReserved, EventFLEXTransfer, EventRECTransfer, EventIssued, EventRECTransfer, EventRECTransfer, EventRewarded, EventFLEXTransfer}
	if len(kinds) != len(want) {
		t.Errorf("history kinds %v, want %v", kinds, want)
	} else {
		for i := range want {
			if kinds[i] != want[i] {
				t.Errorf("history[%d] = %s, want %s (all %v)", i, kinds[i], want[i], kinds)
			}
		}
	}
	rets, _ := ix.Retirements(h.ctx, nil, 0, 10)
	if len(rets) != 1 || rets[0].Beneficiary != "ACME" || rets[0].RetirementID != 1 || rets[0].Amount.Int64() != 100 {
		t.Errorf("retirements %+v", rets)
	}
	if after, _ := ix.Retirements(h.ctx, nil, 1, 10); len(after) != 0 {
		t.Errorf("retirements after id 1: %+v, want none", after)
	}

	// Reorg: drop the last two blocks (reserve and retire); the chain
	// then mines other blocks, possibly with the dropped transactions.
	head, _ := h.sim.Backend().HeaderByNumber(h.ctx, nil)
	parent, _ := h.sim.Backend().HeaderByNumber(h.ctx, new(big.Int).Sub(head.Number, big.NewInt(2)))
	if err := h.sim.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	h.sim.Commit()
	h.sim.Commit()
	h.sim.Commit()
	if _, err := x.Sync(h.ctx); err != nil {
		t.Fatal(err)
	}
	indexMatchesChain(t, h, ix, []common.Address{me, bob}, []TokenID{tokA, tokB})
	ih, _, _ := store.Head(h.ctx)
	if ch, _ := h.sim.Backend().HeaderByNumber(h.ctx, nil); ih.Hash != ch.Hash() {
		t.Errorf("index head %d %s, chain head %d %s", ih.Number, ih.Hash, ch.Number, ch.Hash())
	}
}

func TestIndexerConfirmations(t *testing.T) {
	h := newHarness(t, 1, 1)
	store := NewMemIndex()
	x := NewIndexer(h.sim.Backend(), store, IndexerConfig{Contracts: h.addrs, Confirmations: 2})
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: addr(h.key), Amount: fx(5), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{0, 0, 2} { // Transfer + Rewarded once 2 blocks deep
		if _, err := x.Sync(h.ctx); err != nil {
			t.Fatal(err)
		}
		evs, _ := store.Events(h.ctx, EventQuery{})
		if len(evs) != want {
			t.Errorf("after %d more blocks: %d events indexed, want %d", i, len(evs), want)
		}
		h.sim.Commit()
	}
}

func TestAudit(t *testing.T) {
	h := newHarness(t, 1, 1)
	me := addr(h.key)
	hour := h.pastHour(30)
	ib := NewIssueBatch([]Claim{claim("a", me, hour, 700), claim("b", me, hour, 300)})
	if _, err := h.c.Issue(h.ctx, ib, h.signIssue(ib, 0)); err != nil {
		t.Fatal(err)
	}
	rb := NewRewardBatch([]Reward{
		{RecordID: common.Hash{1}, Provider: me, Amount: fx(50), Kind: RewardDelivery},
		{RecordID: common.Hash{2}, Provider: me, Amount: fx(5), Kind: RewardAvailability},
	})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0)); err != nil {
		t.Fatal(err)
	}
	tok := TokenID{zoneDE, 1, hour}
	if _, err := h.c.Retire(h.ctx, RetireRequest{Token: tok, Wh: 400, Beneficiary: "ACME"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Reserve(h.ctx, common.Hash{3}, common.Hash{4}, fx(20)); err != nil {
		t.Fatal(err)
	}
	ev := Evidence{FLEXRewarded: fx(55), RECIssued: map[TokenID]*big.Int{tok: big.NewInt(1000)}}
	rep, err := Audit(h.ctx, h.sim.Backend(), h.addrs, ev, AuditOptions{Chunk: 2, LargeFLEX: fx(50)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 {
		t.Errorf("clean chain: differences %v", rep.Differences)
	}
	if rep.FLEX.Supply.Cmp(fx(35)) != 0 || rep.FLEX.OnChain.Cmp(fx(35)) != 0 {
		t.Errorf("FLEX supply %v on chain %v, want 35 FLEX", rep.FLEX.Supply, rep.FLEX.OnChain)
	}
	if len(rep.REC) != 1 || rep.REC[0].Supply.Int64() != 600 || rep.REC[0].Retired.Int64() != 400 {
		t.Errorf("REC %+v", rep.REC)
	}
	if len(rep.Large) != 1 || rep.Large[0].Amount.Cmp(fx(50)) != 0 {
		t.Errorf("large transfers %+v, want the 50 FLEX mint", rep.Large)
	}

	// Evidence that disagrees is reported, per item.
	other := TokenID{zoneDE, 1, hour + 1}
	ev = Evidence{FLEXRewarded: fx(54), RECIssued: map[TokenID]*big.Int{tok: big.NewInt(999), other: big.NewInt(5)}}
	rep, err = Audit(h.ctx, h.sim.Backend(), h.addrs, ev, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range rep.Differences {
		got[d.String()] = true
	}
	for _, want := range []string{
		"FLEX rewarded vs evidence: chain events 55000000000000000000, expected 54000000000000000000",
		"REC issued vs evidence " + tok.String() + ": chain events 1000, expected 999",
		"REC issued vs evidence " + other.String() + ": chain events 0, expected 5",
	} {
		if !got[want] {
			t.Errorf("missing difference %q; got %v", want, rep.Differences)
		}
	}
	if len(rep.Differences) != 3 {
		t.Errorf("%d differences, want 3: %v", len(rep.Differences), rep.Differences)
	}
}
