package flex

import (
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

func flex(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// failed is a record of a delivered, awarded mWh.
func recordFor(a gridmint.Award, delivered gridmint.MWh, reason gridmint.FlexReason) gridmint.DeliveryRecord {
	return gridmint.DeliveryRecord{RequestID: a.RequestID, OfferID: a.OfferID, Provider: a.Provider, Device: a.Device,
		WindowStart: a.WindowStart, WindowEnd: a.WindowEnd, Awarded: a.Energy(), Delivered: delivered, Price: a.Price, Reason: reason}
}

func dayAward(n int, provider string, watts gridmint.W, start time.Time) gridmint.Award {
	return gridmint.Award{RequestID: rid(n), OfferID: oid(n), Provider: provider, Device: dev(n), Meter: dev(n),
		Direction: gridmint.DirectionDown, WindowStart: start, WindowEnd: start.Add(time.Hour), Power: watts, Price: 1_000_000}
}

func TestSlashBoundedByShare(t *testing.T) {
	p := addr(1)
	day := date(2026, 11, 22)
	// 3 FLEX and 1 FLEX awarded the same day: window value 4 FLEX.
	a := dayAward(1, p, 3000, day.Add(17*time.Hour))
	b := dayAward(2, p, 1000, day.Add(18*time.Hour))
	stake := flex(1000)
	slashes := Slashes([]gridmint.Award{a, b}, []gridmint.DeliveryRecord{recordFor(a, 0, gridmint.FlexUnderDelivered), recordFor(b, 0, gridmint.FlexUnderDelivered)},
		map[string]*big.Int{p: stake})
	if len(slashes) != 2 {
		t.Fatalf("%d slashes, want 2", len(slashes))
	}
	left := flex(1000)
	total := new(big.Int)
	for _, s := range slashes {
		share := new(big.Int).Quo(new(big.Int).Mul(left, s.AwardValue), flex(4))
		if s.WindowValue.Cmp(flex(4)) != 0 || s.Stake.Cmp(left) != 0 || s.Share.Cmp(share) != 0 || s.Amount.Cmp(share) != 0 {
			t.Errorf("slash %+v: want stake %v, share %v, the whole share (nothing delivered)", s, left, share)
		}
		left.Sub(left, s.Amount)
		total.Add(total, s.Amount)
	}
	if total.Cmp(flex(1000)) > 0 || stake.Cmp(flex(1000)) != 0 {
		t.Errorf("slashed %v of 1000 FLEX; the caller's stake changed to %v", total, stake)
	}

	// Half delivered: half the share.
	half := Slashes([]gridmint.Award{a}, []gridmint.DeliveryRecord{recordFor(a, a.Energy()/2, gridmint.FlexUnderDelivered)}, map[string]*big.Int{p: flex(1000)})
	if len(half) != 1 || half[0].Amount.Cmp(flex(500)) != 0 {
		t.Errorf("half delivered alone on its day: %+v, want 500 FLEX", half)
	}

	for name, r := range map[string]gridmint.DeliveryRecord{
		"opt-out":          recordFor(a, 0, gridmint.FlexOptOut),
		"grid limit":       recordFor(a, 0, gridmint.FlexGridLimit),
		"within tolerance": recordFor(a, a.Energy()*9/10+1, ""),
	} {
		if s := Slashes([]gridmint.Award{a}, []gridmint.DeliveryRecord{r}, map[string]*big.Int{p: flex(1000)}); len(s) != 0 {
			t.Errorf("%s: slashed %+v", name, s)
		}
	}
	if s := Slashes(nil, []gridmint.DeliveryRecord{recordFor(a, 0, gridmint.FlexOffline)}, map[string]*big.Int{p: flex(1000)}); len(s) != 0 {
		t.Errorf("record without its award: slashed %+v", s)
	}
}

// TestSlashesNeverCascade: over random days of awards and failures, no
// slash exceeds its share, and one provider's slashes of one day never
// exceed its stake.
func TestSlashesNeverCascade(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for iter := 0; iter < 300; iter++ {
		var awards []gridmint.Award
		var recs []gridmint.DeliveryRecord
		stakes := map[string]*big.Int{}
		for p := 0; p < 3; p++ {
			stakes[addr(p)] = big.NewInt(int64(rng.IntN(1_000_000_000)))
		}
		for n := 0; n < 2+rng.IntN(20); n++ {
			start := date(2026, 11, 22+rng.IntN(2)).Add(time.Duration(rng.IntN(23)) * time.Hour)
			a := dayAward(iter*100+n, addr(rng.IntN(3)), gridmint.W(1+rng.IntN(20_000)), start)
			a.Price = gridmint.MicroFLEX(1 + rng.IntN(2_000_000))
			awards = append(awards, a)
			e := a.Energy()
			recs = append(recs, recordFor(a, gridmint.MWh(rng.Int64N(int64(e)+1)), gridmint.FlexUnderDelivered))
		}
		slashed := map[string]map[time.Time]*big.Int{}
		for _, s := range Slashes(awards, recs, stakes) {
			if s.Amount.Sign() <= 0 || s.Amount.Cmp(s.Share) > 0 {
				t.Fatalf("iter %d: amount %v outside (0, share %v]", iter, s.Amount, s.Share)
			}
			want := new(big.Int).Quo(new(big.Int).Mul(s.Stake, s.AwardValue), s.WindowValue)
			if s.Share.Cmp(want) != 0 {
				t.Fatalf("iter %d: share %v, contract computes %v", iter, s.Share, want)
			}
			if slashed[s.Provider] == nil {
				slashed[s.Provider] = map[time.Time]*big.Int{}
			}
			if slashed[s.Provider][s.Day] == nil {
				slashed[s.Provider][s.Day] = new(big.Int)
			}
			slashed[s.Provider][s.Day].Add(slashed[s.Provider][s.Day], s.Amount)
		}
		for p, days := range slashed {
			total := new(big.Int)
			for _, v := range days {
				if v.Cmp(stakes[p]) > 0 {
					t.Fatalf("iter %d: %s lost %v in one day, stake %v", iter, p, v, stakes[p])
				}
				total.Add(total, v)
			}
			if total.Cmp(stakes[p]) > 0 {
				t.Fatalf("iter %d: %s lost %v, more than its stake %v", iter, p, total, stakes[p])
			}
		}
	}
}
