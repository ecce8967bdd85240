package rec

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// DefaultRetention is how many hours a Checker remembers claims: long
// enough to catch a second claim for an hour (equivocation) and to
// compare profiles of claims that arrive late.
const DefaultRetention gridmint.Hour = 48

// Verdict is the outcome for one claim.
type Verdict struct {
	Claim ClaimID `json:"claim"`
	// Refused is set when any finding refuses the claim: it must not be
	// attested.
	Refused bool `json:"refused"`
	// Duplicate is set for a claim identical to one checked before; it
	// has no findings of its own (the first one's verdict stands).
	Duplicate bool      `json:"duplicate,omitempty"`
	Findings  []Finding `json:"findings,omitempty"`
}

// Equivocation is the evidence that a node claimed one device's hour
// twice with different content. Both claims are refused.
type Equivocation struct {
	First, Second gridmint.Claim
}

// Report is the outcome of one Checker.Check call.
type Report struct {
	// Verdicts has one entry per claim checked, in the order given.
	Verdicts []Verdict
	// Later are findings about claims verdicts were given for in earlier
	// calls: the first claim of an equivocation, and the claim of the
	// other device of a copied pair. A claim not yet attested must not be.
	Later []Finding
	// Equivocations found in this call.
	Equivocations []Equivocation
}

// Checker runs every rule on claims as they arrive, remembering what the
// rules that span claims need: each device's chain (its last claim), its
// recent claims (equivocation), and each zone's recent profiles and
// capacity factors (copies, outliers). It is pure: the same claims in the
// same calls give the same reports on every node. It is not safe for
// concurrent use.
//
// The first claim of a device a Checker sees starts the device's chain
// (a node that joins late trusts the contract's high-water mark for the
// past). A device's claims must reach it in hour order across calls: a
// claim for an hour before one already checked is an overlapping hour,
// so the node holds claims until their zone's hour closes for gossip.
type Checker struct {
	rules     Rules
	retention gridmint.Hour

	devices   map[gridmint.DeviceKey]*deviceRecord
	zones     map[zoneHour]*zoneRecord
	runs      map[pairKey]*pairRun
	suspended map[gridmint.DeviceKey]map[gridmint.DeviceKey]gridmint.Hour // device → partner → hour of the finding
	exempt    map[pairKey]bool
	// lying are devices whose claim put energy where physics allows none
	// (impossible): every other claim of theirs is refused until
	// Reinstate.
	lying  map[gridmint.DeviceKey]Finding
	latest gridmint.Hour
}

// impossible are the reasons that prove a device's meter wrong: energy
// above what its inverter can deliver, in the dark, or above what a clear
// sky gives. Honest meters never report them (the rules' margins see to
// it), so a device that does in an hour of quality ok (continuous
// readings, no reset, no gap) lies or is broken, and nothing it reports
// is evidence of production until someone has looked: its other claims
// are refused too, those its Checker still remembers and all later ones,
// until Checker.Reinstate. (A copy suspends both devices the same way;
// see CopyRules.)
var impossible = []gridmint.ClaimReason{gridmint.ClaimNameplate, gridmint.ClaimSunBelowHorizon, gridmint.ClaimAboveClearSky}

type deviceRecord struct {
	tip    gridmint.Claim // the claim the next one must continue
	hasTip bool
	claims map[gridmint.Hour]gridmint.Claim
	equivo map[gridmint.Hour]bool // hours claimed twice
	// day are the device's capacity factors and its cell's medians, per
	// hour, for the day rule (OutlierRules).
	day []dayEntry
}

// dayEntry is one hour of a device for the day rule: its capacity factor
// and its cell's median.
type dayEntry struct {
	hour    gridmint.Hour
	cf, med float64
}

type zoneHour struct {
	zone string
	hour gridmint.Hour
}

type zoneRecord struct {
	fps []fingerprint // informative profiles
	cfs []float64     // capacity factors of every claim with readings
	// cells are the capacity factors per whole-degree cell (cellOf).
	cells map[[2]int16][]float64
}

// pairRun is a pair's matching informative hours, in order.
type pairRun struct {
	hours []gridmint.Hour
}

