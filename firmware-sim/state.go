package firmwaresim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// StateVersion is the version of the State layout written by Snapshot.
// The Shelly, Victron, go-e and AhoyDTU lists were added to version 1
// without a bump: they are optional, so every earlier version-1 file
// reads as before (their devices start fresh).
const StateVersion = 1

// State is what real devices keep in flash across reboots: lifetime and
// day counters, persistent inverter limits, relay states. It is plain
// JSON so a caller can save it on shutdown and restore it on start, and
// counters keep growing across restarts. Energies are float64 Wh so no
// fraction of a Wh is lost between runs.
type State struct {
	Version      int                `json:"version"`
	SavedAt      time.Time          `json:"saved_at"` // sim-clock time of Snapshot
	Inverters    []InverterState    `json:"inverters,omitempty"`
	Plugs        []PlugState        `json:"plugs,omitempty"`
	ShellyPlugs  []ShellyPlugState  `json:"shelly_plugs,omitempty"`
	ShellyMeters []ShellyMeterState `json:"shelly_meters,omitempty"`
	Victron      []VictronState     `json:"victron,omitempty"`
	GoE          []GoEState         `json:"goe,omitempty"`
	Ahoy         []AhoyState        `json:"ahoy,omitempty"`
}

// ShellyPlugState is a Shelly plug's lifetime counter and relay.
type ShellyPlugState struct {
	ID      string  `json:"id"`       // Shelly device ID
	TotalWh float64 `json:"total_wh"` // aenergy.total, Wh
	Output  bool    `json:"output"`   // relay on
}

// ShellyMeterState is a Pro 3EM's per-phase counters (L1, L2, L3), Wh.
type ShellyMeterState struct {
	ID       string     `json:"id"`         // Shelly device ID
	ActWh    [3]float64 `json:"act_wh"`     // *_total_act_energy, import
	ActRetWh [3]float64 `json:"act_ret_wh"` // *_total_act_ret_energy, export
}

// VictronState is a GX's battery and grid meter state.
type VictronState struct {
	PortalID     string  `json:"portal_id"`
	SoCPct       float64 `json:"soc_pct"`       // battery state of charge, %
	ChargedWh    float64 `json:"charged_wh"`    // History/ChargedEnergy, Wh (DC)
	DischargedWh float64 `json:"discharged_wh"` // History/DischargedEnergy, Wh (DC)
	ForwardWh    float64 `json:"forward_wh"`    // grid Ac/Energy/Forward, Wh
	ReverseWh    float64 `json:"reverse_wh"`    // grid Ac/Energy/Reverse, Wh
}

// GoEState is a go-eCharger's counters and EV session.
type GoEState struct {
	Serial    string  `json:"serial"`
	EtoWh     float64 `json:"eto_wh"`     // lifetime energy, Wh
	SessionWh float64 `json:"session_wh"` // wh: energy of the current session, Wh
	NeedWh    float64 `json:"need_wh"`    // what the session's car needs, Wh
	Car       int     `json:"car"`        // 1 idle, 2 charging, 3 wait car, 4 complete
	Session   int     `json:"session"`    // sessions started so far
	// NextEvent is the sim-clock time of the next arrival (car 1) or
	// unplugging (car 4).
	NextEvent time.Time `json:"next_event,omitzero"`
	Amp       int       `json:"amp"` // requested current, A (persisted by the charger)
	// With EVHabits: the coming or current session on the profile clock,
	// its energy in the data (kWh, before Speed), when its car arrived
	// (sim clock) and whether a setpoint curtailed it so far.
	PlanArrive time.Time `json:"plan_arrive,omitzero"`
	PlanDepart time.Time `json:"plan_depart,omitzero"`
	PlanKWh    float64   `json:"plan_kwh,omitempty"`
	ArrivedAt  time.Time `json:"arrived_at,omitzero"`
	Curtailed  bool      `json:"curtailed,omitempty"`
}

