package p2p

import (
	"bytes"
	"testing"

	"github.com/gridmint/gridmint"
)

func sampleExemption() Exemption {
	return Exemption{Request: gridmint.RequestID{1}, Device: gridmint.DeviceKey{2}, Reason: gridmint.FlexOptOut}
}

func TestExemptionValidate(t *testing.T) {
	for _, r := range []gridmint.FlexReason{gridmint.FlexOptOut, gridmint.FlexGridLimit} {
		x := sampleExemption()
		x.Reason = r
		if err := x.Validate(); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	bad := map[string]func(*Exemption){
		"zero request":  func(x *Exemption) { x.Request = gridmint.RequestID{} },
		"zero device":   func(x *Exemption) { x.Device = gridmint.DeviceKey{} },
		"no reason":     func(x *Exemption) { x.Reason = "" },
		"other reason":  func(x *Exemption) { x.Reason = gridmint.FlexOffline },
		"reason's case": func(x *Exemption) { x.Reason = "OPT_OUT" },
	}
	for name, f := range bad {
		x := sampleExemption()
		f(&x)
		if err := x.Validate(); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	// Signed, it round-trips through the envelope and is refused on a
	// wrong topic like every kind.
	m := Sign(t, Key(1), sampleExemption(), Epoch)
	got, err := decodeEnvelope(m.Raw, newSigner(TestDomain))
	if err != nil || got.ID != m.ID || got.Body.(Exemption) != sampleExemption() {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if m.Topic() != TopicExemptions || KindExemption.String() != "exemption" {
		t.Errorf("topic %q, name %q", m.Topic(), KindExemption)
	}
}

// FuzzDecodeExemption: the exemption body decoder never panics, accepts
// only canonical input, and what it accepts re-encodes the same.
func FuzzDecodeExemption(f *testing.F) {
	f.Add(sampleExemption().appendBody(nil))
	f.Add(Exemption{Request: gridmint.RequestID{9}, Device: gridmint.DeviceKey{9}, Reason: gridmint.FlexGridLimit}.appendBody(nil))
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		x, err := DecodeExemptionBody(raw)
		if err != nil {
			return
		}
		if again := x.appendBody(nil); !bytes.Equal(again, raw) {
			t.Fatalf("decoded body re-encodes differently:\n in %x\nout %x", raw, again)
		}
		_ = x.Validate()
		_ = x.structHash(1)
	})
}
