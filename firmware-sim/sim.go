package firmwaresim

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gridmint/gridmint"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultPeriod         = 5 * time.Second     // publish cycle; OpenDTU's default publish interval
	DefaultClientPrefix   = "fwsim-"            // MQTT client ID prefix
	DefaultBaseTopic      = "solar/"            // OpenDTU's default base topic
	DefaultFullTopic      = "%prefix%/%topic%/" // Tasmota's default FullTopic
	DefaultNameplate      = gridmint.W(800)     // inverter AC rating, W (a Hoymiles HM-800)
	DefaultAnnualKWh      = 1000.0              // plug channel consumption, kWh per year
	DefaultPowerFactor    = 0.9                 // plug load power factor, 0..1
	DefaultVoltage        = 230.0               // nominal mains voltage, V
	DefaultConnectTimeout = 10 * time.Second    // first connect + subscribe per device
	// MaxSpeed bounds Config.Speed so that the profile clock cannot
	// overflow time.Duration within years of running.
	MaxSpeed = 100_000.0
	// MaxPlugChannels is the most relay channels a Tasmota energy driver
	// reports (and what the node's adapter accepts).
	MaxPlugChannels = 8

	// DefaultHouseAnnualKWh is the consumption of the simulated house
	// besides its plugs, EV charger and battery, kWh per year (BDEW H25).
	DefaultHouseAnnualKWh = 3500.0
	// DefaultAhoyTopic is AhoyDTU's default base topic (no trailing '/').
	DefaultAhoyTopic = "inverter"
	// DefaultAhoyNameplate is the AC rating of an AhoyDTU inverter, W (a
	// Hoymiles HM-600).
	DefaultAhoyNameplate = gridmint.W(600)
	// DefaultGoEPrefix is the go-eCharger's default MQTT topic prefix (mtp).
	DefaultGoEPrefix = "go-eCharger/"
	// DefaultGoEPhases is the number of phases a car charges on.
	DefaultGoEPhases = 3
	// DefaultGoEMaxCurrent is the charger's ama, A: an 11 kW HOME+.
	DefaultGoEMaxCurrent = 16
	// DefaultGoEMinCurrent is the charger's mca, A: the IEC 61851 minimum.
	DefaultGoEMinCurrent = 6
	// Victron battery defaults.
	DefaultBatteryKWh          = 10.0   // usable capacity, kWh
	DefaultBatteryMaxW         = 3000.0 // charge and discharge limit each, W
	DefaultBatteryMinSoC       = 10.0   // %, Victron ESS's default minimum SoC
	DefaultBatteryMaxSoC       = 100.0  // %
	DefaultBatteryInitialSoC   = 50.0   // % of a battery without saved state
	DefaultBatteryRoundTripEff = 0.9    // AC to AC, 0..1
	// VictronKeepAliveTimeout is how long a GX keeps publishing after the
	// last keep-alive (dbus-flashmq's 60 s), on the sim clock.
	VictronKeepAliveTimeout = 60 * time.Second
)

