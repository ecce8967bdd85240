package flex

import (
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// Method is one named, versioned baseline method: how much the meter of
// record would have consumed in each step of an event window had there
// been no event. A method's rules never change under its version; changed
// rules are a new version (and a new gridmint.BaselineMethod name), so an
// offer is always measured by the rules it named.
type Method interface {
	// Name is what offers name.
	Name() gridmint.BaselineMethod
	// Version is the versioned id recorded on delivery records, e.g.
	// "caiso_10in10/v1".
	Version() string
	// Baseline computes the baseline of in's window.
	Baseline(in BaselineInput) (Baseline, error)
}

// BaselineInput is what a method may look at. Only Metered is needed by
// every method; the others say which.
type BaselineInput struct {
	// Direction of the award: the inflation guard only ever moves the
	// baseline against the side that is paid (see the package doc).
	Direction gridmint.Direction
	// Start and End are the event window; both on Metered's step
	// boundaries.
	Start, End time.Time
	// Metered is the meter of record's consumption: the history before
	// the event (X-of-Y methods: up to 45 days), the event day up to and
	// through the window, and the hours after it (same-day and
	// meter-after methods). Its step is the baseline's step.
	Metered Series
	// Location gives the local days and hours of X-of-Y methods (nil is
	// UTC). Days are local calendar days; a history day's window starts
	// at the event's local wall-clock time.
	Location *time.Location
	// Holidays are local dates counted as non-business days; Excluded are
	// local dates that are never eligible (earlier event days, test
	// dispatch days, outages). Any time within the date names it.
	Holidays, Excluded []time.Time
	// Schedule is the device's own plan (schedule method), signed at
	// ScheduleSigned, which must be no later than GateClosure. MaxPower
	// bounds the plan's power either way (the device's power; 0 means
	// MaxSitePower).
	Schedule       *Series
	ScheduleSigned time.Time
	GateClosure    time.Time
	MaxPower       gridmint.W
}

// Baseline is a method's result, with what it rests on for audit.
type Baseline struct {
	Method string        `json:"method"` // versioned
	Start  time.Time     `json:"start"`
	Step   time.Duration `json:"step"`
	// Energy is the baseline consumption of each step of the window.
	Energy []gridmint.MWh `json:"energy_mwh"`
	// Days are the history days averaged (X-of-Y methods), newest first.
	Days []time.Time `json:"days,omitempty"`
	// Adjustment is the day-of adjustment as computed (Raw, before the cap
	// and the guard) and as applied.
	Adjustment Adjustment `json:"adjustment"`
}

// Adjustment describes a day-of adjustment. Ratios are Num/Den; an
// additive adjustment is energy per step.
type Adjustment struct {
	Kind    string       `json:"kind"` // "none", "ratio" or "additive"
	RawNum  int64        `json:"raw_num,omitempty"`
	RawDen  int64        `json:"raw_den,omitempty"`
	Num     int64        `json:"num,omitempty"`
	Den     int64        `json:"den,omitempty"`
	RawAdd  gridmint.MWh `json:"raw_add_mwh,omitempty"`
	Add     gridmint.MWh `json:"add_mwh,omitempty"`
	Guarded bool         `json:"guarded,omitempty"` // the guard removed (part of) it
}

var methods = []Method{scheduleV1{}, meterBeforeAfterV1{}, caiso10in10V1{}, pjmHigh4of5V1{}, pjmSameDayV1{}}

// Methods lists every baseline method, one per gridmint.BaselineMethods.
func Methods() []Method { return slices.Clone(methods) }

// MethodFor returns the method an offer names.
func MethodFor(name gridmint.BaselineMethod) (Method, error) {
	for _, m := range methods {
		if m.Name() == name {
			return m, nil
		}
	}
	return nil, reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "baseline method %q unknown", name)
}

// checkWindow validates the parts every method needs.
func (in BaselineInput) checkWindow() error {
	if err := in.Metered.Validate(); err != nil {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "baseline: %v", err)
	}
	if in.Direction != gridmint.DirectionDown && in.Direction != gridmint.DirectionUp {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "baseline: direction %q: want up or down", in.Direction)
	}
	if !in.End.After(in.Start) || in.End.Sub(in.Start) > 24*time.Hour {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "baseline: window [%v, %v) empty or longer than a day", in.Start, in.End)
	}
	if in.Start.Sub(in.Metered.Start)%in.Metered.Step != 0 || in.End.Sub(in.Start)%in.Metered.Step != 0 {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "baseline: window [%v, %v) not on the %v steps of the meter data", in.Start, in.End, in.Metered.Step)
	}
	return nil
}

