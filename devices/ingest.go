package devices

import (
	"cmp"
	"errors"
	"fmt"
	"github.com/gridmint/gridmint/internal/mqtttopic"
	"github.com/gridmint/gridmint/internal/tokenbucket"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
)

// Message is one MQTT message as the node received it.
type Message struct {
	Topic   string
	Payload []byte
	// Size is the payload's length as received, bytes, when Payload holds
	// only its first bytes: the node keeps at most MaxPayload bytes of a
	// message, so that a flood of huge payloads cannot pile up in memory
	// while it waits to be processed. 0 means Payload is whole. A cut
	// message is rejected as malformed, unread.
	Size     int
	Received time.Time // node clock, UTC
	// Redelivered is MQTT's DUP flag: the broker sends the message again
	// because its acknowledgement never arrived (the node stopped after
	// storing it, before acknowledging).
	Redelivered bool
	// Retained is MQTT's RETAIN flag on delivery: the broker kept the
	// message and sends it because the node subscribed (at its start). A
	// retained online signal is the device's last will or birth message
	// and counts; retained telemetry is the device's last word, maybe from
	// long ago: it is stored, but it is no sign that the device is up now.
	Retained bool
}

// IngestConfig configures an Ingest.
type IngestConfig struct {
	// Node is the node's address, the first part of every DeviceID.
	Node string
	// Adapters, one per firmware installation (dialect + base topic).
	Adapters []Adapter
	// Known are devices already registered (from the store); Declared are
	// devices from the configuration, which override a known device's
	// kind, name and nameplate.
	Known, Declared []gridmint.Device
	// States are the stored normaliser states.
	States map[gridmint.DeviceID]CounterState
	// Discover registers devices first seen in traffic; without it their
	// messages are rejected as unknown_device.
	Discover bool
	// MaxDevices caps the registry (0: no cap), so that a stream of new
	// topics cannot grow it without bound; beyond it new devices are
	// rejected as unknown_device.
	MaxDevices int
	// StaleAfter marks a device offline when nothing was heard from it for
	// this long, whatever its last online signal said.
	StaleAfter time.Duration
	// RateLimit bounds what one device (or, before decoding, one topic)
	// may send; beyond it messages are only counted (ReasonRateLimited),
	// not stored. Zero values take DefaultRateLimit.
	RateLimit RateLimit
	Limits    Limits
	Clock     gridmint.Clock
}

// Ingest routes MQTT messages to adapters, normalises their measurements
// and keeps the live state of every device.
//
// Process and Accept must be called from one goroutine (the
// ingest pipeline), in order; Devices and Subscriptions are safe for
// concurrent use.
type Ingest struct {
	node string
	// routes finds a topic's adapter: the first in configuration order
	// with a matching filter (see CheckRoutes); filters lists them.
	routes     mqtttopic.Router[Adapter]
	filters    []string
	discover   bool
	maxDevices int
	staleAfter time.Duration
	limits     Limits
	clock      gridmint.Clock

	adapters []Adapter
	// limiter bounds measurements per device, rejected limits rejections
	// per topic; pipeline goroutine only.
	limiter, rejected *tokenbucket.Limiter

	// devices, live and adapterOf are written by the pipeline (Accept) and
	// by UpdateDevice, and read by everyone, under mu.
	mu        sync.RWMutex
	devices   map[gridmint.DeviceID]gridmint.Device
	live      map[gridmint.DeviceID]*DeviceState
	adapterOf map[gridmint.DeviceID]Adapter
	// groups indexes known devices by the groups their dialect's Grouper
	// puts them in; written with devices.
	groups  map[groupKey][]gridmint.DeviceID
	grouper map[string]Grouper                 // by dialect, the first adapter that is one
	states  map[gridmint.DeviceID]CounterState // pipeline goroutine only

	position map[Adapter]int // an adapter's index in IngestConfig.Adapters
	capsMu   sync.Mutex
	caps     map[int]CapReached // by adapter index; registryCap for max_devices
}

