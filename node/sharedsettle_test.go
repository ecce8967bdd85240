package node

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
)

// TestNodesSettleOnTheSharedChain: on the network of startSharedPair
// (A's embedded chain served to B; registry {A, B}, k = 2, set up from
// the config at A's first start; one demo clock) both settlement engines
// count and elect by that registry: a certificate batch for an hour that
// ended in demo time, attested by A and B over gossip, is issued once,
// by the elected node, and both nodes show it settled in the same
// transaction at GET /api/v1/batches.
func TestNodesSettleOnTheSharedChain(t *testing.T) {
	parallel(t)
	sp := startSharedPair(t)
	a, b := sp.a, sp.b
	addrA, addrB := common.HexToAddress(sp.idA.Address), common.HexToAddress(sp.idB.Address)
	hears := func(x, y *Node) bool {
		for _, p := range x.P2P().Peers() {
			if p.ID == y.P2P().PeerID() && slices.Contains(p.Topics, p2p.TopicAttestations) {
				return true
			}
		}
		return false
	}
	waitFor(t, "A and B on each other's attestations topic", func() bool { return hears(a, b) && hears(b, a) })

	// A third node's device: neither A nor B is excluded from attesting.
	other := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	zone, err := chain.ZoneBytes("DE-LU")
	if err != nil {
		t.Fatal(err)
	}
	hour := uint64(sp.clock.Now().Unix()/3600) - 1
	claim := chain.Claim{Device: ethcrypto.Keccak256Hash([]byte("a device of node 0xaa")), Node: other, Owner: other, Zone: zone,
		Technology: chain.TechnologySolarPV, Hour: hour, Wh: 650, ReadingsRoot: ethcrypto.Keccak256Hash([]byte("readings"))}
	batch, err := settle.RECIssue([]chain.Claim{claim})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*Node{a, b} {
		if err := n.Settle().Attest(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}

	settled := func(n *Node) (settle.Status, bool) {
		s, ok := n.Settle().Lookup(batch.ID())
		return s, ok && s.State == settle.StateSettled && s.Tx != nil
	}
	waitFor(t, "the batch settled at A and B", func() bool {
		_, okA := settled(a)
		_, okB := settled(b)
		return okA && okB
	})
	sa, _ := settled(a)
	sb, _ := settled(b)
	if *sa.Tx != *sb.Tx || sa.Submitter == nil || sb.Submitter == nil || *sa.Submitter != *sb.Submitter {
		t.Errorf("A: tx %s by %v; B: tx %s by %v; want one transaction", sa.Tx, sa.Submitter, sb.Tx, sb.Submitter)
	}
	// The registry set up from A's config is what both count and elect by.
	for name, s := range map[string]settle.Status{"A": sa, "B": sb} {
		if s.K != 2 || len(s.Order) != 2 || !slices.Contains(s.Order, addrA) || !slices.Contains(s.Order, addrB) {
			t.Errorf("node %s: k %d, order %v; want k = 2 over A and B", name, s.K, s.Order)
		}
	}
	if *sa.Submitter != sa.Order[0] {
		t.Errorf("submitted by %s, the elected is %s", sa.Submitter, sa.Order[0])
	}
	elected := map[common.Address]*Node{addrA: a, addrB: b}[sa.Order[0]]
	line := `gridmint_settle_batches_submitted_total{kind="rec_issue"} 1`
	if m := get(t, "http://"+elected.HTTPAddr()+"/metrics"); !strings.Contains(m, line) {
		t.Errorf("the elected node's /metrics lacks %q", line)
	}
	tok := chain.TokenID{Zone: zone, Technology: chain.TechnologySolarPV, Hour: hour}
	if got, err := b.Chain().RECBalance(t.Context(), other, tok); err != nil || got.Cmp(big.NewInt(650)) != 0 {
		t.Errorf("the owner's certificates: %v, %v; want 650 Wh", got, err)
	}

	// The API shows the same batch, transaction and submitter on both.
	type listed struct {
		Batches []struct {
			ID        common.Hash     `json:"id"`
			State     string          `json:"state"`
			Tx        *common.Hash    `json:"tx"`
			Submitter *common.Address `json:"submitter"`
		} `json:"batches"`
	}
	var la, lb listed
	getJSON(t, "http://"+a.HTTPAddr()+"/api/v1/batches", &la)
	getJSON(t, "http://"+b.HTTPAddr()+"/api/v1/batches", &lb)
	if fmt.Sprint(la) != fmt.Sprint(lb) || len(la.Batches) != 1 || la.Batches[0].ID != batch.ID() || la.Batches[0].State != "settled" ||
		la.Batches[0].Tx == nil || *la.Batches[0].Tx != *sa.Tx {
		t.Errorf("GET /api/v1/batches: A %+v, B %+v; want the one batch settled in %s on both", la, lb, sa.Tx)
	}
}
