package openadr

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func programBody(name string, targets ...string) map[string]any {
	b := map[string]any{
		"programName": name,
		"attributes": []map[string]any{
			{"type": AttrMaxPrice, "values": []any{250000}},
			{"type": AttrReferenceKW, "values": []any{500}},
		},
		"payloadDescriptors": []map[string]any{
			{"objectType": "EVENT_PAYLOAD_DESCRIPTOR", "payloadType": PayloadImportLimit, "units": "KW"},
		},
	}
	if len(targets) > 0 {
		b["targets"] = targets
	}
	return b
}

// eventBody is an import limit of limitKW for one hour starting at start.
func eventBody(programID string, start time.Time, limitKW float64, targets ...string) map[string]any {
	b := map[string]any{
		"programID": programID,
		"eventName": "evening peak",
		"intervalPeriod": map[string]any{
			"start": start.Format(time.RFC3339), "duration": "PT1H",
		},
		"intervals": []map[string]any{
			{"id": 0, "payloads": []map[string]any{{"type": PayloadImportLimit, "values": []any{limitKW}}}},
		},
	}
	if len(targets) > 0 {
		b["targets"] = targets
	}
	return b
}

func created[T any](t *testing.T, r resp) T {
	t.Helper()
	if r.status != http.StatusCreated {
		t.Fatalf("want 201, got %d %s", r.status, r.body)
	}
	var v T
	r.decode(t, &v)
	return v
}

func TestAuthServerAndTokens(t *testing.T) {
	f := newFixture(t, "", "")
	c := f.client(t)
	r := c.do("GET", "/auth/server", nil)
	var info struct {
		TokenURL string `json:"tokenURL"`
	}
	r.decode(t, &info)
	if r.status != 200 || info.TokenURL != f.srv.URL+Prefix+"/auth/token" {
		t.Fatalf("auth/server: %d %s", r.status, r.body)
	}

	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	r = c.do("POST", "/auth/token", form("grant_type", "client_credentials", "client_id", venID, "client_secret", venSecret))
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	r.decode(t, &tok)
	if r.status != 200 || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 ||
		tok.Scope != "read_targets read_ven_objects write_reports write_subscriptions write_vens" {
		t.Fatalf("VEN token: %d %s", r.status, r.body)
	}
	r = c.do("POST", "/auth/token", form("grant_type", "client_credentials", "client_id", blID, "client_secret", blSecret, "scope", "read_all write_events"))
	r.decode(t, &tok)
	if r.status != 200 || tok.Scope != "read_all write_events" {
		t.Fatalf("BL token with scope: %d %s", r.status, r.body)
	}

	for _, tc := range []struct {
		name   string
		form   url.Values
		valid  bool // the request itself follows the specification
		status int
	}{
		{"wrong secret", form("grant_type", "client_credentials", "client_id", venID, "client_secret", "nope"), true, 401},
		{"unknown client", form("grant_type", "client_credentials", "client_id", "who", "client_secret", "x"), true, 401},
		{"VEN asks for write_events", form("grant_type", "client_credentials", "client_id", venID, "client_secret", venSecret, "scope", "write_events"), true, 400},
		{"BL asks for write_reports", form("grant_type", "client_credentials", "client_id", blID, "client_secret", blSecret, "scope", "write_reports"), true, 400},
		{"missing secret", form("grant_type", "client_credentials", "client_id", venID), false, 400},
		{"wrong grant type", form("grant_type", "password", "client_id", venID, "client_secret", venSecret), false, 400},
		{"unknown parameter", form("grant_type", "client_credentials", "client_id", venID, "client_secret", venSecret, "audience", "x"), true, 400},
	} {
		var r resp
		if tc.valid {
			r = c.do("POST", "/auth/token", tc.form)
		} else {
			r = c.doInvalid("POST", "/auth/token", tc.form)
		}
		if r.status != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.name, r.status, r.body, tc.status)
			continue
		}
		r.problem(t)
	}
}

