package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The mount workloads (issue 4's figures). docs/BENCHMARKS.md says what each
// measures and why.

// Targets of the mount workloads.
const (
	targetColdRatio      = 0.85 // mount-read-cold(-wan): of curl into /dev/null
	targetWarmRatio      = 0.8  // mount-read-warm: of the loopback
	targetLsColdCalls    = 101  // mount-ls: 100 list pages + the lookup probe
	targetCallsPerFile   = 0.1  // mount-smallfiles
	targetRSSOverCacheMB = 64   // mount-rss: peak RSS ≤ --cache-size + this
)

// Flags of the mounts whose block cache must hold the --size object: ossfs
// gives a quarter of --cache-size (at most 256 MiB) to prefetch, the rest to
// cached blocks.
func warmCacheFlags(size int64) []string {
	return []string{"--cache-size", formatSize(max(size+256<<20, 1280<<20))}
}

// runMountReadCold: per repeat, dd of the object through a fresh mount
// (default flags), one curl of its signed URL into /dev/null, and N ranged
// curls into /dev/null. Then one untimed read through a fresh mount, hashed.
func runMountReadCold(ctx context.Context, e *env) ([]row, error) {
	key, err := e.sharedObject(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.warmStore(ctx, key, e.data.size); err != nil {
		return nil, err
	}
	ossfsRun := func(ctx context.Context) (measurement, error) {
		m, err := e.ossfsMount(ctx)
		if err != nil {
			return measurement{}, err
		}
		defer m.stop()
		ms, res, err := e.onMount(ctx, m, dd(filepath.Join(m.dir(), key)))
		if err != nil {
			return ms, err
		}
		if err := checkDD(res, e.data.size); err != nil {
			return ms, err
		}
		ms.value = mbps(e.data.size, ms.seconds)
		return ms, stopFresh(&ms, m)
	}
	curlRun := func(streams int) measureFunc {
		return func(ctx context.Context) (measurement, error) {
			ms, err := e.curlGet(ctx, key, e.data.size, streams, true)
			ms.value = mbps(e.data.size, ms.seconds)
			return ms, err
		}
	}
	fns := []measure{{"ossfs mount + dd", ossfsRun}, {"curl ×1", curlRun(1)}}
	if n := e.cfg.concurrency; n > 1 {
		fns = append(fns, measure{fmt.Sprintf("curl ×%d", n), curlRun(n)})
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, fns)
	if err != nil {
		return nil, err
	}
	if err := e.verifyFresh(ctx, key); err != nil {
		return nil, err
	}
	mb := rowSpec{unit: "MB/s", bytes: e.data.size}
	ossfsRow := e.mountRow(withMeasure(mb, "cold sequential read (dd bs=1M), fresh mount", "ossfs", 0), ms[0])
	rows := []row{ossfsRow, e.mountRow(withMeasure(mb, "curl into /dev/null", "curl", 1), ms[1])}
	limit := rows[1]
	if len(ms) > 2 {
		par := e.mountRow(withMeasure(mb, "ranged curls into /dev/null", "curl", e.cfg.concurrency), ms[2])
		rows = append(rows, par)
		if par.Value > limit.Value {
			limit = par
		}
	}
	compare(&rows[0], limit)
	setTarget(&rows[0], fmt.Sprintf("≥ %.2f of limit", targetColdRatio), rows[0].Ratio >= targetColdRatio)
	return rows, nil
}

func withMeasure(s rowSpec, measure, tool string, streams int) rowSpec {
	s.measure, s.tool, s.streams = measure, tool, streams
	return s
}

// verifyFresh reads the object through a fresh mount with the reader,
// hashing it (untimed): the cold path returns the right bytes.
func (e *env) verifyFresh(ctx context.Context, key string) error {
	m, err := e.ossfsMount(ctx)
	if err != nil {
		return err
	}
	defer m.stop()
	if err := e.verifyRead(ctx, filepath.Join(m.dir(), key)); err != nil {
		return err
	}
	return m.stop()
}

// warmMounts are what the warm workloads compare: an ossfs mount whose block
// cache holds the shared object (read through it once, untimed: the fill) and
// a loopback mount of a tmpfs copy.
type warmMounts struct {
	key                string
	ossfs, loopback    *mountProc
	path, loopbackPath string // the object through each
	fill               measurement
}

func (w *warmMounts) stop() {
	if w.loopback != nil {
		w.loopback.stop()
	}
	w.ossfs.stop()
}

// warmMounts makes them, after warming the emulator's store of the shared
// object (warmStore).
func (e *env) warmMounts(ctx context.Context) (*warmMounts, error) {
	key, err := e.sharedObject(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.warmStore(ctx, key, e.data.size); err != nil {
		return nil, err
	}
	m, err := e.ossfsMount(ctx, warmCacheFlags(e.data.size)...)
	if err != nil {
		return nil, err
	}
	w := &warmMounts{key: key, ossfs: m, path: filepath.Join(m.dir(), key)}
	fill, res, err := e.onMount(ctx, m, dd(w.path))
	if err == nil {
		err = checkDD(res, e.data.size)
	}
	if err != nil {
		w.stop()
		return nil, err
	}
	w.fill = fill
	logf("%s: fill read %.2fs, %d S3 GETs", e.name, fill.seconds, fill.s3Requests)
	if w.loopback, w.loopbackPath, err = e.loopbackMount(ctx); err != nil {
		w.loopback = nil
		w.stop()
		return nil, err
	}
	return w, nil
}

// runMountReadWarm: one mount with a block cache that holds the object, read
// once (untimed: the fill); a loopback mount of a tmpfs copy. Per repeat,
// after drop_caches, dd through each. Then one untimed, hashed read through
// the ossfs mount after drop_caches, and a check that the loopback daemon
// served every byte itself.
func runMountReadWarm(ctx context.Context, e *env) ([]row, error) {
	wm, err := e.warmMounts(ctx)
	if err != nil {
		return nil, err
	}
	defer wm.stop()
	m, path, lb, lbPath, fill := wm.ossfs, wm.path, wm.loopback, wm.loopbackPath, wm.fill
	warmRun := func(mp *mountProc, p string) measureFunc {
		return func(ctx context.Context) (measurement, error) {
			if err := dropCaches(); err != nil {
				return measurement{}, err
			}
			ms, res, err := e.onMount(ctx, mp, dd(p))
			if err != nil {
				return ms, err
			}
			ms.value = mbps(e.data.size, ms.seconds)
			return ms, checkDD(res, e.data.size)
		}
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, []measure{
		{"ossfs mount + dd", warmRun(m, path)}, {"loopback + dd", warmRun(lb, lbPath)}})
	if err != nil {
		return nil, err
	}
	if err := dropCaches(); err != nil {
		return nil, err
	}
	if err := e.verifyRead(ctx, path); err != nil {
		return nil, err
	}
	served, err := loopbackServed(lb)
	if err != nil {
		return nil, err
	}
	if want := e.data.size * int64(e.cfg.repeat); served < want {
		return nil, fmt.Errorf("the loopback daemon served %d bytes of the %d read through it: passthrough or page cache bypassed it", served, want)
	}
	mb := rowSpec{unit: "MB/s", bytes: e.data.size}
	rows := []row{
		e.mountRow(withMeasure(mb, "sequential re-read after drop_caches (dd bs=1M), block cache", "ossfs", 0), ms[0]),
		e.mountRow(withMeasure(mb, "sequential read after drop_caches (dd bs=1M), tmpfs copy", "loopback", 0), ms[1]),
	}
	rows[0].Extra = map[string]float64{"fillSeconds": fill.seconds, "fillS3GETs": float64(fill.s3Requests)}
	compare(&rows[0], rows[1])
	setTarget(&rows[0], fmt.Sprintf("≥ %.1f of loopback", targetWarmRatio), rows[0].Ratio >= targetWarmRatio)
	return rows, nil
}

// Random reads: a fixed count, bounded in time, at seeded offsets (every
// run, ossfs or loopback, reads the same offsets in the same order).
const (
	randomCount    = 2000
	randomDuration = 10 * time.Second
	randomSeed     = 1
)

// randomResult is the reader's answer to `random`.
type randomResult struct {
	Reads       int     `json:"reads"`
	Bytes       int64   `json:"bytes"`
	Seconds     float64 `json:"seconds"`
	OpenSeconds float64 `json:"openSeconds"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	MaxMs       float64 `json:"maxMs"`
}

// randomRead measures random preads of size bytes of path on mount m.
func (e *env) randomRead(ctx context.Context, m *mountProc, path string, size int) (measurement, error) {
	ms, res, err := e.onMount(ctx, m, e.readerProc("random", "-size", strconv.Itoa(size),
		"-count", strconv.Itoa(randomCount), "-duration", randomDuration.String(),
		"-seed", strconv.Itoa(randomSeed), path))
	if err != nil {
		return ms, err
	}
	var r randomResult
	if err := readerJSON(res, &r); err != nil {
		return ms, err
	}
	if r.Bytes != int64(r.Reads)*int64(size) {
		return ms, fmt.Errorf("random reads: %d bytes in %d reads of %d", r.Bytes, r.Reads, size)
	}
	ms.phases["process"] = ms.seconds
	ms.seconds = r.Seconds
	ms.value = float64(r.Reads) / r.Seconds
	ms.extra = map[string]float64{"reads": float64(r.Reads), "mbPerSec": mbps(r.Bytes, r.Seconds),
		"p50Ms": r.P50Ms, "p99Ms": r.P99Ms, "maxMs": r.MaxMs, "openMs": r.OpenSeconds * 1e3}
	return ms, nil
}

// runMountRandom: time to first byte and random reads on fresh mounts
// (cold), and random reads on a mount whose block cache holds the object and
// on the loopback, each after drop_caches (warm).
func runMountRandom(ctx context.Context, e *env) ([]row, error) {
	wm, err := e.warmMounts(ctx)
	if err != nil {
		return nil, err
	}
	defer wm.stop()
	key, flags := wm.key, warmCacheFlags(e.data.size)
	ttfbRun := func(ctx context.Context) (measurement, error) {
		m, err := e.ossfsMount(ctx, flags...)
		if err != nil {
			return measurement{}, err
		}
		defer m.stop()
		ms, res, err := e.onMount(ctx, m, e.readerProc("ttfb", filepath.Join(m.dir(), key)))
		if err != nil {
			return ms, err
		}
		var r struct{ OpenSeconds, FirstSeconds, Seconds float64 }
		if err := readerJSON(res, &r); err != nil {
			return ms, err
		}
		ms.phases["process"] = ms.seconds
		ms.seconds = r.Seconds
		ms.value = r.Seconds * 1e3
		ms.extra = map[string]float64{"openMs": r.OpenSeconds * 1e3, "firstReadMs": r.FirstSeconds * 1e3}
		return ms, stopFresh(&ms, m)
	}
	coldRun := func(size int) measureFunc {
		return func(ctx context.Context) (measurement, error) {
			m, err := e.ossfsMount(ctx, flags...)
			if err != nil {
				return measurement{}, err
			}
			defer m.stop()
			ms, err := e.randomRead(ctx, m, filepath.Join(m.dir(), key), size)
			if err != nil {
				return ms, err
			}
			return ms, stopFresh(&ms, m)
		}
	}
	warm, warmPath, lb, lbPath := wm.ossfs, wm.path, wm.loopback, wm.loopbackPath
	warmRun := func(m *mountProc, path string, size int) measureFunc {
		return func(ctx context.Context) (measurement, error) {
			if err := dropCaches(); err != nil {
				return measurement{}, err
			}
			return e.randomRead(ctx, m, path, size)
		}
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, []measure{
		{"time to first byte", ttfbRun},
		{"4 KiB cold", coldRun(4 << 10)},
		{"256 KiB cold", coldRun(256 << 10)},
		{"4 KiB warm", warmRun(warm, warmPath, 4<<10)},
		{"256 KiB warm", warmRun(warm, warmPath, 256<<10)},
		{"4 KiB loopback", warmRun(lb, lbPath, 4<<10)},
		{"256 KiB loopback", warmRun(lb, lbPath, 256<<10)},
	})
	if err != nil {
		return nil, err
	}
	rate := rowSpec{unit: "reads/s"}
	rows := []row{
		e.mountRow(rowSpec{measure: "time to first byte: open + first 4 KiB read, fresh mount", tool: "ossfs", unit: "ms", lowerBetter: true}, ms[0]),
		e.mountRow(withMeasure(rate, "random 4 KiB preads, fresh mount", "ossfs", 0), ms[1]),
		e.mountRow(withMeasure(rate, "random 256 KiB preads, fresh mount", "ossfs", 0), ms[2]),
		e.mountRow(withMeasure(rate, "random 4 KiB preads after drop_caches, block cache", "ossfs", 0), ms[3]),
		e.mountRow(withMeasure(rate, "random 256 KiB preads after drop_caches, block cache", "ossfs", 0), ms[4]),
		e.mountRow(withMeasure(rate, "random 4 KiB preads after drop_caches, tmpfs copy", "loopback", 0), ms[5]),
		e.mountRow(withMeasure(rate, "random 256 KiB preads after drop_caches, tmpfs copy", "loopback", 0), ms[6]),
	}
	compare(&rows[3], rows[5])
	compare(&rows[4], rows[6])
	return rows, nil
}

// The folder of mount-ls: lsFiles objects directly below one top-level
// folder, so that ls -l of it costs one lookup probe and the listing pages.
const (
	lsFolder      = "mount-ls"
	lsFiles       = 10000
	lsFileSize    = 64
	lsWindow      = 10 * time.Second // background date calls counted after the cold ls
	lsDefaultRate = "100"            // ossfs's default --date-calls-per-minute
)

// runMountLs: ls -l of the folder, cold (fresh mount) and warm (the second
// run on one mount, within the metadata TTL), with date fetching off (the
// strict call count) and at its default rate (what a user sees; the details
// calls are then the background filler's).
func runMountLs(ctx context.Context, e *env) ([]row, error) {
	if err := e.populate(ctx, lsFolder, lsFiles, lsFileSize, func(i int) string { return fmt.Sprintf("%s/f%05d", lsFolder, i) }); err != nil {
		return nil, err
	}
	lsRun := func(dates string, warm bool, window time.Duration) measureFunc {
		return func(ctx context.Context) (measurement, error) {
			m, err := e.ossfsMount(ctx, "--date-calls-per-minute", dates)
			if err != nil {
				return measurement{}, err
			}
			defer m.stop()
			ls := proc{name: "ls", args: []string{"-l", filepath.Join(m.dir(), lsFolder)}, env: []string{"LC_ALL=C"}}
			check := func(res procResult) error {
				if n := strings.Count(res.stdout, "\n"); n != lsFiles+1 {
					return fmt.Errorf("ls -l printed %d lines, want %d", n, lsFiles+1)
				}
				return nil
			}
			if warm {
				res, err := ls.run(ctx, e.cfg.timeout)
				if err != nil {
					return measurement{}, err
				}
				if err := check(res); err != nil {
					return measurement{}, err
				}
			}
			ms, res, err := e.onMount(ctx, m, ls)
			if err != nil {
				return ms, err
			}
			if err := check(res); err != nil {
				return ms, err
			}
			ms.value = ms.seconds
			if window > 0 {
				if err := e.resetCounts(ctx); err != nil {
					return ms, err
				}
				if err := sleepCtx(ctx, window); err != nil {
					return ms, err
				}
				after, err := e.emu.stats(ctx)
				if err != nil {
					return ms, err
				}
				ms.extra["backgroundDetailsAfter"] = float64(after["objects.details"])
				ms.extra["windowSeconds"] = window.Seconds()
			}
			return ms, stopFresh(&ms, m)
		}
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, []measure{
		{"cold, dates off", lsRun("0", false, 0)},
		{"warm, dates off", lsRun("0", true, 0)},
		{"cold, default dates", lsRun(lsDefaultRate, false, lsWindow)},
		{"warm, default dates", lsRun(lsDefaultRate, true, 0)},
	})
	if err != nil {
		return nil, err
	}
	s := rowSpec{tool: "ossfs", unit: "s", lowerBetter: true}
	rows := []row{
		e.mountRow(withMeasure(s, "ls -l of 10,000 files, fresh mount, --date-calls-per-minute 0", "ossfs", 0), ms[0]),
		e.mountRow(withMeasure(s, "ls -l again within the TTL, --date-calls-per-minute 0", "ossfs", 0), ms[1]),
		e.mountRow(withMeasure(s, "ls -l of 10,000 files, fresh mount, default dates (details: background)", "ossfs", 0), ms[2]),
		e.mountRow(withMeasure(s, "ls -l again within the TTL, default dates (details: background)", "ossfs", 0), ms[3]),
	}
	for i := range rows {
		rows[i].Value, rows[i].Unit = 0, "" // the seconds column says it
	}
	setTarget(&rows[0], fmt.Sprintf("≤ %d OSS calls", targetLsColdCalls), rows[0].OSSCalls <= targetLsColdCalls)
	setTarget(&rows[1], "0 OSS calls", rows[1].OSSCalls == 0)
	return rows, nil
}

// The folder of mount-smallfiles.
const (
	smallFolder = "mount-smallfiles"
	smallFiles  = 1000
	smallSize   = 32 << 10
	grepNeedle  = "ossfs-bench-needle-not-in-any-file"
)

// runMountSmallFiles: on a fresh mount each (date fetching off), cat of every
// file of the folder, and grep -r through it.
func runMountSmallFiles(ctx context.Context, e *env) ([]row, error) {
	if err := e.populate(ctx, smallFolder, smallFiles, smallSize, func(i int) string { return fmt.Sprintf("%s/f%04d", smallFolder, i) }); err != nil {
		return nil, err
	}
	total := int64(smallFiles) * smallSize
	run := func(cmd func(dir string) proc, check func(procResult) error) measureFunc {
		return func(ctx context.Context) (measurement, error) {
			m, err := e.ossfsMount(ctx, "--date-calls-per-minute", "0")
			if err != nil {
				return measurement{}, err
			}
			defer m.stop()
			ms, res, err := e.onMount(ctx, m, cmd(filepath.Join(m.dir(), smallFolder)))
			if err != nil {
				return ms, err
			}
			if err := check(res); err != nil {
				return ms, err
			}
			oss, _ := splitCalls(ms.emulatorCalls)
			ms.value = float64(oss) / smallFiles
			ms.extra["filesPerSec"] = smallFiles / ms.seconds
			ms.extra["mbPerSec"] = mbps(total, ms.seconds)
			return ms, stopFresh(&ms, m)
		}
	}
	cat := func(dir string) proc {
		// The shell expands the glob (a readdir through the mount); wc counts
		// the bytes cat read.
		return proc{name: "sh", args: []string{"-c", `cat -- "$1"/* | wc -c`, "sh", dir}, env: []string{"LC_ALL=C"}}
	}
	catCheck := func(res procResult) error {
		if got := strings.TrimSpace(res.stdout); got != strconv.FormatInt(total, 10) {
			return fmt.Errorf("cat read %s bytes, want %d", got, total)
		}
		return nil
	}
	grep := func(dir string) proc {
		return proc{name: "grep", args: []string{"-r", "-F", "-l", grepNeedle, dir}, env: []string{"LC_ALL=C"}, okExit: []int{1}}
	}
	grepCheck := func(res procResult) error {
		if strings.TrimSpace(res.stdout) != "" {
			return fmt.Errorf("grep found %q in %s", grepNeedle, res.stdout)
		}
		return nil
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, []measure{
		{"cat", run(cat, catCheck)},
		{"grep -r", run(grep, grepCheck)},
	})
	if err != nil {
		return nil, err
	}
	s := rowSpec{tool: "ossfs", unit: "calls/file", bytes: total, lowerBetter: true}
	rows := []row{
		e.mountRow(withMeasure(s, "cat of 1,000 × 32 KiB files, fresh mount, --date-calls-per-minute 0", "ossfs", 0), ms[0]),
		e.mountRow(withMeasure(s, "grep -r through them, fresh mount, --date-calls-per-minute 0", "ossfs", 0), ms[1]),
	}
	for i := range rows {
		setTarget(&rows[i], fmt.Sprintf("≤ %.1f OSS calls/file", targetCallsPerFile), rows[i].Value <= targetCallsPerFile)
	}
	return rows, nil
}

// mount-rss reads an object of rssCopies × --size bytes (the data file
// repeated) with a 256 MiB cache.
const (
	rssCopies    = 4
	rssCacheSize = 256 << 20
)

// runMountRSS: put the object (untimed), then per repeat dd of it through a
// fresh mount with --cache-size 256MiB, run with GODEBUG=gctrace=1; the
// mount's peak RSS is its VmHWM at the end of the read.
func runMountRSS(ctx context.Context, e *env) ([]row, error) {
	size := e.data.size * rssCopies
	var st syscall.Statfs_t
	if err := syscall.Statfs(e.dir, &st); err != nil {
		return nil, err
	}
	// The emulator keeps the parts and then the assembled object.
	if free, need := int64(st.Bavail)*int64(st.Bsize), 2*size+(1<<30); free < need {
		return nil, fmt.Errorf("%s has %d bytes free; a %d-byte object needs about %d in the emulator's store", e.dir, free, size, need)
	}
	key := fmt.Sprintf("mount-rss/data-%dx%s", rssCopies, formatSize(e.data.size))
	if err := e.putFile(ctx, key, e.data.path, rssCopies); err != nil {
		return nil, err
	}
	defer func() {
		e.deleteObject(ctx, key)
		delete(e.emu.populated, key)
	}()
	if err := e.warmStoreIfFits(ctx, key, size); err != nil {
		return nil, err
	}
	rssRun := func(ctx context.Context) (measurement, error) {
		// gctrace: the live heap the collector found, against the cache size.
		m, err := e.ossfsMountEnv(ctx, []string{"GODEBUG=gctrace=1"}, "--cache-size", formatSize(rssCacheSize))
		if err != nil {
			return measurement{}, err
		}
		defer m.stop()
		ms, res, err := e.onMount(ctx, m, dd(filepath.Join(m.dir(), key)))
		if err != nil {
			return ms, err
		}
		if err := checkDD(res, size); err != nil {
			return ms, err
		}
		ms.value = mbps(size, ms.seconds)
		if err := stopFresh(&ms, m); err != nil {
			return ms, err
		}
		ms.extra["maxLiveHeapMB"], ms.extra["maxHeapMB"], ms.extra["gcCycles"] = gcTrace(m.spec.logPath)
		return ms, nil
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, []measure{{"ossfs mount + dd", rssRun}})
	if err != nil {
		return nil, err
	}
	r := e.mountRow(rowSpec{measure: fmt.Sprintf("sequential read of %s (dd bs=1M), --cache-size 256MiB", formatSize(size)),
		tool: "ossfs", unit: "MB/s", bytes: size}, ms[0])
	limitMiB := float64(rssCacheSize>>20) + targetRSSOverCacheMB
	setTarget(&r, fmt.Sprintf("peak RSS ≤ %.0f MiB", limitMiB), r.PeakRSSMiB <= limitMiB)
	return []row{r}, nil
}

// warmStoreIfFits warms the emulator's store of an object (see warmStore)
// when it fits in a third of the machine's memory; larger objects are read
// from wherever the kernel has them.
func (e *env) warmStoreIfFits(ctx context.Context, key string, size int64) error {
	var mem int64
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
		fmt.Sscan(kb, &mem)
		mem <<= 10
	}
	if size > mem/3 {
		logf("%s: not warming a %d-byte object (%d bytes of memory)", e.name, size, mem)
		return nil
	}
	return e.warmStore(ctx, key, size)
}
