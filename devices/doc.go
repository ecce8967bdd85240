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
//   - An Adapter per firmware family (one file per vendor: tasmota.go,
//     opendtu.go) names the topics it needs (Subscriber) and decodes a
//     message into Updates (Decoder). Adapters are created by dialect name
//     from a registry (Register, NewAdapter) and never import each other.
//   - Normalise is the one counter normaliser for all adapters: vendor
//     counters in kWh, Wh or mWh, lifetime or daily, become one monotonic
//     lifetime counter per device in integer mWh.
//   - Ingest routes messages to adapters, discovers devices, runs the
//     normaliser, and returns an Outcome (readings, rejections, new devices,
//     counter states) for the caller to make durable before acknowledging.
//
// # Normalisation rules
//
// Units: power in W; energy counters are parsed from their decimal literal
// straight into integer mWh (gridmint.ParseEnergy), so "514.153" kWh is
// exactly 514153000 mWh.
//
// Sign: power is positive in the device kind's natural direction (see
// package gridmint). A PV inverter's or a plug's power is as reported.
//
// Counters: a device reports a lifetime counter (Tasmota Total, OpenDTU
// yieldtotal) or a daily one. The normalised Energy only ever grows:
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
// Rejected messages are returned as gridmint.Rejections with their reason
// and raw bytes, for the quarantine; they never become readings and never
// stop the agent.
package devices
