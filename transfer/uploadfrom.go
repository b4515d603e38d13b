package transfer

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/oss"
)

// ErrSourceChanged reports a source that changed size while it was uploaded.
var ErrSourceChanged = errors.New("transfer: source changed size while it was uploaded")

// UploadFrom uploads size bytes of src as the object key. Parts are read in order
// into a pool of Concurrency buffers (hashing as they are read) and PUT
// concurrently; the object is completed only if src still holds exactly size
// bytes at the end, and its sha1 is checked against the one APS computes.
func (e *Engine) UploadFrom(ctx context.Context, bucket, key string, src io.ReaderAt, size int64, opts UploadOptions) (*oss.Object, error) {
	partSize := PartSizeFor(size, e.opts.PartSize)
	nparts := partCount(size, partSize)
	opts.PartsHint = nparts
	u := e.NewUpload(bucket, key, opts)
	h := sha1.New()
	if err := e.putParts(ctx, u, src, size, partSize, h); err != nil {
		return nil, err
	}
	if err := checkEnd(src, size); err != nil {
		return nil, fmt.Errorf("%q: %w", key, err)
	}
	return u.Complete(ctx, size, hex.EncodeToString(h.Sum(nil)))
}

// putParts reads every part in order into pooled buffers, hashes it, and PUTs it
// in the background.
func (e *Engine) putParts(ctx context.Context, u *Upload, src io.ReaderAt, size, partSize int64, h io.Writer) error {
	g, gctx := errgroup.WithContext(ctx)
	pool := make(chan []byte, e.opts.Concurrency)
	for range e.opts.Concurrency {
		pool <- nil // allocated on first use, so small uploads stay small
	}
	nparts := partCount(size, partSize)
	for number := 1; number <= nparts; number++ {
		var buf []byte
		select {
		case buf = <-pool:
		case <-gctx.Done():
			return g.Wait()
		}
		off := int64(number-1) * partSize
		n := min(partSize, size-off)
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(io.NewSectionReader(src, off, n), buf); err != nil {
			g.Wait()
			return fmt.Errorf("%q: reading part %d: %w", u.key, number, sourceErr(err))
		}
		h.Write(buf)
		g.Go(func() error {
			defer func() { pool <- buf }()
			return u.PutPart(gctx, number, bytes.NewReader(buf), n)
		})
	}
	return g.Wait()
}

// sourceErr turns a short read into ErrSourceChanged.
func sourceErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrSourceChanged
	}
	return err
}

// checkEnd fails if src holds more than size bytes.
func checkEnd(src io.ReaderAt, size int64) error {
	var b [1]byte
	n, err := src.ReadAt(b[:], size)
	if n > 0 {
		return ErrSourceChanged
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
