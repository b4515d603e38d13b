package transfer

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/ossfs/ossfs/oss"
)

// maxBatch is how many objects one batchsigneds3upload (one URL each) or
// batchcompleteupload call carries.
const maxBatch = 25

// SmallUpload is one object of fewer than MinPartSize bytes for UploadSmall.
type SmallUpload struct {
	Key     string
	Data    []byte
	SHA1    string // hex sha1 of Data; computed when empty
	Options UploadOptions
}

// SmallResult is what became of one SmallUpload: the object committed, or
// why not.
type SmallResult struct {
	Object *oss.Object
	Err    error
}

// UploadSmall uploads many small objects through the batch endpoints: per 25
// objects one batchsigneds3upload and one batchcompleteupload, so 2 OSS calls
// for 25 objects instead of 2 for each. Each object is one part sent with its
// Content-MD5, so S3 checks its bytes and the sha1 is taken as the object's
// (as Upload.Complete does for a one-part upload). A URL S3 refuses is
// replaced by a single signeds3upload for the same uploadKey. Results are in
// the order of items, and one item's failure does not fail the others. Keys
// must be distinct.
func (e *Engine) UploadSmall(ctx context.Context, bucket string, items []SmallUpload) []SmallResult {
	out := make([]SmallResult, len(items))
	for start := 0; start < len(items); start += maxBatch {
		end := min(start+maxBatch, len(items))
		e.uploadBatch(ctx, bucket, items[start:end], out[start:end])
	}
	return out
}

// uploadBatch uploads at most maxBatch items, writing their results to out.
func (e *Engine) uploadBatch(ctx context.Context, bucket string, items []SmallUpload, out []SmallResult) {
	req := make([]oss.BatchUploadItem, 0, len(items))
	for i, it := range items {
		if int64(len(it.Data)) >= MinPartSize {
			out[i].Err = fmt.Errorf("transfer: %q has %d bytes, too many for one small upload", it.Key, len(it.Data))
			continue
		}
		req = append(req, oss.BatchUploadItem{ObjectKey: it.Key, Parts: 1})
	}
	if len(req) == 0 {
		return
	}
	urls, err := e.c.BatchSignedUploadURLs(ctx, bucket, req, e.opts.URLMinutes)
	if err != nil {
		setAll(out, err)
		return
	}
	uploads := make([]*Upload, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		if out[i].Err != nil {
			continue
		}
		su, ok := urls[it.Key]
		switch {
		case !ok:
			out[i].Err = fmt.Errorf("transfer: batchsigneds3upload answered nothing for %q", it.Key)
			continue
		case su.Err != nil:
			out[i].Err = fmt.Errorf("upload %q: %w", it.Key, su.Err)
			continue
		case len(su.URLs) == 0:
			out[i].Err = fmt.Errorf("transfer: batchsigneds3upload answered no URL for %q", it.Key)
			continue
		}
		u := e.seededUpload(bucket, it, su.SignedUpload)
		uploads[i] = u
		wg.Go(func() {
			out[i].Err = u.PutPart(ctx, 1, bytes.NewReader(it.Data), int64(len(it.Data)))
		})
	}
	wg.Wait()

	var complete []oss.BatchCompleteItem
	sums := map[string]string{}
	for i, it := range items {
		if out[i].Err != nil {
			continue
		}
		sum := it.SHA1
		if sum == "" {
			h := sha1.Sum(it.Data)
			sum = hex.EncodeToString(h[:])
		}
		cr, _, err := uploads[i].completeRequest(int64(len(it.Data)), sum)
		if err != nil {
			out[i].Err = err
			continue
		}
		sums[it.Key] = sum
		complete = append(complete, oss.BatchCompleteItem{ObjectKey: it.Key, CompleteRequest: cr})
	}
	if len(complete) == 0 {
		return
	}
	done, err := e.c.BatchCompleteUpload(ctx, bucket, complete)
	for i, it := range items {
		if out[i].Err != nil {
			continue
		}
		r, ok := done[it.Key]
		switch {
		case err != nil:
			out[i].Err = fmt.Errorf("complete %q: %w", it.Key, err)
		case !ok:
			out[i].Err = fmt.Errorf("transfer: batchcompleteupload answered nothing for %q", it.Key)
		case r.Err != nil:
			out[i].Err = fmt.Errorf("complete %q: %w", it.Key, r.Err)
		default:
			obj := *r.Object
			if obj.SHA1 == "" {
				obj.SHA1 = sums[it.Key]
			}
			e.urls.forget(bucket, it.Key)
			out[i].Object = &obj
		}
	}
}

// seededUpload is a session started by a batch call: its uploadKey and the
// URL of its only part are known.
func (e *Engine) seededUpload(bucket string, it SmallUpload, su oss.SignedUpload) *Upload {
	u := e.NewUpload(bucket, it.Key, it.Options)
	u.uploadKey, u.uploadExp = su.UploadKey, su.UploadExpiration
	u.urls[1] = partURL{url: su.URLs[0], expires: e.uploadURLExpiry(&su)}
	return u
}

func setAll(out []SmallResult, err error) {
	for i := range out {
		if out[i].Err == nil {
			out[i].Err = err
		}
	}
}
