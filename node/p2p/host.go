package p2p

import (
	"crypto/ecdsa"
	"fmt"
	"time"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	cm "github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// Connection limits: a home node on a Raspberry Pi keeps a modest number
// of peers; gossip needs only a handful per topic.
const (
	connLow  = 32
	connHigh = 96
)

// Resource manager budget: what libp2p may use at most, whatever peers
// ask for. 256 MiB and 1024 file descriptors leave most of a 1 GB box to
// the rest of the node; libp2p's scaled defaults split them between
// system, transient, per-protocol and per-peer scopes.
const (
	rcmgrMemory = 256 << 20
	rcmgrFDs    = 1024
)

// LibP2PKey converts the node's Ethereum key to the libp2p key of the
// same secp256k1 secret, so its peer ID, its address and its signing key
// are one key.
func LibP2PKey(key *ecdsa.PrivateKey) (crypto.PrivKey, error) {
	k, err := crypto.UnmarshalSecp256k1PrivateKey(ethcrypto.FromECDSA(key))
	if err != nil {
		return nil, fmt.Errorf("p2p: key: %w", err)
	}
	return k, nil
}

// NewHost starts a libp2p host with identity key listening on the given
// multiaddrs (TCP and QUIC), secured with Noise and multiplexed with yamux,
// with a connection manager and a resource manager. New builds its own
// host (with a connection gater for bans); this is for callers that need
// only a host.
func NewHost(key crypto.PrivKey, listen []string) (host.Host, error) {
	return newHost(key, listen, nil)
}

func newHost(key crypto.PrivKey, listen []string, gater connmgr.ConnectionGater) (host.Host, error) {
	conns, err := cm.NewConnManager(connLow, connHigh, cm.WithGracePeriod(time.Minute))
	if err != nil {
		return nil, fmt.Errorf("p2p: connection manager: %w", err)
	}
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(limits.Scale(rcmgrMemory, rcmgrFDs)))
	if err != nil {
		return nil, fmt.Errorf("p2p: resource manager: %w", err)
	}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ConnectionManager(conns),
		libp2p.ResourceManager(rm),
		libp2p.UserAgent("gridmint"),
	}
	if gater != nil {
		opts = append(opts, libp2p.ConnectionGater(gater))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		_ = rm.Close()
		return nil, fmt.Errorf("p2p: host on %v: %w", listen, err)
	}
	return h, nil
}
