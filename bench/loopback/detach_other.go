//go:build !linux

package main

import "syscall"

// detach unmounts dir (there is no lazy unmount here).
func detach(dir string) error { return syscall.Unmount(dir, 0) }
