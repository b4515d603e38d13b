package main

import "syscall"

// detach is umount -l: the mount leaves the namespace at once and goes away
// when its last open file is closed.
func detach(dir string) error { return syscall.Unmount(dir, syscall.MNT_DETACH) }
