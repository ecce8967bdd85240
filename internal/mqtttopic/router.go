package mqtttopic

import (
	"fmt"
	"strings"
)

// Router maps topic names to values by topic filter, in time independent
// of how many filters it holds: a trie over the filters' levels, so a
// topic visits only the branches that can match it (its own levels, '+'
// and '#'), never every filter. When several filters match, the value
// added first wins: that is the precedence callers document.
//
// A Router is not safe for concurrent use while Add runs; Match may be
// called concurrently once it is built.
type Router[V any] struct {
	root node[V]
	n    int
}

type node[V any] struct {
	children map[string]*node[V] // literal levels and "+"
	end      *entry[V]           // a filter that ends at this node
	hash     *entry[V]           // the filter "<this node>/#"
}

type entry[V any] struct {
	seq    int
	filter string
	value  V
}

// Route is a filter of a Router and its value.
type Route[V any] struct {
	Filter string
	Value  V
}

// ValidFilter checks an MQTT 3.1.1 topic filter: not empty, '+' and '#'
// only as whole levels, '#' only last, no NUL.
func ValidFilter(filter string) error {
	if filter == "" {
		return fmt.Errorf("empty topic filter")
	}
	if strings.ContainsRune(filter, 0) {
		return fmt.Errorf("topic filter %q holds a NUL", filter)
	}
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		switch {
		case level == "#" && more:
			return fmt.Errorf("topic filter %q: '#' is not the last level", filter)
		case level != "#" && level != "+" && strings.ContainsAny(level, "+#"):
			return fmt.Errorf("topic filter %q: a wildcard inside the level %q", filter, level)
		}
	}
	return nil
}

// Add routes filter to v. A filter added before keeps its value (the
// first added wins) and Add reports false.
func (r *Router[V]) Add(filter string, v V) (bool, error) {
	if err := ValidFilter(filter); err != nil {
		return false, err
	}
	n := &r.root
	for rest, more := filter, true; more; {
		var level string
		level, rest, more = strings.Cut(rest, "/")
		if level == "#" {
			if n.hash != nil {
				return false, nil
			}
			n.hash = &entry[V]{seq: r.n, filter: filter, value: v}
			r.n++
			return true, nil
		}
		c := n.children[level]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*node[V]{}
			}
			c = &node[V]{}
			n.children[level] = c
		}
		n = c
	}
	if n.end != nil {
		return false, nil
	}
	n.end = &entry[V]{seq: r.n, filter: filter, value: v}
	r.n++
	return true, nil
}

// Len is the number of filters in r.
func (r *Router[V]) Len() int { return r.n }

// Match returns the value of the first-added filter that matches topic
// (the semantics of Match), and that filter. It does not allocate.
func (r *Router[V]) Match(topic string) (v V, filter string, ok bool) {
	e := r.root.match(topic, nil)
	if e == nil {
		return v, "", false
	}
	return e.value, e.filter, true
}

func earlier[V any](a, b *entry[V]) *entry[V] {
	if a == nil || (b != nil && b.seq < a.seq) {
		return b
	}
	return a
}

// match finds the earliest filter below n that matches topic, the levels
// after n's.
func (n *node[V]) match(topic string, best *entry[V]) *entry[V] {
	best = earlier(best, n.hash)
	level, rest, more := strings.Cut(topic, "/")
	for _, key := range [2]string{level, "+"} {
		c := n.children[key]
		if c == nil {
			continue
		}
		if more {
			best = c.match(rest, best)
		} else {
			// The topic ends here: a filter ending here matches, and so
			// does "<here>/#" ('#' matches the parent level too).
			best = earlier(earlier(best, c.end), c.hash)
		}
		if level == "+" {
			break // a topic level "+" is the '+' child's key: visit it once
		}
	}
	return best
}

// Overlapping returns the routes already in r whose filters some topic
// matches together with filter (see Overlap), in the order they were added.
func (r *Router[V]) Overlapping(filter string) []Route[V] {
	var found []*entry[V]
	r.root.overlapping(filter, &found)
	// Order by seq: few entries, insertion sort.
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && found[j].seq < found[j-1].seq; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	out := make([]Route[V], len(found))
	for i, e := range found {
		out[i] = Route[V]{e.filter, e.value}
	}
	return out
}

func (n *node[V]) overlapping(filter string, found *[]*entry[V]) {
	if n.hash != nil {
		*found = append(*found, n.hash)
	}
	level, rest, more := strings.Cut(filter, "/")
	if level == "#" {
		// Everything below n, n's own end included ("a/#" matches "a").
		if n.end != nil {
			*found = append(*found, n.end)
		}
		for _, c := range n.children {
			c.all(found)
		}
		return
	}
	visit := func(c *node[V]) {
		if more {
			c.overlapping(rest, found)
			return
		}
		if c.end != nil {
			*found = append(*found, c.end)
		}
		if c.hash != nil {
			*found = append(*found, c.hash)
		}
	}
	if level == "+" {
		for _, c := range n.children {
			visit(c)
		}
		return
	}
	if c := n.children[level]; c != nil {
		visit(c)
	}
	if c := n.children["+"]; c != nil {
		visit(c)
	}
}

// all collects every entry at or below n.
func (n *node[V]) all(found *[]*entry[V]) {
	if n.end != nil {
		*found = append(*found, n.end)
	}
	if n.hash != nil {
		*found = append(*found, n.hash)
	}
	for _, c := range n.children {
		c.all(found)
	}
}

// Overlap reports whether some topic name matches both filters.
func Overlap(a, b string) bool {
	for {
		al, arest, amore := strings.Cut(a, "/")
		bl, brest, bmore := strings.Cut(b, "/")
		if al == "#" || bl == "#" {
			return true
		}
		if al != "+" && bl != "+" && al != bl {
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !amore:
			return brest == "#" // "a/#" matches "a"
		case !bmore:
			return arest == "#"
		}
		a, b = arest, brest
	}
}

// Covers reports whether every topic name that matches specific also
// matches general.
func Covers(general, specific string) bool {
	for {
		gl, grest, gmore := strings.Cut(general, "/")
		sl, srest, smore := strings.Cut(specific, "/")
		switch {
		case gl == "#":
			return true
		case sl == "#":
			return false
		case gl != "+" && gl != sl:
			return false
		}
		switch {
		case !gmore && !smore:
			return true
		case !smore:
			return grest == "#"
		case !gmore:
			return false
		}
		general, specific = grest, srest
	}
}

// Minimal returns filters without duplicates and without the filters
// another of them covers, in their order: subscribing to it receives the
// same topics, and a broker that sends a message once per matching
// subscription (MQTT 3.1.1 allows it) sends fewer copies.
func Minimal(filters []string) []string {
	var r Router[struct{}]
	for _, f := range filters {
		r.Add(f, struct{}{})
	}
	seen := map[string]bool{}
	var out []string
outer:
	for _, f := range filters {
		if seen[f] {
			continue
		}
		seen[f] = true
		for _, o := range r.Overlapping(f) {
			if o.Filter != f && Covers(o.Filter, f) {
				continue outer
			}
		}
		out = append(out, f)
	}
	return out
}