func TestTokenRefusals(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("p1")))

	for _, tc := range []struct {
		name, token, reason string
	}{
		{"missing", "", "no bearer token"},
		{"forged signature", bl.token[:len(bl.token)-4] + "AAAA", "signature"},
		{"garbage", "not-a-token", "malformed"},
	} {
		c := f.client(t)
		c.token = tc.token
		r := c.do("GET", "/programs", nil)
		if r.status != 401 || !strings.Contains(r.problem(t).Detail, tc.reason) || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s token: %d %s", tc.name, r.status, r.body)
		}
	}
	// A token signed with another VTN's key is forged here.
	other := newFixture(t, "", "")
	foreign := other.login(t, blID, blSecret, "")
	foreign.base = f.srv.URL
	if r := foreign.do("DELETE", "/programs/"+p.ID, nil); r.status != 401 {
		t.Errorf("foreign token: %d %s", r.status, r.body)
	}
	// Expiry follows the injected clock.
	f.clock.Add(time.Hour)
	r := bl.do("POST", "/events", eventBody(p.ID, t0.Add(2*time.Hour), 400))
	if r.status != 401 || !strings.Contains(r.problem(t).Detail, "expired") {
		t.Fatalf("expired token: %d %s", r.status, r.body)
	}
	bl = f.login(t, blID, blSecret, "")
	var events []Event
	bl.do("GET", "/events", nil).decode(t, &events)
	if len(events) != 0 {
		t.Fatalf("refused event stored: %+v", events)
	}
}

// TestRoleMatrix checks every operation with a BL and a VEN token: the
// scopes of the specification decide, 403 otherwise.
func TestRoleMatrix(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	ven := f.login(t, venID, venSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("p1")))
	e := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(2*time.Hour), 400)))
	vn := created[Ven](t, bl.do("POST", "/vens", map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "home-1", "targets": []string{"group-1"}}))

	n := 0
	uniq := func() string { n++; return fmt.Sprint(n) }
	report := func() map[string]any {
		return map[string]any{"eventID": e.ID, "clientName": "home-1", "resources": []map[string]any{
			{"resourceName": "battery", "intervals": []map[string]any{{"id": 0, "payloads": []map[string]any{{"type": "USAGE", "values": []any{1.5}}}}}}}}
	}
	sub := func() map[string]any {
		return map[string]any{"clientName": "c", "objectOperations": []map[string]any{
			{"objects": []string{"EVENT"}, "operations": []string{"CREATE"}, "callbackUrl": "http://127.0.0.1:1/cb"}}}
	}
	for _, tc := range []struct {
		method, path string
		body         func() any
		bl, ven      int
	}{
		{"GET", "/programs", nil, 200, 200},
		{"POST", "/programs", func() any { return programBody("x" + uniq()) }, 201, 403},
		{"GET", "/programs/" + p.ID, nil, 200, 200},
		{"PUT", "/programs/" + p.ID, func() any { return programBody("p1") }, 200, 403},
		{"GET", "/events", nil, 200, 200},
		{"POST", "/events", func() any { return eventBody(p.ID, t0.Add(3*time.Hour), 450) }, 201, 403},
		{"GET", "/events/" + e.ID, nil, 200, 200},
		{"PUT", "/events/" + e.ID, func() any { return eventBody(p.ID, t0.Add(2*time.Hour), 400) }, 200, 403},
		{"POST", "/reports", func() any { return report() }, 403, 201},
		{"GET", "/reports", nil, 200, 200},
		{"POST", "/subscriptions", func() any { return sub() }, 201, 201},
		{"GET", "/subscriptions", nil, 200, 200},
		{"GET", "/vens", nil, 200, 200},
		{"GET", "/vens/" + vn.ID, nil, 200, 200},
		{"POST", "/vens", func() any {
			return map[string]any{"objectType": VenVenRequest, "venName": "self-" + uniq()}
		}, 400, 201}, // BL names the client (BL_VEN_REQUEST)
		{"POST", "/vens", func() any {
			return map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "bl-" + uniq(), "targets": []string{"x"}}
		}, 201, 403}, // only BL grants targets
		{"POST", "/resources", func() any {
			return map[string]any{"objectType": VenResourceRequest, "resourceName": "r" + uniq(), "venID": vn.ID}
		}, 400, 201},
		{"GET", "/resources", nil, 200, 200},
		{"GET", "/notifiers", nil, 200, 200},
		{"DELETE", "/events/" + e.ID, nil, 0, 403},
		{"DELETE", "/programs/" + p.ID, nil, 0, 403},
	} {
		for _, who := range []struct {
			c    *oadr
			want int
		}{{ven, tc.ven}, {bl, tc.bl}} {
			if who.want == 0 {
				continue
			}
			var body any
			if tc.body != nil {
				body = tc.body()
			}
			r := who.c.do(tc.method, tc.path, body)
			if r.status != who.want {
				t.Errorf("%s %s as %s: got %d %s, want %d", tc.method, tc.path, who.c.token[:8], r.status, r.body, who.want)
			}
			if r.status >= 400 {
				r.problem(t)
			}
		}
	}
}

