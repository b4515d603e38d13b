package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	fusefs "github.com/hanwen/go-fuse/v2/fs"

	"github.com/ossfs/ossfs/cache"
	"github.com/ossfs/ossfs/fs"
	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// mountFlags is the flag table of `ossfs mount` (docs/CONFIGURATION.md).
type mountFlags struct {
	aps          apsFlags
	emulator     bool
	emulatorData string
	uid, gid     int
	fileMode     string
	dirMode      string
	readOnly     bool
	allowOther   bool
	metadataTTL  time.Duration
	cacheSize    bytesFlag
	cacheDir     string
	debugFuse    bool
	dateCalls    int
	spillDir     string
	noWait       bool
	renameLimit  int
	asyncCommit  bool
}

func (f *mountFlags) register(fset *flag.FlagSet) {
	f.aps.register(fset)
	fset.BoolVar(&f.emulator, "emulator", false, "start an embedded APS emulator on loopback, create the bucket, and mount it (no APS account needed)")
	fset.StringVar(&f.emulatorData, "emulator-data", defaultEmulatorDataDir(), "`directory` of the embedded emulator's data")
	fset.IntVar(&f.uid, "uid", os.Getuid(), "owner of every file")
	fset.IntVar(&f.gid, "gid", os.Getgid(), "group of every file")
	fset.StringVar(&f.fileMode, "file-mode", "0644", "permission bits of files (octal)")
	fset.StringVar(&f.dirMode, "dir-mode", "0755", "permission bits of directories (octal)")
	fset.BoolVar(&f.readOnly, "read-only", false, "refuse every change (EROFS)")
	fset.BoolVar(&f.allowOther, "allow-other", false, "let other users access the mount (needs user_allow_other in /etc/fuse.conf for non-root)")
	fset.DurationVar(&f.metadataTTL, "metadata-ttl", time.Minute, "how long listings and attributes are trusted; changes made elsewhere show after it")
	f.cacheSize = bytesFlag{n: 256 << 20}
	fset.Var(&f.cacheSize, "cache-size", "memory for cached blocks and prefetch (e.g. 256MiB)")
	fset.StringVar(&f.cacheDir, "cache-dir", "", "`directory` for an on-disk block cache that survives remounts (off if empty)")
	fset.BoolVar(&f.debugFuse, "debug-fuse", false, "log every FUSE request (very verbose)")
	fset.StringVar(&f.spillDir, "spill-dir", "", "private `directory` of files being written and of pending uploads (default: the user's cache dir/ossfs/spill/BUCKET)")
	fset.BoolVar(&f.asyncCommit, "async-commit", false, "close() returns once a file's changes are synced to --spill-dir, and they are committed in the background, small files 25 per batch call (fsync() still waits for the commit)")
	fset.BoolVar(&f.noWait, "no-wait-uploads", false, "exit at unmount without waiting for pending uploads (they are committed by the next mount)")
	fset.IntVar(&f.renameLimit, "rename-dir-limit", 100, "most objects a directory rename copies one by one (2 OSS calls each); larger directories answer EXDEV and mv copies them (0: always EXDEV)")
	fset.IntVar(&f.dateCalls, "date-calls-per-minute", 100, "OSS calls per minute spent fetching the dates of files listed without one (0: never)")
}

func runMount(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f mountFlags
	fset := flag.NewFlagSet("mount", flag.ContinueOnError)
	f.register(fset)
	fset.Usage = func() {
		fmt.Fprintln(stderr, "Usage: ossfs mount [flags] BUCKET MOUNTPOINT\n       ossfs mount --emulator BUCKET MOUNTPOINT")
		fset.PrintDefaults()
	}
	if err := parseFlags(fset, args, stderr); err != nil {
		return err
	}
	if fset.NArg() != 2 {
		return usageError("mount takes a bucket and a mount point")
	}
	bucket, dir := fset.Arg(0), fset.Arg(1)
	opts, err := f.fsOptions(bucket)
	if err != nil {
		return err
	}
	if err := checkMountPoint(dir); err != nil {
		return err
	}
	creds := envCredentials()
	if f.emulator {
		stop, err := f.startEmbeddedEmulator(bucket, &creds, stderr)
		if err != nil {
			return err
		}
		defer stop()
	}
	client, engine, logger, err := f.aps.clientsWith(stderr, creds)
	if err != nil {
		return err
	}
	defer f.aps.reportCalls(client, stderr)
	if err := checkBucket(ctx, client, bucket); err != nil {
		return err
	}
	opts.Logger = logger
	return serveMount(ctx, &f, opts, client, engine, dir, stdout, logger)
}

