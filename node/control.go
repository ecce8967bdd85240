package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
)

// commandLog writes command records to the store from one goroutine, so
// that neither the MQTT handler (confirmations) nor the API waits on a
// disk sync for the audit log.
type commandLog struct {
	store *store.Store
	in    chan gridmint.CommandRecord
	log   *slog.Logger
}

func newCommandLog(st *store.Store, log *slog.Logger) *commandLog {
	return &commandLog{store: st, in: make(chan gridmint.CommandRecord, 1024), log: log}
}

// Record queues a record; when 1024 are already waiting it writes this
// one itself rather than drop it or wait for the queue.
func (c *commandLog) Record(r gridmint.CommandRecord) {
	select {
	case c.in <- r:
	default:
		c.write(r)
	}
}

// run writes queued records in batches until ctx is done, then drains.
func (c *commandLog) run(ctx context.Context) {
	for {
		select {
		case r := <-c.in:
			c.write(r)
		case <-ctx.Done():
			for {
				select {
				case r := <-c.in:
					c.write(r)
				default:
					return
				}
			}
		}
	}
}

func (c *commandLog) write(first gridmint.CommandRecord) {
	b := c.store.NewBatch()
	b.PutCommand(first)
	for len(c.in) > 0 && b.Len() < store.MaxBatchLen {
		b.PutCommand(<-c.in)
	}
	if err := c.store.Commit(b); err != nil {
		c.log.Error("writing command records", "err", err)
	}
}

// TickerClock is gridmint.TickerClock: a Clock that also makes tickers
// in its own time. The node's periodic work (keep-alives, confirmation
// timeouts, Home Assistant updates) runs on the node's clock, so a demo
// clock running faster (gridmint.ScaledClock) keeps every period in step.
type TickerClock = gridmint.TickerClock

func newTicker(clock gridmint.Clock, d time.Duration) (<-chan time.Time, func()) {
	return gridmint.NewTicker(clock, d)
}

// keepAlive publishes each KeepAliver adapter's keep-alives (Victron's
// dbus-flashmq publishes only while it gets them) until ctx is done.
func keepAlive(ctx context.Context, a devices.KeepAliver, pub devices.Publisher, clock gridmint.Clock, log *slog.Logger) {
	send := func() {
		for _, c := range a.KeepAlive() {
			if err := pub.Publish(ctx, c.Topic, c.QoS, c.Payload); err != nil && ctx.Err() == nil {
				log.Warn("keep-alive not sent", "topic", c.Topic, "err", err)
			}
		}
	}
	send()
	every(ctx, clock, a.KeepAliveInterval(), send)
}

// every runs f every d of clock time until ctx is done.
func every(ctx context.Context, clock gridmint.Clock, d time.Duration, f func()) {
	c, stop := newTicker(clock, d)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c:
			f()
		}
	}
}

// lazyPublisher forwards to the control connection once it exists: the
// dispatcher is built before the connection, whose handler needs it.
type lazyPublisher struct{ n *Node }

func (p lazyPublisher) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	if p.n.control == nil {
		return gridmint.Errorf(gridmint.EUnavailable, "not connected to the broker yet")
	}
	return p.n.control.Publish(ctx, topic, qos, payload)
}

// Watch is controlClient.Watch once the connection exists.
func (p lazyPublisher) Watch(ctx context.Context, filter string) (func(), error) {
	if p.n.control == nil {
		return nil, gridmint.Errorf(gridmint.EUnavailable, "not connected to the broker yet")
	}
	return p.n.control.Watch(ctx, filter)
}

// bothRooms waits for each in turn.
type bothRooms []roomWaiter

