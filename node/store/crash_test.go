package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/gridmint/gridmint"
)

// The crash test runs a writer in a child process (this test binary, re-run
// with -test.run=TestHelperProcess) and SIGKILLs it mid-stream.
const (
	crashEnvDir      = "GRIDMINT_STORE_CRASH_DIR"
	crashDevice      = gridmint.DeviceID("x/crash/p")
	crashRejPerBatch = 3
)

// crashBatchLen is how many readings batch i holds. Sizes vary, up to a
// large transaction, so the kill lands at varied points of a commit.
func crashBatchLen(i int) int { return 50 + (i%7)*150 }

// crashReading is reading j of batch i; Raw carries i, Energy carries j.
func crashReading(i, j int) gridmint.Reading {
	r := reading(crashDevice, t0.Add(time.Duration(i)*time.Second+time.Duration(j)), gridmint.MWh(j))
	r.Raw = gridmint.MWh(i)
	return r
}

// TestHelperProcess is the crash test's child: it commits batches forever,
// continuing after the last batch on disk, and prints each batch number
// only after Commit returned nil. It does nothing when run normally.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("helper process for TestCrashKeepsCommittedBatches")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	last, ok, err := s.LastReading(crashDevice)
	if err != nil {
		fmt.Fprintln(os.Stderr, "last reading:", err)
		os.Exit(2)
	}
	first := 0
	if ok {
		first = int(last.Raw) + 1
	}
	build := func(i int) *Batch {
		b := s.NewBatch()
		for j := range crashBatchLen(i) {
			b.PutReading(crashReading(i, j))
		}
		for range crashRejPerBatch {
			b.PutRejection(rejection(t0.Add(time.Duration(i)*time.Second), gridmint.ReasonImplausible, strconv.Itoa(i)))
		}
		b.PutCounterState(crashDevice, []byte(strconv.Itoa(i)))
		return b
	}
	b := build(first)
	for i := first; ; i++ {
		if err := s.Commit(b); err != nil {
			fmt.Fprintln(os.Stderr, "commit:", err)
			os.Exit(2)
		}
		// Build the next batch before reporting this one, so the parent's
		// kill tends to land inside the next Commit rather than before it.
		b = build(i + 1)
		// os.Stdout is unbuffered: the line leaves the process now.
		fmt.Fprintln(os.Stdout, i)
	}
}

// TestCrashKeepsCommittedBatches SIGKILLs a committing child several times
// over the same directory (so recovery of a recovered store is covered
// too) and checks after each kill that every batch the child reported is
// whole on disk and no batch is partial.
func TestCrashKeepsCommittedBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	onDisk := -1 // highest whole batch on disk
	for round, killAfter := range []int{15, 2, 25} {
		reported := crashChild(t, dir, onDisk+1, killAfter)
		onDisk = checkCrashDir(t, dir, reported)
		t.Logf("round %d: child reported up to batch %d, %d whole batches on disk after SIGKILL", round, reported, onDisk+1)
		if t.Failed() {
			return
		}
	}
}

// crashChild runs the helper on dir, SIGKILLs it after killAfter reported
// batches and returns the highest batch it reported. The child must start
// at batch first.
func crashChild(t *testing.T, dir string, first, killAfter int) (reported int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	// A watchdog instead of a sleep: if the child stalls, kill it so the
	// scan below ends and the test fails on too few lines.
	watchdog := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	reported = first - 1
	lines := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			continue // test framework chatter
		}
		if n != reported+1 {
			t.Fatalf("child reported batch %d after %d", n, reported)
		}
		reported = n
		lines++
		if lines == killAfter && !killed {
			// SIGKILL while the child keeps committing; keep reading: lines
			// written before the kill were reported too.
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child exited or stalled after reporting %d batches, want %d", lines, killAfter)
	}
	return reported
}

// checkCrashDir opens dir and checks that batches 0..n are whole and
// nothing else is there, where n is reported or, if the child was killed
// between Commit and its print, reported+1. It returns n.
func checkCrashDir(t *testing.T, dir string, reported int) int {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	all, err := s.Readings(crashDevice, time.Time{}, time.Time{}, 1<<30)
	if err != nil {
		t.Fatalf("Readings after crash: %v", err)
	}
	perBatch := map[int][]gridmint.Reading{}
	maxBatch := -1
	for _, r := range all {
		i := int(r.Raw)
		perBatch[i] = append(perBatch[i], r)
		maxBatch = max(maxBatch, i)
	}
	if maxBatch < reported || maxBatch > reported+1 {
		t.Errorf("highest batch on disk = %d, want %d or %d (reported %d)", maxBatch, reported, reported+1, reported)
	}
	for i := 0; i <= maxBatch; i++ {
		got := perBatch[i]
		if len(got) != crashBatchLen(i) {
			t.Errorf("batch %d: %d of %d readings on disk", i, len(got), crashBatchLen(i))
			continue
		}
		for j, r := range got {
			if want := crashReading(i, j); r != want {
				t.Errorf("batch %d reading %d = %v, want %v", i, j, r, want)
				break
			}
		}
	}
	rej, _, err := s.Rejections("", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := s.RejectionCounts()
	if err != nil {
		t.Fatal(err)
	}
	wantRej := (maxBatch + 1) * crashRejPerBatch
	if len(rej) != wantRej || counts[gridmint.ReasonImplausible] != uint64(wantRej) {
		t.Errorf("after crash: %d rejections, count %d; want %d for %d whole batches",
			len(rej), counts[gridmint.ReasonImplausible], wantRej, maxBatch+1)
	}
	states, err := s.CounterStates()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(states[crashDevice]), strconv.Itoa(maxBatch); got != want {
		t.Errorf("counter state after crash = %q, want %q (last whole batch)", got, want)
	}
	return maxBatch
}
