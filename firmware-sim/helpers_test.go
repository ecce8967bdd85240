package firmwaresim

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint/internal/fakeclock"
)

// fakeClock is a settable sim clock, safe for concurrent use.
type fakeClock = fakeclock.Clock

func newFakeClock(t time.Time) *fakeClock { return fakeclock.New(t) }

const testSerial = "116181234567"
const testPlug = "tasmota_A1B2C3"

// newTestSim builds a Sim with one 800 W inverter and one plug whose clock
// starts at t0, profile time = sim time (UTC).
func newTestSim(t *testing.T, t0 time.Time, mod func(*Config)) (*Sim, *fakeClock) {
	t.Helper()
	clk := newFakeClock(t0)
	cfg := Config{
		PV:    []PVConfig{{Serial: testSerial, Nameplate: 800}},
		Plugs: []PlugConfig{{Topic: testPlug, AnnualKWh: 1000}},
		Seed:  42,
		Clock: clk,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// byTopic indexes one cycle's messages by topic.
func byTopic(msgs []Message) map[string]string {
	m := map[string]string{}
	for _, msg := range msgs {
		m[msg.Topic] = msg.Payload
	}
	return m
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return v
}

// sensor is a decoded single-channel Tasmota SENSOR payload.
type sensor struct {
	Time   string
	ENERGY struct {
		TotalStartTime               string
		Total, Yesterday, Today      float64
		Period, Power                float64
		ApparentPower, ReactivePower float64
		Factor, Voltage, Current     float64
	}
}

func mustSensor(t *testing.T, payload string) sensor {
	t.Helper()
	var s sensor
	dec := json.NewDecoder(strings.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("SENSOR %s: %v", payload, err)
	}
	return s
}
