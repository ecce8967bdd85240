package node

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/store"
)

func TestExampleConfigParses(t *testing.T) {
	data, err := os.ReadFile("../examples/gridmint.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		t.Fatalf("examples/gridmint.yaml: %v", err)
	}
	if got, want := len(cfg.Adapters), 7; got != want {
		t.Errorf("adapters = %d, want %d", got, want)
	}
	if got, want := cfg.Devices[0].NameplateW, 800.0; got != want {
		t.Errorf("devices[0].nameplate_w = %v, want %v", got, want)
	}
	if len(cfg.Sites) != 1 || cfg.Sites[0].GridMeter != "victron/grid-30" || cfg.Devices[0].Site != "home" {
		t.Errorf("sites = %+v, devices[0].site = %q; want the home with its Victron meter of record", cfg.Sites, cfg.Devices[0].Site)
	}
	if cfg.StaleAfter != 10*time.Minute || !*cfg.Discover {
		t.Errorf("stale_after = %v, discover = %v", cfg.StaleAfter, *cfg.Discover)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig([]byte("adapters: [{dialect: tasmota}]"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != DefaultDataDir || cfg.HTTPAddr != DefaultHTTPAddr || cfg.MQTT.Broker != DefaultBroker ||
		cfg.StaleAfter != DefaultStaleAfter || !*cfg.Discover || len(cfg.P2P.Listen) != 2 || cfg.MaxDevices != DefaultMaxDevices ||
		cfg.Storage.MinFree != DefaultMinFree || cfg.Storage.ResumeMargin != DefaultResumeMargin {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	p, err := cfg.Storage.policy()
	if err != nil || p.minFree != 256<<20 || p.margin != 32<<20 || p.floor != 64<<20 || p.percent != 0 {
		t.Errorf("default storage policy = %+v, %v; want a reserve of 256 MiB, margin 32 MiB, floor 64 MiB", p, err)
	}
}

// TestStorageConfig reads the reserve as a size or a share and the margin
// as a size.
func TestStorageConfig(t *testing.T) {
	tests := []struct {
		yaml            string
		minFree, margin uint64
		percent         float64
	}{
		{"{min_free: 256MiB}", 256 << 20, 32 << 20, 0},
		{"{min_free: 1GiB, resume_margin: 100MB}", 1 << 30, 100e6, 0},
		{"{min_free: 1.5 gib, resume_margin: 0}", 3 << 29, 0, 0},
		{"{min_free: 500MB, resume_margin: 1KiB}", 500e6, 1024, 0},
		{"{min_free: 67108864}", 64 << 20, 32 << 20, 0},
		{"{min_free: 5%}", 0, 32 << 20, 5},
		{"{min_free: '0.5 %', resume_margin: 8MiB}", 0, 8 << 20, 0.5},
	}
	for _, tt := range tests {
		cfg, err := ParseConfig([]byte("adapters: [{dialect: tasmota}]\nstorage: " + tt.yaml))
		if err != nil {
			t.Errorf("storage %s: %v", tt.yaml, err)
			continue
		}
		p, err := cfg.Storage.policy()
		if err != nil || p.minFree != tt.minFree || p.margin != tt.margin || p.percent != tt.percent {
			t.Errorf("storage %s: policy %+v, %v; want min_free %d, margin %d, percent %v", tt.yaml, p, err, tt.minFree, tt.margin, tt.percent)
		}
	}
}

// TestConfigP2PDefaults: a `gridmint run` config without a p2p section
// listens on every interface on 4001 (peers must reach it) and keeps mDNS,
// which announces the node to the whole LAN, off; the DHT finds peers in
// auto mode. The demo's nodes run on loopback and leave mDNS as asked
// (`gridmint demo` asks for it by default: cmd/gridmint tests that).
func TestConfigP2PDefaults(t *testing.T) {
	cfg, err := ParseConfig([]byte("adapters: [{dialect: tasmota}]"))
	if err != nil {
		t.Fatal(err)
	}
	if *cfg.P2P.MDNS {
		t.Error("mdns on without a p2p section, want off")
	}
	if cfg.P2P.DHT != "auto" || strings.Join(cfg.P2P.Listen, " ") != "/ip4/0.0.0.0/tcp/4001 /ip4/0.0.0.0/udp/4001/quic-v1" {
		t.Errorf("dht %q, listen %q; want auto on TCP and QUIC 4001", cfg.P2P.DHT, cfg.P2P.Listen)
	}
	if cfg, err = ParseConfig([]byte("p2p: {mdns: true}\nadapters: [{dialect: tasmota}]")); err != nil || !*cfg.P2P.MDNS {
		t.Errorf("mdns: true gives %v (%v), want on", *cfg.P2P.MDNS, err)
	}
	for _, mdns := range []bool{true, false} {
		demo := DemoConfig(DemoOptions{DataDir: t.TempDir(), MDNS: mdns}, "tcp://127.0.0.1:1883")
		if *demo.P2P.MDNS != mdns {
			t.Errorf("demo with MDNS %v: config mdns %v", mdns, *demo.P2P.MDNS)
		}
	}
}

// TestConfigErrorsNameTheField checks that every invalid config fails with
// an error naming the offending field.
func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, wantField string
	}{
		{"unknown field", "adapters: [{dialect: tasmota}]\nbrokr: x", "brokr"},
		{"no adapters", "http_addr: 127.0.0.1:1", "adapters"},
		{"unknown dialect", "adapters: [{dialect: fronius}]", "adapters[0].dialect"},
		{"bad adapter kind", "adapters: [{dialect: tasmota, kind: toaster}]", "adapters[0].kind"},
		{"bad tasmota full topic", "adapters: [{dialect: tasmota, base_topic: 'x/%topic%/'}]", "adapters[0]: base_topic"},
		{"victron without portal id", "adapters: [{dialect: victron}]", "portal_id"},
		{"generic mapping unit", "adapters: [{dialect: generic, mappings: [{topic: a/+, serial_level: 1, field: energy, unit: kW}]}]", "mappings[0].unit"},
		{"declared victron serial", "adapters: [{dialect: victron, portal_id: c0619ab1234f}]\ndevices: [{dialect: victron, serial: battery}]", "devices[0].serial"},
		{"duplicate adapter", "adapters: [{dialect: tasmota}, {dialect: tasmota}]", "adapters[1]"},
		{"portal id on shelly", "adapters: [{dialect: shelly, portal_id: c0619ab1234f}]", "adapters[0].portal_id"},
		{"mappings on opendtu", "adapters: [{dialect: opendtu, mappings: []}]", "adapters[0].mappings"},
		{"same topics twice", "adapters: [{dialect: tasmota}, {dialect: tasmota, base_topic: '%prefix%/%topic%/'}]", "adapters[1]"},
		{"duplicate victron portal", "adapters: [{dialect: victron, portal_id: c0619ab1234f}, {dialect: victron, portal_id: c0619ab1234f}]", "adapters[1]"},
		{"bad http addr", "http_addr: localhost\nadapters: [{dialect: tasmota}]", "http_addr"},
		{"bad broker scheme", "mqtt: {broker: 'http://x:1'}\nadapters: [{dialect: tasmota}]", "mqtt.broker"},
		{"broker without port", "mqtt: {broker: 'tcp://x'}\nadapters: [{dialect: tasmota}]", "mqtt.broker"},
		{"password twice", "mqtt: {password: a, password_file: b}\nadapters: [{dialect: tasmota}]", "mqtt.password_file"},
		{"bad multiaddr", "p2p: {listen: ['/ip4/999.0.0.1/tcp/1']}\nadapters: [{dialect: tasmota}]", "p2p.listen[0]"},
		{"bootstrap without peer ID", "p2p: {bootstrap: ['/ip4/10.0.0.1/tcp/4001']}\nadapters: [{dialect: tasmota}]", "p2p.bootstrap[0]"},
		{"bad DHT mode", "p2p: {dht: always}\nadapters: [{dialect: tasmota}]", "p2p.dht"},
		{"negative stale", "stale_after: -1s\nadapters: [{dialect: tasmota}]", "stale_after"},
		{"stale not a duration", "stale_after: soon\nadapters: [{dialect: tasmota}]", "stale_after"},
		{"stale without unit", "stale_after: 5\nadapters: [{dialect: tasmota}]", "stale_after"},
		{"negative max devices", "max_devices: -1\nadapters: [{dialect: tasmota}]", "max_devices"},
		{"opendtu serial not hex", "adapters: [{dialect: opendtu}]\ndevices: [{dialect: opendtu, serial: inverter-1}]", "devices[0].serial"},
		{"tasmota channel zero", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota, serial: 'dual:0'}]", "devices[0].serial"},
		{"device without dialect", "adapters: [{dialect: tasmota}]\ndevices: [{serial: a}]", "devices[0].dialect"},
		{"device dialect without adapter", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: opendtu, serial: '1'}]", "devices[0].dialect"},
		{"device without serial", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota}]", "devices[0].serial"},
		{"device serial with slash", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota, serial: a/b}]", "devices[0].serial"},
		{"device kind", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota, serial: a}, {dialect: tasmota, serial: b, kind: pv}]", "devices[1].kind"},
		{"negative nameplate", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota, serial: a, nameplate_w: -5}]", "devices[0].nameplate_w"},
		{"nameplate wrong type", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota, serial: a, nameplate_w: big}]", "nameplate_w"},
		{"duplicate device", "adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota, serial: a}, {dialect: tasmota, serial: a}]", "devices[1]"},
		{"not YAML", "adapters: [", "config"},
		{"site without id", sitesYAML + "sites: [{name: Home}]", "sites[0].id"},
		{"bad site id", sitesYAML + "sites: [{id: 'home 1'}]", "sites[0].id"},
		{"duplicate site id", sitesYAML + "sites: [{id: home}, {id: home}]", "sites[1].id"},
		{"bad site location", sitesYAML + "sites: [{id: home, location: {lat: 91, lon: 0}}]", "sites[0]: location"},
		{"site zone too long", sitesYAML + "sites: [{id: home, zone: " + strings.Repeat("z", 65) + "}]", "sites[0]: zone"},
		{"unknown site of a device", sitesYAML + "sites: [{id: home}]\ndevices: [{dialect: goe, serial: '1', site: hom}]", "devices[0].site"},
		{"site of a device without sites", sitesYAML + "devices: [{dialect: goe, serial: '1', site: home}]", "devices[0].site"},
		{"grid meter not a meter", sitesYAML + "sites: [{id: home, grid_meter: victron/battery-512}]", "sites[0].grid_meter"},
		{"grid meter declared as a plug", sitesYAML + "sites: [{id: home, grid_meter: tasmota/meter}]\ndevices: [{dialect: tasmota, serial: meter, kind: plug}]", "sites[0].grid_meter"},
		{"grid meter of another site", sitesYAML + "sites: [{id: a, grid_meter: victron/grid-30}, {id: b, grid_meter: victron/grid-30}]", "sites[1].grid_meter"},
		{"grid meter declared in another site", sitesYAML + "sites: [{id: a}, {id: b, grid_meter: victron/grid-30}]\ndevices: [{dialect: victron, serial: grid-30, site: a}]", "sites[1].grid_meter"},
		{"grid meter of an unconfigured dialect", sitesYAML + "sites: [{id: home, grid_meter: opendtu/1161}]", "sites[0].grid_meter"},
		{"grid meter bad serial", sitesYAML + "sites: [{id: home, grid_meter: victron/grid}]", "sites[0].grid_meter"},
		{"grid meter not a reference", sitesYAML + "sites: [{id: home, grid_meter: grid-30}]", "sites[0].grid_meter"},
		{"grid meter of a node that is no address", sitesYAML + "sites: [{id: home, grid_meter: node/victron/grid-30}]", "sites[0].grid_meter"},
		{"unknown role", "role: buyer\nadapters: [{dialect: tasmota}]", "role"},
		{"utility with adapters", "role: utility\nadapters: [{dialect: tasmota}]", "adapters"},
		{"utility with devices", "role: utility\ndevices: [{dialect: tasmota, serial: a}]", "devices"},
		{"utility with sites", "role: utility\nsites: [{id: home}]", "sites"},
		{"serve_rpc on all interfaces", "chain: {serve_rpc: '0.0.0.0:8545'}\nadapters: [{dialect: tasmota}]", "chain.serve_rpc"},
		{"serve_rpc on a LAN address", "chain: {serve_rpc: '192.168.1.10:8545'}\nadapters: [{dialect: tasmota}]", "chain.serve_rpc"},
		{"serve_rpc on a host name", "chain: {serve_rpc: 'node0.example:8545'}\nadapters: [{dialect: tasmota}]", "chain.serve_rpc"},
		{"serve_rpc without port", "chain: {serve_rpc: '127.0.0.1'}\nadapters: [{dialect: tasmota}]", "chain.serve_rpc"},
		{"serve_rpc with rpc", "chain: {rpc: 'http://127.0.0.1:8545', serve_rpc: '127.0.0.1:8546', " + rpcContracts + "}\nadapters: [{dialect: tasmota}]", "chain.serve_rpc"},
		{"embedded chain id", "chain: {chain_id: 1}\nadapters: [{dialect: tasmota}]", "chain.chain_id"},
		{"fund not an address", "chain: {embedded_fund: [bob]}\nadapters: [{dialect: tasmota}]", "chain.embedded_fund[0]"},
		{"fund with rpc", "chain: {rpc: 'http://127.0.0.1:8545', embedded_fund: ['0x0000000000000000000000000000000000000001'], " + rpcContracts + "}\nadapters: [{dialect: tasmota}]", "chain.embedded_fund"},
		{"attestor zero", "chain: {attestors: ['0x0000000000000000000000000000000000000000']}\nadapters: [{dialect: tasmota}]", "chain.attestors[0]"},
		{"attestor twice", "chain: {attestors: ['0x0000000000000000000000000000000000000001', '0x0000000000000000000000000000000000000001']}\nadapters: [{dialect: tasmota}]", "chain.attestors[1]"},
		{"threshold above n", "chain: {attestors: ['0x0000000000000000000000000000000000000001', '0x0000000000000000000000000000000000000002'], threshold: 3}\nadapters: [{dialect: tasmota}]", "chain.threshold"},
		{"threshold above the node alone", "chain: {threshold: 2}\nadapters: [{dialect: tasmota}]", "chain.threshold"},
		{"attestors with rpc", "chain: {rpc: 'http://127.0.0.1:8545', attestors: ['0x0000000000000000000000000000000000000001'], " + rpcContracts + "}\nadapters: [{dialect: tasmota}]", "chain.attestors"},
		{"reserve below the store's floor", "storage: {min_free: 10MiB}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"reserve without a number", "storage: {min_free: MiB}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"reserve in an unknown unit", "storage: {min_free: 256 megs}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"negative reserve", "storage: {min_free: -1GiB}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"reserve share of zero", "storage: {min_free: 0%}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"reserve share above half", "storage: {min_free: 60%}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"reserve share not a number", "storage: {min_free: NaN%}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"reserve beyond any disk", "storage: {min_free: 2000000TiB}\nadapters: [{dialect: tasmota}]", "storage.min_free"},
		{"margin as a share", "storage: {resume_margin: 5%}\nadapters: [{dialect: tasmota}]", "storage.resume_margin"},
		{"margin with two dots", "storage: {resume_margin: 1.2.3MiB}\nadapters: [{dialect: tasmota}]", "storage.resume_margin"},
		{"unknown storage field", "storage: {min_fre: 1GiB}\nadapters: [{dialect: tasmota}]", "min_fre"},
		{"no block cache", "storage: {block_cache_mb: -1}\nadapters: [{dialect: tasmota}]", "storage.block_cache_mb"},
		{"index cache beyond a small box", "storage: {index_cache_mb: 4096}\nadapters: [{dialect: tasmota}]", "storage.index_cache_mb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("ParseConfig(%q) = nil error, want one naming %q", tt.yaml, tt.wantField)
			}
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Errorf("error code = %q, want %q", gridmint.ErrorCode(err), gridmint.EInvalid)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name %q", err, tt.wantField)
			}
		})
	}
}

