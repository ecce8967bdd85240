package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gridmint/gridmint"
)

// Settlement records survive a reopen, scan by prefix in key order,
// replace and delete, and stay apart from the store's other records.
func TestSettleRecords(t *testing.T) {
	dir := t.TempDir()
	s := openDisk(t, dir, Options{})
	put := func(k, v string) {
		t.Helper()
		if err := s.PutSettle(k, []byte(v)); err != nil {
			t.Fatalf("PutSettle(%q): %v", k, err)
		}
	}
	put("b/2", "batch two")
	put("b/1", "batch one")
	put("a/1/x", "att x")
	put("a/1/y", "att y")
	put("b/1", "batch one, replaced")
	b := s.NewBatch()
	b.PutMeta("b/1", []byte("node meta, not a settlement record"))
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openDisk(t, dir, Options{})
	scan := func(prefix string) []string {
		t.Helper()
		var out []string
		if err := s.ScanSettle(prefix, func(k string, v []byte) error {
			out = append(out, k+"="+string(v))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got, want := scan("b/"), []string{"b/1=batch one, replaced", "b/2=batch two"}; !slices.Equal(got, want) {
		t.Errorf("after reopen, b/ = %q, want %q", got, want)
	}
	if got, want := scan(""), []string{"a/1/x=att x", "a/1/y=att y", "b/1=batch one, replaced", "b/2=batch two"}; !slices.Equal(got, want) {
		t.Errorf("all = %q, want %q", got, want)
	}
	if err := s.DeleteSettle([]string{"a/1/x", "b/2", "b/never"}); err != nil {
		t.Fatal(err)
	}
	if got, want := scan(""), []string{"a/1/y=att y", "b/1=batch one, replaced"}; !slices.Equal(got, want) {
		t.Errorf("after delete = %q, want %q", got, want)
	}
	stop := fmt.Errorf("stop")
	if err := s.ScanSettle("", func(string, []byte) error { return stop }); err == nil || !strings.Contains(err.Error(), "stop") {
		t.Errorf("ScanSettle did not pass fn's error on: %v", err)
	}
	if v, ok, err := s.Meta("b/1"); err != nil || !ok || string(v) != "node meta, not a settlement record" {
		t.Errorf("node meta under the same name: %q, %v, %v", v, ok, err)
	}
}

func TestSettleRecordBounds(t *testing.T) {
	s := openMem(t)
	cases := []struct {
		name  string
		key   string
		value []byte
	}{
		{"empty key", "", []byte("x")},
		{"long key", strings.Repeat("k", maxSettleKeyLen+1), []byte("x")},
		{"large value", "b/big", make([]byte, MaxValueLen+1)},
	}
	for _, c := range cases {
		if err := s.PutSettle(c.key, c.value); gridmint.ErrorCode(err) != gridmint.EInvalid {
			t.Errorf("%s: %v, want an invalid error", c.name, err)
		}
	}
	if err := s.ScanSettle("", func(k string, _ []byte) error { return fmt.Errorf("stored %q", k) }); err != nil {
		t.Errorf("a refused record was stored: %v", err)
	}
}
