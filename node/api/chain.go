package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/gridmint/gridmint/chain"
)

// Chain is the node's settlement side: its chain connection and the
// indexed balances and history. Implementations must be safe for
// concurrent use.
type Chain interface {
	// Info describes the chain connection and the index.
	Info(ctx context.Context) (ChainInfo, error)
	// Balances are account's FLEX and REC holdings as of the index head.
	Balances(ctx context.Context, account common.Address) (chain.Balances, error)
	// History is account's events, newest first, at most limit.
	History(ctx context.Context, account common.Address, limit int) ([]chain.Event, error)
	// Retirements are the retirements of account (all accounts if nil)
	// whose id is above after, oldest first, at most limit.
	Retirements(ctx context.Context, account *common.Address, after uint64, limit int) ([]chain.Event, error)
}

// ChainInfo is what Chain.Info reports; GET /api/v1/chain shows it as a
// ChainStatus.
type ChainInfo struct {
	ChainID *big.Int
	// RPC is the JSON-RPC endpoint, or "embedded" for the in-process
	// chain. The API shows only its scheme and host: the rest of a URL
	// often holds an API key, and the route is open.
	RPC       string
	Contracts chain.Addresses
	// Account is the node's account; BalanceWei its ETH balance in wei,
	// nil when unknown (the endpoint is down).
	Account    common.Address
	BalanceWei *big.Int
	// IndexHead is the newest indexed block; nil before the first.
	IndexHead *chain.BlockRef
	// Confirmations is how many blocks the index stays behind the chain.
	Confirmations uint64
	// Attestors and Threshold are the attestor registry's set and k,
	// read from the registry; Attestors is nil when unknown (the
	// endpoint is down).
	Attestors []common.Address
	Threshold uint64
}

// ChainStatus is GET /api/v1/chain. Big integers are decimal strings:
// JSON numbers lose precision above 2^53 in JavaScript.
type ChainStatus struct {
	ChainID   string         `json:"chain_id"`
	RPC       string         `json:"rpc"`
	Contracts ChainContracts `json:"contracts"`
	Account   string         `json:"account"`
	// BalanceWei is the account's ETH balance in wei; null when unknown.
	BalanceWei *string `json:"balance_wei"`
	// IndexHead is the newest indexed block; null before the first.
	IndexHead     *ChainBlock `json:"index_head"`
	Confirmations uint64      `json:"confirmations"`
	// Attestors are the registry's attestors (node addresses), in the
	// order they were registered; Threshold is k, the distinct
	// attestors' signatures a batch needs. Both null when unknown.
	Attestors []string `json:"attestors"`
	Threshold *uint64  `json:"threshold"`
}

// ChainContracts are the deployed contracts' addresses.
type ChainContracts struct {
	Registry string `json:"registry"`
	REC      string `json:"rec"`
	FLEX     string `json:"flex"`
	// DeployBlock is where the index starts.
	DeployBlock uint64 `json:"deploy_block"`
}

// ChainBlock is a block.
type ChainBlock struct {
	Number uint64 `json:"number"`
	Hash   string `json:"hash"`
	// Time is the block time, UTC; null if beyond year 9999.
	Time *time.Time `json:"time"`
}

// ChainBalances is GET /api/v1/chain/balances/{account}.
type ChainBalances struct {
	Account string `json:"account"`
	// FLEX is the balance in whole FLEX ("12.5"); FLEXBaseUnits the same
	// in base units (1e18 per FLEX).
	FLEX          string `json:"flex"`
	FLEXBaseUnits string `json:"flex_base_units"`
	// REC are the certificates held, by token, in Wh; ordered by zone,
	// technology and hour.
	REC []ChainTokenBalance `json:"rec"`
	// AsOf is the index head the balances are taken at.
	AsOf ChainBlock `json:"as_of"`
}

// ChainTokenBalance is a REC balance of one token.
type ChainTokenBalance struct {
	Token ChainToken `json:"token"`
	Wh    string     `json:"wh"`
}

// ChainToken is a REC token id and what it encodes.
type ChainToken struct {
	// ID is the ERC-1155 token id, decimal.
	ID   string `json:"id"`
	Zone string `json:"zone"`
	// Technology is the code on chain; TechnologyName names it
	// ("solar-pv" for 1, else "unknown").
	Technology     uint8  `json:"technology"`
	TechnologyName string `json:"technology_name"`
	// Hour is the start of the production hour, UTC; null if beyond
	// year 9999.
	Hour *time.Time `json:"hour"`
}

