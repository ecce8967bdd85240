package chain

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

func fx(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// Every revert path, through the Go bindings: each case packs a call with
// the generated binding, runs it (eth_call) from an account and checks the
// decoded custom error.
func TestRevertPaths(t *testing.T) {
	alice := testKey("alice")
	h := newHarness(t, 2, 3, addr(alice))
	me := addr(h.key)
	hour := h.pastHour(20)
	issued := NewIssueBatch([]Claim{claim("pv1", me, hour, 1000), claim("pv2", me, hour, 500)})
	if _, err := h.c.Issue(h.ctx, issued, h.signIssue(issued, 0, 1)); err != nil {
		t.Fatal(err)
	}
	rewarded := NewRewardBatch([]Reward{{RecordID: crypto.Keccak256Hash([]byte("rec1")), Provider: me, Amount: fx(100), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rewarded, h.signReward(rewarded, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Stake(h.ctx, crypto.Keccak256Hash([]byte("stake")), fx(40)); err != nil {
		t.Fatal(err)
	}
	token := TokenID{Zone: zoneDE, Technology: TechnologySolarPV, Hour: hour}
	next := NewIssueBatch([]Claim{claim("pv3", me, hour, 10)})
	nextSigs := h.signIssue(next, 0, 1)
	outsider := testKey("outsider")
	outsiderSig, _ := Sign(outsider, h.c.RECDomain().Digest(next.StructHash()))
	malformed := append([]byte{}, nextSigs[0]...)
	malformed[64] = 29
	highS := append([]byte{}, nextSigs[0]...)
	n := crypto.S256().Params().N
	copy(highS[32:64], common.LeftPadBytes(new(big.Int).Sub(n, new(big.Int).SetBytes(highS[32:64])).Bytes(), 32))
	highS[64] ^= 1 // 27 <-> 28: the same signer, malleated

	rc, fl, rg := h.c.rec, h.c.flex, h.c.reg
	issue := func(b IssueBatch, sigs [][]byte) []byte { return rc.PackIssue(recBatch(b), sigs) }
	reward := func(b RewardBatch, sigs [][]byte) []byte { return fl.PackReward(flexBatch(b), sigs) }
	withID := func(b IssueBatch, id common.Hash) IssueBatch { b.BatchID = id; return b }
	tampered := next
	tampered.Claims = []Claim{claim("pv3", me, hour, 11)}
	tampered = NewIssueBatch(tampered.Claims)
	hwm := NewIssueBatch([]Claim{claim("pv1", me, hour, 7)})
	earlier := NewIssueBatch([]Claim{claim("pv1", me, hour-1, 7)})
	future := NewIssueBatch([]Claim{claim("pv4", me, hour+25, 7)})
	longZone := claim("pv5", me, hour, 7)
	copy(longZone.Zone[:], "ABCDEFGHIJKLMNOPQRSTUVWX") // 24 bytes
	badZone := NewIssueBatch([]Claim{longZone})
	// A claim of attestor 0's own node: k = 2 signers including it leave
	// one attestor vouching for it.
	ownClaim := claim("pv6", me, hour, 7)
	ownClaim.Node = addr(h.attestors[0])
	selfAttested := NewIssueBatch([]Claim{ownClaim})
	reused := NewRewardBatch([]Reward{{RecordID: crypto.Keccak256Hash([]byte("rec1")), Provider: me, Amount: fx(1), Kind: RewardDelivery, Evidence: common.Hash{1}}})
	badKind := NewRewardBatch([]Reward{{RecordID: crypto.Keccak256Hash([]byte("rec2")), Provider: me, Amount: fx(1), Kind: 7}})
	overCap := NewRewardBatch([]Reward{{RecordID: crypto.Keccak256Hash([]byte("rec3")), Provider: me, Amount: fx(10_001), Kind: RewardAvailability}})
	slash := Slash{RecordID: crypto.Keccak256Hash([]byte("slash1")), Provider: me, Award: crypto.Keccak256Hash([]byte("award1")),
		AwardPrice: fx(50), WindowValue: fx(40), Amount: fx(1), Evidence: common.Hash{2}} // an award worth more than the window
	slashSigs := h.sign(h.c.FLEXDomain().Digest(slash.StructHash()), 0, 1)

	for _, tc := range []struct {
		name string
		from common.Address
		to   common.Address
		data []byte
		want string
	}{
		{"forged signature (over another batch)", me, h.addrs.REC, issue(tampered, nextSigs), "UnregisteredAttestor"},
		{"unregistered attestor", me, h.addrs.REC, issue(next, [][]byte{nextSigs[0], outsiderSig}), "UnregisteredAttestor"},
		{"malformed signature", me, h.addrs.REC, issue(next, [][]byte{malformed, nextSigs[1]}), "InvalidSignature"},
		{"high-s signature", me, h.addrs.REC, issue(next, [][]byte{highS, nextSigs[1]}), "InvalidSignature"},
		{"short signature", me, h.addrs.REC, issue(next, [][]byte{nextSigs[0][:64], nextSigs[1]}), "InvalidSignature"},
		{"below threshold", me, h.addrs.REC, issue(next, nextSigs[:1]), "BelowThreshold"},
		{"same attestor twice", me, h.addrs.REC, issue(next, [][]byte{nextSigs[0], nextSigs[0]}), "DuplicateAttestor"},
		{"replayed batch", me, h.addrs.REC, issue(issued, h.signIssue(issued, 0, 1)), "BatchAlreadyIssued"},
		{"high-water mark: same hour in a new batch", me, h.addrs.REC, issue(hwm, h.signIssue(hwm, 0, 1)), "HourAlreadyIssued"},
		{"high-water mark: earlier hour", me, h.addrs.REC, issue(earlier, h.signIssue(earlier, 0, 1)), "HourAlreadyIssued"},
		{"batch id not the claims' hash", me, h.addrs.REC, issue(withID(next, common.Hash{9}), nextSigs), "BatchIdMismatch"},
		{"empty batch", me, h.addrs.REC, issue(IssueBatch{BatchID: crypto.Keccak256Hash()}, nextSigs), "EmptyBatch"},
		{"hour not ended", me, h.addrs.REC, issue(future, h.signIssue(future, 0, 1)), "HourNotEnded"},
		{"zone longer than 23 bytes", me, h.addrs.REC, issue(badZone, h.signIssue(badZone, 0, 1)), "InvalidZone"},
		{"the claiming node among exactly k signers", me, h.addrs.REC, issue(selfAttested, h.signIssue(selfAttested, 0, 1)), "SelfAttested"},
		{"retire more than owned", me, h.addrs.REC, rc.PackRetire(token.Big(), big.NewInt(1501), "ACME", "claim"), "ERC1155InsufficientBalance"},
		{"retire tokens one does not hold", addr(alice), h.addrs.REC, rc.PackRetire(token.Big(), big.NewInt(1), "ACME", "claim"), "ERC1155InsufficientBalance"},
		{"retire someone else's tokens", addr(alice), h.addrs.REC, rc.PackRetireFrom(me, token.Big(), big.NewInt(1), "ACME", "claim"), "ERC1155MissingApprovalForAll"},
		{"retire zero", me, h.addrs.REC, rc.PackRetire(token.Big(), big.NewInt(0), "ACME", "claim"), "ZeroAmount"},
		{"retire without beneficiary", me, h.addrs.REC, rc.PackRetire(token.Big(), big.NewInt(1), "", "claim"), "EmptyBeneficiary"},
		{"transfer someone else's tokens", addr(alice), h.addrs.REC, rc.PackSafeTransferFrom(me, addr(alice), token.Big(), big.NewInt(1), nil), "ERC1155MissingApprovalForAll"},
		{"reserve without balance", addr(alice), h.addrs.FLEX, fl.PackReserve(common.Hash{1}, common.Hash{2}, fx(1)), "ERC20InsufficientBalance"},
		{"reserve more than the balance", me, h.addrs.FLEX, fl.PackReserve(common.Hash{1}, common.Hash{2}, fx(61)), "ERC20InsufficientBalance"},
		{"reserve zero", me, h.addrs.FLEX, fl.PackReserve(common.Hash{1}, common.Hash{2}, big.NewInt(0)), "ZeroAmount"},
		{"record id reused", me, h.addrs.FLEX, reward(reused, h.signReward(reused, 0, 1)), "RecordUsed"},
		{"reward batch replayed", me, h.addrs.FLEX, reward(rewarded, h.signReward(rewarded, 0, 1)), "BatchAlreadyRewarded"},
		{"reward below threshold", me, h.addrs.FLEX, reward(badKind, h.signReward(badKind, 2)), "BelowThreshold"},
		{"unknown reward kind", me, h.addrs.FLEX, reward(badKind, h.signReward(badKind, 0, 1)), "InvalidKind"},
		{"availability over the epoch cap", me, h.addrs.FLEX, reward(overCap, h.signReward(overCap, 1, 2)), "EmissionCapExceeded"},
		{"slash of an award worth more than its window", me, h.addrs.FLEX, fl.PackSlash(flexSlash(slash), slashSigs), "InvalidShare"},
		{"unstake more than staked", me, h.addrs.FLEX, fl.PackRequestUnstake(fx(41)), "InsufficientStake"},
		{"withdraw before unbonding", me, h.addrs.FLEX, fl.PackWithdraw(), "NotUnlocked"},
		{"registry: not the owner", addr(alice), h.addrs.Registry, rg.PackAddAttestor(addr(alice)), "OwnableUnauthorizedAccount"},
		{"registry: n below k", me, h.addrs.Registry, rg.PackSetThreshold(big.NewInt(4)), "InvalidThreshold"},
		{"registry: k = 0", me, h.addrs.Registry, rg.PackSetThreshold(big.NewInt(0)), "InvalidThreshold"},
		{"registry: attestor twice", me, h.addrs.Registry, rg.PackAddAttestor(addr(h.attestors[0])), "AlreadyAttestor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := h.callErr(tc.from, tc.to, tc.data)
			if got == nil {
				t.Fatalf("call succeeded, want revert %s", tc.want)
			}
			if got.Name != tc.want {
				t.Errorf("revert %v, want %s", got, tc.want)
			}
		})
	}

	// The same through the client: the estimate reverts, nothing is
	// recorded as sent, and the error is typed.
	_, err := h.c.Issue(h.ctx, next, nextSigs[:1])
	var rv *RevertError
	if !errors.As(err, &rv) || rv.Name != "BelowThreshold" {
		t.Errorf("client Issue below threshold: %v, want RevertError BelowThreshold", err)
	}
	if in, ok, _ := h.c.intents.Intent(h.ctx, IntentID(OpIssue, next.BatchID)); ok {
		t.Errorf("a refused batch left an intent: %+v", in)
	}
	if _, err := h.c.Issue(h.ctx, next, nextSigs); err != nil {
		t.Errorf("the valid batch after a refused try: %v", err)
	}
	// With k others besides the claiming node, its own signature is
	// harmless: the claim is issued.
	if _, err := h.c.Issue(h.ctx, selfAttested, h.signIssue(selfAttested, 0, 1, 2)); err != nil {
		t.Errorf("a claim with k signers besides its node: %v", err)
	}
}

func TestSlashBoundedByAwardShare(t *testing.T) {
	h := newHarness(t, 2, 3)
	me := addr(h.key)
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(100), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.c.Stake(h.ctx, common.Hash{1}, fx(40)); err != nil {
		t.Fatal(err)
	}
	// Four awards of 10 in one window of 40: each may take at most a
	// quarter of the stake left when it is slashed. The attestors compute
	// each amount from the stake at the award's reservation block (40);
	// an amount above the share left is capped to it, not refused, so a
	// slash that lands after another still takes its (smaller) share.
	slashOf := func(award string, amount *big.Int) Slash {
		return Slash{RecordID: crypto.Keccak256Hash([]byte("s" + award)), Provider: me, Award: crypto.Keccak256Hash([]byte(award)),
			AwardPrice: fx(10), WindowValue: fx(40), Amount: amount}
	}
	half := func(v *big.Int) *big.Int { return new(big.Int).Div(v, big.NewInt(2)) }
	stake := fx(40)
	for _, tc := range []struct {
		award  string
		amount *big.Int
		burn   *big.Int // nil: refused with want
		want   string
	}{
		{"a1", fx(10), fx(10), ""},                                      // share 40 × 1/4 = 10
		{"a2", fx(10), half(fx(15)), ""},                                // share 30 × 1/4 = 7.5: capped
		{"a3", fx(1), fx(1), ""},                                        // share 22.5 × 1/4 = 5.625: within
		{"a2", fx(1), nil, "AwardAlreadySlashed"},                       // another record for a2
		{"a4", fx(40), new(big.Int).Div(fx(2150), big.NewInt(400)), ""}, // share 21.5 × 1/4 = 5.375
	} {
		s := slashOf(tc.award, tc.amount)
		if tc.want == "AwardAlreadySlashed" {
			s.RecordID = crypto.Keccak256Hash([]byte("another record"))
		}
		rc, err := h.c.Slash(h.ctx, s, h.sign(h.c.FLEXDomain().Digest(s.StructHash()), 0, 2))
		if tc.want != "" {
			if !IsRevert(err, tc.want) {
				t.Errorf("slash %s %v: %v, want %s", tc.award, tc.amount, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("slash %s %v: %v", tc.award, tc.amount, err)
		}
		full, err := h.sim.Backend().TransactionReceipt(h.ctx, rc.TxHash)
		if err != nil {
			t.Fatal(err)
		}
		var burned *big.Int
		for _, l := range full.Logs {
			if ev, err := h.c.flex.UnpackSlashedEvent(l); err == nil {
				burned = ev.Amount
			}
		}
		if burned == nil || burned.Cmp(tc.burn) != 0 {
			t.Errorf("slash %s of %v burned %v, want %v", tc.award, tc.amount, burned, tc.burn)
		}
		stake.Sub(stake, tc.burn)
	}
	st, err := call(h.ctx, h.c, h.addrs.FLEX, h.c.flex.PackStakes(me), h.c.flex.UnpackStakes)
	if err != nil || st.Bonded.Cmp(stake) != 0 {
		t.Errorf("stake after slashes %v (%v), want %v", st.Bonded, err, stake)
	}
	// The window's four slashes took less than the stake.
	if stake.Sign() <= 0 {
		t.Errorf("stake left %v: one window's slashes took it all", stake)
	}
}
