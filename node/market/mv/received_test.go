package mv

import (
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

func TestReceived(t *testing.T) {
	t0 := time.Date(2026, 6, 21, 18, 0, 0, 0, time.UTC)
	r := NewReceived(Step)
	if added, c := r.Add(t0, Step, []gridmint.MWh{1, 2}); !added || c != 0 {
		t.Fatalf("first add: added %v conflicts %d, want true 0", added, c)
	}
	// The first value of a step stands; a different one is a conflict.
	if added, c := r.Add(t0.Add(Step), Step, []gridmint.MWh{9, 3}); !added || c != 1 {
		t.Errorf("overlapping add: added %v conflicts %d, want true 1", added, c)
	}
	if added, c := r.Add(t0, Step, []gridmint.MWh{1}); added || c != 0 {
		t.Errorf("repeat: added %v conflicts %d, want false 0", added, c)
	}
	if added, c := r.Add(t0, time.Minute, []gridmint.MWh{1}); added || c != 1 {
		t.Errorf("other step: added %v conflicts %d, want false 1", added, c)
	}
	if r.Len() != 3 {
		t.Errorf("Len = %d, want 3", r.Len())
	}
	s, ok, complete := r.Series(t0, t0.Add(4*Step))
	if !ok || complete || len(s.Energy) != 4 || s.Energy[1] != 2 || s.Energy[2] != 3 || !s.Missing[3] || s.Missing[0] {
		t.Errorf("Series = %+v ok %v complete %v", s, ok, complete)
	}
	if _, ok, complete := r.Series(t0, t0.Add(3*Step)); !ok || !complete {
		t.Errorf("Series of the held steps: ok %v complete %v, want true true", ok, complete)
	}
	var none *Received
	if _, ok, _ := none.Series(t0, t0.Add(Step)); ok {
		t.Error("a nil Received has a series")
	}
}
