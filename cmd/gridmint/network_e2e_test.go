package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/settle"
)

// TestNetworkSettlesOnceFallsBackAndRejoins runs three node processes on
// one chain and one demo clock (×120) through the three things a network
// of homes must survive, on the harness (harness_test.go):
//
//	(a) a batch attested by 2 of 3 is submitted by exactly one node, in
//	    one transaction, which every node shows;
//	(b) the elected submitter is killed with SIGKILL before it can send:
//	    the next in the order submits, once, after its fallback;
//	(c) that node, down for two demo hours while the others gossip an
//	    offer and settle another batch, restarts, catches up the gossip
//	    and the chain index, and agrees with the others.
//
// The batches are REC issue batches handed to the nodes through the
// e2e build's test hook, as the certificate service will hand them.
func TestNetworkSettlesOnceFallsBackAndRejoins(t *testing.T) {
	// Without the claim cycle: the test counts the batches it hands over.
	tn := startTestNet(t, 3, 120, withoutClaims)
	var chainInfo struct {
		Attestors []common.Address `json:"attestors"`
		Threshold *uint64          `json:"threshold"`
	}
	if err := tn.get(0, "/api/v1/chain", &chainInfo); err != nil {
		t.Fatal(err)
	}
	if len(chainInfo.Attestors) != 3 || chainInfo.Threshold == nil || *chainInfo.Threshold != 2 {
		t.Fatalf("registry: attestors %v, k %v; want the 3 nodes, k = 2", chainInfo.Attestors, chainInfo.Threshold)
	}
	attestors := chainInfo.Attestors
	owner := tn.address(0)
	start := tn.now(0)
	// Claims for hours long over, one device per batch (the contract
	// keeps a high-water mark per device).
	claim := func(node common.Address, device string, hoursAgo int, wh uint64) chain.Claim {
		zone, err := chain.ZoneBytes("DE-LU")
		if err != nil {
			t.Fatal(err)
		}
		return chain.Claim{Device: crypto.Keccak256Hash([]byte(device)), Node: node, Owner: owner, Zone: zone, Technology: chain.TechnologySolarPV,
			Hour: uint64(start.Unix())/3600 - uint64(hoursAgo), Wh: wh, ReadingsRoot: crypto.Keccak256Hash([]byte("readings of " + device))}
	}
	hand := func(i int, claims []chain.Claim, attest bool) {
		t.Helper()
		var reply struct{ ID common.Hash }
		tn.post(i, "/e2e/v1/batches", map[string]any{"claims": claims, "attest": attest}, &reply)
		b, err := settle.RECIssue(claims)
		if err != nil {
			t.Fatal(err)
		}
		if reply.ID != b.ID() {
			t.Fatalf("node %d took batch %s, want %s", i, reply.ID, b.ID())
		}
	}
	settledOn := func(i int, id common.Hash) *settle.Status {
		var list struct{ Batches []settle.Status }
		if tn.get(i, "/api/v1/batches", &list) != nil {
			return nil
		}
		for _, s := range list.Batches {
			if s.ID == id && s.State == settle.StateSettled && s.Tx != nil {
				return &s
			}
		}
		return nil
	}

	// (a) Node 0's device: node 0 only proposes (its own attestation
	// never counts for its claims); nodes 1 and 2 attest.
	claimsA := []chain.Claim{claim(tn.address(0), "node-0 inverter", 5, 2_400)}
	batchA, _ := settle.RECIssue(claimsA)
	hand(0, claimsA, false)
	hand(1, claimsA, true)
	hand(2, claimsA, true)
	var txA common.Hash
	var submitterA common.Address
	tn.waitFor("batch (a) settled on all three nodes", func() bool {
		var got []*settle.Status
		for i := range 3 {
			if s := settledOn(i, batchA.ID()); s != nil {
				got = append(got, s)
			}
		}
		if len(got) < 3 {
			return false
		}
		txA, submitterA = *got[0].Tx, *got[0].Submitter
		for i, s := range got {
			if *s.Tx != txA || *s.Submitter != submitterA {
				t.Fatalf("node %d shows batch (a) settled by %s in %s, node 0 by %s in %s: want one transaction", i, *s.Submitter, *s.Tx, submitterA, txA)
			}
		}
		return true
	})
	if want := settle.Order(batchA.ID(), attestors)[0]; submitterA != want {
		t.Errorf("batch (a) submitted by %s, want the elected %s", submitterA, want)
	}
	checkSubmissions(t, tn, []int{0, 1, 2}, 1)

	// (b) A claimant outside the network, so that any two nodes make k;
	// a batch whose elected submitter is node 1 or 2 (node 0 hosts the
	// chain), which is killed before anyone attests.
	outsider := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	var claimsB []chain.Claim
	var victim int
	var batchB settle.Batch
	for wh := uint64(1_000); ; wh++ {
		claimsB = []chain.Claim{claim(outsider, "outsider inverter", 4, wh)}
		batchB, _ = settle.RECIssue(claimsB)
		if first := settle.Order(batchB.ID(), attestors)[0]; first == tn.address(1) || first == tn.address(2) {
			victim = map[bool]int{true: 1, false: 2}[first == tn.address(1)]
			break
		}
	}
	survivor := 3 - victim // the other of nodes 1 and 2
	killedAt := tn.now(0)
	tn.kill(victim)
	hand(0, claimsB, true)
	hand(survivor, claimsB, true)
	var sB *settle.Status
	tn.waitFor("batch (b) settled by a fallback", func() bool {
		sB = settledOn(0, batchB.ID())
		return sB != nil && settledOn(survivor, batchB.ID()) != nil
	})
	if want := settle.Order(batchB.ID(), attestors)[1]; *sB.Submitter != want {
		t.Errorf("batch (b) submitted by %s, want the next in the order %s (the elected %s was killed)", *sB.Submitter, want, tn.address(victim))
	}
	// Of batch (a)'s one submission, the victim's is no longer counted.
	checkSubmissions(t, tn, []int{0, survivor}, 1+map[bool]int{true: 0, false: 1}[submitterA == tn.address(victim)])

	// (c) While the victim is down: an offer gossiped by node 0, and
	// another batch settled by node 0 and the survivor.
	var offer struct{ ID string }
	tn.post(0, "/api/v1/offers", map[string]any{
		"device": tn.l.procs[0].id.Address + "/victron/battery-512", "window_start": "+4h", "window_end": "+5h",
		"power_w": 500, "direction": "down", "floor_price": 150000, "baseline": "schedule", "expiry": "+3h",
	}, &offer)
	claimsC := []chain.Claim{claim(outsider, "outsider battery-side inverter", 3, 777)}
	batchC, _ := settle.RECIssue(claimsC)
	hand(0, claimsC, true)
	hand(survivor, claimsC, true)
	tn.waitFor("batch (c) settled", func() bool { return settledOn(0, batchC.ID()) != nil && settledOn(survivor, batchC.ID()) != nil })
	tn.waitFor("two demo hours with the node down", func() bool { return tn.now(0).Sub(killedAt) >= 2*time.Hour })
	tn.restart(victim)
	offers := func(i int) []string {
		var m struct {
			Messages []struct{ ID string }
		}
		if tn.get(i, "/api/v1/p2p/messages?topic=offers&limit=1000", &m) != nil {
			return nil
		}
		var ids []string
		for _, msg := range m.Messages {
			ids = append(ids, msg.ID)
		}
		slices.Sort(ids)
		return ids
	}
	view := func(i int) string {
		var b struct {
			REC json.RawMessage `json:"rec"`
		}
		if tn.get(i, "/api/v1/chain/balances/"+owner.Hex(), &b) != nil {
			return ""
		}
		return string(b.REC)
	}
	tn.waitFor("the restarted node has the offer and the others' chain view", func() bool {
		got := offers(victim)
		return slices.Contains(got, offer.ID) && slices.Equal(got, offers(0)) && view(victim) != "" && view(victim) == view(0)
	})
	for _, b := range []settle.Batch{batchA, batchB, batchC} {
		for i := range 3 {
			if i == victim && b.ID() != batchA.ID() {
				continue // it never knew the batches handed out while it was down
			}
			if settledOn(i, b.ID()) == nil {
				t.Errorf("node %d does not show batch %s settled", i, b.ID())
			}
		}
	}
	var balances struct {
		REC []json.RawMessage `json:"rec"`
	}
	if err := tn.get(victim, "/api/v1/chain/balances/"+owner.Hex(), &balances); err != nil || len(balances.REC) != 3 {
		t.Errorf("the restarted node shows the owner's certificates %s (%v), want those of the three batches", balances.REC, err)
	}
}

// checkSubmissions sums the settlement counters of the given nodes'
// /metrics: want batches submitted by their own transaction, none
// reverted as a duplicate, none failed.
func checkSubmissions(t *testing.T, tn *testNet, nodes []int, want int) {
	t.Helper()
	var submitted, duplicate, failed float64
	for _, i := range nodes {
		resp, err := http.Get(tn.url(i) + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, value, ok := strings.Cut(sc.Text(), " ")
			if !ok || strings.HasPrefix(name, "#") {
				continue
			}
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				continue
			}
			switch {
			case strings.HasPrefix(name, "gridmint_settle_batches_submitted_total{"):
				submitted += v
			case strings.HasPrefix(name, "gridmint_settle_duplicate_submissions_total{"):
				duplicate += v
			case strings.HasPrefix(name, "gridmint_settle_submission_failures_total{"):
				failed += v
			}
		}
		resp.Body.Close()
	}
	if submitted != float64(want) || duplicate != 0 || failed != 0 {
		t.Errorf("nodes %v: %v batches submitted, %v duplicate transactions, %v failures; want %d, 0, 0", nodes, submitted, duplicate, failed, want)
	}
}
