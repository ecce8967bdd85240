package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gridmint/gridmint/chain/bindings/rec"
	"github.com/gridmint/gridmint/chain/bindings/registry"
)

// NodeClaim is a claim as a node's store knows it: the contract's part
// (which names the node that made it) and whether the store has it as
// issued (a certificate).
type NodeClaim struct {
	Claim  Claim
	Issued bool
}

// AttestationAudit is what the audit found of the attestations of the
// Issued batches: for each, the REC.issue call data is decoded, each
// signer recovered from the batch's EIP-712 digest and checked against
// the attestor registry; every claim needs k valid distinct registered
// signers other than its node.
type AttestationAudit struct {
	// Batches and Claims are the Issued batches and their claims checked.
	Batches int `json:"batches"`
	Claims  int `json:"claims"`
	// RegistryAtHead counts the batches whose registry (attestors and k)
	// could not be read at the block before their issue (a node without
	// that historical state) and was read at the audited head instead.
	RegistryAtHead int `json:"registry_at_head"`
	// EvidenceClaims counts the node's issued claims (certificates) each
	// matched against a claim of an Issued batch.
	EvidenceClaims int `json:"evidence_claims"`
}

// CheckIssueAttestations checks one issued batch's signatures against
// digest (its EIP-712 digest): every signature must be well formed, by a
// registered attestor (isAttestor) and distinct; every claim needs at
// least k such signers other than its node (Claim.Node). The contract
// enforces the same since its claims name their node; the audit checks
// it again from the call data, as an outside auditor would. It is pure:
// Audit feeds it from the chain.
func CheckIssueAttestations(b IssueBatch, sigs [][]byte, digest common.Hash, k uint64, isAttestor func(common.Address) bool) (diffs []Difference) {
	batch := "REC batch " + b.BatchID.Hex()
	var signers []common.Address // valid, registered, distinct
	for i, s := range sigs {
		a, err := Recover(digest, s)
		switch {
		case err != nil:
			diffs = append(diffs, Difference{What: batch, Message: fmt.Sprintf("signature %d does not recover: %v", i, err)})
		case !isAttestor(a):
			diffs = append(diffs, Difference{What: batch, Message: fmt.Sprintf("signature %d is by %s, not a registered attestor", i, a.Hex())})
		case slices.Contains(signers, a):
			diffs = append(diffs, Difference{What: batch, Message: fmt.Sprintf("signature %d repeats attestor %s", i, a.Hex())})
		default:
			signers = append(signers, a)
		}
	}
	for _, c := range b.Claims {
		h := c.StructHash()
		n := uint64(len(signers))
		node := c.Node
		if slices.Contains(signers, node) {
			n--
			diffs = append(diffs, Difference{What: batch, Message: fmt.Sprintf("claim %s (device %s, hour %d) is signed by its own node %s, which does not count",
				h.Hex(), c.Device.Hex(), c.Hour, node.Hex())})
		}
		if n < k {
			diffs = append(diffs, Difference{What: batch + " claim " + h.Hex() + " attestations of other nodes", Got: new(big.Int).SetUint64(n), Want: new(big.Int).SetUint64(k),
				Message: fmt.Sprintf("device %s hour %d has %d valid attestations of registered attestors other than its node, k = %d", c.Device.Hex(), c.Hour, n, k)})
		}
	}
	return diffs
}

// issuedBatch is an Issued event to check.
type issuedBatch struct {
	id    common.Hash
	tx    common.Hash
	block uint64
}

