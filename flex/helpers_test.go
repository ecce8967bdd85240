package flex

import (
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/gridmint/gridmint"
)

const kWh = gridmint.MWh(1_000_000)

// hourly builds an hourly series over [from, to) with f giving each
// hour's energy.
func hourly(from, to time.Time, f func(t time.Time) gridmint.MWh) Series {
	return stepped(from, to, time.Hour, f)
}

func stepped(from, to time.Time, step time.Duration, f func(t time.Time) gridmint.MWh) Series {
	s := Series{Start: from, Step: step}
	for t := from; t.Before(to); t = t.Add(step) {
		s.Energy = append(s.Energy, f(t))
	}
	return s
}

// set overwrites the steps of [from, to) with v.
func (s *Series) set(from, to time.Time, v gridmint.MWh) {
	for t := from; t.Before(to); t = t.Add(s.Step) {
		i, ok := s.index(t)
		if !ok || i < 0 || i >= len(s.Energy) {
			panic(fmt.Sprintf("set %v outside the series", t))
		}
		s.Energy[i] = v
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func oid(n int) gridmint.OfferID {
	return gridmint.OfferID(sha256.Sum256([]byte(fmt.Sprint("offer", n))))
}
func rid(n int) gridmint.RequestID {
	return gridmint.RequestID(sha256.Sum256([]byte(fmt.Sprint("request", n))))
}

func addr(n int) string { return fmt.Sprintf("0x%040x", n+1) }

func dev(n int) gridmint.DeviceID {
	return gridmint.DeviceID(fmt.Sprintf("%s/victron/b%d", addr(n), n))
}

func baselineOf(t interface {
	Helper()
	Fatalf(string, ...any)
}, name gridmint.BaselineMethod, in BaselineInput) Baseline {
	t.Helper()
	m, err := MethodFor(name)
	if err != nil {
		t.Fatalf("MethodFor(%s): %v", name, err)
	}
	b, err := m.Baseline(in)
	if err != nil {
		t.Fatalf("%s: %v", m.Version(), err)
	}
	return b
}
