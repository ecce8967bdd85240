package p2p

import (
	"errors"
	"fmt"
	"math"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"google.golang.org/protobuf/encoding/protowire"
)

// RECClaim is one device-hour's certificate claim with all its evidence
// (gridmint.Claim: counters, carry, five-minute profile, quality, the
// readings' Merkle root, nameplate, coarse location), as the claiming
// node gossips it on TopicClaims for every peer to check with package
// rec's rules. MeterClaim (the chain's subset) is what the contract
// issues; this is what attestors need to decide.
//
// The author must be the claim's Node (checked with the signature,
// ReasonNotClaimant), and the claim must be signed after its hour ended
// (ReasonInvalidBody): a node names only its own devices, and nobody
// claims an hour in advance. Nameplate travels in whole watts.
//
// Wire (canonical protobuf, as the other bodies):
//
//	message RECClaim {
//	  bytes device = 1; bytes node = 2; bytes owner = 3; string zone = 4;
//	  uint32 technology = 5; uint64 hour = 6; uint64 wh = 7;
//	  uint64 counter_start_mwh = 8; uint64 counter_end_mwh = 9;
//	  uint64 carry_in_mwh = 10;
//	  bytes profile = 11;      // 12 varints (mWh), packed; always present
//	  string quality = 12; uint64 readings = 13; bytes readings_root = 14;
//	  uint64 nameplate_w = 15;
//	  sint32 lat_tenths = 16; sint32 lon_tenths = 17;
//	}
type RECClaim gridmint.Claim

// RECClaimType is the EIP-712 type string of a claim envelope.
const RECClaimType = "RECClaim(bytes32 device,address node,address owner,string zone,uint8 technology,uint64 hour,uint64 wh," +
	"uint64 counterStart,uint64 counterEnd,uint64 carryIn,uint64[12] profile,string quality,uint64 readings,bytes32 readingsRoot," +
	"uint64 nameplate,int16 latTenths,int16 lonTenths,uint64 created)"

var recClaimTypeHash = ethcrypto.Keccak256Hash([]byte(RECClaimType))

var recClaimFields = []protowire.Type{lenDelim, lenDelim, lenDelim, lenDelim, varint, varint, varint, varint, varint, varint,
	lenDelim, lenDelim, varint, lenDelim, varint, varint, varint}

// ReasonNotClaimant: a claim whose author is not the node it names. An
// honest peer never forwards one (the bytes prove it), so it is rejected.
const ReasonNotClaimant Reason = "not_claimant"

// Kind implements Body.
func (RECClaim) Kind() Kind { return KindRECClaim }

// Validate checks the claim on its own (gridmint.Claim.Validate) and that
// its nameplate is the whole watts the wire carries.
func (c RECClaim) Validate() error {
	if err := gridmint.Claim(c).Validate(); err != nil {
		return err
	}
	_, err := wholeWatts(c.Nameplate)
	return err
}

func (c RECClaim) appendBody(dst []byte) []byte {
	np, _ := wholeWatts(c.Nameplate)
	w := writer(dst)
	w.bytes(1, c.Device[:])
	w.bytes(2, c.Node[:])
	w.bytes(3, c.Owner[:])
	w.string(4, c.Zone)
	w.uint(5, uint64(c.Technology))
	w.uint(6, uint64(c.Hour))
	w.uint(7, uint64(c.Wh))
	w.uint(8, uint64(c.CounterStart))
	w.uint(9, uint64(c.CounterEnd))
	w.uint(10, uint64(c.CarryIn))
	var prof []byte
	for _, e := range c.Profile {
		prof = protowire.AppendVarint(prof, uint64(e))
	}
	w.bytes(11, prof)
	w.string(12, string(c.Quality))
	w.uint(13, uint64(c.Readings))
	w.bytes(14, c.ReadingsRoot[:])
	w.uint(15, np)
	w.uint(16, protowire.EncodeZigZag(int64(c.Location.LatTenths)))
	w.uint(17, protowire.EncodeZigZag(int64(c.Location.LonTenths)))
	return w
}

// DecodeRECClaimBody parses a claim body (the envelope's field 5). It is
// what the envelope decoder calls; exported for the claim service's fuzz
// target.
func DecodeRECClaimBody(in []byte) (RECClaim, error) {
	b, err := decodeRECClaim(in)
	if err != nil {
		return RECClaim{}, err
	}
	return b.(RECClaim), nil
}

