package market

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/p2p"
)

// Event states, as the API shows them.
const (
	StateOpen       = "open"       // held, its gate closure (+ collect) not reached
	StateCleared    = "cleared"    // cleared here; the author's root not seen yet
	StateNoAwards   = "no_awards"  // cleared with no awards: nothing to do
	StateAgreed     = "agreed"     // the author's root is this node's too
	StateRefused    = "refused"    // a root or reservation that does not match: never dispatched
	StateFirm       = "firm"       // a confirmed reservation names this node's root
	StateLapsed     = "lapsed"     // no confirmed reservation by the window start
	StateDispatched = "dispatched" // window started: this node's setpoints sent
	StateDone       = "done"       // window ended: restored
)

// Store is what the service keeps (node/store's settlement namespace).
type Store interface {
	PutSettle(key string, value []byte) error
	DeleteSettle(keys []string) error
	ScanSettle(prefix string, fn func(key string, value []byte) error) error
}

// Reservations reads the confirmed FLEX Reserved events from fromBlock on
// (the node's chain index).
type Reservations interface {
	Reserved(ctx context.Context, fromBlock uint64) ([]chain.Event, error)
}

// Setpoints is the node's setpoint path (devices.Dispatcher behind the
// disk guard): it checks the device's safety limits and the homeowner's
// opt-out and publishes on the device's topic.
type Setpoints interface {
	Send(ctx context.Context, sp gridmint.Setpoint) (gridmint.CommandRecord, error)
}

// Deps are what the service is wired to.
type Deps struct {
	Log   *slog.Logger
	Clock gridmint.Clock
	// Self is the node's account: the author of its messages.
	Self common.Address
	// Home: the node has devices and offers them (with Config.Offer).
	Home bool
	// Key is the node's DeviceKey of one of its devices.
	Key func(gridmint.DeviceID) gridmint.DeviceKey
	// Devices are the node's devices with their live state.
	Devices func() []devices.DeviceState
	Store   Store
	// Publish signs and gossips a body as the node.
	Publish func(ctx context.Context, b p2p.Body) (p2p.Message, error)
	// Reserver burns FLEX for the node's own requests; nil: never.
	Reserver chain.Reserver
	// Balance reads the node's FLEX balance, base units, so that a
	// reserve asked for by the API is refused with what is missing
	// before a transaction fails; nil: not checked.
	Balance      func(ctx context.Context) (*big.Int, error)
	Reservations Reservations
	// Setpoints and Command (the command log) are a home's; nil on a
	// utility.
	Setpoints Setpoints
	Command   func(id string) (gridmint.CommandRecord, error)
	// Tracker gets each request that becomes firm; nil: nobody.
	Tracker Tracker
}

// Service is the market on one node. Create it with New, feed it
// accepted gossip with Handle, and run it with Run.
type Service struct {
	cfg Config
	d   Deps
	log *slog.Logger
	m   *metrics

	mu     sync.Mutex
	events map[gridmint.RequestID]*eventRecord
	offers map[gridmint.OfferID]*offerRecord
	// unmatched are reservations of requests not held (yet).
	unmatched map[gridmint.RequestID]chain.Event
	cursor    uint64 // next block to read reservations from
	idle      map[idleKey]gridmint.FlexReason
	tracked   map[gridmint.RequestID]bool
	retry     map[gridmint.RequestID]time.Time // a failed reserve's next try
	reserving map[gridmint.RequestID]bool      // a reserve transaction in flight
	// policy is the homeowner's edits over the configuration's policy
	// (policy.go); its own lock, taken without s.mu.
	policy policyOverrides
	// schedules are the signed device plans held (schedules.go), and
	// how many each author has.
	schedules     map[scheduleKey]*SignedSchedule
	scheduleCount map[common.Address]int
	// exemptions are the declared opt-outs and grid limits held
	// (exemptions.go), and how many each author has.
	exemptions     map[exemptionKey]*Exemption
	exemptionCount map[common.Address]int
	// derate is the part, ppm, of a device's capacity it may offer after
	// its proof-of-flexibility tests (SetDerate); nil: all of it.
	derate func(gridmint.DeviceID) int64
}

// reserveRetry is how long (node time) a utility waits to try a failed
// reserve again: a lack of FLEX is not mended in a second.
const reserveRetry = 5 * time.Minute

type idleKey struct {
	dev gridmint.DeviceID
	req gridmint.RequestID
}

