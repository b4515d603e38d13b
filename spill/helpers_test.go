package spill

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"
)

// testDir opens a spill Dir under a fresh temporary directory with parts of
// partSize bytes (below the S3 minimum, which only Validate enforces, so the
// logic can be exercised with small files) and fetches of up to fillChunk.
func testDir(t *testing.T, partSize, fillChunk int64) *Dir {
	t.Helper()
	d, err := OpenDir(filepath.Join(t.TempDir(), "spill"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.opts.PartSize, d.opts.FillChunk = partSize, fillChunk
	t.Cleanup(func() { d.Close() })
	return d
}

// patternByte is byte i of the computable original object of seed.
func patternByte(seed, i int64) byte {
	return byte(i*7+i>>8*13+i>>16*29) ^ byte(seed*101)
}

func pattern(seed, off, n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = patternByte(seed, off+int64(i))
	}
	return b
}

// patternBase is an original object, of computable bytes unless it stands
// for a committed model, that counts and records what is fetched from it.
type patternBase struct {
	content []byte
	hook    func(ctx context.Context, call int, off int64) error // before each read; nil: none

	mu      sync.Mutex
	calls   int     // guarded by mu
	bytes   int64   // guarded by mu
	fetched spanSet // guarded by mu
	twice   bool    // guarded by mu: a byte was fetched again
	limit   int64   // guarded by mu: fetching at or past it is a failure (-1: no limit)
	beyond  bool    // guarded by mu: something was
}

func newPatternBase(seed, size int64) *patternBase {
	return &patternBase{content: pattern(seed, 0, size), limit: -1}
}

func (b *patternBase) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	b.mu.Lock()
	b.calls++
	call := b.calls
	b.mu.Unlock()
	if b.hook != nil {
		if err := b.hook(ctx, call, off); err != nil {
			return 0, err
		}
	}
	n := max(0, min(int64(len(p)), int64(len(b.content))-off))
	copy(p, b.content[off:off+n])
	b.record(off, off+n)
	if n < int64(len(p)) {
		return int(n), io.EOF
	}
	return int(n), nil
}

func (b *patternBase) record(lo, hi int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bytes += hi - lo
	var gap int64
	for _, g := range b.fetched.gaps(lo, hi) {
		gap += g.hi - g.lo
	}
	b.twice = b.twice || gap != hi-lo
	b.beyond = b.beyond || (b.limit >= 0 && hi > b.limit)
	b.fetched.add(lo, hi)
}

func (b *patternBase) stats() (calls int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls, b.bytes
}

// readAll reads the whole File through ReadAt.
func readAll(t *testing.T, f *File) []byte {
	t.Helper()
	buf := make([]byte, f.Size()+10)
	n, err := f.ReadAt(context.Background(), buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt: %v", err)
	}
	return buf[:n]
}

func checkContent(t *testing.T, f *File, want []byte) {
	t.Helper()
	if got := readAll(t, f); !bytes.Equal(got, want) {
		t.Fatalf("content differs: got %d bytes, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// partBytes reads a handed-out part as a put would.
func partBytes(t *testing.T, p Part) []byte {
	t.Helper()
	b, err := io.ReadAll(p.Section)
	if err != nil {
		t.Fatalf("part %d: %v", p.Number, err)
	}
	return b
}

func mustWrite(t *testing.T, f *File, p []byte, off int64) {
	t.Helper()
	if n, err := f.WriteAt(p, off); err != nil || n != len(p) {
		t.Fatalf("WriteAt(%d bytes at %d) = %d, %v", len(p), off, n, err)
	}
}
