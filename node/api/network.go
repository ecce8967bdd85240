package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gridmint/gridmint"
)

// Network is the node's peer-to-peer side: its peers, the messages it
// accepted from gossip, and publishing offers and requests.
// Implementations must be safe for concurrent use.
type Network interface {
	// Peers returns this node's addresses and its connected peers.
	Peers() NetworkInfo
	// Messages pages the accepted messages of one topic created in
	// [from, to), oldest first, starting after cursor ("" from the
	// start), and returns the next page's cursor ("" at the end). An
	// unknown topic or a bad cursor is a gridmint EInvalid error.
	Messages(topic string, from, to time.Time, cursor string, limit int) ([]NetworkMessage, string, error)
	// PublishOffer signs an offer with the node key and gossips it.
	PublishOffer(ctx context.Context, o gridmint.Offer) (NetworkMessage, error)
	// PublishRequest signs a request with the node key and gossips it.
	PublishRequest(ctx context.Context, r gridmint.Request) (NetworkMessage, error)
	// Stats counts messages per topic: accepted, and rejected or
	// ignored by reason.
	Stats() NetworkStats
}

// NetworkInfo is GET /api/v1/peers.
type NetworkInfo struct {
	PeerID      string   `json:"peer_id"`
	Address     string   `json:"address"`
	ListenAddrs []string `json:"listen_addrs"`
	Peers       []Peer   `json:"peers"`
}

// Peer is one connected peer.
type Peer struct {
	PeerID string `json:"peer_id"`
	// Address is the peer's Ethereum address, derived from its key.
	Address string   `json:"address"`
	Addrs   []string `json:"addrs"`
	// LatencyMS is the smoothed round-trip time, ms; null before the
	// first measurement.
	LatencyMS *float64 `json:"latency_ms"`
	// Score is the peer's gossip score: below zero it misbehaved.
	Score  float64  `json:"score"`
	Topics []string `json:"topics"`
}

// NetworkMessage is one signed message as the API shows it.
type NetworkMessage struct {
	ID       string    `json:"id"` // 0x hex of the EIP-712 digest its author signed
	Topic    string    `json:"topic"`
	Kind     string    `json:"kind"`
	Author   string    `json:"author"`
	Created  time.Time `json:"created"`
	Received time.Time `json:"received"`
	// Body is the message's content: an offer, request, meter claim,
	// attestation or award.
	Body any `json:"body"`
	// Signature is the author's 65-byte EIP-712 signature, 0x hex.
	Signature string `json:"signature"`
}

// NetworkStats is GET /api/v1/p2p/stats.
type NetworkStats struct {
	Published uint64                `json:"published"`
	Topics    map[string]TopicStats `json:"topics"`
	// CatchUpServed and CatchUpFetched count messages sent to and
	// accepted from peers catching up.
	CatchUpServed  uint64 `json:"catchup_served"`
	CatchUpFetched uint64 `json:"catchup_fetched"`
	// HintsSent and HintsReceived count anti-entropy hints: after a
	// catch-up brought new messages, a node tells its other peers to
	// catch up from it. HintsDropped are received hints refused
	// (malformed, from the future, over the per-peer rate, queue full).
	HintsSent     uint64 `json:"hints_sent"`
	HintsReceived uint64 `json:"hints_received"`
	HintsDropped  uint64 `json:"hints_dropped"`
	// ClockSkew counts messages refused because their author's clock and
	// this node's disagree: ahead beyond the clock-skew tolerance,
	// behind beyond the freshness window. The log says which peer and
	// by how much.
	ClockSkew ClockSkewStats `json:"clock_skew"`
}

// ClockSkewStats counts messages refused for their author's clock.
type ClockSkewStats struct {
	Ahead  uint64 `json:"ahead"`
	Behind uint64 `json:"behind"`
}

// TopicStats counts one topic's messages.
type TopicStats struct {
	Accepted uint64            `json:"accepted"`
	Rejected map[string]uint64 `json:"rejected"` // by reason; the sender is penalised
	Ignored  map[string]uint64 `json:"ignored"`  // by reason: duplicates, stale, rate-limited
}

// messagesLimit bounds one page of messages.
const messagesLimit = 1000

func (s *Server) peers(w http.ResponseWriter, _ *http.Request) {
	info := s.cfg.Network.Peers()
	if info.Peers == nil {
		info.Peers = []Peer{}
	}
	s.writeJSON(w, http.StatusOK, info)
}

func (s *Server) networkStats(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, http.StatusOK, s.cfg.Network.Stats())
}

