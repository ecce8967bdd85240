package openadr

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/store"
)

// fakeDeliveries is the market's verification, set by the test.
type fakeDeliveries struct {
	mu sync.Mutex
	d  map[string]Delivery
}

func (f *fakeDeliveries) Delivery(_ context.Context, id string) (Delivery, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.d[id]
	return d, ok, nil
}

func (f *fakeDeliveries) set(id string, d Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.d == nil {
		f.d = map[string]Delivery{}
	}
	f.d[id] = d
}

func mwh(kwh float64) *gridmint.MWh { v := gridmint.MWh(kwh * 1e6); return &v }

// verified is a request's delivery by two awards over its hour in
// five-minute steps: A (60 kW) delivered 5 kWh a step, with baseline and
// meter; B (40 kW) 3 kWh a step for ten steps and then no data, with a
// baseline but no metered total.
func verified(r gridmint.Request) Delivery {
	a := AwardDelivery{DeliveryRecord: gridmint.DeliveryRecord{Direction: r.Direction, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd,
		StepSeconds: 300, Awarded: 60e6, Delivered: 60e6, Price: 200000}, BaselineMWh: mwh(150), MeteredMWh: mwh(90)}
	b := AwardDelivery{DeliveryRecord: gridmint.DeliveryRecord{Direction: r.Direction, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd,
		StepSeconds: 300, Awarded: 40e6, Delivered: 30e6, Price: 200000, Reason: gridmint.FlexNoData}, BaselineMWh: mwh(70)}
	for i := range 12 {
		a.Intervals = append(a.Intervals, 5e6)
		b.Intervals = append(b.Intervals, gridmint.MWh(0))
		if i < 10 {
			b.Intervals[i] = 3e6
		}
	}
	return Delivery{Request: r, Price: 200000, Awards: []AwardDelivery{a, b}}
}

// checkDeliveryReport checks the delivery report of verified(r) on
// event interval 0.
func checkDeliveryReport(t *testing.T, rep Report, r gridmint.Request) {
	t.Helper()
	if rep.ReportName == nil || *rep.ReportName != deliveryReportPrefix+rep.EventID || len(rep.Resources) != 1 ||
		rep.Resources[0].ResourceName != "AGGREGATED_REPORT" {
		t.Fatalf("delivery report %+v", rep)
	}
	reading := map[string]string{}
	for _, d := range rep.PayloadDescriptors {
		if d.ReadingType != nil {
			reading[d.PayloadType] = *d.ReadingType
		}
	}
	if reading[PayloadBaseline] != "ESTIMATED" || reading[PayloadUsage] != "SUMMED" || reading[PayloadDeltaUsage] != "SUMMED" {
		t.Errorf("reading types %v", reading)
	}
	type got struct {
		value   any
		quality string
		start   string
		dur     string
	}
	by := map[string][]got{}
	for _, iv := range rep.Resources[0].Intervals {
		if iv.ID == nil || *iv.ID != 0 || iv.IntervalPeriod == nil || len(iv.Payloads) == 0 {
			t.Fatalf("interval %+v", iv)
		}
		g := got{value: iv.Payloads[0].Values[0], start: *iv.IntervalPeriod.Start, dur: *iv.IntervalPeriod.Duration}
		if len(iv.Payloads) == 2 && iv.Payloads[1].Type == PayloadDataQuality {
			g.quality = iv.Payloads[1].Values[0].(string)
		}
		by[iv.Payloads[0].Type] = append(by[iv.Payloads[0].Type], g)
	}
	start := r.WindowStart.Format(time.RFC3339)
	for typ, want := range map[string]got{
		PayloadAwarded:       {100.0, "", start, "PT1H"},
		PayloadClearingPrice: {200000.0, "", start, "PT1H"},
		PayloadBaseline:      {220.0, QualityOK, start, "PT1H"},
		PayloadUsage:         {90.0, QualityBAD, start, "PT1H"}, // B has no metered total
	} {
		if g := by[typ]; len(g) != 1 || g[0] != want {
			t.Errorf("%s: %+v, want %+v", typ, g, want)
		}
	}
	deltas := by[PayloadDeltaUsage]
	if len(deltas) != 12 {
		t.Fatalf("%d DELTA_USAGE steps, want 12", len(deltas))
	}
	for i, g := range deltas {
		want := got{-8.0, QualityBAD, r.WindowStart.Add(time.Duration(i) * 5 * time.Minute).Format(time.RFC3339), "PT5M"}
		if i >= 10 {
			want.value = -5.0
		}
		if g != want {
			t.Errorf("DELTA_USAGE step %d: %+v, want %+v", i, g, want)
		}
	}
}

