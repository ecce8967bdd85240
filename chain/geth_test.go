package chain

import (
	"context"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
)

// findGeth returns a geth binary from PATH or $(go env GOPATH)/bin. Without
// one the test skips, except under CI=1/true, where it fails: CI installs
// it with `go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8`.
func findGeth(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("geth"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = string(out[:len(out)-1])
		}
	}
	if p := filepath.Join(gopath, "bin", "geth"); gopath != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if ci := os.Getenv("CI"); ci == "1" || ci == "true" {
		t.Fatal("geth not found on PATH or in $(go env GOPATH)/bin: go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8")
	}
	t.Skip("geth not found (go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8)")
	return ""
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Against a real geth --dev over JSON-RPC with its keystore account:
// deploy, issue, transfer, retire, reward, reserve; restart the client;
// index and audit.
func TestGethDevIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("starts geth")
	}
	geth := findGeth(t)
	dir := t.TempDir()
	port := freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, geth, "--dev", "--datadir", filepath.Join(dir, "geth"), "--ipcdisable", "--nodiscover",
		"--http", "--http.addr", "127.0.0.1", "--http.port", fmt.Sprint(port), "--http.api", "eth,net,web3", "--verbosity", "2")
	logf, _ := os.Create(filepath.Join(dir, "geth.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	var keyfile string
	for deadline := time.Now().Add(2 * time.Minute); ; {
		ec, err := ethclient.DialContext(ctx, url)
		if err == nil {
			_, err = ec.ChainID(ctx)
			ec.Close()
		}
		ks, _ := filepath.Glob(filepath.Join(dir, "geth", "keystore", "UTC--*"))
		if err == nil && len(ks) > 0 {
			keyfile = ks[0]
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "geth.log"))
			t.Fatalf("geth did not come up: %v\n%s", err, b)
		}
		time.Sleep(200 * time.Millisecond)
	}

	intents, err := NewFileIntents(filepath.Join(dir, "intents"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{RPCURL: url, KeystoreFile: keyfile, Passphrase: "", Intents: intents, PollInterval: 200 * time.Millisecond, Logger: testLogger(t)}
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	me := c.Address()
	attestors := []common.Address{addr(testKey("attestor0")), addr(testKey("attestor1")), addr(testKey("attestor2"))}
	addrs, err := c.Deploy(ctx, DeployConfig{Attestors: attestors, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(d Domain, h common.Hash) [][]byte {
		var sigs [][]byte
		for _, i := range []int{2, 0} {
			s, err := Sign(testKey(fmt.Sprint("attestor", i)), d.Digest(h))
			if err != nil {
				t.Fatal(err)
			}
			sigs = append(sigs, s)
		}
		return sigs
	}
	head, err := c.Backend().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	hour := head.Time/3600 - 2
	ib := NewIssueBatch([]Claim{claim("geth/pv1", me, hour, 1200), claim("geth/pv2", me, hour, 800)})
	if _, err := c.Issue(ctx, ib, sign(c.RECDomain(), ib.StructHash())); err != nil {
		t.Fatal(err)
	}
	tok := TokenID{zoneDE, TechnologySolarPV, hour}
	bob := common.HexToAddress("0xb0b0000000000000000000000000000000000b0b")
	if _, err := c.TransferREC(ctx, common.Hash{1}, bob, tok, 300); err != nil {
		t.Fatal(err)
	}
	ret, err := c.Retire(ctx, RetireRequest{Ref: common.Hash{2}, Token: tok, Wh: 500, Beneficiary: "ACME GmbH", Claim: "hourly matched"})
	if err != nil || ret.RetirementID != 1 {
		t.Fatalf("retire: %+v %v", ret, err)
	}
	rb := NewRewardBatch([]Reward{
		{RecordID: common.Hash{1}, Provider: me, Amount: fx(30), Kind: RewardDelivery},
		{RecordID: common.Hash{2}, Provider: bob, Amount: fx(2), Kind: RewardAvailability},
	})
	if _, err := c.Reward(ctx, rb, sign(c.FLEXDomain(), rb.StructHash())); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Reserve(ctx, common.Hash{9}, common.Hash{10}, fx(12)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	// Restart: a new client on the same intents sees everything done.
	cfg.Contracts = addrs
	c, err = Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if pend, _ := intents.PendingIntents(ctx); len(pend) != 0 {
		t.Errorf("pending intents after restart: %d", len(pend))
	}
	if r, err := c.Issue(ctx, ib, sign(c.RECDomain(), ib.StructHash())); err != nil || r.TxHash == (common.Hash{}) {
		t.Errorf("re-issue after restart: %+v %v; want the recorded receipt", r, err)
	}
	for _, tc := range []struct {
		what      string
		got, want *big.Int
	}{
		{"my REC", must(c.RECBalance(ctx, me, tok)), big.NewInt(1200)},
		{"bob's REC", must(c.RECBalance(ctx, bob, tok)), big.NewInt(300)},
		{"my FLEX", must(c.FLEXBalance(ctx, me)), fx(18)},
		{"bob's FLEX", must(c.FLEXBalance(ctx, bob)), fx(2)},
	} {
		if tc.got.Cmp(tc.want) != 0 {
			t.Errorf("%s = %v, want %v", tc.what, tc.got, tc.want)
		}
	}

	store := NewMemIndex()
	if _, err := NewIndexer(c.Backend(), store, IndexerConfig{Contracts: addrs}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	bal, err := Index{Store: store}.Balances(ctx, me)
	if err != nil || bal.FLEX.Cmp(fx(18)) != 0 || len(bal.REC) != 1 || bal.REC[0].Wh.Int64() != 1200 {
		t.Errorf("indexed balances %+v %v", bal, err)
	}
	rep, err := Audit(ctx, c.Backend(), addrs, Evidence{FLEXRewarded: fx(32), RECIssued: map[TokenID]*big.Int{tok: big.NewInt(2000)}}, AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Differences) != 0 || rep.FLEX.Supply.Cmp(fx(20)) != 0 || rep.REC[0].Supply.Int64() != 1500 {
		t.Errorf("audit: %+v", rep)
	}

	// A stake read at a block is the one in that block's state (geth
	// keeps the recent blocks' state even when pruning).
	staked, err := c.Stake(ctx, common.Hash{11}, fx(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stake(ctx, common.Hash{12}, fx(3)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.StakeOfAt(ctx, me, staked.Block); err != nil || got.Cmp(fx(5)) != 0 {
		t.Errorf("StakeOfAt(block %d) = %v, %v; want 5 FLEX", staked.Block, got, err)
	}
	if got, err := c.StakeOf(ctx, me); err != nil || got.Cmp(fx(8)) != 0 {
		t.Errorf("StakeOf = %v, %v; want 8 FLEX", got, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
