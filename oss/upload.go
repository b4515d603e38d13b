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

// maxUserMetadata is the size limit of x-ads-user-defined-metadata (< 100 bytes).
const maxUserMetadata = 100

// UploadURLOptions asks for part URLs. Parts is 1..25 (0 = 1), FirstPart is
// the 1-based number of the first URL's part (0 = 1). UploadKey "" starts a
// new upload; an existing key asks for more or fresh URLs for that upload.
// Minutes is 1..60 (0 = the OSS default of 2).
type UploadURLOptions struct {
	Parts, FirstPart int
	UploadKey        string
	Minutes          int
}

// SignedUpload is a batch of presigned part URLs: URLs[i] uploads part
// FirstPart+i. Complete the upload before UploadExpiration.
type SignedUpload struct {
	UploadKey                       string
	UploadExpiration, URLExpiration time.Time
	URLs                            []string
	FirstPart                       int
}

// CompleteRequest finalises an upload. Size is the total byte count (-1
// omits it); ETags are the parts' unquoted ETags in part order. The x-ads-meta
// values are stored with the object; UserMetadata must be a JSON object
// shorter than 100 bytes. SHA1 (hex, optional) lets a completion whose
// answer was lost be confirmed through ObjectDetails.
type CompleteRequest struct {
	UploadKey                                                      string
	Size                                                           int64
	ETags                                                          []string
	ContentType, ContentDisposition, ContentEncoding, CacheControl string
	UserMetadata                                                   string
	SHA1                                                           string
}

// BatchUploadItem asks for part URLs for one object in a batch.
type BatchUploadItem struct {
	ObjectKey        string
	Parts, FirstPart int
	UploadKey        string
}

// BatchUploadResult is one object's answer in a batch.
type BatchUploadResult struct {
	SignedUpload
	Err error
}

// BatchCompleteItem completes one object's upload in a batch.
type BatchCompleteItem struct {
	ObjectKey string
	CompleteRequest
}

// BatchCompleteResult is one object's completion in a batch.
type BatchCompleteResult struct {
	Object *Object
	Err    error
}

// SignedUploadURLs returns presigned part URLs for an object.
func (c *Client) SignedUploadURLs(ctx context.Context, bucketKey, objectKey string, opts UploadURLOptions) (*SignedUpload, error) {
	const op = OpSignedS3UploadGet
	parts, first, err := checkParts(op, opts.Parts, opts.FirstPart)
	if err != nil {
		return nil, err
	}
	if err := checkMinutes(op, opts.Minutes); err != nil {
		return nil, err
	}
	r, err := c.objectRequest(op, http.MethodGet, bucketKey, objectKey, "signeds3upload")
	if err != nil {
		return nil, err
	}
	q := url.Values{"parts": {strconv.Itoa(parts)}, "firstPart": {strconv.Itoa(first)}}
	setNonEmpty(q, "uploadKey", opts.UploadKey)
	setNonEmpty(q, "minutesExpiration", minutesParam(opts.Minutes))
	r.rawQuery = q.Encode()
	var w wireSignedUpload
	if err := c.doJSON(ctx, r, &w); err != nil {
		return nil, err
	}
	return signedUploadFromWire(op, w, parts, first)
}

func signedUploadFromWire(op string, w wireSignedUpload, parts, first int) (*SignedUpload, error) {
	if w.UploadKey == "" || len(w.URLs) != parts {
		return nil, &APIError{Op: op, Reason: fmt.Sprintf("answer has %d URLs for %d parts (upload key set: %t)", len(w.URLs), parts, w.UploadKey != "")}
	}
	return &SignedUpload{
		UploadKey:        w.UploadKey,
		UploadExpiration: w.UploadExpiration.Time,
		URLExpiration:    w.URLExpiration.Time,
		URLs:             w.URLs,
		FirstPart:        first,
	}, nil
}

