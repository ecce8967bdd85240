package chain

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// AttestorSet is the attestor registry as of one block: the registered
// attestors (node addresses), in the order they were added, and the
// threshold k: a batch counts only with signatures of k distinct
// registered attestors (the contract's verify).
type AttestorSet struct {
	Attestors []common.Address
	Threshold uint64
	// Block is the block the set was read at.
	Block uint64
}

// Has reports whether a is a registered attestor of the set.
func (s AttestorSet) Has(a common.Address) bool { return slices.Contains(s.Attestors, a) }

// attestorLogChunk bounds one eth_getLogs range, as public endpoints do.
const attestorLogChunk = 10_000

// attestorCache is the attestor list from the registry's AttestorAdded and
// AttestorRemoved events up to block upTo; the zero value is empty.
// Client.attestorsMu guards it.
type attestorCache struct {
	registry common.Address
	upTo     uint64 // last block scanned; valid when scanned
	scanned  bool
	list     []common.Address
}

// AttestorSet reads the registry: its attestors (from its events since
// the deployment block, checked against attestorCount) and threshold,
// at the current head. Later calls read only the blocks since the last.
func (c *Client) AttestorSet(ctx context.Context) (AttestorSet, error) {
	addrs := c.Contracts()
	if addrs.Registry == (common.Address{}) {
		return AttestorSet{}, errors.New("chain: attestor set: no registry deployed")
	}
	head, err := retry(ctx, c, "block number", func() (uint64, error) { return c.be.BlockNumber(ctx) })
	if err != nil {
		return AttestorSet{}, fmt.Errorf("chain: attestor set: %w", err)
	}
	at := new(big.Int).SetUint64(head)
	readUint := func(data []byte, unpack func([]byte) (*big.Int, error)) (uint64, error) {
		out, err := retry(ctx, c, "call", func() ([]byte, error) {
			return c.be.CallContract(ctx, ethereum.CallMsg{From: c.from, To: &addrs.Registry, Data: data}, at)
		})
		if err != nil {
			return 0, err
		}
		v, err := unpack(out)
		if err != nil {
			return 0, err
		}
		if !v.IsUint64() {
			return 0, fmt.Errorf("value %v out of range", v)
		}
		return v.Uint64(), nil
	}
	k, err := readUint(c.reg.PackThreshold(), c.reg.UnpackThreshold)
	if err != nil {
		return AttestorSet{}, fmt.Errorf("chain: attestor set: threshold: %w", err)
	}
	n, err := readUint(c.reg.PackAttestorCount(), c.reg.UnpackAttestorCount)
	if err != nil {
		return AttestorSet{}, fmt.Errorf("chain: attestor set: attestor count: %w", err)
	}
	c.attestorsMu.Lock()
	defer c.attestorsMu.Unlock()
	ac := &c.attestors
	if ac.registry != addrs.Registry || (ac.scanned && ac.upTo > head) {
		*ac = attestorCache{registry: addrs.Registry} // another registry, or the chain went back
	}
	for pass := 0; ; pass++ {
		if err := c.scanAttestors(ctx, addrs, head); err != nil {
			return AttestorSet{}, err
		}
		if uint64(len(ac.list)) == n {
			break
		}
		if pass > 0 {
			return AttestorSet{}, fmt.Errorf("chain: attestor set: %d attestors in the registry's events, attestorCount says %d", len(ac.list), n)
		}
		// A reorg changed what was scanned: read the events again.
		*ac = attestorCache{registry: addrs.Registry}
	}
	return AttestorSet{Attestors: slices.Clone(ac.list), Threshold: k, Block: head}, nil
}

// scanAttestors applies the registry's events of the blocks after the
// cache's up to head (c.attestorsMu held).
func (c *Client) scanAttestors(ctx context.Context, addrs Addresses, head uint64) error {
	ac := &c.attestors
	from := addrs.DeployBlock
	if ac.scanned {
		from = ac.upTo + 1
	}
	added, removed := registryABI.Events["AttestorAdded"].ID, registryABI.Events["AttestorRemoved"].ID
	for from <= head {
		to := min(from+attestorLogChunk-1, head)
		logs, err := retry(ctx, c, "logs", func() ([]types.Log, error) {
			return c.be.FilterLogs(ctx, ethereum.FilterQuery{
				FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
				Addresses: []common.Address{addrs.Registry}, Topics: [][]common.Hash{{added, removed}},
			})
		})
		if err != nil {
			return fmt.Errorf("chain: attestor set: logs %d-%d: %w", from, to, err)
		}
		slices.SortFunc(logs, func(a, b types.Log) int {
			if a.BlockNumber != b.BlockNumber {
				return cmp.Compare(a.BlockNumber, b.BlockNumber)
			}
			return cmp.Compare(a.Index, b.Index)
		})
		for _, l := range logs {
			if l.Removed || len(l.Topics) < 2 {
				continue
			}
			a := common.BytesToAddress(l.Topics[1].Bytes())
			switch l.Topics[0] {
			case added:
				if !slices.Contains(ac.list, a) {
					ac.list = append(ac.list, a)
				}
			case removed:
				ac.list = slices.DeleteFunc(ac.list, func(x common.Address) bool { return bytes.Equal(x[:], a[:]) })
			}
		}
		ac.upTo, ac.scanned = to, true
		from = to + 1
	}
	return nil
}

// IsAttestor reports whether a is a registered attestor now: only their
// signatures make a batch count.
func (c *Client) IsAttestor(ctx context.Context, a common.Address) (bool, error) {
	reg := c.Contracts().Registry
	if reg == (common.Address{}) {
		return false, errors.New("chain: is attestor: no registry deployed")
	}
	return call(ctx, c, reg, c.reg.PackIsAttestor(a), c.reg.UnpackIsAttestor)
}

// CheckContracts verifies that the configured contracts exist: code at
// each address. A node pointed at another chain (or at a chain restarted
// from scratch) finds none and must not start.
func (c *Client) CheckContracts(ctx context.Context) error {
	a := c.Contracts()
	for _, ct := range []struct {
		name string
		at   common.Address
	}{{"registry", a.Registry}, {"rec", a.REC}, {"flex", a.FLEX}} {
		code, err := retry(ctx, c, "code", func() ([]byte, error) { return c.be.CodeAt(ctx, ct.at, nil) })
		if err != nil {
			return fmt.Errorf("chain: contract %s at %s: %w", ct.name, ct.at, err)
		}
		if len(code) == 0 {
			return fmt.Errorf("chain: no contract at %s (contracts.%s) on chain %s: the addresses belong to another chain, or this chain was started afresh", ct.at, ct.name, c.chainID)
		}
	}
	return nil
}