// CapReached is a configured device cap that refused a device: the
// registry's (IngestConfig.MaxDevices) or an adapter's
// (AdapterConfig.MaxDevices). Devices beyond it are rejected as
// unknown_device and lost, so the node says so.
type CapReached struct {
	// Setting names the cap: "max_devices", or "adapters[i].max_devices"
	// with i the adapter's index in IngestConfig.Adapters.
	Setting string
	Limit   int
	// First is the first refusal's detail and node time.
	First   string
	FirstAt time.Time
}

// registryCap is the caps key of the registry's cap.
const registryCap = -1

type groupKey struct{ dialect, group string }

// DeviceState is a device with its live values.
type DeviceState struct {
	gridmint.Device
	// Online: the device's own signal did not say offline and it was
	// heard from within StaleAfter.
	Online bool
	// Availability is the device's last own online signal.
	Availability Availability
	// ReportedName is the name the device announces itself (OpenDTU
	// <serial>/name); Device.Name, from the configuration, wins over it.
	ReportedName string
	// Fields says which of the values below the device has reported.
	Fields gridmint.ReadingFields
	// Power is the last measured power, W.
	Power gridmint.W
	// Energy and EnergyReverse are the normalised lifetime counters, mWh
	// (see gridmint.Reading).
	Energy, EnergyReverse gridmint.MWh
	// SoC is the last state of charge, %.
	SoC float64
	// LastSeen is the node time of the last message from the device.
	LastSeen time.Time
}

// NewIngest builds an Ingest. Declared devices must name a configured
// dialect.
func NewIngest(cfg IngestConfig) (*Ingest, error) {
	if cfg.Node == "" {
		return nil, gridmint.Errorf(gridmint.EInvalid, "ingest: empty node address")
	}
	if cfg.Clock == nil {
		cfg.Clock = gridmint.SystemClock{}
	}
	if cfg.Limits.MaxPower == nil {
		cfg.Limits = DefaultLimits()
	}
	in := &Ingest{
		node:       cfg.Node,
		discover:   cfg.Discover,
		maxDevices: cfg.MaxDevices,
		staleAfter: cfg.StaleAfter,
		limits:     cfg.Limits,
		clock:      cfg.Clock,
		devices:    map[gridmint.DeviceID]gridmint.Device{},
		live:       map[gridmint.DeviceID]*DeviceState{},
		adapterOf:  map[gridmint.DeviceID]Adapter{},
		groups:     map[groupKey][]gridmint.DeviceID{},
		grouper:    map[string]Grouper{},
		states:     map[gridmint.DeviceID]CounterState{},
		adapters:   cfg.Adapters,
		position:   map[Adapter]int{},
		caps:       map[int]CapReached{},
		limiter:    newLimiter(cfg.RateLimit),
		rejected:   newLimiter(DefaultRejectionLimit),
	}
	if err := CheckRoutes(cfg.Adapters); err != nil {
		return nil, err
	}
	dialects := map[string]bool{}
	for i, a := range cfg.Adapters {
		in.position[a] = i
		dialects[a.Dialect()] = true
		if g, ok := a.(Grouper); ok && in.grouper[a.Dialect()] == nil {
			in.grouper[a.Dialect()] = g
		}
		for _, f := range a.Subscriptions() {
			if added, _ := in.routes.Add(f, a); added {
				in.filters = append(in.filters, f)
			}
		}
	}
	for _, d := range cfg.Known {
		in.devices[d.ID] = d
	}
	for _, d := range cfg.Declared {
		if err := d.Validate(); err != nil {
			return nil, err
		}
		if !dialects[d.Dialect] {
			return nil, gridmint.Errorf(gridmint.EInvalid, "device %s: dialect %q has no adapter configured", d.ID, d.Dialect)
		}
		if old, ok := in.devices[d.ID]; ok && d.FirstSeen.IsZero() {
			d.FirstSeen = old.FirstSeen
		}
		in.devices[d.ID] = d
	}
	for id, st := range cfg.States {
		in.states[id] = st
	}
	for id, d := range in.devices {
		ls := &DeviceState{Device: d}
		if st, ok := in.states[id]; ok {
			ls.Fields, ls.Power, ls.SoC, ls.LastSeen = st.Fields, st.Power, st.SoC, st.Time
			ls.Energy, ls.EnergyReverse = st.Forward.Energy, st.Reverse.Energy
			// A device that said it was offline stays offline until it says
			// otherwise or sends data, however recent its last reading.
			ls.Availability = st.Availability
			if st.Heard.After(ls.LastSeen) {
				ls.LastSeen = st.Heard
			}
		}
		in.live[id] = ls
		in.index(d)
	}
	return in, nil
}

