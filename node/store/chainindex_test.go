package store

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

var (
	alice = common.HexToAddress("0xa11ce00000000000000000000000000000000a11")
	bob   = common.HexToAddress("0xb0b0000000000000000000000000000000000b0b")
	carol = common.HexToAddress("0xca201000000000000000000000000000000ca201")
	dave  = common.HexToAddress("0xda7e000000000000000000000000000000000da7")
	zero  = common.Address{}
)

func tok(t testing.TB, zone string, hour uint64) chain.TokenID {
	t.Helper()
	id, err := chain.NewTokenID(zone, chain.TechnologySolarPV, hour)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func pow2(n uint) *big.Int { return new(big.Int).Lsh(big.NewInt(1), n) }

// ev builds an event of block b at log l, sub s.
func ev(kind chain.EventKind, b uint64, l uint, s int, from, to common.Address, amount *big.Int) chain.Event {
	return chain.Event{Kind: kind, Block: b, Time: 1_750_000_000 + b*12, TxHash: common.BigToHash(big.NewInt(int64(b*1000 + uint64(l)))),
		LogIndex: l, Sub: s, From: from, To: to, Amount: amount}
}

func block(n uint64) chain.BlockRef {
	return chain.BlockRef{Number: n, Hash: common.BigToHash(big.NewInt(int64(n) + 7_000_000)), Time: 1_750_000_000 + n*12}
}

// scenario is a few blocks with every kind of event, in chain order.
func scenario(t testing.TB) []struct {
	b   chain.BlockRef
	evs []chain.Event
} {
	tokA, tokB := tok(t, "DE-LU", 490_000), tok(t, "NL", 490_001)
	retired := ev(chain.EventRetired, 9, 1, 0, alice, zero, big.NewInt(100))
	retired.Token, retired.RetirementID, retired.Beneficiary, retired.Claim = tokA, 1, "ACME GmbH ☀", "2026 Scope 2 matching"
	issued := ev(chain.EventIssued, 5, 2, 0, carol, zero, big.NewInt(1000))
	issued.Ref, issued.Count = common.Hash{0xba}, 2
	rewarded := ev(chain.EventRewarded, 5, 1, 0, zero, alice, pow2(66))
	rewarded.Ref, rewarded.Aux, rewarded.RewardKind = common.Hash{0x01}, common.Hash{0xe1}, chain.RewardDelivery
	reserved := ev(chain.EventReserved, 8, 3, 0, bob, zero, big.NewInt(5e18))
	reserved.Ref, reserved.Aux = common.Hash{0x07}, common.Hash{0x08}
	slashed := ev(chain.EventSlashed, 12, 0, 0, carol, zero, big.NewInt(1))
	slashed.Ref, slashed.Aux = common.Hash{0x5a}, common.Hash{0x5b}
	withTok := func(e chain.Event, t chain.TokenID) chain.Event { e.Token = t; return e }
	return []struct {
		b   chain.BlockRef
		evs []chain.Event
	}{
		{block(5), []chain.Event{
			ev(chain.EventFLEXTransfer, 5, 0, 0, zero, alice, pow2(66)),
			rewarded,
			issued,
			withTok(ev(chain.EventRECTransfer, 5, 3, 0, zero, alice, big.NewInt(700)), tokA),
			withTok(ev(chain.EventRECTransfer, 5, 4, 0, zero, bob, big.NewInt(300)), tokB),
		}},
		{block(6), nil},
		{block(8), []chain.Event{
			withTok(ev(chain.EventRECTransfer, 8, 0, 0, alice, bob, big.NewInt(200)), tokA),
			withTok(ev(chain.EventRECTransfer, 8, 0, 1, alice, bob, big.NewInt(0)), tokB),
			ev(chain.EventFLEXTransfer, 8, 1, 0, alice, bob, new(big.Int).Add(pow2(65), big.NewInt(5))),
			ev(chain.EventFLEXTransfer, 8, 2, 0, bob, zero, big.NewInt(5e18)),
			reserved,
		}},
		{block(9), []chain.Event{
			withTok(ev(chain.EventRECTransfer, 9, 0, 0, alice, zero, big.NewInt(100)), tokA), // the burn, then Retired
			retired,
			ev(chain.EventFLEXTransfer, 9, 2, 0, alice, alice, big.NewInt(3)),
			ev("future-kind", 9, 3, 0, carol, dave, nil),
			withTok(ev(chain.EventRECTransfer, 9, 4, 0, bob, carol, new(big.Int).Sub(pow2(256), big.NewInt(1))), tokB),
		}},
		{block(12), []chain.Event{slashed}},
	}
}

// queries is every combination of the EventQuery filters.
func queries() []chain.EventQuery {
	accounts := []*common.Address{nil, &alice, &bob, &carol, &dave, &zero}
	kinds := [][]chain.EventKind{nil, {chain.EventRetired}, {chain.EventRECTransfer, chain.EventFLEXTransfer}, {"future-kind"}, {chain.EventSlashed, chain.EventIssued}}
	ranges := [][2]uint64{{0, 0}, {6, 0}, {0, 8}, {8, 9}, {13, 0}, {9, 5}}
	var out []chain.EventQuery
	for _, a := range accounts {
		for _, k := range kinds {
			for _, r := range ranges {
				for _, newest := range []bool{false, true} {
					for _, limit := range []int{0, 2} {
						out = append(out, chain.EventQuery{Account: a, Kinds: k, FromBlock: r[0], ToBlock: r[1], Newest: newest, Limit: limit})
					}
				}
			}
		}
	}
	return out
}

// normEvent makes events comparable with reflect.DeepEqual: big.Int's
// internal form differs between equal values.
type normEvent struct {
	chain.Event
	Amount string
}

func norm(evs []chain.Event) []normEvent {
	var out []normEvent
	for _, e := range evs {
		a := "<nil>"
		if e.Amount != nil {
			a = e.Amount.String()
		}
		e.Amount = nil
		out = append(out, normEvent{e, a})
	}
	return out
}

func describe(q chain.EventQuery) string {
	a := "any"
	if q.Account != nil {
		a = q.Account.Hex()[:6]
	}
	return fmt.Sprintf("{account %s kinds %v blocks %d-%d newest %v limit %d}", a, q.Kinds, q.FromBlock, q.ToBlock, q.Newest, q.Limit)
}

// sameIndex compares everything got answers with what want (the
// reference) answers.
func sameIndex(t *testing.T, phase string, got, want chain.IndexStore) {
	t.Helper()
	ctx := context.Background()
	gh, gok, gerr := got.Head(ctx)
	wh, wok, werr := want.Head(ctx)
	if gh != wh || gok != wok || gerr != nil || werr != nil {
		t.Errorf("%s: Head = %+v %v %v, want %+v %v %v", phase, gh, gok, gerr, wh, wok, werr)
	}
	for _, n := range []int{0, 1, 2, 100} {
		g, gerr := got.Recent(ctx, n)
		w, _ := want.Recent(ctx, n)
		if len(g) != len(w) || (len(g) > 0 && !reflect.DeepEqual(g, w)) || gerr != nil {
			t.Errorf("%s: Recent(%d) = %+v, %v; want %+v", phase, n, g, gerr, w)
		}
	}
	failed := 0
	for _, q := range queries() {
		if failed >= 3 {
			t.Fatalf("%s: more Events mismatches left out", phase)
		}
		g, err := got.Events(ctx, q)
		if err != nil {
			t.Fatalf("%s: Events%s: %v", phase, describe(q), err)
		}
		w, err := want.Events(ctx, q)
		if err != nil {
			t.Fatalf("%s: reference Events%s: %v", phase, describe(q), err)
		}
		if gn, wn := norm(g), norm(w); !reflect.DeepEqual(gn, wn) {
			t.Errorf("%s: Events%s\n got %d: %+v\nwant %d: %+v", phase, describe(q), len(gn), gn, len(wn), wn)
			failed++
		}
	}
	// The answers of chain.Index agree too (Balances sums transfers).
	for _, a := range []common.Address{alice, bob, carol, dave} {
		gb, gerr := chain.Index{Store: got}.Balances(ctx, a)
		wb, werr := chain.Index{Store: want}.Balances(ctx, a)
		if gerr != nil || werr != nil || fmt.Sprint(gb) != fmt.Sprint(wb) {
			t.Errorf("%s: Balances(%s) = %v %v, want %v %v", phase, a.Hex()[:6], gb, gerr, wb, werr)
		}
	}
}

// both applies the same write to got and want and checks they agree on
// whether it failed.
func both(t *testing.T, what string, got, want chain.IndexStore, fn func(chain.IndexStore) error) {
	t.Helper()
	gerr, werr := fn(got), fn(want)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("%s: error %v, reference %v", what, gerr, werr)
	}
}

