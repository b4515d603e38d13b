package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ossfs/ossfs/oss"
)

// The write workloads (issue 5's figures): a large sequential write through
// the mount, cp -r and rsync -a of trees into it. docs/BENCHMARKS.md says
// what each measures and why.

// Targets of the write workloads.
const (
	targetWriteRatio     = 0.85 // mount-write: of the direct multipart upload
	targetCloseParts     = 2.0  // mount-write: close() waits for at most this many part uploads
	targetCpCallsPerFile = 3.0  // mount-cp-small: OSS calls per file (S3 PUTs are not OSS calls)
)

// ossfsWriteMount is ossfsMount with the spill directory spillDir (one in the
// job's scratch folder: by default every mount of the bucket shares one in the
// user's cache directory, where a failed run would leave pending uploads for
// the next, and where the stamps set after a commit are kept), and without
// the client-side limit of OSS calls per minute: the tree workloads spend
// several calls per file, and at the default 1,000 per minute their time
// would be the call count's (see quotaSeconds), not the mount's.
func (e *env) ossfsWriteMount(ctx context.Context, spillDir string, flags ...string) (*mountProc, error) {
	return e.ossfsMount(ctx, append([]string{"--spill-dir", spillDir, "--calls-per-minute", "-1"}, flags...)...)
}

// newSpillDir names a new spill directory in the job's scratch folder (the
// mount creates it).
func (e *env) newSpillDir() string {
	return filepath.Join(e.dir, fmt.Sprintf("spill-%d", e.nextSeq()))
}

// The APS quota, which ossfs's limiter enforces by default: quotaPerMinute
// OSS calls per minute, with a burst of a minute's worth.
const quotaPerMinute = 1000

// quotaSeconds is the least time the quota allows for calls OSS calls
// starting with a full burst: what the limiter would have stretched the
// measurement to, had it been faster.
func quotaSeconds(calls int64) float64 {
	return float64(max(0, calls-quotaPerMinute)) * 60 / quotaPerMinute
}

// needTool fails with a clear message when a tool a workload runs is missing.
func needTool(name, workload string) error {
	if _, err := exec.LookPath(name); err != nil {
		return fmt.Errorf("%s is not installed, and %s runs it (apt-get install %s)", name, workload, name)
	}
	return nil
}

// runMountWrite: split the data into part files (untimed), then per repeat:
// the data file written through a fresh mount with 1 MiB writes and closed,
// one curl PUTting every part in turn, and N curls sharing the parts, each
// followed by the completion (the cp-upload limits). The object's size and
// sha1 are checked after each write.
func runMountWrite(ctx context.Context, e *env) ([]row, error) {
	parts, err := splitParts(e.data, filepath.Join(e.dir, "parts"), partSize(e.data.size))
	if err != nil {
		return nil, err
	}
	// The writer reads the data file from the page cache, as curl reads the
	// part files just written.
	if _, err := fileSHA1(e.data.path); err != nil {
		return nil, err
	}
	curlRun := func(streams int) measureFunc {
		return func(ctx context.Context) (measurement, error) {
			ms, err := e.curlUpload(ctx, parts, streams)
			ms.value = mbps(e.data.size, ms.seconds)
			return ms, err
		}
	}
	fns := []measure{{"ossfs mount + write", e.mountWrite}, {"curl ×1", curlRun(1)}}
	if n := e.cfg.concurrency; n > 1 {
		fns = append(fns, measure{fmt.Sprintf("curl ×%d", n), curlRun(n)})
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, fns)
	if err != nil {
		return nil, err
	}
	return e.writeRows(ms, len(parts)), nil
}

