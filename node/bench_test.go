package node

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
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

// BenchmarkSetpointRoundTrip measures a setpoint's round trip through a
// real node, the embedded broker and the simulated firmware: from
// Dispatcher.Send (checks, encoding, publish) until the device's reply
// settled the command. Reports p50 and p99 in ms, per dialect.
func BenchmarkSetpointRoundTrip(b *testing.B) {
	d, err := StartDemo(context.Background(), DemoOptions{
		DataDir: b.TempDir(), HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", Logger: testLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	addr := d.Node.Identity().Address
	cases := []struct {
		name   string
		serial string
		kind   gridmint.SetpointKind
		values [2]float64
	}{
		{"goe", DemoChargerSerial, gridmint.SetpointChargeCurrent, [2]float64{6, 7}},
		{"shelly", DemoShellyPlugSerial, gridmint.SetpointSwitch, [2]float64{0, 1}},
		{"tasmota", DemoPlugTopic, gridmint.SetpointSwitch, [2]float64{0, 1}},
	}
	for _, c := range cases {
		id := gridmint.DeviceID(addr + "/" + c.name + "/" + c.serial)
		b.Run(c.name, func(b *testing.B) {
			deadline := time.Now().Add(30 * time.Second)
			for {
				if st, _, ok := d.Node.ingest.Device(id); ok && st.Online {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("%s never came online", id)
				}
				time.Sleep(10 * time.Millisecond)
			}
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				start := time.Now()
				rec, err := d.Node.dispatcher.Send(context.Background(), gridmint.Setpoint{Device: id, Kind: c.kind, Value: c.values[i%2], Origin: gridmint.OriginHomeowner})
				if err != nil || rec.Status == gridmint.CommandFailed {
					b.Fatalf("Send: %+v, %v", rec, err)
				}
				for d.Node.dispatcher.Pending() > 0 {
					if time.Since(start) > 10*time.Second {
						b.Fatal("no confirmation within 10 s")
					}
					time.Sleep(50 * time.Microsecond)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
