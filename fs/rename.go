package fs

import (
	"context"
	"errors"
	"strings"
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
// moves with it. An existing target file is replaced. A directory of up to
// RenameDirLimit objects is copied and deleted key by key; beyond it, rename
// answers EXDEV, so that mv copies and deletes it file by file.
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
	from, to := childKey(d.pfx(), name), childKey(np.pfx(), newName)
	// Hold the file being written, if any, so that a release of its last
	// handle cannot close it while the rename runs. Before the lookup: a
	// background commit that ends meanwhile is in the namespace before its
	// file is forgotten, so the file is found one way or the other.
	w := f.holdW(from)
	if w != nil {
		defer w.release()
	}
	e, err := f.ns.lookup(ctx, d.pfx(), name)
	if err != nil {
		return f.errno("rename", from, err)
	}
	switch {
	case e == nil && w == nil:
		return syscall.ENOENT
	case e != nil && e.dir:
		return d.renameDir(ctx, name, np, newName, flags)
	}
	target, err := f.ns.lookup(ctx, np.pfx(), newName)
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
	if e == nil && w != nil {
		// Committed in the background since the caller's lookup.
		p, name := splitKeyName(from)
		var err error
		if e, err = f.ns.lookup(ctx, p, name); err != nil {
			return oss.Object{}, f.errno("rename", from, err)
		}
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
	f.dates.forget(e.obj)
	f.ns.removeFile(from)
	return *obj, 0
}

// rekey moves a file being written to another key; a pending upload's
// sidecar is rewritten with it.
func (f *FS) rekey(w *wfile, from, to string) {
	f.wmu.Lock()
	if f.wfiles[from] != w { // unlinked meanwhile: nothing to move
		f.wmu.Unlock()
		return
	}
	delete(f.wfiles, from)
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

// errTooMany stops a listing that went past the rename limit.
var errTooMany = errors.New("more objects than the rename limit")

// renameDir copies every key below the directory's prefix to the new prefix,
// then deletes the old keys, and moves the nodes the kernel knows below it.
// A directory with files being written answers EBUSY, one over the limit
// EXDEV, a non-empty target ENOTEMPTY.
func (d *dirNode) renameDir(ctx context.Context, name string, np *dirNode, newName string, flags uint32) syscall.Errno {
	f := d.fs
	from, to := childPrefix(d.pfx(), name), childPrefix(np.pfx(), newName)
	if f.opts.RenameDirLimit < 0 {
		return syscall.EXDEV
	}
	if strings.HasPrefix(to, from) {
		return syscall.EINVAL
	}
	if f.writingBelow(from) || f.writingBelow(to) {
		return syscall.EBUSY
	}
	target, err := f.ns.lookup(ctx, np.pfx(), newName)
	if err != nil {
		return f.errno("rename", to, err)
	}
	switch {
	case target != nil && flags&renameNoReplace != 0:
		return syscall.EEXIST
	case target != nil && !target.dir:
		return syscall.ENOTDIR
	}
	var objs []oss.Object
	err = f.client.ListObjectsFunc(ctx, f.opts.Bucket, oss.ListOptions{BeginsWith: from}, func(o oss.Object) error {
		if len(objs) == f.opts.RenameDirLimit {
			return errTooMany
		}
		objs = append(objs, o)
		return nil
	})
	if errors.Is(err, errTooMany) {
		return syscall.EXDEV
	}
	if err != nil {
		return f.errno("rename", from, err)
	}
	if target != nil {
		if errno := f.checkEmpty(ctx, to); errno != 0 {
			return errno
		}
	}
	for _, o := range objs {
		nk := to + strings.TrimPrefix(o.Key, from)
		no, err := f.client.CopyObject(ctx, f.opts.Bucket, o.Key, nk)
		if err != nil {
			return f.errno("rename", o.Key, err) // the source is whole; copies made so far stay
		}
		no.Key = nk
		f.engine.Forget(f.opts.Bucket, nk)
		if st, ok := f.dates.get(o); ok {
			if err := f.dates.keep(*no, st); err != nil {
				f.log.Error("a stamp is kept in memory only", "op", "rename", "key", nk, "err", err)
			}
		}
	}
	for _, o := range objs {
		if err := f.client.DeleteObject(ctx, f.opts.Bucket, o.Key); err != nil && !errors.Is(err, oss.ErrNotFound) {
			return f.errno("rename", o.Key, err)
		}
		f.engine.Forget(f.opts.Bucket, o.Key)
		f.dates.forget(o)
	}
	f.ns.removeDir(from)
	f.ns.removeDir(to)
	f.ns.invalidate(np.pfx())
	if ch := d.GetChild(name); ch != nil {
		f.retarget(ch, from, to)
	}
	return 0
}

// checkEmpty answers ENOTEMPTY when any key but the marker lives below prefix.
func (f *FS) checkEmpty(ctx context.Context, prefix string) syscall.Errno {
	page, err := f.client.ListObjectsPage(ctx, f.opts.Bucket, oss.ListOptions{BeginsWith: prefix, Limit: 2}, "")
	if err != nil {
		return f.errno("rename", prefix, err)
	}
	for _, o := range page.Items {
		if o.Key != prefix {
			return syscall.ENOTEMPTY
		}
	}
	return 0
}

// retarget moves the nodes below a renamed directory from the prefix from to
// the prefix to, with their inode numbers.
func (f *FS) retarget(in *fusefs.Inode, from, to string) {
	switch n := in.Operations().(type) {
	case *dirNode:
		old := n.pfx()
		np := to + strings.TrimPrefix(old, from)
		n.setPrefix(np)
		f.inos.move(dirID(old), dirID(np))
	case *fileNode:
		n.mu.Lock()
		old := n.key
		n.key = to + strings.TrimPrefix(old, from)
		n.obj.Key = n.key
		nk := n.key
		n.mu.Unlock()
		f.inos.move(fileID(old), fileID(nk))
	}
	for _, ch := range in.Children() {
		f.retarget(ch, from, to)
	}
}