func (in BaselineInput) steps() int { return int(in.End.Sub(in.Start) / in.Metered.Step) }

func (in BaselineInput) result(m Method) Baseline {
	return Baseline{Method: m.Version(), Start: in.Start, Step: in.Metered.Step, Adjustment: Adjustment{Kind: "none"}}
}

// need returns the complete span [start, end) of the meter data or a
// no_data error naming what it was for.
func (in BaselineInput) need(what string, start, end time.Time) ([]gridmint.MWh, error) {
	es, ok := in.Metered.span(start, end)
	if !ok {
		return nil, reasonf(gridmint.FlexNoData, gridmint.ENotFound, "baseline: meter data for %s [%v, %v) missing", what, start, end)
	}
	return es, nil
}

// flat is a window of n steps of one value.
func flat(n int, v int64) []gridmint.MWh {
	out := make([]gridmint.MWh, n)
	for i := range out {
		out[i] = gridmint.MWh(v)
	}
	return out
}

// ---------------------------------------------------------------- schedule

// scheduleV1 is the device's own plan, signed before gate closure: the
// strongest baseline for a device the node controls (EV charger, battery),
// because it is fixed before anyone knows the award.
//
// schedule/v1: the baseline of each step is the plan's. The plan must have
// been signed no later than the gate closure (else schedule_late), have
// the meter data's step, cover the window, and never exceed the device's
// power in either direction (else invalid): a plan that promises to
// consume more than the device can is the schedule's form of inflation.
type scheduleV1 struct{}

func (scheduleV1) Name() gridmint.BaselineMethod { return gridmint.BaselineSchedule }
func (scheduleV1) Version() string               { return "schedule/v1" }

func (m scheduleV1) Baseline(in BaselineInput) (Baseline, error) {
	if err := in.checkWindow(); err != nil {
		return Baseline{}, err
	}
	s := in.Schedule
	switch {
	case s == nil:
		return Baseline{}, reasonf(gridmint.FlexNoData, gridmint.ENotFound, "schedule baseline: no signed schedule")
	case in.GateClosure.IsZero() || in.ScheduleSigned.IsZero() || in.ScheduleSigned.After(in.GateClosure):
		return Baseline{}, reasonf(gridmint.FlexScheduleLate, gridmint.EInvalid, "schedule baseline: signed at %v, after the gate closure %v", in.ScheduleSigned, in.GateClosure)
	case s.Step != in.Metered.Step:
		return Baseline{}, reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "schedule baseline: schedule step %v, meter step %v", s.Step, in.Metered.Step)
	}
	if err := s.Validate(); err != nil {
		return Baseline{}, reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "schedule baseline: %v", err)
	}
	plan, ok := s.span(in.Start, in.End)
	if !ok {
		return Baseline{}, reasonf(gridmint.FlexNoData, gridmint.ENotFound, "schedule baseline: the schedule does not cover [%v, %v)", in.Start, in.End)
	}
	maxP := in.MaxPower
	if maxP <= 0 || maxP > MaxSitePower {
		maxP = MaxSitePower
	}
	limit := gridmint.EnergyAt(maxP, s.Step)
	for i, e := range plan {
		if e > limit || e < -limit {
			return Baseline{}, reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "schedule baseline: step %d plans %v, more than the device's %v W", i, e, maxP)
		}
	}
	b := in.result(m)
	b.Energy = slices.Clone(plan)
	return b, nil
}

// -------------------------------------------------------- meter before/after

// meterBeforeAfterV1 is for fast, short services where history says
// little: the level just before the event, checked against the level just
// after it.
//
// meter_before_after/v1: before is the mean consumption of the span
// [start − d, start), after of [end, end + d), with d = max(15 min, one
// step). The baseline of every step is min(before, after) for a down award
// and max(before, after) for an up award. Consumption raised just before
// the event therefore earns nothing unless it is also kept up after the
// event, i.e. really consumed.
type meterBeforeAfterV1 struct{}

