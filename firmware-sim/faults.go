package firmwaresim

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault injection, so that the node's defences can be tested.
//
// A device here is one MQTT endpoint (an OpenDTU or AhoyDTU with its
// inverters, a plug, a Shelly, a GX, a charger): what real firmware
// connects as. Faults are drawn from the device's own random stream
// (seeded with Config.Seed and the device's client ID), so the same seed
// and the same Step times give the same faults, whatever other devices
// do.
//
// Per telemetry message (what Step's cycles publish; not the availability
// messages, not command replies nor a GX's full republish on a
// keep-alive), one draw decides, exclusively:
//
//	drop       the message is lost
//	duplicate  it is sent twice in a row
//	reorder    it is held back and sent after the next cycle's messages,
//	           so an older value arrives after a newer one
//	malformed  its payload is corrupted: truncated, emptied, replaced by
//	           random bytes (often not UTF-8) or by "NaN", or one byte
//	           changed
//
// so each happens to a fraction of the messages equal to its rate (the
// rates must sum to at most 1).
//
// Per device, as Poisson processes on the sim clock (rate per hour,
// checked every Step):
//
//	reboot   the device's will (as the broker would publish it), then its
//	         energy counters start again from 0 and its uptime from now,
//	         then its connect messages. Real firmware mostly keeps
//	         lifetime counters in flash; this fault is the one that does
//	         not (a replaced unit, a Shelly's aenergy after a power cut, a
//	         Hoymiles inverter reporting 0 after a restart).
//	offline  the device's will, then nothing (no telemetry, commands
//	         ignored) for an exponentially distributed time with mean
//	         OfflineFor, then its connect messages. Its physics go on, so
//	         its counters jump by the energy of the outage when it returns.
//	         The MQTT connection stays up (shared connections carry other
//	         devices): the sim publishes the will as the broker would.
//
// Per device, fixed at New:
//
//	skew       Skewed of the devices have a clock off by a constant
//	           uniformly drawn from ±MaxSkew: every timestamp they publish
//	           (OpenDTU last_update, AhoyDTU last_success and comm_*,
//	           Tasmota Time, Shelly ts and unixtime, Victron heartbeat)
//	           is off by as much. go-e publishes no timestamp.
//	dishonest  Dishonest of the PV inverters lie (see Dishonesty); their
//	           counters integrate the power they report, so they are
//	           consistent liars, but the grid meters see the truth.

// Dishonesty is how a dishonest PV inverter lies.
type Dishonesty string

// The ways an inverter can lie.
const (
	// Honest reports what the inverter produces.
	Honest Dishonesty = ""
	// DishonestNight reports 10..15 % of the nameplate while the sun is
	// down (and stays reachable to do so); honest by day.
	DishonestNight Dishonesty = "night"
	// DishonestOverrate reports 1.6 × what it produces, so more than the
	// nameplate around noon.
	DishonestOverrate Dishonesty = "overrate"
	// DishonestCopy reports the power of a neighbour's inverter (the
	// previous home of a Fleet, as of its latest cycle) instead of its
	// own. A lone Sim has no neighbour: a copying inverter there reports
	// honestly.
	DishonestCopy Dishonesty = "copy"
)

// overrateFactor is how much a DishonestOverrate inverter exaggerates.
const overrateFactor = 1.6

// AllDishonesty lists the ways to lie, the default of
// FaultConfig.DishonestModes.
var AllDishonesty = []Dishonesty{DishonestNight, DishonestOverrate, DishonestCopy}

func (d Dishonesty) valid() bool {
	return d == Honest || slices.Contains(AllDishonesty, d)
}

// FaultConfig sets the fault rates (see the file comment). The zero value
// injects nothing.
type FaultConfig struct {
	// Drop, Duplicate, Reorder and Malformed are per-message
	// probabilities, 0..1, summing to at most 1.
	Drop      float64 `yaml:"drop"`
	Duplicate float64 `yaml:"duplicate"`
	Reorder   float64 `yaml:"reorder"`
	Malformed float64 `yaml:"malformed"`
	// RebootsPerHour is each device's expected reboots per sim-clock
	// hour (counter resets), 0..3600.
	RebootsPerHour float64 `yaml:"reboots_per_hour"`
	// OfflinePerHour is each device's expected outages per sim-clock
	// hour, 0..3600.
	OfflinePerHour float64 `yaml:"offline_per_hour"`
	// OfflineFor is the mean outage, sim clock; default 2 min.
	OfflineFor time.Duration `yaml:"offline_for"`
	// Skewed is the fraction of devices whose clock is off, 0..1.
	Skewed float64 `yaml:"skewed"`
	// MaxSkew bounds the clock offset; default 5 min.
	MaxSkew time.Duration `yaml:"max_skew"`
	// Dishonest is the fraction of PV inverters that lie, 0..1; an
	// inverter's own PVConfig.Dishonest or AhoyConfig.Dishonest wins.
	Dishonest float64 `yaml:"dishonest"`
	// DishonestModes are the lies drawn from, equally likely; default
	// AllDishonesty.
	DishonestModes []Dishonesty `yaml:"dishonest_modes"`
}

