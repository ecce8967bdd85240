// Package devices is gridmint's edge agent: it turns the MQTT traffic of
// home-energy firmware into normalised gridmint.Readings.
//
// It imports the root package gridmint and the standard library only; MQTT
// I/O and storage are done by package node, which feeds messages in and
// writes the outcome to the store. Only package node and its subpackages
// import it.
//
// The pieces, in the order a message flows through them:
//
//   - An Adapter per firmware family, one file per vendor: tasmota.go,
//     opendtu.go, shelly.go (Gen2+, and Gen1 in shellygen1.go), victron.go
//     (Venus OS dbus-flashmq), goe.go (go-eCharger API v2 and v1),
//     ahoydtu.go, and generic.go (a user's mappings, for any other
//     firmware). It names the topics it needs (Subscriber) and decodes a
//     message into Updates (Decoder). Adapters are created by dialect name
//     from a registry (Register, NewAdapter) and never import each other.
//     Every adapter passes the same conformance suite (conformance_test.go).
//   - Normalise is the one counter normaliser for all adapters: vendor
//     counters in kWh, Wh or mWh, lifetime, daily or session, become
//     monotonic lifetime counters per device in integer mWh.
//   - Ingest routes messages to adapters, discovers devices, rate-limits
//     chatty ones, runs the normaliser, and returns an Outcome (readings,
//     rejections, new devices, counter states) for the caller to make
//     durable before acknowledging.
//   - Control (control.go, dispatch.go): one interface per capability
//     (Switcher, PowerLimiter, BatteryController, ChargeController) turns
//     a gridmint.Setpoint into the vendor's command; CheckLimits applies
//     the device's safety limits and the owner's opt-out; the Dispatcher
//     sends commands and settles them when the device confirms.
//   - Home Assistant discovery (homeassistant.go) describes each device's
//     normalised values as HA entities.
//   - Sites (site.go): the rules that tie devices to a node's sites (one
//     grid meter of record each) and Summarise, a site's power and energy
//     totals from its devices' live states; DeviceState.PowerNow is a
//     device's power now, unknown once it is offline or stale.
//
// # Normalisation rules
//
// Units: power in W (kW converted); energy counters are parsed from their
// decimal literal straight into integer mWh (gridmint.ParseEnergy), so
// "514.153" kWh is exactly 514153000 mWh; state of charge in %. The one
// inexact unit is the Shelly Gen1 relay counter's watt-minute (16.67 mWh):
// the lifetime value is rounded down to whole mWh, an error below 1 mWh
// that does not accumulate.
//
// Sign, one convention for every vendor: power is positive in the device
// kind's natural direction — PV producing, plug or EV charger consuming,
// grid meter importing (export is negative), battery discharging
// (charging is negative). Adapters convert: Victron reports battery power
// positive when charging, so its sign is flipped; a Shelly EM's signed
// act_power already means import positive. Each device has up to two
// counters: Forward in the natural direction (production, consumption,
// grid import, battery discharge) and Reverse the opposite (grid export,
// battery charge), normalised independently.
//
// Counters: a device reports lifetime counters (Tasmota Total, OpenDTU
// yieldtotal, Shelly aenergy.total and emdata totals, Victron energy
// paths, go-e eto, AhoyDTU YieldTotal; Tasmota ExportActive as Reverse)
// or, where it has none, a daily one (a Victron solar charger's daily
// yield). A session counter (go-e wh, a new EV session) is not used as a
// meter. The normalised Energy only ever grows:
//
//   - the counter grew by d: Energy grows by d;
//   - a lifetime counter fell by at most the jitter tolerance (a rounding
//     wobble): nothing is credited and the higher value stays the
//     baseline;
//   - the counter fell further: the drop is held (EventReset for a
//     lifetime counter, EventRollover for a daily one) and settled by the
//     next reading. If that reading is back at the old level, the drop was
//     a glitch and only growth beyond the old level counts. If it goes on
//     from the low value, the device restarted its counter: the low value
//     is energy made since the restart and is credited, unless it is more
//     than the device could have made (a rollback to an older saved
//     value), then only the growth after the drop is credited.
//
// Plausibility: each device has an energy budget that accrues at its
// maximum power (nameplate × NameplateHeadroom, or its kind's maximum)
// over node time, capped at BudgetSpan's worth; every credited mWh spends
// it. A new counter starts with InitialSpan's worth, because its first
// value may be a retained message up to one publish period old. Growth beyond the budget is quarantined as implausible and the
// counter re-baselined at the new value without crediting the jump. Node
// time, not device time, funds the budget, so a device's clock (unset,
// wrong or forged) cannot widen the bound; the budget saved while the node
// was down pays for the burst of queued messages after a restart.
//
// Duplicates and reordering are judged by the device's own timestamp when
// its payload has one (OpenDTU status/last_update, Tasmota Time): the same
// timestamp again is a duplicate (retained messages re-sent on reconnect,
// or QoS 1 messages the broker re-delivers); an older timestamp with a
// counter that did not grow is out of order. An older timestamp with a
// grown lifetime counter is accepted: the device's clock moved (NTP, a
// daylight-saving change in Tasmota's local Time), not the data. Device
// timestamps before 2000 or more than a day ahead of node time are
// ignored: the device's clock is not set.
//
// Multi-channel devices: a Tasmota device with SetOption129 reports a
// counter per channel and becomes one device per channel ("<topic>:<n>");
// by default it reports one Total for all channels, and its power is
// summed into one device. Shelly components are devices of their own
// ("<prefix>:switch:0").
//
// Partial updates: Shelly NotifyStatus deltas, Victron per-path topics and
// go-e per-key topics are merged per device by their adapter, which emits
// the device's whole known state; a value the vendor marks invalid
// (Victron {"value": null}, go-e null) is forgotten, not an error.
//
// Online: each vendor's own signal is mapped to Availability — Tasmota
// LWT Online/Offline, OpenDTU status/reachable and dtu/status, Shelly
// <prefix>/online, Victron zero-byte payloads (a device that left the
// D-Bus), go-e mcc (API v2; v1 has none), AhoyDTU available (the
// firmware's inverter status)/status/mqtt — and a device not heard
// from for IngestConfig.StaleAfter is offline whatever its last signal
// said. A reading means online. A Victron GX publishes only while it gets
// keep-alives (KeepAliver), which the node sends. The availability is
// stored with the device's counter state whenever it changes, so a device
// that was offline is offline after a restart until it says otherwise or
// sends data. A signal that speaks for several devices (a Shelly prefix,
// a Tasmota topic with channels) names a group (Grouper) and reaches every
// known device of it, also one the decoder has not seen since the start:
// retained last wills arrive before anything else.
//
// Rejected messages are returned as gridmint.Rejections with their reason
// and raw bytes, for the quarantine; they never become readings and never
// stop the agent.
package devices
