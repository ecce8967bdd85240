package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node"
)

// maxDemoNodes bounds --nodes: each node is a whole demo (broker,
// simulated devices, node) in its own process.
const maxDemoNodes = 32

// Chains a demo network runs on (--chain).
const (
	chainEmbedded = "embedded" // node 0's embedded chain, served to the others
	chainGeth     = "geth"     // a geth --dev the launcher starts
)

// Files in a demo network's data dir.
const (
	demoNetFile          = "demo-net.json"  // what network the dir holds
	demoNetContractsFile = "contracts.json" // the shared chain's contracts
	demoNetGethDir       = "geth"           // geth --dev's data dir
)

// demoNetOptions are `gridmint demo --nodes N`'s settings.
type demoNetOptions struct {
	nodes     int
	dataDir   string
	httpAddr  string
	logLevel  string
	speed     float64
	epoch     time.Time     // zero: the data dir's demo clock, or now
	attestK   int           // 0: ⌊2(N−1)/3⌋+1
	chain     string        // chainEmbedded or chainGeth
	simPeriod time.Duration // 0: the demo's default
	noClaims  bool          // --claims=false: no certificate claim cycle
}

// defaultAttestK is the default threshold of a network of n nodes:
// more than two thirds of the n − 1 nodes other than a claim's own, whose
// attestation never counts for its own devices.
func defaultAttestK(n int) int { return 2*(n-1)/3 + 1 }

// demoNetNode is one process of `gridmint demo --nodes N`.
type demoNetNode struct {
	index    int
	role     node.Role
	dataDir  string
	httpAddr string
	p2pPort  int
	id       *node.Identity
	extra    []string // the flags of its part in the network (chain host or user)
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
}

func (n *demoNetNode) bootstrapAddr() string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", n.p2pPort, n.id.PeerID)
}

// demoNetRecord is demo-net.json: the network a data dir holds, which a
// restart must not change (the chain's genesis funds its nodes).
type demoNetRecord struct {
	Nodes int    `json:"nodes"`
	Chain string `json:"chain"`
}

// demoNet runs a network of o.nodes demo nodes as separate OS processes
// on loopback, each with its own data dir (<dataDir>/node-<i>) and HTTP
// port (httpAddr's port + i), on one chain and one demo clock. Nodes 0 to
// N−2 are homes, each with its own broker and simulated homes; node N−1
// is the utility. On the embedded chain, node 0 hosts the chain and
// serves its JSON-RPC on loopback, and the others use it as their
// chain.rpc; with --chain geth, the launcher starts geth --dev, funds
// every node and deploys the contracts. Every node is an attestor, with
// threshold o.attestK. Every node bootstraps from node 0 and the node
// before it. demoNet returns when ctx ends (stopping them all) or when
// one of them stops. Ctrl-C (ctx ending) while the nodes are still
// starting is a stop like any other, not an error.
func demoNet(ctx context.Context, o demoNetOptions, stdout, stderr io.Writer) error {
	err := runDemoNet(ctx, o, stdout, stderr)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		fmt.Fprintln(stdout, "stopped while starting.")
		return nil
	}
	return err
}

func runDemoNet(ctx context.Context, o demoNetOptions, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	l, err := launchDemoNet(ctx, o, self, stderr)
	if l != nil {
		defer l.stop()
	}
	if err != nil {
		return err
	}
	o, procs := l.o, l.procs
	fmt.Fprintf(stdout, "gridmint demo network: %d nodes, each its own process, on one chain and one clock.\n", o.nodes)
	for _, n := range procs {
		fmt.Fprintf(stdout, "  node %d  %-7s  http://%s/  address %s  peer ID %s\n", n.index, n.role, n.httpAddr, n.id.Address, n.id.PeerID)
	}
	fmt.Fprintf(stdout, "  chain      %s, chain id %s; attestors: all %d nodes, k = %d (GET /api/v1/chain)\n", l.chainNote, chain.SimulatedChainID, o.nodes, o.attestK)
	fmt.Fprintf(stdout, "  clock      %s (GET /api/v1/node)\n", describeClock(l.clock))
	fmt.Fprintf(stdout, "Publish an offer on node 0 and watch it arrive at the others' /api/v1/p2p/messages.\nPress Ctrl-C to stop them all.\n")
	var runErr error
	select {
	case <-ctx.Done():
	case i := <-l.exited:
		runErr = fmt.Errorf("demo: node %d stopped: %v", i, procs[i].cmd.ProcessState)
	}
	fmt.Fprintln(stdout, "stopping...")
	return runErr
}

