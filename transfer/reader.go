package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ossfs/ossfs/oss"
)

// ErrStale reports that an object was replaced while it was being read: its size,
// sha1 or S3 ETag changed between two responses. The mount answers it with ESTALE.
var ErrStale = errors.New("transfer: object changed while it was being read")

// Identity is what tells one version of an object from another.
type Identity struct {
	Size int64
	SHA1 string // from APS; "" when APS gave none
	ETag string // S3's ETag, learned from the first response; "" until then
}

// Reader reads ranges of one version of an object. Every response is checked
// against the version seen first; a different one fails with ErrStale, so a
// reader never mixes two versions. It is safe for concurrent use.
type Reader struct {
	e           *Engine
	bucket, key string

	mu sync.Mutex
	id Identity // guarded by mu
}

// Open returns a Reader for the object's current version (one signeds3download
// unless the Engine holds a fresh URL for it).
func (e *Engine) Open(ctx context.Context, bucket, key string) (*Reader, error) {
	return e.OpenFresh(ctx, bucket, key, 0)
}

// OpenFresh is Open where what the Engine knows of the object may be at most
// maxAge old (0: as old as a live URL): a mount opening a file after its metadata
// TTL sees a remote change instead of a cached URL's view of the old version.
func (e *Engine) OpenFresh(ctx context.Context, bucket, key string, maxAge time.Duration) (*Reader, error) {
	su, err := e.urls.getWithin(ctx, bucket, key, maxAge)
	if err != nil {
		return nil, err
	}
	return &Reader{e: e, bucket: bucket, key: key, id: Identity{Size: su.size, SHA1: su.sha1}}, nil
}

// Prime fetches download URLs for several objects of a bucket in batch calls, so
// that opening each of them afterwards costs no OSS call.
func (e *Engine) Prime(ctx context.Context, bucket string, keys []string) error {
	return e.urls.prime(ctx, bucket, keys)
}

// Stat returns the object's size and sha1 from a signed download URL, which it
// keeps for the object: a download that follows costs no further OSS call.
func (e *Engine) Stat(ctx context.Context, bucket, key string) (Identity, error) {
	su, err := e.urls.get(ctx, bucket, key)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Size: su.size, SHA1: su.sha1}, nil
}

// HasURL reports whether the Engine holds a usable download URL for the object
// whose view of it is at most maxAge old (0: any age): opening it costs no call.
func (e *Engine) HasURL(bucket, key string, maxAge time.Duration) bool {
	return e.urls.has(bucket, key, maxAge)
}

// Identity returns the version this Reader reads.
func (r *Reader) Identity() Identity {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.id
}

// Size is the object's size.
func (r *Reader) Size() int64 { return r.Identity().Size }

