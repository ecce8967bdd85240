package flex

import (
	"bytes"
	"cmp"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/gridmint/gridmint"
)

// Slash is the penalty for one under-delivered award, in FLEX base units,
// with the numbers the FLEX contract's slash checks (chain.Slash: award,
// awardPrice = AwardValue, windowValue = WindowValue, amount = Amount).
type Slash struct {
	RecordID  [32]byte
	RequestID gridmint.RequestID
	OfferID   gridmint.OfferID
	Provider  string
	// Day is the settlement day (UTC) of the award's window start.
	Day time.Time
	// AwardValue is the award's value; WindowValue the provider's total
	// awarded value on Day.
	AwardValue, WindowValue *big.Int
	// Stake is the provider's stake before this slash, Share the most
	// this slash may take (Stake × AwardValue / WindowValue, as the
	// contract computes it), Amount what it takes.
	Stake, Share, Amount *big.Int
}

// Slashes computes the slashes of the given delivery records, to be
// executed in the returned order against stakes (base units by provider
// address, any case).
//
// Rules (the "no cascade" bound):
//   - Only awards delivered below Tolerance and not excused (opt_out,
//     grid_limit) are slashed.
//   - The contract's "window" is the settlement day: the UTC day of the
//     award's window start. WindowValue is the provider's total awarded
//     value over the awards that start that day, so the shares of one
//     day's awards add up to at most the stake. The caller decides which
//     of the day's awards count, and every node must pass the same ones:
//     node/market/mv passes those starting before the slashed event's
//     window ends (each was reserved, so tracked by every node, before
//     the event is verified); one reserved later would be in some nodes'
//     sums and not others'.
//   - Share = ⌊stake × AwardValue / WindowValue⌋ with the stake given
//     (node/market/mv passes the stake at the event's reservation block,
//     the same on every node) less the slashes before it;
//     Amount = ⌊Share × shortfall / Awarded⌋, shortfall = Awarded −
//     Delivered. So one award never takes more than its share, and one day
//     never more than the stake. The FLEX contract burns Amount capped at
//     the share of the stake when the slash executes.
//   - Order: provider, day, request ID, offer ID; the stake a slash sees
//     is the stake after the ones before it, as on chain.
//
// awards must hold every award of each provider on each day concerned
// (for WindowValue); records without their award are skipped.
func Slashes(awards []gridmint.Award, records []gridmint.DeliveryRecord, stakes map[string]*big.Int) []Slash {
	type pk struct {
		provider string
		day      int64
	}
	dayOf := func(t time.Time) time.Time {
		u := t.UTC()
		return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	}
	type ak struct {
		r gridmint.RequestID
		o gridmint.OfferID
	}
	window := map[pk]*big.Int{}
	byKey := map[ak]gridmint.Award{}
	for _, a := range awards {
		k := ak{a.RequestID, a.OfferID}
		if _, dup := byKey[k]; dup {
			continue
		}
		byKey[k] = a
		p := pk{strings.ToLower(a.Provider), dayOf(a.WindowStart).Unix()}
		if window[p] == nil {
			window[p] = new(big.Int)
		}
		window[p].Add(window[p], a.Value())
	}
	stake := map[string]*big.Int{}
	for p, s := range stakes {
		if s != nil && s.Sign() > 0 {
			stake[strings.ToLower(p)] = new(big.Int).Add(new(big.Int).Set(s), stakeOr(stake[strings.ToLower(p)]))
		}
	}
	recs := slices.Clone(records)
	slices.SortFunc(recs, func(a, b gridmint.DeliveryRecord) int {
		if c := cmp.Compare(strings.ToLower(a.Provider), strings.ToLower(b.Provider)); c != 0 {
			return c
		}
		if c := dayOf(a.WindowStart).Compare(dayOf(b.WindowStart)); c != 0 {
			return c
		}
		if c := bytes.Compare(a.RequestID[:], b.RequestID[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.OfferID[:], b.OfferID[:])
	})
	var out []Slash
	seen := map[ak]bool{}
	for _, r := range recs {
		k := ak{r.RequestID, r.OfferID}
		a, ok := byKey[k]
		if !ok || seen[k] || r.Exempt() || r.Awarded <= 0 || r.Performance() >= Tolerance {
			continue
		}
		seen[k] = true
		prov := strings.ToLower(a.Provider)
		st := stake[prov]
		wv := window[pk{prov, dayOf(a.WindowStart).Unix()}]
		av := a.Value()
		if st == nil || st.Sign() <= 0 || av.Sign() <= 0 || wv == nil || wv.Cmp(av) < 0 {
			continue
		}
		share := new(big.Int).Mul(st, av)
		share.Quo(share, wv)
		shortfall := int64(r.Awarded - max(0, min(r.Delivered, r.Awarded)))
		amount := new(big.Int).Mul(share, big.NewInt(shortfall))
		amount.Quo(amount, big.NewInt(int64(r.Awarded)))
		if amount.Sign() == 0 {
			continue // the contract refuses a zero slash
		}
		out = append(out, Slash{
			RecordID: SlashRecordID(r.RequestID, r.OfferID), RequestID: r.RequestID, OfferID: r.OfferID, Provider: a.Provider,
			Day: dayOf(a.WindowStart), AwardValue: av, WindowValue: new(big.Int).Set(wv),
			Stake: new(big.Int).Set(st), Share: share, Amount: amount,
		})
		st.Sub(st, amount)
	}
	return out
}

func stakeOr(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}
