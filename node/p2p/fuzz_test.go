package p2p

import (
	"bytes"
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
