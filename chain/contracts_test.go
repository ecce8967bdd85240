package chain

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
)

func recBatch(b IssueBatch) rec.RECIssueBatch {
	out := rec.RECIssueBatch{BatchId: b.BatchID}
	for _, c := range b.Claims {
		out.Claims = append(out.Claims, rec.RECClaim{Device: c.Device, Node: c.Node, Owner: c.Owner, Zone: c.Zone, Technology: c.Technology, Hour: c.Hour, Wh: c.Wh, ReadingsRoot: c.ReadingsRoot})
	}
	return out
}

func flexBatch(b RewardBatch) flex.FLEXRewardBatch {
	out := flex.FLEXRewardBatch{BatchId: b.BatchID}
	for _, r := range b.Rewards {
		out.Rewards = append(out.Rewards, flex.FLEXReward{RecordId: r.RecordID, Provider: r.Provider, Amount: orZero(r.Amount), Kind: r.Kind, Evidence: r.Evidence})
	}
	return out
}

func flexSlash(s Slash) flex.FLEXSlash {
	return flex.FLEXSlash{RecordId: s.RecordID, Provider: s.Provider, Award: s.Award, AwardPrice: orZero(s.AwardPrice), WindowValue: orZero(s.WindowValue), Amount: orZero(s.Amount), Evidence: s.Evidence}
}

// The digests the contracts compute equal the Go ones, and a Go Sign
// signature is accepted (TestIssueMintsAndAdvancesHighWater).
func TestContractDigestsMatchGo(t *testing.T) {
	h := newHarness(t, 1, 1)
	hour := h.pastHour(5)
	ib := NewIssueBatch([]Claim{claim("d1", addr(h.key), hour, 812), claim("d2", addr(h.key), hour+1, 0), claim("d1", addr(h.key), hour+1, 3)})
	got, err := call(h.ctx, h.c, h.addrs.REC, h.c.rec.PackIssueDigest(recBatch(ib)), h.c.rec.UnpackIssueDigest)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.c.RECDomain().Digest(ib.StructHash()); common.Hash(got) != want {
		t.Errorf("issue digest: contract %x, Go %s", got, want)
	}
	sep, err := call(h.ctx, h.c, h.addrs.REC, h.c.rec.PackDomainSeparator(), h.c.rec.UnpackDomainSeparator)
	if err != nil || common.Hash(sep) != h.c.RECDomain().Separator() {
		t.Errorf("REC domain separator: contract %x (%v), Go %s", sep, err, h.c.RECDomain().Separator())
	}

	rb := NewRewardBatch([]Reward{
		{RecordID: crypto.Keccak256Hash([]byte("r1")), Provider: addr(h.key), Amount: big.NewInt(5e17), Kind: RewardDelivery, Evidence: crypto.Keccak256Hash([]byte("e"))},
		{RecordID: crypto.Keccak256Hash([]byte("r2")), Provider: common.HexToAddress("0x4444444444444444444444444444444444444444"), Amount: new(big.Int).Lsh(big.NewInt(1), 200), Kind: RewardAvailability},
	})
	gotR, err := call(h.ctx, h.c, h.addrs.FLEX, h.c.flex.PackRewardDigest(flexBatch(rb)), h.c.flex.UnpackRewardDigest)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.c.FLEXDomain().Digest(rb.StructHash()); common.Hash(gotR) != want {
		t.Errorf("reward digest: contract %x, Go %s", gotR, want)
	}
	sl := Slash{RecordID: crypto.Keccak256Hash([]byte("s")), Provider: addr(h.key), Award: crypto.Keccak256Hash([]byte("a")),
		AwardPrice: big.NewInt(10), WindowValue: big.NewInt(40), Amount: big.NewInt(3), Evidence: crypto.Keccak256Hash([]byte("m"))}
	gotS, err := call(h.ctx, h.c, h.addrs.FLEX, h.c.flex.PackSlashDigest(flexSlash(sl)), h.c.flex.UnpackSlashDigest)
	if err != nil {
		t.Fatal(err)
	}
	if want := h.c.FLEXDomain().Digest(sl.StructHash()); common.Hash(gotS) != want {
		t.Errorf("slash digest: contract %x, Go %s", gotS, want)
	}
	// Type hashes, byte for byte.
	for _, tc := range []struct {
		name string
		got  func() ([32]byte, error)
		want string
	}{
		{"Claim", func() ([32]byte, error) {
			return call(h.ctx, h.c, h.addrs.REC, h.c.rec.PackCLAIMTYPEHASH(), h.c.rec.UnpackCLAIMTYPEHASH)
		}, ClaimType},
		{"IssueBatch", func() ([32]byte, error) {
			return call(h.ctx, h.c, h.addrs.REC, h.c.rec.PackISSUEBATCHTYPEHASH(), h.c.rec.UnpackISSUEBATCHTYPEHASH)
		}, IssueBatchType},
		{"Reward", func() ([32]byte, error) {
			return call(h.ctx, h.c, h.addrs.FLEX, h.c.flex.PackREWARDTYPEHASH(), h.c.flex.UnpackREWARDTYPEHASH)
		}, RewardType},
		{"RewardBatch", func() ([32]byte, error) {
			return call(h.ctx, h.c, h.addrs.FLEX, h.c.flex.PackREWARDBATCHTYPEHASH(), h.c.flex.UnpackREWARDBATCHTYPEHASH)
		}, RewardBatchType},
		{"Slash", func() ([32]byte, error) {
			return call(h.ctx, h.c, h.addrs.FLEX, h.c.flex.PackSLASHTYPEHASH(), h.c.flex.UnpackSLASHTYPEHASH)
		}, SlashType},
	} {
		got, err := tc.got()
		if want := crypto.Keccak256Hash([]byte(tc.want)); err != nil || common.Hash(got) != want {
			t.Errorf("%s type hash: contract %x (%v), Go %s", tc.name, got, err, want)
		}
	}
}

