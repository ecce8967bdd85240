package firmwaresim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// A minimal MQTT 3.1.1 client for a Fleet's shared connections: clean
// session, no will, subscriptions at QoS 0, publishes at QoS 0 or 1.
//
// Why not paho: paho writes every packet with its own system call and
// hands it through channels and a token, about 6 µs of CPU per message
// on this project's 2-core machine, which alone takes a core at 150,000
// messages per second; a fleet of 10,000 devices at 1 Hz publishes about
// that many. This client encodes a cycle's messages into one buffer and
// writes it in a few system calls (0.25 µs per message in the same
// measurement).
//
// QoS 1 publishes carry packet IDs and the broker's PUBACKs are read and
// counted, but nothing is retransmitted: after a reconnect (clean session)
// the broker would not know the IDs anyway, and the devices publish their
// state again every cycle. Incoming publishes arrive at QoS 0 (our
// subscriptions' QoS). Lost connections are retried with a backoff of 1 s
// doubling to 30 s; onConnect runs after every successful (re)connect and
// subscribe. Every timer here (keep-alive, back-off, write deadlines) is
// protocol timing in wall-clock time, whatever the sim clock.

const (
	liteKeepAlive  = 30 * time.Second
	liteMaxPacket  = 1 << 20 // largest packet accepted from the broker
	liteSubBatch   = 64      // topic filters per SUBSCRIBE
	liteWriteLimit = 10 * time.Second
	liteKeepStop   = 5 * time.Second // disconnect's wait for the keeper
)

// liteClient is one shared MQTT connection.
type liteClient struct {
	broker    *url.URL
	clientID  string
	timeout   time.Duration // connect and subscribe
	log       *slog.Logger
	subs      []string
	onMessage func(topic string, payload []byte, retained bool)
	onConnect func() // after every (re)connect and subscribe

	mu     sync.Mutex // guards conn, w, nextID
	conn   net.Conn
	w      *bufio.Writer
	nextID uint16

	connected, closing atomic.Bool
	published, bytes   atomic.Uint64
	acked, reconnects  atomic.Uint64
	subacks            chan []byte   // SUBACK bodies while subscribing
	keepDone           chan struct{} // closed when keep returns; nil before start

	ackMu sync.Mutex // guards confirm
	// confirm is the publishConfirmed in progress, if any: the reader
	// crosses off its packet IDs as their PUBACKs arrive.
	confirm *ackWait
}

// ackWait is one publishConfirmed's outstanding packet IDs.
type ackWait struct {
	ids     map[uint16]bool
	writing bool          // IDs are still being added
	done    chan struct{} // closed once ids is empty or the connection dropped
	closed  bool
	lost    bool // the connection dropped while IDs were outstanding
}

// finish closes done once. Called with ackMu held.
func (w *ackWait) finish() {
	if !w.closed {
		w.closed = true
		close(w.done)
	}
}

