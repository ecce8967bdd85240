// Package settle is the attested-batch engine: it gets a batch (REC
// certificates to issue, FLEX rewards to mint, later others) signed by k
// attestors of the on-chain registry and onto the chain exactly once,
// with one transaction, whichever nodes are up.
//
// Who uses it: package node starts one Engine per node (with the chain
// client, the store, the gossip node and the node's clock) and hands it
// every accepted gossip message; the certificate service calls
// Engine.Attest for the REC batches it has checked, the market service for
// the reward batches it has recomputed, and Engine.Propose for batches it
// builds but does not sign. The engine does not judge batches: the caller
// decides to attest; the engine signs, gossips, collects, elects and
// submits. GET /api/v1/batches shows Engine.Batches; /metrics shows
// Engine.Collectors (gridmint_settle_*).
//
// # Attestations
//
// An attestation is the signer's EIP-712 signature over the batch's digest
// (the REC or FLEX domain's digest of the IssueBatch or RewardBatch, what
// the contract's registry.verify checks), gossiped as a p2p.Attestation
// on /gridmint/1/attestations with SubjectKind SubjectIssueBatch or
// SubjectRewardBatch, Subject the digest and ChainSignature the
// signature; the envelope's author is the signer. The gossip layer checks
// that the signature recovers to the author and that the author is in
// the registry (p2p.Config.Attestors is the engine's Attestors). The
// engine keeps, per digest, the first valid signature of each signer,
// durably (Store; node/store keeps it in badger), also for digests of
// batches it does not know yet: they count as soon as the batch is
// proposed here.
//
// # Counting
//
// A signer counts for a batch if it is in the registry as last read. A
// batch lists exclusions: for a REC batch the claiming nodes, whose own
// signatures never count for their own claims (rec.Registry.Eligible).
// The batch is ready when every exclusion entry has k counting signers
// outside it; SelectSigners then picks the fewest signatures that make
// the quorum (rec.Registry.SelectSigners, for any batch), which are the
// ones sent.
//
// # Election
//
// Order(batch id, attestors) sorts the registry's attestors by
// keccak256(batch id ‖ address): Order[0] submits as soon as the batch is
// ready here; Order[i] submits once i × Timing.Fallback of the node's
// clock and i × Timing.MinFallbackWall of the wall clock have passed since
// the batch became ready here, if by then no transaction of the batch is
// in the chain index. Only nodes that hold a quorum submit, and only
// registered attestors (a node outside the registry never does). So one
// live submitter pays for each batch; a dead one delays it by a fallback.
//
// A node stops on a batch when the chain index shows its Issued event (or
// all its records' Rewarded events); the chain client's contract check
// before sending (Issued, Rewarded) catches what the index has not yet.
// Two nodes sending the same batch (a partition, a chain slower than the
// fallback) is not prevented but made cheap: the contract's batch-id
// check reverts the second, which the engine counts
// (gridmint_settle_duplicate_submissions_total). Submission goes through
// the chain client's recorded intents, so a crash between sending and
// recording never sends a batch twice from one node; a batch that was
// being submitted when the node stopped is resumed at start.
//
// # Clocks
//
// Config.Clock is the node's clock: in `gridmint demo` the shared demo
// clock, which may run faster than the wall. Batch ages, fallbacks and
// retention are in it. Config.Wall is the wall clock: the floor under each
// fallback (MinFallbackWall) and the pacing of Run (Tick,
// RegistryRefresh), because network latency, block times and index polls
// are wall time whatever the demo clock's speed.
package settle
