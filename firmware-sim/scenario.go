package firmwaresim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is a fleet scenario file (YAML). Keys are the snake_case of
// FleetConfig's fields; every key is optional and unknown keys are errors.
// Unset keys keep DefaultScenario's values: DefaultMix, DefaultSizes, no
// faults, one home.
//
//	name: evening-peak
//	homes: 1000
//	seed: 7
//	speed: 60                      # profile seconds per sim second
//	period: 1s
//	profile_start: 2025-06-21T16:00:00Z
//	broker: tcp://127.0.0.1:1883
//	connections: shared            # per-device, shared or "" (auto)
//	homes_per_connection: 25
//	plugged_at_start: false
//	mix: {opendtu: 3, ahoy: 1, battery: 0.8, shelly_meter: 0.2, ev: 0.6, tasmota_plug: 0.1, shelly_plug: 0.1, ausgrid: 0.5}
//	sizes: {inverter_w: [400, 2000], battery_kwh: [5, 15], house_shift: [-1h, 1h], ev_one_phase: 0.25}
//	specs:                         # fixed devices for the first homes
//	  - {pv: ahoy, battery: true, ev: true, house: ausgrid}
//	faults: default                # none, default, heavy, "default,drop=0.02", or a mapping:
//	# faults: {preset: default, drop: 0.02, offline_for: 30s, dishonest_modes: [night, copy]}
type Scenario struct {
	Name               string        `yaml:"name"`
	Homes              int           `yaml:"homes"`
	Seed               uint64        `yaml:"seed"`
	Speed              float64       `yaml:"speed"`
	Period             time.Duration `yaml:"period"`
	ProfileStart       time.Time     `yaml:"profile_start"`
	Broker             string        `yaml:"broker"`
	ClientPrefix       string        `yaml:"client_prefix"`
	Connections        string        `yaml:"connections"`
	HomesPerConnection int           `yaml:"homes_per_connection"`
	PluggedAtStart     bool          `yaml:"plugged_at_start"`
	Mix                Mix           `yaml:"mix"`
	Sizes              Sizes         `yaml:"sizes"`
	Specs              []HomeSpec    `yaml:"specs"`
	Faults             FaultSpec     `yaml:"faults"`
}

// FaultSpec is a scenario's faults: a preset or ParseFaults string, or a
// mapping of FaultConfig's YAML keys with an optional preset key applied
// first.
type FaultSpec struct {
	FaultConfig
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (fs *FaultSpec) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		fc, err := ParseFaults(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		fs.FaultConfig = fc
		return nil
	case yaml.MappingNode:
	default:
		return fmt.Errorf("line %d: faults: want a preset name or a mapping", n.Line)
	}
	known := map[string]bool{"preset": true}
	for _, k := range []string{"drop", "duplicate", "reorder", "malformed", "reboots_per_hour", "offline_per_hour",
		"offline_for", "skewed", "max_skew", "dishonest", "dishonest_modes"} {
		known[k] = true
	}
	var preset string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			return fmt.Errorf("line %d: faults: unknown key %q", k.Line, k.Value)
		}
		if k.Value == "preset" {
			preset = n.Content[i+1].Value
		}
	}
	fc := FaultConfig{}
	if preset != "" {
		p, ok := FaultPresets[preset]
		if !ok {
			return fmt.Errorf("line %d: faults: unknown preset %q (want none, default or heavy)", n.Line, preset)
		}
		fc = p
	}
	aux := struct {
		Preset      string `yaml:"preset"`
		FaultConfig `yaml:",inline"`
	}{FaultConfig: fc}
	if err := n.Decode(&aux); err != nil {
		return err
	}
	fs.FaultConfig = aux.FaultConfig
	return nil
}

// DefaultScenario is what an empty scenario file means: one generated
// home with the default mix and sizes, seed 1, real time, no faults.
func DefaultScenario() Scenario {
	return Scenario{Homes: 1, Seed: 1, Speed: 1, Period: DefaultFleetPeriod, Mix: DefaultMix(), Sizes: DefaultSizes(),
		HomesPerConnection: DefaultHomesPerConnection}
}

// maxScenarioBytes bounds a scenario file.
const maxScenarioBytes = 1 << 20

// LoadScenario reads one YAML scenario (at most 1 MiB) on top of
// DefaultScenario and validates it. Errors name the key (or its
// FleetConfig field) and, for YAML errors, the line.
func LoadScenario(r io.Reader) (Scenario, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxScenarioBytes+1))
	if err != nil {
		return Scenario{}, err
	}
	if len(data) > maxScenarioBytes {
		return Scenario{}, invalid("scenario: larger than %d bytes", maxScenarioBytes)
	}
	sc := DefaultScenario()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil && !errors.Is(err, io.EOF) {
		return Scenario{}, invalid("scenario: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Scenario{}, invalid("scenario: want one YAML document, found more")
	}
	if _, err := sc.FleetConfig(); err != nil {
		return Scenario{}, err
	}
	return sc, nil
}

// FleetConfig turns the scenario into a validated FleetConfig (without
// Clock, Logger and Location, which the caller adds).
func (sc Scenario) FleetConfig() (FleetConfig, error) {
	fc := FleetConfig{
		Name: sc.Name, Homes: sc.Homes, Specs: sc.Specs, Mix: sc.Mix, Sizes: sc.Sizes, PluggedAtStart: sc.PluggedAtStart,
		Faults: sc.Faults.FaultConfig, Seed: sc.Seed, Speed: sc.Speed, ProfileStart: sc.ProfileStart, Period: sc.Period,
		Broker: sc.Broker, ClientPrefix: sc.ClientPrefix, Connections: sc.Connections, HomesPerConnection: sc.HomesPerConnection,
	}
	check := fc
	if check.ProfileStart.IsZero() {
		check.ProfileStart = time.Unix(0, 0) // now, at run time; any time validates
	}
	if err := check.applyDefaults(); err != nil {
		return FleetConfig{}, err
	}
	return fc, nil
}
