package oss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// maxBatch is the most objects (or URLs) sent in one batch request.
	maxBatch = 25
	// defaultURLMinutes is the lifetime OSS gives a signed URL by default.
	defaultURLMinutes = 2
	maxURLMinutes     = 60
	statusComplete    = "complete"
	statusSkipped     = "skipped"
	statusError       = "error"
)

// DownloadURLOptions shape a signed download URL. Minutes is 1..60 (0 = the
// OSS default of 2). The response-* overrides are baked into the URL.
// IfNoneMatch (a sha1) answers ErrNotModified when it still matches.
type DownloadURLOptions struct {
	Minutes                                       int
	ContentType, ContentDisposition, CacheControl string
	IfNoneMatch                                   string
}

// SignedDownload is a presigned S3 GET URL for a whole object. Expires comes
// from X-Amz-Date + X-Amz-Expires in the URL when present, else from the
// requested lifetime.
type SignedDownload struct {
	Status, URL string
	Params      map[string]string
	Size        int64
	SHA1        string
	Expires     time.Time
}

// BatchDownloadItem asks for one URL in a batch.
type BatchDownloadItem struct {
	ObjectKey                                     string
	IfNoneMatch                                   string
	ContentType, ContentDisposition, CacheControl string
}

// BatchDownloadResult is one object's answer in a batch: a URL, or Err
// (ErrNotFound for a missing object, ErrNotModified for a skipped one).
type BatchDownloadResult struct {
	SignedDownload
	Err error
}

// SignedDownloadURL returns a presigned S3 URL for an object. Any status but
// "complete" (legacy "chunked"/"fallback" objects) is an error matching
// errors.ErrUnsupported.
func (c *Client) SignedDownloadURL(ctx context.Context, bucketKey, objectKey string, opts DownloadURLOptions) (*SignedDownload, error) {
	if err := checkMinutes(OpSignedS3Download, opts.Minutes); err != nil {
		return nil, err
	}
	r, err := c.objectRequest(OpSignedS3Download, http.MethodGet, bucketKey, objectKey, "signeds3download")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	setNonEmpty(q, "minutesExpiration", minutesParam(opts.Minutes))
	setNonEmpty(q, "response-content-type", opts.ContentType)
	setNonEmpty(q, "response-content-disposition", opts.ContentDisposition)
	setNonEmpty(q, "response-cache-control", opts.CacheControl)
	r.rawQuery = q.Encode()
	if opts.IfNoneMatch != "" {
		r.header.Set("If-None-Match", opts.IfNoneMatch)
	}
	var w wireSignedDownload
	if err := c.doJSON(ctx, r, &w); err != nil {
		return nil, err
	}
	if w.Status != statusComplete {
		return nil, fmt.Errorf("oss: %s: download status %q: %w", OpSignedS3Download, w.Status, errors.ErrUnsupported)
	}
	d := c.signedDownloadFromWire(w, opts.Minutes)
	return &d, nil
}

