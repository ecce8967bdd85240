package p2p

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	s := newSigner(TestDomain)
	for _, body := range Bodies(Key(1), Epoch, 1) {
		t.Run(body.Kind().String(), func(t *testing.T) {
			want := Sign(t, Key(1), body, Epoch.Add(1234*time.Millisecond))
			got, err := decodeEnvelope(want.Raw, s)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.ID != want.ID || got.Kind != want.Kind || got.Author != want.Author || !got.Created.Equal(want.Created) {
				t.Errorf("header: got id %s kind %v author %s created %v, want %s %v %s %v",
					got.ID, got.Kind, got.Author, got.Created, want.ID, want.Kind, want.Author, want.Created)
			}
			if !reflect.DeepEqual(got.Body, want.Body) {
				t.Errorf("body:\n got %+v\nwant %+v", got.Body, want.Body)
			}
			if !bytes.Equal(got.Signature, want.Signature) {
				t.Errorf("signature %x, want %x", got.Signature, want.Signature)
			}
			if err := got.verify(); err != nil {
				t.Errorf("verify: %v", err)
			}
			if len(want.Raw) > 400 {
				t.Errorf("%v envelope is %d bytes; the encoding should stay compact", body.Kind(), len(want.Raw))
			}
		})
	}
}

// TestEnvelopeGolden pins the wire format and the signed digest: a change
// here breaks every deployed node, so it must be deliberate.
func TestEnvelopeGolden(t *testing.T) {
	const (
		wantRaw = "080110031a14688297cb419ba89d5c066325f31d4fefb5f82e1a2080b4b898e8332a9b010a20d38f6a69fe027384e5dfa9738a3ddb9b422525f5b91cae60393a4e0edd0501511214688297cb419ba89d5c066325f31d4fefb5f82e1a1a2044452d4c55000000000000000000000000000000000000000000000000000000200128c3971e30a1063a20fd029ed86c6d9c21dbf1475e524d5c09f7f244e8a809705a5e605165f186f21f4214688297cb419ba89d5c066325f31d4fefb5f82e1a3241f401a27a18460056b986b0550d57f7ce7bb5ab32709664839ee22a8f977100d751ed323c7693e631961823e2b8a61a8fd801b10f53fda187a0e8e62b8de59ba01b"
		wantID  = "0x0d34b5f7c5208de5a25626c4fd45aa754d747159d0bf4e7a07da13d584771775"
	)
	m := Sign(t, Key(1), Bodies(Key(1), Epoch, 1)[2], Epoch)
	if got := hex.EncodeToString(m.Raw); got != wantRaw {
		t.Errorf("meter envelope\n got %s\nwant %s", got, wantRaw)
	}
	if got := m.ID.Hex(); got != wantID {
		t.Errorf("meter envelope id %s, want %s", got, wantID)
	}
}

