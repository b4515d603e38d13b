//go:build unix

package emulator

import (
	"errors"
	"os"
	"syscall"
)

// lockDir opens path and takes an exclusive, non-blocking flock on it; the
// lock is released when the file is closed (also when the process dies).
func lockDir(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errors.New("in use by another emulator")
		}
		return nil, err
	}
	return f, nil
}
