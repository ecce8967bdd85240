package openadr

import (
	"encoding/json"
	"net/url"
	"testing"
)

// The decoders of outside input. Each must never panic, and what it
// accepts must encode to a body it accepts again (so a stored object
// can always be served and re-read).

func fuzzRoundTrip[T any](f *testing.F, decode func([]byte) (T, error), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decode(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("accepted %q but cannot encode it: %v", b, err)
		}
		if _, err := decode(again); err != nil {
			t.Fatalf("accepted %q, its encoding %s is refused: %v", b, again, err)
		}
	})
}

func FuzzDecodeProgram(f *testing.F) {
	fuzzRoundTrip(f, DecodeProgram,
		`{"programName":"flex","targets":["ZONE:DE-LU"],"attributes":[{"type":"GRIDMINT_MAX_PRICE","values":[250000]}]}`,
		`{"programName":"p","intervalPeriod":{"start":"2026-06-01T10:00:00Z","duration":"PT1H"},"programDescriptions":[{"URL":"https://x.example"}]}`,
		`{"programName":"p","payloadDescriptors":[{"objectType":"EVENT_PAYLOAD_DESCRIPTOR","payloadType":"SIMPLE","units":"KW"}]}`,
		`{"programName":""}`, `{"programName":1}`, `[]`)
}

func FuzzDecodeEvent(f *testing.F) {
	fuzzRoundTrip(f, DecodeEvent,
		`{"programID":"p-1","intervalPeriod":{"start":"2026-06-01T10:00:00Z","duration":"PT1H"},"intervals":[{"id":0,"payloads":[{"type":"IMPORT_CAPACITY_LIMIT","values":[400]}]}]}`,
		`{"programID":"p","priority":0,"targets":["a"],"reportDescriptors":[{"payloadType":"USAGE","readingType":"DIRECT_READ","aggregate":false,"startInterval":-1}]}`,
		`{"programID":"p","intervals":[{"id":1,"payloads":[{"type":"X","values":[{"x":1,"y":2},true,"s",1.5]}]}]}`,
		`{"programID":"p","duration":"P1DT2H"}`, `{"programID":"p","extra":1}`)
}

func FuzzDecodeReport(f *testing.F) {
	fuzzRoundTrip(f, DecodeReport,
		`{"eventID":"e-1","clientName":"ven","resources":[{"resourceName":"AGGREGATED_REPORT","intervals":[{"id":0,"payloads":[{"type":"USAGE","values":[1.5]}]}]}]}`,
		`{"eventID":"e","clientName":"v","reportName":"r","payloadDescriptors":[{"objectType":"REPORT_PAYLOAD_DESCRIPTOR","payloadType":"BASELINE","readingType":"DIRECT_READ","confidence":90}],"resources":[]}`,
		`{"eventID":"e","clientName":"v"}`)
}

func FuzzDecodeSubscription(f *testing.F) {
	fuzzRoundTrip(f, DecodeSubscription,
		`{"clientName":"c","objectOperations":[{"objects":["EVENT"],"operations":["CREATE","UPDATE"],"callbackUrl":"https://x.example/cb","bearerToken":"t"}]}`,
		`{"clientName":"c","programID":"p","targets":["g"],"objectOperations":[]}`,
		`{"clientName":"c","objectOperations":[{"objects":["CAR"],"operations":["CREATE"],"callbackUrl":"x"}]}`)
}

func FuzzDecodeVen(f *testing.F) {
	fuzzRoundTrip(f, DecodeVen,
		`{"objectType":"BL_VEN_REQUEST","clientID":"c","venName":"v","targets":["g"]}`,
		`{"objectType":"VEN_VEN_REQUEST","venName":"v","attributes":[{"type":"A","values":[1]}]}`)
}

func FuzzDecodeResource(f *testing.F) {
	fuzzRoundTrip(f, DecodeResource,
		`{"objectType":"BL_RESOURCE_REQUEST","clientID":"c","resourceName":"r","venID":"v"}`,
		`{"objectType":"VEN_RESOURCE_REQUEST","resourceName":"r","venID":"v"}`)
}

func FuzzDecodeTokenRequest(f *testing.F) {
	for _, s := range []string{
		"grant_type=client_credentials&client_id=a&client_secret=b",
		"grant_type=client_credentials&client_id=a&client_secret=b&scope=read_all+write_events",
		"grant_type=password&client_id=a", "client_id=a&client_id=b", "%zz",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeTokenRequest(b)
		if err != nil {
			return
		}
		if req.GrantType != "client_credentials" || req.ClientID == "" || req.ClientSecret == "" {
			t.Fatalf("accepted %q as %+v", b, req)
		}
		again := url.Values{"grant_type": {req.GrantType}, "client_id": {req.ClientID}, "client_secret": {req.ClientSecret}}
		if req.Scope != "" {
			again.Set("scope", req.Scope)
		}
		if _, err := DecodeTokenRequest([]byte(again.Encode())); err != nil {
			t.Fatalf("accepted %q, its encoding is refused: %v", b, err)
		}
	})
}

// FuzzMapEvent: the VEN client maps events of an external VTN, decoded
// as they come (json.Unmarshal, not the VTN's strict decoder): mapping
// never panics, and every request it makes is valid.
func FuzzMapEvent(f *testing.F) {
	f.Add([]byte(`{"programName":"p","targets":["ZONE:NL"],"attributes":[{"type":"GRIDMINT_MAX_PRICE","values":[1000]},{"type":"GRIDMINT_REFERENCE_KW","values":[500]}]}`),
		[]byte(`{"programID":"p","intervalPeriod":{"start":"2026-06-01T11:00:00Z","duration":"PT1H"},"intervals":[{"id":0,"payloads":[{"type":"IMPORT_CAPACITY_LIMIT","values":[380]}]},{"id":1,"payloads":[{"type":"SIMPLE","values":[2]}]}]}`))
	f.Add([]byte(`{"programName":"p","attributes":[{"type":"GRIDMINT_SIMPLE_KW","values":[1e308]}]}`),
		[]byte(`{"programID":"p","targets":["ZONE:A"],"intervalPeriod":{"start":"2026-06-01T11:00:00Z","duration":"P99999999999999W"},"intervals":[{"id":0,"payloads":[{"type":"DISPATCH_SETPOINT","values":[-1e300]}]}]}`))
	f.Fuzz(func(t *testing.T, prog, ev []byte) {
		var p Program
		var e Event
		if json.Unmarshal(prog, &p) != nil || json.Unmarshal(ev, &e) != nil {
			return
		}
		out, _ := MapEvent(p, e, t0)
		for _, m := range out {
			if m.Reason == "" {
				if err := m.Request.Validate(); err != nil || !m.Request.GateClosure.After(t0) {
					t.Fatalf("invalid request %+v: %v", m.Request, err)
				}
			}
		}
	})
}
