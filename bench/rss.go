package main

import (
	"os"
	"runtime"
	"syscall"
)

// peakRSS is the peak resident set size of an exited process, in bytes: the
// kernel's ru_maxrss, which Linux counts in KiB and macOS in bytes.
func peakRSS(ps *os.ProcessState) int64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) << 10
}
