package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
	"github.com/gridmint/gridmint"
)

// Limits on what one batch item may hold. They keep every key well inside
// badger's limits and bound the cost of one item, which MaxBatchLen relies
// on.
const (
	// MaxBatchLen is the most items (readings, devices, rejections and
	// counter states together) one Batch may hold; Commit rejects a longer
	// batch with ErrBatchTooBig before writing anything. A batch of
	// MaxBatchLen items of the largest allowed size fits in one badger
	// transaction with any accepted on-disk Options, with about a third
	// to spare: badger caps a transaction at 15% of a memtable (1.2 MiB at
	// MinMemTableSize), and the costliest item, a reading with a
	// MaxDeviceIDLen id and a value just under valueThreshold, takes under
	// 0.4 KiB of it (larger values go to the value log and cost a pointer):
	// TestBatchSizeLimits' worst-case batch fits a 5 MiB memtable, not a
	// 4 MiB one.
	MaxBatchLen = 2048
	// MaxDeviceIDLen is the longest device id accepted, in bytes.
	MaxDeviceIDLen = gridmint.MaxDeviceIDLen
	// MaxReasonLen is the longest rejection reason accepted, in bytes.
	MaxReasonLen = 64
	// MaxCounterStateLen is the largest counter state accepted, in bytes.
	MaxCounterStateLen = 64 << 10
	// MaxRejectionRaw is how many bytes of the payload of an input the
	// node failed to store (gridmint.ReasonInternal) are kept, so it can
	// be reprocessed: every payload an adapter decodes fits. The rest is
	// cut and Detail says so.
	MaxRejectionRaw = 64 << 10
	// MaxRejectionSample is how many bytes of any other rejected payload
	// are kept: enough to see what a device sent (real telemetry is well
	// under 4 KiB), small enough that a flood of large garbage keeps
	// many samples within the quarantine's budget. The rest is cut,
	// Rejection.RawLen keeps the length and Detail says so.
	MaxRejectionSample = 4 << 10
	// MaxRejectionText is how many bytes of a rejection's Topic, Dialect,
	// Device and Detail are kept (an MQTT topic may be 64 KiB).
	MaxRejectionText = 1 << 10
	// MaxValueLen is the largest encoded record accepted, in bytes; it
	// keeps every value far below the smallest value-log file (1 MiB).
	MaxValueLen = 256 << 10
)

// ErrBatchTooBig is returned (wrapped) by Commit for a batch that does not
// fit in one transaction. Callers keep batches to MaxBatchLen items.
var ErrBatchTooBig = &gridmint.Error{Code: gridmint.EInvalid, Message: "store: batch too big for one transaction"}

// A Batch is one atomic, durable write: everything in it lands or nothing
// does. Build it with Store.NewBatch and the Put methods, then Commit it
// once. A Batch is not safe for concurrent use.
type Batch struct {
	readings   []gridmint.Reading
	devices    []gridmint.Device
	rejections []gridmint.Rejection
	counters   []counterState
	countOnly  map[gridmint.Reason]uint64
	commands   []gridmint.CommandRecord
	meta       []metaEntry
	committed  bool
}

// CountRejections counts n rejections of reason without keeping them in
// the quarantine: for inputs dropped by a rate limit, which must be
// counted but must not fill the store.
func (b *Batch) CountRejections(reason gridmint.Reason, n int) {
	if n <= 0 {
		return
	}
	if b.countOnly == nil {
		b.countOnly = map[gridmint.Reason]uint64{}
	}
	b.countOnly[reason] += uint64(n)
}

// PutMeta records an opaque value of package node under name (e.g. the
// configuration a declared device was last started with).
func (b *Batch) PutMeta(name string, value []byte) {
	b.meta = append(b.meta, metaEntry{name: name, value: bytes.Clone(value)})
}

type metaEntry struct {
	name  string
	value []byte
}

// PutCommand adds or replaces the audit record of a command (by its ID).
func (b *Batch) PutCommand(c gridmint.CommandRecord) { b.commands = append(b.commands, c) }

type counterState struct {
	id    gridmint.DeviceID
	state []byte
}

// NewBatch returns an empty batch.
func (s *Store) NewBatch() *Batch { return &Batch{} }

