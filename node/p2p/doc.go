// Package p2p is the node's libp2p networking.
//
// Built so far: the host (NewHost) with the node's secp256k1 identity, TCP
// and QUIC transports, Noise and yamux, and a connection manager. Not built
// yet (issue 5): peer discovery (mDNS, bootstrap, Kademlia DHT), the
// versioned GossipSub topics with signed messages and per-topic validators,
// peer scoring and catch-up. Today nothing is gossiped.
//
// Only package node imports it.
package p2p
