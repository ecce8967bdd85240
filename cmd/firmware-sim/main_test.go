package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"go.yaml.in/yaml/v3"

	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
)

// patience bounds every wait for the simulator's output. The waits end as
// soon as the output is there (well under a second, a few seconds on a
// loaded 2-core machine under the race detector), so only a real failure
// meets the bound.
const patience = 2 * time.Minute

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	var out syncBuffer
	if code := run(context.Background(), []string{"--help"}, io.Discard, &out); code != 0 {
		t.Fatalf("--help exit code %d", code)
	}
	for _, want := range []string{
		"-broker URL", "tcp://host:port", "-period duration", "-tele-period duration", "-pv number", "-plugs number",
		"-plug-channels number", "-nameplate-w W", "-annual-kwh kWh", "-seed", "-speed factor", "-profile-start time",
		"RFC3339", "-state-file file", "-base-topic topic", "-full-topic pattern", "late morning",
		"-shelly-plugs number", "-shelly-meters number", "-victron number", "-goe number", "-ahoy number",
		"-house-annual-kwh kWh", "-battery-kwh kWh", "-goe-session-kwh kWh", "-goe-phases number",
		"3000 W", "600 W", "16 A", "230 V", "negative power = export",
		"shellyplusplugs-02a1b2000001", "shellypro3em-02a1b3000001", "02c0619a0001", "200001", "HM-600 (index 0)",
		"R/<portal>/keepalive", "inverter/ctrl/limit/<index>",
		"-homes number", "-scenario file", "-faults spec", "-connections mode", "-homes-per-connection number",
		"-summary-every duration", "--homes 1000 --speed 60 --seed 7 --faults default", "default,drop=0.02",
		"solar-<h>/", "dishonest", "-every-dialect", "-print-config", "examples/one-house.yaml",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--pv", "-1"},
		{"--pv", "0", "--plugs", "0"},
		{"--shelly-plugs", "-1"},
		{"--shelly-meters", "10001"},
		{"--victron", "-2"},
		{"--goe", "-1"},
		{"--ahoy", "17"},
		{"--goe-phases", "2", "--goe", "1"},
		{"--goe-session-kwh", "-1"},
		{"--house-annual-kwh", "-5"},
		{"--battery-kwh", "0.0", "--victron", "1", "--battery-kwh", "-1"},
		{"--period", "0s"},
		{"--speed", "0"},
		{"--profile-start", "tomorrow"},
		{"--plug-channels", "9"},
		{"--base-topic", "solar"},
		{"--broker", "http://localhost"},
		{"--log-level", "loud"},
		{"extra"},
		{"--no-such-flag"},
		{"--faults", "sometimes"},
		{"--faults", "drop=2"},
		{"--connections", "shared"},
		{"--homes", "-3"},
		{"--homes", "2", "--pv", "3"},
		{"--homes", "2", "--connections", "all"},
		{"--homes", "2", "--homes-per-connection", "0"},
		{"--scenario", "/no/such/file.yaml"},
		{"--homes", "2", "--speed", "-1"},
		{"--summary-every", "-1s"},
		{"--homes", "2", "--every-dialect"},
	} {
		var out syncBuffer
		if code := run(context.Background(), args, io.Discard, &out); code != 2 {
			t.Errorf("%v: exit code %d, want 2; output %s", args, code, out.String())
		}
	}
}

func TestBrokerUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var out syncBuffer
	state := filepath.Join(t.TempDir(), "state.json")
	if code := run(context.Background(), []string{"--broker", "tcp://" + addr, "--state-file", state}, io.Discard, &out); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !strings.Contains(out.String(), "cannot reach the MQTT broker at tcp://"+addr) {
		t.Errorf("error output does not say the broker is unreachable:\n%s", out.String())
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Error("a failed start wrote the state file")
	}
}

