package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// fakeChain is a Chain whose behaviour a test sets through function
// fields; calling an unset one panics, failing the test.
type fakeChain struct {
	InfoFn        func() (ChainInfo, error)
	BalancesFn    func(common.Address) (chain.Balances, error)
	HistoryFn     func(common.Address, int) ([]chain.Event, error)
	RetirementsFn func(a *common.Address, after uint64, limit int) ([]chain.Event, error)
}

func (f fakeChain) Info(context.Context) (ChainInfo, error) { return f.InfoFn() }
func (f fakeChain) Balances(_ context.Context, a common.Address) (chain.Balances, error) {
	return f.BalancesFn(a)
}
func (f fakeChain) History(_ context.Context, a common.Address, limit int) ([]chain.Event, error) {
	return f.HistoryFn(a, limit)
}
func (f fakeChain) Retirements(_ context.Context, a *common.Address, after uint64, limit int) ([]chain.Event, error) {
	return f.RetirementsFn(a, after, limit)
}

func newChainServer(t *testing.T, fc Chain) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices}, Chain: fc, Token: testToken,
		Health: func() []Check { return nil },
	}))
	t.Cleanup(srv.Close)
	return srv
}

var (
	chainBob  = common.HexToAddress("0xb0b0000000000000000000000000000000000B0B")
	chainHead = chain.BlockRef{Number: 42, Hash: common.Hash{0xab}, Time: 1_795_000_000}
	// 2^70 + 1: beyond uint64 and float64 precision.
	hugeAmount = new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 70), big.NewInt(1))
)

func chainToken(t *testing.T) chain.TokenID {
	t.Helper()
	id, err := chain.NewTokenID("DE-LU", chain.TechnologySolarPV, 498_611) // 2026-11-18T11:00:00Z
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// decodeJSON decodes body into v, failing the test if it is not JSON of
// that shape.
func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("response %s: %v", body, err)
	}
}

// errorMessage is the "error" of an error response.
func errorMessage(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	decodeJSON(t, body, &e)
	return e.Error
}

