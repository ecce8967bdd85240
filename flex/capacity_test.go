package flex

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

var now = date(2026, 11, 22).Add(17 * time.Hour)

func battery() DeviceState {
	return DeviceState{
		Device: gridmint.Device{ID: dev(1), Kind: gridmint.KindBattery, Nameplate: 6000, Capacity: 10_000,
			Limits:       gridmint.SafetyLimits{SoCFloor: 10, MaxDischarge: 5000, MaxCharge: 3000, ExportLimit: 4000},
			Capabilities: []gridmint.Capability{gridmint.CapBatteryCtl}},
		Online: true, SoC: 60, HasSoC: true,
	}
}

func charger() DeviceState {
	return DeviceState{
		Device: gridmint.Device{ID: dev(2), Kind: gridmint.KindEVCharger, Nameplate: 11_000,
			Limits:       gridmint.SafetyLimits{MinCurrent: 6, MaxCurrent: 16},
			Capabilities: []gridmint.Capability{gridmint.CapCurrentCtl}},
		Online: true, CarConnected: true, Phases: 3,
	}
}

func TestBatteryCapacity(t *testing.T) {
	pol := gridmint.FlexPolicy{ReserveSoC: 20, MaxSoC: 90}
	at := now.Add(time.Hour)
	tests := []struct {
		name   string
		edit   func(*DeviceState, *gridmint.FlexPolicy)
		dir    gridmint.Direction
		window time.Duration
		derate int64
		want   gridmint.W
		reason gridmint.FlexReason
	}{
		// 40 % of 10 kWh above the reserve; the export limit (4 kW) is the tightest power limit.
		{"down 1 h: energy and export limit agree", nil, gridmint.DirectionDown, time.Hour, ppm, 4000, ""},
		{"down 30 min: power limited", nil, gridmint.DirectionDown, 30 * time.Minute, ppm, 4000, ""},
		{"down 2 h: energy limited", nil, gridmint.DirectionDown, 2 * time.Hour, ppm, 2000, ""},
		{"down: device floor above the policy's reserve", func(s *DeviceState, p *gridmint.FlexPolicy) { s.Device.Limits.SoCFloor = 40 }, gridmint.DirectionDown, 2 * time.Hour, ppm, 1000, ""},
		{"down at reserve", func(s *DeviceState, _ *gridmint.FlexPolicy) { s.SoC = 20 }, gridmint.DirectionDown, time.Hour, ppm, 0, gridmint.FlexAtReserve},
		// 30 % of 10 kWh below MaxSoC 90; MaxCharge 3 kW.
		{"up 1 h", nil, gridmint.DirectionUp, time.Hour, ppm, 3000, ""},
		{"up 2 h: energy limited", nil, gridmint.DirectionUp, 2 * time.Hour, ppm, 1500, ""},
		{"up when full", func(s *DeviceState, _ *gridmint.FlexPolicy) { s.SoC = 90 }, gridmint.DirectionUp, time.Hour, ppm, 0, gridmint.FlexAtReserve},
		{"derated by half", nil, gridmint.DirectionDown, time.Hour, ppm / 2, 2000, ""},
		{"unknown SoC", func(s *DeviceState, _ *gridmint.FlexPolicy) { s.HasSoC = false }, gridmint.DirectionDown, time.Hour, ppm, 0, gridmint.FlexUnknownLimits},
		{"no power limit known", func(s *DeviceState, _ *gridmint.FlexPolicy) {
			s.Device.Nameplate, s.Device.Limits = 0, gridmint.SafetyLimits{}
		}, gridmint.DirectionDown, time.Hour, ppm, 0, gridmint.FlexUnknownLimits},
		{"policy opt-out", func(_ *DeviceState, p *gridmint.FlexPolicy) { p.OptOut = true }, gridmint.DirectionDown, time.Hour, ppm, 0, gridmint.FlexOptOut},
		{"device opt-out", func(s *DeviceState, _ *gridmint.FlexPolicy) { s.Device.OptOut = true }, gridmint.DirectionDown, time.Hour, ppm, 0, gridmint.FlexOptOut},
		{"offline", func(s *DeviceState, _ *gridmint.FlexPolicy) { s.Online = false }, gridmint.DirectionDown, time.Hour, ppm, 0, gridmint.FlexOffline},
		{"plan charging 2 kW: discharge headroom grows", func(s *DeviceState, _ *gridmint.FlexPolicy) {
			p := stepped(at, at.Add(time.Hour), 15*time.Minute, func(time.Time) gridmint.MWh { return 500_000 })
			s.Plan = &p
		}, gridmint.DirectionDown, time.Hour, ppm, 6000, ""},
	}
	for _, tt := range tests {
		st, p := battery(), pol
		if tt.edit != nil {
			tt.edit(&st, &p)
		}
		c := OfferableCapacity(st, p, tt.dir, at, at.Add(tt.window), now, tt.derate)
		if c.Power != tt.want || c.Reason != tt.reason {
			t.Errorf("%s: %v W (%q), want %v W (%q)", tt.name, c.Power, c.Reason, tt.want, tt.reason)
		}
	}
}

