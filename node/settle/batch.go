package settle

import (
	"bytes"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/p2p"
)

// Kind names what a batch does on chain. The values are stable: they are
// stored, shown by the API and used as metric labels.
type Kind string

// Batch kinds.
const (
	// KindRECIssue issues certificates: chain.IssueBatch, REC.issue.
	KindRECIssue Kind = "rec_issue"
	// KindFLEXReward mints rewards: chain.RewardBatch, FLEX.reward.
	KindFLEXReward Kind = "flex_reward"
	// KindFLEXSlash burns part of a provider's stake for one
	// under-delivered award: chain.Slash, FLEX.slash.
	KindFLEXSlash Kind = "flex_slash"
)

// Kinds lists every kind, so counters can start at zero.
var Kinds = []Kind{KindRECIssue, KindFLEXReward, KindFLEXSlash}

// subjectKind is the gossip subject kind of a batch kind's attestations.
func (k Kind) subjectKind() p2p.SubjectKind {
	switch k {
	case KindRECIssue:
		return p2p.SubjectIssueBatch
	case KindFLEXReward:
		return p2p.SubjectRewardBatch
	case KindFLEXSlash:
		return p2p.SubjectSlash
	}
	return 0
}

// kindOfSubject is the inverse of subjectKind; ok is false for subjects
// that are not batches.
func kindOfSubject(s p2p.SubjectKind) (Kind, bool) {
	for _, k := range Kinds {
		if k.subjectKind() == s {
			return k, true
		}
	}
	return "", false
}

// Batch is one batch to settle: the call the contract is made with and,
// per item, whose signatures do not count for it.
type Batch struct {
	Kind Kind
	// Issue is the REC batch, for KindRECIssue.
	Issue *chain.IssueBatch `json:",omitempty"`
	// Reward is the FLEX batch, for KindFLEXReward.
	Reward *chain.RewardBatch `json:",omitempty"`
	// Slash is the slash, for KindFLEXSlash.
	Slash *chain.Slash `json:",omitempty"`
	// Exclusions are the batch items' excluded signers: for every entry
	// the batch needs k counting signers outside it. A REC batch has one
	// entry per claiming node, that node alone (its own signature never
	// counts for its own devices, rec.Registry.Eligible). Empty: every
	// registered attestor counts for every item.
	Exclusions [][]common.Address `json:",omitempty"`
}

// RECIssue is the batch issuing claims, each naming the node that made
// it (chain.Claim.Node: its own signature never counts for it). Claims
// are put in the contract's order (chain.NewIssueBatch), so every node
// builds the same batch, with the same id, from the same claims.
func RECIssue(claims []chain.Claim) (Batch, error) {
	if len(claims) == 0 {
		return Batch{}, gridmint.Errorf(gridmint.EInvalid, "settle: a REC batch without claims")
	}
	nodes := make([]common.Address, len(claims))
	for i, c := range claims {
		if c.Node == (common.Address{}) {
			return Batch{}, gridmint.Errorf(gridmint.EInvalid, "settle: claim %d names no node: the node's own signature must not count for it", i)
		}
		nodes[i] = c.Node
	}
	b := chain.NewIssueBatch(claims)
	return Batch{Kind: KindRECIssue, Issue: &b, Exclusions: exclusionsOf(nodes)}, nil
}

// FLEXReward is the batch minting rewards; nodes[i] is the node whose
// signature does not count for rewards[i] (the provider's own node), or
// zero when every attestor counts.
func FLEXReward(rewards []chain.Reward, nodes []common.Address) (Batch, error) {
	if len(rewards) == 0 || len(rewards) != len(nodes) {
		return Batch{}, gridmint.Errorf(gridmint.EInvalid, "settle: %d rewards with %d nodes: want as many nodes as rewards, at least one", len(rewards), len(nodes))
	}
	b := chain.NewRewardBatch(rewards)
	return Batch{Kind: KindFLEXReward, Reward: &b, Exclusions: exclusionsOf(nodes)}, nil
}

// FLEXSlash is the batch of one slash; the provider's own signature does
// not count for it.
func FLEXSlash(s chain.Slash) (Batch, error) {
	b := Batch{Kind: KindFLEXSlash, Slash: &s, Exclusions: exclusionsOf([]common.Address{s.Provider})}
	return b, b.Validate()
}

// exclusionsOf is one single-signer entry per distinct non-zero node, in
// address order: items excluding the same signer pose the same condition.
func exclusionsOf(nodes []common.Address) [][]common.Address {
	var distinct []common.Address
	for _, n := range nodes {
		if n != (common.Address{}) && !slices.Contains(distinct, n) {
			distinct = append(distinct, n)
		}
	}
	slices.SortFunc(distinct, func(a, b common.Address) int { return bytes.Compare(a[:], b[:]) })
	out := make([][]common.Address, len(distinct))
	for i, n := range distinct {
		out[i] = []common.Address{n}
	}
	return out
}

// ID is the batch id the contract knows the batch by.
func (b Batch) ID() common.Hash {
	switch {
	case b.Kind == KindRECIssue && b.Issue != nil:
		return b.Issue.BatchID
	case b.Kind == KindFLEXReward && b.Reward != nil:
		return b.Reward.BatchID
	case b.Kind == KindFLEXSlash && b.Slash != nil:
		return b.Slash.RecordID
	}
	return common.Hash{}
}

