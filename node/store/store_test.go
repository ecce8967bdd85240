package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/gridmint/gridmint"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// openDisk opens a real on-disk store in dir (a fresh temp dir when ""),
// closed at the end of the test.
func openDisk(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openMem(t testing.TB) *Store {
	t.Helper()
	s, err := Open("", Options{InMemory: true})
	if err != nil {
		t.Fatalf("Open in memory: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// commit builds a batch with fill and commits it, failing the test on error.
func commit(t testing.TB, s *Store, fill func(b *Batch)) {
	t.Helper()
	b := s.NewBatch()
	fill(b)
	if err := s.Commit(b); err != nil {
		t.Fatalf("Commit(%d items): %v", b.Len(), err)
	}
}

func reading(id gridmint.DeviceID, at time.Time, energy gridmint.MWh) gridmint.Reading {
	return gridmint.Reading{
		Device: id, Time: at, Fields: gridmint.FieldPower | gridmint.FieldEnergy, Power: 100, Energy: energy, Raw: energy,
		Counter: gridmint.CounterLifetime, Quality: gridmint.QualityOK,
	}
}

func device(id gridmint.DeviceID) gridmint.Device {
	_, adapter, serial, _ := id.Parts()
	return gridmint.Device{
		ID: id, Kind: gridmint.KindPlug, Dialect: adapter, Serial: serial, Name: "plug " + serial,
		Capabilities: []gridmint.Capability{gridmint.CapPower, gridmint.CapEnergy},
		Nameplate:    2300, FirstSeen: t0,
	}
}

func rejection(at time.Time, reason gridmint.Reason, detail string) gridmint.Rejection {
	return gridmint.Rejection{
		Time: at, Topic: "tele/plug/SENSOR", Dialect: "tasmota", Device: "n/tasmota/plug",
		Reason: reason, Detail: detail, Raw: []byte(`{"ENERGY":`),
	}
}

func energies(rs []gridmint.Reading) []gridmint.MWh {
	out := make([]gridmint.MWh, len(rs))
	for i, r := range rs {
		out[i] = r.Energy
	}
	return out
}

func details(rs []gridmint.Rejection) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Detail
	}
	return out
}

func TestRoundTripOnDisk(t *testing.T) {
	s := openDisk(t, "", Options{})
	readings := []gridmint.Reading{
		codecReadings()["full"],
		codecReadings()["negative values and custom enums"],
		codecReadings()["pre-1970 and far future"],
	}
	devices := []gridmint.Device{device("n/tasmota/b"), device("n/opendtu/a")}
	rejections := []gridmint.Rejection{rejection(t0, gridmint.ReasonMalformed, "bad json")}
	commit(t, s, func(b *Batch) {
		for _, r := range readings {
			b.PutReading(r)
		}
		for _, d := range devices {
			b.PutDevice(d)
		}
		for _, r := range rejections {
			b.PutRejection(r)
		}
		b.PutCounterState("n/tasmota/b", []byte{1, 2, 3})
	})

	for _, want := range readings {
		got, err := s.Readings(want.Device, time.Time{}, time.Time{}, 0)
		if err != nil {
			t.Fatalf("Readings(%s): %v", want.Device, err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("Readings(%s):\n got %v\nwant [%v]", want.Device, got, want)
		}
		last, ok, err := s.LastReading(want.Device)
		if err != nil || !ok || !reflect.DeepEqual(last, want) {
			t.Errorf("LastReading(%s) = %v, %v, %v; want %v, true, nil", want.Device, last, ok, err, want)
		}
	}
	gotDevices, err := s.Devices()
	if err != nil {
		t.Fatal(err)
	}
	wantDevices := []gridmint.Device{devices[1], devices[0]} // sorted by ID
	if !reflect.DeepEqual(gotDevices, wantDevices) {
		t.Errorf("Devices():\n got %v\nwant %v", gotDevices, wantDevices)
	}
	d, err := s.Device("n/tasmota/b")
	if err != nil || !reflect.DeepEqual(d, devices[0]) {
		t.Errorf("Device(n/tasmota/b) = %v, %v; want %v, nil", d, err, devices[0])
	}
	gotRej, _, err := s.Rejections("", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotRej, rejections) {
		t.Errorf("Rejections():\n got %#v\nwant %#v", gotRej, rejections)
	}
	states, err := s.CounterStates()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[gridmint.DeviceID][]byte{"n/tasmota/b": {1, 2, 3}}; !reflect.DeepEqual(states, want) {
		t.Errorf("CounterStates() = %v, want %v", states, want)
	}
	counts, err := s.RejectionCounts()
	if err != nil {
		t.Fatal(err)
	}
	if want := map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 1}; !reflect.DeepEqual(counts, want) {
		t.Errorf("RejectionCounts() = %v, want %v", counts, want)
	}
}

func TestReadingsRange(t *testing.T) {
	const p, p2, short = "x/a/p", "x/a/p:2", "x/a"
	pre1970 := time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
	ancient := time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
	future := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	s := openMem(t)
	commit(t, s, func(b *Batch) {
		// Energies identify readings; put them out of time order.
		b.PutReading(reading(p, t0.Add(2*time.Second), 3))
		b.PutReading(reading(p, t0, 1))
		b.PutReading(reading(p, t0.Add(time.Second), 2))
		b.PutReading(reading(p, t0.Add(time.Second), 22)) // same time as 2: kept, after it
		b.PutReading(reading(p, pre1970, -1))
		b.PutReading(reading(p, ancient, -2))
		b.PutReading(reading(p, future, 99))
		// Neighbours whose ids share a prefix with p, at the same times.
		b.PutReading(reading(p2, t0, 1001))
		b.PutReading(reading(p2, t0.Add(time.Second), 1002))
		b.PutReading(reading(short, t0, 2001))
	})
	commit(t, s, func(b *Batch) {
		b.PutReading(reading(p, t0.Add(time.Second), 222)) // same time again, later batch
	})

	tests := []struct {
		name     string
		id       gridmint.DeviceID
		from, to time.Time
		limit    int
		want     []gridmint.MWh
	}{
		{"all", p, time.Time{}, time.Time{}, 0, []gridmint.MWh{-2, -1, 1, 2, 22, 222, 3, 99}},
		{"half-open: from included, to excluded", p, t0, t0.Add(2 * time.Second), 0, []gridmint.MWh{1, 2, 22, 222}},
		{"to one ns after includes it", p, t0, t0.Add(2*time.Second + 1), 0, []gridmint.MWh{1, 2, 22, 222, 3}},
		{"from one ns after excludes it", p, t0.Add(1), t0.Add(2 * time.Second), 0, []gridmint.MWh{2, 22, 222}},
		{"same-timestamp readings all kept", p, t0.Add(time.Second), t0.Add(time.Second + 1), 0, []gridmint.MWh{2, 22, 222}},
		{"limit", p, t0, time.Time{}, 2, []gridmint.MWh{1, 2}},
		{"limit splits same timestamp", p, t0, time.Time{}, 3, []gridmint.MWh{1, 2, 22}},
		{"empty range", p, t0, t0, 0, nil},
		{"inverted range", p, t0.Add(time.Second), t0, 0, nil},
		{"pre-1970 only", p, time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 0), 0, []gridmint.MWh{-1}},
		{"up to 1970 excludes epoch neighbours", p, ancient, pre1970, 0, []gridmint.MWh{-2}},
		{"far future", p, t0.Add(time.Hour), time.Time{}, 0, []gridmint.MWh{99}},
		{"far future bound", p, t0.Add(time.Hour), future.Add(1), 0, []gridmint.MWh{99}},
		{"prefix isolation: p:2", p2, time.Time{}, time.Time{}, 0, []gridmint.MWh{1001, 1002}},
		{"prefix isolation: shorter id", short, time.Time{}, time.Time{}, 0, []gridmint.MWh{2001}},
		{"unknown device", "x/a/q", time.Time{}, time.Time{}, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Readings(tc.id, tc.from, tc.to, tc.limit)
			if err != nil {
				t.Fatalf("Readings: %v", err)
			}
			if !reflect.DeepEqual(energies(got), energies2(tc.want)) {
				t.Fatalf("Readings(%s, %v, %v, %d) energies = %v, want %v", tc.id, tc.from, tc.to, tc.limit, energies(got), tc.want)
			}
			for _, r := range got {
				if r.Device != tc.id {
					t.Fatalf("got reading of %s, want only %s", r.Device, tc.id)
				}
			}
		})
	}

	lastTests := []struct {
		id     gridmint.DeviceID
		want   gridmint.MWh
		wantOK bool
	}{
		{p, 99, true},
		{p2, 1002, true},
		{short, 2001, true},
		{"x/a/q", 0, false},
		{"x/a/p:", 0, false},
	}
	for _, tc := range lastTests {
		got, ok, err := s.LastReading(tc.id)
		if err != nil || ok != tc.wantOK || got.Energy != tc.want {
			t.Errorf("LastReading(%s) = energy %v, %v, %v; want %v, %v, nil", tc.id, got.Energy, ok, err, tc.want, tc.wantOK)
		}
	}
}

