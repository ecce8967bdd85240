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
const StateVersion = 1

// State is what real devices keep in flash across reboots: lifetime and
// day counters, persistent inverter limits, relay states. It is plain
// JSON so a caller can save it on shutdown and restore it on start, and
// counters keep growing across restarts. Energies are float64 Wh so no
// fraction of a Wh is lost between runs.
type State struct {
	Version   int             `json:"version"`
	SavedAt   time.Time       `json:"saved_at"` // sim-clock time of Snapshot
	Inverters []InverterState `json:"inverters,omitempty"`
	Plugs     []PlugState     `json:"plugs,omitempty"`
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
	return st
}

// Restore loads st into the devices it names: inverters by serial, plugs
// by topic. Devices absent from st keep their fresh state; entries for
// devices not configured are skipped and logged. Call it before Run. It
// validates all of st first and changes nothing when st is invalid.
func (s *Sim) Restore(st State) error {
	if st.Version != StateVersion {
		return invalid("State.Version %d: want %d", st.Version, StateVersion)
	}
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
	var invs []invPatch
	var plugs []plugPatch

	s.mu.Lock()
	defer s.mu.Unlock()
	for i, is := range st.Inverters {
		field := fmt.Sprintf("State.Inverters[%d]", i)
		if err := checkEnergies(field, []string{"YieldTotalWh", "YieldDayWh"}, is.YieldTotalWh, is.YieldDayWh); err != nil {
			return err
		}
		if !(is.PersistentLimitPct >= 0 && is.PersistentLimitPct <= 100) {
			return invalid("%s.PersistentLimitPct %v: want 0..100", field, is.PersistentLimitPct)
		}
		day, err := parseCivilDate(is.Day)
		if err != nil {
			return invalid("%s.Day %q: want 2006-01-02", field, is.Day)
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
			return invalid("%s.Day %q: want 2006-01-02", field, ps.Day)
		}
		for j, cs := range ps.Channels {
			names := []string{"TotalWh", "TodayWh", "YesterdayWh"}
			if err := checkEnergies(fmt.Sprintf("%s.Channels[%d]", field, j), names, cs.TotalWh, cs.TodayWh, cs.YesterdayWh); err != nil {
				return err
			}
		}
		p := s.plugByTopic(ps.Topic)
		if p == nil {
			s.log.Warn("state: plug not configured, skipped", "topic", ps.Topic)
			continue
		}
		if len(ps.Channels) != len(p.channels) {
			return invalid("%s.Channels: %d channels saved for plug %q, which is configured with %d", field, len(ps.Channels), ps.Topic, len(p.channels))
		}
		plugs = append(plugs, plugPatch{p, ps, day})
	}
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
	return nil
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
