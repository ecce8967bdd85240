package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// Chain index (chain.IndexStore): the settlement events the chain indexer
// follows, by block, so a reorg can drop the blocks it replaced. One
// record-type byte, 'e' (Ethereum), then a sub-type byte:
//
//	e:b<number u64>                                 applied block   value: 0x01 <hash 32B> <time u64>
//	e:e<block u64><log u32><sub u32>                event           value: binary v1 (below)
//	e:a<account 20B><block u64><log u32><sub u32>   account index   value: the event's kind (enum)
//
// Event keys sort in chain order, so a range of blocks is one sequential
// scan, forwards or (Newest) backwards. The account index has one entry per
// distinct non-zero From and To of an event; it holds the kind so a Kinds
// filter skips events without reading them. The zero address is not
// indexed: it is a side of nearly every event (mints, burns, and the unused
// side of one-sided events), so a query for it scans the events.
//
// Visibility: the head is the highest e:b key, and only events at or below
// the head exist for readers (Events reads the head and the events in one
// snapshot). That rule makes writes larger than one badger transaction
// crash-safe. Apply writes the events first and the block record last;
// Rewind deletes block records first, from the top down, so the head only
// moves down, and then the events above the new head. A crash in between
// leaves events above the head that no reader sees, and the next Apply or
// Rewind deletes them before writing. An account entry never outlives its
// event: writes put the event before its entries, deletes remove the
// entries before the event. A block normally fits one transaction (badger
// allows 15% of a memtable, 2.4 MiB by default: thousands of events), and
// then Apply is exactly one transaction; a larger write is split where
// badger reports ErrTxnTooBig.
const (
	prefixChain   = 'e'
	chainBlockSub = 'b'
	chainEventSub = 'e'
	chainAcctSub  = 'a'

	// eventPosLen is the (block u64, log u32, sub u32) suffix of event
	// and account-index keys.
	eventPosLen   = 16
	chainValueV1  = 1
	blockValueLen = 1 + 32 + 8

	// MaxEventText is the most bytes of an event's Beneficiary or Claim
	// the index keeps. REC.sol does not bound them (only an empty
	// beneficiary reverts), so a retirement paying for a megabyte of
	// text is possible; refusing it would stall the indexer for good and
	// keeping it would make history pages huge. Longer text is cut, on a
	// UTF-8 boundary, and ends with " [cut from N bytes]".
	MaxEventText = 4 << 10
	// maxEventKindLen bounds an event kind the codec has no code for.
	maxEventKindLen = 64
	// maxAmountBytes: amounts are uint256 on chain.
	maxAmountBytes = 32
	// chainChunk is how many events (or blocks) one purge step collects.
	chainChunk = 1024
)

var (
	chainBlockPrefix = []byte{prefixChain, keySep, chainBlockSub}
	chainEventPrefix = []byte{prefixChain, keySep, chainEventSub}
	chainAcctPrefix  = []byte{prefixChain, keySep, chainAcctSub}
	// posMax sorts after every position within one block.
	posMax = bytes.Repeat([]byte{0xFF}, eventPosLen-8+1)
)

// chainKindCodes are the event kinds' one-byte codes. Part of the format:
// append only.
var chainKindCodes = [...]string{"",
	string(chain.EventIssued), string(chain.EventRECTransfer), string(chain.EventRetired),
	string(chain.EventFLEXTransfer), string(chain.EventRewarded), string(chain.EventReserved),
	string(chain.EventSlashed),
}

// *Store is the node's chain.IndexStore: Head, Apply, Recent, Rewind and
// Events below. They are safe for concurrent use. Apply and Rewind hold
// the commit lock for their whole run, so they are serialised with each
// other and with Commit; reads run concurrently and see whole blocks only.
var _ chain.IndexStore = (*Store)(nil)

type eventPos [eventPosLen]byte

