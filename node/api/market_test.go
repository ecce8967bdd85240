package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gridmint/gridmint"
)

type fakeMarket struct{ ev MarketEvent }

func (f fakeMarket) MarketEvents(int) []MarketEvent { return []MarketEvent{f.ev} }
func (f fakeMarket) MarketEvent(id gridmint.RequestID) (MarketEvent, bool) {
	return f.ev, id == f.ev.RequestID
}
func (f fakeMarket) MarketOffers() MarketOffers { return MarketOffers{} }

// TestMarketRoutes: the market's routes list and show events, name a bad
// request id (400) and an unknown one (404), and are absent without a
// market.
func TestMarketRoutes(t *testing.T) {
	ev := MarketEvent{RequestID: gridmint.RequestID{0xab}, State: "firm", Log: []MarketStep{{Step: "firm"}}}
	srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Market: fakeMarket{ev}}))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/api/v1/market/events")
	var list MarketEventList
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Events) != 1 || list.Events[0].State != "firm" {
		t.Errorf("events: %d %s", code, body)
	}
	if code, body := get("/api/v1/market/events/" + ev.RequestID.String()); code != 200 || !strings.Contains(body, `"state": "firm"`) {
		t.Errorf("event: %d %s", code, body)
	}
	if code, body := get("/api/v1/market/events/0x12"); code != 400 || !strings.Contains(body, "request id") {
		t.Errorf("bad id: %d %s, want 400 naming the request id", code, body)
	}
	if code, _ := get("/api/v1/market/events/" + gridmint.RequestID{1}.String()); code != 404 {
		t.Errorf("unknown id: %d, want 404", code)
	}
	if code, body := get("/api/v1/market/offers"); code != 200 || !strings.Contains(body, `"offers": []`) || !strings.Contains(body, `"idle": []`) {
		t.Errorf("offers: %d %s", code, body)
	}
	without := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}}))
	defer without.Close()
	if resp, err := http.Get(without.URL + "/api/v1/market/events"); err != nil || resp.StatusCode != 404 {
		t.Errorf("without a market: %v %v, want 404", resp.StatusCode, err)
	}
}