func TestChainInfoEndpoint(t *testing.T) {
	contracts := chain.Addresses{Registry: common.Address{1}, REC: common.Address{2}, FLEX: common.Address{3}, DeployBlock: 7}
	for _, tc := range []struct {
		name     string
		info     ChainInfo
		err      error
		wantCode int
		check    func(t *testing.T, got ChainStatus, body string)
	}{
		{
			name: "full",
			info: ChainInfo{ChainID: big.NewInt(1337), RPC: "https://user:pw@mainnet.example.io/v3/SECRETKEY?token=SECRET2", Contracts: contracts,
				Account: chainBob, BalanceWei: hugeAmount, IndexHead: &chainHead, Confirmations: 12,
				Attestors: []common.Address{{0xa1}, {0xa2}, {0xa3}}, Threshold: 2},
			wantCode: http.StatusOK,
			check: func(t *testing.T, got ChainStatus, body string) {
				want := ChainStatus{ChainID: "1337", RPC: "https://mainnet.example.io",
					Contracts: ChainContracts{Registry: common.Address{1}.Hex(), REC: common.Address{2}.Hex(), FLEX: common.Address{3}.Hex(), DeployBlock: 7},
					Account:   chainBob.Hex(), Confirmations: 12}
				if got.BalanceWei == nil || *got.BalanceWei != "1180591620717411303425" {
					t.Errorf("balance_wei = %v, want \"1180591620717411303425\"", got.BalanceWei)
				}
				if h := got.IndexHead; h == nil || h.Number != 42 || h.Hash != chainHead.Hash.Hex() || h.Time == nil || h.Time.Unix() != 1_795_000_000 {
					t.Errorf("index_head = %+v, want block 42 %s at 1795000000", h, chainHead.Hash.Hex())
				}
				if got.Threshold == nil || *got.Threshold != 2 || fmt.Sprint(got.Attestors) != fmt.Sprint([]string{common.Address{0xa1}.Hex(), common.Address{0xa2}.Hex(), common.Address{0xa3}.Hex()}) {
					t.Errorf("attestors %v threshold %v, want 0xa1.., 0xa2.., 0xa3.. and 2", got.Attestors, got.Threshold)
				}
				got.BalanceWei, got.IndexHead, got.Attestors, got.Threshold = nil, nil, nil, nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("info = %+v, want %+v", got, want)
				}
				if strings.Contains(body, "SECRET") || strings.Contains(body, "pw") {
					t.Errorf("the response shows the RPC URL's secrets: %s", body)
				}
			},
		},
		{
			name:     "embedded, nothing indexed, balance unknown",
			info:     ChainInfo{ChainID: big.NewInt(1337), RPC: "embedded", Contracts: contracts, Account: chainBob},
			wantCode: http.StatusOK,
			check: func(t *testing.T, got ChainStatus, body string) {
				if got.RPC != "embedded" || got.BalanceWei != nil || got.IndexHead != nil {
					t.Errorf("info = %+v, want rpc embedded and null balance and head", got)
				}
				if !strings.Contains(body, `"balance_wei": null`) || !strings.Contains(body, `"index_head": null`) ||
					!strings.Contains(body, `"attestors": null`) || !strings.Contains(body, `"threshold": null`) {
					t.Errorf("body %s: want explicit nulls", body)
				}
			},
		},
		{name: "unavailable", err: gridmint.Errorf(gridmint.EUnavailable, "chain: endpoint down"), wantCode: http.StatusServiceUnavailable},
		{name: "internal", err: errors.New("boom"), wantCode: http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newChainServer(t, fakeChain{InfoFn: func() (ChainInfo, error) { return tc.info, tc.err }})
			code, body := call(t, http.MethodGet, srv.URL+"/api/v1/chain", "", "")
			if code != tc.wantCode {
				t.Fatalf("GET /api/v1/chain = %d %s, want %d", code, body, tc.wantCode)
			}
			if tc.check != nil {
				var got ChainStatus
				decodeJSON(t, body, &got)
				tc.check(t, got, body)
			}
		})
	}
}

