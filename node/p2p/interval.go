package p2p

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"google.golang.org/protobuf/encoding/protowire"
)

// IntervalEnergy is a home node's signed interval energy of one of its
// meters of record, for measuring one flexibility award of Request: what
// every peer recomputes baselines and deliveries from (flex.Verify).
// Energy[i] is the meter's consumption-positive energy (flex.Series:
// import, charging and loads positive; export, discharge and production
// negative), in mWh, over [Start + i·Step, Start + (i+1)·Step).
//
// A node sends one message per contiguous run of steps it has data for,
// at most MaxIntervalSteps (a day of five-minute steps) each, so a step
// without data is a step no message covers. Like Offer, the device is the
// pair (author, key): consumers must never let one author's key stand for
// another author's meter.
//
// It travels on TopicMeter with MeterClaim, under KindMeter. The two share
// no field numbers (MeterClaim owns 1 to 10, IntervalEnergy 11 to 15), so
// a body is told apart by its first field: below 11 a MeterClaim, 11 and
// above an IntervalEnergy (a body mixing both fails to parse). Wire:
//
//	message IntervalEnergy {
//	  bytes device = 11;  // 32-byte device key of the meter of record
//	  bytes request = 12; // 32-byte request id
//	  uint64 start = 13;  // Unix s, a multiple of step
//	  uint64 step = 14;   // seconds, dividing an hour
//	  bytes energy = 15;  // packed sint64 (zigzag) mWh, 1 to MaxIntervalSteps values
//	}
type IntervalEnergy struct {
	Device  gridmint.DeviceKey
	Request gridmint.RequestID
	Start   time.Time
	Step    time.Duration
	Energy  []gridmint.MWh
}

// MaxIntervalSteps bounds the steps of one IntervalEnergy: a day of
// five-minute steps, which keeps the envelope far below the default
// gossip message size (288 values of at most 5 bytes each).
const MaxIntervalSteps = 288

// IntervalEnergyType is the EIP-712 type string of an interval envelope.
const IntervalEnergyType = "IntervalEnergy(bytes32 device,bytes32 request,uint64 start,uint64 step,int64[] energy,uint64 created)"

var intervalEnergyTypeHash = ethcrypto.Keccak256Hash([]byte(IntervalEnergyType))

// Fields 1 to 10 are MeterClaim's: decodeIntervalEnergy refuses a body
// whose first field is one of them, and parse refuses out-of-order
// fields, so their entries here are never used.
var intervalFields = []protowire.Type{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, lenDelim, lenDelim, varint, varint, lenDelim}

// firstIntervalField is IntervalEnergy's lowest field number.
const firstIntervalField = 11

// Kind implements Body.
func (IntervalEnergy) Kind() Kind { return KindMeter }

// Series is the message's energies as a flex.Series.
func (e IntervalEnergy) Series() flex.Series {
	return flex.Series{Start: e.Start, Step: e.Step, Energy: e.Energy}
}

// End is the end of the last step.
func (e IntervalEnergy) End() time.Time {
	return e.Start.Add(time.Duration(len(e.Energy)) * e.Step)
}

// Validate checks the keys, the steps (whole seconds dividing an hour,
// Start on a step boundary, 1 to MaxIntervalSteps of them) and that no
// step holds more than flex.MaxSitePower can move in it.
func (e IntervalEnergy) Validate() error {
	switch {
	case e.Device.IsZero():
		return gridmint.Errorf(gridmint.EInvalid, "interval energy: zero device key")
	case e.Request == gridmint.RequestID{}:
		return gridmint.Errorf(gridmint.EInvalid, "interval energy: zero request id")
	}
	return validateSeries("interval energy", e.Series())
}

// validateSeries checks a signed series of step energies: 1 to
// MaxIntervalSteps steps, a start a whole second after 1970 on a step
// boundary, and what flex.Series.Validate checks. what names the message
// in the error.
func validateSeries(what string, sr flex.Series) error {
	if len(sr.Energy) == 0 || len(sr.Energy) > MaxIntervalSteps {
		return gridmint.Errorf(gridmint.EInvalid, "%s: %d steps: want 1 to %d", what, len(sr.Energy), MaxIntervalSteps)
	}
	st, err := unixSeconds(sr.Start)
	if err != nil || st == 0 {
		return gridmint.Errorf(gridmint.EInvalid, "%s: start %v: want a whole second after 1970", what, sr.Start)
	}
	if err := sr.Validate(); err != nil {
		return gridmint.Errorf(gridmint.EInvalid, "%s: %v", what, err)
	}
	if st%uint64(sr.Step/time.Second) != 0 {
		return gridmint.Errorf(gridmint.EInvalid, "%s: start %v is not on a %v boundary", what, sr.Start, sr.Step)
	}
	return nil
}

