// Package chain is the settlement layer: the EIP-712 typed data that
// meter claims, attestations, rewards and awards are signed as (so a
// signature made by a node verifies in Solidity), the Solidity sources of
// the attestor registry, REC (ERC-1155) and FLEX (ERC-20) contracts, their
// compiled artifacts and abigen bindings, a crash-safe client that issues,
// retires, reserves and rewards, and an event indexer. It runs on
// go-ethereum's simulated backend by default and on any EVM JSON-RPC node
// otherwise.
//
// Built so far: the typed data (eip712.go). The contracts, client and
// indexer are issue 6 and not built yet.
//
// It imports the root package and go-ethereum; package node imports it.
package chain
