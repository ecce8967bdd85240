package chain

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

const crashEnv = "GRIDMINT_CHAIN_CRASH"

type crashSpec struct {
	Mode  string    `json:"mode"`
	Addrs Addresses `json:"addrs"`
	Hour  uint64    `json:"hour"`
}

func crashBatch(owner common.Address, hour uint64) IssueBatch {
	return NewIssueBatch([]Claim{claim("crash/pv1", owner, hour, 1234), claim("crash/pv2", owner, hour, 766)})
}

func crashSigs(t testing.TB, a Addresses, b IssueBatch) [][]byte {
	d := Domain{Name: DomainREC, Version: "1", ChainID: SimulatedChainID, Contract: a.REC}
	var sigs [][]byte
	for _, i := range []int{0, 1} {
		s, err := Sign(testKey([]string{"attestor0", "attestor1"}[i]), d.Digest(b.StructHash()))
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	return sigs
}

// TestCrashChild is the child process of TestKillBetweenSendAndRecord: it
// submits a batch and SIGKILLs itself at the point the mode names.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run as a child by TestKillBetweenSendAndRecord")
	}
	var spec crashSpec
	b, err := os.ReadFile(filepath.Join(dir, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := testKey("submitter")
	intents, err := NewFileIntents(filepath.Join(dir, "intents"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Key: key, Contracts: spec.Addrs, Intents: intents, Sleep: fastSleep, Logger: testLogger(t)}
	var c *Client
	if spec.Mode == "sent" {
		// Blocks are sealed only on Commit, which never comes: the
		// transaction dies with the process's transaction pool.
		sim, err := NewSimulated(SimulatedConfig{Dir: filepath.Join(dir, "chain"), Alloc: types.GenesisAlloc{addr(key): {Balance: SimulatedFunds}}, Manual: true})
		if err != nil {
			t.Fatal(err)
		}
		if c, err = New(ctx, sim.Backend(), cfg); err != nil {
			t.Fatal(err)
		}
	} else {
		cfg.SimulatedDir = filepath.Join(dir, "chain")
		if c, err = Open(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	kill := func(Intent) { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	switch spec.Mode {
	case "recorded":
		c.afterRecord = kill
	default:
		c.afterSend = kill
	}
	batch := crashBatch(addr(key), spec.Hour)
	_, err = c.Issue(ctx, batch, crashSigs(t, spec.Addrs, batch))
	t.Fatalf("not killed: %v", err)
}

// A process SIGKILLed between recording its intent and sending, between
// sending and mining, and between mining and recording the result: after
// a restart on the same data dir the batch is issued exactly once.
func TestKillBetweenSendAndRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	for _, mode := range []string{"recorded", "sent", "mined"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			key := testKey("submitter")
			intents, err := NewFileIntents(filepath.Join(dir, "intents"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := Config{Key: key, SimulatedDir: filepath.Join(dir, "chain"), Intents: intents, Sleep: fastSleep, Logger: testLogger(t)}
			c, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			addrs, err := c.Deploy(ctx, DeployConfig{Attestors: []common.Address{addr(testKey("attestor0")), addr(testKey("attestor1"))}, Threshold: 2})
			if err != nil {
				t.Fatal(err)
			}
			head, _ := c.Backend().HeaderByNumber(ctx, nil)
			spec := crashSpec{Mode: mode, Addrs: addrs, Hour: head.Time/3600 - 3}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(spec)
			if err := os.WriteFile(filepath.Join(dir, "spec.json"), b, 0o600); err != nil {
				t.Fatal(err)
			}

			cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashEnv+"="+dir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
			}

			batch := crashBatch(addr(key), spec.Hour)
			in, ok, err := intents.Intent(ctx, IntentID(OpIssue, batch.BatchID))
			if err != nil || !ok || in.State != IntentPending || len(in.Txs) != 1 {
				t.Fatalf("intent after the kill: %+v %v %v; want pending with one signed tx", in, ok, err)
			}

			cfg.Contracts = addrs
			c, err = Open(ctx, cfg) // reconciles
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			in, _, _ = intents.Intent(ctx, IntentID(OpIssue, batch.BatchID))
			if in.State != IntentDone || in.Result == nil || in.Result.TxHash != in.Txs[0].Hash {
				t.Errorf("intent after restart: %+v; want done by its recorded tx", in)
			}
			tok := ClaimTokenID(batch.Claims[0])
			if got, err := c.RECBalance(ctx, addr(key), tok); err != nil || got.Int64() != 2000 {
				t.Errorf("balance %v (%v), want 2000: issued exactly once", got, err)
			}
			logs, err := c.Backend().FilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{addrs.REC},
				Topics: [][]common.Hash{{recABI.Events["Issued"].ID}, {batch.BatchID}}})
			if err != nil || len(logs) != 1 {
				t.Errorf("Issued events for the batch: %d (%v), want 1", len(logs), err)
			}
			// Submitting again changes nothing.
			r, err := c.Issue(ctx, batch, crashSigs(t, addrs, batch))
			if err != nil || r.TxHash != in.Txs[0].Hash {
				t.Errorf("Issue after restart = %+v, %v", r, err)
			}
			if n, _ := c.Backend().NonceAt(ctx, addr(key), nil); n != 4 {
				t.Errorf("account nonce %d, want 4 (3 deployments + 1 issue)", n)
			}
		})
	}
}

// The embedded chain in a directory keeps its state across a clean restart.
func TestSimulatedChainPersists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := testKey("submitter")
	cfg := Config{Key: key, SimulatedDir: dir, Sleep: fastSleep}
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Deploy(ctx, DeployConfig{Attestors: []common.Address{addr(testKey("attestor0"))}, Threshold: 1})
	if err != nil {
		t.Fatal(err)
	}
	head := c.Simulated().Head()
	c.Close()
	cfg.Contracts = a
	c, err = Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Simulated().Head(); got != head {
		t.Errorf("head after restart %d, want %d", got, head)
	}
	code, err := c.Backend().CodeAt(ctx, a.REC, nil)
	if err != nil || len(code) == 0 {
		t.Errorf("REC code after restart: %d bytes (%v)", len(code), err)
	}
	if bal, _ := c.ETHBalance(ctx); bal.Cmp(SimulatedFunds) >= 0 || bal.Cmp(new(big.Int).Div(SimulatedFunds, big.NewInt(2))) < 0 {
		t.Errorf("balance after restart %v: deployment fees lost?", bal)
	}
}
