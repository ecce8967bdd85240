package p2p

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// CatchUpProtocol is the request/response protocol with which a node
// fetches the messages it missed. The client writes one CatchUpRequest
// and closes its side; the server answers with up to Limit envelopes, each
// prefixed by its length as a uvarint, and closes.
const CatchUpProtocol protocol.ID = "/gridmint/catchup/1"

// CatchUpHintProtocol carries anti-entropy hints: a node that accepted
// new messages by catch-up from one peer writes one CatchUpHint to each of
// its other peers and closes; a receiver catches up from the hinting
// peer over the hinted topics and times, and, if that brings it new
// messages, hints its own other peers in turn. So what one node learns
// when a partition heals spreads hop by hop to nodes that were never cut
// off from anyone (gossip does not repeat old messages, and a message
// accepted by catch-up cannot be re-published: the author must be the
// publishing peer), and it stops where nobody learns anything new.
const CatchUpHintProtocol protocol.ID = "/gridmint/catchup-hint/1"

// Catch-up bounds. A page is at most catchUpPage envelopes; a topic at
// most catchUpPages pages per peer and gap (about 8,000 messages), so a
// peer cannot keep a node paging forever. Each request has catchUpTimeout
// to complete, so a slow peer is dropped. A server answers a peer at most
// catchUpRate requests per second (burst catchUpBurst: a full catch-up is
// five topics of a few pages) and catchUpConcurrency requests at once; a
// request waits up to catchUpQueueWait for one of those, then is refused
// as busy.
const (
	catchUpPage        = 128
	catchUpPages       = 64
	catchUpTimeout     = 15 * time.Second
	catchUpRate        = 2
	catchUpBurst       = 64
	catchUpConcurrency = 4
	catchUpQueueWait   = 5 * time.Second
)

// Hint bounds. A node acts on at most hintRate hints per second from one
// peer (burst hintBurst) and drops the rest; a hint only queues a
// catch-up job, which the one catch-up worker runs under the page limits
// above, and is dropped when that queue is half full. Sending, at most
// hintSendConcurrency hints are in flight at once, each with hintTimeout,
// and at most hintQueue batches wait.
const (
	hintRate            = 0.1
	hintBurst           = 3
	hintTimeout         = 5 * time.Second
	hintSendConcurrency = 8
	hintQueue           = 16
)

// maxCatchUpResponse bounds a response's bytes.
func (n *Node) maxCatchUpResponse() int {
	return catchUpPage * (n.cfg.MaxMessageSize + binary.MaxVarintLen64)
}

// gap is a period in which this node may have missed messages: since its
// last run (startup) or since it lost its last peer. It closes once the
// node has caught up from CatchUpPeers peers. (A gap with open false and
// a since is a returning peer's absence, see onConnected.)
type gap struct {
	gen     uint64
	open    bool
	startup bool      // since each topic's newest stored message
	since   time.Time // when the node was isolated (not startup)
	done    map[peer.ID]bool
	// from, when set, is a hint's catch-up: only these topics, each
	// from its time (clamped to the retention window).
	from map[string]time.Time
}

// startGap opens the startup gap: everything since the newest stored
// message of each topic.
func (n *Node) startGap() {
	n.gapMu.Lock()
	defer n.gapMu.Unlock()
	n.gap = gap{gen: n.gap.gen + 1, open: true, startup: true, done: map[peer.ID]bool{}}
}

// catchUpJob is one catch-up from one peer: over the open gap, since the
// peer's last connection closed (since, a returning peer), or over the
// topics and times of a hint the peer sent (from).
type catchUpJob struct {
	peer  peer.ID
	since time.Time
	from  map[string]time.Time
}

// maxLeft bounds the remembered disconnection times.
const maxLeft = 4096

// onConnected queues a catch-up from p: over the open gap if p has not
// served it, and, if p was connected before, over the time it was away:
// what p published while it was cut off reaches us this way, since
// gossip does not repeat old messages. Both may apply (a startup gap
// stays open until CatchUpPeers peers served it); the worker sorts out
// the order.
func (n *Node) onConnected(p peer.ID) {
	n.gapMu.Lock()
	job := catchUpJob{peer: p}
	want := n.gap.open && !n.gap.done[p]
	if left, ok := n.left[p]; ok {
		job.since, want = left, true
	}
	delete(n.left, p)
	n.gapMu.Unlock()
	if want {
		select {
		case n.catchUp <- job:
		default: // the worker is busy with others; later connections retry
		}
	}
}

