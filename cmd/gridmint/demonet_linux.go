package main

import (
	"os/exec"
	"syscall"
)

// stopWithParent makes the kernel send the node SIGTERM when the demo
// process dies, so a killed `demo --nodes` leaves no orphan nodes behind.
func stopWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
