package p2p

import (
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ClockSkewStats counts gossip refused because its author's clock and
// this node's disagree by more than the tolerance: Ahead, created more
// than MaxClockSkew in our future (rejected as future); Behind, created
// before the kind's freshness window (ignored as stale).
type ClockSkewStats struct {
	Ahead  uint64
	Behind uint64
}

// Wall-clock periods of the skew reports: they rate-limit log lines, they
// are not domain time.
const (
	// skewLogEvery is how often one author's skew is logged, per direction.
	skewLogEvery = 10 * time.Minute
	// skewHintWindow: authors seen skewed the same way within it suggest
	// that our own clock is off.
	skewHintWindow = time.Minute
	// maxSkewAuthors bounds the per-author memory.
	maxSkewAuthors = 4096
)

type skewKey struct {
	author common.Address
	ahead  bool
}

// skewWatch tells why messages of a peer whose clock is off are refused,
// instead of dropping them silently: a log line with both clocks and the
// tolerance, at most once per author and direction every skewLogEvery,
// and a counter (Stats.ClockSkew). A node whose own clock is off cannot
// learn that its messages are refused by the others; it sees everyone
// else skewed the same way, and says so. Safe for concurrent use.
type skewWatch struct {
	log   *slog.Logger
	stats *counters

	mu     sync.Mutex
	logged map[skewKey]time.Time // wall time of the author's last line
	seen   map[skewKey]time.Time // wall time the author was last skewed
	hinted [2]time.Time          // wall time of the last own-clock hint, behind and ahead
}

func newSkewWatch(log *slog.Logger, stats *counters) *skewWatch {
	return &skewWatch{log: log, stats: stats, logged: map[skewKey]time.Time{}, seen: map[skewKey]time.Time{}}
}

// observe records a message of author (published by origin, "" when
// unknown) created at created, refused at our clock's now: ahead of it by
// more than tolerance, or behind it by more than tolerance (freshness).
func (w *skewWatch) observe(author common.Address, origin peer.ID, created, now time.Time, tolerance time.Duration, ahead bool) {
	w.stats.update(func(s *Stats) {
		if ahead {
			s.ClockSkew.Ahead++
		} else {
			s.ClockSkew.Behind++
		}
	})
	wall := time.Now() // rate limits of log lines: wall time
	key := skewKey{author, ahead}
	w.mu.Lock()
	if len(w.seen) >= maxSkewAuthors {
		w.seen, w.logged = map[skewKey]time.Time{}, map[skewKey]time.Time{}
	}
	w.seen[key] = wall
	logIt := wall.Sub(w.logged[key]) >= skewLogEvery
	if logIt {
		w.logged[key] = wall
	}
	// Distinct authors skewed the same way lately.
	same := 0
	for k, t := range w.seen {
		if k.ahead == ahead && wall.Sub(t) < skewHintWindow {
			same++
		}
	}
	dir := 0
	if ahead {
		dir = 1
	}
	hint := same >= 2 && wall.Sub(w.hinted[dir]) >= skewLogEvery
	if hint {
		w.hinted[dir] = wall
	}
	w.mu.Unlock()

	offset := created.Sub(now)
	if logIt {
		what := "ignoring messages of a peer whose clock is behind ours by more than the freshness window"
		if ahead {
			what = "rejecting messages of a peer whose clock is ahead of ours by more than the clock-skew tolerance"
		}
		w.log.Warn("p2p: "+what, "author", author, "peer", origin, "their_clock", created, "our_clock", now,
			"offset", offset.Round(time.Second), "tolerance", tolerance, "next_report_in", skewLogEvery)
	}
	if hint {
		way := "ahead of"
		if !ahead {
			way = "behind"
		}
		w.log.Warn("p2p: messages of several peers are all "+way+" this node's clock: this node's own clock is probably off, and its own messages refused by the others; "+
			"check its time (NTP), or in a demo the clock flags every node was given",
			"peers", same, "offset", offset.Round(time.Second), "our_clock", now, "tolerance", tolerance)
	}
}
