package node

import (
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
)

// FuzzIngestCommit drives arbitrary MQTT messages through the whole ingest
// path, decoders to store: whatever the input, the outcome must commit
// (the store never refuses what ingest produced) and never panic.
func FuzzIngestCommit(f *testing.F) {
	f.Add("tele/p/SENSOR", []byte(`{"Time":"2026-01-01T00:00:00","ENERGY":{"Total":1.5,"Power":3}}`), "solar/1161/status/last_update", []byte("1767225600"), int64(0))
	f.Add("solar/116181234567/status/last_update", []byte("300000000000"), "solar/116181234567/0/yieldtotal", []byte("1.5"), int64(1))
	f.Add("tele/"+string(make([]byte, 300))+"/SENSOR", []byte(`{"ENERGY":{"Total":1}}`), "tele/p/LWT", []byte("Online"), int64(-1))
	// One store for all inputs: opening badger per input would make the
	// fuzzer crawl, and a store full of earlier inputs is a harder test.
	// The smallest quarantine budget, so that fuzzing trims it too.
	st, err := store.Open("", store.Options{InMemory: true, QuarantineMaxBytes: store.MinQuarantineMaxBytes})
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	f.Fuzz(func(t *testing.T, topic1 string, p1 []byte, topic2 string, p2 []byte, skew int64) {
		tas, _ := devices.NewAdapter(devices.AdapterConfig{Dialect: "tasmota"})
		dtu, _ := devices.NewAdapter(devices.AdapterConfig{Dialect: "opendtu"})
		in, err := devices.NewIngest(devices.IngestConfig{Node: "0xfuzz", Adapters: []devices.Adapter{tas, dtu}, Discover: true, MaxDevices: 100})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for round := 0; round < 2; round++ {
			msgs := []devices.Message{
				{Topic: topic1, Payload: p1, Received: now},
				{Topic: "solar/1161/0/power", Payload: []byte("12.5"), Received: now},
				{Topic: topic2, Payload: p2, Received: now.Add(time.Duration(skew % int64(time.Hour)))},
				// As the node keeps a payload too large to read (mqtt.go).
				{Topic: topic1, Payload: p1, Size: len(p1) + devices.MaxPayload, Received: now},
			}
			out := in.Process(msgs)
			b, err := toBatch(st, out)
			if err != nil {
				t.Fatalf("toBatch: %v", err)
			}
			if err := st.Commit(b); err != nil {
				t.Fatalf("the store refused an ingest outcome (%v): readings %v rejections %v devices %v", err, out.Readings, out.Rejections, out.NewDevices)
			}
			if q := st.QuarantineStats(); q.Bytes > q.MaxBytes {
				t.Fatalf("the quarantine holds %d bytes, over its budget of %d", q.Bytes, q.MaxBytes)
			}
			in.Accept(out)
			now = now.Add(time.Minute)
		}
		for _, d := range in.Devices() {
			if d.Energy < 0 || !gridmint.DeviceKind(d.Kind).Valid() {
				t.Fatalf("device state %+v", d)
			}
		}
	})
}
