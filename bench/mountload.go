package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What the mount workloads share: starting ossfs and loopback mounts,
// measuring a reader process on a mount, and turning runs into rows.

// ossfsMount starts `ossfs mount` of the bench bucket on a new mount point of
// this job, with the run's --concurrency and the given flags. The mount's
// --stats line lands in its log when it stops.
func (e *env) ossfsMount(ctx context.Context, flags ...string) (*mountProc, error) {
	return e.ossfsMountEnv(ctx, nil, flags...)
}

// ossfsMountEnv is ossfsMount with extra environment variables for the
// daemon (GODEBUG=gctrace=1).
func (e *env) ossfsMountEnv(ctx context.Context, env []string, flags ...string) (*mountProc, error) {
	dir := filepath.Join(e.dir, fmt.Sprintf("mnt-%d", e.nextSeq()))
	args := []string{"mount", "--endpoint", e.emu.endpoint, "--stats", "--log-level", "warn",
		"--concurrency", strconv.Itoa(e.cfg.concurrency)}
	if !slices.Contains(flags, "--spill-dir") {
		// Its own: a spill directory serves one mount at a time, and the
		// user's default one is not the benchmark's to fill.
		args = append(args, "--spill-dir", e.newSpillDir())
	}
	args = append(append(args, flags...), benchBucket, dir)
	return startMount(ctx, &e.run.mounts, mountSpec{
		name: "ossfs mount", bin: e.bin, args: args, dir: dir, logPath: dir + ".log",
		env:   append([]string{"APS_CLIENT_ID=" + emulatorClientID, "APS_CLIENT_SECRET=" + emulatorClientSecret}, env...),
		ready: fmt.Sprintf("ossfs: oss://%s mounted at %s", benchBucket, dir),
	})
}

// loopbackMount mounts the loopback daemon over the tmpfs copy of the data
// file and returns the mount and the path of the copy through it.
func (e *env) loopbackMount(ctx context.Context) (*mountProc, string, error) {
	src, err := e.run.dataCopy()
	if err != nil {
		return nil, "", err
	}
	dir := filepath.Join(e.dir, fmt.Sprintf("loopback-%d", e.nextSeq()))
	m, err := startMount(ctx, &e.run.mounts, mountSpec{
		name: "loopback", bin: e.run.loopbackBin, args: []string{src, dir}, dir: dir, logPath: dir + ".log",
		ready: fmt.Sprintf("loopback: %s mounted at %s", src, dir),
	})
	return m, filepath.Join(dir, "data.bin"), err
}

// loopbackServed stops the loopback mount and returns the bytes its daemon
// served (its exit line, {"readBytes":N,"reads":N}), to check that no read
// bypassed it.
func loopbackServed(m *mountProc) (int64, error) {
	if err := m.stop(); err != nil {
		return 0, err
	}
	var s struct {
		ReadBytes int64 `json:"readBytes"`
	}
	line := m.stderrLine(`{"readBytes":`)
	if err := json.Unmarshal([]byte(line), &s); err != nil {
		return 0, fmt.Errorf("loopback: no read count on exit (%q)", line)
	}
	return s.ReadBytes, nil
}

// onMount runs p, a reader of mount m, as a measurement: counters reset, the
// daemon's peak RSS restarted, p timed from start to exit. The calls are
// those the emulator received meanwhile (any daemon's, the mount's included).
func (e *env) onMount(ctx context.Context, m *mountProc, p proc) (measurement, procResult, error) {
	if err := e.resetCounts(ctx); err != nil {
		return measurement{}, procResult{}, err
	}
	t := e.startMountTiming(m)
	res, err := p.run(ctx, e.cfg.timeout)
	if err != nil {
		return measurement{}, res, err
	}
	var ms measurement
	t.stop(&ms, res.cpu)
	ms.emulatorCalls, err = e.emu.stats(ctx)
	ms.s3Requests = ms.emulatorCalls[opS3Download]
	ms.phases = map[string]float64{}
	ms.extra = map[string]float64{"mountMinorFaults": ms.mountFaults}
	return ms, res, err
}

// stopFresh stops a mount made for one measurement and records what only its
// exit tells, its calls over its life (--stats), and how long it took to
// mount. (Its peak RSS is VmHWM, read when the measurement ends: ru_maxrss of
// a child of the benchmark also counts the benchmark's own memory, see
// rss.go.)
func stopFresh(ms *measurement, m *mountProc) error {
	if err := m.stop(); err != nil {
		return err
	}
	ms.mountCalls = parseCallStats(m.stderrLine(`{"calls":`))
	ms.phases["mount"] = m.readyTime
	return nil
}

// dd reads a file into /dev/null with 1 MiB reads.
func dd(path string) proc {
	return proc{name: "dd", args: []string{"if=" + path, "of=/dev/null", "bs=1M"}}
}

var ddBytes = regexp.MustCompile(`(?m)^(\d+) bytes`)

// checkDD fails unless dd reported copying want bytes.
func checkDD(res procResult, want int64) error {
	m := ddBytes.FindStringSubmatch(res.stderr)
	if m == nil || m[1] != strconv.FormatInt(want, 10) {
		return fmt.Errorf("dd read %v bytes, want %d: %s", m, want, lastLines(res.stderr, 3))
	}
	return nil
}

