package p2p

import (
	"bytes"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/math"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/internal/tokenbucket"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
)

// sampleInterval is an hour of five-minute steps ending before now, with
// negative (export) and zero steps.
func sampleInterval(now time.Time) IntervalEnergy {
	e := IntervalEnergy{Device: gridmint.DeviceKey{7}, Request: gridmint.RequestID{9},
		Start: now.Truncate(time.Hour).Add(-time.Hour), Step: 5 * time.Minute}
	for i := range 12 {
		e.Energy = append(e.Energy, gridmint.MWh(int64(i-4)*41_667))
	}
	return e
}

func TestIntervalEnergyRoundTrip(t *testing.T) {
	e := sampleInterval(Epoch)
	m := Sign(t, Key(1), e, Epoch)
	got, err := decodeEnvelope(m.Raw, newSigner(TestDomain))
	if err != nil {
		t.Fatal(err)
	}
	b, ok := got.Body.(IntervalEnergy)
	if !ok || got.ID != m.ID || b.Device != e.Device || b.Request != e.Request || !b.Start.Equal(e.Start) || b.Step != e.Step ||
		len(b.Energy) != len(e.Energy) {
		t.Fatalf("decoded %#v (id %s), want %#v (id %s)", got.Body, got.ID, e, m.ID)
	}
	for i := range e.Energy {
		if b.Energy[i] != e.Energy[i] {
			t.Errorf("energy[%d] = %v, want %v", i, b.Energy[i], e.Energy[i])
		}
	}
	// The meter topic's other body still decodes as before.
	mc := Sign(t, Key(1), Bodies(Key(1), Epoch, 1)[2], Epoch)
	if got, err := decodeEnvelope(mc.Raw, newSigner(TestDomain)); err != nil || got.ID != mc.ID {
		t.Fatalf("meter claim: %v", err)
	} else if _, ok := got.Body.(MeterClaim); !ok {
		t.Fatalf("meter claim decoded as %T", got.Body)
	}
	// A full day's worst case fits the default message size.
	day := IntervalEnergy{Device: gridmint.DeviceKey{1}, Request: gridmint.RequestID{1}, Start: Epoch.Add(-48 * time.Hour), Step: 5 * time.Minute}
	for range MaxIntervalSteps {
		day.Energy = append(day.Energy, -gridmint.EnergyAt(10_000_000, 5*time.Minute))
	}
	if n := len(Sign(t, Key(1), day, Epoch).Raw); n > DefaultMaxMessageSize {
		t.Errorf("a day of intervals is %d bytes, over %d", n, DefaultMaxMessageSize)
	}
}

func TestIntervalEnergyDigestMatchesGoEthereum(t *testing.T) {
	m := Sign(t, Key(3), sampleInterval(Epoch), Epoch.Add(42))
	b := m.Body.(IntervalEnergy)
	energy := make([]any, len(b.Energy))
	for i, v := range b.Energy {
		energy[i] = big.NewInt(int64(v))
	}
	td := apitypes.TypedData{
		Types: apitypes.Types{"EIP712Domain": eip712Domain, "IntervalEnergy": {{Name: "device", Type: "bytes32"}, {Name: "request", Type: "bytes32"},
			{Name: "start", Type: "uint64"}, {Name: "step", Type: "uint64"}, {Name: "energy", Type: "int64[]"}, {Name: "created", Type: "uint64"}}},
		PrimaryType: "IntervalEnergy",
		Message: map[string]any{"device": b.Device.String(), "request": b.Request.String(), "start": u(uint64(b.Start.Unix())),
			"step": u(uint64(b.Step / time.Second)), "energy": energy, "created": u(uint64(m.Created.UnixMilli()))},
		Domain: apitypes.TypedDataDomain{Name: TestDomain.Name, Version: TestDomain.Version, ChainId: (*math.HexOrDecimal256)(TestDomain.ChainID),
			VerifyingContract: TestDomain.Contract.Hex()},
	}
	want, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != common.BytesToHash(want) {
		t.Errorf("digest %s, go-ethereum %x", m.ID, want)
	}
	if got := common.BytesToHash(td.TypeHash("IntervalEnergy")); got != intervalEnergyTypeHash {
		t.Errorf("type hash %s, go-ethereum %s", intervalEnergyTypeHash, got)
	}
}

