package p2p

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/internal/tokenbucket"
)

// arrivals tracks, per message, how many nodes delivered it and when the
// last one did.
type arrivals struct {
	mu   sync.Mutex
	want int
	seen map[common.Hash]*arrival
}

type arrival struct {
	count int
	last  time.Time
	done  chan struct{}
}

func (a *arrivals) get(id common.Hash) *arrival {
	x, ok := a.seen[id]
	if !ok {
		x = &arrival{done: make(chan struct{})}
		a.seen[id] = x
	}
	return x
}

func (a *arrivals) record(m Message) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.get(m.ID)
	x.count++
	x.last = now
	if x.count == a.want {
		close(x.done)
	}
}

func (a *arrivals) wait(id common.Hash, timeout time.Duration) (time.Time, bool) {
	a.mu.Lock()
	x := a.get(id)
	a.mu.Unlock()
	select {
	case <-x.done:
		a.mu.Lock()
		defer a.mu.Unlock()
		return x.last, true
	case <-time.After(timeout):
		return time.Time{}, false
	}
}

// benchNet starts n nodes on the system clock without rate limits, links
// them as a ring plus two seeded random chords per node (about six links
// each, gossipsub's mesh degree) and counts deliveries.
func benchNet(b *testing.B, n int) ([]*Node, *arrivals) {
	b.Helper()
	arr := &arrivals{want: n, seen: map[common.Hash]*arrival{}}
	nodes := make([]*Node, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := NodeConfig(i, NewMemStore(), gridmint.SystemClock{})
			cfg.RatePerAuthor = -1
			nodes[i] = StartNode(b, cfg)
		}()
	}
	wg.Wait()
	for _, nd := range nodes {
		nd.Handle(arr.record)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[[2]int]bool{}
	var pairs [][2]int
	add := func(x, y int) {
		if x == y || seen[[2]int{x, y}] || seen[[2]int{y, x}] {
			return
		}
		seen[[2]int{x, y}] = true
		pairs = append(pairs, [2]int{x, y})
	}
	for i := range n {
		add(i, (i+1)%n)
		add(i, rng.IntN(n))
		add(i, rng.IntN(n))
	}
	for chunk := range slices.Chunk(pairs, 32) {
		for _, p := range chunk {
			wg.Add(1)
			go func() { defer wg.Done(); Link(b, nodes[p[0]], nodes[p[1]]) }()
		}
		wg.Wait()
	}
	WaitFor(b, "every mesh formed", func() bool {
		for _, nd := range nodes {
			if !MeshReady(nd) {
				return false
			}
		}
		return true
	})
	return nodes, arr
}

// BenchmarkPropagation50: the time from Publish until all 50 nodes have
// delivered a signed message, one message at a time.
func BenchmarkPropagation50(b *testing.B) {
	const n = 50
	nodes, arr := benchNet(b, n)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src := i % n
		start := time.Now()
		m, err := nodes[src].Publish(b.Context(), Bodies(Key(src), time.Now(), i)[2])
		if err != nil {
			b.Fatal(err)
		}
		last, ok := arr.wait(m.ID, 30*time.Second)
		if !ok {
			b.Fatalf("message %d reached only some of the %d nodes", i, n)
		}
		lat = append(lat, last.Sub(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[min(len(lat)-1, len(lat)*99/100)]), "p99-ms")
}

// BenchmarkSustained: several authors publish b.N messages as fast as the
// network takes them, each keeping at most `window` messages not yet
// delivered everywhere (a publisher that outruns the network only fills
// queues, and full queues drop). Reports the rate at which all 10 nodes
// delivered all of them, and how many never arrived everywhere (must be 0).
func BenchmarkSustained(b *testing.B) {
	const n, authors, window = 10, 4, 32
	nodes, arr := benchNet(b, n)
	ids := make([]common.Hash, b.N)
	published := make([]chan struct{}, b.N)
	for i := range published {
		published[i] = make(chan struct{})
	}
	deadline := time.Now().Add(time.Duration(b.N)*10*time.Millisecond + 30*time.Second)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for a := range authors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := a * n / authors
			for i := a; i < b.N; i += authors {
				if back := i - window*authors; back >= 0 {
					<-published[back]
					if _, ok := arr.wait(ids[back], time.Until(deadline)); !ok {
						b.Errorf("message %d lost; stopping author %d", back, a)
						return
					}
				}
				m, err := nodes[src].Publish(b.Context(), Bodies(Key(src), start, i)[2])
				if err != nil {
					b.Error(err)
					return
				}
				ids[i] = m.ID
				close(published[i])
			}
		}()
	}
	wg.Wait()
	var last time.Time
	lost := 0
	for i, id := range ids {
		select {
		case <-published[i]:
		default:
			lost++
			continue
		}
		t, ok := arr.wait(id, time.Until(deadline))
		if !ok {
			lost++
			continue
		}
		if t.After(last) {
			last = t
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N-lost)/last.Sub(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(lost), "lost")
	if lost > 0 {
		b.Errorf("%d of %d messages did not reach every node", lost, b.N)
		for i, nd := range nodes {
			st := nd.Stats()
			b.Logf("node %d: banned %d, overflow %d, meter %+v, gossip %+v, peers %d", i, st.PeersBanned, st.HandlerOverflow, st.Topics[TopicMeter], st.Gossip, len(nd.Peers()))
		}
	}
}

// BenchmarkValidate: the CPU cost of the gossip checks (decode,
// canonical re-encode, EIP-712 digest, signature recovery, origin, body,
// replay lookup) per message, over a mix of every kind from 10 authors.
func BenchmarkValidate(b *testing.B) {
	c := &checker{
		signer: newSigner(TestDomain), clock: NewFakeClock(), store: NewMemStore(), maxSize: DefaultMaxMessageSize,
		skew: DefaultMaxClockSkew, freshness: map[Kind]time.Duration{KindOffer: time.Hour, KindRequest: time.Hour,
			KindMeter: time.Hour, KindAttestation: time.Hour, KindAward: time.Hour},
		authors: tokenbucket.New(-1, 1, 1),
	}
	type input struct {
		topic  string
		raw    []byte
		origin checkOpts
	}
	var in []input
	for i := 0; len(in) < 1000; i++ {
		key := i % 10
		for _, body := range Bodies(Key(key), Epoch, i) {
			m := Sign(b, Key(key), body, Epoch)
			in = append(in, input{m.Topic(), m.Raw, checkOpts{origin: peerOf(b, key)}})
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := in[i%len(in)]
		if _, r, err := c.check(x.topic, x.raw, x.origin); r != "" {
			b.Fatalf("%s: %v", r, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())*1000/float64(b.N), "µs/1000msgs")
}
