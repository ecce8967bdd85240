// Package devices is gridmint's edge agent: it turns the MQTT traffic of
// home-energy firmware into normalised gridmint.Readings.
//
// It imports the root package gridmint and the standard library only; MQTT
// I/O and storage are done by package node, which feeds messages in and
// writes the outcome to the store. Package node is the only importer.
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
//   - the counter grew by d: Energy grows by d, unless d is more than the
//     device could have produced since the previous reading (nameplate or
//     kind maximum × elapsed time + a small slack), in which case the
//     message is quarantined as implausible and the counter re-baselined
//     at the new value without crediting the jump;
//   - a lifetime counter fell by at most the jitter tolerance (a rounding
//     wobble): nothing is credited and the higher value stays the baseline;
//   - a lifetime counter fell further: a reset (reboot, user reset). If the
//     new value could all have been produced since the previous reading it
//     is credited (a reset to zero), otherwise nothing is credited (the
//     device rolled back to an older saved value); either way the reading
//     is marked EventReset and QualityEstimated, and never adds negative
//     energy;
//   - a daily counter fell: EventRollover, the new value is credited under
//     the same plausibility bound.
//
// Duplicates and reordering are judged by the device's own timestamp when
// its payload has one (OpenDTU status/last_update, Tasmota Time): the same
// timestamp again is a duplicate (retained messages re-sent on reconnect);
// an older timestamp with a counter that did not grow is out of order. An
// older timestamp with a grown lifetime counter is accepted: the device's
// clock moved (NTP, a daylight-saving change in Tasmota's local Time), not
// the data.
//
// Rejected messages are returned as gridmint.Rejections with their reason
// and raw bytes, for the quarantine; they never become readings and never
// stop the agent.
package devices