func TestChainIndexConformance(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	got := chain.IndexStore(s)
	want := chain.IndexStore(chain.NewMemIndex())

	sameIndex(t, "empty", got, want)
	for _, blk := range scenario(t) {
		both(t, fmt.Sprint("apply ", blk.b.Number), got, want, func(x chain.IndexStore) error { return x.Apply(ctx, blk.b, blk.evs) })
	}
	sameIndex(t, "applied", got, want)
	for _, n := range []uint64{12, 9, 3} {
		both(t, fmt.Sprint("apply old block ", n), got, want, func(x chain.IndexStore) error { return x.Apply(ctx, block(n), nil) })
	}

	// Survives close and reopen.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := got.Head(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Head on a closed store: %v, want ErrClosed", err)
	}
	if err := got.Apply(ctx, block(13), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply on a closed store: %v, want ErrClosed", err)
	}
	s = openDisk(t, dir, Options{})
	got = s
	sameIndex(t, "reopened", got, want)

	// A reorg: back to block 8, then other blocks 9 and 10.
	both(t, "rewind 8", got, want, func(x chain.IndexStore) error { return x.Rewind(ctx, 8) })
	sameIndex(t, "rewound to 8", got, want)
	b9 := block(9)
	b9.Hash[0] = 0xff
	other := ev(chain.EventFLEXTransfer, 9, 0, 0, bob, alice, big.NewInt(42))
	both(t, "apply 9'", got, want, func(x chain.IndexStore) error { return x.Apply(ctx, b9, []chain.Event{other}) })
	both(t, "apply 10", got, want, func(x chain.IndexStore) error {
		return x.Apply(ctx, block(10), []chain.Event{ev(chain.EventRetired, 10, 0, 0, alice, zero, big.NewInt(1))})
	})
	sameIndex(t, "reapplied", got, want)
	both(t, "rewind above head", got, want, func(x chain.IndexStore) error { return x.Rewind(ctx, 100) })
	both(t, "rewind max", got, want, func(x chain.IndexStore) error { return x.Rewind(ctx, math.MaxUint64) })
	sameIndex(t, "rewound above head", got, want)

	// Everything, then from scratch.
	both(t, "rewind 0", got, want, func(x chain.IndexStore) error { return x.Rewind(ctx, 0) })
	sameIndex(t, "rewound to 0", got, want)
	for _, blk := range scenario(t) {
		both(t, fmt.Sprint("apply again ", blk.b.Number), got, want, func(x chain.IndexStore) error { return x.Apply(ctx, blk.b, blk.evs) })
	}
	sameIndex(t, "applied again", got, want)

	// Nothing is left of rewound events: no stray keys.
	both(t, "rewind 0 again", got, want, func(x chain.IndexStore) error { return x.Rewind(ctx, 0) })
	if n := countKeys(t, s, []byte{prefixChain, keySep}); n != 0 {
		t.Errorf("%d chain index keys left after rewinding everything, want 0", n)
	}
}