func TestChainBalancesEndpoint(t *testing.T) {
	tok := chainToken(t)
	var asked common.Address
	balances := func(a common.Address) (chain.Balances, error) {
		asked = a
		switch a {
		case common.Address{}:
			return chain.Balances{}, gridmint.Errorf(gridmint.EUnavailable, "index not ready")
		case common.Address{0xee}:
			return chain.Balances{}, errors.New("badger: corrupt")
		}
		return chain.Balances{Account: a, FLEX: new(big.Int).Mul(big.NewInt(125), big.NewInt(1e17)),
			REC: []chain.TokenBalance{{Token: tok, Wh: hugeAmount}}, AsOf: chainHead}, nil
	}
	srv := newChainServer(t, fakeChain{BalancesFn: balances})
	for _, tc := range []struct {
		name, account string
		wantCode      int
		wantAsked     common.Address
		wantErr       string
	}{
		{name: "lower case", account: "0xb0b0000000000000000000000000000000000b0b", wantCode: 200, wantAsked: chainBob},
		{name: "checksummed", account: chainBob.Hex(), wantCode: 200, wantAsked: chainBob},
		{name: "upper case, 0X", account: "0XB0B0000000000000000000000000000000000B0B", wantCode: 200, wantAsked: chainBob},
		{name: "short", account: "0xb0b", wantCode: 400, wantErr: `account "0xb0b": want 0x and 40 hex digits`},
		{name: "long", account: "0xb0b00000000000000000000000000000000000b0b0", wantCode: 400, wantErr: "want 0x and 40 hex digits"},
		{name: "no 0x", account: "b0b0000000000000000000000000000000000b0b00", wantCode: 400, wantErr: "want 0x and 40 hex digits"},
		{name: "not hex", account: "0xg0b0000000000000000000000000000000000b0b", wantCode: 400, wantErr: "want 0x and 40 hex digits"},
		{name: "ENS name", account: "vitalik.eth", wantCode: 400, wantErr: "want 0x and 40 hex digits"},
		{name: "unavailable", account: "0x0000000000000000000000000000000000000000", wantCode: 503, wantErr: "index not ready"},
		{name: "internal", account: "0xee00000000000000000000000000000000000000", wantCode: 500, wantErr: "badger: corrupt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked = common.Address{0x99}
			code, body := call(t, http.MethodGet, srv.URL+"/api/v1/chain/balances/"+tc.account, "", "")
			if code != tc.wantCode {
				t.Fatalf("GET balances/%s = %d %s, want %d", tc.account, code, body, tc.wantCode)
			}
			if tc.wantErr != "" {
				if msg := errorMessage(t, body); !strings.Contains(msg, tc.wantErr) {
					t.Errorf("error %q, want one containing %q", msg, tc.wantErr)
				}
				return
			}
			if asked != tc.wantAsked {
				t.Errorf("asked for %s, want %s", asked.Hex(), tc.wantAsked.Hex())
			}
			var got ChainBalances
			decodeJSON(t, body, &got)
			if got.Account != chainBob.Hex() || got.FLEX != "12.5" || got.FLEXBaseUnits != "12500000000000000000" {
				t.Errorf("account %s, flex %q, base units %q; want %s, \"12.5\", \"12500000000000000000\"", got.Account, got.FLEX, got.FLEXBaseUnits, chainBob.Hex())
			}
			if len(got.REC) != 1 {
				t.Fatalf("rec = %+v, want one token", got.REC)
			}
			r := got.REC[0]
			if r.Wh != "1180591620717411303425" || r.Token.ID != tok.Big().String() || r.Token.Zone != "DE-LU" || r.Token.Technology != 1 ||
				r.Token.TechnologyName != "solar-pv" || r.Token.Hour == nil || r.Token.Hour.Format("2006-01-02T15:04:05Z07:00") != "2026-11-18T11:00:00Z" {
				t.Errorf("rec[0] = %+v (hour %v), want 1180591620717411303425 Wh of DE-LU, 1, solar-pv, 2026-11-18T11:00:00Z, id %s", r, r.Token.Hour, tok.Big())
			}
			if got.AsOf.Number != 42 {
				t.Errorf("as_of = %+v, want block 42", got.AsOf)
			}
			// Big integers are strings, never JSON numbers.
			if strings.Contains(body, "1180591620717411303425,") || !strings.Contains(body, `"wh": "1180591620717411303425"`) {
				t.Errorf("body %s: want wh as a decimal string", body)
			}
		})
	}
}

func TestChainBalancesEmpty(t *testing.T) {
	srv := newChainServer(t, fakeChain{BalancesFn: func(a common.Address) (chain.Balances, error) {
		return chain.Balances{Account: a}, nil // nil FLEX, no REC, nothing indexed
	}})
	code, body := call(t, http.MethodGet, srv.URL+"/api/v1/chain/balances/"+chainBob.Hex(), "", "")
	if code != http.StatusOK {
		t.Fatalf("GET balances = %d %s", code, body)
	}
	var got ChainBalances
	decodeJSON(t, body, &got)
	if got.FLEX != "0" || got.FLEXBaseUnits != "0" || got.REC == nil || len(got.REC) != 0 {
		t.Errorf("balances = %+v, want flex \"0\" and rec []", got)
	}
}