// checkParts applies the defaults and the 25-URL limit.
func checkParts(op string, parts, first int) (int, int, error) {
	parts, first = or(parts, 1), or(first, 1)
	if parts < 1 || parts > maxBatch {
		return 0, 0, argError(op, "parts %d outside 1..%d", parts, maxBatch)
	}
	if first < 1 {
		return 0, 0, argError(op, "first part %d below 1", first)
	}
	return parts, first, nil
}

// CompleteUpload finalises an upload; the object exists (or is replaced)
// from here on. A body with status "error" is a failure whatever the HTTP
// status (ErrInvalidParts with Parts and sizes filled). Completion is retried
// on 429, 5xx and network errors; if a retried completion then fails with a
// 4xx, the first attempt may have succeeded with its answer lost, so the
// object's details are checked (size, and sha1 when both sides have one) and
// a match is returned as success.
func (c *Client) CompleteUpload(ctx context.Context, bucketKey, objectKey string, req CompleteRequest) (*Object, error) {
	r, err := c.completeRequest(bucketKey, objectKey, req)
	if err != nil {
		return nil, err
	}
	res, err := c.do(ctx, r)
	var obj *Object
	if err == nil {
		obj, err = c.completionResult(OpSignedS3UploadComplete, res.status, res.body, bucketKey)
	}
	if err != nil && r.retried && confirmable(err) {
		if o := c.confirmCompletion(ctx, bucketKey, objectKey, req.Size, req.SHA1); o != nil {
			return o, nil
		}
	}
	return obj, err
}

func (c *Client) completeRequest(bucketKey, objectKey string, req CompleteRequest) (*request, error) {
	const op = OpSignedS3UploadComplete
	if err := checkComplete(op, req); err != nil {
		return nil, err
	}
	r, err := c.objectRequest(op, http.MethodPost, bucketKey, objectKey, "signeds3upload")
	if err != nil {
		return nil, err
	}
	if r.body, err = json.Marshal(completeBody(req)); err != nil {
		return nil, fmt.Errorf("oss: %s: encoding request: %w", op, err)
	}
	r.ctype = "application/json"
	for name, v := range map[string]string{
		"x-ads-meta-Content-Type":        req.ContentType,
		"x-ads-meta-Content-Disposition": req.ContentDisposition,
		"x-ads-meta-Content-Encoding":    req.ContentEncoding,
		"x-ads-meta-Cache-Control":       req.CacheControl,
		"x-ads-user-defined-metadata":    req.UserMetadata,
	} {
		if v != "" {
			r.header.Set(name, v)
		}
	}
	return r, nil
}

func completeBody(req CompleteRequest) wireComplete {
	w := wireComplete{UploadKey: req.UploadKey}
	if req.Size >= 0 {
		size := req.Size
		w.Size = &size
	}
	for _, e := range req.ETags {
		w.ETags = append(w.ETags, unquote(e))
	}
	return w
}

func checkComplete(op string, req CompleteRequest) error {
	if req.UploadKey == "" {
		return argError(op, "empty upload key")
	}
	if req.Size < -1 {
		return argError(op, "size %d (use -1 to omit)", req.Size)
	}
	m := req.UserMetadata
	if m == "" {
		return nil
	}
	if len(m) >= maxUserMetadata {
		return argError(op, "user metadata is %d bytes, limit is %d", len(m), maxUserMetadata-1)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(m), &obj); err != nil || obj == nil {
		return argError(op, "user metadata must be a JSON object")
	}
	return nil
}

// completionResult decodes a 2xx completion answer; status "error" in the
// body is a failure.
func (c *Client) completionResult(op string, status int, body []byte, bucketKey string) (*Object, error) {
	var w wireObject
	if err := decodeJSON(op, body, &w); err != nil {
		return nil, err
	}
	if w.Status == statusError {
		e := &APIError{Op: op, Status: status}
		fillJSON(e, body)
		e.Reason = c.scrub.scrub(e.Reason)
		return nil, e
	}
	o := objectFromWire(w, bucketKey)
	return &o, nil
}

// confirmable reports a definite rejection (4xx other than auth and
// throttling, or a status "error" body) after which a lost earlier success
// is worth checking for.
func confirmable(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.Status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return false
	}
	return !retryableStatus(ae.Status) && (ae.Status < 300 || ae.Status >= 400)
}

