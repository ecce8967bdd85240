package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
)

// optOutMarket is a market that takes opt-outs of one awarded device of
// one event, before a fixed window start.
type optOutMarket struct {
	fakeMarket
	late     bool
	declared map[gridmint.DeviceID]bool
}

func (m *optOutMarket) OptOut(ctx context.Context, req gridmint.RequestID, dev gridmint.DeviceID) (MarketExemption, bool, error) {
	return m.Exempt(ctx, req, dev, gridmint.FlexOptOut)
}

func (m *optOutMarket) Exempt(_ context.Context, req gridmint.RequestID, dev gridmint.DeviceID, reason gridmint.FlexReason) (MarketExemption, bool, error) {
	switch {
	case req != m.ev.RequestID:
		return MarketExemption{}, false, &flex.ReasonError{Reason: "exemption_unknown", Err: gridmint.Errorf(gridmint.ENotFound, "request not held")}
	case dev != "0xn/victron/battery-512":
		return MarketExemption{}, false, &flex.ReasonError{Reason: gridmint.FlexUnknownDevice, Err: gridmint.Errorf(gridmint.ENotFound, "not this node's")}
	case m.late:
		return MarketExemption{}, false, &flex.ReasonError{Reason: "exemption_late", Err: gridmint.Errorf(gridmint.EConflict, "exemption_late: the window started")}
	}
	first := !m.declared[dev]
	m.declared[dev] = true
	return MarketExemption{RequestID: req, LocalDevice: dev, Reason: string(reason)}, first, nil
}

// TestOptOutRoute: token required, body checked, 201 then 200 for the
// same declaration, the market's refusals with their status and reason.
func TestOptOutRoute(t *testing.T) {
	m := &optOutMarket{fakeMarket: fakeMarket{MarketEvent{RequestID: gridmint.RequestID{0xab}}}, declared: map[gridmint.DeviceID]bool{}}
	srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Market: m, Token: testToken}))
	defer srv.Close()
	post := func(req, token, body string) (int, string) {
		t.Helper()
		r, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/market/events/"+req+"/opt-out", strings.NewReader(body))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	id := m.ev.RequestID.String()
	good := `{"device":"0xn/victron/battery-512"}`
	cases := []struct {
		name, req, token, body string
		code                   int
		want                   string
	}{
		{"no token", id, "", good, http.StatusUnauthorized, ""},
		{"bad id", "0x12", testToken, good, http.StatusBadRequest, "request id"},
		{"no device", id, testToken, `{}`, http.StatusBadRequest, "device"},
		{"unknown field", id, testToken, `{"device":"x","why":"y"}`, http.StatusBadRequest, "why"},
		{"another's device", id, testToken, `{"device":"0xother/goe/1"}`, http.StatusNotFound, `"reason": "unknown_device"`},
		{"unknown request", gridmint.RequestID{1}.String(), testToken, good, http.StatusNotFound, `"reason": "exemption_unknown"`},
		{"another reason", id, testToken, `{"device":"0xn/victron/battery-512","reason":"offline"}`, http.StatusBadRequest, "grid_limit"},
		{"declared", id, testToken, good, http.StatusCreated, `"reason": "opt_out"`},
		{"again", id, testToken, good, http.StatusOK, `"reason": "opt_out"`},
		{"a grid limit", id, testToken, `{"device":"0xn/victron/battery-512","reason":"grid_limit"}`, http.StatusOK, `"reason": "grid_limit"`},
	}
	for _, c := range cases {
		if code, body := post(c.req, c.token, c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.code, c.want)
		}
	}
	m.late = true
	code, body := post(id, testToken, good)
	var e struct{ Error, Code, Reason string }
	if code != http.StatusConflict || json.Unmarshal([]byte(body), &e) != nil || e.Reason != "exemption_late" || e.Code != gridmint.EConflict {
		t.Errorf("after the window start: %d %s, want 409 exemption_late", code, body)
	}
	// A market that takes no opt-outs has no route.
	plain := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Market: fakeMarket{}, Token: testToken}))
	defer plain.Close()
	r, _ := http.NewRequest(http.MethodPost, plain.URL+"/api/v1/market/events/"+id+"/opt-out", strings.NewReader(good))
	r.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := http.DefaultClient.Do(r); err != nil || resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("without opt-outs: %v %v", resp.StatusCode, err)
	}
}

// FuzzDecodeOptOut: never panics; what it accepts is a non-empty,
// bounded, valid UTF-8 device id and opt_out or grid_limit.
func FuzzDecodeOptOut(f *testing.F) {
	f.Add([]byte(`{"device":"0xn/victron/battery-512"}`))
	f.Add([]byte(`{"device":""}`))
	f.Add([]byte(`{"device":"\ud800"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"device":"d","reason":"grid_limit"}`))
	f.Add([]byte(`{"device":"d","reason":"offline"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		dev, reason, err := DecodeOptOut(body)
		if err != nil {
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("error %v has code %q, want invalid", err, gridmint.ErrorCode(err))
			}
			return
		}
		if dev == "" || len(dev) > maxOptOutDevice || !utf8.ValidString(string(dev)) {
			t.Fatalf("accepted device %q", dev)
		}
		if reason != gridmint.FlexOptOut && reason != gridmint.FlexGridLimit {
			t.Fatalf("accepted reason %q", reason)
		}
	})
}
