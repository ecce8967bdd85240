package firmwaresim

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// within fails unless got is within 5 standard deviations of a binomial
// (or, with n 0, Poisson) expectation: at that tolerance a correct
// injector fails about once in 3.5 million runs, and the seeds are fixed
// anyway.
func within(t *testing.T, what string, got float64, p, n float64) {
	t.Helper()
	want, sd := p*n, math.Sqrt(p*n*(1-p))
	if n == 0 { // Poisson with mean p
		want, sd = p, math.Sqrt(p)
	}
	if math.Abs(got-want) > 5*sd+1 {
		t.Errorf("%s: %v, want %.1f ± %.1f (5 sd)", what, got, want, 5*sd+1)
	} else {
		t.Logf("%s: %v (expected %.1f ± %.1f)", what, got, want, 5*sd+1)
	}
}

// TestFaultRates runs 12 homes for 12 sim minutes at 1 Hz with every fault
// on and checks each fault's count against its rate: per-message faults
// as binomials over the messages that could be faulted, reboots and
// outages as Poisson counts over the online device-hours, skews and lies
// as binomials over the devices.
func TestFaultRates(t *testing.T) {
	fc := FaultConfig{
		Drop: 0.02, Duplicate: 0.01, Reorder: 0.015, Malformed: 0.005,
		RebootsPerHour: 12, OfflinePerHour: 8, OfflineFor: 30 * time.Second,
		Skewed: 0.3, MaxSkew: 10 * time.Minute, Dishonest: 0.3,
	}
	t0 := time.Date(2025, 6, 21, 8, 0, 0, 0, time.UTC)
	f, clk := newTestFleet(t, t0, 12, func(c *FleetConfig) {
		c.Faults = fc
		c.Speed = 1
		c.Period = time.Second
	})
	wills, dups := 0, 0
	var sent int
	stepFleet(f, clk, t0, time.Second, 12*time.Minute, func(_ time.Time, msgs []Message) {
		sent += len(msgs)
		for i, m := range msgs {
			if (strings.HasSuffix(m.Topic, "/LWT") && m.Payload == "Offline") || (strings.HasSuffix(m.Topic, "/online") && m.Payload == "false") ||
				(strings.HasSuffix(m.Topic, "dtu/status") && m.Payload == "offline") || (strings.HasSuffix(m.Topic, "/mqtt") && m.Payload == "not connected") ||
				(strings.HasSuffix(m.Topic, "/mcc") && m.Payload == "false") {
				wills++
			}
			if i > 0 && m == msgs[i-1] {
				dups++
			}
		}
	})
	st := f.Stats().Faults
	if st.Suppressed == 0 || st.Offline < 0 {
		t.Errorf("offline devices published everything: %+v", st)
	}
	n := float64(st.Messages)
	if n < 50_000 {
		t.Fatalf("only %v messages", n)
	}
	within(t, "dropped", float64(st.Dropped), fc.Drop, n)
	within(t, "duplicated", float64(st.Duplicated), fc.Duplicate, n)
	within(t, "reordered", float64(st.Reordered), fc.Reorder, n)
	within(t, "malformed", float64(st.Malformed), fc.Malformed, n)
	within(t, "reboots", float64(st.Reboots), fc.RebootsPerHour*st.OnlineHours, 0)
	within(t, "outages", float64(st.Outages), fc.OfflinePerHour*st.OnlineHours, 0)
	// What the stats count shows in the messages: every duplicate is two
	// identical messages in a row, and every device with a will announced
	// each reboot and outage with it (the GXs have none).
	if dups < int(st.Duplicated) {
		t.Errorf("%d duplicated messages counted, %d seen", st.Duplicated, dups)
	}
	if wills == 0 || wills > int(st.Reboots+st.Outages) {
		t.Errorf("%d will messages for %d reboots and %d outages", wills, st.Reboots, st.Outages)
	}
	if want := int(st.Messages) - int(st.Dropped) + int(st.Duplicated); sent < want {
		t.Errorf("%d messages sent, want at least %d", sent, want)
	}
	// Skews and lies are drawn once per device: count them over a bigger
	// fleet, which costs nothing to build.
	f, _ = newTestFleet(t, t0, 400, func(c *FleetConfig) { c.Faults = fc })
	st = f.Stats().Faults
	endpoints, inverters := 0, 0
	for _, s := range f.Homes() {
		endpoints += len(s.endpoints())
		for _, d := range s.dtus {
			inverters += len(d.inverters)
		}
		for _, a := range s.ahoys {
			inverters += len(a.inverters)
		}
	}
	within(t, "skewed devices", float64(st.Skewed), fc.Skewed, float64(endpoints))
	within(t, "dishonest inverters", float64(st.Dishonest), fc.Dishonest, float64(inverters))

}

