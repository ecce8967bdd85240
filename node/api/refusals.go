package api

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// refusals counts every answer of 400 or above by route and error code,
// so an operator sees at /metrics which calls are refused and why (a
// retire of another's certificates is forbidden, a transfer the contract
// reverts is a conflict) without reading logs.
type refusals struct {
	total *prometheus.CounterVec
}

func newRefusals() *refusals {
	return &refusals{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridmint_api_refusals_total",
		Help: "API answers with status 400 or above, by route pattern and error code (the body's code; http_<status> for answers without one).",
	}, []string{"route", "code"})}
}

// statusRecorder remembers the status and error code of one answer.
type statusRecorder struct {
	http.ResponseWriter
	status int
	code   string // the gridmint error code of the body, if the API wrote one
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// noteCode records the error code of the body being written on w.
func noteCode(w http.ResponseWriter, code string) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.code = code
	}
}

func (f *refusals) observe(req *http.Request, rec *statusRecorder) {
	if rec.status < 400 {
		return
	}
	route := req.Pattern
	if route == "" {
		route = "unmatched"
	}
	code := rec.code
	if code == "" {
		code = "http_" + strconv.Itoa(rec.status)
	}
	f.total.WithLabelValues(route, code).Inc()
}
