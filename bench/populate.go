package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/oss"
	"github.com/ossfs/ossfs/transfer"
)

// Set-up of the mount workloads: objects are put in place by the in-process
// client (no call limit; the emulators run with --quota -1), before and apart
// from any measurement.

// populateConcurrency is how many batches of 25 objects are in flight at once.
const populateConcurrency = 8

// objectContent is the content of small object i of a set: size bytes of a
// ChaCha8 stream seeded by the set's name and i (distinct, incompressible).
func objectContent(set string, i, size int) []byte {
	var seed [32]byte
	copy(seed[:], fmt.Sprintf("%s/%d", set, i))
	b := make([]byte, size)
	_, _ = io.ReadFull(rand.NewChaCha8(seed), b)
	return b
}

// populate makes n objects of size bytes named key(i) through the batch
// endpoints: batchsigneds3upload (25 per call), one PUT each, batchcompleteupload
// (25 per call), populateConcurrency batches at a time. It is done once per
// emulator and set.
func (e *env) populate(ctx context.Context, set string, n, size int, key func(i int) string) error {
	if e.emu.populated[set] {
		return nil
	}
	start := time.Now()
	c := e.emu.client
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(populateConcurrency)
	for first := 0; first < n; first += 25 {
		last := min(first+25, n)
		g.Go(func() error { return populateBatch(gctx, c, set, first, last, size, key) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("populating %d objects of %s: %w", n, set, err)
	}
	if e.emu.populated == nil {
		e.emu.populated = map[string]bool{}
	}
	e.emu.populated[set] = true
	logf("%s: %d objects of %d bytes put in %.1fs", e.name, n, size, time.Since(start).Seconds())
	return nil
}

func populateBatch(ctx context.Context, c *oss.Client, set string, first, last, size int, key func(int) string) error {
	items := make([]oss.BatchUploadItem, 0, last-first)
	for i := first; i < last; i++ {
		items = append(items, oss.BatchUploadItem{ObjectKey: key(i), Parts: 1})
	}
	urls, err := c.BatchSignedUploadURLs(ctx, benchBucket, items, urlMinutes)
	if err != nil {
		return err
	}
	done := make([]oss.BatchCompleteItem, len(items))
	g, gctx := errgroup.WithContext(ctx)
	for j, it := range items {
		g.Go(func() error {
			u := urls[it.ObjectKey]
			if u.Err != nil {
				return u.Err
			}
			eTag, err := c.UploadPart(gctx, u.URLs[0], bytes.NewReader(objectContent(set, first+j, size)), int64(size))
			if err != nil {
				return err
			}
			done[j] = oss.BatchCompleteItem{ObjectKey: it.ObjectKey,
				CompleteRequest: oss.CompleteRequest{UploadKey: u.UploadKey, Size: int64(size), ETags: []string{eTag}}}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	res, err := c.BatchCompleteUpload(ctx, benchBucket, done)
	if err != nil {
		return err
	}
	for k, r := range res {
		if r.Err != nil {
			return fmt.Errorf("%s: %w", k, r.Err)
		}
	}
	return nil
}

// sharedObject is the key of an object holding the data file's bytes, put
// once per emulator and kept for the run: the mount-read and mount-random
// workloads all read it.
func (e *env) sharedObject(ctx context.Context) (string, error) {
	key := "shared/data-" + formatSize(e.data.size)
	return key, e.putFile(ctx, key, e.data.path, 1)
}

// putFile uploads copies concatenated copies of the file at path as key,
// once per emulator (a repeated reader of the file: no local file of
// copies × its size is needed), and checks the object's size.
func (e *env) putFile(ctx context.Context, key, path string, copies int64) error {
	if e.emu.populated[key] {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	size := e.data.size * copies
	engine, err := transfer.New(e.emu.client, transfer.DefaultOptions())
	if err != nil {
		return err
	}
	logf("%s: putting %s (%d bytes)", e.name, key, size)
	start := time.Now()
	o, err := engine.UploadFrom(ctx, benchBucket, key, repeatedReader{f, e.data.size, size}, size, transfer.UploadOptions{})
	if err != nil {
		return fmt.Errorf("putting %s: %w", key, err)
	}
	if o.Size != size || (copies == 1 && o.SHA1 != "" && o.SHA1 != e.data.sha1) {
		return fmt.Errorf("object %s: size %d sha1 %s, want %d bytes of the data file", key, o.Size, o.SHA1, size)
	}
	logf("%s: %s put in %.1fs", e.name, key, time.Since(start).Seconds())
	if e.emu.populated == nil {
		e.emu.populated = map[string]bool{}
	}
	e.emu.populated[key] = true
	return nil
}

// repeatedReader reads r (n bytes) over and over up to total bytes: byte i
// is r's byte i mod n.
type repeatedReader struct {
	r        io.ReaderAt
	n, total int64
}

func (rr repeatedReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= rr.total {
		return 0, io.EOF
	}
	var eof error
	if int64(len(p)) > rr.total-off {
		p, eof = p[:rr.total-off], io.EOF
	}
	done := 0
	for done < len(p) {
		o := (off + int64(done)) % rr.n
		k, err := rr.r.ReadAt(p[done:min(len(p), done+int(rr.n-o))], o)
		done += k
		if err != nil && err != io.EOF {
			return done, err
		}
		if k == 0 {
			return done, io.ErrUnexpectedEOF
		}
	}
	return done, eof
}
