package firmwaresim

import (
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmint/gridmint"
)

// Fleets: many homes from one process.
//
// A Fleet is N homes, each a Sim (one house, one grid connection): PV
// inverters, a battery, an EV charger, a grid meter and maybe a plug, in a
// mix of dialects, with per-home sizes, orientations and habits drawn from
// the seed. Hand-made houses (FleetConfig.Houses) come first, then the
// generated homes, first those FleetConfig.Specs fixes, then those the Mix
// draws.
//
// Generated home h (its 1-based position in the fleet) has these
// identities, unique across the fleet and distinct from the single-house
// defaults, so that one node can tell every home's devices apart:
//
//	OpenDTU      base topic solar-<h>/, inverter serials 1161<8 digits of 8h+i>
//	AhoyDTU      base topic inverter-<h>, inverters HM-<h>-<i+1> at index i
//	Victron GX   portal ID 02c0619b0000 + h (hex), battery/<512+h>, grid/<30+h>, vebus/257
//	Shelly 3EM   shellypro3em-<02a1b3100000 + h, hex>
//	Shelly plug  shellyplusplugs-<02a1b2100000 + h, hex>
//	Tasmota plug tasmota_<600000 + h, hex>
//	go-e         prefix go-eCharger/ (shared: the serial tells chargers apart), serial 300000+h
//
// Fleet.Devices and Fleet.Adapters list them as a node configures them.
//
// Every home has a grid meter: the GX's grid/<n> when it has a battery
// (plus a Shelly Pro 3EM for Mix.ShellyMeter of them), a Shelly Pro 3EM
// otherwise. Batteries exist only as Victron GXs and chargers only as
// go-eChargers (the dialects the node reads for them); PV is OpenDTU or
// AhoyDTU.
//
// Connections: real devices each have their own MQTT connection, and so
// do a Fleet's in ConnPerDevice mode (Sim.Run per home). Thousands of
// paho clients do not fit two cores, so ConnShared multiplexes each shard
// of HomesPerConnection homes over one connection of a small built-in
// MQTT 3.1.1 client (litemqtt.go) that writes a cycle's messages in a few
// TCP writes: same topics, payloads, QoS and retain flags, and commands
// routed to the device whose subscription they match. What is lost is
// the per-device will: the fleet publishes each device's will payload
// itself when the device goes offline (fault injection) and on a clean
// shutdown, but a killed process leaves its devices "online".

// Connection modes (FleetConfig.Connections).
const (
	ConnAuto      = ""           // per-device up to MaxPerDeviceEndpoints endpoints, shared above
	ConnPerDevice = "per-device" // one paho connection per device, with its will (Sim.Run)
	ConnShared    = "shared"     // one connection per shard of homes (litemqtt.go)
)

// Fleet defaults and bounds.
const (
	// DefaultFleetPeriod is a fleet's publish cycle: 1 Hz.
	DefaultFleetPeriod = time.Second
	// DefaultHomesPerConnection is the shard size of ConnShared.
	DefaultHomesPerConnection = 25
	// MaxPerDeviceEndpoints is the most MQTT endpoints ConnAuto runs
	// with a connection each.
	MaxPerDeviceEndpoints = 200
	// MaxHomes bounds a fleet.
	MaxHomes = 100_000
	// maxInvertersPerHome bounds Sizes.Inverters (serials leave room for 8).
	maxInvertersPerHome = 8
)

// PV dialects of a generated home (HomeSpec.PV).
const (
	DialectOpenDTU = "opendtu"
	DialectAhoy    = "ahoy"
)

// Mix is the share of homes with each device and dialect. The zero Mix is
// DefaultMix; a non-zero Mix is taken as given (0 means none).
type Mix struct {
	// OpenDTU and Ahoy weigh the PV dialect (relative weights, ≥ 0, not
	// both 0).
	OpenDTU float64 `yaml:"opendtu"`
	Ahoy    float64 `yaml:"ahoy"`
	// Battery is the share of homes with a Victron GX and battery, 0..1.
	Battery float64 `yaml:"battery"`
	// ShellyMeter is the share of battery homes that also have a Shelly
	// Pro 3EM (homes without a battery always have one: it is their only
	// meter), 0..1.
	ShellyMeter float64 `yaml:"shelly_meter"`
	// EV is the share of homes with a go-eCharger, 0..1.
	EV float64 `yaml:"ev"`
	// TasmotaPlug and ShellyPlug are the shares of homes with such a
	// plug (a switchable appliance), 0..1 each.
	TasmotaPlug float64 `yaml:"tasmota_plug"`
	ShellyPlug  float64 `yaml:"shelly_plug"`
	// Ausgrid is the share of homes whose own load is the Ausgrid
	// household's (the others follow BDEW H25), 0..1.
	Ausgrid float64 `yaml:"ausgrid"`
}

// DefaultMix: every home has PV (three OpenDTU to one AhoyDTU), a battery
// with the GX's meter, an EV charger, no plug; half the houses live the
// Ausgrid household's load, half H25.
func DefaultMix() Mix {
	return Mix{OpenDTU: 3, Ahoy: 1, Battery: 1, EV: 1, Ausgrid: 0.5}
}