func (r *pairRun) last() gridmint.Hour { return r.hours[len(r.hours)-1] }

// NewChecker starts with no history. A retention of 0 means
// DefaultRetention.
func NewChecker(rules Rules, retention gridmint.Hour) *Checker {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Checker{
		rules: rules, retention: retention,
		devices: map[gridmint.DeviceKey]*deviceRecord{}, zones: map[zoneHour]*zoneRecord{},
		runs: map[pairKey]*pairRun{}, suspended: map[gridmint.DeviceKey]map[gridmint.DeviceKey]gridmint.Hour{},
		exempt: map[pairKey]bool{}, lying: map[gridmint.DeviceKey]Finding{},
	}
}

// Check runs the rules on claims at now. Claims are taken in hour order
// (ties by device), whatever their order in the slice, so a device's
// chain is followed; claims of one zone and hour are compared with each
// other and with those of earlier calls. The node calls it once a zone's
// hour has closed for gossip, with all claims received for it.
func (ck *Checker) Check(claims []gridmint.Claim, now time.Time) Report {
	rep := Report{Verdicts: make([]Verdict, len(claims))}
	order := make([]int, len(claims))
	for i := range order {
		order[i] = i
		rep.Verdicts[i].Claim = ID(claims[i])
	}
	slices.SortStableFunc(order, func(i, j int) int {
		if c := cmp.Compare(claims[i].Hour, claims[j].Hour); c != 0 {
			return c
		}
		return cmpKey(claims[i].Device, claims[j].Device)
	})

	// Claims that join their zone's comparison, per zone and hour.
	fresh := map[zoneHour][]int{}
	suns := map[sunKey]*sunFacts{} // claims of one place and hour share the sun
	firstOf := map[ClaimID]int{}   // verdict index of each claim's first check in this call
	for _, i := range order {
		c := claims[i]
		v := &rep.Verdicts[i]
		sk := sunKey{c.Hour, c.Location}
		sun := suns[sk]
		if sun == nil {
			f := ck.rules.sunFacts(c.Hour, c.Location)
			sun = &f
			suns[sk] = sun
		}
		fs := ck.rules.checkClaim(c, now, sun)
		if len(fs) > 0 && (fs[0].Reason == gridmint.ClaimInvalid || fs[0].Reason == gridmint.ClaimFutureHour) {
			v.Findings = fs
			continue
		}
		dup, chainFs, later, eq := ck.follow(c)
		if dup {
			v.Duplicate = true
			continue
		}
		for _, f := range later {
			if j, ok := firstOf[f.Claim]; ok {
				rep.Verdicts[j].Findings = append(rep.Verdicts[j].Findings, f)
			} else {
				rep.Later = append(rep.Later, f)
			}
		}
		if _, ok := firstOf[v.Claim]; !ok {
			firstOf[v.Claim] = i
		}
		if eq != nil {
			rep.Equivocations = append(rep.Equivocations, *eq)
		}
		v.Findings = append(chainFs, fs...)
		ck.suspendLiar(c, v, firstOf, &rep)
		if eq == nil {
			zh := zoneHour{c.Zone, c.Hour}
			fresh[zh] = append(fresh[zh], i)
		}
		ck.latest = max(ck.latest, c.Hour)
	}

	// Zone rules, hour by hour.
	zhs := make([]zoneHour, 0, len(fresh))
	for zh := range fresh {
		zhs = append(zhs, zh)
	}
	slices.SortFunc(zhs, func(a, b zoneHour) int {
		if c := cmp.Compare(a.hour, b.hour); c != 0 {
			return c
		}
		return cmp.Compare(a.zone, b.zone)
	})
	byID := make(map[ClaimID]int, len(claims))
	for _, idx := range fresh {
		for _, i := range idx {
			byID[ID(claims[i])] = i
		}
	}
	for _, zh := range zhs {
		ck.zoneRules(zh, claims, fresh[zh], byID, &rep)
	}

	// Suspended devices: every claim is refused until resolved.
	for i := range rep.Verdicts {
		v := &rep.Verdicts[i]
		if v.Duplicate || hasReason(v.Findings, gridmint.ClaimInvalid) || hasReason(v.Findings, gridmint.ClaimFutureHour) {
			continue
		}
		if since := ck.suspendedAt(v.Claim); len(since) > 0 && !hasReason(v.Findings, gridmint.ClaimCopiedProfile) {
			v.Findings = append(v.Findings, refuse(v.Claim, gridmint.ClaimCopiedProfile, "device suspended: its profile copied (or was copied by) %s",
				describePartners(since)))
		}
	}
	for i := range rep.Verdicts {
		v := &rep.Verdicts[i]
		for _, f := range v.Findings {
			v.Refused = v.Refused || f.Refuse
		}
	}
	ck.prune()
	return rep
}

