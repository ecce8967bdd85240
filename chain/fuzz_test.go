package chain

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Revert data comes from whatever node we talk to: decoding never panics,
// and known errors round-trip.
func FuzzDecodeRevert(f *testing.F) {
	for _, name := range []string{"HourAlreadyIssued", "BelowThreshold", "ERC1155InsufficientBalance"} {
		e := recABI.Errors[name]
		f.Add(e.ID[:4])
	}
	f.Add([]byte{0x08, 0xc3, 0x79, 0xa0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := DecodeRevert(data)
		if r == nil {
			t.Fatal("nil")
		}
		_ = r.Error()
	})
}

// Logs come from the node too: any topics and data decode to events or
// an error, never a panic, and decoded amounts are never nil.
func FuzzDecodeLog(f *testing.F) {
	a := Addresses{REC: common.HexToAddress("0x01"), FLEX: common.HexToAddress("0x02")}
	for i, topic := range indexedTopics() {
		f.Add(uint8(i), topic.Bytes(), []byte{}, 3)
		f.Add(uint8(i), topic.Bytes(), make([]byte, 96), 4)
	}
	f.Fuzz(func(t *testing.T, which uint8, topic0, data []byte, ntopics int) {
		if len(topic0) != 32 || ntopics < 0 || ntopics > 5 {
			return
		}
		l := &types.Log{Address: a.REC, Topics: []common.Hash{common.BytesToHash(topic0)}, Data: data}
		if which%2 == 1 {
			l.Address = a.FLEX
		}
		for i := 1; i < ntopics; i++ {
			l.Topics = append(l.Topics, common.BigToHash(big.NewInt(int64(i))))
		}
		evs, err := newDecoder(a).decode(l)
		if err != nil {
			return
		}
		for _, e := range evs {
			if e.Amount == nil {
				t.Fatalf("event %s without amount", e.Kind)
			}
		}
	})
}

func FuzzTokenID(f *testing.F) {
	f.Add([]byte("DE-LU"), uint8(1), uint64(494000))
	f.Add([]byte("10Y1001A1001A82H"), uint8(255), ^uint64(0))
	f.Fuzz(func(t *testing.T, zone []byte, tech uint8, hour uint64) {
		id, err := NewTokenID(string(zone), tech, hour)
		if err != nil {
			return
		}
		got, err := DecodeTokenID(id.Big())
		if zeroZone := id.Zone == ([32]byte{}); zeroZone {
			return
		}
		if err != nil || got != id {
			t.Fatalf("round trip %v -> %v (%v)", id, got, err)
		}
	})
}

func TestTokenIDLayout(t *testing.T) {
	for _, tc := range []struct {
		zone string
		tech uint8
		hour uint64
		want string // hex of the uint256: zone bytes, technology byte, 8 hour bytes
	}{
		{"DE-LU", 1, 494000, "0x44452d4c550000000000000000000000000000000000000100000000000789b0"},
		{"10Y1001A1001A82H", 2, 1, "0x3130593130303141313030314138324800000000000000020000000000000001"},
	} {
		id, err := NewTokenID(tc.zone, tc.tech, tc.hour)
		if err != nil {
			t.Fatal(err)
		}
		if got := "0x" + common.Bytes2Hex(common.LeftPadBytes(id.Big().Bytes(), 32)); got != tc.want {
			t.Errorf("%s/%d/%d = %s, want %s", tc.zone, tc.tech, tc.hour, got, tc.want)
		}
	}
	if _, err := NewTokenID("ABCDEFGHIJKLMNOPQRSTUVWX", 1, 1); err == nil {
		t.Error("24-byte zone accepted")
	}
}
