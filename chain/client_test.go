package chain

import (
	"errors"
	"testing"
)

// An account without ETH gets a clear error, nothing is left in flight,
// and the same batch goes through once the account is funded.
func TestNoFundsIsAClearError(t *testing.T) {
	h := newHarness(t, 1, 1)
	poor := h.client(testKey("poor"))
	b := NewIssueBatch([]Claim{claim("x", addr(h.key), h.pastHour(3), 10)})
	_, err := poor.Issue(h.ctx, b, h.signIssue(b, 0))
	var fe *InsufficientFundsError
	if !errors.Is(err, ErrInsufficientFunds) || !errors.As(err, &fe) || fe.Account != poor.Address() || fe.Have.Sign() != 0 || fe.Need.Sign() <= 0 {
		t.Fatalf("Issue from an empty account: %v, want InsufficientFundsError", err)
	}
	in, ok, _ := poor.intents.Intent(h.ctx, IntentID(OpIssue, b.BatchID))
	if !ok || in.State != IntentFailed || len(in.Txs) != 0 {
		t.Errorf("intent %+v, want failed with no transaction", in)
	}
	if err := sendETH(h, poor.Address()); err != nil {
		t.Fatal(err)
	}
	if r, err := poor.Issue(h.ctx, b, h.signIssue(b, 0)); err != nil || r.AlreadyDone {
		t.Errorf("Issue once funded: %+v, %v", r, err)
	}
}
