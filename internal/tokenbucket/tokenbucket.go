// Package tokenbucket is a rate limit per key (a device, a gossip author,
// a peer): a token bucket each, with a bounded number of keys so that a
// flood of invented keys cannot grow it without end. Time is passed in,
// so callers use their injected clock.
//
// Any gridmint package may import it. A Limiter is safe for concurrent use.
package tokenbucket

import (
	"sync"
	"time"
)

// Limiter keeps one token bucket per key.
type Limiter struct {
	rate    float64 // tokens per second; <= 0 means unlimited
	burst   float64
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a limiter that lets each key spend burst tokens at once,
// refilled at perSecond, for at most maxKeys keys at a time. perSecond
// <= 0 allows everything; burst and maxKeys are at least 1.
func New(perSecond, burst float64, maxKeys int) *Limiter {
	return &Limiter{rate: perSecond, burst: max(burst, 1), maxKeys: max(maxKeys, 1), buckets: map[string]*bucket{}}
}

// Allow spends a token of key at time now, reporting whether it had one.
// A key seen for the first time starts with a full bucket.
func (l *Limiter) Allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = min(l.burst, b.tokens+dt.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// Keys is how many keys the limiter holds now.
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// evict makes room: it drops the keys whose bucket has refilled (they
// would start full anyway), and if that frees less than an eighth of the
// map, arbitrary ones, so a flood of new keys costs O(1) amortised.
func (l *Limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) <= l.maxKeys-l.maxKeys/8-1 {
			break
		}
		delete(l.buckets, k)
	}
}
