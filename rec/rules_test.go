package rec

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// golden is the coarse location of Golden, Colorado.
var golden = gridmint.CoarseLocation{LatTenths: 397, LonTenths: -1052}

// mkClaim is a valid claim of device dev for hour h with the given
// profile, counters starting at 1 kWh and no carry.
func mkClaim(dev byte, h gridmint.Hour, nameplate gridmint.W, loc gridmint.CoarseLocation, q gridmint.Quality, profile gridmint.Profile) gridmint.Claim {
	c := gridmint.Claim{
		Device: gridmint.DeviceKey{dev}, Node: gridmint.Address{0xa, dev}, Owner: gridmint.Address{0xb}, Zone: "US-CO",
		Technology: gridmint.TechnologySolarPV, Hour: h, CounterStart: 1_000_000, Profile: profile, Quality: q,
		Readings: 14, ReadingsRoot: gridmint.Hash{1}, Nameplate: nameplate, Location: loc,
	}
	c.CounterEnd = c.CounterStart + profile.Sum()
	c.Wh = gridmint.Wh(c.Energy() / 1000)
	return c
}

func flat(e gridmint.MWh) gridmint.Profile {
	var p gridmint.Profile
	for i := range p {
		p[i] = e
	}
	return p
}

func utcHour(y int, m time.Month, d, h int) gridmint.Hour {
	return gridmint.HourOf(time.Date(y, m, d, h, 0, 0, 0, time.UTC))
}

func TestCheckClaimRules(t *testing.T) {
	r := DefaultRules()
	noonJune := utcHour(2025, 6, 21, 18)    // 12:00 MDT in Golden
	midnightJune := utcHour(2025, 6, 21, 7) // 01:00 MDT
	sunriseJune := utcHour(2025, 6, 21, 11) // sunrise about 11:32 UTC
	now := time.Date(2025, 6, 22, 0, 0, 0, 0, time.UTC)
	night := func(sub int, e gridmint.MWh) gridmint.Profile {
		var p gridmint.Profile
		p[sub] = e
		return p
	}
	afterSunrise := func(total gridmint.MWh) gridmint.Profile {
		var p gridmint.Profile
		for k := 6; k < 12; k++ {
			p[k] = total / 6
		}
		return p
	}
	broken := mkClaim(1, noonJune, 5000, golden, gridmint.QualityOK, flat(400_000))
	broken.Profile[0]++
	tromso := gridmint.CoarseLocation{LatTenths: 697, LonTenths: 189}
	tests := []struct {
		name  string
		claim gridmint.Claim
		want  []gridmint.ClaimReason
	}{
		{"noon, 4.8 kWh from 5 kW: passes", mkClaim(1, noonJune, 5000, golden, gridmint.QualityOK, flat(400_000)), nil},
		{"noon, exactly nameplate × 1 h × 1.1: passes", mkClaim(1, noonJune, 5000, golden, gridmint.QualityOK, flat(5_500_000/12)), nil},
		{"noon, 5.52 kWh from 5 kW", mkClaim(1, noonJune, 5000, golden, gridmint.QualityOK, flat(460_000)),
			[]gridmint.ClaimReason{gridmint.ClaimNameplate}},
		{"midnight, 9 Wh in a sub-interval from 5 kW: within the tolerance (1 Wh + 2 % of 417 Wh)",
			mkClaim(1, midnightJune, 5000, golden, gridmint.QualityOK, night(3, 9_000)), nil},
		{"midnight, 10 Wh in a sub-interval from 5 kW", mkClaim(1, midnightJune, 5000, golden, gridmint.QualityOK, night(3, 10_000)),
			[]gridmint.ClaimReason{gridmint.ClaimSunBelowHorizon}},
		{"sunrise hour, energy before sunrise", mkClaim(1, sunriseJune, 5000, golden, gridmint.QualityOK, night(1, 50_000)),
			[]gridmint.ClaimReason{gridmint.ClaimSunBelowHorizon}},
		{"sunrise hour, half an hour of 5 kW after sunrise: fits", mkClaim(1, sunriseJune, 5000, golden, gridmint.QualityOK, afterSunrise(2_000_000)), nil},
		{"sunrise hour, a full hour of 5 kW squeezed after sunrise", mkClaim(1, sunriseJune, 5000, golden, gridmint.QualityOK, afterSunrise(5_000_000)),
			[]gridmint.ClaimReason{gridmint.ClaimNameplate, gridmint.ClaimAboveClearSky}},
		{"noon, 5 kW × 5 min × 1.1 + 1 Wh in a sub-interval: fits", mkClaim(1, noonJune, 5000, golden, gridmint.QualityOK, gridmint.Profile{0: 459_333, 1: 100_000}), nil},
		{"noon, 6 kW for 5 min from a 5 kW inverter, the hour within 5 kWh", mkClaim(1, noonJune, 5000, golden, gridmint.QualityOK, gridmint.Profile{0: 500_000, 1: 100_000}),
			[]gridmint.ClaimReason{gridmint.ClaimNameplate}},
		{"polar night in Tromsø at noon", mkClaim(1, utcHour(2024, 12, 21, 11), 5000, tromso, gridmint.QualityOK, flat(40_000)),
			[]gridmint.ClaimReason{gridmint.ClaimSunBelowHorizon, gridmint.ClaimAboveClearSky}},
		{"energy in an hour without readings", mkClaim(1, noonJune, 5000, golden, gridmint.QualityMissing, flat(100_000)),
			[]gridmint.ClaimReason{gridmint.ClaimMissingData}},
		{"no energy in an hour without readings: nothing to refuse", mkClaim(1, midnightJune, 5000, golden, gridmint.QualityMissing, gridmint.Profile{}), nil},
		{"an estimated hour is checked like any other", mkClaim(1, noonJune, 5000, golden, gridmint.QualityEstimated, flat(400_000)), nil},
		{"the hour has not ended", mkClaim(1, gridmint.HourOf(now), 5000, golden, gridmint.QualityOK, gridmint.Profile{}),
			[]gridmint.ClaimReason{gridmint.ClaimFutureHour}},
		{"profile does not add up to the counters", broken, []gridmint.ClaimReason{gridmint.ClaimInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := r.CheckClaim(tt.claim, now)
			var got []gridmint.ClaimReason
			for _, f := range fs {
				got = append(got, f.Reason)
				if !f.Refuse || f.Claim != ID(tt.claim) || f.Detail == "" {
					t.Errorf("finding %+v: want a refusal of %s with a detail", f, ID(tt.claim))
				}
			}
			if strings.Join(reasons(got), ",") != strings.Join(reasons(tt.want), ",") {
				t.Errorf("reasons %v, want %v; findings %+v", got, tt.want, fs)
			}
		})
	}
}

func reasons(rs []gridmint.ClaimReason) []string {
	var out []string
	for _, r := range rs {
		out = append(out, string(r))
	}
	return out
}

// TestEveryReasonIsDocumented: the package doc lists every reason code.
func TestEveryReasonIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range gridmint.ClaimReasons {
		if !strings.Contains(string(doc), "//\t"+string(r)+" ") {
			t.Errorf("reason %q is not in the package doc's list", r)
		}
	}
}
