package firmwaresim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// AhoyDTU 0.8.156 as the firmware does it (lumapu/ahoy User_Manual.md and
// src/publisher/pubMqtt.h, pubMqttIvData.h; shared/payloads/ahoydtu.md):
//
//   - Base topic <TOPIC> ("inverter"), one level. Telemetry names the
//     inverter by NAME, control by its index on the setup page (0, 1, ...
//     in config order).
//   - On connect: <TOPIC>/version, device, ip_addr (retained), then
//     <TOPIC>/mqtt "connected" (retained); the will is <TOPIC>/mqtt "not
//     connected" (retained).
//   - Every cycle, per inverter the DTU reached (the sun is up):
//     <name>/last_success (unix s, retained; AhoyDTU 0.7+ sends it before
//     each poll's values), then ch0/U_AC, I_AC, P_AC, Q_AC, F_AC, PF_AC,
//     Temp, YieldDay, YieldTotal, P_DC, Efficiency, PowerLimit and
//     ch1/U_DC, I_DC, P_DC, YieldDay, YieldTotal, Irradiation. Values are
//     printed as the firmware prints them, "%g" of the value rounded to 3
//     decimals ("71", "233.3", "0.006"; six significant digits, so 1234.567
//     prints 1234.57). Only the yields are retained, and ch0's yields are
//     sent only while the inverter produces. Units: V, A, W, var, Hz, PF
//     0..1, °C, YieldDay Wh, YieldTotal kWh, Efficiency, PowerLimit and
//     Irradiation %. After each poll's values, <name>/radio_stat (JSON
//     radio statistics, not retained).
//   - <name>/available, the firmware's InverterStatus (src/hm/
//     hmInverter.h): 1 reachable and idle, 2 producing, 3 reachable after
//     producing but at 0 W, and once unreachable the last status for 5
//     minutes, 4 (WAS_ON) up to 15 minutes, then 0; <TOPIC>/status 2 when
//     no inverter is at 0, 1 when some are, 0 when all are (4 counts as
//     available, as in processIvStatus). Both when they change (and after
//     a reconnect), retained. total/P_AC, YieldTotal, YieldDay, P_DC
//     (retained) while all inverters are reachable; uptime (s, not
//     retained) every cycle, and once a minute wifi_rssi, free_heap and
//     heap_frag (an ESP8266); comm_start and comm_stop (unix s of the
//     profile day's first and last PV production on the sim clock,
//     retained) with <name>/dis_night_comm when they change.
//   - <TOPIC>/ctrl/limit/<index>: "600W" an absolute limit in W, "70" or
//     "70%" a relative one in % (2..100), not persistent. The number is
//     read like C's atof ("70.5" is 70.5) into a float, kept ×10 in 16
//     bits truncated (so 6553.5 W at most, and 33.3 % becomes 33.2 %);
//     the last character decides (W: absolute). An accepted limit is
//     acknowledged with <name>/ack_pwr_limit, the value kept, "%.1f"
//     ("600.0", retained, since 0.8.106) and clips the output from the
//     next cycle; PowerLimit shows it. Out-of-range values and commands
//     while the inverter sleeps get no ack. <TOPIC>/ctrl/restart/<index>
//     restarts the inverter (YieldDay and the limit are lost).
//   - The limit is forgotten overnight, when the inverter loses its DC
//     supply, and so is YieldDay at profile-local midnight.
//
// The simulated inverter has one DC input; it is the same Hoymiles model
// as behind OpenDTU (hoymilesValues).

const ahoyQoS = 0

// ahoyVersion is the firmware version the simulated DTU announces.
const ahoyVersion = "0.8.156"

// The inverter status thresholds (src/config/config.h): no data for
// ahoyInactive makes an inverter WAS_ON (4), for ahoyOff OFF (0).
const (
	ahoyInactive = 5 * time.Minute
	ahoyOff      = 15 * time.Minute
)

// ahoyReserved are the DTU-level topic names an inverter must not take.
var ahoyReserved = map[string]bool{
	"ctrl": true, "setup": true, "total": true, "status": true, "mqtt": true, "uptime": true,
	"version": true, "device": true, "ip_addr": true, "comm_start": true, "comm_stop": true,
	"sunrise": true, "sunset": true, "wifi_rssi": true, "free_heap": true,
}