// Config configures a Sim. Zero fields take the documented defaults.
type Config struct {
	// Broker is the MQTT broker URL, tcp://host:port (also mqtt://, ssl://,
	// tls://, ws://, wss://). Only Run needs it.
	Broker string
	// ClientPrefix starts every MQTT client ID; default "fwsim-".
	ClientPrefix string
	// Period is the publish cycle of Run and the physics step (OpenDTU's
	// publish interval); default 5 s, like the firmware.
	Period time.Duration
	// PV lists the inverters. Inverters with the same BaseTopic share one
	// simulated OpenDTU (one MQTT connection), as on real hardware.
	PV []PVConfig
	// Plugs lists the Tasmota plugs, one MQTT connection each.
	Plugs []PlugConfig
	// ShellyPlugs lists Shelly Plus Plug S (Gen2) smart plugs, one MQTT
	// connection each.
	ShellyPlugs []ShellyPlugConfig
	// ShellyMeters lists Shelly Pro 3EM meters (triphase profile), each
	// measuring the house's grid connection (see HouseAnnualKWh).
	ShellyMeters []ShellyMeterConfig
	// Victron lists Venus OS GX devices (dbus-flashmq), each with a
	// battery, a grid meter and an ESS inverter/charger.
	Victron []VictronConfig
	// GoE lists go-eCharger EV chargers (API v2 over MQTT).
	GoE []GoEConfig
	// Ahoy lists Hoymiles inverters behind AhoyDTU gateways. Inverters
	// with the same Topic share one AhoyDTU (one MQTT connection) and get
	// indices 0, 1, ... in this order.
	Ahoy []AhoyConfig
	// HouseAnnualKWh is the consumption of the house that every grid meter
	// (Shelly Pro 3EM, Victron grid) measures, besides what the other
	// simulated devices add (see the package doc, "The house"): kWh per
	// year to which the house's load profile is scaled; default 3500.
	HouseAnnualKWh float64
	// HouseProfile is the house's load profile: HouseH25 (the BDEW H25
	// standard profile, the default) or HouseAusgrid (a real Sydney
	// household's 2011-12 year, seasons aligned; see ausgrid.go).
	HouseProfile string
	// HouseShift moves the house along its profile: it lives the load of
	// profile time + HouseShift (an hour later for late risers; whole
	// days pick another day of the real household's year). Within ±1 year.
	HouseShift time.Duration
	// Faults are the injected faults (faults.go); zero: none.
	Faults FaultConfig
	// ProfileStart is the profile-clock time at simStart (see the package
	// doc). Zero: the sim clock's own time in Location.
	ProfileStart time.Time
	// Speed is how many profile seconds pass per sim-clock second; default
	// 1, at most MaxSpeed.
	Speed float64
	// Location is the zone in which the sim clock is read as local time:
	// the profile clock when ProfileStart is zero, and Tasmota's Time
	// fields. Default UTC.
	Location *time.Location
	// Seed seeds the measurement noise (math/rand/v2 PCG, one stream per
	// device). The same seed and the same Step times give the same
	// payloads.
	Seed uint64
	// Clock is the sim clock; default gridmint.SystemClock.
	Clock gridmint.Clock
	// Logger receives connection and command events; default discards.
	Logger *slog.Logger
	// ConnectTimeout bounds Run's first connection and subscription of
	// each device; default 10 s.
	ConnectTimeout time.Duration
}

// PVConfig is one Hoymiles micro-inverter behind an OpenDTU.
type PVConfig struct {
	// Serial is the inverter serial: 12 decimal digits, e.g.
	// "116181234567". OpenDTU reads serials in topics as hex, so they
	// must be unique as hex numbers too.
	Serial string
	// Name is published on <serial>/name; default "HM-<nameplate> <last
	// four digits of the serial>".
	Name string
	// Nameplate is the inverter's AC rating (W), default 800. Output is
	// the PV profile scaled linearly to it and clipped at it; limits are
	// percentages of it, as on the inverter.
	Nameplate gridmint.W
	// BaseTopic is OpenDTU's base topic, ending in '/'; default "solar/".
	BaseTopic string
	// Array is the modules' orientation and clouds; nil: the profile's
	// own array without minute-scale clouds (see PVArray).
	Array *PVArray
	// Dishonest makes the inverter lie (fault injection); "" is honest,
	// unless Config.Faults.Dishonest draws a lie for it.
	Dishonest Dishonesty
}

// PlugConfig is one Tasmota energy-monitoring plug.
type PlugConfig struct {
	// Topic is Tasmota's %topic%, e.g. "tasmota_A1B2C3". Required.
	Topic string
	// FullTopic is Tasmota's FullTopic pattern with %prefix% and %topic%
	// and a trailing '/'; default "%prefix%/%topic%/".
	FullTopic string
	// Channels is the number of relays with energy metering (1..8),
	// default 1. With more than one, ENERGY values become per-channel
	// arrays with a shared scalar Voltage, like a Sonoff Dual R3.
	Channels int
	// SeparateTotals is Tasmota's SetOption129: with it, Total, Yesterday,
	// Today and Period are per-channel arrays like Power; without it (the
	// firmware's default) they are one sum over all channels.
	SeparateTotals bool
	// AnnualKWh is each channel's consumption (kWh per year) to which the
	// BDEW H25 profile is scaled; default 1000.
	AnnualKWh float64
	// TelePeriod is how often tele/<topic>/STATE and SENSOR are published
	// (Tasmota's TelePeriod; the firmware's default is 300 s). Zero: every
	// Period. Otherwise it is rounded to whole Periods.
	TelePeriod time.Duration
	// PowerFactor of the load, in (0, 1]; default 0.9.
	PowerFactor float64
	// Voltage is the nominal mains voltage (V); default 230.
	Voltage float64
}