func countKeys(t *testing.T, s *Store, prefix []byte) int {
	t.Helper()
	n := 0
	if err := s.scan(prefix, func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChainIndexApplyOrder: events given out of order come back in chain
// order, and the account index keys a self-transfer once.
func TestChainIndexApplyOrder(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	x := s
	evs := []chain.Event{
		ev(chain.EventFLEXTransfer, 3, 7, 0, alice, alice, big.NewInt(1)),
		ev(chain.EventRECTransfer, 3, 2, 1, alice, bob, big.NewInt(2)),
		ev(chain.EventRECTransfer, 3, 2, 0, alice, bob, big.NewInt(3)),
	}
	if err := x.Apply(ctx, block(3), evs); err != nil {
		t.Fatal(err)
	}
	got, err := x.Events(ctx, chain.EventQuery{Account: &alice})
	if err != nil {
		t.Fatal(err)
	}
	var pos []string
	for _, e := range got {
		pos = append(pos, fmt.Sprintf("%d.%d", e.LogIndex, e.Sub))
	}
	if want := "[2.0 2.1 7.0]"; fmt.Sprint(pos) != want {
		t.Errorf("alice's events at %v, want %s", pos, want)
	}
	if n, want := countKeys(t, s, chainAcctPrefix), 5; n != want {
		t.Errorf("%d account index entries, want %d (alice 3, bob 2)", n, want)
	}
}

func TestChainIndexApplyRejects(t *testing.T) {
	if strconv.IntSize == 32 {
		t.Skip("uint holds no log index beyond 2^32")
	}
	ctx := context.Background()
	tooLong := strings.Repeat("k", maxEventKindLen+1)
	for name, tc := range map[string]chain.Event{
		"other block":     ev(chain.EventFLEXTransfer, 4, 0, 0, alice, bob, big.NewInt(1)),
		"negative sub":    ev(chain.EventRECTransfer, 5, 0, -1, alice, bob, big.NewInt(1)),
		"sub too big":     ev(chain.EventRECTransfer, 5, 0, int(beyondI32), alice, bob, big.NewInt(1)),
		"log index > u32": ev(chain.EventRECTransfer, 5, uint(beyondU32), 0, alice, bob, big.NewInt(1)),
		"negative amount": ev(chain.EventFLEXTransfer, 5, 0, 0, alice, bob, big.NewInt(-1)),
		"amount 2^256":    ev(chain.EventFLEXTransfer, 5, 0, 0, alice, bob, pow2(256)),
		"long kind":       ev(chain.EventKind(tooLong), 5, 0, 0, alice, bob, big.NewInt(1)),
	} {
		t.Run(name, func(t *testing.T) {
			s := openMem(t)
			x := s
			good := ev(chain.EventFLEXTransfer, 5, 9, 0, alice, bob, big.NewInt(1))
			err := x.Apply(ctx, block(5), []chain.Event{good, tc})
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("Apply = %v, want an EInvalid error", err)
			}
			if n := countKeys(t, s, []byte{prefixChain, keySep}); n != 0 {
				t.Errorf("%d keys written by a refused Apply, want 0", n)
			}
		})
	}
	t.Run("duplicate position", func(t *testing.T) {
		s := openMem(t)
		e := ev(chain.EventFLEXTransfer, 5, 1, 0, alice, bob, big.NewInt(1))
		if err := s.Apply(ctx, block(5), []chain.Event{e, e}); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Fatalf("Apply = %v, want an EInvalid error", err)
		}
	})
}

