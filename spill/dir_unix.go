//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package spill

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// checkPrivate refuses a directory that users other than its owner can
// enter or read, or that is not owned by this process's user: spill files
// hold file contents.
func checkPrivate(path string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("spill: %s is not a directory", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("spill: %s is accessible to other users (mode %#o); make it 0700", path, perm)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("spill: %s is owned by uid %d, not by this user (%d)", path, st.Uid, os.Geteuid())
	}
	return nil
}

// lockDir takes an exclusive advisory lock on dir, so that two mounts never
// share a spill directory: each would take the other's files for orphans.
func lockDir(dir string) (io.Closer, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spill: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("spill: %s is in use by another mount: %w", dir, err)
	}
	return f, nil
}
