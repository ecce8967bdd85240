package flex

import (
	"bytes"
	"cmp"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/gridmint/gridmint"
)

// SignedOffer is an offer as clearing sees it: the ID and signer of its
// signed message and when it was signed.
type SignedOffer struct {
	ID gridmint.OfferID
	// Provider is the signer's 0x address: it is paid and its stake backs
	// the award.
	Provider string
	// Signed is the message's creation time; an offer signed after a
	// request's gate closure does not take part in that request.
	Signed time.Time
	Offer  gridmint.Offer
}

// SignedRequest is a request as clearing sees it.
type SignedRequest struct {
	ID      gridmint.RequestID
	Buyer   string // the utility's 0x address
	Signed  time.Time
	Request gridmint.Request
}

// Clearing is the outcome of one request.
type Clearing struct {
	RequestID gridmint.RequestID
	Request   gridmint.Request
	// Price is the clearing price, MicroFLEX per kWh: the highest floor
	// price among the accepted offers, never above the request's maximum;
	// 0 when nothing cleared.
	Price gridmint.MicroFLEX
	// Awarded is the sum of the awards' power; Short says it is below the
	// requested power (not enough eligible offers).
	Awarded gridmint.W
	Short   bool
	// Awards are sorted by offer ID, all at Price.
	Awards []gridmint.Award
	// Root is AwardsRoot(Awards): what the utility's reserve names.
	Root [32]byte
}

// Value is the cleared value in FLEX base units: the sum of the awards'
// values, what the utility must burn to reserve them.
func (c Clearing) Value() *big.Int {
	v := new(big.Int)
	for _, a := range c.Awards {
		v.Add(v, a.Value())
	}
	return v
}

// Skipped is an input clearing did not use, and why.
type Skipped struct {
	ID     [32]byte
	Offer  bool // an offer; else a request
	Reason gridmint.FlexReason
	Detail string
}

// Result is the outcome of one clearing run.
type Result struct {
	// Clearings in clearing order: gate closure, then window start, then
	// request ID.
	Clearings []Clearing
	// Skipped inputs, sorted by kind and ID.
	Skipped []Skipped
}

