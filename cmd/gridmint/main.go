// Command gridmint runs a gridmint node.
//
//	gridmint init                 create the node key (encrypted keystore)
//	gridmint demo                 one process: embedded broker, simulated homes, node, chain
//	gridmint demo --nodes N       N such processes on one chain and one demo clock (--speed)
//	gridmint run --config FILE    a node against an external MQTT broker
//	gridmint audit                recompute token supply from chain events
//	gridmint verify-retirement ID check a retirement statement against a chain
//	gridmint address              print the node's address (device id prefix)
//	gridmint version
//
// Run `gridmint <command> --help` for the flags of each command.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `gridmint: an Energy-DePIN node. It reads home solar inverters, batteries,
EV chargers and smart plugs over MQTT (Tasmota, OpenDTU, AhoyDTU, Shelly,
Victron, go-e, or any firmware through generic mappings), normalises their
power and energy, keeps them in a local store and sends them setpoints.
It gossips signed flexibility offers and requests with other nodes over
libp2p and settles REC and FLEX on an embedded or external EVM chain.

Usage:
  gridmint init [flags]            create the node's key in an encrypted
                                   keystore (run once, before 'run')
  gridmint demo [flags]            run everything in one process: an embedded
                                   MQTT broker, three simulated homes, the
                                   node, its gossip and an embedded chain;
                                   --nodes N for a network on one chain,
                                   --speed 60 for an hour a minute
  gridmint run --config FILE       run the node against an external broker
                                   (Mosquitto, EMQX) with devices from FILE
  gridmint audit [flags]           recompute FLEX and REC supply from the
                                   settlement chain's events; print differences
  gridmint verify-retirement ID --rpc URL --rec ADDRESS
                                   check a retirement statement against any
                                   node of the chain, read-only, no key
  gridmint address [flags]         print the node's address, the first part
                                   of its device ids
  gridmint version                 print the version

