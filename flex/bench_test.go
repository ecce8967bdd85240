package flex

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// BenchmarkClear100kOffers1kRequests is the target: 100,000
// offers against 1,000 requests (10 zones, both directions, hourly
// windows of 1–3 h over a day) in at most 1 s.
func BenchmarkClear100kOffers1kRequests(b *testing.B) {
	reqs, offs := market(42, 100_000, 1_000)
	b.ReportAllocs()
	b.ResetTimer()
	awards, cpu := 0, cpuTime()
	for b.Loop() {
		res := Clear(reqs, offs)
		awards = 0
		for _, c := range res.Clearings {
			awards += len(c.Awards)
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(awards), "awards")
}

// BenchmarkClearWorstCase: one zone and direction, so every request scans
// offers it cannot use (other windows), and requests too large to be met,
// so no scan stops early.
func BenchmarkClearWorstCase(b *testing.B) {
	reqs, offs := market(43, 100_000, 1_000)
	for i := range offs {
		offs[i].Offer.Zone, offs[i].Offer.Direction = "DE-LU", gridmint.DirectionDown
	}
	for i := range reqs {
		reqs[i].Request.Zone, reqs[i].Request.Direction = "DE-LU", gridmint.DirectionDown
		reqs[i].Request.Power, reqs[i].Request.MaxPrice = 1_000_000, 1_000_000
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		Clear(reqs, offs)
	}
	reportCPU(b, cpu)
}

// reportCPU adds the CPU time per op (all threads, GC included) since
// start.
func reportCPU(b *testing.B, start time.Duration) {
	if start > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// yearOf5Min is a year of 5-minute household consumption.
func yearOf5Min() Series {
	rng := rand.New(rand.NewPCG(1, 1))
	start := date(2025, 11, 1)
	return stepped(start, start.Add(365*24*time.Hour), 5*time.Minute, func(t time.Time) gridmint.MWh {
		base := 20_000 + 15_000*int64(t.Hour()/6) // 240 W to 2 kW by time of day
		return gridmint.MWh(base + int64(rng.IntN(10_000)))
	})
}

// BenchmarkBaselinesYear computes every method's baseline for an
// evening event (17:00–19:00) on each day of a year of 5-minute data:
// one op is 4 × ~320 baselines.
func BenchmarkBaselinesYear(b *testing.B) {
	s := yearOf5Min()
	first := s.Start.Add(46 * 24 * time.Hour)
	methods := []gridmint.BaselineMethod{gridmint.BaselineCAISO10in10, gridmint.BaselinePJMHigh4of5, gridmint.BaselinePJMSameDay, gridmint.BaselineMeterBeforeAfter}
	b.ReportAllocs()
	b.ResetTimer()
	n, cpu := 0, cpuTime()
	for b.Loop() {
		n = 0
		for day := first; day.Add(24 * time.Hour).Before(s.End()); day = day.Add(24 * time.Hour) {
			start := day.Add(17 * time.Hour)
			for _, name := range methods {
				m, _ := MethodFor(name)
				if _, err := m.Baseline(BaselineInput{Direction: gridmint.DirectionDown, Start: start, End: start.Add(2 * time.Hour), Metered: s}); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(n), "baselines")
}

// BenchmarkVerify10kAwards measures 10,000 two-hour awards at 5-minute
// steps, one per meter.
func BenchmarkVerify10kAwards(b *testing.B) {
	start := date(2026, 11, 22).Add(17 * time.Hour)
	var in VerifyInput
	in.Metered = map[gridmint.DeviceID]Series{}
	for n := 0; n < 10_000; n++ {
		a := gridmint.Award{RequestID: rid(n / 100), OfferID: oid(n), Provider: addr(n), Device: dev(n), Meter: dev(n),
			Direction: gridmint.DirectionDown, WindowStart: start, WindowEnd: start.Add(2 * time.Hour), Power: 3000, Price: 100_000}
		in.Evidence = append(in.Evidence, Evidence{Award: a, Baseline: &Baseline{Start: start, Step: 5 * time.Minute, Energy: flat(24, 250_000)}})
		in.Metered[a.Meter] = stepped(start, start.Add(2*time.Hour), 5*time.Minute, func(time.Time) gridmint.MWh { return 10_000 })
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for b.Loop() {
		Verify(in)
	}
	reportCPU(b, cpu)
}
