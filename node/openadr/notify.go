package openadr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Webhook delivery bounds.
const (
	// notifyAttempts is how often one notification is tried.
	notifyAttempts = 3
	// notifyQueue bounds the notifications waiting to be posted; when
	// full, new ones are dropped and counted (a stuck subscriber cannot
	// grow the VTN's memory).
	notifyQueue = 1024
	// notifyWorkers post concurrently, so one slow subscriber does not
	// hold up the others for long.
	notifyWorkers = 2
)

// checkCallback accepts absolute http and https URLs.
func checkCallback(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: want an http or https URL", s)
	case u.Host == "":
		return fmt.Errorf("%q: no host", s)
	}
	return nil
}

type delivery struct {
	url, token string
	body       []byte
}

// notifier posts notifications to subscribers' callbacks in the
// background, with bounded retries.
type notifier struct {
	client  *http.Client
	backoff time.Duration // wall time, times the attempt number
	log     *slog.Logger
	m       metrics
	queue   chan delivery
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newNotifier(client *http.Client, backoff time.Duration, log *slog.Logger, m metrics) *notifier {
	if client == nil {
		// Wall-clock timeout: how long a subscriber may take to answer.
		client = &http.Client{Timeout: 10 * time.Second}
	}
	if backoff <= 0 {
		backoff = 2 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{client: client, backoff: backoff, log: log, m: m, queue: make(chan delivery, notifyQueue), ctx: ctx, cancel: cancel}
	for range notifyWorkers {
		n.wg.Add(1)
		go n.run()
	}
	return n
}

func (n *notifier) close() {
	n.cancel()
	n.wg.Wait()
}

func (n *notifier) enqueue(d delivery) {
	select {
	case n.queue <- d:
	default:
		n.m.notifications.WithLabelValues("dropped_queue_full").Inc()
		n.log.Warn("openadr: notification queue full, dropped one", "url", d.url)
	}
}

func (n *notifier) run() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case d := <-n.queue:
			n.deliver(d)
		}
	}
}

func (n *notifier) deliver(d delivery) {
	for attempt := 1; ; attempt++ {
		err := n.post(d)
		if err == nil {
			n.m.notifications.WithLabelValues("delivered").Inc()
			return
		}
		if attempt == notifyAttempts {
			n.m.notifications.WithLabelValues("failed").Inc()
			n.log.Warn("openadr: notification not delivered", "url", d.url, "attempts", attempt, "err", err)
			return
		}
		n.m.notifications.WithLabelValues("retried").Inc()
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(n.backoff * time.Duration(attempt)): // wall time: a retry back-off
		}
	}
}

func (n *notifier) post(d delivery) error {
	req, err := http.NewRequestWithContext(n.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("callback answered %s", resp.Status)
	}
	return nil
}

// notifyLocked queues a notification of op on obj (of objectType, in
// program programID, with targets) for every subscription that asked for
// it and whose client may read obj. Caller holds v.mu.
func (v *VTN) notifyLocked(objectType, op string, obj any, programID string, targets []string) {
	var body []byte
	for _, s := range v.subscriptions.list(func(Subscription, string) bool { return true }) {
		if s.ProgramID != "" && s.ProgramID != programID {
			continue
		}
		if len(s.Targets) > 0 && len(targets) > 0 && !intersects(s.Targets, targets) {
			continue
		}
		if !v.subscriberReads(s.ClientID, obj) {
			continue
		}
		for _, oo := range s.ObjectOperations {
			if !slices.Contains(oo.Objects, objectType) || !slices.Contains(oo.Operations, op) {
				continue
			}
			if body == nil {
				var err error
				if body, err = json.Marshal(Notification{ObjectType: objectType, Operation: op, Object: obj, Targets: targets}); err != nil {
					v.log.Error("openadr: notification", "err", err)
					return
				}
			}
			tok := ""
			if oo.BearerToken != nil {
				tok = *oo.BearerToken
			}
			v.notify.enqueue(delivery{url: oo.CallbackURL, token: tok, body: body})
		}
	}
}

// subscriberReads applies the read rules of GET to notifications: BL
// reads everything, a VEN programs and events targeted at it and the
// other objects of its own client. Caller holds v.mu.
func (v *VTN) subscriberReads(clientID string, obj any) bool {
	cl, ok := v.clients[clientID]
	if !ok {
		return false
	}
	if cl.role == RoleBL {
		return true
	}
	c := claims{Client: clientID, Role: cl.role, Scopes: roleScopes[cl.role]}
	switch o := obj.(type) {
	case Program:
		return v.seesTargeted(c, o.Targets)
	case Event:
		return v.seesEvent(c, o)
	}
	var owner string
	switch o := obj.(type) {
	case Report:
		owner = o.ClientID
	case Subscription:
		owner = o.ClientID
	case Ven:
		owner = o.ClientID
	case Resource:
		owner = o.ClientID
	}
	return owner == clientID
}
