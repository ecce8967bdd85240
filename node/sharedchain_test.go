package node

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// chainStatus is GET /api/v1/chain as the network tests read it.
type chainStatus struct {
	ChainID   string `json:"chain_id"`
	RPC       string `json:"rpc"`
	Contracts struct {
		Registry, REC, FLEX string
		DeployBlock         uint64 `json:"deploy_block"`
	} `json:"contracts"`
	Account    string   `json:"account"`
	BalanceWei *string  `json:"balance_wei"`
	Attestors  []string `json:"attestors"`
	Threshold  *uint64  `json:"threshold"`
}

// TestNodesShareOneChain starts two nodes on one chain (startSharedPair).
// Both report the same chain id, contracts, attestor
// set and k; B's transactions land on A's chain in demo time; a third
// node pointed at the chain with another chain id, or at contracts that
// are not there, refuses to start.
func TestNodesShareOneChain(t *testing.T) {
	parallel(t)
	ctx := context.Background()
	sp := startSharedPair(t)
	a, b, idA, idB, clock, shared, start := sp.a, sp.b, sp.idA, sp.idB, sp.clock, sp.shared, sp.start
	ca := a.Chain().Contracts()

	var sa, sb chainStatus
	getJSON(t, "http://"+a.HTTPAddr()+"/api/v1/chain", &sa)
	getJSON(t, "http://"+b.HTTPAddr()+"/api/v1/chain", &sb)
	if sa.ChainID != "1337" || sb.ChainID != sa.ChainID || sb.Contracts != sa.Contracts {
		t.Errorf("node A: chain %s contracts %+v; node B: chain %s contracts %+v; want one chain", sa.ChainID, sa.Contracts, sb.ChainID, sb.Contracts)
	}
	wantSet := []string{common.HexToAddress(idA.Address).Hex(), common.HexToAddress(idB.Address).Hex()}
	for name, s := range map[string]chainStatus{"A": sa, "B": sb} {
		if fmt.Sprint(s.Attestors) != fmt.Sprint(wantSet) || s.Threshold == nil || *s.Threshold != 2 {
			t.Errorf("node %s: attestors %v k=%v, want %v k=2", name, s.Attestors, s.Threshold, wantSet)
		}
	}
	if sb.BalanceWei == nil || *sb.BalanceWei != chain.SimulatedFunds.String() {
		t.Errorf("node B's balance %v, want the genesis funds %s", sb.BalanceWei, chain.SimulatedFunds)
	}
	if sa.RPC != "embedded" || !strings.HasPrefix(sb.RPC, "http://127.0.0.1:") {
		t.Errorf("rpc A %q B %q, want embedded and node A's loopback URL", sa.RPC, sb.RPC)
	}

	// B issues a certificate batch for an hour that has ended in demo
	// time (a month ahead of the wall clock), attested by A and B.
	hour := uint64(clock.Now().Unix()/3600) - 1
	zone, err := chain.ZoneBytes("DE-LU")
	if err != nil {
		t.Fatal(err)
	}
	// The claim is a third node's (k = 2: A's or B's own claim would need
	// two attestors besides itself); B receives the certificates.
	batch := chain.NewIssueBatch([]chain.Claim{{Device: common.Hash(idB.DeviceKey(gridmint.DeviceID(idB.Address + "/opendtu/1"))), Node: common.HexToAddress("0x0000000000000000000000000000000000000c1a"), Owner: idB.Account, Zone: zone,
		Technology: chain.TechnologySolarPV, Hour: hour, Wh: 700, ReadingsRoot: common.Hash{1}}})
	digest := b.Chain().RECDomain().Digest(batch.StructHash())
	var sigs [][]byte
	for _, id := range []*Identity{idA, idB} {
		s, err := chain.Sign(id.Private, digest)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	if _, err := b.Chain().Issue(ctx, batch, sigs); err != nil {
		t.Fatalf("node B issues on the shared chain: %v", err)
	}
	tok := chain.TokenID{Zone: zone, Technology: chain.TechnologySolarPV, Hour: hour}
	if got, err := a.Chain().RECBalance(ctx, idB.Account, tok); err != nil || got.Cmp(big.NewInt(700)) != 0 {
		t.Errorf("node A sees B's certificates: %v, %v; want 700 Wh", got, err)
	}

	// Another chain id, and contracts that are not on this chain: refused.
	newDir := func() string {
		dir := t.TempDir()
		if _, err := DemoIdentity(dir); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	_, err = start(newDir(), strings.Replace(shared, "chain_id: 1337", "chain_id: 100", 1))
	if err == nil || !strings.Contains(err.Error(), "chain id 1337, want 100") || !strings.Contains(err.Error(), "chain.chain_id") {
		t.Errorf("a node expecting chain 100 on chain 1337: %v, want refused naming both ids and chain.chain_id", err)
	}
	_, err = start(newDir(), strings.Replace(shared, ca.Registry.Hex(), "0x00000000000000000000000000000000000000aa", 1))
	if err == nil || !strings.Contains(err.Error(), "no contract at") {
		t.Errorf("a node with a registry address that holds no contract: %v, want refused", err)
	}
}

// sharedPair is two nodes in one process on one demo clock (×60, a
// month ahead of the wall clock): A hosts the embedded chain and serves
// its JSON-RPC on loopback, funding B at genesis and registering both as
// attestors with k = 2; B uses it as its chain.rpc (shared) and
// bootstraps its gossip from A.
type sharedPair struct {
	clock    *gridmint.ScaledClock
	a, b     *Node
	idA, idB *Identity
	// shared is the chain section of a node on A's chain.
	shared string
	// start starts a further node (role utility) in dir with the chain
	// section chainYAML, its gossip bootstrapped from A.
	start func(dir, chainYAML string) (*Node, error)
}

func startSharedPair(t *testing.T) sharedPair {
	t.Helper()
	clock, err := gridmint.NewScaledClock(time.Now().Add(30*24*time.Hour), time.Now(), 60)
	if err != nil {
		t.Fatal(err)
	}
	sp := sharedPair{clock: clock}
	dirA, dirB := t.TempDir(), t.TempDir()
	if sp.idA, err = DemoIdentity(dirA); err != nil {
		t.Fatal(err)
	}
	if sp.idB, err = DemoIdentity(dirB); err != nil {
		t.Fatal(err)
	}
	bootstrap := "[]"
	start := func(dir, chainYAML string) (*Node, error) {
		cfg, err := ParseConfig(fmt.Appendf(nil, `
role: utility
data_dir: %s
http_addr: 127.0.0.1:0
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off", bootstrap: %s}
identity: {passphrase_file: %s}
chain: %s
`, dir, bootstrap, filepath.Join(dir, demoPassphraseFile), chainYAML))
		if err != nil {
			t.Fatal(err)
		}
		return Start(context.Background(), cfg, Options{Logger: testLogger(), Clock: clock})
	}
	sp.a, err = start(dirA, fmt.Sprintf(`{serve_rpc: "127.0.0.1:0", embedded_fund: [%q], attestors: [%q, %q], threshold: 2}`,
		sp.idB.Address, sp.idA.Address, sp.idB.Address))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.a.Close() })
	if sp.a.ChainRPCURL() == "" {
		t.Fatal("node A serves no chain JSON-RPC")
	}
	ca := sp.a.Chain().Contracts()
	sp.shared = fmt.Sprintf(`{rpc: %q, chain_id: 1337, confirmations: 0, contracts: {registry: %q, rec: %q, flex: %q, deploy_block: %d}}`,
		sp.a.ChainRPCURL(), ca.Registry.Hex(), ca.REC.Hex(), ca.FLEX.Hex(), ca.DeployBlock)
	bootstrap = fmt.Sprintf("[%q]", sp.a.P2PAddrs()[0])
	if sp.b, err = start(dirB, sp.shared); err != nil {
		t.Fatalf("node B on node A's chain: %v", err)
	}
	t.Cleanup(func() { sp.b.Close() })
	sp.start = start
	return sp
}
