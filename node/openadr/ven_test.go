package openadr

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint/node/store"
)

// TestVENClientFollowsVTN: a node follows an external VTN (here this
// package's VTN on a real HTTP server) as one of its VENs; every
// exchange is validated against the specification.
func TestVENClientFollowsVTN(t *testing.T) {
	vtn := newFixture(t, "", "")
	bl := vtn.login(t, blID, blSecret, "")
	created[Ven](t, bl.do("POST", "/vens", map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "home-1", "targets": []string{"group-1"}}))
	p := created[Program](t, bl.do("POST", "/programs", programBody("flex", "group-1", "ZONE:NL")))
	hidden := created[Program](t, bl.do("POST", "/programs", programBody("other", "group-2", "ZONE:NL")))
	start := t0.Add(2 * time.Hour)
	e := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, start, 380)))
	created[Event](t, bl.do("POST", "/events", eventBody(hidden.ID, start, 380)))

	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	market := &fakeMarket{}
	newClient := func(st *store.Store) *VENClient {
		c, err := NewVENClient(VENOptions{
			Config: VENConfig{VTN: vtn.srv.URL + Prefix, ClientID: venID, Secret: venSecret},
			Store:  StoreOn(st), Clock: vtn.clock, Market: market,
			HTTPClient: &http.Client{Transport: validatingTransport{t}, Timeout: 10 * time.Second},
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient(st)
	ctx := context.Background()
	if n, err := c.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("first poll: %d events, %v (want the one targeted at the VEN)", n, err)
	}
	got := market.requests()
	if len(got) != 1 || got[0].req.Zone != "NL" || got[0].req.Power != 120e3 || !got[0].req.WindowStart.Equal(start) {
		t.Fatalf("requests %+v", got)
	}
	var reps []Report
	bl.do("GET", "/reports?eventID="+e.ID+"&clientName="+venID, nil).decode(t, &reps)
	if len(reps) != 1 || reps[0].ClientID != venID ||
		reps[0].Resources[0].Intervals[0].Payloads[0].Type != PayloadRequestID ||
		reps[0].Resources[0].Intervals[0].Payloads[0].Values[0] != got[0].id {
		t.Fatalf("the VEN's report on the VTN: %+v", reps)
	}
	if n, err := c.Poll(ctx); err != nil || n != 0 {
		t.Fatalf("second poll: %d, %v", n, err)
	}
	// The VTN's clock passes the token's expiry: the client logs in again.
	vtn.clock.Add(2 * time.Hour)
	later := created[Event](t, vtn.login(t, blID, blSecret, "").do("POST", "/events", eventBody(p.ID, t0.Add(5*time.Hour), 300)))
	if n, err := c.Poll(ctx); err != nil || n != 1 {
		t.Fatalf("poll with an expired token: %d, %v", n, err)
	}
	// Restarted, it remembers what it handled.
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = store.Open(dir, store.Options{}); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := newClient(st).Poll(ctx); err != nil || n != 0 {
		t.Fatalf("poll after restart: %d, %v", n, err)
	}
	if n := len(market.requests()); n != 2 {
		t.Errorf("%d requests published, want 2 (event %s once each)", n, later.ID)
	}
}

// failFirstReport drops the first POST /reports on the floor.
type failFirstReport struct {
	next   http.RoundTripper
	failed bool
}

func (f *failFirstReport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/reports") && !f.failed {
		f.failed = true
		return nil, errors.New("connection reset")
	}
	return f.next.RoundTrip(r)
}

// TestVENClientReportsAgain: a report the VTN did not get is sent at the
// next poll, and the event's requests are not published twice.
func TestVENClientReportsAgain(t *testing.T) {
	vtn := newFixture(t, "", "")
	bl := vtn.login(t, blID, blSecret, "")
	// A zone target is a target like any other: the VEN reads the
	// program once BL granted it the zone.
	created[Ven](t, bl.do("POST", "/vens", map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "home-1", "targets": []string{"ZONE:NL"}}))
	p := created[Program](t, bl.do("POST", "/programs", programBody("flex", "ZONE:NL")))
	e := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(2*time.Hour), 380)))
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	market := &fakeMarket{}
	c, err := NewVENClient(VENOptions{
		Config: VENConfig{VTN: vtn.srv.URL + Prefix, ClientID: venID, Secret: venSecret},
		Store:  StoreOn(st), Clock: vtn.clock, Market: market,
		HTTPClient: &http.Client{Transport: &failFirstReport{next: validatingTransport{t}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.Poll(context.Background()); err == nil {
		t.Fatalf("the lost report went unnoticed (%d events, %+v)", n, market.requests())
	}
	if _, err := c.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	var reps []Report
	bl.do("GET", "/reports?eventID="+e.ID+"&clientName="+venID, nil).decode(t, &reps)
	if len(reps) != 1 || len(market.requests()) != 1 {
		t.Fatalf("%d reports, %d requests: want 1 and 1", len(reps), len(market.requests()))
	}
}

func TestVENConfig(t *testing.T) {
	for _, bad := range []VENConfig{
		{VTN: "ftp://x"}, {VTN: "https://vtn.example"}, {VTN: "https://vtn.example", ClientID: "c"},
		{VTN: "https://vtn.example", ClientID: "c", Secret: "s", PollEvery: time.Second},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if err := (VENConfig{VTN: "https://vtn.example/openadr3/3.1.0", ClientID: "c", Secret: "s"}).Validate(); err != nil {
		t.Error(err)
	}
}