// Message is one MQTT message a simulated device publishes.
type Message struct {
	Device   string // MQTT client ID of the publishing device
	Topic    string // full topic, base topic or FullTopic applied
	Payload  string // plain-text scalar (OpenDTU) or JSON (Tasmota)
	QoS      byte   // MQTT QoS, 0 or 1
	Retained bool   // MQTT retain flag
}

// String is "topic payload" with a retained marker, for logs and tests.
func (m Message) String() string {
	r := ""
	if m.Retained {
		r = " (retained)"
	}
	return m.Topic + " " + m.Payload + r
}

// Stats are counters of a running Sim, for the binary's summary line.
type Stats struct {
	Devices   int    // MQTT devices: OpenDTUs, plugs, Shellys, GXs, go-es, AhoyDTUs
	Connected int    // devices whose MQTT connection is up
	Published uint64 // messages handed to the MQTT client without error
	Commands  uint64 // command messages received
	Ignored   uint64 // commands received but not applied (see the log)
	Faults    FaultStats
	EV        EVStats // finished car sessions of chargers with EVHabits
}

// House load profiles (Config.HouseProfile).
const (
	HouseH25     = "h25"
	HouseAusgrid = "ausgrid"
)

// timeMap maps the sim clock to the profile clock and back (see the
// package doc, "Two clocks").
type timeMap struct {
	simStart, profileStart time.Time
	speed                  float64
}

// profile is the profile-clock time at sim time now.
func (m *timeMap) profile(now time.Time) time.Time {
	return m.profileStart.Add(time.Duration(float64(now.Sub(m.simStart)) * m.speed))
}

// sim is the sim-clock time at profile time pt.
func (m *timeMap) sim(pt time.Time) time.Time {
	return m.simStart.Add(time.Duration(float64(pt.Sub(m.profileStart)) / m.speed))
}

// Sim is a set of simulated devices. All methods are safe for concurrent
// use.
type Sim struct {
	cfg          Config
	log          *slog.Logger
	clock        gridmint.Clock
	loc          *time.Location
	pvProfile    *PVProfile
	loadProfile  *LoadProfile
	household    *HouseholdProfile // HouseAusgrid's profile; nil with H25
	simStart     time.Time         // sim-clock time of New
	profileStart time.Time         // profile-clock time at simStart
	tm           *timeMap

	// neighbour returns the PV power a copying liar reports (set by a
	// Fleet before the first Step; nil: no neighbour).
	neighbour func() (float64, bool)
	// onStep, when set (by a Fleet), receives the PV power the inverters
	// reported in each Step, W.
	onStep func(pvW float64)
	lastPV float64 // for onStep, under mu

	stepMu sync.Mutex // serialises Step, so cycles are published in order

	mu           sync.Mutex // guards device state
	dtus         []*dtu
	plugs        []*plug
	shellyPlugs  []*shellyPlug
	shellyMeters []*shellyMeter
	gxs          []*venusGX
	goes         []*goeCharger
	ahoys        []*ahoyDTU
	house        *house
	faults       *faultInjector // nil: no faults

	connMu sync.Mutex
	conns  map[string]*conn // by client ID, while Run is connected

	running                      atomic.Bool // Run is active
	published, commands, ignored atomic.Uint64
}

// endpoint is one MQTT-connected simulated device. Methods other than
// clientID (immutable) are called with Sim.mu held.
type endpoint interface {
	clientID() string
	// will is the MQTT last will; a zero Message (empty Topic) is none.
	will() Message
	// onConnect returns what the device publishes on every (re)connect.
	onConnect(now time.Time) []Message
	subscriptions() []string
	// handle applies a received command and returns the replies; ok is
	// false when the command was ignored, with why.
	handle(now time.Time, topic string, payload []byte, retained bool) (replies []Message, ok bool, why string)
	// setSkew sets the error of the device's clock (fault injection).
	setSkew(d time.Duration)
	// reboot restarts the device at now with its energy counters at 0
	// (fault injection).
	reboot(now time.Time)
}

