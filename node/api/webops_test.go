package api

import (
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
)

// reserveMarket is a market whose ReserveEvent answers err, else a tx.
type reserveMarket struct {
	fakeMarket
	err error
}

func (m reserveMarket) ReserveEvent(_ context.Context, id gridmint.RequestID) (MarketReserveResult, error) {
	if m.err != nil {
		return MarketReserveResult{}, m.err
	}
	return MarketReserveResult{RequestID: id, Tx: common.Hash{0x7}, Block: 9, Amount: "42", State: "agreed"}, nil
}

func callJSON(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %s: not JSON", method, url, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// TestReserveRoute: POST …/reserve needs the token, names a bad id, and
// answers a refusal with its status, reason code and for
// insufficient_flex the balance and the need; a reserve with its tx.
func TestReserveRoute(t *testing.T) {
	id := gridmint.RequestID{0xab}
	path := "/api/v1/market/events/" + id.String() + "/reserve"
	ok := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Token: "tok", Market: reserveMarket{fakeMarket: fakeMarket{MarketEvent{RequestID: id}}}}))
	defer ok.Close()
	if code, _ := callJSON(t, "POST", ok.URL+path, "", ""); code != 401 {
		t.Errorf("without a token: %d, want 401", code)
	}
	if code, body := callJSON(t, "POST", ok.URL+"/api/v1/market/events/0x12/reserve", "tok", ""); code != 400 {
		t.Errorf("bad id: %d %v", code, body)
	}
	if code, body := callJSON(t, "POST", ok.URL+path, "tok", ""); code != 200 || body["tx"] != (common.Hash{0x7}).Hex() || body["amount"] != "42" {
		t.Errorf("reserve: %d %v", code, body)
	}
	refused := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Token: "tok", Market: reserveMarket{fakeMarket: fakeMarket{MarketEvent{RequestID: id}},
		err: &ReserveRefusal{Reason: "insufficient_flex", Code: gridmint.EConflict, Message: "insufficient_flex: too little", Balance: "1", Needed: "42"}}}))
	defer refused.Close()
	if code, body := callJSON(t, "POST", refused.URL+path, "tok", ""); code != 409 || body["reason"] != "insufficient_flex" || body["balance"] != "1" || body["needed"] != "42" || body["code"] != gridmint.EConflict {
		t.Errorf("refusal: %d %v, want 409 insufficient_flex with balance and need", code, body)
	}
	plain := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Token: "tok", Market: fakeMarket{}}))
	defer plain.Close()
	if resp, err := http.Post(plain.URL+path, "application/json", nil); err != nil || resp.StatusCode != 404 {
		t.Errorf("a market that does not reserve: %v %v, want no route (404)", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

// TestPolicyRoute: PUT /api/v1/market/policy/{device} needs the token,
// refuses a body that is not the policy's (the field named), passes the
// decoded edit and the device id with its slashes, and answers a
// refusal with its field.
func TestPolicyRoute(t *testing.T) {
	var gotDev string
	var got PolicyOverride
	edit := func(_ context.Context, dev string, o PolicyOverride) (OfferPolicy, error) {
		gotDev, got = dev, o
		if o.ReserveSoCPct != nil && *o.ReserveSoCPct > 100 {
			return OfferPolicy{}, &PolicyRefusal{Reason: "policy_invalid", Code: gridmint.EInvalid, Field: "reserve_soc_pct", Message: "reserve_soc_pct: want 0 to 100"}
		}
		return OfferPolicy{Offer: true, Devices: []PolicyItem{}}, nil
	}
	srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Token: "tok", PolicyEdit: edit,
		Policy: func() OfferPolicy { return OfferPolicy{} }}))
	defer srv.Close()
	url := srv.URL + "/api/v1/market/policy/0xab/victron/b0"
	if code, _ := callJSON(t, "PUT", url, "", `{}`); code != 401 {
		t.Errorf("without a token: %d", code)
	}
	for body, field := range map[string]string{`{"reserve_soc_pct": "high"}`: "reserve_soc_pct", `{"min_price": -1.5}`: "min_price", `{"colour": 1}`: "", `[]`: "", `{} {}`: "", `{"opt_out": true`: ""} {
		code, out := callJSON(t, "PUT", url, "tok", body)
		if code != 400 || out["reason"] != "invalid" || (field != "" && out["field"] != field) {
			t.Errorf("%s: %d %v, want 400 naming %q", body, code, out, field)
		}
	}
	if code, out := callJSON(t, "PUT", url, "tok", `{"reserve_soc_pct": 150}`); code != 400 || out["field"] != "reserve_soc_pct" || out["reason"] != "policy_invalid" {
		t.Errorf("refused edit: %d %v", code, out)
	}
	if code, out := callJSON(t, "PUT", url, "tok", `{"reserve_soc_pct": 35, "departure": "07:30", "opt_out": false}`); code != 200 || out["offer"] != true {
		t.Errorf("edit: %d %v", code, out)
	}
	if gotDev != "0xab/victron/b0" || got.ReserveSoCPct == nil || *got.ReserveSoCPct != 35 || *got.Departure != "07:30" || *got.OptOut || got.MinPrice != nil {
		t.Errorf("edit passed as %q %+v", gotDev, got)
	}
}