// TestFaultEffects: each fault does what it says to the messages.
func TestFaultEffects(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	base := func(fc FaultConfig) (*Sim, *fakeClock) {
		return newSim(t, t0, Config{PV: []PVConfig{{Serial: testSerial}}, Faults: fc, Seed: 5})
	}
	t.Run("reorder", func(t *testing.T) {
		s, _ := base(FaultConfig{Reorder: 0.3})
		prev := map[string]string{}
		late := 0
		for i := range 40 {
			msgs := s.Step(t0.Add(time.Duration(i) * 5 * time.Second))
			seen := map[string]bool{}
			for _, m := range msgs {
				if seen[m.Topic] && strings.HasSuffix(m.Topic, "status/last_update") {
					late++ // a second last_update: the held one, older, after the new one
				}
				seen[m.Topic] = true
				prev[m.Topic] = m.Payload
			}
		}
		if late == 0 {
			t.Error("no reordered last_update arrived after a newer one")
		}
	})
	t.Run("malformed", func(t *testing.T) {
		s, _ := base(FaultConfig{Malformed: 1})
		twin, _ := base(FaultConfig{})
		got, want := s.Step(t0), twin.Step(t0)
		if len(got) != len(want) {
			t.Fatalf("%d messages, the honest twin sent %d", len(got), len(want))
		}
		notUTF8 := 0
		for i := range got {
			if got[i].Topic != want[i].Topic || got[i].Payload == want[i].Payload {
				t.Errorf("%s %q: not corrupted (twin %q)", got[i].Topic, got[i].Payload, want[i].Payload)
			}
			if !utf8.ValidString(got[i].Payload) {
				notUTF8++
			}
		}
		if notUTF8 == 0 {
			t.Error("no corruption made invalid UTF-8")
		}
	})
	t.Run("reboot", func(t *testing.T) {
		s, _ := base(FaultConfig{RebootsPerHour: 3600})
		var total []float64
		for i := range 50 {
			m := byTopic(s.Step(t0.Add(time.Duration(i) * 5 * time.Second)))
			if v, ok := m["solar/"+testSerial+"/0/yieldtotal"]; ok {
				total = append(total, mustFloat(t, v))
			}
		}
		resets := 0
		for i := 1; i < len(total); i++ {
			if total[i] < total[i-1] {
				resets++
			}
		}
		if st := s.Stats().Faults; st.Reboots < 10 || resets == 0 {
			t.Errorf("%d reboots, %d counter resets seen", st.Reboots, resets)
		}
	})
	t.Run("offline", func(t *testing.T) {
		s, clk := base(FaultConfig{OfflinePerHour: 3600, OfflineFor: time.Minute})
		var sawOffline, sawBack, ignored bool
		for i := range 100 {
			now := t0.Add(time.Duration(i) * 5 * time.Second)
			clk.Set(now)
			for _, m := range s.Step(now) {
				if m.Topic == "solar/dtu/status" {
					sawOffline = sawOffline || m.Payload == "offline"
					sawBack = sawBack || (sawOffline && m.Payload == "online")
				}
			}
			if s.faults.offline(s.dtus[0].id) && !ignored {
				before := s.Stats().Ignored
				s.command(s.dtus[0], "solar/"+testSerial+"/cmd/limit_persistent_relative", []byte("50"), false)
				ignored = s.Stats().Ignored == before+1 && s.dtus[0].inverters[0].persistentPct == 100
			}
		}
		if !sawOffline || !sawBack || !ignored {
			t.Errorf("offline %v, back %v, command ignored while offline %v", sawOffline, sawBack, ignored)
		}
	})
	t.Run("skew", func(t *testing.T) {
		s, _ := base(FaultConfig{Skewed: 1, MaxSkew: time.Hour})
		skew := s.faults.devices[0].skew
		m := byTopic(s.Step(t0))
		lu := int64(mustFloat(t, m["solar/"+testSerial+"/status/last_update"]))
		if skew == 0 || lu != t0.Add(skew).Unix() {
			t.Errorf("skew %v: last_update %d, want %d", skew, lu, t0.Add(skew).Unix())
		}
	})
}

