// Package recsim scores the certificate rules (package rec) on a
// simulated fleet of homes with honest and dishonest PV inverters: the
// confusion matrix, in Wh, of issue 13's item 5.
//
// Everything runs in process and in order, as a node would, without a
// broker: firmware-sim's Fleet is stepped every publish period on a fake
// clock; its PV inverters' MQTT messages (faults included: drops,
// duplicates, reorders, corrupted payloads, reboots, outages, skewed
// clocks) go through the node's ingest (devices.Ingest: the OpenDTU and
// AhoyDTU decoders and the normaliser); each inverter's readings feed a
// rec.Builder; each built hour becomes a claim (rec.NewClaim); and the
// claims of each hour are checked together by one rec.Checker with
// rec.DefaultRules once the hour has closed, as a peer does. A claim is
// certified when its verdict does not refuse it. The simulator's ground
// truth (firmwaresim.PVProduction) says which inverters lie and what each
// really produced in every hour.
//
// It is a test tool: only tests and benchmarks import it.
package recsim

import (
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/rec"
)

// Site is where the simulator's PV data were measured and modelled
// (PVWatts Denver and NREL MIDC Golden, 39.74 N 105.18 W), rounded as a
// claim rounds it: the location every simulated home declares.
var Site = gridmint.CoarseLocation{LatTenths: 397, LonTenths: -1052}

// SiteZone is the data's local standard time, UTC−7 (the simulator's
// profile clock runs in it).
var SiteZone = time.FixedZone("MST", -7*3600)

// Zone is the grid zone every simulated device declares.
const Zone = "US-CO"

// Defaults of Config.
const (
	DefaultHomes  = 200
	DefaultHours  = 24
	DefaultPeriod = 5 * time.Second // OpenDTU's default publish interval
	DefaultSeed   = 13
)

// DefaultStart is the default first simulated instant: local midnight at
// the site on the March equinox.
var DefaultStart = time.Date(2026, 3, 20, 0, 0, 0, 0, SiteZone)

// Config sets up a run. Zero fields take the defaults.
type Config struct {
	// Homes is the number of simulated homes (one PV inverter each with
	// firmware-sim's default sizes).
	Homes int
	// Seed seeds the fleet: homes, clouds, faults and who lies.
	Seed uint64
	// Start is the first simulated instant, Hours how many hours follow.
	Start time.Time
	Hours int
	// Period is the fleet's publish cycle.
	Period time.Duration
	// Faults are the injected faults; the zero value takes firmware-sim's
	// "default" preset (its Dishonest share of lying inverters, each lie
	// equally likely).
	Faults *firmwaresim.FaultConfig
	// Keep keeps every inverter's readings and rejections in
	// Result.Logs, for diagnosis.
	Keep bool
}

// DeviceLog is what the node's ingest made of one inverter's messages.
type DeviceLog struct {
	Device     firmwaresim.FleetDevice
	Readings   []gridmint.Reading
	Rejections []gridmint.Rejection
}

func (c Config) withDefaults() Config {
	if c.Homes == 0 {
		c.Homes = DefaultHomes
	}
	if c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	if c.Hours == 0 {
		c.Hours = DefaultHours
	}
	if c.Period == 0 {
		c.Period = DefaultPeriod
	}
	if c.Faults == nil {
		f := firmwaresim.FaultPresets["default"]
		c.Faults = &f
	}
	return c
}

// Class is what a claim's device is: honest, or the lie it tells.
type Class = firmwaresim.Dishonesty

// Outcome is what happened to one claim.
type Outcome struct {
	Claim   gridmint.Claim
	Class   Class
	Home    int
	Refused bool
	// Reasons are the refusing findings' reason codes, in the verdict's
	// order; Flags the non-refusing ones.
	Reasons, Flags []gridmint.ClaimReason
	// LaterRefused is set when a later Check refused the claim (a copy
	// or an impossible claim of its device found in a later hour), After
	// hours after the claim's own. It was attested, and counts as
	// certified, unless the node held it that long (Result.Matrix).
	LaterRefused bool
	After        gridmint.Hour
	LaterReason  gridmint.ClaimReason
	// Source is set for an honest device whose values a copying liar
	// reports (firmware-sim's copier copies the previous home): the copy
	// rule refuses both devices until someone resolves the pair.
	Source bool
	// ProducedWh is what the inverter really fed in during the hour, Wh
	// (simulator truth, sampled at the first step at or after each hour
	// boundary).
	ProducedWh float64
}

