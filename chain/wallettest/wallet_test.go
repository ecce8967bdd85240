package wallettest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/api"
)

// inCI is whether a missing tool fails the test instead of skipping it.
func inCI() bool { ci := os.Getenv("CI"); return ci == "1" || ci == "true" }

func need(t *testing.T, what, how string) {
	t.Helper()
	if inCI() {
		t.Fatalf("%s not found: %s", what, how)
	}
	t.Skipf("%s not found (%s)", what, how)
}

// findGeth is geth on PATH or in $(go env GOPATH)/bin.
func findGeth(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("geth"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "geth")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	need(t, "geth", "go install github.com/ethereum/go-ethereum/cmd/geth@v1.17.8")
	return ""
}

// findNode is node with this directory's npm packages installed.
func findNode(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		need(t, "node", "apt-get install nodejs npm")
	}
	if _, err := os.Stat(filepath.Join("node_modules", "ethers", "package.json")); err != nil {
		need(t, "chain/wallettest/node_modules/ethers", "npm ci in chain/wallettest, or make test")
	}
	return p
}

func testKey(label string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("gridmint wallet test key " + label)))
	if err != nil {
		panic(err)
	}
	return k
}

// startGeth runs geth --dev on a free port until the test ends and
// returns its RPC URL and the keystore file of its funded account.
func startGeth(t *testing.T, ctx context.Context) (url, keyfile string) {
	geth := findGeth(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(geth, "--dev", "--datadir", filepath.Join(dir, "geth"), "--ipcdisable", "--nodiscover",
		"--http", "--http.addr", "127.0.0.1", "--http.port", fmt.Sprint(port), "--http.api", "eth,net,web3", "--verbosity", "2")
	logf, err := os.Create(filepath.Join(dir, "geth.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(2 * time.Minute); ; {
		ec, err := ethclient.DialContext(ctx, url)
		if err == nil {
			_, err = ec.ChainID(ctx)
			ec.Close()
		}
		ks, _ := filepath.Glob(filepath.Join(dir, "geth", "keystore", "UTC--*"))
		if err == nil && len(ks) > 0 {
			return url, ks[0]
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "geth.log"))
			t.Fatalf("geth did not come up: %v\n%s", err, b)
		}
		time.Sleep(200 * time.Millisecond) // bounded poll for a process starting
	}
}

// walletView is what wallet.mjs prints.
type walletView struct {
	ChainID string `json:"chainId"`
	FLEX    struct {
		Name        string            `json:"name"`
		Symbol      string            `json:"symbol"`
		Decimals    int               `json:"decimals"`
		TotalSupply string            `json:"totalSupply"`
		Balances    map[string]string `json:"balances"`
		Formatted   map[string]string `json:"formatted"`
		Transfers   []struct {
			From, To, Value string
		} `json:"transfers"`
	} `json:"flex"`
	REC struct {
		Name        string `json:"name"`
		Symbol      string `json:"symbol"`
		ERC1155     bool   `json:"erc1155"`
		MetadataURI bool   `json:"metadataURI"`
		Tokens      []struct {
			ID          string            `json:"id"`
			URI         string            `json:"uri"`
			URL         string            `json:"url"`
			Status      int               `json:"status"`
			ContentType string            `json:"contentType"`
			CORS        string            `json:"cors"`
			Metadata    json.RawMessage   `json:"metadata"`
			Balances    map[string]string `json:"balances"`
		} `json:"tokens"`
		Transfers []struct {
			From, To, ID, Value string
		} `json:"transfers"`
		Retired []struct {
			RetirementID string `json:"retirementId"`
			Account      string `json:"account"`
			ID           string `json:"id"`
			Amount       string `json:"amount"`
			Beneficiary  string `json:"beneficiary"`
			Claim        string `json:"claim"`
			Tx           string `json:"tx"`
		} `json:"retired"`
	} `json:"rec"`
}

