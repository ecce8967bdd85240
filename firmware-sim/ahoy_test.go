package firmwaresim

import (
	"math"
	"strings"
	"testing"
	"time"
)

func newAhoySim(t *testing.T, t0 time.Time, mod func(*Config)) (*Sim, *stepper) {
	t.Helper()
	cfg := Config{Ahoy: []AhoyConfig{{}}}
	if mod != nil {
		mod(&cfg)
	}
	s, clk := newSim(t, t0, cfg)
	return s, &stepper{s, clk, t0}
}

// TestAhoyGolden pins what an AhoyDTU says on connect, its first cycle
// (with the change-driven availability, status and polling window) and
// the next one. Check changes against shared/payloads/ahoydtu.md.
func TestAhoyGolden(t *testing.T) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	s, st := newAhoySim(t, t0, nil)
	a := s.ahoys[0]
	golden(t, a.onConnect(t0), []string{
		"inverter/version 0.8.156 (retained)",
		"inverter/device AhoyDTU (retained)",
		"inverter/ip_addr 192.0.2.30 (retained)",
		"inverter/mqtt connected (retained)",
	})
	if w := a.will(); w.String() != "inverter/mqtt not connected (retained)" || w.QoS != 1 || a.clientID() != "fwsim-ahoy-inverter" ||
		strings.Join(a.subscriptions(), " ") != "inverter/ctrl/#" {
		t.Errorf("will %v, client %s, subscriptions %v", w, a.clientID(), a.subscriptions())
	}
	values := func(poll, lastSuccess, uac, iac, pac, fac, temp, yd, yt, pdc, eff, udc, idc, irr string) []string {
		return []string{
			"inverter/HM-600/last_success " + lastSuccess + " (retained)",
			"inverter/HM-600/ch0/U_AC " + uac,
			"inverter/HM-600/ch0/I_AC " + iac,
			"inverter/HM-600/ch0/P_AC " + pac,
			"inverter/HM-600/ch0/Q_AC 0",
			"inverter/HM-600/ch0/F_AC " + fac,
			"inverter/HM-600/ch0/PF_AC 1",
			"inverter/HM-600/ch0/Temp " + temp,
			"inverter/HM-600/ch0/YieldDay " + yd + " (retained)",
			"inverter/HM-600/ch0/YieldTotal " + yt + " (retained)",
			"inverter/HM-600/ch0/P_DC " + pdc,
			"inverter/HM-600/ch0/Efficiency " + eff,
			"inverter/HM-600/ch0/PowerLimit 100",
			"inverter/HM-600/ch1/U_DC " + udc,
			"inverter/HM-600/ch1/I_DC " + idc,
			"inverter/HM-600/ch1/P_DC " + pdc,
			"inverter/HM-600/ch1/YieldDay " + yd + " (retained)",
			"inverter/HM-600/ch1/YieldTotal " + yt + " (retained)",
			"inverter/HM-600/ch1/Irradiation " + irr,
			`inverter/HM-600/radio_stat {"tx":` + poll + `,"success":` + poll + `,"fail":0,"no_answer":0,"retransmits":0,"lossIvRx":0,"lossIvTx":0,"lossDtuRx":0,"lossDtuTx":0}`,
		}
	}
	first := values("1", "1750507200", "230.966", "1.222", "282.133", "49.998", "40.007", "0", "0", "293.311", "96.189", "32.383", "9.058", "40.738")
	first = append(first,
		"inverter/HM-600/available 2 (retained)",
		"inverter/status 2 (retained)",
		"inverter/total/P_AC 282.133 (retained)",
		"inverter/total/YieldTotal 0 (retained)",
		"inverter/total/YieldDay 0 (retained)",
		"inverter/total/P_DC 293.311 (retained)",
		"inverter/uptime 0",
		"inverter/wifi_rssi -67",
		"inverter/free_heap 21384",
		"inverter/heap_frag 9",
		"inverter/comm_start 1750480200 (retained)", // 04:30: the profile's first production
		"inverter/comm_stop 1750534200 (retained)",  // 19:30
		"inverter/HM-600/dis_night_comm true (retained)",
	)
	golden(t, s.Step(t0), first)
	// 282.7 W for a minute: 4.7 Wh, YieldTotal in kWh.
	next := values("2", "1750507260", "231.032", "1.224", "282.703", "50.011", "40.363", "4", "0.004", "293.901", "96.19", "32.386", "9.075", "40.82")
	next = append(next,
		"inverter/total/P_AC 282.703 (retained)",
		"inverter/total/YieldTotal 0.004 (retained)",
		"inverter/total/YieldDay 4 (retained)",
		"inverter/total/P_DC 293.901 (retained)",
		"inverter/uptime 60",
		"inverter/wifi_rssi -67",
		"inverter/free_heap 21384",
		"inverter/heap_frag 9",
	)
	got := st.step(time.Minute)
	golden(t, got, next)
	for _, m := range got {
		if m.QoS != 0 || m.Device != "fwsim-ahoy-inverter" {
			t.Errorf("%s: QoS %d device %s", m.Topic, m.QoS, m.Device)
		}
	}
	// A reconnect publishes availability and the window again.
	a.onConnect(st.now)
	if m := byTopic(st.step(time.Minute)); m["inverter/HM-600/available"] != "2" || m["inverter/status"] != "2" || m["inverter/comm_start"] == "" {
		t.Errorf("after a reconnect: available %q status %q comm_start %q", m["inverter/HM-600/available"], m["inverter/status"], m["inverter/comm_start"])
	}
}

