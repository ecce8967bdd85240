package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/p2p"
)

// Gossip messages (p2p.Store), two record types:
//
//	g:<id 32B>                                    seen id       value: <created 12B>
//	h:<topiclen u8><topic><created 12B><id 32B>   message       value: 0x01 <received 12B> <raw envelope>
//
// g: is the replay cache, a point lookup per incoming message. h: is the
// time index per topic and holds the message itself, so a catch-up page is
// one sequential scan. The topic is length-prefixed so one topic's prefix
// never matches another's keys; (created, id) makes keys unique and
// orders a page. Both records are written in one transaction, and pruned
// together.
const (
	prefixMsgID      = 'g'
	prefixMsgHistory = 'h'

	msgIDLen       = 32
	msgValueV1     = 1
	maxMsgTopicLen = 255
	// pruneChunk bounds one pruning transaction (two deletes per message).
	pruneChunk = 1024
)

var _ p2p.Store = (*Store)(nil)

func msgIDKey(id [32]byte) []byte {
	return append([]byte{prefixMsgID, keySep}, id[:]...)
}

func msgTopicPrefix(topic string) []byte {
	k := make([]byte, 0, 3+len(topic)+timeKeyLen+msgIDLen)
	k = append(k, prefixMsgHistory, keySep, byte(len(topic)))
	return append(k, topic...)
}

func msgHistoryKey(topic string, created time.Time, id [32]byte) []byte {
	return append(appendTimeKey(msgTopicPrefix(topic), created), id[:]...)
}

// readTimeKey decodes appendTimeKey's 12 bytes.
func readTimeKey(b []byte) time.Time {
	sec := int64(binary.BigEndian.Uint64(b) ^ (1 << 63))
	return time.Unix(sec, int64(binary.BigEndian.Uint32(b[8:]))).UTC()
}

// PutMessage stores an accepted gossip message; storing an ID again is a
// no-op. The topic must be 1 to 255 bytes, Raw 1 byte to MaxValueLen,
// and the times in years 1 to 9999.
func (s *Store) PutMessage(m p2p.StoredMessage) error {
	switch {
	case m.Topic == "" || len(m.Topic) > maxMsgTopicLen:
		return gridmint.Errorf(gridmint.EInvalid, "store: message topic of %d bytes: want 1 to %d", len(m.Topic), maxMsgTopicLen)
	case len(m.Raw) == 0 || len(m.Raw) > MaxValueLen:
		return gridmint.Errorf(gridmint.EInvalid, "store: message of %d bytes: want 1 to %d", len(m.Raw), MaxValueLen)
	case !timeInRange(m.Created) || !timeInRange(m.Received):
		return gridmint.Errorf(gridmint.EInvalid, "store: message times %v, %v outside years 1-9999", m.Created, m.Received)
	}
	value := make([]byte, 0, 1+timeKeyLen+len(m.Raw))
	value = append(value, msgValueV1)
	value = appendTimeKey(value, m.Received)
	value = append(value, m.Raw...)

	// commitMu makes check-then-write atomic: the first writer of an ID
	// wins and a second one changes nothing (badger's conflict detection
	// is off).
	unlock, err := s.lockCommit()
	if err != nil {
		return err
	}
	defer unlock()
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	idKey := msgIDKey(m.ID)
	switch _, err := txn.Get(idKey); {
	case err == nil:
		return nil
	case !errors.Is(err, badger.ErrKeyNotFound):
		return fmt.Errorf("store: message %x: %w", m.ID, err)
	}
	if err := txn.Set(idKey, appendTimeKey(nil, m.Created)); err != nil {
		return fmt.Errorf("store: message %x: %w", m.ID, err)
	}
	if err := txn.Set(msgHistoryKey(m.Topic, m.Created, m.ID), value); err != nil {
		return fmt.Errorf("store: message %x: %w", m.ID, err)
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store: message %x: %w", m.ID, err)
	}
	return nil
}

