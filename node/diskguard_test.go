package node

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

const mib = 1 << 20

// fakeDisk is a free-space source the test sets.
type fakeDisk struct {
	mu          sync.Mutex
	free, total uint64
	err         error
	calls       int
}

func (d *fakeDisk) set(free uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.free, d.err = free, nil
}

func (d *fakeDisk) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.err = err
}

func (d *fakeDisk) space(string) (uint64, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	return d.free, d.total, d.err
}

func newTestGuard(d *fakeDisk, p diskPolicy) (*diskGuard, *metrics) {
	m := newMetrics()
	g := newDiskGuard("/data", p, d.space, m, testLogger())
	m.watchDisk(g)
	return g, m
}

func TestDiskGuardPausesBelowTheReserveAndResumesAboveTheMargin(t *testing.T) {
	d := &fakeDisk{free: 500 * mib, total: 1000 * mib}
	g, m := newTestGuard(d, diskPolicy{minFree: 100 * mib, floor: 64 * mib, margin: 10 * mib})
	steps := []struct {
		free        uint64
		paused      bool
		resumed     bool
		wantPauses  float64
		description string
	}{
		{500 * mib, false, false, 0, "plenty of room"},
		{100 * mib, false, false, 0, "exactly the reserve is still room"},
		{100*mib - 1, true, false, 1, "one byte below the reserve pauses"},
		{105 * mib, true, false, 1, "above the reserve but within the margin stays paused"},
		{110*mib - 1, true, false, 1, "one byte short of reserve + margin stays paused"},
		{110 * mib, false, true, 1, "reserve + margin resumes"},
		{101 * mib, false, false, 1, "above the reserve again: no flapping"},
		{50 * mib, true, false, 2, "a second pause, below even the store's floor"},
	}
	for _, s := range steps {
		d.set(s.free)
		st, resumed := g.refresh()
		if st.Paused != s.paused || resumed != s.resumed {
			t.Errorf("%s (free %d): paused %v, resumed %v; want %v, %v", s.description, s.free, st.Paused, resumed, s.paused, s.resumed)
		}
		if got := gathered(t, m, "gridmint_disk_pauses_total", ""); got != s.wantPauses {
			t.Errorf("%s: pauses counter %v, want %v", s.description, got, s.wantPauses)
		}
		err := g.check("api")
		if s.paused != (err != nil) {
			t.Errorf("%s: check = %v, want an error exactly when paused", s.description, err)
		}
	}
	if got := gathered(t, m, "gridmint_disk_refused_total", "api"); got != 4 {
		t.Errorf("refused api writes counted %v, want 4 (one per paused check)", got)
	}
	if err := g.check("gossip"); gridmint.ErrorCode(err) != gridmint.EUnavailable ||
		!strings.Contains(err.Error(), "disk full: 50 MiB free on the data dir, below the reserve of 100 MiB") ||
		!strings.Contains(err.Error(), "until 110 MiB are free") {
		t.Errorf("check while paused = %v; want an unavailable error naming free space, reserve and where it resumes", err)
	}
	if st := g.status(); !strings.HasPrefix(st.String(), "50 MiB free, below the reserve of 100 MiB") {
		t.Errorf("status %q; want it to start with the free space and the reserve", st.String())
	}
}

func TestDiskGuardReserveAsAShareNeverBelowTheFloor(t *testing.T) {
	tests := []struct {
		total, want uint64
	}{
		{10 << 30, 512 * mib},   // 5 % of 10 GiB
		{1 << 30, 64 * mib},     // 5 % of 1 GiB is 51.2 MiB: the floor wins
		{100 << 30, 5120 * mib}, // 5 % of 100 GiB
	}
	for _, tt := range tests {
		d := &fakeDisk{free: tt.total, total: tt.total}
		g, m := newTestGuard(d, diskPolicy{percent: 5, floor: 64 * mib, margin: mib})
		st, _ := g.refresh()
		if st.Reserve != tt.want {
			t.Errorf("5%% of %d bytes: reserve %d, want %d", tt.total, st.Reserve, tt.want)
		}
		if got := gathered(t, m, "gridmint_disk_reserve_bytes", ""); got != float64(tt.want) {
			t.Errorf("gridmint_disk_reserve_bytes = %v, want %v", got, tt.want)
		}
	}
}

