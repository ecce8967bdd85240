package chain

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
)

// EventKind names an indexed contract event.
type EventKind string

// Indexed events.
const (
	// EventIssued: REC Issued, one per batch. Ref = batch id, From =
	// submitter, Amount = Wh, Count = claims.
	EventIssued EventKind = "issued"
	// EventRECTransfer: one id of an ERC-1155 TransferSingle or
	// TransferBatch. From = 0 for a mint, To = 0 for a burn. Amount in Wh.
	EventRECTransfer EventKind = "rec-transfer"
	// EventRetired: REC Retired. From = account, Token, Amount (Wh),
	// RetirementID, Beneficiary, Claim.
	EventRetired EventKind = "retired"
	// EventFLEXTransfer: ERC-20 Transfer. From = 0 for a mint, To = 0 for
	// a burn. Amount in FLEX base units.
	EventFLEXTransfer EventKind = "flex-transfer"
	// EventRewarded: FLEX Rewarded, one per record. Ref = record id, To =
	// provider, Amount, RewardKind, Aux = evidence.
	EventRewarded EventKind = "rewarded"
	// EventReserved: FLEX Reserved. Ref = request id, From = account,
	// Aux = awards root, Amount burned.
	EventReserved EventKind = "reserved"
	// EventSlashed: FLEX Slashed. Ref = record id, From = provider, Aux =
	// award, Amount burned.
	EventSlashed EventKind = "slashed"
)

// Event is one decoded contract event, with its place in the chain.
type Event struct {
	Kind     EventKind   `json:"kind"`
	Block    uint64      `json:"block"`
	Time     uint64      `json:"time"` // block time, Unix seconds
	TxHash   common.Hash `json:"tx"`
	LogIndex uint        `json:"logIndex"`
	// Sub orders the entries of one TransferBatch log.
	Sub int `json:"sub,omitempty"`

	From   common.Address `json:"from"`
	To     common.Address `json:"to"`
	Token  TokenID        `json:"token"`  // REC events
	Amount *big.Int       `json:"amount"` // Wh (REC) or FLEX base units
	Ref    common.Hash    `json:"ref,omitempty"`
	Aux    common.Hash    `json:"aux,omitempty"`

	Count        uint64 `json:"count,omitempty"`
	RetirementID uint64 `json:"retirementId,omitempty"`
	Beneficiary  string `json:"beneficiary,omitempty"`
	Claim        string `json:"claim,omitempty"`
	RewardKind   uint8  `json:"rewardKind,omitempty"`
}

// Involves reports whether account is the event's From or To.
func (e Event) Involves(account common.Address) bool { return e.From == account || e.To == account }

// decoder decodes logs of the gridmint contracts.
type decoder struct {
	addrs Addresses
	rec   *rec.REC
	flex  *flex.FLEX
}

func newDecoder(a Addresses) *decoder {
	return &decoder{addrs: a, rec: rec.NewREC(), flex: flex.NewFLEX()}
}

