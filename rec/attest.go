package rec

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/gridmint/gridmint"
)

// Attestation rules. An attestation is an attestor's EIP-712 signature
// over a batch of claims (gridmint.Attestation), the one the REC contract
// verifies: a batch is issued when at least k distinct registered
// attestors signed it. A node's own signature never counts for its own
// devices: for every claim of the batch, the signers other than the
// claim's Node must number at least k. The REC contract enforces the
// same (its Claim names the node; a batch with exactly k signers that
// include a claim's node reverts SelfAttested), so these functions are
// the off-chain mirror the node uses to assemble batches that will not
// revert.

// Registry is the attestor set and threshold, as the AttestorRegistry
// contract holds them.
type Registry struct {
	Attestors []gridmint.Address
	K         int
}

func (r Registry) member(a gridmint.Address) bool { return slices.Contains(r.Attestors, a) }

// Eligible counts the signers that count for claim c: distinct, in the
// registry, and not the claim's own node.
func (r Registry) Eligible(c gridmint.Claim, signers []gridmint.Address) int {
	seen := map[gridmint.Address]bool{}
	n := 0
	for _, s := range signers {
		if seen[s] || s == c.Node || !r.member(s) {
			continue
		}
		seen[s] = true
		n++
	}
	return n
}

// Quorum checks that every claim of a batch has k eligible signers and
// returns a ClaimNoQuorum finding for each that has not.
func (r Registry) Quorum(batch []gridmint.Claim, signers []gridmint.Address) []Finding {
	var out []Finding
	for _, c := range batch {
		if n := r.Eligible(c, signers); n < r.K {
			out = append(out, refuse(ID(c), gridmint.ClaimNoQuorum, "%d signers other than its node %s, k = %d", n, c.Node, r.K))
		}
	}
	return out
}

// SelectSigners picks, from the attestors whose signatures over the batch
// are at hand, the fewest that give every claim k eligible signers
// (fewest signatures, least gas): k attestors without claims in the
// batch if there are k, else all of those and then claimants, in address
// order. It returns an error when the signatures at hand cannot make a
// quorum for every claim.
func (r Registry) SelectSigners(batch []gridmint.Claim, available []gridmint.Address) ([]gridmint.Address, error) {
	claimants := map[gridmint.Address]bool{}
	for _, c := range batch {
		claimants[c.Node] = true
	}
	var others, own []gridmint.Address
	seen := map[gridmint.Address]bool{}
	for _, a := range available {
		if seen[a] || !r.member(a) {
			continue
		}
		seen[a] = true
		if claimants[a] {
			own = append(own, a)
		} else {
			others = append(others, a)
		}
	}
	byAddr := func(a, b gridmint.Address) int { return slices.Compare(a[:], b[:]) }
	slices.SortFunc(others, byAddr)
	slices.SortFunc(own, byAddr)
	if len(others) >= r.K {
		return others[:r.K], nil
	}
	picked := slices.Clone(others)
	for _, a := range own {
		picked = append(picked, a)
		if len(r.Quorum(batch, picked)) == 0 {
			slices.SortFunc(picked, byAddr)
			return picked, nil
		}
	}
	return nil, gridmint.Errorf(gridmint.EInvalid, "rec: %d usable signatures (%d from nodes without claims in the batch) cannot give each of %d claims %d signers other than its node",
		len(picked), len(others), len(batch), r.K)
}

// Gas is the REC contract's issuance cost model, in gas. The defaults are
// rounded up from the chain package's BenchmarkIssueGas (per claim 29,182
// gas for a device issued before and 62,308 for a device's first hour in
// batches of 16; about 107,000 gas per transaction with three
// signatures), so that a batch sized by it fits its gas limit.
type Gas struct {
	Limit          uint64 // the most one batch may use: a share of the block gas limit
	Base           uint64 // per transaction
	PerSignature   uint64 // per signature verified
	PerClaim       uint64 // per claim of a device issued before
	PerFirstClaim  uint64 // per claim of a device's first issued hour (new high-water mark slot)
	MaxSignatures  int    // the registry's MAX_SIGNATURES
	MaxClaimsBatch int    // an upper bound regardless of gas (bounds gossip messages)
}

// DefaultGas fits batches in 10 M gas: a third of a 30 M block, with
// room for the client's 20 % estimate margin.
func DefaultGas() Gas {
	return Gas{Limit: 10_000_000, Base: 80_000, PerSignature: 10_000, PerClaim: 35_000, PerFirstClaim: 70_000, MaxSignatures: 64, MaxClaimsBatch: 256}
}

