package cache

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
	"golang.org/x/sync/singleflight"
)

// Key names one block of one version of an object. Object is an identity
// string chosen by the caller (it encodes bucket, key and version: sha1, or
// size+ETag); Block is the block index (offset / BlockSize).
type Key struct {
	Object string
	Block  int64
}

// Stats are counters since New, and the bytes each tier holds now.
type Stats struct {
	Hits          int64 // Get and Fetch lookups served from memory
	Misses        int64 // lookups not served from memory
	DiskHits      int64 // memory misses served from the disk tier
	DiskMisses    int64 // memory misses the disk tier could not serve
	Fetches       int64 // calls of a fetch function
	SharedFetches int64 // Fetch calls served by a fetch another call started
	Evictions     int64 // blocks the memory tier evicted to make room
	DiskEvictions int64 // block files evicted to stay within DirMaxBytes
	DiskDropped   int64 // disk writes dropped because the write queue was full
	BytesMem      int64 // cost held by the memory tier (≤ MaxBytes)
	BytesDisk     int64 // bytes of block files indexed by the disk tier
}

const (
	// diskQueueLen bounds the blocks waiting for a disk writer; a Put that
	// finds the queue full skips the disk tier. With diskWriters, it bounds
	// the memory held beyond MaxBytes for disk writes to
	// (diskQueueLen+diskWriters)*BlockSize.
	diskQueueLen = 16
	diskWriters  = 2
)

// Cache is a two-tier block cache. It is safe for concurrent use; see the
// package documentation for its invariants and lock order.
type Cache struct {
	opts    Options
	log     *slog.Logger
	seed    maphash.Seed
	memHash func(Key) uint64 // ristretto key of a Key; tests replace it to force collisions

	// life is held shared around every call into mem, and exclusively by
	// Close around mem.Close, which closes ristretto's channels.
	life sync.RWMutex
	mem  *ristretto.Cache[uint64, *entry]

	flights   singleflight.Group
	flightSeq atomic.Uint64 // names each Fetch call, to tell the leader of a flight

	disk      *diskTier    // nil without Options.Dir
	diskQueue chan diskJob // nil without Options.Dir; sent to and closed under mu
	writers   sync.WaitGroup
	jobs      sync.WaitGroup // queued disk jobs not yet finished (tests wait on it)

	closed atomic.Bool // set by Close under mu; read anywhere

	mu      sync.Mutex
	objects map[string]*objState // guarded by mu
	lastGen uint64               // guarded by mu: the last generation handed out

	stats counters
	hooks testHooks
}

type counters struct {
	hits, misses, diskHits, diskMisses atomic.Int64
	fetches, sharedFetches, evictions  atomic.Int64
	diskDropped                        atomic.Int64
}

// testHooks let tests stop the cache at a chosen point. Set them before use.
type testHooks struct {
	beforeMemSet     func(Key) // a block is recorded but not yet given to ristretto
	waiting          func(Key) // a Fetch has joined or started a flight and waits for it
	beforeDiskCommit func(Key) // a block file is written but not yet indexed
}

// diskJob is a block waiting for a disk writer. Its ticket keeps the
// object's generation alive until the write is committed or dropped.
type diskJob struct {
	key  Key
	data []byte
	t    ticket
}

