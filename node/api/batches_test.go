package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint/node/settle"
)

type fakeSettlement struct {
	limits []int
	list   []settle.Status
}

func (f *fakeSettlement) Batches(limit int) []settle.Status {
	f.limits = append(f.limits, limit)
	return f.list[:min(limit, len(f.list))]
}

func TestBatchesEndpoint(t *testing.T) {
	tx := common.HexToHash("0xbeef")
	by := common.HexToAddress("0xb0b")
	ready := networkNow.Add(-time.Minute)
	fs := &fakeSettlement{list: []settle.Status{
		{Kind: settle.KindRECIssue, ID: common.Hash{1}, State: settle.StateSettled, Attestations: 2, K: 2,
			Order: []common.Address{by, common.HexToAddress("0xa")}, Rank: 1, Submitter: &by, Tx: &tx, Block: 12, Created: networkNow, Ready: &ready},
		{Kind: settle.KindFLEXReward, ID: common.Hash{2}, State: settle.StateCollecting, Attestations: 1, K: 2, Rank: -1, Created: networkNow},
	}}
	srv := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Settlement: fs, Token: testToken, Clock: fixedClock(networkNow)}))
	t.Cleanup(srv.Close)

	code, body := call(t, http.MethodGet, srv.URL+"/api/v1/batches", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/batches = %d %s", code, body)
	}
	var got struct {
		Batches []map[string]any `json:"batches"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Batches) != 2 || fs.limits[0] != 100 {
		t.Fatalf("got %d batches with limit %v; want 2 with the default limit 100", len(got.Batches), fs.limits)
	}
	first := got.Batches[0]
	for field, want := range map[string]any{"kind": "rec_issue", "state": "settled", "attestations": 2.0, "k": 2.0, "rank": 1.0,
		"tx": tx.Hex(), "submitter": strings.ToLower(by.Hex()), "block": 12.0} {
		if v := first[field]; v != want && !(field == "submitter" && strings.EqualFold(v.(string), want.(string))) {
			t.Errorf("batch field %s = %v, want %v", field, v, want)
		}
	}
	if _, ok := got.Batches[1]["tx"]; ok {
		t.Error("an unsettled batch shows a tx")
	}

	if code, body := call(t, http.MethodGet, srv.URL+"/api/v1/batches?limit=1", "", ""); code != http.StatusOK || !strings.Contains(body, "rec_issue") || strings.Contains(body, "flex_reward") {
		t.Errorf("limit=1: %d %s", code, body)
	}
	for _, bad := range []string{"0", "1001", "x"} {
		if code, body := call(t, http.MethodGet, srv.URL+"/api/v1/batches?limit="+bad, "", ""); code != http.StatusBadRequest {
			t.Errorf("limit=%s: %d %s, want 400", bad, code, body)
		}
	}
	fs.list = nil
	if code, body := call(t, http.MethodGet, srv.URL+"/api/v1/batches", "", ""); code != http.StatusOK || !strings.Contains(body, `"batches": []`) {
		t.Errorf("no batches: %d %s, want an empty list", code, body)
	}

	without := httptest.NewServer(New(Config{Devices: fakeDevices{DevicesFn: sampleDevices}, Token: testToken}))
	t.Cleanup(without.Close)
	if code, _ := call(t, http.MethodGet, without.URL+"/api/v1/batches", "", ""); code != http.StatusNotFound {
		t.Errorf("without a settlement engine: %d, want 404", code)
	}
}