func TestEVChargerCapacity(t *testing.T) {
	// 11 kW (16 A × 3 × 230 V = 11.04 kW, nameplate 11 kW); minimum
	// 6 A × 690 V = 4140 W.
	tests := []struct {
		name     string
		pol      gridmint.FlexPolicy
		edit     func(*DeviceState)
		dir      gridmint.Direction
		from, to time.Duration // after now
		want     gridmint.W
		wantRsn  gridmint.FlexReason
	}{
		// 20 kWh at 11 kW: full at 18:49:05 by default.
		{"defer inside the default charging", gridmint.FlexPolicy{Departure: now.Add(14 * time.Hour), EnergyNeeded: 20_000}, nil,
			gridmint.DirectionDown, time.Hour, 90 * time.Minute, 11_000, ""},
		{"window reaches past full", gridmint.FlexPolicy{Departure: now.Add(14 * time.Hour), EnergyNeeded: 20_000}, nil,
			gridmint.DirectionDown, time.Hour, 2 * time.Hour, 0, gridmint.FlexAtReserve},
		// Leaves at 19:00 with 22 kWh reachable: 2 kWh to spare → 4 kW for 30 min.
		{"departure bounds the deferral", gridmint.FlexPolicy{Departure: now.Add(2 * time.Hour), EnergyNeeded: 20_000}, nil,
			gridmint.DirectionDown, 30 * time.Minute, time.Hour, 4000, ""},
		// 4 kWh to spare → 8 kW, leaving 3 kW on: below 4140 W, so 6860 W.
		{"what stays on must reach the minimum current", gridmint.FlexPolicy{Departure: now.Add(2 * time.Hour), EnergyNeeded: 18_000}, nil,
			gridmint.DirectionDown, 30 * time.Minute, time.Hour, 6860, ""},
		{"car leaves before the window ends", gridmint.FlexPolicy{Departure: now.Add(time.Hour), EnergyNeeded: 5000}, nil,
			gridmint.DirectionDown, 30 * time.Minute, 90 * time.Minute, 0, gridmint.FlexNoCar},
		{"no car", gridmint.FlexPolicy{Departure: now.Add(5 * time.Hour), EnergyNeeded: 5000}, func(s *DeviceState) { s.CarConnected = false },
			gridmint.DirectionDown, 0, time.Hour, 0, gridmint.FlexNoCar},
		{"car full", gridmint.FlexPolicy{Departure: now.Add(5 * time.Hour)}, nil,
			gridmint.DirectionDown, 0, time.Hour, 0, gridmint.FlexAtReserve},
		{"up while charging at full power", gridmint.FlexPolicy{Departure: now.Add(14 * time.Hour), EnergyNeeded: 20_000}, nil,
			gridmint.DirectionUp, 0, time.Hour, 0, gridmint.FlexAtReserve},
		{"up against a night plan", gridmint.FlexPolicy{Departure: now.Add(14 * time.Hour), EnergyNeeded: 20_000}, func(s *DeviceState) {
			p := stepped(now.Add(time.Hour), now.Add(2*time.Hour), 15*time.Minute, func(time.Time) gridmint.MWh { return 0 })
			s.Plan = &p
		}, gridmint.DirectionUp, time.Hour, 2 * time.Hour, 11_000, ""},
		{"up limited by what the car still needs", gridmint.FlexPolicy{Departure: now.Add(14 * time.Hour), EnergyNeeded: 5000}, func(s *DeviceState) {
			p := stepped(now.Add(time.Hour), now.Add(2*time.Hour), 15*time.Minute, func(time.Time) gridmint.MWh { return 0 })
			s.Plan, s.PlannedBefore = &p, 0
		}, gridmint.DirectionUp, time.Hour, 2 * time.Hour, 5000, ""},
	}
	for _, tt := range tests {
		st := charger()
		if tt.edit != nil {
			tt.edit(&st)
		}
		c := OfferableCapacity(st, tt.pol, tt.dir, now.Add(tt.from), now.Add(tt.to), now, ppm)
		if c.Power != tt.want || c.Reason != tt.wantRsn {
			t.Errorf("%s: %v W (%q), want %v W (%q)", tt.name, c.Power, c.Reason, tt.want, tt.wantRsn)
		}
	}
}