// index adds d to the groups of its dialect's Grouper. Call with mu held
// (or before in is shared).
func (in *Ingest) index(d gridmint.Device) {
	g := in.grouper[d.Dialect]
	if g == nil {
		return
	}
	for _, grp := range g.Groups(d.Serial) {
		k := groupKey{d.Dialect, grp}
		in.groups[k] = append(in.groups[k], d.ID)
	}
}

// Subscriptions returns every adapter's topic filters.
func (in *Ingest) Subscriptions() []string { return slices.Clone(in.filters) }

// Outcome is the result of processing a batch of messages: what must be
// made durable (in one transaction) before the messages are acknowledged.
type Outcome struct {
	Readings   []gridmint.Reading
	Rejections []gridmint.Rejection
	// NewDevices were discovered in this batch.
	NewDevices []gridmint.Device
	// States are the normaliser states changed by this batch.
	States map[gridmint.DeviceID]CounterState
	// Ignored counts messages on known topics that carry nothing gridmint
	// uses (Tasmota STATE, OpenDTU voltage).
	Ignored int
	// Suppressed counts inputs dropped by a rate limit, per reason: they
	// are counted in the store but not kept.
	Suppressed map[gridmint.Reason]int
	// CapsReached are the device caps that refused a device for the first
	// time in this batch (see Ingest.CapsReached).
	CapsReached []CapReached

	newDevices map[gridmint.DeviceID]gridmint.Device
	live       []liveChange
	// avail is each device's online state after this batch, as Accept
	// will leave it, for devices whose messages said something about it.
	avail map[gridmint.DeviceID]stagedAvailability
}

type stagedAvailability struct {
	availability Availability
	heard        time.Time // the latest non-offline message of the batch
}

type liveChange struct {
	id           gridmint.DeviceID
	adapter      Adapter
	at           time.Time
	name         string
	availability Availability
	reading      *gridmint.Reading
	retained     bool // see Message.Retained
}

// live is whether ch shows the device up now: fresh data, or an online
// signal. Retained telemetry does not (see Message.Retained).
func (ch liveChange) live() bool {
	return ch.reading != nil && !ch.retained
}

// heard is whether ch refreshes the device's LastSeen: any message but an
// offline signal, except retained telemetry.
func (ch liveChange) heard() bool {
	switch ch.availability {
	case AvailabilityOnline:
		return true
	case AvailabilityOffline:
		return false
	}
	return !ch.retained
}

// Process decodes and normalises msgs. Device states and normaliser
// states change only when Accept is called with the outcome, after the
// caller stored it. Decoders do advance (OpenDTU assembles measurements
// across messages), so a caller whose commit failed must retry the same
// Outcome rather than process the messages again.
func (in *Ingest) Process(msgs []Message) *Outcome {
	o := &Outcome{
		States:     map[gridmint.DeviceID]CounterState{},
		Suppressed: map[gridmint.Reason]int{},
		newDevices: map[gridmint.DeviceID]gridmint.Device{},
		avail:      map[gridmint.DeviceID]stagedAvailability{},
	}
	// The registry may be edited over the API meanwhile; read it locked.
	in.mu.RLock()
	defer in.mu.RUnlock()
	for _, m := range msgs {
		in.processOne(o, m)
	}
	in.storeAvailability(o)
	return o
}

