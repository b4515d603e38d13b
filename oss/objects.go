package oss

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Values of DetailsOptions.With: the optional fields of ObjectDetails.
const (
	WithCreatedDate      = "createdDate"
	WithLastModifiedDate = "lastModifiedDate"
	WithLastAccessedDate = "lastAccessedDate"
	WithUserMetadata     = "userDefinedMetadata"
)

// Object describes an object. Listings carry no dates and no metadata;
// ObjectDetails fills them when asked. SHA1 (40 hex) may be empty right after
// an upload.
type Object struct {
	BucketKey, Key, ObjectID, SHA1, ContentType, Location string
	Size                                                  int64
	CreatedDate, LastModifiedDate, LastAccessedDate       time.Time // zero unless requested
	UserMetadata                                          string    // raw JSON object, "" unless requested/set
}

// ListOptions filters and sizes a listing. Limit is 1..100 (0 = 100).
type ListOptions struct {
	BeginsWith string
	Limit      int
}

// ObjectPage is one page of a listing. Next is an opaque cursor ("" on the
// last page). Items are in no particular order.
type ObjectPage struct {
	Items []Object
	Next  string
}

// DetailsOptions asks ObjectDetails for optional fields (the With*
// constants) and makes it conditional: a non-zero IfModifiedSince answers
// ErrNotModified when the object has not changed since.
type DetailsOptions struct {
	With            []string
	IfModifiedSince time.Time
}

// ListObjectsPage returns one page of objects. cursor is "" for the first
// page, else the previous page's Next; BeginsWith and Limit are re-added to
// the cursor if it lacks them.
func (c *Client) ListObjectsPage(ctx context.Context, bucketKey string, opts ListOptions, cursor string) (*ObjectPage, error) {
	if err := checkBucketKey(OpObjectsList, bucketKey); err != nil {
		return nil, err
	}
	r, err := c.listRequest(OpObjectsList, bucketPath(bucketKey)+"/objects", opts.Limit, cursor, "beginsWith", opts.BeginsWith)
	if err != nil {
		return nil, err
	}
	r.key = opts.BeginsWith
	var w wireObjectList
	if err := c.doJSON(ctx, r, &w); err != nil {
		return nil, err
	}
	page := &ObjectPage{Items: make([]Object, len(w.Items)), Next: w.Next}
	for i, o := range w.Items {
		page.Items[i] = objectFromWire(o, bucketKey)
	}
	return page, nil
}

// ListObjects returns every object matching opts, following all pages.
func (c *Client) ListObjects(ctx context.Context, bucketKey string, opts ListOptions) ([]Object, error) {
	var all []Object
	err := c.ListObjectsFunc(ctx, bucketKey, opts, func(o Object) error {
		all = append(all, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// ListObjectsFunc calls fn for every object matching opts, page by page. It
// stops at the first error from fn and returns it unchanged.
func (c *Client) ListObjectsFunc(ctx context.Context, bucketKey string, opts ListOptions, fn func(Object) error) error {
	cursor := ""
	for {
		page, err := c.ListObjectsPage(ctx, bucketKey, opts, cursor)
		if err != nil {
			return err
		}
		for _, o := range page.Items {
			if err := fn(o); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		if page.Next == cursor {
			return errStuckCursor(OpObjectsList)
		}
		cursor = page.Next
	}
}

// ObjectDetails stats an object. 404 (ErrNotFound) also means "upload not
// completed yet"; 304 is ErrNotModified.
func (c *Client) ObjectDetails(ctx context.Context, bucketKey, objectKey string, opts DetailsOptions) (*Object, error) {
	r, err := c.objectRequest(OpObjectsDetails, http.MethodGet, bucketKey, objectKey, "details")
	if err != nil {
		return nil, err
	}
	if len(opts.With) > 0 {
		r.rawQuery = url.Values{"with": opts.With}.Encode()
	}
	if !opts.IfModifiedSince.IsZero() {
		r.header.Set("If-Modified-Since", opts.IfModifiedSince.UTC().Format(http.TimeFormat))
	}
	var w wireObject
	if err := c.doJSON(ctx, r, &w); err != nil {
		return nil, err
	}
	o := objectFromWire(w, bucketKey)
	return &o, nil
}

// DeleteObject deletes an object. If a retried delete meets 404, an earlier
// attempt succeeded unseen and nil is returned.
func (c *Client) DeleteObject(ctx context.Context, bucketKey, objectKey string) error {
	r, err := c.objectRequest(OpObjectsDelete, http.MethodDelete, bucketKey, objectKey)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, r)
	if r.retried && errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// CopyObject copies fromKey to toKey in the same bucket, replacing toKey if
// it exists (needs data:write), and returns the new object.
func (c *Client) CopyObject(ctx context.Context, bucketKey, fromKey, toKey string) (*Object, error) {
	if err := checkObjectKey(OpObjectsCopyTo, toKey); err != nil {
		return nil, err
	}
	r, err := c.objectRequest(OpObjectsCopyTo, http.MethodPut, bucketKey, fromKey, "copyto", EncodeKey(toKey))
	if err != nil {
		return nil, err
	}
	var w wireObject
	if err := c.doJSON(ctx, r, &w); err != nil {
		return nil, err
	}
	o := objectFromWire(w, bucketKey)
	return &o, nil
}

// objectRequest validates the keys and builds a request on an object path.
func (c *Client) objectRequest(op, method, bucketKey, objectKey string, suffix ...string) (*request, error) {
	if err := checkBucketKey(op, bucketKey); err != nil {
		return nil, err
	}
	if err := checkObjectKey(op, objectKey); err != nil {
		return nil, err
	}
	r, err := jsonRequest(op, method, objectPath(bucketKey, objectKey, suffix...), nil)
	if err != nil {
		return nil, err
	}
	r.key = objectKey
	return r, nil
}

func objectFromWire(w wireObject, bucketKey string) Object {
	return Object{
		BucketKey:        or(w.BucketKey, bucketKey),
		Key:              w.ObjectKey,
		ObjectID:         w.ObjectID,
		SHA1:             strings.ToLower(w.SHA1),
		ContentType:      w.ContentType,
		Location:         w.Location,
		Size:             w.Size.Value,
		CreatedDate:      w.CreatedDate.Time,
		LastModifiedDate: w.LastModifiedDate.Time,
		LastAccessedDate: w.LastAccessedDate.Time,
		UserMetadata:     string(w.UserMetadata),
	}
}
