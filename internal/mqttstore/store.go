// Package mqttstore is the session store gridmint's paho MQTT clients use
// in place of paho's own MemoryStore.
//
// paho v1.5.1's MemoryStore hands back the very packet it was given. On a
// reconnect, the client's resume sets the DUP flag on each stored QoS 1/2
// PUBLISH it sends again, while the previous (or new) connection's writer
// may be reading the same packet: a data race (upstream
// eclipse-paho/paho.mqtt.golang#703, fixed on master by returning copies,
// d8f84b8, not in a release). Store returns a copy of a stored PUBLISH, so
// resume's write touches a packet no one else holds.
//
// Any package that builds a paho client may import it. A Store is safe for
// concurrent use.
package mqttstore

import (
	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// Store is paho's in-memory store with copying reads.
type Store struct {
	*paho.MemoryStore
}

// New returns an empty store; paho opens it on connect.
func New() *Store { return &Store{MemoryStore: paho.NewMemoryStore()} }

// Get returns the packet stored under key; a PUBLISH is a shallow copy
// (its payload is shared: nothing writes to it after it is stored).
func (s *Store) Get(key string) packets.ControlPacket {
	p := s.MemoryStore.Get(key)
	if pub, ok := p.(*packets.PublishPacket); ok {
		cp := *pub
		return &cp
	}
	return p
}

var _ paho.Store = (*Store)(nil)
