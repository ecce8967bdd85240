package chain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
	"github.com/gridmint/gridmint/chain/bindings/registry"
)

// DeployConfig is what a deployment needs.
type DeployConfig struct {
	// Owner may change the attestor set (a multisig in production);
	// zero means the deploying account.
	Owner common.Address
	// Attestors are the initial attestor addresses (node keys), at least one.
	Attestors []common.Address
	// Threshold is k, 1 <= k <= len(Attestors).
	Threshold uint64
	// URI is the ERC-1155 metadata URI template (REC.uri), fixed at
	// deployment: RECMetadataURI of a node's public base URL, whose
	// /api/v1/metadata/rec/{id}.json serves each token's metadata. ""
	// is DefaultRECURI.
	URI string
}

// RECMetadataPath is the node API's metadata route with the ERC-1155
// {id} placeholder, which a wallet replaces with the token id as 64
// lower-case hex digits.
const RECMetadataPath = "/api/v1/metadata/rec/{id}.json"

// DefaultRECURI is the URI template of a deployment that names none: a
// node on its default address on the same machine (the demo's).
const DefaultRECURI = "http://127.0.0.1:8088" + RECMetadataPath

// RECMetadataURI is the URI template for a node serving at base (scheme,
// host and optional path, e.g. https://node.example.org).
func RECMetadataURI(base string) string {
	return strings.TrimSuffix(base, "/") + RECMetadataPath
}

// RECMetadataURIOf is the REC metadata URI template of a node whose API
// listens on httpAddr (host:port): its own API when the address names a
// host and port a wallet can reach; else "" (DefaultRECURI).
func RECMetadataURIOf(httpAddr string) string {
	host, port, err := net.SplitHostPort(httpAddr)
	if ip := net.ParseIP(host); err != nil || host == "" || port == "0" || (ip != nil && ip.IsUnspecified()) {
		return ""
	}
	return RECMetadataURI("http://" + net.JoinHostPort(host, port))
}

// Deploy deploys the attestor registry, REC and FLEX with key's account
// over be and returns their addresses. It is not idempotent: a crash
// mid-way leaves orphan contracts, and the caller deploys again; the
// caller records the addresses (gridmint demo keeps them in its data dir).
func Deploy(ctx context.Context, be Backend, key *ecdsa.PrivateKey, dc DeployConfig) (Addresses, error) {
	c, err := New(ctx, be, Config{Key: key})
	if err != nil {
		return Addresses{}, err
	}
	return c.Deploy(ctx, dc)
}

// Deploy deploys the three contracts with the client's account and makes
// the client use them.
func (c *Client) Deploy(ctx context.Context, dc DeployConfig) (Addresses, error) {
	if len(dc.Attestors) == 0 || dc.Threshold == 0 || dc.Threshold > uint64(len(dc.Attestors)) {
		return Addresses{}, fmt.Errorf("chain: deploy: threshold %d of %d attestors", dc.Threshold, len(dc.Attestors))
	}
	owner := dc.Owner
	if owner == (common.Address{}) {
		owner = c.from
	}
	uri := dc.URI
	if uri == "" {
		uri = DefaultRECURI
	}
	regAddr, block, err := c.create(ctx, "AttestorRegistry", registry.AttestorRegistryMetaData.Bin,
		c.reg.PackConstructor(owner, dc.Attestors, new(big.Int).SetUint64(dc.Threshold)))
	if err != nil {
		return Addresses{}, err
	}
	recAddr, _, err := c.create(ctx, "REC", rec.RECMetaData.Bin, c.rec.PackConstructor(regAddr, uri))
	if err != nil {
		return Addresses{}, err
	}
	flexAddr, _, err := c.create(ctx, "FLEX", flex.FLEXMetaData.Bin, c.flex.PackConstructor(regAddr))
	if err != nil {
		return Addresses{}, err
	}
	a := Addresses{Registry: regAddr, REC: recAddr, FLEX: flexAddr, DeployBlock: block}
	c.mu.Lock()
	c.addrs = a
	c.mu.Unlock()
	c.log.Info("chain: deployed", "registry", regAddr, "rec", recAddr, "flex", flexAddr, "block", block)
	return a, nil
}

