package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// measurement is one timed run of something that moved the data.
type measurement struct {
	seconds       float64
	cpu           float64            // user + system seconds of the client process(es) (mount workloads: the reader)
	mountCPU      float64            // user + system seconds of the FUSE daemon meanwhile (mount workloads)
	emulatorCPU   float64            // user + system seconds of the emulator meanwhile
	otherCPU      float64            // busy seconds of the machine meanwhile, less the ones above
	peakRSS       int64              // bytes; 0: not measured
	calls         map[string]int64   // counted by the client (ossfs --stats, or the in-process client)
	emulatorCalls map[string]int64   // counted by the emulator
	s3Requests    int64              // signed-URL requests, when the client cannot count them (curl)
	phases        map[string]float64 // seconds of named parts of the run
	value         float64            // mount workloads: the figure of the row (see row.Value)
	extra         map[string]float64 // mount workloads: further figures (see row.Extra)
	mountCalls    map[string]int64   // mount workloads: the daemon's own --stats over its life
	mountFaults   float64            // mount workloads: the daemon's minor page faults meanwhile
	close         *measurement       // mount-write: the close(2) after the last write, measured apart
}

// timing is one timed section of a measurement.
type timing struct {
	e     *env
	start time.Time
	cpu   cpuSnapshot
	mount *mountProc // the FUSE daemon whose CPU time is counted apart; may be nil
	mcpu  float64
	mflt  float64 // the daemon's minor faults at the start
}

// resetCounts zeroes the call counters of the in-process client and of the
// emulator, at the start of a measurement.
func (e *env) resetCounts(ctx context.Context) error {
	e.emu.client.ResetCalls()
	return e.emu.resetStats(ctx)
}

// startTiming starts the clock.
func (e *env) startTiming() *timing {
	return &timing{e: e, start: time.Now(), cpu: e.cpuNow()}
}

// startMountTiming starts the clock of a measurement on a mount: the
// daemon's CPU time is counted apart and its peak RSS restarts from now.
func (e *env) startMountTiming(m *mountProc) *timing {
	m.resetPeakRSS()
	t := &timing{e: e, mount: m, mcpu: m.cpu(), mflt: minorFaults(m.pid())}
	t.cpu = e.cpuNow()
	t.start = time.Now()
	return t
}

// stop ends the timed section: m gets its wall time and, given the client
// processes' CPU time, the emulator's, the mount daemon's and everything
// else's.
func (t *timing) stop(m *measurement, clientCPU float64) {
	m.seconds = time.Since(t.start).Seconds()
	now := t.e.cpuNow()
	m.cpu = clientCPU
	m.emulatorCPU = now.emulator - t.cpu.emulator
	if t.mount != nil {
		m.mountCPU = t.mount.cpu() - t.mcpu
		m.peakRSS = t.mount.vmHWM()
		m.mountFaults = minorFaults(t.mount.pid()) - t.mflt
	}
	m.otherCPU = max(0, now.machine-t.cpu.machine-m.cpu-m.emulatorCPU-m.mountCPU)
}

// measureFunc runs one measurement.
type measureFunc func(ctx context.Context) (measurement, error)

// measure is a named measureFunc.
type measure struct {
	name string
	fn   measureFunc
}

// repeat runs every fn n times, interleaved and in rotating order (fn0 fn1
// fn2, fn1 fn2 fn0, ...), so that drift over the run and the after-effects of
// one measurement on the next (writeback, neighbours) touch all alike. ms[i]
// holds fns[i]'s runs.
func repeat(ctx context.Context, n int, name string, fns []measure) ([][]measurement, error) {
	ms := make([][]measurement, len(fns))
	for rep := range n {
		for k := range fns {
			i := (k + rep) % len(fns)
			fn := fns[i]
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			m, err := fn.fn(ctx)
			if err != nil {
				return nil, fmt.Errorf("%s: run %d, %s: %w", name, rep+1, fn.name, err)
			}
			logf("%s: run %d/%d, %s: %.2fs", name, rep+1, n, fn.name, m.seconds)
			ms[i] = append(ms[i], m)
		}
	}
	return ms, nil
}

// median returns the run with the median time (for an even count, the faster
// of the two middle ones).
func median(ms []measurement) measurement {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b measurement) int {
		switch {
		case a.seconds < b.seconds:
			return -1
		case a.seconds > b.seconds:
			return 1
		}
		return 0
	})
	return s[(len(s)-1)/2]
}

// row builds a table row from the runs of one tool: the median run's figures
// and the highest peak RSS of all runs.
func (e *env) row(tool string, streams int, runs []measurement) row {
	m := median(runs)
	r := row{
		Workload: e.name, Kind: kindTransfer, Profile: profileName(e.wan), Tool: tool, Streams: streams,
		Bytes: e.data.size, Seconds: m.seconds, MBps: float64(e.data.size) / 1e6 / m.seconds,
		Calls: m.calls, EmulatorCalls: m.emulatorCalls, Phases: m.phases,
		CPUSeconds: m.cpu, EmulatorCPUSeconds: m.emulatorCPU, OtherCPUSeconds: m.otherCPU,
	}
	r.OSSCalls, r.S3Requests = splitCalls(m.calls)
	if m.s3Requests > 0 {
		r.S3Requests = m.s3Requests
	}
	for _, x := range runs {
		r.Runs = append(r.Runs, x.seconds)
		r.PeakRSSMiB = max(r.PeakRSSMiB, float64(x.peakRSS)/(1<<20))
	}
	return r
}

// Endpoint names that are not OSS calls: the signed-URL data plane and the
// token endpoint (outside the OSS quota).
const (
	opS3Download = "s3.download"
	opS3Upload   = "s3.upload"
	opToken      = "token"
)

// splitCalls sums OSS calls (every endpoint but the token and signed URLs)
// and signed-URL requests.
func splitCalls(calls map[string]int64) (ossCalls, s3Requests int64) {
	for op, n := range calls {
		switch op {
		case opS3Download, opS3Upload:
			s3Requests += n
		case opToken:
		default:
			ossCalls += n
		}
	}
	return ossCalls, s3Requests
}

// decodeCalls parses a {"calls":{...}} line; nil if line is not one.
func decodeCalls(line string) map[string]int64 {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, `{"calls":`) {
		return nil
	}
	var v struct {
		Calls map[string]int64 `json:"calls"`
	}
	if json.Unmarshal([]byte(line), &v) != nil || v.Calls == nil {
		return nil
	}
	return v.Calls
}
