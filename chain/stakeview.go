package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
)

// StakeOf is provider's slashable stake, FLEX base units: bonded plus
// unbonding, as the FLEX contract's slash computes a share from.
func (c *Client) StakeOf(ctx context.Context, provider common.Address) (*big.Int, error) {
	return c.stakeOf(ctx, provider, nil)
}

// ErrStateUnavailable is matched (errors.Is) by a read at a block whose
// state the endpoint no longer keeps (a pruning full node keeps about
// the last 128 blocks' state; an archive node and the embedded chain
// with a data dir keep all) or does not have yet (a block above its head).
var ErrStateUnavailable = errors.New("chain: state at that block is not available")

// StakeOfAt is provider's slashable stake (FLEX base units, bonded plus
// unbonding) in the state after block: what every node reads alike,
// however late it asks, as long as the endpoint keeps that state. A
// pruned or future block's state is an error matching
// ErrStateUnavailable: the caller must not substitute today's stake.
func (c *Client) StakeOfAt(ctx context.Context, provider common.Address, block uint64) (*big.Int, error) {
	st, err := c.stakeOf(ctx, provider, new(big.Int).SetUint64(block))
	if err != nil && stateUnavailable(err) {
		return nil, fmt.Errorf("%w: block %d: %v", ErrStateUnavailable, block, err)
	}
	return st, err
}

func (c *Client) stakeOf(ctx context.Context, provider common.Address, block *big.Int) (*big.Int, error) {
	to := c.Contracts().FLEX
	data := c.flex.PackStakes(provider)
	out, err := retry(ctx, c, "call", func() ([]byte, error) {
		return c.be.CallContract(ctx, ethereum.CallMsg{From: c.from, To: &to, Data: data}, block)
	})
	if err != nil {
		if r := revertOf(err); r != nil {
			return nil, r
		}
		return nil, err
	}
	st, err := c.flex.UnpackStakes(out)
	if err != nil {
		return nil, err
	}
	return new(big.Int).Add(orZero(st.Bonded), orZero(st.Unbonding)), nil
}

// stateUnavailable recognises go-ethereum's answers for state it does
// not keep (path scheme: "historical state … is not available", hash
// scheme: "missing trie node"; an unknown block: "header not found"),
// which come back as plain strings over JSON-RPC.
func stateUnavailable(err error) bool {
	s := strings.ToLower(err.Error())
	for _, p := range []string{"is not available", "missing trie node", "header not found", "unknown block", "required historical state unavailable"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