func TestChainHistoryEndpoint(t *testing.T) {
	tok := chainToken(t)
	flexEv := chain.Event{Kind: chain.EventRewarded, Block: 40, Time: 1_795_000_000, TxHash: common.Hash{0x11}, LogIndex: 3,
		To: chainBob, Amount: big.NewInt(1), Ref: common.Hash{0x01}, Aux: common.Hash{0x02}, RewardKind: chain.RewardDelivery}
	recEv := chain.Event{Kind: chain.EventRECTransfer, Block: 39, Time: 1_794_999_988, TxHash: common.Hash{0x22}, LogIndex: 1, Sub: 2,
		From: chainBob, To: common.Address{0xca}, Token: tok, Amount: hugeAmount}
	var gotLimit int
	srv := newChainServer(t, fakeChain{HistoryFn: func(a common.Address, limit int) ([]chain.Event, error) {
		gotLimit = limit
		if a != chainBob {
			return nil, nil
		}
		return []chain.Event{flexEv, recEv}, nil
	}})
	base := srv.URL + "/api/v1/chain/history/"
	for _, tc := range []struct {
		name, url string
		wantCode  int
		wantLimit int
		wantErr   string
	}{
		{name: "default limit", url: base + chainBob.Hex(), wantCode: 200, wantLimit: 100},
		{name: "limit 1", url: base + chainBob.Hex() + "?limit=1", wantCode: 200, wantLimit: 1},
		{name: "limit 1000", url: base + chainBob.Hex() + "?limit=1000", wantCode: 200, wantLimit: 1000},
		{name: "limit 1001", url: base + chainBob.Hex() + "?limit=1001", wantCode: 400, wantErr: `limit "1001": want 1 to 1000`},
		{name: "limit 0", url: base + chainBob.Hex() + "?limit=0", wantCode: 400, wantErr: `limit "0": want 1 to 1000`},
		{name: "limit abc", url: base + chainBob.Hex() + "?limit=abc", wantCode: 400, wantErr: `limit "abc"`},
		{name: "bad account", url: base + "0x123?limit=5", wantCode: 400, wantErr: "want 0x and 40 hex digits"},
		{name: "no account", url: base, wantCode: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotLimit = -1
			code, body := call(t, http.MethodGet, tc.url, "", "")
			if code != tc.wantCode {
				t.Fatalf("GET %s = %d %s, want %d", tc.url, code, body, tc.wantCode)
			}
			if tc.wantErr != "" {
				if msg := errorMessage(t, body); !strings.Contains(msg, tc.wantErr) {
					t.Errorf("error %q, want one containing %q", msg, tc.wantErr)
				}
			}
			if code != http.StatusOK {
				return
			}
			if gotLimit != tc.wantLimit {
				t.Errorf("limit passed = %d, want %d", gotLimit, tc.wantLimit)
			}
		})
	}

	code, body := call(t, http.MethodGet, base+chainBob.Hex(), "", "")
	if code != http.StatusOK {
		t.Fatalf("GET history = %d %s", code, body)
	}
	var got struct {
		Account string       `json:"account"`
		Events  []ChainEvent `json:"events"`
	}
	decodeJSON(t, body, &got)
	if len(got.Events) != 2 {
		t.Fatalf("events = %+v, want 2", got.Events)
	}
	f, r := got.Events[0], got.Events[1]
	if f.Kind != chain.EventRewarded || f.Asset != "FLEX" || f.Amount != "1" || f.FLEX != "0.000000000000000001" || f.Token != nil ||
		f.Ref != (common.Hash{0x01}.Hex()) || f.Aux != (common.Hash{0x02}.Hex()) || f.RewardKind != 1 || f.To != chainBob.Hex() ||
		f.From != (common.Address{}).Hex() || f.Time == nil || f.Time.Unix() != 1_795_000_000 || f.Tx != (common.Hash{0x11}.Hex()) || f.LogIndex != 3 {
		t.Errorf("FLEX event = %+v", f)
	}
	if r.Kind != chain.EventRECTransfer || r.Asset != "REC" || r.Amount != "1180591620717411303425" || r.FLEX != "" || r.Token == nil ||
		r.Token.Zone != "DE-LU" || r.Sub != 2 || r.Ref != "" || r.Aux != "" {
		t.Errorf("REC event = %+v (token %+v)", r, r.Token)
	}

	// An account without events has an empty list, not null.
	_, body = call(t, http.MethodGet, base+"0xca00000000000000000000000000000000000000", "", "")
	if !strings.Contains(body, `"events": []`) {
		t.Errorf("body %s: want \"events\": []", body)
	}
}

