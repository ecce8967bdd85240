package node

import (
	"fmt"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is the embedded MQTT broker (mochi-mqtt) that `gridmint demo`
// runs in-process. It keeps sessions and retained messages in memory only:
// it is for the demo and tests, where the simulated devices re-publish
// their retained state on every start. Production nodes use an external
// broker (Mosquitto, EMQX) by URL.
type Broker struct {
	server *mqtt.Server
	addr   string
}

// StartBroker starts a broker listening on addr (host:port; port 0 picks
// a free port) that accepts any client. Bind it to loopback: it has no
// authentication.
func StartBroker(addr string, log *slog.Logger) (*Broker, error) {
	s := mqtt.New(&mqtt.Options{
		Logger: log.With("component", "broker"),
		// Room for a demo's worth of unacknowledged QoS 1 messages while
		// the node restarts.
		Capabilities: mqtt.NewDefaultServerCapabilities(),
	})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})
	if err := s.AddListener(l); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w (is another broker running? pass another --mqtt-addr, or port 0 for any free port)", addr, err)
	}
	if err := s.Serve(); err != nil {
		s.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{server: s, addr: l.Address()}, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as a client URL.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Close disconnects every client and stops listening.
func (b *Broker) Close() error { return b.server.Close() }
