package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// fakeNetwork is a Network whose behaviour a test sets through function
// fields; calling an unset one panics, failing the test.
type fakeNetwork struct {
	PeersFn          func() NetworkInfo
	MessagesFn       func(topic string, from, to time.Time, cursor string, limit int) ([]NetworkMessage, string, error)
	PublishOfferFn   func(gridmint.Offer) (NetworkMessage, error)
	PublishRequestFn func(gridmint.Request) (NetworkMessage, error)
	StatsFn          func() NetworkStats
}

func (f fakeNetwork) Peers() NetworkInfo { return f.PeersFn() }
func (f fakeNetwork) Messages(topic string, from, to time.Time, cursor string, limit int) ([]NetworkMessage, string, error) {
	return f.MessagesFn(topic, from, to, cursor, limit)
}
func (f fakeNetwork) PublishOffer(_ context.Context, o gridmint.Offer) (NetworkMessage, error) {
	return f.PublishOfferFn(o)
}
func (f fakeNetwork) PublishRequest(_ context.Context, r gridmint.Request) (NetworkMessage, error) {
	return f.PublishRequestFn(r)
}
func (f fakeNetwork) Stats() NetworkStats { return f.StatsFn() }

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

var networkNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func newNetworkServer(t *testing.T, fn fakeNetwork) *httptest.Server {
	battery := devices.DeviceState{Device: gridmint.Device{ID: "0xn/victron/battery-512", Kind: gridmint.KindBattery, Dialect: "victron",
		Serial: "battery-512", Zone: "DE-LU", Limits: gridmint.SafetyLimits{MaxCharge: 3000, MaxDischarge: 2000}}}
	optedOut := devices.DeviceState{Device: gridmint.Device{ID: "0xn/goe/1", Kind: gridmint.KindEVCharger, Dialect: "goe", Serial: "1", OptOut: true}}
	fc := fakeControl{DeviceFn: func(id gridmint.DeviceID) (devices.DeviceState, bool) {
		switch id {
		case battery.ID:
			return battery, true
		case optedOut.ID:
			return optedOut, true
		}
		return devices.DeviceState{}, false
	}}
	srv := httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices}, Control: fc, Network: fn, Token: testToken,
		Clock: fixedClock(networkNow), Health: func() []Check { return nil },
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPeersEndpoint(t *testing.T) {
	lat := 1.5
	srv := newNetworkServer(t, fakeNetwork{PeersFn: func() NetworkInfo {
		return NetworkInfo{PeerID: "16Uiu2A", Address: "0xA", ListenAddrs: []string{"/ip4/127.0.0.1/tcp/4001/p2p/16Uiu2A"},
			Peers: []Peer{{PeerID: "16Uiu2B", Address: "0xB", Addrs: []string{"/ip4/127.0.0.1/tcp/4002"}, LatencyMS: &lat, Score: 3.5, Topics: []string{"/gridmint/1/offers"}}}}
	}})
	code, body := call(t, http.MethodGet, srv.URL+"/api/v1/peers", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/peers = %d %s", code, body)
	}
	var got NetworkInfo
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Peers) != 1 || got.Peers[0].Score != 3.5 || got.Peers[0].LatencyMS == nil || *got.Peers[0].LatencyMS != 1.5 {
		t.Errorf("peers = %+v, want the one peer with score 3.5 and latency 1.5 ms", got.Peers)
	}
}

