package openadr

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// hook is a subscriber's webhook endpoint: a real HTTP server.
type hook struct {
	mu       sync.Mutex
	got      []Notification
	auth     []string
	failNext int // answer 500 to this many posts first
	srv      *httptest.Server
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.failNext > 0 {
			h.failNext--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		validNotification(t, body)
		var n Notification
		if err := json.Unmarshal(body, &n); err != nil {
			t.Errorf("notification: %v", err)
		}
		h.got = append(h.got, n)
		h.auth = append(h.auth, r.Header.Get("Authorization"))
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) snapshot() ([]Notification, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Notification(nil), h.got...), append([]string(nil), h.auth...)
}

// waitFor polls cond for up to a minute of wall time: generous, so a
// loaded machine does not fail it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (f *fixture) outcome(o string) float64 {
	var m dto.Metric
	if err := f.vtn.m.notifications.WithLabelValues(o).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestWebhookNotifications(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	ven := f.login(t, venID, venSecret, "")
	created[Ven](t, bl.do("POST", "/vens", map[string]any{"objectType": BlVenRequest, "clientID": venID, "venName": "home-1", "targets": []string{"group-1"}}))
	mine := created[Program](t, bl.do("POST", "/programs", programBody("mine", "group-1", "ZONE:DE-LU")))
	other := created[Program](t, bl.do("POST", "/programs", programBody("other", "group-2")))

	h := newHook(t)
	h.failNext = 1 // the first post fails and is retried
	s := created[Subscription](t, ven.do("POST", "/subscriptions", map[string]any{
		"clientName": "home-1",
		"objectOperations": []map[string]any{{
			"objects": []string{TypeEvent}, "operations": []string{"CREATE", "UPDATE", "DELETE"},
			"callbackUrl": h.srv.URL + "/openadr", "bearerToken": "hook-secret",
		}},
	}))
	if s.ClientID != venID || s.ObjectType != TypeSubscription {
		t.Fatalf("subscription %+v", s)
	}

	e := created[Event](t, bl.do("POST", "/events", eventBody(mine.ID, t0.Add(2*time.Hour), 400, "group-1")))
	created[Event](t, bl.do("POST", "/events", eventBody(other.ID, t0.Add(2*time.Hour), 400, "group-2")))
	if r := bl.do("PUT", "/events/"+e.ID, eventBody(mine.ID, t0.Add(2*time.Hour), 300, "group-1")); r.status != 200 {
		t.Fatalf("update: %d", r.status)
	}
	if r := bl.do("DELETE", "/events/"+e.ID, nil); r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	waitFor(t, "three notifications", func() bool { n, _ := h.snapshot(); return len(n) >= 3 })
	got, auth := h.snapshot()
	// Two workers may deliver out of order; the retried CREATE may come
	// after the others.
	ops := map[string]int{}
	for i, n := range got {
		ops[n.Operation]++
		obj, _ := n.Object.(map[string]any)
		if n.ObjectType != TypeEvent || obj["id"] != e.ID {
			t.Errorf("notification %d: %+v (the VEN must not hear of the other group's event)", i, n)
		}
		if auth[i] != "Bearer hook-secret" {
			t.Errorf("notification %d Authorization %q", i, auth[i])
		}
	}
	if ops["CREATE"] != 1 || ops["UPDATE"] != 1 || ops["DELETE"] != 1 || len(got) != 3 {
		t.Errorf("operations %v", ops)
	}
	// The failed first attempt was retried once; nothing else failed.
	waitFor(t, "counters", func() bool { return f.outcome("delivered") == 3 })
	if r, fl := f.outcome("retried"), f.outcome("failed"); r != 1 || fl != 0 {
		t.Errorf("retried %v, failed %v: want 1, 0", r, fl)
	}
}

// TestWebhookRetriesAreBounded: a callback that always fails is tried
// notifyAttempts times and then given up.
func TestWebhookRetriesAreBounded(t *testing.T) {
	f := newFixture(t, "", "")
	bl := f.login(t, blID, blSecret, "")
	var mu sync.Mutex
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		posts++
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	created[Subscription](t, bl.do("POST", "/subscriptions", map[string]any{
		"clientName":       "bl",
		"objectOperations": []map[string]any{{"objects": []string{TypeProgram}, "operations": []string{"CREATE"}, "callbackUrl": srv.URL}},
	}))
	created[Program](t, bl.do("POST", "/programs", programBody("p")))
	count := func() int { mu.Lock(); defer mu.Unlock(); return posts }
	// The notifier counts "failed" after its last attempt.
	waitFor(t, "the notification to be given up", func() bool { return f.outcome("failed") == 1 })
	if n := count(); n != notifyAttempts {
		t.Errorf("%d attempts, want %d", n, notifyAttempts)
	}
}
