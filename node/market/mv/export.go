package mv

import (
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// Helpers other measurers share (node/market/pof measures test
// dispatches the way this package measures awards).

// Lookback is the span of meter data a baseline method needs around the
// window [start, end), on Step boundaries: what a home gossips and every
// peer measures from.
func Lookback(m gridmint.BaselineMethod, start, end time.Time) (from, to time.Time) {
	return lookback(m, start, end)
}

// Runs splits a series into the runs of present steps that
// p2p.IntervalEnergy messages carry (at most maxSteps each, never across
// a UTC day).
func Runs(s flex.Series, maxSteps int) []flex.Series { return runs(s, maxSteps) }

// KeyOf parses a network device or meter name (a device key's 0x form,
// alone or as the last part of a device id) into its key.
func KeyOf(d gridmint.DeviceID) (gridmint.DeviceKey, bool) { return keyOf(d) }

// ReadingsBetween pages through a store's readings of id in [from, to),
// 10,000 at a time.
func ReadingsBetween(st interface {
	Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error)
}, id gridmint.DeviceID, from, to time.Time) ([]gridmint.Reading, error) {
	const page = 10000
	var out []gridmint.Reading
	for {
		rs, err := st.Readings(id, from, to, page)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if len(rs) < page {
			return out, nil
		}
		from = rs[len(rs)-1].Time.Add(time.Millisecond)
	}
}
