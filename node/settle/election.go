package settle

import (
	"bytes"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Order is the submission order of a batch: the registry's attestors
// sorted by keccak256(batch id ‖ address) (ties, which need a hash
// collision, by address). Order[0] is the elected submitter, Order[i] the
// i-th fallback. Every node computes the same order from the same batch
// id and attestor set, whatever order it lists the set in; hashing with
// the batch id spreads the submissions (and their gas) over the
// attestors. Duplicates in attestors are dropped.
func Order(batchID common.Hash, attestors []common.Address) []common.Address {
	type ranked struct {
		a common.Address
		h common.Hash
	}
	rs := make([]ranked, 0, len(attestors))
	for _, a := range attestors {
		if slices.ContainsFunc(rs, func(r ranked) bool { return r.a == a }) {
			continue
		}
		rs = append(rs, ranked{a, crypto.Keccak256Hash(batchID[:], a[:])})
	}
	slices.SortFunc(rs, func(x, y ranked) int {
		if c := bytes.Compare(x.h[:], y.h[:]); c != 0 {
			return c
		}
		return bytes.Compare(x.a[:], y.a[:])
	})
	out := make([]common.Address, len(rs))
	for i, r := range rs {
		out[i] = r.a
	}
	return out
}

// Rank is a's place in Order(batchID, attestors), -1 if a is not an
// attestor (and so never submits).
func Rank(batchID common.Hash, attestors []common.Address, a common.Address) int {
	return slices.Index(Order(batchID, attestors), a)
}

// Timing is when a ranked node may submit a ready batch.
type Timing struct {
	// Fallback is how long each rank waits after the one before it, in
	// the node's clock (the demo clock in `gridmint demo`, which may run
	// faster than the wall; the wall clock in production).
	Fallback time.Duration
	// MinFallbackWall is the least wall time each rank waits after the
	// one before it, whatever the node's clock says: a demo at 60× must
	// not fire a fallback within the time a transaction needs to be
	// mined and indexed.
	MinFallbackWall time.Duration
}

// Default timings: a fallback fires only after the submitter before it
// had time to send, get mined and be indexed (the index polls every 2 s;
// an L1 block takes 12 s).
const (
	DefaultFallback        = 2 * time.Minute
	DefaultMinFallbackWall = 20 * time.Second
)

// Due reports whether the node of rank may submit a batch that became
// ready at readyClock (node clock) and readyWall (wall clock), at
// nowClock and nowWall: once rank × Fallback of the node clock and
// rank × MinFallbackWall of the wall have passed. Rank 0 may at once; a
// negative rank never may.
func (t Timing) Due(rank int, readyClock, readyWall, nowClock, nowWall time.Time) bool {
	if rank < 0 {
		return false
	}
	r := time.Duration(rank)
	return !nowClock.Before(readyClock.Add(r*t.Fallback)) && !nowWall.Before(readyWall.Add(r*t.MinFallbackWall))
}