func posOf(e chain.Event) eventPos {
	var p eventPos
	binary.BigEndian.PutUint64(p[:], e.Block)
	binary.BigEndian.PutUint32(p[8:], uint32(e.LogIndex))
	binary.BigEndian.PutUint32(p[12:], uint32(e.Sub))
	return p
}

func chainBlockKey(n uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(chainBlockPrefix), n)
}

func chainEventKey(p eventPos) []byte { return append(bytes.Clone(chainEventPrefix), p[:]...) }

func chainAcctPrefixOf(a common.Address) []byte { return append(bytes.Clone(chainAcctPrefix), a[:]...) }

func chainAcctKey(a common.Address, p eventPos) []byte { return append(chainAcctPrefixOf(a), p[:]...) }

// indexedAccounts are the accounts an event is indexed under.
func indexedAccounts(e chain.Event) []common.Address {
	var out []common.Address
	if e.From != (common.Address{}) {
		out = append(out, e.From)
	}
	if e.To != (common.Address{}) && e.To != e.From {
		out = append(out, e.To)
	}
	return out
}

// Head implements chain.IndexStore: the newest applied chain block.
func (s *Store) Head(context.Context) (head chain.BlockRef, ok bool, err error) {
	err = s.view(func(txn *badger.Txn) error {
		head, ok, err = chainHead(txn)
		return err
	})
	if err != nil {
		return chain.BlockRef{}, false, fmt.Errorf("store: chain index head: %w", err)
	}
	return head, ok, nil
}

// chainHead reads the highest block record.
func chainHead(txn *badger.Txn) (chain.BlockRef, bool, error) {
	it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: chainBlockPrefix})
	defer it.Close()
	it.Seek(append(bytes.Clone(chainBlockPrefix), posMax...))
	if !it.ValidForPrefix(chainBlockPrefix) {
		return chain.BlockRef{}, false, nil
	}
	b, err := decodeBlockItem(it.Item())
	return b, err == nil, err
}

func decodeBlockItem(item *badger.Item) (chain.BlockRef, error) {
	k := item.Key()
	if len(k) != len(chainBlockPrefix)+8 {
		return chain.BlockRef{}, fmt.Errorf("chain block key %x: %w", k, errCorrupt)
	}
	b := chain.BlockRef{Number: binary.BigEndian.Uint64(k[len(chainBlockPrefix):])}
	err := item.Value(func(v []byte) error {
		if len(v) != blockValueLen || v[0] != chainValueV1 {
			return fmt.Errorf("chain block %d value: %w", b.Number, errCorrupt)
		}
		copy(b.Hash[:], v[1:33])
		b.Time = binary.BigEndian.Uint64(v[33:])
		return nil
	})
	return b, err
}

func appendBlockValue(dst []byte, b chain.BlockRef) []byte {
	dst = append(dst, chainValueV1)
	dst = append(dst, b.Hash[:]...)
	return binary.BigEndian.AppendUint64(dst, b.Time)
}

// Recent implements chain.IndexStore: up to n applied chain blocks,
// newest first.
func (s *Store) Recent(_ context.Context, n int) ([]chain.BlockRef, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []chain.BlockRef
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: chainBlockPrefix, PrefetchValues: true, PrefetchSize: min(n, 100)})
		defer it.Close()
		for it.Seek(append(bytes.Clone(chainBlockPrefix), posMax...)); it.ValidForPrefix(chainBlockPrefix) && len(out) < n; it.Next() {
			b, err := decodeBlockItem(it.Item())
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: chain index recent blocks: %w", err)
	}
	return out, nil
}

// encodedEvent is an event ready to write.
type encodedEvent struct {
	pos      eventPos
	value    []byte
	kind     []byte // the account-index value
	accounts []common.Address
}