// HasMessage reports whether a message with id is stored.
func (s *Store) HasMessage(id [32]byte) (bool, error) {
	found := false
	err := s.view(func(txn *badger.Txn) error {
		_, err := txn.Get(msgIDKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: has message %x: %w", id, err)
	}
	return found, nil
}

// Messages returns up to limit messages of topic whose (Created, ID) is
// after (from, after) and whose Created is before to (zero: no bound),
// ordered by Created then ID; limit <= 0 means DefaultReadLimit.
func (s *Store) Messages(topic string, from, to time.Time, after [32]byte, limit int) ([]p2p.StoredMessage, error) {
	if topic == "" || len(topic) > maxMsgTopicLen {
		return nil, gridmint.Errorf(gridmint.EInvalid, "store: message topic of %d bytes: want 1 to %d", len(topic), maxMsgTopicLen)
	}
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	prefix := msgTopicPrefix(topic)
	seek := msgHistoryKey(topic, from, after)
	var end []byte
	if !to.IsZero() {
		end = appendTimeKey(bytes.Clone(prefix), to)
	}
	var out []p2p.StoredMessage
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: min(limit, 100), Prefix: prefix})
		defer it.Close()
		for it.Seek(seek); it.ValidForPrefix(prefix) && len(out) < limit; it.Next() {
			item := it.Item()
			k := item.Key()
			if bytes.Equal(k, seek) {
				continue // the cursor itself
			}
			if len(k) != len(prefix)+timeKeyLen+msgIDLen {
				return fmt.Errorf("message key %x: %w", k, errCorrupt)
			}
			if end != nil && bytes.Compare(k[:len(end)], end) >= 0 {
				break
			}
			m := p2p.StoredMessage{Topic: topic, Created: readTimeKey(k[len(prefix):])}
			copy(m.ID[:], k[len(prefix)+timeKeyLen:])
			err := item.Value(func(v []byte) error {
				if len(v) < 1+timeKeyLen+1 || v[0] != msgValueV1 {
					return fmt.Errorf("message %x: %w", m.ID, errCorrupt)
				}
				m.Received = readTimeKey(v[1:])
				m.Raw = bytes.Clone(v[1+timeKeyLen:])
				return nil
			})
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: messages of %s: %w", topic, err)
	}
	return out, nil
}

// NewestMessage returns the greatest Created of topic's messages, or the
// zero time if it has none.
func (s *Store) NewestMessage(topic string) (time.Time, error) {
	if topic == "" || len(topic) > maxMsgTopicLen {
		return time.Time{}, gridmint.Errorf(gridmint.EInvalid, "store: message topic of %d bytes: want 1 to %d", len(topic), maxMsgTopicLen)
	}
	prefix := msgTopicPrefix(topic)
	var newest time.Time
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
		defer it.Close()
		// No valid time key starts with 0xFF (years 1-9999), so this
		// seeks past every key of the topic.
		it.Seek(append(bytes.Clone(prefix), 0xFF))
		if !it.ValidForPrefix(prefix) {
			return nil
		}
		k := it.Item().Key()
		if len(k) != len(prefix)+timeKeyLen+msgIDLen {
			return fmt.Errorf("message key %x: %w", k, errCorrupt)
		}
		newest = readTimeKey(k[len(prefix):])
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: newest message of %s: %w", topic, err)
	}
	return newest, nil
}

// PruneMessages deletes every message created before before, in
// transactions of at most pruneChunk messages, and returns how many it
// deleted.
func (s *Store) PruneMessages(before time.Time) (int, error) {
	total := 0
	for {
		keys, err := s.expiredMessages(before, pruneChunk)
		if err != nil || len(keys) == 0 {
			return total, err
		}
		if err := s.deleteKeys(keys); err != nil {
			return total, err
		}
		total += len(keys) / 2
	}
}

// expiredMessages returns the h: and g: keys of up to max messages
// created before before, skipping from one topic to the next at the
// first message that is not expired.
func (s *Store) expiredMessages(before time.Time, max int) ([][]byte, error) {
	var keys [][]byte
	prefix := typePrefix(prefixMsgHistory)
	err := s.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		it.Seek(prefix)
		for it.ValidForPrefix(prefix) && len(keys) < 2*max {
			k := it.Item().Key()
			if len(k) < 3 || len(k) != 3+int(k[2])+timeKeyLen+msgIDLen {
				return fmt.Errorf("message key %x: %w", k, errCorrupt)
			}
			topicEnd := 3 + int(k[2])
			if readTimeKey(k[topicEnd:]).Before(before) {
				var id [32]byte
				copy(id[:], k[topicEnd+timeKeyLen:])
				keys = append(keys, bytes.Clone(k), msgIDKey(id))
				it.Next()
				continue
			}
			it.Seek(append(bytes.Clone(k[:topicEnd]), 0xFF))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: prune messages: %w", err)
	}
	return keys, nil
}

func (s *Store) deleteKeys(keys [][]byte) error {
	unlock, err := s.lockCommit()
	if err != nil {
		return err
	}
	defer unlock()
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	for _, k := range keys {
		if err := txn.Delete(k); err != nil {
			return fmt.Errorf("store: prune messages: %w", err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store: prune messages: %w", err)
	}
	return nil
}
