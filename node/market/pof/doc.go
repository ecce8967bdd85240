// Package pof runs proof of flexibility on a node: unannounced test
// dispatches of offered capacity, drawn from a block hash no one knows
// when offering, measured like awards, rewarded with availability FLEX,
// and derating the devices that fail. The rules are package flex's
// (SelectTests, EvaluateTest, DerateFactor, AvailabilityRewards); this
// package moves data and calls them. Configuration: market.tests
// (market.TestsConfig).
//
//  1. Rounds. Round r is at seed time T = r·Every since the Unix epoch
//     (node time). OfferCollect after T, once the chain has a block with
//     a timestamp at or after T and Confirmations blocks on top of it
//     (chain.FirstBlockAt), every node draws the round's tests with
//     flex.SelectTests: seed = that block's hash, only offers signed
//     before T (market.TestCandidates), skipping offers awarded in a
//     clearing held and offers in the window of a request not cleared
//     yet; the earliest test start is the block's time plus Lead (the
//     time nodes have to see the block, and the home to dispatch). Each
//     device is tested at most once a week and 15 minutes, 2 % of the
//     eligible power per round by default. Every node computes the same
//     tests from the same offers and block; rounds, tests and results
//     are kept in the store and survive restarts. A node down across a
//     round's seed time starts from the current round.
//  2. Dispatch. A home plans the tests of its own devices like awards
//     (market.PlanTest: flex.PlanDispatch, origin market) and sends the
//     setpoint at the test's start and the restore at its end through the
//     node's dispatcher (market.SendStep): the homeowner's opt-out and
//     the device's safety limits win; a test not dispatchable is recorded
//     with its reason (and fails: the capacity was not there).
//  3. Metering. Grace after the data the baseline needs, the home
//     gossips its meter of record's five-minute energy as
//     p2p.IntervalEnergy with Request = the test id (node/market/mv's
//     message and helpers; mv ignores them as untracked).
//  4. Evaluation. Collect later (Wait more while data is missing) every
//     node measures every test of the round from the intervals the
//     provider signed for the test's meter with flex.EvaluateTest and the
//     offer's baseline (the signed schedule for schedule offers, with the
//     seed time as its gate closure): passed at 80 % of the offered
//     power, excused under an opt-out or a grid limit, failed otherwise
//     (no data: failed, no_data). Failures are not slashed: they derate
//     the device (Derate feeds node/market's offerable capacity: halved
//     per failure since the last pass, down to 1/8) until it passes.
//  5. Rewards. The passed tests of a round earn RewardPerKW per kW
//     tested (flex.AvailabilityRewards) within the round's budget, half
//     its share of the FLEX contract's epoch cap (same on every node);
//     one chain.RewardBatch of kind availability (record id
//     flex.AvailabilityRecordID, evidence keccak256 of the result and its
//     meter data) goes through the attested-batch engine: attested by k
//     nodes, the provider's own signature not counting, submitted by the
//     elected node.
//
// Not built: the seed block's producer could grind its hash (a real
// chain's RANDAO or a VRF would not let it); a round waits for a block
// at or after its seed time, so on a chain that seals only on
// transactions (geth --dev, the embedded chain) an idle network draws
// late; tests are not gossiped (each node draws its own).
//
// Metrics: gridmint_flex_test* and gridmint_flex_availability_*. API:
// GET /api/v1/market/tests.
package pof
