package firmwaresim

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestEnergyConservationOverADay steps a simulated day every 5 s across
// midnight and checks that the counters each device reports are the
// integral of the power it reports, that day counters restart at local
// midnight, and that Tasmota's Total, Today, Yesterday and Period agree.
func TestEnergyConservationOverADay(t *testing.T) {
	const step = 5 * time.Second
	t0 := time.Date(2025, 6, 20, 12, 0, 0, 0, time.UTC)
	end := t0.Add(24 * time.Hour)
	s, _ := newTestSim(t, t0, nil)
	midnight := time.Date(2025, 6, 21, 0, 0, 0, 0, time.UTC)
	sn := "solar/" + testSerial + "/"

	var (
		pvIntegral, pvIntegralDay2 float64 // Wh, from published 0/power
		firstTotal, lastTotal      = -1.0, -1.0
		lastYieldDay               float64
		lastYieldDayBeforeMidnight float64
		firstMorningYieldDay       = -1.0

		plugIntegral        float64 // Wh, from published Power
		plugFirst, plugLast sensor
		periodSum           float64
		lastToday           float64
		base                = -1.0 // Total - Today, Wh, constant within a day
		sawRollover         bool
	)
	for now := t0; !now.After(end); now = now.Add(step) {
		m := byTopic(s.Step(now))
		dtHours := step.Hours()
		if now.Equal(t0) {
			dtHours = 0 // the first step has no interval behind it
		}

		// OpenDTU.
		if p, ok := m[sn+"0/power"]; ok {
			e := mustFloat(t, p) * dtHours
			pvIntegral += e
			if !now.Before(midnight) {
				pvIntegralDay2 += e
			}
			total := mustFloat(t, m[sn+"0/yieldtotal"]) * 1000
			if firstTotal < 0 {
				firstTotal = total
			}
			if total < lastTotal {
				t.Fatalf("%v: yieldtotal went down from %v to %v Wh", now, lastTotal, total)
			}
			lastTotal = total
			lastYieldDay = mustFloat(t, m[sn+"0/yieldday"])
			if m[sn+"1/yieldtotal"] != m[sn+"0/yieldtotal"] || m[sn+"1/yieldday"] != m[sn+"0/yieldday"] {
				t.Fatalf("%v: DC input yields differ from channel 0", now)
			}
			if now.Before(midnight) {
				lastYieldDayBeforeMidnight = lastYieldDay
			} else if firstMorningYieldDay < 0 {
				firstMorningYieldDay = lastYieldDay
			}
		} else if m[sn+"status/reachable"] != "0" {
			t.Fatalf("%v: no channel values but reachable %q", now, m[sn+"status/reachable"])
		}

		// Tasmota.
		sen := mustSensor(t, m["tele/"+testPlug+"/SENSOR"])
		e := sen.ENERGY
		plugIntegral += e.Power * dtHours
		periodSum += e.Period
		if now.Equal(t0) {
			plugFirst = sen
		}
		if now.Equal(midnight) {
			sawRollover = true
			if e.Yesterday != lastToday {
				t.Errorf("at midnight Yesterday = %v kWh, want the last Today %v kWh", e.Yesterday, lastToday)
			}
			if e.Today != 0 {
				t.Errorf("at midnight Today = %v kWh, want 0", e.Today)
			}
			base = -1
		}
		if b := (e.Total - e.Today) * 1000; base < 0 {
			base = b
		} else if math.Abs(b-base) > 1.0001 {
			t.Fatalf("%v: Total - Today moved from %v to %v Wh within a day", now, base, b)
		}
		lastToday = e.Today
		plugLast = sen
	}

	t.Logf("PV: yieldtotal +%.0f Wh, integral %.3f Wh, day1 %v Wh, day2 %v Wh, first morning %v; plug: Total +%.0f Wh, integral %.1f Wh, periods %v", lastTotal-firstTotal, pvIntegral, lastYieldDayBeforeMidnight, lastYieldDay, firstMorningYieldDay, (plugLast.ENERGY.Total-plugFirst.ENERGY.Total)*1000, plugIntegral, periodSum)
	// Published counters are truncated to whole Wh and power to 0.1 W:
	// allow 1 Wh for the counters and 0.05 W × 24 h for the power.
	const pvTol = 1 + 0.05*24
	if got := lastTotal - firstTotal; math.Abs(got-pvIntegral) > pvTol {
		t.Errorf("yieldtotal grew %.3f Wh, integral of 0/power is %.3f Wh (tolerance %.1f Wh)", got, pvIntegral, pvTol)
	}
	if pvIntegral < 1000 {
		t.Errorf("an 800 W inverter made only %.0f Wh around midsummer", pvIntegral)
	}
	if math.Abs(lastYieldDay-pvIntegralDay2) > pvTol {
		t.Errorf("yieldday at noon = %v Wh, integral since midnight %.3f Wh", lastYieldDay, pvIntegralDay2)
	}
	if firstMorningYieldDay < 0 || firstMorningYieldDay > 5 {
		t.Errorf("first yieldday of the morning = %v Wh, want a fresh day (0..5 Wh)", firstMorningYieldDay)
	}
	if lastYieldDayBeforeMidnight < 1000 {
		t.Errorf("yieldday of the first day = %v Wh", lastYieldDayBeforeMidnight)
	}
	if got, want := lastTotal-firstTotal, lastYieldDayBeforeMidnight+lastYieldDay; math.Abs(got-want) > 2 {
		t.Errorf("yieldtotal grew %v Wh, the two yielddays add to %v Wh", got, want)
	}

	if !sawRollover {
		t.Fatal("no step at midnight")
	}
	totalWh := (plugLast.ENERGY.Total - plugFirst.ENERGY.Total) * 1000
	if math.Abs(periodSum-totalWh) > 1e-6 {
		t.Errorf("Periods add to %v Wh, Total grew %v Wh", periodSum, totalWh)
	}
	// Power is published in whole W: 0.5 W × 24 h, plus 1 Wh truncation.
	if tol := 0.5*24 + 1; math.Abs(totalWh-plugIntegral) > tol {
		t.Errorf("Total grew %.3f Wh, integral of Power %.3f Wh (tolerance %v Wh)", totalWh, plugIntegral, tol)
	}
	// 1,000 kWh/yr is 2.74 kWh a day on average; a June day is below.
	if totalWh < 1500 || totalWh > 3500 {
		t.Errorf("plug used %.0f Wh in a day at 1,000 kWh/yr", totalWh)
	}
}

