package fs

import (
	"errors"
	"log/slog"
	"time"
)

// Options configures a mount's file system.
type Options struct {
	Bucket string
	// UID and GID own every file and directory.
	UID, GID uint32
	// FileMode and DirMode are the permission bits shown when an object carries
	// none of its own (default 0644 and 0755).
	FileMode, DirMode uint32
	// ReadOnly refuses every change with EROFS.
	ReadOnly bool
	// SpillDir is the private directory of the files being written and of
	// pending uploads (spill.OpenDir). Empty: every change answers EROFS.
	SpillDir string
	// AsyncCommit makes close() return once a file's changes are a pending
	// upload on local disk (synced), committed in the background; small files
	// are committed 25 at a time through the batch endpoints. fsync() still
	// returns after the commit. Default off: close() waits for the commit.
	AsyncCommit bool
	// RenameDirLimit is the most objects a directory rename copies and
	// deletes one by one (two OSS calls each); a larger directory answers
	// EXDEV, so that mv copies it through the mount. Default 100; negative:
	// every directory rename answers EXDEV.
	RenameDirLimit int
	// MetadataTTL is how long a listing answers lookups and readdir, and how
	// long the kernel may cache attributes and entries (default 60 s). A file
	// opened after it sees changes made elsewhere.
	MetadataTTL time.Duration
	// NegativeTTL is how long a name found absent stays absent (default 5 s).
	NegativeTTL time.Duration
	// PrefetchBytes is the memory prefetch may hold across all open files
	// (default 64 MiB); the block cache's own budget is separate (cache.Options).
	PrefetchBytes int64
	// MaxReadahead is the largest prefetch window of one sequential reader in
	// bytes (default 64 MiB).
	MaxReadahead int64
	// DateCallsPerMinute is the share of the OSS call budget spent fetching the
	// dates of files shown without one (default 100; negative: never).
	DateCallsPerMinute int
	// SyncDates is how many files of a directory without a known date readdir
	// fetches the dates of before it answers (default 32), so small directories
	// show real dates at once; the rest are left to the background filler.
	// Nothing is fetched when DateCallsPerMinute is negative.
	SyncDates int
	Logger    *slog.Logger
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		FileMode: 0o644, DirMode: 0o755,
		MetadataTTL: time.Minute, NegativeTTL: 5 * time.Second,
		PrefetchBytes: 64 << 20, MaxReadahead: 64 << 20,
		DateCallsPerMinute: 100, SyncDates: 32,
		RenameDirLimit: 100,
	}
}

// Validate reports the first problem with o.
func (o Options) Validate() error {
	switch {
	case o.Bucket == "":
		return errors.New("fs: no bucket")
	case o.FileMode&^0o7777 != 0 || o.DirMode&^0o7777 != 0:
		return errors.New("fs: FileMode and DirMode are permission bits (at most 07777)")
	case o.MetadataTTL < 0 || o.NegativeTTL < 0 || o.PrefetchBytes < 0 || o.MaxReadahead < 0:
		return errors.New("fs: TTLs and sizes must not be negative")
	}
	return nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.FileMode == 0 {
		o.FileMode = d.FileMode
	}
	if o.DirMode == 0 {
		o.DirMode = d.DirMode
	}
	if o.MetadataTTL == 0 {
		o.MetadataTTL = d.MetadataTTL
	}
	if o.NegativeTTL == 0 {
		o.NegativeTTL = d.NegativeTTL
	}
	if o.PrefetchBytes == 0 {
		o.PrefetchBytes = d.PrefetchBytes
	}
	if o.MaxReadahead == 0 {
		o.MaxReadahead = d.MaxReadahead
	}
	if o.DateCallsPerMinute == 0 {
		o.DateCallsPerMinute = d.DateCallsPerMinute
	}
	if o.RenameDirLimit == 0 {
		o.RenameDirLimit = d.RenameDirLimit
	}
	if o.SyncDates == 0 {
		o.SyncDates = d.SyncDates
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