// TestDeliveryReport: an event becomes a market request; once the
// market verified its awards' delivery, the VTN writes a report with
// BASELINE, USAGE and DELTA_USAGE, reading types and DATA_QUALITY, valid
// against the specification as the utility reads it; once.
func TestDeliveryReport(t *testing.T) {
	f := newFixture(t, "", "")
	dv := &fakeDeliveries{}
	f.vtn.opts.Deliveries = dv
	bl := f.login(t, blID, blSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("flex", "ZONE:DE-LU")))
	e := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(2*time.Hour), 400)))
	reqs := f.market.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests %+v", reqs)
	}
	ctx := context.Background()
	if n, err := f.vtn.ReportDeliveries(ctx); err != nil || n != 0 {
		t.Fatalf("before verification: %d reports, %v", n, err)
	}
	dv.set(reqs[0].id, verified(reqs[0].req))
	if n, err := f.vtn.ReportDeliveries(ctx); err != nil || n != 1 {
		t.Fatalf("after verification: %d reports, %v", n, err)
	}
	if n, err := f.vtn.ReportDeliveries(ctx); err != nil || n != 0 {
		t.Fatalf("again: %d reports, %v", n, err)
	}
	var reps []Report
	bl.do("GET", "/reports?eventID="+e.ID, nil).decode(t, &reps) // validated against the specification
	if len(reps) != 2 {
		t.Fatalf("%d reports, want the market's and the delivery's", len(reps))
	}
	checkDeliveryReport(t, reps[1], reqs[0].req)
}

// TestDeliveryReportHorizon: a request the market never verifies (not
// cleared) is reported as such once DeliveryHorizon has passed.
func TestDeliveryReportHorizon(t *testing.T) {
	f := newFixture(t, "", "")
	f.vtn.opts.Deliveries = &fakeDeliveries{}
	bl := f.login(t, blID, blSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("flex", "ZONE:DE-LU")))
	e := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(2*time.Hour), 400)))
	ctx := context.Background()
	f.clock.Add(3*time.Hour + DeliveryHorizon - time.Second)
	if n, err := f.vtn.ReportDeliveries(ctx); err != nil || n != 0 {
		t.Fatalf("before the horizon: %d, %v", n, err)
	}
	f.clock.Add(time.Second)
	if n, err := f.vtn.ReportDeliveries(ctx); err != nil || n != 1 {
		t.Fatalf("at the horizon: %d, %v", n, err)
	}
	var reps []Report
	f.login(t, blID, blSecret, "").do("GET", "/reports?eventID="+e.ID, nil).decode(t, &reps)
	if len(reps) != 2 || reps[1].Resources[0].Intervals[0].Payloads[0].Type != PayloadNoDelivery {
		t.Fatalf("reports %+v", reps)
	}
}

