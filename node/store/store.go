package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/gridmint/gridmint"
)

// Defaults and limits. Memory defaults suit a Raspberry-Pi-class box with
// 1-4 GB of RAM: badger's own defaults (five 64 MiB memtables, 256 MiB block
// cache, 1 GiB value-log files) would take a third of a small box.
const (
	// DefaultQuarantineTTL is how long a rejection is kept when
	// Options.QuarantineTTL is 0: 30 days.
	DefaultQuarantineTTL = 30 * 24 * time.Hour
	// DefaultMemTableSize is the size of one memtable in bytes (8 MiB);
	// two are kept, so writes buffer at most 16 MiB in RAM. A memtable
	// costs more than its size: its skiplist arena is Go heap, its
	// write-ahead log a mapped file, and flushing it to a table takes a
	// builder buffer of twice its size, all resident at once during a
	// flush; at 16 MiB that flush was the node's largest peak of memory
	// (tools/bench-ingest at 1,000 devices).
	DefaultMemTableSize = 8 << 20
	// MinMemTableSize is the smallest Options.MemTableSize accepted, in
	// bytes. badger caps one transaction at 15% of a memtable, and
	// MaxBatchLen is checked against this size (TestBatchSizeLimits: a
	// worst-case batch fits down to 5 MiB, not at 4).
	MinMemTableSize = 8 << 20
	// DefaultBlockCacheSize is the block cache size in bytes (16 MiB).
	DefaultBlockCacheSize = 16 << 20
	// DefaultValueLogFileSize is the size of one value-log file in bytes
	// (64 MiB); value-log GC reclaims space a whole file at a time.
	DefaultValueLogFileSize = 64 << 20
	// DefaultReadLimit is how many records Readings and Rejections return
	// at most when called with limit <= 0.
	DefaultReadLimit = 10000

	// DefaultIndexCacheSize bounds the memory used for SSTable indexes
	// and bloom filters, bytes (8 MiB); without a bound they grow with the
	// database.
	DefaultIndexCacheSize = 8 << 20
	// valueThreshold: values of at least this many bytes go to the value
	// log, smaller ones live in the LSM tree. Readings (~100 B) stay in the
	// LSM tree; large rejection payloads go to the value log, whose space
	// RunGC reclaims once they expire. It also bounds the per-item cost of
	// a transaction, which MaxBatchLen relies on.
	valueThreshold = 512
	// defaultGCEvery is RunGC's period when called with every <= 0.
	defaultGCEvery = 10 * time.Minute
)

// Disk space. badger writes its memtable write-ahead logs (.mem), its
// value-log files (.vlog) and its SSTables (.sst) through writable memory
// maps of files it has first extended with ftruncate. Such a file is
// sparse: the filesystem allocates a block only when a page of the map is
// first written, and when it has none left the kernel answers that store
// with SIGBUS, which kills the process (Go cannot turn it into an error);
// badger never sees ENOSPC. The next start dies the same way, because
// Open creates a new WAL and a new value-log file (writing their headers
// through the map) and flushes the WALs it replays to new SSTables. The
// only defence is never to let the filesystem run out, so the node stops
// writing while the free space is below a reserve (node.diskGuard) that is
// never smaller than MinFree. What badger may still allocate once nothing
// new is committed, with these options:
//   - the WAL of the active memtable: a 2×MemTableSize sparse file, but
//     badger starts a new memtable once the WAL passes MemTableSize, so it
//     holds at most MemTableSize plus one transaction (badger caps one at
//     15 % of MemTableSize, 1.2 MiB by default);
//   - the current value-log file (2×ValueLogFileSize, sparse): only values
//     of valueThreshold bytes or more go there, one transaction at a time;
//   - flushes: each full memtable (at most MemTableSize) becomes an L0
//     SSTable, written before its WAL is deleted, one at a time; Close
//     flushes the active memtable, and Open after a crash replays every
//     WAL left (up to NumMemtables+2) and flushes them in turn;
//   - compactions write their output tables before deleting their inputs,
//     each at most the size of its inputs: a few MiB for a small store,
//     tens of MiB for a store of several GB (the node's default reserve,
//     256 MiB, leaves room for those);
//   - value-log GC rewrites the live part of a file (up to half of
//     ValueLogFileSize) before deleting it: Options.GCGate skips it while
//     the node is below its reserve.
//
// MinFree is 4×MemTableSize, and never below 64 MiB: one flush with its
// WAL not yet freed, the transaction in flight in both logs, the two files
// Open creates, the discard-stats file (1 MiB) and the compactions of a
// small store, whose tables do not shrink with the memtables.