// New validates cfg, applies defaults, loads the embedded profiles and
// returns a Sim whose devices start with zero counters. Errors are
// gridmint EInvalid errors naming the offending field.
func New(cfg Config) (*Sim, error) {
	if cfg.ClientPrefix == "" {
		cfg.ClientPrefix = DefaultClientPrefix
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Speed == 0 {
		cfg.Speed = 1
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
	if cfg.HouseAnnualKWh == 0 {
		cfg.HouseAnnualKWh = DefaultHouseAnnualKWh
	}
	if cfg.HouseProfile == "" {
		cfg.HouseProfile = HouseH25
	}
	switch {
	case cfg.Period < 0:
		return nil, invalid("Config.Period %v: must be positive", cfg.Period)
	case math.IsNaN(cfg.Speed) || cfg.Speed < 0 || cfg.Speed > MaxSpeed:
		return nil, invalid("Config.Speed %v: want 0 < speed <= %v", cfg.Speed, MaxSpeed)
	case cfg.ConnectTimeout < 0:
		return nil, invalid("Config.ConnectTimeout %v: must be positive", cfg.ConnectTimeout)
	case strings.ContainsAny(cfg.ClientPrefix, "+#/"):
		return nil, invalid("Config.ClientPrefix %q: no '+', '#' or '/'", cfg.ClientPrefix)
	case !(cfg.HouseAnnualKWh > 0 && cfg.HouseAnnualKWh <= 1e6):
		return nil, invalid("Config.HouseAnnualKWh %v: want 0 < kWh/yr <= 1e6", cfg.HouseAnnualKWh)
	case cfg.HouseProfile != HouseH25 && cfg.HouseProfile != HouseAusgrid:
		return nil, invalid("Config.HouseProfile %q: want %q or %q", cfg.HouseProfile, HouseH25, HouseAusgrid)
	case cfg.HouseShift < -366*24*time.Hour || cfg.HouseShift > 366*24*time.Hour:
		return nil, invalid("Config.HouseShift %v: want within ±1 year", cfg.HouseShift)
	case len(cfg.PV)+len(cfg.Plugs)+len(cfg.ShellyPlugs)+len(cfg.ShellyMeters)+len(cfg.Victron)+len(cfg.GoE)+len(cfg.Ahoy) == 0:
		return nil, invalid("Config.PV, Plugs, ShellyPlugs, ShellyMeters, Victron, GoE and Ahoy are all empty: nothing to simulate")
	}
	if cfg.Broker != "" {
		if err := checkBroker(cfg.Broker); err != nil {
			return nil, err
		}
	}
	if err := cfg.Faults.check("Config.Faults"); err != nil {
		return nil, err
	}
	pvp, err := DefaultPVProfile()
	if err != nil {
		return nil, gridmint.Errorf(gridmint.EInternal, "embedded PV profile: %v", err)
	}
	lp, err := DefaultLoadProfile()
	if err != nil {
		return nil, gridmint.Errorf(gridmint.EInternal, "embedded load profile: %v", err)
	}
	var hh *HouseholdProfile
	if cfg.HouseProfile == HouseAusgrid {
		if hh, err = DefaultHouseholdProfile(); err != nil {
			return nil, gridmint.Errorf(gridmint.EInternal, "embedded household profile: %v", err)
		}
	}
	now := cfg.Clock.Now()
	s := &Sim{
		cfg:          cfg,
		log:          cfg.Logger,
		clock:        cfg.Clock,
		loc:          cfg.Location,
		pvProfile:    pvp,
		loadProfile:  lp,
		household:    hh,
		simStart:     now,
		profileStart: cfg.ProfileStart,
		conns:        map[string]*conn{},
	}
	if s.profileStart.IsZero() {
		s.profileStart = now.In(cfg.Location)
	}
	s.tm = &timeMap{simStart: s.simStart, profileStart: s.profileStart, speed: cfg.Speed}
	clientIDs := map[string]string{}
	claim := func(id, field string) error {
		if other, dup := clientIDs[id]; dup {
			return invalid("%s: MQTT client ID %q also used by %s", field, id, other)
		}
		clientIDs[id] = field
		return nil
	}
	serials := map[uint64]int{}
	for i, pc := range cfg.PV {
		field := fmt.Sprintf("Config.PV[%d]", i)
		inv, err := newInverter(pc, field, cfg.Seed)
		if err != nil {
			return nil, err
		}
		if j, dup := serials[inv.serialHex]; dup {
			return nil, invalid("%s.Serial %q: same inverter serial (read as hex, like OpenDTU) as Config.PV[%d]", field, pc.Serial, j)
		}
		serials[inv.serialHex] = i
		var d *dtu
		for _, cand := range s.dtus {
			if cand.baseTopic == inv.baseTopic {
				d = cand
			}
		}
		if d == nil {
			d = newDTU(cfg.ClientPrefix, inv.baseTopic, now)
			if err := claim(d.id, field+".BaseTopic"); err != nil {
				return nil, err
			}
			s.dtus = append(s.dtus, d)
		}
		d.inverters = append(d.inverters, inv)
	}
	topics := map[string]int{}
	for i, pc := range cfg.Plugs {
		field := fmt.Sprintf("Config.Plugs[%d]", i)
		p, err := newPlug(pc, field, cfg.ClientPrefix, cfg.Seed, now, cfg.Location)
		if err != nil {
			return nil, err
		}
		if j, dup := topics[pc.Topic]; dup {
			return nil, invalid("%s.Topic %q: also used by Config.Plugs[%d]", field, pc.Topic, j)
		}
		topics[pc.Topic] = i
		if err := claim(p.id, field+".Topic"); err != nil {
			return nil, err
		}
		s.plugs = append(s.plugs, p)
	}
	if err := s.newDialects(cfg, now, claim); err != nil {
		return nil, err
	}
	s.house = newHouse(cfg.HouseAnnualKWh, cfg.Seed)
	s.assignLies(cfg.Faults)
	s.faults = newFaultInjector(cfg.Faults, cfg.Seed, s.endpoints())
	return s, nil
}

// assignLies draws which honest-configured inverters lie (FaultConfig.
// Dishonest), each from its own stream so that the draw does not depend
// on the other devices.
func (s *Sim) assignLies(fc FaultConfig) {
	if fc.Dishonest == 0 {
		return
	}
	fc = fc.withDefaults()
	draw := func(identity string) Dishonesty {
		r := deviceRand(s.cfg.Seed, "dishonest/"+identity)
		if r.Float64() >= fc.Dishonest {
			return Honest
		}
		return fc.DishonestModes[r.IntN(len(fc.DishonestModes))]
	}
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			if inv.lie == Honest {
				inv.lie = draw("opendtu/" + inv.serial)
			}
		}
	}
	for _, a := range s.ahoys {
		for _, inv := range a.inverters {
			if inv.lie == Honest {
				inv.lie = draw("ahoy/" + a.topic + "/" + inv.name)
			}
		}
	}
}

