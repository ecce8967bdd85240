package market

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
)

// memStore is the settlement namespace in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newMemStore() *memStore { return &memStore{m: map[string][]byte{}} }

func (s *memStore) PutSettle(k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = append([]byte(nil), v...)
	return nil
}

func (s *memStore) DeleteSettle(keys []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.m, k)
	}
	return nil
}

func (s *memStore) ScanSettle(prefix string, fn func(string, []byte) error) error {
	s.mu.Lock()
	var keys []string
	for k := range s.m {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = s.m[k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// testNet is nodes on one in-memory gossip (every published message is
// handed to every node at once) and one in-memory chain of Reserved
// events.
type testNet struct {
	t      *testing.T
	clock  *fakeclock.Clock
	nodes  []*testNode
	mu     sync.Mutex
	seq    int
	chain  []chain.Event
	blocks uint64
}

type testNode struct {
	net     *testNet
	addr    common.Address
	s       *Service
	store   *memStore
	devs    []devices.DeviceState
	sent    []gridmint.Setpoint
	tracked []FirmEvent
	// reserve overrides what the utility burns (root, amount); nil burns
	// what it is asked.
	reserve func(root common.Hash, amount *big.Int) (common.Hash, *big.Int)
	mu      sync.Mutex
}

var t0 = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

func newTestNet(t *testing.T) *testNet {
	return &testNet{t: t, clock: fakeclock.New(t0)}
}

func (tn *testNet) addr(i int) common.Address {
	return common.BigToAddress(big.NewInt(int64(0x1000 + i)))
}

// add starts a node; home nodes get the devices devs returns for their
// address.
func (tn *testNet) add(cfg Config, home bool, devs func(addr common.Address) []devices.DeviceState) *testNode {
	tn.t.Helper()
	n := &testNode{net: tn, addr: tn.addr(len(tn.nodes)), store: newMemStore()}
	if devs != nil {
		n.devs = devs(n.addr)
	}
	tn.nodes = append(tn.nodes, n)
	n.start(cfg, home)
	return n
}

func (n *testNode) start(cfg Config, home bool) {
	n.net.t.Helper()
	d := Deps{Clock: n.net.clock, Self: n.addr, Home: home, Store: n.store,
		Key: func(id gridmint.DeviceID) gridmint.DeviceKey {
			return gridmint.DeviceKey(sha256.Sum256([]byte(n.addr.Hex() + string(id))))
		},
		Devices: func() []devices.DeviceState {
			n.mu.Lock()
			defer n.mu.Unlock()
			return append([]devices.DeviceState(nil), n.devs...)
		},
		Publish:      n.publish,
		Reservations: n.net,
		Tracker:      n,
	}
	if home {
		d.Setpoints = n
		d.Command = func(id string) (gridmint.CommandRecord, error) {
			return gridmint.CommandRecord{ID: id, Status: gridmint.CommandConfirmed}, nil
		}
	} else {
		d.Reserver = n
	}
	s, err := New(cfg, d)
	if err != nil {
		n.net.t.Fatal(err)
	}
	n.s = s
}

func (n *testNode) publish(_ context.Context, b p2p.Body) (p2p.Message, error) {
	if err := b.Validate(); err != nil {
		return p2p.Message{}, err
	}
	return n.net.deliver(n.addr, b), nil
}

// deliver hands b, authored by author now, to every node.
func (tn *testNet) deliver(author common.Address, b p2p.Body) p2p.Message {
	tn.mu.Lock()
	tn.seq++
	raw, _ := json.Marshal(b)
	id := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%s", tn.seq, b.Kind(), raw))
	nodes := append([]*testNode(nil), tn.nodes...)
	tn.mu.Unlock()
	m := p2p.Message{ID: id, Kind: b.Kind(), Author: author, Created: tn.clock.Now(), Body: b, Raw: raw}
	for _, x := range nodes {
		x.s.Handle(m)
	}
	return m
}

func (n *testNode) Send(_ context.Context, sp gridmint.Setpoint) (gridmint.CommandRecord, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range n.devs {
		if d.ID == sp.Device {
			if err := devices.CheckLimits(d, sp); err != nil {
				return gridmint.CommandRecord{}, err
			}
			n.sent = append(n.sent, sp)
			return gridmint.CommandRecord{ID: fmt.Sprintf("cmd-%d", len(n.sent)), Setpoint: sp, Status: gridmint.CommandPending}, nil
		}
	}
	return gridmint.CommandRecord{}, gridmint.Errorf(gridmint.ENotFound, "no device %s", sp.Device)
}

func (n *testNode) Track(_ context.Context, ev FirmEvent) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tracked = append(n.tracked, ev)
}

func (n *testNode) Reserve(_ context.Context, req, root common.Hash, amount *big.Int) (*chain.Receipt, error) {
	if n.reserve != nil {
		root, amount = n.reserve(root, amount)
	}
	return n.net.burn(n.addr, req, root, amount), nil
}

// burn puts a confirmed Reserved event of account on the chain.
func (tn *testNet) burn(account common.Address, req, root common.Hash, amount *big.Int) *chain.Receipt {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	tn.blocks++
	tx := common.BigToHash(big.NewInt(int64(0xbeef00 + tn.blocks)))
	tn.chain = append(tn.chain, chain.Event{Kind: chain.EventReserved, Block: tn.blocks, TxHash: tx, Ref: req, From: account, Aux: root, Amount: amount})
	return &chain.Receipt{TxHash: tx, Block: tn.blocks}
}

func (tn *testNet) Reserved(_ context.Context, from uint64) ([]chain.Event, error) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	var out []chain.Event
	for _, e := range tn.chain {
		if e.Block >= from {
			out = append(out, e)
		}
	}
	return out, nil
}

// step runs one round on every node, twice (a root or reservation one
// node makes is seen by the others in the next).
func (tn *testNet) step() {
	for range 2 {
		for _, n := range tn.nodes {
			n.s.Step(context.Background())
		}
	}
}

func (tn *testNet) at(t time.Time) {
	tn.clock.Set(t)
	tn.step()
}

// battery is a home's simulated battery: 10 kWh, ±3 kW, 10 % floor.
func battery(addr common.Address, serial string, soc float64) devices.DeviceState {
	return devices.DeviceState{
		Device: gridmint.Device{ID: gridmint.DeviceID(addr.Hex() + "/victron/" + serial), Dialect: "victron", Serial: serial,
			Kind: gridmint.KindBattery, Zone: "DE-LU", Capacity: 10_000, Nameplate: 3000,
			Capabilities: []gridmint.Capability{gridmint.CapBatteryCtl},
			Limits:       gridmint.SafetyLimits{SoCFloor: 10, MaxCharge: 3000, MaxDischarge: 3000}},
		Online: true, Fields: gridmint.FieldSoC | gridmint.FieldPower, SoC: soc,
	}
}

// request is a 4 kW down request for [12:00, 13:00) closing at 11:00.
func request() p2p.Request {
	return p2p.Request{Zone: "DE-LU", WindowStart: t0.Add(2 * time.Hour), WindowEnd: t0.Add(3 * time.Hour), Power: 4000,
		Direction: gridmint.DirectionDown, MaxPrice: 500_000, GateClosure: t0.Add(time.Hour)}
}

func homeConfig(minPrice gridmint.MicroFLEX) Config {
	return Config{Offer: true, Defaults: Policy{MinPrice: minPrice, ReserveSoC: 20}}
}

func (n *testNode) event(t *testing.T, id gridmint.RequestID) *eventRecord {
	t.Helper()
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	e, ok := n.s.events[id]
	if !ok {
		t.Fatalf("node %s holds no event %v", n.addr.Hex(), id)
	}
	c := *e
	return &c
}

func (n *testNode) setpoints() []gridmint.Setpoint {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]gridmint.Setpoint(nil), n.sent...)
}
