package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/internal/mqttstore"
	"github.com/gridmint/gridmint/internal/mqtttopic"
)

// The node holds two broker connections. The telemetry one (client ID
// mqtt.client_id) takes the devices' telemetry in a persistent session
// and acknowledges each message once stored: when the store falls behind,
// its handler blocks, paho stops reading that connection, and everything
// after on it waits too, the broker's acknowledgements of our own
// publishes included. The control one (<client_id>-control, a clean
// session) carries what must not wait behind that backlog: setpoint
// commands and keep-alives, Home Assistant discovery and state, the
// devices' replies, and the topics a pending command is confirmed on,
// subscribed only while one is pending (controlClient.Watch).

// mqttClient is the node's telemetry connection: it subscribes to every
// adapter's topics with QoS 1 in a persistent session and hands each
// message to onMessage with the function that acknowledges it; the
// pipeline acknowledges telemetry once stored. It publishes nothing:
// everything the node sends goes out on the control connection.
type mqttClient struct {
	client    paho.Client
	connected atomic.Bool
	qos0      atomic.Bool // the broker granted less than QoS 1
	log       *slog.Logger
}

// mqttPassword is cfg's password, from its file if it names one.
func mqttPassword(cfg MQTTConfig) (string, error) {
	if cfg.PasswordFile == "" {
		return cfg.Password, nil
	}
	b, err := os.ReadFile(cfg.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("mqtt.password_file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// waitConnected waits for c's first connection: with ConnectRetry the
// token completes only once connected, so a wrong URL would wait forever.
func waitConnected(ctx context.Context, c paho.Client, t paho.Token, broker string) error {
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fmt.Errorf("mqtt: connect to %s: %w", RedactURL(broker), err)
		}
		return nil
	case <-time.After(15 * time.Second): // wall clock: a network timeout
		c.Disconnect(0)
		return fmt.Errorf("mqtt: no connection to %s after 15 s (is the broker running? check mqtt.broker)", RedactURL(broker))
	case <-ctx.Done():
		c.Disconnect(0)
		return ctx.Err()
	}
}

// clientOptions are what both of the node's connections share: the
// broker and login, messages handed over in order, and reconnecting for
// ever with backoff.
func clientOptions(cfg MQTTConfig, clientID, password string) *paho.ClientOptions {
	return paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(clientID).
		SetUsername(cfg.Username).
		SetPassword(password).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetStore(mqttstore.New()) // paho's MemoryStore races on resume (upstream #703)
}

// connectSubscribed connects c and waits for the first subscription's
// result on firstSub (sent by the on-connect handler), so that the caller
// goes on only once the broker routes subs to the session.
func connectSubscribed(ctx context.Context, c paho.Client, firstSub <-chan error, broker string, subs []string) error {
	if err := waitConnected(ctx, c, c.Connect(), broker); err != nil {
		return err
	}
	select {
	case err := <-firstSub:
		if err != nil {
			c.Disconnect(0)
			return fmt.Errorf("mqtt: subscribe to %v at %s: %w", subs, RedactURL(broker), err)
		}
		return nil
	case <-ctx.Done():
		c.Disconnect(0)
		return ctx.Err()
	}
}

func connectMQTT(ctx context.Context, cfg MQTTConfig, subs []string, onMessage func(devices.Message, func()), clock gridmint.Clock, log *slog.Logger) (*mqttClient, error) {
	password, err := mqttPassword(cfg)
	if err != nil {
		return nil, err
	}
	mc := &mqttClient{log: log.With("component", "mqtt")}
	handler := func(_ paho.Client, m paho.Message) {
		payload, size := m.Payload(), 0
		if len(payload) > devices.MaxPayload {
			// No adapter reads it, and it would wait in the pipeline's
			// queue whole: keep a copy of its head for the quarantine, so
			// the rest can be freed now (see devices.Message.Size).
			payload, size = bytes.Clone(payload[:devices.MaxPayload]), len(payload)
		}
		onMessage(devices.Message{Topic: m.Topic(), Payload: payload, Size: size, Received: clock.Now(), Redelivered: m.Duplicate(), Retained: m.Retained()}, m.Ack)
	}
	// firstSub reports the first subscription's result, so that Start
	// returns only once the broker routes our topics to our session.
	firstSub := make(chan error, 1)
	var subscribedOnce atomic.Bool
	// One handler for every message (the default one): paho keeps a route
	// per filter given a callback and tries every route on every message,
	// a cost that grows with the adapters and runs a message through the
	// handler once per matching filter. The node routes it once instead
	// (devices.CheckRoutes). Filters another one covers are left out: the
	// broker would send such a message once per matching subscription.
	subs = mqtttopic.Minimal(subs)
	filters := make(map[string]byte, len(subs))
	for _, s := range subs {
		filters[s] = 1
	}
	opts := clientOptions(cfg, cfg.ClientID, password).
		// A persistent session: the broker keeps QoS 1 messages for us
		// while we are down and re-sends those we did not acknowledge.
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetDefaultPublishHandler(handler).
		SetOnConnectHandler(func(c paho.Client) {
			mc.connected.Store(true)
			mc.log.Info("connected", "broker", RedactURL(cfg.Broker), "subscriptions", len(subs))
			// Subscribe on every connect: a broker that lost our session
			// (restart without persistence) must learn the filters again.
			t := c.SubscribeMultiple(filters, nil)
			go func() {
				err := mc.checkSubscription(t)
				if err != nil {
					mc.log.Error("subscribe failed", "err", err)
				}
				if subscribedOnce.CompareAndSwap(false, true) {
					firstSub <- err
				}
			}()
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			mc.connected.Store(false)
			mc.log.Warn("connection lost; reconnecting", "err", err)
		})
	mc.client = paho.NewClient(opts)
	if err := connectSubscribed(ctx, mc.client, firstSub, cfg.Broker, subs); err != nil {
		return nil, err
	}
	return mc, nil
}

// checkSubscription waits for the SUBACK (checkGranted) and notes
// whether the broker granted only QoS 0: it will not re-deliver what a
// crashed node did not store.
func (mc *mqttClient) checkSubscription(t paho.Token) error {
	granted, err := checkGranted(t)
	if err != nil {
		return err
	}
	degraded := false
	for filter, qos := range granted {
		if qos < 1 {
			degraded = true
			mc.log.Warn("broker granted QoS 0: messages are not acknowledged, so a crash can lose what was in flight", "filter", filter)
		}
	}
	mc.qos0.Store(degraded)
	return nil
}

// publishTimeout bounds waiting for the broker to take a message.
const publishTimeout = 10 * time.Second

func publishOn(ctx context.Context, c paho.Client, topic string, qos byte, retained bool, payload []byte) error {
	if !c.IsConnectionOpen() {
		return gridmint.Errorf(gridmint.EUnavailable, "not connected to the broker")
	}
	t := c.Publish(topic, qos, retained, payload)
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (%v)", topic, devices.ErrMaybeSent, ctx.Err())
	case <-time.After(publishTimeout): // wall clock: a network timeout
		return fmt.Errorf("broker did not take %s within %v: %w", topic, publishTimeout, devices.ErrMaybeSent)
	}
}

