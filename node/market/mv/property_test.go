package mv

import (
	"context"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/flex"
	"github.com/gridmint/gridmint/internal/fakeclock"
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/gridmint/gridmint/node/store"
)

// fakeEngine keeps the batches handed to it (unit tests of the service's
// logic; the network test uses the real engine).
type fakeEngine struct {
	mu      sync.Mutex
	batches []settle.Batch
}

func (f *fakeEngine) Attest(_ context.Context, b settle.Batch) error {
	_, err := f.Propose(b)
	return err
}

func (f *fakeEngine) Propose(b settle.Batch) (common.Hash, error) {
	if err := b.Validate(); err != nil {
		return common.Hash{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, b)
	return b.ID(), nil
}

func (f *fakeEngine) Lookup(common.Hash) (settle.Status, bool) { return settle.Status{}, false }

// TestMVProperties: over random households (meter data with gaps, power,
// prices, stakes, opt-outs declared in time or late, grid limits), what
// the service records, pays and slashes obeys the market rules:
// delivery is never negative and never above the award; payment is the
// clearing price × delivered kWh, never above the award's value, and the
// reward batch pays exactly the records; an exempt award is never
// slashed; a slash never exceeds the award's share of the stake and only
// follows an under-delivery that is not excused.
func TestMVProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2))
	seen := map[string]int{}
	defer func() {
		// The random cases reach every rule.
		for _, k := range []string{"paid", "slashed", "opt_out", "grid_limit", "under_delivered", "offline", "no_data", ""} {
			if seen[k] == 0 {
				t.Errorf("no iteration had %q (%v)", k, seen)
			}
		}
	}()
	for iter := range 60 {
		st, err := store.Open("", store.Options{InMemory: true})
		if err != nil {
			t.Fatal(err)
		}
		clock := fakeclock.New(t0)
		eng := &fakeEngine{}
		stakes := map[common.Address]*big.Int{}
		var exemptions []gridmint.FlexExemption
		svc, err := New(Options{Self: testAddr(0), Clock: clock, Store: st, Engine: eng,
			Exemptions: func() []gridmint.FlexExemption { return exemptions },
			StakesAt: func(_ context.Context, p common.Address, _ uint64) (*big.Int, error) {
				if s, ok := stakes[p]; ok {
					return new(big.Int).Set(s), nil
				}
				return new(big.Int), nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		w := t0.Add(time.Duration(rng.IntN(6)) * time.Hour)
		r := gridmint.Request{Zone: "DE-LU", WindowStart: w, WindowEnd: w.Add(30 * time.Minute), Power: 1_000_000, Direction: gridmint.DirectionDown,
			MaxPrice: 1000, GateClosure: w.Add(-time.Hour)}
		if rng.IntN(2) == 0 {
			r.Direction = gridmint.DirectionUp
		}
		sr := flex.SignedRequest{ID: flex.RequestHash(r), Buyer: testAddr(0).Hex(), Signed: w.Add(-2 * time.Hour), Request: r}
		var offers []flex.SignedOffer
		var msgs []p2p.Message
		for n := range 1 + rng.IntN(6) {
			node := 1 + rng.IntN(3)
			key := testDeviceKey(node)(gridmint.DeviceID(testAddr(node).Hex() + "/victron/bat-" + string(rune('a'+n))))
			o := gridmint.Offer{Device: wireID(node, key), Zone: "DE-LU", WindowStart: w, WindowEnd: w.Add(30 * time.Minute),
				Power: gridmint.W(100 + rng.IntN(5000)), Direction: r.Direction, FloorPrice: gridmint.MicroFLEX(rng.IntN(1000)),
				Baseline: gridmint.BaselineMeterBeforeAfter, Expiry: w.Add(-time.Hour)}
			offers = append(offers, flex.SignedOffer{ID: flex.OfferHash(o), Provider: testAddr(node).Hex(), Signed: w.Add(-90 * time.Minute), Offer: o})
			if rng.IntN(3) > 0 {
				stakes[testAddr(node)] = big.NewInt(rng.Int64N(1e18))
			}
			switch rng.IntN(5) {
			case 0:
				exemptions = append(exemptions, gridmint.FlexExemption{Device: o.Device, Reason: gridmint.FlexOptOut, DeclaredAt: w.Add(-time.Duration(rng.IntN(2)) * time.Minute),
					Start: w, End: w.Add(time.Hour)})
			case 1:
				exemptions = append(exemptions, gridmint.FlexExemption{Device: o.Device, Reason: gridmint.FlexGridLimit, DeclaredAt: w.Add(10 * time.Minute),
					Start: w.Add(10 * time.Minute), End: w.Add(20 * time.Minute)})
			}
			if rng.IntN(6) == 0 {
				continue // a provider that sends nothing
			}
			e := p2p.IntervalEnergy{Device: key, Request: sr.ID, Start: w.Add(-15 * time.Minute), Step: Step}
			full := rng.IntN(3) == 0 // a household that delivers all it was awarded
			for i := range 12 {
				v := gridmint.MWh(rng.IntN(600_000) - 300_000)
				if full {
					v = 450_000 // outside the window; inside it, the other way
					if i >= 3 && i < 9 {
						v = -v
					}
					if r.Direction == gridmint.DirectionUp {
						v = -v
					}
				}
				e.Energy = append(e.Energy, v)
			}
			if rng.IntN(4) == 0 {
				// A gap inside the window: two messages around it.
				cut := 3 + rng.IntN(6)
				tail := e
				tail.Start, tail.Energy = e.Start.Add(time.Duration(cut+1)*Step), e.Energy[cut+1:]
				e.Energy = e.Energy[:cut]
				msgs = append(msgs, p2p.Message{Kind: p2p.KindMeter, Author: testAddr(node), Body: tail})
			}
			msgs = append(msgs, p2p.Message{Kind: p2p.KindMeter, Author: testAddr(node), Body: e})
		}
		res := flex.Clear([]flex.SignedRequest{sr}, offers)
		if len(res.Clearings) != 1 {
			t.Fatalf("iteration %d: clearing %+v", iter, res)
		}
		c := res.Clearings[0]
		svc.Track(t.Context(), FirmEvent{Clearing: c, Reserved: c.Value(), ReservationBlock: 1})
		for _, m := range msgs {
			svc.HandleMessage(m)
		}
		clock.Set(w.Add(30*time.Minute + 15*time.Minute + 10*time.Minute))
		svc.Step(t.Context())
		evs := svc.Events(&c.RequestID)
		if len(evs) != 1 || evs[0].State != "verified" || len(evs[0].Deliveries) != len(c.Awards) {
			t.Fatalf("iteration %d: events %+v", iter, evs)
		}
		paid := new(big.Int)
		slashedBy := map[string]*big.Int{}
		for _, d := range evs[0].Deliveries {
			a := awardOf(c.Awards, d.OfferID)
			if d.Delivered < 0 || d.Delivered > d.Awarded || d.Awarded > a.Energy() {
				t.Errorf("iteration %d: delivered %v of %v (award %v)", iter, d.Delivered, d.Awarded, a.Energy())
			}
			want := new(big.Int).Mul(big.NewInt(int64(c.Price)), big.NewInt(int64(d.Delivered)*1_000_000))
			if d.Reason == gridmint.FlexOptOut {
				want = new(big.Int) // never dispatched: nothing it shows is delivery
			}
			if d.Payment.Cmp(want) != 0 || d.Payment.Cmp(a.Value()) > 0 {
				t.Errorf("iteration %d: payment %v, want price × delivered %v, at most the award's value %v", iter, d.Payment, want, a.Value())
			}
			paid.Add(paid, d.Payment)
			seen[string(d.Reason)]++
			if d.Payment.Sign() > 0 {
				seen["paid"]++
			}
			if d.Slash != nil {
				seen["slashed"]++
			}
			if d.Slash == nil {
				continue
			}
			if d.Exempt() || d.Performance() >= flex.Tolerance || d.Reason == "" {
				t.Errorf("iteration %d: slashed %v with reason %q, performance %d", iter, d.Slash, d.Reason, d.Performance())
			}
			// At most the award's share of the stake (one request: the
			// provider's day value is its awards here).
			day := new(big.Int)
			for _, x := range c.Awards {
				if strings.EqualFold(x.Provider, a.Provider) {
					day.Add(day, x.Value())
				}
			}
			share := new(big.Int).Mul(stakes[common.HexToAddress(a.Provider)], a.Value())
			share.Quo(share, day)
			if d.Slash.Sign() <= 0 || d.Slash.Cmp(share) > 0 {
				t.Errorf("iteration %d: slash %v above the award's share %v", iter, d.Slash, share)
			}
			p := strings.ToLower(a.Provider)
			if slashedBy[p] == nil {
				slashedBy[p] = new(big.Int)
			}
			slashedBy[p].Add(slashedBy[p], d.Slash)
		}
		for p, total := range slashedBy {
			if total.Cmp(stakes[common.HexToAddress(p)]) > 0 {
				t.Errorf("iteration %d: %s slashed %v of its stake %v", iter, p, total, stakes[common.HexToAddress(p)])
			}
		}
		// The batches: one reward batch paying exactly the records, one
		// slash batch per slash.
		minted, slashes := new(big.Int), 0
		for _, b := range eng.batches {
			switch b.Kind {
			case settle.KindFLEXReward:
				for _, rw := range b.Reward.Rewards {
					minted.Add(minted, rw.Amount)
				}
			case settle.KindFLEXSlash:
				slashes++
			}
		}
		if minted.Cmp(paid) != 0 {
			t.Errorf("iteration %d: reward batches mint %v, records pay %v", iter, minted, paid)
		}
		n := 0
		for _, d := range evs[0].Deliveries {
			if d.Slash != nil {
				n++
			}
		}
		if slashes != n {
			t.Errorf("iteration %d: %d slash batches for %d slashes", iter, slashes, n)
		}
		st.Close()
	}
}