// auditAttestations checks every issued batch's attestations and the
// evidence's certificates against the issued claims.
func auditAttestations(ctx context.Context, be AuditBackend, a Addresses, head *big.Int, batches []issuedBatch, ev Evidence, rep *AuditReport) error {
	tb, ok := be.(LedgerBackend)
	if !ok {
		return errors.New("chain: audit: the backend cannot read transactions (TransactionByHash)")
	}
	rb := rec.NewREC()
	sep, err := callAt(ctx, be, a.REC, head, rb.PackDomainSeparator(), rb.UnpackDomainSeparator)
	if err != nil {
		return err
	}
	type key struct {
		device common.Hash
		hour   uint64
	}
	onChain := map[key]Claim{}
	aa := &rep.Attestations
	for _, ib := range batches {
		tx, _, err := tb.TransactionByHash(ctx, ib.tx)
		if err != nil {
			return fmt.Errorf("chain: audit: batch %s: transaction %s: %w", ib.id.Hex(), ib.tx.Hex(), err)
		}
		aa.Batches++
		what := "REC batch " + ib.id.Hex()
		if tx.To() == nil || *tx.To() != a.REC {
			rep.Differences = append(rep.Differences, Difference{What: what, Message: fmt.Sprintf("issued by transaction %s through another contract: its attestations cannot be read", ib.tx.Hex())})
			continue
		}
		b, sigs, err := decodeIssue(tx.Data())
		if err != nil || b.BatchID != ib.id {
			rep.Differences = append(rep.Differences, Difference{What: what, Message: fmt.Sprintf("transaction %s is not a REC.issue of this batch (%v)", ib.tx.Hex(), err)})
			continue
		}
		for _, cl := range b.Claims {
			onChain[key{cl.Device, cl.Hour}] = cl
		}
		aa.Claims += len(b.Claims)
		reg, err := registryAt(ctx, be, a.Registry, ib.block, head)
		if err != nil {
			return err
		}
		if reg.atHead {
			aa.RegistryAtHead++
		}
		digest := crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], b.StructHash().Bytes())
		diffs := CheckIssueAttestations(b, sigs, digest, reg.k, reg.isAttestor)
		if reg.err != nil {
			return reg.err
		}
		rep.Differences = append(rep.Differences, diffs...)
	}
	for _, nc := range ev.Claims {
		if !nc.Issued {
			continue
		}
		aa.EvidenceClaims++
		c := nc.Claim
		got, ok := onChain[key{c.Device, c.Hour}]
		what := fmt.Sprintf("certificate of device %s hour %d", c.Device.Hex(), c.Hour)
		switch {
		case !ok:
			rep.Differences = append(rep.Differences, Difference{What: what, Message: "the node's store has it as issued, but no Issued batch on chain has a claim for that device and hour"})
		case got.Wh != c.Wh:
			rep.Differences = append(rep.Differences, Difference{What: what + " Wh", Got: new(big.Int).SetUint64(got.Wh), Want: new(big.Int).SetUint64(c.Wh)})
		case got != c:
			rep.Differences = append(rep.Differences, Difference{What: what, Message: fmt.Sprintf("the issued claim %s differs from the node's %s (owner, zone, technology or readings root)", got.StructHash().Hex(), c.StructHash().Hex())})
		}
	}
	return nil
}

// registryView is the attestor registry as a call in one block saw it.
type registryView struct {
	k uint64
	// isAttestor reads membership (cached); a read that fails answers
	// false and leaves its error in err, for after the check.
	isAttestor func(common.Address) bool
	err        error
	// atHead: the backend had no state as old as the block, so the
	// registry is the head's.
	atHead bool
}

// registryAt is the registry as verify saw it in block: the state before
// the block, or, from a backend without that state, the head's.
func registryAt(ctx context.Context, be AuditBackend, addr common.Address, block uint64, head *big.Int) (*registryView, error) {
	reg := registry.NewAttestorRegistry()
	v := &registryView{}
	at := new(big.Int).SetUint64(block - min(block, 1))
	kb, err := callAt(ctx, be, addr, at, reg.PackThreshold(), reg.UnpackThreshold)
	if err != nil {
		at, v.atHead = head, true
		if kb, err = callAt(ctx, be, addr, at, reg.PackThreshold(), reg.UnpackThreshold); err != nil {
			return nil, err
		}
	}
	if !kb.IsUint64() {
		return nil, fmt.Errorf("chain: audit: registry threshold %v out of range", kb)
	}
	v.k = kb.Uint64()
	member := map[common.Address]bool{}
	v.isAttestor = func(x common.Address) bool {
		if m, ok := member[x]; ok {
			return m
		}
		m, err := callAt(ctx, be, addr, at, reg.PackIsAttestor(x), reg.UnpackIsAttestor)
		if err != nil && v.err == nil {
			v.err = err
		}
		member[x] = m
		return m
	}
	return v, nil
}

// decodeIssue reads the batch and the signatures out of REC.issue call
// data (outside input: any transaction to the contract).
func decodeIssue(data []byte) (IssueBatch, [][]byte, error) {
	args, err := callArgs(recABI, "issue", data)
	if err != nil {
		return IssueBatch{}, nil, err
	}
	d, err := decodeIssueCall(data)
	if err != nil {
		return IssueBatch{}, nil, err
	}
	var sigs [][]byte
	ok := len(args) == 2
	if ok {
		sigs, ok = args[1].([][]byte)
	}
	if !ok {
		return IssueBatch{}, nil, errors.New("chain: REC.issue call data: no signatures")
	}
	b := IssueBatch{BatchID: d.BatchId}
	for _, c := range d.Claims {
		b.Claims = append(b.Claims, Claim{Device: c.Device, Node: c.Node, Owner: c.Owner, Zone: c.Zone, Technology: c.Technology, Hour: c.Hour, Wh: c.Wh, ReadingsRoot: c.ReadingsRoot})
	}
	return b, sigs, nil
}