// AhoyState is an AhoyDTU inverter's counters.
type AhoyState struct {
	Topic        string  `json:"topic"` // AhoyDTU base topic
	Name         string  `json:"name"`  // inverter name
	YieldTotalWh float64 `json:"yield_total_wh"`
	YieldDayWh   float64 `json:"yield_day_wh"`
	Day          string  `json:"day,omitempty"` // profile-local date of YieldDayWh
}

// InverterState is one inverter's persistent state.
type InverterState struct {
	Serial       string  `json:"serial"`
	YieldTotalWh float64 `json:"yield_total_wh"` // lifetime AC energy, Wh
	YieldDayWh   float64 `json:"yield_day_wh"`   // energy of Day, Wh
	// Day is the profile-local date (2006-01-02) YieldDayWh belongs to;
	// a restore on another day starts the day counter at 0.
	Day string `json:"day,omitempty"`
	// PersistentLimitPct is the persistent power limit, % of nameplate.
	// Non-persistent limits are volatile on the real inverter and are not
	// kept.
	PersistentLimitPct float64 `json:"persistent_limit_pct"`
}

// PlugState is one plug's persistent state.
type PlugState struct {
	Topic          string             `json:"topic"`            // Tasmota %topic%
	TotalStartTime time.Time          `json:"total_start_time"` // when Total started counting
	Day            string             `json:"day,omitempty"`    // profile-local date of the Today values
	Channels       []PlugChannelState `json:"channels"`
}

// PlugChannelState is one relay channel's counters (Wh) and relay state.
type PlugChannelState struct {
	TotalWh     float64 `json:"total_wh"`
	TodayWh     float64 `json:"today_wh"`
	YesterdayWh float64 `json:"yesterday_wh"`
	RelayOn     bool    `json:"relay_on"`
}

// Snapshot returns the persistent state of every device.
func (s *Sim) Snapshot() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Version: StateVersion, SavedAt: s.clock.Now().UTC()}
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			st.Inverters = append(st.Inverters, InverterState{
				Serial:             inv.serial,
				YieldTotalWh:       inv.yieldTotalWh,
				YieldDayWh:         inv.yieldDayWh,
				Day:                inv.day.String(),
				PersistentLimitPct: inv.persistentPct,
			})
		}
	}
	for _, p := range s.plugs {
		ps := PlugState{Topic: p.topic, TotalStartTime: p.totalStart.UTC(), Day: p.day.String()}
		for _, ch := range p.channels {
			ps.Channels = append(ps.Channels, PlugChannelState{
				TotalWh: ch.totalWh, TodayWh: ch.todayWh, YesterdayWh: ch.yesterdayWh, RelayOn: ch.relayOn,
			})
		}
		st.Plugs = append(st.Plugs, ps)
	}
	for _, p := range s.shellyPlugs {
		st.ShellyPlugs = append(st.ShellyPlugs, ShellyPlugState{ID: p.id, TotalWh: p.totalWh, Output: p.output})
	}
	for _, m := range s.shellyMeters {
		st.ShellyMeters = append(st.ShellyMeters, ShellyMeterState{ID: m.id, ActWh: m.importWh, ActRetWh: m.exportWh})
	}
	for _, gx := range s.gxs {
		st.Victron = append(st.Victron, VictronState{
			PortalID: gx.portal, SoCPct: gx.bat.socPct(), ChargedWh: gx.bat.chargedWh, DischargedWh: gx.bat.dischargedWh,
			ForwardWh: gx.grid.netImportWh, ReverseWh: gx.grid.netExportWh,
		})
	}
	for _, g := range s.goes {
		st.GoE = append(st.GoE, GoEState{
			Serial: g.serial, EtoWh: g.etoWh, SessionWh: g.whSession, NeedWh: g.needWh,
			Car: g.car, Session: g.session, NextEvent: g.nextEvent.UTC(), Amp: g.amp,
			PlanArrive: g.plan.arrive, PlanDepart: g.plan.depart, PlanKWh: g.plan.kWh,
			ArrivedAt: g.arrivedSim.UTC(), Curtailed: g.curtailed,
		})
	}
	for _, a := range s.ahoys {
		for _, inv := range a.inverters {
			st.Ahoy = append(st.Ahoy, AhoyState{
				Topic: a.topic, Name: inv.name, YieldTotalWh: inv.yieldTotalWh, YieldDayWh: inv.yieldDayWh, Day: inv.day.String(),
			})
		}
	}
	return st
}