func TestChainRetirementsEndpoint(t *testing.T) {
	tok := chainToken(t)
	ret := chain.Event{Kind: chain.EventRetired, Block: 41, Time: 1_795_000_012, From: chainBob, Token: tok, Amount: big.NewInt(100),
		RetirementID: 7, Beneficiary: "ACME GmbH ☀", Claim: "2026 Scope 2 matching"}
	var asked *common.Address
	srv := newChainServer(t, fakeChain{RetirementsFn: func(a *common.Address, after uint64, limit int) ([]chain.Event, error) {
		asked = a
		if a != nil && *a != chainBob {
			return nil, nil
		}
		return []chain.Event{ret}, nil
	}})
	base := srv.URL + "/api/v1/chain/retirements"
	for _, tc := range []struct {
		name, url string
		wantCode  int
		wantAsked *common.Address
		wantN     int
	}{
		{name: "all", url: base, wantCode: 200, wantN: 1},
		{name: "one account", url: base + "?account=" + chainBob.Hex(), wantCode: 200, wantAsked: &chainBob, wantN: 1},
		{name: "another account", url: base + "?account=0xca00000000000000000000000000000000000000", wantCode: 200, wantAsked: &common.Address{0xca}},
		{name: "bad account", url: base + "?account=bob", wantCode: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked = &common.Address{0x99}
			code, body := call(t, http.MethodGet, tc.url, "", "")
			if code != tc.wantCode {
				t.Fatalf("GET %s = %d %s, want %d", tc.url, code, body, tc.wantCode)
			}
			if code != http.StatusOK {
				if msg, want := errorMessage(t, body), `account "bob": want 0x and 40 hex digits`; msg != want {
					t.Errorf("error %q, want %q", msg, want)
				}
				return
			}
			if (asked == nil) != (tc.wantAsked == nil) || asked != nil && *asked != *tc.wantAsked {
				t.Errorf("asked for %v, want %v", asked, tc.wantAsked)
			}
			var got struct {
				Retirements []ChainEvent `json:"retirements"`
			}
			decodeJSON(t, body, &got)
			if got.Retirements == nil || len(got.Retirements) != tc.wantN {
				t.Fatalf("retirements = %+v, want %d (and [] for none)", got.Retirements, tc.wantN)
			}
			if tc.wantN == 0 {
				return
			}
			r := got.Retirements[0]
			if r.RetirementID != 7 || r.Beneficiary != "ACME GmbH ☀" || r.Claim != "2026 Scope 2 matching" || r.Amount != "100" || r.Asset != "REC" ||
				r.Token == nil || r.Token.ID != tok.Big().String() || r.Token.Hour == nil {
				t.Errorf("retirement = %+v (token %+v)", r, r.Token)
			}
		})
	}
}

func TestChainErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		err      error
		wantCode int
	}{
		{gridmint.Errorf(gridmint.EInvalid, "bad"), http.StatusBadRequest},
		{gridmint.Errorf(gridmint.ENotFound, "no"), http.StatusNotFound},
		{gridmint.Errorf(gridmint.EUnavailable, "down"), http.StatusServiceUnavailable},
		{context.DeadlineExceeded, http.StatusInternalServerError},
	} {
		srv := newChainServer(t, fakeChain{
			HistoryFn:     func(common.Address, int) ([]chain.Event, error) { return nil, tc.err },
			RetirementsFn: func(*common.Address, uint64, int) ([]chain.Event, error) { return nil, tc.err },
		})
		for _, path := range []string{"/api/v1/chain/history/" + chainBob.Hex(), "/api/v1/chain/retirements"} {
			if code, body := call(t, http.MethodGet, srv.URL+path, "", ""); code != tc.wantCode {
				t.Errorf("GET %s with %v = %d %s, want %d", path, tc.err, code, body, tc.wantCode)
			}
		}
	}
}

