package firmwaresim

import (
	"math/rand/v2"
	"time"
)

// The house: one Sim is one house with one three-phase grid connection.
// Every grid meter of the Sim (each Shelly Pro 3EM, each Victron GX's
// grid meter) measures that connection, and every Victron battery does
// self-consumption against it. Per phase L1..L3, import positive:
//
//	grid = house load (Config.HouseProfile, BDEW H25 or the Ausgrid
//	       household, at profile time + HouseShift, scaled to
//	       Config.HouseAnnualKWh, split 40/35/25 % over L1/L2/L3, ±5 %
//	       noise)
//	     + every plug's load (Tasmota channels, Shelly plugs; on L1)
//	     + every go-eCharger's power (its phases)
//	     − every inverter's AC output (OpenDTU and AhoyDTU; on L1; the
//	       true output, whatever a dishonest inverter reports)
//	     + every Victron battery's AC power (+ charging; on L1, Hub4/L1)
//
// It is the same power the devices themselves report in the same step, so
// a setpoint that changes a device's power changes the meters by as much.
// HouseAnnualKWh is the rest of the house: the plugs' appliances are not
// in it, so switching a plug off lowers the import.
//
// A battery without an ESS setpoint regulates the grid towards 0 W from
// the previous step's balance of everything but the batteries (a GX reads
// its meter, then commands the Multi): it charges from a PV surplus and
// discharges to cover the load, and the meters show the small error of
// the one-step lag. Several batteries share the work in config order,
// each covering what the earlier ones left.

// houseShares splits the house's own load over L1, L2, L3.
var houseShares = [3]float64{0.40, 0.35, 0.25}

// house is the grid balance of the Sim's house.
type house struct {
	annualKWh float64
	rng       *rand.Rand

	loadW    float64    // the house's own load of the last step, W
	gridW    [3]float64 // grid power per phase of the last step, W, + import
	prevNet  float64    // the previous step's grid balance without batteries, W
	havePrev bool
}

func newHouse(annualKWh float64, seed uint64) *house {
	return &house{annualKWh: annualKWh, rng: deviceRand(seed, "house")}
}

// advanceHouse computes the house balance of the step at now from the
// powers the other devices computed for it, runs the batteries and
// integrates the grid meters. Called with s.mu held, after every other
// device's advance.
func (s *Sim) advanceHouse(now, pt time.Time) {
	h := s.house
	lt := pt.Add(s.cfg.HouseShift)
	base := 0.0
	if s.household != nil {
		base = s.household.Power(lt, h.annualKWh)
	} else {
		base = s.loadProfile.Power(lt, h.annualKWh)
	}
	h.loadW = base * (1 + 0.05*clamp(h.rng.NormFloat64(), -3, 3))
	var ph [3]float64
	for i := range ph {
		ph[i] = h.loadW * houseShares[i]
	}
	for _, p := range s.plugs {
		for _, ch := range p.channels {
			ph[0] += ch.powerW
		}
	}
	for _, p := range s.shellyPlugs {
		ph[0] += p.powerW
	}
	for _, g := range s.goes {
		for i := range ph {
			ph[i] += g.phaseW[i]
		}
	}
	// What the inverters really feed in, not what a dishonest one says.
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			ph[0] -= inv.trueACW
		}
	}
	for _, a := range s.ahoys {
		for _, inv := range a.inverters {
			ph[0] -= inv.trueACW
		}
	}
	net := ph[0] + ph[1] + ph[2]
	prev := net
	if h.havePrev {
		prev = h.prevNet
	}
	h.prevNet, h.havePrev = net, true
	covered := 0.0
	for _, gx := range s.gxs {
		ac := gx.bat.advance(now, -(prev + covered))
		ph[0] += ac
		covered += ac
	}
	h.gridW = ph
	for _, m := range s.shellyMeters {
		m.advance(now, ph)
	}
	for _, gx := range s.gxs {
		gx.grid.advance(now, ph)
	}
}

// gridMeter integrates a grid connection's power into import and export
// counters, per phase and net over the phases.
type gridMeter struct {
	// Kept in State.
	importWh, exportWh [3]float64 // per phase, Wh
	netImportWh        float64    // ∫ max(total, 0), Wh
	netExportWh        float64    // ∫ max(−total, 0), Wh

	phaseW   [3]float64 // last step, W, + import
	lastStep time.Time
}

func (g *gridMeter) advance(now time.Time, phaseW [3]float64) {
	dt := hoursSince(g.lastStep, now)
	if now.After(g.lastStep) {
		g.lastStep = now
	}
	g.phaseW = phaseW
	for i, w := range phaseW {
		if w > 0 {
			g.importWh[i] += w * dt
		} else {
			g.exportWh[i] -= w * dt
		}
	}
	if t := g.totalW(); t > 0 {
		g.netImportWh += t * dt
	} else {
		g.netExportWh -= t * dt
	}
}

func (g *gridMeter) totalW() float64 { return g.phaseW[0] + g.phaseW[1] + g.phaseW[2] }
