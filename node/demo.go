package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/gridmint/gridmint"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/node/market"
)

// DemoOptions configure `gridmint demo`.
type DemoOptions struct {
	DataDir  string // default DefaultDataDir
	HTTPAddr string // default DefaultHTTPAddr
	// MQTTAddr is where the embedded broker listens, host:port; port 0
	// picks a free one. Default 127.0.0.1:1883.
	MQTTAddr string
	// P2PListen defaults to loopback TCP and QUIC on free ports.
	P2PListen []string
	// Bootstrap peers (multiaddrs with /p2p/<peer ID>), e.g. the other
	// nodes of `gridmint demo --nodes N`.
	Bootstrap []string
	// MDNS finds other demo nodes on the LAN; `gridmint demo` turns it
	// on (`gridmint run` leaves it off unless configured). Off in tests,
	// so that concurrent tests do not find each other.
	MDNS bool
	// SimPeriod is the simulated devices' publish period, in wall-clock
	// time whatever the clock's speed (a step of the simulated physics
	// covers SimPeriod × speed of clock time); default 5 s (OpenDTU's
	// default). The plug's TelePeriod is two steps.
	SimPeriod time.Duration
	// SimSeed seeds the simulated homes (0: the demo's seed, 1). The
	// nodes of a demo network take different seeds, so their homes are
	// different homes: the same homes on two nodes would report the same
	// PV profiles, which certificate checks refuse as copies.
	SimSeed uint64
	// NoClaims turns the certificate claim cycle off (claims.disabled).
	NoClaims bool
	// StaleAfter marks a device offline after this much silence (clock
	// time); default 6 steps, 6 × SimPeriod × the clock's speed.
	StaleAfter time.Duration
	Logger     *slog.Logger
	// Clock is every component's clock: the simulated devices, their
	// counters and timestamps, the node and its chain. A demo clock
	// (gridmint.ScaledClock) runs the whole demo faster; nil is the
	// system clock.
	Clock   gridmint.Clock
	Version string
	// Role is the node's role: home (default; the broker and simulated
	// homes) or utility (neither: no devices).
	Role Role
	// Chain is the chain configuration of a demo network's node
	// (gridmint demo --nodes): the shared chain's rpc, chain id and
	// contracts, or for the node that hosts it serve_rpc, the funded
	// accounts and the attestor registry. Zero: the node's own
	// embedded chain, with itself the only attestor.
	Chain ChainConfig
	// Reserve is the node's market.reserve: auto ("" too) or manual.
	Reserve string
	// Passphrase unlocks a key made with `gridmint init` in DataDir.
	// Without one, the demo makes a throw-away key whose passphrase it
	// keeps in DataDir/demo-passphrase.
	Passphrase func() ([]byte, error)
}

// The demo's simulated devices, one per dialect, declared so that they
// carry names, nameplates and safety limits. The serials are those the
// adapters derive from the simulated firmware's topics.
const (
	DemoInverterSerial    = "116181234567"                          // OpenDTU
	DemoPlugTopic         = "tasmota_5E1F0C"                        // Tasmota
	DemoShellyPlugSerial  = "shellyplusplugs-02a1b2000001:switch:0" // Shelly Plus Plug S
	DemoShellyMeterSerial = "shellypro3em-02a1b3000001:em:0"        // Shelly Pro 3EM
	DemoVictronPortal     = "02c0619a0001"                          // Victron GX
	DemoBatterySerial     = "battery-512"                           // its battery
	DemoVictronGridSerial = "grid-30"                               // its grid meter
	DemoChargerSerial     = "200001"                                // go-eCharger
	DemoZone              = "DE-LU"                                 // every demo device's grid zone (bidding zone)
	DemoSite              = "home-1"                                // home 1's site; home h's is home-<h>
	DemoAhoyInverter      = "HM-600"                                // AhoyDTU

	demoInverterW    = 800  // a Hoymiles HM-800
	demoAhoyW        = 600  // a Hoymiles HM-600
	demoPlugMaxW     = 3680 // one 16 A, 230 V socket
	demoSimStateFile = "firmware-sim.json"
	// demoPassphraseFile keeps the throw-away key's passphrase: the
	// demo's key is encrypted like any other, but nobody types anything.
	demoPassphraseFile = "demo-passphrase"
)

