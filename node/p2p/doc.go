// Package p2p is the node's peer-to-peer layer: a libp2p host that finds
// peers, gossips signed application messages, checks every message it
// receives, keeps what it accepts and lets a node that was away fetch what
// it missed.
//
// Built:
//
//   - Host: TCP and QUIC, Noise, yamux, a connection manager (32-96
//     peers), a resource manager (256 MiB, 1024 descriptors) and a
//     connection gater for bans. The libp2p identity is the node's one
//     secp256k1 key (LibP2PKey), so peer ID, Ethereum address and signing
//     key are one key.
//   - Discovery: a bootstrap list kept connected with back-off, mDNS on
//     the LAN (Config.MDNS: it announces the node to the whole LAN, so
//     the node's config leaves it off unless asked), and the Kademlia
//     DHT (protocol prefix /gridmint) with a rendezvous string per
//     network.
//   - Gossip: GossipSub on nine versioned topics (/gridmint/1/offers,
//     requests, meter, attestations, awards, claims, roots, schedules,
//     exemptions) with strict signing, message
//     IDs from content, peer scoring, and bans of peers whose score falls
//     below the graylist threshold (score.go explains the numbers).
//   - Messages (message.go, codec.go): one envelope for every kind,
//     canonical protobuf written with protowire; the decoder accepts only
//     the canonical encoding. Every envelope is EIP-712 typed data in the
//     "gridmint p2p" domain: its digest is its ID and its signature
//     verifies in Solidity. Bodies name devices by their
//     gridmint.DeviceKey (a salted hash only the device's node can
//     compute), never by DeviceID, so gossip carries no vendor serials.
//   - Validation (validate.go): one ValidatorEx per topic: size, encoding,
//     version, kind, clock skew, freshness, body rules, signature, author
//     = publishing peer, for an attestation of an issue or reward batch
//     an author in the attestor registry (Config.Attestors), for a
//     certificate claim an author that is the node it names and an hour
//     over when signed (claim.go), replay (the Store, so it survives
//     restarts) and a per-author rate limit;
//     Reject or Ignore per reason, each counted.
//   - Catch-up (catchup.go): /gridmint/catchup/1, a bounded
//     request/response over the Store, run on start, after the node
//     lost all its peers and from a peer that returns (over the time it
//     was away, hinting as below even while a startup gap is open);
//     responses are checked like gossip. A fresh message a catch-up
//     takes before its gossip copy arrives is relayed when the copy
//     comes (accepted for forwarding, not handed over again), so the
//     race does not stop it at this node. A server waits up to 5 s for
//     one of its 4 serving slots before refusing. Healing spans any
//     number of hops: a catch-up (other than at start) that accepts new
//     messages sends each other connected peer a hint,
//     /gridmint/catchup-hint/1, with per topic the earliest new
//     message's creation less the clock skew (CatchUpHint, at most 64
//     canonical bytes); the receiver catches up from the hinting peer
//     over those topics from those times (clamped to the retention
//     window), and hints its own other peers if that brings it anything
//     new, so the hints die out where nobody learns more. Hints from the
//     future or over one per peer per 10 s (burst 3) are dropped, as is
//     a hint when the catch-up queue is half full; all counted in
//     Stats.CatchUp.
//   - Isolation: Node.Isolate closes every connection and makes the gater
//     refuse all others, in and out, as a firewall would; Node.Rejoin
//     lifts it and redials the bootstrap peers at once, and the catch-ups
//     above heal both sides (node/partition_test.go measures how fast).
//
// Time: every message time (creation, freshness, skew, retention, rate
// limits) comes from the injected Config.Clock, so tests can move it.
// Network timers (dial back-off, stream deadlines, DHT re-advertising,
// pings) use the wall clock, as libp2p itself does: they pace real I/O.
// Under a demo clock (gridmint.ScaledClock) message times, freshness,
// skew, retention, rate limits and bans run in demo time: an hour's ban
// lasts a minute at ×60. A message refused for clock skew (future, or
// stale on gossip) is counted in Stats.ClockSkew and logged with both
// clocks and the tolerance, once per author and direction every 10
// minutes; when several authors are skewed the same way, the node says
// that its own clock is probably the one that is off (skew.go).
//
// Node is the API; Store is implemented by node/store. Only package node
// imports this package.
package p2p
