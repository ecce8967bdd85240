package flex

import (
	"math"
	"time"

	"github.com/gridmint/gridmint"
)

// DeviceState is what the home node knows of one device when it computes
// what the device can offer for a window.
type DeviceState struct {
	Device gridmint.Device
	Online bool
	// SoC is a battery's state of charge, %, expected at the window start
	// (the current one when nothing is planned before it); HasSoC says it
	// is known.
	SoC    float64
	HasSoC bool
	// CarConnected says a car is plugged into an EV charger.
	CarConnected bool
	// Phases and Voltage turn an EV charge current into power; 0 means 1
	// phase (the smaller, safe assumption) and 230 V.
	Phases  int
	Voltage float64
	// Plan is the device's planned consumption (consumption-positive, see
	// Series) over at least the window: a battery's or a charger's
	// schedule, or minus a PV inverter's expected production. Nil means
	// the defaults: a battery idles, an EV charger charges at full power
	// from now until the car has what it needs, a PV inverter has no
	// forecast and offers nothing.
	Plan *Series
	// PlannedBefore is the energy the plan gives the car between now and
	// the window start (EV charger with a Plan).
	PlannedBefore gridmint.MWh
}

// Capacity is what one device can offer in one direction for one window.
type Capacity struct {
	Device    gridmint.DeviceID  `json:"device"`
	Direction gridmint.Direction `json:"direction"`
	Start     time.Time          `json:"start"`
	End       time.Time          `json:"end"`
	// Power is whole watts, after derating; 0 with a Reason when nothing
	// can be offered.
	Power  gridmint.W          `json:"power_w"`
	Reason gridmint.FlexReason `json:"reason,omitempty"`
	// Derate is the factor applied, parts per million (1,000,000 = none).
	Derate int64 `json:"derate_ppm"`
}

const (
	defaultVoltage = 230.0
	ppm            = 1_000_000
)

// OfferableCapacity is the most a device can offer in direction dir for
// [start, end), computed at now (start must not be before now), honouring
// the homeowner's policy, the device's safety limits, and the
// proof-of-flexibility derating (Derate; ppm, 1,000,000 = none):
//
//   - opt-out (the policy's or the device's) and an offline device offer
//     nothing;
//   - a battery discharges (down) or charges (up) within its power limits
//     (MaxDischarge, ExportLimit and Nameplate for down; MaxCharge and
//     Nameplate for up) and its state-of-charge bounds for the whole
//     window (never below max(ReserveSoC, SoCFloor), never above MaxSoC),
//     relative to its plan;
//   - an EV charger defers (down) only power it would draw in every step
//     of the window, and only as far as the car still gets EnergyNeeded by
//     Departure at full power afterwards; what stays on is zero or at
//     least the minimum current. It charges more (up) only while the car
//     still needs the energy and within its maximum power. The car must be
//     plugged in and stay until the window ends;
//   - a PV inverter curtails (up) at most its lowest expected production
//     in the window; it cannot produce more (down).
//
// Other kinds (meters, plugs) offer nothing. A zero capacity carries its
// reason; at_reserve means nothing is left to shift (a battery at its
// reserve or full, a car that is full or would be before the window).
func OfferableCapacity(st DeviceState, pol gridmint.FlexPolicy, dir gridmint.Direction, start, end, now time.Time, derate int64) Capacity {
	c := Capacity{Device: st.Device.ID, Direction: dir, Start: start, End: end, Derate: derate}
	zero := func(r gridmint.FlexReason) Capacity { c.Reason = r; return c }
	switch {
	case dir != gridmint.DirectionDown && dir != gridmint.DirectionUp,
		!end.After(start), start.Before(now), end.Sub(start) > 24*time.Hour,
		derate < 0 || derate > ppm, pol.Validate() != nil:
		return zero(gridmint.FlexInvalid)
	case pol.OptOut || st.Device.OptOut:
		return zero(gridmint.FlexOptOut)
	case !st.Online:
		return zero(gridmint.FlexOffline)
	}
	if st.Plan != nil {
		if st.Plan.Validate() != nil {
			return zero(gridmint.FlexInvalid)
		}
		if _, ok := st.Plan.span(start, end); !ok {
			return zero(gridmint.FlexInvalid)
		}
	}
	var p int64
	var r gridmint.FlexReason
	switch st.Device.Kind {
	case gridmint.KindBattery:
		p, r = batteryCapacity(st, pol, dir, start, end)
	case gridmint.KindEVCharger:
		p, r = evCapacity(st, pol, dir, start, end, now)
	case gridmint.KindPVInverter:
		p, r = pvCapacity(st, dir, start, end)
	default:
		r = gridmint.FlexNotFlexible
	}
	if r != "" {
		return zero(r)
	}
	if p <= 0 {
		return zero(gridmint.FlexAtReserve)
	}
	if p = mulDiv(p, derate, ppm); p <= 0 {
		return zero(gridmint.FlexDerated)
	}
	c.Power = gridmint.W(min(p, int64(gridmint.MaxNameplate)))
	return c
}

