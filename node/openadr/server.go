package openadr

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gridmint/gridmint"
)

// Prefix is where the node serves the VTN.
const Prefix = "/openadr3/3.1.0"

// MaxLimit is the largest page the specification allows.
const MaxLimit = 50

// timeFormat is fixed-width so stored times sort as strings.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// Options configures a VTN.
type Options struct {
	Config Config
	Store  Store
	// Clock stamps objects and token expiry; nil is the wall clock.
	Clock gridmint.Clock
	// Market receives the flexibility requests events map to; nil
	// stores events without mapping them (the VTN's report says so).
	Market Market
	// Deliveries is the market's verified delivery; ReportDeliveries
	// (RunDeliveries) turns it into delivery reports on the events. Nil
	// writes none.
	Deliveries Deliveries
	// HTTPClient posts webhook notifications; nil is a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// RetryBackoff is the wall time before a failed notification's
	// next attempt, times the attempt number; default 2 s.
	RetryBackoff time.Duration
	// Registerer receives the VTN's counters; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// VTN serves OpenADR 3.1.0 under Prefix (mount it with the prefix
// stripped). It is safe for concurrent use.
type VTN struct {
	opts    Options
	clock   gridmint.Clock
	log     *slog.Logger
	clients map[string]client
	tokens  tokens
	mux     *http.ServeMux

	mu            sync.Mutex // guards the collections
	programs      *collection[Program, *Program]
	events        *collection[Event, *Event]
	reports       *collection[Report, *Report]
	subscriptions *collection[Subscription, *Subscription]
	vens          *collection[Ven, *Ven]
	resources     *collection[Resource, *Resource]

	seq    uint64 // the last id sequence number used; guarded by mu
	notify *notifier
	m      metrics
}

// New loads the VTN's objects from opts.Store and starts its notifier;
// Close stops it.
func New(opts Options) (*VTN, error) {
	if opts.Store == nil {
		return nil, errors.New("openadr: no store")
	}
	if opts.Clock == nil {
		opts.Clock = gridmint.SystemClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Config.TokenTTL == 0 {
		opts.Config.TokenTTL = time.Hour
	}
	if _, err := Spec(); err != nil {
		return nil, err
	}
	clients, err := opts.Config.clients()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if f := opts.Config.TokenKeyFile; f != "" {
		if key, err = os.ReadFile(f); err != nil {
			return nil, fmt.Errorf("openadr token_key_file: %w", err)
		}
		if len(key) < 32 {
			return nil, fmt.Errorf("openadr token_key_file %s: %d bytes, want at least 32", f, len(key))
		}
	} else {
		_, _ = rand.Read(key) // never fails (crypto/rand)
	}
	v := &VTN{opts: opts, clock: opts.Clock, log: opts.Logger, clients: clients,
		tokens: tokens{key: key, ttl: opts.Config.TokenTTL}, m: newMetrics(opts.Registerer)}
	if v.programs, err = newCollection[Program]("program", TypeProgram, opts.Store); err != nil {
		return nil, err
	}
	if v.events, err = newCollection[Event]("event", TypeEvent, opts.Store); err != nil {
		return nil, err
	}
	if v.reports, err = newCollection[Report]("report", TypeReport, opts.Store); err != nil {
		return nil, err
	}
	if v.subscriptions, err = newCollection[Subscription]("subscription", TypeSubscription, opts.Store); err != nil {
		return nil, err
	}
	if v.vens, err = newCollection[Ven]("ven", TypeVen, opts.Store); err != nil {
		return nil, err
	}
	if v.resources, err = newCollection[Resource]("resource", TypeResource, opts.Store); err != nil {
		return nil, err
	}
	for _, ids := range [][]string{keys(v.programs.items), keys(v.events.items), keys(v.reports.items),
		keys(v.subscriptions.items), keys(v.vens.items), keys(v.resources.items)} {
		for _, id := range ids {
			v.seq = max(v.seq, seqOf(id))
		}
	}
	v.notify = newNotifier(opts.HTTPClient, opts.RetryBackoff, v.log, v.m)
	v.routes()
	return v, nil
}

// Close stops the notifier; notifications still queued are dropped.
func (v *VTN) Close() { v.notify.close() }

// ServeHTTP implements http.Handler for paths with Prefix stripped.
func (v *VTN) ServeHTTP(w http.ResponseWriter, r *http.Request) { v.mux.ServeHTTP(w, r) }

func (v *VTN) routes() {
	m := http.NewServeMux()
	v.mux = m
	m.HandleFunc("GET /auth/server", v.authServer)
	m.HandleFunc("POST /auth/token", v.token)
	// The specification asks read_all for /notifiers but declares no
	// 403 for it, and VENs are the clients that need to know the
	// bindings: any valid token reads it.
	m.HandleFunc("GET /notifiers", v.op("", v.notifiers))

	m.HandleFunc("GET /programs", v.op(ScopeReadTargets, v.listPrograms))
	m.HandleFunc("POST /programs", v.op(ScopeWritePrograms, v.createProgram))
	m.HandleFunc("GET /programs/{id}", v.op(ScopeReadTargets, v.getProgram))
	m.HandleFunc("PUT /programs/{id}", v.op(ScopeWritePrograms, v.updateProgram))
	m.HandleFunc("DELETE /programs/{id}", v.op(ScopeWritePrograms, v.deleteProgram))

	m.HandleFunc("GET /events", v.op(ScopeReadTargets, v.listEvents))
	m.HandleFunc("POST /events", v.op(ScopeWriteEvents, v.createEvent))
	m.HandleFunc("GET /events/{id}", v.op(ScopeReadTargets, v.getEvent))
	m.HandleFunc("PUT /events/{id}", v.op(ScopeWriteEvents, v.updateEvent))
	m.HandleFunc("DELETE /events/{id}", v.op(ScopeWriteEvents, v.deleteEvent))

	m.HandleFunc("GET /reports", v.op(ScopeReadVenObjects, v.listReports))
	m.HandleFunc("POST /reports", v.op(ScopeWriteReports, v.createReport))
	m.HandleFunc("GET /reports/{id}", v.op(ScopeReadVenObjects, v.getReport))
	m.HandleFunc("PUT /reports/{id}", v.op(ScopeWriteReports, v.updateReport))
	m.HandleFunc("DELETE /reports/{id}", v.op(ScopeWriteReports, v.deleteReport))

	m.HandleFunc("GET /subscriptions", v.op(ScopeReadVenObjects, v.listSubscriptions))
	m.HandleFunc("POST /subscriptions", v.op(ScopeWriteSubscriptions, v.createSubscription))
	m.HandleFunc("GET /subscriptions/{id}", v.op(ScopeReadVenObjects, v.getSubscription))
	m.HandleFunc("PUT /subscriptions/{id}", v.op(ScopeWriteSubscriptions, v.updateSubscription))
	m.HandleFunc("DELETE /subscriptions/{id}", v.op(ScopeWriteSubscriptions, v.deleteSubscription))

	m.HandleFunc("GET /vens", v.op(ScopeReadVenObjects, v.listVens))
	m.HandleFunc("POST /vens", v.op(ScopeWriteVens, v.createVen))
	m.HandleFunc("GET /vens/{id}", v.op(ScopeReadVenObjects, v.getVen))
	m.HandleFunc("PUT /vens/{id}", v.op(ScopeWriteVens, v.updateVen))
	m.HandleFunc("DELETE /vens/{id}", v.op(ScopeWriteVens, v.deleteVen))

	m.HandleFunc("GET /resources", v.op(ScopeReadVenObjects, v.listResources))
	m.HandleFunc("POST /resources", v.op(ScopeWriteVens, v.createResource))
	m.HandleFunc("GET /resources/{id}", v.op(ScopeReadVenObjects, v.getResource))
	m.HandleFunc("PUT /resources/{id}", v.op(ScopeWriteVens, v.updateResource))
	m.HandleFunc("DELETE /resources/{id}", v.op(ScopeWriteVens, v.deleteResource))

	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		v.fail(w, r, http.StatusNotFound, "not_found", "no OpenADR 3.1.0 operation at "+r.Method+" "+r.URL.Path)
	})
}

