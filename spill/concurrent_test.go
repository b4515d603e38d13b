package spill

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
)

// TestConcurrentHandles runs writers of disjoint regions, readers, a filler
// and a background uploader on one File at once (for -race), checking that
// every byte read is the original's or the writer's, and the end result.
func TestConcurrentHandles(t *testing.T) {
	const (
		ps      = modelPartSize
		writers = 4
		region  = 4 * ps
		size    = writers * region
	)
	d := testDir(t, ps, 40)
	base := newPatternBase(40, size)
	f, err := d.OpenExisting(size, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	written := pattern(41, 0, size)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range writers {
		wg.Go(func() {
			for off := int64(w*region + w); off < int64((w+1)*region); off += 7 { // leaves gaps to fetch
				end := min(off+5, int64((w+1)*region))
				if _, err := f.WriteAt(written[off:end], off); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			buf := make([]byte, 3*ps)
			for off := int64(r * 11); off < size; off += 37 {
				n, err := f.ReadAt(ctx, buf, off)
				if err != nil && n == 0 {
					errs <- err
					return
				}
				for i, b := range buf[:n] {
					if at := off + int64(i); b != base.content[at] && b != written[at] {
						errs <- fmt.Errorf("byte %d is %d: neither the original's nor written", at, b)
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		if err := f.FillAll(ctx); err != nil {
			errs <- err
		}
	})
	wg.Go(func() {
		for range 50 {
			for _, p := range f.ReadyParts(size) {
				if _, err := io.ReadAll(p.Section); err != nil {
					errs <- err
				}
				f.PartUploaded(p.Number, p.Gen)
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := bytes.Clone(base.content)
	for w := range writers {
		for off := int64(w*region + w); off < int64((w+1)*region); off += 7 {
			end := min(off+5, int64((w+1)*region))
			copy(want[off:end], written[off:end])
		}
	}
	checkContent(t, f, want)
	if base.twice {
		t.Fatal("a byte of the original was fetched twice")
	}
}