// minPositive is the smallest of the positive limits, 0 if none is set.
func minPositive(vs ...float64) float64 {
	m := 0.0
	for _, v := range vs {
		if v > 0 && (m == 0 || v < m) {
			m = v
		}
	}
	return m
}

// planPower returns the plan's lowest and highest power (W, whole,
// rounded towards zero) over the window and its energy there; all zero
// without a plan.
func planPower(st DeviceState, start, end time.Time) (lo, hi int64, energy int64) {
	if st.Plan == nil {
		return 0, 0, 0
	}
	es, _ := st.Plan.span(start, end) // checked by the caller
	secs := int64(st.Plan.Step / time.Second)
	for i, e := range es {
		// W = mWh × 3.6 / s
		w := int64(e) * 36 / (10 * secs)
		if i == 0 || w < lo {
			lo = w
		}
		if i == 0 || w > hi {
			hi = w
		}
	}
	return lo, hi, sum(es)
}

// powerFor is the constant power, whole W rounded down, that moves e mWh
// in d.
func powerFor(e int64, d time.Duration) int64 {
	if e <= 0 {
		return 0
	}
	return e * 36 / (10 * int64(d/time.Second))
}

func batteryCapacity(st DeviceState, pol gridmint.FlexPolicy, dir gridmint.Direction, start, end time.Time) (int64, gridmint.FlexReason) {
	d, l := st.Device, st.Device.Limits
	if d.Capacity <= 0 || !st.HasSoC {
		return 0, gridmint.FlexUnknownLimits
	}
	lo, hi, planned := planPower(st, start, end)
	win := end.Sub(start)
	if dir == gridmint.DirectionDown {
		pmax := minPositive(float64(l.MaxDischarge), float64(l.ExportLimit), float64(d.Nameplate))
		if pmax == 0 {
			return 0, gridmint.FlexUnknownLimits
		}
		floor := max(pol.ReserveSoC, l.SoCFloor)
		// Energy above the floor, mWh: %/100 × Wh × 1000. The explicit
		// conversion keeps the product from being fused, so every
		// architecture rounds alike.
		above := int64(math.Floor(float64((st.SoC-floor)*float64(d.Capacity)) * 10))
		if above <= 0 {
			return 0, gridmint.FlexAtReserve
		}
		// Discharge = P − plan: P ≤ pmax + lowest planned consumption;
		// Σ(P − plan) ≤ above.
		p := min(int64(pmax)+lo, powerFor(above+planned, win))
		return p, ""
	}
	pmax := minPositive(float64(l.MaxCharge), float64(d.Nameplate))
	if pmax == 0 {
		return 0, gridmint.FlexUnknownLimits
	}
	top := pol.MaxSoC
	if top == 0 {
		top = 100
	}
	room := int64(math.Floor(float64((top-st.SoC)*float64(d.Capacity)) * 10))
	if room <= 0 {
		return 0, gridmint.FlexAtReserve
	}
	// Charge = plan + P: P ≤ pmax − highest planned consumption;
	// Σ(plan + P) ≤ room.
	p := min(int64(pmax)-hi, powerFor(room-planned, win))
	return p, ""
}

