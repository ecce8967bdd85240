package chain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// BlockRef names a block.
type BlockRef struct {
	Number uint64      `json:"number"`
	Hash   common.Hash `json:"hash"`
	Time   uint64      `json:"time"` // Unix seconds
}

// EventQuery selects events. Zero fields do not filter.
type EventQuery struct {
	// Account matches events whose From or To is it.
	Account *common.Address
	Kinds   []EventKind
	// FromBlock and ToBlock bound the block range, inclusive; ToBlock 0
	// means no upper bound.
	FromBlock, ToBlock uint64
	// Newest returns the newest events first (for history pages).
	Newest bool
	// Limit caps the number of events; 0 means no cap.
	Limit int
	// AfterRetirement skips retirements whose id is at most it (pages of
	// retirements; ids grow with the chain).
	AfterRetirement uint64
}

// Match reports whether e passes the filter (not Limit).
func (q EventQuery) Match(e Event) bool {
	if q.Account != nil && !e.Involves(*q.Account) {
		return false
	}
	if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, e.Kind) {
		return false
	}
	if e.Kind == EventRetired && e.RetirementID <= q.AfterRetirement && q.AfterRetirement > 0 {
		return false
	}
	return e.Block >= q.FromBlock && (q.ToBlock == 0 || e.Block <= q.ToBlock)
}

// IndexStore keeps indexed events by block so that a reorg can drop the
// blocks it replaced. The node backs it with badger (events keyed by
// block/log, plus an account index for Events with an Account); MemIndex
// is the in-memory reference implementation.
type IndexStore interface {
	// Head is the newest applied block; ok is false before the first.
	Head(ctx context.Context) (head BlockRef, ok bool, err error)
	// Apply atomically stores one block's events (maybe none) and makes
	// the block the head. Blocks arrive in increasing number.
	Apply(ctx context.Context, b BlockRef, events []Event) error
	// Recent returns up to n applied blocks, newest first.
	Recent(ctx context.Context, n int) ([]BlockRef, error)
	// Rewind atomically drops the applied blocks above number, and their events.
	Rewind(ctx context.Context, number uint64) error
	// Events returns the events matching q, in chain order (or newest
	// first with q.Newest), at most q.Limit.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
}

