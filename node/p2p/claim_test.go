package p2p

import (
	"bytes"
	"testing"

	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

func TestRECClaimRoundTrip(t *testing.T) {
	addr := ethcrypto.PubkeyToAddress(Key(1).PublicKey)
	c := SampleRECClaim(addr, Epoch, 3)
	c.Location = gridmint.CoarseLocation{LatTenths: -337, LonTenths: -1512} // negative both ways
	c.Profile[0] = 0                                                        // zeros inside the packed profile
	c.CounterEnd = c.CounterStart + c.Profile.Sum()
	c.Wh = gridmint.Wh((c.CarryIn + c.CounterEnd - c.CounterStart) / 1000)
	m := Sign(t, Key(1), c, Epoch)
	got, err := decodeEnvelope(m.Raw, newSigner(TestDomain))
	if err != nil {
		t.Fatal(err)
	}
	if got.Body.(RECClaim) != c || got.ID != m.ID {
		t.Fatalf("decoded %+v, want %+v", got.Body, c)
	}
	if err := got.verify(); err != nil {
		t.Fatal(err)
	}
	// Every field is covered by the signature: change one, the id moves.
	d := c
	d.Profile[5]++
	d.Profile[6]--
	if d.structHash(1) == c.structHash(1) {
		t.Error("the profile is not in the struct hash")
	}
}

// A claim must be signed by the node it names, after its hour ended.
func TestRECClaimRules(t *testing.T) {
	clock := NewFakeClock()
	c := newTestChecker(clock, nil)
	c.freshness[KindRECClaim] = DefaultClaimFreshness
	now := clock.Now()
	a1 := ethcrypto.PubkeyToAddress(Key(1).PublicKey)
	own := SampleRECClaim(a1, now, 1)
	if _, r, err := c.check(TopicClaims, Sign(t, Key(1), own, now).Raw, checkOpts{}); r != "" {
		t.Fatalf("own claim: %s %v", r, err)
	}
	// Node 2 signs a claim naming node 1 (a claim for another node's device).
	foreign := SampleRECClaim(a1, now, 2)
	if _, r, _ := c.check(TopicClaims, Sign(t, Key(2), foreign, now).Raw, checkOpts{}); r != ReasonNotClaimant || r.result() != pubsub.ValidationReject {
		t.Errorf("foreign claim: reason %q (%v), want %q rejected", r, r.result(), ReasonNotClaimant)
	}
	early := SampleRECClaim(a1, now, 3)
	early.Hour = gridmint.HourOf(now)
	if _, r, _ := c.check(TopicClaims, Sign(t, Key(1), early, now).Raw, checkOpts{}); r != ReasonInvalidBody {
		t.Errorf("claim signed inside its hour: reason %q, want %q", r, ReasonInvalidBody)
	}
	// Replay: the same envelope again once stored.
	m := Sign(t, Key(1), SampleRECClaim(a1, now, 4), now)
	if err := c.store.PutMessage(StoredMessage{ID: m.ID, Topic: TopicClaims, Created: now, Received: now, Raw: m.Raw}); err != nil {
		t.Fatal(err)
	}
	if _, r, _ := c.check(TopicClaims, m.Raw, checkOpts{}); r != ReasonDuplicate {
		t.Errorf("replayed claim: reason %q, want %q", r, ReasonDuplicate)
	}
}

// FuzzDecodeRECClaim: the claim body decoder never panics, and what it
// accepts re-encodes to the same bytes (one claim, one encoding).
func FuzzDecodeRECClaim(f *testing.F) {
	addr := ethcrypto.PubkeyToAddress(Key(1).PublicKey)
	for i := range 3 {
		f.Add(SampleRECClaim(addr, Epoch, i).appendBody(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{0x5a, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := DecodeRECClaimBody(raw)
		if err != nil {
			return
		}
		if again := c.appendBody(nil); !bytes.Equal(again, raw) {
			// Accepted by the body decoder but not canonical: the
			// envelope decoder's re-encoding refuses it, as long as the
			// re-encoding is stable.
			c2, err := DecodeRECClaimBody(again)
			if err != nil || c2 != c {
				t.Fatalf("re-encoding does not decode to the same claim: %v\n in %x\nout %x", err, raw, again)
			}
		}
		_ = c.Validate()
		_ = c.structHash(1)
	})
}