// AhoyConfig is one Hoymiles inverter behind an AhoyDTU.
type AhoyConfig struct {
	// Name is the inverter's name on AhoyDTU's setup page, used in
	// telemetry topics: one MQTT level of at most 16 bytes, not a DTU
	// topic (ctrl, setup, total, status, ...); default "HM-<nameplate>",
	// e.g. "HM-600". Unique per AhoyDTU.
	Name string
	// Nameplate is the inverter's AC rating (W), default 600. Output is
	// the PV profile scaled to it and clipped at it.
	Nameplate gridmint.W
	// Topic is AhoyDTU's base topic, one MQTT level; default "inverter".
	Topic string
	// Array is the modules' orientation and clouds; nil: the profile's
	// own array without minute-scale clouds (see PVArray).
	Array *PVArray
	// Dishonest makes the inverter lie (fault injection); "" is honest,
	// unless Config.Faults.Dishonest draws a lie for it.
	Dishonest Dishonesty
}

// ahoyInverter is one Hoymiles inverter behind an AhoyDTU.
type ahoyInverter struct {
	name      string
	index     int
	nameplate float64
	rng       *rand.Rand
	shape     *pvShape
	lie       Dishonesty

	// Kept in State.
	yieldTotalWh, yieldDayWh float64
	day                      civilDate

	limitPct    float64 // non-persistent limit, % (100: none)
	sunUp       bool
	reachable   bool
	lastStep    time.Time
	lastSuccess time.Time
	trueACW     float64 // what it really feeds in, W
	producedWh  float64 // energy it really fed in since the Sim was built, Wh (not kept in State)
	reportedWh  float64 // energy its counters grew by since then, resets aside, Wh (not kept in State)
	live        inverterValues
	// st is the firmware's InverterStatus; polls counts the polls for the
	// radio statistics.
	st    int
	polls int
}

// advance moves the inverter to sim time now at profile time pt (see
// inverter.advance for the neighbour).
func (inv *ahoyInverter) advance(now, pt time.Time, prof *PVProfile, neighbourW float64, neighbourOK bool) {
	dtHours := hoursSince(inv.lastStep, now)
	if now.After(inv.lastStep) {
		inv.lastStep = now
	}
	if d := dateOf(pt); d != inv.day {
		inv.yieldDayWh = 0
		inv.day = d
	}
	avail := pvAvailable(prof, inv.shape, pt, inv.nameplate)
	sunUp := avail > 0
	if inv.sunUp && !sunUp {
		inv.limitPct = 100 // night: the non-persistent limit is lost
	}
	inv.sunUp = sunUp
	ac := 0.0
	if sunUp {
		ac = math.Min(avail, inv.limitPct/100*inv.nameplate)
	}
	inv.trueACW = ac
	inv.producedWh += ac * dtHours
	reported, reachable := pvReport(inv.lie, inv.rng, ac, sunUp, inv.nameplate, neighbourW, neighbourOK)
	inv.reachable = reachable
	if !reachable {
		inv.live = inverterValues{}
		return
	}
	inv.yieldTotalWh += reported * dtHours
	inv.reportedWh += reported * dtHours
	inv.yieldDayWh += reported * dtHours
	inv.lastSuccess = now
	inv.live = hoymilesValues(inv.rng, prof, pt, reported, inv.nameplate)
}

// status updates and returns the inverter's InverterStatus at sim time
// now, as hmInverter.h isAvailable and isProducing do.
func (inv *ahoyInverter) status(now time.Time) int {
	switch age := now.Sub(inv.lastSuccess); {
	case inv.reachable && inv.live.acW > 0:
		inv.st = 2 // PRODUCING
	case inv.reachable && (inv.st == 2 || inv.st == 3):
		inv.st = 3 // WAS_PRODUCING
	case inv.reachable:
		inv.st = 1 // STARTING
	case inv.lastSuccess.IsZero() || age > ahoyOff:
		inv.st = 0 // OFF
	case age >= ahoyInactive:
		inv.st = 4 // WAS_ON
	}
	return inv.st // younger data: the status stays
}

