package fs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/ossfs/ossfs/cache"
	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/spill"
	"github.com/ossfs/ossfs/transfer"
)

// Client is what the file system needs of the APS client: listings and
// details, and the object changes that are not uploads.
type Client interface {
	Lister
	DeleteObject(ctx context.Context, bucketKey, objectKey string) error
	CopyObject(ctx context.Context, bucketKey, fromKey, toKey string) (*oss.Object, error)
}

// FS is one mounted bucket: the state every node shares.
type FS struct {
	opts    Options
	engine  *transfer.Engine
	ns      *namespace
	inos    *inoTable
	dates   *dateStore
	filler  *dateFiller
	client  Client
	blocks  *blockShared
	log     *slog.Logger
	started time.Time
	bg      context.Context // the mount's lifetime: background work runs on it
	spill   *spill.Dir      // nil: the mount is read-only

	wmu    sync.Mutex
	wfiles map[string]*wfile // guarded by wmu; files being written, by key

	committer *committer // commits pending uploads in the background
}

// New returns the file system of one bucket. ctx is the mount's lifetime:
// prefetches and background work run on it and stop when it ends.
func New(ctx context.Context, opts Options, client Client, engine *transfer.Engine, blockCache *cache.Cache) (*FS, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	f := &FS{
		opts:    opts,
		engine:  engine,
		ns:      newNamespace(client, opts.Bucket, opts.MetadataTTL, opts.NegativeTTL, time.Now, opts.Logger),
		inos:    newInoTable(),
		client:  client,
		dates:   newDateStore(),
		log:     opts.Logger,
		started: time.Now(),
		bg:      ctx,
		wfiles:  map[string]*wfile{},
	}
	f.ns.learned = func(o *oss.Object) { f.dates.learn(o) }
	bs := blockCache.BlockSize()
	f.blocks = &blockShared{
		cache: blockCache, inflight: newInflight(), budget: newBudget(opts.PrefetchBytes), bg: ctx,
		maxWindow: max(1, opts.MaxReadahead/bs), spanLen: max(1, (8<<20)/bs), keepBack: 4,
	}
	if opts.DateCallsPerMinute > 0 {
		f.filler = newDateFiller(client, opts.Bucket, f.dates, opts.DateCallsPerMinute)
		go f.filler.run(ctx)
	}
	if !opts.ReadOnly && opts.SpillDir != "" {
		d, err := spill.OpenDir(opts.SpillDir, spill.Options{Logger: opts.Logger})
		if err != nil {
			return nil, err
		}
		f.spill = d
		log, kept, err := openStampLog(opts.SpillDir)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("fs: stamp log: %w", err)
		}
		f.dates.log, f.dates.kept = log, kept
		f.committer = newCommitter(f)
		go f.committer.run(ctx)
		if err := f.loadPending(); err != nil {
			d.Close()
			return nil, err
		}
	}
	return f, nil
}

// Close releases the spill directory. Pending uploads stay in it for the
// next mount.
func (f *FS) Close() error {
	if f.spill == nil {
		return nil
	}
	return errors.Join(f.dates.log.Close(), f.spill.Close())
}

// Root returns the bucket's root directory node.
func (f *FS) Root() fusefs.InodeEmbedder { return &dirNode{fs: f, prefix: ""} }

// MountOptions returns go-fuse options tuned for throughput: 1 MiB reads and
// readahead, async reads and parallel directory operations (go-fuse's
// defaults), readdirplus, and the kernel's entry and attribute caches kept
// for the metadata TTL.
func (f *FS) MountOptions(allowOther bool, debug bool) *fusefs.Options {
	ttl, neg := f.opts.MetadataTTL, f.opts.NegativeTTL
	return &fusefs.Options{
		MountOptions: fuse.MountOptions{
			AllowOther:   allowOther,
			FsName:       "ossfs:" + f.opts.Bucket,
			Name:         "ossfs",
			MaxWrite:     1 << 20,
			MaxReadAhead: 1 << 20,
			DirectMount:  true,
			Debug:        debug,
		},
		EntryTimeout:    &ttl,
		AttrTimeout:     &ttl,
		NegativeTimeout: &neg,
		UID:             f.opts.UID,
		GID:             f.opts.GID,
		RootStableAttr:  &fusefs.StableAttr{Ino: 1, Mode: syscall.S_IFDIR},
	}
}

// errno maps err for op on key (see toErrno).
func (f *FS) errno(op, key string, err error) syscall.Errno { return toErrno(f.log, op, key, err) }