// IndexBackend is what the indexer needs of a chain.
type IndexBackend interface {
	ethereum.LogFilterer
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// IndexerConfig configures an Indexer.
type IndexerConfig struct {
	Contracts Addresses
	// Confirmations: only blocks this many below the chain head are
	// indexed (0 indexes the head: fine for the embedded chain, which
	// never reorgs; 12 or more on a public chain).
	Confirmations uint64
	// Chunk is the most blocks asked for in one eth_getLogs (default 2000).
	Chunk uint64
	// Poll is Run's interval (default 2 s).
	Poll   time.Duration
	Logger *slog.Logger
	// Sleep waits between polls; nil uses timers.
	Sleep func(context.Context, time.Duration) error
}

// Indexer follows the gridmint contracts' events into an IndexStore,
// Confirmations blocks behind the head, and rewinds when the chain
// reorganised below what it indexed.
type Indexer struct {
	be    IndexBackend
	store IndexStore
	cfg   IndexerConfig
	dec   *decoder
	log   *slog.Logger
	mu    sync.Mutex // one Sync at a time
}

// NewIndexer returns an indexer; call Sync or Run.
func NewIndexer(be IndexBackend, store IndexStore, cfg IndexerConfig) *Indexer {
	if cfg.Chunk == 0 {
		cfg.Chunk = 2000
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Indexer{be: be, store: store, cfg: cfg, dec: newDecoder(cfg.Contracts), log: log}
}

// Run syncs every Poll until ctx ends; errors are logged and retried.
func (x *Indexer) Run(ctx context.Context) error {
	for {
		if _, err := x.Sync(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("chain: index sync", "err", err)
		}
		if err := x.cfg.Sleep(ctx, x.cfg.Poll); err != nil {
			return err
		}
	}
}

// errReorged aborts a sync pass whose logs came from a block that is no
// longer canonical; the next pass rewinds.
var errReorged = errors.New("chain: chain reorganised during sync")

// Sync indexes up to Confirmations below the head and returns the new
// index head.
func (x *Indexer) Sync(ctx context.Context) (BlockRef, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	latest, err := x.be.HeaderByNumber(ctx, nil)
	if err != nil {
		return BlockRef{}, fmt.Errorf("chain: head: %w", err)
	}
	head, ok, err := x.store.Head(ctx)
	if err != nil {
		return BlockRef{}, err
	}
	if ok {
		if head, err = x.checkReorg(ctx, head); err != nil {
			return BlockRef{}, err
		}
	}
	if latest.Number.Uint64() < x.cfg.Confirmations {
		return head, nil
	}
	target := latest.Number.Uint64() - x.cfg.Confirmations
	from := x.cfg.Contracts.DeployBlock
	if ok && head.Number+1 > from {
		from = head.Number + 1
	}
	for from <= target {
		to := min(from+x.cfg.Chunk-1, target)
		if head, err = x.indexRange(ctx, from, to); err != nil {
			return head, err
		}
		from = to + 1
	}
	return head, nil
}

// checkReorg compares the index head with the canonical chain and, if it
// is no longer canonical, rewinds to the newest applied block that is.
func (x *Indexer) checkReorg(ctx context.Context, head BlockRef) (BlockRef, error) {
	h, err := x.be.HeaderByNumber(ctx, new(big.Int).SetUint64(head.Number))
	if err != nil && !errors.Is(err, ethereum.NotFound) {
		return head, fmt.Errorf("chain: header %d: %w", head.Number, err)
	}
	if h != nil && h.Hash() == head.Hash {
		return head, nil
	}
	recent, err := x.store.Recent(ctx, 1024)
	if err != nil {
		return head, err
	}
	for _, b := range recent {
		h, err := x.be.HeaderByNumber(ctx, new(big.Int).SetUint64(b.Number))
		if err != nil && !errors.Is(err, ethereum.NotFound) {
			return head, fmt.Errorf("chain: header %d: %w", b.Number, err)
		}
		if h != nil && h.Hash() == b.Hash {
			x.log.Warn("chain: reorg: rewinding index", "from", head.Number, "to", b.Number)
			if err := x.store.Rewind(ctx, b.Number); err != nil {
				return head, err
			}
			return b, nil
		}
	}
	// Nothing recent is canonical: index again from the deployment.
	x.log.Warn("chain: deep reorg: reindexing from the deployment", "from", head.Number)
	start := x.cfg.Contracts.DeployBlock
	if start > 0 {
		start--
	}
	if err := x.store.Rewind(ctx, start); err != nil {
		return head, err
	}
	return BlockRef{Number: start}, nil
}

// indexRange applies the blocks from..to that hold events, then block to
// itself (so the head advances through empty ranges).
func (x *Indexer) indexRange(ctx context.Context, from, to uint64) (BlockRef, error) {
	logs, err := x.be.FilterLogs(ctx, ethereum.FilterQuery{
		FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
		Addresses: []common.Address{x.cfg.Contracts.REC, x.cfg.Contracts.FLEX},
		Topics:    [][]common.Hash{indexedTopics()},
	})
	if err != nil {
		return BlockRef{}, fmt.Errorf("chain: logs %d-%d: %w", from, to, err)
	}
	slices.SortFunc(logs, func(a, b types.Log) int {
		if a.BlockNumber != b.BlockNumber {
			return cmp.Compare(a.BlockNumber, b.BlockNumber)
		}
		return cmp.Compare(uint64(a.Index), uint64(b.Index))
	})
	var last BlockRef
	for i := 0; i < len(logs); {
		j := i
		for j < len(logs) && logs[j].BlockNumber == logs[i].BlockNumber {
			j++
		}
		ref, err := x.canonical(ctx, logs[i].BlockNumber)
		if err != nil {
			return last, err
		}
		var evs []Event
		for k := i; k < j; k++ {
			if logs[k].BlockHash != ref.Hash || logs[k].Removed {
				return last, errReorged
			}
			es, err := x.dec.decode(&logs[k])
			if err != nil {
				return last, fmt.Errorf("chain: block %d log %d: %w", logs[k].BlockNumber, logs[k].Index, err)
			}
			for n := range es {
				es[n].Time = ref.Time
			}
			evs = append(evs, es...)
		}
		if err := x.store.Apply(ctx, ref, evs); err != nil {
			return last, err
		}
		last = ref
		i = j
	}
	if last.Number != to || last.Hash == (common.Hash{}) {
		ref, err := x.canonical(ctx, to)
		if err != nil {
			return last, err
		}
		if err := x.store.Apply(ctx, ref, nil); err != nil {
			return last, err
		}
		last = ref
	}
	return last, nil
}

func (x *Indexer) canonical(ctx context.Context, n uint64) (BlockRef, error) {
	h, err := x.be.HeaderByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		return BlockRef{}, fmt.Errorf("chain: header %d: %w", n, err)
	}
	return BlockRef{Number: n, Hash: h.Hash(), Time: h.Time}, nil
}

// ------------------------------------------------------------------- queries

// Index answers balance and history queries from an IndexStore (what the
// node serves at GET /api/v1/chain/...). Balances are as of the index
// head, Confirmations behind the chain.
type Index struct{ Store IndexStore }

// TokenBalance is a REC balance of one token id, in Wh.
type TokenBalance struct {
	Token TokenID  `json:"token"`
	Wh    *big.Int `json:"wh"`
}

// Balances are an account's holdings.
type Balances struct {
	Account common.Address `json:"account"`
	// FLEX in base units (1e18 per FLEX).
	FLEX *big.Int `json:"flex"`
	// REC by token id, ordered by zone, technology, hour; zero balances left out.
	REC []TokenBalance `json:"rec"`
	// AsOf is the index head the balances are taken at.
	AsOf BlockRef `json:"asOf"`
}

// Balances sums account's transfers.
func (ix Index) Balances(ctx context.Context, account common.Address) (Balances, error) {
	head, _, err := ix.Store.Head(ctx)
	if err != nil {
		return Balances{}, err
	}
	evs, err := ix.Store.Events(ctx, EventQuery{Account: &account, Kinds: []EventKind{EventRECTransfer, EventFLEXTransfer}})
	if err != nil {
		return Balances{}, err
	}
	b := Balances{Account: account, FLEX: new(big.Int), AsOf: head}
	rec := map[TokenID]*big.Int{}
	for _, e := range evs {
		var v *big.Int
		switch e.Kind {
		case EventFLEXTransfer:
			v = b.FLEX
		case EventRECTransfer:
			if v = rec[e.Token]; v == nil {
				v = new(big.Int)
				rec[e.Token] = v
			}
		}
		if e.To == account {
			v.Add(v, e.Amount)
		}
		if e.From == account {
			v.Sub(v, e.Amount)
		}
	}
	for t, v := range rec {
		if v.Sign() != 0 {
			b.REC = append(b.REC, TokenBalance{Token: t, Wh: v})
		}
	}
	slices.SortFunc(b.REC, func(x, y TokenBalance) int { return compareTokens(x.Token, y.Token) })
	return b, nil
}

func compareTokens(a, b TokenID) int {
	if c := slices.Compare(a.Zone[:], b.Zone[:]); c != 0 {
		return c
	}
	if a.Technology != b.Technology {
		return int(a.Technology) - int(b.Technology)
	}
	return cmp.Compare(a.Hour, b.Hour)
}

// History returns account's events, newest first, at most limit (0: all).
func (ix Index) History(ctx context.Context, account common.Address, limit int) ([]Event, error) {
	return ix.Store.Events(ctx, EventQuery{Account: &account, Newest: true, Limit: limit})
}

// Retirements returns the retirements of account (all accounts if nil)
// with ids above after, oldest first, at most limit (0: all).
func (ix Index) Retirements(ctx context.Context, account *common.Address, after uint64, limit int) ([]Event, error) {
	return ix.Store.Events(ctx, EventQuery{Account: account, Kinds: []EventKind{EventRetired}, AfterRetirement: after, Limit: limit})
}

// ------------------------------------------------------------------ MemIndex

// MemIndex is an in-memory IndexStore (tests, and the reference for the
// node's badger implementation).
type MemIndex struct {
	mu     sync.Mutex
	blocks []BlockRef
	events []Event
}

// NewMemIndex returns an empty index.
func NewMemIndex() *MemIndex { return &MemIndex{} }

// Head implements IndexStore.
func (m *MemIndex) Head(context.Context) (BlockRef, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.blocks) == 0 {
		return BlockRef{}, false, nil
	}
	return m.blocks[len(m.blocks)-1], true, nil
}

