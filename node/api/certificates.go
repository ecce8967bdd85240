package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/rec"
)

// Certificates is the node's certificate side: the REC ledger rebuilt
// from the event index, and the node's own account that transfers and
// retires. Implementations must be safe for concurrent use.
type Certificates interface {
	// Account is the node's account: transfers and retirements over the
	// API are made from it, and from it only.
	Account() common.Address
	// ChainID and Contracts name the chain and the REC contract, for
	// statements.
	ChainID() *big.Int
	Contracts() chain.Addresses
	// Ledger is the REC ledger as of the index head (chain.BuildLedger).
	Ledger(ctx context.Context) (*chain.Ledger, error)
	// Transfer sends wh Wh of token from Account to another account;
	// ref is the idempotency key.
	Transfer(ctx context.Context, ref common.Hash, to common.Address, token chain.TokenID, wh uint64) (*chain.Receipt, error)
	// Retire retires certificates of Account.
	Retire(ctx context.Context, r chain.RetireRequest) (*chain.Retirement, error)
	// Claim is the claim of a device's hour as the network gossiped it
	// (capacity, location, counters), when this node knows it.
	Claim(device gridmint.DeviceKey, hour gridmint.Hour) (gridmint.Claim, bool)
}

// ClaimSource finds the claims the network gossiped, by device and hour.
type ClaimSource interface {
	Claim(device gridmint.DeviceKey, hour gridmint.Hour) (gridmint.Claim, bool)
}

// ChainCertificates is Certificates over the settlement client and the
// node's event index. Claims may be nil: certificates then show no
// capacity or location, and the EnergyTag export is empty. The node
// passes its claim cycle, which keeps claims for claims.retention.
type ChainCertificates struct {
	Client *chain.Client
	Index  chain.IndexStore
	Claims ClaimSource

	mu     sync.Mutex
	ledger *chain.Ledger // the last one built, kept while the head is unchanged
}

// Account implements Certificates.
func (c *ChainCertificates) Account() common.Address { return c.Client.Address() }

// ChainID implements Certificates.
func (c *ChainCertificates) ChainID() *big.Int { return c.Client.ChainID() }

// Contracts implements Certificates.
func (c *ChainCertificates) Contracts() chain.Addresses { return c.Client.Contracts() }

// Ledger implements Certificates: rebuilt when the index head moved.
func (c *ChainCertificates) Ledger(ctx context.Context) (*chain.Ledger, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	head, _, err := c.Index.Head(ctx)
	if err != nil {
		return nil, err
	}
	if c.ledger != nil && c.ledger.Head == head {
		return c.ledger, nil
	}
	be, ok := c.Client.Backend().(chain.LedgerBackend)
	if !ok {
		return nil, gridmint.Errorf(gridmint.EUnavailable, "the chain connection cannot read transactions")
	}
	l, err := chain.BuildLedger(ctx, c.Index, be, c.Client.RECDomain())
	if err != nil {
		return nil, gridmint.Errorf(gridmint.EUnavailable, "certificates: %v", err)
	}
	c.ledger = l
	return l, nil
}

// Transfer implements Certificates.
func (c *ChainCertificates) Transfer(ctx context.Context, ref common.Hash, to common.Address, token chain.TokenID, wh uint64) (*chain.Receipt, error) {
	return c.Client.TransferREC(ctx, ref, to, token, wh)
}

// Retire implements Certificates.
func (c *ChainCertificates) Retire(ctx context.Context, r chain.RetireRequest) (*chain.Retirement, error) {
	return c.Client.Retire(ctx, r)
}

// Claim implements Certificates.
func (c *ChainCertificates) Claim(device gridmint.DeviceKey, hour gridmint.Hour) (gridmint.Claim, bool) {
	if c.Claims == nil {
		return gridmint.Claim{}, false
	}
	return c.Claims.Claim(device, hour)
}

// ------------------------------------------------------------------ views