func TestPVCapacity(t *testing.T) {
	at := now.Add(-3 * time.Hour) // 14:00
	st := DeviceState{Device: gridmint.Device{ID: dev(3), Kind: gridmint.KindPVInverter, Nameplate: 2500}, Online: true}
	plan := stepped(at, at.Add(time.Hour), 5*time.Minute, func(t time.Time) gridmint.MWh {
		if t.Minute() == 20 {
			return -166_667 // 2 kW
		}
		return -250_000 // 3 kW
	})
	if c := OfferableCapacity(st, gridmint.FlexPolicy{}, gridmint.DirectionUp, at, at.Add(time.Hour), at, ppm); c.Reason != gridmint.FlexNoForecast {
		t.Errorf("no forecast: %+v", c)
	}
	st.Plan = &plan
	if c := OfferableCapacity(st, gridmint.FlexPolicy{}, gridmint.DirectionUp, at, at.Add(time.Hour), at, ppm); c.Power != 2000 {
		t.Errorf("curtail at most the lowest expected production: %+v, want 2000 W", c)
	}
	st.Device.Nameplate = 1500
	if c := OfferableCapacity(st, gridmint.FlexPolicy{}, gridmint.DirectionUp, at, at.Add(time.Hour), at, ppm); c.Power != 1500 {
		t.Errorf("bounded by the nameplate: %+v, want 1500 W", c)
	}
	if c := OfferableCapacity(st, gridmint.FlexPolicy{}, gridmint.DirectionDown, at, at.Add(time.Hour), at, ppm); c.Reason != gridmint.FlexNotFlexible {
		t.Errorf("PV down: %+v, want not_flexible", c)
	}
}

func TestCapacityRefusesBadCalls(t *testing.T) {
	st := battery()
	for name, c := range map[string]Capacity{
		"window already started": OfferableCapacity(st, gridmint.FlexPolicy{}, gridmint.DirectionDown, now.Add(-time.Minute), now.Add(time.Hour), now, ppm),
		"sideways":               OfferableCapacity(st, gridmint.FlexPolicy{}, "sideways", now, now.Add(time.Hour), now, ppm),
		"derate above 1":         OfferableCapacity(st, gridmint.FlexPolicy{}, gridmint.DirectionDown, now, now.Add(time.Hour), now, 2*ppm),
		"bad policy":             OfferableCapacity(st, gridmint.FlexPolicy{ReserveSoC: 120}, gridmint.DirectionDown, now, now.Add(time.Hour), now, ppm),
	} {
		if c.Power != 0 || c.Reason != gridmint.FlexInvalid {
			t.Errorf("%s: %+v, want 0 W invalid", name, c)
		}
	}
	st.Device.Kind = gridmint.KindPlug
	if c := OfferableCapacity(st, gridmint.FlexPolicy{}, gridmint.DirectionDown, now, now.Add(time.Hour), now, ppm); c.Reason != gridmint.FlexNotFlexible {
		t.Errorf("plug: %+v", c)
	}
}