// Apply implements IndexStore.
func (m *MemIndex) Apply(_ context.Context, b BlockRef, events []Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.blocks); n > 0 && b.Number <= m.blocks[n-1].Number {
		return fmt.Errorf("chain: index: block %d applied after %d", b.Number, m.blocks[n-1].Number)
	}
	m.blocks = append(m.blocks, b)
	for _, e := range events {
		e.Amount = new(big.Int).Set(orZero(e.Amount))
		m.events = append(m.events, e)
	}
	return nil
}

// Recent implements IndexStore.
func (m *MemIndex) Recent(_ context.Context, n int) ([]BlockRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.blocks[max(0, len(m.blocks)-n):])
	slices.Reverse(out)
	return out, nil
}

// Rewind implements IndexStore.
func (m *MemIndex) Rewind(_ context.Context, number uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blocks = slices.DeleteFunc(m.blocks, func(b BlockRef) bool { return b.Number > number })
	m.events = slices.DeleteFunc(m.events, func(e Event) bool { return e.Block > number })
	return nil
}

// Events implements IndexStore.
func (m *MemIndex) Events(_ context.Context, q EventQuery) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Event
	add := func(e Event) bool {
		if q.Match(e) {
			e.Amount = new(big.Int).Set(e.Amount)
			out = append(out, e)
		}
		return q.Limit > 0 && len(out) >= q.Limit
	}
	if q.Newest {
		for i := len(m.events) - 1; i >= 0; i-- {
			if add(m.events[i]) {
				break
			}
		}
	} else {
		for _, e := range m.events {
			if add(e) {
				break
			}
		}
	}
	return out, nil
}
