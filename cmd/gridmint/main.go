// Command gridmint runs a gridmint node.
//
//	gridmint init                 create the node key (encrypted keystore)
//	gridmint demo                 one process: embedded broker, simulated homes, node, chain
//	gridmint demo --nodes N       N such processes that find each other and gossip
//	gridmint run --config FILE    a node against an external MQTT broker
//	gridmint audit                recompute token supply from chain events
//	gridmint address              print the node's address (device id prefix)
//	gridmint version
//
// Run `gridmint <command> --help` for the flags of each command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

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
                                   --nodes N for a network
  gridmint run --config FILE       run the node against an external broker
                                   (Mosquitto, EMQX) with devices from FILE
  gridmint audit [flags]           recompute FLEX and REC supply from the
                                   settlement chain's events; print differences
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
	fs.StringVar(&o.DataDir, "data-dir", node.DefaultDataDir, "directory for the store, the node key and the simulated devices' counters")
	fs.StringVar(&o.HTTPAddr, "http-addr", node.DefaultHTTPAddr, "host:port of the API and web page")
	fs.StringVar(&o.MQTTAddr, "mqtt-addr", "127.0.0.1:1883", "host:port of the embedded MQTT broker (port 0: any free port; with --nodes every node takes a free port)")
	fs.DurationVar(&o.SimPeriod, "sim-period", 0, "publish period of the simulated devices (default 5s, OpenDTU's)")
	p2pListen := fs.String("p2p-listen", "", "comma-separated libp2p listen multiaddrs (default loopback TCP and QUIC on free ports)")
	bootstrap := fs.String("bootstrap", "", "comma-separated bootstrap peers, multiaddrs ending in /p2p/<peer ID>")
	fs.BoolVar(&o.MDNS, "mdns", true, "find other gridmint nodes on the local network by mDNS")
	nodes := fs.Int("nodes", 1, "run this many nodes as separate processes that find each other and gossip (node i: <data-dir>/node-<i>, HTTP port + i)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: gridmint demo [flags]

Runs an embedded MQTT broker, three simulated homes (16 devices; home 1 has
one of every dialect: OpenDTU, AhoyDTU, Tasmota, Shelly, Victron, go-e),
the node with its libp2p gossip, and an embedded chain with the settlement
contracts, in one process. Every
5 minutes it signs and gossips an offer of its battery. With --nodes N it
starts N such processes on loopback that find each other and gossip.
Ctrl-C stops it; a restart on the same --data-dir keeps all data.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected arguments %q", fs.Args())
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	if *nodes != 1 {
		if *p2pListen != "" || *bootstrap != "" {
			return errors.New("demo: --nodes sets every node's --p2p-listen and --bootstrap itself")
		}
		return demoNet(ctx, *nodes, o.DataDir, o.HTTPAddr, *logLevel, stdout, stderr)
	}
	o.P2PListen, o.Bootstrap = splitList(*p2pListen), splitList(*bootstrap)
	o.Logger = log
	o.Passphrase = passphraseFromEnvOrPrompt(stderr, false, configPassphraseOption)
	d, err := node.StartDemo(ctx, o)
	if err != nil {
		return err
	}
	n := d.Node
	fmt.Fprintf(stdout, `gridmint demo is running.
  web page      http://%[1]s/
  devices API   http://%[1]s/api/v1/devices
  MQTT broker   %[2]s (embedded)
  node address  %[3]s
  peer ID       %[4]s
  libp2p        %[5]s
  data dir      %[6]s
  API token     %[7]s (for setpoints and device edits)
Try a setpoint: the charger's current drops, and its power with it:
  curl -H "Authorization: Bearer $(cat %[7]s)" -d '{"kind":"charge_current","value":6}' \
    'http://%[1]s/api/v1/devices/%[3]s/goe/%[8]s/setpoint?wait=10s'
Press Ctrl-C to stop.
`, n.HTTPAddr(), d.Broker.URL(), n.Identity().Address, n.Identity().PeerID, strings.Join(n.P2PAddrs(), " "), o.DataDir,
		n.APITokenFile(), node.DemoChargerSerial)
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

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration file (required); see examples/gridmint.yaml")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gridmint run --config FILE\n\nRuns the node against the MQTT broker and devices in FILE.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
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
