package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/p2p"
)

// health is /healthz as JSON.
type health struct {
	Status string `json:"status"`
	Checks []struct {
		Name   string `json:"name"`
		OK     bool   `json:"ok"`
		Detail string `json:"detail"`
	} `json:"checks"`
}

func getHealth(t *testing.T, base string) (int, health) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	return resp.StatusCode, h
}

func (h health) check(name string) (ok bool, detail string, found bool) {
	for _, c := range h.Checks {
		if c.Name == name {
			return c.OK, c.Detail, true
		}
	}
	return false, "", false
}

// call sends an authorised API request and returns the status and body.
func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestNodeStopsStoringBelowTheDiskReserve drives the disk guard of a
// whole node through an injected free-space source: below the store's own
// minimum the node refuses to start and opens nothing; below the reserve
// it starts paused, says so at /healthz and /metrics, holds telemetry
// unacknowledged and refuses every write that needs the disk with 503;
// with room again it resumes by itself and stores what it held.
func TestNodeStopsStoringBelowTheDiskReserve(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	dir := t.TempDir()
	cfg, err := ParseConfig(fmt.Appendf(nil, `
data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s, client_id: disk-test-node}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], mdns: false}
storage: {min_free: 100MiB, resume_margin: 10MiB}
adapters: [{dialect: tasmota}]
devices: [{dialect: tasmota, serial: plug, nameplate_w: 2000}]
`, dir, b.URL()))
	if err != nil {
		t.Fatal(err)
	}
	disk := &fakeDisk{free: 50 * mib, total: 1 << 30}
	opts := Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight, DiskSpace: disk.space}
	ctx := context.Background()

	// Below what the store needs to open: a clear refusal, nothing opened.
	if n, err := Start(ctx, cfg, opts); err == nil {
		n.Close()
		t.Fatal("started with 50 MiB free, below the store's 64 MiB")
	} else if gridmint.ErrorCode(err) != gridmint.EUnavailable || !strings.Contains(err.Error(), "50 MiB free, below the 64 MiB the store needs") {
		t.Fatalf("start at 50 MiB free: %v; want an unavailable error naming the free space and the store's need", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Errorf("the refused start created the store: %v", err)
	}

	// Between the store's minimum and the reserve: up, but paused.
	disk.set(80 * mib)
	n, err := Start(ctx, cfg, opts)
	if err != nil {
		t.Fatalf("start at 80 MiB free: %v", err)
	}
	defer n.Close()
	base := "http://" + n.HTTPAddr()
	code, h := getHealth(t, base)
	ok, detail, found := h.check("disk")
	if code != http.StatusServiceUnavailable || !found || ok || !strings.HasPrefix(detail, "80 MiB free, below the reserve of 100 MiB") {
		t.Errorf("/healthz while paused: %d %+v; want 503 with the disk check failing: 80 MiB free, below the reserve of 100 MiB", code, h)
	}
	for _, m := range []struct {
		name string
		want float64
	}{{"gridmint_disk_paused", 1}, {"gridmint_disk_free_bytes", 80 * mib}, {"gridmint_disk_reserve_bytes", 100 * mib}, {"gridmint_disk_pauses_total", 1}} {
		if got := gathered(t, n.metrics, m.name, ""); got != m.want {
			t.Errorf("%s = %v, want %v", m.name, got, m.want)
		}
	}
	metricsPage := get(t, base+"/metrics")
	if !strings.Contains(metricsPage, "gridmint_disk_paused 1") {
		t.Error("/metrics does not show gridmint_disk_paused 1")
	}

	// Telemetry is held at the broker: neither stored nor acknowledged.
	pub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("disk-test-publisher"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher: %v", tok.Error())
	}
	defer pub.Disconnect(0)
	if tok := pub.Publish("tele/plug/SENSOR", 1, false, `{"ENERGY":{"Total":1.000,"Power":5}}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	waitFor(t, "the node to hold the message unacknowledged", func() bool {
		return gathered(t, n.metrics, "gridmint_mqtt_messages_pending", "") == 1
	})
	id := gridmint.DeviceID(n.Identity().Address + "/tasmota/plug")
	if rs, err := n.Store().Readings(id, time.Time{}, time.Time{}, 0); err != nil || len(rs) != 0 {
		t.Fatalf("readings stored while paused: %v, %v", rs, err)
	}

	// Writes that need the disk answer 503 and say why.
	token, err := os.ReadFile(n.APITokenFile())
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(token))
	soon := time.Now().UTC().Add(time.Hour).Truncate(time.Hour)
	writes := []struct{ method, path, body string }{
		{"PATCH", "/api/v1/devices/" + string(id), `{"name":"kettle"}`},
		{"POST", "/api/v1/devices/" + string(id) + "/setpoint", `{"kind":"switch","value":1}`},
		{"POST", "/api/v1/requests", fmt.Sprintf(`{"zone":"NL","window_start":%q,"window_end":%q,"power_w":1000,"direction":"down","max_price":100,"gate_closure":%q}`,
			soon.Add(time.Hour).Format(time.RFC3339), soon.Add(2*time.Hour).Format(time.RFC3339), soon.Format(time.RFC3339))},
	}
	for _, w := range writes {
		code, body := call(t, w.method, base+w.path, tok, w.body)
		var e struct{ Error, Code string }
		_ = json.Unmarshal([]byte(body), &e)
		if code != http.StatusServiceUnavailable || e.Code != gridmint.EUnavailable || !strings.Contains(e.Error, "disk full: 80 MiB free") {
			t.Errorf("%s %s while paused: %d %s; want 503, code unavailable, saying the disk is full", w.method, w.path, code, body)
		}
	}
	// Gossip from peers is not stored (the validator ignores it).
	if err := (guardedMessages{n.store, n.disk}).PutMessage(p2p.StoredMessage{ID: [32]byte{1}, Topic: p2p.Topics()[0], Created: time.Now(), Received: time.Now(), Raw: []byte{1}}); gridmint.ErrorCode(err) != gridmint.EUnavailable {
		t.Errorf("storing gossip while paused: %v, want unavailable", err)
	}
	if got := gathered(t, n.metrics, "gridmint_disk_refused_total", "gossip"); got != 2 {
		t.Errorf("refused gossip = %v, want 2 (the API's request and the peer's message)", got)
	}
	// A chain submission is refused before anything is sent.
	_, err = n.chain.TransferFLEX(ctx, common.Hash{7}, common.Address{1}, big.NewInt(1))
	if gridmint.ErrorCode(err) != gridmint.EUnavailable || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("chain submission while paused: %v; want unavailable, disk full", err)
	}
	if got := gathered(t, n.metrics, "gridmint_disk_refused_total", "chain"); got != 1 {
		t.Errorf("refused chain submissions = %v, want 1", got)
	}

	// Room again: the node resumes by itself and stores what it held.
	disk.set(109 * mib)
	if st, _ := n.disk.refresh(); !st.Paused {
		t.Fatal("resumed within the margin")
	}
	disk.set(110 * mib)
	waitFor(t, "the node to resume", func() bool {
		code, _ := getHealth(t, base)
		return code == http.StatusOK
	})
	waitFor(t, "the held message to be stored", func() bool {
		rs, err := n.Store().Readings(id, time.Time{}, time.Time{}, 0)
		return err == nil && len(rs) == 1 && rs[0].Raw == 1_000_000
	})
	waitFor(t, "the held message to be acknowledged", func() bool {
		return gathered(t, n.metrics, "gridmint_mqtt_messages_pending", "") == 0
	})
	if code, body := call(t, "PATCH", base+"/api/v1/devices/"+string(id), tok, `{"name":"kettle"}`); code != http.StatusOK {
		t.Errorf("PATCH after resume: %d %s", code, body)
	}
	if _, err := n.chain.TransferFLEX(ctx, common.Hash{7}, common.Address{1}, big.NewInt(1)); err != nil && strings.Contains(err.Error(), "disk full") {
		t.Errorf("chain submission after resume still refused: %v", err)
	}
	if got := gathered(t, n.metrics, "gridmint_disk_paused", ""); got != 0 {
		t.Errorf("gridmint_disk_paused = %v after resume", got)
	}
}