// ChainEvent is one indexed contract event.
type ChainEvent struct {
	Kind chain.EventKind `json:"kind"`
	// Asset is "REC" or "FLEX": what Amount counts.
	Asset    string     `json:"asset"`
	Block    uint64     `json:"block"`
	Time     *time.Time `json:"time"` // block time, UTC; null if beyond year 9999
	Tx       string     `json:"tx"`
	LogIndex uint       `json:"log_index"`
	Sub      int        `json:"sub,omitempty"` // entry of a batch transfer
	// From and To: the zero address is a mint (From) or a burn (To).
	From string `json:"from"`
	To   string `json:"to"`
	// Token is the REC token of transfers and retirements.
	Token *ChainToken `json:"token,omitempty"`
	// Amount is in Wh for REC and in base units for FLEX; FLEX is the
	// same in whole FLEX, for FLEX events only.
	Amount       string `json:"amount"`
	FLEX         string `json:"flex,omitempty"`
	Ref          string `json:"ref,omitempty"` // batch, record or request id
	Aux          string `json:"aux,omitempty"` // awards root or evidence
	Count        uint64 `json:"count,omitempty"`
	RetirementID uint64 `json:"retirement_id,omitempty"`
	Beneficiary  string `json:"beneficiary,omitempty"`
	Claim        string `json:"claim,omitempty"`
	RewardKind   uint8  `json:"reward_kind,omitempty"`
}

// historyLimit bounds one page of history.
const historyLimit = 1000

// flexDecimals is FLEX's ERC-20 decimals.
const flexDecimals = 18

// maxJSONUnix is the last second JSON (RFC 3339) can carry: 9999-12-31T23:59:59Z.
const maxJSONUnix = 253402300799

func (s *Server) chainInfo(w http.ResponseWriter, r *http.Request) {
	info, err := s.cfg.Chain.Info(r.Context())
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := ChainStatus{
		ChainID: decimal(info.ChainID),
		RPC:     redactRPC(info.RPC),
		Contracts: ChainContracts{
			Registry: info.Contracts.Registry.Hex(), REC: info.Contracts.REC.Hex(), FLEX: info.Contracts.FLEX.Hex(),
			DeployBlock: info.Contracts.DeployBlock,
		},
		Account:       info.Account.Hex(),
		Confirmations: info.Confirmations,
	}
	if info.BalanceWei != nil {
		v := info.BalanceWei.String()
		out.BalanceWei = &v
	}
	if info.IndexHead != nil {
		b := toChainBlock(*info.IndexHead)
		out.IndexHead = &b
	}
	if info.Attestors != nil {
		out.Attestors = make([]string, len(info.Attestors))
		for i, a := range info.Attestors {
			out.Attestors[i] = a.Hex()
		}
		k := info.Threshold
		out.Threshold = &k
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) chainBalances(w http.ResponseWriter, r *http.Request) {
	account, ok := s.accountParam(w, r.PathValue("account"))
	if !ok {
		return
	}
	b, err := s.cfg.Chain.Balances(r.Context(), account)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := ChainBalances{
		Account: b.Account.Hex(), FLEX: formatUnits(b.FLEX, flexDecimals), FLEXBaseUnits: decimalOrZero(b.FLEX),
		REC: make([]ChainTokenBalance, len(b.REC)), AsOf: toChainBlock(b.AsOf),
	}
	for i, tb := range b.REC {
		out.REC[i] = ChainTokenBalance{Token: toChainToken(tb.Token), Wh: decimalOrZero(tb.Wh)}
	}
	s.writeJSON(w, http.StatusOK, out)
}

// chainHistory is GET /api/v1/chain/history/{account}?limit=: the
// account's events, newest first (default 100, at most 1000).
func (s *Server) chainHistory(w http.ResponseWriter, r *http.Request) {
	account, ok := s.accountParam(w, r.PathValue("account"))
	if !ok {
		return
	}
	limit, ok := s.limitParam(w, r.URL.Query().Get("limit"), 100, historyLimit)
	if !ok {
		return
	}
	evs, err := s.cfg.Chain.History(r.Context(), account, limit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, struct {
		Account string       `json:"account"`
		Events  []ChainEvent `json:"events"`
	}{account.Hex(), toChainEvents(evs)})
}

// retirementsLimit bounds a page of retirements (each has up to 4 KiB
// of claim text).
const retirementsLimit = 1000

// chainRetirements is GET /api/v1/chain/retirements?account=&after=&limit=:
// the retirements of one account, or of all without account=, oldest
// first, in pages: next is the after= of the following page.
func (s *Server) chainRetirements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	account, ok := s.optionalAccountParam(w, q.Get("account"))
	if !ok {
		return
	}
	limit, ok := s.limitParam(w, q.Get("limit"), 100, retirementsLimit)
	if !ok {
		return
	}
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("after %q: want a retirement id", v))
			return
		}
		after = n
	}
	evs, err := s.cfg.Chain.Retirements(r.Context(), account, after, limit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := struct {
		Retirements []ChainEvent `json:"retirements"`
		// Next is the after= of the next page; absent at the end.
		Next string `json:"next,omitempty"`
	}{Retirements: toChainEvents(evs)}
	if len(evs) == limit {
		out.Next = strconv.FormatUint(evs[len(evs)-1].RetirementID, 10)
	}
	s.writeJSON(w, http.StatusOK, out)
}

