package chain

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
)

func TestSimulatedCaches(t *testing.T) {
	for _, c := range []struct {
		mb                          int
		database, clean, dirty, snp int
	}{
		{0, 16, 4, 8, 3},       // the default, 32 MB
		{1, 16, 2, 4, 1},       // raised to the 16 MB LevelDB needs
		{256, 128, 38, 64, 25}, // geth's split of --cache
	} {
		var cfg ethconfig.Config
		simulatedCaches(&cfg, c.mb)
		if cfg.DatabaseCache != c.database || cfg.TrieCleanCache != c.clean || cfg.TrieDirtyCache != c.dirty || cfg.SnapshotCache != c.snp {
			t.Errorf("%d MB: database %d, trie clean %d, dirty %d, snapshot %d MB; want %d, %d, %d, %d",
				c.mb, cfg.DatabaseCache, cfg.TrieCleanCache, cfg.TrieDirtyCache, cfg.SnapshotCache, c.database, c.clean, c.dirty, c.snp)
		}
	}
}

// TestSimulatedHeapIsSmall opens the embedded chain on disk and measures
// the Go heap it keeps live. go-ethereum's default caches made it over
// 512 MiB (LevelDB allocates its write buffer up front), which doubled
// the garbage collector's target: a node then let that much garbage pile
// up before collecting it.
func TestSimulatedHeapIsSmall(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sim, err := NewSimulated(SimulatedConfig{Dir: filepath.Join(t.TempDir(), "chain"),
		Alloc: types.GenesisAlloc{crypto.PubkeyToAddress(key.PublicKey): {Balance: SimulatedFunds}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Other tests of the package may run alongside and hold heap too: the
	// bound is generous, and still far below the old 512 MiB.
	const maxMB = 96
	if grew := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) >> 20; grew > maxMB {
		t.Errorf("the open embedded chain holds %d MiB more live heap, want at most %d MiB", grew, maxMB)
	} else {
		t.Logf("live heap of the open embedded chain: +%d MiB", grew)
	}
}
