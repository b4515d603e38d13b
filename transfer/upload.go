package transfer

import (
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/ossfs/ossfs/oss"
)

// UploadOptions are what an upload stores with the object, and a hint for sizing.
type UploadOptions struct {
	ContentType        string `json:"contentType,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	CacheControl       string `json:"cacheControl,omitempty"`
	UserMetadata       string `json:"userMetadata,omitempty"` // JSON object, < 100 bytes
	// PartsHint is the expected number of parts (0: unknown); URL requests ask
	// for no more than it.
	PartsHint int `json:"partsHint,omitempty"`
}

// PartState is one uploaded part.
type PartState struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"eTag"`
	// Checked: the part was sent with its Content-MD5, so S3 checked its
	// bytes (parts under MinPartSize).
	Checked bool `json:"checked,omitempty"`
}

// UploadState is what it takes to finish an upload in another process: save it,
// and ResumeUpload it before UploadExpiration.
type UploadState struct {
	Bucket           string        `json:"bucket"`
	Key              string        `json:"key"`
	UploadKey        string        `json:"uploadKey"`
	UploadExpiration time.Time     `json:"uploadExpiration"`
	Parts            []PartState   `json:"parts"`
	Options          UploadOptions `json:"options"`
}

// ErrUploadIncomplete reports a completion asked for while parts are missing.
var ErrUploadIncomplete = errors.New("transfer: upload has missing or undersized parts")

// Upload is one multipart upload session. A writer hands over parts as they
// become complete (PutPart, concurrently if it likes); the session asks for part
// URLs lazily, at most 25 per signeds3upload call, with the same uploadKey, and
// Complete finalizes. A part may be put again: the last put wins. It is safe for
// concurrent use.
type Upload struct {
	e           *Engine
	bucket, key string
	opts        UploadOptions

	fetchMu sync.Mutex // serializes URL requests; taken after a putMu, before mu

	mu        sync.Mutex
	uploadKey string              // guarded by mu
	uploadExp time.Time           // guarded by mu
	urls      map[int]partURL     // guarded by mu
	parts     map[int]*partRecord // guarded by mu
	fetches   int                 // guarded by mu; URL requests finished
	fetchErr  error               // guarded by mu; the last one's failure, if the service's
}

// partURL is a signed URL for one part number.
type partURL struct {
	url     string
	expires time.Time
}

// partRecord is the state of one part number.
type partRecord struct {
	putMu sync.Mutex // serializes PUTs of this part, so the last put is the last PUT

	gen   int       // guarded by Upload.mu: generation of the latest put
	state PartState // guarded by Upload.mu: the latest finished PUT (ETag "" if none)
	done  int       // guarded by Upload.mu: generation of state
}

// NewUpload starts a session; no call is made until the first part.
func (e *Engine) NewUpload(bucket, key string, opts UploadOptions) *Upload {
	return &Upload{e: e, bucket: bucket, key: key, opts: opts, urls: map[int]partURL{}, parts: map[int]*partRecord{}}
}

// ResumeUpload continues a session saved with State.
func (e *Engine) ResumeUpload(st UploadState) *Upload {
	u := e.NewUpload(st.Bucket, st.Key, st.Options)
	u.uploadKey, u.uploadExp = st.UploadKey, st.UploadExpiration
	for _, p := range st.Parts {
		u.parts[p.Number] = &partRecord{gen: 1, done: 1, state: p}
	}
	return u
}

// SetUserMetadata changes the user-defined metadata Complete stores (it is
// sent only with the completion), for a writer whose mtime changes after the
// first parts are put.
func (u *Upload) SetUserMetadata(m string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.opts.UserMetadata = m
}

// State returns what has to be saved to resume the session elsewhere.
func (u *Upload) State() UploadState {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := UploadState{Bucket: u.bucket, Key: u.key, UploadKey: u.uploadKey, UploadExpiration: u.uploadExp, Options: u.opts}
	for _, p := range u.parts {
		if p.state.ETag != "" {
			st.Parts = append(st.Parts, p.state)
		}
	}
	sort.Slice(st.Parts, func(i, j int) bool { return st.Parts[i].Number < st.Parts[j].Number })
	return st
}