// MinFree returns the least free space, in bytes, that the filesystem of a
// store opened with opts must keep for badger's own work (flushes, the
// files Open creates, small compactions) never to fault: 4×MemTableSize
// and at least minFreeFloor, 64 MiB with the default options. The node refuses to start below it and
// never lets its reserve go below it.
func MinFree(opts Options) int64 {
	return max(4*max(orDefault(opts.MemTableSize, DefaultMemTableSize), MinMemTableSize), minFreeFloor)
}

// minFreeFloor is the least MinFree, bytes: what 16 MiB memtables needed,
// kept when they became 8 MiB.
const minFreeFloor = 64 << 20

// Options configures Open. The zero value is the production configuration.
type Options struct {
	// Logger receives the store's and badger's messages; badger's only at
	// warning level and above. nil discards them.
	Logger *slog.Logger
	// InMemory keeps everything in RAM (badger in-memory mode), for tests
	// only: nothing is durable and Open ignores dir. Every value is then
	// kept inline, so a batch of large rejections or counter states can
	// hit ErrBatchTooBig below MaxBatchLen items.
	InMemory bool
	// QuarantineTTL is how long a rejected input is kept; it then expires
	// (badger TTL), which bounds the quarantine's age (QuarantineMaxBytes
	// bounds its size). It runs from the commit by the wall clock, not
	// from Rejection.Time. 0 means DefaultQuarantineTTL. The per-reason
	// counts never expire.
	QuarantineTTL time.Duration
	// QuarantineMaxBytes is the quarantine's size budget in bytes: beyond
	// it the oldest rejections are deleted (see quarantine.go). 0 means
	// DefaultQuarantineMaxBytes; below MinQuarantineMaxBytes is an error.
	QuarantineMaxBytes int64
	// MemTableSize is the size of one of the two memtables, in bytes.
	// 0 means DefaultMemTableSize; below MinMemTableSize is an error.
	MemTableSize int64
	// BlockCacheSize is the block cache size in bytes; 0 means
	// DefaultBlockCacheSize. Tables are compressed, so badger needs one:
	// a negative size is an error.
	BlockCacheSize int64
	// IndexCacheSize bounds the memory of table indexes and bloom
	// filters, in bytes; 0 means DefaultIndexCacheSize. Past it they are
	// read from disk as needed.
	IndexCacheSize int64
	// ValueLogFileSize is the size of one value-log file in bytes, in
	// [1 MiB, 2 GiB); 0 means DefaultValueLogFileSize.
	ValueLogFileSize int64
	// GCGate, if set, is asked before each value-log GC pass, which is
	// skipped when it returns false: a pass writes the live part of a
	// value-log file before it frees the file, so the node holds it off
	// while the disk is below its reserve. nil always runs.
	GCGate func() bool
}

// Store is the node's durable state. Open one per data directory; badger
// holds a directory lock, so a second Open of the same dir fails.
type Store struct {
	db       *badger.DB
	log      *slog.Logger
	ttl      time.Duration
	inMemory bool
	gcGate   func() bool

	// commitMu serialises commits: they read-modify-write the rejection
	// counters and the sequence, so conflict detection is off in badger.
	commitMu sync.Mutex
	seq      uint64 // last sequence number handed out; guarded by commitMu

	// mu guards closed. Operations hold it shared while they use db, Close
	// holds it exclusively, so Close waits for in-flight operations and
	// nothing touches a closed db.
	mu     sync.RWMutex
	closed bool

	quarantine quarantine // its size, against Options.QuarantineMaxBytes
}

// ErrClosed is returned by every operation on a closed Store.
var ErrClosed = &gridmint.Error{Code: gridmint.EUnavailable, Message: "store: closed"}

