package firmwaresim

import (
	"context"
	"errors"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/internal/mqttstore"
)

// publishTimeout bounds how long one cycle waits for its messages to be
// handed to the network before counting them as not published. It is
// also paho's write timeout: how long one Publish may wait to be queued
// (paho's default is 30 s, per message) and one packet to be written.
const publishTimeout = 5 * time.Second

// Shutdown bounds: Run's goodbye waits at most offlineTimeout for each
// offline message, gives up on the remaining ones after shutdownBudget,
// and lets paho quiesce disconnectQuiesce per connection.
const (
	offlineTimeout    = 2 * time.Second
	shutdownBudget    = 10 * time.Second
	disconnectQuiesce = 250 // ms
)

// conn is one device's MQTT connection.
type conn struct {
	ep        endpoint
	client    mqtt.Client
	ready     chan struct{} // closed after the first subscribe + online
	readyOnce sync.Once
}

// Run connects every device to Config.Broker, each with its own client
// ID and will, subscribes to its command topics, publishes its online
// state, then calls Step every Period until ctx is done. On the way out
// each device publishes its offline state (the payload of its will, as a
// device does before a planned restart) and disconnects cleanly.
//
// Run returns nil after ctx is cancelled, and an EUnavailable error when a
// device cannot connect or subscribe within Config.ConnectTimeout (the
// broker is down or refuses). After the first connection, lost connections
// are retried by paho's auto-reconnect; cycles during an outage are
// dropped, as a device's would be. Only one Run may be active at a time.
func (s *Sim) Run(ctx context.Context) error {
	if s.cfg.Broker == "" {
		return invalid("Config.Broker is empty: Run needs tcp://host:port")
	}
	if !s.running.CompareAndSwap(false, true) {
		return gridmint.Errorf(gridmint.EConflict, "firmwaresim: Run is already active")
	}
	defer s.running.Store(false)

	var conns []*conn
	defer func() { s.disconnect(conns) }()
	for _, ep := range s.endpoints() {
		c, err := s.connect(ctx, ep)
		if c != nil {
			conns = append(conns, c)
		}
		if ctx.Err() != nil {
			return nil // cancelled while connecting: a normal shutdown
		}
		if err != nil {
			return err
		}
	}
	s.log.Info("devices connected", "broker", s.cfg.Broker, "devices", len(conns))

	s.Step(s.clock.Now())
	// The publish cycle is a wall-clock pace; each Step reads the sim clock.
	tick := time.NewTicker(s.cfg.Period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			s.Step(s.clock.Now())
		}
	}
}

// connect opens ep's connection and waits until it has subscribed and
// announced itself. The returned conn, when not nil, must be disconnected
// even if err is not nil.
func (s *Sim) connect(ctx context.Context, ep endpoint) (*conn, error) {
	s.mu.Lock()
	will, subs, id := ep.will(), ep.subscriptions(), ep.clientID()
	s.mu.Unlock()

	c := &conn{ep: ep, ready: make(chan struct{})}
	opts := mqtt.NewClientOptions().
		AddBroker(s.cfg.Broker).
		SetClientID(id).
		SetCleanSession(true).
		SetKeepAlive(30 * time.Second).
		SetStore(mqttstore.New()). // paho's MemoryStore races on resume (upstream #703)
		SetConnectTimeout(s.cfg.ConnectTimeout).
		SetWriteTimeout(publishTimeout).
		SetConnectRetry(false). // the first connect must fail fast and clearly
		SetAutoReconnect(true).
		SetMaxReconnectInterval(30 * time.Second).
		SetOnConnectHandler(func(cl mqtt.Client) { s.onConnect(c, cl, subs) }).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			s.log.Warn("connection lost, reconnecting", "device", id, "err", err)
		})
	if will.Topic != "" { // a Victron GX has no last will
		opts.SetWill(will.Topic, will.Payload, will.QoS, will.Retained)
	}
	c.client = mqtt.NewClient(opts)

	tok := c.client.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return c, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, unavailable("connect %s to MQTT broker %s: %v", id, s.cfg.Broker, err)
	}
	s.connMu.Lock()
	s.conns[id] = c
	s.connMu.Unlock()

	timer := time.NewTimer(s.cfg.ConnectTimeout) // wall clock: a network timeout
	defer timer.Stop()
	select {
	case <-c.ready:
		return c, nil
	case <-timer.C:
		return c, unavailable("%s: subscribing at MQTT broker %s took longer than %v", id, s.cfg.Broker, s.cfg.ConnectTimeout)
	case <-ctx.Done():
		return c, ctx.Err()
	}
}

