package settle

// MetricValue exposes metricValue to the external tests.
func MetricValue(e *Engine, name string, labels ...string) (v float64, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = 0, false
		}
	}()
	return metricValue(e, name, labels...), true
}