// TestAhoyLimit: ctrl/limit/<index> in W or %, acknowledged, clipping the
// output from the next cycle; what the firmware refuses gets no ack.
func TestAhoyLimit(t *testing.T) {
	t0 := time.Date(2025, 6, 22, 11, 30, 0, 0, time.UTC) // a sunny moment
	s, st := newAhoySim(t, t0, func(c *Config) {
		c.Ahoy = append(c.Ahoy, AhoyConfig{Name: "garage", Nameplate: 800})
	})
	a := s.ahoys[0]
	if len(s.ahoys) != 1 || len(a.inverters) != 2 || a.inverters[1].index != 1 {
		t.Fatalf("two inverters on one AhoyDTU, want indices 0 and 1")
	}
	s.Step(t0)
	if p := mustFloat(t, byTopic(st.step(5 * time.Second))[testAhoy+"ch0/P_AC"]); p < 400 {
		t.Fatalf("the test needs a sunny moment, P_AC %v W", p)
	}
	cases := []struct {
		topic, payload string
		ack            string  // "": no ack
		limit          string  // PowerLimit after the next cycle
		maxW           float64 // P_AC bound after the next cycle
	}{
		{"inverter/ctrl/limit/0", "300W", "300.0", "50", 300},
		{"inverter/ctrl/limit/0", "70", "70.0", "70", 420},
		{"inverter/ctrl/limit/0", "25%", "25.0", "25", 150},
		{"inverter/ctrl/limit/0", "333W", "333.0", "55.5", 333}, // 0.1 % steps, rounded down
		{"inverter/ctrl/limit/0", "1", "", "55.5", 333},         // relative below 2 %
		{"inverter/ctrl/limit/0", "101", "", "55.5", 333},
		{"inverter/ctrl/limit/0", "70000W", "", "55.5", 333}, // ×10 beyond 16 bits
		{"inverter/ctrl/limit/0", "6554W", "", "55.5", 333},
		{"inverter/ctrl/limit/0", "-5W", "", "55.5", 333},
		{"inverter/ctrl/limit/0", "abc", "", "55.5", 333},        // atof: 0 %, below 2
		{"inverter/ctrl/limit/0", "45.9", "45.9", "45.9", 275.4}, // atof
		{"inverter/ctrl/limit/0", "33.3", "33.2", "33.2", 199.2}, // float ×10, truncated
		{"inverter/ctrl/limit/0", "0W", "0.0", "0", 0},
		{"inverter/ctrl/limit/7", "100", "", "0", 0},       // no inverter 7
		{"inverter/ctrl/limit/1", "100W", "100.0", "0", 0}, // the other inverter
		{"inverter/ctrl/limit/0", "5000W", "5000.0", "100", 600},
	}
	for _, c := range cases {
		r := s.command(a, c.topic, []byte(c.payload), false)
		if c.ack != "" && (len(r) != 1 || r[0].Payload != c.ack || !r[0].Retained || !strings.HasSuffix(r[0].Topic, "/ack_pwr_limit")) || c.ack == "" && len(r) != 0 {
			t.Errorf("%s %q: replies %v, want ack %q", c.topic, c.payload, r, c.ack)
		}
		m := byTopic(st.step(5 * time.Second))
		if m[testAhoy+"ch0/PowerLimit"] != c.limit || mustFloat(t, m[testAhoy+"ch0/P_AC"]) > c.maxW+1e-9 {
			t.Errorf("after %s %q: PowerLimit %s, P_AC %s; want %s, at most %v W", c.topic, c.payload, m[testAhoy+"ch0/PowerLimit"], m[testAhoy+"ch0/P_AC"], c.limit, c.maxW)
		}
	}
	if r := s.command(a, "inverter/ctrl/limit/1", []byte("100W"), false); len(r) != 1 || r[0].Topic != "inverter/garage/ack_pwr_limit" {
		t.Errorf("ack of inverter 1: %v", r)
	}
	if m := byTopic(st.step(5 * time.Second)); m["inverter/garage/ch0/PowerLimit"] != "12.5" {
		t.Errorf("garage PowerLimit %s, want 12.5 (100 W of 800)", m["inverter/garage/ch0/PowerLimit"])
	}

	// restart: YieldDay starts over, the limit is lost.
	s.command(a, "inverter/ctrl/limit/0", []byte("50"), false)
	st.step(time.Hour)
	if yd := mustFloat(t, byTopic(st.step(5 * time.Second))[testAhoy+"ch0/YieldDay"]); yd < 100 {
		t.Fatalf("YieldDay %v Wh before the restart", yd)
	}
	s.command(a, "inverter/ctrl/restart/0", nil, false)
	m := byTopic(st.step(5 * time.Second))
	if yd := mustFloat(t, m[testAhoy+"ch0/YieldDay"]); yd > 5 || m[testAhoy+"ch0/PowerLimit"] != "100" {
		t.Errorf("after restart: YieldDay %v Wh, PowerLimit %s", yd, m[testAhoy+"ch0/PowerLimit"])
	}
}

