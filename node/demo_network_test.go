package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/store"
	"github.com/gridmint/gridmint/rec"
)

// TestDemoSettlementAndNetwork starts the demo and checks what it adds
// beyond the devices: the settlement contracts deployed on the embedded
// chain and followed by the indexer, the node's libp2p identity at
// /api/v1/peers, and the demo's battery offer signed and kept in the
// gossip history. A restart keeps the same chain and contracts.
func TestDemoSettlementAndNetwork(t *testing.T) {
	parallel(t)
	dir := t.TempDir()
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), demoSpeed)
	d, err := StartDemo(context.Background(), demoOptions(dir, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()
	base := "http://" + d.Node.HTTPAddr()
	id := d.Node.Identity()

	type chainInfo struct {
		ChainID   string `json:"chain_id"`
		RPC       string `json:"rpc"`
		Contracts struct {
			Registry    string `json:"registry"`
			REC         string `json:"rec"`
			FLEX        string `json:"flex"`
			DeployBlock uint64 `json:"deploy_block"`
		} `json:"contracts"`
		Account   string `json:"account"`
		IndexHead struct {
			Number uint64 `json:"number"`
		} `json:"index_head"`
	}
	var ci chainInfo
	waitFor(t, "the indexer to reach the deployment block", func() bool {
		getJSON(t, base+"/api/v1/chain", &ci)
		return ci.Contracts.DeployBlock > 0 && ci.IndexHead.Number >= ci.Contracts.DeployBlock
	})
	if ci.ChainID != "1337" || ci.RPC != "embedded" {
		t.Errorf("chain %s via %s, want the embedded chain 1337", ci.ChainID, ci.RPC)
	}
	for name, a := range map[string]string{"registry": ci.Contracts.Registry, "rec": ci.Contracts.REC, "flex": ci.Contracts.FLEX} {
		if !strings.HasPrefix(a, "0x") || len(a) != 42 || a == "0x0000000000000000000000000000000000000000" {
			t.Errorf("contract %s at %q, want a deployed address", name, a)
		}
	}
	if !strings.EqualFold(ci.Account, id.Address) {
		t.Errorf("chain account %s, want the node's address %s (one key)", ci.Account, id.Address)
	}

	var peers struct {
		PeerID      string   `json:"peer_id"`
		Address     string   `json:"address"`
		ListenAddrs []string `json:"listen_addrs"`
		Peers       []any    `json:"peers"`
	}
	getJSON(t, base+"/api/v1/peers", &peers)
	if peers.PeerID != id.PeerID.String() || peers.Address != id.Address {
		t.Errorf("peers: peer %s address %s, want %s %s", peers.PeerID, peers.Address, id.PeerID, id.Address)
	}
	if len(peers.ListenAddrs) == 0 || !strings.HasSuffix(peers.ListenAddrs[0], "/p2p/"+id.PeerID.String()) {
		t.Errorf("listen addrs %q, want dialable addresses ending in the peer ID", peers.ListenAddrs)
	}
	if peers.Peers == nil {
		t.Error(`peers is null, want [] for a node alone`)
	}

	// The demo offers its battery; the offer is signed by the node and kept
	// in the gossip history it serves to peers catching up.
	type messages struct {
		Messages []struct {
			Kind   string         `json:"kind"`
			Author string         `json:"author"`
			Body   map[string]any `json:"body"`
		} `json:"messages"`
	}
	from := clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := clock.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	var m messages
	waitFor(t, "the demo's battery offer in the gossip history", func() bool {
		getJSON(t, base+"/api/v1/p2p/messages?topic=offers&from="+from+"&to="+to, &m)
		return len(m.Messages) > 0
	})
	o := m.Messages[0]
	battery := gridmint.DeviceID(id.Address + "/victron/" + DemoBatterySerial)
	if o.Kind != "offer" || o.Author != id.Address || o.Body["device"] != id.DeviceKey(battery).String() || o.Body["zone"] != DemoZone {
		t.Errorf("offer %+v, want the node's battery (key %s) in %s authored by %s", o, id.DeviceKey(battery), DemoZone, id.Address)
	}
	if body := fmt.Sprint(o.Body); strings.Contains(body, DemoBatterySerial) {
		t.Errorf("gossiped offer %s shows the battery's serial %s", body, DemoBatterySerial)
	}

	// Restart: the same chain, contracts and index.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err = StartDemo(context.Background(), demoOptions(dir, clock)); err != nil {
		t.Fatalf("restart: %v", err)
	}
	var again chainInfo
	getJSON(t, "http://"+d.Node.HTTPAddr()+"/api/v1/chain", &again)
	if again.Contracts != ci.Contracts {
		t.Errorf("contracts after restart %+v, want %+v", again.Contracts, ci.Contracts)
	}
	if again.IndexHead.Number < ci.IndexHead.Number {
		t.Errorf("index head %d after restart, was %d", again.IndexHead.Number, ci.IndexHead.Number)
	}
}

