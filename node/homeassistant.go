package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// haPublisher keeps Home Assistant's view of the node's devices current:
// discovery configs when a device appears or changes what it reports,
// state when values change, availability when it flips, and every config
// again when HA announces itself (its birth message). One goroutine owns
// it.
type haPublisher struct {
	cfg     devices.HAConfig
	devices interface{ Devices() []devices.DeviceState }
	pub     interface {
		PublishRetained(ctx context.Context, topic string, payload []byte) error
	}
	log   *slog.Logger
	clock gridmint.Clock
	birth chan struct{}

	// What HA was last told, per device.
	configured map[gridmint.DeviceID]haConfigKey
	state      map[gridmint.DeviceID]haStateKey
	online     map[gridmint.DeviceID]bool
}

// haConfigKey is what a device's configs depend on.
type haConfigKey struct {
	name   string
	kind   gridmint.DeviceKind
	fields gridmint.ReadingFields
}

type haStateKey struct {
	fields                gridmint.ReadingFields
	power                 gridmint.W
	energy, energyReverse gridmint.MWh
	soc                   float64
}

// haInterval is how often the publisher looks for changes: HA's energy
// dashboard works in hours, power cards in seconds.
const haInterval = 5 * time.Second

func newHAPublisher(cfg devices.HAConfig, devs interface{ Devices() []devices.DeviceState }, clock gridmint.Clock, log *slog.Logger) *haPublisher {
	return &haPublisher{
		cfg: cfg, devices: devs, log: log, clock: clock, birth: make(chan struct{}, 1),
		configured: map[gridmint.DeviceID]haConfigKey{}, state: map[gridmint.DeviceID]haStateKey{}, online: map[gridmint.DeviceID]bool{},
	}
}

// birthTopic is where HA announces itself.
func (h *haPublisher) birthTopic() string {
	p := h.cfg.DiscoveryPrefix
	if p == "" {
		p = "homeassistant"
	}
	return p + "/status"
}

// onBirth asks for every config to be published again (HA restarted and
// may have lost non-retained state).
func (h *haPublisher) onBirth(payload []byte) {
	if string(payload) != "online" {
		return
	}
	select {
	case h.birth <- struct{}{}:
	default:
	}
}

func (h *haPublisher) run(ctx context.Context) {
	h.pass(ctx)
	tick, stop := newTicker(h.clock, haInterval)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.birth:
			h.configured = map[gridmint.DeviceID]haConfigKey{}
			h.pass(ctx)
		case <-tick:
			h.pass(ctx)
		}
	}
}

// haInFlight bounds how many devices' messages are out at once in a
// pass. A broker that is slow to acknowledge (a node whose store is
// behind holds up its own MQTT client) then costs one publish timeout per
// pass, not one per device.
const haInFlight = 16

// haUpdate is what a pass tells HA about one device: its configs, state
// and availability where they changed, in that order (HA learns the state
// topic from the config).
type haUpdate struct {
	id     gridmint.DeviceID
	config *haConfigKey
	state  *haStateKey
	online *bool
	msgs   [3][]devices.HAMessage // config, state, availability
	sent   int                    // how many of msgs' groups the broker took
}

// pass publishes what changed since the last pass. Devices are served
// concurrently and independently: a message the broker does not take
// leaves that device's rest for the next pass, while every other device
// still gets its update now. (Giving up the whole pass at the first error
// and starting again from the first device next time would starve the
// devices late in the list whenever the broker is slow.)
func (h *haPublisher) pass(ctx context.Context) {
	var updates []*haUpdate
	for _, st := range h.devices.Devices() {
		u := &haUpdate{id: st.ID}
		ck := haConfigKey{name: st.Name + "\x00" + st.ReportedName, kind: st.Kind, fields: st.Fields}
		if old, ok := h.configured[st.ID]; !ok || old != ck {
			u.config, u.msgs[0] = &ck, h.cfg.HAConfigs(st)
		}
		sk := haStateKey{st.Fields, st.Power, st.Energy, st.EnergyReverse, st.SoC}
		if old, ok := h.state[st.ID]; st.Fields != 0 && (!ok || old != sk) {
			u.state, u.msgs[1] = &sk, []devices.HAMessage{h.cfg.HAState(st)}
		}
		if old, ok := h.online[st.ID]; !ok || old != st.Online {
			on := st.Online
			u.online, u.msgs[2] = &on, []devices.HAMessage{h.cfg.HAAvailability(st)}
		}
		if u.config != nil || u.state != nil || u.online != nil {
			updates = append(updates, u)
		}
	}
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, haInFlight)
		mu       sync.Mutex
		failed   int
		firstErr error
	)
	for _, u := range updates {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := h.send(ctx, u); err != nil {
				mu.Lock()
				failed++
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Only this goroutine touches the maps: mark what went out.
	for _, u := range updates {
		if u.sent > 0 && u.config != nil {
			h.configured[u.id] = *u.config
		}
		if u.sent > 1 && u.state != nil {
			h.state[u.id] = *u.state
		}
		if u.sent > 2 && u.online != nil {
			h.online[u.id] = *u.online
		}
	}
	if failed > 0 && ctx.Err() == nil {
		h.log.Debug("home assistant publish deferred to the next pass", "devices", failed, "of", len(updates), "err", firstErr)
	}
}

// send publishes u's messages in order and records in u.sent how many
// groups the broker took; it stops at the first error (nothing after it is
// marked as sent, so the next pass tries again).
func (h *haPublisher) send(ctx context.Context, u *haUpdate) error {
	for _, group := range u.msgs {
		for _, m := range group {
			if err := h.pub.PublishRetained(ctx, m.Topic, m.Payload); err != nil {
				return err
			}
		}
		u.sent++
	}
	return nil
}