// energies2 normalises a nil want to an empty slice, as energies() returns.
func energies2(e []gridmint.MWh) []gridmint.MWh {
	if e == nil {
		return []gridmint.MWh{}
	}
	return e
}

func TestLastReadingSameTimestamp(t *testing.T) {
	s := openMem(t)
	commit(t, s, func(b *Batch) {
		b.PutReading(reading("x/a/p", t0, 1))
		b.PutReading(reading("x/a/p", t0, 2))
	})
	got, ok, err := s.LastReading("x/a/p")
	if err != nil || !ok || got.Energy != 2 {
		t.Fatalf("LastReading = energy %v, %v, %v; want the later-committed 2, true, nil", got.Energy, ok, err)
	}
}

func TestReadingsDefaultLimit(t *testing.T) {
	s := openMem(t)
	n := DefaultReadLimit + 5
	for i := 0; i < n; i += MaxBatchLen {
		commit(t, s, func(b *Batch) {
			for j := i; j < min(i+MaxBatchLen, n); j++ {
				b.PutReading(reading("x/a/p", t0.Add(time.Duration(j)*time.Second), gridmint.MWh(j)))
			}
		})
	}
	got, err := s.Readings("x/a/p", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != DefaultReadLimit {
		t.Fatalf("Readings with limit 0 returned %d, want DefaultReadLimit %d", len(got), DefaultReadLimit)
	}
	if got[0].Energy != 0 || got[len(got)-1].Energy != DefaultReadLimit-1 {
		t.Fatalf("got energies %v..%v, want 0..%d", got[0].Energy, got[len(got)-1].Energy, DefaultReadLimit-1)
	}
}

func TestCommitInvalidWritesNothing(t *testing.T) {
	tooLong := gridmint.DeviceID("x/a/" + strings.Repeat("s", MaxDeviceIDLen))
	tests := []struct {
		name string
		bad  func(b *Batch)
	}{
		{"reading without device", func(b *Batch) { b.PutReading(reading("", t0, 1)) }},
		{"reading with zero time", func(b *Batch) { b.PutReading(reading("x/a/p", time.Time{}, 1)) }},
		{"reading with NaN power", func(b *Batch) {
			r := reading("x/a/p", t0, 1)
			r.Power = gridmint.W(math.NaN())
			b.PutReading(r)
		}},
		{"reading with too long id", func(b *Batch) { b.PutReading(reading(tooLong, t0, 1)) }},
		{"reading with a value its fields do not name", func(b *Batch) {
			r := reading("x/a/p", t0, 1)
			r.SoC = 50 // FieldSoC not set: the encoding would drop it
			b.PutReading(r)
		}},
		{"reading with NaN state of charge", func(b *Batch) {
			r := reading("x/a/p", t0, 1)
			r.Fields |= gridmint.FieldSoC
			r.SoC = math.NaN()
			b.PutReading(r)
		}},
		{"reading after year 9999", func(b *Batch) { b.PutReading(reading("x/a/p", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), 1)) }},
		{"reading with source time before year 1", func(b *Batch) {
			r := reading("x/a/p", t0, 1)
			r.SourceTime = time.Time{}.Add(-time.Second)
			b.PutReading(r)
		}},
		{"reading too large to encode", func(b *Batch) {
			r := reading("x/a/p", t0, 1)
			r.Quality = gridmint.Quality(strings.Repeat("q", MaxValueLen))
			b.PutReading(r)
		}},
		{"device too large to encode", func(b *Batch) {
			d := device("x/a/d")
			d.Name = strings.Repeat("n", MaxValueLen)
			b.PutDevice(d)
		}},
		{"device first seen after year 9999", func(b *Batch) {
			d := device("x/a/d")
			d.FirstSeen = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
			b.PutDevice(d)
		}},
		{"rejection after year 9999", func(b *Batch) {
			b.PutRejection(rejection(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), gridmint.ReasonMalformed, ""))
		}},
		{"device failing Validate", func(b *Batch) {
			d := device("x/a/d")
			d.Kind = "toaster"
			b.PutDevice(d)
		}},
		{"device with a bad site id", func(b *Batch) {
			d := device("x/a/d")
			d.Site = "../home"
			b.PutDevice(d)
		}},
		{"device with too long id", func(b *Batch) { b.PutDevice(device(tooLong)) }},
		{"rejection without reason", func(b *Batch) { b.PutRejection(rejection(t0, "", "no reason")) }},
		{"rejection with too long reason", func(b *Batch) {
			b.PutRejection(rejection(t0, gridmint.Reason(strings.Repeat("r", MaxReasonLen+1)), ""))
		}},
		{"counter state without device", func(b *Batch) { b.PutCounterState("", []byte{1}) }},
		{"counter state too large", func(b *Batch) { b.PutCounterState("x/a/p", make([]byte, MaxCounterStateLen+1)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openMem(t)
			seq := s.seq
			b := s.NewBatch()
			b.PutReading(reading("x/a/p", t0, 1))
			b.PutDevice(device("x/a/p"))
			b.PutRejection(rejection(t0, gridmint.ReasonDuplicate, "dup"))
			b.PutCounterState("x/a/p", []byte{1})
			tc.bad(b)
			b.PutReading(reading("x/a/p", t0.Add(time.Second), 2))

			err := s.Commit(b)
			var gerr *gridmint.Error
			if !errors.As(err, &gerr) || gerr.Code != gridmint.EInvalid {
				t.Fatalf("Commit error = %v, want a *gridmint.Error with code %s", err, gridmint.EInvalid)
			}
			assertEmpty(t, s)
			if s.seq != seq {
				t.Errorf("sequence moved from %d to %d on a refused batch", seq, s.seq)
			}
		})
	}
}