func TestChainRoutesNeedAChain(t *testing.T) {
	srv := newChainServer(t, nil)
	for _, path := range []string{"/api/v1/chain", "/api/v1/chain/balances/" + chainBob.Hex(), "/api/v1/chain/history/" + chainBob.Hex(), "/api/v1/chain/retirements"} {
		if code, _ := call(t, http.MethodGet, srv.URL+path, "", ""); code != http.StatusNotFound {
			t.Errorf("GET %s without a Chain = %d, want 404", path, code)
		}
	}
	srv = newChainServer(t, fakeChain{})
	if code, _ := call(t, http.MethodPost, srv.URL+"/api/v1/chain/retirements", testToken, "{}"); code != http.StatusMethodNotAllowed {
		t.Errorf("POST retirements = %d, want 405", code)
	}
}

func TestFormatUnits(t *testing.T) {
	for _, tc := range []struct {
		v    *big.Int
		want string
	}{
		{nil, "0"},
		{big.NewInt(0), "0"},
		{big.NewInt(1), "0.000000000000000001"},
		{big.NewInt(1e18), "1"},
		{new(big.Int).Mul(big.NewInt(125), big.NewInt(1e17)), "12.5"},
		{big.NewInt(-15e17), "-1.5"},
		{new(big.Int).Lsh(big.NewInt(1), 256), "115792089237316195423570985008687907853269984665640564039457.584007913129639936"},
	} {
		if got := formatUnits(tc.v, 18); got != tc.want {
			t.Errorf("formatUnits(%v, 18) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestRedactRPC(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "",
		"embedded":                            "embedded",
		"http://127.0.0.1:8545":               "http://127.0.0.1:8545",
		"wss://user:pw@rpc.example.io/v3/KEY": "wss://rpc.example.io",
		"https://rpc.example.io/?apikey=KEY":  "https://rpc.example.io",
		"/var/run/geth.ipc":                   "/var/run/geth.ipc",
		"localhost:8545":                      "(hidden)",
		"http://[::1":                         "(hidden)",
	} {
		if got := redactRPC(in); got != want {
			t.Errorf("redactRPC(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestChainTokenBeyondJSONTime(t *testing.T) {
	tok := chain.TokenID{Zone: [32]byte{'X'}, Technology: 9, Hour: 1 << 62}
	got := toChainToken(tok)
	if got.Hour != nil || got.TechnologyName != "unknown" || got.Zone != "X" {
		t.Errorf("token = %+v, want a null hour and technology unknown", got)
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("marshal: %v", err)
	}
	if e := toChainEvents([]chain.Event{{Kind: chain.EventRetired, Time: 1 << 63, Token: tok}}); e[0].Time != nil || e[0].Amount != "0" {
		t.Errorf("event = %+v, want a null time and amount \"0\"", e[0])
	}
}

func TestChainRetirementsPages(t *testing.T) {
	var all []chain.Event
	for id := uint64(1); id <= 5; id++ {
		all = append(all, chain.Event{Kind: chain.EventRetired, Block: 40 + id, RetirementID: id, Amount: big.NewInt(1), Token: chainToken(t)})
	}
	srv := newChainServer(t, fakeChain{RetirementsFn: func(_ *common.Address, after uint64, limit int) ([]chain.Event, error) {
		var out []chain.Event
		for _, e := range all {
			if e.RetirementID > after && len(out) < limit {
				out = append(out, e)
			}
		}
		return out, nil
	}})
	base := srv.URL + "/api/v1/chain/retirements"
	var ids []uint64
	for url, pages := base+"?limit=2", 0; url != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		code, body := call(t, http.MethodGet, url, "", "")
		if code != 200 {
			t.Fatalf("GET %s = %d %s", url, code, body)
		}
		var page struct {
			Retirements []struct {
				RetirementID uint64 `json:"retirement_id"`
			} `json:"retirements"`
			Next string `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Retirements {
			ids = append(ids, r.RetirementID)
		}
		url = ""
		if page.Next != "" {
			url = base + "?limit=2&after=" + page.Next
		}
	}
	if fmt.Sprint(ids) != "[1 2 3 4 5]" {
		t.Errorf("paged ids %v, want [1 2 3 4 5]", ids)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?after=x", "?after=-1"} {
		if code, body := call(t, http.MethodGet, base+bad, "", ""); code != 400 {
			t.Errorf("GET %s = %d %s, want 400", bad, code, body)
		}
	}
}
