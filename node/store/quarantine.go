package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/gridmint/gridmint"
)

// The quarantine's size budget. Rejections are kept for the quarantine
// TTL, and the rate limits in front of the store (package devices) bound
// how fast they come; the budget bounds what they can add up to whatever
// arrives: a flood that gets past the rate limits, a long TTL, many
// broken devices. When a commit takes the quarantine over its budget, the
// oldest rejections (by Rejection.Time, the key order) are deleted until
// it is at most 7/8 of the budget, so that under a steady flood one
// trimming pass runs per eighth of the budget written, not per commit.
// What is deleted is counted per reason (QuarantineStats.Trimmed); the
// lifetime counts per reason (RejectionCounts) keep counting it.
//
// The size counted is each record's key and encoded value (the JSON of
// the rejection, its raw bytes in base64), as badger stores it. On disk,
// a deleted record's value-log space is reclaimed by value-log GC
// (RunGC) once compaction has dropped it, so the files can hold up to
// about a value-log file's worth more for a while.
const (
	// DefaultQuarantineMaxBytes is the quarantine's budget when
	// Options.QuarantineMaxBytes is 0: 64 MiB, about 11,000 samples of
	// MaxRejectionSample bytes or 200,000 small ones.
	DefaultQuarantineMaxBytes = 64 << 20
	// MinQuarantineMaxBytes is the smallest budget accepted (1 MiB):
	// room for a batch of rejections and one MaxRejectionRaw payload.
	MinQuarantineMaxBytes = 1 << 20
)

// quarantine is the store's account of the quarantine's size.
type quarantine struct {
	max, low int64 // the budget and what a trim leaves, bytes

	mu      sync.Mutex
	bytes   int64                      // keys and values of the kept rejections
	entries int64                      // kept rejections
	trimmed map[gridmint.Reason]uint64 // deleted over the budget, since Open
	notKept map[gridmint.Reason]uint64 // counted only (CountRejections), since Open
}

// QuarantineStats is the quarantine's size and what was not kept in it.
type QuarantineStats struct {
	// Bytes and Entries are the size of the rejections kept now (keys and
	// encoded values, bytes) and their number. Rejections that expired
	// (Options.QuarantineTTL) count until the next trimming pass.
	Bytes, Entries int64
	// MaxBytes is the budget, Options.QuarantineMaxBytes.
	MaxBytes int64
	// Trimmed counts, per reason, the rejections deleted (oldest first)
	// to keep the quarantine within MaxBytes, since the store was opened.
	Trimmed map[gridmint.Reason]uint64
	// NotKept counts, per reason, the rejections counted but never kept
	// (Batch.CountRejections: over a rate limit), since the store was
	// opened.
	NotKept map[gridmint.Reason]uint64
}

// QuarantineStats returns the quarantine's size and what was not kept.
func (s *Store) QuarantineStats() QuarantineStats {
	q := &s.quarantine
	q.mu.Lock()
	defer q.mu.Unlock()
	return QuarantineStats{
		Bytes: q.bytes, Entries: q.entries, MaxBytes: q.max,
		Trimmed: maps.Clone(q.trimmed), NotKept: maps.Clone(q.notKept),
	}
}

// quarantineBudget checks and defaults Options.QuarantineMaxBytes.
func quarantineBudget(opts Options) (int64, error) {
	n := orDefault(opts.QuarantineMaxBytes, DefaultQuarantineMaxBytes)
	if n < MinQuarantineMaxBytes {
		return 0, gridmint.Errorf(gridmint.EInvalid, "store: quarantine budget %d B is below the minimum %d B", n, MinQuarantineMaxBytes)
	}
	return n, nil
}

// openQuarantine sizes the quarantine at Open, trimming it to a budget
// smaller than the one it was filled under.
func (s *Store) openQuarantine(budget int64) error {
	s.quarantine = quarantine{
		max: budget, low: budget - budget/8,
		trimmed: map[gridmint.Reason]uint64{}, notKept: map[gridmint.Reason]uint64{},
	}
	return s.trimQuarantine()
}