// rpcContracts are chain.contracts for configs with chain.rpc.
const rpcContracts = "contracts: {registry: '0x0000000000000000000000000000000000000011', rec: '0x0000000000000000000000000000000000000012', flex: '0x0000000000000000000000000000000000000013'}"

// TestNetworkConfig: the settings of a shared chain and of roles parse,
// and a utility needs no adapters.
func TestNetworkConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte("role: utility\nchain: {rpc: 'http://127.0.0.1:8545', chain_id: 1337, confirmations: 0, " + rpcContracts + "}"))
	if err != nil {
		t.Fatalf("a utility on a shared chain: %v", err)
	}
	if cfg.Role != RoleUtility || cfg.Chain.ChainID != 1337 || *cfg.Chain.Confirmations != 0 || len(cfg.Adapters) != 0 {
		t.Errorf("role %q, chain id %d, confirmations %d, %d adapters; want utility, 1337, 0, none", cfg.Role, cfg.Chain.ChainID, *cfg.Chain.Confirmations, len(cfg.Adapters))
	}
	cfg, err = ParseConfig([]byte(`adapters: [{dialect: tasmota}]
chain:
  serve_rpc: 127.0.0.1:8545
  embedded_fund: ['0x00000000000000000000000000000000000000b0']
  attestors: ['0x00000000000000000000000000000000000000a1', '0x00000000000000000000000000000000000000a2', '0x00000000000000000000000000000000000000a3']
  threshold: 2
`))
	if err != nil {
		t.Fatalf("the chain-hosting node of a network: %v", err)
	}
	if cfg.Role != RoleHome || cfg.Chain.ServeRPC != "127.0.0.1:8545" || len(cfg.Chain.Attestors) != 3 || cfg.Chain.Threshold != 2 || len(cfg.Chain.EmbeddedFund) != 1 {
		t.Errorf("parsed %+v, role %q; want a home serving its chain with 2 of 3 attestors and one funded account", cfg.Chain, cfg.Role)
	}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:8545", "localhost:8545", "127.0.0.2:8545"} {
		if _, err := ParseConfig([]byte("adapters: [{dialect: tasmota}]\nchain: {serve_rpc: '" + addr + "'}")); err != nil {
			t.Errorf("chain.serve_rpc %s: %v, want loopback accepted", addr, err)
		}
	}
}

