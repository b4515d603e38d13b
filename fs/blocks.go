package fs

import (
	"context"
	"io"
	"sync"
	"sync/atomic"

	"github.com/ossfs/ossfs/cache"
)

// rangeSource is one version of an object, readable by range (*transfer.Reader).
type rangeSource interface {
	// ReadBlocks fills bufs in order from off with one ranged read.
	ReadBlocks(ctx context.Context, bufs [][]byte, off int64) error
	Size() int64
}

// future is one block being fetched; done closes when data or err is set.
type future struct {
	done    chan struct{}
	data    []byte
	err     error
	waiters atomic.Int32 // readers waiting on it
}

// inflight is the mount's set of blocks being fetched, so that concurrent misses
// of one block, from any handle, share one download.
type inflight struct {
	mu sync.Mutex
	m  map[cache.Key]*future // guarded by mu
}

func newInflight() *inflight { return &inflight{m: map[cache.Key]*future{}} }

// join returns the future of a block already being fetched.
func (f *inflight) join(k cache.Key) *future {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[k]
}

// claim registers futures for the blocks not already being fetched and returns
// them (nil where another fetch has the block); the caller must resolve each.
func (f *inflight) claim(keys []cache.Key) []*future {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*future, len(keys))
	for i, k := range keys {
		if f.m[k] == nil {
			out[i] = &future{done: make(chan struct{})}
			f.m[k] = out[i]
		}
	}
	return out
}

func (f *inflight) resolve(k cache.Key, fut *future, data []byte, err error) {
	fut.data, fut.err = data, err
	f.mu.Lock()
	delete(f.m, k)
	f.mu.Unlock()
	close(fut.done)
}

// budget bounds the bytes held by prefetch across every open file.
type budget struct {
	mu    sync.Mutex
	avail int64 // guarded by mu
}

func newBudget(n int64) *budget { return &budget{avail: n} }

func (b *budget) tryAcquire(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.avail < n {
		return false
	}
	b.avail -= n
	return true
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.avail += n
}

// blockShared is what every blockReader of a mount shares.
type blockShared struct {
	cache     *cache.Cache
	inflight  *inflight
	budget    *budget
	bg        context.Context // the mount's lifetime: prefetches outlive requests
	maxWindow int64           // most blocks a sequential reader prefetches
	spanLen   int64           // most blocks fetched by one ranged read
	keepBack  int64           // consumed blocks kept for backward seeks
}

// blockReader reads one open file through the block cache. A sequential reader
// gets a prefetch window that starts at one block and doubles while reads stay
// sequential, up to maxWindow; prefetched blocks are held by the reader until
// consumed (the shared cache may refuse them), and the last keepBack consumed
// blocks stay held so short backward seeks are free. Random readers fetch only
// the blocks they touch.
type blockReader struct {
	*blockShared
	src   rangeSource
	ident string // cache identity of the version read
	size  int64
	bs    int64

	fetches sync.WaitGroup // fetch goroutines (tests wait on it)

	mu     sync.Mutex
	held   map[int64][]byte // guarded by mu; prefetched or recently read blocks
	next   int64            // guarded by mu; the block after the last read
	window int64            // guarded by mu; current prefetch window in blocks
	ahead  int64            // guarded by mu; prefetch has been started up to here (exclusive)
	closed bool             // guarded by mu
}

func newBlockReader(shared *blockShared, src rangeSource, ident string) *blockReader {
	return &blockReader{blockShared: shared, src: src, ident: ident, size: src.Size(), bs: shared.cache.BlockSize(),
		held: map[int64][]byte{}}
}

// ReadAt reads like io.ReaderAt, through the cache and the prefetch window.
func (r *blockReader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	end := min(off+int64(len(p)), r.size)
	first, last := off/r.bs, (end-1)/r.bs
	r.advise(first, last)
	n := 0
	for b := first; b <= last; b++ {
		data, err := r.block(ctx, b)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[max(0, off-b*r.bs):])
	}
	r.consumed(first, last)
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

func (r *blockReader) key(b int64) cache.Key { return cache.Key{Object: r.ident, Block: b} }

