package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/gridmint/gridmint"
)

// Key layout. Every key starts with one record-type byte and ':' so record
// types never interleave and each can be scanned by prefix. All integers are
// big-endian so byte order is numeric order.
//
//	r:<idlen u16><id><time 12B><seq u64>  reading            value: binary v1 (codec.go)
//	d:<id>                                device             value: JSON gridmint.Device
//	c:<id>                                counter state      value: opaque bytes (package devices)
//	q:<time 12B><seq u64>                 rejection, TTL'd   value: JSON gridmint.Rejection
//	n:<reason>                            rejection count    value: u64, lifetime total, no TTL
//	k:<command id>                        command record     value: JSON gridmint.CommandRecord
//	x:<name>                              node metadata      value: opaque bytes (package node)
//	m:seq                                 last used seq      value: u64
//	g:<id 32B>                            seen gossip id     replay cache (messages.go)
//	h:<len u8><topic><time 12B><id 32B>   gossip message     value: the message (messages.go)
//	e<sub>…                               chain event index  (chainindex.go documents its sub-keys)
//	s:<key>                               settlement record  value: opaque bytes (settle.go, package node/settle)
//
// <time 12B> is the Unix second as u64 with the sign bit flipped (so instants
// before 1970 sort before later ones) followed by the nanosecond as u32. Unlike
// UnixNano this covers every time.Time a caller can build, including year 1
// and far-future times.
//
// The reading key length-prefixes the device id: a prefix scan of
// "r:"+len("x/a/p")+"x/a/p" cannot match "x/a/p:2", whose length differs.
// Device and counter keys are only read point-wise or scanned as a whole
// type, so they need no length prefix.
//
// <seq> comes from one store-wide counter, persisted as m:seq in the same
// transaction as the keys that use it. It makes keys unique, so two readings
// of one device with the same timestamp (or two rejections in the same
// nanosecond) never overwrite each other, and it orders equal timestamps by
// commit order. Range scans compare only the time part, so seq does not
// disturb them.
const (
	prefixReading   = 'r'
	prefixDevice    = 'd'
	prefixCounter   = 'c'
	prefixRejection = 'q'
	prefixCount     = 'n'
	prefixMeta      = 'm'
	prefixCommand   = 'k'
	prefixNodeMeta  = 'x'
	keySep          = ':'

	timeKeyLen = 12
	seqLen     = 8
)

// keySeq is the key of the store-wide sequence high-water mark.
var keySeq = []byte{prefixMeta, keySep, 's', 'e', 'q'}

// appendTimeKey appends the 12-byte order-preserving encoding of t.
func appendTimeKey(dst []byte, t time.Time) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
}

// readingPrefix returns "r:"<idlen><id>, the prefix of every reading key of
// id. The caller has checked len(id) <= MaxDeviceIDLen.
func readingPrefix(id gridmint.DeviceID, extra int) []byte {
	k := make([]byte, 0, 4+len(id)+extra)
	k = append(k, prefixReading, keySep)
	k = binary.BigEndian.AppendUint16(k, uint16(len(id)))
	return append(k, id...)
}

func readingKey(id gridmint.DeviceID, t time.Time, seq uint64) []byte {
	k := readingPrefix(id, timeKeyLen+seqLen)
	k = appendTimeKey(k, t)
	return binary.BigEndian.AppendUint64(k, seq)
}

func rejectionKey(t time.Time, seq uint64) []byte {
	k := make([]byte, 0, 2+timeKeyLen+seqLen)
	k = append(k, prefixRejection, keySep)
	k = appendTimeKey(k, t)
	return binary.BigEndian.AppendUint64(k, seq)
}

func nodeMetaKey(name string) []byte { return append([]byte{prefixNodeMeta, keySep}, name...) }

// commandKey is the key of command id. Command ids sort by the time they
// were sent (see package devices), so a reverse scan lists newest first.
func commandKey(id string) []byte { return append([]byte{prefixCommand, keySep}, id...) }

func deviceKey(id gridmint.DeviceID) []byte {
	return append([]byte{prefixDevice, keySep}, id...)
}

func counterKey(id gridmint.DeviceID) []byte {
	return append([]byte{prefixCounter, keySep}, id...)
}

func countKey(r gridmint.Reason) []byte {
	return append([]byte{prefixCount, keySep}, r...)
}

// typePrefix is the two-byte prefix shared by all keys of one record type.
func typePrefix(typ byte) []byte { return []byte{typ, keySep} }

// checkID rejects ids that cannot be keyed (empty, or too long for the u16
// length prefix and the batch-size budget).
func checkID(id gridmint.DeviceID) error {
	switch {
	case id == "":
		return gridmint.Errorf(gridmint.EInvalid, "store: empty device id")
	case len(id) > MaxDeviceIDLen:
		return gridmint.Errorf(gridmint.EInvalid, "store: device id of %d bytes exceeds %d", len(id), MaxDeviceIDLen)
	}
	return nil
}

// decodeU64 decodes an 8-byte big-endian counter value.
func decodeU64(v []byte) (uint64, error) {
	if len(v) != 8 {
		return 0, fmt.Errorf("store: corrupt counter value of %d bytes", len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
