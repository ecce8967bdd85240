package devices

import (
	"errors"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// The conformance suite: every registered dialect must provide fixtures
// (built from the vendor references in shared/payloads) and pass the same
// checks. A vendor's _test file registers its fixtures in init with
// registerConformance.

// conformance is one dialect's fixtures.
type conformance struct {
	config AdapterConfig
	// decode: message sequences and the updates they must yield, in
	// gridmint's units and signs.
	decode []decodeFixture
	// offline: messages after which the device offlineSerial ("" = every
	// device of the adapter) is reported offline.
	offline       []mqttMsg
	offlineSerial string
	// commands: one per setpoint kind the adapter supports, at least.
	commands []commandFixture
	// keepAlive: for KeepAlivers, the topic every keep-alive must use.
	keepAliveTopic string
}

type decodeFixture struct {
	name string
	msgs []mqttMsg
	want []Update // every update the messages yield, in order
}

type commandFixture struct {
	serial      string
	setpoint    gridmint.Setpoint
	wantTopic   string
	wantPayload string
	// prime are messages decoded before the command is built (adapters
	// that learn addressing from traffic).
	prime []mqttMsg
	// confirm settles the command as done; refuse (optional) settles it as
	// refused; other must not settle it.
	confirm, refuse, other mqttMsg
}

var conformanceFixtures = map[string]func() conformance{}

func registerConformance(dialect string, f func() conformance) { conformanceFixtures[dialect] = f }

func TestConformance(t *testing.T) {
	for _, dialect := range Dialects() {
		t.Run(dialect, func(t *testing.T) {
			fx, ok := conformanceFixtures[dialect]
			if !ok {
				t.Fatalf("dialect %s has no conformance fixtures: add them in its _test file with registerConformance", dialect)
			}
			c := fx()
			c.config.Dialect = dialect
			t.Run("decode", func(t *testing.T) { conformDecode(t, c) })
			t.Run("counters normalise", func(t *testing.T) { conformCounters(t, c) })
			t.Run("offline", func(t *testing.T) { conformOffline(t, c) })
			t.Run("setpoints", func(t *testing.T) { conformCommands(t, c) })
			t.Run("keep-alive", func(t *testing.T) { conformKeepAlive(t, c) })
		})
	}
}

func conformDecode(t *testing.T, c conformance) {
	if len(c.decode) == 0 {
		t.Fatal("no decode fixtures")
	}
	for _, f := range c.decode {
		a := mustAdapter(t, c.config)
		var got []Update
		for i, m := range f.msgs {
			if !subscribed(a, m.topic) {
				t.Errorf("%s: topic %s is not covered by Subscriptions %v", f.name, m.topic, a.Subscriptions())
			}
			ups, err := a.Decode(m.topic, []byte(m.payload))
			if err != nil {
				t.Fatalf("%s: message %d (%s): %v", f.name, i, m.topic, err)
			}
			checkDecoded(t, ups, nil)
			got = append(got, ups...)
		}
		if !reflect.DeepEqual(got, f.want) {
			t.Errorf("%s:\n got %s\nwant %s", f.name, fmtUpdates(got), fmtUpdates(f.want))
		}
	}
}

func subscribed(a Adapter, topic string) bool {
	for _, f := range a.Subscriptions() {
		if mqtttopic.Match(f, topic) {
			return true
		}
	}
	return false
}

// conformCounters runs every fixture through Ingest: the dialect's
// counters must normalise without a single rejection.
func conformCounters(t *testing.T, c conformance) {
	for _, f := range c.decode {
		in := newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, c.config)}, Discover: true})
		o := in.Process(msgsAt(t0, f.msgs...))
		for _, r := range o.Rejections {
			t.Errorf("%s: %s rejected: %s %s", f.name, r.Topic, r.Reason, r.Detail)
		}
		for _, r := range o.Readings {
			if r.Fields == 0 {
				t.Errorf("%s: reading without fields: %v", f.name, r)
			}
		}
	}
}

