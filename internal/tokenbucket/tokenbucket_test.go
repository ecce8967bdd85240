package tokenbucket

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestAllow(t *testing.T) {
	l := New(2, 3, 10)
	for i := range 3 {
		if !l.Allow("a", t0) {
			t.Fatalf("token %d of a burst of 3 refused", i+1)
		}
	}
	if l.Allow("a", t0) {
		t.Error("a 4th token at once allowed, want the burst of 3 spent")
	}
	if !l.Allow("b", t0) {
		t.Error("another key shares a's bucket")
	}
	if !l.Allow("a", t0.Add(500*time.Millisecond)) || l.Allow("a", t0.Add(500*time.Millisecond)) {
		t.Error("after 0.5 s at 2/s, want exactly one new token")
	}
	got := 0
	for l.Allow("a", t0.Add(time.Hour)) {
		got++
	}
	if got != 3 {
		t.Errorf("after an hour %d tokens, want no more than the burst of 3", got)
	}
	u := New(0, 1, 1)
	for i := range 5 {
		if !u.Allow("x", t0) {
			t.Fatalf("rate 0 refused token %d, want everything allowed", i+1)
		}
	}
}

func TestKeysAreBounded(t *testing.T) {
	l := New(1, 1, 64)
	for i := range 10_000 {
		l.Allow(string(rune(i)), t0)
		if l.Keys() > 64 {
			t.Fatalf("after %d keys the limiter holds %d, want at most 64", i+1, l.Keys())
		}
	}
	if !l.Allow("fresh", t0) || l.Allow("fresh", t0) {
		t.Error("a new key gets exactly its burst of 1")
	}
}