// ahoyDTU is one simulated AhoyDTU with its inverters.
type ahoyDTU struct {
	id        string // MQTT client ID
	topic     string // base topic, no trailing '/'
	boot      time.Time
	skew      time.Duration
	inverters []*ahoyInverter

	// What was last published of the change-driven topics; reset on
	// every connect so a new session gets them again.
	lastAvail     []int
	lastStatus    int
	lastCommStart int64
	lastCommStop  int64
	lastMinute    int64 // the minute of the last minute ticker
}

func newAhoyInverter(ac AhoyConfig, field, topic string, index int, seed uint64) (*ahoyInverter, error) {
	np := float64(ac.Nameplate)
	if np == 0 {
		np = float64(DefaultAhoyNameplate)
	}
	if !(np > 0 && np <= 100_000) {
		return nil, invalid("%s.Nameplate %v W: want 0 < W <= 100000", field, ac.Nameplate)
	}
	name := ac.Name
	if name == "" {
		name = "HM-" + strconv.Itoa(int(math.Round(np)))
	}
	if len(name) > 16 || strings.ContainsAny(name, "/+#\x00") || strings.TrimSpace(name) == "" || ahoyReserved[name] {
		return nil, invalid("%s.Name %q: want one MQTT level of at most 16 bytes, not a DTU topic (ctrl, setup, total, status, ...)", field, ac.Name)
	}
	shape, err := newPVShape(ac.Array, field+".Array")
	if err != nil {
		return nil, err
	}
	if !ac.Dishonest.valid() {
		return nil, invalid("%s.Dishonest %q: want \"\", night, overrate or copy", field, ac.Dishonest)
	}
	return &ahoyInverter{
		name: name, index: index, nameplate: np, limitPct: 100, shape: shape, lie: ac.Dishonest,
		rng: deviceRand(seed, "ahoy/"+topic+"/"+name),
	}, nil
}

func checkAhoyTopic(field, topic string) error {
	if topic == "" || strings.ContainsAny(topic, "/+#\x00") {
		return invalid("%s.Topic %q: want one MQTT level without wildcards, e.g. %q", field, topic, DefaultAhoyTopic)
	}
	return nil
}

func newAhoyDTU(prefix, topic string, now time.Time) *ahoyDTU {
	return &ahoyDTU{id: prefix + "ahoy-" + topic, topic: topic, boot: now, lastStatus: -1}
}

