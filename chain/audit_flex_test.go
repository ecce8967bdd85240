package chain

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

func auditKey(i int) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprint("audit flex ", i))))
	if err != nil {
		panic(err)
	}
	return k
}

// TestCheckFLEXAttestations: a reward or slash needs k distinct
// registered signers other than its provider; the provider's own, an
// outsider's, a repeated and a malformed signature never count.
func TestCheckFLEXAttestations(t *testing.T) {
	addr := func(i int) common.Address { return crypto.PubkeyToAddress(auditKey(i).PublicKey) }
	registered := func(a common.Address) bool { return a == addr(0) || a == addr(1) || a == addr(2) }
	b := NewRewardBatch([]Reward{{RecordID: common.Hash{1}, Provider: addr(2), Amount: big.NewInt(5), Kind: RewardDelivery}})
	sl := Slash{RecordID: common.Hash{2}, Provider: addr(2), Award: common.Hash{3}, AwardPrice: big.NewInt(1), WindowValue: big.NewInt(2), Amount: big.NewInt(1)}
	digest := common.Hash{0xd1}
	sign := func(is ...int) [][]byte {
		var out [][]byte
		for _, i := range is {
			s, err := Sign(auditKey(i), digest)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		sigs  [][]byte
		clean bool
		want  string
	}{
		{"two others", sign(0, 1), true, ""},
		{"the provider counts not", sign(0, 2), false, "other than the provider"},
		{"an outsider", sign(0, 5), false, "not a registered attestor"},
		{"repeated", sign(0, 0), false, "repeats attestor"},
		{"malformed", append(sign(0, 1), []byte{1, 2}), false, "does not recover"},
	} {
		for kind, diffs := range map[string][]Difference{
			"reward": CheckRewardAttestations(b, tc.sigs, digest, 2, registered),
			"slash":  CheckSlashAttestations(sl, tc.sigs, digest, 2, registered),
		} {
			if (len(diffs) == 0) != tc.clean || !tc.clean && !strings.Contains(fmt.Sprint(diffs), tc.want) {
				t.Errorf("%s, %s: %v, want clean %v (%q)", tc.name, kind, diffs, tc.clean, tc.want)
			}
		}
	}
}