func evCapacity(st DeviceState, pol gridmint.FlexPolicy, dir gridmint.Direction, start, end, now time.Time) (int64, gridmint.FlexReason) {
	d, l := st.Device, st.Device.Limits
	if !st.CarConnected || pol.Departure.IsZero() || pol.Departure.Before(end) {
		return 0, gridmint.FlexNoCar
	}
	volts, phases := st.Voltage, float64(st.Phases)
	if volts <= 0 {
		volts = defaultVoltage
	}
	if phases <= 0 {
		phases = 1
	}
	perAmp := volts * phases
	pmax := int64(minPositive(float64(d.Nameplate), float64(l.MaxCurrent*perAmp)))
	if pmax == 0 {
		return 0, gridmint.FlexUnknownLimits
	}
	pmin := int64(math.Ceil(float64(l.MinCurrent * perAmp)))
	need := int64(pol.EnergyNeeded.MWh())
	if need <= 0 {
		return 0, gridmint.FlexAtReserve // the car is full
	}
	win := end.Sub(start)
	lo, hi, planned := planPower(st, start, end)
	if st.Plan == nil {
		// Default plan: full power from now until the car has enough.
		full := now.Add(time.Duration(need * 36 / (10 * pmax) * int64(time.Second)))
		if !full.Before(end) {
			lo, hi, planned = pmax, pmax, int64(gridmint.EnergyAt(gridmint.W(pmax), win))
		} else {
			lo = 0
			if full.After(start) {
				hi = pmax
			}
		}
	}
	if dir == gridmint.DirectionDown {
		// Defer P in every step: P ≤ lo. The car must still get `need`
		// by departure at full power outside the cut:
		// pmax·(departure − now) − P·win ≥ need.
		reach := int64(gridmint.EnergyAt(gridmint.W(pmax), pol.Departure.Sub(now)))
		p := min(lo, powerFor(reach-need, win))
		if rest := lo - p; rest > 0 && rest < pmin {
			p = lo - pmin // what stays on must be able to charge
		}
		return p, ""
	}
	// Up: more power, within pmax, and no more energy than the car still
	// needs after what is planned before and in the window.
	before := int64(st.PlannedBefore)
	if st.Plan == nil {
		before = min(need, int64(gridmint.EnergyAt(gridmint.W(pmax), start.Sub(now))))
	}
	p := min(pmax-hi, powerFor(need-before-planned, win))
	if p > 0 && lo+p < pmin {
		return 0, "" // the car would be asked to charge below its minimum
	}
	return p, ""
}

func pvCapacity(st DeviceState, dir gridmint.Direction, start, end time.Time) (int64, gridmint.FlexReason) {
	if dir == gridmint.DirectionDown {
		return 0, gridmint.FlexNotFlexible
	}
	if st.Plan == nil {
		return 0, gridmint.FlexNoForecast
	}
	_, hi, _ := planPower(st, start, end)
	// Production is −consumption; the lowest production is −hi.
	p := -hi
	if p <= 0 {
		return 0, gridmint.FlexNoForecast
	}
	if np := int64(st.Device.Nameplate); np > 0 {
		p = min(p, np)
	}
	return p, ""
}

// CheckOffer is the home node's check of its own offer before signing,
// and anyone's who knows the device: the offer must be valid, not from an
// opted-out device, at or above the homeowner's minimum price, and within
// the capacity computed for its device, direction and window.
func CheckOffer(o gridmint.Offer, c Capacity, pol gridmint.FlexPolicy) error {
	if err := o.Validate(); err != nil {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "%v", err)
	}
	switch {
	case pol.OptOut || c.Reason == gridmint.FlexOptOut:
		return reasonf(gridmint.FlexOptOut, gridmint.EConflict, "offer for %s: the homeowner opted out", o.Device)
	case c.Device != o.Device || c.Direction != o.Direction || !c.Start.Equal(o.WindowStart) || !c.End.Equal(o.WindowEnd):
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "offer for %s %s [%v, %v): capacity computed for %s %s [%v, %v)",
			o.Device, o.Direction, o.WindowStart, o.WindowEnd, c.Device, c.Direction, c.Start, c.End)
	case o.FloorPrice < pol.MinPrice:
		return reasonf(gridmint.FlexBelowMinPrice, gridmint.EInvalid, "offer for %s at %d µFLEX/kWh, below the homeowner's minimum %d", o.Device, o.FloorPrice, pol.MinPrice)
	case o.Power > c.Power:
		return reasonf(gridmint.FlexOverCapacity, gridmint.EInvalid, "offer for %s of %v W, more than the %v W it can offer (%s)", o.Device, o.Power, c.Power, c.Reason)
	}
	return nil
}

// DefaultBaseline is the method an offer of this kind names unless the
// homeowner chooses: the device's own schedule for the devices the node
// controls, meter-before/after for PV curtailment (a signed forecast would
// pay for clouds).
func DefaultBaseline(k gridmint.DeviceKind) gridmint.BaselineMethod {
	if k == gridmint.KindPVInverter {
		return gridmint.BaselineMeterBeforeAfter
	}
	return gridmint.BaselineSchedule
}
