package firmwaresim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Tasmota as the firmware does it (tasmota docs MQTT.md and Commands.md,
// the energy driver's key order, third-party captures in
// shared/payloads/tasmota.md):
//
//   - Topics follow FullTopic, "%prefix%/%topic%/" by default: tele/ for
//     periodic telemetry, cmnd/ for commands, stat/ for replies.
//   - Every TelePeriod: tele/<topic>/STATE, then tele/<topic>/SENSOR with
//     ENERGY keys in the driver's order: TotalStartTime, Total, Yesterday,
//     Today, Period, Power, ApparentPower, ReactivePower, Factor, Voltage,
//     Current. Total/Yesterday/Today kWh with 3 decimals, Period whole Wh
//     since the previous SENSOR, Power/ApparentPower/ReactivePower/Voltage
//     whole W/VA/VAr/V, Factor 2 decimals, Current A with 3.
//   - Several channels: every per-channel value becomes an array (also
//     Period), Voltage stays a shared scalar, as the Sonoff Dual R3
//     capture shows.
//   - Time and TotalStartTime: local time without offset.
//   - tele/<topic>/LWT "Online" retained on connect, "Offline" retained as
//     the MQTT will.
//   - Tasmota publishes telemetry and replies with QoS 0 (its MQTT client,
//     PubSubClient, has no QoS 1 publish), not retained by default. The
//     simulated LWT uses availabilityQoS.
//   - cmnd/<topic>/POWER[<n>] ON|OFF|TOGGLE|1|0|2, empty = query; reply
//     stat/<topic>/RESULT {"POWER":"ON"} then stat/<topic>/POWER ON
//     (POWER<n> keys on multi-relay devices). cmnd/<topic>/Status 8 or 10
//     replies on stat/<topic>/STATUS8 (STATUS10) with ENERGY under
//     StatusSNS, without Period. Commands are case-insensitive. Anything
//     else gets {"Command":"Unknown"} on RESULT. Retained commands are
//     obeyed like any other: unlike OpenDTU, Tasmota does not look at the
//     retain flag (inferred from its docs' warnings about retained cmnd
//     topics; not in our notes).

const tasmotaQoS = 0

// tasmotaTimeLayout is Tasmota's Time: local wall-clock time, no offset.
const tasmotaTimeLayout = "2006-01-02T15:04:05"

// plug is one Tasmota energy-monitoring plug with one or more relays.
type plug struct {
	id         string // MQTT client ID
	topic      string // %topic%
	fullTopic  string
	annualKWh  float64 // per channel
	pf         float64
	nominalV   float64
	telePeriod time.Duration
	separate   bool // SetOption129: per-channel totals
	rng        *rand.Rand
	boot       time.Time      // sim-clock start, for Uptime
	loc        *time.Location // zone of Time and TotalStartTime
	skew       time.Duration  // clock error of Time (fault injection)

	// Kept in State.
	totalStart time.Time // TotalStartTime: when the counters were started
	day        civilDate // profile-local date of the Today values
	channels   []*plugChannel

	lastStep  time.Time
	lastTele  time.Time
	mqttCount int     // MQTT connects so far, Tasmota's MqttCount
	voltage   float64 // last measured mains voltage, V
}

// plugChannel is one metered relay.
type plugChannel struct {
	// Kept in State.
	totalWh, todayWh, yesterdayWh float64
	relayOn                       bool

	powerW        float64 // power of the last step, W
	periodStartWh int64   // whole Wh of Total at the previous SENSOR
}

func newPlug(pc PlugConfig, field, prefix string, seed uint64, now time.Time, loc *time.Location) (*plug, error) {
	if pc.Topic == "" || strings.ContainsAny(pc.Topic, "/+#% ") {
		return nil, invalid("%s.Topic %q: want a non-empty MQTT level without '/', '+', '#', '%%' or blanks, e.g. tasmota_A1B2C3", field, pc.Topic)
	}
	ft := pc.FullTopic
	if ft == "" {
		ft = DefaultFullTopic
	}
	if strings.Count(ft, "%prefix%") != 1 || strings.Count(ft, "%topic%") != 1 || !strings.HasSuffix(ft, "/") ||
		strings.ContainsAny(ft, "+#") || strings.HasPrefix(ft, "/") || strings.Contains(ft, "//") {
		return nil, invalid("%s.FullTopic %q: want %%prefix%% and %%topic%% once each and a trailing '/', e.g. %q", field, pc.FullTopic, DefaultFullTopic)
	}
	n := pc.Channels
	if n == 0 {
		n = 1
	}
	if n < 1 || n > MaxPlugChannels {
		return nil, invalid("%s.Channels %d: want 1..%d", field, pc.Channels, MaxPlugChannels)
	}
	annual := pc.AnnualKWh
	if annual == 0 {
		annual = DefaultAnnualKWh
	}
	if annual < 0 || math.IsNaN(annual) || annual > 1e6 {
		return nil, invalid("%s.AnnualKWh %v: want 0 < kWh/yr <= 1e6", field, pc.AnnualKWh)
	}
	pf := pc.PowerFactor
	if pf == 0 {
		pf = DefaultPowerFactor
	}
	if !(pf > 0 && pf <= 1) {
		return nil, invalid("%s.PowerFactor %v: want 0 < pf <= 1", field, pc.PowerFactor)
	}
	v := pc.Voltage
	if v == 0 {
		v = DefaultVoltage
	}
	if !(v >= 50 && v <= 480) {
		return nil, invalid("%s.Voltage %v V: want 50..480", field, pc.Voltage)
	}
	if pc.TelePeriod < 0 {
		return nil, invalid("%s.TelePeriod %v: must not be negative", field, pc.TelePeriod)
	}
	p := &plug{
		id:         prefix + pc.Topic,
		topic:      pc.Topic,
		fullTopic:  ft,
		annualKWh:  annual,
		pf:         pf,
		nominalV:   v,
		telePeriod: pc.TelePeriod,
		separate:   pc.SeparateTotals,
		rng:        deviceRand(seed, "tasmota/"+pc.Topic),
		boot:       now,
		loc:        loc,
		totalStart: now.Truncate(time.Second),
		voltage:    v,
	}
	for range n {
		p.channels = append(p.channels, &plugChannel{relayOn: true})
	}
	return p, nil
}

// topicFor builds "<FullTopic with prefix and topic filled in><name>".
func (p *plug) topicFor(prefix, name string) string {
	return strings.NewReplacer("%prefix%", prefix, "%topic%", p.topic).Replace(p.fullTopic) + name
}

// advance moves the plug to sim time now at profile time pt.
func (p *plug) advance(now, pt time.Time, load *LoadProfile) {
	dtHours := hoursSince(p.lastStep, now)
	if now.After(p.lastStep) {
		p.lastStep = now // never count an interval twice if the clock steps back
	}
	if d := dateOf(pt); d != p.day {
		if !p.day.isZero() {
			next := d == p.day.next()
			for _, ch := range p.channels {
				ch.yesterdayWh = 0
				if next {
					ch.yesterdayWh = ch.todayWh
				}
				ch.todayWh = 0
			}
		}
		p.day = d
	}
	base := load.Power(pt, p.annualKWh)
	// One voltage draw and one draw per channel every step, relay on or
	// off, so the noise stream does not depend on commands.
	p.voltage = clamp(p.nominalV+1.5*p.rng.NormFloat64(), 0.9*p.nominalV, 1.1*p.nominalV)
	for _, ch := range p.channels {
		w := base * (1 + 0.05*clamp(p.rng.NormFloat64(), -3, 3))
		if !ch.relayOn {
			w = 0
		}
		ch.powerW = w
		ch.totalWh += w * dtHours
		ch.todayWh += w * dtHours
	}
}

// teleDue reports whether a TelePeriod has passed since the last SENSOR.
// Half a step of slack keeps ticker jitter from skipping a cycle.
func (p *plug) teleDue(now time.Time, step time.Duration) bool {
	return p.lastTele.IsZero() || p.telePeriod <= 0 || now.Sub(p.lastTele) >= p.telePeriod-step/2
}

// tele returns STATE and SENSOR and starts a new Period.
func (p *plug) tele(now time.Time) []Message {
	msgs := []Message{
		p.msg(p.topicFor("tele", "STATE"), p.stateJSON(now)),
		p.msg(p.topicFor("tele", "SENSOR"), p.sensorJSON(now, true)),
	}
	for _, ch := range p.channels {
		ch.periodStartWh = wholeWh(ch.totalWh)
	}
	p.lastTele = now
	return msgs
}

func (p *plug) msg(topic, payload string) Message {
	return Message{Device: p.id, Topic: topic, Payload: payload, QoS: tasmotaQoS}
}

// sensorJSON is the SENSOR payload; withPeriod is false for Status replies.
func (p *plug) sensorJSON(now time.Time, withPeriod bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"Time":%q,"ENERGY":`, now.Add(p.skew).In(p.loc).Format(tasmotaTimeLayout))
	b.WriteString(p.energyJSON(withPeriod))
	b.WriteString("}")
	return b.String()
}

func (p *plug) energyJSON(withPeriod bool) string {
	n := len(p.channels)
	per := func(f func(ch *plugChannel) string) string {
		if n == 1 {
			return f(p.channels[0])
		}
		vals := make([]string, n)
		for i, ch := range p.channels {
			vals[i] = f(ch)
		}
		return "[" + strings.Join(vals, ",") + "]"
	}
	// Derived AC values of a channel from its power and the mains voltage.
	apparent := func(ch *plugChannel) float64 {
		if ch.powerW <= 0 {
			return 0
		}
		return ch.powerW / p.pf
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{"TotalStartTime":%q`, p.totalStart.In(p.loc).Format(tasmotaTimeLayout))
	// Counters are per channel with SetOption129, else one sum, as the
	// firmware's EnergyShow prints them.
	counter := func(f func(ch *plugChannel) int64, format func(int64) string) string {
		if p.separate {
			return per(func(ch *plugChannel) string { return format(f(ch)) })
		}
		var sum int64
		for _, ch := range p.channels {
			sum += f(ch)
		}
		return format(sum)
	}
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	b.WriteString(`,"Total":` + counter(func(ch *plugChannel) int64 { return wholeWh(ch.totalWh) }, kWh3))
	b.WriteString(`,"Yesterday":` + counter(func(ch *plugChannel) int64 { return wholeWh(ch.yesterdayWh) }, kWh3))
	b.WriteString(`,"Today":` + counter(func(ch *plugChannel) int64 { return wholeWh(ch.todayWh) }, kWh3))
	if withPeriod {
		b.WriteString(`,"Period":` + counter(func(ch *plugChannel) int64 { return wholeWh(ch.totalWh) - ch.periodStartWh }, itoa))
	}
	b.WriteString(`,"Power":` + per(func(ch *plugChannel) string { return whole(ch.powerW) }))
	b.WriteString(`,"ApparentPower":` + per(func(ch *plugChannel) string { return whole(apparent(ch)) }))
	b.WriteString(`,"ReactivePower":` + per(func(ch *plugChannel) string {
		s := apparent(ch)
		return whole(math.Sqrt(math.Max(0, s*s-ch.powerW*ch.powerW)))
	}))
	b.WriteString(`,"Factor":` + per(func(ch *plugChannel) string {
		if ch.powerW <= 0 {
			return "0.00"
		}
		return fixed(p.pf, 2)
	}))
	b.WriteString(`,"Voltage":` + whole(p.voltage))
	b.WriteString(`,"Current":` + per(func(ch *plugChannel) string { return fixed(apparent(ch)/p.voltage, 3) }))
	b.WriteString("}")
	return b.String()
}

