package node

import (
	"context"
	"log/slog"
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

// pass publishes what changed since the last pass.
func (h *haPublisher) pass(ctx context.Context) {
	for _, st := range h.devices.Devices() {
		ck := haConfigKey{name: st.Name + "\x00" + st.ReportedName, kind: st.Kind, fields: st.Fields}
		if old, ok := h.configured[st.ID]; !ok || old != ck {
			if !h.send(ctx, h.cfg.HAConfigs(st)...) {
				return
			}
			h.configured[st.ID] = ck
		}
		sk := haStateKey{st.Fields, st.Power, st.Energy, st.EnergyReverse, st.SoC}
		if old, ok := h.state[st.ID]; st.Fields != 0 && (!ok || old != sk) {
			if !h.send(ctx, h.cfg.HAState(st)) {
				return
			}
			h.state[st.ID] = sk
		}
		if old, ok := h.online[st.ID]; !ok || old != st.Online {
			if !h.send(ctx, h.cfg.HAAvailability(st)) {
				return
			}
			h.online[st.ID] = st.Online
		}
	}
}

// send publishes msgs; false when the broker is unreachable (the next pass
// tries again: nothing was marked as sent).
func (h *haPublisher) send(ctx context.Context, msgs ...devices.HAMessage) bool {
	for _, m := range msgs {
		if err := h.pub.PublishRetained(ctx, m.Topic, m.Payload); err != nil {
			if ctx.Err() == nil {
				h.log.Debug("home assistant publish deferred", "topic", m.Topic, "err", err)
			}
			return false
		}
	}
	return true
}