// TestVENSeesOnlyItsOwn: read_targets and read_ven_objects for a VEN.
func TestVENSeesOnlyItsOwn(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	ven := f.login(t, venID, venSecret, "")
	ven2 := f.login(t, ven2ID, "ven2-secret", "")
	created[Ven](t, bl.do("POST", "/vens", map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "home-1", "targets": []string{"group-1"}}))
	open := created[Program](t, bl.do("POST", "/programs", programBody("open")))
	g1 := created[Program](t, bl.do("POST", "/programs", programBody("g1", "group-1")))
	g2 := created[Program](t, bl.do("POST", "/programs", programBody("g2", "group-2")))

	names := func(c *oadr, query string) []string {
		var ps []Program
		c.do("GET", "/programs"+query, nil).decode(t, &ps)
		var out []string
		for _, p := range ps {
			out = append(out, p.ProgramName)
		}
		return out
	}
	if got := names(ven, ""); !slices.Equal(got, []string{"open", "g1"}) {
		t.Errorf("VEN in group-1 sees %v", got)
	}
	if got := names(ven2, ""); !slices.Equal(got, []string{"open"}) {
		t.Errorf("VEN without targets sees %v", got)
	}
	if got := names(bl, ""); !slices.Equal(got, []string{"open", "g1", "g2"}) {
		t.Errorf("BL sees %v", got)
	}
	if got := names(bl, "?targets=group-2"); !slices.Equal(got, []string{"g2"}) {
		t.Errorf("BL filtering targets=group-2 sees %v", got)
	}
	if r := ven.do("GET", "/programs/"+g2.ID, nil); r.status != 403 {
		t.Errorf("VEN reads a program not targeted at it: %d", r.status)
	}
	_, _ = open, g1

	e := created[Event](t, bl.do("POST", "/events", eventBody(g1.ID, t0.Add(2*time.Hour), 400)))
	rep := map[string]any{"eventID": e.ID, "clientName": "home-1", "resources": []map[string]any{
		{"resourceName": "meter", "intervals": []map[string]any{{"id": 0, "payloads": []map[string]any{{"type": "USAGE", "values": []any{2.0}}}}}}}}
	x := created[Report](t, ven.do("POST", "/reports", rep))
	// ven2 is not in group-1: it may not report on the event.
	if r := ven2.do("POST", "/reports", rep); r.status != 403 {
		t.Errorf("a VEN reports on an event not targeted at it: %d", r.status)
	}
	if x.ClientID != venID {
		t.Errorf("report clientID %q: want the token's client", x.ClientID)
	}
	if r := ven2.do("GET", "/reports/"+x.ID, nil); r.status != 403 {
		t.Errorf("another VEN reads the report: %d", r.status)
	}
	if r := ven2.do("PUT", "/reports/"+x.ID, rep); r.status != 403 {
		t.Errorf("another VEN updates the report: %d", r.status)
	}
	var reps []Report
	ven2.do("GET", "/reports", nil).decode(t, &reps)
	if len(reps) != 0 {
		t.Errorf("another VEN lists %d reports", len(reps))
	}
	bl.do("GET", "/reports?eventID="+e.ID+"&clientName=home-1", nil).decode(t, &reps)
	if len(reps) != 1 || reps[0].ID != x.ID {
		t.Errorf("BL lists reports of the event: %+v", reps)
	}
	bl.do("GET", "/reports?programID="+g1.ID, nil).decode(t, &reps)
	if len(reps) != 2 { // the VEN's and the VTN's market report
		t.Errorf("BL lists %d reports of program g1, want 2", len(reps))
	}
}

