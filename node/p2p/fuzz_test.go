package p2p

import (
	"bytes"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// FuzzDecodeEnvelope: decoding never panics, and whatever decodes is
// canonical: it re-encodes to exactly the input, and its ID is stable.
func FuzzDecodeEnvelope(f *testing.F) {
	for i, body := range Bodies(Key(1), Epoch, 1) {
		f.Add(Sign(f, Key(1), body, Epoch.Add(time.Duration(i)*time.Millisecond)).Raw)
	}
	f.Add(Sign(f, Key(2), Attestation{Subject: common.Hash{1}, SubjectKind: SubjectOffer, Verdict: VerdictReject, Reason: RejectOther}, Epoch).Raw)
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x81, 0x00})
	// An offer in the old form, naming a device id instead of its key.
	old := Sign(f, Key(1), Bodies(Key(1), Epoch, 2)[0], Epoch)
	body := old.Body.appendBody(nil)
	f.Add(cat(field(1, uint64(Version)), field(2, uint64(KindOffer)), field(3, old.Author.Bytes()), field(4, uint64(Epoch.UnixMilli())),
		field(5, cat(field(1, []byte("0xabc/goe/200001")), body[34:])), field(6, old.Signature)))
	s := newSigner(TestDomain)
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := decodeEnvelope(raw, s)
		if err != nil {
			return
		}
		if again := encodeEnvelope(m); !bytes.Equal(again, raw) {
			t.Fatalf("decoded input re-encodes differently:\n in %x\nout %x", raw, again)
		}
		m2, err := decodeEnvelope(encodeEnvelope(m), s)
		if err != nil || m2.ID != m.ID {
			t.Fatalf("second decode: id %s, %v; first %s", m2.ID, err, m.ID)
		}
		_ = m.verify() // must not panic either
		_ = m.Body.Validate()
	})
}

// FuzzDecodeCatchUpRequest: decoding never panics and accepts only
// canonical input.
func FuzzDecodeCatchUpRequest(f *testing.F) {
	f.Add(encodeCatchUpRequest(CatchUpRequest{Topic: TopicMeter, From: Epoch, To: Epoch.Add(time.Hour), After: common.Hash{1}, Limit: 128}))
	f.Add(encodeCatchUpRequest(CatchUpRequest{Topic: TopicOffers, Limit: 1}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := decodeCatchUpRequest(raw)
		if err != nil {
			return
		}
		if again := encodeCatchUpRequest(r); !bytes.Equal(again, raw) {
			t.Fatalf("decoded request re-encodes differently:\n in %x\nout %x", raw, again)
		}
	})
}

// FuzzDecodeCatchUpHint: decoding never panics, accepts only canonical,
// bounded, non-empty input, and what it accepts the receiver can take
// or refuse without panicking.
func FuzzDecodeCatchUpHint(f *testing.F) {
	var full CatchUpHint
	for i := range full.Since {
		full.Since[i] = Epoch.Add(-time.Duration(i) * time.Minute)
	}
	f.Add(encodeCatchUpHint(full))
	f.Add(encodeCatchUpHint(meterHint(Epoch)))
	f.Add([]byte{})
	f.Add([]byte{0x18, 0x00})
	n := &Node{cfg: Config{Retention: DefaultRetention, MaxClockSkew: DefaultMaxClockSkew}, clock: NewFakeClock()}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := decodeCatchUpHint(raw)
		if err != nil {
			return
		}
		if len(raw) > maxCatchUpHint {
			t.Fatalf("decoded a hint of %d bytes", len(raw))
		}
		if again := encodeCatchUpHint(h); !bytes.Equal(again, raw) {
			t.Fatalf("decoded hint re-encodes differently:\n in %x\nout %x", raw, again)
		}
		from, err := n.hintFrom(h)
		floor := n.clock.Now().Add(-DefaultRetention)
		for topic, s := range from {
			if err != nil || kindOfTopic(topic) == 0 || s.Before(floor) || s.After(n.clock.Now().Add(DefaultMaxClockSkew)) {
				t.Fatalf("hint %x: %s from %v (err %v)", raw, topic, s, err)
			}
		}
	})
}

// FuzzDecodeAwardsRoot: the awards root body decoder never panics, and
// what it accepts re-encodes to a body that decodes to the same value
// (byte-exact canonicality is the envelope's check: FuzzDecodeEnvelope).
func FuzzDecodeAwardsRoot(f *testing.F) {
	f.Add(AwardsRoot{RequestID: common.Hash{1}, Root: common.Hash{2}, Awards: 3, Value: big.NewInt(1e15)}.appendBody(nil))
	f.Add(AwardsRoot{RequestID: common.Hash{1}, Root: common.Hash{2}}.appendBody(nil))
	f.Add([]byte{})
	f.Add([]byte{0x22, 0x01, 0x00})
	f.Add([]byte{0x22, 0x00}) // an explicitly empty value
	f.Fuzz(func(t *testing.T, raw []byte) {
		a, err := DecodeAwardsRootBody(raw)
		if err != nil {
			return
		}
		b, err := DecodeAwardsRootBody(a.appendBody(nil))
		if err != nil || b.RequestID != a.RequestID || b.Root != a.Root || b.Awards != a.Awards || b.Value.Cmp(a.Value) != 0 {
			t.Fatalf("%x: decoded %+v, re-encoded and decoded %+v (%v)", raw, a, b, err)
		}
		_ = a.Validate()
		_ = a.structHash(1)
	})
}