// conformOffline runs the offline fixture through Ingest, after a decode
// fixture and the offline fixture's own first messages made the device
// known: it must be offline then, still offline after a restart
// (a fresh adapter and Ingest from the stored registry and states), and,
// when the node restarted before the signal, the signal alone (a retained
// message, which arrives before anything else) must mark the known device
// offline although the fresh decoder never saw it.
func conformOffline(t *testing.T, c conformance) {
	if len(c.offline) == 0 {
		t.Fatal("no offline fixture: every dialect has some offline signal")
	}
	signal := c.offline[len(c.offline)-1]
	clk := &fakeClock{now: t0.Add(time.Minute)}
	states := map[gridmint.DeviceID]CounterState{} // what the node stores
	start := func(known []gridmint.Device, st map[gridmint.DeviceID]CounterState) *Ingest {
		return newTestIngest(t, IngestConfig{Adapters: []Adapter{mustAdapter(t, c.config)}, Discover: true,
			StaleAfter: time.Hour, Clock: clk, Known: known, States: maps.Clone(st)})
	}
	run := func(in *Ingest, at time.Time, msgs ...mqttMsg) {
		o := in.Process(msgsAt(at, msgs...))
		maps.Copy(states, o.States)
		in.Accept(o)
	}
	targets := func(in *Ingest) []DeviceState {
		var out []DeviceState
		for _, d := range in.Devices() {
			if c.offlineSerial == "" || d.Serial == c.offlineSerial {
				out = append(out, d)
			}
		}
		return out
	}
	check := func(in *Ingest, when string, online bool) {
		t.Helper()
		for _, d := range targets(in) {
			if d.Online != online {
				t.Errorf("%s: %s online %v (availability %d), want %v", when, d.ID, d.Online, d.Availability, online)
			}
		}
	}

	// The first decode fixture that, with the offline fixture's first
	// messages, makes the device known.
	var in *Ingest
	for _, f := range c.decode {
		clear(states)
		in = start(nil, nil)
		run(in, t0, append(slices.Clone(f.msgs), c.offline[:len(c.offline)-1]...)...)
		if len(targets(in)) > 0 {
			break
		}
	}
	if len(targets(in)) == 0 {
		t.Fatalf("no decode fixture with the offline fixture's first messages makes device %q known", c.offlineSerial)
	}
	check(in, "before the offline signal", true)
	var known []gridmint.Device
	for _, d := range in.Devices() {
		known = append(known, d.Device)
	}
	before := maps.Clone(states)

	run(in, t0.Add(time.Second), signal)
	check(in, "after the offline signal", false)
	check(start(known, states), "restarted after the offline signal", false)

	in = start(known, before)
	check(in, "restarted before the offline signal", true)
	run(in, t0.Add(time.Second), signal)
	check(in, "restarted, then the retained offline signal", false)
}

func conformCommands(t *testing.T, c conformance) {
	a := mustAdapter(t, c.config)
	kinds := map[gridmint.SetpointKind]bool{}
	for _, f := range c.commands {
		kinds[f.setpoint.Kind] = true
		for _, m := range f.prime {
			if _, err := a.Decode(m.topic, []byte(m.payload)); err != nil {
				t.Fatalf("prime %s: %v", m.topic, err)
			}
		}
		cmd, err := EncodeSetpoint(a, f.serial, f.setpoint)
		if err != nil {
			t.Errorf("%s %v: %v", f.setpoint.Kind, f.setpoint.Value, err)
			continue
		}
		if cmd.Topic != f.wantTopic || string(cmd.Payload) != f.wantPayload {
			t.Errorf("%s %v: command %s %q, want %s %q", f.setpoint.Kind, f.setpoint.Value, cmd.Topic, cmd.Payload, f.wantTopic, f.wantPayload)
		}
		if cmd.QoS > 1 {
			t.Errorf("%s: QoS %d, want 0 or 1", f.setpoint.Kind, cmd.QoS)
		}
		if cmd.Confirm == nil {
			t.Errorf("%s: command has no confirmation", f.setpoint.Kind)
			continue
		}
		if !covered(a, cmd.Confirm.Filter) {
			t.Errorf("%s: confirmation filter %s is neither a reply subscription nor telemetry", f.setpoint.Kind, cmd.Confirm.Filter)
		}
		settle := func(m mqttMsg) (bool, error) {
			if !mqtttopic.Match(cmd.Confirm.Filter, m.topic) {
				return false, nil
			}
			return cmd.Confirm.Match(m.topic, []byte(m.payload))
		}
		if done, err := settle(f.confirm); !done || err != nil {
			t.Errorf("%s: confirmation %s %q gave done=%v err=%v, want done", f.setpoint.Kind, f.confirm.topic, f.confirm.payload, done, err)
		}
		if f.refuse.topic != "" {
			if done, err := settle(f.refuse); !done || err == nil {
				t.Errorf("%s: refusal %s %q gave done=%v err=%v, want done with an error", f.setpoint.Kind, f.refuse.topic, f.refuse.payload, done, err)
			}
		}
		if f.other.topic != "" {
			if done, _ := settle(f.other); done {
				t.Errorf("%s: unrelated %s %q settled the command", f.setpoint.Kind, f.other.topic, f.other.payload)
			}
		}
	}
	// Every control interface the adapter implements has a fixture.
	for kind, need := range gridmint.SetpointKinds {
		if slices.Contains(Capabilities(a), need) && !kinds[kind] {
			t.Errorf("adapter has %s but no %s command fixture", need, kind)
		}
	}
	// Setpoints it does not support are refused with a clear error.
	for kind, need := range gridmint.SetpointKinds {
		if !slices.Contains(Capabilities(a), need) {
			if _, err := EncodeSetpoint(a, "x", gridmint.Setpoint{Kind: kind, Origin: gridmint.OriginHomeowner}); gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Errorf("unsupported %s: error %v, want invalid", kind, err)
			}
		}
	}
}

