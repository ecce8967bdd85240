package chain

import (
	"errors"
	"math/big"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
)

// TestLedgerFollowsLotsFirstInFirstOut issues two devices' Wh of one
// hour to A (one batch, attested by two of three attestors), moves part
// to B and retires from both: the ledger attributes every Wh to its
// device, oldest lot first, and recovers submitter and attestors from
// the call data. A served JSON-RPC reader rebuilds the same statement.
func TestLedgerFollowsLotsFirstInFirstOut(t *testing.T) {
	bKey := testKey("holder b")
	h := newHarness(t, 2, 3, addr(bKey))
	a, b := h.c.Address(), addr(bKey)
	hour := h.pastHour(2)
	batch := NewIssueBatch([]Claim{claim("pv-1", a, hour, 700), claim("pv-2", a, hour, 300), claim("pv-3", a, hour, 0), claim("pv-1", a, hour+1, 50)})
	if _, err := h.c.Issue(h.ctx, batch, h.signIssue(batch, 0, 2)); err != nil {
		t.Fatal(err)
	}
	tok := ClaimTokenID(batch.Claims[0])
	// The batch is in device-key order: which device's lot is older
	// depends on the keys; find the order the contract minted in.
	var first, second Claim
	for _, c := range batch.Claims {
		if c.Hour == hour && c.Wh > 0 {
			if first.Wh == 0 {
				first = c
			} else {
				second = c
			}
		}
	}
	// A → B: 200 Wh, all from the first lot.
	if _, err := h.c.TransferREC(h.ctx, common.HexToHash("0x01"), b, tok, 200); err != nil {
		t.Fatal(err)
	}
	// A retires first.Wh − 200 + 100: the rest of the first lot and 100
	// of the second.
	ret, err := h.c.Retire(h.ctx, RetireRequest{Token: tok, Wh: first.Wh - 200 + 100, Beneficiary: "Bakery Müller GmbH", Claim: "24/7 matching, Q1"})
	if err != nil {
		t.Fatal(err)
	}
	if ret.RetirementID != 1 {
		t.Fatalf("retirement id %d, want 1", ret.RetirementID)
	}
	// B cannot retire A's certificates: it holds only 200.
	cb := h.client(bKey)
	if _, err := cb.Retire(h.ctx, RetireRequest{Token: tok, Wh: 201, Beneficiary: "x"}); !isRevert(err, "ERC1155InsufficientBalance") {
		t.Fatalf("B retiring 201 Wh of A's: %v, want ERC1155InsufficientBalance", err)
	}
	// Nor through retireFrom without A's approval.
	if r := h.callErr(b, h.addrs.REC, h.c.rec.PackRetireFrom(a, tok.Big(), big.NewInt(1), "x", "")); r == nil || r.Name != "ERC1155MissingApprovalForAll" {
		t.Fatalf("retireFrom without approval: %v", r)
	}
	if _, err := cb.Retire(h.ctx, RetireRequest{Token: tok, Wh: 150, Beneficiary: "B's customer", Claim: ""}); err != nil {
		t.Fatal(err)
	}

	idx := NewMemIndex()
	if _, err := NewIndexer(h.sim.Backend(), idx, IndexerConfig{Contracts: h.addrs}).Sync(h.ctx); err != nil {
		t.Fatal(err)
	}
	l, err := BuildLedger(h.ctx, idx, h.sim.Backend(), h.c.RECDomain())
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Issuances) != 3 || l.Unattributed != 0 {
		t.Fatalf("%d issuances, %d Wh unattributed; want 3, 0", len(l.Issuances), l.Unattributed)
	}
	for _, iss := range l.Issuances {
		if !iss.Known || iss.Submitter != a || !slices.Equal(iss.Attestors, []common.Address{addr(h.attestors[0]), addr(h.attestors[2])}) || iss.BatchID != batch.BatchID {
			t.Errorf("issuance %+v: want known, submitter %s, attestors 0 and 2, batch %s", iss, a, batch.BatchID)
		}
	}
	type lot struct {
		dev         common.Hash
		first, last uint64
	}
	lots := func(cs []Certificate) []lot {
		var out []lot
		for _, c := range cs {
			out = append(out, lot{c.Issuance.Device, c.First, c.Last})
		}
		return out
	}
	// A keeps second.Wh − 100 of hour and the 50 Wh of hour+1.
	wantA := []lot{{second.Device, 100, second.Wh - 1}, {testDevice("pv-1"), 0, 49}}
	if got := lots(l.Holdings(a)); !slices.Equal(got, wantA) {
		t.Errorf("A holds %v, want %v", got, wantA)
	}
	if got, want := lots(l.Holdings(b)), []lot{{first.Device, 150, 199}}; !slices.Equal(got, want) {
		t.Errorf("B holds %v, want %v", got, want)
	}
	r1, ok := l.Retirement(1)
	if !ok || r1.Account != a || r1.Beneficiary != "Bakery Müller GmbH" || r1.Wh != first.Wh-100 {
		t.Fatalf("retirement 1: %+v %v", r1, ok)
	}
	if got, want := lots(r1.Certificates), []lot{{first.Device, 200, first.Wh - 1}, {second.Device, 0, 99}}; !slices.Equal(got, want) {
		t.Errorf("retirement 1 retired %v, want %v", got, want)
	}
	r2, _ := l.Retirement(2)
	if got, want := lots(r2.Certificates), []lot{{first.Device, 0, 149}}; r2.Account != b || !slices.Equal(got, want) {
		t.Errorf("retirement 2 by %s retired %v, want B, %v", r2.Account, got, want)
	}
	if _, ok := l.Retirement(3); ok {
		t.Error("retirement 3 exists")
	}

	st, ok := NewStatement(l, 1, h.c.ChainID(), h.addrs)
	if !ok {
		t.Fatal("no statement")
	}
	// Any reader of the chain over JSON-RPC gets the same statement.
	rpcH, err := h.sim.RPCHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ReadOnlyRPC(rpcH))
	defer srv.Close()
	ec, err := ethclient.DialContext(h.ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	remote, ok, err := StatementFromChain(h.ctx, ec, h.addrs.REC, h.addrs.DeployBlock, 1)
	if err != nil || !ok {
		t.Fatalf("statement over JSON-RPC: %v %v", ok, err)
	}
	if remote.Digest() != st.Digest() {
		t.Errorf("statement over JSON-RPC differs:\n%s\nlocal:\n%s", remote.Canonical(), st.Canonical())
	}
	if _, ok, err := StatementFromChain(h.ctx, ec, h.addrs.REC, h.addrs.DeployBlock, 9); ok || err != nil {
		t.Errorf("statement 9: %v %v, want none", ok, err)
	}
	// A changed statement has another digest.
	forged := st
	forged.Beneficiary = "Someone Else"
	if forged.Digest() == st.Digest() {
		t.Error("digest ignores the beneficiary")
	}
}

func isRevert(err error, name string) bool {
	var r *RevertError
	return errors.As(err, &r) && r.Name == name
}