// newDialects builds the Shelly, Victron, go-e and AhoyDTU devices of
// cfg (see New).
func (s *Sim) newDialects(cfg Config, now time.Time, claim func(id, field string) error) error {
	prefixes := map[string]string{} // Shelly topic prefix → field
	for i, pc := range cfg.ShellyPlugs {
		field := fmt.Sprintf("Config.ShellyPlugs[%d]", i)
		p, err := newShellyPlug(pc, field, cfg.ClientPrefix, cfg.Seed, now, cfg.Location)
		if err != nil {
			return err
		}
		if other, dup := prefixes[p.prefix]; dup {
			return invalid("%s.Prefix %q: also used by %s", field, p.prefix, other)
		}
		prefixes[p.prefix] = field
		if err := claim(p.client, field+".MAC"); err != nil {
			return err
		}
		s.shellyPlugs = append(s.shellyPlugs, p)
	}
	for i, mc := range cfg.ShellyMeters {
		field := fmt.Sprintf("Config.ShellyMeters[%d]", i)
		m, err := newShellyMeter(mc, field, cfg.ClientPrefix, cfg.Seed, now, cfg.Location)
		if err != nil {
			return err
		}
		if other, dup := prefixes[m.prefix]; dup {
			return invalid("%s.Prefix %q: also used by %s", field, m.prefix, other)
		}
		prefixes[m.prefix] = field
		if err := claim(m.client, field+".MAC"); err != nil {
			return err
		}
		s.shellyMeters = append(s.shellyMeters, m)
	}
	for i, vc := range cfg.Victron {
		field := fmt.Sprintf("Config.Victron[%d]", i)
		gx, err := newVenusGX(vc, field, cfg.ClientPrefix, cfg.Seed)
		if err != nil {
			return err
		}
		if err := claim(gx.id, field+".PortalID"); err != nil {
			return err
		}
		s.gxs = append(s.gxs, gx)
	}
	bases := map[string]string{} // go-e <prefix><serial>/ → field
	for i, gc := range cfg.GoE {
		field := fmt.Sprintf("Config.GoE[%d]", i)
		g, err := newGoECharger(gc, field, cfg.ClientPrefix, cfg.Seed, now)
		if err != nil {
			return err
		}
		g.tm = s.tm
		if other, dup := bases[g.base]; dup {
			return invalid("%s.Serial %q: prefix and serial also used by %s", field, gc.Serial, other)
		}
		bases[g.base] = field
		if err := claim(g.id, field+".Serial"); err != nil {
			return err
		}
		s.goes = append(s.goes, g)
	}
	for i, ac := range cfg.Ahoy {
		field := fmt.Sprintf("Config.Ahoy[%d]", i)
		topic := ac.Topic
		if topic == "" {
			topic = DefaultAhoyTopic
		}
		if err := checkAhoyTopic(field, topic); err != nil {
			return err
		}
		var a *ahoyDTU
		for _, cand := range s.ahoys {
			if cand.topic == topic {
				a = cand
			}
		}
		if a == nil {
			a = newAhoyDTU(cfg.ClientPrefix, topic, now)
			if err := claim(a.id, field+".Topic"); err != nil {
				return err
			}
			s.ahoys = append(s.ahoys, a)
		}
		inv, err := newAhoyInverter(ac, field, topic, len(a.inverters), cfg.Seed)
		if err != nil {
			return err
		}
		for _, other := range a.inverters {
			if other.name == inv.name {
				return invalid("%s.Name %q: another inverter of AhoyDTU %q has that name", field, inv.name, topic)
			}
		}
		a.inverters = append(a.inverters, inv)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return gridmint.Errorf(gridmint.EInvalid, "firmwaresim: "+format, args...)
}

func checkBroker(broker string) error {
	u, err := url.Parse(broker)
	if err != nil {
		return invalid("Config.Broker %q: %v", broker, err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "ws", "wss":
	default:
		return invalid("Config.Broker %q: want tcp://host:port", broker)
	}
	if u.Host == "" {
		return invalid("Config.Broker %q: no host:port", broker)
	}
	return nil
}

// deviceRand returns the noise stream of one device: PCG seeded with the
// configured seed and a hash of the device's identity, so a device's noise
// does not change when other devices are added or reordered.
func deviceRand(seed uint64, identity string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(identity))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// ProfileTime returns the profile-clock time at sim-clock time now (see the
// package doc).
func (s *Sim) ProfileTime(now time.Time) time.Time { return s.tm.profile(now) }

// Step advances every device's physics to sim-clock time now and returns
// the messages of one publish cycle, in the order the firmware publishes
// them. While Run is connected it also publishes them, each on its
// device's connection. Run calls Step every Period; tests call it directly
// with chosen times. Energy is only counted for time after the latest
// Step, so a clock that steps back never counts an interval twice.
func (s *Sim) Step(now time.Time) []Message {
	s.stepMu.Lock()
	defer s.stepMu.Unlock()
	msgs := s.step(now)
	if s.onStep != nil {
		s.onStep(s.lastPV) // stepMu keeps lastPV
	}
	s.publish(msgs)
	return msgs
}

// step is Step without publishing. Called with stepMu held.
func (s *Sim) step(now time.Time) []Message {
	pt := s.ProfileTime(now)
	var msgs []Message
	nW, nOK := 0.0, false
	if s.neighbour != nil {
		nW, nOK = s.neighbour()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Faults that change devices (reboots, outages) first, then physics,
	// every device, then the house balance that the meters and batteries
	// see; then each device's publish cycle.
	if s.faults != nil {
		msgs = s.faults.events(now)
	}
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			inv.advance(now, pt, s.pvProfile, nW, nOK)
		}
	}
	for _, a := range s.ahoys {
		for _, inv := range a.inverters {
			inv.advance(now, pt, s.pvProfile, nW, nOK)
		}
	}
	for _, p := range s.plugs {
		p.advance(now, pt, s.loadProfile)
	}
	for _, p := range s.shellyPlugs {
		p.advance(now, pt, s.loadProfile)
	}
	for _, g := range s.goes {
		g.advance(now, pt)
	}
	s.advanceHouse(now, pt)
	if s.onStep != nil {
		s.lastPV = s.pvReportedW()
	}

	var cycle []Message
	for _, d := range s.dtus {
		cycle = append(cycle, d.cycle(now)...)
	}
	for _, p := range s.plugs {
		if p.teleDue(now, s.cfg.Period) {
			cycle = append(cycle, p.tele(now)...)
		}
	}
	for _, p := range s.shellyPlugs {
		cycle = append(cycle, p.cycle(now)...)
	}
	for _, m := range s.shellyMeters {
		cycle = append(cycle, m.cycle(now)...)
	}
	for _, gx := range s.gxs {
		cycle = append(cycle, gx.cycle(now)...)
	}
	for _, g := range s.goes {
		cycle = append(cycle, g.cycle(now)...)
	}
	if len(s.ahoys) > 0 {
		commStart, commStop := s.daylight(now)
		for _, a := range s.ahoys {
			cycle = append(cycle, a.cycle(now, commStart, commStop)...)
		}
	}
	if s.faults == nil {
		return cycle
	}
	return append(msgs, s.faults.filter(cycle)...)
}

// PVReportedW is the AC power the Sim's inverters reported in the latest
// Step, W: what a neighbour copying them sees.
func (s *Sim) PVReportedW() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pvReportedW()
}

