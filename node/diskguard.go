package node

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
)

// diskCheckEvery is how often the node looks at the free space besides
// before every ingest batch: often enough to notice room coming back
// within a second, and a statfs costs microseconds.
const diskCheckEvery = time.Second

// DiskSpaceFunc reports the filesystem that holds dir: the bytes a
// writer may still use (statfs f_bavail, without the blocks reserved for
// root) and the filesystem's size, bytes.
type DiskSpaceFunc func(dir string) (free, total uint64, err error)

// diskPolicy is when the node pauses and resumes (config storage).
type diskPolicy struct {
	minFree uint64  // the reserve, bytes; 0 when percent sets it
	percent float64 // the reserve as a share of the filesystem, %; 0 when minFree sets it
	floor   uint64  // the reserve is never below this (store.MinFree), bytes
	margin  uint64  // a paused node resumes at reserve + margin, bytes
}

// reserve is the reserve in bytes on a filesystem of total bytes.
func (p diskPolicy) reserve(total uint64) uint64 {
	r := p.minFree
	if p.percent > 0 {
		r = uint64(float64(total) * p.percent / 100)
	}
	return max(r, p.floor)
}

// diskStatus is the guard's last look at the disk.
type diskStatus struct {
	Free, Total uint64 // bytes, as the last successful check saw them
	Reserve     uint64 // bytes
	Resume      uint64 // a paused node resumes at this much free, bytes
	Paused      bool
	// Err is the last check's failure, nil when it worked: the status
	// then keeps the last successful check.
	Err     error
	Checked bool // at least one check succeeded
}

// String says how much room there is, for /healthz and the log.
func (s diskStatus) String() string {
	switch {
	case !s.Checked && s.Err != nil:
		return "free space unknown: " + s.Err.Error()
	case s.Paused:
		return fmt.Sprintf("%s free, below the reserve of %s: telemetry stays unacknowledged at the broker; gossip, edits, setpoints and chain submissions are refused until %s are free",
			formatBytes(s.Free), formatBytes(s.Reserve), formatBytes(s.Resume))
	}
	return fmt.Sprintf("%s free (reserve %s)", formatBytes(s.Free), formatBytes(s.Reserve))
}

// diskGuard keeps the node from filling the data dir's filesystem: badger
// writes through memory maps and dies of SIGBUS where a full disk would
// otherwise be an error (node/store's MinFree says why and how much it
// may still need). While the free space is below the reserve the guard is
// paused: the ingest pipeline waits before its next batch, so telemetry
// stays unacknowledged at the broker (QoS 1, persistent session), and
// other writers are refused with an EUnavailable error that says so
// (gossip, device edits, setpoints, offers, requests, new chain
// submissions) or wait (chain indexing, gossip pruning, value-log GC).
// Once the free space is back above the reserve plus the margin it
// resumes. Follow-ups of what is already in flight (command
// confirmations, sent transactions) and the registry written at start go
// on: they are a few KiB, which the reserve covers. Below the store's own
// minimum (policy.floor) the node does not start, and a node stopped
// there leaves badger unclosed rather than let it flush into a full disk
// (store.Abandon).
//
// Safe for concurrent use.
type diskGuard struct {
	dir     string
	space   DiskSpaceFunc
	policy  diskPolicy
	log     *slog.Logger
	metrics *metrics

	mu       sync.Mutex
	st       diskStatus
	room     chan struct{} // closed while not paused
	critical bool          // below policy.floor at the last look
}

func newDiskGuard(dir string, policy diskPolicy, space DiskSpaceFunc, m *metrics, log *slog.Logger) *diskGuard {
	if space == nil {
		space = statfsSpace
	}
	room := make(chan struct{})
	close(room)
	return &diskGuard{dir: dir, space: space, policy: policy, log: log, metrics: m, room: room}
}

// refresh looks at the disk, pauses or resumes, and reports the status and
// whether this look resumed a paused guard.
func (g *diskGuard) refresh() (st diskStatus, resumed bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	free, total, err := g.space(g.dir)
	if err != nil {
		// A failed look says nothing about the space: keep what the last
		// one saw (unpaused if none did) and say so once.
		if g.st.Err == nil {
			g.log.Warn("cannot read the free space of the data dir; keeping the last state", "dir", g.dir, "err", err)
		}
		g.st.Err = err
		return g.st, false
	}
	if g.st.Err != nil && g.st.Checked {
		g.log.Info("free space readable again", "dir", g.dir)
	}
	reserve := g.policy.reserve(total)
	g.st = diskStatus{Free: free, Total: total, Reserve: reserve, Resume: reserve + g.policy.margin, Paused: g.st.Paused, Checked: true}
	switch {
	case !g.st.Paused && free < reserve:
		g.st.Paused = true
		g.room = make(chan struct{})
		g.metrics.diskPauses.Inc()
		g.log.Error("disk nearly full: pausing; nothing new is stored until there is room", "dir", g.dir, "status", g.st.String())
	case g.st.Paused && free >= g.st.Resume:
		g.st.Paused = false
		close(g.room)
		resumed = true
		g.log.Info("disk has room again: resuming", "dir", g.dir, "free", formatBytes(free), "reserve", formatBytes(reserve))
	}
	if critical := free < g.policy.floor; critical != g.critical {
		g.critical = critical
		if critical {
			g.log.Error("free space is below what the store itself may need: free some now, or the store may crash while flushing or compacting",
				"dir", g.dir, "free", formatBytes(free), "store_needs", formatBytes(g.policy.floor))
		}
	}
	return g.st, resumed
}

// status is the last look's result.
func (g *diskGuard) status() diskStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st
}

// check returns nil while the guard is not paused, else an EUnavailable
// error saying why, and counts the refusal of what (gossip, api, chain).
func (g *diskGuard) check(what string) error {
	st := g.status()
	if !st.Paused {
		return nil
	}
	g.metrics.diskRefused.WithLabelValues(what).Inc()
	return gridmint.Errorf(gridmint.EUnavailable, "disk full: %s free on the data dir, below the reserve of %s; nothing new is stored until %s are free",
		formatBytes(st.Free), formatBytes(st.Reserve), formatBytes(st.Resume))
}

// wait returns once the guard is not paused, or ctx's error. It looks at
// the disk first, so a writer that waits before each batch never writes
// more than one batch past the reserve.
func (g *diskGuard) wait(ctx context.Context) error {
	g.refresh()
	for {
		g.mu.Lock()
		paused, room := g.st.Paused, g.room
		g.mu.Unlock()
		if !paused {
			return nil
		}
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// formatBytes writes n bytes for people: "41.5 MiB", "1.2 GiB", "512 KiB".
func formatBytes(n uint64) string {
	const (
		kib = 1 << 10
		mib = 1 << 20
		gib = 1 << 30
	)
	unit, div := "B", uint64(1)
	switch {
	case n >= gib:
		unit, div = "GiB", gib
	case n >= mib:
		unit, div = "MiB", mib
	case n >= kib:
		unit, div = "KiB", kib
	}
	// Rounded down: "64 MiB free" must not show when 63.99 MiB are.
	return strconv.FormatFloat(math.Floor(float64(n)/float64(div)*10)/10, 'f', -1, 64) + " " + unit
}