// Open opens (creating if needed) the store in dir. Commits are durable:
// badger runs with SyncWrites, so a committed batch survives a crash or
// power loss. With opts.InMemory, dir is ignored.
func Open(dir string, opts Options) (*Store, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ttl := opts.QuarantineTTL
	if ttl == 0 {
		ttl = DefaultQuarantineTTL
	}
	if ttl < 0 {
		return nil, gridmint.Errorf(gridmint.EInvalid, "store: negative quarantine TTL %v", ttl)
	}
	qBudget, err := quarantineBudget(opts)
	if err != nil {
		return nil, err
	}
	if opts.BlockCacheSize < 0 || opts.IndexCacheSize < 0 {
		return nil, gridmint.Errorf(gridmint.EInvalid, "store: negative cache size (block %d B, index %d B)", opts.BlockCacheSize, opts.IndexCacheSize)
	}
	memtable := orDefault(opts.MemTableSize, DefaultMemTableSize)
	if memtable < MinMemTableSize {
		return nil, gridmint.Errorf(gridmint.EInvalid, "store: memtable size %d B is below the minimum %d B", memtable, MinMemTableSize)
	}

	threshold := int64(valueThreshold)
	if opts.InMemory {
		dir = ""
		// Without a value log every value must fit the LSM tree: badger
		// refuses values above the threshold in memory mode.
		threshold = MaxValueLen
	} else {
		if dir == "" {
			return nil, gridmint.Errorf(gridmint.EInvalid, "store: empty directory")
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}

	bo := badger.DefaultOptions(dir).
		WithInMemory(opts.InMemory).
		WithSyncWrites(true).
		WithLogger(badgerLogger{log.With("component", "badger")}).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithMemTableSize(memtable).
		WithNumMemtables(2).
		WithBlockCacheSize(orDefault(opts.BlockCacheSize, DefaultBlockCacheSize)).
		WithIndexCacheSize(orDefault(opts.IndexCacheSize, DefaultIndexCacheSize)).
		WithValueLogFileSize(orDefault(opts.ValueLogFileSize, DefaultValueLogFileSize)).
		WithValueThreshold(threshold).
		WithCompression(options.Snappy).
		// Two compactors is badger's minimum; more only compete for the
		// Pi's few cores with ingest.
		WithNumCompactors(2).
		WithNumGoroutines(2)
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("store: open badger in %q: %w", dir, err)
	}
	s := &Store{db: db, log: log, ttl: ttl, inMemory: opts.InMemory, gcGate: opts.GCGate}
	if err := db.View(func(txn *badger.Txn) error {
		seq, _, err := getU64(txn, keySeq)
		s.seq = seq
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: read sequence: %w", err)
	}
	if err := s.openQuarantine(qBudget); err != nil {
		_ = db.Close()
		return nil, err
	}
	log.Info("store opened", "dir", dir, "in_memory", opts.InMemory, "seq", s.seq)
	return s, nil
}

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

// Close flushes and closes the database. It waits for in-flight operations.
// Calling it again returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Abandon marks the store closed without closing badger, for a process
// that is about to exit on a disk too full for Close: Close flushes the
// memtable to a new SSTable through a memory map, which dies of SIGBUS
// when the filesystem has no room (see MinFree). Everything committed is
// in the fsync'd write-ahead log, which the next Open replays as after a
// crash. It waits for in-flight operations; later ones get ErrClosed. The
// directory stays locked until the process exits.
func (s *Store) Abandon() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

// lockCommit serialises a commit with every other one and holds Close off
// until unlock is called; ErrClosed once the store is closed.
func (s *Store) lockCommit() (unlock func(), err error) {
	s.commitMu.Lock()
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		s.commitMu.Unlock()
		return nil, ErrClosed
	}
	return func() {
		s.mu.RUnlock()
		s.commitMu.Unlock()
	}, nil
}

// view runs fn in a read-only transaction unless the store is closed.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

// Readings returns the readings of device id with from <= Time < to, in
// ascending time (readings with equal Time in commit order), at most limit
// of them; limit <= 0 means DefaultReadLimit. A zero to means no upper
// bound. Readings of other devices are never returned, even when their id
// starts with id.
func (s *Store) Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	if !to.IsZero() && !to.After(from) {
		return nil, nil
	}
	prefix := readingPrefix(id, 0)
	start := appendTimeKey(bytes.Clone(prefix), from)
	var end []byte
	if !to.IsZero() {
		end = appendTimeKey(bytes.Clone(prefix), to)
	}
	var out []gridmint.Reading
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{
			PrefetchValues: true,
			PrefetchSize:   min(limit, 100),
			Prefix:         prefix,
		})
		defer it.Close()
		for it.Seek(start); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) != len(prefix)+timeKeyLen+seqLen {
				return fmt.Errorf("store: reading key %x: %w", k, errCorrupt)
			}
			if end != nil && bytes.Compare(k[:len(end)], end) >= 0 {
				break
			}
			r, err := s.decodeItem(item, id)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: readings of %s: %w", id, err)
	}
	return out, nil
}

