package mqtttopic

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestRouterFirstAddedWins(t *testing.T) {
	var r Router[string]
	for _, f := range []string{"tele/sml/SENSOR", "tele/+/SENSOR", "tele/+/LWT", "N/abc/#", "#/never", "solar/#", "a/+/+", "a/b/#"} {
		if _, err := r.Add(f, f); err != nil && f != "#/never" {
			t.Fatalf("Add(%q): %v", f, err)
		} else if err == nil && f == "#/never" {
			t.Fatalf("Add(%q) accepted an invalid filter", f)
		}
	}
	if added, err := r.Add("tele/+/SENSOR", "again"); added || err != nil {
		t.Errorf("Add of a filter already there = %v, %v; want false, nil", added, err)
	}
	for _, tc := range []struct{ topic, want string }{
		{"tele/sml/SENSOR", "tele/sml/SENSOR"},
		{"tele/plug/SENSOR", "tele/+/SENSOR"},
		{"tele/plug/LWT", "tele/+/LWT"},
		{"tele/plug/STATE", ""},
		{"N/abc", "N/abc/#"},
		{"N/abc/battery/0/Soc", "N/abc/#"},
		{"N/abd/battery/0/Soc", ""},
		{"solar", "solar/#"},
		{"solar/1161/0/power", "solar/#"},
		{"a/b/c", "a/+/+"}, // added before a/b/#
		{"a/b", "a/b/#"},
		{"a/b/c/d", "a/b/#"},
		{"", ""},
		{"tele//SENSOR", "tele/+/SENSOR"},
	} {
		v, f, ok := r.Match(tc.topic)
		if tc.want == "" {
			if ok {
				t.Errorf("Match(%q) = %q (filter %q), want no match", tc.topic, v, f)
			}
			continue
		}
		if !ok || v != tc.want || f != tc.want {
			t.Errorf("Match(%q) = %q, %q, %v; want %q", tc.topic, v, f, ok, tc.want)
		}
	}
}

func TestValidFilter(t *testing.T) {
	for f, ok := range map[string]bool{
		"a": true, "#": true, "+": true, "a/+/b/#": true, "/": true, "a//b": true,
		"": false, "a/#/b": false, "a+": false, "a/b#": false, "a\x00": false,
	} {
		if err := ValidFilter(f); (err == nil) != ok {
			t.Errorf("ValidFilter(%q) = %v, want ok %v", f, err, ok)
		}
	}
}

func TestOverlapAndCovers(t *testing.T) {
	for _, tc := range []struct {
		a, b            string
		overlap, covers bool // covers: a covers b
	}{
		{"tele/+/SENSOR", "tele/sml/SENSOR", true, true},
		{"tele/sml/SENSOR", "tele/+/SENSOR", true, false},
		{"tele/+/SENSOR", "tele/+/LWT", false, false},
		{"a/+/c", "a/b/+", true, false},
		{"a/#", "a", true, true},
		{"a", "a/#", true, false},
		{"a/#", "a/+/#", true, true},
		{"+/#", "a/#", true, true},
		{"#", "x/y/z", true, true},
		{"x/y/z", "#", true, false},
		{"a/+", "a/+/b", false, false},
		{"N/p1/#", "N/p2/#", false, false},
		{"go-eCharger/+/+", "go-eCharger/+/+/result", false, false},
		{"a/b", "a/b", true, true},
	} {
		if got := Overlap(tc.a, tc.b); got != tc.overlap {
			t.Errorf("Overlap(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.overlap)
		}
		if got := Overlap(tc.b, tc.a); got != tc.overlap {
			t.Errorf("Overlap(%q, %q) = %v, want %v (symmetric)", tc.b, tc.a, got, tc.overlap)
		}
		if got := Covers(tc.a, tc.b); got != tc.covers {
			t.Errorf("Covers(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.covers)
		}
	}
}

func TestRouterOverlapping(t *testing.T) {
	var r Router[int]
	filters := []string{"tele/+/SENSOR", "tele/sml/#", "N/p1/#", "a/b/c", "+/b/+", "#"}
	for i, f := range filters {
		if _, err := r.Add(f, i); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"tele/sml/SENSOR", []string{"tele/+/SENSOR", "tele/sml/#", "#"}},
		{"tele/x/LWT", []string{"#"}},
		{"N/#", []string{"N/p1/#", "+/b/+", "#"}},
		{"a/+/c", []string{"a/b/c", "+/b/+", "#"}},
	} {
		var got []string
		for _, rt := range r.Overlapping(tc.filter) {
			got = append(got, rt.Filter)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Overlapping(%q) = %q, want %q", tc.filter, got, tc.want)
		}
	}
}

// BenchmarkRouterMatch: the cost of routing one topic among n adapters'
// filters (a Victron portal and a Tasmota prefix per adapter), against
// trying every filter in turn as before.
func BenchmarkRouterMatch(b *testing.B) {
	for _, n := range []int{10, 250, 4000} {
		var r Router[int]
		var linear []string
		for i := range n {
			for _, f := range []string{fmt.Sprintf("N/c0619ab%05d/#", i), fmt.Sprintf("home%d/tele/+/SENSOR", i)} {
				r.Add(f, i)
				linear = append(linear, f)
			}
		}
		topic := fmt.Sprintf("N/c0619ab%05d/battery/512/Dc/0/Power", n-1)
		b.Run(fmt.Sprintf("trie/adapters=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ok := r.Match(topic); !ok {
					b.Fatal("no match")
				}
			}
		})
		b.Run(fmt.Sprintf("linear/adapters=%d", n), func(b *testing.B) {
			for b.Loop() {
				if !slices.ContainsFunc(linear, func(f string) bool { return Match(f, topic) }) {
					b.Fatal("no match")
				}
			}
		})
	}
}

