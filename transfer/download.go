package transfer

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"
)

// ErrChecksum reports bytes whose sha1 is not the one APS holds for the object.
var ErrChecksum = errors.New("transfer: sha1 mismatch")

// DownloadTo writes the whole object to w in order. Ranges of RangeSize are
// fetched concurrently, at most Concurrency of them ahead of the one being
// written, so memory stays at Concurrency*RangeSize whatever the object's size.
// The bytes' sha1 is checked against the one APS reports, when it reports one.
func (e *Engine) DownloadTo(ctx context.Context, bucket, key string, w io.Writer) (Identity, error) {
	return e.download(ctx, bucket, key, w, nil)
}

// DownloadToFile is DownloadTo for a destination that takes writes at offsets
// (a file): each range is written by the goroutine that fetched it, in parallel,
// and only the sha1 runs in order, so neither the writes nor the hash stand on
// one goroutine's critical path.
func (e *Engine) DownloadToFile(ctx context.Context, bucket, key string, w io.WriterAt) (Identity, error) {
	return e.download(ctx, bucket, key, nil, w)
}

func (e *Engine) download(ctx context.Context, bucket, key string, w io.Writer, wa io.WriterAt) (Identity, error) {
	r, err := e.Open(ctx, bucket, key)
	if err != nil {
		return Identity{}, err
	}
	h := sha1.New()
	var ordered io.Writer = h
	if w != nil {
		ordered = io.MultiWriter(w, h)
	}
	if err := r.copyInOrder(ctx, ordered, wa); err != nil {
		return Identity{}, err
	}
	id := r.Identity()
	if sum := hex.EncodeToString(h.Sum(nil)); id.SHA1 != "" && sum != id.SHA1 {
		return id, fmt.Errorf("%q: downloaded bytes have sha1 %s, APS says %s: %w", key, sum, id.SHA1, ErrChecksum)
	}
	return id, nil
}

// rangeBuf is one range being fetched and the outcome of fetching it.
type rangeBuf struct {
	buf  []byte
	done chan error
}

// copyInOrder fetches the object range by range, a window of ranges ahead, and
// writes them to w in order; with wa, each range is first written at its offset
// by the goroutine that fetched it.
func (r *Reader) copyInOrder(ctx context.Context, w io.Writer, wa io.WriterAt) error {
	size, step := r.Size(), r.e.opts.RangeSize
	nranges := int((size + step - 1) / step)
	window := r.e.opts.Concurrency
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	ranges := make([]*rangeBuf, nranges)
	free := make(chan []byte, window)
	start := func(i int) {
		off := int64(i) * step
		var buf []byte
		select {
		case buf = <-free:
		default:
			buf = make([]byte, step)
		}
		rb := &rangeBuf{buf: buf[:min(step, size-off)], done: make(chan error, 1)}
		ranges[i] = rb
		g.Go(func() error {
			err := r.fetch(gctx, rb.buf, off)
			if err == nil && wa != nil {
				_, err = wa.WriteAt(rb.buf, off)
			}
			rb.done <- err
			return err
		})
	}
	err := func() error {
		launched := 0
		for next := range nranges {
			for ; launched < nranges && launched < next+window; launched++ {
				start(launched)
			}
			if err := <-ranges[next].done; err != nil {
				return err
			}
			if _, err := w.Write(ranges[next].buf); err != nil {
				return err
			}
			select {
			case free <- ranges[next].buf[:cap(ranges[next].buf)]:
			default:
			}
			ranges[next] = nil
		}
		return nil
	}()
	if err != nil {
		cancel()
	}
	if gerr := g.Wait(); err == nil {
		err = gerr
	}
	return err
}
