package fs

import (
	"context"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ossfs/ossfs/spill"
)

// writeHandle is a file opened on its spill file: for writing, or for reading
// while another handle writes. Every handle of one file shares its wfile.
type writeHandle struct {
	node *fileNode
	w    *wfile

	mu      sync.Mutex
	changed bool // guarded by mu; this handle wrote or truncated since its last commit
}

var (
	_ = (fusefs.FileReader)((*writeHandle)(nil))
	_ = (fusefs.FileWriter)((*writeHandle)(nil))
	_ = (fusefs.FileFlusher)((*writeHandle)(nil))
	_ = (fusefs.FileFsyncer)((*writeHandle)(nil))
	_ = (fusefs.FileReleaser)((*writeHandle)(nil))
)

func (h *writeHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.w.file.ReadAt(ctx, dest, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, h.node.fs.errno("read", h.node.keyOf(), err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}

func (h *writeHandle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n, err := h.w.sum.write(off, data, func() (int, error) { return h.w.file.WriteAt(data, off) })
	if n > 0 || err == nil {
		h.w.wrote(off, n)
	}
	// Changed even when nothing landed: the close of a handle whose write
	// failed reports that failure.
	h.mu.Lock()
	h.changed = true
	h.mu.Unlock()
	if err != nil {
		h.w.fail(err)
		return uint32(n), h.node.fs.errno("write", h.node.keyOf(), err)
	}
	return uint32(n), 0
}

func (h *writeHandle) markChanged() {
	h.w.touch(time.Now())
	h.mu.Lock()
	h.changed = true
	h.mu.Unlock()
}

// Flush commits on close when this handle changed the file: close returns 0
// only once the object is finalized in APS. A handle that changed nothing
// uploads nothing.
func (h *writeHandle) Flush(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	changed := h.changed
	h.mu.Unlock()
	if !changed {
		return 0
	}
	if h.node.fs.opts.AsyncCommit {
		return h.stage()
	}
	return h.commit()
}

// commitErrno is what close and fsync answer for a failed commit: the local
// errnos of the spill disk as they are, every failure to reach or convince
// APS (throttled, timed out, refused, ...) as EIO, which is what programs
// expect of close(2) and fsync(2), never EAGAIN or EINTR.
func commitErrno(e syscall.Errno) syscall.Errno {
	switch e {
	case syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG, syscall.EROFS, syscall.EIO:
		return e
	}
	return syscall.EIO
}

// stage makes the changes a pending upload for the committer (AsyncCommit).
func (h *writeHandle) stage() syscall.Errno {
	if err := h.w.stage(h.node.fs.bg); err != nil {
		return commitErrno(h.node.fs.errno("commit", h.node.keyOf(), err))
	}
	h.mu.Lock()
	h.changed = false
	h.mu.Unlock()
	return 0
}

// Fsync commits whatever changed, from any handle.
func (h *writeHandle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.commit()
}

func (h *writeHandle) commit() syscall.Errno {
	// The mount's context: an interrupted close must not abandon an upload
	// half-way; a failure is kept as a pending upload anyway.
	err := h.w.commit(h.node.fs.bg)
	if err != nil {
		return commitErrno(h.node.fs.errno("commit", h.node.keyOf(), err))
	}
	h.mu.Lock()
	h.changed = false
	h.mu.Unlock()
	return 0
}

func (h *writeHandle) Release(ctx context.Context) syscall.Errno {
	h.w.release()
	return 0
}

// openWrite opens the file on its spill file: a new empty one for O_TRUNC,
// else one backed by the object's current version, fetched as it is read.
func (n *fileNode) openWrite(ctx context.Context, key string, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	f := n.fs
	if !f.writable() {
		return nil, 0, syscall.EROFS
	}
	trunc := flags&syscall.O_TRUNC != 0
	w, err := f.openW(key, trunc, func() (*spill.File, stamp, error) { return n.newSpill(ctx, key, trunc) })
	if err != nil {
		return nil, 0, f.errno("open", key, err)
	}
	w.setNode(n)
	h := &writeHandle{node: n, w: w}
	if trunc {
		h.changed = true
	}
	return h, 0, 0
}

// newSpill makes the spill file of an existing object: empty when it is to
// be truncated, else backed by the object's current version.
func (n *fileNode) newSpill(ctx context.Context, key string, empty bool) (*spill.File, stamp, error) {
	f := n.fs
	n.mu.Lock()
	o := n.obj
	n.mu.Unlock()
	st, _ := f.dates.get(o)
	if empty {
		file, err := f.spill.New()
		return file, st, err
	}
	r, err := f.engine.OpenFresh(ctx, f.opts.Bucket, key, f.opts.MetadataTTL)
	if err != nil {
		return nil, st, err
	}
	file, err := f.spill.OpenExisting(r.Size(), r)
	return file, st, err
}

// writingAttr fills out for a file being written: its spill file's size and
// the stamp its next commit stores.
func (f *FS) writingAttr(ino uint64, w *wfile, out *fuse.Attr) {
	_, st := w.snapshot()
	mode := f.opts.FileMode
	if st.mode != 0 {
		mode = st.mode
	}
	out.Ino = ino
	out.Mode = syscall.S_IFREG | mode
	out.Nlink = 1
	out.Size = uint64(w.file.Size())
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = statBlockSize
	f.setTimes(out, st.mtime)
	f.setOwner(out)
}
