//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cache

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDir is a no-op where flock is not available: one Cache per Dir is then
// the caller's responsibility.
func lockDir(string) (io.Closer, error) { return noLock{}, nil }