// assertEmpty checks that no record of any type is stored.
func assertEmpty(t *testing.T, s *Store) {
	t.Helper()
	var keys []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, fmt.Sprintf("%q", it.Item().Key()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("store holds %d keys, want none: %v", len(keys), keys)
	}
}

func TestBatchSizeLimits(t *testing.T) {
	t.Run("1000 readings and 1000 rejections fit", func(t *testing.T) {
		s := openDisk(t, "", Options{})
		commit(t, s, func(b *Batch) {
			for i := range 1000 {
				b.PutReading(reading("0x1f00000000000000000000000000000000000c3/opendtu/116181234567", t0.Add(time.Duration(i)*time.Second), gridmint.MWh(i)))
				rj := rejection(t0.Add(time.Duration(i)*time.Second), gridmint.ReasonImplausible, "jump")
				rj.Raw = bytes.Repeat([]byte("x"), 300)
				b.PutRejection(rj)
			}
		})
		counts, err := s.RejectionCounts()
		if err != nil || counts[gridmint.ReasonImplausible] != 1000 {
			t.Fatalf("RejectionCounts = %v, %v; want implausible: 1000", counts, err)
		}
	})
	t.Run("MaxBatchLen worst-case readings fit at the minimum memtable", func(t *testing.T) {
		s := openDisk(t, "", Options{MemTableSize: MinMemTableSize})
		id := gridmint.DeviceID("x/a/" + strings.Repeat("s", MaxDeviceIDLen-4))
		// Grow a custom quality until the value is the largest kept inline.
		r := reading(id, t0, 1)
		for len(appendReading(nil, r)) < valueThreshold-1 {
			r.Quality += "q"
		}
		if n := len(appendReading(nil, r)); n != valueThreshold-1 {
			t.Fatalf("worst-case value is %d bytes, want %d", n, valueThreshold-1)
		}
		commit(t, s, func(b *Batch) {
			for i := range MaxBatchLen {
				r.Time = t0.Add(time.Duration(i))
				b.PutReading(r)
			}
		})
		got, err := s.Readings(id, time.Time{}, time.Time{}, 0)
		if err != nil || len(got) != MaxBatchLen {
			t.Fatalf("Readings = %d, %v; want %d", len(got), err, MaxBatchLen)
		}
	})
	t.Run("MaxBatchLen+1 is refused", func(t *testing.T) {
		s := openMem(t)
		b := s.NewBatch()
		for i := range MaxBatchLen + 1 {
			b.PutReading(reading("x/a/p", t0.Add(time.Duration(i)), 1))
		}
		err := s.Commit(b)
		if !errors.Is(err, ErrBatchTooBig) || gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Fatalf("Commit(%d items) = %v, want ErrBatchTooBig (code %s)", b.Len(), err, gridmint.EInvalid)
		}
		assertEmpty(t, s)
	})
}

