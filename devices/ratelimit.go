package devices

import "github.com/gridmint/gridmint/internal/tokenbucket"

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

// maxLimitedKeys bounds each limiter's memory: a flood of invented
// topics cannot grow it without end.
const maxLimitedKeys = 100_000

// newLimiter is a limiter of r per key (DefaultRateLimit when r is unset).
func newLimiter(r RateLimit) *tokenbucket.Limiter {
	if r.PerSecond <= 0 || r.Burst <= 0 {
		r = DefaultRateLimit
	}
	return tokenbucket.New(r.PerSecond, r.Burst, maxLimitedKeys)
}
