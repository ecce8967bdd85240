package flex

import (
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

func TestSeriesSumAndMissingSpan(t *testing.T) {
	t0 := time.Date(2026, 6, 21, 18, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	s := Series{Start: t0, Step: 5 * time.Minute, Energy: []gridmint.MWh{10, 20, 30, 40, 50, 60}}
	miss := s
	miss.Missing = []bool{false, true, false, true, false, false}
	for _, tc := range []struct {
		name     string
		s        Series
		from, to time.Time
		want     gridmint.MWh
		ok       bool
		span     Span
		offline  bool
	}{
		{"all, none missing (nil flags)", s, at(0), at(30), 210, true, Span{}, false},
		{"middle steps", s, at(5), at(20), 90, true, Span{}, false},
		{"a step starting before from is out", s, at(3), at(20), 90, true, Span{}, false},
		{"empty span", s, at(40), at(50), 0, true, Span{}, false},
		{"missing step inside", miss, at(0), at(30), 0, false, Span{Device: "d", Start: at(5), End: at(20)}, true},
		{"missing steps outside", miss, at(20), at(30), 110, true, Span{}, false},
		{"one missing step", miss, at(0), at(10), 0, false, Span{Device: "d", Start: at(5), End: at(10)}, true},
	} {
		got, ok := tc.s.Sum(tc.from, tc.to)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: Sum = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
		span, off := tc.s.MissingSpan("d", tc.from, tc.to)
		if off != tc.offline || (off && span != tc.span) {
			t.Errorf("%s: MissingSpan = %+v, %v; want %+v, %v", tc.name, span, off, tc.span, tc.offline)
		}
	}
	if got := Total([]gridmint.MWh{1, -2, 3}); got != 2 {
		t.Errorf("Total = %v, want 2", got)
	}
}