// writeRows turns mount-write's runs into rows: the write and its limit, the
// close in part uploads, and the curl rows.
func (e *env) writeRows(ms [][]measurement, parts int) []row {
	mb := rowSpec{unit: "MB/s", bytes: e.data.size}
	measure := fmt.Sprintf("sequential write of %s (1 MiB writes) + close, fresh mount", formatSize(e.data.size))
	write := e.mountRow(withMeasure(mb, measure, "ossfs", 0), ms[0])
	put := "curl PUTs of the part files + completion"
	rows := []row{write, e.mountRow(withMeasure(mb, put, "curl", 1), ms[1])}
	single := rows[1]
	limit := single
	if len(ms) > 2 {
		par := e.mountRow(withMeasure(mb, put, "curl", e.cfg.concurrency), ms[2])
		rows = append(rows, par)
		if par.Value > limit.Value {
			limit = par
		}
	}
	compare(&rows[0], limit)
	setTarget(&rows[0], fmt.Sprintf("≥ %.2f of limit", targetWriteRatio), rows[0].Ratio >= targetWriteRatio)
	// One part upload: curl ×1 PUTs the parts one after the other on an
	// otherwise idle emulator.
	// The limit's completion (the emulator assembling the object) is part of
	// every close too: the close's own share is what is left.
	partSeconds, complete := single.Phases["put"]/float64(parts), single.Phases["complete"]
	closeRuns := make([]measurement, len(ms[0]))
	for i, x := range ms[0] {
		closeRuns[i] = *x.close
		closeRuns[i].value = ratio(x.close.seconds, partSeconds)
		closeRuns[i].extra["partSeconds"] = partSeconds
		closeRuns[i].extra["limitCompleteSeconds"] = complete
		closeRuns[i].extra["partsBeyondCompletion"] = ratio(x.close.seconds-complete, partSeconds)
	}
	cr := e.mountRow(rowSpec{measure: "close() after the last write, in part uploads (calls: those made after the last write)",
		tool: "ossfs", unit: "parts", lowerBetter: true}, closeRuns)
	setTarget(&cr, fmt.Sprintf("≤ %.0f part uploads", targetCloseParts), cr.Value <= targetCloseParts)
	return append([]row{rows[0], cr}, rows[1:]...)
}

// writeResult is the reader's answer to `write`.
type writeResult struct {
	Bytes        int64   `json:"bytes"`
	OpenSeconds  float64 `json:"openSeconds"`
	WriteSeconds float64 `json:"writeSeconds"`
	CloseSeconds float64 `json:"closeSeconds"`
	Seconds      float64 `json:"seconds"`
}

// mountWrite writes the data file through a fresh mount with the reader
// (`write -pause`): between the last write and the close it reads the
// emulator's counters and the CPU times, so that the close is measured apart
// (m.close). The object is checked and deleted afterwards (untimed).
func (e *env) mountWrite(ctx context.Context) (measurement, error) {
	spillDir := e.newSpillDir()
	defer os.RemoveAll(spillDir)
	m, err := e.ossfsWriteMount(ctx, spillDir)
	if err != nil {
		return measurement{}, err
	}
	defer m.stop()
	key := fmt.Sprintf("%s-%d.bin", e.name, e.nextSeq())
	if err := e.resetCounts(ctx); err != nil {
		return measurement{}, err
	}
	t := e.startMountTiming(m)
	var pause struct {
		calls    map[string]int64
		cpu      cpuSnapshot
		mountCPU float64
	}
	res, err := e.pausedWrite(ctx, e.data.path, filepath.Join(m.dir(), key), func() error {
		pause.mountCPU, pause.cpu = m.cpu(), e.cpuNow()
		var err error
		pause.calls, err = e.emu.stats(ctx)
		return err
	})
	if err != nil {
		return measurement{}, err
	}
	end, endMount := e.cpuNow(), m.cpu()
	var ms measurement
	t.stop(&ms, res.cpu)
	if ms.emulatorCalls, err = e.emu.stats(ctx); err != nil {
		return ms, err
	}
	var r writeResult
	if err := readerJSON(procResult{stdout: lastLines(res.stdout, 1)}, &r); err != nil {
		return ms, err
	}
	if r.Bytes != e.data.size {
		return ms, fmt.Errorf("the writer wrote %d bytes, want %d", r.Bytes, e.data.size)
	}
	ms.phases = map[string]float64{"process": ms.seconds, "open": r.OpenSeconds, "write": r.WriteSeconds, "close": r.CloseSeconds}
	ms.seconds, ms.value = r.Seconds, mbps(e.data.size, r.Seconds)
	after := callsSince(ms.emulatorCalls, pause.calls)
	ms.extra = map[string]float64{"mountMinorFaults": ms.mountFaults, "closeSeconds": r.CloseSeconds,
		"s3PutsBeforeClose": float64(pause.calls[opS3Upload]), "s3PutsAfterLastWrite": float64(after[opS3Upload])}
	c := &measurement{seconds: r.CloseSeconds, emulatorCalls: after, peakRSS: ms.peakRSS, phases: map[string]float64{},
		mountCPU: endMount - pause.mountCPU, emulatorCPU: end.emulator - pause.cpu.emulator,
		extra: map[string]float64{"s3PutsAfterLastWrite": float64(after[opS3Upload])}}
	c.otherCPU = max(0, end.machine-pause.cpu.machine-c.mountCPU-c.emulatorCPU)
	ms.close = c
	if err := stopFresh(&ms, m); err != nil {
		return ms, err
	}
	return ms, e.checkObject(ctx, key)
}