func (meterBeforeAfterV1) Name() gridmint.BaselineMethod { return gridmint.BaselineMeterBeforeAfter }
func (meterBeforeAfterV1) Version() string               { return "meter_before_after/v1" }

func (m meterBeforeAfterV1) Baseline(in BaselineInput) (Baseline, error) {
	if err := in.checkWindow(); err != nil {
		return Baseline{}, err
	}
	d := max(15*time.Minute, in.Metered.Step)
	d -= d % in.Metered.Step
	before, err := in.need("the span before the event", in.Start.Add(-d), in.Start)
	if err != nil {
		return Baseline{}, err
	}
	after, err := in.need("the span after the event", in.End, in.End.Add(d))
	if err != nil {
		return Baseline{}, err
	}
	// Equal lengths, so comparing sums compares means.
	sb, sa := sum(before), sum(after)
	pick := min(sb, sa)
	if in.Direction == gridmint.DirectionUp {
		pick = max(sb, sa)
	}
	b := in.result(m)
	b.Energy = flat(in.steps(), divRound(pick, int64(len(before))))
	return b, nil
}

// ------------------------------------------------------------ PJM same day

// pjmSameDayV1 is PJM's Same Day (3+2) customer baseline (PJM Manual 11;
// added to the manual in 2025, RTO Insider 2025-02-25 "Improved DR Baseline
// Processes OKd"): the average of the 3 hours before the event after
// skipping 1 hour, and the 2 hours after it after skipping 1 hour. PJM's
// example: an event in hours ending 13–17 uses hours ending 9–11 and 19–20.
//
// pjm_sameday_3p2/v1: pre = [start − 4 h, start − 1 h), post = [end + 1 h,
// end + 3 h); every step's baseline is the mean step of pre and post
// together (PJM's rule), except that the guard first caps each pre-event
// step at the post-event mean for a down award (floors it, for an up
// award): consumption raised before the event counts only as far as the
// household keeps it after the event.
type pjmSameDayV1 struct{}

func (pjmSameDayV1) Name() gridmint.BaselineMethod { return gridmint.BaselinePJMSameDay }
func (pjmSameDayV1) Version() string               { return "pjm_sameday_3p2/v1" }

func (m pjmSameDayV1) Baseline(in BaselineInput) (Baseline, error) {
	if err := in.checkWindow(); err != nil {
		return Baseline{}, err
	}
	pre, err := in.need("the 3 hours before the event (skipping 1)", in.Start.Add(-4*time.Hour), in.Start.Add(-time.Hour))
	if err != nil {
		return Baseline{}, err
	}
	post, err := in.need("the 2 hours after the event (skipping 1)", in.End.Add(time.Hour), in.End.Add(3*time.Hour))
	if err != nil {
		return Baseline{}, err
	}
	nPre, nPost := int64(len(pre)), int64(len(post))
	sPost := sum(post)
	// In units of 1/nPost step energy: each pre step is v·nPost, the
	// post mean is sPost.
	var preScaled int64
	guarded := false
	for _, v := range pre {
		x := int64(v) * nPost
		if in.Direction == gridmint.DirectionDown && x > sPost || in.Direction == gridmint.DirectionUp && x < sPost {
			x, guarded = sPost, true
		}
		preScaled += x
	}
	b := in.result(m)
	b.Energy = flat(in.steps(), divRound(preScaled+sPost*nPost, nPost*(nPre+nPost)))
	b.Adjustment.Guarded = guarded
	return b, nil
}

// ---------------------------------------------------------------- X of Y

// xOfY is the shared engine of the "average day" methods.
type xOfY struct {
	lookback int // calendar days searched back
	// pick returns, for the event's day type, how many days to search
	// (y), how many to average (x), the fewest acceptable, and whether a
	// date is of the same type.
	dayType func(in BaselineInput, event, d time.Time) bool
	y, x    func(weekday bool) int
	minDays func(weekday bool) int
	// highest picks the x highest-usage days of the y (PJM); else the x
	// most recent (CAISO).
	highest bool
	// lowUsagePct drops days whose event-period use is below this share
	// of the candidates' mean (PJM's 25 %); 0 = off.
	lowUsagePct int64
}

