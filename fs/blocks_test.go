package fs

import (
	"bytes"
	"context"
	"io"
	"math/rand"
	"runtime"
	"sync"
	"testing"

	"github.com/ossfs/ossfs/cache"
	"github.com/ossfs/ossfs/internal/testbytes"
)

const testBlock = 64 << 10

// patternSource is an object of computable bytes that counts what is fetched.
type patternSource struct {
	p    testbytes.Pattern
	size int64
	gate chan struct{} // if set, each ReadAt waits for a token

	mu      sync.Mutex
	reads   int
	fetched int64
}

func (s *patternSource) Size() int64 { return s.size }

func (s *patternSource) ReadBlocks(ctx context.Context, bufs [][]byte, off int64) error {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	s.reads++
	s.mu.Unlock()
	for _, b := range bufs {
		if off+int64(len(b)) > s.size {
			return io.ErrUnexpectedEOF
		}
		copy(b, s.p.Bytes(off, int64(len(b))))
		s.mu.Lock()
		s.fetched += int64(len(b))
		s.mu.Unlock()
		off += int64(len(b))
	}
	return nil
}

func newShared(t *testing.T, prefetch int64) *blockShared {
	t.Helper()
	o := cache.DefaultOptions()
	o.MaxBytes, o.BlockSize = 64<<20, testBlock
	c, err := cache.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &blockShared{cache: c, inflight: newInflight(), budget: newBudget(prefetch), bg: context.Background(),
		maxWindow: 16, spanLen: 4, keepBack: 2}
}

func TestSequentialReadPrefetchesInSpans(t *testing.T) {
	sh := newShared(t, 32*testBlock)
	src := &patternSource{p: testbytes.Pattern{Seed: 1}, size: 100*testBlock + 17}
	r := newBlockReader(sh, src, "obj")
	var out bytes.Buffer
	buf := make([]byte, 16<<10)
	for off := int64(0); ; {
		n, err := r.ReadAt(context.Background(), buf, off)
		out.Write(buf[:n])
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	r.fetches.Wait()
	r.Close()
	if !bytes.Equal(out.Bytes(), src.p.Bytes(0, src.size)) {
		t.Fatal("sequential read returned wrong bytes")
	}
	if src.fetched != src.size {
		t.Fatalf("fetched %d bytes for an object of %d: some block twice", src.fetched, src.size)
	}
	if src.reads > 101/4+8 { // spans of up to 4 blocks once the window has grown
		t.Fatalf("%d ranged reads for 101 blocks", src.reads)
	}
	if sh.budget.avail != 32*testBlock {
		t.Fatalf("budget %d after close, want %d back", sh.budget.avail, 32*testBlock)
	}
}

func TestRandomReadsFetchOnlyWhatTheyTouch(t *testing.T) {
	sh := newShared(t, 32*testBlock)
	src := &patternSource{p: testbytes.Pattern{Seed: 2}, size: 1000 * testBlock}
	r := newBlockReader(sh, src, "obj")
	rng := rand.New(rand.NewSource(1))
	touched := map[int64]bool{}
	for range 50 {
		off := rng.Int63n(src.size - 4096)
		if near(touched, off/testBlock, 4) {
			continue // keep reads apart so none looks sequential
		}
		buf := make([]byte, 4096)
		if _, err := r.ReadAt(context.Background(), buf, off); err != nil || !bytes.Equal(buf, src.p.Bytes(off, 4096)) {
			t.Fatalf("random read at %d: %v", off, err)
		}
		touched[off/testBlock] = true
		if (off+4095)/testBlock != off/testBlock {
			touched[off/testBlock+1] = true
		}
	}
	r.fetches.Wait()
	if got, want := src.fetched, int64(len(touched))*testBlock; got > want+testBlock { // the first read may prefetch one block
		t.Fatalf("random reads fetched %d bytes (%d ranged reads), touched %d blocks", got, src.reads, len(touched))
	}
}

func TestConcurrentMissesShareOneFetch(t *testing.T) {
	sh := newShared(t, 0)
	src := &patternSource{p: testbytes.Pattern{Seed: 3}, size: 10 * testBlock, gate: make(chan struct{})}
	var wg sync.WaitGroup
	results := make([][]byte, 8)
	for i := range 8 {
		r := newBlockReader(sh, src, "shared-obj") // eight handles on one version
		r.window = 0
		r.next = 100 // not sequential: no prefetch
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 100)
			r.ReadAt(context.Background(), buf, 5*testBlock+10)
			results[i] = buf
		}()
	}
	// Let the fetch proceed only once every reader is waiting on it.
	for waiting(sh, cache.Key{Object: "shared-obj", Block: 5}) < 8 {
		runtime.Gosched()
	}
	close(src.gate)
	wg.Wait()
	for i, b := range results {
		if !bytes.Equal(b, src.p.Bytes(5*testBlock+10, 100)) {
			t.Fatalf("reader %d got wrong bytes", i)
		}
	}
	if src.reads != 1 {
		t.Fatalf("%d fetches for 8 concurrent misses of one block", src.reads)
	}
}

// near reports whether a block within d of b was touched.
func near(touched map[int64]bool, b, d int64) bool {
	for x := b - d; x <= b+d; x++ {
		if touched[x] {
			return true
		}
	}
	return false
}

// waiting is how many readers wait on the fetch of k.
func waiting(sh *blockShared, k cache.Key) int32 {
	if f := sh.inflight.join(k); f != nil {
		return f.waiters.Load()
	}
	return 0
}

func TestPrefetchStaysWithinBudget(t *testing.T) {
	sh := newShared(t, 3*testBlock)
	src := &patternSource{p: testbytes.Pattern{Seed: 4}, size: 64 * testBlock}
	r := newBlockReader(sh, src, "obj")
	buf := make([]byte, testBlock)
	for off := int64(0); off < src.size; off += testBlock {
		if _, err := r.ReadAt(context.Background(), buf, off); err != nil || !bytes.Equal(buf, src.p.Bytes(off, testBlock)) {
			t.Fatalf("read at %d: %v", off, err)
		}
		sh.budget.mu.Lock()
		avail := sh.budget.avail
		sh.budget.mu.Unlock()
		if avail < 0 {
			t.Fatalf("budget overdrawn: %d", avail)
		}
	}
	r.fetches.Wait()
	r.Close()
	if sh.budget.avail != 3*testBlock {
		t.Fatalf("budget %d after close", sh.budget.avail)
	}
}
