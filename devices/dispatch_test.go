package devices

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// fakePublisher records what it is asked to publish; PublishFn, when set,
// decides the result.
type fakePublisher struct {
	mu        sync.Mutex
	sent      []Command
	PublishFn func(topic string, payload []byte) error
}

func (f *fakePublisher) Publish(_ context.Context, topic string, qos byte, payload []byte) error {
	f.mu.Lock()
	f.sent = append(f.sent, Command{Topic: topic, Payload: append([]byte(nil), payload...), QoS: qos})
	f.mu.Unlock()
	if f.PublishFn != nil {
		return f.PublishFn(topic, payload)
	}
	return nil
}

// recorder keeps the last record per command id.
type recorder struct {
	mu   sync.Mutex
	last map[string]gridmint.CommandRecord
	n    int
}

func (r *recorder) Record(c gridmint.CommandRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last == nil {
		r.last = map[string]gridmint.CommandRecord{}
	}
	r.last[c.ID] = c
	r.n++
}

func (r *recorder) get(id string) gridmint.CommandRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[id]
}

func newTestDispatcher(t *testing.T, clk *fakeClock, pub *fakePublisher, edit func(*gridmint.Device)) (*Dispatcher, *recorder) {
	t.Helper()
	in := newTestIngest(t, IngestConfig{Discover: true, StaleAfter: time.Hour, Clock: clk})
	in.Accept(in.Process(msgsAt(clk.Now(), mqttMsg{"tele/p/SENSOR", `{"ENERGY":{"Total":1,"Power":5}}`})))
	if edit != nil {
		st, _, _ := in.Device("0xnode/tasmota/p")
		edit(&st.Device)
		if err := in.UpdateDevice(st.Device); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	return NewDispatcher(DispatcherConfig{Ingest: in, Publisher: pub, Clock: clk, Timeout: 10 * time.Second, Record: rec.Record}), rec
}

func switchOn(origin gridmint.Origin) gridmint.Setpoint {
	return gridmint.Setpoint{Device: "0xnode/tasmota/p", Kind: gridmint.SetpointSwitch, Value: 1, Origin: origin}
}

func TestDispatcherConfirmRefuseTimeout(t *testing.T) {
	clk := &fakeClock{now: t0}
	pub := &fakePublisher{}
	d, rec := newTestDispatcher(t, clk, pub, nil)

	// Confirmed by the device's RESULT.
	r, err := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	if err != nil || r.Status != gridmint.CommandPending || r.Topic != "cmnd/p/POWER" || r.Payload != "ON" {
		t.Fatalf("Send = %+v, %v", r, err)
	}
	if len(pub.sent) != 1 || pub.sent[0].Topic != "cmnd/p/POWER" {
		t.Fatalf("published %v", pub.sent)
	}
	if n := d.Observe("stat/other/RESULT", []byte(`{"POWER":"ON"}`)); n != 0 {
		t.Errorf("another device's reply settled %d commands", n)
	}
	if n := d.Observe("stat/p/RESULT", []byte(`{"POWER":"ON"}`)); n != 1 {
		t.Fatalf("the reply settled %d commands, want 1", n)
	}
	if got := rec.get(r.ID); got.Status != gridmint.CommandConfirmed || got.DoneAt.IsZero() {
		t.Errorf("record = %+v, want confirmed", got)
	}

	// Refused: the relay reports the other state.
	r2, _ := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	d.Observe("stat/p/RESULT", []byte(`{"POWER":"OFF"}`))
	if got := rec.get(r2.ID); got.Status != gridmint.CommandFailed || got.Reason == "" {
		t.Errorf("refused record = %+v", got)
	}

	// Not confirmed in time.
	r3, _ := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	clk.Set(t0.Add(9 * time.Second))
	d.Expire()
	if got := rec.get(r3.ID); got.Status != gridmint.CommandPending {
		t.Errorf("expired early: %+v", got)
	}
	clk.Set(t0.Add(11 * time.Second))
	d.Expire()
	if got := rec.get(r3.ID); got.Status != gridmint.CommandFailed || d.Pending() != 0 {
		t.Errorf("after the timeout: %+v, %d pending", got, d.Pending())
	}
	// A late reply settles nothing.
	if n := d.Observe("stat/p/RESULT", []byte(`{"POWER":"ON"}`)); n != 0 {
		t.Errorf("late reply settled %d", n)
	}
	if r3.ID <= r2.ID || r2.ID <= r.ID {
		t.Errorf("ids not increasing: %s %s %s", r.ID, r2.ID, r3.ID)
	}
}

func TestDispatcherRefusesBeforeSending(t *testing.T) {
	clk := &fakeClock{now: t0}
	pub := &fakePublisher{}
	d, _ := newTestDispatcher(t, clk, pub, func(dev *gridmint.Device) { dev.OptOut = true })
	tests := []struct {
		name string
		sp   gridmint.Setpoint
		want string
	}{
		{"market setpoint against the opt-out", switchOn(gridmint.OriginMarket), gridmint.EConflict},
		{"unknown device", gridmint.Setpoint{Device: "0xnode/tasmota/nope", Kind: gridmint.SetpointSwitch, Value: 1, Origin: gridmint.OriginHomeowner}, gridmint.ENotFound},
		{"capability the plug lacks", gridmint.Setpoint{Device: "0xnode/tasmota/p", Kind: gridmint.SetpointBatteryPower, Value: 100, Origin: gridmint.OriginHomeowner}, gridmint.EInvalid},
		{"bad value", gridmint.Setpoint{Device: "0xnode/tasmota/p", Kind: gridmint.SetpointSwitch, Value: 2, Origin: gridmint.OriginHomeowner}, gridmint.EInvalid},
	}
	for _, tt := range tests {
		if _, err := d.Send(context.Background(), tt.sp); gridmint.ErrorCode(err) != tt.want {
			t.Errorf("%s: error %v, want %s", tt.name, err, tt.want)
		}
	}
	// An offline device: its state is stale and a queued command could
	// run late.
	clk.Set(t0.Add(2 * time.Hour))
	if _, err := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner)); gridmint.ErrorCode(err) != gridmint.EUnavailable {
		t.Errorf("setpoint to an offline device: %v, want unavailable", err)
	}
	clk.Set(t0)
	if len(pub.sent) != 0 {
		t.Errorf("refused setpoints were published: %v", pub.sent)
	}
	// The homeowner's own setpoint passes the opt-out.
	if _, err := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner)); err != nil {
		t.Errorf("homeowner setpoint: %v", err)
	}
}

