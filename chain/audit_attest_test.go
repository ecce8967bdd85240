package chain

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gridmint/gridmint/chain/bindings/rec"
)

// An issued batch with k attestations of other nodes passes; a batch the
// claim's own node signed besides k others is issued (its signature is
// harmless there) but the audit names it, as it names a certificate of
// the store that no Issued batch holds.
func TestAuditChecksIssuedAttestations(t *testing.T) {
	h := newHarness(t, 2, 3)
	a := h.c.Address()
	hour := h.pastHour(3)
	good := NewIssueBatch([]Claim{claim("pv-1", a, hour, 700)})
	if _, err := h.c.Issue(h.ctx, good, h.signIssue(good, 1, 2)); err != nil {
		t.Fatal(err)
	}
	ev := Evidence{Claims: []NodeClaim{{Claim: good.Claims[0], Issued: true}}}
	rep, err := Audit(h.ctx, h.sim.Backend(), h.addrs, ev, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 {
		t.Fatalf("differences %v", rep.Differences)
	}
	if aa := rep.Attestations; aa.Batches != 1 || aa.Claims != 1 || aa.EvidenceClaims != 1 || aa.RegistryAtHead != 0 {
		t.Fatalf("attestations %+v", aa)
	}

	// Node 0 signs the batch of its own device with both others.
	claimant := addr(h.attestors[0])
	own := claim("pv-2", a, hour, 300)
	own.Node = claimant
	self := NewIssueBatch([]Claim{own})
	if _, err := h.c.Issue(h.ctx, self, h.signIssue(self, 0, 1, 2)); err != nil {
		t.Fatal(err)
	}
	missing := claim("pv-3", a, hour, 50)
	ev.Claims = append(ev.Claims, NodeClaim{Claim: self.Claims[0], Issued: true}, NodeClaim{Claim: missing, Issued: true})
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
		"certificate of device " + missing.Device.Hex(),
	} {
		if !strings.Contains(all, want) {
			t.Errorf("differences lack %q:\n%s", want, all)
		}
	}
	if len(rep.Differences) != 2 {
		t.Errorf("%d differences, want 2:\n%s", len(rep.Differences), all)
	}
	// An outside auditor, without the node's evidence, finds the same
	// signature: the claim names its node on chain.
	rep, err = Audit(h.ctx, h.sim.Backend(), h.addrs, Evidence{}, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 1 || !strings.Contains(rep.Differences[0].String(), "is signed by its own node") || rep.Attestations.Batches != 2 {
		t.Fatalf("outside audit: %+v %v", rep.Attestations, rep.Differences)
	}
}

// What the contract refuses (unregistered, repeated, malformed
// signatures) the checker reports too, given the decoded inputs.
func TestCheckIssueAttestationsRefuses(t *testing.T) {
	var dom Domain
	dom.Name, dom.Version = DomainREC, "1"
	a0, a1, out := testKey("attestor0"), testKey("attestor1"), testKey("outsider")
	b := NewIssueBatch([]Claim{claim("pv-1", addr(out), 100, 10)})
	digest := dom.Digest(b.StructHash())
	s0, _ := Sign(a0, digest)
	s1, _ := Sign(a1, digest)
	so, _ := Sign(out, digest)
	other, _ := Sign(a1, common.HexToHash("0x01")) // over another digest
	reg := map[common.Address]bool{addr(a0): true, addr(a1): true}
	isAtt := func(x common.Address) bool { return reg[x] }
	if d := CheckIssueAttestations(b, [][]byte{s0, s1}, digest, 2, isAtt); len(d) != 0 {
		t.Fatalf("valid batch: %v", d)
	}
	d := CheckIssueAttestations(b, [][]byte{s0, s0, so, other, {1, 2, 3}}, digest, 2, isAtt)
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
		rb.Claims = append(rb.Claims, rec.RECClaim{Device: c.Device, Node: c.Node, Owner: c.Owner, Zone: c.Zone, Technology: c.Technology, Hour: c.Hour, Wh: c.Wh, ReadingsRoot: c.ReadingsRoot})
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
		diffs := CheckIssueAttestations(got, sigs, dom.Digest(got.StructHash()), 1,
			func(x common.Address) bool { return x == addr(a0) })
		if len(got.Claims) > 0 && len(diffs) == 0 && len(sigs) == 0 {
			t.Fatalf("%d claims, %d signatures: %d differences", len(got.Claims), len(sigs), len(diffs))
		}
	})
}
