package firmwaresim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// The identities of the single-house demo (node/demo.go's constants), kept
// by DemoHouse so that a node configured for it sees the same devices.
const (
	DemoInverterSerial = "116181234567"   // OpenDTU inverter, base topic solar/
	DemoPlugTopic      = "tasmota_5E1F0C" // Tasmota plug
	DemoShellyPlugMAC  = "02a1b2000001"   // Shelly Plus Plug S: shellyplusplugs-02a1b2000001:switch:0
	DemoShellyMeterMAC = "02a1b3000001"   // Shelly Pro 3EM: shellypro3em-02a1b3000001:em:0
	DemoVictronPortal  = "02c0619a0001"   // Victron GX: battery-512, grid-30
	DemoChargerSerial  = "200001"         // go-eCharger, prefix go-eCharger/
	DemoAhoyInverter   = "HM-600"         // AhoyDTU inverter at index 0, base topic inverter
)

// DemoHouse is the single house `gridmint demo` simulated before fleets:
// one device of every dialect (an 800 W OpenDTU inverter, a 600 W AhoyDTU
// inverter, a Tasmota plug, a Shelly Plus Plug S, a Shelly Pro 3EM, a
// Victron GX with a 10 kWh battery, a go-eCharger whose first car plugs in
// at once), the BDEW H25 house, the profile's own PV array. The Tasmota
// TelePeriod is 10 s, twice DefaultPeriod.
func DemoHouse() Config {
	return Config{
		PV:           []PVConfig{{Serial: DemoInverterSerial, Nameplate: 800}},
		Plugs:        []PlugConfig{{Topic: DemoPlugTopic, TelePeriod: 2 * DefaultPeriod}},
		ShellyPlugs:  []ShellyPlugConfig{{MAC: DemoShellyPlugMAC}},
		ShellyMeters: []ShellyMeterConfig{{MAC: DemoShellyMeterMAC}},
		Victron:      []VictronConfig{{PortalID: DemoVictronPortal}},
		GoE:          []GoEConfig{{Serial: DemoChargerSerial}},
		Ahoy:         []AhoyConfig{{Name: DemoAhoyInverter, Nameplate: 600}},
	}
}

// DemoFleet is the small fleet for `gridmint demo`: home 1 is DemoHouse
// (the single-house demo's devices and identities, seeded with seed),
// home 2 an AhoyDTU inverter with a Victron battery, a go-eCharger and the
// Ausgrid household's load, home 3 an OpenDTU inverter with a Shelly Pro
// 3EM, a go-eCharger and a Tasmota plug in a BDEW H25 house. Homes 2 and
// 3 have the fleet's physics (orientation, clouds, real EV habits with the
// first car plugged in at once) and the identities of the fleet.go file
// comment; Fleet.Devices and Fleet.Adapters list what a node configures.
// Every device has its own MQTT connection, with its will.
//
// The caller sets Broker, Clock, Logger and usually ProfileStart (a late
// morning, so that the PV produces at once) and Period.
func DemoFleet(seed uint64) FleetConfig {
	house := DemoHouse()
	house.Seed = seed
	return FleetConfig{
		Name:   "demo",
		Houses: []Config{house},
		Homes:  2,
		Specs: []HomeSpec{
			{PV: DialectAhoy, Battery: true, EV: true, House: HouseAusgrid},
			{PV: DialectOpenDTU, ShellyMeter: true, EV: true, TasmotaPlug: true, House: HouseH25},
		},
		PluggedAtStart: true,
		Seed:           seed,
		Speed:          1,
		Period:         DefaultPeriod,
		Connections:    ConnPerDevice,
	}
}

// FleetStateVersion is the version of the FleetState layout.
const FleetStateVersion = 1

// FleetState is every home's State (see State), home after home.
type FleetState struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	Homes   []State   `json:"homes"`
}

// Snapshot returns every home's persistent state.
func (f *Fleet) Snapshot() FleetState {
	st := FleetState{Version: FleetStateVersion, SavedAt: f.clock.Now().UTC()}
	for _, s := range f.homes {
		st.Homes = append(st.Homes, s.Snapshot())
	}
	return st
}

// Restore loads st into the homes, by position; a state saved by a
// bigger fleet leaves its extra homes out, a smaller one leaves the rest
// fresh. It validates every home's state first and changes nothing when
// one is invalid.
func (f *Fleet) Restore(st FleetState) error {
	if st.Version != FleetStateVersion {
		return invalid("FleetState.Version %d: want %d", st.Version, FleetStateVersion)
	}
	for i := range min(len(st.Homes), len(f.homes)) {
		if err := f.homes[i].checkState(st.Homes[i]); err != nil {
			return fmt.Errorf("FleetState.Homes[%d]: %w", i, err)
		}
	}
	for i := range min(len(st.Homes), len(f.homes)) {
		if err := f.homes[i].Restore(st.Homes[i]); err != nil {
			return fmt.Errorf("FleetState.Homes[%d]: %w", i, err)
		}
	}
	return nil
}

// LoadStateFile restores the fleet from a file written by SaveStateFile,
// or from a single Sim's state file (Sim.SaveStateFile), which becomes
// home 1's: a demo that ran one house keeps its counters. A missing file
// is not an error (loaded false); a file that does not parse is.
func (f *Fleet) LoadStateFile(path string) (loaded bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := f.loadState(path, data); err != nil {
		return false, err
	}
	return true, nil
}

// loadState restores the fleet from the contents of the state file path
// (see LoadStateFile); on error it changes nothing.
func (f *Fleet) loadState(path string, data []byte) error {
	var probe struct {
		Homes json.RawMessage `json:"homes"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("%s is not a firmware-sim state file: %w (delete it to start the counters afresh)", path, err)
	}
	if probe.Homes == nil {
		var st State
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			return fmt.Errorf("%s is not a firmware-sim state file: %w (delete it to start the counters afresh)", path, err)
		}
		if err := f.homes[0].Restore(st); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	}
	var st FleetState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%s is not a firmware-sim fleet state file: %w (delete it to start the counters afresh)", path, err)
	}
	if err := f.Restore(st); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// SaveStateFile writes the fleet's Snapshot to path atomically.
func (f *Fleet) SaveStateFile(path string) error {
	data, err := json.MarshalIndent(f.Snapshot(), "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}
