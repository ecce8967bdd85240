package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market"
)

// TestPolicyEditSurvivesRestart: on a demo home, PUT
// /api/v1/market/policy refuses a policy the configuration's rules
// refuse (400 naming the field, counted as policy_invalid at /metrics)
// and keeps a good one in the node's store: after a restart on the same
// data dir the GET still applies it, its source api.device.
func TestPolicyEditSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	clock := newFastClock(time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC), demoSpeed)
	d, err := StartDemo(context.Background(), demoOptions(dir, clock))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { d.Close() }()
	battery := gridmint.DeviceID(d.Node.identity.Address + "/victron/" + DemoBatterySerial)
	base := "http://" + d.Node.HTTPAddr() + "/"
	policyOf := func() (api.PolicyItem, bool) {
		var pol api.OfferPolicy
		getJSON(t, base+"api/v1/market/policy", &pol)
		for _, it := range pol.Devices {
			if it.Device == battery {
				return it, true
			}
		}
		return api.PolicyItem{}, false
	}
	waitFor(t, "the battery in the policy", func() bool { _, ok := policyOf(); return ok })
	put := func(body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, base+"api/v1/market/policy/"+string(battery), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+d.Node.apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		return resp.StatusCode, out
	}
	if code, out := put(`{"reserve_soc_pct": 20, "max_soc_pct": 10}`); code != 400 || out["field"] != "reserve_soc_pct" || out["reason"] != string(market.ReasonPolicyInvalid) {
		t.Errorf("max below reserve: %d %v, want 400 policy_invalid on reserve_soc_pct", code, out)
	}
	if m := get(t, base+"metrics"); !strings.Contains(m, `gridmint_market_refused_total{reason="policy_invalid"} 1`) {
		t.Errorf("/metrics without policy_invalid 1")
	}
	if code, out := put(`{"reserve_soc_pct": 35}`); code != 200 {
		t.Fatalf("edit: %d %v", code, out)
	}
	d.Close()
	if d, err = StartDemo(context.Background(), demoOptions(dir, clock)); err != nil {
		t.Fatal(err)
	}
	base = "http://" + d.Node.HTTPAddr() + "/"
	waitFor(t, "the battery in the policy after the restart", func() bool { _, ok := policyOf(); return ok })
	if it, _ := policyOf(); it.Policy.ReserveSoCPct != 35 || it.Sources["reserve_soc_pct"] != market.SourceAPIDevice || it.Sources["min_price"] != market.SourceConfigDefaults {
		t.Errorf("after the restart: %+v, want the 35 %% reserve from api.device over the demo's defaults", it)
	}
}