func newLiteClient(broker, clientID string, timeout time.Duration, log *slog.Logger) (*liteClient, error) {
	u, err := url.Parse(broker)
	if err != nil {
		return nil, invalid("Broker %q: %v", broker, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts":
	default:
		return nil, invalid("Broker %q: shared fleet connections speak tcp://, mqtt://, ssl://, tls:// or mqtts://, not %s://", broker, u.Scheme)
	}
	if len(clientID) > 65535 {
		return nil, invalid("client ID of %d bytes", len(clientID))
	}
	if u.User != nil {
		if p, _ := u.User.Password(); len(u.User.Username()) > 65535 || len(p) > 65535 {
			return nil, invalid("Broker: user name or password longer than 65535 bytes")
		}
	}
	return &liteClient{broker: u, clientID: clientID, timeout: timeout, log: log, subacks: make(chan []byte, 16)}, nil
}

// start connects and subscribes within the timeout, then keeps the
// connection up until ctx is done.
func (c *liteClient) start(ctx context.Context) error {
	if err := c.connect(ctx); err != nil {
		return err
	}
	c.keepDone = make(chan struct{})
	go func() {
		defer close(c.keepDone)
		c.keep(ctx)
	}()
	return nil
}

// connect dials, sends CONNECT, waits for CONNACK, starts the reader,
// subscribes and runs onConnect.
func (c *liteClient) connect(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	host := c.broker.Host
	if c.broker.Port() == "" {
		switch c.broker.Scheme {
		case "ssl", "tls", "mqtts":
			host = net.JoinHostPort(c.broker.Hostname(), "8883")
		default:
			host = net.JoinHostPort(c.broker.Hostname(), "1883")
		}
	}
	var conn net.Conn
	var err error
	d := &net.Dialer{}
	switch c.broker.Scheme {
	case "ssl", "tls", "mqtts":
		td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: c.broker.Hostname(), MinVersion: tls.VersionTLS12}}
		conn, err = td.DialContext(dctx, "tcp", host)
	default:
		conn, err = d.DialContext(dctx, "tcp", host)
	}
	if err != nil {
		return fmt.Errorf("dial %s: %w", host, err)
	}
	deadline, _ := dctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Cancelling ctx interrupts the handshake too, not only the dial: a
	// shutdown must not wait out the connect timeout for a CONNACK.
	stopInterrupt := context.AfterFunc(dctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	br := bufio.NewReaderSize(conn, 32<<10)
	w := bufio.NewWriterSize(conn, 64<<10)
	writeConnect(w, c.clientID, c.broker.User)
	if err := w.Flush(); err != nil {
		conn.Close()
		return fmt.Errorf("connect: %w", err)
	}
	typ, body, err := readPacket(br)
	if !stopInterrupt() && err == nil {
		err = dctx.Err() // the deadline may have been moved before the read returned
	}
	if err != nil {
		conn.Close()
		return fmt.Errorf("waiting for CONNACK: %w", err)
	}
	if typ != 2 || len(body) != 2 {
		conn.Close()
		return fmt.Errorf("broker answered packet type %d, not CONNACK", typ)
	}
	if body[1] != 0 {
		conn.Close()
		return fmt.Errorf("broker refused the connection: CONNACK code %d", body[1])
	}
	_ = conn.SetDeadline(time.Time{})
	c.mu.Lock()
	c.conn, c.w = conn, w
	c.mu.Unlock()
	c.connected.Store(true)
	readerDone := make(chan struct{})
	go func() { defer close(readerDone); c.read(conn, br) }()
	if err := c.subscribe(dctx); err != nil {
		conn.Close()
		<-readerDone
		c.connected.Store(false)
		return err
	}
	if c.onConnect != nil {
		c.onConnect()
	}
	return nil
}

