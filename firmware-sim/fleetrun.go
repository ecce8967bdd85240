package firmwaresim

import (
	"context"
	"errors"
	"fmt"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
)

// shard is a group of homes sharing one MQTT connection (ConnShared).
type shard struct {
	index  int
	homes  []*Sim
	client *liteClient
	routes map[string][]route // first level of the filter → routes
	wild   []route            // filters starting with a wildcard
}

// route sends the commands matching filter to one device.
type route struct {
	filter string
	home   *Sim
	ep     endpoint
}

// Run connects the fleet to FleetConfig.Broker and steps every home each
// Period until ctx is done; then every device says it is offline and the
// connections close. In ConnPerDevice mode each home runs Sim.Run (one
// connection per device, with its will); in ConnShared mode each shard of
// homes shares one connection (see the fleet.go file comment) and the
// shards' cycles are spread evenly over the Period, as real devices'
// would be, rather than all at once.
//
// Run returns nil after ctx is cancelled and an EUnavailable error when a
// connection cannot be made within the connect timeout. Only one Run may
// be active at a time.
func (f *Fleet) Run(ctx context.Context) error {
	if f.cfg.Broker == "" {
		return invalid("FleetConfig.Broker is empty: Run needs tcp://host:port")
	}
	if !f.running.CompareAndSwap(false, true) {
		return gridmint.Errorf(gridmint.EConflict, "firmwaresim: fleet Run is already active")
	}
	defer f.running.Store(false)
	if f.mode == ConnPerDevice {
		return f.runPerDevice(ctx)
	}
	return f.runShared(ctx)
}

func (f *Fleet) runPerDevice(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(f.homes))
	var wg sync.WaitGroup
	for i, s := range f.homes {
		wg.Go(func() {
			if err := s.Run(ctx); err != nil {
				errs[i] = fmt.Errorf("home %d: %w", i+1, err)
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}

func (f *Fleet) runShared(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	hpc := f.cfg.HomesPerConnection
	var shards []*shard
	for i := 0; i < len(f.homes); i += hpc {
		sh, err := f.newShard(len(shards), f.homes[i:min(i+hpc, len(f.homes))])
		if err != nil {
			return err
		}
		shards = append(shards, sh)
	}
	f.shardMu.Lock()
	f.shards = shards
	f.shardMu.Unlock()
	defer func() {
		cancel() // stops the keepers before the goodbyes
		var wg sync.WaitGroup
		for _, sh := range shards {
			wg.Go(func() { sh.goodbye(f.cfg.ShutdownBudget) })
		}
		wg.Wait()
		var bytes uint64
		for _, sh := range shards {
			bytes += sh.client.bytes.Load()
		}
		f.shardMu.Lock()
		f.shards = nil
		f.bytesDone += bytes
		f.shardMu.Unlock()
	}()

	// Connect a few shards at a time: each subscribes to hundreds of
	// filters, and the broker answers faster than one at a time.
	sem := make(chan struct{}, 8)
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, sh := range shards {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := sh.client.start(ctx); err != nil {
				errs[i] = err
				cancel()
			}
		})
	}
	wg.Wait()
	if parent.Err() != nil {
		return nil // cancelled while connecting: a normal shutdown
	}
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return unavailable("shard %d (client %s) at MQTT broker %s: %v", i, shards[i].client.clientID, f.cfg.Broker, err)
		}
	}
	f.log.Info("fleet connected", "broker", f.cfg.Broker, "homes", len(f.homes), "connections", len(shards))

	period := f.cfg.Period
	for i, sh := range shards {
		offset := period * time.Duration(i) / time.Duration(len(shards))
		wg.Go(func() { f.loop(ctx, sh, offset) })
	}
	wg.Wait()
	return nil
}

