// Package api is the node's HTTP interface: the JSON API under /api/v1,
// the health check, Prometheus metrics and the web app (web.go, web/).
//
// Only package node imports it. The server reads the node through the
// small interfaces below, so tests pass hand-written fakes.
package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
	"github.com/prometheus/client_golang/prometheus"
)

// DeviceLister lists devices with their live state. Implementations must
// be safe for concurrent use.
type DeviceLister interface {
	Devices() []devices.DeviceState
}

// Quarantine reads the rejected inputs. Implementations must be safe for
// concurrent use.
type Quarantine interface {
	// Rejections returns up to limit rejections newest first, starting
	// after cursor ("" is the newest), and the next page's cursor ("" at
	// the end). A bad cursor is a gridmint EInvalid error.
	Rejections(cursor string, limit int) ([]gridmint.Rejection, string, error)
	// RejectionCounts returns lifetime totals per reason.
	RejectionCounts() (map[gridmint.Reason]uint64, error)
}

// QuarantineSizer is a Quarantine that also accounts for its size and
// for what it did not keep (the node's store is one); the quarantine
// page then reports them under "size".
type QuarantineSizer interface {
	QuarantineStats() store.QuarantineStats
}

// QuarantineSize is the JSON form of the quarantine's size and of what
// it did not keep since the node started.
type QuarantineSize struct {
	Bytes    int64 `json:"bytes"`     // keys and encoded values kept, bytes
	Entries  int64 `json:"entries"`   // rejections kept
	MaxBytes int64 `json:"max_bytes"` // the budget, quarantine.max_size_mb
	// Dropped counts rejections not kept, by cause ("rate_limit": over
	// their source's allowance, never written; "size_cap": deleted oldest
	// first to stay within max_bytes), then by reason. counts includes
	// them.
	Dropped map[string]map[gridmint.Reason]uint64 `json:"dropped"`
}

// HealthFunc reports the node's health: each check's name and whether it
// passes, with a short detail. It must be safe for concurrent use.
type HealthFunc func() []Check

// Check is one health check's result.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// NodeInfo is static information about the node shown on the page.
type NodeInfo struct {
	Address     string   `json:"address"`
	PeerID      string   `json:"peer_id"`
	ListenAddrs []string `json:"listen_addrs"`
	// Broker is the MQTT broker; "" for a node without devices (a
	// utility).
	Broker  string `json:"broker"`
	Version string `json:"version"`
	// Role is "home" or "utility".
	Role string `json:"role"`
	// Clock is the node's clock; its Now is filled in per request.
	Clock ClockInfo `json:"clock"`
}

// ClockInfo is the node's clock: demo time under `gridmint demo --speed`,
// real time otherwise.
type ClockInfo struct {
	// Now is the clock's time when the response was made, UTC.
	Now time.Time `json:"now"`
	// Speed is clock seconds per wall-clock second: 1 in real
	// deployments.
	Speed float64 `json:"speed"`
	// Epoch and WallStart define a demo clock (gridmint.ScaledClock):
	// it read Epoch at the wall-clock instant WallStart. Both null for
	// the system clock.
	Epoch     *time.Time `json:"epoch"`
	WallStart *time.Time `json:"wall_start"`
}

