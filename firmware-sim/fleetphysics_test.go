package firmwaresim

import (
	"math"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// TestPVScaledAndClipped: an inverter's AC power is the PVWatts profile
// scaled linearly to its nameplate (profile array, no clouds: exactly
// ACPower × nameplate / 3,333 W), and with an array whose clouds push the
// profile above the nameplate it is clipped at the nameplate, the
// inverter's AC limit: it sits exactly there for a while, never above. At
// night it is 0 whatever the array.
func TestPVScaledAndClipped(t *testing.T) {
	prof, err := DefaultPVProfile()
	if err != nil {
		t.Fatal(err)
	}
	// 22 March: the profile's brightest hour (3,333 W, where PVWatts
	// itself clips) is that day.
	day := time.Date(2025, 3, 22, 0, 0, 0, 0, time.UTC)
	mk := func(nameplate float64, array *PVArray) *Sim {
		s, _ := newSim(t, day, Config{PV: []PVConfig{{Serial: testSerial, Nameplate: gridmint.W(nameplate), Array: array}}, Seed: 2})
		return s
	}
	plain := mk(1200, nil)
	// A steep south roof under the measured clouds: in March its
	// clear-sky output is above the profile's around noon, and the clouds'
	// bright edges (cloud factor up to 1.8) push it further.
	cloudy := mk(500, &PVArray{TiltDeg: 35, AzimuthDeg: 180, Clouds: 1, CloudOffset: 200 * time.Minute})
	var scaled, clipped, lit int
	for now := day; now.Before(day.Add(24 * time.Hour)); now = now.Add(time.Minute) {
		plain.Step(now)
		cloudy.Step(now)
		want := prof.ACPower(now) * 1200 / prof.RatedACW()
		got := plain.dtus[0].inverters[0].live.acW
		if math.Abs(got-want) > 1e-9 {
			t.Fatalf("%v: %v W, want the profile's %v W × 1200/%v = %v W", now, got, prof.ACPower(now), prof.RatedACW(), want)
		}
		if want > 0 {
			scaled++
		}
		c := cloudy.dtus[0].inverters[0].live.acW
		if c > 500 {
			t.Fatalf("%v: %v W above the 500 W nameplate", now, c)
		}
		if c == 500 {
			clipped++
		}
		if prof.ACPower(now) <= 0 && (got != 0 || c != 0) {
			t.Fatalf("%v: night (profile 0 W) but %v W and %v W", now, got, c)
		}
		if c > 0 {
			lit++
		}
	}
	t.Logf("%d daylight minutes scaled, cloudy array clipped at its nameplate for %d of %d lit minutes", scaled, clipped, lit)
	if scaled < 600 {
		t.Errorf("only %d daylight minutes on 22 March", scaled)
	}
	if clipped < 5 || clipped > lit/2 {
		t.Errorf("clipped for %d of %d lit minutes: want some clipping, not a flat line", clipped, lit)
	}
}

// TestDishonestModesShare: with Dishonest 1 every inverter lies, and the
// three lies are drawn equally often; DishonestModes restricts the draw.
func TestDishonestModesShare(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 9, 0, 0, 0, time.UTC)
	count := func(fc FaultConfig) (map[Dishonesty]int, int) {
		f, _ := newTestFleet(t, t0, 600, func(c *FleetConfig) { c.Faults = fc })
		got, n := map[Dishonesty]int{}, 0
		for _, d := range f.Devices() {
			if d.Kind == gridmint.KindPVInverter {
				got[d.Dishonest]++
				n++
			}
		}
		return got, n
	}
	got, n := count(FaultConfig{Dishonest: 1})
	if got[Honest] != 0 {
		t.Errorf("%d honest inverters with Dishonest 1", got[Honest])
	}
	for _, m := range AllDishonesty {
		within(t, "lie "+string(m), float64(got[m]), 1.0/3, float64(n))
	}
	got, n = count(FaultConfig{Dishonest: 0.5, DishonestModes: []Dishonesty{DishonestCopy}})
	within(t, "copying liars", float64(got[DishonestCopy]), 0.5, float64(n))
	if got[DishonestNight]+got[DishonestOverrate] != 0 {
		t.Errorf("modes restricted to copy, got %v", got)
	}
}

// TestFleetMeterIsTheBalance: in every home of a fleet of every dialect,
// every grid meter (a Shelly Pro 3EM's total_act_power, a GX's
// grid/<n>/Ac/Power) reports, at every cycle, the balance of what the
// home's devices report: its own load (which no device publishes) plus
// the plugs and the EV charger, minus the PV, plus the battery's AC
// power (charging +), within the publishing's rounding.
func TestFleetMeterIsTheBalance(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 8, 0, 0, 0, time.UTC)
	f, clk := newTestFleet(t, t0, 8, func(c *FleetConfig) { c.PluggedAtStart = true })
	state := map[string]string{}
	val := func(topic string, read func(string) float64) (float64, bool) {
		p, ok := state[topic]
		if !ok {
			return 0, false
		}
		v := read(p)
		if math.IsNaN(v) {
			t.Fatalf("%s: %q does not parse", topic, p)
		}
		return v, true
	}
	dbus := func(p string) float64 { return jsonPath(p, "value") }
	checked := map[string]int{}
	stepFleet(f, clk, t0, 5*time.Second, 8*time.Minute, func(now time.Time, msgs []Message) {
		for _, m := range msgs {
			state[m.Topic] = m.Payload
		}
		for h, s := range f.Homes() {
			sum, n, complete := s.house.loadW, 0, true
			add := func(sign float64, topic string, read func(string) float64) {
				v, ok := val(topic, read)
				complete = complete && ok
				sum += sign * v
				n++
			}
			for _, d := range s.dtus {
				for _, inv := range d.inverters {
					add(-1, d.baseTopic+inv.serial+"/0/power", num)
				}
			}
			for _, a := range s.ahoys {
				for _, inv := range a.inverters {
					add(-1, a.topic+"/"+inv.name+"/ch0/P_AC", num)
				}
			}
			for _, p := range s.plugs {
				add(1, "tele/"+p.topic+"/SENSOR", func(x string) float64 { return jsonPath(x, "ENERGY", "Power") })
			}
			for _, p := range s.shellyPlugs {
				add(1, p.prefix+"/status/switch:0", func(x string) float64 { return jsonPath(x, "apower") })
			}
			for _, g := range s.goes {
				add(1, g.base+"nrg", func(x string) float64 { return jsonPath(x, "11") })
			}
			for _, gx := range s.gxs {
				add(1, "N/"+gx.portal+"/"+gx.paths.vebusP, dbus)
			}
			if !complete {
				continue // a device has not published yet
			}
			tol := 1 + 0.5*float64(n)
			for _, m := range s.shellyMeters {
				if v, ok := val(m.prefix+"/status/em:0", func(x string) float64 { return jsonPath(x, "total_act_power") }); ok {
					if math.Abs(v-sum) > tol {
						t.Fatalf("%v home %d: Shelly meter %v W, the devices' balance %v W", now, h+1, v, sum)
					}
					checked["shelly"]++
				}
			}
			for _, gx := range s.gxs {
				if v, ok := val("N/"+gx.portal+"/"+gx.paths.gridW, dbus); ok {
					if math.Abs(v-sum) > tol {
						t.Fatalf("%v home %d: GX grid meter %v W, the devices' balance %v W", now, h+1, v, sum)
					}
					checked["victron"]++
				}
			}
		}
	})
	if checked["shelly"] < 100 || checked["victron"] < 100 {
		t.Fatalf("too few balances checked: %v", checked)
	}
}
