package api

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gridmint/gridmint/chain"
)

// TestRECMetadata: the REC contract's uri(id), with {id} replaced as
// ERC-1155 says, is served by the node as the token's metadata: zone,
// technology, hour, Wh issued and retired, the devices it comes from.
func TestRECMetadata(t *testing.T) {
	cc := newCertChain(t)
	tok := cc.token(cc.hour)
	if _, err := cc.client.Retire(cc.ctx, chain.RetireRequest{Ref: common.Hash{7}, Token: tok, Wh: 300, Beneficiary: "ACME", Claim: "matched"}); err != nil {
		t.Fatal(err)
	}
	cc.sync()

	// The contract's URI template (the deployment's default) names the
	// node's route.
	uri, err := cc.client.RECURI(cc.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if uri != chain.DefaultRECURI {
		t.Errorf("REC.uri = %q, want %q", uri, chain.DefaultRECURI)
	}
	hexID := fmt.Sprintf("%064x", tok.Big())
	path := strings.Replace(strings.TrimPrefix(uri, "http://127.0.0.1:8088"), "{id}", hexID, 1)
	code, body := call(t, "GET", cc.srv.URL+path, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, body)
	}
	var m RECMetadata
	decodeJSON(t, body, &m)
	p := m.Properties
	start := time.Unix(int64(cc.hour)*3600, 0).UTC()
	if m.Decimals != 0 || !strings.Contains(m.Name, "DE-LU") || !strings.Contains(m.Description, "one Wh") ||
		p.Zone != "DE-LU" || p.Technology != "solar_pv" || p.TechnologyCode != chain.TechnologySolarPV ||
		!p.HourStart.Equal(start) || !p.HourEnd.Equal(start.Add(time.Hour)) ||
		p.Wh != 1100 || p.WhRetired != 300 || p.WhOutstanding != 800 || p.DevicesTotal != 2 || len(p.Devices) != 2 ||
		p.TokenID != tok.Big().String() || p.Contract != cc.addrs.REC.Hex() || p.ChainID == "" {
		t.Errorf("metadata %s", body)
	}
	// Largest issuance first: pv-a's 700 Wh, then pv-b's 400.
	if p.Devices[0].Wh != 700 || p.Devices[0].Device != cc.claims[0].Device.Hex() || !p.Devices[0].Issuance.Known ||
		len(p.Devices[0].Issuance.Attestors) != 2 || p.Devices[1].Wh != 400 {
		t.Errorf("devices %+v", p.Devices)
	}

	// The image is the token's SVG card on the host the metadata came
	// from: it names the zone and the Wh, and may not run scripts.
	wantImage := cc.srv.URL + MetadataPath + hexID + ".svg"
	if m.Image != wantImage {
		t.Errorf("image = %q, want %q", m.Image, wantImage)
	}
	resp, err := http.Get(m.Image)
	if err != nil {
		t.Fatal(err)
	}
	card, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.HasPrefix(string(card), "<svg") || !strings.Contains(string(card), "DE-LU") ||
		!strings.Contains(string(card), "1\u2009100 Wh") || !strings.Contains(string(card), "300 Wh retired") {
		t.Errorf("GET %s: %d %q %s", m.Image, resp.StatusCode, resp.Header, card)
	}
	if err := xml.Unmarshal(card, new(struct{})); err != nil {
		t.Errorf("the card is not well-formed XML: %v", err)
	}

	for _, tc := range []struct {
		path string
		code int
	}{
		{strings.ToUpper(hexID) + ".json", http.StatusOK},
		{hexID, http.StatusOK},
		{fmt.Sprintf("%064x.json", cc.token(cc.hour+7).Big()), http.StatusNotFound}, // never issued
		{"0x" + hexID[2:] + ".json", http.StatusBadRequest},
		{tok.Big().String() + ".json", http.StatusBadRequest},      // decimal: not the ERC-1155 form
		{strings.Repeat("0", 64) + ".json", http.StatusBadRequest}, // no zone
		{strings.Repeat("g", 64) + ".json", http.StatusBadRequest},
		{fmt.Sprintf("%064x.svg", cc.token(cc.hour+7).Big()), http.StatusNotFound},
		{hexID + ".png", http.StatusBadRequest},
	} {
		code, body := call(t, "GET", cc.srv.URL+MetadataPath+tc.path, "", "")
		if code != tc.code {
			t.Errorf("GET %s: %d %s, want %d", tc.path, code, body, tc.code)
		}
	}
}

func FuzzParseMetadataID(f *testing.F) {
	tok, _ := chain.NewTokenID("DE-LU", chain.TechnologySolarPV, 490000)
	f.Add(fmt.Sprintf("%064x.json", tok.Big()))
	f.Add(strings.Repeat("0", 64))
	f.Add("zz.json")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseMetadataID(s)
		if err != nil {
			return
		}
		// What parses names a token whose id prints back to the input.
		if want := strings.ToLower(strings.TrimSuffix(s, ".json")); fmt.Sprintf("%064x", got.Big()) != want {
			t.Errorf("%q parsed as %s (%064x)", s, got, got.Big())
		}
	})
}
