package spill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sync"
)

// RangeReader reads the original object that an existing File stands for.
type RangeReader interface {
	// ReadAt reads len(p) bytes at off as io.ReaderAt does (fewer only with
	// an error), on behalf of ctx.
	ReadAt(ctx context.Context, p []byte, off int64) (int, error)
}

// File is the local copy of one object being written: a sparse data file in
// a Dir plus what is known of it (see the package documentation). It is safe
// for concurrent use by several handles.
type File struct {
	d        *Dir
	name     string                           // data file name in d
	data     *os.File                         // the bytes; closed by Close
	base     RangeReader                      // the original object; nil when there is none
	opts     Options                          // d's
	pwrite   func([]byte, int64) (int, error) // data.WriteAt; tests inject failures
	waitHook func()                           // tests: called when a reader starts waiting for another's fetch

	mu           sync.Mutex
	closed       bool             // guarded by mu
	broken       error            // guarded by mu: why the File can no longer be used (nil: it can)
	size         int64            // guarded by mu: logical size = data file length
	baseSize     int64            // guarded by mu: bytes below it not in present are the original's
	present      spanSet          // guarded by mu: bytes of [0, baseSize) held locally
	fills        []*fill          // guarded by mu: fetches from base in flight
	torn         spanSet          // guarded by mu: bytes of writes that failed
	tornErr      error            // guarded by mu: the first of those failures
	partSize     int64            // guarded by mu
	parts        []partState      // guarded by mu: parts 1..partCount(size)
	candidates   map[int]struct{} // guarded by mu: part indexes touched since last handed out
	clock        uint64           // guarded by mu: part generations are its values
	edits        uint64           // guarded by mu: counts changes of bytes or size
	dirty        bool             // guarded by mu: changed since the last commit
	staleSession bool             // guarded by mu: a part handed out this session was cut off
	pending      *pendingMeta     // guarded by mu: set while a sidecar makes this a pending upload
}

// New creates an empty File that stands for a new object (nothing remote).
// It is dirty: committing it creates the object, even empty.
func (d *Dir) New() (*File, error) {
	f, err := d.create(0, nil)
	if err != nil {
		return nil, err
	}
	f.dirty = true
	return f, nil
}

// OpenExisting creates a File that stands for an existing object of size
// bytes, unchanged so far: nothing is local yet, and bytes are fetched from
// base as they are needed.
func (d *Dir) OpenExisting(size int64, base RangeReader) (*File, error) {
	if size < 0 || (size > 0 && base == nil) {
		return nil, fmt.Errorf("spill: an existing object of %d bytes needs a base: %w", size, fs.ErrInvalid)
	}
	return d.create(size, base)
}

func (d *Dir) create(size int64, base RangeReader) (*File, error) {
	data, name, err := d.createData()
	if err != nil {
		return nil, err
	}
	if err := data.Truncate(size); err != nil {
		data.Close()
		d.remove(name)
		d.release(name)
		return nil, err
	}
	return d.newFile(data, name, size, partSizeFor(size, d.opts.PartSize), base), nil
}

// newFile wraps an open data file of size bytes, which are the original's
// when base is set, else all local.
func (d *Dir) newFile(data *os.File, name string, size, partSize int64, base RangeReader) *File {
	f := &File{
		d: d, name: name, data: data, base: base, opts: d.opts, pwrite: data.WriteAt,
		size: size, partSize: partSize,
		clock: 1, candidates: map[int]struct{}{},
	}
	if base != nil {
		f.baseSize = size
	}
	f.parts = make([]partState, partCount(size, f.partSize))
	for i := range f.parts {
		f.parts[i].gen = f.clock
	}
	return f
}

// Size returns the logical size.
func (f *File) Size() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.size
}

// Dirty reports whether the File changed since it was created from the
// object (OpenExisting) or last committed. New and pending Files start dirty.
func (f *File) Dirty() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dirty
}

// PartSize returns the size of every part but the last.
func (f *File) PartSize() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.partSize
}

// AllLocal reports whether every byte is in the data file (nothing is left
// to fetch from the original).
func (f *File) AllLocal() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.baseSize == 0
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt does: first it fetches
// from the original whatever of the range is not local, then it reads the
// data file.
func (f *File) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("spill: read at %d: %w", off, fs.ErrInvalid)
	}
	size, err := f.readSize()
	if err != nil || len(p) == 0 {
		return 0, err
	}
	if off >= size {
		return 0, io.EOF
	}
	end := off + min(int64(len(p)), size-off)
	if err := f.fill(ctx, off, end); err != nil {
		return 0, err
	}
	n, err := f.data.ReadAt(p[:end-off], off)
	if err == nil && n < len(p) {
		err = io.EOF
	}
	return n, err
}

