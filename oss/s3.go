package oss

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorBody bounds the S3 error body read for an *APIError.
const maxErrorBody = 64 << 10

// DownloadResponse is the answer to a (ranged) GET on a signed URL. Body
// holds Length bytes starting at Offset (Length -1: unknown, to the end);
// Total is the object size (-1: unknown). ETag is unquoted (S3's ETag, not
// the OSS sha1). The caller must close Body.
type DownloadResponse struct {
	Body                            io.ReadCloser
	Offset, Length, Total           int64
	ETag, ContentType, LastModified string
}

// Download GETs n bytes at off from a presigned URL (n < 0: to the end). It
// sends Range unless off == 0 && n < 0, never sends Authorization, is not
// rate-limited, and retries transient failures until response headers
// arrive; a body that breaks midway is the caller's to resume. S3 403 is
// ErrURLExpired: fetch a fresh URL.
func (c *Client) Download(ctx context.Context, signedURL string, off, n int64) (*DownloadResponse, error) {
	if off < 0 || n == 0 {
		return nil, argError(OpS3Download, "invalid range offset %d length %d", off, n)
	}
	u, err := parseSignedURL(OpS3Download, signedURL)
	if err != nil {
		return nil, err
	}
	var out *DownloadResponse
	err = c.withRetry(ctx, OpS3Download, u.Path, func(ctx context.Context, _ int) error {
		var err error
		out, err = c.downloadAttempt(ctx, u, off, n)
		return err
	})
	return out, err
}