// BatchSignedDownloadURLs returns presigned URLs for many objects, keyed by
// object key, in requests of at most 25. The error is for a request that
// failed as a whole; per-object failures are in each result's Err.
func (c *Client) BatchSignedDownloadURLs(ctx context.Context, bucketKey string, items []BatchDownloadItem, minutes int) (map[string]BatchDownloadResult, error) {
	if err := checkBatchDownload(bucketKey, items, minutes); err != nil {
		return nil, err
	}
	out := make(map[string]BatchDownloadResult, len(items))
	for start := 0; start < len(items); start += maxBatch {
		chunk := items[start:min(start+maxBatch, len(items))]
		if err := c.batchDownload(ctx, bucketKey, chunk, minutes, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkBatchDownload(bucketKey string, items []BatchDownloadItem, minutes int) error {
	const op = OpBatchSignedS3Download
	if err := checkBucketKey(op, bucketKey); err != nil {
		return err
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.ObjectKey
	}
	if err := checkBatchKeys(op, keys); err != nil {
		return err
	}
	return checkMinutes(op, minutes)
}

func (c *Client) batchDownload(ctx context.Context, bucketKey string, items []BatchDownloadItem, minutes int, out map[string]BatchDownloadResult) error {
	body := wireBatchRequest[wireBatchDownloadItem]{Requests: make([]wireBatchDownloadItem, len(items))}
	for i, it := range items {
		body.Requests[i] = wireBatchDownloadItem{ObjectKey: it.ObjectKey, ContentType: it.ContentType,
			ContentDisposition: it.ContentDisposition, CacheControl: it.CacheControl, IfNoneMatch: it.IfNoneMatch}
	}
	r, err := jsonRequest(OpBatchSignedS3Download, http.MethodPost, bucketPath(bucketKey)+"/objects/batchsigneds3download", body)
	if err != nil {
		return err
	}
	setQuery(r, "minutesExpiration", minutesParam(minutes))
	var w wireBatchResults
	if err := c.doJSON(ctx, r, &w); err != nil {
		return err
	}
	for _, it := range items {
		out[it.ObjectKey] = c.batchDownloadResult(w.Results, it.ObjectKey, minutes)
	}
	return nil
}

func (c *Client) batchDownloadResult(results map[string]json.RawMessage, objectKey string, minutes int) BatchDownloadResult {
	const op = OpBatchSignedS3Download
	raw, ok := results[objectKey]
	if !ok {
		return BatchDownloadResult{Err: missingResult(op, objectKey)}
	}
	var w wireSignedDownload
	if err := decodeJSON(op, raw, &w); err != nil {
		return BatchDownloadResult{Err: err}
	}
	if w.Status != statusComplete {
		return BatchDownloadResult{Err: c.itemError(op, w.Status, w.Reason, raw)}
	}
	return BatchDownloadResult{SignedDownload: c.signedDownloadFromWire(w, minutes)}
}

func (c *Client) signedDownloadFromWire(w wireSignedDownload, minutes int) SignedDownload {
	return SignedDownload{
		Status:  w.Status,
		URL:     w.URL,
		Params:  w.Params,
		Size:    w.Size.Value,
		SHA1:    strings.ToLower(w.SHA1),
		Expires: c.urlExpiry(w.URL, minutes),
	}
}

// urlExpiry reads X-Amz-Date + X-Amz-Expires from a presigned URL, or
// falls back to now + minutes (the OSS default when 0).
func (c *Client) urlExpiry(signedURL string, minutes int) time.Time {
	if u, err := url.Parse(signedURL); err == nil {
		q := u.Query()
		signed, errDate := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
		secs, errSecs := strconv.Atoi(q.Get("X-Amz-Expires"))
		if errDate == nil && errSecs == nil {
			return signed.Add(time.Duration(secs) * time.Second)
		}
	}
	return c.opts.Now().Add(time.Duration(or(minutes, defaultURLMinutes)) * time.Minute)
}

// itemError types a failed batch item. The batch answer has no per-item HTTP
// status, so one is synthesised: 304 for "skipped", 404 when the reason says
// the object is missing.
func (c *Client) itemError(op, status, reason string, raw json.RawMessage) *APIError {
	e := &APIError{Op: op}
	fillJSON(e, raw)
	e.Reason = c.scrub.scrub(or(e.Reason, "item status "+strconv.Quote(status)))
	switch {
	case status == statusSkipped:
		e.Status = http.StatusNotModified
	case mentionsMissing(reason):
		e.Status = http.StatusNotFound
	}
	return e
}

func mentionsMissing(reason string) bool {
	r := strings.ToLower(reason)
	for _, s := range []string{"not found", "notfound", "does not exist", "no such"} {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func missingResult(op, objectKey string) error {
	return &APIError{Op: op, Reason: fmt.Sprintf("no result for object %q", objectKey)}
}

func checkMinutes(op string, minutes int) error {
	if minutes < 0 || minutes > maxURLMinutes {
		return argError(op, "minutes %d outside 1..%d", minutes, maxURLMinutes)
	}
	return nil
}

// checkBatchKeys rejects empty and duplicate keys (results are keyed by key).
func checkBatchKeys(op string, keys []string) error {
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if err := checkObjectKey(op, k); err != nil {
			return err
		}
		if seen[k] {
			return argError(op, "object key %q appears twice", k)
		}
		seen[k] = true
	}
	return nil
}

func minutesParam(minutes int) string {
	if minutes == 0 {
		return ""
	}
	return strconv.Itoa(minutes)
}

func setNonEmpty(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// setQuery adds one parameter to a request's query, if value is not empty.
func setQuery(r *request, key, value string) {
	r.rawQuery = withMissing(r.rawQuery, key, value)
}