// PutReading adds a reading. Readings are never overwritten: two readings of
// one device with the same Time are both kept.
func (b *Batch) PutReading(r gridmint.Reading) { b.readings = append(b.readings, r) }

// PutDevice adds or replaces the registration of d.ID.
func (b *Batch) PutDevice(d gridmint.Device) { b.devices = append(b.devices, d) }

// PutRejection adds a rejection to the quarantine and counts it under its
// reason. Raw is copied, so the caller may reuse its buffer. Raw beyond
// MaxRejectionSample bytes (MaxRejectionRaw for ReasonInternal) is cut,
// without splitting a UTF-8 character: RawLen keeps the payload's
// length (unless the caller already set a larger one, for a payload cut
// before it got here) and Detail notes the cut. Topic, Dialect, Device
// and Detail are cut to MaxRejectionText bytes. So a broken device can
// neither make a rejection large nor too big to commit; the quarantine's
// budget (Options.QuarantineMaxBytes) bounds them all.
func (b *Batch) PutRejection(r gridmint.Rejection) {
	r.Topic = truncateUTF8(r.Topic, MaxRejectionText)
	r.Dialect = truncateUTF8(r.Dialect, MaxRejectionText)
	r.Device = gridmint.DeviceID(truncateUTF8(string(r.Device), MaxRejectionText))
	r.Detail = truncateUTF8(r.Detail, MaxRejectionText)
	limit := MaxRejectionSample
	if r.Reason == gridmint.ReasonInternal {
		limit = MaxRejectionRaw
	}
	if n := len(r.Raw); n > limit {
		r.Raw = cutRaw(r.Raw, limit)
		r.RawLen = max(r.RawLen, n)
		r.Detail += fmt.Sprintf(" [raw cut from %d to %d bytes]", r.RawLen, len(r.Raw))
	} else if r.RawLen > n {
		r.Detail += fmt.Sprintf(" [raw cut from %d to %d bytes]", r.RawLen, n)
	} else {
		r.RawLen = 0
	}
	r.Raw = bytes.Clone(r.Raw)
	b.rejections = append(b.rejections, r)
}

// cutRaw cuts raw to at most n bytes, backing off up to three bytes so as
// not to split a UTF-8 character: cut text stays valid text, which the
// API shows as such.
func cutRaw(raw []byte, n int) []byte {
	for k := n; k > n-utf8.UTFMax && k > 0; k-- {
		if utf8.RuneStart(raw[k]) {
			return raw[:k]
		}
	}
	return raw[:n]
}

// PutCounterState records the opaque normaliser state of device id (owned
// by package devices). The last state put for a device wins, within a batch
// and across batches. state is copied.
func (b *Batch) PutCounterState(id gridmint.DeviceID, state []byte) {
	b.counters = append(b.counters, counterState{id: id, state: bytes.Clone(state)})
}

