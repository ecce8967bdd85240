package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/gridmint/gridmint/chain"
)

// errMismatch is a statement that the chain does not confirm.
var errMismatch = errors.New("the chain does not confirm the statement")

// verifyRetirement is `gridmint verify-retirement ID --rpc URL --rec ADDR
// [--from-block N] [--digest HASH] [--json]`: it rebuilds retirement ID's
// statement from the chain alone (read-only, no key), prints it, and
// compares its digest with the one a statement names.
func verifyRetirement(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("verify-retirement", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rpcURL := fs.String("rpc", "", "JSON-RPC URL of any node of the chain (a node's embedded chain: http://HOST:PORT/api/v1/chain/rpc)")
	recAddr := fs.String("rec", "", "address of the REC contract, as the statement names it")
	fromBlock := fs.Uint64("from-block", 0, "block to start reading events at: the contracts' deployment block, as the statement names it")
	digest := fs.String("digest", "", "the statement's digest; without it the statement is only printed")
	asJSON := fs.Bool("json", false, "print the statement as JSON")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: gridmint verify-retirement ID --rpc URL --rec ADDRESS [--from-block N] [--digest HASH] [--json]

Rebuilds the statement of retirement ID from the chain alone, read-only
and with no key: the Retired event, the certificates it burned (replaying
the REC contract's transfers from --from-block, oldest certificates
first) and where each was issued. Prints its canonical text and digest;
with --digest, exits with an error unless the digest is the same. A
statement prints the full command.

Flags:
`)
		fs.PrintDefaults()
	}
	// The id comes first in the documented form; flags may follow it.
	var idArg string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		idArg, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if idArg == "" && fs.NArg() == 1 {
		idArg = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return fmt.Errorf("verify-retirement: unexpected arguments %q", fs.Args())
	}
	id, err := strconv.ParseUint(idArg, 10, 64)
	if err != nil || id == 0 {
		return fmt.Errorf("verify-retirement: retirement id %q: want a number from 1 (see gridmint verify-retirement --help)", idArg)
	}
	if *rpcURL == "" {
		return errors.New("verify-retirement: --rpc is required")
	}
	if !common.IsHexAddress(*recAddr) {
		return fmt.Errorf("verify-retirement: --rec %q: want the REC contract's address, 0x and 40 hex digits", *recAddr)
	}
	var want common.Hash
	if *digest != "" {
		if err := want.UnmarshalText([]byte(*digest)); err != nil {
			return fmt.Errorf("verify-retirement: --digest %q: want 0x and 64 hex digits", *digest)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	ec, err := ethclient.DialContext(ctx, *rpcURL)
	if err != nil {
		return fmt.Errorf("verify-retirement: %s: %w", *rpcURL, err)
	}
	defer ec.Close()
	st, ok, err := chain.StatementFromChain(ctx, ec, common.HexToAddress(*recAddr), *fromBlock, id)
	if err != nil {
		return fmt.Errorf("verify-retirement: %w", err)
	}
	if !ok {
		return fmt.Errorf("verify-retirement: %w: retirement %d is not on this chain's REC contract %s (from block %d)", errMismatch, id, *recAddr, *fromBlock)
	}
	got := st.Digest()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Statement chain.Statement `json:"statement"`
			Digest    common.Hash     `json:"digest"`
			Matches   *bool           `json:"matches,omitempty"`
		}{st, got, matches(want, got)}); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, st.Canonical())
		fmt.Fprintf(stdout, "digest=%s\n", got.Hex())
	}
	if want == (common.Hash{}) {
		return nil
	}
	if got != want {
		return fmt.Errorf("verify-retirement: %w: its digest is %s, the statement's %s", errMismatch, got.Hex(), want.Hex())
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "OK: retirement %d of %d Wh for %q is on chain as the statement says\n", st.ID, st.Wh, st.Beneficiary)
	}
	return nil
}

func matches(want, got common.Hash) *bool {
	if want == (common.Hash{}) {
		return nil
	}
	ok := want == got
	return &ok
}
