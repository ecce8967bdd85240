package openadr

import (
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// TestEventBecomesRequest: a BL posts an import limit in a zone; the node
// publishes a flexibility request and records its id on the event as
// the VTN's report.
func TestEventBecomesRequest(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("flex", "ZONE:DE-LU")))
	start := t0.Add(2 * time.Hour)
	body := eventBody(p.ID, start, 400)
	body["intervals"] = []map[string]any{
		{"id": 0, "payloads": []map[string]any{{"type": PayloadImportLimit, "values": []any{400}}}},
		{"id": 1, "payloads": []map[string]any{{"type": PayloadImportLimit, "values": []any{350}}}},
		{"id": 2, "payloads": []map[string]any{{"type": PayloadImportLimit, "values": []any{600}}}}, // above the reference
	}
	e := created[Event](t, bl.do("POST", "/events", body))

	got := f.market.requests()
	want := []gridmint.Request{
		{Zone: "DE-LU", WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 100e3, Direction: gridmint.DirectionDown,
			MaxPrice: 250000, GateClosure: start.Add(-15 * time.Minute)},
		{Zone: "DE-LU", WindowStart: start.Add(time.Hour), WindowEnd: start.Add(2 * time.Hour), Power: 150e3, Direction: gridmint.DirectionDown,
			MaxPrice: 250000, GateClosure: start.Add(45 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("published %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].req != want[i] {
			t.Errorf("request %d:\n got %+v\nwant %+v", i, got[i].req, want[i])
		}
	}

	var reps []Report
	bl.do("GET", "/reports?eventID="+e.ID, nil).decode(t, &reps)
	if len(reps) != 1 || reps[0].ClientID != MarketClient || len(reps[0].Resources) != 1 {
		t.Fatalf("market report: %+v", reps)
	}
	ivs := reps[0].Resources[0].Intervals
	if len(ivs) != 3 ||
		ivs[0].Payloads[0].Type != PayloadRequestID || ivs[0].Payloads[0].Values[0] != got[0].id ||
		ivs[1].Payloads[0].Values[0] != got[1].id ||
		ivs[2].Payloads[0].Type != PayloadNotMapped || !strings.Contains(ivs[2].Payloads[0].Values[0].(string), "nothing to request") {
		t.Errorf("market report intervals: %+v", ivs)
	}
	// A VEN does not see the VTN's report (it is not the VEN's).
	ven := f.login(t, venID, venSecret, "")
	ven.do("GET", "/reports?eventID="+e.ID, nil).decode(t, &reps)
	if len(reps) != 0 {
		t.Errorf("VEN sees %d market reports", len(reps))
	}
	// An event without market payloads is not a flexibility event.
	price := eventBody(p.ID, start, 0)
	price["intervals"] = []map[string]any{{"id": 0, "payloads": []map[string]any{{"type": "PRICE", "values": []any{0.31}}}}}
	e2 := created[Event](t, bl.do("POST", "/events", price))
	bl.do("GET", "/reports?eventID="+e2.ID, nil).decode(t, &reps)
	if len(reps) != 0 || len(f.market.requests()) != 2 {
		t.Errorf("a PRICE event was mapped: %d reports, %d requests", len(reps), len(f.market.requests()))
	}
}

func TestMapEvent(t *testing.T) {
	now := t0
	start := t0.Add(3 * time.Hour)
	prog := func(attrs ...ValuesMap) Program {
		return Program{ProgramName: "p", Targets: []string{"ZONE:NL"}, Attributes: attrs}
	}
	attr := func(typ string, v any) ValuesMap { return ValuesMap{Type: typ, Values: []any{v}} }
	base := []ValuesMap{attr(AttrMaxPrice, 1000.0), attr(AttrReferenceKW, -200.0), attr(AttrSimpleKW, 50.0)}
	ev := func(payload ValuesMap, mut ...func(*Event)) Event {
		s, d := start.Format(time.RFC3339), "PT30M"
		e := Event{ProgramID: "p", IntervalPeriod: &IntervalPeriod{Start: &s, Duration: &d},
			Intervals: []Interval{{ID: ptr(int32(7)), Payloads: []ValuesMap{payload}}}}
		for _, m := range mut {
			m(&e)
		}
		return e
	}
	for _, tc := range []struct {
		name   string
		p      Program
		e      Event
		power  gridmint.W
		dir    gridmint.Direction
		reason string
	}{
		// Reference −200 kW: the zone exports 200 kW.
		{"export limit 50 kW asks 150 kW up", prog(base...), ev(attr(PayloadExportLimit, 50.0)), 150e3, gridmint.DirectionUp, ""},
		{"setpoint above the reference asks up", prog(base...), ev(attr(PayloadSetpoint, -100.0)), 100e3, gridmint.DirectionUp, ""},
		{"setpoint in W", prog(base...), ev(attr(PayloadSetpoint, -250000.0), func(e *Event) {
			e.PayloadDescriptors = []PayloadDescriptor{{ObjectType: "EVENT_PAYLOAD_DESCRIPTOR", PayloadType: PayloadSetpoint, Units: ptr("W")}}
		}), 50e3, gridmint.DirectionDown, ""},
		{"SIMPLE level 2", prog(base...), ev(attr(PayloadSimple, 2.0)), 100e3, gridmint.DirectionDown, ""},
		{"SIMPLE level 0", prog(base...), ev(attr(PayloadSimple, 0.0)), 0, "", "nothing to request"},
		{"SIMPLE level 4", prog(base...), ev(attr(PayloadSimple, 4.0)), 0, "", "want 0, 1, 2 or 3"},
		{"import limit above the reference", prog(base...), ev(attr(PayloadImportLimit, 10.0)), 0, "", "nothing to request"},
		{"no reference", prog(attr(AttrMaxPrice, 1000.0)), ev(attr(PayloadImportLimit, 10.0)), 0, "", AttrReferenceKW},
		{"no max price", prog(attr(AttrReferenceKW, 100.0)), ev(attr(PayloadImportLimit, 10.0)), 0, "", AttrMaxPrice},
		{"interval payload overrides the program", prog(base...), ev(attr(PayloadImportLimit, 10.0), func(e *Event) {
			e.Intervals[0].Payloads = append(e.Intervals[0].Payloads, attr(AttrReferenceKW, 30.0))
		}), 20e3, gridmint.DirectionDown, ""},
		{"no zone", Program{Attributes: base}, ev(attr(PayloadSimple, 1.0)), 0, "", "no ZONE:"},
		{"two zones", prog(base...), ev(attr(PayloadSimple, 1.0), func(e *Event) { e.Targets = []string{"ZONE:A", "ZONE:B"} }), 0, "", "2 zones"},
		{"start now", prog(base...), ev(attr(PayloadSimple, 1.0), func(e *Event) { e.IntervalPeriod.Start = ptr("0001-01-01T00:00:00Z") }), 0, "", "means now"},
		{"forever", prog(base...), ev(attr(PayloadSimple, 1.0), func(e *Event) { e.IntervalPeriod.Duration = ptr("P9999Y") }), 0, "", "no fixed length"},
		{"longer than a day", prog(base...), ev(attr(PayloadSimple, 1.0), func(e *Event) { e.IntervalPeriod.Duration = ptr("P2D") }), 0, "", "longer than"},
		{"gate closure passed", prog(append(base, attr(AttrGateClosureMin, 240.0))...), ev(attr(PayloadSimple, 1.0)), 0, "", "has passed"},
		{"text value", prog(base...), ev(ValuesMap{Type: PayloadSimple, Values: []any{"high"}}), 0, "", "want a number"},
		{"bad units", prog(base...), ev(attr(PayloadSetpoint, 1.0), func(e *Event) {
			e.PayloadDescriptors = []PayloadDescriptor{{PayloadType: PayloadSetpoint, Units: ptr("KWH")}}
		}), 0, "", "want KW, W or MW"},
	} {
		got, ok := MapEvent(tc.p, tc.e, now)
		if !ok || len(got) != 1 || got[0].IntervalID != 7 {
			t.Errorf("%s: %+v, %v", tc.name, got, ok)
			continue
		}
		m := got[0]
		if tc.reason != "" {
			if !strings.Contains(m.Reason, tc.reason) {
				t.Errorf("%s: reason %q, want one with %q", tc.name, m.Reason, tc.reason)
			}
			continue
		}
		if m.Reason != "" || m.Request.Power != tc.power || m.Request.Direction != tc.dir || m.Request.Zone != "NL" ||
			!m.Request.WindowStart.Equal(start) || !m.Request.WindowEnd.Equal(start.Add(30*time.Minute)) {
			t.Errorf("%s: %+v", tc.name, m)
		}
	}
	if _, ok := MapEvent(prog(base...), ev(attr("PRICE", 0.2)), now); ok {
		t.Error("a PRICE event mapped")
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{
		"PT1H": time.Hour, "PT15M": 15 * time.Minute, "PT0.5S": 500 * time.Millisecond, "P1D": 24 * time.Hour,
		"P1W": 7 * 24 * time.Hour, "P1DT2H": 26 * time.Hour, "PT0S": 0,
	} {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("%s: %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "P", "PT", "1H", "PT1D", "P1H", "P1Y", "P1M", "PTH", "-PT1H"} {
		if _, err := parseDuration(s); err == nil {
			t.Errorf("%s: accepted", s)
		}
	}
}

func TestEventsActiveFilter(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	p := created[Program](t, bl.do("POST", "/programs", programBody("p")))
	past := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(-3*time.Hour), 400)))
	next := created[Event](t, bl.do("POST", "/events", eventBody(p.ID, t0.Add(time.Hour), 400)))
	var es []Event
	bl.do("GET", "/events?active=true&programID="+p.ID, nil).decode(t, &es)
	if len(es) != 1 || es[0].ID != next.ID {
		t.Errorf("active events: %+v", es)
	}
	bl.do("GET", "/events?active=false", nil).decode(t, &es)
	if len(es) != 2 || es[0].ID != past.ID {
		t.Errorf("all events: %d", len(es))
	}
}
