package chain

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// The hand-written encodings must equal go-ethereum's generic EIP-712
// implementation (which MetaMask-style signers and the contracts follow).

var testDomain = Domain{Name: DomainREC, Version: "1", ChainID: big.NewInt(1337), Contract: common.HexToAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3")}

func typedDomain(d Domain) apitypes.TypedDataDomain {
	return apitypes.TypedDataDomain{Name: d.Name, Version: d.Version, ChainId: (*math.HexOrDecimal256)(d.ChainID), VerifyingContract: d.Contract.Hex()}
}

var domainTypes = []apitypes.Type{
	{Name: "name", Type: "string"}, {Name: "version", Type: "string"},
	{Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"},
}

func claimMessage(c Claim) map[string]any {
	return map[string]any{
		"device": c.Device.Hex(), "node": c.Node.Hex(), "owner": c.Owner.Hex(), "zone": hexutil.Encode(c.Zone[:]),
		"technology": math.NewHexOrDecimal256(int64(c.Technology)), "hour": math.NewHexOrDecimal256(int64(c.Hour)),
		"wh": math.NewHexOrDecimal256(int64(c.Wh)), "readingsRoot": c.ReadingsRoot.Hex(),
	}
}

func testClaims(t *testing.T) []Claim {
	zone, err := ZoneBytes("DE-LU")
	if err != nil {
		t.Fatal(err)
	}
	return []Claim{
		{Device: testDevice("0xabc/opendtu/1161"), Node: common.HexToAddress("0x0000000000000000000000000000000000000abc"), Owner: common.HexToAddress("0x1111111111111111111111111111111111111111"), Zone: zone,
			Technology: TechnologySolarPV, Hour: 494_000, Wh: 812, ReadingsRoot: crypto.Keccak256Hash([]byte("r1"))},
		{Device: testDevice("0xabc/shelly/x"), Owner: common.HexToAddress("0x2222222222222222222222222222222222222222"), Zone: zone,
			Technology: TechnologySolarPV, Hour: 494_001, Wh: 0, ReadingsRoot: crypto.Keccak256Hash([]byte("r2"))},
	}
}

func TestIssueBatchMatchesGoEthereum(t *testing.T) {
	b := NewIssueBatch(testClaims(t))
	var claims []any
	for _, c := range b.Claims {
		claims = append(claims, claimMessage(c))
	}
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": domainTypes,
			"Claim": {{Name: "device", Type: "bytes32"}, {Name: "node", Type: "address"}, {Name: "owner", Type: "address"}, {Name: "zone", Type: "bytes32"},
				{Name: "technology", Type: "uint8"}, {Name: "hour", Type: "uint64"}, {Name: "wh", Type: "uint64"}, {Name: "readingsRoot", Type: "bytes32"}},
			"IssueBatch": {{Name: "batchId", Type: "bytes32"}, {Name: "claims", Type: "Claim[]"}},
		},
		PrimaryType: "IssueBatch",
		Domain:      typedDomain(testDomain),
		Message:     map[string]any{"batchId": b.BatchID.Hex(), "claims": claims},
	}
	want, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if got := testDomain.Digest(b.StructHash()); got != common.BytesToHash(want) {
		t.Errorf("IssueBatch digest %s, go-ethereum %x", got, want)
	}
	if got, want := string(td.TypeHash("IssueBatch")), string(issueBatchTypeHash.Bytes()); got != want {
		t.Errorf("IssueBatch type hash differs from go-ethereum's")
	}
}

