package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// fakeControl is a Control whose behaviour a test sets through function
// fields; calling an unset one panics, failing the test.
type fakeControl struct {
	DeviceFn   func(gridmint.DeviceID) (devices.DeviceState, bool)
	UpdateFn   func(gridmint.Device) (devices.DeviceState, error)
	ReadingsFn func(gridmint.DeviceID, time.Time, time.Time, int) ([]gridmint.Reading, error)
	SendFn     func(gridmint.Setpoint) (gridmint.CommandRecord, error)
	CommandFn  func(string) (gridmint.CommandRecord, error)
	CommandsFn func(gridmint.DeviceID, string, int) ([]gridmint.CommandRecord, string, error)
}

func (f fakeControl) Device(id gridmint.DeviceID) (devices.DeviceState, bool) { return f.DeviceFn(id) }
func (f fakeControl) EditDevice(_ context.Context, id gridmint.DeviceID, edit func(gridmint.Device) (gridmint.Device, error)) (devices.DeviceState, error) {
	st, ok := f.DeviceFn(id)
	if !ok {
		return devices.DeviceState{}, gridmint.Errorf(gridmint.ENotFound, "no device %s", id)
	}
	d, err := edit(st.Device)
	if err != nil {
		return devices.DeviceState{}, err
	}
	return f.UpdateFn(d)
}
func (f fakeControl) Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error) {
	return f.ReadingsFn(id, from, to, limit)
}
func (f fakeControl) Send(_ context.Context, sp gridmint.Setpoint) (gridmint.CommandRecord, error) {
	return f.SendFn(sp)
}
func (f fakeControl) Command(id string) (gridmint.CommandRecord, error) { return f.CommandFn(id) }
func (f fakeControl) Commands(id gridmint.DeviceID, c string, l int) ([]gridmint.CommandRecord, string, error) {
	return f.CommandsFn(id, c, l)
}

const testToken = "0123456789abcdef0123456789abcdef"

