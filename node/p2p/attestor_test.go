package p2p

import (
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/internal/tokenbucket"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// attestorList is an AttestorSet for tests.
type attestorList []common.Address

func (l attestorList) IsAttestor(a common.Address) bool { return slices.Contains(l, a) }

func addrOf(i int) common.Address { return ethcrypto.PubkeyToAddress(Key(i).PublicKey) }

// batchAttestation is key i's accepted attestation of subject (an issue
// or reward batch digest), with its chain signature.
func batchAttestation(t testing.TB, i int, kind SubjectKind, subject common.Hash) Attestation {
	t.Helper()
	sig, err := chain.Sign(Key(i), subject)
	if err != nil {
		t.Fatal(err)
	}
	return Attestation{Subject: subject, SubjectKind: kind, Verdict: VerdictAccept, ChainSignature: sig}
}

func newTestChecker(clock *FakeClock, attestors AttestorSet) *checker {
	return &checker{
		signer: newSigner(TestDomain), clock: clock, store: NewMemStore(), maxSize: DefaultMaxMessageSize, skew: DefaultMaxClockSkew,
		freshness: map[Kind]time.Duration{KindAttestation: DefaultFreshness},
		authors:   tokenbucket.New(100, 100, 100), attestors: attestors,
	}
}

// Only a registered attestor's batch attestation is accepted; other
// attestations and other kinds are not the registry's business.
func TestBatchAttestationNeedsARegisteredAttestor(t *testing.T) {
	clock := NewFakeClock()
	now := clock.Now()
	c := newTestChecker(clock, attestorList{addrOf(1), addrOf(3)})
	subject := ethcrypto.Keccak256Hash([]byte("issue batch digest"))
	sign := func(i int, b Body) []byte { return Sign(t, Key(i), b, now).Raw }
	cases := []struct {
		name  string
		topic string
		raw   []byte
		want  Reason
	}{
		{"issue batch by an attestor", TopicAttestations, sign(1, batchAttestation(t, 1, SubjectIssueBatch, subject)), ""},
		{"reward batch by an attestor", TopicAttestations, sign(3, batchAttestation(t, 3, SubjectRewardBatch, subject)), ""},
		{"issue batch by a non-attestor", TopicAttestations, sign(2, batchAttestation(t, 2, SubjectIssueBatch, subject)), ReasonNotAttestor},
		{"reward batch by a non-attestor", TopicAttestations, sign(2, batchAttestation(t, 2, SubjectRewardBatch, subject)), ReasonNotAttestor},
		{"a non-attestor's rejection of a batch", TopicAttestations, sign(2, Attestation{Subject: subject, SubjectKind: SubjectIssueBatch, Verdict: VerdictReject, Reason: RejectImplausible}), ReasonNotAttestor},
		{"a non-attestor's verdict on a meter claim", TopicAttestations, sign(2, Attestation{Subject: subject, SubjectKind: SubjectMeterClaim, Verdict: VerdictAccept}), ""},
		{"a non-attestor's meter claim", TopicMeter, sign(2, Bodies(Key(2), now, 1)[2]), ""},
		// The signature is checked first: a forgery naming an attestor
		// is a bad signature, not an attestor's message.
		{"chain signature of a non-attestor under an attestor's envelope", TopicAttestations, sign(1, batchAttestation(t, 2, SubjectIssueBatch, subject)), ReasonBadSignature},
	}
	for _, tc := range cases {
		_, got, detail := c.check(tc.topic, tc.raw, checkOpts{})
		if got != tc.want {
			t.Errorf("%s: reason %q (%v), want %q", tc.name, got, detail, tc.want)
		}
	}
	if r := ReasonNotAttestor.result(); r != pubsub.ValidationIgnore {
		t.Errorf("not_attestor verdict %v, want ignore: peers may read the registry at different blocks", r)
	}

	open := newTestChecker(clock, nil)
	if _, got, detail := open.check(TopicAttestations, cases[2].raw, checkOpts{}); got != "" {
		t.Errorf("without an attestor set every author is admitted; got %q (%v)", got, detail)
	}
}

// Over gossip: a non-attestor's batch attestation is refused, counted,
// not stored and not handed to the handler; an attestor's arrives.
func TestGossipRefusesNonAttestorBatchAttestations(t *testing.T) {
	clock := NewFakeClock()
	store := NewMemStore()
	cfg := NodeConfig(1, store, clock)
	cfg.Attestors = attestorList{addrOf(1), addrOf(70)}
	n := StartNode(t, cfg)
	rec := Record(n)
	subject := ethcrypto.Keccak256Hash([]byte("issue batch digest"))

	outsider := NewRawPeer(t, Key(71))
	outsider.Connect(t, n)
	bad := Sign(t, outsider.Key, batchAttestation(t, 71, SubjectIssueBatch, subject), clock.Now())
	outsider.Publish(t, TopicAttestations, bad.Raw)
	WaitFor(t, "the non-attestor's attestation refused", func() bool {
		return Refused(n, TopicAttestations, ReasonNotAttestor) == 1
	})

	attestor := NewRawPeer(t, Key(70))
	attestor.Connect(t, n)
	good := Sign(t, attestor.Key, batchAttestation(t, 70, SubjectIssueBatch, subject), clock.Now())
	attestor.Publish(t, TopicAttestations, good.Raw)
	WaitFor(t, "the attestor's attestation", func() bool { return rec.Has(good.ID) })

	if rec.Has(bad.ID) {
		t.Error("the non-attestor's attestation reached the handler")
	}
	if seen, _ := store.HasMessage(bad.ID); seen {
		t.Error("the non-attestor's attestation was stored")
	}
	if s := n.Stats().Topics[TopicAttestations]; s.Ignored[ReasonNotAttestor] != 1 || s.Rejected[ReasonNotAttestor] != 0 {
		t.Errorf("counted as ignored %d, rejected %d; want ignored once", s.Ignored[ReasonNotAttestor], s.Rejected[ReasonNotAttestor])
	}
}

// FuzzBatchAttestationCheck: whatever the checker accepts as a batch
// attestation is by a registered attestor, and its chain signature over
// the subject recovers to that attestor: what the contracts will count.
func FuzzBatchAttestationCheck(f *testing.F) {
	clock := NewFakeClock()
	now := clock.Now()
	subject := ethcrypto.Keccak256Hash([]byte("batch"))
	for _, i := range []int{1, 2} {
		for _, k := range []SubjectKind{SubjectIssueBatch, SubjectRewardBatch, SubjectMeterClaim} {
			a := batchAttestation(f, i, SubjectIssueBatch, subject)
			a.SubjectKind = k
			if k == SubjectMeterClaim {
				a.ChainSignature = nil
			}
			f.Add(Sign(f, Key(i), a, now).Raw)
		}
	}
	f.Add(Sign(f, Key(1), Attestation{Subject: subject, SubjectKind: SubjectRewardBatch, Verdict: VerdictReject, Reason: RejectOther}, now).Raw)
	f.Add([]byte{})
	attestors := attestorList{addrOf(1)}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := newTestChecker(clock, attestors) // fresh: no replay or rate state between inputs
		m, reason, _ := c.check(TopicAttestations, raw, checkOpts{})
		if reason != "" {
			return
		}
		a, ok := m.Body.(Attestation)
		if !ok {
			t.Fatalf("accepted a %v on the attestations topic", m.Kind)
		}
		if a.SubjectKind != SubjectIssueBatch && a.SubjectKind != SubjectRewardBatch {
			return
		}
		if !attestors.IsAttestor(m.Author) {
			t.Fatalf("accepted a batch attestation by %s, not an attestor", m.Author)
		}
		if a.Verdict == VerdictAccept {
			got, err := chain.Recover(a.Subject, a.ChainSignature)
			if err != nil || got != m.Author {
				t.Fatalf("accepted chain signature recovers to %s (%v), author %s", got, err, m.Author)
			}
		}
	})
}
