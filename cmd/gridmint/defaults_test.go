package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

// TestDemoTurnsMDNSOn: `gridmint demo` finds other demo nodes on the LAN
// unless told --mdns=false, while `gridmint run` leaves mDNS off unless
// its config says otherwise (node.TestConfigP2PDefaults).
func TestDemoTurnsMDNSOn(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run([]string{"demo", "--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("demo --help: %v", err)
	}
	lines := strings.Split(stderr.String(), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "-mdns" {
			continue
		}
		if i+1 >= len(lines) || !strings.Contains(lines[i+1], "(default true)") {
			t.Fatalf("demo --mdns is not on by default:\n%s", strings.Join(lines[i:min(i+2, len(lines))], "\n"))
		}
		return
	}
	t.Fatalf("demo --help lists no -mdns flag:\n%s", stderr.String())
}
