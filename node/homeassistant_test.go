package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// haFleet is a fixed list of devices for the publisher.
type haFleet []devices.DeviceState

func (f haFleet) Devices() []devices.DeviceState { return f }

// haBroker records what the publisher sent; hold, when set, is called
// before a message is taken and may block or fail it.
type haBroker struct {
	mu   sync.Mutex
	got  []string // topics, in the order taken
	hold func(ctx context.Context, topic string) error
}

func (b *haBroker) PublishRetained(ctx context.Context, topic string, _ []byte) error {
	if b.hold != nil {
		if err := b.hold(ctx, topic); err != nil {
			return err
		}
	}
	b.mu.Lock()
	b.got = append(b.got, topic)
	b.mu.Unlock()
	return nil
}

func (b *haBroker) taken() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

func (b *haBroker) reset() {
	b.mu.Lock()
	b.got = nil
	b.mu.Unlock()
}

func haTestFleet(n int) haFleet {
	var f haFleet
	for i := range n {
		serial := fmt.Sprintf("inv-%02d", i)
		f = append(f, devices.DeviceState{
			Device: gridmint.Device{ID: gridmint.DeviceID("0xn/opendtu/" + serial), Kind: gridmint.KindPVInverter, Dialect: "opendtu", Serial: serial},
			Online: true, Fields: gridmint.FieldPower | gridmint.FieldEnergy, Power: 100, Energy: gridmint.MWh(1000 * (i + 1)),
		})
	}
	return f
}

// haWant lists the topics a device's first update publishes, in order:
// its configs, its state, its availability.
func haWant(cfg devices.HAConfig, st devices.DeviceState) []string {
	var out []string
	for _, m := range cfg.HAConfigs(st) {
		out = append(out, m.Topic)
	}
	return append(out, cfg.HAStateTopic(st.Device), cfg.HAAvailabilityTopic(st.Device))
}

// haOf returns the topics of got that belong to device st, in order.
func haOf(got []string, st devices.DeviceState) []string {
	obj := "/" + devices.HAObjectID(st.Device)
	var out []string
	for _, t := range got {
		if strings.Contains(t, obj+"_") || strings.Contains(t, obj+"/") {
			out = append(out, t)
		}
	}
	return out
}

// TestHAPublisherFailureSkipsOnlyThatDevice: when the broker does not
// take one device's message, every other device still gets its configs,
// state and availability in the same pass, and the next pass sends the
// failed device's update again and nothing else.
func TestHAPublisherFailureSkipsOnlyThatDevice(t *testing.T) {
	fleet := haTestFleet(40)
	cfg := devices.HAConfig{NodeID: "gridmint_test"}
	failing := cfg.HAStateTopic(fleet[0].Device)
	b := &haBroker{hold: func(_ context.Context, topic string) error {
		if topic == failing {
			return errors.New("broker did not take it within the publish timeout")
		}
		return nil
	}}
	h := newHAPublisher(cfg, fleet, gridmint.SystemClock{}, testLogger())
	h.pub = b
	h.pass(context.Background())

	got := b.taken()
	for i, st := range fleet {
		want := haWant(cfg, st)
		if i == 0 {
			want = want[:len(want)-2] // configs only: the state failed, availability waits behind it
		}
		if g := haOf(got, st); !slices.Equal(g, want) {
			t.Errorf("pass 1, device %d: published %q, want %q", i, g, want)
		}
	}

	b.hold = nil
	b.reset()
	h.pass(context.Background())
	want := haWant(cfg, fleet[0])[len(haWant(cfg, fleet[0]))-2:]
	if got := b.taken(); !slices.Equal(got, want) {
		t.Errorf("pass 2 published %q, want only the failed device's state and availability %q", got, want)
	}
	b.reset()
	h.pass(context.Background())
	if got := b.taken(); len(got) != 0 {
		t.Errorf("pass 3 with nothing changed published %q", got)
	}
}

// TestHAPublisherSlowBrokerDoesNotHoldUpOthers: a message the broker is
// slow to acknowledge does not hold up the other devices' updates.
func TestHAPublisherSlowBrokerDoesNotHoldUpOthers(t *testing.T) {
	fleet := haTestFleet(3 * haInFlight)
	cfg := devices.HAConfig{NodeID: "gridmint_test"}
	slow := cfg.HAStateTopic(fleet[0].Device)
	release := make(chan struct{})
	b := &haBroker{hold: func(ctx context.Context, topic string) error {
		if topic == slow {
			select {
			case <-release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}}
	h := newHAPublisher(cfg, fleet, gridmint.SystemClock{}, testLogger())
	h.pub = b
	done := make(chan struct{})
	go func() { defer close(done); h.pass(context.Background()) }()

	// Every other device's update arrives while the slow one is held.
	want := 0
	for _, st := range fleet[1:] {
		want += len(haWant(cfg, st))
	}
	want += len(haWant(cfg, fleet[0])) - 2
	waitFor(t, "every other device's update while one acknowledgement is held", func() bool { return len(b.taken()) == want })
	select {
	case <-done:
		t.Fatal("the pass ended before the held message was acknowledged")
	default:
	}
	close(release)
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("the pass did not end after the held message was acknowledged")
	}
	if g, w := haOf(b.taken(), fleet[0]), haWant(cfg, fleet[0]); !slices.Equal(g, w) {
		t.Errorf("held device: published %q, want %q in this order", g, w)
	}
}
