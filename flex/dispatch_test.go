package flex

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

func stepsString(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		r := ""
		if s.Restore {
			r = " (restore)"
		}
		fmt.Fprintf(&b, "%s %s=%v%s; ", s.At.Format("15:04"), s.Setpoint.Kind, s.Setpoint.Value, r)
	}
	return b.String()
}

func pvDevice() gridmint.Device {
	return gridmint.Device{ID: dev(3), Kind: gridmint.KindPVInverter, Nameplate: 2500, Capabilities: []gridmint.Capability{gridmint.CapPowerLimit}}
}

func TestPlanDispatch(t *testing.T) {
	bat, ev, pv := battery().Device, charger().Device, pvDevice()
	mk := func(d gridmint.Device, dir gridmint.Direction, watts gridmint.W) gridmint.Award {
		a := award(0, dir, watts, "")
		a.Device, a.Meter = d.ID, d.ID
		a.WindowEnd = a.WindowStart.Add(time.Hour)
		return a
	}
	tests := []struct {
		name   string
		in     DispatchInput
		want   string
		reason gridmint.FlexReason
	}{
		{"battery down", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 4000), Device: bat},
			"17:00 battery_power=4000; 18:00 battery_power=0 (restore); ", ""},
		{"battery up", DispatchInput{Award: mk(bat, gridmint.DirectionUp, 3000), Device: bat},
			"17:00 battery_power=-3000; 18:00 battery_power=0 (restore); ", ""},
		{"battery down from a charging plan", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 5000), Device: bat, PlanPower: 2000},
			"17:00 battery_power=3000; 18:00 battery_power=0 (restore); ", ""},
		{"battery above its export limit is not clamped", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 4500), Device: bat},
			"", gridmint.FlexSafetyLimit},
		{"battery with its own resume", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 1000), Device: bat,
			Resume: []gridmint.Setpoint{{Device: bat.ID, Kind: gridmint.SetpointBatteryPower, Value: -500}}},
			"17:00 battery_power=1000; 18:00 battery_power=-500 (restore); ", ""},
		{"EV stops", DispatchInput{Award: mk(ev, gridmint.DirectionDown, 11_000), Device: ev, PlanPower: 11_000, Phases: 3},
			"17:00 charge_enable=0; 18:00 charge_current=16 (restore); 18:00 charge_enable=1 (restore); ", ""},
		// 7 kW left on 3 phases: 10.1 A → 10 A (rounded down: more reduction).
		{"EV reduces", DispatchInput{Award: mk(ev, gridmint.DirectionDown, 4000), Device: ev, PlanPower: 11_000, Phases: 3},
			"17:00 charge_current=10; 18:00 charge_current=16 (restore); 18:00 charge_enable=1 (restore); ", ""},
		// 3 kW left is 4.3 A, below the 6 A minimum: stop instead.
		{"EV below minimum stops", DispatchInput{Award: mk(ev, gridmint.DirectionDown, 8000), Device: ev, PlanPower: 11_000, Phases: 3},
			"17:00 charge_enable=0; 18:00 charge_current=16 (restore); 18:00 charge_enable=1 (restore); ", ""},
		// 6 kW: 8.7 A → 9 A (rounded up: at least the award).
		{"EV charges earlier", DispatchInput{Award: mk(ev, gridmint.DirectionUp, 6000), Device: ev, Phases: 3},
			"17:00 charge_current=9; 17:00 charge_enable=1; 18:00 charge_current=16 (restore); 18:00 charge_enable=1 (restore); ", ""},
		{"EV at full power stays within 16 A", DispatchInput{Award: mk(ev, gridmint.DirectionUp, 11_000), Device: ev, Phases: 3},
			"17:00 charge_current=16; 17:00 charge_enable=1; 18:00 charge_current=16 (restore); 18:00 charge_enable=1 (restore); ", ""},
		{"EV beyond its maximum", DispatchInput{Award: mk(ev, gridmint.DirectionUp, 11_500), Device: ev, Phases: 3}, "", gridmint.FlexSafetyLimit},
		{"PV curtails", DispatchInput{Award: mk(pv, gridmint.DirectionUp, 1000), Device: pv, PlanPower: -3000},
			"17:00 power_limit=2000; 18:00 power_limit=2500 (restore); ", ""},
		{"PV cannot produce more", DispatchInput{Award: mk(pv, gridmint.DirectionDown, 1000), Device: pv, PlanPower: -3000}, "", gridmint.FlexNotFlexible},
		{"opted-out device", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 1000), Device: func() gridmint.Device { d := bat; d.OptOut = true; return d }()}, "", gridmint.FlexOptOut},
		{"opt-out during the window", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 1000), Device: bat, Exemptions: []gridmint.FlexExemption{{
			Device: bat.ID, Reason: gridmint.FlexOptOut, DeclaredAt: mvStart.Add(-time.Hour), Start: mvStart.Add(30 * time.Minute), End: mvStart.Add(2 * time.Hour)}}}, "", gridmint.FlexOptOut},
		{"grid limit", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 1000), Device: bat, Exemptions: []gridmint.FlexExemption{{
			Device: bat.ID, Reason: gridmint.FlexGridLimit, Start: mvStart, End: mvStart.Add(time.Hour)}}}, "", gridmint.FlexGridLimit},
		{"no control capability", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 1000), Device: func() gridmint.Device { d := bat; d.Capabilities = nil; return d }()}, "", gridmint.FlexSafetyLimit},
		{"facts for another device", DispatchInput{Award: mk(bat, gridmint.DirectionDown, 1000), Device: ev}, "", gridmint.FlexUnknownDevice},
	}
	for _, tt := range tests {
		d := PlanDispatch(tt.in)
		if got := stepsString(d.Steps); got != tt.want || d.Reason != tt.reason {
			t.Errorf("%s:\n got  %q (%s: %s)\n want %q (%s)", tt.name, got, d.Reason, d.Detail, tt.want, tt.reason)
		}
		for _, s := range d.Steps {
			if s.Setpoint.Origin != gridmint.OriginMarket || s.Setpoint.Device != tt.in.Award.Device || s.OfferID != tt.in.Award.OfferID {
				t.Errorf("%s: step %+v", tt.name, s)
			}
		}
	}
}

func TestScheduleBackToBack(t *testing.T) {
	bat := battery().Device
	a1 := award(0, gridmint.DirectionDown, 4000, "")
	a1.Device, a1.Meter, a1.WindowEnd = bat.ID, bat.ID, mvStart.Add(time.Hour)
	a2 := a1
	a2.OfferID, a2.WindowStart, a2.WindowEnd = oid(5), mvStart.Add(time.Hour), mvStart.Add(2*time.Hour)
	a2.Power = 2000
	steps := Schedule([]Dispatch{PlanDispatch(DispatchInput{Award: a2, Device: bat}), PlanDispatch(DispatchInput{Award: a1, Device: bat})})
	want := "17:00 battery_power=4000; 18:00 battery_power=2000; 19:00 battery_power=0 (restore); "
	if got := stepsString(steps); got != want {
		t.Errorf("back to back:\n got  %q\n want %q", got, want)
	}
}
