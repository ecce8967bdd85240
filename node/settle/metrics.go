package settle

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Rejection reasons of attestations the engine does not count, as the
// label of gridmint_settle_attestations_rejected_total.
const (
	RejectNotAttestor  = "not_attestor"  // the signer is not in the registry: it can never count
	RejectBadSignature = "bad_signature" // the signature does not recover to the signer over the digest
	RejectDuplicate    = "duplicate"     // the signer's attestation of the digest is here already
	RejectWrongKind    = "wrong_kind"    // the digest is a batch of another kind
	RejectOrphanLimit  = "orphan_limit"  // too many attestations of batches this node does not know
	RejectStoreError   = "store_error"   // could not be stored: not counted, gossip or catch-up brings it again
)

var rejectReasons = []string{RejectNotAttestor, RejectBadSignature, RejectDuplicate, RejectWrongKind, RejectOrphanLimit, RejectStoreError}

// metrics are the engine's Prometheus metrics (Engine.Collectors).
type metrics struct {
	received  *prometheus.CounterVec // kind, verdict
	rejected  *prometheus.CounterVec // reason
	ready     *prometheus.CounterVec // kind
	submitted *prometheus.CounterVec // kind
	fallback  *prometheus.CounterVec // kind
	duplicate *prometheus.CounterVec // kind
	byOthers  *prometheus.CounterVec // kind
	failed    *prometheus.CounterVec // kind
	batches   prometheus.Collector   // gauges, read at scrape time
}

// gaugesAt are the engine's gauges, read when scraped: batches by state
// and the registry's size.
type gaugesAt struct {
	states    func() map[State]int
	attestors func() int
}

var (
	batchesDesc   = prometheus.NewDesc("gridmint_settle_batches", "Batches this node knows, by state.", []string{"state"}, nil)
	attestorsDesc = prometheus.NewDesc("gridmint_settle_attestors", "Attestors in the registry as last read.", nil, nil)
)

func (g gaugesAt) Describe(ch chan<- *prometheus.Desc) {
	ch <- batchesDesc
	ch <- attestorsDesc
}

func (g gaugesAt) Collect(ch chan<- prometheus.Metric) {
	counts := g.states()
	for _, s := range States {
		ch <- prometheus.MustNewConstMetric(batchesDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	ch <- prometheus.MustNewConstMetric(attestorsDesc, prometheus.GaugeValue, float64(g.attestors()))
}

func newMetrics(g gaugesAt) *metrics {
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_settle_" + name, Help: help}, labels)
	}
	m := &metrics{
		received: cv("attestations_received_total", "Batch attestations from gossip and this node, by batch kind and verdict (accepted ones counted once per signer and batch).", "kind", "verdict"),
		rejected: cv("attestations_rejected_total", "Batch attestations not counted, by reason.", "reason"),
		ready:    cv("batches_ready_total", "Batches that reached k counting attestations here.", "kind"),
		submitted: cv("batches_submitted_total",
			"Batches this node settled with its own transaction.", "kind"),
		fallback: cv("fallback_submissions_total",
			"Of the batches this node settled, those it submitted as a fallback (the elected submitter had not settled them in time).", "kind"),
		duplicate: cv("duplicate_submissions_total",
			"Transactions of this node that reverted because another node had settled the batch (gas paid for nothing; partitions, slow chains).", "kind"),
		byOthers: cv("batches_settled_by_others_total",
			"Batches this node saw settled by another node's transaction and stopped on.", "kind"),
		failed: cv("submission_failures_total",
			"Submissions that failed (reverted for another reason or the chain refused); retried up to three times.", "kind"),
		batches: g,
	}
	for _, k := range Kinds {
		for _, v := range []string{"accept", "reject"} {
			m.received.WithLabelValues(string(k), v)
		}
		for _, c := range []*prometheus.CounterVec{m.ready, m.submitted, m.fallback, m.duplicate, m.byOthers, m.failed} {
			c.WithLabelValues(string(k))
		}
	}
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(r)
	}
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.received, m.rejected, m.ready, m.submitted, m.fallback, m.duplicate, m.byOthers, m.failed, m.batches}
}
