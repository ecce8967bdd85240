package p2p

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"google.golang.org/protobuf/encoding/protowire"
)

// Schedule is a home node's signed plan for the device of one of its own
// offers: what the device would consume in each step of the offer's
// window if it were not dispatched. It is the schedule baseline
// (flex schedule/v1) of an award of that offer, so it must be signed no
// later than the request's gate closure, before anyone knows the award.
// Energy[i] is the planned consumption-positive energy (flex.Series'
// sign: charging and loads positive, discharge and production negative),
// mWh, over [Start + i·Step, Start + (i+1)·Step).
//
// It names the offer by its envelope ID, and only the offer's author may
// sign it: receivers (node/market) refuse a schedule whose author is not
// the offer's, since the device is the pair (author, key).
//
// It travels on TopicSchedules under KindSchedule. Wire:
//
//	message Schedule {
//	  bytes offer = 1;   // 32-byte offer envelope ID
//	  uint64 start = 2;  // Unix s, a multiple of step
//	  uint64 step = 3;   // seconds, dividing an hour
//	  bytes energy = 4;  // packed sint64 (zigzag) mWh, 1 to MaxIntervalSteps values
//	}
type Schedule struct {
	Offer  gridmint.OfferID
	Start  time.Time
	Step   time.Duration
	Energy []gridmint.MWh
}

// ScheduleType is the EIP-712 type string of a schedule envelope.
const ScheduleType = "Schedule(bytes32 offer,uint64 start,uint64 step,int64[] energy,uint64 created)"

var scheduleTypeHash = ethcrypto.Keccak256Hash([]byte(ScheduleType))

var scheduleFields = []protowire.Type{lenDelim, varint, varint, lenDelim}

// Kind implements Body.
func (Schedule) Kind() Kind { return KindSchedule }

// Series is the plan as a flex.Series.
func (s Schedule) Series() flex.Series {
	return flex.Series{Start: s.Start, Step: s.Step, Energy: s.Energy}
}

// End is the end of the last step.
func (s Schedule) End() time.Time { return s.Start.Add(time.Duration(len(s.Energy)) * s.Step) }

// Validate checks the offer id, the steps (whole seconds dividing an
// hour, Start on a step boundary, 1 to MaxIntervalSteps of them) and that
// no step plans more than flex.MaxSitePower can move in it.
func (s Schedule) Validate() error {
	if s.Offer == (gridmint.OfferID{}) {
		return gridmint.Errorf(gridmint.EInvalid, "schedule: zero offer id")
	}
	return validateSeries("schedule", s.Series())
}

func (s Schedule) appendBody(dst []byte) []byte {
	st, _ := unixSeconds(s.Start)
	w := writer(dst)
	w.bytes(1, s.Offer[:])
	w.uint(2, st)
	w.uint(3, uint64(s.Step/time.Second))
	w.bytes(4, packEnergy(s.Energy))
	return w
}

// DecodeScheduleBody parses a schedule body (the envelope's field 5);
// exported for fuzz targets.
func DecodeScheduleBody(in []byte) (Schedule, error) {
	b, err := decodeSchedule(in)
	if err != nil {
		return Schedule{}, err
	}
	return b.(Schedule), nil
}

func decodeSchedule(in []byte) (Body, error) {
	f, err := parse(in, scheduleFields)
	if err != nil {
		return nil, err
	}
	var s Schedule
	var errs [4]error
	var offer common.Hash
	offer, errs[0] = f.hash(1, "offer")
	s.Offer = gridmint.OfferID(offer)
	s.Start, errs[1] = f.seconds(2, "start")
	var step uint64
	step, errs[2] = f.small(3, 3600, "step")
	s.Step = time.Duration(step) * time.Second
	packed := f.b[3]
	for len(packed) > 0 && len(s.Energy) <= MaxIntervalSteps {
		x, n := protowire.ConsumeVarint(packed)
		if n < 0 {
			errs[3] = fmt.Errorf("energy[%d]: %w", len(s.Energy), protowire.ParseError(n))
			break
		}
		if n != protowire.SizeVarint(x) {
			// One encoding per plan: its envelope ID must not vary.
			errs[3] = fmt.Errorf("energy[%d]: %w", len(s.Energy), errNonCanonical)
			break
		}
		s.Energy, packed = append(s.Energy, gridmint.MWh(protowire.DecodeZigZag(x))), packed[n:]
	}
	switch {
	case errs[3] == nil && len(packed) > 0:
		errs[3] = fmt.Errorf("energy: more than %d values", MaxIntervalSteps)
	case errs[3] == nil && len(s.Energy) == 0:
		// Also an explicit empty field, which would not re-encode.
		errs[3] = fmt.Errorf("energy: no values")
	}
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	if !bytes.Equal(s.appendBody(nil), in) {
		// Explicit zeros, long varints: one encoding per plan, as the
		// envelope's check wants.
		return nil, errNonCanonical
	}
	return s, nil
}

func (s Schedule) structHash(created uint64) common.Hash {
	st, _ := unixSeconds(s.Start)
	return ethcrypto.Keccak256Hash(
		scheduleTypeHash.Bytes(),
		s.Offer[:],
		uintWord(st),
		uintWord(uint64(s.Step/time.Second)),
		energyHash(s.Energy),
		uintWord(created),
	)
}

// scheduleRule: a plan is made before what it plans; one signed after
// its first step started is no plan.
func scheduleRule(m Message) error {
	s, ok := m.Body.(Schedule)
	if ok && !m.Created.Before(s.Start) {
		return fmt.Errorf("schedule from %v signed at %v, after it started", s.Start, m.Created)
	}
	return nil
}
