package rec

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// A simulated neighbourhood of honest PV homes under a real day's clouds:
// the 1-minute global horizontal irradiance measured at NREL's Solar
// Radiation Research Laboratory in Golden on 14 October 2018 (a variable
// autumn day; testdata/midc_20181014.txt). The cloud field drifts over
// the neighbourhood, so each home sees the measured series shifted by its
// position along the wind. Each home has its own inverter size, array
// size, tilt and orientation, panel efficiency, and reading period; the
// irradiance is split into beam and diffuse with Erbs et al. (1982) and
// put on the array's plane with the isotropic sky model.

// midcSite is where the irradiance was measured.
var midcSite = gridmint.CoarseLocation{LatTenths: 397, LonTenths: -1052}

// midcDay is the measured day's start (midnight MST = 07:00 UTC).
var midcDay = time.Date(2018, 10, 14, 7, 0, 0, 0, time.UTC)

func readMIDC(t testing.TB) []float64 {
	t.Helper()
	f, err := os.Open("testdata/midc_20181014.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ghi := make([]float64, 1440)
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ",")
		hm := strings.Split(fs[1], ":")
		h, _ := strconv.Atoi(hm[0])
		m, _ := strconv.Atoi(hm[1])
		v, err := strconv.ParseFloat(fs[2], 64)
		if err != nil || h*60+m >= 1440 {
			continue
		}
		ghi[h*60+m] = math.Max(v, 0) // night-time sensor noise is negative
	}
	return ghi
}

// home is one simulated PV system.
type home struct {
	dev           gridmint.DeviceKey
	node          gridmint.Address
	nameplate     float64 // AC W
	dcac          float64
	tilt, azimuth float64 // degrees
	eff           float64 // panels and wiring, of rated
	shift         float64 // seconds the clouds reach this home after the station
	period        int     // seconds between readings
}

func randomHome(rng *rand.Rand, i int) home {
	sizes := []float64{800, 3000, 4000, 5000, 6000, 8000, 10000}
	h := home{
		dev:       gridmint.DeviceKey{byte(i >> 8), byte(i), 0x77},
		node:      gridmint.Address{byte(i >> 8), byte(i), 0x99},
		nameplate: sizes[rng.IntN(len(sizes))],
		dcac:      1 + 0.4*rng.Float64(),
		tilt:      10 + 35*rng.Float64(),
		azimuth:   100 + 160*rng.Float64(),
		eff:       0.85 + 0.12*rng.Float64(),
		shift:     -300 + 600*rng.Float64(), // a 6 km neighbourhood under a 10 m/s wind
		period:    []int{10, 30, 60, 60, 300}[rng.IntN(5)],
	}
	if h.nameplate == 800 {
		h.dcac = 2 + 0.5*rng.Float64() // balcony systems
	}
	return h
}

// sky is the day's sun and irradiance, every 10 s.
type sky struct {
	ghi []float64 // per minute
	sun []SunPosition
}

const skyStep = 10 // seconds

func newSky(ghi []float64) *sky {
	s := &sky{ghi: ghi, sun: make([]SunPosition, 86400/skyStep+1)}
	for i := range s.sun {
		s.sun[i] = Sun(midcDay.Add(time.Duration(i*skyStep)*time.Second), midcSite.Lat(), midcSite.Lon())
	}
	return s
}

// ghiAt is the measured irradiance at second sec of the day, linear
// between minutes.
func (s *sky) ghiAt(sec float64) float64 {
	m := sec / 60
	if m <= 0 {
		return s.ghi[0]
	}
	i := int(m)
	if i >= len(s.ghi)-1 {
		return s.ghi[len(s.ghi)-1]
	}
	f := m - float64(i)
	return s.ghi[i]*(1-f) + s.ghi[i+1]*f
}

// power is the home's AC power at step i of the day, W.
func (s *sky) power(h *home, i int) float64 {
	p := s.sun[i]
	cz := math.Cos(rad(90 - p.Apparent))
	if cz <= 0.01 {
		return 0
	}
	g := s.ghiAt(float64(i*skyStep) - h.shift)
	// Erbs: diffuse fraction from the clearness index.
	e0 := solarConstant / (p.Distance * p.Distance)
	kt := math.Min(g/(e0*cz), 1)
	var kd float64
	switch {
	case kt <= 0.22:
		kd = 1 - 0.09*kt
	case kt <= 0.8:
		kd = 0.9511 - 0.1604*kt + 4.388*kt*kt - 16.638*kt*kt*kt + 12.336*kt*kt*kt*kt
	default:
		kd = 0.165
	}
	dhi := kd * g
	dni := (g - dhi) / math.Max(cz, 0.087)
	b := rad(h.tilt)
	cosAOI := cz*math.Cos(b) + math.Sin(rad(90-p.Apparent))*math.Sin(b)*math.Cos(rad(p.Azimuth-h.azimuth))
	poa := dni*math.Max(cosAOI, 0) + dhi*(1+math.Cos(b))/2 + 0.2*g*(1-math.Cos(b))/2
	return math.Min(h.nameplate, h.dcac*h.nameplate*h.eff*poa/1000)
}

