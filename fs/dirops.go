package fs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/spill"
	"github.com/ossfs/ossfs/transfer"
)

var (
	_ = (fusefs.NodeCreater)((*dirNode)(nil))
	_ = (fusefs.NodeMkdirer)((*dirNode)(nil))
	_ = (fusefs.NodeUnlinker)((*dirNode)(nil))
	_ = (fusefs.NodeRmdirer)((*dirNode)(nil))
	_ = (fusefs.NodeLinker)((*dirNode)(nil))
	_ = (fusefs.NodeSymlinker)((*dirNode)(nil))
	_ = (fusefs.NodeMknoder)((*dirNode)(nil))
	_ = (fusefs.NodeSetattrer)((*dirNode)(nil))
	_ = (fusefs.NodeGetxattrer)((*dirNode)(nil))
	_ = (fusefs.NodeSetxattrer)((*dirNode)(nil))
)

// checkNewName answers the errno for a name that cannot become a key
// component: what splitKey would hide, and bytes that are not UTF-8 (APS
// keys are text). The kernel refuses names over 255 bytes itself.
func checkNewName(name string) syscall.Errno {
	switch {
	case len(name) > maxNameLen:
		return syscall.ENAMETOOLONG
	case !validName(name) || !utf8.ValidString(name):
		return syscall.EINVAL
	}
	return 0
}

// Create makes a new file: an empty spill file, committed as an object when
// the handle is closed (even if nothing was written).
func (d *dirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, fusefs.FileHandle, uint32, syscall.Errno) {
	f := d.fs
	if !f.writable() {
		return nil, nil, 0, syscall.EROFS
	}
	if errno := checkNewName(name); errno != 0 {
		return nil, nil, 0, errno
	}
	key := childKey(d.pfx(), name)
	st := stamp{mtime: time.Now(), mode: mode & 0o7777}
	w, err := f.openW(key, flags&syscall.O_TRUNC != 0, func() (*spill.File, stamp, error) {
		file, err := f.spill.New()
		return file, st, err
	})
	if err != nil {
		return nil, nil, 0, f.errno("create", key, err)
	}
	ino := f.inos.get(fileID(key))
	ch := d.NewInode(ctx, &fileNode{fs: f, key: key}, fusefs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
	fn := ch.Operations().(*fileNode)
	fn.renamed(key, oss.Object{Key: key})
	w.setNode(fn)
	fn.attr(&out.Attr)
	return ch, &writeHandle{node: fn, w: w, changed: true}, 0, 0
}

// Mkdir uploads the zero-byte marker "dir/" so that the empty directory
// persists.
func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	f := d.fs
	if !f.writable() {
		return nil, syscall.EROFS
	}
	if errno := checkNewName(name); errno != 0 {
		return nil, errno
	}
	prefix := childPrefix(d.pfx(), name)
	st := stamp{mtime: time.Now(), mode: mode & 0o7777}
	meta, _ := json.Marshal(st.userMeta())
	obj, err := f.engine.UploadFrom(ctx, f.opts.Bucket, prefix, bytes.NewReader(nil), 0, transfer.UploadOptions{UserMetadata: string(meta)})
	if err != nil {
		return nil, f.errno("mkdir", prefix, err)
	}
	obj.Key = prefix
	f.dates.set(*obj, st)
	f.ns.putDir(prefix, *obj)
	e := &entry{dir: true, marker: true, obj: *obj}
	return f.child(ctx, &d.Inode, d.pfx(), name, e, out), 0
}

