package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gridmint/gridmint"
)

// Reading value encoding, version 1. Readings are the hot path (every
// measurement of every device), so the value is a compact binary record, not
// JSON. It is self-contained (it repeats the device and time that are also in
// the key) so a value can be checked against its key and decoded alone.
//
//	byte     version (= 1)
//	byte     flags: bit 0 = SourceTime is set; other bits must be 0
//	uvarint  len(Device), then Device bytes
//	varint   Time Unix seconds (zigzag), uvarint Time nanoseconds (< 1e9);
//	         years 1 to 9999 only, as in JSON and RFC 3339
//	         [if flag bit 0] SourceTime seconds and nanoseconds, as Time
//	byte     Fields (gridmint.ReadingFields; unknown bits must be 0), then
//	         only the fields it names:
//	[Power]  8 bytes, IEEE 754 bits, little-endian; always finite
//	[Energy] varint Energy mWh, varint Raw mWh (zigzag), enum Counter,
//	         enum Event
//	[EnergyReverse] the same for the reverse counter
//	[SoC]    8 bytes, as Power
//	enum     Quality
//
// Values of fields that Fields does not name must be zero (Commit checks),
// so that nothing is silently dropped by the encoding.
//
// An enum is one byte: the index of a known value in its table below, or
// enumCustom followed by uvarint length and the bytes of any other
// non-empty string. The tables are part of the format: append only.
//
// Decoding accepts only the canonical encoding (minimal varints, known flag
// bits, no custom string that has a code, no trailing bytes), so decoding
// then re-encoding gives back the same bytes. Times decode in UTC; the
// monotonic clock reading and the location of the original are not kept.
const (
	readingV1      byte = 1
	flagSourceTime byte = 1 << 0
	enumCustom     byte = 0xFF
	maxNanosecond       = 999_999_999

	// minUnix and maxUnix bound the times the store accepts: years 1 to
	// 9999, the range JSON (RFC 3339) can carry, so every record type
	// accepts the same times.
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// timeInRange reports whether t lies in years 1 to 9999 (UTC).
func timeInRange(t time.Time) bool {
	sec := t.Unix()
	return sec >= minUnix && sec <= maxUnix
}

// Enum tables, read-only. Index 0 is the empty string.
var (
	counterCodes = [...]string{"", string(gridmint.CounterLifetime), string(gridmint.CounterDaily), string(gridmint.CounterSession)}
	eventCodes   = [...]string{"", string(gridmint.EventFirst), string(gridmint.EventReset), string(gridmint.EventRollover)}
	qualityCodes = [...]string{"", string(gridmint.QualityOK), string(gridmint.QualityEstimated), string(gridmint.QualityMissing), string(gridmint.QualityBad)}
)

// errCorrupt is wrapped by every decoding error.
var errCorrupt = errors.New("corrupt value")

// appendReading appends the v1 encoding of r to dst. r.Power must be finite
// (Commit checks); the encoder itself never fails.
func appendReading(dst []byte, r gridmint.Reading) []byte {
	var flags byte
	if !r.SourceTime.IsZero() {
		flags |= flagSourceTime
	}
	dst = append(dst, readingV1, flags)
	dst = binary.AppendUvarint(dst, uint64(len(r.Device)))
	dst = append(dst, r.Device...)
	dst = appendTime(dst, r.Time)
	if flags&flagSourceTime != 0 {
		dst = appendTime(dst, r.SourceTime)
	}
	dst = append(dst, byte(r.Fields))
	if r.Fields.Has(gridmint.FieldPower) {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(float64(r.Power)))
	}
	if r.Fields.Has(gridmint.FieldEnergy) {
		dst = appendCounter(dst, r.Energy, r.Raw, r.Counter, r.Event)
	}
	if r.Fields.Has(gridmint.FieldEnergyReverse) {
		dst = appendCounter(dst, r.EnergyReverse, r.RawReverse, r.CounterReverse, r.EventReverse)
	}
	if r.Fields.Has(gridmint.FieldSoC) {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(r.SoC))
	}
	return appendEnum(dst, string(r.Quality), qualityCodes[:])
}

// allFields are the ReadingFields bits the format knows.
const allFields = gridmint.FieldPower | gridmint.FieldEnergy | gridmint.FieldEnergyReverse | gridmint.FieldSoC

func appendCounter(dst []byte, energy, raw gridmint.MWh, kind gridmint.CounterKind, ev gridmint.CounterEvent) []byte {
	dst = binary.AppendVarint(dst, int64(energy))
	dst = binary.AppendVarint(dst, int64(raw))
	dst = appendEnum(dst, string(kind), counterCodes[:])
	return appendEnum(dst, string(ev), eventCodes[:])
}