func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s, func(b *Batch) {
		b.PutReading(reading("x/a/p", t0, 1))
		b.PutDevice(device("x/a/p"))
		b.PutCounterState("x/a/p", []byte("state-1"))
		b.PutRejection(rejection(t0, gridmint.ReasonMalformed, "one"))
		b.PutRejection(rejection(t0, gridmint.ReasonNegative, "two"))
	})
	commit(t, s, func(b *Batch) {
		b.PutRejection(rejection(t0.Add(time.Second), gridmint.ReasonMalformed, "three"))
	})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openDisk(t, dir, Options{})
	// A reading identical to the stored one must be added, not overwrite
	// it: the sequence continues across reopen.
	commit(t, s, func(b *Batch) { b.PutReading(reading("x/a/p", t0, 2)) })

	got, err := s.Readings("x/a/p", time.Time{}, time.Time{}, 0)
	if err != nil || !reflect.DeepEqual(energies(got), []gridmint.MWh{1, 2}) {
		t.Errorf("Readings after reopen = %v, %v; want energies [1 2]", energies(got), err)
	}
	if d, err := s.Device("x/a/p"); err != nil || !reflect.DeepEqual(d, device("x/a/p")) {
		t.Errorf("Device after reopen = %v, %v", d, err)
	}
	if st, err := s.CounterStates(); err != nil || string(st["x/a/p"]) != "state-1" {
		t.Errorf("CounterStates after reopen = %q, %v; want state-1", st, err)
	}
	rj, _, err := s.Rejections("", 0)
	if err != nil || !reflect.DeepEqual(details(rj), []string{"three", "two", "one"}) {
		t.Errorf("Rejections after reopen = %v, %v; want [three two one]", details(rj), err)
	}
	counts, err := s.RejectionCounts()
	want := map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 2, gridmint.ReasonNegative: 1}
	if err != nil || !reflect.DeepEqual(counts, want) {
		t.Errorf("RejectionCounts after reopen = %v, %v; want %v", counts, err, want)
	}
}

