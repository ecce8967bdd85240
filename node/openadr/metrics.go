package openadr

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	refused       *prometheus.CounterVec
	notifications *prometheus.CounterVec
	market        *prometheus.CounterVec
	deliveries    *prometheus.CounterVec
	tokens        prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) metrics {
	m := metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridmint_openadr_refused_total",
			Help: "OpenADR VTN requests refused, by reason.",
		}, []string{"reason"}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridmint_openadr_notifications_total",
			Help: "OpenADR webhook notifications by outcome: delivered, retried (an attempt failed), failed (all attempts failed), dropped_queue_full.",
		}, []string{"outcome"}),
		market: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridmint_openadr_market_requests_total",
			Help: "Event intervals offered to the market: published, or not mapped by reason.",
		}, []string{"outcome"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gridmint_openadr_delivery_reports_total",
			Help: "OpenADR delivery reports (BASELINE, USAGE, DELTA_USAGE) by outcome: written, or failed (reading the market or storing).",
		}, []string{"outcome"}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gridmint_openadr_tokens_issued_total",
			Help: "OpenADR access tokens issued.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.refused, m.notifications, m.market, m.deliveries, m.tokens)
	}
	return m
}