// CertificateView is one lot of certificates with its EnergyTag
// attributes: GET /api/v1/certificates lists them.
type CertificateView struct {
	// ID names the lot: issuance id ":" first "-" last.
	ID string `json:"id"`
	// Token is the ERC-1155 token the Wh are held as.
	Token ChainToken `json:"token"`
	// Wh is the lot's energy; First and Last number its certificates (one
	// per Wh) within the issuance, inclusive.
	Wh    uint64 `json:"wh"`
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
	// Device is the production device's key (opaque: the device's node
	// salts it); empty when the issuance is unknown.
	Device string `json:"device"`
	// EnergySource is the EnergyTag energy_source ("solar_pv"); Zone the
	// grid zone.
	EnergySource string `json:"energy_source"`
	Zone         string `json:"zone"`
	// HourStart and HourEnd bound the production hour, UTC.
	HourStart *time.Time `json:"hour_start"`
	HourEnd   *time.Time `json:"hour_end"`
	// CapacityW (nameplate, W) and Location (latitude,longitude rounded
	// to 0.1°) come from the device's claim as gossiped; null when this
	// node does not know the claim.
	CapacityW *float64     `json:"capacity_w"`
	Location  *string      `json:"location"`
	Issuance  IssuanceView `json:"issuance"`
}

// IssuanceView is where a lot was issued.
type IssuanceView struct {
	// ID is the issued claim's EIP-712 hash: one per device and hour.
	ID    string     `json:"id"`
	Batch string     `json:"batch"`
	Tx    string     `json:"tx"`
	Block uint64     `json:"block"`
	Time  *time.Time `json:"time"`
	// Issuer sent REC.issue; Attestors signed the batch.
	Issuer       string   `json:"issuer"`
	Attestors    []string `json:"attestors"`
	ReadingsRoot string   `json:"readings_root"`
	// ClaimWh is the whole claim's Wh (the lot may be part of it).
	ClaimWh uint64 `json:"claim_wh"`
	// Known is false when the issuing call could not be read (a mint
	// through another contract): device and attestors are then unknown.
	Known bool `json:"known"`
}

// CertificateList is GET /api/v1/certificates.
type CertificateList struct {
	Owner        string            `json:"owner"`
	TotalWh      uint64            `json:"total_wh"`
	Certificates []CertificateView `json:"certificates"`
	AsOf         ChainBlock        `json:"as_of"`
}

func (s *Server) certificateView(c chain.Certificate) CertificateView {
	i := c.Issuance
	v := CertificateView{
		ID: c.ID(), Token: toChainToken(i.Token), Wh: c.Wh(), First: c.First, Last: c.Last,
		EnergySource: gridmint.Technology(i.Token.Technology).EnergySource(), Zone: i.Token.ZoneName(),
		Issuance: IssuanceView{Tx: i.TxHash.Hex(), Block: i.Block, Time: unixTime(i.Time), ClaimWh: i.Wh, Known: i.Known, Attestors: []string{}},
	}
	if i.Token.Hour <= maxJSONUnix/3600-1 {
		v.HourStart, v.HourEnd = unixTime(i.Token.Hour*3600), unixTime((i.Token.Hour+1)*3600)
	}
	if i.Known {
		v.Device = i.Device.Hex()
		v.Issuance.ID, v.Issuance.Batch, v.Issuance.Issuer, v.Issuance.ReadingsRoot = i.ID.Hex(), i.BatchID.Hex(), i.Submitter.Hex(), i.ReadingsRoot.Hex()
		for _, a := range i.Attestors {
			v.Issuance.Attestors = append(v.Issuance.Attestors, a.Hex())
		}
		if cl, ok := s.cfg.Certificates.Claim(gridmint.DeviceKey(i.Device), gridmint.Hour(i.Token.Hour)); ok {
			w, loc := float64(cl.Nameplate), cl.Location.String()
			v.CapacityW, v.Location = &w, &loc
		}
	}
	return v
}