// TestRunSavesAndRestoresState runs the binary's main twice against an
// embedded broker with a state file: the counters saved by the first run
// are where the second run starts.
func TestRunSavesAndRestoresState(t *testing.T) {
	broker := startBroker(t)

	state := filepath.Join(t.TempDir(), "state.json")
	args := []string{"--broker", broker, "--period", "20ms", "--profile-start", "2025-06-22T11:30:00Z",
		"--speed", "60", "--state-file", state, "--plug-channels", "2",
		"--shelly-plugs", "1", "--shelly-meters", "1", "--victron", "1", "--goe", "1", "--ahoy", "2"}

	runUntil := func(sensors int) firmwaresim.State {
		t.Helper()
		got := make(chan struct{}, 1000)
		sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("test-sub"))
		if tok := sub.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
			t.Fatalf("subscriber: %v", tok.Error())
		}
		defer sub.Disconnect(50)
		tok := sub.Subscribe("tele/+/SENSOR", 0, func(mqtt.Client, mqtt.Message) { got <- struct{}{} })
		if !tok.WaitTimeout(patience) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
		ctx, cancel := context.WithCancel(context.Background())
		var out syncBuffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, args, io.Discard, &out) }()
		deadline := time.After(patience)
		for i := 0; i < sensors; i++ {
			select {
			case <-got:
			case code := <-done:
				t.Fatalf("exited early with %d:\n%s", code, out.String())
			case <-deadline:
				t.Fatalf("only %d SENSOR messages:\n%s", i, out.String())
			}
		}
		cancel()
		if code := <-done; code != 0 {
			t.Fatalf("exit code %d:\n%s", code, out.String())
		}
		if !strings.Contains(out.String(), "state saved") {
			t.Errorf("no 'state saved' in the log:\n%s", out.String())
		}
		for _, kind := range []string{"opendtu_inverters=1", "tasmota_plugs=1", "shelly_plugs=1", "shelly_meters=1", "victron_gx=1", "goe_chargers=1", "ahoy_inverters=2", "devices=7"} {
			if !strings.Contains(out.String(), kind) {
				t.Errorf("the stopped line does not say %s:\n%s", kind, out.String())
			}
		}
		data, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		var st firmwaresim.State
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		return st
	}

	first := runUntil(10)
	if len(first.Inverters) != 1 || len(first.Plugs) != 1 || len(first.Plugs[0].Channels) != 2 ||
		len(first.ShellyPlugs) != 1 || first.ShellyPlugs[0].ID != "shellyplusplugs-02a1b2000001" ||
		len(first.ShellyMeters) != 1 || first.ShellyMeters[0].ID != "shellypro3em-02a1b3000001" ||
		len(first.Victron) != 1 || first.Victron[0].PortalID != "02c0619a0001" ||
		len(first.GoE) != 1 || first.GoE[0].Serial != "200001" ||
		len(first.Ahoy) != 2 || first.Ahoy[0].Name != "HM-600" || first.Ahoy[1].Name != "HM-600-2" {
		t.Fatalf("state %+v", first)
	}
	if first.GoE[0].EtoWh <= 0 || first.Victron[0].DischargedWh+first.Victron[0].ChargedWh <= 0 || first.Ahoy[0].YieldTotalWh <= 0 {
		t.Fatalf("the new devices counted nothing in the first run: %+v", first)
	}
	if first.Inverters[0].YieldTotalWh <= 0 || first.Plugs[0].Channels[0].TotalWh <= 0 {
		t.Fatalf("no energy counted in the first run: %+v", first)
	}
	second := runUntil(10)
	if second.GoE[0].EtoWh <= first.GoE[0].EtoWh || second.Ahoy[1].YieldTotalWh <= first.Ahoy[1].YieldTotalWh ||
		second.ShellyMeters[0].ActWh[1] <= first.ShellyMeters[0].ActWh[1] {
		t.Errorf("new devices' counters did not continue:\nfirst  %+v\nsecond %+v", first, second)
	}
	if second.Inverters[0].YieldTotalWh <= first.Inverters[0].YieldTotalWh ||
		second.Plugs[0].Channels[1].TotalWh <= first.Plugs[0].Channels[1].TotalWh ||
		!second.Plugs[0].TotalStartTime.Equal(first.Plugs[0].TotalStartTime) {
		t.Errorf("counters did not continue across restarts:\nfirst  %+v\nsecond %+v", first, second)
	}

	// A corrupt state file is reported, not overwritten.
	if err := os.WriteFile(state, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	if code := run(context.Background(), args, io.Discard, &out); code != 1 || !strings.Contains(out.String(), "not a firmware-sim state file") {
		t.Errorf("corrupt state file: exit %d, output %s", code, out.String())
	}
	if data, _ := os.ReadFile(state); string(data) != "{not json" {
		t.Error("corrupt state file was overwritten")
	}
}

