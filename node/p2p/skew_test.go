package p2p

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint/internal/tokenbucket"
)

// logRecorder keeps every log record's message and attributes.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, b.String())
	return nil
}

func (r *logRecorder) matching(sub string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.recs {
		if strings.Contains(s, sub) {
			out = append(out, s)
		}
	}
	return out
}

// TestClockSkewIsReported: messages refused because their author's clock
// is off are counted and logged with both clocks and the tolerance, once
// per author and direction; several authors skewed the same way make the
// node say its own clock is probably off. Stale history from catch-up is
// no skew.
func TestClockSkewIsReported(t *testing.T) {
	clock := NewFakeClock()
	rec := &logRecorder{}
	stats := newCounters()
	c := &checker{
		signer: newSigner(TestDomain), clock: clock, store: NewMemStore(), maxSize: DefaultMaxMessageSize, skew: 30 * time.Second,
		freshness: map[Kind]time.Duration{KindOffer: 10 * time.Minute, KindRequest: 10 * time.Minute, KindMeter: 10 * time.Minute,
			KindAttestation: 10 * time.Minute, KindAward: 10 * time.Minute},
		authors: tokenbucket.New(100, 100, 100),
		skewed:  newSkewWatch(slog.New(rec), stats),
	}
	now := clock.Now()
	meter := func(key, seq int, created time.Time) []byte {
		return Sign(t, Key(key), Bodies(Key(key), now, seq)[2], created).Raw
	}
	// Author 1's clock is 5 minutes ahead: two messages, one log line.
	for seq := range 2 {
		if _, r, _ := c.check(TopicMeter, meter(1, seq, now.Add(5*time.Minute)), checkOpts{origin: peerOf(t, 1)}); r != ReasonFuture {
			t.Fatalf("a message 5 min ahead: reason %q, want future", r)
		}
	}
	ahead := rec.matching("clock is ahead of ours")
	if len(ahead) != 1 {
		t.Fatalf("log lines about author 1's clock: %q, want one", ahead)
	}
	for _, want := range []string{"their_clock=" + now.Add(5*time.Minute).String(), "our_clock=" + now.String(), "offset=5m0s", "tolerance=30s"} {
		if !strings.Contains(ahead[0], want) {
			t.Errorf("log line %q lacks %s", ahead[0], want)
		}
	}
	if h := rec.matching("own clock is probably off"); len(h) != 0 {
		t.Errorf("one skewed author already blames our clock: %q", h)
	}
	// Author 2 is ahead too: now two peers agree that we are behind.
	c.check(TopicMeter, meter(2, 0, now.Add(2*time.Minute)), checkOpts{})
	if h := rec.matching("own clock is probably off"); len(h) != 1 || !strings.Contains(h[0], "ahead of this node's clock") {
		t.Errorf("two authors ahead: hints %q, want one that our clock is behind", h)
	}
	// Author 3's clock is an hour behind: stale gossip is skew, stale
	// catch-up history is not.
	if _, r, _ := c.check(TopicMeter, meter(3, 0, now.Add(-time.Hour)), checkOpts{}); r != ReasonStale {
		t.Fatalf("a message an hour behind: reason %q, want stale", r)
	}
	c.check(TopicMeter, meter(3, 1, now.Add(-25*time.Hour)), checkOpts{window: 24 * time.Hour})
	if behind := rec.matching("clock is behind ours"); len(behind) != 1 || !strings.Contains(behind[0], "tolerance=10m0s") {
		t.Errorf("log lines about author 3: %q, want one naming the 10 min window", behind)
	}
	if got := stats.snapshot().ClockSkew; got != (ClockSkewStats{Ahead: 3, Behind: 1}) {
		t.Errorf("ClockSkew = %+v, want 3 ahead and 1 behind", got)
	}
	// In time, nothing is reported.
	before := len(rec.matching("p2p:"))
	if _, r, d := c.check(TopicMeter, meter(4, 0, now), checkOpts{}); r != "" {
		t.Fatalf("a message in time: %q %v", r, d)
	}
	if after := len(rec.matching("p2p:")); after != before {
		t.Errorf("an accepted message logged %d lines about skew", after-before)
	}
}
