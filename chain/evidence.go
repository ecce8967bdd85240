package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/chain/bindings/flex"
	"github.com/gridmint/gridmint/chain/bindings/rec"
)

// AllIntents returns every intent in the store, oldest first.
func (s *MemIntents) AllIntents(context.Context) ([]Intent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Intent, 0, len(s.m))
	for _, in := range s.m {
		out = append(out, cloneIntent(in))
	}
	sortIntents(out)
	return out, nil
}

// AllIntents returns every intent in the directory, oldest first.
func (s *FileIntents) AllIntents(context.Context) ([]Intent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("chain: list intents: %w", err)
	}
	var out []Intent
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("chain: read intent: %w", err)
		}
		var in Intent
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, fmt.Errorf("chain: intent %s: %w", e.Name(), err)
		}
		out = append(out, in)
	}
	sortIntents(out)
	return out, nil
}

// EvidenceFromIntents is the node's own evidence for Audit: the attested
// batches it submitted and saw mined (intents of kind issue and reward in
// state done), decoded from the call data it signed. Every batch and
// record is given by id (Evidence.IssueBatches, RewardRecords). When
// complete is set, the node knows every batch ever submitted (the
// embedded chain, where it is the only submitter), and the totals by
// token and of FLEX rewarded are set too, so that a mint the node never
// submitted shows as a difference.
func EvidenceFromIntents(intents []Intent, complete bool) (Evidence, error) {
	ev := Evidence{IssueBatches: map[common.Hash]*big.Int{}, RewardRecords: map[common.Hash]*big.Int{}}
	if complete {
		ev.RECIssued, ev.FLEXRewarded = map[TokenID]*big.Int{}, new(big.Int)
	}
	for _, in := range intents {
		if in.State != IntentDone {
			continue
		}
		switch in.Kind {
		case OpIssue:
			b, err := decodeIssueCall(in.Data)
			if err != nil {
				return Evidence{}, fmt.Errorf("chain: intent %s: %w", in.ID, err)
			}
			wh := new(big.Int)
			for _, cl := range b.Claims {
				wh.Add(wh, new(big.Int).SetUint64(cl.Wh))
				if complete {
					t := TokenID{Zone: cl.Zone, Technology: cl.Technology, Hour: cl.Hour}
					if ev.RECIssued[t] == nil {
						ev.RECIssued[t] = new(big.Int)
					}
					ev.RECIssued[t].Add(ev.RECIssued[t], new(big.Int).SetUint64(cl.Wh))
				}
			}
			ev.IssueBatches[b.BatchId] = wh
		case OpReward:
			b, err := decodeRewardCall(in.Data)
			if err != nil {
				return Evidence{}, fmt.Errorf("chain: intent %s: %w", in.ID, err)
			}
			for _, r := range b.Rewards {
				ev.RewardRecords[r.RecordId] = new(big.Int).Set(r.Amount)
				if complete {
					ev.FLEXRewarded.Add(ev.FLEXRewarded, r.Amount)
				}
			}
		}
	}
	return ev, nil
}

// decodeIssueCall reads the batch out of REC.issue call data.
func decodeIssueCall(data []byte) (rec.RECIssueBatch, error) {
	var b rec.RECIssueBatch
	args, err := callArgs(recABI, "issue", data)
	if err != nil {
		return b, err
	}
	return *abi.ConvertType(args[0], new(rec.RECIssueBatch)).(*rec.RECIssueBatch), nil
}

// decodeRewardCall reads the batch out of FLEX.reward call data.
func decodeRewardCall(data []byte) (flex.FLEXRewardBatch, error) {
	var b flex.FLEXRewardBatch
	args, err := callArgs(flexABI, "reward", data)
	if err != nil {
		return b, err
	}
	return *abi.ConvertType(args[0], new(flex.FLEXRewardBatch)).(*flex.FLEXRewardBatch), nil
}

func callArgs(parsed *abi.ABI, method string, data []byte) ([]any, error) {
	m, ok := parsed.Methods[method]
	if !ok {
		return nil, fmt.Errorf("no method %s in the ABI", method)
	}
	if len(data) < 4 || !bytes.Equal(data[:4], m.ID) {
		return nil, fmt.Errorf("call data is not a %s call", method)
	}
	args, err := m.Inputs.Unpack(data[4:])
	if err != nil {
		return nil, fmt.Errorf("%s call data: %w", method, err)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%s call data: no arguments", method)
	}
	return args, nil
}