func TestDiskGuardKeepsItsStateWhenTheDiskCannotBeRead(t *testing.T) {
	d := &fakeDisk{total: 1 << 30}
	d.fail(errors.New("statfs: input/output error"))
	g, _ := newTestGuard(d, diskPolicy{minFree: 100 * mib, floor: 64 * mib})
	st, _ := g.refresh()
	if st.Paused || st.Checked || !strings.Contains(st.String(), "free space unknown: statfs: input/output error") {
		t.Errorf("never read: %+v %q; want not paused, unknown", st, st.String())
	}
	d.set(10 * mib)
	if st, _ := g.refresh(); !st.Paused {
		t.Fatal("not paused at 10 MiB free")
	}
	d.fail(errors.New("statfs: stale file handle"))
	st, _ = g.refresh()
	if !st.Paused || st.Free != 10*mib || st.Err == nil {
		t.Errorf("after a failed read: %+v; want still paused at the last free space, with the error", st)
	}
	if err := g.check("chain"); err == nil {
		t.Error("check passed while paused with an unreadable disk")
	}
}

func TestDiskGuardWaitHoldsUntilThereIsRoom(t *testing.T) {
	d := &fakeDisk{free: 10 * mib, total: 1 << 30}
	g, _ := newTestGuard(d, diskPolicy{minFree: 100 * mib, floor: 64 * mib, margin: 10 * mib})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { got <- g.wait(ctx) }()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("wait on a cancelled context while paused = %v, want context.Canceled", err)
	}

	go func() { got <- g.wait(context.Background()) }()
	// Each wait looks at the disk once before it blocks.
	waitFor(t, "wait to look at the disk", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.calls >= 2
	})
	select {
	case err := <-got:
		t.Fatalf("wait returned %v while paused", err)
	default:
	}
	d.set(200 * mib)
	if _, resumed := g.refresh(); !resumed {
		t.Fatal("refresh at 200 MiB did not resume")
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("wait after resume = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait still blocked 5 s after the guard resumed")
	}
	if err := g.wait(context.Background()); err != nil {
		t.Errorf("wait with room = %v", err)
	}
}

func TestStatfsSpaceReadsARealFilesystem(t *testing.T) {
	free, total, err := statfsSpace(t.TempDir())
	if err != nil {
		t.Skipf("no statfs here: %v", err)
	}
	if total == 0 || free > total {
		t.Errorf("statfs: free %d of %d bytes; want 0 < total and free <= total", free, total)
	}
	if _, _, err := statfsSpace(t.TempDir() + "/missing"); err == nil {
		t.Error("statfs of a missing dir succeeded")
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tt := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1536, "1.5 KiB"}, {64 * mib, "64 MiB"},
		{64*mib - 1, "63.9 MiB"}, {3 << 30, "3 GiB"}, {1<<30 + 700*mib, "1.6 GiB"},
	} {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// gathered is the value of metric name (with label what=value if given)
// as /metrics would show it.
func gathered(t *testing.T, m *metrics, name, what string) float64 {
	t.Helper()
	families, err := m.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, mt := range f.GetMetric() {
			if what != "" && (len(mt.GetLabel()) == 0 || mt.GetLabel()[0].GetValue() != what) {
				continue
			}
			switch {
			case mt.GetGauge() != nil:
				return mt.GetGauge().GetValue()
			case mt.GetCounter() != nil:
				return mt.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("metric %s{%s} not exported", name, what)
	return 0
}