// launchDemoNet starts the network's processes (self is the gridmint
// binary) and returns once every node answers. The launcher it returns,
// also with an error, must be stopped. The end-to-end harness
// (harness_test.go) starts its networks with it too.
func launchDemoNet(ctx context.Context, o demoNetOptions, self string, stderr io.Writer) (*demoNetLauncher, error) {
	if o.nodes < 2 || o.nodes > maxDemoNodes {
		return nil, fmt.Errorf("demo: --nodes %d: want 2 to %d", o.nodes, maxDemoNodes)
	}
	if o.attestK == 0 {
		o.attestK = defaultAttestK(o.nodes)
	}
	if o.attestK < 1 || o.attestK > o.nodes-1 {
		return nil, fmt.Errorf("demo: --attest-k %d: want 1 to %d (--nodes − 1): a node's attestation never counts for its own devices, so k must be reachable without it", o.attestK, o.nodes-1)
	}
	switch o.chain {
	case chainEmbedded:
	case chainGeth:
		if o.speed != 1 {
			return nil, fmt.Errorf("demo: --chain geth with --speed %g: geth --dev stamps its blocks with the wall clock, so certificates for demo hours ahead of it would be refused as not yet ended; use --speed 1 with geth, or the embedded chain, whose blocks follow the demo clock", o.speed)
		}
	default:
		return nil, fmt.Errorf("demo: --chain %q: want %s or %s", o.chain, chainEmbedded, chainGeth)
	}
	host, portText, err := net.SplitHostPort(o.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("demo: --http-addr %q: %w", o.httpAddr, err)
	}
	basePort, err := strconv.Atoi(portText)
	if err != nil || basePort <= 0 || basePort+o.nodes > 65535 {
		return nil, fmt.Errorf("demo: --http-addr %q: with --nodes, give a fixed port; node i listens on port+i", o.httpAddr)
	}
	if err := checkDemoNetRecord(o); err != nil {
		return nil, err
	}
	// One clock for every process: the launcher's, kept in the network's
	// data dir, handed to each node as epoch, wall start and speed.
	clock, err := node.DemoClock(o.dataDir, o.speed, o.epoch, time.Time{}, time.Now())
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	procs := make([]*demoNetNode, o.nodes)
	addrs := make([]string, o.nodes)
	for i := range procs {
		n := &demoNetNode{index: i, role: node.RoleHome, dataDir: filepath.Join(o.dataDir, fmt.Sprintf("node-%d", i)),
			httpAddr: fmt.Sprintf("%s:%d", host, basePort+i)}
		if i == o.nodes-1 {
			n.role = node.RoleUtility
		}
		if n.id, err = node.DemoIdentity(n.dataDir); err != nil {
			return nil, fmt.Errorf("demo: node %d: %w", i, err)
		}
		if n.p2pPort, err = freeTCPPort(); err != nil {
			return nil, fmt.Errorf("demo: node %d: %w", i, err)
		}
		procs[i], addrs[i] = n, n.id.Address
	}
	l := &demoNetLauncher{o: o, self: self, clock: clock, procs: procs, stderr: stderr, exited: make(chan int, o.nodes)}

	var chainURL string
	switch o.chain {
	case chainEmbedded:
		port, err := freeTCPPort()
		if err != nil {
			return l, fmt.Errorf("demo: %w", err)
		}
		chainURL = fmt.Sprintf("http://127.0.0.1:%d", port)
		l.chainNote = fmt.Sprintf("embedded in node 0, JSON-RPC %s", chainURL)
		// Node 0 hosts the chain: it funds the others at genesis and
		// deploys the registry with every node as an attestor.
		host := []string{"--chain-serve-rpc", fmt.Sprintf("127.0.0.1:%d", port),
			"--chain-fund", strings.Join(addrs[1:], ","), "--attestors", strings.Join(addrs, ","), "--attest-k", strconv.Itoa(o.attestK)}
		if err := l.start(ctx, procs[0], host); err != nil {
			return l, err
		}
		contracts, err := l.waitReady(ctx, procs[0])
		if err != nil {
			return l, err
		}
		if err := writeContracts(filepath.Join(o.dataDir, demoNetContractsFile), contracts); err != nil {
			return l, err
		}
	case chainGeth:
		g, err := startGeth(ctx, filepath.Join(o.dataDir, demoNetGethDir), stderr)
		if err != nil {
			return l, err
		}
		l.geth = g
		chainURL = g.url
		l.chainNote = fmt.Sprintf("geth --dev, JSON-RPC %s (log %s)", chainURL, g.logPath)
		if err := prepareGethChain(ctx, g, procs, o); err != nil {
			return l, err
		}
	}
	shared := []string{"--chain-rpc", chainURL, "--chain-contracts", filepath.Join(o.dataDir, demoNetContractsFile),
		"--chain-id", chain.SimulatedChainID.String()}
	for _, n := range procs {
		if n.cmd != nil {
			continue // node 0, hosting the embedded chain
		}
		if err := l.start(ctx, n, shared); err != nil {
			return l, err
		}
	}
	for _, n := range procs[1:] {
		if _, err := l.waitReady(ctx, n); err != nil {
			return l, err
		}
	}

	return l, nil
}