// quarantineCommitted accounts for a committed batch: added bytes in n
// new rejections, and those counted only. It trims when the quarantine
// went over its budget. Call with commitMu held, the store open.
func (s *Store) quarantineCommitted(added, n int64, countOnly map[gridmint.Reason]uint64) {
	q := &s.quarantine
	q.mu.Lock()
	q.bytes += added
	q.entries += n
	for r, c := range countOnly {
		q.notKept[r] += c
	}
	over := q.bytes > q.max
	q.mu.Unlock()
	if !over {
		return
	}
	// The batch is durable whatever happens here; a failed trim is
	// tried again at the next commit.
	if err := s.trimQuarantine(); err != nil {
		s.log.Warn("store: trimming the quarantine to its budget failed", "budget", q.max, "err", err)
	}
}

// trimQuarantine measures the quarantine and, if it is over its budget,
// deletes the oldest rejections until it is at most q.low. Call with
// commitMu held (or before the store is shared), the store open.
func (s *Store) trimQuarantine() error {
	q := &s.quarantine
	prefix := typePrefix(prefixRejection)
	// Newest first: the first q.low bytes are kept, the key where that
	// runs out and everything older are deleted if the total is over the
	// budget.
	var total, entries, keep, kept int64
	var boundary []byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
		defer it.Close()
		seek := append(bytes.Clone(prefix), bytes.Repeat([]byte{0xFF}, timeKeyLen+seqLen+1)...)
		for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			size := int64(len(item.Key())) + item.ValueSize()
			total += size
			entries++
			if boundary == nil && keep+size <= q.low {
				keep += size
				kept++
			} else if boundary == nil {
				boundary = item.KeyCopy(nil)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: measure quarantine: %w", err)
	}
	if total <= q.max || boundary == nil {
		q.mu.Lock()
		q.bytes, q.entries = total, entries
		q.mu.Unlock()
		return nil
	}
	trimmed, err := s.deleteRejectionsUpTo(boundary)
	q.mu.Lock()
	defer q.mu.Unlock()
	for r, c := range trimmed {
		q.trimmed[r] += c
	}
	if err != nil {
		// Some chunks may be gone: measure again next time.
		q.bytes, q.entries = total, entries
		return err
	}
	q.bytes, q.entries = keep, kept
	return nil
}

// trimChunk is how many rejections one deleting transaction removes: far
// below badger's transaction limit at the smallest memtable.
const trimChunk = 1000

// deleteRejectionsUpTo deletes every rejection with a key up to and
// including last, oldest first, and counts them by reason.
func (s *Store) deleteRejectionsUpTo(last []byte) (map[gridmint.Reason]uint64, error) {
	prefix := typePrefix(prefixRejection)
	counts := map[gridmint.Reason]uint64{}
	for done := false; !done; {
		var keys [][]byte
		var reasons []gridmint.Reason
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: prefix})
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				item := it.Item()
				if bytes.Compare(item.Key(), last) > 0 {
					done = true
					return nil
				}
				var rj struct {
					Reason gridmint.Reason `json:"reason"`
				}
				if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rj) }); err != nil || rj.Reason == "" {
					// Deleted all the same: an unreadable record is no use.
					rj.Reason = gridmint.ReasonInternal
				}
				keys = append(keys, item.KeyCopy(nil))
				reasons = append(reasons, rj.Reason)
				if len(keys) == trimChunk {
					return nil
				}
			}
			done = true
			return nil
		})
		if err != nil {
			return counts, err
		}
		if len(keys) == 0 {
			return counts, nil
		}
		txn := s.db.NewTransaction(true)
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				txn.Discard()
				return counts, fmt.Errorf("store: trim quarantine: %w", err)
			}
		}
		if err := txn.Commit(); err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				err = fmt.Errorf("%w: %w", ErrBatchTooBig, err)
			}
			return counts, fmt.Errorf("store: trim quarantine: %w", err)
		}
		for _, r := range reasons {
			counts[r]++
		}
	}
	return counts, nil
}
