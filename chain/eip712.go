package chain

import (
	"cmp"
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// EIP-712 typed data shared by the contracts, the node's gossip (meter
// claims, attestations, awards) and the client. A signature made over one
// of these digests in Go verifies with ecrecover in Solidity: the type
// strings below are the contracts' type strings, byte for byte.

// Domain is the EIP-712 domain of one gridmint contract.
type Domain struct {
	Name     string // DomainREC or DomainFLEX
	Version  string // "1"
	ChainID  *big.Int
	Contract common.Address
}

// Domain names of the two token contracts.
const (
	DomainREC  = "gridmint REC"
	DomainFLEX = "gridmint FLEX"
)

const domainType = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"

// Separator is the domain separator.
func (d Domain) Separator() common.Hash {
	chainID := d.ChainID
	if chainID == nil {
		chainID = new(big.Int)
	}
	return crypto.Keccak256Hash(
		crypto.Keccak256([]byte(domainType)),
		crypto.Keccak256([]byte(d.Name)),
		crypto.Keccak256([]byte(d.Version)),
		common.LeftPadBytes(chainID.Bytes(), 32),
		common.LeftPadBytes(d.Contract.Bytes(), 32),
	)
}

// Digest is the EIP-712 hash to sign: keccak256(0x1901 ‖ domain
// separator ‖ struct hash).
func (d Domain) Digest(structHash common.Hash) common.Hash {
	return crypto.Keccak256Hash([]byte{0x19, 0x01}, d.Separator().Bytes(), structHash.Bytes())
}

// Technologies of renewable energy, as Claim.Technology.
const (
	TechnologySolarPV uint8 = 1
)

// Claim is one device's renewable energy in one clock hour: what a node
// claims, peers attest, and the REC contract issues.
type Claim struct {
	// Device is the device's gridmint.DeviceKey: a hash of its DeviceID
	// salted with a secret of its node (node.Identity.DeviceKey), the
	// same key its gossiped offers and claims carry. Not keccak256 of
	// the id itself: ids end in vendor serials, which are short enough
	// to guess from such a hash.
	Device common.Hash
	// Node is the claiming node's account: its own attestation never
	// counts for this claim (the contract refuses a batch whose k
	// signers include it). Attestors rebuild the claim from the gossiped
	// envelope, so Node is its author.
	Node common.Address
	// Owner receives the certificates.
	Owner common.Address
	// Zone is the grid zone, UTF-8, right-padded with zeros ("DE-LU").
	Zone [32]byte
	// Technology is TechnologySolarPV.
	Technology uint8
	// Hour is the UTC clock hour: Unix seconds / 3600.
	Hour uint64
	// Wh is the energy in whole Wh, rounded down (EnergyTag).
	Wh uint64
	// ReadingsRoot commits to the readings the hour was built from.
	ReadingsRoot common.Hash
}

// ClaimType is the Claim's EIP-712 type string.
const ClaimType = "Claim(bytes32 device,address node,address owner,bytes32 zone,uint8 technology,uint64 hour,uint64 wh,bytes32 readingsRoot)"

var claimTypeHash = crypto.Keccak256Hash([]byte(ClaimType))

// StructHash is hashStruct(Claim).
func (c Claim) StructHash() common.Hash {
	return crypto.Keccak256Hash(
		claimTypeHash.Bytes(),
		c.Device.Bytes(),
		common.LeftPadBytes(c.Node.Bytes(), 32),
		common.LeftPadBytes(c.Owner.Bytes(), 32),
		c.Zone[:],
		uintWord(uint64(c.Technology)),
		uintWord(c.Hour),
		uintWord(c.Wh),
		c.ReadingsRoot.Bytes(),
	)
}

// IssueBatch is a batch of claims the REC contract issues in one call,
// signed by k attestors.
type IssueBatch struct {
	BatchID common.Hash
	Claims  []Claim
}

// IssueBatchType is the IssueBatch's EIP-712 type string (referenced
// types appended, as EIP-712 requires).
const IssueBatchType = "IssueBatch(bytes32 batchId,Claim[] claims)" + ClaimType

var issueBatchTypeHash = crypto.Keccak256Hash([]byte(IssueBatchType))

// NewIssueBatch orders claims by device then hour and derives the batch
// id from their hashes, so every node builds the same batch from the same
// claims (and a replayed batch has the same id).
func NewIssueBatch(claims []Claim) IssueBatch {
	cs := slices.Clone(claims)
	slices.SortFunc(cs, func(a, b Claim) int {
		if c := a.Device.Cmp(b.Device); c != 0 {
			return c
		}
		return cmp.Compare(a.Hour, b.Hour)
	})
	return IssueBatch{BatchID: arrayHash(len(cs), func(i int) common.Hash { return cs[i].StructHash() }), Claims: cs}
}

// StructHash is hashStruct(IssueBatch).
func (b IssueBatch) StructHash() common.Hash {
	claims := arrayHash(len(b.Claims), func(i int) common.Hash { return b.Claims[i].StructHash() })
	return crypto.Keccak256Hash(issueBatchTypeHash.Bytes(), b.BatchID.Bytes(), claims.Bytes())
}

// Reward kinds, as Reward.Kind.
const (
	RewardDelivery     uint8 = 1 // verified delivered flexibility
	RewardAvailability uint8 = 2 // committed availability, under the emission rule
)

// Reward is one FLEX reward record: the provider, the amount (FLEX base
// units, 18 decimals) and the evidence it rests on. RecordID is usable
// once.
type Reward struct {
	RecordID common.Hash
	Provider common.Address
	Amount   *big.Int
	Kind     uint8
	Evidence common.Hash
}

// RewardType is the Reward's EIP-712 type string.
const RewardType = "Reward(bytes32 recordId,address provider,uint256 amount,uint8 kind,bytes32 evidence)"

var rewardTypeHash = crypto.Keccak256Hash([]byte(RewardType))

// StructHash is hashStruct(Reward).
func (r Reward) StructHash() common.Hash {
	amount := r.Amount
	if amount == nil {
		amount = new(big.Int)
	}
	return crypto.Keccak256Hash(
		rewardTypeHash.Bytes(),
		r.RecordID.Bytes(),
		common.LeftPadBytes(r.Provider.Bytes(), 32),
		common.LeftPadBytes(amount.Bytes(), 32),
		uintWord(uint64(r.Kind)),
		r.Evidence.Bytes(),
	)
}

// RewardBatch is a batch of rewards the FLEX contract mints in one call,
// signed by k attestors.
type RewardBatch struct {
	BatchID common.Hash
	Rewards []Reward
}

// RewardBatchType is the RewardBatch's EIP-712 type string.
const RewardBatchType = "RewardBatch(bytes32 batchId,Reward[] rewards)" + RewardType

var rewardBatchTypeHash = crypto.Keccak256Hash([]byte(RewardBatchType))

// NewRewardBatch orders rewards by record id and derives the batch id.
func NewRewardBatch(rewards []Reward) RewardBatch {
	rs := slices.Clone(rewards)
	slices.SortFunc(rs, func(a, b Reward) int { return a.RecordID.Cmp(b.RecordID) })
	return RewardBatch{BatchID: arrayHash(len(rs), func(i int) common.Hash { return rs[i].StructHash() }), Rewards: rs}
}

// StructHash is hashStruct(RewardBatch).
func (b RewardBatch) StructHash() common.Hash {
	rewards := arrayHash(len(b.Rewards), func(i int) common.Hash { return b.Rewards[i].StructHash() })
	return crypto.Keccak256Hash(rewardBatchTypeHash.Bytes(), b.BatchID.Bytes(), rewards.Bytes())
}

// Award is one cleared piece of flexibility: a provider's offer that meets
// a utility's request for a window. The utility reserves capacity by
// burning FLEX against the root of a request's awards.
type Award struct {
	RequestID   common.Hash
	OfferID     common.Hash
	Provider    common.Address
	WindowStart uint64 // Unix seconds, UTC
	WindowEnd   uint64 // Unix seconds, UTC, exclusive
	Watts       uint64
	// Price is FLEX base units for the whole award.
	Price *big.Int
}

// AwardType is the Award's EIP-712 type string.
const AwardType = "Award(bytes32 requestId,bytes32 offerId,address provider,uint64 windowStart,uint64 windowEnd,uint64 watts,uint256 price)"

var awardTypeHash = crypto.Keccak256Hash([]byte(AwardType))

// StructHash is hashStruct(Award).
func (a Award) StructHash() common.Hash {
	price := a.Price
	if price == nil {
		price = new(big.Int)
	}
	return crypto.Keccak256Hash(
		awardTypeHash.Bytes(),
		a.RequestID.Bytes(),
		a.OfferID.Bytes(),
		common.LeftPadBytes(a.Provider.Bytes(), 32),
		uintWord(a.WindowStart),
		uintWord(a.WindowEnd),
		uintWord(a.Watts),
		common.LeftPadBytes(price.Bytes(), 32),
	)
}

// Sign signs an EIP-712 digest: 65 bytes r ‖ s ‖ v with v = 27 or 28, as
// Solidity's ecrecover expects.
func Sign(key *ecdsa.PrivateKey, digest common.Hash) ([]byte, error) {
	sig, err := crypto.Sign(digest.Bytes(), key)
	if err != nil {
		return nil, fmt.Errorf("chain: sign: %w", err)
	}
	sig[64] += 27
	return sig, nil
}

// Recover returns the address that signed digest, or an error for a
// malformed or high-s signature (which the contracts refuse too).
func Recover(digest common.Hash, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, fmt.Errorf("chain: signature of %d bytes, want 65", len(sig))
	}
	v := sig[64]
	if v != 27 && v != 28 {
		return common.Address{}, fmt.Errorf("chain: signature v = %d, want 27 or 28", v)
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
	if !crypto.ValidateSignatureValues(v-27, r, s, true) {
		return common.Address{}, fmt.Errorf("chain: signature values out of range (high s?)")
	}
	raw := append(slices.Clone(sig[:64]), v-27)
	pub, err := crypto.SigToPub(digest.Bytes(), raw)
	if err != nil {
		return common.Address{}, fmt.Errorf("chain: recover: %w", err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// ZoneBytes encodes a grid zone name for Claim.Zone; names longer than 32
// bytes are an error.
func ZoneBytes(zone string) ([32]byte, error) {
	var z [32]byte
	if len(zone) > 32 {
		return z, fmt.Errorf("chain: zone %q longer than 32 bytes", zone)
	}
	copy(z[:], zone)
	return z, nil
}

func uintWord(v uint64) []byte {
	var w [32]byte
	binary.BigEndian.PutUint64(w[24:], v)
	return w[:]
}

// arrayHash is EIP-712's encoding of an array of structs: keccak256 of
// the concatenated struct hashes.
func arrayHash(n int, at func(int) common.Hash) common.Hash {
	buf := make([]byte, 0, 32*n)
	for i := 0; i < n; i++ {
		buf = append(buf, at(i).Bytes()...)
	}
	return crypto.Keccak256Hash(buf)
}
