package node

import "syscall"

// statfsUnit is the unit of statfs's block counts: f_bsize on Darwin.
func statfsUnit(st *syscall.Statfs_t) uint64 { return uint64(st.Bsize) }
