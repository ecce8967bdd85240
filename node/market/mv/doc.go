// Package mv is measurement, verification and rewards of the flexibility
// market: it meters this node's awarded devices, recomputes every firm
// award's delivery from the gossiped meter data, and settles the
// payments through the attested-batch engine (node/settle). The rules are
// package flex's (flex.Verify, flex.CheckDelivery, the baseline methods,
// flex.Slashes); this package moves data and calls them.
//
// Package node/market clears, reserves and dispatches; for every clearing
// whose reservation is confirmed it calls Track on every node with the
// FirmEvent, naming in Local the awards of the node's own devices.
//
//  1. Metering. After the window and the span after it that the award's
//     baseline method needs, plus Config.Grace for late readings, the
//     home node builds its meter of record's five-minute consumption
//     (Meter: counter growth between step boundaries, interpolated
//     between readings at most MaxGap apart; flex.Consumption's sign)
//     over the method's look-back and the window (lookback) and gossips
//     it as p2p.IntervalEnergy on /gridmint/1/meter, one message per
//     contiguous run of steps with data (at most a day each).
//
//  2. Verification. Config.Collect later (up to Config.Wait more while
//     an award's data is incomplete: late gossip; the node waits 25
//     minutes) every node that tracks the event builds each award's
//     series from the intervals its provider signed for the award's
//     meter key (author and key must match the
//     award; the first value of a step stands), computes the baseline
//     with the award's method (flex.MethodFor) and the records with
//     flex.Verify. Steps of the window missing from a provider that sent
//     data are an offline span (recorded, not excused, not paid); a
//     provider that sent nothing is no_data. Exemptions (an opt-out
//     declared before the window, a grid limit) come from
//     Options.EventExemptions (node/market's gossiped ones, the same on
//     every node) and Options.Exemptions, and are never slashed; an
//     opted-out award is not paid either (it was never dispatched).
//
//  3. Rewards. The records with a payment (clearing price × delivered
//     kWh) become one chain.RewardBatch per request (kind delivery,
//     record id flex.DeliveryRecordID, evidence keccak256 of the record
//     and the series it was computed from), attested through the engine;
//     each provider's own signature does not count for its rewards. The
//     elected node submits FLEX.reward; the contract uses each record id
//     once, so an award is paid at most once.
//
//  4. Claims. CheckClaim checks a delivery record someone claims against
//     this node's recomputation (flex.CheckDelivery) and refuses, counts
//     and keeps one that differs (inflated_delivery, delivery_mismatch).
//     A provider that settles inflated records of its own gets no
//     attestations: peers attest only the batch they computed.
//
//  5. Slashing. An award delivered below tolerance and not excused is
//     slashed (flex.Slashes: at most the award's share of the provider's
//     stake, stake × award value / the provider's awarded value that day
//     in the awards starting before the event's window ends, so every
//     node sums the same awards; in proportion to the shortfall), as an
//     attested chain.Slash
//     (settle.KindFLEXSlash, FLEX.slash; the provider's own signature does
//     not count).
//
//     The stake is the one at the reservation block: the block of the
//     confirmed FLEX.reserve that made the event firm
//     (FirmEvent.ReservationBlock), the same for every node. Nodes verify
//     at different times and stakes change (stake, withdrawal, earlier
//     slashes); a stake read at verification would give different amounts
//     and no slash would reach the threshold. The first Step after Track
//     reads every awarded provider's stake in that block's state
//     (Options.StakesAt, chain.Client.StakeOfAt: an eth_call at the block)
//     and keeps it with the event in the store, so a restart or a late
//     verification uses the same numbers: read promptly, since a pruning
//     node (geth's default) keeps only the last 128 blocks' state. If no
//     stake was kept and the state is gone (the node was down, the
//     endpoint failed), the node does not guess: the record gets no slash
//     and SlashNotComputable (stake_unavailable; no_reservation_block for
//     an event tracked without its block), counted in
//     gridmint_flex_slashes_not_computable_total and shown in the API.
//
//     On chain FLEX.slash burns the attested amount capped at the award's
//     share of the stake when it executes (the Slashed event says what it
//     burned): a stake that fell after the reservation block (an earlier
//     slash landed first, or unbonded units were withdrawn) lowers what is
//     burned, never refuses the slash and never takes more than the
//     share. Each slash is a batch of its own, so nothing else reverts
//     with it; the API's slashed is the attested amount.
//
// The schedule baseline: an award of it is measured against the schedule
// its home signed with the offer (node/market keeps them; Options.Schedules
// looks one up by offer and the award's provider, so another node's plan
// never counts). The record names the schedule message and its evidence
// commits to it; without a schedule received the record is no_schedule:
// not paid, not slashed.
//
// Not built: delivery records themselves are not gossiped (each node
// computes its own; CheckClaim is the entry point for claimed ones);
// exemptions are not gossiped.
//
// Metrics: gridmint_flex_* (Metrics). API: GET /api/v1/market/deliveries.
package mv