// create sends a contract creation and waits for it to be mined.
func (c *Client) create(ctx context.Context, name, bin string, args []byte) (common.Address, uint64, error) {
	data := append(common.FromHex(bin), args...)
	gas, err := retry(ctx, c, "estimate gas", func() (uint64, error) {
		return c.be.EstimateGas(ctx, ethereum.CallMsg{From: c.from, Data: data})
	})
	if err != nil {
		if r := revertOf(err); r != nil {
			return common.Address{}, 0, fmt.Errorf("chain: deploy %s: %w", name, r)
		}
		return common.Address{}, 0, fmt.Errorf("chain: deploy %s: estimate gas: %w", name, err)
	}
	gas += gas * c.cfg.GasMarginPercent / 100
	c.mu.Lock()
	nonce, err := c.nonceLocked(ctx)
	if err != nil {
		c.mu.Unlock()
		return common.Address{}, 0, err
	}
	tip, feeCap, err := c.fees(ctx)
	if err != nil {
		c.mu.Unlock()
		return common.Address{}, 0, err
	}
	need := new(big.Int).Mul(feeCap, new(big.Int).SetUint64(gas))
	if bal, err := c.be.BalanceAt(ctx, c.from, nil); err == nil && bal.Cmp(need) < 0 {
		c.mu.Unlock()
		return common.Address{}, 0, &InsufficientFundsError{Account: c.from, Have: bal, Need: need}
	}
	tx, err := types.SignNewTx(c.key, c.signer, &types.DynamicFeeTx{ChainID: c.chainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, Data: data})
	if err != nil {
		c.mu.Unlock()
		return common.Address{}, 0, fmt.Errorf("chain: sign: %w", err)
	}
	_, err = retry(ctx, c, "send", func() (struct{}, error) { return struct{}{}, c.be.SendTransaction(ctx, tx) })
	if err != nil && isNonceTooLow(err) {
		// An earlier try whose answer was lost may have got it mined.
		if r, rerr := c.be.TransactionReceipt(ctx, tx.Hash()); rerr == nil && r != nil {
			err = nil
		}
	}
	if err != nil && !isKnown(err) {
		c.nonceOK = false
		c.mu.Unlock()
		if isInsufficientFunds(err) {
			return common.Address{}, 0, c.fundsError(ctx, need)
		}
		return common.Address{}, 0, fmt.Errorf("chain: deploy %s: %w", name, err)
	}
	c.nextNonce = nonce + 1
	c.mu.Unlock()
	r, err := c.waitMined(ctx, tx.Hash())
	if err != nil {
		return common.Address{}, 0, fmt.Errorf("chain: deploy %s: %w", name, err)
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return common.Address{}, 0, fmt.Errorf("chain: deploy %s: reverted in tx %s", name, tx.Hash())
	}
	addr := crypto.CreateAddress(c.from, nonce)
	return addr, r.BlockNumber.Uint64(), nil
}

func (c *Client) waitMined(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	delay := 10 * time.Millisecond
	for {
		r, err := c.be.TransactionReceipt(ctx, h)
		if err == nil && r != nil {
			return r, nil
		}
		if err != nil && !errors.Is(err, ethereum.NotFound) && !transient(ctx, err) {
			return nil, err
		}
		if err := c.sleep(ctx, delay); err != nil {
			return nil, err
		}
		delay = min(delay*2, c.cfg.PollInterval)
	}
}

// RECURI is the REC contract's ERC-1155 uri(token): the deployment's
// metadata URI template, {id} not substituted (wallets do that).
func (c *Client) RECURI(ctx context.Context, token TokenID) (string, error) {
	return call(ctx, c, c.Contracts().REC, c.rec.PackUri(token.Big()), c.rec.UnpackUri)
}
