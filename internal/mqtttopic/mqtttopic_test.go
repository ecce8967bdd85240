package mqtttopic

import "testing"

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+/c", "a/b/c", true},
		{"a/+/c", "a/b/d", false},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"#", "x/y", true},
		{"a/b", "a", false},
		{"a", "a/b", false},
		{"solar-1/+/cmd/power", "solar-1/116100000008/cmd/power", true},
		{"R/02c0619b0001/#", "R/02c0619b0001/keepalive", true},
		{"R/02c0619b0001/#", "R/02c0619b0011/keepalive", false},
		{"go-eCharger/300001/+/set", "go-eCharger/300001/amp/set", true},
	} {
		if got := Match(tc.filter, tc.topic); got != tc.want {
			t.Errorf("Match(%q, %q) = %v", tc.filter, tc.topic, got)
		}
	}
}
