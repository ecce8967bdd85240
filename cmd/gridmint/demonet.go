package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gridmint/gridmint/node"
)

// maxDemoNodes bounds --nodes: each node is a whole demo (broker,
// simulated devices, node) in its own process.
const maxDemoNodes = 32

// demoNetNode is one process of `gridmint demo --nodes N`.
type demoNetNode struct {
	index    int
	dataDir  string
	httpAddr string
	p2pPort  int
	id       *node.Identity
	cmd      *exec.Cmd
	done     chan struct{} // closed when the process has exited
}

func (n *demoNetNode) bootstrapAddr() string {
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", n.p2pPort, n.id.PeerID)
}

// demoNet starts n demo nodes as separate OS processes on loopback, each
// with its own data dir (<dataDir>/node-<i>), HTTP port (httpAddr's port
// + i) and embedded broker. Every node bootstraps from node 0 and the node
// before it; the DHT and gossip find the rest. It returns when ctx ends
// (stopping them all) or when one of them stops.
func demoNet(ctx context.Context, nodes int, dataDir, httpAddr, logLevel string, stdout, stderr io.Writer) error {
	if nodes < 2 || nodes > maxDemoNodes {
		return fmt.Errorf("demo: --nodes %d: want 2 to %d", nodes, maxDemoNodes)
	}
	host, portText, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return fmt.Errorf("demo: --http-addr %q: %w", httpAddr, err)
	}
	basePort, err := strconv.Atoi(portText)
	if err != nil || basePort <= 0 || basePort+nodes > 65535 {
		return fmt.Errorf("demo: --http-addr %q: with --nodes, give a fixed port; node i listens on port+i", httpAddr)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	procs := make([]*demoNetNode, nodes)
	for i := range procs {
		n := &demoNetNode{index: i, dataDir: filepath.Join(dataDir, fmt.Sprintf("node-%d", i)),
			httpAddr: fmt.Sprintf("%s:%d", host, basePort+i)}
		if n.id, err = node.DemoIdentity(n.dataDir); err != nil {
			return fmt.Errorf("demo: node %d: %w", i, err)
		}
		if n.p2pPort, err = freeTCPPort(); err != nil {
			return fmt.Errorf("demo: node %d: %w", i, err)
		}
		procs[i] = n
	}
	var wg sync.WaitGroup
	exited := make(chan int, nodes)
	for _, n := range procs {
		args := []string{"demo", "--data-dir", n.dataDir, "--http-addr", n.httpAddr, "--mqtt-addr", "127.0.0.1:0",
			"--p2p-listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d,/ip4/127.0.0.1/udp/%d/quic-v1", n.p2pPort, n.p2pPort),
			"--log-level", logLevel, "--mdns=false"}
		var boot []string
		if n.index > 0 {
			boot = append(boot, procs[0].bootstrapAddr())
		}
		if n.index > 1 {
			boot = append(boot, procs[n.index-1].bootstrapAddr())
		}
		if len(boot) > 0 {
			args = append(args, "--bootstrap", strings.Join(boot, ","))
		}
		n.cmd = exec.Command(self, args...)
		stopWithParent(n.cmd)
		prefix := fmt.Sprintf("[node %d] ", n.index)
		out, err := n.cmd.StdoutPipe()
		if err != nil {
			return err
		}
		n.cmd.Stderr = n.cmd.Stdout
		n.done = make(chan struct{})
		if err := n.cmd.Start(); err != nil {
			stopDemoNet(procs)
			return fmt.Errorf("demo: node %d: %w", n.index, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				fmt.Fprintln(stderr, prefix+sc.Text())
			}
			n.cmd.Wait()
			close(n.done)
			exited <- n.index
		}()
	}
	fmt.Fprintf(stdout, "gridmint demo network: %d nodes, each its own process with its own broker and simulated devices.\n", nodes)
	for _, n := range procs {
		fmt.Fprintf(stdout, "  node %d  http://%s/  peers http://%s/api/v1/peers  address %s  peer ID %s\n",
			n.index, n.httpAddr, n.httpAddr, n.id.Address, n.id.PeerID)
	}
	fmt.Fprintf(stdout, "Publish an offer on node 0 and watch it arrive at the others' /api/v1/p2p/messages.\nPress Ctrl-C to stop them all.\n")
	var runErr error
	select {
	case <-ctx.Done():
	case i := <-exited:
		runErr = fmt.Errorf("demo: node %d stopped: %v", i, procs[i].cmd.ProcessState)
	}
	fmt.Fprintln(stdout, "stopping...")
	stopDemoNet(procs)
	wg.Wait()
	return runErr
}

// stopDemoNet asks every node to stop (SIGTERM, the same as Ctrl-C) and
// kills those that have not stopped after 30 s.
func stopDemoNet(nodes []*demoNetNode) {
	for _, n := range nodes {
		if n.done != nil {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	expired := false
	for _, n := range nodes {
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