// field encodes one protobuf field for hand-built inputs.
func field(n protowire.Number, v any) []byte {
	switch x := v.(type) {
	case uint64:
		return protowire.AppendVarint(protowire.AppendTag(nil, n, protowire.VarintType), x)
	case []byte:
		return protowire.AppendBytes(protowire.AppendTag(nil, n, protowire.BytesType), x)
	}
	panic("field type")
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeEnvelopeRejectsNonCanonical(t *testing.T) {
	s := newSigner(TestDomain)
	m := Sign(t, Key(1), Bodies(Key(1), Epoch, 1)[2], Epoch)
	body := m.Body.appendBody(nil)
	ms := uint64(m.Created.UnixMilli())
	version, kind, author := field(1, uint64(1)), field(2, uint64(KindMeter)), field(3, m.Author.Bytes())
	created, bodyF, sig := field(4, ms), field(5, body), field(6, m.Signature)
	if got := cat(version, kind, author, created, bodyF, sig); !bytes.Equal(got, m.Raw) {
		t.Fatalf("hand-built envelope differs from the encoder's:\n%x\n%x", got, m.Raw)
	}
	att := Attestation{Subject: common.Hash{1}, SubjectKind: SubjectMeterClaim, Verdict: VerdictAccept}.appendBody(nil)
	award := Bodies(Key(1), Epoch, 1)[4].(AwardNotice)
	awardBody := award.appendBody(nil)
	priceAt := bytes.Index(awardBody, field(7, award.Price.Bytes()))
	offerBody := Bodies(Key(1), Epoch, 1)[0].appendBody(nil) // field 1 (the key) is its first 34 bytes
	if !bytes.Equal(offerBody[:2], []byte{0x0a, 32}) {
		t.Fatalf("offer body starts %x, want field 1 of 32 bytes", offerBody[:2])
	}

	cases := []struct {
		name    string
		raw     []byte
		wantErr error // nil: any error
	}{
		{"empty", nil, errVersion},
		{"trailing zero byte", append(bytes.Clone(m.Raw), 0), nil},
		{"truncated", m.Raw[:len(m.Raw)-1], nil},
		{"non-minimal varint", cat([]byte{0x08, 0x81, 0x00}, kind, author, created, bodyF, sig), errNonCanonical},
		{"explicit zero field", cat(version, kind, author, created, field(5, cat(body, field(8, uint64(0)))), sig), nil},
		{"explicit zero reason", cat(version, field(2, uint64(KindAttestation)), author, created, field(5, cat(att, field(4, uint64(0)))), sig), nil},
		{"repeated field", cat(version, version, kind, author, created, bodyF, sig), nil},
		{"fields out of order", cat(kind, version, author, created, bodyF, sig), nil},
		{"unknown field", cat(version, kind, author, created, bodyF, sig, field(7, uint64(1))), nil},
		{"wrong wire type", cat(version, kind, field(3, uint64(5)), created, bodyF, sig), nil},
		{"author of 19 bytes", cat(version, kind, field(3, m.Author.Bytes()[1:]), created, bodyF, sig), nil},
		{"signature of 64 bytes", cat(version, kind, author, created, bodyF, field(6, m.Signature[:64])), nil},
		{"no signature", cat(version, kind, author, created, bodyF), nil},
		{"version 2", cat(field(1, uint64(2)), kind, author, created, bodyF, sig), errVersion},
		{"no version", cat(kind, author, created, bodyF, sig), errVersion},
		{"kind 99", cat(version, field(2, uint64(99)), author, created, bodyF, sig), errKind},
		{"kind 256+3", cat(version, field(2, uint64(256+3)), author, created, bodyF, sig), errKind},
		{"no kind", cat(version, author, created, bodyF, sig), errKind},
		{"created beyond int64", cat(version, kind, author, field(4, uint64(math.MaxUint64)), bodyF, sig), nil},
		{"no created", cat(version, kind, author, bodyF, sig), nil},
		{"body of another kind", cat(version, field(2, uint64(KindOffer)), author, created, bodyF, sig), nil},
		{"price with a leading zero", cat(version, field(2, uint64(KindAward)), author, created,
			field(5, cat(awardBody[:priceAt], field(7, append([]byte{0}, award.Price.Bytes()...)))), sig), errNonCanonical},
		{"zone not UTF-8", cat(version, field(2, uint64(KindRequest)), author, created, field(5, field(1, []byte{0xff, 0xfe})), sig), nil},
		// Offers name a 32-byte device key, never a device id (which
		// carries the vendor's serial).
		{"offer naming a device id", cat(version, field(2, uint64(KindOffer)), author, created,
			field(5, cat(field(1, []byte("0x52908400098527886E0F7030069857D2E4169EE7/goe/200001")), offerBody[34:])), sig), nil},
		{"offer device key of 31 bytes", cat(version, field(2, uint64(KindOffer)), author, created,
			field(5, cat(field(1, offerBody[2:33]), offerBody[34:])), sig), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeEnvelope(c.raw, s)
			if err == nil {
				t.Fatalf("decoded %x; want an error", c.raw)
			}
			if c.wantErr != nil && !errors.Is(err, c.wantErr) {
				t.Errorf("error %v; want %v", err, c.wantErr)
			}
		})
	}
}

func TestCatchUpRequestCodec(t *testing.T) {
	full := CatchUpRequest{Topic: TopicMeter, From: Epoch, To: Epoch.Add(time.Hour), After: common.Hash{0xab, 1}, Limit: 128}
	for _, want := range []CatchUpRequest{full, {Topic: TopicOffers, From: Epoch.Add(time.Millisecond), Limit: 1}} {
		raw := encodeCatchUpRequest(want)
		got, err := decodeCatchUpRequest(raw)
		if err != nil {
			t.Fatalf("decode %+v: %v", want, err)
		}
		if got.Topic != want.Topic || !got.From.Equal(want.From) || !got.To.Equal(want.To) || got.After != want.After || got.Limit != want.Limit {
			t.Errorf("round trip: got %+v, want %+v", got, want)
		}
	}
	topic, from, limit := field(1, []byte(TopicMeter)), field(2, uint64(Epoch.UnixMilli())), field(5, uint64(10))
	bad := []struct {
		name string
		raw  []byte
	}{
		{"explicit zero limit", cat(topic, from, field(5, uint64(0)))},
		{"zero cursor spelled out", cat(topic, from, field(4, make([]byte, 32)), limit)},
		{"cursor of 31 bytes", cat(topic, from, field(4, make([]byte, 31)), limit)},
		{"unknown field", cat(topic, from, limit, field(6, uint64(1)))},
		{"out of order", cat(from, topic, limit)},
		{"non-minimal varint", cat(topic, from, []byte{0x28, 0x8a, 0x00})},
		{"oversized", cat(field(1, []byte(strings.Repeat("x", 200))), limit)},
		{"from beyond int64", cat(topic, field(2, uint64(math.MaxUint64)), limit)},
	}
	for _, c := range bad {
		if _, err := decodeCatchUpRequest(c.raw); err == nil {
			t.Errorf("%s: decoded %x; want an error", c.name, c.raw)
		}
	}
}