// messages is GET /api/v1/p2p/messages?topic=&from=&to=&cursor=&limit=:
// accepted messages of a topic (default offers) created in [from, to)
// (RFC 3339; default the last 24 hours), oldest first.
func (s *Server) messages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topic := q.Get("topic")
	if topic == "" {
		topic = "/gridmint/1/offers"
	}
	from, to, ok := s.timeRange(w, q.Get("from"), q.Get("to"), 24*time.Hour)
	if !ok {
		return
	}
	limit, ok := s.limitParam(w, q.Get("limit"), 100, messagesLimit)
	if !ok {
		return
	}
	msgs, next, err := s.cfg.Network.Messages(topic, from, to, q.Get("cursor"), limit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, struct {
		Topic    string           `json:"topic"`
		From     time.Time        `json:"from"`
		To       time.Time        `json:"to"`
		Messages []NetworkMessage `json:"messages"`
		// Next is the cursor= value of the next page; empty at the end.
		Next string `json:"next,omitempty"`
	}{topic, from, to, nonNil(msgs), next})
}

// timeRange reads from= and to= (RFC 3339), defaulting to the span
// before now.
func (s *Server) timeRange(w http.ResponseWriter, fromQ, toQ string, span time.Duration) (from, to time.Time, ok bool) {
	to = s.cfg.Clock.Now()
	from = to.Add(-span)
	for _, p := range []struct {
		name, v string
		dst     *time.Time
	}{{"from", fromQ, &from}, {"to", toQ, &to}} {
		if p.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, p.v)
		if err != nil {
			s.writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %q: want an RFC 3339 time, e.g. 2026-11-22T10:00:00Z", p.name, p.v))
			return from, to, false
		}
		*p.dst = t
	}
	if !from.Before(to) {
		s.writeError(w, http.StatusBadRequest, "from must be before to")
		return from, to, false
	}
	return from, to, true
}

// maxRelativeTime bounds a relative time in a request body ("within a
// year"), so that adding it to the clock cannot overflow; the validators
// bound the rest.
const maxRelativeTime = 366 * 24 * time.Hour

// bodyTime reads a time field of a request body: RFC 3339
// ("2026-11-22T18:00:00Z"), or a signed Go duration relative to now, the
// node's clock when the call arrives ("+2h", "+90m", "+1h30m"), so that a
// request written down once (the README's examples) stays valid. A
// relative time resolves to whole seconds, as the wire carries; the
// signed message holds the absolute time. Empty leaves the zero time,
// which the body's validation refuses by name.
func bodyTime(what, field, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if v[0] == '+' || v[0] == '-' {
		d, err := time.ParseDuration(v)
		if err != nil || d < -maxRelativeTime || d > maxRelativeTime {
			return time.Time{}, gridmint.Errorf(gridmint.EInvalid, "%s: %s %q: want a duration from now within a year, e.g. +2h or +90m", what, field, v)
		}
		return now.Add(d).Truncate(time.Second).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, gridmint.Errorf(gridmint.EInvalid, "%s: %s %q: want an RFC 3339 time, e.g. 2026-11-22T18:00:00Z, or one relative to now, e.g. +2h", what, field, v)
	}
	return t, nil
}

// timeField is one time field of a request body: its JSON name, its text
// and where its resolved time goes.
type timeField struct {
	name, v string
	dst     *time.Time
}

// bodyTimes resolves the time fields of a request body (bodyTime).
func bodyTimes(what string, now time.Time, fields ...timeField) error {
	for _, f := range fields {
		t, err := bodyTime(what, f.name, f.v, now)
		if err != nil {
			return err
		}
		*f.dst = t
	}
	return nil
}

// offerBody is an offer as POST /api/v1/offers takes it: its times may be
// relative (bodyTime). The string fields shadow the offer's own.
type offerBody struct {
	gridmint.Offer
	WindowStart string `json:"window_start"`
	WindowEnd   string `json:"window_end"`
	Expiry      string `json:"expiry"`
}

// requestBody is a request as POST /api/v1/requests takes it.
type requestBody struct {
	gridmint.Request
	WindowStart string `json:"window_start"`
	WindowEnd   string `json:"window_end"`
	GateClosure string `json:"gate_closure"`
}

