package store

import (
	"fmt"

	"github.com/gridmint/gridmint"
)

// Settlement engine records (package node/settle's Store):
//
//	s:<key>   value: opaque bytes (node/settle's batch and attestation records)
//
// Each put is one synced transaction, so an attestation or a batch's
// state survives a crash as soon as PutSettle returns.
const (
	prefixSettle = 's'
	// maxSettleKeyLen bounds the engine's keys (its longest is 112 bytes).
	maxSettleKeyLen = 256
)

func settleKey(key string) []byte { return append([]byte{prefixSettle, keySep}, key...) }

// PutSettle creates or replaces the settlement record under key.
func (s *Store) PutSettle(key string, value []byte) error {
	switch {
	case key == "" || len(key) > maxSettleKeyLen:
		return gridmint.Errorf(gridmint.EInvalid, "store: settlement key of %d bytes: want 1 to %d", len(key), maxSettleKeyLen)
	case len(value) > MaxValueLen:
		return gridmint.Errorf(gridmint.EInvalid, "store: settlement record %s of %d bytes exceeds %d", key, len(value), MaxValueLen)
	}
	unlock, err := s.lockCommit()
	if err != nil {
		return err
	}
	defer unlock()
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	if err := txn.Set(settleKey(key), value); err != nil {
		return fmt.Errorf("store: settlement record %s: %w", key, err)
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("store: settlement record %s: %w", key, err)
	}
	return nil
}

// DeleteSettle removes the settlement records under keys, in chunks of
// one transaction each.
func (s *Store) DeleteSettle(keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), pruneChunk)
		raw := make([][]byte, n)
		for i, k := range keys[:n] {
			raw[i] = settleKey(k)
		}
		if err := s.deleteKeys(raw); err != nil {
			return fmt.Errorf("store: delete settlement records: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// ScanSettle calls fn with every settlement record whose key starts with
// prefix, in key order; value is only valid during the call.
func (s *Store) ScanSettle(prefix string, fn func(key string, value []byte) error) error {
	p := settleKey(prefix)
	err := s.scan(p, func(k, v []byte) error { return fn(string(k[2:]), v) })
	if err != nil {
		return fmt.Errorf("store: scan settlement records: %w", err)
	}
	return nil
}