// follow places c in its device's history: a duplicate, an equivocation,
// or the next link of the chain (or a broken one).
func (ck *Checker) follow(c gridmint.Claim) (dup bool, fs, later []Finding, eq *Equivocation) {
	id := ID(c)
	d := ck.devices[c.Device]
	if d == nil {
		d = &deviceRecord{claims: map[gridmint.Hour]gridmint.Claim{}, equivo: map[gridmint.Hour]bool{}}
		ck.devices[c.Device] = d
	}
	if prev, ok := d.claims[c.Hour]; ok {
		if prev == c {
			return true, nil, nil, nil
		}
		first := !d.equivo[c.Hour]
		d.equivo[c.Hour] = true
		fs = append(fs, refuse(id, gridmint.ClaimEquivocation, "a second claim for the hour by node %s: %v Wh (counter %d–%d) after %v Wh (counter %d–%d)",
			c.Node, c.Wh, c.CounterStart, c.CounterEnd, prev.Wh, prev.CounterStart, prev.CounterEnd))
		if first {
			later = append(later, refuse(id, gridmint.ClaimEquivocation, "the node claimed the hour again with different content: %v Wh (counter %d–%d)",
				c.Wh, c.CounterStart, c.CounterEnd))
		}
		return false, fs, later, &Equivocation{First: prev, Second: c}
	}
	d.claims[c.Hour] = c
	if !d.hasTip {
		d.tip, d.hasTip = c, true
		return false, nil, nil, nil
	}
	tip := d.tip
	switch {
	case c.Hour <= tip.Hour:
		fs = append(fs, refuse(id, gridmint.ClaimOverlappingHour, "the device's last claim is for %s", tip.Hour))
		return false, fs, nil, nil
	case c.CounterStart < tip.CounterEnd:
		// Counter ranges overlap: the same energy claimed again. The
		// chain stays where it was.
		fs = append(fs, refuse(id, gridmint.ClaimBrokenChain, "counter starts at %d mWh, inside the previous claim (%s, ended at %d)",
			c.CounterStart, tip.Hour, tip.CounterEnd))
		return false, fs, nil, nil
	case c.CounterStart > tip.CounterEnd:
		fs = append(fs, refuse(id, gridmint.ClaimBrokenChain, "counter starts at %d mWh, the previous claim (%s) ended at %d: %d mWh unaccounted",
			c.CounterStart, tip.Hour, tip.CounterEnd, c.CounterStart-tip.CounterEnd))
	case c.CarryIn != tip.CarryOut():
		fs = append(fs, refuse(id, gridmint.ClaimBrokenChain, "carries %d mWh in, the previous claim (%s) carried %d out",
			c.CarryIn, tip.Hour, tip.CarryOut()))
	}
	// A gap in the counter or the carry re-anchors the chain here: the
	// claim is refused, later ones continue from it, nothing is claimed
	// twice.
	d.tip = c
	return false, fs, nil, nil
}