// downloadAttempt makes one GET. Its timeout covers only the wait for
// headers; the body then lives as long as ctx.
func (c *Client) downloadAttempt(ctx context.Context, u *url.URL, off, n int64) (*DownloadResponse, error) {
	req, err := c.newS3Request(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if r := rangeHeader(off, n); r != "" {
		req.Header.Set("Range", r)
	}
	resp, cancel, err := c.sendS3(req, OpS3Download, nil)
	if err != nil {
		return nil, err
	}
	dr, err := c.checkDownload(resp, off, n)
	if err != nil {
		resp.Body.Close()
		cancel(nil)
		return nil, err
	}
	dr.Body = &cancelOnClose{ReadCloser: dr.Body, cancel: func() { cancel(nil) }}
	return dr, nil
}

func rangeHeader(off, n int64) string {
	switch {
	case n < 0 && off == 0:
		return ""
	case n < 0:
		return fmt.Sprintf("bytes=%d-", off)
	}
	return fmt.Sprintf("bytes=%d-%d", off, off+n-1)
}

// checkDownload accepts 206 with a Content-Range starting at off, or 200
// when off is 0 (the whole object, cut to n bytes). Any other answer is an
// error; a 200 to a range at off > 0 is never sliced.
func (c *Client) checkDownload(resp *http.Response, off, n int64) (*DownloadResponse, error) {
	dr := &DownloadResponse{
		Body: resp.Body, Offset: off, Length: resp.ContentLength, Total: -1,
		ETag: unquote(resp.Header.Get("ETag")), ContentType: resp.Header.Get("Content-Type"),
		LastModified: resp.Header.Get("Last-Modified"),
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		return dr, checkContentRange(dr, resp.Header.Get("Content-Range"), off, n)
	case resp.StatusCode == http.StatusOK && off == 0:
		dr.Total = resp.ContentLength
		if n >= 0 && (dr.Length < 0 || dr.Length > n) {
			dr.Length = n
			dr.Body = limitedBody(resp.Body, n)
		}
		return dr, nil
	case resp.StatusCode == http.StatusOK:
		return nil, &APIError{Op: OpS3Download, Status: resp.StatusCode,
			Reason: fmt.Sprintf("server ignored Range at offset %d", off)}
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, c.apiError(OpS3Download, resp, body)
}

// checkContentRange validates "bytes a-b/total" against the request.
func checkContentRange(dr *DownloadResponse, header string, off, n int64) error {
	first, last, total, ok := parseContentRange(header)
	if !ok || first != off || (n >= 0 && last > off+n-1) {
		return &APIError{Op: OpS3Download, Status: http.StatusPartialContent,
			Reason: fmt.Sprintf("Content-Range %q does not match the requested offset %d length %d", header, off, n)}
	}
	dr.Length, dr.Total = last-first+1, total
	return nil
}

// parseContentRange reads "bytes a-b/total" (total may be "*": -1).
func parseContentRange(h string) (first, last, total int64, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	rng, size, found2 := strings.Cut(spec, "/")
	a, b, found3 := strings.Cut(rng, "-")
	if !found || !found2 || !found3 {
		return 0, 0, 0, false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	total, err3 := int64(-1), error(nil)
	if size != "*" {
		total, err3 = strconv.ParseInt(size, 10, 64)
	}
	ok = err1 == nil && err2 == nil && err3 == nil && first >= 0 && last >= first && (total < 0 || last < total)
	return first, last, total, ok
}

// UploadPart PUTs one part to a presigned URL and returns its unquoted ETag.
// The body is re-read from part (bytes 0..size) on every attempt and sent
// with a Content-Length, never chunked. No Authorization is sent and the
// call is not rate-limited. S3 403 is ErrURLExpired: fetch fresh URLs for
// the same uploadKey.
func (c *Client) UploadPart(ctx context.Context, signedURL string, part io.ReaderAt, size int64) (string, error) {
	return c.UploadPartMD5(ctx, signedURL, part, size, nil)
}

// UploadPartMD5 is UploadPart with the part's MD5 (16 bytes) sent as
// Content-MD5, so that S3 refuses bytes that changed on the way (400
// BadDigest, an ErrBadRequest). A nil md5 sends none.
func (c *Client) UploadPartMD5(ctx context.Context, signedURL string, part io.ReaderAt, size int64, md5 []byte) (string, error) {
	if md5 != nil && len(md5) != 16 {
		return "", argError(OpS3Upload, "an MD5 has 16 bytes, not %d", len(md5))
	}
	if size < 0 || (part == nil && size > 0) {
		return "", argError(OpS3Upload, "invalid part size %d", size)
	}
	u, err := parseSignedURL(OpS3Upload, signedURL)
	if err != nil {
		return "", err
	}
	var eTag string
	err = c.withRetry(ctx, OpS3Upload, u.Path, func(ctx context.Context, _ int) error {
		var err error
		eTag, err = c.uploadAttempt(ctx, u, part, size, md5)
		return err
	})
	return eTag, err
}

func (c *Client) uploadAttempt(ctx context.Context, u *url.URL, part io.ReaderAt, size int64, md5 []byte) (string, error) {
	req, err := c.newS3Request(ctx, http.MethodPut, u, nil)
	if err != nil {
		return "", err
	}
	if md5 != nil {
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(md5))
	}
	body := &progressReader{}
	req.ContentLength = size
	req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	if size > 0 {
		body.r = io.NewSectionReader(part, 0, size)
		req.Body = io.NopCloser(body)
		req.GetBody = func() (io.ReadCloser, error) { // redirects
			return io.NopCloser(&progressReader{r: io.NewSectionReader(part, 0, size), dog: body.dog}), nil
		}
	}
	resp, cancel, err := c.sendS3(req, OpS3Upload, body)
	if err != nil {
		return "", err
	}
	defer cancel(nil)
	defer resp.Body.Close()
	return c.checkUpload(resp)
}

func (c *Client) checkUpload(resp *http.Response) (string, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", c.apiError(OpS3Upload, resp, body)
	}
	if err != nil {
		return "", fmt.Errorf("oss: %s: reading response: %w", OpS3Upload, err)
	}
	eTag := unquote(resp.Header.Get("ETag"))
	if eTag == "" {
		return "", &APIError{Op: OpS3Upload, Status: resp.StatusCode, Reason: "answer has no ETag"}
	}
	return eTag, nil
}

func parseSignedURL(op, signedURL string) (*url.URL, error) {
	u, err := url.Parse(signedURL)
	if err != nil {
		return nil, argError(op, "%v", redactErr(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, argError(op, "signed URL %q is not an absolute http(s) URL", redactURL(signedURL))
	}
	return u, nil
}

func (c *Client) newS3Request(ctx context.Context, method string, u *url.URL, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, final(redactErr(err))
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	return req, nil
}

// sendS3 sends one S3 attempt. AttemptTimeout runs until the response
// headers arrive; for uploads it restarts whenever the body makes progress,
// so only a stall counts. On success the caller owns resp.Body and must
// call cancel once done with it.
func (c *Client) sendS3(req *http.Request, op string, body *progressReader) (*http.Response, context.CancelCauseFunc, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	dog := startWatchdog(c.opts.Retry.AttemptTimeout, cancel)
	if body != nil {
		body.dog = dog
	}
	c.calls.add(op)
	start := time.Now()
	resp, err := c.http.Do(req.WithContext(ctx))
	if fired := dog.stop(); fired && err == nil {
		resp.Body.Close()
		err = errAttemptTimeout
	}
	c.logS3(req, op, resp, start, err)
	if err != nil {
		cancel(nil)
		if errors.Is(context.Cause(ctx), errAttemptTimeout) {
			err = fmt.Errorf("oss: %s: no response within %s: %w", op, c.opts.Retry.AttemptTimeout, errAttemptTimeout)
		}
		return nil, nil, redactErr(err)
	}
	return resp, cancel, nil
}

func (c *Client) logS3(req *http.Request, op string, resp *http.Response, start time.Time, err error) {
	status := 0
	if resp != nil && err == nil {
		status = resp.StatusCode
	}
	c.log.DebugContext(req.Context(), "oss call", "op", op, "url", redactURL(req.URL.String()),
		"status", status, "dur", time.Since(start), "err", redactErr(err))
}

// watchdog cancels an attempt that makes no progress for d: no response
// headers and, for uploads, no body read either.
type watchdog struct {
	d      time.Duration
	cancel context.CancelCauseFunc
	base   time.Time
	last   atomic.Int64 // progress, as nanoseconds since base

	mu    sync.Mutex
	timer *time.Timer // guarded by mu
	state int         // guarded by mu
}

const (
	dogRunning = iota
	dogStopped
	dogFired
)

func startWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{d: d, cancel: cancel, base: time.Now()}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(d, w.check)
	return w
}

// touch records progress.
func (w *watchdog) touch() { w.last.Store(int64(time.Since(w.base))) }

func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state != dogRunning {
		return
	}
	idle := time.Since(w.base) - time.Duration(w.last.Load())
	if idle < w.d {
		w.timer.Reset(w.d - idle)
		return
	}
	w.state = dogFired
	w.cancel(errAttemptTimeout)
}

// stop disarms the watchdog and reports whether it had already fired.
func (w *watchdog) stop() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.state == dogRunning {
		w.state = dogStopped
		w.timer.Stop()
	}
	return w.state == dogFired
}

// progressReader feeds an upload body and tells the watchdog it moves.
type progressReader struct {
	r   io.Reader
	dog *watchdog // set before the request is sent
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 && p.dog != nil {
		p.dog.touch()
	}
	return n, err
}

// cancelOnClose releases an attempt's context when the body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// limitedBody reads at most n bytes of rc and closes rc.
func limitedBody(rc io.ReadCloser, n int64) io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(rc, n), rc}
}