// Config configures the server.
type Config struct {
	Devices    DeviceLister
	Quarantine Quarantine
	// Control serves device details, readings, edits, setpoints and
	// commands; nil leaves those routes out.
	Control Control
	// Sites serves /api/v1/sites and the page's site totals; nil leaves
	// them out.
	Sites Sites
	// Token is the bearer token calls that change anything must send.
	Token string
	// Clock gives "now" for default time windows; nil is the wall clock.
	Clock  gridmint.Clock
	Health HealthFunc
	Info   NodeInfo
	// Network serves peers, gossip messages, offers and requests; nil
	// leaves those routes out.
	Network Network
	// Chain serves the chain connection, balances, history and
	// retirements under /api/v1/chain; nil leaves those routes out.
	Chain Chain
	// Settlement serves the attested batches at GET /api/v1/batches;
	// nil leaves the route out.
	Settlement Settlement
	// Certificates serves the REC holders' routes under
	// /api/v1/certificates; nil leaves them out.
	Certificates Certificates
	// Claims serves the certificate claims at GET /api/v1/claims; nil
	// leaves the route out.
	Claims Claims
	// Market serves the flexibility market under /api/v1/market
	// (market.go); nil leaves those routes out.
	Market Market
	// Deliveries serves GET /api/v1/market/deliveries[/{request}]; nil
	// leaves the routes out.
	Deliveries Deliveries
	// Tests serves GET /api/v1/market/tests (tests.go); nil leaves the
	// route out.
	Tests Tests
	// ChainRPC serves the embedded chain's JSON-RPC, read-only, at
	// POST /api/v1/chain/rpc (chain.ReadOnlyRPC); nil leaves it out.
	ChainRPC http.Handler
	// AllowedHosts are the names, besides loopback names and IP
	// addresses, that requests may carry as Host (see hostGuard): "name",
	// "*.domain", or "*" for any. Others are answered 421.
	AllowedHosts []string
	// OpenADR serves the OpenADR 3.1.0 VTN (package node/openadr) under
	// /openadr3/3.1.0/, with that prefix stripped; nil leaves it out.
	OpenADR http.Handler
	// Policy reads the homeowner's offer policy for
	// GET /api/v1/market/policy (web.go); nil leaves the route out.
	Policy func() OfferPolicy
	// PolicyEdit serves PUT /api/v1/market/policy/{device} (policy.go);
	// nil leaves the route out.
	PolicyEdit PolicyEditor
	// Audit serves GET /api/v1/audit (audit.go); nil leaves it out.
	Audit *AuditCache
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// Registerer takes the server's own metrics (refusals by route and
	// code); nil keeps them unregistered.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Server serves the API. It is safe for concurrent use.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	page  *template.Template
	hosts *hostGuard
	// refusals counts answers of 400 and above (gridmint_api_refusals_total).
	refusals *refusals
}

// webFS is the web app (web.go): index.html is the page's template,
// the rest static assets under /web/.
//
//go:embed web
var webFS embed.FS