// decode turns one log into events: none for logs of other contracts or
// events not indexed (approvals, stake bookkeeping), an error for a log
// that claims to be an indexed event but does not decode.
func (d *decoder) decode(l *types.Log) ([]Event, error) {
	if len(l.Topics) == 0 {
		return nil, nil
	}
	base := Event{Block: l.BlockNumber, TxHash: l.TxHash, LogIndex: l.Index}
	topic := l.Topics[0]
	switch l.Address {
	case d.addrs.REC:
		switch topic {
		case recABI.Events["Issued"].ID:
			ev, err := d.rec.UnpackIssuedEvent(l)
			if err != nil {
				return nil, err
			}
			if ev.Wh == nil || ev.Claims == nil {
				return nil, errMalformed
			}
			e := base
			e.Kind, e.Ref, e.From, e.Amount, e.Count = EventIssued, ev.BatchId, ev.Submitter, ev.Wh, ev.Claims.Uint64()
			return []Event{e}, nil
		case recABI.Events["TransferSingle"].ID:
			ev, err := d.rec.UnpackTransferSingleEvent(l)
			if err != nil {
				return nil, err
			}
			if ev.Id == nil || ev.Value == nil {
				return nil, errMalformed
			}
			tok, err := DecodeTokenID(ev.Id)
			if err != nil {
				return nil, err
			}
			e := base
			e.Kind, e.From, e.To, e.Token, e.Amount = EventRECTransfer, ev.From, ev.To, tok, ev.Value
			return []Event{e}, nil
		case recABI.Events["TransferBatch"].ID:
			ev, err := d.rec.UnpackTransferBatchEvent(l)
			if err != nil {
				return nil, err
			}
			if len(ev.Ids) != len(ev.Values) {
				return nil, errLengths
			}
			out := make([]Event, 0, len(ev.Ids))
			for i, id := range ev.Ids {
				if ev.Values[i] == nil {
					return nil, errMalformed
				}
				tok, err := DecodeTokenID(id)
				if err != nil {
					return nil, err
				}
				e := base
				e.Kind, e.Sub, e.From, e.To, e.Token, e.Amount = EventRECTransfer, i, ev.From, ev.To, tok, ev.Values[i]
				out = append(out, e)
			}
			return out, nil
		case recABI.Events["Retired"].ID:
			ev, err := d.rec.UnpackRetiredEvent(l)
			if err != nil {
				return nil, err
			}
			if ev.Id == nil || ev.Amount == nil || ev.RetirementId == nil {
				return nil, errMalformed
			}
			tok, err := DecodeTokenID(ev.Id)
			if err != nil {
				return nil, err
			}
			e := base
			e.Kind, e.From, e.Token, e.Amount = EventRetired, ev.Account, tok, ev.Amount
			e.RetirementID, e.Beneficiary, e.Claim = ev.RetirementId.Uint64(), ev.Beneficiary, ev.Claim
			return []Event{e}, nil
		}
	case d.addrs.FLEX:
		switch topic {
		case flexABI.Events["Transfer"].ID:
			ev, err := d.flex.UnpackTransferEvent(l)
			if err != nil {
				return nil, err
			}
			if ev.Value == nil {
				return nil, errMalformed
			}
			e := base
			e.Kind, e.From, e.To, e.Amount = EventFLEXTransfer, ev.From, ev.To, ev.Value
			return []Event{e}, nil
		case flexABI.Events["Rewarded"].ID:
			ev, err := d.flex.UnpackRewardedEvent(l)
			if err != nil {
				return nil, err
			}
			if ev.Amount == nil {
				return nil, errMalformed
			}
			e := base
			e.Kind, e.Ref, e.To, e.Amount, e.RewardKind, e.Aux = EventRewarded, ev.RecordId, ev.Provider, ev.Amount, ev.Kind, ev.Evidence
			return []Event{e}, nil
		case flexABI.Events["Reserved"].ID:
			ev, err := d.flex.UnpackReservedEvent(l)
			if err != nil {
				return nil, err
			}
			if ev.Amount == nil {
				return nil, errMalformed
			}
			e := base
			e.Kind, e.Ref, e.From, e.Aux, e.Amount = EventReserved, ev.RequestId, ev.Account, ev.AwardsRoot, ev.Amount
			return []Event{e}, nil
		case flexABI.Events["Slashed"].ID:
			ev, err := d.flex.UnpackSlashedEvent(l)
			if err != nil {
				return nil, err
			}
			if ev.Amount == nil {
				return nil, errMalformed
			}
			e := base
			e.Kind, e.Ref, e.From, e.Aux, e.Amount = EventSlashed, ev.RecordId, ev.Provider, ev.Award, ev.Amount
			return []Event{e}, nil
		}
	}
	return nil, nil
}

// topics are the event signatures the indexer asks the node for.
func indexedTopics() []common.Hash {
	return []common.Hash{
		recABI.Events["Issued"].ID, recABI.Events["TransferSingle"].ID, recABI.Events["TransferBatch"].ID, recABI.Events["Retired"].ID,
		flexABI.Events["Transfer"].ID, flexABI.Events["Rewarded"].ID, flexABI.Events["Reserved"].ID, flexABI.Events["Slashed"].ID,
	}
}

type constError string

func (e constError) Error() string { return string(e) }

const (
	errLengths   = constError("chain: TransferBatch with ids and values of different lengths")
	errMalformed = constError("chain: malformed event data")
)