// describeClock says what the demo clock does, for the start banner.
func describeClock(c *gridmint.ScaledClock) string {
	if c.Rate() == 1 {
		return fmt.Sprintf("real time (speed 1), now %s", c.Now().Format(time.RFC3339))
	}
	return fmt.Sprintf("demo time ×%g: an hour passes in %v of wall time; demo time now %s", c.Rate(),
		gridmint.WallDuration(c, time.Hour).Round(time.Second), c.Now().Format(time.RFC3339))
}

// checkDemoNetRecord refuses to run another network in a data dir than the
// one it holds: the chain's genesis funds exactly its nodes.
func checkDemoNetRecord(o demoNetOptions) error {
	path := filepath.Join(o.dataDir, demoNetFile)
	want := demoNetRecord{Nodes: o.nodes, Chain: o.chain}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if _, err := os.Stat(filepath.Join(o.dataDir, "node-0", "chain")); err == nil {
			return fmt.Errorf("demo: %s holds a demo network made before the nodes shared one chain; use another --data-dir, or remove it to start afresh", o.dataDir)
		}
		b, _ := json.MarshalIndent(want, "", "  ")
		return os.WriteFile(path, append(b, '\n'), 0o600)
	case err != nil:
		return fmt.Errorf("demo: %w", err)
	}
	var have demoNetRecord
	if err := json.Unmarshal(b, &have); err != nil {
		return fmt.Errorf("demo: %s is damaged (%v); remove %s to start afresh", path, err, o.dataDir)
	}
	if have != want {
		return fmt.Errorf("demo: %s holds a network of %d nodes on the %s chain; run it with --nodes %d --chain %s, or use another --data-dir",
			o.dataDir, have.Nodes, have.Chain, have.Nodes, have.Chain)
	}
	return nil
}

// demoNetLauncher starts and stops the network's processes.
type demoNetLauncher struct {
	o     demoNetOptions
	self  string
	clock *gridmint.ScaledClock
	procs []*demoNetNode
	geth  *gethProcess
	// chainNote says which chain the network runs on, for the banner.
	chainNote string
	stderr    io.Writer
	exited    chan int
	wg        sync.WaitGroup
}

