package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/rec"
)

func certKey(label string) *ecdsa.PrivateKey {
	k, err := ethcrypto.ToECDSA(ethcrypto.Keccak256([]byte("gridmint api test key " + label)))
	if err != nil {
		panic(err)
	}
	return k
}

// claimMap is a ClaimSource of gossiped claims, by device and hour.
type claimMap map[string]gridmint.Claim

func claimKey(d gridmint.DeviceKey, h gridmint.Hour) string { return fmt.Sprint(d, h) }

func (m claimMap) Claim(d gridmint.DeviceKey, h gridmint.Hour) (gridmint.Claim, bool) {
	c, ok := m[claimKey(d, h)]
	return c, ok
}

// certChain is a deployed gridmint on the embedded chain with certificates
// issued to the node's account through REC.issue, attested by two of
// three attestors, an index of its events and an API server over it.
type certChain struct {
	t      *testing.T
	ctx    context.Context
	sim    *chain.Simulated
	client *chain.Client
	index  *chain.MemIndex
	addrs  chain.Addresses
	srv    *httptest.Server
	hour   uint64
	claims []chain.Claim // issued, in contract order
	holder *ecdsa.PrivateKey
}

func newCertChain(t *testing.T) *certChain {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	nodeKey, holder := certKey("node"), certKey("holder")
	alloc := types.GenesisAlloc{}
	for _, k := range []*ecdsa.PrivateKey{nodeKey, holder} {
		alloc[ethcrypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: chain.SimulatedFunds}
	}
	sim, err := chain.NewSimulated(chain.SimulatedConfig{Alloc: alloc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	c, err := chain.New(ctx, sim.Backend(), chain.Config{Key: nodeKey})
	if err != nil {
		t.Fatal(err)
	}
	var attestors []*ecdsa.PrivateKey
	var as []common.Address
	for i := range 3 {
		k := certKey(fmt.Sprint("attestor", i))
		attestors = append(attestors, k)
		as = append(as, ethcrypto.PubkeyToAddress(k.PublicKey))
	}
	addrs, err := c.Deploy(ctx, chain.DeployConfig{Attestors: as, Threshold: 2})
	if err != nil {
		t.Fatal(err)
	}
	head, err := sim.Backend().HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := &certChain{t: t, ctx: ctx, sim: sim, client: c, index: chain.NewMemIndex(), addrs: addrs, hour: head.Time/3600 - 3, holder: holder}
	zone, _ := chain.ZoneBytes("DE-LU")
	mk := func(dev string, hour, wh uint64) chain.Claim {
		return chain.Claim{Device: ethcrypto.Keccak256Hash([]byte(dev)), Node: c.Address(), Owner: c.Address(), Zone: zone, Technology: chain.TechnologySolarPV,
			Hour: hour, Wh: wh, ReadingsRoot: ethcrypto.Keccak256Hash([]byte(dev + strconv.FormatUint(hour, 10)))}
	}
	batch := chain.NewIssueBatch([]chain.Claim{mk("pv-a", cc.hour, 700), mk("pv-b", cc.hour, 400), mk("pv-a", cc.hour+1, 250)})
	digest := c.RECDomain().Digest(batch.StructHash())
	var sigs [][]byte
	for _, k := range attestors[:2] {
		s, err := chain.Sign(k, digest)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, s)
	}
	if _, err := c.Issue(ctx, batch, sigs); err != nil {
		t.Fatal(err)
	}
	// The claims of the first hour in the order the contract minted them
	// (batch order), then the second hour's.
	for _, cl := range batch.Claims {
		if cl.Hour == cc.hour {
			cc.claims = append(cc.claims, cl)
		}
	}
	for _, cl := range batch.Claims {
		if cl.Hour != cc.hour {
			cc.claims = append(cc.claims, cl)
		}
	}

	// The network's claims of the first hour: capacity, place, counters.
	// The second hour's is one this node never saw.
	known := claimMap{}
	for i, cl := range cc.claims[:2] {
		g := gridmint.Claim{Device: gridmint.DeviceKey(cl.Device), Zone: "DE-LU", Technology: gridmint.TechnologySolarPV,
			Hour: gridmint.Hour(cl.Hour), Wh: gridmint.Wh(cl.Wh), CounterStart: gridmint.MWh(1_000_000 * (i + 1)),
			Nameplate: 4000, Location: gridmint.CoarseLocation{LatTenths: 524, LonTenths: 134}}
		g.CounterEnd = g.CounterStart + g.Wh.MWh()
		known[claimKey(g.Device, g.Hour)] = g
	}
	rpc, err := sim.RPCHandler()
	if err != nil {
		t.Fatal(err)
	}
	cc.srv = httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices}, Token: testToken, Health: func() []Check { return nil },
		Certificates: &ChainCertificates{Client: c, Index: cc.index, Claims: known},
		ChainRPC:     chain.ReadOnlyRPC(rpc),
	}))
	t.Cleanup(cc.srv.Close)
	cc.sync()
	return cc
}

