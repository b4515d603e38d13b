package cache

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func diskOptions(t *testing.T) Options {
	o := testOptions()
	o.Dir = t.TempDir()
	return o
}

// reopen closes c and returns a new Cache on the same options, whose memory
// tier is empty.
func reopen(t *testing.T, c *Cache, o Options) *Cache {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return newTestCache(t, o)
}

func fileExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

func TestDiskSurvivesReopen(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	keys := []Key{{"a", 0}, {"a", 1}, {"b", 7}}
	var size int64
	for i, k := range keys {
		c.Put(k, blockData(i, testBlockSize-i))
		size += blockFileSize(k, testBlockSize-i)
	}
	c.flush()
	if got := c.Stats().BytesDisk; got != size {
		t.Fatalf("BytesDisk = %d, want %d", got, size)
	}

	c = reopen(t, c, o)
	if got := c.Stats().BytesDisk; got != size {
		t.Fatalf("BytesDisk after reopen = %d, want %d", got, size)
	}
	for i, k := range keys {
		mustGet(t, c, k, blockData(i, testBlockSize-i))
	}
	mustMiss(t, c, Key{"a", 2})
	s := c.Stats()
	if s.DiskHits != 3 || s.DiskMisses != 1 {
		t.Fatalf("DiskHits, DiskMisses = %d, %d; want 3, 1", s.DiskHits, s.DiskMisses)
	}
	// A disk hit was promoted to memory (ristretto admits into an empty cache).
	c.flush()
	mustGet(t, c, keys[0], blockData(0, testBlockSize))
	if s := c.Stats(); s.Hits != 1 || s.DiskHits != 3 {
		t.Fatalf("Hits, DiskHits = %d, %d after promotion; want 1, 3", s.Hits, s.DiskHits)
	}
}

func TestDiskDirIsLocked(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	if c2, err := New(o); err == nil {
		c2.Close()
		t.Fatal("a second Cache opened a Dir in use")
	}
	c.Close()
	newTestCache(t, o)
}

// TestDiskCorruptFileIsAMiss damages a block file after the index was built,
// so that only the read-time verification can catch it.
func TestDiskCorruptFileIsAMiss(t *testing.T) {
	k := Key{Object: "obj", Block: 1}
	data := blockData(1, 1000)
	other := Key{Object: "obj", Block: 2}
	damage := map[string]func(path string) error{
		"flipped data byte": func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[len(b)-100] ^= 0x01
			return os.WriteFile(path, b, 0o600)
		},
		"flipped checksum": func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[len(b)-1] ^= 0x80
			return os.WriteFile(path, b, 0o600)
		},
		"truncated": func(path string) error { return os.Truncate(path, 500) },
		"empty":     func(path string) error { return os.Truncate(path, 0) },
		"another key's file": func(path string) error {
			// A whole, valid block file, but of another Key.
			d := &diskTier{dir: t.TempDir(), blockSize: testBlockSize}
			if _, err := d.write(other, data); err != nil {
				return err
			}
			b, err := os.ReadFile(d.path(other))
			if err != nil {
				return err
			}
			return os.WriteFile(path, b, 0o600)
		},
	}
	for name, corrupt := range damage {
		t.Run(name, func(t *testing.T) {
			o := diskOptions(t)
			h := newCountingHandler()
			o.Logger = slog.New(h)
			c := newTestCache(t, o)
			c.Put(k, data)
			c.flush()
			c = reopen(t, c, o)
			path := c.disk.path(k)
			if err := corrupt(path); err != nil {
				t.Fatal(err)
			}
			mustMiss(t, c, k)
			if fileExists(t, path) {
				t.Fatal("bad block file was not removed")
			}
			s := c.Stats()
			if s.DiskMisses != 1 || s.DiskHits != 0 || s.BytesDisk != 0 {
				t.Fatalf("after a bad file: %+v", s)
			}
			if h.count(slog.LevelWarn) != 1 {
				t.Fatalf("%d warnings logged, want 1", h.count(slog.LevelWarn))
			}
			if c.disk.failed.Load() {
				t.Fatal("one bad file disabled the disk tier")
			}
		})
	}
}

// TestDiskLoadRemovesBadFiles damages files while no Cache is open: New
// drops them from the directory instead of indexing them.
func TestDiskLoadRemovesBadFiles(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	good, truncated, renamed := Key{"o", 0}, Key{"o", 1}, Key{"o", 2}
	for i, k := range []Key{good, truncated, renamed} {
		c.Put(k, blockData(i, testBlockSize))
	}
	c.flush()
	d := c.disk
	c.Close()

	if err := os.Truncate(d.path(truncated), 100); err != nil {
		t.Fatal(err)
	}
	// A valid file under another name (as if its Key changed).
	misnamed := filepath.Join(filepath.Dir(d.path(renamed)), "00000000000000000000000000000000")
	if err := os.Rename(d.path(renamed), misnamed); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(d.path(good)), ".tmp-12345")
	if err := os.WriteFile(tmp, []byte("half a block"), 0o600); err != nil {
		t.Fatal(err)
	}

	c = newTestCache(t, o)
	for _, p := range []string{d.path(truncated), misnamed, tmp} {
		if fileExists(t, p) {
			t.Fatalf("%s survived New", p)
		}
	}
	if got, want := c.Stats().BytesDisk, blockFileSize(good, testBlockSize); got != want {
		t.Fatalf("BytesDisk = %d, want %d (the good file)", got, want)
	}
	mustGet(t, c, good, blockData(0, testBlockSize))
}