// TestAuditRoute: GET /api/v1/audit answers at once while the audit runs
// in the background, then its result as checks with counts; a failing
// difference fails its check; ?refresh=1 runs it again.
func TestAuditRoute(t *testing.T) {
	release := make(chan struct{})
	runs := 0
	rep := &chain.AuditReport{FLEX: chain.SupplyFLEX{Minted: big.NewInt(10), Burned: big.NewInt(4), Supply: big.NewInt(6), OnChain: big.NewInt(6),
		Rewarded: big.NewInt(10), Reserved: big.NewInt(4), Slashed: new(big.Int)},
		REC:         []chain.SupplyREC{{Minted: big.NewInt(1234), Burned: big.NewInt(500), Retired: big.NewInt(500), Supply: big.NewInt(734), OnChain: big.NewInt(734)}},
		RECIssued:   big.NewInt(1234),
		Differences: []chain.Difference{{What: "FLEX burned in tx 0x01 vs its Reserved + Slashed", Got: big.NewInt(4), Want: big.NewInt(3)}}}
	run := func(ctx context.Context) (*chain.AuditReport, error) {
		runs++
		<-release
		return rep, nil
	}
	cache := NewAuditCache(context.Background(), run, gridmint.SystemClock{}, time.Hour, nil)
	srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Audit: cache}))
	defer srv.Close()
	if code, out := callJSON(t, "GET", srv.URL+"/api/v1/audit", "", ""); code != 200 || out["state"] != "running" || out["running"] != true {
		t.Errorf("first: %d %v, want running", code, out)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cache.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/api/v1/audit")
	if err != nil {
		t.Fatal(err)
	}
	var v AuditView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	pass := map[string]bool{}
	for _, c := range v.Checks {
		pass[c.ID] = c.Pass
	}
	if v.State != "done" || v.Clean || v.Running || len(v.Checks) != 6 || pass["flex_burns"] || !pass["rec_supply"] || !pass["flex_supply"] {
		t.Errorf("result %+v, want done, not clean, flex_burns failing and the rest passing", v)
	}
	if !strings.Contains(v.Checks[0].Detail, "issued 1234 Wh − retired 500 Wh = 734 Wh") {
		t.Errorf("rec_supply detail %q", v.Checks[0].Detail)
	}
	if code, out := callJSON(t, "GET", srv.URL+"/api/v1/audit?refresh=1", "", ""); code != 200 || out["state"] != "done" || out["running"] != true {
		t.Errorf("refresh: %d %v, want the last result while a new run goes", code, out)
	}
	if err := cache.Wait(ctx); err != nil || runs != 2 {
		t.Errorf("runs %d, %v; want 2", runs, err)
	}
	if code, _ := callJSON(t, "GET", srv.URL+"/api/v1/audit?refresh=maybe", "", ""); code != 400 {
		t.Errorf("refresh=maybe: %d, want 400", code)
	}
}

// FuzzDecodePolicyOverride: any body decodes to an edit or a refusal
// with a message, never a panic; an edit encodes back to one that
// decodes the same.
func FuzzDecodePolicyOverride(f *testing.F) {
	for _, s := range []string{`{}`, `{"reserve_soc_pct": 35}`, `{"min_price": 1, "max_soc_pct": 90, "departure": "07:30", "energy_needed_wh": 5000, "opt_out": true}`,
		`{"departure": null}`, `{"x": 1}`, `[]`, `{"reserve_soc_pct": "a"}`, `{} x`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodePolicyOverride(strings.NewReader(string(b)))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		again, _ := json.Marshal(o)
		o2, err := DecodePolicyOverride(strings.NewReader(string(again)))
		if err != nil {
			t.Fatalf("re-decoding %s: %v", again, err)
		}
		a, _ := json.Marshal(o2)
		if string(a) != string(again) {
			t.Fatalf("%s decodes to %s", again, a)
		}
	})
}