// covered reports whether messages on filter reach the node: a reply
// subscription or a telemetry subscription covers it.
func covered(a Adapter, filter string) bool {
	var subs []string
	if r, ok := a.(Replier); ok {
		subs = append(subs, r.ReplySubscriptions()...)
	}
	subs = append(subs, a.Subscriptions()...)
	for _, s := range subs {
		if mqtttopic.Match(s, filter) || s == filter {
			return true
		}
	}
	return false
}

func conformKeepAlive(t *testing.T, c conformance) {
	a := mustAdapter(t, c.config)
	k, ok := a.(KeepAliver)
	if !ok {
		if c.keepAliveTopic != "" {
			t.Errorf("fixture names keep-alive topic %s but the adapter is no KeepAliver", c.keepAliveTopic)
		}
		return
	}
	if iv := k.KeepAliveInterval(); iv <= 0 || iv >= 60*time.Second {
		t.Errorf("keep-alive interval %v, want well under 60 s", iv)
	}
	cmds := k.KeepAlive()
	if len(cmds) == 0 {
		t.Fatal("KeepAlive returned no command")
	}
	for _, cmd := range cmds {
		if cmd.Topic != c.keepAliveTopic {
			t.Errorf("keep-alive topic %s, want %s", cmd.Topic, c.keepAliveTopic)
		}
	}
}

func init() {
	registerConformance("tasmota", func() conformance {
		src := time.Date(2023, 5, 19, 20, 52, 56, 0, time.UTC)
		return conformance{
			decode: []decodeFixture{
				{"single channel capture", []mqttMsg{{"tele/sonoff_desk/SENSOR", tasmotaSonoffDesk}},
					[]Update{{Serial: "sonoff_desk", Measurement: meas(src, 56, 514_153_000)}}},
				{"Sonoff Dual R3 with SetOption129", []mqttMsg{{"tele/dual/SENSOR", tasmotaDualR3}}, []Update{
					{Serial: "dual:1", Measurement: meas(time.Date(2026, 9, 18, 11, 19, 21, 0, time.UTC), 52, 2_813_000)},
					{Serial: "dual:2", Measurement: meas(time.Date(2026, 9, 18, 11, 19, 21, 0, time.UTC), 5, 254_000)},
				}},
				{"Shelly 3EM on Tasmota: ExportActive per phase, summed (arendst/Tasmota#17178)", []mqttMsg{{"tele/3em/SENSOR", tasmotaShelly3EM}}, []Update{
					{Serial: "3em", Measurement: &Measurement{SourceTime: time.Date(2022, 11, 24, 13, 4, 3, 0, time.UTC), Power: ptr(gridmint.W(-0.2)),
						Forward: &Counter{Value: 6_270, Kind: gridmint.CounterLifetime}, Reverse: &Counter{Value: 24_670, Kind: gridmint.CounterLifetime}}},
				}},
			},
			offline:       []mqttMsg{{"tele/sonoff_desk/LWT", "Offline"}},
			offlineSerial: "sonoff_desk",
			commands: []commandFixture{{
				serial: "sonoff_desk", setpoint: gridmint.Setpoint{Kind: gridmint.SetpointSwitch, Value: 0, Origin: gridmint.OriginHomeowner},
				wantTopic: "cmnd/sonoff_desk/POWER", wantPayload: "OFF",
				confirm: mqttMsg{"stat/sonoff_desk/RESULT", `{"POWER":"OFF"}`},
				refuse:  mqttMsg{"stat/sonoff_desk/RESULT", `{"POWER":"ON"}`},
				other:   mqttMsg{"stat/sonoff_desk/RESULT", `{"Dimmer":30}`},
			}},
		}
	})
	registerConformance("opendtu", func() conformance {
		return conformance{
			decode: []decodeFixture{
				{"one publish cycle, power last", openDTUCycle("114190641177", 1701271852, "123.4", "13.338"), []Update{
					{Serial: "114190641177", Name: "HM-800"},
					{Serial: "114190641177", Availability: AvailabilityOnline},
					{Serial: "114190641177", Measurement: meas(time.Unix(1701271852, 0).UTC(), 123.4, 13_338_000)},
				}},
			},
			offline:       []mqttMsg{{"solar/114190641177/status/reachable", "0"}},
			offlineSerial: "114190641177",
			commands: []commandFixture{{
				serial: "116181234567", setpoint: gridmint.Setpoint{Kind: gridmint.SetpointPowerLimit, Value: 600.7, Origin: gridmint.OriginMarket},
				wantTopic: "solar/116181234567/cmd/limit_nonpersistent_absolute", wantPayload: "600",
				confirm: mqttMsg{"solar/116181234567/status/limit_absolute", "600.00"},
				other:   mqttMsg{"solar/116181234567/status/limit_absolute", "800.00"},
			}},
		}
	})
}