func TestTelePeriodAndPeriod(t *testing.T) {
	t0 := time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)
	s, _ := newTestSim(t, t0, func(c *Config) {
		c.PV = nil
		c.Plugs[0].TelePeriod = 30 * time.Second
	})
	var sensors []sensor
	var steps int
	for now := t0; now.Before(t0.Add(10 * time.Minute)); now = now.Add(5 * time.Second) {
		steps++
		for _, m := range s.Step(now) {
			if strings.HasSuffix(m.Topic, "/SENSOR") {
				sensors = append(sensors, mustSensor(t, m.Payload))
			}
		}
	}
	if want := steps / 6; len(sensors) != want {
		t.Fatalf("%d SENSOR messages in %d steps, want one per 30 s = %d", len(sensors), steps, want)
	}
	sum := 0.0
	for _, sen := range sensors[1:] {
		sum += sen.ENERGY.Period
	}
	if got := (sensors[len(sensors)-1].ENERGY.Total - sensors[0].ENERGY.Total) * 1000; math.Abs(got-sum) > 1e-6 {
		t.Errorf("Periods add to %v Wh, Total grew %v Wh", sum, got)
	}
}

func TestNightAndReachability(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, clk := newTestSim(t, t0, nil)
	sn := "solar/" + testSerial + "/"
	day := byTopic(s.Step(t0))
	if day[sn+"status/reachable"] != "1" || day[sn+"status/producing"] != "1" {
		t.Fatalf("at noon reachable=%s producing=%s", day[sn+"status/reachable"], day[sn+"status/producing"])
	}
	lastUpdate := day[sn+"status/last_update"]
	night := t0.Add(11 * time.Hour) // 23:00
	clk.Set(night)
	m := byTopic(s.Step(night))
	if m[sn+"status/reachable"] != "0" || m[sn+"status/producing"] != "0" {
		t.Errorf("at 23:00 reachable=%s producing=%s, want 0 0", m[sn+"status/reachable"], m[sn+"status/producing"])
	}
	if m[sn+"status/last_update"] != lastUpdate {
		t.Errorf("last_update at night %s, want it frozen at the last fresh data %s", m[sn+"status/last_update"], lastUpdate)
	}
	for topic := range m {
		if strings.HasPrefix(topic, sn+"0/") || strings.HasPrefix(topic, sn+"1/") {
			t.Errorf("channel value %s published while unreachable", topic)
		}
	}
	if m[sn+"name"] == "" || m["solar/ac/is_valid"] != "0" || m["solar/ac/power"] != "0.0" {
		t.Errorf("night cycle: name %q, ac/is_valid %q, ac/power %q", m[sn+"name"], m["solar/ac/is_valid"], m["solar/ac/power"])
	}
	// A DTU that boots at night has never heard from its inverter.
	s2, _ := newTestSim(t, night, nil)
	if got := byTopic(s2.Step(night))[sn+"status/last_update"]; got != "0" {
		t.Errorf("last_update before the first contact = %s, want 0", got)
	}
}

