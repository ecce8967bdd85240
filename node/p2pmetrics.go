package node

import (
	"github.com/gridmint/gridmint/node/p2p"
	"github.com/prometheus/client_golang/prometheus"
)

// p2pClockSkew is gridmint_p2p_clock_skew_total: gossip refused because
// its author's clock and this node's disagree beyond the tolerance.
var p2pClockSkew = prometheus.NewDesc("gridmint_p2p_clock_skew_total",
	"Gossip messages refused for their author's clock: ahead (beyond the clock-skew tolerance) or behind (beyond the freshness window).",
	[]string{"direction"}, nil)

// p2pCollector exports the gossip node's counters at scrape time.
type p2pCollector struct{ n *p2p.Node }

func (c p2pCollector) Describe(ch chan<- *prometheus.Desc) { ch <- p2pClockSkew }

func (c p2pCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.n.Stats().ClockSkew
	ch <- prometheus.MustNewConstMetric(p2pClockSkew, prometheus.CounterValue, float64(s.Ahead), "ahead")
	ch <- prometheus.MustNewConstMetric(p2pClockSkew, prometheus.CounterValue, float64(s.Behind), "behind")
}
