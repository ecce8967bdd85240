package node

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/node/api"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/store"
)

// nodeNetwork is the gossip node as the API's Network.
type nodeNetwork struct {
	p2p   *p2p.Node
	store *store.Store
	clock gridmint.Clock
	// identity names this node's devices on the network (DeviceKey).
	identity *Identity
	// market checks own offers before they are signed; nil when off.
	market *market.Service
}

func (n nodeNetwork) Peers() api.NetworkInfo {
	info := api.NetworkInfo{PeerID: n.p2p.PeerID().String(), Address: n.p2p.Address().Hex(), ListenAddrs: n.p2p.Addrs()}
	for _, p := range n.p2p.Peers() {
		ap := api.Peer{PeerID: p.ID.String(), Address: p.Address.Hex(), Addrs: p.Addrs, Score: p.Score, Topics: p.Topics}
		if p.Latency > 0 {
			ms := float64(p.Latency.Microseconds()) / 1000
			ap.LatencyMS = &ms
		}
		if ap.Addrs == nil {
			ap.Addrs = []string{}
		}
		if ap.Topics == nil {
			ap.Topics = []string{}
		}
		info.Peers = append(info.Peers, ap)
	}
	return info
}

// A messages cursor is the last message's creation time (Unix ns) and
// ID: "<ns>-<hex id>".
func encodeMessageCursor(created time.Time, id [32]byte) string {
	return fmt.Sprintf("%d-%s", created.UnixNano(), hex.EncodeToString(id[:]))
}

func decodeMessageCursor(c string) (time.Time, [32]byte, error) {
	var id [32]byte
	ns, idHex, ok := strings.Cut(c, "-")
	var n int64
	if _, err := fmt.Sscan(ns, &n); !ok || err != nil {
		return time.Time{}, id, gridmint.Errorf(gridmint.EInvalid, "cursor %q: not one this API returned", c)
	}
	raw, err := hex.DecodeString(idHex)
	if err != nil || len(raw) != 32 {
		return time.Time{}, id, gridmint.Errorf(gridmint.EInvalid, "cursor %q: not one this API returned", c)
	}
	copy(id[:], raw)
	return time.Unix(0, n).UTC(), id, nil
}

