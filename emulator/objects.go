package emulator

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// objectBody is an object as OSS reports it. Optional fields are pointers
// or omitempty so each endpoint shows exactly its documented fields.
type objectBody struct {
	BucketKey           string  `json:"bucketKey"`
	ObjectID            string  `json:"objectId"`
	ObjectKey           string  `json:"objectKey"`
	SHA1                string  `json:"sha1,omitempty"`
	Size                int64   `json:"size"`
	ContentType         string  `json:"contentType"`
	ContentDisposition  string  `json:"contentDisposition,omitempty"`
	ContentEncoding     string  `json:"contentEncoding,omitempty"`
	CacheControl        string  `json:"cacheControl,omitempty"`
	Location            string  `json:"location"`
	CreatedDate         *int64  `json:"createdDate,omitempty"`
	LastModifiedDate    *int64  `json:"lastModifiedDate,omitempty"`
	LastAccessedDate    *int64  `json:"lastAccessedDate,omitempty"`
	UserDefinedMetadata *string `json:"userDefinedMetadata,omitempty"`
}

// objectID is the URN of an object.
func objectID(bucketKey, objectKey string) string {
	return "urn:adsk.objects:os.object:" + bucketKey + "/" + objectKey
}

// newObjectBody reports o; sha1 is included when withSHA1 and no fault
// suppresses it.
func (s *Server) newObjectBody(c *call, o Object, withSHA1 bool) objectBody {
	body := objectBody{
		BucketKey: o.BucketKey, ObjectID: objectID(o.BucketKey, o.ObjectKey), ObjectKey: o.ObjectKey,
		Size: o.Size, ContentType: o.ContentType,
		Location: c.base + "/oss/v2/buckets/" + o.BucketKey + "/objects/" + escapeKey(o.ObjectKey),
	}
	if withSHA1 && !c.omitSHA1 {
		body.SHA1 = o.SHA1
	}
	if body.ContentType == "" {
		body.ContentType = defaultContentType
	}
	return body
}

// storeError answers a store error as OSS does.
func storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrBucketNotFound):
		writeReason(w, http.StatusNotFound, "Bucket not found")
	case errors.Is(err, ErrObjectNotFound):
		writeReason(w, http.StatusNotFound, "Object not found")
	default:
		writeReason(w, http.StatusInternalServerError, err.Error())
	}
}

// handleObjectsList serves GET /oss/v2/buckets/:bucketKey/objects.
func (s *Server) handleObjectsList(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noReadAccess); !ok {
		return
	}
	q := r.URL.Query()
	limit, aerr := parseLimit(q)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	prefix := q.Get("beginsWith")
	objs, err := s.store.Objects(c.bucketKey, prefix)
	if err != nil {
		storeError(w, err)
		return
	}
	objs = s.settled(objs)
	names := make([]string, len(objs))
	for i, o := range objs {
		names[i] = o.ObjectKey
	}
	objs, cursor, err := page(s.lister(s.opts.Ordered), "objects\x00"+c.bucketKey, names, objs, q.Get("startAt"), limit)
	if err != nil {
		writeReason(w, http.StatusBadRequest, "Invalid startAt")
		return
	}
	writeJSON(w, http.StatusOK, s.objectPage(c, objs, cursor, limit, prefix))
}

// settled drops objects younger than Options.ListingLag.
func (s *Server) settled(objs []Object) []Object {
	if s.opts.ListingLag <= 0 {
		return objs
	}
	cutoff := s.clock.Now().Add(-s.opts.ListingLag)
	out := objs[:0]
	for _, o := range objs {
		if !o.Created.After(cutoff) {
			out = append(out, o)
		}
	}
	return out
}

// objectPage builds a listing page; next carries startAt, limit and
// beginsWith so that following it needs nothing else.
func (s *Server) objectPage(c *call, objs []Object, cursor string, limit int, prefix string) listBody[objectBody] {
	body := listBody[objectBody]{Items: make([]objectBody, len(objs))}
	for i, o := range objs {
		body.Items[i] = s.newObjectBody(c, o, true)
	}
	if cursor != "" {
		q := url.Values{"startAt": {cursor}, "limit": {strconv.Itoa(limit)}}
		if prefix != "" {
			q.Set("beginsWith", prefix)
		}
		body.Next = c.base + "/oss/v2/buckets/" + c.bucketKey + "/objects?" + q.Encode()
	}
	return body
}

// handleObjectsDetails serves GET .../objects/:objectKey/details.
func (s *Server) handleObjectsDetails(w http.ResponseWriter, r *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noReadAccess); !ok {
		return
	}
	o, err := s.store.Object(c.bucketKey, c.objectKey)
	if err != nil {
		storeError(w, err)
		return
	}
	if notModifiedSince(r.Header.Get("If-Modified-Since"), o.Modified) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := s.newObjectBody(c, o, true)
	addWith(&body, o, r.URL.Query()["with"])
	writeJSON(w, http.StatusOK, body)
}

// notModifiedSince reports whether an If-Modified-Since header says the
// client's copy (of an object modified at mod) is current.
func notModifiedSince(header string, mod time.Time) bool {
	if header == "" {
		return false
	}
	since, err := http.ParseTime(header)
	return err == nil && !mod.Truncate(time.Second).After(since)
}

// addWith adds the fields requested by repeated (or comma-separated) with=.
func addWith(body *objectBody, o Object, with []string) {
	ms := func(t time.Time) *int64 { v := t.UnixMilli(); return &v }
	for _, w := range with {
		for _, field := range strings.Split(w, ",") {
			switch strings.TrimSpace(field) {
			case "createdDate":
				body.CreatedDate = ms(o.Created)
			case "lastModifiedDate":
				body.LastModifiedDate = ms(o.Modified)
			case "lastAccessedDate":
				body.LastAccessedDate = ms(o.Accessed)
			case "userDefinedMetadata":
				if o.UserMetadata != "" {
					meta := o.UserMetadata
					body.UserDefinedMetadata = &meta
				}
			}
		}
	}
}

// handleObjectsDelete serves DELETE .../objects/:objectKey (200, empty).
func (s *Server) handleObjectsDelete(w http.ResponseWriter, _ *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noWriteAccess); !ok {
		return
	}
	if err := s.store.DeleteObject(c.bucketKey, c.objectKey); err != nil {
		storeError(w, err)
		return
	}
	writeEmpty(w, http.StatusOK)
}

// handleCopyTo serves PUT .../objects/:objectKey/copyto/:newObjectKey.
func (s *Server) handleCopyTo(w http.ResponseWriter, _ *http.Request, c *call) {
	if _, ok := s.ownedBucket(w, c, noWriteAccess); !ok {
		return
	}
	if _, err := s.store.Object(c.bucketKey, c.objectKey); err != nil {
		storeError(w, err)
		return
	}
	if !s.canOverwrite(w, c, c.bucketKey, c.newKey) {
		return
	}
	o, err := s.store.CopyObject(c.bucketKey, c.objectKey, c.newKey, s.clock.Now())
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.newObjectBody(c, o, true))
}