// sync brings the index to the chain's head (the node's indexer does
// this every poll).
func (cc *certChain) sync() {
	cc.t.Helper()
	if _, err := chain.NewIndexer(cc.sim.Backend(), cc.index, chain.IndexerConfig{Contracts: cc.addrs}).Sync(cc.ctx); err != nil {
		cc.t.Fatal(err)
	}
}

func (cc *certChain) token(hour uint64) chain.TokenID {
	t, err := chain.NewTokenID("DE-LU", chain.TechnologySolarPV, hour)
	if err != nil {
		cc.t.Fatal(err)
	}
	return t
}

func (cc *certChain) list(owner common.Address) CertificateList {
	cc.t.Helper()
	code, body := call(cc.t, "GET", cc.srv.URL+"/api/v1/certificates?owner="+owner.Hex(), "", "")
	if code != http.StatusOK {
		cc.t.Fatalf("list: %d %s", code, body)
	}
	var l CertificateList
	decodeJSON(cc.t, body, &l)
	return l
}

// TestCertificatesLifecycle lists the node's certificates with their
// attributes, transfers some to another account, retires some for a
// beneficiary, prints the statement (JSON, HTML, PDF) and checks it
// against the chain over the node's read-only JSON-RPC; another
// account's certificates are refused with 403 over the API and by the
// contract on chain.
func TestCertificatesLifecycle(t *testing.T) {
	cc := newCertChain(t)
	node := cc.client.Address()
	holder := ethcrypto.PubkeyToAddress(cc.holder.PublicKey)

	l := cc.list(node)
	if l.TotalWh != 1350 || len(l.Certificates) != 3 {
		t.Fatalf("node holds %d Wh in %d lots, want 1350 in 3: %+v", l.TotalWh, len(l.Certificates), l)
	}
	first := l.Certificates[0]
	hourStart := time.Unix(int64(cc.hour)*3600, 0).UTC()
	if first.HourStart == nil || !first.HourStart.Equal(hourStart) || !first.HourEnd.Equal(hourStart.Add(time.Hour)) ||
		first.Zone != "DE-LU" || first.EnergySource != "solar_pv" || first.First != 0 || first.Last != first.Wh-1 {
		t.Errorf("first lot %+v: want DE-LU solar_pv, hour %s, numbers 0..Wh-1", first, hourStart)
	}
	if first.CapacityW == nil || *first.CapacityW != 4000 || first.Location == nil || *first.Location != "52.4,13.4" {
		t.Errorf("first lot capacity %v location %v, want 4000 W at 52.4,13.4 from its claim", first.CapacityW, first.Location)
	}
	iss := first.Issuance
	if !iss.Known || iss.Issuer != node.Hex() || len(iss.Attestors) != 2 || iss.Tx == "" || iss.ID != cc.claims[0].StructHash().Hex() || first.Device != cc.claims[0].Device.Hex() {
		t.Errorf("issuance %+v, want known, issued by %s, 2 attestors, claim %s", iss, node.Hex(), cc.claims[0].StructHash().Hex())
	}
	if third := l.Certificates[2]; third.CapacityW != nil || third.Location != nil || third.Device == "" {
		t.Errorf("a lot whose claim the node never saw: capacity %v location %v device %q; want both null, device known from chain", third.CapacityW, third.Location, third.Device)
	}

	tok := cc.token(cc.hour)
	url := cc.srv.URL + "/api/v1/certificates/"
	// Writes need the token; bad bodies name the field.
	if code, _ := call(t, "POST", url+"transfer", "", `{}`); code != http.StatusUnauthorized {
		t.Errorf("transfer without token: %d", code)
	}
	for body, field := range map[string]string{
		`{"to":"0x12","token":"` + tok.Big().String() + `","wh":1}`:                  "to:",
		`{"to":"` + holder.Hex() + `","token":"12x","wh":1}`:                         "token",
		`{"to":"` + holder.Hex() + `","token":"` + tok.Big().String() + `","wh":0}`:  "wh",
		`{"to":"` + holder.Hex() + `","token":"` + tok.Big().String() + `","wh":-1}`: "wh",
		`{"to":"` + holder.Hex() + `","tokn":"1","wh":1}`:                            "tokn",
	} {
		code, resp := call(t, "POST", url+"transfer", testToken, body)
		if code != http.StatusBadRequest || !strings.Contains(errorMessage(t, resp), field) {
			t.Errorf("transfer %s: %d %s, want 400 naming %s", body, code, resp, field)
		}
	}
	code, resp := call(t, "POST", url+"transfer", testToken, `{"to":"`+holder.Hex()+`","token":"`+tok.Big().String()+`","wh":100,"ref":"t1"}`)
	if code != http.StatusOK {
		t.Fatalf("transfer: %d %s", code, resp)
	}
	var tr TransferResult
	decodeJSON(t, resp, &tr)
	// The same ref again does nothing new: the same transaction answers.
	if code, again := call(t, "POST", url+"transfer", testToken, `{"to":"`+holder.Hex()+`","token":"`+tok.Big().String()+`","wh":100,"ref":"t1"}`); code != http.StatusOK || !strings.Contains(again, tr.Tx) {
		t.Errorf("transfer again with the same ref: %d %s, want transaction %s", code, again, tr.Tx)
	}
	cc.sync()
	if h := cc.list(holder); h.TotalWh != 100 || len(h.Certificates) != 1 || h.Certificates[0].ID != first.Issuance.ID+":0-99" {
		t.Errorf("holder after transfer: %+v, want certificates 0-99 of the first lot", h)
	}

	// Retiring the holder's certificates over this node's API: 403.
	retire := func(body string) (int, string) { return call(t, "POST", url+"retire", testToken, body) }
	if code, resp := retire(`{"account":"` + holder.Hex() + `","token":"` + tok.Big().String() + `","wh":10,"beneficiary":"x"}`); code != http.StatusForbidden {
		t.Errorf("retiring another account's certificates: %d %s, want 403", code, resp)
	}
	// More than the node holds: the contract refuses (409).
	if code, resp := retire(`{"token":"` + tok.Big().String() + `","wh":5000,"beneficiary":"x"}`); code != http.StatusConflict || !strings.Contains(resp, "ERC1155InsufficientBalance") {
		t.Errorf("retiring more than held: %d %s, want 409 ERC1155InsufficientBalance", code, resp)
	}
	for body, field := range map[string]string{
		`{"token":"` + tok.Big().String() + `","wh":1,"beneficiary":" "}`:                                                       "beneficiary",
		`{"token":"` + tok.Big().String() + `","wh":1,"beneficiary":"a\u0007b"}`:                                                "beneficiary",
		`{"token":"` + tok.Big().String() + `","wh":1,"beneficiary":"a","claim":"` + strings.Repeat("c", MaxClaimText+1) + `"}`: "claim",
		`{"account":"bob","token":"` + tok.Big().String() + `","wh":1,"beneficiary":"a"}`:                                       "account",
		`{"token":"` + tok.Big().String() + `","wh":"1","beneficiary":"a"}`:                                                     "wh",
	} {
		code, resp := retire(body)
		if code != http.StatusBadRequest || !strings.Contains(errorMessage(t, resp), field) {
			t.Errorf("retire %.80s: %d %s, want 400 naming %s", body, code, resp, field)
		}
	}
	code, resp = retire(`{"account":"` + node.Hex() + `","token":"` + tok.Big().String() + `","wh":800,"beneficiary":"Bäckerei Müller GmbH","claim":"24/7 matched supply (test)","ref":"r1"}`)
	if code != http.StatusOK {
		t.Fatalf("retire: %d %s", code, resp)
	}
	var rr RetireResult
	decodeJSON(t, resp, &rr)
	if rr.RetirementID != 1 || rr.Statement != "/api/v1/certificates/retirements/1" {
		t.Fatalf("retire result %+v", rr)
	}
	// On chain too, the holder's certificates are the holder's: another
	// account's retire reverts.
	other, err := chain.New(cc.ctx, cc.sim.Backend(), chain.Config{Key: cc.holder, Contracts: cc.addrs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Retire(cc.ctx, chain.RetireRequest{Token: tok, Wh: 101, Beneficiary: "x"}); err == nil || !strings.Contains(err.Error(), "ERC1155InsufficientBalance") {
		t.Errorf("the holder retiring more than its own 100 Wh: %v, want a revert", err)
	}

	if code, resp := call(t, "GET", url+"retirements/1", "", ""); code != http.StatusNotFound {
		t.Errorf("statement before the index has it: %d %s, want 404", code, resp)
	}
	cc.sync()
	code, resp = call(t, "GET", url+"retirements/1", "", "")
	if code != http.StatusOK {
		t.Fatalf("statement: %d %s", code, resp)
	}
	var st StatementView
	decodeJSON(t, resp, &st)
	// 800 Wh, oldest first: the rest of the first lot (100..end), then the second.
	var got []string
	var sum uint64
	for _, c := range st.Certificates {
		got = append(got, c.ID)
		sum += c.Wh
	}
	firstWh := cc.claims[0].Wh
	want := []string{fmt.Sprintf("%s:100-%d", first.Issuance.ID, firstWh-1), fmt.Sprintf("%s:0-%d", l.Certificates[1].Issuance.ID, 800-(firstWh-100)-1)}
	if !slices.Equal(got, want) || sum != 800 || st.Beneficiary != "Bäckerei Müller GmbH" || st.Account != node.Hex() || st.Tx != rr.Tx {
		t.Errorf("statement %+v\nretired %v, want %v", st, got, want)
	}
	if !strings.Contains(st.Verify, "gridmint verify-retirement 1 --rpc http://") || !strings.Contains(st.Verify, "--digest "+st.Digest) {
		t.Errorf("verify command %q", st.Verify)
	}

	// Any reader of the chain rebuilds the same digest, through this
	// node's read-only JSON-RPC.
	ec, err := ethclient.DialContext(cc.ctx, cc.srv.URL+"/api/v1/chain/rpc")
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	fromChain, ok, err := chain.StatementFromChain(cc.ctx, ec, cc.addrs.REC, cc.addrs.DeployBlock, 1)
	if err != nil || !ok || fromChain.Digest().Hex() != st.Digest {
		t.Errorf("statement from the chain: %v %v, digest %s, want %s", ok, err, fromChain.Digest().Hex(), st.Digest)
	}

	code, page := call(t, "GET", url+"retirements/1.html", "", "")
	for _, s := range []string{"Bäckerei Müller GmbH", "800 Wh", st.Digest, "verify-retirement 1", "52.4,13.4", "4000 W", st.Tx} {
		if code != http.StatusOK || !strings.Contains(page, s) {
			t.Errorf("HTML statement (%d) lacks %q", code, s)
		}
	}
	code, pdf := call(t, "GET", url+"retirements/1.pdf", "", "")
	if code != http.StatusOK {
		t.Fatalf("PDF: %d", code)
	}
	checkPDF(t, []byte(pdf), "B\\344ckerei M\\374ller GmbH", "verify-retirement 1", st.Tx)
	for _, bad := range []string{"0", "x", "1.doc", "-1"} {
		if code, _ := call(t, "GET", url+"retirements/"+bad, "", ""); code != http.StatusBadRequest {
			t.Errorf("statement %q: %d, want 400", bad, code)
		}
	}
	if code, _ := call(t, "GET", url+"retirements/7", "", ""); code != http.StatusNotFound {
		t.Errorf("statement 7: %d, want 404", code)
	}
}

// checkPDF checks a PDF's structure (every xref entry points at its
// object, startxref at the table) and that its text holds each string.
func checkPDF(t *testing.T, pdf []byte, texts ...string) {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(pdf, []byte("%%EOF\n")) {
		t.Fatalf("not a PDF: %.40q", pdf)
	}
	m := regexp.MustCompile(`startxref\n(\d+)\n%%EOF\n$`).FindSubmatch(pdf)
	if m == nil {
		t.Fatal("no startxref")
	}
	xref, _ := strconv.Atoi(string(m[1]))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(pdf[xref:]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	for i := 1; i < n; i++ {
		off, _ := strconv.Atoi(strings.Fields(lines[2+i])[0])
		if !bytes.HasPrefix(pdf[off:], fmt.Appendf(nil, "%d 0 obj\n", i)) {
			t.Errorf("xref entry %d points at %.20q", i, pdf[off:])
		}
	}
	for _, m := range regexp.MustCompile(`(?s)<< /Length (\d+) >>\nstream\n(.*?)endstream`).FindAllSubmatch(pdf, -1) {
		if n, _ := strconv.Atoi(string(m[1])); n != len(m[2]) {
			t.Errorf("stream length %d, holds %d bytes", n, len(m[2]))
		}
	}
	for _, s := range texts {
		if !bytes.Contains(pdf, []byte(s)) {
			t.Errorf("PDF lacks %q", s)
		}
	}
}

// TestPDFWrapsAndPaginates lays out more lines than a page holds and
// words longer than a line.
func TestPDFWrapsAndPaginates(t *testing.T) {
	var lines []pdfLine
	for i := range 120 {
		lines = append(lines, pdfLine{Size: 10, Text: fmt.Sprintf("line %d (with parentheses) and a back\\slash", i)})
	}
	lines = append(lines, pdfLine{Font: pdfMono, Size: 8, Text: strings.Repeat("0123456789abcdef", 20)}, pdfLine{Size: 10, Text: "日本 → ?"})
	pdf := pdfDocument("t", lines)
	checkPDF(t, pdf, `line 119 \(with parentheses\) and a back\\slash`, "(?? ? ?)")
	if n := bytes.Count(pdf, []byte("/Type /Page ")); n < 2 {
		t.Errorf("%d pages for 120 lines, want at least 2", n)
	}
	if !bytes.Equal(pdf, pdfDocument("t", lines)) {
		t.Error("the same document gives other bytes")
	}
}

// readmeConsumption is the README's example consumption CSV.
const readmeConsumption = `hour_start_utc,consumption_wh
%s,1200
%s,500
%s,900
`

// TestMatchingReport matches a consumer's hourly load with the
// certificates retired for it, as JSON and CSV.
func TestMatchingReport(t *testing.T) {
	cc := newCertChain(t)
	tok := cc.token(cc.hour)
	tok2 := cc.token(cc.hour + 1)
	for _, b := range []string{
		`{"token":"` + tok.Big().String() + `","wh":600,"beneficiary":"Bakery"}`,
		`{"token":"` + tok2.Big().String() + `","wh":250,"beneficiary":"Bakery"}`,
		`{"token":"` + tok.Big().String() + `","wh":100,"beneficiary":"Someone else"}`,
	} {
		if code, resp := call(t, "POST", cc.srv.URL+"/api/v1/certificates/retire", testToken, b); code != http.StatusOK {
			t.Fatalf("retire: %d %s", code, resp)
		}
	}
	cc.sync()
	h := func(d uint64) string { return time.Unix(int64(cc.hour+d)*3600, 0).UTC().Format(time.RFC3339) }
	csvBody := fmt.Sprintf(readmeConsumption, h(^uint64(0)), h(0), h(1)) // the hour before, the hour, the hour after
	code, resp := call(t, "POST", cc.srv.URL+"/api/v1/certificates/matching?beneficiary=Bakery", "", csvBody)
	if code != http.StatusOK {
		t.Fatalf("matching: %d %s", code, resp)
	}
	var m MatchingReport
	decodeJSON(t, resp, &m)
	// Hour −1: 1200 consumed, nothing retired. Hour 0: 500 consumed, 600
	// retired: 500 matched, 100 surplus. Hour +1: 900 consumed, 250 retired.
	if m.Consumption != 2600 || m.Retired != 850 || m.Matched != 750 || len(m.Hours) != 3 || m.Hours[1].Surplus != 100 ||
		!slices.Equal(m.Retirements, []uint64{1, 2}) || fmt.Sprintf("%.4f", m.Score) != "0.2885" {
		t.Errorf("report %+v", m)
	}
	code, resp = call(t, "POST", cc.srv.URL+"/api/v1/certificates/matching?beneficiary=Bakery&format=csv", "", csvBody)
	want := "hour_start_utc,consumption_wh,retired_wh,matched_wh,surplus_wh\n" +
		h(^uint64(0)) + ",1200,0,0,0\n" + h(0) + ",500,600,500,100\n" + h(1) + ",900,250,250,0\ntotal,2600,850,750,0.2885\n"
	if code != http.StatusOK || resp != want {
		t.Errorf("CSV report %d:\n%s\nwant\n%s", code, resp, want)
	}
	for q, body := range map[string]string{
		"beneficiary=":                   csvBody,
		"beneficiary=Bakery&format=xml":  csvBody,
		"beneficiary=Bakery&account=0x1": csvBody,
		"beneficiary=Bakery":             "hour,wh\n",
	} {
		if code, resp := call(t, "POST", cc.srv.URL+"/api/v1/certificates/matching?"+q, "", body); code != http.StatusBadRequest {
			t.Errorf("matching ?%s: %d %s, want 400", q, code, resp)
		}
	}
}

// TestEnergyTagExport exports the issued certificates whose claims the
// node knows and checks the file against the EnergyTag registry's import
// sample: same 25 columns, and the meanings the sample shows (inclusive
// ranges, quantity = end − start + 1 Wh, the production hour).
func TestEnergyTagExport(t *testing.T) {
	cc := newCertChain(t)
	code, resp := call(t, "GET", cc.srv.URL+"/api/v1/certificates/energytag.csv?country=Germany", "", "")
	if code != http.StatusOK {
		t.Fatalf("export: %d %s", code, resp)
	}
	rows, err := csv.NewReader(strings.NewReader(resp)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	sample, err := os.ReadFile("../../rec/testdata/energytag_gc_registry_test_import.csv")
	if err != nil {
		t.Fatal(err)
	}
	srows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(sample, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := srows[0]
	if !slices.Equal(rows[0], head) || len(head) != 25 {
		t.Fatalf("header %q, sample %q", rows[0], head)
	}
	// The third issued claim is unknown to the node: two rows.
	if len(rows) != 3 {
		t.Fatalf("%d bundles, want 2 (the claims the node knows): %q", len(rows)-1, rows)
	}
	col := func(row []string, name string) string { return row[slices.Index(head, name)] }
	for i, row := range rows[1:] {
		cl := cc.claims[i]
		q, _ := strconv.ParseUint(col(row, "bundle_quantity"), 10, 64)
		s, _ := strconv.ParseUint(col(row, "certificate_bundle_id_range_start"), 10, 64)
		e, _ := strconv.ParseUint(col(row, "certificate_bundle_id_range_end"), 10, 64)
		start := time.Unix(int64(cl.Hour)*3600, 0).UTC()
		if q != cl.Wh || e-s+1 != q || col(row, "face_value") != "1" ||
			col(row, "production_starting_interval") != start.Format("02/01/2006 15:04") ||
			col(row, "production_ending_interval") != start.Add(time.Hour).Format("02/01/2006 15:04") ||
			col(row, "energy_source") != "solar_pv" || col(row, "energy_carrier") != "electricity" ||
			col(row, "issue_market_zone") != "DE-LU" || col(row, "connected_grid_identification") != "DE-LU" ||
			col(row, "country_of_issuance") != "Germany" || col(row, "issuing_body") != "gridmint" {
			t.Errorf("bundle %d %q does not describe claim %+v", i, row, cl)
		}
	}
	if code, _ := call(t, "GET", cc.srv.URL+"/api/v1/certificates/energytag.csv?prefix=G-M", "", ""); code != http.StatusBadRequest {
		t.Errorf("prefix with a dash: %d, want 400", code)
	}
}

func FuzzDecodeTransfer(f *testing.F) {
	f.Add([]byte(`{"to":"0x00000000000000000000000000000000000000b0","token":"1","wh":1,"ref":"x"}`))
	f.Add([]byte(`{"to":"0x12","token":"12x","wh":0}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := DecodeTransfer(body)
		if err != nil {
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("error %v of code %s, want invalid", err, gridmint.ErrorCode(err))
			}
			return
		}
		if tr.Wh == 0 || tr.To == (common.Address{}) || tr.Token.ZoneName() == "" {
			t.Fatalf("accepted %+v", tr)
		}
	})
}

func FuzzDecodeRetire(f *testing.F) {
	f.Add([]byte(`{"token":"1","wh":1,"beneficiary":"Bakery","claim":"24/7"}`))
	f.Add([]byte(`{"account":"0x00000000000000000000000000000000000000b0","token":"0x1","wh":5,"beneficiary":"a\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRetire(body)
		if err != nil {
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("error %v of code %s, want invalid", err, gridmint.ErrorCode(err))
			}
			return
		}
		if r.Wh == 0 || r.Beneficiary == "" || len(r.Beneficiary) > MaxBeneficiary || len(r.Claim) > MaxClaimText {
			t.Fatalf("accepted %+v", r)
		}
	})
}

func FuzzDecodeConsumption(f *testing.F) {
	f.Add([]byte("hour_start_utc,consumption_wh\n2025-01-21T21:00:00Z,1534\n"))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		cs, err := DecodeConsumption(body)
		if err != nil {
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("error %v of code %s, want invalid", err, gridmint.ErrorCode(err))
			}
			return
		}
		if _, err := rec.Match(cs, nil); err != nil {
			t.Fatalf("accepted consumption that Match refuses: %v", err)
		}
	})
}
