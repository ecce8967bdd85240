// Command bench-ingest measures, side by side in one run, how much of a
// simulated fleet's telemetry a node takes in: it starts a Mosquitto, a
// discarding QoS 1 subscriber (the reference: what the broker delivers to
// a client that does nothing), a node (gridmint run) and firmware-sim
// --homes N, all subscribed to the same topic filters, and after a
// warm-up prints the messages the node processed ÷ the messages the
// discarding subscriber received over the same window, with the node's
// CPU and resident memory (the peak over the window, and at its end its
// anonymous part, the Go heap, and the file-backed part: mapped program
// and store files the kernel can drop). `make bench-ingest` runs it at
// 250 and 2,000 homes; 250 homes are about 1,000 devices at 1 Hz.
// --node-config adds settings to the node's configuration, e.g.
// --node-config 'memory_limit_mb: 256' or
// --node-config 'chain: {embedded_cache_mb: 512}', to compare them.
//
// It needs mosquitto on PATH (or --mosquitto) and bin/gridmint and
// bin/firmware-sim (make build).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"github.com/gridmint/gridmint/node"
)

func main() {
	homes := flag.String("homes", "250,2000", "comma-separated fleet sizes, one run each")
	warmup := flag.Duration("warmup", 30*time.Second, "time from the fleet's start to the measurement window")
	window := flag.Duration("window", 60*time.Second, "measurement window")
	bin := flag.String("bin", "bin", "directory of gridmint and firmware-sim")
	mosquitto := flag.String("mosquitto", "mosquitto", "the mosquitto binary")
	keep := flag.Bool("keep", false, "keep the run's directory (configs, logs)")
	flag.Var(&extraConfig, "node-config", "a YAML line added to the node's configuration (repeatable); a top-level key given here replaces the generated one")
	flag.Parse()
	for _, s := range strings.Split(*homes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("--homes: %q is not a number of homes", s)
		}
		r, err := run(n, *warmup, *window, *bin, *mosquitto, *keep)
		if err != nil {
			log.Fatalf("%d homes: %v", n, err)
		}
		fmt.Printf("homes %d (%d devices): adapters %d, delivered to the discarding subscriber %.0f/s, processed by the node %.0f/s, ratio %.3f; node CPU %.2f cores (%.0f µs per message), RSS peak %d MB (anonymous %d MB, files %d MB), at the end %d MB (%d MB, %d MB), Go heap in use %d MB\n",
			n, r.devices, r.adapters, r.delivered, r.processed, r.processed/r.delivered, r.cores, 1e6*r.cores/r.processed, r.peak.rss>>20, r.peak.anon>>20, r.peak.file>>20, r.mem.rss>>20, r.mem.anon>>20, r.mem.file>>20, r.heapInuse>>20)
	}
}

type result struct {
	adapters, devices    int
	delivered, processed float64 // messages/s
	cores                float64
	peak                 memory // the most resident seen in the window (sampled every second)
	mem                  memory
	heapInuse            int64 // bytes, go_memstats_heap_inuse_bytes at the end
}

// extraConfig are --node-config lines.
type lines []string

func (l *lines) String() string     { return strings.Join(*l, "; ") }
func (l *lines) Set(v string) error { *l = append(*l, v); return nil }