// PVProduction is one PV inverter's energy since the Sim was built: the
// ground truth that tests of the node's defences score against, since a
// dishonest inverter's counters say otherwise.
type PVProduction struct {
	// Dialect and Serial name the inverter as FleetDevice does.
	Dialect, Serial string
	Dishonest       Dishonesty
	// ProducedWh is the AC energy it really fed in (what the grid meter
	// sees), Wh; ReportedWh is what it reported (its lifetime counter's
	// growth, resets aside), Wh: the same for an honest inverter. Neither
	// is kept in State.
	ProducedWh, ReportedWh float64
}

// PVProduction returns every PV inverter's energy since the Sim was built
// (OpenDTU inverters, then AhoyDTU ones, in config order), as of the
// latest Step.
func (s *Sim) PVProduction() []PVProduction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PVProduction
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			out = append(out, PVProduction{Dialect: "opendtu", Serial: inv.serial, Dishonest: inv.lie,
				ProducedWh: inv.producedWh, ReportedWh: inv.reportedWh})
		}
	}
	for _, a := range s.ahoys {
		for _, inv := range a.inverters {
			out = append(out, PVProduction{Dialect: "ahoydtu", Serial: inv.name, Dishonest: inv.lie,
				ProducedWh: inv.producedWh, ReportedWh: inv.reportedWh})
		}
	}
	return out
}