// change queues ch for Accept and stages its effect on the device's
// online state: a reading means online, else the device's own signal.
func (o *Outcome) change(ch liveChange) {
	o.live = append(o.live, ch)
	a := ch.availability
	if ch.live() {
		a = AvailabilityOnline
	}
	if a == AvailabilityUnknown {
		return
	}
	s := o.avail[ch.id]
	s.availability = a
	if ch.heard() && ch.at.After(s.heard) {
		s.heard = ch.at
	}
	o.avail[ch.id] = s
}

// storeAvailability puts each device's online state into the counter
// state the batch stores: into every state the batch writes anyway, and
// into a new one where the availability changed. So a restart restores
// it; without this, a device whose last word was "offline" would show
// online after a restart until StaleAfter passed its last reading. Call
// with mu held.
func (in *Ingest) storeAvailability(o *Outcome) {
	for id, s := range o.avail {
		st, written := o.States[id]
		if !written {
			st = in.states[id]
			if st.Availability == s.availability {
				continue
			}
		}
		heard := s.heard
		if ls := in.live[id]; ls != nil && ls.LastSeen.After(heard) {
			heard = ls.LastSeen
		}
		st.Availability, st.Heard = s.availability, heard
		o.States[id] = st
	}
}

func (in *Ingest) processOne(o *Outcome, m Message) {
	a := in.adapterFor(m.Topic)
	if a == nil {
		in.reject(o, m, "", "", gridmint.ReasonUnknownTopic, "no adapter subscribes to this topic")
		return
	}
	switch n := max(m.Size, len(m.Payload)); {
	case n > MaxPayload:
		in.reject(o, m, a.Dialect(), "", gridmint.ReasonMalformed, fmt.Sprintf("payload of %d bytes exceeds %d", n, MaxPayload))
		return
	case m.Size > len(m.Payload):
		// A cut payload is never decoded, whatever cut it.
		in.reject(o, m, a.Dialect(), "", gridmint.ReasonMalformed, fmt.Sprintf("payload of %d bytes cut to %d before it was read", n, len(m.Payload)))
		return
	}
	updates, err := a.Decode(m.Topic, m.Payload)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) && de.Limit > 0 {
			in.capReached(o, in.position[a], de.Limit, err.Error(), m.Received)
		}
		reason, serial := reasonOf(err)
		id, _ := in.idFor(a, serial)
		in.reject(o, m, a.Dialect(), id, reason, err.Error())
		return
	}
	if len(updates) == 0 {
		o.Ignored++
		return
	}
	for _, u := range updates {
		switch {
		case u.Serial == "" && u.Measurement != nil:
			// Every measurement that does not become a reading is counted
			// by reason; one that names no device cannot become one.
			in.reject(o, m, a.Dialect(), "", gridmint.ReasonMalformed, "a measurement that names no device")
			continue
		case u.Serial == "" && u.Group != "":
			in.groupDevices(o, a, u, m.Received)
			continue
		case u.Serial == "":
			in.allDevices(o, a, u, m.Received)
			continue
		}
		id, err := in.idFor(a, u.Serial)
		if err != nil {
			in.reject(o, m, a.Dialect(), "", gridmint.ReasonMalformed, err.Error())
			continue
		}
		if u.Measurement == nil && !in.known(o, id) {
			// Devices are discovered from measurements only: a Tasmota LWT
			// arrives before the first SENSOR says how many channels exist.
			o.Ignored++
			continue
		}
		dev, why := in.deviceFor(o, a, id, u, m.Received)
		if why != "" && in.discover {
			in.capReached(o, registryCap, in.maxDevices, why, m.Received)
		}
		if why != "" {
			in.reject(o, m, a.Dialect(), id, gridmint.ReasonUnknownDevice, why)
			continue
		}
		ch := liveChange{id: dev.ID, adapter: a, at: m.Received, name: u.Name, availability: u.Availability, retained: m.Retained}
		if u.Measurement != nil && !in.limiter.Allow(string(dev.ID), m.Received) {
			// A chatty or flapping device: count, do not store. Lifetime
			// counters lose nothing; the next admitted reading has it all.
			o.Suppressed[gridmint.ReasonRateLimited]++
			continue
		}
		if u.Measurement != nil {
			var prev *CounterState
			if st, ok := o.States[dev.ID]; ok {
				prev = &st
			} else if st, ok := in.states[dev.ID]; ok {
				prev = &st
			}
			r, next, rej := Normalise(dev, prev, *u.Measurement, m.Received, in.limits)
			if prev == nil || !next.Equal(*prev) {
				o.States[dev.ID] = next
			}
			if rej != nil && rej.Reason == gridmint.ReasonOutOfOrder && m.Redelivered {
				// Older than what is stored because it was stored: the broker
				// re-sends what the node had not acknowledged when it stopped.
				rej = reject(gridmint.ReasonDuplicate, "re-delivered by the broker: %s", rej.Detail)
			}
			if rej != nil {
				in.reject(o, m, a.Dialect(), dev.ID, rej.Reason, rej.Detail)
			} else {
				o.Readings = append(o.Readings, *r)
				ch.reading = r
			}
		}
		o.change(ch)
	}
}