// Items is the number of claims or rewards.
func (b Batch) Items() int {
	switch {
	case b.Issue != nil:
		return len(b.Issue.Claims)
	case b.Reward != nil:
		return len(b.Reward.Rewards)
	case b.Slash != nil:
		return 1
	}
	return 0
}

// Validate checks what the contract would refuse before any signature:
// a kind with its payload, items, and an id that is the hash of the items
// in the contract's order.
func (b Batch) Validate() error {
	bad := func(format string, args ...any) error {
		return gridmint.Errorf(gridmint.EInvalid, "settle: batch: "+format, args...)
	}
	switch b.Kind {
	case KindRECIssue:
		if b.Issue == nil || b.Reward != nil || b.Slash != nil {
			return bad("%s needs an issue batch and nothing else", b.Kind)
		}
		if len(b.Issue.Claims) == 0 {
			return bad("no claims")
		}
		if want := chain.NewIssueBatch(b.Issue.Claims); want.BatchID != b.Issue.BatchID || !slices.Equal(want.Claims, b.Issue.Claims) {
			return bad("id %s is not the hash of its claims in device, hour order", b.Issue.BatchID)
		}
	case KindFLEXReward:
		if b.Reward == nil || b.Issue != nil || b.Slash != nil {
			return bad("%s needs a reward batch and nothing else", b.Kind)
		}
		if len(b.Reward.Rewards) == 0 {
			return bad("no rewards")
		}
		want := chain.NewRewardBatch(b.Reward.Rewards)
		same := want.BatchID == b.Reward.BatchID && slices.EqualFunc(want.Rewards, b.Reward.Rewards, func(x, y chain.Reward) bool {
			return x.StructHash() == y.StructHash()
		})
		if !same {
			return bad("id %s is not the hash of its rewards in record order", b.Reward.BatchID)
		}
	case KindFLEXSlash:
		sl := b.Slash
		switch {
		case sl == nil || b.Issue != nil || b.Reward != nil:
			return bad("%s needs a slash and nothing else", b.Kind)
		case sl.RecordID == (common.Hash{}) || sl.Provider == (common.Address{}) || sl.Award == (common.Hash{}):
			return bad("slash without a record id, provider or award")
		case sl.Amount == nil || sl.Amount.Sign() <= 0 || sl.AwardPrice == nil || sl.WindowValue == nil || sl.WindowValue.Sign() <= 0 ||
			sl.AwardPrice.Sign() < 0 || sl.AwardPrice.Cmp(sl.WindowValue) > 0:
			return bad("slash amounts: amount %v, award %v of window %v", sl.Amount, sl.AwardPrice, sl.WindowValue)
		}
	default:
		return bad("kind %q unknown", b.Kind)
	}
	for i, e := range b.Exclusions {
		if len(e) == 0 {
			return bad("exclusion %d is empty", i)
		}
	}
	return nil
}

// structHash is the batch's EIP-712 struct hash.
func (b Batch) structHash() common.Hash {
	switch {
	case b.Issue != nil:
		return b.Issue.StructHash()
	case b.Slash != nil:
		return b.Slash.StructHash()
	}
	return b.Reward.StructHash()
}

// quorum reports whether signers (distinct registered attestors) give
// every exclusion entry k signers outside it.
func quorum(exclusions [][]common.Address, signers []common.Address, k int) bool {
	if k <= 0 || len(signers) < k {
		return false
	}
	for _, e := range exclusions {
		n := 0
		for _, s := range signers {
			if !slices.Contains(e, s) {
				n++
			}
		}
		if n < k {
			return false
		}
	}
	return true
}

// SelectSigners picks, from the attestors whose signatures are at hand,
// the fewest that give every exclusion entry k signers outside it (the
// fewest signatures, the least gas): k signers excluded nowhere if there
// are k, else all of those and then excluded ones, each in address order,
// until the quorum holds. It is rec.Registry.SelectSigners for any batch
// (TestSelectSignersAgreesWithRec). Adding a signer never lowers an
// entry's count, so ok is false exactly when all of available together
// make no quorum. available must hold registered attestors only.
func SelectSigners(exclusions [][]common.Address, available []common.Address, k int) (signers []common.Address, ok bool) {
	excluded := map[common.Address]bool{}
	for _, e := range exclusions {
		for _, a := range e {
			excluded[a] = true
		}
	}
	var free, own []common.Address
	seen := map[common.Address]bool{}
	for _, a := range available {
		if seen[a] {
			continue
		}
		seen[a] = true
		if excluded[a] {
			own = append(own, a)
		} else {
			free = append(free, a)
		}
	}
	byAddr := func(a, b common.Address) int { return bytes.Compare(a[:], b[:]) }
	slices.SortFunc(free, byAddr)
	slices.SortFunc(own, byAddr)
	if k > 0 && len(free) >= k {
		return free[:k], true
	}
	picked := slices.Clone(free)
	for _, a := range own {
		picked = append(picked, a)
		if quorum(exclusions, picked, k) {
			slices.SortFunc(picked, byAddr)
			return picked, true
		}
	}
	return nil, false
}