// subscribe sends the subscriptions in batches and waits for every SUBACK.
func (c *liteClient) subscribe(ctx context.Context) error {
	for len(c.subacks) > 0 {
		<-c.subacks // a late answer of a connection that failed
	}
	for i := 0; i < len(c.subs); i += liteSubBatch {
		batch := c.subs[i:min(i+liteSubBatch, len(c.subs))]
		c.mu.Lock()
		err := writeSubscribe(c.w, c.packetID(), batch)
		if err == nil {
			err = c.w.Flush()
		}
		c.mu.Unlock()
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		select {
		case body := <-c.subacks:
			for j, code := range body[2:] {
				if code == 0x80 && j < len(batch) {
					return fmt.Errorf("broker refused the subscription %q", batch[j])
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("subscribing: %w", ctx.Err())
		}
	}
	return nil
}

// packetID returns the next non-zero packet ID. Called with mu held.
func (c *liteClient) packetID() uint16 {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	return c.nextID
}

// read handles the broker's packets until the connection fails.
func (c *liteClient) read(conn net.Conn, br *bufio.Reader) {
	var deadline time.Time
	for {
		// Pings every liteKeepAlive/2 get answers, so silence this long
		// means the broker or the path is gone. Moving the deadline is a
		// timer update: once a second is enough, not once a packet.
		if now := time.Now(); now.Sub(deadline) > -liteKeepAlive*3/2+time.Second {
			deadline = now.Add(liteKeepAlive * 3 / 2)
			_ = conn.SetReadDeadline(deadline)
		}
		typ, body, err := readPacket(br)
		if err != nil {
			c.dropped(conn, err)
			return
		}
		switch typ {
		case 3:
			p, err := parsePublish(body)
			if err != nil {
				c.dropped(conn, err)
				return
			}
			if p.qos > 0 {
				c.mu.Lock()
				if c.conn == conn {
					_, _ = c.w.Write([]byte{0x40, 2, byte(p.id >> 8), byte(p.id)}) // PUBACK
					_ = c.w.Flush()
				}
				c.mu.Unlock()
			}
			if c.onMessage != nil {
				c.onMessage(p.topic, p.payload, p.retained)
			}
		case 4: // PUBACK
			c.acked.Add(1)
			if len(body) >= 2 {
				c.acknowledged(binary.BigEndian.Uint16(body))
			}
		case 9: // SUBACK
			select {
			case c.subacks <- body:
			default:
			}
		}
	}
}

// acknowledged crosses packet ID id off the confirmed publish waiting for
// it, if any.
func (c *liteClient) acknowledged(id uint16) {
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	if w := c.confirm; w != nil && w.ids[id] {
		delete(w.ids, id)
		if len(w.ids) == 0 && !w.writing {
			w.finish()
		}
	}
}

// dropped closes a failed connection once.
func (c *liteClient) dropped(conn net.Conn, err error) {
	c.mu.Lock()
	mine := c.conn == conn
	if mine {
		c.conn, c.w = nil, nil
	}
	c.mu.Unlock()
	conn.Close()
	if mine {
		c.ackMu.Lock()
		if c.confirm != nil {
			c.confirm.lost = true
			c.confirm.finish() // its PUBACKs will not come on a new connection
		}
		c.ackMu.Unlock()
		c.connected.Store(false)
		if !c.closing.Load() {
			c.log.Warn("shared connection lost", "client", c.clientID, "err", err)
		}
	}
}

// keep pings while connected and reconnects when not, until ctx is done;
// then it disconnects.
func (c *liteClient) keep(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastPing := time.Now()
	backoff, nextTry := time.Second, time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if c.connected.Load() {
			if time.Since(lastPing) >= liteKeepAlive/2 {
				lastPing = time.Now()
				c.mu.Lock()
				if c.conn != nil {
					_ = c.conn.SetWriteDeadline(time.Now().Add(liteWriteLimit))
					_, _ = c.w.Write([]byte{0xC0, 0}) // PINGREQ
					_ = c.w.Flush()
				}
				c.mu.Unlock()
			}
			backoff = time.Second
			continue
		}
		if time.Now().Before(nextTry) {
			continue
		}
		if err := c.connect(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("shared connection: reconnect failed", "client", c.clientID, "err", err, "retry_in", backoff)
			nextTry = time.Now().Add(backoff)
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		c.reconnects.Add(1)
		c.log.Info("shared connection back", "client", c.clientID)
	}
}

// publish writes msgs and flushes them; it returns how many were written.
// Messages written while the connection is down are lost, as a device's
// would be.
func (c *liteClient) publish(msgs []Message) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return 0
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(liteWriteLimit))
	n, size := 0, 0
	for i := range msgs {
		m := &msgs[i]
		k, err := writePublish(c.w, m, c.packetID)
		if err != nil {
			break
		}
		n++
		size += k
	}
	if err := c.w.Flush(); err != nil {
		// The reader sees the broken connection and reconnects.
		c.log.Warn("shared connection: write failed", "client", c.clientID, "err", err)
		_ = c.conn.Close()
	}
	c.published.Add(uint64(n))
	c.bytes.Add(uint64(size))
	return n
}

