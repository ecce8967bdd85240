package p2p

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"google.golang.org/protobuf/encoding/protowire"
)

// AwardsRoot is a utility's statement of how its request cleared: the
// Merkle root of the awards (flex.AwardsRoot), how many there are and
// their value, FLEX base units (what its reserve burns). Every node clears
// the same signed offers and requests itself and compares: a home acts
// only on a root it computed too. Receivers take it only from the
// request's author (node/market checks that; the body cannot know).
//
// Wire (canonical protobuf, as the other bodies):
//
//	message AwardsRoot {
//	  bytes request_id = 1; // 32 bytes: the request envelope's ID
//	  bytes root = 2;       // 32 bytes
//	  uint64 awards = 3;
//	  bytes value = 4;      // big-endian, at most 32 bytes, no leading zero
//	}
type AwardsRoot struct {
	RequestID common.Hash
	Root      common.Hash
	Awards    uint64
	Value     *big.Int // FLEX base units
}

// AwardsRootType is the EIP-712 type string of an awards root envelope.
const AwardsRootType = "AwardsRoot(bytes32 requestId,bytes32 root,uint64 awards,uint256 value,uint64 created)"

var awardsRootTypeHash = ethcrypto.Keccak256Hash([]byte(AwardsRootType))

var awardsRootFields = []protowire.Type{lenDelim, lenDelim, varint, lenDelim}

// maxAwards bounds a root's award count: more than any request could
// clear (a 1 MW request of 1 W offers).
const maxAwards = 1_000_000

// Kind implements Body.
func (AwardsRoot) Kind() Kind { return KindAwardsRoot }

// Validate checks the ids, the count and the value's range. An empty
// clearing (no awards) has the empty tree's root and value 0.
func (a AwardsRoot) Validate() error {
	switch {
	case a.RequestID == (common.Hash{}) || a.Root == (common.Hash{}):
		return gridmint.Errorf(gridmint.EInvalid, "awards root: zero request id or root")
	case a.Awards > maxAwards:
		return gridmint.Errorf(gridmint.EInvalid, "awards root: %d awards, over %d", a.Awards, maxAwards)
	case a.Value == nil || a.Value.Sign() < 0 || a.Value.BitLen() > 256:
		return gridmint.Errorf(gridmint.EInvalid, "awards root: value out of uint256 range")
	case a.Awards == 0 && a.Value.Sign() != 0:
		return gridmint.Errorf(gridmint.EInvalid, "awards root: a value without awards")
	}
	return nil
}

func (a AwardsRoot) appendBody(dst []byte) []byte {
	w := writer(dst)
	w.bytes(1, a.RequestID.Bytes())
	w.bytes(2, a.Root.Bytes())
	w.uint(3, a.Awards)
	if a.Value != nil {
		w.bytes(4, a.Value.Bytes())
	}
	return w
}

// DecodeAwardsRootBody parses an awards root body (the envelope's field
// 5); exported for the market's fuzz target.
func DecodeAwardsRootBody(in []byte) (AwardsRoot, error) {
	b, err := decodeAwardsRoot(in)
	if err != nil {
		return AwardsRoot{}, err
	}
	return b.(AwardsRoot), nil
}

func decodeAwardsRoot(in []byte) (Body, error) {
	f, err := parse(in, awardsRootFields)
	if err != nil {
		return nil, err
	}
	var a AwardsRoot
	var errs [4]error
	a.RequestID, errs[0] = f.hash(1, "request id")
	a.Root, errs[1] = f.hash(2, "root")
	a.Awards, errs[2] = f.small(3, math.MaxUint32, "awards")
	if v := f.b[3]; len(v) > 32 || (len(v) > 0 && v[0] == 0) {
		errs[3] = fmt.Errorf("value: %d bytes, want a minimal uint256", len(v))
	}
	a.Value = new(big.Int).SetBytes(f.b[3])
	return a, errors.Join(errs[:]...)
}

func (a AwardsRoot) structHash(created uint64) common.Hash {
	v := a.Value
	if v == nil {
		v = new(big.Int)
	}
	return ethcrypto.Keccak256Hash(awardsRootTypeHash.Bytes(), a.RequestID.Bytes(), a.Root.Bytes(),
		uintWord(a.Awards), common.BigToHash(v).Bytes(), uintWord(created))
}