// whole formats v rounded to an integer.
func whole(v float64) string { return strconv.FormatInt(int64(math.Round(v)), 10) }

// powerKey is the JSON key and stat topic of relay i (0-based): POWER on
// single-relay devices, POWER1.. otherwise.
func (p *plug) powerKey(i int) string {
	if len(p.channels) == 1 {
		return "POWER"
	}
	return "POWER" + strconv.Itoa(i+1)
}

func onOff(on bool) string {
	if on {
		return "ON"
	}
	return "OFF"
}

func (p *plug) stateJSON(now time.Time) string {
	up := int64(now.Sub(p.boot) / time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, `{"Time":%q,"Uptime":%q,"UptimeSec":%d,"Heap":25,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":%d`,
		now.Add(p.skew).In(p.loc).Format(tasmotaTimeLayout), tasmotaDuration(up), up, p.mqttCount)
	for i, ch := range p.channels {
		fmt.Fprintf(&b, `,%q:%q`, p.powerKey(i), onOff(ch.relayOn))
	}
	b.WriteString(`,"Wifi":{"AP":1,"SSId":"gridmint-sim","BSSId":"02:00:00:00:00:01","Channel":6,"Mode":"11n","RSSI":80,"Signal":-60,"LinkCount":1,"Downtime":"0T00:00:03"}}`)
	return b.String()
}