// decodeItem decodes a reading value and checks it belongs to id.
func (s *Store) decodeItem(item *badger.Item, id gridmint.DeviceID) (gridmint.Reading, error) {
	var r gridmint.Reading
	err := item.Value(func(v []byte) error {
		var err error
		r, err = decodeReadingIntern(v, id)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("key %x: %w", item.Key(), err)
	}
	if r.Device != id {
		return r, fmt.Errorf("key %x holds a reading of %q: %w", item.Key(), r.Device, errCorrupt)
	}
	return r, nil
}

// LastReading returns the latest reading of device id (by Time, then commit
// order); ok is false when the device has none.
func (s *Store) LastReading(id gridmint.DeviceID) (r gridmint.Reading, ok bool, err error) {
	if err := checkID(id); err != nil {
		return r, false, err
	}
	prefix := readingPrefix(id, 0)
	// Larger than every key of this device: the time and seq suffix is
	// timeKeyLen+seqLen bytes, so one more 0xFF byte sorts after all.
	seek := append(bytes.Clone(prefix), bytes.Repeat([]byte{0xFF}, timeKeyLen+seqLen+1)...)
	err = s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
		defer it.Close()
		it.Seek(seek)
		if !it.ValidForPrefix(prefix) {
			return nil
		}
		var err error
		r, err = s.decodeItem(it.Item(), id)
		ok = err == nil
		return err
	})
	if err != nil {
		return gridmint.Reading{}, false, fmt.Errorf("store: last reading of %s: %w", id, err)
	}
	return r, ok, nil
}

// Devices returns every registered device, sorted by ID.
func (s *Store) Devices() ([]gridmint.Device, error) {
	var out []gridmint.Device
	err := s.scan(typePrefix(prefixDevice), func(k, v []byte) error {
		var d gridmint.Device
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("device key %q: %w: %w", k, errCorrupt, err)
		}
		out = append(out, d)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	// Keys are already in byte order of the ID; sort anyway so the
	// contract does not hang on a subtle key-layout property.
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Device returns the registered device id, or an ENotFound *gridmint.Error.
func (s *Store) Device(id gridmint.DeviceID) (gridmint.Device, error) {
	if err := checkID(id); err != nil {
		return gridmint.Device{}, err
	}
	var d gridmint.Device
	var found bool
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(deviceKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return item.Value(func(v []byte) error {
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("%w: %w", errCorrupt, err)
			}
			return nil
		})
	})
	if err != nil {
		return gridmint.Device{}, fmt.Errorf("store: device %s: %w", id, err)
	}
	if !found {
		return gridmint.Device{}, gridmint.Errorf(gridmint.ENotFound, "store: no device %s", id)
	}
	return d, nil
}

// CounterStates returns the latest counter-normaliser state of every device
// that has one. The bytes are owned by the caller.
func (s *Store) CounterStates() (map[gridmint.DeviceID][]byte, error) {
	out := make(map[gridmint.DeviceID][]byte)
	p := typePrefix(prefixCounter)
	err := s.scan(p, func(k, v []byte) error {
		out[gridmint.DeviceID(k[len(p):])] = bytes.Clone(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: counter states: %w", err)
	}
	return out, nil
}

// Rejections returns up to limit quarantined rejections (limit <= 0 means
// DefaultReadLimit), newest first, starting after cursor ("" starts at the
// newest). next is the cursor of the following page, "" when there is
// none. Rejections that share a Time are neither skipped nor repeated
// across pages. Expired rejections (older than the quarantine TTL) are
// gone. A cursor that is not one this method returned is an EInvalid
// error.
func (s *Store) Rejections(cursor string, limit int) (_ []gridmint.Rejection, next string, _ error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	prefix := typePrefix(prefixRejection)
	seek := append(bytes.Clone(prefix), bytes.Repeat([]byte{0xFF}, timeKeyLen+seqLen+1)...)
	var after []byte
	if cursor != "" {
		c, err := hex.DecodeString(cursor)
		if err != nil || len(c) != timeKeyLen+seqLen {
			return nil, "", gridmint.Errorf(gridmint.EInvalid, "store: bad quarantine cursor %q", cursor)
		}
		after = append(bytes.Clone(prefix), c...)
		seek = after
	}
	var out []gridmint.Rejection
	var lastKey []byte
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{
			PrefetchValues: true,
			PrefetchSize:   min(limit, 100),
			Reverse:        true,
			Prefix:         prefix,
		})
		defer it.Close()
		// A reverse Seek lands on the largest key <= seek: the cursor's own
		// entry, which the previous page already returned.
		for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
			if after != nil && bytes.Equal(it.Item().Key(), after) {
				continue
			}
			var rj gridmint.Rejection
			err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &rj) })
			if err != nil {
				return fmt.Errorf("rejection key %x: %w: %w", it.Item().Key(), errCorrupt, err)
			}
			out = append(out, rj)
			lastKey = it.Item().KeyCopy(lastKey)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: rejections: %w", err)
	}
	if len(out) == limit {
		next = hex.EncodeToString(lastKey[len(prefix):])
	}
	return out, next, nil
}