// fsOptions turns the flags into fs.Options.
func (f *mountFlags) fsOptions(bucket string) (fs.Options, error) {
	o := fs.DefaultOptions()
	o.Bucket, o.UID, o.GID, o.ReadOnly, o.MetadataTTL = bucket, uint32(f.uid), uint32(f.gid), f.readOnly, f.metadataTTL
	o.AsyncCommit = f.asyncCommit
	var err error
	if o.FileMode, err = parseMode(f.fileMode); err != nil {
		return o, usageError("--file-mode: %v", err)
	}
	if o.DirMode, err = parseMode(f.dirMode); err != nil {
		return o, usageError("--dir-mode: %v", err)
	}
	if !f.readOnly {
		o.SpillDir = f.spillDir
		if o.SpillDir == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return o, usageError("--spill-dir: no default (%v); give one", err)
			}
			o.SpillDir = filepath.Join(base, "ossfs", "spill", bucket)
		}
	}
	o.DateCallsPerMinute = f.dateCalls
	o.RenameDirLimit = f.renameLimit
	if f.renameLimit <= 0 {
		o.RenameDirLimit = -1
	}
	if f.dateCalls == 0 {
		o.DateCallsPerMinute = -1
	}
	// One memory budget: a quarter for prefetch (at most 256 MiB), the rest for the block cache.
	o.PrefetchBytes = min(f.cacheSize.n/4, 256<<20)
	if err := o.Validate(); err != nil {
		return o, usageError("%v", err)
	}
	return o, nil
}

func parseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("%q is not an octal mode like 0644", s)
	}
	return uint32(m), nil
}

// serveMount mounts and serves until unmounted or ctx ends.
func serveMount(ctx context.Context, f *mountFlags, opts fs.Options, client *oss.Client, engine *transfer.Engine, dir string, stdout io.Writer, logger *slog.Logger) error {
	// The Go heap may otherwise grow to twice what is live before collecting:
	// hold the process near its one memory budget instead.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(f.cacheSize.n + 64<<20)
	}
	co := cache.DefaultOptions()
	co.MaxBytes, co.Dir, co.Logger = f.cacheSize.n-opts.PrefetchBytes, f.cacheDir, logger
	blockCache, err := cache.New(co)
	if err != nil {
		return usageError("cache: %v", err)
	}
	defer blockCache.Close()
	mountCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fsys, err := fs.New(mountCtx, opts, client, engine, blockCache)
	if err != nil {
		return err
	}
	defer fsys.Close()
	server, err := fusefs.Mount(dir, fsys.Root(), fsys.MountOptions(f.allowOther, f.debugFuse))
	if err != nil {
		return fmt.Errorf("mount %s: %w", dir, explainMountError(err))
	}
	fmt.Fprintf(stdout, "ossfs: oss://%s mounted at %s\n", opts.Bucket, dir)
	again := make(chan os.Signal, 1)
	go func() {
		<-ctx.Done()
		// From now on a signal stops the wait for pending uploads.
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		unmount(server, dir, logger)
	}()
	server.Wait()
	if f.noWait {
		if keys := fsys.Pending(); len(keys) > 0 {
			logger.Warn("pending uploads left for the next mount with this --spill-dir", "keys", keys)
		}
		return nil
	}
	waitPending(fsys, logger, again)
	return nil
}

// waitPending waits, after the unmount, for the uploads that failed and are
// retried in the background, saying what it waits for, until they are
// committed or another signal arrives. Pending uploads are kept on disk and
// committed by the next mount if the process ends first.
func waitPending(fsys *fs.FS, logger *slog.Logger, stop <-chan os.Signal) {
	for last := ""; ; {
		keys := fsys.Pending()
		if len(keys) == 0 {
			return
		}
		if s := fmt.Sprint(keys); s != last {
			logger.Warn("waiting for pending uploads after unmount (interrupt again, or --no-wait-uploads, to leave them for the next mount)", "keys", keys)
			last = s
		}
		select {
		case <-stop:
			logger.Warn("pending uploads left for the next mount with this --spill-dir", "keys", keys)
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}