func TestMessagesEndpoint(t *testing.T) {
	var gotTopic, gotCursor string
	var gotFrom, gotTo time.Time
	srv := newNetworkServer(t, fakeNetwork{MessagesFn: func(topic string, from, to time.Time, cursor string, limit int) ([]NetworkMessage, string, error) {
		gotTopic, gotFrom, gotTo, gotCursor = topic, from, to, cursor
		if topic == "/gridmint/1/nonsense" {
			return nil, "", gridmint.Errorf(gridmint.EInvalid, "unknown topic %q", topic)
		}
		return []NetworkMessage{{ID: "0x01", Topic: topic, Kind: "offer"}}, "next1", nil
	}})
	tests := []struct {
		name, query string
		wantCode    int
		wantInBody  string
	}{
		{"defaults to offers of the last day", "", http.StatusOK, `"next": "next1"`},
		{"a topic and range", "?topic=/gridmint/1/meter&from=2026-11-22T00:00:00Z&to=2026-11-22T06:00:00Z&cursor=abc", http.StatusOK, `"kind": "offer"`},
		{"unknown topic", "?topic=/gridmint/1/nonsense", http.StatusBadRequest, "unknown topic"},
		{"bad time", "?from=yesterday", http.StatusBadRequest, "RFC 3339"},
		{"from after to", "?from=2026-11-22T06:00:00Z&to=2026-11-22T00:00:00Z", http.StatusBadRequest, "before"},
		{"limit too big", "?limit=100000", http.StatusBadRequest, "limit"},
	}
	for _, tt := range tests {
		code, body := call(t, http.MethodGet, srv.URL+"/api/v1/p2p/messages"+tt.query, "", "")
		if code != tt.wantCode || !strings.Contains(body, tt.wantInBody) {
			t.Errorf("%s: got %d %s, want %d with %q", tt.name, code, body, tt.wantCode, tt.wantInBody)
		}
		if tt.name == "defaults to offers of the last day" && (gotTopic != "/gridmint/1/offers" || !gotTo.Equal(networkNow) || !gotFrom.Equal(networkNow.Add(-24*time.Hour))) {
			t.Errorf("defaults: topic %q [%v, %v), want offers over the day before %v", gotTopic, gotFrom, gotTo, networkNow)
		}
		if tt.name == "a topic and range" && (gotTopic != "/gridmint/1/meter" || gotCursor != "abc" || gotTo.Hour() != 6) {
			t.Errorf("query: topic %q cursor %q to %v, want meter, abc, 06:00", gotTopic, gotCursor, gotTo)
		}
	}
}

func TestPublishOfferEndpoint(t *testing.T) {
	var published []gridmint.Offer
	srv := newNetworkServer(t, fakeNetwork{PublishOfferFn: func(o gridmint.Offer) (NetworkMessage, error) {
		published = append(published, o)
		return NetworkMessage{ID: "0xabc", Topic: "/gridmint/1/offers", Kind: "offer", Body: o}, nil
	}})
	offer := func(device string) string {
		return `{"device":"` + device + `","window_start":"2026-11-22T17:00:00Z","window_end":"2026-11-22T18:00:00Z",
			"power_w":3000,"direction":"down","floor_price":120000,"baseline":"meter_before_after","expiry":"2026-11-22T16:45:00Z"}`
	}
	tests := []struct {
		name, token, body string
		wantCode          int
		wantInBody        string
	}{
		{"no token", "", offer("0xn/victron/battery-512"), http.StatusUnauthorized, "API token"},
		{"wrong token", "nope", offer("0xn/victron/battery-512"), http.StatusUnauthorized, "API token"},
		{"unknown device", testToken, offer("0xother/victron/battery-512"), http.StatusNotFound, "not one of this node's devices"},
		{"opted out", testToken, offer("0xn/goe/1"), http.StatusConflict, "opted out"},
		{"unknown field", testToken, `{"device":"0xn/victron/battery-512","colour":"red"}`, http.StatusBadRequest, "colour"},
		{"invalid window", testToken, strings.Replace(offer("0xn/victron/battery-512"), "18:00", "17:00", 1), http.StatusBadRequest, "empty"},
		{"no device", testToken, `{}`, http.StatusBadRequest, "device"},
		{"invalid UTF-8", testToken, strings.Replace(offer("0xn/victron/battery-512"), `"down"`, "\"do\xffwn\"", 1), http.StatusBadRequest, "direction: not valid UTF-8"},
		{"half a surrogate pair", testToken, strings.Replace(offer("0xn/victron/battery-512"), `"device":"0xn/`, `"device":"\ud800/`, 1), http.StatusBadRequest, "device: not valid UTF-8"},
		{"more than the battery can shift", testToken, strings.Replace(offer("0xn/victron/battery-512"), `"power_w":3000`, `"power_w":5001`, 1), http.StatusBadRequest, "at most 5000 W"},
		{"expired", testToken, strings.Replace(offer("0xn/victron/battery-512"), "2026-11-22T16:45:00Z", "2026-11-22T11:59:00Z", 1), http.StatusBadRequest, "has passed"},
		{"valid, zone from the device", testToken, offer("0xn/victron/battery-512"), http.StatusCreated, `"id": "0xabc"`},
	}
	for _, tt := range tests {
		code, body := call(t, http.MethodPost, srv.URL+"/api/v1/offers", tt.token, tt.body)
		if code != tt.wantCode || !strings.Contains(body, tt.wantInBody) {
			t.Errorf("%s: got %d %s, want %d with %q", tt.name, code, body, tt.wantCode, tt.wantInBody)
		}
	}
	if len(published) != 1 || published[0].Zone != "DE-LU" {
		t.Errorf("published %+v, want one offer in the device's zone DE-LU", published)
	}
}

