package devices

import (
	"context"
	"errors"
	"fmt"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
)

// Publisher sends a command to the broker. It never retains. It must be
// safe for concurrent use. It returns ErrMaybeSent when it gave up
// waiting for the broker but the message may still go out (the client
// keeps a QoS 1 message and sends it after a reconnect).
type Publisher interface {
	Publish(ctx context.Context, topic string, qos byte, payload []byte) error
}

// ErrMaybeSent is a publish that timed out with the message still queued
// in the client: the command stays pending and its confirmation decides.
var ErrMaybeSent = errors.New("not yet taken by the broker; it may still be sent")

// DefaultConfirmTimeout is how long a device has to confirm a command.
// Replies (go-e, Shelly, Tasmota, AhoyDTU) come in well under a second;
// telemetry confirmations wait for the next publish cycle (OpenDTU 5 s,
// Victron a few seconds), so 15 s leaves room for one missed cycle.
const DefaultConfirmTimeout = 15 * time.Second

// Dispatcher sends setpoints to devices and follows them until the device
// confirms, refuses, or the confirmation times out. It checks every
// setpoint against the device's safety limits and the owner's opt-out
// first. Every change of a command is reported to Record (for the audit
// log). It is safe for concurrent use.
type Dispatcher struct {
	devices interface {
		Device(gridmint.DeviceID) (DeviceState, Adapter, bool)
	}
	pub     Publisher
	clock   gridmint.Clock
	timeout time.Duration
	record  func(gridmint.CommandRecord)
	watch   func(ctx context.Context, filter string) (release func(), err error)

	mu      sync.Mutex
	seq     uint32
	pending map[string]*pendingCommand
}

type pendingCommand struct {
	rec      gridmint.CommandRecord
	confirm  *Confirmation
	deadline time.Time
	release  func() // ends the Watch of its confirmation topic
}

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Ingest    *Ingest
	Publisher Publisher
	Clock     gridmint.Clock
	// Timeout for confirmations; 0 means DefaultConfirmTimeout.
	Timeout time.Duration
	// Record receives every new or changed command record. It is called
	// without the Dispatcher's lock held, possibly concurrently.
	Record func(gridmint.CommandRecord)
	// Watch, if set, is called with a command's confirmation filter
	// before the command is sent, and returns once messages on it will
	// reach Observe; release is called when the command settles. The
	// node receives confirmations on a connection of their own that
	// subscribes to them only while a command waits (node.controlClient).
	// An error fails the command unsent.
	Watch func(ctx context.Context, filter string) (release func(), err error)
}

// NewDispatcher builds a Dispatcher.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	d := &Dispatcher{
		devices: cfg.Ingest, pub: cfg.Publisher, clock: cfg.Clock, timeout: cfg.Timeout, record: cfg.Record, watch: cfg.Watch,
		pending: map[string]*pendingCommand{},
	}
	if d.clock == nil {
		d.clock = gridmint.SystemClock{}
	}
	if d.timeout <= 0 {
		d.timeout = DefaultConfirmTimeout
	}
	if d.record == nil {
		d.record = func(gridmint.CommandRecord) {}
	}
	return d
}

// Send checks sp and publishes its command. It returns the command's
// record (pending, or failed when publishing failed) or an error saying
// why the setpoint was refused before anything was sent: unknown device
// (ENotFound), invalid value or outside the device's limits (EInvalid),
// the owner's opt-out (EConflict).
func (d *Dispatcher) Send(ctx context.Context, sp gridmint.Setpoint) (gridmint.CommandRecord, error) {
	if err := sp.Validate(); err != nil {
		return gridmint.CommandRecord{}, err
	}
	st, a, ok := d.devices.Device(sp.Device)
	if !ok {
		return gridmint.CommandRecord{}, gridmint.Errorf(gridmint.ENotFound, "no device %s", sp.Device)
	}
	if a == nil {
		return gridmint.CommandRecord{}, gridmint.Errorf(gridmint.EUnavailable, "device %s: no adapter for dialect %s is configured", sp.Device, st.Dialect)
	}
	if !st.Online {
		// Its state (a state of charge for the SoC floor) is stale, and a
		// command queued for a device that is gone could run hours late.
		return gridmint.CommandRecord{}, gridmint.Errorf(gridmint.EUnavailable, "device %s is offline (last seen %s): setpoints go only to devices that are online",
			sp.Device, lastSeen(st))
	}
	if err := CheckLimits(st, sp); err != nil {
		return gridmint.CommandRecord{}, err
	}
	cmd, err := EncodeSetpoint(a, st.Serial, sp)
	if err != nil {
		return gridmint.CommandRecord{}, err
	}
	// The command is the node's now: a caller that goes away (an HTTP
	// client hanging up) must not leave it half sent.
	pubCtx := context.WithoutCancel(ctx)
	release := func() {}
	var watchErr error
	if cmd.Confirm != nil && d.watch != nil {
		// Before the command goes out, so that a fast reply is seen.
		if release, watchErr = d.watch(pubCtx, cmd.Confirm.Filter); watchErr != nil {
			release = func() {}
		}
	}
	now := d.clock.Now()
	d.mu.Lock()
	d.seq++
	rec := gridmint.CommandRecord{
		ID:       commandID(now, d.seq),
		Setpoint: sp,
		Topic:    cmd.Topic,
		Payload:  string(cmd.Payload),
		SentAt:   now,
		Status:   gridmint.CommandPending,
	}
	if watchErr != nil {
		d.mu.Unlock()
		rec.Status, rec.Reason, rec.DoneAt = gridmint.CommandFailed, "not sent: cannot follow its confirmation: "+watchErr.Error(), d.clock.Now()
		d.record(rec)
		return rec, nil
	}
	if cmd.Confirm != nil {
		// Registered before publishing: a fast reply must find it.
		d.pending[rec.ID] = &pendingCommand{rec: rec, confirm: cmd.Confirm, deadline: now.Add(d.timeout), release: release}
	}
	d.mu.Unlock()
	d.record(rec)

	err = d.pub.Publish(pubCtx, cmd.Topic, cmd.QoS, cmd.Payload)
	if err == nil {
		// Follow-ups only help confirmation: their failure is not the
		// command's, which was sent; the confirmation timeout decides.
		for _, then := range cmd.Then {
			if d.pub.Publish(pubCtx, then.Topic, then.QoS, then.Payload) != nil {
				break
			}
		}
	}
	switch {
	case errors.Is(err, ErrMaybeSent) && cmd.Confirm != nil:
		// Leave it pending: a late delivery is confirmed or times out.
	case err != nil && cmd.Confirm != nil:
		if settled, ok := d.settle(rec.ID, gridmint.CommandFailed, "publish failed: "+err.Error()); ok {
			return settled, nil
		}
	case err != nil:
		rec.Status, rec.Reason, rec.DoneAt = gridmint.CommandFailed, "publish failed: "+err.Error(), d.clock.Now()
		d.record(rec)
	case cmd.Confirm == nil:
		rec.Status, rec.Reason, rec.DoneAt = gridmint.CommandConfirmed, "sent; the device does not confirm this command", d.clock.Now()
		d.record(rec)
	}
	// Otherwise pending; a reply may already have settled it, which Record
	// has seen.
	return rec, nil
}

