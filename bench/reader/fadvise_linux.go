package main

import (
	"os"
	"syscall"
)

// adviseRandom is posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM): the kernel does
// no readahead for the file.
func adviseRandom(f *os.File) error {
	const fadvRandom = 1
	_, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvRandom, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
