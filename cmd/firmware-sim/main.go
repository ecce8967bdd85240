// Command firmware-sim runs simulated home devices that speak the real
// firmware dialects over MQTT: PV micro-inverters behind an OpenDTU and
// Tasmota energy-monitoring plugs (package firmwaresim). Point it at the
// broker the gridmint node listens to and the node sees devices as if they
// were real.
//
// Run "firmware-sim --help" for the flags.
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
	"syscall"
	"time"

	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
)

func main() { os.Exit(runWithSignals()) }

// runWithSignals runs until SIGINT or SIGTERM, which cancel the run so
// that devices go offline cleanly and the state file is saved.
func runWithSignals() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stderr)
}

const usageHeader = `firmware-sim: simulated OpenDTU PV inverters and Tasmota smart plugs on MQTT.

Each inverter publishes OpenDTU's topics under --base-topic every --period
(AC power from a real PVWatts year, scaled to --nameplate-w) and obeys
<base><serial>/cmd/limit_* and cmd/power. Each plug publishes
tele/<topic>/SENSOR and STATE every --tele-period (load from the BDEW H25
household profile, scaled to --annual-kwh) and obeys cmnd/<topic>/POWER.
Energy counters integrate the reported power over real time.

Time of day: by default devices live the real local time, so PV is dark at
night. Set --profile-start to a late morning, e.g. 2025-06-21T10:30:00Z,
to see production at once; --speed makes simulated days pass faster.

Usage: firmware-sim [flags]

Flags:
`

const usageFooter = `
Inverters get serials 116181234567, 116181234568, ...; plugs get topics
tasmota_A1B2C3, tasmota_A1B2C4, ... One summary line is logged per minute.
SIGINT or SIGTERM publishes every device's offline state, saves
--state-file and exits.
`

// summaryEvery is how often the summary line is logged.
const summaryEvery = time.Minute