// Range is an inclusive range [min, max] a per-home value is drawn from,
// uniformly. YAML: [min, max].
type Range [2]float64

// DurationRange is a Range of durations. YAML: [-1h, 1h].
type DurationRange [2]time.Duration

// Sizes are the ranges of the per-home variation. A zero field takes its
// default (DefaultSizes).
type Sizes struct {
	InverterW  Range         `yaml:"inverter_w"`  // each inverter's AC nameplate, W
	Inverters  Range         `yaml:"inverters"`   // inverters per home (whole numbers), 1..8
	TiltDeg    Range         `yaml:"tilt_deg"`    // module tilt, degrees
	AzimuthDeg Range         `yaml:"azimuth_deg"` // module azimuth, degrees (180 south)
	Clouds     Range         `yaml:"clouds"`      // cloud variability, 0..1
	BatteryKWh Range         `yaml:"battery_kwh"` // usable capacity, kWh
	BatteryW   Range         `yaml:"battery_w"`   // charge and discharge limit, W
	BatteryEff Range         `yaml:"battery_eff"` // round-trip efficiency, 0..1
	MinSoCPct  Range         `yaml:"min_soc_pct"` // ESS minimum SoC, %
	HouseKWh   Range         `yaml:"house_kwh"`   // the house's own yearly load, kWh
	HouseShift DurationRange `yaml:"house_shift"` // habit shift of the load profile
	PlugKWh    Range         `yaml:"plug_kwh"`    // a plug's yearly load, kWh
	EVMaxA     Range         `yaml:"ev_max_a"`    // charger ama, A (whole numbers), 6..32
	// EVOnePhase is the share of cars that charge on one phase, 0..1
	// (taken as given: 0 means all on three).
	EVOnePhase float64 `yaml:"ev_one_phase"`
	// PlugTele is the Tasmota plugs' TelePeriod; 0: every Period.
	PlugTele time.Duration `yaml:"plug_tele"`
}

// DefaultSizes are typical European homes: 400..2,000 W micro-inverters
// facing east to west at 10..45°, 5..15 kWh batteries of 2.5..5 kW, houses
// of 2,000..6,000 kWh a year living up to an hour early or late, 16 A
// chargers, a quarter of the cars on one phase (3.7 kW), the rest on three
// (11 kW).
func DefaultSizes() Sizes {
	return Sizes{
		InverterW: Range{400, 2000}, Inverters: Range{1, 1},
		TiltDeg: Range{10, 45}, AzimuthDeg: Range{90, 270}, Clouds: Range{0.5, 1},
		BatteryKWh: Range{5, 15}, BatteryW: Range{2500, 5000}, BatteryEff: Range{0.85, 0.95}, MinSoCPct: Range{5, 20},
		HouseKWh: Range{2000, 6000}, HouseShift: DurationRange{-time.Hour, time.Hour}, PlugKWh: Range{200, 1500},
		EVMaxA: Range{16, 16}, EVOnePhase: 0.25,
	}
}

// HomeSpec fixes the devices of one generated home instead of drawing
// them from the Mix; sizes are still drawn.
type HomeSpec struct {
	PV          string `yaml:"pv"`           // DialectOpenDTU or DialectAhoy
	Battery     bool   `yaml:"battery"`      // a Victron GX with a battery and its grid meter
	ShellyMeter bool   `yaml:"shelly_meter"` // a Shelly Pro 3EM (always, without a battery)
	EV          bool   `yaml:"ev"`           // a go-eCharger
	TasmotaPlug bool   `yaml:"tasmota_plug"`
	ShellyPlug  bool   `yaml:"shelly_plug"`
	House       string `yaml:"house"` // HouseH25 or HouseAusgrid; "": drawn from the Mix
}

// FleetConfig configures a Fleet. Zero fields take the documented
// defaults.
type FleetConfig struct {
	// Name names the fleet in logs and in the shared connections' client
	// IDs.
	Name string
	// Houses are hand-made homes, first in the fleet: their devices and
	// identities are used as given (Seed too, when not 0); the fleet sets
	// their Broker, ClientPrefix, Period, ProfileStart, Speed, Location,
	// Clock, Logger and ConnectTimeout, and their Faults unless set.
	Houses []Config
	// Homes is the number of generated homes after Houses.
	Homes int
	// Specs fix the devices of the first generated homes; the rest are
	// drawn from Mix.
	Specs []HomeSpec
	// Mix is the device and dialect mix of the other generated homes;
	// zero: DefaultMix.
	Mix Mix
	// Sizes are the per-home ranges. The zero Sizes is DefaultSizes;
	// otherwise zero ranges take their defaults and EVOnePhase is taken as
	// given.
	Sizes Sizes
	// PluggedAtStart plugs every generated home's first car in at once.
	PluggedAtStart bool
	// Faults apply to every generated home (and to Houses without their
	// own).
	Faults FaultConfig
	// Seed seeds everything drawn: homes, habits, noise, faults.
	Seed uint64
	// Speed, ProfileStart and Location are every home's (see Config);
	// Speed default 1.
	Speed        float64
	ProfileStart time.Time
	Location     *time.Location
	// Period is every home's publish cycle; default DefaultFleetPeriod.
	Period time.Duration
	// Broker is the MQTT broker URL (Run only).
	Broker string
	// ClientPrefix starts every MQTT client ID; default "fwsim-".
	ClientPrefix string
	// Connections is ConnAuto, ConnPerDevice or ConnShared.
	Connections string
	// HomesPerConnection is the shard size of ConnShared; default
	// DefaultHomesPerConnection.
	HomesPerConnection int
	// Clock is the sim clock; default gridmint.SystemClock.
	Clock gridmint.Clock
	// Logger receives events; default discards.
	Logger *slog.Logger
	// ConnectTimeout bounds each connection's first connect and
	// subscribe; default 10 s (per shard: 30 s).
	ConnectTimeout time.Duration
	// ShutdownBudget bounds, in wall time, how long Run waits at the end
	// for the broker to acknowledge the devices' offline (will) messages;
	// default 10 s.
	ShutdownBudget time.Duration
}