// certificates is GET /api/v1/certificates?owner=: the lots an account
// holds (default: this node's account), by token then oldest first.
func (s *Server) certificates(w http.ResponseWriter, r *http.Request) {
	owner := s.cfg.Certificates.Account()
	if v := r.URL.Query().Get("owner"); v != "" {
		a, ok := s.accountParam(w, v)
		if !ok {
			return
		}
		owner = a
	}
	l, err := s.cfg.Certificates.Ledger(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := CertificateList{Owner: owner.Hex(), Certificates: []CertificateView{}, AsOf: toChainBlock(l.Head)}
	for _, c := range l.Holdings(owner) {
		out.Certificates = append(out.Certificates, s.certificateView(c))
		out.TotalWh += c.Wh()
	}
	s.writeJSON(w, http.StatusOK, out)
}

// ------------------------------------------------------------- transfers

// Transfer is the body of POST /api/v1/certificates/transfer.
type Transfer struct {
	To    common.Address
	Token chain.TokenID
	Wh    uint64
	// Ref is the idempotency key: the same ref transfers once.
	Ref common.Hash
}

type transferBody struct {
	To    string `json:"to"`
	Token string `json:"token"`
	Wh    uint64 `json:"wh"`
	Ref   string `json:"ref"`
}

// maxRef bounds a client's idempotency key.
const maxRef = 200

// DecodeTransfer reads and checks the body of POST
// /api/v1/certificates/transfer: {"to": account, "token": id, "wh": n,
// "ref": optional idempotency key}. Errors name the field.
func DecodeTransfer(body []byte) (Transfer, error) {
	var b transferBody
	if err := decodeStrict(body, &b); err != nil {
		return Transfer{}, err
	}
	var t Transfer
	var err error
	if t.To, err = parseAccount(b.To); err != nil {
		return t, gridmint.Errorf(gridmint.EInvalid, "to: %v", err)
	}
	if t.To == (common.Address{}) {
		return t, gridmint.Errorf(gridmint.EInvalid, "to: the zero address burns; retire instead")
	}
	if t.Token, err = parseToken(b.Token); err != nil {
		return t, err
	}
	if t.Wh, err = whField(b.Wh); err != nil {
		return t, err
	}
	t.Ref, err = refField("transfer", b.Ref)
	return t, err
}

// parseToken reads a token id: the decimal ERC-1155 id (token.id in the
// listings) or 0x hex.
func parseToken(v string) (chain.TokenID, error) {
	id, ok := new(big.Int).SetString(v, 0)
	if v == "" || !ok || len(v) > 100 {
		return chain.TokenID{}, gridmint.Errorf(gridmint.EInvalid, "token %q: want a REC token id, decimal as token.id lists it", clipText(v))
	}
	t, err := chain.DecodeTokenID(id)
	if err != nil {
		return chain.TokenID{}, gridmint.Errorf(gridmint.EInvalid, "token %q: %v", clipText(v), err)
	}
	return t, nil
}

func whField(wh uint64) (uint64, error) {
	if wh == 0 || wh > 1<<62 {
		return 0, gridmint.Errorf(gridmint.EInvalid, "wh %d: want a whole number of Wh from 1", wh)
	}
	return wh, nil
}

// refField is a client's idempotency key, hashed with what it keys; ""
// is the zero hash (the handler then makes a fresh one).
func refField(what, ref string) (common.Hash, error) {
	if ref == "" {
		return common.Hash{}, nil
	}
	if len(ref) > maxRef {
		return common.Hash{}, gridmint.Errorf(gridmint.EInvalid, "ref: %d bytes, at most %d", len(ref), maxRef)
	}
	return crypto.Keccak256Hash([]byte("gridmint/api/"+what+"/"), []byte(ref)), nil
}

// freshRef keys a write sent without a ref: unique, so two identical
// calls both happen.
func (s *Server) freshRef(what string, body []byte) common.Hash {
	return crypto.Keccak256Hash([]byte("gridmint/api/"+what+"/fresh/"), []byte(strconv.FormatInt(s.cfg.Clock.Now().UnixNano(), 10)), body)
}

// TransferResult answers a transfer.
type TransferResult struct {
	Tx    string `json:"tx"`
	Block uint64 `json:"block"`
	// AlreadyDone: the same ref was transferred before; nothing new happened.
	AlreadyDone bool `json:"already_done,omitempty"`
}

// transfer is POST /api/v1/certificates/transfer: send certificates of
// this node's account to another account. Any wallet can do the same on
// the ERC-1155 contract directly.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	t, err := DecodeTransfer(body)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if t.Ref == (common.Hash{}) {
		t.Ref = s.freshRef("transfer", body)
	}
	rc, err := s.cfg.Certificates.Transfer(r.Context(), t.Ref, t.To, t.Token, t.Wh)
	if err != nil {
		s.writeChainErr(w, "transfer", err)
		return
	}
	s.writeJSON(w, http.StatusOK, TransferResult{Tx: rc.TxHash.Hex(), Block: rc.Block, AlreadyDone: rc.AlreadyDone})
}

