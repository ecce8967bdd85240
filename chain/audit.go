package chain

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
)

// AuditBackend is what Audit needs of a chain.
type AuditBackend interface {
	ethereum.LogFilterer
	ethereum.ContractCaller
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// Evidence is what the node's own attested records add up to, to compare
// with the chain. Nil fields are not compared.
type Evidence struct {
	// FLEXRewarded is the FLEX (base units) of the attested reward
	// records the node knows were submitted.
	FLEXRewarded *big.Int
	// RECIssued is the Wh of attested claims the node knows were issued,
	// by token id.
	RECIssued map[TokenID]*big.Int
	// IssueBatches are the Wh of each REC batch the node submitted and saw
	// mined, by batch id: each must be on chain as an Issued event of that
	// many Wh. Unlike the totals above this holds on a shared chain too,
	// where other nodes submit batches the node does not know.
	IssueBatches map[common.Hash]*big.Int
	// RewardRecords are the FLEX base units of each reward record the node
	// submitted and saw mined, by record id: each must be on chain as a
	// Rewarded event of that amount.
	RewardRecords map[common.Hash]*big.Int
	// Claims are the claims of the node's store (its own and those it
	// attested): each one the store has as issued (a certificate) must be
	// a claim of an Issued batch with the same device, hour and Wh.
	Claims []NodeClaim
}

// AuditOptions tune Audit.
type AuditOptions struct {
	// Chunk is the most blocks per eth_getLogs (default 2000).
	Chunk uint64
	// LargeFLEX and LargeREC surface transfers (mints and burns included)
	// of at least this many base units / Wh in the report; nil: none.
	LargeFLEX, LargeREC *big.Int
}

// SupplyFLEX is FLEX supply recomputed from events, in base units.
type SupplyFLEX struct {
	Minted   *big.Int `json:"minted"`   // Transfer from 0
	Burned   *big.Int `json:"burned"`   // Transfer to 0
	Rewarded *big.Int `json:"rewarded"` // Rewarded records
	Reserved *big.Int `json:"reserved"` // Reserved burns
	Slashed  *big.Int `json:"slashed"`  // Slashed burns
	Supply   *big.Int `json:"supply"`   // Minted − Burned
	OnChain  *big.Int `json:"on_chain"` // totalSupply() at the audited block
}

// SupplyREC is one token id's supply recomputed from events, in Wh.
type SupplyREC struct {
	Token   TokenID  `json:"token"`
	Minted  *big.Int `json:"minted"`
	Burned  *big.Int `json:"burned"`
	Retired *big.Int `json:"retired"`
	Supply  *big.Int `json:"supply"`
	OnChain *big.Int `json:"on_chain"` // totalSupply(id)
}

// Difference is one mismatch the audit found.
type Difference struct {
	What  string   `json:"what"`
	Token *TokenID `json:"token,omitempty"`
	Got   *big.Int `json:"got"`  // from chain events
	Want  *big.Int `json:"want"` // from contract state or the evidence
	// Message explains a difference that is not two numbers (Got and
	// Want then nil), or details one that is.
	Message string `json:"message,omitempty"`
}

func (d Difference) String() string {
	if d.Message != "" {
		return d.What + ": " + d.Message
	}
	if d.Token != nil {
		return fmt.Sprintf("%s %s: chain events %s, expected %s", d.What, d.Token, d.Got, d.Want)
	}
	return fmt.Sprintf("%s: chain events %s, expected %s", d.What, d.Got, d.Want)
}

// AuditReport is Audit's result. It is clean when Differences is empty.
type AuditReport struct {
	Block       BlockRef     `json:"block"` // audited up to and including
	FLEX        SupplyFLEX   `json:"flex"`
	REC         []SupplyREC  `json:"rec"`        // by token id
	RECIssued   *big.Int     `json:"rec_issued"` // Wh, sum of Issued batches
	Large       []Event      `json:"large,omitempty"`
	Differences []Difference `json:"differences"`
	// EvidenceBatches and EvidenceRecords count the REC batches and FLEX
	// reward records of the evidence checked one by one.
	EvidenceBatches int `json:"evidence_batches"`
	EvidenceRecords int `json:"evidence_records"`
	// Attestations is what the check of every Issued batch's signatures
	// found.
	Attestations AttestationAudit `json:"attestations"`
	// FLEXAttestations is what the check of every FLEX reward and slash
	// and every burn found (audit_flex.go).
	FLEXAttestations FLEXAttestationAudit `json:"flex_attestations"`
}

// Audit recomputes FLEX and REC supply from every event of the contracts
// from their deployment to the chain head, and reports where it differs
// from the contracts' totalSupply, from the Rewarded and Issued events
// (every mint must trace to an attested record or batch), and from the
// evidence given; and it checks the attestations of every Issued batch
// (CheckIssueAttestations) and the evidence's certificates against the
// issued claims. be must also read transactions (LedgerBackend).
func Audit(ctx context.Context, be AuditBackend, a Addresses, ev Evidence, opt AuditOptions) (*AuditReport, error) {
	if opt.Chunk == 0 {
		opt.Chunk = 2000
	}
	head, err := be.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("chain: audit: head: %w", err)
	}
	rep := &AuditReport{Block: BlockRef{Number: head.Number.Uint64(), Hash: head.Hash(), Time: head.Time}, RECIssued: new(big.Int),
		REC: []SupplyREC{}, Differences: []Difference{}}
	f := &rep.FLEX
	f.Minted, f.Burned, f.Rewarded, f.Reserved, f.Slashed = new(big.Int), new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	recs := map[TokenID]*SupplyREC{}
	recOf := func(t TokenID) *SupplyREC {
		s := recs[t]
		if s == nil {
			s = &SupplyREC{Token: t, Minted: new(big.Int), Burned: new(big.Int), Retired: new(big.Int)}
			recs[t] = s
		}
		return s
	}
	recMinted := new(big.Int)
	issuedBatches := map[common.Hash]*big.Int{} // Issued Wh by batch id
	rewardRecords := map[common.Hash]*big.Int{} // Rewarded amount by record id
	var batches []issuedBatch
	var rewardTxs, slashTxs []flexTx
	seenTx := map[common.Hash]bool{}
	burnedBy, reservedSlashedBy := map[common.Hash]*big.Int{}, map[common.Hash]*big.Int{}
	add := func(m map[common.Hash]*big.Int, k common.Hash, v *big.Int) {
		if m[k] == nil {
			m[k] = new(big.Int)
		}
		m[k].Add(m[k], v)
	}
	dec := newDecoder(a)
	var zero common.Address
	for from := a.DeployBlock; from <= rep.Block.Number; from += opt.Chunk {
		to := min(from+opt.Chunk-1, rep.Block.Number)
		logs, err := be.FilterLogs(ctx, ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(from), ToBlock: new(big.Int).SetUint64(to),
			Addresses: []common.Address{a.REC, a.FLEX}, Topics: [][]common.Hash{indexedTopics()},
		})
		if err != nil {
			return nil, fmt.Errorf("chain: audit: logs %d-%d: %w", from, to, err)
		}
		for i := range logs {
			evs, err := dec.decode(&logs[i])
			if err != nil {
				return nil, fmt.Errorf("chain: audit: block %d log %d: %w", logs[i].BlockNumber, logs[i].Index, err)
			}
			for _, e := range evs {
				switch e.Kind {
				case EventFLEXTransfer:
					if e.From == zero {
						f.Minted.Add(f.Minted, e.Amount)
					}
					if e.To == zero {
						f.Burned.Add(f.Burned, e.Amount)
						add(burnedBy, e.TxHash, e.Amount)
					}
					if opt.LargeFLEX != nil && e.Amount.Cmp(opt.LargeFLEX) >= 0 {
						rep.Large = append(rep.Large, e)
					}
				case EventRewarded:
					f.Rewarded.Add(f.Rewarded, e.Amount)
					add(rewardRecords, e.Ref, e.Amount)
					if !seenTx[e.TxHash] {
						seenTx[e.TxHash] = true
						rewardTxs = append(rewardTxs, flexTx{e.TxHash, e.Block})
					}
				case EventReserved:
					f.Reserved.Add(f.Reserved, e.Amount)
					add(reservedSlashedBy, e.TxHash, e.Amount)
				case EventSlashed:
					f.Slashed.Add(f.Slashed, e.Amount)
					add(reservedSlashedBy, e.TxHash, e.Amount)
					slashTxs = append(slashTxs, flexTx{e.TxHash, e.Block})
				case EventRECTransfer:
					s := recOf(e.Token)
					if e.From == zero {
						s.Minted.Add(s.Minted, e.Amount)
						recMinted.Add(recMinted, e.Amount)
					}
					if e.To == zero {
						s.Burned.Add(s.Burned, e.Amount)
					}
					if opt.LargeREC != nil && e.Amount.Cmp(opt.LargeREC) >= 0 {
						rep.Large = append(rep.Large, e)
					}
				case EventRetired:
					s := recOf(e.Token)
					s.Retired.Add(s.Retired, e.Amount)
				case EventIssued:
					rep.RECIssued.Add(rep.RECIssued, e.Amount)
					add(issuedBatches, e.Ref, e.Amount)
					batches = append(batches, issuedBatch{id: e.Ref, tx: e.TxHash, block: e.Block})
				}
			}
		}
	}
	at := new(big.Int).Set(head.Number)
	diff := func(what string, tok *TokenID, got, want *big.Int) {
		if got.Cmp(want) != 0 {
			rep.Differences = append(rep.Differences, Difference{What: what, Token: tok, Got: got, Want: want})
		}
	}

	f.Supply = new(big.Int).Sub(f.Minted, f.Burned)
	fb := flex.NewFLEX()
	if f.OnChain, err = callAt(ctx, be, a.FLEX, at, fb.PackTotalSupply(), fb.UnpackTotalSupply); err != nil {
		return nil, err
	}
	diff("FLEX supply vs totalSupply()", nil, f.Supply, f.OnChain)
	diff("FLEX minted vs Rewarded records", nil, f.Minted, f.Rewarded)
	diff("FLEX burned vs Reserved + Slashed", nil, f.Burned, new(big.Int).Add(f.Reserved, f.Slashed))
	if ev.FLEXRewarded != nil {
		diff("FLEX rewarded vs evidence", nil, f.Rewarded, ev.FLEXRewarded)
	}

	evidenceItems := func(what string, want, got map[common.Hash]*big.Int) {
		ids := slices.SortedFunc(maps.Keys(want), func(x, y common.Hash) int { return x.Cmp(y) })
		for _, id := range ids {
			g := got[id]
			if g == nil {
				g = new(big.Int)
			}
			diff(what+" "+id.Hex()+" vs evidence", nil, g, want[id])
		}
	}
	rep.EvidenceBatches, rep.EvidenceRecords = len(ev.IssueBatches), len(ev.RewardRecords)
	evidenceItems("REC batch", ev.IssueBatches, issuedBatches)
	evidenceItems("FLEX reward record", ev.RewardRecords, rewardRecords)

	if err := auditAttestations(ctx, be, a, at, batches, ev, rep); err != nil {
		return nil, err
	}
	if err := auditFLEX(ctx, be, a, at, rewardTxs, slashTxs, burnedBy, reservedSlashedBy, rep); err != nil {
		return nil, err
	}
	rb := rec.NewREC()
	diff("REC minted vs Issued batches", nil, recMinted, rep.RECIssued)
	for t := range ev.RECIssued {
		recOf(t)
	}
	for _, s := range recs {
		s.Supply = new(big.Int).Sub(s.Minted, s.Burned)
		if s.OnChain, err = callAt(ctx, be, a.REC, at, rb.PackTotalSupply0(s.Token.Big()), rb.UnpackTotalSupply0); err != nil {
			return nil, err
		}
		tok := s.Token
		diff("REC supply vs totalSupply(id)", &tok, s.Supply, s.OnChain)
		diff("REC burned vs Retired", &tok, s.Burned, s.Retired)
		if ev.RECIssued != nil {
			want := ev.RECIssued[s.Token]
			if want == nil {
				want = new(big.Int)
			}
			diff("REC issued vs evidence", &tok, s.Minted, want)
		}
		rep.REC = append(rep.REC, *s)
	}
	slices.SortFunc(rep.REC, func(x, y SupplyREC) int { return compareTokens(x.Token, y.Token) })
	slices.SortStableFunc(rep.Differences, func(x, y Difference) int {
		if x.Token == nil || y.Token == nil {
			return 0
		}
		return compareTokens(*x.Token, *y.Token)
	})
	return rep, nil
}

func callAt[T any](ctx context.Context, be ethereum.ContractCaller, to common.Address, at *big.Int, data []byte, unpack func([]byte) (T, error)) (T, error) {
	var zero T
	out, err := be.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, at)
	if err != nil {
		return zero, fmt.Errorf("chain: audit: call %s: %w", to, err)
	}
	return unpack(out)
}
