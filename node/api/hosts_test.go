package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gridmint/gridmint"
)

// TestHostGuardRefusesRebinding: a browser led to the node by a rebound
// name sends that name as Host; every route refuses it, reads included,
// while loopback names, IP literals and configured names are answered.
func TestHostGuardRefusesRebinding(t *testing.T) {
	srv := httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices},
		Quarantine: fakeQuarantine{
			RejectionsFn: func(string, int) ([]gridmint.Rejection, string, error) { return nil, "", nil },
			CountsFn:     func() (map[gridmint.Reason]uint64, error) { return nil, nil },
		},
		Health:       func() []Check { return nil },
		AllowedHosts: []string{"gridmint.lan", "*.home.example", "RaspberryPi.local."},
	}))
	defer srv.Close()
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1:8088", 200},
		{"localhost:8088", 200},
		{"LOCALHOST", 200},
		{"gridmint.localhost:8088", 200},
		{"[::1]:8088", 200},
		{"192.168.1.20:8088", 200},
		{"gridmint.lan:8088", 200},
		{"node.home.example", 200},
		{"raspberrypi.local", 200},
		{"attacker.example:8088", 421},
		{"home.example.attacker.example", 421},
		{"localhost.attacker.example", 421},
		{"127.0.0.1.nip.io", 421},
		{"gridmint.lan.evil", 421},
	}
	for _, path := range []string{"/api/v1/devices", "/api/v1/quarantine", "/healthz", "/"} {
		for _, tt := range tests {
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Errorf("GET %s with Host %q: %d, want %d", path, tt.host, resp.StatusCode, tt.want)
			}
			if tt.want == 421 {
				var e struct{ Error, Code string }
				json.NewDecoder(resp.Body).Decode(&e)
				if e.Code != "unauthorized" || !strings.Contains(e.Error, "allowed_hosts") {
					t.Errorf("GET %s with Host %q: body %+v, want code unauthorized and advice on allowed_hosts", path, tt.host, e)
				}
			}
			resp.Body.Close()
		}
	}
}

func TestHostGuardWildcard(t *testing.T) {
	if g := newHostGuard([]string{"*"}); !g.allows("anything.example") {
		t.Error(`"*" refuses a name; want every name answered`)
	}
	if g := newHostGuard(nil); g.allows("anything.example") {
		t.Error("no allowed hosts answers a foreign name; want it refused")
	}
}
