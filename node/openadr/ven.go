package openadr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// VENConfig is the node's `openadr.ven:` section: follow an external
// VTN as one of its VENs. Empty VTN: off.
type VENConfig struct {
	// VTN is the VTN's base URL, e.g.
	// https://vtn.utility.example/openadr3/3.1.0 (http or https).
	VTN      string `yaml:"vtn"`
	ClientID string `yaml:"client_id"`
	// Secret, or SecretFile holding it (one of the two).
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// PollEvery is how often the VTN's events are read (wall time);
	// default 1m, at least 5s.
	PollEvery time.Duration `yaml:"poll_every"`
}

// Validate checks the section; an empty VTN turns the client off.
func (c VENConfig) Validate() error {
	if c.VTN == "" {
		return nil
	}
	if err := checkCallback(c.VTN); err != nil {
		return fmt.Errorf("openadr.ven.vtn: %v", err)
	}
	switch {
	case c.ClientID == "":
		return fmt.Errorf("openadr.ven.client_id: required with openadr.ven.vtn")
	case (c.Secret == "") == (c.SecretFile == ""):
		return fmt.Errorf("openadr.ven: give one of secret and secret_file")
	case c.PollEvery != 0 && c.PollEvery < 5*time.Second:
		return fmt.Errorf("openadr.ven.poll_every %v: at least 5s", c.PollEvery)
	}
	return nil
}

// VENOptions configures a VEN client.
type VENOptions struct {
	Config VENConfig
	// Store remembers which of the VTN's events were handled, so a
	// restart does not publish them again.
	Store Store
	// Clock is the time requests are checked against (gate closure).
	Clock  gridmint.Clock
	Market Market
	// Deliveries is the market's verified delivery, reported to the VTN
	// per event (delivery.go); nil reports none.
	Deliveries Deliveries
	// HTTPClient talks to the VTN; nil is a client with a 30 s timeout.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// VENClient follows an external VTN: it reads the events targeted at it,
// turns those with market payloads into flexibility requests (MapEvent,
// the same mapping as the node's own VTN) and reports the outcome back to
// the VTN, per event, as a report with GRIDMINT_REQUEST_ID or
// GRIDMINT_NOT_MAPPED per interval; once the market verified the
// requests' delivery, a second report with BASELINE, USAGE and
// DELTA_USAGE (delivery.go).
type VENClient struct {
	opts    VENOptions
	base    string
	secret  string
	token   string
	expires time.Time // wall time
}

// NewVENClient makes a client; Run polls. A client is used by one
// goroutine at a time (Run, or a caller of Poll).
func NewVENClient(opts VENOptions) (*VENClient, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	if opts.Config.VTN == "" || opts.Store == nil {
		return nil, fmt.Errorf("openadr ven: no VTN or no store")
	}
	if opts.Clock == nil {
		opts.Clock = gridmint.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second} // wall time: a slow VTN
	}
	if opts.Config.PollEvery == 0 {
		opts.Config.PollEvery = time.Minute
	}
	secret := opts.Config.Secret
	if f := opts.Config.SecretFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("openadr.ven.secret_file: %w", err)
		}
		secret = strings.TrimSpace(string(b))
	}
	return &VENClient{opts: opts, base: strings.TrimSuffix(opts.Config.VTN, "/"), secret: secret}, nil
}

