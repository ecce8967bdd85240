package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
)

// fakeDevices is a DeviceLister whose result a test sets.
type fakeDevices struct {
	DevicesFn func() []devices.DeviceState
}

func (f fakeDevices) Devices() []devices.DeviceState { return f.DevicesFn() }

var seen = time.Date(2026, 6, 21, 12, 0, 0, 0, time.UTC)

func sampleDevices() []devices.DeviceState {
	return []devices.DeviceState{
		{
			Device: gridmint.Device{ID: "0xn/opendtu/1161", Kind: gridmint.KindPVInverter, Dialect: "opendtu", Serial: "1161",
				Capabilities: []gridmint.Capability{gridmint.CapPower}, Nameplate: 800},
			ReportedName: "HM-800", Online: true, Availability: devices.AvailabilityOnline,
			Fields: gridmint.FieldPower | gridmint.FieldEnergy, Power: 412.5, Energy: 13_338_123, LastSeen: seen,
		},
		{
			Device: gridmint.Device{ID: "0xn/tasmota/p", Kind: gridmint.KindPlug, Dialect: "tasmota", Serial: "p",
				Name: `<script>alert("x")</script>`},
		},
	}
}

// fakeQuarantine is a Quarantine whose answers a test sets.
type fakeQuarantine struct {
	RejectionsFn func(cursor string, limit int) ([]gridmint.Rejection, string, error)
	CountsFn     func() (map[gridmint.Reason]uint64, error)
}

func (f fakeQuarantine) Rejections(cursor string, limit int) ([]gridmint.Rejection, string, error) {
	return f.RejectionsFn(cursor, limit)
}
func (f fakeQuarantine) RejectionCounts() (map[gridmint.Reason]uint64, error) { return f.CountsFn() }

var sampleRejections = []gridmint.Rejection{
	{Time: seen.Add(2 * time.Second), Topic: "tele/p/SENSOR", Dialect: "tasmota", Device: "0xn/tasmota/p", Reason: gridmint.ReasonMalformed, Detail: "JSON", Raw: []byte(`{"ENERGY":`)},
	{Time: seen.Add(time.Second), Topic: "solar/x/0/power", Reason: gridmint.ReasonUnknownTopic, Raw: []byte{0xff, 0x00}},
	{Time: seen, Topic: "tele/p/SENSOR", Reason: gridmint.ReasonDuplicate, Raw: []byte("{}")},
}

func newTestServer(checks []Check) *httptest.Server {
	s := New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices},
		Quarantine: fakeQuarantine{
			RejectionsFn: func(cursor string, limit int) ([]gridmint.Rejection, string, error) {
				// The cursor is the index of the next item.
				start := 0
				if cursor != "" {
					n, err := strconv.Atoi(cursor)
					if err != nil || n < 0 || n > len(sampleRejections) {
						return nil, "", gridmint.Errorf(gridmint.EInvalid, "bad cursor")
					}
					start = n
				}
				end := min(start+limit, len(sampleRejections))
				next := ""
				if end < len(sampleRejections) {
					next = strconv.Itoa(end)
				}
				return sampleRejections[start:end], next, nil
			},
			CountsFn: func() (map[gridmint.Reason]uint64, error) {
				return map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 1, gridmint.ReasonUnknownTopic: 1, gridmint.ReasonDuplicate: 1}, nil
			},
		},
		Health: func() []Check { return checks },
		Info:   NodeInfo{Address: "0xn", PeerID: "16Uiu2", Version: "test"},
	})
	return httptest.NewServer(s)
}

func fetch(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestListDevices(t *testing.T) {
	srv := newTestServer(nil)
	defer srv.Close()
	res, body := fetch(t, srv.URL+"/api/v1/devices")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %s, content type %q", res.Status, res.Header.Get("Content-Type"))
	}
	var got []Device
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d devices, want 2", len(got))
	}
	pv := got[0]
	if pv.ID != "0xn/opendtu/1161" || pv.Name != "HM-800" || !pv.Online || pv.Availability != "online" ||
		pv.PowerW == nil || *pv.PowerW != 412.5 || pv.PowerUnknown != "" || pv.Status != devices.StatusOnline || pv.EnergyWh != 13338.123 || pv.EnergyMWh != 13_338_123 || pv.LastSeen == nil || !pv.LastSeen.Equal(seen) {
		t.Errorf("pv = %+v", pv)
	}
	plug := got[1]
	if plug.Online || plug.Availability != "unknown" || plug.LastSeen != nil || plug.Capabilities == nil ||
		plug.Status != devices.StatusNeverSeen || plug.PowerW != nil || plug.PowerUnknown != "never_seen" {
		t.Errorf("plug = %+v; want never seen, unknown availability, null last_seen and power_w, [] capabilities", plug)
	}
	// The wire names are the API's contract.
	for _, field := range []string{`"id"`, `"kind"`, `"dialect"`, `"online"`, `"power_w"`, `"energy_wh"`, `"last_seen": null`} {
		if !strings.Contains(body, field) {
			t.Errorf("response lacks %s:\n%s", field, body)
		}
	}
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		checks     []Check
		wantStatus int
	}{
		{"all ok", []Check{{Name: "mqtt", OK: true}, {Name: "store", OK: true}}, http.StatusOK},
		{"broker down", []Check{{Name: "mqtt", OK: false, Detail: "disconnected"}, {Name: "store", OK: true}}, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(tt.checks)
			defer srv.Close()
			res, body := fetch(t, srv.URL+"/healthz")
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", res.StatusCode, tt.wantStatus, body)
			}
		})
	}
}

