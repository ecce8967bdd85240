package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
)

// BenchmarkIngestToDurableStore measures the node's hot path: Tasmota
// SENSOR messages decoded, normalised and committed to an on-disk badger
// store with fsync, in the pipeline's batches of maxBatchMessages, from
// 100 devices. Reports readings/s.
func BenchmarkIngestToDurableStore(b *testing.B) {
	st, err := store.Open(b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a, err := devices.NewAdapter(devices.AdapterConfig{Dialect: "tasmota"})
	if err != nil {
		b.Fatal(err)
	}
	in, err := devices.NewIngest(devices.IngestConfig{Node: "0xbench", Adapters: []devices.Adapter{a}, Discover: true})
	if err != nil {
		b.Fatal(err)
	}
	const nDevices = 100
	start := time.Date(2026, 6, 21, 0, 0, 0, 0, time.UTC)
	batch := make([]devices.Message, maxBatchMessages)
	readings := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range batch {
			k := i*len(batch) + j
			tick := k / nDevices // each device reports once per 10 s tick
			ts := start.Add(time.Duration(tick) * 10 * time.Second)
			batch[j] = devices.Message{
				Topic: fmt.Sprintf("tele/plug%03d/SENSOR", k%nDevices),
				Payload: fmt.Appendf(nil, `{"Time":"%s","ENERGY":{"Total":%d.%03d,"Power":360}}`,
					ts.Format("2006-01-02T15:04:05"), tick/1000, tick%1000),
				Received: ts,
			}
		}
		out := in.Process(batch)
		if len(out.Rejections) > 0 {
			b.Fatalf("rejections: %v", out.Rejections[0])
		}
		sb, err := toBatch(st, out)
		if err != nil {
			b.Fatal(err)
		}
		if err := st.Commit(sb); err != nil {
			b.Fatal(err)
		}
		in.Accept(out)
		readings += len(out.Readings)
	}
	b.ReportMetric(float64(readings)/b.Elapsed().Seconds(), "readings/s")
	b.ReportMetric(float64(maxBatchMessages), "msgs/commit")
}
