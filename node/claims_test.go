package node

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/settle"
)

// claimNet is a demo network in one process: homes A and B (each the
// demo's embedded broker and simulated homes, with different seeds) and
// utility C, on A's embedded chain (registry {A, B, C}, k = 2) and one
// demo clock.
type claimNet struct {
	clock   *gridmint.ScaledClock
	a, b, c *Demo
	addrs   [3]common.Address
}

func startClaimNet(t *testing.T, speed float64) *claimNet {
	t.Helper()
	// A quarter to ten in June: the first whole hour starts soon, and the
	// demo's PV produces (its profile clock starts at 11:00).
	clock, err := gridmint.NewScaledClock(time.Date(2026, 6, 21, 9, 45, 0, 0, time.UTC), time.Now(), speed)
	if err != nil {
		t.Fatal(err)
	}
	cn := &claimNet{clock: clock}
	dirs := [3]string{t.TempDir(), t.TempDir(), t.TempDir()}
	var hex [3]string
	for i, d := range dirs {
		id, err := DemoIdentity(d)
		if err != nil {
			t.Fatal(err)
		}
		hex[i], cn.addrs[i] = id.Address, common.HexToAddress(id.Address)
	}
	opts := func(i int) DemoOptions {
		o := demoOptions(dirs[i], clock)
		o.SimPeriod = time.Duration(float64(time.Minute) / speed) // a step per demo minute
		o.SimSeed = uint64(i + 1)
		return o
	}
	oa := opts(0)
	oa.Chain = ChainConfig{ServeRPC: "127.0.0.1:0", EmbeddedFund: []string{hex[1], hex[2]}, Attestors: hex[:], Threshold: 2}
	if cn.a, err = StartDemo(context.Background(), oa); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.a.Close() })
	ca := cn.a.Node.Chain().Contracts()
	zero := uint64(0)
	shared := ChainConfig{RPC: cn.a.Node.ChainRPCURL(), ChainID: 1337, Confirmations: &zero,
		Contracts: ContractsConfig{Registry: ca.Registry.Hex(), REC: ca.REC.Hex(), FLEX: ca.FLEX.Hex(), DeployBlock: ca.DeployBlock}}
	boot := []string{cn.a.Node.P2PAddrs()[0]}
	ob := opts(1)
	ob.Chain, ob.Bootstrap = shared, boot
	if cn.b, err = StartDemo(context.Background(), ob); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.b.Close() })
	oc := opts(2)
	oc.Chain, oc.Bootstrap, oc.Role = shared, boot, RoleUtility
	if cn.c, err = StartDemo(context.Background(), oc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.c.Close() })
	return cn
}

// pvKeys are the device keys of a home's PV inverters.
func pvKeys(n *Node) map[gridmint.DeviceKey]gridmint.DeviceID {
	out := map[gridmint.DeviceKey]gridmint.DeviceID{}
	for _, d := range n.Devices() {
		if d.Kind == gridmint.KindPVInverter {
			out[n.Identity().DeviceKey(d.ID)] = d.ID
		}
	}
	return out
}

func claimsOf(t *testing.T, n *Node) []api.ClaimView {
	var l api.ClaimList
	getJSON(t, "http://"+n.HTTPAddr()+"/api/v1/claims?limit=10000", &l)
	return l.Claims
}