// demoSeed seeds the demo's simulated homes: the same homes, habits and
// noise on every start.
const demoSeed = 1

// DemoConfig is the node configuration `gridmint demo` runs with: the
// embedded broker at brokerURL and every device and adapter of the demo's
// simulated homes (firmwaresim.DemoFleet).
func DemoConfig(o DemoOptions, brokerURL string) Config {
	// The fleet's devices and identities follow from the seed alone;
	// DemoFleet is fixed (and tested in firmware-sim), so an error here is
	// a bug.
	fleet, err := firmwaresim.NewFleet(firmwaresim.DemoFleet(o.simSeed()))
	if err != nil {
		panic(fmt.Sprintf("demo fleet: %v", err))
	}
	return demoConfig(o, brokerURL, fleet)
}

// demoHouseDevices are home 1's devices (the single house of every
// dialect) as the demo has always named and limited them.
func demoHouseDevices() []DeviceConfig {
	return []DeviceConfig{
		{Dialect: "opendtu", Serial: DemoInverterSerial, Name: "Roof PV (simulated OpenDTU HM-800)", Zone: DemoZone, Site: DemoSite, NameplateW: demoInverterW},
		{Dialect: "tasmota", Serial: DemoPlugTopic, Name: "Kitchen plug (simulated Tasmota)", Zone: DemoZone, Site: DemoSite, NameplateW: demoPlugMaxW},
		{Dialect: "shelly", Serial: DemoShellyPlugSerial, Name: "Dryer plug (simulated Shelly Plus Plug S)", Zone: DemoZone, Site: DemoSite, NameplateW: demoPlugMaxW},
		{Dialect: "shelly", Serial: DemoShellyMeterSerial, Name: "Grid meter (simulated Shelly Pro 3EM)", Zone: DemoZone, Site: DemoSite},
		{Dialect: "victron", Serial: DemoBatterySerial, Name: "Home battery (simulated Victron)", Zone: DemoZone, Site: DemoSite, CapacityWh: 10_000,
			Limits: SafetyLimitsConfig{SoCFloorPct: 15, MaxChargeW: 3000, MaxDischargeW: 3000}},
		{Dialect: "victron", Serial: DemoVictronGridSerial, Name: "Grid meter (simulated Victron)", Zone: DemoZone, Site: DemoSite},
		{Dialect: "goe", Serial: DemoChargerSerial, Name: "Garage charger (simulated go-e)", Zone: DemoZone, Site: DemoSite,
			Limits: SafetyLimitsConfig{MinCurrentA: 6, MaxCurrentA: 16}},
		{Dialect: "ahoydtu", Serial: DemoAhoyInverter, Name: "Balcony PV (simulated AhoyDTU HM-600)", Zone: DemoZone, Site: DemoSite, NameplateW: demoAhoyW},
	}
}

