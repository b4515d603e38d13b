package integration

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ossfs/ossfs/internal/testbytes"
)

// TestWriteTarExtracts unpacks an archive into the mount with GNU tar, which
// creates files and directories, sets modes and mtimes, and (as root) chowns
// to the archive's owners: every file's bytes, mode and mtime come back.
func TestWriteTarExtracts(t *testing.T) {
	needTool(t, "tar")
	const bucket = "wtar"
	w := newWorld(t, bucket)
	m := mount(t, w.env, bucket)
	src := t.TempDir()
	old := time.Date(2019, 6, 7, 8, 9, 10, 0, time.UTC)
	want := map[string][]byte{}
	for i := range 30 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%3), fmt.Sprintf("f %d.txt", i))
		if i%10 == 0 {
			rel = fmt.Sprintf("top%d.bin", i)
		}
		b := testbytes.Pattern{Seed: uint64(100 + i)}.Bytes(0, int64(i*4099))
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(src, rel), b, 0o600+os.FileMode(i%3)*0o44)
		os.Chtimes(filepath.Join(src, rel), old, old.Add(time.Duration(i)*time.Second))
		want[rel] = b
	}
	os.Mkdir(filepath.Join(src, "empty"), 0o755)
	archive := filepath.Join(t.TempDir(), "a.tar")
	run(t, "tar", "-C", src, "-cf", archive, ".")
	if err := os.Mkdir(m.path("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, "tar", "-C", m.path("x"), "-xf", archive)

	for rel, b := range want {
		w.mustObject(t, bucket, "x/"+filepath.ToSlash(rel), b)
		sfi, _ := os.Stat(filepath.Join(src, rel))
		fi, err := os.Stat(m.path("x/" + rel))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != sfi.Mode() || !fi.ModTime().Equal(sfi.ModTime()) || fi.Size() != sfi.Size() {
			t.Errorf("%s after tar x: %v %v %d, want %v %v %d", rel, fi.Mode(), fi.ModTime(), fi.Size(), sfi.Mode(), sfi.ModTime(), sfi.Size())
		}
	}
	if fi, err := os.Stat(m.path("x/empty")); err != nil || !fi.IsDir() {
		t.Errorf("the archive's empty directory: %v %v", fi, err)
	}
	w.mustObject(t, bucket, "x/empty/", nil)
	// tar's own comparison finds nothing changed.
	if out, err := exec.Command("tar", "-C", m.path("x"), "--compare", "-f", archive).CombinedOutput(); err != nil {
		t.Errorf("tar --compare against the mount: %v\n%s", err, out)
	}
}

// TestWriteSavePatterns drives the ways desktop tools save, with the syscalls
// they make: a lock file taken with O_EXCL around a write-temp-then-rename,
// and a file opened O_RDWR and rewritten in place.
func TestWriteSavePatterns(t *testing.T) {
	const bucket = "wsave"
	w := newWorld(t, bucket)
	base := testbytes.Pattern{Seed: 41}.Bytes(0, 19<<20+11)
	w.put(t, bucket, "inplace.db", base)
	w.put(t, bucket, "doc.odt", []byte("version 1"))
	m := mount(t, w.env, bucket)

	t.Run("lock file", func(t *testing.T) {
		lock := m.path(".~lock.doc.odt#")
		lf, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatalf("taking the lock: %v", err)
		}
		lf.WriteString("user,host,1234;")
		if err := lf.Close(); err != nil {
			t.Fatal(err)
		}
		// A second writer sees the lock.
		if _, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); !errors.Is(err, syscall.EEXIST) {
			t.Errorf("a second O_EXCL create of the lock: %v, want EEXIST", err)
		}
		if b, err := os.ReadFile(lock); err != nil || string(b) != "user,host,1234;" {
			t.Errorf("the lock reads %q, %v", b, err)
		}
		tmp := m.path("doc.odt.tmp1234")
		if err := os.WriteFile(tmp, []byte("version 2, longer"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, m.path("doc.odt")); err != nil {
			t.Fatalf("renaming the saved copy over the document: %v", err)
		}
		if err := os.Remove(lock); err != nil {
			t.Fatalf("dropping the lock: %v", err)
		}
		w.mustObject(t, bucket, "doc.odt", []byte("version 2, longer"))
		for _, gone := range []string{".~lock.doc.odt#", "doc.odt.tmp1234"} {
			if w.object(t, bucket, gone) != nil {
				t.Errorf("%q is still in APS", gone)
			}
			if _, err := os.Stat(m.path(gone)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%q is still in the mount: %v", gone, err)
			}
		}
		if b, err := os.ReadFile(m.path("doc.odt")); err != nil || string(b) != "version 2, longer" {
			t.Errorf("the document reads %q, %v", b, err)
		}
		// The lock can be taken again.
		lf, err = os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatalf("taking the lock again: %v", err)
		}
		lf.Close()
		os.Remove(lock)
	})

	t.Run("O_RDWR in place", func(t *testing.T) {
		f, err := os.OpenFile(m.path("inplace.db"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Clone(base)
		patch := func(off int64, s string) {
			t.Helper()
			if _, err := f.WriteAt([]byte(s), off); err != nil {
				t.Fatalf("pwrite at %d: %v", off, err)
			}
			if end := off + int64(len(s)); end > int64(len(want)) {
				want = append(want, make([]byte, end-int64(len(want)))...)
			}
			copy(want[off:], s)
		}
		patch(100, "header v2")
		patch(8<<20-3, "across a part boundary")
		// Read back through the same descriptor: what was written, and the
		// untouched bytes around it from the remote object.
		got := make([]byte, 64)
		if _, err := f.ReadAt(got, 8<<20-20); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[8<<20-20:8<<20+44]) {
			t.Errorf("read back across the patch: %q", got)
		}
		patch(int64(len(base))+4096, "past the end")
		if err := f.Sync(); err != nil {
			t.Fatalf("fsync: %v", err)
		}
		w.mustObject(t, bucket, "inplace.db", want)
		patch(5<<20, "after fsync")
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		w.mustObject(t, bucket, "inplace.db", want)
		if b, err := os.ReadFile(m.path("inplace.db")); err != nil || sha1Of(b) != sha1Of(want) {
			t.Errorf("read back after close: %d bytes, %v", len(b), err)
		}
	})
}

