package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ossfs/ossfs/oss"
)

// workload is one named benchmark. It runs against an emulator of one
// profile and returns its table rows: the ossfs figure first, then the
// limits it is compared with.
type workload struct {
	name    string
	summary string
	// wanVariant adds NAME-wan, the same workload against the emulator with
	// the WAN profile (run with --wan or when named).
	wanVariant bool
	// mount workloads run FUSE daemons: they need root and /dev/fuse, and
	// the tools under bench/loopback and bench/reader.
	mount bool
	run   func(ctx context.Context, e *env) ([]row, error)
}

// workloads is the registry.
func workloads() []workload {
	return []workload{
		{name: "cp-download", wanVariant: true, run: runCpDownload,
			summary: "ossfs cp of one --size object to a local file, vs curl of its signed URL (1 stream and N ranged streams)"},
		{name: "cp-upload", wanVariant: true, run: runCpUpload,
			summary: "ossfs cp of a --size local file to an object, vs curl PUTs of its part URLs (1 stream and N streams) + completion"},
		{name: "mount-read-cold", wanVariant: true, mount: true, run: runMountReadCold,
			summary: "dd of a --size object through a fresh mount, vs curl of its signed URL into /dev/null (1 stream and N ranged streams)"},
		{name: "mount-read-warm", mount: true, run: runMountReadWarm,
			summary: "dd of the same object again after drop_caches (the block cache serves it), vs a go-fuse loopback mount of a tmpfs copy without passthrough"},
		{name: "mount-random", mount: true, run: runMountRandom,
			summary: "random 4 KiB and 256 KiB preads of the --size object, cold (fresh mount) and warm (block cache), vs the loopback; time to first byte"},
		{name: "mount-ls", mount: true, run: runMountLs,
			summary: "ls -l of a folder of 10,000 objects: time and OSS calls, cold (fresh mount) and warm (within the metadata TTL)"},
		{name: "mount-smallfiles", mount: true, run: runMountSmallFiles,
			summary: "cat and grep -r of every file of a folder of 1,000 × 32 KiB objects: time and OSS calls per file"},
		{name: "mount-rss", mount: true, run: runMountRSS,
			summary: "peak RSS of the mount while dd reads a 4 × --size object with --cache-size 256MiB"},
		{name: "mount-write", mount: true, run: runMountWrite,
			summary: "sequential write of --size bytes through a fresh mount + close, vs curl PUTs of its part URLs + completion; close() in part uploads"},
		{name: "mount-cp-small", mount: true, run: runMountCpSmall,
			summary: "cp -r of a local folder of 1,000 × 32 KiB files into a fresh mount: time and OSS calls per file"},
		{name: "mount-cp-small-async", mount: true, run: runMountCpSmallAsync,
			summary: "mount-cp-small with --async-commit: close() returns before the commit, small files are committed 25 per batch call; calls include the commits awaited at unmount"},
		{name: "mount-rsync-async", mount: true, run: runMountRsyncAsync,
			summary: "mount-rsync with --async-commit: the first run until its commits end (at unmount), then again with nothing changed after a remount and on that mount"},
		{name: "mount-rsync", mount: true, run: runMountRsync,
			summary: "rsync -a of a local tree of 1,000 files (mostly small, ten of 1-10 MiB, 21 folders) into a fresh mount, then again with nothing changed"},
	}
}

// job is a workload on one profile.
type job struct {
	name string
	wan  bool
	w    workload
}

// selectJobs resolves the names on the command line; none means every
// workload, with the -wan variants when wan is set. A -wan name runs its
// variant whatever wan says.
func selectJobs(names []string, wan bool) ([]job, error) {
	var all []job
	for _, w := range workloads() {
		all = append(all, job{name: w.name, w: w})
		if w.wanVariant {
			all = append(all, job{name: w.name + "-wan", wan: true, w: w})
		}
	}
	if len(names) == 0 {
		var jobs []job
		for _, j := range all {
			if !j.wan || wan {
				jobs = append(jobs, j)
			}
		}
		return jobs, nil
	}
	var jobs []job
	for _, n := range names {
		i := slices.IndexFunc(all, func(j job) bool { return j.name == n })
		if i < 0 {
			return nil, fmt.Errorf("unknown workload %q (--list shows them)", n)
		}
		if !slices.ContainsFunc(jobs, func(j job) bool { return j.name == n }) {
			jobs = append(jobs, all[i])
		}
	}
	return jobs, nil
}

