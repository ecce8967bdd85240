package pof

import (
	"github.com/gridmint/gridmint"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the service's counters (gridmint_flex_test*).
type Metrics struct {
	rounds, batches                                     prometheus.Counter
	intervalsSent, intervalsReceived, intervalConflicts prometheus.Counter
	rewardedFLEX                                        prometheus.Counter
	tests, setpoints, refused, intervalsIgnored         *prometheus.CounterVec
}

// NewMetrics makes the counters, every label at zero.
func NewMetrics() *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &Metrics{
		rounds:            c("gridmint_flex_test_rounds_total", "Proof-of-flexibility selection rounds opened."),
		batches:           c("gridmint_flex_availability_batches_total", "Availability reward batches this node attested or proposed."),
		intervalsSent:     c("gridmint_flex_test_intervals_sent_total", "Interval energy messages this node gossiped for its tested meters."),
		intervalsReceived: c("gridmint_flex_test_intervals_received_total", "Interval energy messages of tests accepted (own ones included)."),
		intervalConflicts: c("gridmint_flex_test_interval_conflicts_total", "Test interval steps received twice with different energy (the first stands) or another step length."),
		rewardedFLEX:      c("gridmint_flex_availability_rewarded_flex_total", "FLEX of the availability rewards settled on chain, as this node saw them."),
		tests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_tests_total",
			Help: "Test dispatches: drawn (outcome pending) and evaluated, by outcome (passed, failed, excused, void: an award of the device overlaps the test)."}, []string{"outcome"}),
		setpoints: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_test_setpoints_total",
			Help: "Test setpoints of this node's devices, by result (sent, refused, withdrawn: the test became void before it was sent)."}, []string{"result"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_tests_refused_total",
			Help: "Tests of this node's devices it could not dispatch or meter, by reason (unknown_device, opt_out, safety_limit, not_flexible, ...)."}, []string{"reason"}),
		intervalsIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_test_intervals_ignored_total",
			Help: "Interval energy messages naming a test not kept, by reason: not_tested (author or meter not the test's), outside_span (steps outside what its baseline needs)."}, []string{"reason"}),
	}
	for _, o := range []gridmint.TestOutcome{gridmint.TestPending, gridmint.TestPassed, gridmint.TestFailed, gridmint.TestExcused, gridmint.TestVoid} {
		m.tests.WithLabelValues(string(o))
	}
	for _, r := range []string{"sent", "refused", "withdrawn"} {
		m.setpoints.WithLabelValues(r)
	}
	for _, r := range []gridmint.FlexReason{gridmint.FlexUnknownDevice, gridmint.FlexOptOut, gridmint.FlexSafetyLimit, gridmint.FlexNotFlexible} {
		m.refused.WithLabelValues(string(r))
	}
	for _, r := range []string{"not_tested", "outside_span"} {
		m.intervalsIgnored.WithLabelValues(r)
	}
	return m
}

// Collectors are the counters to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.rounds, m.batches, m.intervalsSent, m.intervalsReceived, m.intervalConflicts, m.rewardedFLEX,
		m.tests, m.setpoints, m.refused, m.intervalsIgnored}
}