func (n *Node) onDisconnected(nw network.Network, p peer.ID) {
	if nw.Connectedness(p) == network.Connected {
		return // another connection to p remains
	}
	now := n.clock.Now()
	n.gapMu.Lock()
	defer n.gapMu.Unlock()
	if len(n.left) >= maxLeft {
		for q := range n.left {
			delete(n.left, q)
			if len(n.left) < maxLeft*7/8 {
				break
			}
		}
	}
	n.left[p] = now
	if len(nw.Peers()) == 0 && !n.gap.open {
		n.gap = gap{gen: n.gap.gen + 1, open: true, since: now, done: map[peer.ID]bool{}}
		n.log.Info("p2p: no peers left; will catch up on reconnect", "since", now)
	}
}

// catchUpWorker runs the queued catch-ups, one at a time.
func (n *Node) catchUpWorker() {
	for {
		var job catchUpJob
		select {
		case <-n.ctx.Done():
			return
		case job = <-n.catchUp:
		}
		if job.from != nil {
			if err := n.catchUpFrom(n.ctx, job.peer, gap{from: job.from}); err != nil {
				n.log.Debug("p2p: catch-up on a hint failed", "peer", job.peer, "err", err)
			}
			continue
		}
		n.gapMu.Lock()
		g := n.gap
		inGap := g.open && !g.done[job.peer]
		n.gapMu.Unlock()
		if returned := job.since; !returned.IsZero() {
			if inGap && !g.startup {
				// One catch-up over both, hinting: the isolation
				// gap's own catch-up hints too.
				g.since = minTime(g.since, returned)
			} else {
				// A returning peer first, so that what it brings is
				// hinted on: a startup gap's catch-up does not hint,
				// and would take these messages first.
				if err := n.catchUpFrom(n.ctx, job.peer, gap{since: returned}); err != nil {
					n.log.Debug("p2p: catch-up from a returning peer failed", "peer", job.peer, "err", err)
				}
			}
		}
		if !inGap {
			continue
		}
		if err := n.catchUpFrom(n.ctx, job.peer, g); err != nil {
			n.log.Debug("p2p: catch-up failed", "peer", job.peer, "err", err)
			continue
		}
		n.gapMu.Lock()
		if n.gap.gen == g.gen && n.gap.open {
			n.gap.done[job.peer] = true
			if len(n.gap.done) >= n.cfg.CatchUpPeers {
				n.gap.open = false
				n.log.Info("p2p: caught up", "peers", len(n.gap.done))
			}
		}
		n.gapMu.Unlock()
	}
}

// CatchUp fetches from up to CatchUpPeers connected peers every topic's
// messages since the newest one stored, less the topic's freshness
// window and the clock skew (messages created before the newest may still
// have been in flight), and at most Retention back. It returns an error
// if no peer could serve.
func (n *Node) CatchUp(ctx context.Context) error {
	peers := n.host.Network().Peers()
	if len(peers) == 0 {
		return gridmint.Errorf(gridmint.EUnavailable, "p2p: catch-up: no peers")
	}
	var errs []error
	ok := 0
	for _, p := range peers {
		if ok >= n.cfg.CatchUpPeers {
			break
		}
		if err := n.catchUpFrom(ctx, p, gap{startup: true}); err != nil {
			errs = append(errs, err)
			continue
		}
		ok++
	}
	if ok == 0 {
		return gridmint.Errorf(gridmint.EUnavailable, "p2p: catch-up: %v", errors.Join(errs...))
	}
	return nil
}

// since is where catching up topic over gap starts.
func (n *Node) since(g gap, topic string) (time.Time, error) {
	now := n.clock.Now()
	floor := now.Add(-n.cfg.Retention)
	if g.from != nil {
		if s := g.from[topic]; s.After(floor) {
			return s, nil
		}
		return floor, nil
	}
	base := g.since
	if g.startup {
		newest, err := n.cfg.Store.NewestMessage(topic)
		if err != nil {
			return time.Time{}, err
		}
		base = newest
	}
	if base.IsZero() {
		return floor, nil
	}
	s := base.Add(-n.cfg.Freshness[kindOfTopic(topic)] - n.cfg.MaxClockSkew)
	if s.Before(floor) {
		return floor, nil
	}
	return s, nil
}

