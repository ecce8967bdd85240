package market

import (
	"github.com/gridmint/gridmint"
	"github.com/prometheus/client_golang/prometheus"
)

// Market-level reasons, besides flex's.
const (
	// ReasonNotBuyer: an awards root or reservation from another account
	// than the request's author; it does not count.
	ReasonNotBuyer gridmint.FlexReason = "not_buyer"
	// ReasonUnknownRequest: an awards root for a request this node does
	// not hold.
	ReasonUnknownRequest gridmint.FlexReason = "unknown_request"
	// ReasonLapsed: no confirmed reservation by the window start.
	ReasonLapsed gridmint.FlexReason = "lapsed"
	// ReasonReserveFailed: the utility's reserve transaction failed (too
	// little FLEX, chain down); retried until the window starts.
	ReasonReserveFailed gridmint.FlexReason = "reserve_failed"
	// ReasonSetpointRefused: the dispatcher refused a market setpoint
	// (safety limit, opt-out, device offline).
	ReasonSetpointRefused gridmint.FlexReason = "setpoint_refused"
)

// reasons are the refusal reasons counted at /metrics.
var reasons = []gridmint.FlexReason{
	gridmint.FlexInvalid, gridmint.FlexIDConflict, gridmint.FlexGateClosed, gridmint.FlexOverCapacity, gridmint.FlexBelowMinPrice,
	gridmint.FlexOptOut, gridmint.FlexUnknownDevice, gridmint.FlexRootMismatch, gridmint.FlexReservationRoot, gridmint.FlexReservationShort,
	gridmint.FlexSafetyLimit, gridmint.FlexNotFlexible, ReasonNotBuyer, ReasonUnknownRequest, ReasonLapsed, ReasonReserveFailed, ReasonSetpointRefused,
	gridmint.FlexScheduleLate, ReasonScheduleForeign, ReasonScheduleWindow, ReasonScheduleFlood,
	ReasonExemptionLate, ReasonExemptionForeign, ReasonExemptionUnknown, ReasonExemptionFlood,
	ReasonNotCleared, ReasonNoAwards, ReasonAlreadyReserved, ReasonWindowStarted, ReasonEventRefused, ReasonInsufficientFLEX, ReasonNoChain,
	ReasonPolicyInvalid,
}

// metrics are the market's counters (gridmint_market_*).
type metrics struct {
	offersMade, offersReceived, requests, roots, clearings, reserved, firm, lapsed prometheus.Counter
	schedulesMade, schedulesReceived                                               prometheus.Counter
	exemptionsMade, exemptionsReceived                                             prometheus.Counter
	refused                                                                        *prometheus.CounterVec
	setpoints                                                                      *prometheus.CounterVec
}

func newMetrics() *metrics {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &metrics{
		offersMade:        c("gridmint_market_offers_made_total", "Offers this node signed and gossiped for its own devices."),
		offersReceived:    c("gridmint_market_offers_received_total", "Offers accepted from gossip (own ones included) and kept for clearing."),
		requests:          c("gridmint_market_requests_received_total", "Requests accepted from gossip (own ones included) before their gate closure."),
		roots:             c("gridmint_market_roots_published_total", "Awards roots this node (a utility) published for its requests."),
		clearings:         c("gridmint_market_clearings_total", "Requests this node cleared at their gate closure."),
		reserved:          c("gridmint_market_reservations_total", "Reserve transactions this node (a utility) confirmed on chain."),
		firm:              c("gridmint_market_firm_total", "Requests whose awards a confirmed reservation made firm."),
		lapsed:            c("gridmint_market_lapsed_total", "Requests with awards and no confirmed reservation by their window start: nothing dispatched."),
		schedulesMade:     c("gridmint_market_schedules_made_total", "Device schedules (the schedule baseline) this node signed for its own offers."),
		schedulesReceived: c("gridmint_market_schedules_received_total", "Device schedules accepted from other nodes and kept for measurement."),
		exemptionsMade:    c("gridmint_market_exemptions_made_total", "Opt-outs of an event this node declared (signed and gossiped) for its own devices."),
		exemptionsReceived: c("gridmint_market_exemptions_received_total",
			"Exemptions (opt-outs, grid limits) accepted from other nodes and kept for verification."),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_market_refused_total",
			Help: "Market inputs and steps refused here, by reason (flex's reason codes and the market's)."}, []string{"reason"}),
		setpoints: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gridmint_market_setpoints_total",
			Help: "Market setpoints by result: sent (to the device topic), refused (before sending), failed (publish)."}, []string{"result"}),
	}
	for _, r := range reasons {
		m.refused.WithLabelValues(string(r))
	}
	for _, r := range []string{"sent", "refused", "failed"} {
		m.setpoints.WithLabelValues(r)
	}
	return m
}

// Collectors are the metrics to register at the node's /metrics.
func (s *Service) Collectors() []prometheus.Collector {
	m := s.m
	return []prometheus.Collector{m.offersMade, m.offersReceived, m.requests, m.roots, m.clearings, m.reserved, m.firm, m.lapsed, m.schedulesMade, m.schedulesReceived, m.exemptionsMade, m.exemptionsReceived, m.refused, m.setpoints}
}
