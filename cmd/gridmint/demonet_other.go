//go:build !linux

package main

import "os/exec"

// stopWithParent is a no-op where the kernel has no parent-death signal;
// a killed `demo --nodes` may leave its nodes running there.
func stopWithParent(*exec.Cmd) {}