func TestInverterCommands(t *testing.T) {
	t0 := time.Date(2025, 6, 22, 11, 30, 0, 0, time.UTC) // a sunny moment: 2.8 kW of 3.3 kW
	s, clk := newTestSim(t, t0, nil)
	d := s.dtus[0]
	sn := "solar/" + testSerial + "/"
	now := t0
	cycle := func() map[string]string {
		now = now.Add(5 * time.Second)
		clk.Set(now)
		return byTopic(s.Step(now))
	}
	send := func(cmd, payload string, retained bool) {
		s.command(d, sn+"cmd/"+cmd, []byte(payload), retained)
	}
	m := cycle()
	if p := mustFloat(t, m[sn+"0/power"]); p < 600 {
		t.Fatalf("test needs a sunny moment, power is %v W", p)
	}

	steps := []struct {
		cmd, payload string
		retained     bool
		wantRel      string // status/limit_relative after the next cycle
		wantAbs      string
		maxPower     float64
		producing    string
	}{
		{"limit_nonpersistent_absolute", "300", false, "37.50", "300.00", 300, "1"},
		{"limit_nonpersistent_absolute", "200", true, "37.50", "300.00", 300, "1"}, // retained: ignored
		{"limit_nonpersistent_absolute", "600.7", false, "75.00", "600.00", 600, "1"},
		{"limit_nonpersistent_absolute", "-5", false, "75.00", "600.00", 600, "1"},  // negative: dropped
		{"limit_nonpersistent_absolute", "333", false, "41.60", "332.80", 333, "1"}, // 0.1 % steps, rounded down
		{"limit_nonpersistent_relative", "25", false, "25.00", "200.00", 200, "1"},
		{"limit_nonpersistent_absolute", "5000", false, "100.00", "800.00", 800, "1"},
		{"limit_persistent_relative", "50", false, "50.00", "400.00", 400, "1"},
		{"limit_nonpersistent_relative", "10", false, "10.00", "80.00", 80, "1"},
		{"power", "0", false, "10.00", "80.00", 0, "0"},
		{"power", "1", false, "10.00", "80.00", 80, "1"},
		{"limit_nonpersistent_absolute", "abc", false, "0.00", "0.00", 0, "0"}, // strtol: no digits = 0
		{"limit_persistent_absolute", "700", false, "87.50", "700.00", 700, "1"},
		{"reset_rf_stats", "1", false, "87.50", "700.00", 700, "1"}, // not subscribed by the firmware
	}
	for _, st := range steps {
		send(st.cmd, st.payload, st.retained)
		m := cycle()
		p := mustFloat(t, m[sn+"0/power"])
		if m[sn+"status/limit_relative"] != st.wantRel || m[sn+"status/limit_absolute"] != st.wantAbs || p > st.maxPower || m[sn+"status/producing"] != st.producing {
			t.Errorf("after %s %q retained=%v: limit %s %% / %s W, power %v W (max %v), producing %s; want %s %% / %s W, producing %s",
				st.cmd, st.payload, st.retained, m[sn+"status/limit_relative"], m[sn+"status/limit_absolute"], p, st.maxPower,
				m[sn+"status/producing"], st.wantRel, st.wantAbs, st.producing)
		}
	}
	if p := mustFloat(t, cycle()[sn+"0/power"]); p < 600 {
		t.Errorf("at 700 W limit in the sun the inverter makes only %v W", p)
	}

	// A non-persistent limit is forgotten overnight; the persistent one
	// stays. Commands at night do not reach the inverter.
	send("limit_nonpersistent_relative", "20", false)
	send("power", "0", false)
	night := time.Date(2025, 6, 22, 23, 0, 0, 0, time.UTC)
	clk.Set(night)
	s.Step(night)
	before := s.Stats().Ignored
	send("limit_persistent_relative", "30", false)
	if s.Stats().Ignored != before+1 {
		t.Error("a command at night was not ignored")
	}
	now = time.Date(2025, 6, 23, 11, 0, 0, 0, time.UTC)
	m = cycle()
	if m[sn+"status/limit_relative"] != "87.50" || m[sn+"status/producing"] != "1" {
		t.Errorf("next morning: limit %s %%, producing %s; want the persistent 87.50 %% and power on", m[sn+"status/limit_relative"], m[sn+"status/producing"])
	}

	// restart clears the day counter.
	if mustFloat(t, m[sn+"0/yieldday"]) <= 0 {
		t.Fatal("yieldday is 0 before restart")
	}
	send("restart", "1", false)
	if got := cycle()[sn+"0/yieldday"]; mustFloat(t, got) > 5 {
		t.Errorf("yieldday after restart = %s Wh, want ~0", got)
	}
	if s.command(d, "solar/999999999999/cmd/power", []byte("0"), false); s.Stats().Ignored == 0 {
		t.Error("unknown serial accepted")
	}
}

