package cache

import (
	"fmt"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("DefaultOptions: %v", err)
	}
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero Options: %v", err)
	}
	bad := map[string]Options{
		"negative MaxBytes":     {MaxBytes: -1},
		"negative BlockSize":    {BlockSize: -1},
		"negative DirMaxBytes":  {DirMaxBytes: -1},
		"budget below a block":  {MaxBytes: 1000, BlockSize: 4096},
		"block too large":       {MaxBytes: 4 << 30, BlockSize: 2 << 30},
		"disk below a block":    {Dir: t.TempDir(), DirMaxBytes: 100, BlockSize: 4096},
		"default budget, block": {BlockSize: 512 << 20},
	}
	for name, o := range bad {
		if err := o.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, o)
		}
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := newTestCache(t, Options{})
	if got := c.BlockSize(); got != 1<<20 {
		t.Fatalf("BlockSize() = %d, want 1 MiB", got)
	}
	if got := c.mem.MaxCost(); got != 256<<20 {
		t.Fatalf("memory budget = %d, want 256 MiB", got)
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	c := newTestCache(t, testOptions())
	k := Key{Object: "bucket/a@sha1", Block: 3}
	data := blockData(1, testBlockSize)
	c.Put(k, data)
	c.flush()

	mustGet(t, c, k, data)
	mustMiss(t, c, Key{Object: k.Object, Block: 4})
	mustMiss(t, c, Key{Object: "bucket/a@other", Block: 3})

	s := c.Stats()
	if s.Hits != 1 || s.Misses != 2 {
		t.Fatalf("Hits, Misses = %d, %d; want 1, 2", s.Hits, s.Misses)
	}
	if s.BytesMem != testBlockSize {
		t.Fatalf("BytesMem = %d, want %d", s.BytesMem, testBlockSize)
	}
	if s.DiskHits != 0 || s.DiskMisses != 0 || s.BytesDisk != 0 {
		t.Fatalf("disk counters without a disk tier: %+v", s)
	}
}

func TestShortLastBlockAndOversizedBlock(t *testing.T) {
	c := newTestCache(t, testOptions())
	short := Key{Object: "o", Block: 9}
	c.Put(short, blockData(2, 100))
	big := Key{Object: "o", Block: 10}
	c.Put(big, blockData(3, testBlockSize+1))
	c.flush()
	mustGet(t, c, short, blockData(2, 100))
	mustMiss(t, c, big)
	if n := c.numObjects(); n != 1 {
		t.Fatalf("object index holds %d objects, want 1", n)
	}
}

func TestMemoryBudget(t *testing.T) {
	o := testOptions()
	c := newTestCache(t, o)
	n := int(3 * o.MaxBytes / testBlockSize)
	for i := range n {
		c.Put(Key{Object: "obj", Block: int64(i)}, blockData(i, testBlockSize))
		c.flush()
	}
	s := c.Stats()
	if s.BytesMem > o.MaxBytes || s.BytesMem <= 0 {
		t.Fatalf("BytesMem = %d, want in (0, %d]", s.BytesMem, o.MaxBytes)
	}
	var held int64
	for i := range n {
		k := Key{Object: "obj", Block: int64(i)}
		if data, ok := c.Get(k); ok {
			if string(data) != string(blockData(i, testBlockSize)) {
				t.Fatalf("block %d: wrong bytes", i)
			}
			held += int64(len(data))
		}
	}
	if held > o.MaxBytes || held == 0 {
		t.Fatalf("blocks served total %d bytes, want in (0, %d]", held, o.MaxBytes)
	}
	// The object index follows ristretto: refused and evicted blocks leave it.
	c.mu.Lock()
	indexed := len(c.objects["obj"].blocks)
	c.mu.Unlock()
	if int64(indexed)*testBlockSize > o.MaxBytes {
		t.Fatalf("object index lists %d blocks, more than the budget holds", indexed)
	}
}

func TestObjectIndexIsBounded(t *testing.T) {
	c := newTestCache(t, testOptions())
	for i := range 200 {
		c.Put(Key{Object: fmt.Sprintf("obj-%d", i), Block: 0}, blockData(i, testBlockSize))
	}
	c.flush()
	if n := c.numObjects(); n > 16 {
		t.Fatalf("object index holds %d objects after 200 one-block objects in a 16-block cache", n)
	}
}

func TestHashCollisionIsAMiss(t *testing.T) {
	c := newTestCache(t, testOptions())
	c.memHash = func(Key) uint64 { return 42 } // every Key on one slot
	a, b := Key{Object: "a", Block: 0}, Key{Object: "b", Block: 0}
	dataA, dataB := blockData(1, 10), blockData(2, 10)

	c.Put(a, dataA)
	c.flush()
	mustGet(t, c, a, dataA)
	mustMiss(t, c, b) // slot holds a

	c.Put(b, dataB) // replaces a in the slot
	c.flush()
	mustMiss(t, c, a)
	mustGet(t, c, b, dataB)
	mustMiss(t, c, Key{Object: "b", Block: 1})
}

func TestInvalidateMemory(t *testing.T) {
	c := newTestCache(t, testOptions())
	for i := range 4 {
		c.Put(Key{Object: "x", Block: int64(i)}, blockData(i, testBlockSize))
	}
	y := Key{Object: "y", Block: 0}
	c.Put(y, blockData(9, testBlockSize))
	c.flush()
	mustGet(t, c, Key{Object: "x", Block: 2}, blockData(2, testBlockSize))

	c.Invalidate("x")
	c.flush()
	for i := range 4 {
		mustMiss(t, c, Key{Object: "x", Block: int64(i)})
	}
	mustGet(t, c, y, blockData(9, testBlockSize))
	if got := c.Stats().BytesMem; got != testBlockSize {
		t.Fatalf("BytesMem after Invalidate = %d, want the one block of y (%d)", got, testBlockSize)
	}
	if n := c.numObjects(); n != 1 {
		t.Fatalf("object index holds %d objects, want 1", n)
	}

	// A Put after Invalidate stores normally.
	k := Key{Object: "x", Block: 0}
	c.Put(k, blockData(5, testBlockSize))
	c.flush()
	mustGet(t, c, k, blockData(5, testBlockSize))
}

// TestPutRacingInvalidate stops a Put after it recorded its block and before
// ristretto stores it, invalidates the object there, and checks that the
// block ristretto then stores is never served.
func TestPutRacingInvalidate(t *testing.T) {
	c := newTestCache(t, testOptions())
	k := Key{Object: "x", Block: 0}
	c.hooks.beforeMemSet = func(Key) {
		c.hooks.beforeMemSet = nil
		c.Invalidate("x")
	}
	c.Put(k, blockData(1, testBlockSize))
	c.flush()
	if e, ok := c.mem.Get(c.memHash(k)); ok && e.current() {
		t.Fatal("ristretto holds a current entry stored before Invalidate")
	}
	mustMiss(t, c, k)

	c.Put(k, blockData(2, testBlockSize))
	c.flush()
	mustGet(t, c, k, blockData(2, testBlockSize))
}

func TestClosedCache(t *testing.T) {
	c := newTestCache(t, testOptions())
	k := Key{Object: "o", Block: 0}
	c.Put(k, blockData(1, 10))
	c.flush()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	mustMiss(t, c, k)
	c.Put(k, blockData(1, 10)) // no panic, no effect
	c.Invalidate("o")
	if n := c.numObjects(); n != 0 {
		t.Fatalf("object index holds %d objects after Close", n)
	}
}