// DecodeOffer reads and checks the body of POST /api/v1/offers, resolving
// relative times against now. zoneOf returns a device's grid zone, the
// offer's default, or an error when the device may not be offered.
func DecodeOffer(body []byte, now time.Time, zoneOf func(gridmint.DeviceID) (string, error)) (gridmint.Offer, error) {
	var b offerBody
	if err := decodeStrict(body, &b); err != nil {
		return b.Offer, err
	}
	o := b.Offer
	if err := bodyTimes("offer", now, timeField{"window_start", b.WindowStart, &o.WindowStart},
		timeField{"window_end", b.WindowEnd, &o.WindowEnd}, timeField{"expiry", b.Expiry, &o.Expiry}); err != nil {
		return o, err
	}
	if _, _, _, ok := o.Device.Parts(); !ok {
		return o, gridmint.Errorf(gridmint.EInvalid, "offer: device %q: want one of this node's device ids, <node address>/<dialect>/<serial>", o.Device)
	}
	zone, err := zoneOf(o.Device)
	if err != nil {
		return o, err
	}
	if o.Zone == "" {
		o.Zone = zone
	}
	return o, o.Validate()
}

// DecodeRequest reads and checks the body of POST /api/v1/requests,
// resolving relative times against now.
func DecodeRequest(body []byte, now time.Time) (gridmint.Request, error) {
	var b requestBody
	if err := decodeStrict(body, &b); err != nil {
		return b.Request, err
	}
	req := b.Request
	if err := bodyTimes("request", now, timeField{"window_start", b.WindowStart, &req.WindowStart},
		timeField{"window_end", b.WindowEnd, &req.WindowEnd}, timeField{"gate_closure", b.GateClosure, &req.GateClosure}); err != nil {
		return req, err
	}
	return req, req.Validate()
}

// postOffer is POST /api/v1/offers: sign and gossip a flexibility offer
// for one of this node's devices. 201 with the signed message.
func (s *Server) postOffer(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	now := s.cfg.Clock.Now()
	o, err := DecodeOffer(body, now, s.offerZone)
	if err == nil && !o.Expiry.After(now) {
		err = gridmint.Errorf(gridmint.EInvalid, "offer: expiry %v has passed", o.Expiry.UTC())
	}
	if err == nil {
		if st, ok := s.cfg.Control.Device(o.Device); ok {
			if most, why := shiftablePower(st.Device); most > 0 && o.Power > most {
				err = gridmint.Errorf(gridmint.EInvalid, "offer: power %.0f W: device %s can shift at most %.0f W (%s)", float64(o.Power), o.Device, float64(most), why)
			}
		}
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	m, err := s.cfg.Network.PublishOffer(r.Context(), o)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, m)
}

// shiftablePower is the most power a device can move its home's net
// consumption by, from its registry entry, with the entry it comes from;
// 0 when the registry says nothing (then only the protocol's 1 MW bound
// applies). A battery swings from full charge to full discharge; a
// charger's current is at most 230 V on each of three phases.
func shiftablePower(d gridmint.Device) (gridmint.W, string) {
	switch {
	case d.Kind == gridmint.KindBattery && d.Limits.MaxCharge+d.Limits.MaxDischarge > 0:
		return d.Limits.MaxCharge + d.Limits.MaxDischarge, "its max charge + max discharge"
	case d.Kind == gridmint.KindEVCharger && d.Limits.MaxCurrent > 0:
		return gridmint.W(d.Limits.MaxCurrent * 230 * 3), "its max current × 230 V × 3 phases"
	case d.Nameplate > 0:
		return d.Nameplate, "its nameplate"
	}
	return 0, ""
}

// offerZone is the zone of a device this node may offer: one of its own
// whose owner has not opted out of the market.
func (s *Server) offerZone(id gridmint.DeviceID) (string, error) {
	if s.cfg.Control == nil {
		return "", gridmint.Errorf(gridmint.EUnavailable, "this node has no devices to offer")
	}
	d, ok := s.cfg.Control.Device(id)
	switch {
	case !ok:
		return "", gridmint.Errorf(gridmint.ENotFound, "device %s: not one of this node's devices", id)
	case d.OptOut:
		return "", gridmint.Errorf(gridmint.EConflict, "device %s: its owner opted out of market setpoints", id)
	}
	return d.Zone, nil
}

// postRequest is POST /api/v1/requests: sign and gossip a utility's
// flexibility request. 201 with the signed message.
func (s *Server) postRequest(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	now := s.cfg.Clock.Now()
	req, err := DecodeRequest(body, now)
	if err == nil && !req.GateClosure.After(now) {
		err = gridmint.Errorf(gridmint.EInvalid, "request: gate closure %v has passed", req.GateClosure.UTC())
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	m, err := s.cfg.Network.PublishRequest(r.Context(), req)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, m)
}
