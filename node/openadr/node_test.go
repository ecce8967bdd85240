package openadr_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint/node"
	"github.com/gridmint/gridmint/node/openadr"
	"github.com/gridmint/gridmint/node/store"
)

// TestNodeServesVTN starts a real utility node with the openadr section
// (embedded chain, libp2p, badger) and checks the wiring end to end: a
// BL client gets a token, creates a program and an event at
// /openadr3/3.1.0/, and the event's request is in the node's own gossip
// (GET /api/v1/p2p/messages?topic=requests), published with the node
// key. Conformance of the bodies is the package's other tests' job
// (validate_test.go); this one checks the node's answers against the
// program and event schemas only. The same node follows an external VTN
// (openadr.ven) and relays its event into the market too.
func TestNodeServesVTN(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	dir := t.TempDir()
	pass := filepath.Join(dir, "passphrase")
	if err := os.WriteFile(pass, []byte("openadr-test-passphrase\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// An external VTN the node follows as VEN "home" (openadr.ven), with
	// an event waiting in zone NL.
	ext := startExternalVTN(t)
	yml := fmt.Sprintf(`
data_dir: %s
http_addr: 127.0.0.1:0
role: utility
identity: {passphrase_file: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: "off"}
claims: {disabled: true}
openadr:
  enabled: true
  clients:
    - {id: utility, secret: s3cret, role: bl}
  ven: {vtn: %s, client_id: home, secret: home-secret}
`, filepath.Join(dir, "data"), pass, ext)
	cfg, err := node.ParseConfig([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), cfg, node.Options{CreateKey: node.KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	base := "http://" + n.HTTPAddr()

	res, err := http.PostForm(base+openadr.Prefix+"/auth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"utility"}, "client_secret": {"s3cret"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	post := func(path string, body any, out any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+openadr.Prefix+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("POST %s: %d", path, res.StatusCode)
		}
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var p openadr.Program
	post("/programs", map[string]any{
		"programName": "evening peak", "targets": []string{"ZONE:DE-LU"},
		"attributes": []map[string]any{{"type": openadr.AttrMaxPrice, "values": []any{300000}}, {"type": openadr.AttrReferenceKW, "values": []any{800}}},
	}, &p)
	start := time.Now().UTC().Add(3 * time.Hour).Truncate(time.Hour)
	var e openadr.Event
	post("/events", map[string]any{
		"programID":      p.ID,
		"intervalPeriod": map[string]any{"start": start.Format(time.RFC3339), "duration": "PT1H"},
		"intervals":      []map[string]any{{"id": 0, "payloads": []map[string]any{{"type": openadr.PayloadImportLimit, "values": []any{650}}}}},
	}, &e)
	for _, c := range []struct {
		schema string
		v      any
	}{{"program", p}, {"event", e}} {
		if err := validate(c.schema, c.v); err != nil {
			t.Errorf("%s: %v", c.schema, err)
		}
	}

	// Two requests: the node's own VTN's event (DE-LU, 150 kW) and the
	// external VTN's (NL, 120 kW), relayed by the VEN client.
	var bodies string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err = http.Get(base + "/api/v1/p2p/messages?topic=requests")
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Messages []struct {
				Body json.RawMessage `json:"body"`
			} `json:"messages"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		bodies = ""
		for _, m := range page.Messages {
			bodies += string(m.Body) + "\n"
		}
		if len(page.Messages) == 2 {
			break
		}
	}
	for _, want := range []string{`"DE-LU"`, `150000`, `"NL"`, `120000`} {
		if !strings.Contains(bodies, want) {
			t.Errorf("the node's requests lack %s:\n%s", want, bodies)
		}
	}
}

// startExternalVTN serves a VTN (this package's, on its own store) with
// a program in zone NL granted to VEN "home" and one event, and returns
// its base URL.
func startExternalVTN(t *testing.T) string {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	vtn, err := openadr.New(openadr.Options{Store: openadr.StoreOn(st), Config: openadr.Config{Enabled: true, Clients: []openadr.ClientConfig{
		{ID: "bl", Secret: "bl-secret", Role: openadr.RoleBL}, {ID: "home", Secret: "home-secret", Role: openadr.RoleVEN}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vtn.Close)
	mux := http.NewServeMux()
	mux.Handle(openadr.Prefix+"/", http.StripPrefix(openadr.Prefix, vtn))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base := srv.URL + openadr.Prefix
	res, err := http.PostForm(base+"/auth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"bl"}, "client_secret": {"bl-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body any) map[string]any {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 201 {
			t.Fatalf("external VTN POST %s: %d %v", path, res.StatusCode, err)
		}
		return out
	}
	post("/vens", map[string]any{"objectType": openadr.BlVenRequest, "clientID": "home", "venName": "home", "targets": []string{"ZONE:NL"}})
	p := post("/programs", map[string]any{"programName": "nl-flex", "targets": []string{"ZONE:NL"},
		"attributes": []map[string]any{{"type": openadr.AttrMaxPrice, "values": []any{200000}}, {"type": openadr.AttrReferenceKW, "values": []any{500}}}})
	start := time.Now().UTC().Add(4 * time.Hour).Truncate(time.Hour)
	post("/events", map[string]any{"programID": p["id"],
		"intervalPeriod": map[string]any{"start": start.Format(time.RFC3339), "duration": "PT1H"},
		"intervals":      []map[string]any{{"id": 0, "payloads": []map[string]any{{"type": openadr.PayloadImportLimit, "values": []any{380}}}}}})
	return base
}