// zoneRules compares the fresh claims of one zone and hour with each
// other and with the zone's earlier claims of that hour.
func (ck *Checker) zoneRules(zh zoneHour, claims []gridmint.Claim, fresh []int, byID map[ClaimID]int, rep *Report) {
	zr := ck.zones[zh]
	if zr == nil {
		zr = &zoneRecord{cells: map[[2]int16][]float64{}}
		ck.zones[zh] = zr
	}
	isNew := map[ClaimID]bool{}
	newCFs := make([]float64, 0, len(fresh))
	for _, i := range fresh {
		c := claims[i]
		isNew[ID(c)] = true
		if c.Quality == gridmint.QualityMissing {
			continue
		}
		cf := capacityFactor(c)
		newCFs = append(newCFs, cf)
		cell := cellOf(c.Location)
		zr.cells[cell] = append(zr.cells[cell], cf)
		if fp, ok := ck.rules.Copy.fingerprintOf(c); ok {
			zr.fps = append(zr.fps, fp)
		}
	}
	zr.cfs = append(zr.cfs, newCFs...)

	// Copied profiles.
	cr := ck.rules.Copy
	matched := map[pairKey]bool{}
	for _, p := range cr.matchingPairs(zr.fps, func(id ClaimID) bool { return isNew[id] }) {
		if ck.exempt[p] {
			continue
		}
		matched[p] = true
		run := ck.runs[p]
		switch {
		case run == nil || zh.hour-run.hours[0] >= cr.MaxSpan:
			run = &pairRun{hours: []gridmint.Hour{zh.hour}}
			ck.runs[p] = run
		case zh.hour > run.last():
			run.hours = append(run.hours, zh.hour)
		default:
			continue
		}
		if len(run.hours) < cr.Hours {
			continue
		}
		// Copied: refuse every claim of both devices the Checker
		// remembers, and all later ones until resolved: a device that
		// reports another's values has no evidence of its own, in the
		// hours before the run (dim, or clear-sky, so not informative)
		// as in those of the run. Claims of this call get the finding in
		// their verdict, earlier ones in Later.
		first := len(run.hours) == cr.Hours
		for _, pair := range [][2]gridmint.DeviceKey{{p.a, p.b}, {p.b, p.a}} {
			hours := []gridmint.Hour{zh.hour}
			if first {
				hours = ck.remembered(pair[0], zh.hour)
			}
			if len(hours) > 0 {
				ck.suspend(p, min(hours[0], run.hours[0]))
			}
			for _, h := range hours {
				id := ClaimID{Device: pair[0], Hour: h}
				f := refuse(id, gridmint.ClaimCopiedProfile, "the five-minute profile matches device %s's in %d informative hours from %s to %s",
					pair[1], len(run.hours), run.hours[0], zh.hour)
				if i, ok := byID[id]; ok {
					if !hasReason(rep.Verdicts[i].Findings, gridmint.ClaimCopiedProfile) {
						rep.Verdicts[i].Findings = append(rep.Verdicts[i].Findings, f)
					}
				} else {
					rep.Later = append(rep.Later, f)
				}
			}
		}
	}
	// A pair that differs in an hour where both were informative starts
	// over.
	present := map[gridmint.DeviceKey]bool{}
	for _, fp := range zr.fps {
		present[fp.claim.Device] = true
	}
	for p := range ck.runs {
		if !matched[p] && present[p.a] && present[p.b] && ck.runs[p].last() < zh.hour {
			delete(ck.runs, p)
		}
	}

	// Capacity-factor outliers.
	or := ck.rules.Outlier
	ck.dayRule(claims, fresh, zr, byID, rep)
	if len(zr.cfs) < or.MinDevices {
		return
	}
	all := slices.Clone(zr.cfs)
	med := median(all)
	for i := range all {
		all[i] = math.Abs(all[i] - med)
	}
	mad := median(all)
	limit := math.Max(or.MADs*1.4826*mad, or.MinDiff)
	for _, i := range fresh {
		c := claims[i]
		if c.Quality == gridmint.QualityMissing {
			continue
		}
		if cf := capacityFactor(c); math.Abs(cf-med) > limit {
			rep.Verdicts[i].Findings = append(rep.Verdicts[i].Findings, Finding{Claim: ID(c), Reason: gridmint.ClaimCapacityOutlier,
				Detail: fmt.Sprintf("capacity factor %.3f, zone %s median %.3f over %d devices, limit ±%.3f", cf, zh.zone, med, len(zr.cfs), limit)})
		}
	}
}