// offerRecord is one offer held; kept as JSON under offerPrefix.
type offerRecord struct {
	V        int                `json:"v"`
	ID       gridmint.OfferID   `json:"id"`
	Provider string             `json:"provider"`
	Signed   time.Time          `json:"signed"`
	Offer    gridmint.Offer     `json:"offer"` // Device: the network name
	Received time.Time          `json:"received"`
	Own      bool               `json:"own,omitempty"`
	Local    gridmint.DeviceID  `json:"local,omitempty"`  // own: the node's device
	Request  gridmint.RequestID `json:"request,omitzero"` // own: offered for it
}

func (o *offerRecord) signed() flex.SignedOffer {
	return flex.SignedOffer{ID: o.ID, Provider: o.Provider, Signed: o.Signed, Offer: o.Offer}
}

// eventRecord is one request and every step taken for it; kept as JSON
// under eventPrefix.
type eventRecord struct {
	V        int                 `json:"v"`
	ID       gridmint.RequestID  `json:"id"`
	Buyer    string              `json:"buyer"`
	Signed   time.Time           `json:"signed"`
	Request  gridmint.Request    `json:"request"`
	Received time.Time           `json:"received"`
	State    string              `json:"state"`
	Reason   gridmint.FlexReason `json:"reason,omitempty"`
	Detail   string              `json:"detail,omitempty"`

	Considered int            `json:"considered,omitempty"`
	ClearedAt  time.Time      `json:"cleared_at,omitzero"`
	Clearing   *flex.Clearing `json:"clearing,omitempty"`

	Root        *rootRecord        `json:"root,omitempty"`
	Reservation *reservationRecord `json:"reservation,omitempty"`
	// Reserving: own request, reserve transaction not yet confirmed.
	ReserveTx common.Hash  `json:"reserve_tx,omitzero"`
	Steps     []stepRecord `json:"steps,omitempty"`
	Log       []logLine    `json:"log,omitempty"`
}

type rootRecord struct {
	Root    common.Hash `json:"root"`
	Awards  uint64      `json:"awards"`
	Value   string      `json:"value"`
	Message common.Hash `json:"message"`
	Agreed  bool        `json:"agreed"`
}

type reservationRecord struct {
	Tx     common.Hash         `json:"tx"`
	Block  uint64              `json:"block"`
	Root   common.Hash         `json:"root"`
	Amount string              `json:"amount"`
	Firm   bool                `json:"firm"`
	Reason gridmint.FlexReason `json:"reason,omitempty"`
}

