package pof

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/settle"
)

var _ api.Tests = (*Service)(nil)

// TestRounds implements api.Tests: the rounds held, newest first.
func (s *Service) TestRounds() []api.TestRound {
	s.mu.Lock()
	rs := make([]*round, 0, len(s.rounds))
	for _, r := range s.rounds {
		rs = append(rs, r)
	}
	sortRounds(rs)
	history := s.historyLocked()
	out := make([]api.TestRound, len(rs))
	for i, r := range rs {
		v := api.TestRound{SeedTime: r.SeedTime, State: "waiting_for_block", Offers: r.Offers, Skipped: r.Skipped, Tests: []api.TestView{}}
		if r.Selected {
			n := r.SeedBlock
			v.SeedBlock, v.SeedHash, v.SeedBlockTime, v.Earliest, v.State = &n, r.SeedHash, r.SeedBlockTime, r.Earliest, "selected"
		}
		if r.Evaluated {
			v.State = "evaluated"
		}
		if r.Budget != nil {
			v.Budget = r.Budget.String()
		}
		if r.Batch != (common.Hash{}) {
			b := r.Batch
			v.Batch = &b
		}
		ts := append([]*test(nil), r.Tests...)
		sortTests(ts)
		for _, t := range ts {
			tv := api.TestView{TestResult: t.TestResult, Own: t.Own, Local: t.Local, BaselineMWh: t.BaselineMWh, MeteredMWh: t.MeteredMWh,
				BaselineErr: t.BaselineErr, Evidence: t.Evidence, Reward: "0", Derate: flex.DerateFactor(history, t.Test.Device)}
			if t.Expected > 0 {
				tv.Performance = float64(t.Delivered) / float64(t.Expected)
			}
			if t.Reward != nil {
				tv.Reward = t.Reward.String()
				id := common.Hash(flex.AvailabilityRecordID(t.Test.ID))
				tv.RecordID = &id
			}
			if t.VoidedBy != (gridmint.RequestID{}) {
				id := t.VoidedBy
				tv.VoidedBy = &id
			}
			if t.PlanReason != "" {
				tv.Setpoints = append(tv.Setpoints, api.TestSetpoint{Device: t.Local, Reason: t.PlanReason})
			}
			for _, st := range t.Steps {
				tv.Setpoints = append(tv.Setpoints, api.TestSetpoint{At: st.At, Kind: string(st.Setpoint.Kind), Value: st.Setpoint.Value,
					Restore: st.Restore, Command: st.Command, SentAt: st.SentAt, Reason: st.Reason, Device: st.Setpoint.Device})
			}
			v.Tests = append(v.Tests, tv)
		}
		out[i] = v
	}
	s.mu.Unlock()
	if s.o.Engine == nil {
		return out
	}
	for i := range out {
		if out[i].Batch == nil {
			continue
		}
		if st, ok := s.o.Engine.Lookup(*out[i].Batch); ok {
			out[i].BatchState = string(st.State)
			if st.State == settle.StateSettled {
				out[i].State, out[i].RewardTx = "settled", st.Tx
			}
		}
	}
	return out
}

// Results are the tests held with their outcomes (pending until
// evaluated), oldest first: the history that spaces and derates tests.
func (s *Service) Results() []gridmint.TestResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.historyLocked()
	sortResults(h)
	return h
}