// Connected reports whether the broker connection is up.
func (mc *mqttClient) Connected() bool { return mc.connected.Load() }

// Close disconnects, waiting briefly for in-flight work.
func (mc *mqttClient) Close() {
	mc.client.Disconnect(250)
	mc.connected.Store(false)
}

// controlClient is the node's control connection (client ID
// <mqtt.client_id>-control): commands and keep-alives go out on it, and
// what confirms them comes in on it, so neither waits behind telemetry
// the store has not caught up with. It subscribes to the adapters' reply
// topics and, while a command is pending, to the topic it is confirmed
// on (Watch), and hands every message to onMessage, acknowledged at once:
// a reply is only looked at, never stored. Its session is clean: a reply
// that comes while the node is down confirms nothing (the command then
// fails at start), and a crash leaves no subscription behind at the
// broker.
type controlClient struct {
	client    paho.Client
	connected atomic.Bool
	replies   []string // the adapters' reply filters, minimal
	log       *slog.Logger

	mu      sync.Mutex
	watched map[string]*watch // confirmation topics of pending commands
}

// watch is one confirmation filter subscribed for n pending commands.
type watch struct {
	n     int
	ready chan struct{} // closed once the broker answered the SUBSCRIBE
	err   error         // its refusal, set before ready is closed
}

// ControlClientSuffix ends the control connection's client ID: the
// telemetry connection is mqtt.client_id, the control one
// mqtt.client_id + ControlClientSuffix.
const ControlClientSuffix = "-control"

