package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
)

// Control is the node behind the device and command endpoints.
// Implementations must be safe for concurrent use.
type Control interface {
	// Device returns one device's live state.
	Device(id gridmint.DeviceID) (devices.DeviceState, bool)
	// EditDevice applies edit to a device's registry entry and stores the
	// result, one edit at a time (two concurrent edits cannot undo each
	// other), and returns the new state.
	EditDevice(ctx context.Context, id gridmint.DeviceID, edit func(gridmint.Device) (gridmint.Device, error)) (devices.DeviceState, error)
	// Readings returns a device's readings in [from, to), oldest first.
	Readings(id gridmint.DeviceID, from, to time.Time, limit int) ([]gridmint.Reading, error)
	// Send checks and sends a setpoint.
	Send(ctx context.Context, sp gridmint.Setpoint) (gridmint.CommandRecord, error)
	// Command returns one command's record (ENotFound when unknown).
	Command(id string) (gridmint.CommandRecord, error)
	// Commands pages command records, newest first.
	Commands(device gridmint.DeviceID, cursor string, limit int) ([]gridmint.CommandRecord, string, error)
}

// maxBody bounds request bodies: a setpoint or a device edit is tiny.
const maxBody = 64 << 10

// readingsLimit bounds one readings page.
const readingsLimit = 10_000

// hasToken reports whether r carries the API token.
func (s *Server) hasToken(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.cfg.Token)) == 1
}

// authorized checks the bearer token of a request that changes anything.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.hasToken(r) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="gridmint"`)
	s.writeError(w, http.StatusUnauthorized, "this call changes the node: send the API token as 'Authorization: Bearer <token>' (the token is in the node's api_token_file)")
	return false
}

// deviceRoute splits /api/v1/devices/<node>/<dialect>/<serial>[/<action>]:
// a device id has three parts, so clients need not escape its slashes.
func deviceRoute(rest string) (gridmint.DeviceID, string, bool) {
	parts := strings.Split(rest, "/")
	if len(parts) < 3 || len(parts) > 4 {
		return "", "", false
	}
	id := gridmint.DeviceID(strings.Join(parts[:3], "/"))
	if _, _, _, ok := id.Parts(); !ok {
		return "", "", false
	}
	if len(parts) == 4 {
		return id, parts[3], true
	}
	return id, "", true
}

func (s *Server) deviceGet(w http.ResponseWriter, r *http.Request) {
	id, action, ok := deviceRoute(r.PathValue("rest"))
	if !ok {
		s.writeError(w, http.StatusNotFound, "want /api/v1/devices/<node>/<dialect>/<serial>[/readings|/commands]")
		return
	}
	switch action {
	case "":
		s.deviceDetail(w, r, id)
	case "readings":
		s.deviceReadings(w, r, id)
	case "commands":
		s.deviceCommands(w, r, id)
	default:
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("no %q for devices", action))
	}
}

// DeviceDetail is GET /api/v1/devices/{id}: the device, its registry
// entry, and its latest readings and commands. Location and owner, which
// say where a home is and whose it is, are shown only to a caller with the
// API token.
type DeviceDetail struct {
	Device
	Capacity Wh                       `json:"capacity_wh,omitempty"`
	Location *gridmint.Location       `json:"location,omitempty"`
	Zone     string                   `json:"zone,omitempty"`
	Owner    string                   `json:"owner,omitempty"`
	Limits   gridmint.SafetyLimits    `json:"limits"`
	OptOut   bool                     `json:"opt_out"`
	Readings []gridmint.Reading       `json:"readings"`
	Commands []gridmint.CommandRecord `json:"commands"`
}

// Wh is whole watt-hours in JSON.
type Wh = gridmint.Wh

// detailReadings and detailCommands are how many of each the detail shows.
const (
	detailReadings = 20
	detailCommands = 10
)