func TestDiskBlockSizeChangeDiscardsBlocks(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	k := Key{"o", 0}
	c.Put(k, blockData(1, 100))
	c.flush()
	path := c.disk.path(k)
	c.Close()

	o.BlockSize *= 2
	c = newTestCache(t, o)
	mustMiss(t, c, k)
	if fileExists(t, path) || c.Stats().BytesDisk != 0 {
		t.Fatal("a block of another block size survived New")
	}
}

func TestDiskBudgetEvictsLeastRecentlyUsed(t *testing.T) {
	o := diskOptions(t)
	a, b, cc, d := Key{"o", 0}, Key{"o", 1}, Key{"o", 2}, Key{"o", 3}
	fileSize := blockFileSize(a, testBlockSize)
	o.DirMaxBytes = 3*fileSize + fileSize/2 // room for three blocks
	c := newTestCache(t, o)
	for i, k := range []Key{a, b, cc} {
		c.Put(k, blockData(i, testBlockSize))
		c.flush() // one at a time, so the write order is the use order
	}
	if got, ok := c.disk.get(a); !ok || !bytes.Equal(got, blockData(0, testBlockSize)) {
		t.Fatal("disk tier lost a block within budget")
	}
	// a is now the most recently used; b the least.
	c.Put(d, blockData(3, testBlockSize))
	c.flush()

	s := c.Stats()
	if s.BytesDisk > o.DirMaxBytes || s.BytesDisk != 3*fileSize {
		t.Fatalf("BytesDisk = %d, want %d (three files, budget %d)", s.BytesDisk, 3*fileSize, o.DirMaxBytes)
	}
	if s.DiskEvictions != 1 {
		t.Fatalf("DiskEvictions = %d, want 1", s.DiskEvictions)
	}
	for k, want := range map[Key]bool{a: true, b: false, cc: true, d: true} {
		if c.disk.has(k) != want || fileExists(t, c.disk.path(k)) != want {
			t.Fatalf("block %d: indexed %v, on disk %v; want %v", k.Block, c.disk.has(k), fileExists(t, c.disk.path(k)), want)
		}
	}
}

func TestDiskBudgetEnforcedOnLoad(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	for i := range 4 {
		c.Put(Key{"o", int64(i)}, blockData(i, testBlockSize))
	}
	c.flush()
	c.Close()
	fileSize := blockFileSize(Key{"o", 0}, testBlockSize)
	o.DirMaxBytes = 2 * fileSize
	c = newTestCache(t, o)
	if got := c.Stats().BytesDisk; got != 2*fileSize {
		t.Fatalf("BytesDisk = %d, want %d", got, 2*fileSize)
	}
	var onDisk int
	for i := range 4 {
		if fileExists(t, c.disk.path(Key{"o", int64(i)})) {
			onDisk++
		}
	}
	if onDisk != 2 {
		t.Fatalf("%d block files on disk, want 2", onDisk)
	}
}

func TestDiskInvalidate(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	x0, x1, y0 := Key{"x", 0}, Key{"x", 1}, Key{"y", 0}
	for i, k := range []Key{x0, x1, y0} {
		c.Put(k, blockData(i, testBlockSize))
	}
	c.flush()
	paths := []string{c.disk.path(x0), c.disk.path(x1)}
	c.Invalidate("x")
	for _, p := range paths {
		if fileExists(t, p) {
			t.Fatalf("%s survived Invalidate", p)
		}
	}
	c.flush()
	mustMiss(t, c, x0)
	mustMiss(t, c, x1)

	c = reopen(t, c, o)
	mustMiss(t, c, x0)
	mustMiss(t, c, x1)
	mustGet(t, c, y0, blockData(2, testBlockSize))
}

// TestDiskWriteRacingInvalidate invalidates the object after its block file
// was written and before it is indexed: the file must not survive.
func TestDiskWriteRacingInvalidate(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	k := Key{"x", 0}
	var sawFile bool
	c.hooks.beforeDiskCommit = func(Key) {
		sawFile = fileExists(t, c.disk.path(k))
		c.Invalidate("x")
	}
	c.Put(k, blockData(1, testBlockSize))
	c.flush()
	if !sawFile {
		t.Fatal("hook ran before the file was written")
	}
	if c.disk.has(k) || fileExists(t, c.disk.path(k)) {
		t.Fatal("a block written before Invalidate was kept on disk")
	}
	mustMiss(t, c, k)
	if n := c.numObjects(); n != 0 {
		t.Fatalf("object index holds %d objects", n)
	}
}

func TestDiskFailureDegradesToNoop(t *testing.T) {
	o := diskOptions(t)
	h := newCountingHandler()
	o.Logger = slog.New(h)
	c := newTestCache(t, o)
	// The directory disappears under the cache (unmounted, deleted).
	if err := os.RemoveAll(o.Dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.Dir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		c.Put(Key{"o", int64(i)}, blockData(i, testBlockSize))
		c.flush()
	}
	if !c.disk.failed.Load() {
		t.Fatal("disk tier still on after failed writes")
	}
	if n := h.count(slog.LevelError); n != 1 {
		t.Fatalf("%d errors logged, want exactly 1", n)
	}
	if s := c.Stats(); s.BytesDisk != 0 {
		t.Fatalf("BytesDisk = %d after failed writes", s.BytesDisk)
	}
	// The memory tier goes on working.
	mustGet(t, c, Key{"o", 3}, blockData(3, testBlockSize))
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestDiskSkipsBlocksItCannotHold(t *testing.T) {
	o := diskOptions(t)
	c := newTestCache(t, o)
	long := Key{Object: string(bytes.Repeat([]byte("k"), maxObjectLen+1)), Block: 0}
	c.Put(long, blockData(1, 10))
	c.flush()
	mustGet(t, c, long, blockData(1, 10)) // memory only
	if c.disk.has(long) || c.Stats().BytesDisk != 0 {
		t.Fatal("an identity longer than maxObjectLen went to disk")
	}
}