// TestDeratingMonotone: for random devices, more consecutive failed tests
// never raise what a device may offer, and derated capacity never exceeds
// the raw one.
func TestDeratingMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 500; i++ {
		st := battery()
		st.SoC = 100 * rng.Float64()
		st.Device.Capacity = gridmint.Wh(1 + rng.IntN(30_000))
		dir := []gridmint.Direction{gridmint.DirectionDown, gridmint.DirectionUp}[rng.IntN(2)]
		win := time.Duration(1+rng.IntN(16)) * 15 * time.Minute
		var hist []gridmint.TestResult
		prev := OfferableCapacity(st, gridmint.FlexPolicy{}, dir, now, now.Add(win), now, DerateFactor(hist, st.Device.ID)).Power
		raw := prev
		for k := 1; k <= 6; k++ {
			hist = append(hist, gridmint.TestResult{Test: gridmint.TestDispatch{Device: st.Device.ID, Start: now.Add(-time.Duration(7-k) * 8 * 24 * time.Hour)}, Outcome: gridmint.TestFailed})
			got := OfferableCapacity(st, gridmint.FlexPolicy{}, dir, now, now.Add(win), now, DerateFactor(hist, st.Device.ID)).Power
			if got > prev || got > raw {
				t.Fatalf("case %d: %d failures offer %v W, after %d failures %v W (raw %v W)", i, k, got, k-1, prev, raw)
			}
			prev = got
		}
	}
}

func TestCheckOffer(t *testing.T) {
	st := battery()
	pol := gridmint.FlexPolicy{ReserveSoC: 20, MinPrice: 100_000}
	start := now.Add(time.Hour)
	c := OfferableCapacity(st, pol, gridmint.DirectionDown, start, start.Add(time.Hour), now, ppm)
	o := gridmint.Offer{Device: st.Device.ID, Zone: "DE-LU", WindowStart: start, WindowEnd: start.Add(time.Hour), Power: c.Power,
		Direction: gridmint.DirectionDown, FloorPrice: 120_000, Baseline: DefaultBaseline(gridmint.KindBattery), Expiry: start.Add(-15 * time.Minute)}
	if err := CheckOffer(o, c, pol); err != nil {
		t.Fatalf("offer at capacity: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*gridmint.Offer, *gridmint.FlexPolicy)
		want gridmint.FlexReason
	}{
		{"over capacity", func(o *gridmint.Offer, _ *gridmint.FlexPolicy) { o.Power++ }, gridmint.FlexOverCapacity},
		{"below the minimum price", func(o *gridmint.Offer, _ *gridmint.FlexPolicy) { o.FloorPrice = 99_999 }, gridmint.FlexBelowMinPrice},
		{"opted out", func(_ *gridmint.Offer, p *gridmint.FlexPolicy) { p.OptOut = true }, gridmint.FlexOptOut},
		{"other window", func(o *gridmint.Offer, _ *gridmint.FlexPolicy) {
			o.WindowEnd = o.WindowEnd.Add(time.Hour)
		}, gridmint.FlexInvalid},
		{"invalid", func(o *gridmint.Offer, _ *gridmint.FlexPolicy) { o.Zone = "" }, gridmint.FlexInvalid},
	} {
		o2, p2 := o, pol
		tc.edit(&o2, &p2)
		if err := CheckOffer(o2, c, p2); Reason(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}
