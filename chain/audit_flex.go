package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gridmint/gridmint/chain/bindings/flex"
)

// FLEXAttestationAudit is what the audit found of the FLEX mints and
// burns: every Rewarded record's FLEX.reward call and every Slashed
// record's FLEX.slash call is decoded and its signers recovered from the
// EIP-712 digest and checked against the attestor registry (k distinct
// registered signers other than the provider, whose own signature never
// counts for its reward or slash); every burn must be a Reserved or
// Slashed burn of the same transaction.
type FLEXAttestationAudit struct {
	// RewardTxs and Records are the FLEX.reward transactions and their
	// records checked; SlashTxs the FLEX.slash transactions.
	RewardTxs int `json:"reward_txs"`
	Records   int `json:"records"`
	SlashTxs  int `json:"slash_txs"`
	// BurnTxs are the transactions with burns, each traced to its
	// Reserved or Slashed events.
	BurnTxs int `json:"burn_txs"`
	// RegistryAtHead counts the calls whose registry could not be read at
	// the block before them and was read at the audited head instead.
	RegistryAtHead int `json:"registry_at_head"`
}

// CheckRewardAttestations checks one FLEX.reward call's signatures
// against digest: every signature well formed, by a registered attestor
// and distinct; every reward needs at least k such signers other than its
// provider. It is pure: Audit feeds it from the chain.
func CheckRewardAttestations(b RewardBatch, sigs [][]byte, digest common.Hash, k uint64, isAttestor func(common.Address) bool) []Difference {
	what := "FLEX reward batch " + b.BatchID.Hex()
	signers, diffs := validSigners(what, sigs, digest, isAttestor)
	for _, r := range b.Rewards {
		diffs = append(diffs, outsideQuorum(what+" record "+r.RecordID.Hex(), signers, r.Provider, k)...)
	}
	return diffs
}

// CheckSlashAttestations is CheckRewardAttestations for a FLEX.slash.
func CheckSlashAttestations(s Slash, sigs [][]byte, digest common.Hash, k uint64, isAttestor func(common.Address) bool) []Difference {
	what := "FLEX slash " + s.RecordID.Hex()
	signers, diffs := validSigners(what, sigs, digest, isAttestor)
	return append(diffs, outsideQuorum(what, signers, s.Provider, k)...)
}

func validSigners(what string, sigs [][]byte, digest common.Hash, isAttestor func(common.Address) bool) ([]common.Address, []Difference) {
	var signers []common.Address
	var diffs []Difference
	for i, s := range sigs {
		a, err := Recover(digest, s)
		switch {
		case err != nil:
			diffs = append(diffs, Difference{What: what, Message: fmt.Sprintf("signature %d does not recover: %v", i, err)})
		case !isAttestor(a):
			diffs = append(diffs, Difference{What: what, Message: fmt.Sprintf("signature %d is by %s, not a registered attestor", i, a.Hex())})
		case slices.Contains(signers, a):
			diffs = append(diffs, Difference{What: what, Message: fmt.Sprintf("signature %d repeats attestor %s", i, a.Hex())})
		default:
			signers = append(signers, a)
		}
	}
	return signers, diffs
}

// outsideQuorum: k signers other than the provider.
func outsideQuorum(what string, signers []common.Address, provider common.Address, k uint64) []Difference {
	n := uint64(len(signers))
	if slices.Contains(signers, provider) {
		n--
	}
	if n < k {
		return []Difference{{What: what + " attestations of other nodes", Got: new(big.Int).SetUint64(n), Want: new(big.Int).SetUint64(k),
			Message: fmt.Sprintf("provider %s: %d valid attestations of registered attestors other than the provider, k = %d", provider.Hex(), n, k)}}
	}
	return nil
}

// flexTx is a transaction with FLEX events to trace.
type flexTx struct {
	tx    common.Hash
	block uint64
}

