package node

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/store"
)

// inbound is one received MQTT message with the function that
// acknowledges it to the broker (a no-op for QoS 0).
type inbound struct {
	msg devices.Message
	ack func()
}

// pipeline moves messages from the MQTT client to the store in batches:
// decode and normalise (devices.Ingest), commit durably (store.Commit),
// then acknowledge. A message is acknowledged only after everything it
// produced is on disk, so a crash never loses an acknowledged reading; the
// broker re-delivers unacknowledged QoS 1 messages to the node's
// persistent session.
//
// One goroutine runs the pipeline; enqueue is safe for concurrent use.
type pipeline struct {
	ingest   *devices.Ingest
	store    batchStore
	in       chan inbound
	maxBatch int
	log      *slog.Logger
	metrics  *metrics
	// retry is how long to wait before committing a failed batch again.
	retry time.Duration
	// room, if set, holds each batch back while the disk is below its
	// reserve: its messages, and those queued behind it, stay
	// unacknowledged, so the broker keeps them (and stops sending once
	// its in-flight window is full) until there is room again.
	room roomWaiter

	healthy atomic.Bool
}

// roomWaiter says when there is room on the disk for the next batch.
type roomWaiter interface {
	// wait returns once a batch may be written, or ctx's error.
	wait(ctx context.Context) error
}

// batchStore is the part of *store.Store the pipeline writes through.
type batchStore interface {
	NewBatch() *store.Batch
	Commit(*store.Batch) error
}

// maxBatchMessages caps one commit so it stays within store.MaxBatchLen
// items: a message yields at most devices.MaxMeasurementsPerMessage
// measurements, each giving a reading or a rejection, a counter state and
// possibly a new device.
const maxBatchMessages = store.MaxBatchLen / (3 * devices.MaxMeasurementsPerMessage)

func newPipeline(in *devices.Ingest, st batchStore, log *slog.Logger, m *metrics) *pipeline {
	p := &pipeline{
		ingest:   in,
		store:    st,
		in:       make(chan inbound, 128),
		maxBatch: maxBatchMessages,
		log:      log,
		metrics:  m,
		retry:    time.Second,
	}
	p.healthy.Store(true)
	return p
}

// enqueue hands a message to the pipeline. It blocks when the pipeline is
// behind, which pushes back on the broker connection instead of dropping.
// paho calls it from its ordered router, so a long block (the store down
// for minutes with 4096 messages queued) also stalls keep-alives and the
// broker drops the connection; paho then drops the acknowledgements of
// that moment, and the broker re-delivers those messages on reconnect,
// where they are recognised as duplicates. Nothing is lost, at the price
// of reconnects while the store is down.
func (p *pipeline) enqueue(ctx context.Context, m inbound) {
	select {
	case p.in <- m:
		p.metrics.pending.Inc()
	case <-ctx.Done():
	}
}

// run processes messages until ctx is done. Messages still queued then are
// not acknowledged, so the broker keeps them for the next start.
func (p *pipeline) run(ctx context.Context) {
	batch := make([]inbound, 0, p.maxBatch)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case m := <-p.in:
			batch = append(batch, m)
		}
		if p.room != nil {
			// Before decoding: nothing of a held batch is applied to the
			// devices' state until it can be stored.
			if p.room.wait(ctx) != nil {
				return
			}
		}
		// Group commit: take whatever else is already waiting.
	drain:
		for len(batch) < p.maxBatch {
			select {
			case m := <-p.in:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		if !p.commit(ctx, batch) {
			return
		}
	}
}

