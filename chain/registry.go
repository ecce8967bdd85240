package chain

import (
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// AttestorSet is the attestor registry's state at one block: who may
// attest and how many must (k).
type AttestorSet struct {
	// Attestors in the order they were registered.
	Attestors []common.Address
	// K is the threshold: signatures by distinct attestors a batch needs.
	K uint64
	// Block is the block the set was read at.
	Block uint64
}

// Contains reports whether a is a registered attestor.
func (s AttestorSet) Contains(a common.Address) bool { return slices.Contains(s.Attestors, a) }

// registryLogChunk is the most blocks asked for in one eth_getLogs when
// reading the registry (providers cap the range).
const registryLogChunk = 10_000

// Attestors reads the attestor registry as of the latest block. The
// contract keeps a membership mapping, not a list, so the list is rebuilt
// from its AttestorAdded and AttestorRemoved events since DeployBlock:
// one eth_getLogs per 10,000 blocks, cheap on the embedded chain; callers
// cache it (node/settle refreshes it every minute).
func (c *Client) Attestors(ctx context.Context) (AttestorSet, error) {
	addrs := c.Contracts()
	if addrs.Registry == (common.Address{}) {
		return AttestorSet{}, fmt.Errorf("chain: contracts not set: Deploy first or set Config.Contracts")
	}
	head, err := retry(ctx, c, "block number", func() (uint64, error) { return c.be.BlockNumber(ctx) })
	if err != nil {
		return AttestorSet{}, fmt.Errorf("chain: block number: %w", err)
	}
	added, removed := registryABI.Events["AttestorAdded"].ID, registryABI.Events["AttestorRemoved"].ID
	var set []common.Address
	for from := addrs.DeployBlock; from <= head; from += registryLogChunk {
		to := min(from+registryLogChunk-1, head)
		logs, err := retry(ctx, c, "registry logs", func() ([]types.Log, error) {
			return c.be.FilterLogs(ctx, ethereum.FilterQuery{
				FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
				Addresses: []common.Address{addrs.Registry}, Topics: [][]common.Hash{{added, removed}},
			})
		})
		if err != nil {
			return AttestorSet{}, fmt.Errorf("chain: registry logs %d-%d: %w", from, to, err)
		}
		// Logs come in chain order (block, then index) from every node.
		for i := range logs {
			l := &logs[i]
			switch l.Topics[0] {
			case added:
				ev, err := c.reg.UnpackAttestorAddedEvent(l)
				if err != nil {
					return AttestorSet{}, fmt.Errorf("chain: registry log in block %d: %w", l.BlockNumber, err)
				}
				if !slices.Contains(set, ev.Attestor) {
					set = append(set, ev.Attestor)
				}
			case removed:
				ev, err := c.reg.UnpackAttestorRemovedEvent(l)
				if err != nil {
					return AttestorSet{}, fmt.Errorf("chain: registry log in block %d: %w", l.BlockNumber, err)
				}
				set = slices.DeleteFunc(set, func(a common.Address) bool { return a == ev.Attestor })
			}
		}
	}
	at := new(big.Int).SetUint64(head)
	out, err := retry(ctx, c, "call", func() ([]byte, error) {
		return c.be.CallContract(ctx, ethereum.CallMsg{From: c.from, To: &addrs.Registry, Data: c.reg.PackThreshold()}, at)
	})
	if err != nil {
		return AttestorSet{}, fmt.Errorf("chain: registry threshold: %w", err)
	}
	k, err := c.reg.UnpackThreshold(out)
	if err != nil {
		return AttestorSet{}, fmt.Errorf("chain: registry threshold: %w", err)
	}
	if !k.IsUint64() {
		return AttestorSet{}, fmt.Errorf("chain: registry threshold %v out of range", k)
	}
	return AttestorSet{Attestors: set, K: k.Uint64(), Block: head}, nil
}

// Rewarded reports whether the reward batch is minted.
func (c *Client) Rewarded(ctx context.Context, batchID common.Hash) (bool, error) {
	return call(ctx, c, c.Contracts().FLEX, c.flex.PackRewarded(batchID), c.flex.UnpackRewarded)
}
