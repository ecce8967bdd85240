// Package chain will hold the settlement layer: Solidity sources for the
// attestor registry, REC (ERC-1155) and FLEX (ERC-20) contracts, their
// compiled artifacts and abigen bindings, a crash-safe client that issues,
// retires, reserves and rewards, and an event indexer. It will run on
// go-ethereum's simulated backend by default and on any EVM JSON-RPC node
// otherwise.
//
// Not built yet (issue 6). It will import the root package and go-ethereum.
package chain
