package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// The web app: GET / renders web/index.html (the node overview, readable
// without JavaScript) and the role views of web/app.js, which read and
// write the JSON API like any client. Its assets are embedded, so the
// app works offline (no CDN) and matches the binary that serves it.

// pageCSP keeps the page to its own assets: scripts and styles only from
// /web/, fetches only to this node, nothing framed. A token kept in
// sessionStorage is then out of reach of injected inline script.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// setPageHeaders sets the headers of the app's HTML page.
func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", pageCSP)
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-cache")
}

// webAsset is one embedded asset with its ETag.
type webAsset struct {
	body  []byte
	ctype string
	etag  string
}

// webAssets are the embedded files served under /web/ (index.html is
// the page's template and is not among them).
var webAssets = loadWebAssets()

func loadWebAssets() map[string]webAsset {
	out := map[string]webAsset{}
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	err := fs.WalkDir(webFS, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Base(p) == "index.html" {
			return err
		}
		body, err := webFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		out[strings.TrimPrefix(p, "web/")] = webAsset{body: body, ctype: types[path.Ext(p)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web assets: " + err.Error()) // embedded at build time: cannot fail at run time
	}
	return out
}

func (s *Server) routeWeb() {
	s.mux.HandleFunc("GET /web/{file}", s.webFile)
	if s.cfg.Policy != nil {
		s.mux.HandleFunc("GET /api/v1/market/policy", s.offerPolicy)
	}
	s.routePolicy()
	s.routeAudit()
}

// webFile serves an embedded asset. Browsers revalidate it (no-cache)
// and get 304 while the binary is the same.
func (s *Server) webFile(w http.ResponseWriter, r *http.Request) {
	a, ok := webAssets[r.PathValue("file")]
	if !ok {
		s.writeError(w, http.StatusNotFound, "no such web asset")
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// OfferPolicy is GET /api/v1/market/policy: the homeowner's market
// consent and each flexible device's policy as the market applies it.
// The configuration (market.defaults, market.devices) sets it at start;
// PUT /api/v1/market/policy/{device|defaults} edits it (policy.go),
// kept in the node's store and winning over the configuration field by
// field; Sources names each value's origin (config.defaults,
// config.device, api.defaults, api.device or unset). A device's opt-out
// is also PATCH /api/v1/devices/<id> {"opt_out": true}.
type OfferPolicy struct {
	// Offer is the homeowner's consent (market.offer): without it the
	// home offers nothing.
	Offer           bool              `json:"offer"`
	Defaults        PolicyView        `json:"defaults"`
	DefaultsSources map[string]string `json:"defaults_sources,omitempty"`
	Devices         []PolicyItem      `json:"devices"`
}

// PolicyView is one device's market policy.
type PolicyView struct {
	// MinPrice is the least µFLEX per kWh the device's offers ask.
	MinPrice gridmint.MicroFLEX `json:"min_price"`
	// ReserveSoCPct is the battery charge, %, the market never takes;
	// MaxSoCPct the highest it may charge to (0: 100).
	ReserveSoCPct float64 `json:"reserve_soc_pct"`
	MaxSoCPct     float64 `json:"max_soc_pct"`
	// Departure is when the car leaves each day, "HH:MM" UTC ("" none);
	// EnergyNeededWh what it must still get by then, Wh.
	Departure      string      `json:"departure"`
	EnergyNeededWh gridmint.Wh `json:"energy_needed_wh"`
	// OptOut is the configuration's opt-out.
	OptOut bool `json:"opt_out"`
}

// PolicyItem is a flexible device's effective policy (its entry in
// market.devices over market.defaults).
type PolicyItem struct {
	Device gridmint.DeviceID   `json:"device"`
	Kind   gridmint.DeviceKind `json:"kind"`
	Policy PolicyView          `json:"policy"`
	// OptOut is the device's opt-out as the market applies it: the
	// policy's or the registry's (PATCH opt_out).
	OptOut bool `json:"opt_out"`
	// Sources names where each of Policy's values comes from, by its
	// JSON name.
	Sources map[string]string `json:"sources,omitempty"`
}

func (s *Server) offerPolicy(w http.ResponseWriter, _ *http.Request) {
	p := s.cfg.Policy()
	if p.Devices == nil {
		p.Devices = []PolicyItem{}
	}
	s.writeJSON(w, http.StatusOK, p)
}