// publishConfirmed writes msgs at QoS 1 (at least) and waits until the
// broker has acknowledged every one of them, which it does once it has
// stored and routed them (a retained message is then what new
// subscribers get). It gives up at deadline or when the connection drops,
// and returns how many of msgs were acknowledged. It is for the few
// messages that must not be lost to a disconnect right after them: the
// devices' offline states on shutdown.
func (c *liteClient) publishConfirmed(msgs []Message, deadline time.Time) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	w := &ackWait{ids: make(map[uint16]bool, len(msgs)), writing: true, done: make(chan struct{})}
	c.ackMu.Lock()
	c.confirm = w
	c.ackMu.Unlock()
	defer func() {
		c.ackMu.Lock()
		c.confirm = nil
		c.ackMu.Unlock()
	}()

	c.mu.Lock()
	if c.conn == nil {
		c.mu.Unlock()
		return 0, errors.New("not connected")
	}
	_ = c.conn.SetWriteDeadline(deadline)
	sent := 0 // packet IDs handed out, so messages (partly) written
	nextID := func() uint16 {
		id := c.packetID()
		c.ackMu.Lock()
		w.ids[id] = true
		c.ackMu.Unlock()
		sent++
		return id
	}
	var err error
	written := 0
	for i := range msgs {
		m := msgs[i]
		m.QoS = max(m.QoS, 1)
		var k int
		if k, err = writePublish(c.w, &m, nextID); err != nil {
			break
		}
		written++
		c.bytes.Add(uint64(k))
	}
	if ferr := c.w.Flush(); ferr != nil {
		err = ferr
		_ = c.conn.Close() // the reader sees it and reports the drop
	}
	_ = c.conn.SetWriteDeadline(time.Time{})
	c.mu.Unlock()
	c.published.Add(uint64(written))

	c.ackMu.Lock()
	w.writing = false
	if len(w.ids) == 0 {
		w.finish()
	}
	c.ackMu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
	}
	c.ackMu.Lock()
	missing, lost := len(w.ids), w.lost
	c.ackMu.Unlock()
	acked := sent - missing
	switch {
	case err != nil:
		return acked, fmt.Errorf("write: %w", err)
	case missing > 0 && (lost || !c.connected.Load()):
		// lost, not only the state now: the keeper may have connected
		// again since the drop.
		return acked, fmt.Errorf("connection lost with %d of %d unacknowledged", missing, len(msgs))
	case missing > 0:
		return acked, fmt.Errorf("%d of %d not acknowledged within the shutdown budget", missing, len(msgs))
	}
	return acked, nil
}

// disconnect sends DISCONNECT and closes the connection gracefully: it
// shuts down its sending side and waits (at most 2 s) for the broker to
// close, while the reader drains the broker's last PUBACKs. Closing at
// once with unread acks would make the kernel reset the connection, and
// the broker would lose whatever it had not read yet: the wills sent
// just before.
//
// The context given to start must be done: disconnect first waits (at
// most liteKeepStop) for the keeper to stop, so that no reconnect opens
// a connection after it.
func (c *liteClient) disconnect() {
	c.closing.Store(true)
	c.waitKeeper()
	c.mu.Lock()
	conn := c.conn
	if conn == nil {
		c.mu.Unlock()
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.w.Write([]byte{0xE0, 0})
	_ = c.w.Flush()
	c.mu.Unlock()
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	for deadline := time.Now().Add(2 * time.Second); c.connected.Load() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	c.mu.Lock()
	if c.conn == conn {
		c.conn, c.w = nil, nil
	}
	c.mu.Unlock()
	_ = conn.Close()
	c.connected.Store(false)
}

// MQTT 3.1.1 encoding (OASIS standard, section 2 and 3).

func writeRemaining(w *bufio.Writer, n int) {
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		_ = w.WriteByte(b)
		if n == 0 {
			return
		}
	}
}

func writeStr(w *bufio.Writer, s string) {
	_ = w.WriteByte(byte(len(s) >> 8))
	_ = w.WriteByte(byte(len(s)))
	_, _ = w.WriteString(s)
}

func writeConnect(w *bufio.Writer, clientID string, user *url.Userinfo) {
	flags := byte(0x02) // clean session
	n := 10 + 2 + len(clientID)
	var name, pass string
	var hasPass bool
	if user != nil {
		name = user.Username()
		pass, hasPass = user.Password()
		flags |= 0x80
		n += 2 + len(name)
		if hasPass {
			flags |= 0x40
			n += 2 + len(pass)
		}
	}
	_ = w.WriteByte(0x10)
	writeRemaining(w, n)
	writeStr(w, "MQTT")
	_ = w.WriteByte(4) // protocol level 3.1.1
	_ = w.WriteByte(flags)
	_ = w.WriteByte(byte(liteKeepAlive / time.Second >> 8))
	_ = w.WriteByte(byte(liteKeepAlive / time.Second))
	writeStr(w, clientID)
	if user != nil {
		writeStr(w, name)
		if hasPass {
			writeStr(w, pass)
		}
	}
}

