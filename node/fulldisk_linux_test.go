package node

import (
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/store"
)

// mountTmpfs mounts a tmpfs of sizeMiB MiB for the test. Mounting needs
// root (CI runs the tests as root); elsewhere the test is skipped, in CI
// (CI set) it fails.
func mountTmpfs(t *testing.T, sizeMiB int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dm,mode=0700", sizeMiB)); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount a %d MiB tmpfs: %v (CI runs the tests as root)", sizeMiB, err)
		}
		t.Skipf("cannot mount a tmpfs (%v): this test runs as root, as in CI", err)
	}
	// Registered after TempDir's cleanup, so it runs first.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	free, _, err := statfsSpace(dir)
	if err != nil {
		t.Fatal(err)
	}
	return free
}

// fill appends to path until the filesystem has less than below bytes
// free, or is full when below is 0.
func fill(t *testing.T, path string, below uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		free := freeBytes(t, filepath.Dir(path))
		if below > 0 && free < below {
			return
		}
		n := len(buf)
		if below > 0 {
			n = int(min(uint64(n), free-below+64<<10))
		}
		if _, err := f.Write(buf[:n]); err != nil {
			if below == 0 && errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatalf("filling %s: %v", path, err)
		}
	}
}

// TestFullDiskPausesAndLosesNothing runs a node in a child process on a
// real 128 MiB tmpfs against a real Mosquitto, with a publisher sending
// numbered QoS 1 readings. It fills the disk below the reserve: the node
// stays up, says so at /healthz and stops acknowledging. It kills the
// node and restarts it on the full disk: it comes up paused. It frees the
// disk: the node resumes by itself and stores what the broker kept. It
// fills the disk to the last byte with the node stopped: the node refuses
// to start with a clear error instead of dying of SIGBUS (as badger did
// at every restart). Every reading the broker acknowledged to the
// publisher is stored exactly once, checked through the API and finally
// in the store itself.
func TestFullDiskPausesAndLosesNothing(t *testing.T) {
	parallel(t)
	disk := mountTmpfs(t, 128)
	url := startMosquitto(t)
	cfgPath := filepath.Join(t.TempDir(), "node.yaml")
	dataDir := filepath.Join(disk, "data")
	const reserve = 80 << 20
	cfg := fmt.Sprintf(`
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s, client_id: gridmint-fulldisk-node}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false}
storage: {min_free: 80MiB, resume_margin: 8MiB}
adapters: [{dialect: tasmota}]
`, dataDir, url)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(disk, "filler")

	var node *exec.Cmd
	var addr, base string
	start := func() {
		t.Helper()
		var line string
		node, line = startNodeProcess(t, cfgPath)
		if !strings.HasPrefix(line, "READY ") {
			node.Wait()
			t.Fatalf("node process: %q, want READY", line)
		}
		addr = strings.TrimPrefix(line, "READY ")
		raw, err := os.ReadFile(filepath.Join(dataDir, HTTPAddrFile))
		if err != nil {
			t.Fatal(err)
		}
		base = "http://" + strings.TrimSpace(string(raw))
	}
	alive := func(what string) {
		t.Helper()
		if node.ProcessState != nil || node.Process.Signal(syscall.Signal(0)) != nil {
			t.Fatalf("%s: the node process is gone", what)
		}
	}
	stop := func() {
		t.Helper()
		node.Process.Signal(syscall.SIGTERM)
		if err := node.Wait(); err != nil {
			t.Fatalf("node exit after SIGTERM: %v, want a clean exit", err)
		}
	}
	defer func() {
		if node != nil && node.ProcessState == nil {
			node.Process.Kill()
			node.Wait()
		}
	}()

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("fulldisk-publisher"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	published := 0 // messages 0..published-1 were acknowledged by the broker
	t0 := time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC)
	publish := func(n int) {
		t.Helper()
		for end := published + n; published < end; published++ {
			// 10 mWh per message: within the normaliser's energy budget.
			payload := fmt.Sprintf(`{"Time":"%s","ENERGY":{"Total":100.%05d,"Power":36}}`,
				t0.Add(time.Duration(published)*time.Second).Format("2006-01-02T15:04:05"), published)
			tok := pub.Publish("tele/fullplug/SENSOR", 1, false, payload)
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("publish %d: the broker did not take it: %v", published, tok.Error())
			}
		}
	}
	// raws returns the stored readings' raw counters through the API.
	raws := func() []gridmint.MWh {
		t.Helper()
		id := addr + "/tasmota/fullplug"
		resp, err := http.Get(base + "/api/v1/devices/" + id + "/readings?from=2000-01-01T00:00:00Z&to=3000-01-01T00:00:00Z&limit=10000")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil // not discovered yet
		}
		var body struct {
			Readings []gridmint.Reading `json:"readings"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("readings: %d %v", resp.StatusCode, err)
		}
		out := make([]gridmint.MWh, len(body.Readings))
		for i, r := range body.Readings {
			out[i] = r.Raw
		}
		return out
	}
	exactlyOnce := func(what string, got []gridmint.MWh, n int) {
		t.Helper()
		seen := map[gridmint.MWh]int{}
		for _, r := range got {
			seen[r]++
		}
		for i := 0; i < n; i++ {
			if c := seen[gridmint.MWh(100_000_000+i*10)]; c != 1 {
				t.Errorf("%s: message %d stored %d times, want exactly once", what, i, c)
			}
		}
		if len(got) != n {
			t.Errorf("%s: %d readings, want %d", what, len(got), n)
		}
	}
	stored := func(what string, n int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d readings (%s)", n, what), func() bool { return len(raws()) >= n })
		exactlyOnce(what, raws(), n)
	}
	pending := func() float64 {
		t.Helper()
		for _, line := range strings.Split(get(t, base+"/metrics"), "\n") {
			if v, ok := strings.CutPrefix(line, "gridmint_mqtt_messages_pending "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		t.Fatal("/metrics has no gridmint_mqtt_messages_pending")
		return 0
	}
	diskCheck := func() (int, bool, string) {
		t.Helper()
		code, h := getHealth(t, base)
		ok, detail, found := h.check("disk")
		if !found {
			t.Fatalf("/healthz has no disk check: %+v", h)
		}
		return code, ok, detail
	}
	paused := func(what string) {
		t.Helper()
		waitFor(t, "/healthz to report the full disk ("+what+")", func() bool {
			code, ok, _ := diskCheck()
			return code == http.StatusServiceUnavailable && !ok
		})
		if _, _, detail := diskCheck(); !strings.Contains(detail, "below the reserve of 80 MiB") {
			t.Errorf("%s: disk check %q, want it to say the free space is below the reserve of 80 MiB", what, detail)
		}
	}

	// A running node takes readings.
	start()
	publish(50)
	stored("before the disk fills", 50)
	t.Logf("node up: %s free of 128 MiB", formatBytes(freeBytes(t, disk)))

	// Below the reserve: the node stays up, says so and stops acknowledging.
	fill(t, filler, reserve-8<<20)
	t.Logf("filled: %s free", formatBytes(freeBytes(t, disk)))
	paused("disk filled below the reserve")
	publish(100)
	// Mosquitto keeps at most 20 QoS 1 messages in flight per client: the
	// node holds 20 unacknowledged and the broker queues the rest.
	waitFor(t, "the node to hold the broker's in-flight window", func() bool { return pending() >= 20 })
	alive("paused")
	exactlyOnce("while paused", raws(), 50)

	// A crash and a restart on the full disk: it comes up paused.
	node.Process.Signal(syscall.SIGKILL)
	node.Wait()
	start()
	paused("restarted on the full disk")
	waitFor(t, "the restarted node to hold the re-delivered messages", func() bool { return pending() >= 20 })
	exactlyOnce("restarted while full", raws(), 50)
	t.Logf("restarted paused: %s free", formatBytes(freeBytes(t, disk)))

	// Room again: it resumes by itself and drains what the broker kept.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node to resume", func() bool {
		code, ok, _ := diskCheck()
		return code == http.StatusOK && ok
	})
	stored("after the disk emptied", 150)
	publish(50)
	stored("after the resume", 200)
	alive("resumed")

	// Full to the last byte (another program filled it): the paused node
	// stops cleanly on SIGTERM, leaving its memtable in the write-ahead
	// log rather than flushing it into a disk without room (SIGBUS).
	fill(t, filler, 0)
	if free := freeBytes(t, disk); free > 1<<20 {
		t.Fatalf("the filler left %d bytes free", free)
	}
	paused("full to the last byte")
	stop()

	// And it refuses to start on it, saying why, and exits cleanly,
	// where badger died of SIGBUS at every restart.
	cmd, line := startNodeProcess(t, cfgPath)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.HasPrefix(line, "ERROR") || !strings.Contains(line, "the store needs to open without crashing") {
		t.Fatalf("start on a full disk: %q, exit %v; want ERROR saying the store needs room and exit status 1", line, err)
	}
	t.Logf("start on a full disk: %s", line)

	// Freed again: everything is there, and the node goes on.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	start()
	stored("restarted after the disk emptied", 200)
	publish(20)
	stored("at the end", 220)
	stop()

	// The store itself, opened after the node stopped.
	st, err := store.Open(filepath.Join(dataDir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs, err := st.Readings(gridmint.DeviceID(addr+"/tasmota/fullplug"), time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]gridmint.MWh, len(rs))
	for i, r := range rs {
		got[i] = r.Raw
	}
	exactlyOnce("in the store", got, published)
	counts, err := st.RejectionCounts()
	if err != nil {
		t.Fatal(err)
	}
	for reason, c := range counts {
		// Messages stored but not yet acknowledged at the kill come again
		// and are recognised as duplicates; nothing else is rejected.
		if reason != gridmint.ReasonDuplicate && c > 0 {
			t.Errorf("%d rejections for %s, want only duplicates", c, reason)
		}
	}
}