func (s *Sim) pvReportedW() float64 {
	w := 0.0
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			w += inv.live.acW
		}
	}
	for _, a := range s.ahoys {
		for _, inv := range a.inverters {
			w += inv.live.acW
		}
	}
	return w
}

// EVSessions returns the finished sessions of the chargers with EVHabits
// (the latest 64 per charger), charger by charger in config order.
func (s *Sim) EVSessions() []EVSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []EVSession
	for _, g := range s.goes {
		out = append(out, g.log...)
	}
	return out
}

// String describes the Sim for logs.
func (s *Sim) String() string {
	n := 0
	for _, d := range s.dtus {
		n += len(d.inverters)
	}
	na := 0
	for _, a := range s.ahoys {
		na += len(a.inverters)
	}
	return fmt.Sprintf("firmware-sim: %d inverter(s) on %d OpenDTU(s), %d Tasmota plug(s), %d Shelly plug(s), %d Shelly meter(s), %d Victron GX(s), %d go-eCharger(s), %d inverter(s) on %d AhoyDTU(s)",
		n, len(s.dtus), len(s.plugs), len(s.shellyPlugs), len(s.shellyMeters), len(s.gxs), len(s.goes), na, len(s.ahoys))
}

// Stats returns the counters of the running Sim.
func (s *Sim) Stats() Stats {
	st := Stats{
		Devices:   len(s.endpoints()),
		Published: s.published.Load(),
		Commands:  s.commands.Load(),
		Ignored:   s.ignored.Load(),
	}
	s.mu.Lock()
	if s.faults != nil {
		st.Faults = s.faults.stats
	}
	for _, g := range s.goes {
		st.EV.Add(g.evStats)
	}
	s.mu.Unlock()
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			if inv.lie != Honest {
				st.Faults.Dishonest++
			}
		}
	}
	for _, a := range s.ahoys {
		for _, inv := range a.inverters {
			if inv.lie != Honest {
				st.Faults.Dishonest++
			}
		}
	}
	s.connMu.Lock()
	for _, c := range s.conns {
		if c.client.IsConnectionOpen() {
			st.Connected++
		}
	}
	s.connMu.Unlock()
	return st
}