func writeSubscribe(w *bufio.Writer, id uint16, filters []string) error {
	n := 2
	for _, f := range filters {
		if len(f) > 65535 {
			return fmt.Errorf("topic filter of %d bytes", len(f))
		}
		n += 2 + len(f) + 1
	}
	_ = w.WriteByte(0x82)
	writeRemaining(w, n)
	_ = w.WriteByte(byte(id >> 8))
	_ = w.WriteByte(byte(id))
	for _, f := range filters {
		writeStr(w, f)
		_ = w.WriteByte(0) // QoS 0
	}
	return nil
}

// writePublish encodes one PUBLISH and returns its size in bytes.
func writePublish(w *bufio.Writer, m *Message, nextID func() uint16) (int, error) {
	if len(m.Topic) > 65535 {
		return 0, fmt.Errorf("topic of %d bytes", len(m.Topic))
	}
	h := byte(0x30)
	if m.Retained {
		h |= 1
	}
	n := 2 + len(m.Topic) + len(m.Payload)
	if m.QoS > 0 {
		h |= 1 << 1
		n += 2
	}
	_ = w.WriteByte(h)
	writeRemaining(w, n)
	writeStr(w, m.Topic)
	if m.QoS > 0 {
		id := nextID()
		_ = w.WriteByte(byte(id >> 8))
		_ = w.WriteByte(byte(id))
	}
	_, err := w.WriteString(m.Payload)
	return n + 2, err
}

// readPacket reads one packet and returns its type and body; for PUBLISH
// the body is prefixed with the fixed header's flags byte.
func readPacket(r *bufio.Reader) (typ byte, body []byte, err error) {
	h, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7F) * mult
		if b&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("malformed remaining length")
		}
		mult *= 128
	}
	if n > liteMaxPacket {
		return 0, nil, fmt.Errorf("packet of %d bytes", n)
	}
	typ = h >> 4
	off := 0
	if typ == 3 {
		off = 1
	}
	// Grow the body with what arrives rather than trusting the length:
	// a bogus length near the limit costs no megabyte.
	buf := bytes.NewBuffer(make([]byte, off, off+min(n, 4096)))
	if _, err := io.CopyN(buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	body = buf.Bytes()
	if typ == 3 {
		body[0] = h & 0x0F
	}
	return typ, body, nil
}

// publishPacket is a received PUBLISH.
type publishPacket struct {
	topic    string
	payload  []byte
	qos      byte
	id       uint16 // packet ID, QoS > 0 only
	retained bool
}

// parsePublish decodes a PUBLISH body as readPacket returns it (the fixed
// header's flags first).
func parsePublish(body []byte) (publishPacket, error) {
	if len(body) < 3 {
		return publishPacket{}, errors.New("short PUBLISH")
	}
	flags := body[0]
	body = body[1:]
	n := int(binary.BigEndian.Uint16(body))
	if len(body) < 2+n {
		return publishPacket{}, errors.New("short PUBLISH topic")
	}
	p := publishPacket{topic: string(body[2 : 2+n]), payload: body[2+n:], qos: flags >> 1 & 3, retained: flags&1 == 1}
	if p.qos == 3 {
		return publishPacket{}, errors.New("PUBLISH with QoS 3")
	}
	if p.qos > 0 {
		if len(p.payload) < 2 {
			return publishPacket{}, errors.New("PUBLISH without packet ID")
		}
		p.id = binary.BigEndian.Uint16(p.payload)
		p.payload = p.payload[2:]
	}
	return p, nil
}

// waitKeeper waits (at most liteKeepStop) for the keeper to stop; the
// context given to start must be done. A keeper that is reconnecting
// would otherwise run onConnect (the devices' "online" messages) after
// the goodbye's wills and leave every device retained as online.
func (c *liteClient) waitKeeper() {
	if c.keepDone == nil {
		return
	}
	t := time.NewTimer(liteKeepStop)
	defer t.Stop()
	select {
	case <-c.keepDone:
	case <-t.C:
		c.log.Warn("shared connection: keeper still running at shutdown", "client", c.clientID)
	}
}