// run is main without the process: it parses args, runs the simulator
// until ctx is done and returns the exit code (0 ok, 1 runtime error,
// 2 usage error). Logs and errors go to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("firmware-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), usageFooter)
	}
	var (
		broker       = fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker `URL`, tcp://host:port")
		period       = fs.Duration("period", firmwaresim.DefaultPeriod, "publish cycle and physics step, a `duration`, like OpenDTU's publish interval")
		telePeriod   = fs.Duration("tele-period", 0, "Tasmota TelePeriod: how often plugs send STATE and SENSOR, a `duration`; 0 = every --period (the firmware's default is 300s)")
		pvCount      = fs.Int("pv", 1, "`number` of PV micro-inverters (all behind one OpenDTU)")
		plugCount    = fs.Int("plugs", 1, "`number` of Tasmota smart plugs")
		channels     = fs.Int("plug-channels", 1, "`number` of relay channels per plug, 1..8; more than 1 sends Power per channel, like a Sonoff Dual R3")
		separate     = fs.Bool("plug-separate-totals", false, "with several channels, send Total/Today/Yesterday per channel too (Tasmota SetOption129); the default sums them, as stock firmware does")
		nameplate    = fs.Float64("nameplate-w", float64(firmwaresim.DefaultNameplate), "AC nameplate of each inverter, `W`; output is clipped at it")
		annualKWh    = fs.Float64("annual-kwh", firmwaresim.DefaultAnnualKWh, "yearly consumption of each plug channel, `kWh`/yr")
		seed         = fs.Uint64("seed", 1, "seed of the measurement noise; the same seed gives the same values")
		speed        = fs.Float64("speed", 1, "profile seconds per real second, a `factor` (60: a simulated day in 24 minutes); energy still follows real time")
		profileStart = fs.String("profile-start", "", "profile time at start, RFC3339 `time` (e.g. 2025-06-21T10:30:00Z); empty = the real local time")
		stateFile    = fs.String("state-file", "", "JSON `file` with the devices' counters, limits and relays: loaded at start if present, saved at exit")
		baseTopic    = fs.String("base-topic", firmwaresim.DefaultBaseTopic, "OpenDTU base `topic`, ending in /")
		fullTopic    = fs.String("full-topic", firmwaresim.DefaultFullTopic, "Tasmota FullTopic `pattern` with %prefix% and %topic%")
		clientPrefix = fs.String("client-prefix", firmwaresim.DefaultClientPrefix, "`prefix` of every MQTT client ID")
		logLevel     = fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "firmware-sim: "+format+"\n", a...)
		fmt.Fprintln(stderr, "Run firmware-sim --help for the flags.")
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErr("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	switch {
	case *pvCount < 0 || *pvCount > 10_000:
		return usageErr("--pv %d: want 0..10000", *pvCount)
	case *plugCount < 0 || *plugCount > 10_000:
		return usageErr("--plugs %d: want 0..10000", *plugCount)
	case *pvCount+*plugCount == 0:
		return usageErr("--pv and --plugs are both 0: nothing to simulate")
	case *period <= 0:
		return usageErr("--period %v: must be positive", *period)
	case !(*speed > 0):
		return usageErr("--speed %v: must be positive", *speed)
	}
	var start time.Time
	if *profileStart != "" {
		t, err := time.Parse(time.RFC3339, *profileStart)
		if err != nil {
			return usageErr("--profile-start %q: want RFC3339, e.g. 2025-06-21T10:30:00Z", *profileStart)
		}
		start = t
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := firmwaresim.Config{
		Broker:       *broker,
		ClientPrefix: *clientPrefix,
		Period:       *period,
		ProfileStart: start,
		Speed:        *speed,
		Location:     time.Local,
		Seed:         *seed,
		Clock:        gridmint.SystemClock{},
		Logger:       log,
	}
	for i := range *pvCount {
		cfg.PV = append(cfg.PV, firmwaresim.PVConfig{
			Serial:    fmt.Sprintf("%012d", 116181234567+i),
			Nameplate: gridmint.W(*nameplate),
			BaseTopic: *baseTopic,
		})
	}
	for i := range *plugCount {
		cfg.Plugs = append(cfg.Plugs, firmwaresim.PlugConfig{
			Topic:          fmt.Sprintf("tasmota_%06X", 0xA1B2C3+i),
			FullTopic:      *fullTopic,
			Channels:       *channels,
			SeparateTotals: *separate,
			AnnualKWh:      *annualKWh,
			TelePeriod:     *telePeriod,
		})
	}
	sim, err := firmwaresim.New(cfg)
	if err != nil {
		return usageErr("%v", err)
	}
	if *stateFile != "" {
		restored, err := sim.LoadStateFile(*stateFile)
		if err != nil {
			fmt.Fprintf(stderr, "firmware-sim: state file %s: %v\n", *stateFile, err)
			return 1
		}
		if restored {
			log.Info("state restored", "file", *stateFile)
		} else {
			log.Info("no state file yet; devices start from zero", "file", *stateFile)
		}
	}
	log.Info("starting", "sim", sim.String(), "broker", *broker, "period", *period,
		"profile_start", sim.ProfileTime(cfg.Clock.Now()).Format(time.RFC3339), "speed", *speed)

	summaryCtx, stopSummary := context.WithCancel(ctx)
	defer stopSummary()
	go logSummaries(summaryCtx, sim, log)

	if err := sim.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "firmware-sim: %v\n", err)
		if gridmint.ErrorCode(err) == gridmint.EUnavailable {
			fmt.Fprintf(stderr, "firmware-sim: cannot reach the MQTT broker at %s: start one there (gridmint's node embeds one) or pass --broker\n", *broker)
		}
		return 1
	}
	st := sim.Stats()
	log.Info("stopped", "devices", st.Devices, "published", st.Published, "commands", st.Commands, "ignored", st.Ignored)
	if *stateFile != "" {
		if err := sim.SaveStateFile(*stateFile); err != nil {
			fmt.Fprintf(stderr, "firmware-sim: saving state: %v\n", err)
			return 1
		}
		log.Info("state saved", "file", *stateFile)
	}
	return 0
}

// logSummaries logs one line per summaryEvery until ctx is done.
func logSummaries(ctx context.Context, sim *firmwaresim.Sim, log *slog.Logger) {
	t := time.NewTicker(summaryEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			st := sim.Stats()
			log.Info("summary", "devices", st.Devices, "connected", st.Connected, "published", st.Published,
				"commands", st.Commands, "ignored", st.Ignored)
		}
	}
}
