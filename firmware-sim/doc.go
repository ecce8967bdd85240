// Package firmwaresim is simulated device firmware for gridmint: it speaks
// the same MQTT dialects as real home devices so that the node, its tests
// and the demo can run without hardware.
//
// Devices:
//   - PV micro-inverters behind an OpenDTU gateway (Hoymiles), publishing
//     OpenDTU's plain-text topic tree under a base topic ("solar/") and
//     obeying <serial>/cmd/limit_* and cmd/power like the firmware,
//     including its pitfalls: base-10 integer payloads, negative values
//     dropped, retained non-persistent limits ignored.
//   - Tasmota energy-monitoring smart plugs (one or more relay channels),
//     publishing tele/<topic>/SENSOR, STATE and LWT, obeying
//     cmnd/<topic>/POWER[<n>] and Status 8.
//   - Shelly Gen2+ (shelly.go): a Plus Plug S (switch:0) with a household
//     load, and a Pro 3EM (em:0, emdata:0) on the house's grid connection;
//     <id>/online, NotifyStatus on <id>/events/rpc, status topics, JSON-RPC
//     on <id>/rpc (Switch.Set, Switch.Toggle, Shelly.GetStatus, ...).
//   - Victron Venus OS GX devices (victron.go, dbus-flashmq): an ESS
//     battery (battery/512), a grid meter (grid/30) and the Multi
//     (vebus/257), publishing N/<portal ID>/... only while keep-alives
//     arrive, obeying the ESS setpoint W/.../Hub4/L1/AcPowerSetpoint.
//   - go-eChargers (goe.go, API v2): per-key retained topics, a simulated
//     car session, amp/set and frc/set answered on <key>/result.
//   - Hoymiles inverters behind an AhoyDTU (ahoy.go): plain-text topics
//     under inverter/<name>/, obeying inverter/ctrl/limit/<index>.
//
// Each vendor file starts with what it follows of the real firmware,
// where the notes are silent and what the simulator chose.
//
// # The house
//
// One Sim is one house (house.go). Every grid meter (each Pro 3EM, each
// GX's grid meter) measures its three-phase connection: the house's own
// load (Config.HouseProfile scaled to Config.HouseAnnualKWh) plus the
// plugs and the EV charger, minus the PV inverters, plus the batteries; so
// every setpoint that changes a device's power changes the meters by as
// much. A battery without an ESS setpoint does self-consumption against
// that balance.
//
// # Physics from real data
//
// Physics is pure (no I/O; time is passed in) and comes from real data
// embedded in the package (profiles/, trimmed to the rows and columns
// used, with sources, licences and the trimming in profiles/SOURCES.md;
// nothing outside the package is read, at run or test time):
//
//   - PV (pvprofile.go, solar.go): AC power from an NREL PVWatts typical
//     year, scaled to the inverter's nameplate and clipped at it (its AC
//     limit), zero at night. With a PVArray, the array's tilt and azimuth
//     (a transposition ratio from the sun's position) and minute-scale
//     clouds from a measured 1-minute irradiance day (NREL MIDC), whose
//     factor keeps each hour's energy. A dishonest inverter reports a lie
//     (faults.go) while the meters see the truth.
//   - Battery (victron.go): capacity, SoC floor and ceiling, charge and
//     discharge power limits (on the battery's DC power, which it reports,
//     and on the Multi's AC power), round-trip efficiency (√η each way); it
//     follows the ESS setpoint, otherwise does self-consumption (charges
//     from a PV surplus, discharges to cover the load).
//   - EV charger (goe.go, evsessions.go): min and max current, one or three
//     phases; follows amp and frc; cars come on a schedule, or with
//     EVHabits follow real residential sessions (Trondheim, CC BY 4.0): a
//     session ends when the car leaves at its plug-out time, full (it
//     stopped drawing when its need was met) or not, and a session
//     curtailed by a setpoint says so (Sim.EVSessions).
//   - House (loadprofile.go, ausgrid.go): the BDEW H25 standard profile or
//     a real Sydney household's year (Ausgrid, CC BY 4.0), shifted by
//     Config.HouseShift for per-home habits.
//   - Grid meter (house.go): the balance of all of the above, per phase.
//
// Energy counters are the integral of the power the device reports,
// accumulated per step over the sim clock (Config.Clock), so a node reading
// them sees counters that agree with power × time. Counters survive
// restarts through Sim.Snapshot and Sim.Restore (State is JSON).
//
// # Two clocks
//
// The sim clock (Config.Clock) is the devices' own time, which the node
// reading them shares: real time by default, or a demo clock
// (gridmint.ScaledClock) when `gridmint demo --speed X` runs devices and
// node on one accelerated clock. MQTT timestamps (OpenDTU
// status/last_update, Tasmota Time, Shelly ts, AhoyDTU last_success,
// uptimes) and the energy integration use it, so counters never grow
// faster than nameplate power allows over the time the node sees, and
// timestamps keep increasing across restarts. Victron's 60 s keep-alive
// timeout and the go-e car sessions run on it too. The publish cycle
// (Period) is a wall-clock pace: each cycle steps the physics to the sim
// clock's now, so on a demo clock at ×60 a 5 s cycle is a 5 min step.
//
// The profile clock says which moment of the data profiles the devices
// are living: profileTime = ProfileStart + (now - simStart) × Speed, where
// simStart is the sim clock's time when New was called. Without
// ProfileStart, the profile clock starts at the sim clock's own time read
// in Config.Location, so with Speed 1 devices follow the real time of day.
// Day counters (OpenDTU yieldday, Tasmota Today/Yesterday) roll over at
// midnight of the profile clock. Only the profile time's wall-clock fields
// (month, day, hour, minute) are used; the profiles know no time zones
// or daylight saving.
//
// The demo sets ProfileStart to a late morning (for example
// 2025-06-21T10:30:00Z) so that the PV inverter produces as soon as a
// user starts it, whatever the real time of day; with Speed > 1 a
// simulated day passes faster than a real one (1440: a day per minute)
// while power and energy stay consistent in real time, for a node that
// lives in real time (`firmware-sim --speed` against `gridmint run`).
// `gridmint demo --speed` accelerates the sim clock instead, with Speed 1:
// profiles, energy and the node all run in demo time. So power keeps the
// profiles' shapes and every energy a profile states per stretch of
// profile time shrinks by Speed: a day's PV yield, a car's session energy
// (EVHabits divide it by Speed, so a car that filled up in a third of its
// stay still does); device capacities (a battery's kWh) do not.
//
// The sim clock is injected (Config.Clock) and every random draw comes
// from math/rand/v2 PCG streams seeded with Config.Seed and the drawing
// device's identity, so the same seed and the same Step times give the
// same output, faults included.
//
// # Fleets
//
// A Fleet (fleet.go) is many homes from one process: FleetConfig.Homes
// generated homes, each a Sim with PV (OpenDTU or AhoyDTU), a Victron
// battery and its meter or a Shelly Pro 3EM, a go-eCharger with real EV
// habits and maybe a plug, in a configurable Mix of dialects and with
// per-home Sizes (nameplates, orientations, batteries, yearly loads,
// habits) drawn from the seed. Hand-made houses (FleetConfig.Houses) come
// first: DemoFleet is the single-house demo plus two generated homes.
// Fleet.Devices and Fleet.Adapters list every device and adapter as a
// gridmint node configures them. Small fleets give every device its own
// MQTT connection; big ones multiplex each shard of homes over one
// connection of a built-in MQTT client (litemqtt.go), which is what lets
// 10,000 devices publish at 1 Hz from one process on two cores (see
// bench_test.go).
//
// # Faults
//
// Config.Faults and FleetConfig.Faults (faults.go) inject, at configured
// rates, dropped, duplicated, reordered and malformed messages, reboots
// that reset counters, outages, skewed clocks and dishonest PV inverters
// (production at night, above the nameplate, copied from a neighbour), so
// that the node's defences can be tested. Sim.Stats and Fleet.Stats count
// what was injected.
//
// # Scenarios
//
// A scenario file (scenario.go, YAML; examples in scenarios/) describes a
// fleet: homes, seed, speed, mix, sizes, faults. LoadScenario reads and
// validates one; cmd/firmware-sim runs it (--scenario, or --homes with
// flags).
//
// # Use
//
// Build a Sim with New, optionally Restore a saved State, then call Run
// (one MQTT connection per physical device: one per OpenDTU or AhoyDTU
// base topic, one per plug, meter, GX and charger, each with its own will
// except the GX, which has none) or drive it without a broker with
// Step, which returns the messages of one cycle; the tests do that with an
// injected clock and a fixed seed, which makes the output reproducible.
// A Fleet works the same way: NewFleet, LoadStateFile, Run or Step.
//
// # Outside input
//
// What the simulator reads from outside is decoded defensively and fuzzed
// (fuzz_test.go, fleet_fuzz_test.go): every command and setpoint a device
// takes over MQTT (OpenDTU and AhoyDTU limits, Tasmota commands, Shelly
// RPC, go-e amp/frc, Victron writes and keep-alives), the built-in MQTT
// client's packets, scenario files, --faults values, state files and the
// data parsers.
//
// # Not built
//
// Batteries are only Victron GXs and chargers only go-eChargers, in
// generated homes as in the node (the dialects it reads for them); a
// fleet's shared connections have no per-device will (see fleet.go); the
// PV and cloud data are one site's (Denver, Golden) and the load data
// German (H25) or one Sydney household, whatever Config.Location says.
//
// # Who may import it
//
// cmd/firmware-sim, the node's demo wiring (node/demo.go) and tests. It
// imports the root package gridmint, paho and go.yaml.in/yaml/v3 (for
// scenario files, the YAML library the node's configuration uses);
// nothing in the node's data path may depend on it.
package firmwaresim
