package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/store"
)

// TestRestartKeepsAPIEditsOfDeclaredDevices: the configuration seeds a
// device; an owner's edit over the API (the opt-out) survives restarts;
// a later change in the configuration file still applies, field by field.
// Commands left pending by a stopped node are failed at the next start.
func TestRestartKeepsAPIEditsOfDeclaredDevices(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	dir := t.TempDir()
	config := func(name string) Config {
		cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0]}
adapters: [{dialect: tasmota}]
devices: [{dialect: tasmota, serial: plug, name: %q, nameplate_w: 2000}]
`, dir, b.URL(), name))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	start := func(cfg Config) *Node {
		n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := start(config("Kettle"))
	id := gridmint.DeviceID(n.Identity().Address + "/tasmota/plug")
	st, ok := nodeControl{n}.Device(id)
	if !ok {
		t.Fatal("declared device missing")
	}
	if st.OptOut {
		t.Fatal("declared without opt-out, got one")
	}
	if _, err := (nodeControl{n}).EditDevice(context.Background(), id, func(d gridmint.Device) (gridmint.Device, error) {
		d.OptOut = true
		return d, nil
	}); err != nil {
		t.Fatal(err)
	}
	batch := n.Store().NewBatch()
	batch.PutCommand(gridmint.CommandRecord{ID: "0001", Setpoint: gridmint.Setpoint{Device: id, Kind: gridmint.SetpointSwitch, Value: 1, Origin: gridmint.OriginHomeowner},
		SentAt: time.Now().UTC(), Status: gridmint.CommandPending})
	if err := n.Store().Commit(batch); err != nil {
		t.Fatal(err)
	}
	n.Close()

	n = start(config("Kettle"))
	if st, _ := (nodeControl{n}).Device(id); !st.OptOut || st.Name != "Kettle" {
		t.Errorf("after a restart with the same config: opt_out %v, name %q; want the API's opt-out kept", st.OptOut, st.Name)
	}
	if c, err := n.Store().Command("0001"); err != nil || c.Status != gridmint.CommandFailed {
		t.Errorf("command pending at the stop: %+v, %v; want failed", c, err)
	}
	n.Close()

	n = start(config("Tea kettle"))
	defer n.Close()
	if st, _ := (nodeControl{n}).Device(id); !st.OptOut || st.Name != "Tea kettle" || st.Nameplate != 2000 {
		t.Errorf("after the config renamed it: opt_out %v, name %q, nameplate %v; want the new name and the kept opt-out", st.OptOut, st.Name, st.Nameplate)
	}
}

// TestThousandsOfDeclaredDevicesRegister: a configuration with more
// devices than one store transaction holds (2,000 homes declare about
// 8,000) starts, and every device is registered, at the first start and
// again after a restart.
func TestThousandsOfDeclaredDevicesRegister(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	const devices = store.MaxBatchLen // two items each: twice what one batch takes
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "data_dir: %s\nhttp_addr: 127.0.0.1:0\nmqtt: {broker: %s}\np2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false, dht: \"off\"}\nhome_assistant: {enabled: false}\nadapters: [{dialect: tasmota}]\ndevices:\n", t.TempDir(), b.URL())
	for i := range devices {
		fmt.Fprintf(&yaml, "  - {dialect: tasmota, serial: plug%d, nameplate_w: 2000}\n", i)
	}
	cfg, err := ParseConfig([]byte(yaml.String()))
	if err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
		if err != nil {
			t.Fatalf("start %d: %v", run+1, err)
		}
		got := 0
		for _, i := range []int{0, devices / 2, devices - 1} {
			if _, ok := (nodeControl{n}).Device(gridmint.DeviceID(fmt.Sprintf("%s/tasmota/plug%d", n.Identity().Address, i))); ok {
				got++
			}
		}
		all, err := n.Store().Devices()
		n.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != 3 || len(all) != devices {
			t.Errorf("start %d: %d devices stored (first, middle and last found: %d of 3), want %d", run+1, len(all), got, devices)
		}
	}
}