// ReadAt reads len(p) bytes at off, as io.ReaderAt does (io.EOF when the object
// ends first). A read larger than the Engine's RangeSize is split into ranged
// GETs run concurrently under the Engine's concurrency limit.
func (r *Reader) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	size := r.Size()
	if off < 0 {
		return 0, fmt.Errorf("transfer: negative offset %d", off)
	}
	if off >= size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), size-off))
	if err := r.readFull(ctx, p[:n], off); err != nil {
		return 0, err
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readFull fills p from off, splitting it into RangeSize pieces fetched concurrently.
func (r *Reader) readFull(ctx context.Context, p []byte, off int64) error {
	step := int(r.e.opts.RangeSize)
	if len(p) <= step {
		return r.fetch(ctx, p, off)
	}
	g, gctx := errgroup.WithContext(ctx)
	for start := 0; start < len(p); start += step {
		end := min(start+step, len(p))
		g.Go(func() error { return r.fetch(gctx, p[start:end], off+int64(start)) })
	}
	return g.Wait()
}

// fetch fills p from off with ranged GETs, resuming from the last byte received
// when a body breaks off and fetching a new URL when S3 refuses the one it has.
func (r *Reader) fetch(ctx context.Context, p []byte, off int64) error {
	return r.fetchv(ctx, [][]byte{p}, off)
}

// fetchv fills bufs, in order, with the bytes from off: one ranged GET for all
// of them, resumed from the last byte received when the body breaks off.
func (r *Reader) fetchv(ctx context.Context, bufs [][]byte, off int64) error {
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	refreshes, resumes := 0, 0
	for got := 0; got < total; {
		n, err := r.fetchOnce(ctx, bufs, got, off+int64(got), total-got)
		got += n
		switch {
		case err == nil:
		case errors.Is(err, oss.ErrURLExpired) && refreshes < r.e.opts.MaxURLRefreshes:
			refreshes++
		case isBrokenBody(err) && resumes < r.e.opts.MaxResumes:
			resumes++
			r.e.opts.Logger.Debug("resuming a broken range", "op", "read", "key", r.key, "offset", off+int64(got), "err", err)
		default:
			return fmt.Errorf("read %q at %d: %w", r.key, off+int64(got), err)
		}
	}
	return nil
}

// brokenBody marks a response body that ended before its length.
type brokenBody struct{ err error }

func (b *brokenBody) Error() string { return "body broke off: " + b.err.Error() }
func (b *brokenBody) Unwrap() error { return b.err }

func isBrokenBody(err error) bool {
	var b *brokenBody
	return errors.As(err, &b)
}

// fetchOnce makes one ranged GET for p at off and reads as much as it delivers.
func (r *Reader) fetchOnce(ctx context.Context, bufs [][]byte, skip int, off int64, n int) (int, error) {
	su, err := r.e.urls.get(ctx, r.bucket, r.key)
	if err != nil {
		return 0, err
	}
	if err := r.checkSigned(su); err != nil {
		return 0, err
	}
	if err := r.e.acquire(ctx); err != nil {
		return 0, err
	}
	defer r.e.release()
	resp, err := r.e.c.Download(ctx, su.url, off, int64(n))
	if errors.Is(err, oss.ErrURLExpired) {
		r.e.urls.invalidate(r.bucket, r.key, su.url)
	}
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if err := r.checkResponse(resp); err != nil {
		return 0, err
	}
	return readInto(resp.Body, bufs, skip)
}

// readInto reads body into bufs from byte skip of their concatenation on.
func readInto(body io.Reader, bufs [][]byte, skip int) (int, error) {
	got := 0
	for _, b := range bufs {
		if skip >= len(b) {
			skip -= len(b)
			continue
		}
		m, err := io.ReadFull(body, b[skip:])
		got += m
		skip = 0
		if err != nil {
			return got, &brokenBody{err}
		}
	}
	return got, nil
}

// ReadBlocks fills bufs, in order, with the object's bytes from off, in one
// ranged GET (resumed if it breaks off): a caller that caches blocks gets each in
// a buffer of its own, so no block keeps a larger buffer alive. The bytes must
// lie within the object; keep the total near the Engine's RangeSize.
func (r *Reader) ReadBlocks(ctx context.Context, bufs [][]byte, off int64) error {
	return r.fetchv(ctx, bufs, off)
}

// checkSigned compares what signeds3download said with the version being read.
func (r *Reader) checkSigned(su *signedURL) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if su.size != r.id.Size || (su.sha1 != "" && r.id.SHA1 != "" && su.sha1 != r.id.SHA1) {
		r.e.urls.forget(r.bucket, r.key)
		return fmt.Errorf("%q: %w", r.key, ErrStale)
	}
	return nil
}

// checkResponse compares an S3 response with the version being read.
func (r *Reader) checkResponse(resp *oss.DownloadResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.id.ETag == "" {
		r.id.ETag = resp.ETag
	}
	if resp.Total != r.id.Size || resp.ETag != r.id.ETag {
		r.e.urls.forget(r.bucket, r.key)
		return fmt.Errorf("%q: %w", r.key, ErrStale)
	}
	return nil
}

// Forget drops what the Engine keeps of an object (its download URL and
// identity): the object was replaced or deleted by other means than an Upload
// of this Engine (copyto, delete), so the next Open must ask again.
func (e *Engine) Forget(bucket, key string) { e.urls.forget(bucket, key) }