func connectControl(ctx context.Context, cfg MQTTConfig, replies []string, onMessage func(topic string, payload []byte), log *slog.Logger) (*controlClient, error) {
	password, err := mqttPassword(cfg)
	if err != nil {
		return nil, err
	}
	cc := &controlClient{replies: mqtttopic.Minimal(replies), log: log.With("component", "mqtt-control"), watched: map[string]*watch{}}
	firstSub := make(chan error, 1)
	var subscribedOnce atomic.Bool
	// In order (clientOptions): a device answers commands in order, and
	// the dispatcher gives a reply to the oldest command it fits. The
	// handler only matches pending commands, so it never blocks.
	opts := clientOptions(cfg, cfg.ClientID+ControlClientSuffix, password).
		SetCleanSession(true).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { onMessage(m.Topic(), m.Payload()) }).
		SetOnConnectHandler(func(c paho.Client) {
			cc.connected.Store(true)
			// A clean session: every connect subscribes again, the
			// confirmation topics of commands still pending included.
			filters := map[string]byte{}
			for _, f := range cc.replies {
				filters[f] = 1
			}
			cc.mu.Lock()
			for f := range cc.watched {
				filters[f] = 1
			}
			cc.mu.Unlock()
			cc.log.Info("connected", "broker", RedactURL(cfg.Broker), "subscriptions", len(filters))
			var t paho.Token
			if len(filters) > 0 {
				t = c.SubscribeMultiple(filters, nil)
			}
			go func() {
				var err error
				if t != nil {
					if _, err = checkGranted(t); err != nil {
						cc.log.Error("subscribe failed", "err", err)
					}
				}
				if subscribedOnce.CompareAndSwap(false, true) {
					firstSub <- err
				}
			}()
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			cc.connected.Store(false)
			cc.log.Warn("connection lost; reconnecting", "err", err)
		})
	cc.client = paho.NewClient(opts)
	if err := connectSubscribed(ctx, cc.client, firstSub, cfg.Broker, cc.replies); err != nil {
		return nil, err
	}
	return cc, nil
}

// checkGranted waits for a SUBACK and returns the QoS the broker granted
// per filter; a refusal (0x80: an ACL, say), which paho does not report
// as an error, is one.
func checkGranted(t paho.Token) (map[string]byte, error) {
	if !t.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("no SUBACK within 10 s")
	}
	if err := t.Error(); err != nil {
		return nil, err
	}
	st, ok := t.(*paho.SubscribeToken)
	if !ok {
		return nil, nil
	}
	granted := st.Result()
	for filter, qos := range granted {
		if qos == 0x80 {
			return nil, fmt.Errorf("broker refused the subscription to %q (check its ACL)", filter)
		}
	}
	return granted, nil
}

// Watch subscribes to filter, the topic a command is confirmed on, until
// release is called; it returns once the broker routes that topic to the
// control connection, so the command may be sent. A filter a reply
// subscription covers needs nothing more. Several pending commands may
// watch one filter: it is unsubscribed when the last releases it.
func (cc *controlClient) Watch(ctx context.Context, filter string) (release func(), err error) {
	for _, r := range cc.replies {
		if mqtttopic.Covers(r, filter) {
			return func() {}, nil
		}
	}
	cc.mu.Lock()
	w, ok := cc.watched[filter]
	if !ok {
		w = &watch{ready: make(chan struct{})}
		cc.watched[filter] = w
	}
	w.n++
	cc.mu.Unlock()
	release = sync.OnceFunc(func() { cc.unwatch(filter, w) })
	if !ok {
		go func() {
			if !cc.client.IsConnectionOpen() {
				// Subscribed at the next connect, with the rest.
				w.err = gridmint.Errorf(gridmint.EUnavailable, "not connected to the broker")
			} else {
				_, w.err = checkGranted(cc.client.Subscribe(filter, 1, nil))
			}
			close(w.ready)
		}()
	}
	select {
	case <-w.ready:
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
	if w.err != nil {
		release()
		return nil, fmt.Errorf("subscribe to %s: %w", filter, w.err)
	}
	return release, nil
}

// unwatch ends one command's interest in filter.
func (cc *controlClient) unwatch(filter string, w *watch) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	w.n--
	if w.n > 0 || cc.watched[filter] != w {
		return
	}
	delete(cc.watched, filter)
	if cc.client.IsConnectionOpen() {
		// Not waited for: a later SUBSCRIBE of the same filter follows it
		// on the same connection, so the broker applies both in order.
		cc.client.Unsubscribe(filter)
	}
}

// Publish sends a command or a keep-alive (never retained) and waits
// until the broker has it (QoS 1) or it is written (QoS 0). Safe for
// concurrent use.
func (cc *controlClient) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	return publishOn(ctx, cc.client, topic, qos, false, payload)
}

// PublishRetained publishes Home Assistant discovery and state (QoS 1,
// retained) and waits for the broker's acknowledgement. It is on the
// control connection because on the telemetry one that acknowledgement
// waits behind every stored message when the store is behind. Safe for
// concurrent use.
func (cc *controlClient) PublishRetained(ctx context.Context, topic string, payload []byte) error {
	return publishOn(ctx, cc.client, topic, 1, true, payload)
}

// Connected reports whether the control connection is up.
func (cc *controlClient) Connected() bool { return cc.connected.Load() }

// Close disconnects, waiting briefly for in-flight work.
func (cc *controlClient) Close() {
	cc.client.Disconnect(250)
	cc.connected.Store(false)
}

// watchedLen is how many confirmation topics are subscribed.
func (cc *controlClient) watchedLen() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return len(cc.watched)
}