// Certified reports whether the claim was attested by a node that waits
// hold hours after an hour's check before attesting its claims: not
// refused when its hour was checked, nor by a later check within hold
// hours.
func (o Outcome) Certified(hold gridmint.Hour) bool {
	return !o.Refused && !(o.LaterRefused && o.After <= hold)
}

// Lie reports whether the claim says more than the inverter produced:
// more than 5 Wh + 10 % above the truth (an outage across an hour's
// boundary moves some energy into the next hour, honestly).
func (o Outcome) Lie() bool {
	return float64(o.Claim.Wh) > o.ProducedWh*1.1+5
}

// Result is a run's outcome.
type Result struct {
	Config   Config
	Outcomes []Outcome
	// Devices counts the PV inverters per class.
	Devices map[Class]int
	// Ingest counts the readings built and the messages rejected by the
	// node's ingest, per reason; BuilderErrors readings the Builder
	// refused.
	Readings      int
	Rejected      map[gridmint.Reason]int
	BuilderErrors int
	// Faults are the injected faults.
	Faults firmwaresim.FaultStats
	// Logs are kept with Config.Keep, by claim device key.
	Logs map[gridmint.DeviceKey]*DeviceLog
}

// Run simulates cfg and checks every claim with rec.DefaultRules.
func Run(cfg Config) (*Result, error) {
	r, err := Simulate(cfg)
	if err != nil {
		return nil, err
	}
	return r.Check(rec.DefaultRules()), nil
}

// Recording is a simulated run's claims before any rule saw them, with
// the simulator's truth: what Check scores. Simulating is slow (a day of
// 200 homes takes ten minutes of CPU); checking a recording takes
// seconds, so rules can be tried on one recording (Save, Load).
type Recording struct {
	Config Config
	// Outcomes hold the claims in hour order with their class, home and
	// truth; the rules' fields are unset.
	Outcomes      []Outcome
	Devices       map[Class]int
	Readings      int
	Rejected      map[gridmint.Reason]int
	BuilderErrors int
	Faults        firmwaresim.FaultStats
	Logs          map[gridmint.DeviceKey]*DeviceLog `json:"-"`
}

