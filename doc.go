// Package gridmint holds the domain types of the gridmint node: units of power
// and energy, device identities and kinds, readings, intervals, data-quality
// flags, error kinds and the Clock.
//
// It imports only the standard library and does no I/O, so every other
// package of the module (devices, firmware-sim, flex, rec, chain, node) may
// import it, and nothing here may import them.
//
// Units, once for the whole module:
//   - Power is W (watts, float64). A reading's power is positive in the
//     device kind's natural direction: a PV inverter producing, a plug or EV
//     charger consuming, a meter importing from the grid, a battery
//     discharging. Negative is the opposite direction (export, charging).
//   - Energy inside the node is MWh: integer milliwatt-hours, so sums of
//     counters are exact. Certificates use Wh: whole watt-hours, rounded
//     down (EnergyTag).
//   - Time is UTC; intervals are half-open [Start, End).
package gridmint
