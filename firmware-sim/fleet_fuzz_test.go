package firmwaresim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// FuzzLoadScenario feeds arbitrary scenario files to the loader: it must
// never panic, and a scenario it accepts must give a FleetConfig that
// validates and (kept small) builds.
func FuzzLoadScenario(f *testing.F) {
	f.Add([]byte(exampleScenario))
	f.Add([]byte("homes: 3\nfaults: default,drop=0.1\n"))
	f.Add([]byte("faults: {preset: heavy, dishonest_modes: [copy]}\nsizes: {house_shift: [-1h, 2h]}\n"))
	f.Add([]byte("specs: [{pv: opendtu, battery: true}, {pv: ahoy}]\nhomes: 2\n"))
	f.Add([]byte("mix: &a {ev: 1}\nsizes: *a\n"))
	f.Add([]byte("homes: 1\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := LoadScenario(bytes.NewReader(data))
		if err != nil {
			return
		}
		fc, err := sc.FleetConfig()
		if err != nil {
			t.Fatalf("LoadScenario accepted a scenario FleetConfig refuses: %v", err)
		}
		fc.Homes = min(fc.Homes, 3)
		fc.Specs = fc.Specs[:min(len(fc.Specs), fc.Homes)]
		fc.Clock = newFakeClock(time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC))
		fl, err := NewFleet(fc)
		if err != nil {
			t.Fatalf("a valid scenario does not build: %v", err)
		}
		fl.Step(fc.Clock.Now())
	})
}

// FuzzParseFaults: any --faults value is either refused or valid.
func FuzzParseFaults(f *testing.F) {
	for _, s := range []string{"default", "heavy,drop=0.1", "offline_for=1m,dishonest_modes=night+copy", "drop=1e400", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		fc, err := ParseFaults(spec)
		if err != nil {
			return
		}
		if err := fc.check("x"); err != nil {
			t.Fatalf("ParseFaults accepted %q, which check refuses: %v", spec, err)
		}
	})
}

// FuzzDataParsers feeds arbitrary bytes to the three data file parsers
// (kind 0 MIDC, 1 Trondheim, 2 Ausgrid): errors, never panics, and what
// parses is usable.
func FuzzDataParsers(f *testing.F) {
	f.Add(byte(0), midcTXT[:2000])
	f.Add(byte(1), trondheimCSV[:3000])
	f.Add(byte(2), ausgridCSV[:3000])
	f.Add(byte(1), []byte("User_ID;User_type;Start_plugin;End_plugout;El_kWh\n"+strings.Repeat("u;Private;01.01.2020 10:00;01.01.2020 12:00;5,5\n", 25)))
	f.Fuzz(func(t *testing.T, kind byte, data []byte) {
		switch kind % 3 {
		case 0:
			if ct, err := ParseMIDC(bytes.NewReader(data)); err == nil {
				_ = ct.Factor(123.4)
			}
		case 1:
			if d, err := ParseTrondheim(bytes.NewReader(data)); err == nil {
				h := &evHabit{sessions: d.users[d.eligible[0]], serial: "1"}
				p := h.plan(1, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), true, false)
				if p.depart.Before(p.arrive) {
					t.Fatalf("plan %+v departs before it arrives", p)
				}
			}
		case 2:
			if p, err := ParseAusgrid(bytes.NewReader(data)); err == nil {
				_ = p.Power(time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC), 1000)
			}
		}
	})
}

// FuzzMQTTRead feeds arbitrary broker bytes to the shared connections'
// packet reader and PUBLISH decoder: errors, never panics.
func FuzzMQTTRead(f *testing.F) {
	f.Add([]byte{0x30, 5, 0, 1, 'a', 'x', 'y'})
	f.Add([]byte{0x32, 7, 0, 1, 'a', 0, 1, 'x', 'y', 0x40, 2, 0, 1})
	f.Add([]byte{0x90, 3, 0, 1, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			typ, body, err := readPacket(r)
			if err != nil {
				return
			}
			if typ == 3 {
				if p, err := parsePublish(body); err == nil && p.qos > 2 {
					t.Fatalf("QoS %d accepted", p.qos)
				}
			}
		}
	})
}

// FuzzLoadStateFile feeds arbitrary state files (--state-file, the demo's
// firmware-sim.json, read back at start) to a fleet of the demo's homes:
// an error that changes nothing, or a restore after which the fleet steps
// on with finite counters and saves again; never a panic. (The file is
// read by LoadStateFile; its contents go to loadState, fuzzed here.)
func FuzzLoadStateFile(f *testing.F) {
	t0 := time.Date(2025, 6, 21, 12, 0, 0, 0, time.UTC)
	build := func(t testing.TB) (*Fleet, []byte) {
		cfg := DemoFleet(1)
		cfg.Clock, cfg.ProfileStart = newFakeClock(t0), t0
		fl, err := NewFleet(cfg)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := json.Marshal(fl.Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		return fl, snap
	}
	// Seeds: a real fleet state after a few steps, and a single Sim's.
	fl, _ := build(f)
	for i := range 10 {
		fl.Step(t0.Add(time.Duration(i) * 5 * time.Second))
	}
	fleetState, err := json.Marshal(fl.Snapshot())
	if err != nil {
		f.Fatal(err)
	}
	simState, err := json.Marshal(fl.Homes()[0].Snapshot())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fleetState)
	f.Add(simState)
	f.Add([]byte(`{"version":1,"homes":[{"version":1}]}`))
	f.Add([]byte(`{"version":1,"inverters":[{"serial":"116181234567","yield_total_wh":-1}]}`))
	// A failed load changes nothing, so one fleet serves until a load
	// succeeds.
	fresh, pristine := build(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := fresh.loadState("fuzz.json", data); err != nil {
			if after, _ := json.Marshal(fresh.Snapshot()); !bytes.Equal(after, pristine) {
				t.Fatalf("refused %q (%v) but changed the fleet", data, err)
			}
			return
		}
		fl := fresh
		fresh, pristine = build(t)
		for _, m := range fl.Step(t0.Add(5 * time.Second)) {
			if strings.Contains(m.Payload, "NaN") || strings.Contains(m.Payload, "Inf") {
				t.Fatalf("after restoring %q: %s %s", data, m.Topic, m.Payload)
			}
		}
		if _, err := json.Marshal(fl.Snapshot()); err != nil {
			t.Fatalf("restored state does not save: %v", err)
		}
	})
}
