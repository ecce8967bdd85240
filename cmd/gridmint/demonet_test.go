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

// TestDemoNetworkOfThreeProcesses runs `gridmint demo --nodes 3 --speed
// 60`: three nodes as separate OS processes on loopback, on one chain
// (node 0's embedded chain, which the others use over its JSON-RPC) and
// one demo clock: two homes, each with its own broker and simulated
// homes, and a utility. All three must report the same chain id,
// contracts and attestor set (the three nodes, k = 2), their roles, and
// demo clocks that agree; they must find each other, an offer signed by
// node 0 must reach nodes 1 and 2 through gossip, and on SIGTERM every
// process must stop cleanly. Then `gridmint audit` checks node 0's
// embedded chain.
func TestDemoNetworkOfThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three nodes")
	}
	dir := t.TempDir()
	bin := filepath.Join(testBinaries(t), "gridmint")
	dataDir := filepath.Join(dir, "net")
	urls, exited, stop := startDemoNet(t, bin, dataDir, "--speed", "60")
	checkOneNetwork(t, urls, exited, 60)

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

	// Node 0 signs and gossips an offer for its battery (the market checks
	// it against the battery's state: retried until the battery reported).
	token, err := os.ReadFile(filepath.Join(dataDir, "node-0", "api-token"))
	if err != nil {
		t.Fatal(err)
	}
	// Times relative to the node's clock: demo time, an hour a minute.
	offer := map[string]any{
		"device":       addrs[0] + "/victron/battery-512",
		"window_start": "+2h", "window_end": "+3h",
		"power_w": 500, "direction": "down", "floor_price": 150000, "baseline": "schedule",
		"expiry": "+90m",
	}
	body, _ := json.Marshal(offer)
	var reply []byte
	var status int
	waitFor(t, exited, 2*time.Minute, "node 0 taking the battery offer (201)", func() bool {
		req, _ := http.NewRequest(http.MethodPost, urls[0]+"/api/v1/offers", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		reply, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
		return status == http.StatusCreated
	})
	if status != http.StatusCreated {
		t.Fatalf("POST /api/v1/offers = %d %s, want 201", status, reply)
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
	resp, err := http.Post(urls[1]+"/api/v1/offers", "application/json", bytes.NewReader(body))
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
					if msg.Author != addrs[0] || msg.Body.FloorPrice != 150000 {
						t.Fatalf("node %d got offer %s from %s with floor %d, want author %s floor 150000",
							i, msg.ID, msg.Author, msg.Body.FloorPrice, addrs[0])
					}
					return true
				}
			}
			return false
		})
	}

	// SIGTERM, as Ctrl-C: the parent stops every node and exits cleanly.
	stop()
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

// TestDemoNetworkOnGeth runs `gridmint demo --nodes 3 --chain geth`: the
// launcher starts geth --dev, funds the three nodes from its developer
// account and deploys the contracts; every node uses geth as its chain
// and reports the same chain, contracts, attestor set and k, its role
// and the one clock (real time: geth stamps blocks with the wall clock).
func TestDemoNetworkOnGeth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs geth and three nodes")
	}
	requireTool(t, "geth")
	bin := filepath.Join(testBinaries(t), "gridmint")
	urls, exited, stop := startDemoNet(t, bin, filepath.Join(t.TempDir(), "net"), "--chain", "geth")
	checkOneNetwork(t, urls, exited, 1)
	var ci struct {
		RPC string `json:"rpc"`
	}
	if err := getJSON(urls[0]+"/api/v1/chain", &ci); err != nil || !strings.HasPrefix(ci.RPC, "http://127.0.0.1:") {
		t.Errorf("node 0's chain rpc %q (%v), want geth's loopback URL", ci.RPC, err)
	}
	stop()
}

// startDemoNet starts `gridmint demo --nodes 3` with extra flags on free
// ports and returns the nodes' URLs, a channel that receives the
// launcher's exit, and stop, which sends SIGTERM (as Ctrl-C) and fails
// the test unless every process stops cleanly within 45 s. The test's
// end stops whatever still runs and shows the output of a failed test.
func startDemoNet(t *testing.T, bin, dataDir string, extra ...string) (urls []string, exited <-chan error, stop func()) {
	t.Helper()
	base := freeConsecutivePorts(t, 3)
	args := append([]string{"demo", "--nodes", "3", "--data-dir", dataDir, "--http-addr", fmt.Sprintf("127.0.0.1:%d", base), "--log-level", "warn"}, extra...)
	cmd := exec.Command(bin, args...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(40 * time.Second):
				cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
		}
	})
	for i := range 3 {
		urls = append(urls, fmt.Sprintf("http://127.0.0.1:%d", base+i))
	}
	return urls, done, func() {
		t.Helper()
		stopped = true
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("demo exited with %v, want a clean exit", err)
			}
		case <-time.After(45 * time.Second):
			cmd.Process.Kill()
			t.Fatal("demo did not stop within 45 s of SIGTERM")
		}
	}
}

