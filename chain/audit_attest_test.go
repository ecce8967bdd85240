package chain

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gridmint/gridmint/chain/bindings/rec"
)

// An issued batch with k attestations of other nodes passes; the same
// contract accepts a batch its claimant's node signed (the chain does not
// record a claim's node), which the audit finds from the node's evidence,
// as it finds a certificate of the store that no Issued batch holds.
func TestAuditChecksIssuedAttestations(t *testing.T) {
	h := newHarness(t, 2, 3)
	a := h.c.Address()
	hour := h.pastHour(3)
	good := NewIssueBatch([]Claim{claim("pv-1", a, hour, 700)})
	if _, err := h.c.Issue(h.ctx, good, h.signIssue(good, 1, 2)); err != nil {
		t.Fatal(err)
	}
	claimant := addr(h.attestors[0])
	ev := Evidence{Claims: []NodeClaim{{Claim: good.Claims[0], Node: claimant, Issued: true}}}
	rep, err := Audit(h.ctx, h.sim.Backend(), h.addrs, ev, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 {
		t.Fatalf("differences %v", rep.Differences)
	}
	if aa := rep.Attestations; aa.Batches != 1 || aa.Claims != 1 || aa.EvidenceClaims != 1 || aa.ClaimantsUnknown != 0 || aa.RegistryAtHead != 0 {
		t.Fatalf("attestations %+v", aa)
	}

	// Node 0 signs the batch of its own device: the contract counts it.
	self := NewIssueBatch([]Claim{claim("pv-2", a, hour, 300)})
	if _, err := h.c.Issue(h.ctx, self, h.signIssue(self, 0, 1)); err != nil {
		t.Fatal(err)
	}
	missing := claim("pv-3", a, hour, 50)
	ev.Claims = append(ev.Claims, NodeClaim{Claim: self.Claims[0], Node: claimant, Issued: true}, NodeClaim{Claim: missing, Node: claimant, Issued: true})
	rep, err = Audit(h.ctx, h.sim.Backend(), h.addrs, ev, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, d := range rep.Differences {
		text = append(text, d.String())
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{
		"is signed by its own node " + claimant.Hex(),
		"has 1 valid attestations of registered attestors other than its node, k = 2",
		"certificate of device " + missing.Device.Hex(),
	} {
		if !strings.Contains(all, want) {
			t.Errorf("differences lack %q:\n%s", want, all)
		}
	}
	if len(rep.Differences) != 3 {
		t.Errorf("%d differences, want 3:\n%s", len(rep.Differences), all)
	}
	// Without the evidence nobody knows the claimant: that is said.
	rep, err = Audit(h.ctx, h.sim.Backend(), h.addrs, Evidence{}, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || rep.Attestations.ClaimantsUnknown != 2 || rep.Attestations.Batches != 2 {
		t.Fatalf("outside audit: %+v %v", rep.Attestations, rep.Differences)
	}
}

// What the contract refuses (unregistered, repeated, malformed
// signatures) the checker reports too, given the decoded inputs.
func TestCheckIssueAttestationsRefuses(t *testing.T) {
	var dom Domain
	dom.Name, dom.Version = DomainREC, "1"
	a0, a1, out := testKey("attestor0"), testKey("attestor1"), testKey("outsider")
	b := NewIssueBatch([]Claim{claim("pv-1", addr(a0), 100, 10)})
	digest := dom.Digest(b.StructHash())
	s0, _ := Sign(a0, digest)
	s1, _ := Sign(a1, digest)
	so, _ := Sign(out, digest)
	other, _ := Sign(a1, common.HexToHash("0x01")) // over another digest
	reg := map[common.Address]bool{addr(a0): true, addr(a1): true}
	isAtt := func(x common.Address) bool { return reg[x] }
	noNode := func(common.Hash) (common.Address, bool) { return common.Address{}, false }

	if d, u := CheckIssueAttestations(b, [][]byte{s0, s1}, digest, 2, isAtt, noNode); len(d) != 0 || u != 1 {
		t.Fatalf("valid batch: %v, unknown %d", d, u)
	}
	d, _ := CheckIssueAttestations(b, [][]byte{s0, s0, so, other, {1, 2, 3}}, digest, 2, isAtt, noNode)
	var all []string
	for _, x := range d {
		all = append(all, x.String())
	}
	text := strings.Join(all, "\n")
	for _, want := range []string{"repeats attestor", "not a registered attestor", "does not recover", "has 1 valid attestations"} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q:\n%s", want, text)
		}
	}
}

// Any transaction to the REC contract is outside input to the audit:
// its call data decodes to a batch or an error, and the checker takes
// whatever signatures it holds, without panicking.
func FuzzAuditIssueCall(f *testing.F) {
	a0 := testKey("attestor0")
	b := NewIssueBatch([]Claim{claim("pv-1", addr(a0), 100, 10), claim("pv-2", addr(a0), 100, 0)})
	var dom Domain
	digest := dom.Digest(b.StructHash())
	s0, _ := Sign(a0, digest)
	var rb rec.RECIssueBatch
	rb.BatchId = b.BatchID
	for _, c := range b.Claims {
		rb.Claims = append(rb.Claims, rec.RECClaim{Device: c.Device, Owner: c.Owner, Zone: c.Zone, Technology: c.Technology, Hour: c.Hour, Wh: c.Wh, ReadingsRoot: c.ReadingsRoot})
	}
	good := rec.NewREC().PackIssue(rb, [][]byte{s0, {1, 2}})
	f.Add(good)
	f.Add(good[:4])
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, sigs, err := decodeIssue(data)
		if err != nil {
			return
		}
		diffs, unknown := CheckIssueAttestations(got, sigs, dom.Digest(got.StructHash()), 1,
			func(x common.Address) bool { return x == addr(a0) }, func(common.Hash) (common.Address, bool) { return addr(a0), true })
		if unknown != 0 || (len(got.Claims) > 0 && len(diffs) == 0 && len(sigs) == 0) {
			t.Fatalf("%d claims, %d signatures: %d differences, %d unknown", len(got.Claims), len(sigs), len(diffs), unknown)
		}
	})
}
