package cache

import "sync/atomic"

// objState is the memory tier's record of one object identity: its current
// generation, the blocks offered under it, and the operations in progress
// that will offer more. It exists while either is non-empty; then it is
// retired (generation 0) and forgotten.
type objState struct {
	object string
	// gen is the generation a block of this identity must carry to be
	// served. Written under Cache.mu, read without it on the hit path.
	// Generations come from Cache.lastGen and are never reused; 0 means
	// retired, and no entry carries 0.
	gen atomic.Uint64
	// blocks holds the latest entry offered to ristretto per block, so that
	// Invalidate can delete them. It is best effort: an entry ristretto
	// keeps after a newer one for its block was refused is not listed, and
	// is then never served again because its state is retired or its
	// generation passed. Guarded by Cache.mu.
	blocks map[int64]*entry
	// pending counts tickets not yet committed or released. Guarded by
	// Cache.mu.
	pending int
}

// entry is a block as the memory tier stores it: the Key it was stored under
// (checked on every hit, so that a hash collision is a miss) and the
// generation it was stored in.
type entry struct {
	key   Key
	data  []byte
	state *objState
	gen   uint64
}

// current reports whether e's object has not been invalidated since e was
// stored.
func (e *entry) current() bool { return e.state.gen.Load() == e.gen }

// ticket is taken before an operation that reads a block from somewhere slow
// (fetch, disk) and stores it afterwards. If the object is invalidated in
// between, the generation moves on and the ticket's commit stores nothing.
type ticket struct {
	st  *objState
	gen uint64
}

// acquire takes a ticket for object.
func (c *Cache) acquire(object string) ticket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acquireLocked(object)
}

func (c *Cache) acquireLocked(object string) ticket {
	st := c.objects[object]
	if st == nil {
		st = &objState{object: object, blocks: make(map[int64]*entry)}
		c.lastGen++
		st.gen.Store(c.lastGen)
		c.objects[object] = st
	}
	st.pending++
	return ticket{st: st, gen: st.gen.Load()}
}

// release gives back a ticket that stores nothing.
func (c *Cache) release(t ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.st.pending--
	c.retireIfIdleLocked(t.st)
}

// commitLocked gives back t and records data as block k in t's generation.
// It returns the entry to hand to ristretto (setMem), or nil when the object
// was invalidated since t was taken or the cache is closed. With toDisk the
// block is also queued for the disk tier.
func (c *Cache) commitLocked(k Key, data []byte, t ticket, toDisk bool) *entry {
	st := t.st
	st.pending--
	if c.closed.Load() || st.gen.Load() != t.gen {
		c.retireIfIdleLocked(st)
		return nil
	}
	e := &entry{key: k, data: data, state: st, gen: t.gen}
	st.blocks[k.Block] = e
	if toDisk {
		c.enqueueDiskLocked(k, data, t)
	}
	return e
}

// forget is ristretto's OnExit: e left the memory tier (evicted, refused,
// replaced or deleted). It is also called when a Set was dropped.
func (c *Cache) forget(e *entry) {
	if e == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.state.blocks[e.key.Block] == e {
		delete(e.state.blocks, e.key.Block)
		c.retireIfIdleLocked(e.state)
	}
}

// invalidateLocked moves object to a new generation and returns the entries
// it had offered, for the caller to delete from ristretto.
func (c *Cache) invalidateLocked(object string) []*entry {
	st := c.objects[object]
	if st == nil {
		return nil
	}
	stale := make([]*entry, 0, len(st.blocks))
	for _, e := range st.blocks {
		stale = append(stale, e)
	}
	clear(st.blocks)
	c.lastGen++
	st.gen.Store(c.lastGen)
	c.retireIfIdleLocked(st)
	return stale
}

func (c *Cache) retireIfIdleLocked(st *objState) {
	if st.pending > 0 || len(st.blocks) > 0 {
		return
	}
	if c.objects[st.object] == st {
		delete(c.objects, st.object)
	}
	st.gen.Store(0)
}