// block returns block b: being fetched, held, cached, or fetched now. The
// in-flight check comes first: a prefetch holds its blocks before it resolves
// its futures, so a block missing from both has not been fetched yet.
func (r *blockReader) block(ctx context.Context, b int64) ([]byte, error) {
	for {
		if fut := r.inflight.join(r.key(b)); fut != nil {
			fut.waiters.Add(1)
			select {
			case <-fut.done:
				if fut.err == nil {
					return fut.data, nil
				}
				return nil, fut.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		r.mu.Lock()
		data, ok := r.held[b]
		r.mu.Unlock()
		if ok {
			return data, nil
		}
		if data, ok := r.cache.Get(r.key(b)); ok {
			return data, nil
		}
		futs := r.inflight.claim([]cache.Key{r.key(b)})
		if futs[0] == nil {
			continue // another reader claimed it in between: join that
		}
		r.goFetch(b, futs, false)
	}
}

// advise notes a read of blocks first..last and starts prefetching when the
// reader is sequential.
func (r *blockReader) advise(first, last int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// Sequential: at or just behind where the last read ended, or inside the
	// window ahead of it (the kernel issues readahead concurrently, so reads
	// may arrive slightly out of order).
	if first >= r.next-2 && first <= r.next+max(r.window, 1) {
		r.window = max(1, min(r.window*2, r.maxWindow))
	} else {
		r.window, r.ahead = 0, 0 // random: fetch only what is touched
	}
	r.next = last + 1
	from := max(last+1, r.ahead)
	to := min(last+1+r.window, r.blocks())
	if from > last+1 && to-from < min(r.spanLen, r.window) && to < r.blocks() {
		return // something is prefetched already: extend it by whole spans, not block by block
	}
	for from < to && !r.closed {
		if r.presentLocked(from) {
			from++
			continue
		}
		n := int64(1)
		for n < r.spanLen && from+n < to && !r.presentLocked(from+n) {
			n++
		}
		if !r.budget.tryAcquire(n * r.bs) {
			break
		}
		keys := make([]cache.Key, n)
		for i := range keys {
			keys[i] = r.key(from + int64(i))
		}
		r.goFetch(from, r.inflight.claim(keys), true)
		from += n
	}
	r.ahead = max(r.ahead, from)
}

// presentLocked reports whether block b needs no prefetch: held, cached or
// being fetched.
func (r *blockReader) presentLocked(b int64) bool {
	if _, ok := r.held[b]; ok {
		return true
	}
	if r.inflight.join(r.key(b)) != nil {
		return true
	}
	_, ok := r.cache.Get(r.key(b))
	return ok
}

func (r *blockReader) goFetch(first int64, futs []*future, prefetch bool) {
	r.fetches.Add(1)
	go func() {
		defer r.fetches.Done()
		r.fetchSpan(first, futs, prefetch)
	}()
}

func (r *blockReader) blocks() int64 { return (r.size + r.bs - 1) / r.bs }

// fetchSpan fetches blocks first..first+len(futs)-1 with one ranged read,
// offers them to the cache, resolves the futures it owns, and (for a prefetch)
// holds them for this reader within the budget it acquired.
func (r *blockReader) fetchSpan(first int64, futs []*future, prefetch bool) {
	n := int64(len(futs))
	// A buffer per block, filled by one ranged read: a cached block must not
	// keep a whole span's buffer alive after its siblings are evicted.
	off := first * r.bs
	bufs := make([][]byte, n)
	for i := range bufs {
		start := off + int64(i)*r.bs
		bufs[i] = make([]byte, min(r.bs, r.size-start))
	}
	err := r.src.ReadBlocks(r.bg, bufs, off)
	// Held before the futures resolve (a demand fetch too, when the budget
	// allows): the cache admits asynchronously, so a read arriving just after
	// must find the blocks here rather than fetch them again.
	if prefetch || r.budget.tryAcquire(n*r.bs) {
		r.hold(first, n, bufs, err)
	}
	r.resolveAll(first, futs, bufs, err)
}

func (r *blockReader) resolveAll(first int64, futs []*future, bufs [][]byte, err error) {
	for i, f := range futs {
		if f == nil {
			continue
		}
		b := first + int64(i)
		var data []byte
		if err == nil {
			data = bufs[i]
			r.cache.Put(r.key(b), data)
		}
		r.inflight.resolve(r.key(b), f, data, err)
	}
}

// hold keeps prefetched blocks for this reader, or gives the budget back.
func (r *blockReader) hold(first, n int64, bufs [][]byte, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || r.closed {
		r.budget.release(n * r.bs)
		return
	}
	for i := range n {
		b := first + i
		if _, ok := r.held[b]; ok || b < r.next-r.keepBack {
			r.budget.release(r.bs) // already held, or already read past
			continue
		}
		r.held[b] = bufs[i]
	}
}

// consumed lets go of held blocks the reader has moved past, keeping the last
// keepBack for backward seeks.
func (r *blockReader) consumed(first, last int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for b := range r.held {
		if b < last-r.keepBack || b > last+r.maxWindow+r.spanLen {
			delete(r.held, b)
			r.budget.release(r.bs)
		}
	}
}

// Close releases every held block.
func (r *blockReader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.budget.release(int64(len(r.held)) * r.bs)
	clear(r.held)
}
