//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cache

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// lockDir takes an exclusive advisory lock on dir, so that two Caches (in one
// process or two) never share a disk tier: each would delete the other's
// temporary files and miscount the budget.
func lockDir(dir string) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cache: %s is in use by another cache: %w", dir, err)
	}
	return f, nil
}
