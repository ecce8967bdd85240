package market

import (
	"context"
	"fmt"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// What node/market/pof (proof-of-flexibility test dispatches) needs of
// the market: the offers to draw tests from, the setpoint path for a
// home's tested devices, and the derating of what a device may offer.

// TestsConfig is market.tests: unannounced test dispatches of offered
// capacity (node/market/pof). Durations are node time.
type TestsConfig struct {
	// Enabled runs test rounds on this node (every node of a network
	// should agree). Default false; on in the demo.
	Enabled bool `yaml:"enabled"`
	// Every is the time between two selection rounds; round r is drawn at
	// the first multiple of Every since the Unix epoch. Default 24h.
	Every time.Duration `yaml:"every"`
	// SharePPM is each device's chance, parts per million, of being
	// tested in a round when it has an eligible offer (flex.Drawn): the
	// expected part of the eligible offered power tested. Default 20,000
	// (2 %).
	SharePPM int64 `yaml:"share_ppm"`
	// Duration is the longest test (at most 15m, a multiple of 5m).
	// Default 15m.
	Duration time.Duration `yaml:"duration"`
	// Lead is how long after its seed block a test may start at the
	// earliest: the time every node has to see the block, draw the same
	// tests, and the home to send its setpoints. Default 15m.
	Lead time.Duration `yaml:"lead"`
	// PreRoll is how long before a test's start a home sends its
	// setpoint, so that a device that takes time to reach power (or a
	// node that ticks once a second, a demo minute at ×60) delivers for
	// the whole test, which is measured over its own window only. At
	// most 5m. Default 1m.
	PreRoll time.Duration `yaml:"pre_roll"`
	// RewardPerKW is the availability reward of a passed test, µFLEX per
	// kW tested (within the contract's epoch emission cap). Default
	// 1,000,000 (1 FLEX).
	RewardPerKW gridmint.MicroFLEX `yaml:"reward_per_kw"`
}

func (c *TestsConfig) applyDefaults() {
	if c.Every == 0 {
		c.Every = 24 * time.Hour
	}
	if c.SharePPM == 0 {
		c.SharePPM = 20_000
	}
	if c.Duration == 0 {
		c.Duration = flex.MaxTestDuration
	}
	if c.Lead == 0 {
		c.Lead = 15 * time.Minute
	}
	if c.RewardPerKW == 0 {
		c.RewardPerKW = 1_000_000
	}
	if c.PreRoll == 0 {
		c.PreRoll = time.Minute
	}
}

func (c TestsConfig) validate() error {
	switch {
	case c.Every < 15*time.Minute || c.Every > 7*24*time.Hour || (24*time.Hour)%c.Every != 0 && c.Every%(24*time.Hour) != 0:
		return fmt.Errorf("market.tests.every: %v: want 15m to 168h, dividing a day or whole days", c.Every)
	case c.SharePPM < 1 || c.SharePPM > 1_000_000:
		return fmt.Errorf("market.tests.share_ppm: %d: want 1 to 1000000", c.SharePPM)
	case c.Duration < 5*time.Minute || c.Duration > flex.MaxTestDuration || c.Duration%(5*time.Minute) != 0:
		return fmt.Errorf("market.tests.duration: %v: want 5m, 10m or 15m", c.Duration)
	case c.Lead < time.Minute || c.Lead > 6*time.Hour || c.Lead >= c.Every:
		return fmt.Errorf("market.tests.lead: %v: want 1m to 6h, less than market.tests.every", c.Lead)
	case c.PreRoll < 0 || c.PreRoll > 5*time.Minute:
		return fmt.Errorf("market.tests.pre_roll: %v: want 0 to 5m", c.PreRoll)
	case c.RewardPerKW < 0 || c.RewardPerKW > 1_000_000_000:
		return fmt.Errorf("market.tests.reward_per_kw: %d: want 0 to 1000000000 µFLEX", c.RewardPerKW)
	}
	return nil
}

// Tests is the market.tests section as configured (defaults applied).
func (s *Service) Tests() TestsConfig { return s.cfg.Tests }

// SetDerate sets what part, ppm, of its capacity a device may offer,
// by the device's network name (NetDevice): the proof-of-flexibility
// service starts after the market and derates devices that failed a
// test.
func (s *Service) SetDerate(f func(gridmint.DeviceID) int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.derate = f
}

// derateOf is the derate factor, ppm, of one of this node's devices.
func (s *Service) derateOf(id gridmint.DeviceID) int64 {
	s.mu.Lock()
	f := s.derate
	s.mu.Unlock()
	if f == nil || s.d.Key == nil {
		return 1_000_000
	}
	return min(max(f(NetDevice(s.d.Self, s.d.Key(id))), 0), 1_000_000)
}

// TestCandidates are the offers held that were signed before seedTime,
// and those not to be tested (skip). Only what was fixed at seedTime
// decides, so that every node skips the same offers whenever it draws:
//   - of a request signed before seedTime and cleared by then (gate
//     closure + Collect at or before seedTime): the offers it awarded
//     (their event measures them);
//   - of a request signed before seedTime and not cleared by then: every
//     offer in its zone, direction and window (it may still award them);
//   - any offer of a device whose window overlaps one of those: a device
//     is never dispatched by a test and an award at once, nor measured
//     for both.
//
// A request signed after seedTime can still award a device drawn for a
// test in an overlapping window: AwardsOf gives node/market/pof the
// awards that void such a test (flex.VoidTest).
func (s *Service) TestCandidates(seedTime time.Time) ([]flex.SignedOffer, map[gridmint.OfferID]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type span struct{ start, end time.Time }
	skip := map[gridmint.OfferID]bool{}
	busy := map[gridmint.DeviceID][]span{}
	var out []flex.SignedOffer
	for _, o := range s.offers {
		if o.Signed.Before(seedTime) {
			out = append(out, o.signed())
		}
	}
	for _, e := range s.events {
		if !e.Signed.Before(seedTime) {
			continue
		}
		if !e.Request.GateClosure.Add(s.cfg.Collect).After(seedTime) {
			if e.Clearing == nil {
				continue // cleared here after a restart or not at all: nothing awarded that this node knows of
			}
			for _, a := range e.Clearing.Awards {
				skip[a.OfferID] = true
				busy[a.Device] = append(busy[a.Device], span{a.WindowStart, a.WindowEnd})
			}
			continue
		}
		r := e.Request
		for _, o := range out {
			if r.Zone == o.Offer.Zone && r.Direction == o.Offer.Direction &&
				r.WindowStart.Before(o.Offer.WindowEnd) && o.Offer.WindowStart.Before(r.WindowEnd) {
				skip[o.ID] = true
				busy[o.Offer.Device] = append(busy[o.Offer.Device], span{o.Offer.WindowStart, o.Offer.WindowEnd})
			}
		}
	}
	for _, o := range out {
		for _, b := range busy[o.Offer.Device] {
			if b.start.Before(o.Offer.WindowEnd) && o.Offer.WindowStart.Before(b.end) {
				skip[o.ID] = true
			}
		}
	}
	return out, skip
}

// AwardsOf are the awards to device (its network name, as offers name
// it) of every clearing this node holds, reserved or not: a test of the
// device that one of them overlaps is void (flex.VoidTest), the event's
// dispatch wins.
func (s *Service) AwardsOf(device gridmint.DeviceID) []gridmint.Award {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []gridmint.Award
	for _, e := range s.events {
		if e.Clearing == nil {
			continue
		}
		for _, a := range e.Clearing.Awards {
			if a.Device == device {
				out = append(out, a)
			}
		}
	}
	return out
}

// PlanTest plans a test of one of this node's devices like an award's
// dispatch (flex.PlanDispatch, origin market): the setpoint at the test
// start and the restore at its end. It returns the node's own device id;
// an error with a reason (unknown_device for a device not this node's,
// opt_out, or flex's reason for a dispatch that cannot be planned).
func (s *Service) PlanTest(t gridmint.TestDispatch) ([]flex.Step, gridmint.DeviceID, error) {
	if !s.d.Home {
		return nil, "", reasonErr(gridmint.FlexUnknownDevice, gridmint.ENotFound, "test of %s: this node has no devices", t.Device)
	}
	st, ok := s.localDevices()[t.Device]
	if !ok {
		return nil, "", reasonErr(gridmint.FlexUnknownDevice, gridmint.ENotFound, "test of %s: not a device of this node", t.Device)
	}
	if s.cfg.PolicyFor(st.ID).OptOut {
		return nil, st.ID, reasonErr(gridmint.FlexOptOut, gridmint.EInvalid, "test of %s: the homeowner's market policy", st.ID)
	}
	a := gridmint.Award{RequestID: gridmint.RequestID(t.ID), OfferID: t.OfferID, Provider: t.Provider, Device: st.ID, Meter: t.Meter,
		Direction: t.Direction, WindowStart: t.Start, WindowEnd: t.End, Power: t.Power, Baseline: t.Baseline}
	d := flex.PlanDispatch(flex.DispatchInput{Award: a, Device: st.Device, PlanPower: planPower(st)})
	if d.Reason != "" {
		return nil, st.ID, reasonErr(d.Reason, gridmint.EInvalid, "test of %s: %s", st.ID, d.Detail)
	}
	return flex.Schedule([]flex.Dispatch{d}), st.ID, nil
}

// SendStep sends one planned test step through the node's setpoint path
// (the dispatcher checks the device's safety limits; the homeowner's
// opt-out is checked here first, at sending). It returns the command id,
// or why nothing was sent; status failed comes back with both. The
// market's setpoint counters count awards only: node/market/pof counts
// the tests'.
func (s *Service) SendStep(ctx context.Context, st flex.Step) (cmd string, reason string) {
	if s.d.Setpoints == nil {
		return "", "no setpoint path on this node"
	}
	if s.cfg.PolicyFor(st.Setpoint.Device).OptOut {
		return "", "opt_out: the homeowner's market policy"
	}
	rec, err := s.d.Setpoints.Send(ctx, st.Setpoint)
	switch {
	case err != nil:
		return "", err.Error()
	case rec.Status == gridmint.CommandFailed:
		return rec.ID, rec.Reason
	}
	return rec.ID, ""
}