func unavailable(format string, args ...any) error {
	return gridmint.Errorf(gridmint.EUnavailable, "firmwaresim: "+format, args...)
}

// onConnect runs on every (re)connect, in its own goroutine (paho): it
// subscribes to the device's command topics and publishes its online
// state. Subscriptions come first so a retained command is seen at once,
// as after a real reboot.
func (s *Sim) onConnect(c *conn, cl mqtt.Client, subs []string) {
	id := c.ep.clientID()
	for _, topic := range subs {
		t := cl.Subscribe(topic, 0, func(_ mqtt.Client, m mqtt.Message) { s.onMessage(c, m) })
		if !t.WaitTimeout(s.cfg.ConnectTimeout) {
			s.log.Error("subscribe timed out", "device", id, "topic", topic)
			return
		}
		if err := t.Error(); err != nil {
			s.log.Error("subscribe failed", "device", id, "topic", topic, "err", err)
			return
		}
	}
	s.mu.Lock()
	msgs := c.ep.onConnect(s.clock.Now())
	s.mu.Unlock()
	s.publishOn(map[string]*conn{id: c}, msgs)
	c.readyOnce.Do(func() { close(c.ready) })
	s.log.Info("device online", "device", id, "subscriptions", subs)
}

// onMessage handles one command. It runs on paho's router goroutine, so it
// must not wait for publish tokens: replies are fire-and-forget.
func (s *Sim) onMessage(c *conn, m mqtt.Message) {
	for _, r := range s.command(c.ep, m.Topic(), m.Payload(), m.Retained()) {
		if c.client.IsConnectionOpen() {
			c.client.Publish(r.Topic, r.QoS, r.Retained, r.Payload)
			s.published.Add(1)
		}
	}
}

// publish sends Step's messages on their devices' connections, if Run is
// connected.
func (s *Sim) publish(msgs []Message) {
	s.connMu.Lock()
	if len(s.conns) == 0 {
		s.connMu.Unlock()
		return
	}
	conns := make(map[string]*conn, len(s.conns))
	for id, c := range s.conns {
		conns[id] = c
	}
	s.connMu.Unlock()
	s.publishOn(conns, msgs)
}

// publishOn publishes msgs on the matching connections and waits for them
// to be written, so cycles do not pile up behind a slow broker.
func (s *Sim) publishOn(conns map[string]*conn, msgs []Message) {
	tokens := make([]mqtt.Token, 0, len(msgs))
	for _, m := range msgs {
		c := conns[m.Device]
		if c == nil || !c.client.IsConnectionOpen() {
			continue // a device without a connection loses the cycle
		}
		tokens = append(tokens, c.client.Publish(m.Topic, m.QoS, m.Retained, m.Payload))
	}
	deadline := time.Now().Add(publishTimeout) // wall clock: a network timeout
	var failed error
	for _, t := range tokens {
		if t.WaitTimeout(time.Until(deadline)) && t.Error() == nil {
			s.published.Add(1)
		} else if failed == nil {
			failed = t.Error()
			if failed == nil {
				failed = errors.New("timed out")
			}
		}
	}
	if failed != nil {
		s.log.Warn("publish failed", "err", failed)
	}
}

// disconnect announces every device offline (a device without a will,
// the Victron GX, says nothing) and closes its connection. It returns
// within about shutdownBudget plus disconnectQuiesce per connection,
// whatever state the connections or the broker are in: once the budget is
// spent, the remaining devices disconnect without their offline message.
func (s *Sim) disconnect(conns []*conn) {
	s.connMu.Lock()
	s.conns = map[string]*conn{}
	s.connMu.Unlock()
	budget := time.Now().Add(shutdownBudget) // wall clock: a shutdown bound
	for _, c := range conns {
		s.mu.Lock()
		w := c.ep.will()
		s.mu.Unlock()
		if w.Topic != "" && c.client.IsConnectionOpen() {
			if wait := min(offlineTimeout, time.Until(budget)); wait <= 0 {
				s.log.Warn("offline message not sent: shutdown took too long", "device", c.ep.clientID())
			} else if t := c.client.Publish(w.Topic, w.QoS, w.Retained, w.Payload); !t.WaitTimeout(wait) || t.Error() != nil {
				s.log.Warn("offline message not confirmed", "device", c.ep.clientID(), "err", t.Error())
			} else {
				s.published.Add(1)
			}
		}
		c.client.Disconnect(disconnectQuiesce)
		s.log.Info("device disconnected", "device", c.ep.clientID())
	}
}
