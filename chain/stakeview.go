package chain

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// StakeOf is provider's slashable stake, FLEX base units: bonded plus
// unbonding, as the FLEX contract's slash computes a share from.
func (c *Client) StakeOf(ctx context.Context, provider common.Address) (*big.Int, error) {
	st, err := call(ctx, c, c.Contracts().FLEX, c.flex.PackStakes(provider), c.flex.UnpackStakes)
	if err != nil {
		return nil, err
	}
	return new(big.Int).Add(orZero(st.Bonded), orZero(st.Unbonding)), nil
}