// callsSince is the count per endpoint in now less the one in then.
func callsSince(now, then map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for op, n := range now {
		if n -= then[op]; n != 0 {
			d[op] = n
		}
	}
	return d
}

// pausedWrite runs the reader's `write -pause SRC DST` (bounded by
// --timeout) and calls atPause once the last write has returned, before
// letting the writer close the file. stdout holds the pause line and the
// result line.
func (e *env) pausedWrite(ctx context.Context, src, dst string, atPause func() error) (procResult, error) {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.run.readerBin, "write", "-pause", src, dst)
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return procResult{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return procResult{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return procResult{}, err
	}
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	if err == nil && strings.TrimSpace(line) != "wrote" {
		err = fmt.Errorf("the writer printed %q, want \"wrote\"", line)
	}
	if err == nil {
		err = atPause()
	}
	if err != nil {
		cancel() // kills the writer
	}
	_, _ = io.WriteString(stdin, "close\n")
	stdin.Close()
	rest, _ := io.ReadAll(out)
	werr := cmd.Wait()
	res := procResult{seconds: time.Since(start).Seconds(), stdout: line + string(rest), stderr: stderr.String()}
	if cmd.ProcessState != nil {
		res.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	}
	if err == nil {
		err = werr
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		return res, fmt.Errorf("reader write: %w: %s", err, lastLines(res.stderr, 5))
	}
	return res, nil
}

// The tree of mount-cp-small: cpSmallFiles files of smallSize bytes in one
// folder.
const cpSmallFiles = 1000

// runMountCpSmall: write the tree locally (untimed), then per repeat cp -r of
// it into a new folder of a fresh mount.
func runMountCpSmall(ctx context.Context, e *env) ([]row, error) {
	return e.mountCpSmall(ctx, flatFiles(cpSmallFiles, smallSize))
}

// runMountCpSmallAsync is runMountCpSmall on a mount with --async-commit:
// cp's time, then the wait for the background commits at unmount; the calls
// include those commits.
func runMountCpSmallAsync(ctx context.Context, e *env) ([]row, error) {
	return e.mountCpSmall(ctx, flatFiles(cpSmallFiles, smallSize), "--async-commit")
}

// asyncMount reports whether mount flags make close() return before the commit.
func asyncMount(flags []string) bool { return slices.Contains(flags, "--async-commit") }

