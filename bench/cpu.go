package main

import (
	"fmt"
	"os"
	"strings"
)

// CPU accounting, Linux only (elsewhere every figure reads 0): the emulator's
// time from /proc/PID/stat, the whole machine's busy time from /proc/stat.
// Comparing them with the client's own time shows where the CPU went and how
// much other processes took from a measurement.

// clockTicks is USER_HZ, the unit of /proc times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// cpuSnapshot is the CPU time used so far, in seconds.
type cpuSnapshot struct {
	emulator float64 // by the emulator process
	machine  float64 // by everything: user, nice, system, irq and softirq of all CPUs
}

func (e *env) cpuNow() cpuSnapshot {
	return cpuSnapshot{emulator: processCPU(e.emu.cmd.Process.Pid), machine: machineBusy()}
}

// processCPU is utime + stime of a process.
func processCPU(pid int) float64 {
	f := procStat(pid)
	if len(f) < 13 {
		return 0
	}
	return (ticks(f[11]) + ticks(f[12])) / clockTicks
}

// minorFaults is the count of minor page faults of a process (a fault on
// memory it touches for the first time, among others).
func minorFaults(pid int) float64 {
	f := procStat(pid)
	if len(f) < 8 {
		return 0
	}
	return ticks(f[7])
}

// procStat returns the fields of /proc/PID/stat after the command name: the
// command name, in parentheses, may hold spaces, so fields are counted from
// the last ')' (field 3, the state, is the first returned; utime and stime,
// fields 14 and 15, are the 12th and 13th).
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// machineBusy is the busy time of all CPUs (the first line of /proc/stat).
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	// user nice system idle iowait irq softirq
	return (ticks(f[1]) + ticks(f[2]) + ticks(f[3]) + ticks(f[6]) + ticks(f[7])) / clockTicks
}

func ticks(s string) float64 {
	var v float64
	fmt.Sscan(s, &v)
	return v
}
