package market

import (
	"fmt"
	"time"

	"github.com/gridmint/gridmint"
)

// Config is the node's market: section. Durations are node time (the
// demo clock in a demo).
type Config struct {
	// Disabled turns the market off: no offers, no clearing, no
	// dispatch.
	Disabled bool `yaml:"disabled"`
	// Offer is the homeowner's consent: only with it does a home offer
	// its batteries, EV chargers and PV inverters, each under Defaults
	// unless Devices says otherwise. Default false.
	Offer bool `yaml:"offer"`
	// Defaults is the policy of every device not in Devices.
	Defaults Policy `yaml:"defaults"`
	// Devices are per-device policies by device id; a field left zero
	// takes Defaults' (opt_out: true always wins).
	Devices map[string]Policy `yaml:"devices"`
	// Collect is how long after a request's gate closure a node waits for
	// offers still in flight before clearing. Default 1m.
	Collect time.Duration `yaml:"collect"`
	// RenewChange: a device's offer for a request is renewed when its
	// capacity moved by this fraction of the offered power. Default 0.2.
	RenewChange float64 `yaml:"renew_change"`
	// RenewInterval is the least time between two offers of one device
	// for one request. Default 15m.
	RenewInterval time.Duration `yaml:"renew_interval"`
	// MaxOffersPerTick bounds the messages the market signs per tick (one
	// second of wall time): an offer counts one, an offer with its
	// schedule two. Default 20.
	MaxOffersPerTick int `yaml:"max_offers_per_tick"`
	// Retention is how long an event is kept and shown after its window
	// ends. Default 48h.
	Retention time.Duration `yaml:"retention"`
	// Reserve is how a utility burns FLEX for its own cleared requests:
	// auto (default) as soon as a clearing has awards, retried until the
	// window starts; manual only when asked
	// (POST /api/v1/market/events/{request}/reserve, the web app's
	// Reserve button).
	Reserve string `yaml:"reserve"`
	// Tests are the proof-of-flexibility test dispatches
	// (node/market/pof).
	Tests TestsConfig `yaml:"tests"`
}

// Reserve modes (Config.Reserve).
const (
	ReserveAuto   = "auto"
	ReserveManual = "manual"
)

// Policy is a homeowner's market policy for a device (gridmint.FlexPolicy
// in the configuration's terms).
type Policy struct {
	// MinPrice is the least µFLEX per kWh the device is offered at; its
	// offers are priced at it.
	MinPrice gridmint.MicroFLEX `yaml:"min_price"`
	// ReserveSoC is the battery charge, %, the market never takes.
	ReserveSoC float64 `yaml:"reserve_soc_pct"`
	// MaxSoC is the highest charge, %, the market may charge to (0: 100).
	MaxSoC float64 `yaml:"max_soc_pct"`
	// Departure is when the car leaves each day, "HH:MM" UTC; with
	// EnergyNeeded it bounds what an EV charger may defer.
	Departure string `yaml:"departure"`
	// EnergyNeeded is the energy, Wh, the car must still get by Departure.
	EnergyNeeded gridmint.Wh `yaml:"energy_needed_wh"`
	// OptOut: the device offers nothing and gets no market setpoints.
	OptOut bool `yaml:"opt_out"`
}

// ApplyDefaults fills the zero settings.
func (c *Config) ApplyDefaults() {
	set := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	set(&c.Collect, time.Minute)
	set(&c.RenewInterval, 15*time.Minute)
	set(&c.Retention, 48*time.Hour)
	if c.RenewChange == 0 {
		c.RenewChange = 0.2
	}
	if c.MaxOffersPerTick == 0 {
		c.MaxOffersPerTick = 20
	}
	if c.Reserve == "" {
		c.Reserve = ReserveAuto
	}
	c.Tests.applyDefaults()
}