func (e *env) mountCpSmall(ctx context.Context, files []treeFile, flags ...string) ([]row, error) {
	if err := needTool("cp", e.name); err != nil {
		return nil, err
	}
	tree, err := writeTree(filepath.Join(e.dir, "src"), e.name, files)
	if err != nil {
		return nil, err
	}
	n := float64(len(files))
	cpRun := func(ctx context.Context) (measurement, error) {
		spillDir := e.newSpillDir()
		defer os.RemoveAll(spillDir)
		m, err := e.ossfsWriteMount(ctx, spillDir, flags...)
		if err != nil {
			return measurement{}, err
		}
		defer m.stop()
		prefix := fmt.Sprintf("%s-%d", e.name, e.nextSeq())
		ms, _, err := e.onMount(ctx, m, proc{name: "cp", args: []string{"-r", tree.dir, filepath.Join(m.dir(), prefix)}})
		if err != nil {
			return ms, err
		}
		if asyncMount(flags) {
			if err := e.awaitCommits(ctx, &ms, m); err != nil {
				return ms, err
			}
		}
		oss, _ := splitCalls(ms.emulatorCalls)
		ms.value = float64(oss) / n
		ms.extra["filesPerSec"] = n / ms.seconds
		ms.extra["mbPerSec"] = mbps(tree.bytes, ms.seconds)
		ms.extra["s3PutsPerFile"] = float64(ms.emulatorCalls[opS3Upload]) / n
		ms.extra["quotaSeconds"] = quotaSeconds(oss)
		if !asyncMount(flags) {
			if err := stopFresh(&ms, m); err != nil {
				return ms, err
			}
		}
		return ms, e.verifyTree(ctx, prefix, tree)
	}
	ms, err := repeat(ctx, e.cfg.repeat, e.name, []measure{{"cp -r", cpRun}})
	if err != nil {
		return nil, err
	}
	what := "fresh mount"
	if asyncMount(flags) {
		what = "fresh mount with --async-commit (calls include the commits awaited at unmount)"
	}
	r := e.mountRow(rowSpec{measure: fmt.Sprintf("cp -r of %d × %s files into a new folder, %s", len(files), formatSize(int64(files[0].size)), what),
		tool: "ossfs", unit: "calls/file", bytes: tree.bytes, lowerBetter: true}, ms[0])
	setTarget(&r, fmt.Sprintf("≤ %.0f OSS calls/file", targetCpCallsPerFile), r.Value <= targetCpCallsPerFile)
	return []row{r}, nil
}

// The tree of mount-rsync (see rsyncTree).
const rsyncFiles = 1000

// runMountRsync: write the tree locally (untimed), then per repeat, on a
// fresh mount, rsync -a of it into a new folder and the same rsync -a again
// (nothing changed: it should transfer nothing), once more on a fresh mount
// with the same spill directory (a remount), and once more on a fresh mount
// with a new one (as from another machine).
func runMountRsync(ctx context.Context, e *env) ([]row, error) {
	return e.mountRsync(ctx, rsyncTree(rsyncFiles))
}

// runMountRsyncAsync is runMountRsync on mounts with --async-commit; the
// first run's calls and time include the commits awaited at unmount.
func runMountRsyncAsync(ctx context.Context, e *env) ([]row, error) {
	return e.mountRsync(ctx, rsyncTree(rsyncFiles), "--async-commit")
}

// awaitCommits stops the mount, which waits for the commits still pending
// after the measured command returned, and adds that wait to ms's time and
// the calls it made to ms's calls (the emulator's counters run on).
func (e *env) awaitCommits(ctx context.Context, ms *measurement, m *mountProc) error {
	start := time.Now()
	if err := stopFresh(ms, m); err != nil {
		return err
	}
	wait := time.Since(start).Seconds()
	ms.extra["commitWaitSeconds"] = wait
	ms.seconds += wait
	calls, err := e.emu.stats(ctx)
	if err != nil {
		return err
	}
	ms.emulatorCalls = calls
	return nil
}

// rsyncResult is what rsync --stats -i reported.
type rsyncResult struct {
	transferred int // regular files whose data was sent
	files, dirs int // itemized lines (changes made) of files and of directories
}

