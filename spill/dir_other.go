//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package spill

import (
	"fmt"
	"io"
	"io/fs"
)

// checkPrivate only checks that path is a directory where Unix permissions
// are not available.
func checkPrivate(path string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("spill: %s is not a directory", path)
	}
	return nil
}

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDir is a no-op where flock is not available: one mount per spill
// directory is then the caller's responsibility.
func lockDir(string) (io.Closer, error) { return noLock{}, nil }
