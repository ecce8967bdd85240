package recsim

import (
	"bytes"
	"flag"
	"fmt"
	"testing"

	firmwaresim "github.com/gridmint/gridmint/firmware-sim"
	"github.com/gridmint/gridmint/rec"
)

// hold is how long a node would wait after an hour's check before
// attesting, in the second matrix the benchmark prints: the copy rule's
// span, so that a copy found in a later hour (and an impossible claim
// that suspends its device) reaches the claims of the hours before.
var hold = rec.DefaultCopyRules().MaxSpan

// Flags of BenchmarkConfusionMatrix, to iterate on the rules faster.
var (
	recordings = flag.String("recsim.recordings", "", "directory keeping each simulated run's claims (Recorded): a later run with the same configuration only checks them")
	homesFlag  = flag.Int("recsim.homes", 0, "homes to simulate (0: DefaultHomes)")
	hoursFlag  = flag.Int("recsim.hours", 0, "hours to simulate (0: DefaultHours)")
)

// BenchmarkConfusionMatrix runs DefaultHomes homes over DefaultHours hours
// through the node's ingest and rec's rules, prints the confusion matrix
// in Wh and which rule caught what, and reports the two shares the issue
// sets targets for (≥ 99 % each), for nodes that attest at once and for
// nodes that hold attestations for the copy rule's span. One iteration is
// one simulated day.
//
// default: firmware-sim's default faults, whose 2 % of lying inverters
// are a handful in 200 homes; dishonest=0.15: the same with 15 % liars,
// so that each lie is measured on a dozen or so inverters.
//
//	go test -run '^$' -bench ConfusionMatrix -benchtime 1x -timeout 60m -v ./internal/recsim
//
// With -recsim.recordings DIR the simulated claims are kept in DIR, and a
// second run with the same configuration only checks them (seconds
// instead of minutes: what to use while changing the rules);
// -recsim.homes and -recsim.hours make the fleet or the span smaller.
// The iteration's time is then the check's alone.
//
// (-v, or Go cuts the printed matrix short).
func BenchmarkConfusionMatrix(b *testing.B) {
	for _, share := range []float64{0, 0.15} {
		name := "faults=default"
		fc := firmwaresim.FaultPresets["default"]
		if share > 0 {
			fc.Dishonest = share
			name = fmt.Sprintf("faults=default,dishonest=%v", share)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				r, err := Recorded(Config{Homes: *homesFlag, Hours: *hoursFlag, Faults: &fc}, *recordings)
				if err != nil {
					b.Fatal(err)
				}
				res := r.Check(rec.DefaultRules())
				var buf bytes.Buffer
				res.Print(&buf, 0)
				res.Print(&buf, hold)
				b.Log("\n" + buf.String())
				m0, mh := res.Matrix(0), res.Matrix(hold)
				b.ReportMetric(100*m0.HonestCertifiedShare(), "%honest-Wh-certified")
				b.ReportMetric(100*m0.DishonestRefusedShare(), "%dishonest-Wh-refused")
				b.ReportMetric(100*mh.HonestCertifiedShare(), "%honest-Wh-certified-held")
				b.ReportMetric(100*mh.DishonestRefusedShare(), "%dishonest-Wh-refused-held")
				b.ReportMetric(100*mh.HonestCertifiedShareExSources(), "%honest-Wh-certified-held-ex-copied")
			}
		})
	}
}
