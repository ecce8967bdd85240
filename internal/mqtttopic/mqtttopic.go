// Package mqtttopic matches MQTT topic names against topic filters, for
// the node's adapters and the simulated firmware alike. Any gridmint
// package may import it.
package mqtttopic

import "strings"

// Match reports whether an MQTT topic name matches a topic filter with
// the MQTT 3.1.1 wildcards: '+' matches exactly one level, a trailing '#'
// matches the parent level and any number of levels below it.
func Match(filter, topic string) bool {
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		if fl == "#" {
			return true
		}
		tl, trest, tmore := strings.Cut(topic, "/")
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !tmore:
			// "a/#" also matches "a".
			return frest == "#"
		case !fmore:
			return false
		}
		filter, topic = frest, trest
	}
}
