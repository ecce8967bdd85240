package settle

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
)

// The order is keccak256(batch id ‖ address) ascending, whatever order
// the registry is listed in, and duplicates do not count twice.
func TestOrderIsDeterministicAndIgnoresListOrder(t *testing.T) {
	attestors := []common.Address{Addr(1), Addr(2), Addr(3), Addr(4), Addr(5)}
	id := ethcrypto.Keccak256Hash([]byte("batch"))
	want := Order(id, attestors)
	if len(want) != len(attestors) {
		t.Fatalf("order of %d attestors has %d", len(attestors), len(want))
	}
	for i := 1; i < len(want); i++ {
		a := ethcrypto.Keccak256(id[:], want[i-1][:])
		b := ethcrypto.Keccak256(id[:], want[i][:])
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("order[%d] = %s hashes to %x, not below order[%d] = %s's %x", i-1, want[i-1], a, i, want[i], b)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		perm := slices.Clone(attestors)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		perm = append(perm, perm[rng.IntN(len(perm))]) // a duplicate
		if got := Order(id, perm); !slices.Equal(got, want) {
			t.Fatalf("order of %v = %v, want %v", perm, got, want)
		}
	}
	for i, a := range want {
		if r := Rank(id, attestors, a); r != i {
			t.Errorf("Rank(%s) = %d, want %d", a, r, i)
		}
	}
	if r := Rank(id, attestors, Addr(9)); r != -1 {
		t.Errorf("Rank of a non-attestor = %d, want -1", r)
	}
}

// The batch id spreads the elected submitter over the attestors.
func TestOrderSpreadsSubmitters(t *testing.T) {
	attestors := []common.Address{Addr(1), Addr(2), Addr(3)}
	first := map[common.Address]int{}
	for i := range 60 {
		first[Order(ethcrypto.Keccak256Hash([]byte{byte(i)}), attestors)[0]]++
	}
	for _, a := range attestors {
		if first[a] < 10 {
			t.Errorf("%s elected for %d of 60 batches; want a fair share (about 20)", a, first[a])
		}
	}
}

func TestTimingDue(t *testing.T) {
	tm := Timing{Fallback: 2 * time.Minute, MinFallbackWall: 20 * time.Second}
	ready := Epoch
	cases := []struct {
		name       string
		rank       int
		clock, wal time.Duration // since ready
		want       bool
	}{
		{"elected, at once", 0, 0, 0, true},
		{"not an attestor, never", -1, 24 * time.Hour, 24 * time.Hour, false},
		{"first fallback, too early", 1, 2*time.Minute - time.Nanosecond, time.Hour, false},
		{"first fallback, on time", 1, 2 * time.Minute, 20 * time.Second, true},
		{"a 60x demo clock: the wall floor holds", 1, 2 * time.Minute, 2 * time.Second, false},
		{"a 60x demo clock: after the floor", 1, 20 * time.Minute, 20 * time.Second, true},
		{"second fallback waits twice", 2, 3 * time.Minute, time.Hour, false},
		{"second fallback", 2, 4 * time.Minute, 40 * time.Second, true},
	}
	for _, c := range cases {
		if got := tm.Due(c.rank, ready, ready, ready.Add(c.clock), ready.Add(c.wal)); got != c.want {
			t.Errorf("%s: Due = %v, want %v", c.name, got, c.want)
		}
	}
}