// New builds the server's routes.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = gridmint.SystemClock{}
	}
	s := &Server{
		cfg:      cfg,
		mux:      http.NewServeMux(),
		hosts:    newHostGuard(cfg.AllowedHosts),
		refusals: newRefusals(),
		page: template.Must(template.New("index.html").Funcs(template.FuncMap{
			"kwh":   func(wh float64) float64 { return wh / 1000 },
			"deref": func(v *float64) float64 { return *v },
			// wallOfHour is how long a demo hour takes on the wall clock.
			"wallOfHour": func(speed float64) string {
				return (time.Duration(float64(time.Hour) / speed)).Round(time.Second).String()
			},
			"statusText": func(s devices.Status) string {
				if s == devices.StatusNeverSeen {
					return "never seen"
				}
				return string(s)
			},
		}).ParseFS(webFS, "web/index.html")),
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /api/v1/devices", s.listDevices)
	s.mux.HandleFunc("GET /api/v1/node", s.nodeInfo)
	s.mux.HandleFunc("GET /api/v1/quarantine", s.quarantine)
	if cfg.Control != nil {
		s.mux.HandleFunc("GET /api/v1/devices/{rest...}", s.deviceGet)
		s.mux.HandleFunc("PATCH /api/v1/devices/{rest...}", s.devicePatch)
		s.mux.HandleFunc("POST /api/v1/devices/{rest...}", s.devicePost)
		s.mux.HandleFunc("GET /api/v1/commands/{id}", s.commandGet)
	}
	if cfg.Sites != nil {
		s.mux.HandleFunc("GET /api/v1/sites", s.listSites)
		s.mux.HandleFunc("GET /api/v1/sites/{id}", s.siteGet)
	}
	if cfg.Network != nil {
		s.mux.HandleFunc("GET /api/v1/peers", s.peers)
		s.mux.HandleFunc("GET /api/v1/p2p/messages", s.messages)
		s.mux.HandleFunc("GET /api/v1/p2p/stats", s.networkStats)
		s.mux.HandleFunc("POST /api/v1/offers", s.postOffer)
		s.mux.HandleFunc("POST /api/v1/requests", s.postRequest)
	}
	if cfg.Chain != nil {
		s.mux.HandleFunc("GET /api/v1/chain", s.chainInfo)
		s.mux.HandleFunc("GET /api/v1/chain/balances/{account}", s.chainBalances)
		s.mux.HandleFunc("GET /api/v1/chain/history/{account}", s.chainHistory)
		s.mux.HandleFunc("GET /api/v1/chain/retirements", s.chainRetirements)
	}
	if cfg.Settlement != nil {
		s.mux.HandleFunc("GET /api/v1/batches", s.batches)
	}
	if cfg.Certificates != nil {
		s.mux.HandleFunc("GET /api/v1/certificates", s.certificates)
		s.mux.HandleFunc("POST /api/v1/certificates/transfer", s.transfer)
		s.mux.HandleFunc("POST /api/v1/certificates/retire", s.retire)
		s.mux.HandleFunc("GET /api/v1/certificates/retirements/{id}", s.statement)
		s.mux.HandleFunc("POST /api/v1/certificates/matching", s.matching)
		s.mux.HandleFunc("GET /api/v1/certificates/energytag.csv", s.energyTag)
		s.mux.HandleFunc("GET "+MetadataPath+"{id}", s.recMetadata)
	}
	if cfg.Claims != nil {
		s.mux.HandleFunc("GET /api/v1/claims", s.claims)
	}
	s.routeMarket()
	s.routeOptOut()
	if cfg.Deliveries != nil {
		s.mux.HandleFunc("GET /api/v1/market/deliveries", s.deliveries)
		s.mux.HandleFunc("GET /api/v1/market/deliveries/{request}", s.deliveriesOf)
	}
	if cfg.Tests != nil {
		s.mux.HandleFunc("GET /api/v1/market/tests", s.tests)
	}
	if cfg.ChainRPC != nil {
		s.mux.Handle("POST /api/v1/chain/rpc", cfg.ChainRPC)
	}
	s.mux.HandleFunc("GET /{$}", s.index)
	s.routeWeb()
	if cfg.Metrics != nil {
		s.mux.Handle("GET /metrics", cfg.Metrics)
	}
	if cfg.OpenADR != nil {
		s.mux.Handle("/openadr3/3.1.0/", http.StripPrefix("/openadr3/3.1.0", cfg.OpenADR))
	}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.refusals.total)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	rec := &statusRecorder{ResponseWriter: w}
	defer s.refusals.observe(r, rec)
	if !s.hosts.allows(r.Host) {
		s.refuseHost(rec, r)
		return
	}
	s.mux.ServeHTTP(rec, r)
}

// Device is the JSON form of a device and its live state.
type Device struct {
	ID      gridmint.DeviceID   `json:"id"`
	Kind    gridmint.DeviceKind `json:"kind"`
	Dialect string              `json:"dialect"`
	Serial  string              `json:"serial"`
	// Name is the configured name, else the one the device reports.
	Name         string                `json:"name,omitempty"`
	Capabilities []gridmint.Capability `json:"capabilities"`
	NameplateW   float64               `json:"nameplate_w,omitempty"`
	// Site is the site the device is behind, if any.
	Site gridmint.SiteID `json:"site,omitempty"`
	// Online: the device's own signal did not say offline and it was
	// heard from recently.
	Online bool `json:"online"`
	// Status is online, offline (the device said so), stale (silent for
	// longer than stale_after) or never_seen.
	Status devices.Status `json:"status"`
	// Availability is the device's own last signal: online, offline or
	// unknown (it sent none).
	Availability string `json:"availability"`
	// PowerW is the power now, W, positive in the kind's natural
	// direction (production for PV, consumption for plugs); null when
	// unknown, with the reason in PowerUnknown: offline, stale,
	// never_seen, or not_reported (the device reports no power). The last
	// power of a device that went offline is not its power now; its
	// energy counters stay valid.
	PowerW       *float64 `json:"power_w"`
	PowerUnknown string   `json:"power_unknown,omitempty"`
	// EnergyWh is the normalised lifetime energy in Wh (three decimals);
	// EnergyMWh the same, exact, in mWh.
	EnergyWh  float64      `json:"energy_wh"`
	EnergyMWh gridmint.MWh `json:"energy_mwh"`
	// EnergyReverseWh is the opposite direction's lifetime energy (grid
	// export, battery charge), Wh; null when the device has no such counter.
	EnergyReverseWh *float64 `json:"energy_reverse_wh"`
	// SoCPct is the state of charge, %; null when not reported.
	SoCPct *float64 `json:"soc_pct"`
	// LastSeen is when the node last heard from the device (UTC); null if
	// never.
	LastSeen  *time.Time `json:"last_seen"`
	FirstSeen time.Time  `json:"first_seen"`
}