// Fault defaults.
const (
	DefaultOfflineFor = 2 * time.Minute
	DefaultMaxSkew    = 5 * time.Minute
)

// FaultPresets are the named fault configurations of --faults and of
// scenario files: none, default (a rough home network: about one message
// in 100 goes wrong, a device reboots every ten days and drops out every
// two days) and heavy (ten times that, to stress the node).
var FaultPresets = map[string]FaultConfig{
	"none": {},
	"default": {
		Drop: 0.005, Duplicate: 0.002, Reorder: 0.002, Malformed: 0.001,
		RebootsPerHour: 1.0 / 240, OfflinePerHour: 1.0 / 48, OfflineFor: 2 * time.Minute,
		Skewed: 0.05, MaxSkew: 5 * time.Minute, Dishonest: 0.02,
	},
	"heavy": {
		Drop: 0.05, Duplicate: 0.02, Reorder: 0.02, Malformed: 0.01,
		RebootsPerHour: 1.0 / 24, OfflinePerHour: 1.0 / 5, OfflineFor: 5 * time.Minute,
		Skewed: 0.2, MaxSkew: 30 * time.Minute, Dishonest: 0.1,
	},
}

// ParseFaults reads a --faults value: a preset name (none, default,
// heavy), optionally followed by comma-separated key=value overrides with
// the YAML keys ("default,drop=0.02,offline_for=30s"), or only overrides
// (on top of none). Errors name the key.
func ParseFaults(spec string) (FaultConfig, error) {
	spec = strings.TrimSpace(spec)
	fc := FaultConfig{}
	if spec == "" {
		return fc, nil
	}
	parts := strings.Split(spec, ",")
	if p, ok := FaultPresets[strings.TrimSpace(parts[0])]; ok {
		fc = p
		fc.DishonestModes = slices.Clone(p.DishonestModes)
		parts = parts[1:]
	}
	for _, part := range parts {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return FaultConfig{}, invalid("faults %q: want a preset (none, default, heavy) or key=value, got %q", spec, part)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		num := func(dst *float64) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return invalid("faults %s=%q: not a number", k, v)
			}
			*dst = f
			return nil
		}
		dur := func(dst *time.Duration) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return invalid("faults %s=%q: not a duration like 30s", k, v)
			}
			*dst = d
			return nil
		}
		var err error
		switch k {
		case "drop":
			err = num(&fc.Drop)
		case "duplicate":
			err = num(&fc.Duplicate)
		case "reorder":
			err = num(&fc.Reorder)
		case "malformed":
			err = num(&fc.Malformed)
		case "reboots_per_hour":
			err = num(&fc.RebootsPerHour)
		case "offline_per_hour":
			err = num(&fc.OfflinePerHour)
		case "offline_for":
			err = dur(&fc.OfflineFor)
		case "skewed":
			err = num(&fc.Skewed)
		case "max_skew":
			err = dur(&fc.MaxSkew)
		case "dishonest":
			err = num(&fc.Dishonest)
		case "dishonest_modes":
			fc.DishonestModes = nil
			for m := range strings.SplitSeq(v, "+") {
				fc.DishonestModes = append(fc.DishonestModes, Dishonesty(strings.TrimSpace(m)))
			}
		default:
			return FaultConfig{}, invalid("faults: unknown key %q (want drop, duplicate, reorder, malformed, reboots_per_hour, offline_per_hour, offline_for, skewed, max_skew, dishonest, dishonest_modes)", k)
		}
		if err != nil {
			return FaultConfig{}, err
		}
	}
	return fc, fc.check("faults")
}

// withDefaults fills the zero durations and modes.
func (fc FaultConfig) withDefaults() FaultConfig {
	if fc.OfflineFor == 0 {
		fc.OfflineFor = DefaultOfflineFor
	}
	if fc.MaxSkew == 0 {
		fc.MaxSkew = DefaultMaxSkew
	}
	if len(fc.DishonestModes) == 0 {
		fc.DishonestModes = AllDishonesty
	}
	return fc
}

