// Command loopback is a limit of the benchmark's mount workloads: go-fuse's
// loopback file system (fs.NewLoopbackRoot) over a local folder, mounted
// read-only with the options ossfs mounts with (1 MiB MaxWrite and
// MaxReadAhead, mount(2) directly, the metadata TTL as entry and attribute
// timeouts) and with FUSE passthrough switched off, so that every read the
// kernel does not serve from its page cache goes through this daemon, as it
// does through ossfs.
//
// Passthrough is off twice over: the FUSE_PASSTHROUGH capability is refused at
// INIT (MountOptions.DisabledCapabilities), and the file handles it returns do
// not implement fs.FilePassthroughFder, which is how go-fuse's loopback offers
// its backing file descriptor to the kernel. Reads are otherwise go-fuse's
// loopback reads: a pread of the backing file, spliced to /dev/fuse where the
// kernel allows it.
//
//	loopback [-ttl D] SRC MOUNTPOINT
//
// It prints "loopback: SRC mounted at MOUNTPOINT" when ready, serves until
// SIGINT or SIGTERM (then unmounts; lazily if files are open), and prints
// {"reads":N,"readBytes":B} on stderr as it exits: the reads it served, so
// the benchmark can check that the kernel did not bypass it.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

func main() {
	ttl := flag.Duration("ttl", time.Minute, "entry and attribute timeout (ossfs: --metadata-ttl)")
	debug := flag.Bool("debug", false, "log every FUSE request")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "Usage: loopback [-ttl D] SRC MOUNTPOINT")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 2 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *ttl, *debug); err != nil {
		fmt.Fprintf(os.Stderr, "loopback: %v\n", err)
		os.Exit(1)
	}
}

func run(src, dir string, ttl time.Duration, debug bool) error {
	root, err := fs.NewLoopbackRoot(src)
	if err != nil {
		return err
	}
	ln, ok := root.(*fs.LoopbackNode)
	if !ok {
		return fmt.Errorf("unexpected loopback root %T", root)
	}
	st := &stats{}
	neg := 5 * time.Second
	opts := &fs.Options{
		MountOptions: fuse.MountOptions{
			FsName:       "bench-loopback:" + src,
			Name:         "loopback",
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
			DirectMount:  true,
			Options:      []string{"ro"},
			Debug:        debug,
			// No FUSE passthrough: the kernel would read the backing file
			// itself and never ask this daemon.
			DisabledCapabilities: fuse.CAP_PASSTHROUGH,
		},
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &neg,
	}
	server, err := fs.Mount(dir, &node{LoopbackNode: ln, stats: st}, opts)
	if err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	fmt.Printf("loopback: %s mounted at %s\n", src, dir)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		if err := server.Unmount(); err != nil {
			// Files still open: detach now; Wait returns once they close.
			_ = detach(dir)
		}
	}()
	server.Wait()
	b, _ := json.Marshal(map[string]int64{"reads": st.reads.Load(), "readBytes": st.bytes.Load()})
	fmt.Fprintln(os.Stderr, string(b))
	return nil
}

// stats counts the reads this daemon served.
type stats struct {
	reads, bytes atomic.Int64
}

// node is a loopback node whose files are opened as file (no passthrough);
// WrapChild makes every node below the root one too.
type node struct {
	*fs.LoopbackNode
	stats *stats
}

var (
	_ = (fs.NodeWrapChilder)((*node)(nil))
	_ = (fs.NodeOpener)((*node)(nil))
)

func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	if ln, ok := ops.(*fs.LoopbackNode); ok {
		return &node{LoopbackNode: ln, stats: n.stats}
	}
	return ops
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC|syscall.O_APPEND) != 0 {
		return nil, 0, syscall.EROFS
	}
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return nil, 0, syscall.EIO
	}
	return &file{lf: lf, stats: n.stats}, fuseFlags, 0
}

// file forwards reads to go-fuse's LoopbackFile but, unlike it, does not
// implement fs.FilePassthroughFder.
type file struct {
	lf    *fs.LoopbackFile
	stats *stats
}

var (
	_ = (fs.FileReader)((*file)(nil))
	_ = (fs.FileReleaser)((*file)(nil))
	_ = (fs.FileFlusher)((*file)(nil))
	_ = (fs.FileGetattrer)((*file)(nil))
	_ = (fs.FileLseeker)((*file)(nil))
)

func (f *file) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	res, errno := f.lf.Read(ctx, dest, off)
	if errno == 0 {
		f.stats.reads.Add(1)
		f.stats.bytes.Add(int64(res.Size()))
	}
	return res, errno
}

func (f *file) Release(ctx context.Context) syscall.Errno { return f.lf.Release(ctx) }
func (f *file) Flush(ctx context.Context) syscall.Errno   { return f.lf.Flush(ctx) }
func (f *file) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return f.lf.Getattr(ctx, out)
}
func (f *file) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	return f.lf.Lseek(ctx, off, whence)
}
