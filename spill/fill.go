package spill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"golang.org/x/sync/errgroup"
)

// fill is one fetch of a span of the original in flight. Two fills never
// overlap, so no byte is fetched by two callers at once.
type fill struct {
	span
	done chan struct{} // closed when the fetch is over
	err  error         // why it failed; set before done is closed
}

// FillAll fetches every byte of the original that is not local yet, with up
// to Options.FillConcurrency fetches at once, so that the whole File can be
// uploaded.
func (f *File) FillAll(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for range f.opts.FillConcurrency {
		g.Go(func() error { return f.fill(ctx, 0, math.MaxInt64) })
	}
	return g.Wait()
}

// fill makes [lo, hi) local: it fetches the spans of it that are missing and
// no one is fetching, and waits for those that someone is.
func (f *File) fill(ctx context.Context, lo, hi int64) error {
	for {
		mine, theirs, err := f.claimFill(lo, hi)
		switch {
		case err != nil:
			return err
		case mine != nil:
			err = f.runFill(ctx, mine)
		case theirs != nil:
			err = f.awaitFill(ctx, theirs)
		default:
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// claimFill finds the first missing span of [lo, hi). It returns a new fill
// of up to FillChunk bytes that the caller must run, or else a fill in flight
// to wait for, or neither when [lo, hi) is all local.
func (f *File) claimFill(lo, hi int64) (mine, theirs *fill, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usableLocked(); err != nil {
		return nil, nil, err
	}
	missing := f.present.gaps(lo, min(hi, f.baseSize))
	if len(missing) == 0 {
		return nil, nil, nil
	}
	free := missing
	for _, fl := range f.fills {
		free = subtract(free, fl.span)
	}
	if len(free) == 0 {
		return nil, f.fillOverlappingLocked(missing[0]), nil
	}
	s := free[0]
	s.hi = min(s.hi, s.lo+f.opts.FillChunk)
	mine = &fill{span: s, done: make(chan struct{})}
	f.fills = append(f.fills, mine)
	return mine, nil, nil
}

func (f *File) fillOverlappingLocked(s span) *fill {
	for _, fl := range f.fills {
		if fl.lo < s.hi && s.lo < fl.hi {
			return fl
		}
	}
	panic("spill: missing span covered by no fill")
}

// runFill fetches fl from the original and stores what is still missing of
// it, then lets its waiters go.
func (f *File) runFill(ctx context.Context, fl *fill) error {
	buf := make([]byte, fl.hi-fl.lo)
	n, err := f.base.ReadAt(ctx, buf, fl.lo)
	if err == nil || errors.Is(err, io.EOF) {
		err = nil
		if n < len(buf) {
			err = io.ErrUnexpectedEOF // the original is shorter than it was
		}
	}
	if err != nil {
		err = fmt.Errorf("spill: fetching bytes %d-%d of the original: %w", fl.lo, fl.hi, err)
	} else {
		err = f.storeFill(fl.span, buf)
	}
	f.finishFill(fl, err)
	return err
}

// storeFill writes the fetched bytes of s that are still missing: bytes
// written or truncated away meanwhile are newer than the original's.
func (f *File) storeFill(s span, buf []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.usableLocked(); err != nil {
		return err
	}
	defer f.normalizeLocked()
	for _, g := range f.present.gaps(s.lo, min(s.hi, f.baseSize)) {
		n, err := f.pwrite(buf[g.lo-s.lo:g.hi-s.lo], g.lo)
		f.present.add(g.lo, g.lo+int64(n))
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *File) finishFill(fl *fill, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, other := range f.fills {
		if other == fl {
			f.fills = append(f.fills[:i], f.fills[i+1:]...)
			break
		}
	}
	fl.err = err
	close(fl.done)
}

// awaitFill waits for another caller's fetch. Its failure is the caller's
// too, unless it only means that the other caller gave up (its context
// ended): then the caller tries for itself.
func (f *File) awaitFill(ctx context.Context, fl *fill) error {
	if f.waitHook != nil {
		f.waitHook()
	}
	select {
	case <-fl.done:
		if fl.err != nil && !errors.Is(fl.err, context.Canceled) && !errors.Is(fl.err, context.DeadlineExceeded) {
			return fl.err
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