// Batch is a set of claims to issue in one transaction, in the order the
// contract requires (device, then hour).
type Batch struct {
	Claims []gridmint.Claim
	// Gas is the model's estimate for the batch with k+1 signatures.
	Gas uint64
}

// Assemble splits attested claims into batches that the REC contract
// will accept: each fits the gas model's limit with k+1 signatures (the
// most a batch needs, see SelectSigners); claims are taken in hour order
// so that batches issued in the order returned never issue a later hour
// of a device before an earlier one; within a batch claims are ordered by
// device, then hour, as the contract requires. next is each device's
// next issuable hour (the contract's nextHour; absent or 0 for a device
// never issued): a claim below it, or a second claim for a device and
// hour, is left out with an already_issued or equivocation finding.
// Zero-Wh claims are included: issuing them moves the high-water mark
// and costs little.
func Assemble(claims []gridmint.Claim, next map[gridmint.DeviceKey]gridmint.Hour, k int, gas Gas) ([]Batch, []Finding) {
	cs := slices.Clone(claims)
	slices.SortStableFunc(cs, func(a, b gridmint.Claim) int {
		if c := cmp.Compare(a.Hour, b.Hour); c != 0 {
			return c
		}
		return cmpKey(a.Device, b.Device)
	})
	var skipped []Finding
	seen := map[ClaimID]bool{}
	issued := map[gridmint.DeviceKey]bool{} // devices whose first hour is in an earlier batch
	for d, h := range next {
		if h > 0 {
			issued[d] = true
		}
	}
	sigs := uint64(min(k+1, gas.MaxSignatures))
	var batches []Batch
	var cur Batch
	var curDevices map[gridmint.DeviceKey]bool
	flush := func() {
		if len(cur.Claims) == 0 {
			return
		}
		slices.SortFunc(cur.Claims, func(a, b gridmint.Claim) int {
			if c := cmpKey(a.Device, b.Device); c != 0 {
				return c
			}
			return cmp.Compare(a.Hour, b.Hour)
		})
		batches = append(batches, cur)
		for d := range curDevices {
			issued[d] = true
		}
		cur = Batch{}
	}
	for _, c := range cs {
		id := ID(c)
		switch {
		case seen[id]:
			skipped = append(skipped, refuse(id, gridmint.ClaimEquivocation, "a second claim for the device and hour; neither is issued by this batch"))
			continue
		case c.Hour < next[c.Device]:
			skipped = append(skipped, refuse(id, gridmint.ClaimAlreadyIssued, "the contract issues the device from %s on", next[c.Device]))
			continue
		}
		seen[id] = true
		if len(cur.Claims) == 0 {
			cur.Gas = gas.Base + sigs*gas.PerSignature
			curDevices = map[gridmint.DeviceKey]bool{}
		}
		cost := gas.PerClaim
		if !issued[c.Device] && !curDevices[c.Device] {
			cost = gas.PerFirstClaim
		}
		if len(cur.Claims) > 0 && (cur.Gas+cost > gas.Limit || len(cur.Claims) >= gas.MaxClaimsBatch) {
			flush()
			cur.Gas = gas.Base + sigs*gas.PerSignature
			curDevices = map[gridmint.DeviceKey]bool{}
			cost = gas.PerClaim
			if !issued[c.Device] {
				cost = gas.PerFirstClaim
			}
		}
		cur.Claims = append(cur.Claims, c)
		cur.Gas += cost
		curDevices[c.Device] = true
	}
	flush()
	// Drop the equivocated claims that made it in first: neither of two
	// claims for one hour may be issued.
	if len(skipped) > 0 {
		equivocated := map[ClaimID]bool{}
		for _, f := range skipped {
			if f.Reason == gridmint.ClaimEquivocation {
				equivocated[f.Claim] = true
			}
		}
		for bi := range batches {
			batches[bi].Claims = slices.DeleteFunc(batches[bi].Claims, func(c gridmint.Claim) bool { return equivocated[ID(c)] })
		}
		batches = slices.DeleteFunc(batches, func(b Batch) bool { return len(b.Claims) == 0 })
	}
	return batches, skipped
}

// String summarises a batch for logs.
func (b Batch) String() string {
	var wh gridmint.Wh
	for _, c := range b.Claims {
		wh += c.Wh
	}
	return fmt.Sprintf("batch of %d claims, %d Wh, ~%d gas", len(b.Claims), wh, b.Gas)
}
