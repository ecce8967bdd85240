package devices

import (
	"time"
)

// RateLimit is a token bucket: Burst messages at once, refilled at
// PerSecond.
type RateLimit struct {
	PerSecond float64
	Burst     float64
}

// Default rate limits. A device may send two measurements a second
// (Victron publishes a path per change, Shelly a NotifyStatus per 5 %
// power step) and a burst of 600: the QoS 1 backlog the broker kept for a
// node that was down for an hour, from a device reporting every 6 s. A
// device (or, for inputs that name none, an adapter) may put one rejection
// every five seconds (and 20 at once) into the quarantine; the rest are
// counted only.
var (
	DefaultRateLimit      = RateLimit{PerSecond: 2, Burst: 600}
	DefaultRejectionLimit = RateLimit{PerSecond: 0.2, Burst: 20}
)

// maxBuckets bounds the limiter's memory: a flood of invented topics
// cannot grow it without end. When full, idle buckets (full ones) go.
const maxBuckets = 100_000

type bucket struct {
	tokens float64
	at     time.Time
}

// limiter keeps one bucket per key. Not safe for concurrent use (the
// ingest pipeline owns it).
type limiter struct {
	rate    RateLimit
	buckets map[string]*bucket
}

func newLimiter(r RateLimit) *limiter {
	if r.PerSecond <= 0 || r.Burst <= 0 {
		r = DefaultRateLimit
	}
	return &limiter{rate: r, buckets: map[string]*bucket{}}
}

// allow spends a token of key at time now, if it has one.
func (l *limiter) allow(key string, now time.Time) bool {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.rate.Burst, at: now}
		l.buckets[key] = b
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = min(l.rate.Burst, b.tokens+dt*l.rate.PerSecond)
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops buckets that have refilled: forgetting them changes nothing.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.rate.PerSecond >= l.rate.Burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		// Everyone is busy: start over rather than grow.
		l.buckets = map[string]*bucket{}
	}
}