// auditFLEX checks the attestations of every reward and slash
// transaction and traces every burn to its transaction's Reserved and
// Slashed events (burned, reservedSlashed: base units by transaction).
func auditFLEX(ctx context.Context, be AuditBackend, a Addresses, head *big.Int, rewards, slashes []flexTx,
	burned, reservedSlashed map[common.Hash]*big.Int, rep *AuditReport) error {
	fa := &rep.FLEXAttestations
	for _, tx := range slices.SortedFunc(mapsKeys(burned), func(x, y common.Hash) int { return x.Cmp(y) }) {
		fa.BurnTxs++
		want := reservedSlashed[tx]
		if want == nil {
			want = new(big.Int)
		}
		if burned[tx].Cmp(want) != 0 {
			rep.Differences = append(rep.Differences, Difference{What: "FLEX burned in tx " + tx.Hex() + " vs its Reserved + Slashed", Got: burned[tx], Want: want})
		}
	}
	if len(rewards)+len(slashes) == 0 {
		return nil
	}
	tb, ok := be.(LedgerBackend)
	if !ok {
		return errors.New("chain: audit: the backend cannot read transactions (TransactionByHash)")
	}
	fb := flex.NewFLEX()
	sep, err := callAt(ctx, be, a.FLEX, head, fb.PackDomainSeparator(), fb.UnpackDomainSeparator)
	if err != nil {
		return err
	}
	registryAt := func(block uint64) (*registryView, error) {
		reg, err := registryAt(ctx, be, a.Registry, block, head)
		if err == nil && reg.atHead {
			fa.RegistryAtHead++
		}
		return reg, err
	}
	digest := func(structHash common.Hash) common.Hash {
		return crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], structHash.Bytes())
	}
	for _, ft := range rewards {
		tx, _, err := tb.TransactionByHash(ctx, ft.tx)
		if err != nil {
			return fmt.Errorf("chain: audit: reward transaction %s: %w", ft.tx.Hex(), err)
		}
		fa.RewardTxs++
		what := "FLEX reward transaction " + ft.tx.Hex()
		if tx.To() == nil || *tx.To() != a.FLEX {
			rep.Differences = append(rep.Differences, Difference{What: what, Message: "minted through another contract: its attestations cannot be read"})
			continue
		}
		b, sigs, err := decodeReward(tx.Data())
		if err != nil {
			rep.Differences = append(rep.Differences, Difference{What: what, Message: fmt.Sprintf("not a FLEX.reward call: %v", err)})
			continue
		}
		fa.Records += len(b.Rewards)
		reg, err := registryAt(ft.block)
		if err != nil {
			return err
		}
		diffs := CheckRewardAttestations(b, sigs, digest(b.StructHash()), reg.k, reg.isAttestor)
		if reg.err != nil {
			return reg.err
		}
		rep.Differences = append(rep.Differences, diffs...)
	}
	for _, ft := range slashes {
		tx, _, err := tb.TransactionByHash(ctx, ft.tx)
		if err != nil {
			return fmt.Errorf("chain: audit: slash transaction %s: %w", ft.tx.Hex(), err)
		}
		fa.SlashTxs++
		what := "FLEX slash transaction " + ft.tx.Hex()
		if tx.To() == nil || *tx.To() != a.FLEX {
			rep.Differences = append(rep.Differences, Difference{What: what, Message: "slashed through another contract: its attestations cannot be read"})
			continue
		}
		s, sigs, err := decodeSlash(tx.Data())
		if err != nil {
			rep.Differences = append(rep.Differences, Difference{What: what, Message: fmt.Sprintf("not a FLEX.slash call: %v", err)})
			continue
		}
		reg, err := registryAt(ft.block)
		if err != nil {
			return err
		}
		diffs := CheckSlashAttestations(s, sigs, digest(s.StructHash()), reg.k, reg.isAttestor)
		if reg.err != nil {
			return reg.err
		}
		rep.Differences = append(rep.Differences, diffs...)
	}
	return nil
}

func mapsKeys(m map[common.Hash]*big.Int) func(func(common.Hash) bool) {
	return func(yield func(common.Hash) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// decodeReward reads the batch and signatures out of FLEX.reward call
// data (outside input: any transaction to the contract).
func decodeReward(data []byte) (RewardBatch, [][]byte, error) {
	args, err := callArgs(flexABI, "reward", data)
	if err != nil {
		return RewardBatch{}, nil, err
	}
	if len(args) != 2 {
		return RewardBatch{}, nil, errors.New("chain: FLEX.reward call data: want a batch and signatures")
	}
	fb := *abi.ConvertType(args[0], new(flex.FLEXRewardBatch)).(*flex.FLEXRewardBatch)
	sigs, ok := args[1].([][]byte)
	if !ok {
		return RewardBatch{}, nil, errors.New("chain: FLEX.reward call data: no signatures")
	}
	b := RewardBatch{BatchID: fb.BatchId}
	for _, r := range fb.Rewards {
		b.Rewards = append(b.Rewards, Reward{RecordID: r.RecordId, Provider: r.Provider, Amount: r.Amount, Kind: r.Kind, Evidence: r.Evidence})
	}
	return b, sigs, nil
}

// decodeSlash reads the slash and signatures out of FLEX.slash call data.
func decodeSlash(data []byte) (Slash, [][]byte, error) {
	args, err := callArgs(flexABI, "slash", data)
	if err != nil {
		return Slash{}, nil, err
	}
	if len(args) != 2 {
		return Slash{}, nil, errors.New("chain: FLEX.slash call data: want a slash and signatures")
	}
	fs := *abi.ConvertType(args[0], new(flex.FLEXSlash)).(*flex.FLEXSlash)
	sigs, ok := args[1].([][]byte)
	if !ok {
		return Slash{}, nil, errors.New("chain: FLEX.slash call data: no signatures")
	}
	return Slash{RecordID: fs.RecordId, Provider: fs.Provider, Award: fs.Award, AwardPrice: fs.AwardPrice, WindowValue: fs.WindowValue,
		Amount: fs.Amount, Evidence: fs.Evidence}, sigs, nil
}