// Clear clears requests against offers. It is a pure function of the two
// sets: input order and duplicates (the same message from two peers) do
// not matter, so every node computes the same awards and roots.
//
// Rules:
//   - Inputs that fail validation (Offer.Validate / Request.Validate,
//     whole watts and whole seconds as on the wire, a 0x provider, a zero
//     ID or signing time) are skipped as invalid; two different inputs
//     with one ID are both skipped (id_conflict).
//   - Requests clear one at a time in order of gate closure, window start,
//     request ID. Each offer is awarded at most once, and a device holds
//     at most one award at any moment: an offer whose device already has
//     an award in an overlapping window is passed over.
//   - An offer is eligible for a request when zone and direction are the
//     same, its window contains the request's window, it was signed at or
//     before the gate closure, it has not expired at the gate closure
//     (Expiry ≥ gate closure), and its floor price is at most the
//     request's maximum price. Offers above the maximum never clear.
//   - Merit order: floor price ascending, ties by offer ID (bytes,
//     ascending), nothing else.
//   - Offers are accepted whole, in merit order, while the accepted power
//     is below the requested power. The margin: the offer that crosses the
//     requested power is accepted whole, so the request is met and
//     over-procured by less than that one offer's power; a utility that
//     needs the power gets it, and no cheaper offer is passed over for a
//     dearer one that fits. If the eligible offers do not reach the
//     request, all are accepted and the clearing is Short.
//   - Pay-as-clear: every award of a request is priced at the floor price
//     of the last (dearest) accepted offer, which is at most the request's
//     maximum price.
//   - Awards take the request's window and the offer's power, meter of
//     record and baseline method; they are sorted by offer ID and hashed
//     into the awards root (AwardsRoot).
func Clear(requests []SignedRequest, offers []SignedOffer) Result {
	var res Result
	kept := dedupOffers(offers, &res.Skipped)
	reqs := dedupRequests(requests, &res.Skipped)
	res.Skipped = sortSkipped(res.Skipped)
	offs := offers

	m := newBook(offs, kept)
	slices.SortFunc(reqs, func(a, b SignedRequest) int {
		if c := a.Request.GateClosure.Compare(b.Request.GateClosure); c != 0 {
			return c
		}
		if c := a.Request.WindowStart.Compare(b.Request.WindowStart); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	res.Clearings = make([]Clearing, 0, len(reqs))
	for _, sr := range reqs {
		r := &sr.Request
		c := Clearing{RequestID: sr.ID, Request: sr.Request}
		accepted, total := m.clear(r)
		if len(accepted) > 0 {
			c.Price = offs[accepted[len(accepted)-1]].Offer.FloorPrice
		}
		c.Awards = make([]gridmint.Award, 0, len(accepted))
		for _, i := range accepted {
			so := &offs[i]
			c.Awards = append(c.Awards, gridmint.Award{
				RequestID: sr.ID, OfferID: so.ID, Provider: so.Provider,
				Device: so.Offer.Device, Meter: so.Offer.MeterOfRecord(), Zone: r.Zone, Direction: r.Direction,
				WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Power: so.Offer.Power, Price: c.Price,
				Baseline: so.Offer.Baseline,
			})
		}
		c.Awarded, c.Short = gridmint.W(total), total < int64(r.Power)
		c.Awards = sortedAwards(c.Awards)
		c.Root = AwardsRoot(c.Awards)
		res.Clearings = append(res.Clearings, c)
	}
	return res
}

// book is the offers of one clearing run, indexed for it: grouped by
// zone and direction, each group split into buckets of one window, each
// bucket in merit order. A request looks only at the buckets whose window
// contains its own and merges them in merit order, so its work grows with
// the offers it could take, not with all offers.
type book struct {
	recs   []bookRec
	groups map[bookKey]*bookGroup
	taken  []bool
	busy   [][]span // by device index
	heap   []cursor
	accept []int
}

type bookKey struct {
	zone string
	dir  gridmint.Direction
}

// bookRec is an offer reduced to what the scan compares: integers only.
type bookRec struct {
	price, power   int64
	signed, expiry int64 // Unix seconds
	rank           int32 // merit order within the group
	dev            int32
}

type bookGroup struct{ buckets []bucket }

type bucket struct {
	start, end int64   // Unix seconds
	order      []int32 // offer indices in merit order
	head       int     // the first not yet taken
}

type span struct{ start, end int64 }

// cursor is a request's position in one bucket.
type cursor struct {
	bucket *bucket
	pos    int
	rank   int32
}

func newBook(offs []SignedOffer, kept []int32) *book {
	m := &book{recs: make([]bookRec, len(offs)), groups: map[bookKey]*bookGroup{}, taken: make([]bool, len(offs))}
	devs := map[gridmint.DeviceID]int32{}
	members := map[bookKey][]int32{}
	for _, i := range kept {
		o := &offs[i].Offer
		d, ok := devs[o.Device]
		if !ok {
			d = int32(len(devs))
			devs[o.Device] = d
		}
		m.recs[i] = bookRec{price: int64(o.FloorPrice), power: int64(o.Power), signed: offs[i].Signed.Unix(), expiry: o.Expiry.Unix(), dev: d}
		if offs[i].Signed.Nanosecond() != 0 {
			m.recs[i].signed++ // signed after the whole second: after a gate closure at it
		}
		k := bookKey{o.Zone, o.Direction}
		members[k] = append(members[k], i)
	}
	m.busy = make([][]span, len(devs))
	for k, idx := range members {
		slices.SortFunc(idx, func(a, b int32) int {
			if c := cmp.Compare(m.recs[a].price, m.recs[b].price); c != 0 {
				return c
			}
			return bytes.Compare(offs[a].ID[:], offs[b].ID[:])
		})
		byWindow := map[span]*bucket{}
		g := &bookGroup{}
		for rank, i := range idx {
			m.recs[i].rank = int32(rank)
			o := &offs[i].Offer
			w := span{o.WindowStart.Unix(), o.WindowEnd.Unix()}
			b := byWindow[w]
			if b == nil {
				b = &bucket{start: w.start, end: w.end}
				byWindow[w] = b
			}
			b.order = append(b.order, i)
		}
		for _, b := range byWindow {
			g.buckets = append(g.buckets, *b)
		}
		slices.SortFunc(g.buckets, func(a, b bucket) int {
			if c := cmp.Compare(a.start, b.start); c != 0 {
				return c
			}
			return cmp.Compare(a.end, b.end)
		})
		m.groups[k] = g
	}
	return m
}

// clear runs one request: it returns the accepted offers in merit order
// and their total power, and marks them taken.
func (m *book) clear(r *gridmint.Request) ([]int, int64) {
	g := m.groups[bookKey{r.Zone, r.Direction}]
	m.accept = m.accept[:0]
	if g == nil {
		return nil, 0
	}
	rs, re, gc := r.WindowStart.Unix(), r.WindowEnd.Unix(), r.GateClosure.Unix()
	want, maxPrice := int64(r.Power), int64(r.MaxPrice)
	h := m.heap[:0]
	for bi := range g.buckets {
		b := &g.buckets[bi]
		if b.start > rs {
			break // sorted by start: no later bucket contains the window
		}
		if b.end < re {
			continue
		}
		for b.head < len(b.order) && m.taken[b.order[b.head]] {
			b.head++
		}
		if b.head < len(b.order) {
			h = append(h, cursor{b, b.head, m.recs[b.order[b.head]].rank})
		}
	}
	heapInit(h)
	var total int64
	for len(h) > 0 && total < want {
		c := &h[0]
		i := c.bucket.order[c.pos]
		rec := &m.recs[i]
		if rec.price > maxPrice {
			break // merit order: everything left is dearer
		}
		if c.pos++; c.pos < len(c.bucket.order) {
			c.rank = m.recs[c.bucket.order[c.pos]].rank
			heapDown(h, 0)
		} else {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
			heapDown(h, 0)
		}
		if m.taken[i] || rec.signed > gc || rec.expiry < gc || m.isBusy(rec.dev, rs, re) {
			continue
		}
		m.taken[i] = true
		m.busy[rec.dev] = append(m.busy[rec.dev], span{rs, re})
		m.accept = append(m.accept, int(i))
		total += rec.power
	}
	m.heap = h
	return m.accept, total
}

func (m *book) isBusy(dev int32, s, e int64) bool {
	for _, b := range m.busy[dev] {
		if s < b.end && b.start < e {
			return true
		}
	}
	return false
}

func heapInit(h []cursor) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		heapDown(h, i)
	}
}