// beyondU32 is a variable so that the test compiles where uint is 32 bits.
var beyondU32 uint64 = math.MaxUint32 + 1

// beyondI32 is a variable for the same reason.
var beyondI32 int64 = math.MaxInt32 + 1

func TestChainIndexCutsLongText(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	x := s
	e := ev(chain.EventRetired, 1, 0, 0, alice, zero, big.NewInt(1))
	e.Beneficiary = strings.Repeat("ä", MaxEventText) // 2 bytes a rune
	e.Claim = strings.Repeat("c", MaxEventText)       // exactly the bound: kept
	if err := x.Apply(ctx, block(1), []chain.Event{e}); err != nil {
		t.Fatal(err)
	}
	got, err := x.Events(ctx, chain.EventQuery{})
	if err != nil || len(got) != 1 {
		t.Fatalf("Events = %v, %v", got, err)
	}
	b := got[0].Beneficiary
	if note := fmt.Sprintf(" [cut from %d bytes]", 2*MaxEventText); len(b) > MaxEventText || !strings.HasSuffix(b, note) || !utf8.ValidString(b) {
		t.Errorf("beneficiary of %d bytes ending %q, want at most %d valid UTF-8 bytes ending %q", len(b), b[max(0, len(b)-30):], MaxEventText, note)
	}
	if got[0].Claim != e.Claim {
		t.Errorf("claim of %d bytes, want the %d given", len(got[0].Claim), len(e.Claim))
	}
}

