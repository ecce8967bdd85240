// Package mqttstore is the session store gridmint's paho MQTT clients use
// in place of paho's own MemoryStore.
//
// paho v1.5.1's MemoryStore keeps and hands back the very packet the
// client sends. On a reconnect, the client's resume reads each stored
// packet and sets the DUP flag on a QoS 1/2 PUBLISH, while the
// connection's writer may be encoding the same packet (Write sets its
// remaining length): a data race, upstream
// eclipse-paho/paho.mqtt.golang#703. (Upstream master copies on Get
// only, d8f84b8, unreleased; that still reads what the writer writes.)
// Store copies on Put, before the client hands the packet to its writer,
// and on Get, so the stored packet is touched by no one else and each
// resume works on a packet of its own.
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

// Put stores a copy of message under key.
func (s *Store) Put(key string, message packets.ControlPacket) {
	s.MemoryStore.Put(key, clone(message))
}

// Get returns a copy of the packet stored under key, nil if none.
func (s *Store) Get(key string) packets.ControlPacket {
	p := s.MemoryStore.Get(key)
	if p == nil {
		return nil
	}
	return clone(p)
}

// clone is a shallow copy of the packet types a session stores: their
// headers are written when sent; payloads and topic lists are only read.
func clone(p packets.ControlPacket) packets.ControlPacket {
	switch p := p.(type) {
	case *packets.PublishPacket:
		cp := *p
		return &cp
	case *packets.PubackPacket:
		cp := *p
		return &cp
	case *packets.PubrecPacket:
		cp := *p
		return &cp
	case *packets.PubrelPacket:
		cp := *p
		return &cp
	case *packets.PubcompPacket:
		cp := *p
		return &cp
	case *packets.SubscribePacket:
		cp := *p
		return &cp
	case *packets.UnsubscribePacket:
		cp := *p
		return &cp
	}
	return p
}

var _ paho.Store = (*Store)(nil)