// demoConfig is DemoConfig for a built fleet: an adapter for each of
// fleet.Adapters and a device for each of fleet.Devices, home 1's under
// the names above, the other homes' named after their home; and a site
// per home (see demoSites).
func demoConfig(o DemoOptions, brokerURL string, fleet *firmwaresim.Fleet) Config {
	discover := true
	cfg := Config{
		DataDir:  o.DataDir,
		HTTPAddr: o.HTTPAddr,
		MQTT:     MQTTConfig{Broker: brokerURL},
		// The DHT serves on loopback too: demo nodes find each other
		// through it.
		P2P:        P2PConfig{Listen: o.P2PListen, Bootstrap: o.Bootstrap, MDNS: &o.MDNS, DHT: "server"},
		Discover:   &discover,
		StaleAfter: o.StaleAfter,
		Role:       o.Role,
		Chain:      o.Chain,
		// The demo attests at once so that certificates appear within the
		// demo hour; a real network holds claims claims.hold (6 h).
		Claims: ClaimsConfig{Disabled: o.NoClaims, Hold: new(time.Duration)},
		Market: demoMarket(),
	}
	cfg.Market.Reserve = o.Reserve
	if fleet == nil { // a utility: no devices
		cfg.applyDefaults()
		return cfg
	}
	for _, a := range fleet.Adapters() {
		cfg.Adapters = append(cfg.Adapters, AdapterConfig{Dialect: a.Dialect, BaseTopic: a.BaseTopic, PortalID: a.PortalID, Inverters: a.Inverters})
	}
	named := map[string]DeviceConfig{}
	for _, dc := range demoHouseDevices() {
		named[dc.Dialect+"/"+dc.Serial] = dc
	}
	for _, fd := range fleet.Devices() {
		if dc, ok := named[fd.Dialect+"/"+fd.Serial]; ok && fd.Home == 1 {
			cfg.Devices = append(cfg.Devices, dc)
			continue
		}
		dc := DeviceConfig{
			Dialect: fd.Dialect, Serial: fd.Serial, Kind: fd.Kind, Name: fmt.Sprintf("Home %d: %s (simulated)", fd.Home, fd.Name),
			Zone: DemoZone, Site: demoSiteID(fd.Home), NameplateW: fd.NameplateW, CapacityWh: fd.CapacityWh,
			Limits: SafetyLimitsConfig{
				MinCurrentA: fd.Limits.MinCurrent, MaxCurrentA: fd.Limits.MaxCurrent, SoCFloorPct: fd.Limits.SoCFloor,
				MaxChargeW: float64(fd.Limits.MaxCharge), MaxDischargeW: float64(fd.Limits.MaxDischarge),
			},
		}
		if fd.Kind == gridmint.KindPlug {
			dc.NameplateW = demoPlugMaxW
		}
		cfg.Devices = append(cfg.Devices, dc)
	}
	cfg.Sites = demoSites(fleet.Devices())
	cfg.applyDefaults()
	return cfg
}

// demoMarket is the demo's market: the simulated homes consent to offer
// their batteries (and EV chargers and PV, which offer nothing without a
// car's departure or a forecast) at 150,000 µFLEX/kWh (0.15 FLEX), never
// below 20 % charge. Proof-of-flexibility tests are on: a round every
// demo hour, tests from five demo minutes after the seed block, the
// setpoint five demo minutes ahead (one simulation step at ×60: the
// simulated battery acts on the next step), 1 FLEX per kW of a passed
// test (the FLEX a demo utility reserves with). Every offering device is
// drawn (share 100 %: each device's draw is its own, so at 2 % a demo of
// a few batteries would see a test about once a day), still at most
// once a week of demo time.
func demoMarket() market.Config {
	return market.Config{Offer: true, Defaults: market.Policy{MinPrice: 150_000, ReserveSoC: 20},
		Tests: market.TestsConfig{Enabled: true, Every: time.Hour, SharePPM: 1_000_000, Lead: 5 * time.Minute, PreRoll: 5 * time.Minute, RewardPerKW: 1_000_000}}
}

func demoSiteID(home int) string { return fmt.Sprintf("home-%d", home) }

// demoSites is a site per simulated home (each is one grid connection),
// with its meter of record: the Victron GX's grid meter where the home
// has one, else its Shelly Pro 3EM. The GX's ESS regulates the battery
// against its own grid meter, so the battery setpoints a flexibility
// market sends act, and are measured, at the same meter. Home 1 has a
// Shelly Pro 3EM on the same connection too: it is shown, and never
// summed, which would count the connection twice.
func demoSites(fds []firmwaresim.FleetDevice) []SiteConfig {
	var out []SiteConfig
	idx := map[int]int{}
	for _, fd := range fds {
		i, ok := idx[fd.Home]
		if !ok {
			i = len(out)
			idx[fd.Home] = i
			out = append(out, SiteConfig{ID: demoSiteID(fd.Home), Name: fmt.Sprintf("Home %d", fd.Home), Zone: DemoZone})
		}
		if fd.Kind != gridmint.KindMeter {
			continue
		}
		if out[i].GridMeter == "" || fd.Dialect == "victron" {
			out[i].GridMeter = fd.Dialect + "/" + fd.Serial
		}
	}
	return out
}

