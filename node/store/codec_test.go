package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// codecReadings covers every field and every enum branch of the encoding.
func codecReadings() map[string]gridmint.Reading {
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)
	return map[string]gridmint.Reading{
		"full": {
			Device: "0xabc/shelly/em", Time: t0, SourceTime: t0.Add(-time.Second),
			Fields: gridmint.FieldPower | gridmint.FieldEnergy | gridmint.FieldEnergyReverse | gridmint.FieldSoC,
			Power:  -1234.5, Energy: 514_153_000, Raw: 514_153_000,
			Counter: gridmint.CounterLifetime, Event: gridmint.EventReset,
			EnergyReverse: 20_000, RawReverse: 19_000, CounterReverse: gridmint.CounterDaily, EventReverse: gridmint.EventRollover,
			SoC: 53.2, Quality: gridmint.QualityOK,
		},
		"power and soc only": {
			Device: "0xabc/victron/battery", Time: t0, Fields: gridmint.FieldPower | gridmint.FieldSoC,
			Power: 700, SoC: 100, Quality: gridmint.QualityOK,
		},
		"zero source time and empty enums": {
			Device: "n/tasmota/plug", Time: t0,
		},
		"negative values and custom enums": {
			Device: "n/victron/bat", Time: t0, Fields: gridmint.FieldPower | gridmint.FieldEnergy,
			Power: -3000.25, Energy: -1, Raw: math.MinInt64,
			Counter: "weekly", Event: "glitch", Quality: "suspect",
		},
		"pre-1970 and far future": {
			Device: "n/x/y", Time: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC),
			SourceTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
			Fields:     gridmint.FieldEnergy,
			Energy:     math.MaxInt64, Counter: gridmint.CounterSession, Event: gridmint.EventRollover,
			Quality: gridmint.QualityBad,
		},
		"negative zero power": {
			Device: "n/x/z", Time: t0, Fields: gridmint.FieldPower | gridmint.FieldEnergy, Power: gridmint.W(math.Copysign(0, -1)),
			Counter: gridmint.CounterDaily, Event: gridmint.EventFirst, Quality: gridmint.QualityEstimated,
		},
		"missing quality, unicode id": {
			Device: "n/shelly/äöü:2", Time: t0, Quality: gridmint.QualityMissing,
		},
	}
}

