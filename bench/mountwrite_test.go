package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseRsync(t *testing.T) {
	out := "cd+++++++++ ./\n" +
		">f+++++++++ f0000\n" +
		"cd+++++++++ d0/\n" +
		">f.st...... d0/f0001\n" +
		".d..t...... d1/\n" +
		".f....og... d1/f0002\n" +
		"\n" +
		"Number of files: 1,021 (reg: 1,000, dir: 21)\n" +
		"Number of created files: 1,021 (reg: 1,000, dir: 21)\n" +
		"Number of regular files transferred: 1,000\n" +
		"Total file size: 90,052,186 bytes\n" +
		"sent 90,098,000 bytes  received 19,562 bytes  1,234.56 bytes/sec\n"
	r, err := parseRsync(out)
	if err != nil || r.transferred != 1000 || r.files != 3 || r.dirs != 3 {
		t.Errorf("parseRsync = %+v, %v; want 1000 transferred, 3 files and 3 folders itemized", r, err)
	}
	if _, err := parseRsync("sent 10 bytes\n"); err == nil {
		t.Error("output without --stats was accepted")
	}
}

func TestTrees(t *testing.T) {
	files := rsyncTree(rsyncFiles)
	large, dirs := 0, map[string]bool{}
	for _, f := range files {
		if f.size >= 1<<20 {
			large++
		}
		if d := filepath.Dir(f.rel); d != "." {
			dirs[d] = true
		}
	}
	if len(files) != 1000 || large != 10 || len(dirs) != 20 {
		t.Errorf("rsyncTree: %d files, %d of 1 MiB or more, %d folders; want 1000, 10, 20", len(files), large, len(dirs))
	}
	tree, err := writeTree(filepath.Join(t.TempDir(), "src"), "t", rsyncTree(25))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tree.files {
		p := filepath.Join(tree.dir, f.rel)
		sum, err := fileSHA1(p)
		fi, serr := os.Stat(p)
		if err != nil || serr != nil || sum != f.sha1 || fi.Size() != int64(f.size) || !fi.ModTime().Equal(treeTime) {
			t.Errorf("%s: sha1 %s size %v mtime %v (%v, %v); want %s %d %v", f.rel, sum, fi.Size(), fi.ModTime(), err, serr, f.sha1, f.size, treeTime)
		}
	}
	if fi, err := os.Stat(filepath.Join(tree.dir, "d0")); err != nil || !fi.ModTime().Equal(treeTime) {
		t.Errorf("folder d0: %v, %v; want mtime %v", fi, err, treeTime)
	}
}

func TestQuotaSecondsAndCallsSince(t *testing.T) {
	if got := quotaSeconds(3677); got < 160.6 || got > 160.7 {
		t.Errorf("quotaSeconds(3677) = %v, want 160.62 (2,677 calls past the burst at 1,000/min)", got)
	}
	if quotaSeconds(999) != 0 {
		t.Error("calls within the burst take no quota time")
	}
	d := callsSince(map[string]int64{"s3.upload": 3, "objects.details": 2, "token": 1}, map[string]int64{"s3.upload": 2, "token": 1})
	if len(d) != 2 || d["s3.upload"] != 1 || d["objects.details"] != 2 {
		t.Errorf("callsSince = %v", d)
	}
}

