package oss

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// maxPageLimit is the largest page OSS serves (buckets and objects).
const maxPageLimit = 100

// Permission grants an app (AuthID is its client id) access to a bucket:
// "full", "read" or "write".
type Permission struct{ AuthID, Access string }

// Bucket describes a bucket. Owner, Permissions are filled by CreateBucket
// and BucketDetails only; listings carry Key, CreatedDate and Policy.
type Bucket struct {
	Key         string
	Owner       string
	CreatedDate time.Time
	Policy      string // "transient", "temporary" or "persistent"
	Permissions []Permission
}

// CreateBucketRequest creates a bucket. Region "" lets OSS choose (US).
type CreateBucketRequest struct {
	Key, Policy, Region string
	Allow               []Permission
}

// ListBuckets returns every bucket of the app in region ("" = OSS default),
// following every page of 100.
func (c *Client) ListBuckets(ctx context.Context, region string) ([]Bucket, error) {
	var all []Bucket
	cursor := ""
	for {
		page, next, err := c.ListBucketsPage(ctx, region, maxPageLimit, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		if next == cursor {
			return nil, errStuckCursor(OpBucketsList)
		}
		cursor = next
	}
}

// ListBucketsPage returns one page of buckets (limit 1..100, 0 = 100) and the
// cursor of the next page ("" at the end). cursor is "" for the first page,
// else a value returned by the previous call (the opaque `next` URL).
func (c *Client) ListBucketsPage(ctx context.Context, region string, limit int, cursor string) ([]Bucket, string, error) {
	r, err := c.listRequest(OpBucketsList, "/oss/v2/buckets", limit, cursor, "region", region)
	if err != nil {
		return nil, "", err
	}
	var w wireBucketList
	if err := c.doJSON(ctx, r, &w); err != nil {
		return nil, "", err
	}
	out := make([]Bucket, len(w.Items))
	for i, b := range w.Items {
		out[i] = bucketFromWire(b)
	}
	return out, w.Next, nil
}

// listRequest builds a list call: the first page from path and params, a
// later one from the cursor with any missing limit and params re-added.
func (c *Client) listRequest(op, path string, limit int, cursor string, params ...string) (*request, error) {
	if limit == 0 {
		limit = maxPageLimit
	}
	if limit < 1 || limit > maxPageLimit {
		return nil, argError(op, "limit %d outside 1..%d", limit, maxPageLimit)
	}
	rawQuery := ""
	if cursor != "" {
		var err error
		if path, rawQuery, err = c.resolveCursor(op, cursor); err != nil {
			return nil, err
		}
	}
	for i := 0; i+1 < len(params); i += 2 {
		rawQuery = withMissing(rawQuery, params[i], params[i+1])
	}
	rawQuery = withMissing(rawQuery, "limit", strconv.Itoa(limit))
	return &request{op: op, method: http.MethodGet, path: path, rawQuery: rawQuery}, nil
}

// CreateBucket creates a bucket, sending the region as both `region` and
// `x-ads-region`. If a retried create meets 409 (the first attempt may have
// succeeded unseen) and the bucket's details are readable (only its owner
// may read them), the bucket is returned.
func (c *Client) CreateBucket(ctx context.Context, req CreateBucketRequest) (*Bucket, error) {
	if err := checkBucketKey(OpBucketsCreate, req.Key); err != nil {
		return nil, err
	}
	body := wireCreateBucket{BucketKey: req.Key, PolicyKey: req.Policy}
	for _, p := range req.Allow {
		body.Allow = append(body.Allow, wirePermission{AuthID: p.AuthID, Access: p.Access})
	}
	r, err := jsonRequest(OpBucketsCreate, http.MethodPost, "/oss/v2/buckets", body)
	if err != nil {
		return nil, err
	}
	r.key = req.Key
	if req.Region != "" {
		r.header.Set("region", req.Region)
		r.header.Set("x-ads-region", req.Region)
	}
	var w wireBucket
	err = c.doJSON(ctx, r, &w)
	if r.retried && errors.Is(err, ErrConflict) {
		if b, detailsErr := c.BucketDetails(ctx, req.Key); detailsErr == nil {
			return b, nil
		}
	}
	if err != nil {
		return nil, err
	}
	b := bucketFromWire(w)
	return &b, nil
}

// BucketDetails returns a bucket's details (owner only; others get 403).
func (c *Client) BucketDetails(ctx context.Context, bucketKey string) (*Bucket, error) {
	if err := checkBucketKey(OpBucketsDetails, bucketKey); err != nil {
		return nil, err
	}
	r := &request{op: OpBucketsDetails, method: http.MethodGet, path: bucketPath(bucketKey) + "/details", key: bucketKey}
	var w wireBucket
	if err := c.doJSON(ctx, r, &w); err != nil {
		return nil, err
	}
	b := bucketFromWire(w)
	return &b, nil
}

// DeleteBucket deletes a bucket (asynchronously on the OSS side). If a
// retried delete meets 404 or 409 (already being deleted), an earlier attempt
// succeeded unseen and nil is returned.
func (c *Client) DeleteBucket(ctx context.Context, bucketKey string) error {
	if err := checkBucketKey(OpBucketsDelete, bucketKey); err != nil {
		return err
	}
	r := &request{op: OpBucketsDelete, method: http.MethodDelete, path: bucketPath(bucketKey), key: bucketKey}
	_, err := c.do(ctx, r)
	if r.retried && (errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict)) {
		return nil
	}
	return err
}

func bucketFromWire(w wireBucket) Bucket {
	b := Bucket{Key: w.BucketKey, Owner: w.BucketOwner, CreatedDate: w.CreatedDate.Time, Policy: w.PolicyKey}
	for _, p := range w.Permissions {
		b.Permissions = append(b.Permissions, Permission{AuthID: p.AuthID, Access: p.Access})
	}
	return b
}

// errStuckCursor reports a server whose `next` repeats the cursor just used.
func errStuckCursor(op string) error {
	return &APIError{Op: op, Reason: "listing cursor did not advance"}
}
