package chain

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// harness is a deployed gridmint on an in-memory embedded chain with n
// attestors and threshold k.
type harness struct {
	t         testing.TB
	ctx       context.Context
	sim       *Simulated
	c         *Client
	key       *ecdsa.PrivateKey
	attestors []*ecdsa.PrivateKey
	addrs     Addresses
}

// testKey derives a deterministic key from a label.
func testKey(label string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("gridmint test key " + label)))
	if err != nil {
		panic(err)
	}
	return k
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("CHAIN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// fastSleep keeps polls short in tests.
func fastSleep(ctx context.Context, d time.Duration) error {
	return sleepCtx(ctx, min(d, 20*time.Millisecond))
}

func newHarness(t testing.TB, k, n int, extra ...common.Address) *harness {
	t.Helper()
	ctx := context.Background()
	key := testKey("submitter")
	alloc := types.GenesisAlloc{addr(key): {Balance: SimulatedFunds}}
	for _, a := range extra {
		alloc[a] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))}
	}
	sim, err := NewSimulated(SimulatedConfig{Alloc: alloc, BlockGasLimit: 100_000_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	c, err := New(ctx, sim.Backend(), Config{Key: key, Logger: testLogger(t), Sleep: fastSleep})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ctx: ctx, sim: sim, c: c, key: key}
	var as []common.Address
	for i := 0; i < n; i++ {
		ak := testKey(fmt.Sprint("attestor", i))
		h.attestors = append(h.attestors, ak)
		as = append(as, addr(ak))
	}
	h.addrs, err = c.Deploy(ctx, DeployConfig{Attestors: as, Threshold: uint64(k)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// client returns another client (another account) on the same chain.
func (h *harness) client(key *ecdsa.PrivateKey) *Client {
	h.t.Helper()
	c, err := New(h.ctx, h.sim.Backend(), Config{Key: key, Contracts: h.addrs, Logger: testLogger(h.t), Sleep: fastSleep})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// sign returns signatures of digest by the attestors with the given indexes.
func (h *harness) sign(digest common.Hash, idx ...int) [][]byte {
	h.t.Helper()
	var sigs [][]byte
	for _, i := range idx {
		s, err := Sign(h.attestors[i], digest)
		if err != nil {
			h.t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	return sigs
}

func (h *harness) signIssue(b IssueBatch, idx ...int) [][]byte {
	return h.sign(h.c.RECDomain().Digest(b.StructHash()), idx...)
}

func (h *harness) signReward(b RewardBatch, idx ...int) [][]byte {
	return h.sign(h.c.FLEXDomain().Digest(b.StructHash()), idx...)
}

// currentHour is the last hour that has ended by the chain's clock.
func (h *harness) pastHour(ago uint64) uint64 {
	head, err := h.sim.Backend().HeaderByNumber(h.ctx, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return head.Time/3600 - ago
}

var zoneDE = mustZone("DE-LU")

func mustZone(z string) [32]byte {
	b, err := ZoneBytes(z)
	if err != nil {
		panic(err)
	}
	return b
}

// testDevice stands for a device key: on the network a node derives it
// from the device id with a secret salt (node.Identity.DeviceKey); the
// contracts take any bytes32.
func testDevice(name string) common.Hash { return crypto.Keccak256Hash([]byte(name)) }

// claims builds one claim per (device, hour) with deterministic contents.
func claim(device string, owner common.Address, hour, wh uint64) Claim {
	return Claim{Device: testDevice(device), Node: owner, Owner: owner, Zone: zoneDE, Technology: TechnologySolarPV, Hour: hour, Wh: wh,
		ReadingsRoot: crypto.Keccak256Hash([]byte(fmt.Sprint(device, hour)))}
}

// callErr runs data against to as from (eth_call) and returns the decoded
// revert, or nil if the call succeeded.
func (h *harness) callErr(from common.Address, to common.Address, data []byte) *RevertError {
	h.t.Helper()
	_, err := h.sim.Backend().CallContract(h.ctx, ethereum.CallMsg{From: from, To: &to, Data: data}, nil)
	if err == nil {
		return nil
	}
	r := revertOf(err)
	if r == nil {
		h.t.Fatalf("call: %v (not a revert)", err)
	}
	return r
}

// sendETH gives to 1 ETH from the harness account.
func sendETH(h *harness, to common.Address) error {
	tip, feeCap, err := h.c.fees(h.ctx)
	if err != nil {
		return err
	}
	nonce, err := h.sim.Backend().PendingNonceAt(h.ctx, addr(h.key))
	if err != nil {
		return err
	}
	tx, err := types.SignNewTx(h.key, types.LatestSignerForChainID(SimulatedChainID), &types.DynamicFeeTx{
		ChainID: SimulatedChainID, Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: 21000, To: &to, Value: big.NewInt(1e18),
	})
	if err != nil {
		return err
	}
	h.c.mu.Lock()
	h.c.nonceOK = false
	h.c.mu.Unlock()
	return h.sim.Backend().SendTransaction(h.ctx, tx)
}