// tasmotaDuration formats seconds as Tasmota's Uptime, "<days>T<hh>:<mm>:<ss>".
func tasmotaDuration(sec int64) string {
	if sec < 0 {
		sec = 0
	}
	return fmt.Sprintf("%dT%02d:%02d:%02d", sec/86400, sec%86400/3600, sec%3600/60, sec%60)
}

func (p *plug) clientID() string { return p.id }

func (p *plug) setSkew(skew time.Duration) { p.skew = skew }

// reboot restarts the plug with its counters at 0 (fault injection: an
// energy driver whose settings were lost) and a new TotalStartTime.
func (p *plug) reboot(now time.Time) {
	p.boot = now
	p.totalStart = now.Truncate(time.Second)
	for _, ch := range p.channels {
		ch.totalWh, ch.todayWh, ch.yesterdayWh, ch.periodStartWh = 0, 0, 0, 0
	}
}

func (p *plug) will() Message {
	return Message{Device: p.id, Topic: p.topicFor("tele", "LWT"), Payload: "Offline", QoS: availabilityQoS, Retained: true}
}

func (p *plug) onConnect(time.Time) []Message {
	p.mqttCount++
	return []Message{{Device: p.id, Topic: p.topicFor("tele", "LWT"), Payload: "Online", QoS: availabilityQoS, Retained: true}}
}