// TestChainIndexInterruptedRewind simulates a crash after Rewind moved
// the head down but before it deleted the events: they must stay
// invisible, and the next Apply must not expose them.
func TestChainIndexInterruptedRewind(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	got, want := s, chain.NewMemIndex()
	for _, blk := range scenario(t) {
		both(t, fmt.Sprint("apply ", blk.b.Number), got, want, func(x chain.IndexStore) error { return x.Apply(ctx, blk.b, blk.evs) })
	}
	if err := got.deleteBlocksAbove(ctx, 6); err != nil { // the first half of Rewind(6)
		t.Fatal(err)
	}
	if err := want.Rewind(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openDisk(t, dir, Options{})
	got = s
	sameIndex(t, "after the crash", got, want)
	// Block 9 again, at other positions: the old block 9's and 12's
	// events must not come back.
	b := block(9)
	b.Hash[0] = 0xee
	evs := []chain.Event{ev(chain.EventFLEXTransfer, 9, 5, 0, carol, alice, big.NewInt(9))}
	both(t, "apply 9'", got, want, func(x chain.IndexStore) error { return x.Apply(ctx, b, evs) })
	sameIndex(t, "applied after the crash", got, want)
}

// TestChainIndexLargeBlocks: a block beyond one badger transaction is
// applied in several (and is still all or nothing for readers), and a
// deep rewind takes several purge steps.
func TestChainIndexLargeBlocks(t *testing.T) {
	ctx := context.Background()
	s := openMem(t) // values inline: each event counts fully against the transaction
	x := s
	text := strings.Repeat("x", MaxEventText)
	var big1 []chain.Event
	size := 0
	for i := range 400 {
		e := ev(chain.EventRetired, 1, uint(i), 0, alice, zero, big.NewInt(int64(i)))
		e.Beneficiary, e.Claim = text, text
		big1 = append(big1, e)
		size += len(appendChainEvent(nil, e))
	}
	if max := s.db.MaxBatchSize(); int64(size) < max {
		t.Fatalf("the block's values take %d bytes, not more than a transaction's %d", size, max)
	}
	if err := x.Apply(ctx, block(1), big1); err != nil {
		t.Fatalf("Apply of a large block: %v", err)
	}
	for b := uint64(2); b <= 16; b++ { // 1500 events: two purge steps
		var evs []chain.Event
		for i := range 100 {
			evs = append(evs, ev(chain.EventFLEXTransfer, b, uint(i), 0, alice, bob, big.NewInt(1)))
		}
		if err := x.Apply(ctx, block(b), evs); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		q    chain.EventQuery
		want int
	}{
		{chain.EventQuery{}, 1900},
		{chain.EventQuery{Account: &alice}, 1900},
		{chain.EventQuery{Account: &bob}, 1500},
		{chain.EventQuery{Account: &alice, Kinds: []chain.EventKind{chain.EventRetired}}, 400},
		{chain.EventQuery{Kinds: []chain.EventKind{chain.EventRetired}, Newest: true, Limit: 5}, 5},
	} {
		got, err := x.Events(ctx, tc.q)
		if err != nil || len(got) != tc.want {
			t.Errorf("Events%s = %d events, %v; want %d", describe(tc.q), len(got), err, tc.want)
		}
	}
	if err := x.Rewind(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got, err := x.Events(ctx, chain.EventQuery{Account: &bob}); err != nil || len(got) != 0 {
		t.Errorf("bob's events after Rewind(1): %d, %v; want none", len(got), err)
	}
	if err := x.Rewind(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, s, []byte{prefixChain, keySep}); n != 0 {
		t.Errorf("%d chain index keys left, want 0", n)
	}
}

// TestChainIndexConcurrentReads: readers see whole blocks only.
func TestChainIndexConcurrentReads(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	x := s
	const perBlock, blocks = 7, 30
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				evs, err := x.Events(ctx, chain.EventQuery{Account: &bob})
				if err != nil {
					t.Error(err)
					return
				}
				if len(evs)%perBlock != 0 {
					t.Errorf("read %d events, not whole blocks of %d", len(evs), perBlock)
					return
				}
			}
		}()
	}
	for b := uint64(1); b <= blocks; b++ {
		var evs []chain.Event
		for i := range perBlock {
			evs = append(evs, ev(chain.EventFLEXTransfer, b, uint(i), 0, alice, bob, big.NewInt(1)))
		}
		if err := x.Apply(ctx, block(b), evs); err != nil {
			t.Fatal(err)
		}
		if b%10 == 0 {
			if err := x.Rewind(ctx, b-3); err != nil {
				t.Fatal(err)
			}
			if err := x.Rewind(ctx, b); err != nil { // a no-op
				t.Fatal(err)
			}
			for r := b - 2; r <= b; r++ {
				var evs []chain.Event
				for i := range perBlock {
					evs = append(evs, ev(chain.EventRECTransfer, r, uint(i), 0, bob, carol, big.NewInt(1)))
				}
				if err := x.Apply(ctx, block(r), evs); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	close(done)
	wg.Wait()
}

// ---------------------------------------------------------------- codec

func codecEvents(t testing.TB) map[string]chain.Event {
	full := chain.Event{Kind: chain.EventRetired, Block: math.MaxUint64, Time: math.MaxUint64, TxHash: common.Hash{1, 2, 3},
		LogIndex: math.MaxUint32, Sub: math.MaxInt32, From: alice, To: bob, Token: tok(t, strings.Repeat("z", chain.MaxZoneLen), math.MaxUint64),
		Amount: new(big.Int).Sub(pow2(256), big.NewInt(1)), Ref: common.Hash{0xff}, Aux: common.Hash{31: 1},
		Count: math.MaxUint64, RetirementID: 1 << 40, Beneficiary: "ACME ☀", Claim: strings.Repeat("c", MaxEventText), RewardKind: 255}
	padded := full
	padded.Token.Zone[31] = 9 // bytes a chain id cannot hold still round-trip
	return map[string]chain.Event{
		"zero":           {},
		"zero amount":    {Kind: chain.EventFLEXTransfer, Amount: new(big.Int)},
		"2^64":           {Kind: chain.EventFLEXTransfer, Block: 1, Amount: pow2(64)},
		"2^64-1":         {Kind: chain.EventFLEXTransfer, Block: 1, Amount: new(big.Int).SetUint64(math.MaxUint64)},
		"custom kind":    {Kind: "kind-from-the-future", Amount: big.NewInt(1)},
		"full":           full,
		"padded zone":    padded,
		"only to":        {Kind: chain.EventRewarded, To: carol, Amount: big.NewInt(5), RewardKind: 2},
		"invalid utf-8":  {Kind: chain.EventRetired, Beneficiary: "\xff\xfe", Claim: "", Amount: big.NewInt(1)},
		"token hour 0":   {Kind: chain.EventRECTransfer, Token: chain.TokenID{Technology: 1}, Amount: big.NewInt(1)},
		"ref only":       {Kind: chain.EventIssued, Ref: common.Hash{31: 0x80}, Count: 1, Amount: big.NewInt(1)},
		"aux only":       {Kind: chain.EventReserved, Aux: common.Hash{0x80}, Amount: big.NewInt(1)},
		"sub and log 1":  {Kind: chain.EventRECTransfer, LogIndex: 1, Sub: 1, Amount: big.NewInt(1)},
		"nil amount → 0": {Kind: chain.EventFLEXTransfer},
	}
}

func TestChainEventCodecRoundTrip(t *testing.T) {
	for name, e := range codecEvents(t) {
		t.Run(name, func(t *testing.T) {
			v := appendChainEvent(nil, e)
			got, err := decodeChainEvent(v)
			if err != nil {
				t.Fatalf("decode(encode(e)): %v", err)
			}
			if got.Amount == nil {
				t.Fatal("decoded Amount is nil")
			}
			g, w := norm([]chain.Event{got}), norm([]chain.Event{e})
			if e.Amount == nil {
				w[0].Amount = "0" // as MemIndex: no amount is 0
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("round trip\n got %+v\nwant %+v", g[0], w[0])
			}
			if again := appendChainEvent(nil, got); !bytes.Equal(again, v) {
				t.Errorf("re-encoding differs:\n got %x\nwant %x", again, v)
			}
			if len(v) > MaxValueLen {
				t.Errorf("encodes to %d bytes, over MaxValueLen %d", len(v), MaxValueLen)
			}
			// Every proper prefix is an error, never a panic.
			for i := range len(v) {
				if _, err := decodeChainEvent(v[:i]); !errors.Is(err, errCorrupt) {
					t.Fatalf("decode of the first %d of %d bytes: %v, want errCorrupt", i, len(v), err)
				}
			}
		})
	}
}

func TestDecodeChainEventErrors(t *testing.T) {
	base := chain.Event{Kind: chain.EventRECTransfer, Block: 5, From: alice, Token: chain.TokenID{Technology: 1, Hour: 3}, Amount: big.NewInt(300), Beneficiary: "b"}
	good := appendChainEvent(nil, base)
	// Offsets in good: version 0, block 1, log 2, sub 3, kind 4, time 5,
	// tx hash 6..37, flags 38, from 39..58, token zone 59..90, tech 91,
	// hour 92, amount length 93, amount 94..95, count 96, retirement 97,
	// reward kind 98, beneficiary 99..100, claim 101.
	if len(good) != 102 {
		t.Fatalf("base encodes to %d bytes; the offsets below assume 102", len(good))
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, v := range map[string][]byte{
		"empty":                nil,
		"version 2":            edit(func(b []byte) []byte { b[0] = 2; return b }),
		"trailing byte":        append(bytes.Clone(good), 0),
		"non-minimal block":    cat([]byte{1, 0x85, 0x00}, good[2:]),
		"log index > u32":      cat([]byte{1, 5, 0x80, 0x80, 0x80, 0x80, 0x10}, good[3:]),
		"sub > i32":            cat([]byte{1, 5, 0, 0x80, 0x80, 0x80, 0x80, 0x08}, good[4:]),
		"unknown kind code":    edit(func(b []byte) []byte { b[4] = 200; return b }),
		"custom known kind":    cat([]byte{1, 5, 0, 0, enumCustom, 12}, []byte("rec-transfer"), good[5:]),
		"custom empty kind":    cat([]byte{1, 5, 0, 0, enumCustom, 0}, good[5:]),
		"custom kind too long": cat([]byte{1, 5, 0, 0, enumCustom, 65}, bytes.Repeat([]byte("k"), 65), good[5:]),
		"unknown flag":         edit(func(b []byte) []byte { b[38] |= 0x20; return b }),
		"from flag on zero":    edit(func(b []byte) []byte { clear(b[39:59]); return b }),
		"amount leading 0":     cat(good[:93], []byte{3, 0}, good[94:]),
		"amount 33 bytes":      cat(good[:93], []byte{33}, bytes.Repeat([]byte{1}, 33), good[96:]),
		"text too long":        cat(good[:99], binary.AppendUvarint(nil, MaxEventText+1), bytes.Repeat([]byte("x"), MaxEventText+2)),
		"text length beyond":   edit(func(b []byte) []byte { b[99] = 5; return b }),
		"huge text length":     cat(good[:99], binary.AppendUvarint(nil, math.MaxUint64)),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeChainEvent(v); !errors.Is(err, errCorrupt) {
				t.Errorf("decode = %v, want errCorrupt", err)
			}
		})
	}
	// The token flag on a zero token: the encoder never writes it.
	zt := base
	zt.Token = chain.TokenID{}
	v := appendChainEvent(nil, zt)
	i := 38
	v[i] |= evToken
	v = cat(v[:i+21], make([]byte, 32+1+1), v[i+21:]) // after From: zone, technology, hour
	if _, err := decodeChainEvent(v); !errors.Is(err, errCorrupt) {
		t.Errorf("zero token flagged: decode = %v, want errCorrupt", err)
	}
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestChainIndexCorruptValue: a corrupt stored value is an error from
// Events, not a panic or a silent skip.
func TestChainIndexCorruptValue(t *testing.T) {
	ctx := context.Background()
	s := openMem(t)
	x := s
	e := ev(chain.EventFLEXTransfer, 2, 0, 0, alice, bob, big.NewInt(1))
	if err := x.Apply(ctx, block(2), []chain.Event{e}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(chainEventKey(posOf(e)), []byte{1, 2}) }); err != nil {
		t.Fatal(err)
	}
	for _, q := range []chain.EventQuery{{}, {Account: &alice}} {
		if _, err := x.Events(ctx, q); !errors.Is(err, errCorrupt) {
			t.Errorf("Events%s on a corrupt value = %v, want errCorrupt", describe(q), err)
		}
	}
}

func FuzzDecodeChainEvent(f *testing.F) {
	for _, e := range codecEvents(f) {
		f.Add(appendChainEvent(nil, e))
	}
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeChainEvent(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v does not wrap errCorrupt", err)
			}
			return
		}
		if again := appendChainEvent(nil, e); !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v re-encodes to %x, not the input %x", e, again, b)
		}
	})
}