func TestLifecycleAndPagination(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	for i := range 53 {
		created[Program](t, bl.do("POST", "/programs", programBody(fmt.Sprintf("p%02d", i))))
		f.clock.Add(time.Second)
	}
	var page []Program
	bl.do("GET", "/programs", nil).decode(t, &page)
	if len(page) != 50 || page[0].ProgramName != "p00" {
		t.Fatalf("default page: %d programs", len(page))
	}
	bl.do("GET", "/programs?skip=50&limit=10", nil).decode(t, &page)
	if len(page) != 3 || page[0].ProgramName != "p50" {
		t.Fatalf("skip=50: %d programs", len(page))
	}
	bl.do("GET", "/programs?skip=99", nil).decode(t, &page)
	if len(page) != 0 || page == nil {
		t.Fatalf("skip past the end: %v", page)
	}
	for _, q := range []string{"limit=51", "limit=-1", "skip=-1", "limit=x"} {
		if r := bl.doInvalid("GET", "/programs?"+q, nil); r.status != 400 {
			t.Errorf("%s: %d", q, r.status)
		} else {
			r.problem(t)
		}
	}

	p := page
	bl.do("GET", "/programs?limit=1", nil).decode(t, &p)
	old := p[0]
	f.clock.Add(time.Minute)
	upd := programBody(old.ProgramName)
	upd["programDescriptions"] = []map[string]any{{"URL": "https://utility.example/flex"}}
	r := bl.do("PUT", "/programs/"+old.ID, upd)
	var got Program
	r.decode(t, &got)
	if r.status != 200 || got.ID != old.ID || got.CreatedDateTime != old.CreatedDateTime || got.ModificationDateTime == old.ModificationDateTime ||
		got.ObjectType != TypeProgram || len(got.ProgramDescriptions) != 1 {
		t.Fatalf("update: %d %s (was %+v)", r.status, r.body, old)
	}
	if r := bl.do("PUT", "/programs/"+old.ID, programBody("p01")); r.status != 409 {
		t.Errorf("rename onto a taken programName: %d", r.status)
	}
	if r := bl.do("POST", "/programs", programBody("p01")); r.status != 409 {
		t.Errorf("create with a taken programName: %d", r.status)
	}
	e := created[Event](t, bl.do("POST", "/events", eventBody(old.ID, t0.Add(3*time.Hour), 400)))
	r = bl.do("DELETE", "/programs/"+old.ID, nil)
	if r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := bl.do("GET", "/programs/"+old.ID, nil); r.status != 404 {
		t.Errorf("deleted program: %d", r.status)
	} else {
		r.problem(t)
	}
	if r := bl.do("GET", "/events/"+e.ID, nil); r.status != 404 {
		t.Errorf("event of a deleted program: %d", r.status)
	}
	if r := bl.do("DELETE", "/events/"+e.ID, nil); r.status != 404 {
		t.Errorf("delete twice: %d", r.status)
	}
}

