package cache

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestFetchSingleflight(t *testing.T) {
	c := newTestCache(t, testOptions())
	k := Key{Object: "o", Block: 1}
	data := blockData(7, testBlockSize)
	const waiters = 16

	joined := make(chan struct{}, waiters)
	c.hooks.waiting = func(Key) { joined <- struct{}{} }
	release := make(chan struct{})
	var calls atomic.Int64
	fetch := func(context.Context) ([]byte, error) {
		calls.Add(1)
		<-release
		return data, nil
	}

	results := make([][]byte, waiters)
	errs := make([]error, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() { results[i], errs[i] = c.Fetch(t.Context(), k, fetch) })
	}
	for range waiters {
		<-joined // every Fetch has joined the flight, which cannot end before release
	}
	close(release)
	wg.Wait()

	if n := calls.Load(); n != 1 {
		t.Fatalf("fetch called %d times, want 1", n)
	}
	for i := range waiters {
		if errs[i] != nil || !bytes.Equal(results[i], data) {
			t.Fatalf("waiter %d: err %v, %d bytes", i, errs[i], len(results[i]))
		}
	}
	s := c.Stats()
	if s.Fetches != 1 || s.SharedFetches != waiters-1 {
		t.Fatalf("Fetches, SharedFetches = %d, %d; want 1, %d", s.Fetches, s.SharedFetches, waiters-1)
	}

	c.flush()
	c.hooks.waiting = nil
	got, err := c.Fetch(t.Context(), k, func(context.Context) ([]byte, error) {
		t.Fatal("fetch called for a cached block")
		return nil, nil
	})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Fetch of a cached block: %v", err)
	}
}

// TestFetchLeaderCancelled cancels the caller whose fetch is running: it
// returns at once, while the fetch, on an uncancelled context, completes for
// the other waiter and is cached.
func TestFetchLeaderCancelled(t *testing.T) {
	c := newTestCache(t, testOptions())
	k := Key{Object: "o", Block: 0}
	data := blockData(3, testBlockSize)

	started := make(chan struct{})
	release := make(chan struct{})
	fetchCtxErr := make(chan error, 1)
	fetch := func(ctx context.Context) ([]byte, error) {
		close(started)
		<-release
		fetchCtxErr <- ctx.Err()
		return data, nil
	}
	joined := make(chan struct{}, 2)
	c.hooks.waiting = func(Key) { joined <- struct{}{} }

	leaderCtx, cancel := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.Fetch(leaderCtx, k, fetch)
		leaderErr <- err
	}()
	<-started
	<-joined

	type result struct {
		data []byte
		err  error
	}
	other := make(chan result, 1)
	go func() {
		d, err := c.Fetch(t.Context(), k, fetch)
		other <- result{d, err}
	}()
	<-joined

	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled leader: err %v, want context.Canceled", err)
	}
	close(release)
	r := <-other
	if r.err != nil || !bytes.Equal(r.data, data) {
		t.Fatalf("other waiter: err %v, %d bytes", r.err, len(r.data))
	}
	if err := <-fetchCtxErr; err != nil {
		t.Fatalf("fetch saw ctx.Err() = %v after its first caller gave up", err)
	}
	c.flush()
	mustGet(t, c, k, data)
	if s := c.Stats(); s.Fetches != 1 || s.SharedFetches != 1 {
		t.Fatalf("Fetches, SharedFetches = %d, %d; want 1, 1", s.Fetches, s.SharedFetches)
	}
}

func TestFetchCancelledBeforeStart(t *testing.T) {
	c := newTestCache(t, testOptions())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.Fetch(ctx, Key{Object: "o"}, func(context.Context) ([]byte, error) {
		t.Fatal("fetch called with a cancelled context")
		return nil, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestFetchErrorIsSharedAndNotCached(t *testing.T) {
	c := newTestCache(t, testOptions())
	k := Key{Object: "o", Block: 2}
	boom := errors.New("boom")

	joined := make(chan struct{}, 2)
	c.hooks.waiting = func(Key) { joined <- struct{}{} }
	release := make(chan struct{})
	var calls atomic.Int64
	failing := func(context.Context) ([]byte, error) {
		calls.Add(1)
		<-release
		return nil, boom
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Fetch(t.Context(), k, failing) })
	}
	<-joined
	<-joined
	close(release)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Fatalf("waiter %d: err %v, want boom", i, err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("fetch called %d times, want 1", calls.Load())
	}

	c.flush()
	mustMiss(t, c, k)
	if n := c.numObjects(); n != 0 {
		t.Fatalf("a failed fetch left %d objects in the index", n)
	}
	c.hooks.waiting = nil
	data := blockData(4, testBlockSize)
	got, err := c.Fetch(t.Context(), k, func(context.Context) ([]byte, error) {
		calls.Add(1)
		return data, nil
	})
	if err != nil || !bytes.Equal(got, data) || calls.Load() != 2 {
		t.Fatalf("Fetch after a failed one: err %v, calls %d", err, calls.Load())
	}
}

// TestFetchRacingInvalidate invalidates an object while its block is being
// fetched: the callers get the bytes, neither tier keeps them.
func TestFetchRacingInvalidate(t *testing.T) {
	o := testOptions()
	o.Dir = t.TempDir()
	c := newTestCache(t, o)
	k := Key{Object: "x", Block: 0}
	data := blockData(5, testBlockSize)
	started := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		got, err := c.Fetch(t.Context(), k, func(context.Context) ([]byte, error) {
			close(started)
			<-release
			return data, nil
		})
		if err == nil && !bytes.Equal(got, data) {
			err = errors.New("wrong bytes")
		}
		done <- err
	}()
	<-started
	c.Invalidate("x")
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	c.flush()
	mustMiss(t, c, k)
	if c.disk.has(k) {
		t.Fatal("disk tier indexed a block fetched before Invalidate")
	}
	if n := c.numObjects(); n != 0 {
		t.Fatalf("object index holds %d objects", n)
	}
}

func TestFetchOversizedIsReturnedNotCached(t *testing.T) {
	c := newTestCache(t, testOptions())
	k := Key{Object: "o", Block: 0}
	big := blockData(1, testBlockSize+1)
	got, err := c.Fetch(t.Context(), k, func(context.Context) ([]byte, error) { return big, nil })
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Fetch: %v", err)
	}
	c.flush()
	mustMiss(t, c, k)
	if n := c.numObjects(); n != 0 {
		t.Fatalf("object index holds %d objects", n)
	}
}
