package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDemoNetworkOfThreeProcesses runs `gridmint demo --nodes 3`: three
// nodes as separate OS processes on loopback, each with its own broker,
// simulated house, data dir and HTTP port. They must find each other, an
// offer signed by node 0 must reach nodes 1 and 2 through gossip, and on
// SIGTERM every process must stop cleanly. Then `gridmint audit` checks
// node 0's embedded chain.
func TestDemoNetworkOfThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three nodes")
	}
	dir := t.TempDir()
	bin := filepath.Join(testBinaries(t), "gridmint")
	base := freeConsecutivePorts(t, 3)
	dataDir := filepath.Join(dir, "net")
	cmd := exec.Command(bin, "demo", "--nodes", "3", "--data-dir", dataDir, "--http-addr", fmt.Sprintf("127.0.0.1:%d", base), "--log-level", "warn")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(40 * time.Second):
				cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
		}
	}()
	urls := make([]string, 3)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://127.0.0.1:%d", base+i)
	}

	// Every node is connected to both others.
	type peersReply struct {
		Address string `json:"address"`
		Peers   []struct {
			Address string   `json:"address"`
			Topics  []string `json:"topics"`
		} `json:"peers"`
	}
	addrs := make([]string, 3)
	// Node 0 publishes to the peers it knows are on the offers topic; a
	// connected peer whose subscription has not arrived yet would miss
	// the offer (gossip does not repeat it), so wait for both.
	waitFor(t, exited, 3*time.Minute, "every node connected to the two others, and node 0 hearing both on the offers topic", func() bool {
		for i, u := range urls {
			var p peersReply
			if getJSON(u+"/api/v1/peers", &p) != nil || len(p.Peers) < 2 {
				return false
			}
			if i == 0 {
				for _, q := range p.Peers {
					if !slices.Contains(q.Topics, "/gridmint/1/offers") {
						return false
					}
				}
			}
			addrs[i] = p.Address
		}
		return true
	})
	for i := range addrs {
		for j := range i {
			if addrs[i] == addrs[j] {
				t.Fatalf("nodes %d and %d share the address %s, want one key per node", j, i, addrs[i])
			}
		}
	}

	// Node 0 signs and gossips an offer for its charger.
	token, err := os.ReadFile(filepath.Join(dataDir, "node-0", "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	start := now.Truncate(time.Hour).Add(2 * time.Hour)
	offer := map[string]any{
		"device":       addrs[0] + "/goe/200001",
		"window_start": start, "window_end": start.Add(time.Hour),
		"power_w": 7000, "direction": "down", "floor_price": 123456, "baseline": "schedule",
		"expiry": start.Add(-30 * time.Minute),
	}
	body, _ := json.Marshal(offer)
	req, _ := http.NewRequest(http.MethodPost, urls[0]+"/api/v1/offers", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/v1/offers = %d %s, want 201", resp.StatusCode, reply)
	}
	var published struct {
		ID     string `json:"id"`
		Author string `json:"author"`
	}
	if err := json.Unmarshal(reply, &published); err != nil || published.ID == "" {
		t.Fatalf("POST /api/v1/offers reply %s: %v", reply, err)
	}
	if published.Author != addrs[0] {
		t.Errorf("offer author = %s, want node 0's address %s", published.Author, addrs[0])
	}
	// Unsigned calls change nothing.
	resp, err = http.Post(urls[1]+"/api/v1/offers", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /api/v1/offers without the token = %d, want 401", resp.StatusCode)
	}

	type messagesReply struct {
		Messages []struct {
			ID     string `json:"id"`
			Author string `json:"author"`
			Body   struct {
				FloorPrice int64 `json:"floor_price"`
			} `json:"body"`
		} `json:"messages"`
	}
	for i := 1; i < 3; i++ {
		waitFor(t, exited, 2*time.Minute, fmt.Sprintf("node %d has node 0's offer", i), func() bool {
			var m messagesReply
			if getJSON(urls[i]+"/api/v1/p2p/messages?topic=offers&limit=1000", &m) != nil {
				return false
			}
			for _, msg := range m.Messages {
				if msg.ID == published.ID {
					if msg.Author != addrs[0] || msg.Body.FloorPrice != 123456 {
						t.Fatalf("node %d got offer %s from %s with floor %d, want author %s floor 123456",
							i, msg.ID, msg.Author, msg.Body.FloorPrice, addrs[0])
					}
					return true
				}
			}
			return false
		})
	}

	// SIGTERM, as Ctrl-C: the parent stops every node and exits cleanly.
	stopped = true
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("demo exited with %v, want a clean exit", err)
		}
	case <-time.After(45 * time.Second):
		cmd.Process.Kill()
		t.Fatal("demo did not stop within 45 s of SIGTERM")
	}
	for i := range urls {
		if _, err := http.Get(urls[i] + "/api/v1/peers"); err == nil {
			t.Errorf("node %d still answers after the demo stopped", i)
		}
	}

	// The stopped node's embedded chain audits clean.
	audit := exec.Command(bin, "audit", "--data-dir", filepath.Join(dataDir, "node-0"))
	auditOut, err := audit.CombinedOutput()
	if err != nil {
		t.Fatalf("gridmint audit: %v\n%s", err, auditOut)
	}
	if !strings.Contains(string(auditOut), "no differences") {
		t.Errorf("gridmint audit output lacks %q:\n%s", "no differences", auditOut)
	}
}

// waitFor polls cond every 250 ms until it holds, failing the test after
// limit or when the demo process exits first.
func waitFor(t *testing.T, exited <-chan error, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", limit, what)
		}
		select {
		case err := <-exited:
			t.Fatalf("demo exited (%v) while waiting for %s", err, what)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func getJSON(url string, v any) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// freeConsecutivePorts finds n consecutive loopback TCP ports that are free
// now, as `demo --nodes` gives node i the HTTP port base+i.
func freeConsecutivePorts(t *testing.T, n int) int {
	t.Helper()
	for range 50 {
		base, err := freeTCPPort()
		if err != nil {
			t.Fatal(err)
		}
		ok := true
		for i := 1; i < n && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// syncBuffer is a bytes.Buffer that two process pipes may write at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