// unflaggedValues reports a value set for a field r.Fields does not name,
// which the encoding would drop.
func unflaggedValues(r gridmint.Reading) error {
	switch {
	case r.Fields&^allFields != 0:
		return fmt.Errorf("unknown fields %#x", byte(r.Fields&^allFields))
	case !r.Fields.Has(gridmint.FieldPower) && r.Power != 0:
		return errors.New("power set but not in fields")
	case !r.Fields.Has(gridmint.FieldEnergy) && (r.Energy != 0 || r.Raw != 0 || r.Counter != "" || r.Event != ""):
		return errors.New("energy set but not in fields")
	case !r.Fields.Has(gridmint.FieldEnergyReverse) && (r.EnergyReverse != 0 || r.RawReverse != 0 || r.CounterReverse != "" || r.EventReverse != ""):
		return errors.New("reverse energy set but not in fields")
	case !r.Fields.Has(gridmint.FieldSoC) && r.SoC != 0:
		return errors.New("state of charge set but not in fields")
	}
	return nil
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

func appendEnum(dst []byte, s string, codes []string) []byte {
	for i, c := range codes {
		if s == c {
			return append(dst, byte(i))
		}
	}
	dst = append(dst, enumCustom)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeReading decodes a v1 reading value. It never panics; any malformed
// or non-canonical input is an error wrapping errCorrupt.
func decodeReading(b []byte) (gridmint.Reading, error) {
	return decodeReadingIntern(b, "")
}

// decodeReadingIntern is decodeReading that reuses the string intern for the
// device id when the bytes match, saving an allocation per reading in scans
// of one device.
func decodeReadingIntern(b []byte, intern gridmint.DeviceID) (gridmint.Reading, error) {
	var r gridmint.Reading
	d := decoder{b: b}
	if v := d.byte(); v != readingV1 {
		if d.err != nil {
			return r, d.fail("reading")
		}
		return r, fmt.Errorf("reading value: unknown version %d: %w", v, errCorrupt)
	}
	flags := d.byte()
	if flags&^flagSourceTime != 0 {
		return r, fmt.Errorf("reading value: unknown flags %#x: %w", flags, errCorrupt)
	}
	id := d.bytes(d.uvarint())
	if string(id) == string(intern) {
		r.Device = intern
	} else {
		r.Device = gridmint.DeviceID(id)
	}
	r.Time = d.time()
	if flags&flagSourceTime != 0 {
		r.SourceTime = d.time()
		if d.err == nil && r.SourceTime.IsZero() {
			d.err = errors.New("source time flagged but zero")
		}
	}
	r.Fields = gridmint.ReadingFields(d.byte())
	if d.err == nil && r.Fields&^allFields != 0 {
		d.err = fmt.Errorf("unknown fields %#x", byte(r.Fields))
	}
	if r.Fields.Has(gridmint.FieldPower) {
		r.Power = gridmint.W(d.float("power"))
	}
	if r.Fields.Has(gridmint.FieldEnergy) {
		r.Energy, r.Raw, r.Counter, r.Event = d.counter()
	}
	if r.Fields.Has(gridmint.FieldEnergyReverse) {
		r.EnergyReverse, r.RawReverse, r.CounterReverse, r.EventReverse = d.counter()
	}
	if r.Fields.Has(gridmint.FieldSoC) {
		r.SoC = d.float("state of charge")
	}
	r.Quality = gridmint.Quality(d.enum(qualityCodes[:]))
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return gridmint.Reading{}, d.fail("reading")
	}
	return r, nil
}

// decoder reads canonical fields from b. After the first error every read
// returns a zero value, so callers check err once at the end.
type decoder struct {
	b   []byte
	err error
}

var (
	errTruncated    = errors.New("truncated")
	errNonCanonical = errors.New("non-canonical varint")
	zeroBytes       [8]byte
)

func (d *decoder) fail(what string) error {
	return fmt.Errorf("%s value: %w: %w", what, errCorrupt, d.err)
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errTruncated
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bytes returns the next n bytes (aliasing the input), or zeroBytes[:min(n,8)]
// after an error so fixed-size readers need no extra branch.
func (d *decoder) bytes(n uint64) []byte {
	if d.err == nil && n > uint64(len(d.b)) {
		d.err = errTruncated
	}
	if d.err != nil {
		return zeroBytes[:min(n, 8)]
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.err = errTruncated
		return 0
	case n < 0:
		d.err = errors.New("varint overflows 64 bits")
		return 0
	case n > 1 && d.b[n-1] == 0:
		// A zero final byte adds nothing: a shorter encoding exists.
		d.err = errNonCanonical
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	// Zigzag, as encoding/binary.Varint.
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

// float reads a finite float64.
func (d *decoder) float(what string) float64 {
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.bytes(8)))
	if d.err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
		d.err = fmt.Errorf("non-finite %s", what)
		return 0
	}
	return f
}

func (d *decoder) counter() (gridmint.MWh, gridmint.MWh, gridmint.CounterKind, gridmint.CounterEvent) {
	energy := gridmint.MWh(d.varint())
	raw := gridmint.MWh(d.varint())
	kind := gridmint.CounterKind(d.enum(counterCodes[:]))
	ev := gridmint.CounterEvent(d.enum(eventCodes[:]))
	return energy, raw, kind, ev
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec > maxNanosecond {
		d.err = fmt.Errorf("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	if sec < minUnix || sec > maxUnix {
		d.err = fmt.Errorf("seconds %d out of range", sec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) enum(codes []string) string {
	c := d.byte()
	if d.err != nil {
		return ""
	}
	if c != enumCustom {
		if int(c) >= len(codes) {
			d.err = fmt.Errorf("unknown enum code %d", c)
			return ""
		}
		return codes[c]
	}
	s := d.bytes(d.uvarint())
	if d.err != nil {
		return ""
	}
	for _, known := range codes {
		if string(s) == known {
			d.err = fmt.Errorf("custom enum %q has a code", s)
			return ""
		}
	}
	return string(s)
}
