package flex

import (
	"bytes"
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// Tolerance is the performance, parts per million, at or above which a
// delivery is complete: no under_delivered reason and no slash. Below it
// the award is under-delivered; delivered energy is paid either way.
const Tolerance = 900_000

// Evidence is one award with its baseline.
type Evidence struct {
	Award gridmint.Award
	// Baseline is the award's baseline at its meter of record, from the
	// method the award names (MethodFor(Award.Baseline)); nil when it
	// could not be computed, with BaselineErr saying why.
	Baseline    *Baseline
	BaselineErr error
}

// Span is a device and a time span, e.g. when it was offline.
type Span struct {
	Device     gridmint.DeviceID
	Start, End time.Time
}

// VerifyInput is everything measurement and verification looks at. Every
// peer builds it from the same gossiped signed intervals and computes the
// same records.
type VerifyInput struct {
	Evidence []Evidence
	// Metered is each meter of record's consumption (see Series), covering
	// the windows of the awards measured at it.
	Metered map[gridmint.DeviceID]Series
	// Exemptions excuse shortfalls (opt-out declared before the window,
	// grid operator limits).
	Exemptions []gridmint.FlexExemption
	// Offline lists when devices were offline; an offline device's
	// shortfall is not excused.
	Offline []Span
}

// Verify measures every award and returns one delivery record per award,
// sorted by request ID then offer ID.
//
// Rules:
//   - In each step of the window, delivered = baseline − metered for a
//     down award, metered − baseline for an up award, never negative and
//     capped at the award's energy in the step (EnergyAt(power, step)).
//     Awarded is the sum of those caps; without any usable series at the
//     meter (a provider offline for the whole window), the award's
//     energy over the window, EnergyAt(power, window): delivered 0, so
//     the whole award is short and slashable.
//   - The meter is the award's meter of record. Awards measured at one
//     shared meter (a site's grid meter) in the same step and direction
//     share its delivery: the meter's delivery is computed against the
//     lowest of their baselines (down; the highest, up), then split pro
//     rata to the awards' power, each share rounded down and capped. So a
//     battery discharging while the house draws more is no delivery at
//     the grid, and two devices behind one meter cannot both be paid for
//     one reduction.
//   - A step without meter data delivers nothing (no_data).
//   - Reason, in this order of precedence: opt_out (an opt-out exemption
//     declared before the window start) or grid_limit (a grid limit
//     declared before the window end), both overlapping the window and
//     excused; offline (not excused); the baseline's failure
//     (insufficient_history, no_data, schedule_late, invalid); no_data;
//     under_delivered (performance below Tolerance); else none.
func Verify(in VerifyInput) []gridmint.DeliveryRecord {
	ev := slices.Clone(in.Evidence)
	slices.SortFunc(ev, func(a, b Evidence) int { return compareAward(a.Award, b.Award) })
	recs := make([]gridmint.DeliveryRecord, len(ev))
	noData := make([]bool, len(ev))
	byMeter := map[gridmint.DeviceID][]int{}
	for i, e := range ev {
		a := e.Award
		recs[i] = gridmint.DeliveryRecord{
			RequestID: a.RequestID, OfferID: a.OfferID, Provider: a.Provider, Device: a.Device, Meter: a.Meter,
			Direction: a.Direction, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd, Price: a.Price,
		}
		if m, err := MethodFor(a.Baseline); err == nil {
			recs[i].Baseline = m.Version()
		}
		// What was awarded does not depend on the meter: a provider whose
		// meter sent nothing at all owes the whole award (measureMeter
		// sets it per step when there is a series).
		recs[i].Awarded = gridmint.EnergyAt(a.Power, a.WindowEnd.Sub(a.WindowStart))
		byMeter[a.Meter] = append(byMeter[a.Meter], i)
	}
	for meter, idx := range byMeter {
		s, ok := in.Metered[meter]
		if !ok || s.Validate() != nil {
			for _, i := range idx {
				noData[i] = true
			}
			continue
		}
		measureMeter(s, ev, idx, recs, noData)
	}
	for i := range recs {
		recs[i].Reason = reasonFor(in, ev[i], recs[i], noData[i])
	}
	return recs
}

func compareAward(a, b gridmint.Award) int {
	if c := bytes.Compare(a.RequestID[:], b.RequestID[:]); c != 0 {
		return c
	}
	return bytes.Compare(a.OfferID[:], b.OfferID[:])
}

type slotRef struct {
	award int // index into ev
	step  int // step of the award's window
}

// measureMeter fills the records of the awards measured at one meter.
func measureMeter(s Series, ev []Evidence, idx []int, recs []gridmint.DeliveryRecord, noData []bool) {
	step := s.Step
	slots := map[int64][]slotRef{} // by step start, Unix ns
	var times []int64
	for _, i := range idx {
		a := ev[i].Award
		n := a.WindowEnd.Sub(a.WindowStart)
		recs[i].StepSeconds = int64(step / time.Second)
		if n <= 0 || n%step != 0 || a.WindowStart.Sub(s.Start)%step != 0 || !wholeWatts(a.Power) || a.Power <= 0 {
			noData[i] = true
			continue
		}
		steps := int(n / step)
		recs[i].Intervals = make([]gridmint.MWh, steps)
		recs[i].Awarded = gridmint.EnergyAt(a.Power, step) * gridmint.MWh(steps)
		b := ev[i].Baseline
		if b == nil || b.Step != step || !b.Start.Equal(a.WindowStart) || len(b.Energy) != steps {
			continue // no usable baseline: nothing delivered, reason from reasonFor
		}
		for j := 0; j < steps; j++ {
			t := a.WindowStart.Add(time.Duration(j) * step).UnixNano()
			if _, seen := slots[t]; !seen {
				times = append(times, t)
			}
			slots[t] = append(slots[t], slotRef{i, j})
		}
	}
	for _, t := range times {
		k, ok := s.index(time.Unix(0, t))
		refs := slots[t]
		if !ok || k < 0 || k >= len(s.Energy) || s.Missing != nil && s.Missing[k] {
			for _, r := range refs {
				noData[r.award] = true
			}
			continue
		}
		metered := int64(s.Energy[k])
		for _, dir := range []gridmint.Direction{gridmint.DirectionDown, gridmint.DirectionUp} {
			var group []slotRef
			for _, r := range refs {
				if ev[r.award].Award.Direction == dir {
					group = append(group, r)
				}
			}
			if len(group) == 0 {
				continue
			}
			share(dir, metered, step, ev, group, recs)
		}
	}
	for _, i := range idx {
		recs[i].Delivered = gridmint.MWh(sum(recs[i].Intervals))
	}
}

// share computes one step's delivery at a meter and splits it among the
// awards active there in one direction.
func share(dir gridmint.Direction, metered int64, step time.Duration, ev []Evidence, group []slotRef, recs []gridmint.DeliveryRecord) {
	var base int64
	var power, caps int64
	for n, r := range group {
		b := int64(ev[r.award].Baseline.Energy[r.step])
		if n == 0 || dir == gridmint.DirectionDown && b < base || dir == gridmint.DirectionUp && b > base {
			base = b
		}
		power += int64(ev[r.award].Award.Power)
		caps += int64(gridmint.EnergyAt(ev[r.award].Award.Power, step))
	}
	d := base - metered
	if dir == gridmint.DirectionUp {
		d = metered - base
	}
	d = min(max(d, 0), caps)
	for _, r := range group {
		p := int64(ev[r.award].Award.Power)
		c := int64(gridmint.EnergyAt(ev[r.award].Award.Power, step))
		recs[r.award].Intervals[r.step] = gridmint.MWh(min(c, mulDiv(d, p, power)))
	}
}

func overlaps(s1, e1, s2, e2 time.Time) bool { return s1.Before(e2) && s2.Before(e1) }

func reasonFor(in VerifyInput, e Evidence, r gridmint.DeliveryRecord, noData bool) gridmint.FlexReason {
	a := e.Award
	for _, x := range in.Exemptions {
		if x.Device != a.Device || !overlaps(x.Start, x.End, a.WindowStart, a.WindowEnd) {
			continue
		}
		switch {
		case x.Reason == gridmint.FlexOptOut && x.DeclaredAt.Before(a.WindowStart):
			return gridmint.FlexOptOut
		case x.Reason == gridmint.FlexGridLimit && x.DeclaredAt.Before(a.WindowEnd):
			return gridmint.FlexGridLimit
		}
	}
	for _, o := range in.Offline {
		if o.Device == a.Device && overlaps(o.Start, o.End, a.WindowStart, a.WindowEnd) {
			return gridmint.FlexOffline
		}
	}
	if e.Baseline == nil {
		if e.BaselineErr != nil {
			return Reason(e.BaselineErr)
		}
		return gridmint.FlexNoData
	}
	if noData || e.Baseline.Step != time.Duration(r.StepSeconds)*time.Second || len(e.Baseline.Energy) != len(r.Intervals) {
		return gridmint.FlexNoData
	}
	if r.Performance() < Tolerance {
		return gridmint.FlexUnderDelivered
	}
	return ""
}

// CheckDelivery compares a delivery record a peer received with the one
// it recomputed from the same signed intervals. A record that claims more
// energy in total or in any step is inflated_delivery; any other
// difference is delivery_mismatch. Peers attest only records that pass.
func CheckDelivery(claimed, recomputed gridmint.DeliveryRecord) error {
	if claimed.RequestID != recomputed.RequestID || claimed.OfferID != recomputed.OfferID {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "delivery record for %v/%v checked against %v/%v",
			claimed.RequestID, claimed.OfferID, recomputed.RequestID, recomputed.OfferID)
	}
	if claimed.Delivered > recomputed.Delivered {
		return reasonf(gridmint.FlexInflatedDelivery, gridmint.EConflict, "delivery of offer %v: claims %v, measured %v", claimed.OfferID, claimed.Delivered, recomputed.Delivered)
	}
	for j, e := range claimed.Intervals {
		if j < len(recomputed.Intervals) && e > recomputed.Intervals[j] {
			return reasonf(gridmint.FlexInflatedDelivery, gridmint.EConflict, "delivery of offer %v: step %d claims %v, measured %v", claimed.OfferID, j, e, recomputed.Intervals[j])
		}
	}
	if !sameRecord(claimed, recomputed) {
		return reasonf(gridmint.FlexDeliveryMismatch, gridmint.EConflict, "delivery of offer %v differs from the measurement", claimed.OfferID)
	}
	return nil
}

func sameRecord(a, b gridmint.DeliveryRecord) bool {
	return a.Provider == b.Provider && a.Device == b.Device && a.Meter == b.Meter && a.Direction == b.Direction &&
		a.WindowStart.Equal(b.WindowStart) && a.WindowEnd.Equal(b.WindowEnd) && a.StepSeconds == b.StepSeconds &&
		a.Baseline == b.Baseline && a.Awarded == b.Awarded && a.Delivered == b.Delivered &&
		slices.Equal(a.Intervals, b.Intervals) && a.Price == b.Price && a.Reason == b.Reason
}