func decodeRECClaim(in []byte) (Body, error) {
	f, err := parse(in, recClaimFields)
	if err != nil {
		return nil, err
	}
	var c RECClaim
	var errs [15]error
	var dev, root common.Hash
	dev, errs[0] = f.hash(1, "device")
	var node, owner common.Address
	node, errs[1] = f.address(2, "node")
	owner, errs[2] = f.address(3, "owner")
	c.Device, c.Node, c.Owner = gridmint.DeviceKey(dev), gridmint.Address(node), gridmint.Address(owner)
	c.Zone, errs[3] = f.str(4, "zone")
	var tech, x uint64
	tech, errs[4] = f.small(5, math.MaxUint8, "technology")
	c.Technology = gridmint.Technology(tech)
	x, errs[5] = f.small(6, math.MaxInt64, "hour")
	c.Hour = gridmint.Hour(x)
	x, errs[6] = f.small(7, math.MaxInt64, "wh")
	c.Wh = gridmint.Wh(x)
	x, errs[7] = f.small(8, math.MaxInt64, "counter start")
	c.CounterStart = gridmint.MWh(x)
	x, errs[8] = f.small(9, math.MaxInt64, "counter end")
	c.CounterEnd = gridmint.MWh(x)
	x, errs[9] = f.small(10, math.MaxInt64, "carry in")
	c.CarryIn = gridmint.MWh(x)
	errs[10] = decodeProfile(f.b[10], &c.Profile)
	var q string
	q, errs[11] = f.str(12, "quality")
	c.Quality = gridmint.Quality(q)
	x, errs[12] = f.small(13, math.MaxInt32, "readings")
	c.Readings = int(x)
	root, errs[13] = f.hash(14, "readings root")
	c.ReadingsRoot = gridmint.Hash(root)
	x, errs[14] = f.small(15, maxWatts, "nameplate")
	c.Nameplate = gridmint.W(x)
	lat, lon := protowire.DecodeZigZag(f.u[15]), protowire.DecodeZigZag(f.u[16])
	if lat < math.MinInt16 || lat > math.MaxInt16 || lon < math.MinInt16 || lon > math.MaxInt16 {
		return nil, fmt.Errorf("location %d,%d tenths: out of range", lat, lon)
	}
	c.Location = gridmint.CoarseLocation{LatTenths: int16(lat), LonTenths: int16(lon)}
	return c, errors.Join(errs[:]...)
}

// decodeProfile reads exactly gridmint.SubIntervals packed varints.
func decodeProfile(in []byte, p *gridmint.Profile) error {
	for i := range p {
		x, n := protowire.ConsumeVarint(in)
		if n < 0 {
			return fmt.Errorf("profile[%d]: %w", i, protowire.ParseError(n))
		}
		if x > math.MaxInt64 {
			return fmt.Errorf("profile[%d]: %d out of range", i, x)
		}
		p[i], in = gridmint.MWh(x), in[n:]
	}
	if len(in) != 0 {
		return fmt.Errorf("profile: %d bytes after %d values", len(in), gridmint.SubIntervals)
	}
	return nil
}

func (c RECClaim) structHash(created uint64) common.Hash {
	np, _ := wholeWatts(c.Nameplate)
	prof := make([]byte, 0, 32*gridmint.SubIntervals)
	for _, e := range c.Profile {
		prof = append(prof, uintWord(uint64(e))...)
	}
	return ethcrypto.Keccak256Hash(
		recClaimTypeHash.Bytes(),
		c.Device[:],
		common.LeftPadBytes(c.Node[:], 32),
		common.LeftPadBytes(c.Owner[:], 32),
		keccakString(c.Zone),
		uintWord(uint64(c.Technology)),
		uintWord(uint64(c.Hour)),
		uintWord(uint64(c.Wh)),
		uintWord(uint64(c.CounterStart)),
		uintWord(uint64(c.CounterEnd)),
		uintWord(uint64(c.CarryIn)),
		ethcrypto.Keccak256(prof),
		keccakString(string(c.Quality)),
		uintWord(uint64(c.Readings)),
		c.ReadingsRoot[:],
		uintWord(np),
		intWord(int64(c.Location.LatTenths)),
		intWord(int64(c.Location.LonTenths)),
		uintWord(created),
	)
}

// intWord is x as a two's-complement 256-bit word (EIP-712 intN).
func intWord(x int64) []byte {
	w := make([]byte, 32)
	if x < 0 {
		for i := range w {
			w[i] = 0xff
		}
	}
	u := uint64(x)
	for i := 0; i < 8; i++ {
		w[31-i] = byte(u >> (8 * i))
	}
	return w
}

// claimRule: a claim's author is the node it names, and the claim was
// signed after its hour ended. Runs after the signature check, so the
// author is proven.
func claimRule(m Message) (Reason, error) {
	c, ok := m.Body.(RECClaim)
	if !ok {
		return "", nil
	}
	if common.Address(c.Node) != m.Author {
		return ReasonNotClaimant, fmt.Errorf("claim names node %s, signed by %s", c.Node, m.Author)
	}
	if m.Created.Before(c.Hour.End()) {
		return ReasonInvalidBody, fmt.Errorf("claim for the hour %s signed at %v, before the hour ended", c.Hour, m.Created)
	}
	return "", nil
}
