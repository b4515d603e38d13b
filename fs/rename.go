package fs

import (
	"context"
	"errors"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"

	"github.com/ossfs/ossfs/oss"
)

var _ = (fusefs.NodeRenamer)((*dirNode)(nil))

// renameNoReplace is renameat2's RENAME_NOREPLACE.
const renameNoReplace = 0x1

// Rename moves a file. A file with changes not committed yet moves locally:
// its next commit goes to the new key (and the old object, if any, is
// deleted). A committed object is copied (copyto) and deleted; its stamp
// moves with it. An existing target file is replaced. Directories answer
// EXDEV, so that mv copies and deletes them file by file.
func (d *dirNode) Rename(ctx context.Context, name string, newParent fusefs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	f := d.fs
	if !f.writable() {
		return syscall.EROFS
	}
	np, ok := newParent.(*dirNode)
	if !ok || flags&^renameNoReplace != 0 {
		return syscall.EINVAL // RENAME_EXCHANGE and RENAME_WHITEOUT are not supported
	}
	if errno := checkNewName(newName); errno != 0 {
		return errno
	}
	from, to := childKey(d.prefix, name), childKey(np.prefix, newName)
	e, err := f.ns.lookup(ctx, d.prefix, name)
	if err != nil {
		return f.errno("rename", from, err)
	}
	w := f.wfileOf(from)
	switch {
	case e == nil && w == nil:
		return syscall.ENOENT
	case e != nil && e.dir:
		return syscall.EXDEV
	}
	target, err := f.ns.lookup(ctx, np.prefix, newName)
	if err != nil {
		return f.errno("rename", to, err)
	}
	if target != nil && target.dir {
		return syscall.EISDIR
	}
	if flags&renameNoReplace != 0 && (target != nil || f.wfileOf(to) != nil) {
		return syscall.EEXIST
	}
	obj, errno := f.renameFile(ctx, from, to, e, w)
	if errno != 0 {
		return errno
	}
	f.inos.move(fileID(from), fileID(to))
	if ch := d.GetChild(name); ch != nil {
		if fn, ok := ch.Operations().(*fileNode); ok {
			fn.renamed(to, obj)
		}
	}
	return 0
}

// renameFile moves the file at from (its entry e, its wfile w; either may be
// nil) to to and returns the object it is there (zero while not committed).
func (f *FS) renameFile(ctx context.Context, from, to string, e *entry, w *wfile) (oss.Object, syscall.Errno) {
	if old := f.wfileOf(to); old != nil {
		old.unlink() // the target's uncommitted changes are replaced
	}
	if w != nil {
		// No commit of w may run meanwhile: it would land at from after
		// from is deleted, or leave w clean with nothing at to.
		w.commitMu.Lock()
		defer w.commitMu.Unlock()
	}
	if w != nil && w.file.Dirty() {
		f.rekey(w, from, to)
		if e != nil {
			if err := f.client.DeleteObject(ctx, f.opts.Bucket, from); err != nil && !errors.Is(err, oss.ErrNotFound) {
				return oss.Object{}, f.errno("rename", from, err)
			}
			f.engine.Forget(f.opts.Bucket, from)
			f.ns.removeFile(from)
		}
		return oss.Object{Key: to}, 0
	}
	if e == nil {
		return oss.Object{}, syscall.ENOENT
	}
	obj, err := f.client.CopyObject(ctx, f.opts.Bucket, from, to)
	if err != nil {
		return oss.Object{}, f.errno("rename", from, err)
	}
	obj.Key = to
	f.engine.Forget(f.opts.Bucket, to)
	if st, ok := f.dates.get(e.obj); ok {
		// copyto keeps the user metadata of the commit, not a stamp set since.
		if err := f.dates.keep(*obj, st); err != nil {
			f.log.Error("a stamp is kept in memory only", "op", "rename", "key", to, "err", err)
		}
	}
	f.ns.putFile(to, *obj)
	if w != nil {
		f.rekey(w, from, to)
	}
	if err := f.client.DeleteObject(ctx, f.opts.Bucket, from); err != nil && !errors.Is(err, oss.ErrNotFound) {
		return oss.Object{}, f.errno("rename", from, err)
	}
	f.engine.Forget(f.opts.Bucket, from)
	f.ns.removeFile(from)
	return *obj, 0
}

// rekey moves a file being written to another key; a pending upload's
// sidecar is rewritten with it.
func (f *FS) rekey(w *wfile, from, to string) {
	f.wmu.Lock()
	if f.wfiles[from] == w {
		delete(f.wfiles, from)
	}
	f.wfiles[to] = w
	w.mu.Lock()
	w.key = to
	pending := w.pending
	w.mu.Unlock()
	f.wmu.Unlock()
	w.dropSession() // a session belongs to its key
	if pending {
		w.persist()
	}
}
