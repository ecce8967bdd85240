package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
)

// printNodeConfig writes a `gridmint run --config` file that reads
// exactly the simulated devices: an adapter for each firmware
// installation (OpenDTU base topic, Victron portal ID, AhoyDTU inverter
// indexes) and every device declared with its serial, kind, nameplate,
// capacity and limits, on the broker the simulator publishes to. cmdLine
// is the simulator's command line, for the header. Strings are quoted,
// so that serials stay strings.
func printNodeConfig(w io.Writer, cmdLine, broker string, adapters []firmwaresim.FleetAdapter, devices []firmwaresim.FleetDevice) error {
	var b strings.Builder
	fmt.Fprintf(&b, `# gridmint node configuration for the devices that
#   %[1]s
# simulates, written by
#   %[1]s --print-config
# Run the node with it:  gridmint run --config FILE
# (after gridmint init --data-dir ./gridmint-data/one-house, once).
# Every adapter and device below is what the simulator publishes; the full
# list of settings is in examples/gridmint.yaml.

data_dir: ./gridmint-data/one-house
http_addr: 127.0.0.1:8088
mqtt:
  broker: %[2]s
# A node on its own: libp2p on free loopback ports, no mDNS.
p2p:
  listen: [/ip4/127.0.0.1/tcp/0, /ip4/127.0.0.1/udp/0/quic-v1]
  mdns: false

adapters:
`, cmdLine, q(broker))
	for _, a := range adapters {
		fields := []string{"dialect: " + a.Dialect}
		if a.BaseTopic != "" {
			fields = append(fields, "base_topic: "+q(a.BaseTopic))
		}
		if a.PortalID != "" {
			fields = append(fields, "portal_id: "+q(a.PortalID))
		}
		if len(a.Inverters) > 0 {
			var inv []string
			for _, name := range slices.Sorted(maps.Keys(a.Inverters)) {
				inv = append(inv, q(name)+": "+strconv.Itoa(a.Inverters[name]))
			}
			fields = append(fields, "inverters: {"+strings.Join(inv, ", ")+"}")
		}
		fmt.Fprintf(&b, "  - {%s}\n", strings.Join(fields, ", "))
	}
	b.WriteString("\ndevices:\n")
	for _, d := range devices {
		fields := []string{"dialect: " + d.Dialect, "serial: " + q(d.Serial), "kind: " + string(d.Kind), "name: " + q(d.Name)}
		num := func(name string, v float64) {
			if v != 0 {
				fields = append(fields, name+": "+strconv.FormatFloat(v, 'f', -1, 64))
			}
		}
		num("nameplate_w", d.NameplateW)
		num("capacity_wh", float64(d.CapacityWh))
		var lim []string
		for _, l := range []struct {
			name string
			v    float64
		}{
			{"min_current_a", d.Limits.MinCurrent}, {"max_current_a", d.Limits.MaxCurrent}, {"soc_floor_pct", d.Limits.SoCFloor},
			{"max_charge_w", float64(d.Limits.MaxCharge)}, {"max_discharge_w", float64(d.Limits.MaxDischarge)},
			{"export_limit_w", float64(d.Limits.ExportLimit)},
		} {
			if l.v != 0 {
				lim = append(lim, l.name+": "+strconv.FormatFloat(l.v, 'f', -1, 64))
			}
		}
		if len(lim) > 0 {
			fields = append(fields, "limits: {"+strings.Join(lim, ", ")+"}")
		}
		fmt.Fprintf(&b, "  - {%s}\n", strings.Join(fields, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// q quotes s as a YAML double-quoted scalar (JSON's escapes are YAML's).
func q(s string) string { return strconv.Quote(s) }
