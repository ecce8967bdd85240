//go:build linux

package firmwaresim

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Benchmarks of fleets (make bench). Devices are what a node counts: each
// home here has four (a PV inverter, a battery, the GX's grid meter and an
// EV charger) on three MQTT endpoints (OpenDTU or AhoyDTU, Victron GX,
// go-eCharger), every one publishing every second.

// benchFleet is 250 homes × 4 devices = 1,000 devices at noon in June.
func benchFleet(b *testing.B, homes int, mod func(*FleetConfig)) (*Fleet, *fakeClock, time.Time) {
	b.Helper()
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	clk := newFakeClock(t0)
	cfg := FleetConfig{
		Homes: homes, Seed: 1, Period: time.Second, ProfileStart: t0, Clock: clk,
		Mix: Mix{OpenDTU: 3, Ahoy: 1, Battery: 1, EV: 1, Ausgrid: 0.5},
	}
	if mod != nil {
		mod(&cfg)
	}
	f, err := NewFleet(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(f.Devices()); n != 4*homes {
		b.Fatalf("%d devices, want %d", n, 4*homes)
	}
	return f, clk, t0
}

// cpuTime is the CPU time of this process so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU time of another process, from /proc/<pid>/stat.
func procCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may contain blanks): state is
	// field 3; utime and stime are 14 and 15, in clock ticks (100 Hz).
	rest := string(data[bytes.LastIndexByte(data, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// BenchmarkFleetStep is the simulator alone, without MQTT: one op steps
// 1,000 devices (250 homes) by one second. Metrics:
//
//	devices/core     devices one core steps at 1 Hz (1,000 / CPU seconds per op)
//	cpu-ms/s/1kdev   CPU milliseconds per second of 1,000 devices at 1 Hz
//	heap-MB/1kdev    live heap of 1,000 devices
//	msgs/op          messages 1,000 devices publish per second
func BenchmarkFleetStep(b *testing.B) {
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	f, clk, t0 := benchFleet(b, 250, nil)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	keepAliveAll(f, "")
	msgs := 0
	i := 0
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		now := t0.Add(time.Duration(i) * time.Second)
		clk.Set(now)
		if i%30 == 29 {
			keepAliveAll(f, `{"keepalive-options":["suppress-republish"]}`)
		}
		msgs += len(f.Step(now))
		i++
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	perOp := cpu.Seconds() / float64(i)
	b.ReportMetric(1000/perOp, "devices/core")
	b.ReportMetric(perOp*1000, "cpu-ms/s/1kdev")
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20), "heap-MB/1kdev")
	b.ReportMetric(float64(msgs)/float64(i), "msgs/op")
}

// startMosquitto runs a mosquitto broker for the benchmark, as
// node/mosquitto_test.go does: persistence off and max_queued_messages 0
// (unlimited), so that nothing is dropped for a slow subscriber; $SYS
// every second.
func startMosquitto(b *testing.B) (url string, pid int) {
	b.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		b.Skip("mosquitto not installed (apt-get install -y mosquitto)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := b.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	body := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nsys_interval 1\nlog_dest stderr\n", port)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		b.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "mosquitto.log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting mosquitto: %v", err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("mosquitto does not accept connections on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "tcp://" + addr, cmd.Process.Pid
}

// benchSubscriberEnv makes the test binary a counting subscriber instead
// of running tests (see TestMain): a separate process, so that its CPU is
// not the simulator's, and faster than mosquitto_sub, which writes every
// message it prints and falls behind at 30,000 messages a second.
const benchSubscriberEnv = "FIRMWARESIM_BENCH_SUBSCRIBER"

func TestMain(m *testing.M) {
	if broker := os.Getenv(benchSubscriberEnv); broker != "" {
		os.Exit(runCountingSubscriber(broker))
	}
	os.Exit(m.Run())
}

// runCountingSubscriber subscribes to '#' at QoS 0 and prints the number
// of messages received so far every 100 ms, until killed.
func runCountingSubscriber(broker string) int {
	var n atomic.Uint64
	c, err := newLiteClient(broker, "bench-counter", 10*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c.subs = []string{"#"}
	c.onMessage = func(string, []byte, bool) { n.Add(1) }
	if err := c.start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("subscribed")
	for range time.Tick(100 * time.Millisecond) {
		fmt.Println(n.Load())
	}
	return 0
}

// countingSubscriber starts the test binary as a counting subscriber on
// '#' at QoS 0: every message the broker delivers.
func countingSubscriber(b *testing.B, broker string) (count *atomic.Uint64, pid int) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchSubscriberEnv+"="+broker)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	count = new(atomic.Uint64)
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "subscribed" {
		b.Fatalf("counting subscriber: %q %v", sc.Text(), sc.Err())
	}
	go func() {
		for sc.Scan() {
			if v, err := strconv.ParseUint(sc.Text(), 10, 64); err == nil {
				count.Store(v)
			}
		}
	}()
	return count, cmd.Process.Pid
}

// keepAliveClient keeps every GX of the fleet alive as a node would: a
// full republish first, then suppress-republish every 20 s.
func keepAliveClient(ctx context.Context, b *testing.B, broker string, f *Fleet) {
	b.Helper()
	var portals []string
	for _, a := range f.Adapters() {
		if a.Dialect == "victron" {
			portals = append(portals, a.PortalID)
		}
	}
	c, err := newLiteClient(broker, "bench-keepalive", 10*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	if err := c.start(ctx); err != nil {
		b.Fatal(err)
	}
	send := func(payload string) {
		msgs := make([]Message, len(portals))
		for i, p := range portals {
			msgs[i] = Message{Topic: "R/" + p + "/keepalive", Payload: payload}
		}
		c.publish(msgs)
	}
	send("")
	go func() {
		t := time.NewTicker(20 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				c.disconnect()
				return
			case <-t.C:
				send(`{"keepalive-options":["suppress-republish"]}`)
			}
		}
	}()
}

// brokerBytes follows mosquitto's $SYS/broker/bytes/received (published
// every second with sys_interval 1) and records, at each update, how many
// bytes the fleet had written: the two agree when the broker keeps up,
// and drift apart when the fleet's bytes wait in socket buffers instead.
type brokerBytes struct {
	mu      sync.Mutex
	samples [][2]uint64 // broker bytes received, fleet bytes written
}

func watchBrokerBytes(ctx context.Context, b *testing.B, broker string, f *Fleet) *brokerBytes {
	b.Helper()
	bb := &brokerBytes{}
	c, err := newLiteClient(broker, "bench-sys", 10*time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	c.subs = []string{"$SYS/broker/bytes/received"}
	c.onMessage = func(_ string, payload []byte, _ bool) {
		v, err := strconv.ParseUint(string(payload), 10, 64)
		if err != nil {
			return
		}
		ours := f.Stats().Bytes
		bb.mu.Lock()
		bb.samples = append(bb.samples, [2]uint64{v, ours})
		bb.mu.Unlock()
	}
	if err := c.start(ctx); err != nil {
		b.Fatal(err)
	}
	go func() { <-ctx.Done(); c.disconnect() }()
	return bb
}

func (bb *brokerBytes) mark() int {
	bb.mu.Lock()
	defer bb.mu.Unlock()
	return len(bb.samples)
}

// accepted is the share of the fleet's bytes the broker read between
// sample from and the latest one, %.
func (bb *brokerBytes) accepted(from int) float64 {
	bb.mu.Lock()
	defer bb.mu.Unlock()
	if from < 1 || len(bb.samples) < from+2 {
		return 0
	}
	a, z := bb.samples[from], bb.samples[len(bb.samples)-1]
	return 100 * float64(z[0]-a[0]) / float64(max(z[1]-a[1], 1))
}

// socketBacklog sums, over the established TCP connections of the broker
// on port (from ss), the bytes waiting to reach the broker (its receive
// queues and the clients' send queues) and to leave it (its send queues
// and the clients' receive queues). A broker that keeps up keeps both
// small and flat; one that does not lets them grow.
func socketBacklog(b *testing.B, port string) (in, out int64) {
	b.Helper()
	data, err := exec.Command("ss", "-tnH", "state", "established").Output()
	if err != nil {
		b.Skipf("ss: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		recvQ, _ := strconv.ParseInt(f[0], 10, 64)
		sendQ, _ := strconv.ParseInt(f[1], 10, 64)
		switch {
		case strings.HasSuffix(f[2], ":"+port): // the broker's end
			in += recvQ
			out += sendQ
		case strings.HasSuffix(f[3], ":"+port): // a client's end
			in += sendQ
			out += recvQ
		}
	}
	return in, out
}

// BenchmarkFleet10kMosquitto runs fleets at 1 Hz against a real mosquitto
// started here, over shared connections of 25 homes, with a node-like
// client keeping the GXs alive. Sub-benchmarks: 10,000 devices (2,500
// homes) with no subscriber, then with a subscriber process on '#'
// counting every message the broker delivers (what a node subscribed to
// everything would see), then 4,000 devices with it. One op is one second
// of the fleet running, after a 5 s warm-up (connects, the GXs' full
// republishes). Run it long enough to mean something:
//
//	go test -run='^$' -bench=Fleet10k -benchtime=30x ./firmware-sim/
//
// Metrics: devices; messages per second published by the fleet; the share
// of the fleet's bytes the broker read in the window (accepted-%, from
// $SYS, ±2 % for the sampling; lower when they pile up in socket
// buffers); the bytes waiting to reach the broker at the end of the
// window (in-backlog-KB) and how fast that grew (in-growth-KB/s: about 0
// when the broker keeps up), and the same for what waits to reach the
// subscriber (out-growth-KB/s); messages per second the subscriber got
// and their share (delivered-%); CPU cores used by the simulator process (sim-cores,
// including the keep-alive and $SYS clients), the broker and the
// subscriber; devices per simulator core; late shard cycles (a cycle that
// took longer than its 1 s period; 0 means the simulator kept up).
func BenchmarkFleet10kMosquitto(b *testing.B) {
	if testing.Short() {
		b.Skip("starts mosquitto")
	}
	for _, tc := range []struct {
		homes int
		sub   bool
	}{{2500, false}, {2500, true}, {1000, true}} {
		name := fmt.Sprintf("devices=%d/subscriber=none", 4*tc.homes)
		if tc.sub {
			name = fmt.Sprintf("devices=%d/subscriber=all", 4*tc.homes)
		}
		b.Run(name, func(b *testing.B) { benchMosquitto(b, tc.homes, tc.sub) })
	}
}

func benchMosquitto(b *testing.B, homes int, subscribe bool) {
	broker, brokerPID := startMosquitto(b)
	var count *atomic.Uint64
	subPID := 0
	if subscribe {
		count, subPID = countingSubscriber(b, broker)
	}
	f, _, _ := benchFleet(b, homes, func(c *FleetConfig) {
		c.Clock, c.Broker, c.Connections, c.HomesPerConnection = nil, broker, ConnShared, 25
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() {
		cancel()
		if err := waitRun(b, done); err != nil && err != errRunHung {
			b.Error(err)
		}
	}()
	for st := f.Stats(); st.Connections == 0 || st.Connected < st.Connections; st = f.Stats() {
		select {
		case err := <-done:
			b.Fatalf("Run: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	keepAliveClient(ctx, b, broker, f)
	bb := watchBrokerBytes(ctx, b, broker, f)
	time.Sleep(5 * time.Second)

	received := func() uint64 {
		if count == nil {
			return 0
		}
		return count.Load()
	}
	port := broker[strings.LastIndexByte(broker, ':')+1:]
	in0, out0 := socketBacklog(b, port)
	st0, n0, cpu0, bro0, sub0, t0, mark := f.Stats(), received(), cpuTime(), procCPU(brokerPID), procCPU(subPID), time.Now(), bb.mark()
	b.ResetTimer()
	time.Sleep(time.Duration(b.N) * time.Second)
	b.StopTimer()
	// The subscriber reports every 100 ms: give it that and the transit.
	time.Sleep(200 * time.Millisecond)
	st1, n1, cpu1, bro1, sub1 := f.Stats(), received(), cpuTime(), procCPU(brokerPID), procCPU(subPID)
	wall := time.Since(t0).Seconds()
	in1, out1 := socketBacklog(b, port)
	time.Sleep(time.Second) // and $SYS one more update
	pub, got := float64(st1.Published-st0.Published), float64(n1-n0)
	simCores := (cpu1 - cpu0).Seconds() / wall
	b.ReportMetric(float64(st1.Devices), "devices")
	b.ReportMetric(pub/wall, "pub-msgs/s")
	b.ReportMetric(bb.accepted(mark), "accepted-%")
	b.ReportMetric(float64(in1)/1024, "in-backlog-KB")
	b.ReportMetric(float64(in1-in0)/1024/wall, "in-growth-KB/s")
	if subscribe {
		b.ReportMetric(got/wall, "recv-msgs/s")
		b.ReportMetric(100*got/max(pub, 1), "delivered-%")
		b.ReportMetric((sub1-sub0).Seconds()/wall, "sub-cores")
		b.ReportMetric(float64(out1-out0)/1024/wall, "out-growth-KB/s")
	}
	b.ReportMetric(simCores, "sim-cores")
	b.ReportMetric((bro1-bro0).Seconds()/wall, "broker-cores")
	b.ReportMetric(float64(st1.Devices)/simCores, "devices/sim-core")
	b.ReportMetric(float64(st1.Late-st0.Late), "late-cycles")
	b.ReportMetric(float64(st1.Cycles-st0.Cycles)/wall/float64(st1.Homes), "cycles/home/s")
}

// BenchmarkSimStep is one house of every dialect (the single-house
// demo), stepped by 5 s: the cost of the per-device path.
func BenchmarkSimStep(b *testing.B) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	house := DemoHouse()
	house.Clock = newFakeClock(t0)
	house.ProfileStart = t0
	s, err := New(house)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		s.Step(t0.Add(time.Duration(i) * 5 * time.Second))
		i++
	}
}