// FleetDevice is one device of a Fleet (or a Sim) as a gridmint node
// configures it.
type FleetDevice struct {
	Home    int                 // 1-based position of its home in the fleet
	Dialect string              // the node's adapter: opendtu, ahoydtu, tasmota, shelly, victron, goe
	Serial  string              // the node's serial for it
	Kind    gridmint.DeviceKind // pv_inverter, battery, ev_charger, meter, plug
	Name    string              // a human name
	// NameplateW is an inverter's AC rating, W (0 for others).
	NameplateW float64
	// CapacityWh is a battery's usable capacity, Wh.
	CapacityWh int64
	// Limits are the device's physical limits: charger currents, the
	// battery's ESS minimum SoC and its charge and discharge power (the
	// battery's reported power and its Multi's AC power stay within them).
	Limits gridmint.SafetyLimits
	// Adapter is the node adapter the device needs.
	Adapter FleetAdapter
	// Client is the MQTT client ID of the firmware that publishes it.
	Client string
	// Dishonest and ClockSkew are the injected lie and clock error, for
	// tests of the node's defences ("" and 0: none).
	Dishonest Dishonesty
	ClockSkew time.Duration
}

// FleetAdapter is one node adapter configuration a fleet needs.
type FleetAdapter struct {
	Dialect   string         // opendtu, ahoydtu, tasmota, shelly, victron, goe
	BaseTopic string         // OpenDTU base topic, AhoyDTU topic, go-e prefix; "" for the dialect's default
	PortalID  string         // Victron only
	Inverters map[string]int // AhoyDTU only: inverter name → index
}

// FleetStats are a Fleet's counters.
type FleetStats struct {
	Homes       int
	Devices     int    // node devices: inverters, batteries, meters, chargers, plugs
	Endpoints   int    // MQTT endpoints (firmware units)
	Connections int    // MQTT connections (shared: shards; per-device: endpoints)
	Connected   int    // of which up
	Cycles      uint64 // home cycles stepped
	Late        uint64 // shard cycles that took longer than Period (shared mode)
	Published   uint64 // messages handed to the network
	Bytes       uint64 // MQTT bytes written (shared mode)
	Commands    uint64
	Ignored     uint64
	Faults      FaultStats
	EV          EVStats
	ProfileTime time.Time // profile clock now
}

// Fleet is a running set of homes. Methods are safe for concurrent use.
type Fleet struct {
	cfg     FleetConfig
	log     *slog.Logger
	clock   gridmint.Clock
	homes   []*Sim
	devices []FleetDevice
	mode    string

	// pvNow holds each home's latest reported PV power (float64 bits),
	// pvPrev the same as of the previous Fleet.Step, for copying liars.
	pvNow, pvPrev []atomic.Uint64
	running       atomic.Bool

	cycles, late, published atomic.Uint64
	shards                  []*shard // shared mode, while running
	bytesDone               uint64   // bytes written by shards closed since
	shardMu                 sync.Mutex
}

// NewFleet validates cfg, generates the homes and returns the Fleet.
// Errors are EInvalid errors naming the field.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	f := &Fleet{cfg: cfg, log: cfg.Logger, clock: cfg.Clock}
	n := len(cfg.Houses) + cfg.Homes
	f.pvNow = make([]atomic.Uint64, n)
	f.pvPrev = make([]atomic.Uint64, n)
	clients := map[string]int{}
	serials := map[string]int{}
	for i := range n {
		h := i + 1
		var hc Config
		var field string
		if i < len(cfg.Houses) {
			hc, field = cfg.houseConfig(i), fmt.Sprintf("FleetConfig.Houses[%d]", i)
		} else {
			g := i - len(cfg.Houses)
			var spec *HomeSpec
			if g < len(cfg.Specs) {
				spec = &cfg.Specs[g]
			}
			var err error
			if hc, err = cfg.generate(h, spec); err != nil {
				return nil, err
			}
			field = fmt.Sprintf("FleetConfig home %d", h)
		}
		s, err := New(hc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		nb := (i + n - 1) % n
		s.neighbour = func() (float64, bool) {
			if n < 2 {
				return 0, false
			}
			if f.running.Load() {
				return math.Float64frombits(f.pvNow[nb].Load()), true
			}
			return math.Float64frombits(f.pvPrev[nb].Load()), true
		}
		idx := i
		s.onStep = func(w float64) {
			f.pvNow[idx].Store(math.Float64bits(w))
			f.cycles.Add(1)
		}
		for _, ep := range s.endpoints() {
			if j, dup := clients[ep.clientID()]; dup {
				return nil, invalid("%s: MQTT client ID %q also used by home %d", field, ep.clientID(), j)
			}
			clients[ep.clientID()] = h
		}
		for _, d := range s.fleetDevices(h) {
			key := d.Dialect + "/" + d.Serial
			if j, dup := serials[key]; dup {
				return nil, invalid("%s: %s serial %q also used by home %d: a node could not tell them apart", field, d.Dialect, d.Serial, j)
			}
			serials[key] = h
			f.devices = append(f.devices, d)
		}
		f.homes = append(f.homes, s)
	}
	f.mode = cfg.Connections
	if f.mode == ConnAuto {
		f.mode = ConnPerDevice
		if len(clients) > MaxPerDeviceEndpoints {
			f.mode = ConnShared
		}
	}
	return f, nil
}

