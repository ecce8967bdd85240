package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/prometheus/client_golang/prometheus"
)

func TestRefusalsAreCountedByRouteAndCode(t *testing.T) {
	reg := prometheus.NewRegistry()
	charger := devices.DeviceState{Device: gridmint.Device{ID: "0xn/goe/1", Kind: gridmint.KindEVCharger, Dialect: "goe", Serial: "1",
		Capabilities: []gridmint.Capability{gridmint.CapCurrentCtl}, Limits: gridmint.SafetyLimits{MinCurrent: 6, MaxCurrent: 16}}}
	srv := httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices},
		Control: fakeControl{
			DeviceFn: func(id gridmint.DeviceID) (devices.DeviceState, bool) { return charger, id == charger.ID },
			SendFn: func(sp gridmint.Setpoint) (gridmint.CommandRecord, error) {
				return gridmint.CommandRecord{}, devices.CheckLimits(charger, sp)
			},
		},
		Token: testToken, Registerer: reg,
		Health: func() []Check { return nil },
	}))
	defer srv.Close()
	const setpoints = "POST /api/v1/devices/{rest...}"
	for _, c := range []struct {
		token, body string
		want        int
	}{
		{"", `{"kind":"charge_current","value":10}`, http.StatusUnauthorized},
		{"wrong" + testToken, `{"kind":"charge_current","value":10}`, http.StatusUnauthorized},
		{testToken, `{"kind":"charge_current","value":32}`, http.StatusBadRequest},
		{testToken, `{"kind":"warp","value":1}`, http.StatusBadRequest},
	} {
		if got, body := call(t, http.MethodPost, srv.URL+"/api/v1/devices/0xn/goe/1/setpoint", c.token, c.body); got != c.want {
			t.Fatalf("setpoint %s: got status %d, want %d: %s", c.body, got, c.want, body)
		}
	}
	if got, _ := call(t, http.MethodGet, srv.URL+"/api/v1/nothing-here", "", ""); got != http.StatusNotFound {
		t.Fatalf("unknown path: got status %d, want 404", got)
	}
	if got, _ := call(t, http.MethodGet, srv.URL+"/api/v1/devices", "", ""); got != http.StatusOK {
		t.Fatalf("devices: got status %d, want 200", got)
	}
	for _, c := range []struct {
		route, code string
		want        float64
	}{
		{setpoints, gridmint.EUnauthorized, 2},
		{setpoints, gridmint.EInvalid, 2},
		{"unmatched", "http_404", 1},
		{"GET /api/v1/devices", "http_200", 0},
	} {
		got := refusalCount(t, reg, c.route, c.code)
		if got != c.want {
			t.Errorf("gridmint_api_refusals_total{route=%q,code=%q} = %v, want %v", c.route, c.code, got, c.want)
		}
	}
}

// refusalCount reads one series of gridmint_api_refusals_total from reg
// (0 when the series does not exist).
func refusalCount(t *testing.T, reg *prometheus.Registry, route, code string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "gridmint_api_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["code"] == code {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