// TestCheckLimits covers the safety limits and the opt-out that guard
// every setpoint before it is sent.
func TestCheckLimits(t *testing.T) {
	caps := []gridmint.Capability{gridmint.CapCurrentCtl, gridmint.CapBatteryCtl, gridmint.CapPowerLimit, gridmint.CapSwitch}
	st := DeviceState{Device: gridmint.Device{ID: "n/x/d", Capabilities: caps, Nameplate: 800, Limits: gridmint.SafetyLimits{
		MinCurrent: 6, MaxCurrent: 16, SoCFloor: 20, MaxCharge: 3000, MaxDischarge: 2500, ExportLimit: 2000,
	}}, Fields: gridmint.FieldSoC, SoC: 45}
	sp := func(kind gridmint.SetpointKind, v float64) gridmint.Setpoint {
		return gridmint.Setpoint{Device: "n/x/d", Kind: kind, Value: v, Origin: gridmint.OriginHomeowner}
	}
	tests := []struct {
		name    string
		st      func(DeviceState) DeviceState
		sp      gridmint.Setpoint
		wantErr string // code, "" = allowed
	}{
		{"current within limits", nil, sp(gridmint.SetpointChargeCurrent, 10), ""},
		{"current zero stops", nil, sp(gridmint.SetpointChargeCurrent, 0), ""},
		{"current above max", nil, sp(gridmint.SetpointChargeCurrent, 32), gridmint.EInvalid},
		{"current below min", nil, sp(gridmint.SetpointChargeCurrent, 4), gridmint.EInvalid},
		{"fractional current", nil, sp(gridmint.SetpointChargeCurrent, 10.5), gridmint.EInvalid},
		{"discharge within", nil, sp(gridmint.SetpointBatteryPower, 1500), ""},
		{"discharge above max", nil, sp(gridmint.SetpointBatteryPower, 2600), gridmint.EInvalid},
		{"discharge above export limit", func(s DeviceState) DeviceState { s.Limits.MaxDischarge = 0; return s }, sp(gridmint.SetpointBatteryPower, 2100), gridmint.EInvalid},
		{"charge above max", nil, sp(gridmint.SetpointBatteryPower, -3500), gridmint.EInvalid},
		{"charge ignores the SoC floor", func(s DeviceState) DeviceState { s.SoC = 5; return s }, sp(gridmint.SetpointBatteryPower, -1000), ""},
		{"discharge at the SoC floor", func(s DeviceState) DeviceState { s.SoC = 20; return s }, sp(gridmint.SetpointBatteryPower, 500), gridmint.EInvalid},
		{"discharge with unknown SoC", func(s DeviceState) DeviceState { s.Fields = 0; return s }, sp(gridmint.SetpointBatteryPower, 500), gridmint.EInvalid},
		{"inverter limit above export limit", nil, sp(gridmint.SetpointPowerLimit, 2100), gridmint.EInvalid},
		{"inverter limit", nil, sp(gridmint.SetpointPowerLimit, 400), ""},
		{"market setpoint with opt-out", func(s DeviceState) DeviceState { s.OptOut = true; return s },
			gridmint.Setpoint{Device: "n/x/d", Kind: gridmint.SetpointSwitch, Value: 1, Origin: gridmint.OriginMarket}, gridmint.EConflict},
		{"homeowner setpoint with opt-out", func(s DeviceState) DeviceState { s.OptOut = true; return s }, sp(gridmint.SetpointSwitch, 1), ""},
		{"capability missing", func(s DeviceState) DeviceState { s.Capabilities = []gridmint.Capability{gridmint.CapPower}; return s },
			sp(gridmint.SetpointSwitch, 1), gridmint.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := st
			if tt.st != nil {
				s = tt.st(s)
			}
			err := CheckLimits(s, tt.sp)
			if got := gridmint.ErrorCode(err); got != tt.wantErr {
				t.Errorf("CheckLimits(%+v) = %v (code %q), want code %q", tt.sp, err, got, tt.wantErr)
			}
			var e *gridmint.Error
			if err != nil && (!errors.As(err, &e) || e.Message == "") {
				t.Errorf("error %v has no message", err)
			}
		})
	}
}
