package chain

import (
	"context"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// Backend is what the client needs of a chain, in go-ethereum's terms:
// bind.Backend (calls, gas estimation and prices, sending, receipts, logs)
// plus the chain id, account state and a block's receipts (to find a
// transaction without the node's transaction index, which a restarted
// node may still be rebuilding). *ethclient.Client and the embedded
// chain's Backend satisfy it.
type Backend interface {
	bind.Backend
	ethereum.ChainIDReader
	ethereum.ChainStateReader
	ethereum.BlockNumberReader
	BlockReceipts(ctx context.Context, block rpc.BlockNumberOrHash) ([]*types.Receipt, error)
}