func TestIssueMintsAndAdvancesHighWater(t *testing.T) {
	h := newHarness(t, 2, 3)
	owner := common.HexToAddress("0x1111111111111111111111111111111111111111")
	hour := h.pastHour(10)
	b := NewIssueBatch([]Claim{claim("d1", owner, hour, 812), claim("d1", owner, hour+1, 900), claim("d2", owner, hour, 0), claim("d3", owner, hour, 5_000_000_000)})
	r, err := h.c.Issue(h.ctx, b, h.signIssue(b, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if r.AlreadyDone || r.TxHash == (common.Hash{}) {
		t.Errorf("receipt %+v", r)
	}
	id0, id1 := TokenID{Zone: zoneDE, Technology: TechnologySolarPV, Hour: hour}, TokenID{Zone: zoneDE, Technology: TechnologySolarPV, Hour: hour + 1}
	for _, tc := range []struct {
		id   TokenID
		want int64
	}{{id0, 812 + 5_000_000_000}, {id1, 900}} {
		got, err := h.c.RECBalance(h.ctx, owner, tc.id)
		if err != nil || got.Int64() != tc.want {
			t.Errorf("balance %s = %v (%v), want %d", tc.id, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		device string
		want   uint64
	}{{"d1", hour + 2}, {"d2", hour + 1}, {"d3", hour + 1}, {"d4", 0}} {
		if got, err := h.c.NextHour(h.ctx, testDevice(tc.device)); err != nil || got != tc.want {
			t.Errorf("NextHour(%s) = %d (%v), want %d", tc.device, got, err, tc.want)
		}
	}
	// Issuing again is idempotent: no second mint.
	r2, err := h.c.Issue(h.ctx, b, h.signIssue(b, 0, 1))
	if err != nil || r2.TxHash != r.TxHash {
		t.Errorf("second Issue = %+v, %v; want the first receipt", r2, err)
	}
	// A fresh client (no intents) finds it done on chain.
	r3, err := h.client(testKey("other")).Issue(h.ctx, b, h.signIssue(b, 0, 1))
	if err != nil || !r3.AlreadyDone {
		t.Errorf("other client's Issue = %+v, %v; want AlreadyDone", r3, err)
	}
	got, _ := h.c.RECBalance(h.ctx, owner, id1)
	if got.Int64() != 900 {
		t.Errorf("balance after replays %v, want 900", got)
	}
}

func TestRECMetadataURIOf(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:8088", "http://127.0.0.1:8088/api/v1/metadata/rec/{id}.json"},
		{"node.example.org:443", "http://node.example.org:443/api/v1/metadata/rec/{id}.json"},
		{"[::1]:9000", "http://[::1]:9000/api/v1/metadata/rec/{id}.json"},
		{"0.0.0.0:8088", ""}, // no wallet can reach the unspecified address
		{":8088", ""},
		{"127.0.0.1:0", ""},
		{"nonsense", ""},
	} {
		if got := RECMetadataURIOf(tc.addr); got != tc.want {
			t.Errorf("RECMetadataURIOf(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