// httpError is a refusal: status, reason code (the metrics label) and
// detail.
type httpError struct {
	status int
	reason string
	detail string
}

func (e *httpError) Error() string { return e.detail }

func refuse(status int, reason, format string, args ...any) *httpError {
	return &httpError{status: status, reason: reason, detail: fmt.Sprintf(format, args...)}
}

// fail writes a problem. Its media type is application/problem+json when
// the client accepts it, else application/json, which is what the
// specification declares for every error response.
func (v *VTN) fail(w http.ResponseWriter, r *http.Request, status int, reason, detail string) {
	v.m.refused.WithLabelValues(reason).Inc()
	ct := "application/json"
	if accepts(r, "application/problem+json") {
		ct = "application/problem+json"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openadr3"`)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

func accepts(r *http.Request, mt string) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		t, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && t == mt {
			return true
		}
	}
	return false
}

func (v *VTN) failErr(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if errors.As(err, &he) {
		v.fail(w, r, he.status, he.reason, he.detail)
		return
	}
	v.log.Error("openadr", "method", r.Method, "path", r.URL.Path, "err", err)
	v.fail(w, r, http.StatusInternalServerError, "internal", "internal error; the VTN logged it")
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// op checks the bearer token (401 when missing, forged or expired) and
// that it grants scope (403), then runs h.
func (v *VTN) op(scope string, h func(http.ResponseWriter, *http.Request, claims)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// The scheme name is case-insensitive (RFC 9110 11.1).
		auth, tok := r.Header.Get("Authorization"), ""
		if len(auth) > 7 && strings.EqualFold(auth[:7], "Bearer ") {
			tok = auth[7:]
		}
		c, err := v.tokens.check(strings.TrimSpace(tok), v.clock.Now())
		if err != nil {
			reason := "token_invalid"
			switch {
			case errors.Is(err, errTokenMissing):
				reason = "token_missing"
			case errors.Is(err, errTokenExpired):
				reason = "token_expired"
			}
			v.fail(w, r, http.StatusUnauthorized, reason, err.Error())
			return
		}
		if _, known := v.clients[c.Client]; !known {
			v.fail(w, r, http.StatusUnauthorized, "client_removed", "the token's client is no longer configured")
			return
		}
		if scope != "" && !c.allows(scope) {
			v.fail(w, r, http.StatusForbidden, "scope", fmt.Sprintf("%s %s needs scope %s; the token has %s",
				r.Method, r.URL.Path, scope, strings.Join(c.Scopes, " ")))
			return
		}
		h(w, r, c)
	}
}

