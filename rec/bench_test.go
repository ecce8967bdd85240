package rec

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

var (
	benchOnce  sync.Once
	benchHours [][]gridmint.Claim
)

// benchZone is a zone of 1,000 simulated homes (fleet_test.go) over the
// ten daylight hours of the measured day: 10,000 claims, one slice per
// hour. It is built once per test binary.
func benchZone(b *testing.B) [][]gridmint.Claim {
	b.Helper()
	benchOnce.Do(func() {
		s := newSky(readMIDC(b))
		rng := rand.New(rand.NewPCG(1000, 1))
		first := gridmint.HourOf(midcDay) + 8 // 08:00 MST
		benchHours = make([][]gridmint.Claim, 10)
		for i := range 1000 {
			h := randomHome(rng, i)
			for _, c := range claimsOf(b, &h, s.readings(&h, rng)) {
				if k := int(c.Hour - first); k >= 0 && k < len(benchHours) {
					benchHours[k] = append(benchHours[k], c)
				}
			}
		}
	})
	runtime.GC() // the simulation's garbage is not the benchmark's
	return benchHours
}

// BenchmarkCheckZone10k runs every rule on 10,000 claims of one zone of
// 1,000 devices, one Check call per hour as a node makes them: per-claim
// rules (validation, chain, nameplate, sun below the horizon, clear-sky
// bound) and the zone rules (copied profiles, capacity-factor outliers).
// Signatures are the node's part and not included.
func BenchmarkCheckZone10k(b *testing.B) {
	hours := benchZone(b)
	n := 0
	for _, h := range hours {
		n += len(h)
	}
	now := midcDay.Add(48 * time.Hour)
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		ck := NewChecker(DefaultRules(), 0)
		for _, h := range hours {
			rep := ck.Check(h, now)
			if len(rep.Verdicts) != len(h) {
				b.Fatal("verdicts missing")
			}
		}
	}
	b.ReportMetric(float64(n), "claims/op")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time this process used (user and system, all
// threads, GC included): on a shared machine the wall clock measures the
// neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCheckClaim is the per-claim rules alone.
func BenchmarkCheckClaim(b *testing.B) {
	hours := benchZone(b)
	var cs []gridmint.Claim
	for _, h := range hours {
		cs = append(cs, h...)
	}
	r := DefaultRules()
	now := midcDay.Add(48 * time.Hour)
	i := 0
	cpu0 := cpuTime()
	for b.Loop() {
		r.CheckClaim(cs[i%len(cs)], now)
		i++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkCopyWorstCase compares 1,000 rough profiles that all have the
// same hourly capacity factor, so every pair falls in the comparison
// window: the quadratic worst case of the copy rule in one zone and hour.
func BenchmarkCopyWorstCase(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	cr := DefaultCopyRules()
	var fps []fingerprint
	for i := range 1000 {
		var p gridmint.Profile
		for k := range p {
			p[k] = gridmint.MWh(100_000 + rng.IntN(200_000))
		}
		p[11] += 12*200_000 - p.Sum() // the same energy for all
		c := mkClaim(byte(i), afternoon, 5000, golden, gridmint.QualityOK, p)
		c.Device = gridmint.DeviceKey{byte(i >> 8), byte(i)}
		fp, ok := cr.fingerprintOf(c)
		if !ok {
			b.Fatal("profile not informative")
		}
		fps = append(fps, fp)
	}
	cpu0 := cpuTime()
	for b.Loop() {
		if len(cr.matchingPairs(fps, func(ClaimID) bool { return true })) != 0 {
			b.Fatal("random profiles matched")
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkBuilderDay builds a device's hours from a day of readings (a
// reading every 10 s to 5 min).
func BenchmarkBuilderDay(b *testing.B) {
	s := newSky(readMIDC(b))
	rng := rand.New(rand.NewPCG(2, 2))
	h := randomHome(rng, 1)
	h.period = 10
	rs := s.readings(&h, rng)
	b.ReportAllocs()
	for b.Loop() {
		bl := NewBuilder(BuilderState{}, 0)
		for _, r := range rs {
			if err := bl.Add(r); err != nil {
				b.Fatal(err)
			}
		}
		if len(bl.Hours()) < 22 {
			b.Fatal("hours missing")
		}
	}
	b.ReportMetric(float64(len(rs)), "readings/op")
}

// BenchmarkSun is one full NOAA solar position.
func BenchmarkSun(b *testing.B) {
	tm := midcDay
	for b.Loop() {
		Sun(tm, 39.7, -105.2)
		tm = tm.Add(time.Minute)
	}
}