type stepRecord struct {
	flex.Step
	Sent    bool      `json:"sent,omitempty"`
	SentAt  time.Time `json:"sent_at,omitzero"`
	Command string    `json:"command,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

type logLine struct {
	At     time.Time `json:"at"`
	Step   string    `json:"step"`
	Detail string    `json:"detail,omitempty"`
}

// Store keys, in the settlement namespace, apart from the claim cycle's
// and the engine's.
const (
	offerPrefix = "mo/"
	eventPrefix = "me/"
)

func offerKey(id gridmint.OfferID) string               { return offerPrefix + id.String() }
func eventKey(id gridmint.RequestID) string             { return eventPrefix + id.String() }
func rootOf(c *flex.Clearing) common.Hash               { return common.Hash(c.Root) }
func bigString(v *big.Int) string                       { return v.String() }
func parseBig(s string) *big.Int                        { v, _ := new(big.Int).SetString(s, 10); return v }
func (e *eventRecord) windowStarted(now time.Time) bool { return !now.Before(e.Request.WindowStart) }

// NetDevice is the network name of device key of author's: what offers
// and awards carry, the same on every node.
func NetDevice(author common.Address, key gridmint.DeviceKey) gridmint.DeviceID {
	// Lower-case hex without EIP-55's checksum: no hashing per device.
	return gridmint.DeviceID("0x" + hex.EncodeToString(author[:]) + "/key/" + hex.EncodeToString(key[:]))
}

// New builds the service and loads what the store keeps.
func New(cfg Config, d Deps) (*Service, error) {
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = gridmint.SystemClock{}
	}
	if d.Devices == nil {
		d.Devices = func() []devices.DeviceState { return nil }
	}
	s := &Service{cfg: cfg, d: d, log: d.Log, m: newMetrics(),
		events: map[gridmint.RequestID]*eventRecord{}, offers: map[gridmint.OfferID]*offerRecord{},
		unmatched: map[gridmint.RequestID]chain.Event{}, idle: map[idleKey]gridmint.FlexReason{}, tracked: map[gridmint.RequestID]bool{}, retry: map[gridmint.RequestID]time.Time{},
		reserving: map[gridmint.RequestID]bool{},
		schedules: map[scheduleKey]*SignedSchedule{}, scheduleCount: map[common.Address]int{},
		exemptions: map[exemptionKey]*Exemption{}, exemptionCount: map[common.Address]int{}}
	err := d.Store.ScanSettle(offerPrefix, func(_ string, v []byte) error {
		var o offerRecord
		if err := json.Unmarshal(v, &o); err != nil {
			return fmt.Errorf("market: stored offer: %w", err)
		}
		s.offers[o.ID] = &o
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = d.Store.ScanSettle(eventPrefix, func(_ string, v []byte) error {
		var e eventRecord
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("market: stored event: %w", err)
		}
		s.events[e.ID] = &e
		if e.State == StateFirm || e.State == StateDispatched || e.State == StateDone {
			// Tracked before the restart; the tracker keeps its own state.
			s.tracked[e.ID] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.loadPolicy(); err != nil {
		return nil, err
	}
	if err := s.loadSchedules(); err != nil {
		return nil, err
	}
	return s, s.loadExemptions()
}

// Run ticks the market every tick of wall time until ctx ends.
func (s *Service) Run(ctx context.Context, tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		s.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step is one round: follow reservations, clear what is due, exempt the
// awards of devices the homeowner opted out, dispatch and restore what
// is due, lapse what was not reserved, offer, prune.
func (s *Service) Step(ctx context.Context) {
	s.followReservations(ctx)
	now := s.d.Clock.Now()
	s.clearDue(ctx, now)
	s.reserveDue(ctx, now)
	s.exemptOptedOut(ctx, now)
	s.dispatchDue(ctx, now)
	if s.d.Home && s.cfg.Offer {
		s.produce(ctx, now)
	}
	s.prune(now)
}

// Handle takes an accepted gossip message (own ones too).
func (s *Service) Handle(m p2p.Message) {
	switch b := m.Body.(type) {
	case p2p.Request:
		s.handleRequest(m, gridmint.Request(b))
	case p2p.Offer:
		s.handleOffer(m, b)
	case p2p.AwardsRoot:
		s.handleRoot(m, b)
	case p2p.Schedule:
		s.handleSchedule(m, b)
	case p2p.Exemption:
		s.handleExemption(m, b)
	}
}

func (s *Service) refuse(r gridmint.FlexReason) { s.m.refused.WithLabelValues(string(r)).Inc() }

func (s *Service) handleRequest(m p2p.Message, r gridmint.Request) {
	id := gridmint.RequestID(m.ID)
	now := s.d.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.events[id]; ok {
		return
	}
	sr := flex.SignedRequest{ID: id, Buyer: m.Author.Hex(), Signed: m.Created, Request: r}
	if err := flex.CheckRequest(sr, now); err != nil {
		// A request must reach the network before its gate closure;
		// one seen later (a late relay, catch-up) is not held.
		s.refuse(flex.Reason(err))
		s.log.Info("market: request refused", "request", id, "reason", flex.Reason(err), "err", err)
		return
	}
	e := &eventRecord{V: 1, ID: id, Buyer: sr.Buyer, Signed: m.Created, Request: r, Received: now, State: StateOpen}
	e.logf(now, "request", "%v W %s in %s, [%s, %s), max %d µFLEX/kWh, gate closure %s, from %s", r.Power, r.Direction, r.Zone,
		r.WindowStart.UTC().Format(time.RFC3339), r.WindowEnd.UTC().Format(time.RFC3339), r.MaxPrice, r.GateClosure.UTC().Format(time.RFC3339), sr.Buyer)
	s.events[id] = e
	s.m.requests.Inc()
	s.saveEventLocked(e)
}

func (s *Service) handleOffer(m p2p.Message, o p2p.Offer) {
	id := gridmint.OfferID(m.ID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.offers[id]; ok {
		return
	}
	terms := o.Terms()
	terms.Device = NetDevice(m.Author, o.Device)
	r := &offerRecord{V: 1, ID: id, Provider: m.Author.Hex(), Signed: m.Created, Offer: terms, Received: s.d.Clock.Now(), Own: m.Author == s.d.Self}
	s.offers[id] = r
	s.m.offersReceived.Inc()
	s.saveOfferLocked(r)
}

func (s *Service) handleRoot(m p2p.Message, b p2p.AwardsRoot) {
	id := gridmint.RequestID(b.RequestID)
	now := s.d.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.events[id]
	switch {
	case !ok:
		s.refuse(ReasonUnknownRequest)
		return
	case !strings.EqualFold(m.Author.Hex(), e.Buyer):
		s.refuse(ReasonNotBuyer)
		e.logf(now, "root_ignored", "%s published a root for another's request (not_buyer)", m.Author.Hex())
		s.saveEventLocked(e)
		return
	case e.Root != nil:
		return
	}
	e.Root = &rootRecord{Root: b.Root, Awards: b.Awards, Value: bigString(b.Value), Message: m.ID}
	e.logf(now, "root_received", "root %s, %d awards, value %s", b.Root.Hex(), b.Awards, b.Value)
	s.compareRootLocked(e, now)
	s.saveEventLocked(e)
}

// compareRootLocked compares the author's root with this node's clearing
// once both are there.
func (s *Service) compareRootLocked(e *eventRecord, now time.Time) {
	if e.Root == nil || e.Clearing == nil || e.Root.Agreed || e.State == StateRefused {
		return
	}
	c := e.Clearing
	err := flex.CheckAwardsRoot(*c, e.Root.Root)
	if err == nil && (e.Root.Awards != uint64(len(c.Awards)) || parseBig(e.Root.Value).Cmp(c.Value()) != 0) {
		err = fmt.Errorf("%s: root %s names %d awards worth %s, this node's clearing has %d worth %s",
			gridmint.FlexRootMismatch, e.Root.Root.Hex(), e.Root.Awards, e.Root.Value, len(c.Awards), c.Value())
	}
	if err != nil {
		s.refuse(gridmint.FlexRootMismatch)
		e.State, e.Reason, e.Detail = StateRefused, gridmint.FlexRootMismatch, err.Error()
		e.logf(now, "root_refused", "%v", err)
		s.log.Warn("market: awards root refused", "request", e.ID, "err", err)
		return
	}
	e.Root.Agreed = true
	if e.State == StateCleared {
		e.State = StateAgreed
	}
	e.logf(now, "root_agreed", "the author's root is this node's")
}

func (e *eventRecord) logf(at time.Time, step, format string, args ...any) {
	e.Log = append(e.Log, logLine{At: at, Step: step, Detail: fmt.Sprintf(format, args...)})
}

func (s *Service) saveEventLocked(e *eventRecord) {
	v, err := json.Marshal(e)
	if err == nil {
		err = s.d.Store.PutSettle(eventKey(e.ID), v)
	}
	if err != nil {
		s.log.Error("market: keeping an event", "request", e.ID, "err", err)
	}
}

func (s *Service) saveOfferLocked(o *offerRecord) {
	v, err := json.Marshal(o)
	if err == nil {
		err = s.d.Store.PutSettle(offerKey(o.ID), v)
	}
	if err != nil {
		s.log.Error("market: keeping an offer", "offer", o.ID, "err", err)
	}
}

// clearDue clears every open request whose gate closure + collect has
// passed. A request clears together with every held request of an
// earlier or equal gate closure (flex.Clear takes them in that order),
// so an offer awarded to an earlier request is not awarded again, on
// every node alike.
func (s *Service) clearDue(ctx context.Context, now time.Time) {
	s.mu.Lock()
	var due []*eventRecord
	for _, e := range s.events {
		if e.State == StateOpen && !now.Before(e.Request.GateClosure.Add(s.cfg.Collect)) {
			due = append(due, e)
		}
	}
	if len(due) == 0 {
		s.mu.Unlock()
		return
	}
	slices.SortFunc(due, func(a, b *eventRecord) int { return a.Request.GateClosure.Compare(b.Request.GateClosure) })
	last := due[len(due)-1].Request.GateClosure
	var reqs []flex.SignedRequest
	for _, e := range s.events {
		if !e.Request.GateClosure.After(last) {
			reqs = append(reqs, flex.SignedRequest{ID: e.ID, Buyer: e.Buyer, Signed: e.Signed, Request: e.Request})
		}
	}
	offers := make([]flex.SignedOffer, 0, len(s.offers))
	for _, o := range s.offers {
		offers = append(offers, o.signed())
	}
	s.mu.Unlock()

	res := flex.Clear(reqs, offers)
	byID := map[gridmint.RequestID]flex.Clearing{}
	for _, c := range res.Clearings {
		byID[c.RequestID] = c
	}
	var publish []*eventRecord
	var fire []FirmEvent
	s.mu.Lock()
	for _, e := range due {
		c, ok := byID[e.ID]
		if !ok {
			continue // skipped as invalid: cannot happen for a checked request
		}
		e.Clearing, e.ClearedAt = &c, now
		e.Considered = 0
		for _, o := range offers {
			if o.Offer.Zone == e.Request.Zone && o.Offer.Direction == e.Request.Direction {
				e.Considered++
			}
		}
		s.m.clearings.Inc()
		e.State = StateCleared
		if len(c.Awards) == 0 {
			e.State = StateNoAwards
		}
		e.logf(now, "cleared", "%d offers in zone and direction; %d awards, %v W at %d µFLEX/kWh (short %v), value %s, root %s",
			e.Considered, len(c.Awards), c.Awarded, c.Price, c.Short, c.Value(), rootOf(&c).Hex())
		s.compareRootLocked(e, now)
		if strings.EqualFold(e.Buyer, s.d.Self.Hex()) {
			publish = append(publish, e)
		}
		if f, ok := s.checkReservationLocked(ctx, e, now); ok {
			fire = append(fire, f)
		}
		s.saveEventLocked(e)
	}
	s.mu.Unlock()
	s.track(ctx, fire)
	for _, e := range publish {
		s.publishRoot(ctx, e)
	}
}

// publishRoot gossips the root of an own request.
func (s *Service) publishRoot(ctx context.Context, e *eventRecord) {
	s.mu.Lock()
	c := *e.Clearing
	s.mu.Unlock()
	b := p2p.AwardsRoot{RequestID: common.Hash(e.ID), Root: rootOf(&c), Awards: uint64(len(c.Awards)), Value: c.Value()}
	m, err := s.d.Publish(ctx, b)
	now := s.d.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && len(m.Raw) == 0 {
		e.logf(now, "root_not_published", "%v", err)
		s.log.Warn("market: publishing the awards root", "request", e.ID, "err", err)
	} else {
		s.m.roots.Inc()
		e.logf(now, "root_published", "root %s in message %s", b.Root.Hex(), m.ID.Hex())
	}
	s.saveEventLocked(e)
}

// reserveDue burns FLEX for own requests with awards, until confirmed or
// the window starts; with market.reserve manual it leaves that to
// ReserveEvent.
func (s *Service) reserveDue(ctx context.Context, now time.Time) {
	if s.d.Reserver == nil || s.cfg.Reserve == ReserveManual {
		return
	}
	s.mu.Lock()
	var due []*eventRecord
	for _, e := range s.events {
		own := strings.EqualFold(e.Buyer, s.d.Self.Hex())
		if own && e.Clearing != nil && len(e.Clearing.Awards) > 0 && e.ReserveTx == (common.Hash{}) && e.Reservation == nil && !s.reserving[e.ID] &&
			e.State != StateRefused && e.State != StateLapsed && !e.windowStarted(now) && !now.Before(s.retry[e.ID]) {
			due = append(due, e)
			s.reserving[e.ID] = true
		}
	}
	s.mu.Unlock()
	for _, e := range due {
		s.mu.Lock()
		c := *e.Clearing
		s.mu.Unlock()
		if c.Value().Sign() != 0 {
			// Every award at price 0: nothing to burn, and the contract
			// refuses a zero reserve. Such awards cannot become firm.
			_, _ = s.reserveOne(ctx, e, c, "auto")
		}
		s.mu.Lock()
		delete(s.reserving, e.ID)
		s.mu.Unlock()
	}
}

// reserveOne burns c's value for e (the path of both reserveDue and
// ReserveEvent); by says who asked, for the event's log. The caller
// holds e in s.reserving.
func (s *Service) reserveOne(ctx context.Context, e *eventRecord, c flex.Clearing, by string) (*chain.Receipt, error) {
	v := c.Value()
	rc, err := s.d.Reserver.Reserve(ctx, common.Hash(e.ID), rootOf(&c), v)
	now := s.d.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.refuse(ReasonReserveFailed)
		s.retry[e.ID] = now.Add(reserveRetry)
		if s.cfg.Reserve == ReserveManual {
			e.logf(now, "reserve_failed", "%v (asked by %s)", err, by)
		} else {
			e.logf(now, "reserve_failed", "%v (retried every %v until the window starts)", err, reserveRetry)
		}
		s.log.Warn("market: reserve", "request", e.ID, "by", by, "err", err)
	} else {
		s.m.reserved.Inc()
		e.ReserveTx = rc.TxHash
		e.logf(now, "reserve_sent", "burned %s FLEX base units for root %s in tx %s (block %d), asked by %s", v, rootOf(&c).Hex(), rc.TxHash.Hex(), rc.Block, by)
	}
	s.saveEventLocked(e)
	return rc, err
}

// followReservations reads new confirmed Reserved events.
func (s *Service) followReservations(ctx context.Context) {
	if s.d.Reservations == nil {
		return
	}
	s.mu.Lock()
	from := s.cursor
	s.mu.Unlock()
	evs, err := s.d.Reservations.Reserved(ctx, from)
	if err != nil {
		s.log.Warn("market: reading reservations", "err", err)
		return
	}
	s.applyReservations(ctx, evs)
}

// applyReservations matches Reserved events to held requests.
func (s *Service) applyReservations(ctx context.Context, evs []chain.Event) {
	now := s.d.Clock.Now()
	s.mu.Lock()
	var fire []FirmEvent
	var dirty []*eventRecord
	for _, ev := range evs {
		if ev.Kind != chain.EventReserved {
			continue
		}
		if ev.Block+1 > s.cursor {
			s.cursor = ev.Block + 1
		}
		id := gridmint.RequestID(ev.Ref)
		e, ok := s.events[id]
		if !ok {
			s.unmatched[id] = ev
			continue
		}
		if !strings.EqualFold(ev.From.Hex(), e.Buyer) {
			// Anyone may burn naming any request; only the buyer's counts.
			s.refuse(ReasonNotBuyer)
			e.logf(now, "reservation_ignored", "%s burned %s naming this request: not its author", ev.From.Hex(), ev.Amount)
			s.saveEventLocked(e)
			continue
		}
		if e.Reservation != nil {
			continue
		}
		e.Reservation = &reservationRecord{Tx: ev.TxHash, Block: ev.Block, Root: ev.Aux, Amount: bigString(orZero(ev.Amount))}
		e.logf(now, "reservation_confirmed", "tx %s in block %d burned %s naming root %s", ev.TxHash.Hex(), ev.Block, ev.Amount, ev.Aux.Hex())
		if f, ok := s.checkReservationLocked(ctx, e, now); ok {
			fire = append(fire, f)
		}
		dirty = append(dirty, e)
	}
	s.mu.Unlock()
	// A request that became firm at or after its window start is
	// dispatched at once, before anything else: the latency the
	// benchmark measures.
	if len(fire) > 0 {
		s.dispatchDue(ctx, now)
	}
	s.mu.Lock()
	for _, e := range dirty {
		s.saveEventLocked(e)
	}
	s.mu.Unlock()
	s.track(ctx, fire)
}

func orZero(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}

// checkReservationLocked makes e firm when its buyer's reservation names
// its clearing's root with at least its value, and says so; it returns
// the firm event for the tracker.
func (s *Service) checkReservationLocked(_ context.Context, e *eventRecord, now time.Time) (FirmEvent, bool) {
	if e.Reservation == nil {
		if ev, ok := s.unmatched[e.ID]; ok && strings.EqualFold(ev.From.Hex(), e.Buyer) {
			delete(s.unmatched, e.ID)
			e.Reservation = &reservationRecord{Tx: ev.TxHash, Block: ev.Block, Root: ev.Aux, Amount: bigString(orZero(ev.Amount))}
			e.logf(now, "reservation_confirmed", "tx %s in block %d burned %s naming root %s", ev.TxHash.Hex(), ev.Block, ev.Amount, ev.Aux.Hex())
		}
	}
	r := e.Reservation
	if r == nil || e.Clearing == nil || r.Firm || r.Reason != "" {
		return FirmEvent{}, false
	}
	switch e.State {
	case StateCleared, StateAgreed:
	case StateLapsed:
		e.logf(now, "reservation_late", "the window started before the reservation was confirmed: nothing dispatched")
		return FirmEvent{}, false
	default:
		return FirmEvent{}, false // refused, no awards
	}
	if err := flex.CheckReservation(*e.Clearing, e.ID, [32]byte(r.Root), parseBig(r.Amount)); err != nil {
		reason := flex.Reason(err)
		s.refuse(reason)
		r.Reason = reason
		e.State, e.Reason, e.Detail = StateRefused, reason, err.Error()
		e.logf(now, "reservation_refused", "%v", err)
		s.log.Warn("market: reservation refused", "request", e.ID, "err", err)
		return FirmEvent{}, false
	}
	r.Firm = true
	e.State = StateFirm
	s.m.firm.Inc()
	e.logf(now, "firm", "the reservation names this node's root with at least the cleared value %s", e.Clearing.Value())
	// Local is filled by track, after any dispatch this makes due.
	f := FirmEvent{Clearing: *e.Clearing, ReservationTx: r.Tx, Reserved: parseBig(r.Amount), ReservationBlock: r.Block}
	return f, true
}

func (s *Service) track(ctx context.Context, fire []FirmEvent) {
	for _, f := range fire {
		s.mu.Lock()
		done := s.tracked[f.Clearing.RequestID]
		s.tracked[f.Clearing.RequestID] = true
		s.mu.Unlock()
		if !done && s.d.Tracker != nil {
			f.Local = s.localAwardsLocked(&f.Clearing) // reads the devices only: no lock needed
			s.d.Tracker.Track(ctx, f)
		}
	}
}

// localDevices maps the network names of the node's own devices to their
// ids.
func (s *Service) localDevices() map[gridmint.DeviceID]devices.DeviceState {
	out := map[gridmint.DeviceID]devices.DeviceState{}
	if s.d.Key == nil {
		return out
	}
	for _, st := range s.d.Devices() {
		out[NetDevice(s.d.Self, s.d.Key(st.ID))] = st
	}
	return out
}

func (s *Service) localAwardsLocked(c *flex.Clearing) []LocalAward {
	out, _ := s.localAwardsWith(c, nil)
	return out
}

// localAwardsWith is localAwardsLocked with the node's devices by network
// name, computed when nil; it returns them too.
func (s *Service) localAwardsWith(c *flex.Clearing, local map[gridmint.DeviceID]devices.DeviceState) ([]LocalAward, map[gridmint.DeviceID]devices.DeviceState) {
	if !s.d.Home {
		return nil, local
	}
	self := "0x" + hex.EncodeToString(s.d.Self[:]) + "/"
	var out []LocalAward
	for _, a := range c.Awards {
		if !strings.HasPrefix(string(a.Device), self) {
			continue
		}
		if local == nil {
			local = s.localDevices()
		}
		if st, ok := local[a.Device]; ok {
			out = append(out, LocalAward{Award: a, Device: st.ID})
		}
	}
	return out, local
}

// prune forgets offers whose window ended and events Retention after
// theirs.
func (s *Service) prune(now time.Time) {
	s.mu.Lock()
	var keys []string
	for id, o := range s.offers {
		if !now.Before(o.Offer.WindowEnd) {
			delete(s.offers, id)
			keys = append(keys, offerKey(id))
		}
	}
	for id, e := range s.events {
		if now.Sub(e.Request.WindowEnd) > s.cfg.Retention {
			delete(s.events, id)
			delete(s.tracked, id)
			delete(s.retry, id)
			keys = append(keys, eventKey(id))
		}
	}
	keys = append(keys, s.pruneSchedulesLocked(now)...)
	keys = append(keys, s.pruneExemptionsLocked(now)...)
	for k := range s.idle {
		if e, ok := s.events[k.req]; !ok || !now.Before(e.Request.GateClosure) {
			delete(s.idle, k)
		}
	}
	s.mu.Unlock()
	if len(keys) > 0 {
		if err := s.d.Store.DeleteSettle(keys); err != nil {
			s.log.Warn("market: pruning", "err", err)
		}
	}
}

// sortEvents orders events newest window first, then by id.
func sortEvents(es []*eventRecord) {
	slices.SortFunc(es, func(a, b *eventRecord) int {
		if c := b.Request.WindowStart.Compare(a.Request.WindowStart); c != 0 {
			return c
		}
		return cmp.Compare(a.ID.String(), b.ID.String())
	})
}