// TestWalletView: a deployment on geth --dev, read by ethers.js as a
// wallet and an explorer would: FLEX's ERC-20 name, symbol, decimals and
// balances; REC's name, symbol, ERC-1155 interfaces, balances and uri,
// whose metadata the node serves; the Retired and transfer events.
func TestWalletView(t *testing.T) {
	if testing.Short() {
		t.Skip("starts geth and node")
	}
	nodeBin := findNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rpc, keyfile := startGeth(t, ctx)

	// The node API the metadata URI names: its address is fixed before
	// the deployment, which writes it into REC.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()

	intents, err := chain.NewFileIntents(filepath.Join(t.TempDir(), "intents"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := chain.Open(ctx, chain.Config{RPCURL: rpc, KeystoreFile: keyfile, Intents: intents, PollInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	me := c.Address()
	var attestors []common.Address
	for i := range 3 {
		attestors = append(attestors, crypto.PubkeyToAddress(testKey(fmt.Sprint("attestor", i)).PublicKey))
	}
	addrs, err := c.Deploy(ctx, chain.DeployConfig{Attestors: attestors, Threshold: 2, URI: chain.RECMetadataURI(base)})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(d chain.Domain, h common.Hash) [][]byte {
		var sigs [][]byte
		for _, i := range []int{0, 1} {
			s, err := chain.Sign(testKey(fmt.Sprint("attestor", i)), d.Digest(h))
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
	zone, err := chain.ZoneBytes("DE-LU")
	if err != nil {
		t.Fatal(err)
	}
	claim := func(dev string, wh uint64) chain.Claim {
		return chain.Claim{Device: crypto.Keccak256Hash([]byte(dev)), Node: me, Owner: me, Zone: zone, Technology: chain.TechnologySolarPV,
			Hour: hour, Wh: wh, ReadingsRoot: crypto.Keccak256Hash([]byte(dev + "readings"))}
	}
	ib := chain.NewIssueBatch([]chain.Claim{claim("pv-1", 1200), claim("pv-2", 800)})
	if _, err := c.Issue(ctx, ib, sign(c.RECDomain(), ib.StructHash())); err != nil {
		t.Fatal(err)
	}
	tok, err := chain.NewTokenID("DE-LU", chain.TechnologySolarPV, hour)
	if err != nil {
		t.Fatal(err)
	}
	bob := common.HexToAddress("0xb0b0000000000000000000000000000000000b0b")
	if _, err := c.TransferREC(ctx, common.Hash{1}, bob, tok, 300); err != nil {
		t.Fatal(err)
	}
	ret, err := c.Retire(ctx, chain.RetireRequest{Ref: common.Hash{2}, Token: tok, Wh: 500, Beneficiary: "ACME GmbH", Claim: "hourly matched, Berlin office"})
	if err != nil {
		t.Fatal(err)
	}
	fx := func(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }
	half := new(big.Int).Div(fx(5), big.NewInt(2)) // 2.5 FLEX
	rb := chain.NewRewardBatch([]chain.Reward{
		{RecordID: common.Hash{1}, Provider: me, Amount: fx(30), Kind: chain.RewardDelivery},
		{RecordID: common.Hash{2}, Provider: bob, Amount: half, Kind: chain.RewardDelivery},
	})
	if _, err := c.Reward(ctx, rb, sign(c.FLEXDomain(), rb.StructHash())); err != nil {
		t.Fatal(err)
	}

	// The node's view: its event index and the API over it.
	index := chain.NewMemIndex()
	if _, err := chain.NewIndexer(c.Backend(), index, chain.IndexerConfig{Contracts: addrs}).Sync(ctx); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.New(api.Config{Certificates: &api.ChainCertificates{Client: c, Index: index}}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	// The wallet's view.
	cfg, _ := json.Marshal(map[string]any{"rpc": rpc, "flex": addrs.FLEX.Hex(), "rec": addrs.REC.Hex(), "fromBlock": addrs.DeployBlock,
		"accounts": []string{me.Hex(), bob.Hex()}, "tokens": []string{tok.Big().String()}})
	cfgFile := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, nodeBin, "wallet.mjs", cfgFile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node wallet.mjs: %v\n%s", err, stderr.String())
	}
	t.Logf("ethers read:\n%s", stdout.String())
	var v walletView
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("wallet.mjs output: %v", err)
	}

	if v.ChainID != c.ChainID().String() {
		t.Errorf("chain id %s, want %s", v.ChainID, c.ChainID())
	}
	f := v.FLEX
	if f.Name != "gridmint FLEX" || f.Symbol != "FLEX" || f.Decimals != 18 || f.TotalSupply != new(big.Int).Add(fx(30), half).String() {
		t.Errorf("FLEX %s %s %d supply %s", f.Name, f.Symbol, f.Decimals, f.TotalSupply)
	}
	if f.Balances[me.Hex()] != fx(30).String() || f.Formatted[me.Hex()] != "30.0" || f.Formatted[bob.Hex()] != "2.5" {
		t.Errorf("FLEX balances %v (%v)", f.Balances, f.Formatted)
	}
	if len(f.Transfers) != 2 || f.Transfers[0].From != (common.Address{}).Hex() {
		t.Errorf("FLEX transfers (mints) %+v", f.Transfers)
	}

	r := v.REC
	if r.Name == "" || r.Symbol != "REC" || !r.ERC1155 || !r.MetadataURI || len(r.Tokens) != 1 {
		t.Fatalf("REC %s %s erc1155 %v metadata %v tokens %d", r.Name, r.Symbol, r.ERC1155, r.MetadataURI, len(r.Tokens))
	}
	tv := r.Tokens[0]
	wantURL := fmt.Sprintf("%s/api/v1/metadata/rec/%064x.json", base, tok.Big())
	if tv.URI != chain.RECMetadataURI(base) || tv.URL != wantURL || tv.Status != http.StatusOK ||
		!strings.HasPrefix(tv.ContentType, "application/json") || tv.CORS != "*" {
		t.Errorf("uri %q → %s: %d %s cors %q", tv.URI, tv.URL, tv.Status, tv.ContentType, tv.CORS)
	}
	if tv.Balances[me.Hex()] != "1200" || tv.Balances[bob.Hex()] != "300" {
		t.Errorf("REC balances %v, want 1200 and 300", tv.Balances)
	}
	var md api.RECMetadata
	if err := json.Unmarshal(tv.Metadata, &md); err != nil {
		t.Fatalf("metadata %s: %v", tv.Metadata, err)
	}
	p := md.Properties
	if md.Name == "" || md.Decimals != 0 || p.Zone != "DE-LU" || p.Technology != "solar_pv" || p.Wh != 2000 || p.WhRetired != 500 ||
		p.WhOutstanding != 1500 || !p.HourStart.Equal(time.Unix(int64(hour)*3600, 0)) || p.DevicesTotal != 2 ||
		p.Devices[0].Device != ib.Claims[0].Device.Hex() || p.Devices[0].Wh != 1200 || p.Contract != addrs.REC.Hex() || p.TokenID != tok.Big().String() {
		t.Errorf("metadata %s", tv.Metadata)
	}

	// Mints (from 0) and the transfer to bob; the retirement burns (to 0).
	var minted, toBob, burned int
	for _, x := range r.Transfers {
		switch {
		case x.From == (common.Address{}).Hex():
			minted++
		case x.To == bob.Hex() && x.Value == "300":
			toBob++
		case x.To == (common.Address{}).Hex() && x.Value == "500":
			burned++
		}
		if x.ID != tok.Big().String() {
			t.Errorf("transfer of token %s", x.ID)
		}
	}
	if minted != 2 || toBob != 1 || burned != 1 {
		t.Errorf("REC TransferSingle events: %d mints, %d to bob, %d burns: %+v", minted, toBob, burned, r.Transfers)
	}
	if len(r.Retired) != 1 {
		t.Fatalf("Retired events %+v", r.Retired)
	}
	rt := r.Retired[0]
	if rt.RetirementID != fmt.Sprint(ret.RetirementID) || rt.Account != me.Hex() || rt.ID != tok.Big().String() || rt.Amount != "500" ||
		rt.Beneficiary != "ACME GmbH" || rt.Claim != "hourly matched, Berlin office" || rt.Tx != ret.TxHash.Hex() {
		t.Errorf("Retired %+v, want %+v", rt, ret)
	}
}