// catchUpFrom fetches from p every topic's messages over g (a hint's
// topics only). If it accepted any new message, it hints its other peers
// to catch up from it, even if it failed part way; except after a
// startup catch-up: a node that was down learns what the network had
// while it was down, which its peers, up all along, have.
func (n *Node) catchUpFrom(ctx context.Context, p peer.ID, g gap) error {
	learned := map[string]time.Time{} // topic → the earliest new message's Created
	defer func() {
		if len(learned) > 0 && !g.startup {
			n.hint(p, learned)
		}
	}()
	for _, topic := range Topics() {
		if _, ok := g.from[topic]; g.from != nil && !ok {
			continue
		}
		isNew := func(m Message) {
			if t, ok := learned[topic]; !ok || m.Created.Before(t) {
				learned[topic] = m.Created
			}
			if g.from != nil {
				n.stats.update(func(s *Stats) { s.CatchUp.HintFetched++ })
			}
		}
		from, err := n.since(g, topic)
		if err != nil {
			return err
		}
		var after common.Hash
		for page := 0; ; page++ {
			if page == catchUpPages {
				n.log.Warn("p2p: catch-up page limit reached", "peer", p, "topic", topic)
				break
			}
			req := CatchUpRequest{Topic: topic, From: from, After: after, Limit: catchUpPage}
			last, got, err := n.fetchPage(ctx, p, req, isNew)
			n.stats.update(func(s *Stats) {
				s.CatchUp.Requests++
				if err != nil {
					s.CatchUp.Failed++
				}
			})
			if err != nil {
				return fmt.Errorf("p2p: catch-up %s from %s: %w", topic, p, err)
			}
			if got < catchUpPage {
				break
			}
			from, after = last.Created, last.ID
		}
	}
	return nil
}

