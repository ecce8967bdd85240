package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"
	"unicode/utf8"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"google.golang.org/protobuf/encoding/protowire"
)

// Wire format: protobuf (proto3) written by hand with protowire, in its
// canonical form: fields in ascending number order, each at most once,
// zero values (0, empty bytes or string) omitted, varints minimal, no
// unknown fields. Any deterministic proto3 encoder produces these bytes
// from the schema below, and the decoder accepts nothing else: it parses
// strictly, re-encodes what it parsed and compares the bytes, so one
// message has exactly one encoding and its ID cannot be malleated.
//
//	message Envelope {
//	  uint32 version = 1;   // 1
//	  uint32 kind = 2;      // Kind
//	  bytes author = 3;     // 20-byte address
//	  uint64 created = 4;   // Unix milliseconds
//	  bytes body = 5;       // one of the bodies below, by kind
//	  bytes signature = 6;  // 65 bytes r‖s‖v over the EIP-712 digest
//	}
//	message Offer {
//	  bytes device = 1; // 32-byte device key, never the device id
//	  string zone = 2; uint64 window_start = 3; // Unix s
//	  uint64 window_end = 4; uint64 watts = 5; string direction = 6;
//	  uint64 floor_price = 7; // MicroFLEX per kWh
//	  string baseline = 8; uint64 expiry = 9;
//	}
//	message Request {
//	  string zone = 1; uint64 window_start = 2; uint64 window_end = 3;
//	  uint64 watts = 4; string direction = 5; uint64 max_price = 6;
//	  uint64 gate_closure = 7;
//	}
//	message MeterClaim {
//	  bytes device = 1; bytes owner = 2; bytes zone = 3; uint32 technology = 4;
//	  uint64 hour = 5; uint64 wh = 6; bytes readings_root = 7; bytes node = 8;
//	}
//	message Attestation {
//	  bytes subject = 1; uint32 subject_kind = 2; uint32 verdict = 3;
//	  uint32 reason = 4; bytes signature = 5;
//	}
//	message Award {
//	  bytes request_id = 1; bytes offer_id = 2; bytes provider = 3;
//	  uint64 window_start = 4; uint64 window_end = 5; uint64 watts = 6;
//	  bytes price = 7; // big-endian, no leading zero byte
//	}
//	message CatchUpRequest {
//	  string topic = 1; uint64 from = 2; uint64 to = 3; // Unix ms, to 0 = open
//	  bytes after = 4;  // 32-byte cursor ID
//	  uint64 limit = 5;
//	}
//	message CatchUpHint { // field number = Kind; Unix ms, 0 = no hint
//	  uint64 offers = 1; uint64 requests = 2; uint64 meter = 3;
//	  uint64 attestations = 4; uint64 awards = 5; uint64 claims = 6;
//	  uint64 roots = 7; uint64 schedules = 8; uint64 exemptions = 9;
//	}
//	message RECClaim: see claim.go

// errNonCanonical is returned for input that parses but is not the
// canonical encoding of what it parses to.
var errNonCanonical = errors.New("not in canonical encoding")

const (
	varint   = protowire.VarintType
	lenDelim = protowire.BytesType
)

// Field wire types per message, indexed by field number - 1.
var (
	envelopeFields    = []protowire.Type{varint, varint, lenDelim, varint, lenDelim, lenDelim}
	offerFields       = []protowire.Type{lenDelim, lenDelim, varint, varint, varint, lenDelim, varint, lenDelim, varint}
	requestFields     = []protowire.Type{lenDelim, varint, varint, varint, lenDelim, varint, varint}
	meterFields       = []protowire.Type{lenDelim, lenDelim, lenDelim, varint, varint, varint, lenDelim, lenDelim}
	attestationFields = []protowire.Type{lenDelim, varint, varint, varint, lenDelim}
	awardFields       = []protowire.Type{lenDelim, lenDelim, lenDelim, varint, varint, varint, lenDelim}
	catchUpFields     = []protowire.Type{lenDelim, varint, varint, lenDelim, varint}
	hintFields        = []protowire.Type{varint, varint, varint, varint, varint, varint, varint, varint, varint}
)

// writer appends fields, leaving out zero values.
type writer []byte

func (w *writer) uint(n protowire.Number, x uint64) {
	if x != 0 {
		*w = protowire.AppendVarint(protowire.AppendTag(*w, n, varint), x)
	}
}

