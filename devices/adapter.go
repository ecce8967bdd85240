package devices

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gridmint/gridmint"
)

// Subscriber names the MQTT topic filters an adapter needs.
type Subscriber interface {
	// Subscriptions returns MQTT topic filters (with + and # wildcards).
	Subscriptions() []string
}

// MaxMeasurementsPerMessage bounds the Updates with a Measurement that one
// message may yield (Tasmota's 8 channels), so callers can size batches.
const MaxMeasurementsPerMessage = 8

// Decoder turns one MQTT message of its dialect into Updates. A Decoder may
// keep state between messages (OpenDTU spreads one measurement over several
// topics), so it is not safe for concurrent use: Ingest calls it from one
// goroutine, in arrival order.
//
// Decode returns (nil, nil) for a topic the dialect knows but gridmint does
// not use (Tasmota STATE, OpenDTU voltage). Bad input returns a
// *DecodeError naming the reason.
type Decoder interface {
	Decode(topic string, payload []byte) ([]Update, error)
}

// Adapter is one firmware family's telemetry: the topics to subscribe and
// their decoder. Control capabilities are separate interfaces (Switcher,
// PowerLimiter, BatteryController, ChargeController; see control.go) that
// an adapter implements only if its firmware supports them.
type Adapter interface {
	Subscriber
	Decoder
	// Dialect is the registry name, e.g. "tasmota"; it is the adapter part
	// of every DeviceID the adapter produces.
	Dialect() string
	// DefaultKind is the kind of a device discovered from traffic.
	DefaultKind() gridmint.DeviceKind
	// Reports lists what the dialect's telemetry carries (power, energy,
	// state of charge, availability). What a device can be told to do
	// follows from the control interfaces the adapter implements; see
	// Capabilities. An Update may narrow both for one device.
	Reports() []gridmint.Capability
}

// SerialChecker is an adapter that can tell whether a configured serial
// could ever appear in its topics (OpenDTU serials are hex), so that a
// typo in the configuration fails at start instead of never matching.
type SerialChecker interface {
	CheckSerial(serial string) error
}

// CheckSerial checks serial with a's SerialChecker, if it has one.
func CheckSerial(a Adapter, serial string) error {
	if c, ok := a.(SerialChecker); ok {
		return c.CheckSerial(serial)
	}
	return nil
}

// Grouper is an adapter one of whose online signals speaks for several
// devices: a Shelly's <prefix>/online for every component of the prefix,
// a Tasmota LWT for every channel of the topic. Its decoder returns an
// Update with Group and no Serial, and Ingest applies the Update's
// Availability to every known device of the group, including devices
// not heard from since the node started: after a restart a retained
// offline signal arrives before anything that would tell the decoder
// which devices the prefix has.
type Grouper interface {
	// Groups returns the groups the device serial belongs to.
	Groups(serial string) []string
}

// Availability is what a device's own online signal says.
type Availability int

// Availability values.
const (
	AvailabilityUnknown Availability = iota // the message said nothing about it
	AvailabilityOnline
	AvailabilityOffline
)

// Measurement is one reading as the device reported it, before
// normalisation, already in gridmint's units and signs (see the package
// doc). Fields the device did not report are nil. Decoders that merge
// partial updates (Shelly NotifyStatus, Victron, go-e) report the
// device's whole current state.
type Measurement struct {
	// SourceTime is the device's timestamp of the measurement; zero when
	// the payload has none.
	SourceTime time.Time
	// Power in W, positive in the device kind's natural direction.
	Power *gridmint.W
	// Forward is the energy counter in the natural direction (production,
	// consumption, grid import, battery discharge); Reverse the opposite
	// one (grid export, battery charge).
	Forward, Reverse *Counter
	// SoC is a battery's or car's state of charge, %.
	SoC *float64
}

// Counter is one energy counter as reported.
type Counter struct {
	// Value converted exactly to mWh.
	Value gridmint.MWh
	// Kind is the counter's span (lifetime, daily, session).
	Kind gridmint.CounterKind
}

// empty reports whether m carries no value at all.
func (m *Measurement) empty() bool {
	return m.Power == nil && m.Forward == nil && m.Reverse == nil && m.SoC == nil
}

func ptr[T any](v T) *T { return &v }

// Update is what one message said about one device.
type Update struct {
	// Serial is the device's identity within the dialect: the Tasmota topic
	// (":<n>" appended for channel n of a multi-channel device), the
	// OpenDTU inverter serial.
	Serial string
	// Name is a human name the device announced, or "".
	Name string
	// Kind, when set, is the kind of a device discovered from this update,
	// for dialects whose devices differ (a Victron battery, grid meter or
	// PV inverter); empty means the adapter's DefaultKind.
	Kind gridmint.DeviceKind
	// Capabilities, when set, are those of a device discovered from this
	// update; nil means Capabilities(adapter).
	Capabilities []gridmint.Capability
	// Availability from an LWT or status topic.
	Availability Availability
	// Group, in an Update without Serial, names the devices an online
	// signal speaks for (a Shelly's topic prefix, a Tasmota topic and its
	// channels); see Grouper. Such an Update carries Availability only.
	Group string
	// Measurement, when the message completed one.
	Measurement *Measurement
}