func (f *File) readSize() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.size, f.usableLocked()
}

// WriteAt writes p at off, extending the File if needed (a gap reads as
// zeros). On an error, such as ENOSPC, it returns the bytes that landed,
// which count as written; the rest of p is torn (see PlanCommit).
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off > math.MaxInt64-int64(len(p)) {
		return 0, fmt.Errorf("spill: write at %d: %w", off, fs.ErrInvalid)
	}
	if len(p) == 0 {
		return 0, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usableLocked(); err != nil {
		return 0, err
	}
	n, err := 0, f.unsealLocked()
	if err == nil {
		n, err = f.pwrite(p, off)
	}
	if n > 0 {
		f.wroteLocked(off, off+int64(n))
	}
	if err != nil {
		f.failedWriteLocked(off+int64(n), off+int64(len(p)), err)
	}
	return n, err
}

// wroteLocked records that [lo, hi) holds new bytes.
func (f *File) wroteLocked(lo, hi int64) {
	f.clock++
	from := min(lo, f.size) // a gap up to lo is new zeros
	f.size = max(f.size, hi)
	f.resizePartsLocked()
	f.touchLocked(from, hi)
	f.present.add(lo, min(hi, f.baseSize))
	f.normalizeLocked()
	f.untearLocked(lo, hi)
	f.edits++
	f.dirty = true
}

// failedWriteLocked records that a write of [lo, hi) did not land, and
// makes sure it did not leave the data file longer than the File.
func (f *File) failedWriteLocked(lo, hi int64, err error) {
	f.torn.add(lo, hi)
	if f.tornErr == nil {
		f.tornErr = err
	}
	if hi > f.size {
		if terr := f.data.Truncate(f.size); terr != nil {
			f.broken = fmt.Errorf("spill: restoring the length after a failed write: %w", terr)
		}
	}
}

// Truncate sets the size: shrinking discards bytes (and the original's bytes
// past size for good), growing adds zeros. Bytes of failed writes at or past
// the new end, or the old end, are no longer torn.
func (f *File) Truncate(size int64) error {
	if size < 0 {
		return fmt.Errorf("spill: truncate to %d: %w", size, fs.ErrInvalid)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usableLocked(); err != nil {
		return err
	}
	if size == f.size {
		f.untearLocked(size, math.MaxInt64) // the writer settles the length
		return nil
	}
	if err := f.unsealLocked(); err != nil {
		return err
	}
	if err := f.data.Truncate(size); err != nil {
		return err
	}
	f.truncatedLocked(size)
	return nil
}

func (f *File) truncatedLocked(size int64) {
	f.clock++
	lo, hi := min(f.size, size), max(f.size, size)
	f.size = size
	if size < f.baseSize {
		f.baseSize = size
		f.present.remove(size, math.MaxInt64)
		f.normalizeLocked()
	}
	f.resizePartsLocked()
	f.touchLocked(lo, hi)
	f.untearLocked(lo, math.MaxInt64)
	f.edits++
	f.dirty = true
}

// normalizeLocked drops the record of the original once everything is local.
func (f *File) normalizeLocked() {
	if f.baseSize > 0 && f.present.covers(0, f.baseSize) {
		f.baseSize, f.present = 0, nil
	}
}

func (f *File) untearLocked(lo, hi int64) {
	f.torn.remove(lo, hi)
	if len(f.torn) == 0 {
		f.tornErr = nil
	}
}

func (f *File) usableLocked() error {
	if f.closed {
		return fs.ErrClosed
	}
	return f.broken
}

// Close releases the File. Its data file is deleted, unless the File is a
// pending upload (Persist), which stays for LoadPending. Sections of parts
// handed out become unreadable: wait for their uploads first.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closeLocked(f.pending == nil)
}

// Remove closes the File and deletes its data file and sidecar: the object's
// changes are abandoned (as when it is unlinked).
func (f *File) Remove() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if f.pending != nil {
		err, f.pending = f.d.remove(f.name+sidecarSuffix), nil
	}
	if f.closed {
		return errors.Join(err, f.d.remove(f.name))
	}
	return errors.Join(err, f.closeLocked(true))
}

func (f *File) closeLocked(removeData bool) error {
	if f.closed {
		return nil
	}
	f.closed = true
	err := f.data.Close()
	if removeData {
		err = errors.Join(err, f.d.remove(f.name))
	}
	f.d.release(f.name)
	return err
}