// day is one history day's event-window and adjustment-window energies.
type day struct {
	date  time.Time
	win   []gridmint.MWh
	adj   []gridmint.MWh
	usage int64
}

func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func sameDate(a, b time.Time) bool {
	return a.Year() == b.Year() && a.Month() == b.Month() && a.Day() == b.Day()
}

func containsDate(ds []time.Time, loc *time.Location, d time.Time) bool {
	for _, x := range ds {
		if sameDate(x.In(loc), d) {
			return true
		}
	}
	return false
}

func (in BaselineInput) loc() *time.Location {
	if in.Location == nil {
		return time.UTC
	}
	return in.Location
}

func pick(weekday bool, business, other int) int {
	if weekday {
		return business
	}
	return other
}

// adjustment window: the 3 hours that end 1 hour before the event starts,
// as both CAISO's load point adjustment and PJM's symmetric additive
// adjustment use.
const (
	adjFrom = 4 * time.Hour
	adjTo   = time.Hour
)

// days returns the eligible history days, newest first, and whether the
// event day is a weekday-type day.
func (e xOfY) days(in BaselineInput) (days []day, weekday bool) {
	loc := in.loc()
	ev := in.Start.In(loc)
	win := in.End.Sub(in.Start)
	weekday = ev.Weekday() != time.Saturday && ev.Weekday() != time.Sunday && !containsDate(in.Holidays, loc, ev)
	want := e.y(weekday)
	for back := 1; back <= e.lookback; back++ {
		d := time.Date(ev.Year(), ev.Month(), ev.Day()-back, 0, 0, 0, 0, loc)
		if !e.dayType(in, ev, d) || containsDate(in.Excluded, loc, d) {
			continue
		}
		start := time.Date(d.Year(), d.Month(), d.Day(), ev.Hour(), ev.Minute(), ev.Second(), ev.Nanosecond(), loc)
		w, ok1 := in.Metered.span(start, start.Add(win))
		a, ok2 := in.Metered.span(start.Add(-adjFrom), start.Add(-adjTo))
		if !ok1 || !ok2 {
			continue // incomplete data makes a day ineligible
		}
		days = append(days, day{date: d, win: w, adj: a, usage: sum(w)})
		if e.lowUsagePct == 0 && len(days) == want {
			break
		}
	}
	return days, weekday
}

// choose applies the low-usage rule and the selection.
func (e xOfY) choose(days []day, weekday bool) []day {
	y, x := e.y(weekday), e.x(weekday)
	if e.lowUsagePct > 0 {
		low := map[int]bool{}
		for {
			var cand []int
			for i := range days {
				if !low[i] && len(cand) < y {
					cand = append(cand, i)
				}
			}
			var total int64
			for _, i := range cand {
				total += days[i].usage
			}
			changed := false
			// usage < pct% of the mean ⇔ usage·n·100 < pct·total
			for _, i := range cand {
				if total > 0 && days[i].usage*int64(len(cand))*100 < e.lowUsagePct*total {
					low[i], changed = true, true
				}
			}
			if !changed {
				sel := make([]day, 0, len(cand))
				for _, i := range cand {
					sel = append(sel, days[i])
				}
				days = sel
				break
			}
		}
	}
	if len(days) > y {
		days = days[:y]
	}
	if e.highest && len(days) > x {
		hi := slices.Clone(days)
		// Highest use first; ties go to the more recent day (stable on
		// the newest-first order).
		slices.SortStableFunc(hi, func(a, b day) int {
			switch {
			case a.usage > b.usage:
				return -1
			case a.usage < b.usage:
				return 1
			}
			return 0
		})
		hi = hi[:x]
		// Back to newest first.
		slices.SortFunc(hi, func(a, b day) int { return b.date.Compare(a.date) })
		days = hi
	}
	if len(days) > x {
		days = days[:x]
	}
	return days
}

// sums returns, per step, the sum over the days of the window energies
// and the sum of all their adjustment-window energies.
func sums(days []day, n int) (win []int64, adj int64) {
	win = make([]int64, n)
	for _, d := range days {
		for i, v := range d.win {
			win[i] += int64(v)
		}
		adj += sum(d.adj)
	}
	return win, adj
}

// -------------------------------------------------------- CAISO 10 in 10

