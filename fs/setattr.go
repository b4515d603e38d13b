package fs

import (
	"context"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ossfs/ossfs/spill"
)

// Setattr changes size (truncate), mtime and mode, and accepts the mount's own
// owner. A size change of a file open for writing changes its spill file and
// is committed when the handle that made it closes; one made by path
// (truncate(2)) is committed before Setattr returns. mtime and mode go into
// the next commit's user metadata; for a file with nothing to commit they are
// kept by the mount for the current version (see dateStore).
func (n *fileNode) Setattr(ctx context.Context, fh fusefs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	f := n.fs
	if !f.writable() {
		return syscall.EROFS
	}
	if errno := f.checkOwner(in); errno != 0 {
		return errno
	}
	key := n.keyOf()
	if size, ok := in.GetSize(); ok {
		h, _ := fh.(*writeHandle)
		if errno := n.truncate(key, h, int64(size)); errno != 0 {
			return errno
		}
	}
	mtime, hasMtime := in.GetMTime()
	mode, hasMode := in.GetMode()
	if hasMtime || hasMode {
		n.setStamp(key, func(st *stamp) {
			if hasMtime {
				st.mtime = mtime
			}
			if hasMode {
				st.mode = mode & 0o7777
			}
		})
	}
	n.attr(&out.Attr)
	return 0
}

// truncate sets the size of the file: through the handle h when it is a
// write handle, else by path, committed at once.
func (n *fileNode) truncate(key string, h *writeHandle, size int64) syscall.Errno {
	f := n.fs
	if h != nil {
		if err := h.w.file.Truncate(size); err != nil {
			h.w.fail(err)
			return f.errno("truncate", key, err)
		}
		if size == 0 {
			h.w.emptied()
		}
		h.w.sum.truncated(size)
		h.markChanged()
		return 0
	}
	w, err := f.openW(key, false, func() (*spill.File, stamp, error) {
		return n.newSpill(f.bg, key, size == 0)
	})
	if err != nil {
		return f.errno("truncate", key, err)
	}
	defer w.release()
	w.setNode(n)
	if err := w.file.Truncate(size); err != nil {
		w.fail(err)
		return f.errno("truncate", key, err)
	}
	if size == 0 {
		w.emptied()
	}
	w.sum.truncated(size)
	w.touch(time.Now())
	if err := w.commit(f.bg); err != nil {
		return commitErrno(f.errno("truncate", key, err))
	}
	return 0
}

// setStamp changes the mtime or mode of the file: in the next commit when it
// has changes to commit, else for its current version.
func (n *fileNode) setStamp(key string, change func(*stamp)) {
	f := n.fs
	if w := f.holdW(key); w != nil {
		defer w.release()
		w.mu.Lock()
		change(&w.st)
		w.mu.Unlock()
		if w.file.Dirty() {
			return
		}
	}
	n.mu.Lock()
	o := n.obj
	n.mu.Unlock()
	st, ok := f.dates.get(o)
	if !ok {
		st.mtime = o.LastModifiedDate
	}
	change(&st)
	if err := f.dates.keep(o, st); err != nil {
		f.log.Error("a stamp set through the mount is kept in memory only", "op", "setattr", "key", key, "err", err)
	}
}

// Getxattr: ossfs stores no extended attributes.
func (n *fileNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOTSUP
}

// Setxattr: extended attributes cannot be stored, so they are refused.
func (n *fileNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}

// checkOwner accepts a chown only to the mount's own uid and gid (EPERM else):
// the bucket stores no owners.
func (f *FS) checkOwner(in *fuse.SetAttrIn) syscall.Errno {
	if uid, ok := in.GetUID(); ok && uid != f.opts.UID {
		return syscall.EPERM
	}
	if gid, ok := in.GetGID(); ok && gid != f.opts.GID {
		return syscall.EPERM
	}
	return 0
}