func TestPageEscapesDeviceNames(t *testing.T) {
	srv := newTestServer(nil)
	defer srv.Close()
	res, body := fetch(t, srv.URL+"/")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %s, content type %q", res.Status, res.Header.Get("Content-Type"))
	}
	if strings.Contains(body, `<script>alert("x")</script>`) {
		t.Error("device name rendered unescaped")
	}
	for _, want := range []string{"0xn/opendtu/1161", "412.5", "13.338", "HM-800", "16Uiu2"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestUnknownRoutes(t *testing.T) {
	srv := newTestServer(nil)
	defer srv.Close()
	for _, path := range []string{"/nope", "/api/v1/devices/x/y"} {
		if res, _ := fetch(t, srv.URL+path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, res.StatusCode)
		}
	}
	res, err := http.Post(srv.URL+"/api/v1/devices", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/v1/devices = %d, want 405", res.StatusCode)
	}
}

func TestQuarantinePages(t *testing.T) {
	srv := newTestServer(nil)
	defer srv.Close()
	type page struct {
		Counts map[string]uint64
		Items  []Rejection
		Next   string
	}
	var p1 page
	res, body := fetch(t, srv.URL+"/api/v1/quarantine?limit=2")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %s: %s", res.Status, body)
	}
	if err := json.Unmarshal([]byte(body), &p1); err != nil {
		t.Fatal(err)
	}
	if len(p1.Items) != 2 || p1.Next == "" || p1.Counts["malformed"] != 1 {
		t.Fatalf("first page = %+v", p1)
	}
	if p1.Items[0].Raw == nil || *p1.Items[0].Raw != `{"ENERGY":` {
		t.Errorf("text payload = %v, want it as raw text", p1.Items[0].Raw)
	}
	if p1.Items[1].Raw != nil || string(p1.Items[1].RawBase64) != "\xff\x00" {
		t.Errorf("binary payload = %v / %v, want it as raw_base64", p1.Items[1].Raw, p1.Items[1].RawBase64)
	}
	var p2 page
	_, body = fetch(t, srv.URL+"/api/v1/quarantine?limit=2&cursor="+p1.Next)
	if err := json.Unmarshal([]byte(body), &p2); err != nil {
		t.Fatal(err)
	}
	if len(p2.Items) != 1 || p2.Items[0].Reason != gridmint.ReasonDuplicate || p2.Next != "" {
		t.Errorf("second page = %+v, want the last rejection and no next", p2)
	}
	for _, bad := range []string{"limit=0", "limit=5000", "limit=x", "cursor=yesterday"} {
		if res, body := fetch(t, srv.URL+"/api/v1/quarantine?"+bad); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("?%s = %d %s, want 400 with an error", bad, res.StatusCode, body)
		}
	}
}

// sizedQuarantine is a fakeQuarantine that accounts for its size.
type sizedQuarantine struct {
	fakeQuarantine
	stats store.QuarantineStats
}

func (q sizedQuarantine) QuarantineStats() store.QuarantineStats { return q.stats }

// TestQuarantineSize: a quarantine that accounts for its size shows it,
// and what it did not keep by cause and reason, on every page; one that
// does not shows no size.
func TestQuarantineSize(t *testing.T) {
	fq := fakeQuarantine{
		RejectionsFn: func(string, int) ([]gridmint.Rejection, string, error) { return sampleRejections[:1], "", nil },
		CountsFn: func() (map[gridmint.Reason]uint64, error) {
			return map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 61}, nil
		},
	}
	for _, c := range []struct {
		name string
		q    Quarantine
		want string
	}{
		{"sized", sizedQuarantine{fq, store.QuarantineStats{Bytes: 4200, Entries: 1, MaxBytes: 1 << 20,
			NotKept: map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 50}, Trimmed: map[gridmint.Reason]uint64{gridmint.ReasonMalformed: 10}}},
			`{"bytes":4200,"entries":1,"max_bytes":1048576,"dropped":{"rate_limit":{"malformed":50},"size_cap":{"malformed":10}}}`},
		{"unsized", fq, ``},
	} {
		srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Quarantine: c.q, Health: func() []Check { return nil }}))
		res, body := fetch(t, srv.URL+"/api/v1/quarantine")
		srv.Close()
		var page struct{ Size json.RawMessage }
		if err := json.Unmarshal([]byte(body), &page); res.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("%s: %s %s (%v)", c.name, res.Status, body, err)
		}
		var got bytes.Buffer
		if len(page.Size) > 0 {
			if err := json.Compact(&got, page.Size); err != nil {
				t.Fatal(err)
			}
		}
		if got.String() != c.want {
			t.Errorf("%s: size = %s, want %s", c.name, got.String(), c.want)
		}
	}
}