// TestAuditChecksTheNodesOwnBatches: `gridmint audit` takes the node's
// evidence from the batches it submitted. A batch the node issued audits
// clean; with the record of it gone, the chain holds REC the node cannot
// account for, and the audit says so.
func TestAuditChecksTheNodesOwnBatches(t *testing.T) {
	parallel(t)
	dir := t.TempDir()
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), demoSpeed)
	d, err := StartDemo(context.Background(), demoOptions(dir, clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := d.Node.chain
	head, err := c.Backend().HeaderByNumber(ctx, nil)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	id := d.Node.Identity()
	zone, _ := chain.ZoneBytes(DemoZone)
	// The demo node is the only attestor (k = 1): a claim naming it as
	// its node is refused on chain (its own signature does not count);
	// one of another node it may attest alone.
	mk := func(node common.Address) chain.IssueBatch {
		return chain.NewIssueBatch([]chain.Claim{{Device: common.Hash(id.DeviceKey(gridmint.DeviceID(id.Address + "/opendtu/" + DemoInverterSerial))), Node: node, Owner: id.Account,
			Zone: zone, Technology: chain.TechnologySolarPV, Hour: head.Time/3600 - 2, Wh: 1234}})
	}
	signed := func(b chain.IssueBatch) [][]byte {
		sig, err := chain.Sign(id.Private, c.RECDomain().Digest(b.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		return [][]byte{sig}
	}
	own := mk(id.Account)
	var rv *chain.RevertError
	if _, err := c.Issue(ctx, own, signed(own)); !errors.As(err, &rv) || rv.Name != "SelfAttested" {
		d.Close()
		t.Fatalf("issue of the node's own claim signed by itself alone: %v, want revert SelfAttested", err)
	}
	b := mk(common.HexToAddress("0x00000000000000000000000000000000000a11ce"))
	_, err = c.Issue(ctx, b, signed(b))
	if err == nil {
		// While the node runs, its embedded chain is read through its
		// read-only JSON-RPC, found by the address in its data dir.
		var rep *chain.AuditReport
		rep, err = Audit(ctx, DemoDataConfig(dir), Options{})
		if err == nil && (len(rep.Differences) != 0 || rep.EvidenceBatches != 1 || rep.RECIssued.Int64() != 1234) {
			err = fmt.Errorf("audit of the running node: %d evidence batches, %v Wh issued, differences %v; want 1 batch of 1234 Wh and none", rep.EvidenceBatches, rep.RECIssued, rep.Differences)
		}
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	rep, err := Audit(ctx, DemoDataConfig(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || rep.EvidenceBatches != 1 || rep.RECIssued.Int64() != 1234 {
		t.Errorf("audit: %d evidence batches, %v Wh issued, differences %v; want 1 batch of 1234 Wh and none", rep.EvidenceBatches, rep.RECIssued, rep.Differences)
	}

	// Read-only over JSON-RPC, without the key: the embedded chain served
	// by URL as any EVM node would serve it.
	sim, err := chain.NewSimulated(chain.SimulatedConfig{Dir: filepath.Join(dir, chainDir, chainEmbeddedDir),
		Alloc: types.GenesisAlloc{id.Account: {Balance: chain.SimulatedFunds}}})
	if err != nil {
		t.Fatal(err)
	}
	handler, err := sim.RPCHandler()
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	addrs, _, err := readContracts(filepath.Join(dir, chainDir, chainContractsFile))
	if err != nil {
		t.Fatal(err)
	}
	outside, err := AuditRPC(ctx, srv.URL, addrs, chain.Evidence{})
	if err == nil && (len(outside.Differences) != 0 || outside.RECIssued.Int64() != 1234 || outside.EvidenceBatches != 0) {
		err = fmt.Errorf("%d Wh issued, %d evidence batches, differences %v; want 1234 Wh, none, none", outside.RECIssued, outside.EvidenceBatches, outside.Differences)
	}
	if err != nil {
		t.Errorf("outside audit over RPC: %v", err)
	}
	cfg := DemoDataConfig(dir)
	cfg.Identity.PassphraseFile = filepath.Join(t.TempDir(), "absent") // the key is not needed
	cfg.Chain.RPC = srv.URL
	cfg.Chain.Contracts = ContractsConfig{Registry: addrs.Registry.Hex(), REC: addrs.REC.Hex(), FLEX: addrs.FLEX.Hex(), DeployBlock: addrs.DeployBlock}
	viaRPC, err := Audit(ctx, cfg, Options{})
	if err == nil && (len(viaRPC.Differences) != 0 || viaRPC.EvidenceBatches != 1) {
		err = fmt.Errorf("%d evidence batches, differences %v; want the node's 1 batch checked, none", viaRPC.EvidenceBatches, viaRPC.Differences)
	}
	if err != nil {
		t.Errorf("node audit with chain.rpc: %v", err)
	}
	srv.Close()
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}

	intents, err := filepath.Glob(filepath.Join(dir, chainDir, chainIntentsDir, "*.json"))
	if err != nil || len(intents) == 0 {
		t.Fatalf("intent files %v, %v", intents, err)
	}
	for _, f := range intents {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = Audit(ctx, DemoDataConfig(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) == 0 {
		t.Error("REC on chain that the node has no record of: no difference")
	}

	// The node's store names the batch's claim as issued, and a second
	// issued claim no batch holds: the second certificate traces to
	// nothing on chain.
	st, err := store.Open(filepath.Join(dir, "store"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl := b.Claims[0]
	mine := gridmint.Claim{Device: gridmint.DeviceKey(cl.Device), Node: gridmint.Address(cl.Node), Owner: gridmint.Address(cl.Owner), Zone: DemoZone,
		Technology: gridmint.Technology(cl.Technology), Hour: gridmint.Hour(cl.Hour), Wh: gridmint.Wh(cl.Wh)}
	ghost := mine
	ghost.Hour++
	for _, c := range []gridmint.Claim{mine, ghost} {
		raw, _ := json.Marshal(claimRecord{V: 1, Claim: c, Own: true, Status: ClaimIssued})
		if err := st.PutSettle(claimKey(rec.ID(c)), raw); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err = Audit(ctx, DemoDataConfig(dir), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for _, d := range rep.Differences {
		diffs = append(diffs, d.String())
	}
	all := strings.Join(diffs, "\n")
	want := fmt.Sprintf("certificate of device %s hour %d: the node's store has it as issued", cl.Device.Hex(), cl.Hour+1)
	if !strings.Contains(all, want) || strings.Contains(all, "own node") {
		t.Errorf("audit differences: want %q and no claim signed by its own node, got:\n%s", want, all)
	}
	if rep.Attestations.EvidenceClaims != 2 {
		t.Errorf("%d certificates of the node checked, want 2", rep.Attestations.EvidenceClaims)
	}
}