// RejectionCounts returns the lifetime number of rejections per reason.
// The counts are persisted and do not expire with the rejections.
func (s *Store) RejectionCounts() (map[gridmint.Reason]uint64, error) {
	out := make(map[gridmint.Reason]uint64)
	p := typePrefix(prefixCount)
	err := s.scan(p, func(k, v []byte) error {
		n, err := decodeU64(v)
		if err != nil {
			return err
		}
		out[gridmint.Reason(k[len(p):])] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: rejection counts: %w", err)
	}
	return out, nil
}

// scan calls fn with every key and value under prefix, in key order. k and
// v are only valid during the call.
func (s *Store) scan(prefix []byte, fn func(k, v []byte) error) error {
	return s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 100, Prefix: prefix})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { return fn(item.Key(), v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// RunGC reclaims value-log space (expired rejections, overwritten devices
// and counter states) every period until ctx is done or the store is
// closed. every <= 0 means 10 minutes; a period whose Options.GCGate says
// no is skipped. It returns at once for an in-memory store. Run it in its
// own goroutine; tests may skip it.
func (s *Store) RunGC(ctx context.Context, every time.Duration) {
	if s.inMemory {
		return
	}
	if every <= 0 {
		every = defaultGCEvery
	}
	t := time.NewTicker(every) // badger housekeeping: wall clock
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.gcGate != nil && !s.gcGate() {
			continue
		}
		if !s.gcOnce() {
			return
		}
	}
}

// gcOnce rewrites value-log files while badger finds one at least half
// garbage. It reports false when the store is closed.
func (s *Store) gcOnce() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false
	}
	// Bounded so one pass cannot hold off Close for long.
	for range 16 {
		err := s.db.RunValueLogGC(0.5)
		if err == nil {
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.log.Warn("store: value-log GC failed", "err", err)
		}
		break
	}
	return true
}

// badgerLogger routes badger's log to slog. Info and debug are dropped:
// badger is chatty at those levels and nothing there is actionable.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(format string, args ...any) {
	b.logf(slog.LevelError, format, args)
}

func (b badgerLogger) Warningf(format string, args ...any) {
	b.logf(slog.LevelWarn, format, args)
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

func (b badgerLogger) logf(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !b.l.Enabled(ctx, level) {
		return
	}
	b.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}

// Command returns the record of command id, or an ENotFound error.
func (s *Store) Command(id string) (gridmint.CommandRecord, error) {
	var c gridmint.CommandRecord
	found := false
	err := s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(commandKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &c) })
	})
	if err != nil {
		return c, fmt.Errorf("store: command %s: %w", id, err)
	}
	if !found {
		return c, gridmint.Errorf(gridmint.ENotFound, "no command %q", id)
	}
	return c, nil
}

// Commands returns up to limit command records, newest first, of device
// (all devices when empty), starting after cursor ("" is the newest). next
// is the cursor of the following page, "" when there is none.
func (s *Store) Commands(device gridmint.DeviceID, cursor string, limit int) (_ []gridmint.CommandRecord, next string, _ error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	prefix := typePrefix(prefixCommand)
	seek := append(bytes.Clone(prefix), 0xFF)
	if cursor != "" {
		seek = commandKey(cursor)
	}
	var out []gridmint.CommandRecord
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Reverse: true, Prefix: prefix})
		defer it.Close()
		for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
			if cursor != "" && bytes.Equal(it.Item().Key(), seek) {
				continue
			}
			var c gridmint.CommandRecord
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &c) }); err != nil {
				return fmt.Errorf("command key %x: %w: %w", it.Item().Key(), errCorrupt, err)
			}
			if device == "" || c.Setpoint.Device == device {
				out = append(out, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: commands: %w", err)
	}
	if len(out) == limit {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// Meta returns the value PutMeta stored under name; ok is false if none.
func (s *Store) Meta(name string) (value []byte, ok bool, err error) {
	err = s.view(func(txn *badger.Txn) error {
		item, err := txn.Get(nodeMetaKey(name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		value, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: meta %s: %w", name, err)
	}
	return value, ok, nil
}
