//go:build linux || darwin

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.yaml.in/yaml/v3"
)

// The README's shell examples are marked for this test by an HTML comment
// on the line before each ```sh fence:
//
//	<!-- readme-test: FIXTURE [start] [expect='TEXT'] [until='TEXT'] -->
//	<!-- readme-test: skip='why' -->
//
// FIXTURE names what the block needs (readmeFixtures). A start block is
// started in the background and left running (make run, make demo-net, a
// recipe that ends in a server); the test then waits until the fixture is
// ready, runs the fixture's other blocks in README order, each of which
// must exit 0 (curl fails on HTTP errors) and print TEXT (expect), or is
// run again until it prints TEXT (until), and stops the started blocks.

// readmeBlock is one marked ```sh block of the README.
type readmeBlock struct {
	line          int    // README line of the fence
	fixture, skip string // skip: why the block is not run
	start         bool
	expect, until string
	script        string
}

var (
	readmeMarker = regexp.MustCompile(`^<!-- readme-test: (.*) -->$`)
	readmeAttr   = regexp.MustCompile(`^([a-z][a-z-]*)(?:='([^']*)')?(?:\s+|$)`)
)

// parseREADME returns every ```sh block of the README with its marker;
// a ```sh block without a marker, or a marker without a block, is an
// error, so that no shell example goes untested by accident.
func parseREADME(text string) ([]readmeBlock, error) {
	lines := strings.Split(text, "\n")
	var blocks []readmeBlock
	for i := 0; i < len(lines); i++ {
		m := readmeMarker.FindStringSubmatch(lines[i])
		if m == nil {
			if strings.TrimSpace(lines[i]) == "```sh" {
				return nil, fmt.Errorf("README.md:%d: a ```sh block without a <!-- readme-test: ... --> line before it", i+1)
			}
			continue
		}
		b := readmeBlock{line: i + 2}
		attrs := strings.TrimSpace(m[1])
		for first := true; attrs != ""; first = false {
			a := readmeAttr.FindStringSubmatch(attrs)
			if a == nil {
				return nil, fmt.Errorf("README.md:%d: cannot read %q: want FIXTURE [start] [expect='TEXT'] [until='TEXT'] or skip='why'", i+1, attrs)
			}
			attrs = attrs[len(a[0]):]
			switch name, value := a[1], a[2]; {
			case first && name == "skip" && value != "":
				b.skip = value
			case first && value == "" && name != "skip" && name != "start" && name != "expect" && name != "until":
				b.fixture = name
			case !first && name == "start" && value == "":
				b.start = true
			case !first && name == "expect" && value != "":
				b.expect = value
			case !first && name == "until" && value != "":
				b.until = value
			default:
				return nil, fmt.Errorf("README.md:%d: unexpected %q in the readme-test marker", i+1, a[0])
			}
		}
		if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "```sh" {
			return nil, fmt.Errorf("README.md:%d: a readme-test marker not followed by a ```sh block", i+1)
		}
		var script []string
		j := i + 2
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			script = append(script, lines[j])
		}
		if j == len(lines) {
			return nil, fmt.Errorf("README.md:%d: the ```sh block does not end", i+2)
		}
		b.script = strings.Join(script, "\n") + "\n"
		blocks = append(blocks, b)
		i = j
	}
	return blocks, nil
}

