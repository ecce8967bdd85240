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
//     device is drawn on its own with probability SharePPM (2 % by
//     default) and tested on its offer with the lowest ticket, at most
//     once a week and 15 minutes. Rounds, tests and results are kept in
//     the store and survive restarts. A node down across a round's seed
//     time starts from the current round.
//
//     Agreement. Nodes hold different offers (gossip loss, a node that
//     joined late), so a device's draw reads only the seed, its
//     provider and name, and its own offers: a node that missed an offer
//     draws the same test of every other device (flex's property test;
//     TestNodeMissingAnOfferDrawsTheSameTestsAndTheRoundSettles). What it
//     cannot do is measure a test of the offer it missed: the home's
//     metering names the test by its id (a hash of seed and offer id)
//     and carries neither the offer's power, direction, window nor
//     baseline, and this node has no way to ask for one offer. So it
//     abstains on that test: it holds no test of the device (it held no
//     offer of it) or another one of the device's offers, which the home
//     does not run, and which it records failed, no_data, in its own
//     view only (failures go on no chain; derating acts only on a node's
//     own devices). Its reward batch lacks that reward and so is not the
//     others' batch: its signature does not count, and the batch settles
//     when k other attestors (the provider's own not counting) hold all
//     the offers. The weekly gap counts every test drawn, whatever its
//     outcome, so the next rounds agree again, unless this node held no
//     offer at all of the device.
//
//     Overlap with an award. A request signed after T can award a device
//     drawn for a test in an overlapping window (earlier ones keep it out
//     of the draw). Every node checks each pending test against the
//     awards of every clearing it holds, reserved or not
//     (market.AwardsOf, flex.VoidTest), before each setpoint, before
//     metering and before evaluating: a test its device's award overlaps
//     is void (outcome void, reason award_overlap, the request named):
//     setpoints not yet sent are withdrawn (a start already sent is not
//     restored by the test: the event's dispatch has the device and
//     restores it at its own end), nothing is metered, it is neither
//     rewarded nor derated. The event's dispatch wins.
//
//     Seed grinding. The seed is a block hash, so the block's producer
//     sees it first and can withhold the block to re-draw, at the cost of
//     the block (its reward, and on a chain where another producer takes
//     the slot, the slot): it can keep its own devices from tests that
//     would fail, or have them drawn for rewards, one re-draw per
//     withheld block. On the embedded and demo chain node 0 produces
//     every block (it seals on transactions and every DemoBlockPeriod),
//     so it could pick among as many seeds as it is willing to delay
//     blocks; nothing here detects that. A real chain's RANDAO or a VRF
//     would leave the producer one bit of choice (publish or not).
//
//  2. Dispatch. A home plans the tests of its own devices like awards
//     (market.PlanTest: flex.PlanDispatch, origin market) and sends the
//     setpoint at the test's start and the restore at its end through the
//     node's dispatcher (market.SendStep): the homeowner's opt-out and
//     the device's safety limits win; a test not dispatchable is recorded
//     with its reason (and fails: the capacity was not there).
//
//  3. Metering. Grace after the data the baseline needs, the home
//     gossips its meter of record's five-minute energy as
//     p2p.IntervalEnergy with Request = the test id (node/market/mv's
//     message and helpers; mv ignores them as untracked).
//
//  4. Evaluation. Void tests first (see Overlap). Collect later (Wait
//     more while data is missing) every node measures every test of the
//     round from the intervals the provider signed for the test's meter
//     with flex.EvaluateTest and the offer's baseline (the signed schedule for schedule offers, with the
//     seed time as its gate closure): passed at 80 % of the offered
//     power, excused under an opt-out or a grid limit, failed otherwise
//     (no data: failed, no_data). Failures are not slashed: they derate
//     the device (Derate feeds node/market's offerable capacity: halved
//     per failure since the last pass, down to 1/8) until it passes.
//
//  5. Rewards. The passed tests of a round earn RewardPerKW per kW
//     tested (flex.AvailabilityRewards) within the round's budget, half
//     its share of the FLEX contract's epoch cap (same on every node);
//     one chain.RewardBatch of kind availability (record id
//     flex.AvailabilityRecordID, evidence keccak256 of the result and its
//     meter data) goes through the attested-batch engine: attested by k
//     nodes, the provider's own signature not counting, submitted by the
//     elected node.
//
// Not built: a defence against seed grinding (see Rounds); a round waits
// for a block at or after its seed time, so on a chain that seals only
// on transactions (geth --dev, the embedded chain) an idle network draws
// late; tests are not
// gossiped (each node draws its own), and a node cannot fetch an offer
// it missed to measure its test (see Agreement).
//
// Metrics: gridmint_flex_test* and gridmint_flex_availability_*. API:
// GET /api/v1/market/tests.
package pof
