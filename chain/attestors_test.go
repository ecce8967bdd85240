package chain

import (
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint/chain/bindings/registry"
)

// AttestorSet follows the registry's additions, removals and threshold.
func TestAttestorSetFollowsTheRegistry(t *testing.T) {
	h := newHarness(t, 2, 3)
	want := []common.Address{addr(h.attestors[0]), addr(h.attestors[1]), addr(h.attestors[2])}
	got, err := h.c.AttestorSet(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Attestors, want) || got.Threshold != 2 || got.Block == 0 {
		t.Fatalf("after deployment: %v k=%d at %d; want %v k=2", got.Attestors, got.Threshold, got.Block, want)
	}

	rg := registry.NewAttestorRegistry()
	newcomer := addr(testKey("newcomer"))
	admin := func(label string, data []byte) {
		t.Helper()
		if _, err := h.c.submit(h.ctx, op{kind: "test-admin", ref: crypto.Keccak256Hash([]byte(label)), to: h.addrs.Registry, data: data}); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
	}
	admin("add", rg.PackAddAttestor(newcomer))
	admin("remove", rg.PackRemoveAttestor(want[1]))
	admin("threshold", rg.PackSetThreshold(big.NewInt(3)))

	got, err = h.c.AttestorSet(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = []common.Address{want[0], want[2], newcomer}
	if !slices.Equal(got.Attestors, want) || got.Threshold != 3 {
		t.Fatalf("after add, remove, threshold: %v k=%d; want %v k=3", got.Attestors, got.Threshold, want)
	}
	if !got.Has(newcomer) || got.Has(addr(h.attestors[1])) {
		t.Errorf("Has: newcomer %v (want true), removed %v (want false)", got.Has(newcomer), got.Has(addr(h.attestors[1])))
	}
}

// Rewarded turns true once the reward batch is minted.
func TestRewardedView(t *testing.T) {
	h := newHarness(t, 1, 1)
	b := NewRewardBatch([]Reward{{RecordID: common.Hash{7}, Provider: addr(testKey("provider")), Amount: big.NewInt(5), Kind: RewardDelivery}})
	done, err := h.c.Rewarded(h.ctx, b.BatchID)
	if err != nil || done {
		t.Fatalf("before: Rewarded = %v, %v; want false", done, err)
	}
	if _, err := h.c.Reward(h.ctx, b, h.signReward(b, 0)); err != nil {
		t.Fatal(err)
	}
	if done, err = h.c.Rewarded(h.ctx, b.BatchID); err != nil || !done {
		t.Fatalf("after: Rewarded = %v, %v; want true", done, err)
	}
}