// TestVENClientReportsDelivery: the node as a VEN of an external VTN
// reports its own verified delivery there, once; every exchange is
// validated against the specification.
func TestVENClientReportsDelivery(t *testing.T) {
	vtn := newFixture(t, "", "")
	bl := vtn.login(t, blID, blSecret, "")
	created[Ven](t, bl.do("POST", "/vens", map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "home-1", "targets": []string{"ZONE:NL"}}))
	p := created[Program](t, bl.do("POST", "/programs", programBody("flex", "ZONE:NL")))
	e := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(2*time.Hour), 380)))
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	market, dv := &fakeMarket{}, &fakeDeliveries{}
	c, err := NewVENClient(VENOptions{
		Config: VENConfig{VTN: vtn.srv.URL + Prefix, ClientID: venID, Secret: venSecret},
		Store:  StoreOn(st), Clock: vtn.clock, Market: market, Deliveries: dv,
		HTTPClient: &http.Client{Transport: validatingTransport{t}, Timeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	reqs := market.requests()
	if len(reqs) != 1 {
		t.Fatalf("requests %+v", reqs)
	}
	reports := func() []Report {
		var reps []Report
		bl.do("GET", "/reports?eventID="+e.ID+"&clientName="+venID, nil).decode(t, &reps)
		return reps
	}
	if n := len(reports()); n != 1 {
		t.Fatalf("%d reports before verification, want the market report", n)
	}
	dv.set(reqs[0].id, verified(reqs[0].req))
	for range 2 {
		if _, err := c.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	reps := reports()
	if len(reps) != 2 || reps[1].ClientID != venID {
		t.Fatalf("%d reports, want the market's and one delivery report: %+v", len(reps), reps)
	}
	checkDeliveryReport(t, reps[1], reqs[0].req)
}

// TestDeliveryReportEdges: one meter (DIRECT_READ), an increase (up:
// DELTA_USAGE positive), a net export over the window (USAGE 0, BAD),
// no baseline (MISSING); the report is valid against the specification's
// reportRequest schema (what a VEN posts).
func TestDeliveryReportEdges(t *testing.T) {
	start := t0.Add(time.Hour)
	r := gridmint.Request{Zone: "NL", WindowStart: start, WindowEnd: start.Add(10 * time.Minute), Power: 6e3, Direction: gridmint.DirectionUp}
	a := AwardDelivery{DeliveryRecord: gridmint.DeliveryRecord{Direction: r.Direction, WindowStart: start, WindowEnd: r.WindowEnd,
		StepSeconds: 300, Awarded: 1e6, Delivered: 750e3, Intervals: []gridmint.MWh{500e3, 250e3}}, MeteredMWh: mwh(-2.5)}
	d := DeliveriesFunc(func(context.Context, string) (Delivery, bool, error) {
		return Delivery{Request: r, Price: 5, Awards: []AwardDelivery{a}}, true, nil
	})
	rep, ready, err := deliveryReport(context.Background(), d, "e1", "c", []requestRef{{Interval: 3, Request: "x"}}, r.WindowEnd, r.WindowEnd)
	if err != nil || !ready {
		t.Fatalf("%v %v", ready, err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	if err := spec(t).Components.Schemas["reportRequest"].Value.VisitJSON(v, openapi3.SetSchemaRegexCompiler(RegexCompiler)); err != nil {
		t.Fatalf("report deviates from OpenADR 3.1.0: %v\n%s", err, b)
	}
	for _, pd := range rep.PayloadDescriptors {
		if pd.PayloadType == PayloadUsage && *pd.ReadingType != "DIRECT_READ" {
			t.Errorf("USAGE reading type %s with one meter", *pd.ReadingType)
		}
	}
	var got []string
	for _, iv := range rep.Resources[0].Intervals {
		s := fmt.Sprint(*iv.ID, " ", *iv.IntervalPeriod.Start, " ", *iv.IntervalPeriod.Duration)
		for _, p := range iv.Payloads {
			s += fmt.Sprint(" ", p.Type, "=", p.Values[0])
		}
		got = append(got, s)
	}
	s0, s1 := start.Format(time.RFC3339), start.Add(5*time.Minute).Format(time.RFC3339)
	want := []string{
		"3 " + s0 + " PT10M GRIDMINT_AWARDED=1",
		"3 " + s0 + " PT10M GRIDMINT_CLEARING_PRICE=5",
		"3 " + s0 + " PT10M BASELINE=0 DATA_QUALITY=MISSING",
		"3 " + s0 + " PT10M USAGE=0 DATA_QUALITY=BAD",
		"3 " + s0 + " PT5M DELTA_USAGE=0.5 DATA_QUALITY=OK",
		"3 " + s1 + " PT5M DELTA_USAGE=0.25 DATA_QUALITY=OK",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("intervals:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "PT0S", time.Hour: "PT1H", 90 * time.Minute: "PT1H30M", 5 * time.Minute: "PT5M",
		1500 * time.Millisecond: "PT1.5S", 26 * time.Hour: "PT26H"} {
		got := isoDuration(d)
		if got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
		if back, err := parseDuration(got); err != nil || back != d {
			t.Errorf("%s parses as %v, %v", got, back, err)
		}
	}
}