// New returns a Cache. With Options.Dir it creates or reuses that directory,
// indexing (and header-checking) the block files a previous Cache left there.
func New(opts Options) (*Cache, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	c := &Cache{
		opts:    o,
		log:     o.Logger,
		seed:    maphash.MakeSeed(),
		objects: make(map[string]*objState),
	}
	c.memHash = c.hashKey
	blocks := max(o.MaxBytes/o.BlockSize, 1)
	mem, err := ristretto.NewCache(&ristretto.Config[uint64, *entry]{
		NumCounters:        max(10*blocks, 100),
		MaxCost:            o.MaxBytes,
		BufferItems:        64,
		IgnoreInternalCost: true, // cost is exactly the block's bytes
		OnEvict: func(*ristretto.Item[*entry]) {
			if !c.closed.Load() {
				c.stats.evictions.Add(1)
			}
		},
		OnExit: c.forget,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	c.mem = mem
	if o.Dir != "" {
		d, err := openDisk(o)
		if err != nil {
			mem.Close()
			return nil, err
		}
		c.disk = d
		c.diskQueue = make(chan diskJob, diskQueueLen)
		for range diskWriters {
			c.writers.Go(c.diskWriter)
		}
	}
	return c, nil
}

// BlockSize is the size of every block but an object's last.
func (c *Cache) BlockSize() int64 { return c.opts.BlockSize }

// Get returns the block from memory, else from the disk tier (verified, then
// promoted to memory). The returned slice is shared: callers must not modify
// it.
func (c *Cache) Get(k Key) ([]byte, bool) {
	if data, ok := c.lookupMem(k); ok {
		return data, true
	}
	return c.getDisk(k)
}

// Put offers a block to the cache (memory, and the disk tier if configured).
// The caller must not modify data afterwards. A block longer than BlockSize
// is not cached. The cache may refuse or drop any block at any time.
func (c *Cache) Put(k Key, data []byte) {
	if int64(len(data)) > c.opts.BlockSize {
		c.log.Debug("cache: block larger than BlockSize not cached", "op", "cache.put",
			"object", k.Object, "block", k.Block, "bytes", len(data))
		return
	}
	c.mu.Lock()
	e := c.commitLocked(k, data, c.acquireLocked(k.Object), true)
	c.mu.Unlock()
	if e != nil {
		c.setMem(e)
	}
}

// Fetch returns the block, calling fetch on a miss. Concurrent misses of one
// key share one fetch (singleflight) and all get its result; a successful
// result is Put, an error is returned to every waiter and not cached. fetch
// runs with the first caller's ctx stripped of its cancellation, so one
// waiter giving up does not fail the others; each waiter returns when its own
// ctx ends. If k's object is invalidated while fetch runs, the result is
// returned but not cached. fetch must not panic. The returned slice is
// shared: callers must not modify it.
func (c *Cache) Fetch(ctx context.Context, k Key, fetch func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	if data, ok := c.lookupMem(k); ok {
		return data, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := c.flightSeq.Add(1)
	fetchCtx := context.WithoutCancel(ctx)
	ch := c.flights.DoChan(flightKey(k), func() (any, error) {
		return c.fill(fetchCtx, k, fetch, id)
	})
	if h := c.hooks.waiting; h != nil {
		h(k)
	}
	select {
	case r := <-ch:
		res := r.Val.(flightResult)
		if res.leader != id {
			c.stats.sharedFetches.Add(1)
		}
		if r.Err != nil {
			return nil, r.Err
		}
		return res.data, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// flightResult is what one flight hands to all its waiters.
type flightResult struct {
	data   []byte
	leader uint64 // the id of the Fetch call that started the flight
}

// flightKey is the singleflight key of k; the block number comes first, so
// the encoding is unambiguous whatever Object contains.
func flightKey(k Key) string {
	return strconv.FormatInt(k.Block, 10) + "/" + k.Object
}

// fill is one flight: memory again (another flight may just have finished),
// then the disk tier, then fetch.
func (c *Cache) fill(ctx context.Context, k Key, fetch func(context.Context) ([]byte, error), leader uint64) (any, error) {
	res := flightResult{leader: leader}
	if data, ok := c.getMem(k); ok {
		res.data = data
		return res, nil
	}
	if data, ok := c.getDisk(k); ok {
		res.data = data
		return res, nil
	}
	t := c.acquire(k.Object)
	c.stats.fetches.Add(1)
	data, err := fetch(ctx)
	if err != nil || int64(len(data)) > c.opts.BlockSize {
		c.release(t)
		res.data = data
		return res, err
	}
	c.mu.Lock()
	e := c.commitLocked(k, data, t, true)
	c.mu.Unlock()
	if e != nil {
		c.setMem(e)
	}
	res.data = data
	return res, nil
}

// Invalidate drops every block of an object identity from both tiers. A block
// that was being fetched or read from disk while it ran is returned to its
// callers but not stored; a Put after it stores normally. Identities usually
// change instead (a new version is a new identity): this is for explicit
// cleanup.
func (c *Cache) Invalidate(object string) {
	c.mu.Lock()
	stale := c.invalidateLocked(object)
	var files []string
	if c.disk != nil {
		files = c.disk.detach(object)
	}
	c.mu.Unlock()
	for _, e := range stale {
		c.delMem(e.key)
	}
	removeFiles(files)
}

// Stats returns the counters and sizes.
func (c *Cache) Stats() Stats {
	s := Stats{
		Hits:          c.stats.hits.Load(),
		Misses:        c.stats.misses.Load(),
		DiskHits:      c.stats.diskHits.Load(),
		DiskMisses:    c.stats.diskMisses.Load(),
		Fetches:       c.stats.fetches.Load(),
		SharedFetches: c.stats.sharedFetches.Load(),
		Evictions:     c.stats.evictions.Load(),
		DiskDropped:   c.stats.diskDropped.Load(),
	}
	c.life.RLock()
	if !c.closed.Load() {
		s.BytesMem = c.mem.MaxCost() - c.mem.RemainingCost()
	}
	c.life.RUnlock()
	if c.disk != nil {
		s.BytesDisk = c.disk.usage()
		s.DiskEvictions = c.disk.evictions.Load()
	}
	return s
}

// Close waits for queued disk writes, then releases the memory tier and the
// disk tier's directory. Afterwards Get misses, Put does nothing and Fetch
// always fetches. Close is idempotent.
func (c *Cache) Close() error {
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return nil
	}
	c.closed.Store(true)
	if c.diskQueue != nil {
		close(c.diskQueue)
	}
	c.mu.Unlock()
	c.writers.Wait()
	c.life.Lock()
	c.mem.Close()
	c.life.Unlock()
	if c.disk != nil {
		return c.disk.close()
	}
	return nil
}

// lookupMem is getMem counted as a Hit or Miss.
func (c *Cache) lookupMem(k Key) ([]byte, bool) {
	data, ok := c.getMem(k)
	if ok {
		c.stats.hits.Add(1)
	} else {
		c.stats.misses.Add(1)
	}
	return data, ok
}

// getMem serves k from memory if ristretto holds an entry stored under
// exactly k whose object has not been invalidated since.
func (c *Cache) getMem(k Key) ([]byte, bool) {
	c.life.RLock()
	defer c.life.RUnlock()
	if c.closed.Load() {
		return nil, false
	}
	e, ok := c.mem.Get(c.memHash(k))
	if !ok || e == nil || e.key != k || !e.current() {
		return nil, false
	}
	return e.data, true
}

// setMem hands a recorded entry to ristretto, which may refuse it.
func (c *Cache) setMem(e *entry) {
	if h := c.hooks.beforeMemSet; h != nil {
		h(e.key)
	}
	c.life.RLock()
	ok := !c.closed.Load() && c.mem.Set(c.memHash(e.key), e, max(int64(len(e.data)), 1))
	c.life.RUnlock()
	if !ok {
		c.forget(e) // dropped without a callback
	}
}

func (c *Cache) delMem(k Key) {
	c.life.RLock()
	defer c.life.RUnlock()
	if !c.closed.Load() {
		c.mem.Del(c.memHash(k))
	}
}

func (c *Cache) hashKey(k Key) uint64 { return maphash.Comparable(c.seed, k) }

// getDisk serves k from the disk tier and promotes it to memory, unless the
// object was invalidated during the read.
func (c *Cache) getDisk(k Key) ([]byte, bool) {
	d := c.disk
	if d == nil || d.failed.Load() || c.closed.Load() {
		return nil, false
	}
	if !d.has(k) {
		c.stats.diskMisses.Add(1)
		return nil, false
	}
	t := c.acquire(k.Object)
	data, ok := d.get(k)
	if !ok {
		c.release(t)
		c.stats.diskMisses.Add(1)
		return nil, false
	}
	c.stats.diskHits.Add(1)
	c.mu.Lock()
	e := c.commitLocked(k, data, t, false)
	c.mu.Unlock()
	if e != nil {
		c.setMem(e)
	}
	return data, true
}

// enqueueDiskLocked queues block k for a disk writer unless the tier is off,
// already has it, cannot hold it, or is busy (then the write is dropped
// rather than making the caller wait). The job holds a ticket of t's
// generation.
func (c *Cache) enqueueDiskLocked(k Key, data []byte, t ticket) {
	d := c.disk
	if d == nil || d.failed.Load() || !d.fits(k, len(data)) || d.has(k) {
		return
	}
	t.st.pending++
	c.jobs.Add(1)
	select {
	case c.diskQueue <- diskJob{key: k, data: data, t: t}:
	default:
		t.st.pending--
		c.jobs.Done()
		c.stats.diskDropped.Add(1)
	}
}

// diskWriter writes queued blocks until Close closes the queue.
func (c *Cache) diskWriter() {
	for j := range c.diskQueue {
		c.writeBlock(j)
		c.jobs.Done()
	}
}

// writeBlock writes one queued block and indexes it, unless its object was
// invalidated meanwhile: then the file is removed again, so that it cannot
// outlive the Invalidate (rename and index are ordered by mu with it).
func (c *Cache) writeBlock(j diskJob) {
	d := c.disk
	var size int64
	var err error
	written := false
	if !d.failed.Load() {
		if size, err = d.write(j.key, j.data); err != nil {
			d.fail("cache.write", err)
		} else {
			written = true
		}
	}
	if h := c.hooks.beforeDiskCommit; h != nil && written {
		h(j.key)
	}
	var remove []string
	c.mu.Lock()
	st := j.t.st
	st.pending--
	if written {
		if st.gen.Load() == j.t.gen {
			remove = d.insert(j.key, size)
		} else {
			remove = []string{d.path(j.key)}
		}
	}
	c.retireIfIdleLocked(st)
	c.mu.Unlock()
	removeFiles(remove)
}
