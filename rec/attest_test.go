package rec

import (
	"slices"
	"testing"

	"github.com/gridmint/gridmint"
)

func addr(b byte) gridmint.Address { return gridmint.Address{b} }

func TestOwnAttestationNeverCounts(t *testing.T) {
	reg := Registry{Attestors: []gridmint.Address{addr(1), addr(2), addr(3), addr(4)}, K: 2}
	c := mkClaim(9, afternoon, 5000, golden, gridmint.QualityOK, flat(1000))
	c.Node = addr(1)
	tests := []struct {
		name    string
		signers []gridmint.Address
		want    int
	}{
		{"two others", []gridmint.Address{addr(2), addr(3)}, 2},
		{"the claimant and one other", []gridmint.Address{addr(1), addr(2)}, 1},
		{"the same other twice", []gridmint.Address{addr(2), addr(2)}, 1},
		{"an unregistered signer", []gridmint.Address{addr(2), addr(7)}, 1},
		{"the claimant and three others", []gridmint.Address{addr(1), addr(2), addr(3), addr(4)}, 3},
	}
	for _, tt := range tests {
		if got := reg.Eligible(c, tt.signers); got != tt.want {
			t.Errorf("%s: %d eligible, want %d", tt.name, got, tt.want)
		}
		if q := reg.Quorum([]gridmint.Claim{c}, tt.signers); (len(q) == 0) != (tt.want >= reg.K) {
			t.Errorf("%s: quorum findings %+v with %d eligible of k = %d", tt.name, q, tt.want, reg.K)
		}
	}
}

func TestSelectSigners(t *testing.T) {
	reg := Registry{Attestors: []gridmint.Address{addr(1), addr(2), addr(3), addr(4), addr(5)}, K: 2}
	claim := func(node byte) gridmint.Claim {
		c := mkClaim(node, afternoon, 5000, golden, gridmint.QualityOK, flat(1000))
		c.Node = addr(node)
		return c
	}
	batch := []gridmint.Claim{claim(1), claim(2)}
	tests := []struct {
		name      string
		available []gridmint.Address
		want      []gridmint.Address
	}{
		{"enough attestors without claims: k of them", []gridmint.Address{addr(5), addr(1), addr(3), addr(4)}, []gridmint.Address{addr(3), addr(4)}},
		{"one outsider: add claimants until every claim has k", []gridmint.Address{addr(2), addr(1), addr(5)}, []gridmint.Address{addr(1), addr(2), addr(5)}},
		{"only the claimants: not enough", []gridmint.Address{addr(1), addr(2)}, nil},
	}
	for _, tt := range tests {
		got, err := reg.SelectSigners(batch, tt.available)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: got %v, want an error", tt.name, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, %v; want %v", tt.name, got, err, tt.want)
		}
		if q := reg.Quorum(batch, got); len(q) > 0 {
			t.Errorf("%s: selected signers leave %+v", tt.name, q)
		}
	}
}

func TestAssemble(t *testing.T) {
	var claims []gridmint.Claim
	for d := byte(1); d <= 30; d++ {
		claims = append(claims, chainOf(d, afternoon, 5000, flat(1000), flat(2000), flat(3000))...)
	}
	gas := DefaultGas()
	gas.Limit = gas.Base + 4*gas.PerSignature + 20*gas.PerFirstClaim // about 20 to 40 claims a batch
	next := map[gridmint.DeviceKey]gridmint.Hour{
		{1}: afternoon + 1, // hour 0 of device 1 was issued
	}
	dup := claims[10]
	dup.Profile[0]++
	dup.CounterEnd++
	batches, skipped := Assemble(append(claims, dup), next, 3, gas)

	if len(skipped) != 2 {
		t.Fatalf("skipped %+v, want device 1's first hour and the second claim of one hour", skipped)
	}
	if skipped[0].Reason != gridmint.ClaimAlreadyIssued || skipped[0].Claim != ID(claims[0]) {
		t.Errorf("skipped %+v, want %s already issued", skipped[0], ID(claims[0]))
	}
	if skipped[1].Reason != gridmint.ClaimEquivocation || skipped[1].Claim != ID(dup) {
		t.Errorf("skipped %+v, want the equivocation of %s", skipped[1], ID(dup))
	}
	seen := map[ClaimID]bool{}
	lastHour := map[gridmint.DeviceKey]gridmint.Hour{}
	for i, b := range batches {
		if b.Gas > gas.Limit {
			t.Errorf("batch %d: %d gas over the limit %d", i, b.Gas, gas.Limit)
		}
		if !slices.IsSortedFunc(b.Claims, func(x, y gridmint.Claim) int {
			if c := cmpKey(x.Device, y.Device); c != 0 {
				return c
			}
			return int(x.Hour - y.Hour)
		}) {
			t.Errorf("batch %d not ordered by device, then hour", i)
		}
		for _, c := range b.Claims {
			if seen[ID(c)] {
				t.Errorf("%s in two batches", ID(c))
			}
			seen[ID(c)] = true
			// Batches are issued in order: a device's hours must ascend.
			if h, ok := lastHour[c.Device]; ok && c.Hour <= h {
				t.Errorf("batch %d: %s after hour %s of the same device", i, ID(c), h)
			}
			lastHour[c.Device] = c.Hour
		}
	}
	if seen[ID(claims[10])] {
		t.Errorf("an equivocated claim was batched")
	}
	if want := len(claims) - 2; len(seen) != want {
		t.Errorf("%d claims batched, want %d", len(seen), want)
	}
	if len(batches) < 3 {
		t.Errorf("%d batches under a small gas limit, want several", len(batches))
	}
}