// endpoints lists every MQTT device in config order: OpenDTUs, Tasmota
// plugs, Shelly plugs, Shelly meters, Victron GXs, go-eChargers,
// AhoyDTUs. The slices are fixed after New, so no lock is needed.
func (s *Sim) endpoints() []endpoint {
	var eps []endpoint
	for _, d := range s.dtus {
		eps = append(eps, d)
	}
	for _, p := range s.plugs {
		eps = append(eps, p)
	}
	for _, p := range s.shellyPlugs {
		eps = append(eps, p)
	}
	for _, m := range s.shellyMeters {
		eps = append(eps, m)
	}
	for _, gx := range s.gxs {
		eps = append(eps, gx)
	}
	for _, g := range s.goes {
		eps = append(eps, g)
	}
	for _, a := range s.ahoys {
		eps = append(eps, a)
	}
	return eps
}

// command applies one received command to ep and returns the replies.
func (s *Sim) command(ep endpoint, topic string, payload []byte, retained bool) []Message {
	s.commands.Add(1)
	s.mu.Lock()
	var replies []Message
	ok, why := false, "device offline (fault injection)"
	if !s.faults.offline(ep.clientID()) {
		replies, ok, why = ep.handle(s.clock.Now(), topic, payload, retained)
	}
	s.mu.Unlock()
	if !ok {
		s.ignored.Add(1)
		s.log.Info("command ignored", "device", ep.clientID(), "topic", topic, "payload", string(payload), "retained", retained, "why", why)
	} else {
		// Victron's R/ read requests (keep-alives) come every few seconds of
		// device time, several a wall second under a fast demo clock: they
		// are routine, not commands worth a line each.
		level := slog.LevelInfo
		if strings.HasPrefix(topic, "R/") {
			level = slog.LevelDebug
		}
		s.log.Log(context.Background(), level, "command applied", "device", ep.clientID(), "topic", topic, "payload", string(payload))
	}
	return replies
}

// civilDate is a calendar date without a zone.
type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

func (c civilDate) isZero() bool { return c.year == 0 }

func (c civilDate) next() civilDate {
	return dateOf(time.Date(c.year, c.month, c.day+1, 12, 0, 0, 0, time.UTC))
}

// String formats as 2006-01-02, the form State uses.
func (c civilDate) String() string {
	if c.isZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", c.year, int(c.month), c.day)
}

func parseCivilDate(s string) (civilDate, error) {
	if s == "" {
		return civilDate{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return civilDate{}, err
	}
	return dateOf(t), nil
}

// hoursSince returns now - last in hours, 0 for the first step (last
// zero) or when the clock went backwards.
func hoursSince(last, now time.Time) float64 {
	if last.IsZero() || !now.After(last) {
		return 0
	}
	return now.Sub(last).Hours()
}

// fixed formats v with digits decimals like Arduino's String(float,
// digits), never as "-0".
func fixed(v float64, digits int) string {
	if v == 0 || math.IsNaN(v) {
		v = 0
	}
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if strings.HasPrefix(s, "-") && strings.Trim(s, "-0.") == "" {
		s = s[1:]
	}
	return s
}

// wholeWh is an energy counter as the firmware stores it: truncated to
// whole Wh, so the reported value never runs ahead of the energy counted.
func wholeWh(wh float64) int64 {
	if wh <= 0 {
		return 0
	}
	return int64(math.Floor(wh))
}

// kWh3 formats whole Wh as kWh with three decimals, exactly.
func kWh3(wh int64) string {
	return fmt.Sprintf("%d.%03d", wh/1000, wh%1000)
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