func newControlServer(t *testing.T, fc fakeControl) *httptest.Server {
	charger := devices.DeviceState{Device: gridmint.Device{ID: "0xn/goe/123456", Kind: gridmint.KindEVCharger, Dialect: "goe", Serial: "123456",
		Capabilities: []gridmint.Capability{gridmint.CapPower, gridmint.CapCurrentCtl}, Limits: gridmint.SafetyLimits{MinCurrent: 6, MaxCurrent: 16}}}
	if fc.DeviceFn == nil {
		fc.DeviceFn = func(id gridmint.DeviceID) (devices.DeviceState, bool) { return charger, id == charger.ID }
	}
	if fc.ReadingsFn == nil {
		fc.ReadingsFn = func(gridmint.DeviceID, time.Time, time.Time, int) ([]gridmint.Reading, error) { return nil, nil }
	}
	if fc.CommandsFn == nil {
		fc.CommandsFn = func(gridmint.DeviceID, string, int) ([]gridmint.CommandRecord, string, error) { return nil, "", nil }
	}
	srv := httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices}, Control: fc, Token: testToken,
		Health: func() []Check { return nil },
	}))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestSetpointEndpoint(t *testing.T) {
	var sent []gridmint.Setpoint
	srv := newControlServer(t, fakeControl{
		SendFn: func(sp gridmint.Setpoint) (gridmint.CommandRecord, error) {
			if sp.Value > 16 {
				return gridmint.CommandRecord{}, gridmint.Errorf(gridmint.EInvalid, "above the maximum of 16 A")
			}
			sent = append(sent, sp)
			return gridmint.CommandRecord{ID: "c1", Setpoint: sp, Status: gridmint.CommandPending}, nil
		},
		CommandFn: func(id string) (gridmint.CommandRecord, error) {
			return gridmint.CommandRecord{ID: id, Status: gridmint.CommandConfirmed}, nil
		},
	})
	url := srv.URL + "/api/v1/devices/0xn/goe/123456/setpoint"
	tests := []struct {
		name, token, body, query string
		wantCode                 int
		wantInBody               string
	}{
		{"no token", "", `{"kind":"charge_current","value":10}`, "", http.StatusUnauthorized, "Bearer"},
		{"wrong token", "nope", `{"kind":"charge_current","value":10}`, "", http.StatusUnauthorized, "token"},
		{"accepted", testToken, `{"kind":"charge_current","value":10}`, "", http.StatusAccepted, `"status": "pending"`},
		{"waits for the confirmation", testToken, `{"kind":"charge_current","value":8}`, "?wait=2s", http.StatusOK, `"status": "confirmed"`},
		{"market origin", testToken, `{"kind":"charge_enable","value":0,"origin":"market"}`, "", http.StatusAccepted, `"origin": "market"`},
		{"refused by the limits", testToken, `{"kind":"charge_current","value":32}`, "", http.StatusBadRequest, "maximum"},
		{"unknown kind", testToken, `{"kind":"warp","value":1}`, "", http.StatusBadRequest, "setpoint kind"},
		{"value missing", testToken, `{"kind":"charge_current"}`, "", http.StatusBadRequest, "value: missing"},
		{"value not a number", testToken, `{"kind":"charge_current","value":"ten"}`, "", http.StatusBadRequest, "value"},
		{"unknown field", testToken, `{"kind":"charge_current","value":1,"force":true}`, "", http.StatusBadRequest, "force"},
		{"trailing data", testToken, `{"kind":"charge_current","value":1} {}`, "", http.StatusBadRequest, "after the JSON"},
		{"bad wait", testToken, `{"kind":"charge_current","value":1}`, "?wait=forever", http.StatusBadRequest, "wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, http.MethodPost, url+tt.query, tt.token, tt.body)
			if code != tt.wantCode || !strings.Contains(body, tt.wantInBody) {
				t.Errorf("POST %s = %d %s, want %d containing %q", tt.body, code, body, tt.wantCode, tt.wantInBody)
			}
		})
	}
	if len(sent) != 3 || sent[0].Origin != gridmint.OriginHomeowner || sent[0].Device != "0xn/goe/123456" {
		t.Errorf("sent %+v", sent)
	}
	if code, _ := call(t, http.MethodPost, srv.URL+"/api/v1/devices/0xn/goe/123456/explode", testToken, `{}`); code != http.StatusNotFound {
		t.Errorf("unknown action = %d, want 404", code)
	}
	big := `{"kind":"charge_current","value":1,"x":"` + strings.Repeat("a", maxBody) + `"}`
	if code, _ := call(t, http.MethodPost, url, testToken, big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body = %d, want 413", code)
	}
}

