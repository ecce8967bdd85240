package p2p

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

func sampleSchedule(start time.Time) Schedule {
	return Schedule{Offer: gridmint.OfferID{7}, Start: start, Step: 5 * time.Minute, Energy: []gridmint.MWh{0, 0, 250_000, -250_000}}
}

func TestScheduleValidateAndRule(t *testing.T) {
	start := Epoch.Truncate(time.Hour).Add(2 * time.Hour)
	if err := sampleSchedule(start).Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]Schedule{}
	s := sampleSchedule(start)
	s.Offer = gridmint.OfferID{}
	bad["zero offer"] = s
	s = sampleSchedule(start.Add(time.Minute))
	bad["off boundary"] = s
	s = sampleSchedule(start)
	s.Energy = nil
	bad["no steps"] = s
	s = sampleSchedule(start)
	s.Energy = make([]gridmint.MWh, MaxIntervalSteps+1)
	bad["over a day"] = s
	s = sampleSchedule(start)
	s.Energy = []gridmint.MWh{1 << 40}
	bad["over site power"] = s
	s = sampleSchedule(start)
	s.Step = 7 * time.Minute
	bad["step not dividing an hour"] = s
	for name, s := range bad {
		if err := s.Validate(); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	// A plan signed after its first step started is refused on receipt.
	late := Sign(t, Key(1), sampleSchedule(start), start)
	if err := scheduleRule(late); err == nil || !strings.Contains(err.Error(), "after it started") {
		t.Errorf("schedule signed at its start: %v, want refused", err)
	}
	if err := scheduleRule(Sign(t, Key(1), sampleSchedule(start), start.Add(-time.Second))); err != nil {
		t.Errorf("schedule signed before its start: %v", err)
	}
}

// FuzzDecodeSchedule: the schedule body decoder never panics, accepts
// only canonical input, and what it accepts re-encodes the same.
func FuzzDecodeSchedule(f *testing.F) {
	f.Add(sampleSchedule(Epoch.Truncate(time.Hour)).appendBody(nil))
	f.Add(Schedule{Offer: gridmint.OfferID{1}, Start: Epoch.Truncate(time.Hour), Step: time.Hour, Energy: []gridmint.MWh{-1}}.appendBody(nil))
	f.Add([]byte{})
	f.Add([]byte{0x22, 0x01, 0x80})
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := DecodeScheduleBody(raw)
		if err != nil {
			return
		}
		if again := s.appendBody(nil); !bytes.Equal(again, raw) {
			t.Fatalf("decoded body re-encodes differently:\n in %x\nout %x", raw, again)
		}
		_ = s.Validate()
		_ = s.structHash(1)
	})
}