// Restore loads st into the devices it names: inverters by serial, plugs
// by topic, Shelly devices by device ID, GXs by portal ID, go-eChargers by
// serial, AhoyDTU inverters by base topic and name. Devices absent from st keep their fresh state; entries for
// devices not configured are skipped and logged. Call it before Run. It
// validates all of st first and changes nothing when st is invalid.
func (s *Sim) Restore(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	apply, err := s.prepareRestore(st)
	if err != nil {
		return err
	}
	apply()
	return nil
}

// checkState validates st as Restore would, changing nothing.
func (s *Sim) checkState(st State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.prepareRestore(st)
	return err
}

// prepareRestore validates st and returns the function that applies it.
// Called with s.mu held.
func (s *Sim) prepareRestore(st State) (func(), error) {
	if st.Version != StateVersion {
		return nil, invalid("State.Version %d: want %d", st.Version, StateVersion)
	}
	var invs []invPatch
	var plugs []plugPatch

	for i, is := range st.Inverters {
		field := fmt.Sprintf("State.Inverters[%d]", i)
		if err := checkEnergies(field, []string{"YieldTotalWh", "YieldDayWh"}, is.YieldTotalWh, is.YieldDayWh); err != nil {
			return nil, err
		}
		if !(is.PersistentLimitPct >= 0 && is.PersistentLimitPct <= 100) {
			return nil, invalid("%s.PersistentLimitPct %v: want 0..100", field, is.PersistentLimitPct)
		}
		day, err := parseCivilDate(is.Day)
		if err != nil {
			return nil, invalid("%s.Day %q: want 2006-01-02", field, is.Day)
		}
		inv := s.inverterBySerial(is.Serial)
		if inv == nil {
			s.log.Warn("state: inverter not configured, skipped", "serial", is.Serial)
			continue
		}
		invs = append(invs, invPatch{inv, is, day})
	}
	for i, ps := range st.Plugs {
		field := fmt.Sprintf("State.Plugs[%d]", i)
		day, err := parseCivilDate(ps.Day)
		if err != nil {
			return nil, invalid("%s.Day %q: want 2006-01-02", field, ps.Day)
		}
		for j, cs := range ps.Channels {
			names := []string{"TotalWh", "TodayWh", "YesterdayWh"}
			if err := checkEnergies(fmt.Sprintf("%s.Channels[%d]", field, j), names, cs.TotalWh, cs.TodayWh, cs.YesterdayWh); err != nil {
				return nil, err
			}
		}
		p := s.plugByTopic(ps.Topic)
		if p == nil {
			s.log.Warn("state: plug not configured, skipped", "topic", ps.Topic)
			continue
		}
		if len(ps.Channels) != len(p.channels) {
			return nil, invalid("%s.Channels: %d channels saved for plug %q, which is configured with %d", field, len(ps.Channels), ps.Topic, len(p.channels))
		}
		plugs = append(plugs, plugPatch{p, ps, day})
	}
	applyDialects, err := s.checkDialectState(st)
	if err != nil {
		return nil, err
	}
	return func() {
		s.applyRestore(invs, plugs)
		applyDialects()
	}, nil
}

// invPatch and plugPatch are validated inverter and plug states.
type invPatch struct {
	inv *inverter
	st  InverterState
	day civilDate
}

type plugPatch struct {
	p   *plug
	st  PlugState
	day civilDate
}