// Len returns the number of items put into b.
func (b *Batch) Len() int {
	return len(b.readings) + len(b.devices) + len(b.rejections) + len(b.counters) + len(b.countOnly) + len(b.commands) + len(b.meta)
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// validate checks every item, so Commit can refuse the whole batch before
// writing anything.
func (b *Batch) validate() error {
	invalid := func(what string, i int, err error) error {
		return gridmint.Errorf(gridmint.EInvalid, "store: batch %s %d: %v", what, i, err)
	}
	for i, r := range b.readings {
		if err := checkID(r.Device); err != nil {
			return invalid("reading", i, err)
		}
		if r.Time.IsZero() {
			return invalid("reading", i, fmt.Errorf("device %s: zero time", r.Device))
		}
		if !timeInRange(r.Time) || !r.SourceTime.IsZero() && !timeInRange(r.SourceTime) {
			return invalid("reading", i, fmt.Errorf("device %s: time %v or source time %v outside years 1-9999", r.Device, r.Time, r.SourceTime))
		}
		if p := float64(r.Power); math.IsNaN(p) || math.IsInf(p, 0) {
			return invalid("reading", i, fmt.Errorf("device %s: non-finite power %v W", r.Device, p))
		}
		if math.IsNaN(r.SoC) || math.IsInf(r.SoC, 0) {
			return invalid("reading", i, fmt.Errorf("device %s: non-finite state of charge %v", r.Device, r.SoC))
		}
		if err := unflaggedValues(r); err != nil {
			return invalid("reading", i, fmt.Errorf("device %s: %v", r.Device, err))
		}
	}
	for i, d := range b.devices {
		if err := d.Validate(); err != nil {
			return invalid("device", i, err)
		}
		if err := checkID(d.ID); err != nil {
			return invalid("device", i, err)
		}
		if !timeInRange(d.FirstSeen) {
			return invalid("device", i, fmt.Errorf("device %s: first seen %v outside years 1-9999", d.ID, d.FirstSeen))
		}
	}
	for i, r := range b.rejections {
		if r.Reason == "" {
			return invalid("rejection", i, errors.New("empty reason"))
		}
		if len(r.Reason) > MaxReasonLen {
			return invalid("rejection", i, fmt.Errorf("reason of %d bytes exceeds %d", len(r.Reason), MaxReasonLen))
		}
		if !timeInRange(r.Time) {
			return invalid("rejection", i, fmt.Errorf("time %v outside years 1-9999", r.Time))
		}
	}
	for reason := range b.countOnly {
		if reason == "" || len(reason) > MaxReasonLen {
			return invalid("count", 0, fmt.Errorf("reason %q: want 1 to %d bytes", reason, MaxReasonLen))
		}
	}
	for i, m := range b.meta {
		if m.name == "" || len(m.name) > 512 || len(m.value) > MaxValueLen {
			return invalid("meta", i, fmt.Errorf("name %q or value of %d bytes out of bounds", m.name, len(m.value)))
		}
	}
	for i, c := range b.commands {
		if c.ID == "" || len(c.ID) > 64 {
			return invalid("command", i, fmt.Errorf("id %q: want 1 to 64 bytes", c.ID))
		}
		if err := checkID(c.Setpoint.Device); err != nil {
			return invalid("command", i, err)
		}
		if !timeInRange(c.SentAt) || !c.DoneAt.IsZero() && !timeInRange(c.DoneAt) {
			return invalid("command", i, fmt.Errorf("times %v / %v outside years 1-9999", c.SentAt, c.DoneAt))
		}
	}
	for i, c := range b.counters {
		if err := checkID(c.id); err != nil {
			return invalid("counter state", i, err)
		}
		if len(c.state) > MaxCounterStateLen {
			return invalid("counter state", i, fmt.Errorf("device %s: %d bytes exceeds %d", c.id, len(c.state), MaxCounterStateLen))
		}
	}
	return nil
}

// Commit writes the batch in one badger transaction with SyncWrites on:
// when it returns nil every item is on disk (fsync'd), and a crash at any
// point leaves either all of the batch or none of it. The per-reason
// rejection counts are incremented in the same transaction.
//
// Commit first validates every item (a reading needs a device id, a
// non-zero Time and finite Power; a device must pass Device.Validate; a
// rejection needs a reason of at most MaxReasonLen bytes; ids are at most
// MaxDeviceIDLen bytes; times lie in years 1 to 9999; an encoded record is
// at most MaxValueLen bytes) and returns an EInvalid *gridmint.Error,
// writing nothing, if any item is invalid. A batch of more than MaxBatchLen items fails with ErrBatchTooBig.
// An empty batch is a no-op. A committed batch cannot be committed again
// (it would duplicate its readings); after a failed Commit it may be
// retried. Commit is safe for concurrent use.
func (s *Store) Commit(b *Batch) error {
	if b == nil || b.Len() == 0 {
		return nil
	}
	if b.committed {
		return gridmint.Errorf(gridmint.EInvalid, "store: batch already committed")
	}
	if n := b.Len(); n > MaxBatchLen {
		return fmt.Errorf("store: commit %d items (max %d): %w", n, MaxBatchLen, ErrBatchTooBig)
	}
	if err := b.validate(); err != nil {
		return err
	}

	// Encode values before taking the lock; keys need sequence numbers.
	// Oversized values are refused here, still before anything is written.
	tooLong := func(what string, i, n int) error {
		return gridmint.Errorf(gridmint.EInvalid, "store: batch %s %d: encodes to %d bytes, over %d", what, i, n, MaxValueLen)
	}
	readingVals := make([][]byte, len(b.readings))
	for i, r := range b.readings {
		readingVals[i] = appendReading(nil, r)
		if n := len(readingVals[i]); n > MaxValueLen {
			return tooLong("reading", i, n)
		}
	}
	deviceVals := make([][]byte, len(b.devices))
	for i, d := range b.devices {
		v, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("store: encode device %s: %w", d.ID, err)
		}
		if len(v) > MaxValueLen {
			return tooLong("device", i, len(v))
		}
		deviceVals[i] = v
	}
	commandVals := make([][]byte, len(b.commands))
	for i, c := range b.commands {
		v, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("store: encode command %s: %w", c.ID, err)
		}
		if len(v) > MaxValueLen {
			return tooLong("command", i, len(v))
		}
		commandVals[i] = v
	}
	rejectionVals := make([][]byte, len(b.rejections))
	tally := make(map[gridmint.Reason]uint64)
	for reason, n := range b.countOnly {
		tally[reason] += n
	}
	for i, r := range b.rejections {
		r.Time = r.Time.UTC()
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("store: encode rejection: %w", err)
		}
		if len(v) > MaxValueLen {
			return tooLong("rejection", i, len(v))
		}
		rejectionVals[i] = v
		tally[r.Reason]++
	}

	unlock, err := s.lockCommit()
	if err != nil {
		return err
	}
	defer unlock()

	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	// The sequence advances even if this commit fails: a failed commit may
	// still have reached the disk (e.g. fsync reported an error after the
	// write), and reusing its numbers could then overwrite its readings.
	seq := s.seq
	set := func(e *badger.Entry) error {
		if err := txn.SetEntry(e); err != nil {
			if errors.Is(err, badger.ErrTxnTooBig) {
				return fmt.Errorf("store: commit %d items: %w: %w", b.Len(), ErrBatchTooBig, err)
			}
			return fmt.Errorf("store: commit: set %x: %w", e.Key, err)
		}
		return nil
	}
	for i, r := range b.readings {
		seq++
		if err := set(badger.NewEntry(readingKey(r.Device, r.Time, seq), readingVals[i])); err != nil {
			return err
		}
	}
	var quarantined int64 // bytes of keys and values
	for i, r := range b.rejections {
		seq++
		k := rejectionKey(r.Time, seq)
		quarantined += int64(len(k) + len(rejectionVals[i]))
		if err := set(badger.NewEntry(k, rejectionVals[i]).WithTTL(s.ttl)); err != nil {
			return err
		}
	}
	for i, d := range b.devices {
		if err := set(badger.NewEntry(deviceKey(d.ID), deviceVals[i])); err != nil {
			return err
		}
	}
	for _, c := range b.counters {
		if err := set(badger.NewEntry(counterKey(c.id), c.state)); err != nil {
			return err
		}
	}
	for i, c := range b.commands {
		if err := set(badger.NewEntry(commandKey(c.ID), commandVals[i])); err != nil {
			return err
		}
	}
	for _, m := range b.meta {
		if err := set(badger.NewEntry(nodeMetaKey(m.name), m.value)); err != nil {
			return err
		}
	}
	for reason, n := range tally {
		k := countKey(reason)
		old, _, err := getU64(txn, k)
		if err != nil {
			return fmt.Errorf("store: commit: read count %q: %w", reason, err)
		}
		if err := set(badger.NewEntry(k, binary.BigEndian.AppendUint64(nil, old+n))); err != nil {
			return err
		}
	}
	if seq != s.seq {
		if err := set(badger.NewEntry(keySeq, binary.BigEndian.AppendUint64(nil, seq))); err != nil {
			return err
		}
	}
	s.seq = seq
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store: commit %d items: %w", b.Len(), err)
	}
	b.committed = true
	s.quarantineCommitted(quarantined, int64(len(b.rejections)), b.countOnly)
	return nil
}

// getU64 reads an 8-byte big-endian value; a missing key is 0, false.
func getU64(txn *badger.Txn, k []byte) (uint64, bool, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var n uint64
	err = item.Value(func(v []byte) error {
		n, err = decodeU64(v)
		return err
	})
	return n, true, err
}
