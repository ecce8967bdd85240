// Command firmware-sim runs simulated home devices that speak the real
// firmware dialects over MQTT: PV micro-inverters behind an OpenDTU or an
// AhoyDTU, Tasmota and Shelly plugs, a Shelly Pro 3EM grid meter, a
// Victron GX with an ESS battery and a go-eCharger (package firmwaresim).
// Point it at the broker the gridmint node listens to and the node sees
// devices as if they were real.
//
// Two modes: one house with chosen device counts (the default), or a
// fleet of generated homes (--homes or --scenario) with per-home sizes,
// habits, a dialect mix and fault injection.
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
	"strings"
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
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

const usageHeader = `firmware-sim: simulated home devices on MQTT, in their firmware's own dialects.

Each inverter publishes OpenDTU's topics under --base-topic every --period
(AC power from a real PVWatts year, scaled to --nameplate-w) and obeys
<base><serial>/cmd/limit_* and cmd/power. Each plug publishes
tele/<topic>/SENSOR and STATE every --tele-period (load from the BDEW H25
household profile, scaled to --annual-kwh) and obeys cmnd/<topic>/POWER.
Energy counters integrate the reported power over real time.

More dialects, none by default:
  --shelly-plugs  Shelly Plus Plug S: <id>/status/switch:0, events/rpc,
                  online; RPC Switch.Set/Toggle, Shelly.GetStatus on <id>/rpc
  --shelly-meters Shelly Pro 3EM on the house's grid connection: em:0, emdata:0
  --victron       Venus OS GX (dbus-flashmq): battery/512, grid/30, vebus/257;
                  publishes only while R/<portal>/keepalive arrives; ESS setpoint
                  W/<portal>/vebus/257/Hub4/L1/AcPowerSetpoint {"value": W}
  --goe           go-eCharger API v2: go-eCharger/<serial>/<key>; amp/set, frc/set
                  answered on <key>/result; a car plugs in at start
  --ahoy          Hoymiles inverters behind one AhoyDTU (base topic inverter):
                  inverter/<name>/ch0/P_AC ...; inverter/ctrl/limit/<index> 600W or 70
The grid meters measure the house: its own load (--house-annual-kwh) plus the
plugs and the charger, minus the PV, plus the battery. --every-dialect
simulates one device of each; --print-config prints the gridmint node
configuration that reads exactly what the other flags simulate (for
--every-dialect: examples/one-house.yaml).

Fleet mode (--homes N or --scenario FILE): N generated homes, each with PV
(OpenDTU or AhoyDTU), a Victron battery and its grid meter (or a Shelly Pro
3EM), a go-eCharger whose cars follow real Trondheim charging sessions, per-home
sizes, roof orientation, clouds and habits, at 1 Hz by default. Big fleets
share one MQTT connection per --homes-per-connection homes (real devices have
their own; so do fleets of up to 200 devices, or with --connections
per-device). A scenario file (YAML) sets the mix, sizes and faults; flags
given on the command line override it; examples are in firmware-sim/scenarios/
(default, mixed-street, liars, ten-thousand). For example:

  firmware-sim --homes 1000 --speed 60 --seed 7 --faults default --broker tcp://127.0.0.1:1883
  firmware-sim --scenario firmware-sim/scenarios/liars.yaml --speed 1440

Physics come from real data embedded in the binary: PV from an NREL PVWatts
year scaled to each nameplate and clipped at it, with minute clouds from a
measured 1-minute irradiance day and zero at night; batteries with SoC floor
and ceiling, power limits and round-trip losses, self-consumption unless a
setpoint says otherwise; house load from BDEW H25 or a real Sydney
household (Ausgrid); the grid meters see the balance. The same --seed and
flags give the same values, faults included.

--faults injects faults, in either mode: none, default, heavy, or a preset
followed by overrides, e.g. default,drop=0.02,offline_for=30s. Keys: drop,
duplicate, reorder, malformed (per message), reboots_per_hour,
offline_per_hour, offline_for (per device), skewed, max_skew (clocks),
dishonest, dishonest_modes (PV that lies: night+overrate+copy).

Time of day: by default devices live the real local time, so PV is dark at
night. Set --profile-start to a late morning, e.g. 2025-06-21T10:30:00Z,
to see production at once; --speed makes simulated days pass faster.
--speed moves the profiles (sun, loads, car habits), not the devices'
clocks: power follows the sped-up profiles while energy counters integrate
it over real time, as a real meter would (so a node's bounds of energy by
nameplate power still hold), and fault rates per hour are per real hour.

Usage: firmware-sim [flags]

Flags:
`