// readings simulates the home's meter over the day: a lifetime counter
// in whole Wh (kWh with three decimals), read every period seconds.
func (s *sky) readings(h *home, rng *rand.Rand) []gridmint.Reading {
	var out []gridmint.Reading
	energy := 1e9 + 1e6*rng.Float64() // mWh, exact
	next := rng.IntN(h.period)
	for i := range len(s.sun) - 1 {
		sec := i * skyStep
		if sec >= next {
			tm := midcDay.Add(time.Duration(sec) * time.Second).Add(time.Duration(rng.IntN(900)) * time.Millisecond)
			out = append(out, gridmint.Reading{Time: tm, Fields: gridmint.FieldEnergy | gridmint.FieldPower,
				Power: gridmint.W(s.power(h, i)), Energy: gridmint.MWh(math.Floor(energy/1000) * 1000), Quality: gridmint.QualityOK})
			next = sec + h.period
			if rng.IntN(400) == 0 {
				next += 600 + rng.IntN(3000) // a silence: Wi-Fi, broker restart
			}
		}
		energy += s.power(h, i) * skyStep / 3.6 // W × 10 s in mWh
	}
	return out
}

// claimsOf builds the home's claims for the day.
func claimsOf(t testing.TB, h *home, rs []gridmint.Reading) []gridmint.Claim {
	t.Helper()
	b := NewBuilder(BuilderState{}, 0)
	for _, r := range rs {
		if err := b.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	facts := DeviceFacts{Device: h.dev, Node: h.node, Owner: gridmint.Address{0xb0}, Zone: "US-CO",
		Technology: gridmint.TechnologySolarPV, Nameplate: gridmint.W(h.nameplate), Location: midcSite}
	var out []gridmint.Claim
	for _, iv := range b.Hours() {
		c, err := NewClaim(iv, facts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestHonestNeighbourhood runs every rule over a day of 80 honest homes
// (and two next-door twins) and two copiers, hour by hour as a node
// would: at least 99 % of the honest Wh pass, no honest home is taken for
// a copy, and both copiers and the home they copy are refused from their
// third informative matching hour.
func TestHonestNeighbourhood(t *testing.T) {
	s := newSky(readMIDC(t))
	rng := rand.New(rand.NewPCG(14, 10))
	var homes []home
	for i := range 80 {
		homes = append(homes, randomHome(rng, i))
	}
	twin := homes[0]
	twin.dev, twin.node = gridmint.DeviceKey{0xee}, gridmint.Address{0xee}
	twin.shift += 3       // next door
	twin.eff *= 1 - 0.025 // panels 2.5 % weaker
	homes = append(homes, twin)

	byHour := map[gridmint.Hour][]gridmint.Claim{}
	var victim []gridmint.Claim
	for i := range homes {
		cs := claimsOf(t, &homes[i], s.readings(&homes[i], rng))
		if i == 5 {
			victim = cs
		}
		for _, c := range cs {
			byHour[c.Hour] = append(byHour[c.Hour], c)
		}
	}
	// Copiers: one replays home 5's claims under its own key, one adds
	// 0.3 % noise and doubles the values under a doubled nameplate.
	for _, v := range victim {
		exact := v
		exact.Device, exact.Node = gridmint.DeviceKey{0xc1}, gridmint.Address{0xc1}
		noisy := v
		noisy.Device, noisy.Node = gridmint.DeviceKey{0xc2}, gridmint.Address{0xc2}
		noisy.Nameplate *= 2
		for k := range noisy.Profile {
			noisy.Profile[k] = noisy.Profile[k] * 2 * gridmint.MWh(1000+(k*37)%7-3) / 1000
		}
		noisy.CounterStart *= 2
		noisy.CarryIn = 0
		noisy.CounterEnd = noisy.CounterStart + noisy.Profile.Sum()
		noisy.Wh = gridmint.Wh(noisy.Energy() / 1000)
		byHour[v.Hour] = append(byHour[v.Hour], exact, noisy)
	}

	ck := NewChecker(DefaultRules(), 0)
	var honestWh, refusedWh gridmint.Wh
	refusedBy := map[gridmint.ClaimReason]gridmint.Wh{}
	copied := map[gridmint.DeviceKey]int{}
	flags := 0
	first := gridmint.HourOf(midcDay)
	for h := first; h < first+24; h++ {
		rep := ck.Check(byHour[h], midcDay.Add(48*time.Hour))
		for i, v := range rep.Verdicts {
			c := byHour[h][i]
			if slices.Contains(findingReasons(v), gridmint.ClaimCopiedProfile) {
				copied[c.Device]++
			}
			if slices.Contains(findingReasons(v), gridmint.ClaimCapacityOutlier) {
				flags++
			}
			if c.Device[0] == 0xc1 || c.Device[0] == 0xc2 {
				continue
			}
			honestWh += c.Wh
			if v.Refused && !slices.Contains(findingReasons(v), gridmint.ClaimCopiedProfile) {
				refusedWh += c.Wh
				for _, f := range v.Findings {
					if f.Refuse {
						refusedBy[f.Reason] += c.Wh
						t.Logf("honest claim refused: %s %s (%d Wh)", f.Reason, f.Detail, c.Wh)
					}
				}
			}
		}
	}
	share := float64(refusedWh) / float64(honestWh)
	t.Logf("%d honest Wh, %.3f %% refused %v; %d capacity-factor flags; copy findings per device %v", honestWh, 100*share, refusedBy, flags, copied)
	if share > 0.01 {
		t.Errorf("%.2f %% of honest Wh refused, want at most 1 %%", 100*share)
	}
	for d, n := range copied {
		if d != victim[0].Device && d[0] != 0xc1 && d[0] != 0xc2 {
			t.Errorf("honest device %s taken for a copy in %d hours", d, n)
		}
	}
	for _, d := range []gridmint.DeviceKey{{0xc1}, {0xc2}, victim[0].Device} {
		if copied[d] == 0 {
			t.Errorf("device %s not refused as a copy", d)
		}
	}
}