// allDevices applies an update without a serial (OpenDTU's dtu/status:
// the gateway itself) to every known device of a's dialect, those
// discovered earlier in this batch included, except devices another
// adapter of the dialect (a second DTU under another base topic) decoded
// since the start. (A device not heard from since the start has no
// adapter yet and is included.)
func (in *Ingest) allDevices(o *Outcome, a Adapter, u Update, at time.Time) {
	if u.Availability == AvailabilityUnknown {
		o.Ignored++
		return
	}
	for id, d := range in.devices {
		if other := in.adapterOf[id]; d.Dialect == a.Dialect() && (other == nil || other == a) {
			o.change(liveChange{id: id, at: at, availability: u.Availability})
		}
	}
	for _, d := range o.NewDevices {
		if d.Dialect == a.Dialect() {
			o.change(liveChange{id: d.ID, at: at, availability: u.Availability})
		}
	}
}

// groupDevices applies an update for a group (see Grouper) to every known
// device of the group, whether or not the decoder has seen it since the
// node started.
func (in *Ingest) groupDevices(o *Outcome, a Adapter, u Update, at time.Time) {
	g, ok := a.(Grouper)
	if !ok || u.Availability == AvailabilityUnknown {
		o.Ignored++
		return
	}
	n := 0
	for _, id := range in.groups[groupKey{a.Dialect(), u.Group}] {
		o.change(liveChange{id: id, at: at, availability: u.Availability})
		n++
	}
	for _, d := range o.NewDevices {
		if d.Dialect == a.Dialect() && slices.Contains(g.Groups(d.Serial), u.Group) {
			o.change(liveChange{id: d.ID, at: at, availability: u.Availability})
			n++
		}
	}
	if n == 0 {
		o.Ignored++ // no device of the group is known yet
	}
}

// reject quarantines m, unless its source already sent its allowance of
// rejections: then it is only counted (Outcome.Suppressed), so a broken
// device cannot fill the quarantine. The source is the device when it is
// registered (or discovered in this batch); an input that names no
// registered device, whatever serial its topic claims, shares one of
// unknownSourceBuckets allowances of its adapter's dialect (by a hash of
// the topic), and one that no adapter claims those of "unrouted". So the
// keys, and the allowance in total, are bounded by the registry and the
// configured dialects, not by the topics a sender can invent.
func (in *Ingest) reject(o *Outcome, m Message, dialect string, id gridmint.DeviceID, reason gridmint.Reason, detail string) {
	if !in.rejected.Allow(in.rejectionSource(o, m.Topic, dialect, id), m.Received) {
		o.Suppressed[reason]++
		return
	}
	o.reject(m, dialect, id, reason, detail)
}

// unknownSourceBuckets is how many rejection allowances the inputs of one
// dialect that name no registered device share. More than one, so that
// one broken unregistered sender (a device whose every message is
// malformed is never discovered) rarely hides another from the
// quarantine; few, so that invented topics multiply the allowance by at
// most this much.
const unknownSourceBuckets = 4

