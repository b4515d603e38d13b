package fs

import (
	"context"
	"slices"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ossfs/ossfs/oss"
)

// fileNode is a file: one object key.
type fileNode struct {
	fusefs.Inode
	fs *FS

	mu     sync.Mutex
	key    string     // guarded by mu; changes on rename
	obj    oss.Object // guarded by mu; the version last seen (listing, lookup or open)
	opened string     // guarded by mu; cache identity of the version last opened
}

var (
	_ = (fusefs.NodeGetattrer)((*fileNode)(nil))
	_ = (fusefs.NodeOpener)((*fileNode)(nil))
	_ = (fusefs.NodeSetattrer)((*fileNode)(nil))
	_ = (fusefs.NodeGetxattrer)((*fileNode)(nil))
	_ = (fusefs.NodeSetxattrer)((*fileNode)(nil))
)

// keyOf returns the node's current key.
func (n *fileNode) keyOf() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.key
}

// renamed records the node's new key and its version there.
func (n *fileNode) renamed(key string, o oss.Object) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.key, n.obj = key, o
}

// seen records the version a listing or lookup saw.
func (n *fileNode) seen(o oss.Object) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.obj = o
}

// forgetChanges tells the kernel that the changes written to the file are
// gone (its spill file was abandoned after a failed write): a file never
// committed disappears from its directory, another shows its last committed
// version again. Called without locks, outside the handling of a request on
// this file's directory.
func (n *fileNode) forgetChanges() {
	n.mu.Lock()
	committed := n.obj.SHA1 != ""
	n.mu.Unlock()
	n.NotifyContent(0, 0) // attributes and page cache
	if committed {
		return
	}
	if name, parent := n.Parent(); parent != nil {
		parent.NotifyEntry(name)
	}
}

func (n *fileNode) attr(out *fuse.Attr) {
	n.mu.Lock()
	o, key := n.obj, n.key
	n.mu.Unlock()
	if w := n.fs.wfileOf(key); w != nil {
		n.fs.writingAttr(n.StableAttr().Ino, w, out)
		return
	}
	n.fs.fileAttr(n.StableAttr().Ino, o, out)
}

func (n *fileNode) Getattr(ctx context.Context, fh fusefs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.attr(&out.Attr)
	return 0
}

// Open opens the object's current version for reading: what the mount knows of
// it may be at most the metadata TTL old, so a change made elsewhere is seen by
// the next open after the TTL, and never mixed into an open handle. The kernel
// keeps its page cache across opens while the version is unchanged.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	key := n.keyOf()
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return n.openWrite(ctx, key, flags)
	}
	if w := n.fs.holdW(key); w != nil {
		// Read while writing: the spill file holds the newest bytes.
		return &writeHandle{node: n, w: w}, 0, 0
	}
	n.primeSiblings(ctx)
	r, err := n.fs.engine.OpenFresh(ctx, n.fs.opts.Bucket, key, n.fs.opts.MetadataTTL)
	if err != nil {
		return nil, 0, n.fs.errno("open", key, err)
	}
	id := r.Identity()
	ident := identity(n.fs.opts.Bucket, key, id.Size, id.SHA1)
	n.mu.Lock()
	keep := n.opened == ident
	n.opened = ident
	if n.obj.Size != id.Size || n.obj.SHA1 != id.SHA1 {
		n.obj.Size, n.obj.SHA1 = id.Size, id.SHA1
	}
	n.mu.Unlock()
	var fuseFlags uint32
	if keep {
		fuseFlags |= fuse.FOPEN_KEEP_CACHE
	}
	return &readHandle{node: n, br: newBlockReader(n.fs.blocks, r, ident)}, fuseFlags, 0
}

// primeBatch is how many objects one batchsigneds3download asks for.
const primeBatch = 25

// primeSiblings fetches, with one batch call, download URLs for this file and
// the files after it in its folder that have none, when the folder's listing is
// fresh: `cat dir/*` or `grep -r` over many small files then costs a
// twenty-fifth of a call per file instead of one.
func (n *fileNode) primeSiblings(ctx context.Context) {
	f := n.fs
	key := n.keyOf()
	if f.engine.HasURL(f.opts.Bucket, key, f.opts.MetadataTTL) {
		return
	}
	prefix, name := splitKeyName(key)
	l := f.ns.fresh(prefix)
	if l == nil {
		return
	}
	keys := []string{key}
	names := l.names()
	i, _ := slices.BinarySearch(names, name)
	for _, sib := range names[min(i+1, len(names)):] {
		if len(keys) == primeBatch {
			break
		}
		k := childKey(prefix, sib)
		if e := l.entries[sib]; !e.dir && !f.engine.HasURL(f.opts.Bucket, k, f.opts.MetadataTTL) {
			keys = append(keys, k)
		}
	}
	if len(keys) > 1 {
		if err := f.engine.Prime(ctx, f.opts.Bucket, keys); err != nil {
			f.log.Debug("batch URL fetch failed; files open one by one", "op", "open", "key", key, "err", err)
		}
	}
}