// DecodeError is a message a decoder could not accept.
type DecodeError struct {
	Reason gridmint.Reason
	Serial string // the device, when the topic already named it
	Detail string
	// Limit is set when the adapter's device cap (AdapterConfig.MaxDevices)
	// refused the device: the cap.
	Limit int
}

// Error implements error.
func (e *DecodeError) Error() string {
	if e.Serial != "" {
		return fmt.Sprintf("%s: %s: %s", e.Reason, e.Serial, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Reason, e.Detail)
}

func decodeErr(reason gridmint.Reason, serial, format string, args ...any) *DecodeError {
	return &DecodeError{Reason: reason, Serial: serial, Detail: fmt.Sprintf(format, args...)}
}

// capErr refuses a new device because the adapter holds its maximum.
func capErr(serial string, limit int, format string, args ...any) *DecodeError {
	e := decodeErr(gridmint.ReasonUnknownDevice, serial, format, args...)
	e.Limit = limit
	return e
}

// reasonOf returns the rejection reason carried by err (ReasonMalformed when
// it carries none) and the device serial if known.
func reasonOf(err error) (gridmint.Reason, string) {
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Reason, de.Serial
	}
	return gridmint.ReasonMalformed, ""
}

// AdapterConfig configures one adapter instance.
type AdapterConfig struct {
	// Dialect selects the adapter from the registry, e.g. "opendtu".
	Dialect string
	// BaseTopic is the dialect's topic root: OpenDTU's base topic (default
	// "solar/"), Tasmota's FullTopic pattern (default "%prefix%/%topic%/").
	BaseTopic string
	// ClientID is the node's MQTT client ID, for dialects whose replies are
	// addressed to the sender (Shelly RPC replies go to "<src>/rpc").
	ClientID string
	// PortalID is the Victron GX device's portal ID (the second topic
	// level, N/<portal ID>/...); keep-alives go to R/<portal ID>/keepalive.
	PortalID string
	// Inverters maps AhoyDTU inverter names (in telemetry topics) to their
	// index on the setup page (in control topics).
	Inverters map[string]int
	// Mappings configure the generic adapter (dialect "generic").
	Mappings []Mapping
	// Kind overrides the kind of devices discovered from traffic (a Tasmota
	// device may be a plug or a meter). Empty means the dialect's default.
	Kind gridmint.DeviceKind
	// MaxDevices bounds the devices the adapter keeps state for, so that
	// a stream of invented topics cannot grow it without end; beyond it a
	// new device is refused (unknown_device) and Ingest reports the cap
	// (CapsReached). 0 takes the dialect's default: DefaultMaxDevices for
	// adapters that a whole fleet shares (goe, shelly, generic, tasmota),
	// fewer for one gateway's devices (a Victron GX 256, an OpenDTU 256,
	// an AhoyDTU 64).
	MaxDevices int
}

// DefaultMaxDevices is the default cap of an adapter that many homes
// share (one go-e prefix for a fleet's chargers), the registry's default.
const DefaultMaxDevices = 10_000

// maxDevices is cfg.MaxDevices or def.
func (cfg AdapterConfig) maxDevices(def int) int {
	if cfg.MaxDevices > 0 {
		return cfg.MaxDevices
	}
	return def
}

// Factory builds an adapter from its configuration.
type Factory func(AdapterConfig) (Adapter, error)

var registry = struct {
	sync.Mutex
	factories map[string]Factory
}{factories: map[string]Factory{}}

// Register makes a dialect available to NewAdapter. Vendor files call it
// from init; registering the same name twice panics, as it is a programming
// error.
func Register(dialect string, f Factory) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.factories[dialect]; dup {
		panic("devices: dialect registered twice: " + dialect)
	}
	registry.factories[dialect] = f
}

// Dialects returns the registered dialect names, sorted.
func Dialects() []string {
	registry.Lock()
	defer registry.Unlock()
	names := make([]string, 0, len(registry.factories))
	for n := range registry.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NewAdapter builds the adapter for cfg.Dialect.
func NewAdapter(cfg AdapterConfig) (Adapter, error) {
	registry.Lock()
	f, ok := registry.factories[cfg.Dialect]
	registry.Unlock()
	if !ok {
		return nil, gridmint.Errorf(gridmint.EInvalid, "unknown dialect %q (known: %s)", cfg.Dialect, strings.Join(Dialects(), ", "))
	}
	if cfg.Kind != "" && !cfg.Kind.Valid() {
		return nil, gridmint.Errorf(gridmint.EInvalid, "dialect %s: unknown kind %q", cfg.Dialect, cfg.Kind)
	}
	return f(cfg)
}