func TestRejectionsPaging(t *testing.T) {
	s := openMem(t)
	commit(t, s, func(b *Batch) {
		b.PutRejection(rejection(t0.Add(2*time.Second), gridmint.ReasonAbsurd, "c"))
		b.PutRejection(rejection(t0, gridmint.ReasonMalformed, "a"))
		b.PutRejection(rejection(t0.Add(time.Second), gridmint.ReasonMalformed, "b"))
		b.PutRejection(rejection(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), gridmint.ReasonMalformed, "old"))
	})
	commit(t, s, func(b *Batch) {
		b.PutRejection(rejection(t0.Add(2*time.Second), gridmint.ReasonDuplicate, "c2"))
	})
	all, next, err := s.Rejections("", 0)
	if err != nil || next != "" {
		t.Fatalf("Rejections(all) next = %q, err = %v", next, err)
	}
	if got, want := details(all), []string{"c2", "c", "b", "a", "old"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("all, newest first, equal times newest commit first: got %v, want %v", got, want)
	}
	// Pages of two walk the same order without skipping the two rejections
	// that share a time, across a page boundary.
	for _, size := range []int{1, 2, 3} {
		var walked []string
		cursor := ""
		for page := 0; page < 10; page++ {
			got, next, err := s.Rejections(cursor, size)
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, details(got)...)
			if next == "" {
				break
			}
			cursor = next
		}
		if want := details(all); !reflect.DeepEqual(walked, want) {
			t.Errorf("pages of %d: got %v, want %v", size, walked, want)
		}
	}
	for _, bad := range []string{"zz", "00", strings.Repeat("0", 80)} {
		if _, _, err := s.Rejections(bad, 1); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("Rejections(cursor %q) error = %v, want invalid", bad, err)
		}
	}
	counts, err := s.RejectionCounts()
	want := map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 3, gridmint.ReasonAbsurd: 1, gridmint.ReasonDuplicate: 1}
	if err != nil || !reflect.DeepEqual(counts, want) {
		t.Errorf("RejectionCounts = %v, %v; want %v", counts, err, want)
	}
}

func TestPutRejectionCopiesAndCuts(t *testing.T) {
	s := openMem(t)
	raw := []byte("payload")
	long := bytes.Repeat([]byte{'z'}, MaxRejectionRaw+10)
	b := s.NewBatch()
	b.PutRejection(gridmint.Rejection{Time: t0, Reason: gridmint.ReasonMalformed, Raw: raw, Detail: "short"})
	b.PutRejection(gridmint.Rejection{
		Time: t0.Add(time.Second), Reason: gridmint.ReasonAbsurd, Raw: long,
		Topic: strings.Repeat("ü", MaxRejectionText), Detail: "big",
	})
	copy(raw, "XXXXXXX") // the caller reuses its buffer
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Rejections("", 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("Rejections = %d, %v; want 2", len(got), err)
	}
	if string(got[1].Raw) != "payload" {
		t.Errorf("Raw = %q, want the bytes at PutRejection time %q", got[1].Raw, "payload")
	}
	big := got[0]
	if len(big.Raw) != MaxRejectionRaw {
		t.Errorf("cut Raw has %d bytes, want %d", len(big.Raw), MaxRejectionRaw)
	}
	if want := fmt.Sprintf("big [raw cut from %d to %d bytes]", len(long), MaxRejectionRaw); big.Detail != want {
		t.Errorf("Detail = %q, want %q", big.Detail, want)
	}
	if len(big.Topic) > MaxRejectionText || !strings.HasPrefix(strings.Repeat("ü", MaxRejectionText), big.Topic) {
		t.Errorf("Topic cut to %d bytes (%q...), want <= %d bytes on a rune boundary", len(big.Topic), big.Topic[:8], MaxRejectionText)
	}
}

