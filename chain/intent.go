package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// Operation kinds, as Intent.Kind.
const (
	OpIssue        = "issue"
	OpReward       = "reward"
	OpRetire       = "retire"
	OpReserve      = "reserve"
	OpSlash        = "slash"
	OpStake        = "stake"
	OpTransferREC  = "transfer-rec"
	OpTransferFLEX = "transfer-flex"
)

// IntentState is where a submission stands.
type IntentState string

// Intent states.
const (
	// IntentPending: recorded, maybe sent, not yet known to be mined.
	IntentPending IntentState = "pending"
	// IntentDone: mined successfully, or found done on chain already.
	IntentDone IntentState = "done"
	// IntentFailed: reverted on chain or refused; submitting again retries.
	IntentFailed IntentState = "failed"
)

// Intent is the durable record of one submission, written before any
// transaction of it is sent, so that a restart can tell what may be in
// flight. At most one of Txs can ever be mined: each was signed only after
// the nonce of the one before it had been consumed by another
// transaction, or with the same nonce (a fee bump).
type Intent struct {
	// ID is deterministic: IntentID(kind, the operation's own id).
	ID   common.Hash    `json:"id"`
	Kind string         `json:"kind"`
	Ref  common.Hash    `json:"ref"` // the operation's own id (batch id, ...)
	To   common.Address `json:"to"`
	Data hexutil.Bytes  `json:"data"` // call data
	// Txs are the signed transactions, oldest first.
	Txs     []SentTx    `json:"txs,omitempty"`
	State   IntentState `json:"state"`
	Result  *Receipt    `json:"result,omitempty"`
	Error   string      `json:"error,omitempty"`
	Created time.Time   `json:"created"`
	Updated time.Time   `json:"updated"`
}

// SentTx is one signed transaction of an intent.
type SentTx struct {
	Hash  common.Hash   `json:"hash"`
	Nonce uint64        `json:"nonce"`
	Raw   hexutil.Bytes `json:"raw"` // RLP/typed encoding, to rebroadcast
}

// Receipt is the outcome of a done intent.
type Receipt struct {
	TxHash    common.Hash `json:"txHash"`
	Block     uint64      `json:"block"`
	BlockHash common.Hash `json:"blockHash"`
	GasUsed   uint64      `json:"gasUsed"`
	// AlreadyDone: the operation was found done on chain (by an earlier
	// transaction of ours or by another node); TxHash may then be zero.
	AlreadyDone bool `json:"alreadyDone,omitempty"`
}

// IntentID is the intent id of operation ref of a kind.
func IntentID(kind string, ref common.Hash) common.Hash {
	return crypto.Keccak256Hash([]byte("gridmint/intent/"+kind), ref.Bytes())
}

// IntentStore keeps intents durably: Put must not return before the
// intent would survive a crash of the process (and, for the node, of the
// machine: badger with SyncWrites, or FileIntents).
type IntentStore interface {
	// PutIntent creates or replaces the intent with in.ID.
	PutIntent(ctx context.Context, in Intent) error
	// Intent returns the intent with id; ok is false if there is none.
	Intent(ctx context.Context, id common.Hash) (in Intent, ok bool, err error)
	// PendingIntents returns the intents in state IntentPending, oldest first.
	PendingIntents(ctx context.Context) ([]Intent, error)
}

// MemIntents is an in-memory IntentStore, for tests.
type MemIntents struct {
	mu sync.Mutex
	m  map[common.Hash]Intent
}

// NewMemIntents returns an empty in-memory store.
func NewMemIntents() *MemIntents { return &MemIntents{m: map[common.Hash]Intent{}} }

// PutIntent implements IntentStore.
func (s *MemIntents) PutIntent(_ context.Context, in Intent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[in.ID] = cloneIntent(in)
	return nil
}

// Intent implements IntentStore.
func (s *MemIntents) Intent(_ context.Context, id common.Hash) (Intent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.m[id]
	return cloneIntent(in), ok, nil
}

// PendingIntents implements IntentStore.
func (s *MemIntents) PendingIntents(context.Context) ([]Intent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Intent
	for _, in := range s.m {
		if in.State == IntentPending {
			out = append(out, cloneIntent(in))
		}
	}
	sortIntents(out)
	return out, nil
}

func cloneIntent(in Intent) Intent {
	in.Data = slices.Clone(in.Data)
	in.Txs = slices.Clone(in.Txs)
	if in.Result != nil {
		r := *in.Result
		in.Result = &r
	}
	return in
}

func sortIntents(ins []Intent) {
	slices.SortFunc(ins, func(a, b Intent) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return a.ID.Cmp(b.ID)
	})
}

// FileIntents is an IntentStore of one JSON file per intent in a
// directory, each written to a temporary file, fsynced and renamed (and
// the directory fsynced), so an intent is on disk when PutIntent returns.
type FileIntents struct {
	dir string
	mu  sync.Mutex
}

// NewFileIntents opens (creating) the directory dir.
func NewFileIntents(dir string) (*FileIntents, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("chain: intents dir: %w", err)
	}
	return &FileIntents{dir: dir}, nil
}

func (s *FileIntents) path(id common.Hash) string {
	return filepath.Join(s.dir, id.Hex()[2:]+".json")
}

// PutIntent implements IntentStore.
func (s *FileIntents) PutIntent(_ context.Context, in Intent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("chain: encode intent: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, ".intent-*")
	if err != nil {
		return fmt.Errorf("chain: write intent: %w", err)
	}
	_, werr := tmp.Write(b)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("chain: write intent: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path(in.ID)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("chain: write intent: %w", err)
	}
	return syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("chain: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("chain: sync %s: %w", dir, err)
	}
	return nil
}

// Intent implements IntentStore.
func (s *FileIntents) Intent(_ context.Context, id common.Hash) (Intent, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := os.ReadFile(s.path(id))
	if errors.Is(err, os.ErrNotExist) {
		return Intent{}, false, nil
	}
	if err != nil {
		return Intent{}, false, fmt.Errorf("chain: read intent: %w", err)
	}
	var in Intent
	if err := json.Unmarshal(b, &in); err != nil {
		return Intent{}, false, fmt.Errorf("chain: intent %s: %w", id, err)
	}
	return in, true, nil
}

// PendingIntents implements IntentStore.
func (s *FileIntents) PendingIntents(ctx context.Context) ([]Intent, error) {
	all, err := s.AllIntents(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(in Intent) bool { return in.State != IntentPending }), nil
}