// applyRestore applies validated inverter and plug states. Called with
// s.mu held.
func (s *Sim) applyRestore(invs []invPatch, plugs []plugPatch) {
	for _, ip := range invs {
		ip.inv.yieldTotalWh = ip.st.YieldTotalWh
		ip.inv.yieldDayWh = ip.st.YieldDayWh
		ip.inv.day = ip.day
		ip.inv.persistentPct = ip.st.PersistentLimitPct
	}
	for _, pp := range plugs {
		if !pp.st.TotalStartTime.IsZero() {
			pp.p.totalStart = pp.st.TotalStartTime
		}
		pp.p.day = pp.day
		for j, cs := range pp.st.Channels {
			ch := pp.p.channels[j]
			ch.totalWh, ch.todayWh, ch.yesterdayWh, ch.relayOn = cs.TotalWh, cs.TodayWh, cs.YesterdayWh, cs.RelayOn
			// The first SENSOR after a reboot reports the energy since
			// the reboot as its Period.
			ch.periodStartWh = wholeWh(cs.TotalWh)
		}
	}
}

// checkDialectState validates the Shelly, Victron, go-e and AhoyDTU parts
// of st and returns the function that applies them. Called with s.mu held.
func (s *Sim) checkDialectState(st State) (apply func(), err error) {
	var patches []func()
	for i, ps := range st.ShellyPlugs {
		field := fmt.Sprintf("State.ShellyPlugs[%d]", i)
		if err := checkEnergies(field, []string{"TotalWh"}, ps.TotalWh); err != nil {
			return nil, err
		}
		var p *shellyPlug
		for _, c := range s.shellyPlugs {
			if c.id == ps.ID {
				p = c
			}
		}
		if p == nil {
			s.log.Warn("state: Shelly plug not configured, skipped", "id", ps.ID)
			continue
		}
		patches = append(patches, func() { p.totalWh, p.output = ps.TotalWh, ps.Output })
	}
	for i, ms := range st.ShellyMeters {
		field := fmt.Sprintf("State.ShellyMeters[%d]", i)
		for ph := range 3 {
			names := []string{fmt.Sprintf("ActWh[%d]", ph), fmt.Sprintf("ActRetWh[%d]", ph)}
			if err := checkEnergies(field, names, ms.ActWh[ph], ms.ActRetWh[ph]); err != nil {
				return nil, err
			}
		}
		var m *shellyMeter
		for _, c := range s.shellyMeters {
			if c.id == ms.ID {
				m = c
			}
		}
		if m == nil {
			s.log.Warn("state: Shelly meter not configured, skipped", "id", ms.ID)
			continue
		}
		patches = append(patches, func() { m.importWh, m.exportWh = ms.ActWh, ms.ActRetWh })
	}
	for i, vs := range st.Victron {
		field := fmt.Sprintf("State.Victron[%d]", i)
		names := []string{"ChargedWh", "DischargedWh", "ForwardWh", "ReverseWh"}
		if err := checkEnergies(field, names, vs.ChargedWh, vs.DischargedWh, vs.ForwardWh, vs.ReverseWh); err != nil {
			return nil, err
		}
		if !(vs.SoCPct >= 0 && vs.SoCPct <= 100) {
			return nil, invalid("%s.SoCPct %v: want 0..100", field, vs.SoCPct)
		}
		var gx *venusGX
		for _, c := range s.gxs {
			if c.portal == vs.PortalID {
				gx = c
			}
		}
		if gx == nil {
			s.log.Warn("state: Victron GX not configured, skipped", "portal_id", vs.PortalID)
			continue
		}
		patches = append(patches, func() {
			b := gx.bat
			// A changed configuration may have narrowed the SoC limits.
			b.energyWh = clamp(vs.SoCPct/100*b.capWh, b.minWh, b.maxWh)
			b.chargedWh, b.dischargedWh = vs.ChargedWh, vs.DischargedWh
			gx.grid.netImportWh, gx.grid.netExportWh = vs.ForwardWh, vs.ReverseWh
		})
	}
	for i, gs := range st.GoE {
		field := fmt.Sprintf("State.GoE[%d]", i)
		names := []string{"EtoWh", "SessionWh", "NeedWh"}
		if err := checkEnergies(field, names, gs.EtoWh, gs.SessionWh, gs.NeedWh); err != nil {
			return nil, err
		}
		switch {
		case gs.Car < goeCarIdle || gs.Car > goeCarComplete:
			return nil, invalid("%s.Car %d: want 1 (idle), 2 (charging), 3 (wait car) or 4 (complete)", field, gs.Car)
		case gs.Session < 0:
			return nil, invalid("%s.Session %d: must not be negative", field, gs.Session)
		case gs.Amp < 6 || gs.Amp > 32:
			return nil, invalid("%s.Amp %d A: want 6..32", field, gs.Amp)
		case !(gs.PlanKWh >= 0 && gs.PlanKWh <= 1000):
			return nil, invalid("%s.PlanKWh %v: want 0..1000", field, gs.PlanKWh)
		case gs.PlanDepart.Before(gs.PlanArrive):
			return nil, invalid("%s.PlanDepart %v: before PlanArrive %v", field, gs.PlanDepart, gs.PlanArrive)
		}
		var g *goeCharger
		for _, c := range s.goes {
			if c.serial == gs.Serial {
				g = c
			}
		}
		if g == nil {
			s.log.Warn("state: go-eCharger not configured, skipped", "serial", gs.Serial)
			continue
		}
		patches = append(patches, func() {
			g.etoWh, g.whSession, g.needWh = gs.EtoWh, gs.SessionWh, gs.NeedWh
			g.car, g.session, g.nextEvent = gs.Car, gs.Session, gs.NextEvent
			g.amp = min(max(gs.Amp, g.mca), g.ama) // within this configuration's mca..ama
			if g.habit != nil && !gs.PlanArrive.IsZero() {
				g.plan = evPlan{arrive: gs.PlanArrive, depart: gs.PlanDepart, kWh: gs.PlanKWh}
				g.arrivedSim, g.curtailed = gs.ArrivedAt, gs.Curtailed
			}
		})
	}
	for i, as := range st.Ahoy {
		field := fmt.Sprintf("State.Ahoy[%d]", i)
		if err := checkEnergies(field, []string{"YieldTotalWh", "YieldDayWh"}, as.YieldTotalWh, as.YieldDayWh); err != nil {
			return nil, err
		}
		day, err := parseCivilDate(as.Day)
		if err != nil {
			return nil, invalid("%s.Day %q: want 2006-01-02", field, as.Day)
		}
		var inv *ahoyInverter
		for _, a := range s.ahoys {
			for _, c := range a.inverters {
				if a.topic == as.Topic && c.name == as.Name {
					inv = c
				}
			}
		}
		if inv == nil {
			s.log.Warn("state: AhoyDTU inverter not configured, skipped", "topic", as.Topic, "name", as.Name)
			continue
		}
		patches = append(patches, func() { inv.yieldTotalWh, inv.yieldDayWh, inv.day = as.YieldTotalWh, as.YieldDayWh, day })
	}
	return func() {
		for _, p := range patches {
			p()
		}
	}, nil
}