// TestQuarantinePageIsBounded: pages of large payloads end at about
// quarantineBytes, and paging still returns every item once.
func TestQuarantinePageIsBounded(t *testing.T) {
	var items []gridmint.Rejection
	for i := range 50 {
		items = append(items, gridmint.Rejection{Time: seen.Add(-time.Duration(i) * time.Second), Topic: fmt.Sprintf("t/%d", i),
			Reason: gridmint.ReasonMalformed, Raw: bytes.Repeat([]byte{'x'}, 64<<10)})
	}
	srv := httptest.NewServer(New(Config{
		Devices: fakeDevices{DevicesFn: sampleDevices},
		Quarantine: fakeQuarantine{
			RejectionsFn: func(cursor string, limit int) ([]gridmint.Rejection, string, error) {
				start, _ := strconv.Atoi(cursor)
				end := min(start+limit, len(items))
				next := ""
				if end < len(items) {
					next = strconv.Itoa(end)
				}
				return items[start:end], next, nil
			},
			CountsFn: func() (map[gridmint.Reason]uint64, error) { return nil, nil },
		},
		Health: func() []Check { return nil },
	}))
	defer srv.Close()
	seenTopics := map[string]bool{}
	url := srv.URL + "/api/v1/quarantine?limit=200"
	for pages := 0; url != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		res, body := fetch(t, url)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
		}
		if len(body) > 2*quarantineBytes {
			t.Errorf("a page of %d bytes; want about %d at most", len(body), quarantineBytes)
		}
		var page struct {
			Items []struct{ Topic string }
			Next  string
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if seenTopics[it.Topic] {
				t.Errorf("%s on two pages", it.Topic)
			}
			seenTopics[it.Topic] = true
		}
		url = ""
		if page.Next != "" {
			url = srv.URL + "/api/v1/quarantine?limit=200&cursor=" + page.Next
		}
	}
	if len(seenTopics) != len(items) {
		t.Errorf("paged %d items, want %d", len(seenTopics), len(items))
	}
}

// TestNodeInfoShowsRoleAndClock: /api/v1/node says the node's role and
// reads its clock per request: a demo clock's speed, epoch and wall
// start, or the system clock at speed 1 with null epoch.
func TestNodeInfoShowsRoleAndClock(t *testing.T) {
	epoch := time.Date(2026, 6, 21, 11, 0, 0, 0, time.UTC)
	wallStart := time.Now().Add(-time.Second)
	demo, err := gridmint.NewScaledClock(epoch, wallStart, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		clock gridmint.Clock
		info  NodeInfo
		check func(t *testing.T, got NodeInfo, body string)
	}{
		{"demo utility", demo, NodeInfo{Address: "0xu", Role: "utility", Clock: ClockInfo{Speed: 60, Epoch: &epoch, WallStart: &wallStart}},
			func(t *testing.T, got NodeInfo, body string) {
				if got.Role != "utility" || got.Clock.Speed != 60 || got.Clock.Epoch == nil || !got.Clock.Epoch.Equal(epoch) {
					t.Errorf("node %+v, want role utility and the demo clock ×60 from %v", got, epoch)
				}
				// A second of wall time before the request is a minute of demo time.
				if d := got.Clock.Now.Sub(epoch); d < time.Minute || d > time.Hour {
					t.Errorf("clock now %v is %v after the epoch, want about a minute", got.Clock.Now, d)
				}
			}},
		{"real home", gridmint.SystemClock{}, NodeInfo{Address: "0xh", Role: "home"},
			func(t *testing.T, got NodeInfo, body string) {
				if got.Role != "home" || got.Clock.Speed != 1 || got.Clock.Epoch != nil || time.Since(got.Clock.Now).Abs() > time.Minute {
					t.Errorf("node %+v, want role home and the system clock at speed 1", got)
				}
				if !strings.Contains(body, `"epoch": null`) {
					t.Errorf("body %s: want an explicit null epoch", body)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Quarantine: fakeQuarantine{},
				Health: func() []Check { return nil }, Info: tc.info, Clock: tc.clock}))
			defer srv.Close()
			res, body := fetch(t, srv.URL+"/api/v1/node")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /api/v1/node = %s %s", res.Status, body)
			}
			var got NodeInfo
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			tc.check(t, got, body)
			// The page shows the role and the clock too.
			_, page := fetch(t, srv.URL+"/")
			if !strings.Contains(page, `id="role" class="role">`+tc.info.Role+"<") || !strings.Contains(page, `id="clock"`) {
				t.Errorf("page lacks the role %q or the clock", tc.info.Role)
			}
			if demo := tc.info.Clock.Epoch != nil; strings.Contains(page, "demo time <span") != demo || strings.Contains(page, "×60: an hour in 1m0s") != demo {
				t.Errorf("page says demo time and ×60 = %v, %v; want %v", strings.Contains(page, "demo time <span"), strings.Contains(page, "×60: an hour in 1m0s"), demo)
			}
		})
	}
}
