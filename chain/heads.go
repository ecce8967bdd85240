package chain

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Heads reads block headers by number (nil: the head). Every Backend
// (bind.Backend) and *ethclient.Client has it.
type Heads interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// Block is one block's number, hash and timestamp.
type Block struct {
	Number uint64
	Hash   common.Hash
	Time   time.Time // the block's timestamp, whole seconds, UTC
}

func blockOf(h *types.Header) Block {
	return Block{Number: h.Number.Uint64(), Hash: h.Hash(), Time: time.Unix(int64(h.Time), 0).UTC()}
}

// FirstBlockAt finds the first block whose timestamp is at or after t
// among the blocks with at least confirmations blocks on top of them (a
// reorg deeper than that could change it). ok is false when no such
// block exists yet. from is a block number known to be before it (0:
// none known): the search starts there. Block timestamps never fall, so
// this is a binary search: about log2(blocks) header reads.
func FirstBlockAt(ctx context.Context, h Heads, t time.Time, confirmations, from uint64) (b Block, ok bool, err error) {
	head, err := h.HeaderByNumber(ctx, nil)
	if err != nil {
		return Block{}, false, fmt.Errorf("chain: head: %w", err)
	}
	n := head.Number.Uint64()
	if n < confirmations {
		return Block{}, false, nil
	}
	hi := n - confirmations
	at := func(num uint64) (*types.Header, error) {
		hd, err := h.HeaderByNumber(ctx, new(big.Int).SetUint64(num))
		if err != nil {
			return nil, fmt.Errorf("chain: block %d: %w", num, err)
		}
		return hd, nil
	}
	last, err := at(hi)
	if err != nil {
		return Block{}, false, err
	}
	target := t.Unix()
	if int64(last.Time) < target {
		return Block{}, false, nil
	}
	lo := min(from, hi)
	// Invariant: block hi is at or after t; the answer is in [lo, hi].
	found := last
	for lo < hi {
		mid := lo + (hi-lo)/2
		hd, err := at(mid)
		if err != nil {
			return Block{}, false, err
		}
		if int64(hd.Time) >= target {
			hi, found = mid, hd
		} else {
			lo = mid + 1
		}
	}
	if found.Number.Uint64() != hi {
		if found, err = at(hi); err != nil {
			return Block{}, false, err
		}
	}
	return blockOf(found), true, nil
}

// FLEXGenesis is the FLEX contract's genesis (its deployment block's
// time): epoch e of the availability emission cap is [genesis + e·1 d,
// genesis + (e+1)·1 d).
func (c *Client) FLEXGenesis(ctx context.Context) (time.Time, error) {
	g, err := call(ctx, c, c.Contracts().FLEX, c.flex.PackGenesis(), c.flex.UnpackGenesis)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(g.Int64(), 0).UTC(), nil
}

// FLEXEpoch is the FLEX contract's EPOCH: the availability cap's period.
const FLEXEpoch = 24 * time.Hour

// FollowClock seals an empty block stamped with the clock's time (less a
// second) when the head is behind it. A chain that seals only on
// transactions (this one, geth --dev) may have no block for a long time
// on a quiet network; a demo calls this every few minutes of its clock so
// that, as on a chain with a block time, there is soon a block at or
// after any moment (proof-of-flexibility seeds wait for one).
func (s *Simulated) FollowClock() { s.catchUpForEstimate() }