func TestStrtol(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"600", 600, true}, {"600.7", 600, true}, {" 42W", 42, true}, {"+7", 7, true},
		{"", 0, true}, {"abc", 0, true}, {"-5", 0, false}, {"-0", 0, true},
		{"99999999999999", math.MaxInt32, true},
	}
	for _, c := range cases {
		got, ok := strtol([]byte(c.in))
		if got != c.want || ok != c.ok {
			t.Errorf("strtol(%q) = %d, %v; want %d, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestPlugCommands(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 19, 0, 0, 0, time.UTC)
	s, _ := newTestSim(t, t0, func(c *Config) {
		c.PV = nil
		c.Plugs = append(c.Plugs, PlugConfig{Topic: "dual", Channels: 2, FullTopic: "home/%topic%/%prefix%/"})
	})
	single, dual := s.plugs[0], s.plugs[1]
	now := t0
	cycle := func() map[string]string {
		now = now.Add(10 * time.Second)
		return byTopic(s.Step(now))
	}
	type reply struct{ topic, payload string }
	check := func(p *plug, topic, payload string, want ...reply) {
		t.Helper()
		got := s.command(p, topic, []byte(payload), false)
		if len(got) != len(want) {
			t.Fatalf("%s %q: replies %v, want %v", topic, payload, got, want)
		}
		for i := range want {
			if got[i].Topic != want[i].topic || got[i].Payload != want[i].payload || got[i].Retained || got[i].QoS != 0 {
				t.Errorf("%s %q: reply %d = %v, want %s %s", topic, payload, i, got[i], want[i].topic, want[i].payload)
			}
		}
	}
	cycle()
	check(single, "cmnd/"+testPlug+"/POWER", "OFF",
		reply{"stat/" + testPlug + "/RESULT", `{"POWER":"OFF"}`}, reply{"stat/" + testPlug + "/POWER", "OFF"})
	m := cycle()
	e := mustSensor(t, m["tele/"+testPlug+"/SENSOR"]).ENERGY
	if e.Power != 0 || e.Current != 0 || e.Factor != 0 || e.ApparentPower != 0 || e.Voltage < 200 {
		t.Errorf("relay off: %+v", e)
	}
	if !strings.Contains(m["tele/"+testPlug+"/STATE"], `"POWER":"OFF"`) {
		t.Errorf("STATE %s does not say POWER OFF", m["tele/"+testPlug+"/STATE"])
	}
	check(single, "cmnd/"+testPlug+"/power", "", // query, lower case
		reply{"stat/" + testPlug + "/RESULT", `{"POWER":"OFF"}`}, reply{"stat/" + testPlug + "/POWER", "OFF"})
	check(single, "cmnd/"+testPlug+"/Power1", "toggle",
		reply{"stat/" + testPlug + "/RESULT", `{"POWER":"ON"}`}, reply{"stat/" + testPlug + "/POWER", "ON"})
	check(single, "cmnd/"+testPlug+"/POWER2", "ON", reply{"stat/" + testPlug + "/RESULT", `{"Command":"Unknown"}`})
	check(single, "cmnd/"+testPlug+"/TelePeriod", "10", reply{"stat/" + testPlug + "/RESULT", `{"Command":"Unknown"}`})
	if e := mustSensor(t, cycle()["tele/"+testPlug+"/SENSOR"]).ENERGY; e.Power <= 0 {
		t.Errorf("relay back on, Power %v", e.Power)
	}

	// Status 8: the ENERGY object without Period, under StatusSNS.
	got := s.command(single, "cmnd/"+testPlug+"/STATUS", []byte("8"), false)
	if len(got) != 1 || got[0].Topic != "stat/"+testPlug+"/STATUS8" || !strings.HasPrefix(got[0].Payload, `{"StatusSNS":{"Time":"`) ||
		strings.Contains(got[0].Payload, "Period") || !strings.Contains(got[0].Payload, `"Total":`) {
		t.Errorf("Status 8 reply %v", got)
	}

	// Two channels, custom FullTopic.
	check(dual, "home/dual/cmnd/POWER2", "OFF",
		reply{"home/dual/stat/RESULT", `{"POWER2":"OFF"}`}, reply{"home/dual/stat/POWER2", "OFF"})
	check(dual, "home/dual/cmnd/POWER", "", // POWER is relay 1 here
		reply{"home/dual/stat/RESULT", `{"POWER1":"ON"}`}, reply{"home/dual/stat/POWER1", "ON"})
	m = cycle()
	sen := m["home/dual/tele/SENSOR"]
	if !strings.Contains(sen, `"Voltage":2`) || !strings.Contains(sen, `"Factor":[0.90,0.00]`) || !strings.Contains(sen, `,0],"ApparentPower"`) {
		t.Errorf("dual SENSOR with relay 2 off: %s", sen)
	}
	if !strings.Contains(m["home/dual/tele/STATE"], `"POWER1":"ON","POWER2":"OFF"`) {
		t.Errorf("dual STATE %s", m["home/dual/tele/STATE"])
	}
}

func TestSameSeedSameOutput(t *testing.T) {
	run := func(seed uint64) []string {
		t0 := time.Date(2025, 4, 2, 9, 0, 0, 0, time.UTC)
		s, _ := newTestSim(t, t0, func(c *Config) {
			c.Seed = seed
			c.Plugs = append(c.Plugs, PlugConfig{Topic: "dual", Channels: 2})
			c.ProfileStart = time.Date(2025, 7, 1, 10, 0, 0, 0, time.UTC)
			c.Speed = 60
		})
		var out []string
		for i := 0; i < 200; i++ {
			for _, m := range s.Step(t0.Add(time.Duration(i) * 5 * time.Second)) {
				out = append(out, m.Device+" "+m.String())
			}
		}
		return out
	}
	a, b, c := run(7), run(7), run(8)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Error("same seed, different payloads")
	}
	if strings.Join(a, "\n") == strings.Join(c, "\n") {
		t.Error("different seeds, same payloads: the seed is not used")
	}
}

func TestProfileClock(t *testing.T) {
	t0 := time.Date(2030, 1, 5, 3, 0, 0, 0, time.UTC) // a winter night in real time
	start := time.Date(2025, 6, 21, 10, 30, 0, 0, time.UTC)
	s, _ := newTestSim(t, t0, func(c *Config) { c.ProfileStart = start; c.Speed = 60 })
	if got := s.ProfileTime(t0.Add(10 * time.Second)); !got.Equal(start.Add(10 * time.Minute)) {
		t.Errorf("profile time after 10 s at speed 60 = %v, want %v", got, start.Add(10*time.Minute))
	}
	if m := byTopic(s.Step(t0)); m["solar/"+testSerial+"/status/producing"] != "1" {
		t.Error("with ProfileStart late morning the inverter does not produce at once")
	}
	// Energy still follows the sim clock: 60 s at ≤ 800 W is ≤ 13.3 Wh
	// although an hour of profile passes.
	s.Step(t0.Add(60 * time.Second))
	if wh := s.Snapshot().Inverters[0].YieldTotalWh; wh <= 0 || wh > 800.0/60 {
		t.Errorf("one real minute at speed 60 made %v Wh", wh)
	}

	// Without ProfileStart the sim clock is read in Location.
	berlin := time.FixedZone("CEST", 2*3600)
	s2, _ := newTestSim(t, time.Date(2025, 6, 21, 22, 30, 0, 0, time.UTC), func(c *Config) { c.Location = berlin })
	if got := s2.ProfileTime(time.Date(2025, 6, 21, 22, 30, 0, 0, time.UTC)); got.Hour() != 0 || got.Day() != 22 {
		t.Errorf("22:30 UTC read in UTC+2 = %v, want 00:30 on the 22nd", got)
	}
}

func TestNewValidation(t *testing.T) {
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.PV[0].Serial = "12345" }, "Config.PV[0].Serial"},
		{func(c *Config) { c.PV[0].Serial = "11618123456x" }, "Config.PV[0].Serial"},
		{func(c *Config) { c.PV = append(c.PV, PVConfig{Serial: testSerial}) }, "Config.PV[1].Serial"},
		{func(c *Config) { c.PV[0].Nameplate = -1 }, "Config.PV[0].Nameplate"},
		{func(c *Config) { c.PV[0].BaseTopic = "solar" }, "Config.PV[0].BaseTopic"},
		{func(c *Config) { c.PV[0].BaseTopic = "so+lar/" }, "Config.PV[0].BaseTopic"},
		{func(c *Config) { c.Plugs[0].Topic = "" }, "Config.Plugs[0].Topic"},
		{func(c *Config) { c.Plugs[0].Topic = "a/b" }, "Config.Plugs[0].Topic"},
		{func(c *Config) { c.Plugs = append(c.Plugs, PlugConfig{Topic: testPlug}) }, "Config.Plugs[1].Topic"},
		{func(c *Config) { c.Plugs[0].FullTopic = "%topic%/" }, "Config.Plugs[0].FullTopic"},
		{func(c *Config) { c.Plugs[0].Channels = 9 }, "Config.Plugs[0].Channels"},
		{func(c *Config) { c.Plugs[0].AnnualKWh = -3 }, "Config.Plugs[0].AnnualKWh"},
		{func(c *Config) { c.Plugs[0].PowerFactor = 1.5 }, "Config.Plugs[0].PowerFactor"},
		{func(c *Config) { c.Plugs[0].TelePeriod = -time.Second }, "Config.Plugs[0].TelePeriod"},
		{func(c *Config) { c.Speed = -1 }, "Config.Speed"},
		{func(c *Config) { c.Speed = 1e9 }, "Config.Speed"},
		{func(c *Config) { c.Period = -time.Second }, "Config.Period"},
		{func(c *Config) { c.Broker = "http://x:1883" }, "Config.Broker"},
		{func(c *Config) { c.Broker = "tcp://" }, "Config.Broker"},
		{func(c *Config) { c.ClientPrefix = "a/b" }, "Config.ClientPrefix"},
		{func(c *Config) { c.PV, c.Plugs = nil, nil }, "nothing to simulate"},
	}
	for _, c := range cases {
		cfg := Config{PV: []PVConfig{{Serial: testSerial}}, Plugs: []PlugConfig{{Topic: testPlug}}}
		c.mod(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error naming %s, got %v", c.want, err)
		}
	}
	if _, err := New(Config{PV: []PVConfig{{Serial: testSerial}}, Broker: "tcp://127.0.0.1:1883"}); err != nil {
		t.Errorf("valid config: %v", err)
	}
}