// newShard builds shard n's connection and command routes.
func (f *Fleet) newShard(n int, homes []*Sim) (*shard, error) {
	id := f.cfg.ClientPrefix + "fleet-" + strconv.Itoa(n)
	if f.cfg.Name != "" {
		id = f.cfg.ClientPrefix + f.cfg.Name + "-" + strconv.Itoa(n)
	}
	timeout := max(f.cfg.ConnectTimeout, 30*time.Second)
	c, err := newLiteClient(f.cfg.Broker, id, timeout, f.log.With("shard", n))
	if err != nil {
		return nil, err
	}
	sh := &shard{index: n, homes: homes, client: c, routes: map[string][]route{}}
	for _, s := range homes {
		s.mu.Lock()
		for _, ep := range s.endpoints() {
			for _, filter := range ep.subscriptions() {
				c.subs = append(c.subs, filter)
				r := route{filter: filter, home: s, ep: ep}
				first, _, _ := strings.Cut(filter, "/")
				if first == "+" || first == "#" {
					sh.wild = append(sh.wild, r)
					continue
				}
				sh.routes[first] = append(sh.routes[first], r)
			}
		}
		s.mu.Unlock()
	}
	c.onMessage = func(topic string, payload []byte, retained bool) {
		f.route(sh, topic, payload, retained)
	}
	c.onConnect = func() { sh.hello(f.clock.Now()) }
	return sh, nil
}

// route hands a command to every device whose subscription it matches
// and publishes their replies.
func (f *Fleet) route(sh *shard, topic string, payload []byte, retained bool) {
	first, _, _ := strings.Cut(topic, "/")
	var replies []Message
	for _, rs := range [][]route{sh.routes[first], sh.wild} {
		for _, r := range rs {
			if mqtttopic.Match(r.filter, topic) {
				replies = append(replies, r.home.command(r.ep, topic, payload, retained)...)
			}
		}
	}
	if len(replies) > 0 {
		f.published.Add(uint64(sh.client.publish(replies)))
	}
}

// hello publishes what every online device of the shard publishes on
// connect (its online state).
func (sh *shard) hello(now time.Time) {
	var msgs []Message
	for _, s := range sh.homes {
		s.mu.Lock()
		for _, ep := range s.endpoints() {
			if !s.faults.offline(ep.clientID()) {
				msgs = append(msgs, ep.onConnect(now)...)
			}
		}
		s.mu.Unlock()
	}
	sh.client.publish(msgs)
}

// goodbye publishes every device's will payload, as each device does
// before a planned restart, waits (within budget) until the broker
// has acknowledged them, and disconnects. Without the wait a loaded
// broker could still be reading the wills when the connection closes,
// and lose them: every device would stay "online" in its retained state.
func (sh *shard) goodbye(budget time.Duration) {
	sh.client.waitKeeper() // no reconnect's hello after the wills
	var msgs []Message
	for _, s := range sh.homes {
		s.mu.Lock()
		for _, ep := range s.endpoints() {
			if w := ep.will(); w.Topic != "" {
				msgs = append(msgs, w)
			}
		}
		s.mu.Unlock()
	}
	if n, err := sh.client.publishConfirmed(msgs, time.Now().Add(budget)); err != nil {
		sh.client.log.Warn("offline messages not confirmed", "client", sh.client.clientID, "confirmed", n, "of", len(msgs), "err", err)
	}
	sh.client.disconnect()
}

// loop steps the shard's homes every Period, starting offset into it.
func (f *Fleet) loop(ctx context.Context, sh *shard, offset time.Duration) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(offset): // wall clock: spreads the shards over a cycle
	}
	// The publish cycle is a wall-clock pace (and lateness is measured in
	// wall time); each Step reads the sim clock.
	tick := time.NewTicker(f.cfg.Period)
	defer tick.Stop()
	var buf []Message
	for {
		start := time.Now()
		now := f.clock.Now()
		buf = buf[:0]
		for _, s := range sh.homes {
			buf = append(buf, s.Step(now)...)
		}
		f.published.Add(uint64(sh.client.publish(buf)))
		if time.Since(start) > f.cfg.Period {
			f.late.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
