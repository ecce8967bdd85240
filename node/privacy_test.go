package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// TestPostedOfferGossipsTheDeviceKey: POST /api/v1/offers takes the
// node's own device id, and what the node signs, returns and keeps in
// its gossip history names the device by its key, without the serial.
func TestPostedOfferGossipsTheDeviceKey(t *testing.T) {
	parallel(t)
	b := startTestBroker(t)
	const serial = "HQ2207ABCDE"
	cfg, err := ParseConfig(fmt.Appendf(nil, `data_dir: %s
http_addr: 127.0.0.1:0
mqtt: {broker: %s}
p2p: {listen: [/ip4/127.0.0.1/tcp/0], dht: "off"}
adapters: [{dialect: tasmota}]
devices: [{dialect: tasmota, serial: %s, kind: plug, nameplate_w: 2000, zone: DE-LU}]
`, t.TempDir(), b.URL(), serial))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 22, 17, 0, 0, 0, time.UTC)
	clock := newFastClock(start.Add(-2*time.Hour), 1)
	n, err := Start(context.Background(), cfg, Options{Logger: testLogger(), Passphrase: testPassphrase, CreateKey: KDFLight, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	id := gridmint.DeviceID(n.Identity().Address + "/tasmota/" + serial)
	key := n.Identity().DeviceKey(id)
	base := "http://" + n.HTTPAddr()

	post := func(extra string) (int, []byte) {
		t.Helper()
		body := fmt.Sprintf(`{"device": %q, "window_start": "+2h", "window_end": "+3h", "power_w": 1500,
			"direction": "down", "floor_price": 100, "baseline": "schedule", "expiry": "+90m"%s}`, id, extra)
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/offers", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+n.apiToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		reply, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, reply
	}
	code, reply := post("")
	if code != http.StatusCreated {
		t.Fatalf("POST /api/v1/offers = %d %s, want 201", code, reply)
	}
	var published struct {
		ID   string         `json:"id"`
		Body map[string]any `json:"body"`
	}
	if err := json.Unmarshal(reply, &published); err != nil {
		t.Fatal(err)
	}
	if published.Body["device"] != key.String() || published.Body["zone"] != "DE-LU" {
		t.Errorf("signed offer %v: want device %s (the key) in DE-LU", published.Body, key)
	}
	if bytes.Contains(reply, []byte(serial)) {
		t.Errorf("the signed offer shows the serial %s: %s", serial, reply)
	}
	stored, err := n.store.Messages("/gridmint/1/offers", time.Time{}, time.Time{}, [32]byte{}, 10)
	if err != nil || len(stored) != 1 {
		t.Fatalf("gossip history: %d messages (%v), want the offer", len(stored), err)
	}
	if bytes.Contains(stored[0].Raw, []byte(serial)) || bytes.Contains(stored[0].Raw, []byte(id)) {
		t.Errorf("the gossiped envelope holds the serial: %x", stored[0].Raw)
	}
	var history struct {
		Messages []struct {
			ID   string         `json:"id"`
			Body map[string]any `json:"body"`
		} `json:"messages"`
	}
	getJSON(t, base+"/api/v1/p2p/messages?topic=offers&from=2026-11-22T00:00:00Z", &history)
	if len(history.Messages) != 1 || history.Messages[0].ID != published.ID || history.Messages[0].Body["device"] != key.String() {
		t.Errorf("GET /api/v1/p2p/messages: %+v, want the offer %s with device %s", history.Messages, published.ID, key)
	}

	// A meter of record other than the device does not travel yet: the
	// offer is refused whole, naming the meter.
	code, reply = post(fmt.Sprintf(`, "meter": %q`, n.Identity().Address+"/tasmota/meter1"))
	if code != http.StatusBadRequest || !strings.Contains(string(reply), "meter") {
		t.Errorf("offer with a site meter: %d %s, want 400 naming the meter", code, reply)
	}
}
