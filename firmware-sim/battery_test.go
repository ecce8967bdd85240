package firmwaresim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// TestBatteriesStayWithinTheirLimits is a property test over every battery
// the simulator has (batteries exist only behind a Victron GX, in single
// houses and in fleets): for many seeds, fleets of homes with random
// battery sizes, power limits, efficiencies and SoC floors are driven by
// random ESS setpoints (within, beyond and far beyond the limits),
// self-consumption and step lengths of seconds to hours. What each GX
// publishes, which is what a node reads, must stay within the limits the
// fleet tells a node to configure for the battery (FleetDevice.Limits):
// the battery's power (Dc/0/Power, + charging) within [−max discharge,
// max charge], the Multi's AC power likewise, and the SoC within [floor,
// ceiling]. It caught the battery giving 3,162 W against a 3,000 W limit:
// the limits bound the AC side only, and the battery gives the AC power
// plus the losses (3000/√0.9).
func TestBatteriesStayWithinTheirLimits(t *testing.T) {
	const seeds, homes = 10, 6
	// Published powers carry one decimal: rounding may add 0.05 W.
	const slack = 0.05
	var atDischarge, atCharge int // steps at a power limit: the property was put to the test
	for seed := range uint64(seeds) {
		t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed*797%8760) * time.Hour)
		f, clk := newTestFleet(t, t0, homes, func(c *FleetConfig) {
			c.Seed = 100 + seed
			c.Specs = nil
			c.Mix = Mix{OpenDTU: 1, Battery: 1}
			c.Sizes.InverterW = Range{2000, 8000} // surpluses to charge from
			c.Sizes.BatteryKWh = Range{0.3, 20}
			c.Sizes.BatteryW = Range{200, 12_000}
			c.Sizes.BatteryEff = Range{0.5, 1}
			c.Sizes.MinSoCPct = Range{0, 60}
		})
		type limits struct{ maxC, maxD, floor float64 }
		byPortal := map[string]limits{}
		for _, d := range f.Devices() {
			if d.Kind == gridmint.KindBattery {
				byPortal[d.Adapter.PortalID] = limits{float64(d.Limits.MaxCharge), float64(d.Limits.MaxDischarge), d.Limits.SoCFloor}
			}
		}
		if len(byPortal) != homes {
			t.Fatalf("seed %d: %d batteries, want %d", seed, len(byPortal), homes)
		}
		r := deviceRand(seed, "battery-limits-test")
		now := t0
		clk.Set(now)
		for step := range 400 {
			var msgs []Message
			if step%5 == 0 {
				msgs = keepAliveAll(f, "")
			}
			msgs = append(msgs, f.Step(now)...)
			for _, s := range f.Homes() {
				gx := s.gxs[0]
				lim, ok := byPortal[gx.portal]
				if !ok {
					t.Fatalf("seed %d: GX %s is not among the fleet's devices", seed, gx.portal)
				}
				where := func() string {
					b := gx.bat
					return fmt.Sprintf("seed %d step %d %v %s (limits +%.1f/−%.1f W, η %.3f, setpoint %v)",
						seed, step, now, gx.portal, lim.maxC, lim.maxD, b.oneWay*b.oneWay, setpointText(b.setpoint))
				}
				if p, ok := lastPayload(msgs, "N/"+gx.portal+"/"+gx.paths.batW); ok {
					w := dbusNumber(t, p)
					if w > lim.maxC+slack || w < -lim.maxD-slack {
						t.Fatalf("%s: the battery reports %v W (Dc/0/Power), outside [−%v, %v]", where(), w, lim.maxD, lim.maxC)
					}
					switch {
					case w <= -lim.maxD+1:
						atDischarge++
					case w >= lim.maxC*gx.bat.oneWay-1:
						atCharge++
					}
				}
				if p, ok := lastPayload(msgs, "N/"+gx.portal+"/"+gx.paths.vebusP); ok {
					if w := dbusNumber(t, p); w > lim.maxC+slack || w < -lim.maxD-slack {
						t.Fatalf("%s: the Multi reports %v W AC, outside [−%v, %v]", where(), w, lim.maxD, lim.maxC)
					}
				}
				if p, ok := lastPayload(msgs, "N/"+gx.portal+"/"+gx.paths.batSoC); ok {
					// The floor a node gets is rounded to whole %.
					if soc := dbusNumber(t, p); soc < math.Floor(lim.floor)-0.5-slack || soc > 100+slack {
						t.Fatalf("%s: published SoC %v %%, outside [%v, 100]", where(), soc, lim.floor)
					}
				}
				if b := gx.bat; b.energyWh < b.minWh-1e-9 || b.energyWh > b.maxWh+1e-9 {
					t.Fatalf("%s: stored %v Wh outside [%v, %v]", where(), b.energyWh, b.minWh, b.maxWh)
				}
				if r.IntN(8) == 0 {
					var payload string
					switch r.IntN(5) {
					case 0:
						payload = `{"value":null}`
					case 1:
						payload = `{"value":-40000}` // far beyond: the int16 register clamps, then the limits
					case 2:
						payload = fmt.Sprintf(`{"value":%d}`, -int(lim.maxD)) // exactly the AC discharge limit
					default:
						payload = fmt.Sprintf(`{"value":%d}`, r.IntN(2*int(lim.maxC+lim.maxD)+1)-int(lim.maxD+lim.maxC))
					}
					s.command(gx, "W/"+gx.portal+"/"+gx.paths.setpoint, []byte(payload), false)
				}
			}
			dt := time.Duration(1+r.IntN(30)) * time.Second
			if r.IntN(20) == 0 {
				dt = time.Duration(r.IntN(4*3600)) * time.Second
			}
			now = now.Add(dt)
			clk.Set(now)
		}
	}
	if atDischarge == 0 || atCharge == 0 {
		t.Fatalf("the batteries reached their discharge limit %d times and their charge limit %d times: the test tested nothing", atDischarge, atCharge)
	}
}

func setpointText(p *float64) string {
	if p == nil {
		return "self-consumption"
	}
	return fmt.Sprintf("%v W", *p)
}
