package node

import (
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TestEmbeddedBrokerReadLocksAreNotRecursive guards the two fixes in
// third_party/mochi-mqtt-server (PATCHED.md): GetByListener and
// NextImmediate took a read lock they already held, so a writer arriving
// between the two deadlocked the broker (it hung CI in Close once). Readers
// and writers race here; with the recursive read locks the loop stops within
// a few thousand rounds and the deadline below fails the test.
func TestEmbeddedBrokerReadLocksAreNotRecursive(t *testing.T) {
	parallel(t)
	clients := mqtt.NewClients()
	inflight := mqtt.NewInflights()
	const rounds = 20000
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // writers
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				id := fmt.Sprintf("c%d", i%8)
				clients.Add(&mqtt.Client{ID: id, Net: mqtt.ClientConnection{Listener: "t1"}})
				clients.Delete(id)
				inflight.Set(packets.Packet{PacketID: uint16(i%8 + 1), Expiry: -1})
				inflight.Delete(uint16(i%8 + 1))
			}
		}()
		go func() { // readers
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				clients.GetByListener("t1")
				inflight.NextImmediate()
			}
		}()
		wg.Wait()
	}()
	// A hang guard, not a timing assertion: the rounds take milliseconds.
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("readers and writers of the broker's client and in-flight maps deadlocked")
	}
}
