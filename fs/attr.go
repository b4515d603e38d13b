package fs

import (
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ossfs/ossfs/oss"
)

// statBlockSize is the block size reported to stat.
const statBlockSize = 4096

// fileAttr fills out for a file holding o: size from the listing, mtime and mode
// from what the mount knows of this version (the Unix epoch until then; the
// date filler is asked for it).
func (f *FS) fileAttr(ino uint64, o oss.Object, out *fuse.Attr) {
	st, ok := f.dates.get(o)
	if !ok {
		f.filler.want(o)
	}
	mode := f.opts.FileMode
	if st.mode != 0 {
		mode = st.mode
	}
	if f.opts.ReadOnly {
		mode &^= 0o222
	}
	out.Ino = ino
	out.Mode = syscall.S_IFREG | mode
	out.Nlink = 1
	out.Size = uint64(o.Size)
	out.Blocks = (out.Size + 511) / 512
	out.Blksize = statBlockSize
	f.setTimes(out, st.mtime)
	f.setOwner(out)
}

// dirAttr fills out for a directory: its marker's stamp if it has one, else the
// mount's start.
func (f *FS) dirAttr(ino uint64, e *entry, out *fuse.Attr) {
	mtime, mode := f.started, f.opts.DirMode
	if e != nil && e.marker {
		if st, ok := f.dates.get(e.obj); ok {
			mtime = st.mtime
			if st.mode != 0 {
				mode = st.mode
			}
		}
	}
	if f.opts.ReadOnly {
		mode &^= 0o222
	}
	out.Ino = ino
	out.Mode = syscall.S_IFDIR | mode
	out.Nlink = 2
	out.Blksize = statBlockSize
	f.setTimes(out, mtime)
	f.setOwner(out)
}

func (f *FS) setTimes(out *fuse.Attr, t time.Time) {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	out.SetTimes(&t, &t, &t)
}

func (f *FS) setOwner(out *fuse.Attr) {
	out.Uid, out.Gid = f.opts.UID, f.opts.GID
}