func lastSeen(st DeviceState) string {
	if st.LastSeen.IsZero() {
		return "never"
	}
	return st.LastSeen.UTC().Format(time.RFC3339)
}

// commandID is sortable by send time (the store lists commands newest
// first by id): 16 hex digits of Unix nanoseconds and 8 of a sequence.
func commandID(t time.Time, seq uint32) string {
	return fmt.Sprintf("%016x%08x", uint64(t.UnixNano()), seq)
}

// Observe offers one received MQTT message to the pending commands; it
// returns how many it settled.
//
// Replies often carry nothing that ties them to one command (go-e answers
// "success", Tasmota reports the relay's state, AhoyDTU acks), but a
// device answers in order. So a message goes to the pending commands on
// its topic oldest first, and the first one it settles takes it: two
// commands in flight each get their own reply. When a command settles,
// older commands still pending on the same confirmation topic are
// superseded: the device moved past them (an inverter already shows the
// newer limit).
func (d *Dispatcher) Observe(topic string, payload []byte) int {
	d.mu.Lock()
	var candidates []*pendingCommand
	for _, p := range d.pending {
		if mqtttopic.Match(p.confirm.Filter, topic) {
			candidates = append(candidates, p)
		}
	}
	slices.SortFunc(candidates, func(a, b *pendingCommand) int { return strings.Compare(a.rec.ID, b.rec.ID) })
	type result struct {
		id     string
		status gridmint.CommandStatus
		reason string
	}
	var done []result
	for i, p := range candidates {
		ok, err := p.confirm.Match(topic, payload)
		if !ok {
			continue
		}
		if err != nil {
			done = append(done, result{p.rec.ID, gridmint.CommandFailed, "device refused: " + err.Error()})
		} else {
			done = append(done, result{p.rec.ID, gridmint.CommandConfirmed, "confirmed on " + topic})
		}
		for _, older := range candidates[:i] {
			if older.confirm.Filter == p.confirm.Filter && older.rec.Setpoint.Device == p.rec.Setpoint.Device {
				done = append(done, result{older.rec.ID, gridmint.CommandFailed, "superseded: the device confirmed the later command " + p.rec.ID + " first"})
			}
		}
		break
	}
	d.mu.Unlock()
	for _, r := range done {
		d.settle(r.id, r.status, r.reason)
	}
	return len(done)
}

// Expire fails every pending command whose confirmation is overdue at the
// clock's now; call it periodically.
func (d *Dispatcher) Expire() {
	now := d.clock.Now()
	var overdue []string
	d.mu.Lock()
	for id, p := range d.pending {
		if !now.Before(p.deadline) {
			overdue = append(overdue, id)
		}
	}
	d.mu.Unlock()
	for _, id := range overdue {
		d.settle(id, gridmint.CommandFailed, fmt.Sprintf("no confirmation from the device within %v", d.timeout))
	}
}

// settle ends a pending command; ok is false when it was no longer
// pending (settled meanwhile by another message).
func (d *Dispatcher) settle(id string, status gridmint.CommandStatus, reason string) (gridmint.CommandRecord, bool) {
	d.mu.Lock()
	p, ok := d.pending[id]
	if ok {
		delete(d.pending, id)
	}
	d.mu.Unlock()
	if !ok {
		return gridmint.CommandRecord{}, false
	}
	if p.release != nil {
		p.release()
	}
	rec := p.rec
	rec.Status, rec.Reason, rec.DoneAt = status, reason, d.clock.Now()
	d.record(rec)
	return rec, true
}

// Pending returns how many commands await confirmation.
func (d *Dispatcher) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}
