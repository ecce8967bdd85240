package p2p

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
	"github.com/gridmint/gridmint/chain"
)

// Every envelope's ID must equal go-ethereum's generic EIP-712 digest of
// the same typed data, so wallets display it and Solidity verifies it.

func u(x uint64) *math.HexOrDecimal256 { return math.NewHexOrDecimal256(int64(x)) }

var (
	eip712Domain = []apitypes.Type{
		{Name: "name", Type: "string"}, {Name: "version", Type: "string"},
		{Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"},
	}
	claimFields = []apitypes.Type{{Name: "device", Type: "bytes32"}, {Name: "node", Type: "address"}, {Name: "owner", Type: "address"}, {Name: "zone", Type: "bytes32"},
		{Name: "technology", Type: "uint8"}, {Name: "hour", Type: "uint64"}, {Name: "wh", Type: "uint64"}, {Name: "readingsRoot", Type: "bytes32"}}
	awardFields712 = []apitypes.Type{{Name: "requestId", Type: "bytes32"}, {Name: "offerId", Type: "bytes32"}, {Name: "provider", Type: "address"},
		{Name: "windowStart", Type: "uint64"}, {Name: "windowEnd", Type: "uint64"}, {Name: "watts", Type: "uint64"}, {Name: "price", Type: "uint256"}}
)

// typedData is m as go-ethereum typed data.
func typedData(t *testing.T, m Message) (apitypes.TypedData, string) {
	created := u(uint64(m.Created.UnixMilli()))
	types := apitypes.Types{"EIP712Domain": eip712Domain}
	var primary string
	var msg apitypes.TypedDataMessage
	switch b := m.Body.(type) {
	case Offer:
		primary = "Offer"
		types[primary] = []apitypes.Type{{Name: "device", Type: "bytes32"}, {Name: "zone", Type: "string"},
			{Name: "windowStart", Type: "uint64"}, {Name: "windowEnd", Type: "uint64"}, {Name: "watts", Type: "uint64"},
			{Name: "direction", Type: "string"}, {Name: "floorPrice", Type: "uint64"}, {Name: "baseline", Type: "string"},
			{Name: "expiry", Type: "uint64"}, {Name: "created", Type: "uint64"}}
		msg = map[string]any{"device": b.Device.String(), "zone": b.Zone, "windowStart": u(uint64(b.WindowStart.Unix())),
			"windowEnd": u(uint64(b.WindowEnd.Unix())), "watts": u(uint64(b.Power)), "direction": string(b.Direction),
			"floorPrice": u(uint64(b.FloorPrice)), "baseline": string(b.Baseline), "expiry": u(uint64(b.Expiry.Unix())), "created": created}
	case Request:
		primary = "Request"
		types[primary] = []apitypes.Type{{Name: "zone", Type: "string"}, {Name: "windowStart", Type: "uint64"},
			{Name: "windowEnd", Type: "uint64"}, {Name: "watts", Type: "uint64"}, {Name: "direction", Type: "string"},
			{Name: "maxPrice", Type: "uint64"}, {Name: "gateClosure", Type: "uint64"}, {Name: "created", Type: "uint64"}}
		msg = map[string]any{"zone": b.Zone, "windowStart": u(uint64(b.WindowStart.Unix())), "windowEnd": u(uint64(b.WindowEnd.Unix())),
			"watts": u(uint64(b.Power)), "direction": string(b.Direction), "maxPrice": u(uint64(b.MaxPrice)),
			"gateClosure": u(uint64(b.GateClosure.Unix())), "created": created}
	case MeterClaim:
		primary = "MeterClaim"
		types[primary] = []apitypes.Type{{Name: "claim", Type: "Claim"}, {Name: "created", Type: "uint64"}}
		types["Claim"] = claimFields
		msg = map[string]any{"claim": map[string]any{"device": b.Device.Hex(), "node": b.Node.Hex(), "owner": b.Owner.Hex(), "zone": hexutil.Encode(b.Zone[:]),
			"technology": u(uint64(b.Technology)), "hour": u(b.Hour), "wh": u(b.Wh), "readingsRoot": b.ReadingsRoot.Hex()}, "created": created}
	case Attestation:
		primary = "Attestation"
		types[primary] = []apitypes.Type{{Name: "subject", Type: "bytes32"}, {Name: "subjectKind", Type: "uint8"},
			{Name: "verdict", Type: "uint8"}, {Name: "reason", Type: "uint8"}, {Name: "signature", Type: "bytes"}, {Name: "created", Type: "uint64"}}
		msg = map[string]any{"subject": b.Subject.Hex(), "subjectKind": u(uint64(b.SubjectKind)), "verdict": u(uint64(b.Verdict)),
			"reason": u(uint64(b.Reason)), "signature": hexutil.Encode(b.ChainSignature), "created": created}
	case AwardNotice:
		primary = "AwardNotice"
		types[primary] = []apitypes.Type{{Name: "award", Type: "Award"}, {Name: "created", Type: "uint64"}}
		types["Award"] = awardFields712
		msg = map[string]any{"award": map[string]any{"requestId": b.RequestID.Hex(), "offerId": b.OfferID.Hex(), "provider": b.Provider.Hex(),
			"windowStart": u(b.WindowStart), "windowEnd": u(b.WindowEnd), "watts": u(b.Watts), "price": (*math.HexOrDecimal256)(b.Price)}, "created": created}
	case RECClaim:
		primary = "RECClaim"
		types[primary] = []apitypes.Type{{Name: "device", Type: "bytes32"}, {Name: "node", Type: "address"}, {Name: "owner", Type: "address"},
			{Name: "zone", Type: "string"}, {Name: "technology", Type: "uint8"}, {Name: "hour", Type: "uint64"}, {Name: "wh", Type: "uint64"},
			{Name: "counterStart", Type: "uint64"}, {Name: "counterEnd", Type: "uint64"}, {Name: "carryIn", Type: "uint64"},
			{Name: "profile", Type: "uint64[12]"}, {Name: "quality", Type: "string"}, {Name: "readings", Type: "uint64"},
			{Name: "readingsRoot", Type: "bytes32"}, {Name: "nameplate", Type: "uint64"}, {Name: "latTenths", Type: "int16"},
			{Name: "lonTenths", Type: "int16"}, {Name: "created", Type: "uint64"}}
		prof := make([]any, len(b.Profile))
		for i, e := range b.Profile {
			prof[i] = u(uint64(e))
		}
		msg = map[string]any{"device": b.Device.String(), "node": b.Node.String(), "owner": b.Owner.String(), "zone": b.Zone,
			"technology": u(uint64(b.Technology)), "hour": u(uint64(b.Hour)), "wh": u(uint64(b.Wh)),
			"counterStart": u(uint64(b.CounterStart)), "counterEnd": u(uint64(b.CounterEnd)), "carryIn": u(uint64(b.CarryIn)),
			"profile": prof, "quality": string(b.Quality), "readings": u(uint64(b.Readings)), "readingsRoot": b.ReadingsRoot.String(),
			"nameplate": u(uint64(b.Nameplate)), "latTenths": big.NewInt(int64(b.Location.LatTenths)), "lonTenths": big.NewInt(int64(b.Location.LonTenths)),
			"created": created}
	case AwardsRoot:
		primary = "AwardsRoot"
		types[primary] = []apitypes.Type{{Name: "requestId", Type: "bytes32"}, {Name: "root", Type: "bytes32"},
			{Name: "awards", Type: "uint64"}, {Name: "value", Type: "uint256"}, {Name: "created", Type: "uint64"}}
		msg = map[string]any{"requestId": b.RequestID.Hex(), "root": b.Root.Hex(), "awards": u(b.Awards),
			"value": (*math.HexOrDecimal256)(b.Value), "created": created}
	case Schedule:
		primary = "Schedule"
		types[primary] = []apitypes.Type{{Name: "offer", Type: "bytes32"}, {Name: "start", Type: "uint64"},
			{Name: "step", Type: "uint64"}, {Name: "energy", Type: "int64[]"}, {Name: "created", Type: "uint64"}}
		energy := make([]any, len(b.Energy))
		for i, v := range b.Energy {
			energy[i] = big.NewInt(int64(v))
		}
		msg = map[string]any{"offer": b.Offer.String(), "start": u(uint64(b.Start.Unix())), "step": u(uint64(b.Step / time.Second)),
			"energy": energy, "created": created}
	case Exemption:
		primary = "Exemption"
		types[primary] = []apitypes.Type{{Name: "request", Type: "bytes32"}, {Name: "device", Type: "bytes32"},
			{Name: "reason", Type: "string"}, {Name: "created", Type: "uint64"}}
		msg = map[string]any{"request": common.Hash(b.Request).Hex(), "device": common.Hash(b.Device).Hex(), "reason": string(b.Reason), "created": created}
	default:
		t.Fatalf("no typed data for %T", m.Body)
	}
	d := TestDomain
	return apitypes.TypedData{
		Types: types, PrimaryType: primary, Message: msg,
		Domain: apitypes.TypedDataDomain{Name: d.Name, Version: d.Version, ChainId: (*math.HexOrDecimal256)(d.ChainID), VerifyingContract: d.Contract.Hex()},
	}, primary
}

func TestEnvelopeDigestsMatchGoEthereum(t *testing.T) {
	typeHashes := map[string]common.Hash{
		"Offer": offerTypeHash, "Request": requestTypeHash, "MeterClaim": meterClaimTypeHash,
		"Attestation": attestationTypeHash, "AwardNotice": awardNoticeTypeHash, "RECClaim": recClaimTypeHash, "AwardsRoot": awardsRootTypeHash,
		"Schedule": scheduleTypeHash, "Exemption": exemptionTypeHash,
	}
	bodies := Bodies(Key(3), Epoch, 7)
	// A reject verdict has a reason and no chain signature.
	bodies = append(bodies, Attestation{Subject: common.Hash{9}, SubjectKind: SubjectMeterClaim, Verdict: VerdictReject, Reason: RejectDataGap})
	for _, body := range bodies {
		m := Sign(t, Key(3), body, Epoch.Add(42))
		td, primary := typedData(t, m)
		t.Run(primary, func(t *testing.T) {
			want, _, err := apitypes.TypedDataAndHash(td)
			if err != nil {
				t.Fatal(err)
			}
			if m.ID != common.BytesToHash(want) {
				t.Errorf("digest %s, go-ethereum %x", m.ID, want)
			}
			if got := common.BytesToHash(td.TypeHash(primary)); got != typeHashes[primary] {
				t.Errorf("type hash %s, go-ethereum %s (type string %q)", typeHashes[primary], got, td.Dependencies(primary, nil))
			}
			if got := TestDomain.Digest(m.Body.structHash(uint64(m.Created.UnixMilli()))); got != m.ID {
				t.Errorf("cached-separator digest %s differs from chain.Domain.Digest %s", m.ID, got)
			}
			addr, err := chain.Recover(m.ID, m.Signature)
			if err != nil || addr != m.Author {
				t.Errorf("signature recovers to %s (%v), want the author %s", addr, err, m.Author)
			}
		})
	}
}
