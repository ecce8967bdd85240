package flex

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// DispatchInput is one award and what its device needs to carry it out.
type DispatchInput struct {
	Award  gridmint.Award
	Device gridmint.Device
	// PlanPower is the device's planned consumption at the window, W,
	// consumption-positive (a battery charging or a car charging
	// positive, a PV inverter producing negative): the dispatch moves the
	// device from it by the award's power. For a PV inverter it is minus
	// the expected production.
	PlanPower gridmint.W
	// Phases and Voltage turn EV power into current (0: 1 phase, 230 V).
	Phases  int
	Voltage float64
	// Resume are the setpoints that restore normal operation at the
	// window end; nil means the kind's default (battery_power 0; an EV
	// charger's maximum current and charge_enable 1; a PV inverter's
	// limit back to its nameplate, or its export limit if lower).
	Resume []gridmint.Setpoint
	// Exemptions: an opt-out or grid limit overlapping the window, known
	// when the plan is made, cancels the dispatch.
	Exemptions []gridmint.FlexExemption
}

// Step is one setpoint to send at a time.
type Step struct {
	At       time.Time
	Setpoint gridmint.Setpoint
	// Restore marks a setpoint that ends a dispatch.
	Restore   bool
	RequestID gridmint.RequestID
	OfferID   gridmint.OfferID
}

// Dispatch is the plan of one award: setpoints at the window start and
// the restore at its end, or none with the Reason.
type Dispatch struct {
	RequestID gridmint.RequestID
	OfferID   gridmint.OfferID
	Device    gridmint.DeviceID
	Steps     []Step
	Reason    gridmint.FlexReason
	Detail    string
}

// PlanDispatch turns an award into setpoints. All setpoints have origin
// market; the homeowner's opt-out and the device's safety limits always
// win, and a setpoint is never clamped into the limits: a dispatch that
// would break one is not planned (safety_limit).
//
//   - battery: battery_power = −(plan ∓ power), discharge positive, within
//     MaxDischarge, ExportLimit and MaxCharge;
//   - EV charger, down: charge_enable 0 when nothing is left on (or what
//     is left is below the minimum current), else charge_current of the
//     remaining power in whole amperes rounded down; up: charge_current
//     of plan + power in whole amperes rounded up (at least the minimum,
//     at most the maximum) and charge_enable 1;
//   - PV inverter, up: power_limit = expected production − power, whole
//     watts rounded down, at least 0.
func PlanDispatch(in DispatchInput) Dispatch {
	a, d := in.Award, in.Device
	out := Dispatch{RequestID: a.RequestID, OfferID: a.OfferID, Device: a.Device}
	refuse := func(r gridmint.FlexReason, detail string) Dispatch {
		out.Reason, out.Detail = r, detail
		return out
	}
	if d.ID != a.Device {
		return refuse(gridmint.FlexUnknownDevice, "the device facts are for "+string(d.ID))
	}
	if d.OptOut {
		return refuse(gridmint.FlexOptOut, "the homeowner opted out")
	}
	for _, x := range in.Exemptions {
		if x.Device == a.Device && overlaps(x.Start, x.End, a.WindowStart, a.WindowEnd) &&
			(x.Reason == gridmint.FlexOptOut || x.Reason == gridmint.FlexGridLimit) {
			return refuse(x.Reason, "exempt from "+x.Start.String())
		}
	}
	if !wholeWatts(a.Power) || a.Power <= 0 || !a.WindowEnd.After(a.WindowStart) {
		return refuse(gridmint.FlexInvalid, "award power or window invalid")
	}
	p, plan := float64(a.Power), math.Trunc(float64(in.PlanPower))
	sign := -1.0 // down lowers consumption
	if a.Direction == gridmint.DirectionUp {
		sign = 1
	}
	target := plan + sign*p // consumption during the window
	var set []gridmint.Setpoint
	mk := func(k gridmint.SetpointKind, v float64) gridmint.Setpoint {
		return gridmint.Setpoint{Device: a.Device, Kind: k, Value: v, Origin: gridmint.OriginMarket}
	}
	l := d.Limits
	switch d.Kind {
	case gridmint.KindBattery:
		set = []gridmint.Setpoint{mk(gridmint.SetpointBatteryPower, -target)}
	case gridmint.KindEVCharger:
		perAmp := in.Voltage
		if perAmp <= 0 {
			perAmp = defaultVoltage
		}
		perAmp *= float64(max(in.Phases, 1))
		if a.Direction == gridmint.DirectionDown {
			amps := math.Floor(target / perAmp)
			if target <= 0 || amps <= 0 || amps < l.MinCurrent {
				set = []gridmint.Setpoint{mk(gridmint.SetpointChargeEnable, 0)}
			} else {
				set = []gridmint.Setpoint{mk(gridmint.SetpointChargeCurrent, amps)}
			}
		} else {
			amps := math.Max(math.Ceil(target/perAmp), math.Ceil(l.MinCurrent))
			if l.MaxCurrent > 0 && amps > l.MaxCurrent && target <= l.MaxCurrent*perAmp {
				amps = math.Floor(l.MaxCurrent) // rounding up crossed the maximum the award fits in
			}
			set = []gridmint.Setpoint{mk(gridmint.SetpointChargeCurrent, amps), mk(gridmint.SetpointChargeEnable, 1)}
		}
	case gridmint.KindPVInverter:
		if a.Direction != gridmint.DirectionUp {
			return refuse(gridmint.FlexNotFlexible, "a PV inverter cannot produce more")
		}
		set = []gridmint.Setpoint{mk(gridmint.SetpointPowerLimit, math.Max(0, math.Floor(-plan-p)))}
	default:
		return refuse(gridmint.FlexNotFlexible, "no market dispatch for kind "+string(d.Kind))
	}
	resume := in.Resume
	if resume == nil {
		resume = defaultResume(d, mk)
	}
	for _, sp := range append(slices.Clone(set), resume...) {
		sp.Origin = gridmint.OriginMarket
		if err := checkSetpoint(d, sp); err != nil {
			return refuse(gridmint.FlexSafetyLimit, err.Error())
		}
	}
	for _, sp := range set {
		out.Steps = append(out.Steps, Step{At: a.WindowStart, Setpoint: sp, RequestID: a.RequestID, OfferID: a.OfferID})
	}
	for _, sp := range resume {
		sp.Origin = gridmint.OriginMarket
		out.Steps = append(out.Steps, Step{At: a.WindowEnd, Setpoint: sp, Restore: true, RequestID: a.RequestID, OfferID: a.OfferID})
	}
	return out
}