// writeChainErr answers a refused chain write: a revert is the
// contract's refusal (409, with the contract's error), anything else is
// the chain being unreachable.
func (s *Server) writeChainErr(w http.ResponseWriter, what string, err error) {
	var rv *chain.RevertError
	switch {
	case errors.As(err, &rv):
		s.writeErr(w, gridmint.Errorf(gridmint.EConflict, "%s refused by the REC contract: %v", what, rv))
	case gridmint.ErrorCode(err) != gridmint.EInternal:
		s.writeErr(w, err)
	default:
		s.writeErr(w, gridmint.Errorf(gridmint.EUnavailable, "%s: %v", what, err))
	}
}

// forbidden answers 403: the caller is authenticated but may not do this.
func (s *Server) forbidden(w http.ResponseWriter, msg string) {
	s.writeJSON(w, http.StatusForbidden, struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, gridmint.EUnauthorized})
}

// ----------------------------------------------------------- retirement

// Retire is the body of POST /api/v1/certificates/retire.
type Retire struct {
	// Account whose certificates to retire; zero means this node's.
	Account     common.Address
	Token       chain.TokenID
	Wh          uint64
	Beneficiary string
	Claim       string
	Ref         common.Hash
}

type retireBody struct {
	Account     string `json:"account"`
	Token       string `json:"token"`
	Wh          uint64 `json:"wh"`
	Beneficiary string `json:"beneficiary"`
	Claim       string `json:"claim"`
	Ref         string `json:"ref"`
}

// Limits of a retirement's texts, bytes of UTF-8.
const (
	MaxBeneficiary = 200
	MaxClaimText   = 4096
)

// DecodeRetire reads and checks the body of POST
// /api/v1/certificates/retire: {"account": optional, "token": id, "wh":
// n, "beneficiary": text, "claim": text, "ref": optional}. Errors name
// the field.
func DecodeRetire(body []byte) (Retire, error) {
	var b retireBody
	if err := decodeStrict(body, &b); err != nil {
		return Retire{}, err
	}
	var out Retire
	var err error
	if b.Account != "" {
		if out.Account, err = parseAccount(b.Account); err != nil {
			return out, gridmint.Errorf(gridmint.EInvalid, "account: %v", err)
		}
	}
	if out.Token, err = parseToken(b.Token); err != nil {
		return out, err
	}
	if out.Wh, err = whField(b.Wh); err != nil {
		return out, err
	}
	ben := strings.TrimSpace(b.Beneficiary)
	switch {
	case ben == "":
		return out, gridmint.Errorf(gridmint.EInvalid, "beneficiary: empty; name who the energy is retired for")
	case len(ben) > MaxBeneficiary:
		return out, gridmint.Errorf(gridmint.EInvalid, "beneficiary: %d bytes, at most %d", len(ben), MaxBeneficiary)
	case strings.IndexFunc(ben, unicode.IsControl) >= 0:
		return out, gridmint.Errorf(gridmint.EInvalid, "beneficiary: control characters; one line of text")
	}
	if len(b.Claim) > MaxClaimText {
		return out, gridmint.Errorf(gridmint.EInvalid, "claim: %d bytes, at most %d", len(b.Claim), MaxClaimText)
	}
	if strings.IndexFunc(b.Claim, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) >= 0 {
		return out, gridmint.Errorf(gridmint.EInvalid, "claim: control characters other than line breaks")
	}
	out.Beneficiary, out.Claim = ben, b.Claim
	out.Ref, err = refField("retire", b.Ref)
	return out, err
}

// RetireResult answers a retirement.
type RetireResult struct {
	RetirementID uint64 `json:"retirement_id"`
	Tx           string `json:"tx"`
	Block        uint64 `json:"block"`
	AlreadyDone  bool   `json:"already_done,omitempty"`
	// Statement is the statement's path (add .html or .pdf); it appears
	// once the index has the retirement's block.
	Statement string `json:"statement,omitempty"`
}