// TestChainIndexFollowsSimulatedChain runs chain.Indexer on the embedded
// chain into the store and into MemIndex, through a reorg, and checks
// both against each other and the balances against the contracts.
func TestChainIndexFollowsSimulatedChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded chain")
	}
	ctx := context.Background()
	testKey := func(label string) *ecdsa.PrivateKey {
		k, err := crypto.ToECDSA(crypto.Keccak256([]byte("gridmint store test key " + label)))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	key, att := testKey("submitter"), testKey("attestor")
	me := crypto.PubkeyToAddress(key.PublicKey)
	sim, err := chain.NewSimulated(chain.SimulatedConfig{Alloc: types.GenesisAlloc{me: {Balance: chain.SimulatedFunds}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := chain.New(ctx, sim.Backend(), chain.Config{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := c.Deploy(ctx, chain.DeployConfig{Attestors: []common.Address{crypto.PubkeyToAddress(att.PublicKey)}, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(d chain.Domain, h common.Hash) [][]byte {
		sig, err := chain.Sign(att, d.Digest(h))
		if err != nil {
			t.Fatal(err)
		}
		return [][]byte{sig}
	}
	fx := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

	rb := chain.NewRewardBatch([]chain.Reward{{RecordID: common.Hash{1}, Provider: me, Amount: fx(50), Kind: chain.RewardDelivery}})
	if _, err := c.Reward(ctx, rb, sign(c.FLEXDomain(), rb.StructHash())); err != nil {
		t.Fatal(err)
	}
	head, err := sim.Backend().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	hour := head.Time/3600 - 30
	zone, _ := chain.ZoneBytes("DE-LU")
	// Any 32 bytes stand for a device key here.
	claim := func(device string, hour, wh uint64) chain.Claim {
		return chain.Claim{Device: crypto.Keccak256Hash([]byte(device)), Node: me, Owner: me, Zone: zone, Technology: chain.TechnologySolarPV, Hour: hour, Wh: wh,
			ReadingsRoot: crypto.Keccak256Hash([]byte(fmt.Sprint(device, hour)))}
	}
	ib := chain.NewIssueBatch([]chain.Claim{claim("a", hour, 700), claim("b", hour+1, 300)})
	if _, err := c.Issue(ctx, ib, sign(c.RECDomain(), ib.StructHash())); err != nil {
		t.Fatal(err)
	}
	tokA, tokB := chain.TokenID{Zone: zone, Technology: 1, Hour: hour}, chain.TokenID{Zone: zone, Technology: 1, Hour: hour + 1}
	if _, err := c.TransferREC(ctx, common.Hash{1}, bob, tokA, 200); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TransferFLEX(ctx, common.Hash{2}, bob, fx(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reserve(ctx, common.Hash{7}, common.Hash{8}, fx(20)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Retire(ctx, chain.RetireRequest{Token: tokB, Wh: 100, Beneficiary: "ACME ☀", Claim: "2026 matching"}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	mem := chain.NewMemIndex()
	indexBoth := func(phase string) {
		t.Helper()
		for _, st := range []chain.IndexStore{s, mem} {
			if _, err := chain.NewIndexer(sim.Backend(), st, chain.IndexerConfig{Contracts: addrs, Chunk: 3}).Sync(ctx); err != nil {
				t.Fatalf("%s: Sync: %v", phase, err)
			}
		}
		got, want := s, chain.IndexStore(mem)
		for _, q := range []chain.EventQuery{{}, {Newest: true}, {Account: &me}, {Account: &bob, Newest: true, Limit: 2}, {Kinds: []chain.EventKind{chain.EventRetired}}} {
			g, gerr := got.Events(ctx, q)
			w, werr := want.Events(ctx, q)
			if gerr != nil || werr != nil || !reflect.DeepEqual(norm(g), norm(w)) {
				t.Errorf("%s: Events%s = %d events %v, want %d %v", phase, describe(q), len(g), gerr, len(w), werr)
			}
		}
		for _, a := range []common.Address{me, bob} {
			b, err := chain.Index{Store: got}.Balances(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if onChain, _ := c.FLEXBalance(ctx, a); b.FLEX.Cmp(onChain) != 0 {
				t.Errorf("%s: FLEX of %s: index %v, chain %v", phase, a.Hex()[:6], b.FLEX, onChain)
			}
			rec := map[chain.TokenID]string{}
			for _, tb := range b.REC {
				rec[tb.Token] = tb.Wh.String()
			}
			for _, tk := range []chain.TokenID{tokA, tokB} {
				onChain, _ := c.RECBalance(ctx, a, tk)
				if g := rec[tk]; g != onChain.String() && !(g == "" && onChain.Sign() == 0) {
					t.Errorf("%s: REC %s of %s: index %q, chain %v", phase, tk, a.Hex()[:6], g, onChain)
				}
			}
		}
		gh, _, _ := got.Head(ctx)
		if ch, _ := sim.Backend().HeaderByNumber(ctx, nil); gh.Hash != ch.Hash() {
			t.Errorf("%s: index head %d, chain head %d", phase, gh.Number, ch.Number)
		}
	}
	indexBoth("indexed")
	rets, err := chain.Index{Store: s}.Retirements(ctx, &me, 0, 0)
	if err != nil || len(rets) != 1 || rets[0].Beneficiary != "ACME ☀" || rets[0].Amount.Int64() != 100 || rets[0].Token != tokB {
		t.Errorf("retirements = %+v, %v; want the one of 100 Wh of %s for ACME ☀", rets, err, tokB)
	}

	// Reorg: drop the last two blocks (reserve, retire); other blocks follow.
	tip, _ := sim.Backend().HeaderByNumber(ctx, nil)
	parent, _ := sim.Backend().HeaderByNumber(ctx, new(big.Int).Sub(tip.Number, big.NewInt(2)))
	if err := sim.Fork(parent.Hash()); err != nil {
		t.Fatal(err)
	}
	sim.Commit()
	sim.Commit()
	sim.Commit()
	indexBoth("after the reorg")
}
