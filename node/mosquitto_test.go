package node

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
	"github.com/gridmint/gridmint/node/store"
)

// startMosquitto runs a real Mosquitto broker on a free loopback port for
// the test and returns its URL. Without the binary the test is skipped,
// except in CI (CI=1 or GRIDMINT_REQUIRE_MOSQUITTO=1), where it fails:
// .ci/run installs mosquitto.
func startMosquitto(t *testing.T) string {
	t.Helper()
	return startMosquittoAuth(t, "allow_anonymous true\n")
}

// startMosquittoAuth is startMosquitto with auth, the broker's
// authentication lines (allow_anonymous, password_file).
func startMosquittoAuth(t *testing.T, auth string) string {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("GRIDMINT_REQUIRE_MOSQUITTO") != "" {
			t.Fatalf("mosquitto not installed: %v (apt-get install -y mosquitto)", err)
		}
		t.Skip("mosquitto not installed (apt-get install -y mosquitto); CI runs this test")
	}
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	// persistence off: the broker's memory is enough for sessions within
	// one test; max_queued_messages 0 = unlimited, so nothing queued for
	// a stopped node is dropped.
	body := fmt.Sprintf("listener %d 127.0.0.1\n%spersistence false\nmax_queued_messages 0\nlog_dest stderr\n", port, auth)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	logFile, err := os.Create(filepath.Join(dir, "mosquitto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting mosquitto: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logFile.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "mosquitto to accept connections on "+addr, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return "tcp://" + addr
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

const mosquittoNodeConfig = `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt:
  broker: %s
  client_id: gridmint-test-node
p2p:
  listen: [/ip4/127.0.0.1/tcp/0]
discover: true
stale_after: 1h
adapters:
  - dialect: opendtu
  - dialect: tasmota
devices:
  - {dialect: opendtu, serial: "116181234567", kind: pv_inverter, nameplate_w: 800}
`

// TestRunAgainstMosquitto is `gridmint run --config` against a real
// Mosquitto with the simulator publishing to it.
func TestRunAgainstMosquitto(t *testing.T) {
	parallel(t)
	url := startMosquitto(t)
	dir := t.TempDir()
	cfg, err := ParseConfig([]byte(fmt.Sprintf(mosquittoNodeConfig, dir, url)))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), demoSpeed)
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Clock: clock, Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	sim, err := firmwaresim.New(firmwaresim.Config{
		Broker: url, Period: 100 * time.Millisecond, Clock: clock, Logger: testLogger(),
		PV: []firmwaresim.PVConfig{{Serial: "116181234567", Nameplate: 800}},
		Plugs: []firmwaresim.PlugConfig{
			{Topic: "dual", Channels: 2, SeparateTotals: true}, // SetOption129: a device per channel
			{Topic: "stock2ch", Channels: 2},                   // firmware default: one Total, summed power
		},
		ProfileStart: time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	defer func() { cancel(); <-simDone }()

	addr := n.Identity().Address
	ids := []gridmint.DeviceID{
		gridmint.DeviceID(addr + "/opendtu/116181234567"),
		gridmint.DeviceID(addr + "/tasmota/dual:1"),
		gridmint.DeviceID(addr + "/tasmota/dual:2"),
		gridmint.DeviceID(addr + "/tasmota/stock2ch"),
	}
	waitFor(t, "readings with growing energy from every device via Mosquitto", func() bool {
		for _, id := range ids {
			rs, err := n.Store().Readings(id, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) < 3 || rs[len(rs)-1].Energy <= rs[0].Energy {
				return false
			}
		}
		return true
	})
	var counts map[gridmint.Reason]uint64
	if counts, err = n.Store().RejectionCounts(); err != nil {
		t.Fatal(err)
	}
	for reason, c := range counts {
		if c > 0 {
			t.Errorf("%d %s rejections from well-formed simulator traffic", c, reason)
		}
	}
}

// TestHelperNodeProcess is not a test: it is the node process that
// TestCrashNeverLosesAcknowledgedReadings starts and kills.
func TestHelperNodeProcess(t *testing.T) {
	cfgPath := os.Getenv("GRIDMINT_TEST_NODE_CONFIG")
	if cfgPath == "" {
		t.Skip("helper process for TestCrashNeverLosesAcknowledgedReadings")
	}
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	n, err := Start(ctx, cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Println("READY", n.Identity().Address)
	<-ctx.Done()
	if err := n.Close(); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// startNodeProcess runs TestHelperNodeProcess on the config at cfgPath
// and returns it with its first line: "READY <node address>" once the
// node is up, or "ERROR <why>" when it did not start (the process then
// exits with status 1).
func startNodeProcess(t *testing.T, cfgPath string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNodeProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "GRIDMINT_TEST_NODE_CONFIG="+cfgPath)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "READY ") || strings.HasPrefix(line, "ERROR") {
				select {
				case ready <- line:
				default:
				}
			}
		}
		close(ready)
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			return cmd, "EXITED without a READY or ERROR line"
		}
		return cmd, line
	case <-time.After(patience):
		cmd.Process.Kill()
		t.Fatal("node process did not start")
	}
	return nil, ""
}