func heapDown(h []cursor, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && h[r].rank < h[l].rank {
			j = r
		}
		if h[i].rank <= h[j].rank {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// wholeSeconds and wholeWatts: the signed wire form carries integers, so
// anything finer would clear differently on nodes that saw the wire form.
func wholeSeconds(ts ...time.Time) bool {
	for _, t := range ts {
		if t.Nanosecond() != 0 || t.Unix() < 0 {
			return false
		}
	}
	return true
}

func wholeWatts(p gridmint.W) bool { return float64(p) == math.Trunc(float64(p)) }

func isAddress(s string) bool {
	if len(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func checkSignedOffer(o *SignedOffer) error {
	if err := o.Offer.Validate(); err != nil {
		return err
	}
	switch {
	case o.ID == gridmint.OfferID{}:
		return gridmint.Errorf(gridmint.EInvalid, "offer: zero id")
	case !isAddress(o.Provider):
		return gridmint.Errorf(gridmint.EInvalid, "offer: provider %q is not a 0x address", o.Provider)
	case o.Signed.IsZero():
		return gridmint.Errorf(gridmint.EInvalid, "offer: no signing time")
	case !wholeSeconds(o.Offer.WindowStart, o.Offer.WindowEnd, o.Offer.Expiry) || !wholeWatts(o.Offer.Power):
		return gridmint.Errorf(gridmint.EInvalid, "offer: times and power must be whole seconds and watts")
	}
	return nil
}

func checkSignedRequest(r *SignedRequest) error {
	if err := r.Request.Validate(); err != nil {
		return err
	}
	switch {
	case r.ID == gridmint.RequestID{}:
		return gridmint.Errorf(gridmint.EInvalid, "request: zero id")
	case r.Signed.IsZero():
		return gridmint.Errorf(gridmint.EInvalid, "request: no signing time")
	case !wholeSeconds(r.Request.WindowStart, r.Request.WindowEnd, r.Request.GateClosure) || !wholeWatts(r.Request.Power):
		return gridmint.Errorf(gridmint.EInvalid, "request: times and power must be whole seconds and watts")
	}
	return nil
}

func sameOffer(a, b *SignedOffer) bool {
	return a.Provider == b.Provider && a.Signed.Equal(b.Signed) && OfferHash(a.Offer) == OfferHash(b.Offer)
}

func sameRequest(a, b *SignedRequest) bool {
	return a.Buyer == b.Buyer && a.Signed.Equal(b.Signed) && RequestHash(a.Request) == RequestHash(b.Request)
}

// dedup keeps one copy of each valid input, drops both copies of an ID
// with two different contents, and records what it skipped. It returns
// the indices of the kept inputs sorted by ID, so the result does not
// depend on input order (indices, because copying large inputs in ID
// order costs more than the whole clearing).
func dedup[T any, ID ~[32]byte](in []T, id func(*T) *ID, check func(*T) error, same func(a, b *T) bool, offer bool, skipped *[]Skipped) []int32 {
	valid := make([]int32, 0, len(in))
	for i := range in {
		if err := check(&in[i]); err != nil {
			*skipped = append(*skipped, Skipped{ID: [32]byte(*id(&in[i])), Offer: offer, Reason: gridmint.FlexInvalid, Detail: err.Error()})
			continue
		}
		valid = append(valid, int32(i))
	}
	// Sort indices, not the (large) inputs.
	slices.SortFunc(valid, func(a, b int32) int {
		x, y := [32]byte(*id(&in[a])), [32]byte(*id(&in[b]))
		return bytes.Compare(x[:], y[:])
	})
	out := valid[:0]
	for i := 0; i < len(valid); {
		first := &in[valid[i]]
		j, conflict := i+1, false
		for ; j < len(valid) && *id(&in[valid[j]]) == *id(first); j++ {
			conflict = conflict || !same(first, &in[valid[j]])
		}
		if conflict {
			*skipped = append(*skipped, Skipped{ID: [32]byte(*id(first)), Offer: offer, Reason: gridmint.FlexIDConflict, Detail: "two different inputs with this id"})
		} else {
			out = append(out, valid[i])
		}
		i = j
	}
	return out
}

func dedupOffers(in []SignedOffer, skipped *[]Skipped) []int32 {
	return dedup(in, func(o *SignedOffer) *gridmint.OfferID { return &o.ID }, checkSignedOffer, sameOffer, true, skipped)
}

func dedupRequests(in []SignedRequest, skipped *[]Skipped) []SignedRequest {
	idx := dedup(in, func(r *SignedRequest) *gridmint.RequestID { return &r.ID }, checkSignedRequest, sameRequest, false, skipped)
	out := make([]SignedRequest, len(idx))
	for k, i := range idx {
		out[k] = in[i]
	}
	return out
}

// sortSkipped orders skips canonically and drops repeats (an invalid
// input seen twice is one skip).
func sortSkipped(s []Skipped) []Skipped {
	slices.SortFunc(s, func(a, b Skipped) int {
		if a.Offer != b.Offer {
			if a.Offer {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(a.ID[:], b.ID[:]); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Reason, b.Reason); c != 0 {
			return c
		}
		return cmp.Compare(a.Detail, b.Detail)
	})
	return slices.Compact(s)
}

// CheckRequest is a node's check of a request it receives at now: valid,
// and its gate closure not yet passed (gate_closed: a request must reach
// the network before its offers are cleared).
func CheckRequest(r SignedRequest, now time.Time) error {
	if err := checkSignedRequest(&r); err != nil {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "%v", err)
	}
	if !now.Before(r.Request.GateClosure) {
		return reasonf(gridmint.FlexGateClosed, gridmint.EConflict, "request %v: gate closure %v has passed (now %v)", r.ID, r.Request.GateClosure, now)
	}
	return nil
}

// CheckAwardsRoot refuses an awards root (in an award notice or a
// reservation) that the clearing of the same inputs does not give.
func CheckAwardsRoot(c Clearing, root [32]byte) error {
	if root != c.Root {
		return reasonf(gridmint.FlexRootMismatch, gridmint.EConflict, "request %v: awards root %x, the inputs give %x", c.RequestID, root, c.Root)
	}
	return nil
}

// CheckReservation checks a reserve(requestId, awardsRoot, amount) event
// against the clearing: it must name the clearing's root and burn at least
// its value. Awards are firm only under a reservation that passes.
func CheckReservation(c Clearing, request gridmint.RequestID, root [32]byte, amount *big.Int) error {
	if request != c.RequestID {
		return reasonf(gridmint.FlexInvalid, gridmint.EInvalid, "reservation for request %v checked against clearing of %v", request, c.RequestID)
	}
	if root != c.Root {
		return reasonf(gridmint.FlexReservationRoot, gridmint.EConflict, "reservation of %v names awards root %x, the clearing's is %x", request, root, c.Root)
	}
	if want := c.Value(); amount == nil || amount.Cmp(want) < 0 {
		return reasonf(gridmint.FlexReservationShort, gridmint.EConflict, "reservation of %v burns %v base units, the cleared value is %v", request, amount, want)
	}
	return nil
}