// retire is POST /api/v1/certificates/retire: retire certificates of this
// node's account for a beneficiary. Another account's certificates are
// refused (403): only their holder (or an operator it approved) can
// retire them, on chain, where the contract refuses anyone else.
func (s *Server) retire(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	req, err := DecodeRetire(body)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if own := s.cfg.Certificates.Account(); req.Account != (common.Address{}) && req.Account != own {
		s.forbidden(w, fmt.Sprintf("account %s: this node retires only its own account's certificates (%s); the holder retires theirs with its own wallet", req.Account.Hex(), own.Hex()))
		return
	}
	if req.Ref == (common.Hash{}) {
		req.Ref = s.freshRef("retire", body)
	}
	ret, err := s.cfg.Certificates.Retire(r.Context(), chain.RetireRequest{Ref: req.Ref, Token: req.Token, Wh: req.Wh, Beneficiary: req.Beneficiary, Claim: req.Claim})
	if err != nil {
		s.writeChainErr(w, "retirement", err)
		return
	}
	out := RetireResult{RetirementID: ret.RetirementID, Tx: ret.TxHash.Hex(), Block: ret.Block, AlreadyDone: ret.AlreadyDone}
	if ret.RetirementID != 0 {
		out.Statement = "/api/v1/certificates/retirements/" + strconv.FormatUint(ret.RetirementID, 10)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// StatementView is a retirement statement: GET
// /api/v1/certificates/retirements/{id} (JSON; .html and .pdf print it).
type StatementView struct {
	RetirementID uint64     `json:"retirement_id"`
	Account      string     `json:"account"`
	Beneficiary  string     `json:"beneficiary"`
	Claim        string     `json:"claim"`
	Wh           uint64     `json:"wh"`
	Token        ChainToken `json:"token"`
	Tx           string     `json:"tx"`
	Block        uint64     `json:"block"`
	Time         *time.Time `json:"time"`
	ChainID      string     `json:"chain_id"`
	REC          string     `json:"rec"`
	// Certificates are the lots retired, with their attributes.
	Certificates []CertificateView `json:"certificates"`
	// Digest is keccak256 of Canonical, the statement's canonical text;
	// Verify is the command that recomputes it from any node of the chain.
	Digest    string `json:"digest"`
	Canonical string `json:"canonical"`
	Verify    string `json:"verify"`
}

// statement is GET /api/v1/certificates/retirements/{id}[.html|.pdf].
func (s *Server) statement(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("id")
	idText, format, _ := strings.Cut(v, ".")
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id == 0 || (format != "" && format != "html" && format != "pdf" && format != "json") {
		s.writeError(w, http.StatusBadRequest, fmt.Sprintf("retirement %q: want a retirement id, optionally with .html, .pdf or .json", clipText(v)))
		return
	}
	l, err := s.cfg.Certificates.Ledger(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	st, ok := chain.NewStatement(l, id, s.cfg.Certificates.ChainID(), s.cfg.Certificates.Contracts())
	if !ok {
		s.writeErr(w, gridmint.Errorf(gridmint.ENotFound, "retirement %d: not in the index (head block %d); a new retirement appears once the index has its block", id, l.Head.Number))
		return
	}
	view := s.statementView(r, st)
	switch format {
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := statementPage.Execute(w, view); err != nil {
			s.cfg.Logger.Warn("rendering statement", "err", err)
		}
	case "pdf":
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=\"gridmint-retirement-%d.pdf\"", id))
		w.Write(statementPDF(view)) //nolint:errcheck // the client went away
	default:
		s.writeJSON(w, http.StatusOK, view)
	}
}

func (s *Server) statementView(r *http.Request, st chain.Statement) StatementView {
	v := StatementView{
		RetirementID: st.ID, Account: st.Account.Hex(), Beneficiary: st.Beneficiary, Claim: st.Claim, Wh: st.Wh,
		Token: toChainToken(st.Token), Tx: st.TxHash.Hex(), Block: st.Block, Time: unixTime(st.Time),
		ChainID: decimal(st.ChainID), REC: st.REC.Hex(), Certificates: []CertificateView{},
		Digest: st.Digest().Hex(), Canonical: st.Canonical(),
	}
	for _, c := range st.Certificates {
		v.Certificates = append(v.Certificates, s.certificateView(c))
	}
	rpc := "RPC_URL"
	if s.cfg.ChainRPC != nil {
		// This node serves its chain read-only: the statement can name it.
		rpc = "http://" + r.Host + "/api/v1/chain/rpc"
	}
	v.Verify = fmt.Sprintf("gridmint verify-retirement %d --rpc %s --rec %s --from-block %d --digest %s", st.ID, rpc, st.REC.Hex(), st.DeployBlock, v.Digest)
	return v
}

// statementPage prints a statement; the browser's print makes it paper.
var statementPage = template.Must(template.New("statement").Funcs(template.FuncMap{
	"utc": func(t *time.Time) string {
		if t == nil {
			return "?"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"hhmm": func(t *time.Time) string {
		if t == nil {
			return "?"
		}
		return t.UTC().Format("15:04")
	},
	"deref": func(p *string) string {
		if p == nil {
			return "unknown"
		}
		return *p
	},
	"watts": func(p *float64) string {
		if p == nil {
			return "unknown"
		}
		return strconv.FormatFloat(*p, 'f', -1, 64) + " W"
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Retirement statement {{.RetirementID}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#111}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #999;padding:.3rem;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all;white-space:pre-wrap}
@media print{body{margin:0}}
</style></head><body>
<h1>Renewable energy retirement statement</h1>
<p>Retirement <b>{{.RetirementID}}</b> of <b>{{.Wh}} Wh</b> of granular certificates for</p>
<p style="font-size:1.4rem"><b>{{.Beneficiary}}</b></p>
{{if .Claim}}<p>Claim: {{.Claim}}</p>{{end}}
<table>
<tr><th>Retired by</th><td><code>{{.Account}}</code></td></tr>
<tr><th>Transaction</th><td><code>{{.Tx}}</code> (block {{.Block}}, {{utc .Time}})</td></tr>
<tr><th>Chain / REC contract</th><td>chain id {{.ChainID}}, <code>{{.REC}}</code></td></tr>
<tr><th>Token</th><td>{{.Token.Zone}}, {{.Token.TechnologyName}}, hour starting {{utc .Token.Hour}} (id {{.Token.ID}})</td></tr>
</table>
<h2>Certificates</h2>
<table><tr><th>Certificates</th><th>Device</th><th>Place</th><th>Hour (UTC)</th><th>Wh</th><th>Issued in</th></tr>
{{range .Certificates}}<tr><td><code>{{.ID}}</code></td><td><code>{{.Device}}</code><br>{{.EnergySource}}, {{watts .CapacityW}}</td>
<td>{{.Zone}}, {{deref .Location}}</td><td>{{utc .HourStart}}–{{hhmm .HourEnd}}</td><td>{{.Wh}}</td><td><code>{{.Issuance.Tx}}</code></td></tr>
{{end}}</table>
<h2>Verify</h2>
<p>Anyone can check this statement against the chain, read-only, with no key:</p>
<pre>{{.Verify}}</pre>
<p>Digest (keccak-256 of the canonical text below): <code>{{.Digest}}</code></p>
<pre>{{.Canonical}}</pre>
</body></html>
`))

// statementPDF prints a statement as PDF.
func statementPDF(v StatementView) []byte {
	t := func(p *time.Time) string {
		if p == nil {
			return "?"
		}
		return p.UTC().Format("2006-01-02 15:04 UTC")
	}
	lines := []pdfLine{
		{Font: pdfBold, Size: 18, Text: "Renewable energy retirement statement"},
		{Size: 11, Gap: 8, Text: fmt.Sprintf("Retirement %d of %d Wh of granular certificates for", v.RetirementID, v.Wh)},
		{Font: pdfBold, Size: 14, Gap: 4, Text: v.Beneficiary},
	}
	if v.Claim != "" {
		lines = append(lines, pdfLine{Size: 11, Gap: 4, Text: "Claim: " + v.Claim})
	}
	lines = append(lines,
		pdfLine{Size: 10, Gap: 10, Text: "Retired by: " + v.Account},
		pdfLine{Size: 10, Text: fmt.Sprintf("Transaction: %s (block %d, %s)", v.Tx, v.Block, t(v.Time))},
		pdfLine{Size: 10, Text: fmt.Sprintf("Chain id %s, REC contract %s", v.ChainID, v.REC)},
		pdfLine{Size: 10, Text: fmt.Sprintf("Token: %s, %s, hour starting %s (id %s)", v.Token.Zone, v.Token.TechnologyName, t(v.Token.Hour), v.Token.ID)},
		pdfLine{Font: pdfBold, Size: 13, Gap: 12, Text: "Certificates"},
	)
	for _, c := range v.Certificates {
		capacity, place := "capacity unknown", "location unknown"
		if c.CapacityW != nil {
			capacity = strconv.FormatFloat(*c.CapacityW, 'f', -1, 64) + " W"
		}
		if c.Location != nil {
			place = *c.Location
		}
		lines = append(lines,
			pdfLine{Font: pdfMono, Size: 8, Gap: 6, Text: c.ID},
			pdfLine{Size: 10, Text: fmt.Sprintf("%d Wh, %s to %s; %s, %s, %s", c.Wh, t(c.HourStart), t(c.HourEnd), c.Zone, place, c.EnergySource+", "+capacity)},
			pdfLine{Font: pdfMono, Size: 8, Text: "device " + c.Device},
			pdfLine{Font: pdfMono, Size: 8, Text: "issued in " + c.Issuance.Tx},
		)
	}
	lines = append(lines,
		pdfLine{Font: pdfBold, Size: 13, Gap: 12, Text: "Verify"},
		pdfLine{Size: 10, Text: "Anyone can check this statement against the chain, read-only, with no key:"},
		pdfLine{Font: pdfMono, Size: 8, Gap: 4, Text: v.Verify},
		pdfLine{Size: 10, Gap: 6, Text: "Digest (keccak-256 of the canonical text): " + v.Digest},
		pdfLine{Font: pdfMono, Size: 7, Gap: 4, Text: v.Canonical},
	)
	return pdfDocument(fmt.Sprintf("gridmint retirement statement %d", v.RetirementID), lines)
}

// ------------------------------------------------------------- matching

// MatchingCSVHeader is the header of the matching report as CSV.
var MatchingCSVHeader = []string{"hour_start_utc", "consumption_wh", "retired_wh", "matched_wh", "surplus_wh"}

// maxConsumptionBody bounds a posted consumption CSV: a year of hours
// is about 250 KiB.
const maxConsumptionBody = 8 << 20

// MatchingReport is POST /api/v1/certificates/matching as JSON.
type MatchingReport struct {
	Beneficiary string `json:"beneficiary"`
	// Account, if given, limits the retirements to those it made.
	Account string `json:"account,omitempty"`
	// Retirements are the ids of the retirements counted.
	Retirements []uint64 `json:"retirements"`
	rec.MatchReport
}

// DecodeConsumption reads a posted consumption CSV (rec.ParseConsumptionCSV).
func DecodeConsumption(body []byte) ([]rec.Consumption, error) {
	if !utf8.Valid(body) {
		return nil, gridmint.Errorf(gridmint.EInvalid, "consumption csv: not UTF-8 text")
	}
	return rec.ParseConsumptionCSV(body)
}

// matching is POST /api/v1/certificates/matching?beneficiary=&account=&format=:
// hour-by-hour matching of the posted hourly consumption (CSV) with the
// certificates retired for beneficiary. It changes nothing.
func (s *Server) matching(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ben := strings.TrimSpace(q.Get("beneficiary"))
	if ben == "" || len(ben) > MaxBeneficiary {
		s.writeError(w, http.StatusBadRequest, fmt.Sprintf("beneficiary: want the beneficiary named in the retirements, 1 to %d bytes", MaxBeneficiary))
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		s.writeError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want json or csv", clipText(format)))
		return
	}
	account, ok := s.optionalAccountParam(w, q.Get("account"))
	if !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConsumptionBody))
	if err != nil {
		s.writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: %v (at most %d bytes)", err, maxConsumptionBody))
		return
	}
	cons, err := DecodeConsumption(body)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	l, err := s.cfg.Certificates.Ledger(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := MatchingReport{Beneficiary: ben, Retirements: []uint64{}}
	if account != nil {
		out.Account = account.Hex()
	}
	var retired []rec.Retired
	for _, rt := range l.Retirements() {
		if rt.Beneficiary != ben || (account != nil && rt.Account != *account) || rt.Token.Hour > 1<<62 {
			continue
		}
		out.Retirements = append(out.Retirements, rt.ID)
		retired = append(retired, rec.Retired{Hour: gridmint.Hour(rt.Token.Hour), Wh: gridmint.Wh(rt.Wh)})
	}
	if out.MatchReport, err = rec.Match(cons, retired); err != nil {
		s.writeErr(w, err)
		return
	}
	if out.Hours == nil {
		out.Hours = []rec.MatchHour{}
	}
	if format != "csv" {
		s.writeJSON(w, http.StatusOK, out)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Write(MatchingCSV(out.MatchReport)) //nolint:errcheck // the client went away
}

// MatchingCSV writes a matching report as CSV: MatchingCSVHeader, one row
// per hour in order, and a last row "total" with the sums (its
// surplus_wh column holds the score, matched / consumption, 4 decimals).
func MatchingCSV(m rec.MatchReport) []byte {
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write(MatchingCSVHeader) //nolint:errcheck // into a buffer
	for _, h := range m.Hours {
		cw.Write([]string{h.Hour.Start().Format(time.RFC3339), itoa(h.Consumption), itoa(h.Retired), itoa(h.Matched), itoa(h.Surplus)}) //nolint:errcheck // into a buffer
	}
	cw.Write([]string{"total", itoa(m.Consumption), itoa(m.Retired), itoa(m.Matched), strconv.FormatFloat(m.Score, 'f', 4, 64)}) //nolint:errcheck // into a buffer
	cw.Flush()
	return b.Bytes()
}

func itoa(wh gridmint.Wh) string { return strconv.FormatInt(int64(wh), 10) }

// ------------------------------------------------------------- EnergyTag

// energyTag is GET /api/v1/certificates/energytag.csv?owner=&prefix=&country=&issuing_body=&purpose=:
// the issued certificates (of owner, default all) whose claims this node
// knows, as bundles in the EnergyTag registry's import format
// (rec.EnergyTagRows), one row per issued claim. Issuances whose claim
// the node does not know (it never saw the gossip) are left out; their
// count is in the X-Gridmint-Unknown-Claims header.
func (s *Server) energyTag(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	owner, ok := s.optionalAccountParam(w, q.Get("owner"))
	if !ok {
		return
	}
	iss := rec.EnergyTagIssuer{Prefix: "GM", Country: q.Get("country"), IssuingBody: q.Get("issuing_body"), Purpose: q.Get("purpose")}
	if v := q.Get("prefix"); v != "" {
		iss.Prefix = v
	}
	if iss.IssuingBody == "" {
		iss.IssuingBody = "gridmint"
	}
	for name, v := range map[string]string{"country": iss.Country, "issuing_body": iss.IssuingBody, "purpose": iss.Purpose, "prefix": iss.Prefix} {
		if len(v) > 100 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("%s: at most 100 bytes of one-line text", name))
			return
		}
	}
	l, err := s.cfg.Certificates.Ledger(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	// One EnergyTagRows call per zone: the grid column is the zone.
	byZone := map[string][]gridmint.Claim{}
	var zones []string
	unknown := 0
	for _, i := range l.Issued(owner) {
		c, ok := s.cfg.Certificates.Claim(gridmint.DeviceKey(i.Device), gridmint.Hour(i.Token.Hour))
		if !i.Known || !ok || c.Wh != gridmint.Wh(i.Wh) || c.Zone != i.Token.ZoneName() {
			unknown++
			continue
		}
		if _, seen := byZone[c.Zone]; !seen {
			zones = append(zones, c.Zone)
		}
		byZone[c.Zone] = append(byZone[c.Zone], c)
	}
	slices.Sort(zones)
	rows := [][]string{rec.EnergyTagHeader}
	for _, z := range zones {
		zi := iss
		zi.Grid = z
		rs, err := rec.EnergyTagRows(byZone[z], zi)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		rows = append(rows, rs[1:]...)
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	if err := cw.WriteAll(rows); err != nil {
		s.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="gridmint-energytag-import.csv"`)
	w.Header().Set("X-Gridmint-Unknown-Claims", strconv.Itoa(unknown))
	w.Write(b.Bytes()) //nolint:errcheck // the client went away
}

// clipText shortens v for an error message.
func clipText(v string) string {
	if len(v) > 60 {
		r := []rune(v)
		if len(r) > 60 {
			return string(r[:60]) + "…"
		}
	}
	return v
}
