package fs

import (
	"context"
	"slices"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirNode is a directory: a key prefix ("" for the root, else "a/b/").
type dirNode struct {
	fusefs.Inode
	fs *FS

	mu     sync.Mutex
	prefix string // guarded by mu; changes when the directory or one above it is renamed
}

// pfx returns the directory's current prefix.
func (d *dirNode) pfx() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.prefix
}

func (d *dirNode) setPrefix(p string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prefix = p
}

var (
	_ = (fusefs.NodeLookuper)((*dirNode)(nil))
	_ = (fusefs.NodeReaddirer)((*dirNode)(nil))
	_ = (fusefs.NodeGetattrer)((*dirNode)(nil))
	_ = (fusefs.NodeStatfser)((*dirNode)(nil))
)

// Lookup answers from a fresh listing of this directory when there is one, else
// with at most two calls (see namespace.lookup).
func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	if key := childKey(d.pfx(), name); d.fs.wfileOf(key) != nil {
		return d.fs.writingChild(ctx, &d.Inode, key, out), 0
	}
	e, err := d.fs.ns.lookup(ctx, d.pfx(), name)
	if err != nil {
		return nil, d.fs.errno("lookup", childKey(d.pfx(), name), err)
	}
	if e == nil {
		return nil, syscall.ENOENT
	}
	return d.fs.child(ctx, &d.Inode, d.pfx(), name, e, out), 0
}

// Readdir lists the directory from a listing younger than the metadata TTL; the
// kernel's readdirplus then looks up each entry, which the same listing answers.
func (d *dirNode) Readdir(ctx context.Context) (fusefs.DirStream, syscall.Errno) {
	l, err := d.fs.ns.list(ctx, d.pfx())
	if err != nil {
		return nil, d.fs.errno("readdir", d.pfx(), err)
	}
	d.fs.fillDates(ctx, l)
	names := l.names()
	for _, name := range d.fs.writingIn(d.pfx()) {
		if l.entries[name] == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	entries := make([]fuse.DirEntry, 0, len(names))
	for _, name := range names {
		e := l.entries[name]
		de := fuse.DirEntry{Name: name, Mode: syscall.S_IFREG, Ino: d.fs.inos.get(fileID(childKey(d.pfx(), name)))}
		if e != nil && e.dir {
			de.Mode, de.Ino = syscall.S_IFDIR, d.fs.inos.get(dirID(childPrefix(d.pfx(), name)))
		}
		entries = append(entries, de)
	}
	return fusefs.NewListDirStream(entries), 0
}

func (d *dirNode) Getattr(ctx context.Context, fh fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.fs.dirAttr(d.StableAttr().Ino, d.markerEntry(), &out.Attr)
	return 0
}

// markerEntry is this directory's entry in its parent's fresh listing, if any.
func (d *dirNode) markerEntry() *entry {
	if d.pfx() == "" {
		return nil
	}
	parent, name := splitPrefix(d.pfx())
	if l := d.fs.ns.fresh(parent); l != nil {
		return l.entries[name]
	}
	return nil
}

// Statfs answers with a large, mostly free file system: a bucket has no size limit.
func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	const blocks = 1 << 40 // 4 PiB of 4 KiB blocks
	out.Bsize, out.Frsize = statBlockSize, statBlockSize
	out.Blocks, out.Bfree, out.Bavail = blocks, blocks, blocks
	out.Files, out.Ffree = 1<<40, 1<<40
	out.NameLen = maxNameLen
	return 0
}

// child returns the inode of entry name of the directory prefix and fills out.
// Inode numbers are stable per path, so go-fuse hands back the existing inode
// when the kernel still knows it; a file's node then learns the object anew.
func (f *FS) child(ctx context.Context, parent *fusefs.Inode, prefix, name string, e *entry, out *fuse.EntryOut) *fusefs.Inode {
	if e.dir {
		p := childPrefix(prefix, name)
		ino := f.inos.get(dirID(p))
		f.dirAttr(ino, e, &out.Attr)
		return parent.NewInode(ctx, &dirNode{fs: f, prefix: p}, fusefs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
	}
	key := childKey(prefix, name)
	ino := f.inos.get(fileID(key))
	ch := parent.NewInode(ctx, &fileNode{fs: f, key: key}, fusefs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
	fn := ch.Operations().(*fileNode)
	fn.seen(e.obj)
	fn.attr(&out.Attr)
	return ch
}

// writingChild returns the inode of a file being written that may not exist
// in APS yet, and fills out from its spill file.
func (f *FS) writingChild(ctx context.Context, parent *fusefs.Inode, key string, out *fuse.EntryOut) *fusefs.Inode {
	ino := f.inos.get(fileID(key))
	ch := parent.NewInode(ctx, &fileNode{fs: f, key: key}, fusefs.StableAttr{Mode: syscall.S_IFREG, Ino: ino})
	ch.Operations().(*fileNode).attr(&out.Attr)
	return ch
}

// splitPrefix splits "a/b/" into "a/" and "b".
func splitPrefix(prefix string) (parent, name string) {
	p := prefix[:len(prefix)-1]
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i+1], p[i+1:]
		}
	}
	return "", p
}
