//go:build e2e

package main

import (
	"testing"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
)

// TestNetworkIssuesCertificates runs `gridmint demo --nodes 3` as three
// processes (two homes, a utility; one chain, k = 2; ×120) with the
// certificate claim cycle on, as `make demo-net` does, and waits for a
// demo hour in which every PV inverter of both homes has a claim issued
// on chain, attested by the other nodes: node 2, the utility, shows
// every home claim of that hour issued and none refused.
func TestNetworkIssuesCertificates(t *testing.T) {
	tn := startTestNet(t, 3, 120)
	homes := map[gridmint.Address]int{}
	for i := range 2 {
		homes[gridmint.Address(tn.address(i))] = i
	}
	var hour gridmint.Hour
	var claims []api.ClaimView
	tn.waitFor("an hour with every home claim issued", func() bool {
		var l api.ClaimList
		if tn.get(2, "/api/v1/claims?limit=10000", &l) != nil {
			return false
		}
		claims = l.Claims
		byHour := map[gridmint.Hour][]api.ClaimView{}
		for _, v := range l.Claims {
			if _, ok := homes[v.Claim.Node]; ok {
				byHour[v.Claim.Hour] = append(byHour[v.Claim.Hour], v)
			}
		}
		for h, vs := range byHour {
			nodes := map[gridmint.Address]int{}
			issued := 0
			for _, v := range vs {
				nodes[v.Claim.Node]++
				if v.Status == "issued" {
					issued++
				}
			}
			// Both homes, four PV inverters each (the demo's homes), all issued.
			if len(nodes) == 2 && len(vs) >= 8 && issued == len(vs) {
				hour = h
				return true
			}
		}
		return false
	})
	t.Logf("hour %s: every home claim issued", hour)
	for _, v := range claims {
		if v.Status == "refused" {
			t.Errorf("claim %s@%s of node %s refused: %+v", v.Claim.Device, v.Claim.Hour, v.Claim.Node, v.Findings)
		}
	}
}