// checkEnergies checks that each of vals (named by names) is a plausible
// energy in Wh.
func checkEnergies(field string, names []string, vals ...float64) error {
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e12 {
			return invalid("%s.%s %v Wh: want a finite, non-negative energy", field, names[i], v)
		}
	}
	return nil
}

func (s *Sim) inverterBySerial(serial string) *inverter {
	for _, d := range s.dtus {
		for _, inv := range d.inverters {
			if inv.serial == serial {
				return inv
			}
		}
	}
	return nil
}

func (s *Sim) plugByTopic(topic string) *plug {
	for _, p := range s.plugs {
		if p.topic == topic {
			return p
		}
	}
	return nil
}

// LoadStateFile restores s from a file written by SaveStateFile. A missing
// file is not an error (first run: loaded is false); a file that does not
// parse is, so that it is never overwritten silently.
func (s *Sim) LoadStateFile(path string) (loaded bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var st State
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return false, fmt.Errorf("%s is not a firmware-sim state file: %w (delete it to start the counters afresh)", path, err)
	}
	if err := s.Restore(st); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

// SaveStateFile writes s's Snapshot to path atomically: a crash mid-write
// leaves the previous file intact.
func (s *Sim) SaveStateFile(path string) error {
	data, err := json.MarshalIndent(s.Snapshot(), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data and a newline to path through a synced
// temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
