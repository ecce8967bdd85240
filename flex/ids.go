package flex

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"time"

	"github.com/gridmint/gridmint"
)

// Canonical hashes. Every hash in this package is SHA-256 (stdlib; the
// chain's keccak hashes are computed by package chain from the same
// fields) over a domain tag ending in a zero byte and fixed-width fields:
// integers big-endian, strings as a 4-byte big-endian length and their
// bytes, times as 8 bytes of Unix seconds and 4 of nanoseconds, watts as
// the 8 bytes of their IEEE 754 bits.

// OfferHash is a canonical content hash of an offer, for offers that have
// no envelope ID (tests, a node's own drafts). In the network the envelope
// ID is the OfferID; clearing only needs the IDs to be distinct and fixed.
func OfferHash(o gridmint.Offer) gridmint.OfferID {
	e := newEncoder("gridmint/offer/v1")
	e.str(string(o.Device))
	e.str(o.Zone)
	e.time(o.WindowStart)
	e.time(o.WindowEnd)
	e.watts(o.Power)
	e.str(string(o.Direction))
	e.i64(int64(o.FloorPrice))
	e.str(string(o.Baseline))
	e.time(o.Expiry)
	e.str(string(o.Meter))
	return gridmint.OfferID(e.sum())
}

// RequestHash is a canonical content hash of a request, like OfferHash.
func RequestHash(r gridmint.Request) gridmint.RequestID {
	e := newEncoder("gridmint/request/v1")
	e.str(r.Zone)
	e.time(r.WindowStart)
	e.time(r.WindowEnd)
	e.watts(r.Power)
	e.str(string(r.Direction))
	e.i64(int64(r.MaxPrice))
	e.time(r.GateClosure)
	return gridmint.RequestID(e.sum())
}

// DeliveryRecordID is the FLEX reward record id of an award's delivery
// reward (usable once on chain, so an award is paid at most once).
func DeliveryRecordID(req gridmint.RequestID, offer gridmint.OfferID) [32]byte {
	e := newEncoder("gridmint/flex/delivery/v1")
	e.b = append(e.b, req[:]...)
	e.b = append(e.b, offer[:]...)
	return e.sum()
}

// SlashRecordID is the record id of an award's slash. It shares the
// contract's record namespace with rewards, hence its own domain tag.
func SlashRecordID(req gridmint.RequestID, offer gridmint.OfferID) [32]byte {
	e := newEncoder("gridmint/flex/slash/v1")
	e.b = append(e.b, req[:]...)
	e.b = append(e.b, offer[:]...)
	return e.sum()
}

// AvailabilityRecordID is the record id of a passed test's availability
// reward.
func AvailabilityRecordID(test gridmint.TestID) [32]byte {
	e := newEncoder("gridmint/flex/availability/v1")
	e.b = append(e.b, test[:]...)
	return e.sum()
}

type encoder struct{ b []byte }

func newEncoder(tag string) *encoder {
	e := &encoder{b: make([]byte, 0, 256)}
	e.b = append(e.b, tag...)
	e.b = append(e.b, 0)
	return e
}

func (e *encoder) str(s string) {
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) i64(v int64) { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }

func (e *encoder) time(t time.Time) {
	e.i64(t.Unix())
	e.b = binary.BigEndian.AppendUint32(e.b, uint32(t.Nanosecond()))
}

func (e *encoder) watts(p gridmint.W) {
	e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(float64(p)))
}

func (e *encoder) sum() [32]byte { return sha256.Sum256(e.b) }