// accountParam parses an account: "0x" and 40 hex digits, any case (the
// EIP-55 checksum is not checked: lower-case addresses are common).
func (s *Server) accountParam(w http.ResponseWriter, v string) (common.Address, bool) {
	a, err := parseAccount(v)
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return common.Address{}, false
	}
	return a, true
}

// optionalAccountParam is accountParam for a query parameter that may be
// left out: nil then.
func (s *Server) optionalAccountParam(w http.ResponseWriter, v string) (*common.Address, bool) {
	if v == "" {
		return nil, true
	}
	a, ok := s.accountParam(w, v)
	return &a, ok
}

func parseAccount(v string) (common.Address, error) {
	var a common.Address
	h, ok := strings.CutPrefix(v, "0x")
	if !ok {
		h, ok = strings.CutPrefix(v, "0X")
	}
	if !ok || len(h) != 2*common.AddressLength {
		return a, fmt.Errorf("account %q: want 0x and 40 hex digits", v)
	}
	if _, err := hex.Decode(a[:], []byte(h)); err != nil {
		return a, fmt.Errorf("account %q: want 0x and 40 hex digits", v)
	}
	return a, nil
}

// redactRPC keeps a URL's scheme and host only. A plain path (an IPC
// socket) and "embedded" are shown as they are; what does not parse is
// hidden.
func redactRPC(rpc string) string {
	if rpc == "" || rpc == "embedded" {
		return rpc
	}
	u, err := url.Parse(rpc)
	if err != nil || u.Opaque != "" {
		return "(hidden)"
	}
	if u.Scheme == "" && u.Host == "" && u.User == nil && u.RawQuery == "" {
		return rpc
	}
	return u.Scheme + "://" + u.Host
}

func toChainBlock(b chain.BlockRef) ChainBlock {
	return ChainBlock{Number: b.Number, Hash: b.Hash.Hex(), Time: unixTime(b.Time)}
}

// unixTime is sec as a UTC time, or nil if JSON cannot carry it.
func unixTime(sec uint64) *time.Time {
	if sec > maxJSONUnix {
		return nil
	}
	t := time.Unix(int64(sec), 0).UTC()
	return &t
}

func toChainToken(t chain.TokenID) ChainToken {
	name := "unknown"
	if t.Technology == chain.TechnologySolarPV {
		name = "solar-pv"
	}
	out := ChainToken{ID: t.Big().String(), Zone: t.ZoneName(), Technology: t.Technology, TechnologyName: name}
	if t.Hour <= maxJSONUnix/3600 {
		out.Hour = unixTime(t.Hour * 3600)
	}
	return out
}

func toChainEvents(evs []chain.Event) []ChainEvent {
	out := make([]ChainEvent, len(evs))
	for i, e := range evs {
		c := ChainEvent{
			Kind: e.Kind, Asset: "REC", Block: e.Block, Time: unixTime(e.Time), Tx: e.TxHash.Hex(), LogIndex: e.LogIndex, Sub: e.Sub,
			From: e.From.Hex(), To: e.To.Hex(), Amount: decimalOrZero(e.Amount),
			Count: e.Count, RetirementID: e.RetirementID, Beneficiary: e.Beneficiary, Claim: e.Claim, RewardKind: e.RewardKind,
		}
		switch e.Kind {
		case chain.EventFLEXTransfer, chain.EventRewarded, chain.EventReserved, chain.EventSlashed:
			c.Asset, c.FLEX = "FLEX", formatUnits(e.Amount, flexDecimals)
		case chain.EventRECTransfer, chain.EventRetired:
			t := toChainToken(e.Token)
			c.Token = &t
		}
		if e.Ref != (common.Hash{}) {
			c.Ref = e.Ref.Hex()
		}
		if e.Aux != (common.Hash{}) {
			c.Aux = e.Aux.Hex()
		}
		out[i] = c
	}
	return out
}

// decimal is v in base 10, "" for nil.
func decimal(v *big.Int) string {
	if v == nil {
		return ""
	}
	return v.String()
}

// decimalOrZero is v in base 10, "0" for nil.
func decimalOrZero(v *big.Int) string {
	if v == nil {
		return "0"
	}
	return v.String()
}

// formatUnits is v / 10^decimals as an exact decimal without trailing
// zeros: 12500000000000000000 with 18 decimals is "12.5".
func formatUnits(v *big.Int, decimals int) string {
	if v == nil {
		return "0"
	}
	digits := new(big.Int).Abs(v).String()
	if len(digits) <= decimals {
		digits = strings.Repeat("0", decimals-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-decimals], strings.TrimRight(digits[len(digits)-decimals:], "0")
	out := whole
	if frac != "" {
		out += "." + frac
	}
	if v.Sign() < 0 {
		out = "-" + out
	}
	return out
}