func printWorkloads(w io.Writer) {
	for _, wl := range workloads() {
		variant := ""
		if wl.wanVariant {
			variant = " (and " + wl.name + "-wan)"
		}
		fmt.Fprintf(w, "%s%s\n    %s\n", wl.name, variant, wl.summary)
	}
}

// env is what a workload runs with.
type env struct {
	cfg  config
	name string // the job's name, e.g. cp-download-wan
	wan  bool
	bin  string // the ossfs binary
	emu  *emulator
	data dataFile
	dir  string // scratch folder of this job, on the data's filesystem
	seq  int    // makes object keys unique within the job
	run  *runner
}

// objectKey is the key of an object of this job.
func (e *env) objectKey(tag string) string { return e.name + "/" + tag }

// nextSeq numbers the objects of the job.
func (e *env) nextSeq() int {
	e.seq++
	return e.seq
}

// deleteObject removes an object at the end of a job (also after Ctrl-C),
// within 30s; the store is temporary, so a failure only costs disk space.
func (e *env) deleteObject(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.emu.client.DeleteObject(ctx, benchBucket, key); err != nil {
		logf("%s: deleting %s: %v", e.name, key, err)
	}
}

// ossfs runs `ossfs ARGS` against the emulator and measures it: wall time,
// peak RSS, the calls it counted (--stats) and those the emulator saw.
func (e *env) ossfs(ctx context.Context, args ...string) (measurement, error) {
	p := proc{name: e.bin, args: args, env: []string{
		"OSSFS_ENDPOINT=" + e.emu.endpoint,
		"APS_CLIENT_ID=" + emulatorClientID,
		"APS_CLIENT_SECRET=" + emulatorClientSecret,
	}}
	if err := e.resetCounts(ctx); err != nil {
		return measurement{}, err
	}
	t := e.startTiming()
	res, err := p.run(ctx, e.cfg.timeout)
	if err != nil {
		return measurement{}, err
	}
	m := measurement{peakRSS: res.peakRSS}
	t.stop(&m, res.cpu)
	if m.calls = parseCallStats(res.stderr); m.calls == nil {
		return m, fmt.Errorf("ossfs %s: no {\"calls\":...} line on stderr", args[0])
	}
	m.emulatorCalls, err = e.emu.stats(ctx)
	return m, err
}

// cpArgs is `ossfs cp` with the benchmark's flags.
func (e *env) cpArgs(src, dst string) []string {
	return []string{"cp", "--stats", "-q", "--concurrency", fmt.Sprint(e.cfg.concurrency), src, dst}
}

// runCpDownload: upload the object (untimed), then per repeat time
// `ossfs cp oss://... FILE`, one curl of the signed URL, and N ranged curls.
func runCpDownload(ctx context.Context, e *env) ([]row, error) {
	key := e.objectKey("object")
	remote := "oss://" + benchBucket + "/" + key
	if _, err := e.ossfs(ctx, e.cpArgs(e.data.path, remote)...); err != nil {
		return nil, fmt.Errorf("uploading the object to download: %w", err)
	}
	defer e.deleteObject(ctx, key)
	out := filepath.Join(e.dir, "ossfs-download.bin")
	ossfsRun := func(ctx context.Context) (measurement, error) {
		m, err := e.ossfs(ctx, e.cpArgs(remote, out)...)
		if err != nil {
			return m, err
		}
		defer os.Remove(out)
		return m, e.checkFile(out)
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, e.transferMeasures(ossfsRun, func(ctx context.Context, streams int) (measurement, error) {
		return e.curlDownload(ctx, key, streams)
	}))
	if err != nil {
		return nil, err
	}
	return e.transferRows(ms), nil
}

// runCpUpload: split the data into part files (untimed), then per repeat
// time `ossfs cp FILE oss://...`, one curl PUTting every part in turn, and N
// curls sharing the parts, each followed by the completion.
func runCpUpload(ctx context.Context, e *env) ([]row, error) {
	parts, err := splitParts(e.data, filepath.Join(e.dir, "parts"), partSize(e.data.size))
	if err != nil {
		return nil, err
	}
	ossfsRun := func(ctx context.Context) (measurement, error) {
		key := e.objectKey(fmt.Sprintf("ossfs-%d", e.nextSeq()))
		m, err := e.ossfs(ctx, e.cpArgs(e.data.path, "oss://"+benchBucket+"/"+key)...)
		if err != nil {
			return m, err
		}
		return m, e.checkObject(ctx, key)
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, e.transferMeasures(ossfsRun, func(ctx context.Context, streams int) (measurement, error) {
		return e.curlUpload(ctx, parts, streams)
	}))
	if err != nil {
		return nil, err
	}
	return e.transferRows(ms), nil
}