func defaultResume(d gridmint.Device, mk func(gridmint.SetpointKind, float64) gridmint.Setpoint) []gridmint.Setpoint {
	switch d.Kind {
	case gridmint.KindBattery:
		return []gridmint.Setpoint{mk(gridmint.SetpointBatteryPower, 0)}
	case gridmint.KindEVCharger:
		var r []gridmint.Setpoint
		if d.Limits.MaxCurrent > 0 {
			r = append(r, mk(gridmint.SetpointChargeCurrent, math.Floor(d.Limits.MaxCurrent)))
		}
		return append(r, mk(gridmint.SetpointChargeEnable, 1))
	case gridmint.KindPVInverter:
		limit := minPositive(float64(d.Nameplate), float64(d.Limits.ExportLimit))
		if limit == 0 {
			limit = gridmint.MaxSetpointPower
		}
		return []gridmint.Setpoint{mk(gridmint.SetpointPowerLimit, math.Min(math.Floor(limit), gridmint.MaxSetpointPower))}
	}
	return nil
}

// checkSetpoint mirrors the device layer's checks that need no live
// state (capability, value range, safety limits; the state-of-charge floor
// is checked by the device layer when the setpoint is sent).
func checkSetpoint(d gridmint.Device, sp gridmint.Setpoint) error {
	if err := sp.Validate(); err != nil {
		return err
	}
	if need := gridmint.SetpointKinds[sp.Kind]; !slices.Contains(d.Capabilities, need) {
		return gridmint.Errorf(gridmint.EInvalid, "device %s lacks %s for a %s setpoint", d.ID, need, sp.Kind)
	}
	l, v := d.Limits, sp.Value
	bad := func(what string, limit any) error {
		return gridmint.Errorf(gridmint.EInvalid, "%s %v would break %s %v", sp.Kind, v, what, limit)
	}
	switch sp.Kind {
	case gridmint.SetpointBatteryPower:
		switch {
		case v > 0 && l.MaxDischarge > 0 && gridmint.W(v) > l.MaxDischarge:
			return bad("max_discharge_w", l.MaxDischarge)
		case v > 0 && l.ExportLimit > 0 && gridmint.W(v) > l.ExportLimit:
			return bad("export_limit_w", l.ExportLimit)
		case v < 0 && l.MaxCharge > 0 && gridmint.W(-v) > l.MaxCharge:
			return bad("max_charge_w", l.MaxCharge)
		}
	case gridmint.SetpointChargeCurrent:
		switch {
		case l.MaxCurrent > 0 && v > l.MaxCurrent:
			return bad("max_current_a", l.MaxCurrent)
		case v > 0 && v < l.MinCurrent:
			return bad("min_current_a", l.MinCurrent)
		case v != math.Trunc(v):
			return bad("whole amperes", "")
		}
	case gridmint.SetpointPowerLimit:
		if l.ExportLimit > 0 && gridmint.W(v) > l.ExportLimit {
			return bad("export_limit_w", l.ExportLimit)
		}
	}
	return nil
}

// Schedule merges dispatches into one time-ordered list of steps: by
// time, then device, restores before new setpoints; a restore that a new
// setpoint of the same device and kind replaces at the same instant (back
// to back awards) is dropped, so the device is not bounced.
func Schedule(ds []Dispatch) []Step {
	var steps []Step
	for _, d := range ds {
		steps = append(steps, d.Steps...)
	}
	type k struct {
		at   int64
		dev  gridmint.DeviceID
		kind gridmint.SetpointKind
	}
	sets := map[k]bool{}
	for _, s := range steps {
		if !s.Restore {
			sets[k{s.At.UnixNano(), s.Setpoint.Device, s.Setpoint.Kind}] = true
		}
	}
	steps = slices.DeleteFunc(steps, func(s Step) bool {
		return s.Restore && sets[k{s.At.UnixNano(), s.Setpoint.Device, s.Setpoint.Kind}]
	})
	slices.SortStableFunc(steps, func(a, b Step) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Setpoint.Device, b.Setpoint.Device); c != 0 {
			return c
		}
		if a.Restore != b.Restore {
			if a.Restore {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(a.RequestID[:], b.RequestID[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.OfferID[:], b.OfferID[:])
	})
	return steps
}
