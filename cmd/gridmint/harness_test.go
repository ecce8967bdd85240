package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// The end-to-end harness: N real gridmint processes, each with its own
// data dir and loopback ports, on one chain (node 0's embedded chain,
// served to the others) and one demo clock, started by the same launcher
// as `gridmint demo --nodes N` (launchDemoNet). Tests drive the nodes
// through their HTTP APIs and wait on conditions of them, never on
// sleeps; they kill, stop and restart processes to test what a network
// of homes does when one of them dies.
//
// The binary is built with -tags e2e, which adds the test hooks of
// node/testhooks_e2e.go (POST /e2e/v1/batches hands a node a batch, as
// the certificate and market services will); nothing else differs from
// a release build.

// harnessPatience bounds every wait of the harness (wall clock): generous,
// because three node processes on a loaded 2-core machine start slowly.
const harnessPatience = 3 * time.Minute

var e2eBin struct {
	once sync.Once
	path string
	err  string
}

// e2eBinary builds gridmint with -tags e2e, once per test binary.
func e2eBinary(t *testing.T) string {
	t.Helper()
	e2eBin.once.Do(func() {
		dir := testBinaries(t)
		repo, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			e2eBin.err = err.Error()
			return
		}
		e2eBin.path = filepath.Join(dir, "gridmint-e2e")
		cmd := exec.Command("go", "build", "-tags", "e2e", "-o", e2eBin.path, "./cmd/gridmint")
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			e2eBin.err = fmt.Sprintf("go build -tags e2e: %v\n%s", err, out)
		}
	})
	if e2eBin.err != "" {
		t.Fatal(e2eBin.err)
	}
	return e2eBin.path
}

// testNet is a running network of the harness. Its methods fail the test
// on errors; they are for the test's goroutine only.
type testNet struct {
	t      *testing.T
	ctx    context.Context
	l      *demoNetLauncher
	out    *syncBuffer
	tokens []string
}

// startTestNet starts a network of nodes processes at speed (demo seconds
// per wall second) and returns once every node answers. The test's end
// stops it, and shows its output if the test failed. opts change the
// launcher's options (withoutClaims).
func startTestNet(t *testing.T, nodes int, speed float64, opts ...func(*demoNetOptions)) *testNet {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs a network of node processes")
	}
	bin := e2eBinary(t)
	base := freeConsecutivePorts(t, nodes)
	ctx, cancel := context.WithCancel(context.Background())
	tn := &testNet{t: t, ctx: ctx, out: &syncBuffer{}}
	o := demoNetOptions{nodes: nodes, dataDir: filepath.Join(t.TempDir(), "net"), httpAddr: fmt.Sprintf("127.0.0.1:%d", base),
		logLevel: "info", speed: speed, chain: chainEmbedded}
	for _, f := range opts {
		f(&o)
	}
	l, err := launchDemoNet(ctx, o, bin, tn.out)
	t.Cleanup(func() {
		if l != nil {
			l.stop()
		}
		cancel()
		if t.Failed() {
			out := tn.out.String()
			if len(out) > 200_000 {
				out = "…" + out[len(out)-200_000:]
			}
			t.Logf("network output:\n%s", out)
		}
	})
	if err != nil {
		t.Fatalf("starting a network of %d nodes: %v", nodes, err)
	}
	tn.l = l
	for _, n := range l.procs {
		tok, err := os.ReadFile(filepath.Join(n.dataDir, "api-token"))
		if err != nil {
			t.Fatal(err)
		}
		tn.tokens = append(tn.tokens, strings.TrimSpace(string(tok)))
	}
	return tn
}

func (tn *testNet) url(i int) string { return "http://" + tn.l.procs[i].httpAddr }

// address is node i's account.
func (tn *testNet) address(i int) common.Address {
	return common.HexToAddress(tn.l.procs[i].id.Address)
}

// running reports whether node i's process runs.
func (tn *testNet) running(i int) bool {
	n := tn.l.procs[i]
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// kill sends node i SIGKILL and waits for its process to end.
func (tn *testNet) kill(i int) {
	tn.t.Helper()
	n := tn.l.procs[i]
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		tn.t.Fatalf("kill node %d: %v", i, err)
	}
	<-n.done
}

// restart starts node i again with the flags of its first start and
// waits until it answers.
func (tn *testNet) restart(i int) {
	tn.t.Helper()
	n := tn.l.procs[i]
	if tn.running(i) {
		tn.t.Fatalf("restart node %d: it is running", i)
	}
	if err := tn.l.start(tn.ctx, n, n.extra); err != nil {
		tn.t.Fatalf("restart node %d: %v", i, err)
	}
	if _, err := tn.l.waitReady(tn.ctx, n); err != nil {
		tn.t.Fatalf("restart node %d: %v", i, err)
	}
}

// get decodes GET path on node i into v.
func (tn *testNet) get(i int, path string, v any) error {
	return getJSON(tn.url(i)+path, v)
}

// post sends body as JSON to path on node i with its API token and
// decodes a 2xx reply into v (nil: discarded).
func (tn *testNet) post(i int, path string, body, v any) {
	tn.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		tn.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, tn.url(i)+path, bytes.NewReader(b))
	if err != nil {
		tn.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tn.tokens[i])
	req.Header.Set("Content-Type", "application/json")
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		tn.t.Fatalf("POST %s on node %d: %v", path, i, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		tn.t.Fatalf("POST %s on node %d = %s: %s", path, i, resp.Status, reply)
	}
	if v != nil {
		if err := json.Unmarshal(reply, v); err != nil {
			tn.t.Fatalf("POST %s on node %d: reply %s: %v", path, i, reply, err)
		}
	}
}

// waitFor polls cond (every 250 ms of wall time) until it holds; it fails
// the test after harnessPatience, or at once when a node that should run
// has stopped.
func (tn *testNet) waitFor(what string, cond func() bool) {
	tn.t.Helper()
	running := make([]bool, len(tn.l.procs))
	for i := range running {
		running[i] = tn.running(i)
	}
	deadline := time.Now().Add(harnessPatience)
	for !cond() {
		for i, was := range running {
			if was && !tn.running(i) {
				tn.t.Fatalf("node %d stopped (%v) while waiting for %s", i, tn.l.procs[i].cmd.ProcessState, what)
			}
		}
		if time.Now().After(deadline) {
			tn.t.Fatalf("waited %v for %s", harnessPatience, what)
		}
		time.Sleep(250 * time.Millisecond) // a poll interval, not a wait for an outcome
	}
}

// now is the network's demo time, as node i's API reports it.
func (tn *testNet) now(i int) time.Time {
	tn.t.Helper()
	var info struct {
		Clock struct {
			Now time.Time `json:"now"`
		} `json:"clock"`
	}
	if err := tn.get(i, "/api/v1/node", &info); err != nil {
		tn.t.Fatalf("node %d: %v", i, err)
	}
	return info.Clock.Now
}

// withoutClaims runs the nodes without the certificate claim cycle
// (--claims=false), for tests that count the batches they hand over.
func withoutClaims(o *demoNetOptions) { o.noClaims = true }
