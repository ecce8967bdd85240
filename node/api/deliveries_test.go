package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
)

type fakeDeliveries []DeliveryEvent

func (f fakeDeliveries) DeliveryEvents(request *gridmint.RequestID) []DeliveryEvent {
	var out []DeliveryEvent
	for _, e := range f {
		if request == nil || *request == e.RequestID {
			out = append(out, e)
		}
	}
	return out
}

func TestDeliveriesEndpoint(t *testing.T) {
	tx := common.HexToHash("0xbeef")
	base := gridmint.MWh(1_000_000)
	metered := gridmint.MWh(-200_000)
	ev := DeliveryEvent{RequestID: gridmint.RequestID{7}, Price: 200, State: "settled", Reserved: "200000000000000", RewardTx: &tx,
		Deliveries: []Delivery{{DeliveryRecord: gridmint.DeliveryRecord{RequestID: gridmint.RequestID{7}, OfferID: gridmint.OfferID{1},
			Awarded: 1_000_000, Delivered: 1_000_000, Price: 200}, BaselineMWh: &base, MeteredMWh: &metered, Performance: 1,
			Paid: "200000000000000", Slashed: "0"}}}
	srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Deliveries: fakeDeliveries{ev}, Token: testToken}))
	t.Cleanup(srv.Close)

	code, body := call(t, http.MethodGet, srv.URL+"/api/v1/market/deliveries", "", "")
	var list DeliveryList
	if code != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil || len(list.Events) != 1 {
		t.Fatalf("GET deliveries = %d %s", code, body)
	}
	for _, want := range []string{`"baseline_mwh": 1000000`, `"metered_mwh": -200000`, `"delivered_mwh": 1000000`, `"performance": 1`,
		`"paid": "200000000000000"`, `"slashed": "0"`, `"reward_tx": "` + tx.Hex()} {
		if !strings.Contains(body, want) {
			t.Errorf("deliveries lack %s:\n%s", want, body)
		}
	}
	if code, body := call(t, http.MethodGet, srv.URL+"/api/v1/market/deliveries/"+ev.RequestID.String(), "", ""); code != http.StatusOK ||
		!strings.Contains(body, `"state": "settled"`) {
		t.Errorf("one request: %d %s", code, body)
	}
	if code, _ := call(t, http.MethodGet, srv.URL+"/api/v1/market/deliveries/"+gridmint.RequestID{8}.String(), "", ""); code != http.StatusNotFound {
		t.Errorf("an untracked request: %d, want 404", code)
	}
	if code, _ := call(t, http.MethodGet, srv.URL+"/api/v1/market/deliveries/0x12", "", ""); code != http.StatusBadRequest {
		t.Errorf("a malformed request id: %d, want 400", code)
	}
	empty := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Deliveries: fakeDeliveries{}, Token: testToken}))
	t.Cleanup(empty.Close)
	if code, body := call(t, http.MethodGet, empty.URL+"/api/v1/market/deliveries", "", ""); code != http.StatusOK || !strings.Contains(body, `"events": []`) {
		t.Errorf("nothing tracked: %d %s", code, body)
	}
	without := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Token: testToken}))
	t.Cleanup(without.Close)
	if code, _ := call(t, http.MethodGet, without.URL+"/api/v1/market/deliveries", "", ""); code != http.StatusNotFound {
		t.Errorf("without the service: %d, want 404", code)
	}
}
