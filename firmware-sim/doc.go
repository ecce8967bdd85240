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
//
// Physics comes from real data embedded in the package (profiles/, see
// profiles/SOURCES.md): PV AC power from an NREL PVWatts typical year,
// household load from the BDEW H25 standard load profile. Energy counters
// are the integral of the power the device reports, accumulated per step
// over the sim clock (Config.Clock), so a node reading them sees
// counters that agree with power × time. Counters survive restarts through
// Sim.Snapshot and Sim.Restore (State is JSON).
//
// # Two clocks
//
// The sim clock (Config.Clock) is real time: MQTT timestamps
// (OpenDTU status/last_update, Tasmota Time, uptimes) and the energy
// integration use it, so counters never grow faster than nameplate power
// allows and timestamps keep increasing across restarts.
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
// (one MQTT connection per physical device: one per OpenDTU base topic,
// one per plug, each with its own will) or drive it without a broker with
// Step, which returns the messages of one cycle; the tests do that with an
// injected clock and a fixed seed, which makes the output reproducible.
//
// Who may import it: cmd/firmware-sim, the node's demo wiring and tests.
// It imports only the root package gridmint and paho (see DESIGN.md);
// nothing in the node's data path may depend on it.
package firmwaresim