func (b bothRooms) wait(ctx context.Context) error {
	for _, r := range b {
		if err := r.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// loadOrCreateToken reads the API token from path, creating a random one
// (256 bits, hex) on first start.
func loadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		tok := strings.TrimSpace(string(b))
		if err := checkToken(tok); err != nil {
			return "", fmt.Errorf("api token %s: %v; fix the file, or delete it and a new token is made at start", path, err)
		}
		return tok, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("api token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	tok := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("api token: %w", err)
	}
	return tok, nil
}

// minTokenLen is the shortest API token accepted: 16 characters of the
// 94 printable ones are about 105 bits.
const minTokenLen = 16

// checkToken refuses a token that no client could ever send: one that is
// short, or holds anything but printable ASCII (a file of zero bytes, a
// space, a stray byte-order mark), which cannot travel in an
// Authorization header.
func checkToken(tok string) error {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("byte %d is 0x%02x; a token is printable ASCII without spaces", i, c)
		}
	}
	if len(tok) < minTokenLen {
		return fmt.Errorf("%d characters; want at least %d", len(tok), minTokenLen)
	}
	return nil
}

// nodeControl is the node as the API's Control.
type nodeControl struct{ n *Node }

func (c nodeControl) Device(id gridmint.DeviceID) (devices.DeviceState, bool) {
	st, _, ok := c.n.ingest.Device(id)
	return st, ok
}

// EditDevice stores the edit first, then applies it to the live
// registry: a crash in between leaves the store ahead, which the next
// start loads. Edits are serialised, so two cannot undo each other.
func (c nodeControl) EditDevice(_ context.Context, id gridmint.DeviceID, edit func(gridmint.Device) (gridmint.Device, error)) (devices.DeviceState, error) {
	c.n.editMu.Lock()
	defer c.n.editMu.Unlock()
	if err := c.n.disk.check("api"); err != nil {
		return devices.DeviceState{}, err
	}
	old, _, ok := c.n.ingest.Device(id)
	if !ok {
		return devices.DeviceState{}, gridmint.Errorf(gridmint.ENotFound, "no device %s", id)
	}
	d, err := edit(old.Device)
	if err != nil {
		return devices.DeviceState{}, err
	}
	if d.ID != old.ID || d.Dialect != old.Dialect || d.Serial != old.Serial || !d.FirstSeen.Equal(old.FirstSeen) {
		return devices.DeviceState{}, gridmint.Errorf(gridmint.EInvalid, "device %s: id, dialect, serial and first seen cannot change", id)
	}
	if d.Site != old.Site {
		d = c.n.sites.WithDefaults(d)
	}
	if err := d.Validate(); err != nil {
		return devices.DeviceState{}, err
	}
	check := d
	if _, ok := c.n.sites.Site(d.Site); !ok && d.Site == old.Site {
		// A site the configuration dropped stays on its devices (it says
		// where they were) until an edit moves them; other edits need
		// not move them first.
		check.Site = ""
	}
	if err := c.n.sites.Check(check); err != nil {
		return devices.DeviceState{}, err
	}
	b := c.n.store.NewBatch()
	b.PutDevice(d)
	if err := c.n.store.Commit(b); err != nil {
		return devices.DeviceState{}, err
	}
	if err := c.n.ingest.UpdateDevice(d); err != nil {
		return devices.DeviceState{}, err
	}
	st, _, _ := c.n.ingest.Device(id)
	return st, nil
}

func (c nodeControl) Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error) {
	return c.n.store.Readings(id, from, to, limit)
}

// Send refuses a setpoint while the disk is below its reserve: every
// command is kept in the audit log, and there would be no room for it.
func (c nodeControl) Send(ctx context.Context, sp gridmint.Setpoint) (gridmint.CommandRecord, error) {
	if err := c.n.disk.check("api"); err != nil {
		return gridmint.CommandRecord{}, err
	}
	return c.n.dispatcher.Send(ctx, sp)
}

// Command reads the audit log. Records are written asynchronously, so a
// command sent a moment ago may not be readable for a few milliseconds.
func (c nodeControl) Command(id string) (gridmint.CommandRecord, error) {
	return c.n.store.Command(id)
}

func (c nodeControl) Commands(device gridmint.DeviceID, cursor string, limit int) ([]gridmint.CommandRecord, string, error) {
	return c.n.store.Commands(device, cursor, limit)
}