// rejectionSource is the rate-limit key of a rejection: see reject.
func (in *Ingest) rejectionSource(o *Outcome, topic, dialect string, id gridmint.DeviceID) string {
	if id != "" && in.known(o, id) {
		return "device:" + string(id)
	}
	src := "unrouted"
	if dialect != "" {
		src = "adapter:" + dialect
	}
	h := fnv.New32a()
	h.Write([]byte(topic))
	return src + "#" + strconv.Itoa(int(h.Sum32()%unknownSourceBuckets))
}

func (o *Outcome) reject(m Message, dialect string, id gridmint.DeviceID, reason gridmint.Reason, detail string) {
	r := gridmint.Rejection{
		Time:    m.Received,
		Topic:   m.Topic,
		Dialect: dialect,
		Device:  id,
		Reason:  reason,
		Detail:  detail,
		Raw:     m.Payload,
	}
	if m.Size > len(m.Payload) {
		r.RawLen = m.Size
	}
	o.Rejections = append(o.Rejections, r)
}

func (in *Ingest) adapterFor(topic string) Adapter {
	a, _, _ := in.routes.Match(topic)
	return a
}

func (in *Ingest) idFor(a Adapter, serial string) (gridmint.DeviceID, error) {
	if serial == "" {
		return "", nil
	}
	return gridmint.NewDeviceID(in.node, a.Dialect(), serial)
}

func (in *Ingest) known(o *Outcome, id gridmint.DeviceID) bool {
	_, ok := in.devices[id]
	_, staged := o.newDevices[id]
	return ok || staged
}

// deviceFor finds or discovers device id of adapter a; why says why not.
func (in *Ingest) deviceFor(o *Outcome, a Adapter, id gridmint.DeviceID, u Update, now time.Time) (gridmint.Device, string) {
	serial := u.Serial
	if d, ok := in.devices[id]; ok {
		return d, ""
	}
	if d, ok := o.newDevices[id]; ok {
		return d, ""
	}
	switch {
	case !in.discover:
		return gridmint.Device{}, fmt.Sprintf("device %q is not declared and discovery is off", serial)
	case in.maxDevices > 0 && len(in.devices)+len(o.newDevices) >= in.maxDevices:
		return gridmint.Device{}, fmt.Sprintf("device %q not registered: the registry holds its maximum of %d devices (max_devices)", serial, in.maxDevices)
	}
	d := gridmint.Device{
		ID:           id,
		Kind:         cmp.Or(u.Kind, a.DefaultKind()),
		Dialect:      a.Dialect(),
		Serial:       serial,
		Capabilities: u.Capabilities,
		FirstSeen:    now,
	}
	if d.Capabilities == nil {
		d.Capabilities = Capabilities(a)
	}
	o.newDevices[id] = d
	o.NewDevices = append(o.NewDevices, d)
	return d, ""
}

// capReached records that cap key refused a device; the first time, the
// outcome says so (Outcome.CapsReached), for the caller to log once.
func (in *Ingest) capReached(o *Outcome, key, limit int, detail string, at time.Time) {
	in.capsMu.Lock()
	defer in.capsMu.Unlock()
	if _, ok := in.caps[key]; ok {
		return
	}
	c := CapReached{Setting: "max_devices", Limit: limit, First: detail, FirstAt: at}
	if key != registryCap {
		c.Setting = fmt.Sprintf("adapters[%d].max_devices", key)
	}
	in.caps[key] = c
	o.CapsReached = append(o.CapsReached, c)
}

// CapsReached returns the device caps that have refused a device since
// the start, by setting. Safe for concurrent use.
func (in *Ingest) CapsReached() []CapReached {
	in.capsMu.Lock()
	defer in.capsMu.Unlock()
	out := make([]CapReached, 0, len(in.caps))
	for _, c := range in.caps {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Setting < out[j].Setting })
	return out
}

