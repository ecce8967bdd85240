package node

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/settle"
)

// The node runs the settlement engine: a batch it attests on its own
// embedded chain (it is the one attestor, k = 1) is issued by its own
// transaction, shown at GET /api/v1/batches, counted at /metrics, and
// still known after a restart.
func TestNodeSettlesAttestedBatch(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	cfg, err := ParseConfig(fmt.Appendf(nil, "data_dir: %s\nhttp_addr: 127.0.0.1:0\nmqtt: {broker: %s}\np2p: {listen: [/ip4/127.0.0.1/tcp/0]}\nadapters: [{dialect: opendtu}]\n", t.TempDir(), b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	start := func() *Node {
		n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := start()
	defer func() { n.Close() }()

	// A claim of another node's device (2025-01-01 00:00 UTC, long over).
	other := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	zone, _ := chain.ZoneBytes("DE-LU")
	claim := chain.Claim{Device: ethcrypto.Keccak256Hash([]byte(other.Hex() + "/opendtu/1")), Node: other, Owner: other, Zone: zone, Technology: chain.TechnologySolarPV,
		Hour: 1735689600 / 3600, Wh: 812, ReadingsRoot: ethcrypto.Keccak256Hash([]byte("readings"))}
	batch, err := settle.RECIssue([]chain.Claim{claim})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Settle().Attest(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	var got api.BatchList
	waitFor(t, "the batch settled, per the API", func() bool {
		got = api.BatchList{}
		getJSON(t, "http://"+n.HTTPAddr()+"/api/v1/batches", &got)
		return len(got.Batches) == 1 && got.Batches[0].State == settle.StateSettled
	})
	s := got.Batches[0]
	self := common.HexToAddress(n.Identity().Address)
	if s.ID != batch.ID() || s.Submitter == nil || *s.Submitter != self || s.Tx == nil || s.Attestations != 1 || s.K != 1 || s.Rank != 0 {
		t.Errorf("batch %+v; want it settled by this node (the one attestor)", s)
	}
	token, err := chain.NewTokenID("DE-LU", chain.TechnologySolarPV, claim.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if bal, err := n.chain.RECBalance(t.Context(), other, token); err != nil || bal.Uint64() != 812 {
		t.Errorf("owner's certificates: %v Wh (%v), want 812", bal, err)
	}
	metrics := get(t, "http://"+n.HTTPAddr()+"/metrics")
	for _, line := range []string{`gridmint_settle_batches_submitted_total{kind="rec_issue"} 1`, `gridmint_settle_batches{state="settled"} 1`, `gridmint_settle_attestors 1`} {
		if !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}

	n.Close()
	n = start()
	st, ok := n.Settle().Lookup(batch.ID())
	if !ok || st.State != settle.StateSettled || st.Tx == nil || *st.Tx != *s.Tx {
		t.Errorf("after a restart: %+v (known %v); want settled in %s", st, ok, s.Tx)
	}
}
