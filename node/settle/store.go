package settle

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// Store keeps the engine's records durably; node/store implements it on
// badger. Keys are short ASCII strings, values opaque bytes.
// Implementations must be safe for concurrent use.
type Store interface {
	// PutSettle creates or replaces the record under key; it returns once
	// the record would survive a crash (fsync).
	PutSettle(key string, value []byte) error
	// DeleteSettle removes the records under keys (missing ones are fine).
	DeleteSettle(keys []string) error
	// ScanSettle calls fn with every record whose key starts with prefix,
	// in key order, until fn returns an error.
	ScanSettle(prefix string, fn func(key string, value []byte) error) error
}

// Record keys:
//
//	b/<digest hex>                 batchRecord   a batch this node knows the contents of
//	a/<digest hex>/<signer hex>    attRecord     a valid attestation, of a known batch or not (yet)
//
// Attestations are keyed by digest, not batch id: the signature is over
// the digest, and a peer's attestation may arrive before this node has
// built the batch it is about. The record layout is JSON with a version.
const (
	prefixBatch       = "b/"
	prefixAttestation = "a/"
	recordVersion     = 1
)

func batchKey(digest common.Hash) string { return prefixBatch + digest.Hex() }

func attKey(digest common.Hash, signer common.Address) string {
	return prefixAttestation + digest.Hex() + "/" + signer.Hex()
}

// batchRecord is one batch's durable state.
type batchRecord struct {
	V          int            `json:"v"`
	Batch      Batch          `json:"batch"`
	Created    time.Time      `json:"created"` // node clock
	State      State          `json:"state"`
	ReadyClock time.Time      `json:"readyClock,omitzero"`
	ReadyWall  time.Time      `json:"readyWall,omitzero"`
	Tx         common.Hash    `json:"tx,omitzero"`
	Block      uint64         `json:"block,omitempty"`
	By         common.Address `json:"by,omitzero"` // who settled it, when known
	Attempts   int            `json:"attempts,omitempty"`
	Error      string         `json:"error,omitempty"`
	// RetryClock and RetryWall: a failed submission is tried again from then.
	RetryClock time.Time `json:"retryClock,omitzero"`
	RetryWall  time.Time `json:"retryWall,omitzero"`
}

// attRecord is one attestation.
type attRecord struct {
	V         int           `json:"v"`
	Kind      Kind          `json:"kind"`
	Signature hexutil.Bytes `json:"sig"`
	Received  time.Time     `json:"received"` // node clock
	// Unsent marks this node's own attestation that gossip has not taken
	// yet; the engine publishes it again.
	Unsent bool `json:"unsent,omitempty"`
}

func parseAttKey(key string) (common.Hash, common.Address, error) {
	rest, ok := strings.CutPrefix(key, prefixAttestation)
	d, s, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || len(d) != 66 || len(s) != 42 {
		return common.Hash{}, common.Address{}, fmt.Errorf("settle: attestation key %q malformed", key)
	}
	return common.HexToHash(d), common.HexToAddress(s), nil
}

func decodeRecord(v []byte, into any, version *int) error {
	if err := json.Unmarshal(v, into); err != nil {
		return err
	}
	if *version != recordVersion {
		return fmt.Errorf("record version %d, want %d", *version, recordVersion)
	}
	return nil
}

// MemStore is an in-memory Store (tests; nothing survives the process).
type MemStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[string][]byte{}} }

// PutSettle implements Store.
func (s *MemStore) PutSettle(key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = slices.Clone(value)
	return nil
}

// DeleteSettle implements Store.
func (s *MemStore) DeleteSettle(keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.m, k)
	}
	return nil
}

// ScanSettle implements Store.
func (s *MemStore) ScanSettle(prefix string, fn func(key string, value []byte) error) error {
	s.mu.Lock()
	keys := slices.Sorted(maps.Keys(s.m))
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = slices.Clone(s.m[k])
	}
	s.mu.Unlock()
	for i, k := range keys {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// Len is the number of records (tests).
func (s *MemStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