func TestParseREADME(t *testing.T) {
	good := "text\n<!-- readme-test: demo start -->\n```sh\nmake run\n```\n" +
		"<!-- readme-test: demo expect='\"a\": 1' until='x y' -->\n```sh\ncurl -s a\ncurl -s b\n```\n" +
		"<!-- readme-test: skip='recursive' -->\n```sh\nmake test\n```\n```yaml\nnot: shell\n```\n"
	blocks, err := parseREADME(good)
	if err != nil {
		t.Fatal(err)
	}
	want := []readmeBlock{
		{line: 3, fixture: "demo", start: true, script: "make run\n"},
		{line: 7, fixture: "demo", expect: `"a": 1`, until: "x y", script: "curl -s a\ncurl -s b\n"},
		{line: 12, skip: "recursive", script: "make test\n"},
	}
	if fmt.Sprint(blocks) != fmt.Sprint(want) {
		t.Errorf("parseREADME:\n got %+v\nwant %+v", blocks, want)
	}
	for _, bad := range []string{
		"```sh\nls\n```\n", // no marker
		"<!-- readme-test: demo -->\ntext\n",
		"<!-- readme-test: demo -->\n```sh\nls\n", // no end
		"<!-- readme-test: demo sometimes -->\n```sh\nls\n```\n",
		"<!-- readme-test: skip -->\n```sh\nls\n```\n",
		"<!-- readme-test: demo expect= -->\n```sh\nls\n```\n",
		"<!-- readme-test: start -->\n```sh\nls\n```\n",
	} {
		if _, err := parseREADME(bad); err == nil {
			t.Errorf("parseREADME(%q) accepted it", bad)
		}
	}
}

// readmeEnv is what the blocks of one fixture run in: a scratch directory
// laid out like the repository (its entries symlinked, except bin/, which
// links to the binaries the test built, examples/, copied with the
// fixture's ports, and gridmint-data/, which the blocks create), the
// fixture's ports and a prelude that points make at the repository.
type readmeEnv struct {
	repo, dir string
	http      []string // host:port of node i
	mqttPort  int
	subst     func(string) string
	env       []string
	exited    chan error // a start block exited
	logs      []string   // the start blocks' log files
}

// readmeFixture is what a fixture's blocks need: tools, a broker the test
// starts (when the README's blocks do not), and when it is ready.
type readmeFixture struct {
	nodes     int  // HTTP ports: node i listens on the base port + i
	mosquitto bool // needs mosquitto
	broker    bool // the test starts mosquitto on the fixture's MQTT port
	// passphrase is what the user types at the prompts of gridmint init
	// and run (GRIDMINT_PASSPHRASE).
	passphrase bool
	ready      func(t *testing.T, e *readmeEnv, starts []readmeBlock)
}