// Simulate runs the fleet of cfg through the node's ingest and the
// Builder and returns its claims, unchecked.
func Simulate(cfg Config) (*Recording, error) {
	cfg = cfg.withDefaults()
	start := cfg.Start.UTC()
	clk := fakeclock.New(start)
	fleet, err := firmwaresim.NewFleet(firmwaresim.FleetConfig{
		Homes: cfg.Homes, Seed: cfg.Seed, Period: cfg.Period, Location: SiteZone, Clock: clk,
		Faults: *cfg.Faults,
		// PV (three OpenDTU to one AhoyDTU, as DefaultMix) and a Victron
		// GX as each home's meter: chargers, plugs and a Shelly meter do
		// not touch what is certified and would only cost CPU (a GX
		// without a node's keep-alive falls silent after a minute).
		Mix: firmwaresim.Mix{OpenDTU: 3, Ahoy: 1, Battery: 1},
	})
	if err != nil {
		return nil, err
	}
	const node = "0xrecsim"
	type pvDev struct {
		fd    firmwaresim.FleetDevice
		id    gridmint.DeviceID
		b     *rec.Builder
		facts rec.DeviceFacts
		// produced is the inverter's true energy at each hour boundary.
		produced []float64
		log      *DeviceLog
	}
	var adapters []devices.Adapter
	for _, a := range fleet.Adapters() {
		if a.Dialect != "opendtu" && a.Dialect != "ahoydtu" {
			continue
		}
		ad, err := devices.NewAdapter(devices.AdapterConfig{Dialect: a.Dialect, BaseTopic: a.BaseTopic, Inverters: a.Inverters})
		if err != nil {
			return nil, err
		}
		adapters = append(adapters, ad)
	}
	res := &Recording{Config: cfg, Devices: map[Class]int{}, Rejected: map[gridmint.Reason]int{}}
	byID := map[gridmint.DeviceID]*pvDev{}
	bySerial := map[string]*pvDev{}
	clients := map[string]bool{}
	var declared []gridmint.Device
	var pvs []*pvDev
	for _, fd := range fleet.Devices() {
		if fd.Kind != gridmint.KindPVInverter {
			continue
		}
		id, err := gridmint.NewDeviceID(node, fd.Dialect, fd.Serial)
		if err != nil {
			return nil, err
		}
		declared = append(declared, gridmint.Device{ID: id, Kind: fd.Kind, Dialect: fd.Dialect, Serial: fd.Serial, Nameplate: gridmint.W(fd.NameplateW)})
		// Every home is a node of its own.
		home := gridmint.Address{0x9e, byte(fd.Home >> 16), byte(fd.Home >> 8), byte(fd.Home)}
		d := &pvDev{fd: fd, id: id, b: rec.NewBuilder(rec.BuilderState{}, 0), facts: rec.DeviceFacts{
			Device: sha256.Sum256([]byte(id)), Node: home, Owner: home, Zone: Zone,
			Technology: gridmint.TechnologySolarPV, Nameplate: gridmint.W(fd.NameplateW), Location: Site,
		}}
		if cfg.Keep {
			d.log = &DeviceLog{Device: fd}
			if res.Logs == nil {
				res.Logs = map[gridmint.DeviceKey]*DeviceLog{}
			}
			res.Logs[d.facts.Device] = d.log
		}
		byID[id] = d
		bySerial[fd.Dialect+"/"+fd.Serial] = d
		clients[fd.Client] = true
		pvs = append(pvs, d)
		res.Devices[fd.Dishonest]++
	}
	in, err := devices.NewIngest(devices.IngestConfig{Node: node, Adapters: adapters, Declared: declared, Clock: clk})
	if err != nil {
		return nil, err
	}
	homes := fleet.Homes()
	truth := func() {
		for _, h := range homes {
			for _, p := range h.PVProduction() {
				d := bySerial[p.Dialect+"/"+p.Serial]
				d.produced = append(d.produced, p.ProducedWh)
			}
		}
	}

	// Step past the last hour so that a reading closes it.
	end := start.Add(time.Duration(cfg.Hours)*time.Hour + 10*time.Minute)
	nextHour := start
	var batch []devices.Message
	for now := start; !now.After(end); now = now.Add(cfg.Period) {
		clk.Set(now)
		msgs := fleet.Step(now)
		if !now.Before(nextHour) {
			truth()
			nextHour = nextHour.Add(time.Hour)
		}
		batch = batch[:0]
		for _, m := range msgs {
			if clients[m.Device] {
				batch = append(batch, devices.Message{Topic: m.Topic, Payload: []byte(m.Payload), Received: now})
			}
		}
		o := in.Process(batch)
		in.Accept(o)
		for _, r := range o.Rejections {
			res.Rejected[r.Reason]++
			if d := byID[r.Device]; d != nil && d.log != nil {
				d.log.Rejections = append(d.log.Rejections, r)
			}
		}
		for _, r := range o.Readings {
			d := byID[r.Device]
			if d == nil {
				continue
			}
			res.Readings++
			if d.log != nil {
				d.log.Readings = append(d.log.Readings, r)
			}
			if err := d.b.Add(r); err != nil {
				res.BuilderErrors++
			}
		}
	}
	for _, h := range homes {
		st := h.Stats()
		res.Faults.Add(st.Faults)
	}

	// Claims, hour by hour, checked once the hour has closed.
	first := gridmint.HourOf(start)
	for _, d := range pvs {
		for _, iv := range d.b.Hours() {
			if iv.Hour >= first+gridmint.Hour(cfg.Hours) {
				break
			}
			c, err := rec.NewClaim(iv, d.facts)
			if err != nil {
				return nil, fmt.Errorf("device %s hour %s: %w", d.id, iv.Hour, err)
			}
			o := Outcome{Claim: c, Class: d.fd.Dishonest, Home: d.fd.Home}
			if k := int(iv.Hour - first); k+1 < len(d.produced) {
				o.ProducedWh = d.produced[k+1] - d.produced[k]
			}
			res.Outcomes = append(res.Outcomes, o)
		}
	}
	slices.SortStableFunc(res.Outcomes, func(a, b Outcome) int { return cmp.Compare(a.Claim.Hour, b.Claim.Hour) })
	return res, nil
}