func TestReadingCodecRoundTrip(t *testing.T) {
	for name, r := range codecReadings() {
		t.Run(name, func(t *testing.T) {
			enc := appendReading(nil, r)
			if enc[0] != readingV1 {
				t.Fatalf("version byte = %d, want %d", enc[0], readingV1)
			}
			got, err := decodeReading(enc)
			if err != nil {
				t.Fatalf("decodeReading(%x) error: %v", enc, err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("round trip:\n got %#v\nwant %#v", got, r)
			}
			if math.Signbit(float64(got.Power)) != math.Signbit(float64(r.Power)) {
				t.Fatalf("power sign: got %v, want %v", got.Power, r.Power)
			}
			if again := appendReading(nil, got); !bytes.Equal(again, enc) {
				t.Fatalf("re-encode:\n got %x\nwant %x", again, enc)
			}
		})
	}
}

func TestReadingCodecLocationIndependent(t *testing.T) {
	zone := time.FixedZone("CEST", 2*3600)
	t0 := time.Date(2025, 6, 1, 14, 0, 0, 5, zone)
	r := gridmint.Reading{Device: "n/a/b", Time: t0, SourceTime: t0}
	got, err := decodeReading(appendReading(nil, r))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(t0) || got.Time.Location() != time.UTC || !got.SourceTime.Equal(t0) {
		t.Fatalf("got time %v / source %v, want %v in UTC", got.Time, got.SourceTime, t0.UTC())
	}
}

func TestDecodeReadingErrors(t *testing.T) {
	valid := appendReading(nil, codecReadings()["full"])
	// Hand-built encodings of a minimal reading of device "a" with power
	// and energy, with one defect each. Layout: ver, flags, len, id, sec,
	// nsec, fields, power(8), energy, raw, counter, event, quality.
	minimal := func(edit func([]byte) []byte) []byte {
		b := []byte{readingV1, 0, 1, 'a'}
		b = binary.AppendVarint(b, 1)
		b = binary.AppendUvarint(b, 0)
		b = append(b, byte(gridmint.FieldPower|gridmint.FieldEnergy))
		b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
		b = append(b, 0, 0, 0, 0, 0)
		return edit(b)
	}
	if _, err := decodeReading(minimal(func(b []byte) []byte { return b })); err != nil {
		t.Fatalf("minimal encoding rejected: %v", err)
	}
	nan := binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.NaN()))
	inf := binary.LittleEndian.AppendUint64(nil, math.Float64bits(math.Inf(-1)))
	tests := map[string][]byte{
		"empty":           {},
		"unknown version": append([]byte{2}, valid[1:]...),
		"unknown flag":    minimal(func(b []byte) []byte { b[1] = 2; return b }),
		"trailing byte":   append(bytes.Clone(valid), 0),
		"non-canonical id length": minimal(func(b []byte) []byte {
			return append([]byte{readingV1, 0, 0x81, 0x00}, b[3:]...)
		}),
		"id longer than input": minimal(func(b []byte) []byte { b[2] = 100; return b }),
		"nanoseconds out of range": minimal(func(b []byte) []byte {
			out := append([]byte{}, b[:5]...)
			out = binary.AppendUvarint(out, 1e9)
			return append(out, b[6:]...)
		}),
		"seconds beyond time.Time": minimal(func(b []byte) []byte {
			out := append([]byte{}, b[:4]...)
			out = binary.AppendVarint(out, math.MaxInt64)
			return append(out, b[5:]...)
		}),
		"varint overflow": minimal(func(b []byte) []byte {
			return append(b[:4], 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)
		}),
		"source flag with zero source time": func() []byte {
			b := []byte{readingV1, flagSourceTime, 1, 'a'}
			b = appendTime(b, time.Unix(1, 0))
			b = appendTime(b, time.Time{})
			return append(b, byte(gridmint.FieldPower|gridmint.FieldEnergy), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
		}(),
		"unknown fields bit": minimal(func(b []byte) []byte { b[6] |= 0x80; return b }),
		"fields promise more than there is": minimal(func(b []byte) []byte {
			b[6] |= byte(gridmint.FieldSoC)
			return b
		}),
		"NaN power":      minimal(func(b []byte) []byte { copy(b[7:15], nan); return b }),
		"infinite power": minimal(func(b []byte) []byte { copy(b[7:15], inf); return b }),
		"unknown enum code": minimal(func(b []byte) []byte {
			b[len(b)-1] = byte(len(qualityCodes))
			return b
		}),
		"custom enum equal to a known value": minimal(func(b []byte) []byte {
			return append(b[:len(b)-1], enumCustom, 2, 'o', 'k')
		}),
		"custom enum empty": minimal(func(b []byte) []byte {
			return append(b[:len(b)-1], enumCustom, 0)
		}),
		"custom enum truncated": minimal(func(b []byte) []byte {
			return append(b[:len(b)-1], enumCustom, 5, 'x')
		}),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := decodeReading(b)
			if err == nil {
				t.Fatalf("decodeReading(%x) = %v, want error", b, r)
			}
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			if !reflect.DeepEqual(r, gridmint.Reading{}) {
				t.Fatalf("on error got %#v, want zero Reading", r)
			}
		})
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := range len(valid) {
			if _, err := decodeReading(valid[:n]); err == nil {
				t.Fatalf("decodeReading(first %d of %d bytes) succeeded, want error", n, len(valid))
			}
		}
	})
}

func TestDecodeReadingInternReusesID(t *testing.T) {
	r := codecReadings()["full"]
	enc := appendReading(nil, r)
	got, err := decodeReadingIntern(enc, r.Device)
	if err != nil {
		t.Fatal(err)
	}
	if got.Device != r.Device {
		t.Fatalf("device = %q, want %q", got.Device, r.Device)
	}
	if allocs := testing.AllocsPerRun(100, func() { _, _ = decodeReadingIntern(enc, r.Device) }); allocs != 0 {
		t.Errorf("decodeReadingIntern with matching id: %v allocs per run, want 0", allocs)
	}
}

func FuzzDecodeReading(f *testing.F) {
	for _, r := range codecReadings() {
		f.Add(appendReading(nil, r))
	}
	f.Add([]byte{})
	f.Add([]byte{readingV1})
	f.Add(append(appendReading(nil, gridmint.Reading{Device: "a", Time: time.Unix(1, 0)}), 0))
	f.Add([]byte(strings.Repeat("\xff", 32)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReading(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		// Only canonical encodings decode, so re-encoding is exact.
		if again := appendReading(nil, r); !bytes.Equal(again, b) {
			t.Fatalf("decode(%x) = %#v re-encodes to %x", b, r, again)
		}
	})
}