// TestFleetMode runs a small fleet from a scenario file against an
// embedded broker, with a flag overriding the file, and saves its state.
func TestFleetMode(t *testing.T) {
	broker := startBroker(t)

	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(scenario, []byte("name: t\nhomes: 50\nseed: 4\nconnections: shared\nhomes_per_connection: 2\nfaults: default\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "fleet.json")
	got := make(chan struct{}, 1000)
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("test-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	defer sub.Disconnect(50)
	if tok := sub.Subscribe("solar-3/+/0/power", 0, func(mqtt.Client, mqtt.Message) { got <- struct{}{} }); !tok.WaitTimeout(patience) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--scenario", scenario, "--homes", "4", "--broker", broker, "--period", "20ms",
			"--profile-start", "2025-06-21T11:00:00Z", "--state-file", state, "--summary-every", "50ms"}, io.Discard, &out)
	}()
	for i := 0; i < 5; i++ {
		select {
		case <-got:
		case code := <-done:
			t.Fatalf("exited early with %d:\n%s", code, out.String())
		case <-time.After(patience):
			t.Fatalf("no power from home 3:\n%s", out.String())
		}
	}
	// The first summary may come before the second shared connection is
	// up; wait for one that has both.
	summary := func() bool {
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.Contains(line, "msg=summary") && strings.Contains(line, "connected=2/2") {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(patience); !summary(); {
		if time.Now().After(deadline) {
			t.Fatalf("no summary line with both connections in %v:\n%s", patience, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d:\n%s", code, out.String())
	}
	for _, want := range []string{"starting fleet", "name=t", "homes=4", "devices=16", "connections=shared", "msg=summary",
		"cycles_per_s=", "msgs_per_s=", "connected=2/2", "dropped=", "ev_sessions=", "state saved"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var st firmwaresim.FleetState
	if err := json.Unmarshal(data, &st); err != nil || len(st.Homes) != 4 {
		t.Fatalf("state: %v, %d homes", err, len(st.Homes))
	}
}

// startBroker runs an embedded mochi-mqtt broker on a free loopback port
// for the test and returns its tcp:// URL.
func startBroker(t *testing.T) string {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "t1", Address: "127.0.0.1:0"})
	if err := srv.AddListener(tcp); err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Close() })
	return "tcp://" + tcp.Address()
}

// TestOneHouseExampleIsThePrintedConfig: examples/one-house.yaml, the
// README's recipe for a node next to `firmware-sim --every-dialect`, is
// exactly what --print-config prints for those devices, so the two cannot
// drift apart.
func TestOneHouseExampleIsThePrintedConfig(t *testing.T) {
	var stdout bytes.Buffer
	var stderr syncBuffer
	if code := run(context.Background(), []string{"--every-dialect", "--print-config"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--every-dialect --print-config: exit code %d\n%s", code, stderr.String())
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "examples", "one-house.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if stdout.String() != string(want) {
		t.Errorf("examples/one-house.yaml differs from what the simulator prints; if the simulator changed, regenerate it:\n"+
			"  go run ./cmd/firmware-sim --every-dialect --print-config > examples/one-house.yaml\nprinted:\n%s", stdout.String())
	}
	// One device of every dialect, each with the simulator's identity.
	for _, serial := range []string{`"116181234567"`, `"HM-600"`, `"tasmota_A1B2C3"`, `"shellyplusplugs-02a1b2000001:switch:0"`,
		`"shellypro3em-02a1b3000001:em:0"`, `"battery-512"`, `"grid-30"`, `"200001"`, `portal_id: "02c0619a0001"`} {
		if !strings.Contains(stdout.String(), serial) {
			t.Errorf("--every-dialect --print-config lacks %s", serial)
		}
	}
}

// TestPrintConfig: --print-config describes what the flags simulate, in a
// house (counts given explicitly win over --every-dialect) and in a fleet,
// on the broker given, as YAML whose devices are all distinct.
func TestPrintConfig(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		wantDevices int
		want        []string
		dontWant    []string
	}{
		{[]string{"--every-dialect", "--victron", "0", "--pv", "2", "--broker", "tcp://10.0.0.2:1884"}, 7,
			[]string{`broker: "tcp://10.0.0.2:1884"`, `"116181234568"`, "firmware-sim --every-dialect --victron 0 --pv 2 --broker tcp://10.0.0.2:1884\n"},
			[]string{"dialect: victron"}},
		{[]string{"--pv", "0", "--plugs", "0", "--goe", "1"}, 1, []string{`serial: "200001"`, "{dialect: goe}"}, []string{"opendtu"}},
		{[]string{"--homes", "3", "--seed", "5"}, 0, []string{`portal_id: "02c0619b0001"`, "firmware-sim --homes 3 --seed 5\n"}, nil},
	} {
		var stdout bytes.Buffer
		var stderr syncBuffer
		args := append(slices.Clone(tc.args), "--print-config")
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Errorf("%q: exit code %d\n%s", args, code, stderr.String())
			continue
		}
		var cfg struct {
			Adapters []map[string]any
			Devices  []struct{ Dialect, Serial string }
		}
		if err := yaml.Unmarshal(stdout.Bytes(), &cfg); err != nil {
			t.Errorf("%q: not YAML: %v\n%s", args, err, stdout.String())
			continue
		}
		seen := map[string]bool{}
		for _, d := range cfg.Devices {
			if k := d.Dialect + "/" + d.Serial; seen[k] || d.Serial == "" {
				t.Errorf("%q: device %s twice or without a serial", args, k)
			} else {
				seen[k] = true
			}
		}
		if tc.wantDevices > 0 && len(cfg.Devices) != tc.wantDevices || len(cfg.Devices) == 0 || len(cfg.Adapters) == 0 {
			t.Errorf("%q: %d devices and %d adapters, want %d devices", args, len(cfg.Devices), len(cfg.Adapters), tc.wantDevices)
		}
		for _, w := range tc.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("%q: output lacks %q:\n%s", args, w, stdout.String())
			}
		}
		for _, w := range tc.dontWant {
			if strings.Contains(stdout.String(), w) {
				t.Errorf("%q: output has %q:\n%s", args, w, stdout.String())
			}
		}
	}
}