// netNode is what checkOneNetwork reads of a node: GET /api/v1/node and
// GET /api/v1/chain.
type netNode struct {
	Address string `json:"address"`
	Role    string `json:"role"`
	Clock   struct {
		Now       time.Time  `json:"now"`
		Speed     float64    `json:"speed"`
		Epoch     *time.Time `json:"epoch"`
		WallStart *time.Time `json:"wall_start"`
	} `json:"clock"`
	chain struct {
		ChainID   string         `json:"chain_id"`
		Contracts map[string]any `json:"contracts"`
		Attestors []string       `json:"attestors"`
		Threshold *uint64        `json:"threshold"`
		Balance   *string        `json:"balance_wei"`
	}
	wallBefore, wallAfter time.Time // when /api/v1/node was asked
}

// checkOneNetwork waits until the three nodes at urls report one chain
// (id 1337, the same contracts), the attestor set of their three
// addresses with k = 2, roles home, home, utility, and one demo clock at
// speed: the same epoch, wall start and speed, each node's time where
// that clock is (within a demo minute of request latency).
func checkOneNetwork(t *testing.T, urls []string, exited <-chan error, speed float64) {
	t.Helper()
	nodes := make([]netNode, len(urls))
	waitFor(t, exited, 3*time.Minute, "every node's API with its chain's contracts and attestors", func() bool {
		for i, u := range urls {
			n := &nodes[i]
			n.wallBefore = time.Now()
			if getJSON(u+"/api/v1/node", n) != nil {
				return false
			}
			n.wallAfter = time.Now()
			if getJSON(u+"/api/v1/chain", &n.chain) != nil || n.chain.Threshold == nil {
				return false
			}
		}
		return true
	})
	wantRoles := []string{"home", "home", "utility"}
	var wantAttestors []string
	for i, n := range nodes {
		wantAttestors = append(wantAttestors, strings.ToLower(n.Address))
		if n.Role != wantRoles[i] {
			t.Errorf("node %d has role %q, want %q", i, n.Role, wantRoles[i])
		}
	}
	for i, n := range nodes {
		var got []string
		for _, a := range n.chain.Attestors {
			got = append(got, strings.ToLower(a))
		}
		switch {
		case n.chain.ChainID != "1337":
			t.Errorf("node %d is on chain %s, want 1337", i, n.chain.ChainID)
		case fmt.Sprint(n.chain.Contracts) != fmt.Sprint(nodes[0].chain.Contracts):
			t.Errorf("node %d has contracts %v, node 0 %v: want one chain", i, n.chain.Contracts, nodes[0].chain.Contracts)
		case fmt.Sprint(got) != fmt.Sprint(wantAttestors) || *n.chain.Threshold != 2:
			t.Errorf("node %d: attestors %v k=%d, want the nodes %v with k=2", i, got, *n.chain.Threshold, wantAttestors)
		case n.chain.Balance == nil || *n.chain.Balance == "0":
			t.Errorf("node %d's account has balance %v, want funded", i, n.chain.Balance)
		}
		c, c0 := n.Clock, nodes[0].Clock
		if c.Speed != speed || c.Epoch == nil || c.WallStart == nil || !c.Epoch.Equal(*c0.Epoch) || !c.WallStart.Equal(*c0.WallStart) {
			t.Errorf("node %d's clock ×%v from %v at wall %v; node 0's ×%v from %v at %v: want one clock at ×%v", i,
				c.Speed, c.Epoch, c.WallStart, c0.Speed, c0.Epoch, c0.WallStart, speed)
			continue
		}
		at := func(wall time.Time) time.Time {
			return c.Epoch.Add(time.Duration(float64(wall.Sub(*c.WallStart)) * speed))
		}
		if lo, hi := at(n.wallBefore).Add(-time.Minute), at(n.wallAfter).Add(time.Minute); c.Now.Before(lo) || c.Now.After(hi) {
			t.Errorf("node %d's clock read %v, want within %v..%v", i, c.Now, lo, hi)
		}
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