// TestCrashNeverLosesAcknowledgedReadings publishes QoS 1 telemetry to a
// real Mosquitto while the node is SIGKILLed mid-stream and restarted:
// every message must end up as exactly one reading, because the node
// acknowledges a message only after its reading is durable and the broker
// re-delivers the rest to the node's persistent session.
func TestCrashNeverLosesAcknowledgedReadings(t *testing.T) {
	parallel(t)
	url := startMosquitto(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "node.yaml")
	cfg := fmt.Sprintf(mosquittoNodeConfig, filepath.Join(dir, "data"), url)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startNode := func() (*exec.Cmd, string) {
		cmd, line := startNodeProcess(t, cfgPath)
		if !strings.HasPrefix(line, "READY ") {
			t.Fatalf("node process: %q", line)
		}
		return cmd, strings.TrimPrefix(line, "READY ")
	}

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("crash-publisher"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	const total, killAt = 400, 150
	start := time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC)
	publish := func(i int) {
		// 10 mWh per message (Tasmota with EnergyRes 5): the whole run
		// stays within the normaliser's budget, which accrues in node time.
		payload := fmt.Sprintf(`{"Time":"%s","ENERGY":{"Total":100.%05d,"Power":36}}`,
			start.Add(time.Duration(i)*time.Second).Format("2006-01-02T15:04:05"), i)
		tok := pub.Publish("tele/crashplug/SENSOR", 1, false, payload)
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}

	node, addr := startNode()
	for i := 0; i < killAt; i++ {
		publish(i)
	}
	// Kill without warning while messages are still in flight.
	if err := node.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	node.Wait()
	for i := killAt; i < total; i++ {
		publish(i) // queued by Mosquitto for the node's session
	}
	node, _ = startNode()
	id := gridmint.DeviceID(addr + "/tasmota/crashplug")
	// The node holds the store's lock; stop it gracefully, then look.
	// Give it until every message is stored, judged by reopening the store.
	deadline := time.Now().Add(patience)
	var readings []gridmint.Reading
	for {
		time.Sleep(300 * time.Millisecond)
		node.Process.Signal(syscall.SIGTERM)
		if err := node.Wait(); err != nil {
			t.Fatalf("node exit: %v", err)
		}
		st, err := store.Open(filepath.Join(dir, "data", "store"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		readings, err = st.Readings(id, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
		counts, cerr := st.RejectionCounts()
		st.Close()
		if cerr != nil {
			t.Fatal(cerr)
		}
		// Messages stored but not yet acknowledged at the kill come again;
		// they must be recognised as duplicates, nothing else.
		for reason, c := range counts {
			if reason != gridmint.ReasonDuplicate && c > 0 {
				t.Errorf("%d rejections for %s, want only duplicates", c, reason)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(readings) >= total || time.Now().After(deadline) {
			break
		}
		node, _ = startNode()
	}
	seen := map[gridmint.MWh]int{}
	for _, r := range readings {
		seen[r.Raw]++
	}
	for i := 0; i < total; i++ {
		raw := gridmint.MWh(100_000_000 + i*10)
		if seen[raw] != 1 {
			t.Errorf("message %d (Total %v): stored %d times, want exactly once", i, raw, seen[raw])
		}
	}
	if len(readings) != total {
		t.Errorf("%d readings, want %d", len(readings), total)
	}
}