// fetchPage runs one request and accepts what comes back, calling isNew
// with each message accepted (not a duplicate). It returns the last
// message of the page (the next cursor) and how many came.
func (n *Node) fetchPage(ctx context.Context, p peer.ID, req CatchUpRequest, isNew func(Message)) (last Message, got int, err error) {
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, CatchUpProtocol)
	if err != nil {
		return last, 0, err
	}
	defer func() {
		if err != nil {
			_ = s.Reset()
		} else {
			_ = s.Close()
		}
	}()
	deadline, _ := ctx.Deadline()
	_ = s.SetDeadline(deadline)
	if _, err := s.Write(encodeCatchUpRequest(req)); err != nil {
		return last, 0, err
	}
	if err := s.CloseWrite(); err != nil {
		return last, 0, err
	}
	r := bufio.NewReader(s)
	cursor := Message{Created: req.From, ID: req.After}
	budget := n.maxCatchUpResponse()
	for {
		size, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) {
			return cursor, got, nil
		}
		if err != nil {
			return last, got, err
		}
		switch {
		case size == 0 || size > uint64(n.cfg.MaxMessageSize):
			return last, got, fmt.Errorf("envelope of %d bytes", size)
		case got == int(req.Limit):
			return last, got, fmt.Errorf("more than the %d envelopes asked for", req.Limit)
		case int(size) > budget:
			return last, got, fmt.Errorf("response over %d bytes", n.maxCatchUpResponse())
		}
		budget -= int(size)
		raw := make([]byte, size)
		if _, err := io.ReadFull(r, raw); err != nil {
			return last, got, err
		}
		got++
		m, reason, detail := n.check.check(req.Topic, raw, checkOpts{window: n.cfg.Retention})
		if m.ID == (common.Hash{}) {
			n.refuse(req.Topic, reason, detail, "catch-up", p)
			return last, got, fmt.Errorf("served an undecodable envelope: %s: %v", reason, detail)
		}
		// Pages come in (created, ID) order: a server that goes back
		// could keep us paging forever.
		if !afterCursor(m, cursor) {
			return last, got, fmt.Errorf("envelope %s out of order", m.ID)
		}
		cursor = m
		if reason == "" {
			reason, detail = n.accept(m, true)
		}
		switch {
		case reason == "":
			n.stats.update(func(s *Stats) { s.CatchUp.Fetched++ })
			n.stats.topic(req.Topic, func(t *TopicStats) { t.Accepted++ })
			isNew(m)
		case reason == ReasonDuplicate:
			// Expected: catch-up ranges overlap what gossip delivered.
			n.stats.update(func(s *Stats) { s.CatchUp.Duplicates++ })
		default:
			n.refuse(req.Topic, reason, detail, "catch-up", p)
			if reason.result() == pubsub.ValidationReject {
				// An honest server stores only what it validated.
				return last, got, fmt.Errorf("served an invalid envelope: %s: %v", reason, detail)
			}
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func afterCursor(m, cursor Message) bool {
	if c := m.Created.Compare(cursor.Created); c != 0 {
		return c > 0
	}
	return bytes.Compare(m.ID[:], cursor.ID[:]) > 0
}

// serveCatchUp answers one catch-up request from the store.
func (n *Node) serveCatchUp(s network.Stream) {
	p := s.Conn().RemotePeer()
	refuse := func(why string, err error) {
		n.stats.update(func(st *Stats) { st.CatchUp.Refused++ })
		n.log.Debug("p2p: catch-up request refused", "peer", p, "why", why, "err", err)
		_ = s.Reset()
	}
	if !n.peers.Allow(string(p), n.clock.Now()) {
		refuse("rate limit", nil)
		return
	}
	// Wait a little for a slot rather than refuse at once: a client
	// pages one request at a time, and its next request can arrive
	// before the goroutine that served the last one let go of its slot;
	// a refusal fails the whole catch-up, which nothing retries until
	// the next connection or hint.
	wait := time.NewTimer(catchUpQueueWait)
	defer wait.Stop()
	select {
	case n.serve <- struct{}{}:
		defer func() { <-n.serve }()
	case <-wait.C:
		refuse("busy", nil)
		return
	case <-n.ctx.Done():
		_ = s.Reset()
		return
	}
	_ = s.SetDeadline(time.Now().Add(catchUpTimeout)) // stream I/O: wall clock
	raw, err := io.ReadAll(io.LimitReader(s, maxCatchUpRequest+1))
	if err != nil {
		refuse("read", err)
		return
	}
	req, err := decodeCatchUpRequest(raw)
	if err != nil {
		refuse("malformed", err)
		return
	}
	if kindOfTopic(req.Topic) == 0 || req.Limit == 0 || req.Limit > catchUpPage {
		refuse("out of bounds", fmt.Errorf("topic %q, limit %d", req.Topic, req.Limit))
		return
	}
	from, after := req.From, req.After
	if floor := n.clock.Now().Add(-n.cfg.Retention); from.Before(floor) {
		from, after = floor, common.Hash{}
	}
	msgs, err := n.cfg.Store.Messages(req.Topic, from, req.To, after, int(req.Limit))
	if err != nil {
		n.log.Warn("p2p: catch-up: read store", "err", err)
		refuse("store", err)
		return
	}
	w := bufio.NewWriter(s)
	budget, sent := n.maxCatchUpResponse(), 0
	for _, m := range msgs {
		if len(m.Raw) > budget {
			break
		}
		budget -= len(m.Raw)
		// bufio.Writer errors are sticky: the second Write reports both.
		_, _ = w.Write(binary.AppendUvarint(nil, uint64(len(m.Raw))))
		if _, err := w.Write(m.Raw); err != nil {
			refuse("write", err)
			return
		}
		sent++
	}
	if err := w.Flush(); err != nil {
		refuse("write", err)
		return
	}
	_ = s.Close()
	n.stats.update(func(st *Stats) { st.CatchUp.Served++; st.CatchUp.Sent += uint64(sent) })
}

// hintBatch is one hint for the sender: raw to every peer in peers.
type hintBatch struct {
	raw   []byte
	peers []peer.ID
}

// hint queues a hint to every connected peer but from (the peer the new
// messages came from, which has them): for each topic in learned, catch
// up from the earliest new message's creation, less the clock skew. A
// full queue drops the batch, counted as unsent.
func (n *Node) hint(from peer.ID, learned map[string]time.Time) {
	var h CatchUpHint
	for topic, t := range learned {
		if k := kindOfTopic(topic); k != 0 {
			h.Since[k-1] = t.Add(-n.cfg.MaxClockSkew)
		}
	}
	b := hintBatch{raw: encodeCatchUpHint(h)}
	for _, q := range n.host.Network().Peers() {
		if q != from {
			b.peers = append(b.peers, q)
		}
	}
	if len(b.peers) == 0 {
		return
	}
	select {
	case n.hintOut <- b:
	default:
		n.stats.update(func(s *Stats) { s.CatchUp.HintsUnsent += uint64(len(b.peers)) })
		n.log.Warn("p2p: catch-up hint queue full; hint dropped", "peers", len(b.peers))
	}
}

// hintSender sends the queued hints, each batch's at most
// hintSendConcurrency at once.
func (n *Node) hintSender() {
	sem := make(chan struct{}, hintSendConcurrency)
	for {
		var b hintBatch
		select {
		case <-n.ctx.Done():
			return
		case b = <-n.hintOut:
		}
		var wg sync.WaitGroup
		for _, p := range b.peers {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				err := n.sendHint(p, b.raw)
				n.stats.update(func(s *Stats) {
					if err != nil {
						s.CatchUp.HintsUnsent++
					} else {
						s.CatchUp.HintsSent++
					}
				})
				if err != nil {
					n.log.Debug("p2p: catch-up hint not sent", "peer", p, "err", err)
				}
			}()
		}
		wg.Wait()
	}
}