// dayRule records each fresh claim's capacity factor against its cell's
// median of the hour, and refuses (and suspends) a device whose energy
// over the window is above MaxRatio times what the medians give its
// nameplate (OutlierRules).
func (ck *Checker) dayRule(claims []gridmint.Claim, fresh []int, zr *zoneRecord, byID map[ClaimID]int, rep *Report) {
	or := ck.rules.Outlier
	if or.MaxRatio <= 0 {
		return
	}
	meds := map[[2]int16]float64{}
	for cell, cfs := range zr.cells {
		if len(cfs) >= or.MinDevices {
			meds[cell] = median(slices.Clone(cfs))
		}
	}
	for _, i := range fresh {
		c := claims[i]
		v := &rep.Verdicts[i]
		med, ok := meds[cellOf(c.Location)]
		// A claim another rule refused is left out (a night liar, a
		// glitch of an estimated hour's counters), but for an hour of
		// quality ok above the five-minute nameplate bound: an
		// over-rater's best hours.
		if c.Quality == gridmint.QualityMissing || !ok || med < or.MinMedianCF {
			continue
		}
		other := false
		for _, f := range v.Findings {
			other = other || f.Refuse && !(f.fiveMinutes && c.Quality == gridmint.QualityOK)
		}
		if other {
			continue
		}
		d := ck.devices[c.Device]
		d.day = append(d.day, dayEntry{c.Hour, capacityFactor(c), med})
		var sum, exp float64
		for _, x := range d.day {
			if x.hour > c.Hour-or.Window && x.hour <= c.Hour {
				sum += x.cf
				exp += x.med
			}
		}
		if exp < or.MinExpected || sum <= or.MaxRatio*exp {
			continue
		}
		if _, lying := ck.lying[c.Device]; lying {
			continue
		}
		f := refuse(ID(c), gridmint.ClaimCapacityOutlier, "%.2f hours at nameplate over the last %d h, %.2f× the %.2f its zone's median capacity factors give (at most %.2f×)",
			sum, or.Window, sum/exp, exp, or.MaxRatio)
		v.Findings = append(v.Findings, f)
		ck.suspendDevice(c, f, byID, rep)
	}
}

// remembered lists the hours of the device's claims the Checker
// remembers, up to and including upTo, in order.
func (ck *Checker) remembered(dev gridmint.DeviceKey, upTo gridmint.Hour) []gridmint.Hour {
	d := ck.devices[dev]
	if d == nil {
		return nil
	}
	hours := make([]gridmint.Hour, 0, len(d.claims))
	for h := range d.claims {
		if h <= upTo {
			hours = append(hours, h)
		}
	}
	slices.Sort(hours)
	return hours
}

// suspendLiar refuses c if its device is suspended for an impossible
// claim, and suspends the device if c is one: its remembered claims are
// refused (in their verdicts when checked in this call, else in Later).
func (ck *Checker) suspendLiar(c gridmint.Claim, v *Verdict, firstOf map[ClaimID]int, rep *Report) {
	if ev, ok := ck.lying[c.Device]; ok {
		if ev.Claim != v.Claim && !hasReason(v.Findings, ev.Reason) {
			v.Findings = append(v.Findings, refuse(v.Claim, ev.Reason, "device suspended: its claim for %s was refused (%s: %s)", ev.Claim.Hour, ev.Reason, ev.Detail))
		}
		return
	}
	var ev *Finding
	for i, f := range v.Findings {
		if f.Refuse && slices.Contains(impossible, f.Reason) && !f.fiveMinutes {
			ev = &v.Findings[i]
			break
		}
	}
	if ev == nil || c.Quality != gridmint.QualityOK {
		// An estimated hour holds a counter reset or a gap, which the
		// normaliser resolved by a guess: a glitch (a corrupted value, a
		// replaced unit) can make it impossible without the meter lying.
		// The claim is refused; the device is not suspended for it.
		return
	}
	ck.suspendDevice(c, *ev, firstOf, rep)
}

