package node

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"github.com/ethereum/go-ethereum/common"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/chain"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/market"
	"github.com/gridmint/gridmint/node/openadr"
	"github.com/gridmint/gridmint/node/store"
	ma "github.com/multiformats/go-multiaddr"
	"go.yaml.in/yaml/v3"
)

// Config is the node's configuration, read from YAML by `gridmint run
// --config FILE`. Zero fields take the defaults documented on each field.
type Config struct {
	// DataDir holds the store, the node key and the simulator state.
	// Default "./gridmint-data".
	DataDir string `yaml:"data_dir"`
	// HTTPAddr is where the API and web page listen. Default
	// "127.0.0.1:8088".
	HTTPAddr string `yaml:"http_addr"`
	// Role is what the node does in the network: "home" (devices,
	// offers, claims; the default) or "utility" (requests and
	// reservations; no devices, so no adapters, devices, sites or MQTT
	// broker).
	Role Role `yaml:"role"`
	// AllowedHosts are the host names, besides loopback names
	// (localhost, *.localhost), IP addresses and this machine's host name
	// (and <hostname>.local), that the API answers as: a request for any
	// other name is refused with 421, so a web page cannot reach the API
	// by pointing its own name at the node (DNS rebinding). Entries are
	// "name", "*.domain", or "*" to answer every name (behind a proxy
	// that checks names itself).
	AllowedHosts []string       `yaml:"allowed_hosts"`
	MQTT         MQTTConfig     `yaml:"mqtt"`
	P2P          P2PConfig      `yaml:"p2p"`
	Identity     IdentityConfig `yaml:"identity"`
	Chain        ChainConfig    `yaml:"chain"`
	// Discover registers devices first seen in traffic. Default true.
	Discover *bool `yaml:"discover"`
	// MaxDevices caps the device registry, so a flood of invented topics
	// cannot grow it without bound. Default 10000.
	MaxDevices int `yaml:"max_devices"`
	// StaleAfter marks a device offline when nothing was heard from it
	// for this long. Default 10m (Tasmota's default TelePeriod is 5 min).
	StaleAfter time.Duration `yaml:"stale_after"`
	// Quarantine bounds what is kept of rejected inputs.
	Quarantine QuarantineConfig `yaml:"quarantine"`
	// MemoryLimitMB is a soft limit on the node process's memory, MB
	// (MiB), for the Go runtime (debug.SetMemoryLimit, as GOMEMLIMIT):
	// near it the garbage collector runs more often instead of letting
	// the heap grow, and freed pages go back to the kernel at once. It is
	// process-wide. 0 (the default) is automatic (internal/memgov): after
	// every collection the limit is set to 1.25 times the live heap plus
	// the runtime's other memory plus 8 MiB, at least 64 MiB, unless
	// GOMEMLIMIT is set, which then stays in force. -1 sets none.
	MemoryLimitMB int `yaml:"memory_limit_mb"`
	// Adapters: one per firmware installation on the broker.
	Adapters []AdapterConfig `yaml:"adapters"`
	// Devices declared up front, e.g. to give a nameplate.
	Devices []DeviceConfig `yaml:"devices"`
	// Sites are the grid connections the devices are behind, each with
	// its one meter of record.
	Sites []SiteConfig `yaml:"sites"`
	// HomeAssistant discovery.
	HomeAssistant HomeAssistantConfig `yaml:"home_assistant"`
	// APITokenFile holds the bearer token that API calls which change
	// anything (setpoints, device edits) must present. Default
	// <data_dir>/api-token, created with a random token on first start.
	APITokenFile string `yaml:"api_token_file"`
	// Storage keeps the data dir's filesystem from running full.
	Storage StorageConfig `yaml:"storage"`
	// Claims times the certificate claim cycle (claims.go).
	Claims ClaimsConfig `yaml:"claims"`
	// OpenADR serves an OpenADR 3.1.0 VTN at /openadr3/3.1.0/
	// (package node/openadr); off unless enabled.
	OpenADR openadr.Config `yaml:"openadr"`
	// Market is the flexibility market (node/market).
	Market market.Config `yaml:"market"`
}

// StorageConfig is the disk reserve. Below it the node stores nothing
// new (telemetry stays unacknowledged at the broker, gossip, device edits,
// setpoints and chain submissions are refused) and says so at /healthz;
// it resumes by itself once there is room again. See diskGuard.
type StorageConfig struct {
	// MinFree is the reserve: the free space the node leaves on the
	// filesystem of data_dir. A size with its unit ("256MiB", "1GiB",
	// "500MB"; a bare number is bytes) or a share of the filesystem's size
	// ("5%", at most 50%); never less than 64MiB, what the store itself
	// may need to flush and compact (store.MinFree). Default 256MiB.
	MinFree string `yaml:"min_free"`
	// ResumeMargin is how far above MinFree the free space must climb
	// before a paused node resumes, so that it does not stop and start
	// on the edge. A size; default 32MiB.
	ResumeMargin string `yaml:"resume_margin"`
	// BlockCacheMB is the store's cache of decompressed table blocks, MB
	// (MiB), 1 to 1024; default 16 (badger's own default is 256). Reads
	// of readings and counter states hit it; ingest writes do not.
	BlockCacheMB int `yaml:"block_cache_mb"`
	// IndexCacheMB bounds the store's memory for table indexes and bloom
	// filters, MB, 1 to 1024; default 8. Past it they are read from disk.
	IndexCacheMB int `yaml:"index_cache_mb"`
}

// QuarantineConfig bounds the quarantine, where rejected inputs are kept
// with their reason and (the first 4 KiB of) their raw bytes for 30 days.
type QuarantineConfig struct {
	// MaxSizeMB is its size budget, MB (MiB): beyond it the oldest
	// rejections are deleted, and counted in
	// gridmint_quarantine_dropped_total{cause="size_cap"}. At least 1;
	// default 64.
	MaxSizeMB int `yaml:"max_size_mb"`
}