var readmeFixtures = map[string]readmeFixture{
	// make run: the demo's charger online.
	"demo": {nodes: 1, ready: func(t *testing.T, e *readmeEnv, _ []readmeBlock) {
		e.waitUntil(t, 2*time.Minute, func() (bool, string) {
			devs, err := readmeDevices(e.http[0])
			if err != nil {
				return false, err.Error()
			}
			for _, d := range devs {
				if d.Dialect == "goe" && d.Serial == "200001" && d.Online {
					return true, ""
				}
			}
			return false, "the demo's go-eCharger 200001 is not online"
		})
	}},
	// make demo-net: every node connected to the two others.
	"demo-net": {nodes: 3, ready: func(t *testing.T, e *readmeEnv, _ []readmeBlock) {
		e.waitUntil(t, 2*time.Minute, func() (bool, string) {
			for i, h := range e.http {
				var p struct{ Peers []json.RawMessage }
				if err := getJSON("http://"+h+"/api/v1/peers", &p); err != nil || len(p.Peers) < 2 {
					return false, fmt.Sprintf("node %d has %d peers (%v), want 2", i, len(p.Peers), err)
				}
			}
			return true, ""
		})
	}},
	// The one-house recipe: every device of examples/one-house.yaml, and
	// no other, online with a reading; PV producing, the battery's SoC.
	"one-house": {nodes: 1, mosquitto: true, passphrase: true, ready: func(t *testing.T, e *readmeEnv, _ []readmeBlock) {
		raw, err := os.ReadFile(filepath.Join(e.dir, "examples", "one-house.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Devices []struct{ Dialect, Serial, Kind string }
		}
		if err := yaml.Unmarshal(raw, &cfg); err != nil || len(cfg.Devices) < 8 {
			t.Fatalf("examples/one-house.yaml: %d devices (%v), want one of every dialect", len(cfg.Devices), err)
		}
		e.waitUntil(t, 2*time.Minute, func() (bool, string) {
			devs, err := readmeDevices(e.http[0])
			if err != nil {
				return false, err.Error()
			}
			seen := map[string]readmeDevice{}
			for _, d := range devs {
				seen[d.Dialect+"/"+d.Serial] = d
			}
			for _, want := range cfg.Devices {
				key := want.Dialect + "/" + want.Serial
				d, ok := seen[key]
				switch {
				case !ok:
					return false, key + " is not in the node's registry"
				case !d.Online || d.PowerW == nil || d.LastSeen == "":
					return false, fmt.Sprintf("%s: online %v, power %v, last seen %q; want online with a reading", key, d.Online, d.PowerW, d.LastSeen)
				case want.Kind == "pv_inverter" && *d.PowerW <= 0:
					return false, fmt.Sprintf("%s produces %v W; want PV at the late-morning profile start", key, *d.PowerW)
				case want.Kind == "battery" && d.SoCPct == nil:
					return false, key + " has no state of charge"
				}
				delete(seen, key)
			}
			if len(seen) > 0 {
				return false, fmt.Sprintf("%v are on the broker but not in examples/one-house.yaml", slices.Sorted(maps.Keys(seen)))
			}
			return true, ""
		})
	}},
	// A fleet on a broker: its last home publishes.
	"fleet":    {nodes: 1, mosquitto: true, broker: true, ready: waitForLastHome},
	"scenario": {nodes: 1, mosquitto: true, broker: true, ready: waitForLastHome},
}

// TestREADMEExamples runs the README's shell examples as they stand (see
// the comment on readmeBlock), each fixture in its own scratch directory
// on its own free ports, the fixtures in parallel.
func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the README's examples")
	}
	for _, tool := range []string{"bash", "curl", "make"} {
		requireTool(t, tool)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseREADME(string(text))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	byFixture := map[string][]readmeBlock{}
	for _, b := range blocks {
		if b.skip != "" {
			continue
		}
		if _, ok := readmeFixtures[b.fixture]; !ok {
			t.Fatalf("README.md:%d: unknown fixture %q", b.line, b.fixture)
		}
		if byFixture[b.fixture] == nil {
			order = append(order, b.fixture)
		}
		byFixture[b.fixture] = append(byFixture[b.fixture], b)
	}
	for name := range readmeFixtures {
		if byFixture[name] == nil {
			t.Errorf("fixture %q has no block in the README", name)
		}
	}
	// The binaries, once, as the README builds them (make build); the
	// blocks' own make commands are told not to build again (make -o
	// build), so that fixtures running in parallel never rewrite a
	// running binary.
	bin := testBinaries(t)
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runREADMEFixture(t, repo, bin, readmeFixtures[name], byFixture[name])
		})
	}
}

func runREADMEFixture(t *testing.T, repo, bin string, fx readmeFixture, blocks []readmeBlock) {
	var mosquittoDir string
	if fx.mosquitto {
		mosquittoDir = filepath.Dir(requireTool(t, "mosquitto"))
	}
	e := newREADMEEnv(t, repo, bin, fx.nodes, mosquittoDir)
	if fx.passphrase {
		e.env = append(e.env, passphraseEnv+"=correct horse battery staple")
	}
	if fx.broker {
		e.startMosquitto(t)
	}
	var starts []readmeBlock
	for _, b := range blocks {
		if b.start {
			e.start(t, b)
			starts = append(starts, b)
		}
	}
	fx.ready(t, e, starts)
	for _, b := range blocks {
		if !b.start {
			e.run(t, b)
		}
	}
}