// TestOfferAndRequestRelativeTimes: times in a body may be relative to
// the node's clock ("+2h"), so that an example stays valid on any day; the
// published message carries absolute whole seconds.
func TestOfferAndRequestRelativeTimes(t *testing.T) {
	var offers []gridmint.Offer
	var requests []gridmint.Request
	srv := newNetworkServer(t, fakeNetwork{
		PublishOfferFn: func(o gridmint.Offer) (NetworkMessage, error) {
			offers = append(offers, o)
			return NetworkMessage{ID: "0xabc", Kind: "offer", Body: o}, nil
		},
		PublishRequestFn: func(r gridmint.Request) (NetworkMessage, error) {
			requests = append(requests, r)
			return NetworkMessage{ID: "0xdef", Kind: "request", Body: r}, nil
		},
	})
	offer := func(start, end, expiry string) string {
		return `{"device":"0xn/victron/battery-512","window_start":"` + start + `","window_end":"` + end + `",
			"power_w":3000,"direction":"down","floor_price":120000,"baseline":"schedule","expiry":"` + expiry + `"}`
	}
	tests := []struct {
		name, body string
		wantCode   int
		wantInBody string
	}{
		{"relative", offer("+2h", "+3h", "+1h30m"), http.StatusCreated, `"window_start": "2026-11-22T14:00:00Z"`},
		{"mixed with absolute", offer("2026-11-22T17:00:00Z", "+6h", "+45m"), http.StatusCreated, `"window_end": "2026-11-22T18:00:00Z"`},
		{"relative expiry passed", offer("+2h", "+3h", "-1m"), http.StatusBadRequest, "has passed"},
		{"relative window empty", offer("+3h", "+2h", "+1h"), http.StatusBadRequest, "empty"},
		{"not a duration", offer("+2 hours", "+3h", "+1h"), http.StatusBadRequest, `window_start \"+2 hours\": want a duration`},
		{"beyond a year", offer("+2h", "+9000h", "+1h"), http.StatusBadRequest, `window_end \"+9000h\": want a duration from now within a year`},
		{"neither", offer("tomorrow", "+3h", "+1h"), http.StatusBadRequest, "RFC 3339"},
		{"a number", `{"device":"0xn/victron/battery-512","expiry":7200}`, http.StatusBadRequest, "expiry"},
	}
	for _, tt := range tests {
		code, body := call(t, http.MethodPost, srv.URL+"/api/v1/offers", testToken, tt.body)
		if code != tt.wantCode || !strings.Contains(body, tt.wantInBody) {
			t.Errorf("%s: got %d %s, want %d with %q", tt.name, code, body, tt.wantCode, tt.wantInBody)
		}
	}
	if len(offers) != 2 {
		t.Fatalf("published %d offers, want 2", len(offers))
	}
	if o := offers[0]; !o.WindowStart.Equal(networkNow.Add(2*time.Hour)) || !o.WindowEnd.Equal(networkNow.Add(3*time.Hour)) || !o.Expiry.Equal(networkNow.Add(90*time.Minute)) {
		t.Errorf("offer +2h, +3h, +1h30m at %v: got [%v, %v) expiry %v", networkNow, o.WindowStart, o.WindowEnd, o.Expiry)
	}
	req := `{"zone":"DE-LU","window_start":"+2h","window_end":"+3h","power_w":50000,"direction":"down","max_price":300000,"gate_closure":"+1h45m"}`
	if code, body := call(t, http.MethodPost, srv.URL+"/api/v1/requests", testToken, req); code != http.StatusCreated {
		t.Fatalf("relative request: %d %s, want 201", code, body)
	}
	if len(requests) != 1 || !requests[0].GateClosure.Equal(networkNow.Add(105*time.Minute)) || !requests[0].WindowEnd.Equal(networkNow.Add(3*time.Hour)) {
		t.Errorf("published %+v, want the gate at now+1h45m and the window to end at now+3h", requests)
	}
}

