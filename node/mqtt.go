package node

import (
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
)

// mqttClient is the node's broker connection: it subscribes to every
// adapter's topics with QoS 1 in a persistent session and feeds messages
// to the pipeline, which acknowledges them once stored.
type mqttClient struct {
	client    paho.Client
	connected atomic.Bool
	qos0      atomic.Bool // the broker granted less than QoS 1
	log       *slog.Logger
}

func connectMQTT(ctx context.Context, cfg MQTTConfig, subs []string, p *pipeline, clock gridmint.Clock, log *slog.Logger) (*mqttClient, error) {
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
		p.enqueue(ctx, inbound{
			msg: devices.Message{Topic: m.Topic(), Payload: m.Payload(), Received: clock.Now(), Redelivered: m.Duplicate()},
			ack: m.Ack,
		})
	}
	// firstSub reports the first subscription's result, so that Start
	// returns only once the broker routes our topics to our session.
	firstSub := make(chan error, 1)
	var subscribedOnce atomic.Bool
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
			mc.log.Info("connected", "broker", cfg.Broker, "subscriptions", subs)
			// Subscribe on every connect: a broker that lost our session
			// (restart without persistence) must learn the filters again.
			t := c.SubscribeMultiple(filters, handler)
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
			return nil, fmt.Errorf("mqtt: connect to %s: %w", cfg.Broker, err)
		}
	case <-time.After(15 * time.Second):
		mc.client.Disconnect(0)
		return nil, fmt.Errorf("mqtt: no connection to %s after 15 s (is the broker running? check mqtt.broker)", cfg.Broker)
	case <-ctx.Done():
		mc.client.Disconnect(0)
		return nil, ctx.Err()
	}
	select {
	case err := <-firstSub:
		if err != nil {
			mc.client.Disconnect(0)
			return nil, fmt.Errorf("mqtt: subscribe to %v at %s: %w", subs, cfg.Broker, err)
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

// Connected reports whether the broker connection is up.
func (mc *mqttClient) Connected() bool { return mc.connected.Load() }

// Close disconnects, waiting briefly for in-flight work.
func (mc *mqttClient) Close() {
	mc.client.Disconnect(250)
	mc.connected.Store(false)
}
