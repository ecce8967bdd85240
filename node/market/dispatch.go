package market

import (
	"context"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// dispatchDue lapses the requests with awards that are not firm at their
// window start, plans the firm ones' setpoints at their window start,
// and sends every step that is due (starts at the window start, restores
// at its end).
func (s *Service) dispatchDue(ctx context.Context, now time.Time) {
	type due struct {
		e *eventRecord
		i int
	}
	var todo []due
	// Events are kept after the setpoints are out: a plan of 1,000 awards
	// is a large record, and the setpoints must not wait for it (a crash
	// in between plans and sends the same setpoints again).
	changed := map[*eventRecord]bool{}
	s.mu.Lock()
	for _, e := range s.events {
		switch {
		case (e.State == StateCleared || e.State == StateAgreed) && e.windowStarted(now):
			e.State, e.Reason = StateLapsed, ReasonLapsed
			e.Detail = "no confirmed reservation naming this node's root by the window start"
			s.m.lapsed.Inc()
			s.refuse(ReasonLapsed)
			e.logf(now, "lapsed", "%s: nothing dispatched", e.Detail)
			changed[e] = true
		case e.State == StateFirm && e.windowStarted(now):
			s.planLocked(e, now)
			e.State = StateDispatched
			changed[e] = true
		}
		if e.State != StateDispatched {
			continue
		}
		pending := false
		for i := range e.Steps {
			st := &e.Steps[i]
			if st.Sent || st.Reason != "" {
				continue
			}
			if st.At.After(now) {
				pending = true
				continue
			}
			if !st.Restore && !now.Before(e.Request.WindowEnd) {
				// The node was not running at the window start: too late.
				st.Reason = "window passed before it could be sent"
				changed[e] = true
				continue
			}
			todo = append(todo, due{e, i})
			pending = true
		}
		if !pending && !now.Before(e.Request.WindowEnd) {
			e.State = StateDone
			e.logf(now, "done", "window ended; restored")
			changed[e] = true
		}
	}
	s.mu.Unlock()
	if s.d.Setpoints == nil {
		todo = nil
	}
	sent := map[*eventRecord][2]int{} // setpoints, restores sent
	for _, t := range todo {
		s.mu.Lock()
		st := t.e.Steps[t.i]
		s.mu.Unlock()
		var reason, cmd string
		var status gridmint.CommandStatus
		if s.policyFor(st.Setpoint.Device).OptOut {
			reason = "opt_out: the homeowner's market policy"
		} else {
			rec, err := s.d.Setpoints.Send(ctx, st.Setpoint)
			switch {
			case err != nil:
				reason = err.Error()
			case rec.Status == gridmint.CommandFailed:
				cmd, status, reason = rec.ID, rec.Status, rec.Reason
			default:
				cmd, status = rec.ID, rec.Status
			}
		}
		sentAt := s.d.Clock.Now()
		s.mu.Lock()
		p := &t.e.Steps[t.i]
		switch {
		case cmd == "":
			p.Reason = reason
			s.m.setpoints.WithLabelValues("refused").Inc()
			s.refuse(ReasonSetpointRefused)
			t.e.logf(sentAt, "setpoint_refused", "%s %s %v: %s", p.Setpoint.Device, p.Setpoint.Kind, p.Setpoint.Value, reason)
		case status == gridmint.CommandFailed:
			p.Sent, p.SentAt, p.Command, p.Reason = true, sentAt, cmd, reason
			s.m.setpoints.WithLabelValues("failed").Inc()
			t.e.logf(sentAt, "setpoint_failed", "%s %s %v: %s", p.Setpoint.Device, p.Setpoint.Kind, p.Setpoint.Value, reason)
		default:
			p.Sent, p.SentAt, p.Command = true, sentAt, cmd
			s.m.setpoints.WithLabelValues("sent").Inc()
			c := sent[t.e]
			if p.Restore {
				c[1]++
			} else {
				c[0]++
			}
			sent[t.e] = c
		}
		changed[t.e] = true
		s.mu.Unlock()
	}
	now = s.d.Clock.Now()
	s.mu.Lock()
	for e, c := range sent {
		// One line each: every setpoint is in the event's Setpoints.
		if c[0] > 0 {
			e.logf(now, "setpoints_sent", "%d setpoints sent to this node's devices", c[0])
		}
		if c[1] > 0 {
			e.logf(now, "restores_sent", "%d restores sent at the window end", c[1])
		}
	}
	for e := range changed {
		s.saveEventLocked(e)
	}
	s.mu.Unlock()
}

// planLocked turns e's awards of this node's devices into setpoints
// (flex.PlanDispatch, flex.Schedule). A dispatch flex refuses (opt-out,
// a safety limit) is logged with its reason and not sent.
func (s *Service) planLocked(e *eventRecord, now time.Time) {
	local, states := s.localAwardsWith(e.Clearing, nil)
	if len(local) == 0 {
		e.logf(now, "window_start", "no awards of this node's devices")
		return
	}
	var ds []flex.Dispatch
	for _, la := range local {
		st := states[la.Award.Device]
		a := la.Award
		a.Device = la.Device
		if s.policyFor(la.Device).OptOut {
			s.refuse(gridmint.FlexOptOut)
			e.logf(now, "dispatch_refused", "%s: opt_out: the homeowner's market policy", la.Device)
			continue
		}
		if x, ok := s.exemptionLocked(e.ID, la.Award.Device); ok {
			// Declared before the window start and gossiped: every node
			// excuses the award, so it is not dispatched.
			s.refuse(x.Reason)
			e.logf(now, "dispatch_refused", "%s: %s: declared for this event at %s", la.Device, x.Reason, x.Declared.UTC().Format(time.RFC3339))
			continue
		}
		d := flex.PlanDispatch(flex.DispatchInput{Award: a, Device: st.Device, PlanPower: planPower(st)})
		if d.Reason != "" {
			s.refuse(d.Reason)
			e.logf(now, "dispatch_refused", "%s: %s: %s", la.Device, d.Reason, d.Detail)
			continue
		}
		ds = append(ds, d)
	}
	for _, st := range flex.Schedule(ds) {
		e.Steps = append(e.Steps, stepRecord{Step: st})
	}
	e.logf(now, "window_start", "%d setpoints planned for %d awards of this node's devices", len(e.Steps), len(local))
}