// MQTTConfig is the broker connection.
type MQTTConfig struct {
	// Broker URL: tcp://, mqtt://, ssl://, tls://, ws:// or wss://
	// host:port. Default tcp://127.0.0.1:1883.
	Broker string `yaml:"broker"`
	// ClientID must be stable: the broker keeps unacknowledged messages
	// in the session of this ID while the node is down. Default
	// "gridmint-<first 8 hex digits of the node address>".
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	// Password, or better PasswordFile (its first line), is the broker
	// login's password. Credentials written into Broker as
	// user:password@ are taken from there into these fields at start and
	// never shown: the API, the page and the log show the broker's URL
	// without them.
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`

	credentialsInURL bool // Broker held user:password@ (a warning at start)
}

// IdentityConfig is where the node key is and how it is unlocked.
type IdentityConfig struct {
	// Keystore is the directory of the node's encrypted key, in
	// go-ethereum's keystore format (geth and clef read it). Default
	// <data_dir>/keystore. `gridmint init` creates the key.
	Keystore string `yaml:"keystore"`
	// PassphraseFile holds the passphrase on its first line. Without it
	// the passphrase comes from GRIDMINT_PASSPHRASE or a prompt.
	PassphraseFile string `yaml:"passphrase_file"`
}

// P2PConfig is the libp2p host. What it exposes by default: TCP and QUIC
// on port 4001 of every interface, because peers must be able to reach
// the node; every connection is authenticated and encrypted (Noise), and
// all that is served over it is signed public gossip (offers, requests,
// claims, attestations, awards, which name devices by their keys, never
// their serials) and its catch-up. Peers learn the node's peer ID and
// listen addresses (LAN ones too), as any libp2p peer does.
type P2PConfig struct {
	// Listen multiaddrs. Default /ip4/0.0.0.0/tcp/4001 and
	// /ip4/0.0.0.0/udp/4001/quic-v1.
	Listen []string `yaml:"listen"`
	// Bootstrap peers, multiaddrs ending in /p2p/<peer ID>: the node
	// connects to them at start and whenever it has lost them, and finds
	// the rest of the network through them and the DHT. Without any (and
	// without mdns) the node finds no peers by itself.
	Bootstrap []string `yaml:"bootstrap"`
	// MDNS finds peers on the local network, and announces this node
	// (peer ID and addresses) to every device on it: a household LAN
	// then tells anyone on it that the home runs gridmint. Default false
	// (`gridmint demo` turns it on).
	MDNS *bool `yaml:"mdns"`
	// DHT is the Kademlia DHT mode: auto (server once reachable from the
	// internet), server, client or off. Default auto.
	DHT string `yaml:"dht"`
}

// ChainConfig is the settlement chain. Its chain ID also scopes gossip:
// every message is EIP-712 typed data signed for it, so nodes of
// different chains neither accept each other's messages nor meet.
type ChainConfig struct {
	// RPC is the JSON-RPC URL (http, ws or ipc) of any EVM node. Empty
	// runs the embedded chain in <data_dir>/chain, which deploys the
	// gridmint contracts at its first start.
	RPC string `yaml:"rpc"`
	// Contracts are the deployed contracts; required with rpc.
	Contracts ContractsConfig `yaml:"contracts"`
	// Confirmations is how far behind the head events are indexed, so a
	// reorg cannot undo what the API shows. Default 0 on the embedded
	// chain (it never reorgs), 12 with rpc.
	Confirmations *uint64 `yaml:"confirmations"`
	// EmbeddedCacheMB is the embedded chain's memory for its caches
	// (database and state trie), MB: at least 16, default 32 (see
	// chain.DefaultSimulatedCacheMB). Set only without rpc.
	EmbeddedCacheMB int `yaml:"embedded_cache_mb"`
	// ChainID is the network's chain id. With rpc, a node whose endpoint
	// answers another id refuses to start: it would sign for, and gossip
	// on, another network. The embedded chain's id is 1337. 0: not
	// checked.
	ChainID uint64 `yaml:"chain_id"`

	// The embedded chain as a network's shared chain (gridmint demo
	// --nodes): set only without rpc.

	// ServeRPC serves the embedded chain's full JSON-RPC (reads and
	// eth_sendRawTransaction) on this loopback host:port, so other nodes
	// use it as their chain.rpc. Loopback only: it accepts transactions
	// from anyone who reaches it. Empty: not served (the API's read-only
	// /api/v1/chain/rpc is always there).
	ServeRPC string `yaml:"serve_rpc"`
	// EmbeddedFund are accounts (0x addresses) the embedded chain's
	// genesis funds with chain.SimulatedFunds each, besides this node's.
	// The genesis is made at the chain's first start: the list must stay
	// the same at every restart.
	EmbeddedFund []string `yaml:"embedded_fund"`
	// Attestors and Threshold are the attestor registry the embedded
	// chain deploys at its first start: k-of-n node addresses. Default
	// this node alone, k = 1. Later changes take the registry owner's
	// transactions, not a config edit.
	Attestors []string `yaml:"attestors"`
	Threshold uint64   `yaml:"threshold"`
}

// Role is a node's part in the network.
type Role string

// Roles.
const (
	// RoleHome reads its devices, offers their flexibility and claims
	// certificates for their energy.
	RoleHome Role = "home"
	// RoleUtility posts flexibility requests and reserves awards; it has
	// no devices.
	RoleUtility Role = "utility"
)

// ContractsConfig are the addresses of the gridmint contracts.
type ContractsConfig struct {
	Registry string `yaml:"registry"`
	REC      string `yaml:"rec"`
	FLEX     string `yaml:"flex"`
	// DeployBlock is where the indexer and the audit start reading.
	DeployBlock uint64 `yaml:"deploy_block"`
}

// AdapterConfig selects a firmware dialect; see devices.AdapterConfig.
type AdapterConfig struct {
	Dialect   string              `yaml:"dialect"`
	BaseTopic string              `yaml:"base_topic"`
	Kind      gridmint.DeviceKind `yaml:"kind"`
	// PortalID is a Victron GX's portal ID (victron only).
	PortalID string `yaml:"portal_id"`
	// KeepAlive sends the keep-alives without which a Victron GX stops
	// publishing (victron only). Default true; turn it off only when
	// another client on the broker keeps the GX alive.
	KeepAlive *bool `yaml:"keep_alive"`
	// Inverters maps AhoyDTU inverter names to their setup-page index
	// (ahoydtu only; needed to send limits).
	Inverters map[string]int `yaml:"inverters"`
	// Mappings configure the generic adapter (generic only).
	Mappings []devices.Mapping `yaml:"mappings"`
	// MaxDevices caps the devices the adapter keeps state for (0: the
	// dialect's default, see devices.AdapterConfig.MaxDevices).
	MaxDevices int `yaml:"max_devices"`
}

// DeviceConfig declares one device.
type DeviceConfig struct {
	Dialect string              `yaml:"dialect"`
	Serial  string              `yaml:"serial"`
	Kind    gridmint.DeviceKind `yaml:"kind"`
	Name    string              `yaml:"name"`
	// NameplateW is the rated AC power in W; it bounds plausible counter
	// growth.
	NameplateW float64 `yaml:"nameplate_w"`
	// CapacityWh is a battery's usable capacity, Wh.
	CapacityWh int64 `yaml:"capacity_wh"`
	// Location, grid zone and owner address tie the device to markets and
	// certificates.
	Location *gridmint.Location `yaml:"location"`
	Zone     string             `yaml:"zone"`
	Owner    string             `yaml:"owner"`
	// Limits are the device's safety limits; setpoints outside are refused.
	Limits SafetyLimitsConfig `yaml:"limits"`
	// OptOut refuses every market setpoint to this device.
	OptOut bool `yaml:"opt_out"`
	// Site is the id of the site (sites[].id) the device is behind.
	Site string `yaml:"site"`
}

// SiteConfig is one site: a grid connection whose devices are summed.
type SiteConfig struct {
	// ID names the site in the API (/api/v1/sites/<id>) and in
	// devices[].site: letters, digits, '-', '_', '.'. Required.
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// GridMeter is the meter of record, the one meter whose import and
	// export are the site's: <dialect>/<serial> or a full device id
	// <node address>/<dialect>/<serial>. It must be a meter (declared
	// with kind meter, or one its adapter classifies as a meter) and
	// belongs to this site; when devices does not declare it, naming it
	// here declares it. Another meter on the same connection is shown
	// but never summed.
	GridMeter string `yaml:"grid_meter"`
	// Zone and Location are the defaults of the site's devices that set
	// none.
	Zone     string             `yaml:"zone"`
	Location *gridmint.Location `yaml:"location"`
}

// SafetyLimitsConfig is gridmint.SafetyLimits in YAML.
type SafetyLimitsConfig struct {
	MinCurrentA   float64 `yaml:"min_current_a"`
	MaxCurrentA   float64 `yaml:"max_current_a"`
	SoCFloorPct   float64 `yaml:"soc_floor_pct"`
	MaxChargeW    float64 `yaml:"max_charge_w"`
	MaxDischargeW float64 `yaml:"max_discharge_w"`
	ExportLimitW  float64 `yaml:"export_limit_w"`
}

func (l SafetyLimitsConfig) limits() gridmint.SafetyLimits {
	return gridmint.SafetyLimits{
		MinCurrent: l.MinCurrentA, MaxCurrent: l.MaxCurrentA, SoCFloor: l.SoCFloorPct,
		MaxCharge: gridmint.W(l.MaxChargeW), MaxDischarge: gridmint.W(l.MaxDischargeW), ExportLimit: gridmint.W(l.ExportLimitW),
	}
}

// HomeAssistantConfig is Home Assistant MQTT discovery.
type HomeAssistantConfig struct {
	// Enabled publishes every device's power, energy and state of charge
	// as HA entities on the broker. Default true.
	Enabled *bool `yaml:"enabled"`
	// DiscoveryPrefix is HA's discovery prefix, default "homeassistant".
	DiscoveryPrefix string `yaml:"discovery_prefix"`
	// StatePrefix roots the node's state topics, default "gridmint".
	StatePrefix string `yaml:"state_prefix"`
}

// Defaults.
const (
	DefaultDataDir    = "./gridmint-data"
	DefaultHTTPAddr   = "127.0.0.1:8088"
	DefaultBroker     = "tcp://127.0.0.1:1883"
	DefaultStaleAfter = 10 * time.Minute
	DefaultMaxDevices = 10_000
	// DefaultMinFree and DefaultResumeMargin are the storage defaults: the
	// reserve leaves room for badger's compactions of a store of several
	// GB (see node/store's MinFree).
	DefaultMinFree      = "256MiB"
	DefaultResumeMargin = "32MiB"
)

// Bounds of chain.embedded_cache_mb, MB: LevelDB's least database cache,
// and more than the embedded chain's small state can ever use.
const (
	minEmbeddedCacheMB = 16
	maxEmbeddedCacheMB = 4096
)

// DefaultQuarantineMaxSizeMB is quarantine.max_size_mb's default (see
// store.DefaultQuarantineMaxBytes); maxQuarantineMaxSizeMB bounds it at
// 1 TiB, far beyond any disk of a home node.
const (
	DefaultQuarantineMaxSizeMB = store.DefaultQuarantineMaxBytes >> 20
	maxQuarantineMaxSizeMB     = 1 << 20
)

// maxStoreCacheMB bounds storage.block_cache_mb and index_cache_mb.
const maxStoreCacheMB = 1024

// minMemoryLimitMB is the least fixed memory_limit_mb accepted: the Go
// heap of an idle node with its embedded chain is a few tens of MB, and a
// fixed limit close to it would keep the garbage collector running (the
// automatic limit follows the live heap instead).
const minMemoryLimitMB = 128

// DefaultP2PListen are the libp2p listen addresses of `gridmint run`.
var DefaultP2PListen = []string{"/ip4/0.0.0.0/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}

// maxConfigBytes bounds a config file: a home's is a few KiB, but one
// node reading a fleet declares every device (2,000 homes: 1.3 MiB).
const maxConfigBytes = 16 << 20

// LoadConfig reads and validates a YAML config file.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes YAML strictly (unknown fields are errors), applies
// defaults and validates. Errors name the offending field, e.g.
// "config: devices[1].kind: unknown device kind "pv"".
func ParseConfig(data []byte) (Config, error) {
	if len(data) > maxConfigBytes {
		return Config{}, gridmint.Errorf(gridmint.EInvalid, "config: larger than %d bytes", maxConfigBytes)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, gridmint.Errorf(gridmint.EInvalid, "config: %s", describeYAMLError(data, err))
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// describeYAMLError rewrites yaml's "line N: cannot unmarshal ..." type
// errors to name the field at that line, e.g. "devices[1].nameplate_w
// (line 9): cannot unmarshal !!str `big` into float64".
func describeYAMLError(data []byte, err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return err.Error()
	}
	scalars := map[int][]yamlScalar{}
	yamlPaths(&root, "", scalars)
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		msgs[i] = e
		var line int
		if _, scanErr := fmt.Sscanf(e, "line %d:", &line); scanErr != nil || len(scalars[line]) == 0 {
			continue
		}
		// Several fields may share a line (flow style): pick the one whose
		// value the message quotes.
		field := scalars[line][0].path
		for _, sc := range scalars[line] {
			if strings.Contains(e, "`"+sc.value+"`") {
				field = sc.path
				break
			}
		}
		msgs[i] = field + " (" + e + ")"
	}
	return strings.Join(msgs, "; ")
}

type yamlScalar struct{ path, value string }

// yamlPaths records every scalar value with its dotted path, by line.
func yamlPaths(n *yaml.Node, path string, out map[int][]yamlScalar) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			yamlPaths(c, path, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			if path != "" {
				key = path + "." + key
			}
			yamlPaths(n.Content[i+1], key, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			yamlPaths(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	default:
		out[n.Line] = append(out[n.Line], yamlScalar{path, n.Value})
	}
}

func (c *Config) applyDefaults() {
	c.Claims.applyDefaults()
	c.Market.ApplyDefaults()
	if c.Role == "" {
		c.Role = RoleHome
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.MQTT.Broker == "" {
		c.MQTT.Broker = DefaultBroker
	}
	if u, err := url.Parse(c.MQTT.Broker); err == nil && u.User != nil &&
		c.MQTT.Username == "" && c.MQTT.Password == "" && c.MQTT.PasswordFile == "" {
		c.MQTT.Username = u.User.Username()
		c.MQTT.Password, _ = u.User.Password()
		u.User = nil
		c.MQTT.Broker = u.String()
		c.MQTT.credentialsInURL = true
	}
	if c.P2P.Listen == nil {
		c.P2P.Listen = DefaultP2PListen
	}
	if c.P2P.MDNS == nil {
		f := false
		c.P2P.MDNS = &f
	}
	if c.P2P.DHT == "" {
		c.P2P.DHT = "auto"
	}
	if c.Chain.Confirmations == nil {
		var n uint64
		if c.Chain.RPC != "" {
			n = 12
		}
		c.Chain.Confirmations = &n
	}
	if c.Discover == nil {
		t := true
		c.Discover = &t
	}
	if c.StaleAfter == 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.Quarantine.MaxSizeMB == 0 {
		c.Quarantine.MaxSizeMB = DefaultQuarantineMaxSizeMB
	}
	if c.MaxDevices == 0 {
		c.MaxDevices = DefaultMaxDevices
	}
	if c.HomeAssistant.Enabled == nil {
		t := true
		c.HomeAssistant.Enabled = &t
	}
	if c.APITokenFile == "" {
		c.APITokenFile = filepath.Join(c.DataDir, "api-token")
	}
	if c.Identity.Keystore == "" {
		c.Identity.Keystore = filepath.Join(c.DataDir, "keystore")
	}
	if c.Storage.MinFree == "" {
		c.Storage.MinFree = DefaultMinFree
	}
	if c.Storage.ResumeMargin == "" {
		c.Storage.ResumeMargin = DefaultResumeMargin
	}
}

func fieldErr(field, format string, args ...any) error {
	return gridmint.Errorf(gridmint.EInvalid, "config: %s: %s", field, fmt.Sprintf(format, args...))
}

// Validate checks every field and returns the first problem, naming it.
func (c *Config) Validate() error {
	if err := c.OpenADR.Validate(); err != nil {
		return err
	}
	if err := c.Claims.validate(); err != nil {
		return err
	}
	if err := c.Market.Validate(); err != nil {
		return gridmint.Errorf(gridmint.EInvalid, "config: %v", err)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fieldErr("http_addr", "%q: want host:port", c.HTTPAddr)
	}
	if err := validateBrokerURL(c.MQTT.Broker); err != nil {
		return fieldErr("mqtt.broker", "%v", err)
	}
	if u, _ := url.Parse(c.MQTT.Broker); u.User != nil {
		return fieldErr("mqtt.broker", "credentials both in the URL and in mqtt.username, password or password_file; keep them in those fields only")
	}
	if c.MQTT.Password != "" && c.MQTT.PasswordFile != "" {
		return fieldErr("mqtt.password_file", "set password or password_file, not both")
	}
	for i, h := range c.AllowedHosts {
		if strings.TrimSpace(h) == "" || strings.ContainsAny(h, " /@") {
			return fieldErr(fmt.Sprintf("allowed_hosts[%d]", i), "%q: want a host name, *.domain or *", h)
		}
	}
	for i, l := range c.P2P.Listen {
		if _, err := ma.NewMultiaddr(l); err != nil {
			return fieldErr(fmt.Sprintf("p2p.listen[%d]", i), "%q: %v", l, err)
		}
	}
	for i, b := range c.P2P.Bootstrap {
		m, err := ma.NewMultiaddr(b)
		if err != nil {
			return fieldErr(fmt.Sprintf("p2p.bootstrap[%d]", i), "%q: %v", b, err)
		}
		if _, err := m.ValueForProtocol(ma.P_P2P); err != nil {
			return fieldErr(fmt.Sprintf("p2p.bootstrap[%d]", i), "%q: want an address ending in /p2p/<peer ID>", b)
		}
	}
	if err := c.Chain.validate(); err != nil {
		return err
	}
	switch c.P2P.DHT {
	case "auto", "server", "client", "off":
	default:
		return fieldErr("p2p.dht", "%q: want auto, server, client or off", c.P2P.DHT)
	}
	if q := c.Quarantine.MaxSizeMB; q < 1 || q > maxQuarantineMaxSizeMB {
		return fieldErr("quarantine.max_size_mb", "%d: want 1 to %d MB", q, maxQuarantineMaxSizeMB)
	}
	if c.MemoryLimitMB < -1 || c.MemoryLimitMB > 0 && c.MemoryLimitMB < minMemoryLimitMB {
		return fieldErr("memory_limit_mb", "%d: want 0 (automatic), -1 (none) or at least %d MB", c.MemoryLimitMB, minMemoryLimitMB)
	}
	if c.DataDir == "" {
		return fieldErr("data_dir", "empty")
	}
	if c.StaleAfter < time.Second {
		return fieldErr("stale_after", "%v: want a duration of at least 1s, with its unit (e.g. 10m)", c.StaleAfter)
	}
	if c.MaxDevices < 0 {
		return fieldErr("max_devices", "%d is negative", c.MaxDevices)
	}
	if _, err := c.Storage.policy(); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		mb   int
	}{{"storage.block_cache_mb", c.Storage.BlockCacheMB}, {"storage.index_cache_mb", c.Storage.IndexCacheMB}} {
		if s.mb != 0 && (s.mb < 1 || s.mb > maxStoreCacheMB) {
			return fieldErr(s.name, "%d: want 1 to %d MB", s.mb, maxStoreCacheMB)
		}
	}
	switch c.Role {
	case RoleHome:
		if len(c.Adapters) == 0 {
			return fieldErr("adapters", "none configured; add at least one, e.g. {dialect: opendtu}")
		}
	case RoleUtility:
		// A utility buys flexibility: it reads no devices of its own.
		for _, f := range []struct {
			name string
			n    int
		}{{"adapters", len(c.Adapters)}, {"devices", len(c.Devices)}, {"sites", len(c.Sites)}} {
			if f.n > 0 {
				return fieldErr(f.name, "a node with role utility has no devices; remove %s, or make it role: home", f.name)
			}
		}
		return nil
	default:
		return fieldErr("role", "%q: want home or utility", c.Role)
	}
	seen := map[string]int{}
	adapters := map[string]devices.Adapter{}
	filters := map[string]int{}
	var built []devices.Adapter
	for i, a := range c.Adapters {
		field := fmt.Sprintf("adapters[%d]", i)
		switch {
		case !slices.Contains(devices.Dialects(), a.Dialect):
			return fieldErr(field+".dialect", "unknown dialect %q (known: %s)", a.Dialect, strings.Join(devices.Dialects(), ", "))
		case a.Kind != "" && !a.Kind.Valid():
			return fieldErr(field+".kind", "unknown device kind %q (want one of %v)", a.Kind, gridmint.DeviceKinds)
		case a.MaxDevices < 0:
			return fieldErr(field+".max_devices", "%d is negative", a.MaxDevices)
		}
		for _, opt := range []struct {
			name, dialect string
			set           bool
		}{
			{"portal_id", "victron", a.PortalID != ""},
			{"keep_alive", "victron", a.KeepAlive != nil},
			{"inverters", "ahoydtu", a.Inverters != nil},
			{"mappings", "generic", a.Mappings != nil},
		} {
			if opt.set && a.Dialect != opt.dialect {
				return fieldErr(field+"."+opt.name, "only for dialect %s, not %s", opt.dialect, a.Dialect)
			}
		}
		ad, err := devices.NewAdapter(a.devices())
		if err != nil {
			// The adapter's message names its setting (base topic, portal
			// id, mappings[i].unit, ...).
			return fieldErr(field, "%s", strings.TrimPrefix(err.Error(), gridmint.EInvalid+": "))
		}
		key := fmt.Sprintf("%s\x00%s\x00%s\x00%v", a.Dialect, strings.TrimSuffix(a.BaseTopic, "/"), a.PortalID, a.Mappings)
		if j, dup := seen[key]; dup {
			return fieldErr(field, "same dialect, base_topic and portal_id as adapters[%d]", j)
		}
		seen[key] = i
		for _, f := range ad.Subscriptions() {
			if j, dup := filters[f]; dup {
				return fieldErr(field, "subscribes to %s like adapters[%d]: two adapters would fight over one topic", f, j)
			}
			filters[f] = i
		}
		if _, ok := adapters[a.Dialect]; !ok {
			adapters[a.Dialect] = ad
		}
		built = append(built, ad)
	}
	if err := devices.CheckRoutes(built); err != nil {
		return fieldErr("adapters", "%s", strings.TrimPrefix(err.Error(), gridmint.EInvalid+": "))
	}
	devs := map[string]int{}
	for i, d := range c.Devices {
		field := fmt.Sprintf("devices[%d]", i)
		switch {
		case d.Dialect == "":
			return fieldErr(field+".dialect", "missing")
		case adapters[d.Dialect] == nil:
			return fieldErr(field+".dialect", "%q has no entry in adapters", d.Dialect)
		case d.Serial == "" || strings.ContainsAny(d.Serial, "/+#") || len(d.Serial) > 128:
			return fieldErr(field+".serial", "%q: want 1-128 characters without / + #", d.Serial)
		case devices.CheckSerial(adapters[d.Dialect], d.Serial) != nil:
			return fieldErr(field+".serial", "%v", devices.CheckSerial(adapters[d.Dialect], d.Serial))
		case d.Kind != "" && !d.Kind.Valid():
			return fieldErr(field+".kind", "unknown device kind %q (want one of %v)", d.Kind, gridmint.DeviceKinds)
		case d.NameplateW < 0 || d.NameplateW > 1e6 || d.NameplateW != d.NameplateW:
			return fieldErr(field+".nameplate_w", "%v: want 0 to 1000000 W", d.NameplateW)
		}
		probe := gridmint.Device{
			ID: gridmint.DeviceID("0x0/" + d.Dialect + "/" + d.Serial), Kind: cmp.Or(d.Kind, declaredKind(adapters[d.Dialect], d.Serial)),
			Dialect: d.Dialect, Serial: d.Serial, Nameplate: gridmint.W(d.NameplateW), Capacity: gridmint.Wh(d.CapacityWh),
			Location: d.Location, Zone: d.Zone, Owner: d.Owner, Limits: d.Limits.limits(),
		}
		if err := probe.Validate(); err != nil {
			msg := strings.TrimPrefix(err.Error(), gridmint.EInvalid+": ")
			return fieldErr(field, "%s", strings.TrimPrefix(msg, "device "+string(probe.ID)+": "))
		}
		key := d.Dialect + "\x00" + d.Serial
		if j, dup := devs[key]; dup {
			return fieldErr(field, "same dialect and serial as devices[%d]", j)
		}
		devs[key] = i
	}
	return c.validateSites(adapters)
}

// validateSites checks the sites, the devices' site references and each
// site's meter of record: a meter (as declared, or as its adapter
// classifies its serial), of no other site, not declared in another site.
func (c *Config) validateSites(adapters map[string]devices.Adapter) error {
	ids := map[gridmint.SiteID]int{}
	for i, sc := range c.Sites {
		field := fmt.Sprintf("sites[%d]", i)
		id := gridmint.SiteID(sc.ID)
		if sc.ID == "" {
			return fieldErr(field+".id", "missing")
		}
		if err := id.Validate(); err != nil {
			return fieldErr(field+".id", "%s", errMessage(err))
		}
		if j, dup := ids[id]; dup {
			return fieldErr(field+".id", "%q is also the id of sites[%d]", sc.ID, j)
		}
		ids[id] = i
		site := gridmint.Site{ID: id, Name: sc.Name, Zone: sc.Zone, Location: sc.Location}
		if err := site.Validate(); err != nil {
			return fieldErr(field, "%s", strings.TrimPrefix(errMessage(err), "site "+sc.ID+": "))
		}
	}
	for i, d := range c.Devices {
		if _, ok := ids[gridmint.SiteID(d.Site)]; d.Site != "" && !ok {
			return fieldErr(fmt.Sprintf("devices[%d].site", i), "unknown site %q (%s)", d.Site, c.siteIDs())
		}
	}
	meters := map[string]int{}
	for i, sc := range c.Sites {
		if sc.GridMeter == "" {
			continue
		}
		field := fmt.Sprintf("sites[%d].grid_meter", i)
		_, dialect, serial, err := parseMeterRef(sc.GridMeter)
		if err != nil {
			return fieldErr(field, "%v", err)
		}
		a := adapters[dialect]
		switch {
		case a == nil:
			return fieldErr(field, "%q: dialect %q has no entry in adapters", sc.GridMeter, dialect)
		case devices.CheckSerial(a, serial) != nil:
			return fieldErr(field, "%q: %s", sc.GridMeter, errMessage(devices.CheckSerial(a, serial)))
		}
		kind, declared := declaredKind(a, serial), -1
		for j, d := range c.Devices {
			if d.Dialect == dialect && d.Serial == serial {
				kind, declared = cmp.Or(d.Kind, kind), j
				break
			}
		}
		key := dialect + "/" + serial
		if kind != gridmint.KindMeter {
			how := "its adapter takes it for"
			if declared >= 0 {
				how = fmt.Sprintf("devices[%d] declares", declared)
			}
			return fieldErr(field, "%s is not a meter (%s a %s): a site's grid import and export come from a grid meter", key, how, kind)
		}
		if j, dup := meters[key]; dup {
			return fieldErr(field, "%s is already the meter of record of sites[%d] (%s): one meter measures one grid connection", key, j, c.Sites[j].ID)
		}
		if declared >= 0 && c.Devices[declared].Site != "" && c.Devices[declared].Site != sc.ID {
			return fieldErr(field, "%s is in site %q (devices[%d].site): a meter of record belongs to its own site", key, c.Devices[declared].Site, declared)
		}
		meters[key] = i
	}
	return nil
}

func (c *Config) siteIDs() string {
	if len(c.Sites) == 0 {
		return "no sites are configured"
	}
	ids := make([]string, len(c.Sites))
	for i, s := range c.Sites {
		ids[i] = s.ID
	}
	return "sites: " + strings.Join(ids, ", ")
}

// parseMeterRef splits a grid_meter reference, <dialect>/<serial> or
// <node address>/<dialect>/<serial>; node is "" in the short form.
func parseMeterRef(ref string) (node, dialect, serial string, err error) {
	parts := strings.Split(ref, "/")
	switch {
	case len(parts) == 2:
		dialect, serial = parts[0], parts[1]
	case len(parts) == 3 && common.IsHexAddress(parts[0]) && strings.HasPrefix(parts[0], "0x"):
		node, dialect, serial = parts[0], parts[1], parts[2]
	default:
		return "", "", "", fmt.Errorf("%q: want <dialect>/<serial> or a device id <node address>/<dialect>/<serial>", ref)
	}
	if dialect == "" || serial == "" || strings.ContainsAny(serial, "+#") || len(serial) > 128 {
		return "", "", "", fmt.Errorf("%q: want <dialect>/<serial> with a serial of 1-128 characters without / + #", ref)
	}
	return node, dialect, serial, nil
}

// errMessage is a gridmint error's message without its code.
func errMessage(err error) string {
	var e *gridmint.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func (a AdapterConfig) devices() devices.AdapterConfig {
	return devices.AdapterConfig{Dialect: a.Dialect, BaseTopic: a.BaseTopic, Kind: a.Kind,
		PortalID: a.PortalID, Inverters: a.Inverters, Mappings: a.Mappings, MaxDevices: a.MaxDevices}
}

// declaredKind is the kind a declared device gets without a kind in the
// configuration: what the adapter says of its serial, else its default.
func declaredKind(a devices.Adapter, serial string) gridmint.DeviceKind {
	if c, ok := a.(devices.Classifier); ok {
		if k, _, ok := c.Classify(serial); ok {
			return k
		}
	}
	return a.DefaultKind()
}

func validateBrokerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%s does not parse as a URL", RedactURL(s))
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("%q: scheme %q, want tcp, mqtt, ssl, tls, mqtts, ws or wss", RedactURL(s), u.Scheme)
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return fmt.Errorf("%q: want scheme://host:port", RedactURL(s))
	}
	return nil
}

// RedactURL is s without its user information (user:password@), for
// logs, errors, the API and the page. What does not parse as a URL is
// hidden whole: it may hold a password in a shape url.Parse rejects.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse, hidden)"
	}
	if u.User == nil {
		return s
	}
	u.User = nil
	return u.String()
}

// declaredDevices turns the config's devices into registry entries of
// node address addr. Kind defaults to the adapter's default kind. A
// site's meter of record is in its site, and declared by naming it when
// devices does not; a site's devices without a zone or location take
// the site's.
func (c *Config) declaredDevices(addr string, adapters []devices.Adapter) ([]gridmint.Device, error) {
	byDialect := map[string]devices.Adapter{}
	for _, a := range adapters {
		if _, ok := byDialect[a.Dialect()]; !ok {
			byDialect[a.Dialect()] = a
		}
	}
	meterOf := map[string]string{}
	list := slices.Clone(c.Devices)
	fields := make([]string, len(list))
	for i := range list {
		fields[i] = fmt.Sprintf("devices[%d]", i)
	}
	for i, sc := range c.Sites {
		if sc.GridMeter == "" {
			continue
		}
		_, dialect, serial, err := parseMeterRef(sc.GridMeter)
		if err != nil {
			return nil, fieldErr(fmt.Sprintf("sites[%d].grid_meter", i), "%v", err)
		}
		meterOf[dialect+"\x00"+serial] = sc.ID
		if !slices.ContainsFunc(c.Devices, func(d DeviceConfig) bool { return d.Dialect == dialect && d.Serial == serial }) {
			list = append(list, DeviceConfig{Dialect: dialect, Serial: serial, Site: sc.ID})
			fields = append(fields, fmt.Sprintf("sites[%d].grid_meter", i))
		}
	}
	sites, err := c.siteList(addr)
	if err != nil {
		return nil, err
	}
	siteRules, err := devices.NewSites(sites)
	if err != nil {
		return nil, fieldErr("sites", "%s", errMessage(err))
	}
	out := make([]gridmint.Device, 0, len(list))
	for i, d := range list {
		a := byDialect[d.Dialect]
		id, err := gridmint.NewDeviceID(addr, d.Dialect, d.Serial)
		if err != nil {
			return nil, fieldErr(fields[i], "%v", err)
		}
		kind, caps := cmp.Or(d.Kind, declaredKind(a, d.Serial)), devices.Capabilities(a)
		if c, ok := a.(devices.Classifier); ok {
			if _, cc, ok := c.Classify(d.Serial); ok {
				caps = cc
			}
		}
		dev := gridmint.Device{
			ID: id, Kind: kind, Dialect: d.Dialect, Serial: d.Serial, Name: d.Name,
			Capabilities: caps, Nameplate: gridmint.W(d.NameplateW),
			Capacity: gridmint.Wh(d.CapacityWh), Location: d.Location, Zone: d.Zone, Owner: d.Owner,
			Limits: d.Limits.limits(), OptOut: d.OptOut, Site: gridmint.SiteID(cmp.Or(d.Site, meterOf[d.Dialect+"\x00"+d.Serial])),
		}
		dev = siteRules.WithDefaults(dev)
		if err := dev.Validate(); err != nil {
			return nil, fieldErr(fields[i], "%s", strings.TrimPrefix(err.Error(), gridmint.EInvalid+": "))
		}
		if err := siteRules.Check(dev); err != nil {
			return nil, fieldErr(fields[i], "%s", errMessage(err))
		}
		out = append(out, dev)
	}
	return out, nil
}

// siteList returns the configured sites of node address addr, their
// meters of record as device ids. A grid_meter given as a full device id
// must be one of this node's.
func (c *Config) siteList(addr string) ([]gridmint.Site, error) {
	out := make([]gridmint.Site, 0, len(c.Sites))
	for i, sc := range c.Sites {
		site := gridmint.Site{ID: gridmint.SiteID(sc.ID), Name: sc.Name, Zone: sc.Zone, Location: sc.Location}
		if sc.GridMeter != "" {
			field := fmt.Sprintf("sites[%d].grid_meter", i)
			node, dialect, serial, err := parseMeterRef(sc.GridMeter)
			if err != nil {
				return nil, fieldErr(field, "%v", err)
			}
			if node != "" && !strings.EqualFold(node, addr) {
				return nil, fieldErr(field, "%q is a device of node %s; this node is %s (or write <dialect>/<serial>)", sc.GridMeter, node, addr)
			}
			if site.GridMeter, err = gridmint.NewDeviceID(addr, dialect, serial); err != nil {
				return nil, fieldErr(field, "%s", errMessage(err))
			}
		}
		out = append(out, site)
	}
	return out, nil
}

func (c ChainConfig) validate() error {
	if c.RPC == "" {
		if c.Contracts != (ContractsConfig{}) {
			return fieldErr("chain.contracts", "set only with chain.rpc: the embedded chain deploys its own")
		}
		if c.EmbeddedCacheMB != 0 && (c.EmbeddedCacheMB < minEmbeddedCacheMB || c.EmbeddedCacheMB > maxEmbeddedCacheMB) {
			return fieldErr("chain.embedded_cache_mb", "%d: want %d to %d MB", c.EmbeddedCacheMB, minEmbeddedCacheMB, maxEmbeddedCacheMB)
		}
		if c.ChainID != 0 && c.ChainID != chain.SimulatedChainID.Uint64() {
			return fieldErr("chain.chain_id", "%d: the embedded chain's id is %s", c.ChainID, chain.SimulatedChainID)
		}
		if c.ServeRPC != "" {
			if err := loopbackHostPort(c.ServeRPC); err != nil {
				return fieldErr("chain.serve_rpc", "%v", err)
			}
		}
		if _, err := addressList("chain.embedded_fund", c.EmbeddedFund); err != nil {
			return err
		}
		attestors, err := addressList("chain.attestors", c.Attestors)
		if err != nil {
			return err
		}
		n := max(len(attestors), 1) // none: this node alone
		if c.Threshold > uint64(n) {
			return fieldErr("chain.threshold", "%d of %d attestors: want 1 to %d", c.Threshold, n, n)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"serve_rpc", c.ServeRPC != ""}, {"embedded_fund", c.EmbeddedFund != nil}, {"attestors", c.Attestors != nil}, {"threshold", c.Threshold != 0}, {"embedded_cache_mb", c.EmbeddedCacheMB != 0}} {
		if f.set {
			return fieldErr("chain."+f.name, "only for the embedded chain (without chain.rpc): the chain at chain.rpc has its own")
		}
	}
	u, err := url.Parse(c.RPC)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ws" && u.Scheme != "wss" && !strings.HasSuffix(c.RPC, ".ipc")) {
		return fieldErr("chain.rpc", "%q: want an http(s):// or ws(s):// URL or an .ipc path", c.RPC)
	}
	for _, a := range []struct{ field, v string }{{"registry", c.Contracts.Registry}, {"rec", c.Contracts.REC}, {"flex", c.Contracts.FLEX}} {
		if !common.IsHexAddress(a.v) || common.HexToAddress(a.v) == (common.Address{}) {
			return fieldErr("chain.contracts."+a.field, "%q: want the contract's 0x address (required with chain.rpc)", a.v)
		}
	}
	return nil
}

// addressList parses a list of distinct, non-zero 0x addresses.
func addressList(field string, list []string) ([]common.Address, error) {
	out := make([]common.Address, 0, len(list))
	seen := map[common.Address]int{}
	for i, v := range list {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !common.IsHexAddress(v) || !strings.HasPrefix(v, "0x") {
			return nil, fieldErr(f, "%q: want a 0x address", v)
		}
		a := common.HexToAddress(v)
		if a == (common.Address{}) {
			return nil, fieldErr(f, "the zero address")
		}
		if j, dup := seen[a]; dup {
			return nil, fieldErr(f, "%s is also %s[%d]", a, field, j)
		}
		seen[a] = i
		out = append(out, a)
	}
	return out, nil
}

// loopbackHostPort accepts host:port on a loopback address (127.0.0.0/8,
// ::1 or localhost).
func loopbackHostPort(hostPort string) error {
	host, port, err := net.SplitHostPort(hostPort)
	if err != nil || port == "" {
		return fmt.Errorf("%q: want host:port", hostPort)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: want a loopback address (127.0.0.1, [::1] or localhost): the chain's JSON-RPC accepts transactions from anyone who reaches it", hostPort)
	}
	return nil
}

// policy is the storage section as the disk guard's rules.
func (s StorageConfig) policy() (diskPolicy, error) {
	floor := uint64(store.MinFree(store.Options{}))
	p := diskPolicy{floor: floor}
	if pct, ok := strings.CutSuffix(strings.TrimSpace(s.MinFree), "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || !(v > 0 && v <= 50) {
			return p, fieldErr("storage.min_free", "%q: want a share of the filesystem above 0%% and at most 50%%, e.g. 5%%", s.MinFree)
		}
		p.percent = v
	} else {
		v, err := parseSize(s.MinFree)
		if err != nil {
			return p, fieldErr("storage.min_free", "%q: %v", s.MinFree, err)
		}
		if v < floor {
			return p, fieldErr("storage.min_free", "%q is below %s, the least the store needs to flush and compact without crashing", s.MinFree, formatBytes(floor))
		}
		p.minFree = v
	}
	v, err := parseSize(s.ResumeMargin)
	if err != nil {
		return p, fieldErr("storage.resume_margin", "%q: %v", s.ResumeMargin, err)
	}
	p.margin = v
	return p, nil
}

// sizeUnits are the units parseSize knows, by their lower-case names.
var sizeUnits = map[string]uint64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// maxSize bounds a parsed size (1 PiB), far above any disk a node has and
// far below overflow.
const maxSize = 1 << 50

// parseSize reads a size in bytes: a non-negative number with an optional
// unit, B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers
// of 1024), in any case, e.g. "256MiB", "1.5 GiB", "500MB", "1048576".
// Fractions of a byte are dropped.
func parseSize(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(t)
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if num == "" || !ok {
		return 0, errors.New("want a size like 256MiB, 1GiB or 500MB")
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v*float64(mult) > maxSize {
		return 0, fmt.Errorf("want a size like 256MiB, 1GiB or 500MB, at most %s", formatBytes(maxSize))
	}
	return uint64(v * float64(mult)), nil
}
