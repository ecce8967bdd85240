package rec

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"

	"github.com/gridmint/gridmint"
)

// Leaf is one reading as a claim's readings root commits to it: the
// values the hour was computed from, nothing else (no device id: the
// claim names the device).
type Leaf struct {
	// Time is the reading's node time in Unix milliseconds: the builder
	// works at this precision so that anyone holding the leaves recomputes
	// the same hour.
	Time   int64        `json:"time_ms"`
	Energy gridmint.MWh `json:"energy_mwh"` // the normalised lifetime counter
	Power  gridmint.W   `json:"power_w"`    // 0 unless HasPower
	// HasPower says the reading carried a power value.
	HasPower bool `json:"has_power,omitempty"`
	// Estimated says the normaliser estimated the counter's growth up to
	// this reading (a counter reset).
	Estimated bool `json:"estimated,omitempty"`
}

// LeafOf is the leaf of a reading with an energy counter.
func LeafOf(r gridmint.Reading) Leaf {
	l := Leaf{
		Time: r.Time.UnixMilli(), Energy: r.Energy,
		Estimated: r.Quality == gridmint.QualityEstimated || r.Event == gridmint.EventReset,
	}
	if r.Fields.Has(gridmint.FieldPower) {
		l.HasPower, l.Power = true, r.Power
		if l.Power == 0 {
			l.Power = 0 // one encoding for -0
		}
	}
	return l
}

// At is the leaf's time.
func (l Leaf) At() time.Time { return time.UnixMilli(l.Time).UTC() }

// LeafSize is the length of a leaf's canonical encoding.
const LeafSize = 25

// Encode is the leaf's canonical encoding: time (ms), energy (mWh) and the
// IEEE 754 bits of power (W), each 8 bytes big-endian, then one flag byte
// (bit 0 has power, bit 1 estimated).
func (l Leaf) Encode() [LeafSize]byte {
	var b [LeafSize]byte
	binary.BigEndian.PutUint64(b[0:], uint64(l.Time))
	binary.BigEndian.PutUint64(b[8:], uint64(l.Energy))
	p := float64(l.Power)
	if !l.HasPower || p == 0 {
		p = 0
	}
	binary.BigEndian.PutUint64(b[16:], math.Float64bits(p))
	if l.HasPower {
		b[24] |= 1
	}
	if l.Estimated {
		b[24] |= 2
	}
	return b
}

// MerkleRoot is the root of the RFC 6962 Merkle tree (Certificate
// Transparency's, with SHA-256) over the leaves' encodings, in order:
// leaf hash SHA-256(0x00 ‖ leaf), node hash SHA-256(0x01 ‖ left ‖ right),
// the left subtree holding the largest power of two below n leaves. The
// prefixes keep a leaf from passing for a node. SHA-256 rather than
// keccak256 because package rec uses the standard library only; the
// contract stores the root as opaque bytes32.
func MerkleRoot(leaves []Leaf) gridmint.Hash {
	if len(leaves) == 0 {
		return sha256.Sum256(nil)
	}
	hashes := make([]gridmint.Hash, len(leaves))
	var buf [1 + LeafSize]byte
	for i, l := range leaves {
		enc := l.Encode()
		copy(buf[1:], enc[:])
		hashes[i] = sha256.Sum256(buf[:])
	}
	return merkle(hashes)
}

func merkle(h []gridmint.Hash) gridmint.Hash {
	if len(h) == 1 {
		return h[0]
	}
	k := 1
	for k*2 < len(h) {
		k *= 2
	}
	l, r := merkle(h[:k]), merkle(h[k:])
	var buf [1 + 64]byte
	buf[0] = 1
	copy(buf[1:], l[:])
	copy(buf[33:], r[:])
	return sha256.Sum256(buf[:])
}
