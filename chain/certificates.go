package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Certificates as their holders see them. REC balances are fungible per
// token id (zone, technology, hour): the contract does not remember which
// device's Wh an account holds. The Ledger recovers it, the same way on
// every reader, by replaying the contract's events in chain order with
// first-in-first-out lots: a mint (one per issued claim) is a lot of one
// issuance; a transfer or a burn takes the sender's oldest Wh of that
// token first, splitting a lot when it takes part of it. Each Wh of an
// issuance has a number, 0 to the claim's Wh − 1, so a lot is a range of
// certificate numbers, as in the EnergyTag registry's bundles. Issuance
// details (device key, readings root, batch, attestors) come from the
// REC.issue call data of the mint's transaction; nothing off chain is
// needed, so any reader of any node of the chain gets the same ledger.

// Issuance is one issued claim: where a lot of certificates was minted.
type Issuance struct {
	// ID is the claim's EIP-712 struct hash (Claim.StructHash): one per
	// device and hour, as the contract issues each at most once. Zero when
	// the call data could not be read (Known false).
	ID      common.Hash `json:"id"`
	BatchID common.Hash `json:"batchId"`
	TxHash  common.Hash `json:"tx"`
	Block   uint64      `json:"block"`
	Time    uint64      `json:"time"` // block time, Unix seconds
	// Submitter sent the REC.issue transaction; Attestors signed the
	// batch (recovered from the call data's signatures, in their order).
	Submitter common.Address   `json:"submitter"`
	Attestors []common.Address `json:"attestors"`
	// Device is the device key, Owner the first owner, Wh the claim's Wh.
	Device       common.Hash    `json:"device"`
	Owner        common.Address `json:"owner"`
	Token        TokenID        `json:"token"`
	Wh           uint64         `json:"wh"`
	ReadingsRoot common.Hash    `json:"readingsRoot"`
	// Known is false for a mint whose REC.issue call data could not be
	// read (issued through another contract): only Token, Owner, Wh and
	// the transaction are then known.
	Known bool `json:"known"`
}

// Certificate is a lot: the certificates numbered First to Last
// (inclusive, one per Wh) of one issuance.
type Certificate struct {
	Issuance *Issuance `json:"issuance"`
	First    uint64    `json:"first"`
	Last     uint64    `json:"last"`
}

// Wh is the lot's energy.
func (c Certificate) Wh() uint64 { return c.Last - c.First + 1 }

// ID names the lot: issuance id (or transaction for an unknown
// issuance), ":" first "-" last.
func (c Certificate) ID() string {
	ref := c.Issuance.ID
	if !c.Issuance.Known {
		ref = c.Issuance.TxHash
	}
	return fmt.Sprintf("%s:%d-%d", ref.Hex(), c.First, c.Last)
}

// RetirementRecord is one Retired event and the lots it burned.
type RetirementRecord struct {
	ID          uint64         `json:"id"`
	Account     common.Address `json:"account"`
	Token       TokenID        `json:"token"`
	Wh          uint64         `json:"wh"`
	Beneficiary string         `json:"beneficiary"`
	Claim       string         `json:"claim"`
	TxHash      common.Hash    `json:"tx"`
	Block       uint64         `json:"block"`
	Time        uint64         `json:"time"` // block time, Unix seconds
	// Certificates are the lots retired, oldest first; their Wh add up
	// to Wh.
	Certificates []Certificate `json:"certificates"`
}

// LedgerBackend is what a Ledger reads besides the events: the
// transactions that minted (ethclient and the embedded chain's Backend
// have it).
type LedgerBackend interface {
	TransactionByHash(ctx context.Context, hash common.Hash) (tx *types.Transaction, isPending bool, err error)
}

// Ledger is the certificates held and retired, as of an index head.
type Ledger struct {
	// Head is the index head the ledger was built at.
	Head BlockRef
	// Issuances are every mint, in chain order.
	Issuances []*Issuance
	// Unattributed counts the Wh the events moved out of an account that
	// the index never saw come in (an index started after the
	// deployment): they are kept as lots of an unknown issuance.
	Unattributed uint64

	holdings    map[common.Address]map[TokenID][]Certificate
	retirements map[uint64]*RetirementRecord
	retiredIDs  []uint64
}

