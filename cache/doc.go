// Package cache is ossfs's block cache: a bounded memory tier (ristretto) over
// an optional on-disk tier that survives remounts. Reads of an object are cut
// into blocks of BlockSize bytes; a block is named by a Key, the caller's
// identity string for one version of one object plus the block index. Fetch
// is the read path: a hit is served from memory or disk, and concurrent
// misses of one block share one download. The package imports nothing of
// ossfs.
//
// # Invariants
//
//   - A block is served only for the exact Key it was stored under. The
//     memory tier keys ristretto by a hash of the Key and keeps the Key in the
//     stored entry, compared on every hit; a disk file is named by a hash of
//     the Key and holds the Key in its header, compared on every read. A hash
//     collision costs a miss, never wrong bytes.
//   - The disk tier never serves unverified bytes. A block file is written to
//     a temporary file and renamed into place, and carries magic, format
//     version, block size, Key, length and a CRC-32C of all of it (format.go).
//     Every read checks all of these; a file that fails is deleted and is a
//     miss. Files are named by hashes, never by object keys.
//   - The cache may refuse or drop any block at any time: ristretto's
//     admission policy refuses some Sets, the budgets evict, a full disk
//     queue drops writes, and a failed disk tier turns itself off. Callers
//     must never rely on it to hold data (prefetched blocks are held by
//     their reader until consumed).
//   - After Invalidate(object) returns, no block of object stored before it
//     is served, even one whose Put, fetch or disk write was under way while
//     it ran. Each object identity has a generation (index.go); entries
//     carry the generation they were stored in and a hit requires it to be
//     current. Fetches and disk reads take a ticket of the generation before
//     their slow step and store nothing if it moved on; a disk write indexes
//     its file only if its generation is still current, else removes it.
//     The per-object index of offered blocks lets Invalidate delete them
//     from ristretto at once (O(blocks of the object)); blocks it misses are
//     unreachable and age out. Identities normally encode the version, so
//     Invalidate is cleanup, not what keeps data fresh.
//   - Memory: MaxBytes bounds the blocks ristretto holds (cost = len(data));
//     up to (diskQueueLen+diskWriters) blocks more may be referenced by
//     pending disk writes. DirMaxBytes bounds the indexed block files,
//     headers included; the least recently used are evicted first. Recency
//     across restarts is the file's write time.
//
// # Concurrency
//
// Every method is safe for concurrent use. Locks, in the order they may be
// taken:
//
//  1. Cache.life (RWMutex): held shared around each call into ristretto,
//     exclusively by Close around ristretto's Close, which closes channels
//     that a concurrent Set would send on.
//  2. Cache.mu: the object index (objects, lastGen, each objState's blocks
//     and pending) and, with closed, sends on and the closing of diskQueue.
//  3. diskTier.mu: the disk index (objects, lru, bytes).
//
// ristretto calls OnExit (Cache.forget, which takes Cache.mu) from inside
// Set and Del and from its own goroutine, so Cache.mu is never held while
// calling into ristretto. No lock is held across a fetch or any file I/O
// (the disk queue send under Cache.mu never blocks); files leaving the index
// are removed after the locks are released (a race with a rewrite of the same
// file can then only cost a miss). Fetch runs the fetch function in a
// singleflight goroutine on context.WithoutCancel of the first caller's
// context. Disk writes run on two writer goroutines fed by a bounded queue;
// Close drains it.
//
// # Errors
//
// Get, Put and Invalidate never fail. Fetch returns only the fetch
// function's error or the caller's ctx.Err(). New fails on invalid Options
// or when Dir cannot be created, read or locked (one Cache per Dir). Once
// running, a disk write failure (disk full, read-only, directory gone) is
// logged once and the disk tier degrades to a no-op; a damaged block file is
// logged, removed and treated as a miss.
package cache
