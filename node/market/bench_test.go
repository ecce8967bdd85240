package market

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/internal/fakeclock"
)

// stampPublisher records when each command reaches its device topic.
type stampPublisher struct {
	mu    sync.Mutex
	at    []time.Time
	topic map[string]bool
}

func (p *stampPublisher) Publish(_ context.Context, topic string, _ byte, _ []byte) error {
	now := time.Now()
	p.mu.Lock()
	p.at = append(p.at, now)
	p.topic[topic] = true
	p.mu.Unlock()
	return nil
}

// BenchmarkReservationToSetpoints measures, for 1,000 EV chargers of one
// node (go-e, online through the real ingest, each awarded a 1 kW
// deferral: charge_enable 0 on its own topic), the time
// from a confirmed reservation of a request whose window has started to
// each charger's setpoint being published on its device topic by the
// real dispatcher (the broker's publish is stubbed: it records the time).
// It reports the 99th percentile over every setpoint of every iteration
// (target ≤ 50 ms).
func BenchmarkReservationToSetpoints(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	clock := fakeclock.New(t0)
	self := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	// A fleet of go-eChargers on one adapter (an aggregator's node):
	// 1,000 device topics.
	a, err := devices.NewAdapter(devices.AdapterConfig{Dialect: "goe", MaxDevices: 2 * n})
	if err != nil {
		b.Fatal(err)
	}
	adapters := []devices.Adapter{a}
	var msgs []devices.Message
	for i := range n {
		serial := fmt.Sprintf("%06d", 300000+i)
		msgs = append(msgs, devices.Message{Topic: "go-eCharger/" + serial + "/nrg", Payload: []byte(`[230,231,229,0,0,0,0,0,0,0,0,0,0,0,0,0]`), Received: t0},
			devices.Message{Topic: "go-eCharger/" + serial + "/eto", Payload: []byte(`123456`), Received: t0})
	}
	in, err := devices.NewIngest(devices.IngestConfig{Node: self.Hex(), Adapters: adapters, Discover: true, MaxDevices: 2 * n,
		StaleAfter: 24 * time.Hour, Limits: devices.DefaultLimits(), Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	in.Accept(in.Process(msgs))
	var batteries []devices.DeviceState // chargers: the devices dispatched
	for _, d := range in.Devices() {
		if d.Kind == gridmint.KindEVCharger && d.Online {
			batteries = append(batteries, d)
		}
	}
	if len(batteries) != n {
		b.Fatalf("%d chargers online, want %d", len(batteries), n)
	}
	pub := &stampPublisher{topic: map[string]bool{}}
	disp := devices.NewDispatcher(devices.DispatcherConfig{Ingest: in, Publisher: pub, Clock: clock})
	key := func(id gridmint.DeviceID) gridmint.DeviceKey { return gridmint.DeviceKey(sha256.Sum256([]byte(id))) }

	// The request and one offer per battery, cleared as every node would.
	r := request()
	r.Power = gridmint.W(n * 1000)
	req := flex.SignedRequest{ID: gridmint.RequestID{1}, Buyer: self.Hex(), Signed: t0, Request: gridmint.Request(r)}
	var offers []flex.SignedOffer
	for i, d := range batteries {
		offers = append(offers, flex.SignedOffer{ID: gridmint.OfferID(sha256.Sum256(fmt.Append(nil, i))), Provider: self.Hex(), Signed: t0,
			Offer: gridmint.Offer{Device: NetDevice(self, key(d.ID)), Zone: "DE-LU", WindowStart: r.WindowStart, WindowEnd: r.WindowEnd,
				Power: 1000, Direction: gridmint.DirectionDown, FloorPrice: 100_000, Baseline: gridmint.BaselineSchedule, Expiry: r.GateClosure}})
	}
	res := flex.Clear([]flex.SignedRequest{req}, offers)
	c := res.Clearings[0]
	if len(c.Awards) != n {
		b.Fatalf("%d awards, want %d", len(c.Awards), n)
	}
	s, err := New(Config{}, Deps{Clock: clock, Self: self, Home: true, Key: key, Devices: in.Devices, Store: newMemStore(), Setpoints: disp})
	if err != nil {
		b.Fatal(err)
	}
	clock.Set(r.WindowStart) // confirmed at the window start: dispatched at once
	var lat, first []time.Duration
	cpu := time.Duration(0)
	b.ResetTimer()
	for i := range b.N {
		s.mu.Lock()
		cc := c
		s.events = map[gridmint.RequestID]*eventRecord{req.ID: {V: 1, ID: req.ID, Buyer: req.Buyer, Signed: t0, Request: req.Request,
			State: StateAgreed, Clearing: &cc}}
		s.tracked = map[gridmint.RequestID]bool{}
		s.mu.Unlock()
		pub.mu.Lock()
		pub.at, pub.topic = pub.at[:0], map[string]bool{}
		pub.mu.Unlock()
		ev := chain.Event{Kind: chain.EventReserved, Block: uint64(i + 1), TxHash: common.Hash{2}, Ref: common.Hash(req.ID), From: self,
			Aux: common.Hash(c.Root), Amount: new(big.Int).Set(c.Value())}
		runtime.GC() // the previous iteration's garbage is not this one's pause
		c0 := cpuTime(b)
		start := time.Now()
		s.applyReservations(ctx, []chain.Event{ev})
		b.StopTimer()
		cpu += cpuTime(b) - c0
		if len(pub.at) != n || len(pub.topic) != n {
			for _, l := range s.events[req.ID].Log[:min(5, len(s.events[req.ID].Log))] {
				b.Log(l)
			}
			b.Fatalf("%d setpoints on %d topics, want %d on %d", len(pub.at), len(pub.topic), n, n)
		}
		for _, at := range pub.at {
			lat = append(lat, at.Sub(start))
		}
		first = append(first, pub.at[0].Sub(start))
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	p99 := lat[len(lat)*99/100]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	slices.Sort(first)
	b.ReportMetric(float64(first[len(first)/2].Microseconds())/1000, "first-p50-ms")
	// CPU time of the whole process per reservation (not wall time: on a
	// loaded machine the wall-clock figures include waiting for a core).
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/reservation")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