func (n nodeNetwork) Messages(topic string, from, to time.Time, cursor string, limit int) ([]api.NetworkMessage, string, error) {
	if !strings.HasPrefix(topic, "/") {
		// A short name, as people type it: "offers" is /gridmint/1/offers.
		topic = "/gridmint/1/" + topic
	}
	if !slices.Contains(p2p.Topics(), topic) {
		return nil, "", gridmint.Errorf(gridmint.EInvalid, "unknown topic %q (topics: %s)", topic, strings.Join(p2p.Topics(), ", "))
	}
	var after [32]byte
	if cursor != "" {
		c, id, err := decodeMessageCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		from, after = c, id
	}
	// One more than asked tells whether there is a next page.
	stored, err := n.store.Messages(topic, from, to, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(stored) > limit {
		stored = stored[:limit]
		last := stored[limit-1]
		next = encodeMessageCursor(last.Created, last.ID)
	}
	out := make([]api.NetworkMessage, 0, len(stored))
	for _, s := range stored {
		m, err := n.p2p.Decode(s.Raw)
		if err != nil {
			// It was verified before it was stored: a failure here is a
			// bug or a damaged store, not bad input.
			return nil, "", fmt.Errorf("stored message %x: %w", s.ID, err)
		}
		am := apiMessage(m)
		am.Received = s.Received
		out = append(out, am)
	}
	return out, next, nil
}

// PublishOffer gossips o with its device named by its key: the API takes
// the node's own device id, the network never sees it.
func (n nodeNetwork) PublishOffer(ctx context.Context, o gridmint.Offer) (api.NetworkMessage, error) {
	if n.market != nil {
		// The market checks the device is the node's and the offer within
		// what it can offer (reason codes: unknown_device, opt_out,
		// over_capacity, below_min_price).
		m, err := n.market.PublishOffer(ctx, o)
		if err != nil && len(m.Raw) == 0 {
			return api.NetworkMessage{}, err
		}
		am := apiMessage(m)
		am.Received = n.clock.Now()
		return am, nil
	}
	w, err := p2p.NewOffer(o, n.identity.DeviceKey(o.Device))
	if err != nil {
		return api.NetworkMessage{}, err
	}
	return n.publish(ctx, w)
}

func (n nodeNetwork) PublishRequest(ctx context.Context, r gridmint.Request) (api.NetworkMessage, error) {
	return n.publish(ctx, p2p.Request(r))
}

func (n nodeNetwork) publish(ctx context.Context, b p2p.Body) (api.NetworkMessage, error) {
	m, err := n.p2p.Publish(ctx, b)
	if err != nil && len(m.Raw) == 0 {
		return api.NetworkMessage{}, err
	}
	// A message that is stored but not yet gossiped reaches peers by
	// catch-up; it is published.
	am := apiMessage(m)
	am.Received = n.clock.Now()
	return am, nil
}

func (n nodeNetwork) Stats() api.NetworkStats {
	s := n.p2p.Stats()
	out := api.NetworkStats{Topics: map[string]api.TopicStats{}, CatchUpFetched: s.CatchUp.Fetched, CatchUpServed: s.CatchUp.Sent,
		HintsSent: s.CatchUp.HintsSent, HintsReceived: s.CatchUp.HintsReceived, HintsDropped: s.CatchUp.HintsDropped,
		ClockSkew: api.ClockSkewStats{Ahead: s.ClockSkew.Ahead, Behind: s.ClockSkew.Behind}}
	for topic, t := range s.Topics {
		ts := api.TopicStats{Accepted: t.Accepted, Rejected: map[string]uint64{}, Ignored: map[string]uint64{}}
		for r, c := range t.Rejected {
			ts.Rejected[string(r)] = c
		}
		for r, c := range t.Ignored {
			ts.Ignored[string(r)] = c
		}
		out.Published += t.Published
		out.Topics[topic] = ts
	}
	return out
}

// apiMessage is a message's JSON form.
func apiMessage(m p2p.Message) api.NetworkMessage {
	return api.NetworkMessage{
		ID: m.ID.Hex(), Topic: m.Topic(), Kind: m.Kind.String(), Author: m.Author.Hex(), Created: m.Created,
		Body: messageBody(m.Body), Signature: hexutil.Encode(m.Signature),
	}
}

func messageBody(b p2p.Body) any {
	switch b := b.(type) {
	case p2p.Offer:
		return b // its device as the key, 0x hex
	case p2p.Request:
		return gridmint.Request(b)
	case p2p.MeterClaim:
		return struct {
			Device       common.Hash    `json:"device"` // the device key
			Owner        common.Address `json:"owner"`
			Zone         string         `json:"zone"`
			Technology   uint8          `json:"technology"`
			Hour         time.Time      `json:"hour"`
			Wh           uint64         `json:"wh"`
			ReadingsRoot common.Hash    `json:"readings_root"`
		}{b.Device, b.Owner, string(bytes.TrimRight(b.Zone[:], "\x00")), b.Technology,
			time.Unix(int64(b.Hour)*3600, 0).UTC(), b.Wh, b.ReadingsRoot}
	case p2p.Attestation:
		return struct {
			Subject        common.Hash `json:"subject"`
			SubjectKind    uint8       `json:"subject_kind"`
			Verdict        uint8       `json:"verdict"`
			Reason         uint8       `json:"reason,omitempty"`
			ChainSignature string      `json:"chain_signature,omitempty"`
		}{b.Subject, uint8(b.SubjectKind), uint8(b.Verdict), uint8(b.Reason), hexIfAny(b.ChainSignature)}
	case p2p.AwardsRoot:
		return struct {
			RequestID common.Hash `json:"request_id"`
			Root      common.Hash `json:"root"`
			Awards    uint64      `json:"awards"`
			Value     string      `json:"value"` // FLEX base units (18 decimals)
		}{b.RequestID, b.Root, b.Awards, b.Value.String()}
	case p2p.AwardNotice:
		price := "0"
		if b.Price != nil {
			price = b.Price.String()
		}
		return struct {
			RequestID   common.Hash    `json:"request_id"`
			OfferID     common.Hash    `json:"offer_id"`
			Provider    common.Address `json:"provider"`
			WindowStart time.Time      `json:"window_start"`
			WindowEnd   time.Time      `json:"window_end"`
			Watts       uint64         `json:"watts"`
			Price       string         `json:"price"` // FLEX base units (18 decimals)
		}{b.RequestID, b.OfferID, b.Provider, time.Unix(int64(b.WindowStart), 0).UTC(), time.Unix(int64(b.WindowEnd), 0).UTC(), b.Watts, price}
	case p2p.IntervalEnergy:
		return struct {
			Device  gridmint.DeviceKey `json:"device"`
			Request gridmint.RequestID `json:"request"`
			Start   time.Time          `json:"start"`
			StepS   int64              `json:"step_s"`
			Energy  []gridmint.MWh     `json:"energy_mwh"` // consumption-positive
		}{b.Device, b.Request, b.Start, int64(b.Step / time.Second), b.Energy}
	}
	return nil
}

func hexIfAny(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return hexutil.Encode(b)
}
