package devices

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// BenchmarkDecodeTasmota measures the Tasmota decoder alone on the
// single-channel capture: readings/s.
func BenchmarkDecodeTasmota(b *testing.B) {
	a := mustAdapter(b, AdapterConfig{Dialect: "tasmota"})
	payload := []byte(tasmotaSonoffDesk)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Decode("tele/sonoff_desk/SENSOR", payload); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}

// BenchmarkDecodeOpenDTU measures the OpenDTU decoder alone on full
// publish cycles (18 topics, one reading each): readings/s.
func BenchmarkDecodeOpenDTU(b *testing.B) {
	a := mustAdapter(b, AdapterConfig{Dialect: "opendtu"})
	cycles := make([][]mqttMsg, 64)
	for i := range cycles {
		cycles[i] = openDTUCycle("114190641177", int64(1_700_000_000+5*i), "123.4", fmt.Sprintf("13.%03d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	readings := 0
	for i := 0; b.Loop(); i++ {
		for _, m := range cycles[i%len(cycles)] {
			ups, err := a.Decode(m.topic, []byte(m.payload))
			if err != nil {
				b.Fatal(err)
			}
			for _, u := range ups {
				if u.Measurement != nil {
					readings++
				}
			}
		}
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
}

// BenchmarkNormalise measures the counter normaliser alone.
func BenchmarkNormalise(b *testing.B) {
	dev := plugDevice()
	lim := DefaultLimits()
	_, st, _ := Normalise(dev, nil, Measurement{Forward: &Counter{Kind: gridmint.CounterLifetime}}, t0, lim)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m := Measurement{Power: ptr(gridmint.W(100)), Forward: &Counter{Value: gridmint.MWh(i+1) * 100, Kind: gridmint.CounterLifetime}}
		_, next, rej := Normalise(dev, &st, m, t0.Add(time.Duration(i+1)*time.Second), lim)
		if rej != nil {
			b.Fatal(rej)
		}
		st = next
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "readings/s")
}