// sitesYAML is the adapters the site configuration tests need.
const sitesYAML = "adapters: [{dialect: victron, portal_id: c0619ab1234f}, {dialect: shelly}, {dialect: goe}, {dialect: tasmota}]\n"

// TestSitesConfig: devices name their site, a site names its meter of
// record by <dialect>/<serial> or device id, the meter is in its site
// (declared by naming it when devices does not), and the site's zone
// and location are its devices' defaults.
func TestSitesConfig(t *testing.T) {
	const addr = "0x00000000000000000000000000000000000000aB"
	cfg, err := ParseConfig([]byte(sitesYAML + `
sites:
  - {id: home-1, name: Home 1, grid_meter: victron/grid-30, zone: DE-LU, location: {lat: 48.1, lon: 11.5}}
  - {id: home-2, grid_meter: "` + addr + `/shelly/shellypro3em-ec6260890b50:em:0"}
  - {id: garage}
devices:
  - {dialect: victron, serial: battery-512, site: home-1}
  - {dialect: goe, serial: "1", site: home-1, zone: NL}
  - {dialect: shelly, serial: "shellypro3em-ec6260890b51:em:0", site: home-1}
  - {dialect: shelly, serial: "shellypro3em-ec6260890b50:em:0", name: Main meter}
  - {dialect: tasmota, serial: p}
`))
	if err != nil {
		t.Fatal(err)
	}
	var adapters []devices.Adapter
	for _, a := range cfg.Adapters {
		ad, err := devices.NewAdapter(a.devices())
		if err != nil {
			t.Fatal(err)
		}
		adapters = append(adapters, ad)
	}
	declared, err := cfg.declaredDevices(addr, adapters)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		site gridmint.SiteID
		kind gridmint.DeviceKind
		zone string
		loc  bool
	}
	wants := map[gridmint.DeviceID]want{
		addr + "/victron/battery-512":                   {"home-1", gridmint.KindBattery, "DE-LU", true},
		addr + "/goe/1":                                 {"home-1", gridmint.KindEVCharger, "NL", true},
		addr + "/shelly/shellypro3em-ec6260890b51:em:0": {"home-1", gridmint.KindMeter, "DE-LU", true}, // a second meter, not of record
		addr + "/shelly/shellypro3em-ec6260890b50:em:0": {"home-2", gridmint.KindMeter, "", false},     // home-2's meter, put in it
		addr + "/tasmota/p":                             {"", gridmint.KindPlug, "", false},
		addr + "/victron/grid-30":                       {"home-1", gridmint.KindMeter, "DE-LU", true}, // declared by naming it
	}
	if len(declared) != len(wants) {
		t.Fatalf("declared %d devices, want %d: %v", len(declared), len(wants), declared)
	}
	for _, d := range declared {
		w, ok := wants[d.ID]
		if !ok {
			t.Errorf("unexpected device %s", d.ID)
			continue
		}
		if d.Site != w.site || d.Kind != w.kind || d.Zone != w.zone || (d.Location != nil) != w.loc {
			t.Errorf("%s: site %q kind %s zone %q location %v; want %q %s %q location %v", d.ID, d.Site, d.Kind, d.Zone, d.Location, w.site, w.kind, w.zone, w.loc)
		}
	}
	sites, err := cfg.siteList(addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 3 || sites[0].GridMeter != addr+"/victron/grid-30" || sites[1].GridMeter != addr+"/shelly/shellypro3em-ec6260890b50:em:0" || sites[2].GridMeter != "" {
		t.Errorf("sites = %+v", sites)
	}
	if _, err := cfg.siteList("0x00000000000000000000000000000000000000cd"); err == nil || !strings.Contains(err.Error(), "sites[1].grid_meter") {
		t.Errorf("a full device id of another node: %v, want an error naming sites[1].grid_meter", err)
	}
}

