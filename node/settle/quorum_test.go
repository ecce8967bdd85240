package settle

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/rec"
)

// SelectSigners with RECIssue's exclusions is rec.Registry.SelectSigners:
// the engine submits the signatures the rec rules would pick.
func TestSelectSignersAgreesWithRec(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	nodes := []common.Address{Addr(1), Addr(2), Addr(3), Addr(4), Addr(5), Addr(6)}
	var picked, refused, withClaimants int
	for round := range 2000 {
		var members []common.Address
		for _, n := range nodes {
			if rng.IntN(4) > 0 {
				members = append(members, n)
			}
		}
		if len(members) == 0 {
			continue
		}
		k := 1 + rng.IntN(len(members))
		reg := rec.Registry{K: k}
		for _, m := range members {
			reg.Attestors = append(reg.Attestors, gridmint.Address(m))
		}
		var claims []gridmint.Claim
		var claimNodes []common.Address
		for range 1 + rng.IntN(4) {
			n := nodes[rng.IntN(len(nodes))]
			claims = append(claims, gridmint.Claim{Node: gridmint.Address(n)})
			claimNodes = append(claimNodes, n)
		}
		var available []gridmint.Address
		var counting []common.Address // what the engine passes: registry members only
		for _, n := range nodes {
			if rng.IntN(3) > 0 {
				available = append(available, gridmint.Address(n))
				if slices.Contains(members, n) {
					counting = append(counting, n)
				}
			}
		}
		want, werr := reg.SelectSigners(claims, available)
		got, ok := SelectSigners(exclusionsOf(claimNodes), counting, k)
		if ok != (werr == nil) {
			t.Fatalf("round %d: settle ok=%v, rec err=%v (k=%d, members %d, claims by %v, available %d)", round, ok, werr, k, len(members), claimNodes, len(available))
		}
		if !ok {
			refused++
			continue
		}
		picked++
		if slices.ContainsFunc(got, func(a common.Address) bool { return slices.Contains(claimNodes, a) }) {
			withClaimants++
		}
		if len(got) != len(want) {
			t.Fatalf("round %d: settle picked %v, rec %v", round, got, want)
		}
		for i := range got {
			if gridmint.Address(got[i]) != want[i] {
				t.Fatalf("round %d: settle picked %v, rec %v", round, got, want)
			}
		}
		if !quorum(exclusionsOf(claimNodes), got, k) {
			t.Fatalf("round %d: the picked signers %v make no quorum", round, got)
		}
	}
	// The rounds must cover both outcomes and the case where claimants'
	// signatures are needed, or the comparison proves little.
	if picked < 200 || refused < 200 || withClaimants < 50 {
		t.Errorf("rounds: %d picked (%d with claimants), %d refused; the generator needs rebalancing", picked, withClaimants, refused)
	}
}

// A claim's own node never counts for it: with k = 2 a batch of node 1's
// claim needs two others; a batch of nodes 1's and 2's claims needs three
// signatures when only nodes 1 to 3 attest.
func TestQuorumExcludesClaimants(t *testing.T) {
	one := exclusionsOf([]common.Address{Addr(1)})
	two := exclusionsOf([]common.Address{Addr(1), Addr(2), Addr(1)})
	cases := []struct {
		name    string
		excl    [][]common.Address
		signers []common.Address
		want    bool
	}{
		{"claimant and one other", one, []common.Address{Addr(1), Addr(2)}, false},
		{"two others", one, []common.Address{Addr(2), Addr(3)}, true},
		{"two claimants and a third: each claim has two others", two, []common.Address{Addr(1), Addr(2), Addr(3)}, true},
		{"two claimants only", two, []common.Address{Addr(1), Addr(2)}, false},
		{"no exclusions", nil, []common.Address{Addr(1), Addr(2)}, true},
		{"below k", nil, []common.Address{Addr(1)}, false},
	}
	for _, c := range cases {
		if got := quorum(c.excl, c.signers, 2); got != c.want {
			t.Errorf("%s: quorum = %v, want %v", c.name, got, c.want)
		}
	}
	if len(two) != 2 {
		t.Errorf("exclusions of claims by nodes 1, 2, 1 = %v, want one entry per node", two)
	}
	got, ok := SelectSigners(two, []common.Address{Addr(3), Addr(2), Addr(1)}, 2)
	if !ok || len(got) != 3 {
		t.Errorf("SelectSigners for two claimants = %v, %v; want all three", got, ok)
	}
}

func TestBatchValidate(t *testing.T) {
	good := recBatch(t, 1, pastHour)
	if err := good.Validate(); err != nil {
		t.Fatalf("valid batch: %v", err)
	}
	tampered := cloneBatch(good)
	tampered.Issue.Claims[0].Wh++
	twoClaims, err := RECIssue([]chain.Claim{testClaim(1, "a", pastHour, 1), testClaim(2, "b", pastHour, 2)})
	if err != nil {
		t.Fatal(err)
	}
	unsorted := cloneBatch(twoClaims)
	slices.Reverse(unsorted.Issue.Claims)
	reward, err := FLEXReward([]chain.Reward{{RecordID: common.Hash{1}, Provider: Addr(1), Amount: nil, Kind: chain.RewardDelivery}}, []common.Address{{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(reward.Exclusions) != 0 {
		t.Errorf("a reward without a node to exclude has exclusions %v", reward.Exclusions)
	}
	badReward := cloneBatch(reward)
	badReward.Reward.Rewards[0].Kind = chain.RewardAvailability
	cases := []struct {
		name string
		b    Batch
	}{
		{"a claim changed after the id was made", tampered},
		{"claims out of the contract's order", unsorted},
		{"a reward changed after the id was made", badReward},
		{"no kind", Batch{Issue: good.Issue}},
		{"kind without its payload", Batch{Kind: KindFLEXReward, Issue: good.Issue}},
		{"empty exclusion", Batch{Kind: KindRECIssue, Issue: good.Issue, Exclusions: [][]common.Address{{}}}},
		{"no claims", Batch{Kind: KindRECIssue, Issue: &chain.IssueBatch{}}},
	}
	for _, c := range cases {
		if err := c.b.Validate(); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("%s: Validate = %v, want an invalid error", c.name, err)
		}
	}
	noNode := testClaim(1, "a", pastHour, 1)
	noNode.Node = common.Address{}
	if _, err := RECIssue([]chain.Claim{noNode}); err == nil {
		t.Error("RECIssue accepted a claim without its node")
	}
	if _, err := RECIssue(nil); err == nil {
		t.Error("RECIssue accepted no claims")
	}
}