// demoFleetConfig is the demo's fleet (firmwaresim.DemoFleet) on the
// embedded broker at brokerURL, publishing every o.SimPeriod of wall
// time (the Tasmota plug every two), its profile clock starting at 11:00
// of the clock's date. The fleet's sim clock is the demo's clock and its
// Speed 1: devices, their timestamps and energy counters live in the
// clock's time, which under a demo clock is demo time, and a profile hour
// passes in a demo hour.
func demoFleetConfig(o DemoOptions, brokerURL string) firmwaresim.FleetConfig {
	now := o.Clock.Now()
	fc := firmwaresim.DemoFleet(o.simSeed())
	fc.Broker = brokerURL
	fc.Period = o.SimPeriod
	fc.ProfileStart = time.Date(now.Year(), now.Month(), now.Day(), 11, 0, 0, 0, time.UTC)
	fc.Clock = o.Clock
	fc.Logger = o.Logger.With("component", "firmware-sim")
	for i := range fc.Houses[0].Plugs {
		fc.Houses[0].Plugs[i].TelePeriod = 2 * demoStep(o)
	}
	return fc
}

// simSeed is the seed of the simulated homes.
func (o DemoOptions) simSeed() uint64 {
	if o.SimSeed == 0 {
		return demoSeed
	}
	return o.SimSeed
}

// demoStep is how much clock time one simulation step covers: SimPeriod
// of wall time at the clock's speed.
func demoStep(o DemoOptions) time.Duration {
	return time.Duration(float64(o.SimPeriod) * gridmint.SpeedOf(o.Clock))
}

func (o *DemoOptions) applyDefaults() {
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = DefaultHTTPAddr
	}
	if o.MQTTAddr == "" {
		o.MQTTAddr = "127.0.0.1:1883"
	}
	if o.P2PListen == nil {
		o.P2PListen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	}
	if o.SimPeriod <= 0 {
		o.SimPeriod = firmwaresim.DefaultPeriod
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = gridmint.SystemClock{}
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = 6 * demoStep(*o)
	}
	if o.Role == "" {
		o.Role = RoleHome
	}
}

// Demo is a running demo: broker, node and simulated devices in one
// process.
type Demo struct {
	Broker *Broker
	Node   *Node
	// Fleet is the simulated homes (firmwaresim.DemoFleet); the node has
	// every one of its devices.
	Fleet *firmwaresim.Fleet
	// Sim is the fleet's home 1, the house of every dialect whose
	// devices the Demo* constants name.
	Sim *firmwaresim.Sim

	simState  string
	simCancel context.CancelFunc
	simDone   chan struct{}
	simErr    error // set before simDone closes
	log       *slog.Logger

	stopOffers context.CancelFunc
	offersDone chan struct{}
}