// TestDishonestInverters: each lie shows in what the inverter reports,
// while the grid meter of its house sees the truth: the same house with
// an honest inverter metres the same power.
func TestDishonestInverters(t *testing.T) {
	night := time.Date(2025, 6, 21, 23, 0, 0, 0, time.UTC)
	noon := time.Date(2025, 6, 21, 12, 30, 0, 0, time.UTC)
	house := func(lie Dishonesty, t0 time.Time) *Sim {
		s, _ := newSim(t, t0, Config{
			PV:           []PVConfig{{Serial: testSerial, Nameplate: 800, Dishonest: lie}},
			ShellyMeters: []ShellyMeterConfig{{MAC: "02a1b3000001"}}, Seed: 8,
		})
		return s
	}
	meterW := func(msgs []Message) string {
		for _, m := range msgs {
			if m.Topic == "shellypro3em-02a1b3000001/status/em:0" {
				return m.Payload[strings.Index(m.Payload, `"total_act_power"`):]
			}
		}
		return ""
	}
	power := func(msgs []Message) float64 {
		if v, ok := lastPayload(msgs, "solar/"+testSerial+"/0/power"); ok {
			return mustFloat(t, v)
		}
		return 0
	}
	// Night: the liar produces on paper.
	liar, honest := house(DishonestNight, night), house(Honest, night)
	var lm, hm []Message
	for i := range 3 {
		now := night.Add(time.Duration(i) * 5 * time.Second)
		lm, hm = liar.Step(now), honest.Step(now)
	}
	if p := power(lm); p < 80 || p > 120 {
		t.Errorf("night liar reports %v W, want 10..15 %% of 800", p)
	}
	if power(hm) != 0 || meterW(lm) != meterW(hm) || meterW(lm) == "" {
		t.Errorf("at night the honest inverter reports %v W; meters %q and %q must agree", power(hm), meterW(lm), meterW(hm))
	}
	// A day: the over-rater claims 1.6 × what it makes, more than its
	// nameplate at the best hours.
	day := time.Date(2025, 6, 22, 5, 0, 0, 0, time.UTC)
	liar, honest = house(DishonestOverrate, day), house(Honest, day)
	maxLiar, maxHonest := 0.0, 0.0
	for now := day; now.Before(day.Add(15 * time.Hour)); now = now.Add(10 * time.Minute) {
		lm, hm = liar.Step(now), honest.Step(now)
		p, h := power(lm), power(hm)
		if math.Abs(p-h*overrateFactor) > 0.2 {
			t.Fatalf("%v: over-rater reports %v W for %v W produced", now, p, h)
		}
		if meterW(lm) != meterW(hm) {
			t.Fatalf("%v: meters disagree: %q and %q", now, meterW(lm), meterW(hm))
		}
		maxLiar, maxHonest = math.Max(maxLiar, p), math.Max(maxHonest, h)
	}
	if maxLiar <= 800 || maxHonest > 800 {
		t.Errorf("peaks: liar %v W, honest %v W; nameplate 800", maxLiar, maxHonest)
	}
	// Copy: in a fleet, the copier reports its neighbour's last power.
	f, clk := newTestFleet(t, noon, 3, func(c *FleetConfig) {
		c.Specs = nil
		c.Mix = Mix{OpenDTU: 1, EV: 0.01}
	})
	inv := f.Homes()[1].dtus[0].inverters[0]
	inv.lie = DishonestCopy
	var prevNeighbour float64
	stepFleet(f, clk, noon, 5*time.Second, time.Minute, func(now time.Time, msgs []Message) {
		if now.After(noon) && inv.live.acW != prevNeighbour {
			t.Errorf("%v: copier reports %v, neighbour reported %v", now, inv.live.acW, prevNeighbour)
		}
		prevNeighbour = f.Homes()[0].PVReportedW()
	})
}