// energyHash is the EIP-712 hash of a step-energy array: keccak256 of
// its values as int256 words.
func energyHash(es []gridmint.MWh) []byte {
	words := make([]byte, 0, 32*len(es))
	for _, v := range es {
		words = append(words, intWord(int64(v))...)
	}
	return ethcrypto.Keccak256(words)
}

// packEnergy encodes step energies as packed sint64 (zigzag) mWh.
func packEnergy(es []gridmint.MWh) []byte {
	var packed []byte
	for _, v := range es {
		packed = protowire.AppendVarint(packed, protowire.EncodeZigZag(int64(v)))
	}
	return packed
}

func (e IntervalEnergy) appendBody(dst []byte) []byte {
	s, _ := unixSeconds(e.Start)
	w := writer(dst)
	w.bytes(11, e.Device[:])
	w.bytes(12, e.Request[:])
	w.uint(13, s)
	w.uint(14, uint64(e.Step/time.Second))
	w.bytes(15, packEnergy(e.Energy))
	return w
}

// isIntervalEnergy tells a KindMeter body's message by its first field.
func isIntervalEnergy(in []byte) bool {
	num, _, n := protowire.ConsumeTag(in)
	return n > 0 && num >= firstIntervalField
}

// decodeMeterBody decodes either body of KindMeter.
func decodeMeterBody(in []byte) (Body, error) {
	if isIntervalEnergy(in) {
		return decodeIntervalEnergy(in)
	}
	return decodeMeter(in)
}

// DecodeIntervalEnergyBody parses an IntervalEnergy body (the envelope's
// field 5); exported for fuzz targets.
func DecodeIntervalEnergyBody(in []byte) (IntervalEnergy, error) {
	b, err := decodeIntervalEnergy(in)
	if err != nil {
		return IntervalEnergy{}, err
	}
	return b.(IntervalEnergy), nil
}

func decodeIntervalEnergy(in []byte) (Body, error) {
	if !isIntervalEnergy(in) {
		return nil, fmt.Errorf("interval energy: first field below %d", firstIntervalField)
	}
	f, err := parse(in, intervalFields)
	if err != nil {
		return nil, err
	}
	var e IntervalEnergy
	var errs [5]error
	var dev, req common.Hash
	dev, errs[0] = f.hash(11, "device")
	req, errs[1] = f.hash(12, "request")
	e.Device, e.Request = gridmint.DeviceKey(dev), gridmint.RequestID(req)
	e.Start, errs[2] = f.seconds(13, "start")
	var step uint64
	step, errs[3] = f.small(14, 3600, "step")
	e.Step = time.Duration(step) * time.Second
	packed := f.b[14]
	for len(packed) > 0 && len(e.Energy) <= MaxIntervalSteps {
		x, n := protowire.ConsumeVarint(packed)
		if n < 0 {
			errs[4] = fmt.Errorf("energy[%d]: %w", len(e.Energy), protowire.ParseError(n))
			break
		}
		e.Energy, packed = append(e.Energy, gridmint.MWh(protowire.DecodeZigZag(x))), packed[n:]
	}
	if errs[4] == nil && len(packed) > 0 {
		errs[4] = fmt.Errorf("energy: more than %d values", MaxIntervalSteps)
	}
	return e, errors.Join(errs[:]...)
}

func (e IntervalEnergy) structHash(created uint64) common.Hash {
	s, _ := unixSeconds(e.Start)
	return ethcrypto.Keccak256Hash(
		intervalEnergyTypeHash.Bytes(),
		e.Device[:],
		e.Request[:],
		uintWord(s),
		uintWord(uint64(e.Step/time.Second)),
		energyHash(e.Energy),
		uintWord(created),
	)
}

// intervalRule: meter data is signed after the last step it reports
// ended; nobody reports energy in advance.
func intervalRule(m Message) error {
	e, ok := m.Body.(IntervalEnergy)
	if ok && m.Created.Before(e.End()) {
		return fmt.Errorf("interval energy up to %v signed at %v, before it ended", e.End(), m.Created)
	}
	return nil
}
