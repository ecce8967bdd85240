package chain

import (
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// TestStakeOfAt reads a stake as it was at a block after it changed, and
// refuses a block whose state the in-memory chain (path scheme, pruning:
// like a full node it keeps the last 128 blocks' state) no longer has.
func TestStakeOfAt(t *testing.T) {
	h := newHarness(t, 2, 3)
	me := addr(h.key)
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(100), Kind: RewardDelivery}})
	if _, err := h.c.Reward(h.ctx, rb, h.signReward(rb, 0, 1)); err != nil {
		t.Fatal(err)
	}
	first, err := h.c.Stake(h.ctx, common.Hash{1}, fx(40))
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.c.Stake(h.ctx, common.Hash{2}, fx(25))
	if err != nil {
		t.Fatal(err)
	}
	if first.Block >= second.Block {
		t.Fatalf("stakes in blocks %d and %d, want two blocks", first.Block, second.Block)
	}
	for _, tc := range []struct {
		block uint64
		want  *big.Int
	}{{first.Block - 1, new(big.Int)}, {first.Block, fx(40)}, {second.Block, fx(65)}} {
		got, err := h.c.StakeOfAt(h.ctx, me, tc.block)
		if err != nil || got.Cmp(tc.want) != 0 {
			t.Errorf("StakeOfAt(block %d) = %v, %v; want %v", tc.block, got, err, tc.want)
		}
	}
	if now, err := h.c.StakeOf(h.ctx, me); err != nil || now.Cmp(fx(65)) != 0 {
		t.Errorf("StakeOf = %v, %v; want %v", now, err, fx(65))
	}
	if _, err := h.c.StakeOfAt(h.ctx, me, h.sim.Head()+1000); !errors.Is(err, ErrStateUnavailable) {
		t.Errorf("StakeOfAt(a block above the head) = %v, want ErrStateUnavailable", err)
	}

	// Past the 128 recent states the in-memory chain keeps, the first
	// stake's block is pruned: an error, not today's stake.
	for h.sim.Head() < second.Block+200 {
		h.sim.Commit()
	}
	got, err := h.c.StakeOfAt(h.ctx, me, first.Block)
	if !errors.Is(err, ErrStateUnavailable) {
		t.Errorf("StakeOfAt(a pruned block) = %v, %v; want ErrStateUnavailable", got, err)
	}
	if got, err := h.c.StakeOfAt(h.ctx, me, h.sim.Head()); err != nil || got.Cmp(fx(65)) != 0 {
		t.Errorf("StakeOfAt(head) = %v, %v; want %v", got, err, fx(65))
	}
}

// TestStakeOfAtArchive: the embedded chain with a data dir (the node's)
// is an archive: a stake 200 blocks back is still read.
func TestStakeOfAtArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("an on-disk chain")
	}
	key := testKey("submitter")
	me := addr(key)
	sim, err := NewSimulated(SimulatedConfig{Dir: t.TempDir(), Alloc: types.GenesisAlloc{me: {Balance: SimulatedFunds}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	ctx := t.Context()
	a0, a1 := testKey("attestor0"), testKey("attestor1")
	addrs, err := Deploy(ctx, sim.Backend(), key, DeployConfig{Attestors: []common.Address{addr(a0), addr(a1)}, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(ctx, sim.Backend(), Config{Key: key, Contracts: addrs, Logger: testLogger(t), Sleep: fastSleep})
	if err != nil {
		t.Fatal(err)
	}
	rb := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(10), Kind: RewardDelivery}})
	var sigs [][]byte
	for _, k := range []*ecdsa.PrivateKey{a0, a1} {
		s, err := Sign(k, c.FLEXDomain().Digest(rb.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	if _, err := c.Reward(ctx, rb, sigs); err != nil {
		t.Fatal(err)
	}
	first, err := c.Stake(ctx, common.Hash{1}, fx(4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stake(ctx, common.Hash{2}, fx(2)); err != nil {
		t.Fatal(err)
	}
	for sim.Head() < first.Block+200 {
		sim.Commit()
	}
	if got, err := c.StakeOfAt(ctx, me, first.Block); err != nil || got.Cmp(fx(4)) != 0 {
		t.Errorf("StakeOfAt(block %d, 200 back) = %v, %v; want 4 FLEX", first.Block, got, err)
	}
}