// TestPVProductionIsTheTruth: PVProduction gives what each inverter
// really fed in and what it reported, the ground truth that scores the
// node's defences: the same for an honest inverter, 1.6 times it for an
// over-rater, energy out of nothing at night for a night liar.
func TestPVProductionIsTheTruth(t *testing.T) {
	day := time.Date(2025, 6, 21, 0, 0, 0, 0, time.UTC)
	for _, lie := range []Dishonesty{Honest, DishonestOverrate, DishonestNight} {
		s, _ := newSim(t, day, Config{PV: []PVConfig{{Serial: testSerial, Nameplate: 800, Dishonest: lie}}, Seed: 8})
		// Dark: the minutes in which nothing was produced.
		var dark, nightReported float64
		for now := day; !now.After(day.Add(24 * time.Hour)); now = now.Add(time.Minute) {
			before := s.PVProduction()[0]
			s.Step(now)
			after := s.PVProduction()[0]
			if after.ProducedWh == before.ProducedWh {
				dark++
				nightReported += after.ReportedWh - before.ReportedWh
			}
		}
		p := s.PVProduction()
		if len(p) != 1 || p[0].Dialect != "opendtu" || p[0].Serial != testSerial || p[0].Dishonest != lie {
			t.Fatalf("%q: PVProduction %+v", lie, p)
		}
		got := p[0]
		if got.ProducedWh < 1000 {
			t.Errorf("%q: produced %v Wh in a June day from 800 W", lie, got.ProducedWh)
		}
		if dark < 6*60 {
			t.Errorf("%q: only %v dark minutes in a June day", lie, dark)
		}
		var want float64
		switch lie {
		case Honest:
			want = got.ProducedWh
		case DishonestOverrate:
			want = got.ProducedWh * overrateFactor
		case DishonestNight:
			want = got.ProducedWh + nightReported
			if nightReported < 0.1*800*dark/60 {
				t.Errorf("night liar reported %v Wh in %v dark minutes", nightReported, dark)
			}
		}
		if math.Abs(got.ReportedWh-want) > 1e-6*want {
			t.Errorf("%q: reported %v Wh, want %v (produced %v)", lie, got.ReportedWh, want, got.ProducedWh)
		}
	}
}

func TestParseFaults(t *testing.T) {
	fc, err := ParseFaults("default,drop=0.1,offline_for=30s,dishonest_modes=night+copy")
	if err != nil {
		t.Fatal(err)
	}
	if fc.Drop != 0.1 || fc.OfflineFor != 30*time.Second || fc.Duplicate != FaultPresets["default"].Duplicate ||
		len(fc.DishonestModes) != 2 || fc.DishonestModes[1] != DishonestCopy {
		t.Errorf("%+v", fc)
	}
	if fc, err := ParseFaults("none"); err != nil || !isZeroFaults(fc) {
		t.Errorf("none: %+v %v", fc, err)
	}
	if fc, err := ParseFaults("reboots_per_hour=2"); err != nil || fc.RebootsPerHour != 2 || fc.Drop != 0 {
		t.Errorf("override only: %+v %v", fc, err)
	}
	for _, bad := range []string{"sometimes", "drop=lots", "drop=2", "drop=0.6,malformed=0.6", "offline_for=soon", "colour=red", "dishonest_modes=lazy", "max_skew=-1s"} {
		if _, err := ParseFaults(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