// readerProc runs the reader tool (bench/reader).
func (e *env) readerProc(args ...string) proc { return proc{name: e.run.readerBin, args: args} }

// readerJSON decodes the reader's result line.
func readerJSON(res procResult, v any) error {
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.stdout)), v); err != nil {
		return fmt.Errorf("reader printed %q: %w", res.stdout, err)
	}
	return nil
}

// verifyRead reads path with the reader (untimed), hashing, and fails unless
// it holds the data file's bytes.
func (e *env) verifyRead(ctx context.Context, path string) error {
	res, err := e.readerProc("seq", "-sha1", path).run(ctx, e.cfg.timeout)
	if err != nil {
		return err
	}
	var r struct {
		Bytes int64  `json:"bytes"`
		SHA1  string `json:"sha1"`
	}
	if err := readerJSON(res, &r); err != nil {
		return err
	}
	if r.Bytes != e.data.size || r.SHA1 != e.data.sha1 {
		return fmt.Errorf("%s read back %d bytes with sha1 %s, want %d with %s", path, r.Bytes, r.SHA1, e.data.size, e.data.sha1)
	}
	return nil
}

// warmStore reads the object once through its signed URL (curl into
// /dev/null, untimed), so that the emulator's store holds it in the page
// cache for the cold measurements, as it does for the limits, whatever an
// earlier drop_caches left.
func (e *env) warmStore(ctx context.Context, key string, size int64) error {
	_, err := e.curlGet(ctx, key, size, e.cfg.concurrency, true)
	return err
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rowSpec describes a mount row: what was measured, by which tool, and the
// unit of its figure.
type rowSpec struct {
	measure string
	tool    string // ossfs, curl, loopback
	streams int    // curl rows
	unit    string
	bytes   int64 // bytes read per run (0: not a transfer)
	// lowerBetter: the figure is a time or a count (the median of an even
	// number of runs is then the smaller middle one, else the larger).
	lowerBetter bool
}

// mountRow builds a row from the runs of one measurement: the median run's
// figures (by value, then by time) and the highest peak RSS of all runs.
func (e *env) mountRow(s rowSpec, runs []measurement) row {
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b measurement) int {
		c := cmpFloat(b.value, a.value)
		if s.lowerBetter {
			c = -c
		}
		if c == 0 { // equal figures (a call count): the median time
			c = cmpFloat(a.seconds, b.seconds)
		}
		return c
	})
	m := sorted[(len(sorted)-1)/2]
	r := row{
		Workload: e.name, Kind: kindMount, Measure: s.measure, Profile: profileName(e.wan), Tool: s.tool, Streams: s.streams,
		Bytes: s.bytes, Seconds: m.seconds, Value: m.value, Unit: s.unit,
		EmulatorCalls: m.emulatorCalls, Phases: m.phases, Extra: m.extra, MountCalls: m.mountCalls,
		CPUSeconds: m.cpu, MountCPUSeconds: m.mountCPU, EmulatorCPUSeconds: m.emulatorCPU, OtherCPUSeconds: m.otherCPU,
	}
	if s.bytes > 0 && m.seconds > 0 {
		r.MBps = float64(s.bytes) / 1e6 / m.seconds
	}
	r.OSSCalls, r.S3Requests = splitCalls(m.emulatorCalls)
	if len(r.Phases) == 0 {
		r.Phases = nil
	}
	if len(r.Extra) == 0 {
		r.Extra = nil
	}
	for _, x := range runs {
		r.Runs = append(r.Runs, x.seconds)
		r.PeakRSSMiB = max(r.PeakRSSMiB, float64(x.peakRSS)/(1<<20))
	}
	return r
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compare sets r's limit (the figure of the row it is compared with) and
// ratio.
func compare(r *row, limit row) {
	r.Limit, r.LimitOf = limit.Value, limit.label()
	r.Ratio = ratio(r.Value, limit.Value)
	if r.MBps > 0 && limit.MBps > 0 {
		r.LimitMBps = limit.MBps
	}
}

// setTarget records a target and whether the row meets it.
func setTarget(r *row, target string, pass bool) {
	r.Target, r.Pass = target, &pass
}

// mbps is the figure of a read of n bytes in s seconds.
func mbps(n int64, s float64) float64 {
	if s <= 0 {
		return 0
	}
	return float64(n) / 1e6 / s
}

// gcLine matches a GODEBUG=gctrace=1 line: heap at the start and end of the
// cycle, and the live heap it marked, in MB.
var gcLine = regexp.MustCompile(`(?m)^gc \d+ @.* (\d+)->(\d+)->(\d+) MB`)

// gcTrace sums up the log of a daemon run with GODEBUG=gctrace=1: the
// largest live heap (MB, after marking), the largest heap it let grow before
// a collection, and the number of collections; 0s if it reported none.
func gcTrace(logPath string) (live, heap, cycles float64) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return 0, 0, 0
	}
	for _, m := range gcLine.FindAllStringSubmatch(string(b), -1) {
		start, _ := strconv.ParseFloat(m[1], 64)
		marked, _ := strconv.ParseFloat(m[3], 64)
		live, heap = max(live, marked), max(heap, start)
		cycles++
	}
	return live, heap, cycles
}
