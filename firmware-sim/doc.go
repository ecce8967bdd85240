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
// load (H25 scaled to Config.HouseAnnualKWh) plus the plugs and the EV
// charger, minus the PV inverters, plus the batteries; so every setpoint
// that changes a device's power changes the meters by as much. A battery
// without an ESS setpoint does self-consumption against that balance.
//
// Physics comes from real data embedded in the package (profiles/, see
// profiles/SOURCES.md): PV AC power from an NREL PVWatts typical year,
// household load from the BDEW H25 standard load profile; the EV car
// sessions are a schedule drawn from the seed (goe.go). Energy counters
// are the integral of the power the device reports, accumulated per step
// over the sim clock (Config.Clock), so a node reading them sees
// counters that agree with power × time. Counters survive restarts through
// Sim.Snapshot and Sim.Restore (State is JSON).
//
// # Two clocks
//
// The sim clock (Config.Clock) is real time: MQTT timestamps
// (OpenDTU status/last_update, Tasmota Time, Shelly ts, AhoyDTU
// last_success, uptimes) and the energy integration use it, so counters
// never grow faster than nameplate power allows and timestamps keep
// increasing across restarts. Victron's 60 s keep-alive timeout and the
// go-e car sessions run on it too.
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
// simulated day passes faster than a real one while power and energy stay
// consistent in real time.
//
// # Use
//
// Build a Sim with New, optionally Restore a saved State, then call Run
// (one MQTT connection per physical device: one per OpenDTU or AhoyDTU
// base topic, one per plug, meter, GX and charger, each with its own will
// except the GX, which has none) or drive it without a broker with
// Step, which returns the messages of one cycle; the tests do that with an
// injected clock and a fixed seed, which makes the output reproducible.
//
// Who may import it: cmd/firmware-sim, the node's demo wiring and tests.
// It imports only the root package gridmint and paho (see DESIGN.md);
// nothing in the node's data path may depend on it.
package firmwaresim