// start starts node n's process with the network's common flags and
// extra.
func (l *demoNetLauncher) start(ctx context.Context, n *demoNetNode, extra []string) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	args := []string{"demo", "--data-dir", n.dataDir, "--http-addr", n.httpAddr, "--mqtt-addr", "127.0.0.1:0",
		"--p2p-listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d,/ip4/127.0.0.1/udp/%d/quic-v1", n.p2pPort, n.p2pPort),
		"--log-level", l.o.logLevel, "--mdns=false", "--role", string(n.role),
		"--speed", strconv.FormatFloat(l.clock.Rate(), 'g', -1, 64),
		"--clock-epoch", l.clock.Epoch().Format(time.RFC3339Nano), "--clock-wall-start", l.clock.WallStart().Format(time.RFC3339Nano)}
	if l.o.simPeriod > 0 {
		args = append(args, "--sim-period", l.o.simPeriod.String())
	}
	// Different homes on every node: the same simulated homes on two
	// nodes would report the same PV profiles (refused as copies).
	args = append(args, "--sim-seed", strconv.Itoa(n.index+1))
	if l.o.noClaims {
		args = append(args, "--claims=false")
	}
	var boot []string
	if n.index > 0 {
		boot = append(boot, l.procs[0].bootstrapAddr())
	}
	if n.index > 1 {
		boot = append(boot, l.procs[n.index-1].bootstrapAddr())
	}
	if len(boot) > 0 {
		args = append(args, "--bootstrap", strings.Join(boot, ","))
	}
	n.extra = extra
	n.cmd = exec.Command(l.self, append(args, extra...)...)
	stopWithParent(n.cmd)
	prefix := fmt.Sprintf("[node %d] ", n.index)
	out, err := n.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	n.cmd.Stderr = n.cmd.Stdout
	n.done = make(chan struct{})
	if err := n.cmd.Start(); err != nil {
		n.done = nil
		return fmt.Errorf("demo: node %d: %w", n.index, err)
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(l.stderr, prefix+sc.Text())
		}
		n.cmd.Wait()
		close(n.done)
		select { // the first exit stops a demo; the harness restarts nodes
		case l.exited <- n.index:
		default:
		}
	}()
	return nil
}

// readyTimeout bounds a node's start (key, store, chain, HTTP): wall time.
const readyTimeout = 3 * time.Minute

// waitReady waits until node n's API answers GET /api/v1/chain with its
// contracts, and returns them.
func (l *demoNetLauncher) waitReady(ctx context.Context, n *demoNetNode) (chain.Addresses, error) {
	deadline := time.NewTimer(readyTimeout) // wall clock: a start-up bound
	defer deadline.Stop()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	client := http.Client{Timeout: 5 * time.Second}
	for {
		var st struct {
			Contracts struct {
				Registry, REC, FLEX common.Address
				DeployBlock         uint64 `json:"deploy_block"`
			} `json:"contracts"`
		}
		if resp, err := client.Get("http://" + n.httpAddr + "/api/v1/chain"); err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			a := chain.Addresses{Registry: st.Contracts.Registry, REC: st.Contracts.REC, FLEX: st.Contracts.FLEX, DeployBlock: st.Contracts.DeployBlock}
			if err == nil && resp.StatusCode == http.StatusOK && !a.Zero() {
				return a, nil
			}
		}
		select {
		case <-ctx.Done():
			return chain.Addresses{}, ctx.Err()
		case <-n.done:
			return chain.Addresses{}, fmt.Errorf("demo: node %d stopped while starting: %v (its log lines above say why)", n.index, n.cmd.ProcessState)
		case <-deadline.C:
			return chain.Addresses{}, fmt.Errorf("demo: node %d did not answer at http://%s/api/v1/chain within %v", n.index, n.httpAddr, readyTimeout)
		case <-tick.C:
		}
	}
}

// stop asks every node to stop (SIGTERM, the same as Ctrl-C), kills those
// that have not stopped after 30 s, then stops geth.
func (l *demoNetLauncher) stop() {
	for _, n := range l.procs {
		if n.done != nil {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.NewTimer(30 * time.Second) // wall clock: a shutdown bound
	defer deadline.Stop()
	expired := false
	for _, n := range l.procs {
		if n.done == nil {
			continue
		}
		if !expired {
			select {
			case <-n.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		n.cmd.Process.Kill()
		<-n.done
	}
	l.wg.Wait()
	if l.geth != nil {
		l.geth.stop()
	}
}

// writeContracts writes the shared chain's contracts for the nodes'
// --chain-contracts.
func writeContracts(path string, a chain.Addresses) error {
	b, _ := json.MarshalIndent(a, "", "  ")
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// freeTCPPort asks the kernel for a free loopback port. Another process
// may take it before the node binds it; the node then fails at start and
// says so.
func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