// ahoyG prints a value as AhoyDTU does: "%g" of the value rounded to 3
// decimals.
func ahoyG(v float64) string {
	v = math.Round(v*1000) / 1000
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func (a *ahoyDTU) msg(sub, payload string, retained bool) Message {
	return Message{Device: a.id, Topic: a.topic + "/" + sub, Payload: payload, QoS: ahoyQoS, Retained: retained}
}

// cycle returns one publish cycle at sim time now; commStart and
// commStop are today's polling window (zero: no sun today).
func (a *ahoyDTU) cycle(now time.Time, commStart, commStop time.Time) []Message {
	var msgs []Message
	pub := func(sub, payload string, retained bool) { msgs = append(msgs, a.msg(sub, payload, retained)) }
	var acW, dcW float64
	var total, day int64
	all, any := true, false
	for _, inv := range a.inverters {
		t, d := wholeWh(inv.yieldTotalWh), wholeWh(inv.yieldDayWh)
		total += t
		day += d
		if !inv.reachable {
			all = false
			continue
		}
		any = true
		v := inv.live
		acW += v.acW
		dcW += v.dcW
		n := inv.name + "/"
		pub(n+"last_success", strconv.FormatInt(inv.lastSuccess.Add(a.skew).Unix(), 10), true)
		pub(n+"ch0/U_AC", ahoyG(v.acV), false)
		pub(n+"ch0/I_AC", ahoyG(v.acA), false)
		pub(n+"ch0/P_AC", ahoyG(v.acW), false)
		pub(n+"ch0/Q_AC", ahoyG(v.reactiveVAr), false)
		pub(n+"ch0/F_AC", ahoyG(v.freqHz), false)
		pub(n+"ch0/PF_AC", ahoyG(v.powerFactor), false)
		pub(n+"ch0/Temp", ahoyG(v.tempC), false)
		if v.acW > 0 { // ch0 yields only while producing
			pub(n+"ch0/YieldDay", ahoyG(float64(d)), true)
			pub(n+"ch0/YieldTotal", ahoyG(float64(t)/1000), true)
		}
		pub(n+"ch0/P_DC", ahoyG(v.dcW), false)
		pub(n+"ch0/Efficiency", ahoyG(v.efficiencyPct), false)
		pub(n+"ch0/PowerLimit", ahoyG(inv.limitPct), false)
		pub(n+"ch1/U_DC", ahoyG(v.dcV), false)
		pub(n+"ch1/I_DC", ahoyG(v.dcA), false)
		pub(n+"ch1/P_DC", ahoyG(v.dcW), false)
		pub(n+"ch1/YieldDay", ahoyG(float64(d)), true)
		pub(n+"ch1/YieldTotal", ahoyG(float64(t)/1000), true)
		pub(n+"ch1/Irradiation", ahoyG(v.irradiationPct), false)
		inv.polls++
		pub(n+"radio_stat", ahoyRadioStat(inv.polls), false)
	}
	if len(a.lastAvail) != len(a.inverters) {
		a.lastAvail = make([]int, len(a.inverters))
		for i := range a.lastAvail {
			a.lastAvail[i] = -1
		}
	}
	allAvail, anyAvail := true, false
	for i, inv := range a.inverters {
		st := inv.status(now)
		if st != a.lastAvail[i] {
			a.lastAvail[i] = st
			pub(inv.name+"/available", strconv.Itoa(st), true)
		}
		if st > 0 {
			anyAvail = true
		} else {
			allAvail = false
		}
	}
	st := 0
	switch {
	case allAvail:
		st = 2
	case anyAvail:
		st = 1
	}
	if st != a.lastStatus {
		a.lastStatus = st
		pub("status", strconv.Itoa(st), true)
	}
	if all && any {
		pub("total/P_AC", ahoyG(acW), true)
		pub("total/YieldTotal", ahoyG(float64(total)/1000), true)
		pub("total/YieldDay", ahoyG(float64(day)), true)
		pub("total/P_DC", ahoyG(dcW), true)
	}
	pub("uptime", strconv.FormatInt(max(int64(now.Sub(a.boot)/time.Second), 0), 10), false)
	if m := now.Unix() / 60; m != a.lastMinute {
		// tickerMinute of an ESP8266 build.
		a.lastMinute = m
		pub("wifi_rssi", "-67", false)
		pub("free_heap", "21384", false)
		pub("heap_frag", "9", false)
	}
	if !commStart.IsZero() && (commStart.Add(a.skew).Unix() != a.lastCommStart || commStop.Add(a.skew).Unix() != a.lastCommStop) {
		a.lastCommStart, a.lastCommStop = commStart.Add(a.skew).Unix(), commStop.Add(a.skew).Unix()
		pub("comm_start", strconv.FormatInt(a.lastCommStart, 10), true)
		pub("comm_stop", strconv.FormatInt(a.lastCommStop, 10), true)
		for _, inv := range a.inverters {
			pub(inv.name+"/dis_night_comm", "true", true) // tickerSun
		}
	}
	return msgs
}

// ahoyRadioStat is <name>/radio_stat after polls polls, in sendRadioStat's
// format: every request answered, none lost.
func ahoyRadioStat(polls int) string {
	n := strconv.Itoa(polls)
	return `{"tx":` + n + `,"success":` + n + `,"fail":0,"no_answer":0,"retransmits":0,"lossIvRx":0,"lossIvTx":0,"lossDtuRx":0,"lossDtuTx":0}`
}

func (a *ahoyDTU) clientID() string { return a.id }

func (a *ahoyDTU) setSkew(skew time.Duration) { a.skew = skew }

// reboot restarts the DTU and its inverters: counters from 0 (fault
// injection), limits lost, the change-driven topics sent again.
func (a *ahoyDTU) reboot(now time.Time) {
	a.boot = now
	for _, inv := range a.inverters {
		inv.yieldTotalWh, inv.yieldDayWh, inv.limitPct = 0, 0, 100
	}
}

func (a *ahoyDTU) will() Message {
	return Message{Device: a.id, Topic: a.topic + "/mqtt", Payload: "not connected", QoS: availabilityQoS, Retained: true}
}

func (a *ahoyDTU) onConnect(time.Time) []Message {
	a.lastAvail, a.lastStatus, a.lastCommStart, a.lastCommStop, a.lastMinute = nil, -1, 0, 0, 0
	return []Message{
		a.msg("version", ahoyVersion, true),
		a.msg("device", "AhoyDTU", true),
		a.msg("ip_addr", "192.0.2.30", true),
		{Device: a.id, Topic: a.topic + "/mqtt", Payload: "connected", QoS: availabilityQoS, Retained: true},
	}
}

func (a *ahoyDTU) subscriptions() []string { return []string{a.topic + "/ctrl/#"} }

// handle applies <TOPIC>/ctrl/<command>/<index>.
func (a *ahoyDTU) handle(_ time.Time, topic string, payload []byte, _ bool) ([]Message, bool, string) {
	rest, ok := strings.CutPrefix(topic, a.topic+"/ctrl/")
	cmd, idxS, two := strings.Cut(rest, "/")
	if !ok || !two || strings.Contains(idxS, "/") {
		return nil, false, "not <TOPIC>/ctrl/<command>/<index>"
	}
	idx, ok := strtol([]byte(idxS)) // the firmware's atoi: "x" is 0
	if !ok || idx >= int64(len(a.inverters)) {
		return nil, false, "no inverter with that index"
	}
	inv := a.inverters[idx]
	if !inv.reachable {
		return nil, false, "inverter not reachable (night)"
	}
	switch cmd {
	case "limit":
		val := atof(payload)
		if val < 0 || val*10 > math.MaxUint16 {
			return nil, false, "limit outside 0..6553.5: it is kept ×10 in 16 bits"
		}
		// RestApi.h: powerLimit[0] = uint16(val × 10), val a float.
		kept := math.Trunc(float64(float32(val)) * 10)
		s := strings.TrimRight(string(payload), " \t\r\n")
		if strings.HasSuffix(s, "W") {
			// Hoymiles keeps the limit in 0.1 % of its nameplate; truncate
			// so the applied limit never exceeds the requested watts.
			inv.limitPct = math.Min(100, math.Floor(kept/10/inv.nameplate*1000+1e-9)/10)
		} else {
			if kept < 20 || kept > 1000 {
				return nil, false, "relative limit outside 2..100 %"
			}
			inv.limitPct = kept / 10
		}
		// 0.8.106+: the kept value, retained (pubMqtt.h setPowerLimitAck).
		return []Message{a.msg(inv.name+"/ack_pwr_limit", strconv.FormatFloat(kept/10, 'f', 1, 64), true)}, true, ""
	case "restart":
		inv.yieldDayWh, inv.limitPct = 0, 100
		return nil, true, ""
	}
	return nil, false, "command not simulated"
}

// atof reads a number as C's atof does: leading blanks, an optional sign,
// digits with an optional fraction; whatever follows is ignored and no
// number is 0.
func atof(payload []byte) float64 {
	s := strings.TrimLeft(string(payload), " \t\n\r\f\v")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end < len(s) && s[end] == '.' {
		end++
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
	}
	v, err := strconv.ParseFloat(s[:end], 64)
	if err != nil {
		return 0
	}
	return v
}

// daylight returns AhoyDTU's polling window for sim time now: the sim-
// clock times at which the PV profile's day (of the profile time at now)
// starts and stops producing, with the profile's interpolation between
// hour midpoints; zero times when that day has no production.
func (s *Sim) daylight(now time.Time) (start, stop time.Time) {
	if len(s.ahoys) == 0 {
		return
	}
	pt := s.ProfileTime(now)
	y, m, d := pt.Date()
	base := typicalYearHour(int(m), d, 0)
	first, last := -1, -1
	for h := range 24 {
		if s.pvProfile.HourAC(base+h) > 0 {
			if first < 0 {
				first = h
			}
			last = h
		}
	}
	if first < 0 {
		return
	}
	midnight := time.Date(y, m, d, 0, 0, 0, 0, pt.Location())
	toSim := func(p time.Time) time.Time {
		return s.simStart.Add(time.Duration(float64(p.Sub(s.profileStart)) / s.cfg.Speed)).Truncate(time.Second)
	}
	start = toSim(midnight.Add(time.Duration((float64(first) - 0.5) * float64(time.Hour))))
	stop = toSim(midnight.Add(time.Duration((float64(last) + 1.5) * float64(time.Hour))))
	return start, stop
}