// suspendDevice suspends c's device for the finding ev about c, and
// refuses its other remembered claims: in their verdicts when checked in
// this call (firstOf), else in Later.
func (ck *Checker) suspendDevice(c gridmint.Claim, ev Finding, firstOf map[ClaimID]int, rep *Report) {
	ck.lying[c.Device] = ev
	d := ck.devices[c.Device]
	hours := make([]gridmint.Hour, 0, len(d.claims))
	for h := range d.claims {
		if h != c.Hour {
			hours = append(hours, h)
		}
	}
	slices.Sort(hours)
	for _, h := range hours {
		id := ClaimID{Device: c.Device, Hour: h}
		f := refuse(id, ev.Reason, "device suspended: its claim for %s was refused (%s: %s)", c.Hour, ev.Reason, ev.Detail)
		if i, ok := firstOf[id]; ok {
			if !hasReason(rep.Verdicts[i].Findings, ev.Reason) {
				rep.Verdicts[i].Findings = append(rep.Verdicts[i].Findings, f)
			}
		} else {
			rep.Later = append(rep.Later, f)
		}
	}
}

// Reinstate lifts a device's suspension for an impossible claim: what an
// operator does once the meter was found honest after all, or replaced.
// Its claims are checked as any others' from then on.
func (ck *Checker) Reinstate(d gridmint.DeviceKey) { delete(ck.lying, d) }

// Lying returns the finding a device is suspended for, if it is.
func (ck *Checker) Lying(d gridmint.DeviceKey) (Finding, bool) {
	f, ok := ck.lying[d]
	return f, ok
}

func (ck *Checker) suspend(p pairKey, h gridmint.Hour) {
	for _, d := range [][2]gridmint.DeviceKey{{p.a, p.b}, {p.b, p.a}} {
		m := ck.suspended[d[0]]
		if m == nil {
			m = map[gridmint.DeviceKey]gridmint.Hour{}
			ck.suspended[d[0]] = m
		}
		if _, ok := m[d[1]]; !ok {
			m[d[1]] = h
		}
	}
}

// suspendedAt returns the partners of the claim's device whose suspension
// covers the claim's hour.
func (ck *Checker) suspendedAt(id ClaimID) map[gridmint.DeviceKey]gridmint.Hour {
	var out map[gridmint.DeviceKey]gridmint.Hour
	for partner, since := range ck.suspended[id.Device] {
		if id.Hour >= since {
			if out == nil {
				out = map[gridmint.DeviceKey]gridmint.Hour{}
			}
			out[partner] = since
		}
	}
	return out
}

// Resolve lifts the suspension of a copied pair and exempts it from the
// copy rule from now on: what an operator does once the owners showed the
// two are distinct devices (two identical inverters on one roof).
func (ck *Checker) Resolve(a, b gridmint.DeviceKey) {
	p := newPair(a, b)
	ck.exempt[p] = true
	delete(ck.runs, p)
	for _, d := range [][2]gridmint.DeviceKey{{a, b}, {b, a}} {
		if m := ck.suspended[d[0]]; m != nil {
			delete(m, d[1])
			if len(m) == 0 {
				delete(ck.suspended, d[0])
			}
		}
	}
}

// Suspended lists the devices d is suspended with.
func (ck *Checker) Suspended(d gridmint.DeviceKey) []gridmint.DeviceKey {
	var out []gridmint.DeviceKey
	for p := range ck.suspended[d] {
		out = append(out, p)
	}
	slices.SortFunc(out, cmpKey)
	return out
}

// prune forgets claims and profiles older than the retention before the
// latest hour seen (chain tips are kept).
func (ck *Checker) prune() {
	cut := ck.latest - ck.retention
	for zh := range ck.zones {
		if zh.hour < cut {
			delete(ck.zones, zh)
		}
	}
	for _, d := range ck.devices {
		for h := range d.claims {
			if h < cut {
				delete(d.claims, h)
				delete(d.equivo, h)
			}
		}
		d.day = slices.DeleteFunc(d.day, func(x dayEntry) bool { return x.hour < cut })
	}
	for p, r := range ck.runs {
		if r.last() < cut {
			delete(ck.runs, p)
		}
	}
}

func hasReason(fs []Finding, r gridmint.ClaimReason) bool {
	for _, f := range fs {
		if f.Reason == r {
			return true
		}
	}
	return false
}

func describePartners(m map[gridmint.DeviceKey]gridmint.Hour) string {
	keys := make([]gridmint.DeviceKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpKey)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (since %s)", k, m[k])
	}
	return s
}