// readBody reads a JSON body (at most MaxBody bytes).
func readBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		t, _, err := mime.ParseMediaType(ct)
		if err != nil || t != "application/json" {
			return nil, refuse(http.StatusBadRequest, "content_type", "Content-Type %q: want application/json", ct)
		}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "body", "reading the body: %v", err)
	}
	if len(b) > MaxBody {
		return nil, refuse(http.StatusBadRequest, "body_too_large", "body over %d bytes", MaxBody)
	}
	return b, nil
}

func badBody(err error) error {
	return refuse(http.StatusBadRequest, "invalid_body", "%v", err)
}

// page reads skip and limit.
func page(r *http.Request) (skip, limit int, err error) {
	q := r.URL.Query()
	limit = MaxLimit
	if s := q.Get("skip"); s != "" {
		if skip, err = strconv.Atoi(s); err != nil || skip < 0 {
			return 0, 0, refuse(http.StatusBadRequest, "invalid_query", "skip %q: want an integer ≥ 0", s)
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 || limit > MaxLimit {
			return 0, 0, refuse(http.StatusBadRequest, "invalid_query", "limit %q: want an integer from 0 to %d", s, MaxLimit)
		}
	}
	return skip, limit, nil
}

func paginate[T any](all []T, skip, limit int) []T {
	if skip >= len(all) {
		return []T{}
	}
	all = all[skip:]
	return all[:min(limit, len(all))]
}

// newMeta stamps a new object. Its id is "<type>-<seq>-<random>": seq
// orders objects created at the same clock instant (lists are oldest
// first), the random part keeps ids unguessable across VTNs. Caller
// holds v.mu.
func (v *VTN) newMeta(objectType string) Meta {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	v.seq++
	now := v.clock.Now().UTC().Format(timeFormat)
	id := fmt.Sprintf("%s-%010d-%s", strings.ToLower(objectType), v.seq, hex.EncodeToString(b))
	return Meta{ID: id, CreatedDateTime: now, ModificationDateTime: now, ObjectType: objectType}
}

// seqOf reads the sequence number of an id newMeta made (0 otherwise).
func seqOf(id string) uint64 {
	parts := strings.Split(id, "-")
	if len(parts) != 3 {
		return 0
	}
	n, _ := strconv.ParseUint(parts[1], 10, 64)
	return n
}

func (v *VTN) touch(m Meta) Meta {
	m.ModificationDateTime = v.clock.Now().UTC().Format(timeFormat)
	return m
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// venTargets are the targets BL granted a VEN client: those of its ven
// objects and their resources. Caller holds v.mu.
func (v *VTN) venTargets(clientID string) []string {
	var out []string
	for _, ven := range v.vens.list(func(x Ven, _ string) bool { return x.ClientID == clientID }) {
		out = append(out, ven.Targets...)
		out = append(out, ven.VenName)
	}
	for _, res := range v.resources.list(func(x Resource, _ string) bool { return x.ClientID == clientID }) {
		out = append(out, res.Targets...)
	}
	return out
}

// seesTargeted is read_targets: BL (read_all) sees every program and
// event; a VEN those without targets and those whose targets meet the
// targets granted to it. Caller holds v.mu.
func (v *VTN) seesTargeted(c claims, targets []string) bool {
	if slices.Contains(c.Scopes, ScopeReadAll) {
		return true
	}
	return len(targets) == 0 || intersects(targets, v.venTargets(c.Client))
}

// seesEvent: a VEN sees an event when it sees both the event's targets
// and its program's (an untargeted event is for the program's VENs).
// Caller holds v.mu.
func (v *VTN) seesEvent(c claims, e Event) bool {
	if !v.seesTargeted(c, e.Targets) {
		return false
	}
	p, ok := v.programs.get(e.ProgramID)
	return !ok || v.seesTargeted(c, p.Targets)
}

// ownsOrReadsAll is read_ven_objects: BL reads all, a VEN only objects
// whose clientID is its own.
func ownsOrReadsAll(c claims, clientID string) bool {
	return slices.Contains(c.Scopes, ScopeReadAll) || c.Client == clientID
}

// queryTargets filters by ?targets= (any of them).
func queryTargets(r *http.Request) []string { return r.URL.Query()["targets"] }

func matchTargets(want, have []string) bool { return len(want) == 0 || intersects(want, have) }

func (v *VTN) authServer(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	writeJSON(w, http.StatusOK, map[string]string{"tokenURL": scheme + "://" + r.Host + Prefix + "/auth/token"})
}

func (v *VTN) notifiers(w http.ResponseWriter, _ *http.Request, _ claims) {
	writeJSON(w, http.StatusOK, map[string]bool{"WEBHOOK": true})
}

// token is POST /auth/token: the client-credentials grant.
func (v *VTN) token(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if t, _, err := mime.ParseMediaType(ct); err != nil || t != "application/x-www-form-urlencoded" {
			v.fail(w, r, http.StatusBadRequest, "content_type", fmt.Sprintf("Content-Type %q: want application/x-www-form-urlencoded", ct))
			return
		}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		v.fail(w, r, http.StatusBadRequest, "body", err.Error())
		return
	}
	req, err := DecodeTokenRequest(b)
	if err != nil {
		v.fail(w, r, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	cl, scopes, err := grant(v.clients, req)
	var se *scopeError
	switch {
	case errors.As(err, &se):
		v.fail(w, r, http.StatusBadRequest, "invalid_scope", err.Error())
		return
	case err != nil:
		v.fail(w, r, http.StatusUnauthorized, "invalid_client", err.Error())
		return
	}
	exp := v.clock.Now().Add(v.tokens.ttl)
	tok := v.tokens.sign(claims{Client: cl.id, Role: cl.role, Scopes: scopes, Expires: exp.Unix()})
	v.m.tokens.Inc()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer",
		"expires_in": int64(v.tokens.ttl / time.Second), "scope": strings.Join(scopes, " "),
	})
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
