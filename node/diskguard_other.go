//go:build !(linux || darwin)

package node

import (
	"errors"
	"fmt"
)

// statfsSpace cannot read the free space on this platform: the guard then
// never pauses and /healthz says the space is unknown.
func statfsSpace(dir string) (free, total uint64, err error) {
	return 0, 0, fmt.Errorf("free space of %s: %w on this platform", dir, errors.ErrUnsupported)
}
