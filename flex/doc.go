// Package flex is proof-of-flexibility as pure logic: what a device can
// offer, how offers clear against utility requests, the dispatch plan, the
// baselines, measurement and verification, slashing, and the random test
// dispatches that prove offered capacity is real.
//
// It imports only the standard library and the root package gridmint. It
// does no I/O and reads no clock: time, device state, meter data and
// chain facts (block hashes, stakes, the emission room) are passed in, and
// every function is deterministic, so every node computes the same awards,
// roots, delivery records and slashes from the same signed inputs and
// refuses what it cannot recompute. Package node/market does the wiring
// (gossip, storage, chain, setpoints); anyone may import flex, and flex
// imports nothing but the root. TestPurity enforces this.
//
// # Units
//
// Power is whole watts, energy integer mWh (gridmint.MWh), prices
// MicroFLEX per kWh, money FLEX base units (18 decimals; 1 MicroFLEX =
// 10^12 base units) as exact big integers. Energy of power held for a time
// is gridmint.EnergyAt: watts × seconds / 3.6, rounded down. Meter data is
// a Series of consumption-positive energy per step (import, charging and
// loads positive; export, discharge and PV production negative).
//
// # Offers (OfferableCapacity, CheckOffer)
//
// A device offers at most its capacity for a window from its state and
// the homeowner's gridmint.FlexPolicy (minimum price, battery reserve, the
// car's departure and energy, opt-out), after the proof-of-flexibility
// derating. Battery: within its power limits and state-of-charge bounds
// for the whole window. EV charger: defers only what the car would draw,
// and only as far as it still gets its energy before departure; charges
// earlier only what it still needs. PV: curtails at most its lowest
// expected production. Each offer names its baseline method and its meter
// of record (the device, or the site's grid meter).
//
// # Clearing (Clear)
//
// At gate closure, from the same signed offers and requests, in any order
// and with duplicates: per request, the offers in its zone and direction
// whose window contains the request's, signed by the gate closure and not
// expired at it, at or below the request's maximum price, in merit order
// (price ascending, ties broken by offer ID only). Offers are accepted
// whole while the accepted power is below the requested power; the
// margin: the offer that crosses the requested power is accepted whole,
// so a request is met, over-procured by less than one offer, and never a
// cheaper offer passed over for a dearer one that fits (a request the
// offers cannot meet is Short). Pay-as-clear: every award is priced at
// the dearest accepted offer's price, at most the request's maximum. Each
// offer is awarded once and a device holds one award at a time. A
// request's awards, sorted by offer ID, hash into its awards root
// (RFC 9162 Merkle tree over SHA-256 of AwardLeaf), which the utility's
// reserve names; it must burn at least the cleared value
// (CheckReservation).
//
// # Baselines (Method, MethodFor)
//
// Named, versioned methods (a name's rules never change; new rules get a
// new name): schedule/v1 (the device's plan signed before gate closure),
// meter_before_after/v1, caiso_10in10/v1 (CAISO 10-in-10 with the ±20 %
// load point adjustment), pjm_high4of5/v1 (PJM high 4 of 5 with the
// symmetric additive adjustment) and pjm_sameday_3p2/v1 (PJM same day
// 3+2). Each type's doc comment states its rules and sources.
//
// Inflation guard: consumption raised just before an event, to be paid for
// lowering it (GB's Demand Flexibility Service dropped its domestic in-day
// adjustment in 2023/24 for this), must not pay. The rule: data from the
// run-up to an event may only lower what is paid. Day-of adjustments of
// X-of-Y baselines apply only on the side that lowers the payment (a down
// award's baseline is never above the plain mean of its history days);
// same-day methods count pre-event load at most at the level measured
// after the event (meter_before_after takes the lower of before and after
// for a down award; pjm_sameday_3p2 caps each pre-event step at the
// post-event mean); a schedule must be signed by the gate closure and
// within the device's power. TestInflationGuard checks it over random
// households.
//
// # Measurement and verification (Verify, CheckDelivery)
//
// Delivered energy per step = baseline − metered for down (metered −
// baseline for up), never negative, capped at the award's energy in the
// step, at the offer's meter of record; awards behind one shared meter
// share its delivery pro rata (a battery discharging while the house
// draws more is no delivery at the grid meter). Performance = delivered /
// awarded; payment = clearing price × delivered kWh, so under-delivery is
// not paid. Peers recompute every record and refuse one that claims more
// (inflated_delivery) or differs (delivery_mismatch).
//
// # Slashing (Slashes)
//
// An award delivered below Tolerance (90 %) and not excused is slashed at
// most its share of the provider's stake, stake × award value / the
// provider's awarded value on the award's settlement day (UTC day of its
// window start), in proportion to the shortfall. One day's slashes never
// exceed the stake, so one event can never cascade. An opt-out declared
// before the window or a grid operator's limit is recorded as such and
// not slashed.
//
// # Proof of flexibility
//
// SelectTests, EvaluateTest, DerateFactor, AvailabilityRewards.
// Unannounced tests are drawn from a future block hash, from the offers
// signed before that block. Each device with such an offer is drawn on
// its own (Drawn: SHA-256 of seed, provider and device below 2 % by
// default), so the draw of one device never depends on the other
// devices' offers a node holds; a drawn device is tested on its offer
// with the lowest SHA-256 of seed and offer ID (DrawTest), at its power
// for at most 15 minutes within its window, at most once a week. A test
// overlapped by an award of its device is void (VoidTest). A passed test
// earns the availability reward, scaled to fit the FLEX contract's epoch
// emission cap (EpochCap); each consecutive failure halves what the
// device may offer (down to 1/8) until it passes.
//
// # Dispatch (PlanDispatch, Schedule)
//
// Awards become setpoints at the window start and a restore at its end
// (battery_power W, charge_current A, charge_enable, power_limit W), all
// of origin market; the homeowner's opt-out and the device's safety limits
// always win, and a setpoint is never clamped into a limit: a dispatch
// that would break one is not planned.
//
// # Reason codes
//
// Every refusal and record carries a gridmint.FlexReason (errors carry it
// in a ReasonError; see Reason):
//
//	invalid, id_conflict           input that fails validation; one ID, two contents
//	over_capacity, below_min_price an offer above capacity or below the homeowner's price
//	opt_out                        an offer from an opted-out device; a shortfall excused by an opt-out declared before the window
//	gate_closed                    a request whose gate closure has passed
//	root_mismatch                  an awards root the inputs do not give
//	reservation_root, reservation_short  a reservation naming another root, or burning less than the cleared value
//	inflated_delivery, delivery_mismatch a delivery record above, or otherwise different from, the recomputation
//	grid_limit                     a shortfall excused by a grid operator's limit
//	offline, no_data               the device offline, or meter data missing, in the window (not excused)
//	under_delivered                delivered below Tolerance
//	insufficient_history, schedule_late  a baseline that cannot be computed
//	safety_limit, not_flexible, unknown_device  a dispatch that cannot be planned
//	at_reserve, no_car, no_forecast, unknown_limits, derated  why a device offers nothing
package flex