func (e *env) mountRsync(ctx context.Context, files []treeFile, flags ...string) ([]row, error) {
	if err := needTool("rsync", e.name); err != nil {
		return nil, err
	}
	tree, err := writeTree(filepath.Join(e.dir, "src"), e.name, files)
	if err != nil {
		return nil, err
	}
	runs := make([][]measurement, 4)
	for rep := range e.cfg.repeat {
		ms, err := e.rsyncRuns(ctx, tree, flags)
		if err != nil {
			return nil, fmt.Errorf("%s: run %d: %w", e.name, rep+1, err)
		}
		logf("%s: run %d/%d: rsync -a %.2fs, again %.2fs, after a remount %.2fs, with a new spill directory %.2fs",
			e.name, rep+1, e.cfg.repeat, ms[0].seconds, ms[1].seconds, ms[2].seconds, ms[3].seconds)
		for i := range runs {
			runs[i] = append(runs[i], ms[i])
		}
	}
	s := rowSpec{tool: "ossfs", unit: "s", lowerBetter: true}
	what := fmt.Sprintf("%d files (%d folders, %.0f MB)", len(files), len(tree.dirs), float64(tree.bytes)/1e6)
	labels := []string{
		"rsync -a of " + what + " into a new folder, fresh mount",
		"the same rsync -a again on that mount, nothing changed",
		"again after a remount (same spill directory), nothing changed",
		"again on a fresh mount with a new spill directory (another machine)",
	}
	if asyncMount(flags) {
		labels[0] = "rsync -a of " + what + " into a new folder, fresh mount with --async-commit, until its commits end"
		labels[1], labels[2] = labels[2], "the same rsync -a again on that mount, nothing changed"
	}
	rows := make([]row, len(labels))
	for i, l := range labels {
		rows[i] = e.mountRow(withMeasure(s, l, "ossfs", 0), runs[i])
	}
	rows[0].Bytes = tree.bytes
	for i := range rows {
		rows[i].Value, rows[i].Unit = 0, "" // the seconds column says it
		if i > 0 {
			pass := rows[i].Extra["filesTransferred"] == 0 && rows[i].Extra["filesChanged"] == 0
			setTarget(&rows[i], "0 files transferred or changed", pass)
		}
	}
	return rows, nil
}

// rsyncRuns runs rsync -a of the tree into a new folder: twice on a fresh
// mount, once on a remount with the same spill directory, once on a mount
// with a new one; then it checks what landed in the emulator.
func (e *env) rsyncRuns(ctx context.Context, tree *localTree, flags []string) ([]measurement, error) {
	prefix := fmt.Sprintf("%s-%d", e.name, e.nextSeq())
	spillDir, otherSpillDir := e.newSpillDir(), e.newSpillDir()
	defer os.RemoveAll(spillDir)
	defer os.RemoveAll(otherSpillDir)
	type mountRuns struct {
		spillDir string
		runs     int
	}
	plan := []mountRuns{{spillDir, 2}, {spillDir, 1}, {otherSpillDir, 1}}
	if asyncMount(flags) {
		// The first run is measured until its commits end, at unmount: the
		// run with nothing changed is on the next mount.
		plan = []mountRuns{{spillDir, 1}, {spillDir, 2}, {otherSpillDir, 1}}
	}
	var ms []measurement
	for _, m := range plan {
		got, err := e.rsyncOnMount(ctx, tree, prefix, m.spillDir, m.runs, flags)
		if err != nil {
			return nil, err
		}
		ms = append(ms, got...)
	}
	if got := ms[0].extra["filesTransferred"]; got != float64(len(tree.files)) {
		return nil, fmt.Errorf("the first rsync -a transferred %.0f files of %d", got, len(tree.files))
	}
	return ms, e.verifyTree(ctx, prefix, tree)
}