// The write workloads at a small size, against the built binary, through a
// real mount: what lands in the emulator and the call counts that do not
// depend on timing. They need root and /dev/fuse (skipped without, unless
// OSSFS_REQUIRE_FUSE=1), and rsync.
func TestWriteWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the mount workloads are skipped")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("OSSFS_REQUIRE_FUSE") == "1" {
			t.Fatalf("FUSE is required (OSSFS_REQUIRE_FUSE=1) but this is not root with /dev/fuse (%v)", err)
		}
		t.Skip("the mount workloads need root and /dev/fuse (set OSSFS_REQUIRE_FUSE=1 to make this a failure)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	newEnv := testRunner(ctx, t, 20<<20+3)

	// mount-random keeps a warm mount while it makes fresh ones: each mount
	// needs a spill directory of its own (one serves one mount at a time).
	t.Run("two mounts at once", func(t *testing.T) {
		e := newEnv(t, "two-mounts")
		a, err := e.ossfsMount(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer a.stop()
		b, err := e.ossfsMount(ctx)
		if err != nil {
			t.Fatalf("a second mount while the first is up: %v", err)
		}
		b.stop()
	})

	t.Run("mount-write", func(t *testing.T) {
		rows, err := runMountWrite(ctx, newEnv(t, "mount-write"))
		if err != nil {
			t.Fatal(err) // the object's size and sha1 are checked by the workload
		}
		if len(rows) != 4 || rows[0].Tool != "ossfs" || rows[1].Unit != "parts" || rows[0].LimitOf == "" {
			t.Fatalf("rows: %+v", rows)
		}
		write, closing := rows[0].EmulatorCalls, rows[1].EmulatorCalls
		// 20 MiB + 3 bytes are three 8 MiB parts, each put once; the last,
		// short one can only go up at close, with the completion.
		if write[opS3Upload] != 3 || write["signeds3upload.complete"] != 1 {
			t.Errorf("calls of the write: %v, want 3 part PUTs and 1 completion", write)
		}
		if closing[opS3Upload] < 1 || closing["signeds3upload.complete"] != 1 || rows[1].Extra["s3PutsAfterLastWrite"] != float64(closing[opS3Upload]) {
			t.Errorf("calls after the last write: %v (extra %v), want the last part and the completion", closing, rows[1].Extra)
		}
		if before := rows[0].Extra["s3PutsBeforeClose"]; before+float64(closing[opS3Upload]) != 3 {
			t.Errorf("%v PUTs before close and %d after, want 3 in all", before, closing[opS3Upload])
		}
	})

	t.Run("mount-cp-small", func(t *testing.T) {
		const n = 20
		rows, err := newEnv(t, "mount-cp-small").mountCpSmall(ctx, flatFiles(n, smallSize))
		if err != nil {
			t.Fatal(err) // every file's size and sha1 are checked by the workload
		}
		c := rows[0].EmulatorCalls
		// One upload per file, and one for the folder cp -r creates (its
		// marker object).
		for _, op := range []string{opS3Upload, "signeds3upload.get", "signeds3upload.complete"} {
			if c[op] != n+1 {
				t.Errorf("%s: %d calls for %d files, want %d (%v)", op, c[op], n, n+1, c)
			}
		}
		if oss, _ := splitCalls(c); rows[0].Value != float64(oss)/n {
			t.Errorf("figure %v, want %d OSS calls / %d files", rows[0].Value, oss, n)
		}
	})

	t.Run("mount-cp-small-async", func(t *testing.T) {
		const n = 30
		rows, err := newEnv(t, "mount-cp-small-async").mountCpSmall(ctx, flatFiles(n, smallSize), "--async-commit")
		if err != nil {
			t.Fatal(err) // every file's size and sha1 are checked by the workload
		}
		c := rows[0].EmulatorCalls
		// Every file goes up once, in batches, counted although committed
		// after cp returned; the folder's marker alone.
		if c[opS3Upload] != n+1 || c["batchcompleteupload"] == 0 || c["batchsigneds3upload"] != c["batchcompleteupload"] {
			t.Errorf("calls: %v, want %d PUTs and the batch calls", c, n+1)
		}
		if c["signeds3upload.complete"] > 1+c["batchcompleteupload"] {
			t.Errorf("calls: %v, want most files committed in batches", c)
		}
	})

	t.Run("mount-rsync-async", func(t *testing.T) {
		rows, err := newEnv(t, "mount-rsync-async").mountRsync(ctx, rsyncTree(30), "--async-commit")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 4 || rows[0].Extra["filesTransferred"] != 30 || rows[0].EmulatorCalls["batchcompleteupload"] == 0 {
			t.Fatalf("rows: %+v", rows)
		}
		// The stamps rsync sets after close go into the commits: no run
		// transfers anything, not even the one with a new spill directory.
		for _, r := range rows[1:] {
			if r.Pass == nil || !*r.Pass {
				t.Errorf("%s: %v files transferred, %v changed; want none", r.Measure, r.Extra["filesTransferred"], r.Extra["filesChanged"])
			}
		}
	})

	t.Run("mount-rsync", func(t *testing.T) {
		rows, err := newEnv(t, "mount-rsync").mountRsync(ctx, rsyncTree(30))
		if err != nil {
			t.Fatal(err) // every file's size and sha1 are checked by the workload
		}
		if len(rows) != 4 || rows[0].Extra["filesTransferred"] != 30 || rows[3].Pass == nil {
			t.Fatalf("rows: %+v", rows)
		}
		// Not the run with a new spill directory: the mtimes rsync sets after
		// a file's commit are kept in the spill directory only.
		for _, r := range rows[1:3] {
			if r.Pass == nil || !*r.Pass {
				t.Errorf("%s: %v files transferred, %v changed; want none", r.Measure, r.Extra["filesTransferred"], r.Extra["filesChanged"])
			}
			for _, op := range []string{opS3Upload, "signeds3upload.complete", "objects.copyto", "objects.delete"} {
				if r.EmulatorCalls[op] != 0 {
					t.Errorf("%s: %d %s calls, want none (%v)", r.Measure, r.EmulatorCalls[op], op, r.EmulatorCalls)
				}
			}
		}
	})
}

// testRunner builds what the mount workloads need, with a data file of size
// bytes and one emulator, and returns a maker of job environments on it.
func testRunner(ctx context.Context, t *testing.T, size int64) func(t *testing.T, name string) *env {
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cfg := config{size: size, repeat: 1, concurrency: 4, timeout: 2 * time.Minute, latency: 20 * time.Millisecond, bandwidth: 50e6}
	r := &runner{cfg: cfg, root: root, tmp: tmp}
	t.Cleanup(r.close)
	if err := r.prepare(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.prepareMounts(ctx); err != nil {
		t.Fatal(err)
	}
	emu, err := r.emulator(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T, name string) *env {
		dir := filepath.Join(tmp, "jobs", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return &env{cfg: cfg, name: name, bin: r.bin, emu: emu, data: r.data, dir: dir, run: r}
	}
}