func (n *Node) sendHint(p peer.ID, raw []byte) error {
	ctx, cancel := context.WithTimeout(n.ctx, hintTimeout)
	defer cancel()
	s, err := n.host.NewStream(ctx, p, CatchUpHintProtocol)
	if err != nil {
		return err
	}
	_ = s.SetDeadline(time.Now().Add(hintTimeout))
	if _, err := s.Write(raw); err != nil {
		_ = s.Reset()
		return err
	}
	return s.Close()
}

// serveCatchUpHint takes one hint: it queues a catch-up from the hinting
// peer, or drops the hint, counting either way.
func (n *Node) serveCatchUpHint(s network.Stream) {
	p := s.Conn().RemotePeer()
	why, err := n.takeHint(s, p)
	n.stats.update(func(st *Stats) {
		st.CatchUp.HintsReceived++
		if why != "" {
			st.CatchUp.HintsDropped++
		}
	})
	if why != "" {
		n.log.Debug("p2p: catch-up hint dropped", "peer", p, "why", why, "err", err)
		_ = s.Reset()
		return
	}
	_ = s.Close()
}

// takeHint reads, checks and queues one hint from p; it returns why not
// if it does not.
func (n *Node) takeHint(s network.Stream, p peer.ID) (string, error) {
	if !n.hints.Allow(string(p), n.clock.Now()) {
		return "rate limit", nil
	}
	_ = s.SetDeadline(time.Now().Add(hintTimeout))
	raw, err := io.ReadAll(io.LimitReader(s, maxCatchUpHint+1))
	if err != nil {
		return "read", err
	}
	h, err := decodeCatchUpHint(raw)
	if err != nil {
		return "malformed", err
	}
	from, err := n.hintFrom(h)
	if err != nil {
		return "out of bounds", err
	}
	// Hints take at most half the queue: the rest is for the catch-ups
	// of (re)connections, which have no other way in.
	if len(n.catchUp) >= cap(n.catchUp)/2 {
		return "catch-up queue full", nil
	}
	select {
	case n.catchUp <- catchUpJob{peer: p, from: from}:
		return "", nil
	default:
		return "catch-up queue full", nil
	}
}

// hintFrom is where catching up on h starts, by topic: a hint from
// beyond the clock skew is refused (it would ask for nothing, and an
// honest peer's clock is not that far ahead); a time before the
// retention window starts at the window.
func (n *Node) hintFrom(h CatchUpHint) (map[string]time.Time, error) {
	now := n.clock.Now()
	floor := now.Add(-n.cfg.Retention)
	from := map[string]time.Time{}
	for i, t := range h.Since {
		switch {
		case t.IsZero():
			continue
		case t.After(now.Add(n.cfg.MaxClockSkew)):
			return nil, fmt.Errorf("%v hint %v, %v ahead", Kind(i+1), t, t.Sub(now))
		case t.Before(floor):
			t = floor
		}
		from[Kind(i+1).Topic()] = t
	}
	if len(from) == 0 {
		return nil, errors.New("empty hint")
	}
	return from, nil
}