func (s *Server) deviceDetail(w http.ResponseWriter, r *http.Request, id gridmint.DeviceID) {
	st, ok := s.cfg.Control.Device(id)
	if !ok {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("no device %s", id))
		return
	}
	// The latest readings: those of the last day, the newest kept.
	now := s.cfg.Clock.Now()
	rs, err := s.cfg.Control.Readings(id, now.Add(-24*time.Hour), now.Add(time.Hour), readingsLimit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if len(rs) > detailReadings {
		rs = rs[len(rs)-detailReadings:]
	}
	cmds, _, err := s.cfg.Control.Commands(id, "", detailCommands)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	d := st.Device
	detail := DeviceDetail{
		Device: toDevice(st), Capacity: d.Capacity, Zone: d.Zone,
		Limits: d.Limits, OptOut: d.OptOut, Readings: nonNil(rs), Commands: nonNil(cmds),
	}
	if s.hasToken(r) {
		detail.Location, detail.Owner = d.Location, d.Owner
	}
	s.writeJSON(w, http.StatusOK, detail)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// deviceReadings is GET .../readings?from=&to=&limit=: readings in
// [from, to) (RFC 3339; default the last 24 hours), oldest first.
func (s *Server) deviceReadings(w http.ResponseWriter, r *http.Request, id gridmint.DeviceID) {
	if _, ok := s.cfg.Control.Device(id); !ok {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("no device %s", id))
		return
	}
	q := r.URL.Query()
	to := s.cfg.Clock.Now()
	from := to.Add(-24 * time.Hour)
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				s.writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %q: want an RFC 3339 time, e.g. 2026-11-22T10:00:00Z", p.name, v))
				return
			}
			*p.dst = t
		}
	}
	if !from.Before(to) {
		s.writeError(w, http.StatusBadRequest, "from must be before to")
		return
	}
	limit, ok := s.limitParam(w, q.Get("limit"), 1000, readingsLimit)
	if !ok {
		return
	}
	rs, err := s.cfg.Control.Readings(id, from, to, limit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, struct {
		Device   gridmint.DeviceID  `json:"device"`
		From     time.Time          `json:"from"`
		To       time.Time          `json:"to"`
		Readings []gridmint.Reading `json:"readings"`
	}{id, from, to, nonNil(rs)})
}

func (s *Server) limitParam(w http.ResponseWriter, v string, def, max int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		s.writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want 1 to %d", v, max))
		return 0, false
	}
	return n, true
}

func (s *Server) deviceCommands(w http.ResponseWriter, r *http.Request, id gridmint.DeviceID) {
	limit, ok := s.limitParam(w, r.URL.Query().Get("limit"), 100, 1000)
	if !ok {
		return
	}
	cmds, next, err := s.cfg.Control.Commands(id, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, struct {
		Commands []gridmint.CommandRecord `json:"commands"`
		Next     string                   `json:"next,omitempty"`
	}{nonNil(cmds), next})
}

