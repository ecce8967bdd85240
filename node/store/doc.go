// Package store is the node's durable state, kept in badger v4: normalised
// readings, registered devices, the opaque counter-normaliser state of
// package devices, quarantined rejections and lifetime rejection counts, the gossip
// messages the node accepted (its replay cache and the history it serves to
// peers catching up, messages.go), the index of settlement-chain events
// (chainindex.go) and the settlement engine's batches and attestations
// (settle.go).
//
// Only package node and its subpackages may import it; everything else
// receives readings and devices from node through interfaces declared where
// they are consumed, so the storage engine stays replaceable.
//
// Writes go through a Batch: Commit writes a whole batch in one badger
// transaction with SyncWrites on, so when Commit returns nil every item is
// on disk (fsync'd), and after a crash either all of a batch is present or
// none of it is.
//
// Concurrency: every method of Store is safe for concurrent use. Commits are
// serialised by a mutex (there is one writer, the ingest loop, in practice);
// reads run concurrently with each other and with a commit and each sees a
// consistent snapshot as of its start. A Batch is not safe for concurrent
// use; build it in one goroutine, then hand it to Commit.
//
// Units: times are UTC instants with nanosecond precision; sizes in Options
// are bytes; durations are time.Duration.
package store