// check validates fc; field names the struct in errors.
func (fc FaultConfig) check(field string) error {
	prob := func(name string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return invalid("%s.%s %v: want a probability 0..1", field, name, v)
		}
		return nil
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"Drop", fc.Drop}, {"Duplicate", fc.Duplicate}, {"Reorder", fc.Reorder}, {"Malformed", fc.Malformed}, {"Skewed", fc.Skewed}, {"Dishonest", fc.Dishonest}} {
		if err := prob(p.name, p.v); err != nil {
			return err
		}
	}
	if sum := fc.Drop + fc.Duplicate + fc.Reorder + fc.Malformed; sum > 1+1e-9 {
		return invalid("%s.Drop+Duplicate+Reorder+Malformed %v: the per-message rates must sum to at most 1", field, sum)
	}
	switch {
	case !(fc.RebootsPerHour >= 0 && fc.RebootsPerHour <= 3600):
		return invalid("%s.RebootsPerHour %v: want 0..3600", field, fc.RebootsPerHour)
	case !(fc.OfflinePerHour >= 0 && fc.OfflinePerHour <= 3600):
		return invalid("%s.OfflinePerHour %v: want 0..3600", field, fc.OfflinePerHour)
	case fc.OfflineFor < 0 || fc.OfflineFor > 7*24*time.Hour:
		return invalid("%s.OfflineFor %v: want 0 (default %v) up to 168h", field, fc.OfflineFor, DefaultOfflineFor)
	case fc.MaxSkew < 0 || fc.MaxSkew > 365*24*time.Hour:
		return invalid("%s.MaxSkew %v: want 0 (default %v) up to a year", field, fc.MaxSkew, DefaultMaxSkew)
	}
	for i, m := range fc.DishonestModes {
		if m == Honest || !m.valid() {
			return invalid("%s.DishonestModes[%d] %q: want night, overrate or copy", field, i, m)
		}
	}
	return nil
}

// messageFaults reports whether any per-message fault is configured.
func (fc FaultConfig) messageFaults() bool {
	return fc.Drop+fc.Duplicate+fc.Reorder+fc.Malformed > 0
}

// FaultStats counts the injected faults.
type FaultStats struct {
	Messages   uint64 // telemetry messages that could have been faulted
	Dropped    uint64
	Duplicated uint64
	Reordered  uint64
	Malformed  uint64
	Reboots    uint64 // counter resets
	Outages    uint64 // times a device went offline
	Offline    int    // devices offline now
	Suppressed uint64 // telemetry messages not sent because the device was offline
	Skewed     int    // devices with a skewed clock
	Dishonest  int    // lying PV inverters
	// OnlineHours is the device-hours (sim clock) over which reboots and
	// outages were drawn: their expected counts are the rates times it.
	OnlineHours float64
}

// Add adds o's counts to st.
func (st *FaultStats) Add(o FaultStats) {
	st.Messages += o.Messages
	st.Dropped += o.Dropped
	st.Duplicated += o.Duplicated
	st.Reordered += o.Reordered
	st.Malformed += o.Malformed
	st.Reboots += o.Reboots
	st.Outages += o.Outages
	st.Offline += o.Offline
	st.Suppressed += o.Suppressed
	st.Skewed += o.Skewed
	st.Dishonest += o.Dishonest
	st.OnlineHours += o.OnlineHours
}

// deviceFaults is one endpoint's fault state. Used with Sim.mu held.
type deviceFaults struct {
	ep           endpoint
	rng          *rand.Rand
	skew         time.Duration
	offlineUntil time.Time // zero: online
	lastCheck    time.Time // sim time of the last Poisson draw
}

// faultInjector holds every endpoint's fault state. Used with Sim.mu held.
type faultInjector struct {
	cfg     FaultConfig
	devices []*deviceFaults
	byID    map[string]*deviceFaults
	held    []Message // reordered messages, sent after the next cycle
	stats   FaultStats
}

// newFaultInjector draws the fixed faults (skews) for eps. It returns nil
// when cfg injects nothing per device or per message, so Step pays
// nothing for faults it does not use.
func newFaultInjector(cfg FaultConfig, seed uint64, eps []endpoint) *faultInjector {
	if !cfg.messageFaults() && cfg.RebootsPerHour == 0 && cfg.OfflinePerHour == 0 && cfg.Skewed == 0 {
		return nil
	}
	cfg = cfg.withDefaults()
	fi := &faultInjector{cfg: cfg, byID: make(map[string]*deviceFaults, len(eps))}
	for _, ep := range eps {
		id := ep.clientID()
		d := &deviceFaults{ep: ep, rng: deviceRand(seed, "faults/"+id)}
		if cfg.Skewed > 0 {
			r := deviceRand(seed, "skew/"+id)
			if r.Float64() < cfg.Skewed {
				d.skew = time.Duration((2*r.Float64() - 1) * float64(cfg.MaxSkew)).Round(time.Millisecond)
				if d.skew == 0 {
					d.skew = time.Millisecond // skewed means off, however little
				}
				ep.setSkew(d.skew)
				fi.stats.Skewed++
			}
		}
		fi.devices = append(fi.devices, d)
		fi.byID[id] = d
	}
	return fi
}