func (p *plug) subscriptions() []string { return []string{p.topicFor("cmnd", "#")} }

func (p *plug) handle(now time.Time, topic string, payload []byte, _ bool) ([]Message, bool, string) {
	cmd, ok := strings.CutPrefix(topic, p.topicFor("cmnd", ""))
	if !ok || cmd == "" || strings.Contains(cmd, "/") {
		return nil, false, "not cmnd/<topic>/<command>"
	}
	arg := strings.ToUpper(strings.TrimSpace(string(payload)))
	upper := strings.ToUpper(cmd)
	unknown := []Message{p.msg(p.topicFor("stat", "RESULT"), `{"Command":"Unknown"}`)}
	switch {
	case strings.HasPrefix(upper, "POWER"):
		idx := 0
		if num := upper[len("POWER"):]; num != "" {
			n, err := strconv.Atoi(num)
			if err != nil || n < 1 || n > len(p.channels) {
				return unknown, false, "no such relay"
			}
			idx = n - 1
		}
		ch := p.channels[idx]
		switch arg {
		case "ON", "1":
			ch.relayOn = true
		case "OFF", "0":
			ch.relayOn = false
		case "TOGGLE", "2":
			ch.relayOn = !ch.relayOn
		default: // empty or anything else: query
		}
		key, state := p.powerKey(idx), onOff(ch.relayOn)
		return []Message{
			p.msg(p.topicFor("stat", "RESULT"), fmt.Sprintf(`{%q:%q}`, key, state)),
			p.msg(p.topicFor("stat", key), state),
		}, true, ""
	case upper == "STATUS" && (arg == "8" || arg == "10"):
		body := fmt.Sprintf(`{"StatusSNS":%s}`, p.sensorJSON(now, false))
		return []Message{p.msg(p.topicFor("stat", "STATUS"+arg), body)}, true, ""
	}
	return unknown, false, "command not simulated"
}
