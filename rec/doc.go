// Package rec will turn metering into granular renewable certificates as
// pure logic: hourly intervals from counter deltas, plausibility checks,
// claims, attestation rules, serials, transfers, retirement and hour-by-hour
// matching reports.
//
// Not built yet. It will import only the root package gridmint and do no I/O
// and no clock reads.
package rec
