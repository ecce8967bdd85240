package firmwaresim

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Real EV charging habits: the residential sessions of Sorensen et al.
// (Data in Brief 2021, Mendeley Data jbks2rcwyj, CC BY 4.0; see
// profiles/SOURCES.md):
// 6,878 sessions in Trondheim garages, December 2018 to January 2020,
// one row per session with the plug-in and plug-out times (local
// Norwegian wall-clock time, dd.mm.yyyy HH:MM) and the energy charged
// (kWh with a decimal comma). The embedded copy keeps only what is used:
// the 5,349 valid private sessions of the 49 users below, in the five
// columns ParseTrondheim reads (it reads the original file alike).
//
// A go-eCharger with EVHabits follows one user of the data with at least
// MinUserSessions sessions at a private charger (sessions at the garages'
// shared chargers are left out): each car session is one of that user's
// private sessions drawn at random, keeping its plug-in time of day,
// its plugged-in duration, its energy and the number of days the user
// waited after the previous session. So each home keeps a real person's
// habits (an evening plug-in and a morning departure, a weekly top-up, a
// car left plugged over a weekend) without replaying the same weeks.
// Weekday and season are not matched. The data's wall-clock times are
// used as profile-clock times; the one-hour daylight-saving shift within a
// session is ignored.

//go:embed profiles/trondheim_residential_EV_charging_reports_dataset1.csv
var trondheimCSV []byte

// MinUserSessions is how many valid private-charger sessions a user of
// the data needs to lend a home its habits (49 users qualify).
const MinUserSessions = 20

// maxSessionDuration drops the data's rare sessions of more than two weeks
// (a car parked for a holiday is not a charging habit).
const maxSessionDuration = 14 * 24 * time.Hour

// maxEVRows bounds a session file.
const maxEVRows = 100_000

// EVSessionSample is one real charging session.
type EVSessionSample struct {
	StartMinute int           // minute of the day the car was plugged in, 0..1439
	Duration    time.Duration // plugged-in time
	KWh         float64       // energy charged, kWh
	// GapDays is the number of calendar days from the user's previous
	// plug-out to this plug-in (0: the same day); 1 for a user's first
	// session.
	GapDays int
}

// EVSessionData is a parsed session file. Immutable and safe for
// concurrent use.
type EVSessionData struct {
	users    map[string][]EVSessionSample // private sessions only
	eligible []string                     // sorted
	skipped  int
	shared   int
}

var defaultEVSessions = sync.OnceValues(func() (*EVSessionData, error) {
	return ParseTrondheim(bytes.NewReader(trondheimCSV))
})

// DefaultEVSessions returns the embedded Trondheim sessions. It is parsed
// once.
func DefaultEVSessions() (*EVSessionData, error) { return defaultEVSessions() }

// ParseTrondheim reads the data set's CSV: semicolon-separated, a header
// with at least User_ID, User_type, Start_plugin, End_plugout and El_kWh,
// then one row per session. Rows whose plug-out or energy is "NA", whose
// duration or energy is not positive, or which last more than two weeks
// are skipped (Skipped counts them), and so are sessions at shared
// chargers (Shared); anything else malformed is an error.
func ParseTrondheim(r io.Reader) (*EVSessionData, error) {
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("ev sessions: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	need := []string{"User_ID", "User_type", "Start_plugin", "End_plugout", "El_kWh"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("ev sessions: header has no %q column", n)
		}
	}
	cr.FieldsPerRecord = len(header)
	type row struct {
		start, end time.Time
		kWh        float64
	}
	rows := map[string][]row{}
	d := &EVSessionData{users: map[string][]EVSessionSample{}}
	const layout = "02.01.2006 15:04"
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("ev sessions: row %d: %w", n, err)
		}
		if n > maxEVRows {
			return nil, fmt.Errorf("ev sessions: more than %d rows", maxEVRows)
		}
		user, typ := rec[col["User_ID"]], rec[col["User_type"]]
		startS, endS, kWhS := rec[col["Start_plugin"]], rec[col["End_plugout"]], rec[col["El_kWh"]]
		if user == "" || user == "NA" {
			return nil, fmt.Errorf("ev sessions: row %d: no User_ID", n)
		}
		if startS == "NA" || endS == "NA" || kWhS == "NA" {
			d.skipped++
			continue
		}
		start, err := time.Parse(layout, startS)
		if err != nil {
			return nil, fmt.Errorf("ev sessions: row %d Start_plugin %q: want dd.mm.yyyy HH:MM", n, startS)
		}
		end, err := time.Parse(layout, endS)
		if err != nil {
			return nil, fmt.Errorf("ev sessions: row %d End_plugout %q: want dd.mm.yyyy HH:MM", n, endS)
		}
		// Decimal comma; a point would be a thousands separator nobody uses
		// here, so reject it rather than guess.
		if strings.Contains(kWhS, ".") {
			return nil, fmt.Errorf("ev sessions: row %d El_kWh %q: want a decimal comma", n, kWhS)
		}
		kWh, err := strconv.ParseFloat(strings.Replace(kWhS, ",", ".", 1), 64)
		if err != nil || math.IsNaN(kWh) || math.IsInf(kWh, 0) {
			return nil, fmt.Errorf("ev sessions: row %d El_kWh %q is not a number", n, kWhS)
		}
		if !end.After(start) || kWh <= 0 || kWh > 1000 || end.Sub(start) > maxSessionDuration {
			d.skipped++
			continue
		}
		if typ != "Private" {
			// A shared charger in the garage: not the home's habit.
			d.shared++
			continue
		}
		rows[user] = append(rows[user], row{start, end, kWh})
	}
	for user, rs := range rows {
		slices.SortFunc(rs, func(a, b row) int { return a.start.Compare(b.start) })
		ss := make([]EVSessionSample, len(rs))
		for i, r := range rs {
			gap := 1
			if i > 0 {
				gap = max(0, daysBetween(rs[i-1].end, r.start))
			}
			hh, mm, _ := r.start.Clock()
			ss[i] = EVSessionSample{StartMinute: hh*60 + mm, Duration: r.end.Sub(r.start), KWh: r.kWh, GapDays: gap}
		}
		d.users[user] = ss
		if len(ss) >= MinUserSessions {
			d.eligible = append(d.eligible, user)
		}
	}
	slices.Sort(d.eligible)
	if len(d.eligible) == 0 {
		return nil, errors.New("ev sessions: no private user with enough sessions")
	}
	return d, nil
}

