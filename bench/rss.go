package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// peakRSS is the peak resident set size of an exited process, in bytes: the
// kernel's ru_maxrss, which Linux counts in KiB and macOS in bytes.
//
// On Linux ru_maxrss overstates a child of a large parent: Go starts children
// with vfork (CLONE_VM), so until exec the child runs on the parent's memory,
// and exec records that memory's peak (the parent's VmHWM) as the child's
// maximum so far. childPeakRSS corrects for it.
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

// rssWatch follows a running child's own peak RSS (VmHWM in /proc), sampled
// every rssPollInterval, for when ru_maxrss cannot be trusted.
type rssWatch struct {
	parentHWM int64 // the benchmark's VmHWM when the child started
	peak      chan int64
	stop      context.CancelFunc
}

const rssPollInterval = 20 * time.Millisecond

func watchRSS(pid int) *rssWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &rssWatch{parentHWM: vmHWM(os.Getpid()), peak: make(chan int64, 1), stop: cancel}
	go func() {
		var peak int64
		t := time.NewTicker(rssPollInterval)
		defer t.Stop()
		for {
			peak = max(peak, vmHWM(pid))
			select {
			case <-ctx.Done():
				w.peak <- peak
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// childPeakRSS is the exited child's peak RSS: ru_maxrss when it is above what
// the benchmark's own memory put there, else the highest VmHWM sampled while
// it ran (which misses at most the last rssPollInterval of its life).
func (w *rssWatch) childPeakRSS(ps *os.ProcessState) int64 {
	w.stop()
	sampled := <-w.peak
	if ps == nil {
		return sampled
	}
	if ru := peakRSS(ps); ru > w.parentHWM || runtime.GOOS != "linux" {
		return max(ru, sampled)
	}
	return sampled
}

// vmHWM is the peak RSS so far (VmHWM) of a running process, in bytes; 0 if
// unknown.
func vmHWM(pid int) int64 {
	kb := procField(fmt.Sprintf("/proc/%d/status", pid), "VmHWM")
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), 10, 64)
	if err != nil {
		return 0
	}
	return n << 10
}