// PutPart uploads part number (1-based) from src, which must stay readable until
// PutPart returns (it is re-read on retries). It waits for a concurrency token.
func (u *Upload) PutPart(ctx context.Context, number int, src io.ReaderAt, size int64) error {
	if number < 1 || number > MaxParts {
		return fmt.Errorf("transfer: part number %d is outside 1..%d", number, MaxParts)
	}
	rec, gen := u.newGeneration(number)
	rec.putMu.Lock()
	defer rec.putMu.Unlock()
	if u.superseded(rec, gen) {
		return nil // a later put of this part has been or will be sent
	}
	var sum []byte
	if size < MinPartSize {
		// Small enough to hash for nothing: S3 then checks the bytes, and a
		// one-part upload needs no details call to be verified (Complete).
		h := md5.New()
		if _, err := io.Copy(h, io.NewSectionReader(src, 0, size)); err != nil {
			return fmt.Errorf("upload %q part %d: reading it: %w", u.key, number, err)
		}
		sum = h.Sum(nil)
	}
	eTag, err := u.put(ctx, number, src, size, sum)
	if err != nil {
		return fmt.Errorf("upload %q part %d: %w", u.key, number, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if gen >= rec.done {
		rec.state, rec.done = PartState{Number: number, Size: size, ETag: eTag, Checked: sum != nil}, gen
	}
	return nil
}

func (u *Upload) newGeneration(number int) (*partRecord, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	rec := u.parts[number]
	if rec == nil {
		rec = &partRecord{}
		u.parts[number] = rec
	}
	rec.gen++
	return rec, rec.gen
}

func (u *Upload) superseded(rec *partRecord, gen int) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return rec.gen > gen
}

// put PUTs one part, fetching URLs when it has none or S3 refused the one it had.
func (u *Upload) put(ctx context.Context, number int, src io.ReaderAt, size int64, md5 []byte) (string, error) {
	for refresh := 0; ; refresh++ {
		url, err := u.partURL(ctx, number)
		if err != nil {
			return "", err
		}
		if err := u.e.acquire(ctx); err != nil {
			return "", err
		}
		eTag, err := u.e.c.UploadPartMD5(ctx, url, src, size, md5)
		u.e.release()
		if errors.Is(err, oss.ErrURLExpired) && refresh < u.e.opts.MaxURLRefreshes {
			u.dropURL(number, url)
			continue
		}
		return eTag, err
	}
}

// partURL returns a URL for the part that is not about to expire, asking for a
// batch of URLs from this part on when needed. A caller that waited while
// another one's request failed takes that failure: the request already went
// through every retry, and the parts queued behind it (a writer's background
// parts, say) must not each spend a whole retry budget on a failing service.
func (u *Upload) partURL(ctx context.Context, number int) (string, error) {
	if url, ok := u.cachedURL(number); ok {
		return url, nil
	}
	u.mu.Lock()
	seen := u.fetches
	u.mu.Unlock()
	u.fetchMu.Lock()
	defer u.fetchMu.Unlock()
	if url, ok := u.cachedURL(number); ok { // fetched while we waited
		return url, nil
	}
	u.mu.Lock()
	uploadKey, count := u.uploadKey, maxURLsPerRequest
	if u.opts.PartsHint >= number {
		count = min(count, u.opts.PartsHint-number+1)
	}
	failed := u.fetchErr
	if u.fetches == seen {
		failed = nil // no request finished while we waited
	}
	u.mu.Unlock()
	if failed != nil {
		return "", failed
	}
	su, err := u.e.c.SignedUploadURLs(ctx, u.bucket, u.key, oss.UploadURLOptions{Parts: count, FirstPart: number, UploadKey: uploadKey, Minutes: u.e.opts.URLMinutes})
	u.fetched(ctx, err)
	if err != nil {
		return "", err
	}
	if len(su.URLs) == 0 {
		return "", fmt.Errorf("transfer: signeds3upload for %q answered no URL", u.key)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if uploadKey != "" && su.UploadKey != uploadKey {
		return "", fmt.Errorf("transfer: signeds3upload for %q answered another uploadKey", u.key)
	}
	u.uploadKey, u.uploadExp = su.UploadKey, su.UploadExpiration
	expires := u.e.uploadURLExpiry(su)
	for i, url := range su.URLs {
		u.urls[number+i] = partURL{url: url, expires: expires}
	}
	return su.URLs[0], nil
}

// fetched records the end of a URL request. A failure that is the caller's
// own (its context ended) is not passed on to the callers waiting.
func (u *Upload) fetched(ctx context.Context, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.fetches++
	u.fetchErr = nil
	if err != nil && ctx.Err() == nil {
		u.fetchErr = err
	}
}

func (u *Upload) cachedURL(number int) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	p, ok := u.urls[number]
	margin := min(30*time.Second, time.Duration(u.e.opts.URLMinutes)*time.Minute/4)
	if !ok || !u.e.opts.Now().Add(margin).Before(p.expires) {
		return "", false
	}
	return p.url, true
}

func (u *Upload) dropURL(number int, url string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.urls[number].url == url {
		// URLs of one batch expire together: forget them all.
		clear(u.urls)
	}
}

// Complete finalizes the upload with parts 1..N, which must all have been put,
// all but the last at least MinPartSize, adding up to size. sha1 (hex, optional)
// lets a retried completion be confirmed, and is compared with the sha1 APS
// reports afterwards (a details call) when Options.VerifySHA1 is on — except
// for a one-part upload under MinPartSize: S3 checked that part's bytes
// against their MD5, so sha1, which must then be of the very bytes given to
// PutPart, is the object's.
func (u *Upload) Complete(ctx context.Context, size int64, sha1 string) (*oss.Object, error) {
	req, checked, err := u.completeRequest(size, sha1)
	if err != nil {
		return nil, err
	}
	obj, err := u.e.c.CompleteUpload(ctx, u.bucket, u.key, req)
	if err != nil {
		return nil, fmt.Errorf("complete %q: %w", u.key, err)
	}
	u.e.urls.forget(u.bucket, u.key)
	if sha1 == "" || !u.e.opts.VerifySHA1 {
		return obj, nil
	}
	if checked {
		if obj.SHA1 == "" {
			obj.SHA1 = sha1
		}
		return obj, nil
	}
	return u.verify(ctx, obj, sha1)
}

// completeRequest is the completion of parts 1..N adding up to size, and
// whether S3 checked every part against its MD5.
func (u *Upload) completeRequest(size int64, sha1 string) (oss.CompleteRequest, bool, error) {
	eTags, err := u.completeParts(size)
	if err != nil {
		return oss.CompleteRequest{}, false, err
	}
	st := u.State()
	checked := true
	for _, p := range st.Parts {
		checked = checked && p.Checked
	}
	return oss.CompleteRequest{
		UploadKey: st.UploadKey, Size: size, ETags: eTags, SHA1: sha1,
		ContentType: st.Options.ContentType, ContentDisposition: st.Options.ContentDisposition,
		ContentEncoding: st.Options.ContentEncoding, CacheControl: st.Options.CacheControl,
		UserMetadata: st.Options.UserMetadata,
	}, checked, nil
}

// completeParts checks that parts 1..N are all there and returns their eTags.
func (u *Upload) completeParts(size int64) ([]string, error) {
	st := u.State()
	if st.UploadKey == "" {
		return nil, fmt.Errorf("%w: %q has no part uploaded", ErrUploadIncomplete, u.key)
	}
	var total int64
	eTags := make([]string, len(st.Parts))
	for i, p := range st.Parts {
		last := i == len(st.Parts)-1
		if p.Number != i+1 || (!last && p.Size < MinPartSize) {
			return nil, fmt.Errorf("%w: %q part %d", ErrUploadIncomplete, u.key, i+1)
		}
		eTags[i], total = p.ETag, total+p.Size
	}
	if total != size {
		return nil, fmt.Errorf("%w: %q parts hold %d bytes, want %d", ErrUploadIncomplete, u.key, total, size)
	}
	return eTags, nil
}

// verify compares the sha1 APS computed with the one computed while uploading.
func (u *Upload) verify(ctx context.Context, obj *oss.Object, sha1 string) (*oss.Object, error) {
	d, err := u.e.c.ObjectDetails(ctx, u.bucket, u.key, oss.DetailsOptions{})
	if err != nil {
		return nil, fmt.Errorf("verify %q: %w", u.key, err)
	}
	if d.SHA1 != "" && d.SHA1 != sha1 {
		return nil, fmt.Errorf("%q: APS holds sha1 %s, uploaded bytes have %s: %w", u.key, d.SHA1, sha1, ErrChecksum)
	}
	if obj.SHA1 == "" {
		obj.SHA1 = d.SHA1
	}
	return obj, nil
}

// uploadURLExpiry is when the URLs of su expire: what APS said, else the
// lifetime asked for from now.
func (e *Engine) uploadURLExpiry(su *oss.SignedUpload) time.Time {
	if !su.URLExpiration.IsZero() {
		return su.URLExpiration
	}
	return e.opts.Now().Add(time.Duration(e.opts.URLMinutes) * time.Minute)
}
