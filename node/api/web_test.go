package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gridmint/gridmint"
)

// TestWebAssets: the page names its script and stylesheet, which are
// served from the binary with their types and an ETag (304 when
// unchanged), under a CSP that allows only the node's own assets; an
// unknown asset is a 404 and index.html is not served as an asset.
func TestWebAssets(t *testing.T) {
	srv := newTestServer(nil)
	defer srv.Close()
	res, page := fetch(t, srv.URL+"/")
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("page CSP %q", csp)
	}
	for _, want := range []string{`src="/web/app.js"`, `href="/web/app.css"`, `id="view-home"`, `id="view-utility"`, `id="view-buyer"`, `id="token-form"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<style>") || strings.Contains(page, " style=") {
		t.Error("page has inline script or style, which its CSP refuses")
	}
	for file, ctype := range map[string]string{"app.js": "text/javascript", "app.css": "text/css"} {
		res, body := fetch(t, srv.URL+"/web/"+file)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), ctype) || len(body) < 1000 {
			t.Fatalf("GET /web/%s = %s %q, %d bytes", file, res.Status, res.Header.Get("Content-Type"), len(body))
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/web/"+file, nil)
		req.Header.Set("If-None-Match", res.Header.Get("ETag"))
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("GET /web/%s with its ETag = %d, want 304", file, again.StatusCode)
		}
	}
	for _, p := range []string{"/web/index.html", "/web/nope.js", "/web/../api.go"} {
		if res, _ := fetch(t, srv.URL+p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

// TestOfferPolicy: GET /api/v1/market/policy shows the policy the node
// passes, with [] for no devices; without one the route is absent.
func TestOfferPolicy(t *testing.T) {
	pol := OfferPolicy{Offer: true, Defaults: PolicyView{MinPrice: 150_000, ReserveSoCPct: 20},
		Devices: []PolicyItem{{Device: "0xn/victron/1", Kind: gridmint.KindBattery, Policy: PolicyView{MinPrice: 200_000, ReserveSoCPct: 30, Departure: "07:30"}, OptOut: true}}}
	for _, tc := range []struct {
		name string
		fn   func() OfferPolicy
		want string
	}{
		{"devices", func() OfferPolicy { return pol }, `"devices":[{"device":"0xn/victron/1","kind":"battery","policy":{"min_price":200000,"reserve_soc_pct":30,"max_soc_pct":0,"departure":"07:30","energy_needed_wh":0,"opt_out":false},"opt_out":true}]`},
		{"none", func() OfferPolicy { return OfferPolicy{} }, `"devices":[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Quarantine: fakeQuarantine{}, Policy: tc.fn}))
			defer srv.Close()
			res, body := fetch(t, srv.URL+"/api/v1/market/policy")
			var compact bytes.Buffer
			if res.StatusCode != http.StatusOK || json.Compact(&compact, []byte(body)) != nil {
				t.Fatalf("GET /api/v1/market/policy = %s %s", res.Status, body)
			}
			if !strings.Contains(compact.String(), tc.want) {
				t.Errorf("policy %s, want %s", compact.String(), tc.want)
			}
		})
	}
	srv := newTestServer(nil)
	defer srv.Close()
	if res, _ := fetch(t, srv.URL+"/api/v1/market/policy"); res.StatusCode != http.StatusNotFound {
		t.Errorf("without a policy: %d, want 404", res.StatusCode)
	}
}