const usageFooter = `
Identities: inverters get serials 116181234567, 116181234568, ...; plugs get
topics tasmota_A1B2C3, tasmota_A1B2C4, ...; Shelly plugs are
shellyplusplugs-02a1b2000001, ...002, ...; Shelly meters
shellypro3em-02a1b3000001, ...; Victron GXs portal IDs 02c0619a0001, ...;
go-eChargers serials 200001, 200002, ...; AhoyDTU inverters HM-600 (index 0),
HM-600-2 (index 1), ... In a fleet, home h has OpenDTU base topic solar-<h>/,
AhoyDTU topic inverter-<h>, Victron portal 02c0619b0000+h with battery-<512+h>
and grid-<30+h>, go-e serial 300000+h (see package firmwaresim).

A summary line is logged every --summary-every (default: a minute for one
house, 10s for a fleet). SIGINT or SIGTERM publishes every device's offline
state, saves --state-file and exits.
`

// Default summary intervals.
const (
	summaryHouse = time.Minute
	summaryFleet = 10 * time.Second
)

// run is main without the process: it parses args, runs the simulator
// until ctx is done and returns the exit code (0 ok, 1 runtime error,
// 2 usage error). Logs and errors go to stderr; --print-config's
// configuration to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("firmware-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), usageFooter)
	}
	var (
		broker       = fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker `URL`, tcp://host:port")
		period       = fs.Duration("period", firmwaresim.DefaultPeriod, "publish cycle and physics step, a `duration`, like OpenDTU's publish interval (a fleet's default is 1s, or its scenario's)")
		telePeriod   = fs.Duration("tele-period", 0, "Tasmota TelePeriod: how often plugs send STATE and SENSOR, a `duration`; 0 = every --period (the firmware's default is 300s)")
		pvCount      = fs.Int("pv", 1, "`number` of PV micro-inverters (all behind one OpenDTU)")
		plugCount    = fs.Int("plugs", 1, "`number` of Tasmota smart plugs")
		channels     = fs.Int("plug-channels", 1, "`number` of relay channels per plug, 1..8; more than 1 sends Power per channel, like a Sonoff Dual R3")
		separate     = fs.Bool("plug-separate-totals", false, "with several channels, send Total/Today/Yesterday per channel too (Tasmota SetOption129); the default sums them, as stock firmware does")
		shellyPlugs  = fs.Int("shelly-plugs", 0, "`number` of Shelly Plus Plug S plugs, each consuming --annual-kwh")
		shellyMeters = fs.Int("shelly-meters", 0, "`number` of Shelly Pro 3EM grid meters (W, Wh; negative power = export)")
		victron      = fs.Int("victron", 0, "`number` of Victron GX devices, each with one ESS battery (see --battery-kwh)")
		goe          = fs.Int("goe", 0, "`number` of go-eChargers (16 A, --goe-phases)")
		ahoy         = fs.Int("ahoy", 0, "`number` of Hoymiles inverters (600 W each) behind one AhoyDTU")
		houseKWh     = fs.Float64("house-annual-kwh", firmwaresim.DefaultHouseAnnualKWh, "yearly consumption of the house the grid meters see, besides plugs, charger and battery, `kWh`/yr")
		batteryKWh   = fs.Float64("battery-kwh", firmwaresim.DefaultBatteryKWh, "usable capacity of each Victron battery, `kWh`; it charges and discharges up to 3000 W")
		goePhases    = fs.Int("goe-phases", firmwaresim.DefaultGoEPhases, "phases each car charges on, 1 or 3 (`number`): power = amp A x 230 V x phases")
		goeSession   = fs.Float64("goe-session-kwh", 0, "energy each car needs, `kWh`; 0 = drawn from --seed per session (5..20 kWh)")
		nameplate    = fs.Float64("nameplate-w", float64(firmwaresim.DefaultNameplate), "AC nameplate of each inverter, `W`; output is clipped at it")
		annualKWh    = fs.Float64("annual-kwh", firmwaresim.DefaultAnnualKWh, "yearly consumption of each plug channel, `kWh`/yr")
		seed         = fs.Uint64("seed", 1, "seed of the measurement noise; the same seed gives the same values")
		speed        = fs.Float64("speed", 1, "profile seconds per real second, a `factor` (60: a simulated day in 24 minutes, 1440: a day a minute); power and energy still follow real time")
		profileStart = fs.String("profile-start", "", "profile time at start, RFC3339 `time` (e.g. 2025-06-21T10:30:00Z); empty = the real local time")
		stateFile    = fs.String("state-file", "", "JSON `file` with the devices' counters, limits and relays (a fleet's: every home's): loaded at start if present, saved at exit")
		baseTopic    = fs.String("base-topic", firmwaresim.DefaultBaseTopic, "OpenDTU base `topic`, ending in /")
		fullTopic    = fs.String("full-topic", firmwaresim.DefaultFullTopic, "Tasmota FullTopic `pattern` with %prefix% and %topic%")
		clientPrefix = fs.String("client-prefix", firmwaresim.DefaultClientPrefix, "`prefix` of every MQTT client ID")
		logLevel     = fs.String("log-level", "info", "log `level`: debug, info, warn or error")
		faults       = fs.String("faults", "none", "fault injection `spec`: none, default, heavy, or a preset with key=value overrides (see above)")
		summary      = fs.Duration("summary-every", 0, "how often to log the summary line, a `duration`; 0 = 1m for one house, 10s for a fleet")
		homes        = fs.Int("homes", 0, "fleet mode: `number` of generated homes (PV, battery, EV charger, meter each)")
		scenario     = fs.String("scenario", "", "fleet mode: scenario `file` (YAML: homes, mix, sizes, faults, ...); flags override it")
		connections  = fs.String("connections", "", "fleet: `mode` per-device (a connection per device) or shared (one per --homes-per-connection homes); default: per-device up to 200 devices")
		perConn      = fs.Int("homes-per-connection", firmwaresim.DefaultHomesPerConnection, "fleet, shared connections: `number` of homes per MQTT connection")
		everyDialect = fs.Bool("every-dialect", false, "one house with one device of every dialect: --pv, --plugs, --shelly-plugs, --shelly-meters, --victron, --goe and --ahoy default to 1")
		printConfig  = fs.Bool("print-config", false, "print a gridmint node configuration (YAML, for gridmint run --config) that reads exactly the simulated devices, and exit")
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
	fc, err := firmwaresim.ParseFaults(*faults)
	if err != nil {
		return usageErr("--faults: %v", err)
	}
	if *summary < 0 {
		return usageErr("--summary-every %v: must not be negative", *summary)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var printTo io.Writer // --print-config: print to it instead of running
	if *printConfig {
		printTo = stdout
	}
	cmdLine := configCommandLine(args)
	if *homes != 0 || *scenario != "" {
		if set["every-dialect"] {
			return usageErr("--every-dialect sets up one house; a fleet's devices come from its mix (--scenario)")
		}
		return runFleet(ctx, fleetArgs{
			set: set, homes: *homes, scenario: *scenario, connections: *connections, perConn: *perConn,
			broker: *broker, period: *period, seed: *seed, speed: *speed, profileStart: *profileStart,
			stateFile: *stateFile, clientPrefix: *clientPrefix, faults: fc, summary: *summary, level: level,
			printConfig: printTo, cmdLine: cmdLine,
		}, stderr, usageErr)
	}
	if *everyDialect {
		for name, n := range map[string]*int{"pv": pvCount, "plugs": plugCount, "shelly-plugs": shellyPlugs,
			"shelly-meters": shellyMeters, "victron": victron, "goe": goe, "ahoy": ahoy} {
			if !set[name] {
				*n = 1
			}
		}
	}
	for _, name := range []string{"connections", "homes-per-connection"} {
		if set[name] {
			return usageErr("--%s applies to a fleet (--homes or --scenario)", name)
		}
	}
	switch {
	case *pvCount < 0 || *pvCount > 10_000:
		return usageErr("--pv %d: want 0..10000", *pvCount)
	case *plugCount < 0 || *plugCount > 10_000:
		return usageErr("--plugs %d: want 0..10000", *plugCount)
	case *shellyPlugs < 0 || *shellyPlugs > 10_000:
		return usageErr("--shelly-plugs %d: want 0..10000", *shellyPlugs)
	case *shellyMeters < 0 || *shellyMeters > 10_000:
		return usageErr("--shelly-meters %d: want 0..10000", *shellyMeters)
	case *victron < 0 || *victron > 10_000:
		return usageErr("--victron %d: want 0..10000", *victron)
	case *goe < 0 || *goe > 10_000:
		return usageErr("--goe %d: want 0..10000", *goe)
	case *ahoy < 0 || *ahoy > 16:
		return usageErr("--ahoy %d: want 0..16 (one AhoyDTU drives at most 16 inverters)", *ahoy)
	case *pvCount+*plugCount+*shellyPlugs+*shellyMeters+*victron+*goe+*ahoy == 0:
		return usageErr("--pv, --plugs, --shelly-plugs, --shelly-meters, --victron, --goe and --ahoy are all 0: nothing to simulate")
	case !(*goeSession >= 0 && *goeSession <= 1000):
		return usageErr("--goe-session-kwh %v: want 0..1000", *goeSession)
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
		Broker:         *broker,
		ClientPrefix:   *clientPrefix,
		Period:         *period,
		ProfileStart:   start,
		Speed:          *speed,
		Location:       time.Local,
		Seed:           *seed,
		Clock:          gridmint.SystemClock{},
		Logger:         log,
		HouseAnnualKWh: *houseKWh,
		Faults:         fc,
	}
	for i := range *pvCount {
		cfg.PV = append(cfg.PV, firmwaresim.PVConfig{
			Serial:    fmt.Sprintf("%012d", int64(116181234567)+int64(i)),
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
	for i := range *shellyPlugs {
		cfg.ShellyPlugs = append(cfg.ShellyPlugs, firmwaresim.ShellyPlugConfig{MAC: fmt.Sprintf("%012x", uint64(0x02a1b2000001)+uint64(i)), AnnualKWh: *annualKWh})
	}
	for i := range *shellyMeters {
		cfg.ShellyMeters = append(cfg.ShellyMeters, firmwaresim.ShellyMeterConfig{MAC: fmt.Sprintf("%012x", uint64(0x02a1b3000001)+uint64(i))})
	}
	for i := range *victron {
		cfg.Victron = append(cfg.Victron, firmwaresim.VictronConfig{PortalID: fmt.Sprintf("%012x", uint64(0x02c0619a0001)+uint64(i)), CapacityKWh: *batteryKWh})
	}
	for i := range *goe {
		cfg.GoE = append(cfg.GoE, firmwaresim.GoEConfig{Serial: fmt.Sprintf("%06d", 200001+i), Phases: *goePhases, SessionWh: *goeSession * 1000})
	}
	for i := range *ahoy {
		name := "HM-600"
		if i > 0 {
			name = fmt.Sprintf("HM-600-%d", i+1)
		}
		cfg.Ahoy = append(cfg.Ahoy, firmwaresim.AhoyConfig{Name: name, Nameplate: 600})
	}
	sim, err := firmwaresim.New(cfg)
	if err != nil {
		return usageErr("%v", err)
	}
	if printTo != nil {
		if err := printNodeConfig(printTo, cmdLine, *broker, sim.Adapters(), sim.Devices()); err != nil {
			fmt.Fprintf(stderr, "firmware-sim: %v\n", err)
			return 1
		}
		return 0
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

	kinds := []any{"opendtu_inverters", *pvCount, "tasmota_plugs", *plugCount, "shelly_plugs", *shellyPlugs,
		"shelly_meters", *shellyMeters, "victron_gx", *victron, "goe_chargers", *goe, "ahoy_inverters", *ahoy}
	summaryCtx, stopSummary := context.WithCancel(ctx)
	defer stopSummary()
	every := *summary
	if every == 0 {
		every = summaryHouse
	}
	go logSummaries(summaryCtx, every, func() { log.Info("summary", summaryArgs(sim.Stats(), kinds)...) })

	if err := sim.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "firmware-sim: %v\n", err)
		if gridmint.ErrorCode(err) == gridmint.EUnavailable {
			fmt.Fprintf(stderr, "firmware-sim: cannot reach the MQTT broker at %s: start one there (gridmint's node embeds one) or pass --broker\n", *broker)
		}
		return 1
	}
	st := sim.Stats()
	log.Info("stopped", summaryArgs(st, kinds)...)
	if *stateFile != "" {
		if err := sim.SaveStateFile(*stateFile); err != nil {
			fmt.Fprintf(stderr, "firmware-sim: saving state: %v\n", err)
			return 1
		}
		log.Info("state saved", "file", *stateFile)
	}
	return 0
}

// logSummaries calls logLine every interval until ctx is done.
func logSummaries(ctx context.Context, every time.Duration, logLine func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			logLine()
		}
	}
}

// summaryArgs are the summary line's attributes: the counters, then the
// number of devices of each kind.
func summaryArgs(st firmwaresim.Stats, kinds []any) []any {
	args := []any{"devices", st.Devices, "connected", st.Connected, "published", st.Published,
		"commands", st.Commands, "ignored", st.Ignored}
	if f := st.Faults; f != (firmwaresim.FaultStats{}) {
		args = append(args, faultArgs(f)...)
	}
	return append(args, kinds...)
}

func faultArgs(f firmwaresim.FaultStats) []any {
	return []any{"dropped", f.Dropped, "duplicated", f.Duplicated, "reordered", f.Reordered, "malformed", f.Malformed,
		"reboots", f.Reboots, "outages", f.Outages, "offline", f.Offline, "skewed", f.Skewed, "dishonest", f.Dishonest}
}

// configCommandLine is the simulator's command line for the header of
// --print-config's output: the arguments without --print-config.
func configCommandLine(args []string) string {
	kept := []string{"firmware-sim"}
	for _, a := range args {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name == "print-config" && strings.HasPrefix(a, "-") {
			continue
		}
		kept = append(kept, a)
	}
	return strings.Join(kept, " ")
}