// TestAhoyNight: at night the inverter is unavailable, nothing is polled,
// a limit command is not acknowledged, and the limit is forgotten.
func TestAhoyNight(t *testing.T) {
	t0 := time.Date(2025, 6, 22, 17, 0, 0, 0, time.UTC)
	s, st := newAhoySim(t, t0, nil)
	a := s.ahoys[0]
	s.Step(t0)
	s.command(a, "inverter/ctrl/limit/0", []byte("40"), false)
	var night map[string]string
	var dusk []string // available, status as published
	var lastPoll, was4, off time.Time
	for st.now.Hour() != 23 {
		m := byTopic(st.step(time.Minute))
		if m[testAhoy+"last_success"] != "" {
			lastPoll = st.now
		}
		if v := m[testAhoy+"available"]; v != "" {
			dusk = append(dusk, v+"/"+m["inverter/status"])
			switch v {
			case "4":
				was4 = st.now
			case "0":
				off, night = st.now, m
			}
		}
	}
	if night == nil || night["inverter/status"] != "0" {
		t.Fatalf("no available 0 / status 0 at dusk: %v", night)
	}
	// The firmware's status machine: the last status while the data is
	// under 5 minutes old, WAS_ON (4) until 15 minutes, then OFF; the DTU
	// counts WAS_ON as available (status 2 unchanged, so not published).
	if strings.Join(dusk, " ") != "4/ 0/0" || was4.Sub(lastPoll) != 5*time.Minute || off.Sub(lastPoll) != 16*time.Minute {
		t.Errorf("dusk: available/status %v, 4 after %v, 0 after %v; want 4/ 0/0 after 5 and 16 min", dusk, was4.Sub(lastPoll), off.Sub(lastPoll))
	}
	m := byTopic(st.step(time.Minute))
	for topic := range m {
		if strings.Contains(topic, "/ch0/") || strings.Contains(topic, "/ch1/") || strings.Contains(topic, "last_success") || strings.HasPrefix(topic, "inverter/total/") {
			t.Errorf("%s published at night", topic)
		}
	}
	if m["inverter/uptime"] == "" {
		t.Error("no uptime at night")
	}
	if r := s.command(a, "inverter/ctrl/limit/0", []byte("50"), false); len(r) != 0 {
		t.Errorf("limit acknowledged at night: %v", r)
	}
	// Morning: polled again, limit back at 100 %, a new polling window.
	var commStart, available string
	for st.now.Hour() != 6 {
		m = byTopic(st.step(time.Minute))
		if v := m["inverter/comm_start"]; v != "" {
			commStart = v
		}
		if v := m[testAhoy+"available"]; v != "" {
			available = v
		}
	}
	if available != "2" || m[testAhoy+"ch0/PowerLimit"] != "100" || commStart != "1750653000" { // 2025-06-23T04:30:00Z
		t.Errorf("morning: available %q, PowerLimit %q, comm_start %q", available, m[testAhoy+"ch0/PowerLimit"], commStart)
	}
	if yd := mustFloat(t, m[testAhoy+"ch0/YieldDay"]); yd > 100 {
		t.Errorf("YieldDay %v Wh at 06:00 of a new day", yd)
	}
}