func availabilityName(a devices.Availability) string {
	switch a {
	case devices.AvailabilityOnline:
		return "online"
	case devices.AvailabilityOffline:
		return "offline"
	}
	return "unknown"
}

func toDevice(d devices.DeviceState) Device {
	out := Device{
		ID: d.ID, Kind: d.Kind, Dialect: d.Dialect, Serial: d.Serial, Name: d.Name,
		Capabilities: d.Capabilities, NameplateW: float64(d.Nameplate), Site: d.Site,
		Online: d.Online, Status: d.Status(), Availability: availabilityName(d.Availability),
		EnergyWh: float64(d.Energy) / 1000, EnergyMWh: d.Energy,
		FirstSeen: d.FirstSeen,
	}
	out.PowerW, out.PowerUnknown = powerJSON(d)
	if out.Name == "" {
		out.Name = d.ReportedName
	}
	if d.Fields.Has(gridmint.FieldEnergyReverse) {
		v := float64(d.EnergyReverse) / 1000
		out.EnergyReverseWh = &v
	}
	if d.Fields.Has(gridmint.FieldSoC) {
		v := d.SoC
		out.SoCPct = &v
	}
	if out.Capabilities == nil {
		out.Capabilities = []gridmint.Capability{}
	}
	if !d.LastSeen.IsZero() {
		t := d.LastSeen
		out.LastSeen = &t
	}
	return out
}

func (s *Server) devices() []Device {
	states := s.cfg.Devices.Devices()
	out := make([]Device, len(states))
	for i, d := range states {
		out[i] = toDevice(d)
	}
	return out
}

func (s *Server) listDevices(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, http.StatusOK, s.devices())
}

func (s *Server) nodeInfo(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, http.StatusOK, s.info())
}

// info is the node's information with its clock read now.
func (s *Server) info() NodeInfo {
	info := s.cfg.Info
	info.Clock.Now = s.cfg.Clock.Now().UTC()
	if info.Clock.Speed == 0 {
		info.Clock.Speed = 1
	}
	return info
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	checks := s.cfg.Health()
	status, code := "ok", http.StatusOK
	for _, c := range checks {
		if !c.OK {
			status, code = "unhealthy", http.StatusServiceUnavailable
		}
	}
	s.writeJSON(w, code, struct {
		Status string  `json:"status"`
		Checks []Check `json:"checks"`
	}{status, checks})
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Info    NodeInfo
		Chain   *ChainInfo // nil without a chain, or when it cannot be read
		Sites   []Site
		Devices []Device
	}{Info: s.info(), Devices: s.devices()}
	if s.cfg.Chain != nil {
		// The page shows the network's chain and attestor set; a chain
		// that cannot be read now leaves that line out, not the page.
		if info, err := s.cfg.Chain.Info(r.Context()); err == nil {
			data.Chain = &info
		} else {
			s.cfg.Logger.Debug("page: chain info", "err", err)
		}
	}
	if s.cfg.Sites != nil {
		sites, err := s.sites()
		if err != nil {
			s.writeErr(w, err)
			return
		}
		data.Sites = sites
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	setPageHeaders(w)
	if err := s.page.Execute(w, data); err != nil {
		s.cfg.Logger.Warn("rendering page", "err", err)
	}
}

