//go:build unix

package flex

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time: on a machine shared
// with other work, CPU time per op says more than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
