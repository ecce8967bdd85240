package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Flood sizes: 2,300 payloads of 64 KiB, 143.75 MiB of garbage.
const (
	floodMessages    = 2300
	floodPayloadSize = 64 << 10
	// floodMaxRiseMB is how much the node's resident memory may grow from
	// idle to the end of the flood (and at its peak), MB (10^6 bytes).
	floodMaxRiseMB = 100
	// floodPatience bounds each wait: a deadline for a real failure, not
	// a timing assertion (the waits end when their condition holds).
	floodPatience = 2 * time.Minute
)

// floodTopics are topics of every dialect's subscriptions with an
// invented serial: each message claims to come from a device never seen.
var floodTopics = []string{
	"tele/%s/SENSOR",                   // tasmota
	"solar/%s/0/power",                 // opendtu
	"%s/status/switch:0",               // shelly Gen2+
	"shellies/%s/relay/0/power",        // shelly Gen1
	"N/c0619ab1234f/battery/%s/Dc/0/P", // victron
	"go-eCharger/%s/nrg",               // goe
	"inverter/%s/ch0/P_AC",             // ahoydtu
}

// TestFloodMemory runs `gridmint run` (the embedded chain, every dialect)
// against a real Mosquitto, floods it with 2,300 garbage payloads of 64
// KiB (143.75 MiB) on invented topics of every dialect, published with
// QoS 0 as fast as the broker takes them, and measures the node
// process's resident memory (VmRSS, and the peak VmHWM) from idle to the
// end: it must not rise by more than floodMaxRiseMB. The binary is built
// without the race detector, so the figures are what a user's node uses.
// It also checks that the quarantine kept a bounded sample, all of it
// counted.
func TestFloodMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and floods a node")
	}
	broker := startMosquitto(t)
	dir := t.TempDir()
	bin := filepath.Join(testBinaries(t), "gridmint")
	data := filepath.Join(dir, "data")
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("flood test passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "init", "--data-dir", data, "--passphrase-file", pass, "--light-kdf").CombinedOutput(); err != nil {
		t.Fatalf("gridmint init: %v\n%s", err, out)
	}
	cfgPath := filepath.Join(dir, "node.yaml")
	cfg := fmt.Sprintf(`data_dir: %s
http_addr: 127.0.0.1:0
identity: {passphrase_file: %s}
mqtt: {broker: %q, client_id: gridmint-flood}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
home_assistant: {enabled: false}
adapters:
  - dialect: tasmota
  - dialect: opendtu
  - dialect: shelly
  - {dialect: victron, portal_id: c0619ab1234f, keep_alive: false}
  - dialect: goe
  - dialect: ahoydtu
`, data, pass, broker)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "run", "--config", cfgPath, "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "gridmint node running: http://"); ok {
				ready <- strings.TrimSuffix(strings.Fields(rest)[0], "/")
			}
		}
		exited <- cmd.Wait()
	}()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() || os.Getenv("GRIDMINT_TEST_LOG") != "" {
			t.Logf("node log:\n%s", logs.String())
		}
	}()
	var api string
	select {
	case api = <-ready:
	case err := <-exited:
		t.Fatalf("gridmint run exited: %v\n%s", err, logs.String())
	case <-time.After(floodPatience):
		t.Fatalf("gridmint run did not start within %v", floodPatience)
	}
	waitFor(t, exited, floodPatience, "the node healthy (broker connected)", func() bool {
		resp, err := http.Get("http://" + api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	before := procStatus(t, cmd.Process.Pid)
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("flood-publisher"))
	if tok := pub.Connect(); !tok.WaitTimeout(floodPatience) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	rng := rand.New(rand.NewPCG(11, 3))
	noise := rand.NewChaCha8([32]byte{11, 3})
	payload := make([]byte, floodPayloadSize)
	start := time.Now()
	for i := range floodMessages {
		noise.Read(payload)
		topic := fmt.Sprintf(floodTopics[i%len(floodTopics)], fmt.Sprintf("x%08x", rng.Uint32()))
		tok := pub.Publish(topic, 0, false, payload)
		if !tok.WaitTimeout(floodPatience) || tok.Error() != nil {
			t.Fatalf("publish %d: %v", i, tok.Error())
		}
	}
	var peak procMem
	waitFor(t, exited, 2*floodPatience, fmt.Sprintf("the node to process %d flood messages", floodMessages), func() bool {
		if m := procStatus(t, cmd.Process.Pid); m.rss > peak.rss {
			peak.rss = m.rss
		}
		return metric(t, api, "gridmint_mqtt_messages_total") >= floodMessages
	})
	took := time.Since(start)
	after := procStatus(t, cmd.Process.Pid)
	rise := float64(after.rss-before.rss) / 1e6
	peakRise := float64(after.hwm-before.rss) / 1e6
	t.Logf("%d × %d KiB garbage in %v: VmRSS idle %.1f MB, after %.1f MB (+%.1f MB), peak VmHWM %.1f MB (+%.1f MB over idle)",
		floodMessages, floodPayloadSize>>10, took.Round(time.Millisecond),
		float64(before.rss)/1e6, float64(after.rss)/1e6, rise, float64(after.hwm)/1e6, peakRise)
	t.Logf("anonymous memory idle %.1f MB, after %.1f MB; file-backed (mapped store files) idle %.1f MB, after %.1f MB",
		float64(before.anon)/1e6, float64(after.anon)/1e6, float64(before.file)/1e6, float64(after.file)/1e6)
	kept := metric(t, api, "gridmint_quarantine_entries")
	keptBytes := metric(t, api, "gridmint_quarantine_bytes")
	rejected := metric(t, api, "gridmint_rejections_total")
	dropped := metric(t, api, "gridmint_quarantine_dropped_total")
	t.Logf("quarantine: %.0f entries, %.0f bytes; %.0f rejections counted, %.0f not kept; store on disk %.1f MB",
		kept, keptBytes, rejected, dropped, float64(diskUsage(t, filepath.Join(data, "store")))/1e6)
	if rejected != floodMessages || kept+dropped != rejected || keptBytes > metric(t, api, "gridmint_quarantine_max_bytes") {
		t.Errorf("%.0f rejections counted, %.0f kept + %.0f not kept, %.0f bytes kept; want every message counted, kept or dropped, within the budget",
			rejected, kept, dropped, keptBytes)
	}
	// What the dialects' shared allowances give (see TestFloodOfInventedTopics).
	if bound := 6 * 4 * (20 + 0.2*took.Seconds()); kept > bound {
		t.Errorf("%.0f rejections kept, more than the %.0f the dialects' allowances give", kept, bound)
	}
	if rise > floodMaxRiseMB {
		t.Errorf("resident memory rose by %.1f MB during the flood, want at most %d MB", rise, floodMaxRiseMB)
	}
	if peakRise > floodMaxRiseMB {
		t.Errorf("peak resident memory rose by %.1f MB over idle during the flood, want at most %d MB", peakRise, floodMaxRiseMB)
	}
}

// procMem is a process's resident memory, bytes.
type procMem struct{ rss, hwm, anon, file int64 }

// procStatus reads VmRSS and VmHWM from /proc/<pid>/status.
func procStatus(t *testing.T, pid int) procMem {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc (resident memory is measured on Linux): %v", err)
	}
	var m procMem
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			m.rss = kb << 10
		case "VmHWM":
			m.hwm = kb << 10
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile":
			m.file = kb << 10
		}
	}
	if m.rss == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return m
}

// diskUsage is the space the files under dir take on disk, bytes.
func diskUsage(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// metric reads the node's /metrics: the sum of every sample of name,
// whatever its labels; -1 when there is none.
func metric(t *testing.T, api, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + api + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	sum, found := 0.0, false
	for line := range strings.SplitSeq(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || rest == "" || rest[0] != ' ' && rest[0] != '{' {
			continue
		}
		f, err := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metric %s: %v", line, err)
		}
		sum, found = sum+f, true
	}
	if !found {
		return -1
	}
	return sum
}

// startMosquitto runs a Mosquitto broker on a free loopback port for the
// test and returns its URL; the test is skipped without the binary,
// except in CI, where it fails.
func startMosquitto(t *testing.T) string {
	t.Helper()
	bin := requireTool(t, "mosquitto")
	port, err := freeTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting mosquitto: %v", err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(floodPatience)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto does not accept connections on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "tcp://" + addr
}
