package flex

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"

	"github.com/gridmint/gridmint"
)

// The awards root of a request is the Merkle tree hash of RFC 9162 (the
// Certificate Transparency tree: SHA-256, leaf hash SHA-256(0x00 ‖ leaf),
// inner node SHA-256(0x01 ‖ left ‖ right), split at the largest power of
// two below n, the empty tree SHA-256 of nothing) over the canonical
// encodings of the request's awards sorted by offer ID. The sort makes the
// root independent of input order; the leaf and node prefixes keep a leaf
// from passing for an inner node.

// AwardLeaf is an award's canonical encoding (see OfferHash for the field
// encodings), in this order: the tag "gridmint/award/v1" and a zero byte,
// request ID (32 bytes), offer ID (32), provider (string, lower case),
// device, meter, zone, direction (strings), window start and end (times),
// power (watts), price (int64), baseline (string).
func AwardLeaf(a gridmint.Award) []byte {
	e := newEncoder("gridmint/award/v1")
	e.b = append(e.b, a.RequestID[:]...)
	e.b = append(e.b, a.OfferID[:]...)
	e.str(strings.ToLower(a.Provider))
	e.str(string(a.Device))
	e.str(string(a.Meter))
	e.str(a.Zone)
	e.str(string(a.Direction))
	e.time(a.WindowStart)
	e.time(a.WindowEnd)
	e.watts(a.Power)
	e.i64(int64(a.Price))
	e.str(string(a.Baseline))
	return e.b
}

func leafHash(a gridmint.Award) [32]byte {
	return sha256.Sum256(append([]byte{0}, AwardLeaf(a)...))
}

func nodeHash(l, r [32]byte) [32]byte {
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}

func sortedAwards(awards []gridmint.Award) []gridmint.Award {
	as := slices.Clone(awards)
	slices.SortFunc(as, func(a, b gridmint.Award) int { return bytes.Compare(a.OfferID[:], b.OfferID[:]) })
	return as
}

// AwardsRoot is the Merkle root of awards (any order).
func AwardsRoot(awards []gridmint.Award) [32]byte {
	as := sortedAwards(awards)
	leaves := make([][32]byte, len(as))
	for i, a := range as {
		leaves[i] = leafHash(a)
	}
	return treeHash(leaves)
}

func treeHash(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := split(len(leaves))
	return nodeHash(treeHash(leaves[:k]), treeHash(leaves[k:]))
}

// split is the largest power of two below n (n ≥ 2).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// AwardProof is the audit path of the award for offer in the tree of
// awards: what a provider shows to prove its award is under the root the
// utility reserved. index and n place the leaf in the sorted tree.
func AwardProof(awards []gridmint.Award, offer gridmint.OfferID) (proof [][32]byte, index, n int, ok bool) {
	as := sortedAwards(awards)
	index = slices.IndexFunc(as, func(a gridmint.Award) bool { return a.OfferID == offer })
	if index < 0 {
		return nil, 0, 0, false
	}
	leaves := make([][32]byte, len(as))
	for i, a := range as {
		leaves[i] = leafHash(a)
	}
	return path(index, leaves), index, len(as), true
}

func path(m int, leaves [][32]byte) [][32]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := split(len(leaves))
	if m < k {
		return append(path(m, leaves[:k]), treeHash(leaves[k:]))
	}
	return append(path(m-k, leaves[k:]), treeHash(leaves[:k]))
}

// VerifyAwardProof reports whether award a is leaf index of n under root.
func VerifyAwardProof(root [32]byte, a gridmint.Award, index, n int, proof [][32]byte) bool {
	if index < 0 || index >= n {
		return false
	}
	h, ok := fromPath(leafHash(a), index, n, proof)
	return ok && h == root
}

func fromPath(leaf [32]byte, m, n int, proof [][32]byte) ([32]byte, bool) {
	if n == 1 {
		return leaf, len(proof) == 0
	}
	if len(proof) == 0 {
		return [32]byte{}, false
	}
	k := split(n)
	last, rest := proof[len(proof)-1], proof[:len(proof)-1]
	if m < k {
		l, ok := fromPath(leaf, m, k, rest)
		return nodeHash(l, last), ok
	}
	r, ok := fromPath(leaf, m-k, n-k, rest)
	return nodeHash(last, r), ok
}