func (s *Server) commandGet(w http.ResponseWriter, r *http.Request) {
	c, err := s.cfg.Control.Command(r.PathValue("id"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, c)
}

// SetpointRequest is the body of POST .../setpoint.
type SetpointRequest struct {
	Kind  gridmint.SetpointKind `json:"kind"`
	Value *float64              `json:"value"`
	// Origin defaults to homeowner: the API token is the homeowner's.
	Origin gridmint.Origin `json:"origin"`
}

// DecodeSetpoint reads a setpoint request body for device id.
func DecodeSetpoint(id gridmint.DeviceID, body []byte) (gridmint.Setpoint, error) {
	var req SetpointRequest
	if err := decodeStrict(body, &req); err != nil {
		return gridmint.Setpoint{}, err
	}
	if req.Value == nil {
		return gridmint.Setpoint{}, gridmint.Errorf(gridmint.EInvalid, "value: missing")
	}
	if req.Origin == "" {
		req.Origin = gridmint.OriginHomeowner
	}
	sp := gridmint.Setpoint{Device: id, Kind: req.Kind, Value: *req.Value, Origin: req.Origin}
	return sp, sp.Validate()
}

// maxWait bounds ?wait= on a setpoint.
const maxWait = 60 * time.Second

// devicePost is POST .../setpoint: send a setpoint. 202 with the command
// record; with ?wait=10s it waits that long for the device's confirmation
// and answers 200 with the settled record (or 202 if still pending).
func (s *Server) devicePost(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	id, action, ok := deviceRoute(r.PathValue("rest"))
	if !ok || action != "setpoint" {
		s.writeError(w, http.StatusNotFound, "want POST /api/v1/devices/<node>/<dialect>/<serial>/setpoint")
		return
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxWait {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("wait %q: want a duration up to %v, e.g. 10s", v, maxWait))
			return
		}
		wait = d
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	sp, err := DecodeSetpoint(id, body)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	rec, err := s.cfg.Control.Send(r.Context(), sp)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	deadline := time.Now().Add(wait) // ?wait= is how long the HTTP client waits: wall clock
	for rec.Status == gridmint.CommandPending && time.Now().Before(deadline) {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		if c, err := s.cfg.Control.Command(rec.ID); err == nil {
			rec = c
		}
	}
	w.Header().Set("Location", "/api/v1/commands/"+rec.ID)
	code := http.StatusOK
	if rec.Status == gridmint.CommandPending {
		code = http.StatusAccepted
	}
	s.writeJSON(w, code, rec)
}

// DevicePatch is the body of PATCH /api/v1/devices/{id}: registry fields
// to change; absent fields stay, also within limits.
type DevicePatch struct {
	Name       *string              `json:"name"`
	Kind       *gridmint.DeviceKind `json:"kind"`
	NameplateW *float64             `json:"nameplate_w"`
	CapacityWh *int64               `json:"capacity_wh"`
	Location   *gridmint.Location   `json:"location"`
	Zone       *string              `json:"zone"`
	Owner      *string              `json:"owner"`
	Limits     *LimitsPatch         `json:"limits"`
	OptOut     *bool                `json:"opt_out"`
	// Site moves the device into a configured site; "" takes it out of
	// its site. A site's meter of record cannot be moved (409).
	Site *gridmint.SiteID `json:"site"`
}

// LimitsPatch changes some safety limits; absent ones stay, 0 removes one.
type LimitsPatch struct {
	MinCurrent   *float64 `json:"min_current_a"`
	MaxCurrent   *float64 `json:"max_current_a"`
	SoCFloor     *float64 `json:"soc_floor_pct"`
	MaxCharge    *float64 `json:"max_charge_w"`
	MaxDischarge *float64 `json:"max_discharge_w"`
	ExportLimit  *float64 `json:"export_limit_w"`
}

func (p LimitsPatch) apply(l gridmint.SafetyLimits) gridmint.SafetyLimits {
	set := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	setW := func(dst *gridmint.W, v *float64) {
		if v != nil {
			*dst = gridmint.W(*v)
		}
	}
	set(&l.MinCurrent, p.MinCurrent)
	set(&l.MaxCurrent, p.MaxCurrent)
	set(&l.SoCFloor, p.SoCFloor)
	setW(&l.MaxCharge, p.MaxCharge)
	setW(&l.MaxDischarge, p.MaxDischarge)
	setW(&l.ExportLimit, p.ExportLimit)
	return l
}

// DecodeDevicePatch reads a device edit and applies it to d.
func DecodeDevicePatch(d gridmint.Device, body []byte) (gridmint.Device, error) {
	var p DevicePatch
	if err := decodeStrict(body, &p); err != nil {
		return d, err
	}
	if p.Name != nil {
		d.Name = *p.Name
	}
	if p.Kind != nil {
		d.Kind = *p.Kind
	}
	if p.NameplateW != nil {
		d.Nameplate = gridmint.W(*p.NameplateW)
	}
	if p.CapacityWh != nil {
		d.Capacity = gridmint.Wh(*p.CapacityWh)
	}
	if p.Location != nil {
		d.Location = p.Location
	}
	if p.Zone != nil {
		d.Zone = *p.Zone
	}
	if p.Owner != nil {
		d.Owner = *p.Owner
	}
	if p.Limits != nil {
		d.Limits = p.Limits.apply(d.Limits)
	}
	if p.OptOut != nil {
		d.OptOut = *p.OptOut
	}
	if p.Site != nil {
		d.Site = *p.Site
	}
	if len(d.Name) > 200 || len(d.Zone) > gridmint.MaxZoneLen {
		return d, gridmint.Errorf(gridmint.EInvalid, "name (200) or zone (64 characters) too long")
	}
	return d, d.Validate()
}

func (s *Server) devicePatch(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	id, action, ok := deviceRoute(r.PathValue("rest"))
	if !ok || action != "" {
		s.writeError(w, http.StatusNotFound, "want PATCH /api/v1/devices/<node>/<dialect>/<serial>")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	st, err := s.cfg.Control.EditDevice(r.Context(), id, func(d gridmint.Device) (gridmint.Device, error) {
		return DecodeDevicePatch(d, body)
	})
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.deviceDetail(w, r, st.ID)
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: %v (at most %d bytes)", err, maxBody))
		return nil, false
	}
	return b, true
}

// decodeStrict decodes one JSON object, refusing unknown fields, trailing
// data and strings that are not text, with errors that name the field.
func decodeStrict(body []byte, v any) error {
	if path, found := badText(body); found {
		return gridmint.Errorf(gridmint.EInvalid, "%s: not valid UTF-8 text (or a \\u escape of half a surrogate pair)", path)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return gridmint.Errorf(gridmint.EInvalid, "%s: got %s, want %s", typ.Field, typ.Value, typ.Type)
		}
		return gridmint.Errorf(gridmint.EInvalid, "body: %v", err)
	}
	if dec.More() {
		return gridmint.Errorf(gridmint.EInvalid, "body: data after the JSON object")
	}
	return nil
}

// errorStatus is the HTTP status of each gridmint error code; any other
// code is a 500.
var errorStatus = map[string]int{
	gridmint.EInvalid:      http.StatusBadRequest,
	gridmint.ENotFound:     http.StatusNotFound,
	gridmint.EConflict:     http.StatusConflict,
	gridmint.EUnauthorized: http.StatusUnauthorized,
	gridmint.EUnavailable:  http.StatusServiceUnavailable,
}

// writeErr answers with the status of a domain error's code.
func (s *Server) writeErr(w http.ResponseWriter, err error) {
	code, ok := errorStatus[gridmint.ErrorCode(err)]
	if !ok {
		code = http.StatusInternalServerError
	}
	msg := err.Error()
	var e *gridmint.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	if code == http.StatusInternalServerError {
		s.cfg.Logger.Error("api", "err", err)
	}
	noteCode(w, gridmint.ErrorCode(err))
	s.writeJSON(w, code, struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, gridmint.ErrorCode(err)})
}