// Unlink deletes the object. A file being written is abandoned: its open
// handles keep reading and writing their spill file, but nothing is committed.
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	f := d.fs
	if !f.writable() {
		return syscall.EROFS
	}
	key := childKey(d.pfx(), name)
	// The file being written, held before the lookup: a background commit
	// that ends meanwhile is in the namespace before its file is forgotten.
	w := f.holdW(key)
	if w != nil {
		defer w.release()
	}
	e, err := f.ns.lookup(ctx, d.pfx(), name)
	if err != nil {
		return f.errno("unlink", key, err)
	}
	if e != nil && e.dir {
		return syscall.EISDIR
	}
	if e == nil && w == nil {
		return syscall.ENOENT
	}
	if w != nil {
		// A commit in flight lands before the delete, never after it.
		w.commitMu.Lock()
		w.unlink()
		w.commitMu.Unlock()
	}
	if err := f.client.DeleteObject(ctx, f.opts.Bucket, key); err != nil && !errors.Is(err, oss.ErrNotFound) {
		return f.errno("unlink", key, err)
	}
	f.engine.Forget(f.opts.Bucket, key)
	if e != nil {
		f.dates.forget(e.obj)
	}
	f.ns.removeFile(key)
	return 0
}

// Rmdir removes an empty directory: ENOTEMPTY while any key lives below its
// prefix (one listing call of at most two keys), else its marker is deleted.
func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	f := d.fs
	if !f.writable() {
		return syscall.EROFS
	}
	prefix := childPrefix(d.pfx(), name)
	if f.writingBelow(prefix) {
		return syscall.ENOTEMPTY
	}
	page, err := f.client.ListObjectsPage(ctx, f.opts.Bucket, oss.ListOptions{BeginsWith: prefix, Limit: 2}, "")
	if err != nil {
		return f.errno("rmdir", prefix, err)
	}
	marker := false
	for _, o := range page.Items {
		if o.Key != prefix {
			return syscall.ENOTEMPTY
		}
		marker = true
	}
	if marker {
		if err := f.client.DeleteObject(ctx, f.opts.Bucket, prefix); err != nil && !errors.Is(err, oss.ErrNotFound) {
			return f.errno("rmdir", prefix, err)
		}
	}
	f.ns.removeDir(prefix)
	return 0
}

// writingBelow reports whether a file below prefix is being written.
func (f *FS) writingBelow(prefix string) bool {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	for k := range f.wfiles {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// writingIn returns the names of the files being written directly in prefix.
func (f *FS) writingIn(prefix string) []string {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	var names []string
	for k := range f.wfiles {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" && !strings.Contains(rest, "/") {
			names = append(names, rest)
		}
	}
	return names
}

// Link: APS has no hard links.
func (d *dirNode) Link(ctx context.Context, target fusefs.InodeEmbedder, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Symlink: APS has no symbolic links.
func (d *dirNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Mknod: only regular files (through Create) can be stored.
func (d *dirNode) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Setattr of a directory: mtime and mode are kept for its marker (in the
// stamp log, like a file's); a directory without a marker has nowhere to keep
// them and shows the mount's start and the default mode whatever is set. Only
// the mount's own owner is accepted; a size is EISDIR.
func (d *dirNode) Setattr(ctx context.Context, fh fusefs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	f := d.fs
	if !f.writable() {
		return syscall.EROFS
	}
	if errno := f.checkOwner(in); errno != 0 {
		return errno
	}
	if _, ok := in.GetSize(); ok {
		return syscall.EISDIR
	}
	mtime, hasMtime := in.GetMTime()
	mode, hasMode := in.GetMode()
	if e := d.markerEntry(); e != nil && e.marker && (hasMtime || hasMode) {
		st, _ := f.dates.get(e.obj)
		if hasMtime {
			st.mtime = mtime
		}
		if hasMode {
			st.mode = mode & 0o7777
		}
		if err := f.dates.keep(e.obj, st); err != nil {
			f.log.Error("a stamp is kept in memory only", "op", "setattr", "key", d.pfx(), "err", err)
		}
	}
	f.dirAttr(d.StableAttr().Ino, d.markerEntry(), &out.Attr)
	return 0
}

func (d *dirNode) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENOTSUP
}

func (d *dirNode) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	return syscall.ENOTSUP
}
