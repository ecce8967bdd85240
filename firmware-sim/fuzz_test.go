package firmwaresim

import (
	"math"
	"strconv"
	"testing"
	"time"
)

// FuzzCommand sends arbitrary command topics and payloads to both
// simulated devices: the handlers must never panic, and the published
// state must stay physical (finite, non-negative power within nameplate).
func FuzzCommand(f *testing.F) {
	for _, seed := range []struct {
		topic, payload string
		retained       bool
	}{
		{"solar/" + testSerial + "/cmd/limit_nonpersistent_absolute", "600.7", false},
		{"solar/" + testSerial + "/cmd/limit_persistent_relative", "-5", false},
		{"solar/" + testSerial + "/cmd/power", "0", false},
		{"solar/" + testSerial + "/cmd/limit_nonpersistent_absolute", "300", true},
		{"cmnd/" + testPlug + "/POWER", "TOGGLE", false},
		{"cmnd/" + testPlug + "/POWER1", "", false},
		{"cmnd/" + testPlug + "/Status", "8", false},
	} {
		f.Add(seed.topic, []byte(seed.payload), seed.retained)
	}
	t0 := time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, topic string, payload []byte, retained bool) {
		s, clk := newTestSim(t, t0, nil)
		s.Step(t0)
		for _, ep := range s.endpoints() {
			s.command(ep, topic, payload, retained)
		}
		clk.Set(t0.Add(5 * time.Second))
		for _, m := range s.Step(t0.Add(5 * time.Second)) {
			if m.Topic == "solar/"+testSerial+"/0/power" {
				p, err := strconv.ParseFloat(m.Payload, 64)
				if err != nil || math.IsNaN(p) || p < 0 || p > 800 {
					t.Fatalf("after %s %q: power %q", topic, payload, m.Payload)
				}
			}
		}
	})
}
