package chain

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
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