// StartDemo starts the embedded broker, the node and a small fleet of
// simulated homes (firmwaresim.DemoFleet: home 1 has one device of every
// dialect, homes 2 and 3 PV, a battery or a plug, EV chargers following
// real charging habits and their grid meters). The node is configured
// with every device of the fleet. The simulated devices' counters
// continue from the data dir's saved state (a state saved by the
// single-house demo becomes home 1's).
//
// The PV profile clock starts at 11:00 of today's date, so the inverters
// produce when someone tries the demo at any hour (see package
// firmwaresim); power and energy still follow the real data minute by
// minute from there.
func StartDemo(ctx context.Context, o DemoOptions) (_ *Demo, err error) {
	o.applyDefaults()
	d := &Demo{log: o.Logger, simState: filepath.Join(o.DataDir, demoSimStateFile)}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if o.Role == RoleUtility {
		// A utility has no devices: no broker, no simulated homes.
		cfg := demoConfig(o, "", nil)
		opts, err := d.nodeOptions(o, &cfg)
		if err != nil {
			return nil, err
		}
		if d.Node, err = Start(ctx, cfg, opts); err != nil {
			return nil, err
		}
		d.startRequests(ctx, o.Clock)
		return d, nil
	}
	if d.Broker, err = StartBroker(o.MQTTAddr, o.Logger); err != nil {
		return nil, err
	}
	o.Logger.Info("embedded MQTT broker listening", "addr", d.Broker.Addr())

	simStart := o.Clock.Now()
	if d.Fleet, err = firmwaresim.NewFleet(demoFleetConfig(o, d.Broker.URL())); err != nil {
		return nil, err
	}
	d.Sim = d.Fleet.Homes()[0]
	if _, err := d.Fleet.LoadStateFile(d.simState); err != nil {
		return nil, fmt.Errorf("simulator state: %w", err)
	}
	simCtx, cancel := context.WithCancel(ctx)
	d.simCancel = cancel
	d.simDone = make(chan struct{})
	go func() { defer close(d.simDone); d.simErr = d.Fleet.Run(simCtx) }()
	// The devices first, then the node: a Victron GX publishes only after
	// a keep-alive, and the node sends its first at start.
	if err := d.waitForDevices(ctx); err != nil {
		return nil, err
	}
	cfg := demoConfig(o, d.Broker.URL(), d.Fleet)
	demoLocatePV(&cfg, d.Fleet, simStart) // certificate claims check the sun there
	opts, err := d.nodeOptions(o, &cfg)
	if err != nil {
		return nil, err
	}
	if d.Node, err = Start(ctx, cfg, opts); err != nil {
		return nil, err
	}
	offerCtx, stopOffers := context.WithCancel(ctx)
	d.stopOffers, d.offersDone = stopOffers, make(chan struct{})
	go func() {
		defer close(d.offersDone)
		// Try often until the battery has reported, then every period.
		var last time.Time
		var lastPass, lastBlock time.Time
		sim := d.Node.chain.Simulated() // the network's embedded chain, on the node that hosts it
		every(offerCtx, o.Clock, 15*time.Second, func() {
			if now := o.Clock.Now(); sim != nil && now.Sub(lastBlock) >= DemoBlockPeriod {
				// A block at least every few demo minutes, as on a chain
				// with a block time: proof-of-flexibility rounds are
				// seeded by the first block at or after their time.
				lastBlock = now
				sim.FollowClock()
			}
			if now := o.Clock.Now(); now.Sub(last) >= DemoOfferPeriod && d.offerBattery(offerCtx, o.Clock) {
				last = now
			}
			if now := o.Clock.Now(); now.Sub(lastPass) >= DemoFLEXPassPeriod {
				lastPass = now
				d.passFLEX(offerCtx, now)
			}
		})
	}()
	return d, nil
}

// nodeOptions are the demo node's options: a key made by `gridmint init`
// is unlocked with its passphrase; else the demo uses (or makes) its
// throw-away key, whose passphrase file it puts into cfg.
func (d *Demo) nodeOptions(o DemoOptions, cfg *Config) (Options, error) {
	opts := Options{Logger: o.Logger, Clock: o.Clock, Version: o.Version, Passphrase: o.Passphrase}
	pf := filepath.Join(o.DataDir, demoPassphraseFile)
	if _, err := keyFile(cfg.Identity.Keystore); errors.Is(err, ErrNoKey) || fileExists(pf) {
		if err := createThrowAwayPassphrase(pf); err != nil {
			return opts, fmt.Errorf("demo passphrase: %w", err)
		}
		cfg.Identity.PassphraseFile, opts.CreateKey = pf, KDFLight
	}
	return opts, nil
}

// waitForDevices waits until every simulated device is connected: a
// start-up bound in wall-clock time (MQTT connections take real time).
func (d *Demo) waitForDevices(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := d.Fleet.Stats()
		if st.Connections > 0 && st.Connected == st.Connections {
			return nil
		}
		select {
		case <-d.simDone:
			return fmt.Errorf("simulated devices: %w", d.simErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("simulated devices: %d of %d MQTT connections up after 30 s", st.Connected, st.Connections)
		}
	}
}