// TestWriteSpillDiskFull gives the mount a spill directory on a 16 MiB tmpfs:
// a writer that fills it gets ENOSPC, nothing half-written is committed, the
// spill space is given back, and the mount keeps working.
func TestWriteSpillDiskFull(t *testing.T) {
	needFUSE(t)
	const bucket = "wfull"
	w := newWorld(t, bucket)
	old := testbytes.Pattern{Seed: 60}.Bytes(0, 1<<20)
	w.put(t, bucket, "old.bin", old)
	spillDir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", spillDir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a tmpfs for the spill directory (needs root, as the FUSE mounts do): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", spillDir).Run() })
	m := mount(t, w.env, bucket, "--spill-dir", spillDir)

	// cp of a new 40 MiB file fails with ENOSPC and leaves no object.
	src := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(src, testbytes.Pattern{Seed: 61}.Bytes(0, 40<<20), 0o644)
	out, err := exec.Command("cp", src, m.path("big.bin")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "No space left on device") {
		t.Errorf("cp of 40 MiB into a 16 MiB spill dir: %v %s, want ENOSPC", err, out)
	}
	if w.object(t, bucket, "big.bin") != nil {
		t.Error("a file that hit ENOSPC was committed")
	}
	spillEmpty(t, spillDir)

	// Rewriting an existing object in place: the writer gets ENOSPC, close
	// reports it, and APS keeps the old version.
	f, err := os.OpenFile(m.path("old.bin"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := io.Copy(f, testbytes.Pattern{Seed: 62}.Reader(40<<20))
	cerr := f.Close()
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Errorf("writing 40 MiB over old.bin: %v, want ENOSPC", werr)
	}
	if !errors.Is(cerr, syscall.ENOSPC) {
		t.Errorf("close after a write hit ENOSPC: %v, want ENOSPC", cerr)
	}
	w.mustObject(t, bucket, "old.bin", old)
	spillEmpty(t, spillDir)

	// The mount keeps working: the old version reads back, a new file commits.
	if b, err := os.ReadFile(m.path("old.bin")); err != nil || sha1Of(b) != sha1Of(old) {
		t.Errorf("old.bin reads %d bytes, %v", len(b), err)
	}
	small := testbytes.Pattern{Seed: 63}.Bytes(0, 6<<20)
	if err := os.WriteFile(m.path("after.bin"), small, 0o644); err != nil {
		t.Fatalf("a write once space is back: %v", err)
	}
	w.mustObject(t, bucket, "after.bin", small)
	if _, err := os.Stat(m.path("big.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed new file is still listed: %v", err)
	}
}

// spillEmpty waits, with a deadline, until the spill directory holds no spill
// file: the kernel releases a closed handle asynchronously.
func spillEmpty(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var left []string
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "spill-") {
				left = append(left, e.Name())
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("spill files left after a failed write: %v", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWriteDupedDescriptors: each close of a dup'ed descriptor is a flush
// that commits what was written so far; the last one commits the rest.
func TestWriteDupedDescriptors(t *testing.T) {
	const bucket = "wdup"
	w := newWorld(t, bucket)
	m := mount(t, w.env, bucket)
	f, err := os.Create(m.path("dup.txt"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("first ")
	fd2, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Close(fd2); err != nil {
		t.Fatalf("close of the dup: %v", err)
	}
	w.mustObject(t, bucket, "dup.txt", []byte("first "))
	f.WriteString("second")
	if err := f.Sync(); err != nil {
		t.Fatalf("fsync: %v", err)
	}
	w.mustObject(t, bucket, "dup.txt", []byte("first second"))
	f.WriteString(" third")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	w.mustObject(t, bucket, "dup.txt", []byte("first second third"))
}
