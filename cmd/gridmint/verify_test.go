package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gridmint/gridmint/chain"
)

// TestVerifyRetirement retires certificates issued through REC.issue
// (attested by two of three attestors) on the embedded chain, serves the
// chain's JSON-RPC read-only, and checks the statement with
// `gridmint verify-retirement`: its digest is confirmed; another digest,
// an unknown retirement and another contract are not.
func TestVerifyRetirement(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := func(l string) *ecdsa.PrivateKey {
		k, _ := crypto.ToECDSA(crypto.Keccak256([]byte("gridmint verify test " + l)))
		return k
	}
	nodeKey := key("node")
	sim, err := chain.NewSimulated(chain.SimulatedConfig{Alloc: types.GenesisAlloc{crypto.PubkeyToAddress(nodeKey.PublicKey): {Balance: chain.SimulatedFunds}}})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c, err := chain.New(ctx, sim.Backend(), chain.Config{Key: nodeKey})
	if err != nil {
		t.Fatal(err)
	}
	var attestors []*ecdsa.PrivateKey
	var as []common.Address
	for i := range 3 {
		attestors = append(attestors, key(fmt.Sprint("attestor", i)))
		as = append(as, crypto.PubkeyToAddress(attestors[i].PublicKey))
	}
	addrs, err := c.Deploy(ctx, chain.DeployConfig{Attestors: as, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	head, err := sim.Backend().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	hour := head.Time/3600 - 1
	zone, _ := chain.ZoneBytes("NL")
	batch := chain.NewIssueBatch([]chain.Claim{
		{Device: crypto.Keccak256Hash([]byte("pv")), Node: c.Address(), Owner: c.Address(), Zone: zone, Technology: chain.TechnologySolarPV, Hour: hour, Wh: 1234},
	})
	var sigs [][]byte
	for _, k := range attestors[1:] {
		s, err := chain.Sign(k, c.RECDomain().Digest(batch.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	if _, err := c.Issue(ctx, batch, sigs); err != nil {
		t.Fatal(err)
	}
	tok := chain.ClaimTokenID(batch.Claims[0])
	if _, err := c.Retire(ctx, chain.RetireRequest{Token: tok, Wh: 1000, Beneficiary: "Gemeente Utrecht", Claim: "hourly matched, 2026"}); err != nil {
		t.Fatal(err)
	}
	rpcH, err := sim.RPCHandler()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(chain.ReadOnlyRPC(rpcH))
	defer srv.Close()

	verify := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(append([]string{"verify-retirement"}, args...), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	base := []string{"--rpc", srv.URL, "--rec", addrs.REC.Hex(), "--from-block", fmt.Sprint(addrs.DeployBlock)}
	out, err := verify(append([]string{"1"}, base...)...)
	if err != nil {
		t.Fatalf("print: %v\n%s", err, out)
	}
	for _, s := range []string{"beneficiary=\"Gemeente Utrecht\"", "wh=1000", "certificate=" + batch.Claims[0].StructHash().Hex() + ":0-999"} {
		if !strings.Contains(out, s) {
			t.Errorf("statement lacks %q:\n%s", s, out)
		}
	}
	digest := out[strings.Index(out, "digest=")+len("digest=") : strings.Index(out, "digest=")+len("digest=")+66]

	out, err = verify(append([]string{"1"}, append(base, "--digest", digest)...)...)
	if err != nil || !strings.Contains(out, "OK: retirement 1 of 1000 Wh") {
		t.Errorf("verify with the right digest: %v\n%s", err, out)
	}
	// Flags before the id work too.
	if out, err := verify(append(append([]string{}, base...), "--digest", digest, "1")...); err != nil {
		t.Errorf("id after the flags: %v\n%s", err, out)
	}
	wrong := "0x" + strings.Repeat("ab", 32)
	if _, err := verify(append([]string{"1"}, append(base, "--digest", wrong)...)...); !errors.Is(err, errMismatch) {
		t.Errorf("a wrong digest: %v, want a mismatch", err)
	}
	if _, err := verify(append([]string{"2"}, base...)...); !errors.Is(err, errMismatch) {
		t.Errorf("retirement 2, which does not exist: %v, want a mismatch", err)
	}
	if _, err := verify("1", "--rpc", srv.URL, "--rec", addrs.FLEX.Hex(), "--digest", digest); !errors.Is(err, errMismatch) {
		t.Errorf("another contract: %v, want a mismatch", err)
	}
	for _, args := range [][]string{{"x", "--rpc", srv.URL, "--rec", addrs.REC.Hex()}, {"1", "--rec", addrs.REC.Hex()}, {"1", "--rpc", srv.URL, "--rec", "0x12"}, {"1", "--rpc", srv.URL, "--rec", addrs.REC.Hex(), "--digest", "0x1"}} {
		if _, err := verify(args...); err == nil || errors.Is(err, errMismatch) {
			t.Errorf("verify %q: %v, want a usage error", args, err)
		}
	}
}
