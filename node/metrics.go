package node

import (
	"time"

	"github.com/gridmint/gridmint"
	"github.com/gridmint/gridmint/devices"
	"github.com/gridmint/gridmint/node/settle"
	"github.com/gridmint/gridmint/node/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the node's Prometheus metrics, on a registry of its own (no
// global state, so several nodes can run in one test process).
type metrics struct {
	registry     *prometheus.Registry
	messages     prometheus.Counter
	ignored      prometheus.Counter
	readings     prometheus.Counter
	rejections   *prometheus.CounterVec // by reason
	newDevices   prometheus.Counter
	commitErrors prometheus.Counter
	batchSize    prometheus.Histogram
	batchSeconds prometheus.Histogram
	// pending counts telemetry messages received and not yet acknowledged.
	pending     prometheus.Gauge
	diskPauses  prometheus.Counter
	diskRefused *prometheus.CounterVec // by what: gossip, api, chain
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmint_mqtt_messages_total", Help: "MQTT messages processed and durably committed.",
		}),
		ignored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmint_mqtt_messages_ignored_total", Help: "MQTT messages on known topics that carry nothing gridmint uses.",
		}),
		readings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmint_readings_total", Help: "Normalised readings stored.",
		}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridmint_rejections_total", Help: "Inputs rejected, by reason, since the data dir was created: those kept in quarantine and those only counted (over a rate limit).",
		}, []string{"reason"}),
		newDevices: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmint_devices_discovered_total", Help: "Devices registered from traffic.",
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmint_store_commit_errors_total", Help: "Failed store commits (messages stay unacknowledged).",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gridmint_ingest_batch_messages", Help: "Messages per durable commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gridmint_ingest_batch_seconds", Help: "Time from batch start to durable commit, s.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gridmint_mqtt_messages_pending", Help: "Telemetry messages received and not yet acknowledged to the broker (queued, or held while the disk is below its reserve).",
		}),
		diskPauses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmint_disk_pauses_total", Help: "Times the free space fell below the reserve and the node stopped storing.",
		}),
		diskRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridmint_disk_refused_total", Help: "Writes refused while the disk was below its reserve, by what: gossip (messages ignored), api (edits, setpoints), chain (submissions).",
		}, []string{"what"}),
	}
	for _, r := range gridmint.Reasons {
		m.rejections.WithLabelValues(string(r))
	}
	for _, w := range []string{"gossip", "api", "chain"} {
		m.diskRefused.WithLabelValues(w)
	}
	m.registry.MustRegister(m.messages, m.ignored, m.readings, m.rejections, m.newDevices, m.commitErrors,
		m.batchSize, m.batchSeconds, m.pending, m.diskPauses, m.diskRefused,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// restoreRejections starts the per-reason counters at the store's lifetime
// totals, so they survive restarts like the quarantine itself.
func (m *metrics) restoreRejections(counts map[gridmint.Reason]uint64) {
	for r, c := range counts {
		m.rejections.WithLabelValues(string(r)).Add(float64(c))
	}
}

// registerSettle adds the settlement engine's metrics (gridmint_settle_*).
func (m *metrics) registerSettle(e *settle.Engine) { m.registry.MustRegister(e.Collectors()...) }

func (m *metrics) observeBatch(out *devices.Outcome, messages int, took time.Duration) {
	m.readings.Add(float64(len(out.Readings)))
	m.newDevices.Add(float64(len(out.NewDevices)))
	for _, r := range out.Rejections {
		m.rejections.WithLabelValues(string(r.Reason)).Inc()
	}
	for r, n := range out.Suppressed {
		m.rejections.WithLabelValues(string(r)).Add(float64(n))
	}
	m.messages.Add(float64(messages))
	m.ignored.Add(float64(out.Ignored))
	m.batchSize.Observe(float64(messages))
	m.batchSeconds.Observe(took.Seconds())
}

// quarantineStats is the store's account of its quarantine.
type quarantineStats interface {
	QuarantineStats() store.QuarantineStats
}

// watchQuarantine exports the quarantine's size, budget and what it did
// not keep, read from the store at each scrape.
func (m *metrics) watchQuarantine(q quarantineStats) {
	m.registry.MustRegister(quarantineCollector{q})
}

var (
	quarantineBytesDesc = prometheus.NewDesc("gridmint_quarantine_bytes",
		"Size of the rejections kept in quarantine (keys and encoded values), bytes.", nil, nil)
	quarantineEntriesDesc = prometheus.NewDesc("gridmint_quarantine_entries",
		"Rejections kept in quarantine.", nil, nil)
	quarantineMaxDesc = prometheus.NewDesc("gridmint_quarantine_max_bytes",
		"The quarantine's size budget (quarantine.max_size_mb), bytes; beyond it the oldest rejections are deleted.", nil, nil)
	quarantineDroppedDesc = prometheus.NewDesc("gridmint_quarantine_dropped_total",
		"Rejections not kept in quarantine since the node started, by reason and cause: rate_limit (over its source's allowance, never written) or size_cap (deleted, oldest first, to keep the quarantine within its budget). gridmint_rejections_total counts them too.",
		[]string{"reason", "cause"}, nil)
)

// quarantineCollector reads the quarantine's figures at scrape time.
type quarantineCollector struct{ q quarantineStats }

func (quarantineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- quarantineBytesDesc
	ch <- quarantineEntriesDesc
	ch <- quarantineMaxDesc
	ch <- quarantineDroppedDesc
}

func (c quarantineCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.q.QuarantineStats()
	ch <- prometheus.MustNewConstMetric(quarantineBytesDesc, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(quarantineEntriesDesc, prometheus.GaugeValue, float64(st.Entries))
	ch <- prometheus.MustNewConstMetric(quarantineMaxDesc, prometheus.GaugeValue, float64(st.MaxBytes))
	// Every reason and cause from the start, so rate() sees the first one.
	for _, r := range gridmint.Reasons {
		ch <- prometheus.MustNewConstMetric(quarantineDroppedDesc, prometheus.CounterValue, float64(st.NotKept[r]), string(r), "rate_limit")
		ch <- prometheus.MustNewConstMetric(quarantineDroppedDesc, prometheus.CounterValue, float64(st.Trimmed[r]), string(r), "size_cap")
	}
}

// watchDisk exports the guard's view of the disk.
func (m *metrics) watchDisk(g *diskGuard) {
	m.registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gridmint_disk_free_bytes", Help: "Free space on the data dir's filesystem at the last check, bytes.",
		}, func() float64 { return float64(g.status().Free) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gridmint_disk_reserve_bytes", Help: "Free space below which the node stops storing, bytes.",
		}, func() float64 { return float64(g.status().Reserve) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gridmint_disk_paused", Help: "1 while the free space is below the reserve and the node stores nothing new, else 0.",
		}, func() float64 {
			if g.status().Paused {
				return 1
			}
			return 0
		}),
	)
}
