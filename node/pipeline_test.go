package node

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
)

// flakyStore is a real in-memory store whose Commit first asks fail.
type flakyStore struct {
	*store.Store
	fail func() error
}

func (f *flakyStore) Commit(b *store.Batch) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Commit(b)
}

func newTestPipeline(t *testing.T, fail func() error) (*pipeline, *store.Store) {
	t.Helper()
	st, err := store.Open("", store.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := devices.NewAdapter(devices.AdapterConfig{Dialect: "tasmota"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := devices.NewIngest(devices.IngestConfig{Node: "0xn", Adapters: []devices.Adapter{a}, Discover: true})
	if err != nil {
		t.Fatal(err)
	}
	p := newPipeline(in, &flakyStore{Store: st, fail: fail}, testLogger(), newMetrics())
	p.retry = time.Millisecond
	return p, st
}

func sensor(total string) devices.Message {
	return devices.Message{Topic: "tele/p/SENSOR", Payload: []byte(`{"ENERGY":{"Total":` + total + `,"Power":5}}`),
		Received: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func TestPipelineAcksOnlyAfterDurableCommit(t *testing.T) {
	var attempts atomic.Int32
	var failing atomic.Bool
	failing.Store(true)
	p, st := newTestPipeline(t, func() error {
		attempts.Add(1)
		if failing.Load() {
			return errors.New("disk full")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	defer func() { cancel(); <-done }()

	var acked atomic.Int32
	p.enqueue(ctx, inbound{msg: sensor("1.5"), ack: func() { acked.Add(1) }})
	waitFor(t, "several failed commit attempts", func() bool { return attempts.Load() >= 3 })
	if got := acked.Load(); got != 0 {
		t.Fatalf("acked %d messages while commits fail, want 0", got)
	}
	if p.healthy.Load() {
		t.Error("pipeline healthy while commits fail")
	}
	failing.Store(false)
	waitFor(t, "the ack after the disk recovers", func() bool { return acked.Load() == 1 })
	if !p.healthy.Load() {
		t.Error("pipeline unhealthy after a successful commit")
	}
	rs, err := st.Readings("0xn/tasmota/p", time.Time{}, time.Time{}, 0)
	if err != nil || len(rs) != 1 || rs[0].Raw != 1_500_000 {
		t.Fatalf("stored readings = %v, %v; want exactly one of 1.5 kWh", rs, err)
	}
}

func TestPipelineQuarantinesBatchTheStoreRefuses(t *testing.T) {
	var calls atomic.Int32
	p, st := newTestPipeline(t, func() error {
		if calls.Add(1) == 1 {
			return gridmint.Errorf(gridmint.EInvalid, "bad batch")
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	defer func() { cancel(); <-done }()

	var acked atomic.Int32
	p.enqueue(ctx, inbound{msg: sensor("1"), ack: func() { acked.Add(1) }})
	waitFor(t, "the refused message to be acked", func() bool { return acked.Load() == 1 })
	rej, _, err := st.Rejections("", 10)
	if err != nil || len(rej) != 1 || rej[0].Reason != gridmint.ReasonInternal || string(rej[0].Raw) != string(sensor("1").Payload) {
		t.Fatalf("quarantine = %+v, %v; want the refused message with reason internal", rej, err)
	}
	p.enqueue(ctx, inbound{msg: sensor("2"), ack: func() { acked.Add(1) }})
	waitFor(t, "the next message", func() bool { return acked.Load() == 2 })
	// Nothing of the refused batch was half-applied: the next message
	// starts the device afresh.
	rs, err := st.Readings("0xn/tasmota/p", time.Time{}, time.Time{}, 0)
	if err != nil || len(rs) != 1 || rs[0].Raw != 2_000_000 || rs[0].Event != gridmint.EventFirst {
		t.Errorf("readings after recovery = %v, %v; want one first reading of 2 kWh", rs, err)
	}
}

func TestPipelineBatchFitsTheStore(t *testing.T) {
	if maxBatchMessages < 1 {
		t.Fatalf("maxBatchMessages = %d", maxBatchMessages)
	}
	// The worst message: 8 channels, each a new device with a reading and
	// a state; a full batch of them must commit in one transaction.
	p, st := newTestPipeline(t, func() error { return nil })
	var msgs []devices.Message
	for i := 0; i < maxBatchMessages; i++ {
		msgs = append(msgs, devices.Message{
			Topic:    "tele/dev" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "/SENSOR",
			Payload:  []byte(`{"ENERGY":{"Total":[1,2,3,4,5,6,7,8],"Power":[1,2,3,4,5,6,7,8]}}`),
			Received: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
	out := p.ingest.Process(msgs)
	if got := len(out.Readings); got != 8*maxBatchMessages {
		t.Fatalf("readings = %d, want %d", got, 8*maxBatchMessages)
	}
	b, err := toBatch(st, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(b); err != nil {
		t.Fatalf("a full worst-case batch does not fit: %v", err)
	}
}

// gate is a roomWaiter the test opens.
type gate struct {
	entered chan struct{}
	open    chan struct{}
}

func (g *gate) wait(ctx context.Context) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestPipelineHoldsBatchesWhileTheDiskIsFull: while the disk has no room
// the pipeline neither decodes, stores nor acknowledges; once it has,
// everything held is stored and acknowledged.
func TestPipelineHoldsBatchesWhileTheDiskIsFull(t *testing.T) {
	p, st := newTestPipeline(t, func() error { return nil })
	g := &gate{entered: make(chan struct{}, 1), open: make(chan struct{})}
	p.room = g
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	defer func() { cancel(); <-done }()

	var acked atomic.Int32
	for i, total := range []string{"1", "1.001", "1.002"} {
		m := sensor(total)
		m.Received = m.Received.Add(time.Duration(i) * time.Minute)
		p.enqueue(ctx, inbound{msg: m, ack: func() { acked.Add(1) }})
	}
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the pipeline never asked for room")
	}
	if got := gathered(t, p.metrics, "gridmint_mqtt_messages_pending", ""); got != 3 {
		t.Errorf("pending messages while held = %v, want 3", got)
	}
	if n := acked.Load(); n != 0 {
		t.Fatalf("%d messages acknowledged while the disk is full", n)
	}
	if len(p.ingest.Devices()) != 0 {
		t.Error("a held message reached the device state before it could be stored")
	}
	if rs, _ := st.Readings("0xn/tasmota/p", time.Time{}, time.Time{}, 0); len(rs) != 0 {
		t.Fatalf("%d readings stored while the disk is full", len(rs))
	}
	close(g.open)
	waitFor(t, "every held message to be acknowledged", func() bool { return acked.Load() == 3 })
	rs, err := st.Readings("0xn/tasmota/p", time.Time{}, time.Time{}, 0)
	if err != nil || len(rs) != 3 {
		rj, _, _ := st.Rejections("", 10)
		t.Fatalf("readings after the disk has room = %v, %v; want 3 (rejections %+v)", rs, err, rj)
	}
	if got := gathered(t, p.metrics, "gridmint_mqtt_messages_pending", ""); got != 0 {
		t.Errorf("pending messages after the acks = %v, want 0", got)
	}
}
