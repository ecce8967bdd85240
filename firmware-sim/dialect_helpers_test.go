package firmwaresim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Identities of the new dialects' test devices.
const (
	testShellyPlug  = "shellyplusplugs-02a1b2000001"
	testShellyMeter = "shellypro3em-02a1b3000001"
	testPortal      = "02c0619a0001"
	testGoE         = "go-eCharger/200001/"
	testAhoy        = "inverter/HM-600/"
)

// newSim builds a Sim from cfg with a fake clock at t0 and seed 42.
func newSim(t *testing.T, t0 time.Time, cfg Config) (*Sim, *fakeClock) {
	t.Helper()
	clk := newFakeClock(t0)
	cfg.Clock = clk
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

// stepper advances a Sim's clock and steps it.
type stepper struct {
	s   *Sim
	clk *fakeClock
	now time.Time
}

func (st *stepper) step(d time.Duration) []Message {
	st.now = st.now.Add(d)
	st.clk.Set(st.now)
	return st.s.Step(st.now)
}

// golden compares messages with want, one "device topic payload" line
// each, retained ones marked " (retained)".
func golden(t *testing.T, got []Message, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d messages, want %d", len(got), len(want))
	}
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("message %d:\n got %s\nwant %s", i, g, w)
		}
	}
	for _, m := range got {
		if strings.HasPrefix(m.Payload, "{") || strings.HasPrefix(m.Payload, "[") {
			if !json.Valid([]byte(m.Payload)) {
				t.Errorf("%s: invalid JSON %s", m.Topic, m.Payload)
			}
		}
	}
}

// lastOf returns the payload of the last message on topic, or "".
func lastOf(msgs []Message, topic string) string {
	p := ""
	for _, m := range msgs {
		if m.Topic == topic {
			p = m.Payload
		}
	}
	return p
}

// dbusNumber decodes a dbus-flashmq {"value":x} payload.
func dbusNumber(t *testing.T, payload string) float64 {
	t.Helper()
	var v struct{ Value *float64 }
	if err := json.Unmarshal([]byte(payload), &v); err != nil || v.Value == nil {
		t.Fatalf("%q is not {\"value\":<number>}: %v", payload, err)
	}
	return *v.Value
}