// transferMeasures lists the measurements of a transfer workload: ossfs,
// one curl stream and, with --concurrency above 1, that many curl streams.
func (e *env) transferMeasures(ossfsRun measureFunc, limit func(ctx context.Context, streams int) (measurement, error)) []measure {
	ms := []measure{
		{"ossfs cp", ossfsRun},
		{"curl ×1", func(ctx context.Context) (measurement, error) { return limit(ctx, 1) }},
	}
	if n := e.cfg.concurrency; n > 1 {
		ms = append(ms, measure{fmt.Sprintf("curl ×%d", n), func(ctx context.Context) (measurement, error) { return limit(ctx, n) }})
	}
	return ms
}

// checkFile fails unless the file at path holds the data's bytes.
func (e *env) checkFile(path string) error {
	sum, err := fileSHA1(path)
	if err != nil {
		return err
	}
	if sum != e.data.sha1 {
		return fmt.Errorf("%s: sha1 %s, want %s", path, sum, e.data.sha1)
	}
	return nil
}

// checkObject fails unless the object holds the data's bytes (size and the
// sha1 the emulator computed); it then deletes it to keep the store small.
func (e *env) checkObject(ctx context.Context, key string) error {
	o, err := e.emu.client.ObjectDetails(ctx, benchBucket, key, oss.DetailsOptions{})
	if err != nil {
		return err
	}
	if o.Size != e.data.size || o.SHA1 != e.data.sha1 {
		return fmt.Errorf("object %s: size %d sha1 %s, want %d %s", key, o.Size, o.SHA1, e.data.size, e.data.sha1)
	}
	return e.emu.client.DeleteObject(ctx, benchBucket, key)
}

// transferRows turns the measurements of transferMeasures into rows with
// ratios and targets: the limit is the faster of the curl figures.
func (e *env) transferRows(ms [][]measurement) []row {
	ossfsRow := e.row("ossfs", 0, ms[0])
	single := e.row("curl", 1, ms[1])
	rows := []row{ossfsRow, single}
	ossfsRow.LimitMBps = single.MBps
	if len(ms) > 2 {
		par := e.row("curl", e.cfg.concurrency, ms[2])
		par.VsOneStream = ratio(par.MBps, single.MBps)
		ossfsRow.LimitMBps = max(single.MBps, par.MBps)
		rows = append(rows, par)
	}
	ossfsRow.Ratio = ratio(ossfsRow.MBps, ossfsRow.LimitMBps)
	ossfsRow.VsOneStream = ratio(ossfsRow.MBps, single.MBps)
	transferTarget(&ossfsRow, e.wan)
	rows[0] = ossfsRow
	return rows
}

// Targets of the transfer workloads (docs/BENCHMARKS.md).
const (
	targetRatio     = 0.9 // of the limit, without the WAN profile
	targetVsOne     = 3.0 // of one curl stream, with the WAN profile
	targetRSSMiB    = 128 // peak RSS copying 1 GiB
	targetRSSSuffix = ", RSS ≤ 128 MiB"
)

func transferTarget(r *row, wan bool) {
	pass := r.PeakRSSMiB <= targetRSSMiB
	if wan {
		r.Target = fmt.Sprintf("≥ %.0f× 1 stream%s", targetVsOne, targetRSSSuffix)
		pass = pass && r.VsOneStream >= targetVsOne
	} else {
		r.Target = fmt.Sprintf("≥ %.1f of limit%s", targetRatio, targetRSSSuffix)
		pass = pass && r.Ratio >= targetRatio
	}
	r.Pass = &pass
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// parseCallStats finds the {"calls":{...}} line ossfs --stats prints.
func parseCallStats(stderr string) map[string]int64 {
	for _, line := range slices.Backward(strings.Split(stderr, "\n")) {
		if calls := decodeCalls(line); calls != nil {
			return calls
		}
	}
	return nil
}
