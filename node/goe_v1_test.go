package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gridmint/gridmint"
)

// fakeGoEV1 is a go-eCharger on the API v1 as its document describes it
// (goecharger/go-eCharger-API-v1, section 6): a status object with every
// number a string on go-eCharger/<serial>/status, commands "<key>=<value>"
// on go-eCharger/<serial>/cmd/req, no reply but the next status.
type fakeGoEV1 struct {
	mu       sync.Mutex
	amp      int
	eto      int // 0.1 kWh
	commands []string
}

func (f *fakeGoEV1) status() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.amp * 230 * 3 / 10 // nrg[11] in 0.01 kW
	return fmt.Sprintf(`{"version":"B","car":"2","amp":"%d","err":"0","ast":"0","alw":"1","eto":"%d",`+
		`"nrg":[230,230,230,0,%d,%d,%d,0,0,0,0,%d,99,99,99,0],"fwv":"040.0","sse":"001680","mcc":"1"}`, f.amp, f.eto, f.amp*10, f.amp*10, f.amp*10, p)
}

func (f *fakeGoEV1) command(payload string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, payload)
	var n int
	if _, err := fmt.Sscanf(payload, "amx=%d", &n); err == nil && n >= 6 && n <= 32 {
		f.amp = n
	}
}

// TestGoEV1ChargeCurrentOverMosquitto: a go-eCharger on the API v1 is read
// by the goe adapter, a charge current goes out as cmd/req amx=<A> and is
// confirmed by the next status that shows it; start/stop is refused.
func TestGoEV1ChargeCurrentOverMosquitto(t *testing.T) {
	parallel(t)
	url := startMosquitto(t)
	charger := &fakeGoEV1{amp: 16, eto: 4900}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("go-e-v1-fake"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("fake charger connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	if tok := c.Subscribe("go-eCharger/001680/cmd/req", 1, func(_ paho.Client, m paho.Message) {
		charger.command(string(m.Payload()))
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("fake charger subscribe: %v", tok.Error())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(200 * time.Millisecond) // the charger's 5 s, faster
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				c.Publish("go-eCharger/001680/status", 0, false, charger.status())
			}
		}
	}()

	cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0]}
adapters: [{dialect: goe}]
devices: [{dialect: goe, serial: "001680", limits: {min_current_a: 6, max_current_a: 16}}]
`, t.TempDir(), url))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	id := gridmint.DeviceID(n.Identity().Address + "/goe/001680")
	device := func() map[string]any {
		var d map[string]any
		getJSON(t, "http://"+n.HTTPAddr()+"/api/v1/devices/"+string(id), &d)
		return d
	}
	waitFor(t, "the v1 charger's readings", func() bool {
		d := device()
		e, _ := d["energy_wh"].(float64)
		return power(d) == 11040 && e == 490_000
	})

	post := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+n.HTTPAddr()+"/api/v1/devices/"+string(id)+"/setpoint?wait=10s", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+n.apiToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	code, body := post(`{"kind":"charge_current","value":10}`)
	var rec gridmint.CommandRecord
	if err := json.Unmarshal([]byte(body), &rec); err != nil || code != http.StatusOK || rec.Status != gridmint.CommandConfirmed ||
		rec.Topic != "go-eCharger/001680/cmd/req" || rec.Payload != "amx=10" || rec.Reason != "confirmed on go-eCharger/001680/status" {
		t.Fatalf("charge_current 10: %d %s; want confirmed by the status, amx=10 on cmd/req", code, body)
	}
	waitFor(t, "power at 10 A", func() bool { return power(device()) == 6900 })
	charger.mu.Lock()
	cmds := strings.Join(charger.commands, " ")
	charger.mu.Unlock()
	if cmds != "amx=10" {
		t.Errorf("the charger got %q, want amx=10", cmds)
	}
	if code, body := post(`{"kind":"charge_enable","value":0}`); code != http.StatusBadRequest || !strings.Contains(body, "API v1") {
		t.Errorf("charge_enable on v1: %d %s; want 400 naming API v1", code, body)
	}
}
