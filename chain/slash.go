package chain

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Slash is an attested penalty for one under-delivered award: the FLEX
// contract burns Amount from the provider's stake, at most the award's
// share of it, stake × AwardPrice / WindowValue. Amounts in FLEX base units.
type Slash struct {
	// RecordID is usable once (shared with reward record ids).
	RecordID common.Hash
	Provider common.Address
	// Award is the Award's StructHash; each award is slashed at most once.
	Award common.Hash
	// AwardPrice is the award's price.
	AwardPrice *big.Int
	// WindowValue is the provider's total awarded value in the award's
	// window (>= AwardPrice).
	WindowValue *big.Int
	Amount      *big.Int
	Evidence    common.Hash
}

// SlashType is the Slash's EIP-712 type string.
const SlashType = "Slash(bytes32 recordId,address provider,bytes32 award,uint256 awardPrice,uint256 windowValue,uint256 amount,bytes32 evidence)"

var slashTypeHash = crypto.Keccak256Hash([]byte(SlashType))

// StructHash is hashStruct(Slash).
func (s Slash) StructHash() common.Hash {
	return crypto.Keccak256Hash(
		slashTypeHash.Bytes(),
		s.RecordID.Bytes(),
		common.LeftPadBytes(s.Provider.Bytes(), 32),
		s.Award.Bytes(),
		bigWord(s.AwardPrice),
		bigWord(s.WindowValue),
		bigWord(s.Amount),
		s.Evidence.Bytes(),
	)
}

func bigWord(v *big.Int) []byte {
	if v == nil {
		v = new(big.Int)
	}
	return common.LeftPadBytes(v.Bytes(), 32)
}
