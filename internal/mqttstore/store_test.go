package mqttstore

import (
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// resume marks a stored PUBLISH as a duplicate on the packet Get returns,
// while the connection's writer encodes the packet it stored: neither
// may touch the other's.
func TestStoreCopiesAPublishInAndOut(t *testing.T) {
	s := New()
	s.Open()
	defer s.Close()
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.Qos, pub.MessageID, pub.TopicName, pub.Payload = 1, 7, "a/b", []byte("x")
	s.Put("o.7", pub)

	// The client's writer encodes the packet it stored (Write sets the
	// remaining length) while a resume may read the stored one.
	pub.RemainingLength = 99
	got, ok := s.Get("o.7").(*packets.PublishPacket)
	if !ok {
		t.Fatalf("Get(o.7) = %T, want *packets.PublishPacket", s.Get("o.7"))
	}
	if got == pub {
		t.Fatal("Get returned the stored packet itself, want a copy")
	}
	got.Dup = true
	if pub.Dup {
		t.Error("setting Dup on the copy changed the stored packet")
	}
	if got.RemainingLength == 99 {
		t.Error("the stored packet is the one the client went on to write, want a copy taken at Put")
	}
	if got.MessageID != 7 || got.TopicName != "a/b" || string(got.Payload) != "x" || got.Qos != 1 {
		t.Errorf("copy = id %d topic %q payload %q qos %d, want 7 a/b x 1", got.MessageID, got.TopicName, got.Payload, got.Qos)
	}
	if s.Get("o.8") != nil {
		t.Error("Get of a missing key returned a packet")
	}
}