// SimDone is closed when the simulated devices stop, on Close or on their
// own (they could not connect); SimErr then says why.
func (d *Demo) SimDone() <-chan struct{} { return d.simDone }

// SimErr is the simulator's error once SimDone is closed.
func (d *Demo) SimErr() error { <-d.simDone; return d.simErr }

// Close stops the simulated devices (saving their counters), then the node,
// then the broker.
func (d *Demo) Close() error {
	var errs []error
	if d.stopOffers != nil {
		d.stopOffers()
		<-d.offersDone
		d.stopOffers = nil
	}
	if d.simCancel != nil {
		d.simCancel()
		if err := d.SimErr(); err != nil {
			errs = append(errs, err)
		}
		d.simCancel = nil
		// Only a sim that ran has state worth keeping; one that failed to
		// restore must not overwrite the file it could not read.
		if err := d.Fleet.SaveStateFile(d.simState); err != nil {
			errs = append(errs, fmt.Errorf("saving simulator state: %w", err))
		}
	}
	if d.Node != nil {
		errs = append(errs, d.Node.Close())
	}
	if d.Broker != nil {
		errs = append(errs, d.Broker.Close())
	}
	return errors.Join(errs...)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// DemoIdentity returns the throw-away key of a demo data dir, creating
// it (and its passphrase file) on first use. `gridmint demo --nodes N`
// calls it to learn each node's peer ID before starting them.
func DemoIdentity(dataDir string) (*Identity, error) {
	pf := filepath.Join(dataDir, demoPassphraseFile)
	if err := createThrowAwayPassphrase(pf); err != nil {
		return nil, fmt.Errorf("demo passphrase: %w", err)
	}
	pass, err := ReadPassphraseFile(pf)
	if err != nil {
		return nil, err
	}
	ks := filepath.Join(dataDir, "keystore")
	id, err := OpenIdentity(ks, dataDir, pass)
	if errors.Is(err, ErrNoKey) {
		return CreateIdentity(ks, pass, KDFLight)
	}
	return id, err
}

// DemoOfferPeriod is how often a demo node offers its battery.
const DemoOfferPeriod = 5 * time.Minute

// offerBattery gossips an offer of the demo battery's discharge for the
// next quarter hour, sized by its charge above the SoC floor, so a demo
// network has short offers flowing for proof-of-flexibility tests every
// demo hour. This is the demo's doing, not a market strategy: the market
// (node/market, market.offer) offers every flexible device for the
// requests it holds; this offer goes through the same capacity and
// derate checks.
func (d *Demo) offerBattery(ctx context.Context, clock gridmint.Clock) bool {
	id := gridmint.DeviceID(d.Node.Identity().Address + "/victron/" + DemoBatterySerial)
	st, _, ok := d.Node.ingest.Device(id)
	if !ok || !st.Online || !st.Fields.Has(gridmint.FieldSoC) || st.Capacity <= 0 {
		return false
	}
	const window = 15 * time.Minute
	above := (st.SoC - st.Limits.SoCFloor) / 100 * float64(st.Capacity) // Wh
	power := min(float64(st.Limits.MaxDischarge), above*float64(time.Hour/window))
	if power < 100 {
		return false
	}
	// At least two minutes ahead, so the offer's expiry (a minute before
	// the window) is after the moment it is signed.
	start := clock.Now().Add(2 * time.Minute).Truncate(window).Add(window)
	o := gridmint.Offer{
		Device: id, Zone: st.Zone, WindowStart: start, WindowEnd: start.Add(window),
		Power: gridmint.W(float64(int64(power))), Direction: gridmint.DirectionDown,
		FloorPrice: 150_000, Baseline: gridmint.BaselineSchedule, Expiry: start.Add(-time.Minute),
	}
	// Through the market when it offers (market.offer): checked against
	// the battery's (derated) capacity, with its signed schedule, so that
	// a test of it is measured against the schedule.
	nn := nodeNetwork{p2p: d.Node.p2p, store: d.Node.store, clock: clock, identity: d.Node.identity, market: d.Node.offerChecker()}
	if _, err := nn.PublishOffer(ctx, o); err != nil {
		if r := flex.Reason(err); r != gridmint.FlexInvalid {
			// The market refused it (the battery at its reserve, derated
			// by a failed test): tried, next period.
			d.log.Info("demo: battery not offered", "reason", err)
			return true
		}
		d.log.Warn("demo offer", "err", err)
		return false
	}
	d.log.Info("demo: offered the battery", "power_w", o.Power, "window_start", o.WindowStart)
	return true
}

// DemoBlockPeriod is the longest a demo's embedded chain goes without a
// block (demo time): an empty one is sealed when no transaction came.
const DemoBlockPeriod = 5 * time.Minute

// DemoFLEXPassPeriod is how often (demo time) a demo home hands the FLEX
// it earned to the demo utility.
const DemoFLEXPassPeriod = 5 * time.Minute

// passFLEX is how a demo utility gets FLEX with no pre-mine: a demo home
// transfers all the FLEX it holds (earned as rewards) to the author of
// the requests it holds, the demo network's utility, with an ordinary
// ERC-20 transfer, logged and shown as such in the chain history of both
// accounts (GET /api/v1/chain/history/<account>).
func (d *Demo) passFLEX(ctx context.Context, now time.Time) {
	n := d.Node
	if n == nil || n.chain == nil || n.market == nil || n.cfg.Role != RoleHome {
		return
	}
	to, ok := n.market.LastBuyer()
	if !ok {
		return
	}
	self := common.HexToAddress(n.identity.Address)
	bal, err := n.chain.FLEXBalance(ctx, self)
	if err != nil || bal.Sign() <= 0 {
		return
	}
	ref := crypto.Keccak256Hash([]byte("gridmint/demo/flex-pass"), self[:], to[:], bal.Bytes(), []byte(now.UTC().Format(time.RFC3339Nano)))
	rc, err := n.chain.TransferFLEX(ctx, ref, to, bal)
	if err != nil {
		d.log.Warn("demo: passing earned FLEX to the utility", "to", to, "amount", bal, "err", err)
		return
	}
	d.log.Info("demo: transferred earned FLEX to the demo utility", "to", to, "amount", bal, "tx", rc.TxHash)
}

// DemoRequestPeriod is how often (demo time) a demo utility posts a
// flexibility request.
const DemoRequestPeriod = 3 * time.Hour

// startRequests makes a demo utility post a request every
// DemoRequestPeriod, the first at once: 5 kW less load in the demo zone
// for the hour starting at the next whole hour at least 40 minutes away,
// at most 300,000 µFLEX/kWh, gate closure 20 minutes before it. The
// homes' markets offer their batteries; every node clears it; the
// utility publishes the root and reserves (which needs FLEX: see the
// README's "Flexibility market").
func (d *Demo) startRequests(ctx context.Context, clock gridmint.Clock) {
	if d.Node.Market() == nil {
		return
	}
	reqCtx, stop := context.WithCancel(ctx)
	d.stopOffers, d.offersDone = stop, make(chan struct{}) // Close stops it as the homes' offers
	post := func() {
		start := clock.Now().Add(40 * time.Minute).Truncate(time.Hour).Add(time.Hour)
		r := gridmint.Request{Zone: DemoZone, WindowStart: start, WindowEnd: start.Add(time.Hour), Power: 5000,
			Direction: gridmint.DirectionDown, MaxPrice: 300_000, GateClosure: start.Add(-20 * time.Minute)}
		if _, err := (nodeNetwork{p2p: d.Node.p2p, store: d.Node.store, clock: clock, identity: d.Node.identity}).PublishRequest(reqCtx, r); err != nil {
			d.log.Warn("demo request", "err", err)
			return
		}
		d.log.Info("demo: posted a flexibility request", "power_w", r.Power, "window_start", r.WindowStart)
	}
	go func() {
		defer close(d.offersDone)
		post()
		every(reqCtx, clock, DemoRequestPeriod, post)
	}()
}