func TestIntervalEnergyValidate(t *testing.T) {
	ok := sampleInterval(Epoch)
	mod := func(f func(*IntervalEnergy)) IntervalEnergy {
		e := ok
		e.Energy = append([]gridmint.MWh(nil), ok.Energy...)
		f(&e)
		return e
	}
	bad := map[string]IntervalEnergy{
		"zero device":     mod(func(e *IntervalEnergy) { e.Device = gridmint.DeviceKey{} }),
		"zero request":    mod(func(e *IntervalEnergy) { e.Request = gridmint.RequestID{} }),
		"no steps":        mod(func(e *IntervalEnergy) { e.Energy = nil }),
		"too many steps":  mod(func(e *IntervalEnergy) { e.Energy = make([]gridmint.MWh, MaxIntervalSteps+1) }),
		"7 min step":      mod(func(e *IntervalEnergy) { e.Step = 7 * time.Minute }),
		"sub-second step": mod(func(e *IntervalEnergy) { e.Step = time.Second / 2 }),
		"off-step start":  mod(func(e *IntervalEnergy) { e.Start = e.Start.Add(time.Minute) }),
		"sub-second":      mod(func(e *IntervalEnergy) { e.Start = e.Start.Add(time.Millisecond) }),
		"implausible":     mod(func(e *IntervalEnergy) { e.Energy[3] = 1 << 40 }),
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for name, e := range bad {
		if err := e.Validate(); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("%s: %v, want EInvalid", name, err)
		}
	}
}

func TestCheckIntervalEnergy(t *testing.T) {
	clock := NewFakeClock()
	c := &checker{
		signer: newSigner(TestDomain), clock: clock, store: NewMemStore(), maxSize: DefaultMaxMessageSize, skew: 30 * time.Second,
		freshness: map[Kind]time.Duration{KindMeter: 10 * time.Minute}, authors: tokenbucket.New(1, 2, 100),
	}
	now := clock.Now()
	e := sampleInterval(now)
	early := e
	early.Start = now.Truncate(time.Hour) // its last step ends at now + 1 h
	// A body mixing both messages' fields parses as neither.
	mixed := cat(e.appendBody(nil), field(1, []byte{1}))
	env := Sign(t, Key(1), e, now)
	mixedRaw := bytes.Replace(env.Raw, e.appendBody(nil), mixed, 1)
	for _, tc := range []struct {
		name   string
		raw    []byte
		want   Reason
		result pubsub.ValidationResult
	}{
		{"valid", Sign(t, Key(1), e, now).Raw, "", pubsub.ValidationAccept},
		{"signed before its steps ended", Sign(t, Key(1), early, now).Raw, ReasonInvalidBody, pubsub.ValidationReject},
		{"fields of both bodies", mixedRaw, ReasonMalformed, pubsub.ValidationReject},
	} {
		_, got, detail := c.check(TopicMeter, tc.raw, checkOpts{})
		if got != tc.want {
			t.Errorf("%s: reason %q (%v), want %q", tc.name, got, detail, tc.want)
		}
	}
}

// FuzzDecodeIntervalEnergy: the body decoder never panics; what it
// accepts re-encodes to a body that decodes to the same message (the
// envelope decoder then refuses any input that is not that encoding:
// FuzzDecodeEnvelope); and a body that validates signs and decodes again
// with the same ID.
func FuzzDecodeIntervalEnergy(f *testing.F) {
	f.Add(sampleInterval(Epoch).appendBody(nil))
	f.Add(IntervalEnergy{Device: gridmint.DeviceKey{1}, Request: gridmint.RequestID{2}, Start: Epoch, Step: time.Hour, Energy: []gridmint.MWh{0}}.appendBody(nil))
	f.Add([]byte{})
	f.Add(field(11, []byte{1}))
	f.Add(cat(field(11, make([]byte, 32)), field(15, []byte{0xff, 0xff})))
	f.Add(field(8, make([]byte, 20))) // a meter claim's node alone
	key := Key(1)
	s := newSigner(TestDomain)
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := DecodeIntervalEnergyBody(in)
		if err != nil {
			return
		}
		again := e.appendBody(nil)
		if len(again) == 0 {
			return // every field zero: an empty body, which is a MeterClaim's
		}
		e2, err := DecodeIntervalEnergyBody(again)
		if err != nil || !bytes.Equal(e2.appendBody(nil), again) {
			t.Fatalf("re-encoded body %x: %v, or not stable", again, err)
		}
		if e.Validate() != nil {
			return
		}
		m, err := s.sign(key, e, e.End().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		m2, err := decodeEnvelope(m.Raw, s)
		if err != nil || m2.ID != m.ID || m2.Author != ethcrypto.PubkeyToAddress(key.PublicKey) {
			t.Fatalf("envelope of a valid body: %v", err)
		}
	})
}
