package spill

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
)

// TestFillFetchesOnlyMissing: a read fetches exactly the bytes that are
// neither written nor fetched before, once.
func TestFillFetchesOnlyMissing(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	base := newPatternBase(1, 1000)
	f, err := d.OpenExisting(1000, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := pattern(1, 0, 1000)
	mustWrite(t, f, bytes.Repeat([]byte{'w'}, 100), 100)
	copy(want[100:200], bytes.Repeat([]byte{'w'}, 100))

	buf := make([]byte, 50)
	if _, err := f.ReadAt(context.Background(), buf, 120); err != nil { // all written
		t.Fatal(err)
	}
	if calls, n := base.stats(); calls != 0 || n != 0 {
		t.Fatalf("a read of written bytes fetched %d bytes in %d calls", n, calls)
	}
	if _, err := f.ReadAt(context.Background(), buf, 300); err != nil {
		t.Fatal(err)
	}
	checkContent(t, f, want) // fetches [0,100), [200,300), [350,1000)
	checkContent(t, f, want)
	if calls, n := base.stats(); calls != 4 || n != 900 {
		t.Fatalf("fetched %d bytes in %d calls, want 900 in 4", n, calls)
	}
	if !f.AllLocal() || f.Dirty() != true {
		t.Fatalf("AllLocal %v, Dirty %v; want both", f.AllLocal(), f.Dirty())
	}
}

// TestFillChunks: a fetch asks for at most FillChunk bytes, and FillAll
// fetches everything missing.
func TestFillChunks(t *testing.T) {
	d := testDir(t, modelPartSize, 100)
	d.opts.FillConcurrency = 3
	base := newPatternBase(2, 1050)
	f, err := d.OpenExisting(1050, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.FillAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls, n := base.stats(); calls != 11 || n != 1050 {
		t.Fatalf("fetched %d bytes in %d calls, want 1050 in 11", n, calls)
	}
	if f.Dirty() {
		t.Fatal("filling made the File dirty")
	}
	checkContent(t, f, pattern(2, 0, 1050))
}

// TestConcurrentReadersFetchOnce: readers of bytes being fetched wait for
// that fetch; a reader of a wider range fetches only what no one is
// fetching.
func TestConcurrentReadersFetchOnce(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	base := newPatternBase(3, 1000)
	started, release := make(chan struct{}), make(chan struct{})
	base.hook = func(ctx context.Context, call int, off int64) error {
		if off == 0 { // the first reader's fetch of [0, 100)
			close(started)
			<-release
		}
		return nil
	}
	f, err := d.OpenExisting(1000, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	waiting := make(chan struct{}, 16)
	f.waitHook = func() { waiting <- struct{}{} }

	const readers = 5
	var wg sync.WaitGroup
	errs := make(chan error, readers+1)
	read := func(off, n int64) {
		defer wg.Done()
		buf := make([]byte, n)
		if _, err := f.ReadAt(context.Background(), buf, off); err != nil {
			errs <- err
		} else if !bytes.Equal(buf, pattern(3, off, n)) {
			errs <- errors.New("wrong bytes")
		}
	}
	wg.Add(1)
	go read(0, 100)
	<-started
	wg.Add(readers)
	for range readers - 1 {
		go read(0, 100)
	}
	go read(50, 100) // fetches [100, 150) itself, waits for [50, 100)
	for range readers {
		<-waiting
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if calls, n := base.stats(); calls != 2 || n != 150 {
		t.Fatalf("fetched %d bytes in %d calls, want 150 in 2", n, calls)
	}
}

// TestWaiterRetriesWhenFetcherGivesUp: when the reader whose fetch another
// waits for is cancelled, the waiter fetches for itself.
func TestWaiterRetriesWhenFetcherGivesUp(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	base := newPatternBase(4, 300)
	started := make(chan struct{})
	base.hook = func(ctx context.Context, call int, off int64) error {
		if call == 1 {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	f, err := d.OpenExisting(300, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	waiting := make(chan struct{}, 1)
	f.waitHook = func() { waiting <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := f.ReadAt(ctx, make([]byte, 300), 0)
		first <- err
	}()
	<-started
	second := make(chan error, 1)
	go func() {
		buf := make([]byte, 300)
		_, err := f.ReadAt(context.Background(), buf, 0)
		if err == nil && !bytes.Equal(buf, pattern(4, 0, 300)) {
			err = errors.New("wrong bytes")
		}
		second <- err
	}()
	<-waiting
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled reader: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("waiting reader: %v", err)
	}
	if calls, _ := base.stats(); calls != 2 {
		t.Fatalf("%d fetches, want 2", calls)
	}
}

// TestShrinkThenGrowReadsZeros: bytes past a shrink are zeros after the File
// grows again, and the original is never read there.
func TestShrinkThenGrowReadsZeros(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	base := newPatternBase(5, 1000)
	f, err := d.OpenExisting(1000, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(300); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1000); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, f, []byte("tail"), 1200)
	want := append(pattern(5, 0, 300), make([]byte, 904)...)
	copy(want[1200:], "tail")
	checkContent(t, f, want)
	if calls, n := base.stats(); calls != 1 || n != 300 {
		t.Fatalf("fetched %d bytes in %d calls, want 300 in 1", n, calls)
	}
	if err := f.FillAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	plan, err := f.PlanCommit()
	if err != nil {
		t.Fatal(err)
	}
	var object []byte
	for _, p := range plan.Parts {
		object = append(object, partBytes(t, p)...)
	}
	if !bytes.Equal(object, want) {
		t.Fatalf("parts differ from the content at %d", firstDiff(object, want))
	}
}

// TestFetchFailure: a failed fetch fails the read and leaves the bytes
// missing; a short original is an error, not zeros.
func TestFetchFailure(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	base := newPatternBase(6, 500)
	boom := errors.New("network down")
	fail := true
	base.hook = func(context.Context, int, int64) error {
		if fail {
			return boom
		}
		return nil
	}
	f, err := d.OpenExisting(600, base) // 100 bytes longer than the original
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 100)
	if _, err := f.ReadAt(context.Background(), buf, 0); !errors.Is(err, boom) {
		t.Fatalf("ReadAt = %v, want %v", err, boom)
	}
	fail = false
	if _, err := f.ReadAt(context.Background(), buf, 0); err != nil || !bytes.Equal(buf, pattern(6, 0, 100)) {
		t.Fatalf("ReadAt after recovery: %v", err)
	}
	if _, err := f.ReadAt(context.Background(), buf, 450); err == nil {
		t.Fatal("reading past the end of a shorter original succeeded")
	}
	if f.AllLocal() {
		t.Fatal("AllLocal after a failed fetch")
	}
}

// TestChangesDuringFetchWin: bytes written, and a truncate made, while a
// fetch of them is in flight are not overwritten by the original's bytes
// when it lands.
func TestChangesDuringFetchWin(t *testing.T) {
	d := testDir(t, modelPartSize, 1<<20)
	base := newPatternBase(14, 1000)
	started, release := make(chan struct{}), make(chan struct{})
	base.hook = func(context.Context, int, int64) error {
		close(started)
		<-release
		return nil
	}
	f, err := d.OpenExisting(1000, base)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	done := make(chan error, 1)
	go func() {
		_, err := f.ReadAt(context.Background(), make([]byte, 1000), 0)
		done <- err
	}()
	<-started
	mustWrite(t, f, []byte("written"), 100)
	if err := f.Truncate(500); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(800); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; !errors.Is(err, io.EOF) { // the File shrank under the read
		t.Fatalf("ReadAt = %v, want EOF", err)
	}
	want := append(pattern(14, 0, 500), make([]byte, 300)...)
	copy(want[100:], "written")
	checkContent(t, f, want)
	if !f.AllLocal() {
		t.Fatal("not all local after the fetch landed")
	}
}