// FuzzRouter checks the trie against the definition: the first filter
// (in the order added) for which Match holds, and Overlap, Covers and
// Overlapping against topics that match.
func FuzzRouter(f *testing.F) {
	f.Add("tele/+/SENSOR,tele/sml/SENSOR,a/#", "tele/sml/SENSOR")
	f.Add("a/+/c,a/b/+,#", "a/b/c")
	f.Add("+/+,+/#,/,//", "/")
	f.Add("N/p/#,N/+/x", "N/p")
	f.Fuzz(func(t *testing.T, list, topic string) {
		var filters []string
		for _, fl := range strings.Split(list, ",") {
			if ValidFilter(fl) == nil && len(filters) < 16 {
				filters = append(filters, fl)
			}
		}
		if strings.ContainsAny(topic, "+#\x00") {
			return // not a topic name
		}
		var r Router[int]
		for i, fl := range filters {
			for j, before := range filters[:i] {
				want := Overlap(before, fl)
				got := slices.ContainsFunc(r.Overlapping(fl), func(rt Route[int]) bool { return rt.Filter == before })
				if got != want && before != fl {
					t.Fatalf("Overlapping(%q) has %q (added %d): %v, Overlap says %v", fl, before, j, got, want)
				}
			}
			r.Add(fl, i)
		}
		want := -1
		for i, fl := range filters {
			if Match(fl, topic) {
				want = i
				break
			}
		}
		v, _, ok := r.Match(topic)
		if (want >= 0) != ok || (ok && filters[v] != filters[want]) {
			t.Fatalf("Match(%q) among %q = %d, %v; want %d", topic, filters, v, ok, want)
		}
		// The minimal cover receives the same topics.
		if slices.ContainsFunc(filters, func(f string) bool { return Match(f, topic) }) !=
			slices.ContainsFunc(Minimal(filters), func(f string) bool { return Match(f, topic) }) {
			t.Fatalf("Minimal(%q) = %q changes whether %q is received", filters, Minimal(filters), topic)
		}
		for _, a := range filters {
			for _, b := range filters {
				if Match(a, topic) && Match(b, topic) && !Overlap(a, b) {
					t.Fatalf("%q and %q both match %q, Overlap says no", a, b, topic)
				}
				if Covers(a, b) && Match(b, topic) && !Match(a, topic) {
					t.Fatalf("Covers(%q, %q) but only the second matches %q", a, b, topic)
				}
				if Covers(a, b) && !Overlap(a, b) {
					t.Fatalf("Covers(%q, %q) without Overlap", a, b)
				}
			}
		}
	})
}

func TestMinimal(t *testing.T) {
	got := Minimal([]string{"tele/sml/SENSOR", "tele/+/SENSOR", "tele/+/LWT", "tele/+/SENSOR", "N/p/#", "N/p/battery/+", "a/+/c", "a/b/+"})
	want := []string{"tele/+/SENSOR", "tele/+/LWT", "N/p/#", "a/+/c", "a/b/+"}
	if !slices.Equal(got, want) {
		t.Errorf("Minimal = %q, want %q", got, want)
	}
}