// Check runs rules on the recording's claims hour by hour, as a peer
// does once each hour has closed, with one Checker.
func (r *Recording) Check(rules rec.Rules) *Result {
	res := &Result{Config: r.Config, Outcomes: slices.Clone(r.Outcomes), Devices: r.Devices, Readings: r.Readings,
		Rejected: r.Rejected, BuilderErrors: r.BuilderErrors, Faults: r.Faults, Logs: r.Logs}
	byHour := map[gridmint.Hour][]int{}
	copied := map[int]bool{}
	for i, o := range res.Outcomes {
		byHour[o.Claim.Hour] = append(byHour[o.Claim.Hour], i)
		if o.Class == firmwaresim.DishonestCopy {
			copied[(o.Home+r.Config.Homes-1)%r.Config.Homes] = true
		}
	}
	for i := range res.Outcomes {
		o := &res.Outcomes[i]
		o.Source = o.Class == firmwaresim.Honest && copied[o.Home]
	}
	hours := make([]gridmint.Hour, 0, len(byHour))
	for h := range byHour {
		hours = append(hours, h)
	}
	slices.Sort(hours)
	ck := rec.NewChecker(rules, 0)
	index := map[rec.ClaimID]int{}
	for _, h := range hours {
		idx := byHour[h]
		claims := make([]gridmint.Claim, len(idx))
		for i, j := range idx {
			claims[i] = res.Outcomes[j].Claim
			index[rec.ID(claims[i])] = j
		}
		// Checked a grace period after the hour's end, as a node does.
		rep := ck.Check(claims, h.End().Add(10*time.Minute))
		for i, v := range rep.Verdicts {
			o := &res.Outcomes[idx[i]]
			o.Refused = v.Refused
			for _, f := range v.Findings {
				if f.Refuse {
					o.Reasons = append(o.Reasons, f.Reason)
				} else {
					o.Flags = append(o.Flags, f.Reason)
				}
			}
		}
		for _, f := range rep.Later {
			if j, ok := index[f.Claim]; ok && f.Refuse && !res.Outcomes[j].Refused && !res.Outcomes[j].LaterRefused {
				res.Outcomes[j].LaterRefused = true
				res.Outcomes[j].After = h - f.Claim.Hour
				res.Outcomes[j].LaterReason = f.Reason
			}
		}
	}
	return res
}

// Cell is Wh and claims.
type Cell struct {
	Wh     gridmint.Wh
	Claims int
}

func (c *Cell) add(o Outcome) {
	c.Wh += o.Claim.Wh
	c.Claims++
}

// Matrix is the confusion matrix in Wh. Honest are the claims of honest
// devices that do not say more than the device produced; every claim of a
// dishonest device counts as dishonest (a night liar's daytime claims
// too). The claims of honest devices above their truth (Outcome.Lie) are
// glitches: corrupted counters the node's normaliser took for growth;
// they are counted apart.
type Matrix struct {
	HonestCertified, HonestRefused       Cell
	DishonestCertified, DishonestRefused Cell
	GlitchCertified, GlitchRefused       Cell
	// ByClass splits the matrix per lie: [0] certified, [1] refused.
	ByClass map[Class]*[2]Cell
	// Caught is the Wh of refused claims per class and refusing reason (a
	// claim refused by two rules counts under both).
	Caught map[Class]map[gridmint.ClaimReason]gridmint.Wh
	// LieCertified and LieRefused count the claims that say more than
	// the inverter produced (Outcome.Lie), whatever the device.
	LieCertified, LieRefused Cell
	// LaterRefused are certified claims a later check refused (after
	// the hold).
	LaterRefused Cell
	// Flagged is the Wh of claims with a flag, per class.
	Flagged map[Class]gridmint.Wh
	// SourceCertified and SourceRefused are the honest claims (in
	// HonestCertified and HonestRefused too) of devices whose values a
	// copier reports (Outcome.Source).
	SourceCertified, SourceRefused Cell
}

// HonestCertifiedShareExSources is HonestCertifiedShare without the
// devices a copier copies (refused with their copier until resolved, as
// the copy rule must: nothing in the claims tells the copy from the
// original).
func (m Matrix) HonestCertifiedShareExSources() float64 {
	return share(m.HonestCertified.Wh-m.SourceCertified.Wh, m.HonestCertified.Wh+m.HonestRefused.Wh-m.SourceCertified.Wh-m.SourceRefused.Wh)
}