// BuildLedger replays the REC events of store (transfers and
// retirements, from the deployment on) into a ledger. be reads the
// mints' transactions; domain is the REC contract's EIP-712 domain, to
// recover the attestors. It reads every REC event: its cost grows with
// the chain (about a second per 100,000 events).
func BuildLedger(ctx context.Context, store IndexStore, be LedgerBackend, domain Domain) (*Ledger, error) {
	head, _, err := store.Head(ctx)
	if err != nil {
		return nil, err
	}
	evs, err := store.Events(ctx, EventQuery{Kinds: []EventKind{EventRECTransfer, EventRetired}})
	if err != nil {
		return nil, err
	}
	l := &Ledger{Head: head, holdings: map[common.Address]map[TokenID][]Certificate{}, retirements: map[uint64]*RetirementRecord{}}
	r := replay{l: l, be: be, domain: domain, txs: map[common.Hash]*issueTx{}, signer: types.LatestSignerForChainID(domain.ChainID)}
	for _, e := range evs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := r.apply(ctx, e); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Holdings are account's lots, by token (zone, technology, hour) and
// then oldest first.
func (l *Ledger) Holdings(account common.Address) []Certificate {
	byToken := l.holdings[account]
	tokens := make([]TokenID, 0, len(byToken))
	for t := range byToken {
		tokens = append(tokens, t)
	}
	slices.SortFunc(tokens, compareTokens)
	var out []Certificate
	for _, t := range tokens {
		out = append(out, byToken[t]...)
	}
	return out
}

// Retirement is the retirement with id; ok is false if the ledger has
// none (not retired yet, or not indexed yet).
func (l *Ledger) Retirement(id uint64) (RetirementRecord, bool) {
	r, ok := l.retirements[id]
	if !ok {
		return RetirementRecord{}, false
	}
	return *r, true
}

// Retirements are all retirements, by id.
func (l *Ledger) Retirements() []RetirementRecord {
	out := make([]RetirementRecord, 0, len(l.retiredIDs))
	for _, id := range l.retiredIDs {
		out = append(out, *l.retirements[id])
	}
	return out
}

// issueTx is a decoded REC.issue transaction.
type issueTx struct {
	batch     IssueBatch
	submitter common.Address
	attestors []common.Address
	next      int // the claim the next mint of the transaction is
	known     bool
}

type replay struct {
	l      *Ledger
	be     LedgerBackend
	domain Domain
	signer types.Signer
	txs    map[common.Hash]*issueTx
	// burn is the last burn's lots, for the Retired event after it.
	burn struct {
		tx    common.Hash
		log   uint
		certs []Certificate
	}
}

// errAmount is an amount the ledger cannot count (REC amounts are Wh of
// uint64 claims).
var errAmount = errors.New("chain: ledger: REC amount beyond 2^64 Wh")

func (r *replay) apply(ctx context.Context, e Event) error {
	if e.Amount == nil || !e.Amount.IsUint64() {
		return fmt.Errorf("%w (block %d log %d)", errAmount, e.Block, e.LogIndex)
	}
	amount := e.Amount.Uint64()
	switch e.Kind {
	case EventRECTransfer:
		var lots []Certificate
		if e.From == (common.Address{}) {
			iss, err := r.issuance(ctx, e)
			if err != nil {
				return err
			}
			r.l.Issuances = append(r.l.Issuances, iss)
			if amount == 0 {
				return nil
			}
			lots = []Certificate{{Issuance: iss, First: 0, Last: amount - 1}}
		} else {
			lots = r.take(e, amount)
		}
		if e.To == (common.Address{}) {
			r.burn.tx, r.burn.log, r.burn.certs = e.TxHash, e.LogIndex, lots
			return nil
		}
		if amount == 0 {
			return nil
		}
		m := r.l.holdings[e.To]
		if m == nil {
			m = map[TokenID][]Certificate{}
			r.l.holdings[e.To] = m
		}
		m[e.Token] = append(m[e.Token], lots...)
	case EventRetired:
		rec := &RetirementRecord{ID: e.RetirementID, Account: e.From, Token: e.Token, Wh: amount, Beneficiary: e.Beneficiary,
			Claim: e.Claim, TxHash: e.TxHash, Block: e.Block, Time: e.Time}
		// REC._retire burns (TransferSingle to 0) right before it emits
		// Retired, in the same transaction.
		if r.burn.tx == e.TxHash && r.burn.log+1 == e.LogIndex && sumWh(r.burn.certs) == amount {
			rec.Certificates = r.burn.certs
		}
		r.burn.certs = nil
		if _, dup := r.l.retirements[rec.ID]; !dup {
			r.l.retiredIDs = append(r.l.retiredIDs, rec.ID)
		}
		r.l.retirements[rec.ID] = rec
	}
	return nil
}

// take removes amount Wh of e.Token from e.From's lots, oldest first.
func (r *replay) take(e Event, amount uint64) []Certificate {
	m := r.l.holdings[e.From]
	lots := m[e.Token]
	var out []Certificate
	for amount > 0 && len(lots) > 0 {
		c := lots[0]
		if c.Wh() <= amount {
			out = append(out, c)
			amount -= c.Wh()
			lots = lots[1:]
			continue
		}
		out = append(out, Certificate{Issuance: c.Issuance, First: c.First, Last: c.First + amount - 1})
		lots[0].First += amount
		amount = 0
	}
	if amount > 0 {
		r.l.Unattributed += amount
		out = append(out, Certificate{Issuance: &Issuance{TxHash: e.TxHash, Block: e.Block, Time: e.Time, Token: e.Token, Owner: e.From, Wh: amount},
			First: 0, Last: amount - 1})
	}
	if m != nil {
		if len(lots) == 0 {
			delete(m, e.Token)
		} else {
			m[e.Token] = slices.Clip(lots)
		}
	}
	return out
}

// issuance describes the mint e, from its transaction's REC.issue call
// data when that can be read.
func (r *replay) issuance(ctx context.Context, e Event) (*Issuance, error) {
	iss := &Issuance{TxHash: e.TxHash, Block: e.Block, Time: e.Time, Token: e.Token, Owner: e.To, Wh: e.Amount.Uint64()}
	t, err := r.tx(ctx, e.TxHash)
	if err != nil {
		return nil, err
	}
	if !t.known {
		return iss, nil
	}
	// REC.issue mints the claims with energy in batch order.
	for t.next < len(t.batch.Claims) && t.batch.Claims[t.next].Wh == 0 {
		t.next++
	}
	if t.next >= len(t.batch.Claims) {
		return iss, nil
	}
	c := t.batch.Claims[t.next]
	t.next++
	if c.Owner != e.To || ClaimTokenID(c) != e.Token || c.Wh != iss.Wh {
		return iss, nil
	}
	iss.ID, iss.BatchID, iss.Device, iss.ReadingsRoot = c.StructHash(), t.batch.BatchID, c.Device, c.ReadingsRoot
	iss.Submitter, iss.Attestors, iss.Known = t.submitter, t.attestors, true
	return iss, nil
}

func (r *replay) tx(ctx context.Context, hash common.Hash) (*issueTx, error) {
	if t, ok := r.txs[hash]; ok {
		return t, nil
	}
	t := &issueTx{}
	r.txs[hash] = t
	tx, _, err := r.be.TransactionByHash(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("chain: ledger: transaction %s: %w", hash, err)
	}
	if tx.To() == nil || *tx.To() != r.domain.Contract {
		return t, nil
	}
	args, err := callArgs(recABI, "issue", tx.Data())
	if err != nil || len(args) != 2 {
		return t, nil
	}
	b, err := decodeIssueCall(tx.Data())
	if err != nil {
		return t, nil
	}
	sigs, _ := args[1].([][]byte)
	t.batch.BatchID = b.BatchId
	for _, c := range b.Claims {
		t.batch.Claims = append(t.batch.Claims, Claim{Device: c.Device, Node: c.Node, Owner: c.Owner, Zone: c.Zone, Technology: c.Technology,
			Hour: c.Hour, Wh: c.Wh, ReadingsRoot: c.ReadingsRoot})
	}
	if from, err := types.Sender(r.signer, tx); err == nil {
		t.submitter = from
	}
	digest := r.domain.Digest(t.batch.StructHash())
	for _, s := range sigs {
		if a, err := Recover(digest, s); err == nil {
			t.attestors = append(t.attestors, a)
		}
	}
	t.known = true
	return t, nil
}

func sumWh(cs []Certificate) uint64 {
	var s uint64
	for _, c := range cs {
		s += c.Wh()
	}
	return s
}

// ------------------------------------------------------------ statements

// StatementVersion is the first line of a statement's canonical text.
const StatementVersion = "gridmint retirement statement v1"

// Statement is a retirement as a statement names it: the retirement, the
// chain and contract it is on, and the certificates it retired. Its
// Digest is what `gridmint verify-retirement` recomputes from any node of
// the chain.
type Statement struct {
	ChainID *big.Int       `json:"chainId"`
	REC     common.Address `json:"rec"`
	// DeployBlock is where a verifier starts reading events.
	DeployBlock uint64 `json:"deployBlock"`
	RetirementRecord
}

// NewStatement is the statement of retirement id in l; ok is false if l
// has no such retirement.
func NewStatement(l *Ledger, id uint64, chainID *big.Int, addrs Addresses) (Statement, bool) {
	r, ok := l.Retirement(id)
	if !ok {
		return Statement{}, false
	}
	return Statement{ChainID: new(big.Int).Set(orZero(chainID)), REC: addrs.REC, DeployBlock: addrs.DeployBlock, RetirementRecord: r}, true
}

// Canonical is the statement's canonical text: one field a line, the
// certificates in order, strings quoted (Go syntax) so no text can forge
// a line. Digest hashes it.
func (s Statement) Canonical() string {
	var b strings.Builder
	line := func(k, v string) { b.WriteString(k + "=" + v + "\n") }
	b.WriteString(StatementVersion + "\n")
	line("chain_id", orZero(s.ChainID).String())
	line("rec", strings.ToLower(s.REC.Hex()))
	line("retirement_id", strconv.FormatUint(s.ID, 10))
	line("account", strings.ToLower(s.Account.Hex()))
	line("token", s.Token.Big().String())
	line("zone", strconv.Quote(s.Token.ZoneName()))
	line("technology", strconv.Itoa(int(s.Token.Technology)))
	line("hour_start", time.Unix(int64(s.Token.Hour)*3600, 0).UTC().Format(time.RFC3339))
	line("wh", strconv.FormatUint(s.Wh, 10))
	line("beneficiary", strconv.Quote(s.Beneficiary))
	line("claim", strconv.Quote(s.Claim))
	line("tx", s.TxHash.Hex())
	line("block", strconv.FormatUint(s.Block, 10))
	for _, c := range s.Certificates {
		i := c.Issuance
		line("certificate", fmt.Sprintf("%s device=%s wh=%d issued_tx=%s", c.ID(), i.Device.Hex(), c.Wh(), i.TxHash.Hex()))
	}
	return b.String()
}

// Digest is keccak256 of the canonical text.
func (s Statement) Digest() common.Hash { return crypto.Keccak256Hash([]byte(s.Canonical())) }

// Issued are the issuances of the ledger, optionally only those of one
// owner (nil: all), in chain order.
func (l *Ledger) Issued(owner *common.Address) []*Issuance {
	var out []*Issuance
	for _, i := range l.Issuances {
		if owner == nil || i.Owner == *owner {
			out = append(out, i)
		}
	}
	return out
}

// StatementBackend is what StatementFromChain reads: logs and headers
// (to index), transactions (the mints) and the chain id. *ethclient.Client
// and the embedded chain's Backend satisfy it.
type StatementBackend interface {
	IndexBackend
	LedgerBackend
	ChainID(ctx context.Context) (*big.Int, error)
}

// StatementFromChain rebuilds the statement of retirement id from the
// chain alone, read-only: it indexes the REC contract at rec from block
// from on (into memory) and replays its events. ok is false when the
// chain has no such retirement.
func StatementFromChain(ctx context.Context, be StatementBackend, rec common.Address, from, id uint64) (s Statement, ok bool, err error) {
	chainID, err := be.ChainID(ctx)
	if err != nil {
		return Statement{}, false, fmt.Errorf("chain: chain id: %w", err)
	}
	addrs := Addresses{REC: rec, DeployBlock: from}
	idx := NewMemIndex()
	if _, err := NewIndexer(be, idx, IndexerConfig{Contracts: addrs}).Sync(ctx); err != nil {
		return Statement{}, false, err
	}
	l, err := BuildLedger(ctx, idx, be, Domain{Name: DomainREC, Version: "1", ChainID: chainID, Contract: rec})
	if err != nil {
		return Statement{}, false, err
	}
	s, ok = NewStatement(l, id, chainID, addrs)
	return s, ok, nil
}