// Apply implements chain.IndexStore: it stores one chain block's events
// and makes the block the head. Every event must be of block b
// (Event.Block == b.Number) at a distinct (LogIndex, Sub), with LogIndex
// below 2^32, Sub in [0, 2^31), Amount nil (stored as 0) or in [0,
// 2^256), and a Kind of at most 64 bytes; otherwise Apply writes nothing
// and returns an EInvalid *gridmint.Error. Beneficiary and Claim are cut
// to MaxEventText. A block number at or below the head is an EInvalid
// error. Events of one block are returned in (LogIndex, Sub) order, which
// is chain order, whatever their order here.
func (s *Store) Apply(ctx context.Context, b chain.BlockRef, events []chain.Event) error {
	enc, err := s.encodeEvents(b, events)
	if err != nil {
		return err
	}
	unlock, err := s.lockCommit()
	if err != nil {
		return err
	}
	defer unlock()
	var head chain.BlockRef
	var ok bool
	if err := s.db.View(func(txn *badger.Txn) error {
		head, ok, err = chainHead(txn)
		return err
	}); err != nil {
		return fmt.Errorf("store: chain index apply block %d: %w", b.Number, err)
	}
	if ok && b.Number <= head.Number {
		return gridmint.Errorf(gridmint.EInvalid, "store: chain index: block %d applied after %d", b.Number, head.Number)
	}
	// Events above the head are what an interrupted Apply or Rewind left;
	// they must go before this block makes them visible.
	var above uint64
	if ok {
		above = head.Number + 1
	}
	if err := s.purgeEvents(ctx, above); err != nil {
		return fmt.Errorf("store: chain index apply block %d: %w", b.Number, err)
	}
	w := splitTxn{db: s.db, txn: s.db.NewTransaction(true)}
	defer func() { w.txn.Discard() }()
	for _, e := range enc {
		if err := w.set(chainEventKey(e.pos), e.value); err != nil {
			return fmt.Errorf("store: chain index apply block %d: %w", b.Number, err)
		}
		for _, a := range e.accounts {
			if err := w.set(chainAcctKey(a, e.pos), e.kind); err != nil {
				return fmt.Errorf("store: chain index apply block %d: %w", b.Number, err)
			}
		}
	}
	// The block record last: it is what makes the events visible.
	if err := w.set(chainBlockKey(b.Number), appendBlockValue(nil, b)); err != nil {
		return fmt.Errorf("store: chain index apply block %d: %w", b.Number, err)
	}
	if err := w.txn.Commit(); err != nil {
		return fmt.Errorf("store: chain index apply block %d: %w", b.Number, err)
	}
	return nil
}

// encodeEvents validates and encodes events of block b.
func (s *Store) encodeEvents(b chain.BlockRef, events []chain.Event) ([]encodedEvent, error) {
	out := make([]encodedEvent, len(events))
	seen := make(map[eventPos]bool, len(events))
	for i, e := range events {
		invalid := func(format string, args ...any) error {
			return gridmint.Errorf(gridmint.EInvalid, "store: chain index block %d event %d: %s", b.Number, i, fmt.Sprintf(format, args...))
		}
		switch {
		case e.Block != b.Number:
			return nil, invalid("of block %d", e.Block)
		case uint64(e.LogIndex) > math.MaxUint32:
			return nil, invalid("log index %d beyond 2^32", e.LogIndex)
		case e.Sub < 0 || int64(e.Sub) > math.MaxInt32:
			return nil, invalid("sub %d outside [0, 2^31)", e.Sub)
		case e.Amount != nil && (e.Amount.Sign() < 0 || e.Amount.BitLen() > 8*maxAmountBytes):
			return nil, invalid("amount %v outside [0, 2^256)", e.Amount)
		case len(e.Kind) > maxEventKindLen:
			return nil, invalid("kind of %d bytes exceeds %d", len(e.Kind), maxEventKindLen)
		}
		p := posOf(e)
		if seen[p] {
			return nil, invalid("log %d sub %d given twice", e.LogIndex, e.Sub)
		}
		seen[p] = true
		e.Beneficiary = s.cutText(e, "beneficiary", e.Beneficiary)
		e.Claim = s.cutText(e, "claim", e.Claim)
		out[i] = encodedEvent{
			pos: p, value: appendChainEvent(nil, e),
			kind:     appendEnum(nil, string(e.Kind), chainKindCodes[:]),
			accounts: indexedAccounts(e),
		}
	}
	return out, nil
}