var extraConfig lines

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func run(homes int, warmup, window time.Duration, bin, mosquitto string, keep bool) (*result, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("bench-ingest-%d-", homes))
	if err != nil {
		return nil, err
	}
	if keep {
		log.Printf("run directory: %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Stop everything started (SIGTERM, the node first), then wait.
	var started []*exec.Cmd
	defer func() {
		cancel()
		for i := len(started) - 1; i >= 0; i-- {
			started[i].Wait()
		}
	}()
	start := func(name string, args ...string) (*exec.Cmd, error) {
		logf, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
		if err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 20 * time.Second
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		started = append(started, cmd)
		return cmd, nil
	}

	// The broker, with Mosquitto's default queue limits for every client.
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port), 0o600); err != nil {
		return nil, err
	}
	broker := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	if _, err := start(mosquitto, "-c", conf); err != nil {
		return nil, fmt.Errorf("mosquitto: %w", err)
	}
	if err := waitDial(fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		return nil, err
	}

	// The node's configuration: what the simulator prints for its fleet,
	// in the run's directory, without Home Assistant discovery.
	sim := filepath.Join(bin, "firmware-sim")
	simArgs := []string{"--homes", strconv.Itoa(homes), "--seed", "7", "--broker", broker}
	out, err := exec.Command(sim, append(simArgs, "--print-config")...).Output()
	if err != nil {
		return nil, fmt.Errorf("firmware-sim --print-config: %w", err)
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "node")
	var cfgText strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(line, "data_dir:"):
			line = "data_dir: " + dataDir
		case strings.HasPrefix(line, "http_addr:"):
			line = fmt.Sprintf("http_addr: 127.0.0.1:%d", httpPort)
		case line == "  mdns: false":
			line += "\n  dht: \"off\""
		}
		cfgText.WriteString(line + "\n")
	}
	pass := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pass, []byte("bench-ingest passphrase\n"), 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(&cfgText, "identity: {passphrase_file: %s}\nhome_assistant: {enabled: false}\n", pass)
	text := cfgText.String()
	for _, l := range extraConfig {
		// A top-level key given again replaces the generated one (YAML
		// refuses duplicate keys).
		if key, _, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, " ") {
			var kept []string
			skipping := false
			for _, line := range strings.Split(text, "\n") {
				if !strings.HasPrefix(line, " ") && line != "" {
					skipping = strings.HasPrefix(line, key+":")
				}
				if !skipping {
					kept = append(kept, line)
				}
			}
			text = strings.Join(kept, "\n")
		}
		text += l + "\n"
	}
	cfgText.Reset()
	cfgText.WriteString(text)
	cfgPath := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfgText.String()), 0o600); err != nil {
		return nil, err
	}
	cfg, err := node.ParseConfig([]byte(cfgText.String()))
	if err != nil {
		return nil, err
	}
	gm := filepath.Join(bin, "gridmint")
	if out, err := exec.Command(gm, "init", "--data-dir", dataDir, "--light-kdf", "--passphrase-file", pass).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("gridmint init: %v: %s", err, out)
	}

	// The discarding subscriber: the node's topic filters, QoS 1, a
	// persistent session like the node's; it counts and acknowledges.
	var filters []string
	for _, a := range cfg.Adapters {
		ad, err := devices.NewAdapter(devices.AdapterConfig{Dialect: a.Dialect, BaseTopic: a.BaseTopic, PortalID: a.PortalID,
			Inverters: a.Inverters, Mappings: a.Mappings, Kind: a.Kind, MaxDevices: a.MaxDevices})
		if err != nil {
			return nil, err
		}
		filters = append(filters, ad.Subscriptions()...)
	}
	subs := map[string]byte{}
	for _, f := range mqtttopic.Minimal(filters) {
		subs[f] = 1
	}
	var received atomic.Int64
	discard := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("bench-ingest-discard").
		SetCleanSession(false).SetOrderMatters(false).
		SetDefaultPublishHandler(func(paho.Client, paho.Message) { received.Add(1) }))
	if t := discard.Connect(); !t.WaitTimeout(30*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("discarding subscriber: %v", t.Error())
	}
	defer discard.Disconnect(0)
	if t := discard.SubscribeMultiple(subs, nil); !t.WaitTimeout(30*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("discarding subscriber: subscribe: %v", t.Error())
	}

	nodeCmd, err := start(gm, "run", "--config", cfgPath)
	if err != nil {
		return nil, fmt.Errorf("gridmint run: %w", err)
	}
	api := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	if err := waitHTTP(api + "/healthz"); err != nil {
		return nil, fmt.Errorf("node: %w (see %s)", err, filepath.Join(dir, "gridmint.log"))
	}
	if _, err := start(sim, simArgs...); err != nil {
		return nil, fmt.Errorf("firmware-sim: %w", err)
	}

	time.Sleep(warmup)
	p0, err := processed(api)
	if err != nil {
		return nil, err
	}
	r0, c0, t0 := received.Load(), cpuOf(nodeCmd.Process.Pid), time.Now()
	var peak memory
	for end := t0.Add(window); time.Now().Before(end); time.Sleep(time.Second) {
		if m := memOf(nodeCmd.Process.Pid); m.rss > peak.rss {
			peak = m
		}
	}
	p1, err := processed(api)
	if err != nil {
		return nil, err
	}
	heap, err := metric(api, heapLine)
	if err != nil {
		return nil, err
	}
	devs, err := metric(api, devicesLine)
	if err != nil {
		return nil, err
	}
	r1, c1, elapsed := received.Load(), cpuOf(nodeCmd.Process.Pid), time.Since(t0).Seconds()
	if r1 == r0 {
		return nil, fmt.Errorf("the discarding subscriber received nothing in %v (see %s)", window, filepath.Join(dir, "firmware-sim.log"))
	}
	mem := memOf(nodeCmd.Process.Pid)
	return &result{
		adapters:  len(cfg.Adapters),
		devices:   len(cfg.Devices) + int(devs), // declared + discovered
		delivered: float64(r1-r0) / elapsed,
		processed: (p1 - p0) / elapsed,
		cores:     (c1 - c0).Seconds() / elapsed,
		peak:      peak,
		mem:       mem,
		heapInuse: int64(heap),
	}, nil
}

func waitDial(addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitHTTP(url string) error {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after 3 min: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var (
	processedLine = regexp.MustCompile(`^gridmint_mqtt_messages_total ([0-9.e+]+)$`)
	heapLine      = regexp.MustCompile(`^go_memstats_heap_inuse_bytes ([0-9.e+]+)$`)
	devicesLine   = regexp.MustCompile(`^gridmint_devices_discovered_total ([0-9.e+]+)$`)
)

// processed reads the node's gridmint_mqtt_messages_total.
func processed(api string) (float64, error) { return metric(api, processedLine) }

// metric reads the value of the first line of the node's /metrics that re
// matches.
func metric(api string, re *regexp.Regexp) (float64, error) {
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return strconv.ParseFloat(m[1], 64)
		}
	}
	return 0, fmt.Errorf("no %s at %s/metrics", re, api)
}

// cpuOf is a process's user + system CPU time, from /proc (Linux).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in
	// parentheses: utime and stime are the 12th and 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// memory is a process's resident memory, bytes: all of it, its
// anonymous part (heaps: Go's and go-ethereum's off-heap caches) and the
// part backed by files (the program, badger's mapped tables and logs).
type memory struct{ rss, anon, file int64 }

// memOf reads a process's memory from /proc (Linux).
func memOf(pid int) memory {
	var m memory
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			m.rss = kb << 10
		case "RssAnon":
			m.anon = kb << 10
		case "RssFile", "RssShmem":
			m.file += kb << 10
		}
	}
	return m
}