// confirmCompletion returns the object if its details match the completion
// (size when given, sha1 when both sides have one, at least one of them).
func (c *Client) confirmCompletion(ctx context.Context, bucketKey, objectKey string, size int64, sha1 string) *Object {
	o, err := c.ObjectDetails(ctx, bucketKey, objectKey, DetailsOptions{})
	if err != nil {
		return nil
	}
	matched := false
	if size >= 0 {
		if o.Size != size {
			return nil
		}
		matched = true
	}
	if sha1 != "" && o.SHA1 != "" {
		if !strings.EqualFold(sha1, o.SHA1) {
			return nil
		}
		matched = true
	}
	if matched {
		c.log.InfoContext(ctx, "oss completion confirmed through details", "op", OpSignedS3UploadComplete, "key", objectKey)
		return o
	}
	return nil
}

// BatchSignedUploadURLs returns part URLs for many objects, keyed by object
// key. Requests carry at most 25 URLs in total and are split accordingly.
func (c *Client) BatchSignedUploadURLs(ctx context.Context, bucketKey string, items []BatchUploadItem, minutes int) (map[string]BatchUploadResult, error) {
	wire, err := checkBatchUpload(bucketKey, items, minutes)
	if err != nil {
		return nil, err
	}
	out := make(map[string]BatchUploadResult, len(items))
	for _, chunk := range chunkByURLs(wire) {
		if err := c.batchUpload(ctx, bucketKey, chunk, minutes, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkBatchUpload validates the items and returns them with defaults applied.
func checkBatchUpload(bucketKey string, items []BatchUploadItem, minutes int) ([]wireBatchUploadItem, error) {
	const op = OpBatchSignedS3Upload
	if err := checkBucketKey(op, bucketKey); err != nil {
		return nil, err
	}
	if err := checkMinutes(op, minutes); err != nil {
		return nil, err
	}
	keys := make([]string, len(items))
	wire := make([]wireBatchUploadItem, len(items))
	for i, it := range items {
		parts, first, err := checkParts(op, it.Parts, it.FirstPart)
		if err != nil {
			return nil, err
		}
		keys[i] = it.ObjectKey
		wire[i] = wireBatchUploadItem{ObjectKey: it.ObjectKey, Parts: parts, FirstPart: first, UploadKey: it.UploadKey}
	}
	return wire, checkBatchKeys(op, keys)
}

// chunkByURLs groups items so that no group asks for more than 25 URLs.
func chunkByURLs(items []wireBatchUploadItem) [][]wireBatchUploadItem {
	var chunks [][]wireBatchUploadItem
	var cur []wireBatchUploadItem
	urls := 0
	for _, it := range items {
		if urls+it.Parts > maxBatch {
			chunks, cur, urls = append(chunks, cur), nil, 0
		}
		cur = append(cur, it)
		urls += it.Parts
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	return chunks
}

func (c *Client) batchUpload(ctx context.Context, bucketKey string, items []wireBatchUploadItem, minutes int, out map[string]BatchUploadResult) error {
	const op = OpBatchSignedS3Upload
	body := wireBatchRequest[wireBatchUploadItem]{Requests: items}
	r, err := jsonRequest(op, http.MethodPost, bucketPath(bucketKey)+"/objects/batchsigneds3upload", body)
	if err != nil {
		return err
	}
	setQuery(r, "minutesExpiration", minutesParam(minutes))
	var w wireBatchResults
	if err := c.doJSON(ctx, r, &w); err != nil {
		return err
	}
	for _, it := range items {
		out[it.ObjectKey] = c.batchUploadResult(w.Results, it)
	}
	return nil
}

func (c *Client) batchUploadResult(results map[string]json.RawMessage, it wireBatchUploadItem) BatchUploadResult {
	const op = OpBatchSignedS3Upload
	raw, ok := results[it.ObjectKey]
	if !ok {
		return BatchUploadResult{Err: missingResult(op, it.ObjectKey)}
	}
	var w wireSignedUpload
	if err := decodeJSON(op, raw, &w); err != nil {
		return BatchUploadResult{Err: err}
	}
	if w.Status == statusError || (w.Status != "" && w.UploadKey == "") {
		return BatchUploadResult{Err: c.itemError(op, w.Status, w.Reason, raw)}
	}
	su, err := signedUploadFromWire(op, w, it.Parts, it.FirstPart)
	if err != nil {
		return BatchUploadResult{Err: err}
	}
	return BatchUploadResult{SignedUpload: *su}
}

// BatchCompleteUpload completes many uploads, at most 25 per request. The
// error is for a request that failed as a whole; per-object failures are in
// each result's Err. A retried request's failed items are confirmed through
// ObjectDetails as CompleteUpload does.
func (c *Client) BatchCompleteUpload(ctx context.Context, bucketKey string, items []BatchCompleteItem) (map[string]BatchCompleteResult, error) {
	if err := checkBatchComplete(bucketKey, items); err != nil {
		return nil, err
	}
	out := make(map[string]BatchCompleteResult, len(items))
	for start := 0; start < len(items); start += maxBatch {
		chunk := items[start:min(start+maxBatch, len(items))]
		if err := c.batchComplete(ctx, bucketKey, chunk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkBatchComplete(bucketKey string, items []BatchCompleteItem) error {
	const op = OpBatchCompleteUpload
	if err := checkBucketKey(op, bucketKey); err != nil {
		return err
	}
	keys := make([]string, len(items))
	for i, it := range items {
		if err := checkComplete(op, it.CompleteRequest); err != nil {
			return err
		}
		keys[i] = it.ObjectKey
	}
	return checkBatchKeys(op, keys)
}

func (c *Client) batchComplete(ctx context.Context, bucketKey string, items []BatchCompleteItem, out map[string]BatchCompleteResult) error {
	const op = OpBatchCompleteUpload
	body := wireBatchRequest[wireBatchCompleteItem]{Requests: make([]wireBatchCompleteItem, len(items))}
	for i, it := range items {
		body.Requests[i] = batchCompleteWire(it)
	}
	r, err := jsonRequest(op, http.MethodPost, bucketPath(bucketKey)+"/objects/batchcompleteupload", body)
	if err != nil {
		return err
	}
	var w wireBatchResults
	if err := c.doJSON(ctx, r, &w); err != nil {
		return err
	}
	for _, it := range items {
		res := c.batchCompleteResult(w.Results, bucketKey, it.ObjectKey)
		if res.Err != nil && r.retried && confirmable(res.Err) {
			if o := c.confirmCompletion(ctx, bucketKey, it.ObjectKey, it.Size, it.SHA1); o != nil {
				res = BatchCompleteResult{Object: o}
			}
		}
		out[it.ObjectKey] = res
	}
	return nil
}

func batchCompleteWire(it BatchCompleteItem) wireBatchCompleteItem {
	return wireBatchCompleteItem{
		ObjectKey:          it.ObjectKey,
		wireComplete:       completeBody(it.CompleteRequest),
		ContentType:        it.ContentType,
		ContentDisposition: it.ContentDisposition,
		ContentEncoding:    it.ContentEncoding,
		CacheControl:       it.CacheControl,
		UserMetadata:       it.UserMetadata,
	}
}

func (c *Client) batchCompleteResult(results map[string]json.RawMessage, bucketKey, objectKey string) BatchCompleteResult {
	const op = OpBatchCompleteUpload
	raw, ok := results[objectKey]
	if !ok {
		return BatchCompleteResult{Err: missingResult(op, objectKey)}
	}
	var w wireObject
	if err := decodeJSON(op, raw, &w); err != nil {
		return BatchCompleteResult{Err: err}
	}
	if w.Status == statusError || (w.Status != "" && w.ObjectKey == "") {
		return BatchCompleteResult{Err: c.itemError(op, w.Status, w.Reason, raw)}
	}
	o := objectFromWire(w, bucketKey)
	return BatchCompleteResult{Object: &o}
}