func (cfg *FleetConfig) applyDefaults() error {
	if cfg.Speed == 0 {
		cfg.Speed = 1
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultFleetPeriod
	}
	if cfg.ClientPrefix == "" {
		cfg.ClientPrefix = DefaultClientPrefix
	}
	if cfg.HomesPerConnection == 0 {
		cfg.HomesPerConnection = DefaultHomesPerConnection
	}
	if cfg.Clock == nil {
		cfg.Clock = gridmint.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ShutdownBudget == 0 {
		cfg.ShutdownBudget = shutdownBudget
	}
	if cfg.Mix == (Mix{}) {
		cfg.Mix = DefaultMix()
	}
	if cfg.Sizes == (Sizes{}) {
		cfg.Sizes = DefaultSizes()
	}
	cfg.Sizes = cfg.Sizes.withDefaults()
	if cfg.ProfileStart.IsZero() {
		cfg.ProfileStart = cfg.Clock.Now().In(cfg.Location)
	}
	return cfg.check()
}

// check validates a FleetConfig with its defaults applied.
func (cfg *FleetConfig) check() error {
	n := len(cfg.Houses) + cfg.Homes
	switch {
	case cfg.Homes < 0:
		return invalid("FleetConfig.Homes %d: must not be negative", cfg.Homes)
	case n == 0:
		return invalid("FleetConfig.Homes 0 and no Houses: nothing to simulate")
	case n > MaxHomes:
		return invalid("FleetConfig.Homes %d: at most %d homes in all", cfg.Homes, MaxHomes)
	case len(cfg.Specs) > cfg.Homes:
		return invalid("FleetConfig.Specs: %d specs for %d generated homes", len(cfg.Specs), cfg.Homes)
	case cfg.Connections != ConnAuto && cfg.Connections != ConnPerDevice && cfg.Connections != ConnShared:
		return invalid("FleetConfig.Connections %q: want %q, %q or \"\" (auto)", cfg.Connections, ConnPerDevice, ConnShared)
	case cfg.HomesPerConnection < 1 || cfg.HomesPerConnection > 10_000:
		return invalid("FleetConfig.HomesPerConnection %d: want 1..10000", cfg.HomesPerConnection)
	case cfg.Period < time.Millisecond || cfg.Period > time.Hour:
		return invalid("FleetConfig.Period %v: want 1ms..1h", cfg.Period)
	case math.IsNaN(cfg.Speed) || cfg.Speed <= 0 || cfg.Speed > MaxSpeed:
		return invalid("FleetConfig.Speed %v: want 0 < speed <= %v", cfg.Speed, MaxSpeed)
	case cfg.ConnectTimeout < 0:
		return invalid("FleetConfig.ConnectTimeout %v: must be positive", cfg.ConnectTimeout)
	case cfg.ShutdownBudget < 0:
		return invalid("FleetConfig.ShutdownBudget %v: must be positive", cfg.ShutdownBudget)
	case strings.ContainsAny(cfg.Name, "+#/\x00") || len(cfg.Name) > 64:
		return invalid("FleetConfig.Name %q: at most 64 bytes, no '+', '#' or '/'", cfg.Name)
	case strings.ContainsAny(cfg.ClientPrefix, "+#/\x00") || len(cfg.ClientPrefix) > 64:
		return invalid("FleetConfig.ClientPrefix %q: at most 64 bytes, no '+', '#' or '/'", cfg.ClientPrefix)
	}
	if cfg.Broker != "" {
		if err := checkBroker(cfg.Broker); err != nil {
			return err
		}
	}
	m := cfg.Mix
	for _, v := range []struct {
		name string
		v    float64
	}{{"Battery", m.Battery}, {"ShellyMeter", m.ShellyMeter}, {"EV", m.EV}, {"TasmotaPlug", m.TasmotaPlug}, {"ShellyPlug", m.ShellyPlug}, {"Ausgrid", m.Ausgrid}} {
		if !(v.v >= 0 && v.v <= 1) {
			return invalid("FleetConfig.Mix.%s %v: want a share 0..1", v.name, v.v)
		}
	}
	if !(m.OpenDTU >= 0 && m.Ahoy >= 0 && m.OpenDTU+m.Ahoy > 0 && m.OpenDTU+m.Ahoy < 1e9) {
		return invalid("FleetConfig.Mix.OpenDTU %v, Ahoy %v: want weights >= 0, not both 0", m.OpenDTU, m.Ahoy)
	}
	if err := cfg.Sizes.check("FleetConfig.Sizes"); err != nil {
		return err
	}
	for i, sp := range cfg.Specs {
		field := fmt.Sprintf("FleetConfig.Specs[%d]", i)
		if sp.PV != DialectOpenDTU && sp.PV != DialectAhoy {
			return invalid("%s.PV %q: want %q or %q", field, sp.PV, DialectOpenDTU, DialectAhoy)
		}
		if sp.House != "" && sp.House != HouseH25 && sp.House != HouseAusgrid {
			return invalid("%s.House %q: want %q, %q or \"\" (from the Mix)", field, sp.House, HouseH25, HouseAusgrid)
		}
	}
	return cfg.Faults.check("FleetConfig.Faults")
}

func (s Sizes) withDefaults() Sizes {
	d := DefaultSizes()
	pick := func(v *Range, def Range) {
		if *v == (Range{}) {
			*v = def
		}
	}
	pick(&s.InverterW, d.InverterW)
	pick(&s.Inverters, d.Inverters)
	pick(&s.TiltDeg, d.TiltDeg)
	pick(&s.AzimuthDeg, d.AzimuthDeg)
	pick(&s.Clouds, d.Clouds)
	pick(&s.BatteryKWh, d.BatteryKWh)
	pick(&s.BatteryW, d.BatteryW)
	pick(&s.BatteryEff, d.BatteryEff)
	pick(&s.MinSoCPct, d.MinSoCPct)
	pick(&s.HouseKWh, d.HouseKWh)
	pick(&s.PlugKWh, d.PlugKWh)
	pick(&s.EVMaxA, d.EVMaxA)
	if s.HouseShift == (DurationRange{}) {
		s.HouseShift = d.HouseShift
	}
	return s
}

func (s Sizes) check(field string) error {
	for _, r := range []struct {
		name   string
		r      Range
		lo, hi float64
		whole  bool
	}{
		{"InverterW", s.InverterW, 1, 100_000, false},
		{"Inverters", s.Inverters, 1, maxInvertersPerHome, true},
		{"TiltDeg", s.TiltDeg, 0, 90, false},
		{"AzimuthDeg", s.AzimuthDeg, 0, 360, false},
		{"Clouds", s.Clouds, 0, 1, false},
		{"BatteryKWh", s.BatteryKWh, 0.1, 10_000, false},
		{"BatteryW", s.BatteryW, 1, 1e6, false},
		{"BatteryEff", s.BatteryEff, 0.01, 1, false},
		{"MinSoCPct", s.MinSoCPct, 0, 99, false},
		{"HouseKWh", s.HouseKWh, 1, 1e6, false},
		{"PlugKWh", s.PlugKWh, 1, 1e6, false},
		{"EVMaxA", s.EVMaxA, 6, 32, true},
	} {
		lo, hi := r.r[0], r.r[1]
		if !(lo >= r.lo && lo <= hi && hi <= r.hi) || (r.whole && (lo != math.Trunc(lo) || hi != math.Trunc(hi))) {
			kind := "numbers"
			if r.whole {
				kind = "whole numbers"
			}
			return invalid("%s.%s %v: want [min, max] %s with %v <= min <= max <= %v", field, r.name, [2]float64(r.r), kind, r.lo, r.hi)
		}
	}
	if lo, hi := s.HouseShift[0], s.HouseShift[1]; !(lo <= hi && lo >= -366*24*time.Hour && hi <= 366*24*time.Hour) {
		return invalid("%s.HouseShift %v: want [min, max] within ±1 year", field, [2]time.Duration(s.HouseShift))
	}
	if !(s.EVOnePhase >= 0 && s.EVOnePhase <= 1) {
		return invalid("%s.EVOnePhase %v: want a share 0..1", field, s.EVOnePhase)
	}
	if s.PlugTele < 0 {
		return invalid("%s.PlugTele %v: must not be negative", field, s.PlugTele)
	}
	return nil
}

// common sets the fleet-wide fields of a home's Config.
func (cfg *FleetConfig) common(hc *Config) {
	hc.Broker = cfg.Broker
	hc.ClientPrefix = cfg.ClientPrefix
	hc.Period = cfg.Period
	hc.ProfileStart = cfg.ProfileStart
	hc.Speed = cfg.Speed
	hc.Location = cfg.Location
	hc.Clock = cfg.Clock
	hc.ConnectTimeout = cfg.ConnectTimeout
}

// houseConfig is hand-made house i with the fleet's settings.
func (cfg *FleetConfig) houseConfig(i int) Config {
	hc := cfg.Houses[i]
	cfg.common(&hc)
	hc.Logger = cfg.Logger.With("home", i+1)
	if hc.Seed == 0 {
		hc.Seed = homeSeed(cfg.Seed, i+1)
	}
	if isZeroFaults(hc.Faults) {
		hc.Faults = cfg.Faults
	}
	return hc
}

func isZeroFaults(fc FaultConfig) bool {
	return fc.Drop == 0 && fc.Duplicate == 0 && fc.Reorder == 0 && fc.Malformed == 0 && fc.RebootsPerHour == 0 &&
		fc.OfflinePerHour == 0 && fc.Skewed == 0 && fc.Dishonest == 0
}

// homeSeed is home h's own seed, so its house noise differs from its
// neighbours'.
func homeSeed(seed uint64, h int) uint64 {
	return deviceRand(seed, "home-seed/"+strconv.Itoa(h)).Uint64()
}

// generate draws home h's Config (see the file comment for identities).
func (cfg *FleetConfig) generate(h int, spec *HomeSpec) (Config, error) {
	r := deviceRand(cfg.Seed, "home/"+strconv.Itoa(h))
	sz := cfg.Sizes
	in := func(rg Range) float64 { return rg[0] + r.Float64()*(rg[1]-rg[0]) }
	whole := func(rg Range) int { return int(rg[0]) + r.IntN(int(rg[1]-rg[0])+1) }
	// Draw everything, used or not, in a fixed order: one home's mix does
	// not shift its sizes.
	m := cfg.Mix
	sp := HomeSpec{
		PV:          DialectOpenDTU,
		Battery:     r.Float64() < m.Battery,
		EV:          r.Float64() < m.EV,
		TasmotaPlug: r.Float64() < m.TasmotaPlug,
		ShellyPlug:  r.Float64() < m.ShellyPlug,
		House:       HouseH25,
	}
	if r.Float64()*(m.OpenDTU+m.Ahoy) >= m.OpenDTU {
		sp.PV = DialectAhoy
	}
	sp.ShellyMeter = r.Float64() < m.ShellyMeter
	if r.Float64() < m.Ausgrid {
		sp.House = HouseAusgrid
	}
	if spec != nil {
		house := sp.House
		sp = *spec
		if sp.House == "" {
			sp.House = house
		}
	}
	if !sp.Battery {
		sp.ShellyMeter = true // the home's only meter
	}
	inverters := whole(sz.Inverters)
	nameplate := math.Round(in(sz.InverterW)/10) * 10
	array := &PVArray{
		TiltDeg: math.Round(in(sz.TiltDeg)), AzimuthDeg: math.Round(in(sz.AzimuthDeg)),
		Clouds: in(sz.Clouds), CloudOffset: time.Duration(r.IntN(100_000)) * time.Minute,
	}
	batKWh, batW := math.Round(in(sz.BatteryKWh)*10)/10, math.Round(in(sz.BatteryW)/100)*100
	eff, minSoC := in(sz.BatteryEff), math.Round(in(sz.MinSoCPct))
	initSoC := minSoC + r.Float64()*(100-minSoC)
	houseKWh := math.Round(in(sz.HouseKWh))
	shift := sz.HouseShift[0] + time.Duration(r.Float64()*float64(sz.HouseShift[1]-sz.HouseShift[0]))
	days := r.IntN(366) // which day of the real household's year
	plugKWh := math.Round(in(sz.PlugKWh))
	amp := whole(sz.EVMaxA)
	phases := 3
	if r.Float64() < sz.EVOnePhase {
		phases = 1
	}

	hc := Config{
		Seed: homeSeed(cfg.Seed, h), Logger: cfg.Logger.With("home", h), Faults: cfg.Faults,
		HouseAnnualKWh: houseKWh, HouseProfile: sp.House, HouseShift: shift.Round(time.Minute),
	}
	if sp.House == HouseAusgrid {
		hc.HouseShift += time.Duration(days) * 24 * time.Hour
	}
	cfg.common(&hc)
	for i := range inverters {
		a := *array
		a.CloudOffset += time.Duration(i) * 7 * time.Minute // one roof, nearly the same clouds
		switch sp.PV {
		case DialectOpenDTU:
			hc.PV = append(hc.PV, PVConfig{
				Serial: fmt.Sprintf("1161%08d", h*maxInvertersPerHome+i), Nameplate: gridmint.W(nameplate),
				BaseTopic: fmt.Sprintf("solar-%d/", h), Array: &a,
			})
		default:
			hc.Ahoy = append(hc.Ahoy, AhoyConfig{
				Name: fmt.Sprintf("HM-%d-%d", h, i+1), Nameplate: gridmint.W(nameplate),
				Topic: fmt.Sprintf("inverter-%d", h), Array: &a,
			})
		}
	}
	if sp.Battery {
		hc.Victron = []VictronConfig{{
			PortalID: fmt.Sprintf("%012x", uint64(0x02c0619b0000)+uint64(h)), CapacityKWh: batKWh,
			MinSoCPct: minSoC, InitialSoCPct: initSoC, MaxChargeW: batW, MaxDischargeW: batW, RoundTripEfficiency: eff,
			BatteryInstance: 512 + h, GridInstance: 30 + h,
		}}
	}
	if sp.ShellyMeter {
		hc.ShellyMeters = []ShellyMeterConfig{{MAC: fmt.Sprintf("%012x", uint64(0x02a1b3100000)+uint64(h))}}
	}
	if sp.EV {
		hc.GoE = []GoEConfig{{
			Serial: strconv.Itoa(300000 + h), Phases: phases, MaxCurrent: amp,
			Habits: &EVHabits{PluggedAtStart: cfg.PluggedAtStart},
		}}
	}
	if sp.TasmotaPlug {
		hc.Plugs = []PlugConfig{{Topic: fmt.Sprintf("tasmota_%06X", 0x600000+h), AnnualKWh: plugKWh, TelePeriod: sz.PlugTele}}
	}
	if sp.ShellyPlug {
		hc.ShellyPlugs = []ShellyPlugConfig{{MAC: fmt.Sprintf("%012x", uint64(0x02a1b2100000)+uint64(h)), AnnualKWh: plugKWh}}
	}
	return hc, nil
}

// fleetDevices lists the Sim's devices as a node configures them (home h).
func (s *Sim) fleetDevices(h int) []FleetDevice {
	s.mu.Lock()
	defer s.mu.Unlock()
	skew := func(id string) time.Duration {
		if s.faults == nil {
			return 0
		}
		if d := s.faults.byID[id]; d != nil {
			return d.skew
		}
		return 0
	}
	var out []FleetDevice
	for _, d := range s.dtus {
		ad := FleetAdapter{Dialect: "opendtu", BaseTopic: d.baseTopic}
		for _, inv := range d.inverters {
			out = append(out, FleetDevice{
				Home: h, Dialect: "opendtu", Serial: inv.serial, Kind: gridmint.KindPVInverter, Name: inv.name,
				NameplateW: inv.nameplate, Adapter: ad, Client: d.id, Dishonest: inv.lie, ClockSkew: skew(d.id),
			})
		}
	}
	for _, a := range s.ahoys {
		ad := FleetAdapter{Dialect: "ahoydtu", BaseTopic: a.topic, Inverters: map[string]int{}}
		for _, inv := range a.inverters {
			ad.Inverters[inv.name] = inv.index
		}
		for _, inv := range a.inverters {
			out = append(out, FleetDevice{
				Home: h, Dialect: "ahoydtu", Serial: inv.name, Kind: gridmint.KindPVInverter, Name: inv.name + " (AhoyDTU " + a.topic + ")",
				NameplateW: inv.nameplate, Adapter: ad, Client: a.id, Dishonest: inv.lie, ClockSkew: skew(a.id),
			})
		}
	}
	for _, p := range s.plugs {
		for i := range p.channels {
			serial := p.topic
			if len(p.channels) > 1 {
				serial += ":" + strconv.Itoa(i+1)
			}
			out = append(out, FleetDevice{
				Home: h, Dialect: "tasmota", Serial: serial, Kind: gridmint.KindPlug, Name: "Tasmota " + serial,
				Adapter: FleetAdapter{Dialect: "tasmota", BaseTopic: tasmotaAdapterTopic(p.fullTopic)}, Client: p.id, ClockSkew: skew(p.id),
			})
		}
	}
	for _, p := range s.shellyPlugs {
		out = append(out, FleetDevice{
			Home: h, Dialect: "shelly", Serial: p.prefix + ":switch:0", Kind: gridmint.KindPlug, Name: "Shelly Plus Plug S " + p.id,
			Adapter: FleetAdapter{Dialect: "shelly"}, Client: p.client, ClockSkew: skew(p.client),
		})
	}
	for _, m := range s.shellyMeters {
		out = append(out, FleetDevice{
			Home: h, Dialect: "shelly", Serial: m.prefix + ":em:0", Kind: gridmint.KindMeter, Name: "Shelly Pro 3EM " + m.id,
			Adapter: FleetAdapter{Dialect: "shelly"}, Client: m.client, ClockSkew: skew(m.client),
		})
	}
	for _, gx := range s.gxs {
		ad := FleetAdapter{Dialect: "victron", PortalID: gx.portal}
		b := gx.bat
		out = append(out, FleetDevice{
			Home: h, Dialect: "victron", Serial: "battery-" + strconv.Itoa(gx.paths.batInst), Kind: gridmint.KindBattery,
			Name: "Victron battery " + gx.portal, CapacityWh: int64(math.Round(b.capWh)),
			Limits: gridmint.SafetyLimits{
				SoCFloor: math.Round(b.minWh / b.capWh * 100), MaxCharge: gridmint.W(b.maxChargeW), MaxDischarge: gridmint.W(b.maxDischargeW),
			},
			Adapter: ad, Client: gx.id, ClockSkew: skew(gx.id),
		})
		out = append(out, FleetDevice{
			Home: h, Dialect: "victron", Serial: "grid-" + strconv.Itoa(gx.paths.gridInst), Kind: gridmint.KindMeter,
			Name: "Victron grid meter " + gx.portal, Adapter: ad, Client: gx.id, ClockSkew: skew(gx.id),
		})
	}
	for _, g := range s.goes {
		out = append(out, FleetDevice{
			Home: h, Dialect: "goe", Serial: g.serial, Kind: gridmint.KindEVCharger, Name: "go-eCharger " + g.serial,
			Limits:  gridmint.SafetyLimits{MinCurrent: float64(g.mca), MaxCurrent: float64(g.ama)},
			Adapter: FleetAdapter{Dialect: "goe", BaseTopic: goeAdapterTopic(g.base, g.serial)}, Client: g.id, ClockSkew: skew(g.id),
		})
	}
	return out
}

// tasmotaAdapterTopic is the node adapter's base topic for a FullTopic:
// "" for the default.
func tasmotaAdapterTopic(ft string) string {
	if ft == DefaultFullTopic {
		return ""
	}
	return ft
}

// goeAdapterTopic is the node adapter's base topic (the prefix) for a
// charger's <prefix><serial>/: "" for the default prefix.
func goeAdapterTopic(base, serial string) string {
	p := base[:len(base)-len(serial)-1]
	if p == DefaultGoEPrefix {
		return ""
	}
	return p
}

// Homes returns the fleet's homes, in order: Homes()[0] is home 1. Step
// them, command them, snapshot them like any Sim; Run runs them all.
func (f *Fleet) Homes() []*Sim { return slices.Clone(f.homes) }

// Devices lists every device of the fleet as a node configures it.
func (f *Fleet) Devices() []FleetDevice { return slices.Clone(f.devices) }

// Adapters lists the node adapters the fleet's devices need, each once,
// in the order of first use (AhoyDTU adapters with every inverter).
func (f *Fleet) Adapters() []FleetAdapter { return adaptersOf(f.devices) }

// Devices lists the Sim's devices as a node configures them, as
// Fleet.Devices does (Home 1).
func (s *Sim) Devices() []FleetDevice { return s.fleetDevices(1) }

// Adapters lists the node adapters the Sim's devices need, as
// Fleet.Adapters does.
func (s *Sim) Adapters() []FleetAdapter { return adaptersOf(s.fleetDevices(1)) }

// adaptersOf lists the adapters devs need, each once, in the order of
// first use, with the inverters of every device of an AhoyDTU adapter.
func adaptersOf(devs []FleetDevice) []FleetAdapter {
	var out []FleetAdapter
	seen := map[string]int{}
	for _, d := range devs {
		a := d.Adapter
		key := a.Dialect + "\x00" + a.BaseTopic + "\x00" + a.PortalID
		if i, ok := seen[key]; ok {
			for k, v := range a.Inverters {
				out[i].Inverters[k] = v
			}
			continue
		}
		if a.Inverters != nil {
			inv := make(map[string]int, len(a.Inverters))
			for k, v := range a.Inverters {
				inv[k] = v
			}
			a.Inverters = inv
		}
		seen[key] = len(out)
		out = append(out, a)
	}
	return out
}

// Mode is the connection mode Run uses: ConnPerDevice or ConnShared.
func (f *Fleet) Mode() string { return f.mode }

// Step advances every home to sim time now and returns their messages,
// home after home (see Sim.Step). Homes are stepped in parallel; a
// copying liar copies its neighbour as of the previous Step, so the
// output depends only on the seed and the Step times. Like Sim.Step it
// publishes only while Run is connected.
func (f *Fleet) Step(now time.Time) []Message {
	for i := range f.pvNow {
		f.pvPrev[i].Store(f.pvNow[i].Load())
	}
	out := make([][]Message, len(f.homes))
	workers := min(runtime.GOMAXPROCS(0), len(f.homes))
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(f.homes) {
					return
				}
				out[i] = f.homes[i].Step(now)
			}
		})
	}
	wg.Wait()
	n := 0
	for _, m := range out {
		n += len(m)
	}
	all := make([]Message, 0, n)
	for _, m := range out {
		all = append(all, m...)
	}
	return all
}