// Run polls until ctx ends; a failed poll is logged and retried at the
// next tick.
func (c *VENClient) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.Config.PollEvery) // wall time: polling a remote server
	defer t.Stop()
	for {
		if n, err := c.Poll(ctx); err != nil {
			c.opts.Logger.Warn("openadr ven: polling the VTN", "vtn", c.base, "err", err)
		} else if n > 0 {
			c.opts.Logger.Info("openadr ven: events handled", "vtn", c.base, "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// venPrefix keys the records of one VTN: a hash of its URL, so a long
// URL still makes a short key.
func venPrefix(vtn string) string {
	h := sha256.Sum256([]byte(vtn))
	return "ven/" + hex.EncodeToString(h[:8]) + "/"
}

// venSeenKey records a handled event of the VTN.
func venSeenKey(vtn, eventID string) string { return venPrefix(vtn) + eventID }

// Poll reads the VTN's events once and handles the new ones; it returns
// how many it handled.
func (c *VENClient) Poll(ctx context.Context) (int, error) {
	var events []Event
	for skip := 0; ; skip += MaxLimit {
		var page []Event
		if err := c.call(ctx, "GET", fmt.Sprintf("/events?skip=%d&limit=%d", skip, MaxLimit), nil, &page); err != nil {
			return 0, err
		}
		events = append(events, page...)
		if len(page) < MaxLimit || skip > 100*MaxLimit {
			break
		}
	}
	// What was handled: the report to send, kept until the VTN took it,
	// so a failed report is sent again and never re-published.
	seen := map[string]*venRecord{}
	if err := c.opts.Store.Scan(venPrefix(c.base), func(k string, v []byte) error {
		var r venRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("openadr ven: stored %s: %w", k, err)
		}
		seen[k] = &r
		return nil
	}); err != nil {
		return 0, err
	}
	programs := map[string]Program{}
	handled := 0
	for _, e := range events {
		key := venSeenKey(c.base, e.ID)
		rec, ok := seen[key]
		if !ok {
			p, ok := programs[e.ProgramID]
			if !ok {
				if err := c.call(ctx, "GET", "/programs/"+url.PathEscape(e.ProgramID), nil, &p); err != nil {
					return handled, err
				}
				programs[e.ProgramID] = p
			}
			rep, refs := c.publish(ctx, p, e)
			rec = &venRecord{EventID: e.ID, Report: rep, Requests: refs}
			rec.End, _ = eventEnd(e)
			if err := c.save(key, rec); err != nil {
				return handled, err
			}
			seen[key] = rec
			handled++
		}
		if rec.Report == nil || rec.Reported {
			continue
		}
		var out Report
		if err := c.call(ctx, "POST", "/reports", rec.Report, &out); err != nil {
			return handled, err
		}
		rec.Reported = true
		if err := c.save(key, rec); err != nil {
			return handled, err
		}
	}
	return handled, c.reportDeliveries(ctx, seen)
}

// reportDeliveries posts the delivery report of each handled event
// whose requests the market has verified (or whose horizon passed), in
// key order, once.
func (c *VENClient) reportDeliveries(ctx context.Context, seen map[string]*venRecord) error {
	if c.opts.Deliveries == nil {
		return nil
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	now := c.opts.Clock.Now()
	for _, k := range keys {
		rec := seen[k]
		if !rec.Reported || rec.Delivered || len(rec.Requests) == 0 || rec.EventID == "" {
			continue
		}
		rep, ready, err := deliveryReport(ctx, c.opts.Deliveries, rec.EventID, c.opts.Config.ClientID, rec.Requests, rec.End, now)
		if err != nil {
			return err
		}
		if !ready {
			continue
		}
		var out Report
		if err := c.call(ctx, "POST", "/reports", rep, &out); err != nil {
			return err
		}
		rec.Delivered = true
		if err := c.save(k, rec); err != nil {
			return err
		}
	}
	return nil
}

// venRecord is what the client keeps per event of the VTN.
type venRecord struct {
	EventID  string  `json:"event,omitempty"`
	Report   *Report `json:"report,omitempty"` // nil: no market payloads
	Reported bool    `json:"reported"`
	// Requests are the event's intervals published as requests; End the
	// event's end (zero: unknown); Delivered: the delivery report was
	// taken by the VTN.
	Requests  []requestRef `json:"requests,omitempty"`
	End       time.Time    `json:"end,omitzero"`
	Delivered bool         `json:"delivered,omitempty"`
}

func (c *VENClient) save(key string, r *venRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return c.opts.Store.Put(key, b)
}

// publish publishes the event's requests and returns the report of what
// became of each interval (nil for an event without market payloads) and
// the requests published.
func (c *VENClient) publish(ctx context.Context, p Program, e Event) (*Report, []requestRef) {
	mapped, ok := MapEvent(p, e, c.opts.Clock.Now())
	if !ok {
		return nil, nil
	}
	var intervals []Interval
	var refs []requestRef
	for _, m := range mapped {
		id := m.IntervalID
		iv := Interval{ID: &id}
		if m.Reason == "" && c.opts.Market == nil {
			m.Reason = "this node has no market connection"
		}
		if m.Reason == "" {
			reqID, err := c.opts.Market.PublishRequest(ctx, m.Request)
			if err != nil {
				m.Reason = "publishing: " + err.Error()
			} else {
				iv.Payloads = []ValuesMap{{Type: PayloadRequestID, Values: []any{reqID}}}
				refs = append(refs, requestRef{Interval: id, Request: reqID})
			}
		}
		if m.Reason != "" {
			iv.Payloads = []ValuesMap{{Type: PayloadNotMapped, Values: []any{m.Reason}}}
		}
		intervals = append(intervals, iv)
	}
	name := "market requests of event " + e.ID
	return &Report{EventID: e.ID, ClientName: c.opts.Config.ClientID, ReportName: &name,
		Resources: []ReportResource{{ResourceName: "AGGREGATED_REPORT", Intervals: intervals}}}, refs
}

// call does one JSON request with a bearer token, fetching a new token
// when it has none or it is about to expire.
// A token the VTN refuses (401: expired by its clock, or its key
// changed) is replaced and the call tried once more.
func (c *VENClient) call(ctx context.Context, method, path string, body, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		if err := c.login(ctx); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(b))
		if err != nil {
			return err
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Authorization", "Bearer "+c.token)
		err = c.do(req, out)
		if err == nil || c.token != "" || attempt == 1 {
			return err
		}
	}
}

func (c *VENClient) do(req *http.Request, out any) error {
	res, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return err
	}
	if res.StatusCode == http.StatusUnauthorized {
		c.token = "" // fetch a new one next time
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		var p Problem
		_ = json.Unmarshal(b, &p)
		return fmt.Errorf("%s %s: %s %s", req.Method, req.URL.Path, res.Status, p.Detail)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// login fetches a token with the client credentials from the token URL
// the VTN's /auth/server names.
func (c *VENClient) login(ctx context.Context) error {
	if c.token != "" && time.Now().Before(c.expires) { // wall time: the token's lifetime as the VTN said it
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/auth/server", nil)
	if err != nil {
		return err
	}
	var info struct {
		TokenURL string `json:"tokenURL"`
	}
	if err := c.do(req, &info); err != nil {
		return err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.opts.Config.ClientID}, "client_secret": {c.secret}}
	req, err = http.NewRequestWithContext(ctx, "POST", info.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := c.do(req, &tok); err != nil {
		return err
	}
	if tok.AccessToken == "" {
		return fmt.Errorf("the VTN's token response has no access_token")
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = 5 * time.Minute
	}
	c.token, c.expires = tok.AccessToken, time.Now().Add(life*9/10) // wall time
	return nil
}