Run 'gridmint <command> --help' for a command's flags.
`

// errUsage is a command line that names no command.
var errUsage = errors.New("no command given")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "gridmint:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal the default handling returns, so a
		// second Ctrl-C stops a shutdown that hangs.
		<-ctx.Done()
		stop()
	}()
	switch args[0] {
	case "init":
		return initKey(args[1:], stdout, stderr)
	case "demo":
		return demo(ctx, args[1:], stdout, stderr)
	case "audit":
		return audit(ctx, args[1:], stdout, stderr)
	case "verify-retirement":
		return verifyRetirement(ctx, args[1:], stdout, stderr)
	case "address":
		return address(args[1:], stdout, stderr)
	case "run":
		return runNode(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "gridmint", version)
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q (see gridmint help)", args[0])
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := node.DemoOptions{Version: version}
	fs.StringVar(&o.DataDir, "data-dir", node.DefaultDataDir, "directory for the store, the node key, the demo clock and the simulated devices' counters")
	fs.StringVar(&o.HTTPAddr, "http-addr", node.DefaultHTTPAddr, "host:port of the API and web page")
	fs.StringVar(&o.MQTTAddr, "mqtt-addr", "127.0.0.1:1883", "host:port of the embedded MQTT broker (port 0: any free port; with --nodes every node takes a free port)")
	fs.DurationVar(&o.SimPeriod, "sim-period", 0, "publish period of the simulated devices, wall-clock time (default 5s, OpenDTU's)")
	fs.Uint64Var(&o.SimSeed, "sim-seed", 0, "seed of the simulated homes (default 1); a demo network gives node i seed i+1")
	claims := fs.Bool("claims", true, "run the certificate claim cycle (claim, check, attest)")
	p2pListen := fs.String("p2p-listen", "", "comma-separated libp2p listen multiaddrs (default loopback TCP and QUIC on free ports)")
	bootstrap := fs.String("bootstrap", "", "comma-separated bootstrap peers, multiaddrs ending in /p2p/<peer ID>")
	fs.BoolVar(&o.MDNS, "mdns", true, "find other gridmint nodes on the local network by mDNS")
	nodes := fs.Int("nodes", 1, "run this many nodes as separate processes on one chain (node i: <data-dir>/node-<i>, HTTP port + i; the last is the utility)")
	speed := fs.Float64("speed", 1, "demo clock speed: demo seconds per wall-clock second (60: an hour in a minute; 1 to 1440)")
	epochFlag := fs.String("clock-epoch", "", "start the demo clock at this RFC 3339 time (default: where the data dir's demo clock is, or now)")
	wallStartFlag := fs.String("clock-wall-start", "", "the wall-clock instant at which the demo clock read --clock-epoch (set by --nodes for its nodes)")
	role := fs.String("role", string(node.RoleHome), "home (simulated homes and devices) or utility (no devices)")
	attestK := fs.Int("attest-k", 0, "attestations a batch needs (k); with --nodes default ⌊2(N−1)/3⌋+1")
	chainKind := fs.String("chain", chainEmbedded, "with --nodes: the network's chain, embedded (node 0's, served to the others) or geth (a geth --dev the demo starts; --speed 1)")
	// Set by --nodes for its nodes (a network's shared chain).
	chainRPC := fs.String("chain-rpc", "", "JSON-RPC URL of the network's chain (instead of an embedded one)")
	chainContracts := fs.String("chain-contracts", "", "with --chain-rpc: JSON file of the contracts' addresses")
	chainID := fs.Uint64("chain-id", 0, "with --chain-rpc: the chain id the endpoint must answer")
	serveRPC := fs.String("chain-serve-rpc", "", "serve the embedded chain's JSON-RPC to other nodes on this loopback host:port")
	fund := fs.String("chain-fund", "", "comma-separated accounts the embedded chain's genesis funds")
	attestors := fs.String("attestors", "", "comma-separated attestor addresses the embedded chain's registry starts with (default this node)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: gridmint demo [flags]

Runs an embedded MQTT broker, three simulated homes (16 devices; home 1 has
one of every dialect: OpenDTU, AhoyDTU, Tasmota, Shelly, Victron, go-e),
the node with its libp2p gossip, and an embedded chain with the settlement
contracts, in one process. Every 5 minutes (of demo time) it signs and
gossips an offer of its battery. With --nodes N it starts N such
processes on loopback, on one chain (node 0's, or geth with --chain geth)
and one demo clock: N−1 homes and one utility. --speed X runs the demo
clock X times as fast as the wall clock.
Ctrl-C stops it; a restart on the same --data-dir keeps all data and the
demo clock.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.NoClaims = !*claims
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected arguments %q", fs.Args())
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	var epoch, wallStart time.Time
	if *epochFlag != "" {
		if epoch, err = time.Parse(time.RFC3339Nano, *epochFlag); err != nil {
			return fmt.Errorf("demo: --clock-epoch %q: want an RFC 3339 time, e.g. 2026-06-21T11:00:00Z", *epochFlag)
		}
	}
	if *wallStartFlag != "" {
		if epoch.IsZero() {
			return errors.New("demo: --clock-wall-start needs --clock-epoch")
		}
		if wallStart, err = time.Parse(time.RFC3339Nano, *wallStartFlag); err != nil {
			return fmt.Errorf("demo: --clock-wall-start %q: want an RFC 3339 time", *wallStartFlag)
		}
	}
	if *nodes != 1 {
		for _, f := range []struct {
			name string
			set  bool
		}{{"p2p-listen", *p2pListen != ""}, {"bootstrap", *bootstrap != ""}, {"clock-wall-start", *wallStartFlag != ""}, {"role", *role != string(node.RoleHome)},
			{"chain-rpc", *chainRPC != ""}, {"chain-contracts", *chainContracts != ""}, {"chain-id", *chainID != 0}, {"chain-serve-rpc", *serveRPC != ""},
			{"chain-fund", *fund != ""}, {"attestors", *attestors != ""}} {
			if f.set {
				return fmt.Errorf("demo: --nodes sets every node's --%s itself", f.name)
			}
		}
		return demoNet(ctx, demoNetOptions{nodes: *nodes, dataDir: o.DataDir, httpAddr: o.HTTPAddr, logLevel: *logLevel, speed: *speed,
			epoch: epoch, attestK: *attestK, chain: *chainKind, simPeriod: o.SimPeriod, noClaims: !*claims}, stdout, stderr)
	}
	if *chainKind != chainEmbedded {
		return errors.New("demo: --chain is for --nodes; one node runs its embedded chain (or give --chain-rpc)")
	}
	clock, err := node.DemoClock(o.DataDir, *speed, epoch, wallStart, time.Now())
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	o.Clock, o.Role = clock, node.Role(*role)
	if o.Chain, err = demoChainConfig(*chainRPC, *chainContracts, *chainID, *serveRPC, *fund, *attestors, *attestK); err != nil {
		return err
	}
	o.P2PListen, o.Bootstrap = splitList(*p2pListen), splitList(*bootstrap)
	o.Logger = log
	o.Passphrase = passphraseFromEnvOrPrompt(stderr, false, configPassphraseOption)
	d, err := node.StartDemo(ctx, o)
	if err != nil {
		return err
	}
	n := d.Node
	fmt.Fprintf(stdout, `gridmint demo is running (role %s).
  web page      http://%s/
  node address  %s
  peer ID       %s
  libp2p        %s
  data dir      %s
  API token     %s
  clock         %s