// ProfileTime is the fleet's profile-clock time at sim time now.
func (f *Fleet) ProfileTime(now time.Time) time.Time { return f.homes[0].ProfileTime(now) }

// EVSessions returns the finished sessions of every home's chargers (the
// latest 64 per charger), home after home.
func (f *Fleet) EVSessions() []EVSession {
	var out []EVSession
	for _, s := range f.homes {
		out = append(out, s.EVSessions()...)
	}
	return out
}

// Stats returns the fleet's counters.
func (f *Fleet) Stats() FleetStats {
	st := FleetStats{Homes: len(f.homes), Devices: len(f.devices), Cycles: f.cycles.Load(), Late: f.late.Load()}
	for _, s := range f.homes {
		hs := s.Stats()
		st.Endpoints += hs.Devices
		st.Faults.Add(hs.Faults)
		st.EV.Add(hs.EV)
		st.Commands += hs.Commands
		st.Ignored += hs.Ignored
		if f.mode == ConnPerDevice {
			st.Published += hs.Published
			st.Connected += hs.Connected
		}
	}
	st.ProfileTime = f.ProfileTime(f.clock.Now())
	if f.mode == ConnPerDevice {
		st.Connections = st.Endpoints
		return st
	}
	st.Published = f.published.Load()
	f.shardMu.Lock()
	st.Connections = len(f.shards)
	st.Bytes = f.bytesDone
	for _, sh := range f.shards {
		st.Bytes += sh.client.bytes.Load()
		if sh.client.connected.Load() {
			st.Connected++
		}
	}
	f.shardMu.Unlock()
	return st
}
