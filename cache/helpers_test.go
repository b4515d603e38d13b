package cache

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
)

const testBlockSize = 4096

// testOptions is a small cache: 16 blocks of 4 KiB in memory.
func testOptions() Options {
	return Options{MaxBytes: 16 * testBlockSize, BlockSize: testBlockSize}
}

func newTestCache(t *testing.T, o Options) *Cache {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// blockData is computable test data: byte i of a block is a function of i and
// the seed.
func blockData(seed, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + seed*7 + 1)
	}
	return b
}

// flush waits until queued disk writes are done and ristretto has applied
// every Set, so that a test sees the cache's settled state.
func (c *Cache) flush() {
	c.jobs.Wait()
	c.life.RLock()
	defer c.life.RUnlock()
	if !c.closed.Load() {
		c.mem.Wait()
	}
}

// numObjects is the size of the memory tier's object index.
func (c *Cache) numObjects() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.objects)
}

func mustGet(t *testing.T, c *Cache, k Key, want []byte) {
	t.Helper()
	got, ok := c.Get(k)
	if !ok {
		t.Fatalf("Get(%v): miss, want hit", k)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%v): wrong bytes", k)
	}
}

func mustMiss(t *testing.T, c *Cache, k Key) {
	t.Helper()
	if _, ok := c.Get(k); ok {
		t.Fatalf("Get(%v): hit, want miss", k)
	}
}

// countingHandler counts log records per level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
}

func newCountingHandler() *countingHandler {
	return &countingHandler{counts: make(map[slog.Level]int)}
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *countingHandler) WithGroup(string) slog.Handler            { return h }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[r.Level]++
	return nil
}

func (h *countingHandler) count(l slog.Level) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[l]
}