// HonestCertifiedShare is the share of honest Wh certified, 0..1.
func (m Matrix) HonestCertifiedShare() float64 {
	return share(m.HonestCertified.Wh, m.HonestCertified.Wh+m.HonestRefused.Wh)
}

// DishonestRefusedShare is the share of dishonest Wh refused, 0..1.
func (m Matrix) DishonestRefusedShare() float64 {
	return share(m.DishonestRefused.Wh, m.DishonestCertified.Wh+m.DishonestRefused.Wh)
}

func share(a, total gridmint.Wh) float64 {
	if total == 0 {
		return math.NaN()
	}
	return float64(a) / float64(total)
}

// Matrix tallies the outcomes for nodes that attest hold hours after an
// hour's check (see Outcome.Certified).
func (r *Result) Matrix(hold gridmint.Hour) Matrix {
	m := Matrix{ByClass: map[Class]*[2]Cell{}, Caught: map[Class]map[gridmint.ClaimReason]gridmint.Wh{}, Flagged: map[Class]gridmint.Wh{}}
	for _, o := range r.Outcomes {
		bc := m.ByClass[o.Class]
		if bc == nil {
			bc = &[2]Cell{}
			m.ByClass[o.Class] = bc
		}
		certified := o.Certified(hold)
		honest := o.Class == firmwaresim.Honest
		switch {
		case honest && o.Lie() && certified:
			m.GlitchCertified.add(o)
		case honest && o.Lie():
			m.GlitchRefused.add(o)
		case honest && !certified:
			m.HonestRefused.add(o)
			if o.Source {
				m.SourceRefused.add(o)
			}
		case honest:
			m.HonestCertified.add(o)
			if o.Source {
				m.SourceCertified.add(o)
			}
		case !certified:
			m.DishonestRefused.add(o)
		default:
			m.DishonestCertified.add(o)
		}
		if !certified {
			bc[1].add(o)
			cm := m.Caught[o.Class]
			if cm == nil {
				cm = map[gridmint.ClaimReason]gridmint.Wh{}
				m.Caught[o.Class] = cm
			}
			reasons := o.Reasons
			if !o.Refused {
				reasons = []gridmint.ClaimReason{o.LaterReason}
			}
			for _, rs := range uniq(reasons) {
				cm[rs] += o.Claim.Wh
			}
		} else {
			bc[0].add(o)
			if o.LaterRefused {
				m.LaterRefused.add(o)
			}
		}
		if o.Lie() {
			if certified {
				m.LieCertified.add(o)
			} else {
				m.LieRefused.add(o)
			}
		}
		if len(o.Flags) > 0 {
			m.Flagged[o.Class] += o.Claim.Wh
		}
	}
	return m
}

func uniq(rs []gridmint.ClaimReason) []gridmint.ClaimReason {
	out := slices.Clone(rs)
	slices.Sort(out)
	return slices.Compact(out)
}

func className(c Class) string {
	if c == firmwaresim.Honest {
		return "honest"
	}
	return string(c)
}