// caiso10in10V1 is CAISO's customer load baseline for proxy demand
// resources ("10-in-10"; CAISO tariff §4.13.4 and the BPM for Metering;
// AEMO's four WDR methods copy it): the mean of each step over the 10
// most recent similar non-event days within 45 days, scaled by the
// event day's load in the hours before the event (the load point
// adjustment), capped at ±20 %.
//
// caiso_10in10/v1:
//   - Business-day events: the 10 most recent eligible business days
//     (Mon–Fri, not Holidays); weekend and holiday events: the 4 most
//     recent eligible non-business days (CAISO's 4-in-4). Searched back
//     45 days; at least 5 (business) or 2 (non-business) must be found,
//     else insufficient_history.
//   - Eligible: not Excluded, and complete meter data for the window and
//     the adjustment window on that day.
//   - Adjustment window: the 3 hours ending 1 hour before the event
//     ([start − 4 h, start − 1 h)). Ratio r = event-day energy in it /
//     baseline energy in it, capped to [0.8, 1.2]. No ratio when the
//     baseline energy there is not positive (a net exporter).
//   - Guard (gridmint, not CAISO): only the side of r that lowers the
//     payment applies: r ≤ 1 for a down award, r ≥ 1 for an up award. A
//     down award's baseline is thus never above the plain 10-day mean:
//     load raised before an event can at most undo a downward
//     adjustment, never earn more than GB DFS's 2023/24 rule (no in-day
//     adjustment), which was DFS's cure for households raising load
//     before events.
//   - Rounding: each step is (Σ days) × r / days, rounded half away from
//     zero, once.
type caiso10in10V1 struct{}

func (caiso10in10V1) Name() gridmint.BaselineMethod { return gridmint.BaselineCAISO10in10 }
func (caiso10in10V1) Version() string               { return "caiso_10in10/v1" }

var caisoEngine = xOfY{
	lookback: 45,
	dayType: func(in BaselineInput, event, d time.Time) bool {
		loc := in.loc()
		wd := func(t time.Time) bool {
			return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday && !containsDate(in.Holidays, loc, t)
		}
		return wd(event) == wd(d)
	},
	y:       func(weekday bool) int { return pick(weekday, 10, 4) },
	x:       func(weekday bool) int { return pick(weekday, 10, 4) },
	minDays: func(weekday bool) int { return pick(weekday, 5, 2) },
}

// CAISO's cap on the load point adjustment: ±20 %.
const (
	capLowNum, capHighNum, capDen = 4, 6, 5
)

func (m caiso10in10V1) Baseline(in BaselineInput) (Baseline, error) {
	if err := in.checkWindow(); err != nil {
		return Baseline{}, err
	}
	all, weekday := caisoEngine.days(in)
	days := caisoEngine.choose(all, weekday)
	if len(days) < caisoEngine.minDays(weekday) {
		return Baseline{}, reasonf(gridmint.FlexInsufficientHist, gridmint.ENotFound, "caiso_10in10: %d eligible days in 45, need %d", len(days), caisoEngine.minDays(weekday))
	}
	actual, err := in.need("the adjustment window", in.Start.Add(-adjFrom), in.Start.Add(-adjTo))
	if err != nil {
		return Baseline{}, err
	}
	n := int64(len(days))
	win, adjSum := sums(days, in.steps())
	b := in.result(m)
	for _, d := range days {
		b.Days = append(b.Days, d.date)
	}
	// r = Σactual / (adjSum / n) = n·Σactual / adjSum; each step is
	// win[i] × r / n = win[i]·num / (den·n).
	num, den := int64(1), int64(1)
	if adjSum > 0 {
		a := sum(actual)
		rawNum, rawDen := n*a, adjSum
		b.Adjustment = Adjustment{Kind: "ratio", RawNum: rawNum, RawDen: rawDen}
		num, den = rawNum, rawDen
		switch {
		case num*capDen > capHighNum*den:
			num, den = capHighNum, capDen
		case num*capDen < capLowNum*den:
			num, den = capLowNum, capDen
		}
		if in.Direction == gridmint.DirectionDown && num > den || in.Direction == gridmint.DirectionUp && num < den {
			num, den = 1, 1
			b.Adjustment.Guarded = true
		}
		b.Adjustment.Num, b.Adjustment.Den = num, den
	}
	b.Energy = make([]gridmint.MWh, len(win))
	for i, s := range win {
		b.Energy[i] = gridmint.MWh(mulDivRound(s, num, den*n))
	}
	return b, nil
}

