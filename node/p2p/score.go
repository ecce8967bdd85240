package p2p

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmint/gridmint"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// Peer score thresholds. The positive part of a score is capped at
// topicScoreCap, and one topic's invalid-message penalty is
// invalidWeight × count² (decaying over about an hour), so:
//
//   - 1 invalid message (-10) stops gossip to and from the peer at once
//     (GossipThreshold), which is all a single, possibly accidental, bad
//     message deserves;
//   - 3 on one topic (-90) put a new peer below GraylistThreshold, 4 (-160)
//     even a peer with the full +20 of good behaviour: its messages are no
//     longer processed, and the node disconnects and bans it (banFor).
//
// Honest peers validate before forwarding, so they never collect these
// penalties; they start at 0 and only gain.
const (
	gossipThreshold   = -10
	publishThreshold  = -50
	graylistThreshold = -80
	topicScoreCap     = 20
	invalidWeight     = -10
)

// scoreParams returns the peer-score parameters for topics.
func scoreParams(topics []string) (*pubsub.PeerScoreParams, *pubsub.PeerScoreThresholds) {
	tp := make(map[string]*pubsub.TopicScoreParams, len(topics))
	for _, t := range topics {
		tp[t] = &pubsub.TopicScoreParams{
			TopicWeight: 1,
			// P1: up to +3 for ten minutes in the mesh: stability earns a
			// little, not enough to offset misbehaviour.
			TimeInMeshWeight:  0.005,
			TimeInMeshQuantum: time.Second,
			TimeInMeshCap:     600,
			// P2: +1 per first delivery, up to +10, fading over an hour.
			FirstMessageDeliveriesWeight: 1,
			FirstMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
			FirstMessageDeliveriesCap:    10,
			// P3/P3b (mesh delivery rate) off: gridmint topics are quiet
			// and bursty (meter claims at the hour), so a delivery-rate
			// expectation would punish honest peers in quiet minutes.
			// P4: see the thresholds above.
			InvalidMessageDeliveriesWeight: invalidWeight,
			InvalidMessageDeliveriesDecay:  pubsub.ScoreParameterDecay(time.Hour),
		}
	}
	return &pubsub.PeerScoreParams{
			Topics:            tp,
			TopicScoreCap:     topicScoreCap,
			AppSpecificScore:  func(peer.ID) float64 { return 0 },
			AppSpecificWeight: 1,
			// P6: more than 8 peers behind one IP (a Sybil farm) costs
			// 5 × excess²; loopback is exempt for tests and local demos.
			IPColocationFactorWeight:    -5,
			IPColocationFactorThreshold: 8,
			IPColocationFactorWhitelist: loopbackNets,
			// P7: gossipsub protocol misbehaviour (broken promises,
			// re-grafting during backoff), the usual weights.
			BehaviourPenaltyWeight:    -10,
			BehaviourPenaltyThreshold: 6,
			BehaviourPenaltyDecay:     pubsub.ScoreParameterDecay(10 * time.Minute),
			DecayInterval:             time.Second,
			DecayToZero:               0.01,
			// A peer that disconnects keeps its score for an hour, so
			// reconnecting does not wash a penalty off.
			RetainScore: time.Hour,
		}, &pubsub.PeerScoreThresholds{
			GossipThreshold:   gossipThreshold,
			PublishThreshold:  publishThreshold,
			GraylistThreshold: graylistThreshold,
			// Peer exchange is off; a threshold no peer reaches keeps it
			// off even if a peer sends PX.
			AcceptPXThreshold:           topicScoreCap + 1,
			OpportunisticGraftThreshold: 1,
		}
}

var loopbackNets = []*net.IPNet{
	{IP: net.IPv4(127, 0, 0, 0), Mask: net.CIDRMask(8, 32)},
	{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
}

// gater refuses connections with banned peers, in both directions, until
// their ban expires, and every connection while the node is isolated
// (Node.Isolate). Safe for concurrent use.
type gater struct {
	clock    gridmint.Clock
	isolated atomic.Bool

	mu     sync.Mutex
	banned map[peer.ID]time.Time // until
}

// maxBanned bounds the ban list; beyond it the ban ending soonest goes.
const maxBanned = 4096

func newGater(clock gridmint.Clock) *gater {
	return &gater{clock: clock, banned: map[peer.ID]time.Time{}}
}

// ban refuses p until until.
func (g *gater) ban(p peer.ID, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.clock.Now()
	if len(g.banned) >= maxBanned {
		var first peer.ID
		for q, u := range g.banned {
			if !u.After(now) {
				delete(g.banned, q)
			} else if first == "" || u.Before(g.banned[first]) {
				first = q
			}
		}
		if len(g.banned) >= maxBanned {
			delete(g.banned, first)
		}
	}
	g.banned[p] = until
}

func (g *gater) unban(p peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.banned, p)
}

func (g *gater) isBanned(p peer.ID) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.banned[p]
	if ok && !until.After(g.clock.Now()) {
		delete(g.banned, p)
		return false
	}
	return ok
}

// InterceptPeerDial refuses to dial a banned peer, or any while isolated.
func (g *gater) InterceptPeerDial(p peer.ID) bool { return !g.isolated.Load() && !g.isBanned(p) }

// InterceptAddrDial allows every address; bans are by peer.
func (g *gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool { return true }

// InterceptAccept allows every inbound connection until its peer is
// known, unless the node is isolated.
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool { return !g.isolated.Load() }

// InterceptSecured refuses a banned peer once its identity is proven, and
// everyone while isolated.
func (g *gater) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !g.isolated.Load() && !g.isBanned(p)
}

// InterceptUpgraded allows every connection that got this far.
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