func TestLoadConfigNamesTheFile(t *testing.T) {
	path := t.TempDir() + "/bad.yaml"
	if err := os.WriteFile(path, []byte("adapters: []"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "adapters") {
		t.Errorf("LoadConfig error = %v, want it to name the file and the field", err)
	}
	if _, err := LoadConfig(path + ".missing"); err == nil {
		t.Error("LoadConfig(missing file) = nil error")
	}
}

func FuzzParseConfig(f *testing.F) {
	if data, err := os.ReadFile("../examples/gridmint.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("adapters: [{dialect: tasmota}]"))
	f.Add([]byte("adapters: [{dialect: tasmota}]\nquarantine: {max_size_mb: 1}\nmemory_limit_mb: 128\nchain: {embedded_cache_mb: 16}"))
	f.Add([]byte("devices: [{dialect: tasmota, serial: a, nameplate_w: 1e400}]"))
	f.Add([]byte("role: utility\nchain: {rpc: 'http://127.0.0.1:8545', chain_id: 1337, " + rpcContracts + "}"))
	f.Add([]byte("adapters: [{dialect: tasmota}]\nchain: {serve_rpc: '127.0.0.1:8545', embedded_fund: ['0x00000000000000000000000000000000000000b0'], attestors: ['0x00000000000000000000000000000000000000a1', '0x00000000000000000000000000000000000000a2'], threshold: 2}"))
	f.Add([]byte(sitesYAML + "sites: [{id: home, grid_meter: victron/grid-30, zone: DE-LU}]\ndevices: [{dialect: goe, serial: '1', site: home}]"))
	f.Add([]byte(sitesYAML + "sites: [{id: a, grid_meter: 0x0000000000000000000000000000000000000001/tasmota/m}, {id: b}]\ndevices: [{dialect: tasmota, serial: m, kind: meter, site: a}]"))
	f.Add([]byte("adapters: [{dialect: tasmota}]\nstorage: {min_free: 1.5GiB, resume_margin: 64MB}"))
	f.Add([]byte("adapters: [{dialect: tasmota}]\nstorage: {min_free: 5%, resume_margin: 0}"))
	f.Add([]byte("adapters: [{dialect: tasmota}]\nstorage: {min_free: 1e1%}"))
	f.Add([]byte("adapters: [{dialect: tasmota}]\nmarket: {offer: true, defaults: {min_price: 1, reserve_soc_pct: 20, departure: '07:30', energy_needed_wh: 1}, devices: {a/b/c: {opt_out: true}}, collect: 1m}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data)
		if err != nil {
			if gridmint.ErrorCode(err) != gridmint.EInvalid {
				t.Fatalf("error %v has code %q, want invalid", err, gridmint.ErrorCode(err))
			}
			return
		}
		// Whatever parses must be usable: adapters build, devices declare.
		if err := cfg.Validate(); err != nil {
			t.Fatalf("parsed config fails Validate: %v", err)
		}
		if len(cfg.Adapters) == 0 && cfg.Role != RoleUtility {
			t.Fatal("config of a home without adapters accepted")
		}
		if cfg.Role == RoleUtility && len(cfg.Adapters)+len(cfg.Devices)+len(cfg.Sites) > 0 {
			t.Fatal("config of a utility with devices accepted")
		}
		if cfg.Chain.ServeRPC != "" && loopbackHostPort(cfg.Chain.ServeRPC) != nil {
			t.Fatalf("chain.serve_rpc %q accepted off loopback", cfg.Chain.ServeRPC)
		}
		// Sites and devices declare without error, every meter of record
		// a meter in its site.
		var adapters []devices.Adapter
		for _, a := range cfg.Adapters {
			ad, err := devices.NewAdapter(a.devices())
			if err != nil {
				t.Fatalf("adapter of a valid config: %v", err)
			}
			adapters = append(adapters, ad)
		}
		const addr = "0x0000000000000000000000000000000000000001"
		declared, err := cfg.declaredDevices(addr, adapters)
		if err != nil {
			t.Fatalf("devices of a valid config: %v", err)
		}
		sites, err := cfg.siteList(addr)
		if err != nil {
			t.Fatalf("sites of a valid config: %v", err)
		}
		rules, err := devices.NewSites(sites)
		if err != nil {
			t.Fatalf("sites of a valid config: %v", err)
		}
		for _, d := range declared {
			if err := rules.Check(d); err != nil {
				t.Fatalf("declared device breaks the site rules: %v", err)
			}
		}
		// The quarantine's budget is one the store opens with.
		if q := int64(cfg.Quarantine.MaxSizeMB) << 20; q < store.MinQuarantineMaxBytes {
			t.Fatalf("quarantine.max_size_mb %d accepted, below the store's minimum", cfg.Quarantine.MaxSizeMB)
		}
		// The reserve a parsed config gives is usable: never below the
		// store's floor, a share within (0, 50] %.
		p, err := cfg.Storage.policy()
		if err != nil {
			t.Fatalf("parsed storage fails: %v", err)
		}
		if r := p.reserve(1 << 40); r < p.floor || (p.percent != 0 && !(p.percent > 0 && p.percent <= 50)) {
			t.Fatalf("storage %+v: reserve %d on 1 TiB", p, r)
		}
	})
}

func TestDeclaredDevicesAreClassifiedBySerial(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
adapters:
  - {dialect: victron, portal_id: c0619ab1234f}
  - {dialect: victron, portal_id: c0619ab19999}
  - {dialect: shelly}
devices:
  - {dialect: victron, serial: grid-30}
  - {dialect: victron, serial: battery-512, capacity_wh: 10000, limits: {soc_floor_pct: 20}}
  - {dialect: shelly, serial: "shellypro3em-ec6260890b50:em:0"}
`))
	if err != nil {
		t.Fatal(err)
	}
	var adapters []devices.Adapter
	for _, a := range cfg.Adapters {
		ad, err := devices.NewAdapter(a.devices())
		if err != nil {
			t.Fatal(err)
		}
		adapters = append(adapters, ad)
	}
	declared, err := cfg.declaredDevices("0xn", adapters)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind    gridmint.DeviceKind
		control bool
	}{{gridmint.KindMeter, false}, {gridmint.KindBattery, true}, {gridmint.KindMeter, false}}
	for i, d := range declared {
		hasCtl := slices.Contains(d.Capabilities, gridmint.CapBatteryCtl) || slices.Contains(d.Capabilities, gridmint.CapSwitch)
		if d.Kind != want[i].kind || hasCtl != want[i].control {
			t.Errorf("%s: kind %s, control %v; want %s, %v", d.ID, d.Kind, hasCtl, want[i].kind, want[i].control)
		}
	}
	if declared[1].Capacity != 10000 || declared[1].Limits.SoCFloor != 20 {
		t.Errorf("battery registry fields not carried: %+v", declared[1])
	}
}
