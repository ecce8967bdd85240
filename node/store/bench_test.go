package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

const benchDevice = gridmint.DeviceID("0x1f00000000000000000000000000000000000c3/opendtu/116181234567")

func benchReading(i int) gridmint.Reading {
	at := t0.Add(time.Duration(i) * time.Second)
	return gridmint.Reading{
		Device: benchDevice, Time: at, SourceTime: at.Add(-time.Second),
		Fields: gridmint.FieldPower | gridmint.FieldEnergy, Power: 1234.5, Energy: gridmint.MWh(514_153_000 + i), Raw: gridmint.MWh(514_153_000 + i),
		Counter: gridmint.CounterLifetime, Quality: gridmint.QualityOK,
	}
}

func reportReadings(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "readings/s")
}

// BenchmarkCommitReadings measures durable (fsync'd) commits on disk: the
// per-commit sync dominates small batches.
func BenchmarkCommitReadings(b *testing.B) {
	for _, size := range []int{1, 64, 512} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := openDisk(b, "", Options{})
			n := 0
			for b.Loop() {
				batch := s.NewBatch()
				for range size {
					batch.PutReading(benchReading(n))
					n++
				}
				if err := s.Commit(batch); err != nil {
					b.Fatal(err)
				}
			}
			reportReadings(b, n)
		})
	}
}

func BenchmarkEncodeReading(b *testing.B) {
	r := benchReading(1)
	buf := make([]byte, 0, 128)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		buf = appendReading(buf[:0], r)
		n++
	}
	b.SetBytes(int64(len(buf)))
	reportReadings(b, n)
}

func BenchmarkDecodeReading(b *testing.B) {
	enc := appendReading(nil, benchReading(1))
	n := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := decodeReading(enc); err != nil {
			b.Fatal(err)
		}
		n++
	}
	reportReadings(b, n)
}

// BenchmarkReadingsScan reads back 10k readings of one device (with another
// device's 10k interleaved in the key space next to it).
func BenchmarkReadingsScan(b *testing.B) {
	const total = 10000
	s := openDisk(b, "", Options{})
	for _, id := range []gridmint.DeviceID{benchDevice, benchDevice + ":2"} {
		for i := 0; i < total; i += MaxBatchLen {
			batch := s.NewBatch()
			for j := i; j < min(i+MaxBatchLen, total); j++ {
				r := benchReading(j)
				r.Device = id
				batch.PutReading(r)
			}
			if err := s.Commit(batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		rs, err := s.Readings(benchDevice, time.Time{}, time.Time{}, total)
		if err != nil || len(rs) != total {
			b.Fatalf("Readings = %d, %v; want %d", len(rs), err, total)
		}
		n += len(rs)
	}
	reportReadings(b, n)
}
