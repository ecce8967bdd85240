package mv

import (
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// Received is what one source (a provider's meter) gossiped for one
// event or test: energy per step start. The first value of a step
// stands; a later different one, or another step length, is a conflict.
// Not safe for concurrent use: its owner's lock guards it.
type Received struct {
	steps map[int64]gridmint.MWh
	step  time.Duration
}

// NewReceived holds steps of length step.
func NewReceived(step time.Duration) *Received {
	return &Received{steps: map[int64]gridmint.MWh{}, step: step}
}

// Add merges the steps of an interval message that starts at start:
// added says whether a step was new, conflicts how many disagreed with
// what was held (all of them, for another step length, which adds
// nothing).
func (r *Received) Add(start time.Time, step time.Duration, energy []gridmint.MWh) (added bool, conflicts int) {
	if step != r.step {
		return false, 1
	}
	for i, v := range energy {
		at := start.Add(time.Duration(i) * step).Unix()
		if old, ok := r.steps[at]; ok {
			if old != v {
				conflicts++
			}
			continue
		}
		r.steps[at] = v
		added = true
	}
	return added, conflicts
}

// Len is how many steps are held.
func (r *Received) Len() int { return len(r.steps) }

// Series is what was received over [from, to) in Step steps (false when
// the source sent another step length); complete says no step is
// missing. A nil Received has nothing.
func (r *Received) Series(from, to time.Time) (s flex.Series, ok, complete bool) {
	if r == nil || r.step != Step {
		return flex.Series{}, false, false
	}
	n := int(to.Sub(from) / Step)
	s = flex.Series{Start: from, Step: Step, Energy: make([]gridmint.MWh, n), Missing: make([]bool, n)}
	complete = true
	for i := range n {
		v, have := r.steps[from.Add(time.Duration(i)*Step).Unix()]
		s.Energy[i], s.Missing[i] = v, !have
		complete = complete && have
	}
	return s, true, complete
}
