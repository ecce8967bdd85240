//go:build linux || darwin

package node

import (
	"fmt"
	"syscall"
)

// statfsSpace reads the free space of dir's filesystem with statfs(2):
// f_bavail blocks, the ones a process without root's reserve may use, so
// that the reserve holds even where root could go on writing.
func statfsSpace(dir string) (free, total uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bs := statfsUnit(&st)
	return uint64(st.Bavail) * bs, uint64(st.Blocks) * bs, nil
}