func newREADMEEnv(t *testing.T, repo, bin string, nodes int, extraPath string) *readmeEnv {
	e := &readmeEnv{repo: repo, dir: t.TempDir(), exited: make(chan error, 4)}
	base := freeConsecutivePorts(t, nodes)
	for i := range nodes {
		e.http = append(e.http, fmt.Sprintf("127.0.0.1:%d", base+i))
	}
	mqttPort, err := freeTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	e.mqttPort = mqttPort
	// The README's addresses become the fixture's: node i's HTTP port
	// 8088+i, the broker's 1883.
	httpRE := regexp.MustCompile(`127\.0\.0\.1:(80[89][0-9])\b`)
	mqttRE := regexp.MustCompile(`\b1883\b`)
	e.subst = func(s string) string {
		s = httpRE.ReplaceAllStringFunc(s, func(m string) string {
			i, _ := strconv.Atoi(m[len("127.0.0.1:"):])
			if i -= 8088; i >= 0 && i < len(e.http) {
				return e.http[i]
			}
			return m
		})
		return mqttRE.ReplaceAllString(s, strconv.Itoa(e.mqttPort))
	}
	entries, err := os.ReadDir(repo)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		switch name := en.Name(); name {
		case "bin", "gridmint-data", "examples", ".git":
		default:
			if err := os.Symlink(filepath.Join(repo, name), filepath.Join(e.dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink(bin, filepath.Join(e.dir, "bin")); err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Glob(filepath.Join(repo, "examples", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(e.dir, "examples"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range examples {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.dir, "examples", filepath.Base(f)), []byte(e.subst(string(raw))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := os.Getenv("PATH")
	if extraPath != "" {
		path += string(os.PathListSeparator) + extraPath
	}
	e.env = append(os.Environ(), "PATH="+path,
		"README_REPO="+repo, "README_BIN="+bin, "README_HTTP_ADDR="+e.http[0],
		fmt.Sprintf("README_MQTT_ADDR=127.0.0.1:%d", e.mqttPort))
	return e
}

// readmePrelude runs before every block: it stops at the first failing
// command, makes curl fail on HTTP errors, and points make at the
// repository with the fixture's binaries, data dir and addresses.
const readmePrelude = `set -euo pipefail
make() { command make -C "$README_REPO" -o build BIN="$README_BIN" DATA_DIR="$PWD/gridmint-data" HTTP_ADDR="$README_HTTP_ADDR" MQTT_ADDR="$README_MQTT_ADDR" "$@"; }
curl() { command curl --show-error --fail-with-body --max-time 30 "$@"; }
`

func (e *readmeEnv) command(ctx context.Context, b readmeBlock) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "bash", "-c", readmePrelude+e.subst(b.script))
	cmd.Dir, cmd.Env = e.dir, e.env
	return cmd
}

// start runs a start block in the background, in a process group of its
// own that the test stops (SIGTERM, as Ctrl-C) at its end.
func (e *readmeEnv) start(t *testing.T, b readmeBlock) {
	cmd := e.command(context.Background(), b)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logPath := filepath.Join(e.dir, fmt.Sprintf("start-%d.log", b.line))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("README.md:%d: %v", b.line, err)
	}
	e.logs = append(e.logs, logPath)
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(done)
		if err == nil {
			err = errors.New("exited 0")
		}
		e.exited <- fmt.Errorf("README.md:%d: %w", b.line, err)
	}()
	t.Cleanup(func() {
		stopProcessGroup(t, pgid, done)
		logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("README.md:%d, what the started block printed:\n%s", b.line, tail(string(out), 6000))
		}
	})
}

// stopProcessGroup sends SIGTERM to the group, waits until all of it has
// stopped (60 s), then kills what is left.
func stopProcessGroup(t *testing.T, pgid int, leaderDone <-chan struct{}) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	deadline := time.After(60 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-deadline:
			t.Errorf("process group %d did not stop within 60 s of SIGTERM; killing it", pgid)
			syscall.Kill(-pgid, syscall.SIGKILL)
			<-leaderDone
			return
		case <-tick.C:
			if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
				<-leaderDone
				return
			}
		}
	}
}

// run runs a block to completion: it must exit 0 within a minute and
// print b.expect; with b.until it runs again until it prints that.
func (e *readmeEnv) run(t *testing.T, b readmeBlock) {
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		cmd := e.command(ctx, b)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		script := e.subst(b.script)
		if err != nil {
			t.Fatalf("README.md:%d failed: %v\n%s\nstdout:\n%s\nstderr:\n%s", b.line, err, script, tail(stdout.String(), 4000), tail(stderr.String(), 4000))
		}
		if b.expect != "" && !strings.Contains(stdout.String(), b.expect) {
			t.Fatalf("README.md:%d printed no %q:\n%s\nstdout:\n%s", b.line, b.expect, script, tail(stdout.String(), 4000))
		}
		if b.until == "" || strings.Contains(stdout.String(), b.until) {
			t.Logf("README.md:%d ran%s", b.line, printed(b.expect+b.until))
			return
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case err := <-e.exited:
			t.Fatalf("README.md:%d: waiting for %q, a started block stopped: %v", b.line, b.until, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("README.md:%d did not print %q within a minute:\n%s\nlast stdout:\n%s", b.line, b.until, script, tail(stdout.String(), 4000))
		}
	}
}

