package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/internal/mqtttopic"
)

// mqttClient is the node's broker connection: it subscribes to every
// adapter's topics (and reply topics) with QoS 1 in a persistent session
// and hands each message to onMessage with the function that acknowledges
// it; the pipeline acknowledges telemetry once stored. It also publishes
// commands (never retained) and Home Assistant discovery (retained).
type mqttClient struct {
	client    paho.Client
	connected atomic.Bool
	qos0      atomic.Bool // the broker granted less than QoS 1
	log       *slog.Logger
}

func connectMQTT(ctx context.Context, cfg MQTTConfig, subs []string, onMessage func(devices.Message, func()), clock gridmint.Clock, log *slog.Logger) (*mqttClient, error) {
	password := cfg.Password
	if cfg.PasswordFile != "" {
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.password_file: %w", err)
		}
		password = strings.TrimSpace(string(b))
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
	opts := paho.NewClientOptions().
		AddBroker(cfg.Broker).
		SetClientID(cfg.ClientID).
		SetUsername(cfg.Username).
		SetPassword(password).
		// A persistent session: the broker keeps QoS 1 messages for us
		// while we are down and re-sends those we did not acknowledge.
		SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetKeepAlive(30 * time.Second).
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
	t := mc.client.Connect()
	// With ConnectRetry the token completes only once connected; wait a
	// bounded time so a wrong URL fails the start with a clear error.
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return nil, fmt.Errorf("mqtt: connect to %s: %w", RedactURL(cfg.Broker), err)
		}
	case <-time.After(15 * time.Second): // wall clock: a network timeout
		mc.client.Disconnect(0)
		return nil, fmt.Errorf("mqtt: no connection to %s after 15 s (is the broker running? check mqtt.broker)", RedactURL(cfg.Broker))
	case <-ctx.Done():
		mc.client.Disconnect(0)
		return nil, ctx.Err()
	}
	select {
	case err := <-firstSub:
		if err != nil {
			mc.client.Disconnect(0)
			return nil, fmt.Errorf("mqtt: subscribe to %v at %s: %w", subs, RedactURL(cfg.Broker), err)
		}
	case <-ctx.Done():
		mc.client.Disconnect(0)
		return nil, ctx.Err()
	}
	return mc, nil
}

// checkSubscription waits for the SUBACK and checks what the broker
// granted per filter: 0x80 is a refusal (an ACL, say), which paho does not
// report as an error; QoS 0 means the broker will not re-deliver what a
// crashed node did not store.
func (mc *mqttClient) checkSubscription(t paho.Token) error {
	if !t.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("no SUBACK within 10 s")
	}
	if err := t.Error(); err != nil {
		return err
	}
	st, ok := t.(*paho.SubscribeToken)
	if !ok {
		return nil
	}
	degraded := false
	for filter, qos := range st.Result() {
		switch {
		case qos == 0x80:
			return fmt.Errorf("broker refused the subscription to %q (check its ACL)", filter)
		case qos < 1:
			degraded = true
			mc.log.Warn("broker granted QoS 0: messages are not acknowledged, so a crash can lose what was in flight", "filter", filter)
		}
	}
	mc.qos0.Store(degraded)
	return nil
}

// publishTimeout bounds waiting for the broker to take a message.
const publishTimeout = 10 * time.Second

// Publish sends a command, never retained (a retained command would be
// replayed to the device on every reconnect). It waits until the broker
// has it (QoS 1) or the message is written (QoS 0). Safe for concurrent
// use.
func (mc *mqttClient) Publish(ctx context.Context, topic string, qos byte, payload []byte) error {
	return mc.publish(ctx, topic, qos, false, payload)
}

// PublishRetained sends a retained message (Home Assistant discovery and
// state).
func (mc *mqttClient) PublishRetained(ctx context.Context, topic string, payload []byte) error {
	return mc.publish(ctx, topic, 1, true, payload)
}

func (mc *mqttClient) publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	if !mc.client.IsConnectionOpen() {
		return gridmint.Errorf(gridmint.EUnavailable, "not connected to the broker")
	}
	t := mc.client.Publish(topic, qos, retained, payload)
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