// ---------------------------------------------------- PJM high 4 of 5

// pjmHigh4of5V1 is PJM's default customer baseline load for economic load
// response (PJM Manual 11, Energy & Ancillary Services Market Operations,
// "CBL"): of the 5 most recent eligible weekdays, the 4 with the highest
// use in the event period, averaged per step, plus the symmetric additive
// adjustment.
//
// pjm_high4of5/v1:
//   - Weekday events: the 5 most recent eligible weekdays (not Holidays),
//     highest 4 by event-period energy (ties: the more recent). Saturday
//     events: the 3 most recent Saturdays, highest 2; Sunday and holiday
//     events: the 3 most recent Sundays or holidays, highest 2. Searched
//     back 45 days.
//   - Eligible: not Excluded, complete data; a day whose event-period
//     energy is below 25 % of the mean of the candidate days is dropped
//     and replaced by the next older one (PJM's low-usage rule).
//   - Symmetric additive adjustment (SAA): the event day's mean step in
//     the 3 hours starting 4 hours before the event minus the baseline's
//     mean step there, added to every step. PJM does not cap it.
//   - Guard (gridmint, not PJM): only the side that lowers the payment
//     applies: the addition is ≤ 0 for a down award, ≥ 0 for an up award,
//     so a down baseline is never above the plain mean of the chosen days.
//   - Rounding: one rounding per step, half away from zero.
type pjmHigh4of5V1 struct{}

func (pjmHigh4of5V1) Name() gridmint.BaselineMethod { return gridmint.BaselinePJMHigh4of5 }
func (pjmHigh4of5V1) Version() string               { return "pjm_high4of5/v1" }

var pjmEngine = xOfY{
	lookback: 45,
	dayType: func(in BaselineInput, event, d time.Time) bool {
		loc := in.loc()
		class := func(t time.Time) int {
			switch {
			case t.Weekday() == time.Sunday || containsDate(in.Holidays, loc, t):
				return 2
			case t.Weekday() == time.Saturday:
				return 1
			}
			return 0
		}
		return class(event) == class(d)
	},
	y:           func(weekday bool) int { return pick(weekday, 5, 3) },
	x:           func(weekday bool) int { return pick(weekday, 4, 2) },
	minDays:     func(weekday bool) int { return pick(weekday, 4, 2) },
	highest:     true,
	lowUsagePct: 25,
}

func (m pjmHigh4of5V1) Baseline(in BaselineInput) (Baseline, error) {
	if err := in.checkWindow(); err != nil {
		return Baseline{}, err
	}
	all, weekday := pjmEngine.days(in)
	days := pjmEngine.choose(all, weekday)
	if len(days) < pjmEngine.minDays(weekday) {
		return Baseline{}, reasonf(gridmint.FlexInsufficientHist, gridmint.ENotFound, "pjm_high4of5: %d eligible days in 45, need %d", len(days), pjmEngine.minDays(weekday))
	}
	actual, err := in.need("the adjustment window", in.Start.Add(-adjFrom), in.Start.Add(-adjTo))
	if err != nil {
		return Baseline{}, err
	}
	x, k := int64(len(days)), int64(len(actual))
	win, adjSum := sums(days, in.steps())
	b := in.result(m)
	for _, d := range days {
		b.Days = append(b.Days, d.date)
	}
	// add per step = Σactual/k − adjSum/(x·k) = (x·Σactual − adjSum)/(x·k).
	addNum := x*sum(actual) - adjSum
	b.Adjustment = Adjustment{Kind: "additive", RawAdd: gridmint.MWh(divRound(addNum, x*k))}
	if in.Direction == gridmint.DirectionDown && addNum > 0 || in.Direction == gridmint.DirectionUp && addNum < 0 {
		addNum = 0
		b.Adjustment.Guarded = true
	}
	b.Adjustment.Add = gridmint.MWh(divRound(addNum, x*k))
	b.Energy = make([]gridmint.MWh, len(win))
	for i, s := range win {
		b.Energy[i] = gridmint.MWh(divRound(k*s+addNum, x*k))
	}
	return b, nil
}
