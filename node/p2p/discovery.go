package p2p

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/discovery"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
)

// Discovery: the bootstrap list is kept connected; mDNS connects to LAN
// peers as they announce themselves; the DHT (with the bootstrap peers as
// its seeds) advertises this node under the network's rendezvous string
// and finds others there while the node has fewer than connLow peers.

const (
	dialTimeout = 10 * time.Second
	minBackoff  = time.Second
	// maxBackoff caps the redial interval of a bootstrap peer: one dial
	// per half minute is cheap, and a peer that comes up late (a slow
	// start on a busy box) is joined within it rather than minutes later.
	maxBackoff     = 30 * time.Second
	bootstrapCheck = time.Second
)

// rendezvous is the DHT namespace of the network.
func (n *Node) rendezvous() string { return "/gridmint/1/" + n.cfg.Network }

// mdnsService names the network's mDNS service. DNS-SD service names are
// at most 15 characters, so the network name is hashed.
func (n *Node) mdnsService() string {
	return fmt.Sprintf("gm-%x", crypto.Keccak256([]byte(n.cfg.Network))[:4])
}

func (n *Node) startDiscovery(bootstrap []peer.AddrInfo) error {
	if len(bootstrap) > 0 {
		n.goRun(func() { n.keepBootstrapped(bootstrap) })
	}
	if n.cfg.MDNS {
		s := mdns.NewMdnsService(n.host, n.mdnsService(), mdnsNotifee{n})
		if err := s.Start(); err != nil {
			return fmt.Errorf("p2p: mdns: %w", err)
		}
		n.mdns = s
	}
	if n.cfg.DHT == DHTOff {
		return nil
	}
	mode := map[DHTMode]dht.ModeOpt{DHTAuto: dht.ModeAutoServer, DHTServer: dht.ModeServer, DHTClient: dht.ModeClient}[n.cfg.DHT]
	kad, err := dht.New(n.host, dht.Mode(mode), dht.ProtocolPrefix("/gridmint"), dht.BootstrapPeers(bootstrap...))
	if err != nil {
		return fmt.Errorf("p2p: dht: %w", err)
	}
	n.dht = kad
	if err := kad.Bootstrap(n.ctx); err != nil {
		return fmt.Errorf("p2p: dht bootstrap: %w", err)
	}
	n.goRun(func() { n.rendezvousLoop(drouting.NewRoutingDiscovery(kad)) })
	return nil
}

type mdnsNotifee struct{ n *Node }

// lanRedialFor bounds how long a peer found on the LAN is redialled after
// failed dials. mDNS reports an entry once until it expires, so without
// redialling, one dial lost on a busy machine would leave the two nodes
// apart until the entry expires and is announced again.
const lanRedialFor = 2 * time.Minute

// HandlePeerFound connects to a peer found on the LAN, redialling with
// backoff (wall clock: network timing) for up to lanRedialFor while the
// dial fails. One redial loop runs per peer.
func (m mdnsNotifee) HandlePeerFound(info peer.AddrInfo) {
	n := m.n
	if info.ID == n.self || n.host.Network().Connectedness(info.ID) == network.Connected {
		return
	}
	if _, busy := n.lanDialing.LoadOrStore(info.ID, true); busy {
		return
	}
	go func() {
		defer n.lanDialing.Delete(info.ID)
		giveUp := time.Now().Add(lanRedialFor)
		for backoff := minBackoff; ; backoff = min(2*backoff, maxBackoff) {
			n.clearDialBackoff(info.ID)
			if n.dial(info, "mdns") == nil || n.host.Network().Connectedness(info.ID) == network.Connected || time.Now().After(giveUp) {
				return
			}
			t := time.NewTimer(backoff)
			select {
			case <-n.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
}

// clearDialBackoff forgets the swarm's dial backoff for p, for the loops
// above that schedule their own redials.
func (n *Node) clearDialBackoff(p peer.ID) {
	if sw, ok := n.host.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(p)
	}
}

func (n *Node) dial(info peer.AddrInfo, via string) error {
	ctx, cancel := context.WithTimeout(n.ctx, dialTimeout)
	defer cancel()
	err := n.host.Connect(ctx, info)
	if err != nil {
		n.log.Debug("p2p: dial failed", "peer", info.ID, "via", via, "err", err)
	} else {
		n.log.Debug("p2p: connected", "peer", info.ID, "via", via)
	}
	return err
}

// keepBootstrapped redials every disconnected bootstrap peer, backing off
// exponentially per peer (1 s doubling to maxBackoff) while it stays
// unreachable, and at once after Rejoin. It owns the schedule: the swarm's own dial backoff for the
// peer (which grows to 5 min) is cleared before each redial.
func (n *Node) keepBootstrapped(peers []peer.AddrInfo) {
	type state struct {
		next    time.Time
		backoff time.Duration
		dialing bool
	}
	states := make([]state, len(peers))
	done := make(chan int, len(peers))
	results := make([]error, len(peers))
	// Dialling and its back-off are network timing: wall clock.
	t := time.NewTicker(bootstrapCheck)
	defer t.Stop()
	for {
		now := time.Now()
		for i, p := range peers {
			st := &states[i]
			if st.dialing || p.ID == n.self || now.Before(st.next) || n.host.Network().Connectedness(p.ID) == network.Connected {
				continue
			}
			st.dialing = true
			n.clearDialBackoff(p.ID)
			go func() {
				results[i] = n.dial(p, "bootstrap")
				done <- i
			}()
		}
		select {
		case <-n.ctx.Done():
			return
		case i := <-done:
			st := &states[i]
			st.dialing = false
			if results[i] == nil {
				st.backoff = 0
			} else {
				st.backoff = min(max(2*st.backoff, minBackoff), maxBackoff)
				st.next = time.Now().Add(st.backoff)
			}
		case <-n.rejoin:
			for i := range states {
				states[i].next, states[i].backoff = time.Time{}, 0
			}
		case <-t.C:
		}
	}
}

// rendezvousLoop advertises the node in the DHT and looks for peers
// there every DiscoveryInterval while it has fewer than connLow.
func (n *Node) rendezvousLoop(rd *drouting.RoutingDiscovery) {
	ns := n.rendezvous()
	var readvertise time.Time
	// DHT records expire on the wall clock (libp2p's), so does this.
	t := time.NewTicker(n.cfg.DiscoveryInterval)
	defer t.Stop()
	for {
		if len(n.host.Network().Peers()) > 0 && !time.Now().Before(readvertise) {
			ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
			ttl, err := rd.Advertise(ctx, ns)
			cancel()
			if err == nil {
				readvertise = time.Now().Add(ttl * 7 / 8)
			} else {
				n.log.Debug("p2p: dht advertise", "err", err)
			}
		}
		if len(n.host.Network().Peers()) < connLow {
			n.findPeers(rd, ns)
		}
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (n *Node) findPeers(rd *drouting.RoutingDiscovery, ns string) {
	ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
	defer cancel()
	found, err := rd.FindPeers(ctx, ns, discovery.Limit(connLow))
	if err != nil {
		n.log.Debug("p2p: dht find peers", "err", err)
		return
	}
	for info := range found {
		if info.ID == n.self || len(info.Addrs) == 0 || n.host.Network().Connectedness(info.ID) == network.Connected {
			continue
		}
		go n.dial(info, "dht")
	}
}