func TestDispatcherPublishFailure(t *testing.T) {
	clk := &fakeClock{now: t0}
	pub := &fakePublisher{PublishFn: func(string, []byte) error { return errors.New("not connected") }}
	d, rec := newTestDispatcher(t, clk, pub, nil)
	r, err := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	if err != nil || r.Status != gridmint.CommandFailed || rec.get(r.ID).Status != gridmint.CommandFailed || d.Pending() != 0 {
		t.Errorf("Send with a failing publisher = %+v, %v; pending %d", r, err, d.Pending())
	}
}

func TestDispatcherConcurrent(t *testing.T) {
	clk := &fakeClock{now: t0}
	pub := &fakePublisher{}
	d, rec := newTestDispatcher(t, clk, pub, nil)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if _, err := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner)); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				d.Observe("stat/p/RESULT", []byte(`{"POWER":"ON"}`))
				d.Expire()
			}
		}()
	}
	wg.Wait()
	// One reply settles one command (oldest first): answer the rest.
	for i := 0; d.Pending() > 0 && i < 400; i++ {
		d.Observe("stat/p/RESULT", []byte(`{"POWER":"ON"}`))
	}
	if d.Pending() != 0 {
		t.Errorf("%d commands still pending after a reply for each", d.Pending())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.last) != 400 {
		t.Errorf("%d distinct command ids, want 400", len(rec.last))
	}
}

