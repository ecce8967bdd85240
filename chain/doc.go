// Package chain is the settlement layer: the EIP-712 typed data that
// meter claims, attestations, rewards and awards are signed as (so a
// signature made by a node verifies in Solidity), the Solidity sources of
// the attestor registry, REC (ERC-1155) and FLEX (ERC-20) contracts
// (contracts/), their compiled artifacts (contracts/build) and abigen v2
// bindings (bindings/), a crash-safe client that deploys, issues, retires,
// reserves, rewards and slashes, an event indexer and a supply audit.
//
// Chains: the embedded chain (Simulated: go-ethereum's simulated backend,
// its database optionally in a directory so it survives restarts) by
// default, any EVM JSON-RPC node otherwise (Open, Config).
//
// Idempotency: every operation has a deterministic id (IntentID); the
// client records an Intent holding the signed transaction in an
// IntentStore before sending it, and Reconcile settles pending intents
// from receipts and contract state after a restart. Transient RPC
// failures (transport errors, timeouts, rate limits) are retried with
// doubling back-off (Config.Attempts, Backoff, MaxBackoff, Sleep); a
// refusal (revert, no funds) is not. A transaction is signed again with
// a new nonce only after the receipts of the intent's recorded
// transactions and the block that used its nonce show that none of them
// was mined, so a send whose answer was lost never executes twice.
//
// Indexing: Indexer follows the contracts' events, Confirmations blocks
// behind the head, into an IndexStore, rewinding on reorgs; Index answers
// balance and history queries. Audit recomputes supply from events.
//
// Regenerate artifacts and bindings after editing contracts/*.sol with
// `make generate` (node and npm needed); TestBindingsAreFresh fails until
// then.
//
// It imports the root package and go-ethereum; package node imports it.
package chain
