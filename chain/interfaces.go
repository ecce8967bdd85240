package chain

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// The shapes of the client's operations. Consumers declare the subset
// they use (the node's REC service needs an Issuer, its flexibility
// service a Reserver and a Rewarder, the API a Retirer and an Index);
// *Client satisfies them all.

// Issuer issues attested batches of REC claims.
type Issuer interface {
	Issue(ctx context.Context, b IssueBatch, sigs [][]byte) (*Receipt, error)
}

// Retirer retires certificates.
type Retirer interface {
	Retire(ctx context.Context, r RetireRequest) (*Retirement, error)
}

// Reserver burns FLEX to reserve a request's awards.
type Reserver interface {
	Reserve(ctx context.Context, requestID, awardsRoot common.Hash, amount *big.Int) (*Receipt, error)
}

// Rewarder mints attested FLEX rewards.
type Rewarder interface {
	Reward(ctx context.Context, b RewardBatch, sigs [][]byte) (*Receipt, error)
}

// Indexed answers balance and history queries (Index satisfies it).
type Indexed interface {
	Balances(ctx context.Context, account common.Address) (Balances, error)
	History(ctx context.Context, account common.Address, limit int) ([]Event, error)
}

var (
	_ Issuer   = (*Client)(nil)
	_ Retirer  = (*Client)(nil)
	_ Reserver = (*Client)(nil)
	_ Rewarder = (*Client)(nil)
	_ Indexed  = Index{}
)