// waitUntil polls cond until it holds, failing with its last reason
// after limit or as soon as a started block stops.
func (e *readmeEnv) waitUntil(t *testing.T, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.After(limit)
	for {
		ok, why := cond()
		if ok {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("not ready after %v: %s", limit, why)
		case err := <-e.exited:
			t.Fatalf("a started block stopped (%v) while %s", err, why)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// startMosquitto runs a broker on the fixture's MQTT port for blocks
// that expect one to run.
func (e *readmeEnv) startMosquitto(t *testing.T) {
	b := readmeBlock{line: 0, script: "exec mosquitto -p 1883\n"}
	e.start(t, b)
	e.waitUntil(t, 30*time.Second, func() (bool, string) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.mqttPort))
		if err != nil {
			return false, "mosquitto does not listen yet"
		}
		c.Close()
		return true, ""
	})
}

// waitForLastHome waits until the fleet a start block runs publishes
// from its last home (PV behind OpenDTU solar-<h>/ or AhoyDTU
// inverter-<h>/), read from --homes or the --scenario file's homes.
func waitForLastHome(t *testing.T, e *readmeEnv, starts []readmeBlock) {
	homes := 0
	for _, b := range starts {
		if m := regexp.MustCompile(`--homes (\d+)`).FindStringSubmatch(b.script); m != nil {
			homes, _ = strconv.Atoi(m[1])
		} else if m := regexp.MustCompile(`--scenario (\S+)`).FindStringSubmatch(b.script); m != nil {
			raw, err := os.ReadFile(filepath.Join(e.dir, m[1]))
			if err != nil {
				t.Fatal(err)
			}
			var sc struct{ Homes int }
			if err := yaml.Unmarshal(raw, &sc); err != nil {
				t.Fatalf("%s: %v", m[1], err)
			}
			homes = sc.Homes
		}
	}
	if homes < 1 {
		t.Fatalf("no --homes or --scenario in the started blocks %+v", starts)
	}
	var got atomic.Bool
	opts := mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", e.mqttPort)).
		SetClientID(fmt.Sprintf("readme-test-%d", e.mqttPort)).SetConnectRetry(true).
		SetConnectRetryInterval(250 * time.Millisecond).SetAutoReconnect(true).
		SetOnConnectHandler(func(c mqtt.Client) {
			c.SubscribeMultiple(map[string]byte{fmt.Sprintf("solar-%d/#", homes): 0, fmt.Sprintf("inverter-%d/#", homes): 0},
				func(mqtt.Client, mqtt.Message) { got.Store(true) })
		})
	c := mqtt.NewClient(opts)
	c.Connect()
	defer c.Disconnect(0)
	e.waitUntil(t, 2*time.Minute, func() (bool, string) {
		return got.Load(), fmt.Sprintf("nothing from home %d's PV on the broker", homes)
	})
}

// readmeDevice is a device as GET /api/v1/devices lists it.
type readmeDevice struct {
	Dialect, Serial string
	Online          bool
	PowerW          *float64 `json:"power_w"`
	SoCPct          *float64 `json:"soc_pct"`
	LastSeen        string   `json:"last_seen"`
}

func readmeDevices(httpAddr string) ([]readmeDevice, error) {
	var devs []readmeDevice
	err := getJSON("http://"+httpAddr+"/api/v1/devices", &devs)
	return devs, err
}

func printed(text string) string {
	if text == "" {
		return ""
	}
	return fmt.Sprintf(" and printed %s", text)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