func TestQuarantineTTL(t *testing.T) {
	const ttl = 48 * time.Hour
	s := openDisk(t, "", Options{QuarantineTTL: ttl})
	before := time.Now()
	commit(t, s, func(b *Batch) {
		b.PutRejection(rejection(t0, gridmint.ReasonMalformed, "x"))
		b.PutReading(reading("x/a/p", t0, 1))
		b.PutDevice(device("x/a/p"))
		b.PutCounterState("x/a/p", []byte{1})
	})
	after := time.Now()

	expires := map[byte][]uint64{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			expires[k[0]] = append(expires[k[0]], it.Item().ExpiresAt())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := uint64(before.Add(ttl).Unix()), uint64(after.Add(ttl).Unix())+1
	if e := expires[prefixRejection]; len(e) != 1 || e[0] < lo || e[0] > hi {
		t.Errorf("rejection ExpiresAt = %v, want one in [%d, %d] (commit time + %v)", e, lo, hi, ttl)
	}
	for _, typ := range []byte{prefixReading, prefixDevice, prefixCounter, prefixCount, prefixMeta} {
		if e := expires[typ]; len(e) != 1 || e[0] != 0 {
			t.Errorf("%c: ExpiresAt = %v, want one record that never expires", typ, e)
		}
	}

	// An already expired rejection (written directly, as the TTL would
	// leave it) is not returned, and its count stays.
	err = s.db.Update(func(txn *badger.Txn) error {
		e := badger.NewEntry(rejectionKey(t0.Add(time.Hour), 1<<60), []byte(`{"reason":"malformed","detail":"expired"}`))
		e.ExpiresAt = 1
		return txn.SetEntry(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Rejections("", 0)
	if err != nil || !reflect.DeepEqual(details(got), []string{"x"}) {
		t.Errorf("Rejections = %v, %v; want only the live [x]", details(got), err)
	}
}

func TestDefaultQuarantineTTL(t *testing.T) {
	s := openMem(t)
	if s.ttl != DefaultQuarantineTTL {
		t.Fatalf("ttl = %v, want %v", s.ttl, DefaultQuarantineTTL)
	}
}

func TestCounterStatesLatestWins(t *testing.T) {
	s := openMem(t)
	commit(t, s, func(b *Batch) {
		b.PutCounterState("x/a/p", []byte("1"))
		b.PutCounterState("x/a/q", []byte("q1"))
		b.PutCounterState("x/a/p", []byte("2"))
	})
	commit(t, s, func(b *Batch) { b.PutCounterState("x/a/q", []byte("q2")) })
	got, err := s.CounterStates()
	want := map[gridmint.DeviceID][]byte{"x/a/p": []byte("2"), "x/a/q": []byte("q2")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("CounterStates = %q, %v; want %q", got, err, want)
	}
}

func TestDeviceReplaceAndNotFound(t *testing.T) {
	s := openMem(t)
	d := device("x/a/p")
	commit(t, s, func(b *Batch) { b.PutDevice(d) })
	d.Name, d.Site = "renamed", "home-1"
	commit(t, s, func(b *Batch) { b.PutDevice(d) })
	if got, err := s.Device("x/a/p"); err != nil || got.Name != "renamed" || got.Site != "home-1" {
		t.Errorf("Device = %v (site %q), %v; want the renamed one in site home-1", got, got.Site, err)
	}
	if all, err := s.Devices(); err != nil || len(all) != 1 {
		t.Errorf("Devices = %v, %v; want one device", all, err)
	}
	_, err := s.Device("x/a/none")
	var gerr *gridmint.Error
	if !errors.As(err, &gerr) || gerr.Code != gridmint.ENotFound {
		t.Errorf("Device(absent) error = %v, want *gridmint.Error %s", err, gridmint.ENotFound)
	}
}

func TestCommitTwiceAndEmpty(t *testing.T) {
	s := openMem(t)
	if err := s.Commit(s.NewBatch()); err != nil {
		t.Fatalf("Commit(empty) = %v, want nil", err)
	}
	if err := s.Commit(nil); err != nil {
		t.Fatalf("Commit(nil) = %v, want nil", err)
	}
	b := s.NewBatch()
	b.PutReading(reading("x/a/p", t0, 1))
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(b); gridmint.ErrorCode(err) != gridmint.EInvalid {
		t.Fatalf("second Commit of one batch = %v, want code %s", err, gridmint.EInvalid)
	}
	if got, _ := s.Readings("x/a/p", time.Time{}, time.Time{}, 0); len(got) != 1 {
		t.Fatalf("got %d readings, want 1 (no duplicate)", len(got))
	}
}

func TestConcurrentCommitsAndReads(t *testing.T) {
	s := openMem(t)
	const writers, batches, perBatch = 4, 20, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches+writers)
	for w := range writers {
		wg.Go(func() {
			id := gridmint.DeviceID(fmt.Sprintf("x/a/w%d", w))
			for i := range batches {
				b := s.NewBatch()
				for j := range perBatch {
					// Every writer uses the same timestamps: keys must still be unique.
					b.PutReading(reading(id, t0.Add(time.Duration(j)), gridmint.MWh(i*perBatch+j)))
				}
				b.PutRejection(rejection(t0, gridmint.ReasonDuplicate, string(id)))
				if err := s.Commit(b); err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() {
			for range batches {
				if _, err := s.Readings(gridmint.DeviceID(fmt.Sprintf("x/a/w%d", w)), time.Time{}, time.Time{}, 0); err != nil {
					errs <- err
				}
				if _, err := s.RejectionCounts(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for w := range writers {
		got, err := s.Readings(gridmint.DeviceID(fmt.Sprintf("x/a/w%d", w)), time.Time{}, time.Time{}, 0)
		if err != nil || len(got) != batches*perBatch {
			t.Errorf("writer %d: %d readings, %v; want %d", w, len(got), err, batches*perBatch)
		}
	}
	counts, err := s.RejectionCounts()
	if err != nil || counts[gridmint.ReasonDuplicate] != writers*batches {
		t.Errorf("RejectionCounts = %v, %v; want duplicate: %d", counts, err, writers*batches)
	}
}

func TestClose(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
	b := s.NewBatch()
	b.PutReading(reading("x/a/p", t0, 1))
	checks := map[string]error{"Commit": s.Commit(b)}
	_, checks["Readings"] = s.Readings("x/a/p", time.Time{}, time.Time{}, 0)
	_, _, checks["LastReading"] = s.LastReading("x/a/p")
	_, checks["Devices"] = s.Devices()
	_, checks["Device"] = s.Device("x/a/p")
	_, checks["CounterStates"] = s.CounterStates()
	_, _, checks["Rejections"] = s.Rejections("", 0)
	_, checks["RejectionCounts"] = s.RejectionCounts()
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	if s.gcOnce() {
		t.Errorf("gcOnce after Close = true, want false")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		dir  string
		opts Options
	}{
		{"memtable below minimum", t.TempDir(), Options{MemTableSize: MinMemTableSize - 1}},
		{"negative TTL", t.TempDir(), Options{QuarantineTTL: -time.Second}},
		{"empty dir on disk", "", Options{}},
		{"value log file too small", t.TempDir(), Options{ValueLogFileSize: 1024}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(tc.dir, tc.opts)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%q, %+v) succeeded, want error", tc.dir, tc.opts)
			}
		})
	}
	t.Run("second open of a locked dir", func(t *testing.T) {
		openDisk(t, dir, Options{})
		if s, err := Open(dir, Options{}); err == nil {
			_ = s.Close()
			t.Fatal("second Open of the same dir succeeded, want a lock error")
		}
	})
}

func TestRunGC(t *testing.T) {
	s := openDisk(t, "", Options{})
	commit(t, s, func(b *Batch) { b.PutReading(reading("x/a/p", t0, 1)) })
	if !s.gcOnce() {
		t.Fatal("gcOnce on an open store = false, want true")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.RunGC(ctx, time.Hour) // returns because ctx is done

	done := make(chan struct{})
	go func() {
		s.RunGC(context.Background(), time.Nanosecond) // returns once the store is closed
		close(done)
	}()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-done

	m := openMem(t)
	m.RunGC(context.Background(), time.Nanosecond) // in memory: returns at once
}

// TestRunGCAsksItsGate: a period whose gate says no runs no GC pass, and
// the gate is asked every period.
func TestRunGCAsksItsGate(t *testing.T) {
	asked := make(chan struct{})
	s := openDisk(t, "", Options{GCGate: func() bool {
		asked <- struct{}{}
		return false
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.RunGC(ctx, time.Millisecond)
		close(done)
	}()
	for i := 0; i < 3; i++ {
		select {
		case <-asked:
		case <-time.After(10 * time.Second):
			t.Fatalf("RunGC asked its gate %d times in 10 s, want every period", i)
		}
	}
	cancel()
	for {
		select {
		case <-asked:
			continue
		case <-done:
		}
		break
	}
}

// TestAbandon: an abandoned store refuses every operation like a closed
// one, without badger's Close (whose memtable flush faults on a full disk).
func TestAbandon(t *testing.T) {
	s := openDisk(t, "", Options{})
	commit(t, s, func(b *Batch) { b.PutReading(reading("x/a/p", t0, 1)) })
	s.Abandon()
	b := s.NewBatch()
	b.PutReading(reading("x/a/p", t0.Add(time.Second), 2))
	if err := s.Commit(b); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Abandon = %v, want ErrClosed", err)
	}
	if _, err := s.Readings("x/a/p", time.Time{}, time.Time{}, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Readings after Abandon = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after Abandon = %v, want nil", err)
	}
	_ = s.db.Close() // what the process exit would do, before TempDir is removed
}

func TestMinFreeScalesWithTheMemtable(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want int64
	}{
		{Options{}, 64 << 20},
		{Options{MemTableSize: 32 << 20}, 128 << 20},
	} {
		if got := MinFree(tt.opts); got != tt.want {
			t.Errorf("MinFree(memtable %d) = %d, want %d", tt.opts.MemTableSize, got, tt.want)
		}
	}
}

func TestBadgerLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	l.Debugf("debug %d", 1)
	l.Infof("info %d", 2)
	l.Warningf("warn %d\n", 3)
	l.Errorf("error %d", 4)
	out := buf.String()
	for _, want := range []string{`level=WARN msg="warn 3"`, `level=ERROR msg="error 4"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log output %q lacks %q", out, want)
		}
	}
	for _, unwanted := range []string{"debug 1", "info 2"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("log output %q contains %q, want info and debug dropped", out, unwanted)
		}
	}
}

func TestCommandsAndCountOnlyRejections(t *testing.T) {
	s := openMem(t)
	rec := func(id string, dev gridmint.DeviceID, st gridmint.CommandStatus) gridmint.CommandRecord {
		return gridmint.CommandRecord{ID: id, Setpoint: gridmint.Setpoint{Device: dev, Kind: gridmint.SetpointSwitch, Value: 1, Origin: gridmint.OriginHomeowner},
			Topic: "cmnd/p/POWER", Payload: "ON", SentAt: t0, Status: st}
	}
	commit(t, s, func(b *Batch) {
		b.PutCommand(rec("0001", "x/a/p", gridmint.CommandPending))
		b.PutCommand(rec("0002", "x/a/q", gridmint.CommandPending))
		b.PutCommand(rec("0003", "x/a/p", gridmint.CommandPending))
		b.CountRejections(gridmint.Reason("rate_limited"), 5)
	})
	// Settling a command replaces its record.
	commit(t, s, func(b *Batch) { b.PutCommand(rec("0001", "x/a/p", gridmint.CommandConfirmed)) })
	got, err := s.Command("0001")
	if err != nil || got.Status != gridmint.CommandConfirmed {
		t.Errorf("Command(0001) = %+v, %v; want confirmed", got, err)
	}
	if _, err := s.Command("nope"); gridmint.ErrorCode(err) != gridmint.ENotFound {
		t.Errorf("Command(nope) error = %v, want not_found", err)
	}
	all, next, err := s.Commands("", "", 0)
	if err != nil || next != "" || len(all) != 3 || all[0].ID != "0003" || all[2].ID != "0001" {
		t.Errorf("Commands(all) = %v, %q, %v; want 0003, 0002, 0001", all, next, err)
	}
	page, next, _ := s.Commands("x/a/p", "", 1)
	if len(page) != 1 || page[0].ID != "0003" || next != "0003" {
		t.Fatalf("first page of x/a/p = %v, next %q", page, next)
	}
	page, _, _ = s.Commands("x/a/p", next, 1)
	if len(page) != 1 || page[0].ID != "0001" {
		t.Errorf("second page of x/a/p = %v, want 0001", page)
	}
	counts, err := s.RejectionCounts()
	if err != nil || counts["rate_limited"] != 5 {
		t.Errorf("counts = %v, %v; want rate_limited 5 without quarantine entries", counts, err)
	}
	if rj, _, _ := s.Rejections("", 0); len(rj) != 0 {
		t.Errorf("count-only rejections left %d quarantine entries", len(rj))
	}
}
