package settle

import (
	"context"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// RegistrySource reads the attestor registry (chain.Client satisfies it).
type RegistrySource interface {
	AttestorSet(ctx context.Context) (chain.AttestorSet, error)
}

// Attestors is the node's copy of the attestor registry: the set
// attestations are counted against and submitters are elected from. The
// engine refreshes it (Config.RegistryRefresh); the gossip layer asks it
// about every batch attestation (it satisfies p2p.AttestorSet), so reads
// are from memory. Safe for concurrent use.
type Attestors struct {
	src RegistrySource
	mu  sync.RWMutex
	set chain.AttestorSet
}

// NewAttestors returns an empty set that Refresh fills from src.
func NewAttestors(src RegistrySource) *Attestors { return &Attestors{src: src} }

// StaticAttestors is a set that never changes (tests, tools).
func StaticAttestors(set chain.AttestorSet) *Attestors {
	set.Attestors = slices.Clone(set.Attestors)
	return &Attestors{set: set}
}

// Refresh reads the registry again. On error the set read before stays.
func (a *Attestors) Refresh(ctx context.Context) error {
	if a.src == nil {
		return nil
	}
	set, err := a.src.AttestorSet(ctx)
	if err != nil {
		return gridmint.Errorf(gridmint.EUnavailable, "settle: attestor registry: %v", err)
	}
	if set.Threshold == 0 || int(set.Threshold) > len(set.Attestors) {
		return gridmint.Errorf(gridmint.EInternal, "settle: attestor registry: threshold %d of %d attestors", set.Threshold, len(set.Attestors))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.set = set
	return nil
}

// Set is the registry as last read.
func (a *Attestors) Set() chain.AttestorSet {
	a.mu.RLock()
	defer a.mu.RUnlock()
	s := a.set
	s.Attestors = slices.Clone(s.Attestors)
	return s
}

// IsAttestor reports whether addr is in the registry as last read.
func (a *Attestors) IsAttestor(addr common.Address) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return slices.Contains(a.set.Attestors, addr)
}
