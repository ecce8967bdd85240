package openadr

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/gridmint/gridmint/node/api"
)

// TestMountedInNodeAPI: the node's API serves the VTN under Prefix.
func TestMountedInNodeAPI(t *testing.T) {
	f := newFixture(t, "", "")
	srv := httptest.NewServer(api.New(api.Config{OpenADR: f.vtn, Clock: f.clock}))
	defer srv.Close()
	bl := &oadr{t: t, base: srv.URL}
	r := bl.do("POST", "/auth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {blID}, "client_secret": {blSecret}})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(t, &tok)
	bl.token = tok.AccessToken
	p := created[Program](t, bl.do("POST", "/programs", programBody("p")))
	if r := bl.do("GET", "/programs/"+p.ID, nil); r.status != http.StatusOK {
		t.Fatalf("through the node API: %d %s", r.status, r.body)
	}
}

// TestConfigYAML: the node's `openadr:` section as a user writes it.
func TestConfigYAML(t *testing.T) {
	const doc = `
enabled: true
token_ttl: 30m
clients:
  - {id: utility, secret: s3cret, role: bl}
  - {id: home-1, secret_file: /run/secrets/home-1, role: ven}
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(doc))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil || c.TokenTTL.Minutes() != 30 || len(c.Clients) != 2 || c.Clients[1].Role != RoleVEN {
		t.Fatalf("%+v: %v", c, err)
	}
	for _, bad := range []Config{
		{Enabled: true},
		{Enabled: true, Clients: []ClientConfig{{ID: "a", Secret: "x", Role: "admin"}}},
		{Enabled: true, Clients: []ClientConfig{{ID: "a", Role: RoleBL}}},
		{Enabled: true, Clients: []ClientConfig{{ID: "a", Secret: "x", SecretFile: "y", Role: RoleBL}}},
		{Enabled: true, Clients: []ClientConfig{{ID: "a", Secret: "x", Role: RoleBL}, {ID: "a", Secret: "y", Role: RoleVEN}}},
		{Enabled: true, TokenTTL: -1, Clients: []ClientConfig{{ID: "a", Secret: "x", Role: RoleBL}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("disabled section: %v", err)
	}
}