// TestClaimsBecomeCertificates: on a demo network of two homes and a
// utility, every PV inverter of both homes gets, for an hour that closed
// in demo time, a claim that every node checks and the other nodes
// attest; the elected node issues it; the owner (the home's node, as the
// demo sets no owner) holds the hour's Wh on chain; the claimant's
// settlement engine shows its batch settled with attestations of other
// nodes only counting; the API shows the claim issued on all three nodes
// and /metrics counts the cycle with every refusal reason at zero.
func TestClaimsBecomeCertificates(t *testing.T) {
	demoLane(t)
	if testing.Short() {
		t.Skip("three demo nodes")
	}
	cn := startClaimNet(t, 120)
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, n := range []*Node{cn.a.Node, cn.b.Node, cn.c.Node} {
			t.Logf("node %d at %s", i, cn.clock.Now())
			for _, v := range claimsOf(t, n) {
				t.Logf("node %d: %s@%s node %s %d Wh %s %s batch %v %+v", i, v.Claim.Device.String()[:10], v.Claim.Hour, v.Claim.Node.String()[:8], v.Claim.Wh, v.Claim.Quality, v.Status, v.Batch, v.Findings)
			}
			for _, b := range n.Settle().Batches(20) {
				t.Logf("node %d: batch %s %s att %d/%d rank %d err %s", i, b.ID.Hex()[:10], b.State, b.Attestations, b.K, b.Rank, b.Error)
			}
		}
	})
	homes := []*Node{cn.a.Node, cn.b.Node}
	keys := map[gridmint.DeviceKey]*Node{}
	for _, h := range homes {
		waitFor(t, "the home's PV inverters registered", func() bool { return len(pvKeys(h)) >= 4 })
		for k := range pvKeys(h) {
			keys[k] = h
		}
	}
	// The first hour in which every PV inverter of both homes has an
	// issued claim, as node C (the utility) shows them.
	var hour gridmint.Hour
	// Three demo nodes start in (wall) tens of seconds under the race
	// detector, so B's first whole hour may be the second or third after
	// the clock's start: a longer bound than waitFor's.
	waitLong(t, 5*time.Minute, "an hour issued for every PV inverter of both homes", func() bool {
		issued := map[gridmint.Hour]map[gridmint.DeviceKey]bool{}
		for _, v := range claimsOf(t, cn.c.Node) {
			if v.Status == "issued" {
				if issued[v.Claim.Hour] == nil {
					issued[v.Claim.Hour] = map[gridmint.DeviceKey]bool{}
				}
				issued[v.Claim.Hour][v.Claim.Device] = true
			}
		}
		for h, devs := range issued {
			all := true
			for k := range keys {
				all = all && devs[k]
			}
			if all {
				hour = h
				return true
			}
		}
		return false
	})
	t.Logf("hour %s issued for all %d PV inverters", hour, len(keys))
	// Each node follows the batches to issued from its own chain index:
	// the homes and node C may see the same block a poll apart.
	for i, n := range []*Node{cn.a.Node, cn.b.Node, cn.c.Node} {
		waitFor(t, fmt.Sprintf("node %d to show the hour %s issued", i, hour), func() bool {
			for _, v := range claimsOf(t, n) {
				if v.Claim.Hour == hour && v.Status != "issued" {
					return false
				}
			}
			return true
		})
	}

	for i, h := range homes {
		var wh gridmint.Wh
		for _, v := range claimsOf(t, h) {
			if v.Claim.Hour != hour || keys[v.Claim.Device] != h {
				continue
			}
			if !v.Own || v.Status != "issued" || v.Batch == nil || v.Tx == nil {
				t.Errorf("home %d: own claim %s@%s: %+v; want issued in a batch", i, v.Claim.Device, hour, v)
				continue
			}
			wh += v.Claim.Wh
			st, ok := h.Settle().Lookup(*v.Batch)
			if !ok || st.State != settle.StateSettled || st.K != 2 {
				t.Errorf("home %d: batch %s: %+v, want settled with k = 2", i, v.Batch, st)
			}
		}
		if wh == 0 {
			t.Errorf("home %d: no Wh in the hour %s: pick a producing hour", i, hour)
		}
		// The certificates are the node's (no owner configured): one
		// token per zone, technology and hour holds all its devices' Wh.
		zone, _ := chain.ZoneBytes(DemoZone)
		tok := chain.TokenID{Zone: zone, Technology: chain.TechnologySolarPV, Hour: uint64(hour)}
		got, err := cn.c.Node.Chain().RECBalance(t.Context(), cn.addrs[i], tok)
		if err != nil || got.Cmp(big.NewInt(int64(wh))) != 0 {
			t.Errorf("home %d: balance of %s for %s: %v (%v), want the claims' %d Wh", i, cn.addrs[i], hour, got, err, wh)
		}
		// The holder's view: the hour's certificates carry the claims'
		// attributes (capacity, place), which only the claim cycle knows.
		var lots []api.CertificateView
		waitFor(t, "home's certificates of the hour in its API", func() bool {
			var l api.CertificateList
			getJSON(t, "http://"+h.HTTPAddr()+"/api/v1/certificates", &l)
			lots = lots[:0]
			var sum uint64
			for _, c := range l.Certificates {
				if c.HourStart != nil && c.HourStart.Equal(hour.Start()) {
					lots = append(lots, c)
					sum += c.Wh
				}
			}
			return sum == uint64(wh)
		})
		for _, c := range lots {
			if c.CapacityW == nil || *c.CapacityW <= 0 || c.Location == nil || *c.Location == "" || c.Device == "" {
				t.Errorf("home %d: certificate lot %s: capacity %v, location %v, device %q; want the claim's attributes", i, c.ID, c.CapacityW, c.Location, c.Device)
			}
		}
	}
	// Every node shows the other homes' claims of the hour issued, and
	// attested them itself (a home never attests its own).
	for i, n := range []*Node{cn.a.Node, cn.b.Node, cn.c.Node} {
		for _, v := range claimsOf(t, n) {
			if v.Claim.Hour == hour && v.Status != "issued" {
				t.Errorf("node %d: claim %s@%s %s %+v, want issued everywhere", i, v.Claim.Device, hour, v.Status, v.Findings)
			}
		}
		m := get(t, "http://"+n.HTTPAddr()+"/metrics")
		for _, line := range []string{`gridmint_rec_claims_refused_total{reason="too_late"} 0`, `gridmint_rec_claims_refused_total{reason="foreign_device"} 0`,
			`gridmint_rec_claims_refused_total{reason="copied_profile"} 0`, "gridmint_rec_claims_issued_total"} {
			if !strings.Contains(m, line) {
				t.Errorf("node %d: /metrics lacks %q", i, line)
			}
		}
		if i < 2 && !strings.Contains(m, "gridmint_rec_claims_made_total") {
			t.Errorf("node %d: /metrics lacks the claims made", i)
		}
	}
	// What each node saw, for the log: statuses and reasons over all hours.
	for i, n := range []*Node{cn.a.Node, cn.b.Node, cn.c.Node} {
		count := map[string]int{}
		for _, v := range claimsOf(t, n) {
			k := v.Status
			for _, f := range v.Findings {
				k += "/" + f.Reason
			}
			count[k]++
		}
		t.Logf("node %d: %v", i, count)
	}
}

// waitLong polls cond every 200 ms until it holds, failing after bound.
func waitLong(t *testing.T, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", bound, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