// TestAhoyEnergyConservation: YieldTotal is the integral of P_AC.
func TestAhoyEnergyConservation(t *testing.T) {
	const step = 5 * time.Second
	t0 := time.Date(2025, 6, 21, 5, 0, 0, 0, time.UTC)
	s, st := newAhoySim(t, t0, nil)
	a := s.ahoys[0]
	s.Step(t0)
	var integral, first, last float64
	first = -1
	for i := 1; i <= int(15*time.Hour/step); i++ {
		if i == 2000 {
			s.command(a, "inverter/ctrl/limit/0", []byte("200W"), false)
		}
		m := byTopic(st.step(step))
		if p, ok := m[testAhoy+"ch0/P_AC"]; ok {
			integral += mustFloat(t, p) * step.Hours()
		}
		if yt, ok := m[testAhoy+"ch1/YieldTotal"]; ok {
			v := mustFloat(t, yt) * 1000
			if first < 0 {
				first = v
			}
			last = v
		}
	}
	t.Logf("YieldTotal +%.0f Wh, ∫P_AC %.2f Wh", last-first, integral)
	if integral < 1000 {
		t.Fatalf("a 600 W inverter made %v Wh in a June day", integral)
	}
	// P_AC to 0.001 W; YieldTotal whole Wh.
	if math.Abs(last-first-integral) > 1.01 {
		t.Errorf("YieldTotal grew %.0f Wh, ∫P_AC %.3f Wh", last-first, integral)
	}
}

func TestAhoyValidation(t *testing.T) {
	cases := []struct {
		ahoy []AhoyConfig
		want string
	}{
		{[]AhoyConfig{{Name: "a/b"}}, "Config.Ahoy[0].Name"},
		{[]AhoyConfig{{Name: "ctrl"}}, "Config.Ahoy[0].Name"},
		{[]AhoyConfig{{Name: "an-inverter-name-too-long"}}, "Config.Ahoy[0].Name"},
		{[]AhoyConfig{{Nameplate: -1}}, "Config.Ahoy[0].Nameplate"},
		{[]AhoyConfig{{Topic: "home/inverter"}}, "Config.Ahoy[0].Topic"},
		{[]AhoyConfig{{Topic: "inv+"}}, "Config.Ahoy[0].Topic"},
		{[]AhoyConfig{{}, {}}, "Config.Ahoy[1].Name"},
	}
	for _, c := range cases {
		if _, err := New(Config{Ahoy: c.ahoy}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one naming %s", c.ahoy, err, c.want)
		}
	}
	s, err := New(Config{Ahoy: []AhoyConfig{{}, {Topic: "dtu2"}, {Name: "HM-800", Nameplate: 800}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ahoys) != 2 || s.ahoys[0].inverters[1].name != "HM-800" || s.ahoys[0].inverters[1].index != 1 || s.ahoys[1].inverters[0].index != 0 || s.ahoys[1].id != "fwsim-ahoy-dtu2" {
		t.Errorf("grouping by topic: %+v", s.ahoys)
	}
}