`, n.Role(), n.HTTPAddr(), n.Identity().Address, n.Identity().PeerID, strings.Join(n.P2PAddrs(), " "), o.DataDir, n.APITokenFile(), describeClock(clock))
	if u := n.ChainRPCURL(); u != "" {
		fmt.Fprintf(stdout, "  chain RPC     %s (served to the network)\n", u)
	}
	if d.Broker != nil {
		fmt.Fprintf(stdout, `  devices API   http://%[1]s/api/v1/devices
  MQTT broker   %[2]s (embedded)
Try a setpoint: the charger's current drops, and its power with it:
  curl -H "Authorization: Bearer $(cat %[3]s)" -d '{"kind":"charge_current","value":6}' \
    'http://%[1]s/api/v1/devices/%[4]s/goe/%[5]s/setpoint?wait=10s'
`, n.HTTPAddr(), d.Broker.URL(), n.APITokenFile(), n.Identity().Address, node.DemoChargerSerial)
	}
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")
	select {
	case <-ctx.Done():
	case <-d.SimDone():
		err := d.SimErr()
		d.Close()
		return fmt.Errorf("simulated devices stopped: %w", err)
	}
	fmt.Fprintln(stdout, "stopping...")
	return d.Close()
}

// demoChainConfig is the chain configuration a demo node gets from its
// flags: a network's shared chain (--chain-rpc), or its embedded chain,
// maybe served to the network with funded accounts and attestors.
func demoChainConfig(rpc, contractsFile string, chainID uint64, serveRPC, fund, attestors string, k int) (node.ChainConfig, error) {
	if k < 0 {
		return node.ChainConfig{}, fmt.Errorf("demo: --attest-k %d: want at least 1", k)
	}
	if rpc == "" {
		if contractsFile != "" || chainID != 0 {
			return node.ChainConfig{}, errors.New("demo: --chain-contracts and --chain-id go with --chain-rpc")
		}
		return node.ChainConfig{ServeRPC: serveRPC, EmbeddedFund: splitList(fund), Attestors: splitList(attestors), Threshold: uint64(k)}, nil
	}
	if serveRPC != "" || fund != "" || attestors != "" || k != 0 {
		return node.ChainConfig{}, errors.New("demo: --chain-serve-rpc, --chain-fund, --attestors and --attest-k are for the node whose embedded chain the network uses, not with --chain-rpc")
	}
	if contractsFile == "" {
		return node.ChainConfig{}, errors.New("demo: --chain-rpc needs --chain-contracts FILE")
	}
	b, err := os.ReadFile(contractsFile)
	if err != nil {
		return node.ChainConfig{}, fmt.Errorf("demo: --chain-contracts: %w", err)
	}
	var a chain.Addresses
	if err := decodeContracts(b, &a); err != nil {
		return node.ChainConfig{}, fmt.Errorf("demo: --chain-contracts %s: %w", contractsFile, err)
	}
	zero := uint64(0) // a demo network's chain does not reorg
	return node.ChainConfig{RPC: rpc, ChainID: chainID, Confirmations: &zero, Contracts: node.ContractsConfig{
		Registry: a.Registry.Hex(), REC: a.REC.Hex(), FLEX: a.FLEX.Hex(), DeployBlock: a.DeployBlock}}, nil
}

// decodeContracts reads a contracts file (chain.Addresses as JSON, as a
// node's <data_dir>/chain/contracts.json).
func decodeContracts(b []byte, a *chain.Addresses) error {
	if err := json.Unmarshal(b, a); err != nil {
		return fmt.Errorf("want the contracts' addresses as JSON ({\"registry\": \"0x…\", \"rec\": …, \"flex\": …}): %v", err)
	}
	if a.Registry == (common.Address{}) || a.REC == (common.Address{}) || a.FLEX == (common.Address{}) {
		return errors.New("registry, rec and flex must all be set")
	}
	return nil
}

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file (required); see examples/gridmint.yaml")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	speed := fs.Float64("speed", 1, "must be 1: a real node runs in real time (the demo clock is gridmint demo's)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gridmint run --config FILE\n\nRuns the node against the MQTT broker and devices in FILE.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *speed != 1 {
		return fmt.Errorf("run: --speed %g: a real node runs in real time, at speed 1: its readings, certificates and market deadlines are real hours; a faster clock is for `gridmint demo --speed`", *speed)
	}
	if *configPath == "" {
		fs.Usage()
		return errors.New("run: --config is required")
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	cfg, err := node.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	n, err := node.Start(ctx, cfg, node.Options{Logger: log, Version: version, Passphrase: passphraseFromEnvOrPrompt(stderr, false, configPassphraseOption)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gridmint node running: http://%s/  address %s  peer ID %s\n", n.HTTPAddr(), n.Identity().Address, n.Identity().PeerID)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping...")
	return n.Close()
}

// splitList splits a comma-separated flag value; empty is nil.
func splitList(v string) []string {
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