// Rejection is the JSON form of a quarantined input. Raw is the payload
// as text when it is valid UTF-8, else RawBase64 holds it; RawLen is the
// payload's length as received when only its first bytes were kept.
type Rejection struct {
	Time      time.Time         `json:"time"`
	Topic     string            `json:"topic"`
	Dialect   string            `json:"dialect,omitempty"`
	Device    gridmint.DeviceID `json:"device,omitempty"`
	Reason    gridmint.Reason   `json:"reason"`
	Detail    string            `json:"detail"`
	Raw       *string           `json:"raw,omitempty"`
	RawBase64 []byte            `json:"raw_base64,omitempty"`
	RawLen    int               `json:"raw_len,omitempty"`
}

// quarantineLimit bounds one page of the quarantine, and quarantineBytes
// the raw payloads on it (each may be up to 64 KiB): a page ends early
// rather than building tens of megabytes for an unauthenticated read.
const (
	quarantineLimit = 200
	quarantineBytes = 1 << 20
)

func (s *Server) quarantine(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > quarantineLimit {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to %d", v, quarantineLimit))
			return
		}
		limit = n
	}
	rejs, next, err := s.cfg.Quarantine.Rejections(q.Get("cursor"), limit)
	if gridmint.ErrorCode(err) == gridmint.EInvalid {
		s.writeError(w, http.StatusBadRequest, fmt.Sprintf("cursor %q: not one this API returned", q.Get("cursor")))
		return
	}
	if err != nil {
		s.writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	if k := fitBytes(rejs, quarantineBytes); k < len(rejs) {
		// The page ends at the k-th item: ask again for its cursor.
		if rejs, next, err = s.cfg.Quarantine.Rejections(q.Get("cursor"), k); err != nil {
			s.writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
	}
	counts, err := s.cfg.Quarantine.RejectionCounts()
	if err != nil {
		s.writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := struct {
		Counts map[gridmint.Reason]uint64 `json:"counts"`
		Items  []Rejection                `json:"items"`
		// Next is the cursor= value of the next (older) page; empty at the end.
		Next string          `json:"next,omitempty"`
		Size *QuarantineSize `json:"size,omitempty"`
	}{Counts: counts, Items: make([]Rejection, len(rejs)), Next: next}
	if qs, ok := s.cfg.Quarantine.(QuarantineSizer); ok {
		st := qs.QuarantineStats()
		out.Size = &QuarantineSize{Bytes: st.Bytes, Entries: st.Entries, MaxBytes: st.MaxBytes,
			Dropped: map[string]map[gridmint.Reason]uint64{"rate_limit": st.NotKept, "size_cap": st.Trimmed}}
	}
	for i, rj := range rejs {
		item := Rejection{Time: rj.Time, Topic: rj.Topic, Dialect: rj.Dialect, Device: rj.Device, Reason: rj.Reason, Detail: rj.Detail, RawLen: rj.RawLen}
		if utf8.Valid(rj.Raw) {
			raw := string(rj.Raw)
			item.Raw = &raw
		} else {
			item.RawBase64 = rj.Raw
		}
		out.Items[i] = item
	}
	s.writeJSON(w, http.StatusOK, out)
}

// fitBytes is how many of rejs, at least one, fit in budget bytes of raw
// payload.
func fitBytes(rejs []gridmint.Rejection, budget int) int {
	for i, rj := range rejs {
		budget -= len(rj.Raw)
		if budget < 0 {
			return max(i, 1)
		}
	}
	return len(rejs)
}

// writeError answers with status and msg, and the gridmint error code
// that status stands for (errorStatus), so every error body has one shape.
func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	code := gridmint.EInternal
	for c, st := range errorStatus {
		if st == status {
			code = c
		}
	}
	switch status {
	case http.StatusRequestEntityTooLarge:
		code = gridmint.EInvalid
	case http.StatusMisdirectedRequest:
		code = gridmint.EUnauthorized
	}
	noteCode(w, code)
	s.writeJSON(w, status, struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.cfg.Logger.Debug("writing response", "err", err)
	}
}