// Print writes the matrix of r for nodes that attest hold hours after an
// hour's check, as a table.
func (r *Result) Print(w io.Writer, hold gridmint.Hour) {
	m := r.Matrix(hold)
	cfg := r.Config
	fmt.Fprintf(w, "%d homes, %d h from %s, publish every %v, seed %d, dishonest share %v; %d PV inverters: %s\n",
		cfg.Homes, cfg.Hours, cfg.Start.Format(time.RFC3339), cfg.Period, cfg.Seed, cfg.Faults.Dishonest, total(r.Devices), devicesLine(r.Devices))
	fmt.Fprintf(w, "claims attested %d h after their hour's check\n", hold)
	fmt.Fprintf(w, "faults: %d messages, %d dropped, %d duplicated, %d reordered, %d malformed, %d reboots, %d outages, %d skewed clocks; ingest: %d readings, rejected %v; builder refused %d\n",
		r.Faults.Messages, r.Faults.Dropped, r.Faults.Duplicated, r.Faults.Reordered, r.Faults.Malformed, r.Faults.Reboots, r.Faults.Outages, r.Faults.Skewed,
		r.Readings, r.Rejected, r.BuilderErrors)
	fmt.Fprintf(w, "%-10s %14s %14s %9s\n", "Wh", "certified", "refused", "share")
	fmt.Fprintf(w, "%-10s %14d %14d %8.3f%% certified\n", "honest", m.HonestCertified.Wh, m.HonestRefused.Wh, 100*m.HonestCertifiedShare())
	fmt.Fprintf(w, "%-10s %14d %14d %8.3f%% certified without them (honest devices a copier copies: refused with it until resolved)\n", " copied",
		m.SourceCertified.Wh, m.SourceRefused.Wh, 100*m.HonestCertifiedShareExSources())
	fmt.Fprintf(w, "%-10s %14d %14d %8.3f%% refused\n", "dishonest", m.DishonestCertified.Wh, m.DishonestRefused.Wh, 100*m.DishonestRefusedShare())
	fmt.Fprintf(w, "%-10s %14d %14d (%d + %d claims of honest devices above their truth: corrupted counters)\n", "glitch",
		m.GlitchCertified.Wh, m.GlitchRefused.Wh, m.GlitchCertified.Claims, m.GlitchRefused.Claims)
	classes := make([]Class, 0, len(m.ByClass))
	for c := range m.ByClass {
		classes = append(classes, c)
	}
	slices.SortFunc(classes, func(a, b Class) int { return cmp.Compare(a, b) })
	for _, c := range classes {
		bc := m.ByClass[c]
		var parts []string
		reasons := make([]gridmint.ClaimReason, 0, len(m.Caught[c]))
		for rs := range m.Caught[c] {
			reasons = append(reasons, rs)
		}
		slices.Sort(reasons)
		for _, rs := range reasons {
			parts = append(parts, fmt.Sprintf("%s %d", rs, m.Caught[c][rs]))
		}
		fmt.Fprintf(w, "  %-9s %5d claims: certified %d Wh, refused %d Wh; caught by: %s; flagged %d Wh\n",
			className(c), bc[0].Claims+bc[1].Claims, bc[0].Wh, bc[1].Wh, strings.Join(parts, ", "), m.Flagged[c])
	}
	fmt.Fprintf(w, "claims above the truth (> 5 Wh + 10 %%): certified %d Wh (%d claims), refused %d Wh (%d claims); refused later, after certification: %d Wh (%d claims)\n",
		m.LieCertified.Wh, m.LieCertified.Claims, m.LieRefused.Wh, m.LieRefused.Claims, m.LaterRefused.Wh, m.LaterRefused.Claims)
}

func total(m map[Class]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func devicesLine(m map[Class]int) string {
	classes := make([]Class, 0, len(m))
	for c := range m {
		classes = append(classes, c)
	}
	slices.Sort(classes)
	var parts []string
	for _, c := range classes {
		parts = append(parts, fmt.Sprintf("%d %s", m[c], className(c)))
	}
	return strings.Join(parts, ", ")
}

// Save writes the recording to path (gzipped gob).
func (r *Recording) Save(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f)
	err = gob.NewEncoder(zw).Encode(r)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("recsim: save %s: %w", path, err)
	}
	return nil
}

// Load reads a recording Save wrote.
func Load(path string) (*Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("recsim: load %s: %w", path, err)
	}
	var r Recording
	if err := gob.NewDecoder(zr).Decode(&r); err != nil {
		return nil, fmt.Errorf("recsim: load %s: %w", path, err)
	}
	return &r, nil
}

// Recorded returns the recording of cfg kept in dir (Save's file named
// after the configuration), simulating and saving it when dir holds none;
// an empty dir only simulates.
func Recorded(cfg Config, dir string) (*Recording, error) {
	cfg = cfg.withDefaults()
	if dir == "" {
		return Simulate(cfg)
	}
	f := *cfg.Faults
	name := fmt.Sprintf("recsim-h%d-n%d-s%d-%s-p%s-%x.gob.gz", cfg.Homes, cfg.Hours, cfg.Seed, cfg.Start.UTC().Format("20060102T15"), cfg.Period,
		sha256.Sum256(fmt.Appendf(nil, "%+v", f)))
	path := filepath.Join(dir, name)
	if r, err := Load(path); err == nil {
		return r, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	r, err := Simulate(cfg)
	if err != nil {
		return nil, err
	}
	return r, r.Save(path)
}