func TestDispatcherRepliesGoToTheirOwnCommands(t *testing.T) {
	clk := &fakeClock{now: t0}
	d, rec := newTestDispatcher(t, clk, &fakePublisher{}, nil)
	send := func(v float64) gridmint.CommandRecord {
		r, err := d.Send(context.Background(), gridmint.Setpoint{Device: "0xnode/tasmota/p", Kind: gridmint.SetpointSwitch, Value: v, Origin: gridmint.OriginHomeowner})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	on, off := send(1), send(0)
	// The device executes both in order and answers each.
	d.Observe("stat/p/RESULT", []byte(`{"POWER":"ON"}`))
	if got := rec.get(on.ID).Status; got != gridmint.CommandConfirmed {
		t.Errorf("ON after the ON reply: %s, want confirmed", got)
	}
	if got := rec.get(off.ID).Status; got != gridmint.CommandPending {
		t.Errorf("OFF after the ON reply: %s, want still pending", got)
	}
	d.Observe("stat/p/RESULT", []byte(`{"POWER":"OFF"}`))
	if got := rec.get(off.ID).Status; got != gridmint.CommandConfirmed {
		t.Errorf("OFF after its reply: %s, want confirmed", got)
	}
}

func TestDispatcherSupersedesOlderCommands(t *testing.T) {
	// OpenDTU confirms by showing the applied limit: if it shows the newer
	// limit, the older command is superseded, not left to time out.
	clk := &fakeClock{now: t0}
	in := newTestIngest(t, IngestConfig{Discover: true, StaleAfter: time.Hour, Clock: clk})
	in.Accept(in.Process(msgsAt(t0, openDTUCycle("116181234567", t0.Unix(), "400", "1.000")...)))
	rec := &recorder{}
	d := NewDispatcher(DispatcherConfig{Ingest: in, Publisher: &fakePublisher{}, Clock: clk, Record: rec.Record})
	limit := func(w float64) gridmint.CommandRecord {
		r, err := d.Send(context.Background(), gridmint.Setpoint{Device: "0xnode/opendtu/116181234567", Kind: gridmint.SetpointPowerLimit, Value: w, Origin: gridmint.OriginMarket})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first, second := limit(300), limit(200)
	d.Observe("solar/116181234567/status/limit_absolute", []byte("200.00"))
	if got := rec.get(second.ID).Status; got != gridmint.CommandConfirmed {
		t.Errorf("the 200 W limit: %s, want confirmed", got)
	}
	if got := rec.get(first.ID); got.Status != gridmint.CommandFailed || !strings.Contains(got.Reason, "superseded") {
		t.Errorf("the 300 W limit: %+v, want failed as superseded", got)
	}
}

func TestDispatcherMaybeSentStaysPending(t *testing.T) {
	clk := &fakeClock{now: t0}
	pub := &fakePublisher{PublishFn: func(string, []byte) error { return ErrMaybeSent }}
	d, rec := newTestDispatcher(t, clk, pub, nil)
	r, err := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	if err != nil || r.Status != gridmint.CommandPending || d.Pending() != 1 {
		t.Fatalf("Send with a slow broker = %+v, %v; want pending", r, err)
	}
	d.Observe("stat/p/RESULT", []byte(`{"POWER":"ON"}`))
	if got := rec.get(r.ID).Status; got != gridmint.CommandConfirmed {
		t.Errorf("after the late reply: %s, want confirmed", got)
	}
}

// TestDispatcherWatchesTheConfirmationTopic: a command's confirmation
// topic is watched before the command is published and released when it
// settles, however it settles; a watch that fails fails the command
// unsent.
func TestDispatcherWatchesTheConfirmationTopic(t *testing.T) {
	clk := &fakeClock{now: t0}
	var events []string
	pub := &fakePublisher{PublishFn: func(topic string, _ []byte) error { events = append(events, "publish "+topic); return nil }}
	d, rec := newTestDispatcher(t, clk, pub, nil)
	var watchErr error
	d.watch = func(_ context.Context, filter string) (func(), error) {
		events = append(events, "watch "+filter)
		if watchErr != nil {
			return nil, watchErr
		}
		return func() { events = append(events, "release "+filter) }, nil
	}
	want := func(step string, w ...string) {
		t.Helper()
		if strings.Join(events, "; ") != strings.Join(w, "; ") {
			t.Errorf("%s: %q, want %q", step, events, w)
		}
		events = nil
	}

	r, err := d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	if err != nil || r.Status != gridmint.CommandPending {
		t.Fatalf("Send = %+v, %v", r, err)
	}
	want("send", "watch stat/p/RESULT", "publish cmnd/p/POWER")
	d.Observe("stat/p/RESULT", []byte(`{"POWER":"ON"}`))
	want("confirmed", "release stat/p/RESULT")

	d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	events = nil
	clk.Set(t0.Add(11 * time.Second))
	d.Expire()
	want("timed out", "release stat/p/RESULT")

	watchErr = errors.New("broker refused the subscription")
	r, err = d.Send(context.Background(), switchOn(gridmint.OriginHomeowner))
	want("watch failed", "watch stat/p/RESULT")
	if err != nil || r.Status != gridmint.CommandFailed || !strings.Contains(r.Reason, "broker refused") || d.Pending() != 0 {
		t.Errorf("Send with a failing watch = %+v, %v; %d pending", r, err, d.Pending())
	}
	if got := rec.get(r.ID); got.Status != gridmint.CommandFailed {
		t.Errorf("recorded %+v, want failed", got)
	}
}