func TestDevicePatchAndDetail(t *testing.T) {
	var stored gridmint.Device
	srv := newControlServer(t, fakeControl{
		UpdateFn: func(d gridmint.Device) (devices.DeviceState, error) {
			stored = d
			return devices.DeviceState{Device: d}, nil
		},
	})
	url := srv.URL + "/api/v1/devices/0xn/goe/123456"
	code, body := call(t, http.MethodPatch, url, testToken,
		`{"name":"Garage","zone":"DE-LU","location":{"lat":48.1,"lon":11.6},"limits":{"min_current_a":6,"max_current_a":20},"opt_out":true}`)
	if code != http.StatusOK {
		t.Fatalf("PATCH = %d %s", code, body)
	}
	if stored.Name != "Garage" || stored.Zone != "DE-LU" || stored.Location == nil || stored.Limits.MaxCurrent != 20 || !stored.OptOut || stored.Serial != "123456" {
		t.Errorf("stored %+v", stored)
	}
	// A partial limits edit keeps the other limits.
	if code, body := call(t, http.MethodPatch, url, testToken, `{"limits":{"max_current_a":12}}`); code != http.StatusOK {
		t.Fatalf("PATCH limits = %d %s", code, body)
	}
	if stored.Limits.MaxCurrent != 12 || stored.Limits.MinCurrent != 6 {
		t.Errorf("limits after a partial edit = %+v, want max 12 and min 6 kept", stored.Limits)
	}
	// The site is an edit like any other; the node checks it names a
	// configured site (TestSiteAssignment).
	if code, body := call(t, http.MethodPatch, url, testToken, `{"site":"home-1"}`); code != http.StatusOK || stored.Site != "home-1" {
		t.Errorf("PATCH site = %d %s, stored site %q", code, body, stored.Site)
	}
	stored.Site = "home-1"
	if code, body := call(t, http.MethodPatch, url, testToken, `{"site":""}`); code != http.StatusOK || stored.Site != "" {
		t.Errorf("PATCH site \"\" = %d %s, stored site %q; want none", code, body, stored.Site)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"owner":"me"}`, "owner"},
		{`{"location":{"lat":91,"lon":0}}`, "latitude"},
		{`{"limits":{"min_current_a":20,"max_current_a":6}}`, "min_current_a"},
		{`{"kind":"toaster"}`, "kind"},
		{`{"serial":"x"}`, "serial"},
		{`{"nameplate_w":1e300}`, "nameplate_w"},
		{`{"site":"home/1"}`, "site id"},
		{`{"site":7}`, "site"},
	} {
		if code, body := call(t, http.MethodPatch, url, testToken, bad.body); code != http.StatusBadRequest || !strings.Contains(body, bad.want) {
			t.Errorf("PATCH %s = %d %s, want 400 naming %q", bad.body, code, body, bad.want)
		}
	}
	if code, _ := call(t, http.MethodPatch, url, "", `{"name":"x"}`); code != http.StatusUnauthorized {
		t.Errorf("PATCH without token = %d", code)
	}
	code, body = call(t, http.MethodGet, url, "", "")
	var detail map[string]any
	if code != http.StatusOK || json.Unmarshal([]byte(body), &detail) != nil || detail["id"] != "0xn/goe/123456" || detail["readings"] == nil {
		t.Errorf("GET detail = %d %s", code, body)
	}
	if code, _ := call(t, http.MethodGet, srv.URL+"/api/v1/devices/0xn/goe/nope", "", ""); code != http.StatusNotFound {
		t.Errorf("unknown device = %d, want 404", code)
	}
	if code, body := call(t, http.MethodGet, url+"/readings?from=yesterday", "", ""); code != http.StatusBadRequest || !strings.Contains(body, "from") {
		t.Errorf("bad from = %d %s", code, body)
	}
	if code, _ := call(t, http.MethodGet, url+"/readings?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "", ""); code != http.StatusBadRequest {
		t.Errorf("from after to = %d", code)
	}
}

func FuzzDecodeSetpoint(f *testing.F) {
	f.Add([]byte(`{"kind":"charge_current","value":10}`))
	f.Add([]byte(`{"kind":"battery_power","value":-1e308,"origin":"market"}`))
	f.Add([]byte(`{"kind":"switch","value":1} x`))
	f.Fuzz(func(t *testing.T, body []byte) {
		sp, err := DecodeSetpoint("0xn/goe/1", body)
		if err != nil {
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("error %v has code %q, want invalid", err, gridmint.ErrorCode(err))
			}
			return
		}
		if err := sp.Validate(); err != nil {
			t.Fatalf("accepted an invalid setpoint %+v: %v", sp, err)
		}
	})
}

func FuzzDecodeDevicePatch(f *testing.F) {
	f.Add([]byte(`{"name":"Garage","limits":{"max_current_a":16},"location":{"lat":1,"lon":2}}`))
	f.Add([]byte(`{"owner":"0x0000000000000000000000000000000000000001","nameplate_w":1e400}`))
	f.Add([]byte(`{"site":"home-1","zone":"DE-LU"}`))
	f.Add([]byte(`{"site":"../x"}`))
	base := gridmint.Device{ID: "0xn/goe/1", Kind: gridmint.KindEVCharger, Dialect: "goe", Serial: "1"}
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := DecodeDevicePatch(base, body)
		if err != nil {
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted an invalid device %+v: %v", d, err)
		}
		if d.ID != base.ID || d.Serial != base.Serial || d.Dialect != base.Dialect {
			t.Fatalf("patch changed identity: %+v", d)
		}
	})
}
