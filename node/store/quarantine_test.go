package store

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// garbage is n bytes of seeded random binary: it neither compresses nor
// is text, like a flood's payloads.
func garbage(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// allRejections lists the whole quarantine, newest first.
func allRejections(t *testing.T, s *Store) []gridmint.Rejection {
	t.Helper()
	var out []gridmint.Rejection
	cursor := ""
	for {
		page, next, err := s.Rejections(cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// TestQuarantineBudgetTrimsOldestFirst fills a quarantine with a 2 MiB
// budget with five times that: after every commit it is within the budget,
// what is left is the newest rejections without a gap, every deleted one
// is counted by reason, and the lifetime counts still count them all.
func TestQuarantineBudgetTrimsOldestFirst(t *testing.T) {
	dir := t.TempDir()
	const budget = 2 * MinQuarantineMaxBytes
	s := openDisk(t, dir, Options{QuarantineMaxBytes: budget})
	rng := rand.New(rand.NewPCG(1, 2))
	reasons := []gridmint.Reason{gridmint.ReasonMalformed, gridmint.ReasonWrongType, gridmint.ReasonUnknownDevice}
	written := map[gridmint.Reason]uint64{}
	const batches, perBatch = 100, 20
	for i := range batches {
		b := s.NewBatch()
		for j := range perBatch {
			n := i*perBatch + j
			r := reasons[n%len(reasons)]
			// Payloads of 1 byte to 8 KiB: cut to MaxRejectionSample.
			b.PutRejection(gridmint.Rejection{Time: t0.Add(time.Duration(n) * time.Second), Topic: "tele/x/SENSOR", Reason: r,
				Detail: strconv.Itoa(n), Raw: garbage(rng, 1+rng.IntN(8<<10))})
			written[r]++
		}
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
		if st := s.QuarantineStats(); st.Bytes > budget {
			t.Fatalf("after batch %d the quarantine holds %d bytes, over its budget of %d", i, st.Bytes, budget)
		}
	}
	st := s.QuarantineStats()
	kept := allRejections(t, s)
	if int64(len(kept)) != st.Entries || len(kept) == 0 {
		t.Fatalf("%d rejections listed, stats say %d entries", len(kept), st.Entries)
	}
	// The newest, without a gap: details count down from the last one.
	for i, r := range kept {
		if want := strconv.Itoa(batches*perBatch - 1 - i); r.Detail[:len(want)] != want {
			t.Fatalf("kept[%d] is rejection %q, want %s: the oldest must go first, and only they", i, r.Detail, want)
		}
	}
	var trimmed uint64
	for r, n := range written {
		var left uint64
		for _, k := range kept {
			if k.Reason == r {
				left++
			}
		}
		if got := st.Trimmed[r]; got != n-left {
			t.Errorf("Trimmed[%s] = %d, want %d written − %d kept = %d", r, got, n, left, n-left)
		}
		trimmed += st.Trimmed[r]
	}
	if trimmed == 0 {
		t.Fatal("nothing was trimmed: the test wrote too little to exercise the budget")
	}
	// Trimming leaves 7/8 of the budget; the kept entries fill at least
	// that minus one entry (about 5.6 KiB encoded).
	if low := int64(budget - budget/8 - 8<<10); st.Bytes < low {
		t.Errorf("%d bytes kept, want at least %d: trimming deletes more than it must", st.Bytes, low)
	}
	counts, err := s.RejectionCounts()
	if err != nil || !reflect.DeepEqual(counts, written) {
		t.Errorf("RejectionCounts = %v, %v; want every rejection written %v", counts, err, written)
	}

	// Reopened, the store measures the same size (within badger's
	// estimate of a value-log record's header, a few bytes); with a
	// smaller budget it trims at once.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir, Options{QuarantineMaxBytes: budget})
	if again := s.QuarantineStats(); again.Entries != st.Entries || again.Bytes < st.Bytes-8*st.Entries || again.Bytes > st.Bytes+8*st.Entries {
		t.Errorf("reopened: %d bytes in %d entries, want the %d in %d counted before", again.Bytes, again.Entries, st.Bytes, st.Entries)
	}
	s.Close()
	s = openDisk(t, dir, Options{QuarantineMaxBytes: budget / 2})
	small := s.QuarantineStats()
	if small.Bytes > budget/2 || small.Entries >= st.Entries {
		t.Errorf("reopened with half the budget: %d bytes in %d entries, want at most %d bytes", small.Bytes, small.Entries, budget/2)
	}
	var reTrimmed uint64
	for _, n := range small.Trimmed {
		reTrimmed += n
	}
	if got := len(allRejections(t, s)); int64(got) != small.Entries || reTrimmed != uint64(st.Entries-small.Entries) {
		t.Errorf("%d listed, %d counted, %d trimmed at open; want %d trimmed", got, small.Entries, reTrimmed, st.Entries-small.Entries)
	}
}

// TestQuarantineCountsWhatIsNotKept: rejections counted but not kept (over
// a rate limit) are in the lifetime counts and in NotKept, and take no
// room.
func TestQuarantineCountsWhatIsNotKept(t *testing.T) {
	s := openMem(t)
	commit(t, s, func(b *Batch) {
		b.CountRejections(gridmint.ReasonMalformed, 7)
		b.CountRejections(gridmint.ReasonRateLimited, 2)
		b.PutRejection(rejection(t0, gridmint.ReasonMalformed, "kept"))
	})
	st := s.QuarantineStats()
	want := map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 7, gridmint.ReasonRateLimited: 2}
	if !reflect.DeepEqual(st.NotKept, want) || st.Entries != 1 || len(st.Trimmed) != 0 {
		t.Errorf("stats = %+v; want NotKept %v, 1 entry, nothing trimmed", st, want)
	}
	counts, err := s.RejectionCounts()
	if err != nil || counts[gridmint.ReasonMalformed] != 8 {
		t.Errorf("RejectionCounts = %v, %v; want 8 malformed (7 counted, 1 kept)", counts, err)
	}
	if st.MaxBytes != DefaultQuarantineMaxBytes {
		t.Errorf("MaxBytes = %d, want the default %d", st.MaxBytes, DefaultQuarantineMaxBytes)
	}
}

func TestQuarantineBudgetBelowMinimum(t *testing.T) {
	for _, n := range []int64{-1, MinQuarantineMaxBytes - 1} {
		if _, err := Open("", Options{InMemory: true, QuarantineMaxBytes: n}); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("Open with a quarantine budget of %d B: %v, want an invalid-argument error", n, err)
		}
	}
}

// BenchmarkQuarantineTrim is a commit of 20 rejections into a quarantine
// at its budget: one trimming pass per eighth of the budget written.
func BenchmarkQuarantineTrim(b *testing.B) {
	s := openDisk(b, "", Options{QuarantineMaxBytes: 8 << 20})
	rng := rand.New(rand.NewPCG(3, 4))
	raw := garbage(rng, MaxRejectionSample)
	n := 0
	b.ResetTimer()
	for range b.N {
		batch := s.NewBatch()
		for range 20 {
			batch.PutRejection(gridmint.Rejection{Time: t0.Add(time.Duration(n) * time.Millisecond), Reason: gridmint.ReasonMalformed,
				Detail: fmt.Sprint(n), Raw: raw})
			n++
		}
		if err := s.Commit(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(s.QuarantineStats().Bytes)/(8<<20), "budget-used")
}
