package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// runner owns what the jobs share: the built binary, the data file and one
// emulator per profile (started when a job first needs it).
type runner struct {
	cfg     config
	root    string // module root
	tmp     string // temporary folder holding everything below
	bin     string
	version string // ossfs version of bin
	data    dataFile
	emus    map[bool]*emulator // by wan

	// The mount workloads' tools, built when one is selected: the loopback
	// daemon (bench/loopback) and the reader (bench/reader).
	loopbackBin, readerBin string
	mounts                 mounts // every mount point created, detached on close
	// localCopy is a folder on tmpfs holding a copy of the data file (the
	// loopback's source), made on first use and removed on close.
	localCopy string
}

// runAll runs the jobs in order and returns the rows of those that finished.
// A failed job is reported and the others still run; a cancelled context
// stops everything.
func (r *runner) runAll(ctx context.Context, jobs []job) ([]row, error) {
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	if slices.ContainsFunc(jobs, func(j job) bool { return j.w.mount }) {
		if err := r.prepareMounts(ctx); err != nil {
			return nil, err
		}
	}
	var rows []row
	var errs []error
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return rows, errors.Join(append(errs, err)...)
		}
		got, err := r.runJob(ctx, j)
		if err != nil {
			logf("%s failed: %v", j.name, err)
			errs = append(errs, fmt.Errorf("%s: %w", j.name, err))
			continue
		}
		rows = append(rows, got...)
	}
	return rows, errors.Join(errs...)
}

// prepare builds ossfs and writes the data file.
func (r *runner) prepare(ctx context.Context) error {
	if err := r.build(ctx); err != nil {
		return err
	}
	logf("writing %d bytes of data", r.cfg.size)
	start := time.Now()
	var err error
	r.data, err = writeData(filepath.Join(r.tmp, "data.bin"), r.cfg.size)
	if err != nil {
		return err
	}
	logf("data written in %.1fs, sha1 %s", time.Since(start).Seconds(), r.data.sha1)
	return nil
}

// build builds ./cmd/ossfs of the module, unless --bin names a binary.
func (r *runner) build(ctx context.Context) error {
	if r.cfg.bin != "" {
		abs, err := filepath.Abs(r.cfg.bin)
		if err != nil {
			return err
		}
		r.bin = abs
	} else {
		r.bin = filepath.Join(r.tmp, "ossfs")
		logf("building %s", r.bin)
		p := proc{name: "go", args: []string{"build", "-o", r.bin, "./cmd/ossfs"}, dir: r.root}
		if _, err := p.run(ctx, r.cfg.timeout); err != nil {
			return err
		}
	}
	out, err := output(ctx, 30*time.Second, r.bin, "version")
	if err != nil {
		return fmt.Errorf("%s does not run: %w", r.bin, err)
	}
	r.version = strings.TrimSpace(out)
	return nil
}

func (r *runner) runJob(ctx context.Context, j job) ([]row, error) {
	emu, err := r.emulator(ctx, j.wan)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.tmp, "jobs", j.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if !r.cfg.keep {
		defer os.RemoveAll(dir)
	}
	logf("%s: %s", j.name, j.w.summary)
	e := &env{cfg: r.cfg, name: j.name, wan: j.wan, bin: r.bin, emu: emu, data: r.data, dir: dir, run: r}
	return j.w.run(ctx, e)
}

// emulator returns the emulator of a profile, starting it on first use.
func (r *runner) emulator(ctx context.Context, wan bool) (*emulator, error) {
	if e := r.emus[wan]; e != nil {
		return e, nil
	}
	dir := filepath.Join(r.tmp, "emulator-"+profileName(wan))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	e, err := startEmulator(ctx, r.bin, dir, wan, r.cfg)
	if err != nil {
		return nil, err
	}
	if r.emus == nil {
		r.emus = map[bool]*emulator{}
	}
	r.emus[wan] = e
	return e, nil
}

// prepareMounts checks that this machine can run the mount workloads (root,
// /dev/fuse) and builds their tools.
func (r *runner) prepareMounts(ctx context.Context) error {
	if os.Geteuid() != 0 {
		return errors.New("the mount workloads need root (mount(2), drop_caches, clear_refs); run the others by name")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return fmt.Errorf("the mount workloads need FUSE: %w", err)
	}
	for _, t := range []struct{ pkg, out string }{{"./bench/loopback", "loopback"}, {"./bench/reader", "reader"}} {
		bin := filepath.Join(r.tmp, "bench-"+t.out)
		p := proc{name: "go", args: []string{"build", "-o", bin, t.pkg}, dir: r.root}
		if _, err := p.run(ctx, r.cfg.timeout); err != nil {
			return err
		}
		if t.out == "loopback" {
			r.loopbackBin = bin
		} else {
			r.readerBin = bin
		}
	}
	return nil
}

// dataCopy returns a folder holding data.bin, a copy of the data file, on
// tmpfs (/dev/shm) when it has room, so that dropping the page cache leaves it
// in memory: the loopback limit then serves from memory, as ossfs serves from
// its block cache. Without room it falls back to the temporary folder (and
// says so: after drop_caches the loopback then reads the disk).
func (r *runner) dataCopy() (string, error) {
	if r.localCopy != "" {
		return r.localCopy, nil
	}
	parent := "/dev/shm"
	var st syscall.Statfs_t
	if err := syscall.Statfs(parent, &st); err != nil || int64(st.Bavail)*int64(st.Bsize) < r.data.size+(256<<20) {
		logf("no room on /dev/shm for a %d-byte copy: the loopback's source is on disk, and reads it after drop_caches", r.data.size)
		parent = r.tmp
	}
	dir, err := os.MkdirTemp(parent, "ossfs-bench-copy-")
	if err != nil {
		return "", err
	}
	r.localCopy = dir
	if err := copyFile(filepath.Join(dir, "data.bin"), r.data.path); err != nil {
		return "", err
	}
	return dir, nil
}

// close detaches any mount left behind, stops the emulators and removes the
// data copy.
func (r *runner) close() {
	r.mounts.detachAll()
	for _, e := range r.emus {
		e.stop()
	}
	if r.localCopy != "" {
		_ = os.RemoveAll(r.localCopy)
	}
}
