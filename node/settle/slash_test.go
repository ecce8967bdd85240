package settle

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/node/p2p"
)

// TestSlashBatch: a slash is a batch of its own kind, known by its record
// id, attested as SubjectSlash, whose provider's signature never counts;
// one the contract would refuse is refused before any signature.
func TestSlashBatch(t *testing.T) {
	s := chain.Slash{RecordID: common.Hash{1}, Provider: Addr(2), Award: common.Hash{3}, AwardPrice: big.NewInt(10), WindowValue: big.NewInt(40),
		Amount: big.NewInt(5), Evidence: common.Hash{4}}
	b, err := FLEXSlash(s)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID() != s.RecordID || b.Items() != 1 || b.structHash() != s.StructHash() || b.Kind.subjectKind() != p2p.SubjectSlash {
		t.Errorf("batch %+v: id %s items %d", b, b.ID(), b.Items())
	}
	if k, ok := kindOfSubject(p2p.SubjectSlash); !ok || k != KindFLEXSlash {
		t.Errorf("subject %d is kind %q", p2p.SubjectSlash, k)
	}
	if quorum(b.Exclusions, []common.Address{Addr(0), Addr(2)}, 2) || !quorum(b.Exclusions, []common.Address{Addr(0), Addr(1)}, 2) {
		t.Error("the provider's own signature counts for its slash")
	}
	for name, f := range map[string]func(*chain.Slash){
		"no record":            func(s *chain.Slash) { s.RecordID = common.Hash{} },
		"no provider":          func(s *chain.Slash) { s.Provider = common.Address{} },
		"no award":             func(s *chain.Slash) { s.Award = common.Hash{} },
		"zero amount":          func(s *chain.Slash) { s.Amount = new(big.Int) },
		"award above window":   func(s *chain.Slash) { s.AwardPrice = big.NewInt(41) },
		"no window value":      func(s *chain.Slash) { s.WindowValue = nil },
		"negative award price": func(s *chain.Slash) { s.AwardPrice = big.NewInt(-1) },
	} {
		bad := s
		f(&bad)
		if _, err := FLEXSlash(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := (Batch{Kind: KindFLEXSlash, Slash: &s, Reward: &chain.RewardBatch{}}).Validate(); err == nil {
		t.Error("a slash batch with a reward accepted")
	}
}
