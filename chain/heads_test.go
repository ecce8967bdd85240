package chain

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
)

// fakeHeads is a chain of blocks with the given timestamps (Unix s).
type fakeHeads struct {
	times []uint64
	reads int
}

func (f *fakeHeads) HeaderByNumber(_ context.Context, n *big.Int) (*types.Header, error) {
	f.reads++
	i := len(f.times) - 1
	if n != nil {
		i = int(n.Int64())
	}
	if i < 0 || i >= len(f.times) {
		return nil, errors.New("no such block")
	}
	return &types.Header{Number: big.NewInt(int64(i)), Time: f.times[i], Difficulty: big.NewInt(0)}, nil
}

func TestFirstBlockAt(t *testing.T) {
	ctx := context.Background()
	times := []uint64{100, 110, 110, 120, 130, 130, 140, 200}
	for _, tc := range []struct {
		at            int64
		confirmations uint64
		from          uint64
		want          uint64
		ok            bool
	}{
		{at: 50, want: 0, ok: true},
		{at: 110, want: 1, ok: true},
		{at: 111, want: 3, ok: true},
		{at: 130, want: 4, ok: true},
		{at: 141, want: 7, ok: true},
		{at: 141, confirmations: 1, ok: false}, // block 7 not confirmed yet
		{at: 201, ok: false},
		{at: 120, from: 2, want: 3, ok: true},
		{at: 120, confirmations: 4, want: 3, ok: true},
		{at: 131, confirmations: 2, ok: false},
	} {
		f := &fakeHeads{times: times}
		b, ok, err := FirstBlockAt(ctx, f, time.Unix(tc.at, 0), tc.confirmations, tc.from)
		if err != nil {
			t.Fatal(err)
		}
		if ok != tc.ok || ok && b.Number != tc.want {
			t.Errorf("at %d conf %d from %d: got block %d ok %v, want %d ok %v", tc.at, tc.confirmations, tc.from, b.Number, ok, tc.want, tc.ok)
		}
		if ok && b.Time.Unix() != int64(times[b.Number]) {
			t.Errorf("at %d: time %v", tc.at, b.Time)
		}
		if f.reads > 8 {
			t.Errorf("at %d: %d header reads for 8 blocks: not a binary search", tc.at, f.reads)
		}
	}
}