// commit processes and stores one batch, retrying until it is durable or
// ctx is done; it reports whether the batch was stored.
func (p *pipeline) commit(ctx context.Context, batch []inbound) bool {
	msgs := make([]devices.Message, len(batch))
	for i, b := range batch {
		msgs[i] = b.msg
	}
	start := time.Now() // wall clock: the commit latency metric
	out := p.ingest.Process(msgs)
	for _, c := range out.CapsReached {
		// Once per cap: /healthz keeps saying it.
		p.log.Warn("device cap reached: new devices beyond it are refused as unknown_device and not stored; raise it if they are real",
			"setting", c.Setting, "limit", c.Limit, "first", c.First)
	}
	b, err := toBatch(p.store, out)
	if err != nil {
		b, out = p.quarantineBatch(batch, err)
	}
	for {
		err := p.store.Commit(b)
		if err == nil {
			p.ingest.Accept(out)
			for _, m := range batch {
				m.ack()
			}
			p.metrics.pending.Sub(float64(len(batch)))
			p.metrics.observeBatch(out, len(batch), time.Since(start))
			if !p.healthy.Swap(true) {
				p.log.Info("store writes recovered")
			}
			return true
		}
		p.metrics.commitErrors.Inc()
		if gridmint.ErrorCode(err) == gridmint.EInvalid {
			// The store refused what ingest produced: a bug, and retrying
			// cannot help. Keep every message of the batch in quarantine
			// instead (raw bytes, reason internal) and acknowledge them, so
			// nothing is lost and the broker's in-flight window does not
			// fill up with messages that would fail again.
			p.log.Error("BUG: store refused an ingest batch; quarantining its messages", "messages", len(batch), "err", err)
			b, out = p.quarantineBatch(batch, err)
			continue
		}
		// Retry the same outcome: decoders have already consumed these
		// messages, so processing them again would not give the same result.
		p.healthy.Store(false)
		p.log.Error("store commit failed; messages stay unacknowledged, retrying",
			"messages", len(batch), "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(p.retry): // wall clock: retry back-off
		}
	}
}

// quarantineBatch holds every message of batch as a rejection with reason
// internal: the store batch and the outcome it stands for.
func (p *pipeline) quarantineBatch(batch []inbound, cause error) (*store.Batch, *devices.Outcome) {
	b := p.store.NewBatch()
	out := &devices.Outcome{}
	for _, m := range batch {
		r := gridmint.Rejection{
			Time: m.msg.Received, Topic: m.msg.Topic, Reason: gridmint.ReasonInternal,
			Detail: "not stored: " + cause.Error(), Raw: m.msg.Payload,
		}
		b.PutRejection(r)
		out.Rejections = append(out.Rejections, r)
	}
	return b, out
}

// toBatch turns an ingest outcome into one store transaction.
func toBatch(st batchStore, out *devices.Outcome) (*store.Batch, error) {
	b := st.NewBatch()
	for _, d := range out.NewDevices {
		b.PutDevice(d)
	}
	for _, r := range out.Readings {
		b.PutReading(r)
	}
	for _, r := range out.Rejections {
		b.PutRejection(r)
	}
	// Over a rate limit: counted under their reason, not kept.
	for reason, n := range out.Suppressed {
		b.CountRejections(reason, n)
	}
	for id, s := range out.States {
		raw, err := devices.MarshalCounterState(s)
		if err != nil {
			return nil, gridmint.Errorf(gridmint.EInternal, "encoding counter state of %s: %v", id, err)
		}
		b.PutCounterState(id, raw)
	}
	return b, nil
}

// loadIngestState reads what Ingest needs from the store at start.
func loadIngestState(st *store.Store) ([]gridmint.Device, map[gridmint.DeviceID]devices.CounterState, error) {
	known, err := st.Devices()
	if err != nil {
		return nil, nil, err
	}
	raw, err := st.CounterStates()
	if err != nil {
		return nil, nil, err
	}
	states := make(map[gridmint.DeviceID]devices.CounterState, len(raw))
	for id, b := range raw {
		s, err := devices.UnmarshalCounterState(b)
		if err != nil {
			return nil, nil, gridmint.Errorf(gridmint.EInternal, "stored counter state of %s: %v", id, err)
		}
		states[id] = s
	}
	return known, states, nil
}

// capsCheck is the health check of the device caps: it fails once a cap
// refused a device, naming the setting (see devices.CapReached).
func capsCheck(caps []devices.CapReached) api.Check {
	c := api.Check{Name: "device_caps", OK: len(caps) == 0}
	for i, r := range caps {
		if i > 0 {
			c.Detail += "; "
		}
		c.Detail += fmt.Sprintf("%s (%d) reached at %s: new devices are refused (%s)", r.Setting, r.Limit, r.FirstAt.Format(time.RFC3339), r.First)
	}
	return c
}
