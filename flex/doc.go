// Package flex will hold proof-of-flexibility as pure logic: offerable
// capacity from device state, signed offers and utility requests,
// deterministic clearing, dispatch plans, baselines, measurement and
// verification, and settlement amounts.
//
// Not built yet (issue tracker: the flex issues follow p2p and chain). It
// will import only the root package gridmint and do no I/O and no clock
// reads, so that every node can recompute every decision.
package flex
