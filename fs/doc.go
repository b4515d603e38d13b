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
// # Writes
//
// A file opened for writing (or created, or truncated by path) gets a wfile:
// one spill.File shared by every handle open on that key, registered in
// FS.wfiles until its last handle is released and it is committed. Lookups,
// readdir, getattr and opens for reading see a wfile before the namespace, so
// a file being written shows its spill file's size and reads its newest
// bytes. A sequential writer's finished parts go up in the background to the
// wfile's session (wrote).
//
// A commit (flush of a handle that changed the file, fsync, truncate by path)
// stops handing out parts and waits for those out, fills what is still the
// original's, puts the parts the session lacks (a new session when the plan
// says so, or after a failure that refused the session or its parts:
// sessionSurvives), completes it with the size, the sha1 of the spill file
// and the stamp as user metadata (userMeta), and then tells the namespace,
// the date store and the node of the new version. The sha1 of a file written
// in order from its start is kept as it is written (runningSum), so the
// commit hashes only what the sum did not see. A file under one part is
// read into memory once, hashed and sent from there, so the sha1 it claims is
// of the bytes S3 checked against their MD5.
//
// A failed commit persists the spill file as a pending upload and starts a
// retry loop on the mount's context. The session is saved with the pending
// upload (persist) before the first part and again once every part is up;
// New takes up the pending uploads a previous mount left (spill.LoadPending)
// and resumes their sessions (resumeSession). With Options.AsyncCommit a flush
// stages instead (wfile.stage: fill, persist, queue), and the committer
// commits pending uploads in the background: files under one part through
// transfer.UploadSmall, 25 per batch, the others by their retry loop (which
// also takes over a batch item that failed). Pending uploads found at start
// go through the committer too.
//
// A write or truncate of the spill file that fails (ENOSPC) marks the wfile
// broken: its commits fail with that error, nothing is persisted or retried,
// and the last release deletes the spill file and tells the kernel
// (forgetChanges); emptying the file clears the mark. Unlink abandons a wfile
// (nothing is committed; open handles keep working); rename moves an
// uncommitted wfile to the new key, or copies a committed object and deletes
// the old one; a directory rename copies and deletes each key (up to
// RenameDirLimit) and moves the prefixes and keys of the nodes below it
// (retarget). Stamps set on committed versions are kept in a stamp log in the
// spill directory (stampLog), by key and sha1.
//
// # Errors
//
// toErrno is the one place an error becomes an errno (ENOENT, EACCES, EAGAIN,
// ESTALE, EINTR, ETIMEDOUT, ENOSPC and the other errnos the spill file
// reports, else EIO, which is logged with its cause). Node methods answer the
// errnos of docs/SEMANTICS.md directly (EROFS, ENOTEMPTY, EXDEV, EPERM, ...).
//
// # Locks
//
// fileNode.mu guards what a file knows of its object (key, version),
// dirNode.mu a directory's prefix (both leaves);
// blockReader.mu its held blocks and window. Lock order: blockReader.mu, then
// inflight.mu, then budget.mu. For writes: wfile.commitMu, then FS.wmu, then
// wfile.mu, then spill.File's own lock; fileNode.mu is never held while
// taking them. namespace.mu, dateStore.mu and stampLog.mu are leaves. No lock
// is held across a network call except wfile.commitMu, which serializes the
// commits of one file (a second close waits for the first one's upload
// rather than uploading the same bytes again; a rename waits for it too).
// The committer holds the commitMu of every file of a batch at once, taken
// with TryLock (a file whose lock is busy goes to its retry loop), so it
// never waits for one while holding another; committer.mu is a leaf.
package fs