func TestRewardBatchAndAwardMatchGoEthereum(t *testing.T) {
	rb := NewRewardBatch([]Reward{
		{RecordID: crypto.Keccak256Hash([]byte("b")), Provider: common.HexToAddress("0x3333333333333333333333333333333333333333"), Amount: big.NewInt(5e17), Kind: RewardDelivery, Evidence: crypto.Keccak256Hash([]byte("e"))},
		{RecordID: crypto.Keccak256Hash([]byte("a")), Provider: common.HexToAddress("0x4444444444444444444444444444444444444444"), Amount: new(big.Int).Lsh(big.NewInt(1), 200), Kind: RewardAvailability},
	})
	var rewards []any
	for _, r := range rb.Rewards {
		rewards = append(rewards, map[string]any{
			"recordId": r.RecordID.Hex(), "provider": r.Provider.Hex(), "amount": (*math.HexOrDecimal256)(r.Amount),
			"kind": math.NewHexOrDecimal256(int64(r.Kind)), "evidence": r.Evidence.Hex(),
		})
	}
	flex := Domain{Name: DomainFLEX, Version: "1", ChainID: big.NewInt(1), Contract: common.HexToAddress("0x00000000000000000000000000000000000000aa")}
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": domainTypes,
			"Reward": {{Name: "recordId", Type: "bytes32"}, {Name: "provider", Type: "address"}, {Name: "amount", Type: "uint256"},
				{Name: "kind", Type: "uint8"}, {Name: "evidence", Type: "bytes32"}},
			"RewardBatch": {{Name: "batchId", Type: "bytes32"}, {Name: "rewards", Type: "Reward[]"}},
		},
		PrimaryType: "RewardBatch", Domain: typedDomain(flex),
		Message: map[string]any{"batchId": rb.BatchID.Hex(), "rewards": rewards},
	}
	want, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if got := flex.Digest(rb.StructHash()); got != common.BytesToHash(want) {
		t.Errorf("RewardBatch digest %s, go-ethereum %x", got, want)
	}

	a := Award{RequestID: crypto.Keccak256Hash([]byte("req")), OfferID: crypto.Keccak256Hash([]byte("off")), Provider: common.HexToAddress("0x5555555555555555555555555555555555555555"),
		WindowStart: 1_800_000_000, WindowEnd: 1_800_000_900, Watts: 3000, Price: big.NewInt(123)}
	td = apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": domainTypes,
			"Award": {{Name: "requestId", Type: "bytes32"}, {Name: "offerId", Type: "bytes32"}, {Name: "provider", Type: "address"},
				{Name: "windowStart", Type: "uint64"}, {Name: "windowEnd", Type: "uint64"}, {Name: "watts", Type: "uint64"}, {Name: "price", Type: "uint256"}},
		},
		PrimaryType: "Award", Domain: typedDomain(flex),
		Message: map[string]any{"requestId": a.RequestID.Hex(), "offerId": a.OfferID.Hex(), "provider": a.Provider.Hex(),
			"windowStart": math.NewHexOrDecimal256(int64(a.WindowStart)), "windowEnd": math.NewHexOrDecimal256(int64(a.WindowEnd)),
			"watts": math.NewHexOrDecimal256(int64(a.Watts)), "price": (*math.HexOrDecimal256)(a.Price)},
	}
	if want, _, err = apitypes.TypedDataAndHash(td); err != nil {
		t.Fatal(err)
	}
	if got := flex.Digest(a.StructHash()); got != common.BytesToHash(want) {
		t.Errorf("Award digest %s, go-ethereum %x", got, want)
	}
}

func TestSignRecover(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	digest := testDomain.Digest(NewIssueBatch(testClaims(t)).StructHash())
	sig, err := Sign(key, digest)
	if err != nil {
		t.Fatal(err)
	}
	if sig[64] != 27 && sig[64] != 28 {
		t.Errorf("v = %d, want 27 or 28", sig[64])
	}
	got, err := Recover(digest, sig)
	if err != nil || got != crypto.PubkeyToAddress(key.PublicKey) {
		t.Errorf("Recover = %s, %v; want %s", got, err, crypto.PubkeyToAddress(key.PublicKey))
	}
	// The same signature with s flipped to the high half is malleated:
	// refused, as the contracts refuse it.
	n := crypto.S256().Params().N
	s := new(big.Int).SetBytes(sig[32:64])
	high := append([]byte{}, sig...)
	copy(high[32:64], common.LeftPadBytes(new(big.Int).Sub(n, s).Bytes(), 32))
	high[64] ^= 1
	if _, err := Recover(digest, high); err == nil {
		t.Error("high-s signature accepted")
	}
	for _, bad := range [][]byte{sig[:64], append(append([]byte{}, sig[:64]...), 29)} {
		if _, err := Recover(digest, bad); err == nil {
			t.Errorf("malformed signature %x accepted", bad)
		}
	}
}

func TestBatchIDIsOrderIndependent(t *testing.T) {
	cs := testClaims(t)
	a := NewIssueBatch(cs)
	b := NewIssueBatch([]Claim{cs[1], cs[0]})
	if a.BatchID != b.BatchID || a.StructHash() != b.StructHash() {
		t.Error("the same claims in another order give another batch")
	}
	cs[0].Wh++
	if NewIssueBatch(cs).BatchID == a.BatchID {
		t.Error("a changed claim keeps the batch id")
	}
}
