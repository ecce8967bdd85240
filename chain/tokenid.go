package chain

import (
	"fmt"
	"math/big"
	"strings"
)

// TokenID is a REC token id: (grid zone, technology, production hour). On
// chain it is the uint256 uint256(zone) | technology<<64 | hour, the zone
// right-padded (at most 23 bytes, so that the technology and hour fit below
// it). TokenID is comparable, so it keys maps.
type TokenID struct {
	Zone       [32]byte // UTF-8, right-padded with zeros
	Technology uint8    // TechnologySolarPV, ...
	Hour       uint64   // UTC Unix seconds / 3600
}

// MaxZoneLen is the longest zone name a token id holds, in bytes.
const MaxZoneLen = 23

// NewTokenID is the token id of claims of technology tech in hour, in zone.
func NewTokenID(zone string, tech uint8, hour uint64) (TokenID, error) {
	if zone == "" || len(zone) > MaxZoneLen {
		return TokenID{}, fmt.Errorf("chain: zone %q: want 1 to %d bytes", zone, MaxZoneLen)
	}
	var t TokenID
	copy(t.Zone[:], zone)
	t.Technology, t.Hour = tech, hour
	return t, nil
}

// ClaimTokenID is the token id a claim is issued as.
func ClaimTokenID(c Claim) TokenID {
	return TokenID{Zone: c.Zone, Technology: c.Technology, Hour: c.Hour}
}

// Big is the on-chain uint256 id.
func (t TokenID) Big() *big.Int {
	var w [32]byte
	copy(w[:], t.Zone[:])
	for i := 23; i < 32; i++ {
		w[i] = 0
	}
	id := new(big.Int).SetBytes(w[:])
	id.Or(id, new(big.Int).Lsh(big.NewInt(int64(t.Technology)), 64))
	return id.Or(id, new(big.Int).SetUint64(t.Hour))
}

// ZoneName is the zone without its padding.
func (t TokenID) ZoneName() string { return strings.TrimRight(string(t.Zone[:]), "\x00") }

// String is "zone/technology/hour".
func (t TokenID) String() string {
	return fmt.Sprintf("%s/%d/%d", t.ZoneName(), t.Technology, t.Hour)
}

// DecodeTokenID splits an on-chain id; ids that do not fit 256 bits or
// have no zone are an error.
func DecodeTokenID(id *big.Int) (TokenID, error) {
	if id == nil || id.Sign() < 0 || id.BitLen() > 256 {
		return TokenID{}, fmt.Errorf("chain: token id %v out of range", id)
	}
	var w [32]byte
	id.FillBytes(w[:])
	var t TokenID
	copy(t.Zone[:MaxZoneLen], w[:MaxZoneLen])
	if t.Zone == ([32]byte{}) {
		return TokenID{}, fmt.Errorf("chain: token id %v has no zone", id)
	}
	t.Technology = w[23]
	for _, b := range w[24:] {
		t.Hour = t.Hour<<8 | uint64(b)
	}
	return t, nil
}
