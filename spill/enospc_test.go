package spill

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// failAfter makes f's data file writes land only up to limit bytes in total,
// then fail with ENOSPC, as a full disk does.
func failAfter(f *File, limit int) *int {
	left := limit
	f.pwrite = func(p []byte, off int64) (int, error) {
		n := min(len(p), left)
		n, err := f.data.WriteAt(p[:n], off)
		left -= n
		if err == nil && n < len(p) {
			err = &os.PathError{Op: "write", Path: f.data.Name(), Err: syscall.ENOSPC}
		}
		return n, err
	}
	return &left
}

// TestWriteENOSPCInjected: a write that fails midway keeps what landed, is
// not committed nor persisted half-written, and the File stays usable.
func TestWriteENOSPCInjected(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	left := failAfter(f, 30)
	content := pattern(20, 0, 100)
	n, err := f.WriteAt(content, 0)
	if n != 30 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteAt = %d, %v; want 30, ENOSPC", n, err)
	}
	if n, err := f.WriteAt(content[:10], 500); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteAt past the end = %d, %v; want 0, ENOSPC", n, err)
	}
	if fi, err := f.data.Stat(); err != nil || f.Size() != 30 || fi.Size() != 30 {
		t.Fatalf("size %d, data file %d (%v); want 30", f.Size(), fi.Size(), err)
	}
	checkContent(t, f, content[:30])
	if _, err := f.PlanCommit(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("PlanCommit of a half-written File: %v, want ENOSPC", err)
	}
	if err := f.Persist(Meta{Key: "k"}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Persist of a half-written File: %v, want ENOSPC", err)
	}

	*left = 1 << 20 // space again: the writer retries the rest
	mustWrite(t, f, content[30:], 30)
	if _, err := f.PlanCommit(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("PlanCommit with [500, 510) unwritten: %v, want ENOSPC", err)
	}
	if err := f.Truncate(100); err != nil {
		t.Fatal(err)
	}
	checkContent(t, f, content)
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	var object []byte
	for _, p := range plan.Parts {
		object = append(object, partBytes(t, p)...)
	}
	if !bytes.Equal(object, content) {
		t.Fatal("plan bytes differ")
	}
}

// TestFillENOSPCInjected: a fetch that cannot be stored fails the read and
// leaves the bytes missing, to be fetched again.
func TestFillENOSPCInjected(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	base := newPatternBase(21, 200)
	f, err := d.OpenExisting(200, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	left := failAfter(f, 50)
	if _, err := f.ReadAt(context.Background(), make([]byte, 200), 0); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("ReadAt = %v, want ENOSPC", err)
	}
	*left = 1 << 20
	checkContent(t, f, pattern(21, 0, 200))
	if calls, n := base.stats(); calls != 2 || n != 350 {
		t.Fatalf("fetched %d bytes in %d calls; want 200 then the 150 not stored", n, calls)
	}
}

// TestWriteENOSPCTmpfs fills a real 1 MiB tmpfs: the writer gets ENOSPC,
// nothing half-written can be committed, and after the writer gives up on
// the tail the File and the Dir keep working.
func TestWriteENOSPCTmpfs(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	d, err := OpenDir(mnt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, err := d.New()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Remove()

	content := pattern(22, 0, 2<<20)
	var off int64
	for off < int64(len(content)) {
		n, err := f.WriteAt(content[off:off+128<<10], off)
		off += int64(n)
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("WriteAt at %d: %v, want ENOSPC", off, err)
			}
			break
		}
	}
	if off >= int64(len(content)) || f.Size() != off {
		t.Fatalf("wrote %d bytes of %d into 1 MiB, size %d", off, len(content), f.Size())
	}
	checkContent(t, f, content[:off])
	if _, err := f.PlanCommit(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("PlanCommit of a half-written File: %v, want ENOSPC", err)
	}

	keep := off / 2
	if err := f.Truncate(keep); err != nil { // the writer gives up on the tail
		t.Fatal(err)
	}
	checkContent(t, f, content[:keep])
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	var object []byte
	for _, p := range plan.Parts {
		object = append(object, partBytes(t, p)...)
	}
	if !bytes.Equal(object, content[:keep]) {
		t.Fatal("plan bytes differ")
	}
	g, err := d.New() // the Dir keeps working
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove()
	mustWrite(t, g, content[:100<<10], 0)
	checkContent(t, g, content[:100<<10])
	if err := g.Persist(Meta{Key: "k"}); err != nil {
		t.Fatal(err)
	}
}
