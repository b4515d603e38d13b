// Package fs presents an APS OSS bucket as a directory tree through go-fuse:
// namespace, attributes, and reads through the block cache. It never speaks
// HTTP: it calls transfer (bytes), cache (blocks) and a small interface of the
// oss client (listings and details).
//
// # Namespace
//
// Keys split on "/" into directories; prefixes without a marker object and
// "dir/" markers are both directories. APS can only list every key below a
// prefix, at any depth, in no order, 100 per call: one listing of a directory
// therefore yields the complete contents of it and of every directory below it,
// and all of them are cached for the metadata TTL (namespace). readdir fills the
// kernel's readdirplus from that listing, so `ls -l` makes no call per entry. A
// lookup without a fresh listing costs at most two calls (anything below
// "name/"? an object "name"?), and a name found absent stays absent for the
// negative TTL. Keys with a component that cannot be a POSIX name (empty, ".",
// "..", NUL, over 255 bytes) are hidden and logged once; where a file "a" and a
// prefix "a/" both exist the directory wins, logged once. Inode numbers are
// stable per path for the life of the mount.
//
// # Attributes
//
// Sizes come from listings. APS listings carry no dates, and fetching one per
// entry would spend the 1000-calls-per-minute quota on every `ls -l`; instead
// a file's mtime and mode are what the mount knows of that version (key and
// sha1): stored through a mount in the object's user-defined metadata, else
// APS's lastModifiedDate, learned from details calls made anyway (lookups) or
// fetched in the background within DateCallsPerMinute. Until then a file shows
// the Unix epoch. Directories show their marker's stamp, else the mount's
// start.
//
// # Reads
//
// Open binds a handle to the object's current version (what the mount knows of
// it is at most the metadata TTL old); the handle reads that version only
// (transfer.ErrStale, answered as ESTALE, if it is replaced underneath). Reads go
// through blockReader: blocks of the cache's block size keyed by the version's
// identity; concurrent misses of one block, from any handle, share one
// download; a sequential reader's prefetch window starts at one block and
// doubles up to MaxReadahead, fetched as ranged reads of up to 8 MiB that
// transfer splits into parallel GETs; prefetched blocks are held by the reader
// until consumed, within one PrefetchBytes budget over all open files.
//
// # Errors
//
// toErrno is the one place an error becomes an errno (ENOENT, EACCES, EAGAIN,
// ESTALE, EINTR, ETIMEDOUT, else EIO, which is logged with its cause).
//
// # Locks
//
// fileNode.mu guards what a file knows of its object; blockReader.mu its held
// blocks and window. Lock order: blockReader.mu, then inflight.mu, then
// budget.mu; namespace.mu and dateStore.mu are leaves. No lock is held across a
// network call.
package fs