// daysBetween counts calendar days from a's date to b's.
func daysBetween(a, b time.Time) int {
	ad := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	bd := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(math.Round(bd.Sub(ad).Hours() / 24))
}

// Users lists the private users with at least MinUserSessions sessions,
// sorted: the habits a home can have.
func (d *EVSessionData) Users() []string { return slices.Clone(d.eligible) }

// Sessions returns a user's valid sessions in time order (nil for an
// unknown user).
func (d *EVSessionData) Sessions(user string) []EVSessionSample {
	return slices.Clone(d.users[user])
}

// Skipped is the number of rows without plug-out or energy, with a
// non-positive duration or energy, or longer than two weeks.
func (d *EVSessionData) Skipped() int { return d.skipped }

// Shared is the number of valid sessions at shared garage chargers
// (User_type Shared), which are not a home's habit and are left out.
func (d *EVSessionData) Shared() int { return d.shared }

// EVHabits makes a go-eCharger's cars follow a real user's charging
// sessions on the profile clock (see the evsessions.go file comment)
// instead of the fixed schedule.
type EVHabits struct {
	// User is the data set's User_ID whose habits the cars follow, e.g.
	// "AdO3-4"; "" draws one of the eligible users from the seed and the
	// charger's serial.
	User string `yaml:"user"`
	// PluggedAtStart plugs the first car in at once, with a session drawn
	// from the user's, so a demo shows charging whatever the hour.
	PluggedAtStart bool `yaml:"plugged_at_start"`
}

// evPlan is one car session on the profile clock.
type evPlan struct {
	arrive, depart time.Time // profile time
	kWh            float64   // the data's energy, kWh (before Speed)
}

// evHabit draws a charger's sessions from one user's.
type evHabit struct {
	user     string
	sessions []EVSessionSample
	seed     uint64
	serial   string
}

func newEVHabit(h *EVHabits, field, serial string, seed uint64) (*evHabit, error) {
	data, err := DefaultEVSessions()
	if err != nil {
		return nil, fmt.Errorf("embedded EV sessions: %w", err)
	}
	user := h.User
	if user == "" {
		users := data.eligible
		user = users[deviceRand(seed, "ev-user/"+serial).IntN(len(users))]
	}
	if !slices.Contains(data.eligible, user) {
		return nil, invalid("%s.User %q: not a private user with at least %d sessions in the data (e.g. %s)", field, h.User, MinUserSessions, data.eligible[0])
	}
	return &evHabit{user: user, sessions: data.users[user], seed: seed, serial: serial}, nil
}

// plan draws session n, the first plug-in at or after prevDepart (profile
// time). first is the charger's first session: it starts on the day of
// prevDepart rather than after the drawn gap.
func (h *evHabit) plan(n int, prevDepart time.Time, first, atOnce bool) evPlan {
	r := deviceRand(h.seed, "ev-session/"+h.serial+"/"+strconv.Itoa(n))
	s := h.sessions[r.IntN(len(h.sessions))]
	if atOnce {
		return evPlan{arrive: prevDepart, depart: prevDepart.Add(s.Duration), kWh: s.KWh}
	}
	gap := s.GapDays
	if first {
		gap = 0
	}
	y, m, d := prevDepart.Date()
	arrive := time.Date(y, m, d+gap, 0, 0, 0, 0, prevDepart.Location()).Add(time.Duration(s.StartMinute) * time.Minute)
	for arrive.Before(prevDepart) {
		arrive = arrive.AddDate(0, 0, 1)
	}
	return evPlan{arrive: arrive, depart: arrive.Add(s.Duration), kWh: s.KWh}
}