// cutText bounds an event's text to MaxEventText bytes (see there).
func (s *Store) cutText(e chain.Event, what, text string) string {
	if len(text) <= MaxEventText {
		return text
	}
	note := fmt.Sprintf(" [cut from %d bytes]", len(text))
	s.log.Warn("store: chain index: event text cut", "what", what, "block", e.Block, "log", e.LogIndex, "bytes", len(text), "max", MaxEventText)
	return truncateUTF8(text, MaxEventText-len(note)) + note
}

// Rewind implements chain.IndexStore: it drops the chain blocks above
// number and their events. It deletes the block records above number
// from the top down (the head moves down, and the events above it stop
// being visible with it), then those events and their index entries, also
// from the top down, in transactions of at most chainChunk events. A crash
// at any point leaves a consistent index at some head between number and
// the old head; what is left above the head is deleted by the next Rewind
// or Apply. See the key layout comment.
func (s *Store) Rewind(ctx context.Context, number uint64) error {
	unlock, err := s.lockCommit()
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.deleteBlocksAbove(ctx, number); err != nil {
		return fmt.Errorf("store: chain index rewind to %d: %w", number, err)
	}
	if number == math.MaxUint64 {
		return nil
	}
	if err := s.purgeEvents(ctx, number+1); err != nil {
		return fmt.Errorf("store: chain index rewind to %d: %w", number, err)
	}
	return nil
}

// deleteBlocksAbove deletes the block records above number, highest first.
// The caller holds commitMu and mu.
func (s *Store) deleteBlocksAbove(ctx context.Context, number uint64) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys [][]byte
		err := s.db.View(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: chainBlockPrefix})
			defer it.Close()
			for it.Seek(append(bytes.Clone(chainBlockPrefix), posMax...)); it.ValidForPrefix(chainBlockPrefix) && len(keys) < chainChunk; it.Next() {
				k := it.Item().Key()
				if len(k) != len(chainBlockPrefix)+8 {
					return fmt.Errorf("chain block key %x: %w", k, errCorrupt)
				}
				if binary.BigEndian.Uint64(k[len(chainBlockPrefix):]) <= number {
					break
				}
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		if err := s.deleteInOrder(keys); err != nil {
			return err
		}
	}
}

// purgeEvents deletes every event of block from or later with its account
// entries, highest first, in steps of chainChunk events. The caller holds
// commitMu and mu.
func (s *Store) purgeEvents(ctx context.Context, from uint64) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var keys [][]byte
		n := 0
		err := s.db.View(func(txn *badger.Txn) error {
			return iterEvents(txn, chainEventPrefix, from, math.MaxUint64, true, true, func(item *badger.Item) (bool, error) {
				e, err := decodeEventItem(item, chainEventPrefix)
				if err != nil {
					return false, err
				}
				p := posOf(e)
				for _, a := range indexedAccounts(e) {
					keys = append(keys, chainAcctKey(a, p))
				}
				keys = append(keys, chainEventKey(p))
				n++
				return n >= chainChunk, nil
			})
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		if err := s.deleteInOrder(keys); err != nil {
			return err
		}
	}
}

// deleteInOrder deletes keys in order, in as few transactions as badger
// allows; the transactions commit in order.
func (s *Store) deleteInOrder(keys [][]byte) error {
	w := splitTxn{db: s.db, txn: s.db.NewTransaction(true)}
	defer func() { w.txn.Discard() }()
	for _, k := range keys {
		if err := w.delete(k); err != nil {
			return err
		}
	}
	return w.txn.Commit()
}

// splitTxn writes through one transaction and, when badger says it is
// full, commits it and goes on in a new one. Commits are durable in order
// (SyncWrites), so a crash keeps a prefix of the writes.
type splitTxn struct {
	db  *badger.DB
	txn *badger.Txn
}

