package mv

import (
	"github.com/gridmint/gridmint"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the service's counters (gridmint_flex_*).
type Metrics struct {
	tracked, verified, batches, slashesDue              prometheus.Counter
	intervalsSent, intervalsReceived, intervalConflicts prometheus.Counter
	deliveredMWh, paidFLEX                              prometheus.Counter
	records, refused, intervalsIgnored                  *prometheus.CounterVec
	slashesNotComputable                                *prometheus.CounterVec
}

// reasonLabel is a record's reason as a label: "none" for a delivery
// within tolerance.
func reasonLabel(r gridmint.FlexReason) string {
	if r == "" {
		return "none"
	}
	return string(r)
}

// NewMetrics makes the counters, every reason label at zero.
func NewMetrics() *Metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &Metrics{
		tracked:           c("gridmint_flex_events_tracked_total", "Firm flexibility events (reserved clearings) this node measures."),
		verified:          c("gridmint_flex_events_verified_total", "Events whose awards this node measured and recorded."),
		batches:           c("gridmint_flex_reward_batches_total", "Delivery reward batches this node attested or proposed."),
		slashesDue:        c("gridmint_flex_slashes_due_total", "Under-delivered awards this node computed a slash for and attested (or proposed) through FLEX.slash."),
		intervalsSent:     c("gridmint_flex_intervals_sent_total", "Interval energy messages this node gossiped for its awarded meters."),
		intervalsReceived: c("gridmint_flex_intervals_received_total", "Interval energy messages accepted from gossip (own ones included)."),
		intervalConflicts: c("gridmint_flex_interval_conflicts_total", "Interval steps received twice with different energy (the first stands) or with another step length."),
		deliveredMWh:      c("gridmint_flex_delivered_mwh_total", "Delivered energy of the records this node computed, mWh."),
		paidFLEX:          c("gridmint_flex_paid_flex_total", "FLEX of the delivery rewards settled on chain, as this node saw them."),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_delivery_records_total",
			Help: "Delivery records this node computed, by reason (none: delivered within tolerance)."}, []string{"reason"}),
		intervalsIgnored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_intervals_ignored_total",
			Help: "Interval energy messages not kept, by reason: untracked (no firm event here for the request), not_awarded (no award of the author at that meter), outside_span (steps outside what the award's baseline needs)."}, []string{"reason"}),
		slashesNotComputable: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_slashes_not_computable_total",
			Help: "Under-delivered awards left unslashed because the provider's stake at the reservation block is not known here, by reason (stake_unavailable: not read while the state was there and not readable now; no_reservation_block: event tracked without its block)."}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_flex_deliveries_refused_total",
			Help: "Claimed delivery records refused here, by reason (inflated_delivery, delivery_mismatch, unknown_device)."}, []string{"reason"}),
	}
	for _, r := range []gridmint.FlexReason{"", gridmint.FlexOptOut, gridmint.FlexGridLimit, gridmint.FlexOffline, gridmint.FlexNoData,
		gridmint.FlexUnderDelivered, gridmint.FlexInsufficientHist, gridmint.FlexScheduleLate, gridmint.FlexInvalid} {
		m.records.WithLabelValues(reasonLabel(r))
	}
	for _, r := range []string{SlashStakeUnavailable, SlashNoReservationBlock} {
		m.slashesNotComputable.WithLabelValues(r)
	}
	for _, r := range []string{"untracked", "not_awarded", "outside_span"} {
		m.intervalsIgnored.WithLabelValues(r)
	}
	for _, r := range []gridmint.FlexReason{gridmint.FlexInflatedDelivery, gridmint.FlexDeliveryMismatch, gridmint.FlexUnknownDevice, gridmint.FlexInvalid} {
		m.refused.WithLabelValues(string(r))
	}
	return m
}

// Collectors are the counters to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.tracked, m.verified, m.batches, m.slashesDue, m.intervalsSent, m.intervalsReceived,
		m.intervalConflicts, m.deliveredMWh, m.paidFLEX, m.records, m.refused, m.intervalsIgnored, m.slashesNotComputable}
}