// rsyncOnMount runs rsync -a of the tree into prefix n times on a fresh
// mount with the spill directory spillDir.
func (e *env) rsyncOnMount(ctx context.Context, tree *localTree, prefix, spillDir string, n int, flags []string) ([]measurement, error) {
	m, err := e.ossfsWriteMount(ctx, spillDir, flags...)
	if err != nil {
		return nil, err
	}
	defer m.stop()
	// --stats and -i change what rsync prints, not what it does.
	rsync := proc{name: "rsync", args: []string{"-a", "--stats", "-i", tree.dir + "/", filepath.Join(m.dir(), prefix) + "/"}, env: []string{"LC_ALL=C"}}
	ms := make([]measurement, n)
	for i := range ms {
		var res procResult
		var err error
		ms[i], res, err = e.onMount(ctx, m, rsync)
		if err != nil {
			return nil, err
		}
		r, err := parseRsync(res.stdout)
		if err != nil {
			return nil, err
		}
		ms[i].extra["filesTransferred"] = float64(r.transferred)
		ms[i].extra["filesChanged"] = float64(r.files)
		ms[i].extra["dirsChanged"] = float64(r.dirs)
	}
	var err2 error
	if asyncMount(flags) {
		err2 = e.awaitCommits(ctx, &ms[n-1], m) // the last run's commits count
	} else {
		err2 = stopFresh(&ms[n-1], m)
	}
	for i := range ms {
		oss, _ := splitCalls(ms[i].emulatorCalls)
		ms[i].value = ms[i].seconds
		ms[i].extra["ossCallsPerFile"] = float64(oss) / float64(len(tree.files))
		ms[i].extra["quotaSeconds"] = quotaSeconds(oss)
	}
	return ms, err2
}

// parseRsync reads the output of rsync --stats -i.
func parseRsync(stdout string) (rsyncResult, error) {
	var r rsyncResult
	found := false
	for line := range strings.SplitSeq(stdout, "\n") {
		if n, ok := strings.CutPrefix(line, "Number of regular files transferred: "); ok {
			if _, err := fmt.Sscan(strings.ReplaceAll(n, ",", ""), &r.transferred); err != nil {
				return r, fmt.Errorf("rsync --stats: %q: %w", line, err)
			}
			found = true
			continue
		}
		if f := itemized(line); f == 'f' {
			r.files++
		} else if f == 'd' {
			r.dirs++
		}
	}
	if !found {
		return r, fmt.Errorf("rsync --stats printed no count of files transferred: %q", lastLines(stdout, 5))
	}
	return r, nil
}

// itemized returns the file type of an rsync -i line ('f', 'd', 'L', ...),
// or 0 if line is not one: "YXcstpoguax path", Y one of <>ch.* and X the
// type.
func itemized(line string) byte {
	if len(line) < 12 || line[11] != ' ' || !strings.ContainsRune("<>ch.*", rune(line[0])) {
		return 0
	}
	if !strings.ContainsRune("fdLDS", rune(line[1])) {
		return 0
	}
	return line[1]
}

// verifyTree fails unless the objects below prefix/ are the tree's files,
// by key, size and sha1 (one listing by the in-process client, untimed).
// Folder markers ("dir/") are allowed; anything else is not.
func (e *env) verifyTree(ctx context.Context, prefix string, tree *localTree) error {
	objs, err := e.emu.client.ListObjects(ctx, benchBucket, oss.ListOptions{BeginsWith: prefix + "/"})
	if err != nil {
		return err
	}
	want := map[string]treeFile{}
	for _, f := range tree.files {
		want[prefix+"/"+f.rel] = f
	}
	seen := 0
	var bad []string
	for _, o := range objs {
		f, ok := want[o.Key]
		switch {
		case !ok && strings.HasSuffix(o.Key, "/"):
		case !ok:
			bad = append(bad, fmt.Sprintf("%s is not in the tree", o.Key))
		case o.Size != int64(f.size) || o.SHA1 != f.sha1:
			bad = append(bad, fmt.Sprintf("%s: %d bytes sha1 %s, want %d %s", o.Key, o.Size, o.SHA1, f.size, f.sha1))
		default:
			seen++
		}
	}
	if seen != len(want) {
		bad = append(bad, fmt.Sprintf("%d of the %d files are there", seen, len(want)))
	}
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], fmt.Sprintf("and %d more", len(bad)-5))
		}
		return fmt.Errorf("the copy in oss://%s/%s/: %s", benchBucket, prefix, strings.Join(bad, "; "))
	}
	return nil
}