// Accept applies a durably stored outcome to the live state.
func (in *Ingest) Accept(o *Outcome) {
	for id, st := range o.States {
		in.states[id] = st
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, d := range o.NewDevices {
		in.devices[d.ID] = d
		in.live[d.ID] = &DeviceState{Device: d}
		in.index(d)
	}
	for _, ch := range o.live {
		if ch.adapter != nil {
			in.adapterOf[ch.id] = ch.adapter
		}
		ls := in.live[ch.id]
		if ch.name != "" {
			ls.ReportedName = ch.name
		}
		if ch.availability != AvailabilityUnknown {
			ls.Availability = ch.availability
		}
		if ch.heard() && ch.at.After(ls.LastSeen) {
			ls.LastSeen = ch.at
		}
		if ch.live() {
			// Fresh data means the device is up, whatever an older
			// availability message said.
			ls.Availability = AvailabilityOnline
		}
		if r := ch.reading; r != nil {
			ls.Fields |= r.Fields
			if r.Fields.Has(gridmint.FieldPower) {
				ls.Power = r.Power
			}
			if r.Fields.Has(gridmint.FieldEnergy) {
				ls.Energy = r.Energy
			}
			if r.Fields.Has(gridmint.FieldEnergyReverse) {
				ls.EnergyReverse = r.EnergyReverse
			}
			if r.Fields.Has(gridmint.FieldSoC) {
				ls.SoC = r.SoC
			}
		}
	}
}

// Devices returns every device with its live state, sorted by ID.
func (in *Ingest) Devices() []DeviceState {
	now := in.clock.Now()
	in.mu.RLock()
	out := make([]DeviceState, 0, len(in.live))
	for _, ls := range in.live {
		out = append(out, in.snapshot(ls, now))
	}
	in.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// snapshot copies a live state and works out Online. Call with mu held.
func (in *Ingest) snapshot(ls *DeviceState, now time.Time) DeviceState {
	s := *ls
	s.Online = s.Availability != AvailabilityOffline && !s.LastSeen.IsZero() &&
		(in.staleAfter <= 0 || now.Sub(s.LastSeen) <= in.staleAfter)
	s.Capabilities = slices.Clone(s.Capabilities)
	return s
}

// Device returns one device's live state and the adapter that speaks to
// it (the one that last decoded its traffic, else the first adapter of its
// dialect). ok is false for an unknown id.
func (in *Ingest) Device(id gridmint.DeviceID) (st DeviceState, a Adapter, ok bool) {
	now := in.clock.Now()
	in.mu.RLock()
	defer in.mu.RUnlock()
	ls, ok := in.live[id]
	if !ok {
		return DeviceState{}, nil, false
	}
	a = in.adapterOf[id]
	if a == nil {
		for _, cand := range in.adapters {
			if cand.Dialect() == ls.Dialect {
				a = cand
				break
			}
		}
	}
	return in.snapshot(ls, now), a, true
}

// UpdateDevice replaces the registry entry of an existing device (an edit
// over the API, already stored by the caller). Identity fields (ID,
// dialect, serial, first seen) cannot change.
func (in *Ingest) UpdateDevice(d gridmint.Device) error {
	if err := d.Validate(); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	old, ok := in.devices[d.ID]
	if !ok {
		return gridmint.Errorf(gridmint.ENotFound, "no device %s", d.ID)
	}
	if d.Dialect != old.Dialect || d.Serial != old.Serial || !d.FirstSeen.Equal(old.FirstSeen) {
		return gridmint.Errorf(gridmint.EInvalid, "device %s: dialect, serial and first seen cannot change", d.ID)
	}
	in.devices[d.ID] = d
	if ls, ok := in.live[d.ID]; ok {
		ls.Device = d
	}
	return nil
}

// ReplyFilters returns the reply topics of every adapter that is a
// Replier: messages on them confirm commands and are not telemetry.
func (in *Ingest) ReplyFilters() []string {
	var out []string
	for _, a := range in.adapters {
		if r, ok := a.(Replier); ok {
			out = append(out, r.ReplySubscriptions()...)
		}
	}
	return out
}

// Adapters returns the configured adapters.
func (in *Ingest) Adapters() []Adapter { return slices.Clone(in.adapters) }