func (w *splitTxn) do(op func(*badger.Txn) error) error {
	err := op(w.txn)
	if !errors.Is(err, badger.ErrTxnTooBig) {
		return err
	}
	if err := w.txn.Commit(); err != nil {
		return err
	}
	w.txn = w.db.NewTransaction(true)
	return op(w.txn)
}

func (w *splitTxn) set(k, v []byte) error {
	return w.do(func(txn *badger.Txn) error { return txn.Set(k, v) })
}

func (w *splitTxn) delete(k []byte) error {
	return w.do(func(txn *badger.Txn) error { return txn.Delete(k) })
}

// Events implements chain.IndexStore: the chain events matching q. With
// an Account (other than the zero address) it reads the account index, so
// its cost is the account's events in the block range, not all events.
func (s *Store) Events(ctx context.Context, q chain.EventQuery) ([]chain.Event, error) {
	var out []chain.Event
	err := s.view(func(txn *badger.Txn) error {
		head, ok, err := chainHead(txn)
		if err != nil || !ok {
			return err
		}
		hi := head.Number
		if q.ToBlock != 0 {
			hi = min(hi, q.ToBlock)
		}
		if q.FromBlock > hi {
			return nil
		}
		n := 0
		add := func(e chain.Event) (bool, error) {
			if n++; n%256 == 0 && ctx.Err() != nil {
				return true, ctx.Err()
			}
			if q.Match(e) {
				out = append(out, e)
			}
			return q.Limit > 0 && len(out) >= q.Limit, nil
		}
		if q.Account == nil || *q.Account == (common.Address{}) {
			return iterEvents(txn, chainEventPrefix, q.FromBlock, hi, q.Newest, true, func(item *badger.Item) (bool, error) {
				e, err := decodeEventItem(item, chainEventPrefix)
				if err != nil {
					return false, err
				}
				return add(e)
			})
		}
		acct := *q.Account
		prefix := chainAcctPrefixOf(acct)
		return iterEvents(txn, prefix, q.FromBlock, hi, q.Newest, true, func(item *badger.Item) (bool, error) {
			if len(q.Kinds) > 0 {
				var kind string
				err := item.Value(func(v []byte) error {
					d := decoder{b: v}
					kind = d.enum(chainKindCodes[:])
					if d.err == nil && len(d.b) != 0 {
						d.err = fmt.Errorf("%d trailing bytes", len(d.b))
					}
					if d.err != nil {
						return d.fail("chain account index")
					}
					return nil
				})
				if err != nil {
					return false, fmt.Errorf("key %x: %w", item.Key(), err)
				}
				if !slices.Contains(q.Kinds, chain.EventKind(kind)) {
					return false, nil
				}
			}
			ek := append(bytes.Clone(chainEventPrefix), item.Key()[len(prefix):]...)
			ev, err := txn.Get(ek)
			if err != nil {
				// An entry never outlives its event (see the layout).
				return false, fmt.Errorf("account index key %x: event: %w: %w", item.Key(), errCorrupt, err)
			}
			e, err := decodeEventItem(ev, chainEventPrefix)
			if err != nil {
				return false, err
			}
			if !e.Involves(acct) {
				return false, fmt.Errorf("account index key %x: event does not involve %s: %w", item.Key(), acct, errCorrupt)
			}
			return add(e)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: chain index events: %w", err)
	}
	return out, nil
}

// iterEvents calls fn with each item under prefix whose key ends in a
// position of a block in [lo, hi], in key order (reversed if reverse),
// until fn returns true or an error.
func iterEvents(txn *badger.Txn, prefix []byte, lo, hi uint64, reverse, prefetch bool, fn func(*badger.Item) (bool, error)) error {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: reverse, PrefetchValues: prefetch, PrefetchSize: 100})
	defer it.Close()
	seek := binary.BigEndian.AppendUint64(bytes.Clone(prefix), lo)
	if reverse {
		seek = append(binary.BigEndian.AppendUint64(bytes.Clone(prefix), hi), posMax...)
	}
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		k := it.Item().Key()
		if len(k) != len(prefix)+eventPosLen {
			return fmt.Errorf("chain index key %x: %w", k, errCorrupt)
		}
		if b := binary.BigEndian.Uint64(k[len(prefix):]); reverse && b < lo || !reverse && b > hi {
			return nil
		}
		stop, err := fn(it.Item())
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// decodeEventItem decodes an event value and checks it against its key.
func decodeEventItem(item *badger.Item, prefix []byte) (chain.Event, error) {
	var e chain.Event
	err := item.Value(func(v []byte) error {
		var err error
		e, err = decodeChainEvent(v)
		return err
	})
	if err != nil {
		return e, fmt.Errorf("key %x: %w", item.Key(), err)
	}
	p := posOf(e)
	if k := item.Key(); !bytes.Equal(k[len(prefix):], p[:]) {
		return e, fmt.Errorf("key %x holds the event of block %d log %d sub %d: %w", k, e.Block, e.LogIndex, e.Sub, errCorrupt)
	}
	return e, nil
}

// Event value encoding, version 1. Like the reading codec it repeats the
// key (block, log, sub), so a value decodes alone and is checked against
// its key.
//
//	byte     version (= 1)
//	uvarint  Block, LogIndex (< 2^32), Sub (< 2^31)
//	enum     Kind (chainKindCodes; another kind is custom, 1 to 64 bytes)
//	uvarint  Time (Unix seconds)
//	32 bytes TxHash
//	byte     flags: bit 0 From, 1 To, 2 Token, 3 Ref, 4 Aux are set, and
//	         only those follow; a flagged field is non-zero, other bits 0
//	[From]   20 bytes; [To] 20 bytes
//	[Token]  32 bytes Zone, byte Technology, uvarint Hour
//	[Ref]    32 bytes; [Aux] 32 bytes
//	uvarint  n (<= 32), then Amount as n big-endian bytes without leading
//	         zeros (0 is n = 0); amounts are uint256, never negative
//	uvarint  Count, uvarint RetirementID, byte RewardKind
//	uvarint  len(Beneficiary) (<= MaxEventText), bytes; then Claim alike
//
// Decoding accepts only this canonical form (minimal varints, no trailing
// bytes), so decoding then encoding gives back the same bytes; a decoded
// Amount is never nil.
const (
	evFrom byte = 1 << iota
	evTo
	evToken
	evRef
	evAux
	evAllFlags = evFrom | evTo | evToken | evRef | evAux
)

// appendChainEvent appends the v1 encoding of e. Apply has checked the
// bounds; the encoder itself never fails.
func appendChainEvent(dst []byte, e chain.Event) []byte {
	dst = append(dst, chainValueV1)
	dst = binary.AppendUvarint(dst, e.Block)
	dst = binary.AppendUvarint(dst, uint64(e.LogIndex))
	dst = binary.AppendUvarint(dst, uint64(e.Sub))
	dst = appendEnum(dst, string(e.Kind), chainKindCodes[:])
	dst = binary.AppendUvarint(dst, e.Time)
	dst = append(dst, e.TxHash[:]...)
	var flags byte
	if e.From != (common.Address{}) {
		flags |= evFrom
	}
	if e.To != (common.Address{}) {
		flags |= evTo
	}
	if e.Token != (chain.TokenID{}) {
		flags |= evToken
	}
	if e.Ref != (common.Hash{}) {
		flags |= evRef
	}
	if e.Aux != (common.Hash{}) {
		flags |= evAux
	}
	dst = append(dst, flags)
	if flags&evFrom != 0 {
		dst = append(dst, e.From[:]...)
	}
	if flags&evTo != 0 {
		dst = append(dst, e.To[:]...)
	}
	if flags&evToken != 0 {
		dst = append(dst, e.Token.Zone[:]...)
		dst = append(dst, e.Token.Technology)
		dst = binary.AppendUvarint(dst, e.Token.Hour)
	}
	if flags&evRef != 0 {
		dst = append(dst, e.Ref[:]...)
	}
	if flags&evAux != 0 {
		dst = append(dst, e.Aux[:]...)
	}
	var amount []byte
	if e.Amount != nil {
		amount = e.Amount.Bytes()
	}
	dst = binary.AppendUvarint(dst, uint64(len(amount)))
	dst = append(dst, amount...)
	dst = binary.AppendUvarint(dst, e.Count)
	dst = binary.AppendUvarint(dst, e.RetirementID)
	dst = append(dst, e.RewardKind)
	dst = appendText(dst, e.Beneficiary)
	return appendText(dst, e.Claim)
}

func appendText(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeChainEvent decodes a v1 event value. It never panics; malformed
// or non-canonical input is an error wrapping errCorrupt.
func decodeChainEvent(b []byte) (chain.Event, error) {
	var e chain.Event
	d := decoder{b: b}
	if v := d.byte(); v != chainValueV1 {
		if d.err != nil {
			return e, d.fail("chain event")
		}
		return e, fmt.Errorf("chain event value: unknown version %d: %w", v, errCorrupt)
	}
	e.Block = d.uvarint()
	logIndex, sub := d.uvarint(), d.uvarint()
	if d.err == nil && (logIndex > math.MaxUint32 || sub > math.MaxInt32) {
		d.err = fmt.Errorf("log index %d or sub %d out of range", logIndex, sub)
	}
	e.LogIndex, e.Sub = uint(logIndex), int(sub)
	kind := d.enum(chainKindCodes[:])
	if d.err == nil && len(kind) > maxEventKindLen {
		d.err = fmt.Errorf("kind of %d bytes", len(kind))
	}
	e.Kind = chain.EventKind(kind)
	e.Time = d.uvarint()
	copy(e.TxHash[:], d.bytes(32))
	flags := d.byte()
	if d.err == nil && flags&^evAllFlags != 0 {
		d.err = fmt.Errorf("unknown flags %#x", flags)
	}
	// present reads a flagged field and checks it is not zero, which the
	// encoder would have left out.
	present := func(flag byte, dst []byte) {
		if flags&flag == 0 {
			return
		}
		copy(dst, d.bytes(uint64(len(dst))))
		if d.err == nil && !slices.ContainsFunc(dst, func(c byte) bool { return c != 0 }) {
			d.err = fmt.Errorf("flag %#x on a zero field", flag)
		}
	}
	present(evFrom, e.From[:])
	present(evTo, e.To[:])
	if flags&evToken != 0 {
		copy(e.Token.Zone[:], d.bytes(32))
		e.Token.Technology = d.byte()
		e.Token.Hour = d.uvarint()
		if d.err == nil && e.Token == (chain.TokenID{}) {
			d.err = errors.New("token flagged but zero")
		}
	}
	present(evRef, e.Ref[:])
	present(evAux, e.Aux[:])
	n := d.uvarint()
	if d.err == nil && n > maxAmountBytes {
		d.err = fmt.Errorf("amount of %d bytes", n)
	}
	amount := d.bytes(n)
	if d.err == nil && n > 0 && amount[0] == 0 {
		d.err = errors.New("amount with a leading zero byte")
	}
	e.Amount = new(big.Int)
	if d.err == nil {
		e.Amount.SetBytes(amount)
	}
	e.Count = d.uvarint()
	e.RetirementID = d.uvarint()
	e.RewardKind = d.byte()
	e.Beneficiary = d.text()
	e.Claim = d.text()
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return chain.Event{}, d.fail("chain event")
	}
	return e, nil
}

// text reads a length-prefixed string of at most MaxEventText bytes.
func (d *decoder) text() string {
	n := d.uvarint()
	if d.err == nil && n > MaxEventText {
		d.err = fmt.Errorf("text of %d bytes exceeds %d", n, MaxEventText)
	}
	s := d.bytes(n)
	if d.err != nil {
		return ""
	}
	return string(s)
}
