package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
)

// fleetArgs are the flags fleet mode reads; set names the flags given on
// the command line, which override the scenario file.
type fleetArgs struct {
	set                     map[string]bool
	homes                   int
	scenario                string
	connections             string
	perConn                 int
	broker                  string
	period                  time.Duration
	seed                    uint64
	speed                   float64
	profileStart            string
	stateFile, clientPrefix string
	faults                  firmwaresim.FaultConfig
	summary                 time.Duration
	level                   slog.Level
	// printConfig, when set, receives the node configuration of the
	// fleet's devices instead of running it; cmdLine heads it.
	printConfig io.Writer
	cmdLine     string
}

// houseFlags are the single-house device flags, which a fleet ignores.
var houseFlags = []string{"pv", "plugs", "plug-channels", "plug-separate-totals", "shelly-plugs", "shelly-meters", "victron",
	"goe", "ahoy", "house-annual-kwh", "battery-kwh", "goe-phases", "goe-session-kwh", "nameplate-w", "annual-kwh",
	"base-topic", "full-topic", "tele-period"}

// runFleet is run's fleet mode.
func runFleet(ctx context.Context, a fleetArgs, stderr io.Writer, usageErr func(string, ...any) int) int {
	for _, name := range houseFlags {
		if a.set[name] {
			return usageErr("--%s sets up one house; a fleet's devices come from its mix (--scenario)", name)
		}
	}
	sc := firmwaresim.DefaultScenario()
	if a.scenario != "" {
		f, err := os.Open(a.scenario)
		if err != nil {
			return usageErr("--scenario: %v", err)
		}
		sc, err = firmwaresim.LoadScenario(f)
		f.Close()
		if err != nil {
			return usageErr("--scenario %s: %v", a.scenario, err)
		}
	}
	if a.set["homes"] {
		if a.homes < 1 || a.homes > firmwaresim.MaxHomes {
			return usageErr("--homes %d: want 1..%d", a.homes, firmwaresim.MaxHomes)
		}
		sc.Homes = a.homes
	}
	if a.set["seed"] || a.scenario == "" {
		sc.Seed = a.seed
	}
	if a.set["speed"] {
		sc.Speed = a.speed
	}
	if a.set["period"] {
		sc.Period = a.period
	}
	if a.set["broker"] || sc.Broker == "" {
		sc.Broker = a.broker
	}
	if a.set["client-prefix"] {
		sc.ClientPrefix = a.clientPrefix
	}
	if a.set["connections"] {
		sc.Connections = a.connections
		if a.connections == "auto" {
			sc.Connections = firmwaresim.ConnAuto
		}
	}
	if a.set["homes-per-connection"] {
		if a.perConn < 1 {
			return usageErr("--homes-per-connection %d: want at least 1", a.perConn)
		}
		sc.HomesPerConnection = a.perConn
	}
	if a.set["faults"] {
		sc.Faults = firmwaresim.FaultSpec{FaultConfig: a.faults}
	}
	if a.profileStart != "" {
		t, err := time.Parse(time.RFC3339, a.profileStart)
		if err != nil {
			return usageErr("--profile-start %q: want RFC3339, e.g. 2025-06-21T10:30:00Z", a.profileStart)
		}
		sc.ProfileStart = t
	}
	cfg, err := sc.FleetConfig()
	if err != nil {
		return usageErr("%v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: a.level}))
	cfg.Clock, cfg.Logger, cfg.Location = gridmint.SystemClock{}, log, time.Local
	fleet, err := firmwaresim.NewFleet(cfg)
	if err != nil {
		return usageErr("%v", err)
	}
	if a.printConfig != nil {
		if err := printNodeConfig(a.printConfig, a.cmdLine, cfg.Broker, fleet.Adapters(), fleet.Devices()); err != nil {
			fmt.Fprintf(stderr, "firmware-sim: %v\n", err)
			return 1
		}
		return 0
	}
	if a.stateFile != "" {
		restored, err := fleet.LoadStateFile(a.stateFile)
		if err != nil {
			fmt.Fprintf(stderr, "firmware-sim: state file %s: %v\n", a.stateFile, err)
			return 1
		}
		log.Info("state file", "file", a.stateFile, "restored", restored)
	}
	st := fleet.Stats()
	log.Info("starting fleet", "name", cfg.Name, "homes", st.Homes, "devices", st.Devices, "endpoints", st.Endpoints,
		"connections", fleet.Mode(), "broker", cfg.Broker, "period", cfg.Period, "speed", cfg.Speed, "seed", cfg.Seed,
		"profile_start", fleet.ProfileTime(time.Now()).Format(time.RFC3339))

	every := a.summary
	if every == 0 {
		every = summaryFleet
	}
	summaryCtx, stopSummary := context.WithCancel(ctx)
	defer stopSummary()
	prev, prevAt := fleet.Stats(), time.Now()
	summaryDone := make(chan struct{})
	go func() {
		defer close(summaryDone)
		logSummaries(summaryCtx, every, func() {
			st, now := fleet.Stats(), time.Now()
			log.Info("summary", fleetSummary(st, prev, now.Sub(prevAt))...)
			prev, prevAt = st, now
		})
	}()

	if err := fleet.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "firmware-sim: %v\n", err)
		if gridmint.ErrorCode(err) == gridmint.EUnavailable {
			fmt.Fprintf(stderr, "firmware-sim: cannot reach the MQTT broker at %s: start one there (gridmint's node embeds one) or pass --broker\n", cfg.Broker)
		}
		return 1
	}
	stopSummary()
	<-summaryDone // prev is the summary goroutine's until then
	log.Info("stopped", fleetSummary(fleet.Stats(), prev, time.Since(prevAt))...)
	if a.stateFile != "" {
		if err := fleet.SaveStateFile(a.stateFile); err != nil {
			fmt.Fprintf(stderr, "firmware-sim: saving state: %v\n", err)
			return 1
		}
		log.Info("state saved", "file", a.stateFile)
	}
	return 0
}

// fleetSummary is the fleet's summary line: totals, the rates since the
// previous line, faults and EV sessions.
func fleetSummary(st, prev firmwaresim.FleetStats, over time.Duration) []any {
	rate := func(now, before uint64) string {
		if over <= 0 || now < before {
			return "0"
		}
		return fmt.Sprintf("%.0f", float64(now-before)/over.Seconds())
	}
	args := []any{
		"homes", st.Homes, "devices", st.Devices, "connected", fmt.Sprintf("%d/%d", st.Connected, st.Connections),
		"cycles_per_s", rate(st.Cycles, prev.Cycles), "msgs_per_s", rate(st.Published, prev.Published),
		"late_cycles", st.Late, "published", st.Published, "mb", st.Bytes >> 20, "commands", st.Commands,
		"profile_time", st.ProfileTime.Format("2006-01-02T15:04"),
	}
	args = append(args, faultArgs(st.Faults)...)
	return append(args, "ev_sessions", st.EV.Sessions, "ev_full", st.EV.Full, "ev_curtailed", st.EV.Curtailed)
}
