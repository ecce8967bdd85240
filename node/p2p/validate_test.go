package p2p

import (
	"bytes"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/internal/tokenbucket"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
)

func peerOf(t testing.TB, i int) peer.ID {
	t.Helper()
	k, err := LibP2PKey(Key(i))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAddressOfPeerIsTheKeysAddress(t *testing.T) {
	got, err := addressOf(peerOf(t, 4))
	if want := ethcrypto.PubkeyToAddress(Key(4).PublicKey); err != nil || got != want {
		t.Errorf("addressOf = %s, %v; want %s", got, err, want)
	}
}

func TestCheck(t *testing.T) {
	clock := NewFakeClock()
	store := NewMemStore()
	c := &checker{
		signer: newSigner(TestDomain), clock: clock, store: store, maxSize: DefaultMaxMessageSize, skew: 30 * time.Second,
		freshness: map[Kind]time.Duration{KindOffer: 10 * time.Minute, KindRequest: 10 * time.Minute, KindMeter: 10 * time.Minute,
			KindAttestation: 10 * time.Minute, KindAward: time.Minute},
		authors: tokenbucket.New(1, 2, 100),
	}
	now := clock.Now()
	author, other := Key(1), Key(2)
	origin := peerOf(t, 1)
	bodies := func(seq int) []Body { return Bodies(author, now, seq) }
	sign := func(key int, b Body, created time.Time) []byte { return Sign(t, Key(key), b, created).Raw }
	// unchecked signs without Validate, as a buggy node would.
	unchecked := func(b Body) []byte {
		m := Message{Kind: b.Kind(), Author: ethcrypto.PubkeyToAddress(author.PublicKey), Created: now, Body: b}
		m.ID = c.signer.digest(b.structHash(uint64(now.UnixMilli())))
		sig, err := chain.Sign(author, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		m.Signature = sig
		return encodeEnvelope(m)
	}
	// forged: author 1's address on a message signed by key 2.
	forged := Sign(t, other, bodies(1)[2], now)
	forged.Author = ethcrypto.PubkeyToAddress(author.PublicKey)
	// An offer that names no device.
	noDevice := bodies(11)[0].(Offer)
	noDevice.Device = gridmint.DeviceKey{}
	seen := Sign(t, author, bodies(9)[1], now)
	if err := store.PutMessage(StoredMessage{ID: seen.ID, Topic: TopicRequests, Created: now, Received: now, Raw: seen.Raw}); err != nil {
		t.Fatal(err)
	}
	expiredOffer := bodies(8)[0].(Offer)
	expiredOffer.Expiry = now
	closedRequest := bodies(8)[1].(Request)
	closedRequest.GateClosure = now.Add(-time.Second)
	pastOffer := bodies(10)[0].(Offer) // valid when signed 3 h ago, expired since
	pastOffer.WindowStart, pastOffer.WindowEnd, pastOffer.Expiry = now.Add(-time.Hour).Truncate(time.Second), now.Truncate(time.Second), now.Add(-2*time.Hour).Truncate(time.Second)
	badChainSig := bodies(1)[3].(Attestation)
	badChainSig.ChainSignature = bytes.Clone(Bodies(other, now, 1)[3].(Attestation).ChainSignature)

	cases := []struct {
		name   string
		topic  string
		raw    []byte
		opts   checkOpts
		want   Reason
		result pubsub.ValidationResult
	}{
		{"valid meter claim", TopicMeter, sign(1, bodies(1)[2], now), checkOpts{origin: origin}, "", pubsub.ValidationAccept},
		{"valid at the skew bound", TopicOffers, sign(1, bodies(2)[0], now.Add(30*time.Second)), checkOpts{origin: origin}, "", pubsub.ValidationAccept},
		{"valid at the freshness bound", TopicAwards, sign(1, bodies(2)[4], now.Add(-time.Minute)), checkOpts{}, "", pubsub.ValidationAccept},
		{"oversized", TopicMeter, make([]byte, DefaultMaxMessageSize+1), checkOpts{}, ReasonOversized, pubsub.ValidationReject},
		{"malformed", TopicMeter, []byte("not an envelope"), checkOpts{}, ReasonMalformed, pubsub.ValidationReject},
		{"version 2", TopicMeter, append([]byte{0x08, 0x02}, sign(1, bodies(3)[2], now)[2:]...), checkOpts{}, ReasonVersion, pubsub.ValidationReject},
		{"offer on the meter topic", TopicMeter, sign(1, bodies(3)[0], now), checkOpts{}, ReasonWrongTopic, pubsub.ValidationReject},
		{"31 s in the future", TopicMeter, sign(1, bodies(4)[2], now.Add(31*time.Second)), checkOpts{}, ReasonFuture, pubsub.ValidationReject},
		{"award older than its 1 min window", TopicAwards, sign(1, bodies(4)[4], now.Add(-time.Minute-time.Millisecond)), checkOpts{}, ReasonStale, pubsub.ValidationIgnore},
		{"stale gossip is fine for catch-up", TopicAwards, sign(1, bodies(5)[4], now.Add(-time.Hour)), checkOpts{window: 24 * time.Hour}, "", pubsub.ValidationAccept},
		{"offer without a device key", TopicOffers, unchecked(noDevice), checkOpts{}, ReasonInvalidBody, pubsub.ValidationReject},
		{"invalid request", TopicRequests, unchecked(Request{Zone: "DE-LU", Power: 5, Direction: gridmint.DirectionUp}), checkOpts{}, ReasonInvalidBody, pubsub.ValidationReject},
		{"offer expired when signed", TopicOffers, sign(1, expiredOffer, now), checkOpts{}, ReasonInvalidBody, pubsub.ValidationReject},
		{"request whose gate had closed when signed", TopicRequests, sign(1, closedRequest, now), checkOpts{}, ReasonInvalidBody, pubsub.ValidationReject},
		{"an expired offer is fine history for catch-up", TopicOffers, sign(1, pastOffer, now.Add(-3*time.Hour)), checkOpts{window: 24 * time.Hour}, "", pubsub.ValidationAccept},
		{"forged signature", TopicMeter, encodeEnvelope(forged), checkOpts{}, ReasonBadSignature, pubsub.ValidationReject},
		{"chain signature by another key", TopicAttestations, sign(1, badChainSig, now), checkOpts{}, ReasonBadSignature, pubsub.ValidationReject},
		{"published by another peer", TopicMeter, sign(1, bodies(6)[2], now), checkOpts{origin: peerOf(t, 2)}, ReasonAuthorMismatch, pubsub.ValidationReject},
		{"already stored", TopicRequests, seen.Raw, checkOpts{origin: origin}, ReasonDuplicate, pubsub.ValidationIgnore},
		// The burst of 2 is spent by the two rate-limited accepts above.
		{"over the author's rate", TopicMeter, sign(1, bodies(7)[2], now), checkOpts{rateLimit: true}, "", pubsub.ValidationAccept},
		{"over the author's rate", TopicMeter, sign(1, bodies(8)[2], now), checkOpts{rateLimit: true}, "", pubsub.ValidationAccept},
		{"over the author's rate", TopicMeter, sign(1, bodies(10)[2], now), checkOpts{rateLimit: true}, ReasonRateLimited, pubsub.ValidationIgnore},
		{"another author has its own bucket", TopicMeter, sign(2, Bodies(other, now, 11)[2], now), checkOpts{rateLimit: true}, "", pubsub.ValidationAccept},
	}
	for _, tc := range cases {
		_, got, detail := c.check(tc.topic, tc.raw, tc.opts)
		if got != tc.want {
			t.Errorf("%s: reason %q (%v), want %q", tc.name, got, detail, tc.want)
			continue
		}
		if got != "" && got.result() != tc.result {
			t.Errorf("%s: verdict %v, want %v", tc.name, got.result(), tc.result)
		}
	}
	clock.Add(time.Second) // one token back
	if _, got, detail := c.check(TopicMeter, sign(1, bodies(12)[2], clock.Now()), checkOpts{rateLimit: true}); got != "" {
		t.Errorf("after a second the author may send again: got %q (%v)", got, detail)
	}
}

func TestPublishRefusesWhatPeersWouldRefuse(t *testing.T) {
	clock := NewFakeClock()
	cfg := NodeConfig(1, NewMemStore(), clock)
	cfg.AuthorBurst = 2
	n := StartNode(t, cfg)
	rec := Record(n)
	b := Bodies(Key(1), clock.Now(), 1)
	m := MustPublish(t, n, b[2])
	WaitFor(t, "own message handed to the handler", func() bool { return rec.Has(m.ID) })
	cases := []struct {
		name string
		body Body
		code string
	}{
		{"the same claim again", b[2], gridmint.EConflict},
		{"fractional watts", Request{Zone: "DE-LU", WindowStart: b[1].(Request).WindowStart, WindowEnd: b[1].(Request).WindowEnd,
			Power: 1.5, Direction: gridmint.DirectionUp, GateClosure: b[1].(Request).GateClosure}, gridmint.EInvalid},
		{"an offer without a device key", func() Body { o := b[0].(Offer); o.Device = gridmint.DeviceKey{}; return o }(), gridmint.EInvalid},
		{"nil body", nil, gridmint.EInvalid},
	}
	for _, c := range cases {
		_, err := n.Publish(t.Context(), c.body)
		if got := gridmint.ErrorCode(err); got != c.code {
			t.Errorf("%s: error %v (code %q), want code %q", c.name, err, got, c.code)
		}
	}
	MustPublish(t, n, b[1]) // the second token
	if _, err := n.Publish(t.Context(), b[4]); gridmint.ErrorCode(err) != gridmint.EUnavailable {
		t.Errorf("third message in the burst: %v, want rate limited", err)
	}
	if got := n.Stats().Topics[TopicMeter].Published; got != 1 {
		t.Errorf("meter published = %d, want 1", got)
	}
	if rec.Count(m.ID) != 1 {
		t.Errorf("own message delivered %d times, want once", rec.Count(m.ID))
	}
}

func TestNodeDecode(t *testing.T) {
	n := StartNode(t, NodeConfig(1, NewMemStore(), NewFakeClock()))
	want := Sign(t, Key(2), Bodies(Key(2), Epoch, 1)[4], Epoch)
	got, err := n.Decode(want.Raw)
	if err != nil || got.ID != want.ID || got.Author != want.Author {
		t.Errorf("Decode = %s by %s, %v; want %s by %s", got.ID, got.Author, err, want.ID, want.Author)
	}
	forged := want
	forged.Author = n.Address()
	if _, err := n.Decode(encodeEnvelope(forged)); err == nil {
		t.Error("Decode accepted a forged signature")
	}
	cfg := NodeConfig(4, NewMemStore(), NewFakeClock())
	cfg.Domain = NewDomain(big.NewInt(1), common.Address{})
	mainnet := StartNode(t, cfg)
	if _, err := mainnet.Decode(want.Raw); err == nil {
		t.Error("a node of another chain accepted the message: domains must separate networks")
	}
}