func (w *writer) bytes(n protowire.Number, x []byte) {
	if len(x) != 0 {
		*w = protowire.AppendBytes(protowire.AppendTag(*w, n, lenDelim), x)
	}
}

func (w *writer) string(n protowire.Number, s string) {
	if s != "" {
		*w = protowire.AppendString(protowire.AppendTag(*w, n, lenDelim), s)
	}
}

// fields holds one parsed message: varints and byte slices (aliasing the
// input) by field number; absent fields are zero.
type fields struct {
	u [17]uint64
	b [17][]byte
}

// parse reads a message whose field n has wire type types[n-1]. Unknown
// numbers, wrong wire types, repeated or out-of-order fields are errors.
func parse(in []byte, types []protowire.Type) (*fields, error) {
	f := new(fields)
	last := protowire.Number(0)
	for len(in) > 0 {
		num, typ, n := protowire.ConsumeTag(in)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		in = in[n:]
		if num <= last || int(num) > len(types) {
			return nil, fmt.Errorf("field %d unknown, repeated or out of order", num)
		}
		if typ != types[num-1] {
			return nil, fmt.Errorf("field %d: wire type %d, want %d", num, typ, types[num-1])
		}
		last = num
		switch typ {
		case varint:
			x, n := protowire.ConsumeVarint(in)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			f.u[num-1], in = x, in[n:]
		case lenDelim:
			x, n := protowire.ConsumeBytes(in)
			if n < 0 {
				return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			f.b[num-1], in = x, in[n:]
		}
	}
	return f, nil
}

// fixed returns field n as exactly size bytes.
func (f *fields) fixed(n int, size int, name string) ([]byte, error) {
	x := f.b[n-1]
	if len(x) != size {
		return nil, fmt.Errorf("%s: %d bytes, want %d", name, len(x), size)
	}
	return x, nil
}

func (f *fields) hash(n int, name string) (common.Hash, error) {
	x, err := f.fixed(n, 32, name)
	return common.BytesToHash(x), err
}

func (f *fields) address(n int, name string) (common.Address, error) {
	x, err := f.fixed(n, 20, name)
	return common.BytesToAddress(x), err
}

func (f *fields) str(n int, name string) (string, error) {
	x := f.b[n-1]
	if !utf8.Valid(x) {
		return "", fmt.Errorf("%s: not UTF-8", name)
	}
	return string(x), nil
}

// small returns varint field n, which must fit in max.
func (f *fields) small(n int, max uint64, name string) (uint64, error) {
	if x := f.u[n-1]; x <= max {
		return x, nil
	}
	return 0, fmt.Errorf("%s: %d exceeds %d", name, f.u[n-1], max)
}

func (f *fields) seconds(n int, name string) (time.Time, error) {
	s, err := f.small(n, math.MaxInt64, name)
	return time.Unix(int64(s), 0).UTC(), err
}

func (f *fields) watts(n int) (gridmint.W, error) {
	w, err := f.small(n, maxWatts, "watts")
	return gridmint.W(w), err
}

// encodeEnvelope is the canonical encoding of m (Raw is ignored).
func encodeEnvelope(m Message) []byte {
	body := m.Body.appendBody(nil)
	w := make(writer, 0, 2+2+22+1+10+3+len(body)+2+len(m.Signature))
	w.uint(1, Version)
	w.uint(2, uint64(m.Kind))
	w.bytes(3, m.Author.Bytes())
	w.uint(4, uint64(m.Created.UnixMilli()))
	w.bytes(5, body)
	w.bytes(6, m.Signature)
	return w
}

// errVersion and errKind let the validator tell a version or kind
// mismatch from garbage.
var (
	errVersion = errors.New("unsupported envelope version")
	errKind    = errors.New("unknown kind")
)

// decodeEnvelope parses a canonical envelope and computes its ID with s.
// It does not verify the signature or validate the body; Raw aliases raw.
func decodeEnvelope(raw []byte, s signer) (Message, error) {
	f, err := parse(raw, envelopeFields)
	if err != nil {
		return Message{}, fmt.Errorf("envelope: %w", err)
	}
	if f.u[0] != Version {
		return Message{}, fmt.Errorf("envelope: version %d: %w", f.u[0], errVersion)
	}
	var m Message
	m.Kind = Kind(min(f.u[1], 255))
	if m.Kind.Topic() == "" || uint64(m.Kind) != f.u[1] {
		return Message{}, fmt.Errorf("envelope: kind %d: %w", f.u[1], errKind)
	}
	if m.Author, err = f.address(3, "author"); err != nil {
		return Message{}, fmt.Errorf("envelope: %w", err)
	}
	created, err := f.small(4, math.MaxInt64, "created")
	if err != nil || created == 0 {
		return Message{}, fmt.Errorf("envelope: created %d out of range", f.u[3])
	}
	m.Created = time.UnixMilli(int64(created)).UTC()
	if m.Body, err = decodeBody(m.Kind, f.b[4]); err != nil {
		return Message{}, fmt.Errorf("envelope: %v body: %w", m.Kind, err)
	}
	if m.Signature, err = f.fixed(6, 65, "signature"); err != nil {
		return Message{}, fmt.Errorf("envelope: %w", err)
	}
	if !bytes.Equal(encodeEnvelope(m), raw) {
		return Message{}, fmt.Errorf("envelope: %w", errNonCanonical)
	}
	m.ID = s.digest(m.Body.structHash(created))
	m.Raw = raw
	return m, nil
}

func decodeBody(k Kind, in []byte) (Body, error) {
	switch k {
	case KindOffer:
		return decodeOffer(in)
	case KindRequest:
		return decodeRequest(in)
	case KindMeter:
		return decodeMeterBody(in) // MeterClaim or IntervalEnergy (interval.go)
	case KindAttestation:
		return decodeAttestation(in)
	case KindAward:
		return decodeAward(in)
	case KindRECClaim:
		return decodeRECClaim(in)
	case KindAwardsRoot:
		return decodeAwardsRoot(in)
	case KindSchedule:
		return decodeSchedule(in)
	case KindExemption:
		return decodeExemption(in)
	}
	return nil, errKind
}

// appendBody of each kind: the field order here is the schema's.

func (o Offer) appendBody(dst []byte) []byte {
	ws, _ := unixSeconds(o.WindowStart)
	we, _ := unixSeconds(o.WindowEnd)
	ex, _ := unixSeconds(o.Expiry)
	watts, _ := wholeWatts(o.Power)
	w := writer(dst)
	w.bytes(1, o.Device[:])
	w.string(2, o.Zone)
	w.uint(3, ws)
	w.uint(4, we)
	w.uint(5, watts)
	w.string(6, string(o.Direction))
	w.uint(7, uint64(o.FloorPrice))
	w.string(8, string(o.Baseline))
	w.uint(9, ex)
	return w
}

func decodeOffer(in []byte) (Body, error) {
	f, err := parse(in, offerFields)
	if err != nil {
		return nil, err
	}
	var o Offer
	var errs [9]error
	var dir, base string
	var price uint64
	var dev common.Hash
	dev, errs[0] = f.hash(1, "device")
	o.Zone, errs[1] = f.str(2, "zone")
	o.WindowStart, errs[2] = f.seconds(3, "window start")
	o.WindowEnd, errs[3] = f.seconds(4, "window end")
	o.Power, errs[4] = f.watts(5)
	dir, errs[5] = f.str(6, "direction")
	price, errs[6] = f.small(7, math.MaxInt64, "floor price")
	base, errs[7] = f.str(8, "baseline")
	o.Expiry, errs[8] = f.seconds(9, "expiry")
	o.Device, o.Direction, o.Baseline, o.FloorPrice = gridmint.DeviceKey(dev), gridmint.Direction(dir), gridmint.BaselineMethod(base), gridmint.MicroFLEX(price)
	return o, errors.Join(errs[:]...)
}

func (r Request) appendBody(dst []byte) []byte {
	ws, _ := unixSeconds(r.WindowStart)
	we, _ := unixSeconds(r.WindowEnd)
	gc, _ := unixSeconds(r.GateClosure)
	watts, _ := wholeWatts(r.Power)
	w := writer(dst)
	w.string(1, r.Zone)
	w.uint(2, ws)
	w.uint(3, we)
	w.uint(4, watts)
	w.string(5, string(r.Direction))
	w.uint(6, uint64(r.MaxPrice))
	w.uint(7, gc)
	return w
}

func decodeRequest(in []byte) (Body, error) {
	f, err := parse(in, requestFields)
	if err != nil {
		return nil, err
	}
	var r Request
	var errs [7]error
	r.Zone, errs[0] = f.str(1, "zone")
	r.WindowStart, errs[1] = f.seconds(2, "window start")
	r.WindowEnd, errs[2] = f.seconds(3, "window end")
	r.Power, errs[3] = f.watts(4)
	var dir string
	dir, errs[4] = f.str(5, "direction")
	var price uint64
	price, errs[5] = f.small(6, math.MaxInt64, "max price")
	r.GateClosure, errs[6] = f.seconds(7, "gate closure")
	r.Direction, r.MaxPrice = gridmint.Direction(dir), gridmint.MicroFLEX(price)
	return r, errors.Join(errs[:]...)
}

func (c MeterClaim) appendBody(dst []byte) []byte {
	w := writer(dst)
	w.bytes(1, c.Device.Bytes())
	w.bytes(2, c.Owner.Bytes())
	w.bytes(3, c.Zone[:])
	w.uint(4, uint64(c.Technology))
	w.uint(5, c.Hour)
	w.uint(6, c.Wh)
	w.bytes(7, c.ReadingsRoot.Bytes())
	w.bytes(8, c.Node.Bytes())
	return w
}

func decodeMeter(in []byte) (Body, error) {
	f, err := parse(in, meterFields)
	if err != nil {
		return nil, err
	}
	var c MeterClaim
	var errs [6]error
	c.Device, errs[0] = f.hash(1, "device")
	c.Owner, errs[1] = f.address(2, "owner")
	var zone common.Hash
	zone, errs[2] = f.hash(3, "zone")
	c.Zone = zone
	var tech uint64
	tech, errs[3] = f.small(4, math.MaxUint8, "technology")
	c.Technology = uint8(tech)
	c.Hour, c.Wh = f.u[4], f.u[5]
	c.ReadingsRoot, errs[4] = f.hash(7, "readings root")
	c.Node, errs[5] = f.address(8, "node")
	return c, errors.Join(errs[:]...)
}

func (a Attestation) appendBody(dst []byte) []byte {
	w := writer(dst)
	w.bytes(1, a.Subject.Bytes())
	w.uint(2, uint64(a.SubjectKind))
	w.uint(3, uint64(a.Verdict))
	w.uint(4, uint64(a.Reason))
	w.bytes(5, a.ChainSignature)
	return w
}

func decodeAttestation(in []byte) (Body, error) {
	f, err := parse(in, attestationFields)
	if err != nil {
		return nil, err
	}
	var a Attestation
	var errs [4]error
	a.Subject, errs[0] = f.hash(1, "subject")
	var sk, vd, rs uint64
	sk, errs[1] = f.small(2, math.MaxUint8, "subject kind")
	vd, errs[2] = f.small(3, math.MaxUint8, "verdict")
	rs, errs[3] = f.small(4, math.MaxUint8, "reason")
	a.SubjectKind, a.Verdict, a.Reason = SubjectKind(sk), Verdict(vd), RejectReason(rs)
	if sig := f.b[4]; len(sig) > 0 {
		a.ChainSignature = sig
	}
	return a, errors.Join(errs[:]...)
}

func (a AwardNotice) appendBody(dst []byte) []byte {
	w := writer(dst)
	w.bytes(1, a.RequestID.Bytes())
	w.bytes(2, a.OfferID.Bytes())
	w.bytes(3, a.Provider.Bytes())
	w.uint(4, a.WindowStart)
	w.uint(5, a.WindowEnd)
	w.uint(6, a.Watts)
	if a.Price != nil {
		w.bytes(7, a.Price.Bytes())
	}
	return w
}

func decodeAward(in []byte) (Body, error) {
	f, err := parse(in, awardFields)
	if err != nil {
		return nil, err
	}
	var a AwardNotice
	var errs [4]error
	a.RequestID, errs[0] = f.hash(1, "request id")
	a.OfferID, errs[1] = f.hash(2, "offer id")
	a.Provider, errs[2] = f.address(3, "provider")
	a.WindowStart, a.WindowEnd, a.Watts = f.u[3], f.u[4], f.u[5]
	if p := f.b[6]; len(p) > 32 {
		errs[3] = fmt.Errorf("price: %d bytes, over uint256", len(p))
	}
	a.Price = new(big.Int).SetBytes(f.b[6])
	return a, errors.Join(errs[:]...)
}

// CatchUpRequest asks a peer for the stored messages of one topic whose
// (Created, ID) comes after (From, After), created before To (zero: no
// bound), at most Limit of them, in that order.
type CatchUpRequest struct {
	Topic string
	From  time.Time // millisecond resolution
	To    time.Time
	After common.Hash
	Limit uint64
}

// maxCatchUpRequest bounds a request's encoding: the longest topic name is
// 25 bytes, so anything longer is not a request.
const maxCatchUpRequest = 128

func encodeCatchUpRequest(r CatchUpRequest) []byte {
	var w writer
	w.string(1, r.Topic)
	w.uint(2, msOf(r.From))
	w.uint(3, msOf(r.To))
	if r.After != (common.Hash{}) {
		w.bytes(4, r.After.Bytes())
	}
	w.uint(5, r.Limit)
	return w
}

// msOf is t in Unix milliseconds, 0 for the zero time or pre-1970.
func msOf(t time.Time) uint64 {
	if t.IsZero() || t.UnixMilli() <= 0 {
		return 0
	}
	return uint64(t.UnixMilli())
}

func timeOfMS(ms uint64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// decodeCatchUpRequest parses a canonical request. It checks the encoding
// only; the server checks topic and limit against its bounds.
func decodeCatchUpRequest(raw []byte) (CatchUpRequest, error) {
	if len(raw) > maxCatchUpRequest {
		return CatchUpRequest{}, fmt.Errorf("catch-up request of %d bytes, over %d", len(raw), maxCatchUpRequest)
	}
	f, err := parse(raw, catchUpFields)
	if err != nil {
		return CatchUpRequest{}, fmt.Errorf("catch-up request: %w", err)
	}
	var r CatchUpRequest
	var errs [4]error
	r.Topic, errs[0] = f.str(1, "topic")
	var from, to uint64
	from, errs[1] = f.small(2, math.MaxInt64, "from")
	to, errs[2] = f.small(3, math.MaxInt64, "to")
	r.From, r.To = timeOfMS(from), timeOfMS(to)
	if a := f.b[3]; len(a) > 0 {
		r.After, errs[3] = f.hash(4, "after")
	}
	r.Limit = f.u[4]
	if err := errors.Join(errs[:]...); err != nil {
		return CatchUpRequest{}, fmt.Errorf("catch-up request: %w", err)
	}
	if !bytes.Equal(encodeCatchUpRequest(r), raw) {
		return CatchUpRequest{}, fmt.Errorf("catch-up request: %w", errNonCanonical)
	}
	return r, nil
}

// hintKinds is the number of kinds a CatchUpHint has a time for.
const hintKinds = int(KindExemption)

// CatchUpHint tells a peer that this node has just accepted, by catch-up,
// messages it did not have before, and from when the peer should catch
// up from this node to get them too: Since[k-1] is kind k's time, zero
// for a kind with nothing new. At least one time is set.
type CatchUpHint struct {
	Since [hintKinds]time.Time // millisecond resolution
}

// maxCatchUpHint bounds a hint's encoding: nine fields of a one-byte tag
// and a varint of at most 10 bytes are 99 bytes.
const maxCatchUpHint = 99

func encodeCatchUpHint(h CatchUpHint) []byte {
	var w writer
	for i, t := range h.Since {
		w.uint(protowire.Number(i+1), msOf(t))
	}
	return w
}

// decodeCatchUpHint parses a canonical, non-empty hint. It checks the
// encoding only; the receiver checks the times against its clock.
func decodeCatchUpHint(raw []byte) (CatchUpHint, error) {
	if len(raw) > maxCatchUpHint {
		return CatchUpHint{}, fmt.Errorf("catch-up hint of %d bytes, over %d", len(raw), maxCatchUpHint)
	}
	f, err := parse(raw, hintFields)
	if err != nil {
		return CatchUpHint{}, fmt.Errorf("catch-up hint: %w", err)
	}
	var h CatchUpHint
	var errs [hintKinds]error
	empty := true
	for i := range h.Since {
		var ms uint64
		ms, errs[i] = f.small(i+1, math.MaxInt64, Kind(i+1).String())
		h.Since[i] = timeOfMS(ms)
		empty = empty && ms == 0
	}
	if err := errors.Join(errs[:]...); err != nil {
		return CatchUpHint{}, fmt.Errorf("catch-up hint: %w", err)
	}
	if empty {
		return CatchUpHint{}, errors.New("catch-up hint: empty")
	}
	if !bytes.Equal(encodeCatchUpHint(h), raw) {
		return CatchUpHint{}, fmt.Errorf("catch-up hint: %w", errNonCanonical)
	}
	return h, nil
}