// TestBadInputStoresNothing: each refusal has the specification's status
// and a problem body, and leaves the store as it was.
func TestBadInputStoresNothing(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	ven := f.login(t, venID, venSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("p1")))
	count := func() int {
		n := 0
		if err := f.opts.Store.Scan("", func(string, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	start := t0.Add(2 * time.Hour)
	ev := func(mut func(map[string]any)) map[string]any {
		b := eventBody(p.ID, start, 400)
		mut(b)
		return b
	}
	for _, tc := range []struct {
		name   string
		c      *oadr
		method string
		path   string
		body   any
		valid  bool // the request follows the specification (the VTN is stricter)
		status int
	}{
		{"unknown field", bl, "POST", "/events", ev(func(b map[string]any) { b["colour"] = "red" }), true, 400},
		{"unknown nested field", bl, "POST", "/events", ev(func(b map[string]any) {
			b["intervalPeriod"].(map[string]any)["timezone"] = "UTC"
		}), true, 400},
		{"member name in another case", bl, "POST", "/programs", `{"programName":"x","Targets":["a"]}`, true, 400},
		{"wrong type", bl, "POST", "/events", ev(func(b map[string]any) { b["priority"] = "high" }), false, 400},
		{"wrong type in program", bl, "POST", "/programs", map[string]any{"programName": 7}, false, 400},
		{"missing required", bl, "POST", "/events", ev(func(b map[string]any) { delete(b, "programID") }), false, 400},
		{"missing interval id", bl, "POST", "/events", ev(func(b map[string]any) {
			b["intervals"] = []map[string]any{{"payloads": []map[string]any{}}}
		}), false, 400},
		{"bad duration", bl, "POST", "/events", ev(func(b map[string]any) { b["duration"] = "1 hour" }), false, 400},
		{"bad id pattern", bl, "POST", "/events", ev(func(b map[string]any) { b["programID"] = "p 1/x" }), false, 400},
		{"not JSON", bl, "POST", "/programs", `{"programName": "x"`, false, 400},
		{"trailing data", bl, "POST", "/programs", `{"programName": "x"} {}`, false, 400},
		{"array body", bl, "POST", "/programs", `[]`, false, 400},
		{"event of no program", bl, "POST", "/events", eventBody("no-such-program", start, 400), true, 409},
		{"VEN writes an event", ven, "POST", "/events", eventBody(p.ID, start, 400), true, 403},
		{"VEN writes a program", ven, "POST", "/programs", programBody("mine"), true, 403},
		{"report of no event", ven, "POST", "/reports", map[string]any{"eventID": "nope", "clientName": "x", "resources": []any{}}, true, 409},
		{"BL writes a report", bl, "POST", "/reports", map[string]any{"eventID": "nope", "clientName": "x", "resources": []any{}}, true, 403},
		{"subscription to no program", bl, "POST", "/subscriptions", map[string]any{"clientName": "c", "programID": "nope",
			"objectOperations": []map[string]any{{"objects": []string{"EVENT"}, "operations": []string{"CREATE"}, "callbackUrl": "http://x.example/cb"}}}, true, 409},
		{"callback not http", bl, "POST", "/subscriptions", map[string]any{"clientName": "c",
			"objectOperations": []map[string]any{{"objects": []string{"EVENT"}, "operations": []string{"CREATE"}, "callbackUrl": "file:///etc/passwd"}}}, true, 400},
		{"bad object type", bl, "POST", "/subscriptions", map[string]any{"clientName": "c",
			"objectOperations": []map[string]any{{"objects": []string{"CAR"}, "operations": []string{"CREATE"}, "callbackUrl": "http://x.example/cb"}}}, false, 400},
		{"resource of no ven", bl, "POST", "/resources", map[string]any{"objectType": BlResourceRequest, "clientID": venID, "resourceName": "r", "venID": "nope"}, true, 409},
		{"ven without objectType", bl, "POST", "/vens", map[string]any{"clientID": venID, "venName": "v"}, false, 400},
		{"update of no program", bl, "PUT", "/programs/nope", programBody("p2"), true, 404},
	} {
		var r resp
		if tc.valid {
			r = tc.c.do(tc.method, tc.path, tc.body)
		} else {
			r = tc.c.doInvalid(tc.method, tc.path, tc.body)
		}
		if r.status != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.name, r.status, r.body, tc.status)
			continue
		}
		r.problem(t)
		if n := count(); n != before {
			t.Errorf("%s: the store holds %d records, had %d", tc.name, n, before)
		}
	}
	if len(f.market.requests()) != 0 {
		t.Errorf("refused events reached the market: %+v", f.market.requests())
	}
}

// TestPersistence: objects are in the badger store and come back after a
// restart; tokens survive with a token key file.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	key := dir + "/token.key"
	if err := writeFile(key, strings.Repeat("k", 40)); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, dir+"/store", key)
	bl := f.login(t, blID, blSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("p1", "ZONE:DE-LU")))
	e := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(2*time.Hour), 400)))
	vn := created[Ven](t, bl.do("POST", "/vens", map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "home-1"}))
	res := created[Resource](t, bl.do("POST", "/resources", map[string]any{"objectType": BlResourceRequest, "clientID": venID, "resourceName": "battery", "venID": vn.ID}))
	f.close()

	g := newFixture(t, dir+"/store", key)
	bl.base = g.srv.URL
	for path, want := range map[string]string{
		"/programs/" + p.ID: p.ID, "/events/" + e.ID: e.ID, "/vens/" + vn.ID: vn.ID, "/resources/" + res.ID: res.ID,
	} {
		r := bl.do("GET", path, nil)
		var m Meta
		r.decode(t, &m)
		if r.status != 200 || m.ID != want {
			t.Errorf("after restart %s: %d %s", path, r.status, r.body)
		}
	}
	var reps []Report
	bl.do("GET", "/reports?eventID="+e.ID, nil).decode(t, &reps)
	if len(reps) != 1 || reps[0].ClientName != MarketClient {
		t.Errorf("market report after restart: %+v", reps)
	}
	bl.do("GET", "/reports?programID="+p.ID, nil).decode(t, &reps)
	if len(reps) != 1 {
		t.Errorf("report's program after restart: %+v", reps)
	}
}