// Validate checks the settings; field names are the configuration's.
func (c Config) Validate() error {
	switch {
	case c.Collect < 0 || c.Collect > time.Hour:
		return fmt.Errorf("market.collect: %v: want 0 to 1h", c.Collect)
	case c.RenewChange <= 0 || c.RenewChange > 1:
		return fmt.Errorf("market.renew_change: %v: want more than 0, at most 1", c.RenewChange)
	case c.RenewInterval < 0 || c.RenewInterval > 24*time.Hour:
		return fmt.Errorf("market.renew_interval: %v: want 0 to 24h", c.RenewInterval)
	case c.MaxOffersPerTick < 1 || c.MaxOffersPerTick > 200:
		return fmt.Errorf("market.max_offers_per_tick: %d: want 1 to 200", c.MaxOffersPerTick)
	case c.Retention < time.Hour || c.Retention > 30*24*time.Hour:
		return fmt.Errorf("market.retention: %v: want 1h to 720h", c.Retention)
	case c.Reserve != "" && c.Reserve != ReserveAuto && c.Reserve != ReserveManual:
		return fmt.Errorf("market.reserve: %q: want auto or manual", c.Reserve)
	}
	if err := c.Tests.validate(); err != nil {
		return err
	}
	if err := c.Defaults.check("market.defaults"); err != nil {
		return err
	}
	for id, p := range c.Devices {
		if _, _, _, ok := gridmint.DeviceID(id).Parts(); !ok {
			return fmt.Errorf("market.devices: %q is not a device id <node>/<adapter>/<serial>", id)
		}
		if err := p.check(fmt.Sprintf("market.devices[%s]", id)); err != nil {
			return err
		}
		if err := c.PolicyFor(gridmint.DeviceID(id)).check(fmt.Sprintf("market.devices[%s] over market.defaults", id)); err != nil {
			return err
		}
	}
	return nil
}

func (p Policy) check(field string) error {
	if p.Departure != "" {
		if _, err := time.Parse("15:04", p.Departure); err != nil {
			return fmt.Errorf("%s.departure: %q: want HH:MM (UTC)", field, p.Departure)
		}
	}
	if p.EnergyNeeded > 0 && p.Departure == "" {
		return fmt.Errorf("%s.energy_needed_wh without a departure", field)
	}
	fp := p.flex(time.Unix(0, 0))
	if err := fp.Validate(); err != nil {
		return fmt.Errorf("%s: %v", field, err)
	}
	return nil
}

// PolicyFor is device id's policy: its entry in Devices over Defaults.
func (c Config) PolicyFor(id gridmint.DeviceID) Policy {
	p := c.Defaults
	d, ok := c.Devices[string(id)]
	if !ok {
		return p
	}
	if d.MinPrice != 0 {
		p.MinPrice = d.MinPrice
	}
	if d.ReserveSoC != 0 {
		p.ReserveSoC = d.ReserveSoC
	}
	if d.MaxSoC != 0 {
		p.MaxSoC = d.MaxSoC
	}
	if d.Departure != "" {
		p.Departure = d.Departure
	}
	if d.EnergyNeeded != 0 {
		p.EnergyNeeded = d.EnergyNeeded
	}
	p.OptOut = p.OptOut || d.OptOut
	return p
}

// flex is the policy at now: the departure is the next HH:MM after now.
func (p Policy) flex(now time.Time) gridmint.FlexPolicy {
	fp := gridmint.FlexPolicy{MinPrice: p.MinPrice, ReserveSoC: p.ReserveSoC, MaxSoC: p.MaxSoC, EnergyNeeded: p.EnergyNeeded, OptOut: p.OptOut}
	if t, err := time.Parse("15:04", p.Departure); err == nil && p.Departure != "" {
		now = now.UTC()
		d := time.Date(now.Year(), now.Month(), now.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
		if !d.After(now) {
			d = d.AddDate(0, 0, 1)
		}
		fp.Departure = d
	} else if p.EnergyNeeded > 0 {
		fp.EnergyNeeded = 0 // no departure: nothing to guard (Validate refuses the pair; check said so)
	}
	return fp
}
