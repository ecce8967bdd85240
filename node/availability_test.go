package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
)

// TestAvailabilitySurvivesRestart runs a node against the embedded broker
// and restarts it on the same data dir. A device whose last word was
// "offline" (a Shelly's retained online=false, a Victron device that left
// the D-Bus) is offline after the restart although its last reading is
// recent and no message repeats it; and a retained offline signal that
// reaches a restarted node first (a Shelly's online=false, a Tasmota LWT
// for a two-channel topic) marks devices the fresh decoders never saw.
func TestAvailabilitySurvivesRestart(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0]}
adapters: [{dialect: shelly}, {dialect: tasmota}, {dialect: victron, portal_id: c0619ab1234f}]
`, t.TempDir(), b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	start := func() *Node {
		n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("devices"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	publish := func(topic, payload string, retained bool) {
		t.Helper()
		if tok := pub.Publish(topic, 1, retained, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}
	const (
		plug   = "shellyplusplugs-aabbccddeeff"
		pvPath = "N/c0619ab1234f/pvinverter/20/Ac/Power"
	)
	sensor := func(minute int) string {
		return fmt.Sprintf(`{"Time":"2026-07-01T12:%02d:00","ENERGY":{"Total":[2.813,0.254],"Power":[52,5]}}`, minute)
	}
	online := func(n *Node) map[string]bool {
		out := map[string]bool{}
		for _, d := range n.Devices() {
			out[d.Dialect+"/"+d.Serial] = d.Online
		}
		return out
	}
	wait := func(n *Node, what string, want map[string]bool) {
		t.Helper()
		waitFor(t, what, func() bool {
			got := online(n)
			for k, w := range want {
				if v, ok := got[k]; !ok || v != w {
					return false
				}
			}
			return true
		})
	}
	readings := func(n *Node, serial string) int {
		return len(storedReadings(t, n.Store(), gridmint.DeviceID(n.Identity().Address+"/"+serial)))
	}
	shellyKey, pvKey := "shelly/"+plug+":switch:0", "victron/pvinverter-20"
	dual1, dual2 := "tasmota/dual:1", "tasmota/dual:2"

	// Every device online, then the Shelly's last will and the PV
	// inverter leaving the D-Bus.
	n := start()
	publish(plug+"/online", "true", true)
	publish(plug+"/status/switch:0", `{"id":0,"apower":25.7,"aenergy":{"total":913.252}}`, false)
	publish(pvPath, `{"value": 412.5}`, false)
	publish("tele/dual/SENSOR", sensor(0), false)
	wait(n, "every device online", map[string]bool{shellyKey: true, pvKey: true, dual1: true, dual2: true})
	publish(plug+"/online", "false", true)
	publish(pvPath, "", false)
	wait(n, "the Shelly and the PV inverter offline", map[string]bool{shellyKey: false, pvKey: false, dual1: true})
	n.Close()

	// Restarted without the retained message (cleared): the store says so.
	publish(plug+"/online", "", true)
	n = start()
	if got := online(n); got[shellyKey] || got[pvKey] || !got[dual1] || !got[dual2] {
		t.Errorf("just restarted: online %v; want the Shelly and the PV inverter offline, the Tasmota channels online", got)
	}
	// A new SENSOR, published after everything above, is a sync point.
	before := readings(n, "tasmota/dual:1")
	publish("tele/dual/SENSOR", sensor(1), false)
	waitFor(t, "the new SENSOR stored", func() bool { return readings(n, "tasmota/dual:1") > before })
	if got := online(n); got[shellyKey] || got[pvKey] {
		t.Errorf("restarted, after more traffic: online %v; want the Shelly and the PV inverter still offline", got)
	}

	// The Shelly comes back, then the node stops; meanwhile the Shelly
	// and the Tasmota leave their last wills, retained.
	publish(plug+"/online", "true", true)
	wait(n, "the Shelly online again", map[string]bool{shellyKey: true})
	n.Close()
	publish(plug+"/online", "false", true)
	publish("tele/dual/LWT", "Offline", true)
	n = start()
	defer n.Close()
	wait(n, "the retained last wills applied after the restart", map[string]bool{shellyKey: false, dual1: false, dual2: false, pvKey: false})
}
