package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// binDir holds the binaries testBinaries builds, once per test run.
var binDir struct {
	once     sync.Once
	dir, err string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir.dir != "" {
		os.RemoveAll(binDir.dir)
	}
	os.Exit(code)
}

// testBinaries builds bin/gridmint and bin/firmware-sim with make build,
// as the README does, once for every test that runs them, and returns
// their directory.
func testBinaries(t *testing.T) string {
	t.Helper()
	requireTool(t, "make")
	binDir.once.Do(func() {
		dir, err := os.MkdirTemp("", "gridmint-test-bin-")
		if err != nil {
			binDir.err = err.Error()
			return
		}
		binDir.dir = dir
		repo, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			binDir.err = err.Error()
			return
		}
		if out, err := exec.Command("make", "-C", repo, "build", "BIN="+dir).CombinedOutput(); err != nil {
			binDir.err = fmt.Sprintf("make build: %v\n%s", err, out)
		}
	})
	if binDir.err != "" {
		t.Fatal(binDir.err)
	}
	return binDir.dir
}

func TestCommandLine(t *testing.T) {
	badConfig := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badConfig, []byte("adapters: [{dialect: tasmota}]\ndevices: [{dialect: tasmota, serial: a, kind: toaster}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noKeyConfig := filepath.Join(t.TempDir(), "nokey.yaml")
	if err := os.WriteFile(noKeyConfig, []byte("data_dir: "+t.TempDir()+"\nmqtt: {broker: tcp://127.0.0.1:1}\nadapters: [{dialect: tasmota}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(passphraseEnv, "") // restored after the test
	os.Unsetenv(passphraseEnv)
	dataDir := t.TempDir()
	passFile := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(passFile, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shortPass := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(shortPass, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantErr    error  // matched with errors.Is, when set
		wantErrSub string // in the error text, when set
		wantOut    string // in stdout+stderr
	}{
		{name: "no command prints usage", args: nil, wantErr: errUsage, wantOut: "gridmint run --config FILE"},
		{name: "help", args: []string{"help"}, wantOut: "gridmint demo [flags]"},
		{name: "version", args: []string{"version"}, wantOut: "gridmint dev"},
		{name: "unknown command", args: []string{"frobnicate"}, wantErrSub: `unknown command "frobnicate"`},
		{name: "demo --help lists its flags", args: []string{"demo", "--help"}, wantErr: flag.ErrHelp, wantOut: "-mqtt-addr"},
		{name: "demo rejects stray arguments", args: []string{"demo", "now"}, wantErrSub: "unexpected arguments"},
		{name: "demo bad log level", args: []string{"demo", "--log-level", "loud"}, wantErrSub: "--log-level"},
		{name: "run needs --config", args: []string{"run"}, wantErrSub: "--config is required"},
		{name: "run with a missing file", args: []string{"run", "--config", "/nonexistent/gridmint.yaml"}, wantErrSub: "no such file"},
		{name: "init creates a key", args: []string{"init", "--data-dir", dataDir, "--passphrase-file", passFile, "--light-kdf"}, wantOut: "peer ID"},
		{name: "init refuses to replace it", args: []string{"init", "--data-dir", dataDir, "--passphrase-file", passFile, "--light-kdf"}, wantErrSub: "refusing to replace"},
		{name: "init refuses a short passphrase", args: []string{"init", "--data-dir", t.TempDir(), "--passphrase-file", shortPass}, wantErrSub: "at least 8"},
		{name: "init without a terminal or passphrase", args: []string{"init", "--data-dir", t.TempDir()}, wantErrSub: "GRIDMINT_PASSPHRASE"},
		{name: "audit --rpc needs --contracts", args: []string{"audit", "--rpc", "http://127.0.0.1:1"}, wantErrSub: "go together"},
		{name: "audit --contracts must be addresses", args: []string{"audit", "--rpc", "http://127.0.0.1:1", "--contracts", badConfig}, wantErrSub: "want {"},
		{name: "run before init names the missing key, not the passphrase", args: []string{"run", "--config", noKeyConfig}, wantErrSub: "create one with `gridmint init"},
		{name: "run with an invalid config names the field", args: []string{"run", "--config", badConfig}, wantErrSub: "devices[0].kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			switch {
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("run(%q) = %v, want %v", tt.args, err, tt.wantErr)
			case tt.wantErrSub != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErrSub)):
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.wantErrSub)
			case tt.wantErr == nil && tt.wantErrSub == "" && err != nil:
				t.Errorf("run(%q) = %v, want success", tt.args, err)
			}
			if out := stdout.String() + stderr.String(); !strings.Contains(out, tt.wantOut) {
				t.Errorf("run(%q) output lacks %q:\n%s", tt.args, tt.wantOut, out)
			}
		})
	}
}

// TestAddressCommand: `gridmint address` prints the address `gridmint
// init` created, without the passphrase, from the data dir, the keystore
// or the config; without a key it says how to make one.
func TestAddressCommand(t *testing.T) {
	t.Setenv(passphraseEnv, "correct horse battery")
	dataDir := t.TempDir()
	var initOut, stderr bytes.Buffer
	if err := run([]string{"init", "--data-dir", dataDir, "--light-kdf"}, &initOut, &stderr); err != nil {
		t.Fatalf("init: %v\n%s", err, stderr.String())
	}
	var want string
	for _, line := range strings.Split(initOut.String(), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "address" {
			want = f[1]
		}
	}
	if !strings.HasPrefix(want, "0x") {
		t.Fatalf("init printed no address:\n%s", initOut.String())
	}
	os.Unsetenv(passphraseEnv) // address needs none
	config := filepath.Join(t.TempDir(), "gridmint.yaml")
	if err := os.WriteFile(config, []byte("data_dir: "+dataDir+"\nadapters: [{dialect: tasmota}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"address", "--data-dir", dataDir},
		{"address", "--keystore", filepath.Join(dataDir, "keystore")},
		{"address", "--config", config},
	} {
		var stdout bytes.Buffer
		if err := run(args, &stdout, &stderr); err != nil || stdout.String() != want+"\n" {
			t.Errorf("run(%q) = %q, %v; want %q", args, stdout.String(), err, want+"\n")
		}
	}
	var stdout bytes.Buffer
	if err := run([]string{"address", "--data-dir", t.TempDir()}, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "gridmint init") || stdout.Len() != 0 {
		t.Errorf("address without a key = %q, %v; want an error naming gridmint init", stdout.String(), err)
	}
}

// requireTool returns the path of a tool, or skips the test without it
// (fails in CI, which installs it).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	// Debian's mosquitto is in /usr/sbin, which a user's PATH may lack.
	if p := filepath.Join("/usr/sbin", name); isExecutable(p) {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not installed; .ci/run installs it", name)
	}
	t.Skipf("%s not installed; CI runs this test", name)
	return ""
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