// TestRelativeTimesAreWholeSeconds: a node clock with a fraction of a
// second, in any zone, resolves "+1h" to whole seconds in UTC, which the
// wire requires.
func TestRelativeTimesAreWholeSeconds(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 987654321, time.FixedZone("CET", 3600))
	got, err := bodyTime("offer", "expiry", "+1h", now)
	if want := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC); err != nil || got != want {
		t.Errorf("bodyTime(+1h) at %v = %v, %v; want %v", now, got, err, want)
	}
}

// fuzzNow is the clock the fuzzed bodies' relative times resolve against,
// with a fraction of a second that must not reach the result.
var fuzzNow = time.Date(2026, 11, 22, 12, 0, 0, 5e8, time.UTC)

func FuzzDecodeOffer(f *testing.F) {
	f.Add([]byte(`{"device":"0xn/victron/b","window_start":"+2h","window_end":"+3h","power_w":3000,"direction":"down","floor_price":1,"baseline":"schedule","expiry":"+1h30m"}`))
	f.Add([]byte(`{"device":"0xn/victron/b","window_start":"-9223372036s","window_end":"+8784h","expiry":"+"}`))
	f.Add([]byte(`{"device":"0xn/victron/b","window_start":"2026-11-22T17:00:00Z","window_end":"2026-11-22T18:00:00Z","power_w":3000,"direction":"down","floor_price":1,"baseline":"schedule","expiry":"2026-11-22T16:00:00Z"}`))
	f.Add([]byte(`{"power_w":1e400}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := DecodeOffer(body, fuzzNow, func(gridmint.DeviceID) (string, error) { return "DE-LU", nil })
		if err != nil {
			if c := gridmint.ErrorCode(err); c != gridmint.EInvalid {
				t.Fatalf("error %v has code %q, want invalid", err, c)
			}
			return
		}
		if err := o.Validate(); err != nil {
			t.Fatalf("accepted an invalid offer %+v: %v", o, err)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"zone":"DE-LU","window_start":"+2h","window_end":"+150m","power_w":50000,"direction":"up","max_price":1,"gate_closure":"+1h"}`))
	f.Add([]byte(`{"zone":"DE-LU","window_start":"2026-11-22T17:00:00Z","window_end":"2026-11-22T18:00:00Z","power_w":50000,"direction":"up","max_price":1,"gate_closure":"2026-11-22T16:00:00Z"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body, fuzzNow)
		if err != nil {
			if c := gridmint.ErrorCode(err); c != gridmint.EInvalid {
				t.Fatalf("error %v has code %q, want invalid", err, c)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted an invalid request %+v: %v", r, err)
		}
	})
}

// TestErrorsHaveACode: every error body carries a gridmint error code,
// also those the handlers write directly.
func TestErrorsHaveACode(t *testing.T) {
	srv := newNetworkServer(t, fakeNetwork{})
	for _, path := range []string{"/api/v1/p2p/messages?from=notatime", "/api/v1/p2p/messages?limit=-1"} {
		code, body := call(t, http.MethodGet, srv.URL+path, "", "")
		var e struct{ Error, Code string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || code != http.StatusBadRequest || e.Code != "invalid" || e.Error == "" {
			t.Errorf("GET %s = %d %s, want 400 with an error and code invalid", path, code, body)
		}
	}
}
