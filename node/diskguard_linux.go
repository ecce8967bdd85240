package node

import "syscall"

// statfsUnit is the unit of statfs's block counts: Linux counts in
// fragments (f_frsize, as statvfs and df do), which equal f_bsize on
// common filesystems; kernels that leave it 0 count in f_bsize.
func statfsUnit(st *syscall.Statfs_t) uint64 {
	if st.Frsize > 0 {
		return uint64(st.Frsize)
	}
	return uint64(st.Bsize)
}
