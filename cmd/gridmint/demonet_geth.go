package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/gridmint/gridmint/chain"
)

// gethProcess is the geth --dev a `demo --nodes N --chain geth` runs.
type gethProcess struct {
	cmd     *exec.Cmd
	done    chan struct{}
	url     string
	dir     string
	logPath string
	logFile *os.File
}

// gethStartTimeout bounds geth's start: wall time.
const gethStartTimeout = time.Minute

// startGeth starts `geth --dev` with its data in dir (kept across
// restarts: the same chain and developer account) and its JSON-RPC on a
// free loopback port, and waits until it answers.
func startGeth(ctx context.Context, dir string, stderr io.Writer) (*gethProcess, error) {
	bin, err := exec.LookPath("geth")
	if err != nil {
		return nil, errors.New("demo: --chain geth: no geth on PATH; install it with `go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8`")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	port, err := freeTCPPort()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	g := &gethProcess{url: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir, logPath: filepath.Join(filepath.Dir(dir), "geth.log"), done: make(chan struct{})}
	if g.logFile, err = os.OpenFile(g.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	g.cmd = exec.Command(bin, "--dev", "--datadir", dir, "--ipcdisable", "--nodiscover",
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(port), "--http.api", "eth,net,web3", "--verbosity", "2")
	g.cmd.Stdout, g.cmd.Stderr = g.logFile, g.logFile
	stopWithParent(g.cmd)
	if err := g.cmd.Start(); err != nil {
		g.logFile.Close()
		return nil, fmt.Errorf("demo: start geth: %w", err)
	}
	go func() { g.cmd.Wait(); close(g.done) }()
	deadline := time.NewTimer(gethStartTimeout) // wall clock: a start-up bound
	defer deadline.Stop()
	for {
		if _, err := g.devKeyFile(); err == nil {
			ec, err := ethclient.DialContext(ctx, g.url)
			if err == nil {
				_, err = ec.ChainID(ctx)
				ec.Close()
			}
			if err == nil {
				fmt.Fprintf(stderr, "[geth] geth --dev answers at %s (log %s)\n", g.url, g.logPath)
				return g, nil
			}
		}
		select {
		case <-ctx.Done():
			g.stop()
			return nil, ctx.Err()
		case <-g.done:
			g.logFile.Close()
			return nil, fmt.Errorf("demo: geth stopped at start: %v; see %s", g.cmd.ProcessState, g.logPath)
		case <-deadline.C:
			g.stop()
			return nil, fmt.Errorf("demo: geth did not answer at %s within %v; see %s", g.url, gethStartTimeout, g.logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// devKeyFile is geth --dev's developer account's keystore file (empty
// passphrase).
func (g *gethProcess) devKeyFile() (string, error) {
	ks, err := filepath.Glob(filepath.Join(g.dir, "keystore", "UTC--*"))
	if err != nil || len(ks) == 0 {
		return "", fmt.Errorf("no developer account in %s/keystore yet", g.dir)
	}
	return ks[0], nil
}

// stop stops geth (SIGINT, as Ctrl-C), killing it after 10 s.
func (g *gethProcess) stop() {
	g.cmd.Process.Signal(os.Interrupt)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second): // wall clock: a shutdown bound
		g.cmd.Process.Kill()
		<-g.done
	}
	g.logFile.Close()
}

// demoNodeFunds is what the developer account gives each node that has
// less than demoNodeFunds / 2: plenty for a demo's gas.
var demoNodeFunds = new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))

// prepareGethChain funds every node from geth's developer account and,
// unless the network's contracts file names contracts that are there,
// deploys them with node 0's key: every node an attestor, threshold
// o.attestK.
func prepareGethChain(ctx context.Context, g *gethProcess, procs []*demoNetNode, o demoNetOptions) error {
	keyFile, err := g.devKeyFile()
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	dev, err := keystore.DecryptKey(raw, "")
	if err != nil {
		return fmt.Errorf("demo: geth's developer account %s: %w", keyFile, err)
	}
	ec, err := ethclient.DialContext(ctx, g.url)
	if err != nil {
		return fmt.Errorf("demo: geth: %w", err)
	}
	defer ec.Close()
	chainID, err := ec.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("demo: geth: %w", err)
	}
	if chainID.Cmp(chain.SimulatedChainID) != 0 {
		return fmt.Errorf("demo: geth --dev answers chain id %s, want %s", chainID, chain.SimulatedChainID)
	}
	signer := types.LatestSignerForChainID(chainID)
	for _, n := range procs {
		bal, err := ec.BalanceAt(ctx, n.id.Account, nil)
		if err != nil {
			return fmt.Errorf("demo: geth: %w", err)
		}
		if bal.Cmp(new(big.Int).Div(demoNodeFunds, big.NewInt(2))) >= 0 {
			continue
		}
		if err := sendETH(ctx, ec, signer, dev, n.id.Account, demoNodeFunds); err != nil {
			return fmt.Errorf("demo: funding node %d from geth's developer account: %w", n.index, err)
		}
	}
	path := filepath.Join(o.dataDir, demoNetContractsFile)
	c, err := chain.Open(ctx, chain.Config{RPCURL: g.url, Key: procs[0].id.Private, ChainID: chain.SimulatedChainID, PollInterval: 100 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("demo: geth: %w", err)
	}
	defer c.Close()
	if a, ok, err := readNetContracts(path); err != nil {
		return err
	} else if ok {
		c2, err := chain.New(ctx, c.Backend(), chain.Config{Key: procs[0].id.Private, Contracts: a})
		if err != nil {
			return fmt.Errorf("demo: geth: %w", err)
		}
		if err := c2.CheckContracts(ctx); err == nil {
			return nil
		}
		// geth's data was removed: the contracts went with it.
	}
	attestors := make([]common.Address, len(procs))
	for i, n := range procs {
		attestors[i] = n.id.Account
	}
	a, err := c.Deploy(ctx, chain.DeployConfig{Attestors: attestors, Threshold: uint64(o.attestK), URI: chain.RECMetadataURIOf(procs[0].httpAddr)})
	if err != nil {
		return fmt.Errorf("demo: deploying the contracts on geth: %w", err)
	}
	return writeContracts(path, a)
}

// sendETH sends amount wei from key's account to to and waits until it is
// mined.
func sendETH(ctx context.Context, ec *ethclient.Client, signer types.Signer, key *keystore.Key, to common.Address, amount *big.Int) error {
	nonce, err := ec.PendingNonceAt(ctx, key.Address)
	if err != nil {
		return err
	}
	tip, err := ec.SuggestGasTipCap(ctx)
	if err != nil {
		return err
	}
	head, err := ec.HeaderByNumber(ctx, nil)
	if err != nil {
		return err
	}
	feeCap := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	tx, err := types.SignNewTx(key.PrivateKey, signer, &types.DynamicFeeTx{ChainID: signer.ChainID(), Nonce: nonce, GasTipCap: tip, GasFeeCap: feeCap,
		Gas: 21_000, To: &to, Value: amount})
	if err != nil {
		return err
	}
	if err := ec.SendTransaction(ctx, tx); err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute) // wall clock: geth --dev mines at once
	for {
		r, err := ec.TransactionReceipt(ctx, tx.Hash())
		if err == nil && r != nil {
			if r.Status != types.ReceiptStatusSuccessful {
				return fmt.Errorf("transfer %s failed", tx.Hash())
			}
			return nil
		}
		// A geth just started answers receipts only once it has indexed
		// its transactions.
		if err != nil && !errors.Is(err, ethereum.NotFound) && !strings.Contains(err.Error(), "indexing is in progress") {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("transfer %s not mined within a minute", tx.Hash())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readNetContracts reads a network's contracts file; ok is false when
// there is none yet.
func readNetContracts(path string) (chain.Addresses, bool, error) {
	var a chain.Addresses
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("demo: %w", err)
	}
	if err := decodeContracts(b, &a); err != nil {
		return a, false, fmt.Errorf("demo: %s: %w", path, err)
	}
	return a, true, nil
}