// offline reports whether the device with client ID id is offline.
func (fi *faultInjector) offline(id string) bool {
	if fi == nil {
		return false
	}
	d := fi.byID[id]
	return d != nil && !d.offlineUntil.IsZero()
}

// events runs the per-device Poisson processes up to sim time now and
// returns the availability messages they cause, in device order.
func (fi *faultInjector) events(now time.Time) []Message {
	var msgs []Message
	for _, d := range fi.devices {
		dt := hoursSince(d.lastCheck, now)
		if now.After(d.lastCheck) {
			d.lastCheck = now
		}
		if !d.offlineUntil.IsZero() {
			if !now.Before(d.offlineUntil) {
				d.offlineUntil = time.Time{}
				fi.stats.Offline--
				msgs = append(msgs, d.ep.onConnect(now)...)
			}
			continue // an offline device neither reboots nor goes offline again
		}
		if dt <= 0 {
			continue
		}
		fi.stats.OnlineHours += dt
		// Two draws every step whatever happens, so that one fault does
		// not shift the other's stream.
		uReboot, uOffline := d.rng.Float64(), d.rng.Float64()
		if fi.cfg.RebootsPerHour > 0 && uReboot < 1-math.Exp(-fi.cfg.RebootsPerHour*dt) {
			fi.stats.Reboots++
			if w := d.ep.will(); w.Topic != "" {
				msgs = append(msgs, w)
			}
			d.ep.reboot(now)
			msgs = append(msgs, d.ep.onConnect(now)...)
		}
		if fi.cfg.OfflinePerHour > 0 && uOffline < 1-math.Exp(-fi.cfg.OfflinePerHour*dt) {
			fi.stats.Outages++
			fi.stats.Offline++
			if w := d.ep.will(); w.Topic != "" {
				msgs = append(msgs, w)
			}
			// Exponential outage, at least one second.
			out := time.Duration(d.rng.ExpFloat64() * float64(fi.cfg.OfflineFor))
			d.offlineUntil = now.Add(max(out, time.Second))
		}
	}
	return msgs
}

// filter applies the per-message faults to one cycle's telemetry and
// returns what is sent: the surviving messages, then those held back by
// the previous cycle.
func (fi *faultInjector) filter(msgs []Message) []Message {
	out := make([]Message, 0, len(msgs)+len(fi.held))
	var held []Message
	c := fi.cfg
	for _, m := range msgs {
		d := fi.byID[m.Device]
		if d == nil {
			out = append(out, m)
			continue
		}
		if !d.offlineUntil.IsZero() {
			fi.stats.Suppressed++
			continue
		}
		fi.stats.Messages++
		if !c.messageFaults() {
			out = append(out, m)
			continue
		}
		u := d.rng.Float64()
		switch {
		case u < c.Drop:
			fi.stats.Dropped++
		case u < c.Drop+c.Duplicate:
			fi.stats.Duplicated++
			out = append(out, m, m)
		case u < c.Drop+c.Duplicate+c.Reorder:
			fi.stats.Reordered++
			held = append(held, m)
		case u < c.Drop+c.Duplicate+c.Reorder+c.Malformed:
			fi.stats.Malformed++
			m.Payload = corrupt(d.rng, m.Payload)
			out = append(out, m)
		default:
			out = append(out, m)
		}
	}
	// Messages held by the previous cycle go out after this one's, unless
	// their device went offline meanwhile (then they are lost with it).
	for _, m := range fi.held {
		if d := fi.byID[m.Device]; d == nil || d.offlineUntil.IsZero() {
			out = append(out, m)
		}
	}
	fi.held = held
	return out
}

// corrupt returns a malformed version of payload.
func corrupt(r *rand.Rand, payload string) string {
	switch r.IntN(5) {
	case 0: // truncated, as by a full buffer
		if len(payload) <= 1 {
			return ""
		}
		return payload[:1+r.IntN(len(payload)-1)] // 1..len-1 bytes kept
	case 1:
		return ""
	case 2: // line noise: random bytes, rarely valid UTF-8
		b := make([]byte, 1+r.IntN(16))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	case 3:
		return "NaN"
	default: // one byte changed
		if payload == "" {
			return "\xff"
		}
		b := []byte(payload)
		i := r.IntN(len(b))
		b[i] ^= byte(1 + r.IntN(255))
		return string(b)
	}
}
